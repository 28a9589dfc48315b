"""The documentation stays true: README.md and every docs/**/*.md page run.

How a page runs (the convention every page follows):

- Every ```sql block of a page runs, in page order, in ONE ``psql -X -v ON_ERROR_STOP=1
  -v VERBOSITY=verbose`` session on a fresh database of its own with Concord installed
  (``concord.migrate.migrate``; each page gets a copy of one installed template), as the
  superuser of ``CONCORD_DSN`` unless the page sets a role itself. State carries from block
  to block.
- A statement that fails on purpose says so on its line: ``-- expect CN003`` (any SQLSTATE),
  optionally with the rule: ``-- expect CN003 dependency_graph_has_no_cycle``. A block's
  errors must be exactly its marks, in order; any other error fails the page.
- Then every ```python block runs, in page order, each as its own process with
  ``CONCORD_DSN`` set to the same database (after all of the page's sql blocks ran). A python
  block whose first line is ``# file: <path>.py`` is a module, not a script: it is compiled
  here, and ``test_the_operations_module_runs_under_a_worker`` runs ``myapp/ops.py`` under a
  real ``concord worker``.
- An ```output block that is the next fenced block after a sql or python block is that
  block's expected stdout, compared exactly (trailing spaces stripped per line, trailing
  blank lines ignored). Pages print nothing that changes from run to run.
- ```bash, ```sh, ```shell, ```json and other blocks are not executed.

Besides: every public ``concord.*`` function has a ``### `` heading naming it with its
arguments in some docs/reference/sql/*.md page; every CN code the SQL raises is in
docs/reference/error-codes.md; every row of ``concord.error_classes`` is in
docs/reference/error-classes.md; every link is relative and its target exists; no http(s)
URL appears in prose; README.md has at most 200 lines; docs/explanation/spec-map.md is what
tests/harness/spec_map.py writes.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from psycopg import sql as pgsql

from concord.migrate import migrate
from support.databases import dsn_for_database

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README_MAX_LINES = 200
EXECUTED = {"sql", "python"}
# A fenced block, also indented (in a list item): its closing fence has the same indent.
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<language>[A-Za-z0-9_+-]*)[^\n]*\n"
    r"(?P<code>.*?)^(?P=indent)```[ \t]*$",
    re.S | re.M,
)
EXPECT = re.compile(r"--\s*expect\s+([0-9A-Z]{5})(?:\s+([a-z][a-z0-9_]*))?")
MODULE = re.compile(r"\A#\s*file:\s*(\S+\.py)\s*\n")


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


@dataclass
class Block:
    language: str
    code: str
    line: int  # where the block starts on its page (1-based), for messages
    output: str | None = None
    expected_errors: list[tuple[str, str | None]] = field(default_factory=list)

    @property
    def module_path(self) -> str | None:
        m = MODULE.match(self.code) if self.language == "python" else None
        return m.group(1) if m else None


def blocks(text: str) -> list[Block]:
    """The executed blocks of a page, each with the output block that follows it."""
    found: list[Block] = []
    previous: Block | None = None
    for m in FENCE.finditer(text):
        language = m.group("language").lower()
        indent = m.group("indent")
        code = "".join(
            line.removeprefix(indent) for line in m.group("code").splitlines(keepends=True)
        )
        line = text.count("\n", 0, m.start()) + 1
        if language == "output":
            assert previous is not None and previous.output is None, (
                f"line {line}: an output block must follow a sql or python block"
            )
            previous.output = code
            previous = None
            continue
        previous = None
        if language in EXECUTED:
            previous = Block(language, code, line)
            if language == "sql":
                previous.expected_errors = [(s, r or None) for s, r in EXPECT.findall(code)]
            found.append(previous)
    return found


def _normal(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")


def executed_pages() -> list[Path]:
    return [p for p in pages() if blocks(p.read_text())]


# -- databases -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template(server_dsn: str) -> Iterator[str]:
    """One database with Concord installed; every page gets a copy (CREATE DATABASE ...
    TEMPLATE), which is a fresh install without migrating once per page."""
    name = f"docs_template_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    try:
        migrate(dsn_for_database(server_dsn, name))
        yield name
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(
                pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name))
            )


@pytest.fixture
def page_dsn(server_dsn: str, template: str) -> Iterator[str]:
    name = f"docs_page_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(
            pgsql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                pgsql.Identifier(name), pgsql.Identifier(template)
            )
        )
    try:
        yield dsn_for_database(server_dsn, name)
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(
                pgsql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pgsql.Identifier(name))
            )


@pytest.fixture(scope="module")
def installed(server_dsn: str, template: str) -> str:
    """The template itself, read only."""
    return dsn_for_database(server_dsn, template)


# -- running a page -----------------------------------------------------------------------

MARK = "--8<-- docs block {} --8<--"


def _split(stream: str, count: int) -> list[str]:
    """The text each block wrote, cut at the marks the runner echoed after each block."""
    parts, rest = [], stream
    for i in range(count):
        before, mark, rest = rest.partition(MARK.format(i) + "\n")
        if not mark:
            break
        parts.append(before)
    return parts


def _errors(stderr: str) -> list[tuple[str, str | None]]:
    """(SQLSTATE, constraint name or None) of each error psql reported, in order."""
    found: list[tuple[str, str | None]] = []
    for chunk in re.split(r"(?m)^(?=(?:psql:[^\n]*?: )?ERROR:)", stderr):
        m = re.match(r"(?:psql:[^\n]*?: )?ERROR:\s+([0-9A-Z]{5}):", chunk)
        if m:
            rule = re.search(r"^CONSTRAINT NAME:\s+(\S+)", chunk, re.M)
            found.append((m.group(1), rule.group(1) if rule else None))
    return found


def _run_sql(page: Path, sql_blocks: list[Block], dsn: str) -> None:
    script = []
    for i, block in enumerate(sql_blocks):
        stop = "0" if block.expected_errors else "1"
        script += [f"\\set ON_ERROR_STOP {stop}", block.code, "\\set ON_ERROR_STOP 1"]
        script += [f"\\echo '{MARK.format(i)}'", f"\\warn '{MARK.format(i)}'"]
    psql = shutil.which("psql")
    assert psql, "psql is required (postgresql-client)"
    run = subprocess.run(
        [psql, "-X", "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose", "-d", dsn],
        input="\n".join(script) + "\n",
        capture_output=True,
        text=True,
        timeout=300,
    )
    outs, errs = _split(run.stdout, len(sql_blocks)), _split(run.stderr, len(sql_blocks))
    for i, block in enumerate(sql_blocks):
        where = f"{_name(page)}, sql block at line {block.line}"
        assert i < len(outs) and i < len(errs), (
            f"{where} stopped psql (exit {run.returncode}):\n{run.stderr[-4000:]}"
        )
        raised = _errors(errs[i])
        wanted = block.expected_errors
        same = len(raised) == len(wanted) and all(
            r[0] == w[0] and (w[1] is None or r[1] == w[1])
            for r, w in zip(raised, wanted, strict=True)
        )
        assert same, f"{where}: errors {raised}, marked {wanted}:\n{errs[i]}"
        if block.output is not None:
            assert _normal(outs[i]) == _normal(block.output), (
                f"{where}: output differs.\n--- page says:\n{block.output}\n--- psql printed:\n"
                f"{outs[i]}"
            )
    assert run.returncode == 0, run.stderr[-4000:]


def _run_python(page: Path, block: Block, dsn: str) -> None:
    where = f"{_name(page)}, python block at line {block.line}"
    if block.module_path:
        compile(block.code, f"{where} ({block.module_path})", "exec")
        return
    run = subprocess.run(
        [sys.executable, "-c", block.code],
        env={**os.environ, "CONCORD_DSN": dsn},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, f"{where} failed:\n{run.stderr[-4000:]}"
    if block.output is not None:
        assert _normal(run.stdout) == _normal(block.output), (
            f"{where}: output differs.\n--- page says:\n{block.output}\n--- python printed:\n"
            f"{run.stdout}"
        )


@pytest.mark.parametrize("page", executed_pages(), ids=_name)
def test_the_page_runs_and_prints_what_it_shows(page: Path, page_dsn: str) -> None:
    found = blocks(page.read_text())
    sql_blocks = [b for b in found if b.language == "sql"]
    if sql_blocks:
        _run_sql(page, sql_blocks, page_dsn)
    for block in (b for b in found if b.language == "python"):
        _run_python(page, block, page_dsn)


def test_the_operations_module_runs_under_a_worker(server_dsn: str, tmp_path: Path) -> None:
    """The documented operations module (``# file: myapp/ops.py``), loaded by a real
    ``concord worker``, books through a local HTTP peer with the effect's idempotency key."""
    import json

    from support.databases import temporary_database
    from support.workers import Vendor, WorkerProcess, submit, wait_status

    modules = [b for p in pages() for b in blocks(p.read_text()) if b.module_path == "myapp/ops.py"]
    assert len(modules) == 1, "one page shows the operations module `# file: myapp/ops.py`"
    package = tmp_path / "myapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "ops.py").write_text(modules[0].code)
    vendor = Vendor()
    try:
        with temporary_database(server_dsn, "concord_docs_worker") as dsn:
            migrate(dsn)
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(
                    "SELECT concord.register_command_type(%s)",
                    (
                        '{"command_type": "hotel.book", "async_required": true,'
                        ' "connector_requirements": ["hotel"]}',
                    ),
                )
                conn.execute(
                    "SELECT concord.register_connector(%s)",
                    (
                        json.dumps(
                            {
                                "name": "hotel",
                                "connector_type": "http",
                                "capabilities": ["request"],
                                "config": {"base_url": vendor.url},
                            }
                        ),
                    ),
                )
                worker = WorkerProcess(
                    dsn,
                    executor_id="docs-worker",
                    modules=("myapp.ops",),
                    extra_env={"PYTHONPATH": str(tmp_path)},
                )
                with worker:
                    command = submit(conn, "hotel.book", {"room": 12})
                    assert wait_status(conn, command, {"succeeded", "failed"}) == "succeeded", (
                        worker.log()
                    )
                    (key,) = conn.execute(
                        "SELECT idempotency_key FROM concord.domain_effects WHERE command_id = %s",
                        (command,),
                    ).fetchone()
        assert [r["path"] for r in vendor.requests] == ["/bookings"]
        assert vendor.requests[0]["key"] == key
    finally:
        vendor.close()


# -- the reference is complete ------------------------------------------------------------


def test_every_public_function_has_a_reference_heading(installed: str) -> None:
    with psycopg.connect(installed) as conn:
        public = conn.execute(
            "SELECT p.proname, coalesce(p.proargnames[1:p.pronargs], '{}') "
            "FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace "
            "WHERE n.nspname = 'concord' AND p.proname NOT LIKE '\\_%' ORDER BY 1"
        ).fetchall()
    assert public, "no public functions found"
    headings = [
        line
        for page in sorted((DOCS / "reference" / "sql").glob("*.md"))
        for line in page.read_text().splitlines()
        if line.startswith("### ")
    ]
    missing = []
    for name, args in public:
        named = [h for h in headings if re.search(rf"\b{re.escape(name)}\(", h)]
        if not any(all(re.search(rf"\b{re.escape(a)}\b", h) for a in args) for h in named):
            missing.append(f"{name}({', '.join(args)})")
    assert not missing, (
        "docs/reference/sql/*.md has no `### name(arguments...)` heading for: " + "; ".join(missing)
    )


def _documented_names(page: Path) -> set[str]:
    """Names a reference page lists: first cells of table rows and headings (backticks
    optional)."""
    text = page.read_text() if page.exists() else ""
    return set(re.findall(r"^(?:\|\s*|#+\s+)`?([A-Za-z0-9_]+)`?", text, re.M))


def test_the_error_codes_page_lists_every_code_the_sql_raises() -> None:
    raised = set()
    for path in (ROOT / "sql").rglob("*.sql"):
        raised |= set(re.findall(r"ERRCODE = '(CN\d{3})'", path.read_text()))
    assert raised, "no CN codes found in sql/"
    missing = raised - _documented_names(DOCS / "reference" / "error-codes.md")
    assert not missing, f"docs/reference/error-codes.md lacks: {sorted(missing)}"


def test_the_error_classes_page_lists_every_class(installed: str) -> None:
    with psycopg.connect(installed) as conn:
        classes = {c for (c,) in conn.execute("SELECT error_class FROM concord.error_classes")}
    assert "internal_error" in classes
    missing = classes - _documented_names(DOCS / "reference" / "error-classes.md")
    assert not missing, f"docs/reference/error-classes.md lacks: {sorted(missing)}"


# -- links and size -----------------------------------------------------------------------

LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|!\[[^\]]*\]\(([^)\s]+)\)")


