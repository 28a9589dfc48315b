-- The minimized runtime manifest of an agent run (spec 106.5, 112.4, 113
-- resolve_agent_runtime_manifest): the agent role resolved for the run's
-- subject, the skills its version uses that resolve within their
-- constraints, each skill's tools that resolve, and the memory and artifact
-- scopes both the skill declares and the role allows. Nothing else: no
-- draft, retired or unbound capability, no other tenant's entity, no admin
-- metadata, no secret.

-- doc without any key named like a secret, at any depth.
CREATE OR REPLACE FUNCTION concord._registry_without_secrets(doc jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    IF jsonb_typeof(doc) = 'object' THEN
        RETURN coalesce((SELECT jsonb_object_agg(d.key, concord._registry_without_secrets(d.value))
                         FROM jsonb_each(doc) AS d
                         WHERE d.key !~* '(secret|token|passw|credential|api_?key|private_key)'), '{}'::jsonb);
    ELSIF jsonb_typeof(doc) = 'array' THEN
        RETURN coalesce((SELECT jsonb_agg(concord._registry_without_secrets(a.item) ORDER BY a.n)
                         FROM jsonb_array_elements(doc) WITH ORDINALITY AS a (item, n)), '[]'::jsonb);
    END IF;
    RETURN doc;
END
$$;

-- The targets of a version's edges of one relationship type, by name.
CREATE OR REPLACE FUNCTION concord._registry_edge_targets(version_id uuid, relationship_type text)
RETURNS text[]
LANGUAGE sql
STABLE
SET search_path = concord, pg_temp
AS $$
    SELECT coalesce(array_agg(DISTINCT r.target_entity_name ORDER BY r.target_entity_name), '{}')
    FROM concord.registry_relationships AS r
    WHERE r.source_version_id = _registry_edge_targets.version_id
      AND r.relationship_type = _registry_edge_targets.relationship_type
$$;

-- The target of edge resolved for subject, NULL unless a usable version
-- within the edge's constraint resolves.
CREATE OR REPLACE FUNCTION concord._registry_resolve_edge(
    edge concord.registry_relationships, subject jsonb, environment text
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    answer jsonb := concord._registry_resolve(edge.target_entity_type, edge.target_entity_name, subject, environment,
                                              false, '{}');
BEGIN
    IF (answer ->> 'resolved')::boolean AND edge.target_versions @> (answer ->> 'version')::semver.semver THEN
        RETURN answer;
    END IF;
    RETURN NULL;
END
$$;

-- The manifest for agent_role (and agent_name) resolved for subject;
-- {"resolved": false, ...} when the role does not resolve. usage (with
-- agent_run_id): records resolved_for_agent_run and tool_enabled rows.
CREATE OR REPLACE FUNCTION concord._registry_runtime_manifest(
    agent_run_id uuid, agent_role text, subject jsonb, environment text, record_usage boolean
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    role jsonb := concord._registry_resolve('agent_role', agent_role, subject, environment, false, '{}');
    role_version uuid;
    usage jsonb := jsonb_strip_nulls(jsonb_build_object('agent_run_id', agent_run_id));
    may_read text[];
    may_write text[];
    may_produce text[];
    edge concord.registry_relationships%ROWTYPE;
    tool_edge concord.registry_relationships%ROWTYPE;
    skill jsonb;
    tool jsonb;
    declared jsonb;
    tools jsonb;
    skills jsonb := '[]'::jsonb;
    role_tools jsonb := '[]'::jsonb;
    connectors jsonb := '[]'::jsonb;
    tool_names text[] := '{}'::text[];
BEGIN
    IF NOT (role ->> 'resolved')::boolean THEN
        IF record_usage THEN
            PERFORM concord._registry_note_usage(role, usage, 'resolved_for_agent_run');
        END IF;
        RETURN role - 'manifest';
    END IF;
    role_version := (role ->> 'version_id')::uuid;
    IF record_usage THEN
        PERFORM concord._registry_note_usage(role, usage, 'resolved_for_agent_run');
    END IF;
    -- what the role allows: a skill's scopes are cut down to these
    may_read := concord._registry_edge_targets(role_version, 'reads_memory');
    may_write := concord._registry_edge_targets(role_version, 'writes_memory');
    may_produce := concord._registry_edge_targets(role_version, 'produces_artifact');
    FOR edge IN
        SELECT * FROM concord.registry_relationships AS r
        WHERE r.source_version_id = role_version AND r.relationship_type = 'uses_skill'
          AND r.target_entity_type = 'skill'
        ORDER BY r.target_entity_name, r.registry_relationship_id
    LOOP
        skill := concord._registry_resolve_edge(edge, subject, environment);
        CONTINUE WHEN skill IS NULL;
        IF record_usage THEN
            PERFORM concord._registry_note_usage(skill, usage, 'resolved_for_agent_run');
        END IF;
        tools := '[]'::jsonb;
        FOR tool_edge IN
            SELECT * FROM concord.registry_relationships AS r
            WHERE r.source_version_id = (skill ->> 'version_id')::uuid AND r.relationship_type = 'uses_tool'
              AND r.target_entity_type = 'tool'
            ORDER BY r.target_entity_name, r.registry_relationship_id
        LOOP
            tool := concord._registry_resolve_edge(tool_edge, subject, environment);
            CONTINUE WHEN tool IS NULL;
            SELECT t.item INTO declared FROM jsonb_array_elements(
                CASE WHEN jsonb_typeof(skill #> '{manifest,tools}') = 'array' THEN skill #> '{manifest,tools}'
                     ELSE '[]' END) AS t (item)
            WHERE t.item ->> 'name' = tool_edge.target_entity_name LIMIT 1;
            tools := tools || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
                'name', tool ->> 'name', 'version', tool ->> 'version', 'tool_version_id', tool ->> 'version_id',
                'command_type', coalesce(declared ->> 'command_type', tool #>> '{manifest,command_type}'),
                'mode', coalesce(declared ->> 'mode', tool #>> '{manifest,mode}'))));
            tool_names := tool_names || (tool ->> 'name');
            IF record_usage THEN
                PERFORM concord._registry_note_usage(
                    tool, usage || jsonb_build_object('payload', jsonb_build_object('skill', skill ->> 'name')),
                    'tool_enabled');
            END IF;
        END LOOP;
        skills := skills || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
            'name', skill ->> 'name', 'version', skill ->> 'version', 'skill_version_id', skill ->> 'version_id',
            'deprecated', CASE WHEN (skill ->> 'deprecated')::boolean THEN true END,
            'instructions_ref', skill #>> '{manifest,instructions_ref}',
            'tools', tools,
            'memory_scope', jsonb_build_object(
                'read', to_jsonb(ARRAY(SELECT unnest(concord._registry_edge_targets(
                                               (skill ->> 'version_id')::uuid, 'reads_memory'))
                                       INTERSECT SELECT unnest(may_read) ORDER BY 1)),
                'write', to_jsonb(ARRAY(SELECT unnest(concord._registry_edge_targets(
                                                (skill ->> 'version_id')::uuid, 'writes_memory'))
                                        INTERSECT SELECT unnest(may_write) ORDER BY 1))),
            'artifact_scope', jsonb_build_object(
                'write', to_jsonb(ARRAY(SELECT unnest(concord._registry_edge_targets(
                                                (skill ->> 'version_id')::uuid, 'produces_artifact'))
                                        INTERSECT SELECT unnest(may_produce) ORDER BY 1))))));
    END LOOP;
    -- tools and connectors the role names itself
    FOR edge IN
        SELECT * FROM concord.registry_relationships AS r
        WHERE r.source_version_id = role_version AND r.relationship_type IN ('uses_tool', 'uses_connector')
        ORDER BY r.relationship_type, r.target_entity_name, r.registry_relationship_id
    LOOP
        tool := concord._registry_resolve_edge(edge, subject, environment);
        CONTINUE WHEN tool IS NULL;
        IF edge.relationship_type = 'uses_tool' THEN
            role_tools := role_tools || jsonb_build_array(jsonb_strip_nulls(jsonb_build_object(
                'name', tool ->> 'name', 'version', tool ->> 'version', 'tool_version_id', tool ->> 'version_id',
                'command_type', tool #>> '{manifest,command_type}', 'mode', tool #>> '{manifest,mode}')));
            tool_names := tool_names || (tool ->> 'name');
        ELSE
            connectors := connectors || jsonb_build_array(jsonb_build_object(
                'name', tool ->> 'name', 'version', tool ->> 'version', 'connector_version_id', tool ->> 'version_id'));
        END IF;
        IF record_usage THEN
            PERFORM concord._registry_note_usage(
                tool, usage, CASE edge.relationship_type WHEN 'uses_tool' THEN 'tool_enabled'
                                                         ELSE 'resolved_for_agent_run' END);
        END IF;
    END LOOP;
    RETURN concord._registry_without_secrets(jsonb_strip_nulls(jsonb_build_object(
        'resolved', true,
        'agent_run_id', agent_run_id,
        'agent_role', role ->> 'name',
        'agent_role_version', role ->> 'version',
        'agent_role_version_id', role ->> 'version_id',
        'agent_name', subject ->> 'agent_name',
        'skills', skills,
        'role_tools', role_tools,
        'tools', to_jsonb(ARRAY(SELECT DISTINCT unnest(tool_names) ORDER BY 1)),
        'connectors', connectors,
        'environment', role ->> 'environment')));
END
$$;

CREATE OR REPLACE FUNCTION concord.resolve_agent_runtime_manifest(
    agent_run_id uuid, agent_name text DEFAULT NULL, agent_role text DEFAULT NULL,
    context jsonb DEFAULT '{}', environment text DEFAULT NULL
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
DECLARE
    who record := concord._authenticated();
    run record;
    subject jsonb;
    answer jsonb;
BEGIN
    -- an agent previews no other role: it reads its own run's manifest
    agent_run_id := coalesce(agent_run_id, who.agent_run_id);
    IF agent_run_id IS NOT NULL THEN
        SELECT a.agent_role, a.agent_name, c.project_id, c.requested_by INTO run
        FROM concord.agent_runs AS a
        INNER JOIN concord.commands AS c ON a.command_id = c.command_id
        WHERE a.agent_run_id = resolve_agent_runtime_manifest.agent_run_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN006',
                CONSTRAINT = 'the_agent_run_exists',
                TABLE = 'agent_runs',
                MESSAGE = format('agent run %s not found', agent_run_id);
        END IF;
        -- an agent reads its own run's manifest only; people, the project's
        IF NOT (who.agent_run_id IS NOT DISTINCT FROM agent_run_id
                OR (who.agent_run_id IS NULL
                    AND (concord._sees_all() OR concord._is_operator()
                         OR run.project_id = ANY (concord._visible_projects())))) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN012',
                CONSTRAINT = 'a_runtime_manifest_is_read_by_its_run_or_project',
                TABLE = 'agent_runs',
                MESSAGE = format('%s may not read the runtime manifest of agent run %s',
                                 coalesce(who.name, session_user::text), agent_run_id),
                HINT = 'The run itself (authenticated with its secret), a member of its project, the worker or '
                       'an operator reads it.';
        END IF;
        subject := concord._registry_subject(run.requested_by, run.project_id, context)
            || jsonb_build_object('agent_role', run.agent_role, 'agent_name', run.agent_name);
        agent_role := run.agent_role;
    ELSE
        PERFORM concord._require('agent_role', agent_role);
        subject := concord._registry_subject(concord._principal(), concord._chosen_project(), context)
            || jsonb_build_object('agent_role', agent_role);
        IF agent_name IS NOT NULL THEN
            subject := subject || jsonb_build_object('agent_name', agent_name);
        END IF;
    END IF;
    answer := concord._registry_runtime_manifest(agent_run_id, agent_role, subject, environment,
                                                 agent_run_id IS NOT NULL);
    IF NOT (answer ->> 'resolved')::boolean THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN016',
            CONSTRAINT = 'a_capability_resolves_to_a_usable_version',
            TABLE = 'registry_bindings',
            MESSAGE = format('agent role %s resolves to no usable version in %s (%s)', agent_role,
                             answer ->> 'environment', answer ->> 'reason'),
            DETAIL = (answer -> 'explanation')::text,
            HINT = 'Bind a published version of the agent role (concord.bind_registry_version).';
    END IF;
    RETURN answer - 'resolved';
END
$$;

COMMENT ON FUNCTION concord.resolve_agent_runtime_manifest(uuid, text, text, jsonb, text) IS
'The minimized runtime manifest of an agent run (spec 106.5, 112.4): the agent_role entity '
'resolved for the run''s subject (its requester, project and organisation, role and name; '
'context may add workflow_type), each skill its version uses that resolves within the '
'relationship''s constraint, each skill''s tools that resolve (name, version, command_type, '
'mode), the memory_scope {read, write} and artifact_scope {write} both the skill declares and '
'the role allows, the role''s own tools and connectors. Only published or deprecated versions '
'bound for this subject; no draft, retired or unbound capability, no admin metadata, no key '
'named like a secret. agent_run_id NULL previews the manifest of agent_role (and agent_name) for '
'the caller, recording nothing (an agent caller always reads its own run''s); with a run, '
'records resolved_for_agent_run and tool_enabled usage. Read by the run itself (its secret), '
'its project''s members, the worker and operators (CN012 otherwise). CN016 when the role resolves '
'to nothing usable.';
