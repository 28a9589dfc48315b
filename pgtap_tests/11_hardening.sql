-- Hardening after review: each test below pins one rule a review found
-- broken. JSON Schema patterns run on PostgreSQL's regex engine; a schema
-- must compile, resolve and terminate; cascades settle chains of any length;
-- a command someone asked to cancel is never retried; no caller can forge the
-- audit context or switch the cascade off; validated needs a valid payload;
-- the dependency lock row is guarded; outcomes change only with a status;
-- catalog writes are checked and audited; command_catalog is readable.
-- (The pattern that would hang Python's re is in tests/test_hardening.py,
-- where a thread and a timeout can catch a hang.)
BEGIN;
SELECT plan(68);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_hard", "sync_allowed": true}');
    -- POSIX classes mean something only to PostgreSQL's engine: Python's re
    -- reads [[:alpha:]] as a set of the characters "[:alph" followed by "]".
    PERFORM concord.register_command_type('{
        "command_type": "t_hard_pattern", "sync_allowed": true,
        "payload_schema": {"type": "object",
                           "properties": {"code": {"type": "string", "pattern": "^[[:alpha:]]+$"}}}}');
    PERFORM concord.register_command_type('{
        "command_type": "t_hard_pattern_properties", "sync_allowed": true,
        "payload_schema": {"type": "object",
                           "patternProperties": {"^x_[[:digit:]]+$": {"type": "integer"}},
                           "additionalProperties": false}}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_hard_object", "sync_allowed": true, "payload_schema": {"type": "object"}}');
    PERFORM concord.register_command_type('{
        "command_type": "t_hard_valid", "sync_allowed": true, "required_inputs": ["n"],
        "payload_schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}');
END $$;

-- 'SQLSTATE: DETAIL' of the error statement raises, or 'no error'.
CREATE FUNCTION pg_temp.refusal(statement text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    state text;
    detail text;
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, detail = PG_EXCEPTION_DETAIL;
    RETURN state || ': ' || coalesce(detail, '');
END
$$;

-- What statement returns (its first column, as text), or 'SQLSTATE: message'.
CREATE FUNCTION pg_temp.outcome(statement text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    answer text;
BEGIN
    EXECUTE statement INTO answer;
    RETURN answer;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

-- register_command_type of a t_hard_bad_* type with this payload_schema.
CREATE FUNCTION pg_temp.register_sql(payload_schema jsonb)
RETURNS text
LANGUAGE sql
AS $$
    SELECT format('SELECT concord.register_command_type(%L)',
                  jsonb_build_object('command_type', 't_hard_bad_' || md5(payload_schema::text),
                                     'sync_allowed', true, 'payload_schema', payload_schema))
$$;

-- A JSON value nested depth levels deep: {"items": {"items": ... {} ...}}.
CREATE FUNCTION pg_temp.deep(depth integer)
RETURNS jsonb
LANGUAGE sql
AS $$ SELECT (repeat('{"items": ', depth) || '{}' || repeat('}', depth))::jsonb $$;

-- submit_command(command_type, payload) as tester: (status, errors), or
-- ('SQLSTATE: message', NULL) when it raises, so a raw error fails one test
-- instead of aborting the file.
CREATE FUNCTION pg_temp.submit(command_type text, payload jsonb)
RETURNS TABLE (status text, errors jsonb)
LANGUAGE plpgsql
AS $$
BEGIN
    RETURN QUERY SELECT s.status, s.errors FROM concord.submit_command(command_type, payload, 'tester') AS s;
EXCEPTION WHEN OTHERS THEN
    RETURN QUERY SELECT SQLSTATE || ': ' || SQLERRM, NULL::jsonb;
END
$$;

-- A command inserted directly by the owner (status created), remembered as label.
CREATE FUNCTION pg_temp.insert_command(label text, command_type text, payload jsonb)
RETURNS uuid
LANGUAGE sql
AS $$
    WITH c AS (
        INSERT INTO concord.commands (command_type, requested_by, ingress, payload)
        VALUES (command_type, 'owner', 'sql', payload)
        RETURNING command_id
    )
    INSERT INTO concord_test.fixture (label, id) SELECT label, c.command_id FROM c RETURNING id
$$;

-- A linear chain c0 <- c1 <- ... <- c(n-1) of t_hard commands: c0 running,
-- the others queued, each child depending on the one before it. Edges are
-- added from the tail so the cycle check never walks a long ancestry.
CREATE FUNCTION pg_temp.chain(n integer, propagate boolean)
RETURNS uuid[]
LANGUAGE plpgsql
AS $$
DECLARE
    ids uuid[] := ARRAY[concord_test.command_at('t_hard', 'running')];
    i integer;
BEGIN
    FOR i IN 2..n LOOP
        ids := ids || concord_test.command_at('t_hard', 'queued');
    END LOOP;
    FOR i IN REVERSE n - 1..1 LOOP
        PERFORM concord.add_dependency(ids[i + 1], ids[i], 'succeeded', propagate);
    END LOOP;
    RETURN ids;
END
$$;

-- (status, error_class) of every command of a chain but its head, with counts.
CREATE FUNCTION pg_temp.descendants(ids uuid[])
RETURNS TABLE (status text, error_class text, commands bigint)
LANGUAGE sql
AS $$
    SELECT c.status, c.error_class, count(*)
    FROM concord.commands AS c WHERE c.command_id = ANY (ids[2:])
    GROUP BY c.status, c.error_class
$$;

-- ===========================================================================
-- 1. Patterns run on PostgreSQL's regex engine (pattern, patternProperties,
--    and the property matching of additionalProperties)
-- ===========================================================================
SELECT row_eq(
    $$SELECT * FROM pg_temp.submit('t_hard_pattern', '{"code": "abc"}')$$,
    ROW('validated'::text, '[]'::jsonb),
    'pattern is matched by PostgreSQL''s engine: "abc" matches ^[[:alpha:]]+$'
);

SELECT is(
    (SELECT e.errors -> 0 ->> 'keyword' || ' at ' || (e.errors -> 0 ->> 'path')
     FROM pg_temp.submit('t_hard_pattern', '{"code": "ab1"}') AS e),
    'pattern at $.code',
    'pattern is matched by PostgreSQL''s engine: "ab1" fails ^[[:alpha:]]+$ with a pattern error'
);

SELECT row_eq(
    $$SELECT * FROM pg_temp.submit('t_hard_pattern_properties', '{"x_12": 1, "x_3": 2}')$$,
    ROW('validated'::text, '[]'::jsonb),
    'patternProperties keys and additionalProperties are matched by PostgreSQL''s engine: x_12 is no '
    'additional property'
);

SELECT is(
    (SELECT array_agg(e.problem ->> 'keyword' || ' at ' || (e.problem ->> 'path') ORDER BY e.problem ->> 'path',
                      e.problem ->> 'keyword')
     FROM pg_temp.submit('t_hard_pattern_properties', '{"x_12": "twelve", "y": 1}') AS s,
          jsonb_array_elements(s.errors) AS e (problem)),
    ARRAY['additionalProperties at $', 'type at $.x_12'],
    'an invalid payload: patternProperties applies its schema to x_12, additionalProperties refuses y only'
);

SELECT is(
    (SELECT e.problem ->> 'message' LIKE '%''y''%' AND e.problem ->> 'message' NOT LIKE '%x\_12%'
     FROM pg_temp.submit('t_hard_pattern_properties', '{"x_12": "twelve", "y": 1}') AS s,
          jsonb_array_elements(s.errors) AS e (problem)
     WHERE e.problem ->> 'keyword' = 'additionalProperties'),
    true,
    'additionalProperties honours patternProperties: its error names y and not x_12'
);

-- ===========================================================================
-- 2. A payload_schema must compile, resolve and terminate (CN005, DETAIL
--    names the problem)
-- ===========================================================================
SELECT matches(
    pg_temp.refusal(pg_temp.register_sql('{"type": "object", "properties": {"s": {"pattern": "("}}}')),
    '^CN005: .*payload_schema\.properties\.s\.pattern: ''\('' is not a regular expression PostgreSQL can use',
    'CN005: a pattern PostgreSQL cannot compile ("(") is refused at registration, named in DETAIL'
);

SELECT matches(
    pg_temp.refusal(pg_temp.register_sql('{"patternProperties": {"(?P<n>a)": {}}}')),
    '^CN005: .*patternProperties.*is not a regular expression PostgreSQL can use',
    'CN005: a patternProperties key Python could compile but PostgreSQL cannot is refused'
);

SELECT matches(
    pg_temp.refusal(pg_temp.register_sql('{"type": "object", "properties": {"a": {"$ref": "#/nope"}}}')),
    '^CN005: .*reference ''#/nope'' does not resolve',
    'CN005: an unresolvable local $ref (#/nope) is refused at registration'
);

SELECT matches(
    pg_temp.refusal(pg_temp.register_sql('{"$ref": "#"}')),
    '^CN005: .*loop',
    'CN005: a $ref loop ({"$ref": "#"}) is refused at registration'
);

SELECT matches(
    pg_temp.refusal(pg_temp.register_sql(pg_temp.deep(3000))),
    '^CN005: .*nested too deeply',
    'CN005: a schema nested 3000 levels deep is refused at registration (no raw Python error)'
);

SELECT is(
    (SELECT count(*) FROM concord.command_types WHERE command_type LIKE 't\_hard\_bad\_%'),
    0::bigint,
    'no refused schema was registered'
);

SELECT lives_ok(
    $$SELECT concord.register_command_type('{
        "command_type": "t_hard_draft4", "sync_allowed": true,
        "payload_schema": {"$schema": "http://json-schema.org/draft-04/schema#", "id": "http://x/",
                           "type": "object", "properties": {"n": {"$ref": "#/definitions/z"}},
                           "definitions": {"z": {"type": "integer"}}}}')$$,
    'a draft-04 schema with "id": "http://x/" and a local $ref #/definitions/z is accepted'
);

SELECT row_eq(
    $$SELECT * FROM pg_temp.submit('t_hard_draft4', '{"n": 1}')$$,
    ROW('validated'::text, '[]'::jsonb),
    'the draft-04 schema validates a valid payload, its $ref resolved inside the schema (no remote fetch)'
);

SELECT is(
    (SELECT s.status || ' / ' || (s.errors -> 0 ->> 'keyword') || ' at ' || (s.errors -> 0 ->> 'path')
     FROM pg_temp.submit('t_hard_draft4', '{"n": "one"}') AS s),
    'failed / type at $.n',
    'the draft-04 schema refuses an invalid payload through its $ref'
);

SELECT lives_ok(
    $$SELECT concord.submit_command('t_hard_object', jsonb_build_object('a', pg_temp.deep(3000)),
                                    'deep-payload')$$,
    'submit_command of a payload nested 3000 levels deep raises no error (no raw 38000 error)'
);

SELECT row_eq(
    $$SELECT status, error_class, jsonb_array_length(error_detail -> 'errors') > 0
      FROM concord.commands WHERE command_type = 't_hard_object' AND requested_by = 'deep-payload'$$,
    ROW('failed'::text, 'validation_error'::text, true),
    'the payload nested 3000 levels deep is recorded as failed with a validation error'
);

-- ===========================================================================
-- 3. Dependency cascades walk a worklist: chains of 300 settle in one go
-- ===========================================================================
CREATE TEMP TABLE chains (name text PRIMARY KEY, ids uuid[]);
INSERT INTO chains VALUES
('fail_propagate', pg_temp.chain(300, true)),
('fail_keep', pg_temp.chain(300, false)),
('cancel_propagate', pg_temp.chain(300, true)),
('cancel_keep', pg_temp.chain(300, false));

SELECT lives_ok(
    $$SELECT concord.transition_command(ids[1], 'failed', 'worker', 'boom') FROM chains
      WHERE name = 'fail_propagate'$$,
    'transition_command(c0, failed) succeeds at the head of a 300-command chain (propagate)'
);

SELECT results_eq(
    $$SELECT d.* FROM chains, pg_temp.descendants(ids) AS d WHERE name = 'fail_propagate'$$,
    $$VALUES ('cancelled'::text, NULL::text, 299::bigint)$$,
    'a failed head cancels all 299 descendants of a propagating chain'
);

SELECT lives_ok(
    $$SELECT concord.transition_command(ids[1], 'failed', 'worker', 'boom') FROM chains
      WHERE name = 'fail_keep'$$,
    'transition_command(c0, failed) succeeds at the head of a 300-command chain (no propagation)'
);

SELECT results_eq(
    $$SELECT d.* FROM chains, pg_temp.descendants(ids) AS d WHERE name = 'fail_keep'$$,
    $$VALUES ('failed'::text, 'dependency_failed'::text, 299::bigint)$$,
    'a failed head fails all 299 descendants of a non-propagating chain with dependency_failed'
);

SELECT lives_ok(
    $$SELECT concord.cancel_command(ids[1], 'operator', 'stop') FROM chains WHERE name = 'cancel_propagate'$$,
    'cancel_command(c0) succeeds at the head of a 300-command chain (propagate)'
);

SELECT results_eq(
    $$SELECT d.* FROM chains, pg_temp.descendants(ids) AS d WHERE name = 'cancel_propagate'$$,
    $$VALUES ('cancelled'::text, NULL::text, 299::bigint)$$,
    'a cancelled head cancels all 299 descendants of a propagating chain'
);

SELECT lives_ok(
    $$SELECT concord.cancel_command(ids[1], 'operator', 'stop') FROM chains WHERE name = 'cancel_keep'$$,
    'cancel_command(c0) succeeds at the head of a 300-command chain (no propagation)'
);

SELECT results_eq(
    $$SELECT d.* FROM chains, pg_temp.descendants(ids) AS d WHERE name = 'cancel_keep'$$,
    $$VALUES ('failed'::text, 'dependency_failed'::text, 299::bigint)$$,
    'a cancelled head fails all 299 descendants of a non-propagating chain with dependency_failed'
);

-- Diamond: B -> A, C -> A, D -> B, D -> C, none propagating.
SELECT concord_test.command_at('t_hard', 'running', 'diamond_a') IS NOT NULL
   AND concord_test.command_at('t_hard', 'queued', 'diamond_b') IS NOT NULL
   AND concord_test.command_at('t_hard', 'queued', 'diamond_c') IS NOT NULL
   AND concord_test.command_at('t_hard', 'queued', 'diamond_d') IS NOT NULL AS fixture \gset
SELECT bool_and(concord.add_dependency(concord_test.id(x.child), concord_test.id(x.parent), 'succeeded', false)
                IS NULL) AS fixture
FROM (VALUES ('diamond_b', 'diamond_a'), ('diamond_c', 'diamond_a'),
             ('diamond_d', 'diamond_b'), ('diamond_d', 'diamond_c')) AS x (child, parent) \gset
SELECT concord.transition_command(concord_test.id('diamond_a'), 'failed', 'worker', 'boom') AS fixture \gset

SELECT row_eq(
    $$SELECT status, error_class FROM concord.commands WHERE command_id = concord_test.id('diamond_d')$$,
    ROW('failed'::text, 'dependency_failed'::text),
    'diamond without propagation: D, reached through B and C, ends failed / dependency_failed, not cancelled'
);

SELECT is(
    (SELECT array_agg(e.from_status || '>' || e.to_status ORDER BY e.event_seq)
     FROM concord.domain_events AS e
     WHERE e.command_id = concord_test.id('diamond_d') AND e.event_type = 'command_status_changed'),
    ARRAY['created>validated', 'validated>queued', 'queued>failed'],
    'diamond without propagation: D is settled once (one status change after queued)'
);

-- ===========================================================================
-- 4. A command someone asked to cancel is never retried
-- ===========================================================================
SELECT concord_test.command_at('t_hard', 'running', 'asked_to_cancel') IS NOT NULL AS fixture \gset

SELECT is(
    concord.cancel_command(concord_test.id('asked_to_cancel'), 'operator', 'undo', 'compensate_then_stop')
    || ' > ' || concord.transition_command(concord_test.id('asked_to_cancel'), 'compensating', 'worker')
    || ' > ' || concord.transition_command(concord_test.id('asked_to_cancel'), 'failed', 'worker', 'undo broke'),
    'cancelling > compensating > failed',
    'fixture: running -> cancel_command(compensate_then_stop) -> cancelling -> compensating -> failed'
);

SELECT throws_ok(
    format($$SELECT concord.transition_command(%L, 'queued', 'worker')$$, concord_test.id('asked_to_cancel')),
    'CN001', NULL,
    'CN001: a failed command whose cancellation was requested cannot be retried (failed -> queued)'
);

SELECT throws_ok(
    format($$UPDATE concord.commands SET status = 'queued' WHERE command_id = %L$$,
           concord_test.id('asked_to_cancel')),
    'CN001', NULL,
    'CN001: nor by a direct UPDATE of the owner'
);

SELECT concord_test.command_at('t_hard', 'failed', 'plain_failure') IS NOT NULL AS fixture \gset

SELECT is(
    concord.transition_command(concord_test.id('plain_failure'), 'queued', 'worker'),
    'queued',
    'control: a failed command nobody asked to cancel can still be retried'
);

-- ===========================================================================
-- 6. validated requires a valid payload, whoever makes the move
-- ===========================================================================
SELECT pg_temp.insert_command('owner_invalid', 't_hard_valid', '{"n": "one"}') IS NOT NULL
   AND pg_temp.insert_command('owner_missing', 't_hard_valid', '{"m": 1}') IS NOT NULL
   AND pg_temp.insert_command('owner_valid', 't_hard_valid', '{"n": 1}') IS NOT NULL AS fixture \gset

SELECT is(
    concord_test.status('owner_invalid'),
    'created',
    'fixture: the owner inserts a command with an invalid payload directly (created)'
);

SELECT throws_ok(
    format($$UPDATE concord.commands SET status = 'validated' WHERE command_id = %L$$,
           concord_test.id('owner_invalid')),
    'CN005', NULL,
    'CN005: the owner cannot move a command with a payload that breaks its schema to validated'
);

SELECT throws_ok(
    format($$UPDATE concord.commands SET status = 'validated' WHERE command_id = %L$$,
           concord_test.id('owner_missing')),
    'CN005', NULL,
    'CN005: nor one that lacks a required input'
);

SELECT throws_ok(
    format($$SELECT concord.transition_command(%L, 'validated', 'worker')$$, concord_test.id('owner_invalid')),
    'CN005', NULL,
    'CN005: transition_command to validated checks the payload too'
);

SELECT lives_ok(
    format($$UPDATE concord.commands SET status = 'validated' WHERE command_id = %L$$,
           concord_test.id('owner_valid')),
    'a direct UPDATE to validated passes for a valid payload'
);

SELECT is(
    concord_test.status('owner_valid') || ' / ' || concord_test.status('owner_invalid'),
    'validated / created',
    'the valid command is validated; the invalid one stayed created'
);

-- ===========================================================================
-- 7. The dependency_graph_lock row stays, and only its counter moves up
-- ===========================================================================
SELECT edges_added AS edges_before FROM concord.dependency_graph_lock \gset

SELECT throws_ok(
    $$DELETE FROM concord.dependency_graph_lock$$,
    'CN007', NULL,
    'CN007: the dependency_graph_lock row cannot be deleted'
);

SELECT throws_ok(
    $$INSERT INTO concord.dependency_graph_lock (singleton, edges_added) VALUES (true, 0)$$,
    'CN007', NULL,
    'CN007: no row can be inserted into dependency_graph_lock'
);

SELECT throws_ok(
    $$TRUNCATE concord.dependency_graph_lock$$,
    'CN007', NULL,
    'CN007: dependency_graph_lock cannot be truncated'
);

SELECT throws_ok(
    $$UPDATE concord.dependency_graph_lock SET edges_added = edges_added$$,
    'CN007', NULL,
    'CN007: an UPDATE of dependency_graph_lock that does not increase edges_added is refused (same value)'
);

SELECT throws_ok(
    $$UPDATE concord.dependency_graph_lock SET edges_added = edges_added - 1$$,
    'CN007', NULL,
    'CN007: an UPDATE of dependency_graph_lock that does not increase edges_added is refused (decrease)'
);

SELECT concord_test.command_at('t_hard', 'queued', 'lock_parent') IS NOT NULL
   AND concord_test.command_at('t_hard', 'queued', 'lock_child') IS NOT NULL AS fixture \gset

SELECT lives_ok(
    format($$SELECT concord.add_dependency(%L, %L)$$, concord_test.id('lock_child'), concord_test.id('lock_parent')),
    'add_dependency still works under the guard'
);

SELECT row_eq(
    $$SELECT count(*), sum(edges_added) FROM concord.dependency_graph_lock$$,
    ROW(1::bigint, (:edges_before + 1)::numeric),
    'the lock is still one row, and the new dependency moved its counter up by one'
);

-- ===========================================================================
-- 8. Outcomes change only with a status; catalog writes are checked and
--    audited
-- ===========================================================================
SELECT concord_test.command_at('t_hard', 'running', 'outcome') IS NOT NULL AS fixture \gset

CREATE FUNCTION pg_temp.outcome_updates()
RETURNS TABLE (assignment text, refusal text)
LANGUAGE sql
AS $$
    SELECT x.assignment,
           pg_temp.refusal(format('UPDATE concord.commands SET %s WHERE command_id = %L',
                                  x.assignment, concord_test.id('outcome')))
    FROM (VALUES ('result = ''{"forged": true}'''), ('error = ''forged'''), ('error_class = ''forged'''),
                 ('error_detail = ''{"forged": true}'''), ('completed_at = now()')) AS x (assignment)
$$;

SELECT results_eq(
    $$SELECT assignment, left(refusal, 5) FROM pg_temp.outcome_updates()$$,
    $$VALUES ('result = ''{"forged": true}'''::text, 'CN007'::text), ('error = ''forged''', 'CN007'),
             ('error_class = ''forged''', 'CN007'), ('error_detail = ''{"forged": true}''', 'CN007'),
             ('completed_at = now()', 'CN007')$$,
    'CN007: a direct UPDATE of a command''s result, error, error_class, error_detail or completed_at '
    'without a status change is refused, column by column'
);

SELECT row_eq(
    $$SELECT status, result, error, error_class, error_detail, completed_at FROM concord.commands
      WHERE command_id = concord_test.id('outcome')$$,
    ROW('running'::text, NULL::jsonb, NULL::text, NULL::text, NULL::jsonb, NULL::timestamptz),
    'the running command''s outcome is untouched'
);

INSERT INTO concord_test.fixture (label, id)
VALUES ('planned_effect', concord.plan_effect(concord_test.id('outcome'), 'email.send', '{}'));

CREATE FUNCTION pg_temp.effect_updates()
RETURNS TABLE (assignment text, refusal text)
LANGUAGE sql
AS $$
    SELECT x.assignment,
           pg_temp.refusal(format('UPDATE concord.domain_effects SET %s WHERE domain_effect_id = %L',
                                  x.assignment, concord_test.id('planned_effect')))
    FROM (VALUES ('result = ''{"forged": true}'''), ('error = ''forged'''), ('error_class = ''forged'''),
                 ('started_at = now()'), ('completed_at = now()'),
                 ('executed_by_dbos_workflow_id = ''wf-forged''')) AS x (assignment)
$$;

SELECT results_eq(
    $$SELECT assignment, left(refusal, 5) FROM pg_temp.effect_updates()$$,
    $$VALUES ('result = ''{"forged": true}'''::text, 'CN007'::text), ('error = ''forged''', 'CN007'),
             ('error_class = ''forged''', 'CN007'), ('started_at = now()', 'CN007'),
             ('completed_at = now()', 'CN007'), ('executed_by_dbos_workflow_id = ''wf-forged''', 'CN007')$$,
    'CN007: a direct UPDATE of an effect''s result, error, error_class, started_at, completed_at or '
    'workflow without a status change is refused, column by column'
);

SELECT concord_test.command_at('t_hard', 'succeeded', 'ended') IS NOT NULL AS fixture \gset

SELECT throws_ok(
    format($$INSERT INTO concord.domain_effects (command_id, effect_type) VALUES (%L, 'email.send')$$,
           concord_test.id('ended')),
    'CN011', NULL,
    'CN011: the owner cannot INSERT an effect for a terminal command directly'
);

SELECT concord_test.command_at('t_hard', 'running', 'replayed') IS NOT NULL AS fixture \gset
INSERT INTO concord_test.fixture (label, id)
VALUES ('keyed_effect', concord.plan_effect(concord_test.id('replayed'), 'email.send', '{}', 'hard-key-1'));
SELECT concord.transition_command(concord_test.id('replayed'), 'succeeded', 'worker') AS fixture \gset

SELECT is(
    pg_temp.outcome(format($$SELECT concord.plan_effect(%L, 'email.send', '{}', 'hard-key-1')$$,
                           concord_test.id('replayed'))),
    concord_test.id('keyed_effect')::text,
    'a plan_effect replay still returns the first effect after its command ended (the terminal check '
    'moved into the insert trigger)'
);

SELECT version AS catalog_version FROM concord.command_types WHERE command_type = 't_hard_valid' \gset

SELECT matches(
    pg_temp.refusal($$UPDATE concord.command_types
                      SET payload_schema = '{"type": "object", "properties": {"s": {"pattern": "("}}}'
                      WHERE command_type = 't_hard_valid'$$),
    '^CN005: .*not a regular expression PostgreSQL can use',
    'CN005: a direct UPDATE of command_types.payload_schema to an invalid schema is refused'
);

SELECT throws_ok(
    $$INSERT INTO concord.command_types (command_type, name, payload_schema)
      VALUES ('t_hard_direct', 'direct', '{"$ref": "#/nope"}')$$,
    'CN005', NULL,
    'CN005: a direct INSERT into command_types with an invalid schema is refused'
);

SELECT lives_ok(
    $$UPDATE concord.command_types SET payload_schema = '{"type": "object", "required": ["n"]}'
      WHERE command_type = 't_hard_valid'$$,
    'a direct UPDATE of payload_schema to a valid schema passes'
);

SELECT is(
    (SELECT version FROM concord.command_types WHERE command_type = 't_hard_valid'),
    :catalog_version + 1,
    'the direct UPDATE bumped the version'
);

SELECT row_eq(
    $$SELECT actor = session_user, (payload ->> 'version')::integer, payload -> 'definition' -> 'payload_schema'
      FROM concord.domain_events
      WHERE event_type = 'command_type_registered' AND target_id = 't_hard_valid'
      ORDER BY event_seq DESC LIMIT 1$$,
    ROW(true, :catalog_version + 1, '{"type": "object", "required": ["n"]}'::jsonb),
    'the direct UPDATE wrote a command_type_registered audit event with the new version and schema'
);

-- ===========================================================================
-- 9. A cancellation keeps its mode; an effect fails with an error
-- ===========================================================================
SELECT concord_test.command_at('t_hard', 'running', 'being_cancelled') IS NOT NULL AS fixture \gset
SELECT concord.cancel_command(concord_test.id('being_cancelled'), 'operator', 'stop') AS fixture \gset

SELECT throws_ok(
    format($$SELECT concord.cancel_command(%L, 'operator', 'again', 'compensate_then_stop')$$,
           concord_test.id('being_cancelled')),
    'CN011', NULL,
    'CN011: cancel_command with a different mode on a command already being cancelled'
);

INSERT INTO concord_test.fixture (label, id)
VALUES ('executing_effect', concord.plan_effect(concord_test.id('outcome'), 'email.send', '{"n": 2}'));
SELECT concord.start_effect(concord_test.id('executing_effect'), 'wf-hard') AS fixture \gset

SELECT throws_ok(
    format($$SELECT concord.fail_effect(%L, NULL, 'transient_connector_error')$$, concord_test.id('executing_effect')),
    'CN008', NULL,
    'CN008: fail_effect with a NULL error'
);

SELECT throws_ok(
    format($$SELECT concord.fail_effect(%L, ' ', 'transient_connector_error')$$, concord_test.id('executing_effect')),
    'CN008', NULL,
    'CN008: fail_effect with a blank error'
);

SELECT is(
    (SELECT status FROM concord.domain_effects WHERE domain_effect_id = concord_test.id('executing_effect')),
    'executing',
    'the refused fail_effect calls left the effect executing'
);

-- ===========================================================================
-- 11. command_catalog lists the registered types, for concord_app and
--     concord_reader
-- ===========================================================================
SELECT set_eq(
    $$SELECT command_type, version FROM concord.command_catalog$$,
    $$SELECT command_type, version FROM concord.command_types$$,
    'command_catalog lists every registered command type with its version'
);

SELECT ok(
    has_table_privilege('concord_app', 'concord.command_catalog', 'SELECT')
    AND has_table_privilege('concord_reader', 'concord.command_catalog', 'SELECT'),
    'concord_app and concord_reader may SELECT command_catalog'
);

SET LOCAL ROLE concord_app;
SELECT lives_ok(
    $$SELECT 1 / count(*)::integer FROM concord.command_catalog WHERE command_type = 't_hard_draft4'$$,
    'concord_app reads command_catalog and sees a type registered here'
);
RESET ROLE;

SET LOCAL ROLE concord_reader;
SELECT lives_ok(
    $$SELECT 1 / count(*)::integer FROM concord.command_catalog WHERE command_type = 't_hard_draft4'$$,
    'concord_reader reads command_catalog and sees a type registered here'
);
RESET ROLE;

-- ===========================================================================
-- 5. concord_app cannot forge the audit context or switch a rule off through
--    its own session settings
-- ===========================================================================
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_catalog.pg_proc AS p
      WHERE p.pronamespace = 'concord'::regnamespace AND p.proname !~ '^_'
        AND NOT coalesce(p.proconfig @> ARRAY['concord.actor=', 'concord.reason=', 'concord.submitting=off',
                                              'concord.settling=off'], false)$$,
    'every public concord function resets concord.actor, concord.reason, concord.submitting and '
    'concord.settling on entry'
);

SELECT concord_test.command_at('t_hard', 'queued', 'forge_parent') IS NOT NULL
   AND concord_test.command_at('t_hard', 'queued', 'forge_child') IS NOT NULL
   AND concord_test.command_at('t_hard', 'running', 'forge_worker') IS NOT NULL
   AND concord_test.command_at('t_hard', 'queued', 'forge_dep_child') IS NOT NULL AS fixture \gset
SELECT concord.add_dependency(concord_test.id('forge_child'), concord_test.id('forge_parent')) IS NULL
       AS fixture \gset
SELECT concord_test.id('forge_parent') AS forge_parent, concord_test.id('forge_child') AS forge_child,
       concord_test.id('forge_worker') AS forge_worker, concord_test.id('forge_dep_child') AS forge_dep_child \gset

SET LOCAL ROLE concord_app;
SET concord.actor = 'eve';
SET concord.reason = 'forged';
SET concord.settling = 'on';
SET concord.submitting = 'on';

SELECT command_id AS forged_submit FROM concord.submit_command('t_hard', '{}', 'alice') \gset
-- registering a type is concord_admin's (issue 3), with the same forged settings
SET LOCAL ROLE concord_admin;
SELECT concord.register_command_type('{"command_type": "t_hard_forged", "sync_allowed": true}') AS fixture \gset
SET LOCAL ROLE concord_app;
SELECT concord.plan_effect(:'forge_worker', 'email.send', '{}') AS forged_effect \gset
SELECT concord.start_effect(:'forged_effect', 'wf-forge') AS fixture \gset
SELECT concord.complete_effect(:'forged_effect', '{}') AS fixture \gset
SELECT concord.add_dependency(:'forge_dep_child', :'forge_worker') IS NULL AS fixture \gset

SELECT is(
    concord.cancel_command(:'forge_parent', 'alice', 'plan changed'),
    'cancelled',
    'fixture: concord_app, with every context setting forged, cancels a queued parent'
);

RESET ROLE;
RESET concord.actor;
RESET concord.reason;
RESET concord.settling;
RESET concord.submitting;

SELECT is(
    (SELECT array_agg(DISTINCT actor) FROM concord.domain_events WHERE command_id = :'forged_submit'),
    ARRAY['alice'],
    'submit_command''s audit rows name requested_by (alice), not the forged concord.actor (eve)'
);

SELECT row_eq(
    $$SELECT actor = session_user, reason FROM concord.domain_events
      WHERE event_type = 'command_type_registered' AND target_id = 't_hard_forged'$$,
    ROW(true, NULL::text),
    'register_command_type''s audit row names the session user, not eve, and carries no forged reason'
);

SELECT is(
    (SELECT array_agg(e.to_status || ' by ' || e.actor || coalesce(' for ' || e.reason, '') ORDER BY e.event_seq)
     FROM concord.domain_events AS e
     WHERE e.target_type = 'effect' AND e.target_id = :'forged_effect'),
    ARRAY['planned by ' || session_user, 'executing by workflow:wf-forge', 'succeeded by workflow:wf-forge'],
    'plan_effect, start_effect and complete_effect rows carry neither eve nor the forged reason'
);

SELECT row_eq(
    format($$SELECT actor = session_user, reason FROM concord.domain_events
             WHERE event_type = 'dependency_added' AND command_id = %L$$, :'forge_dep_child'),
    ROW(true, NULL::text),
    'add_dependency''s audit row carries neither eve nor the forged reason'
);

SELECT row_eq(
    format($$SELECT c.status, e.actor, e.reason LIKE 'dependency %% is cancelled; %%'
             FROM concord.commands AS c
             INNER JOIN concord.domain_events AS e ON e.command_id = c.command_id AND e.to_status = 'cancelled'
             WHERE c.command_id = %L$$, :'forge_child'),
    ROW('cancelled'::text, 'alice'::text, true),
    'a forged concord.settling = on cannot switch the cascade off: the child is cancelled, by alice'
);

SELECT * FROM finish();
ROLLBACK;
