-- Policies are checked at registration (spec 21, policy_spec_is_valid,
-- policy_checks_name_registered_policies): a declarative policy needs a
-- SQL/JSON path predicate with its variables bound, an executable one a
-- (jsonb, jsonb) returns jsonb function; every problem is listed; an
-- identical spec is a no-op, a changed one a new version; built-in names take
-- only config; command types name registered policies only.
BEGIN;
SELECT plan(33);

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

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_risk_high", "risk_level": "high", "policy_checks": ["risk"]}');
END $$;

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
