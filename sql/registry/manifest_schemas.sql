-- The JSON Schemas (draft 2020-12) of the twelve registry types' manifests
-- (spec 107), written into concord.registry_entity_types at every migrate.
-- Each type's schema is its own fields plus what every manifest shares
-- (concord._registry_manifest_schema, sql/registry/manifest_schema_shared.sql).
--
-- A type's schema also accepts the spec of its legacy registration function
-- (register_command_type, register_tool, register_connector,
-- register_approval_type, register_policy) as optional fields: those
-- functions store their spec as a manifest. Top-level fields are closed
-- (additionalProperties false) so a misspelt field is refused, not ignored;
-- metadata and the *_schema fields are free.

-- The types change only here, at migrate (one transaction): their guard
-- (sql/registry/rules_registry_graph.sql) is lifted for this statement alone.
ALTER TABLE concord.registry_entity_types DISABLE TRIGGER USER;

INSERT INTO concord.registry_entity_types AS t (
    entity_type, display_name, description, manifest_schema
)
VALUES
(
    'command_type', 'Command type',
    'The contract of a governed action: payload schema, execution mode, policies, approval, '
    'artifacts, memory, connector operations, idempotency, compensation (spec 107.2).',
    concord._registry_manifest_schema('command_type', $j${
        "command_type": {"type": "string", "pattern": "^[a-z][a-z0-9_.:-]*$", "maxLength": 128},
        "payload_schema": {"$ref": "#/$defs/json_schema"},
        "output_schema": {"$ref": "#/$defs/json_schema"},
        "required_inputs": {"$ref": "#/$defs/names"},
        "execution": {"type": "object", "additionalProperties": false, "properties": {
            "mode": {"$ref": "#/$defs/mode"}, "dbos_workflow": {"$ref": "#/$defs/text"},
            "queue": {"$ref": "#/$defs/text"}}},
        "sync_allowed": {"type": "boolean"},
        "async_required": {"type": "boolean"},
        "policies": {"type": "object", "additionalProperties": false,
                     "properties": {"required": {"$ref": "#/$defs/refs"}}},
        "policy_checks": {"$ref": "#/$defs/names"},
        "approval": {"type": "object", "additionalProperties": false, "properties": {
            "required": {"type": "boolean"}, "approval_type": {"$ref": "#/$defs/ref"}}},
        "approval_required": {"type": "boolean"},
        "approval_type": {"$ref": "#/$defs/text"},
        "artifacts": {"type": "object", "additionalProperties": false,
                      "properties": {"produces": {"$ref": "#/$defs/refs"}}},
        "memory": {"type": "object", "additionalProperties": false, "properties": {
            "reads": {"$ref": "#/$defs/refs"}, "writes": {"$ref": "#/$defs/refs"}}},
        "connector_operations": {"$ref": "#/$defs/connector_operations"},
        "connector_requirements": {"$ref": "#/$defs/names"},
        "side_effects": {"type": "object", "additionalProperties": false, "properties": {
            "external_write": {"type": "boolean"}, "database_mutation": {"type": "boolean"},
            "payment": {"type": "boolean"}}},
        "idempotency": {"type": "object", "additionalProperties": false, "properties": {
            "required": {"type": "boolean"}, "key_template": {"$ref": "#/$defs/text"}}},
        "compensation": {"type": "object", "additionalProperties": false, "properties": {
            "supported": {"type": "boolean"}, "command_type": {"$ref": "#/$defs/ref"}}},
        "max_attempts": {"type": "integer", "minimum": 1, "maximum": 100},
        "default_cancellation_mode": {"enum": ["graceful", "compensate_then_stop"]},
        "ingress_types": {"$ref": "#/$defs/names"},
        "notification_required": {"type": "boolean"},
        "memory_write_possible": {"type": "boolean"},
        "artifact_output_possible": {"type": "boolean"},
        "cost_budget": {"type": "number", "minimum": 0},
        "over_budget": {"enum": ["require_approval", "deny"]},
        "function_name": {"$ref": "#/$defs/text"}
    }$j$)
),
(
    'skill', 'Skill',
    'A reusable governed capability package: instructions, tools, capabilities (connector '
    'operations, artifacts, memory, subagents), policy checks, evals (spec 107.1).',
    concord._registry_manifest_schema('skill', $j${
        "runtime": {"type": "object", "additionalProperties": false, "properties": {
            "min_concord_version": {"$ref": "#/$defs/text"},
            "compatible_agent_runtimes": {"$ref": "#/$defs/names"}}},
        "lifecycle": {"type": "object", "additionalProperties": false, "properties": {
            "owner": {"$ref": "#/$defs/text"}, "risk_level": {"$ref": "#/$defs/risk_level"}}},
        "capabilities": {"type": "array", "items": {"$ref": "#/$defs/capability"}},
        "policy": {"type": "object", "additionalProperties": false,
                   "properties": {"required_checks": {"$ref": "#/$defs/refs"}}},
        "tools": {"type": "array", "items": {
            "type": "object", "required": ["name"], "additionalProperties": false,
            "properties": {"name": {"$ref": "#/$defs/text"},
                           "command_type": {"$ref": "#/$defs/text"},
                           "mode": {"$ref": "#/$defs/mode"},
                           "version": {"$ref": "#/$defs/constraint"},
                           "description": {"type": "string"}}}},
        "evals": {"type": "object", "additionalProperties": false,
                  "properties": {"required": {"$ref": "#/$defs/refs"}}},
        "instructions_ref": {"$ref": "#/$defs/text"}
    }$j$, $j${
        "capability": {"type": "object", "required": ["type"], "additionalProperties": false,
            "properties": {
                "type": {"enum": ["connector_operation", "artifact_write", "artifact_read",
                                  "memory_read", "memory_write", "subagent_spawn",
                                  "database_mutation", "payment"]},
                "connector": {"$ref": "#/$defs/text"}, "operation": {"$ref": "#/$defs/text"},
                "side_effect": {"type": "boolean"}, "requires_approval": {"type": "boolean"},
                "artifact_type": {"$ref": "#/$defs/text"}, "memory_type": {"$ref": "#/$defs/text"},
                "requires_consent": {"type": "boolean"}, "agent_role": {"$ref": "#/$defs/text"},
                "version": {"$ref": "#/$defs/constraint"}, "description": {"type": "string"}},
            "allOf": [
                {"if": {"required": ["type"], "properties": {"type": {"const": "connector_operation"}}},
                 "then": {"required": ["connector", "operation"]}},
                {"if": {"required": ["type"],
                        "properties": {"type": {"enum": ["artifact_write", "artifact_read"]}}},
                 "then": {"required": ["artifact_type"]}},
                {"if": {"required": ["type"],
                        "properties": {"type": {"enum": ["memory_read", "memory_write"]}}},
                 "then": {"required": ["memory_type"]}},
                {"if": {"required": ["type"], "properties": {"type": {"const": "subagent_spawn"}}},
                 "then": {"required": ["agent_role"]}}]}
    }$j$)
),
(
    'tool', 'Tool',
    'An executable capability an agent calls: input and output schemas, mode, side effect, the '
    'command type it creates, connector operations, artifacts, policies.',
    concord._registry_manifest_schema('tool', $j${
        "input_schema": {"$ref": "#/$defs/json_schema"},
        "output_schema": {"$ref": "#/$defs/json_schema"},
        "mode": {"$ref": "#/$defs/mode"},
        "side_effect": {"enum": ["none", "read", "write", "external_write"]},
        "command_type": {"$ref": "#/$defs/ref"},
        "connector_operations": {"$ref": "#/$defs/connector_operations"},
        "artifact_types": {"$ref": "#/$defs/refs"},
        "policies": {"$ref": "#/$defs/refs"},
        "execution_mode": {"enum": ["sync", "async"]},
        "requires_approval": {"type": "boolean"},
        "connector": {"$ref": "#/$defs/text"},
        "capability": {"$ref": "#/$defs/text"},
        "function_name": {"$ref": "#/$defs/text"}
    }$j$) || '{"dependentRequired": {"capability": ["connector"]}}'::jsonb
),
(
    'connector', 'Connector',
    'An external system and its operations: scopes, rate limits, idempotency, compensation, '
    'approval requirements, adapter.',
    concord._registry_manifest_schema('connector', $j${
        "operations": {"type": "array", "items": {
            "type": "object", "required": ["name"], "additionalProperties": false,
            "properties": {
                "name": {"$ref": "#/$defs/text"},
                "description": {"type": "string"},
                "side_effect": {"enum": ["read", "write"]},
                "scopes": {"$ref": "#/$defs/names"},
                "idempotency_supported": {"type": "boolean"},
                "compensation": {"anyOf": [{"$ref": "#/$defs/text"}, {"type": "object"}]},
                "requires_approval": {"type": "boolean"},
                "input_schema": {"$ref": "#/$defs/json_schema"},
                "output_schema": {"$ref": "#/$defs/json_schema"}}}},
        "credential_scopes": {"$ref": "#/$defs/names"},
        "read_scopes": {"$ref": "#/$defs/names"},
        "write_scopes": {"$ref": "#/$defs/names"},
        "rate_limit": {"type": "object"},
        "adapter": {"$ref": "#/$defs/text"},
        "connector_type": {"$ref": "#/$defs/text"},
        "capabilities": {"$ref": "#/$defs/names"},
        "config": {"type": "object"}
    }$j$)
),
(
    'policy', 'Policy',
    'A named policy check or bundle: input contract, decision outputs, applicability, engine '
    '(built-in, declarative SQL/JSON path predicate, executable function, or an external engine).',
    concord._registry_manifest_schema('policy', $j${
        "input_schema": {"$ref": "#/$defs/json_schema"},
        "decision_outputs": {"$ref": "#/$defs/names"},
        "checks": {"$ref": "#/$defs/refs"},
        "applies_to": {"type": "object",
                       "properties": {"command_types": {"$ref": "#/$defs/names"}}},
        "on_fail": {"enum": ["deny", "require_approval", "warn"]},
        "engine": {"type": "object", "properties": {"kind": {"$ref": "#/$defs/text"}}},
        "rule": {"type": "object"},
        "kind": {"enum": ["builtin", "declarative", "executable"]},
        "config": {"type": "object"},
        "function": {"$ref": "#/$defs/text"},
        "organisation": {"$ref": "#/$defs/text"},
        "project": {"$ref": "#/$defs/text"},
        "command_types": {"$ref": "#/$defs/names"},
        "predicate": {"type": "string"},
        "vars": {"type": "object"},
        "decision": {"enum": ["deny", "require_input", "require_approval"]},
        "reasons": {"$ref": "#/$defs/names"},
        "approval_type": {"$ref": "#/$defs/text"},
        "missing_fields": {"$ref": "#/$defs/names"},
        "on_unknown": {"enum": ["allow", "deny", "require_input", "require_approval"]}
    }$j$)
),
(
    'artifact_schema', 'Artifact schema',
    'The contract of a durable output: its JSON Schema, visibility, lineage, retention, external '
    'sharing, rendering hints.',
    concord._registry_manifest_schema('artifact_schema', $j${
        "schema": {"$ref": "#/$defs/json_schema"},
        "visibility": {"$ref": "#/$defs/text"},
        "lineage_required": {"type": "boolean"},
        "retention_days": {"type": "integer", "minimum": 1},
        "external_sharing": {"anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/text"},
                                       {"type": "object"}]},
        "rendering": {"type": "object"}
    }$j$)
),
(
    'memory_schema', 'Memory schema',
    'The contract of durable preferences and facts: subject type, schema, visibility, consent, '
    'confidence, expiry, supersession, retrieval, write policy.',
    concord._registry_manifest_schema('memory_schema', $j${
        "subject_type": {"$ref": "#/$defs/text"},
        "schema": {"$ref": "#/$defs/json_schema"},
        "visibility": {"$ref": "#/$defs/text"},
        "consent_required": {"type": "boolean"},
        "min_confidence": {"type": "number", "minimum": 0, "maximum": 1},
        "expires_after_days": {"type": "integer", "minimum": 1},
        "supersession": {"anyOf": [{"$ref": "#/$defs/text"}, {"type": "object"}]},
        "retrieval": {"type": "object"},
        "write_policy": {"anyOf": [{"$ref": "#/$defs/text"}, {"type": "object"}]}
    }$j$)
),
(
    'agent_role', 'Agent role',
    'The capability boundary of an agent: skills, tools, connectors, subagent roles, step and '
    'depth limits, memory and artifact scopes, approval behaviour, runtimes.',
    concord._registry_manifest_schema('agent_role', $j${
        "skills": {"$ref": "#/$defs/refs"},
        "tools": {"$ref": "#/$defs/refs"},
        "connectors": {"$ref": "#/$defs/refs"},
        "subagent_roles": {"$ref": "#/$defs/refs"},
        "max_steps": {"type": "integer", "minimum": 1, "maximum": 100000},
        "max_depth": {"type": "integer", "minimum": 0, "maximum": 100},
        "memory_scope": {"$ref": "#/$defs/scope"},
        "artifact_scope": {"$ref": "#/$defs/scope"},
        "approval_behavior": {"anyOf": [{"$ref": "#/$defs/text"}, {"type": "object"}]},
        "compatible_runtimes": {"$ref": "#/$defs/names"}
    }$j$)
),
(
    'swarm_template', 'Swarm template',
    'A governed multi-agent pattern: coordinator and child roles, join strategy, spawn limits, '
    'required artifacts and evaluations, approval gates, scope inheritance; or a spec 67 swarm.',
    concord._registry_manifest_schema('swarm_template', $j${
        "coordinator_role": {"$ref": "#/$defs/ref"},
        "child_roles": {"$ref": "#/$defs/refs"},
        "join_strategy": {"enum": ["all_success", "first_success", "quorum",
                                   "coordinator_synthesis", "evaluator_selection", "human_review",
                                   "best_of_n", "map_reduce", "consensus", "ranked_review"]},
        "join_options": {"type": "object"},
        "spawn_limits": {"type": "object", "additionalProperties": false, "properties": {
            "max_children": {"type": "integer", "minimum": 0, "maximum": 1000},
            "max_depth": {"type": "integer", "minimum": 0, "maximum": 100}}},
        "parallelism": {"type": "integer", "minimum": 1},
        "required_artifacts": {"$ref": "#/$defs/refs"},
        "required_evaluations": {"$ref": "#/$defs/refs"},
        "approval_gates": {"$ref": "#/$defs/approval_gates"},
        "inherit": {"type": "object", "additionalProperties": false, "properties": {
            "memory_scope": {"anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/text"}]},
            "connector_scope": {"anyOf": [{"type": "boolean"}, {"$ref": "#/$defs/text"}]}}},
        "objective": {"$ref": "#/$defs/text"},
        "execution_mode": {"enum": ["sequential", "parallel", "competitive", "review_driven",
                                    "hierarchical"]},
        "limits": {"type": "object", "additionalProperties": false, "properties": {
            "max_agents": {"type": "integer", "minimum": 1, "maximum": 1000},
            "max_depth": {"type": "integer", "minimum": 0, "maximum": 100},
            "max_total_steps": {"type": "integer", "minimum": 1, "maximum": 1000000},
            "max_cost_units": {"type": ["number", "null"], "minimum": 0}}},
        "coordinator": {"$ref": "#/$defs/swarm_agent"},
        "agents": {"type": "array", "items": {"$ref": "#/$defs/swarm_agent"}},
        "runtime": {"$ref": "#/$defs/text"}
    }$j$)
),
(
    'approval_type', 'Approval type',
    'The contract of a human authorization: required fields, decision values, expiration, UI, '
    'resume behaviour, approver resolution, audit (spec 107.3).',
    concord._registry_manifest_schema('approval_type', $j${
        "required_fields": {"$ref": "#/$defs/names"},
        "decision_values": {"type": "array", "uniqueItems": true,
                            "items": {"enum": ["approved", "rejected", "request_changes"]},
                            "allOf": [{"contains": {"const": "approved"}},
                                      {"contains": {"const": "rejected"}}]},
        "expiration": {"type": "object", "additionalProperties": false, "properties": {
            "default_minutes": {"type": "integer", "minimum": 1, "maximum": 5256000}}},
        "ui": {"type": "object", "properties": {"template": {"$ref": "#/$defs/text"}}},
        "resume": {"type": "object", "additionalProperties": false, "properties": {
            "on_approved": {"enum": ["continue_workflow"]},
            "on_rejected": {"enum": ["fail", "fail_or_replan", "cancel"]},
            "on_request_changes": {"enum": ["request_input"]}}},
        "approver_resolution": {"type": "object"},
        "audit": {"type": "object"},
        "approver": {"type": "object", "minProperties": 1, "maxProperties": 1,
                     "additionalProperties": false, "properties": {
            "principals": {"$ref": "#/$defs/names", "minItems": 1},
            "team": {"$ref": "#/$defs/text"}, "role": {"$ref": "#/$defs/text"},
            "path": {"$ref": "#/$defs/text"}}},
        "approvers": {"$ref": "#/$defs/names"}
    }$j$)
),
(
    'evaluation_suite', 'Evaluation suite',
    'A contract for quality and safety checks: input and output schemas, blocking or advisory, '
    'applicability, runtime adapter, checks.',
    concord._registry_manifest_schema('evaluation_suite', $j${
        "input_schema": {"$ref": "#/$defs/json_schema"},
        "output_schema": {"$ref": "#/$defs/json_schema"},
        "blocking": {"type": "boolean"},
        "applies_to": {"type": "object"},
        "runtime_adapter": {"$ref": "#/$defs/text"},
        "checks": {"type": "array",
                   "items": {"anyOf": [{"$ref": "#/$defs/text"}, {"type": "object"}]}}
    }$j$)
),
(
    'workflow_type', 'Workflow type',
    'A repeatable business workflow: command sequence, allowed command types, default policies, '
    'agent roles and skills, swarm templates, approval gates, expected artifacts, DBOS workflow.',
    concord._registry_manifest_schema('workflow_type', $j${
        "command_sequence": {"type": "array", "items": {"$ref": "#/$defs/ref"}},
        "allowed_command_types": {"$ref": "#/$defs/refs"},
        "default_policies": {"$ref": "#/$defs/refs"},
        "default_agent_roles": {"$ref": "#/$defs/refs"},
        "default_skills": {"$ref": "#/$defs/refs"},
        "swarm_templates": {"$ref": "#/$defs/refs"},
        "approval_gates": {"$ref": "#/$defs/approval_gates"},
        "artifact_expectations": {"$ref": "#/$defs/refs"},
        "dbos_workflow": {"$ref": "#/$defs/text"}
    }$j$)
)
ON CONFLICT (entity_type) DO UPDATE
    SET
        display_name = excluded.display_name,
        description = excluded.description,
        manifest_schema = excluded.manifest_schema
    WHERE (t.display_name, t.description, t.manifest_schema)
    IS DISTINCT FROM (excluded.display_name, excluded.description, excluded.manifest_schema);

ALTER TABLE concord.registry_entity_types ENABLE TRIGGER USER;
