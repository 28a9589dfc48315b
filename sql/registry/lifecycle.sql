-- The lifecycle steps of a version after its creation (spec 111, 113):
-- validate, request approval, publish, deprecate, retire. Each is
-- idempotent: asked again in the state it leads to, it answers as before.

-- The state of a version, as the lifecycle functions answer it.
CREATE OR REPLACE FUNCTION concord._registry_version_answer(
    v concord.registry_versions, problems jsonb DEFAULT '[]'
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    RETURN jsonb_build_object(
        'version_id', v.version_id,
        'entity_type', (SELECT e.entity_type FROM concord.registry_entities AS e WHERE e.entity_id = v.entity_id),
        'name', (SELECT e.name FROM concord.registry_entities AS e WHERE e.entity_id = v.entity_id),
        'version', v.version::text,
        'status', v.status,
        'valid', jsonb_array_length(coalesce(problems, '[]')) = 0 AND v.status NOT IN ('draft', 'rejected'),
        'problems', coalesce(problems, '[]'),
        'checksum', v.checksum,
        'change_class', v.change_class,
        'change_reasons', v.change_reasons,
        'high_risk_changes', v.high_risk_changes,
        'approval_required', v.approval_required,
        'approved_by', v.approved_by);
END
$$;

-- Validates a draft (manifest, relationships, compatibility; each an
-- evaluation row) and moves it to validated when nothing is wrong. A version
-- past draft answers its state.
CREATE OR REPLACE FUNCTION concord._registry_validate(version_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    v concord.registry_versions%ROWTYPE := concord._registry_version(version_id, true);
    e concord.registry_entities%ROWTYPE;
    manifest_problems jsonb;
    unresolved text[];
    previous concord.registry_versions%ROWTYPE;
    bump text[];
    problems jsonb;
BEGIN
    IF v.status <> 'draft' THEN
        RETURN concord._registry_version_answer(v);
    END IF;
    SELECT * INTO e FROM concord.registry_entities AS x WHERE x.entity_id = v.entity_id;
    manifest_problems := concord.registry_manifest_problems(e.entity_type, v.manifest);
    unresolved := concord._registry_unresolved_relationships(v.version_id);
    -- another version may have been published since this one was created
    previous := concord._registry_latest_published(v.entity_id);
    bump := CASE WHEN previous.version_id IS DISTINCT FROM v.previous_version_id
                 THEN ARRAY[format('version %s was published after this draft was created from %s: create the '
                                   'draft again to classify its change against it', previous.version,
                                   coalesce((SELECT p.version::text FROM concord.registry_versions AS p
                                             WHERE p.version_id = v.previous_version_id), 'nothing'))]
                 ELSE '{}'::text[] END;
    INSERT INTO concord.registry_evaluations (version_id, evaluation_type, status, result, completed_at) VALUES
    (v.version_id, 'manifest', CASE WHEN jsonb_array_length(manifest_problems) = 0 THEN 'passed' ELSE 'failed' END,
     jsonb_build_object('problems', manifest_problems), now()),
    (v.version_id, 'relationships', CASE WHEN cardinality(unresolved) = 0 THEN 'passed' ELSE 'failed' END,
     jsonb_build_object('unresolved', to_jsonb(unresolved)), now()),
    (v.version_id, 'compatibility', CASE WHEN cardinality(bump) = 0 THEN 'passed' ELSE 'failed' END,
     jsonb_build_object('change_class', v.change_class, 'reasons', v.change_reasons,
                        'high_risk_changes', v.high_risk_changes, 'problems', to_jsonb(bump)), now());
    problems := manifest_problems
        || coalesce((SELECT jsonb_agg(jsonb_build_object('path', '$', 'kind', 'relationship', 'message', u.m))
                     FROM unnest(unresolved) AS u (m)), '[]')
        || coalesce((SELECT jsonb_agg(jsonb_build_object('path', '$.version', 'kind', 'compatibility', 'message', b.m))
                     FROM unnest(bump) AS b (m)), '[]');
    IF jsonb_array_length(problems) = 0 THEN
        UPDATE concord.registry_versions AS x SET status = 'validated' WHERE x.version_id = v.version_id
        RETURNING x.* INTO v;
    END IF;
    RETURN concord._registry_version_answer(v, problems);
END
$$;

-- Publishes a version (spec 113 publish_registry_version): validated first
-- if still a draft; a version that needs approval must have been approved
-- (approver: the principal who approved its publication command). Answers
-- the version's state; CN011 when it cannot be published.
CREATE OR REPLACE FUNCTION concord._registry_publish(version_id uuid, approver text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    v concord.registry_versions%ROWTYPE := concord._registry_version(version_id, true);
    answer jsonb;
    saved text[];
BEGIN
    IF v.status IN ('published', 'deprecated', 'retired') AND v.published_at IS NOT NULL THEN
        RETURN concord._registry_version_answer(v);
    END IF;
    IF v.status = 'draft' THEN
        answer := concord._registry_validate(v.version_id);
        IF NOT (answer ->> 'valid')::boolean THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_version_is_published_only_when_valid',
                TABLE = 'registry_versions',
                MESSAGE = format('registry version %s is not valid: %s problem(s)', v.version_id,
                                 jsonb_array_length(answer -> 'problems')),
                DETAIL = (SELECT string_agg(format('- %s: %s', p.item ->> 'path', p.item ->> 'message'), E'\n')
                          FROM jsonb_array_elements(answer -> 'problems') AS p (item)),
                HINT = 'Fix the manifest in a new draft (or publish what it relies on) and publish again.';
        END IF;
        v := concord._registry_version(v.version_id, true);
    END IF;
    IF v.status IN ('validated', 'pending_approval') AND v.approval_required THEN
        IF approver IS NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                CONSTRAINT = 'a_high_risk_version_is_published_only_after_approval',
                TABLE = 'registry_versions',
                MESSAGE = format('registry version %s makes high-risk changes (%s): it needs an approval before '
                                 'it is published', v.version_id, v.high_risk_changes),
                HINT = 'Publish it with concord.publish_registry_version: an owner of its organisation approves it.';
        END IF;
        IF v.status = 'validated' THEN
            UPDATE concord.registry_versions AS x SET status = 'pending_approval' WHERE x.version_id = v.version_id;
        END IF;
        -- the approval is the approver's act, whoever's workflow records it
        saved := concord._push_actor(approver, nullif(current_setting('concord.reason', true), ''));
        UPDATE concord.registry_versions AS x SET status = 'approved', approved_by = approver
        WHERE x.version_id = v.version_id;
        PERFORM concord._pop_actor(saved);
    END IF;
    UPDATE concord.registry_versions AS x SET status = 'published' WHERE x.version_id = v.version_id
    RETURNING x.* INTO v;
    RETURN concord._registry_version_answer(v);
END
$$;

-- Deprecates a published version: it still resolves, with a warning, and
-- takes no new binding.
CREATE OR REPLACE FUNCTION concord._registry_deprecate(version_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    v concord.registry_versions%ROWTYPE := concord._registry_version(version_id, true);
BEGIN
    IF v.status = 'published' THEN
        UPDATE concord.registry_versions AS x SET status = 'deprecated' WHERE x.version_id = v.version_id
        RETURNING x.* INTO v;
    ELSIF v.status <> 'deprecated' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            CONSTRAINT = 'a_registry_version_moves_only_along_its_lifecycle',
            TABLE = 'registry_versions',
            MESSAGE = format('registry version %s is %s: only a published version is deprecated', v.version_id,
                             v.status);
    END IF;
    RETURN concord._registry_version_answer(v);
END
$$;

-- Retires a version (spec 113 retire_registry_version, 111.4): its active
-- bindings move to migrate_to (a published version of the same entity) or
-- are disabled, then it is retired; resolution refuses it from this
-- transaction on. An emergency also writes an incident to the audit trail.
-- Its owners are notified by the caller. Answers {version..., bindings}.
CREATE OR REPLACE FUNCTION concord._registry_retire(
    version_id uuid, reason text, emergency boolean DEFAULT FALSE, migrate_to uuid DEFAULT NULL
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    v concord.registry_versions%ROWTYPE := concord._registry_version(version_id, true);
    target concord.registry_versions%ROWTYPE;
    moved jsonb;
    saved text[];
BEGIN
    PERFORM concord._require('reason', reason);
    IF v.status = 'retired' THEN
        -- a replay (the workflow after an emergency retirement, a step run
        -- again) answers what the retirement changed: the binding events its
        -- command wrote
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'registry_binding_id', ev.binding_id, 'binding_scope', ev.payload ->> 'binding_scope',
                   'binding_target', ev.payload ->> 'binding_target', 'environment', ev.payload ->> 'environment',
                   'status', CASE WHEN ev.event_type = 'binding_disabled' THEN 'disabled' ELSE 'active' END)
                   ORDER BY ev.binding_id), '[]')
        INTO moved
        FROM concord.registry_lifecycle_events AS ev
        WHERE ev.command_id = nullif(current_setting('concord.registry_command', true), '')::uuid
          AND ev.binding_id IS NOT NULL AND ev.event_type IN ('binding_disabled', 'binding_migrated');
        RETURN concord._registry_version_answer(v) || jsonb_build_object('bindings', moved);
    END IF;
    IF v.status NOT IN ('published', 'deprecated') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            CONSTRAINT = 'a_registry_version_moves_only_along_its_lifecycle',
            TABLE = 'registry_versions',
            MESSAGE = format('registry version %s is %s: only a published or deprecated version is retired '
                             '(reject a draft instead)', v.version_id, v.status);
    END IF;
    IF migrate_to IS NOT NULL THEN
        target := concord._registry_version(migrate_to);
        IF target.entity_id <> v.entity_id OR target.status <> 'published' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'bindings_migrate_to_a_published_version_of_their_entity',
                TABLE = 'registry_bindings',
                MESSAGE = format('version %s (%s) is not a published version of the same entity', migrate_to,
                                 target.status),
                HINT = 'Leave migrate_to NULL to disable the bindings instead.';
        END IF;
    END IF;
    saved := concord._push_actor(nullif(current_setting('concord.actor', true), ''), reason);
    PERFORM set_config('concord.registry_rebind', 'binding_migrated', true);
    WITH changed AS (
        UPDATE concord.registry_bindings AS b
        SET version_id = coalesce(migrate_to, b.version_id),
            status = CASE WHEN migrate_to IS NULL THEN 'disabled' ELSE b.status END,
            disabled_reason = CASE WHEN migrate_to IS NULL
                                   THEN format('version %s retired: %s', v.version, reason) END
        WHERE b.version_id = v.version_id AND b.status = 'active'
        RETURNING b.registry_binding_id, b.binding_scope, b.binding_target, b.environment, b.status
    )
    SELECT coalesce(jsonb_agg(to_jsonb(changed) ORDER BY changed.registry_binding_id), '[]') INTO moved FROM changed;
    PERFORM set_config('concord.registry_rebind', '', true);
    UPDATE concord.registry_versions AS x
    SET status = 'retired', retirement_reason = reason, emergency_retirement = coalesce(emergency, false)
    WHERE x.version_id = v.version_id
    RETURNING x.* INTO v;
    -- a retirement that migrates its bindings projects the new version; one
    -- that disables them leaves the catalog row, which no command resolves
    PERFORM concord._registry_project_catalog(v.entity_id);
    IF emergency THEN
        PERFORM concord._audit(
            'registry_incident', NULL, coalesce(nullif(current_setting('concord.registry_trace', true), ''),
                                                concord._new_trace_id()),
            'registry_version', v.version_id::text, 'published', 'retired',
            jsonb_build_object('reason', reason, 'emergency', true, 'bindings', moved,
                               'entity_id', v.entity_id, 'version', v.version::text));
    END IF;
    PERFORM concord._pop_actor(saved);
    RETURN concord._registry_version_answer(v) || jsonb_build_object('bindings', moved);
END
$$;
