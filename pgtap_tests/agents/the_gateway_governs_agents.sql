-- The agent gateway (spec 16-17, 20, 28, 59, 60, 64): an agent can propose;
-- the framework decides. A tool call becomes a command of its type through
-- validation and policy, a spawn a spawn_subagent command through policy;
-- a governed refusal is returned as a decision with its code and recorded as
-- a step, and what cannot be recorded is raised (CN002, CN005, CN006, CN008,
-- CN010, CN011). Finishing a run settles its swarm; cancellation cascades
-- from command to swarm to agents to the commands they asked for.
BEGIN;
SELECT plan(132);

-- ===========================================================================
-- Fixtures and helpers
-- ===========================================================================

\ir ../lib/agent_fixtures.sql

-- Swarm D (max_depth 1) and its coordinator with one child; swarm K and its
-- coordinator; an agent run of swarm R that has finished; a child of R's
-- coordinator that may spawn researchers.
INSERT INTO concord_test.fixture (label, id) VALUES ('D', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "deep", "objective": "depth", "limits": {"max_agents": 10, "max_depth": 1},
      "coordinator": {"agent_name": "dc", "allowed_tools": ["sql.read", "spawn_subagent"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('dc', (pg_temp.swarm('D')).coordinator_agent_run_id);
SELECT pg_temp.raw_child('dc', 'd1') IS NOT NULL AS made;
INSERT INTO concord_test.fixture (label, id) VALUES ('K', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "count", "objective": "count", "limits": {"max_agents": 2},
      "coordinator": {"agent_name": "kc", "allowed_tools": ["sql.read"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('kc', (pg_temp.swarm('K')).coordinator_agent_run_id);
SELECT pg_temp.raw_child('rc', 'sm', child_roles => '{researcher}') IS NOT NULL AS made;
UPDATE concord.agent_runs SET status = 'running' WHERE agent_run_id = pg_temp.id('sm');
UPDATE concord.agent_runs SET status = 'succeeded', result = '{"ok": true}' WHERE agent_run_id = pg_temp.id('sm');
SELECT pg_temp.raw_child('rc', 'r1', tools => '{sql.read}', connectors => '{crm}', child_roles => '{researcher}',
                         mem => pg_temp.ms(types => '["fact"]', max_results => 3)) IS NOT NULL AS made;

-- ===========================================================================
-- The gateway: tool calls (spec 17, 60)
-- ===========================================================================
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 's', a ->> 'status', 'i', a ->> 'step_index')
     FROM pg_temp.act('coord', '{"tool_name": "sql.read", "payload": {"q": "select 1"}, "reason": "look",
                                 "idempotency_key": "k1"}') AS a),
    '{"d": "allowed", "s": "validated", "i": "1"}'::jsonb,
    'an allowed tool becomes a command of its type: decision allowed, step 1'
);
INSERT INTO concord_test.fixture (label, id) VALUES ('cmd_read', (SELECT created_command_id FROM concord.agent_steps
                                     WHERE agent_run_id = pg_temp.id('coord') AND step_index = 1));
SELECT row_eq(
    format($$SELECT command_type, requested_by, ingress, context ->> 'agent_run_id', context ->> 'tool_name'
             FROM concord.commands WHERE command_id = %L$$, pg_temp.id('cmd_read')),
    ROW('t.read'::text, 'agent:' || pg_temp.id('coord'), 'agent'::text, pg_temp.id('coord')::text, 'sql.read'::text),
    'the command is requested by agent:<id>, ingress agent, and names the agent run and tool'
);
SELECT is(
    (pg_temp.act('coord', '{"tool_name": "sql.read", "payload": {"q": "select 1"}, "idempotency_key": "k1"}')
     ->> 'command_id')::uuid,
    pg_temp.id('cmd_read'), 'the same idempotency key returns the same command'
);
SELECT is(
    (SELECT count(*) FROM concord.agent_steps WHERE agent_run_id = pg_temp.id('coord')), 1::bigint,
    'a replayed tool call records no second step'
);
SELECT row_eq(
    format($$SELECT purpose, step_index, tool_name, payload ->> 'decision' FROM concord.domain_events
             WHERE agent_run_id = %L AND event_type = 'agent_step_recorded'$$, pg_temp.id('coord')),
    ROW('agent_step'::text, 1, 'sql.read'::text, 'allowed'::text),
    'the step is audited with purpose agent_step, its step_index, tool_name and decision'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code', 'cmd', a ? 'command_id')
     FROM pg_temp.act('coord', '{"tool_name": "other.read", "payload": {}}') AS a),
    '{"d": "denied", "c": "CN004", "cmd": false}'::jsonb,
    'a tool not in allowed_tools: decision denied, code CN004, no command'
);
SELECT row_eq(
    format($$SELECT decision, tool_name, created_command_id FROM concord.agent_steps
             WHERE agent_run_id = %L ORDER BY step_index DESC LIMIT 1$$, pg_temp.id('coord')),
    ROW('denied'::text, 'other.read'::text, NULL::uuid), 'the denial is recorded as a step with decision denied'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.act('coord', '{"tool_name": "no.such.tool", "payload": {}}') AS a),
    '{"d": "denied", "c": "CN009"}'::jsonb, 'an unknown tool: denied, code CN009'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code', 'cmd', a ? 'command_id')
     FROM pg_temp.act('coord', '{"tool_name": "sql.read", "payload": {"q": 7}}') AS a),
    '{"d": "invalid", "c": "CN005", "cmd": false}'::jsonb,
    'a payload outside the tool''s input_schema: invalid, CN005, no command'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code', 's', a ->> 'status')
     FROM pg_temp.act('coord', '{"tool_name": "danger", "payload": {"deny": true}}') AS a),
    '{"d": "denied", "c": "CN012", "s": "failed"}'::jsonb,
    'a command the tool''s policy denies: denied, CN012, the command failed'
);
INSERT INTO concord_test.fixture (label, id) VALUES ('cmd_bg', (pg_temp.act('coord', '{"tool_name": "bg.job", "payload": {}}')
                                   ->> 'command_id')::uuid);
