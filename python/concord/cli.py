"""The ``concord`` command line: ``concord migrate [--dsn DSN] [--status]``,
``concord worker --module PKG.MOD`` (the DBOS worker, in :mod:`concord.runtime.worker`),
``concord registry validate|apply PATH...`` (registry manifests) and ``concord registry
list|show|resolve|impact`` (in :mod:`concord.registry_cli`), ``concord api`` (the REST
API, in :mod:`concord.api`), the operator's subcommands (:mod:`concord.operator_cli`) and
``concord --version``. Click dispatches; migrate, worker, api and registry validate|apply
keep their argparse parsers.
``python -m concord`` is the same command."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
from pathlib import Path

import click
import psycopg

from . import migrate as installer
from .audit_cli import audit_group
from .errors import MigrationError
from .operator_cli import COMMANDS
from .registry_cli import registry_group


def version() -> str:
    """The installed distribution's version (``importlib.metadata``), or a note that the
    package runs from a checkout that was never installed."""
    try:
        return importlib.metadata.version("concord")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed: run `pip install .`)"


def _dsn(args: argparse.Namespace) -> str:
    dsn = args.dsn or os.environ.get("CONCORD_DSN")
    if not dsn:
        raise SystemExit("concord: no database given: pass --dsn or set CONCORD_DSN")
    return dsn


def cmd_migrate(args: argparse.Namespace) -> int:
    dsn = _dsn(args)
    migrations_dir, sql_dir = installer.resolve_dirs(args.migrations_dir, args.sql_dir)
    if args.status:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET client_min_messages = warning")
            state = installer.status(conn, migrations_dir)
        files = {m.version: m for m in installer.discover_migrations(migrations_dir)}
        troubles = 0
        for row in state.applied:
            migration = files.get(row.version)
            note = ""
            if migration is None:
                note = "  (no file here: the database is newer than this checkout)"
            elif migration.checksum != row.checksum:
                note = "  (EDITED since it was applied: migrate will refuse)"
            troubles += bool(note)
            print(f"applied  {row.version:04d}_{row.name}  {row.checksum[:12]}{note}")
        for m in state.pending:
            print(f"pending  {m.version:04d}_{m.name}")
        print(f"{len(state.applied)} applied, {len(state.pending)} pending")
        return 1 if troubles else 0
    installer.migrate(
        dsn,
        migrations_dir,
        sql_dir,
        target=args.target,
        apply_sql=not args.no_sql,
        log=lambda msg: print(msg, flush=True),
    )
    return 0


def cmd_api(args: argparse.Namespace) -> int:
    import uvicorn

    from .api import create_app
    from .api.webhooks import WebhookConfigError

    try:
        app = create_app(_dsn(args), pool_size=args.pool_size, webhooks=args.webhooks or "")
    except WebhookConfigError as exc:
        print(f"concord api: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argparse commands (migrate, worker, registry, api), run through :func:`main`."""
    parser = argparse.ArgumentParser(prog="concord", description="Concord command line")
    sub = parser.add_subparsers(dest="command", required=True)
    mig = sub.add_parser(
        "migrate",
        help="install or upgrade the Concord schema",
        description="Apply pending migrations, then re-apply every sql/ file.",
    )
    mig.add_argument("--dsn", help="database to migrate (default: $CONCORD_DSN)")
    mig.add_argument("--status", action="store_true", help="list applied and pending versions")
    mig.add_argument("--migrations-dir", type=Path, help="folder of NNNN_*.sql migrations")
    mig.add_argument("--sql-dir", type=Path, help="folder of repeatable sql/ files")
    mig.add_argument("--target", type=int, help="stop after this shipped migration version")
    mig.add_argument("--no-sql", action="store_true", help="do not re-apply the sql/ files")
    mig.set_defaults(func=cmd_migrate)
    wrk = sub.add_parser(
        "worker",
        help="run a DBOS worker that executes commands",
        description="Import the modules that register operations and connectors, then execute "
        "commands from the Concord queues until SIGTERM.",
    )
    from .runtime.worker import build_parser as worker_parser
    from .runtime.worker import run as run_worker

    worker_parser(wrk)
    wrk.set_defaults(func=run_worker)
    api = sub.add_parser(
        "api",
        help="serve the REST API (and its OpenAPI document at /openapi.json)",
        description="Serve Concord's REST API with uvicorn on $CONCORD_DSN: a login that holds "
        "concord_app and speaks for no principal; callers act through their API tokens.",
    )
    api.add_argument("--dsn", help="database (default: $CONCORD_DSN)")
    api.add_argument(
        "--host",
        default=os.environ.get("CONCORD_API_HOST", "127.0.0.1"),
        help="address to listen on (default: $CONCORD_API_HOST or 127.0.0.1)",
    )
    api.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("CONCORD_API_PORT", "8000")),
        help="port (default: $CONCORD_API_PORT or 8000)",
    )
    api.add_argument(
        "--pool-size",
        type=int,
        default=int(os.environ.get("CONCORD_API_POOL_SIZE", "8")),
        help="database connections at most (default: $CONCORD_API_POOL_SIZE or 8)",
    )
    api.add_argument(
        "--webhooks",
        default=os.environ.get("CONCORD_WEBHOOKS"),
        help="webhook sources file (default: $CONCORD_WEBHOOKS; see concord.api.webhooks)",
    )
    api.set_defaults(func=cmd_api)
    from .registry_cli import add_parser as registry_parser

    registry_parser(sub)
    return parser


def run_argparse_command(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (MigrationError, psycopg.Error) as exc:
        print(f"concord: {exc}", file=sys.stderr)
        return 1


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Exit codes: 0 done; 1 refused (the rule is printed); 2 bad usage; 3 not found; "
    "4 not permitted or not authenticated; 5 out of time; 6 finished without succeeding. "
    'Shell completion: eval "$(_CONCORD_COMPLETE=bash_source concord)" (zsh_source, '
    "fish_source).",
)
@click.version_option(version(), prog_name="concord", message="%(prog)s %(version)s")
def group() -> None:
    """Concord's command line: install and upgrade the schema, run workers and the REST
    API, and operate commands, approvals, tokens and the registry without SQL."""


def _argparse_command(name: str, summary: str) -> None:
    """``concord NAME ...`` handed whole to its argparse parser (its own --help)."""

    @group.command(
        name=name,
        help=f"{summary} (concord {name} --help for its options).",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        sys.exit(run_argparse_command([name, *args]))


for _name, _summary in (
    ("migrate", "Install or upgrade the Concord schema"),
    ("worker", "Run a DBOS worker that executes commands"),
    ("api", "Serve the REST API"),
):
    _argparse_command(_name, _summary)


def _registry_manifest_verb(verb: str, summary: str) -> None:
    """``concord registry VERB ...`` handed whole to the registry's argparse parser."""

    @registry_group.command(
        name=verb,
        help=f"{summary} (concord registry {verb} --help for its options).",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )
    @click.argument("args", nargs=-1, type=click.UNPROCESSED)
    def command(args: tuple[str, ...]) -> None:
        sys.exit(run_argparse_command(["registry", verb, *args]))


for _name, _summary in (
    ("validate", "Check manifests against their types, relationships and the registry"),
    ("apply", "Create, publish and bind manifests in dependency order"),
):
    _registry_manifest_verb(_name, _summary)
group.add_command(registry_group)
group.add_command(audit_group)
for _command in COMMANDS:
    group.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    """The ``concord`` entry point."""
    return group.main(args=argv, prog_name="concord")
