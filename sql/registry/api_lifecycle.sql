-- The Domain Registry's public API for what follows publication (spec 113,
-- 115): binding, rollback, deprecation, retirement, rejection.

CREATE OR REPLACE FUNCTION concord.bind_registry_version(
    version_id uuid, binding_scope text, binding_target text, environment text DEFAULT NULL,
    rollout_strategy text DEFAULT 'pinned', rollout_config jsonb DEFAULT NULL
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
    v concord.registry_versions%ROWTYPE := concord._registry_seen_version(version_id);
    e concord.registry_entities%ROWTYPE;
    actor text;
    c concord.commands%ROWTYPE;
    problem text;
BEGIN
    SELECT * INTO e FROM concord.registry_entities AS x WHERE x.entity_id = v.entity_id;
    actor := concord._registry_keeper(e);
    IF v.status <> 'published' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_new_binding_is_active_on_a_published_version',
            TABLE = 'registry_bindings',
            MESSAGE = format('version %s of %s %s is %s: only a published version is bound', v.version,
                             e.entity_type, e.name, v.status),
            HINT = 'Publish it first (concord.publish_registry_version).';
    END IF;
    IF binding_scope IS NULL OR binding_scope NOT IN (
        'user', 'team', 'tenant', 'workflow_type', 'command_type', 'agent_role', 'agent_name',
        'app',
        'environment', 'global') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_binding_scope_is_known',
            TABLE = 'registry_bindings',
            MESSAGE = format('%s is not a binding scope', coalesce(binding_scope, 'NULL')),
            HINT = 'user, team, tenant, workflow_type, command_type, agent_role, agent_name, app, environment, global.';
    END IF;
    IF binding_scope <> 'global' THEN
        PERFORM concord._require('binding_target', binding_target);
    END IF;
    IF environment IS NOT NULL AND NOT environment ~ '^[a-z][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_binding_environment_is_a_name',
            TABLE = 'registry_bindings',
            MESSAGE = format('environment %L is not a lowercase name', environment);
    END IF;
    problem := concord._registry_rollout_problem(coalesce(rollout_strategy, 'pinned'), coalesce(rollout_config, '{}'));
    IF problem IS NOT NULL OR coalesce(rollout_strategy, 'pinned') NOT IN ('pinned', 'canary')
       OR jsonb_typeof(coalesce(rollout_config, '{}')) <> 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'a_rollout_config_fits_its_strategy',
            TABLE = 'registry_bindings',
            MESSAGE = coalesce(problem, format('rollout %s with config %s: the strategy is pinned or canary, the config an object',
                                               rollout_strategy, rollout_config)),
            HINT = 'A canary is {"percent": 0-100, "subject": "user" | "tenant" | "app"}.';
    END IF;
    c := concord._registry_submit('bind_version', e, jsonb_build_object(
        'version_id', v.version_id, 'version', v.version::text, 'binding_scope', binding_scope,
        'binding_target', binding_target,
        'environment', coalesce(environment, (SELECT r.environment FROM concord.registry_environment AS r)),
        'rollout_strategy', coalesce(rollout_strategy, 'pinned'), 'rollout_config', coalesce(rollout_config, '{}')),
        actor);
    RETURN concord._registry_command_answer(c.command_id);
END
$$;

COMMENT ON FUNCTION concord.bind_registry_version(uuid, text, text, text, text, jsonb) IS
'Bind a published version at a scope (spec 112, 113): user, team, tenant, workflow_type, '
'command_type, '
'agent_role, agent_name, app, environment or global (target *), in an environment (default: this '
'database''s, concord.registry_environment), pinned or canary ({"percent": 0-100, '
'"subject": "user" | '
'"tenant" | "app"}). A concord.registry.bind_version command that a DBOS workflow runs: an active '
'binding of the same slot is pointed at the version, else one is made. Answers {command_id, '
'command_status, approval_id, result, error}; result holds binding_id once it ran.';

CREATE OR REPLACE FUNCTION concord.rollback_registry_binding(
    binding_id uuid, target_version_id uuid, reason text
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
    b concord.registry_bindings%ROWTYPE;
    target concord.registry_versions%ROWTYPE := concord._registry_seen_version(target_version_id);
    e concord.registry_entities%ROWTYPE;
    actor text;
    c concord.commands%ROWTYPE;
BEGIN
    PERFORM concord._require('reason', reason);
    SELECT * INTO b FROM concord.registry_bindings AS x WHERE x.registry_binding_id = rollback_registry_binding.binding_id;
    SELECT * INTO e FROM concord.registry_entities AS x WHERE x.entity_id = b.entity_id;
    -- another organisation's binding reads as absent
    IF b.registry_binding_id IS NULL OR NOT concord._registry_entity_seen(e) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_registry_binding_exists',
            TABLE = 'registry_bindings',
            MESSAGE = format('no registry binding %s', coalesce(binding_id::text, 'NULL'));
    END IF;
    actor := concord._registry_keeper(e);
    IF target.entity_id <> b.entity_id OR target.status NOT IN ('published', 'deprecated') OR b.status <> 'active' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_binding_rolls_back_to_a_version_of_its_entity',
            TABLE = 'registry_bindings',
            MESSAGE = format('binding %s (%s) cannot roll back to version %s (%s of %s)', b.registry_binding_id,
                             b.status, target.version, target.status,
                             (SELECT x.name FROM concord.registry_entities AS x WHERE x.entity_id = target.entity_id)),
            HINT = 'An active binding rolls back to a published or deprecated version of its own entity.';
    END IF;
    c := concord._registry_submit('rollback_binding', e, jsonb_build_object(
        'binding_id', b.registry_binding_id, 'from_version_id', b.version_id, 'target_version_id', target.version_id,
        'version', target.version::text, 'reason', reason), actor);
    RETURN concord._registry_command_answer(c.command_id);
END
$$;

COMMENT ON FUNCTION concord.rollback_registry_binding(uuid, uuid, text) IS
'Point a binding back at a prior version of its entity (spec 113, 115), published or '
'deprecated, with '
'a reason: a concord.registry.rollback_binding command that a DBOS workflow runs. Answers '
'{command_id, command_status, approval_id, result, error}.';

CREATE OR REPLACE FUNCTION concord.deprecate_registry_version(version_id uuid, reason text)
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
    v concord.registry_versions%ROWTYPE := concord._registry_seen_version(version_id);
    e concord.registry_entities%ROWTYPE;
    actor text;
    c concord.commands%ROWTYPE;
    answer jsonb;
    saved text[];
BEGIN
    PERFORM concord._require('reason', reason);
    SELECT * INTO e FROM concord.registry_entities AS x WHERE x.entity_id = v.entity_id;
    actor := concord._registry_keeper(e);
    c := concord._registry_submit('deprecate_version', e, jsonb_build_object(
        'version_id', v.version_id, 'version', v.version::text, 'reason', reason), actor);
    saved := concord._push_actor(actor, reason);
    answer := concord._registry_deprecate(version_id);
    PERFORM concord._pop_actor(saved);
    PERFORM concord._registry_ran_inline(c, actor, answer);
    RETURN answer;
END
$$;

COMMENT ON FUNCTION concord.deprecate_registry_version(uuid, text) IS
'Deprecate a published version: it still resolves, with a warning recorded as usage, and takes no '
'new binding. Recorded as a concord.registry.deprecate_version command.';

CREATE OR REPLACE FUNCTION concord.retire_registry_version(
    version_id uuid, reason text, emergency boolean DEFAULT FALSE,
    migrate_to_version_id uuid DEFAULT NULL
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
    v concord.registry_versions%ROWTYPE := concord._registry_seen_version(version_id);
    e concord.registry_entities%ROWTYPE;
    actor text;
    c concord.commands%ROWTYPE;
    answer jsonb;
    saved text[];
BEGIN
    PERFORM concord._require('reason', reason);
    SELECT * INTO e FROM concord.registry_entities AS x WHERE x.entity_id = v.entity_id;
    actor := concord._registry_keeper(e);
    IF v.status NOT IN ('published', 'deprecated', 'retired') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            CONSTRAINT = 'a_registry_version_moves_only_along_its_lifecycle',
            TABLE = 'registry_versions',
            MESSAGE = format('registry version %s is %s: only a published or deprecated version is retired '
                             '(reject it instead)', version_id, v.status);
    END IF;
    IF migrate_to_version_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM concord.registry_versions AS t
        WHERE t.version_id = migrate_to_version_id AND t.entity_id = v.entity_id AND t.status = 'published') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'bindings_migrate_to_a_published_version_of_their_entity',
            TABLE = 'registry_bindings',
            MESSAGE = format('version %s is not a published version of %s %s', migrate_to_version_id, e.entity_type,
                             e.name),
            HINT = 'Leave migrate_to_version_id NULL to disable the bindings instead.';
    END IF;
    c := concord._registry_submit('retire_version', e, jsonb_build_object(
        'version_id', v.version_id, 'version', v.version::text, 'reason', reason,
        'emergency', coalesce(emergency, false), 'migrate_to_version_id', migrate_to_version_id), actor);
    IF coalesce(emergency, false) THEN
        -- an emergency blocks resolution in this transaction; the workflow
        -- then notifies the owners (spec 111.4)
        saved := concord._push_actor(actor, reason);
        answer := concord._registry_retire(version_id, reason, true, migrate_to_version_id);
        PERFORM concord._pop_actor(saved);
        RETURN concord._registry_command_answer(c.command_id) || jsonb_build_object('version', answer);
    END IF;
    RETURN concord._registry_command_answer(c.command_id);
END
$$;

COMMENT ON FUNCTION concord.retire_registry_version(uuid, text, boolean, uuid) IS
'Retire a version (spec 111.4, 113): its active bindings are migrated to migrate_to_version_id (a '
'published version of the same entity) or disabled, it never resolves again, and its '
'owners are notified. '
'A concord.registry.retire_version command that a DBOS workflow runs; with emergency => true the '
'retirement happens at once, in the caller''s transaction, and writes an incident to the '
'audit trail. '
'Answers {command_id, command_status, approval_id, result, error, version?}.';

CREATE OR REPLACE FUNCTION concord.reject_registry_version(version_id uuid, reason text)
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
    v concord.registry_versions%ROWTYPE := concord._registry_seen_version(version_id, true);
    e concord.registry_entities%ROWTYPE;
    actor text;
    c concord.commands%ROWTYPE;
    saved text[];
BEGIN
    PERFORM concord._require('reason', reason);
    SELECT * INTO e FROM concord.registry_entities AS x WHERE x.entity_id = v.entity_id;
    actor := concord._registry_keeper(e);
    c := concord._registry_submit('reject_version', e, jsonb_build_object(
        'version_id', v.version_id, 'version', v.version::text, 'reason', reason), actor);
    IF v.status <> 'rejected' THEN
        saved := concord._push_actor(actor, reason);
        UPDATE concord.registry_versions AS x SET status = 'rejected' WHERE x.version_id = v.version_id
        RETURNING x.* INTO v;
        PERFORM concord._pop_actor(saved);
    END IF;
    PERFORM concord._registry_ran_inline(c, actor, concord._registry_version_answer(v));
    RETURN concord._registry_version_answer(v);
END
$$;

COMMENT ON FUNCTION concord.reject_registry_version(uuid, text) IS
'Withdraw a version that is not published (draft, validated, pending_approval or approved) '
'for good, '
'with a reason. Recorded as a concord.registry.reject_version command.';
