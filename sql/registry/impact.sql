-- Impact analysis (spec 106.1, 116): walk the capability graph backwards
-- from a target (Backstage-style relations) to every published or
-- deprecated version that depends on it, transitively: "if this connector
-- is retired, which tools, skills, command types, agent roles and bindings
-- break?". Each step follows registry_relationships by target type and name
-- (indexed: registry_relationships_target_idx), keeping an edge only when
-- its version range holds the version depended on.

CREATE OR REPLACE VIEW concord.registry_impact_edges AS
SELECT
    e.entity_type AS source_entity_type,
    e.name AS source_name,
    v.version::text AS source_version,
    v.version_id AS source_version_id,
    v.status AS source_status,
    r.relationship_type,
    r.target_entity_type,
    r.target_entity_name,
    r.target_version_constraint,
    r.required
FROM concord.registry_relationships AS r
INNER JOIN concord.registry_versions AS v ON r.source_version_id = v.version_id
INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
WHERE
    e.org_id IS NULL
    OR concord._sees_all()
    OR e.org_id IN (
        SELECT p.org_id FROM concord.projects AS p
        WHERE p.project_id = any(concord._visible_projects())
    );

COMMENT ON VIEW concord.registry_impact_edges IS
'The capability graph''s edges (spec 108.2): which version uses, creates, requires, produces, '
'reads, writes or spawns which target, by type, name and version constraint. Platform entities '
'and those of the caller''s organisations.';
COMMENT ON COLUMN concord.registry_impact_edges.source_entity_type IS 'The source entity''s type.';
COMMENT ON COLUMN concord.registry_impact_edges.source_name IS 'The source entity''s name.';
COMMENT ON COLUMN concord.registry_impact_edges.source_version IS 'The source version.';
COMMENT ON COLUMN concord.registry_impact_edges.source_version_id IS 'The source version''s id.';
COMMENT ON COLUMN concord.registry_impact_edges.source_status IS 'The source version''s status.';
COMMENT ON COLUMN concord.registry_impact_edges.relationship_type IS
'What the source does with the target.';
COMMENT ON COLUMN concord.registry_impact_edges.target_entity_type IS 'The target''s type.';
COMMENT ON COLUMN concord.registry_impact_edges.target_entity_name IS 'The target''s name.';
COMMENT ON COLUMN concord.registry_impact_edges.target_version_constraint IS
'The versions of the target the source accepts, as written (NULL: any).';
COMMENT ON COLUMN concord.registry_impact_edges.required IS
'Whether the source cannot work without it.';

CREATE OR REPLACE FUNCTION concord.registry_impact(
    target_type text, target_name text, target_version text DEFAULT NULL
)
RETURNS TABLE (
    depth integer,
    entity_type text,
    name text,
    version text,
    version_id uuid,
    status text,
    relationship_type text,
    required boolean,
    active_bindings integer,
    via text
)
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
#variable_conflict use_column
DECLARE
    target semver.semver;
