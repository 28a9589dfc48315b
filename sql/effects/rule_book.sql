-- The rules of the effects domain: each rule its code raises (CONSTRAINT = ...)
-- with its table, SQLSTATE and one sentence of meaning. concord.rules lists
-- them (sql/support/rules.sql).
CREATE OR REPLACE FUNCTION concord._rule_book_effects()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        ('the_effect_exists', null::text, 'CN006',
         'An effect named by its id exists.'),
        ('an_effect_idempotency_key_names_one_effect', null, 'CN002',
         'A replayed effect idempotency key comes with the same command, type, payload and '
         'compensation as the first effect.'),
        ('a_concurrently_taken_effect_key_is_retried', null, '40001',
         'Under REPEATABLE READ or SERIALIZABLE, planning an effect whose key a concurrent '
         'transaction took is a serialization failure the caller retries (PostgreSQL''s own '
         'ON CONFLICT check refuses first, with no rule name; this rule stands behind it).'),
        ('a_finished_effect_keeps_its_outcome', null, 'CN002',
         'A replayed completion or failure of an effect brings the same result or error as the '
         'first.'),
        ('a_new_effect_starts_planned', 'domain_effects', 'CN001',
         'An effect is inserted as planned.'),
        ('effects_are_planned_only_for_a_running_command', 'domain_effects', 'CN011',
         'An effect is planned only while its command is running (a compensation: while it is '
         'compensating), whoever writes.'),
        ('effects_start_only_for_a_running_command', 'domain_effects', 'CN011',
         'An effect starts executing only while its command is running (a compensation: while it '
         'is compensating), whoever writes.'),
        ('only_the_current_run_drives_its_effects', 'domain_effects', 'CN012',
         'An effect is planned, started (for the run that starts it) and finished only by the worker '
         'step of its command''s current run; a run the command no longer has is refused.'),
        ('the_compensated_effect_exists', 'domain_effects', 'CN006',
         'The effect a compensation compensates exists.'),
        ('a_compensation_belongs_to_the_same_command', 'domain_effects', 'CN008',
         'A compensating effect is planned on the command of the effect it compensates, or on the '
         'command a swarm works for when one of its agents asked for that command and it has '
         'finished (spec 65).'),
        ('an_effect_is_countered_by_one_command', 'domain_effects', 'CN011',
         'An effect is countered by one command only: while a compensation of it planned, executing '
         'or succeeded belongs to one command (its own, say), another (the swarm''s command) does '
         'not plan one; only a failed compensation is tried again elsewhere.'),
        ('an_effect_status_change_follows_the_state_machine', 'domain_effects', 'CN001',
         'An effect changes status only along an edge of concord.effect_transitions: planned, '
         'executing, then succeeded or failed.'),
        ('a_finished_effect_never_changes', 'domain_effects', 'CN007',
         'An effect in a terminal status (succeeded or failed) never changes again.'),
        ('effect_identity_is_immutable', 'domain_effects', 'CN007',
         'An effect keeps its id, command, type, payload, idempotency key, compensation and '
         'creation time.'),
        ('an_effect_keeps_its_workflow', 'domain_effects', 'CN007',
         'The DBOS workflow that executes an effect, once recorded, never changes.'),
        ('effect_outcome_changes_only_with_status', 'domain_effects', 'CN007',
         'The workflow, result, error and times of an effect change only together with its status.'),
        ('effects_are_not_deleted', 'domain_effects', 'CN007',
         'Effects are durable history: no row of domain_effects is deleted.'),
        ('effects_are_not_truncated', 'domain_effects', 'CN007',
         'Effects are durable history: the table is never truncated.'),
        ('state_machine_is_read_only', 'effect_statuses', 'CN007',
         'The effect statuses are part of the state machine and change only through a migration.'),
        ('state_machine_is_not_truncated', 'effect_statuses', 'CN007',
         'The effect statuses are never truncated.'),
        ('state_machine_is_read_only', 'effect_transitions', 'CN007',
         'The effect transitions are part of the state machine and change only through a '
         'migration.'),
        ('state_machine_is_not_truncated', 'effect_transitions', 'CN007',
         'The effect transitions are never truncated.')
$$;
