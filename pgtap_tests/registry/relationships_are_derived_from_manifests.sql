-- The edges of the capability graph (spec 104, 108.2) are derived from what a
-- manifest declares, per registry type, plus its explicit relationships:
-- each edge once (required if any declaration requires it, allowing only the
-- versions every declaration allows), in a fixed order; a manifest of the
-- wrong shape or a legacy name that is not an identifier yields fewer edges,
-- never an error.
BEGIN;
SELECT plan(14);

CREATE FUNCTION pg_temp.edges(entity_type text, manifest jsonb)
RETURNS SETOF text
LANGUAGE sql
AS $$
    SELECT concat_ws(' ', r.relationship_type, r.target_entity_type, r.target_entity_name,
                     coalesce(r.target_version_constraint, '*'),
                     CASE WHEN r.required THEN 'required' ELSE 'optional' END,
                     nullif(r.metadata, '{}')::text)
    FROM concord._registry_manifest_relationships(entity_type, manifest) AS r
$$;

SELECT results_eq(
    $$SELECT * FROM pg_temp.edges('command_type', $j${
        "name": "book_hotel", "version": "1.0.0",
        "policies": {"required": ["permission", {"name": "connector_scope", "version": "^1.2"}]},
        "policy_checks": ["permission", "legacy policy!"],
        "approval": {"required": true, "approval_type": "hotel_booking_approval"},
        "approval_type": "hotel_booking_approval",
        "artifacts": {"produces": ["reservation_confirmation"]},
        "memory": {"reads": ["user.travel_preferences"], "writes": ["user.travel_preferences"]},
        "connector_operations": ["hotel_booking.book_hotel", "hotel_booking.v2.search"],
        "connector_requirements": ["hotel_booking"],
        "compensation": {"supported": true, "command_type": "cancel_reservation"}}$j$)$$,
    ARRAY[
        'compensated_by command_type cancel_reservation * required',
        'invokes_connector_operation connector hotel_booking * required {"operation": "book_hotel"}',
        'invokes_connector_operation connector hotel_booking * required {"operation": "v2.search"}',
        'produces_artifact artifact_schema reservation_confirmation * required',
        'reads_memory memory_schema user.travel_preferences * required',
        'requires_approval_type approval_type hotel_booking_approval * required',
        'requires_policy policy connector_scope ^1.2 required',
        'requires_policy policy legacy policy! * required',
        'requires_policy policy permission * required',
        'uses_connector connector hotel_booking * required',
        'writes_memory memory_schema user.travel_preferences * required'],
    'a command type requires its policies and approval type, produces its artifacts, reads and writes '
    'memory, invokes connector operations (split at the first dot), uses connectors, is compensated by '
    'its compensation; a legacy name that is not an identifier is kept'
);

SELECT results_eq(
    $$SELECT * FROM pg_temp.edges('skill', $j${
        "name": "hotel_booking", "version": "1.4.2",
        "capabilities": [
            {"type": "connector_operation", "connector": "hotel_booking", "operation": "book_hotel",
             "version": ">=2"},
            {"type": "artifact_write", "artifact_type": "reservation_confirmation"},
            {"type": "artifact_read", "artifact_type": "booking_draft"},
            {"type": "memory_read", "memory_type": "user.travel_preferences"},
            {"type": "memory_write", "memory_type": "user.travel_preferences"},
            {"type": "subagent_spawn", "agent_role": "researcher"},
            {"type": "payment"}],
        "policy": {"required_checks": ["permission"]},
        "tools": [{"name": "book_hotel", "command_type": "book_hotel", "version": "^1"}],
        "evals": {"required": ["booking_terms_present"]}}$j$)$$,
    ARRAY[
        'creates_command_type command_type book_hotel * required',
        'invokes_connector_operation connector hotel_booking >=2 required {"operation": "book_hotel"}',
        'produces_artifact artifact_schema reservation_confirmation * required',
        'reads_artifact artifact_schema booking_draft * required',
        'reads_memory memory_schema user.travel_preferences * required',
        'requires_policy policy permission * required',
        'runs_evaluation_suite evaluation_suite booking_terms_present * required',
        'spawns_agent_role agent_role researcher * required',
        'uses_tool tool book_hotel ^1 required',
        'writes_memory memory_schema user.travel_preferences * required'],
    'a skill uses its tools, creates their command types, and derives an edge from each capability, '
    'its policy checks and its evals'
);

