-- What the worker and an agent read of the commands agents asked for.

CREATE OR REPLACE FUNCTION concord.runtime_agentic_command(command_id uuid, workflow_id text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    c concord.commands%ROWTYPE;
    answer jsonb;
BEGIN
    PERFORM concord._require('workflow_id', workflow_id);
    -- one lock order everywhere: the swarm, then the command (a join or a
    -- cancellation of the swarm takes the swarm and then its commands; a spawn
    -- or a review taking them the other way round would deadlock with it)
    PERFORM 1 FROM concord.swarm_runs AS s
    WHERE s.swarm_run_id = (SELECT CASE WHEN concord._is_uuid(x.payload ->> 'swarm_run_id')
                                        THEN (x.payload ->> 'swarm_run_id')::uuid END
                            FROM concord.commands AS x
                            WHERE x.command_id = runtime_agentic_command.command_id
                              AND x.command_type IN ('spawn_subagent', 'concord.swarm_review'))
    FOR NO KEY UPDATE;
    c := concord._lock_command(command_id);
    PERFORM concord._require_owner(c, workflow_id);
    PERFORM set_config('concord.actor', 'workflow:' || workflow_id, true);
    IF c.command_type = 'spawn_subagent' THEN
        -- the child exists once: a replay finds the invocation
        SELECT jsonb_build_object('child_agent_run_id', i.child_agent_run_id, 'invocation_id', i.invocation_id)
        INTO answer FROM concord.agent_invocations AS i WHERE i.command_id = c.command_id;
        IF answer IS NULL THEN
            answer := concord._materialize_spawn(c, 'workflow:' || workflow_id);
        END IF;
        RETURN answer;
    ELSIF c.command_type = 'concord.write_memory' THEN
        RETURN concord._activate_memory_command(c.command_id);
    ELSIF c.command_type = 'concord.swarm_review' THEN
        PERFORM concord._swarm_review_settled(c);
        RETURN jsonb_build_object('swarm_run_id', c.payload -> 'swarm_run_id', 'reviewed', true);
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'CN008',
        CONSTRAINT = 'the_command_is_one_of_the_gateway_types',
        MESSAGE = format('command %s is a %s command, not one of the agent gateway''s', c.command_id, c.command_type);
END
$$;

COMMENT ON FUNCTION concord.runtime_agentic_command(uuid, text) IS
'(concord_worker) Run an approved command of the gateway''s own types: spawn_subagent creates the '
'child '
'(or answers {refused}), concord.write_memory activates the memory, concord.swarm_review settles '
'the swarm. '
'Idempotent on replay.';

CREATE OR REPLACE FUNCTION concord.agent_command(agent_run_id uuid, command_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    c concord.commands%ROWTYPE;
BEGIN
    PERFORM concord._require_agent_secret(agent_run_id);
    PERFORM concord._require('agent_run_id', agent_run_id::text);
    PERFORM concord._require('command_id', command_id::text);
    SELECT x.* INTO c FROM concord.commands AS x
    WHERE x.command_id = agent_command.command_id
      AND EXISTS (SELECT 1 FROM concord.agent_steps AS s
                  WHERE s.agent_run_id = agent_command.agent_run_id AND s.created_command_id = x.command_id);
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'an_agent_sees_only_the_commands_it_asked_for',
            MESSAGE = format('agent run %s asked for no command %s', agent_run_id, command_id);
    END IF;
    RETURN jsonb_build_object(
        'command_id', c.command_id, 'command_type', c.command_type, 'status', c.status,
        'terminal', concord._is_terminal(c.status) OR c.status = 'failed', 'result', c.result, 'error', c.error,
        'error_class', c.error_class, 'approval_id', concord._pending_approval(c.command_id),
        'updated_at', c.updated_at);
END
$$;

COMMENT ON FUNCTION concord.agent_command(uuid, uuid) IS
'The observation of a command an agent asked for (only its own: CN006 otherwise): {command_id, '
'command_type, '
'status, terminal, result, error, error_class, approval_id}.';
