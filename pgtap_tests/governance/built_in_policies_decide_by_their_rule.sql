-- Each built-in policy decides by its own rule (spec 21): required_inputs asks
-- for missing inputs, external_sharing asks data owners about destinations
-- outside, risk asks for approval at high and critical levels, cost compares
-- the estimate with the budget, approval_required applies though not named.
BEGIN;
SELECT plan(26);

-- ===========================================================================
-- Built-in: required_inputs
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "t_ri", "required_inputs": ["a", "b"], "policy_checks": ["required_inputs"]}');
END $$;

SELECT is(concord_test.submit('ri_missing', 't_ri', '{"a": 1, "b": ""}'), 'waiting_for_input',
          'required_inputs: a missing (or blank) required input sends the command to waiting_for_input');

SELECT row_eq(
    $$SELECT policy_evaluation -> 'missing_fields', policy_evaluation ->> 'decision', error_class
      FROM concord_test.command('ri_missing')$$,
    ROW('["b"]'::jsonb, 'require_input'::text, NULL::text),
    'required_inputs: the evaluation is require_input with missing_fields ["b"] (not a validation failure)'
);

SELECT is(concord_test.submit('ri_present', 't_ri', '{"a": 1, "b": 2}'), 'queued',
          'required_inputs: all inputs present -> allow (queued)');

SELECT is((concord_test.command('ri_present')).policy_evaluation ->> 'decision', 'allow',
          'required_inputs: the evaluation of a complete payload is allow');

-- ===========================================================================
-- Built-in: external_sharing
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_ext", "policy_checks": ["external_sharing"]}');
END $$;

SELECT is(concord_test.submit('ext_mail', 't_ext', '{"destination": "someone@partner.example"}'), 'waiting_for_approval',
          'external_sharing: a destination with @ -> waiting_for_approval');

SELECT row_eq(
    $$SELECT a.approval_type, a.status, a.approver_team FROM concord.approvals AS a
      WHERE a.command_id = concord_test.id('ext_mail')$$,
    ROW('data_owner'::text, 'pending'::text, 'team:data_owners'::text),
    'external_sharing: one pending data_owner approval is opened for team:data_owners'
);

SELECT is(concord_test.submit('ext_prefix', 't_ext', '{"destination": "external:drive/folder"}'), 'waiting_for_approval',
          'external_sharing: a destination starting with external: -> waiting_for_approval');

SELECT is(concord_test.submit('ext_internal', 't_ext', '{"destination": "internal/reports"}'), 'queued',
          'external_sharing: an internal destination -> allow');

SELECT is(concord_test.submit('ext_array', 't_ext', '{"destination": ["internal/a", "x@y.example"]}'), 'waiting_for_approval',
          'external_sharing: one external string in an array of destinations -> waiting_for_approval');

SELECT is(concord_test.submit('ext_array_internal', 't_ext', '{"destination": ["internal/a", "internal/b"]}'), 'queued',
          'external_sharing: an array of internal destinations -> allow');

-- ===========================================================================
-- Built-in: risk
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_risk_high", "risk_level": "high", "policy_checks": ["risk"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_risk_owned", "risk_level": "critical", "approval_type": "data_owner", "policy_checks": ["risk"]}');
    PERFORM concord.register_command_type('{"command_type": "t_risk_low", "risk_level": "low", "policy_checks": ["risk"]}');
END $$;

SELECT is(concord_test.submit('risk_high', 't_risk_high', '{}'), 'waiting_for_approval',
          'risk: a high-risk type -> waiting_for_approval');
SELECT is((SELECT array_agg(approval_type) FROM concord.approvals WHERE command_id = concord_test.id('risk_high')),
          ARRAY['standard'], 'risk: without a type approval_type the approval is standard');
SELECT is(concord_test.submit('risk_owned', 't_risk_owned', '{}'), 'waiting_for_approval',
          'risk: a critical-risk type -> waiting_for_approval');
SELECT is((SELECT array_agg(approval_type) FROM concord.approvals WHERE command_id = concord_test.id('risk_owned')),
          ARRAY['data_owner'], 'risk: the command type''s approval_type is used when set');
SELECT is(concord_test.submit('risk_low', 't_risk_low', '{}'), 'queued', 'risk: a low-risk type -> allow');

-- ===========================================================================
-- Built-in: cost
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_cost_free", "policy_checks": ["cost"]}');
    PERFORM concord.register_command_type('{"command_type": "t_cost", "cost_budget": 100, "policy_checks": ["cost"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_cost_deny", "cost_budget": 100, "over_budget": "deny", "policy_checks": ["cost"]}');
END $$;

SELECT is(concord_test.submit('cost_free', 't_cost_free', '{"estimated_cost": 1000000}'), 'queued',
          'cost: no budget -> allow');
SELECT is(concord_test.submit('cost_under', 't_cost', '{"estimated_cost": 50}'), 'queued',
          'cost: an estimate under the budget -> allow');
SELECT is(concord_test.submit('cost_over', 't_cost', '{"estimated_cost": 150}'), 'waiting_for_approval',
          'cost: above the budget with over_budget require_approval -> waiting_for_approval');
SELECT is(concord_test.submit('cost_over_deny', 't_cost_deny', '{"estimated_cost": 150}'), 'failed',
          'cost: above the budget with over_budget deny -> failed');
SELECT is((concord_test.command('cost_over_deny')).error_class, 'policy_denied',
          'cost: the over-budget denial is policy_denied');
SELECT is(concord_test.submit('cost_missing', 't_cost', '{}'), 'waiting_for_input',
          'cost: a budget and no estimate -> waiting_for_input');
SELECT is((concord_test.command('cost_missing')).policy_evaluation -> 'missing_fields', '["estimated_cost"]'::jsonb,
          'cost: the missing field is estimated_cost');
SELECT is(concord_test.submit('cost_ctx_under', 't_cost', '{}', 'alice', '{"estimated_cost": 20}'), 'queued',
          'cost: an estimate in the context is used (under budget -> allow)');
SELECT is(concord_test.submit('cost_ctx_over', 't_cost', '{}', 'alice', '{"estimated_cost": 200}'), 'waiting_for_approval',
          'cost: an estimate in the context is used (over budget -> waiting_for_approval)');

-- ===========================================================================
-- Built-in: approval_required (applied even when not named)
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_flagged", "approval_required": true}');
END $$;

SELECT is(concord_test.submit('flagged', 't_flagged', '{}'), 'waiting_for_approval',
          'approval_required: a flagged type with no policy_checks -> waiting_for_approval');
SELECT row_eq(
    $$SELECT policy_evaluation -> 'policies' -> 0 ->> 'policy', policy_evaluation -> 'approval_types',
             (SELECT count(*) FROM concord.approvals WHERE command_id = concord_test.id('flagged'))
      FROM concord_test.command('flagged')$$,
    ROW('approval_required'::text, '["standard"]'::jsonb, 1::bigint),
    'approval_required: the policy is applied though not named; one standard approval is opened'
);

SELECT * FROM finish();
ROLLBACK;
