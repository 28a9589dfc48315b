-- The legacy catalogs are projections (issue 14 section 3, spec 106.3): a
-- row of command_types, policies, approval_types, tools or connectors is
-- what its registry entity's globally bound version says, written only by
-- concord._registry_project_catalog when a binding moves (bind, rebind,
-- rollback, retirement). Every other write is refused, the owner's bare
-- UPDATE included: a published version never changes in place.

-- The version of entity_id bound globally (pinned) in this database's
-- environment, if any.
CREATE OR REPLACE FUNCTION concord._registry_global_version(entity_id uuid)
RETURNS concord.registry_versions
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    v concord.registry_versions%ROWTYPE;
BEGIN
    SELECT x.* INTO v
    FROM concord.registry_bindings AS b
    INNER JOIN concord.registry_versions AS x ON b.version_id = x.version_id
    WHERE b.entity_id = _registry_global_version.entity_id AND b.binding_scope = 'global'
      AND b.status = 'active' AND b.rollout_strategy = 'pinned'
      AND b.environment = (SELECT r.environment FROM concord.registry_environment AS r)
      AND x.status IN ('published', 'deprecated')
    ORDER BY b.created_at DESC, b.registry_binding_id
    LIMIT 1;
    RETURN v;
END
$$;

-- (its first form took no strict argument)
DROP FUNCTION IF EXISTS concord._registry_project_catalog(uuid);

-- Rewrites the catalog row of entity_id from its globally bound version.
-- A version the catalog cannot hold (a spec 107 tool that creates no command
-- type, a policy of another engine, an approval type naming no approver)
-- lives in the registry only: no row is written. An entity with no global
-- binding left (retired without a migration)
-- keeps its row, and the kernel refuses new commands of that type (CN016
-- at submission): the row stays for what refers to it by name. A row
-- already equal to the version is not written again, so its counter and
-- audit trail move only with a change. A version whose row the catalog's
-- own rules refuse (a command type checking a policy the catalog does not
-- hold, a tool of a command type not projected) is not projected, with a
-- warning: the binding stands, and a command type without its row takes no
-- command (the commands' foreign key), so nothing runs unjudged. strict (a
-- register_* shorthand) raises the refusal instead. Answers whether it
-- wrote.
CREATE OR REPLACE FUNCTION concord._registry_project_catalog(
    entity_id uuid, strict boolean DEFAULT false
)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    e concord.registry_entities%ROWTYPE;
    v concord.registry_versions%ROWTYPE;
    ct concord.command_types%ROWTYPE;
    old_ct concord.command_types%ROWTYPE;
    p concord.policies%ROWTYPE;
    old_p concord.policies%ROWTYPE;
    t concord.approval_types%ROWTYPE;
    old_t concord.approval_types%ROWTYPE;
    tl concord.tools%ROWTYPE;
    old_tl concord.tools%ROWTYPE;
    cn concord.connectors%ROWTYPE;
    old_cn concord.connectors%ROWTYPE;
    wrote boolean := false;
