-- The nine high-risk changes of spec 111.3 are named when a version makes
-- them (and for a first version, what it introduces), so publication can wait
-- for an approval.
BEGIN;
SELECT plan(14);

CREATE FUNCTION pg_temp.risks(entity_type text, old_manifest jsonb, new_manifest jsonb)
RETURNS text
LANGUAGE sql
AS $$
    SELECT coalesce(string_agg(r.value, ',' ORDER BY r.value), '')
    FROM jsonb_array_elements_text(
        concord.registry_classify_change(entity_type, old_manifest, new_manifest) -> 'high_risk_changes') AS r (value)
$$;

SELECT is(pg_temp.risks('command_type', '{"side_effects": {"external_write": false}}',
    '{"side_effects": {"external_write": true}}'), 'external_write_added', 'external write added');
SELECT is(pg_temp.risks('tool', '{"side_effect": "read"}', '{"side_effect": "external_write"}'),
    'external_write_added', 'a tool''s side effect becomes external_write');
SELECT is(pg_temp.risks('skill', '{"capabilities": []}',
    '{"capabilities": [{"type": "memory_write", "memory_type": "user.travel_preferences"}]}'),
    'memory_write_added', 'memory write added');
SELECT is(pg_temp.risks('command_type', '{}', '{"side_effects": {"payment": true}}'),
    'payment_operation_added', 'payment operation added');
SELECT is(pg_temp.risks('command_type', '{"side_effects": {"database_mutation": false}}',
    '{"side_effects": {"database_mutation": true}}'), 'database_mutation_added', 'database mutation added');
SELECT is(pg_temp.risks('agent_role', '{"subagent_roles": []}', '{"subagent_roles": ["researcher"]}'),
    'subagent_spawning_added', 'subagent spawning added');
SELECT is(pg_temp.risks('connector', '{"operations": [{"name": "search", "side_effect": "read", "scopes": ["r"]}]}',
    '{"operations": [{"name": "search", "side_effect": "read", "scopes": ["r", "w"]}]}'),
    'connector_scope_expanded', 'connector scope expanded (an operation''s scopes)');
SELECT is(pg_temp.risks('command_type', '{"connector_operations": ["hotel_booking.search"]}',
    '{"connector_operations": ["hotel_booking.search", "hotel_booking.book_hotel"]}'),
    'connector_scope_expanded', 'connector scope expanded (a command type''s connector operations)');
SELECT is(pg_temp.risks('command_type', '{"approval": {"required": true, "approval_type": "a"}}',
    '{"approval": {"approval_type": "a"}}'), 'approval_requirement_removed', 'approval requirement removed');
SELECT is(pg_temp.risks('command_type', '{"approval_required": true}', '{"approval_required": false}'),
    'approval_requirement_removed', 'approval requirement removed (legacy flat field)');
SELECT is(pg_temp.risks('artifact_schema', '{"schema": {"type": "object", "required": ["total"]}}',
    '{"schema": {"type": "object"}}'), 'artifact_schema_changed_incompatibly', 'artifact schema changed incompatibly');
SELECT is(pg_temp.risks('policy', '{"checks": ["a", "b"], "on_fail": "deny"}', '{"checks": ["a"], "on_fail": "warn"}'),
    'policy_weakened', 'policy weakened (a check removed, on_fail relaxed)');
SELECT is(pg_temp.risks('command_type', '{"policies": {"required": ["permission"]}, "policy_checks": ["budget"]}',
    '{"policies": {"required": ["permission"]}}'), 'policy_weakened', 'a command type losing a policy weakens it');
SELECT is(pg_temp.risks('skill', NULL, '{"capabilities": [
    {"type": "connector_operation", "connector": "hotel_booking", "operation": "book_hotel", "side_effect": true,
     "requires_approval": true},
    {"type": "payment"}, {"type": "subagent_spawn", "agent_role": "x"}]}'),
    'connector_scope_expanded,external_write_added,payment_operation_added,subagent_spawning_added',
    'a first version lists what it introduces');

SELECT * FROM finish();
ROLLBACK;
