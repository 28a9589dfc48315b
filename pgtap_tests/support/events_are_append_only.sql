-- The audit trail is never rewritten (spec 25): domain_events refuses UPDATE,
-- DELETE (events_are_append_only) and TRUNCATE (events_are_not_truncated), for
-- the table owner too (this file runs as the owner).
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(6);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_history", "sync_allowed": true}');
END $$;

INSERT INTO concord_test.fixture
SELECT 'cmd', s.command_id FROM concord.submit_command('t_history', '{"a": 1}', 'alice',
                                                       idempotency_key => 'history-1') AS s;
INSERT INTO concord_test.fixture
SELECT 'parent', s.command_id FROM concord.submit_command('t_history', '{}', 'alice') AS s;
-- an effect belongs to a running command's run
INSERT INTO concord_test.fixture
SELECT 'runner', s.command_id FROM concord.submit_command('t_history', '{}', 'alice') AS s;
SELECT concord_test.run('runner') IS NOT NULL AS fixture \gset
INSERT INTO concord_test.fixture
SELECT 'effect', concord.plan_effect(concord_test.id('runner'), 'email.send', '{}');
DO $$ BEGIN
    PERFORM concord.add_dependency(concord_test.id('cmd'), concord_test.id('parent'));
END $$;

SELECT cmp_ok(
    (SELECT count(*) FROM concord.domain_events WHERE command_id = concord_test.id('cmd')),
    '>=', 2::bigint,
    'fixture: the command has audit events'
);
CREATE TEMP TABLE events_before AS
SELECT count(*) AS n FROM concord.domain_events WHERE command_id = concord_test.id('cmd');

-- ---------------------------------------------------------------------------
-- domain_events is append-only
-- ---------------------------------------------------------------------------
SELECT concord_test.throws_rule(
    format($$UPDATE concord.domain_events SET actor = 'mallory' WHERE command_id = %L$$, concord_test.id('cmd')),
    'CN007', 'events_are_append_only',
    'CN007: UPDATE of domain_events is refused, even for the owner'
);

SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.domain_events WHERE command_id = %L$$, concord_test.id('cmd')),
    'CN007', 'events_are_append_only',
    'CN007: DELETE from domain_events is refused, even for the owner'
);

SELECT concord_test.throws_rule(
    'TRUNCATE concord.domain_events',
    'CN007', 'events_are_not_truncated',
    'CN007: TRUNCATE of domain_events is refused, even for the owner'
);

SELECT lives_ok(
    $$INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id)
      VALUES ('event', 'note', 'tester', 'trace_test')$$,
    'domain_events accepts appends'
);

SELECT is(
    (SELECT count(*) FROM concord.domain_events WHERE command_id = concord_test.id('cmd')),
    (SELECT n FROM events_before),
    'the refused statements removed no event'
);

SELECT * FROM finish();
ROLLBACK;
