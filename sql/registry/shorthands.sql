-- The old registration functions as shorthands of the registry (issue 14
-- section 3): register_command_type, register_policy,
-- register_approval_type, register_tool and register_connector keep their
-- checks, then create the entity if missing, and when the manifest differs
-- from the globally bound version's, create the next version (numbered by
-- its change), publish it and bind it globally, inline, each step a governed
-- concord.registry.* command run by the kernel. The binding projects the
-- catalog row (sql/registry/catalog_projection.sql).

-- The number after latest for a change of change_class (1.0.0 for the
-- first), above every number the entity already holds.
CREATE OR REPLACE FUNCTION concord._registry_next_version(
    entity_id uuid, latest text, change_class text
)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    major integer;
    minor integer;
    patch integer;
    candidate text;
BEGIN
    IF latest IS NULL THEN
        candidate := '1.0.0';
    ELSE
        major := semver.get_semver_major(latest::semver.semver);
        minor := semver.get_semver_minor(latest::semver.semver);
        patch := semver.get_semver_patch(latest::semver.semver);
        -- 0.x counts a minor step as a major one (_registry_version_bump_problems)
        candidate := CASE
            WHEN change_class = 'breaking' AND major = 0 THEN format('0.%s.0', minor + 1)
            WHEN change_class = 'breaking' THEN format('%s.0.0', major + 1)
            WHEN change_class = 'additive' THEN format('%s.%s.0', major, minor + 1)
            ELSE format('%s.%s.%s', major, minor, patch + 1)
        END;
    END IF;
    -- a draft left by the registry API may hold the number: step past it
    WHILE EXISTS (SELECT 1 FROM concord.registry_versions AS v
                  WHERE v.entity_id = _registry_next_version.entity_id
                    AND v.version OPERATOR(semver.=) candidate::semver.semver) LOOP
        candidate := format('%s.%s.%s', split_part(candidate, '.', 1), split_part(candidate, '.', 2),
                            split_part(candidate, '.', 3)::integer + 1);
    END LOOP;
    RETURN candidate;
END
$$;

-- The legacy catalogs named what they did not register (a command type's
-- connector_requirements): in a version made from a catalog row, an edge to
-- what the registry does not hold is optional, so the version validates as
-- the row always did; an edge to what it holds stays required.
CREATE OR REPLACE FUNCTION concord._registry_legacy_edges_are_optional(version_id uuid)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    edges jsonb;
BEGIN
    -- a draft's edges are replaced, never updated (rules_registry_graph.sql)
    WITH gone AS (
        DELETE FROM concord.registry_relationships AS r
        WHERE r.source_version_id = _registry_legacy_edges_are_optional.version_id AND r.required
          AND NOT EXISTS (SELECT 1 FROM concord.registry_entities AS e
                          WHERE e.entity_type = r.target_entity_type AND e.name = r.target_entity_name)
        RETURNING r.*
    )
    SELECT jsonb_agg(to_jsonb(gone)) INTO edges FROM gone;
    INSERT INTO concord.registry_relationships (
        source_version_id, relationship_type, target_entity_type, target_entity_name, target_version_constraint,
        target_versions, required, metadata
    )
    SELECT x.source_version_id, x.relationship_type, x.target_entity_type, x.target_entity_name,
           x.target_version_constraint, x.target_versions, false, x.metadata
    FROM jsonb_populate_recordset(NULL::concord.registry_relationships, edges) AS x;
END
$$;

