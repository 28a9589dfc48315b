-- The registry's views for people (spec 116.1, 117): versions, active
-- bindings, lifecycle timelines, usage, deprecated versions still resolved,
-- retired versions asked for. Each shows platform entities (no organisation)
-- and those of the organisations whose projects the caller may see.

CREATE OR REPLACE VIEW concord.registry_entity_versions AS
SELECT
    e.entity_id,
    e.entity_type,
    e.name AS entity,
    o.name AS organisation,
    e.owner,
    v.version_id,
    v.version::text AS version,
    v.status,
    v.risk_level,
    v.change_class,
    v.high_risk_changes,
    v.approval_required,
    v.checksum,
    v.created_by,
    v.created_at,
    v.published_at,
    v.deprecated_at,
    v.retired_at,
    v.retirement_reason
FROM concord.registry_versions AS v
INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
LEFT JOIN concord.organisations AS o ON e.org_id = o.org_id
WHERE
    e.org_id IS NULL
    OR concord._sees_all()
    OR e.org_id IN (
        SELECT p.org_id FROM concord.projects AS p
        WHERE p.project_id = any(concord._visible_projects())
    );

COMMENT ON VIEW concord.registry_entity_versions IS
'Every version of every registry entity the caller may see (spec 116): its status, risk, change '
'class, checksum and lifecycle times.';
COMMENT ON COLUMN concord.registry_entity_versions.entity_id IS 'The entity''s id.';
COMMENT ON COLUMN concord.registry_entity_versions.entity_type IS 'The entity''s registry type.';
COMMENT ON COLUMN concord.registry_entity_versions.entity IS 'The entity''s name.';
COMMENT ON COLUMN concord.registry_entity_versions.organisation IS
'The organisation it belongs to; NULL for a platform entity.';
COMMENT ON COLUMN concord.registry_entity_versions.owner IS 'The team or person answerable for it.';
COMMENT ON COLUMN concord.registry_entity_versions.version_id IS 'The version''s id.';
COMMENT ON COLUMN concord.registry_entity_versions.version IS 'The semantic version.';
COMMENT ON COLUMN concord.registry_entity_versions.status IS
'draft, validated, pending_approval, approved, published, deprecated, retired or rejected.';
COMMENT ON COLUMN concord.registry_entity_versions.risk_level IS 'low, medium, high or critical.';
COMMENT ON COLUMN concord.registry_entity_versions.change_class IS
'initial, doc, additive or breaking: its change from the version before.';
COMMENT ON COLUMN concord.registry_entity_versions.high_risk_changes IS
'The high-risk changes of spec 111.3 it makes.';
COMMENT ON COLUMN concord.registry_entity_versions.approval_required IS
'Whether its publication needs an owner''s approval.';
COMMENT ON COLUMN concord.registry_entity_versions.checksum IS 'sha256 of its canonical manifest.';
COMMENT ON COLUMN concord.registry_entity_versions.created_by IS 'Who created it.';
COMMENT ON COLUMN concord.registry_entity_versions.created_at IS 'When it was created.';
COMMENT ON COLUMN concord.registry_entity_versions.published_at IS 'When it was published.';
COMMENT ON COLUMN concord.registry_entity_versions.deprecated_at IS 'When it was deprecated.';
COMMENT ON COLUMN concord.registry_entity_versions.retired_at IS 'When it was retired.';
COMMENT ON COLUMN concord.registry_entity_versions.retirement_reason IS 'Why it was retired.';

CREATE OR REPLACE VIEW concord.registry_active_bindings AS
SELECT
    b.registry_binding_id AS binding_id,
    e.entity_type,
    e.name AS entity,
    b.entity_id,
    b.version_id,
    v.version::text AS version,
    v.status AS version_status,
    b.binding_scope,
    b.binding_target,
    b.environment,
    b.rollout_strategy,
    b.rollout_config,
    b.created_by,
    b.created_at,
    b.updated_at
FROM concord.registry_bindings AS b
INNER JOIN concord.registry_versions AS v ON b.version_id = v.version_id
INNER JOIN concord.registry_entities AS e ON b.entity_id = e.entity_id
WHERE
    b.status = 'active'
    AND concord._registry_binding_visible(b.binding_scope, b.binding_target)
    AND (
        e.org_id IS NULL
        OR concord._sees_all()
        OR e.org_id IN (
            SELECT p.org_id FROM concord.projects AS p
            WHERE p.project_id = any(concord._visible_projects())
        )
    );

