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

COMMENT ON COLUMN concord.tool_catalog.tool_name IS
'The tool''s name, named in agents'' allowed_tools.';

COMMENT ON COLUMN concord.tool_catalog.description IS
'What the tool does.';

COMMENT ON COLUMN concord.tool_catalog.execution_mode IS
'sync, async (a command type run by a worker) or gateway (a gateway function).';

COMMENT ON COLUMN concord.tool_catalog.command_type IS
'The command type a call becomes (NULL for a gateway tool).';

COMMENT ON COLUMN concord.tool_catalog.risk_level IS
'low, medium, high or critical.';

COMMENT ON COLUMN concord.tool_catalog.requires_approval IS
'True when every call of the tool waits for an approval.';

COMMENT ON COLUMN concord.tool_catalog.connector IS
'The connector the tool reaches, if any (must be in the agent''s allowed_connectors).';

COMMENT ON COLUMN concord.tool_catalog.capability IS
'The connector capability the tool uses.';

COMMENT ON COLUMN concord.tool_catalog.input_schema IS
'The JSON Schema of the tool''s input.';

COMMENT ON COLUMN concord.tool_catalog.output_schema IS
'The JSON Schema of the tool''s output.';

COMMENT ON COLUMN concord.tool_catalog.version IS
'1 at registration, one more per change.';

COMMENT ON COLUMN concord.tool_catalog.updated_at IS
'When the tool last changed.';

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

COMMENT ON COLUMN concord.swarm_tree.swarm_run_id IS
'The swarm''s id.';

COMMENT ON COLUMN concord.swarm_tree.swarm_name IS
'The swarm''s name, unique per command.';

COMMENT ON COLUMN concord.swarm_tree.swarm_status IS
'Where the swarm is now (swarm_statuses).';

COMMENT ON COLUMN concord.swarm_tree.agent_run_id IS
'The run''s id: the capability the agent holds.';

COMMENT ON COLUMN concord.swarm_tree.parent_agent_run_id IS
'The agent that spawned it (NULL for the coordinator).';

COMMENT ON COLUMN concord.swarm_tree.agent_name IS
'The agent''s name.';

COMMENT ON COLUMN concord.swarm_tree.agent_role IS
'The agent''s role (one of the swarm''s templates).';

COMMENT ON COLUMN concord.swarm_tree.spawn_depth IS
'The agent''s depth in the swarm (0 for the coordinator, its parent''s + 1).';

COMMENT ON COLUMN concord.swarm_tree.status IS
'Where the agent run is now (agent_statuses).';

COMMENT ON COLUMN concord.swarm_tree.step_count IS
'How many steps it took (derived from agent_steps).';

COMMENT ON COLUMN concord.swarm_tree.max_steps IS
'The most steps it may take.';

COMMENT ON COLUMN concord.swarm_tree.cost_units IS
'What its steps cost (derived).';

COMMENT ON COLUMN concord.swarm_tree.allowed_tools IS
'The tools it may call (a subset of its parent''s).';

COMMENT ON COLUMN concord.swarm_tree.allowed_connectors IS
'The connectors its tools may reach (a subset of its parent''s).';

COMMENT ON COLUMN concord.swarm_tree.created_at IS
'When it was created.';

COMMENT ON COLUMN concord.swarm_tree.completed_at IS
'When it finished.';

-- One row per swarm, its agent runs counted by the index on their swarm: a
-- newest-first page of it reads the page's swarms only (swarm_tree grouped
-- would read every agent run first).
CREATE OR REPLACE VIEW concord.swarm_summaries AS
SELECT
    s.swarm_run_id,
    s.name AS swarm_name,
    s.status AS swarm_status,
    s.command_id,
    n.agents,
    s.created_at,
    s.completed_at
FROM concord.swarm_runs AS s
CROSS JOIN LATERAL (
    SELECT count(*) AS agents FROM concord.agent_runs AS a
    WHERE a.swarm_run_id = s.swarm_run_id
) AS n;

COMMENT ON VIEW concord.swarm_summaries IS
'One row per swarm you may see: its name, status, command, number of agent runs, and when it '
'was created and finished. Page it newest first by created_at.';

COMMENT ON COLUMN concord.swarm_summaries.swarm_run_id IS
'The swarm''s id.';

COMMENT ON COLUMN concord.swarm_summaries.swarm_name IS
'The swarm''s name, unique per command.';

COMMENT ON COLUMN concord.swarm_summaries.swarm_status IS
'Where the swarm is now (swarm_statuses).';

COMMENT ON COLUMN concord.swarm_summaries.command_id IS
'The command that started the swarm.';

