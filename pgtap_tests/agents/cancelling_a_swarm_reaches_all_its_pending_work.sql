-- Cancelling a swarm, or the command it works for, reaches all the pending
-- work of the swarm (spec 64), finished agents' included: a queued tool
-- command is cancelled (it never runs), a publish waiting for approval is
-- cancelled with its approval (a later approve is refused), a sensitive
-- memory candidate is deleted with its write; one swarm_work_cancelled event
-- names what went.
BEGIN;
SELECT plan(21);

\ir ../lib/agent_fixtures.sql

DO $$ BEGIN PERFORM concord.add_team_member('team:approvers', 'ann'); END $$;

-- A swarm under its own command whose agent w queues a tool command, asks
-- for a publish that needs approval, writes a sensitive memory candidate,
-- then finishes succeeded; labels <prefix>, <prefix>_cmd, <prefix>_w,
-- <prefix>_job, <prefix>_pub, <prefix>_mem.
CREATE FUNCTION pg_temp.busy_swarm(prefix text)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    answer jsonb;
BEGIN
    PERFORM pg_temp.remember(prefix || '_cmd',
                             (SELECT s.command_id FROM concord.submit_command('t.parent', '{}', 'alice') AS s));
    PERFORM pg_temp.remember(prefix, concord.start_swarm(pg_temp.id(prefix || '_cmd'), jsonb_build_object(
        'name', prefix, 'objective', 'leave work behind',
        'coordinator', jsonb_build_object(
            'agent_name', prefix || '_lead',
            'allowed_tools', '["spawn_subagent", "bg.job", "publish", "write_memory"]'::jsonb,
            'memory_scope', pg_temp.ms(types => '["fact"]')))));
    answer := concord.spawn_subagent(jsonb_build_object(
        'parent_agent_run_id', (pg_temp.swarm(prefix)).coordinator_agent_run_id, 'agent_name', prefix || '_w',
        'agent_role', 'worker', 'delegated_goal', 'work', 'allowed_tools', '["bg.job", "publish", "write_memory"]'::jsonb,
        'memory_scope', pg_temp.ms(types => '["fact"]')));
    PERFORM pg_temp.remember(prefix || '_w', (answer ->> 'child_agent_run_id')::uuid);
    PERFORM pg_temp.remember(prefix || '_job', (pg_temp.act(prefix || '_w',
        '{"tool_name": "bg.job", "payload": {"n": 1}}') ->> 'command_id')::uuid);
    PERFORM pg_temp.remember(prefix || '_pub', (pg_temp.act(prefix || '_w',
        '{"tool_name": "publish", "payload": {"draft": 1}}') ->> 'command_id')::uuid);
    answer := concord.write_memory(pg_temp.id(prefix || '_w'), '{"memory_type": "fact", "content": "a secret",
        "consent": true, "sensitive": true}');
    PERFORM pg_temp.remember(prefix || '_mem', (answer -> 'output' ->> 'command_id')::uuid);
    PERFORM concord.finish_agent_run(pg_temp.id(prefix || '_w'), 'succeeded', '{"done": true}');
    RETURN pg_temp.id(prefix);
END
$$;

-- The approval the command remembered as label waits for (pending or not).
CREATE FUNCTION pg_temp.approval_of(label text)
RETURNS uuid
LANGUAGE sql
AS $$
    SELECT a.approval_id FROM concord.approvals AS a WHERE a.command_id = pg_temp.id(label)
    ORDER BY a.created_at DESC LIMIT 1
$$;

-- ===========================================================================
-- The parent command is cancelled
-- ===========================================================================
SELECT pg_temp.busy_swarm('pcx') IS NOT NULL AS made;
SELECT is(concord_test.status('pcx_job') || '/' || concord_test.status('pcx_pub') || '/'
          || concord_test.status('pcx_mem') || '/' || (pg_temp.run('pcx_w')).status,
          'queued/waiting_for_approval/waiting_for_approval/succeeded',
          'fixture: the finished agent left a queued job, a publish and a memory write waiting for approval');
