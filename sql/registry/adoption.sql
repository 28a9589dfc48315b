-- Adoption of the legacy catalogs (issue 14 section 3): a database upgraded
-- to 0008 holds catalog rows and no registry. Every row without an entity
-- becomes a platform entity (a policy of an organisation, that
-- organisation's) with version 1.0.0 (an approval type: its own version
-- number when it has one), published and bound globally; commands recorded
-- before are given the version their type was adopted as. Repeatable and
-- idempotent: run by every concord migrate (the SELECT at the end).

-- Adopts one catalog row's manifest as entity_type name.
CREATE OR REPLACE FUNCTION concord._registry_adopt(
    entity_type text, name text, manifest jsonb, org_id uuid, version text, actor text
)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    e concord.registry_entities%ROWTYPE;
    version_id uuid;
BEGIN
    PERFORM concord._registry_create_entity(entity_type, name, coalesce(manifest ->> 'display_name', name), actor,
                                            nullif(manifest ->> 'description', ''), NULL, org_id, actor);
    e := concord._registry_entity(entity_type, name, true);
    version_id := concord._registry_create_version(e, version, manifest || jsonb_build_object('version', version),
                                                   '[]', actor);
    PERFORM concord._registry_legacy_edges_are_optional(version_id);
    PERFORM concord._registry_publish(version_id, NULL);
    PERFORM concord._registry_bind(version_id, 'global', '*', NULL, 'pinned', '{}', actor);
    RETURN version_id;
END
$$;

-- Adopts every catalog row without an entity, in dependency order (what a
-- manifest refers to is adopted before it), and backfills the contract of
-- commands recorded before. A row that cannot be adopted (a name the
-- registry does not admit, a reference to one) is left as it is, with a
-- warning: its commands are judged by the row and record no version.
-- Answers {adopted, skipped, commands}.
CREATE OR REPLACE FUNCTION concord._registry_adopt_catalogs()
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    actor text := coalesce(concord._principal(), session_user::text);
    r record;
    adopted integer := 0;
    skipped jsonb := '[]'::jsonb;
    backfilled integer;
BEGIN
    FOR r IN
        SELECT 1 AS n, 'approval_type' AS entity_type, t.name, concord._approval_type_manifest(t) AS manifest,
               NULL::uuid AS org_id,
               CASE WHEN semver.is_semver(t.version)
                         AND semver.get_semver_major(t.version::semver.semver) >= 1 THEN t.version
                    ELSE '1.0.0' END AS version
        FROM concord.approval_types AS t
        UNION ALL
        SELECT 2, 'policy', p.name, concord._policy_manifest(p), p.org_id, '1.0.0' FROM concord.policies AS p
        UNION ALL
        SELECT 3, 'connector', c.connector_name, concord._connector_manifest(c), NULL, '1.0.0'
        FROM concord.connectors AS c
        UNION ALL
        SELECT 4, 'command_type', ct.command_type, concord._command_type_manifest(ct), NULL, '1.0.0'
        FROM concord.command_types AS ct
        UNION ALL
        SELECT 5, 'tool', t.tool_name, concord._tool_manifest(t), NULL, '1.0.0' FROM concord.tools AS t
        ORDER BY 1, 3
    LOOP
        CONTINUE WHEN EXISTS (SELECT 1 FROM concord.registry_entities AS e
                              WHERE e.entity_type = r.entity_type AND e.name = r.name);
        BEGIN
            PERFORM concord._registry_adopt(r.entity_type, r.name, r.manifest, r.org_id, r.version, actor);
            adopted := adopted + 1;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'concord: % % is not adopted into the registry: %', r.entity_type, r.name, SQLERRM;
            skipped := skipped || jsonb_build_object('entity_type', r.entity_type, 'name', r.name, 'error', SQLERRM);
        END;
    END LOOP;
    -- a command keeps the contract it was judged under: the one its type
    -- was adopted as (the commands guard admits exactly this change, once)
    WITH adopted_as AS (
        SELECT DISTINCT ON (e.name) e.name AS command_type, v.version_id
        FROM concord.registry_entities AS e
        INNER JOIN concord.registry_versions AS v ON e.entity_id = v.entity_id
        WHERE e.entity_type = 'command_type' AND v.published_at IS NOT NULL
        ORDER BY e.name, v.version
    )
    UPDATE concord.commands AS c SET contract_version_id = a.version_id
    FROM adopted_as AS a
    WHERE c.contract_version_id IS NULL AND c.command_type = a.command_type;
    GET DIAGNOSTICS backfilled = ROW_COUNT;
    RETURN jsonb_build_object('adopted', adopted, 'skipped', skipped, 'commands', backfilled);
END
$$;

SELECT concord._registry_adopt_catalogs();
