-- Memory (spec 23, 61), artifacts (spec 24, 63, 66) and join strategies
-- (spec 53, 68.3): the memory status machine and its immutable columns hold
-- against the table owner; an agent writes and retrieves memory only within
-- its memory scope (CN004) and only while live (CN011); the memory_write rule
-- activates a write at once only when confident, consented, not sensitive
-- and not broad, else the write is a candidate awaiting approval; a keyed
-- memory supersedes the active one of its key in the same transaction; a
-- forgotten memory loses its content (and the audit never had it).
-- Artifacts belong to their agent's swarm and command, need the agent's tool,
-- are versioned by name, change only in status along their machine, and
-- their lineage stays in the swarm without cycles. Every join strategy
-- decides as spec 68.3 says, and a swarm is joined only when its children
-- allow it.
BEGIN;
SELECT plan(197);

-- ===========================================================================
-- Fixtures
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t18.x", "name": "x", "sync_allowed": true}');
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
FROM concord.submit_command('t18.x', '{}', 'alice') AS s \gset
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

-- ===========================================================================
-- 1. The memory_write rule (spec 23), pure
-- ===========================================================================
CREATE FUNCTION pg_temp.decide(memory jsonb, config jsonb DEFAULT NULL)
RETURNS text
LANGUAGE sql
AS $$
    SELECT concord._memory_decision(memory, coalesce(config, (SELECT p.config FROM concord.policies AS p
                                                              WHERE p.name = 'memory_write'))) ->> 'decision'
$$;

SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "preference", "confidence": 0.8,
                           "consent": true, "sensitive": false}'), 'allow',
          'memory_write: confident, consented, not sensitive, not broad -> allow');
SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "preference", "confidence": 0.79,
                           "consent": true}'), 'require_approval',
          'memory_write: confidence below 0.8 -> require_approval');
SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "preference", "confidence": 1}'),
          'require_approval', 'memory_write: no consent -> require_approval');
SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "preference", "consent": true,
                           "sensitive": true}'), 'require_approval',
          'memory_write: sensitive -> require_approval');
SELECT is(pg_temp.decide('{"subject_type": "organization", "memory_type": "preference", "consent": true}'),
          'require_approval', 'memory_write: an organization subject is broad -> require_approval');
SELECT is(pg_temp.decide('{"subject_type": "global", "memory_type": "preference", "consent": true}'),
          'require_approval', 'memory_write: a global subject is broad -> require_approval');
SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "policy", "consent": true}'),
          'require_approval', 'memory_write: a policy memory is broad -> require_approval');
SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "preference", "confidence": "high",
                           "consent": true}'), 'require_approval',
          'memory_write: a confidence that is not a number never allows');
SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "preference", "confidence": 0.6,
                           "consent": true}', '{"min_confidence": 0.5}'), 'allow',
          'memory_write: the threshold comes from the policy config');
SELECT is(jsonb_array_length(concord._memory_decision(
              '{"subject_type": "global", "memory_type": "policy", "confidence": 0.1, "sensitive": true}',
              '{}') -> 'reasons'), 5,
          'memory_write: every reason is listed');

-- ===========================================================================
-- 2. remember: direct writes, supersession, candidates
-- ===========================================================================
SELECT pg_temp.keep('m1', (concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "preference", "memory_key": "tone",
      "content": "User prefers concise executive summaries", "confidence": 0.9, "consent": true}',
    'alice') ->> 'memory_id')::uuid) IS NOT NULL AS fixture \gset
SELECT is((SELECT status FROM concord.memories WHERE memory_id = concord_test.id('m1')), 'active',
          'remember: an allowed write is active at once');
SELECT is((SELECT c.status FROM concord.commands AS c INNER JOIN concord.memories AS m USING (command_id)
           WHERE m.memory_id = concord_test.id('m1')), 'succeeded',
          'remember: its concord.write_memory command succeeded');
SELECT is((SELECT c.result ->> 'memory_id' FROM concord.commands AS c INNER JOIN concord.memories AS m
           USING (command_id) WHERE m.memory_id = concord_test.id('m1')), concord_test.id('m1')::text,
          'remember: the command''s result names the memory');
SELECT ok((SELECT NOT (c.payload ? 'content') AND c.payload ? 'content_sha256'
           FROM concord.commands AS c INNER JOIN concord.memories AS m USING (command_id)
           WHERE m.memory_id = concord_test.id('m1')),
          'remember: the command carries a digest of the content, not the content');

SELECT pg_temp.keep('m2', (concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "preference", "memory_key": "tone",
      "content": "User prefers detailed reports with tables", "confidence": 0.95, "consent": true}',
    'alice') ->> 'memory_id')::uuid) IS NOT NULL AS fixture \gset
SELECT is((SELECT status || '/' || superseded_by_memory_id FROM concord.memories
           WHERE memory_id = concord_test.id('m1')), 'superseded/' || concord_test.id('m2'),
          'remember: a write of the same key supersedes the active memory, naming its successor');
SELECT is((SELECT status || '/' || supersedes_memory_id FROM concord.memories
           WHERE memory_id = concord_test.id('m2')), 'active/' || concord_test.id('m1'),
          'remember: the new memory is active and names the one it superseded');
SELECT is((SELECT count(*)::integer FROM concord.memories
           WHERE subject_id = 'u1' AND memory_key = 'tone' AND status = 'active'), 1,
          'remember: one active memory per key');

CREATE TEMP TABLE answers (label text PRIMARY KEY, answer jsonb);
INSERT INTO answers VALUES ('m3', concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "preference", "memory_key": "tone",
      "content": "User likes bullet lists", "confidence": 0.5, "consent": true}', 'alice'));
SELECT pg_temp.keep('m3', (SELECT (answer ->> 'memory_id')::uuid FROM answers WHERE label = 'm3'))
       IS NOT NULL AS fixture \gset
SELECT is((SELECT answer ->> 'status' || '/' || (answer ->> 'command_status') || '/' || (answer ->> 'decision')
           FROM answers WHERE label = 'm3'), 'candidate/waiting_for_approval/require_approval',
          'remember: an unconfident write is a candidate whose command waits for approval');
SELECT ok((SELECT answer ->> 'approval_id' IS NOT NULL AND answer -> 'reasons' @> '["confidence 0.5 is below 0.8"]'
           FROM answers WHERE label = 'm3'),
          'remember: the answer carries the approval to decide and why');
SELECT is((SELECT supersedes_memory_id FROM concord.memories WHERE memory_id = concord_test.id('m3')),
          concord_test.id('m2'), 'remember: a candidate names the active memory it would supersede');
SELECT is((SELECT status FROM concord.memories WHERE memory_id = concord_test.id('m2')), 'active',
          'remember: the active memory stays active while the candidate waits');

