-- A database at migration 0002 (governance, before the runtime), written before
-- any command was handed to DBOS: a queued command nothing ever enqueued, a
-- running command bound to a workflow of that era with an executing effect, a
-- queued child waiting for it, a failed command of a retryable class, a
-- succeeded one, and their audit rows. Loaded without the sql/ triggers, as a
-- 0002-era database's rows would be.
INSERT INTO concord.command_types (command_type, name, async_required)
VALUES ('legacy_job', 'Legacy job', true);

INSERT INTO concord.commands (
    command_id, command_type, requested_by, ingress, payload, status, trace_id, dbos_workflow_id,
    result, error, error_class, completed_at
) VALUES
('00000000-0000-0000-0000-000000000031', 'legacy_job', 'ann', 'api', '{"n": 31}', 'queued',
 'trace_legacy_31', null, null, null, null, null),
('00000000-0000-0000-0000-000000000032', 'legacy_job', 'ann', 'api', '{"n": 32}', 'running',
 'trace_legacy_32', 'wf-legacy-32', null, null, null, null),
('00000000-0000-0000-0000-000000000033', 'legacy_job', 'bob', 'api', '{"n": 33}', 'queued',
 'trace_legacy_33', null, null, null, null, null),
('00000000-0000-0000-0000-000000000034', 'legacy_job', 'bob', 'api', '{"n": 34}', 'failed',
 'trace_legacy_34', 'wf-legacy-34', null, 'connector timed out', 'timeout', '2025-06-01 00:00:00+00'),
('00000000-0000-0000-0000-000000000035', 'legacy_job', 'bob', 'api', '{"n": 35}', 'succeeded',
 'trace_legacy_35', 'wf-legacy-35', '{"done": true}', null, null, '2025-06-01 00:00:00+00');

INSERT INTO concord.command_dependencies (child_command_id, parent_command_id, required_status)
VALUES ('00000000-0000-0000-0000-000000000033', '00000000-0000-0000-0000-000000000032', 'succeeded');

INSERT INTO concord.domain_effects (
    domain_effect_id, command_id, effect_type, effect_payload, idempotency_key, status,
    executed_by_dbos_workflow_id, declared_compensation, started_at
) VALUES
('00000000-0000-0000-0000-0000000003e2', '00000000-0000-0000-0000-000000000032', 'connector.crm',
 '{"n": 32}', 'legacy-effect-32', 'executing', 'wf-legacy-32', 'crm.undo', '2025-06-01 00:00:00+00');

INSERT INTO concord.domain_events (command_id, purpose, event_type, actor, trace_id, payload)
SELECT c.command_id, 'audit', 'command_created', c.requested_by, c.trace_id, '{"legacy": 3}'
FROM concord.commands AS c;
