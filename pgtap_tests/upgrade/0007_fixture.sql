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