SELECT throws_ok(
    $$SELECT concord.remember('{"subject_type": "Bad", "memory_type": "preference", "content": " ",
                                 "confidence": 2, "colour": "red"}', 'alice')$$,
    'CN005', NULL, 'CN005: remember refuses an invalid memory'
);
SELECT ok(concord_test.error_detail(
    $$SELECT concord.remember('{"subject_type": "Bad", "memory_type": "preference", "content": " ",
                                 "confidence": 2, "colour": "red"}', 'alice')$$)
          ~ 'unknown keys: colour.*subject_type must.*subject_id is required.*content must.*confidence must',
          'CN005: DETAIL lists every problem');
SELECT throws_ok(
    $$SELECT concord.remember('{"subject_type": "user", "subject_id": "u1", "memory_type": "fact",
                                 "content": "x", "expires_at": "2001-01-01T00:00:00Z"}', 'alice')$$,
    'CN005', NULL, 'CN005: a memory cannot be written already expired'
);
SELECT throws_ok(
    $$SELECT concord.remember('{"subject_type": "user", "subject_id": "u1", "memory_type": "fact",
                                 "content": "x", "expires_at": "2999-01-01", "ttl_seconds": 60}', 'alice')$$,
    'CN005', NULL, 'CN005: expires_at or ttl_seconds, not both'
);
SELECT throws_ok($$SELECT concord.remember('{}', NULL)$$, 'CN008', NULL, 'CN008: remember needs an actor');

-- idempotent by key
INSERT INTO answers VALUES ('idem1', concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "fact", "content": "Works in finance",
      "consent": true, "idempotency_key": "t18-idem"}', 'alice'));
INSERT INTO answers VALUES ('idem2', concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "fact", "content": "Works in finance",
      "consent": true, "idempotency_key": "t18-idem"}', 'alice'));
SELECT is((SELECT answer FROM answers WHERE label = 'idem2'), (SELECT answer FROM answers WHERE label = 'idem1'),
          'remember: a replayed idempotency key returns the same answer');
SELECT is((SELECT count(*)::integer FROM concord.memories WHERE content = 'Works in finance'), 1,
          'remember: and writes nothing more');

-- ===========================================================================
-- 3. The approval path: the worker's operation activates the candidate
-- ===========================================================================
SELECT throws_ok(
    format('SELECT concord._activate_memory_command(%L)', (SELECT answer ->> 'command_id' FROM answers
                                                           WHERE label = 'm3')),
    'CN011', NULL, 'CN011: a write waiting for approval is not activated'
);
SELECT is(concord.resolve_approval((SELECT (answer ->> 'approval_id')::uuid FROM answers WHERE label = 'm3'),
                                   'approved', 'ann') ->> 'command_status', 'queued',
          'fixture: the approver approves the write; its command is queued');
INSERT INTO answers VALUES ('m3_act', concord._activate_memory_command(
    (SELECT (answer ->> 'command_id')::uuid FROM answers WHERE label = 'm3')));
SELECT is((SELECT answer ->> 'status' || '/' || (answer ->> 'superseded_memory_id') FROM answers
           WHERE label = 'm3_act'), 'active/' || concord_test.id('m2'),
          '_activate_memory_command: the approved candidate is active, superseding the active memory');
SELECT is((SELECT status FROM concord.memories WHERE memory_id = concord_test.id('m2')), 'superseded',
          '_activate_memory_command: the previous memory is superseded');
SELECT is(concord._activate_memory_command((SELECT (answer ->> 'command_id')::uuid FROM answers
                                            WHERE label = 'm3')),
          (SELECT answer FROM answers WHERE label = 'm3_act'),
          '_activate_memory_command: a replay returns the same answer');
SELECT is((SELECT count(*)::integer FROM concord.memories WHERE subject_id = 'u1' AND memory_key = 'tone'
           AND status = 'active'), 1, '_activate_memory_command: still one active memory of the key');

-- a rejected write: its candidate is deleted when the commands hook settles it
INSERT INTO answers VALUES ('m4', concord.remember(
    '{"subject_type": "organization", "subject_id": "acme", "memory_type": "fact",
      "content": "Fiscal year starts in April", "consent": true}', 'alice'));
SELECT is((SELECT answer ->> 'status' FROM answers WHERE label = 'm4'), 'candidate',
          'remember: an organization memory is a candidate (broad)');
SELECT is(concord.resolve_approval((SELECT (answer ->> 'approval_id')::uuid FROM answers WHERE label = 'm4'),
                                   'rejected', 'ann') ->> 'command_status', 'failed',
          'fixture: the approver rejects it');
SELECT lives_ok(
    format('SELECT concord._memory_command_settled(c) FROM concord.commands AS c WHERE c.command_id = %L',
           (SELECT answer ->> 'command_id' FROM answers WHERE label = 'm4')),
    '_memory_command_settled runs for a rejected write'
);
SELECT is((SELECT status || '/' || content FROM concord.memories
           WHERE memory_id = (SELECT (answer ->> 'memory_id')::uuid FROM answers WHERE label = 'm4')),
          'deleted/', '_memory_command_settled: the rejected candidate is deleted, without content');

-- ===========================================================================
-- 4. Guards on concord.memories, as the table owner
-- ===========================================================================
SELECT throws_ok(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by)
      VALUES ('user', 'u1', 'fact', 'x', 'superseded', 'owner')$$,
    'CN001', NULL, 'CN001: a new memory starts as candidate or active'
);
SELECT throws_ok(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by)
      VALUES ('user', 'u1', 'fact', 'x', 'deleted', 'owner')$$,
    'CN001', NULL, 'CN001: not deleted either'
);
SELECT throws_ok(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by,
                                           superseded_by_memory_id)
             VALUES ('user', 'u1', 'preference', 'x', 'candidate', 'owner', %L)$$, concord_test.id('m3')),
    'CN007', NULL, 'CN007: a new memory is superseded by nothing'
);
SELECT throws_ok(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, memory_key, content, status,
                                    written_by)
      VALUES ('user', 'u1', 'preference', 'tone', 'raw', 'active', 'owner')$$,
    'CN011', NULL, 'CN011: a second active memory of a key is refused'
);
SELECT throws_ok(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by,
                                    expires_at)
      VALUES ('user', 'u1', 'fact', 'x', 'active', 'owner', now() - interval '1 second')$$,
    'CN011', NULL, 'CN011: an expired memory is not active'
);
SELECT throws_ok(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by,
                                           supersedes_memory_id)
             VALUES ('user', 'u2', 'preference', 'x', 'candidate', 'owner', %L)$$, concord_test.id('m3')),
    'CN004', NULL, 'CN004: a memory supersedes only one of its own subject and type'
);
WITH x AS (
    INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by)
    VALUES ('user', 'u1', 'fact', 'Raw owner memory about budgets', 'active', 'owner') RETURNING memory_id
)
SELECT pg_temp.keep('raw1', x.memory_id) IS NOT NULL AS fixture FROM x \gset
SELECT throws_ok(
    format($$UPDATE concord.memories SET content = 'rewritten' WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN007', NULL, 'CN007: the content is immutable'
);
SELECT throws_ok(
    format($$UPDATE concord.memories SET subject_id = 'u2' WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN007', NULL, 'CN007: the subject is immutable'
);
SELECT throws_ok(
    format($$UPDATE concord.memories SET confidence = 0.1 WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN007', NULL, 'CN007: the confidence is immutable'
);
SELECT throws_ok(
    format($$UPDATE concord.memories SET consent = true WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN007', NULL, 'CN007: the consent is immutable'
);
SELECT throws_ok(
    format($$UPDATE concord.memories SET written_by = 'mallory' WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN007', NULL, 'CN007: the writer is immutable'
);
SELECT throws_ok(
    format($$UPDATE concord.memories SET status = 'candidate' WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN001', NULL, 'CN001: active -> candidate is not an edge'
);
SELECT throws_ok(
    format($$UPDATE concord.memories SET status = 'superseded' WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN011', NULL, 'CN011: a superseded memory names its successor'
);
SELECT throws_ok(
    format($$UPDATE concord.memories SET status = 'superseded', superseded_by_memory_id = %L
             WHERE memory_id = %L$$, concord_test.id('m3'), concord_test.id('raw1')),
    'CN004', NULL, 'CN004: its successor is of the same subject and type'
);
SELECT throws_ok(
    format($$UPDATE concord.memories SET status = 'superseded', superseded_by_memory_id = %L
             WHERE memory_id = %L$$, concord_test.id('m1'), concord_test.id('m3')),
    'CN011', NULL, 'CN011: its successor is active (or becoming active)'
);
SELECT throws_ok(
    format($$UPDATE concord.memories SET status = 'expired' WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN011', NULL, 'CN011: a memory without expires_at does not expire'
);
SELECT throws_ok(
    format($$DELETE FROM concord.memories WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN007', NULL, 'CN007: a memory is never deleted'
);
-- (a TRUNCATE is refused while deferred checks are pending: run them first)
SET CONSTRAINTS concord.memories_successor_becomes_active IMMEDIATE;
SET CONSTRAINTS concord.memories_successor_becomes_active DEFERRED;
SELECT throws_ok('TRUNCATE concord.memories', 'CN007', NULL, 'CN007: memories are not truncated');

-- the deferred check: a candidate successor must become active by commit
WITH x AS (
    INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by)
    VALUES ('user', 'u1', 'fact', 'A candidate that never activates', 'candidate', 'owner') RETURNING memory_id
)
SELECT pg_temp.keep('raw2', x.memory_id) IS NOT NULL AS fixture FROM x \gset
SAVEPOINT deferred;
UPDATE concord.memories SET status = 'superseded', superseded_by_memory_id = concord_test.id('raw2')
WHERE memory_id = concord_test.id('raw1');
SELECT throws_ok('SET CONSTRAINTS concord.memories_successor_becomes_active IMMEDIATE', 'CN011', NULL,
                 'CN011: a memory superseded by a candidate that never becomes active is refused at commit');
ROLLBACK TO SAVEPOINT deferred;

-- agents: scope and liveness hold on raw inserts
SELECT throws_ok(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by, agent_run_id)
             VALUES ('user', 'u2', 'preference', 'x', 'agent', %L)$$, concord_test.id('w1')),
    'CN004', NULL, 'CN004: an agent writes no memory of another subject'
);
SELECT throws_ok(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by, agent_run_id)
             VALUES ('user', 'u1', 'fact', 'x', 'agent', %L)$$, concord_test.id('w1')),
    'CN004', NULL, 'CN004: nor of a type outside its allowed_memory_types'
);
SELECT throws_ok(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by, agent_run_id)
             VALUES ('user', 'u1', 'preference', 'x', 'agent', %L)$$, concord_test.id('ev')),
    'CN004', NULL, 'CN004: an agent with memory_scope {} writes no memory'
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

-- audit: every write and move, never the content
SELECT ok((SELECT count(*) FROM concord.domain_events WHERE target_type = 'memory'
           AND target_id = concord_test.id('m2')::text
           AND event_type IN ('memory_written', 'memory_status_changed')) = 3,
          'audit: a memory''s write and each of its status changes are recorded');
SELECT is((SELECT count(*)::integer FROM concord.domain_events WHERE target_type = 'memory'
           AND payload::text LIKE '%concise executive%'), 0,
          'audit: no audit row carries a memory''s content');

-- ===========================================================================
-- 5. Agents write and retrieve within their scope
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
SELECT throws_ok(
    $$SELECT concord._write_memory('agent:w1', pg_temp.run('w1'),
        '{"subject_id": "u9", "memory_type": "preference", "content": "x", "consent": true}')$$,
    'CN004', NULL, 'CN004: _write_memory refuses another subject'
);
SELECT throws_ok(
    $$SELECT concord._write_memory('agent:w1', pg_temp.run('w1'),
        '{"memory_type": "fact", "content": "x", "consent": true}')$$,
    'CN004', NULL, 'CN004: _write_memory refuses a type outside the scope'
);
SELECT throws_ok(
    $$SELECT concord._write_memory('agent:ev', pg_temp.run('ev'),
        '{"memory_type": "preference", "content": "x", "consent": true}')$$,
    'CN004', NULL, 'CN004: _write_memory refuses an agent with memory_scope {}'
);
SELECT throws_ok(
    $$SELECT concord._write_memory('agent:gone', pg_temp.run('gone'),
        '{"memory_type": "preference", "content": "x", "consent": true}')$$,
    'CN011', NULL, 'CN011: _write_memory refuses a finished agent'
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
SELECT throws_ok(
    $$SELECT concord._retrieve_memory(pg_temp.run('w1'), '{"text": "reports"}')$$,
    'CN004', NULL, 'CN004: a text query needs allow_semantic_retrieval'
);
SELECT throws_ok(
    $$SELECT concord._retrieve_memory(pg_temp.run('w1'), '{"memory_type": "fact"}')$$,
    'CN004', NULL, 'CN004: a memory type outside the scope'
);
SELECT throws_ok(
    $$SELECT concord._retrieve_memory(pg_temp.run('ev'), '{}')$$,
    'CN004', NULL, 'CN004: an agent with memory_scope {} retrieves nothing'
);
SELECT throws_ok(
    $$SELECT concord._retrieve_memory(pg_temp.run('w1'), '{"limit": 0}')$$,
    'CN008', NULL, 'CN008: a limit is at least 1'
);
SELECT throws_ok(
    $$SELECT concord._retrieve_memory(pg_temp.run('w1'), '{"where": "1=1"}')$$,
    'CN008', NULL, 'CN008: unknown query keys'
);
SELECT throws_ok(
    $$SELECT concord._retrieve_memory(pg_temp.run('gone'), '{}')$$,
    'CN011', NULL, 'CN011: a finished agent retrieves nothing'
);

-- ===========================================================================
-- 6. The application API: get, search, supersede, forget, expire
-- ===========================================================================
SELECT is(concord.get_memory(concord_test.id('m3')) ->> 'content', 'User likes bullet lists',
          'get_memory returns the memory');
SELECT throws_ok(format('SELECT concord.get_memory(%L)', gen_random_uuid()), 'CN006', NULL,
                 'CN006: get_memory of an unknown memory');
SELECT is((concord.search_memory(pg_temp.scope(), NULL, 10) ->> 'count')::integer, 3,
          'search_memory: active memories of the subject and types, capped by the scope''s max_results');
SELECT ok((SELECT bool_and(m ->> 'status' = 'active' AND m ->> 'subject_id' = 'u1'
                           AND m ->> 'memory_type' = 'preference')
           FROM jsonb_array_elements(concord.search_memory(
               pg_temp.scope() || '{"allowed_memory_types": ["preference"]}') -> 'memories') AS x (m)),
          'search_memory: only active memories of the subject and allowed types');
SELECT is(concord.search_memory(pg_temp.scope(), 'bullet lists') #>> '{memories,0,memory_id}',
          concord_test.id('m3')::text, 'search_memory: a text query ranks the best match first');
SELECT is((concord.search_memory(pg_temp.scope(), NULL, 1) ->> 'count')::integer, 1,
          'search_memory: max_results is kept when smaller');
SELECT is((concord.search_memory(pg_temp.scope() || '{"allowed_memory_types": []}') ->> 'count')::integer, 0,
          'search_memory: no allowed type, no memory');
SELECT throws_ok(
    $$SELECT concord.search_memory(pg_temp.scope() || '{"allow_semantic_retrieval": false}', 'reports')$$,
    'CN004', NULL, 'CN004: search_memory by text needs allow_semantic_retrieval'
);
SELECT throws_ok($$SELECT concord.search_memory('{"subject_type": "user"}')$$, 'CN008', NULL,
                 'CN008: search_memory needs a spec 61.2 scope');
SELECT throws_ok($$SELECT concord.search_memory('{}')$$, 'CN004', NULL,
                 'CN004: the empty scope gives no access');

-- supersede_memory
WITH x AS (
    INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by)
    VALUES ('user', 'u1', 'fact', 'Budgets are reviewed quarterly', 'active', 'owner') RETURNING memory_id
)
SELECT pg_temp.keep('s_new', x.memory_id) IS NOT NULL AS fixture FROM x \gset
SELECT is(concord.supersede_memory(concord_test.id('raw1'), concord_test.id('s_new'), 'alice') ->> 'old_status',
          'superseded', 'supersede_memory: the old memory is superseded');
SELECT is((SELECT superseded_by_memory_id FROM concord.memories WHERE memory_id = concord_test.id('raw1')),
          concord_test.id('s_new'), 'supersede_memory: by the new one');
SELECT is(concord.supersede_memory(concord_test.id('raw1'), concord_test.id('s_new'), 'alice') ->> 'new_status',
          'active', 'supersede_memory: the same supersession again is a no-op');
SELECT throws_ok(
    format('SELECT concord.supersede_memory(%L, %L, %L)', concord_test.id('s_new'), concord_test.id('m3'), 'alice'),
    'CN004', NULL, 'CN004: supersede_memory across memory types'
);
INSERT INTO answers VALUES ('pending', concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "fact", "content": "Budgets are monthly",
      "confidence": 0.3, "consent": true}', 'alice'));
SELECT throws_ok(
    format('SELECT concord.supersede_memory(%L, %L, %L)', concord_test.id('s_new'),
           (SELECT answer ->> 'memory_id' FROM answers WHERE label = 'pending'), 'alice'),
    'CN011', NULL, 'CN011: a candidate awaiting approval is not activated around its approval'
);
SELECT throws_ok(
    format('SELECT concord.supersede_memory(%L, %L, %L)', concord_test.id('m1'), concord_test.id('m3'), 'alice'),
    'CN011', NULL, 'CN011: only an active memory is superseded'
);

-- forget_memory
INSERT INTO answers VALUES ('forget', concord.forget_memory(
    (SELECT (answer ->> 'memory_id')::uuid FROM answers WHERE label = 'pending'), 'alice'));
SELECT is((SELECT answer ->> 'status' || '/' || (answer ->> 'content') || '/' || (answer ->> 'previous_status')
           FROM answers WHERE label = 'forget'), 'deleted//candidate',
          'forget_memory: deleted, its content cleared');
SELECT is((SELECT c.status FROM concord.commands AS c
           WHERE c.command_id = (SELECT (answer ->> 'command_id')::uuid FROM answers WHERE label = 'pending')),
          'cancelled', 'forget_memory: the write still awaiting approval is cancelled');
SELECT is(concord.forget_memory((SELECT (answer ->> 'memory_id')::uuid FROM answers WHERE label = 'pending'),
                                'alice') ->> 'previous_status', 'deleted',
          'forget_memory: forgetting again changes nothing');
SELECT is((SELECT content FROM concord.memory_catalog
           WHERE memory_id = (SELECT (answer ->> 'memory_id')::uuid FROM answers WHERE label = 'pending')), NULL,
          'memory_catalog: no content for a deleted memory');
SELECT throws_ok(
    format($$UPDATE concord.memories SET status = 'active' WHERE memory_id = %L$$,
           (SELECT answer ->> 'memory_id' FROM answers WHERE label = 'pending')),
    'CN001', NULL, 'CN001: deleted is final'
);

-- expire_memories
SELECT pg_temp.keep('ttl', (concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "fact", "content": "Temporary note",
      "consent": true, "ttl_seconds": 60}', 'alice') ->> 'memory_id')::uuid) IS NOT NULL AS fixture \gset
SELECT is(concord.expire_memories(), 0, 'expire_memories: nothing is due yet');
SELECT is(concord.expire_memories(now() + interval '2 minutes'), 1,
          'expire_memories: the owner may expire ahead of time; one memory is due');
SELECT is((SELECT status FROM concord.memories WHERE memory_id = concord_test.id('ttl')), 'expired',
          'expire_memories: it is expired');
SELECT throws_ok('SELECT concord.expire_memories(NULL)', 'CN008', NULL, 'CN008: expire_memories needs a time');

-- ===========================================================================
-- 7. Artifacts
-- ===========================================================================
INSERT INTO answers VALUES ('a1', concord._create_artifact(pg_temp.run('w1'),
    '{"artifact_type": "report", "name": "revenue", "content": {"total": 10}, "score": 0.7}'));
INSERT INTO answers VALUES ('a1v2', concord._create_artifact(pg_temp.run('w1'),
    '{"artifact_type": "report", "name": "revenue", "location": "s3://bucket/revenue-v2.pdf", "status": "final"}'));
SELECT pg_temp.keep('a1', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a1'))
       IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('a1v2', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a1v2'))
       IS NOT NULL AS fixture \gset
SELECT is((SELECT (answer ->> 'version') || '/' || (answer ->> 'status') FROM answers WHERE label = 'a1'),
          '1/draft', '_create_artifact: version 1, draft by default');
SELECT is((SELECT (answer ->> 'version') || '/' || (answer ->> 'status') FROM answers WHERE label = 'a1v2'),
          '2/final', '_create_artifact: the same name again is version 2');
SELECT is((SELECT (answer ->> 'swarm_run_id') || '/' || (answer ->> 'command_id') || '/' || (answer ->> 'created_by')
           FROM answers WHERE label = 'a1'),
          concord_test.id('main') || '/' || concord_test.id('cmd') || '/agent:' || concord_test.id('w1'),
          '_create_artifact: the artifact belongs to the agent''s swarm and its command');
SELECT throws_ok(
    $$SELECT concord._create_artifact(pg_temp.run('w1'), '{"name": " ", "colour": 1, "status": "published"}')$$,
    'CN005', NULL, 'CN005: _create_artifact refuses an invalid document'
);
SELECT ok(concord_test.error_detail(
    $$SELECT concord._create_artifact(pg_temp.run('w1'), '{"name": " ", "colour": 1, "status": "published"}')$$)
          ~ 'unknown keys: colour.*artifact_type is required.*name is required.*location or content.*status must',
          'CN005: DETAIL lists every artifact problem');

-- raw inserts
SELECT throws_ok(
    format($$INSERT INTO concord.artifacts (command_id, agent_run_id, artifact_type, name, content, created_by)
             VALUES (%L, %L, 'report', 'x', '{}', 'me')$$, concord_test.id('cmd'), concord_test.id('bare')),
    'CN004', NULL, 'CN004: an agent without create_artifact creates no artifact'
);
SELECT throws_ok(
    format($$INSERT INTO concord.artifacts (command_id, agent_run_id, artifact_type, name, content, created_by)
             VALUES (%L, %L, 'report', 'x', '{}', 'me')$$, concord_test.id('cmd'), concord_test.id('ev')),
    'CN004', NULL, 'CN004: evaluate_output allows only evaluations'
);
SELECT lives_ok(
    format($$INSERT INTO concord.artifacts (command_id, agent_run_id, artifact_type, name, content, created_by)
             VALUES (%L, %L, 'evaluation', 'ev-raw', '{}', 'me')$$, concord_test.id('cmd'), concord_test.id('ev')),
    'an agent holding evaluate_output creates an evaluation'
);
SELECT throws_ok(
    format($$INSERT INTO concord.artifacts (command_id, agent_run_id, artifact_type, name, content, created_by)
             VALUES (%L, %L, 'report', 'x', '{}', 'me')$$, concord_test.id('cmd'), concord_test.id('gone')),
    'CN011', NULL, 'CN011: a finished agent creates no artifact'
);
SELECT throws_ok(
    format($$INSERT INTO concord.artifacts (command_id, agent_run_id, artifact_type, name, content, status,
                                            created_by)
             VALUES (%L, %L, 'report', 'x', '{}', 'published', 'me')$$, concord_test.id('cmd'),
           concord_test.id('w1')),
    'CN001', NULL, 'CN001: a new artifact starts as draft or final'
);
SELECT throws_ok(
    format($$INSERT INTO concord.artifacts (command_id, swarm_run_id, artifact_type, name, content, created_by)
             VALUES (%L, %L, 'report', 'x', '{}', 'me')$$, concord_test.command_at('t18.x', 'created'),
           concord_test.id('main')),
    'CN004', NULL, 'CN004: a swarm''s artifact belongs to the swarm''s command'
);
WITH x AS (
    INSERT INTO concord.artifacts (command_id, swarm_run_id, agent_run_id, artifact_type, name, content, version,
                                   created_by, created_at)
    VALUES (concord_test.command_at('t18.x', 'created'), concord_test.id('other'), concord_test.id('w1'), 'report',
            'revenue', '{"forged": true}', 42, 'mallory', '2000-01-01')
    RETURNING artifact_id
)
SELECT pg_temp.keep('raw_art', x.artifact_id) IS NOT NULL AS fixture FROM x \gset
SELECT is((SELECT swarm_run_id || '/' || command_id || '/' || version || '/' || created_by
           FROM concord.artifacts WHERE artifact_id = concord_test.id('raw_art')),
          concord_test.id('main') || '/' || concord_test.id('cmd') || '/3/agent:' || concord_test.id('w1'),
          'a raw insert by an agent: swarm, command, version and creator are forced');
SELECT ok((SELECT created_at > '2000-01-01' FROM concord.artifacts WHERE artifact_id = concord_test.id('raw_art')),
          'a raw insert: created_at is forced');

-- updates
SELECT throws_ok(
    format($$UPDATE concord.artifacts SET name = 'renamed' WHERE artifact_id = %L$$, concord_test.id('a1')),
    'CN007', NULL, 'CN007: only an artifact''s status changes'
);
SELECT throws_ok(
    format($$UPDATE concord.artifacts SET content = '{"total": 99}' WHERE artifact_id = %L$$, concord_test.id('a1')),
    'CN007', NULL, 'CN007: its content is immutable'
);
SELECT throws_ok(
    format($$UPDATE concord.artifacts SET status = 'published' WHERE artifact_id = %L$$, concord_test.id('a1')),
    'CN001', NULL, 'CN001: draft -> published skips final'
);
SELECT lives_ok(
    format($$UPDATE concord.artifacts SET status = 'published' WHERE artifact_id = %L$$, concord_test.id('a1v2')),
    'final -> published'
);
SELECT throws_ok(
    format($$UPDATE concord.artifacts SET status = 'final' WHERE artifact_id = %L$$, concord_test.id('a1v2')),
    'CN001', NULL, 'CN001: published -> final is not an edge'
);
SELECT lives_ok(
    format($$UPDATE concord.artifacts SET status = 'superseded' WHERE artifact_id = %L$$, concord_test.id('a1v2')),
    'published -> superseded'
);
SELECT throws_ok(
    format($$DELETE FROM concord.artifacts WHERE artifact_id = %L$$, concord_test.id('a1')),
    'CN007', NULL, 'CN007: an artifact is never deleted'
);
SELECT throws_ok('TRUNCATE concord.artifacts, concord.artifact_lineage', 'CN007', NULL, 'CN007: artifacts are not truncated');
SELECT ok((SELECT count(*) FROM concord.domain_events WHERE target_type = 'artifact'
           AND target_id = concord_test.id('a1v2')::text
           AND event_type IN ('artifact_created', 'artifact_status_changed')) = 3,
          'audit: an artifact''s creation and status changes are recorded');

-- lineage
INSERT INTO answers VALUES ('a2', concord._create_artifact(pg_temp.run('w1'),
    jsonb_build_object('artifact_type', 'summary', 'name', 'summary', 'content', 'short',
                       'parent_artifact_ids', jsonb_build_array(concord_test.id('a1')))));
SELECT pg_temp.keep('a2', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a2'))
       IS NOT NULL AS fixture \gset
SELECT is((SELECT answer -> 'parent_artifact_ids' FROM answers WHERE label = 'a2'),
          jsonb_build_array(concord_test.id('a1')), '_create_artifact: records its lineage');
SELECT throws_ok(
    format($$INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id) VALUES (%L, %L)$$,
           concord_test.id('a1'), concord_test.id('a2')),
    'CN003', NULL, 'CN003: a parent cannot derive from its descendant (no cycle)'
);
SELECT pg_temp.keep('o_art', (concord._create_artifact(pg_temp.run('other_root'),
    '{"artifact_type": "report", "name": "elsewhere", "content": 1}') ->> 'artifact_id')::uuid)
       IS NOT NULL AS fixture \gset
SELECT throws_ok(
    format($$INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id) VALUES (%L, %L)$$,
           concord_test.id('a2'), concord_test.id('o_art')),
    'CN004', NULL, 'CN004: a swarm''s artifact derives only from artifacts of its swarm'
);
SELECT throws_ok(
    $$SELECT concord._create_artifact(pg_temp.run('w1'), jsonb_build_object('artifact_type', 'x', 'name', 'x',
        'content', 1, 'parent_artifact_ids', jsonb_build_array(concord_test.id('o_art'))))$$,
    'CN004', NULL, 'CN004: _create_artifact refuses a parent of another swarm'
);
SELECT throws_ok(
    format($$UPDATE concord.artifact_lineage SET created_at = now() WHERE artifact_id = %L$$, concord_test.id('a2')),
    'CN007', NULL, 'CN007: lineage is not rewritten'
);
SELECT throws_ok(
    format($$DELETE FROM concord.artifact_lineage WHERE artifact_id = %L$$, concord_test.id('a2')),
    'CN007', NULL, 'CN007: lineage is not deleted'
);

-- read and evaluate
SELECT is(concord._read_artifact(pg_temp.run('ev'), jsonb_build_object('artifact_id', concord_test.id('a1')))
          -> 'content', '{"total": 10}', '_read_artifact: an artifact of the agent''s swarm');
SELECT throws_ok(
    format($$SELECT concord._read_artifact(pg_temp.run('ev'), '{"artifact_id": "%s"}')$$, concord_test.id('o_art')),
    'CN004', NULL, 'CN004: _read_artifact of another swarm'
);
SELECT throws_ok(
    format($$SELECT concord._read_artifact(pg_temp.run('ev'), '{"artifact_id": "%s"}')$$, gen_random_uuid()),
    'CN006', NULL, 'CN006: _read_artifact of an unknown artifact'
);
SELECT throws_ok($$SELECT concord._read_artifact(pg_temp.run('ev'), '{"artifact_id": 7}')$$, 'CN008', NULL,
                 'CN008: _read_artifact needs an artifact id');
INSERT INTO answers VALUES ('eval', concord._evaluate_output(pg_temp.run('ev'), jsonb_build_object(
    'artifact_id', concord_test.id('a1'), 'evaluation_type', 'reviewer_agent', 'decision', 'pass',
    'confidence', 0.91, 'issues', '[]'::jsonb, 'recommendation', 'publish')));
SELECT is((SELECT (answer ->> 'artifact_type') || '/' || (answer ->> 'status') || '/' || (answer ->> 'score')
           FROM answers WHERE label = 'eval'), 'evaluation/final/0.91',
          '_evaluate_output: a final evaluation artifact, scored by its confidence by default');
SELECT is((SELECT answer -> 'parent_artifact_ids' FROM answers WHERE label = 'eval'),
          jsonb_build_array(concord_test.id('a1')), '_evaluate_output: derived from the evaluated artifact');
SELECT is((SELECT answer #>> '{content,decision}' FROM answers WHERE label = 'eval'), 'pass',
          '_evaluate_output: its content is the structured evaluation (spec 66)');
SELECT throws_ok(
    format($$SELECT concord._evaluate_output(pg_temp.run('ev'), '{"artifact_id": "%s", "evaluation_type": "r",
              "decision": "maybe", "confidence": 0.5}')$$, concord_test.id('a1')),
    'CN005', NULL, 'CN005: an evaluation''s decision is pass, fail, revise or select'
);
SELECT throws_ok(
    format($$SELECT concord._evaluate_output(pg_temp.run('ev'), '{"artifact_id": "%s", "evaluation_type": "r",
              "decision": "pass", "confidence": 0.5}')$$, concord_test.id('o_art')),
    'CN004', NULL, 'CN004: an agent evaluates only artifacts of its swarm'
);
SELECT throws_ok(
    format($$SELECT concord._evaluate_output(pg_temp.run('bare'), '{"artifact_id": "%s", "evaluation_type": "r",
              "decision": "pass", "confidence": 0.5}')$$, concord_test.id('a1')),
    'CN004', NULL, 'CN004: an agent without evaluate_output records no evaluation'
);

-- ===========================================================================
-- 8. join_children, pure (spec 68.3)
-- ===========================================================================
CREATE FUNCTION pg_temp.kid(id text, status text, result jsonb DEFAULT NULL, artifacts jsonb DEFAULT '[]')
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT jsonb_build_object('agent_run_id', id, 'agent_name', 'n' || id, 'agent_role', 'worker',
                              'status', status, 'result', result, 'artifacts', artifacts)
$$;

SELECT is(concord.join_children('all_success', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                                 pg_temp.kid('b', 'succeeded'))) ->> 'decision',
          'succeeded', 'all_success: every child succeeded -> succeeded');
SELECT is(concord.join_children('all_success', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                                 pg_temp.kid('b', 'failed'))) ->> 'decision',
          'partially_succeeded', 'all_success: some succeeded -> partially_succeeded');
SELECT is(concord.join_children('all_success', jsonb_build_array(pg_temp.kid('a', 'failed'),
                                                                 pg_temp.kid('b', 'cancelled'))) ->> 'decision',
          'failed', 'all_success: none succeeded -> failed');
SELECT is(concord.join_children('all_success', '[]') ->> 'decision', 'failed',
          'all_success: no child at all -> failed');
SELECT is(concord.join_children('all_success', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                                 pg_temp.kid('b', 'failed'),
                                                                 pg_temp.kid('c', 'running')))
          - ARRAY['strategy', 'decision', 'summary', 'selected_artifact_id', 'selected_agent_run_id', 'confidence',
                  'artifact_ids'],
          '{"requires_human_review": false, "children_total": 3, "children_succeeded": 1, "children_failed": 1,
            "children_live": 1}',
          'join_children counts the children (spec 68.3 shape)');

SELECT is(concord.join_children('first_success', jsonb_build_array(
              pg_temp.kid('a', 'failed'), pg_temp.kid('b', 'succeeded', NULL,
                                                      '[{"artifact_id": "art-b", "content": 1}]'),
              pg_temp.kid('c', 'succeeded'))) - ARRAY['summary', 'artifact_ids', 'children_total',
                                                        'children_succeeded', 'children_failed', 'children_live'],
          '{"strategy": "first_success", "decision": "succeeded", "selected_agent_run_id": "b",
            "selected_artifact_id": "art-b", "confidence": null, "requires_human_review": false}',
          'first_success: the first succeeded child in order, and its artifact');
SELECT is(concord.join_children('first_success', jsonb_build_array(pg_temp.kid('a', 'failed'))) ->> 'decision',
          'failed', 'first_success: no child succeeded -> failed');

SELECT is(concord.join_children('quorum', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                            pg_temp.kid('b', 'succeeded'),
                                                            pg_temp.kid('c', 'failed'))) ->> 'decision',
          'succeeded', 'quorum: a majority (2 of 3) by default');
SELECT is(concord.join_children('quorum', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                            pg_temp.kid('b', 'failed'),
                                                            pg_temp.kid('c', 'failed'))) ->> 'decision',
          'failed', 'quorum: 1 of 3 is no majority');
SELECT is(concord.join_children('quorum', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                            pg_temp.kid('b', 'succeeded'),
                                                            pg_temp.kid('c', 'failed')), '{"quorum": 3}')
          ->> 'decision', 'failed', 'quorum: a count (3) that is not met');
SELECT is(concord.join_children('quorum', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                            pg_temp.kid('b', 'failed'),
                                                            pg_temp.kid('c', 'failed'),
                                                            pg_temp.kid('d', 'failed')), '{"quorum": 0.25}')
          ->> 'decision', 'succeeded', 'quorum: a fraction (0.25 of 4 = 1)');
