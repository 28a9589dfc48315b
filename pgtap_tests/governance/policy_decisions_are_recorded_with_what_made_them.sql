-- Every evaluation is recorded (spec 21, 32): one policy_decisions row per
-- policy with its version, checksum and inputs digest, one policies_evaluated
-- event, in the command's transaction; the rows are never updated or deleted;
-- an executable policy's decisions name the code that made them.
BEGIN;
SELECT plan(13);

DO $$ BEGIN
    PERFORM concord.register_policy(
        '{"name": "c_deny", "predicate": "$.payload.d == true", "decision": "deny", "reasons": ["denied by c_deny"]}');
    PERFORM concord.register_policy(
        '{"name": "c_input", "predicate": "$.payload.i == true", "decision": "require_input",
          "missing_fields": ["extra"], "reasons": ["input asked by c_input"]}');
    PERFORM concord.register_policy(
        '{"name": "c_appr", "predicate": "$.payload.a == true", "decision": "require_approval",
          "approval_type": "standard", "reasons": ["approval asked by c_appr"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_combo", "policy_checks": ["c_deny", "c_input", "c_appr"]}');
END $$;

SELECT is(concord_test.submit('combo_dia', 't_combo', '{"d": true, "i": true, "a": true}')
          || '/' || ((concord_test.command('combo_dia')).policy_evaluation ->> 'decision'),
          'failed/deny', 'deny beats everything');

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_plain", "sync_allowed": true}');
END $$;

-- ===========================================================================
-- Decision records and the audit event
-- ===========================================================================
SELECT row_eq(
    $$SELECT count(*), count(DISTINCT evaluation_id),
             bool_and(policy_version IS NOT NULL AND policy_checksum IS NOT NULL AND policy_checksum <> ''
                      AND inputs_digest IS NOT NULL AND inputs_digest <> ''),
             bool_and(evaluation_id = ((concord_test.command('combo_dia')).policy_evaluation ->> 'evaluation_id')::uuid)
      FROM concord.policy_decisions WHERE command_id = concord_test.id('combo_dia')$$,
    ROW(3::bigint, 1::bigint, true, true),
    'an evaluation writes one policy_decisions row per policy, with version, checksum and inputs digest'
);

SELECT row_eq(
    $$SELECT policy_version, policy_checksum = (SELECT checksum FROM concord.policies WHERE name = 'c_deny'), decision
      FROM concord.policy_decisions WHERE command_id = concord_test.id('combo_dia') AND policy = 'c_deny'$$,
    ROW(1, true, 'deny'::text),
    'the decision row records the policy''s version and checksum and its decision'
);

SELECT row_eq(
    $$SELECT count(*), min(target_type), min(target_id) = (concord_test.command('combo_dia')).policy_evaluation ->> 'evaluation_id',
             min(payload ->> 'decision')
      FROM concord.domain_events WHERE command_id = concord_test.id('combo_dia') AND event_type = 'policies_evaluated'$$,
    ROW(1::bigint, 'policy_evaluation'::text, true, 'deny'::text),
    'an evaluation writes exactly one policies_evaluated event, targeting the evaluation'
);

SELECT is(
    (SELECT count(*) FROM concord.policy_decisions AS d, concord.domain_events AS e
     WHERE d.command_id = concord_test.id('combo_dia') AND e.command_id = d.command_id
       AND e.event_type = 'policies_evaluated'
       AND d.xmin = e.xmin AND d.xmin = (SELECT c.xmin FROM concord.commands AS c WHERE c.command_id = d.command_id)),
    3::bigint,
    'the decisions, the event and the command are written by the same transaction'
);

SELECT is(concord_test.submit('plain', 't_plain', '{}'), 'validated', 'a command of a type without policies is validated');

SELECT row_eq(
    $$SELECT (SELECT count(*) FROM concord.policy_decisions WHERE command_id = concord_test.id('plain')),
             (SELECT count(*) FROM concord.domain_events
              WHERE command_id = concord_test.id('plain') AND event_type = 'policies_evaluated'),
             (concord_test.command('plain')).policy_evaluation IS NULL$$,
    ROW(0::bigint, 0::bigint, true),
    'a type with no policies writes no decisions and no policies_evaluated event'
);

SELECT row_eq(
    $$SELECT error_class, error LIKE '%denied by c_deny%', error_detail ? 'policy_decisions', completed_at IS NOT NULL
      FROM concord_test.command('combo_dia')$$,
    ROW('policy_denied'::text, true, true, true),
    'deny -> failed with error_class policy_denied, the reasons in error, the decisions in error_detail'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.policy_decisions SET decision = 'allow' WHERE command_id = %L$$, concord_test.id('combo_dia')),
    'CN007', 'policy_decisions_are_not_updated',
    'CN007: policy_decisions cannot be updated'
);

SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.policy_decisions WHERE command_id = %L$$, concord_test.id('combo_dia')),
    'CN007', 'policy_decisions_are_not_updated',
    'CN007: policy_decisions cannot be deleted'
);

-- ===========================================================================
-- Executable policies: answers are checked, decisions name the code
-- ===========================================================================
CREATE FUNCTION concord_test.h_exec(command jsonb, context jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{"decision": "require_input", "missing_fields": [1, {"a": 2}]}'::jsonb $$;
DO $$ BEGIN
    PERFORM concord.register_policy('{"name": "h_exec", "function": "concord_test.h_exec"}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_exec_t", "async_required": true, "policy_checks": ["h_exec"]}');
END $$;
SELECT is(concord_test.submit('e1', 'h_exec_t', '{}'), 'failed',
          'missing_fields that are not field names make a malformed answer: deny');
CREATE OR REPLACE FUNCTION concord_test.h_exec(command jsonb, context jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{"decision": "allow"}'::jsonb $$;
SELECT is(concord_test.submit('e2', 'h_exec_t', '{}'), 'queued', 'the replaced function allows');
SELECT isnt(
    (SELECT d.policy_checksum FROM concord.policy_decisions AS d WHERE d.command_id = concord_test.id('e1')),
    (SELECT d.policy_checksum FROM concord.policy_decisions AS d WHERE d.command_id = concord_test.id('e2')),
    'the decisions of two function bodies carry different checksums'
);

SELECT * FROM finish();
ROLLBACK;
