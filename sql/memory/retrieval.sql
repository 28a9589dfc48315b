-- Retrieval by subject, type and full-text search within the caller's scope.

-- Active, unexpired memories of scope's subject among types, best first:
-- ranked by full-text search when query_text is given, else newest first;
-- of project only, when given (row security limits them to the caller's
-- projects in any case; a superuser or worker session sees them all).
-- Before projects it took no project_id; an upgraded database must not keep
-- that overload beside this one.
DROP FUNCTION IF EXISTS concord._search_memories(jsonb, text[], text, integer);

CREATE OR REPLACE FUNCTION concord._search_memories(
    scope jsonb, types text[], query_text text, max_results integer, project_id uuid DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    found jsonb;
BEGIN
    IF query_text IS NULL THEN
        SELECT coalesce(jsonb_agg(r.doc ORDER BY r.ord), '[]') INTO found
        FROM (
            SELECT concord._memory_doc(m) AS doc,
                   row_number() OVER (ORDER BY m.updated_at DESC, m.memory_id) AS ord
            FROM concord.memories AS m
            WHERE m.status = 'active' AND m.subject_type = scope ->> 'subject_type'
              AND m.subject_id = scope ->> 'subject_id' AND m.memory_type = ANY (types)
              AND (m.expires_at IS NULL OR m.expires_at > now())
              AND (_search_memories.project_id IS NULL OR m.project_id = _search_memories.project_id)
            ORDER BY m.updated_at DESC, m.memory_id
            LIMIT max_results
        ) AS r;
    ELSE
        SELECT coalesce(jsonb_agg(r.doc ORDER BY r.ord), '[]') INTO found
        FROM (
            SELECT concord._memory_doc(m) || jsonb_build_object('rank', q.rank) AS doc,
                   row_number() OVER (ORDER BY q.rank DESC, m.updated_at DESC, m.memory_id) AS ord
            FROM concord.memories AS m
            CROSS JOIN LATERAL (
                SELECT ts_rank(m.search_vector, websearch_to_tsquery('english', query_text)) AS rank
            ) AS q
            WHERE m.status = 'active' AND m.subject_type = scope ->> 'subject_type'
              AND m.subject_id = scope ->> 'subject_id' AND m.memory_type = ANY (types)
              AND (m.expires_at IS NULL OR m.expires_at > now())
              AND (_search_memories.project_id IS NULL OR m.project_id = _search_memories.project_id)
              AND m.search_vector @@ websearch_to_tsquery('english', query_text)
            ORDER BY q.rank DESC, m.updated_at DESC, m.memory_id
            LIMIT max_results
        ) AS r;
    END IF;
    RETURN jsonb_build_object('memories', found, 'count', jsonb_array_length(found));
END
$$;

-- An agent's retrieval (spec 23, 61.2): query {memory_type?, memory_types?,
-- text?, limit?} within the run's memory scope only (CN004 outside it; a text
-- query needs allow_semantic_retrieval); the limit defaults to, and is capped
-- by, the scope's max_results. Returns {memories, count}.
CREATE OR REPLACE FUNCTION concord._retrieve_memory(run concord.agent_runs, query jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    scope jsonb := run.memory_scope;
    q jsonb := coalesce(query, '{}');
    unknown text[];
    types text[];
    outside text[];
    lim integer;
BEGIN
    IF run.agent_run_id IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008', CONSTRAINT = 'an_agent_tool_is_called_for_an_agent_run',
            MESSAGE = 'a retrieval is made by an agent run';
    END IF;
    IF concord._agentic_terminal('agent', run.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_finished_agent_run_acts_no_more',
            MESSAGE = format('agent run %s is %s: a finished agent retrieves nothing', run.agent_run_id, run.status);
    END IF;
    IF scope IS NULL OR scope = '{}'::jsonb THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'the_empty_memory_scope_gives_no_access',
            MESSAGE = format('scope violation: agent run %s (%s) has no memory access (memory_scope {})',
                             run.agent_run_id, run.agent_name);
    END IF;
    IF jsonb_typeof(q) <> 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008', CONSTRAINT = 'a_memory_query_is_a_json_object',
            MESSAGE = 'a memory query must be a JSON object';
    END IF;
    unknown := ARRAY(SELECT k FROM jsonb_object_keys(q) AS k
                     WHERE k <> ALL (ARRAY['memory_type', 'memory_types', 'text', 'limit']) ORDER BY k);
    IF cardinality(unknown) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_memory_query_has_only_known_keys',
            MESSAGE = format('unknown memory query keys: %s', array_to_string(unknown, ', ')),
            HINT = 'A query has memory_type, memory_types, text and limit.';
    END IF;
    IF (q ? 'memory_type' AND jsonb_typeof(q -> 'memory_type') <> 'string')
       OR (q ? 'memory_types' AND (jsonb_typeof(q -> 'memory_types') <> 'array'
                                   OR NOT concord._is_string_list(q -> 'memory_types'))) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'memory_types_of_a_query_are_strings',
            MESSAGE = 'memory_type must be a string and memory_types a list of strings';
    END IF;
    IF q ? 'text' AND (jsonb_typeof(q -> 'text') <> 'string' OR btrim(q ->> 'text') = '') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008', CONSTRAINT = 'a_text_query_is_not_blank',
            MESSAGE = 'text must be a non-blank string';
    END IF;
    IF q ? 'limit' AND (CASE WHEN jsonb_typeof(q -> 'limit') = 'number'
                            THEN (q ->> 'limit')::numeric <> floor((q ->> 'limit')::numeric)
                                 OR (q ->> 'limit')::numeric NOT BETWEEN 1 AND 1000000
                            ELSE true END) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008', CONSTRAINT = 'a_retrieval_limit_is_a_whole_number_at_least_1',
            MESSAGE = 'limit must be a whole number, at least 1';
    END IF;
    IF q ? 'memory_type' OR q ? 'memory_types' THEN
        types := ARRAY(SELECT DISTINCT t FROM (
                           SELECT q ->> 'memory_type' AS t WHERE q ? 'memory_type'
                           UNION ALL
                           SELECT e FROM jsonb_array_elements_text(coalesce(q -> 'memory_types', '[]')) AS e
                       ) AS x);
        outside := ARRAY(SELECT unnest(types)
                         EXCEPT SELECT jsonb_array_elements_text(scope -> 'allowed_memory_types'));
        IF cardinality(outside) > 0 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                CONSTRAINT = 'an_agent_retrieves_only_its_allowed_memory_types',
                MESSAGE = format('scope violation: agent run %s (%s) may not retrieve memory types %s (allowed: %s)',
                                 run.agent_run_id, run.agent_name, array_to_string(outside, ', '),
                                 scope -> 'allowed_memory_types');
        END IF;
    ELSE
        types := ARRAY(SELECT jsonb_array_elements_text(scope -> 'allowed_memory_types'));
    END IF;
    IF q ? 'text' AND NOT (scope -> 'allow_semantic_retrieval')::boolean THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'a_text_query_needs_semantic_retrieval',
            MESSAGE = format('scope violation: agent run %s (%s) may not search memories by text '
                             '(allow_semantic_retrieval is false)', run.agent_run_id, run.agent_name);
    END IF;
    lim := least(coalesce((q ->> 'limit')::numeric, (scope ->> 'max_results')::numeric),
                 (scope ->> 'max_results')::numeric)::integer;
    -- an agent's memories are its run's project's, whoever's session asks
    RETURN concord._search_memories(scope, types, q ->> 'text', lim,
                                    (SELECT c.project_id FROM concord.commands AS c WHERE c.command_id = run.command_id));
END
$$;
