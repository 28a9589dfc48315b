-- Cancelling a swarm, or its command, in compensate_then_stop goes through
-- even when some of its pending work gets cancelled by another path on the
-- way (spec 64): a project member made one of an agent's queued tool
-- commands wait for another (add_dependency), so cancelling the first
-- cancels the second gracefully in the same cascade. The cascade leaves that
-- cancellation as it is (a_cancellation_keeps_its_mode) instead of failing
-- with CN011 and leaving the swarm, its agents and its queued work running.
BEGIN;
SELECT plan(8);

\ir ../lib/agent_fixtures.sql

-- Two queued jobs of the agent run remembered as agent, <prefix>_j1 and
-- <prefix>_j2, the later (in the cascade's order) waiting for the earlier.
CREATE FUNCTION pg_temp.chained_jobs(agent text, prefix text)
RETURNS void
LANGUAGE plpgsql
AS $$
DECLARE
    one uuid := (pg_temp.act(agent, '{"tool_name": "bg.job", "payload": {"n": 1}}') ->> 'command_id')::uuid;
    two uuid := (pg_temp.act(agent, '{"tool_name": "bg.job", "payload": {"n": 2}}') ->> 'command_id')::uuid;
BEGIN
    PERFORM pg_temp.remember(prefix || '_j1', least(one, two));
    PERFORM pg_temp.remember(prefix || '_j2', greatest(one, two));
    PERFORM concord.add_dependency(pg_temp.id(prefix || '_j2'), pg_temp.id(prefix || '_j1'));
END
$$;

-- ===========================================================================
-- The swarm is cancelled
-- ===========================================================================
SELECT pg_temp.chained_jobs('coord', 'g') AS fixture;
SELECT is(concord_test.status('g_j1') || '/' || concord_test.status('g_j2') || '/'
          || (concord_test.command('g_j2')).cancellation_mode, 'queued/queued/graceful',
          'fixture: two queued jobs (graceful by default), the second waiting for the first');
SELECT is(pg_temp.outcome(format($$SELECT concord.cancel_swarm(%L, 'alice', 'stop', 'compensate_then_stop')$$,
                                 pg_temp.id('G'))), 'ok',
          'cancelling the swarm in compensate_then_stop succeeds');
SELECT is((pg_temp.swarm('G')).status || '/' || (pg_temp.run('coord')).status, 'cancelled/cancelled',
          'the swarm and its coordinator are cancelled');
SELECT is(concord_test.status('g_j1') || '/' || concord_test.status('g_j2'), 'cancelled/cancelled',
          'both jobs are cancelled');
SELECT is((concord_test.command('g_j2')).cancellation_mode, 'graceful',
          'the job its dependency cancelled keeps that cancellation''s mode');

-- ===========================================================================
-- The command the swarm works for is cancelled
-- ===========================================================================
SELECT concord_test.remember('P2', concord.start_swarm(pg_temp.id('pc2'),
    '{"name": "second", "objective": "queue jobs", "coordinator": {"agent_name": "p2c", "allowed_tools": ["bg.job"]}}'))
       IS NOT NULL AS fixture;
SELECT concord_test.remember('p2c', (pg_temp.swarm('P2')).coordinator_agent_run_id) IS NOT NULL AS fixture;
SELECT pg_temp.chained_jobs('p2c', 'p') AS fixture;
SELECT is(pg_temp.outcome(format($$SELECT concord.cancel_command(%L, 'alice', 'stop', 'compensate_then_stop')$$,
                                 pg_temp.id('pc2'))), 'ok',
          'cancelling the swarm''s command in compensate_then_stop succeeds');
SELECT is(concord_test.status('pc2') || '/' || (pg_temp.swarm('P2')).status, 'cancelled/cancelled',
          'the command and its swarm are cancelled');
SELECT is(concord_test.status('p_j1') || '/' || concord_test.status('p_j2'), 'cancelled/cancelled',
          'both of its agent''s jobs are cancelled');

SELECT * FROM finish();
ROLLBACK;
