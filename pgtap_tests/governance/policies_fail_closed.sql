-- Policies fail closed (spec 21): a predicate that cannot be decided yields
-- on_unknown or the decision; an executable policy that raises or answers
-- something malformed denies; a policy name with no policy denies.
BEGIN;
SELECT plan(16);

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

DO $$ BEGIN
    PERFORM concord.register_policy('{"name": "p_exec", "function": "concord_test.policy_fn", "description": "test fn"}');
END $$;

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

DO $$ BEGIN
    PERFORM concord.add_team_member('team:fin', 'ann');
    PERFORM concord.add_team_member('team:fin', 'req');
    PERFORM concord.register_approval_type('{"name": "h_team", "approver": {"team": "team:fin"}}');
    PERFORM concord.register_policy(
        '{"name": "h_big", "predicate": "$.payload.price > $limit", "vars": {"limit": 500},
          "decision": "require_approval", "approval_type": "h_team"}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_book", "async_required": true, "policy_checks": ["h_big"],
          "required_inputs": ["price"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_input", "async_required": true, "policy_checks": ["required_inputs"],
          "required_inputs": ["price"]}');
END $$;

-- the contract a new command is judged under, and its catalog row, written
-- with the triggers off
SET LOCAL session_replication_role = replica;
UPDATE concord.command_types SET policy_checks = '{h_big,no_such_policy}' WHERE command_type = 'h_book';
UPDATE concord.registry_versions AS v SET manifest = jsonb_set(v.manifest, '{policy_checks}', '["h_big", "no_such_policy"]')
FROM concord.registry_bindings AS b INNER JOIN concord.registry_entities AS e ON b.entity_id = e.entity_id
WHERE v.version_id = b.version_id AND e.entity_type = 'command_type' AND e.name = 'h_book' AND b.status = 'active';
SET LOCAL session_replication_role = origin;
SELECT is(concord_test.submit('ghost', 'h_book', '{"price": 1}'), 'failed',
          'a policy name with no policy (written with triggers off) denies, recorded');
SELECT ok(
    (SELECT c.error LIKE '%no_such_policy%' FROM concord.commands AS c WHERE c.command_id = concord_test.id('ghost')),
    'and says which policy is missing'
);

CREATE FUNCTION concord_test.h_vague(command jsonb, context jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{"decision": "require_input"}'::jsonb $$;
CREATE FUNCTION concord_test.h_curt(command jsonb, context jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{"decision": "deny"}'::jsonb $$;
DO $$ BEGIN
    PERFORM concord.register_policy('{"name": "concord_test.h_vague"}');
    PERFORM concord.register_policy('{"name": "concord_test.h_curt"}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_vague_t", "async_required": true, "policy_checks": ["concord_test.h_vague"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_curt_t", "async_required": true, "policy_checks": ["concord_test.h_curt"]}');
END $$;
SELECT is(
    (SELECT s.status FROM concord.submit_command('h_vague_t', '{}', 'req') AS s), 'failed',
    'an executable policy asking for input without naming it is a malformed answer: deny'
);
SELECT is(
    (SELECT s.errors -> 0 ->> 'message' FROM concord.submit_command('h_curt_t', '{}', 'req') AS s),
    'policy concord_test.h_curt: deny', 'a denial without reasons still says which policy denied'
);

SELECT * FROM finish();
ROLLBACK;
