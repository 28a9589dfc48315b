-- The command state machine (spec 12 + spec 30's cancellation path) is data in
-- concord.command_transitions, can_transition() agrees with it, and every
-- writer -- the API or a direct UPDATE/INSERT by the table owner -- is held to it.
BEGIN;
SELECT plan(21);

DO $$ BEGIN PERFORM concord.register_command_type('{"command_type": "t_sm", "sync_allowed": true}'); END $$;

-- Spec 12's edges, then the cancellation path of spec 30 (and the issue).
CREATE TEMP TABLE expected_edges (from_status text, to_status text);
INSERT INTO expected_edges VALUES
('created', 'validated'), ('created', 'failed'), ('created', 'cancelled'),
('validated', 'waiting_for_input'), ('validated', 'waiting_for_approval'),
('validated', 'queued'), ('validated', 'running'), ('validated', 'failed'),
('validated', 'cancelled'),
('waiting_for_input', 'validated'), ('waiting_for_input', 'cancelled'),
('waiting_for_input', 'expired'),
('waiting_for_approval', 'approved'), ('waiting_for_approval', 'cancelled'),
('waiting_for_approval', 'expired'), ('waiting_for_approval', 'failed'),
('approved', 'queued'), ('approved', 'running'), ('approved', 'cancelled'),
('queued', 'running'), ('queued', 'cancelled'), ('queued', 'failed'),
('running', 'succeeded'), ('running', 'failed'), ('running', 'cancelled'),
('running', 'blocked'),
('blocked', 'queued'), ('blocked', 'running'), ('blocked', 'failed'), ('blocked', 'cancelled'),
('failed', 'queued'), ('failed', 'compensating'), ('failed', 'cancelled'),
('compensating', 'compensated'), ('compensating', 'failed'),
-- spec 30: running -> cancelling -> cancelled | compensating -> compensated -> cancelled
('running', 'cancelling'), ('cancelling', 'cancelled'), ('cancelling', 'compensating'),
('compensated', 'cancelled'),
-- a blocked command has started too: its cancellation takes the same path
('blocked', 'cancelling'),
-- a reviewer who requests changes sends the command back for input
('waiting_for_approval', 'waiting_for_input');

-- ---------------------------------------------------------------------------
-- The machine as data
-- ---------------------------------------------------------------------------
SELECT set_eq(
    'SELECT status FROM concord.command_statuses',
    ARRAY['created', 'validated', 'waiting_for_input', 'waiting_for_approval', 'approved',
          'queued', 'running', 'blocked', 'succeeded', 'failed', 'cancelled', 'expired',
          'compensating', 'compensated', 'cancelling'],
    'command_statuses holds spec 12''s statuses plus cancelling (spec 30), nothing else'
);

SELECT is_empty(
    'SELECT from_status, to_status FROM expected_edges
     EXCEPT SELECT from_status, to_status FROM concord.command_transitions',
    'every spec 12 transition and the spec 30 cancellation path is a row of command_transitions'
);

SELECT is_empty(
    'SELECT from_status, to_status FROM concord.command_transitions
     EXCEPT SELECT from_status, to_status FROM expected_edges',
    'command_transitions allows no transition beyond spec 12, the spec 30 cancellation path and request_changes'
);

SELECT set_eq(
    'SELECT from_status, to_status FROM concord.command_transitions WHERE reopens',
    $$VALUES ('failed', 'queued')$$,
    'the only edge that reopens a command is the retry failed -> queued'
);

SELECT set_eq(
    'SELECT status FROM concord.command_statuses WHERE terminal',
    ARRAY['succeeded', 'cancelled', 'expired'],
    'the terminal statuses are exactly succeeded, cancelled and expired'
);

SELECT is_empty(
    'SELECT t.from_status, t.to_status FROM concord.command_transitions AS t
     INNER JOIN concord.command_statuses AS s ON s.status = t.from_status WHERE s.terminal',
    'no transition leaves a terminal status'
);

-- ---------------------------------------------------------------------------
-- can_transition agrees with the table for every pair of statuses
-- ---------------------------------------------------------------------------
SELECT is(
    (SELECT count(*) FROM concord.command_statuses AS f CROSS JOIN concord.command_statuses AS t),
    225::bigint,
    'can_transition is compared over all 15 x 15 status pairs'
);

SELECT is_empty(
    $$SELECT f.status, t.status
      FROM concord.command_statuses AS f CROSS JOIN concord.command_statuses AS t
      WHERE concord.can_transition(f.status, t.status) IS DISTINCT FROM EXISTS (
          SELECT 1 FROM concord.command_transitions AS x
          WHERE x.from_status = f.status AND x.to_status = t.status)$$,
    'can_transition(from, to) is true exactly for the rows of command_transitions, for every pair'
);

SELECT ok(
    NOT concord.can_transition('running', 'no_such_status')
    AND NOT concord.can_transition('no_such_status', 'running')
    AND NOT concord.can_transition(NULL, 'running')
    AND NOT concord.can_transition('running', NULL),
    'can_transition is false for unknown or NULL statuses'
);

-- ---------------------------------------------------------------------------
-- Every writer is held to it
-- ---------------------------------------------------------------------------
CREATE TEMP TABLE at_status (status text PRIMARY KEY, command_id uuid);
INSERT INTO at_status
SELECT s.status, concord_test.command_at('t_sm', s.status) FROM concord.command_statuses AS s;

SELECT is_empty(
    'SELECT status FROM at_status AS a
     WHERE (SELECT c.status FROM concord.commands AS c WHERE c.command_id = a.command_id) <> a.status',
    'fixture: one command sits in each of the 15 statuses'
);

-- Tries each from -> to with transition_command (how = 'api') or a direct UPDATE
-- by the owner (how = 'update'), each in its own subtransaction; returns the
-- pairs whose outcome is not a CN001, with what happened instead.
CREATE FUNCTION pg_temp.illegal_moves_not_refused(how text)
RETURNS SETOF text
LANGUAGE plpgsql
AS $$
DECLARE
    a record;
    target text;
    state text;
BEGIN
    FOR a IN SELECT * FROM at_status ORDER BY status LOOP
        FOR target IN
            SELECT s.status FROM concord.command_statuses AS s
            WHERE s.status <> a.status
              AND NOT EXISTS (SELECT 1 FROM concord.command_transitions AS t
                              WHERE t.from_status = a.status AND t.to_status = s.status)
            ORDER BY s.status
        LOOP
            BEGIN
                IF how = 'api' THEN
                    PERFORM concord.transition_command(a.command_id, target, 'tester');
                ELSE
                    UPDATE concord.commands SET status = target WHERE command_id = a.command_id;
                END IF;
                RETURN NEXT format('%s -> %s was allowed', a.status, target);
                RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'undo';
            EXCEPTION
                WHEN OTHERS THEN
                    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
                    IF state NOT IN ('CN001', 'P0001') THEN
                        RETURN NEXT format('%s -> %s raised %s, not CN001', a.status, target, state);
                    END IF;
            END;
        END LOOP;
    END LOOP;
END
$$;

SELECT is_empty(
    $$SELECT * FROM pg_temp.illegal_moves_not_refused('api')$$,
    'CN001: transition_command refuses every pair of statuses that is not a row of command_transitions'
);

SELECT is_empty(
    $$SELECT * FROM pg_temp.illegal_moves_not_refused('update')$$,
    'CN001: a direct UPDATE of status by the table owner is refused for every illegal pair too'
);

-- Each legal edge, taken by transition_command from a fresh command in its
-- from-status (compensate_then_stop where spec 30 requires it).
CREATE FUNCTION pg_temp.legal_moves_refused()
RETURNS SETOF text
LANGUAGE plpgsql
AS $$
DECLARE
    e record;
    id uuid;
    got text;
    state text;
    msg text;
BEGIN
    FOR e IN SELECT * FROM concord.command_transitions ORDER BY from_status, to_status LOOP
        BEGIN
            id := concord_test.command_at(
                't_sm', e.from_status,
                cancellation_mode => CASE WHEN (e.from_status, e.to_status) IN (('cancelling', 'compensating'),
                                                                                ('compensated', 'cancelled'))
                                          THEN 'compensate_then_stop' ELSE 'graceful' END);
            -- a run's moves as its run, an operator's with transition_command
            got := concord_test.move_as_run(id, e.to_status, 'tester');
            IF got IS DISTINCT FROM e.to_status
               OR (SELECT c.status FROM concord.commands AS c WHERE c.command_id = id) <> e.to_status THEN
                RETURN NEXT format('%s -> %s ended in %s', e.from_status, e.to_status, got);
            END IF;
        EXCEPTION
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
                RETURN NEXT format('%s -> %s raised %s: %s', e.from_status, e.to_status, state, msg);
        END;
    END LOOP;
END
$$;

SELECT is_empty(
    'SELECT * FROM pg_temp.legal_moves_refused()',
    'every row of command_transitions can be taken (a run''s moves by the run, the others with transition_command)'
);

-- Terminal stays terminal: every status is tried on the terminal commands, with
-- transition_command and a direct UPDATE; a move that is not refused is kept
-- (not undone) and reported.
CREATE FUNCTION pg_temp.moves_out_of_terminal()
RETURNS SETOF text
LANGUAGE plpgsql
AS $$
DECLARE
    a record;
    target text;
    how text;
    now_status text;
BEGIN
    FOR a IN SELECT * FROM at_status WHERE status IN ('succeeded', 'cancelled', 'expired') LOOP
        FOR target IN SELECT s.status FROM concord.command_statuses AS s ORDER BY s.status LOOP
            FOREACH how IN ARRAY ARRAY['api', 'update'] LOOP
                BEGIN
                    IF how = 'api' THEN
                        PERFORM concord.transition_command(a.command_id, target, 'tester');
                    ELSE
                        UPDATE concord.commands SET status = target WHERE command_id = a.command_id;
                    END IF;
                EXCEPTION
                    WHEN OTHERS THEN NULL;
                END;
                SELECT c.status INTO now_status FROM concord.commands AS c WHERE c.command_id = a.command_id;
                IF now_status <> a.status THEN
                    RETURN NEXT format('%s -> %s (%s)', a.status, now_status, how);
                    RETURN;
                END IF;
            END LOOP;
        END LOOP;
    END LOOP;
END
$$;

SELECT is_empty(
    'SELECT * FROM pg_temp.moves_out_of_terminal()',
    'a succeeded, cancelled or expired command stays so whatever status it is moved to, by any writer'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET error = 'rewritten' WHERE command_id = %L$$,
           (SELECT command_id FROM at_status WHERE status = 'succeeded')),
    'CN007', 'a_terminal_command_never_changes',
    'CN007: a succeeded command never changes, not even a non-status column'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET result = '{"x": 1}' WHERE command_id = %L$$,
           (SELECT command_id FROM at_status WHERE status = 'cancelled')),
    'CN007', 'a_terminal_command_never_changes',
    'CN007: a cancelled command never changes'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET context = '{"x": 1}' WHERE command_id = %L$$,
           (SELECT command_id FROM at_status WHERE status = 'expired')),
    'CN007', 'a_terminal_command_never_changes',
    'CN007: an expired command never changes'
);

