"""The Dockerfiles of docker/ build as written, checked without a Docker engine (none runs
here): tagged Debian 12 bases, apt used as hadolint asks, every apt package known to Debian
12's archive (this machine's, after ``make deps`` ran apt-get update), the server packages
tests/harness/deps.sh installs, croniter at pyproject.toml's pin, every COPY source in the
build context, and concord run by a non-root user."""

from __future__ import annotations

import importlib.metadata
import re
import shutil
import subprocess
import tomllib

import pytest

from support.docker_files import (
    DOCKER,
    ROOT,
    apt_installed,
    build_of,
    compose,
    ignored,
    instructions,
    shell_commands,
)

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
DOCKERFILES = sorted(DOCKER.glob("*/Dockerfile"))
POSTGRES = DOCKER / "postgres" / "Dockerfile"
CONCORD = DOCKER / "concord" / "Dockerfile"


def base_image(dockerfile):
    froms = [i.value.split()[0] for i in instructions(dockerfile) if i.name == "FROM"]
    assert froms, f"{dockerfile}: no FROM"
    image, _, tag = froms[-1].partition(":")
    return image, tag


def pg_major() -> str:
    image, tag = base_image(POSTGRES)
    assert image == "postgres", f"{POSTGRES} builds on {image}, not the official postgres"
    return tag.split("-")[0]


def test_the_images_are_the_ones_compose_builds():
    built = {build_of(s).dockerfile for s in compose()["services"].values() if build_of(s)}
    assert set(DOCKERFILES) == built == {POSTGRES, CONCORD}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_every_image_starts_from_a_tagged_bookworm_base(dockerfile):
    image, tag = base_image(dockerfile)
    assert tag and tag != "latest", f"{dockerfile}: {image} needs a tag, not latest"
    assert "bookworm" in tag.split("-"), f"{dockerfile}: {image}:{tag} is not Debian 12"
    if image == "python":
        floor = re.search(r">=\s*(\d+\.\d+)", PYPROJECT["project"]["requires-python"])[1]
        assert tag.split("-")[0] == floor, f"Python {tag} is not pyproject's {floor}"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_apt_runs_as_hadolint_asks(dockerfile):
    for run in (i for i in instructions(dockerfile) if i.name == "RUN"):
        commands = shell_commands(run.value)
        where = f"{dockerfile.name}:{run.line}"
        if ";" in run.value:
            assert commands[0][:2] == ["set", "-eux"], f"{where}: ; without set -e hides failures"
        assert not any(c[:1] == ["apt"] for c in commands), f"{where}: apt-get, not apt"
        assert not any(c[1:2] in (["upgrade"], ["dist-upgrade"]) for c in commands), where
        installs = [n for n, c in enumerate(commands) if c[:2] == ["apt-get", "install"]]
        for n in installs:
            assert {"-y", "--no-install-recommends"} <= set(commands[n]), where
            assert ["apt-get", "update"] in commands[:n], f"{where}: update in the same RUN"
            assert ["rm", "-rf", "/var/lib/apt/lists/*"] in commands[n:], f"{where}: clean lists"


def test_the_postgres_image_installs_what_deps_sh_installs_for_the_server():
    deps = (ROOT / "tests" / "harness" / "deps.sh").read_text()
    server = re.search(r'server_pkgs\(\) \{ echo "([^"]+)"', deps)[1].replace("$1", pg_major())
    others = re.search(r"other_pkgs=\(([^)]*)\)", deps)[1].split()
    # the server itself is the base image's; of the others, the python3-* modules are what
    # plpython3u imports (pgtap is pg_prove, chromium the docs' browser: the test machine's)
    wanted = set(server.split()[1:]) | {p for p in others if p.startswith("python3-")}
    missing = wanted - set(apt_installed(POSTGRES))
    assert not missing, f"{POSTGRES} lacks what deps.sh installs for the server: {missing}"


def candidate(package: str) -> str | None:
    out = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True)
    found = re.search(r"^\s*Candidate:\s*(\S+)", out.stdout, re.M)
    return found[1] if found and found[1] != "(none)" else None


def test_every_apt_package_of_the_postgres_image_exists_in_debian_12():
    if shutil.which("apt-cache") is None:
        pytest.fail("no apt-cache: run the tests on Debian (make deps)", pytrace=False)
    major = pg_major()
    local = next((v for v in (major, "15", "16", "17") if candidate(f"postgresql-{v}")), None)
    assert local, "apt knows no postgresql-15/16/17: run make deps (apt-get update)"
    # apt.postgresql.org names its packages as Debian does; a machine on another major
    # checks the same names with its own
    unknown = [
        p for p in apt_installed(POSTGRES)
        if not candidate(re.sub(rf"(?<=postgresql-)({major})\b|(?<=-){major}$", local, p))
    ]
    assert not unknown, f"apt-cache has no candidate for {unknown}"


def test_the_server_gets_the_croniter_pyproject_pins():
    pin = next(d.split("==")[1] for d in PYPROJECT["project"]["dependencies"]
               if d.startswith("croniter=="))
    args = dict(i.value.split("=", 1) for i in instructions(POSTGRES) if i.name == "ARG")
    assert args.get("CRONITER_VERSION") == pin, f"the image pins croniter {args}, pyproject {pin}"
    runs = [c for i in instructions(POSTGRES) if i.name == "RUN" for c in shell_commands(i.value)]
    pip = [c for c in runs if c[:3] == ["/usr/bin/python3", "-m", "pip"]]
    assert any("croniter==${CRONITER_VERSION}" in c for c in pip), "no pip install of the pin"
    assert all("--break-system-packages" in c for c in pip), "as deps.sh: outside apt's files"
    # the pin is satisfiable: this venv installed it from the index
    assert importlib.metadata.version("croniter") == pin


def test_the_concord_image_runs_concord_as_a_non_root_user():
    image = instructions(CONCORD)
    users = [i.value.split(":")[0] for i in image if i.name == "USER"]
    assert users and users[-1] not in ("root", "0"), f"{CONCORD} runs as {users or 'root'}"
    created = [c for i in image if i.name == "RUN" for c in shell_commands(i.value)
               if c[:1] == ["useradd"]]
    assert any(c[-1] == users[-1] for c in created), f"no RUN useradd {users[-1]}"
    entrypoint = [i for i in image if i.name == "ENTRYPOINT"][-1].exec_form()
    assert entrypoint == [next(iter(PYPROJECT["project"]["scripts"]))]


def test_every_copy_source_is_in_the_build_context():
    for service in compose()["services"].values():
        build = build_of(service)
        if build is None:
            continue
        for copy in (i for i in instructions(build.dockerfile) if i.name in ("COPY", "ADD")):
            words = copy.value.split()
            assert not any(w.startswith("--from") for w in words), "no stage to copy from"
            for source in (w for w in words[:-1] if not w.startswith("--")):
                where = f"{build.dockerfile.name}:{copy.line} {source}"
                assert (build.context / source).exists(), f"{where}: not in {build.context}"
                assert not ignored(build, source), f"{where}: left out by .dockerignore"


def test_the_concord_image_copies_what_the_wheel_carries():
    copied = {i.value.split()[0] for i in instructions(CONCORD) if i.name == "COPY"}
    wheel = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["only-include"]
    needed = {"pyproject.toml"} | {path.split("/")[0] for path in wheel}
    assert needed <= copied, f"{CONCORD} does not copy {needed - copied}"
