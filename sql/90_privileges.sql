-- Roles (spec: DESIGN "Shape of the SQL"). Tables are written only through
-- the SECURITY DEFINER API. concord_app executes the API and reads the
-- views; concord_reader reads the views. Re-applied on every install, so
-- new functions start closed and are opened here by name.

REVOKE ALL ON ALL TABLES IN SCHEMA concord FROM PUBLIC, concord_app, concord_reader;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA concord FROM PUBLIC, concord_app, concord_reader;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA concord FROM PUBLIC, concord_app, concord_reader;
REVOKE ALL ON SCHEMA concord FROM PUBLIC;

GRANT USAGE ON SCHEMA concord TO concord_app, concord_reader;

GRANT EXECUTE ON FUNCTION
concord.register_command_type(jsonb),
concord.submit_command(text, jsonb, text, text, jsonb, text, text),
concord.transition_command(uuid, text, text, text, jsonb, text, text),
concord.cancel_command(uuid, text, text, text),
concord.add_dependency(uuid, uuid, text, boolean),
concord.dependencies_satisfied(uuid),
concord.plan_effect(uuid, text, jsonb, text, text, uuid),
concord.start_effect(uuid, text),
concord.complete_effect(uuid, jsonb),
concord.fail_effect(uuid, text, text),
concord.get_command(uuid),
concord.command_timeline(uuid),
concord.can_transition(text, text),
concord.map_task_to_primitives(text)
TO concord_app;

GRANT SELECT ON
concord.commands_by_status,
concord.recent_failures,
concord.effects_in_flight,
concord.command_audit,
concord.command_catalog
TO concord_app, concord_reader;
