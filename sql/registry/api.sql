-- The Domain Registry's public API (spec 115): each call checks who acts
-- (sql/registry/governance.sql) and records a governed command; the
-- lifecycle steps themselves are in sql/registry/versions.sql, lifecycle.sql
-- and bindings.sql.

CREATE OR REPLACE FUNCTION concord.create_registry_entity(
    entity_type text, name text, display_name text, owner text, description text DEFAULT NULL,
    domain text DEFAULT NULL, organisation text DEFAULT NULL
)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
SET "concord.registry_command" = ''
SET "concord.registry_trace" = ''
SET "concord.registry_rebind" = ''
SET "concord.catalog_projection" = ''
AS $$
#variable_conflict use_variable
DECLARE
    org uuid;
    e concord.registry_entities%ROWTYPE;
    actor text;
    c concord.commands%ROWTYPE;
    new_id uuid;
BEGIN
    PERFORM concord._require('entity_type', entity_type);
    PERFORM concord._require('name', name);
    PERFORM concord._require('owner', owner);
    IF organisation IS NOT NULL THEN
        org := concord._organisation(organisation);
    ELSIF NOT concord._is_operator() THEN
        org := concord._chosen_org();
    END IF;
    -- judged as the entity it will be
    e.entity_type := entity_type;
    e.name := name;
    e.org_id := org;
    actor := concord._registry_keeper(e);
    IF NOT EXISTS (SELECT 1 FROM concord.registry_entity_types AS t WHERE t.entity_type = create_registry_entity.entity_type) THEN
        PERFORM concord._registry_create_entity(entity_type, name, display_name, owner, description, domain, org, actor);
    END IF;
    c := concord._registry_submit('create_entity', e, jsonb_build_object(
        'display_name', display_name, 'owner', owner, 'description', description, 'domain', domain), actor);
    new_id := concord._registry_create_entity(entity_type, name, display_name, owner, description, domain, org, actor);
    PERFORM concord._registry_ran_inline(c, actor, jsonb_build_object('entity_id', new_id));
    RETURN new_id;
END
$$;

COMMENT ON FUNCTION concord.create_registry_entity(text, text, text, text, text, text, text) IS
'Create a registry entity (spec 115): one of the twelve types, a name unique in its type, '
'its display name and owning team or person; returns its id. organisation: the '
'organisation it belongs '
'to (default: the chosen project''s; an operator without one creates a platform entity). '
'The caller is an '
'owner or admin of that organisation (CN012). Recorded as a concord.registry.create_entity '
'command. '
'Creating an existing entity of the same organisation again returns its id.';

CREATE OR REPLACE FUNCTION concord.create_registry_version(
    entity_type text, name text, version text, manifest jsonb, artifact_refs jsonb DEFAULT '[]'
)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
SET "concord.registry_command" = ''
SET "concord.registry_trace" = ''
SET "concord.registry_rebind" = ''
SET "concord.catalog_projection" = ''
AS $$
#variable_conflict use_variable
DECLARE
    e concord.registry_entities%ROWTYPE := concord._registry_entity(entity_type, name, true);
    actor text := concord._registry_keeper(e);
    c concord.commands%ROWTYPE;
    new_id uuid;
BEGIN
    c := concord._registry_submit('create_version', e, jsonb_build_object(
        'version', version, 'checksum', concord.registry_checksum(coalesce(manifest, '{}'))), actor);
    new_id := concord._registry_create_version(e, version, manifest, artifact_refs, actor);
    PERFORM concord._registry_ran_inline(c, actor, jsonb_build_object('version_id', new_id));
    RETURN new_id;
END
$$;

COMMENT ON FUNCTION concord.create_registry_version(text, text, text, jsonb, jsonb) IS
'Create a draft version of a registry entity (spec 115): its manifest is checked against '
'its type''s '
'JSON Schema (CN005 lists every problem), its change classified against the latest '
'published version '
'(doc, additive, breaking: spec 110) and its number checked against the change (CN017), its '
'relationships derived and its artifact references ([{artifact_type, artifact_uri, '
'checksum, metadata}]) '
'recorded. Returns the version id; the same version with the same manifest again returns '
'the first. '
'Recorded as a concord.registry.create_version command.';

