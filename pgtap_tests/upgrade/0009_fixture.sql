-- A database at migration 0008: a command with audit rows from months ago and
-- from this month, and an agent step's row naming an agent run never recorded
-- (kept since 0004 under a NOT VALID foreign key). 0009 partitions
-- domain_events by month without copying a row, but for two rows dated ahead
-- (a clock set wrong, infinity), which must not stretch the initial partition.
INSERT INTO concord.command_types (command_type, name, sync_allowed)
VALUES ('partition_probe', 'A type from before 0009', true);

INSERT INTO concord.commands (
    command_id, command_type, requested_by, ingress, payload, status, trace_id, project_id
) VALUES (
    '00000000-0000-0000-0000-000000000091', 'partition_probe', 'alice', 'api', '{"n": 9}',
    'succeeded', 'trace_probe_91', '00000000-0000-4000-8000-00000000000b'
);

INSERT INTO concord.domain_events (
    event_id, command_id, purpose, event_type, target_type, target_id, from_status, to_status,
    actor, trace_id, payload, created_at
) VALUES
('00000000-0000-0000-0000-0000000009e1', '00000000-0000-0000-0000-000000000091', 'audit', 'status_changed',
 'command', '00000000-0000-0000-0000-000000000091', null, 'created', 'alice', 'trace_probe_91', '{}',
 '2025-03-10 08:00:00+00'),
('00000000-0000-0000-0000-0000000009e2', '00000000-0000-0000-0000-000000000091', 'audit', 'status_changed',
 'command', '00000000-0000-0000-0000-000000000091', 'created', 'succeeded', 'alice', 'trace_probe_91',
 '{"note": "multi\nline"}', '2025-03-10 08:00:01+00'),
('00000000-0000-0000-0000-0000000009e3', '00000000-0000-0000-0000-000000000091', 'event', 'probe_seen',
 null, null, null, null, 'alice', 'trace_probe_91', '{}', now());

INSERT INTO concord.domain_events (
    event_id, agent_run_id, purpose, event_type, actor, trace_id, step_index, tool_name, created_at
) VALUES (
    '00000000-0000-0000-0000-0000000009e4', '00000000-0000-0000-0000-0000000009a1', 'agent_step',
    'legacy_agent_step', 'agent:loop-9', 'trace_probe_91', 1, 'legacy_tool', '2025-04-01 00:00:00+00'
);

INSERT INTO concord.domain_events (event_id, purpose, event_type, actor, trace_id, created_at)
VALUES
('00000000-0000-0000-0000-0000000009f1', 'event', 'dated_ahead', 'alice', 'trace_probe_ahead',
 now() + interval '7 months'),
('00000000-0000-0000-0000-0000000009f2', 'event', 'dated_ahead', 'alice', 'trace_probe_ahead', 'infinity');
