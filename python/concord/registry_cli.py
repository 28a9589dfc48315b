"""``concord registry validate PATH...`` and ``concord registry apply PATH...``: registry
manifests kept in git as YAML or JSON (issue 14, spec 107, 115); and ``concord registry
list|show|resolve|impact``, the registry's reads, one client call each as the operator's
subcommands are (:mod:`concord.operator_cli`: --dsn, --token, --project, --json, exit codes).

A manifest file holds one document, or several (YAML ``---``; a JSON array). The primary
form is the manifest itself with its registry type in ``kind``, as spec 107's examples
read with a ``kind:`` line added (the spec 67 swarm YAML is a ``swarm_template``)::

    kind: command_type
    name: book_hotel
    version: 1.0.0
    execution: {mode: approval_gated_async}
    bindings: [{scope: global}]

``bindings``, ``organisation`` and ``domain`` are about the entity, not its contract: they
are taken out of the manifest. An envelope is accepted too: ``{kind, name, version,
display_name?, owner?, description?, domain?, organisation?, bindings?, manifest: {...}}``.

validate checks every document against its type (``concord.registry_manifest_problems``,
every problem with its file and path), that each required relationship is satisfied by a
document given or a published version in the registry, that the documents' relationships
have no cycle, and that each version could be created (its number against its change, who
may change the entity), all in one transaction that is rolled back: it writes nothing.

apply validates first, then in dependency order (a document after what it relies on, else
in file order) creates the entity if missing, creates the version unless the same version
with the same checksum exists, publishes it (waiting for its workflow, ``--timeout``) and
binds it as its ``bindings`` say, unless an active binding already does. Applying the same
files twice changes nothing the second time.

Exit status: 0 when every document is valid (and applied), 1 otherwise, 2 for a usage
error (no such path, no manifest file, no database).

No rule lives here: every check is the database's; this module reads files, orders them
and reports.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from .errors import ConcordError, from_psycopg
from .operator_cli import connection_options, emit, table

SUFFIXES = (".yaml", ".yml", ".json")
# Fields of a document that describe the entity or its bindings, not its contract.
ENTITY_FIELDS = ("kind", "bindings", "organisation", "domain")


class UsageError(Exception):
    """A usage error: exit status 2."""


@dataclass
class Document:
    """One manifest document of a file."""

    file: str
    index: int  # its place in the file (0 for a single document)
    kind: Any
    manifest: dict[str, Any]
    display_name: str | None = None
    owner: str | None = None
    description: str | None = None
    domain: str | None = None
    organisation: str | None = None
    bindings: list[Any] = field(default_factory=list)

    @property
    def name(self) -> Any:
        return self.manifest.get("name")

    @property
    def version(self) -> Any:
        return self.manifest.get("version")

    @property
    def where(self) -> str:
        return self.file if self.index == 0 else f"{self.file}#{self.index + 1}"

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name} {self.version}"


@dataclass
class Problem:
    file: str
    path: str
    message: str
    kind: str = "manifest"

    def to_json(self) -> dict[str, str]:
        return {"file": self.file, "path": self.path, "message": self.message, "kind": self.kind}

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"


# -- reading files -------------------------------------------------------------------


def manifest_files(paths: list[str]) -> list[Path]:
    """The manifest files of ``paths`` (files, or folders searched recursively), each
    folder's sorted by their path within it; a path that does not exist, or no manifest
    file at all, is a usage error."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += sorted(
                (p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES),
                key=lambda p: p.relative_to(path).as_posix(),
            )
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"{raw}: no such file or folder")
    if not files:
        raise UsageError(f"no manifest file (*.yaml, *.yml, *.json) in {', '.join(paths)}")
    seen: set[Path] = set()
    return [f for f in files if not (f.resolve() in seen or seen.add(f.resolve()))]


def _plain(value: Any) -> Any:
    """A YAML value as JSON can hold it (dates and other scalars become text)."""
    return json.loads(json.dumps(value, default=str))


