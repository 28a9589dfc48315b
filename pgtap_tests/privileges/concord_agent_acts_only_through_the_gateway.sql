-- concord_agent reaches the agentic record only through the gateway (spec
-- 28, 60): it may execute the gateway functions and nothing else of the
-- agents domain, and has no privilege on any table or view.
BEGIN;
SELECT plan(8);

-- ===========================================================================
-- Fixtures and helpers
-- ===========================================================================

\ir ../lib/agent_fixtures.sql

-- ===========================================================================
-- Privileges: concord_agent reaches the record only through the gateway
-- ===========================================================================
SELECT ok(
    (SELECT bool_and(has_function_privilege('concord_agent', f, 'EXECUTE')) FROM unnest(ARRAY[
        'concord.submit_agent_action(uuid, jsonb)', 'concord.spawn_subagent(jsonb)',
        'concord.record_agent_step(uuid, jsonb)', 'concord.record_agent_message(uuid, jsonb)',
        'concord.finish_agent_run(uuid, text, jsonb, text)', 'concord.agent_run_state(uuid)',
        'concord.begin_agent_run(uuid, text)', 'concord.agent_command(uuid, uuid)']) AS f),
    'concord_agent may execute the gateway functions'
);
SELECT ok(
    NOT (SELECT bool_or(has_function_privilege('concord_agent', f, 'EXECUTE')) FROM unnest(ARRAY[
        'concord.start_swarm(uuid, jsonb)', 'concord.register_tool(jsonb)',
        'concord.cancel_swarm(uuid, text, text, text)', 'concord.cancel_agent_run(uuid, text, text)',
        'concord.submit_command(text, jsonb, text, text, jsonb, text, text)',
        'concord.runtime_agentic_command(uuid, text)']) AS f),
    'concord_agent may not start swarms, register tools, cancel, submit commands directly or run the runtime side'
);
SELECT ok(
    NOT (SELECT bool_or(has_table_privilege('concord_agent', c.oid, 'SELECT, INSERT, UPDATE, DELETE'))
         FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
         WHERE n.nspname = 'concord' AND c.relkind IN ('r', 'v', 'p')),
    'concord_agent has no privilege on any concord table or view'
);
SELECT is(
    pg_temp.as_role('concord_agent', $$SELECT count(*) FROM concord.agent_runs$$), '42501',
    '42501: concord_agent cannot read agent_runs'
);
SELECT is(
    pg_temp.as_role('concord_agent', format(
        $$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, decision)
          VALUES (%L, %L, 1, 'think', 'recorded')$$, pg_temp.id('rc'), pg_temp.id('pc'))),
    '42501', '42501: concord_agent cannot write a step directly'
);
SELECT is(
    pg_temp.as_role('concord_agent', format($$SELECT concord.start_swarm(%L, '{}')$$, pg_temp.id('pc'))), '42501',
    '42501: concord_agent cannot call start_swarm'
);
SELECT is(
    pg_temp.as_role('concord_agent', format($$SELECT concord.cancel_swarm(%L, 'me')$$, pg_temp.id('R'))), '42501',
    '42501: concord_agent cannot call cancel_swarm'
);
SELECT is(
    pg_temp.as_role('concord_agent', format($$SELECT concord.record_agent_step(%L, '{"action_type": "think"}')$$,
                                            pg_temp.id('rc'))),
    'ok', 'concord_agent records a step through the gateway'
);

SELECT * FROM finish();
ROLLBACK;
