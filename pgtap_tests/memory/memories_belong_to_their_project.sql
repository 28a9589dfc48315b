-- Memories belong to a project (issue 12 §2-3): remember writes into the
-- caller's project; the actor of remember, supersede_memory and forget_memory
-- is the authenticated principal (or whom an act-as grant lets it speak for);
-- a member of another organisation neither finds nor changes them; an agent
-- uses memory only through its gateway, within its scope.
BEGIN;
SELECT plan(13);

\ir ../lib/identity_fixtures.sql

DO $$ BEGIN
    PERFORM pg_temp.make_login('a_app', ARRAY['concord_app'], 'iso-a-app');
    PERFORM pg_temp.make_login('b_app', ARRAY['concord_app'], 'iso-b-app');
    PERFORM concord.register_command_type('{"command_type": "mem_t", "sync_allowed": true}');
END $$;

-- The first column of statement's first row as the login labelled label.
CREATE FUNCTION pg_temp.memory_as(label text, statement text)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    answer jsonb;
BEGIN
    EXECUTE format('SET SESSION AUTHORIZATION %I', pg_temp.login(label));
    EXECUTE statement INTO answer;
    RESET SESSION AUTHORIZATION;
    RETURN answer;
END
$$;

SELECT pg_temp.memory_as('a_app', $$SELECT concord.remember('{"subject_type": "user", "subject_id": "u9",
    "memory_type": "preference", "memory_key": "tone", "content": "formal", "consent": true}', NULL)$$)
    ->> 'memory_id' AS mem_a \gset
SELECT is((SELECT p.name FROM concord.memories AS m INNER JOIN concord.projects AS p USING (project_id)
           WHERE m.memory_id = :'mem_a'), 'main', 'remember writes into the caller''s project');
SELECT is((SELECT o.name FROM concord.memories AS m INNER JOIN concord.projects AS p USING (project_id)
           INNER JOIN concord.organisations AS o ON o.org_id = p.org_id WHERE m.memory_id = :'mem_a'), 'iso-a',
          'of the caller''s organisation');
SELECT is((SELECT written_by FROM concord.memories WHERE memory_id = :'mem_a'), 'iso-a-app',
          'actor NULL: the memory is written by the authenticated principal');

SELECT is(pg_temp.as_login('a_app', $$SELECT concord.remember('{"subject_type": "user", "subject_id": "u9",
          "memory_type": "fact", "content": "x", "consent": true}', 'iso-a-alice')$$),
          'CN012 acting_for_another_needs_a_grant', 'remember naming another member as actor is refused');
SELECT is(pg_temp.as_login('a_app', format($$SELECT concord.forget_memory(%L, 'iso-a-alice')$$, :'mem_a')),
          'CN012 acting_for_another_needs_a_grant', 'forget_memory naming another member as actor is refused');

-- Another organisation: the same subject, its own memory; ours unseen.
SELECT pg_temp.memory_as('b_app', $$SELECT concord.remember('{"subject_type": "user", "subject_id": "u9",
    "memory_type": "preference", "content": "casual", "consent": true}', NULL)$$)
    ->> 'status' AS b_status \gset
SELECT is(:'b_status'::text, 'active',
          'another project''s memory of the same subject is active beside ours, superseding nothing');
SELECT is((SELECT status FROM concord.memories WHERE memory_id = :'mem_a'), 'active', 'ours stays active');
SELECT is(pg_temp.memory_as('b_app', $$SELECT concord.search_memory('{"subject_type": "user", "subject_id": "u9",
          "allowed_memory_types": ["preference"], "allow_semantic_retrieval": false, "max_results": 10}')$$)
          -> 'memories' -> 0 ->> 'content', 'casual', 'search_memory finds only the caller''s project''s memory');
SELECT is(pg_temp.memory_as('b_app', $$SELECT concord.search_memory('{"subject_type": "user", "subject_id": "u9",
          "allowed_memory_types": ["preference"], "allow_semantic_retrieval": false, "max_results": 10}')$$)
          ->> 'count', '1', 'and no other');
SELECT is(pg_temp.as_login('b_app', format($$SELECT concord.get_memory(%L)$$, :'mem_a')), 'CN006 the_memory_exists',
          'another organisation''s memory does not exist for get_memory');
SELECT is(pg_temp.as_login('b_app', format($$SELECT concord.forget_memory(%L, NULL)$$, :'mem_a')),
          'CN006 the_memory_exists', 'nor for forget_memory');

-- An agent of iso-a (authenticated with its run's secret on an app login).
SELECT concord.use_project('iso-a/main') AS fixture \gset
SELECT command_id AS cmd FROM concord.submit_command('mem_t', '{}', 'iso-a-alice') \gset
SELECT concord.start_swarm(:'cmd', '{"name": "m", "objective": "o", "coordinator": {"agent_name": "c"}}')
       AS swarm \gset
SELECT concord.begin_agent_run((SELECT coordinator_agent_run_id FROM concord.swarm_runs WHERE swarm_run_id = :'swarm'))
       ->> 'secret' AS secret \gset
SELECT is(pg_temp.as_login('a_app', format($$SELECT concord.authenticate(%L);
          SELECT concord.search_memory('{"subject_type": "user", "subject_id": "u9",
          "allowed_memory_types": ["preference"], "allow_semantic_retrieval": false, "max_results": 10}')$$,
          :'secret')),
          'CN012 an_agent_uses_memory_through_its_gateway',
          'an agent cannot search memory outside its scope through the application''s API');
SELECT concord_test.throws_rule(
    format($$SELECT concord.get_memory(%L) FROM (SELECT concord.authenticate(%L)) AS a$$, :'mem_a', :'secret'),
    'CN012', 'an_agent_uses_memory_through_its_gateway', 'nor read one by its id (get_memory)');

SELECT * FROM finish();
ROLLBACK;
