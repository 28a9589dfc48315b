-- Policies (spec 21, 32): register_policy (declarative, executable, built-in
-- config), policy names checked on command types, each built-in policy, the
-- combination deny > require_input > require_approval > allow, decision
-- records and the policies_evaluated event, fail-closed evaluation,
-- evaluate_policies, the database guards and the error taxonomy.
BEGIN;
SELECT plan(131);

-- An executable policy: answers what the payload asks for.
CREATE FUNCTION concord_test.policy_fn(doc jsonb, context jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    CASE doc #>> '{payload,mode}'
    WHEN 'raise' THEN
        RAISE EXCEPTION 'policy exploded';
    WHEN 'garbage' THEN
        RETURN '"not an object"'::jsonb;
    WHEN 'bad_decision' THEN
        RETURN '{"decision": "perhaps"}'::jsonb;
    WHEN 'unknown_approval' THEN
        RETURN '{"decision": "require_approval", "approval_type": "no_such_approval_type"}'::jsonb;
    ELSE
        RETURN jsonb_build_object('decision', coalesce(doc #>> '{payload,decision}', 'allow'),
                                  'reasons', jsonb_build_array('policy_fn says so'));
    END CASE;
END
$$;

CREATE FUNCTION concord_test.policy_one_arg(doc jsonb)
RETURNS jsonb
LANGUAGE sql
AS $$ SELECT '{"decision": "allow"}'::jsonb $$;

CREATE FUNCTION concord_test.policy_text(doc jsonb, context jsonb)
RETURNS text
LANGUAGE sql
AS $$ SELECT 'allow' $$;

-- ===========================================================================
-- register_policy: declarative
-- ===========================================================================
SELECT is(
    concord.register_policy(
        '{"name": "p_limit", "description": "big ones are denied", "predicate": "$.payload.total > $limit",
          "vars": {"limit": 500}, "decision": "deny", "reasons": ["total above 500"]}'),
    'p_limit',
    'register_policy registers a valid declarative policy and returns its name'
);

SELECT row_eq(
    $$SELECT kind, version, checksum = md5(spec::text), predicate::text, vars, decision, reasons
      FROM concord.policies WHERE name = 'p_limit'$$,
    ROW('declarative'::text, 1, true, '($."payload"."total" > $"limit")'::text, '{"limit": 500}'::jsonb,
        'deny'::text, '{"total above 500"}'::text[]),
    'the declarative policy is stored at version 1 with checksum md5(spec), predicate, vars, decision, reasons'
);

SELECT throws_ok(
    $$SELECT concord.register_policy(
        '{"name": "p_bad", "predicate": "$.payload.x >", "decision": "maybe", "reasons": "x", "foo": 1}')$$,
    'CN005', 'invalid policy spec: 4 problem(s)',
    'CN005: a bad declarative spec is refused with the count of its problems'
);

SELECT is(
    (SELECT array_agg(l ORDER BY l) FROM regexp_split_to_table(concord_test.error_detail(
        $$SELECT concord.register_policy(
            '{"name": "p_bad", "predicate": "$.payload.x >", "decision": "maybe", "reasons": "x", "foo": 1}')$$),
        E'\n') AS l
     WHERE l LIKE '- %'
       AND (l LIKE '%decision must be%' OR l LIKE '%unknown field foo%'
            OR l LIKE '%not a valid SQL/JSON path%' OR l LIKE '%reasons must be%')) IS NOT NULL
    AND cardinality(regexp_split_to_array(concord_test.error_detail(
        $$SELECT concord.register_policy(
            '{"name": "p_bad", "predicate": "$.payload.x >", "decision": "maybe", "reasons": "x", "foo": 1}')$$),
        E'\n')) = 4,
    true,
    'the CN005 DETAIL lists every problem, one "- ..." line each'
);

SELECT matches(
    concord_test.error_detail(
        $$SELECT concord.register_policy(
            '{"name": "p_bad", "predicate": "$.payload.x >", "decision": "maybe", "reasons": "x", "foo": 1}')$$),
    '(?s)decision must be.*unknown field foo.*not a valid SQL/JSON path.*reasons must be',
    'the DETAIL names the bad decision, the unknown field, the bad path and the bad reasons'
);

SELECT throws_ok(
    $$SELECT concord.register_policy('{"name": "p_path", "predicate": "$.payload.x >>> 3", "decision": "deny"}')$$,
    'CN005', 'invalid policy spec: 1 problem(s)',
    'CN005: a predicate that is not a SQL/JSON path is refused'
);

SELECT throws_ok(
    $$SELECT concord.register_policy('{"name": "p_unbound", "predicate": "$.payload.x > $limit", "decision": "deny"}')$$,
    'CN005', 'invalid policy spec: 1 problem(s)',
    'CN005: a predicate with an unbound variable is refused'
);

SELECT matches(
    concord_test.error_detail(
        $$SELECT concord.register_policy('{"name": "p_unbound", "predicate": "$.payload.x > $limit", "decision": "deny"}')$$),
    'limit',
    'the unbound variable is named in the DETAIL'
);

SELECT throws_ok(
    $$SELECT concord.register_policy('{"name": "p_noat", "predicate": "$.payload.x > 1", "decision": "require_approval"}')$$,
    'CN005', 'invalid policy spec: 1 problem(s)',
    'CN005: a require_approval policy without approval_type is refused'
);

SELECT matches(
    concord_test.error_detail(
        $$SELECT concord.register_policy('{"name": "p_noat", "predicate": "$.payload.x > 1", "decision": "require_approval"}')$$),
    'approval_type',
    'the DETAIL says the approval_type is missing'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "p_nopred", "decision": "deny"}')$$,
    'CN005', 'policy_spec_is_valid',
    'CN005: a declarative policy without a predicate is refused'
);

SELECT is(
    (SELECT count(*) FROM concord.policies WHERE name IN ('p_bad', 'p_path', 'p_unbound', 'p_noat', 'p_nopred')),
    0::bigint,
    'refused specs register nothing'
);

-- versions and checksums
SELECT is(
    concord.register_policy(
        '{"name": "p_limit", "description": "big ones are denied", "predicate": "$.payload.total > $limit",
          "vars": {"limit": 500}, "decision": "deny", "reasons": ["total above 500"]}'),
    'p_limit',
    'registering the identical spec again returns the name'
);

SELECT row_eq(
    $$SELECT version, (SELECT count(*) FROM concord.domain_events
                       WHERE event_type = 'policy_registered' AND target_id = 'p_limit')
      FROM concord.policies WHERE name = 'p_limit'$$,
    ROW(1, 1::bigint),
    'an identical re-registration is a no-op: still version 1, one policy_registered event'
);

CREATE TEMP TABLE old_limit AS SELECT checksum FROM concord.policies WHERE name = 'p_limit';

SELECT is(
    concord.register_policy(
        '{"name": "p_limit", "description": "big ones are denied", "predicate": "$.payload.total > $limit",
          "vars": {"limit": 700}, "decision": "deny", "reasons": ["total above 700"]}'),
    'p_limit',
    'a changed spec is registered under the same name'
);

SELECT row_eq(
    $$SELECT p.version, p.checksum <> o.checksum, p.checksum = md5(p.spec::text), p.vars
      FROM concord.policies AS p, old_limit AS o WHERE p.name = 'p_limit'$$,
    ROW(2, true, true, '{"limit": 700}'::jsonb),
    'a changed spec bumps the version to 2 and changes the checksum'
);

-- ===========================================================================
-- register_policy: executable
-- ===========================================================================
SELECT is(
    concord.register_policy('{"name": "p_exec", "function": "concord_test.policy_fn", "description": "test fn"}'),
    'p_exec',
    'register_policy registers an executable policy naming a (jsonb, jsonb) returns jsonb function'
);

SELECT row_eq(
    $$SELECT kind, function_name, version FROM concord.policies WHERE name = 'p_exec'$$,
    ROW('executable'::text, 'concord_test.policy_fn(jsonb,jsonb)'::text, 1),
    'the executable policy records its function'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "p_one", "function": "concord_test.policy_one_arg"}')$$,
    'CN005', 'policy_spec_is_valid',
    'CN005: a function with the wrong signature (one argument) is refused'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "p_text", "function": "concord_test.policy_text"}')$$,
    'CN005', 'policy_spec_is_valid',
    'CN005: a function returning text instead of jsonb is refused'
);

