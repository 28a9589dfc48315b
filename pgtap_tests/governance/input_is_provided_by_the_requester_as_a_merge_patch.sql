-- Input is provided by the requester, as a JSON merge patch, only while the
-- command waits for input (only_the_requester_provides_input,
-- input_is_provided_only_while_waiting_for_input, payload_patch_is_a_json_object,
-- provided_input_leaves_a_valid_payload); request_changes sends it back for
-- input and the new evaluation opens a new approval.
BEGIN;
SELECT plan(15);

DO $$ BEGIN
    PERFORM concord_test.approval_fixtures();
END $$;

SELECT is(concord_test.submit('approve', 't_people', '{"amount": 500}'), 'waiting_for_approval',
          'a require_approval policy sends the command to waiting_for_approval');

-- ===========================================================================
-- Request changes, then input
-- ===========================================================================
SELECT is(concord_test.submit('changes', 't_people', '{"amount": 500}'), 'waiting_for_approval', 'fixture: to change');

CREATE TEMP TABLE first_changes AS SELECT approval_id, evaluation_id FROM concord_test.approval('changes');

SELECT is(
    concord.resolve_approval(concord_test.approval_id('changes'), 'request_changes', 'ann', 'add a note')
        ->> 'command_status',
    'waiting_for_input',
    'request_changes sends the command back to waiting_for_input'
);

SELECT is((SELECT status FROM concord.approvals WHERE approval_id = (SELECT approval_id FROM first_changes)),
          'changes_requested', 'the approval is changes_requested');

SELECT concord_test.throws_rule(
    format($$SELECT concord.provide_input(%L, '{"note": "x"}', 'ann')$$, concord_test.id('changes')),
    'CN012', 'only_the_requester_provides_input',
    'CN012: only the requester may provide input'
);

SELECT row_eq(
    $$SELECT r ->> 'status', r ->> 'decision', jsonb_array_length(r -> 'approval_ids')
      FROM concord.provide_input(concord_test.id('changes'), '{"note": "for the board"}', 'req') AS r$$,
    ROW('waiting_for_approval'::text, 'require_approval'::text, 1),
    'provide_input by the requester merges the input, re-evaluates and opens a new approval'
);

SELECT row_eq(
    $$SELECT a.status, a.approval_id <> f.approval_id, a.evaluation_id <> f.evaluation_id, a.request_payload
      FROM concord_test.approval('changes') AS a, first_changes AS f$$,
    ROW('pending'::text, true, true, '{"note": "for the board", "amount": 500}'::jsonb),
    'the new approval belongs to the new evaluation and carries the new payload'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE command_id = concord_test.id('changes') AND event_type = 'input_provided' AND actor = 'req'),
    1::bigint,
    'the input is audited (input_provided)'
);

-- ===========================================================================
-- provide_input: errors and merge patch semantics
-- ===========================================================================
SELECT is(concord_test.submit('input', 't_schema', '{"count": 1, "drop": "x", "meta": {"a": 1, "b": 2}}'),
          'waiting_for_input', 'fixture: a required input is missing');

SELECT concord_test.throws_rule(
    format($$SELECT concord.provide_input(%L, '[1, 2]', 'req')$$, concord_test.id('input')),
    'CN008', 'payload_patch_is_a_json_object',
    'CN008: a patch that is not an object'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.provide_input(%L, '{"name": "n", "count": "many"}', 'req')$$, concord_test.id('input')),
    'CN005', 'provided_input_leaves_a_valid_payload',
    'CN005: a patch that makes the payload invalid against the schema'
);

SELECT row_eq(
    $$SELECT status, payload FROM concord_test.command('input')$$,
    ROW('waiting_for_input'::text, '{"count": 1, "drop": "x", "meta": {"a": 1, "b": 2}}'::jsonb),
    'a refused patch changes nothing'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.provide_input(%L, '{"name": "n"}', 'req')$$, concord_test.id('approve')),
    'CN011', 'input_is_provided_only_while_waiting_for_input',
    'CN011: provide_input for a command that is not waiting_for_input'
);

SELECT is(
    concord.provide_input(concord_test.id('input'), '{"name": "n", "drop": null, "meta": {"a": null, "c": {"d": 4}}}',
                          'req') ->> 'status',
    'queued',
    'provide_input completes the input and the command is re-evaluated and queued'
);

SELECT is(
    (concord_test.command('input')).payload,
    '{"count": 1, "name": "n", "meta": {"b": 2, "c": {"d": 4}}}'::jsonb,
    'the patch is a JSON merge patch: null removes a key, nested objects merge'
);

SELECT * FROM finish();
ROLLBACK;
