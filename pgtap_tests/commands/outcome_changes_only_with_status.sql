-- Outcomes change only with a status: a command's result, error and
-- completion (outcome_changes_only_with_status) and an effect's workflow,
-- result, error and times (effect_outcome_changes_only_with_status) are not
-- written without a status change. Catalog writes made directly by the owner
-- are checked and audited like register_command_type's; a cancellation keeps
-- its mode (a_cancellation_keeps_its_mode); an effect fails with an error.
BEGIN;
SELECT plan(14);

\ir ../lib/kernel_fixtures.sql

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

SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.domain_effects (command_id, effect_type) VALUES (%L, 'email.send')$$,
           concord_test.id('ended')),
    'CN011', 'effects_are_planned_only_for_a_running_command',
    'CN011: the owner cannot INSERT an effect for a terminal command directly'
);

SELECT concord_test.command_at('t_hard', 'running', 'replayed') IS NOT NULL AS fixture \gset
INSERT INTO concord_test.fixture (label, id)
VALUES ('keyed_effect', concord.plan_effect(concord_test.id('replayed'), 'email.send', '{}', 'hard-key-1'));
SELECT concord_test.move_as_run(concord_test.id('replayed'), 'succeeded', 'worker') AS fixture \gset

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

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.command_types (command_type, name, payload_schema)
      VALUES ('t_hard_direct', 'direct', '{"$ref": "#/nope"}')$$,
    'CN005', 'payload_schema_is_a_usable_json_schema',
    'CN005: a direct INSERT into command_types with an invalid schema is refused'
);

SELECT lives_ok(
    $$SELECT concord_test.new_catalog_version('command_type', 't_hard_valid',
                                              '{"payload_schema": {"type": "object", "required": ["n"]}}')$$,
    'a new version with a valid payload_schema is projected into its catalog row'
);

SELECT is(
    (SELECT version FROM concord.command_types WHERE command_type = 't_hard_valid'),
    :catalog_version + 1,
    'the projection bumped the catalog counter'
);

SELECT row_eq(
    $$SELECT actor = session_user, (payload ->> 'version')::integer, payload -> 'definition' -> 'payload_schema'
      FROM concord.domain_events
      WHERE event_type = 'command_type_registered' AND target_id = 't_hard_valid'
      ORDER BY event_seq DESC LIMIT 1$$,
    ROW(true, :catalog_version + 1, '{"type": "object", "required": ["n"]}'::jsonb),
    'the projection wrote a command_type_registered audit event with the new version and schema'
);

-- ===========================================================================
-- 9. A cancellation keeps its mode; an effect fails with an error
-- ===========================================================================
SELECT concord_test.command_at('t_hard', 'running', 'being_cancelled') IS NOT NULL AS fixture \gset
SELECT concord.cancel_command(concord_test.id('being_cancelled'), 'operator', 'stop') AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.cancel_command(%L, 'operator', 'again', 'compensate_then_stop')$$,
           concord_test.id('being_cancelled')),
    'CN011', 'a_cancellation_keeps_its_mode',
    'CN011: cancel_command with a different mode on a command already being cancelled'
);

INSERT INTO concord_test.fixture (label, id)
VALUES ('executing_effect', concord.plan_effect(concord_test.id('outcome'), 'email.send', '{"n": 2}'));
SELECT concord.start_effect(concord_test.id('executing_effect'), concord_test.workflow_of('outcome')) AS fixture \gset

SELECT concord_test.throws_rule(
    format($$SELECT concord.fail_effect(%L, NULL, 'transient_connector_error')$$, concord_test.id('executing_effect')),
    'CN008', 'required_argument_is_not_blank',
    'CN008: fail_effect with a NULL error'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.fail_effect(%L, ' ', 'transient_connector_error')$$, concord_test.id('executing_effect')),
    'CN008', 'required_argument_is_not_blank',
    'CN008: fail_effect with a blank error'
);

SELECT is(
    (SELECT status FROM concord.domain_effects WHERE domain_effect_id = concord_test.id('executing_effect')),
    'executing',
    'the refused fail_effect calls left the effect executing'
);

SELECT * FROM finish();
ROLLBACK;