def read_documents(path: Path) -> tuple[list[Any], list[Problem]]:
    """The documents of one file, or the problem that it does not parse."""
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            loaded = json.loads(text)
            docs = loaded if isinstance(loaded, list) else [loaded]
        else:
            import yaml

            docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except Exception as exc:  # a YAML or JSON syntax error, with its line
        return [], [Problem(str(path), "$", f"does not parse: {exc}", "syntax")]
    if not docs:
        return [], [Problem(str(path), "$", "holds no document", "syntax")]
    return [_plain(d) for d in docs], []


def as_document(file: str, index: int, raw: Any) -> tuple[Document | None, list[Problem]]:
    """A parsed document as a :class:`Document`: the envelope form when it carries a
    ``manifest`` object, else the manifest itself with its ``kind``."""
    where = file if index == 0 else f"{file}#{index + 1}"
    if not isinstance(raw, dict):
        return None, [Problem(where, "$", "a manifest document is a mapping (kind, name, ...)")]
    if not isinstance(raw.get("kind"), str) or not raw.get("kind"):
        return None, [Problem(where, "$.kind", "kind names the registry type (command_type, "
                                               "skill, tool, connector, ...)")]
    problems: list[Problem] = []
    if isinstance(raw.get("manifest"), dict):
        manifest = dict(raw["manifest"])
        for key in ("name", "version"):
            if key in raw and key in manifest and raw[key] != manifest[key]:
                problems.append(Problem(where, f"$.{key}", f"{key} {raw[key]!r} differs from "
                                        f"the manifest's {manifest[key]!r}"))
            elif key in raw:
                manifest[key] = raw[key]
        meta = raw
    else:
        manifest = {k: v for k, v in raw.items() if k not in ENTITY_FIELDS}
        meta = {**manifest, **{k: raw.get(k) for k in ENTITY_FIELDS}}
    # YAML reads 2.0 as a number: a version is text
    if isinstance(manifest.get("version"), (int, float)):
        manifest["version"] = str(manifest["version"])
    lifecycle = manifest.get("lifecycle") if isinstance(manifest.get("lifecycle"), dict) else {}
    bindings = meta.get("bindings") or []
    if not isinstance(bindings, list):
        problems.append(Problem(where, "$.bindings", "bindings is a list of {scope, target, "
                                "environment, rollout_strategy, rollout_config}"))
        bindings = []
    for i, b in enumerate(bindings):
        if not isinstance(b, dict) or not isinstance(b.get("scope"), str):
            problems.append(Problem(where, f"$.bindings[{i}]", "a binding is a mapping with a "
                                    "scope (user, team, tenant, ..., global)"))
    doc = Document(
        file=file,
        index=index,
        kind=raw["kind"],
        manifest=manifest,
        display_name=_text(meta.get("display_name")),
        owner=_text(meta.get("owner")) or _text(lifecycle.get("owner")),
        description=_text(meta.get("description")),
        domain=_text(meta.get("domain")),
        organisation=_text(meta.get("organisation")),
        bindings=[b for b in bindings if isinstance(b, dict)],
    )
    return doc, problems


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def load(paths: list[str]) -> tuple[list[Document], list[Problem]]:
    docs: list[Document] = []
    problems: list[Problem] = []
    for path in manifest_files(paths):
        raws, trouble = read_documents(path)
        problems += trouble
        for i, raw in enumerate(raws):
            doc, trouble = as_document(str(path), i, raw)
            problems += trouble
            if doc is not None:
                docs.append(doc)
    return docs, problems


# -- checking against the database ---------------------------------------------------


def _one(conn: psycopg.Connection, query: str, *params: Any) -> Any:
    row = conn.execute(query, params).fetchone()
    return None if row is None else next(iter(row.values()))


def _refusal(exc: psycopg.Error) -> str:
    """A database refusal as one line and its detail."""
    mapped = from_psycopg(exc)
    if isinstance(mapped, ConcordError):
        text = f"{mapped.message} [{mapped.sqlstate} {mapped.rule or ''}]".replace(" ]", "]")
        if mapped.detail:
            text += "\n    " + mapped.detail.replace("\n", "\n    ")
        return text
    return str(exc).strip()


