-- What every registry manifest shares (spec 107, issue 14): the common
-- fields and the definitions each type's JSON Schema copies into its own
-- $defs (sql/registry/manifest_schemas.sql), so that a schema refers only to
-- itself ("#/$defs/...") and can be handed out and checked alone.

-- What every manifest shares: the common fields and the definitions.
CREATE OR REPLACE FUNCTION concord._registry_manifest_schema(
    entity_type text, properties jsonb, defs jsonb DEFAULT '{}'
)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT jsonb_build_object(
        '$schema', 'https://json-schema.org/draft/2020-12/schema',
        'title', format('Concord %s manifest', entity_type),
        'type', 'object',
        'required', jsonb_build_array('name', 'version'),
        'additionalProperties', false,
        'properties', $j${
            "name": {"type": "string", "minLength": 1,
                     "description": "the entity's name (letters, digits, _ . : -)"},
            "version": {"type": "string", "minLength": 1,
                        "description": "MAJOR.MINOR.PATCH[-pre-release]"},
            "display_name": {"$ref": "#/$defs/text"},
            "description": {"type": "string"},
            "owner": {"$ref": "#/$defs/text"},
            "domain": {"$ref": "#/$defs/text"},
            "risk_level": {"$ref": "#/$defs/risk_level"},
            "metadata": {"type": "object"},
            "relationships": {"type": "array", "items": {"$ref": "#/$defs/relationship"}}
        }$j$::jsonb || properties,
        '$defs', $j${
            "text": {"type": "string", "pattern": "\\S"},
            "names": {"type": "array", "items": {"$ref": "#/$defs/text"}, "uniqueItems": true},
            "constraint": {"type": "string",
                           "description": "a version constraint: *, 1.2.3, >=1.2 <2, ^1.4, ~1.4, 1.x"},
            "ref": {"anyOf": [
                {"$ref": "#/$defs/text"},
                {"type": "object", "required": ["name"], "additionalProperties": false,
                 "properties": {"name": {"$ref": "#/$defs/text"},
                                "version": {"$ref": "#/$defs/constraint"},
                                "required": {"type": "boolean"}}}]},
            "refs": {"type": "array", "items": {"$ref": "#/$defs/ref"}, "uniqueItems": true},
            "risk_level": {"enum": ["low", "medium", "high", "critical"]},
            "mode": {"enum": ["sync", "async", "approval_gated_async"]},
            "json_schema": {"type": ["object", "boolean"]},
            "count": {"type": "integer", "minimum": 0},
            "connector_operation": {"anyOf": [
                {"type": "string", "pattern": "^[^.[:space:]]+\\.[^[:space:]]+$",
                 "description": "connector.operation"},
                {"type": "object", "required": ["connector", "operation"],
                 "additionalProperties": false,
                 "properties": {"connector": {"$ref": "#/$defs/text"},
                                "operation": {"$ref": "#/$defs/text"},
                                "version": {"$ref": "#/$defs/constraint"},
                                "required": {"type": "boolean"}}}]},
            "connector_operations": {"type": "array", "uniqueItems": true,
                                     "items": {"$ref": "#/$defs/connector_operation"}},
            "approval_gates": {"type": "array", "items": {"anyOf": [
                {"$ref": "#/$defs/text", "description": "an approval type's name"},
                {"type": "object", "required": ["approval_type"],
                 "properties": {"approval_type": {"$ref": "#/$defs/ref"},
                                "name": {"$ref": "#/$defs/text"}}}]}},
            "scope": {"type": "object", "properties": {"read": {"$ref": "#/$defs/refs"},
                                                       "write": {"$ref": "#/$defs/refs"}}},
            "swarm_agent": {"type": "object", "required": ["agent_name"],
                            "additionalProperties": false, "properties": {
                "agent_name": {"$ref": "#/$defs/text"}, "agent_role": {"$ref": "#/$defs/text"},
                "agent_version": {"$ref": "#/$defs/text"}, "goal": {"$ref": "#/$defs/text"},
                "delegated_goal": {"$ref": "#/$defs/text"},
                "max_steps": {"type": "integer", "minimum": 1, "maximum": 100000},
                "allowed_tools": {"$ref": "#/$defs/names"},
                "allowed_connectors": {"$ref": "#/$defs/names"},
                "allowed_child_roles": {"$ref": "#/$defs/names"},
                "memory_scope": {"type": "object"}, "context_scope": {"type": "object"},
                "constraints": {"type": "object"}, "model_config": {"type": "object"},
                "runtime_config": {"type": "object"}, "metadata": {"type": "object"}}},
            "relationship": {"type": "object", "required": ["type", "target_type", "target_name"],
                             "additionalProperties": false, "properties": {
                "type": {"enum": ["uses_skill", "uses_tool", "creates_command_type",
                                  "invokes_connector_operation", "requires_policy",
                                  "requires_approval_type", "produces_artifact", "reads_artifact",
                                  "reads_memory", "writes_memory", "spawns_agent_role",
                                  "uses_swarm_template", "runs_evaluation_suite",
                                  "allows_command_type", "compensated_by", "uses_connector",
                                  "coordinated_by"]},
                "target_type": {"enum": ["skill", "tool", "connector", "command_type", "policy",
                                         "artifact_schema", "memory_schema", "agent_role",
                                         "swarm_template", "approval_type", "evaluation_suite",
                                         "workflow_type"]},
                "target_name": {"$ref": "#/$defs/text"},
                "version": {"$ref": "#/$defs/constraint"},
                "required": {"type": "boolean"},
                "metadata": {"type": "object"}}}
        }$j$::jsonb || defs
    )
$$;
