"""The SQL reference pages, refreshed in place from a fresh install, and their freshness check.

``docs/reference/sql/<domain>.md`` (one page per SQL domain) and ``docs/reference/views.md``
are written by hand: the prose, the examples and each parameter's meaning are theirs. What
the database knows sits between marker comments, one block per function or view::

    <!-- generated: concord.plan_command -->
    ### concord.plan_command(command_id uuid)
    ...
    <!-- end generated -->

``write`` rewrites every block from the database and keeps everything else; ``check`` fails
when a page differs from what ``write`` would make. A function block holds the signature
heading, the function's comment, the parameter table (type and default from the database,
meaning kept from the page), the return type, the errors (every ``CONSTRAINT = '<rule>'``
the function and the private helpers it calls raise, with the rule book's meaning; the
triggers of the tables it writes are a link to rules.md), and the roles that may call it.
A view block holds its heading, comment, readers and columns (type and comment).

A public function or view with no block gets one at the end of its domain's page (the
domain is the folder of sql/ that creates it): ``write`` adds it, and ``check`` then asks
for the meaning of each parameter. A block naming something the database no longer has is
reported, never deleted: the prose around it is the author's to remove.

    CONCORD_DSN=<a fresh install> python tests/harness/sql_reference.py write
    CONCORD_DSN=... python tests/harness/sql_reference.py check
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = ROOT / "sql"
REFERENCE = ROOT / "docs" / "reference"
SQL_PAGES = REFERENCE / "sql"
VIEWS_PAGE = REFERENCE / "views.md"

# In the order docs/reference/roles.md presents them.
ROLES = (
    "concord_app",
    "concord_reader",
    "concord_approver",
    "concord_admin",
    "concord_worker",
    "concord_agent",
)
BLOCK = re.compile(
    r"^<!-- generated: concord\.(?P<name>\w+) -->\n(?P<body>.*?)^<!-- end generated -->\n",
    re.S | re.M,
)
CELL = re.compile(r"(?<!\\)\|")


def _cell(text: str) -> str:
    """Text as one cell of a markdown table: one line, its pipes escaped."""
    return " ".join(text.split()).replace("|", "\\|")


@dataclass
class Function:
    name: str
    args: list[tuple[str, str, str | None]]  # name, type, default (None: required)
    result: str
    comment: str
    errors: list[tuple[str, str | None, str]]  # sqlstate, rule (None: named at run time), meaning
    writes: list[str]
    roles: list[str]


@dataclass
class View:
    name: str
    comment: str
    readers: list[str]
    columns: list[tuple[str, str, str]]  # name, type, comment


@dataclass
class Catalog:
    functions: dict[str, Function] = field(default_factory=dict)
    views: dict[str, View] = field(default_factory=dict)


def _statement_end(src: str, start: int) -> int:
    """Where the statement starting at ``start`` ends: its first ``;`` outside a string."""
    quoted = False
    for i in range(start, len(src)):
        if src[i] == "'":
            quoted = not quoted
        elif src[i] == ";" and not quoted:
            return i
    return len(src)


def raised(src: str) -> list[tuple[str | None, str | None, str | None]]:
    """(SQLSTATE, rule, table) of every RAISE EXCEPTION in a body, None where computed at run
    time; ``_refuse_spec('<what>', ...)`` raises CN005 ``<what>_is_valid``."""
    found = []
    for m in re.finditer(r"RAISE\s+EXCEPTION\b", src, re.I):
        stmt = src[m.end() : _statement_end(src, m.end())]
        code = re.search(r"ERRCODE\s*=\s*'([0-9A-Z]{5})'", stmt)
        rule = re.search(r"CONSTRAINT\s*=\s*'([a-z0-9_]+)'\s*(?:,|$)", stmt)
        table = re.search(r"TABLE\s*=\s*'([a-z0-9_]+)'\s*(?:,|$)", stmt)
        found.append(
            (
                code.group(1) if code else None,
                rule.group(1) if rule else None,
                table.group(1) if table else None,
            )
        )
    for m in re.finditer(r"_refuse_spec\(\s*'([^']+)'", src):
        found.append(("CN005", m.group(1).replace(" ", "_") + "_is_valid", None))
    return found


def _split_arguments(full: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for ch in full:
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        parts.append(current.strip())
    return parts


def _defaults(full: str) -> dict[str, str]:
    """Each argument's default as written, without its trailing cast."""
    found = {}
    for piece in _split_arguments(full):
        m = re.match(r"(?:INOUT |IN )?(\w+) (.+?)(?: DEFAULT (.*))?$", piece)
        if m and m.group(3) is not None:
            found[m.group(1)] = re.sub(r"::[a-z ]+(\[\])?$", "", m.group(3))
    return found


