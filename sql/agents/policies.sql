-- The built-in policies of the gateway: spawn_scope and agent_tool.

-- Every reason a spawn request (a normalized spawn_subagent payload) may not
-- become a child now, as [{code, scope, reason}]: the parent's scopes (CN004),
-- its swarm's depth and agent limits (CN010), the roles its swarm's
-- templates allow (CN004). Spec 59.3/59.4, 71.3.
CREATE OR REPLACE FUNCTION concord._spawn_problems(request jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    parent concord.agent_runs%ROWTYPE;
    swarm concord.swarm_runs%ROWTYPE;
    problems jsonb := '[]'::jsonb;
    template_roles text[];
BEGIN
    SELECT * INTO parent FROM concord.agent_runs AS a
    WHERE a.agent_run_id = (request ->> 'parent_agent_run_id')::uuid;
    IF NOT FOUND THEN
        RETURN jsonb_build_array(jsonb_build_object('code', 'CN006', 'scope', 'parent_agent_run_id',
            'reason', format('parent agent run %s not found', request ->> 'parent_agent_run_id')));
    END IF;
    SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = parent.swarm_run_id;
    IF concord._agentic_terminal('agent', parent.status) THEN
        problems := problems || jsonb_build_object('code', 'CN011', 'scope', 'parent_agent_run_id',
            'reason', format('parent agent run %s is %s', parent.agent_run_id, parent.status));
    END IF;
    IF concord._agentic_terminal('swarm', swarm.status) THEN
        problems := problems || jsonb_build_object('code', 'CN011', 'scope', 'swarm_run_id',
            'reason', format('swarm run %s is %s', swarm.swarm_run_id, swarm.status));
    END IF;
    IF parent.spawn_depth + 1 > swarm.max_depth THEN
        problems := problems || jsonb_build_object('code', 'CN010', 'scope', 'max_depth',
            'reason', format('spawn depth exceeded: a child of agent %s would be at depth %s; max_depth is %s',
                             parent.agent_run_id, parent.spawn_depth + 1, swarm.max_depth));
    END IF;
    IF swarm.live_agents >= swarm.max_agents THEN
        problems := problems || jsonb_build_object('code', 'CN010', 'scope', 'max_agents',
            'reason', format('swarm agent limit exceeded: swarm run %s has %s live agents of max_agents %s',
                             swarm.swarm_run_id, swarm.live_agents, swarm.max_agents));
    END IF;
    IF NOT 'spawn_subagent' = ANY (parent.allowed_tools) THEN
        problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'allowed_tools',
            'reason', format('agent %s may not spawn: spawn_subagent is not in its allowed_tools', parent.agent_run_id));
    END IF;
    template_roles := ARRAY(SELECT DISTINCT t.item ->> 'agent_role' FROM jsonb_array_elements(swarm.agent_templates) AS t (item)
                            WHERE t.item ->> 'agent_role' IS NOT NULL);
    IF cardinality(template_roles) > 0 AND NOT (request ->> 'agent_role') = ANY (template_roles) THEN
        problems := problems || jsonb_build_object('code', 'CN004', 'scope', 'agent_role',
            'reason', format('role not allowed: %s is not a role of swarm %s''s agents (%s)', request ->> 'agent_role',
                             swarm.name, array_to_string(template_roles, ', ')));
    END IF;
    RETURN problems || concord._scope_excess(
        parent, request ->> 'agent_role', concord._text_array(request -> 'allowed_tools'),
        concord._text_array(request -> 'allowed_connectors'), concord._text_array(request -> 'allowed_child_roles'),
        request -> 'memory_scope');
END
$$;

-- Built-in policy agent_tool: a command submitted through the gateway
-- (ingress agent) names a live agent run whose scope holds the tool, and the
-- tool makes commands of this type; a tool that requires approval asks for
-- it. Other ingresses pass.
CREATE OR REPLACE FUNCTION concord._agent_tool_policy(doc jsonb, config jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
    tool concord.tools%ROWTYPE;
BEGIN
    IF doc ->> 'ingress' IS DISTINCT FROM 'agent' THEN
        RETURN '{"decision": "allow"}'::jsonb;
    END IF;
    SELECT * INTO tool FROM concord.tools AS t WHERE t.tool_name = doc #>> '{context,tool_name}';
    IF NOT FOUND OR tool.command_type IS DISTINCT FROM doc ->> 'command_type' THEN
        RETURN jsonb_build_object('decision', 'deny', 'reasons', jsonb_build_array(format(
            'no tool %s makes %s commands', coalesce(doc #>> '{context,tool_name}', '(none)'), doc ->> 'command_type')));
    END IF;
    IF NOT coalesce(concord._is_uuid(doc #>> '{context,agent_run_id}'), false) THEN
        RETURN jsonb_build_object('decision', 'deny', 'reasons', jsonb_build_array(
            'an agent command names its agent run (context.agent_run_id)'));
    END IF;
    SELECT * INTO run FROM concord.agent_runs AS a WHERE a.agent_run_id = (doc #>> '{context,agent_run_id}')::uuid;
    IF NOT FOUND OR concord._agentic_terminal('agent', run.status) OR NOT tool.tool_name = ANY (run.allowed_tools)
       OR (tool.connector IS NOT NULL AND NOT tool.connector = ANY (run.allowed_connectors))
       OR doc ->> 'requested_by' IS DISTINCT FROM 'agent:' || run.agent_run_id THEN
        RETURN jsonb_build_object('decision', 'deny', 'reasons', jsonb_build_array(format(
            'agent run %s may not use tool %s', doc #>> '{context,agent_run_id}', tool.tool_name)));
    END IF;
    IF tool.requires_approval THEN
        RETURN jsonb_build_object(
            'decision', 'require_approval',
            'reasons', jsonb_build_array(format('tool %s requires approval when an agent uses it', tool.tool_name)),
            'approval_type', coalesce(config ->> 'approval_type', 'standard'));
    END IF;
    RETURN '{"decision": "allow"}'::jsonb;
END
$$;
