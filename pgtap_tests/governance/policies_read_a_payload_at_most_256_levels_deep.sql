-- Policies read a payload and a context nested at most 256 levels deep: a
-- deeper one is denied by every policy of its command, recorded like any
-- denial, whichever way it reaches the policies (submit_command, provide_input,
-- evaluate_policies), never a raw stack depth error (54001). A policy that
-- exhausts the stack on its own denies too.
BEGIN;
SELECT plan(15);

-- A value whose string lies depth - 1 arrays down: under a payload key, the
-- string is depth levels below the payload (which is level 0).
CREATE FUNCTION pg_temp.nested(depth integer, leaf text DEFAULT 'a@b.example')
RETURNS jsonb
LANGUAGE sql
AS $$ SELECT (repeat('[', depth - 1) || to_jsonb(leaf)::text || repeat(']', depth - 1))::jsonb $$;

CREATE FUNCTION concord_test.bottomless(command jsonb, context jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN concord_test.bottomless(command, context);
END
$$;

DO $$ BEGIN
    PERFORM concord.register_policy(
        '{"name": "walks_everything", "predicate": "exists($.payload.** ? (@ == \"forbidden\"))",
          "decision": "deny", "reasons": ["forbidden somewhere"]}');
    PERFORM concord.register_policy('{"name": "bottomless", "function": "concord_test.bottomless"}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_walk", "async_required": true, "policy_checks": ["walks_everything"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_share_deep", "async_required": true, "policy_checks": ["external_sharing"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_bottomless", "async_required": true, "policy_checks": ["bottomless"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_deep_input", "async_required": true, "required_inputs": ["more"],
          "policy_checks": ["required_inputs", "walks_everything"]}');
    PERFORM concord.register_command_type('{"command_type": "t_later", "sync_allowed": true}');
END $$;

-- ===========================================================================
-- submit_command
-- ===========================================================================
SELECT is(concord_test.submit('at_limit', 't_walk', jsonb_build_object('x', pg_temp.nested(256))), 'queued',
          'a payload 256 levels deep is read by its policies');
SELECT is(concord_test.submit('past_limit', 't_walk', jsonb_build_object('x', pg_temp.nested(257))), 'failed',
          'a payload 257 levels deep is denied');
SELECT is(concord_test.submit('far_past', 't_walk', jsonb_build_object('x', pg_temp.nested(10000))), 'failed',
          'a payload 10000 levels deep under a policy that walks it is denied, not a raw 54001');
SELECT row_eq(
    $$SELECT c.status, c.error_class, c.error, d.decision, d.reasons
      FROM concord.commands AS c INNER JOIN concord.policy_decisions AS d USING (command_id)
      WHERE c.command_id = concord_test.id('far_past')$$,
    ROW('failed'::text, 'policy_denied'::text,
        'policy denied: the payload is nested more than 256 levels deep; policies read at most 256 levels'::text,
        'deny'::text, '["the payload is nested more than 256 levels deep; policies read at most 256 levels"]'::jsonb),
    'the denial is recorded with the limit as its reason'
);
SELECT is(concord_test.submit('share_deep', 't_share_deep', jsonb_build_object('destination', pg_temp.nested(10000))),
          'failed', 'the built-in external_sharing denies a destination nested 10000 levels deep');
SELECT is(concord_test.submit('share_shallow', 't_share_deep', jsonb_build_object('destination', pg_temp.nested(200))),
          'waiting_for_approval', 'and still finds an address nested 200 levels deep');
SELECT is(
    concord_test.submit('deep_context', 't_walk', '{}', 'req', jsonb_build_object('trail', pg_temp.nested(5000))),
    'failed', 'a context nested too deeply is denied too'
);
SELECT ok(
    (concord_test.command('deep_context')).error LIKE '%the context is nested more than 256 levels deep%',
    'and the reason names the context'
);

-- ===========================================================================
-- A policy that exhausts the stack by itself
-- ===========================================================================
SELECT is(concord_test.submit('bottomless', 't_bottomless', '{}'), 'failed',
          'an executable policy that recurses until the stack is exhausted denies');
SELECT ok(
    (SELECT d.reasons ->> 0 LIKE '%failed: stack depth limit exceeded%' FROM concord.policy_decisions AS d
     WHERE d.command_id = concord_test.id('bottomless')),
    'its recorded reason is the stack error'
);

-- ===========================================================================
-- provide_input
-- ===========================================================================
SELECT is(concord_test.submit('asks', 't_deep_input', '{}'), 'waiting_for_input', 'fixture: waiting for input');
SELECT is(
    (SELECT r ->> 'status' FROM concord.provide_input(concord_test.id('asks'),
                                                       jsonb_build_object('more', pg_temp.nested(300)), 'req') AS r),
    'failed', 'input that leaves the payload nested too deeply is denied when the policies run again'
);
SELECT is(
    (SELECT count(*) FROM concord.policy_decisions AS d
     WHERE d.command_id = concord_test.id('asks') AND d.decision = 'deny'
       AND d.reasons ->> 0 LIKE 'the payload is nested more than 256 levels deep%'),
    2::bigint, 'every policy of the command records the denial'
);

-- ===========================================================================
-- evaluate_policies
-- ===========================================================================
SELECT is(concord_test.submit('later', 't_later', jsonb_build_object('x', pg_temp.nested(9000))), 'validated',
          'fixture: a deep payload of a type without policies is validated');
DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "t_later", "sync_allowed": true, "policy_checks": ["walks_everything"]}');
END $$;
-- 'later' keeps the contract it was judged under (no policy); a new command
-- is judged under the version that has one
SELECT is(concord_test.submit('later_governed', 't_later', jsonb_build_object('x', pg_temp.nested(9000))), 'failed',
          'a deep payload is denied once a policy governs its type, no raw 54001');

SELECT * FROM finish();
ROLLBACK;
