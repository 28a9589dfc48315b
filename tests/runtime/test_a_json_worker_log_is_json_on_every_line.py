"""With ``--log-format json`` every line of a worker's log (stderr) is one JSON object
(spec 48, docs/reference/configuration.md), also when the worker refuses to start or cannot
reach its database: a collector reading JSON lines gets the refusal as an ERROR object with
its ``event`` and the list of ``problems``, not lines of text it cannot parse. Text stays
text without the flag."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from concord.migrate import migrate
from support.databases import temporary_database
from support.workers import CONCORD


def worker(*args: str, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CONCORD), "worker", "--executor-id", "json-log", "--no-schedules", *args],
        env={**os.environ, "PYTHONPATH": str(pythonpath)},
        capture_output=True, text=True, timeout=60,
    )


def objects(stderr: str) -> list[dict]:
    docs = []
    for line in stderr.splitlines():
        try:
            docs.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"not a JSON line: {line!r}\n{stderr}") from None
    return docs


def test_a_json_worker_log_is_json_on_every_line(server_dsn: str, tmp_path: Path) -> None:
    (tmp_path / "broken_ops.py").write_text("import no_such_dependency_of_broken_ops\n")
    with temporary_database(server_dsn, "concord_json_log") as dsn:
        migrate(dsn)
        refused = worker("--dsn", dsn, "--log-format", "json", "--module", "broken_ops",
                         "--module", "ops_not_there", pythonpath=tmp_path)
        assert refused.returncode == 2, refused.stderr
        [doc] = objects(refused.stderr)
        assert (doc["level"], doc["logger"], doc["event"]) == (
            "ERROR", "concord.worker", "worker_refused"), doc
        assert doc["message"].startswith("refusing to start: 2 problem(s)"), doc
        assert [p.split(" cannot")[0] for p in doc["problems"]] == [
            "module broken_ops", "module ops_not_there"], doc

        text = worker("--dsn", dsn, "--module", "ops_not_there", pythonpath=tmp_path)
        assert text.returncode == 2
        assert text.stderr.startswith("concord worker: refusing to start: 1 problem(s)"), text

    unreachable = worker("--dsn", "host=127.0.0.1 port=1 dbname=none connect_timeout=2",
                         "--log-format", "json", pythonpath=tmp_path)
    assert unreachable.returncode == 2, unreachable.stderr
    [doc] = objects(unreachable.stderr)
    assert (doc["level"], doc["event"]) == ("ERROR", "worker_unreachable"), doc
    assert doc["message"].startswith("cannot reach the database: "), doc