def _prose(text: str) -> str:
    """The page without its fenced blocks and inline code."""
    text = FENCE.sub("", text)
    return re.sub(r"`[^`\n]*`", "", text)


@pytest.mark.parametrize("page", pages(), ids=_name)
def test_every_link_is_relative_and_its_target_exists(page: Path) -> None:
    prose = _prose(page.read_text())
    assert not re.findall(r"https?://\S+", prose), f"{_name(page)} links outside the repository"
    broken = []
    for m in LINK.finditer(prose):
        target = (m.group(1) or m.group(2)).split("#", 1)[0]
        if target and not (page.parent / target).resolve().exists():
            broken.append(target)
    assert not broken, f"{_name(page)}: links to missing files {broken}"


def test_the_spec_map_is_fresh() -> None:
    sys.path.insert(0, str(ROOT / "tests" / "harness"))
    import spec_map

    assert spec_map.SPEC.exists(), "docs/explanation/concord-design.txt, the spec, is missing"
    assert spec_map.PAGE.read_text() == spec_map.render(), (
        "docs/explanation/spec-map.md is stale: run `python tests/harness/spec_map.py write`"
    )


def test_the_readme_is_short() -> None:
    lines = len((ROOT / "README.md").read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines (at most {README_MAX_LINES})"
