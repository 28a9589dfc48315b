-- 0005 schema comments: every table, column and CHECK constraint explains
-- itself, so \d+ in psql and the generated reference (docs/reference/) say
-- what each holds and what each rule means. Comments only: no data or
-- structure changes.
--
-- Forward-only: once released this file is never edited; change = new file.

-- command_statuses
COMMENT ON TABLE concord.command_statuses IS
'The statuses a command can be in (spec 12, 30): data that only migrations change.';

COMMENT ON COLUMN concord.command_statuses.status IS
'The status name, a lowercase word.';

COMMENT ON COLUMN concord.command_statuses.terminal IS
'True when no transition leaves this status, ever.';

COMMENT ON COLUMN concord.command_statuses.completes IS
'True when entering this status stamps commands.completed_at.';

COMMENT ON COLUMN concord.command_statuses.description IS
'What a command in this status is waiting for or has reached.';

COMMENT ON CONSTRAINT status_is_a_lowercase_word ON concord.command_statuses IS
'A command status is a lowercase word.';

-- command_transitions
COMMENT ON TABLE concord.command_transitions IS
'Every legal move between two command statuses (spec 12, 30); a move not listed here is '
'refused, whoever writes.';

COMMENT ON COLUMN concord.command_transitions.from_status IS
'The status the command leaves.';

COMMENT ON COLUMN concord.command_transitions.to_status IS
'The status the command enters.';

COMMENT ON COLUMN concord.command_transitions.reopens IS
'True for a retry edge (failed -> queued): dependents do not wait for a failed parent to be '
'retried.';

COMMENT ON CONSTRAINT a_transition_changes_the_status ON concord.command_transitions IS
'A command transition leads to another status.';

-- command_types
COMMENT ON TABLE concord.command_types IS
'The task catalog (spec 13.2): what each kind of command accepts, how it runs and which '
'policies govern it. Versioned on every change.';

COMMENT ON COLUMN concord.command_types.command_type IS
'The type''s identifier, named by every command of this type.';

COMMENT ON COLUMN concord.command_types.name IS
'A short human name for the type.';

COMMENT ON COLUMN concord.command_types.description IS
'What a command of this type asks for.';

COMMENT ON COLUMN concord.command_types.function_name IS
'The operation that executes the type, when it is not the type name itself.';

COMMENT ON COLUMN concord.command_types.ingress_types IS
'Where commands of this type may come from (api, webhook, schedule, agent, ...); empty means '
'anywhere.';

COMMENT ON COLUMN concord.command_types.required_inputs IS
'Payload fields a submission must carry.';

COMMENT ON COLUMN concord.command_types.payload_schema IS
'The JSON Schema every payload is validated against.';

COMMENT ON COLUMN concord.command_types.sync_allowed IS
'True when a command may be handled in the request (it stops at validated).';

COMMENT ON COLUMN concord.command_types.async_required IS
'True when a command must run on a worker (it is queued).';

COMMENT ON COLUMN concord.command_types.approval_required IS
'True when every command of the type needs an approval before it runs.';

COMMENT ON COLUMN concord.command_types.memory_write_possible IS
'True when running the type may write memories.';

COMMENT ON COLUMN concord.command_types.artifact_output_possible IS
'True when running the type may produce artifacts.';

COMMENT ON COLUMN concord.command_types.notification_required IS
'True when the type''s outcome must be notified.';

COMMENT ON COLUMN concord.command_types.policy_checks IS
'The policies evaluated for every command of this type, by name.';

COMMENT ON COLUMN concord.command_types.connector_requirements IS
'The connectors the type needs; an agent tool of this type needs them in its scope.';

COMMENT ON COLUMN concord.command_types.risk_level IS
'low, medium, high or critical: what a mistake would cost.';

COMMENT ON COLUMN concord.command_types.max_attempts IS
'How many times a run may be attempted (1 to 100).';

COMMENT ON COLUMN concord.command_types.default_cancellation_mode IS
'graceful or compensate_then_stop, unless a command says otherwise.';

COMMENT ON COLUMN concord.command_types.metadata IS
'Free-form facts about the type (a JSON object).';

COMMENT ON COLUMN concord.command_types.version IS
'1 at registration, one more per change.';

COMMENT ON COLUMN concord.command_types.created_at IS
'When the type was first registered.';

COMMENT ON COLUMN concord.command_types.updated_at IS
'When the type last changed.';

COMMENT ON COLUMN concord.command_types.approval_type IS
'The approval type asked for when approval_required is true.';

COMMENT ON COLUMN concord.command_types.cost_budget IS
'The cost a command of this type may have before over_budget applies; NULL for no budget.';

COMMENT ON COLUMN concord.command_types.over_budget IS
'What a command over cost_budget gets: require_approval or deny.';

COMMENT ON CONSTRAINT command_type_is_an_identifier ON concord.command_types IS
'A command type is a lowercase identifier of at most 128 characters.';

COMMENT ON CONSTRAINT cost_budget_is_not_negative ON concord.command_types IS
'A cost budget is never negative.';

COMMENT ON CONSTRAINT default_cancellation_mode_is_known ON concord.command_types IS
'A type cancels gracefully or compensates then stops.';

COMMENT ON CONSTRAINT lists_hold_no_nulls ON concord.command_types IS
'The type''s lists (ingress types, required inputs, policies, connectors) hold no NULL.';

COMMENT ON CONSTRAINT max_attempts_is_between_1_and_100 ON concord.command_types IS
'A command may be attempted between 1 and 100 times.';

COMMENT ON CONSTRAINT metadata_is_an_object ON concord.command_types IS
'A type''s metadata is a JSON object.';

COMMENT ON CONSTRAINT name_is_not_blank ON concord.command_types IS
'Every command type has a name.';

COMMENT ON CONSTRAINT over_budget_is_known ON concord.command_types IS
'A command over its budget requires approval or is denied.';

COMMENT ON CONSTRAINT payload_schema_is_an_object_or_boolean ON concord.command_types IS
'A payload schema is a JSON Schema (an object or a boolean).';

COMMENT ON CONSTRAINT risk_level_is_known ON concord.command_types IS
'A risk level is low, medium, high or critical.';

-- commands
COMMENT ON TABLE concord.commands IS
'Every request made to Concord (spec 9, 88.3): one durable row per command, from submission to '
'its end, moved only along command_transitions.';

COMMENT ON COLUMN concord.commands.command_id IS
'The command''s id; its first DBOS workflow id is derived from it.';

COMMENT ON COLUMN concord.commands.command_type IS
'The command type it belongs to (command_types).';

COMMENT ON COLUMN concord.commands.requested_by IS
'Who asked for the command.';

COMMENT ON COLUMN concord.commands.ingress IS
'Where the request came from (api, webhook, schedule, agent, ...).';

COMMENT ON COLUMN concord.commands.payload IS
'What the command asks for, validated against its type''s payload_schema.';

COMMENT ON COLUMN concord.commands.context IS
'Facts about the request that are not its payload (a JSON object).';

COMMENT ON COLUMN concord.commands.status IS
'Where the command is now (command_statuses).';

COMMENT ON COLUMN concord.commands.cancellation_mode IS
'How a cancellation stops it: graceful or compensate_then_stop.';

COMMENT ON COLUMN concord.commands.idempotency_key IS
'The caller''s key: a second submission under it returns this command instead of a new one.';

COMMENT ON COLUMN concord.commands.dbos_workflow_id IS
'The DBOS workflow running the command''s current run, once handed off.';

COMMENT ON COLUMN concord.commands.trace_id IS
'The trace id shared by every event of the command.';

COMMENT ON COLUMN concord.commands.result IS
'What the command produced, once it succeeded.';

COMMENT ON COLUMN concord.commands.error IS
'Why the command failed, in words.';

COMMENT ON COLUMN concord.commands.error_class IS
'The class of the failure (error_classes): decides whether it may be retried.';

COMMENT ON COLUMN concord.commands.error_detail IS
'Structured detail of the failure (every validation problem, for example).';

COMMENT ON COLUMN concord.commands.cancellation_requested_at IS
'When someone asked to cancel the command.';

COMMENT ON COLUMN concord.commands.cancellation_requested_by IS
'Who asked to cancel the command.';

COMMENT ON COLUMN concord.commands.created_at IS
'When the command was recorded.';

COMMENT ON COLUMN concord.commands.updated_at IS
'When the command last changed.';

COMMENT ON COLUMN concord.commands.completed_at IS
'When the command reached a status that completes it.';

COMMENT ON COLUMN concord.commands.policy_evaluation IS
'A summary of the latest evaluation of its policies (decision, policies, approvals asked for).';

COMMENT ON COLUMN concord.commands.plan IS
'The command''s ExecutionPlan (spec 29), once planned.';

COMMENT ON COLUMN concord.commands.run_seq IS
'How many runs were started for it (retries and releases start new runs).';

COMMENT ON COLUMN concord.commands.queue_name IS
'The DBOS queue its runs go to.';

COMMENT ON CONSTRAINT cancellation_mode_is_known ON concord.commands IS
'A command cancels gracefully or compensates then stops.';

COMMENT ON CONSTRAINT cancellation_request_names_who_and_when ON concord.commands IS
'A cancellation request records who asked and when, or neither.';

COMMENT ON CONSTRAINT context_is_an_object ON concord.commands IS
'A command''s context is a JSON object.';

COMMENT ON CONSTRAINT idempotency_key_is_not_blank ON concord.commands IS
'An idempotency key, when given, is not empty.';

