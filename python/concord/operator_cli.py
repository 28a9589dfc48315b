"""The operator's subcommands of ``concord``: submit, list, show, watch, explain, approve,
reject, approvals, cancel, retry, input, workers and token. Each is one call of the Python
client (one SQL function), acting as the principal of ``--token``/``$CONCORD_TOKEN`` (or of
the database login). Human tables by default, ``--json`` for scripts.

Exit codes: 0 done; 1 refused by Concord (the rule is printed); 2 bad usage; 3 not found
(or not yours to see); 4 not permitted or not authenticated; 5 a wait or watch ran out of
time; 6 the command finished without succeeding (submit --wait, watch).
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click
import psycopg
from psycopg.types.json import Jsonb
from tabulate import tabulate

from .client import Client
from .errors import ConcordError, NotFound, NotPermitted

EXIT_REFUSED, EXIT_NOT_FOUND, EXIT_NOT_PERMITTED, EXIT_TIMED_OUT, EXIT_UNSUCCESSFUL = 1, 3, 4, 5, 6


class Seconds(click.FloatRange):
    """A wait budget: 0 to 3600 seconds, as the client takes (NaN is no number of seconds)."""

    def __init__(self) -> None:
        super().__init__(0, 3600)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if math.isnan(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


SECONDS = Seconds()


def connection_options(func: Callable) -> Callable:
    """--dsn, --token, --project and --json, shared by every operator subcommand."""

    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
    @click.option("--project", envvar="CONCORD_PROJECT", help="org/project new commands go to.")
    @click.option(
        "--token", envvar="CONCORD_TOKEN", help="API token to act with [env: CONCORD_TOKEN]."
    )
    @click.option("--dsn", envvar="CONCORD_DSN", help="Database [env: CONCORD_DSN].")
    @functools.wraps(func)
    def wrapper(dsn: str | None, token: str | None, project: str | None, as_json: bool, **kw):
        if not dsn:
            raise click.UsageError("no database given: pass --dsn or set CONCORD_DSN")
        try:
            with Client(dsn, token=token, project=project) as client:
                return func(client, as_json, **kw)
        except ConcordError as exc:
            click.echo(f"concord: {exc}", err=True)
            if exc.rule:
                click.echo(f"rule: {exc.rule} ({exc.sqlstate})", err=True)
            if isinstance(exc, NotFound):
                sys.exit(EXIT_NOT_FOUND)
            if isinstance(exc, NotPermitted):
                sys.exit(EXIT_NOT_PERMITTED)
            sys.exit(EXIT_REFUSED)
        except psycopg.Error as exc:
            click.echo(f"concord: {exc}", err=True)
            sys.exit(EXIT_REFUSED)

    return wrapper


def emit(as_json: bool, value: Any, human: Callable[[Any], str]) -> None:
    click.echo(json.dumps(value, indent=2, default=str) if as_json else human(value))


def table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(none)"
    return tabulate(
        [[_cell(row.get(c)) for c in columns] for row in rows], headers=columns, tablefmt="plain"
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="seconds")
    return str(value)


def json_argument(text: str | None, what: str) -> Any:
    """A JSON argument; ``-`` reads it from standard input."""
    if text is None:
        return {}
    if text == "-":
        text = sys.stdin.read()
    try:
        return json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"{what} is not JSON: {exc}") from None


@click.command()
@click.argument("command_type")
@click.argument("payload", required=False)
@click.option("--context", help="Context as a JSON object.")
@click.option("--idempotency-key", help="Replaying the same key returns the same command.")
@click.option("--wait", type=SECONDS, help="Wait up to this many seconds for an answer.")
@click.option(
    "--ingress",
    type=click.Choice(["api", "user_request"]),
    default="api",
    show_default=True,
    help="How the request came: a program or a person.",
)
@connection_options
def submit(
    client: Client,
    as_json: bool,
    command_type: str,
    payload: str | None,
    context: str | None,
    idempotency_key: str | None,
    wait: float | None,
    ingress: str,
) -> None:
    """Submit a command of COMMAND_TYPE with PAYLOAD (JSON; - reads standard input).

    \b
    Example:
      concord submit book_hotel '{"hotel_name": "Ritz", "total_price": 900}'
    """
    result = client.submit_command(
        command_type,
        json_argument(payload, "PAYLOAD"),
        None,
        ingress=ingress,
        context=json_argument(context, "--context"),
        idempotency_key=idempotency_key,
    )
    doc: dict[str, Any] = dict(result.__dict__)
    if wait is not None and result.status not in ("failed",):
        outcome = client.await_command(result.command_id, timeout=wait)
        doc.update(status=outcome.status, result=outcome.result, error=outcome.error)
        doc.update(timed_out=outcome.timed_out)
    emit(as_json, doc, _submitted)
    if doc.get("timed_out"):
        sys.exit(EXIT_TIMED_OUT)
    if doc["status"] in ("failed", "cancelled", "expired"):
        sys.exit(EXIT_UNSUCCESSFUL)


def _submitted(doc: dict[str, Any]) -> str:
    lines = [f"{doc['command_id']}  {doc['status']}" + ("" if doc["created"] else "  (replayed)")]
    lines += [f"  {e.get('kind', 'error')}: {e.get('message') or e}" for e in doc["errors"]]
    if doc.get("error"):
        lines.append(f"  error: {doc['error']}")
    return "\n".join(lines)


@click.command(name="list")
@click.option("--status", help="Only commands in this status.")
@click.option("--type", "command_type", help="Only commands of this type.")
@click.option("--in", "in_project", help="Only commands of this org/project.")
@click.option("--requested-by", help="Only commands this principal requested.")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--cursor", help="Continue after the page that printed this cursor.")
@connection_options
def list_commands(
    client: Client,
    as_json: bool,
    status: str | None,
    command_type: str | None,
    in_project: str | None,
    requested_by: str | None,
    limit: int,
    cursor: str | None,
) -> None:
    """List the commands you may see, newest first.

    \b
    Example:
      concord list --status waiting_for_approval --limit 20
    """
    page = client.list_commands(
        status=status,
        command_type=command_type,
        project=in_project,
        requested_by=requested_by,
        page_size=limit,
        after=cursor,
    )

    def human(page: dict[str, Any]) -> str:
        text = table(
            page["commands"],
            ["command_id", "command_type", "status", "requested_by", "created_at"],
        )
        if page["next_cursor"]:
            text += f"\nmore: --cursor {page['next_cursor']}"
        return text

    emit(as_json, page, human)


@click.command()
@click.argument("command_id", type=click.UUID)
@connection_options
def show(client: Client, as_json: bool, command_id: str) -> None:
    """Show a command: status, payload, result or error, dependencies and effects.

    \b
    Example:
      concord show 7c9e6679-7425-40de-944b-e07fc1f90ae7
    """
    doc = client._value("SELECT concord.get_command(%s)", (command_id,))

    def human(doc: dict[str, Any]) -> str:
        keys = ["command_id", "command_type", "status", "requested_by", "ingress", "created_at"]
        keys += ["updated_at", "attempts", "error_class", "error"]
        lines = [f"{k:<14} {_cell(doc.get(k))}" for k in keys if doc.get(k) is not None]
        lines.append(f"{'payload':<14} {json.dumps(doc.get('payload'))}")
        if doc.get("result") is not None:
            lines.append(f"{'result':<14} {json.dumps(doc['result'])}")
        lines.append(f"{'dependencies':<14} {len(doc.get('dependencies') or [])}")
        lines.append(f"{'effects':<14} {len(doc.get('effects') or [])}")
        return "\n".join(lines)

    emit(as_json, doc, human)


@click.command()
@click.argument("command_id", type=click.UUID)
@connection_options
def explain(client: Client, as_json: bool, command_id: str) -> None:
    """Say why a command is where it is, and what would move it.

    \b
    Example:
      concord explain 7c9e6679-7425-40de-944b-e07fc1f90ae7
    """

    def human(doc: dict[str, Any]) -> str:
        lines = [f"{doc['command_id']}  {doc['command_type']}  {doc['status']}"]
        lines.append(f"requested by {doc['requested']['requested_by']} in {doc['project']}")
        if doc.get("contract"):
            c = doc["contract"]
            lines.append(f"contract {c['command_type']} {c['version']} ({c['status']})")
        for decision in doc["policies"]["decisions"]:
            reasons = "; ".join(decision["reasons"]) or "-"
            lines.append(f"policy {decision['policy']}: {decision['decision']} ({reasons})")
        if not doc["held_by"]:
            lines.append("nothing holds it")
        for hold in doc["held_by"]:
            lines.append(f"held by {hold['reason']}: {hold['detail']}")
            lines.append(f"  next: {hold['next_step']}")
        return "\n".join(lines)

    emit(as_json, client.explain(command_id), human)


@click.command()
@click.argument("command_id", type=click.UUID)
@click.option("--timeout", type=SECONDS, default=3600, show_default=True)
@connection_options
def watch(client: Client, as_json: bool, command_id: str, timeout: float) -> None:
    """Follow a command's timeline live (LISTEN/NOTIFY) until it finishes.

    Exits 0 when it succeeded, 6 when it finished otherwise, 5 when time ran out.

    \b
    Example:
      concord watch 7c9e6679-7425-40de-944b-e07fc1f90ae7 --timeout 600
    """
    for event in client.watch_command(command_id, timeout=timeout):
        if as_json:
            click.echo(json.dumps(event, default=str))
        else:
            move = (
                f"{event['from_status'] or ''} -> {event['to_status']}"
                if event["to_status"]
                else ""
            )
            line = f"{_cell(event['created_at'])}  {event['event_type']:<24} {move}"
            click.echo(f"{line}  {event['actor'] or ''}  {event['reason'] or ''}".rstrip())
    outcome = client._value("SELECT concord.command_outcome(%s)", (command_id,))
    if not outcome["finished"]:
        sys.exit(EXIT_TIMED_OUT)
    if outcome["status"] != "succeeded":
        sys.exit(EXIT_UNSUCCESSFUL)


def _decide(decision: str) -> click.Command:
    @click.command(name={"approved": "approve", "rejected": "reject"}[decision])
    @click.argument("approval_id", type=click.UUID)
    @click.option("--reason", help="Why, recorded with the decision.")
    @connection_options
    def decide(client: Client, as_json: bool, approval_id: str, reason: str | None) -> None:
        answer = client._value(
            "SELECT concord.resolve_approval(%s, %s, NULL, %s)", (approval_id, decision, reason)
        )
        emit(
            as_json,
            answer,
            lambda a: (
                f"{a['approval_id']}  {a['status']}  "
                f"command {a['command_id']} is {a['command_status']}"
            ),
        )

    decide.help = (
        f"{'Approve' if decision == 'approved' else 'Reject'} an approval you may decide.\n\n"
        f"\b\nExample:\n  concord {decide.name} 3f2c... --reason 'within budget'"
    )
    return decide


approve, reject = _decide("approved"), _decide("rejected")


@click.command()
@connection_options
def approvals(client: Client, as_json: bool) -> None:
    """List the approvals you may decide now, oldest first.

    \b
    Example:
      concord approvals --token "$CONCORD_TOKEN"
    """
    rows = client.approval_inbox()
    columns = ["approval_id", "command_id", "command_type", "requested_by", "expires_at"]
    emit(as_json, rows, lambda rows: table(rows, columns))


@click.command()
@click.argument("command_id", type=click.UUID)
@click.option("--reason", help="Why, recorded with the cancellation.")
@click.option("--mode", type=click.Choice(["graceful", "compensate_then_stop"]))
@connection_options
def cancel(client: Client, as_json: bool, command_id: str, reason: str | None, mode: str | None):
    """Cancel a command.

    \b
    Example:
      concord cancel 7c9e6679-7425-40de-944b-e07fc1f90ae7 --reason 'booked twice'
    """
    status = client.cancel_command(command_id, None, reason=reason, mode=mode)
    emit(as_json, {"command_id": command_id, "status": status}, lambda d: d["status"])


@click.command()
@click.argument("command_id", type=click.UUID)
@click.option("--reason", help="Why, recorded with the move.")
@connection_options
def retry(client: Client, as_json: bool, command_id: str, reason: str | None) -> None:
    """Queue a failed command again (an owner or admin of its project).

    \b
    Example:
      concord retry 7c9e6679-7425-40de-944b-e07fc1f90ae7 --reason 'the vendor is back'
    """
    status = client.retry_command(command_id, reason)
    emit(as_json, {"command_id": command_id, "status": status}, lambda d: d["status"])


@click.command(name="input")
@click.argument("command_id", type=click.UUID)
@click.argument("patch")
@connection_options
def provide_input(client: Client, as_json: bool, command_id: str, patch: str) -> None:
    """Give a command waiting for input the fields it asked for (PATCH: a JSON object).

    \b
    Example:
      concord input 7c9e6679-7425-40de-944b-e07fc1f90ae7 '{"hotel_name": "Ritz"}'
    """
    answer = client._value(
        "SELECT concord.provide_input(%s, %s, NULL)",
        (command_id, Jsonb(json_argument(patch, "PATCH"))),
    )
    emit(as_json, answer, lambda a: f"{a['decision']}  now {a['status']}")


@click.command()
@connection_options
def workers(client: Client, as_json: bool) -> None:
    """List the live workers, their queues and operations.

    \b
    Example:
      concord workers --json
    """
    rows = client.live_workers()
    columns = ["executor_id", "host", "pid", "queues", "operations", "last_seen_at"]
    emit(as_json, rows, lambda rows: table(rows, columns))


@click.group()
def token() -> None:
    """Create, list and revoke your API tokens."""


@token.command(name="create")
@click.option("--for", "principal", help="Whom for (a superuser only; default: yourself).")
@click.option("--days", type=click.IntRange(1, 366), default=90, show_default=True)
@click.option("--label", help="What the token is for.")
@click.option("--scope", "scopes", multiple=True, help="A membership role it is limited to.")
@connection_options
def token_create(
    client: Client,
    as_json: bool,
    principal: str | None,
    days: int,
    label: str | None,
    scopes: tuple[str, ...],
) -> None:
    """Create an API token; it is printed this once.

    \b
    Example:
      concord token create --days 30 --label laptop
    """
    made = client.create_api_token(
        principal, expires_in=timedelta(days=days), scopes=list(scopes) or None, label=label
    )
    emit(
        as_json,
        made.__dict__,
        lambda m: f"{m['token']}\nid {m['token_id']}, expires {_cell(m['expires_at'])}",
    )


@token.command(name="list")
@connection_options
def token_list(client: Client, as_json: bool) -> None:
    """List your tokens (never their values).

    \b
    Example:
      concord token list
    """
    rows = client.api_tokens()
    columns = ["token_id", "label", "scopes", "expires_at", "usable"]
    emit(as_json, rows, lambda rows: table(rows, columns))


@token.command(name="revoke")
@click.argument("token_id", type=click.UUID)
@connection_options
def token_revoke(client: Client, as_json: bool, token_id: str) -> None:
    """Revoke one of your tokens.

    \b
    Example:
      concord token revoke 0b7f3c1e-...
    """
    revoked = client.revoke_api_token(token_id)
    emit(
        as_json,
        {"token_id": token_id, "revoked": revoked},
        lambda d: "revoked" if d["revoked"] else "already revoked",
    )


COMMANDS = [
    submit,
    list_commands,
    show,
    watch,
    explain,
    approve,
    reject,
    approvals,
    cancel,
    retry,
    provide_input,
    workers,
    token,
]
