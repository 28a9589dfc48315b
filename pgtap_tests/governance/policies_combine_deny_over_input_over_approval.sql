-- Policies combine as deny > require_input > require_approval > allow
-- (spec 21); the evaluation keeps each policy's own decision.
BEGIN;
SELECT plan(9);

-- ===========================================================================
-- Combination: deny > require_input > require_approval > allow
-- ===========================================================================
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

SELECT is(concord_test.submit('combo_di', 't_combo', '{"d": true, "i": true}')
          || '/' || ((concord_test.command('combo_di')).policy_evaluation ->> 'decision'),
          'failed/deny', 'deny beats require_input');
SELECT is(concord_test.submit('combo_da', 't_combo', '{"d": true, "a": true}')
          || '/' || ((concord_test.command('combo_da')).policy_evaluation ->> 'decision'),
          'failed/deny', 'deny beats require_approval');
SELECT is(concord_test.submit('combo_ia', 't_combo', '{"i": true, "a": true}')
          || '/' || ((concord_test.command('combo_ia')).policy_evaluation ->> 'decision'),
          'waiting_for_input/require_input', 'require_input beats require_approval');
SELECT is((SELECT count(*) FROM concord.approvals WHERE command_id = concord_test.id('combo_ia')), 0::bigint,
          'require_input beating require_approval opens no approval');
SELECT is(concord_test.submit('combo_a', 't_combo', '{"a": true}')
          || '/' || ((concord_test.command('combo_a')).policy_evaluation ->> 'decision'),
          'waiting_for_approval/require_approval', 'require_approval beats allow');
SELECT is(concord_test.submit('combo_none', 't_combo', '{}')
          || '/' || ((concord_test.command('combo_none')).policy_evaluation ->> 'decision'),
          'queued/allow', 'all policies allow -> allow');
SELECT is(concord_test.submit('combo_dia', 't_combo', '{"d": true, "i": true, "a": true}')
          || '/' || ((concord_test.command('combo_dia')).policy_evaluation ->> 'decision'),
          'failed/deny', 'deny beats everything');

SELECT is(
    (SELECT array_agg(p ->> 'policy' || '=' || (p ->> 'decision'))
     FROM jsonb_array_elements((concord_test.command('combo_ia')).policy_evaluation -> 'policies') AS p),
    ARRAY['c_deny=allow', 'c_input=require_input', 'c_appr=require_approval'],
    'the evaluation keeps each policy''s own decision, in policy_checks order'
);

SELECT is((concord_test.command('combo_ia')).policy_evaluation -> 'missing_fields', '["extra"]'::jsonb,
          'require_input carries the policy''s missing_fields');

SELECT * FROM finish();
ROLLBACK;