@dataclass
class Plan:
    """The documents in the order they are applied, what each relies on among them, and
    every problem found."""

    order: list[Document]
    needs: dict[int, list[int]]
    problems: list[Problem]


def check(conn: psycopg.Connection, docs: list[Document]) -> Plan:
    """Every problem of ``docs``, and the order they apply in. Runs in the caller's
    transaction and may write (a dry run of the creations): the caller rolls it back."""
    problems: list[Problem] = []
    valid: list[bool] = []
    for doc in docs:
        found = _one(conn, "SELECT concord.registry_manifest_problems(%s, %s)",
                     doc.kind, Jsonb(doc.manifest))
        for p in found:
            problems.append(Problem(doc.where, p.get("path", "$"), p.get("message", ""),
                                    p.get("kind", "schema")))
        valid.append(not found)
    # the same version twice
    seen: dict[tuple[str, str, str], Document] = {}
    for doc in docs:
        key = (str(doc.kind), str(doc.name), str(doc.version))
        if key in seen:
            problems.append(Problem(doc.where, "$", f"{doc.label} is also in {seen[key].where}",
                                    "duplicate"))
        seen.setdefault(key, doc)
    needs = _relationships(conn, docs, valid, problems)
    order, cycle = _topological(docs, needs)
    if cycle:
        problems.append(Problem(docs[cycle[0]].where, "$.relationships",
                                "the manifests rely on each other in a cycle: "
                                + " -> ".join(docs[i].label for i in cycle), "relationship"))
        return Plan(order=[], needs=needs, problems=problems)
    # a dry run: each version as it would be created (its number against its change, who
    # may change the entity), in the order apply takes
    for doc in order:
        i = docs.index(doc)
        if not valid[i]:
            continue
        try:
            with conn.transaction():
                _create(conn, doc)
        except psycopg.Error as exc:
            problems.append(Problem(doc.where, "$", _refusal(exc), "create"))
    return Plan(order=order, needs=needs, problems=problems)


def _relationships(
    conn: psycopg.Connection, docs: list[Document], valid: list[bool], problems: list[Problem]
) -> dict[int, list[int]]:
    """For each document, the documents it relies on; a required relationship that no
    document and no published version satisfies is a problem."""
    needs: dict[int, list[int]] = {}
    for i, doc in enumerate(docs):
        needs[i] = []
        if not valid[i]:
            continue
        edges = _one(conn, "SELECT concord.registry_manifest_relationships(%s, %s)",
                     doc.kind, Jsonb(doc.manifest))
        for edge in edges:
            ttype, tname, constraint = (edge["target_entity_type"], edge["target_entity_name"],
                                        edge["version"])
            given = [
                j for j, other in enumerate(docs)
                if j != i and other.kind == ttype and other.name == tname
                and (constraint is None or _one(
                    conn, "SELECT concord.registry_version_satisfies(%s, %s)",
                    str(other.version), constraint))
            ]
            if given:
                needs[i] += [j for j in given if j not in needs[i]]
                continue
            if not edge["required"]:
                continue
            published = _one(
                conn,
                "SELECT EXISTS (SELECT 1 FROM concord.registry_entity_versions AS v "
                "WHERE v.entity_type = %s AND v.entity = %s "
                "AND v.status IN ('published', 'deprecated') "
                "AND (%s::text IS NULL OR concord.registry_version_satisfies(v.version, %s)))",
                ttype, tname, constraint, constraint,
            )
            if not published:
                problems.append(Problem(
                    doc.where, "$",
                    f"{edge['relationship_type']} {ttype} {tname}"
                    f"{' ' + constraint if constraint else ''}: no manifest given and no "
                    "published version in the registry satisfies it",
                    "relationship",
                ))
    return needs


