-- command_catalog lists the registered command types, readable by
-- concord_app and concord_reader.
BEGIN;
SELECT plan(4);

\ir ../lib/kernel_fixtures.sql

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
    $$SELECT 1 / count(*)::integer FROM concord.command_catalog WHERE command_type = 't_hard'$$,
    'concord_app reads command_catalog and sees a type registered here'
);
RESET ROLE;

SET LOCAL ROLE concord_reader;
SELECT lives_ok(
    $$SELECT 1 / count(*)::integer FROM concord.command_catalog WHERE command_type = 't_hard'$$,
    'concord_reader reads command_catalog and sees a type registered here'
);
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
