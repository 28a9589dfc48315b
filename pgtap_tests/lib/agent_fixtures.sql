-- The fixtures and helpers the agents' pgTAP files share (included with
-- \ir ../lib/agent_fixtures.sql right after plan()): pg_temp helpers to remember,
-- read and attack agent and swarm runs, the tools and command types the
-- files use, a governed parent command and swarm R with its coordinator rc.
-- Everything is made inside the including file's transaction and rolled back
-- with it.

-- Remember an id under a label.
CREATE FUNCTION pg_temp.remember(label text, id uuid)
RETURNS uuid
LANGUAGE sql
AS $$ INSERT INTO concord_test.fixture (label, id) VALUES (label, id) RETURNING id $$;

CREATE FUNCTION pg_temp.id(label text)
RETURNS uuid
LANGUAGE sql
AS $$ SELECT concord_test.id(label) $$;

-- The agent run remembered as label, whole (volatile: sees fresh writes).
CREATE FUNCTION pg_temp.run(label text)
RETURNS concord.agent_runs
LANGUAGE sql
AS $$ SELECT a.* FROM concord.agent_runs AS a WHERE a.agent_run_id = concord_test.id(label) $$;

-- The swarm run remembered as label, whole.
CREATE FUNCTION pg_temp.swarm(label text)
RETURNS concord.swarm_runs
LANGUAGE sql
AS $$ SELECT s.* FROM concord.swarm_runs AS s WHERE s.swarm_run_id = concord_test.id(label) $$;