COMMENT ON VIEW concord.registry_active_bindings IS
'The bindings in force (spec 112, 116): which version of which entity applies at which scope and '
'target, in which environment, pinned or canary. A binding naming another organisation''s '
'tenant, team, project or member is not shown.';
COMMENT ON COLUMN concord.registry_active_bindings.binding_id IS 'The binding''s id.';
COMMENT ON COLUMN concord.registry_active_bindings.entity_type IS 'The entity''s registry type.';
COMMENT ON COLUMN concord.registry_active_bindings.entity IS 'The entity''s name.';
COMMENT ON COLUMN concord.registry_active_bindings.entity_id IS 'The entity''s id.';
COMMENT ON COLUMN concord.registry_active_bindings.version_id IS 'The version in force.';
COMMENT ON COLUMN concord.registry_active_bindings.version IS 'Its semantic version.';
COMMENT ON COLUMN concord.registry_active_bindings.version_status IS 'published or deprecated.';
COMMENT ON COLUMN concord.registry_active_bindings.binding_scope IS
'user, team, tenant, workflow_type, command_type, agent_role, agent_name, app, environment or '
'global.';
COMMENT ON COLUMN concord.registry_active_bindings.binding_target IS 'Who or what the scope names.';
COMMENT ON COLUMN concord.registry_active_bindings.environment IS 'The environment it applies in.';
COMMENT ON COLUMN concord.registry_active_bindings.rollout_strategy IS 'pinned or canary.';
COMMENT ON COLUMN concord.registry_active_bindings.rollout_config IS
'For a canary: {"percent", "subject"}.';
COMMENT ON COLUMN concord.registry_active_bindings.created_by IS 'Who created the binding.';
COMMENT ON COLUMN concord.registry_active_bindings.created_at IS 'When it was created.';
COMMENT ON COLUMN concord.registry_active_bindings.updated_at IS 'When it last changed.';

CREATE OR REPLACE VIEW concord.registry_lifecycle_timeline AS
SELECT
    e.entity_type,
    e.name AS entity,
    l.registry_lifecycle_event_id AS event_id,
    l.event_type,
    l.version_id,
    l.binding_id,
    l.command_id,
    l.actor,
    l.payload,
    l.trace_id,
    l.created_at,
    v.version::text AS version,
    row_number() OVER (
        PARTITION BY l.entity_id ORDER BY l.created_at, l.registry_lifecycle_event_id
    ) AS seq
FROM concord.registry_lifecycle_events AS l
INNER JOIN concord.registry_entities AS e ON l.entity_id = e.entity_id
LEFT JOIN concord.registry_versions AS v ON l.version_id = v.version_id
LEFT JOIN concord.registry_bindings AS b ON l.binding_id = b.registry_binding_id
WHERE
    (
        b.registry_binding_id IS NULL
        OR concord._registry_binding_visible(b.binding_scope, b.binding_target)
    )
    AND (
        e.org_id IS NULL
        OR concord._sees_all()
        OR e.org_id IN (
            SELECT p.org_id FROM concord.projects AS p
            WHERE p.project_id = any(concord._visible_projects())
        )
    );

COMMENT ON VIEW concord.registry_lifecycle_timeline IS
'Each entity''s lifecycle in order (spec 116): created, validated, approved, published, bound, '
'rebound, rolled back, deprecated, retired; seq numbers the events of one entity. Events of a '
'binding naming another organisation''s tenant, team, project or member are not shown.';
COMMENT ON COLUMN concord.registry_lifecycle_timeline.entity_type IS 'The entity''s registry type.';
COMMENT ON COLUMN concord.registry_lifecycle_timeline.entity IS 'The entity''s name.';
COMMENT ON COLUMN concord.registry_lifecycle_timeline.seq IS
'The event''s place in the entity''s timeline, from 1.';
COMMENT ON COLUMN concord.registry_lifecycle_timeline.event_id IS 'The event''s id.';
COMMENT ON COLUMN concord.registry_lifecycle_timeline.event_type IS 'What happened.';
COMMENT ON COLUMN concord.registry_lifecycle_timeline.version IS 'The version concerned, if any.';
COMMENT ON COLUMN concord.registry_lifecycle_timeline.version_id IS 'Its id.';
COMMENT ON COLUMN concord.registry_lifecycle_timeline.binding_id IS
'The binding concerned, if any.';
COMMENT ON COLUMN concord.registry_lifecycle_timeline.command_id IS
'The governed command that made the change.';
COMMENT ON COLUMN concord.registry_lifecycle_timeline.actor IS 'Who did it.';
COMMENT ON COLUMN concord.registry_lifecycle_timeline.payload IS 'The details.';
COMMENT ON COLUMN concord.registry_lifecycle_timeline.trace_id IS 'The trace it belongs to.';
COMMENT ON COLUMN concord.registry_lifecycle_timeline.created_at IS 'When it happened.';

