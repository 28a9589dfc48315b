-- Catalog rows are projections of bound versions (issue 14 section 3, spec
-- 106.3): command_types, policies, approval_types, tools and connectors are
-- written only by the projection of each entity's globally bound version
-- (a_catalog_row_is_the_projection_of_its_bound_version), the table owner's
-- bare INSERT, UPDATE and DELETE included; the register_* functions are
-- shorthands that create, publish and bind the next version, numbered by its
-- change (1.0.0, 1.1.0 additive, 2.0.0 breaking, 2.0.1 doc), each step a
-- governed concord.registry.* command; an identical registration creates
-- nothing.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(30);

-- The versions of entity_type name, in order, with their change class.
CREATE FUNCTION pg_temp.versions(entity_type text, name text)
RETURNS TABLE (version text, change_class text, status text)
LANGUAGE sql
AS $$
    SELECT v.version::text, v.change_class, v.status
    FROM concord.registry_versions AS v
    INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
    WHERE e.entity_type = versions.entity_type AND e.name = versions.name
    ORDER BY v.version
$$;

DO $$ BEGIN
    PERFORM concord.register_approval_type('{"name": "cp_people", "approvers": ["ann"]}');
    PERFORM concord.register_policy('{"name": "cp_rule", "predicate": "$.payload.n > 5", "decision": "deny"}');
    PERFORM concord.register_connector('{"name": "cp_conn", "connector_type": "http", "capabilities": ["read"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "cp_t", "sync_allowed": true,
          "payload_schema": {"type": "object", "properties": {"a": {"type": "string"}}}}');
    PERFORM concord.register_tool('{"name": "cp_tool", "command_type": "cp_t"}');
END $$;

-- ===========================================================================
-- The shorthand: versions numbered by their change
-- ===========================================================================
SELECT results_eq($$SELECT * FROM pg_temp.versions('command_type', 'cp_t')$$,
                  $$VALUES ('1.0.0', 'initial', 'published')$$,
                  'register_command_type creates version 1.0.0 of a platform entity, published');
SELECT results_eq(
    $$SELECT b.binding_scope, b.binding_target, b.status FROM concord.registry_bindings AS b
      INNER JOIN concord.registry_entities AS e ON b.entity_id = e.entity_id
      WHERE e.entity_type = 'command_type' AND e.name = 'cp_t'$$,
    $$VALUES ('global', '*', 'active')$$,
    'and binds it globally');
SELECT results_eq(
    $$SELECT c.command_type, c.status FROM concord.commands AS c
      WHERE c.command_type LIKE 'concord.registry.%' AND c.payload ->> 'name' = 'cp_t' ORDER BY c.created_at, c.command_type$$,
    $$VALUES ('concord.registry.bind_version', 'succeeded'), ('concord.registry.create_entity', 'succeeded'),
             ('concord.registry.create_version', 'succeeded'), ('concord.registry.publish_version', 'succeeded')$$,
    'each step is a governed registry command, run by the kernel');
SELECT is(concord.register_command_type(
              '{"command_type": "cp_t", "sync_allowed": true,
                "payload_schema": {"type": "object", "properties": {"a": {"type": "string"}}}}'), 'cp_t',
          'an identical registration answers as before');
SELECT is((SELECT count(*)::int FROM pg_temp.versions('command_type', 'cp_t')), 1, '... and creates no version');
SELECT is(concord.register_command_type(
              '{"command_type": "cp_t", "sync_allowed": true,
                "payload_schema": {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}}'),
          'cp_t', 'an optional payload field added');