COMMENT ON CONSTRAINT ingress_is_not_blank ON concord.commands IS
'Every command says where it came from.';

COMMENT ON CONSTRAINT requested_by_is_not_blank ON concord.commands IS
'Every command names who asked for it.';

COMMENT ON CONSTRAINT run_seq_is_not_negative ON concord.commands IS
'The count of a command''s runs is never negative.';

COMMENT ON CONSTRAINT trace_id_is_not_blank ON concord.commands IS
'A trace id is never empty.';

COMMENT ON CONSTRAINT updated_at_is_not_before_created_at ON concord.commands IS
'A command is never updated before it was created.';

-- command_dependencies
COMMENT ON TABLE concord.command_dependencies IS
'Fan-in dependencies (spec 13.4): a child command waits until each parent reaches the required '
'status. Edges are never changed or removed.';

COMMENT ON COLUMN concord.command_dependencies.child_command_id IS
'The command that waits.';

COMMENT ON COLUMN concord.command_dependencies.parent_command_id IS
'The command it waits for.';

COMMENT ON COLUMN concord.command_dependencies.required_status IS
'The status the parent must reach (usually succeeded).';

COMMENT ON COLUMN concord.command_dependencies.propagate_cancellation IS
'True when a cancelled parent cancels the child; otherwise an unreachable requirement fails it.';

COMMENT ON COLUMN concord.command_dependencies.created_at IS
'When the edge was added.';

COMMENT ON CONSTRAINT a_command_cannot_depend_on_itself ON concord.command_dependencies IS
'No command waits for itself.';

-- dependency_graph_lock
COMMENT ON TABLE concord.dependency_graph_lock IS
'One row that every new dependency edge updates, so two transactions cannot add the two halves '
'of a cycle.';

COMMENT ON COLUMN concord.dependency_graph_lock.singleton IS
'Always true: the table has exactly one row.';

COMMENT ON COLUMN concord.dependency_graph_lock.edges_added IS
'How many dependency edges were ever added.';

COMMENT ON CONSTRAINT only_one_row ON concord.dependency_graph_lock IS
'The dependency graph lock has exactly one row.';

-- effect_statuses
COMMENT ON TABLE concord.effect_statuses IS
'The statuses a domain effect can be in (spec 13.5): data that only migrations change.';

COMMENT ON COLUMN concord.effect_statuses.status IS
'The status name.';

COMMENT ON COLUMN concord.effect_statuses.terminal IS
'True when the effect never changes again.';

COMMENT ON COLUMN concord.effect_statuses.description IS
'What an effect in this status means.';

-- effect_transitions
COMMENT ON TABLE concord.effect_transitions IS
'Every legal move between two effect statuses: planned -> executing -> succeeded | failed.';

COMMENT ON COLUMN concord.effect_transitions.from_status IS
'The status the effect leaves.';

COMMENT ON COLUMN concord.effect_transitions.to_status IS
'The status the effect enters.';

COMMENT ON CONSTRAINT an_effect_transition_changes_the_status ON concord.effect_transitions IS
'An effect transition leads to another status.';

-- domain_effects
COMMENT ON TABLE concord.domain_effects IS
'The side effects a command intends and performs (spec 9, 13.5): each planned once by key, '
'executed by one workflow, and finished once.';

COMMENT ON COLUMN concord.domain_effects.domain_effect_id IS
'The effect''s id.';

COMMENT ON COLUMN concord.domain_effects.command_id IS
'The command the effect belongs to.';

COMMENT ON COLUMN concord.domain_effects.effect_type IS
'What kind of effect it is (email.send, crm.update, ...); its prefix picks the queue.';

COMMENT ON COLUMN concord.domain_effects.effect_payload IS
'What the effect will do.';

COMMENT ON COLUMN concord.domain_effects.idempotency_key IS
'Unique per command: planning the same key again returns this effect.';

COMMENT ON COLUMN concord.domain_effects.status IS
'planned, executing, succeeded or failed (effect_transitions).';

COMMENT ON COLUMN concord.domain_effects.executed_by_dbos_workflow_id IS
'The DBOS workflow that started executing it.';

COMMENT ON COLUMN concord.domain_effects.result IS
'What the effect produced, once it succeeded.';

COMMENT ON COLUMN concord.domain_effects.error IS
'Why the effect failed, in words.';

COMMENT ON COLUMN concord.domain_effects.error_class IS
'The class of the failure (error_classes).';

COMMENT ON COLUMN concord.domain_effects.compensates_effect_id IS
'The effect this one undoes, for a compensation.';

COMMENT ON COLUMN concord.domain_effects.declared_compensation IS
'The operation that would undo this effect, if it has one.';

COMMENT ON COLUMN concord.domain_effects.created_at IS
'When the effect was planned.';

COMMENT ON COLUMN concord.domain_effects.started_at IS
'When it started executing.';

COMMENT ON COLUMN concord.domain_effects.completed_at IS
'When it succeeded or failed.';

COMMENT ON CONSTRAINT an_effect_does_not_compensate_itself ON concord.domain_effects IS
'No effect compensates itself.';

COMMENT ON CONSTRAINT effect_idempotency_key_is_not_blank ON concord.domain_effects IS
'An effect''s idempotency key is not empty.';

COMMENT ON CONSTRAINT effect_type_is_not_blank ON concord.domain_effects IS
'Every effect has a type.';

COMMENT ON CONSTRAINT executing_effects_name_their_workflow ON concord.domain_effects IS
'An effect past planned names the workflow that executed it.';

COMMENT ON CONSTRAINT failed_effects_are_classified ON concord.domain_effects IS
'A failed effect carries an error class.';

-- domain_events
COMMENT ON TABLE concord.domain_events IS
'The append-only log of everything that happened (spec 25): audit rows for every state change, '
'events, and agent steps. Never updated or deleted.';

COMMENT ON COLUMN concord.domain_events.event_id IS
'The event''s id.';

COMMENT ON COLUMN concord.domain_events.event_seq IS
'A total order of all events (timelines sort by it).';

COMMENT ON COLUMN concord.domain_events.command_id IS
'The command the event is about, if any.';

COMMENT ON COLUMN concord.domain_events.agent_run_id IS
'The agent run the event is about, if any.';

COMMENT ON COLUMN concord.domain_events.swarm_run_id IS
'The swarm the event is about, if any.';

COMMENT ON COLUMN concord.domain_events.purpose IS
'audit (a state change), event (something that happened) or agent_step (a step of an agent).';

COMMENT ON COLUMN concord.domain_events.event_type IS
'What happened (status_changed, policies_evaluated, approval_resolved, ...).';

COMMENT ON COLUMN concord.domain_events.target_type IS
'The kind of row the event is about (command, effect, approval, agent_run, ...).';

COMMENT ON COLUMN concord.domain_events.target_id IS
'The id of that row.';

COMMENT ON COLUMN concord.domain_events.from_status IS
'The status before a state change.';

COMMENT ON COLUMN concord.domain_events.to_status IS
'The status after a state change.';

COMMENT ON COLUMN concord.domain_events.reason IS
'Why the change was made, as its actor said.';

COMMENT ON COLUMN concord.domain_events.payload IS
'Structured detail of the event.';

COMMENT ON COLUMN concord.domain_events.actor IS
'Who made the change (the principal, or the login for a direct write).';

COMMENT ON COLUMN concord.domain_events.trace_id IS
'The trace id of the command or run.';

COMMENT ON COLUMN concord.domain_events.step_index IS
'The agent step''s number, for purpose agent_step.';

COMMENT ON COLUMN concord.domain_events.tool_name IS
'The tool an agent step used.';

COMMENT ON COLUMN concord.domain_events.latency_ms IS
'How long the agent step took.';

COMMENT ON COLUMN concord.domain_events.token_usage IS
'The tokens the agent step used (a JSON object).';

COMMENT ON COLUMN concord.domain_events.cost_units IS
'What the agent step cost.';

COMMENT ON COLUMN concord.domain_events.created_at IS
'When the event was recorded.';

COMMENT ON CONSTRAINT actor_is_not_blank ON concord.domain_events IS
'Every event names its actor.';

COMMENT ON CONSTRAINT event_type_is_not_blank ON concord.domain_events IS
'Every event has a type.';

COMMENT ON CONSTRAINT purpose_is_known ON concord.domain_events IS
'An event is an event, an audit row or an agent step.';

-- error_classes
COMMENT ON TABLE concord.error_classes IS
'The error taxonomy (spec 32): every class a failure may carry, and whether it may be retried.';

COMMENT ON COLUMN concord.error_classes.error_class IS
'The class name (transient_connector_error, validation_error, ...).';

COMMENT ON COLUMN concord.error_classes.retryable IS
'True when a failure of this class may be retried.';

COMMENT ON COLUMN concord.error_classes.description IS
'What the class means.';

COMMENT ON CONSTRAINT error_class_is_not_blank ON concord.error_classes IS
'An error class has a name.';

-- schema_migrations
COMMENT ON TABLE concord.schema_migrations IS
'The migrations applied to this database by concord migrate, with the checksum of each file.';

COMMENT ON COLUMN concord.schema_migrations.version IS
'The migration''s number (NNNN of its file name).';

COMMENT ON COLUMN concord.schema_migrations.name IS
'The migration''s short name.';

COMMENT ON COLUMN concord.schema_migrations.checksum IS
'The SHA-256 of the file as applied: a changed released file is refused.';