-- A command's use of its contract is its own row (commands.contract_version_id);
-- command_proposed usage rows written before issue 16 say the same and are
-- not counted twice.
CREATE OR REPLACE VIEW concord.registry_version_usage AS
SELECT
    e.entity_type,
    e.name AS entity,
    u.version_id,
    v.version::text AS version,
    u.usage_type,
    count(*) AS uses,
    max(u.created_at) AS last_used_at
FROM (
    SELECT
        r.version_id,
        r.entity_id,
        r.usage_type,
        r.created_at
    FROM concord.registry_usage AS r
    WHERE
        r.usage_type <> 'command_proposed'
        -- a row a command made is seen with that command (row security),
        -- as the command_proposed uses below are
        AND (
            r.command_id IS NULL
            OR EXISTS (
                SELECT 1 FROM concord.commands AS rc
                WHERE rc.command_id = r.command_id
            )
        )
    UNION ALL
    SELECT
        c.contract_version_id AS version_id,
        cv.entity_id,
        'command_proposed' AS usage_type,
        c.created_at
    FROM concord.commands AS c
    INNER JOIN concord.registry_versions AS cv ON c.contract_version_id = cv.version_id
) AS u
INNER JOIN concord.registry_entities AS e ON u.entity_id = e.entity_id
LEFT JOIN concord.registry_versions AS v ON u.version_id = v.version_id
WHERE
    e.org_id IS NULL
    OR concord._sees_all()
    OR e.org_id IN (
        SELECT p.org_id FROM concord.projects AS p
        WHERE p.project_id = any(concord._visible_projects())
    )
GROUP BY e.entity_type, e.name, u.version_id, v.version, u.usage_type;

COMMENT ON VIEW concord.registry_version_usage IS
'How often each version was used, per usage type (spec 117): resolutions, tools enabled, '
'deprecated versions resolved, retired versions refused; and when last.';
COMMENT ON COLUMN concord.registry_version_usage.entity_type IS 'The entity''s registry type.';
COMMENT ON COLUMN concord.registry_version_usage.entity IS 'The entity''s name.';
COMMENT ON COLUMN concord.registry_version_usage.version_id IS
'The version used (NULL: refused before a version was found).';
COMMENT ON COLUMN concord.registry_version_usage.version IS 'Its semantic version.';
COMMENT ON COLUMN concord.registry_version_usage.usage_type IS 'How it was used.';
COMMENT ON COLUMN concord.registry_version_usage.uses IS 'How many times.';
COMMENT ON COLUMN concord.registry_version_usage.last_used_at IS 'When last.';

CREATE OR REPLACE VIEW concord.registry_deprecated_usage AS
SELECT
    u.entity_type,
    u.entity,
    u.version_id,
    u.version,
    v.deprecated_at,
    u.uses AS resolutions,
    u.last_used_at AS last_resolved_at
FROM concord.registry_version_usage AS u
INNER JOIN concord.registry_versions AS v ON u.version_id = v.version_id
WHERE u.usage_type = 'deprecated_version_resolved';

