-- Roles (spec: DESIGN "Shape of the SQL"). Tables are written only through
-- the SECURITY DEFINER API. Re-applied on every install, so new functions
-- start closed and are opened here by name.
--   concord_app       the kernel and governance API a service calls (submit,
--                     cancel, provide input, read); it drives no run: no
--                     transition_command, no effect function; the views
--   concord_reader    the operator views only
--   concord_approver  decides approvals and reads what it has to decide
--   concord_admin     everything concord_app may, plus the catalogs: command
--                     types, policies, approval types, grants and teams, the
--                     runtime's connectors, queues and schedules, and an
--                     operator's transition_command; not the functions that
--                     drive a run
--   concord_worker    what a DBOS worker calls: the runtime_* step functions,
--                     effects, notifications, scheduled submissions; it reads
--                     the runtime configuration tables (which hold no secrets);
--                     and the agent gateway, for the agents it runs
--   concord_agent     the agent gateway only (spec 17): its own run's state,
--                     the commands it asked for, tool calls, spawns, steps,
--                     messages, artifacts and memory within its scopes

REVOKE ALL ON ALL TABLES IN SCHEMA concord
FROM
PUBLIC, concord_app, concord_reader, concord_approver, concord_admin, concord_worker,
concord_agent;

REVOKE ALL ON ALL SEQUENCES IN SCHEMA concord
FROM
PUBLIC, concord_app, concord_reader, concord_approver, concord_admin, concord_worker,
concord_agent;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA concord
FROM
PUBLIC, concord_app, concord_reader, concord_approver, concord_admin, concord_worker,
concord_agent;

REVOKE ALL ON SCHEMA concord FROM PUBLIC;

GRANT USAGE ON SCHEMA concord
TO concord_app, concord_reader, concord_approver, concord_admin, concord_worker, concord_agent;

GRANT EXECUTE ON FUNCTION
concord.submit_command(text, jsonb, text, text, jsonb, text, text),
concord.submit_commands(jsonb, boolean, text),
concord.cancel_command(uuid, text, text, text),
concord.add_dependency(uuid, uuid, text, boolean),
concord.dependencies_satisfied(uuid),
concord.get_command(uuid),
concord.command_timeline(uuid),
concord.can_transition(text, text),
concord.map_task_to_primitives(text),
concord.evaluate_policies(uuid),
concord.provide_input(uuid, jsonb, text),
concord.expire_approvals(timestamptz),
concord.plan_command(uuid),
concord.choose_queue(text),
concord.command_outcome(uuid),
concord.command_channel(uuid),
concord.await_command(uuid, double precision)
TO concord_app, concord_admin;

-- A procedure: ALL FUNCTIONS above does not cover it (spec 29, submit and wait).
REVOKE ALL ON PROCEDURE concord.call_command(
    text, jsonb, double precision, text, text, jsonb, jsonb
) FROM PUBLIC;

GRANT EXECUTE ON PROCEDURE concord.call_command(
    text, jsonb, double precision, text, text, jsonb, jsonb
) TO concord_app, concord_admin;

-- An operator's moves (retry, take a stuck command off its run, queue a
-- validated one); the moves only a run makes are refused to it by the
-- commands guard (only_the_current_run_drives_a_command).
GRANT EXECUTE ON FUNCTION concord.transition_command(uuid, text, text, text, jsonb, text, text)
TO concord_admin;

-- Retry is the one operator's move a principal's service may make: the
-- function checks that the principal administers the command's project.
GRANT EXECUTE ON FUNCTION concord.retry_command(uuid, text)
TO concord_app, concord_admin;

GRANT EXECUTE ON FUNCTION
concord.register_command_type(jsonb),
concord.register_policy(jsonb),
concord.register_approval_type(jsonb),
concord.grant_command_type(text, text),
concord.revoke_command_type(text, text),
concord.add_team_member(text, text),
concord.remove_team_member(text, text)
TO concord_admin;

GRANT EXECUTE ON FUNCTION
concord.resolve_approval(uuid, text, text, text)
TO concord_approver, concord_admin;

GRANT SELECT ON
concord.commands_by_status,
concord.recent_failures,
concord.effects_in_flight,
concord.command_audit,
concord.command_catalog,
concord.decision_history
TO concord_app, concord_reader, concord_admin;

GRANT SELECT ON
concord.pending_approvals,
concord.decision_history
TO concord_approver, concord_app, concord_admin;

GRANT EXECUTE ON FUNCTION
concord.register_connector(jsonb),
concord.register_queue(jsonb),
concord.register_schedule(jsonb),
concord.hand_off_queued()
TO concord_admin;

GRANT EXECUTE ON FUNCTION
concord.runtime_check(uuid, text),
concord.runtime_reconcile(text),
concord.runtime_effect(uuid),
concord.runtime_compensations(uuid),
concord.record_connector_invocation(jsonb),
concord.register_operations(jsonb, text, text),
concord.submit_scheduled(text, timestamptz),
concord.store_notification(text, text, text, text, uuid, text, jsonb),
concord.get_command(uuid),
concord.expire_approvals(timestamptz)
TO concord_worker, concord_admin;