SELECT matches(
    concord_test.error_detail($$SELECT concord.register_policy('{"name": "p_text", "function": "concord_test.policy_text"}')$$),
    'must return a single jsonb',
    'the DETAIL says the function must return jsonb'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "p_none", "function": "concord_test.no_such_fn"}')$$,
    'CN005', 'policy_spec_is_valid',
    'CN005: a function that does not exist is refused'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "p_mixed", "function": "concord_test.policy_fn", "predicate": "true"}')$$,
    'CN005', 'policy_spec_is_valid',
    'CN005: an executable policy takes no predicate'
);

-- ===========================================================================
-- Built-in names only accept config (tested at the end for a change)
-- ===========================================================================
SELECT throws_ok(
    $$SELECT concord.register_policy('{"name": "risk", "predicate": "true", "decision": "deny"}')$$,
    'CN005', 'invalid policy spec: 2 problem(s)',
    'CN005: a built-in name cannot be redefined as a declarative policy'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "permission", "function": "concord_test.policy_fn"}')$$,
    'CN005', 'policy_spec_is_valid',
    'CN005: a built-in name cannot be redefined as an executable policy'
);

SELECT throws_ok(
    $$SELECT concord.register_policy('{"name": "risk", "config": {"levels": ["extreme"], "colour": "red"}}')$$,
    'CN005', 'invalid policy spec: 2 problem(s)',
    'CN005: a built-in config with unknown keys and bad levels is refused, both problems listed'
);

