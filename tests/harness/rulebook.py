"""The rule book, checked and written out.

Every check the database enforces has a name: a CHECK constraint, or a rule that a
trigger or function raises with ``RAISE ... USING CONSTRAINT = '<rule>'``. The view
``concord.rules`` lists them with their table, SQLSTATE and meaning. This module

* checks that every ``RAISE EXCEPTION`` under ``sql/`` names its rule, that every
  rule it names is in the rule book with the same SQLSTATE, that every rule has a
  meaning, and that some test file (pgTAP or pytest) names it;
* writes ``docs/reference/rules.md`` from the database.

    CONCORD_DSN=... python tests/harness/rulebook.py check [--tables t1,t2] [--files sql/x/]
    CONCORD_DSN=... python tests/harness/rulebook.py write
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = ROOT / "sql"
RULES_MD = ROOT / "docs" / "reference" / "rules.md"
TEST_DIRS = (ROOT / "pgtap_tests", ROOT / "tests")

RAISE = re.compile(r"RAISE\s+EXCEPTION\b(.*?);", re.S | re.I)
LITERAL_RULE = re.compile(r"CONSTRAINT\s*=\s*'([a-z0-9_]+)'")
LITERAL_CODE = re.compile(r"ERRCODE\s*=\s*'([A-Z0-9]{5})'")


@dataclass(frozen=True)
class Rule:
    rule: str
    table_name: str | None
    kind: str
    sqlstate: str
    meaning: str | None


@dataclass(frozen=True)
class Raise:
    path: Path
    line: int
    rule: str | None  # the literal rule, None when computed
    code: str | None
    names_rule: bool


def raises(paths: list[Path]) -> list[Raise]:
    found = []
    for path in paths:
        text = path.read_text()
        for m in RAISE.finditer(text):
            body = m.group(1)
            rule = LITERAL_RULE.search(body)
            code = LITERAL_CODE.search(body)
            found.append(
                Raise(
                    path,
                    text.count("\n", 0, m.start()) + 1,
                    rule.group(1) if rule else None,
                    code.group(1) if code else None,
                    re.search(r"\bCONSTRAINT\s*=", body) is not None,
                )
            )
    return found


def sql_files(under: list[str] | None = None) -> list[Path]:
    roots = [ROOT / u for u in under] if under else [SQL_DIR]
    files: list[Path] = []
    for r in roots:
        files += [r] if r.is_file() else sorted(r.rglob("*.sql"))
    return files


def load_rules(dsn: str) -> list[Rule]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT rule, table_name, kind, sqlstate, meaning FROM concord.rules "
            "ORDER BY table_name NULLS FIRST, rule"
        ).fetchall()
        # a partition's guard is its partitioned table's rule (the audit trail's months)
        refusing = conn.execute(
            "SELECT t.tgname::text, r.relname::text FROM pg_catalog.pg_trigger AS t "
            "JOIN pg_catalog.pg_class AS r "
            "ON r.oid = coalesce(pg_catalog.pg_partition_root(t.tgrelid), t.tgrelid) "
            "WHERE t.tgfoid = 'concord._refuse_write'::regproc AND NOT t.tgisinternal"
        ).fetchall()
    rules = [Rule(*r) for r in rows]
    known = {(r.rule, r.table_name) for r in rules}
    missing = [Rule(n, t, "trigger", "CN007", None) for n, t in refusing if (n, t) not in known]
    return rules + missing


def test_files() -> list[Path]:
    """The test files, not the fixtures and helpers they load (a rule named only there is
    not attacked)."""
    skip = {
        ROOT / "pgtap_tests": ("upgrade", "lib"),
        ROOT / "tests": ("harness", "support"),
    }
    return sorted(
        p
        for d in TEST_DIRS
        for p in d.rglob("*")
        if p.suffix in (".sql", ".py") and not any(p.is_relative_to(d / s) for s in skip[d])
    )


def tests_naming(rules: list[Rule]) -> dict[str, list[str]]:
    """For each rule name, the test files that name it (quoted)."""
    texts = {f: f.read_text() for f in test_files()}
    names = {r.rule for r in rules}
    found: dict[str, list[str]] = {n: [] for n in names}
    for f, text in texts.items():
        quoted = set(re.findall(r"""['"]([a-z0-9_]+)['"]""", text))
        for n in names & quoted:
            found[n].append(str(f.relative_to(ROOT)))
    return found


