-- The gateway tools, one public function each (the same path as
-- submit_agent_action).

-- The gateway tools, one function each (the same path as submit_agent_action).
CREATE OR REPLACE FUNCTION concord._gateway_tool_call(
    agent_run_id uuid, tool_name text, payload jsonb
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._require_agent_secret(agent_run_id);
    IF payload IS NULL OR jsonb_typeof(payload) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'gateway_tool_input_is_a_json_object',
            MESSAGE = format('the %s input must be a JSON object', tool_name);
    END IF;
    RETURN concord._agent_action(concord._lock_live_agent(agent_run_id),
                                 jsonb_build_object('action_type', 'tool_call', 'tool_name', tool_name, 'payload', payload));
END
$$;

CREATE OR REPLACE FUNCTION concord.create_artifact(agent_run_id uuid, artifact jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
BEGIN
    RETURN concord._gateway_tool_call(agent_run_id, 'create_artifact', artifact);
END
$$;

COMMENT ON FUNCTION concord.create_artifact(uuid, jsonb) IS
'Write an artifact in the agent''s swarm (spec 24, 63): {artifact_type, name, location | '
'content, metadata, parent_artifact_ids, status, score}; needs tool create_artifact. Not of '
'type evaluation, which only evaluate_output makes (denied, CN012). Returns the gateway '
'answer; its output is the artifact.';

CREATE OR REPLACE FUNCTION concord.read_artifact(agent_run_id uuid, request jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
BEGIN
    RETURN concord._gateway_tool_call(agent_run_id, 'read_artifact', request);
END
$$;

COMMENT ON FUNCTION concord.read_artifact(uuid, jsonb) IS
'Read an artifact of the agent''s swarm: {artifact_id}; needs tool read_artifact. Returns the'
' gateway answer; its output is the artifact.';

CREATE OR REPLACE FUNCTION concord.evaluate_output(agent_run_id uuid, evaluation jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
BEGIN
    RETURN concord._gateway_tool_call(agent_run_id, 'evaluate_output', evaluation);
END
$$;

COMMENT ON FUNCTION concord.evaluate_output(uuid, jsonb) IS
'Record a structured evaluation (spec 66) of an artifact of the swarm: {artifact_id, '
'evaluation_type, decision, confidence, score, issues, recommendation}; needs tool '
'evaluate_output, the only way to make an artifact of type evaluation, which joins count.';

CREATE OR REPLACE FUNCTION concord.write_memory(agent_run_id uuid, memory jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
BEGIN
    RETURN concord._gateway_tool_call(agent_run_id, 'write_memory', memory);
END
$$;

COMMENT ON FUNCTION concord.write_memory(uuid, jsonb) IS
'Write a memory within the agent''s memory scope (spec 23, 61): active at once when '
'confident, consented, not sensitive and not broad, else a candidate awaiting approval; needs'
' tool write_memory. The step records the content''s content_sha256 and content_length, never'
' the content (forgetting clears it everywhere).';

CREATE OR REPLACE FUNCTION concord.retrieve_memory(agent_run_id uuid, query jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
BEGIN
    RETURN concord._gateway_tool_call(agent_run_id, 'retrieve_memory', query);
END
$$;

COMMENT ON FUNCTION concord.retrieve_memory(uuid, jsonb) IS
'Retrieve memories within the agent''s memory scope: {memory_type, memory_types, text, '
'limit}; a text query needs allow_semantic_retrieval; needs tool retrieve_memory. The answer '
'holds the memories'' content; the step records each by memory_id and content_sha256, and a '
'replay under the same idempotency key reads the content again (forgotten since: forgotten).';
