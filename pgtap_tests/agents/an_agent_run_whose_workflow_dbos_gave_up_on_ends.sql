-- No agent run is left live when nothing will run it again (issue 13): an
-- agent run whose DBOS workflow ended ERROR, or was dead-lettered
-- (MAX_RECOVERY_ATTEMPTS_EXCEEDED, after a worker crashed on it time after
-- time), fails, saying why; a coordinator's failure settles its swarm and
-- cancels its live children. The reconciler every worker runs does it. Runs
-- whose workflow is alive are left alone.
BEGIN;
SELECT plan(10);

\ir ../lib/agent_fixtures.sql

-- A swarm run by the runtime 'x' under the parent command pc2, its
-- coordinator remembered as coordinator.
CREATE FUNCTION pg_temp.runtime_swarm(label text, coordinator text)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    s uuid := concord.start_swarm(pg_temp.id('pc2'), jsonb_build_object(
        'name', label, 'objective', 'o', 'runtime', 'x',
        'coordinator', jsonb_build_object('agent_name', coordinator,
                                          'allowed_tools', '["spawn_subagent", "sql.read"]'::jsonb)));
BEGIN
    PERFORM pg_temp.remember(label, s);
    RETURN pg_temp.remember(coordinator, (pg_temp.swarm(label)).coordinator_agent_run_id);
END
$$;

CREATE FUNCTION pg_temp.dbos_is(label text, dbos_status text)
RETURNS void
LANGUAGE sql
AS $$
    UPDATE dbos.workflow_status SET status = dbos_status, recovery_attempts = 102
    WHERE workflow_uuid = (pg_temp.run(label)).dbos_workflow_id
$$;

SELECT pg_temp.runtime_swarm('S1', 'lead1') AS fixture;
SELECT pg_temp.runtime_swarm('S2', 'lead2') AS fixture;
SELECT pg_temp.runtime_swarm('S3', 'lead3') AS fixture;
SELECT pg_temp.raw_child('lead1', 'kid', depth => 1) AS fixture;
SELECT pg_temp.raw_child('lead2', 'kid2', depth => 1) AS fixture;
SELECT pg_temp.raw_child('lead3', 'kid3', depth => 1) AS fixture;

SELECT is((pg_temp.run('kid')).dbos_workflow_id, 'agent:' || pg_temp.id('kid'),
          'fixture: the child has its own workflow');

-- What DBOS does to them: the child of S1 ends ERROR, S2's coordinator is
-- dead-lettered, S3 keeps running.
SELECT pg_temp.dbos_is('kid', 'ERROR') AS fixture;
SELECT pg_temp.dbos_is('lead2', 'MAX_RECOVERY_ATTEMPTS_EXCEEDED') AS fixture;
SELECT pg_temp.dbos_is('lead3', 'PENDING') AS fixture;

SELECT ok(concord.runtime_reconcile('ex-reconciler') >= 2, 'the reconciler touches the two runs');

SELECT results_eq(
    $$SELECT status, error FROM concord.agent_runs WHERE agent_run_id = pg_temp.id('kid')$$,
    $$VALUES ('failed', format('its workflow agent:%s ended ERROR: nothing would run it again', pg_temp.id('kid')))$$,
    'a child whose workflow ended ERROR fails, saying why');
SELECT is((pg_temp.run('lead1')).status, 'created', 'its parent, whose workflow is alive, is left alone');

SELECT is((pg_temp.run('lead2')).status, 'failed', 'a coordinator whose workflow was dead-lettered fails');
SELECT is((pg_temp.run('kid2')).status, 'cancelled', 'its live child is cancelled');
SELECT is((pg_temp.swarm('S2')).status, 'failed', 'its swarm is settled as failed');
SELECT is(pg_temp.agent_events('kid', 'agent_run_status_changed', null, 'failed') >= 1, true,
          'the failure is audited');

SELECT is((pg_temp.run('kid3')).status, 'created', 'a run whose workflow is alive is left alone');
SELECT is(concord.runtime_reconcile('ex-reconciler'), 0, 'a second pass changes nothing');

SELECT * FROM finish();
ROLLBACK;
