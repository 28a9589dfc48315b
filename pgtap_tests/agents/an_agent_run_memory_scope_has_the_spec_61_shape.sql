-- An agent run's memory scope has the spec 61.2 shape whoever writes it: a raw
-- insert by the owner of a child (or a root) whose scope has a null, a
-- wrongly typed or a missing field is refused with CN004 naming the run and
-- the rule an_agent_run_memory_scope_has_the_spec_61_shape, never with the
-- raw 22023/22P02 of a cast in the subset test; the spawn gateway answers
-- such a request as invalid. The other jsonb fields of a run (context_scope,
-- constraints, model_config, runtime_config) are objects by their CHECK
-- constraints, refused by name (23514), never by a cast.
BEGIN;
SELECT plan(28);

\ir ../lib/agent_fixtures.sql

-- A raw child of rc (whose scope is pg_temp.ms()) with scope mem: the
-- SQLSTATE and rule it is refused with, as 'CN004/rule'.
CREATE FUNCTION pg_temp.refusal(mem jsonb)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    got_state text;
    got_rule text;
    got_message text;
BEGIN
    PERFORM pg_temp.raw_child('rc', 'x', mem => mem);
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE, got_rule = CONSTRAINT_NAME, got_message = MESSAGE_TEXT;
    RETURN got_state || '/' || coalesce(got_rule, '') ||
           CASE WHEN got_message ~ 'agent run [0-9a-f-]{36} \(x\)' THEN '/names the run' ELSE '/' || got_message END;
END
$$;

SELECT is(pg_temp.refusal(pg_temp.ms() || jsonb_build_object(field, bad)),
          'CN004/an_agent_run_memory_scope_has_the_spec_61_shape/names the run',
          format('CN004 naming the run: a raw child whose memory scope has %s = %s', field, bad))
FROM (VALUES
    ('subject_type', 'null'::jsonb), ('subject_type', '7'), ('subject_type', '["user"]'), ('subject_type', '" "'),
    ('subject_id', 'null'), ('subject_id', '{"id": 1}'),
    ('allowed_memory_types', 'null'), ('allowed_memory_types', '"fact"'), ('allowed_memory_types', '[1]'),
    ('allowed_memory_types', '[null]'),
    ('allow_semantic_retrieval', 'null'), ('allow_semantic_retrieval', '"yes"'), ('allow_semantic_retrieval', '[true]'),
    ('max_results', 'null'), ('max_results', '"5"'), ('max_results', '"many"'), ('max_results', '2.5'),
    ('max_results', '-1')
) AS v (field, bad);

SELECT is(pg_temp.refusal(pg_temp.ms() - 'max_results'),
          'CN004/an_agent_run_memory_scope_has_the_spec_61_shape/names the run',
          'CN004 naming the run: a memory scope without max_results');
SELECT is(pg_temp.refusal('[]'),
          'CN004/an_agent_run_memory_scope_has_the_spec_61_shape/names the run',
          'CN004 naming the run: a memory scope that is a list');
SELECT is(pg_temp.refusal('"user:u1"'),
          'CN004/an_agent_run_memory_scope_has_the_spec_61_shape/names the run',
          'CN004 naming the run: a memory scope that is a string');

-- a root has no parent to compare with: the same rule
SELECT lives_ok($$SELECT pg_temp.raw_swarm('Y')$$, 'fixture: a raw swarm run without agents');
SELECT concord_test.throws_rule(
    pg_temp.raw_root_sql('Y', 'memory_scope', quote_literal(pg_temp.ms() || '{"allow_semantic_retrieval": null}')),
    'CN004', 'an_agent_run_memory_scope_has_the_spec_61_shape', 'CN004: a raw root whose memory scope has a null field');

-- the other jsonb fields of a run: refused by their named CHECK, not a cast
SELECT concord_test.throws_rule(pg_temp.raw_root_sql('Y', f, v), '23514', f || '_is_an_object',
                                format('23514 %s_is_an_object: a raw root whose %s is %s', f, f, v))
FROM (VALUES ('context_scope', $$'[]'$$), ('constraints', $$'"x"'$$), ('model_config', $$'null'$$),
             ('runtime_config', $$'[{}]'$$)) AS v (f, v);

-- the spawn gateway refuses such a request with every problem listed
SELECT concord_test.throws_rule(
    $$SELECT pg_temp.spawn('coord', jsonb_build_object(
        'agent_name', 'badscope', 'agent_role', 'researcher', 'delegated_goal', 'g', 'allowed_tools', '[]'::jsonb,
        'memory_scope', pg_temp.ms() || '{"max_results": "many"}'))$$,
    'CN005', 'spawn_request_is_valid', 'CN005: the spawn gateway refuses a memory scope with a wrongly typed field');

SELECT * FROM finish();
ROLLBACK;