COMMENT ON COLUMN concord.schema_migrations.applied_at IS
'When it was applied.';

COMMENT ON COLUMN concord.schema_migrations.applied_by IS
'The login that applied it.';

-- team_members
COMMENT ON TABLE concord.team_members IS
'Who belongs to which team (spec 4.3): teams may be granted command types and named as '
'approvers. Rows are added or removed, never rewritten.';

COMMENT ON COLUMN concord.team_members.team IS
'The team''s name.';

COMMENT ON COLUMN concord.team_members.principal IS
'The member (a principal, never the team itself).';

COMMENT ON COLUMN concord.team_members.added_by IS
'Who added the member.';

COMMENT ON COLUMN concord.team_members.added_at IS
'When the member was added.';

COMMENT ON CONSTRAINT a_team_is_not_its_own_member ON concord.team_members IS
'No team is a member of itself.';

COMMENT ON CONSTRAINT principal_is_a_name ON concord.team_members IS
'A member is a non-blank name of at most 256 characters.';

COMMENT ON CONSTRAINT team_is_a_name ON concord.team_members IS
'A team is a non-blank name of at most 256 characters.';

-- command_type_grants
COMMENT ON TABLE concord.command_type_grants IS
'Who may submit which command type (spec 7.3): a principal or a team. Rows are added or '
'removed, never rewritten.';

COMMENT ON COLUMN concord.command_type_grants.command_type IS
'The command type granted.';

COMMENT ON COLUMN concord.command_type_grants.principal IS
'The principal or team it is granted to.';

COMMENT ON COLUMN concord.command_type_grants.granted_by IS
'Who granted it.';

COMMENT ON COLUMN concord.command_type_grants.granted_at IS
'When it was granted.';

COMMENT ON CONSTRAINT principal_is_a_name ON concord.command_type_grants IS
'A grantee is a non-blank name of at most 256 characters.';

-- approval_types
COMMENT ON TABLE concord.approval_types IS
'The approval catalog (spec 107.3): what an approval asks, of whom, for how long, and what each'
' decision does. Versioned on every change.';

COMMENT ON COLUMN concord.approval_types.name IS
'The approval type''s identifier.';

COMMENT ON COLUMN concord.approval_types.version IS
'The version its author gave it.';

COMMENT ON COLUMN concord.approval_types.description IS
'What the approval is for.';

COMMENT ON COLUMN concord.approval_types.risk_level IS
'low, medium, high or critical.';

COMMENT ON COLUMN concord.approval_types.required_fields IS
'Payload fields the review packet must show the approver.';

COMMENT ON COLUMN concord.approval_types.decision_values IS
'The decisions an approver may take (approved and rejected, optionally request_changes).';

COMMENT ON COLUMN concord.approval_types.default_expiry_minutes IS
'How long an approval stays pending before it expires.';

COMMENT ON COLUMN concord.approval_types.approver_principals IS
'The principals who may decide (one of three ways to name approvers).';

COMMENT ON COLUMN concord.approval_types.approver_team IS
'The team whose members may decide.';

COMMENT ON COLUMN concord.approval_types.approver_path IS
'A JSON path into the command payload that names the approvers.';

COMMENT ON COLUMN concord.approval_types.on_approved IS
'What an approval does: continue_workflow.';

COMMENT ON COLUMN concord.approval_types.on_rejected IS
'What a rejection does to the command: fail, fail_or_replan or cancel.';

COMMENT ON COLUMN concord.approval_types.on_request_changes IS
'What a request for changes does: request_input.';

COMMENT ON COLUMN concord.approval_types.ui IS
'Hints for a console showing the approval (a JSON object).';

COMMENT ON COLUMN concord.approval_types.spec IS
'The specification as registered.';

COMMENT ON COLUMN concord.approval_types.revision IS
'1 at registration, one more per change.';

COMMENT ON COLUMN concord.approval_types.created_at IS
'When the type was first registered.';

COMMENT ON COLUMN concord.approval_types.updated_at IS
'When the type last changed.';

COMMENT ON CONSTRAINT approval_type_is_an_identifier ON concord.approval_types IS
'An approval type''s name is a lowercase identifier of at most 128 characters.';

COMMENT ON CONSTRAINT approver_principals_are_not_empty ON concord.approval_types IS
'A list of approvers names at least one principal and no NULL.';

COMMENT ON CONSTRAINT decision_values_are_known ON concord.approval_types IS
'An approver can always approve and reject, and may be allowed to request changes; nothing '
'else.';

COMMENT ON CONSTRAINT default_expiry_is_positive ON concord.approval_types IS
'An approval expires after a positive number of minutes.';

COMMENT ON CONSTRAINT on_approved_is_known ON concord.approval_types IS
'An approval continues the workflow.';

COMMENT ON CONSTRAINT on_rejected_is_known ON concord.approval_types IS
'A rejection fails, fails-or-replans or cancels the command.';

COMMENT ON CONSTRAINT on_request_changes_is_known ON concord.approval_types IS
'A request for changes asks the requester for input.';

COMMENT ON CONSTRAINT one_approver_resolution ON concord.approval_types IS
'Approvers are named exactly one way: principals, a team or a payload path.';

COMMENT ON CONSTRAINT required_fields_hold_no_nulls ON concord.approval_types IS
'The fields an approval must show hold no NULL.';

COMMENT ON CONSTRAINT risk_level_is_known ON concord.approval_types IS
'A risk level is low, medium, high or critical.';

-- policies
COMMENT ON TABLE concord.policies IS
'The policy catalog (spec 21): built-in, declarative (a SQL/JSON path predicate) and executable'
' (a SQL function) policies. Versioned on every change.';

COMMENT ON COLUMN concord.policies.name IS
'The policy''s name, named by command types'' policy_checks.';

COMMENT ON COLUMN concord.policies.kind IS
'builtin, declarative or executable.';

COMMENT ON COLUMN concord.policies.description IS
'What the policy guards.';

COMMENT ON COLUMN concord.policies.predicate IS
'For a declarative policy: the JSON path predicate that triggers its decision.';

COMMENT ON COLUMN concord.policies.vars IS
'Variables the predicate may use (a JSON object).';

COMMENT ON COLUMN concord.policies.decision IS
'For a declarative policy: what it decides when the predicate holds (deny, require_input or '
'require_approval).';

COMMENT ON COLUMN concord.policies.on_unknown IS
'What the policy decides when the predicate cannot be evaluated.';

COMMENT ON COLUMN concord.policies.reasons IS
'The reasons given with the decision.';

COMMENT ON COLUMN concord.policies.approval_type IS
'The approval type a require_approval decision asks for.';

COMMENT ON COLUMN concord.policies.missing_fields IS
'The fields a require_input decision asks for.';

COMMENT ON COLUMN concord.policies.function_name IS
'For an executable policy: the function that decides.';

COMMENT ON COLUMN concord.policies.config IS
'Settings of a built-in policy (a JSON object).';

COMMENT ON COLUMN concord.policies.spec IS
'The specification as registered.';

COMMENT ON COLUMN concord.policies.version IS
'1 at registration, one more per change.';

COMMENT ON COLUMN concord.policies.checksum IS
'A digest of the specification, recorded with every decision the policy makes.';

COMMENT ON COLUMN concord.policies.created_at IS
'When the policy was first registered.';

COMMENT ON COLUMN concord.policies.updated_at IS
'When the policy last changed.';

COMMENT ON CONSTRAINT approval_decisions_name_an_approval_type ON concord.policies IS
'A declarative policy that requires approval names the approval type, and only then.';

COMMENT ON CONSTRAINT config_is_an_object ON concord.policies IS
'A policy''s settings are a JSON object.';

COMMENT ON CONSTRAINT decision_is_not_allow ON concord.policies IS
'A declarative policy''s decision restricts: deny, require_input or require_approval.';

COMMENT ON CONSTRAINT declarative_policies_have_a_predicate ON concord.policies IS
'A declarative policy has a predicate and a decision.';

COMMENT ON CONSTRAINT executable_policies_name_a_function ON concord.policies IS
'An executable policy names its function, and only it does.';

COMMENT ON CONSTRAINT kind_is_known ON concord.policies IS
'A policy is builtin, declarative or executable.';

COMMENT ON CONSTRAINT on_unknown_is_a_decision ON concord.policies IS
'What a policy decides when it cannot tell is a decision.';

COMMENT ON CONSTRAINT policy_name_is_not_blank ON concord.policies IS
'A policy''s name is not blank and at most 128 characters.';

COMMENT ON CONSTRAINT vars_is_an_object ON concord.policies IS
'A policy''s variables are a JSON object.';

-- policy_decisions
COMMENT ON TABLE concord.policy_decisions IS
'Every decision each policy made for each evaluation of a command (spec 21, 81.2). Append-only.';

COMMENT ON COLUMN concord.policy_decisions.decision_id IS
'The decision''s number.';

COMMENT ON COLUMN concord.policy_decisions.evaluation_id IS
'The evaluation the decision belongs to (one per evaluation of a command).';

COMMENT ON COLUMN concord.policy_decisions.command_id IS
'The command evaluated.';

COMMENT ON COLUMN concord.policy_decisions.policy IS
'The policy that decided.';

COMMENT ON COLUMN concord.policy_decisions.policy_version IS
'The policy''s version at the time.';

COMMENT ON COLUMN concord.policy_decisions.policy_checksum IS
'The policy''s checksum at the time.';