-- Run sql; 'ok' or the SQLSTATE it raised (its effects are kept when ok).
CREATE FUNCTION pg_temp.outcome(sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- Run sql as role; 'ok' or the SQLSTATE it raised.
CREATE FUNCTION pg_temp.as_role(role name, sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    result text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    BEGIN
        EXECUTE sql;
        result := 'ok';
    EXCEPTION WHEN OTHERS THEN
        result := SQLSTATE;
    END;
    RESET ROLE;
    RETURN result;
END
$$;

-- A spec 61.2 memory scope.
CREATE FUNCTION pg_temp.ms(
    subject_id text DEFAULT 'u1', types jsonb DEFAULT '["preference", "fact"]', semantic boolean DEFAULT false,
    max_results integer DEFAULT 5, subject_type text DEFAULT 'user'
)
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT jsonb_build_object('subject_type', subject_type, 'subject_id', subject_id,
                              'allowed_memory_types', types, 'allow_semantic_retrieval', semantic,
                              'max_results', max_results)
$$;

-- A raw child of the agent run remembered as parent_label, written straight
-- into agent_runs by the owner; every scope is the parent's unless given;
-- remembered as label.
CREATE FUNCTION pg_temp.raw_child(
    parent_label text, label text, tools text [] DEFAULT NULL, connectors text [] DEFAULT NULL,
    child_roles text [] DEFAULT NULL, mem jsonb DEFAULT NULL, role text DEFAULT 'researcher',
    steps integer DEFAULT 10, depth integer DEFAULT NULL
)
RETURNS uuid
LANGUAGE sql
AS $$
    WITH a AS (
        INSERT INTO concord.agent_runs (
            command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role, goal, allowed_tools,
            allowed_connectors, allowed_child_roles, memory_scope, max_steps, spawn_depth
        )
        SELECT p.command_id, p.swarm_run_id, p.agent_run_id, raw_child.label, raw_child.role, 'a raw goal',
               coalesce(raw_child.tools, p.allowed_tools), coalesce(raw_child.connectors, p.allowed_connectors),
               coalesce(raw_child.child_roles, p.allowed_child_roles), coalesce(raw_child.mem, p.memory_scope),
               raw_child.steps, coalesce(raw_child.depth, p.spawn_depth + 1)
        FROM concord.agent_runs AS p WHERE p.agent_run_id = concord_test.id(raw_child.parent_label)
        RETURNING agent_runs.agent_run_id
    )
    INSERT INTO concord_test.fixture (label, id)
    SELECT raw_child.label, a.agent_run_id FROM a
    RETURNING fixture.id
$$;

-- A raw swarm run (status created, no agents yet) under the command
-- remembered as 'pc'.
CREATE FUNCTION pg_temp.raw_swarm(label text, max_agents integer DEFAULT 10)
RETURNS uuid
LANGUAGE sql
AS $$
    WITH s AS (
        INSERT INTO concord.swarm_runs (command_id, name, objective, execution_mode, join_strategy, max_agents,
                                        trace_id, created_by)
        VALUES (concord_test.id('pc'), raw_swarm.label, 'raw objective', 'parallel', 'all_success',
                raw_swarm.max_agents, '', 'owner')
        RETURNING swarm_runs.swarm_run_id
    )
    INSERT INTO concord_test.fixture (label, id)
    SELECT raw_swarm.label, s.swarm_run_id FROM s
    RETURNING fixture.id
$$;

-- A raw root agent run in the swarm remembered as swarm_label; the columns
-- given in cols/vals (SQL text) override the defaults.
CREATE FUNCTION pg_temp.raw_root_sql(swarm_label text, cols text, vals text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT format(
        'INSERT INTO concord.agent_runs (command_id, swarm_run_id, agent_name, agent_role, goal%s) '
        'VALUES (%L, %L, %L, %L, %L%s)',
        CASE WHEN cols <> '' THEN ', ' || cols ELSE '' END, concord_test.id('pc'), concord_test.id(swarm_label),
        'root', 'coordinator', 'a root goal', CASE WHEN vals <> '' THEN ', ' || vals ELSE '' END)
$$;

-- A spawn through the gateway: parent label, request fields.
CREATE FUNCTION pg_temp.spawn(parent_label text, request jsonb)
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT concord.spawn_subagent(request || jsonb_build_object('parent_agent_run_id', concord_test.id(parent_label)))
$$;

-- A tool call through the gateway.
CREATE FUNCTION pg_temp.act(label text, action jsonb)
RETURNS jsonb
LANGUAGE sql
AS $$ SELECT concord.submit_agent_action(concord_test.id(label), action) $$;

-- How many audit events of event_type name the agent run remembered as label
-- (optionally from -> to).
CREATE FUNCTION pg_temp.agent_events(label text, event_type text, from_status text DEFAULT NULL,
                                     to_status text DEFAULT NULL)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT count(*) FROM concord.domain_events AS e
    WHERE e.agent_run_id = concord_test.id(label) AND e.event_type = agent_events.event_type
      AND (agent_events.from_status IS NULL OR e.from_status = agent_events.from_status)
      AND (agent_events.to_status IS NULL OR e.to_status = agent_events.to_status)
$$;

CREATE FUNCTION pg_temp.swarm_events(label text, event_type text, from_status text DEFAULT NULL,
                                     to_status text DEFAULT NULL)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT count(*) FROM concord.domain_events AS e
    WHERE e.swarm_run_id = concord_test.id(label) AND e.agent_run_id IS NULL
      AND e.event_type = swarm_events.event_type
      AND (swarm_events.from_status IS NULL OR e.from_status = swarm_events.from_status)
      AND (swarm_events.to_status IS NULL OR e.to_status = swarm_events.to_status)
$$;

-- Command types, tools, the parent command.
DO $$
BEGIN
    PERFORM concord.register_command_type('{"command_type": "t.parent", "name": "p", "sync_allowed": true}');
    PERFORM concord.register_command_type(
        '{"command_type": "t.read", "sync_allowed": true, "policy_checks": ["agent_tool"]}');
    PERFORM concord.register_policy(
        '{"name": "ag_deny", "predicate": "$.payload.deny == true", "decision": "deny", "reasons": ["never"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t.deny", "sync_allowed": true, "policy_checks": ["agent_tool", "ag_deny"]}');
    PERFORM concord.register_connector('{"name": "crm", "connector_type": "http", "capabilities": ["crm.update"]}');
    PERFORM concord.register_tool(
        '{"name": "sql.read", "command_type": "t.read", "description": "read",
          "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}');
    PERFORM concord.register_tool(
        '{"name": "crm.update", "command_type": "t.read", "connector": "crm", "capability": "crm.update"}');
    PERFORM concord.register_tool('{"name": "publish", "command_type": "t.read", "requires_approval": true}');
    PERFORM concord.register_tool('{"name": "danger", "command_type": "t.deny"}');
    PERFORM concord.register_tool('{"name": "other.read", "command_type": "t.read"}');
    PERFORM concord.register_command_type('{"command_type": "t.async", "policy_checks": ["agent_tool"]}');
    PERFORM concord.register_tool('{"name": "bg.job", "command_type": "t.async"}');
    PERFORM pg_temp.remember('pc', (SELECT s.command_id FROM concord.submit_command('t.parent', '{}', 'alice') AS s));
    PERFORM pg_temp.remember('pc2', (SELECT s.command_id FROM concord.submit_command('t.parent', '{}', 'alice') AS s));
END
$$;

-- Swarm G: the gateway's swarm.
INSERT INTO concord_test.fixture (label, id) VALUES ('G', concord.start_swarm(pg_temp.id('pc'),
    jsonb_build_object(
        'name', 'gw', 'objective', 'investigate revenue',
        'limits', jsonb_build_object('max_agents', 4, 'max_depth', 2, 'max_total_steps', 60),
        'coordinator', jsonb_build_object(
            'agent_name', 'coord', 'max_steps', 30,
            'allowed_tools', '["sql.read", "spawn_subagent", "publish", "crm.update", "danger", "bg.job"]'::jsonb,
            'allowed_connectors', '["crm"]'::jsonb,
            'memory_scope', pg_temp.ms(semantic => true, max_results => 10)),
        'agents', '[{"agent_name": "researcher", "agent_role": "researcher", "goal": "research",
                     "allowed_tools": ["sql.read"]},
                    {"agent_name": "analyst", "agent_role": "analyst", "goal": "analyse"}]'::jsonb)));
INSERT INTO concord_test.fixture (label, id) VALUES ('coord', (SELECT s.coordinator_agent_run_id FROM concord.swarm_runs AS s
                                  WHERE s.swarm_run_id = pg_temp.id('G')));

-- Swarm R: raw attacks on scopes.
INSERT INTO concord_test.fixture (label, id) VALUES ('R', concord.start_swarm(pg_temp.id('pc'),
    jsonb_build_object(
        'name', 'raw', 'objective', 'be attacked',
        'limits', jsonb_build_object('max_agents', 50, 'max_depth', 3, 'max_total_steps', 1000),
        'coordinator', jsonb_build_object(
            'agent_name', 'rc', 'max_steps', 100,
            'allowed_tools', '["sql.read", "publish", "crm.update"]'::jsonb,
            'allowed_connectors', '["crm", "mail"]'::jsonb,
            'allowed_child_roles', '["researcher", "analyst"]'::jsonb,
            'memory_scope', pg_temp.ms()))));
INSERT INTO concord_test.fixture (label, id) VALUES ('rc', (pg_temp.swarm('R')).coordinator_agent_run_id);

