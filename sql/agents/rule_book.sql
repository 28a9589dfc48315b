-- The rules of the agents domain: each rule its code raises (CONSTRAINT = ...)
-- with its table, SQLSTATE and one sentence of meaning. concord.rules lists
-- them (sql/support/rules.sql). The swarm joins book theirs in
-- _rule_book_joins (sql/agents/rule_book_joins.sql).
CREATE OR REPLACE FUNCTION concord._rule_book_agents()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        -- swarm_runs (spec 57, 58, 64, 71)
        ('the_command_exists', 'swarm_runs', 'CN006',
         'A swarm run belongs to a command that exists.'),
        ('a_swarm_runs_only_under_a_governed_unfinished_command', 'swarm_runs', 'CN011',
         'A swarm starts and runs only under a command that policy let through and that has not '
         'finished nor been asked to cancel (validated, approved, queued or running).'),
        ('a_new_swarm_run_starts_created', 'swarm_runs', 'CN001',
         'A new swarm run starts in status created.'),
        ('a_swarm_coordinator_is_set_once_to_its_root_agent', 'swarm_runs', 'CN007',
         'A swarm''s coordinator is set once, after the swarm is created, to the swarm''s own '
         'root agent run.'),
        ('swarm_run_identity_and_limits_are_immutable', 'swarm_runs', 'CN007',
         'A swarm''s identity, objective, join strategy, limits and agent templates are bound when '
         'it starts and never change.'),
        ('swarm_runs_follow_their_state_machine', 'swarm_runs', 'CN001',
         'A swarm run changes status only along an edge of concord.swarm_transitions.'),
        ('a_finished_swarm_run_never_changes', 'swarm_runs', 'CN007',
         'A swarm run in a terminal status keeps its outcome: result, error, join decision and '
         'cancellation.'),
        ('swarm_counters_are_derived_from_its_agents', 'swarm_runs', 'CN007',
         'A swarm''s live_agents, total_steps and cost_units are counted from its agent runs, '
         'never written.'),
        ('live_agents_stay_within_max_agents', 'swarm_runs', 'CN010',
         'A swarm never has more live agent runs than its max_agents.'),
        ('swarm_steps_stay_within_max_total_steps', 'swarm_runs', 'CN010',
         'The agents of a swarm record at most max_total_steps steps between them.'),
        ('swarm_cost_stays_within_max_cost_units', 'swarm_runs', 'CN010',
         'The steps of a swarm cost at most its max_cost_units, when it has one.'),
        ('swarm_runs_are_not_deleted', 'swarm_runs', 'CN007',
         'Swarm runs are durable history: no row is deleted.'),
        ('swarm_runs_are_not_truncated', 'swarm_runs', 'CN007',
         'Swarm runs are durable history: the table is never truncated.'),
        -- agent_runs (spec 58, 59, 61, 71)
        ('agent_tools_are_registered', 'agent_runs', 'CN009',
         'Every tool an agent is given is registered in concord.tools.'),
        ('a_new_agent_run_starts_created', 'agent_runs', 'CN001',
         'A new agent run starts in status created.'),
        ('an_agent_run_memory_scope_has_the_spec_61_shape', 'agent_runs', 'CN004',
         'An agent run''s memory scope is {} or exactly {subject_type, subject_id, '
         'allowed_memory_types, allow_semantic_retrieval, max_results} with those types (spec 61.2), '
         'checked before it is compared with its parent''s.'),
        ('the_swarm_run_exists', 'agent_runs', 'CN006',
         'An agent run belongs to a swarm run that exists.'),
        ('a_finished_swarm_takes_no_new_agents', 'agent_runs', 'CN011',
         'A swarm in a terminal status takes no new agent run.'),
        ('a_root_agent_run_is_at_depth_zero', 'agent_runs', 'CN004',
         'An agent run without a parent is its swarm''s root, at spawn depth 0.'),
        ('the_parent_agent_run_exists', 'agent_runs', 'CN006',
         'The parent an agent run names exists.'),
        ('a_child_is_in_its_parent_swarm', 'agent_runs', 'CN004',
         'A child agent run belongs to its parent''s swarm.'),
        ('a_finished_agent_spawns_nothing', 'agent_runs', 'CN011',
         'An agent run in a terminal status has no new child.'),
        ('a_child_is_one_level_below_its_parent', 'agent_runs', 'CN004',
         'A child''s spawn depth is its parent''s depth plus one.'),
        ('spawn_depth_stays_within_max_depth', 'agent_runs', 'CN010',
         'No agent run is deeper than its swarm''s max_depth (spec 71.3).'),
        ('a_child_role_is_one_its_parent_may_spawn', 'agent_runs', 'CN004',
         'A child''s role is one of its parent''s allowed_child_roles, when the parent lists any.'),
        ('a_child_tools_are_within_its_parent_tools', 'agent_runs', 'CN004',
         'A child''s allowed_tools are a subset of its parent''s (spec 61.1: subset, not union).'),
        ('a_child_connectors_are_within_its_parent_connectors', 'agent_runs', 'CN004',
         'A child''s allowed_connectors are a subset of its parent''s.'),
        ('a_child_spawns_only_roles_its_parent_may_spawn', 'agent_runs', 'CN004',
         'A child''s allowed_child_roles are a subset of its parent''s, when the parent lists any.'),
        ('a_child_memory_scope_is_within_its_parent_scope', 'agent_runs', 'CN004',
         'A child''s memory scope is within its parent''s: the same subject, a subset of its memory '
         'types, semantic retrieval only if the parent has it, and no more results.'),
        ('a_child_role_is_a_swarm_template_role', 'agent_runs', 'CN004',
         'In a swarm with agent templates, a child''s role is the role of one of them.'),
        ('agent_run_identity_and_scopes_are_immutable', 'agent_runs', 'CN007',
         'An agent run''s identity, goal, scopes and limits are bound at spawn and never change '
         '(spec 61.2).'),
        ('agent_runs_follow_their_state_machine', 'agent_runs', 'CN001',
         'An agent run changes status only along an edge of concord.agent_transitions.'),
        ('an_agent_run_succeeds_only_after_its_children_finish', 'agent_runs', 'CN011',
         'An agent run does not succeed while one of its children is still live.'),
        ('a_finished_agent_run_never_changes', 'agent_runs', 'CN007',
         'An agent run in a terminal status keeps its result, error, counters and workflow.'),
        ('agent_steps_stay_within_max_steps', 'agent_runs', 'CN010',
         'An agent run records at most max_steps steps.'),
        ('agent_counters_are_derived_from_its_steps', 'agent_runs', 'CN007',
         'An agent run''s step_count and cost_units are counted from its steps, never written.'),
        ('an_agent_run_keeps_its_workflow', 'agent_runs', 'CN007',
         'The DBOS workflow that runs an agent is bound when the agent run is created.'),
        ('agent_runs_are_not_deleted', 'agent_runs', 'CN007',
         'Agent runs are durable history: no row is deleted.'),
        ('agent_runs_are_not_truncated', 'agent_runs', 'CN007',
         'Agent runs are durable history: the table is never truncated.'),
        -- agent_invocations (spec 59)
        ('an_invocation_names_a_child_of_its_parent', 'agent_invocations', 'CN004',
         'An invocation names a child agent run of its parent, in the parent''s swarm.'),
        ('an_invocation_changes_only_its_status', 'agent_invocations', 'CN007',
         'An invocation''s parties, goal and scopes never change; only its status does.'),
        ('an_invocation_status_follows_its_child', 'agent_invocations', 'CN007',
         'An invocation''s status is its child agent run''s, never a writer''s.'),
        ('agent_invocations_are_not_deleted', 'agent_invocations', 'CN007',
         'Agent invocations are durable history: no row is deleted.'),
        ('agent_invocations_are_not_truncated', 'agent_invocations', 'CN007',
         'Agent invocations are durable history: the table is never truncated.'),
        -- agent_steps (spec 57.4, 60)
        ('the_agent_run_exists', 'agent_steps', 'CN006',
         'A step belongs to an agent run that exists.'),
        ('a_finished_agent_run_acts_no_more', 'agent_steps', 'CN011',
         'An agent run in a terminal status records no more steps.'),
        ('a_step_refers_to_memories_by_id_and_digest', 'agent_steps', 'CN004',
         'A step (append-only, copied into its audit row) holds no memory content: a write_memory '
         'payload and the memories a retrieve_memory returned are recorded by memory_id and '
         'content_sha256, so forgetting a memory (which clears its row) forgets it everywhere. A raw '
         'agent_step_recorded audit row holding content is refused too.'),
        ('agent_steps_stay_within_max_steps', 'agent_steps', 'CN010',
         'An agent run records at most max_steps steps.'),
        ('a_step_uses_only_tools_in_its_agent_scope', 'agent_steps', 'CN004',
         'A step that says a tool was used names a tool in its agent''s allowed_tools.'),
        ('a_step_names_only_commands_its_agent_requested', 'agent_steps', 'CN004',
         'A step names only a command its own agent run requested.'),
        ('agent_steps_are_append_only', 'agent_steps', 'CN007',
         'Steps are append-only: a step is never updated; record a new one.'),
        ('agent_steps_are_not_deleted', 'agent_steps', 'CN007',
         'Steps are durable history: no row is deleted.'),
        ('agent_steps_are_not_truncated', 'agent_steps', 'CN007',
         'Steps are durable history: the table is never truncated.'),
        -- agent_messages (spec 57.5)
        ('agent_messages_are_append_only', 'agent_messages', 'CN007',
         'Messages are append-only: a message is never updated; record a new one.'),
        ('agent_messages_are_not_deleted', 'agent_messages', 'CN007',
         'Messages are durable history: no row is deleted.'),
        ('agent_messages_are_not_truncated', 'agent_messages', 'CN007',
         'Messages are durable history: the table is never truncated.'),
        -- tools (spec 20)
        ('tools_are_not_deleted', 'tools', 'CN007',
         'A tool is never deleted: agent runs and steps refer to tools by name.'),
        ('tools_are_not_truncated', 'tools', 'CN007',
         'The tool catalog is never truncated: agent runs refer to its tools.'),
        ('gateway_tools_come_with_concord', 'tools', 'CN007',
         'The gateway''s own tools come with Concord: none is added, and none changes.'),
        -- the state machines (spec 58): data that only migrations change
        ('state_machine_is_read_only', 'swarm_statuses', 'CN007',
         'The swarm statuses change only through a migration.'),
        ('state_machine_is_not_truncated', 'swarm_statuses', 'CN007',
         'The swarm statuses are never truncated.'),
        ('state_machine_is_read_only', 'swarm_transitions', 'CN007',
         'The swarm state machine''s edges change only through a migration.'),
        ('state_machine_is_not_truncated', 'swarm_transitions', 'CN007',
         'The swarm state machine''s edges are never truncated.'),
        ('state_machine_is_read_only', 'agent_statuses', 'CN007',
         'The agent statuses change only through a migration.'),
        ('state_machine_is_not_truncated', 'agent_statuses', 'CN007',
         'The agent statuses are never truncated.'),
        ('state_machine_is_read_only', 'agent_transitions', 'CN007',
         'The agent state machine''s edges change only through a migration.'),
        ('state_machine_is_not_truncated', 'agent_transitions', 'CN007',
         'The agent state machine''s edges are never truncated.'),
        -- the gateway's API arguments (spec 17, 59, 60, 64, 67)
        ('the_agent_run_exists', null, 'CN006',
         'An agent run named by its id exists.'),
        ('the_swarm_run_exists', null, 'CN006',
         'A swarm run named by its id exists.'),
        ('a_finished_agent_run_acts_no_more', null, 'CN011',
         'An agent run in a terminal status takes no more actions, steps, messages, memories or '
         'artifacts.'),
        ('an_agent_of_a_finished_swarm_acts_no_more', null, 'CN011',
         'An agent run whose swarm has finished takes no more actions.'),
        ('an_idempotency_key_names_one_agent_action', null, 'CN002',
         'An agent''s idempotency key names one action: the same key with another action is '
         'refused.'),
        ('agent_action_is_valid', null, 'CN005',
         'An agent action is a JSON object of the spec 17 shape, about the acting agent run.'),
        ('an_action_names_its_own_swarm_run', null, 'CN008',
         'An agent action that names a swarm run names its agent''s own.'),
        ('gateway_tool_input_is_a_json_object', null, 'CN005',
         'The input of a gateway tool (create_artifact, write_memory, ...) is a JSON object.'),
        ('agent_step_is_valid', null, 'CN005',
         'A recorded step is a JSON object of known keys, not an action that goes through the '
         'gateway.'),
        ('agent_message_is_valid', null, 'CN005',
         'A recorded message is a JSON object with a known role and type and string content.'),
        ('spawn_request_is_valid', null, 'CN005',
         'A spawn request is a JSON object of the spec 59.1 shape, complete once its template is '
         'applied.'),
        ('a_spawn_names_its_parent_agent_run', null, 'CN008',
         'A spawn request names its parent by an agent run id.'),
        ('swarm_spec_is_valid', null, 'CN005',
         'A swarm spec is a JSON object of the spec 67 shape: name, objective, coordinator, '
         'limits in range, known join strategy.'),
        ('a_swarm_is_started_once_per_command_and_name', null, 'CN002',
         'A command starts one swarm of a name: starting it again needs the same spec.'),
        ('tool_spec_is_valid', null, 'CN005',
         'A tool spec is a JSON object of the spec 20 shape, for a command type of the user''s '
         'own (not the gateway''s).'),
        ('an_agent_run_is_begun_by_its_own_workflow', null, 'CN011',
         'A runtime begins only the agent run whose workflow it is.'),
        ('an_agent_run_finishes_succeeded_or_failed', null, 'CN008',
         'finish_agent_run takes succeeded or failed; a cancellation goes through cancel_agent_run '
         'or cancel_swarm.'),
        ('an_agent_run_finishes_once', null, 'CN011',
         'A finished agent run is not finished again otherwise (the same finish is a no-op).'),
        ('an_agent_run_result_is_a_json_object', null, 'CN008',
         'The result an agent run finishes with is a JSON object.'),
        ('an_agent_run_succeeds_only_after_its_children_finish', null, 'CN011',
         'finish_agent_run does not succeed while a child of the run is still live.'),
        ('an_agent_sees_only_the_commands_it_asked_for', null, 'CN006',
         'An agent observes only the commands its own steps asked for.'),
        ('the_command_is_one_of_the_gateway_types', null, 'CN008',
         'runtime_agentic_command runs only the gateway''s own command types (spawn_subagent, '
         'concord.write_memory, concord.swarm_review).'),
        -- who is speaking (issue 12)
        ('an_agent_acts_with_its_run_secret', 'agent_run_secrets', 'CN012',
         'Every gateway function naming an agent run acts only in a transaction authenticated with '
         'that run''s secret (a superuser session, and a worker session for a run begun before '
         'secrets existed, excepted): the run id alone is no capability.'),
        ('an_agent_run_is_begun_by_whoever_drives_it', 'agent_runs', 'CN012',
         'begin_agent_run, which hands out the run''s secret, is called for a run with a runtime by '
         'its own workflow from a worker session, for one without by a member of its project; an '
         'agent begins no other run.'),
        ('an_agent_acts_within_its_own_swarm', 'swarm_runs', 'CN012',
         'An agent joins, cancels and sets the status of artifacts only within its own swarm, and '
         'starts no swarm.')
$$;