def check(dsn: str, tables: set[str] | None, under: list[str] | None) -> list[str]:
    rules = load_rules(dsn)
    by_name: dict[str, list[Rule]] = {}
    for r in rules:
        by_name.setdefault(r.rule, []).append(r)
    problems = []
    scoped_raises = raises(sql_files(under))
    for r in scoped_raises:
        where = f"{r.path.relative_to(ROOT)}:{r.line}"
        if not r.names_rule:
            problems.append(f"{where}: RAISE EXCEPTION without CONSTRAINT = '<rule>'")
        elif r.rule and r.rule not in by_name:
            problems.append(f"{where}: rule {r.rule} is not in any _rule_book_<domain>()")
        elif r.rule and r.code and r.code not in {x.sqlstate for x in by_name[r.rule]}:
            problems.append(
                f"{where}: rule {r.rule} raised with {r.code}, the book says "
                f"{sorted({x.sqlstate for x in by_name[r.rule]})}"
            )
    scoped_names = {r.rule for r in scoped_raises if r.rule}
    in_scope = [
        r
        for r in rules
        if (tables is None and under is None)
        or (tables is not None and r.table_name in tables)
        or (under is not None and r.rule in scoped_names)
    ]
    tested = tests_naming(in_scope)
    for r in in_scope:
        label = f"rule {r.rule} ({r.kind}, table {r.table_name or '-'})"
        if not (r.meaning or "").strip():
            problems.append(f"{label}: no meaning (rule book entry or COMMENT ON CONSTRAINT)")
        if not tested[r.rule]:
            problems.append(f"{label}: no test file names it")
    return problems


def render(dsn: str) -> str:
    rules = load_rules(dsn)
    tested = tests_naming(rules)
    lines = [
        "# Rules",
        "",
        "<!-- Generated from the database by `make docs` (tests/harness/rulebook.py write);",
        "     tests/docs/test_reference_pages.py fails when it is stale. -->",
        "",
        "Every check Concord enforces has a name. A refusal carries it as its constraint",
        "name (psql: `\\errverbose`; Python: `ConcordError.rule`), and the view",
        "`concord.rules` lists them all. *trigger* rules are raised by triggers and",
        "functions with `RAISE ... USING CONSTRAINT`; *check* rules are CHECK constraints.",
        "",
    ]
    groups: dict[str, list[Rule]] = {}
    for r in rules:
        groups.setdefault(r.table_name or "(API arguments and shared helpers)", []).append(r)
    for table in sorted(groups, key=lambda t: (t.startswith("("), t)):
        lines += [f"## {table}", "", "| rule | kind | code | meaning | attacked in |"]
        lines.append("|---|---|---|---|---|")
        for r in sorted(groups[table], key=lambda r: (r.kind, r.rule)):
            files = ", ".join(f"`{f}`" for f in sorted(tested[r.rule])[:3])
            meaning = " ".join((r.meaning or "").split()).replace("|", "\\|")
            lines.append(f"| `{r.rule}` | {r.kind} | {r.sqlstate} | {meaning} | {files} |")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["check", "write"])
    parser.add_argument("--tables", help="check only rules of these tables (comma-separated)")
    parser.add_argument("--files", nargs="*", help="check only RAISEs in these sql/ paths")
    args = parser.parse_args()
    dsn = os.environ["CONCORD_DSN"]
    if args.action == "write":
        RULES_MD.parent.mkdir(parents=True, exist_ok=True)
        RULES_MD.write_text(render(dsn))
        print(f"wrote {RULES_MD.relative_to(ROOT)}")
        return 0
    tables = set(args.tables.split(",")) if args.tables else None
    problems = check(dsn, tables, args.files)
    for p in problems:
        print(p)
    print(f"{len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