COMMENT ON COLUMN concord.policy_decisions.decision IS
'allow, deny, require_input or require_approval.';

COMMENT ON COLUMN concord.policy_decisions.reasons IS
'Why the policy decided so.';

COMMENT ON COLUMN concord.policy_decisions.approval_type IS
'The approval type asked for, for require_approval.';

COMMENT ON COLUMN concord.policy_decisions.missing_fields IS
'The fields asked for, for require_input.';

COMMENT ON COLUMN concord.policy_decisions.inputs_digest IS
'A digest of what the policy saw (payload and context).';

COMMENT ON COLUMN concord.policy_decisions.actor IS
'Who caused the evaluation.';

COMMENT ON COLUMN concord.policy_decisions.decided_at IS
'When the decision was made.';

COMMENT ON CONSTRAINT decision_is_known ON concord.policy_decisions IS
'A policy decides allow, deny, require_input or require_approval.';

-- approvals
COMMENT ON TABLE concord.approvals IS
'Approvals asked for by policy evaluations (spec 22, 86): one per approval type asked, decided '
'once by an eligible principal who is not the requester.';

COMMENT ON COLUMN concord.approvals.approval_id IS
'The approval''s id.';

COMMENT ON COLUMN concord.approvals.command_id IS
'The command waiting for it.';

COMMENT ON COLUMN concord.approvals.evaluation_id IS
'The evaluation that asked for it.';

COMMENT ON COLUMN concord.approvals.approval_type IS
'Its approval type.';

COMMENT ON COLUMN concord.approvals.requested_by IS
'Who requested the command (never its approver).';

COMMENT ON COLUMN concord.approvals.approver IS
'The approver named when there is exactly one.';

COMMENT ON COLUMN concord.approvals.eligible_approvers IS
'The principals who may decide.';

COMMENT ON COLUMN concord.approvals.approver_team IS
'The team whose members may decide.';

COMMENT ON COLUMN concord.approvals.request_payload IS
'What the approval asks about.';

COMMENT ON COLUMN concord.approvals.review_packet IS
'What the approver is shown: the command, the policies'' reasons, the risk.';

COMMENT ON COLUMN concord.approvals.status IS
'pending, approved, rejected, changes_requested, expired or cancelled.';

COMMENT ON COLUMN concord.approvals.decision IS
'The decision taken: approved, rejected or request_changes.';

COMMENT ON COLUMN concord.approvals.decided_by IS
'Who decided.';

COMMENT ON COLUMN concord.approvals.reason IS
'Why, in the decider''s words.';

COMMENT ON COLUMN concord.approvals.expires_at IS
'When a pending approval expires.';

COMMENT ON COLUMN concord.approvals.created_at IS
'When it was asked for.';

COMMENT ON COLUMN concord.approvals.decided_at IS
'When it was decided.';

COMMENT ON CONSTRAINT a_decision_names_who_and_when ON concord.approvals IS
'A decided approval records who decided and when; a pending one records neither.';

COMMENT ON CONSTRAINT approval_status_is_known ON concord.approvals IS
'An approval is pending, approved, rejected, changes_requested, expired or cancelled.';

COMMENT ON CONSTRAINT decided_approvals_carry_their_decision ON concord.approvals IS
'An approved, rejected or changes_requested approval carries its decision; the others carry '
'none.';

COMMENT ON CONSTRAINT decision_is_known ON concord.approvals IS
'A decision is approved, rejected or request_changes.';

COMMENT ON CONSTRAINT nobody_approves_their_own_command ON concord.approvals IS
'The requester of a command never decides its approval.';

COMMENT ON CONSTRAINT someone_can_decide ON concord.approvals IS
'An approval names at least one eligible approver or a team.';

-- runtime_queues
COMMENT ON TABLE concord.runtime_queues IS
'The DBOS queues workers register (spec 10, 83), with their concurrency and rate limits.';

COMMENT ON COLUMN concord.runtime_queues.queue_name IS
'The queue''s name.';

COMMENT ON COLUMN concord.runtime_queues.worker_concurrency IS
'How many workflows one worker runs at once from this queue.';

COMMENT ON COLUMN concord.runtime_queues.global_concurrency IS
'How many run at once across all workers; NULL for no limit.';

COMMENT ON COLUMN concord.runtime_queues.rate_limit IS
'How many workflows may start per rate_period_sec; NULL for no limit.';

COMMENT ON COLUMN concord.runtime_queues.rate_period_sec IS
'The period of rate_limit, in seconds.';

COMMENT ON COLUMN concord.runtime_queues.polling_interval_sec IS
'How often a worker polls the queue, in seconds.';

COMMENT ON COLUMN concord.runtime_queues.description IS
'What the queue is for.';

COMMENT ON COLUMN concord.runtime_queues.updated_at IS
'When the queue was last configured.';

COMMENT ON CONSTRAINT global_concurrency_is_positive ON concord.runtime_queues IS
'A global concurrency limit, when set, is positive.';

COMMENT ON CONSTRAINT polling_interval_is_sane ON concord.runtime_queues IS
'A queue is polled every 1 ms to 60 s.';

COMMENT ON CONSTRAINT queue_name_is_an_identifier ON concord.runtime_queues IS
'A queue''s name is a lowercase identifier of at most 63 characters.';

COMMENT ON CONSTRAINT rate_limit_has_a_period ON concord.runtime_queues IS
'A rate limit and its period are set together or not at all.';

COMMENT ON CONSTRAINT rate_limit_is_positive ON concord.runtime_queues IS
'A rate limit, when set, is positive.';

COMMENT ON CONSTRAINT rate_period_is_positive ON concord.runtime_queues IS
'A rate period, when set, is positive.';

COMMENT ON CONSTRAINT worker_concurrency_is_positive ON concord.runtime_queues IS
'A worker runs at least one workflow of a queue at once.';

-- runtime_operations
COMMENT ON TABLE concord.runtime_operations IS
'The operations workers serve, as they last registered them: which command type runs where and '
'how it is retried.';

COMMENT ON COLUMN concord.runtime_operations.command_type IS
'The command type the operation executes.';

COMMENT ON COLUMN concord.runtime_operations.queue_name IS
'The queue its workflows run on.';

COMMENT ON COLUMN concord.runtime_operations.function_name IS
'The Python function that implements it.';

COMMENT ON COLUMN concord.runtime_operations.produces IS
'The effect types it may produce.';

COMMENT ON COLUMN concord.runtime_operations.requires_compensation IS
'True when a cancelled or failed run must be compensated.';

COMMENT ON COLUMN concord.runtime_operations.compensation IS
'The operation that compensates it.';

COMMENT ON COLUMN concord.runtime_operations.retry_policy IS
'How failed attempts are retried (a JSON object).';

COMMENT ON COLUMN concord.runtime_operations.registered_by IS
'The worker that registered it.';

COMMENT ON COLUMN concord.runtime_operations.application_version IS
'The worker''s application version at registration.';

COMMENT ON COLUMN concord.runtime_operations.registered_at IS
'When it was registered.';

COMMENT ON CONSTRAINT function_name_is_not_blank ON concord.runtime_operations IS
'Every operation names its function.';

COMMENT ON CONSTRAINT retry_policy_is_an_object ON concord.runtime_operations IS
'An operation''s retry policy is a JSON object.';

-- connectors
COMMENT ON TABLE concord.connectors IS
'Connectors configured in the database (spec 18-19): their configurations hold references to '
'secrets, never the secrets.';

COMMENT ON COLUMN concord.connectors.connector_name IS
'The connector''s name.';

COMMENT ON COLUMN concord.connectors.connector_type IS
'Its implementation (http, postgres, notification, ...).';

COMMENT ON COLUMN concord.connectors.capabilities IS
'What it can do (query, send_email, ...).';

COMMENT ON COLUMN concord.connectors.config IS
'Its configuration, with env:// or file:// references for secrets.';

COMMENT ON COLUMN concord.connectors.risk_level IS
'low, medium, high or critical.';

COMMENT ON COLUMN concord.connectors.description IS
'What it connects to.';

COMMENT ON COLUMN concord.connectors.created_at IS
'When it was registered.';

COMMENT ON COLUMN concord.connectors.updated_at IS
'When it last changed.';

COMMENT ON CONSTRAINT config_is_an_object ON concord.connectors IS
'A connector''s configuration is a JSON object.';

COMMENT ON CONSTRAINT connector_name_is_an_identifier ON concord.connectors IS
'A connector''s name is a lowercase identifier of at most 63 characters.';

COMMENT ON CONSTRAINT connector_type_is_an_identifier ON concord.connectors IS
'A connector''s type is a lowercase identifier.';

COMMENT ON CONSTRAINT risk_level_is_known ON concord.connectors IS
'A risk level is low, medium, high or critical.';

-- connector_invocations
COMMENT ON TABLE concord.connector_invocations IS
'Every call a workflow made through a connector (spec 19, 34): what it meant and how it ended, '
'secrets redacted. Append-only.';

COMMENT ON COLUMN concord.connector_invocations.connector_invocation_id IS
'The invocation''s id.';

COMMENT ON COLUMN concord.connector_invocations.command_id IS
'The command whose run made the call.';

COMMENT ON COLUMN concord.connector_invocations.domain_effect_id IS
'The effect the call performed, if any.';

COMMENT ON COLUMN concord.connector_invocations.connector_name IS
'The connector called.';

COMMENT ON COLUMN concord.connector_invocations.capability IS
'The capability used.';