SELECT throws_ok($$SELECT concord.join_children('quorum', '[]', '{"quorum": -1}')$$, 'CN008', NULL,
                 'CN008: a quorum is a count or a fraction');

SELECT is(concord.join_children('evaluator_selection', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', NULL, '[{"artifact_id": "x1", "evaluations": [
                  {"decision": "pass", "confidence": 0.7}, {"decision": "fail", "confidence": 0.99}]}]'),
              pg_temp.kid('b', 'succeeded', NULL, '[{"artifact_id": "x2", "evaluations": [
                  {"decision": "select", "confidence": 0.8}]}]'))) ->> 'selected_artifact_id',
          'x2', 'evaluator_selection: the artifact a select or pass evaluation picks with the highest confidence');
SELECT is(concord.join_children('evaluator_selection', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', NULL, '[{"artifact_id": "x1", "evaluations": [
                  {"decision": "fail", "confidence": 0.99}]}]'))) ->> 'decision',
          'failed', 'evaluator_selection: nothing selected or passed -> failed');

SELECT is(concord.join_children('best_of_n', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', NULL, '[{"artifact_id": "x1", "score": 0.6,
                  "evaluations": [{"decision": "pass", "confidence": 0.5, "score": 0.9}]}]'),
              pg_temp.kid('b', 'succeeded', NULL, '[{"artifact_id": "x2", "score": 0.8}]'))) ->> 'selected_artifact_id',
          'x1', 'best_of_n: the highest recorded score (an evaluation''s score counts)');