-- Explaining and listing read only, under row-level security: every role that
-- may see a command may list it and ask why it is where it is.
GRANT EXECUTE ON FUNCTION concord.explain(uuid),
concord.list_commands(text, text, text, text, timestamptz, timestamptz, integer, text),
concord.approval_inbox()
TO concord_app, concord_reader, concord_approver, concord_admin, concord_worker;

-- Driving a run (claim it, begin, finish and fail its effects, record its
-- outcome) is the worker's alone: a workflow id is no secret, so a role that
-- may call these could act as any run.
GRANT EXECUTE ON FUNCTION
concord.runtime_claim(uuid, text, text),
concord.runtime_begin_effect(uuid, text, text, jsonb, text, text, uuid),
concord.runtime_create_artifact(uuid, text, jsonb, text),
concord.runtime_finish(uuid, text, text, jsonb, text, text, text),
concord.runtime_audit(uuid, text, text, jsonb),
concord.runtime_workflow_cancelled(uuid, text, text),
concord.runtime_call_effect(uuid, text),
concord.complete_effect(uuid, jsonb),
concord.fail_effect(uuid, text, text),
concord.runtime_unserved(uuid, text, text),
-- a worker's own row and the adoption of gone workers' workflows (issue 13)
concord.runtime_heartbeat(text, text, text, integer, text[], text[]),
concord.runtime_orphaned_executors(text, interval)
TO concord_worker;

GRANT SELECT ON
concord.live_workers,
concord.queue_depth,
concord.unserved_commands,
concord.unserved_command_types,
concord.stuck_effects
TO concord_app, concord_reader, concord_admin, concord_worker;

GRANT EXECUTE ON FUNCTION
concord.store_notification(text, text, text, text, uuid, text, jsonb)
TO concord_app;

GRANT SELECT ON
concord.runtime_queue_config,
concord.connector_catalog,
concord.schedule_catalog,
concord.operation_catalog,
concord.error_taxonomy
TO concord_worker, concord_admin;

GRANT SELECT ON
concord.connector_activity,
concord.notification_inbox
TO concord_app, concord_reader, concord_admin, concord_worker;

GRANT SELECT ON concord.command_catalog TO concord_worker;

-- The agent gateway (spec 17, 59, 60).
GRANT EXECUTE ON FUNCTION
concord.agent_run_state(uuid),
concord.agent_command(uuid, uuid),
concord.begin_agent_run(uuid, text),
concord.spawn_subagent(jsonb),
concord.submit_agent_action(uuid, jsonb),
concord.record_agent_step(uuid, jsonb),
concord.record_agent_message(uuid, jsonb),
concord.finish_agent_run(uuid, text, jsonb, text),
concord.create_artifact(uuid, jsonb),
concord.read_artifact(uuid, jsonb),
concord.evaluate_output(uuid, jsonb),
concord.write_memory(uuid, jsonb),
concord.retrieve_memory(uuid, jsonb)
TO concord_agent, concord_app, concord_worker, concord_admin;

GRANT EXECUTE ON FUNCTION concord.join_children(text, jsonb, jsonb) TO concord_agent;

-- Swarms and memory for the applications that start and watch them.
GRANT EXECUTE ON FUNCTION
concord.start_swarm(uuid, jsonb),
concord.cancel_swarm(uuid, text, text, text),
concord.cancel_agent_run(uuid, text, text),
concord.join_swarm(uuid),
concord.join_children(text, jsonb, jsonb),
concord.set_artifact_status(uuid, text, text),
concord.remember(jsonb, text),
concord.get_memory(uuid),
concord.search_memory(jsonb, text, integer),
concord.supersede_memory(uuid, uuid, text),
concord.forget_memory(uuid, text),
concord.expire_memories(timestamptz)
TO concord_app, concord_worker, concord_admin;

GRANT EXECUTE ON FUNCTION concord.register_tool(jsonb) TO concord_admin;

GRANT EXECUTE ON FUNCTION concord.runtime_agentic_command(uuid, text) TO concord_worker;

GRANT SELECT ON
concord.tool_catalog,
concord.swarm_tree,
concord.swarm_summaries,
concord.agent_step_log,
concord.swarm_artifacts,
concord.memory_catalog
TO concord_app, concord_reader, concord_admin, concord_worker;

-- The registry's pure decisions (spec 110): how a contract changed, and
-- whether a version number matches it; anyone may ask.
GRANT EXECUTE ON FUNCTION
concord.registry_json_schema_change(jsonb, jsonb, text)
TO concord_app, concord_reader, concord_approver, concord_admin, concord_worker, concord_agent;

GRANT EXECUTE ON FUNCTION
concord.registry_classify_change(text, jsonb, jsonb)
TO concord_app, concord_reader, concord_approver, concord_admin, concord_worker, concord_agent;

-- The registry's pure checks: every role may ask whether a manifest or a
-- version constraint is well formed.
GRANT EXECUTE ON FUNCTION
concord.registry_manifest_problems(text, jsonb),
concord.registry_manifest_relationships(text, jsonb),
concord.registry_version_range(text),
concord.registry_version_satisfies(text, text)
TO concord_app, concord_reader, concord_approver, concord_admin, concord_worker, concord_agent;
