-- After `concord migrate` (0005 schema comments and the sql/ files) on the
-- 0004-era data of 0005_fixture.sql: nothing lost, and the tables, columns and
-- CHECK constraints explain themselves.
BEGIN;
SELECT plan(5);

SELECT ok(
    EXISTS (SELECT FROM concord.schema_migrations WHERE version = 5),
    'concord.schema_migrations lists version 5'
);

SELECT results_eq(
    $$SELECT command_id::text, status, requested_by, payload FROM concord.commands$$,
    $$VALUES ('00000000-0000-0000-0000-000000000051', 'validated', 'alice', '{"n": 1}'::jsonb)$$,
    'the command survived'
);

-- The comments of the tables 0001-0004 made (later migrations add their own;
-- tests/docs/test_every_table_column_and_check_is_explained.py checks a fresh
-- install whole).
SELECT is(
    obj_description('concord.commands'::regclass, 'pg_class'),
    'Every request made to Concord (spec 9, 88.3): one durable row per command, from submission '
    'to its end, moved only along command_transitions.',
    'the commands table explains itself'
);

SELECT isnt(
    col_description('concord.approvals'::regclass, (
        SELECT a.attnum FROM pg_attribute AS a
        WHERE a.attrelid = 'concord.approvals'::regclass AND a.attname = 'decided_by'
    )),
    null,
    'a column explains itself'
);

SELECT isnt(
    (SELECT obj_description(k.oid, 'pg_constraint') FROM pg_constraint AS k
     WHERE k.conrelid = 'concord.approvals'::regclass AND k.conname = 'nobody_approves_their_own_command'),
    null,
    'a CHECK constraint explains itself'
);

SELECT * FROM finish();
ROLLBACK;
