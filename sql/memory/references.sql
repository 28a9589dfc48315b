-- Memory content lives in one place, its memories row, which forgetting
-- clears. What records a memory's use (an agent's write_memory and
-- retrieve_memory steps, and their agent_step_recorded audit rows, both
-- append-only) refers to it by memory_id and the sha256 digest of its
-- content, so forgetting a memory forgets it everywhere (spec 23, 61).

-- {content_sha256, content_length} of content (a JSON string's text; any
-- other JSON value's text, for a write refused as invalid): the digest the
-- command of a memory write carries too.
CREATE OR REPLACE FUNCTION concord._memory_content_digest(content jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'content_sha256', encode(sha256(convert_to(coalesce(content #>> '{}', ''), 'UTF8')), 'hex'),
        'content_length', length(coalesce(content #>> '{}', '')));
END
$$;

-- action (an agent action {tool_name, payload, ...}) as a step records it: a
-- write_memory's payload keeps the digest of its content, not the content.
-- Idempotent; any other action is returned as it is.
CREATE OR REPLACE FUNCTION concord._memory_action_reference(tool_name text, action jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF tool_name = 'write_memory' AND jsonb_typeof(action -> 'payload') = 'object' AND action -> 'payload' ? 'content' THEN
        RETURN jsonb_set(action, '{payload}', ((action -> 'payload') - 'content')
                                              || concord._memory_content_digest(action #> '{payload,content}'));
    END IF;
    RETURN action;
END
$$;

-- answer (the gateway's answer to a tool call) as a step records it: each
-- memory a retrieve_memory returned keeps its id and digest, not its content.
-- Idempotent; any other answer is returned as it is.
CREATE OR REPLACE FUNCTION concord._memory_answer_reference(tool_name text, answer jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF tool_name = 'retrieve_memory' AND jsonb_typeof(answer #> '{output,memories}') = 'array' THEN
        RETURN jsonb_set(answer, '{output,memories}', (
            SELECT coalesce(jsonb_agg(CASE WHEN jsonb_typeof(m.doc) = 'object' AND m.doc ? 'content'
                                           THEN (m.doc - 'content') || concord._memory_content_digest(m.doc -> 'content')
                                           ELSE m.doc END ORDER BY m.n), '[]'::jsonb)
            FROM jsonb_array_elements(answer #> '{output,memories}') WITH ORDINALITY AS m (doc, n)));
    END IF;
    RETURN answer;
END
$$;

-- A recorded retrieve_memory answer given again (a replay): each memory gets
-- its content back from its row while that row still holds the content the
-- digest names; a forgotten one is marked forgotten, without content.
CREATE OR REPLACE FUNCTION concord._memory_answer_recalled(tool_name text, answer jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF tool_name IS DISTINCT FROM 'retrieve_memory' OR jsonb_typeof(answer #> '{output,memories}') <> 'array' THEN
        RETURN answer;
    END IF;
    RETURN jsonb_set(answer, '{output,memories}', (
        SELECT coalesce(jsonb_agg(CASE
                   WHEN jsonb_typeof(d.doc) <> 'object' OR d.doc ? 'content'
                        OR NOT d.doc ? 'content_sha256' THEN d.doc
                   WHEN r.content IS NOT NULL THEN d.doc || jsonb_build_object('content', r.content)
                   ELSE d.doc || jsonb_build_object('forgotten', true) END ORDER BY d.n), '[]'::jsonb)
        FROM jsonb_array_elements(answer #> '{output,memories}') WITH ORDINALITY AS d (doc, n)
        LEFT JOIN LATERAL (
            SELECT m.content FROM concord.memories AS m
            WHERE concord._is_uuid(d.doc ->> 'memory_id') AND m.memory_id = (d.doc ->> 'memory_id')::uuid
              AND m.status <> 'deleted'
              AND concord._memory_content_digest(to_jsonb(m.content)) ->> 'content_sha256' = d.doc ->> 'content_sha256'
        ) AS r ON true));
END
$$;

-- Why a step of tool_name holds memory content (a write's payload, or what a
-- retrieval returned), or NULL when it refers to memories by id and digest.
-- The action's own tool_name counts too: a raw row naming the tool only there
-- (its tool_name column null) is no way around the rule.
CREATE OR REPLACE FUNCTION concord._memory_content_in_step(
    tool_name text, action_payload jsonb, output jsonb
)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    tool text;
BEGIN
    FOREACH tool IN ARRAY ARRAY[tool_name, action_payload ->> 'tool_name'] LOOP
        IF concord._memory_action_reference(tool, action_payload) IS DISTINCT FROM action_payload THEN
            RETURN 'its write_memory payload holds the memory''s content';
        ELSIF concord._memory_answer_reference(tool, output) IS DISTINCT FROM output THEN
            RETURN 'its retrieve_memory output holds the memories'' content';
        END IF;
    END LOOP;
    RETURN NULL;
END
$$;