SELECT is((SELECT status FROM concord.memories WHERE command_id = pg_temp.id('pcx_mem')), 'candidate',
          'fixture: the memory is a candidate');
SELECT is(concord.cancel_command(pg_temp.id('pcx_cmd'), 'alice', 'changed my mind'), 'cancelled',
          'the parent command is cancelled');
SELECT is((pg_temp.swarm('pcx')).status, 'cancelled', 'its swarm is cancelled');
SELECT is(concord_test.status('pcx_job'), 'cancelled', 'the finished agent''s queued tool command is cancelled');
SELECT is(concord_test.status('pcx_pub'), 'cancelled', 'its publish waiting for approval is cancelled');
SELECT is((SELECT count(*)::integer FROM concord.approvals
           WHERE command_id IN (pg_temp.id('pcx_pub'), pg_temp.id('pcx_mem')) AND status = 'pending'), 0,
          'no approval of the swarm''s commands is left pending');
SELECT throws_ok(format($$SELECT concord.resolve_approval(%L, 'approved', 'ann')$$, pg_temp.approval_of('pcx_pub')),
                 'CN013', NULL, 'approving the publish later is refused (CN013)');
SELECT is(concord_test.status('pcx_pub'), 'cancelled', 'and the publish stays cancelled');
SELECT is(concord_test.status('pcx_mem'), 'cancelled', 'its memory write is cancelled');
SELECT is((SELECT status FROM concord.memories WHERE command_id = pg_temp.id('pcx_mem')), 'deleted',
          'the memory candidate is deleted');
SELECT is((SELECT jsonb_array_length(payload -> 'commands') FROM concord.domain_events
           WHERE swarm_run_id = pg_temp.id('pcx') AND event_type = 'swarm_work_cancelled'), 3,
          'one swarm_work_cancelled event names the three commands');
SELECT is((SELECT count(*)::integer FROM concord.domain_events
           WHERE command_id = pg_temp.id('pcx_job') AND event_type = 'command_status_changed' AND to_status = 'cancelled'
             AND actor = 'alice'), 1,
          'the job''s cancellation is audited as the canceller''s');

-- ===========================================================================
-- The swarm is cancelled (its command goes on)
-- ===========================================================================
SELECT pg_temp.busy_swarm('scx') IS NOT NULL AS made;
SELECT is(concord.cancel_swarm(pg_temp.id('scx'), 'alice', 'stop'), 'cancelled', 'the swarm is cancelled');
SELECT is(concord_test.status('scx_job') || '/' || concord_test.status('scx_pub') || '/'
          || concord_test.status('scx_mem'), 'cancelled/cancelled/cancelled',
          'its finished agent''s job, publish and memory write are cancelled');
SELECT is((SELECT status FROM concord.memories WHERE command_id = pg_temp.id('scx_mem')), 'deleted',
          'the memory candidate is deleted');
SELECT is(concord_test.status('scx_cmd'), 'validated', 'the swarm''s command goes on');

-- ===========================================================================
-- A swarm that had ended: its command's cancellation still reaches its work
-- ===========================================================================
SELECT pg_temp.busy_swarm('fcx') IS NOT NULL AS made;
SELECT is(concord.finish_agent_run((pg_temp.swarm('fcx')).coordinator_agent_run_id, 'succeeded', '{"ok": 1}'),
          'succeeded', 'fixture: the coordinator finishes');
SELECT is((pg_temp.swarm('fcx')).status, 'succeeded', 'fixture: the swarm succeeded');
SELECT is(concord.cancel_command(pg_temp.id('fcx_cmd'), 'alice', 'changed my mind'), 'cancelled',
          'the command is cancelled');
SELECT is(concord_test.status('fcx_job') || '/' || concord_test.status('fcx_pub') || '/'
          || concord_test.status('fcx_mem'), 'cancelled/cancelled/cancelled',
          'the ended swarm''s job, publish and memory write are cancelled with it');

SELECT * FROM finish();
ROLLBACK;
