-- Every registry mutation is a governed command (spec 114): who may change
-- an entity, the command that records the change, and running it inline or
-- handing it to a DBOS workflow.

-- Who acts on entity e, refused unless allowed: an operator (a platform
-- entity is theirs alone), or an owner or admin of e's organisation. Returns
-- the actor's name.
CREATE OR REPLACE FUNCTION concord._registry_keeper(e concord.registry_entities)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    who record := concord._authenticated();
BEGIN
    IF concord._is_operator() THEN
        RETURN coalesce(concord._principal(), session_user::text);
    END IF;
    IF who.agent_run_id IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'an_agent_acts_through_its_gateway',
            MESSAGE = format('%s may not change the registry: an agent acts only through the agent gateway',
                             who.name);
    END IF;
    IF who.name IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'the_caller_is_authenticated',
            MESSAGE = format('session login %s is not a Concord principal', session_user),
            HINT = 'Authenticate with concord.authenticate(token), or have an operator map the login to a principal.';
    END IF;
    -- another organisation's entity is not admitted to exist
    IF e.org_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM concord.memberships AS m
        INNER JOIN concord.principals AS p ON m.principal_id = p.principal_id
        WHERE m.org_id = e.org_id AND p.name = who.name AND p.disabled_at IS NULL) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_registry_entity_exists',
            TABLE = 'registry_entities',
            MESSAGE = format('no registry entity %s %s in the organisations of %s', e.entity_type, e.name, who.name);
    END IF;
    IF e.org_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM concord.memberships AS m
        INNER JOIN concord.principals AS p ON m.principal_id = p.principal_id
        WHERE m.org_id = e.org_id AND m.project_id IS NULL AND p.name = who.name AND p.disabled_at IS NULL
          AND m.role IN ('owner', 'admin')
          AND (who.scopes IS NULL OR m.role = ANY (who.scopes))) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'a_registry_entity_is_kept_by_its_organisation',
            TABLE = 'registry_entities',
            MESSAGE = CASE WHEN e.org_id IS NULL
                           THEN format('%s may not change platform entity %s %s: operators keep it', who.name,
                                       e.entity_type, e.name)
                           ELSE format('%s is not an owner or admin of organisation %s, which keeps %s %s', who.name,
                                       (SELECT o.name FROM concord.organisations AS o WHERE o.org_id = e.org_id),
                                       e.entity_type, e.name) END,
            HINT = 'An owner or admin of the entity''s organisation changes it (organisation-wide membership).';
    END IF;
    RETURN who.name;
END
$$;

-- Whether the caller may know that entity e exists: a platform entity is
-- everyone's to see, an organisation's only its members' (and operators').
CREATE OR REPLACE FUNCTION concord._registry_entity_seen(e concord.registry_entities)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    who record := concord._authenticated();
BEGIN
    RETURN e.org_id IS NULL OR concord._is_operator() OR EXISTS (
        SELECT 1 FROM concord.memberships AS m
        INNER JOIN concord.principals AS p ON m.principal_id = p.principal_id
        WHERE m.org_id = e.org_id AND p.name = who.name AND p.disabled_at IS NULL);
END
$$;

-- A version named by id in a public call (locked for the change when
-- asked): another organisation's reads as absent, with the same message as
-- an id that names nothing, and is not locked (CN006).
CREATE OR REPLACE FUNCTION concord._registry_seen_version(
    version_id uuid, lock boolean DEFAULT FALSE
)
RETURNS concord.registry_versions
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    e concord.registry_entities%ROWTYPE;
BEGIN
    SELECT x.* INTO e FROM concord.registry_entities AS x
    INNER JOIN concord.registry_versions AS v ON x.entity_id = v.entity_id
    WHERE v.version_id = _registry_seen_version.version_id;
    IF NOT FOUND OR NOT concord._registry_entity_seen(e) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_registry_version_exists',
            TABLE = 'registry_versions',
            MESSAGE = format('no registry version %s', coalesce(version_id::text, 'NULL')),
            HINT = 'SELECT * FROM concord.registry_entity_versions lists them.';
    END IF;
    RETURN concord._registry_version(version_id, lock);