BEGIN
    SELECT * INTO e FROM concord.registry_entities AS x WHERE x.entity_id = _registry_project_catalog.entity_id;
    IF NOT FOUND OR e.entity_type NOT IN ('command_type', 'policy', 'approval_type', 'tool', 'connector') THEN
        RETURN false;
    END IF;
    v := concord._registry_global_version(e.entity_id);
    IF v.version_id IS NULL THEN
        RETURN false;
    END IF;
    PERFORM set_config('concord.catalog_projection', 'on', true);
    BEGIN
    IF e.entity_type = 'command_type' THEN
        ct := concord._command_type_row(v.manifest);
        SELECT * INTO old_ct FROM concord.command_types AS x WHERE x.command_type = ct.command_type FOR UPDATE;
        IF NOT FOUND OR concord._command_type_manifest(old_ct) IS DISTINCT FROM concord._command_type_manifest(ct) THEN
            INSERT INTO concord.command_types AS x (
                command_type, name, description, function_name, ingress_types, required_inputs,
                payload_schema, sync_allowed, async_required, approval_required,
                memory_write_possible, artifact_output_possible, notification_required,
                policy_checks, connector_requirements, risk_level, max_attempts,
                default_cancellation_mode, metadata, approval_type, cost_budget, over_budget
            ) VALUES (
                ct.command_type, ct.name, ct.description, ct.function_name, ct.ingress_types, ct.required_inputs,
                ct.payload_schema, ct.sync_allowed, ct.async_required, ct.approval_required,
                ct.memory_write_possible, ct.artifact_output_possible, ct.notification_required,
                ct.policy_checks, ct.connector_requirements, ct.risk_level, ct.max_attempts,
                ct.default_cancellation_mode, ct.metadata, ct.approval_type, ct.cost_budget, ct.over_budget
            )
            ON CONFLICT (command_type) DO UPDATE SET
                name = excluded.name, description = excluded.description, function_name = excluded.function_name,
                ingress_types = excluded.ingress_types, required_inputs = excluded.required_inputs,
                payload_schema = excluded.payload_schema, sync_allowed = excluded.sync_allowed,
                async_required = excluded.async_required, approval_required = excluded.approval_required,
                memory_write_possible = excluded.memory_write_possible,
                artifact_output_possible = excluded.artifact_output_possible,
                notification_required = excluded.notification_required, policy_checks = excluded.policy_checks,
                connector_requirements = excluded.connector_requirements, risk_level = excluded.risk_level,
                max_attempts = excluded.max_attempts, default_cancellation_mode = excluded.default_cancellation_mode,
                metadata = excluded.metadata, approval_type = excluded.approval_type,
                cost_budget = excluded.cost_budget, over_budget = excluded.over_budget;
            wrote := true;
        END IF;
    ELSIF e.entity_type = 'policy' THEN
        p := concord._policy_row(v.manifest, e.org_id);
        SELECT * INTO old_p FROM concord.policies AS x WHERE x.name = p.name FOR UPDATE;
        IF NOT FOUND AND NOT (p.kind = 'executable' AND p.function_name IS NOT NULL
                              OR p.kind = 'declarative' AND p.predicate IS NOT NULL AND p.decision IS NOT NULL) THEN
            -- a policy of another engine lives in the registry only
            NULL;
        ELSIF FOUND AND old_p.kind = 'builtin' THEN
            -- a built-in's rule comes with Concord: its description and config are its own
            IF (old_p.description, old_p.config) IS DISTINCT FROM (p.description, p.config) THEN
                UPDATE concord.policies AS x SET description = p.description, config = p.config
                WHERE x.name = p.name;
                wrote := true;
            END IF;
        ELSIF NOT FOUND OR concord._policy_manifest(old_p) IS DISTINCT FROM concord._policy_manifest(p)
              OR old_p.org_id IS DISTINCT FROM p.org_id THEN
            INSERT INTO concord.policies AS x (
                name, kind, description, predicate, vars, decision, on_unknown, reasons, approval_type,
                missing_fields, function_name, config, org_id, project_id, command_types, spec
            ) VALUES (
                p.name, p.kind, p.description, p.predicate, p.vars, p.decision, p.on_unknown, p.reasons,
                p.approval_type, p.missing_fields, p.function_name, p.config, p.org_id, p.project_id,
                p.command_types, p.spec
            )
            ON CONFLICT (name) DO UPDATE SET
                kind = excluded.kind, description = excluded.description, predicate = excluded.predicate,
                vars = excluded.vars, decision = excluded.decision, on_unknown = excluded.on_unknown,
                reasons = excluded.reasons, approval_type = excluded.approval_type,
                missing_fields = excluded.missing_fields, function_name = excluded.function_name,
                config = excluded.config, org_id = excluded.org_id, project_id = excluded.project_id,
                command_types = excluded.command_types, spec = excluded.spec;
            wrote := true;
        END IF;
    ELSIF e.entity_type = 'approval_type' THEN
        t := concord._approval_type_row(v.manifest, v.version::text);
        SELECT * INTO old_t FROM concord.approval_types AS x WHERE x.name = t.name FOR UPDATE;
        -- the stored spec is not compared: an adopted row keeps the spec it was
        -- registered with; one that names no approver lives in the registry only
        IF num_nonnulls(t.approver_principals, t.approver_team, t.approver_path) <> 1 THEN
            NULL;
        ELSIF NOT FOUND OR (concord._approval_type_manifest(old_t), old_t.version)
                        IS DISTINCT FROM (concord._approval_type_manifest(t), t.version) THEN
            INSERT INTO concord.approval_types AS x (
                name, version, description, risk_level, required_fields, decision_values,
                default_expiry_minutes, approver_principals, approver_team, approver_path,
                on_approved, on_rejected, on_request_changes, ui, spec
            ) VALUES (
                t.name, t.version, t.description, t.risk_level, t.required_fields, t.decision_values,
                t.default_expiry_minutes, t.approver_principals, t.approver_team, t.approver_path,
                t.on_approved, t.on_rejected, t.on_request_changes, t.ui, t.spec
            )
            ON CONFLICT (name) DO UPDATE SET
                version = excluded.version, description = excluded.description, risk_level = excluded.risk_level,
                required_fields = excluded.required_fields, decision_values = excluded.decision_values,
                default_expiry_minutes = excluded.default_expiry_minutes,
                approver_principals = excluded.approver_principals, approver_team = excluded.approver_team,
                approver_path = excluded.approver_path, on_approved = excluded.on_approved,
                on_rejected = excluded.on_rejected, on_request_changes = excluded.on_request_changes,
                ui = excluded.ui, spec = excluded.spec;
            wrote := true;
        END IF;
    ELSIF e.entity_type = 'tool' THEN
        tl := concord._tool_row(v.manifest);
        SELECT * INTO old_tl FROM concord.tools AS x WHERE x.tool_name = tl.tool_name FOR UPDATE;
        -- a tool that creates no command type (a connector operation's, spec
        -- 107) is not a catalog tool: it lives in the registry only
        IF tl.command_type IS NULL AND tl.execution_mode <> 'gateway' THEN
            NULL;
        ELSIF NOT FOUND OR concord._tool_manifest(old_tl) IS DISTINCT FROM concord._tool_manifest(tl) THEN
            INSERT INTO concord.tools AS x (
                tool_name, description, input_schema, output_schema, execution_mode, risk_level, requires_approval,
                connector, capability, command_type, function_name, metadata, spec
            ) VALUES (
                tl.tool_name, tl.description, tl.input_schema, tl.output_schema, tl.execution_mode, tl.risk_level,
                tl.requires_approval, tl.connector, tl.capability, tl.command_type, tl.function_name, tl.metadata,
                tl.spec
            )
            ON CONFLICT ON CONSTRAINT tools_pkey DO UPDATE SET
                description = excluded.description, input_schema = excluded.input_schema,
                output_schema = excluded.output_schema, execution_mode = excluded.execution_mode,
                risk_level = excluded.risk_level, requires_approval = excluded.requires_approval,
                connector = excluded.connector, capability = excluded.capability,
                command_type = excluded.command_type, function_name = excluded.function_name,
                metadata = excluded.metadata, spec = excluded.spec;
            wrote := true;
        END IF;
    ELSE
        cn := concord._connector_row(v.manifest);
        SELECT * INTO old_cn FROM concord.connectors AS x WHERE x.connector_name = cn.connector_name FOR UPDATE;
        IF NOT FOUND OR concord._connector_manifest(old_cn) IS DISTINCT FROM concord._connector_manifest(cn) THEN
            INSERT INTO concord.connectors AS x (connector_name, connector_type, capabilities, config, risk_level,
                                                description)
            VALUES (cn.connector_name, cn.connector_type, cn.capabilities, cn.config, cn.risk_level, cn.description)
            ON CONFLICT (connector_name) DO UPDATE SET
                connector_type = excluded.connector_type, capabilities = excluded.capabilities,
                config = excluded.config, risk_level = excluded.risk_level, description = excluded.description;
            wrote := true;
        END IF;
    END IF;
    EXCEPTION WHEN foreign_key_violation OR check_violation OR not_null_violation OR SQLSTATE 'CN005' THEN
        PERFORM set_config('concord.catalog_projection', '', true);
        IF strict THEN
            RAISE;
        END IF;
        RAISE WARNING 'concord: % % %, bound globally, is not projected into the catalog: %', e.entity_type,
            e.name, v.version, SQLERRM;
        RETURN false;
    END;
    PERFORM set_config('concord.catalog_projection', '', true);
    RETURN wrote;
