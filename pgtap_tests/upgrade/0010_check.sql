-- After `concord migrate` (0010 and the sql/ files) on the data of
-- 0010_fixture.sql: the command is as it was, the listing indexes are there
-- and the redundant ones gone.
BEGIN;
SELECT plan(6);

SELECT ok(EXISTS (SELECT FROM concord.schema_migrations WHERE version = 10),
          'concord.schema_migrations lists version 10');
SELECT results_eq(
    $$SELECT command_id::text, status, payload FROM concord.commands
      WHERE command_id = '00000000-0000-0000-0000-000000000101'$$,
    $$VALUES ('00000000-0000-0000-0000-000000000101', 'succeeded', '{"n": 10}'::jsonb)$$,
    'the command from before 0010 survived as it was'
);
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