COMMENT ON COLUMN concord.swarm_summaries.agents IS
'How many agent runs it has (the coordinator and every spawned agent).';

COMMENT ON COLUMN concord.swarm_summaries.created_at IS
'When the swarm was created.';

COMMENT ON COLUMN concord.swarm_summaries.completed_at IS
'When it finished (NULL while it runs).';

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

COMMENT ON COLUMN concord.agent_step_log.swarm_run_id IS
'The swarm the step belongs to.';

COMMENT ON COLUMN concord.agent_step_log.agent_run_id IS
'The agent that took the step.';

COMMENT ON COLUMN concord.agent_step_log.agent_name IS
'The agent''s name.';

COMMENT ON COLUMN concord.agent_step_log.agent_role IS
'The agent''s role (one of the swarm''s templates).';

COMMENT ON COLUMN concord.agent_step_log.step_index IS
'The step''s number within the run (1, 2, ...).';

COMMENT ON COLUMN concord.agent_step_log.action_type IS
'What kind of step (tool_call, spawn_subagent, think, final_answer, ...).';

COMMENT ON COLUMN concord.agent_step_log.tool_name IS
'The tool called, for a tool call.';

COMMENT ON COLUMN concord.agent_step_log.decision IS
'What the gateway decided: recorded, allowed, queued, require_approval, require_input, denied or '
'invalid.';

COMMENT ON COLUMN concord.agent_step_log.reason IS
'Why, in words.';

COMMENT ON COLUMN concord.agent_step_log.created_command_id IS
'The command the step created, if any (it must be one the agent asked for).';

COMMENT ON COLUMN concord.agent_step_log.created_command_status IS
'Where the command the step created is now (command_statuses); NULL when the step created none.';

COMMENT ON COLUMN concord.agent_step_log.created_approval_id IS
'The approval the step opened, if any.';

COMMENT ON COLUMN concord.agent_step_log.created_artifact_id IS
'The artifact the step created, if any.';

COMMENT ON COLUMN concord.agent_step_log.created_memory_id IS
'The memory the step created, if any.';

COMMENT ON COLUMN concord.agent_step_log.child_agent_run_id IS
'The child the step spawned, if any.';

COMMENT ON COLUMN concord.agent_step_log.latency_ms IS
'How long the step took.';

COMMENT ON COLUMN concord.agent_step_log.cost_units IS
'What the step cost.';

COMMENT ON COLUMN concord.agent_step_log.created_at IS
'When the step was recorded.';

COMMENT ON COLUMN concord.agent_step_log.agent_step_id IS
'The step''s id.';

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

COMMENT ON COLUMN concord.swarm_artifacts.swarm_run_id IS
'The swarm the artifact belongs to.';

COMMENT ON COLUMN concord.swarm_artifacts.swarm_name IS
'The swarm''s name, unique per command.';

COMMENT ON COLUMN concord.swarm_artifacts.artifact_id IS
'The artifact''s id.';

COMMENT ON COLUMN concord.swarm_artifacts.agent_run_id IS
'The agent that made it, if any.';

COMMENT ON COLUMN concord.swarm_artifacts.agent_name IS
'The name of the agent that made it (NULL when no agent did).';

COMMENT ON COLUMN concord.swarm_artifacts.agent_role IS
'The role of the agent that made it (one of the swarm''s templates).';

COMMENT ON COLUMN concord.swarm_artifacts.artifact_type IS
'What kind of artifact (report, dataset, evaluation, ...).';

COMMENT ON COLUMN concord.swarm_artifacts.name IS
'Its name; versions share it.';

COMMENT ON COLUMN concord.swarm_artifacts.version IS
'1 for the first artifact of a name, one more for each next one.';

COMMENT ON COLUMN concord.swarm_artifacts.status IS
'draft, final, published, superseded or cancelled.';

COMMENT ON COLUMN concord.swarm_artifacts.location IS
'Where its content lives, when not inline.';

COMMENT ON COLUMN concord.swarm_artifacts.score IS
'A score its evaluations gave it.';

COMMENT ON COLUMN concord.swarm_artifacts.created_by IS
'Who made it.';

COMMENT ON COLUMN concord.swarm_artifacts.created_at IS
'When it was made.';

COMMENT ON COLUMN concord.swarm_artifacts.has_content IS
'True when its content is kept inline (false when only its location says where it lives).';

COMMENT ON COLUMN concord.swarm_artifacts.parent_artifact_ids IS
'The artifacts it was made from (artifact_lineage), in the order they were linked; empty when '
'none.';

COMMENT ON COLUMN concord.swarm_artifacts.evaluations IS
'How many evaluation artifacts were made from it.';
