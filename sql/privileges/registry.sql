-- The Domain Registry's grants (sql/privileges/grants.sql revokes everything
-- first; this file opens the registry by name). Who may change which entity
-- is decided inside each function (an owner or admin of its organisation, or
-- an operator), so the mutating API is open to the roles people act through.

GRANT EXECUTE ON FUNCTION
concord.create_registry_entity(text, text, text, text, text, text, text),
concord.create_registry_version(text, text, text, jsonb, jsonb),
concord.validate_registry_version(uuid),
concord.publish_registry_version(uuid),
concord.bind_registry_version(uuid, text, text, text, text, jsonb),
concord.rollback_registry_binding(uuid, uuid, text),
concord.deprecate_registry_version(uuid, text),
concord.retire_registry_version(uuid, text, boolean, uuid),
concord.reject_registry_version(uuid, text)
TO concord_app, concord_admin;

GRANT EXECUTE ON FUNCTION
concord.registry_canonical_json(jsonb),
concord.registry_checksum(jsonb)
TO concord_app, concord_reader, concord_approver, concord_admin, concord_worker, concord_agent;

GRANT EXECUTE ON FUNCTION concord.runtime_registry_command(uuid, text) TO concord_worker;

-- a canary's bucket is arithmetic on names the caller holds: every role may
-- compute it
GRANT EXECUTE ON FUNCTION concord.registry_subject_bucket(uuid, text)
TO concord_app, concord_reader, concord_approver, concord_admin, concord_worker, concord_agent;

GRANT EXECUTE ON FUNCTION
concord.resolve_command_type_contract(text, jsonb, text),
concord.resolve_registry_entity(text, text, jsonb, text),
concord.resolve_agent_runtime_manifest(uuid, text, text, jsonb, text),
concord.can_use_capability(uuid, text, text, text, jsonb),
concord.explain_capability_use(uuid, text, text, text, jsonb)
TO concord_app, concord_admin, concord_worker;

GRANT EXECUTE ON FUNCTION concord.resolve_agent_runtime_manifest(uuid, text, text, jsonb, text)
TO concord_agent;

GRANT EXECUTE ON FUNCTION concord.registry_version(uuid)
TO concord_app, concord_reader, concord_admin;

GRANT EXECUTE ON FUNCTION
concord.registry_impact(text, text, text),
concord.commands_under_contract(uuid)
TO concord_app, concord_admin, concord_worker;

GRANT SELECT ON
concord.registry_entity_versions,
concord.registry_active_bindings,
concord.registry_lifecycle_timeline,
concord.registry_version_usage,
concord.registry_deprecated_usage,
concord.registry_retired_resolution_attempts,
concord.registry_impact_edges,
concord.registry_version_commands
TO concord_app, concord_reader, concord_admin;

-- the registry views call it in their reader's name (as the row-security
-- helpers are called): it says whether a binding's target is the reader's
-- business
GRANT EXECUTE ON FUNCTION concord._registry_binding_visible(text, text)
TO concord_app, concord_reader, concord_approver, concord_admin, concord_worker, concord_agent;
