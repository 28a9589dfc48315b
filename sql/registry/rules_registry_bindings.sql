-- The rules of registry_bindings (spec 106.3, 112): a binding starts active
-- on a published version; afterwards only its version (rebinding, rollback:
-- to a published or deprecated version of the same entity) and its status
-- (disabled, for good) change. Every change is a lifecycle event.

-- Problems with a canary's rollout_config, as text (NULL: none).
CREATE OR REPLACE FUNCTION concord._registry_rollout_problem(strategy text, config jsonb)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
BEGIN
    -- a strategy or config of the wrong kind is the table's CHECKs to refuse
    IF strategy IS NULL OR strategy NOT IN ('pinned', 'canary') OR jsonb_typeof(config) IS DISTINCT FROM 'object' THEN
        RETURN NULL;
    END IF;
    IF strategy = 'pinned' THEN
        IF config <> '{}'::jsonb THEN
            RETURN 'a pinned binding takes no rollout_config';
        END IF;
        RETURN NULL;
    END IF;
    IF jsonb_typeof(config -> 'percent') IS DISTINCT FROM 'number'
       OR (config ->> 'percent')::numeric NOT BETWEEN 0 AND 100 THEN
        RETURN format('a canary needs rollout_config.percent, a number from 0 to 100, not %s',
                      coalesce((config -> 'percent')::text, 'none'));
    END IF;
    IF config ? 'subject' AND NOT config ->> 'subject' IN ('user', 'tenant', 'app') THEN
        RETURN format('a canary''s rollout_config.subject is user, tenant or app, not %s', config -> 'subject');
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_object_keys(config) AS k (key) WHERE k.key NOT IN ('percent', 'subject')) THEN
        RETURN 'a canary''s rollout_config holds only percent and subject';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION concord._registry_bindings_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    version_status text;
    problem text;
