-- The application's memory API (spec 23, 61.2): get_memory finds a memory
-- whatever its status; search_memory returns active memories of a scope's
-- subject and allowed types, by text only with allow_semantic_retrieval, at
-- most max_results; supersede_memory stays within one subject and type, takes
-- two memories, supersedes only an active memory and activates a candidate
-- only once its write is approved; forget_memory clears the content and
-- cancels a write still awaiting approval; expire_memories expires what is due,
-- and only the owner expires ahead of time.
BEGIN;
SELECT plan(32);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "fixture.work", "name": "x", "sync_allowed": true}');
    PERFORM concord.add_team_member('team:approvers', 'ann');
END $$;

CREATE FUNCTION pg_temp.keep(label text, id uuid)
RETURNS uuid
LANGUAGE sql
AS $$ INSERT INTO concord_test.fixture (label, id) VALUES (label, id) RETURNING id $$;

-- The scope the application searches with.
CREATE FUNCTION pg_temp.scope()
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT '{"subject_type": "user", "subject_id": "u1", "allowed_memory_types": ["preference", "fact"],
             "allow_semantic_retrieval": true, "max_results": 3}'::jsonb
$$;

CREATE TEMP TABLE answers (label text PRIMARY KEY, answer jsonb);

SELECT pg_temp.keep('m1', (concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "preference", "memory_key": "tone", 
      "content": "User prefers concise executive summaries", "confidence": 0.9, "consent": true}',
    'alice') ->> 'memory_id')::uuid) IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('m2', (concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "preference", "memory_key": "tone", 
      "content": "User prefers detailed reports with tables", "confidence": 0.95, "consent": true}',
    'alice') ->> 'memory_id')::uuid) IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('m3', (concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "preference", "memory_key": "tone", 
      "content": "User likes bullet lists", "confidence": 0.9, "consent": true}',
    'alice') ->> 'memory_id')::uuid) IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('finance', (concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "fact", 
      "content": "Works in finance", "confidence": 0.9, "consent": true}',
    'alice') ->> 'memory_id')::uuid) IS NOT NULL AS fixture \gset
WITH x AS (
    INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by)
    VALUES ('user', 'u1', 'fact', 'Raw owner memory about budgets', 'active', 'owner') RETURNING memory_id
)
SELECT pg_temp.keep('raw1', x.memory_id) IS NOT NULL AS fixture FROM x \gset

-- ===========================================================================
-- The application API: get, search, supersede, forget, expire
-- ===========================================================================
SELECT is(concord.get_memory(concord_test.id('m3')) ->> 'content', 'User likes bullet lists',
          'get_memory returns the memory');
SELECT concord_test.throws_rule(format('SELECT concord.get_memory(%L)', gen_random_uuid()), 'CN006', 'the_memory_exists',
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
SELECT concord_test.throws_rule(
    $$SELECT concord.search_memory(pg_temp.scope() || '{"allow_semantic_retrieval": false}', 'reports')$$,
    'CN004', 'a_text_query_needs_semantic_retrieval', 'CN004: search_memory by text needs allow_semantic_retrieval'
);
SELECT concord_test.throws_rule($$SELECT concord.search_memory('{"subject_type": "user"}')$$, 'CN008', 'search_memory_scope_is_a_memory_scope',
                 'CN008: search_memory needs a spec 61.2 scope');
SELECT concord_test.throws_rule($$SELECT concord.search_memory('{}')$$, 'CN004', 'the_empty_memory_scope_gives_no_access',
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
SELECT concord_test.throws_rule(
    format('SELECT concord.supersede_memory(%L, %L, %L)', concord_test.id('s_new'), concord_test.id('m3'), 'alice'),
    'CN004', 'a_memory_supersedes_one_of_the_same_subject_and_type', 'CN004: supersede_memory across memory types'
);
INSERT INTO answers VALUES ('pending', concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "fact", "content": "Budgets are monthly",
      "confidence": 0.3, "consent": true}', 'alice'));
SELECT concord_test.throws_rule(
    format('SELECT concord.supersede_memory(%L, %L, %L)', concord_test.id('s_new'),
           (SELECT answer ->> 'memory_id' FROM answers WHERE label = 'pending'), 'alice'),
    'CN011', 'a_candidate_memory_becomes_active_once_its_write_is_approved', 'CN011: a candidate awaiting approval is not activated around its approval'
);
SELECT concord_test.throws_rule(
    format('SELECT concord.supersede_memory(%L, %L, %L)', concord_test.id('m1'), concord_test.id('m3'), 'alice'),
    'CN011', 'only_an_active_memory_is_superseded', 'CN011: only an active memory is superseded'
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
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET status = 'active' WHERE memory_id = %L$$,
           (SELECT answer ->> 'memory_id' FROM answers WHERE label = 'pending')),
    'CN001', 'a_memory_status_change_follows_the_state_machine', 'CN001: deleted is final'
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
SELECT concord_test.throws_rule('SELECT concord.expire_memories(NULL)', 'CN008', 'required_argument_is_not_blank', 'CN008: expire_memories needs a time');

SELECT concord_test.throws_rule(
    $$SELECT concord.search_memory(pg_temp.scope(), NULL, -1)$$,
    'CN008', 'max_results_is_at_least_0', 'CN008: max_results is at least 0'
);
SELECT concord_test.throws_rule(
    format('SELECT concord.supersede_memory(%L, %L, %L)', concord_test.id('m3'), concord_test.id('m3'), 'alice'),
    'CN008', 'supersede_memory_takes_two_memories', 'CN008: a memory does not supersede itself'
);
SELECT concord_test.throws_rule(
    format('SELECT concord.supersede_memory(%L, %L, %L)', concord_test.id('m3'), gen_random_uuid(), 'alice'),
    'CN006', 'the_memory_exists', 'CN006: supersede_memory by an unknown memory'
);
SELECT concord_test.throws_rule(
    format('SELECT concord.supersede_memory(%L, %L, %L)', concord_test.id('s_new'), concord_test.id('raw1'), 'alice'),
    'CN011', 'a_successor_is_active_or_candidate', 'CN011: a superseded memory supersedes nothing'
);
SELECT concord_test.throws_rule(
    format('SELECT concord.forget_memory(%L, %L)', gen_random_uuid(), 'alice'),
    'CN006', 'the_memory_exists', 'CN006: forget_memory of an unknown memory'
);
-- the check reads session_user: the application's role must be the session's
CREATE FUNCTION pg_temp.expire_ahead_as(who text)
RETURNS integer
LANGUAGE plpgsql
AS $$
BEGIN
    EXECUTE format('SET SESSION AUTHORIZATION %I', who);
    RETURN concord.expire_memories(now() + interval '1 hour');
END
$$;
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.expire_ahead_as('concord_app')$$,
    'CN012', 'only_the_owner_expires_memories_ahead_of_time',
    'CN012: an application does not expire memories ahead of time'
);
SELECT is(session_user::text, 'postgres', 'fixture: the refusal left the session as it was');

SELECT * FROM finish();
ROLLBACK;
