"""concord.list_commands through the client: filters, newest first, a cursor that resumes
exactly after the last row shown, and the refusals of a bad page size or cursor (rules
a_page_holds_1_to_500_rows and a_cursor_is_one_a_listing_gave)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from concord import Client, InvalidArgument

if TYPE_CHECKING:  # tests/conftest.py: another folder's conftest may hold the name at run time
    from conftest import CommandTypes


def test_a_listing_filters_pages_and_resumes_after_the_last_row(
    client: Client, types: CommandTypes
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    made = [
        client.submit_command(types.async_type, types.valid_payload, "lister").command_id
        for _ in range(5)
    ]
    seen: list = []
    after = None
    while True:
        page = client.list_commands(command_type=types.async_type, page_size=2, after=after)
        assert 1 <= len(page["commands"]) <= 2
        seen += [c["command_id"] for c in page["commands"]]
        after = page["next_cursor"]
        if after is None:
            break
    assert seen == [str(c) for c in reversed(made)]
    # a command created after a page was read does not shift the pages after it
    first = client.list_commands(command_type=types.async_type, page_size=2)
    client.submit_command(types.async_type, types.valid_payload, "lister")
    second = client.list_commands(
        command_type=types.async_type, page_size=2, after=first["next_cursor"]
    )
    assert [c["command_id"] for c in second["commands"]] == [str(made[2]), str(made[1])]

    assert client.list_commands(command_type=types.async_type, created_before=before) == {
        "commands": [],
        "next_cursor": None,
    }
    mine = client.list_commands(
        command_type=types.async_type, requested_by="lister", status="queued", page_size=500
    )
    assert len(mine["commands"]) == 6
    assert {c["status"] for c in mine["commands"]} == {"queued"}
    row = mine["commands"][0]
    assert set(row) >= {"command_id", "command_type", "status", "project", "requested_by"}


@pytest.mark.parametrize("size", [0, 501, -1])
def test_a_page_holds_1_to_500_rows(client: Client, size: int) -> None:
    with pytest.raises(InvalidArgument) as refused:
        client.list_commands(page_size=size)
    assert refused.value.rule == "a_page_holds_1_to_500_rows"


@pytest.mark.parametrize(
    "cursor", ["garbage", "", "MjAyNi0xMi0wNlQwMDowMDowMC4wMDAwMDBaIHg=", "%%%%"]
)
def test_a_cursor_is_one_a_listing_gave(client: Client, cursor: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        client.list_commands(after=cursor)
    assert refused.value.rule == "a_cursor_is_one_a_listing_gave"
