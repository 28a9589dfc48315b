-- Binding and rollback (spec 112, 113 bind_registry_version and
-- rollback_registry_binding): which version is in force where. Private: the
-- API (sql/registry/api.sql) checks who acts and records the governed
-- command. Idempotent: binding the same version again changes nothing.

-- Binds version_id at a scope and target in an environment: an active
-- binding of the same entity, scope, target, environment and strategy is
-- pointed at the version (rebinding), else a new binding is made. Answers
-- {binding_id, version_id, created, from_version_id}.
CREATE OR REPLACE FUNCTION concord._registry_bind(
    version_id uuid, binding_scope text, binding_target text, environment text,
    rollout_strategy text, rollout_config jsonb, actor text
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    v concord.registry_versions%ROWTYPE := concord._registry_version(version_id);
    b concord.registry_bindings%ROWTYPE;
    replayed jsonb;
    target text := CASE WHEN binding_scope = 'global' THEN coalesce(nullif(binding_target, ''), '*')
                        ELSE binding_target END;
BEGIN
    IF binding_scope IS NULL OR binding_scope NOT IN (
        'user', 'team', 'tenant', 'workflow_type', 'command_type', 'agent_role', 'agent_name', 'app',
        'environment', 'global') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_binding_scope_is_known',
            TABLE = 'registry_bindings',
            MESSAGE = format('%s is not a binding scope', coalesce(binding_scope, 'NULL')),
            HINT = 'user, team, tenant, workflow_type, command_type, agent_role, agent_name, app, environment, global.';
    END IF;
    PERFORM concord._require('binding_target', target);
    environment := coalesce(environment, (SELECT r.environment FROM concord.registry_environment AS r));
    rollout_strategy := coalesce(rollout_strategy, 'pinned');
    rollout_config := coalesce(rollout_config, '{}');
    -- one binding per entity, environment, scope, target and strategy: serialise
    -- concurrent binders of the same slot
    PERFORM pg_advisory_xact_lock(hashtextextended(
        format('concord.registry_binding:%s:%s:%s:%s:%s', v.entity_id, environment, binding_scope, target,
               rollout_strategy), 0));
    SELECT * INTO b FROM concord.registry_bindings AS x
    WHERE x.entity_id = v.entity_id AND x.environment = _registry_bind.environment
      AND x.binding_scope = _registry_bind.binding_scope AND x.binding_target = target
      AND x.rollout_strategy = _registry_bind.rollout_strategy AND x.status = 'active'
    FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO concord.registry_bindings AS x (
            entity_id, version_id, binding_scope, binding_target, environment, rollout_strategy, rollout_config,
            created_by
        ) VALUES (
            v.entity_id, v.version_id, binding_scope, target, environment, rollout_strategy, rollout_config, actor
        )
        RETURNING x.* INTO b;
        -- a global binding here is what the legacy catalog row shows
        PERFORM concord._registry_project_catalog(v.entity_id);
        RETURN jsonb_build_object('binding_id', b.registry_binding_id, 'version_id', b.version_id, 'created', true,
                                  'from_version_id', NULL);
    END IF;
    IF (b.version_id, b.rollout_config) IS NOT DISTINCT FROM (v.version_id, rollout_config) THEN
        -- a replay of the command that made the binding (or pointed it here)
        -- answers as that command did
        SELECT jsonb_build_object('binding_id', b.registry_binding_id, 'version_id', b.version_id,
                                  'created', ev.event_type = 'binding_created',
                                  'from_version_id', CASE WHEN ev.event_type <> 'binding_created'
                                                          THEN coalesce((ev.payload ->> 'from_version_id')::uuid,
                                                                        b.version_id) END)
        INTO replayed
        FROM concord.registry_lifecycle_events AS ev
        WHERE ev.binding_id = b.registry_binding_id
          AND ev.command_id = nullif(current_setting('concord.registry_command', true), '')::uuid
          AND ev.event_type IN ('binding_created', 'binding_rebound', 'binding_rollout_changed')
        ORDER BY ev.created_at, ev.event_type
        LIMIT 1;
        RETURN coalesce(replayed, jsonb_build_object(
            'binding_id', b.registry_binding_id, 'version_id', b.version_id, 'created', false,
            'from_version_id', b.version_id));
    END IF;
    IF v.status <> 'published' AND b.version_id IS DISTINCT FROM v.version_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_new_binding_is_active_on_a_published_version',
            TABLE = 'registry_bindings',
            MESSAGE = format('version %s is %s: only a published version is bound (roll back to reach a '
                             'deprecated one)', v.version_id, v.status);
    END IF;
    UPDATE concord.registry_bindings AS x SET version_id = v.version_id, rollout_config = _registry_bind.rollout_config
    WHERE x.registry_binding_id = b.registry_binding_id;
    PERFORM concord._registry_project_catalog(v.entity_id);
    RETURN jsonb_build_object('binding_id', b.registry_binding_id, 'version_id', v.version_id, 'created', false,
                              'from_version_id', b.version_id);
END
$$;

-- Points a binding back at a prior version of its entity (published or
-- deprecated), with the reason in its lifecycle event. Answers
-- {binding_id, version_id, from_version_id}.
CREATE OR REPLACE FUNCTION concord._registry_rollback(
    binding_id uuid, target_version_id uuid, reason text
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    b concord.registry_bindings%ROWTYPE;
    target concord.registry_versions%ROWTYPE := concord._registry_version(target_version_id);
    saved text[];
BEGIN
    PERFORM concord._require('reason', reason);
    SELECT * INTO b FROM concord.registry_bindings AS x WHERE x.registry_binding_id = _registry_rollback.binding_id
    FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_registry_binding_exists',
            TABLE = 'registry_bindings',
            MESSAGE = format('no registry binding %s', coalesce(binding_id::text, 'NULL')),
            HINT = 'SELECT * FROM concord.registry_active_bindings lists them.';
    END IF;
    IF b.version_id = target.version_id THEN
        -- a replay of the rollback answers as the rollback did
        RETURN jsonb_build_object('binding_id', b.registry_binding_id, 'version_id', b.version_id,
                                  'from_version_id', coalesce((
                                      SELECT (ev.payload ->> 'from_version_id')::uuid
                                      FROM concord.registry_lifecycle_events AS ev
                                      WHERE ev.binding_id = b.registry_binding_id
                                        AND ev.command_id = nullif(current_setting('concord.registry_command', true),
                                                                   '')::uuid
                                        AND ev.event_type = 'binding_rolled_back'
                                      ORDER BY ev.created_at LIMIT 1), b.version_id));
    END IF;
    IF target.entity_id <> b.entity_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_binding_rolls_back_to_a_version_of_its_entity',
            TABLE = 'registry_bindings',
            MESSAGE = format('version %s is not a version of the entity binding %s binds', target.version_id,
                             b.registry_binding_id);
    END IF;
    saved := concord._push_actor(nullif(current_setting('concord.actor', true), ''), reason);
    PERFORM set_config('concord.registry_rebind', 'binding_rolled_back', true);
    UPDATE concord.registry_bindings AS x SET version_id = target.version_id
    WHERE x.registry_binding_id = b.registry_binding_id;
    PERFORM set_config('concord.registry_rebind', '', true);
    PERFORM concord._registry_project_catalog(b.entity_id);
    PERFORM concord._pop_actor(saved);
    RETURN jsonb_build_object('binding_id', b.registry_binding_id, 'version_id', target.version_id,
                              'from_version_id', b.version_id);
END
$$;

-- Disables a binding for good.
CREATE OR REPLACE FUNCTION concord._registry_unbind(binding_id uuid, reason text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    b concord.registry_bindings%ROWTYPE;
BEGIN
    PERFORM concord._require('reason', reason);
    UPDATE concord.registry_bindings AS x SET status = 'disabled', disabled_reason = reason
    WHERE x.registry_binding_id = _registry_unbind.binding_id AND x.status = 'active'
    RETURNING x.* INTO b;
    IF NOT FOUND THEN
        SELECT * INTO b FROM concord.registry_bindings AS x WHERE x.registry_binding_id = _registry_unbind.binding_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN006',
                CONSTRAINT = 'the_registry_binding_exists',
                TABLE = 'registry_bindings',
                MESSAGE = format('no registry binding %s', coalesce(binding_id::text, 'NULL'));
        END IF;
    END IF;
    RETURN jsonb_build_object('binding_id', b.registry_binding_id, 'status', b.status,
                              'disabled_reason', b.disabled_reason);
END
$$;
