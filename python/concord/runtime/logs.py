"""What a worker says about its work (spec 48): one line per command start and finish on
the logger ``concord.worker`` at INFO, as text or as one JSON object per line, and the
registry of the commands this process is executing (what a stopping worker reports).

A text line reads ``<time> INFO concord.worker command finished id=<uuid> type=<type>
status=<status> duration_ms=<n> attempt=<n>``; a JSON line is the same fields as keys
(``ts``, ``level``, ``logger``, ``message``, ``event``, ``command_id``, ``command_type``,
``status``, ``duration_ms``, ``attempt``, ``workflow_id``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("concord.worker")


_lock = threading.Lock()
_in_flight: dict[str, dict[str, Any]] = {}  # workflow id -> the command it executes


def in_flight() -> list[dict[str, Any]]:
    """The commands this process's workflows are executing now."""
    with _lock:
        return [{k: v for k, v in f.items() if k != "_started"} for f in _in_flight.values()]


def command_started(workflow_id: str, command: dict[str, Any]) -> None:
    """Log the start of a command's execution and count it in flight."""
    fields = {
        "command_id": str(command.get("command_id")),
        "command_type": command.get("command_type"),
        # runs begun for the command, this one included (commands.attempts)
        "attempt": command.get("attempts", command.get("run_seq")),
        "workflow_id": workflow_id,
    }
    with _lock:
        _in_flight[workflow_id] = {**fields, "_started": time.monotonic()}
    _emit("command started", "command_started", fields)


def command_finished(workflow_id: str, answer: dict[str, Any]) -> None:
    """Log how the execution of a command started by :func:`command_started` ended (the
    workflow's answer: the command's status, or why it stopped) and stop counting it."""
    with _lock:
        fields = _in_flight.pop(workflow_id, None)
    if fields is None:
        return
    started = fields.pop("_started")
    _emit(
        "command finished",
        "command_finished",
        {
            **fields,
            "status": answer.get("status") or answer.get("action"),
            "duration_ms": round((time.monotonic() - started) * 1000, 1),
            "error_class": answer.get("error_class"),
            "why": answer.get("why"),
        },
    )


def forget(workflow_id: str) -> None:
    """Stop counting a workflow that ends without a finish line (DBOS cancelled it, or the
    process is stopping under it)."""
    with _lock:
        _in_flight.pop(workflow_id, None)


_ORDER = ("command_id", "command_type", "status", "duration_ms", "attempt")
_SHORT = {"command_id": "id", "command_type": "type"}


def _text(value: Any) -> str:
    text = str(value)
    return json.dumps(text) if not text or any(c.isspace() or c in "\"=" for c in text) else text


def _emit(message: str, event: str, fields: dict[str, Any]) -> None:
    if not log.isEnabledFor(logging.INFO):
        return
    fields = {k: v for k, v in fields.items() if v is not None}
    names = [k for k in _ORDER if k in fields] + [k for k in fields if k not in _ORDER]
    text = " ".join(
        f"{_SHORT.get(k, k)}={_text(fields[k])}" for k in names if k != "workflow_id"
    )
    log.info("%s %s", message, text, extra={"concord": {"event": event, **fields}})


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message and the record's fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update(getattr(record, "concord", None) or {})
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

# How long a line of DBOS's (or a library's) that repeats is held back after it was said:
# during a database outage each DBOS queue thread warns twice per poll (every 50 ms on
# Concord's queues), hundreds of lines a second that bury everything else.
REPEAT_WINDOW_SECONDS = 30.0


class RepeatFilter(logging.Filter):
    """Let through once per :data:`REPEAT_WINDOW_SECONDS` a line of a logger outside
    ``concord`` that says the same thing again (same logger, level and text up to its first
    ``": "``, where the error's own words begin); the next one let through says how many
    were held back. Concord's own lines (a command's start and finish) always pass."""

    def __init__(self, window: float = REPEAT_WINDOW_SECONDS) -> None:
        super().__init__()
        self.window = window
        self._lock = threading.Lock()
        self._seen: dict[tuple, list[float | int]] = {}  # key -> [last said, held back]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "concord" or record.name.startswith("concord."):
            return True
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a line that cannot be formatted is not held
            return True
        key = (record.name, record.levelno, text.split(": ", 1)[0][:200])
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self.window:
                seen[1] += 1
                return False
            held = seen[1] if seen is not None else 0
            self._seen[key] = [now, 0]
            if len(self._seen) > 1000:  # lines that vary without end: forget the oldest
                for old in sorted(self._seen, key=lambda k: self._seen[k][0])[:500]:
                    del self._seen[old]
        if held:
            record.msg = f"{text} ({held} more like it in the last {self.window:.0f} s)"
            record.args = ()
        return True


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Set up the worker process's logging: Concord's loggers at ``level``, DBOS's at
    WARNING unless ``level`` is DEBUG (its INFO lines are not the operator's business),
    every line on stderr as ``fmt`` (text or json), a line of DBOS's or a library's that
    repeats said once per :data:`REPEAT_WINDOW_SECONDS` (:class:`RepeatFilter`)."""
    if fmt not in ("text", "json"):
        raise ValueError(f"log format is text or json, not {fmt!r}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    handler.addFilter(RepeatFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    logging.getLogger("concord").setLevel(numeric)
    # DBOS adds a console handler of its own to a "dbos" logger that has none: give it
    # ours first, so its lines take the worker's format too.
    dbos_logger = logging.getLogger("dbos")
    for existing in list(dbos_logger.handlers):
        dbos_logger.removeHandler(existing)
    dbos_logger.addHandler(handler)
    dbos_logger.propagate = False
    dbos_logger.setLevel(dbos_level(level))


def dbos_level(level: str) -> str:
    """The level of DBOS's own logger for a worker logging at ``level``."""
    return "DEBUG" if level.upper() == "DEBUG" else "WARNING"


def silence_dbos() -> None:
    """Nothing more from DBOS: a worker stopping under running workflows would otherwise
    print a traceback per workflow it interrupts."""
    logging.getLogger("dbos").setLevel(logging.CRITICAL + 1)
