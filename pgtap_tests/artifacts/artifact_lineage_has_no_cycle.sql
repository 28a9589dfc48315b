-- Artifact lineage (spec 24, 63): a lineage row links two existing artifacts
-- of the same swarm, never makes a cycle, and is recorded once (no update,
-- delete or truncate).
BEGIN;
SELECT plan(10);

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

INSERT INTO answers VALUES ('a1', concord._create_artifact(pg_temp.run('w1'),
    '{"artifact_type": "report", "name": "revenue", "content": {"total": 10}, "score": 0.7}'));
INSERT INTO answers VALUES ('a1v2', concord._create_artifact(pg_temp.run('w1'),
    '{"artifact_type": "report", "name": "revenue", "location": "s3://bucket/revenue-v2.pdf", "status": "final"}'));
SELECT pg_temp.keep('a1', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a1'))
       IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('a1v2', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a1v2'))
       IS NOT NULL AS fixture \gset
-- lineage
INSERT INTO answers VALUES ('a2', concord._create_artifact(pg_temp.run('w1'),
    jsonb_build_object('artifact_type', 'summary', 'name', 'summary', 'content', 'short',
                       'parent_artifact_ids', jsonb_build_array(concord_test.id('a1')))));
SELECT pg_temp.keep('a2', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a2'))
       IS NOT NULL AS fixture \gset
SELECT is((SELECT answer -> 'parent_artifact_ids' FROM answers WHERE label = 'a2'),
          jsonb_build_array(concord_test.id('a1')), '_create_artifact: records its lineage');
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id) VALUES (%L, %L)$$,
           concord_test.id('a1'), concord_test.id('a2')),
    'CN003', 'artifact_lineage_has_no_cycle', 'CN003: a parent cannot derive from its descendant (no cycle)'
);
SELECT pg_temp.keep('o_art', (concord._create_artifact(pg_temp.run('other_root'),
    '{"artifact_type": "report", "name": "elsewhere", "content": 1}') ->> 'artifact_id')::uuid)
       IS NOT NULL AS fixture \gset
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id) VALUES (%L, %L)$$,
           concord_test.id('a2'), concord_test.id('o_art')),
    'CN004', 'lineage_stays_within_one_swarm', 'CN004: a swarm''s artifact derives only from artifacts of its swarm'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._create_artifact(pg_temp.run('w1'), jsonb_build_object('artifact_type', 'x', 'name', 'x',
        'content', 1, 'parent_artifact_ids', jsonb_build_array(concord_test.id('o_art'))))$$,
    'CN004', 'lineage_stays_within_one_swarm', 'CN004: _create_artifact refuses a parent of another swarm'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.artifact_lineage SET created_at = now() WHERE artifact_id = %L$$, concord_test.id('a2')),
    'CN007', 'artifact_lineage_is_append_only', 'CN007: lineage is not rewritten'
);
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.artifact_lineage WHERE artifact_id = %L$$, concord_test.id('a2')),
    'CN007', 'artifact_lineage_is_append_only', 'CN007: lineage is not deleted'
);

SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id) VALUES (%L, %L)$$,
           concord_test.id('a2'), gen_random_uuid()),
    'CN006', 'lineage_links_existing_artifacts', 'CN006: a parent artifact exists'
);
SELECT concord_test.throws_rule(
    'TRUNCATE concord.artifact_lineage', 'CN007', 'artifact_lineage_is_not_truncated',
    'CN007: lineage is not truncated'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id) VALUES (%L, %L)$$,
           concord_test.id('a2'), concord_test.id('a2')),
    'CN003', 'artifact_lineage_has_no_cycle', 'CN003: an artifact is not its own parent'
);
-- the guard refuses it first: the CHECK holds even for a writer that skips the triggers
SET LOCAL session_replication_role = replica;
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id) VALUES (%L, %L)$$,
           concord_test.id('a2'), concord_test.id('a2')),
    '23514', 'an_artifact_is_not_its_own_parent', 'an artifact is not its own parent'
);
SET LOCAL session_replication_role = origin;

SELECT * FROM finish();
ROLLBACK;
