-- The CHECK constraints of commands, command_types and the state-machine
-- tables, each attacked by name (23514). The guard triggers run first and
-- refuse most of these writes with their own rule, so the writes below run
-- with triggers off (session_replication_role = replica): what is tested is
-- the constraint that still holds when a trigger is bypassed.
BEGIN;
SELECT plan(21);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_columns", "sync_allowed": true}');
END $$;
SELECT concord_test.submit('c', 't_columns') AS fixture \gset

SET LOCAL session_replication_role = replica;

CREATE FUNCTION pg_temp.command_update(assignment text)
RETURNS text
LANGUAGE sql
AS $$ SELECT format('UPDATE concord.commands SET %s WHERE command_id = %L', assignment, concord_test.id('c')) $$;

CREATE FUNCTION pg_temp.type_update(assignment text)
RETURNS text
LANGUAGE sql
AS $$ SELECT format('UPDATE concord.command_types SET %s WHERE command_type = %L', assignment, 't_columns') $$;

SELECT concord_test.throws_rule(pg_temp.command_update($$cancellation_mode = 'abrupt'$$), '23514',
                                'cancellation_mode_is_known');
SELECT concord_test.throws_rule(pg_temp.command_update('cancellation_requested_at = now()'), '23514',
                                'cancellation_request_names_who_and_when');
SELECT concord_test.throws_rule(pg_temp.command_update($$context = '[]'$$), '23514', 'context_is_an_object');
SELECT concord_test.throws_rule(pg_temp.command_update($$idempotency_key = ''$$), '23514',
                                'idempotency_key_is_not_blank');
SELECT concord_test.throws_rule(pg_temp.command_update($$ingress = ' '$$), '23514', 'ingress_is_not_blank');
SELECT concord_test.throws_rule(pg_temp.command_update($$requested_by = ' '$$), '23514', 'requested_by_is_not_blank');
SELECT concord_test.throws_rule(pg_temp.command_update('run_seq = -1'), '23514', 'run_seq_is_not_negative');
SELECT concord_test.throws_rule(pg_temp.command_update($$trace_id = ''$$), '23514', 'trace_id_is_not_blank');
SELECT concord_test.throws_rule(pg_temp.command_update($$updated_at = created_at - interval '1 second'$$), '23514',
                                'updated_at_is_not_before_created_at');

SELECT concord_test.throws_rule(pg_temp.type_update($$command_type = 'Not An Identifier'$$), '23514',
                                'command_type_is_an_identifier');
SELECT concord_test.throws_rule(pg_temp.type_update('cost_budget = -1'), '23514', 'cost_budget_is_not_negative');
SELECT concord_test.throws_rule(pg_temp.type_update($$default_cancellation_mode = 'abrupt'$$), '23514',
                                'default_cancellation_mode_is_known');
SELECT concord_test.throws_rule(pg_temp.type_update($$required_inputs = ARRAY[NULL::text]$$), '23514',
                                'lists_hold_no_nulls');
SELECT concord_test.throws_rule(pg_temp.type_update('max_attempts = 101'), '23514',
                                'max_attempts_is_between_1_and_100');
SELECT concord_test.throws_rule(pg_temp.type_update($$metadata = '[]'$$), '23514', 'metadata_is_an_object');
SELECT concord_test.throws_rule(pg_temp.type_update($$name = ' '$$), '23514', 'name_is_not_blank');
SELECT concord_test.throws_rule(pg_temp.type_update($$over_budget = 'ignore'$$), '23514', 'over_budget_is_known');
SELECT concord_test.throws_rule(pg_temp.type_update($$payload_schema = '"a string"'$$), '23514',
                                'payload_schema_is_an_object_or_boolean');
SELECT concord_test.throws_rule(pg_temp.type_update($$risk_level = 'extreme'$$), '23514', 'risk_level_is_known');

SELECT concord_test.throws_rule(
    $$UPDATE concord.command_statuses SET status = 'Not-A-Word' WHERE status = 'expired'$$,
    '23514', 'status_is_a_lowercase_word');
SELECT concord_test.throws_rule(
    $$UPDATE concord.command_transitions SET to_status = from_status
      WHERE from_status = 'created' AND to_status = 'validated'$$,
    '23514', 'a_transition_changes_the_status');

SET LOCAL session_replication_role = origin;

SELECT * FROM finish();
ROLLBACK;
