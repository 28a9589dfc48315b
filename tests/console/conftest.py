"""One console world (tests/support/console.py) for the console's tests that leave it as
they found it; a test that breaks its world (drops the database connection) builds its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from support.console import Setup, console_world


@pytest.fixture(scope="package")
def console(server_dsn: str) -> Iterator[Setup]:
    with console_world(server_dsn) as world:
        yield world
