-- An agent writes and retrieves memory only within its memory scope (spec 23,
-- 61.2): the subject and memory types its memory_scope allows, a text query
-- only with allow_semantic_retrieval, at most max_results, nothing at all with
-- the empty scope (CN004); a finished agent neither writes nor retrieves
-- (CN011); a retrieval is made by an agent run with a well-formed query
-- (CN008). The guards hold on raw inserts too.
BEGIN;
SELECT plan(27);

\ir ../lib/swarm_fixtures.sql

SELECT pg_temp.keep('m3', (concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "preference", "memory_key": "tone", 
      "content": "User likes bullet lists", "confidence": 0.9, "consent": true}',
    'alice') ->> 'memory_id')::uuid) IS NOT NULL AS fixture \gset
WITH x AS (
    INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by)
    VALUES ('user', 'u1', 'fact', 'Raw owner memory about budgets', 'active', 'owner') RETURNING memory_id
)
SELECT pg_temp.keep('raw1', x.memory_id) IS NOT NULL AS fixture FROM x \gset

-- agents: scope and liveness hold on raw inserts
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by, agent_run_id)
             VALUES ('user', 'u2', 'preference', 'x', 'agent', %L)$$, concord_test.id('w1')),
    'CN004', 'an_agent_writes_memory_within_its_scope', 'CN004: an agent writes no memory of another subject'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by, agent_run_id)
             VALUES ('user', 'u1', 'fact', 'x', 'agent', %L)$$, concord_test.id('w1')),
    'CN004', 'an_agent_writes_memory_within_its_scope', 'CN004: nor of a type outside its allowed_memory_types'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by, agent_run_id)
             VALUES ('user', 'u1', 'preference', 'x', 'agent', %L)$$, concord_test.id('ev')),
    'CN004', 'an_agent_writes_memory_within_its_scope', 'CN004: an agent with memory_scope {} writes no memory'
);
SELECT throws_ok(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by, agent_run_id)
             VALUES ('user', 'u1', 'preference', 'x', 'agent', %L)$$, concord_test.id('gone')),
    'CN011', NULL, 'CN011: a finished agent writes no memory'
);
SELECT lives_ok(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by, agent_run_id)
             VALUES ('user', 'u1', 'preference', 'in scope', 'agent', %L)$$, concord_test.id('w1')),
    'a live agent writes a memory within its scope'
);

