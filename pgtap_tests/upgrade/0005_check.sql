-- After `concord migrate` (0005 schema comments and the sql/ files) on the
-- 0004-era data of 0005_fixture.sql: nothing lost, and every table, column and
-- CHECK constraint of schema concord explains itself.
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

SELECT is_empty(
    $$SELECT c.relname FROM pg_class AS c
      WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind = 'r'
        AND obj_description(c.oid, 'pg_class') IS NULL$$,
    'every table has a comment'
);

SELECT is_empty(
    $$SELECT c.relname || '.' || a.attname FROM pg_class AS c
      JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind = 'r'
        AND col_description(c.oid, a.attnum) IS NULL$$,
    'every column has a comment'
);

SELECT is_empty(
    $$SELECT r.relname || '.' || k.conname FROM pg_constraint AS k
      JOIN pg_class AS r ON r.oid = k.conrelid
      WHERE k.connamespace = 'concord'::regnamespace AND k.contype = 'c'
        AND obj_description(k.oid, 'pg_constraint') IS NULL$$,
    'every CHECK constraint has a comment'
);

SELECT * FROM finish();
ROLLBACK;
