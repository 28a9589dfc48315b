-- After `concord migrate` (0009 and the sql/ files) on the 0008-era data of
-- 0009_fixture.sql: domain_events is partitioned by month, every row kept as
-- it was in the initial partition, event_seq going on after the last one, the
-- rules and views in place.
BEGIN;
SELECT * FROM no_plan();

SELECT ok(EXISTS (SELECT FROM concord.schema_migrations WHERE version = 9),
          'concord.schema_migrations lists version 9');

SELECT is((SELECT relkind::text FROM pg_class WHERE oid = 'concord.domain_events'::regclass), 'p',
          'concord.domain_events is a partitioned table');

SELECT results_eq(
    $$SELECT event_id::text, event_type, coalesce(to_status, ''), payload::text, tableoid::regclass::text
      FROM concord.domain_events WHERE trace_id = 'trace_probe_91' ORDER BY event_seq$$,
    $$VALUES ('00000000-0000-0000-0000-0000000009e1', 'status_changed', 'created', '{}',
              'concord_audit.domain_events_initial'),
             ('00000000-0000-0000-0000-0000000009e2', 'status_changed', 'succeeded', '{"note": "multi\nline"}',
              'concord_audit.domain_events_initial'),
             ('00000000-0000-0000-0000-0000000009e3', 'probe_seen', '', '{}',
              'concord_audit.domain_events_initial'),
             ('00000000-0000-0000-0000-0000000009e4', 'legacy_agent_step', '', '{}',
              'concord_audit.domain_events_initial')$$,
    'every row from before 0009 survived as it was, in event_seq order, in the initial partition'
);

SELECT is(
    (SELECT range_to FROM concord._audit_partitions() WHERE partition_name = 'domain_events_initial'),
    (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC',
    'the initial partition ends with the month of its newest row (this one)'
);

SELECT results_eq(
    $$SELECT event_id::text, tableoid::regclass::text FROM concord.domain_events
      WHERE trace_id = 'trace_probe_ahead' ORDER BY event_seq$$,
    $$VALUES ('00000000-0000-0000-0000-0000000009f1',
              'concord_audit.domain_events_'
              || to_char((now() + interval '7 months') AT TIME ZONE 'UTC', 'YYYY_MM')),
             ('00000000-0000-0000-0000-0000000009f2', 'concord_audit.domain_events_default')$$,
    'rows dated after this month left the initial partition: a month partition each, infinity the default one'
);

SELECT ok(
    EXISTS (SELECT FROM concord._audit_partitions() WHERE is_default)
    AND EXISTS (SELECT FROM concord._audit_partitions()
                WHERE range_from = (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month')
                                   AT TIME ZONE 'UTC'),
    'next month has its partition, and a default partition catches the rest'
);

SELECT ok(
    (SELECT NOT convalidated FROM pg_constraint
     WHERE conrelid = 'concord_audit.domain_events_initial'::regclass AND conname = 'domain_events_agent_run_fkey'),
    'the initial partition keeps 0004''s NOT VALID foreign key to agent runs (the legacy row names none)'
);

INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id)
VALUES ('event', 'after_0009', 'tester', 'trace_after_0009');

SELECT cmp_ok(
    (SELECT event_seq FROM concord.domain_events WHERE trace_id = 'trace_after_0009'), '>',
    (SELECT max(event_seq) FROM concord.domain_events WHERE trace_id <> 'trace_after_0009'),
    'event_seq goes on after the last event recorded before 0009'
);

SELECT throws_ok(
    $$UPDATE concord.domain_events SET actor = 'mallory' WHERE trace_id = 'trace_probe_91'$$,
    'CN007', NULL, 'the old rows are append-only still'
);

SELECT throws_ok(
    'TRUNCATE concord_audit.domain_events_initial',
    'CN007', NULL, 'the initial partition refuses TRUNCATE'
);

SELECT throws_ok(
    $$INSERT INTO concord.domain_events (agent_run_id, purpose, event_type, actor, trace_id)
      VALUES ('00000000-0000-0000-0000-0000000009a2', 'event', 'note', 'tester', 'trace_fk')$$,
    '23503', NULL, 'a new row naming an unknown agent run is refused'
);

SELECT is(
    (SELECT count(*) FROM concord.command_audit WHERE command_id = '00000000-0000-0000-0000-000000000091'),
    2::bigint,
    'the views reading domain_events were recreated on the partitioned table'
);

SELECT ok((SELECT retain_for IS NULL FROM concord.audit_retention), 'retention is off: everything is kept');

-- == listing indexes ==
SELECT indexes_are('concord', 'commands',
    ARRAY['commands_pkey', 'commands_status_updated_at_idx', 'commands_dbos_workflow_id_key',
          'idempotency_key_is_unique', 'commands_contract_version_idx', 'commands_created_at_idx',
          'commands_status_created_at_idx'],
    'commands has the listing indexes and no index on project_id alone');
SELECT has_index('concord', 'agent_steps', 'agent_steps_swarm_run_idx', 'agent_steps are found by swarm');
SELECT hasnt_index('concord', 'agent_steps', 'idx_agent_steps_agent_run_id',
                   'agent_steps has no index on agent_run_id alone (one_step_per_index leads with it)');
SELECT has_index('concord', 'swarm_runs', 'swarm_runs_created_at_idx', 'swarm runs are listed newest first');

SELECT * FROM finish();
ROLLBACK;