def _errors(
    src: str, private: dict[str, str], meanings: dict[tuple, str]
) -> tuple[list[tuple[str, str | None, str]], set[str]]:
    """The errors a function raises itself or through the private helpers it calls, and the
    tables its bodies write."""
    seen: set[str] = set()
    todo, found, written = [src], [], set()
    while todo:
        body = todo.pop()
        found += raised(body)
        written |= set(
            re.findall(
                r"(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(?:concord\.)?([a-z_]+)", body, re.I
            )
        )
        for helper in re.findall(r"\b(_[a-z0-9_]+)\s*\(", body):
            # _refuse_spec's rule is computed from its first argument, read at the call
            if helper == "_refuse_spec":
                continue
            if helper in private and helper not in seen:
                seen.add(helper)
                todo.append(private[helper])
    errors: list[tuple[str, str | None, str]] = []
    for code, rule, table in found:
        if code is None and rule is None:
            continue
        if any((code, rule) == (c, r) for c, r, _ in errors):
            continue
        meaning = ""
        if rule:
            meaning = (
                meanings.get((rule, table)) or meanings.get((rule, code)) or meanings.get((rule,))
            ) or ""
        errors.append((code or "", rule, _cell(meaning)))
    errors.sort(key=lambda e: (e[0], e[1] or ""))
    return errors, written


def load(dsn: str) -> Catalog:
    """Every public function and view of schema concord, as the pages show them."""
    catalog = Catalog()
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            """
            SELECT p.oid, p.proname, p.pronargs, coalesce(p.proargnames, '{}'),
                   pg_get_function_arguments(p.oid), pg_get_function_result(p.oid),
                   coalesce(obj_description(p.oid, 'pg_proc'), ''), p.prosrc,
                   (SELECT coalesce(array_agg(format_type(t, NULL) ORDER BY o), '{}')
                    FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS a (t, o))
            FROM pg_catalog.pg_proc AS p
            WHERE p.pronamespace = 'concord'::regnamespace
            ORDER BY p.proname, p.oid
            """
        ).fetchall()
        meanings: dict[tuple, str] = {}
        for rule, table, sqlstate, meaning in conn.execute(
            "SELECT rule, table_name, sqlstate, coalesce(meaning, '') FROM concord.rules "
            "ORDER BY rule, table_name NULLS FIRST, sqlstate"
        ):
            for key in ((rule, table), (rule, sqlstate), (rule,)):
                meanings.setdefault(key, meaning)
        ruled = {
            t
            for (t,) in conn.execute(
                "SELECT DISTINCT table_name FROM concord.rules WHERE table_name IS NOT NULL"
            )
        }

        def may(privilege: str, oid: int, kind: str) -> list[str]:
            return [
                role
                for role in ROLES
                if conn.execute(
                    f"SELECT has_{kind}_privilege(%s, %s::oid, %s)", (role, oid, privilege)
                ).fetchone()[0]
            ]

        private: dict[str, str] = {}
        for r in rows:
            if r[1].startswith("_"):
                private[r[1]] = private.get(r[1], "") + "\n" + r[7]
        for oid, name, nargs, argnames, full, result, comment, src, types in rows:
            if name.startswith("_"):
                continue
            defaults = _defaults(full)
            names = list(argnames[:nargs])
            errors, written = _errors(src, private, meanings)
            catalog.functions[name] = Function(
                name=name,
                args=[(n, t, defaults.get(n)) for n, t in zip(names, types, strict=True)],
                result=result,
                comment=comment,
                errors=errors,
                writes=sorted(written & ruled),
                roles=may("EXECUTE", oid, "function"),
            )
        for oid, name, comment in conn.execute(
            "SELECT c.oid, c.relname::text, coalesce(obj_description(c.oid, 'pg_class'), '') "
            "FROM pg_catalog.pg_class AS c "
            "WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind = 'v' ORDER BY 2"
        ).fetchall():
            columns = conn.execute(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), "
                "coalesce(col_description(a.attrelid, a.attnum), '') "
                "FROM pg_catalog.pg_attribute AS a "
                "WHERE a.attrelid = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                (oid,),
            ).fetchall()
            catalog.views[name] = View(name, comment, may("SELECT", oid, "table"), columns)
    return catalog


def _meanings_in(body: str) -> dict[str, str]:
    """The meaning cell of each row of a block's parameter table, by parameter."""
    found = {}
    for line in body.splitlines():
        cells = [c.strip() for c in CELL.split(line)]
        if len(cells) == 6 and re.fullmatch(r"`\w+`", cells[1]) and cells[2].startswith("`"):
            found[cells[1].strip("`")] = cells[4]
    return found


