-- Registration refuses what could never work (policy_spec_is_valid,
-- approval_type_spec_is_valid): unbound variables in any branch, paths that
-- are no predicate, approver paths with variables or outside the payload and
-- context, a kind that does not match, a declarative require_input without
-- its fields; by-name executable policies and the approvers shorthand.
BEGIN;
SELECT plan(14);

-- ===========================================================================
-- Registration refuses what could never work
-- ===========================================================================
SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "h_short", "predicate": "$.payload.x > 5 && $.payload.y > $limit",
                                       "decision": "deny"}')$$,
    'CN005', 'policy_spec_is_valid',
    'a variable in a branch an empty command short-circuits must still be bound'
);
SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "h_path", "predicate": "$.payload.total_price", "decision": "deny"}')$$,
    'CN005', 'policy_spec_is_valid',
    'a path that is not a predicate is refused'
);
SELECT cmp_ok(
    cardinality(regexp_split_to_array(concord_test.error_detail(
        $$SELECT concord.register_policy('{"name": 5, "predicate": 7, "decision": "bogus", "extra": 1}')$$), E'\n')),
    '>=', 4,
    'a bad name does not hide the spec''s other problems'
);
SELECT concord_test.throws_rule(
    $$SELECT concord.register_approval_type('{"name": "h_var", "approver": {"path": "$.payload.x ? (@ > $v)"}}')$$,
    'CN005', 'approval_type_spec_is_valid',
    'an approver path may not use variables'
);
SELECT concord_test.throws_rule(
    $$SELECT concord.register_approval_type('{"name": "h_where", "approver": {"path": "$.requested_by"}}')$$,
    'CN005', 'approval_type_spec_is_valid',
    'an approver path reads the payload or the context'
);

CREATE FUNCTION concord_test.h_named(command jsonb, context jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{"decision": "allow"}'::jsonb $$;
SELECT is(concord.register_policy('{"name": "concord_test.h_named"}'), 'concord_test.h_named',
          'an executable policy may be registered by its function''s name');
SELECT is((SELECT kind FROM concord.policies WHERE name = 'concord_test.h_named'), 'executable',
          'it is executable');
SELECT is(concord.register_approval_type('{"name": "h_short_hand", "approvers": ["ann", "bob"]}'), 'h_short_hand',
          '"approvers": [...] is short for approver principals');
SELECT is((SELECT approver_principals FROM concord.approval_types WHERE name = 'h_short_hand'), '{ann,bob}'::text[],
          'the principals are the approvers');

SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "concord_test.h_named", "kind": "declarative"}')$$,
    'CN005', 'policy_spec_is_valid', 'a kind that does not match is refused, by-name specs included'
);
SELECT is(
    (SELECT version FROM concord.policies WHERE name = 'concord_test.h_named'), 1, 'fixture: version 1'
);
SELECT lives_ok(
    $$SELECT concord.register_policy('{"name": "concord_test.h_named", "kind": "executable",
                                       "function": "concord_test.h_named"}')$$,
    'the same spec with a matching kind registers'
);
SELECT is(
    (SELECT version FROM concord.policies WHERE name = 'concord_test.h_named'), 1,
    'and changes nothing: kind is checked, not stored'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "h_vague_decl", "predicate": "$.payload.a > 1",
                                       "decision": "require_input"}')$$,
    'CN005', 'policy_spec_is_valid', 'a declarative policy that can require input must name the fields'
);

SELECT * FROM finish();
ROLLBACK;