SELECT row_eq(
    format($$SELECT s.decision, c.status, c.dbos_workflow_id IS NOT NULL, a.status
             FROM concord.agent_steps AS s JOIN concord.commands AS c ON c.command_id = s.created_command_id
             JOIN concord.agent_runs AS a ON a.agent_run_id = s.agent_run_id
             WHERE s.created_command_id = %L$$, pg_temp.id('cmd_bg')),
    ROW('queued'::text, 'queued'::text, true, 'waiting_for_tool'::text),
    'an asynchronous tool: decision queued, the command is handed to DBOS, the agent waits for the tool'
);
INSERT INTO concord_test.fixture (label, id) VALUES ('cmd_pub', (pg_temp.act('coord', '{"tool_name": "publish", "payload": {"draft": 1}}')
                                    ->> 'command_id')::uuid);
SELECT row_eq(
    format($$SELECT s.decision, c.status, s.created_approval_id IS NOT NULL
             FROM concord.agent_steps AS s JOIN concord.commands AS c ON c.command_id = s.created_command_id
             WHERE s.created_command_id = %L$$, pg_temp.id('cmd_pub')),
    ROW('require_approval'::text, 'waiting_for_approval'::text, true),
    'a tool that requires approval: require_approval, the command waits, the step names the approval'
);
SELECT is(
    (SELECT a.status FROM concord.approvals AS a WHERE a.command_id = pg_temp.id('cmd_pub')), 'pending',
    'the approval is pending'
);
SELECT is((pg_temp.run('coord')).status, 'waiting_for_approval', 'the agent waits for the approval');
INSERT INTO concord_test.fixture (label, id) VALUES ('RP', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "replay", "objective": "replay", "coordinator": {"agent_name": "rpc", "allowed_tools": ["publish"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('rpc', (pg_temp.swarm('RP')).coordinator_agent_run_id);
SELECT is(
    (pg_temp.act('rpc', '{"tool_name": "publish", "payload": {"draft": 2}, "idempotency_key": "pub"}')
     ->> 'decision'), 'require_approval', 'fixture: a keyed tool call that waits for approval'
);
SELECT is(
    (pg_temp.act('rpc', '{"tool_name": "publish", "payload": {"draft": 2}, "idempotency_key": "pub"}')
     ->> 'replayed'), 'true', 'its replay returns the first answer...'
);
SELECT is((pg_temp.run('rpc')).status, 'waiting_for_approval',
    '...and changes nothing: the agent still waits for the approval');

-- The agent_tool policy holds for any submit_command that claims an agent.
SELECT is(
    (SELECT s.status FROM concord.submit_command('t.read', '{"q": "x"}', 'mallory', 'agent',
        jsonb_build_object('agent_run_id', pg_temp.id('coord'), 'tool_name', 'sql.read')) AS s),
    'failed', 'policy agent_tool: a command claiming an agent run it was not requested by is denied'
);
SELECT is(
    (SELECT s.status FROM concord.submit_command('t.read', '{"q": "x"}', 'agent:' || pg_temp.id('dc'), 'agent',
        jsonb_build_object('agent_run_id', pg_temp.id('dc'), 'tool_name', 'other.read')) AS s),
    'failed', 'policy agent_tool: a tool outside the agent''s scope is denied even through submit_command'
);
SELECT is(
    (SELECT s.status FROM concord.submit_command('t.read', '{"q": "x"}', 'agent:' || pg_temp.id('dc'), 'agent',
        jsonb_build_object('agent_run_id', pg_temp.id('dc'), 'tool_name', 'sql.read')) AS s),
    'validated', 'policy agent_tool: a tool within the agent''s scope passes'
);

-- Raised: what the gateway cannot record.
SELECT concord_test.throws_rule(
    $$SELECT concord.submit_agent_action(gen_random_uuid(), '{"tool_name": "sql.read", "payload": {}}')$$,
    'CN006', 'the_agent_run_exists', 'CN006: submit_agent_action for an unknown agent run');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"tool_name": "sql.read", "payload": {"q": "x"}}')$$,
           pg_temp.id('sm')),
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: submit_agent_action for a finished agent run');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '"sql.read"')$$, pg_temp.id('coord')),
    'CN005', 'agent_action_is_valid', 'CN005: an action that is not an object');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"action_type": "rm_rf", "tool_name": "sql.read"}')$$,
           pg_temp.id('coord')),
    'CN005', 'agent_action_is_valid', 'CN005: an unknown action_type');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"payload": {}}')$$, pg_temp.id('coord')),
    'CN005', 'agent_action_is_valid', 'CN005: an action without tool_name');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"tool_name": "sql.read", "payload": [1]}')$$, pg_temp.id('coord')),
    'CN005', 'agent_action_is_valid', 'CN005: a payload that is not an object');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"tool_name": "sql.read", "swarm_run_id": %s}')$$,
           pg_temp.id('coord'), to_jsonb(pg_temp.id('R')::text)),
    'CN008', 'an_action_names_its_own_swarm_run', 'CN008: an action naming another swarm');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"tool_name": "sql.read", "agent_run_id": %s}')$$,
           pg_temp.id('coord'), to_jsonb(pg_temp.id('rc')::text)),
    'CN005', 'agent_action_is_valid', 'CN005: an action naming another agent run');