COMMENT ON COLUMN concord.connector_invocations.side_effect IS
'True when the call changes something outside Concord.';

COMMENT ON COLUMN concord.connector_invocations.idempotency_key IS
'The key the call was made under.';

COMMENT ON COLUMN concord.connector_invocations.attempt IS
'Which attempt this was (1 for the first).';

COMMENT ON COLUMN concord.connector_invocations.status IS
'succeeded or failed.';

COMMENT ON COLUMN concord.connector_invocations.input_hash IS
'A digest of the input.';

COMMENT ON COLUMN concord.connector_invocations.request_payload IS
'The input, with secrets redacted.';

COMMENT ON COLUMN concord.connector_invocations.output_summary IS
'A summary of the answer, with secrets redacted.';

COMMENT ON COLUMN concord.connector_invocations.error IS
'Why the call failed, in words.';

COMMENT ON COLUMN concord.connector_invocations.error_class IS
'The class of the failure (error_classes).';

COMMENT ON COLUMN concord.connector_invocations.latency_ms IS
'How long the call took, in milliseconds.';

COMMENT ON COLUMN concord.connector_invocations.dbos_workflow_id IS
'The workflow that made the call.';

COMMENT ON COLUMN concord.connector_invocations.executor_id IS
'The DBOS executor (worker) that made the call.';

COMMENT ON COLUMN concord.connector_invocations.trace_id IS
'The command''s trace id.';

COMMENT ON COLUMN concord.connector_invocations.created_at IS
'When the call was recorded.';

COMMENT ON CONSTRAINT attempt_is_positive ON concord.connector_invocations IS
'Attempts are numbered from 1.';

COMMENT ON CONSTRAINT capability_is_not_blank ON concord.connector_invocations IS
'Every connector call names the capability it used.';

COMMENT ON CONSTRAINT connector_name_is_not_blank ON concord.connector_invocations IS
'Every connector call names its connector.';

COMMENT ON CONSTRAINT failures_are_classified ON concord.connector_invocations IS
'A failed call carries an error class, and only a failed call does.';

COMMENT ON CONSTRAINT latency_is_not_negative ON concord.connector_invocations IS
'A call''s latency is never negative.';

COMMENT ON CONSTRAINT status_is_known ON concord.connector_invocations IS
'A recorded call succeeded or failed.';

-- notifications
COMMENT ON TABLE concord.notifications IS
'Notifications stored for the app inbox and sent emails (spec 18). Only read_at ever changes; '
'none is deleted.';

COMMENT ON COLUMN concord.notifications.notification_id IS
'The notification''s id.';

COMMENT ON COLUMN concord.notifications.channel IS
'app or email.';

COMMENT ON COLUMN concord.notifications.recipient IS
'Who it is for.';

COMMENT ON COLUMN concord.notifications.subject IS
'Its subject line.';

COMMENT ON COLUMN concord.notifications.body IS
'Its text.';

COMMENT ON COLUMN concord.notifications.metadata IS
'Structured detail (a JSON object).';

COMMENT ON COLUMN concord.notifications.command_id IS
'The command it is about, if any.';

COMMENT ON COLUMN concord.notifications.idempotency_key IS
'The key it was stored under: storing again returns it.';

COMMENT ON COLUMN concord.notifications.created_at IS
'When it was stored.';

COMMENT ON COLUMN concord.notifications.read_at IS
'When the recipient read it.';

COMMENT ON CONSTRAINT channel_is_known ON concord.notifications IS
'A notification goes to the app inbox or by email.';

COMMENT ON CONSTRAINT metadata_is_an_object ON concord.notifications IS
'A notification''s metadata is a JSON object.';

COMMENT ON CONSTRAINT notification_idempotency_key_is_not_blank ON concord.notifications IS
'A notification''s idempotency key, when given, is not empty.';

COMMENT ON CONSTRAINT recipient_is_not_blank ON concord.notifications IS
'Every notification names its recipient.';

-- schedules
COMMENT ON TABLE concord.schedules IS
'Schedules (spec 84, 96): cron entries whose ticks become commands.';

COMMENT ON COLUMN concord.schedules.schedule_name IS
'The schedule''s name.';

COMMENT ON COLUMN concord.schedules.cron IS
'When it fires (five or six cron fields).';

COMMENT ON COLUMN concord.schedules.command_type IS
'The command type each tick submits.';

COMMENT ON COLUMN concord.schedules.payload_template IS
'The payload of each tick''s command.';

COMMENT ON COLUMN concord.schedules.queue_name IS
'The queue the schedule runs on.';

COMMENT ON COLUMN concord.schedules.enabled IS
'False to pause it.';

COMMENT ON COLUMN concord.schedules.created_at IS
'When it was registered.';

COMMENT ON COLUMN concord.schedules.updated_at IS
'When it last changed.';

COMMENT ON CONSTRAINT cron_has_five_or_six_fields ON concord.schedules IS
'A cron expression has five or six fields.';

COMMENT ON CONSTRAINT payload_template_is_an_object ON concord.schedules IS
'A schedule''s payload template is a JSON object.';

COMMENT ON CONSTRAINT schedule_name_is_an_identifier ON concord.schedules IS
'A schedule''s name is a lowercase identifier of at most 100 characters.';

-- swarm_statuses
COMMENT ON TABLE concord.swarm_statuses IS
'The statuses a swarm run can be in (spec 58): data that only migrations change.';

COMMENT ON COLUMN concord.swarm_statuses.status IS
'The status name, a lowercase word.';

COMMENT ON COLUMN concord.swarm_statuses.terminal IS
'True when the swarm never changes again.';

COMMENT ON COLUMN concord.swarm_statuses.description IS
'What a swarm in this status is doing.';

COMMENT ON CONSTRAINT swarm_status_is_a_lowercase_word ON concord.swarm_statuses IS
'A swarm status is a lowercase word.';

-- swarm_transitions
COMMENT ON TABLE concord.swarm_transitions IS
'Every legal move between two swarm statuses.';

COMMENT ON COLUMN concord.swarm_transitions.from_status IS
'The status the swarm leaves.';

COMMENT ON COLUMN concord.swarm_transitions.to_status IS
'The status the swarm enters.';

COMMENT ON CONSTRAINT a_swarm_transition_changes_the_status ON concord.swarm_transitions IS
'A swarm transition leads to another status.';

-- agent_statuses
COMMENT ON TABLE concord.agent_statuses IS
'The statuses an agent run can be in (spec 58): data that only migrations change.';

COMMENT ON COLUMN concord.agent_statuses.status IS
'The status name, a lowercase word.';

COMMENT ON COLUMN concord.agent_statuses.terminal IS
'True when the run never changes again.';

COMMENT ON COLUMN concord.agent_statuses.description IS
'What an agent in this status is doing.';

COMMENT ON CONSTRAINT agent_status_is_a_lowercase_word ON concord.agent_statuses IS
'An agent status is a lowercase word.';

-- agent_transitions
COMMENT ON TABLE concord.agent_transitions IS
'Every legal move between two agent statuses.';

COMMENT ON COLUMN concord.agent_transitions.from_status IS
'The status the run leaves.';

COMMENT ON COLUMN concord.agent_transitions.to_status IS
'The status the run enters.';

COMMENT ON CONSTRAINT an_agent_transition_changes_the_status ON concord.agent_transitions IS
'An agent transition leads to another status.';

-- tools
COMMENT ON TABLE concord.tools IS
'The tool catalog (spec 20): what agents may call. A command tool becomes a governed command of'
' its type; a gateway tool is one of the gateway''s own functions. Versioned on every change.';

COMMENT ON COLUMN concord.tools.tool_name IS
'The tool''s name, named in agents'' allowed_tools.';

COMMENT ON COLUMN concord.tools.description IS
'What the tool does.';

COMMENT ON COLUMN concord.tools.input_schema IS
'The JSON Schema of the tool''s input.';

COMMENT ON COLUMN concord.tools.output_schema IS
'The JSON Schema of the tool''s output.';

COMMENT ON COLUMN concord.tools.execution_mode IS
'sync, async (a command type run by a worker) or gateway (a gateway function).';

COMMENT ON COLUMN concord.tools.risk_level IS
'low, medium, high or critical.';

COMMENT ON COLUMN concord.tools.requires_approval IS
'True when every call of the tool waits for an approval.';

COMMENT ON COLUMN concord.tools.connector IS
'The connector the tool reaches, if any (must be in the agent''s allowed_connectors).';

COMMENT ON COLUMN concord.tools.capability IS
'The connector capability the tool uses.';

COMMENT ON COLUMN concord.tools.command_type IS
'The command type a call becomes (NULL for a gateway tool).';

COMMENT ON COLUMN concord.tools.function_name IS
'The gateway function of a gateway tool.';

COMMENT ON COLUMN concord.tools.metadata IS
'Free-form facts about the tool (a JSON object).';

COMMENT ON COLUMN concord.tools.spec IS
'The specification as registered.';

COMMENT ON COLUMN concord.tools.version IS
'1 at registration, one more per change.';

COMMENT ON COLUMN concord.tools.created_at IS
'When the tool was first registered.';

COMMENT ON COLUMN concord.tools.updated_at IS
'When the tool last changed.';

COMMENT ON CONSTRAINT a_capability_needs_a_connector ON concord.tools IS
'A tool that uses a connector capability names its connector.';

COMMENT ON CONSTRAINT execution_mode_is_known ON concord.tools IS
'A tool runs sync, async or in the gateway.';