-- ===========================================================================
-- Command types must name registered policies
-- ===========================================================================
SELECT concord_test.throws_rule(
    $$SELECT concord.register_command_type('{"command_type": "t_unknown_policy", "policy_checks": ["no_such_policy"]}')$$,
    'CN005', 'command_type_spec_is_valid',
    'CN005: register_command_type refuses a policy_checks entry that is not a registered policy'
);

SELECT matches(
    concord_test.error_detail(
        $$SELECT concord.register_command_type('{"command_type": "t_unknown_policy", "policy_checks": ["no_such_policy"]}')$$),
    'no_such_policy',
    'the DETAIL names the unregistered policy'
);

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.command_types (command_type, name, policy_checks) VALUES ('t_direct', 't_direct', '{no_such_policy}')$$,
    'CN005', 'policy_checks_name_registered_policies',
    'CN005: a direct INSERT of a command type naming an unregistered policy is refused'
);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_plain", "sync_allowed": true}');
END $$;

SELECT concord_test.throws_rule(
    $$UPDATE concord.command_types SET policy_checks = '{no_such_policy}' WHERE command_type = 't_plain'$$,
    'CN005', 'policy_checks_name_registered_policies',
    'CN005: a direct UPDATE of a command type naming an unregistered policy is refused'
);

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
-- Built-in: permission, grants and teams
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_perm", "policy_checks": ["permission"]}');
END $$;

SELECT is(concord_test.submit('perm_none', 't_perm', '{}', 'bob'), 'failed',
          'permission: no grant -> failed');

SELECT row_eq(
    $$SELECT error_class, error LIKE '%bob holds no grant%', policy_evaluation ->> 'decision'
      FROM concord_test.command('perm_none')$$,
    ROW('policy_denied'::text, true, 'deny'::text),
    'permission: the denial has error_class policy_denied and the reason as error'
);

SELECT is(concord.grant_command_type('t_perm', 'bob'), true, 'grant_command_type returns true when it grants');
SELECT is(concord.grant_command_type('t_perm', 'bob'), false, 'grant_command_type again returns false (idempotent)');

SELECT is(concord_test.submit('perm_direct', 't_perm', '{}', 'bob'), 'queued',
          'permission: a direct grant -> allow (queued)');

SELECT is(concord.add_team_member('team:perm', 'carol'), true, 'add_team_member returns true when it adds');
SELECT is(concord.add_team_member('team:perm', 'carol'), false, 'add_team_member again returns false');
SELECT is(concord.grant_command_type('t_perm', 'team:perm'), true, 'a team can be granted a command type');

SELECT is(concord_test.submit('perm_team', 't_perm', '{}', 'carol'), 'queued',
          'permission: a grant to a team the requester belongs to -> allow');

SELECT is(concord.revoke_command_type('t_perm', 'team:perm'), true, 'revoke_command_type returns true when it revokes');
SELECT is(concord.revoke_command_type('t_perm', 'team:perm'), false, 'revoke_command_type again returns false');

SELECT is(concord_test.submit('perm_revoked', 't_perm', '{}', 'carol'), 'failed',
          'permission: after the revoke the team member is denied again');

SELECT is(concord.remove_team_member('team:perm', 'carol'), true, 'remove_team_member returns true when it removes');
SELECT is(concord.remove_team_member('team:perm', 'carol'), false, 'remove_team_member again returns false');

SELECT is(
    (SELECT array_agg(event_type || ':' || (payload ->> 'principal') ORDER BY event_seq)
     FROM concord.domain_events WHERE target_type = 'command_type' AND target_id = 't_perm'
       AND event_type IN ('command_type_granted', 'command_type_revoked')),
    ARRAY['command_type_granted:bob', 'command_type_granted:team:perm', 'command_type_revoked:team:perm'],
    'grants and revokes are audited once each (not the no-op repeats)'
);