SELECT is(concord.join_children('best_of_n', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', NULL, '[{"artifact_id": "x9", "score": 0.8}]'),
              pg_temp.kid('b', 'succeeded', NULL, '[{"artifact_id": "x3", "score": 0.8}]'))) ->> 'selected_artifact_id',
          'x3', 'best_of_n: a tie is broken by artifact id');
SELECT is(concord.join_children('best_of_n', jsonb_build_array(
              pg_temp.kid('a', 'failed', NULL, '[{"artifact_id": "x1", "score": 1}]'),
              pg_temp.kid('b', 'succeeded', NULL, '[{"artifact_id": "x2", "score": 0.2}]'))) ->> 'selected_artifact_id',
          'x2', 'best_of_n: only succeeded children compete');
SELECT is(concord.join_children('best_of_n', jsonb_build_array(
              pg_temp.kid('b', 'succeeded', NULL, '[{"artifact_id": "x2", "score": 0.2}]')), '{"min_score": 0.5}')
          ->> 'decision', 'failed', 'best_of_n: below min_score -> failed');

SELECT is(concord.join_children('consensus', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', '{"answer": 42}'), pg_temp.kid('b', 'succeeded', '{"answer": 42}'),
              pg_temp.kid('c', 'failed'))) -> 'content', '{"answer": 42}',
          'consensus: all succeeded children agree -> succeeded with that content');