COMMENT ON CONSTRAINT gateway_tools_have_no_command_type ON concord.tools IS
'A gateway tool has no command type; every other tool has one.';

COMMENT ON CONSTRAINT input_schema_is_an_object_or_boolean ON concord.tools IS
'A tool''s input schema is a JSON Schema (an object or a boolean).';

COMMENT ON CONSTRAINT output_schema_is_an_object_or_boolean ON concord.tools IS
'A tool''s output schema is a JSON Schema (an object or a boolean).';

COMMENT ON CONSTRAINT tool_metadata_is_an_object ON concord.tools IS
'A tool''s metadata is a JSON object.';

COMMENT ON CONSTRAINT tool_name_is_an_identifier ON concord.tools IS
'A tool''s name is an identifier of at most 128 characters.';

COMMENT ON CONSTRAINT tool_risk_level_is_known ON concord.tools IS
'A risk level is low, medium, high or critical.';

-- swarm_runs
COMMENT ON TABLE concord.swarm_runs IS
'Swarms of agents working under one governed command (spec 57, 85), with their limits and '
'derived counters.';

COMMENT ON COLUMN concord.swarm_runs.swarm_run_id IS
'The swarm''s id.';

COMMENT ON COLUMN concord.swarm_runs.command_id IS
'The governed command the swarm works for; the swarm does not outlive it.';

COMMENT ON COLUMN concord.swarm_runs.workflow_run_id IS
'The workflow run that started it, if any.';

COMMENT ON COLUMN concord.swarm_runs.coordinator_agent_run_id IS
'The agent run that coordinates the swarm.';

COMMENT ON COLUMN concord.swarm_runs.name IS
'The swarm''s name, unique per command.';

COMMENT ON COLUMN concord.swarm_runs.status IS
'Where the swarm is now (swarm_statuses).';

COMMENT ON COLUMN concord.swarm_runs.objective IS
'What the swarm is to achieve.';

COMMENT ON COLUMN concord.swarm_runs.execution_mode IS
'sequential, parallel, competitive, review_driven or hierarchical.';

COMMENT ON COLUMN concord.swarm_runs.join_strategy IS
'How the children''s results are combined (spec 68.3).';

COMMENT ON COLUMN concord.swarm_runs.join_options IS
'Settings of the join strategy (quorum size, evaluator, ...).';

COMMENT ON COLUMN concord.swarm_runs.max_agents IS
'The most agents that may be live at once, the coordinator included.';

COMMENT ON COLUMN concord.swarm_runs.max_depth IS
'The deepest a spawn may go (the coordinator is depth 0).';

COMMENT ON COLUMN concord.swarm_runs.max_total_steps IS
'The most steps all its agents may take together.';

COMMENT ON COLUMN concord.swarm_runs.max_cost_units IS
'The most its agents may cost together; NULL for no limit.';

COMMENT ON COLUMN concord.swarm_runs.live_agents IS
'How many of its agents are not finished (derived: kept equal to the rows).';

COMMENT ON COLUMN concord.swarm_runs.total_steps IS
'How many steps its agents took (derived).';

COMMENT ON COLUMN concord.swarm_runs.cost_units IS
'What its agents cost so far (derived).';

COMMENT ON COLUMN concord.swarm_runs.agent_templates IS
'The roles an agent of the swarm may take, with their scopes.';

COMMENT ON COLUMN concord.swarm_runs.runtime IS
'The agent runtime that drives its agents.';

COMMENT ON COLUMN concord.swarm_runs.spec IS
'The specification it was started with.';

COMMENT ON COLUMN concord.swarm_runs.join_decision IS
'The decision of its join (spec 68.3), once joined.';

COMMENT ON COLUMN concord.swarm_runs.result IS
'What the swarm produced.';

COMMENT ON COLUMN concord.swarm_runs.error IS
'Why the swarm failed, in words.';

COMMENT ON COLUMN concord.swarm_runs.metadata IS
'Free-form facts (a JSON object).';

COMMENT ON COLUMN concord.swarm_runs.trace_id IS
'The trace id of its command.';

COMMENT ON COLUMN concord.swarm_runs.created_by IS
'Who started the swarm.';

COMMENT ON COLUMN concord.swarm_runs.cancellation_mode IS
'How its cancellation stops its commands: graceful or compensate_then_stop.';

COMMENT ON COLUMN concord.swarm_runs.cancel_reason IS
'Why it was cancelled.';

COMMENT ON COLUMN concord.swarm_runs.cancelled_by IS
'Who cancelled it.';

COMMENT ON COLUMN concord.swarm_runs.created_at IS
'When it was started.';

COMMENT ON COLUMN concord.swarm_runs.updated_at IS
'When it last changed.';

COMMENT ON COLUMN concord.swarm_runs.started_at IS
'When it started running.';

COMMENT ON COLUMN concord.swarm_runs.completed_at IS
'When it finished.';

COMMENT ON COLUMN concord.swarm_runs.cancelled_at IS
'When it was cancelled.';

COMMENT ON CONSTRAINT agent_templates_is_an_array ON concord.swarm_runs IS
'A swarm''s agent templates are a JSON array.';

COMMENT ON CONSTRAINT cost_units_are_within_max_cost_units ON concord.swarm_runs IS
'A swarm never costs more than its max_cost_units.';

COMMENT ON CONSTRAINT join_options_is_an_object ON concord.swarm_runs IS
'A swarm''s join options are a JSON object.';

COMMENT ON CONSTRAINT join_strategy_is_known ON concord.swarm_runs IS
'A swarm joins by one of the strategies of spec 68.3.';

COMMENT ON CONSTRAINT live_agents_are_within_max_agents ON concord.swarm_runs IS
'A swarm never has more live agents than its max_agents.';

COMMENT ON CONSTRAINT max_agents_is_between_1_and_1000 ON concord.swarm_runs IS
'A swarm may have between 1 and 1,000 live agents.';

COMMENT ON CONSTRAINT max_cost_units_is_not_negative ON concord.swarm_runs IS
'A swarm''s cost limit is never negative.';

COMMENT ON CONSTRAINT max_depth_is_between_0_and_100 ON concord.swarm_runs IS
'A swarm''s spawn depth limit is between 0 and 100.';

COMMENT ON CONSTRAINT max_total_steps_is_between_1_and_1000000 ON concord.swarm_runs IS
'A swarm''s step limit is between 1 and 1,000,000.';

COMMENT ON CONSTRAINT objective_is_not_blank ON concord.swarm_runs IS
'Every swarm has an objective.';

COMMENT ON CONSTRAINT runtime_is_an_identifier ON concord.swarm_runs IS
'A swarm''s runtime is an identifier of at most 128 characters.';

COMMENT ON CONSTRAINT swarm_cancellation_mode_is_known ON concord.swarm_runs IS
'A swarm cancels gracefully or compensates then stops.';

COMMENT ON CONSTRAINT swarm_execution_mode_is_known ON concord.swarm_runs IS
'A swarm runs sequential, parallel, competitive, review_driven or hierarchical.';

COMMENT ON CONSTRAINT swarm_metadata_is_an_object ON concord.swarm_runs IS
'A swarm''s metadata is a JSON object.';

COMMENT ON CONSTRAINT swarm_name_is_an_identifier ON concord.swarm_runs IS
'A swarm''s name is an identifier of at most 128 characters.';

COMMENT ON CONSTRAINT total_steps_are_within_max_total_steps ON concord.swarm_runs IS
'A swarm''s agents never take more steps than its max_total_steps.';

-- agent_runs
COMMENT ON TABLE concord.agent_runs IS
'Agent runs (spec 57-59): each agent with its goal, its scopes (a subset of its parent''s, '
'immutable), its limits and its state.';

COMMENT ON COLUMN concord.agent_runs.agent_run_id IS
'The run''s id: the capability the agent holds.';

COMMENT ON COLUMN concord.agent_runs.command_id IS
'The governed command its swarm works for.';

COMMENT ON COLUMN concord.agent_runs.swarm_run_id IS
'Its swarm.';

COMMENT ON COLUMN concord.agent_runs.parent_agent_run_id IS
'The agent that spawned it (NULL for the coordinator).';

COMMENT ON COLUMN concord.agent_runs.agent_name IS
'The agent''s name.';

COMMENT ON COLUMN concord.agent_runs.agent_role IS
'Its role (one of the swarm''s templates).';

COMMENT ON COLUMN concord.agent_runs.agent_version IS
'The version of the agent, if its runtime names one.';

COMMENT ON COLUMN concord.agent_runs.status IS
'Where the run is now (agent_statuses).';

COMMENT ON COLUMN concord.agent_runs.goal IS
'What the agent is to do.';

COMMENT ON COLUMN concord.agent_runs.allowed_tools IS
'The tools it may call (a subset of its parent''s).';

COMMENT ON COLUMN concord.agent_runs.allowed_connectors IS
'The connectors its tools may reach (a subset of its parent''s).';

COMMENT ON COLUMN concord.agent_runs.allowed_child_roles IS
'The roles its children may take (a subset of its parent''s).';

COMMENT ON COLUMN concord.agent_runs.memory_scope IS
'What memory it may read and write (spec 61.2; within its parent''s).';

COMMENT ON COLUMN concord.agent_runs.context_scope IS
'What context it may see (a JSON object).';

COMMENT ON COLUMN concord.agent_runs.constraints IS
'Limits and instructions given with its goal (a JSON object).';