def _topological(
    docs: list[Document], needs: dict[int, list[int]]
) -> tuple[list[Document], list[int]]:
    """The documents, each after those it needs, else in the order given; or a cycle."""
    order: list[int] = []
    state: dict[int, int] = {}
    stack: list[int] = []

    def visit(i: int) -> list[int]:
        state[i] = 1
        stack.append(i)
        for j in sorted(needs.get(i, ())):
            if state.get(j) == 1:
                return stack[stack.index(j):] + [j]
            if state.get(j) is None and (cycle := visit(j)):
                return cycle
        stack.pop()
        state[i] = 2
        order.append(i)
        return []

    for i in range(len(docs)):
        if state.get(i) is None and (cycle := visit(i)):
            return [], cycle
    return [docs[i] for i in order], []


def _existing_version(conn: psycopg.Connection, doc: Document) -> dict[str, Any] | None:
    return conn.execute(
        "SELECT version_id, status, checksum FROM concord.registry_entity_versions "
        "WHERE entity_type = %s AND entity = %s AND version = %s",
        (doc.kind, doc.name, str(doc.version)),
    ).fetchone()


def _entity_exists(conn: psycopg.Connection, doc: Document) -> bool:
    return bool(_one(
        conn,
        "SELECT EXISTS (SELECT 1 FROM concord.registry_entity_versions "
        "WHERE entity_type = %s AND entity = %s)",
        doc.kind, doc.name,
    ))


def _owner(conn: psycopg.Connection, doc: Document) -> str:
    return doc.owner or _one(conn, "SELECT coalesce(concord.current_principal(), current_user)")


def _create(conn: psycopg.Connection, doc: Document) -> dict[str, Any]:
    """Create ``doc``'s entity if it has no version yet, and its version unless the same
    version with the same checksum exists. Answers {version_id, entity: created?,
    version: created?}."""
    created_entity = False
    if not _entity_exists(conn, doc):
        conn.execute(
            "SELECT concord.create_registry_entity(%s, %s, %s, %s, %s, %s, %s)",
            (doc.kind, doc.name, doc.display_name or doc.name, _owner(conn, doc),
             doc.description, doc.domain, doc.organisation),
        )
        created_entity = True
    existing = _existing_version(conn, doc)
    checksum = _one(conn, "SELECT concord.registry_checksum(%s)", Jsonb(doc.manifest))
    if existing is not None and existing["checksum"] == checksum:
        return {"version_id": existing["version_id"], "entity": created_entity, "version": False}
    version_id = _one(
        conn, "SELECT concord.create_registry_version(%s, %s, %s, %s)",
        doc.kind, doc.name, str(doc.version), Jsonb(doc.manifest),
    )
    return {"version_id": version_id, "entity": created_entity, "version": True}


# -- the commands ----------------------------------------------------------------------


def _connect(args: argparse.Namespace) -> psycopg.Connection:
    dsn = args.dsn or os.environ.get("CONCORD_DSN")
    if not dsn:
        raise UsageError("no database given: pass --dsn or set CONCORD_DSN")
    conn = psycopg.connect(dsn, row_factory=dict_row)
    conn.execute("SET client_min_messages = warning")
    conn.commit()
    return conn


def _begin(conn: psycopg.Connection, args: argparse.Namespace) -> None:
    """Who speaks and where, for the transaction that starts."""
    token = args.token or os.environ.get("CONCORD_TOKEN")
    if token:
        conn.execute("SELECT concord.authenticate(%s)", (token,))
    if args.project:
        conn.execute("SELECT concord.use_project(%s)", (args.project,))


def _validated(args: argparse.Namespace) -> tuple[list[Document], Plan]:
    docs, problems = load(args.paths)
    with _connect(args) as conn:
        try:
            _begin(conn, args)
            plan = check(conn, docs)
        finally:
            conn.rollback()
    plan.problems = problems + plan.problems
    return docs, plan