SELECT concord_test.throws_rule(
    format($$SELECT concord.record_agent_step(%L, '{"action_type": "tool_call"}')$$, pg_temp.id('coord')),
    'CN005', 'agent_step_is_valid', 'CN005: record_agent_step of an action that goes through the gateway');
SELECT concord_test.throws_rule(
    format($$SELECT concord.record_agent_step(%L, '{"action_type": "think", "tool_name": "sql.read"}')$$,
           pg_temp.id('coord')),
    'CN005', 'agent_step_is_valid', 'CN005: record_agent_step naming a tool');
SELECT concord_test.throws_rule(
    format($$SELECT concord.record_agent_step(%L, '{"action_type": "think", "cost_units": -1}')$$, pg_temp.id('coord')),
    'CN005', 'agent_step_is_valid', 'CN005: a negative step cost');
SELECT concord_test.throws_rule(
    $$SELECT concord.record_agent_step(gen_random_uuid(), '{"action_type": "think"}')$$,
    'CN006', 'the_agent_run_exists', 'CN006: record_agent_step for an unknown run');
SELECT concord_test.throws_rule(
    format($$SELECT concord.record_agent_message(%L, '{"message_role": "god", "content": "x"}')$$, pg_temp.id('coord')),
    'CN005', 'agent_message_is_valid', 'CN005: a message with an unknown role');
