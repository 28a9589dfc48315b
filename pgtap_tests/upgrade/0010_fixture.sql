-- A database at migration 0009 holding a command: 0010 only adds and drops
-- indexes, so the command must come through unchanged.
INSERT INTO concord.command_types (command_type, name, sync_allowed)
VALUES ('listing_probe', 'A type from before 0010', true);

INSERT INTO concord.commands (
    command_id, command_type, requested_by, ingress, payload, status, trace_id, project_id
) VALUES (
    '00000000-0000-0000-0000-000000000101', 'listing_probe', 'alice', 'api', '{"n": 10}',
    'succeeded', 'trace_probe_101', '00000000-0000-4000-8000-00000000000b'
);