SELECT is(concord.join_children('consensus', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', '{"answer": 42}'), pg_temp.kid('b', 'succeeded', '{"answer": 41}')))
          ->> 'decision', 'failed', 'consensus: disagreement -> failed');
SELECT ok(concord.join_children('consensus', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', '{"answer": 42}'), pg_temp.kid('b', 'succeeded', '{"answer": 41}')))
          ->> 'summary' LIKE 'No consensus%', 'consensus: the summary says no consensus');
SELECT is(concord.join_children('consensus', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', NULL, '[{"artifact_id": "x1", "content": "yes"}]'),
              pg_temp.kid('b', 'succeeded', NULL, '[{"artifact_id": "x2", "content": "no"}]'),
              pg_temp.kid('c', 'succeeded', NULL, '[{"artifact_id": "x3", "content": "yes"}]')),
              '{"min_agreement": 2}') - ARRAY['summary', 'artifact_ids', 'children_total', 'children_succeeded',
                                               'children_failed', 'children_live', 'strategy',
                                               'requires_human_review'],
          '{"decision": "succeeded", "content": "yes", "agreeing": 2, "min_agreement": 2, "confidence": 0.6667,
            "selected_artifact_id": "x1", "selected_agent_run_id": "a"}',
          'consensus: min_agreement 2 of 3 agreeing artifacts');