COMMENT ON COLUMN concord.agent_runs.max_steps IS
'The most steps it may take.';

COMMENT ON COLUMN concord.agent_runs.step_count IS
'How many steps it took (derived from agent_steps).';

COMMENT ON COLUMN concord.agent_runs.cost_units IS
'What its steps cost (derived).';

COMMENT ON COLUMN concord.agent_runs.spawn_depth IS
'Its depth in the swarm (0 for the coordinator, parent''s + 1).';

COMMENT ON COLUMN concord.agent_runs.model_config IS
'The model settings its runtime uses (a JSON object).';

COMMENT ON COLUMN concord.agent_runs.runtime_config IS
'Settings for its runtime (a JSON object).';

COMMENT ON COLUMN concord.agent_runs.metadata IS
'Free-form facts (a JSON object).';

COMMENT ON COLUMN concord.agent_runs.dbos_workflow_id IS
'The DBOS workflow that drives it.';

COMMENT ON COLUMN concord.agent_runs.result IS
'What it produced.';

COMMENT ON COLUMN concord.agent_runs.error IS
'Why it failed, in words.';

COMMENT ON COLUMN concord.agent_runs.trace_id IS
'The trace id of its command.';

COMMENT ON COLUMN concord.agent_runs.created_at IS
'When it was created.';

COMMENT ON COLUMN concord.agent_runs.updated_at IS
'When it last changed.';

COMMENT ON COLUMN concord.agent_runs.started_at IS
'When it started running.';

COMMENT ON COLUMN concord.agent_runs.completed_at IS
'When it finished.';

COMMENT ON COLUMN concord.agent_runs.cancelled_at IS
'When it was cancelled.';

COMMENT ON CONSTRAINT agent_cost_units_are_not_negative ON concord.agent_runs IS
'An agent''s cost is never negative.';

COMMENT ON CONSTRAINT agent_metadata_is_an_object ON concord.agent_runs IS
'An agent''s metadata is a JSON object.';

COMMENT ON CONSTRAINT agent_name_is_an_identifier ON concord.agent_runs IS
'An agent''s name is an identifier of at most 128 characters.';

COMMENT ON CONSTRAINT agent_role_is_an_identifier ON concord.agent_runs IS
'An agent''s role is an identifier of at most 128 characters.';

COMMENT ON CONSTRAINT allowed_child_roles_is_a_name_list ON concord.agent_runs IS
'The roles a child may take are distinct, non-blank names.';

COMMENT ON CONSTRAINT allowed_connectors_is_a_name_list ON concord.agent_runs IS
'The connectors an agent may reach are distinct, non-blank names.';

COMMENT ON CONSTRAINT allowed_tools_is_a_name_list ON concord.agent_runs IS
'The tools an agent may call are distinct, non-blank names.';

COMMENT ON CONSTRAINT an_agent_is_not_its_own_parent ON concord.agent_runs IS
'No agent spawns itself.';

COMMENT ON CONSTRAINT constraints_is_an_object ON concord.agent_runs IS
'An agent''s constraints are a JSON object.';

COMMENT ON CONSTRAINT context_scope_is_an_object ON concord.agent_runs IS
'An agent''s context scope is a JSON object.';

COMMENT ON CONSTRAINT goal_is_not_blank ON concord.agent_runs IS
'Every agent has a goal.';

COMMENT ON CONSTRAINT max_steps_is_between_1_and_100000 ON concord.agent_runs IS
'An agent may take between 1 and 100,000 steps.';

COMMENT ON CONSTRAINT memory_scope_has_the_spec_61_shape ON concord.agent_runs IS
'An agent''s memory scope is empty or has the shape of spec 61.2.';

COMMENT ON CONSTRAINT model_config_is_an_object ON concord.agent_runs IS
'An agent''s model settings are a JSON object.';

COMMENT ON CONSTRAINT only_the_root_has_depth_0 ON concord.agent_runs IS
'The coordinator, and only it, has no parent and depth 0.';

COMMENT ON CONSTRAINT runtime_config_is_an_object ON concord.agent_runs IS
'An agent''s runtime settings are a JSON object.';

COMMENT ON CONSTRAINT spawn_depth_is_not_negative ON concord.agent_runs IS
'An agent''s depth is never negative.';

COMMENT ON CONSTRAINT step_count_is_within_max_steps ON concord.agent_runs IS
'An agent never takes more steps than its max_steps.';

-- agent_invocations
COMMENT ON TABLE concord.agent_invocations IS
'How each child agent was invoked by its parent (spawn, delegate, review, ...), with what it '
'was given.';

COMMENT ON COLUMN concord.agent_invocations.invocation_id IS
'The invocation''s id.';

COMMENT ON COLUMN concord.agent_invocations.swarm_run_id IS
'The swarm.';

COMMENT ON COLUMN concord.agent_invocations.parent_agent_run_id IS
'The agent that invoked.';

COMMENT ON COLUMN concord.agent_invocations.child_agent_run_id IS
'The agent invoked.';

COMMENT ON COLUMN concord.agent_invocations.command_id IS
'The spawn_subagent command that governed the invocation, if any.';

COMMENT ON COLUMN concord.agent_invocations.invocation_type IS
'spawn, delegate, review, evaluate, map or compete.';

COMMENT ON COLUMN concord.agent_invocations.delegated_goal IS
'The goal handed to the child.';

COMMENT ON COLUMN concord.agent_invocations.constraints IS
'The constraints handed to the child (a JSON object).';

COMMENT ON COLUMN concord.agent_invocations.allowed_tools IS
'The tools handed to the child.';

COMMENT ON COLUMN concord.agent_invocations.allowed_connectors IS
'The connectors handed to the child.';

COMMENT ON COLUMN concord.agent_invocations.memory_scope IS
'The memory scope handed to the child.';

COMMENT ON COLUMN concord.agent_invocations.status IS
'created, running, succeeded, failed, cancelled or expired.';

COMMENT ON COLUMN concord.agent_invocations.created_at IS
'When the child was invoked.';

COMMENT ON COLUMN concord.agent_invocations.completed_at IS
'When the invocation ended.';

COMMENT ON CONSTRAINT delegated_goal_is_not_blank ON concord.agent_invocations IS
'A child is always handed a goal.';

COMMENT ON CONSTRAINT invocation_constraints_is_an_object ON concord.agent_invocations IS
'The constraints handed to a child are a JSON object.';

COMMENT ON CONSTRAINT invocation_status_is_known ON concord.agent_invocations IS
'An invocation is created, running, succeeded, failed, cancelled or expired.';

COMMENT ON CONSTRAINT invocation_type_is_known ON concord.agent_invocations IS
'A child is invoked to spawn, delegate, review, evaluate, map or compete.';

-- agent_steps
COMMENT ON TABLE concord.agent_steps IS
'Every step each agent took (spec 57, 71): what it proposed, what was decided, what it created.'
' Append-only, numbered per run.';

COMMENT ON COLUMN concord.agent_steps.agent_step_id IS
'The step''s id.';

COMMENT ON COLUMN concord.agent_steps.agent_run_id IS
'The agent that took the step.';

COMMENT ON COLUMN concord.agent_steps.command_id IS
'The governed command of its swarm.';

COMMENT ON COLUMN concord.agent_steps.swarm_run_id IS
'Its swarm.';

COMMENT ON COLUMN concord.agent_steps.step_index IS
'The step''s number within the run (1, 2, ...).';

COMMENT ON COLUMN concord.agent_steps.action_type IS
'What kind of step (tool_call, spawn_subagent, think, final_answer, ...).';

COMMENT ON COLUMN concord.agent_steps.tool_name IS
'The tool called, for a tool call.';

COMMENT ON COLUMN concord.agent_steps.action_payload IS
'What the agent proposed.';

COMMENT ON COLUMN concord.agent_steps.decision IS
'What the gateway decided: recorded, allowed, queued, require_approval, require_input, denied '
'or invalid.';

COMMENT ON COLUMN concord.agent_steps.reason IS
'Why, in words.';

COMMENT ON COLUMN concord.agent_steps.observation IS
'What the agent was shown after the step.';

COMMENT ON COLUMN concord.agent_steps.output IS
'What the step produced.';

COMMENT ON COLUMN concord.agent_steps.created_command_id IS
'The command the step created, if any (it must be one the agent asked for).';

COMMENT ON COLUMN concord.agent_steps.created_task_run_id IS
'The task run the step created, if any.';

COMMENT ON COLUMN concord.agent_steps.created_artifact_id IS
'The artifact the step created, if any.';

COMMENT ON COLUMN concord.agent_steps.created_memory_id IS
'The memory the step created, if any.';

COMMENT ON COLUMN concord.agent_steps.created_approval_id IS
'The approval the step opened, if any.';

COMMENT ON COLUMN concord.agent_steps.child_agent_run_id IS
'The child the step spawned, if any.';

COMMENT ON COLUMN concord.agent_steps.latency_ms IS
'How long the step took.';

COMMENT ON COLUMN concord.agent_steps.token_usage IS
'The tokens the step used (a JSON object).';

COMMENT ON COLUMN concord.agent_steps.cost_units IS
'What the step cost.';

COMMENT ON COLUMN concord.agent_steps.created_at IS
'When the step was recorded.';

COMMENT ON CONSTRAINT action_type_is_a_lowercase_word ON concord.agent_steps IS
'A step''s action type is a lowercase identifier.';

COMMENT ON CONSTRAINT latency_ms_is_not_negative ON concord.agent_steps IS
'A step''s latency is never negative.';

