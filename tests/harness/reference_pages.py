"""The reference pages generated from a fresh install, and their freshness check.

* ``docs/reference/state-machines.md``: every status machine as a mermaid diagram, drawn
  from the transition tables (commands, effects, swarms, agents) or, where the machine is
  a pure function (memories, artifacts) or a single decision (approvals), from that
  function and the table's status CHECK constraint;
* ``docs/reference/schema.sql``: ``pg_dump --schema-only`` of schema ``concord``,
  normalised (no version banner, no ``\\restrict`` key), so every schema change shows in
  review;
* ``docs/reference/rules.md``: the rule book (tests/harness/rulebook.py);
* ``docs/reference/python-client.md``: every public method of ``concord.Client`` with its
  signature and docstring, and the exception class of each CN code (no database needed);
* ``docs/reference/cli.md``: the ``concord`` command's help, every subcommand's;
* ``docs/reference/openapi.json`` and ``docs/reference/rest-api.md``: the REST API's
  OpenAPI document and its route table, from the application (no database needed).

    CONCORD_DSN=<a database with Concord installed> python tests/harness/reference_pages.py write
    CONCORD_DSN=... python tests/harness/reference_pages.py check
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rulebook  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference"


@dataclass(frozen=True)
class Machine:
    title: str
    source: str
    statuses: list[str]
    initial: list[str]
    edges: list[tuple[str, str]]
    terminal: list[str]


def _check_statuses(conn: psycopg.Connection, constraint: str) -> list[str]:
    definition = conn.execute(
        "SELECT pg_get_constraintdef(c.oid) FROM pg_catalog.pg_constraint AS c "
        "WHERE c.connamespace = 'concord'::regnamespace AND c.conname = %s",
        (constraint,),
    ).fetchone()[0]
    return re.findall(r"'([a-z_]+)'::text", definition)


def _table_machine(conn, title, prefix, initial) -> Machine:
    statuses = [
        r[0] for r in conn.execute(f"SELECT status FROM concord.{prefix}_statuses ORDER BY status")
    ]
    terminal = [
        r[0]
        for r in conn.execute(
            f"SELECT status FROM concord.{prefix}_statuses WHERE terminal ORDER BY status"
        )
    ]
    edges = conn.execute(
        f"SELECT from_status, to_status FROM concord.{prefix}_transitions "
        "ORDER BY from_status, to_status"
    ).fetchall()
    return Machine(
        title,
        f"tables `concord.{prefix}_statuses` and `concord.{prefix}_transitions`",
        statuses,
        initial,
        [tuple(e) for e in edges],
        terminal,
    )


def _function_machine(conn, title, constraint, function, initial) -> Machine:
    statuses = _check_statuses(conn, constraint)
    edges = [
        (a, b)
        for a in statuses
        for b in statuses
        if a != b and conn.execute(f"SELECT concord.{function}(%s, %s)", (a, b)).fetchone()[0]
    ]
    leaving = {a for a, _ in edges}
    return Machine(
        title,
        f"function `concord.{function}` over the statuses of CHECK `{constraint}`",
        statuses,
        initial,
        edges,
        [s for s in statuses if s not in leaving],
    )


def machines(conn: psycopg.Connection) -> list[Machine]:
    approval_statuses = _check_statuses(conn, "approval_status_is_known")
    return [
        _table_machine(conn, "Commands", "command", ["created"]),
        _table_machine(conn, "Domain effects", "effect", ["planned"]),
        Machine(
            "Approvals",
            "CHECK `approval_status_is_known`; the approvals guard lets only a pending "
            "approval change, once",
            approval_statuses,
            ["pending"],
            [("pending", s) for s in approval_statuses if s != "pending"],
            [s for s in approval_statuses if s != "pending"],
        ),
        _table_machine(conn, "Swarm runs", "swarm", ["created"]),
        _table_machine(conn, "Agent runs", "agent", ["created"]),
        _function_machine(
            conn,
            "Memories",
            "memory_status_is_known",
            "_memory_transition_legal",
            ["candidate", "active"],
        ),
        _function_machine(
            conn,
            "Artifacts",
            "artifact_status_is_known",
            "_artifact_transition_legal",
            ["draft", "final"],
        ),
    ]


def render_state_machines(dsn: str) -> str:
    with psycopg.connect(dsn) as conn:
        found = machines(conn)
    lines = [
        "# State machines",
        "",
        "<!-- Generated from the database by `make docs` (tests/harness/reference_pages.py);",
        "     a test fails when this page is stale. -->",
        "",
        "Every status a row can take and every move between statuses the database allows,",
        "whoever writes (the table owner included). `[*] -->` marks the statuses a row may",
        "be created in; `--> [*]` the terminal ones.",
        "",
    ]
    for m in found:
        lines += [f"## {m.title}", "", f"Source: {m.source}.", "", "```mermaid", "stateDiagram-v2"]
        lines += [f"    [*] --> {s}" for s in m.initial]
        lines += [f"    {a} --> {b}" for a, b in m.edges]
        lines += [f"    {s} --> [*]" for s in m.terminal]
        lines += ["```", ""]
        unreached = [
            s for s in m.statuses if s not in m.initial and s not in {b for _, b in m.edges}
        ]
        if unreached:
            lines += [f"Never entered: {', '.join(unreached)}.", ""]
    return "\n".join(lines)


def _pg_dump() -> str:
    with_major = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"), reverse=True)
    found = shutil.which("pg_dump")
    return str(with_major[0]) if with_major else found or "pg_dump"


def render_schema(dsn: str) -> str:
    params = conninfo_to_dict(dsn)
    with psycopg.connect(dsn) as conn:
        major = conn.info.server_version // 10000
    exact = Path(f"/usr/lib/postgresql/{major}/bin/pg_dump")
    dump = subprocess.run(
        [
            str(exact) if exact.exists() else _pg_dump(),
            "--schema-only",
            "--schema=concord",
            "--no-owner",
            "--restrict-key=concord",
            "--dbname",
            dsn,
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **({"PGPASSWORD": params["password"]} if "password" in params else {})},
    ).stdout
    kept = [
        line
        for line in dump.splitlines()
        if not line.startswith(("-- Dumped from", "-- Dumped by", "\\restrict", "\\unrestrict"))
    ]
    text = "\n".join(kept).strip("\n")
    text = re.sub(r"\n{3,}", "\n\n", text)
    header = (
        "-- The schema of a fresh install of Concord (pg_dump --schema-only --schema=concord\n"
        "-- --no-owner, normalised). Generated by `make docs`; a test fails when it is stale.\n"
    )
    return header + "\n" + text + "\n"


def render_python_client(_dsn: str | None = None) -> str:
    import inspect

    from concord import Client
    from concord.errors import ERRORS_BY_SQLSTATE, ConcordError

    lines = [
        "# Python client",
        "",
        "<!-- Generated from the package by `make docs` (tests/harness/reference_pages.py);",
        "     a test fails when this page is stale. -->",
        "",
        "`concord.Client(dsn)` (psycopg 3 with a connection pool; a context manager) has one",
        "method per SQL function: each calls the function of the same name in schema",
        "`concord` (see the SQL reference pages in `sql/`), returns plain values or",
        "dataclasses, and raises the exception class of the error's CN code.",
        "",
        "## Exceptions",
        "",
        "Every refusal is a `concord.ConcordError` carrying `.sqlstate`, `.rule` (the named",
        "rule, see [rules.md](rules.md)), `.table`, `.message`, `.detail` and `.hint`.",
        "",
        "| code | class | meaning |",
        "|---|---|---|",
    ]
    for code, cls in sorted(ERRORS_BY_SQLSTATE.items()):
        doc = " ".join((inspect.getdoc(cls) or "").split("\n\n")[0].split())
        lines.append(f"| {code} | `{cls.__name__}` | {doc} |")
    lines += ["", "## Methods", ""]
    for name, method in inspect.getmembers(Client, inspect.isfunction):
        if name.startswith("_"):
            continue
        signature = str(inspect.signature(method)).replace("(self, ", "(").replace("(self)", "()")
        lines += [f"### `Client.{name}{signature}`", ""]
        lines += [(inspect.getdoc(method) or "").strip(), ""]
    assert issubclass(ERRORS_BY_SQLSTATE["CN001"], ConcordError)
    return "\n".join(lines)


def _openapi() -> dict:
    from concord.api import create_app

    return create_app("").openapi()


def render_openapi(_dsn: str | None = None) -> str:
    import json

    return json.dumps(_openapi(), indent=2, sort_keys=True) + "\n"


def render_rest_api(_dsn: str | None = None) -> str:
    from concord.api.problems import STATUS_BY_CODE

    document = _openapi()
    lines = [
        "# REST API",
        "",
        "<!-- Generated from the application by `make docs` (tests/harness/reference_pages.py);",
        "     a test fails when this page is stale. -->",
        "",
        "`concord api` serves it (uvicorn; `--host`, `--port`, `--dsn`, or `CONCORD_API_HOST`,",
        "`CONCORD_API_PORT`, `CONCORD_DSN`). The OpenAPI document is",
        "[openapi.json](openapi.json), also served at `/openapi.json`. Every route but",
        "`/health` and `/ready` needs `Authorization: Bearer <API token>` and acts as the",
        "token's principal; `Concord-Project: org/project` chooses the project of new commands.",
        "The database login the server runs as holds `concord_app` and `concord_approver` and",
        "speaks for no principal.",
        "",
        "## Routes",
        "",
        "| method | path | what it does |",
        "|---|---|---|",
    ]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            summary = " ".join((operation.get("description") or "").split())
            lines.append(f"| {method.upper()} | `{path}` | {summary} |")
    lines += [
        "",
        "## Errors",
        "",
        "Every refusal is an RFC 9457 problem details document (`application/problem+json`):",
        "`type`, `title` (the error class), `status`, `detail` (the server's message),",
        "`instance` (the path), and, when known, `code` (the CN code, or the SQLSTATE),",
        "`rule` (see [rules.md](rules.md)), `hint` and `errors` (every problem, one per item).",
        "A missing or invalid token is 401 with `WWW-Authenticate: Bearer`; a request the",
        "route's schema refuses is 422 with rule `a_request_matches_its_route`.",
        "",
        "| code | HTTP status |",
        "|---|---|",
    ]
    lines += [f"| {code} | {status} |" for code, status in sorted(STATUS_BY_CODE.items())]
    return "\n".join(lines) + "\n"


def render_cli(_dsn: str | None = None) -> str:
    import click

    from concord.cli import group

    lines = [
        "# Command line",
        "",
        "<!-- Generated from the package by `make docs` (tests/harness/reference_pages.py);",
        "     a test fails when this page is stale. -->",
        "",
        "`concord --help` and `concord <command> --help` print the same. `migrate`, `worker`,",
        "`api` and `registry validate|apply` have their own option parsers: `--help` after them.",
        "",
    ]

    def walk(command: click.Command, path: list[str]) -> None:
        context = click.Context(command, info_name=" ".join(path), terminal_width=100)
        title = f"## `{' '.join(path)}`"
        lines.extend([title, "", "```text", command.get_help(context), "```", ""])
        if isinstance(command, click.Group):
            for name in command.list_commands(context):
                walk(command.get_command(context, name), [*path, name])

    walk(group, ["concord"])
    return "\n".join(lines)


PAGES = {
    "state-machines.md": render_state_machines,
    "schema.sql": render_schema,
    "rules.md": lambda dsn: rulebook.render(dsn) + "\n",
    "python-client.md": render_python_client,
    "openapi.json": render_openapi,
    "rest-api.md": render_rest_api,
    "cli.md": render_cli,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["write", "check"])
    args = parser.parse_args()
    dsn = os.environ["CONCORD_DSN"]
    stale = []
    for name, render in PAGES.items():
        text = render(dsn)
        path = REFERENCE / name
        if args.action == "write":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
        elif not path.exists() or path.read_text() != text:
            stale.append(name)
    for name in stale:
        print(f"docs/reference/{name} is stale: run `make docs`")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