def render_function(f: Function, meanings: dict[str, str]) -> str:
    signature = ", ".join(f"{n} {t}" for n, t, _ in f.args)
    lines = [f"### concord.{f.name}({signature})", "", f.comment, ""]
    if f.args:
        lines += ["| parameter | type | default | meaning |", "|---|---|---|---|"]
        for n, t, default in f.args:
            shown = f"`{default}`" if default else "required"
            lines.append(f"| `{n}` | `{t}` | {shown} | {meanings.get(n, '')} |")
        lines.append("")
    # a procedure returns nothing: its INOUT parameters are the answer of CALL
    returns = (
        f"**Returns** `{f.result}`."
        if f.result
        else "**Returns** its INOUT parameters (a procedure: CALL it)."
    )
    lines += [returns, ""]
    if f.errors:
        lines += ["**Errors**", "", "| code | rule | meaning |", "|---|---|---|"]
        for code, rule, meaning in f.errors:
            named = f"`{rule}`" if rule else "(named at run time)"
            lines.append(f"| {code} | {named} | {meaning} |")
        lines.append("")
    if f.writes:
        links = ", ".join(f"[`{t}`](../rules.md#{t})" for t in f.writes)
        lines += [f"The tables it writes refuse more on their own: the rules of {links}.", ""]
    roles = ", ".join(f"`{r}`" for r in f.roles) or "none (the owner and superusers only)"
    lines.append(f"**May call:** {roles}.")
    return "\n".join(lines) + "\n"


def render_view(v: View) -> str:
    readers = ", ".join(f"`{r}`" for r in v.readers)
    lines = [
        f"## {v.name}",
        "",
        v.comment,
        "",
        f"**Readable by:** {readers or 'the owner of schema `concord` and superusers only'}.",
        "",
        "| column | type | meaning |",
        "|---|---|---|",
    ]
    for name, typ, comment in v.columns:
        lines.append(f"| `{name}` | `{typ}` | {_cell(comment)} |")
    return "\n".join(lines) + "\n"


def _block(name: str, body: str) -> str:
    return f"<!-- generated: concord.{name} -->\n{body}<!-- end generated -->\n"


def _appended(text: str, name: str, body: str) -> str:
    return text.rstrip("\n") + "\n\n" + _block(name, body)


def domain_of(function: str) -> str | None:
    """The folder of sql/ whose files create a public function (or procedure)."""
    # CREATE: a GRANT in sql/privileges/ names it too, and may sort first
    pattern = re.compile(
        rf"CREATE\s+(?:OR\s+REPLACE\s+)?(?:FUNCTION|PROCEDURE)\s+concord\.{re.escape(function)}\s*\(",
        re.I,
    )
    for path in sorted(SQL_DIR.rglob("*.sql")):
        if pattern.search(path.read_text()):
            return path.parent.name
    return None


def refresh(texts: dict[Path, str], catalog: Catalog) -> tuple[dict[Path, str], list[str]]:
    """Every page with its blocks rewritten and the missing ones added, and what only a
    person can settle (a block naming something gone, a parameter without meaning, a
    function whose domain has no page)."""
    out, problems, documented = {}, [], set()
    for path, text in texts.items():
        views = path == VIEWS_PAGE
        known = catalog.views if views else catalog.functions

        def rewrite(m: re.Match, path: Path = path, views: bool = views, known=known) -> str:
            name = m.group("name")
            if name not in known:
                problems.append(
                    f"{path.relative_to(ROOT)} documents concord.{name}, which a fresh install "
                    "does not have: remove its entry by hand"
                )
                return m.group(0)
            documented.add((views, name))
            if views:
                return _block(name, render_view(known[name]))
            return _block(name, render_function(known[name], _meanings_in(m.group("body"))))

        out[path] = BLOCK.sub(rewrite, text)
    for name, view in catalog.views.items():
        if (True, name) not in documented and VIEWS_PAGE in out:
            out[VIEWS_PAGE] = _appended(out[VIEWS_PAGE], name, render_view(view))
    for name, function in catalog.functions.items():
        if (False, name) in documented:
            continue
        page = SQL_PAGES / f"{domain_of(name)}.md"
        if page not in out:
            problems.append(f"concord.{name} has no entry, and {page.relative_to(ROOT)} no page")
            continue
        out[page] = _appended(out[page], name, render_function(function, {}))
    for path, text in out.items():
        for m in BLOCK.finditer(text):
            if path == VIEWS_PAGE or m.group("name") not in catalog.functions:
                continue
            meanings = _meanings_in(m.group("body"))
            for arg, _, _ in catalog.functions[m.group("name")].args:
                if not meanings.get(arg):
                    problems.append(
                        f"{path.relative_to(ROOT)}: parameter {arg} of concord.{m.group('name')} "
                        "has no meaning: write it in the entry's table (write keeps it)"
                    )
    return out, problems


def pages() -> list[Path]:
    return sorted(SQL_PAGES.glob("*.md")) + [VIEWS_PAGE]


def render(dsn: str) -> tuple[dict[Path, str], list[str]]:
    """What ``write`` makes of every page, and what is left for a person to settle."""
    return refresh({p: p.read_text() for p in pages()}, load(dsn))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["write", "check"])
    args = parser.parse_args()
    written, problems = render(os.environ["CONCORD_DSN"])
    stale = []
    for path, text in written.items():
        if path.read_text() == text:
            continue
        if args.action == "write":
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
        else:
            stale.append(f"{path.relative_to(ROOT)} is stale: run `make docs`")
    for line in stale + problems:
        print(line)
    return 1 if stale or problems else 0


if __name__ == "__main__":
    sys.exit(main())
