-- Every manifest is checked against the JSON Schema of its registry type
-- (spec 107, issue 14): a valid manifest of each of the twelve types has no
-- problem, nor do the examples of spec 107.1 (skill), 107.2 (command type),
-- 107.3 (approval type) and the spec 67 swarm (a swarm template), nor the
-- legacy register_* specs the old catalog functions store as manifests; a bad
-- manifest is refused with every problem listed, each with its path.
BEGIN;
SELECT plan(41);

CREATE TEMP TABLE good (entity_type text PRIMARY KEY, manifest jsonb NOT NULL);
INSERT INTO good VALUES
('command_type', $${"name": "refund", "version": "2.1.0", "description": "Refund a payment",
  "owner": "payments", "risk_level": "medium", "metadata": {"anything": [1, 2]},
  "payload_schema": {"type": "object", "properties": {"amount": {"type": "number"}}},
  "output_schema": true, "execution": {"mode": "async", "dbos_workflow": "run_command"},
  "memory": {"reads": ["user.payment_preferences"], "writes": []},
  "side_effects": {"external_write": true, "database_mutation": false, "payment": true},
  "connector_operations": [{"connector": "stripe", "operation": "refund", "version": "^2"}],
  "relationships": [{"type": "runs_evaluation_suite", "target_type": "evaluation_suite",
                     "target_name": "refund_checks", "version": ">=1.2 <2", "required": false}]}$$),
('skill', '{"name": "summarise", "version": "0.1.0", "instructions_ref": "artifact://skills/summarise.md"}'),
('tool', $${"name": "book_hotel_tool", "version": "1.0.0", "mode": "approval_gated_async",
  "side_effect": "external_write", "command_type": {"name": "book_hotel", "version": "^1"},
  "input_schema": {"type": "object"}, "connector_operations": ["hotel_booking.book_hotel"],
  "artifact_types": ["reservation_confirmation"], "policies": ["permission"]}$$),
('connector', $${"name": "hotel_booking", "version": "3.0.0", "adapter": "http",
  "operations": [{"name": "book_hotel", "side_effect": "write", "scopes": ["bookings:write"],
                  "idempotency_supported": true, "compensation": "cancel_booking",
                  "requires_approval": true, "input_schema": {"type": "object"}},
                 {"name": "search", "side_effect": "read"}],
  "credential_scopes": ["bookings"], "read_scopes": ["bookings:read"],
  "write_scopes": ["bookings:write"], "rate_limit": {"per_second": 5}}$$),
('policy', $${"name": "payment_token_required", "version": "1.0.0",
  "input_schema": {"type": "object"}, "decision_outputs": ["allow", "deny"],
  "checks": ["permission"], "applies_to": {"command_types": ["book_hotel"]}, "on_fail": "deny",
  "engine": {"kind": "opa", "bundle": "payments"}, "rule": {"path": "$.payload.payment_token_ref"}}$$),
('artifact_schema', $${"name": "reservation_confirmation", "version": "1.0.0",
  "schema": {"type": "object", "required": ["confirmation_number"]}, "visibility": "project",
  "lineage_required": true, "retention_days": 365, "external_sharing": false,
  "rendering": {"template": "card"}}$$),
('memory_schema', $${"name": "user.travel_preferences", "version": "1.0.0", "subject_type": "user",
  "schema": {"type": "object"}, "visibility": "private", "consent_required": true,
  "min_confidence": 0.7, "expires_after_days": 365, "supersession": "latest_wins",
  "retrieval": {"semantic": false}, "write_policy": "memory_write"}$$),
('agent_role', $${"name": "hotel_booking_agent", "version": "1.0.0",
  "skills": ["hotel_booking", {"name": "summarise", "version": "~0.1"}], "tools": ["book_hotel"],
  "connectors": ["hotel_booking"], "subagent_roles": ["researcher"], "max_steps": 40,
  "max_depth": 1, "memory_scope": {"read": ["user.travel_preferences"], "write": []},
  "artifact_scope": {"read": [], "write": ["reservation_confirmation"]},
  "approval_behavior": "ask_before_booking", "compatible_runtimes": ["concord_agent_runtime"]}$$),
('swarm_template', $${"name": "trip_planning", "version": "1.0.0", "coordinator_role": "planner",
  "child_roles": ["researcher", "booker"], "join_strategy": "coordinator_synthesis",
  "spawn_limits": {"max_children": 4, "max_depth": 1}, "parallelism": 2,
  "required_artifacts": ["itinerary"], "required_evaluations": ["itinerary_checks"],
  "approval_gates": ["hotel_booking_approval", {"approval_type": "spend_approval", "name": "spend"}],
  "inherit": {"memory_scope": true, "connector_scope": "narrow"}}$$),