SELECT concord_test.throws_rule($$SELECT concord.grant_command_type('t_no_such_type', 'bob')$$, 'CN009', 'command_type_is_registered',
                 'CN009: grant_command_type of an unknown command type');
SELECT concord_test.throws_rule($$SELECT concord.revoke_command_type('t_no_such_type', 'bob')$$, 'CN009', 'command_type_is_registered',
                 'CN009: revoke_command_type of an unknown command type');
SELECT concord_test.throws_rule($$SELECT concord.grant_command_type('t_perm', ' ')$$, 'CN008', 'required_argument_is_not_blank',
                 'CN008: grant_command_type to a blank principal');

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

-- ===========================================================================
-- Fail closed: a predicate that cannot be decided
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_policy(
        '{"name": "u_deny", "predicate": "$.payload.n > 5", "decision": "deny", "reasons": ["n above 5"]}');
    PERFORM concord.register_policy(
        '{"name": "u_allow", "predicate": "$.payload.n > 5", "decision": "deny", "on_unknown": "allow"}');
    PERFORM concord.register_policy(
        '{"name": "u_input", "predicate": "$.payload.n > 5", "decision": "deny", "on_unknown": "require_input",
          "missing_fields": ["n"]}');
    PERFORM concord.register_command_type('{"command_type": "t_unk", "policy_checks": ["u_deny"]}');
    PERFORM concord.register_command_type('{"command_type": "t_unk_allow", "policy_checks": ["u_allow"]}');
    PERFORM concord.register_command_type('{"command_type": "t_unk_input", "policy_checks": ["u_input"]}');
END $$;

SELECT is(concord_test.submit('unk_small', 't_unk', '{"n": 1}'), 'queued', 'a false predicate allows');
SELECT is(concord_test.submit('unk_big', 't_unk', '{"n": 9}'), 'failed', 'a true predicate yields the decision');
SELECT is(concord_test.submit('unk_input', 't_unk_input', '{"n": "lots"}'), 'waiting_for_input',
          'an undecidable predicate yields on_unknown when given (require_input)');

-- ===========================================================================
-- Executable policies at evaluation time
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_exec", "policy_checks": ["p_exec"]}');
END $$;

SELECT is(concord_test.submit('exec_allow', 't_exec', '{"decision": "allow"}'), 'queued',
          'an executable policy answering allow -> queued');
SELECT is(concord_test.submit('exec_deny', 't_exec', '{"decision": "deny"}'), 'failed',
          'an executable policy answering deny -> failed');
SELECT is((concord_test.command('exec_deny')).error LIKE '%policy_fn says so%', true, 'its reasons are the error');
SELECT is(concord_test.submit('exec_raise', 't_exec', '{"mode": "raise"}'), 'failed',
          'an executable policy that raises -> deny (fail closed)');
SELECT is((concord_test.command('exec_raise')).error LIKE '%policy exploded%', true,
          'the error of the raising function is the reason');
SELECT is(concord_test.submit('exec_garbage', 't_exec', '{"mode": "garbage"}'), 'failed',
          'an executable policy returning something that is not an object -> deny');
SELECT is(concord_test.submit('exec_bad_decision', 't_exec', '{"mode": "bad_decision"}'), 'failed',
          'an executable policy returning an unknown decision -> deny');
SELECT is(concord_test.submit('exec_unknown_approval', 't_exec', '{"mode": "unknown_approval"}'), 'failed',
          'an executable policy asking for an unregistered approval type -> deny');
SELECT is((concord_test.command('exec_garbage')).error_class, 'policy_denied', 'a malformed answer is policy_denied');

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

-- ===========================================================================
-- Database guards
-- ===========================================================================
SELECT concord_test.command_at('t_perm', 'validated', 'never_evaluated') IS NOT NULL AS fixture \gset

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'queued' WHERE command_id = %L$$, concord_test.id('never_evaluated')),
    'CN001', 'a_governed_command_moves_on_only_when_its_policies_allow',
    'CN001: a direct UPDATE validated -> queued of a governed command never evaluated'
);

SELECT is(concord_test.submit('guard_input', 't_ri', '{"a": 1}'), 'waiting_for_input', 'fixture: waiting for input');
SELECT concord.transition_command(concord_test.id('guard_input'), 'validated', 'fixture') AS fixture \gset

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'queued' WHERE command_id = %L$$, concord_test.id('guard_input')),
    'CN001', 'a_governed_command_moves_on_only_when_its_policies_allow',
    'CN001: a direct UPDATE validated -> queued when the latest evaluation was require_input'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'running', 'worker')$$, concord_test.id('guard_input')),
    'CN001', 'a_governed_command_moves_on_only_when_its_policies_allow',
    'CN001: transition_command validated -> running when the latest evaluation did not allow'
);

