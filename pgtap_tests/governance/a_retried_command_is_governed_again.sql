-- No path goes around policy and approval (spec 21, 22): a command that
-- failed before its approval or input is not retried into queued; an allowed
-- or approved one is; a command waits for approval only when its policies
-- asked for one.
BEGIN;
SELECT plan(15);

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

-- ===========================================================================
-- No way around policy or approval through a failure and a retry
-- ===========================================================================
SELECT is(concord_test.submit('gated', 'h_book', '{"price": 900}'), 'waiting_for_approval', 'fixture: gated');
SELECT lives_ok(
    format($$SELECT concord_test.move_as_run(%L, 'failed', 'mallory', null, null, 'x', 'timeout')$$,
           concord_test.id('gated')),
    'a command waiting for approval can fail (retryable class)'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', 'mallory')$$, concord_test.id('gated')),
    'CN001', 'a_governed_command_moves_on_only_when_its_policies_allow',
    'but its retry is refused: its approval was never granted'
);
SELECT is(concord_test.submit('waits', 'h_input', '{}'), 'waiting_for_input', 'fixture: waiting for input');
SELECT lives_ok(
    format($$SELECT concord.transition_command(%L, 'validated', 'mallory');
             SELECT concord_test.move_as_run(%L, 'failed', 'mallory', null, null, 'x')$$,
           concord_test.id('waits'), concord_test.id('waits')),
    'a command waiting for input can be moved to validated and fail without a class'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', 'mallory')$$, concord_test.id('waits')),
    'CN001', 'a_governed_command_moves_on_only_when_its_policies_allow',
    'and its retry is refused: its policies asked for input'
);
SELECT is(concord_test.submit('allowed', 'h_book', '{"price": 10}'), 'queued', 'fixture: allowed');
SELECT lives_ok(
    format($$SELECT concord_test.move_as_run(%L, 'running', 'w');
             SELECT concord_test.move_as_run(%L, 'failed', 'w', null, null, 'x', 'timeout');
             SELECT concord.transition_command(%L, 'queued', 'w')$$,
           concord_test.id('allowed'), concord_test.id('allowed'), concord_test.id('allowed')),
    'an allowed command that failed with a retryable class is retried'
);
SELECT is(concord_test.submit('approved', 'h_book', '{"price": 900}'), 'waiting_for_approval', 'fixture: to approve');
SELECT is(
    concord.resolve_approval(concord_test.approval_id('approved'), 'approved', 'ann') ->> 'command_status', 'queued',
    'an approved command is queued'
);
SELECT lives_ok(
    format($$SELECT concord_test.move_as_run(%L, 'running', 'w');
             SELECT concord_test.move_as_run(%L, 'failed', 'w', null, null, 'x', 'rate_limited');
             SELECT concord.transition_command(%L, 'queued', 'w')$$,
           concord_test.id('approved'), concord_test.id('approved'), concord_test.id('approved')),
    'and retried after a retryable failure: its approvals stand'
);
SELECT is(concord_test.submit('manual', 'h_input', '{"price": 3}', 'req'), 'queued', 'fixture: allowed, input type');
SELECT is(concord_test.submit('manual2', 'h_book', '{"price": 10}'), 'queued', 'fixture');
SELECT concord_test.new_catalog_version('command_type', 'h_input', '{"async_required": false, "sync_allowed": true}')
       IS NOT NULL AS v \gset
SELECT is(concord_test.submit('sync', 'h_input', '{"price": 3}'), 'validated', 'fixture: a validated governed command');
SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'waiting_for_approval', 'mallory')$$, concord_test.id('sync')),
    'CN001', 'a_command_waits_for_approval_only_while_one_is_pending',
    'a governed command waits for approval only when its policies asked for one'
);

SELECT * FROM finish();
ROLLBACK;