SELECT results_eq(
    $$SELECT * FROM pg_temp.edges('tool', $j${
        "name": "t", "version": "1.0.0", "command_type": {"name": "book_hotel", "version": "^1"},
        "connector_operations": [{"connector": "crm", "operation": "read", "required": false}],
        "artifact_types": ["receipt"], "policies": ["permission"]}$j$)$$,
    ARRAY[
        'creates_command_type command_type book_hotel ^1 required',
        'invokes_connector_operation connector crm * optional {"operation": "read"}',
        'produces_artifact artifact_schema receipt * required',
        'requires_policy policy permission * required'],
    'a tool creates its command type, invokes its connector operations, produces its artifacts, '
    'requires its policies'
);
SELECT results_eq(
    $$SELECT * FROM pg_temp.edges('tool', '{"name": "t", "connector": "crm", "capability": "lookup"}')
      UNION ALL
      SELECT * FROM pg_temp.edges('tool', '{"name": "u", "connector": "crm"}')$$,
    ARRAY['invokes_connector_operation connector crm * required {"operation": "lookup"}',
          'uses_connector connector crm * required'],
    'a legacy tool invokes its connector''s capability, or uses its connector'
);

SELECT results_eq(
    $$SELECT * FROM pg_temp.edges('agent_role', $j${
        "name": "a", "version": "1.0.0", "skills": [{"name": "hotel_booking", "version": "~1.4"}],
        "tools": ["book_hotel"], "connectors": ["hotel_booking"], "subagent_roles": ["researcher"],
        "memory_scope": {"read": ["m1"], "write": ["m2"]},
        "artifact_scope": {"read": ["a1"], "write": ["a2"]}}$j$)$$,
    ARRAY[
        'produces_artifact artifact_schema a2 * required',
        'reads_artifact artifact_schema a1 * required',
        'reads_memory memory_schema m1 * required',
        'spawns_agent_role agent_role researcher * required',
        'uses_connector connector hotel_booking * required',
        'uses_skill skill hotel_booking ~1.4 required',
        'uses_tool tool book_hotel * required',
        'writes_memory memory_schema m2 * required'],
    'an agent role uses its skills, tools and connectors, spawns its subagent roles, reads and writes '
    'its memory and artifact scopes'
);

SELECT results_eq(
    $$SELECT * FROM pg_temp.edges('swarm_template', $j${
        "name": "s", "version": "1.0.0", "coordinator_role": "planner", "child_roles": ["booker"],
        "required_artifacts": ["itinerary"], "required_evaluations": ["itinerary_checks"],
        "approval_gates": ["spend_approval", {"approval_type": {"name": "hotel_approval", "version": "1.x"}}],
        "coordinator": {"agent_name": "c", "agent_role": "coordinator"},
        "agents": [{"agent_name": "r", "agent_role": "researcher"}, {"agent_name": "b", "agent_role": "booker"}]
    }$j$)$$,
    ARRAY[
        'coordinated_by agent_role coordinator * optional',
        'coordinated_by agent_role planner * required',
        'produces_artifact artifact_schema itinerary * required',
        'requires_approval_type approval_type hotel_approval 1.x required',
        'requires_approval_type approval_type spend_approval * required',
        'runs_evaluation_suite evaluation_suite itinerary_checks * required',
        'spawns_agent_role agent_role booker * required',
        'spawns_agent_role agent_role researcher * optional'],
    'a swarm template is coordinated by its coordinator role, spawns its child roles, produces its '
    'artifacts, runs its evaluations, requires its gates'' approval types; a spec 67 swarm''s agent '
    'roles are optional edges (a required declaration wins)'
);