('approval_type', $${"name": "spend_approval", "version": "1.0.0", "required_fields": ["amount"],
  "decision_values": ["approved", "rejected"], "expiration": {"default_minutes": 60},
  "approver_resolution": {"team": "finance"}, "audit": {"retain_days": 400},
  "approver": {"team": "finance"}}$$),
('evaluation_suite', $${"name": "itinerary_checks", "version": "1.0.0", "blocking": true,
  "input_schema": {"type": "object"}, "output_schema": {"type": "object"},
  "applies_to": {"entity_types": ["skill"]}, "runtime_adapter": "concord_evals",
  "checks": ["dates_are_ordered", {"name": "budget_respected"}]}$$),
('workflow_type', $${"name": "business_trip", "version": "1.0.0",
  "command_sequence": ["create_booking_draft", "book_hotel"],
  "allowed_command_types": ["create_booking_draft", "book_hotel", "cancel_reservation"],
  "default_policies": ["permission"], "default_agent_roles": ["hotel_booking_agent"],
  "default_skills": ["hotel_booking"], "swarm_templates": ["trip_planning"],
  "approval_gates": ["hotel_booking_approval"], "artifact_expectations": ["reservation_confirmation"],
  "dbos_workflow": "run_command"}$$);

SELECT is(
    (SELECT count(*) FROM good AS g INNER JOIN concord.registry_entity_types AS t USING (entity_type)),
    12::bigint, 'the twelve registry types each have a schema and a valid manifest here'
);
SELECT is(concord.registry_manifest_problems(g.entity_type, g.manifest), '[]'::jsonb,
          format('a valid %s manifest has no problem', g.entity_type))
FROM good AS g ORDER BY g.entity_type;

SELECT is_empty(
    $$SELECT t.entity_type FROM concord.registry_entity_types AS t
      WHERE concord._json_schema_problems(t.manifest_schema) <> '[]'
         OR t.manifest_schema -> 'additionalProperties' IS DISTINCT FROM 'false'
         OR t.manifest_schema -> 'required' IS DISTINCT FROM '["name", "version"]'
         OR t.manifest_schema::text ~ '"\$ref": "[^#]'$$,
    'every type''s schema is a usable JSON Schema, closed at the top, requiring name and version, '
    'with local references only'
);

-- spec 107.1, 107.2, 107.3 as YAML-to-JSON
SELECT is(concord.registry_manifest_problems('skill', $${
    "name": "hotel_booking", "version": "1.4.2", "display_name": "Hotel Booking Skill",
    "runtime": {"min_concord_version": "0.3.0",
                "compatible_agent_runtimes": ["concord_agent_runtime", "langgraph_adapter"]},
    "lifecycle": {"owner": "travel-platform", "risk_level": "high"},
    "capabilities": [
        {"type": "connector_operation", "connector": "hotel_booking", "operation": "book_hotel",
         "side_effect": true, "requires_approval": true},
        {"type": "artifact_write", "artifact_type": "reservation_confirmation"},
        {"type": "memory_write", "memory_type": "user.travel_preferences", "requires_consent": true}],
    "policy": {"required_checks": ["permission", "connector_scope", "payment_token_required",
                                   "cancellation_policy_disclosed", "approval_required_for_booking"]},
    "tools": [{"name": "book_hotel", "command_type": "book_hotel", "mode": "approval_gated_async"}],
    "evals": {"required": ["booking_terms_present", "cancellation_policy_present",
                           "approval_packet_complete"]}}$$), '[]'::jsonb,
    'the skill manifest of spec 107.1 is valid');
SELECT is(concord.registry_manifest_problems('command_type', $${
    "name": "book_hotel", "version": "1.0.0", "risk_level": "high",
    "execution": {"mode": "approval_gated_async", "dbos_workflow": "run_command"},
    "payload_schema": {"type": "object", "required": ["booking_draft_id", "payment_token_ref"]},
    "policies": {"required": ["permission", "connector_scope", "payment_token_required",
                              "approval_required_for_booking"]},
    "approval": {"required": true, "approval_type": "hotel_booking_approval"},
    "artifacts": {"produces": ["reservation_confirmation"]},
    "connector_operations": ["hotel_booking.book_hotel"],
    "idempotency": {"required": true, "key_template": "book_hotel:{booking_draft_id}"},
    "compensation": {"supported": true, "command_type": "cancel_reservation"}}$$), '[]'::jsonb,
    'the command type manifest of spec 107.2 is valid');
