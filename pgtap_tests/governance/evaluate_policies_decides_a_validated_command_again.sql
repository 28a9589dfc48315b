-- evaluate_policies runs the policies of a validated command again and acts
-- on the answer (spec 21; policies_are_evaluated_for_a_validated_command).
BEGIN;
SELECT plan(10);

DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "t_ri", "required_inputs": ["a", "b"], "policy_checks": ["required_inputs"]}');
END $$;

SELECT is(concord_test.submit('ri_missing', 't_ri', '{"a": 1, "b": ""}'), 'waiting_for_input',
          'required_inputs: a missing (or blank) required input sends the command to waiting_for_input');

SELECT is(concord_test.submit('ri_present', 't_ri', '{"a": 1, "b": 2}'), 'queued',
          'required_inputs: all inputs present -> allow (queued)');

-- ===========================================================================
-- evaluate_policies
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "t_perm_sync", "sync_allowed": true, "policy_checks": ["permission"]}');
    PERFORM concord.grant_command_type('t_perm_sync', 'dave');
END $$;

SELECT is(concord_test.submit('sync_ok', 't_perm_sync', '{}', 'dave'), 'validated',
          'an allowed command of a synchronous governed type stays validated');

SELECT is(
    concord.evaluate_policies(concord_test.id('sync_ok')) - 'evaluation_id' - 'policies' - 'reasons',
    jsonb_build_object('decision', 'allow', 'missing_fields', '[]'::jsonb, 'approval_types', '[]'::jsonb,
                       'status', 'validated', 'command_id', concord_test.id('sync_ok'), 'approval_ids', '[]'::jsonb),
    'evaluate_policies re-runs the policies of a validated command and returns the summary'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE command_id = concord_test.id('sync_ok') AND event_type = 'policies_evaluated'),
    2::bigint,
    'evaluate_policies writes a second policies_evaluated event'
);

SELECT concord.revoke_command_type('t_perm_sync', 'dave') AS fixture \gset

SELECT row_eq(
    $$SELECT r ->> 'decision', r ->> 'status' FROM concord.evaluate_policies(concord_test.id('sync_ok')) AS r$$,
    ROW('deny'::text, 'failed'::text),
    'after a revoke, evaluate_policies denies and fails the command'
);

SELECT is((concord_test.command('sync_ok')).error_class, 'policy_denied', 'the re-evaluated denial is policy_denied');

SELECT concord_test.throws_rule(
    format($$SELECT concord.evaluate_policies(%L)$$, concord_test.id('ri_present')),
    'CN011', 'policies_are_evaluated_for_a_validated_command',
    'CN011: evaluate_policies of a queued command'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.evaluate_policies(%L)$$, concord_test.id('ri_missing')),
    'CN011', 'policies_are_evaluated_for_a_validated_command',
    'CN011: evaluate_policies of a command waiting for input'
);
SELECT concord_test.throws_rule(
    $$SELECT concord.evaluate_policies('00000000-0000-0000-0000-000000000000')$$,
    'CN006', 'the_command_exists',
    'CN006: evaluate_policies of an unknown command'
);

SELECT * FROM finish();
ROLLBACK;
