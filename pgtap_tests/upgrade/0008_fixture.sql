-- A database at migration 0007: a command type, a policy it checks and a
-- finished command of it, loaded without the sql/ triggers. 0008 brings the
-- registry's tables, its own command types and its built-in policy.
INSERT INTO concord.policies (name, kind, description, predicate, decision, reasons, spec)
VALUES ('registry_probe_gate', 'declarative', 'A policy from before 0008', '$.payload.n > 100', 'deny',
        '{too many}', '{"name": "registry_probe_gate"}');

INSERT INTO concord.command_types (command_type, name, sync_allowed, policy_checks)
VALUES ('registry_probe', 'A type from before 0008', true, '{registry_probe_gate}');

INSERT INTO concord.commands (
    command_id, command_type, requested_by, ingress, payload, status, trace_id, project_id
) VALUES (
    '00000000-0000-0000-0000-000000000081', 'registry_probe', 'alice', 'api', '{"n": 1}',
    'succeeded', 'trace_probe_81', '00000000-0000-4000-8000-00000000000b'
);