BEGIN
    IF TG_OP = 'INSERT' OR NEW.version_id IS DISTINCT FROM OLD.version_id THEN
        -- the version's latest state, held until commit: a retirement racing
        -- this binding either waits for it (and then disables it) or is seen
        SELECT v.status INTO version_status FROM concord.registry_versions AS v WHERE v.version_id = NEW.version_id
        FOR SHARE;
    END IF;
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'active' OR version_status IS DISTINCT FROM 'published' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_new_binding_is_active_on_a_published_version',
                TABLE = 'registry_bindings',
                MESSAGE = format('a new binding is active and names a published version; version %s is %s',
                                 NEW.version_id, coalesce(version_status, 'unknown')),
                HINT = 'Publish the version first (a deprecated one takes no new binding).';
        END IF;
        problem := concord._registry_rollout_problem(NEW.rollout_strategy, NEW.rollout_config);
        IF problem IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN005',
                CONSTRAINT = 'a_rollout_config_fits_its_strategy',
                TABLE = 'registry_bindings',
                MESSAGE = problem,
                HINT = 'A canary is {"percent": 0-100, "subject": "user" | "tenant" | "app"}.';
        END IF;
        NEW.created_at := now();
        NEW.updated_at := now();
        NEW.disabled_reason := NULL;
        RETURN NEW;
    END IF;
    IF (NEW.registry_binding_id, NEW.entity_id, NEW.binding_scope, NEW.binding_target, NEW.environment,
        NEW.rollout_strategy, NEW.created_by, NEW.created_at)
       IS DISTINCT FROM (OLD.registry_binding_id, OLD.entity_id, OLD.binding_scope, OLD.binding_target,
                         OLD.environment, OLD.rollout_strategy, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_binding_keeps_its_scope',
            TABLE = 'registry_bindings',
            MESSAGE = format('binding %s keeps its entity, scope, target, environment, strategy and creator',
                             OLD.registry_binding_id),
            HINT = 'Create another binding instead.';
    END IF;
    IF OLD.status = 'disabled' AND (NEW.status, NEW.version_id, NEW.rollout_config)
       IS DISTINCT FROM (OLD.status, OLD.version_id, OLD.rollout_config) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_disabled_binding_stays_disabled',
            TABLE = 'registry_bindings',
            MESSAGE = format('binding %s is disabled (%s): it changes no more', OLD.registry_binding_id,
                             OLD.disabled_reason),
            HINT = 'Create a new binding instead.';
    END IF;
    IF NEW.version_id IS DISTINCT FROM OLD.version_id
       AND version_status IS DISTINCT FROM 'published' AND version_status IS DISTINCT FROM 'deprecated' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_binding_points_at_a_resolvable_version',
            TABLE = 'registry_bindings',
            MESSAGE = format('binding %s cannot point at version %s: it is %s', OLD.registry_binding_id,
                             NEW.version_id, coalesce(version_status, 'unknown')),
            HINT = 'A binding points at a published or deprecated version of its entity.';
    END IF;
    IF NEW.rollout_config IS DISTINCT FROM OLD.rollout_config THEN
        problem := concord._registry_rollout_problem(NEW.rollout_strategy, NEW.rollout_config);
        IF problem IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN005',
                CONSTRAINT = 'a_rollout_config_fits_its_strategy',
                TABLE = 'registry_bindings',
                MESSAGE = problem,
                HINT = 'A canary is {"percent": 0-100, "subject": "user" | "tenant" | "app"}.';
        END IF;
    END IF;
    IF NEW.status = 'disabled' AND NEW.disabled_reason IS NULL THEN
        NEW.disabled_reason := coalesce(nullif(current_setting('concord.reason', true), ''), 'disabled');
    END IF;
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._registry_bindings_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    what jsonb := jsonb_build_object(
        'binding_scope', NEW.binding_scope, 'binding_target', NEW.binding_target,
        'environment', NEW.environment, 'rollout_strategy', NEW.rollout_strategy,
        'rollout_config', NEW.rollout_config, 'version_id', NEW.version_id);
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM concord._registry_event('binding_created', NEW.entity_id, NEW.version_id, NEW.registry_binding_id,
                                        what);
        RETURN NULL;
    END IF;
    IF NEW.version_id IS DISTINCT FROM OLD.version_id THEN
        PERFORM concord._registry_event(
            coalesce(nullif(current_setting('concord.registry_rebind', true), ''), 'binding_rebound'),
            NEW.entity_id, NEW.version_id, NEW.registry_binding_id,
            what || jsonb_build_object('from_version_id', OLD.version_id));
    END IF;
    IF NEW.rollout_config IS DISTINCT FROM OLD.rollout_config THEN
        PERFORM concord._registry_event('binding_rollout_changed', NEW.entity_id, NEW.version_id,
                                        NEW.registry_binding_id,
                                        what || jsonb_build_object('from_rollout_config', OLD.rollout_config));
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM concord._registry_event('binding_disabled', NEW.entity_id, NEW.version_id, NEW.registry_binding_id,
                                        what || jsonb_build_object('disabled_reason', NEW.disabled_reason));
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER registry_bindings_before_write
BEFORE INSERT OR UPDATE ON concord.registry_bindings
FOR EACH ROW EXECUTE FUNCTION concord._registry_bindings_before_write();

CREATE OR REPLACE TRIGGER registry_bindings_after_write
AFTER INSERT OR UPDATE ON concord.registry_bindings
FOR EACH ROW EXECUTE FUNCTION concord._registry_bindings_after_write();

CREATE OR REPLACE TRIGGER registry_bindings_are_never_deleted
BEFORE DELETE ON concord.registry_bindings
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'are kept forever', 'Disable a binding instead.'
);

CREATE OR REPLACE TRIGGER registry_bindings_are_never_truncated
BEFORE TRUNCATE ON concord.registry_bindings
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'are kept forever', 'Disable a binding instead.'
);
