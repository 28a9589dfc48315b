-- Views of swarms and agents for operators (spec 48).

-- Spec 20: the tool catalog.
CREATE OR REPLACE VIEW concord.tool_catalog AS
SELECT
    t.tool_name,
    t.description,
    t.execution_mode,
    t.command_type,
    t.risk_level,
    t.requires_approval,
    t.connector,
    t.capability,
    t.input_schema,
    t.output_schema,
    t.version,
    t.updated_at
FROM concord.tools AS t;

COMMENT ON VIEW concord.tool_catalog IS
'Every tool agents may be given (spec 20): how it runs, the command type a call becomes, its '
'risk, whether it needs approval, the connector it reaches and its schemas.';

CREATE OR REPLACE VIEW concord.swarm_tree AS
SELECT
    s.swarm_run_id,
    s.name AS swarm_name,
    s.status AS swarm_status,
    a.agent_run_id,
    a.parent_agent_run_id,
    a.agent_name,
    a.agent_role,
    a.spawn_depth,
    a.status,
    a.step_count,
    a.max_steps,
    a.cost_units,
    a.allowed_tools,
    a.allowed_connectors,
    a.created_at,
    a.completed_at
FROM concord.agent_runs AS a
INNER JOIN concord.swarm_runs AS s ON a.swarm_run_id = s.swarm_run_id
ORDER BY s.created_at, s.swarm_run_id, a.spawn_depth, a.created_at, a.agent_run_id;

COMMENT ON VIEW concord.swarm_tree IS
'One row per agent run, with its swarm, parent, role, depth, status, step budget, cost and '
'scopes.';

CREATE OR REPLACE VIEW concord.agent_step_log AS
SELECT
    st.swarm_run_id,
    st.agent_run_id,
    a.agent_name,
    a.agent_role,
    st.step_index,
    st.action_type,
    st.tool_name,
    st.decision,
    st.reason,
    st.created_command_id,
    c.status AS created_command_status,
    st.created_approval_id,
    st.created_artifact_id,
    st.created_memory_id,
    st.child_agent_run_id,
    st.latency_ms,
    st.cost_units,
    st.created_at,
    st.agent_step_id
FROM concord.agent_steps AS st
INNER JOIN concord.agent_runs AS a ON st.agent_run_id = a.agent_run_id
LEFT JOIN concord.commands AS c ON st.created_command_id = c.command_id
ORDER BY st.swarm_run_id, a.created_at, st.agent_run_id, st.step_index;

COMMENT ON VIEW concord.agent_step_log IS
'Every agent step in order, with its decision and what it created (command and its status, '
'approval, artifact, memory, child agent).';

CREATE OR REPLACE VIEW concord.swarm_artifacts AS
SELECT
    x.swarm_run_id,
    s.name AS swarm_name,
    x.artifact_id,
    x.agent_run_id,
    a.agent_name,
    a.agent_role,
    x.artifact_type,
    x.name,
    x.version,
    x.status,
    x.location,
    x.score,
    x.created_by,
    x.created_at,
    x.content IS NOT null AS has_content,
    coalesce((
        SELECT array_agg(l.parent_artifact_id ORDER BY l.created_at, l.parent_artifact_id)
        FROM concord.artifact_lineage AS l
        WHERE l.artifact_id = x.artifact_id
    ), '{}') AS parent_artifact_ids,
    (
        SELECT count(*) FROM concord.artifact_lineage AS l
        INNER JOIN concord.artifacts AS e ON l.artifact_id = e.artifact_id
        WHERE l.parent_artifact_id = x.artifact_id AND e.artifact_type = 'evaluation'
    ) AS evaluations
FROM concord.artifacts AS x
INNER JOIN concord.swarm_runs AS s ON x.swarm_run_id = s.swarm_run_id
LEFT JOIN concord.agent_runs AS a ON x.agent_run_id = a.agent_run_id
ORDER BY s.created_at, x.swarm_run_id, x.created_at, x.artifact_id;

COMMENT ON VIEW concord.swarm_artifacts IS
'Every artifact of a swarm, with the agent that made it, its version, status, score, parents '
'and how many evaluations it has.';
