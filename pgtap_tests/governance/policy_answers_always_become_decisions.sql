-- Whatever a policy answers or fails with on a requester's input, the answer
-- becomes a recorded decision: an executable policy that gives no
-- usable decision denies with the problem as its reason; a declarative
-- predicate that fails at run time answers as one that cannot be decided (its
-- on_unknown, else its decision: fail closed); a failure that only says the
-- database could not run it now is not a decision.
BEGIN;
SELECT plan(24);

-- An executable policy answering whatever the payload holds in "answer".
CREATE FUNCTION concord_test.echo_answer(command jsonb, context jsonb)
RETURNS jsonb
LANGUAGE sql
AS $$ SELECT command #> '{payload,answer}' $$;

-- An executable policy that fails as a busy database does.
CREATE FUNCTION concord_test.busy_policy(command jsonb, context jsonb)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
BEGIN
    RAISE EXCEPTION 'could not serialize access' USING ERRCODE = 'serialization_failure';
END
$$;

DO $$ BEGIN
    PERFORM concord.register_policy('{"name": "echo", "function": "concord_test.echo_answer"}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_echo", "async_required": true, "policy_checks": ["echo"]}');
    PERFORM concord.register_policy('{"name": "busy", "function": "concord_test.busy_policy"}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_busy", "async_required": true, "policy_checks": ["busy"]}');
END $$;

-- The recorded answer of the one policy of the command remembered as label.
CREATE FUNCTION pg_temp.recorded(label text)
RETURNS TABLE (status text, error_class text, completed boolean, decision text, reason text, events bigint)
LANGUAGE sql
AS $$
    SELECT c.status, c.error_class, c.completed_at IS NOT NULL, d.decision, d.reasons ->> 0,
           (SELECT count(*) FROM concord.domain_events AS e
            WHERE e.command_id = c.command_id AND e.event_type = 'policies_evaluated')
    FROM concord.commands AS c
    LEFT JOIN concord.policy_decisions AS d ON d.command_id = c.command_id
    WHERE c.command_id = concord_test.id(label)
$$;

-- ===========================================================================
-- Executable answers without a usable decision: deny, the problem as reason
-- ===========================================================================
SELECT is(concord_test.submit('empty', 't_echo', '{"answer": {}}'), 'failed',
          'an executable policy answering {} denies: the command fails, no raw NOT NULL error');
SELECT row_eq(
    $$SELECT * FROM pg_temp.recorded('empty')$$,
    ROW('failed'::text, 'policy_denied'::text, true, 'deny'::text,
        'policy function concord_test.echo_answer(jsonb,jsonb) answered {}: it gives no decision; expected '
        '{"decision": allow|deny|require_input|require_approval, "reasons": [...], "approval_type": a registered '
        'type, "missing_fields": [...]}'::text, 1::bigint),
    'the deny is recorded with the problem as its reason, and the command ends as a denied one'
);
SELECT is(concord_test.submit('null_decision', 't_echo', '{"answer": {"decision": null}}'), 'failed',
          '{"decision": null} denies');
SELECT is((pg_temp.recorded('null_decision')).reason LIKE '%answered {"decision": null}: it gives no decision;%', true,
          'its reason says there is no decision');
SELECT is(concord_test.submit('reasons_only', 't_echo', '{"answer": {"reasons": ["looks fine"]}}'), 'failed',
          'reasons without a decision deny');
SELECT is((pg_temp.recorded('reasons_only')).decision, 'deny', 'reasons without a decision are recorded as deny');
SELECT is(concord_test.submit('list_decision', 't_echo', '{"answer": {"decision": ["allow"]}}'), 'failed',
          'a decision that is not a string denies');
SELECT is((pg_temp.recorded('list_decision')).reason LIKE '%decision must be a string, not array%', true,
          'its reason says the decision must be a string');
SELECT is(concord_test.submit('unknown_decision', 't_echo', '{"answer": {"decision": "maybe"}}'), 'failed',
          'an unknown decision string denies');
