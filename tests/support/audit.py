"""The status history a command's audit rows tell.

A submission writes one ``command_created`` row naming the whole path its insert took
(``payload.path``, e.g. created -> validated -> queued); every later change of status
writes one ``command_status_changed`` row. These helpers read both as one list of edges.
"""

from __future__ import annotations

from typing import Any

import psycopg

# Every edge of a command's status history, in order: the creation row's path, then
# each change of status.
STATUS_EDGES = """
SELECT edge.from_status, edge.to_status
FROM concord.domain_events AS e
CROSS JOIN LATERAL (
    SELECT p.step, e.payload -> 'path' ->> (p.step - 1), e.payload -> 'path' ->> p.step
    FROM generate_series(1, jsonb_array_length(coalesce(e.payload -> 'path', '[]')) - 1) AS p (step)
    WHERE e.event_type = 'command_created'
    UNION ALL
    SELECT 0, e.from_status, e.to_status WHERE e.event_type = 'command_status_changed'
) AS edge (step, from_status, to_status)
WHERE e.command_id = %s
ORDER BY e.event_seq, edge.step
"""


def status_edges(conn: psycopg.Connection, command_id: Any) -> list[tuple[str, str]]:
    """(from, to) of every status change of the command, its creation path included."""
    return [(r[0], r[1]) for r in conn.execute(STATUS_EDGES, (command_id,)).fetchall()]


def workflows_handed_off(conn: psycopg.Connection, command_id: Any) -> list[str]:
    """The workflow ids the command was handed to, in order: the one its creation row
    names, then each workflow_enqueued row's."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT coalesce(payload #>> '{workflow,workflow_id}', payload ->> 'workflow_id') "
            "FROM concord.domain_events WHERE command_id = %s AND (event_type = "
            "'workflow_enqueued' OR (event_type = 'command_created' AND payload ? 'workflow')) "
            "ORDER BY event_seq",
            (command_id,),
        ).fetchall()
    ]