BEGIN
    PERFORM concord._require('entity_type', target_type);
    PERFORM concord._require('name', target_name);
    IF target_version IS NOT NULL THEN
        IF NOT semver.is_semver(target_version) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN008',
                CONSTRAINT = 'a_checked_version_is_a_semantic_version',
                MESSAGE = format('%s is not a semantic version', target_version),
                HINT = 'MAJOR.MINOR.PATCH, e.g. 1.4.2.';
        END IF;
        target := semver.to_semver(target_version);
    END IF;
    RETURN QUERY
    WITH RECURSIVE walk (depth, version_id, entity_type, name, version, relationship_type, required, via, path) AS (
        SELECT 1, v.version_id, e.entity_type, e.name, v.version, r.relationship_type, r.required,
               format('%s %s%s', target_type, target_name,
                      coalesce(' ' || target_version, '')),
               ARRAY[v.version_id]
        FROM concord.registry_relationships AS r
        INNER JOIN concord.registry_versions AS v ON r.source_version_id = v.version_id
        INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
        WHERE r.target_entity_type = target_type AND r.target_entity_name = target_name
          AND (target IS NULL OR r.target_versions @> target)
          AND v.status IN ('published', 'deprecated')
        UNION ALL
        SELECT w.depth + 1, v.version_id, e.entity_type, e.name, v.version, r.relationship_type, r.required,
               format('%s %s %s', w.entity_type, w.name, w.version), w.path || v.version_id
        FROM walk AS w
        INNER JOIN concord.registry_relationships AS r
            ON r.target_entity_type = w.entity_type AND r.target_entity_name = w.name
               AND r.target_versions @> w.version
        INNER JOIN concord.registry_versions AS v ON r.source_version_id = v.version_id
        INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
        WHERE w.depth < 10 AND v.status IN ('published', 'deprecated') AND NOT v.version_id = ANY (w.path)
    ),
    -- each version once per edge that reaches it, at its shallowest depth
    shallowest AS (
        SELECT DISTINCT ON (w.version_id, w.relationship_type, w.via)
            w.depth, w.version_id, w.entity_type, w.name, w.version, w.relationship_type, w.required, w.via
        FROM walk AS w
        ORDER BY w.version_id, w.relationship_type, w.via, w.depth
    )
    SELECT s.depth, s.entity_type, s.name, s.version::text, s.version_id, v.status, s.relationship_type, s.required,
           (SELECT count(*)::integer FROM concord.registry_bindings AS b
            WHERE b.version_id = s.version_id AND b.status = 'active'
              AND concord._registry_binding_visible(b.binding_scope, b.binding_target)),
           s.via
    FROM shallowest AS s
    INNER JOIN concord.registry_versions AS v ON s.version_id = v.version_id
    INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
    WHERE concord._registry_org_visible(e.org_id)
    ORDER BY s.depth, s.entity_type, s.name, s.version, s.relationship_type, s.via;
END
$$;

COMMENT ON FUNCTION concord.registry_impact(text, text, text) IS
'What breaks if a capability changes or is retired (spec 106.1, 116): every published or '
'deprecated version that depends on target_type target_name (only through edges whose version '
'range holds target_version, when given), and transitively what depends on those, up to depth '
'10, cycle-safe: depth, the dependent version, the relationship, whether it is required, its '
'active bindings (those the caller may see) and the version it depends on (via). Platform '
'entities and those of the caller''s organisations.';

CREATE OR REPLACE FUNCTION concord.commands_under_contract(version_id uuid)
RETURNS TABLE (
    command_id uuid, command_type text, status text, created_at timestamptz, requested_by text,
    project_id uuid
)
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
#variable_conflict use_column
BEGIN
    -- row-level security of commands keeps other projects' commands out
    RETURN QUERY
    SELECT c.command_id, c.command_type, c.status, c.created_at, c.requested_by, c.project_id
    FROM concord.commands AS c
    WHERE c.contract_version_id = commands_under_contract.version_id
    ORDER BY c.created_at, c.command_id;
END
$$;

COMMENT ON FUNCTION concord.commands_under_contract(uuid) IS
'The commands judged under a command type contract version (commands.contract_version_id), of '
'the projects the caller may see: id, type, status, when, who asked, project.';

CREATE OR REPLACE VIEW concord.registry_version_commands AS
SELECT
    v.version_id,
    e.name AS entity,
    v.version::text AS version,
    v.status,
    (
        SELECT count(*) FROM concord.commands AS c
        WHERE c.contract_version_id = v.version_id
    ) AS commands
FROM concord.registry_versions AS v
INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
WHERE
    e.entity_type = 'command_type'
    AND (
        e.org_id IS NULL
        OR concord._sees_all()
        OR e.org_id IN (
            SELECT p.org_id FROM concord.projects AS p
            WHERE p.project_id = any(concord._visible_projects())
        )
    );

COMMENT ON VIEW concord.registry_version_commands IS
'How many commands (of the projects the caller may see) each command type contract version '
'judged.';
COMMENT ON COLUMN concord.registry_version_commands.version_id IS 'The contract version''s id.';
COMMENT ON COLUMN concord.registry_version_commands.entity IS 'The command type.';
COMMENT ON COLUMN concord.registry_version_commands.version IS 'The contract''s version.';
COMMENT ON COLUMN concord.registry_version_commands.status IS 'The version''s status.';
COMMENT ON COLUMN concord.registry_version_commands.commands IS
'The commands recorded under it (commands.contract_version_id).';
