-- The CHECK constraints of domain_effects and effect_transitions, each
-- attacked by name (23514) with the guard triggers bypassed, so the
-- constraint itself is what refuses; and an effect's outcome changes only
-- with its status (through the guard).
BEGIN;
SELECT plan(7);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_effect_rows", "sync_allowed": true}');
END $$;
SELECT concord_test.command_at('t_effect_rows', 'running', 'c') IS NOT NULL AS fixture \gset
INSERT INTO concord_test.fixture (label, id)
VALUES ('e', concord.plan_effect(concord_test.id('c'), 'email.send', '{}', 'effect-rows-1'));

SELECT concord_test.throws_rule(
    format($$UPDATE concord.domain_effects SET result = '{"forged": true}' WHERE domain_effect_id = %L$$,
           concord_test.id('e')),
    'CN007', 'effect_outcome_changes_only_with_status');

SET LOCAL session_replication_role = replica;

CREATE FUNCTION pg_temp.effect_update(assignment text)
RETURNS text
LANGUAGE sql
AS $$ SELECT format('UPDATE concord.domain_effects SET %s WHERE domain_effect_id = %L', assignment,
                    concord_test.id('e')) $$;

SELECT concord_test.throws_rule(pg_temp.effect_update('compensates_effect_id = domain_effect_id'), '23514',
                                'an_effect_does_not_compensate_itself');
SELECT concord_test.throws_rule(pg_temp.effect_update($$idempotency_key = ''$$), '23514',
                                'effect_idempotency_key_is_not_blank');
SELECT concord_test.throws_rule(pg_temp.effect_update($$effect_type = ' '$$), '23514', 'effect_type_is_not_blank');
SELECT concord_test.throws_rule(pg_temp.effect_update($$status = 'executing'$$), '23514',
                                'executing_effects_name_their_workflow');
SELECT concord_test.throws_rule(
    pg_temp.effect_update($$status = 'failed', executed_by_dbos_workflow_id = 'wf-rows', error = 'boom'$$),
    '23514', 'failed_effects_are_classified');
SELECT concord_test.throws_rule(
    $$UPDATE concord.effect_transitions SET to_status = from_status WHERE from_status = 'planned'$$,
    '23514', 'an_effect_transition_changes_the_status');

SET LOCAL session_replication_role = origin;

SELECT * FROM finish();
ROLLBACK;
