-- A command becomes validated only with a valid payload, whoever makes the
-- move (only_a_valid_payload_is_validated, spec 13.2).
BEGIN;
SELECT plan(6);

\ir ../lib/kernel_fixtures.sql

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

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'validated' WHERE command_id = %L$$,
           concord_test.id('owner_invalid')),
    'CN005', 'only_a_valid_payload_is_validated',
    'CN005: the owner cannot move a command with a payload that breaks its schema to validated'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'validated' WHERE command_id = %L$$,
           concord_test.id('owner_missing')),
    'CN005', 'only_a_valid_payload_is_validated',
    'CN005: nor one that lacks a required input'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'validated', 'worker')$$, concord_test.id('owner_invalid')),
    'CN005', 'only_a_valid_payload_is_validated',
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

SELECT * FROM finish();
ROLLBACK;