SELECT is(concord.registry_manifest_problems('approval_type', $${
    "name": "hotel_booking_approval", "version": "1.0.0", "risk_level": "high",
    "required_fields": ["hotel_name", "check_in_date", "check_out_date", "guests", "total_price",
                        "currency", "cancellation_policy_summary", "payment_method_summary"],
    "decision_values": ["approved", "rejected", "request_changes"],
    "expiration": {"default_minutes": 30}, "ui": {"template": "hotel_booking_approval_card"},
    "resume": {"on_approved": "continue_workflow", "on_rejected": "fail_or_replan"}}$$), '[]'::jsonb,
    'the approval type manifest of spec 107.3 is valid');
-- spec 67 (with the version a manifest needs)
SELECT is(concord.registry_manifest_problems('swarm_template', $${
    "name": "revenue_report_swarm", "version": "1.0.0",
    "objective": "Generate and review a monthly revenue report.",
    "execution_mode": "parallel", "join_strategy": "coordinator_synthesis",
    "limits": {"max_agents": 4, "max_depth": 1, "max_total_steps": 80, "max_cost_units": 50},
    "coordinator": {"agent_name": "revenue_report_coordinator", "agent_role": "coordinator",
                    "max_steps": 20,
                    "allowed_tools": ["spawn_subagent", "read_artifact", "create_artifact",
                                      "request_approval"],
                    "allowed_connectors": ["postgres", "databricks"]},
    "agents": [
        {"agent_name": "revenue_researcher", "agent_role": "researcher",
         "delegated_goal": "Gather source data and assumptions.", "max_steps": 15,
         "allowed_tools": ["run_sql", "retrieve_memory", "create_artifact"],
         "allowed_connectors": ["postgres", "databricks"]},
        {"agent_name": "revenue_analyst", "agent_role": "analyst",
         "delegated_goal": "Compute metrics and produce analysis.", "max_steps": 15,
         "allowed_tools": ["run_sql", "create_artifact"],
         "allowed_connectors": ["postgres", "databricks"]},
        {"agent_name": "revenue_reviewer", "agent_role": "reviewer",
         "delegated_goal": "Validate the final report and identify risks.", "max_steps": 10,
         "allowed_tools": ["read_artifact", "evaluate_output", "request_human_input"],
         "allowed_connectors": ["postgres"]}]}$$), '[]'::jsonb,
    'the spec 67 swarm is a valid swarm template manifest');

-- the legacy register_* specs, stored as manifests (name and version added)
SELECT is(concord.registry_manifest_problems('command_type', $${
    "name": "legacy_refund", "version": "1.0.0", "command_type": "legacy_refund",
    "description": "d", "function_name": "refund_fn", "ingress_types": ["api", "agent"],
    "required_inputs": ["amount"], "payload_schema": {"type": "object"}, "sync_allowed": true,
    "async_required": false, "approval_required": true, "memory_write_possible": false,
    "artifact_output_possible": true, "notification_required": false,
    "policy_checks": ["permission"], "connector_requirements": ["stripe"], "risk_level": "high",
    "max_attempts": 5, "default_cancellation_mode": "compensate_then_stop", "metadata": {},
    "approval_type": "spend_approval", "cost_budget": 10.5, "over_budget": "deny"}$$), '[]'::jsonb,
    'every field of a register_command_type spec is accepted');
SELECT is(concord.registry_manifest_problems('tool', $${
    "name": "lookup", "version": "1.0.0", "description": "d", "input_schema": {"type": "object"},
    "output_schema": {}, "execution_mode": "sync", "risk_level": "low", "requires_approval": false,
    "connector": "crm", "capability": "read", "command_type": "lookup", "function_name": "f",
    "metadata": {}}$$), '[]'::jsonb, 'every field of a register_tool spec is accepted');
SELECT is(concord.registry_manifest_problems('connector', $${
    "name": "crm", "version": "1.0.0", "connector_type": "http", "capabilities": ["read", "write"],
    "config": {"url": "env://CRM_URL"}, "risk_level": "medium", "description": "d"}$$), '[]'::jsonb,
    'every field of a register_connector spec is accepted');
SELECT is(concord.registry_manifest_problems('approval_type', $${
    "name": "at_people", "version": "1.0.0", "description": "d", "risk_level": "low",
    "required_fields": [], "decision_values": ["approved", "rejected"],
    "expiration": {"default_minutes": 10}, "approvers": ["ann", "ben"],
    "resume": {"on_rejected": "cancel", "on_request_changes": "request_input"}, "ui": {},
    "audit": {}}$$), '[]'::jsonb, 'every field of a register_approval_type spec is accepted');