COMMENT ON CONSTRAINT step_cost_units_are_not_negative ON concord.agent_steps IS
'A step''s cost is never negative.';

COMMENT ON CONSTRAINT step_decision_is_known ON concord.agent_steps IS
'A step''s decision is one the gateway gives (recorded, allowed, queued, require_approval, '
'require_input, denied, invalid).';

COMMENT ON CONSTRAINT step_index_is_positive ON concord.agent_steps IS
'Steps are numbered from 1.';

-- agent_messages
COMMENT ON TABLE concord.agent_messages IS
'Messages between the agents of a swarm and their runtime (spec 57). Append-only.';

COMMENT ON COLUMN concord.agent_messages.agent_message_id IS
'The message''s id.';

COMMENT ON COLUMN concord.agent_messages.swarm_run_id IS
'The swarm.';

COMMENT ON COLUMN concord.agent_messages.agent_run_id IS
'The agent that wrote or received it.';

COMMENT ON COLUMN concord.agent_messages.parent_agent_run_id IS
'The agent''s parent, if any.';

COMMENT ON COLUMN concord.agent_messages.message_role IS
'system, user, assistant, tool or agent.';

COMMENT ON COLUMN concord.agent_messages.message_type IS
'instruction, question, answer, observation, status, result, critique, ...';

COMMENT ON COLUMN concord.agent_messages.content IS
'The message text.';

COMMENT ON COLUMN concord.agent_messages.metadata IS
'Structured detail (a JSON object).';

COMMENT ON COLUMN concord.agent_messages.created_at IS
'When it was recorded.';

COMMENT ON CONSTRAINT message_metadata_is_an_object ON concord.agent_messages IS
'A message''s metadata is a JSON object.';

COMMENT ON CONSTRAINT message_role_is_known ON concord.agent_messages IS
'A message comes from the system, a user, an assistant, a tool or an agent.';

COMMENT ON CONSTRAINT message_type_is_known ON concord.agent_messages IS
'A message is one of the known kinds (instruction, question, answer, observation, status, '
'result, critique, ...).';

-- artifacts
COMMENT ON TABLE concord.artifacts IS
'Durable outputs of commands and agents (spec 24, 63): references or small inline content, '
'versioned by name within a swarm, with a status machine.';

COMMENT ON COLUMN concord.artifacts.artifact_id IS
'The artifact''s id.';

COMMENT ON COLUMN concord.artifacts.command_id IS
'The command it belongs to.';

COMMENT ON COLUMN concord.artifacts.swarm_run_id IS
'The swarm it belongs to, if an agent made it.';

COMMENT ON COLUMN concord.artifacts.agent_run_id IS
'The agent that made it, if any.';

COMMENT ON COLUMN concord.artifacts.artifact_type IS
'What kind of artifact (report, dataset, evaluation, ...).';

COMMENT ON COLUMN concord.artifacts.name IS
'Its name; versions share it.';

COMMENT ON COLUMN concord.artifacts.version IS
'1 for the first artifact of a name, one more for each next one.';

COMMENT ON COLUMN concord.artifacts.status IS
'draft, final, published, superseded or cancelled.';

COMMENT ON COLUMN concord.artifacts.location IS
'Where its content lives, when not inline.';

COMMENT ON COLUMN concord.artifacts.content IS
'Its content, when small enough to keep inline (64 KB at most).';

COMMENT ON COLUMN concord.artifacts.metadata IS
'Structured detail (a JSON object).';

COMMENT ON COLUMN concord.artifacts.score IS
'A score its evaluations gave it.';

COMMENT ON COLUMN concord.artifacts.created_by IS
'Who made it.';

COMMENT ON COLUMN concord.artifacts.created_at IS
'When it was made.';

COMMENT ON COLUMN concord.artifacts.updated_at IS
'When it last changed.';

COMMENT ON CONSTRAINT an_artifact_has_a_location_or_content ON concord.artifacts IS
'An artifact has a location or inline content.';

COMMENT ON CONSTRAINT artifact_metadata_is_an_object ON concord.artifacts IS
'An artifact''s metadata is a JSON object.';

COMMENT ON CONSTRAINT artifact_name_is_not_blank ON concord.artifacts IS
'An artifact''s name is not blank and at most 256 characters.';

COMMENT ON CONSTRAINT artifact_status_is_known ON concord.artifacts IS
'An artifact is draft, final, published, superseded or cancelled.';

COMMENT ON CONSTRAINT artifact_type_is_a_lowercase_word ON concord.artifacts IS
'An artifact''s type is a lowercase identifier.';

COMMENT ON CONSTRAINT created_by_is_not_blank ON concord.artifacts IS
'Every artifact names who made it.';

COMMENT ON CONSTRAINT inline_content_is_small ON concord.artifacts IS
'Inline content is at most 64 KB; larger content lives at a location.';

COMMENT ON CONSTRAINT location_is_not_blank ON concord.artifacts IS
'A location, when given, is not blank.';

COMMENT ON CONSTRAINT version_is_positive ON concord.artifacts IS
'Artifact versions are numbered from 1.';

-- artifact_lineage
COMMENT ON TABLE concord.artifact_lineage IS
'Which artifacts each artifact was made from. No cycles, one swarm; append-only.';

COMMENT ON COLUMN concord.artifact_lineage.artifact_id IS
'The artifact made.';

COMMENT ON COLUMN concord.artifact_lineage.parent_artifact_id IS
'An artifact it was made from.';

COMMENT ON COLUMN concord.artifact_lineage.created_at IS
'When the edge was recorded.';

COMMENT ON CONSTRAINT an_artifact_is_not_its_own_parent ON concord.artifact_lineage IS
'No artifact is made from itself.';

-- memories
COMMENT ON TABLE concord.memories IS
'Durable context (spec 23, 61): scoped by subject, typed, with consent, confidence, status, '
'expiry and supersession. A forgotten memory keeps its row and loses its content.';

COMMENT ON COLUMN concord.memories.memory_id IS
'The memory''s id.';

COMMENT ON COLUMN concord.memories.subject_type IS
'What kind of subject it is about (customer, project, agent, ...).';

COMMENT ON COLUMN concord.memories.subject_id IS
'Which subject it is about.';

COMMENT ON COLUMN concord.memories.memory_type IS
'What kind of memory (preference, fact, ...).';

COMMENT ON COLUMN concord.memories.memory_key IS
'Its key: one active memory per subject, type and key.';

COMMENT ON COLUMN concord.memories.content IS
'What is remembered (cleared when forgotten).';

COMMENT ON COLUMN concord.memories.confidence IS
'How sure the writer was (0 to 1).';

COMMENT ON COLUMN concord.memories.consent IS
'True when the subject consented to it being kept.';

COMMENT ON COLUMN concord.memories.sensitive IS
'True for sensitive content (it waits for approval).';

COMMENT ON COLUMN concord.memories.status IS
'candidate, active, superseded, expired or deleted.';

COMMENT ON COLUMN concord.memories.expires_at IS
'When it expires, if ever.';

COMMENT ON COLUMN concord.memories.supersedes_memory_id IS
'The memory it replaced.';

COMMENT ON COLUMN concord.memories.superseded_by_memory_id IS
'The memory that replaced it.';

COMMENT ON COLUMN concord.memories.written_by IS
'Who wrote it.';

COMMENT ON COLUMN concord.memories.command_id IS
'The concord.write_memory command that wrote it.';

COMMENT ON COLUMN concord.memories.agent_run_id IS
'The agent that wrote it, if any.';

COMMENT ON COLUMN concord.memories.metadata IS
'Structured detail (a JSON object).';

COMMENT ON COLUMN concord.memories.search_vector IS
'Its content for full-text search (generated).';

COMMENT ON COLUMN concord.memories.created_at IS
'When it was written.';

COMMENT ON COLUMN concord.memories.updated_at IS
'When it last changed.';

COMMENT ON CONSTRAINT a_memory_does_not_supersede_itself ON concord.memories IS
'No memory replaces itself or is replaced by itself.';

COMMENT ON CONSTRAINT confidence_is_between_0_and_1 ON concord.memories IS
'A memory''s confidence is between 0 and 1.';

COMMENT ON CONSTRAINT content_is_at_most_10000_characters ON concord.memories IS
'A memory holds at most 10,000 characters.';

COMMENT ON CONSTRAINT memory_key_is_not_blank ON concord.memories IS
'A memory key is not blank and at most 256 characters.';

COMMENT ON CONSTRAINT memory_metadata_is_an_object ON concord.memories IS
'A memory''s metadata is a JSON object.';

COMMENT ON CONSTRAINT memory_status_is_known ON concord.memories IS
'A memory is candidate, active, superseded, expired or deleted.';

COMMENT ON CONSTRAINT memory_type_is_an_identifier ON concord.memories IS
'A memory type is a lowercase identifier of at most 64 characters.';

COMMENT ON CONSTRAINT subject_id_is_not_blank ON concord.memories IS
'A memory''s subject id is not blank and at most 256 characters.';

COMMENT ON CONSTRAINT subject_type_is_an_identifier ON concord.memories IS
'A memory''s subject type is a lowercase identifier of at most 64 characters.';

COMMENT ON CONSTRAINT superseded_memories_name_their_successor ON concord.memories IS
'A superseded memory names the memory that replaced it.';

COMMENT ON CONSTRAINT written_by_is_not_blank ON concord.memories IS
'Every memory names who wrote it.';