SELECT is(concord.join_children('human_review', jsonb_build_array(pg_temp.kid('a', 'succeeded')))
          - ARRAY['summary', 'artifact_ids', 'children_total', 'children_succeeded', 'children_failed',
                  'children_live', 'selected_artifact_id', 'selected_agent_run_id', 'confidence'],
          '{"strategy": "human_review", "decision": "waiting_for_approval", "requires_human_review": true}',
          'human_review: waits for a person');
SELECT is(concord.join_children('coordinator_synthesis', '[]') ->> 'delegated_to', 'coordinator',
          'coordinator_synthesis: delegated to the coordinator');
SELECT is(concord.join_children('map_reduce', '[]') ->> 'decision', 'delegated', 'map_reduce: delegated');
SELECT is(concord.join_children('ranked_review', '[]') ->> 'decision', 'delegated', 'ranked_review: delegated');
SELECT throws_ok($$SELECT concord.join_children('vote', '[]')$$, 'CN008', NULL, 'CN008: an unknown strategy');
SELECT throws_ok($$SELECT concord.join_children('all_success', '[1]')$$, 'CN008', NULL,
                 'CN008: malformed children');

-- ===========================================================================
-- 9. Joining a swarm
-- ===========================================================================
SELECT pg_temp.swarm('j_all', 'all_success') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('ja1', 'j_all', 'j_all_root', '{create_artifact}') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('ja2', 'j_all', 'j_all_root', '{create_artifact}') IS NOT NULL AS fixture \gset
SELECT pg_temp.finish('ja1', 'succeeded', '{"ok": true}') AS fixture \gset
SELECT throws_ok(format('SELECT concord._join_swarm(%L, %L)', concord_test.id('j_all'), 'alice'),
                 'CN011', NULL, 'CN011: all_success is not joined while a child is live');
