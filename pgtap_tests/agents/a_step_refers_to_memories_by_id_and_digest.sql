-- Forgetting a memory forgets it everywhere (spec 23, 61): its content lives
-- in its memories row only. The steps of write_memory and retrieve_memory
-- (append-only) and their agent_step_recorded audit rows refer to it by
-- memory_id and content_sha256; a raw step holding the content is refused
-- (CN004, a_step_refers_to_memories_by_id_and_digest). The agent still gets
-- the content: in the answer, and in a replay of its retrieval, read again
-- from the row (forgotten since: marked forgotten, without content). A
-- write replayed under its key is compared by digest.
BEGIN;
SELECT plan(18);

\ir ../lib/swarm_fixtures.sql

CREATE FUNCTION pg_temp.copies(content text)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT (SELECT count(*) FROM concord.agent_steps AS s WHERE s::text LIKE '%' || content || '%')
         + (SELECT count(*) FROM concord.domain_events AS e WHERE e::text LIKE '%' || content || '%')
$$;

INSERT INTO answers VALUES ('wrote', concord.submit_agent_action(concord_test.id('w1'),
    '{"tool_name": "write_memory", "idempotency_key": "w",
      "payload": {"memory_type": "preference", "content": "tea at five, never coffee", "consent": true}}'));
SELECT pg_temp.keep('m', (SELECT (answer #>> '{output,memory_id}')::uuid FROM answers WHERE label = 'wrote'))
       IS NOT NULL AS fixture \gset
SELECT is((SELECT status FROM concord.memories WHERE memory_id = concord_test.id('m')), 'active',
          'fixture: the agent wrote an active memory');
SELECT is((SELECT action_payload -> 'payload' FROM concord.agent_steps
           WHERE agent_run_id = concord_test.id('w1') AND tool_name = 'write_memory'),
          jsonb_build_object('memory_type', 'preference', 'consent', true, 'content_length', 25,
                             'content_sha256', encode(sha256('tea at five, never coffee'), 'hex')),
          'the write''s step records the content''s digest and length, not the content');
INSERT INTO answers VALUES ('read', concord.submit_agent_action(concord_test.id('w1'),
    '{"tool_name": "retrieve_memory", "idempotency_key": "r", "payload": {}}'));
SELECT is((SELECT answer #>> '{output,memories,0,content}' FROM answers WHERE label = 'read'),
          'tea at five, never coffee', 'the agent retrieving it gets the content');
SELECT is((SELECT output #> '{output,memories,0}' ?| ARRAY['content'] FROM concord.agent_steps
           WHERE agent_run_id = concord_test.id('w1') AND tool_name = 'retrieve_memory'),
          false, 'the retrieval''s step records no content');
SELECT is((SELECT output #>> '{output,memories,0,content_sha256}' FROM concord.agent_steps
           WHERE agent_run_id = concord_test.id('w1') AND tool_name = 'retrieve_memory'),
          encode(sha256('tea at five, never coffee'), 'hex'), 'the retrieval''s step names the memory''s digest');
SELECT is(pg_temp.copies('tea at five'), 0::bigint, 'no step and no audit row holds the content');

-- replays
SELECT is(concord.submit_agent_action(concord_test.id('w1'),
    '{"tool_name": "retrieve_memory", "idempotency_key": "r", "payload": {}}') #>> '{output,memories,0,content}',
    'tea at five, never coffee', 'a replayed retrieval gives the content again, from the memory''s row');
SELECT is(concord.submit_agent_action(concord_test.id('w1'),
    '{"tool_name": "write_memory", "idempotency_key": "w",
      "payload": {"memory_type": "preference", "content": "tea at five, never coffee", "consent": true}}')
    ->> 'replayed', 'true', 'the same write under its key is a replay (compared by digest)');
SELECT concord_test.throws_rule(
    $$SELECT concord.submit_agent_action(concord_test.id('w1'),
      '{"tool_name": "write_memory", "idempotency_key": "w",
        "payload": {"memory_type": "preference", "content": "coffee after all", "consent": true}}')$$,
    'CN002', 'an_idempotency_key_names_one_agent_action', 'CN002: another content under the same key');
SELECT lives_ok($$SELECT concord.forget_memory(concord_test.id('m'), 'alice')$$, 'the memory is forgotten');
SELECT is(concord.submit_agent_action(concord_test.id('w1'),
    '{"tool_name": "retrieve_memory", "idempotency_key": "r", "payload": {}}') #> '{output,memories,0}'
    ?& ARRAY['forgotten', 'content_sha256'], true, 'a retrieval replayed after forgetting says forgotten');
SELECT is(pg_temp.copies('tea at five'), 0::bigint, 'nothing holds the forgotten content');

-- raw steps holding content
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, tool_name,
                                               action_payload, decision)
             VALUES (%L, %L, 1, 'tool_call', 'write_memory',
                     '{"tool_name": "write_memory", "payload": {"memory_type": "preference", "content": "x"}}',
                     'allowed')$$, concord_test.id('w1'), concord_test.id('cmd')),
    'CN004', 'a_step_refers_to_memories_by_id_and_digest', 'CN004: a raw write_memory step holding the content');
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, tool_name,
                                               action_payload, decision, output)
             VALUES (%L, %L, 1, 'tool_call', 'retrieve_memory', '{"tool_name": "retrieve_memory", "payload": {}}',
                     'allowed', '{"output": {"memories": [{"memory_id": "%s", "content": "x"}]}}')$$,
           concord_test.id('w1'), concord_test.id('cmd'), concord_test.id('m')),
    'CN004', 'a_step_refers_to_memories_by_id_and_digest', 'CN004: a raw retrieve_memory step holding the content');

SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.agent_steps (agent_run_id, command_id, step_index, action_type, action_payload,
                                               decision)
             VALUES (%L, %L, 1, 'observe',
                     '{"tool_name": "write_memory", "payload": {"memory_type": "preference", "content": "x"}}',
                     'recorded')$$, concord_test.id('w1'), concord_test.id('cmd')),
    'CN004', 'a_step_refers_to_memories_by_id_and_digest',
    'CN004: a raw step naming write_memory only in its action, holding the content');

-- raw audit rows holding content: the step's copy may not hold what the step may not
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.domain_events (agent_run_id, purpose, event_type, target_type, actor, trace_id,
                                                 tool_name, payload)
             VALUES (%L, 'agent_step', 'agent_step_recorded', 'agent_step', 'agent:x', 't', 'write_memory',
                     '{"action_payload": {"tool_name": "write_memory",
                                          "payload": {"memory_type": "preference", "content": "x"}}}')$$,
           concord_test.id('w1')),
    'CN004', 'a_step_refers_to_memories_by_id_and_digest', 'CN004: a raw write_memory audit row holding the content');
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.domain_events (agent_run_id, purpose, event_type, target_type, actor, trace_id,
                                                 payload)
             VALUES (%L, 'agent_step', 'agent_step_recorded', 'agent_step', 'agent:x', 't',
                     '{"action_payload": {"tool_name": "retrieve_memory", "payload": {}},
                       "output": {"output": {"memories": [{"memory_id": "%s", "content": "x"}]}}}')$$,
           concord_test.id('w1'), concord_test.id('m')),
    'CN004', 'a_step_refers_to_memories_by_id_and_digest',
    'CN004: a raw retrieve_memory audit row (tool named in its action only) holding the content');
SELECT lives_ok(
    format($$INSERT INTO concord.domain_events (agent_run_id, purpose, event_type, target_type, actor, trace_id,
                                                 tool_name, payload)
             VALUES (%L, 'agent_step', 'agent_step_recorded', 'agent_step', 'agent:x', 't', 'write_memory',
                     jsonb_build_object('action_payload', concord._memory_action_reference('write_memory',
                         '{"tool_name": "write_memory", "payload": {"memory_type": "preference", "content": "x"}}')))
          $$, concord_test.id('w1')),
    'an audit row referring to the memory by digest is recorded');

SELECT * FROM finish();
ROLLBACK;