-- Runs registry command c inline as the kernel and, for a type a DBOS
-- workflow would run, withdraws the workflow its submission enqueued.
CREATE OR REPLACE FUNCTION concord._registry_shorthand_step(
    c concord.commands, actor text, result jsonb
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    IF c.command_id IS NULL THEN
        RETURN;
    END IF;
    IF c.status NOT IN ('validated', 'queued') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'a_registry_change_is_allowed_by_its_policies',
            MESSAGE = format('registry change %s of %s %s is %s: a registration cannot wait for it', c.command_type,
                             c.payload ->> 'entity_type', c.payload ->> 'name', c.status),
            HINT = 'Publish it through the registry API (concord.publish_registry_version), which waits for its '
                   'approval.';
    END IF;
    PERFORM concord._registry_ran_inline(c, actor, result);
    PERFORM concord._cancel_queued_workflow(c.dbos_workflow_id);
END
$$;

-- Records registry command verb of a registration, as _registry_submit
-- does. An operator's login that speaks for no principal and sees no project
-- (concord_admin without a mapping) cannot record a command in any project
-- (row-level security): its registration is recorded by the registry's
-- lifecycle events alone, under its login. Answers no command then.
CREATE OR REPLACE FUNCTION concord._registry_shorthand_submit(
    verb text, e concord.registry_entities, payload jsonb, actor text
)
RETURNS concord.commands
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    none concord.commands%ROWTYPE;
BEGIN
    IF e.org_id IS NULL AND concord._principal() IS NULL AND NOT concord._sees_all() THEN
        RETURN none;
    END IF;
    RETURN concord._registry_submit(verb, e, payload, actor);
END
$$;

-- Makes manifest (without its version) the globally bound version of
-- entity_type name (org_id: its organisation, NULL for a platform entity),
-- for actor: nothing when the bound version already says the same, else a
-- new version created, published and bound. Returns the bound version.
CREATE OR REPLACE FUNCTION concord._registry_shorthand(
    entity_type text, name text, manifest jsonb, org_id uuid, actor text
)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    e concord.registry_entities%ROWTYPE;
    bound concord.registry_versions%ROWTYPE;
    latest concord.registry_versions%ROWTYPE;
    c concord.commands%ROWTYPE;
    doc jsonb;
    change_class text;
    number text;
    new_id uuid;
    answer jsonb;
BEGIN
    manifest := (manifest - 'version') || jsonb_build_object('name', name);
    SELECT * INTO e FROM concord.registry_entities AS x
    WHERE x.entity_type = _registry_shorthand.entity_type AND x.name = _registry_shorthand.name FOR UPDATE;
    IF NOT FOUND THEN
        e.entity_type := entity_type;
        e.name := name;
        e.org_id := org_id;
        c := concord._registry_shorthand_submit('create_entity', e, jsonb_build_object(
            'display_name', coalesce(manifest ->> 'display_name', name), 'owner', actor,
            'description', manifest ->> 'description', 'shorthand', true), actor);
        new_id := concord._registry_create_entity(entity_type, name, manifest ->> 'display_name', actor,
                                                  manifest ->> 'description', NULL, org_id, actor);
        PERFORM concord._registry_shorthand_step(c, actor, jsonb_build_object('entity_id', new_id));
        e := concord._registry_entity(entity_type, name, true);
    ELSIF e.org_id IS DISTINCT FROM org_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_registry_entity_name_is_taken_once',
            TABLE = 'registry_entities',
            MESSAGE = format('registry entity %s %s already exists and belongs to another organisation',
                             entity_type, name),
            HINT = 'Choose another name.';
    END IF;

    bound := concord._registry_global_version(e.entity_id);
    IF bound.version_id IS NOT NULL
       AND bound.checksum = concord.registry_checksum(manifest || jsonb_build_object('version', bound.version::text)) THEN
        -- the same again: its row may still need projecting (an adopted row)
        PERFORM concord._registry_project_catalog(e.entity_id, true);
        RETURN bound.version_id;
    END IF;
    latest := concord._registry_latest_published(e.entity_id);
    IF latest.version_id IS NOT NULL AND latest.status = 'published' AND latest.checksum
       = concord.registry_checksum(manifest || jsonb_build_object('version', latest.version::text)) THEN
        -- published already but not bound here (unbound, or bound elsewhere)
        new_id := latest.version_id;
        number := latest.version::text;
    ELSE
        IF latest.version_id IS NOT NULL THEN
            change_class := concord.registry_classify_change(
                entity_type, latest.manifest, manifest || jsonb_build_object('version', latest.version::text))
                ->> 'change_class';
        END IF;
        number := concord._registry_next_version(e.entity_id, latest.version::text, change_class);
        doc := manifest || jsonb_build_object('version', number);
        c := concord._registry_shorthand_submit('create_version', e, jsonb_build_object(
            'version', number, 'checksum', concord.registry_checksum(doc), 'shorthand', true), actor);
        new_id := concord._registry_create_version(e, number, doc, '[]', actor);
        PERFORM concord._registry_legacy_edges_are_optional(new_id);
        PERFORM concord._registry_shorthand_step(c, actor, jsonb_build_object('version_id', new_id));
        latest := concord._registry_version(new_id);
        IF latest.approval_required THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                CONSTRAINT = 'a_high_risk_version_is_published_only_after_approval',
                TABLE = 'registry_versions',
                MESSAGE = format('%s %s %s makes high-risk changes (%s): a registration cannot publish it without '
                                 'an owner''s approval', entity_type, name, number, latest.high_risk_changes),
                HINT = 'Create and publish the version with the registry API (concord.publish_registry_version): '
                       'another owner of the organisation approves it.';
        END IF;
        c := concord._registry_shorthand_submit('publish_version', e, jsonb_build_object(
            'version_id', new_id, 'version', number, 'checksum', latest.checksum, 'approval_required', false,
            'high_risk_changes', latest.high_risk_changes, 'risk_level', latest.risk_level,
            'created_by', latest.created_by, 'approvers', '[]'::jsonb, 'shorthand', true), actor);
        answer := concord._registry_publish(new_id, NULL);
        PERFORM concord._registry_shorthand_step(c, actor, answer);
    END IF;
    c := concord._registry_shorthand_submit('bind_version', e, jsonb_build_object(
        'version_id', new_id, 'version', number, 'binding_scope', 'global', 'binding_target', '*',
        'environment', (SELECT r.environment FROM concord.registry_environment AS r),
        'rollout_strategy', 'pinned', 'rollout_config', '{}'::jsonb, 'shorthand', true), actor);
    answer := concord._registry_bind(new_id, 'global', '*', NULL, 'pinned', '{}', actor);
    -- a registration answers with the catalog's own refusal (a raw secret, a
    -- policy it does not hold), not with a binding left unprojected
    PERFORM concord._registry_project_catalog(e.entity_id, true);
    PERFORM concord._registry_shorthand_step(c, actor, answer);
    RETURN new_id;
END
$$;
