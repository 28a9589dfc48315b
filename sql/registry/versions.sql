-- The registry's kernel operations on entities and versions (spec 111):
-- create, validate, publish, deprecate, retire. Private: the public API
-- (sql/registry/api.sql) checks who may act and records each change as a
-- governed command; these do the change and are idempotent, so a DBOS step
-- that runs twice changes nothing the second time.

-- The entity of a type and name, locked for the change (CN006 when absent).
CREATE OR REPLACE FUNCTION concord._registry_entity(
    entity_type text, name text, lock boolean DEFAULT FALSE
)
RETURNS concord.registry_entities
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    e concord.registry_entities%ROWTYPE;
BEGIN
    IF lock THEN
        SELECT * INTO e FROM concord.registry_entities AS x
        WHERE x.entity_type = _registry_entity.entity_type AND x.name = _registry_entity.name FOR UPDATE;
    ELSE
        SELECT * INTO e FROM concord.registry_entities AS x
        WHERE x.entity_type = _registry_entity.entity_type AND x.name = _registry_entity.name;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_registry_entity_exists',
            TABLE = 'registry_entities',
            MESSAGE = format('no registry entity %s %s', coalesce(entity_type, '(no type)'), coalesce(name, '(no name)')),
            HINT = 'Create it with concord.create_registry_entity (SELECT * FROM concord.registry_entities lists them).';
    END IF;
    RETURN e;
END
$$;

-- A version by id, locked for the change when asked (CN006 when absent).
CREATE OR REPLACE FUNCTION concord._registry_version(version_id uuid, lock boolean DEFAULT FALSE)
RETURNS concord.registry_versions
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    v concord.registry_versions%ROWTYPE;
BEGIN
    IF lock THEN
        SELECT * INTO v FROM concord.registry_versions AS x WHERE x.version_id = _registry_version.version_id
        FOR UPDATE;
    ELSE
        SELECT * INTO v FROM concord.registry_versions AS x WHERE x.version_id = _registry_version.version_id;
    END IF;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_registry_version_exists',
            TABLE = 'registry_versions',
            MESSAGE = format('no registry version %s', coalesce(version_id::text, 'NULL')),
            HINT = 'SELECT * FROM concord.registry_entity_versions lists them.';
    END IF;
    RETURN v;
END
$$;

-- The highest published or deprecated version of an entity: what a new
-- version's change is classified against.
CREATE OR REPLACE FUNCTION concord._registry_latest_published(entity_id uuid)
RETURNS concord.registry_versions
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    v concord.registry_versions%ROWTYPE;
BEGIN
    SELECT * INTO v FROM concord.registry_versions AS x
    WHERE x.entity_id = _registry_latest_published.entity_id AND x.status IN ('published', 'deprecated', 'retired')
      AND x.published_at IS NOT NULL
    ORDER BY x.version DESC LIMIT 1;
    RETURN v;
END
$$;

CREATE OR REPLACE FUNCTION concord._registry_create_entity(
    entity_type text, name text, display_name text, owner text, description text, domain text,
    org_id uuid, actor text
)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    e concord.registry_entities%ROWTYPE;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM concord.registry_entity_types AS t WHERE t.entity_type = _registry_create_entity.entity_type) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_registry_entity_has_a_known_type',
            TABLE = 'registry_entities',
            MESSAGE = format('%s is not a registry type', coalesce(entity_type, 'NULL')),
            HINT = 'The types: ' || coalesce((SELECT string_agg(t.entity_type, ', ' ORDER BY t.entity_type)
                                              FROM concord.registry_entity_types AS t), 'none installed');
    END IF;
    INSERT INTO concord.registry_entities AS x (
        entity_type, name, display_name, description, owner, org_id, domain, created_by
    ) VALUES (
        entity_type, name, coalesce(nullif(btrim(display_name), ''), name), description, owner, org_id, domain, actor
    )
    ON CONFLICT ON CONSTRAINT registry_entity_name_is_unique_in_its_type DO NOTHING
    RETURNING x.* INTO e;
    IF FOUND THEN
        RETURN e.entity_id;
    END IF;
    e := concord._registry_entity(entity_type, name);
    IF e.org_id IS DISTINCT FROM _registry_create_entity.org_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_registry_entity_name_is_taken_once',
            TABLE = 'registry_entities',
            MESSAGE = format('registry entity %s %s already exists and belongs to another organisation',
                             entity_type, name),
            HINT = 'Choose another name.';
    END IF;
    RETURN e.entity_id;
END
$$;

-- Problems with a version's artifact references, as text.
CREATE OR REPLACE FUNCTION concord._registry_artifact_problems(artifact_refs jsonb)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    problems text[] := '{}'::text[];
    ref jsonb;
    n integer := 0;