DO $$ BEGIN
    PERFORM concord.grant_command_type('t_perm_sync', 'erin');
END $$;
SELECT is(concord_test.submit('guard_allowed', 't_perm_sync', '{}', 'erin'), 'validated', 'fixture: allowed and validated');

SELECT lives_ok(
    format($$UPDATE concord.commands SET status = 'queued' WHERE command_id = %L$$, concord_test.id('guard_allowed')),
    'a direct UPDATE validated -> queued is allowed when the latest evaluation allowed'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', 'operator')$$, concord_test.id('perm_none')),
    'CN001', 'a_logical_failure_is_not_retried',
    'CN001: a policy_denied failure cannot be retried (failed -> queued)'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'queued' WHERE command_id = %L$$, concord_test.id('perm_none')),
    'CN001', 'a_logical_failure_is_not_retried',
    'CN001: nor by a direct UPDATE'
);

SELECT concord_test.command_at('t_plain', 'running', 'retryable') IS NOT NULL AS fixture \gset
SELECT concord.transition_command(concord_test.id('retryable'), 'failed', 'worker', 'slow', NULL, 'slow', 'timeout')
    AS fixture \gset

SELECT is(concord.transition_command(concord_test.id('retryable'), 'queued', 'operator'), 'queued',
          'a failure with a retryable error_class (timeout) can be retried');

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
-- Error taxonomy
-- ===========================================================================
SELECT set_eq(
    $$SELECT error_class FROM concord.error_classes WHERE retryable$$,
    ARRAY['transient_connector_error', 'rate_limited', 'timeout', 'temporary_database_error'],
    'the retryable error classes are the four of the contract'
);

SELECT set_has(
    $$SELECT error_class FROM concord.error_classes WHERE NOT retryable$$,
    $$VALUES ('validation_error'), ('policy_denied'), ('approval_rejected'), ('approval_expired'),
             ('permission_denied'), ('malformed_payload'), ('dependency_failed'), ('cancelled')$$,
    'the non-retryable error classes of the contract are seeded'
);

SELECT concord_test.command_at('t_plain', 'running', 'bad_class') IS NOT NULL AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'failed', 'worker', 'x', NULL, 'x', 'no_such_class')$$,
           concord_test.id('bad_class')),
    'CN008', 'error_class_is_known',
    'CN008: an unknown error_class via transition_command is refused'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'failed', error = 'x', error_class = 'no_such_class'
             WHERE command_id = %L$$, concord_test.id('bad_class')),
    '23503', 'commands_error_class_is_known',
    'an unknown error_class written directly on a command is refused (foreign_key_violation)'
);

INSERT INTO concord_test.fixture
SELECT 'effect', concord.plan_effect(concord_test.id('bad_class'), 'email.send', '{}');
SELECT concord.start_effect(concord_test.id('effect'), 'wf-1') AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.fail_effect(%L, 'x', 'no_such_class')$$, concord_test.id('effect')),
    'CN008', 'error_class_is_known',
    'CN008: an unknown error_class via fail_effect is refused'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.domain_effects SET status = 'failed', error = 'x', error_class = 'no_such_class'
             WHERE domain_effect_id = %L$$, concord_test.id('effect')),
    '23503', 'domain_effects_error_class_is_known',
    'an unknown error_class written directly on an effect is refused (foreign_key_violation)'
);

SELECT is(concord.fail_effect(concord_test.id('effect'), 'slow', 'timeout'), 'failed',
          'fail_effect with a known error_class works');

-- ===========================================================================
-- Built-in policies: only config changes (last: it changes the risk policy)
-- ===========================================================================
CREATE TEMP TABLE old_risk AS SELECT version, checksum FROM concord.policies WHERE name = 'risk';

SELECT is(concord.register_policy('{"name": "risk", "config": {"levels": ["critical"], "approval_type": "standard"}}'),
          'risk', 'a built-in policy accepts a new config');

SELECT row_eq(
    $$SELECT p.kind, p.config, p.version = o.version + 1, p.checksum <> o.checksum
      FROM concord.policies AS p, old_risk AS o WHERE p.name = 'risk'$$,
    ROW('builtin'::text, '{"levels": ["critical"], "approval_type": "standard"}'::jsonb, true, true),
    'the built-in stays built in with the new config, a new version and checksum'
);

SELECT is(concord_test.submit('risk_high_after', 't_risk_high', '{}'), 'queued',
          'the new config is applied: high is no longer a risk level that needs approval');

SELECT * FROM finish();
ROLLBACK;
