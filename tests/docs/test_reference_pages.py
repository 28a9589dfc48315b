"""The generated reference pages are true of a fresh install, and every rule is named,
explained and attacked: docs/reference/state-machines.md, schema.sql and rules.md equal
what tests/harness/reference_pages.py writes from the database (`make docs` rewrites
them), and tests/harness/rulebook.py finds no RAISE without a rule, no rule outside the
rule books, no rule without a meaning and none that no test names."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from concord.migrate import migrate

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "harness"))

import reference_pages  # noqa: E402
import rulebook  # noqa: E402

from support.databases import temporary_database  # noqa: E402


@pytest.fixture(scope="module")
def installed(server_dsn: str) -> Iterator[str]:
    """A fresh install no other test writes to (the session database gains test objects)."""
    with temporary_database(server_dsn, "concord_reference") as dsn:
        migrate(dsn)
        yield dsn


@pytest.mark.parametrize("page", sorted(reference_pages.PAGES))
def test_the_generated_page_is_fresh(installed: str, page: str) -> None:
    committed = (reference_pages.REFERENCE / page).read_text()
    assert committed == reference_pages.PAGES[page](installed), (
        f"docs/reference/{page} is stale: run `make docs` and commit the result"
    )


def test_every_machine_is_drawn_from_the_database(installed: str) -> None:
    import psycopg

    with psycopg.connect(installed) as conn:
        drawn = reference_pages.machines(conn)
        commands = next(m for m in drawn if m.title == "Commands")
        edges = conn.execute("SELECT count(*) FROM concord.command_transitions").fetchone()[0]
    assert {m.title for m in drawn} >= {
        "Commands",
        "Domain effects",
        "Approvals",
        "Swarm runs",
        "Agent runs",
        "Memories",
        "Artifacts",
    }
    assert len(commands.edges) == edges > 0
    assert all(m.edges and m.initial and m.terminal for m in drawn)


def test_every_rule_is_named_explained_and_attacked(installed: str) -> None:
    problems = rulebook.check(installed, tables=None, under=None)
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:60])


def test_the_rule_checker_sees_an_unnamed_raise(tmp_path: Path) -> None:
    """The checker of the test above works: a RAISE without a rule is found."""
    probe = tmp_path / "probe.sql"
    probe.write_text(
        "CREATE FUNCTION concord.probe() RETURNS void LANGUAGE plpgsql AS $$\n"
        "BEGIN\n    RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'no rule';\nEND\n$$;\n"
    )
    found = rulebook.raises([probe])
    assert [(r.names_rule, r.code) for r in found] == [(False, "CN008")]