CREATE OR REPLACE FUNCTION concord.validate_registry_version(version_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
SET "concord.registry_command" = ''
SET "concord.registry_trace" = ''
SET "concord.registry_rebind" = ''
SET "concord.catalog_projection" = ''
AS $$
#variable_conflict use_variable
DECLARE
    v concord.registry_versions%ROWTYPE := concord._registry_seen_version(version_id);
    e concord.registry_entities%ROWTYPE;
    actor text;
    c concord.commands%ROWTYPE;
    answer jsonb;
BEGIN
    SELECT * INTO e FROM concord.registry_entities AS x WHERE x.entity_id = v.entity_id;
    actor := concord._registry_keeper(e);
    c := concord._registry_submit('validate_version', e, jsonb_build_object('version_id', version_id,
                                                                             'version', v.version::text), actor);
    answer := concord._registry_validate(version_id);
    PERFORM concord._registry_ran_inline(c, actor, answer);
    RETURN answer;
END
$$;

COMMENT ON FUNCTION concord.validate_registry_version(uuid) IS
'Validate a draft version (spec 111.1): its manifest, that its required relationships resolve to '
'published versions, and its compatibility; each check is a registry_evaluations row. A '
'valid draft '
'becomes validated. Answers {version_id, status, valid, problems, change_class, change_reasons, '
'high_risk_changes, approval_required, ...}; a version past draft answers its state.';

CREATE OR REPLACE FUNCTION concord.publish_registry_version(version_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
SET "concord.registry_command" = ''
SET "concord.registry_trace" = ''
SET "concord.registry_rebind" = ''
SET "concord.catalog_projection" = ''
AS $$
#variable_conflict use_variable
DECLARE
    v concord.registry_versions%ROWTYPE := concord._registry_seen_version(version_id, true);
    e concord.registry_entities%ROWTYPE;
    actor text;
    c concord.commands%ROWTYPE;
    checked jsonb;
    approvers jsonb;
BEGIN
    SELECT * INTO e FROM concord.registry_entities AS x WHERE x.entity_id = v.entity_id;
    actor := concord._registry_keeper(e);
    IF v.status = 'draft' THEN
        checked := concord._registry_validate(version_id);
        IF NOT (checked ->> 'valid')::boolean THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_version_is_published_only_when_valid',
                TABLE = 'registry_versions',
                MESSAGE = format('registry version %s is not valid: %s problem(s)', version_id,
                                 jsonb_array_length(checked -> 'problems')),
                DETAIL = (SELECT string_agg(format('- %s: %s', p.item ->> 'path', p.item ->> 'message'), E'\n')
                          FROM jsonb_array_elements(checked -> 'problems') AS p (item)),
                HINT = 'Fix the manifest in a new draft (or publish what it relies on first).';
        END IF;
        v := concord._registry_version(version_id, true);
    END IF;
    IF v.status IN ('rejected', 'retired') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            CONSTRAINT = 'a_registry_version_moves_only_along_its_lifecycle',
            TABLE = 'registry_versions',
            MESSAGE = format('registry version %s is %s: it is never published', version_id, v.status),
            HINT = 'Create a new version instead.';
    END IF;
    IF v.status NOT IN ('validated') THEN
        RETURN jsonb_build_object('version', concord._registry_version_answer(v), 'command_id', v.approval_command_id,
                                  'command_status', NULL, 'approval_id', NULL);
    END IF;
    approvers := coalesce((
        SELECT jsonb_agg(p.name ORDER BY p.name)
        FROM concord.memberships AS m INNER JOIN concord.principals AS p ON m.principal_id = p.principal_id
        WHERE m.org_id = e.org_id AND m.project_id IS NULL AND m.role = 'owner' AND p.disabled_at IS NULL
          AND p.name <> v.created_by AND p.name <> actor), '[]');
    IF v.approval_required AND jsonb_array_length(approvers) = 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'a_registry_change_is_allowed_by_its_policies',
            TABLE = 'registry_versions',
            MESSAGE = format('%s %s %s needs an owner''s approval, and organisation %s has no owner but its creator %s '
                             'and you to give it', e.entity_type, e.name, v.version,
                             (SELECT o.name FROM concord.organisations AS o WHERE o.org_id = e.org_id), v.created_by),
            HINT = 'Add another owner to the organisation (concord.add_member ... ''owner''), then publish again.';
    END IF;
    c := concord._registry_submit('publish_version', e, jsonb_build_object(
        'version_id', v.version_id, 'version', v.version::text, 'checksum', v.checksum,
        'approval_required', v.approval_required, 'high_risk_changes', v.high_risk_changes,
        'risk_level', v.risk_level, 'created_by', v.created_by,
        -- who may approve: the organisation's owners but the creator and the requester
        'approvers', approvers), actor);
    IF v.approval_required THEN
        UPDATE concord.registry_versions AS x SET status = 'pending_approval', approval_command_id = c.command_id
        WHERE x.version_id = v.version_id;
    END IF;
    RETURN concord._registry_command_answer(c.command_id)
        || jsonb_build_object('version', concord._registry_version_answer(concord._registry_version(version_id)));
END
$$;

COMMENT ON FUNCTION concord.publish_registry_version(uuid) IS
'Publish a version (spec 113): validated first if a draft; then a concord.registry.publish_version '
'command that a DBOS workflow runs. A version that needs approval (a high-risk object or '
'change of an '
'organisation, spec 111.3) moves to pending_approval and its command waits for an owner of the '
'organisation other than its creator and the requester. Answers {command_id, command_status, '
'approval_id, result, error, version}.';
