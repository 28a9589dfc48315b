"""A malformed argument is bad usage: exit 2 with click's message naming the argument, never
a Python traceback nor a database error (exit 1, "refused"). An id that is not a UUID, a wait
budget outside 0..3600 seconds or not a number at all."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

NOT_A_UUID = "not-a-uuid"
ZERO = "00000000-0000-0000-0000-000000000000"


def concord(*args: str) -> subprocess.CompletedProcess[str]:
    # the arguments are checked before any connection: no database is needed, nor reached
    env = {**os.environ, "CONCORD_DSN": "host=/nonexistent", "CONCORD_TOKEN": "cct_x"}
    return subprocess.run(
        [sys.executable, "-m", "concord", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args",
    [
        ("show", NOT_A_UUID),
        ("explain", NOT_A_UUID),
        ("watch", NOT_A_UUID),
        ("approve", NOT_A_UUID),
        ("reject", NOT_A_UUID, "--json"),
        ("cancel", NOT_A_UUID),
        ("retry", NOT_A_UUID),
        ("input", NOT_A_UUID, "{}"),
        ("token", "revoke", NOT_A_UUID),
        ("submit", "any.type", "{}", "--wait", "-1"),
        ("submit", "any.type", "{}", "--wait", "nan"),
        ("submit", "any.type", "{}", "--wait", "1e308"),
        ("watch", ZERO, "--timeout", "nan"),
    ],
    ids=lambda args: " ".join(args),
)
def test_a_malformed_argument_exits_2_without_a_traceback(args: tuple[str, ...]) -> None:
    done = concord(*args)
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    assert "Invalid value" in done.stderr, done.stderr
