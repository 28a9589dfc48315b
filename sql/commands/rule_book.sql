-- The rules of the commands domain: each rule its code raises (CONSTRAINT = ...)
-- with its table, SQLSTATE and one sentence of meaning. concord.rules lists
-- them (sql/support/rules.sql).
CREATE OR REPLACE FUNCTION concord._rule_book_commands()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        ('the_command_exists', null::text, 'CN006',
         'A command named by its id exists.'),
        ('only_the_current_run_drives_a_command', 'commands', 'CN012',
         'A command moves into running, from running to its outcome (succeeded, failed, cancelled), '
         'and along its cancellation and compensation path only by the worker step of its current '
         'run (its bound workflow, or <workflow>/cancel), or the kernel running one of its own '
         'command types inline; an operator may still move it from running to blocked.'),
        ('a_caller_waits_between_0_and_3600_seconds', null, 'CN008',
         'A caller waits for a command (concord.await_command, concord.call_command) between 0 and '
         '3600 seconds; a longer wait polls concord.command_outcome (spec 29).'),
        ('a_caller_waits_only_for_a_committed_command', null, 'CN011',
         'A caller waits only for a command whose last change is committed: no worker can move one '
         'the waiting transaction itself wrote before it commits (spec 29).'),
        ('a_sync_call_is_made_outside_a_transaction_block', null, 'CN011',
         'concord.call_command is CALLed outside a transaction block: it commits the submission '
         'before it waits, which a procedure cannot do inside one (refused by name inside a block '
         'that already wrote; in one that has not, PostgreSQL refuses its COMMIT and nothing is '
         'submitted).'),
        ('a_caller_waits_in_a_read_committed_transaction', null, 'CN011',
         'A caller waits for an unanswered command only in a READ COMMITTED transaction: a '
         'REPEATABLE READ or SERIALIZABLE one keeps its snapshot and would never see the worker '
         'finish it (call_command waits READ COMMITTED whatever the session''s default).'),
        ('a_page_holds_1_to_500_rows', null, 'CN008',
         'A page of concord.list_commands holds between 1 and 500 rows.'),
        ('a_cursor_is_one_a_listing_gave', null, 'CN008',
         'The cursor given to concord.list_commands is a next_cursor it answered, unchanged.'),
        ('a_batch_is_a_json_array', null, 'CN008',
         'concord.submit_commands takes a JSON array of commands.'),
        ('a_batch_holds_1_to_1000_commands', null, 'CN008',
         'A batch of concord.submit_commands holds between 1 and 1000 commands.'),
        ('a_batch_item_is_a_command', null, 'CN008',
         'Each item of a batch is a JSON object naming only command_type, payload, context, '
         'idempotency_key, cancellation_mode and ingress, the first four text where text is due.'),
        ('only_a_failed_command_is_retried', null, 'CN011',
         'concord.retry_command queues again only a command that failed; explain says what holds '
         'any other.'),
        ('command_status_is_known', null, 'CN008',
         'A status given to the API is one of concord.command_statuses.'),
        ('command_type_is_registered', null, 'CN009',
         'A command (or a plan for one) names a command type registered with '
         'concord.register_command_type.'),
        ('command_type_spec_is_valid', null, 'CN005',
         'A command type spec given to concord.register_command_type has no problem; the refusal '
         'lists every one.'),
        ('payload_is_not_null', null, 'CN005',
         'A submitted command has a payload; a command without input passes ''{}''.'),
        ('context_is_a_json_object', null, 'CN008',
         'The context of a submitted command is a JSON object.'),
        ('idempotency_key_has_at_most_1000_characters', null, 'CN008',
         'An idempotency key is at most 1000 characters long: derive it from the request, do not '
         'send the request.'),
        ('cancellation_mode_is_graceful_or_compensate_then_stop', null, 'CN008',
         'A cancellation mode given to the API is graceful or compensate_then_stop (spec 30).'),
        ('an_idempotency_key_names_one_request', null, 'CN002',
         'A replayed idempotency key comes with the same command type and payload as the first '
         'request (spec 11).'),
        ('a_concurrently_taken_idempotency_key_is_retried', null, '40001',
         'Under REPEATABLE READ or SERIALIZABLE, a submission whose key a concurrent transaction '
         'took is a serialization failure the caller retries, since the winner is not visible '
         '(PostgreSQL''s own ON CONFLICT check refuses first, with no rule name; this rule '
         'stands behind it).'),
        ('a_move_is_repeated_only_by_its_actor', null, 'CN001',
         'Moving a command to the status it already has is a replay, allowed only to the actor who '
         'made that move.'),
        ('a_reached_status_keeps_its_outcome', null, 'CN002',
         'A replayed move brings the same result and error as the first: an outcome is not '
         'rewritten.'),
        ('a_cancellation_keeps_its_mode', null, 'CN011',
         'A command already being cancelled is not asked again with a different cancellation mode.'),
        ('a_new_command_starts_created', 'commands', 'CN001',
         'A command is inserted as created; submission moves it on along the state machine.'),
        ('command_type_is_registered', 'commands', 'CN009',
         'A submitted command names a registered command type.'),
        ('a_submission_follows_the_state_machine', 'commands', 'CN001',
         'The path a submission takes on insert (created, validated, then queued or waiting) is '
         'made of edges of command_transitions.'),
        ('a_status_change_follows_the_state_machine', 'commands', 'CN001',
         'A command changes status only along an edge of concord.command_transitions (spec 12).'),
        ('a_terminal_command_never_changes', 'commands', 'CN007',
         'A command in a terminal status (succeeded, failed, cancelled, expired) never changes '
         'again.'),
        ('command_identity_is_immutable', 'commands', 'CN007',
         'A command keeps its id, type, requester, ingress, idempotency key, trace id and creation '
         'time.'),
        ('a_cancellation_request_is_immutable', 'commands', 'CN007',
         'Once a cancellation is requested, who asked, when and in which mode never change.'),
        ('payload_and_context_change_only_while_awaiting_input', 'commands', 'CN007',
         'The payload and context of a command change only while it is created or '
         'waiting_for_input.'),
        ('graceful_cancellation_does_not_compensate', 'commands', 'CN001',
         'A command cancelling gracefully stops without compensating; only compensate_then_stop '
         'compensates (spec 30).'),
        ('compensate_then_stop_compensates_before_cancelled', 'commands', 'CN001',
         'A command cancelling with compensate_then_stop passes through compensating and '
         'compensated before it is cancelled.'),
        ('compensate_then_stop_goes_through_cancelling', 'commands', 'CN001',
         'A running or blocked command cancelled with compensate_then_stop goes through cancelling '
         'and compensating, never straight to cancelled.'),
        ('compensation_after_a_failure_is_final', 'commands', 'CN001',
         'A command compensated after a failure, not a cancellation, stays compensated.'),
        ('a_command_runs_after_its_dependencies_are_met', 'commands', 'CN001',
         'A command starts running only when every command it depends on has reached the required '
         'status (spec 13.4).'),
        ('a_command_asked_to_cancel_is_not_retried', 'commands', 'CN001',
         'A command someone asked to cancel is never retried.'),
        ('a_logical_failure_is_not_retried', 'commands', 'CN001',
         'A command that failed with an error class that is not retryable is not retried; submit a '
         'new one (spec 32).'),
        ('a_command_is_not_requeued_past_its_max_attempts', 'commands', 'CN011',
         'A command is not queued again (from failed or blocked) once as many of its runs have begun '
         'as its type''s max_attempts allows.'),
        ('attempts_are_counted_only_when_a_run_begins', 'commands', 'CN007',
         'A command''s attempts is counted by the kernel when a run begins; no one sets it.'),
        ('only_a_valid_payload_is_validated', 'commands', 'CN005',
         'A command becomes validated only when its payload matches its type''s schema, whoever '
         'makes the move.'),
        ('outcome_changes_only_with_status', 'commands', 'CN007',
         'The result, error and completion time of a command change only together with its status.'),
        ('commands_are_not_deleted', 'commands', 'CN007',
         'Commands are durable history: no row of commands is deleted.'),
        ('commands_are_not_truncated', 'commands', 'CN007',
         'Commands are durable history: the table is never truncated.'),
        ('payload_schema_is_a_usable_json_schema', 'command_types', 'CN005',
         'A command type''s payload_schema is a JSON Schema the kernel can validate payloads with.'),
        ('policy_checks_name_registered_policies', 'command_types', 'CN005',
         'Every policy a command type names in policy_checks is registered.'),
        ('state_machine_is_read_only', 'command_statuses', 'CN007',
         'The command statuses are part of the state machine and change only through a migration.'),
        ('state_machine_is_not_truncated', 'command_statuses', 'CN007',
         'The command statuses are never truncated.'),
        ('state_machine_is_read_only', 'command_transitions', 'CN007',
         'The command transitions are part of the state machine and change only through a '
         'migration.'),
        ('state_machine_is_not_truncated', 'command_transitions', 'CN007',
         'The command transitions are never truncated.')
$$;
