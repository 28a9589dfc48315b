-- A command is queued or runs only with the payload its policies judged
-- (a_command_runs_only_the_payload_its_policies_allowed): every evaluation
-- records the digest of the payload it judged, and a payload changed since,
-- by any path (the table owner's bare UPDATE included), is judged again by
-- evaluate_policies before the command moves on. provide_input changes the
-- payload and judges it again itself.
BEGIN;
SELECT plan(13);

DO $$ BEGIN
    PERFORM concord.register_policy(
        '{"name": "pp_small", "predicate": "$.payload.amount > 100", "decision": "deny",
          "reasons": ["amount above 100"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_swap", "sync_allowed": true, "policy_checks": ["pp_small"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_swap_input", "async_required": true, "required_inputs": ["amount"],
          "policy_checks": ["required_inputs", "pp_small"]}');
    PERFORM concord.register_command_type('{"command_type": "t_free", "sync_allowed": true}');
END $$;

SELECT is(concord_test.submit('small', 't_swap', '{"amount": 5}'), 'validated', 'fixture: a small amount is allowed');

SELECT is(
    concord.get_command(concord_test.id('small')) -> 'policy_evaluation' ->> 'payload_digest',
    encode(sha256(convert_to('{"amount": 5}'::jsonb::text, 'UTF8')), 'hex'),
    'the evaluation records the digest of the payload it judged'
);

SELECT is(
    (SELECT payload ->> 'payload_digest' FROM concord.domain_events
     WHERE command_id = concord_test.id('small') AND event_type = 'policies_evaluated'),
    encode(sha256(convert_to('{"amount": 5}'::jsonb::text, 'UTF8')), 'hex'),
    'and so does its audit row, which the check reads'
);

-- The table owner swaps the payload (back through waiting_for_input, the one
-- status where a payload may change) and tries to run what was never judged.
UPDATE concord.commands SET status = 'waiting_for_input' WHERE command_id = concord_test.id('small');
UPDATE concord.commands SET payload = '{"amount": 5000}', status = 'validated'
WHERE command_id = concord_test.id('small');

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'queued' WHERE command_id = %L$$, concord_test.id('small')),
    'CN001', 'a_command_runs_only_the_payload_its_policies_allowed',
    'CN001: the owner''s bare UPDATE cannot queue a swapped payload'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', 'oscar')$$, concord_test.id('small')),
    'CN001', 'a_command_runs_only_the_payload_its_policies_allowed',
    'CN001: nor can an operator''s transition_command'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord_test.move_as_run(%L, 'running')$$, concord_test.id('small')),
    'CN001', 'a_command_runs_only_the_payload_its_policies_allowed',
    'CN001: nor a run moving it straight to running'
);

SELECT is(
    concord.evaluate_policies(concord_test.id('small')) ->> 'status',
    'failed',
    'evaluate_policies judges what it now holds: the swapped amount is denied'
);

-- A change its policies allow, once judged, moves on.
SELECT is(concord_test.submit('other', 't_swap', '{"amount": 5}'), 'validated', 'fixture: another small amount');
UPDATE concord.commands SET status = 'waiting_for_input' WHERE command_id = concord_test.id('other');
UPDATE concord.commands SET payload = '{"amount": 6}', status = 'validated' WHERE command_id = concord_test.id('other');

SELECT is(
    concord.evaluate_policies(concord_test.id('other')) ->> 'status' || '|'
    || concord.transition_command(concord_test.id('other'), 'queued', 'oscar'),
    'validated|queued',
    'judged again and allowed, the changed payload is queued'
);

-- provide_input changes the payload and judges it again: the command runs.
SELECT is(concord_test.submit('asks', 't_swap_input', '{}'), 'waiting_for_input', 'fixture: input is asked for');

SELECT is(
    concord.provide_input(concord_test.id('asks'), '{"amount": 7}', 'req') ->> 'status',
    'queued',
    'provide_input judges the payload it made and the command is queued'
);

SELECT is(
    (SELECT payload ->> 'payload_digest' FROM concord.domain_events
     WHERE command_id = concord_test.id('asks') AND event_type = 'policies_evaluated'
     ORDER BY event_seq DESC LIMIT 1),
    encode(sha256(convert_to('{"amount": 7}'::jsonb::text, 'UTF8')), 'hex'),
    'its latest evaluation judged the payload with the input'
);

-- A type without policies judges nothing: its payload moves as it is.
SELECT concord_test.command_at('t_free', 'waiting_for_input', 'free') IS NOT NULL AS fixture \gset
UPDATE concord.commands SET payload = '{"any": 1}', status = 'validated' WHERE command_id = concord_test.id('free');

SELECT is(
    concord.transition_command(concord_test.id('free'), 'queued', 'oscar'),
    'queued',
    'a command whose type has no policies is queued whatever its payload'
);

SELECT * FROM finish();
ROLLBACK;