SELECT is((pg_temp.recorded('unknown_decision')).reason
          LIKE '%decision "maybe" is not allow, deny, require_input or require_approval%', true,
          'its reason names the decision it does not know');
SELECT is(concord_test.submit('scalar', 't_echo', '{"answer": 42}'), 'failed', 'an answer that is not an object denies');
SELECT is((pg_temp.recorded('scalar')).reason LIKE '%an answer must be a JSON object, not number%', true,
          'its reason says an answer is an object');
SELECT is(concord_test.submit('sql_null', 't_echo', '{}'), 'failed', 'no answer at all (SQL NULL) denies');
SELECT is(concord_test.submit('null_reasons', 't_echo', '{"answer": {"decision": "allow", "reasons": null}}'),
          'failed', 'reasons that are not a list deny, even beside allow');
SELECT is(concord_test.submit('numeric_type', 't_echo',
                              '{"answer": {"decision": "require_approval", "approval_type": 5}}'),
          'failed', 'an approval_type that is not a registered type''s name denies');
SELECT is(concord_test.submit('fine', 't_echo', '{"answer": {"decision": "allow"}}'), 'queued',
          'a well-formed allow still allows');

-- ===========================================================================
-- Declarative predicates that fail at run time on the requester's input
-- ===========================================================================
DO $$ BEGIN
    -- a date compared with a time stamp with time zone: PostgreSQL raises
    -- 0A000 even with silent errors
    PERFORM concord.register_policy(
        '{"name": "before_cutoff", "predicate": "$.payload.due.datetime() < \"2020-01-01T00:00:00+00:00\".datetime()",
          "decision": "deny", "reasons": ["due before the cutoff"]}');
    PERFORM concord.register_policy(
        '{"name": "before_cutoff_asks", "predicate": "$.payload.due.datetime() < \"2020-01-01T00:00:00+00:00\".datetime()",
          "decision": "deny", "on_unknown": "require_input", "missing_fields": ["due"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_cutoff", "async_required": true, "policy_checks": ["before_cutoff"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_cutoff_asks", "async_required": true, "policy_checks": ["before_cutoff_asks"]}');
END $$;

SELECT is(concord_test.submit('due_early', 't_cutoff', '{"due": "2019-06-01T00:00:00+00:00"}'), 'failed',
          'fixture: the predicate holds on a time stamp with a time zone');
SELECT is(concord_test.submit('due_date', 't_cutoff', '{"due": "2024-01-01"}'), 'failed',
          'a predicate failing at run time on a date (0A000) fails closed: the policy''s decision, no raw error');
SELECT row_eq(
    $$SELECT r.status, r.decision, r.events FROM pg_temp.recorded('due_date') AS r$$,
    ROW('failed'::text, 'deny'::text, 1::bigint),
    'the decision is recorded with its evaluation'
);
SELECT ok(
    (pg_temp.recorded('due_date')).reason LIKE '%could not be decided for this command: cannot convert value from date '
                                           'to timestamptz without time zone usage (it fails closed: deny)',
    'its reason carries the error and says it failed closed'
);
SELECT is(concord_test.submit('due_date_asks', 't_cutoff_asks', '{"due": "2024-01-01"}'), 'waiting_for_input',
          'with an on_unknown, a predicate failing at run time yields the on_unknown (require_input)');
SELECT is(
    (concord_test.command('due_date_asks')).policy_evaluation -> 'missing_fields', '["due"]'::jsonb,
    'and asks for the fields the policy names'
);

-- ===========================================================================
-- A database that cannot run the policy now is not an answer
-- ===========================================================================
SELECT throws_ok(
    $$SELECT concord.submit_command('t_busy', '{}', 'req')$$,
    '40001', 'could not serialize access',
    'a serialization failure inside a policy ends the submission with its own error, to be retried'
);
SELECT is(
    (SELECT count(*) FROM concord.commands WHERE command_type = 't_busy'), 0::bigint,
    'and leaves nothing written: no command, no lasting deny'
);

SELECT * FROM finish();
ROLLBACK;