SELECT concord_test.throws_rule(
    format($$SELECT concord.record_agent_message(%L, '{"content": "late"}')$$, pg_temp.id('sm')),
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: record_agent_message for a finished run');
SELECT concord_test.throws_rule(
    format($$SELECT concord.agent_command(%L, %L)$$, pg_temp.id('dc'), pg_temp.id('cmd_read')),
    'CN006', 'an_agent_sees_only_the_commands_it_asked_for', 'CN006: agent_command for a command another agent asked for');
SELECT is(
    concord.agent_command(pg_temp.id('coord'), pg_temp.id('cmd_pub')) ->> 'status', 'waiting_for_approval',
    'agent_command shows the agent its own command'
);
SELECT concord_test.throws_rule($$SELECT concord.agent_run_state(gen_random_uuid())$$, 'CN006', 'the_agent_run_exists',
    'CN006: agent_run_state of an unknown run');

-- ===========================================================================
-- The gateway: spawning (spec 59)
-- ===========================================================================
INSERT INTO concord_test.fixture (label, id) VALUES ('sp_gr', (pg_temp.spawn('coord',
    '{"agent_name": "researcher", "agent_role": "researcher", "delegated_goal": "find revenue",
      "allowed_tools": ["sql.read"], "memory_scope": {"subject_type": "user", "subject_id": "u1",
      "allowed_memory_types": ["fact"], "allow_semantic_retrieval": true, "max_results": 10}}') ->> 'command_id')::uuid);
INSERT INTO concord_test.fixture (label, id) VALUES ('gr', (SELECT child_agent_run_id FROM concord.agent_invocations
                               WHERE command_id = pg_temp.id('sp_gr')));
SELECT row_eq(
    format($$SELECT parent_agent_run_id, spawn_depth, allowed_tools, allowed_connectors, status, command_id
             FROM concord.agent_runs WHERE agent_run_id = %L$$, pg_temp.id('gr')),
    ROW(pg_temp.id('coord'), 1, '{sql.read}'::text[], '{}'::text[], 'created'::text, pg_temp.id('sp_gr')),
    'an allowed spawn creates the child at depth 1 with the requested scopes, under its spawn command'
);
SELECT row_eq(
    format($$SELECT command_type, status, requested_by, ingress FROM concord.commands WHERE command_id = %L$$,
           pg_temp.id('sp_gr')),
    ROW('spawn_subagent'::text, 'succeeded'::text, 'agent:' || pg_temp.id('coord'), 'agent'::text),
    'the spawn is a spawn_subagent command requested by the parent agent, succeeded'
);
SELECT is(
    (SELECT decision FROM concord.agent_steps WHERE created_command_id = pg_temp.id('sp_gr')), 'allowed',
    'the parent''s step records the allowed spawn'
);
SELECT is(pg_temp.agent_events('coord', 'agent_invoked'), 1::bigint, 'the invocation is audited');
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code', 'child', a -> 'child_agent_run_id')
     FROM pg_temp.spawn('coord', '{"agent_name": "w", "agent_role": "writer", "delegated_goal": "g"}') AS a),
    '{"d": "denied", "c": "CN004", "child": null}'::jsonb, 'a role not among the swarm''s templates: denied, CN004'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g",
                                   "allowed_tools": ["sql.read", "other.read"]}') AS a),
    '{"d": "denied", "c": "CN004"}'::jsonb, 'tools outside the parent''s: denied, CN004'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g",
                                   "allowed_connectors": ["crm", "mail"]}') AS a),
    '{"d": "denied", "c": "CN004"}'::jsonb, 'connectors outside the parent''s: denied, CN004'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.spawn('coord', jsonb_build_object('agent_name', 'researcher', 'delegated_goal', 'g',
                                                    'memory_scope', pg_temp.ms(max_results => 11))) AS a),
    '{"d": "denied", "c": "CN004"}'::jsonb, 'a memory scope outside the parent''s: denied, CN004'
);
SELECT is(
    (SELECT count(*) FROM concord.commands
     WHERE command_type = 'spawn_subagent' AND requested_by = 'agent:' || pg_temp.id('coord')
       AND status = 'failed' AND error_class = 'policy_denied'),
    4::bigint, 'each denied spawn is a failed spawn_subagent command (policy_denied)'
);
SELECT is(
    (SELECT count(*) FROM concord.agent_steps WHERE agent_run_id = pg_temp.id('coord') AND tool_name = 'spawn_subagent'
       AND decision = 'denied' AND child_agent_run_id IS NULL),
    4::bigint, '...and a parent step with decision denied'
);
SELECT is(
    (SELECT count(*) FROM concord.agent_runs WHERE swarm_run_id = pg_temp.id('G')), 2::bigint,
    'a denied spawn creates no agent run'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.act('gr', '{"tool_name": "spawn_subagent", "payload": {"agent_name": "researcher",
                                                                         "delegated_goal": "g"}}') AS a),
    '{"d": "denied", "c": "CN004"}'::jsonb, 'a spawn through submit_agent_action needs the spawn_subagent tool (CN004)'
);
-- Through the tool: allowed (the analyst template supplies the role).
INSERT INTO concord_test.fixture (label, id) VALUES ('ga', (pg_temp.act('coord', '{"action_type": "spawn_subagent", "payload":
    {"agent_name": "analyst", "delegated_goal": "analyse", "allowed_tools": ["crm.update"]}}')
    ->> 'child_agent_run_id')::uuid);
SELECT row_eq(
    format($$SELECT agent_role, allowed_tools, allowed_connectors FROM concord.agent_runs WHERE agent_run_id = %L$$,
           pg_temp.id('ga')),
    ROW('analyst'::text, '{crm.update}'::text[], '{}'::text[]),
    'a spawn through the spawn_subagent tool is allowed; the template gives the role'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code', 'cmd', a ? 'command_id')
     FROM pg_temp.act('ga', '{"tool_name": "crm.update", "payload": {}}') AS a),
    '{"d": "denied", "c": "CN004", "cmd": false}'::jsonb,
    'a tool whose connector is not in allowed_connectors: denied, CN004, no command'
);
SELECT is((pg_temp.swarm('G')).live_agents, 3, 'fixture: three live agents of max_agents 4');
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.spawn('gr', '{"agent_name": "researcher", "delegated_goal": "dig", "allowed_tools": ["sql.read"]}') AS a),
    '{"d": "denied", "c": "CN004"}'::jsonb,
    'a direct spawn_subagent call needs the spawn_subagent tool too (CN004)'
);
-- the grandchild, written by the owner: the record's own rules allow it
WITH x AS (
    INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role, goal,
                                    allowed_tools, spawn_depth, trace_id)
    SELECT r.command_id, r.swarm_run_id, r.agent_run_id, 'researcher', 'researcher', 'dig', '{sql.read}', 2, 't'
    FROM concord.agent_runs AS r WHERE r.agent_run_id = pg_temp.id('gr')
    RETURNING agent_run_id)
