-- submit_command reports what a command needs (spec 21): the missing inputs
-- and denial reasons, on replay too, also after input changed the payload; a
-- null estimate in the payload leaves the context's in force.
BEGIN;
SELECT plan(8);

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

SELECT is(
    (SELECT s.errors FROM concord.submit_command('h_input', '{}', 'req', idempotency_key => 'h-errors') AS s),
    '[{"kind": "missing_input", "path": "$.price", "message": "input price is needed"}]'::jsonb,
    'errors lists the inputs a command waiting for input needs'
);
SELECT is(
    (SELECT s.errors FROM concord.submit_command('h_input', '{}', 'req', idempotency_key => 'h-errors') AS s),
    '[{"kind": "missing_input", "path": "$.price", "message": "input price is needed"}]'::jsonb,
    'and so does a replay'
);
DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "h_perm", "async_required": true, "policy_checks": ["permission"]}');
END $$;
SELECT is(
    (SELECT s.errors -> 0 ->> 'kind' FROM concord.submit_command('h_perm', '{}', 'nobody') AS s),
    'policy_denied', 'errors gives a denial''s reasons'
);

DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "h_cost", "async_required": true, "policy_checks": ["cost"], "cost_budget": 100}');
END $$;
SELECT is(
    (SELECT s.status FROM concord.submit_command('h_cost', '{"estimated_cost": null}', 'req', 'api',
                                                 '{"estimated_cost": 50}') AS s),
    'queued', 'a null estimate in the payload leaves the context''s estimate in force'
);

SELECT is(
    (SELECT s.status FROM concord.submit_command('h_input', '{}', 'req', idempotency_key => 'h-replay') AS s),
    'waiting_for_input', 'fixture: waiting for input, with a key'
);
SELECT lives_ok(
    $$SELECT concord.provide_input((SELECT c.command_id FROM concord.commands AS c
                                    WHERE c.idempotency_key = 'h-replay'), '{"price": 5}', 'req')$$,
    'input provided: the payload changed'
);
SELECT is(
    (SELECT s.created FROM concord.submit_command('h_input', '{}', 'req', idempotency_key => 'h-replay') AS s),
    false, 'replaying the original submission still returns the original command'
);
SELECT concord_test.throws_rule(
    $$SELECT concord.submit_command('h_input', '{"price": 9}', 'req', idempotency_key => 'h-replay')$$,
    'CN002', 'an_idempotency_key_names_one_request', 'a different request under that key is still a conflict'
);

SELECT * FROM finish();
ROLLBACK;
