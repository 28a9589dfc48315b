-- The registry in an agent's life (issue 14 section 3, spec 106.5, 111.4,
-- 112.4): an agent run whose role is a registry agent_role takes its runtime
-- manifest when it is created, and its scopes are cut down to it; every later
-- tool call asks again whether what it uses still resolves, so a retired
-- capability is refused at the next call, with its own code (CN016), and the
-- refusal is a recorded step like any other.

-- Who an agent run acts for, as resolution sees it: the subject of its
-- command's requester in its command's project, with its role and name.
CREATE OR REPLACE FUNCTION concord._agent_registry_subject(run concord.agent_runs)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    c concord.commands%ROWTYPE;
BEGIN
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = run.command_id;
    RETURN concord._registry_subject(c.requested_by, c.project_id, '{}')
        || jsonb_build_object('agent_role', run.agent_role, 'agent_name', run.agent_name);
END
$$;

-- A registry agent_role's run takes its manifest: tools, connectors and
-- memory types are narrowed to what the manifest allows (never widened: a
-- child stays within its parent). A role the registry does not know keeps
-- the scopes it was given; a known role that resolves to nothing usable
-- (retired, unbound) starts no agent.
CREATE OR REPLACE FUNCTION concord._agent_runs_take_their_manifest()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    manifest jsonb;
    memory_types text[];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM concord.registry_entities AS e
                   WHERE e.entity_type = 'agent_role' AND e.name = NEW.agent_role) THEN
        NEW.runtime_manifest := '{}';
        RETURN NEW;
    END IF;
    manifest := concord._registry_runtime_manifest(
        NEW.agent_run_id, NEW.agent_role, concord._agent_registry_subject(NEW), NULL, true);
    IF NOT coalesce((manifest ->> 'resolved')::boolean, false) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN016',
            CONSTRAINT = 'an_agent_role_resolves_to_a_usable_version',
            TABLE = 'agent_runs',
            MESSAGE = format('agent role %s resolves to no usable version (%s): no agent of it starts',
                             NEW.agent_role, coalesce(manifest ->> 'reason', 'unresolved')),
            DETAIL = coalesce(manifest ->> 'explanation', ''),
            HINT = 'Bind a published version of the role (concord.bind_registry_version).';
    END IF;
    NEW.runtime_manifest := manifest - 'resolved';
    NEW.allowed_tools := ARRAY(
        SELECT t.name FROM unnest(NEW.allowed_tools) AS t (name)
        WHERE t.name IN (SELECT jsonb_array_elements_text(manifest -> 'tools'))
        ORDER BY t.name);
    NEW.allowed_connectors := ARRAY(
        SELECT x.name FROM unnest(NEW.allowed_connectors) AS x (name)
        WHERE x.name IN (SELECT k.item ->> 'name' FROM jsonb_array_elements(manifest -> 'connectors') AS k (item))
        ORDER BY x.name);
    IF NEW.memory_scope <> '{}'::jsonb THEN
        memory_types := ARRAY(
            SELECT DISTINCT m.name
            FROM jsonb_array_elements(manifest -> 'skills') AS s (skill)
            CROSS JOIN LATERAL jsonb_array_elements_text(
                coalesce(s.skill #> '{memory_scope,read}', '[]') || coalesce(s.skill #> '{memory_scope,write}', '[]'))
                AS m (name));
        NEW.memory_scope := jsonb_set(NEW.memory_scope, '{allowed_memory_types}', to_jsonb(ARRAY(
            SELECT t.name FROM jsonb_array_elements_text(NEW.memory_scope -> 'allowed_memory_types') AS t (name)
            WHERE t.name = ANY (memory_types) ORDER BY t.name)));
    END IF;
    RETURN NEW;
END
$$;

-- Fires before agent_runs_before_insert (triggers fire in name order), so
-- the subset and scope rules judge the narrowed scopes.
CREATE OR REPLACE TRIGGER agent_runs_are_scoped_by_their_role
BEFORE INSERT ON concord.agent_runs
FOR EACH ROW EXECUTE FUNCTION concord._agent_runs_take_their_manifest();

-- Why run may no longer use tool, or NULL: the tool, the skill or role that
-- gave it, or the command type it creates no longer resolves (retired,
-- unbound). Asked at every tool call (spec 111.4: refused at the next call).
CREATE OR REPLACE FUNCTION concord._agent_capability_refusal(
    run concord.agent_runs, tool concord.tools
)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    subject jsonb;
    answer jsonb;
    gone text;
BEGIN
    IF run.runtime_manifest <> '{}'::jsonb THEN
        SELECT format('%s %s %s was retired: %s', e.entity_type, e.name, v.version, v.retirement_reason),
               jsonb_build_object('resolved', false, 'reason', 'retired', 'entity_id', e.entity_id,
                                  'entity_type', e.entity_type, 'name', e.name, 'version_id', v.version_id,
                                  'version', v.version::text)
        INTO gone, answer
        FROM concord.registry_versions AS v
        INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
        WHERE v.status = 'retired' AND v.version_id IN (
            SELECT (run.runtime_manifest ->> 'agent_role_version_id')::uuid
            UNION ALL
            SELECT (s.skill ->> 'skill_version_id')::uuid
            FROM jsonb_array_elements(coalesce(run.runtime_manifest -> 'skills', '[]')) AS s (skill)
            WHERE s.skill -> 'tools' @> jsonb_build_array(jsonb_build_object('name', tool.tool_name))
            UNION ALL
            SELECT (t.item ->> 'tool_version_id')::uuid
            FROM jsonb_array_elements(coalesce(run.runtime_manifest -> 'skills', '[]')) AS s (skill)
            CROSS JOIN LATERAL jsonb_array_elements(coalesce(s.skill -> 'tools', '[]')) AS t (item)
            WHERE t.item ->> 'name' = tool.tool_name
            UNION ALL
            SELECT (t.item ->> 'tool_version_id')::uuid
            FROM jsonb_array_elements(coalesce(run.runtime_manifest -> 'role_tools', '[]')) AS t (item)
            WHERE t.item ->> 'name' = tool.tool_name)
        ORDER BY v.retired_at DESC LIMIT 1;
        IF gone IS NOT NULL THEN
            -- the refusal is a denied step that commits: the attempt is kept
            PERFORM concord._registry_note_usage(answer, jsonb_build_object('agent_run_id', run.agent_run_id), NULL);
            RETURN gone;
        END IF;
    END IF;
    subject := concord._agent_registry_subject(run);
    IF EXISTS (SELECT 1 FROM concord.registry_entities AS e WHERE e.entity_type = 'tool' AND e.name = tool.tool_name) THEN
        answer := concord._registry_resolve('tool', tool.tool_name, subject, NULL, false, '{}');
        IF NOT (answer ->> 'resolved')::boolean THEN
            PERFORM concord._registry_note_usage(answer, jsonb_build_object('agent_run_id', run.agent_run_id), NULL);
            RETURN format('tool %s resolves to no usable version (%s)', tool.tool_name, answer ->> 'reason');
        END IF;
    END IF;
    IF tool.command_type IS NOT NULL AND EXISTS (
        SELECT 1 FROM concord.registry_entities AS e WHERE e.entity_type = 'command_type' AND e.name = tool.command_type) THEN
        answer := concord._registry_resolve('command_type', tool.command_type, subject, NULL, false, '{}');
        IF NOT (answer ->> 'resolved')::boolean THEN
            PERFORM concord._registry_note_usage(answer, jsonb_build_object('agent_run_id', run.agent_run_id), NULL);
            RETURN format('command type %s resolves to no usable contract (%s)', tool.command_type,
                          answer ->> 'reason');
        END IF;
    END IF;
    RETURN NULL;
END
$$;

-- A running workflow asks before each connector call (runtime_call_effect)
-- whether its command's contract, and the connector it calls, still
-- resolve: an emergency retirement (spec 111.4) stops the next call of a
-- command already running under the retired version. CN016 otherwise.
CREATE OR REPLACE FUNCTION concord._require_usable_capabilities(c concord.commands, connector text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    gone text;
BEGIN
    SELECT format('%s %s %s was retired: %s', e.entity_type, e.name, v.version, v.retirement_reason) INTO gone
    FROM concord.registry_versions AS v INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
    WHERE v.version_id = c.contract_version_id AND v.status = 'retired';
    IF gone IS NULL AND connector IS NOT NULL THEN
        -- a connector the registry knows must still have a version in force here
        SELECT format('connector %s has no version in force: %s', e.name,
                      coalesce((SELECT format('version %s was retired: %s', v.version, v.retirement_reason)
                                FROM concord.registry_versions AS v
                                WHERE v.entity_id = e.entity_id AND v.status = 'retired'
                                ORDER BY v.retired_at DESC LIMIT 1), 'it is unbound'))
        INTO gone
        FROM concord.registry_entities AS e
        WHERE e.entity_type = 'connector' AND e.name = connector
          AND NOT EXISTS (
              SELECT 1 FROM concord.registry_bindings AS b
              INNER JOIN concord.registry_versions AS v ON b.version_id = v.version_id
              WHERE b.entity_id = e.entity_id AND b.status = 'active' AND v.status IN ('published', 'deprecated')
                AND b.environment = (SELECT r.environment FROM concord.registry_environment AS r));
    END IF;
    IF gone IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN016',
            CONSTRAINT = 'a_retired_capability_is_refused_at_its_next_call',
            TABLE = 'commands',
            MESSAGE = format('command %s (%s) may not go on: %s', c.command_id, c.command_type, gone),
            HINT = 'Its contract or connector was retired (spec 111.4); submit a new command under the version '
                   'now bound.';
    END IF;
END
$$;
