-- Resolution for callers (spec 112, 114, 115): who resolves is who is
-- authenticated. The subject's identity (user, teams, tenant, app, and an
-- agent's role and name) comes from the session, the chosen project and the
-- agent's run, never from an argument; a context may only say what the
-- resolution is for (workflow_type, command_type).

-- The subject of a resolution by principal (NULL: nobody, an operator or the
-- kernel; 'agent:<run id>': that run's agent, its role and name from the
-- run) in project project_id, with what context adds. CN008 when the context
-- names an identity: an agent_role or agent_name in a context would let a
-- person (or another agent) take a binding meant for agents of that role.
CREATE OR REPLACE FUNCTION concord._registry_subject(principal text, project_id uuid, context jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    org uuid;
    subject jsonb := '{}'::jsonb;
    named text[];
    k text;
BEGIN
    context := coalesce(context, '{}');
    IF jsonb_typeof(context) <> 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_resolution_context_is_an_object_of_names',
            MESSAGE = format('a resolution context is a JSON object, not %s', jsonb_typeof(context)),
            HINT = 'For example {"workflow_type": "trip_planning", "agent_role": "planner"}.';
    END IF;
    named := ARRAY(SELECT c.key FROM jsonb_object_keys(context) AS c (key)
                   WHERE c.key IN ('user', 'teams', 'team', 'tenant', 'app', 'user_id', 'team_id', 'tenant_id',
                                   'app_id', 'principal', 'organisation', 'project', 'agent_role', 'agent_name',
                                   'agent_run_id')
                   ORDER BY c.key);
    IF cardinality(named) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'resolution_context_names_no_identity',
            MESSAGE = format('a resolution context may not name %s: who resolves is who is authenticated',
                             array_to_string(named, ', ')),
            HINT = 'The user, teams, tenant and app come from the authenticated principal and the chosen project '
                   '(concord.use_project), an agent''s role and name from its run; a context adds workflow_type '
                   'and command_type.';
    END IF;
    FOREACH k IN ARRAY ARRAY['workflow_type', 'command_type'] LOOP
        IF context ? k THEN
            IF jsonb_typeof(context -> k) <> 'string' OR btrim(context ->> k) = '' THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN008',
                    CONSTRAINT = 'a_resolution_context_is_an_object_of_names',
                    MESSAGE = format('resolution context %s must be a non-blank name, not %s', k, context -> k);
            END IF;
            subject := subject || jsonb_build_object(k, context ->> k);
        END IF;
    END LOOP;
    SELECT p.org_id INTO org FROM concord.projects AS p WHERE p.project_id = _registry_subject.project_id;
    IF org IS NOT NULL THEN
        subject := subject || jsonb_build_object(
            'tenant', (SELECT o.name FROM concord.organisations AS o WHERE o.org_id = org),
            'app', (SELECT o.name || '/' || p.name FROM concord.projects AS p
                    INNER JOIN concord.organisations AS o ON p.org_id = o.org_id
                    WHERE p.project_id = _registry_subject.project_id));
    END IF;
    IF starts_with(principal, 'agent:') AND concord._is_uuid(substr(principal, 7)) THEN
        subject := subject || coalesce((
            SELECT jsonb_strip_nulls(jsonb_build_object('agent_role', a.agent_role, 'agent_name', a.agent_name))
            FROM concord.agent_runs AS a WHERE a.agent_run_id = substr(principal, 7)::uuid), '{}');
    END IF;
    IF principal IS NOT NULL THEN
        subject := subject || jsonb_build_object(
            'user', principal,
            -- a team is named within its organisation: org/team, so a binding
            -- of a platform entity to one organisation's team is no other's
            'teams', coalesce((SELECT jsonb_agg(DISTINCT o.name || '/' || m.team ORDER BY o.name || '/' || m.team)
                               FROM concord.team_members AS m
                               INNER JOIN concord.organisations AS o ON m.org_id = o.org_id
                               WHERE m.org_id = org AND m.principal = _registry_subject.principal), '[]'::jsonb));
    END IF;
    RETURN subject;
END
$$;

-- Resolves for the caller in the chosen project; CN016 when nothing usable
-- resolves.
CREATE OR REPLACE FUNCTION concord._registry_resolve_for_caller(
    entity_type text, name text, context jsonb, environment text
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    subject jsonb;
    answer jsonb;
BEGIN
    PERFORM concord._require('entity_type', entity_type);
    PERFORM concord._require('name', name);
    subject := concord._registry_subject(concord._principal(), concord._chosen_project(), context);
    IF entity_type = 'command_type' THEN
        subject := subject || jsonb_build_object('command_type', name);
    END IF;
    answer := concord._registry_resolve(entity_type, name, subject, environment, true, '{}');
    IF NOT (answer ->> 'resolved')::boolean THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN016',
            CONSTRAINT = 'a_capability_resolves_to_a_usable_version',
            TABLE = 'registry_bindings',
            MESSAGE = format('%s %s resolves to no usable version in %s: %s', entity_type, name,
                             answer ->> 'environment',
                             CASE answer ->> 'reason'
                                 WHEN 'retired' THEN format('version %s is retired', answer ->> 'version')
                                 WHEN 'unknown_entity' THEN 'no such entity'
                                 ELSE 'no active binding matches' END),
            DETAIL = (answer -> 'explanation')::text,
            HINT = 'Bind a published version (concord.bind_registry_version) at a scope that matches: '
                   'user, team, tenant, workflow_type, command_type, agent_role, agent_name, app, environment '
                   'or global.';
    END IF;
    RETURN answer;
END
$$;

CREATE OR REPLACE FUNCTION concord.resolve_command_type_contract(
    command_type text, context jsonb DEFAULT '{}', environment text DEFAULT NULL
)
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
BEGIN
    RETURN concord._registry_resolve_for_caller('command_type', command_type, context, environment);
END
$$;

COMMENT ON FUNCTION concord.resolve_command_type_contract(text, jsonb, text) IS
'The command type contract in force for the caller (spec 112, 115): the version of the '
'command_type entity that the most specific active binding gives the authenticated principal '
'(user), its teams in the chosen project''s organisation (team), that organisation (tenant), the '
'project (app), an agent caller''s role and name (from its run) and what context adds '
'(workflow_type, command_type; an identity in context, agent_role and agent_name included, is '
'refused, CN008). Returns {resolved, entity_id, version_id, version, status, '
'deprecated, manifest, checksum, binding, explanation}: every binding considered, in order, and '
'why it matched or not. environment: default the one this database serves. CN016 when nothing '
'usable resolves (retired, unbound), the explanation in DETAIL. Recorded as a contract_resolved '
'usage (deprecated_version_resolved besides for a deprecated version); a refusal raises, so its '
'retired_version_refused row is rolled back with the caller''s transaction.';

CREATE OR REPLACE FUNCTION concord.resolve_registry_entity(
    entity_type text, name text, context jsonb DEFAULT '{}', environment text DEFAULT NULL
)
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
BEGIN
    RETURN concord._registry_resolve_for_caller(entity_type, name, context, environment);
END
$$;

COMMENT ON FUNCTION concord.resolve_registry_entity(text, text, jsonb, text) IS
'The version of any registry entity in force for the caller (spec 112): as '
'resolve_command_type_contract, for an entity of any type. CN016 when nothing usable resolves.';

-- Why source_version_id may (or may not) use the target through
-- relationship_type, for subject.
CREATE OR REPLACE FUNCTION concord._registry_capability_use(
    source_version_id uuid, relationship_type text, target_entity_type text,
    target_entity_name text, subject jsonb
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    v concord.registry_versions%ROWTYPE := concord._registry_version(source_version_id);
    e concord.registry_entities%ROWTYPE;
    source jsonb;
    edges jsonb;
    answer jsonb;
    within boolean;
BEGIN
    SELECT * INTO e FROM concord.registry_entities AS x WHERE x.entity_id = v.entity_id;
    IF NOT concord._registry_org_visible(e.org_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_registry_version_exists',
            TABLE = 'registry_versions',
            MESSAGE = format('no registry version %s', source_version_id);
    END IF;
    source := jsonb_build_object('entity_type', e.entity_type, 'name', e.name, 'version', v.version::text,
                                 'version_id', v.version_id, 'status', v.status);
    IF v.status NOT IN ('published', 'deprecated') THEN
        RETURN jsonb_build_object('allowed', false, 'source', source,
                                  'why', format('%s %s %s is %s: only a published or deprecated version uses '
                                                'anything', e.entity_type, e.name, v.version, v.status));
    END IF;
    SELECT jsonb_agg(jsonb_build_object(
               'relationship_type', r.relationship_type, 'target_entity_type', r.target_entity_type,
               'target_entity_name', r.target_entity_name, 'constraint', r.target_version_constraint,
               'target_versions', r.target_versions::text, 'required', r.required, 'metadata', r.metadata)
           ORDER BY r.registry_relationship_id)
    INTO edges
    FROM concord.registry_relationships AS r
    WHERE r.source_version_id = v.version_id AND r.relationship_type = _registry_capability_use.relationship_type
      AND r.target_entity_type = _registry_capability_use.target_entity_type
      AND r.target_entity_name = _registry_capability_use.target_entity_name;
    IF edges IS NULL THEN
        RETURN jsonb_build_object('allowed', false, 'source', source,
                                  'why', format('%s %s %s declares no %s of %s %s', e.entity_type, e.name, v.version,
                                                relationship_type, target_entity_type, target_entity_name));
    END IF;
    answer := concord._registry_resolve(target_entity_type, target_entity_name, subject, NULL, false, '{}');
    IF NOT (answer ->> 'resolved')::boolean THEN
        RETURN jsonb_build_object('allowed', false, 'source', source, 'relationships', edges,
                                  'resolution', answer - 'manifest',
                                  'why', format('%s %s resolves to no usable version (%s)', target_entity_type,
                                                target_entity_name, answer ->> 'reason'));
    END IF;
    SELECT bool_or(r.target_versions @> (answer ->> 'version')::semver.semver) INTO within
    FROM concord.registry_relationships AS r
    WHERE r.source_version_id = v.version_id AND r.relationship_type = _registry_capability_use.relationship_type
      AND r.target_entity_type = _registry_capability_use.target_entity_type
      AND r.target_entity_name = _registry_capability_use.target_entity_name;
    RETURN jsonb_build_object(
        'allowed', within, 'source', source, 'relationships', edges, 'resolution', answer - 'manifest',
        'why', CASE WHEN within
                    THEN format('%s %s %s %s %s %s, which resolves to %s', e.entity_type, e.name, v.version,
                                relationship_type, target_entity_type, target_entity_name, answer ->> 'version')
                    ELSE format('%s %s resolves to %s, outside the versions %s %s %s allows', target_entity_type,
                                target_entity_name, answer ->> 'version', e.entity_type, e.name, v.version) END);
END
$$;

CREATE OR REPLACE FUNCTION concord.explain_capability_use(
    source_version_id uuid, relationship_type text, target_entity_type text,
    target_entity_name text, context jsonb DEFAULT '{}'
)
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
BEGIN
    RETURN concord._registry_capability_use(
        source_version_id, relationship_type, target_entity_type, target_entity_name,
        concord._registry_subject(concord._principal(), concord._chosen_project(), context));
END
$$;

COMMENT ON FUNCTION concord.explain_capability_use(uuid, text, text, text, jsonb) IS
'Why a registry version may or may not use a capability (spec 114): {allowed, why, source, '
'relationships, resolution}. Allowed when the source version is published or deprecated, '
'declares relationship_type (uses_skill, uses_tool, creates_command_type, '
'invokes_connector_operation, writes_memory, spawns_agent_role, ...) to the target, and the '
'target resolves for the caller (as resolve_registry_entity: context adds workflow_type and '
'command_type) to a usable version within the relationship''s version '
'constraint. Records no usage.';

CREATE OR REPLACE FUNCTION concord.can_use_capability(
    source_version_id uuid, relationship_type text, target_entity_type text,
    target_entity_name text, context jsonb DEFAULT '{}'
)
RETURNS boolean
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
BEGIN
    RETURN (concord._registry_capability_use(
        source_version_id, relationship_type, target_entity_type, target_entity_name,
        concord._registry_subject(concord._principal(), concord._chosen_project(), context)) ->> 'allowed')::boolean;
END
$$;

COMMENT ON FUNCTION concord.can_use_capability(uuid, text, text, text, jsonb) IS
'Whether a registry version may use a capability (spec 114, 115): true when the source version '
'is published or deprecated, declares relationship_type to the target, and the target resolves '
'for the caller to a usable version within the relationship''s constraint. '
'concord.explain_capability_use says why.';
