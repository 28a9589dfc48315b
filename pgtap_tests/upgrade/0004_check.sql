-- After `concord migrate` (0004 agents and the sql/ files) on the 0003-era data
-- of 0004_fixture.sql: nothing lost (audit rows that named agent runs never
-- recorded here are kept as they are: the new foreign keys are NOT VALID), the
-- agent tables are empty, the gateway's seeds exist, and the new rules hold.
BEGIN;
SELECT plan(12);

SELECT ok(
    EXISTS (SELECT FROM concord.schema_migrations WHERE version = 4),
    'concord.schema_migrations lists version 4'
);

SELECT results_eq(
    $$SELECT command_id::text, status, requested_by, result FROM concord.commands ORDER BY command_id$$,
    $$VALUES ('00000000-0000-0000-0000-000000000041', 'succeeded', 'agent:loop-1', '{"rows": 3}'::jsonb),
             ('00000000-0000-0000-0000-000000000042', 'validated', 'agent:loop-1', null::jsonb)$$,
    'every command survived'
);

SELECT results_eq(
    $$SELECT agent_run_id::text, swarm_run_id::text, step_index, tool_name FROM concord.domain_events
      WHERE event_type = 'legacy_agent_step'$$,
    $$VALUES ('00000000-0000-0000-0000-0000000000a1', '00000000-0000-0000-0000-0000000000b1', 1, 'legacy_tool')$$,
    'an audit row naming an agent run never recorded here is kept'
);

SELECT is((SELECT count(*) FROM concord.agent_runs), 0::bigint, 'no agent runs after the upgrade');
SELECT is((SELECT count(*) FROM concord.swarm_runs), 0::bigint, 'no swarm runs after the upgrade');

SELECT results_eq(
    $$SELECT tool_name FROM concord.tools WHERE execution_mode = 'gateway' ORDER BY tool_name$$,
    $$VALUES ('create_artifact'), ('evaluate_output'), ('read_artifact'), ('retrieve_memory'),
             ('spawn_subagent'), ('write_memory')$$,
    'the gateway tools are seeded'
);

SELECT results_eq(
    $$SELECT name, kind FROM concord.policies WHERE name IN ('spawn_scope', 'agent_tool', 'memory_write') ORDER BY name$$,
    $$VALUES ('agent_tool', 'builtin'), ('memory_write', 'builtin'), ('spawn_scope', 'builtin')$$,
    'the gateway''s built-in policies are seeded'
);

SELECT results_eq(
    $$SELECT command_type, policy_checks FROM concord.command_types
      WHERE command_type IN ('spawn_subagent', 'concord.write_memory', 'concord.swarm_review') ORDER BY command_type$$,
    $$VALUES ('concord.swarm_review', '{}'::text[]), ('concord.write_memory', '{memory_write}'::text[]),
             ('spawn_subagent', '{spawn_scope}'::text[])$$,
    'the gateway''s command types are seeded'
);

SELECT ok(
    EXISTS (SELECT FROM pg_roles WHERE rolname = 'concord_agent'),
    'the concord_agent role exists'
);

SELECT throws_ok(
    $$INSERT INTO concord.domain_events (agent_run_id, purpose, event_type, actor, trace_id)
      VALUES ('00000000-0000-0000-0000-0000000000a9', 'audit', 'x', 'someone', 't')$$,
    '23503',
    NULL,
    'a new audit row must name a recorded agent run'
);

SELECT lives_ok(
    $$SELECT concord.start_swarm('00000000-0000-0000-0000-000000000042',
        '{"name": "after_upgrade", "objective": "check", "coordinator": {"agent_name": "c"}}')$$,
    'a swarm starts under a command made before the upgrade'
);

SELECT is(
    (SELECT live_agents FROM concord.swarm_runs WHERE name = 'after_upgrade'),
    1,
    'its coordinator is live and counted'
);

SELECT * FROM finish();
ROLLBACK;
