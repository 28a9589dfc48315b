-- What joining means (spec 53, 63, 64): once a swarm's join has begun
-- (joining, or waiting for the review of its join) no new agent run is
-- created in it, whoever writes (a_joining_swarm_spawns_no_child, CN011), a
-- spawn still waiting for approval is cancelled, and the swarm leaves
-- joining when the join is decided: a delegated join when its coordinator
-- finishes.
BEGIN;
SELECT plan(14);

\ir ../lib/agent_fixtures.sql

DO $$
BEGIN
    PERFORM concord.add_team_member('team:approvers', 'ann');
    PERFORM concord.register_policy('{"name": "jn_auditors_need_approval", "predicate": "$.payload.agent_role == \"auditor\"",
        "decision": "require_approval", "approval_type": "standard", "reasons": ["an auditor needs approval"]}');
    PERFORM concord.register_command_type('{"command_type": "spawn_subagent", "name": "Spawn a subagent",
        "sync_allowed": true, "policy_checks": ["spawn_scope", "jn_auditors_need_approval"]}');
END
$$;

-- A running swarm with strategy, its coordinator <label>_lead and a live
-- child <label>_kid.
CREATE FUNCTION pg_temp.joinable(label text, strategy text)
RETURNS uuid
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM pg_temp.remember(label, concord.start_swarm(pg_temp.id('pc2'), jsonb_build_object(
        'name', label, 'objective', 'join', 'join_strategy', strategy,
        'coordinator', jsonb_build_object('agent_name', label || '_lead', 'allowed_tools', '["spawn_subagent"]'::jsonb),
        'agents', '[{"agent_name": "kid", "agent_role": "researcher", "goal": "research"},
                    {"agent_name": "auditor", "agent_role": "auditor", "goal": "audit"}]'::jsonb)));
    PERFORM pg_temp.remember(label || '_lead', (pg_temp.swarm(label)).coordinator_agent_run_id);
    PERFORM pg_temp.remember(label || '_kid', (pg_temp.spawn(label || '_lead', '{"agent_name": "kid"}')
                                               ->> 'child_agent_run_id')::uuid);
    RETURN pg_temp.id(label);
END
$$;

-- A raw INSERT of a child of the agent run remembered as parent (the
-- trigger holds for every writer, the table owner's included).
CREATE FUNCTION pg_temp.raw_child_sql(parent text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT format('INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, agent_name, '
                  'agent_role, goal, allowed_tools, spawn_depth) '
                  'SELECT p.command_id, p.swarm_run_id, p.agent_run_id, %L, %L, %L, %L, p.spawn_depth + 1 '
                  'FROM concord.agent_runs AS p WHERE p.agent_run_id = %L',
                  'late', 'researcher', 'too late', '{}', pg_temp.id(parent))
$$;

-- ===========================================================================
-- A delegated join
-- ===========================================================================
SELECT pg_temp.joinable('jd', 'coordinator_synthesis') IS NOT NULL AS made;
SELECT pg_temp.remember('jd_audit', (pg_temp.spawn('jd_lead', '{"agent_name": "auditor"}') ->> 'command_id')::uuid)
       IS NOT NULL AS made;
SELECT is(concord_test.status('jd_audit'), 'waiting_for_approval', 'fixture: a spawn waits for approval');
SELECT is(concord._join_swarm(pg_temp.id('jd'), 'alice') ->> 'decision', 'delegated',
          'the join is delegated to the coordinator');
SELECT is((pg_temp.swarm('jd')).status, 'joining', 'the swarm is joining');
SELECT is(concord_test.status('jd_audit'), 'cancelled', 'the spawn still waiting for approval is cancelled');
SELECT is((SELECT count(*)::integer FROM concord.approvals WHERE command_id = pg_temp.id('jd_audit')
           AND status = 'pending'), 0, 'its approval is no longer pending');
CREATE TEMP TABLE late AS SELECT pg_temp.spawn('jd_lead', '{"agent_name": "kid"}') AS answer;
SELECT is((SELECT answer ->> 'decision' FROM late), 'denied', 'the coordinator''s spawn during joining is denied');
SELECT ok((SELECT answer::text LIKE '%once its join has begun%' FROM late), 'and the answer says why');
SELECT concord_test.throws_rule(pg_temp.raw_child_sql('jd_lead'), 'CN011', 'a_joining_swarm_spawns_no_child',
                                'CN011: a raw insert of a child into a joining swarm');
SELECT is((SELECT count(*)::integer FROM concord.agent_runs WHERE swarm_run_id = pg_temp.id('jd')), 2,
          'the swarm still has its coordinator and one child');
SELECT is(concord.finish_agent_run(pg_temp.id('jd_kid'), 'succeeded', '{"found": 1}'), 'succeeded',
          'a live child still finishes its work');
SELECT is(concord.finish_agent_run(pg_temp.id('jd_lead'), 'succeeded', '{"synthesis": "done"}'), 'succeeded',
          'the coordinator finishes with the join''s outcome');
SELECT is((pg_temp.swarm('jd')).status || '/' || ((pg_temp.swarm('jd')).result ->> 'synthesis'), 'succeeded/done',
          'the swarm leaves joining: succeeded with the coordinator''s result');

-- ===========================================================================
-- A join waiting for its review
-- ===========================================================================
SELECT pg_temp.joinable('jh', 'human_review') IS NOT NULL AS made;
SELECT concord.finish_agent_run(pg_temp.id('jh_kid'), 'succeeded', '{"found": 2}') AS made;
SELECT concord._join_swarm(pg_temp.id('jh'), 'alice') IS NOT NULL AS made;
SELECT is((pg_temp.swarm('jh')).status, 'waiting_for_approval', 'fixture: the join waits for its review');
SELECT concord_test.throws_rule(pg_temp.raw_child_sql('jh_lead'), 'CN011', 'a_joining_swarm_spawns_no_child',
                                'CN011: no child is created while the join waits for its review');

SELECT * FROM finish();
ROLLBACK;
