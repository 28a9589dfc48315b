-- Checking a manifest against its registry type (issue 14: "refuse a
-- manifest with every problem listed, like payloads today").

CREATE OR REPLACE FUNCTION concord.registry_manifest_problems(entity_type text, manifest jsonb)
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
AS $$
#variable_conflict use_variable
DECLARE
    type_schema jsonb;
    problems jsonb;
    edge record;
BEGIN
    SELECT t.manifest_schema INTO type_schema
    FROM concord.registry_entity_types AS t
    WHERE t.entity_type = entity_type;
    IF NOT FOUND THEN
        RETURN jsonb_build_array(jsonb_build_object(
            'path', '$',
            'message', format('%s is not a registry type (known types: %s)', coalesce(entity_type, 'NULL'),
                              (SELECT string_agg(t.entity_type, ', ' ORDER BY t.entity_type)
                               FROM concord.registry_entity_types AS t)),
            'kind', 'entity_type'));
    END IF;

    IF jsonb_typeof(manifest) IS DISTINCT FROM 'object' THEN
        RETURN jsonb_build_array(jsonb_build_object(
            'path', '$',
            'message', format('a manifest is a JSON object, not %s', coalesce(jsonb_typeof(manifest), 'NULL')),
            'kind', 'schema'));
    END IF;
    problems := concord._json_schema_errors(type_schema, manifest);

    IF jsonb_typeof(manifest -> 'name') = 'string'
       AND NOT (manifest ->> 'name' ~ '^[A-Za-z][A-Za-z0-9_.:-]*$' AND length(manifest ->> 'name') <= 128) THEN
        problems := problems || jsonb_build_object(
            'path', '$.name',
            'message', format('name %s is not an identifier: it starts with a letter and holds only letters, '
                              'digits and _ . : - (at most 128 characters)', manifest -> 'name'),
            'kind', 'name');
    END IF;
    IF jsonb_typeof(manifest -> 'version') = 'string' AND NOT semver.is_semver(manifest ->> 'version') THEN
        problems := problems || jsonb_build_object(
            'path', '$.version',
            'message', format('version %s is not a semantic version: MAJOR.MINOR.PATCH with an optional '
                              '-pre-release, e.g. 1.4.2 or 2.0.0-rc.1', manifest -> 'version'),
            'kind', 'version');
    END IF;

    -- The JSON Schemas a manifest carries must be usable ones.
    problems := problems || coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'path', s.path,
                   'message', regexp_replace(p.problem, '^payload_schema', s.path),
                   'kind', 'json_schema') ORDER BY s.path, p.n)
        FROM (
            SELECT '$.' || k.key AS path, manifest -> k.key AS value
            FROM unnest(ARRAY['payload_schema', 'output_schema', 'input_schema', 'schema']) AS k (key)
            UNION ALL
            SELECT format('$.operations[%s].%s', o.n - 1, k.key), o.item -> k.key
            FROM jsonb_array_elements(
                CASE jsonb_typeof(manifest -> 'operations') WHEN 'array' THEN manifest -> 'operations' ELSE '[]' END
            ) WITH ORDINALITY AS o (item, n)
            CROSS JOIN unnest(ARRAY['input_schema', 'output_schema']) AS k (key)
        ) AS s
        CROSS JOIN LATERAL jsonb_array_elements_text(concord._json_schema_problems(s.value))
            WITH ORDINALITY AS p (problem, n)
        WHERE jsonb_typeof(s.value) IN ('object', 'boolean')
    ), '[]');

    -- Every version constraint of an edge must parse (and declarations of
    -- one edge must overlap).
    FOR edge IN
        SELECT r.relationship_type, r.target_entity_type, r.target_entity_name, r.target_version_constraint
        FROM concord._registry_manifest_relationships(entity_type, manifest) AS r
        WHERE r.target_version_constraint IS NOT NULL
    LOOP
        BEGIN
            PERFORM concord.registry_version_range(edge.target_version_constraint);
        EXCEPTION WHEN SQLSTATE 'CN005' THEN
            problems := problems || jsonb_build_object(
                'path', '$',
                'message', format('%s %s %s: %s', edge.relationship_type, edge.target_entity_type,
                                  edge.target_entity_name, SQLERRM),
                'kind', 'version_constraint');
        END;
    END LOOP;
    RETURN problems;
END
$$;

COMMENT ON FUNCTION concord.registry_manifest_problems(text, jsonb) IS
'Every problem with a manifest of a registry type, as [{path, message, kind}] (empty when it is '
'valid): kind schema for each way it breaks its type''s JSON Schema '
'(concord.registry_entity_types), '
'name for a name that is not an identifier, version for a version that is not semantic, '
'json_schema for a payload_schema, input_schema, output_schema or schema that is not a usable JSON '
'Schema, version_constraint for a relationship''s constraint that does not parse; one problem of '
'kind entity_type for an unknown registry type.';

-- The relationships a manifest declares, for callers that order manifests
-- before they exist (concord registry apply sorts a folder by them).
CREATE OR REPLACE FUNCTION concord.registry_manifest_relationships(entity_type text, manifest jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
#variable_conflict use_variable
BEGIN
    RETURN coalesce((
        SELECT jsonb_agg(jsonb_build_object(
                   'relationship_type', r.relationship_type, 'target_entity_type', r.target_entity_type,
                   'target_entity_name', r.target_entity_name, 'version', r.target_version_constraint,
                   'required', r.required, 'metadata', r.metadata)
                   ORDER BY r.relationship_type, r.target_entity_type, r.target_entity_name)
        FROM concord._registry_manifest_relationships(entity_type, manifest) AS r), '[]');
END
$$;

COMMENT ON FUNCTION concord.registry_manifest_relationships(text, jsonb) IS
'The relationships a manifest of a registry type declares, as a version of it would record them: '
'[{relationship_type, target_entity_type, target_entity_name, version (the constraint, NULL: any), '
'required, metadata}], from its fields (tools, skills, policies, connector operations, ...) and '
'its explicit relationships. Writes nothing; any shape answers without an error.';
