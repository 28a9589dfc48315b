"""docker/ read as Docker would read it, without a Docker engine: the compose file, the
Dockerfile each service builds (parsed by dockerfile-parse), the build context and its
``.dockerignore``, and the commands the services run."""

from __future__ import annotations

import fnmatch
import io
import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dockerfile_parse import DockerfileParser

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yaml"


@dataclass(frozen=True)
class Instruction:
    name: str  # FROM, RUN, COPY, ...
    value: str  # continuation lines joined
    line: int  # 1-based

    def exec_form(self) -> list[str]:
        """ENTRYPOINT/CMD as Docker runs them: the JSON array, or ``sh -c`` around text."""
        try:
            return json.loads(self.value)
        except ValueError:
            return ["/bin/sh", "-c", self.value]


def instructions(dockerfile: Path) -> list[Instruction]:
    parser = DockerfileParser(fileobj=io.BytesIO(dockerfile.read_bytes()), env_replace=False)
    return [
        Instruction(s["instruction"].upper(), s["value"], s["startline"] + 1)
        for s in parser.structure
        if s["instruction"] != "COMMENT"
    ]


def shell_commands(run: str) -> list[list[str]]:
    """A RUN line split into its simple commands (at ; && ||), each as words."""
    return [shlex.split(part) for part in re.split(r";|&&|\|\|", run) if part.strip()]


def apt_installed(dockerfile: Path) -> list[str]:
    """The packages every ``apt-get install`` of the Dockerfile names."""
    packages = []
    for ins in instructions(dockerfile):
        if ins.name != "RUN":
            continue
        for words in shell_commands(ins.value):
            if words[:2] == ["apt-get", "install"]:
                packages += [w for w in words[2:] if not w.startswith("-")]
    return packages


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@dataclass(frozen=True)
class Build:
    context: Path
    dockerfile: Path


def build_of(service: dict[str, Any]) -> Build | None:
    build = service.get("build")
    if build is None:
        return None
    if isinstance(build, str):
        build = {"context": build}
    context = (COMPOSE.parent / build["context"]).resolve()
    return Build(context, context / build.get("dockerfile", "Dockerfile"))


def ignored(build: Build, relative: str) -> bool:
    """Whether the build's .dockerignore (``<Dockerfile>.dockerignore`` first, as BuildKit
    reads it, else the context's) leaves ``relative`` out: the last matching pattern wins,
    ``!`` takes a path back in, and a folder's pattern covers what it holds."""
    for candidate in (Path(f"{build.dockerfile}.dockerignore"), build.context / ".dockerignore"):
        if candidate.is_file():
            patterns = [p.strip() for p in candidate.read_text().splitlines()]
            break
    else:
        return False
    parts = Path(relative).parts
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    out = False
    for pattern in (p for p in patterns if p and not p.startswith("#")):
        keep = pattern.startswith("!")
        glob = pattern.lstrip("!").strip("/")
        if any(fnmatch.fnmatch(p, glob) or fnmatch.fnmatch(p, glob.removeprefix("**/"))
               for p in prefixes):
            out = not keep
    return out


def words(value: Any) -> list[str]:
    """A compose command or entrypoint as words."""
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else [str(v) for v in value]


def argv(service: dict[str, Any]) -> list[str]:
    """What the service's container runs: its entrypoint (else the image's) and command."""
    build = build_of(service)
    image = instructions(build.dockerfile) if build else []
    last = {i.name: i for i in image}
    entrypoint = words(service["entrypoint"]) if "entrypoint" in service else (
        last["ENTRYPOINT"].exec_form() if "ENTRYPOINT" in last else [])
    command = words(service["command"]) if "command" in service else (
        last["CMD"].exec_form() if "CMD" in last else [])
    return entrypoint + command


def options(args: list[str]) -> list[str]:
    return [a.split("=", 1)[0] for a in args if a.startswith("--")]


def dsn_user(service: dict[str, Any]) -> str | None:
    dsn = (service.get("environment") or {}).get("CONCORD_DSN")
    found = re.search(r"\buser=(\S+)", dsn or "")
    return found.group(1) if found else None