END
$$;

-- The guard: a catalog row is written only by the projection.
-- Whether row (of catalog table, as JSON) is what the projection of its
-- entity's globally bound version writes: the marker concord.catalog_projection
-- says a projection is under way, and this says it is that projection's row,
-- so a session that sets the marker itself still writes nothing else.
CREATE OR REPLACE FUNCTION concord._catalog_row_is_projected(catalog text, row_doc jsonb)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    wanted_type text := CASE catalog WHEN 'command_types' THEN 'command_type' WHEN 'policies' THEN 'policy'
                                     WHEN 'approval_types' THEN 'approval_type' WHEN 'tools' THEN 'tool'
                                     WHEN 'connectors' THEN 'connector' END;
    wanted_name text := CASE catalog WHEN 'command_types' THEN row_doc ->> 'command_type'
                                     WHEN 'tools' THEN row_doc ->> 'tool_name'
                                     WHEN 'connectors' THEN row_doc ->> 'connector_name'
                                     ELSE row_doc ->> 'name' END;
    e concord.registry_entities%ROWTYPE;
    v concord.registry_versions%ROWTYPE;
    p concord.policies%ROWTYPE;
    t concord.approval_types%ROWTYPE;
BEGIN
    SELECT * INTO e FROM concord.registry_entities AS x
    WHERE x.entity_type = wanted_type AND x.name = wanted_name;
    v := concord._registry_global_version(e.entity_id);
    IF v.version_id IS NULL THEN
        RETURN false;
    END IF;
    IF catalog = 'command_types' THEN
        RETURN concord._command_type_manifest(jsonb_populate_record(NULL::concord.command_types, row_doc))
            = concord._command_type_manifest(concord._command_type_row(v.manifest));
    ELSIF catalog = 'policies' THEN
        p := concord._policy_row(v.manifest, e.org_id);
        IF row_doc ->> 'kind' = 'builtin' THEN
            -- a built-in's rule is Concord's: only its description and config are projected
            RETURN (row_doc ->> 'description', row_doc -> 'config') IS NOT DISTINCT FROM (p.description, p.config);
        END IF;
        RETURN concord._policy_manifest(jsonb_populate_record(NULL::concord.policies, row_doc))
            = concord._policy_manifest(p)
            AND (row_doc ->> 'org_id')::uuid IS NOT DISTINCT FROM p.org_id;
    ELSIF catalog = 'approval_types' THEN
        t := concord._approval_type_row(v.manifest, v.version::text);
        RETURN (concord._approval_type_manifest(jsonb_populate_record(NULL::concord.approval_types, row_doc)),
                row_doc ->> 'version')
            = (concord._approval_type_manifest(t), t.version::text);
    ELSIF catalog = 'tools' THEN
        RETURN concord._tool_manifest(jsonb_populate_record(NULL::concord.tools, row_doc))
            = concord._tool_manifest(concord._tool_row(v.manifest));
    ELSIF catalog = 'connectors' THEN
        RETURN concord._connector_manifest(jsonb_populate_record(NULL::concord.connectors, row_doc))
            = concord._connector_manifest(concord._connector_row(v.manifest));
    END IF;
    RETURN false;
