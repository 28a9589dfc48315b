-- A database at migration 0006: a command type and a finished command of it,
-- loaded without the sql/ triggers. Each part of 0007 adds the rows it changes.
INSERT INTO concord.command_types (command_type, name, sync_allowed)
VALUES ('runtime_probe', 'A type from before 0007', true);

INSERT INTO concord.commands (
    command_id, command_type, requested_by, ingress, payload, status, trace_id, project_id
) VALUES (
    '00000000-0000-0000-0000-000000000071', 'runtime_probe', 'alice', 'api', '{"n": 1}',
    'succeeded', 'trace_probe_71', '00000000-0000-4000-8000-00000000000b'
);

-- == workers == a command that failed once and was retried, then failed
-- again: its runs that began (two) are counted into attempts.
INSERT INTO concord.commands (
    command_id, command_type, requested_by, ingress, payload, status, trace_id, project_id, run_seq
) VALUES (
    '00000000-0000-0000-0000-000000000072', 'runtime_probe', 'alice', 'api', '{"n": 2}',
    'failed', 'trace_probe_72', '00000000-0000-4000-8000-00000000000b', 2
);
INSERT INTO concord.domain_events (command_id, purpose, event_type, target_type, from_status, to_status, actor, trace_id)
VALUES
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'queued', 'running', 'worker:w', 'trace_probe_72'),
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'running', 'failed', 'worker:w', 'trace_probe_72'),
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'failed', 'queued', 'op', 'trace_probe_72'),
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'queued', 'running', 'worker:w', 'trace_probe_72'),
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'running', 'blocked', 'op', 'trace_probe_72'),
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'blocked', 'running', 'worker:w', 'trace_probe_72'),
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'running', 'failed', 'worker:w', 'trace_probe_72');
