"""docker/compose.yaml wires what exists, checked without a Docker engine: the services'
images, dependencies, mounts, the concord subcommands and options they run, and the logins
they connect as, holding the roles Concord asks of them. `docker compose config` (or
docker-compose v1) validates the file when a client is installed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from concord.api.app import READINESS
from support.docker_files import COMPOSE, ROOT, argv, build_of, compose, dsn_user, options

SERVICES = compose()["services"]
RUNS = {name: argv(service) for name, service in SERVICES.items()}
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}


def binds(service) -> dict[str, Path]:
    """Container path -> host path of the service's bind mounts."""
    out = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            out[target] = (COMPOSE.parent / source).resolve()
    return out


def host_path(service, path: str) -> Path | None:
    for target, source in binds(service).items():
        if path == target or path.startswith(target.rstrip("/") + "/"):
            return source / Path(path).relative_to(target)
    return None


def test_every_service_builds_a_dockerfile_or_pulls_a_tagged_image():
    built = {s["image"] for s in SERVICES.values() if build_of(s) and "image" in s}
    for name, service in SERVICES.items():
        build = build_of(service)
        if build:
            assert build.dockerfile.is_file(), f"{name}: no {build.dockerfile}"
        else:
            image = service["image"]
            assert image in built or image.partition(":")[2] not in ("", "latest"), name


def test_dependencies_name_services_that_exist():
    for name, service in SERVICES.items():
        for target, how in (service.get("depends_on") or {}).items():
            assert target in SERVICES, f"{name} depends on {target}, which is no service"
            assert how["condition"] in CONDITIONS, f"{name}: {how}"
            if how["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[target], f"{target} has no healthcheck"
            if how["condition"] == "service_completed_successfully":
                assert SERVICES[target].get("restart", "no") == "no", f"{target} restarts"
        mode = service.get("network_mode", "")
        if mode.startswith("service:"):
            assert mode.removeprefix("service:") in SERVICES, f"{name}: {mode}"


def test_every_mount_and_every_file_a_command_names_exists():
    named = set(compose().get("volumes") or {})
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith((".", "/")) or source in named, f"{name}: {volume}"
        for source in binds(service).values():
            assert source.exists(), f"{name} mounts {source}, which does not exist"
        for word in argv(service):
            host = host_path(service, word)
            assert host is None or host.is_file(), f"{name} runs {word}: no {host}"


def help_of(service) -> tuple[list[str], str]:
    """The service's command line and the --help of what it runs (on this checkout)."""
    args = argv(service)
    if args[0] == "concord":
        sub = args[1]
        cmd = [sys.executable, "-m", "concord", sub, "--help"]
        return args[2:], subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if args[0] == "python":
        script = host_path(service, args[1])
        cmd = [sys.executable, str(script), "--help"]
        return args[2:], subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [], ""


# db runs its base image's own entrypoint; psql's options are psql's
@pytest.mark.parametrize("name", [n for n, run in RUNS.items() if run[:1] not in ([], ["psql"])])
def test_each_service_runs_a_command_that_takes_its_options(name):
    args, text = help_of(SERVICES[name])
    assert text, f"{name} runs {argv(SERVICES[name])}: neither concord nor a mounted script"
    for option in options(args):
        assert re.search(rf"(^|\s){re.escape(option)}\b", text), f"{name}: no {option}"


def test_the_core_services_run_migrate_api_and_worker():
    subs = {run[1] for run in RUNS.values() if run[:1] == ["concord"]}
    assert {"migrate", "api", "worker"} <= subs
    api = argv(SERVICES["api"])
    assert api[api.index("--host") + 1] == "0.0.0.0", "in a container: listen beyond loopback"
    assert SERVICES["api"]["ports"] == ["127.0.0.1:8000:8000"], "published on localhost only"


def granted(sql: str, login: str) -> set[str]:
    roles = re.findall(rf"GRANT\s+([\w,\s]+?)\s+TO\s+{login}\b", sql, re.I)
    return {r.strip() for group in roles for r in group.split(",")}


def test_each_login_holds_the_roles_its_service_needs():
    logins = SERVICES["logins"]
    script = host_path(logins, argv(logins)[argv(logins).index("-f") + 1]).read_text()
    created = set(re.findall(r"\('(\w+)'\)", script))
    for name, service in SERVICES.items():
        user = dsn_user(service)
        assert user is None or user == "postgres" or user in created, f"{name}: {user}?"
    needs = {"api": set(re.findall(r"pg_has_role\(current_user, '(\w+)'", READINESS)),
             "worker": {"concord_worker"}}
    assert needs["api"], "READINESS names no role"
    for name, roles in needs.items():
        user = dsn_user(SERVICES[name])
        assert roles <= granted(script, user), f"{user} ({name}) lacks {roles}"
    # the password variables psql is given are the ones the script reads
    given = {a.split("=")[0] for a in argv(logins) if re.match(r"\w+_password=", a)}
    assert given == set(re.findall(r":'(\w+)'", script))
    roles_doc = (ROOT / "docs" / "reference" / "roles.md").read_text()
    for role in set().union(*needs.values()):
        assert f"\n## {role}\n" in roles_doc, f"{role} is no Concord role"


def compose_client() -> list[str] | None:
    docker = shutil.which("docker")
    plugin = docker and subprocess.run([docker, "compose", "version"], capture_output=True)
    if plugin and plugin.returncode == 0:
        return [docker, "compose"]
    return [shutil.which("docker-compose")] if shutil.which("docker-compose") else None


def test_docker_compose_validates_the_file():
    client = compose_client()
    assert client is not None, "no docker compose plugin nor docker-compose (make deps installs it)"
    for profile in ([], ["--profile", "demo"]):
        done = subprocess.run([*client, "-f", str(COMPOSE), *profile, "config", "-q"],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