END
$$;

CREATE OR REPLACE FUNCTION concord._catalog_rows_are_projections()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    -- a projection inserts and updates, never deletes
    IF current_setting('concord.catalog_projection', true) = 'on' AND TG_OP <> 'DELETE'
       AND concord._catalog_row_is_projected(TG_TABLE_NAME, to_jsonb(NEW)) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'CN007',
        CONSTRAINT = 'a_catalog_row_is_the_projection_of_its_bound_version',
        TABLE = TG_TABLE_NAME,
        MESSAGE = format('%s: %s is refused: a catalog row is the projection of the registry version bound '
                         'globally, never written in place', TG_TABLE_NAME, TG_OP),
        HINT = 'Register it again (concord.register_* makes, publishes and binds a new version), or create, '
               'publish and bind a version with the registry API (concord.create_registry_version).';
END
$$;

-- Named to fire after each table's own rules, which keep their errors.
CREATE OR REPLACE TRIGGER command_types_written_only_by_projection
BEFORE INSERT OR UPDATE OR DELETE ON concord.command_types
FOR EACH ROW EXECUTE FUNCTION concord._catalog_rows_are_projections();

CREATE OR REPLACE TRIGGER policies_written_only_by_projection
BEFORE INSERT OR UPDATE OR DELETE ON concord.policies
FOR EACH ROW EXECUTE FUNCTION concord._catalog_rows_are_projections();

CREATE OR REPLACE TRIGGER approval_types_written_only_by_projection
BEFORE INSERT OR UPDATE OR DELETE ON concord.approval_types
FOR EACH ROW EXECUTE FUNCTION concord._catalog_rows_are_projections();

CREATE OR REPLACE TRIGGER tools_written_only_by_projection
BEFORE INSERT OR UPDATE OR DELETE ON concord.tools
FOR EACH ROW EXECUTE FUNCTION concord._catalog_rows_are_projections();

CREATE OR REPLACE TRIGGER connectors_written_only_by_projection
BEFORE INSERT OR UPDATE OR DELETE ON concord.connectors
FOR EACH ROW EXECUTE FUNCTION concord._catalog_rows_are_projections();

-- The other catalogs refuse TRUNCATE already (their rows are referred to).
CREATE OR REPLACE TRIGGER command_types_are_not_truncated
BEFORE TRUNCATE ON concord.command_types
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'are referred to by commands, grants and tools',
    'A command type is retired through the registry.'
);