-- ===========================================================================
-- Agents write and retrieve within their scope
-- ===========================================================================
INSERT INTO answers VALUES ('aw', concord._write_memory('agent:w1', pg_temp.run('w1'),
    '{"memory_type": "preference", "memory_key": "format", "content": "Prefers PDF exports",
      "consent": true}'));
SELECT is((SELECT m.subject_type || ':' || m.subject_id || '/' || m.status || '/' || m.agent_run_id
           FROM concord.memories AS m WHERE m.memory_id = (SELECT (answer ->> 'memory_id')::uuid FROM answers
                                                           WHERE label = 'aw')),
          'user:u1/active/' || concord_test.id('w1'),
          '_write_memory: an agent''s subject defaults to its scope''s; the write is active');
SELECT is((SELECT c.ingress || '/' || c.requested_by FROM concord.commands AS c
           WHERE c.command_id = (SELECT (answer ->> 'command_id')::uuid FROM answers WHERE label = 'aw')),
          'agent/agent:w1', '_write_memory: the command comes from the agent');
SELECT concord_test.throws_rule(
    $$SELECT concord._write_memory('agent:w1', pg_temp.run('w1'),
        '{"subject_id": "u9", "memory_type": "preference", "content": "x", "consent": true}')$$,
    'CN004', 'an_agent_writes_memory_within_its_scope', 'CN004: _write_memory refuses another subject'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._write_memory('agent:w1', pg_temp.run('w1'),
        '{"memory_type": "fact", "content": "x", "consent": true}')$$,
    'CN004', 'an_agent_writes_memory_within_its_scope', 'CN004: _write_memory refuses a type outside the scope'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._write_memory('agent:ev', pg_temp.run('ev'),
        '{"memory_type": "preference", "content": "x", "consent": true}')$$,
    'CN004', 'an_agent_writes_memory_within_its_scope', 'CN004: _write_memory refuses an agent with memory_scope {}'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._write_memory('agent:gone', pg_temp.run('gone'),
        '{"memory_type": "preference", "content": "x", "consent": true}')$$,
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: _write_memory refuses a finished agent'
);

-- retrieval
SELECT is((concord._retrieve_memory(pg_temp.run('main_root'), '{}') ->> 'count')::integer, 3,
          '_retrieve_memory: at most the scope''s max_results (3)');
SELECT is((concord._retrieve_memory(pg_temp.run('main_root'), '{"limit": 1}') ->> 'count')::integer, 1,
          '_retrieve_memory: a smaller limit is kept');
SELECT is((concord._retrieve_memory(pg_temp.run('main_root'), '{"limit": 50}') ->> 'count')::integer, 3,
          '_retrieve_memory: a larger limit is capped by max_results');
SELECT ok((SELECT bool_and(m ->> 'status' = 'active' AND m ->> 'subject_id' = 'u1')
           FROM jsonb_array_elements(concord._retrieve_memory(pg_temp.run('w1'), '{}') -> 'memories') AS x (m)),
          '_retrieve_memory: only active memories of the scope''s subject');
SELECT ok((SELECT bool_and(m ->> 'memory_type' = 'preference')
           FROM jsonb_array_elements(concord._retrieve_memory(pg_temp.run('w1'), '{}') -> 'memories') AS x (m)),
          '_retrieve_memory: only the scope''s memory types');
SELECT is(concord._retrieve_memory(pg_temp.run('main_root'), '{"text": "budgets", "memory_type": "fact"}')
          #>> '{memories,0,memory_id}', concord_test.id('raw1')::text,
          '_retrieve_memory: a text query is a full-text search');
SELECT concord_test.throws_rule(
    $$SELECT concord._retrieve_memory(pg_temp.run('w1'), '{"text": "reports"}')$$,
    'CN004', 'a_text_query_needs_semantic_retrieval', 'CN004: a text query needs allow_semantic_retrieval'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._retrieve_memory(pg_temp.run('w1'), '{"memory_type": "fact"}')$$,
    'CN004', 'an_agent_retrieves_only_its_allowed_memory_types', 'CN004: a memory type outside the scope'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._retrieve_memory(pg_temp.run('ev'), '{}')$$,
    'CN004', 'the_empty_memory_scope_gives_no_access', 'CN004: an agent with memory_scope {} retrieves nothing'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._retrieve_memory(pg_temp.run('w1'), '{"limit": 0}')$$,
    'CN008', 'a_retrieval_limit_is_a_whole_number_at_least_1', 'CN008: a limit is at least 1'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._retrieve_memory(pg_temp.run('w1'), '{"where": "1=1"}')$$,
    'CN008', 'a_memory_query_has_only_known_keys', 'CN008: unknown query keys'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._retrieve_memory(pg_temp.run('gone'), '{}')$$,
    'CN011', 'a_finished_agent_run_acts_no_more', 'CN011: a finished agent retrieves nothing'
);

SELECT concord_test.throws_rule(
    $$SELECT concord._retrieve_memory(NULL::concord.agent_runs, '{}')$$,
    'CN008', 'an_agent_tool_is_called_for_an_agent_run', 'CN008: a retrieval is made by an agent run'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._retrieve_memory(pg_temp.run('w1'), '["preference"]')$$,
    'CN008', 'a_memory_query_is_a_json_object', 'CN008: a memory query is a JSON object'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._retrieve_memory(pg_temp.run('w1'), '{"memory_types": "preference"}')$$,
    'CN008', 'memory_types_of_a_query_are_strings', 'CN008: memory_types is a list of strings'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._retrieve_memory(pg_temp.run('main_root'), '{"text": "  "}')$$,
    'CN008', 'a_text_query_is_not_blank', 'CN008: a text query is not blank'
);

SELECT * FROM finish();
ROLLBACK;
