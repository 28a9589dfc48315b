-- A database at migration 0001 (kernel only, written before governance existed):
-- command types naming policies that were never defined (the spec's own
-- data_access), commands and effects carrying error classes from before the
-- taxonomy (one of them blank), and their audit rows. Loaded without the sql/
-- triggers, as a 0001-era database's rows would be.
INSERT INTO concord.command_types (command_type, name, policy_checks, async_required, approval_required)
VALUES
('legacy_report', 'Legacy report', '{permission,cost,data_access}', true, false),
('legacy_plain', 'Legacy plain', '{}', true, false),
('legacy_gated', 'Legacy gated', '{}', false, true);

INSERT INTO concord.commands (
    command_id, command_type, requested_by, ingress, payload, status, trace_id,
    error, error_class, completed_at
) VALUES
('00000000-0000-0000-0000-000000000001', 'legacy_report', 'ann', 'api', '{"n": 1}', 'queued',
 'trace_legacy_1', null, null, null),
('00000000-0000-0000-0000-000000000002', 'legacy_plain', 'ann', 'api', '{"n": 2}', 'failed',
 'trace_legacy_2', 'connector timed out', 'connector_timeout', '2025-01-01 00:00:00+00'),
('00000000-0000-0000-0000-000000000003', 'legacy_plain', 'bob', 'api', '{"n": 3}', 'failed',
 'trace_legacy_3', 'no class given', '', '2025-01-01 00:00:00+00'),
('00000000-0000-0000-0000-000000000004', 'legacy_gated', 'bob', 'api', '{"n": 4}',
 'waiting_for_approval', 'trace_legacy_4', null, null, null);

INSERT INTO concord.domain_effects (
    domain_effect_id, command_id, effect_type, status, executed_by_dbos_workflow_id,
    error, error_class, started_at, completed_at
) VALUES
('00000000-0000-0000-0000-0000000000e1', '00000000-0000-0000-0000-000000000002', 'connector.crm',
 'failed', 'wf-legacy', 'crm said no', 'CRM Refused!', '2025-01-01 00:00:00+00',
 '2025-01-01 00:00:01+00');

INSERT INTO concord.domain_events (command_id, purpose, event_type, actor, trace_id, payload)
SELECT c.command_id, 'audit', 'command_created', c.requested_by, c.trace_id, '{"legacy": true}'
FROM concord.commands AS c;