SELECT is(concord.register_command_type(
              '{"command_type": "cp_t", "sync_allowed": true,
                "payload_schema": {"type": "object", "required": ["a"],
                                   "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}}'),
          'cp_t', 'a payload field made required');
SELECT is(concord.register_command_type(
              '{"command_type": "cp_t", "sync_allowed": true, "description": "documented",
                "payload_schema": {"type": "object", "required": ["a"],
                                   "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}}'),
          'cp_t', 'a description written');
SELECT results_eq($$SELECT version, change_class FROM pg_temp.versions('command_type', 'cp_t')$$,
                  $$VALUES ('1.0.0', 'initial'), ('1.1.0', 'additive'), ('2.0.0', 'breaking'), ('2.0.1', 'doc')$$,
                  'additive is a minor step, breaking a major one, doc a patch');
SELECT results_eq(
    $$SELECT t.payload_schema, t.description, t.version FROM concord.command_types AS t WHERE t.command_type = 'cp_t'$$,
    $$VALUES ('{"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}'::jsonb,
              'documented', 4)$$,
    'the catalog row is the projection of the bound version (its counter counts the projections)');
SELECT results_eq(
    $$SELECT e.entity_type, v.version::text FROM concord.registry_entities AS e
      INNER JOIN concord.registry_versions AS v ON e.entity_id = v.entity_id
      WHERE e.name IN ('cp_people', 'cp_rule', 'cp_conn', 'cp_tool') ORDER BY e.entity_type$$,
    $$VALUES ('approval_type', '1.0.0'), ('connector', '1.0.0'), ('policy', '1.0.0'), ('tool', '1.0.0')$$,
    'register_approval_type, register_policy, register_connector and register_tool make versions too');
SELECT is((SELECT version FROM concord.approval_types WHERE name = 'cp_people'), '1.0.0',
          'an approval type''s version column is its registry version');

-- ===========================================================================
-- Direct writes, as the table owner
-- ===========================================================================
-- the registrations' commands left deferred hand-offs, and PostgreSQL refuses
-- to TRUNCATE with pending trigger events (55006) before a guard speaks
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;
SET LOCAL ROLE concord_owner;
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.command_types (command_type, name) VALUES ('cp_direct', 'direct')$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version', 'CN007: no INSERT into command_types');
SELECT concord_test.throws_rule(
    $$UPDATE concord.command_types SET max_attempts = 9 WHERE command_type = 'cp_t'$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version', 'CN007: no UPDATE of command_types');
SELECT concord_test.throws_rule(
    $$DELETE FROM concord.command_types WHERE command_type = 'cp_t'$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version', 'CN007: no DELETE from command_types');
SELECT concord_test.throws_rule(
    $$TRUNCATE concord.command_types CASCADE$$,
    'CN007', 'command_types_are_not_truncated', 'CN007: no TRUNCATE of command_types');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.policies (name, kind, predicate, decision) VALUES ('cp_direct', 'declarative', 'true', 'deny')$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version', 'CN007: no INSERT into policies');
SELECT concord_test.throws_rule(
    $$UPDATE concord.policies SET vars = '{"x": 1}' WHERE name = 'cp_rule'$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version', 'CN007: no UPDATE of policies');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.approval_types (name, approver_team) VALUES ('cp_direct', 'team:x')$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version', 'CN007: no INSERT into approval_types');
SELECT concord_test.throws_rule(
    $$UPDATE concord.approval_types SET default_expiry_minutes = 5 WHERE name = 'cp_people'$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version', 'CN007: no UPDATE of approval_types');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.tools (tool_name, command_type) VALUES ('cp_direct', 'cp_t')$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version', 'CN007: no INSERT into tools');
SELECT concord_test.throws_rule(
    $$UPDATE concord.tools SET risk_level = 'high' WHERE tool_name = 'cp_tool'$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version', 'CN007: no UPDATE of tools');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.connectors (connector_name, connector_type) VALUES ('cp_direct', 'http')$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version', 'CN007: no INSERT into connectors');
SELECT concord_test.throws_rule(
    $$UPDATE concord.connectors SET risk_level = 'high' WHERE connector_name = 'cp_conn'$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version', 'CN007: no UPDATE of connectors');
SELECT concord_test.throws_rule(
    $$DELETE FROM concord.connectors WHERE connector_name = 'cp_conn'$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version', 'CN007: no DELETE from connectors');
RESET ROLE;

-- A public function resets the projection's marker on entry: a caller that
-- sets it cannot make a registration write around the registry.
SELECT set_config('concord.catalog_projection', 'on', true) AS forged \gset
SELECT is(concord.register_command_type(
              '{"command_type": "cp_t", "sync_allowed": true, "description": "documented again",
                "payload_schema": {"type": "object", "required": ["a"],
                                   "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}}}'),
          'cp_t', 'a registration with the marker forged');
SELECT is(current_setting('concord.catalog_projection'), 'on', '... leaves the caller''s setting as it was');
SELECT set_config('concord.catalog_projection', '', true) AS forged \gset
SELECT results_eq($$SELECT version FROM pg_temp.versions('command_type', 'cp_t') OFFSET 4$$, $$VALUES ('2.0.2')$$,
                  '... and still made a version, bound and projected');

-- the marker says a projection is under way; the row must still be its
SET LOCAL ROLE concord_owner;
SELECT set_config('concord.catalog_projection', 'on', true) AS forged \gset
SELECT concord_test.throws_rule(
    $$UPDATE concord.command_types SET sync_allowed = false WHERE command_type = 'cp_t'$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version',
    'the owner who sets the projection marker still cannot write a row its bound version does not say');
SELECT concord_test.throws_rule(
    $$DELETE FROM concord.command_types WHERE command_type = 'cp_t'$$,
    'CN007', 'a_catalog_row_is_the_projection_of_its_bound_version', '... nor delete one');
SELECT set_config('concord.catalog_projection', '', true) AS forged \gset
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