INSERT INTO concord_test.fixture (label, id) SELECT 'gx', agent_run_id FROM x;
SELECT is((pg_temp.run('gx')).spawn_depth, 2, 'a grandchild at depth 2 = max_depth');
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g"}') AS a),
    '{"d": "denied", "c": "CN010"}'::jsonb, 'a spawn past max_agents: denied, CN010'
);
SELECT is(
    concord.finish_agent_run(pg_temp.id('ga'), 'failed', NULL, 'no connector'), 'failed',
    'finish_agent_run failed'
);
SELECT is(
    (SELECT jsonb_build_object('d', a ->> 'decision', 'c', a ->> 'code')
     FROM pg_temp.spawn('gx', '{"agent_name": "researcher", "delegated_goal": "deeper"}') AS a),
    '{"d": "denied", "c": "CN010"}'::jsonb, 'a spawn beyond max_depth: denied, CN010'
);
SELECT is(
    (SELECT a ->> 'decision' FROM pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "again",
                                                          "idempotency_key": "s1"}') AS a),
    'allowed', 'after an agent finished, a spawn fits max_agents again'
);
SELECT is(
    (SELECT a ->> 'replayed' FROM pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "again",
                                                          "idempotency_key": "s1"}') AS a),
    'true', 'a spawn replayed with its idempotency key returns the first answer'
);
SELECT is((pg_temp.swarm('G')).live_agents, 4, '...and creates no second child');

-- Raised spawn errors.
SELECT concord_test.throws_rule($$SELECT concord.spawn_subagent('[]')$$, 'CN005', 'spawn_request_is_valid', 'CN005: a spawn request that is not an object');
SELECT concord_test.throws_rule($$SELECT concord.spawn_subagent('{"parent_agent_run_id": "nope", "agent_name": "a"}')$$,
    'CN008', 'a_spawn_names_its_parent_agent_run', 'CN008: a parent_agent_run_id that is not an id');
SELECT concord_test.throws_rule(
    format($$SELECT concord.spawn_subagent('{"parent_agent_run_id": %s, "agent_name": "a", "agent_role": "r",
                                             "delegated_goal": "g"}')$$, to_jsonb(gen_random_uuid()::text)),
    'CN006', 'the_agent_run_exists', 'CN006: spawn from an unknown parent');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('ga', '{"agent_name": "analyst", "delegated_goal": "g"}')$$,
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: spawn from a finished parent');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('coord', '{"agent_name": "nobody", "agent_role": "researcher"}')$$,
    'CN005', 'spawn_request_is_valid', 'CN005: a spawn request without a delegated goal (nor a template goal)');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g", "allowed_tools": "sql.read"}')$$,
    'CN005', 'spawn_request_is_valid', 'CN005: allowed_tools that is not an array');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g", "allowed_tools": [null]}')$$,
    'CN005', 'spawn_request_is_valid', 'CN005: a null tool name in a spawn request');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g", "memory_scope": {"a": 1}}')$$,
    'CN005', 'spawn_request_is_valid', 'CN005: a memory scope of the wrong shape in a spawn request');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g", "sudo": true}')$$,
    'CN005', 'a_spec_has_only_known_keys', 'CN005: an unknown key in a spawn request');
SELECT concord_test.throws_rule(
    format($$SELECT pg_temp.spawn('coord', '{"agent_name": "researcher", "delegated_goal": "g", "swarm_run_id": %s}')$$,
           to_jsonb(pg_temp.id('R')::text)),
    'CN005', 'spawn_request_is_valid', 'CN005: a spawn request naming another swarm');
INSERT INTO concord_test.fixture (label, id) VALUES ('sp_small', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "tiny", "objective": "one step", "coordinator": {"agent_name": "tc", "max_steps": 1}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('tc', (pg_temp.swarm('sp_small')).coordinator_agent_run_id);
SELECT lives_ok(format($$SELECT concord.record_agent_step(%L, '{"action_type": "plan"}')$$, pg_temp.id('tc')),
    'fixture: the parent uses its only step');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('tc', '{"agent_name": "a", "agent_role": "r", "delegated_goal": "g"}')$$,
    'CN010', 'agent_steps_stay_within_max_steps', 'CN010: spawn when the parent''s step budget is exhausted');