COMMENT ON VIEW concord.registry_deprecated_usage IS
'Deprecated versions still resolved (spec 117): how often and when last, to know who has yet to '
'move.';
COMMENT ON COLUMN concord.registry_deprecated_usage.entity_type IS 'The entity''s registry type.';
COMMENT ON COLUMN concord.registry_deprecated_usage.entity IS 'The entity''s name.';
COMMENT ON COLUMN concord.registry_deprecated_usage.version_id IS 'The deprecated version.';
COMMENT ON COLUMN concord.registry_deprecated_usage.version IS 'Its semantic version.';
COMMENT ON COLUMN concord.registry_deprecated_usage.deprecated_at IS 'When it was deprecated.';
COMMENT ON COLUMN concord.registry_deprecated_usage.resolutions IS
'How many times it was resolved.';
COMMENT ON COLUMN concord.registry_deprecated_usage.last_resolved_at IS 'When last.';

CREATE OR REPLACE VIEW concord.registry_retired_resolution_attempts AS
SELECT
    u.entity_type,
    u.entity,
    u.version_id,
    u.version,
    v.retired_at,
    u.uses AS attempts,
    u.last_used_at AS last_attempt_at
FROM concord.registry_version_usage AS u
LEFT JOIN concord.registry_versions AS v ON u.version_id = v.version_id
WHERE u.usage_type = 'retired_version_refused';

COMMENT ON VIEW concord.registry_retired_resolution_attempts IS
'Resolutions refused because the version in force was retired (spec 117): who still asks for it.';
COMMENT ON COLUMN concord.registry_retired_resolution_attempts.entity_type IS
'The entity''s registry type.';
COMMENT ON COLUMN concord.registry_retired_resolution_attempts.entity IS 'The entity''s name.';
COMMENT ON COLUMN concord.registry_retired_resolution_attempts.version_id IS 'The retired version.';
COMMENT ON COLUMN concord.registry_retired_resolution_attempts.version IS 'Its semantic version.';
COMMENT ON COLUMN concord.registry_retired_resolution_attempts.retired_at IS 'When it was retired.';
COMMENT ON COLUMN concord.registry_retired_resolution_attempts.attempts IS
'How many resolutions were refused.';
COMMENT ON COLUMN concord.registry_retired_resolution_attempts.last_attempt_at IS 'When last.';

-- One version as a person reads it (spec 116): the registry views carry no
-- manifest, this does.
CREATE OR REPLACE FUNCTION concord.registry_version(version_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
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
    -- another organisation's version reads as absent (CN006)
    v concord.registry_versions%ROWTYPE := concord._registry_seen_version(version_id);
    e concord.registry_entities%ROWTYPE;
BEGIN
    SELECT * INTO e FROM concord.registry_entities AS x WHERE x.entity_id = v.entity_id;
    RETURN concord._registry_version_answer(v) || jsonb_build_object(
        'entity_id', e.entity_id,
        'organisation', (SELECT o.name FROM concord.organisations AS o WHERE o.org_id = e.org_id),
        'owner', e.owner,
        'risk_level', v.risk_level,
        'previous_version_id', v.previous_version_id,
        'manifest', v.manifest,
        'created_by', v.created_by,
        'created_at', v.created_at,
        'published_at', v.published_at,
        'deprecated_at', v.deprecated_at,
        'retired_at', v.retired_at,
        'retirement_reason', v.retirement_reason,
        'relationships', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'relationship_type', r.relationship_type, 'target_entity_type', r.target_entity_type,
                       'target_entity_name', r.target_entity_name, 'constraint', r.target_version_constraint,
                       'required', r.required, 'metadata', r.metadata)
                   ORDER BY r.registry_relationship_id)
            FROM concord.registry_relationships AS r WHERE r.source_version_id = v.version_id), '[]'),
        'artifacts', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                       'artifact_type', a.artifact_type, 'artifact_uri', a.artifact_uri, 'checksum', a.checksum,
                       'metadata', a.metadata)
                   ORDER BY a.created_at, a.registry_artifact_id)
            FROM concord.registry_artifacts AS a WHERE a.version_id = v.version_id), '[]'));
END
$$;

COMMENT ON FUNCTION concord.registry_version(uuid) IS
'One registry version the caller may see (spec 116): {version_id, entity_type, name, version, '
'status, checksum, change_class, change_reasons, high_risk_changes, approval_required, '
'approved_by, entity_id, organisation, owner, risk_level, previous_version_id, manifest, '
'created_by, created_at, published_at, deprecated_at, retired_at, retirement_reason, '
'relationships, artifacts}. Another organisation''s version reads as absent (CN006, '
'the_registry_version_exists).';