SELECT throws_like(format('SELECT concord._join_swarm(%L, %L)', concord_test.id('j_all'), 'alice'),
                   '%ja2%', 'the refusal names the live child');
SELECT pg_temp.finish('ja2', 'succeeded', '{"ok": true}') AS fixture \gset
INSERT INTO answers VALUES ('j_all', concord._join_swarm(concord_test.id('j_all'), 'alice'));
SELECT is((SELECT answer ->> 'decision' FROM answers WHERE label = 'j_all'), 'succeeded',
          '_join_swarm: all children succeeded -> succeeded');
SELECT is((SELECT status || '/' || (join_decision ->> 'decision') FROM concord.swarm_runs
           WHERE swarm_run_id = concord_test.id('j_all')), 'succeeded/succeeded',
          '_join_swarm: the swarm is succeeded and keeps its decision');
SELECT is((SELECT count(*)::integer FROM concord.domain_events WHERE swarm_run_id = concord_test.id('j_all')
           AND event_type = 'swarm_joined' AND purpose = 'event'), 1, '_join_swarm: a swarm_joined event');
SELECT is(concord._join_swarm(concord_test.id('j_all'), 'bob'), (SELECT answer FROM answers WHERE label = 'j_all'),
          '_join_swarm: joining again returns the stored decision');
