-- submit_commands: each item of a batch is submitted as submit_command would
-- submit it alone (its key, validation, audit), one row answers each in
-- order, a refused item leaves the others standing, and all_or_nothing
-- writes nothing when one is refused. Rules a_batch_is_a_json_array,
-- a_batch_holds_1_to_1000_commands and a_batch_item_is_a_command.
BEGIN;
SELECT plan(17);

DO $$ BEGIN
    PERFORM concord.register_command_type('{
        "command_type": "batch_ping", "async_required": true, "required_inputs": ["n"],
        "payload_schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}');
END $$;

CREATE TEMP TABLE answered AS
SELECT * FROM concord.submit_commands($$[
    {"command_type": "batch_ping", "payload": {"n": 1}, "idempotency_key": "b-1"},
    {"command_type": "batch_ping", "payload": {"n": "x"}, "idempotency_key": "b-2"},
    {"command_type": "no_such_type", "payload": {}, "idempotency_key": "b-3"},
    {"command_type": "batch_ping", "payload": {"n": 1}, "idempotency_key": "b-1"},
    {"command_type": "batch_ping", "payload": {"n": 2}, "idempotency_key": "b-1"},
    [1, 2],
    {"command_type": "batch_ping", "payload": {"n": 3}, "colour": "red"}
]$$, requested_by => 'alice');

SELECT results_eq(
    $$SELECT ordinal, status, created, refusal ->> 'code', refusal ->> 'rule' FROM answered ORDER BY ordinal$$,
    $$VALUES (1, 'queued', true, null, null),
             (2, 'failed', true, null, null),
             (3, null, false, 'CN009', 'command_type_is_registered'),
             (4, 'queued', false, null, null),
             (5, null, false, 'CN002', 'an_idempotency_key_names_one_request'),
             (6, null, false, 'CN008', 'a_batch_item_is_a_command'),
             (7, null, false, 'CN008', 'a_batch_item_is_a_command')$$,
    'one row answers each item in order: submitted, recorded as failed, or refused with its code and rule'
);

SELECT is(
    (SELECT command_id FROM answered WHERE ordinal = 4),
    (SELECT command_id FROM answered WHERE ordinal = 1),
    'a key repeated with the same request in the batch answers the original command'
);

SELECT ok(
    (SELECT errors <> '[]' FROM answered WHERE ordinal = 2),
    'an invalid payload is recorded, failed, with its problems, as a single submit records it'
);

SELECT alike(
    (SELECT refusal ->> 'message' FROM answered WHERE ordinal = 7),
    '%colour%',
    'an item naming an unknown field is refused, saying which'
);

SELECT is(
    (SELECT count(*)::integer FROM concord.commands WHERE idempotency_key IN ('b-1', 'b-2', 'b-3')),
    2,
    'the refused item wrote nothing and the others stand'
);

-- each command has the audit a single submit writes: the same events in the same order
SELECT concord_test.submit('alone', 'batch_ping', '{"n": 1}');
SELECT is(
    (SELECT array_agg(t.event_type || ':' || coalesce(t.to_status, '') ORDER BY t.event_seq)
     FROM concord.command_timeline((SELECT command_id FROM answered WHERE ordinal = 1)) AS t),
    (SELECT array_agg(t.event_type || ':' || coalesce(t.to_status, '') ORDER BY t.event_seq)
     FROM concord.command_timeline(concord_test.id('alone')) AS t),
    'a batched command is audited as a command submitted alone'
);
SELECT is(
    (SELECT requested_by FROM concord.commands WHERE idempotency_key = 'b-1'),
    'alice',
    'requested_by is the batch''s requester'
);

-- all or nothing: the first refusal is raised and nothing of the batch is written
SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_commands('[
        {"command_type": "batch_ping", "payload": {"n": 1}, "idempotency_key": "aon-1"},
        {"command_type": "no_such_type", "payload": {}, "idempotency_key": "aon-2"}]',
        all_or_nothing => true, requested_by => 'alice')$$,
    'CN009', 'command_type_is_registered',
    'all_or_nothing raises the first refusal'
);
SELECT is(
    (SELECT count(*)::integer FROM concord.commands WHERE idempotency_key LIKE 'aon-%'),
    0,
    'all_or_nothing wrote nothing of a refused batch'
);
SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_commands('[{"command_type": "batch_ping", "payload": {"n": 1}}, 7]',
        all_or_nothing => true, requested_by => 'alice')$$,
    'CN008', 'a_batch_item_is_a_command',
    'all_or_nothing raises for an item that is not a command'
);
SELECT results_eq(
    $$SELECT ordinal, status, created FROM concord.submit_commands('[
        {"command_type": "batch_ping", "payload": {"n": 1}, "idempotency_key": "aon-ok-1"},
        {"command_type": "batch_ping", "payload": {"n": 2}, "idempotency_key": "aon-ok-2"}]',
        all_or_nothing => true, requested_by => 'alice')$$,
    $$VALUES (1, 'queued', true), (2, 'queued', true)$$,
    'all_or_nothing submits every command of a batch nothing refuses'
);

-- the batch itself
SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_commands('{"command_type": "batch_ping"}', requested_by => 'alice')$$,
    'CN008', 'a_batch_is_a_json_array'
);
SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_commands(NULL, requested_by => 'alice')$$,
    'CN008', 'a_batch_is_a_json_array', 'a NULL batch is refused by rule a_batch_is_a_json_array'
);
SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_commands('[]', requested_by => 'alice')$$,
    'CN008', 'a_batch_holds_1_to_1000_commands'
);
SELECT concord_test.throws_rule(
    $$SELECT * FROM concord.submit_commands(
        (SELECT jsonb_agg(jsonb_build_object('command_type', 'batch_ping', 'payload', jsonb_build_object('n', i)))
         FROM generate_series(1, 1001) AS i), requested_by => 'alice')$$,
    'CN008', 'a_batch_holds_1_to_1000_commands', 'a batch of 1001 is refused'
);

-- who may: the roles that may submit, and no other
SELECT ok(
    has_function_privilege('concord_app', 'concord.submit_commands(jsonb, boolean, text)', 'EXECUTE')
    AND NOT has_function_privilege('concord_reader', 'concord.submit_commands(jsonb, boolean, text)', 'EXECUTE')
    AND NOT has_function_privilege('concord_approver', 'concord.submit_commands(jsonb, boolean, text)', 'EXECUTE'),
    'submit_commands is granted as submit_command is'
);
SELECT ok(
    NOT has_function_privilege('public', 'concord.submit_commands(jsonb, boolean, text)', 'EXECUTE'),
    'PUBLIC may not execute submit_commands'
);

SELECT * FROM finish();
ROLLBACK;
