"""``--adopt-after`` is 0 (never adopt) or at least one second (issue 13 §1: a gone worker's
workflows are adopted after that silence): anything else (half a second, a negative number,
inf, nan, not a number, also from ``$CONCORD_ADOPT_AFTER``) is refused at the command line
with exit 2, instead of a worker that starts, never adopts, and warns "heartbeat failed"
every second of its life. A bad ``$CONCORD_DRAIN_SECONDS`` is refused the same way, not a
traceback."""

from __future__ import annotations

import os
import subprocess

import pytest

from support.workers import CONCORD

# argparse refuses before any connection: the DSN is never reached
DSN = "host=127.0.0.1 port=1 dbname=none connect_timeout=1"


def worker(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CONCORD), "worker", "--dsn", DSN, *args],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("value", ["0.5", "-3", "inf", "nan", "soon"])
def test_a_worker_refuses_an_adoption_delay_it_cannot_keep(value: str) -> None:
    done = worker("--adopt-after", value)
    assert done.returncode == 2, done.stderr
    assert "argument --adopt-after" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_the_environment_is_checked_like_the_flag() -> None:
    done = worker(CONCORD_ADOPT_AFTER="0.2")
    assert done.returncode == 2 and "argument --adopt-after" in done.stderr, done.stderr
    done = worker(CONCORD_DRAIN_SECONDS="a while")
    assert done.returncode == 2 and "argument --drain-seconds" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_zero_and_whole_seconds_are_taken() -> None:
    # past argparse: the worker only fails to reach the database
    for value in ("0", "1", "20", "2.5"):
        done = worker("--adopt-after", value)
        assert done.returncode == 2 and "argument --adopt-after" not in done.stderr, done.stderr
        assert "cannot reach the database" in done.stderr, done.stderr
