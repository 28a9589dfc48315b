"""The SQL reference stays true by itself: every entry between the generated markers of
docs/reference/sql/*.md and docs/reference/views.md is what tests/harness/sql_reference.py
writes from a fresh install (`make docs` rewrites them, keeping the prose and each
parameter's meaning), every public function and view has an entry, and every parameter
has a meaning."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from concord.migrate import migrate

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "harness"))

import sql_reference  # noqa: E402

from support.databases import temporary_database  # noqa: E402

PAGES = sql_reference.pages()


@pytest.fixture(scope="module")
def catalog(server_dsn: str) -> Iterator[sql_reference.Catalog]:
    """What a fresh install no other test writes to has (the session database gains test
    objects)."""
    with temporary_database(server_dsn, "concord_sql_reference") as dsn:
        migrate(dsn)
        yield sql_reference.load(dsn)


@pytest.fixture(scope="module")
def committed() -> dict[Path, str]:
    return {p: p.read_text() for p in PAGES}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_page_is_what_make_docs_writes(
    catalog: sql_reference.Catalog, committed: dict[Path, str], page: Path
) -> None:
    written, _ = sql_reference.refresh(committed, catalog)
    assert written[page] == committed[page], (
        f"{page.relative_to(ROOT)} is stale: run `make docs` and commit the result"
    )


def test_nothing_is_left_for_a_person_to_write(
    catalog: sql_reference.Catalog, committed: dict[Path, str]
) -> None:
    _, problems = sql_reference.refresh(committed, catalog)
    assert not problems, "\n".join(problems)


def test_every_public_function_and_view_has_one_entry(
    catalog: sql_reference.Catalog, committed: dict[Path, str]
) -> None:
    entries = [
        (page == sql_reference.VIEWS_PAGE, m.group("name"))
        for page, text in committed.items()
        for m in sql_reference.BLOCK.finditer(text)
    ]
    expected = [(False, f) for f in catalog.functions] + [(True, v) for v in catalog.views]
    assert len(catalog.functions) > 50 and len(catalog.views) > 15
    assert sorted(entries) == sorted(expected)


def test_a_stale_entry_is_rewritten_and_the_prose_kept(
    catalog: sql_reference.Catalog, committed: dict[Path, str]
) -> None:
    """What the freshness test compares can differ: a changed entry is put back, while the
    prose around it and the meaning of each parameter stay as written."""
    page = sql_reference.SQL_PAGES / "plans.md"
    text = committed[page]
    stale = text.replace("**Returns** `jsonb`.", "**Returns** `text`.", 1)
    stale = stale.replace("| the effect type to place |", "| the effect type, by name |", 1)
    stale = stale.replace("The answer is", "Hand-written: the answer is", 1)
    assert stale.count("`text`.") > text.count("`text`.")
    written, _ = sql_reference.refresh({**committed, page: stale}, catalog)
    assert "**Returns** `text`." not in written[page].split("### concord.choose_queue")[0]
    assert "| the effect type, by name |" in written[page]
    assert "Hand-written: the answer is" in written[page]


def test_a_missing_entry_is_added_to_its_domain_and_a_gone_one_reported(
    catalog: sql_reference.Catalog, committed: dict[Path, str]
) -> None:
    page = sql_reference.SQL_PAGES / "plans.md"
    entry = re.search(
        r"<!-- generated: concord\.choose_queue -->\n.*?<!-- end generated -->\n",
        committed[page],
        re.S,
    ).group(0)
    without = committed[page].replace(entry, entry.replace("choose_queue", "chose_a_queue"))
    written, problems = sql_reference.refresh({**committed, page: without}, catalog)
    assert written[page].endswith(entry.replace("| the effect type to place |", "|  |"))
    assert any("concord.chose_a_queue" in p and "remove its entry" in p for p in problems)
    assert any("parameter effect_type of concord.choose_queue" in p for p in problems)