SELECT is(concord.registry_manifest_problems('policy', $${
    "name": "max_price", "version": "1.0.0", "description": "d", "kind": "declarative",
    "predicate": "$.payload.total_price > $limit", "vars": {"limit": 500},
    "decision": "require_approval", "approval_type": "spend_approval", "reasons": ["too dear"],
    "on_unknown": "deny", "organisation": "acme", "project": "travel",
    "command_types": ["book_hotel"]}$$), '[]'::jsonb,
    'every field of a declarative register_policy spec is accepted');
SELECT is(concord.registry_manifest_problems('policy', $${
    "name": "myschema.my_policy", "version": "1.0.0", "function": "myschema.my_policy",
    "kind": "executable", "missing_fields": ["x"], "config": {}}$$), '[]'::jsonb,
    'an executable policy named after its function is accepted');

-- a bad manifest: every problem, each at its path
CREATE TEMP TABLE bad AS
SELECT p.problem ->> 'path' AS path, p.problem ->> 'kind' AS kind, p.problem ->> 'message' AS message
FROM jsonb_array_elements(concord.registry_manifest_problems('command_type', $${
    "name": "9 book hotel", "version": "1.0", "risk_level": "extreme", "colour": "blue",
    "execution": {"mode": "eventually"}, "policies": {"required": ["permission", ""]},
    "connector_operations": ["no_operation"], "max_attempts": 0,
    "payload_schema": {"type": "objet", "$ref": "https://example.com/s.json"},
    "side_effects": {"payment": "yes"},
    "compensation": {"command_type": {"name": "cancel", "version": "soon"}}}$$)) AS p (problem);

SELECT is((SELECT count(*) FROM bad), 12::bigint, 'the bad command type manifest has twelve problems');
SELECT ok(EXISTS (SELECT 1 FROM bad WHERE path = '$' AND kind = 'schema' AND message ~ 'colour'),
          'an unknown top-level field is a problem');
SELECT ok(EXISTS (SELECT 1 FROM bad WHERE path = '$.risk_level' AND message ~ 'extreme'),
          'a risk level outside low, medium, high, critical is a problem');
SELECT ok(EXISTS (SELECT 1 FROM bad WHERE path = '$.execution.mode' AND message ~ 'eventually'),
          'an unknown execution mode is a problem');
SELECT ok(EXISTS (SELECT 1 FROM bad WHERE path = '$.policies.required[1]'),
          'a blank policy name is a problem, at its index');
SELECT ok(EXISTS (SELECT 1 FROM bad WHERE path = '$.connector_operations[0]'),
          'a connector operation that is not connector.operation is a problem');
SELECT ok(EXISTS (SELECT 1 FROM bad WHERE path = '$.max_attempts'), 'max_attempts below 1 is a problem');
SELECT ok(EXISTS (SELECT 1 FROM bad WHERE path = '$.side_effects.payment'),
          'a side effect that is not true or false is a problem');
SELECT ok(EXISTS (SELECT 1 FROM bad WHERE path = '$.name' AND kind = 'name' AND message ~ 'not an identifier'),
          'a name that is not an identifier is a problem');
SELECT ok(EXISTS (SELECT 1 FROM bad WHERE path = '$.version' AND kind = 'version'),
          'a version that is not MAJOR.MINOR.PATCH is a problem');
SELECT is((SELECT count(*) FROM bad WHERE path = '$.payload_schema' AND kind = 'json_schema'), 2::bigint,
          'a payload schema of an unknown type and with a remote $ref has two problems');
SELECT ok(EXISTS (SELECT 1 FROM bad WHERE kind = 'version_constraint' AND message ~ 'compensated_by command_type cancel'
                  AND message ~ '''soon'''),
          'a version constraint that does not parse is a problem naming its edge');

SELECT is(concord.registry_manifest_problems('command_type', '{"version": "1.0.0"}') -> 0 ->> 'message',
          '''name'' is a required property', 'name is required');
SELECT is(jsonb_array_length(concord.registry_manifest_problems('spaceship', '{"name": "x"}')), 1,
          'an unknown registry type is one problem');
SELECT is(concord.registry_manifest_problems('spaceship', '{}') -> 0 ->> 'kind', 'entity_type',
          'of kind entity_type');
SELECT is(concord.registry_manifest_problems('skill', '[]') -> 0 ->> 'message', 'a manifest is a JSON object, not array',
          'a manifest is a JSON object');

SET LOCAL ROLE concord_reader;
SELECT is(concord.registry_manifest_problems('skill', '{"name": "s", "version": "1.0.0"}'), '[]'::jsonb,
          'concord_reader may check a manifest');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
