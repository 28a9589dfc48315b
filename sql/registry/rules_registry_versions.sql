-- The rules of registry_versions (spec 106.3, 111): a version starts as a
-- draft, moves only along registry_version_transitions, and once past draft
-- its contract (manifest, checksum, classification) never changes, by any
-- path: the guard is a trigger, so the table owner's bare UPDATE meets it too.
-- Every row change writes its lifecycle event in the same transaction.

-- Whether principal is an owner of organisation org_id (an organisation-wide
-- owner membership), and not disabled.
CREATE OR REPLACE FUNCTION concord._is_org_owner(principal text, org_id uuid)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM concord.memberships AS m
        INNER JOIN concord.principals AS p ON m.principal_id = p.principal_id
        WHERE p.name = _is_org_owner.principal AND p.disabled_at IS NULL
          AND m.org_id = _is_org_owner.org_id AND m.project_id IS NULL AND m.role = 'owner');
END
$$;

-- The lifecycle event of a registry change, attributed to the acting
-- principal (or the login), under the registry command's trace.
CREATE OR REPLACE FUNCTION concord._registry_event(
    event_type text, entity_id uuid, version_id uuid, binding_id uuid, payload jsonb
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    INSERT INTO concord.registry_lifecycle_events (
        entity_id, version_id, binding_id, command_id, event_type, actor, payload, trace_id
    ) VALUES (
        _registry_event.entity_id, _registry_event.version_id, _registry_event.binding_id,
        nullif(current_setting('concord.registry_command', true), '')::uuid,
        _registry_event.event_type, concord._actor(),
        coalesce(_registry_event.payload, '{}')
        || jsonb_strip_nulls(jsonb_build_object('reason', nullif(current_setting('concord.reason', true), ''))),
        coalesce(nullif(current_setting('concord.registry_trace', true), ''), concord._new_trace_id())
    );
END
$$;

-- The required relationships of version_id that no published (or
-- deprecated) version satisfies, as text (empty: all resolve).
CREATE OR REPLACE FUNCTION concord._registry_unresolved_relationships(version_id uuid)
RETURNS text[]
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    RETURN ARRAY(
        SELECT format('%s %s %s%s resolves to no published version', r.relationship_type,
                      r.target_entity_type, r.target_entity_name,
                      coalesce(' ' || r.target_version_constraint, ''))
        FROM concord.registry_relationships AS r
        WHERE r.source_version_id = _registry_unresolved_relationships.version_id AND r.required
          AND NOT EXISTS (
              SELECT 1 FROM concord.registry_entities AS e
              INNER JOIN concord.registry_versions AS v ON e.entity_id = v.entity_id
              WHERE e.entity_type = r.target_entity_type AND e.name = r.target_entity_name
                AND v.status IN ('published', 'deprecated') AND r.target_versions @> v.version)
        ORDER BY r.relationship_type, r.target_entity_type, r.target_entity_name);
END
$$;

-- Version v with its classification derived from its manifest and its
-- previous version (spec 110, 111.3): risk level, change class, reasons,
-- high-risk changes and whether an owner must approve it. The guard writes
-- these on every insert and draft change, so no writer (the table owner's
-- bare INSERT or UPDATE included) can hand a high-risk manifest a low-risk
-- classification. CN017 when the version number does not fit the change.
CREATE OR REPLACE FUNCTION concord._registry_classified(v concord.registry_versions)
RETURNS concord.registry_versions
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    e concord.registry_entities%ROWTYPE;
    previous concord.registry_versions%ROWTYPE;
    classified jsonb;
    bump text[];
BEGIN
    SELECT * INTO e FROM concord.registry_entities AS x WHERE x.entity_id = v.entity_id;
    SELECT * INTO previous FROM concord.registry_versions AS x WHERE x.version_id = v.previous_version_id;
    classified := concord.registry_classify_change(e.entity_type, previous.manifest, v.manifest);
    bump := concord._registry_version_bump_problems(previous.version::text, v.version::text,
                                                    classified ->> 'change_class');
    IF cardinality(bump) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN017',
            CONSTRAINT = 'a_version_number_matches_its_change',
            TABLE = 'registry_versions',
            MESSAGE = format('%s %s %s: %s', e.entity_type, e.name, v.version, array_to_string(bump, '; ')),
            DETAIL = coalesce((SELECT string_agg(format('- %s %s: %s', r.item ->> 'kind', r.item ->> 'path',
                                                        r.item ->> 'message'), E'\n')
                               FROM jsonb_array_elements(classified -> 'reasons') AS r (item)), ''),
            HINT = format('The change from %s is %s: bump the version accordingly (semver.org).',
                          previous.version, classified ->> 'change_class');
    END IF;
    v.risk_level := coalesce(v.manifest ->> 'risk_level', v.manifest #>> '{lifecycle,risk_level}', 'low');
    v.change_class := coalesce(classified ->> 'change_class', 'initial');
    v.change_reasons := coalesce(classified -> 'reasons', '[]');
    v.high_risk_changes := coalesce(classified -> 'high_risk_changes', '[]');
    -- an organisation's high-risk object or change waits for an owner; a
    -- platform entity is the operators' own (spec 111.3)
    v.approval_required := e.org_id IS NOT NULL
        AND (v.risk_level IN ('high', 'critical') OR jsonb_array_length(v.high_risk_changes) > 0);
    RETURN v;
END
$$;

-- Whether approver approved the publication command command_id of
-- version_id: the command is that version's publication and its approval was
-- decided approved by approver (the approvals' own rules say who may).
CREATE OR REPLACE FUNCTION concord._registry_approval_recorded(
    version_id uuid, command_id uuid, approver text
)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1
        FROM concord.commands AS c
        INNER JOIN concord.approvals AS a ON a.command_id = c.command_id
        WHERE c.command_id = _registry_approval_recorded.command_id
          AND c.command_type = 'concord.registry.publish_version'
          AND c.payload ->> 'version_id' = _registry_approval_recorded.version_id::text
          AND a.status = 'approved' AND a.decided_by = _registry_approval_recorded.approver);
END
$$;

CREATE OR REPLACE FUNCTION concord._registry_versions_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    entity concord.registry_entities%ROWTYPE;
BEGIN
    IF NEW.status <> 'draft' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            CONSTRAINT = 'a_new_registry_version_starts_as_a_draft',
            TABLE = 'registry_versions',
            MESSAGE = format('a new registry version starts as a draft, not %s', NEW.status),
            HINT = 'Create it with concord.create_registry_version, then validate and publish it.';
    END IF;
    SELECT * INTO entity FROM concord.registry_entities AS e WHERE e.entity_id = NEW.entity_id;
    IF NEW.manifest ->> 'name' IS DISTINCT FROM entity.name
       OR NEW.manifest ->> 'version' IS DISTINCT FROM NEW.version::text THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'a_manifest_names_its_entity_and_version',
            TABLE = 'registry_versions',
            MESSAGE = format('the manifest names %s %s, not %s %s', coalesce(NEW.manifest ->> 'name', '(no name)'),
                             coalesce(NEW.manifest ->> 'version', '(no version)'), entity.name, NEW.version),
            HINT = 'A manifest''s name and version are those of the version it is.';
    END IF;
    NEW.checksum := concord.registry_checksum(NEW.manifest);
    -- classified against the latest published version, whatever the writer said
    NEW.previous_version_id := (concord._registry_latest_published(NEW.entity_id)).version_id;
    NEW := concord._registry_classified(NEW);
    NEW.created_at := now();
    NEW.approved_by := NULL;
    NEW.validated_at := NULL;
    NEW.approved_at := NULL;
    NEW.published_at := NULL;
    NEW.deprecated_at := NULL;
    NEW.retired_at := NULL;
    NEW.rejected_at := NULL;
    NEW.retirement_reason := NULL;
    NEW.emergency_retirement := false;
    NEW.approval_command_id := NULL;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._registry_versions_before_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    org uuid;
    unresolved text[];
    problems jsonb;
BEGIN
    IF (NEW.version_id, NEW.entity_id, NEW.version::text, NEW.created_by, NEW.created_at)
       IS DISTINCT FROM (OLD.version_id, OLD.entity_id, OLD.version::text, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_registry_version_keeps_its_identity',
            TABLE = 'registry_versions',
            MESSAGE = format('registry version %s keeps its id, entity, version number and creator', OLD.version_id),
            HINT = 'Create a new version instead.';
    END IF;
    IF (OLD.status <> 'draft' OR NEW.status <> 'draft') AND (
        NEW.manifest, NEW.checksum, NEW.previous_version_id, NEW.change_class, NEW.change_reasons,
        NEW.high_risk_changes, NEW.approval_required, NEW.risk_level
    ) IS DISTINCT FROM (
        OLD.manifest, OLD.checksum, OLD.previous_version_id, OLD.change_class, OLD.change_reasons,
        OLD.high_risk_changes, OLD.approval_required, OLD.risk_level
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_frozen_registry_version_never_changes',
            TABLE = 'registry_versions',
            MESSAGE = format('registry version %s is %s: its manifest, checksum and classification never change',
                             OLD.version_id, CASE WHEN OLD.status = 'draft' THEN 'leaving draft' ELSE OLD.status END),
            HINT = 'Published versions are immutable (spec 106.3): create a new version and bind it.';
    END IF;
    IF OLD.status = 'draft' THEN
        NEW.checksum := concord.registry_checksum(NEW.manifest);
        -- a replaced draft is classified again, against the version it was
        -- created from: its risk and approval follow its manifest
        NEW.previous_version_id := OLD.previous_version_id;
        IF (NEW.manifest, NEW.change_class, NEW.change_reasons, NEW.high_risk_changes, NEW.approval_required,
            NEW.risk_level)
           IS DISTINCT FROM (OLD.manifest, OLD.change_class, OLD.change_reasons, OLD.high_risk_changes,
                             OLD.approval_required, OLD.risk_level) THEN
            IF NEW.manifest ->> 'name' IS DISTINCT FROM (SELECT e.name FROM concord.registry_entities AS e
                                                         WHERE e.entity_id = OLD.entity_id)
               OR NEW.manifest ->> 'version' IS DISTINCT FROM OLD.version::text THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN005',
                    CONSTRAINT = 'a_manifest_names_its_entity_and_version',
                    TABLE = 'registry_versions',
                    MESSAGE = format('the manifest names %s %s, not the entity and version of draft %s',
                                     coalesce(NEW.manifest ->> 'name', '(no name)'),
                                     coalesce(NEW.manifest ->> 'version', '(no version)'), OLD.version_id),
                    HINT = 'A manifest''s name and version are those of the version it is.';
            END IF;
            NEW := concord._registry_classified(NEW);
        END IF;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        IF NOT EXISTS (SELECT 1 FROM concord.registry_version_transitions AS t
                       WHERE t.from_status = OLD.status AND t.to_status = NEW.status) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                CONSTRAINT = 'a_registry_version_moves_only_along_its_lifecycle',
                TABLE = 'registry_versions',
                MESSAGE = format('registry version %s cannot move from %s to %s', OLD.version_id, OLD.status,
                                 NEW.status),
                HINT = 'The lifecycle is draft -> validated -> (pending_approval -> approved) -> published -> '
                       'deprecated -> retired, or rejected; see '
                       'concord.registry_version_transitions.';
        END IF;
        IF NEW.status = 'validated' THEN
            -- what concord._registry_validate checked holds for a bare UPDATE too:
            -- the manifest fits its type, and its change was classified against
            -- the latest published version
            SELECT coalesce(jsonb_agg(p.item ->> 'path' || ': ' || (p.item ->> 'message')), '[]')
            INTO problems
            FROM concord.registry_entities AS e,
                jsonb_array_elements(concord.registry_manifest_problems(e.entity_type, NEW.manifest)) AS p (item)
            WHERE e.entity_id = OLD.entity_id;
            IF (concord._registry_latest_published(OLD.entity_id)).version_id IS DISTINCT FROM OLD.previous_version_id THEN
                problems := problems || to_jsonb('a version was published after this draft was created: its change '
                                                 'is classified against an older one'::text);
            END IF;
            problems := problems || to_jsonb(concord._registry_edges_unlike_manifest(
                OLD.version_id, (SELECT e.entity_type FROM concord.registry_entities AS e WHERE e.entity_id = OLD.entity_id),
                NEW.manifest));
            IF jsonb_array_length(problems) > 0 THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN011',
                    CONSTRAINT = 'a_draft_is_validated_only_when_valid',
                    TABLE = 'registry_versions',
                    MESSAGE = format('registry version %s is not valid: %s problem(s)', OLD.version_id,
                                     jsonb_array_length(problems)),
                    DETAIL = (SELECT string_agg('- ' || x.m, E'\n') FROM jsonb_array_elements_text(problems) AS x (m)),
                    HINT = 'Validate it with concord.validate_registry_version; fix the manifest in a new draft.';
            END IF;
        END IF;
        IF NEW.status = 'published' AND OLD.approval_required AND OLD.status <> 'approved' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                CONSTRAINT = 'a_high_risk_version_is_published_only_after_approval',
                TABLE = 'registry_versions',
                MESSAGE = format('registry version %s makes high-risk changes (%s): it needs an approval before '
                                 'it is published', OLD.version_id, OLD.high_risk_changes),
                HINT = 'Publish it with concord.publish_registry_version: an owner of its organisation approves it.';
        END IF;
        IF NEW.status = 'published'
           AND (concord._registry_latest_published(OLD.entity_id)).version_id IS DISTINCT FROM OLD.previous_version_id THEN
            -- another version was published since this one was classified: its
            -- change from that one was never checked against its number (CN017)
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_version_is_published_against_the_latest_published',
                TABLE = 'registry_versions',
                MESSAGE = format('registry version %s was classified against %s, but %s was published since: its '
                                 'change from that one was never checked', OLD.version_id,
                                 coalesce((SELECT x.version::text FROM concord.registry_versions AS x
                                           WHERE x.version_id = OLD.previous_version_id), 'no version'),
                                 (concord._registry_latest_published(OLD.entity_id)).version),
                HINT = 'Create a new version (classified against the latest published one) and publish it.';
        END IF;
        IF NEW.status = 'approved' THEN
            -- the approval is an approver's decision on the publication command,
            -- recorded in concord.approvals; a bare UPDATE naming someone is not one
            IF NOT concord._registry_approval_recorded(OLD.version_id,
                                                       coalesce(NEW.approval_command_id, OLD.approval_command_id),
                                                       NEW.approved_by) THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN012',
                    CONSTRAINT = 'a_high_risk_version_is_approved_by_another_owner',
                    TABLE = 'registry_versions',
                    MESSAGE = format('registry version %s: no approval of its publication command by %s is recorded',
                                     OLD.version_id, coalesce(NEW.approved_by, '(nobody)')),
                    HINT = 'Approve through the publication command''s approval (concord.resolve_approval).';
            END IF;
            org := (SELECT e.org_id FROM concord.registry_entities AS e WHERE e.entity_id = OLD.entity_id);
            IF NEW.approved_by IS NULL OR NEW.approved_by = OLD.created_by
               OR org IS NULL OR NOT concord._is_org_owner(NEW.approved_by, org) THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN012',
                    CONSTRAINT = 'a_high_risk_version_is_approved_by_another_owner',
                    TABLE = 'registry_versions',
                    MESSAGE = format('%s may not approve registry version %s: an owner of its organisation other '
                                     'than its creator %s approves it', coalesce(NEW.approved_by, '(nobody)'),
                                     OLD.version_id, OLD.created_by),
                    HINT = 'Approve through the publication command''s approval (concord.resolve_approval).';
            END IF;
            NEW.approved_at := now();
        END IF;
        IF NEW.status = 'published' THEN
            unresolved := concord._registry_unresolved_relationships(OLD.version_id);
            IF cardinality(unresolved) > 0 THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN011',
                    CONSTRAINT = 'a_published_version_relies_only_on_published_versions',
                    TABLE = 'registry_versions',
                    MESSAGE = format('registry version %s cannot be published: %s relationship(s) do not resolve',
                                     OLD.version_id, cardinality(unresolved)),
                    DETAIL = '- ' || array_to_string(unresolved, E'\n- '),
                    HINT = 'Publish what it relies on first, or widen its version constraints.';
            END IF;
            NEW.published_at := now();
        END IF;
        IF NEW.status = 'retired' AND EXISTS (
            SELECT 1 FROM concord.registry_bindings AS b WHERE b.version_id = OLD.version_id AND b.status = 'active') THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_retired_version_has_no_active_binding',
                TABLE = 'registry_versions',
                MESSAGE = format('registry version %s still has active bindings: it cannot be retired', OLD.version_id),
                HINT = 'Retire it with concord.retire_registry_version, which disables or migrates its bindings.';
        END IF;
        IF NEW.status = 'validated' THEN
            NEW.validated_at := now();
        ELSIF NEW.status = 'deprecated' THEN
            NEW.deprecated_at := now();
        ELSIF NEW.status = 'retired' THEN
            NEW.retired_at := now();
        ELSIF NEW.status = 'rejected' THEN
            NEW.rejected_at := now();
        END IF;
    END IF;
    IF NEW.status <> 'retired' THEN
        NEW.emergency_retirement := OLD.emergency_retirement;
        NEW.retirement_reason := OLD.retirement_reason;
    END IF;
    IF NEW.status IS NOT DISTINCT FROM OLD.status THEN
        NEW.approved_by := OLD.approved_by;
        NEW.approval_command_id := coalesce(OLD.approval_command_id, NEW.approval_command_id);
        NEW.validated_at := OLD.validated_at;
        NEW.approved_at := OLD.approved_at;
        NEW.published_at := OLD.published_at;
        NEW.deprecated_at := OLD.deprecated_at;
        NEW.retired_at := OLD.retired_at;
        NEW.rejected_at := OLD.rejected_at;
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._registry_versions_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM concord._registry_event(
            'version_created', NEW.entity_id, NEW.version_id, NULL,
            jsonb_build_object('version', NEW.version::text, 'checksum', NEW.checksum,
                               'change_class', NEW.change_class, 'high_risk_changes', NEW.high_risk_changes));
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM concord._registry_event(
            CASE WHEN NEW.status = 'pending_approval' THEN 'approval_requested'
                 WHEN NEW.status = 'retired' AND NEW.emergency_retirement THEN 'emergency_retired'
                 ELSE 'version_' || NEW.status END,
            NEW.entity_id, NEW.version_id, NULL,
            jsonb_strip_nulls(jsonb_build_object(
                'version', NEW.version::text, 'from_status', OLD.status, 'to_status', NEW.status,
                'approved_by', NEW.approved_by, 'retirement_reason', NEW.retirement_reason)));
    ELSIF NEW.manifest IS DISTINCT FROM OLD.manifest THEN
        -- a replaced draft's edges are its new manifest's
        DELETE FROM concord.registry_relationships AS r WHERE r.source_version_id = NEW.version_id;
        INSERT INTO concord.registry_relationships (
            source_version_id, relationship_type, target_entity_type, target_entity_name,
            target_version_constraint, target_versions, required, metadata
        )
        SELECT NEW.version_id, r.relationship_type, r.target_entity_type, r.target_entity_name,
               r.target_version_constraint, concord.registry_version_range(r.target_version_constraint),
               r.required, r.metadata
        FROM concord.registry_entities AS e,
            concord._registry_manifest_relationships(e.entity_type, NEW.manifest) AS r
        WHERE e.entity_id = NEW.entity_id
        ON CONFLICT ON CONSTRAINT registry_relationship_is_recorded_once DO NOTHING;
        PERFORM concord._registry_event(
            'draft_replaced', NEW.entity_id, NEW.version_id, NULL,
            jsonb_build_object('version', NEW.version::text, 'checksum', NEW.checksum));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER registry_versions_before_insert
BEFORE INSERT ON concord.registry_versions
FOR EACH ROW EXECUTE FUNCTION concord._registry_versions_before_insert();

CREATE OR REPLACE TRIGGER registry_versions_before_update
BEFORE UPDATE ON concord.registry_versions
FOR EACH ROW EXECUTE FUNCTION concord._registry_versions_before_update();

CREATE OR REPLACE TRIGGER registry_versions_after_write
AFTER INSERT OR UPDATE ON concord.registry_versions
FOR EACH ROW EXECUTE FUNCTION concord._registry_versions_after_write();

CREATE OR REPLACE TRIGGER registry_versions_are_never_deleted
BEFORE DELETE ON concord.registry_versions
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'are kept forever', 'Retire a version instead (concord.retire_registry_version).'
);

CREATE OR REPLACE TRIGGER registry_versions_are_never_truncated
BEFORE TRUNCATE ON concord.registry_versions
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'are kept forever', 'Retire a version instead (concord.retire_registry_version).'
);

-- A publication refused (its approval rejected or expired, its command
-- cancelled or failed) rejects the version that waited for it: nothing else
-- would ever move it out of pending_approval. The rejection is attributed to
-- whoever ended the command, under the command's trace.
CREATE OR REPLACE FUNCTION concord._registry_publication_ended()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    saved_command text := current_setting('concord.registry_command', true);
    saved_trace text := current_setting('concord.registry_trace', true);
BEGIN
    PERFORM set_config('concord.registry_command', NEW.command_id::text, true);
    PERFORM set_config('concord.registry_trace', NEW.trace_id, true);
    UPDATE concord.registry_versions AS v SET status = 'rejected'
    WHERE v.version_id = CASE WHEN concord._is_uuid(NEW.payload ->> 'version_id')
                              THEN (NEW.payload ->> 'version_id')::uuid END
      AND v.approval_command_id = NEW.command_id AND v.status IN ('pending_approval', 'approved');
    PERFORM set_config('concord.registry_command', coalesce(saved_command, ''), true);
    PERFORM set_config('concord.registry_trace', coalesce(saved_trace, ''), true);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER registry_publication_ended
AFTER UPDATE OF status ON concord.commands
FOR EACH ROW
WHEN (
    new.command_type = 'concord.registry.publish_version'
    AND new.status IN ('failed', 'cancelled', 'expired')
    AND old.status IS DISTINCT FROM new.status
)
EXECUTE FUNCTION concord._registry_publication_ended();
