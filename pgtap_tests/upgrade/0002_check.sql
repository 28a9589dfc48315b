-- After `concord migrate` (0002 governance and the sql/ files) on the 0001-era
-- data of 0002_fixture.sql: nothing lost, legacy error classes kept, policies a
-- type named before they existed fail closed.
BEGIN;
SELECT plan(19);

SELECT ok(
    EXISTS (SELECT FROM concord.schema_migrations WHERE version = 2),
    'concord.schema_migrations lists version 2'
);
SELECT is((SELECT count(*)::integer FROM concord.commands), 4, 'every command survived');
SELECT is((SELECT count(*)::integer FROM concord.domain_events WHERE payload = '{"legacy": true}'),
          4, 'every audit row survived');
SELECT results_eq(
    $$SELECT command_id::text, status, error FROM concord.commands ORDER BY command_id$$,
    $$VALUES
        ('00000000-0000-0000-0000-000000000001', 'queued', null::text),
        ('00000000-0000-0000-0000-000000000002', 'failed', 'connector timed out'),
        ('00000000-0000-0000-0000-000000000003', 'failed', 'no class given'),
        ('00000000-0000-0000-0000-000000000004', 'waiting_for_approval', null)$$,
    'statuses and errors are unchanged'
);
SELECT is(
    (SELECT error_class FROM concord.commands WHERE command_id = '00000000-0000-0000-0000-000000000002'),
    'connector_timeout', 'a legacy error class is kept on its command'
);
SELECT is(
    (SELECT retryable FROM concord.error_classes WHERE error_class = 'connector_timeout'),
    false, 'a legacy error class joins the taxonomy as not retryable'
);
SELECT is(
    (SELECT error_detail ->> 'legacy_error_class' || '|' || coalesce(error_class, 'null')
     FROM concord.commands WHERE command_id = '00000000-0000-0000-0000-000000000003'),
    '|null', 'a blank error class moves to error_detail.legacy_error_class'
);
SELECT is(
    (SELECT error_class FROM concord.domain_effects WHERE domain_effect_id = '00000000-0000-0000-0000-0000000000e1'),
    'CRM Refused!', 'an effect keeps its legacy class'
);
SELECT is(
    (SELECT kind || ':' || decision FROM concord.policies WHERE name = 'data_access'),
    'declarative:deny', 'a policy named before it existed becomes a placeholder that denies'
);
SELECT is(
    (SELECT kind FROM concord.policies WHERE name = 'permission'), 'builtin',
    'the built-in permission policy is installed'
);
SELECT is(
    (SELECT count(*)::integer FROM concord.commands WHERE policy_evaluation IS NOT null OR plan IS NOT null),
    0, 'old commands have no evaluation or plan'
);
SELECT throws_ok(
    $$UPDATE concord.commands SET error_class = 'no_such_class', status = 'failed'
      WHERE command_id = '00000000-0000-0000-0000-000000000001'$$,
    '23503', NULL, 'an unknown error class is refused after the upgrade'
);
CREATE TEMP TABLE legacy_submit AS
SELECT * FROM concord.submit_command('legacy_report', '{"n": 5}', 'ann');
SELECT is(
    (SELECT c.status || ':' || c.error_class FROM legacy_submit AS s
     INNER JOIN concord.commands AS c ON c.command_id = s.command_id),
    'failed:policy_denied', 'a new command of the legacy type is denied until its policies are defined'
);
SELECT lives_ok(
    $$SELECT concord.register_policy('{"name": "data_access", "predicate": "$.payload.n > 100",
                                       "decision": "deny", "reasons": ["too big"]}')$$,
    'the placeholder can be replaced by a real policy'
);
SELECT lives_ok(
    $$SELECT concord.grant_command_type('legacy_report', 'ann')$$,
    'the requester gets a grant'
);
SELECT is(
    (SELECT status FROM concord.submit_command('legacy_report', '{"n": 6}', 'ann')),
    'queued', 'with its policies defined, the legacy type runs again'
);

-- only a worker runs a command: handed to the runtime, then claimed by its run
SELECT cmp_ok(concord.hand_off_queued(), '>=', 1, 'the old queued commands are handed to the runtime');
SELECT is(
    concord.runtime_claim('00000000-0000-0000-0000-000000000001',
                          (SELECT dbos_workflow_id FROM concord.commands
                           WHERE command_id = '00000000-0000-0000-0000-000000000001'), 'worker') ->> 'action',
    'run',
    'a command in flight before governance (queued, governed type) goes on running'
);
SELECT is(
    concord.transition_command('00000000-0000-0000-0000-000000000004', 'approved', 'boss'), 'approved',
    'a command waiting for approval before governance is approved as it was then'
);

SELECT * FROM finish();
ROLLBACK;
