-- policies: every write is checked and versioned, whoever writes.

-- What decides: the columns _run_policy reads, by kind, named as a spec
-- names them (an executable policy's function without its signature).
CREATE OR REPLACE FUNCTION concord._policy_rule(p concord.policies)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF p.kind = 'builtin' THEN
        RETURN jsonb_build_object('config', p.config);
    ELSIF p.kind = 'executable' THEN
        RETURN jsonb_build_object('function', regexp_replace(p.function_name, '\(jsonb, ?jsonb\)$', ''))
            || concord._policy_scope(p);
    END IF;
    RETURN jsonb_build_object(
        'predicate', p.predicate::text, 'vars', p.vars, 'decision', p.decision, 'on_unknown', p.on_unknown,
        'reasons', to_jsonb(p.reasons), 'approval_type', p.approval_type,
        'missing_fields', to_jsonb(p.missing_fields)) || concord._policy_scope(p);
END
$$;

-- Where a policy applies decides too (migration 0006): its organisation and
-- project, and the command types it attaches itself to; absent when shared
-- and unattached.
CREATE OR REPLACE FUNCTION concord._policy_scope(p concord.policies)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_strip_nulls(jsonb_build_object(
        'org_id', p.org_id, 'project_id', p.project_id,
        'command_types', CASE WHEN cardinality(p.command_types) > 0 THEN to_jsonb(p.command_types) END));
END
$$;

-- The spec a policy row keeps: what it was registered with, its deciding
-- fields and description taken from the columns (which are what decides), so
-- that neither the spec nor its checksum can tell an older rule than the one
-- that runs.
CREATE OR REPLACE FUNCTION concord._policy_spec(p concord.policies)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    rule jsonb := concord._policy_rule(p);
BEGIN
    -- a predicate keeps the words it was registered with while they mean it
    IF rule ? 'predicate' AND jsonb_typeof(p.spec -> 'predicate') = 'string'
       AND concord._jsonpath_problem(p.spec ->> 'predicate') IS NULL THEN
        IF (p.spec ->> 'predicate')::jsonpath::text = rule ->> 'predicate' THEN
            rule := rule || jsonb_build_object('predicate', p.spec -> 'predicate');
        END IF;
    END IF;
    RETURN (CASE jsonb_typeof(p.spec) WHEN 'object' THEN p.spec ELSE '{}'::jsonb END
            - ARRAY['predicate', 'vars', 'decision', 'on_unknown', 'reasons', 'approval_type', 'missing_fields',
                    'function', 'config', 'organisation', 'project', 'org_id', 'project_id', 'command_types'])
        || jsonb_build_object('name', p.name)
        || CASE WHEN p.description <> '' OR p.spec ? 'description'
                THEN jsonb_build_object('description', p.description) ELSE '{}'::jsonb END
        || (SELECT coalesce(jsonb_object_agg(r.key, r.value), '{}'::jsonb)
            FROM jsonb_each(rule) AS r (key, value)
            WHERE jsonb_typeof(r.value) <> 'null');
END
$$;

-- Versioning, audit and the rules that hold for direct writes too.
CREATE OR REPLACE FUNCTION concord._policies_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'policies_are_not_deleted',
            TABLE = 'policies',
            MESSAGE = format('policy %s cannot be deleted: decisions refer to policies by name', OLD.name),
            HINT = 'Remove it from the policy_checks of its command types; it then no longer applies.';
    END IF;
    IF TG_OP = 'UPDATE' AND (OLD.kind = 'builtin') IS DISTINCT FROM (NEW.kind = 'builtin') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'whether_a_policy_is_built_in_never_changes',
            TABLE = 'policies',
            MESSAGE = format('policy %s: whether it is built in cannot change', OLD.name);
    END IF;
    IF TG_OP = 'INSERT' AND NEW.kind = 'builtin' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'built_in_policies_come_with_concord',
            TABLE = 'policies',
            MESSAGE = format('built-in policies come with Concord; %s cannot be added', NEW.name);
    END IF;
    IF NEW.project_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM concord.projects AS x WHERE x.project_id = NEW.project_id AND x.org_id = NEW.org_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_policy_project_is_in_its_organisation',
            TABLE = 'policies',
            MESSAGE = format('policy %s: its project is not one of its organisation''s', NEW.name);
    END IF;
    IF NEW.kind = 'builtin' AND (NEW.org_id IS NOT NULL OR cardinality(NEW.command_types) > 0) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_built_in_policy_is_shared',
            TABLE = 'policies',
            MESSAGE = format('built-in policy %s belongs to every organisation and attaches to nothing', NEW.name),
            HINT = 'Name it in a command type''s policy_checks.';
    END IF;
    -- Recomputed on every write, whoever writes: a bare UPDATE of vars or
    -- config cannot leave the old spec and checksum behind.
    NEW.spec := concord._policy_spec(NEW);
    NEW.checksum := md5(NEW.spec::text);
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._policies_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    changed jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- what changed, old and new: the deciding fields and the description
        SELECT coalesce(jsonb_object_agg(k.key, jsonb_build_object('old', o.rule -> k.key, 'new', n.rule -> k.key)),
                        '{}'::jsonb)
        INTO changed
        FROM (SELECT concord._policy_rule(OLD) || jsonb_build_object('kind', OLD.kind, 'description', OLD.description)) AS o (rule),
             (SELECT concord._policy_rule(NEW) || jsonb_build_object('kind', NEW.kind, 'description', NEW.description)) AS n (rule),
             LATERAL (SELECT jsonb_object_keys(o.rule) UNION SELECT jsonb_object_keys(n.rule)) AS k (key)
        WHERE o.rule -> k.key IS DISTINCT FROM n.rule -> k.key;
    END IF;
    PERFORM concord._audit(
        'policy_registered', null, null, 'policy', NEW.name, null, null,
        jsonb_build_object('version', NEW.version, 'checksum', NEW.checksum, 'spec', NEW.spec)
        || CASE WHEN TG_OP = 'UPDATE'
                THEN jsonb_build_object('previous_version', OLD.version, 'previous_checksum', OLD.checksum,
                                        'changed', changed)
                ELSE '{}'::jsonb END);
    RETURN null;
END
$$;

CREATE OR REPLACE TRIGGER policies_before_write
BEFORE INSERT OR UPDATE OR DELETE ON concord.policies
FOR EACH ROW EXECUTE FUNCTION concord._policies_before_write();

CREATE OR REPLACE TRIGGER policies_versioned
BEFORE INSERT OR UPDATE ON concord.policies
FOR EACH ROW EXECUTE FUNCTION concord._catalog_stamp('name', 'version');

CREATE OR REPLACE TRIGGER policies_after_write
AFTER INSERT OR UPDATE ON concord.policies
FOR EACH ROW EXECUTE FUNCTION concord._policies_after_write();

CREATE OR REPLACE TRIGGER policies_are_not_truncated
BEFORE TRUNCATE ON concord.policies
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are referenced by decisions');