BEGIN
    IF jsonb_typeof(artifact_refs) <> 'array' THEN
        RETURN ARRAY[format('artifact_refs must be a JSON array, not %s', jsonb_typeof(artifact_refs))];
    END IF;
    FOR ref IN SELECT x.item FROM jsonb_array_elements(artifact_refs) AS x (item) LOOP
        n := n + 1;
        IF jsonb_typeof(ref) <> 'object' THEN
            problems := problems || format('artifact_refs[%s] must be an object', n);
            CONTINUE;
        END IF;
        IF NOT coalesce(ref ->> 'artifact_type', '') IN (
            'manifest_yaml', 'manifest_json', 'skill_md', 'tool_schema', 'connector_schema',
            'policy_bundle',
            'prompt_template', 'eval_suite', 'example_bundle', 'package_archive') THEN
            problems := problems || format('artifact_refs[%s].artifact_type %s is not an artifact type', n,
                                           coalesce(ref -> 'artifact_type', 'null'));
        END IF;
        IF jsonb_typeof(ref -> 'artifact_uri') IS DISTINCT FROM 'string' OR btrim(ref ->> 'artifact_uri') = '' THEN
            problems := problems || format('artifact_refs[%s].artifact_uri must be a non-blank string', n);
        END IF;
        IF NOT coalesce(ref ->> 'checksum', '') ~ '^sha256:[0-9a-f]{64}$' THEN
            problems := problems || format('artifact_refs[%s].checksum must be sha256:<64 hex digits>', n);
        END IF;
        IF ref ? 'metadata' AND jsonb_typeof(ref -> 'metadata') <> 'object' THEN
            problems := problems || format('artifact_refs[%s].metadata must be an object', n);
        END IF;
        IF EXISTS (SELECT 1 FROM jsonb_object_keys(ref) AS k (key)
                   WHERE k.key NOT IN ('artifact_type', 'artifact_uri', 'checksum', 'metadata')) THEN
            problems := problems || format('artifact_refs[%s] holds only artifact_type, artifact_uri, checksum, '
                                           'metadata', n);
        END IF;
    END LOOP;
    RETURN problems;
END
$$;

-- Creates a draft version of entity e (spec 111.1's first steps: the
-- manifest checked against its type, its change classified against the
-- latest published version, the version number checked against the
-- change). Creating the same version with the same manifest again returns
-- the first.
CREATE OR REPLACE FUNCTION concord._registry_create_version(
    e concord.registry_entities, version text, manifest jsonb, artifact_refs jsonb, actor text
)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    doc jsonb;
    problems jsonb;
    existing concord.registry_versions%ROWTYPE;
    new_id uuid;
BEGIN
    IF version IS NULL OR NOT semver.is_semver(version) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'a_registry_version_is_a_semantic_version',
            TABLE = 'registry_versions',
            MESSAGE = format('%s is not a semantic version', coalesce(quote_literal(version), 'NULL')),
            HINT = 'Write MAJOR.MINOR.PATCH, optionally with a pre-release: 1.4.2, 2.0.0-rc.1.';
    END IF;
    IF manifest IS NULL OR jsonb_typeof(manifest) <> 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'a_manifest_satisfies_its_type_schema',
            TABLE = 'registry_versions',
            MESSAGE = format('a manifest is a JSON object, not %s', coalesce(jsonb_typeof(manifest), 'NULL'));
    END IF;
    -- name and version may be left out of a manifest: they are the version's
    doc := jsonb_build_object('name', e.name, 'version', version) || manifest;
    problems := concord.registry_manifest_problems(e.entity_type, doc);
    IF jsonb_array_length(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'a_manifest_satisfies_its_type_schema',
            TABLE = 'registry_versions',
            MESSAGE = format('invalid %s manifest %s %s: %s problem(s)', e.entity_type, e.name, version,
                             jsonb_array_length(problems)),
            DETAIL = (SELECT string_agg(format('- %s: %s', p.item ->> 'path', p.item ->> 'message'), E'\n')
                      FROM jsonb_array_elements(problems) AS p (item)),
            HINT = format('The %s schema: SELECT manifest_schema FROM concord.registry_entity_types '
                          'WHERE entity_type = %L.', e.entity_type, e.entity_type);
    END IF;
    artifact_refs := coalesce(artifact_refs, '[]');
    IF cardinality(concord._registry_artifact_problems(artifact_refs)) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'artifact_refs_are_well_formed',
            TABLE = 'registry_artifacts',
            MESSAGE = 'invalid artifact_refs',
            DETAIL = '- ' || array_to_string(concord._registry_artifact_problems(artifact_refs), E'\n- '),
            HINT = 'Each is {artifact_type, artifact_uri, checksum: "sha256:<hex>", metadata?}.';
    END IF;

    SELECT * INTO existing FROM concord.registry_versions AS x
    WHERE x.entity_id = e.entity_id AND x.version OPERATOR(semver.=) version::semver.semver;
    IF FOUND THEN
        IF existing.checksum = concord.registry_checksum(doc) THEN
            RETURN existing.version_id;
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_version_number_is_used_once',
            TABLE = 'registry_versions',
            MESSAGE = format('%s %s already has version %s (%s) with another manifest', e.entity_type, e.name,
                             version, existing.status),
            HINT = 'A version number names one manifest forever: create the next version instead.';
    END IF;

    -- the guard (concord._registry_versions_before_insert) classifies its
    -- change against the latest published version, sets its risk and
    -- approval, and refuses a number that does not fit (CN017)
    INSERT INTO concord.registry_versions AS x (entity_id, version, status, manifest, checksum, created_by)
    VALUES (e.entity_id, version::semver.semver, 'draft', doc, concord.registry_checksum(doc), actor)
    RETURNING x.version_id INTO new_id;

    INSERT INTO concord.registry_relationships (
        source_version_id, relationship_type, target_entity_type, target_entity_name,
        target_version_constraint, target_versions, required, metadata
    )
    SELECT new_id, r.relationship_type, r.target_entity_type, r.target_entity_name,
           r.target_version_constraint, concord.registry_version_range(r.target_version_constraint),
           r.required, r.metadata
    FROM concord._registry_manifest_relationships(e.entity_type, doc) AS r
    ON CONFLICT ON CONSTRAINT registry_relationship_is_recorded_once DO NOTHING;

    INSERT INTO concord.registry_artifacts (version_id, artifact_type, artifact_uri, checksum, metadata)
    SELECT new_id, a.item ->> 'artifact_type', a.item ->> 'artifact_uri', a.item ->> 'checksum',
           coalesce(a.item -> 'metadata', '{}')
    FROM jsonb_array_elements(artifact_refs) AS a (item);
    RETURN new_id;
END
$$;