-- ---------------------------------------------------------------------------
-- A command is born created
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.born_elsewhere_not_refused()
RETURNS SETOF text
LANGUAGE plpgsql
AS $$
DECLARE
    s text;
    state text;
BEGIN
    FOR s IN SELECT status FROM concord.command_statuses WHERE status <> 'created' ORDER BY status LOOP
        BEGIN
            INSERT INTO concord.commands (command_type, requested_by, ingress, status)
            VALUES ('t_sm', 'tester', 'test', s);
            RETURN NEXT format('a command was born %s', s);
            RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'undo';
        EXCEPTION
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
                IF state NOT IN ('CN001', 'P0001') THEN
                    RETURN NEXT format('born %s raised %s, not CN001', s, state);
                END IF;
        END;
    END LOOP;
END
$$;

SELECT is_empty(
    'SELECT * FROM pg_temp.born_elsewhere_not_refused()',
    'CN001: a direct INSERT in any status other than created is refused (all 14 of them)'
);

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.commands (command_type, requested_by, ingress, status)
      VALUES ('t_sm', 'tester', 'test', 'succeeded')$$,
    'CN001', 'a_new_command_starts_created',
    'CN001: a direct INSERT of a succeeded command is refused'
);

-- concord.insert_path is an ordinary setting any session may set: a direct
-- INSERT must not use it to be born further along (here: succeeded with a
-- forged history attributed to someone else).
SELECT concord_test.throws_rule(
    $$WITH s AS (SELECT set_config('concord.insert_path',
                   '[["validated", ""], ["running", ""], ["succeeded", ""]]', true))
      INSERT INTO concord.commands (command_type, requested_by, ingress, status)
      SELECT 't_sm', 'someone_else', 'test', 'succeeded' FROM s$$,
    'CN001', 'a_new_command_starts_created',
    'CN001: a direct INSERT cannot be born succeeded by setting concord.insert_path itself'
);
DO $$ BEGIN PERFORM set_config('concord.insert_path', '', true); END $$;

WITH made AS (
    INSERT INTO concord.commands (command_type, requested_by, ingress, result, error,
                                  completed_at, cancellation_requested_at,
                                  cancellation_requested_by)
    VALUES ('t_sm', 'born_clean', 'test', '{"forged": true}', 'forged',
            now() - interval '1 day', now(), 'forger')
    RETURNING *
)
SELECT is(
    (SELECT ARRAY[status, coalesce(error, '-'), coalesce(result::text, '-'),
                  coalesce(completed_at::text, '-'), coalesce(cancellation_requested_by, '-')]
     FROM made),
    ARRAY['created', '-', '-', '-', '-'],
    'a command born created carries no outcome: result, error, completed_at and a cancellation request are cleared'
);

SELECT * FROM finish();
ROLLBACK;