def _report(args: argparse.Namespace, doc: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        print(json.dumps(doc, indent=2, default=str))
    else:
        for line in lines:
            print(line)


def cmd_validate(args: argparse.Namespace) -> int:
    docs, plan = _validated(args)
    ok = not plan.problems
    lines = [str(p) for p in plan.problems]
    lines.append(f"{len(docs)} manifest(s) in {len({d.file for d in docs})} file(s): "
                 + ("valid" if ok else f"{len(plan.problems)} problem(s)"))
    _report(args, {
        "valid": ok,
        "manifests": [{"file": d.where, "kind": d.kind, "name": d.name, "version": d.version}
                      for d in plan.order or docs],
        "problems": [p.to_json() for p in plan.problems],
    }, lines)
    return 0 if ok else 1


def cmd_apply(args: argparse.Namespace) -> int:
    docs, plan = _validated(args)
    if plan.problems:
        _report(args, {"applied": False, "results": [],
                       "problems": [p.to_json() for p in plan.problems]},
                [str(p) for p in plan.problems]
                + [f"nothing applied: {len(plan.problems)} problem(s)"])
        return 1
    from .client import Client

    client = Client(args.dsn or os.environ.get("CONCORD_DSN"),
                    token=args.token or os.environ.get("CONCORD_TOKEN"), project=args.project)
    results: list[dict[str, Any]] = []
    problems: list[Problem] = []
    published: dict[int, bool] = {}
    try:
        for doc in plan.order:
            i = docs.index(doc)
            result = _apply_one(client, args, doc, [published.get(j, False) for j in plan.needs[i]])
            published[i] = result.get("status") in ("published", "deprecated")
            results.append(result)
            if result.get("problem"):
                problems.append(Problem(doc.where, "$", result["problem"], "apply"))
    finally:
        client.close()
    lines = [
        f"{r['file']}: {r['kind']} {r['name']} {r['version']}: " + ", ".join(r["done"])
        for r in results
    ] + [str(p) for p in problems]
    changed = sum(1 for r in results if r["changed"])
    lines.append(f"{len(results)} manifest(s): {changed} changed, "
                 f"{len(results) - changed} unchanged"
                 + (f", {len(problems)} problem(s)" if problems else ""))
    _report(args, {"applied": not problems, "results": results,
                   "problems": [p.to_json() for p in problems]}, lines)
    return 1 if problems else 0


def _apply_one(client: Any, args: argparse.Namespace, doc: Document,
               needs_published: list[bool]) -> dict[str, Any]:
    """Apply one document: create, publish, bind, each only when not done already."""
    result: dict[str, Any] = {"file": doc.where, "kind": doc.kind, "name": doc.name,
                              "version": doc.version, "done": [], "changed": False}
    wait = None if args.no_wait else args.timeout
    try:
        with client._cursor() as cur:
            created = _create(cur.connection, doc)
        result["version_id"] = created["version_id"]
        if created["entity"]:
            result["done"].append("entity created")
        result["done"].append("version created" if created["version"] else "version unchanged")
        result["changed"] = created["entity"] or created["version"]
        status = client._value(
            "SELECT status FROM concord.registry_entity_versions WHERE version_id = %s",
            (created["version_id"],),
        )
        if status in ("published", "deprecated"):
            result["done"].append(f"already {status}")
        elif not all(needs_published):
            result["done"].append("publication deferred: what it relies on is not published "
                                  "yet (apply again once it is)")
            result["status"] = status
            return result
        else:
            answer = client.publish_registry_version(created["version_id"], wait=wait)
            result["changed"] = True
            outcome = answer.get("command_status")
            if outcome == "succeeded":
                status = "published"
                result["done"].append("published")
            elif outcome == "waiting_for_approval":
                result["done"].append(f"waiting for approval {answer.get('approval_id')}")
            elif outcome in ("failed", "cancelled"):
                result["problem"] = f"publication {outcome}: {answer.get('error')}"
            elif answer.get("timed_out"):
                result["problem"] = (f"publication not finished within {args.timeout}s "
                                     f"(command {answer['command_id']} keeps running)")
            else:
                result["done"].append(f"publication {outcome} (command {answer['command_id']})")
        result["status"] = status
        if status == "published":
            for b in doc.bindings:
                done = _bind(client, doc, created["version_id"], b, wait)
                result["done"].append(done)
                result["changed"] |= not done.startswith("bound already")
                if done.startswith("binding "):
                    result["problem"] = done
    except ConcordError as exc:
        text = exc.message + (f"\n    {exc.detail}" if exc.detail else "")
        result["problem"] = f"{text} [{exc.sqlstate} {exc.rule or ''}]".replace(" ]", "]")
    return result


def _bind(client: Any, doc: Document, version_id: Any, b: dict[str, Any],
          wait: float | None) -> str:
    scope = b["scope"]
    target = b.get("target") if scope != "global" else (b.get("target") or "*")
    strategy = b.get("rollout_strategy") or "pinned"
    config = b.get("rollout_config") or {}
    # an active binding of this slot already on this version: nothing to do (a binding
    # without an environment matches the slot in any)
    already = client._value(
        "SELECT EXISTS (SELECT 1 FROM concord.registry_active_bindings AS b "
        "WHERE b.entity_type = %s AND b.entity = %s AND b.binding_scope = %s "
        "AND b.binding_target = %s AND b.rollout_strategy = %s AND b.version_id = %s "
        "AND b.rollout_config = %s AND (%s::text IS NULL OR b.environment = %s))",
        (doc.kind, doc.name, scope, target, strategy, version_id, Jsonb(config),
         b.get("environment"), b.get("environment")),
    )
    what = f"{scope} {target}" + (f" in {b['environment']}" if b.get("environment") else "")
    if already:
        return f"bound already: {what}"
    answer = client.bind_registry_version(
        version_id, scope, b.get("target"), environment=b.get("environment"),
        rollout_strategy=strategy, rollout_config=b.get("rollout_config"), wait=wait,
    )
    outcome = answer.get("command_status")
    if wait is None or outcome == "succeeded":
        return f"bound: {what}" + ("" if outcome == "succeeded" else f" ({outcome})")
    return f"binding {what} {outcome}: {answer.get('error') or 'not finished in time'}"


def add_parser(sub: Any) -> None:
    """``concord registry validate|apply``."""
    reg = sub.add_parser(
        "registry",
        help="validate or apply registry manifests (YAML or JSON files or folders)",
        description="Registry manifests kept in git: a file holds one document (or several, "
        "YAML ---) with its registry type in `kind`; a folder is searched recursively.",
    )
    verbs = reg.add_subparsers(dest="registry_command", required=True)
    for name, func, text in (
        ("validate", cmd_validate, "check manifests against their types, their relationships "
         "and the registry; writes nothing"),
        ("apply", cmd_apply, "create, publish and bind manifests in dependency order; "
         "applying the same files again changes nothing"),
    ):
        p = verbs.add_parser(name, help=text, description=text)
        p.add_argument("paths", nargs="+", metavar="PATH",
                       help="a .yaml, .yml or .json file, or a folder")
        p.add_argument("--dsn", help="database (default: $CONCORD_DSN)")
        p.add_argument("--token", help="API token to act with (default: $CONCORD_TOKEN)")
        p.add_argument("--project", help="organisation/project the changes are recorded in")
        p.add_argument("--json", action="store_true", help="print one JSON document")
        if name == "apply":
            p.add_argument("--no-wait", action="store_true",
                           help="submit publications and bindings without waiting for "
                           "their workflows")
            p.add_argument("--timeout", type=float, default=120.0,
                           help="seconds to wait for each workflow (default 120)")
        p.set_defaults(func=_guarded(func))


def _guarded(func: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return func(args)
        except UsageError as exc:
            print(f"concord registry: {exc}", file=sys.stderr)
            return 2

    return run


# -- ``concord registry list|show|resolve|impact``: reads, as the operator's subcommands ---


@click.group(
    name="registry",
    context_settings={"help_option_names": ["-h", "--help"]},
)
def registry_group() -> None:
    """The Domain Registry: list, show, resolve and trace the impact of entities; validate
    or apply manifests kept in git (concord registry validate --help)."""


@registry_group.command(name="list")
@click.option("--type", "entity_type", help="Only entities of this registry type.")
@click.option("--name", help="Only entities of this name.")
@click.option("--organisation", help="Only this organisation's entities.")
@connection_options
def list_entities(
    client: Any,
    as_json: bool,
    entity_type: str | None,
    name: str | None,
    organisation: str | None,
) -> None:
    """List the registry entities you may see (platform ones and your organisations'),
    with their versions.

    \b
    Example:
      concord registry list --type command_type
    """
    rows = client.registry_entities(entity_type, name, organisation)
    columns = [
        "entity_type",
        "name",
        "organisation",
        "owner",
        "versions",
        "latest_version",
        "published_versions",
    ]
    emit(as_json, rows, lambda rows: table(rows, columns))


@registry_group.command(name="show")
@click.argument("entity_type", metavar="TYPE")
@click.argument("name")
@connection_options
def show_entity(client: Any, as_json: bool, entity_type: str, name: str) -> None:
    """Show entity NAME of registry type TYPE: its versions (status, change class,
    checksum) and its active bindings. Exit 3 for one you may not see.

    \b
    Example:
      concord registry show tool book_hotel
    """
    entity = client.registry_entity(entity_type, name)

    def human(e: dict[str, Any]) -> str:
        head = f"{e['entity_type']} {e['name']}  organisation: {e['organisation'] or '(platform)'}"
        head += f"  owner: {e['owner']}"
        versions = table(
            e["versions"],
            ["version", "status", "change_class", "risk_level", "checksum", "version_id"],
        )
        bindings = table(
            e["bindings"],
            [
                "binding_id",
                "version",
                "binding_scope",
                "binding_target",
                "environment",
                "rollout_strategy",
            ],
        )
        return f"{head}\n\nversions:\n{versions}\n\nactive bindings:\n{bindings}"

    emit(as_json, entity, human)


@registry_group.command(name="resolve")
@click.argument("entity_type", metavar="TYPE")
@click.argument("name")
@click.option("--workflow-type", help="What the resolution is for.")
@click.option("--command-type", help="What the resolution is for.")
@click.option("--environment", help="Default: the one the database serves.")
@connection_options
def resolve_entity(
    client: Any,
    as_json: bool,
    entity_type: str,
    name: str,
    workflow_type: str | None,
    command_type: str | None,
    environment: str | None,
) -> None:
    """Which version of TYPE NAME is in force for you (your token's principal, its teams,
    the --project's organisation and project), and why. Exit 1 when nothing usable
    resolves (CN016, the explanation printed).

    \b
    Example:
      concord registry resolve command_type book_hotel --project acme/travel
    """
    context = {
        key: value
        for key, value in (("workflow_type", workflow_type), ("command_type", command_type))
        if value is not None
    }
    if entity_type == "command_type":
        answer = client.resolve_command_type_contract(name, context, environment)
    else:
        answer = client.resolve_registry_entity(entity_type, name, context, environment)

    def human(a: dict[str, Any]) -> str:
        binding = a.get("binding") or {}
        line = f"{entity_type} {name} -> {a.get('version')} ({a.get('status')})"
        line += f"  version_id: {a.get('version_id')}"
        if a.get("deprecated"):
            line += "  DEPRECATED"
        if binding:
            line += (
                f"\nbound at {binding.get('binding_scope')} "
                f"{binding.get('binding_target') or ''}".rstrip()
            )
        return line

    emit(as_json, answer, human)


@registry_group.command(name="impact")
@click.argument("entity_type", metavar="TYPE")
@click.argument("name")
@click.option("--version", help="Only through edges whose version range holds this version.")
@connection_options
def impact(client: Any, as_json: bool, entity_type: str, name: str, version: str | None) -> None:
    """What breaks if TYPE NAME changes: every published or deprecated version that depends
    on it, transitively, with its active bindings.

    \b
    Example:
      concord registry impact connector hotel_booking --version 2.0.0
    """
    rows = client.registry_impact(entity_type, name, version)
    columns = [
        "depth",
        "entity_type",
        "name",
        "version",
        "status",
        "relationship_type",
        "required",
        "active_bindings",
        "via",
    ]
    emit(as_json, rows, lambda rows: table(rows, columns))