SELECT results_eq(
    $$SELECT * FROM pg_temp.edges('workflow_type', $j${
        "name": "w", "version": "1.0.0", "command_sequence": ["draft", "book"],
        "allowed_command_types": ["book", "cancel"], "default_policies": ["permission"],
        "default_agent_roles": ["agent"], "default_skills": ["skill"], "swarm_templates": ["s"],
        "approval_gates": ["spend_approval"], "artifact_expectations": ["itinerary"]}$j$)$$,
    ARRAY[
        'allows_command_type command_type book * required',
        'allows_command_type command_type cancel * required',
        'allows_command_type command_type draft * required',
        'produces_artifact artifact_schema itinerary * required',
        'requires_approval_type approval_type spend_approval * required',
        'requires_policy policy permission * required',
        'spawns_agent_role agent_role agent * required',
        'uses_skill skill skill * required',
        'uses_swarm_template swarm_template s * required'],
    'a workflow type allows its command types and derives its defaults, swarm templates, gates and '
    'expected artifacts'
);

SELECT results_eq(
    $$SELECT * FROM pg_temp.edges('policy', '{"name": "bundle", "checks": ["a", "b"], "approval_type": "x"}')$$,
    ARRAY['requires_approval_type approval_type x * required', 'requires_policy policy a * required',
          'requires_policy policy b * required'],
    'a policy bundle requires its checks'
);

SELECT is_empty(
    $$SELECT * FROM pg_temp.edges('approval_type', '{"name": "a", "required_fields": ["x"], "ui": {"template": "t"}}')
      UNION ALL SELECT * FROM pg_temp.edges('connector', '{"name": "c", "operations": [{"name": "o"}]}')
      UNION ALL SELECT * FROM pg_temp.edges('artifact_schema', '{"name": "a", "schema": {}}')
      UNION ALL SELECT * FROM pg_temp.edges('memory_schema', '{"name": "m", "subject_type": "user"}')
      UNION ALL SELECT * FROM pg_temp.edges('evaluation_suite', '{"name": "e", "checks": ["x"]}')$$,
    'approval types, connectors, artifact and memory schemas and evaluation suites declare no derived edge'
);

SELECT results_eq(
    $$SELECT * FROM pg_temp.edges('connector', $j${"name": "c", "relationships": [
        {"type": "uses_connector", "target_type": "connector", "target_name": "vault", "version": ">=1.2"},
        {"type": "uses_connector", "target_type": "connector", "target_name": "vault", "version": "<2",
         "required": false},
        {"type": "invokes_connector_operation", "target_type": "connector", "target_name": "vault",
         "metadata": {"operation": "read"}, "required": false},
        {"type": "uses_connector", "target_type": "spaceship", "target_name": "x"},
        {"type": "uses_connector", "target_type": "connector", "target_name": " "}]}$j$)$$,
    ARRAY['invokes_connector_operation connector vault * optional {"operation": "read"}',
          'uses_connector connector vault <2 >=1.2 required'],
    'explicit relationships are edges too; one declared twice is one edge, required if either says so, '
    'within both constraints; an unknown target type or a blank name is no edge'
);

SELECT results_eq(
    $$SELECT * FROM pg_temp.edges('agent_role', '{"skills": ["a", "a", {"name": "a"}], "tools": ["t"]}')$$,
    ARRAY['uses_skill skill a * required', 'uses_tool tool t * required'],
    'a reference listed twice is one edge'
);

SELECT lives_ok(
    $$SELECT pg_temp.edges(t.entity_type, m.manifest)
      FROM concord.registry_entity_types AS t
      CROSS JOIN (VALUES (NULL::jsonb), ('[]'), ('"x"'), ('{"tools": 5, "skills": {"a": 1}}'),
                         ('{"capabilities": [1, {"type": 2}], "approval_gates": {"x": 1}}'),
                         ('{"relationships": [null, {"type": 1}], "policies": {"required": [null, 3]}}'),
                         ('{"connector_operations": [".", "a.", ".b", {"connector": 1}], "coordinator": []}')
                 ) AS m (manifest)$$,
    'a manifest of any shape, for any type, yields edges without an error'
);
SELECT is_empty(
    $$SELECT * FROM pg_temp.edges('command_type', '{"connector_operations": [".", "a.", ".b", "ab"],
                                                     "policies": {"required": [null, 3, ""]}}')$$,
    'what is not a reference is no edge'
);
SELECT is(
    (SELECT count(*) FROM concord._registry_manifest_relationships('skill', '{"tools": [{"name": "t"}]}')),
    1::bigint, 'a skill''s tool without a command type is a uses_tool edge only'
);

SELECT * FROM finish();
ROLLBACK;