INSERT INTO concord_test.fixture (label, id) VALUES ('one', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "one_step", "objective": "one keyed step",
      "coordinator": {"agent_name": "oc", "max_steps": 1, "allowed_tools": ["sql.read", "spawn_subagent"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('oc', (pg_temp.swarm('one')).coordinator_agent_run_id);
INSERT INTO concord_test.fixture (label, id) VALUES ('cmd_one', (pg_temp.act('oc',
    '{"tool_name": "sql.read", "payload": {"q": "x"}, "idempotency_key": "only"}') ->> 'command_id')::uuid);
SELECT is(
    pg_temp.outcome($$SELECT pg_temp.act('oc', '{"tool_name": "sql.read", "payload": {"q": "x"},
                                                  "idempotency_key": "only"}')$$),
    'ok', 'a replayed tool call (same key) after the step budget is used returns its first answer, not CN010'
);

-- After the spawns: the gateway's swarm is running, led by its coordinator.
SELECT row_eq(
    format($$SELECT status, live_agents, coordinator_agent_run_id IS NOT NULL FROM concord.swarm_runs
             WHERE swarm_run_id = %L$$, pg_temp.id('G')),
    ROW('running'::text, 4, true), 'a started swarm is running, led by its coordinator'
);

-- ===========================================================================
-- Finishing, begin, cancellation (spec 64)
-- ===========================================================================
SELECT concord_test.throws_rule(
    format($$SELECT concord.finish_agent_run(%L, 'succeeded')$$, pg_temp.id('gr')),
    'CN011', 'an_agent_run_succeeds_only_after_its_children_finish', 'CN011: finish_agent_run succeeded while a child is live');
SELECT concord_test.throws_rule(
    format($$SELECT concord.finish_agent_run(%L, 'cancelled')$$, pg_temp.id('gr')),
    'CN008', 'an_agent_run_finishes_succeeded_or_failed', 'CN008: an agent finishes as succeeded or failed only');
SELECT concord_test.throws_rule($$SELECT concord.finish_agent_run(gen_random_uuid(), 'failed')$$, 'CN006', 'the_agent_run_exists',
    'CN006: finish_agent_run of an unknown run');
SELECT concord_test.throws_rule(
    format($$SELECT concord.finish_agent_run(%L, 'succeeded')$$, pg_temp.id('ga')),
    'CN011', 'an_agent_run_finishes_once', 'CN011: a failed run cannot finish as succeeded');
SELECT is(concord.finish_agent_run(pg_temp.id('ga'), 'failed', NULL, 'no connector'), 'failed',
    'repeating the same finish is a no-op');
SELECT is(concord.finish_agent_run(pg_temp.id('gx'), 'succeeded', '{"rows": 3}'), 'succeeded',
    'a child with no live children finishes as succeeded');
SELECT is(concord.finish_agent_run(pg_temp.id('gr'), 'succeeded', '{"found": true}'), 'succeeded',
    'once its child finished, the parent may succeed');
SELECT is(
    (SELECT status FROM concord.agent_invocations WHERE child_agent_run_id = pg_temp.id('gr')), 'succeeded',
    'the invocation follows its child''s status'
);
SELECT is(
    concord.begin_agent_run(pg_temp.id('dc')) ->> 'status', 'running', 'begin_agent_run: created -> running'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.begin_agent_run(%L, 'wf-other')$$, pg_temp.id('dc')),
    'CN011', 'an_agent_run_is_begun_by_its_own_workflow', 'CN011: begin_agent_run by a workflow that does not run it');
SELECT concord_test.throws_rule($$SELECT concord.begin_agent_run(gen_random_uuid())$$, 'CN006', 'the_agent_run_exists',
    'CN006: begin_agent_run of an unknown run');

-- A failed parent cancels its live children.
SELECT lives_ok($$SELECT pg_temp.raw_child('dc', 'd2')$$, 'fixture: a second child of dc');
SELECT is(concord.finish_agent_run(pg_temp.id('dc'), 'failed', NULL, 'gave up'), 'failed',
    'a coordinator may fail with live children...');
SELECT results_eq(
    format($$SELECT status FROM concord.agent_runs WHERE parent_agent_run_id = %L ORDER BY agent_name$$, pg_temp.id('dc')),
    ARRAY['cancelled', 'cancelled'], '...which are cancelled'
);
SELECT is((pg_temp.swarm('D')).status, 'failed', 'a failed coordinator fails its swarm');

-- cancel_swarm cascades to live agents and their unfinished commands.
SELECT is(concord.cancel_swarm(pg_temp.id('G'), 'ops', 'stop it'), 'cancelled', 'cancel_swarm returns cancelled');
SELECT is(
    (SELECT count(*) FROM concord.agent_runs AS a JOIN concord.agent_statuses AS s ON s.status = a.status
     WHERE a.swarm_run_id = pg_temp.id('G') AND NOT s.terminal),
    0::bigint, 'every live agent of the cancelled swarm is cancelled'
);
SELECT is((pg_temp.run('coord')).status, 'cancelled', 'the coordinator waiting for approval is cancelled');
SELECT is(concord_test.status('cmd_pub'), 'cancelled', 'the command waiting for approval is cancelled');
SELECT is((concord_test.approval('cmd_pub')).status, 'cancelled', '...and its pending approval with it');
SELECT is(concord_test.status('cmd_bg'), 'cancelled', 'the queued command is cancelled');
SELECT is(concord_test.status('cmd_read'), 'cancelled', 'the agent''s validated command is cancelled');
SELECT is((pg_temp.run('gr')).status, 'succeeded', 'a finished agent stays as it was');
SELECT row_eq(
    format($$SELECT cancelled_by, cancel_reason FROM concord.swarm_runs WHERE swarm_run_id = %L$$, pg_temp.id('G')),
    ROW('ops'::text, 'stop it'::text), 'the swarm records who cancelled it and why'
);
SELECT is(pg_temp.swarm_events('G', 'swarm_status_changed', 'running', 'cancelled'), 1::bigint,
    'the cancellation is audited');
SELECT is(concord.cancel_swarm(pg_temp.id('G'), 'ops'), 'cancelled', 'cancel_swarm is idempotent');
SELECT concord_test.throws_rule($$SELECT concord.cancel_swarm(gen_random_uuid(), 'ops')$$, 'CN006', 'the_swarm_run_exists',
    'CN006: cancel_swarm of an unknown swarm');
SELECT concord_test.throws_rule(format($$SELECT concord.cancel_swarm(%L, 'ops', NULL, 'brutal')$$, pg_temp.id('K')),
    'CN008', 'cancellation_mode_is_graceful_or_compensate_then_stop', 'CN008: an unknown cancellation mode');
SELECT concord_test.throws_rule(
    format($$SELECT concord.spawn_subagent(jsonb_build_object('parent_agent_run_id', %L::text, 'agent_name', 'r',
                                             'agent_role', 'r', 'delegated_goal', 'g'))$$, pg_temp.id('coord')),
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: spawn from an agent of a cancelled swarm');

-- cancel_agent_run: one agent and its descendants; a coordinator's is its swarm's.
SELECT lives_ok($$SELECT pg_temp.raw_child('r1', 'r11', child_roles => '{researcher}', mem => '{}')$$,
    'fixture: a grandchild in swarm R');
SELECT is(concord.cancel_agent_run(pg_temp.id('r1'), 'ops'), 'cancelled', 'cancel_agent_run cancels the agent...');
SELECT is((pg_temp.run('r11')).status, 'cancelled', '...and its descendants');
SELECT is((pg_temp.swarm('R')).status, 'running', '...not its swarm');
SELECT is(concord.cancel_agent_run(pg_temp.id('kc'), 'ops'), 'cancelled', 'cancelling a coordinator...');
SELECT is((pg_temp.swarm('K')).status, 'cancelled', '...cancels its swarm');

-- A finished swarm has no live agent: nobody acts in it any more.
INSERT INTO concord_test.fixture (label, id) VALUES ('J', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "joined", "objective": "join", "coordinator": {"agent_name": "jc", "allowed_tools": ["sql.read"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('jc', (pg_temp.swarm('J')).coordinator_agent_run_id);
SELECT lives_ok($$SELECT pg_temp.raw_child('jc', 'j1')$$, 'fixture: a child in swarm J');
SELECT is(concord.finish_agent_run(pg_temp.id('j1'), 'succeeded', '{}'), 'succeeded', 'fixture: the child succeeds');
SELECT is(concord.join_swarm(pg_temp.id('J')) ->> 'decision', 'succeeded', 'fixture: the swarm is joined, succeeded');
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"tool_name": "sql.read", "payload": {"q": "x"}}')$$,
           pg_temp.id('jc')),
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: an agent of a finished (joined) swarm takes no more actions');
INSERT INTO concord_test.fixture (label, id) VALUES ('R2', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "expiring", "objective": "expire", "coordinator": {"agent_name": "ec"}}'));
UPDATE concord.swarm_runs SET status = 'expired' WHERE swarm_run_id = pg_temp.id('R2');
SELECT is(
    (SELECT count(*) FROM concord.agent_runs AS a JOIN concord.agent_statuses AS s ON s.status = a.status
     WHERE a.swarm_run_id = pg_temp.id('R2') AND NOT s.terminal),
    0::bigint, 'a swarm that expires (raw update) leaves no live agent run'
);

-- Cancelling the parent command cancels its swarms.
INSERT INTO concord_test.fixture (label, id) VALUES ('P2', concord.start_swarm(pg_temp.id('pc2'),
    '{"name": "p2", "objective": "under pc2", "coordinator": {"agent_name": "pc2c", "allowed_tools": ["publish"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('pc2c', (pg_temp.swarm('P2')).coordinator_agent_run_id);
INSERT INTO concord_test.fixture (label, id) VALUES ('cmd_pub2', (pg_temp.act('pc2c', '{"tool_name": "publish", "payload": {}}')
                                     ->> 'command_id')::uuid);
SELECT is(concord.cancel_command(pg_temp.id('pc2'), 'alice', 'changed my mind'), 'cancelled',
    'the parent command is cancelled');
SELECT is((pg_temp.swarm('P2')).status, 'cancelled', 'cancelling the parent command cancels its swarm');
SELECT is((pg_temp.run('pc2c')).status, 'cancelled', '...its agents');
SELECT is(concord_test.status('cmd_pub2'), 'cancelled', '...and the commands they asked for');

-- The coordinator's finish settles its swarm (joining it by its strategy).
INSERT INTO concord_test.fixture (label, id) VALUES ('F', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "fin", "objective": "finish", "coordinator": {"agent_name": "fc"}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('fc', (pg_temp.swarm('F')).coordinator_agent_run_id);
SELECT lives_ok($$SELECT pg_temp.raw_child('fc', 'f1')$$, 'fixture: a child of the coordinator');
SELECT is(concord.finish_agent_run(pg_temp.id('f1'), 'succeeded', '{"part": 1}'), 'succeeded', 'the child succeeds');
SELECT is((pg_temp.swarm('F')).status, 'running', 'a child''s finish does not settle the swarm');
SELECT is(concord.finish_agent_run(pg_temp.id('fc'), 'succeeded', '{"answer": 42}'), 'succeeded',
    'the coordinator finishes as succeeded');
SELECT row_eq(
    format($$SELECT status, live_agents, completed_at IS NOT NULL, join_decision IS NOT NULL
             FROM concord.swarm_runs WHERE swarm_run_id = %L$$, pg_temp.id('F')),
    ROW('succeeded'::text, 0, true, true),
    'the coordinator''s finish settles the swarm: joined (all_success), succeeded, no live agents'
);
INSERT INTO concord_test.fixture (label, id) VALUES ('F2', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "fin2", "objective": "finish", "join_strategy": "coordinator_synthesis",
      "coordinator": {"agent_name": "fc2"}}'));
SELECT is(concord.finish_agent_run((pg_temp.swarm('F2')).coordinator_agent_run_id, 'succeeded', '{"a": 1}'),
    'succeeded', 'a coordinator that synthesises finishes as succeeded');
SELECT row_eq(
    format($$SELECT status, result FROM concord.swarm_runs WHERE swarm_run_id = %L$$, pg_temp.id('F2')),
    ROW('succeeded'::text, '{"a": 1}'::jsonb), '...and its swarm succeeds with the coordinator''s result'
);
SELECT is(
    pg_temp.swarm_events('F2', 'swarm_status_changed', 'joining', 'succeeded'), 1::bigint,
    'the settled swarm went through joining, audited'
);

-- More that the gateway raises: a gateway tool's input that is not an
-- object, a key reused for another action, a result that is not an object, a
-- command of another type handed to the gateway's runtime step, an agent of
-- a swarm that finished behind the triggers' back (as a migration may).
INSERT INTO concord_test.fixture (label, id) VALUES ('L', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "late", "objective": "late calls",
      "coordinator": {"agent_name": "lc", "allowed_tools": ["sql.read", "bg.job", "create_artifact"]}}'));
INSERT INTO concord_test.fixture (label, id) VALUES ('lc', (pg_temp.swarm('L')).coordinator_agent_run_id);
SELECT concord_test.throws_rule(
    format($$SELECT concord.create_artifact(%L, '[]')$$, pg_temp.id('lc')),
    'CN005', 'gateway_tool_input_is_a_json_object', 'CN005: a gateway tool input that is not an object');
SELECT is(pg_temp.act('lc', '{"tool_name": "sql.read", "payload": {"q": "a"}, "idempotency_key": "once"}') ->> 'decision',
    'allowed', 'fixture: a keyed tool call');
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.act('lc', '{"tool_name": "sql.read", "payload": {"q": "b"}, "idempotency_key": "once"}')$$,
    'CN002', 'an_idempotency_key_names_one_agent_action', 'CN002: the same key for another action');
INSERT INTO concord_test.fixture (label, id) VALUES ('cmd_late', (pg_temp.act('lc', '{"tool_name": "bg.job", "payload": {}}')
                                     ->> 'command_id')::uuid);
SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_agentic_command(%L, %L)$$, pg_temp.id('cmd_late'),
           (concord_test.command('cmd_late')).dbos_workflow_id),
    'CN008', 'the_command_is_one_of_the_gateway_types', 'CN008: runtime_agentic_command of a tool''s own command');
SELECT concord_test.throws_rule(
    format($$SELECT concord.finish_agent_run(%L, 'failed', '[1]')$$, pg_temp.id('lc')),
    'CN008', 'an_agent_run_result_is_a_json_object', 'CN008: a result that is not an object');
INSERT INTO concord_test.fixture (label, id) VALUES ('Z', concord.start_swarm(pg_temp.id('pc'),
    '{"name": "frozen", "objective": "ended behind the triggers",
      "coordinator": {"agent_name": "zc", "allowed_tools": ["sql.read"]}}'));
DO $$
BEGIN
    PERFORM set_config('session_replication_role', 'replica', true);
    UPDATE concord.swarm_runs SET status = 'failed' WHERE swarm_run_id = concord_test.id('Z');
    PERFORM set_config('session_replication_role', 'origin', true);
END
$$;
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_agent_action(%L, '{"tool_name": "sql.read", "payload": {"q": "x"}}')$$,
           (pg_temp.swarm('Z')).coordinator_agent_run_id),
    'CN011', 'an_agent_of_a_finished_swarm_acts_no_more', 'CN011: a live agent of a finished swarm takes no action');

SELECT * FROM finish();
ROLLBACK;