SELECT is((SELECT count(*)::integer FROM concord.domain_events WHERE swarm_run_id = concord_test.id('j_all')
           AND event_type = 'swarm_joined'), 1, '_join_swarm: and writes nothing');

-- best_of_n through artifacts and evaluations
SELECT pg_temp.swarm('j_best', 'best_of_n') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jb1', 'j_best', 'j_best_root', '{create_artifact}') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jb2', 'j_best', 'j_best_root', '{create_artifact}') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jbe', 'j_best', 'j_best_root', '{evaluate_output,read_artifact}', '{}', 'reviewer')
       IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('jb1_art', (concord._create_artifact(pg_temp.run('jb1'),
    '{"artifact_type": "draft", "name": "d1", "content": "one", "score": 0.4}') ->> 'artifact_id')::uuid)
       IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('jb2_art', (concord._create_artifact(pg_temp.run('jb2'),
    '{"artifact_type": "draft", "name": "d2", "content": "two", "score": 0.5}') ->> 'artifact_id')::uuid)
       IS NOT NULL AS fixture \gset
SELECT concord._evaluate_output(pg_temp.run('jbe'), jsonb_build_object(
    'artifact_id', concord_test.id('jb1_art'), 'evaluation_type', 'judge', 'decision', 'pass',
    'confidence', 0.7, 'score', 0.95)) IS NOT NULL AS fixture \gset
SELECT pg_temp.finish('jb1', 'succeeded') || pg_temp.finish('jb2', 'succeeded') || pg_temp.finish('jbe', 'succeeded')
       AS fixture \gset
SELECT is(concord._join_swarm(concord_test.id('j_best'), 'alice') ->> 'selected_artifact_id',
          concord_test.id('jb1_art')::text, '_join_swarm: best_of_n picks by the evaluation''s score');
SELECT is((SELECT result ->> 'selected_artifact_id' FROM concord.swarm_runs
           WHERE swarm_run_id = concord_test.id('j_best')), concord_test.id('jb1_art')::text,
          '_join_swarm: the swarm''s result names the selected artifact');

-- first_success cancels the children still live
SELECT pg_temp.swarm('j_first', 'first_success') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jf1', 'j_first', 'j_first_root', '{}') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jf2', 'j_first', 'j_first_root', '{}') IS NOT NULL AS fixture \gset
SELECT throws_ok(format('SELECT concord._join_swarm(%L, %L)', concord_test.id('j_first'), 'alice'),
                 'CN011', NULL, 'CN011: first_success with no child succeeded and some live');
SELECT pg_temp.finish('jf2', 'succeeded') AS fixture \gset
SELECT is(concord._join_swarm(concord_test.id('j_first'), 'alice') ->> 'selected_agent_run_id',
          concord_test.id('jf2')::text, '_join_swarm: first_success joins once one child succeeded');
SELECT is((pg_temp.run('jf1')).status, 'cancelled', '_join_swarm: first_success cancels the others still live');

-- human_review asks a person through a concord.swarm_review command
SELECT pg_temp.swarm('j_human', 'human_review') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jh1', 'j_human', 'j_human_root', '{}') IS NOT NULL AS fixture \gset
SELECT pg_temp.finish('jh1', 'succeeded') AS fixture \gset
INSERT INTO answers VALUES ('j_human', concord._join_swarm(concord_test.id('j_human'), 'alice'));
SELECT is((SELECT status FROM concord.swarm_runs WHERE swarm_run_id = concord_test.id('j_human')),
          'waiting_for_approval', '_join_swarm: human_review -> waiting_for_approval');
SELECT is((SELECT c.command_type || '/' || c.status FROM concord.commands AS c
           WHERE c.command_id = (SELECT (answer ->> 'command_id')::uuid FROM answers WHERE label = 'j_human')),
          'concord.swarm_review/waiting_for_approval', '_join_swarm: a swarm review command waits for approval');
SELECT ok((SELECT answer ->> 'approval_id' IS NOT NULL FROM answers WHERE label = 'j_human'),
          '_join_swarm: the decision names the approval');
SELECT is(concord.resolve_approval((SELECT (answer ->> 'approval_id')::uuid FROM answers WHERE label = 'j_human'),
                                   'approved', 'ann') ->> 'approval_id',
          (SELECT answer ->> 'approval_id' FROM answers WHERE label = 'j_human'), 'fixture: ann approves the review');
SELECT lives_ok(
    format('SELECT concord._swarm_review_settled(c) FROM concord.commands AS c WHERE c.command_id = %L',
           (SELECT answer ->> 'command_id' FROM answers WHERE label = 'j_human')),
    '_swarm_review_settled runs (again: it is idempotent)'
);
SELECT is((SELECT status FROM concord.swarm_runs WHERE swarm_run_id = concord_test.id('j_human')), 'succeeded',
          '_swarm_review_settled: an approved review -> the swarm succeeded');

-- delegated strategies stay joining for the coordinator
SELECT pg_temp.swarm('j_deleg', 'coordinator_synthesis') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jd1', 'j_deleg', 'j_deleg_root', '{}') IS NOT NULL AS fixture \gset
SELECT is(concord._join_swarm(concord_test.id('j_deleg'), 'alice') ->> 'decision', 'delegated',
          '_join_swarm: coordinator_synthesis is delegated (live children allowed)');
SELECT is((SELECT status FROM concord.swarm_runs WHERE swarm_run_id = concord_test.id('j_deleg')), 'joining',
          '_join_swarm: the swarm stays joining for its coordinator');

SELECT throws_ok(format('SELECT concord._join_swarm(%L, %L)', gen_random_uuid(), 'alice'), 'CN006', NULL,
                 'CN006: joining an unknown swarm');
SELECT is((SELECT count(*)::integer FROM concord.swarm_tree WHERE swarm_run_id = concord_test.id('main')), 5,
          'swarm_tree: one row per agent run of the swarm');
SELECT is((SELECT evaluations::integer FROM concord.swarm_artifacts WHERE artifact_id = concord_test.id('a1')), 1,
          'swarm_artifacts: counts an artifact''s evaluations');
SELECT lives_ok('SELECT * FROM concord.agent_step_log', 'agent_step_log can be read');

SELECT * FROM finish();
ROLLBACK;
