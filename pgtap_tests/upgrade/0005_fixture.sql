-- A database at migration 0004 (agents), before the schema explained itself:
-- a command and its audit row, loaded without the sql/ triggers.
INSERT INTO concord.command_types (command_type, name, sync_allowed)
VALUES ('explained_probe', 'A type from before the comments', true);

INSERT INTO concord.commands (
    command_id, command_type, requested_by, ingress, payload, status, trace_id
) VALUES
('00000000-0000-0000-0000-000000000051', 'explained_probe', 'alice', 'api', '{"n": 1}', 'validated',
 'trace_probe_51');

INSERT INTO concord.domain_events (
    command_id, purpose, event_type, from_status, to_status, actor, trace_id
) VALUES
('00000000-0000-0000-0000-000000000051', 'audit', 'status_changed', 'created', 'validated',
 'alice', 'trace_probe_51');
