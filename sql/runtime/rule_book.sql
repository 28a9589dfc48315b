-- The rules of the runtime domain: each rule its code raises (CONSTRAINT = ...)
-- with its table, SQLSTATE and one sentence of meaning. concord.rules lists
-- them (sql/support/rules.sql).
CREATE OR REPLACE FUNCTION concord._rule_book_runtime()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        ('connector_capabilities_are_strings', null::text, 'CN005',
         'The capabilities of a connector spec are an array of strings.'),
        ('connector_spec_is_valid', null, 'CN005',
         'A connector spec given to concord.register_connector fits the connectors table (names '
         'are lowercase identifiers, config is an object, risk_level is known).'),
        ('queue_spec_is_valid', null, 'CN005',
         'A queue spec given to concord.register_queue fits the runtime_queues table (positive '
         'concurrencies and rate limit, a rate limit with its period, a sane polling interval).'),
        ('the_operation_catalog_is_a_json_array', null, 'CN005',
         'The operation catalog a worker registers is a JSON array.'),
        ('operation_catalog_is_valid', null, 'CN005',
         'Each entry of an operation catalog is an operation or a compensation with known keys of the '
         'right types, and the catalog is one the worker''s validator accepts (spec 31.2): each '
         'command type and compensation once, a compensation for whatever requires one, known '
         'targets, one compensation per target, counter-effects that are inverses, chains at most 2 '
         'deep, no cycle, no runtime capability DBOS lacks; the refusal lists every problem.'),
        ('the_queue_is_registered', null, 'CN009',
         'A queue named by an operation or a schedule was added with concord.register_queue.'),
        ('a_connector_invocation_is_a_json_object', null, 'CN008',
         'The invocation given to concord.record_connector_invocation is a JSON object whose '
         'command_id (and domain_effect_id, when given) are uuids.'),
        ('a_connector_call_is_the_one_its_effect_names', 'connector_invocations', 'CN012',
         'A connector is called for an effect only when the effect names it (payload.connector and '
         'payload.capability), checked against the contract again right before the call '
         '(runtime_call_effect); a connector invocation recorded for an effect is the call that '
         'effect names, of the same command.'),
        ('the_dbos_system_schema_is_installed', null, 'CN015',
         'Work is handed to the runtime only in a database where DBOS''s system schema is '
         'installed (concord migrate installs it).'),
        ('notification_channel_is_app_or_email', null, 'CN008',
         'A notification is stored for the app or email channel.'),
        ('a_notification_idempotency_key_names_one_notification', null, 'CN002',
         'A replayed notification idempotency key comes with the same channel, recipient, subject, '
         'body and command as the first.'),
        ('a_schedule_cron_is_valid', 'schedules', 'CN005',
         'A schedule''s cron is one DBOS''s scheduler can run, as its parser (croniter, at the '
         'worker''s version) reads it: five fields, six with seconds first, or an @alias, firing '
         'at least once.'),
        ('schedule_spec_is_valid', null, 'CN005',
         'A schedule spec given to concord.register_schedule fits the schedules table (a '
         'lowercase name, an object payload template, a boolean enabled).'),
        ('the_schedule_tick_is_given', null, 'CN008',
         'concord.submit_scheduled is given the tick (not NULL) it submits for.'),
        ('the_schedule_exists', null, 'CN006',
         'A schedule named by its name exists.'),
        ('runtime_event_type_is_known', null, 'CN008',
         'A worker audits only the runtime events Concord knows (compensation_started, '
         'compensation_completed, compensation_drift, compensation_halted, operation_cancelled).'),
        ('only_the_current_workflow_acts_for_its_command', null, 'CN011',
         'A worker step acts for a command only from the command''s current workflow (or the one '
         'finishing its cancellation).'),
        ('a_cancellation_follow_up_begins_only_compensations', null, 'CN011',
         'The workflow finishing a command''s cancellation (<id>/cancel) begins compensations, never '
         'an effect of the operation.'),
        ('a_connector_is_called_only_by_the_run_that_began_its_effect', null, 'CN011',
         'A worker calls an effect''s connector only from the workflow that began the effect, while '
         'that workflow is the command''s current run and the command runs (not a DBOS fork, nor a '
         'run resumed after its command ended).'),
        ('only_a_running_command_starts_effects', null, 'CN011',
         'A worker begins a new effect only for a running command.'),
        ('compensations_run_only_while_compensating', null, 'CN011',
         'A worker begins a compensation only while its command is compensating.'),
        ('a_workflow_binding_changes_only_while_queued', 'commands', 'CN007',
         'A command''s workflow binding (dbos_workflow_id, run_seq, queue_name) changes only while '
         'it is queued: bound when its dependencies are met, released while one is unmet or by its '
         'own run when its worker has no operation for the type.'),
        ('a_worker_heartbeats_only_for_its_own_executor_id', 'workers', 'CN012',
         'A worker''s row of concord.workers is written only from the session holding that executor '
         'id''s advisory lock.'),
        ('silent_for_is_at_least_a_second', null, 'CN008',
         'runtime_orphaned_executors is given a silence of at least one second.'),
        ('connector_config_holds_no_raw_secret', 'connectors', 'CN005',
         'A connector''s config references secrets as env://NAME or file://PATH and never holds '
         'one.'),
        ('connector_capabilities_hold_no_null', 'connectors', 'CN005',
         'A connector''s capabilities hold no null.'),
        ('connector_invocations_are_append_only', 'connector_invocations', 'CN007',
         'Connector invocations are append-only: none is updated or deleted.'),
        ('connector_invocations_are_not_truncated', 'connector_invocations', 'CN007',
         'The connector invocations table is never truncated.'),
        ('connectors_are_not_truncated', 'connectors', 'CN007',
         'Connectors are removed row by row, each removal audited: a TRUNCATE, which would skip the '
         'audit, is refused (the table owner''s included).'),
        ('runtime_queues_are_not_truncated', 'runtime_queues', 'CN007',
         'Queues are removed row by row, each removal audited: a TRUNCATE is refused.'),
        ('schedules_are_not_truncated', 'schedules', 'CN007',
         'Schedules are removed row by row, each removal audited: a TRUNCATE is refused.'),
        ('only_read_at_changes_and_only_once', 'notifications', 'CN007',
         'Of a notification only read_at changes, and only once.'),
        ('notifications_are_not_deleted', 'notifications', 'CN007',
         'Notifications are kept: none is deleted.'),
        ('notifications_are_not_truncated', 'notifications', 'CN007',
         'The notifications table is never truncated.'),
        ('a_schedule_name_is_one_projects', 'schedules', 'CN011',
         'A schedule name belongs to one project: registering it from another project is refused.'),
        ('an_operation_calls_only_the_connectors_its_command_type_declares', 'domain_effects', 'CN012',
         'An effect (and a recorded connector invocation) calls only a connector its command type '
         'declares in connector_requirements (the connector, or connector:capability); the built-in '
         'notification connector is also declared by notification_required. A compensation of another '
         'command''s effect (a swarm''s command countering its agents'' effects) calls within that '
         'command''s contract.'),
        ('a_connector_is_called_only_for_its_declared_capabilities', 'domain_effects', 'CN012',
         'A connector registered with capabilities is called only for one of them.'),
        ('an_agents_command_calls_only_connectors_in_its_scope', 'domain_effects', 'CN012',
         'A command an agent''s tool created calls only connectors in the agent run''s '
         'allowed_connectors (spec 61).')
$$;
