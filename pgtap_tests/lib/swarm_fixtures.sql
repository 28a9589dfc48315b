-- The fixtures and helpers the memory, artifact and join pgTAP files share
-- (included with \ir ../lib/swarm_fixtures.sql right after plan()): a fixture
-- command type, pg_temp helpers that make governed swarms and agents with
-- given tools and memory scopes, swarms main and other with their agents, and
-- the answers table. Everything is made inside the including file's transaction
-- and rolled back with it.

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "fixture.work", "name": "x", "sync_allowed": true}');
    PERFORM concord.add_team_member('team:approvers', 'ann');
END $$;

CREATE FUNCTION pg_temp.keep(label text, id uuid)
RETURNS uuid
LANGUAGE sql
AS $$ INSERT INTO concord_test.fixture (label, id) VALUES (label, id) RETURNING id $$;

CREATE FUNCTION pg_temp.run(label text)
RETURNS concord.agent_runs
LANGUAGE sql
AS $$ SELECT a.* FROM concord.agent_runs AS a WHERE a.agent_run_id = concord_test.id(label) $$;

-- The scope every root agent here holds.
CREATE FUNCTION pg_temp.scope()
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT '{"subject_type": "user", "subject_id": "u1", "allowed_memory_types": ["preference", "fact"],
             "allow_semantic_retrieval": true, "max_results": 3}'::jsonb
$$;

-- A running swarm named label with a running root agent label || '_root'.
CREATE FUNCTION pg_temp.swarm(label text, strategy text, options jsonb DEFAULT '{}')
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    sid uuid;
    rid uuid;
BEGIN
    INSERT INTO concord.swarm_runs (
        command_id, name, objective, execution_mode, join_strategy, join_options, max_agents, trace_id,
        created_by
    ) VALUES (concord_test.id('cmd'), label, 'test ' || label, 'parallel', strategy, options, 20, '', 'alice')
    RETURNING swarm_run_id INTO sid;
    INSERT INTO concord.agent_runs (command_id, swarm_run_id, agent_name, agent_role, goal, allowed_tools,
                                    memory_scope, trace_id)
    VALUES (concord_test.id('cmd'), sid, label || '_root', 'coordinator', 'coordinate',
            '{spawn_subagent,create_artifact,read_artifact,write_memory,retrieve_memory,evaluate_output}',
            pg_temp.scope(), '')
    RETURNING agent_run_id INTO rid;
    UPDATE concord.swarm_runs SET status = 'running' WHERE swarm_run_id = sid;
    UPDATE concord.agent_runs SET status = 'running' WHERE agent_run_id = rid;
    PERFORM pg_temp.keep(label, sid);
    PERFORM pg_temp.keep(label || '_root', rid);
    RETURN sid;
END
$$;

-- A running child agent of parent (a label) in swarm (a label).
CREATE FUNCTION pg_temp.agent(
    label text, swarm text, parent text, tools text [], scope jsonb DEFAULT '{}', role text DEFAULT 'worker'
)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    aid uuid;
BEGIN
    INSERT INTO concord.agent_runs (command_id, swarm_run_id, parent_agent_run_id, agent_name, agent_role, goal,
                                    allowed_tools, memory_scope, spawn_depth, trace_id)
    SELECT concord_test.id('cmd'), concord_test.id(swarm), p.agent_run_id, label, role, 'work', tools, scope,
           p.spawn_depth + 1, ''
    FROM concord.agent_runs AS p WHERE p.agent_run_id = concord_test.id(parent)
    RETURNING agent_run_id INTO aid;
    UPDATE concord.agent_runs SET status = 'running' WHERE agent_run_id = aid;
    RETURN pg_temp.keep(label, aid);
END
$$;

CREATE FUNCTION pg_temp.finish(label text, to_status text, result jsonb DEFAULT NULL)
RETURNS text
LANGUAGE sql
AS $$
    UPDATE concord.agent_runs SET status = to_status, result = finish.result
    WHERE agent_run_id = concord_test.id(label)
    RETURNING status
$$;

SELECT pg_temp.keep('cmd', s.command_id) IS NOT NULL AS fixture
FROM concord.submit_command('fixture.work', '{}', 'alice') AS s \gset
SELECT pg_temp.swarm('main', 'all_success') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('w1', 'main', 'main_root', '{create_artifact,read_artifact,write_memory,retrieve_memory}',
                     '{"subject_type": "user", "subject_id": "u1", "allowed_memory_types": ["preference"],
                       "allow_semantic_retrieval": false, "max_results": 2}') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('ev', 'main', 'main_root', '{evaluate_output,read_artifact}', '{}', 'reviewer')
       IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('bare', 'main', 'main_root', '{}') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('gone', 'main', 'main_root', '{create_artifact,write_memory}', pg_temp.scope())
       IS NOT NULL AS fixture \gset
SELECT pg_temp.finish('gone', 'failed') AS fixture \gset
SELECT pg_temp.swarm('other', 'all_success') IS NOT NULL AS fixture \gset

CREATE TEMP TABLE answers (label text PRIMARY KEY, answer jsonb);
