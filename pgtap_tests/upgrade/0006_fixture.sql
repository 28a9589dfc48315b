-- A database at migration 0005, before identity: commands (one by a name that
-- is not canonical, one by a schedule, a kernel actor), idempotency keys, a team, a grant, a decided approval, a
-- notification, a schedule and a memory, loaded without the sql/ triggers.
INSERT INTO concord.command_types (command_type, name, sync_allowed)
VALUES ('identity_probe', 'A type from before identity', true);

INSERT INTO concord.commands (
    command_id, command_type, requested_by, ingress, payload, status, trace_id, idempotency_key
) VALUES
('00000000-0000-0000-0000-000000000061', 'identity_probe', 'alice', 'api', '{"n": 1}', 'validated',
 'trace_probe_61', 'key-1'),
('00000000-0000-0000-0000-000000000062', 'identity_probe', 'ALICE Smith', 'api', '{"n": 2}', 'validated',
 'trace_probe_62', NULL),
('00000000-0000-0000-0000-000000000063', 'identity_probe', 'bob', 'api', '{"n": 3}', 'succeeded',
 'trace_probe_63', 'key-2'),
('00000000-0000-0000-0000-000000000064', 'identity_probe', 'schedule:nightly', 'schedule', '{"n": 4}', 'validated',
 'trace_probe_64', NULL);

INSERT INTO concord.domain_events (
    command_id, purpose, event_type, from_status, to_status, actor, trace_id
) VALUES
('00000000-0000-0000-0000-000000000061', 'audit', 'status_changed', 'created', 'validated',
 'alice', 'trace_probe_61');

INSERT INTO concord.team_members (team, principal, added_by) VALUES ('team:finance', 'carol', 'admin');
INSERT INTO concord.command_type_grants (command_type, principal, granted_by)
VALUES ('identity_probe', 'dave', 'admin');

INSERT INTO concord.approvals (
    approval_id, command_id, evaluation_id, approval_type, requested_by, approver, eligible_approvers, status, decision,
    decided_by, expires_at, decided_at
) VALUES (
    '00000000-0000-0000-0000-000000000064', '00000000-0000-0000-0000-000000000063',
    '00000000-0000-0000-0000-000000000065', 'standard', 'bob', 'erin', '{erin}', 'approved', 'approved', 'erin',
    now() + interval '1 day', now()
);

INSERT INTO concord.notifications (notification_id, channel, recipient, subject, command_id)
VALUES ('00000000-0000-0000-0000-000000000066', 'app', 'alice', 'done', '00000000-0000-0000-0000-000000000061');

INSERT INTO concord.schedules (schedule_name, cron, command_type)
VALUES ('identity_probe_hourly', '0 * * * *', 'identity_probe');

INSERT INTO concord.memories (
    memory_id, subject_type, subject_id, memory_type, content, status, written_by
) VALUES (
    '00000000-0000-0000-0000-000000000067', 'user', 'alice', 'preference', 'likes tea', 'active', 'alice'
);

-- A declarative policy and a command type naming it, from before policies had scopes.
INSERT INTO concord.policies (name, kind, predicate, vars, decision, reasons, spec, checksum)
VALUES (
    'scoped_probe', 'declarative', '$.payload.n > $limit', '{"limit": 5}', 'deny', '{"too many"}',
    '{"name": "scoped_probe", "predicate": "$.payload.n > $limit", "vars": {"limit": 5}, "decision": "deny", '
    '"reasons": ["too many"]}',
    'x'
);

INSERT INTO concord.command_types (command_type, name, sync_allowed, policy_checks)
VALUES ('scoped_probe_type', 'A type from before policy scopes', true, '{scoped_probe}');