END
$$;

-- The project a registry command of entity e is recorded in: the chosen
-- project, which must belong to e's organisation (an operator's command on
-- a platform entity goes to its chosen or default project).
CREATE OR REPLACE FUNCTION concord._registry_project(e concord.registry_entities)
RETURNS uuid
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    project uuid;
BEGIN
    IF e.org_id IS NULL THEN
        RETURN concord._chosen_project();
    END IF;
    IF nullif(current_setting('concord.project', true), '') IS NULL AND concord._is_operator() THEN
        project := (SELECT p.project_id FROM concord.projects AS p WHERE p.org_id = e.org_id
                    ORDER BY p.created_at, p.project_id LIMIT 1);
    ELSE
        project := (SELECT p.project_id FROM concord.projects AS p
                    WHERE p.project_id = concord._chosen_project() AND p.org_id = e.org_id);
    END IF;
    IF project IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_registry_command_is_recorded_in_its_organisation',
            MESSAGE = format('registry changes of %s %s are recorded in a project of organisation %s: choose one',
                             e.entity_type, e.name,
                             (SELECT o.name FROM concord.organisations AS o WHERE o.org_id = e.org_id)),
            HINT = 'Call concord.use_project(''organisation/project'') first.';
    END IF;
    RETURN project;
END
$$;

-- Records registry command verb on entity e for actor and returns it (after
-- its policies were evaluated at submission). A refused command raises
-- CN012 with the policies' reasons; its row stays, failed, for the record
-- only when the caller's transaction commits anyway.
CREATE OR REPLACE FUNCTION concord._registry_submit(
    verb text, e concord.registry_entities, payload jsonb, actor text
)
RETURNS concord.commands
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    submitted record;
    c concord.commands%ROWTYPE;
BEGIN
    SELECT s.command_id INTO submitted
    FROM concord._submit_command(
        'concord.registry.' || verb,
        jsonb_build_object('entity_type', e.entity_type, 'name', e.name, 'entity_id', e.entity_id) || payload,
        actor, 'api', '{}', NULL, NULL, concord._registry_project(e), NULL) AS s;
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = submitted.command_id FOR UPDATE;
    IF c.status IN ('failed', 'cancelled') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'a_registry_change_is_allowed_by_its_policies',
            MESSAGE = format('registry change %s of %s %s refused: %s', verb, e.entity_type, e.name,
                             coalesce(c.error, c.policy_evaluation ->> 'reasons', c.status)),
            HINT = 'SELECT * FROM concord.commands WHERE command_type LIKE ''concord.registry.%'' shows the refusals.';
    END IF;
    PERFORM set_config('concord.registry_command', c.command_id::text, true);
    PERFORM set_config('concord.registry_trace', c.trace_id, true);
    RETURN c;
END
$$;

-- Runs an allowed registry command inline, as the kernel's run of it:
-- running, then succeeded with result.
CREATE OR REPLACE FUNCTION concord._registry_ran_inline(
    c concord.commands, actor text, result jsonb
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    saved_run text;
BEGIN
    IF c.status NOT IN ('validated', 'queued') THEN
        RETURN;
    END IF;
    saved_run := concord._push_run('kernel:' || c.command_id);
    PERFORM concord._set_status(c.command_id, 'running', actor, 'registry change run by the kernel');
    PERFORM concord._set_status(c.command_id, 'succeeded', actor, 'registry change made', result);
    PERFORM concord._pop_run(saved_run);
END
$$;

-- The answer of an asynchronous registry command: its id and status, the
-- approval it waits for, and what it changed once it ran.
CREATE OR REPLACE FUNCTION concord._registry_command_answer(command_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    c concord.commands%ROWTYPE;
BEGIN
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = _registry_command_answer.command_id;
    RETURN jsonb_build_object(
        'command_id', c.command_id,
        'command_status', c.status,
        'approval_id', (SELECT a.approval_id FROM concord.approvals AS a
                        WHERE a.command_id = c.command_id AND a.status = 'pending'
                        ORDER BY a.created_at LIMIT 1),
        'result', c.result,
        'error', c.error);
END
$$;
