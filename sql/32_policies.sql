-- Policies (spec 4.3, 7.3, 21): who may submit what (grants and teams), the
-- policy catalog (built-in, declarative SQL/JSON path predicates, executable
-- SQL functions), approval types (spec 107.3) and the evaluation of a
-- command's policies. What an evaluation leads to is in 34_approvals.sql.

-- ---------------------------------------------------------------------------
-- Teams and grants
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION concord.add_team_member(team text, principal text)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
DECLARE
    added integer;
BEGIN
    PERFORM concord._require_name('team', team);
    PERFORM concord._require_name('principal', principal);
    IF team = principal THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('%s cannot be a member of itself', team);
    END IF;
    INSERT INTO concord.team_members AS m (team, principal, added_by)
    VALUES (team, principal, concord._actor())
    ON CONFLICT ON CONSTRAINT team_members_pkey DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added > 0;
END
$$;

COMMENT ON FUNCTION concord.add_team_member(text, text) IS
'Make principal a member of team (a team or role name); true when added, false when it '
'already was.';

CREATE OR REPLACE FUNCTION concord.remove_team_member(team text, principal text)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
DECLARE
    removed integer;
BEGIN
    PERFORM concord._require_name('team', team);
    PERFORM concord._require_name('principal', principal);
    DELETE FROM concord.team_members AS m WHERE m.team = team AND m.principal = principal;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed > 0;
END
$$;

COMMENT ON FUNCTION concord.remove_team_member(text, text) IS
'Remove principal from team; true when removed, false when it was not a member.';

-- Grants and memberships are audited whoever writes them. The trigger's
-- arguments: the event for an insert, the event for a delete, the target
-- type and the column naming the target.
CREATE OR REPLACE FUNCTION concord._access_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    changed jsonb := CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END;
BEGIN
    PERFORM concord._audit(
        CASE TG_OP WHEN 'DELETE' THEN TG_ARGV[1] ELSE TG_ARGV[0] END,
        null, null, TG_ARGV[2], changed ->> TG_ARGV[3], null, null,
        jsonb_build_object('principal', changed ->> 'principal'));
    RETURN null;
END
$$;

CREATE OR REPLACE TRIGGER team_members_after_write
AFTER INSERT OR DELETE ON concord.team_members
FOR EACH ROW EXECUTE FUNCTION concord._access_after_write(
    'team_member_added', 'team_member_removed', 'team', 'team'
);

CREATE OR REPLACE TRIGGER command_type_grants_after_write
AFTER INSERT OR DELETE ON concord.command_type_grants
FOR EACH ROW EXECUTE FUNCTION concord._access_after_write(
    'command_type_granted', 'command_type_revoked', 'command_type', 'command_type'
);

CREATE OR REPLACE TRIGGER team_members_are_not_updated
BEFORE UPDATE ON concord.team_members
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('change by adding and removing members');

CREATE OR REPLACE TRIGGER command_type_grants_are_not_updated
BEFORE UPDATE ON concord.command_type_grants
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('change by granting and revoking');

CREATE OR REPLACE FUNCTION concord._require_command_type(command_type text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._require('command_type', command_type);
    IF NOT EXISTS (SELECT 1 FROM concord.command_types AS ct
                   WHERE ct.command_type = _require_command_type.command_type) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN009',
            MESSAGE = format('unknown command type %L', command_type),
            HINT = 'Register it first with concord.register_command_type(spec).';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION concord.grant_command_type(command_type text, principal text)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
DECLARE
    added integer;
BEGIN
    PERFORM concord._require_command_type(command_type);
    PERFORM concord._require_name('principal', principal);
    INSERT INTO concord.command_type_grants AS g (command_type, principal, granted_by)
    VALUES (command_type, principal, concord._actor())
    ON CONFLICT ON CONSTRAINT command_type_grants_pkey DO NOTHING;
    GET DIAGNOSTICS added = ROW_COUNT;
    RETURN added > 0;
END
$$;

COMMENT ON FUNCTION concord.grant_command_type(text, text) IS
'Let principal (a user, or a team or role whose members then may) submit command_type under '
'the permission policy; true when granted, false when it already was.';

CREATE OR REPLACE FUNCTION concord.revoke_command_type(command_type text, principal text)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
DECLARE
    removed integer;
BEGIN
    PERFORM concord._require_command_type(command_type);
    PERFORM concord._require_name('principal', principal);
    DELETE FROM concord.command_type_grants AS g
    WHERE g.command_type = command_type AND g.principal = principal;
    GET DIAGNOSTICS removed = ROW_COUNT;
    RETURN removed > 0;
END
$$;

COMMENT ON FUNCTION concord.revoke_command_type(text, text) IS
'Withdraw principal''s grant on command_type; true when revoked, false when there was none. '
'Commands already submitted keep their decisions.';

-- ---------------------------------------------------------------------------
-- Approval types (spec 107.3)
-- ---------------------------------------------------------------------------

-- Problems with a register_approval_type spec (empty when valid).
CREATE OR REPLACE FUNCTION concord._approval_type_spec_problems(spec jsonb)
RETURNS text[]
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    problems text[] := '{}'::text[];
    field text;
    value jsonb;
    approver_ways text[];
    allowed constant text[] := ARRAY[
        'name', 'version', 'description', 'risk_level', 'required_fields', 'decision_values',
        'expiration', 'approver', 'resume', 'ui', 'audit', 'approvers'];
BEGIN
    IF spec IS NULL OR jsonb_typeof(spec) <> 'object' THEN
        RETURN ARRAY[format('the spec must be a JSON object, not %s', coalesce(jsonb_typeof(spec), 'NULL'))];
    END IF;
    IF NOT spec ? 'name' THEN
        problems := problems || 'name is required'::text;
    END IF;
    IF NOT spec ? 'approver' AND NOT spec ? 'approvers' THEN
        problems := problems || 'approver is required: {"principals": [...]}, {"team": "..."}, '
                                '{"role": "..."} or {"path": "$.context.owner"}'::text;
    END IF;
    FOR field, value IN SELECT e.key, e.value FROM jsonb_each(spec) AS e ORDER BY e.key LOOP
        IF NOT field = ANY (allowed) THEN
            problems := problems || format('unknown field %s (known fields: %s)', field, array_to_string(allowed, ', '));
        ELSIF field = 'name' THEN
            IF jsonb_typeof(value) <> 'string' OR NOT (value #>> '{}' ~ '^[a-z][a-z0-9_.:-]*$'
                                                      AND length(value #>> '{}') <= 128) THEN
                problems := problems || format(
                    'name %s must be a string starting with a lowercase letter and holding only a-z, 0-9, _ . : - '
                    '(at most 128 characters)', value);
            END IF;
        ELSIF field IN ('version', 'description') THEN
            IF jsonb_typeof(value) <> 'string' THEN
                problems := problems || format('%s must be a string, not %s', field, jsonb_typeof(value));
            END IF;
        ELSIF field = 'risk_level' THEN
            IF jsonb_typeof(value) <> 'string' OR NOT value #>> '{}' IN ('low', 'medium', 'high', 'critical') THEN
                problems := problems || format('risk_level must be one of low, medium, high, critical, not %s', value);
            END IF;
        ELSIF field = 'required_fields' THEN
            IF NOT concord._is_string_list(value) THEN
                problems := problems || 'required_fields must be an array of distinct non-blank strings'::text;
            END IF;
        ELSIF field = 'decision_values' THEN
            IF NOT concord._is_string_list(value) THEN
                problems := problems || 'decision_values must be an array of distinct strings'::text;
            ELSIF NOT concord._text_array(value) <@ ARRAY['approved', 'rejected', 'request_changes']
                  OR NOT concord._text_array(value) @> ARRAY['approved', 'rejected'] THEN
                problems := problems || format(
                    'decision_values %s must include approved and rejected and may add request_changes, nothing else',
                    value);
            END IF;
        ELSIF field = 'expiration' THEN
            IF jsonb_typeof(value) <> 'object' OR EXISTS (
                   SELECT 1 FROM jsonb_object_keys(value) AS k (key) WHERE k.key <> 'default_minutes') THEN
                problems := problems || 'expiration must be an object with only default_minutes'::text;
            ELSIF value ? 'default_minutes' AND (
                  jsonb_typeof(value -> 'default_minutes') <> 'number'
                  OR (value ->> 'default_minutes')::numeric <> trunc((value ->> 'default_minutes')::numeric)
                  OR (value ->> 'default_minutes')::numeric NOT BETWEEN 1 AND 5256000) THEN
                problems := problems || format(
                    'expiration.default_minutes must be a whole number of minutes from 1 to 5256000 (ten years), not %s',
                    value -> 'default_minutes');
            END IF;
        ELSIF field = 'approver' THEN
            IF jsonb_typeof(value) <> 'object' THEN
                problems := problems || format('approver must be an object, not %s', jsonb_typeof(value));
            ELSE
                approver_ways := ARRAY(SELECT k.key FROM jsonb_object_keys(value) AS k (key) ORDER BY 1);
                IF cardinality(approver_ways) <> 1 OR NOT approver_ways[1] IN ('principals', 'team', 'role', 'path') THEN
                    problems := problems || format(
                        'approver must have exactly one of principals, team, role or path, not %s', value);
                ELSIF approver_ways[1] = 'principals' THEN
                    IF NOT concord._is_string_list(value -> 'principals')
                       OR jsonb_array_length(value -> 'principals') = 0 THEN
                        problems := problems || 'approver.principals must be a non-empty array of distinct non-blank strings'::text;
                    END IF;
                ELSIF approver_ways[1] IN ('team', 'role') THEN
                    IF jsonb_typeof(value -> approver_ways[1]) <> 'string' OR btrim(value ->> approver_ways[1]) = '' THEN
                        problems := problems || format('approver.%s must be a non-blank string', approver_ways[1]);
                    END IF;
                ELSIF jsonb_typeof(value -> 'path') <> 'string' THEN
                    problems := problems || 'approver.path must be a SQL/JSON path string such as $.context.owner'::text;
                ELSIF concord._jsonpath_problem(value ->> 'path') IS NOT NULL THEN
                    problems := problems || format('approver.path: %s', concord._jsonpath_problem(value ->> 'path'));
                ELSIF strpos((value ->> 'path')::jsonpath::text, '$"') > 0 THEN
                    problems := problems || format('approver.path %s may not use variables', value ->> 'path');
                ELSIF NOT (value ->> 'path')::jsonpath::text ~ '^(strict |lax )?\$\."(payload|context)"' THEN
                    problems := problems || format(
                        'approver.path %s must read the command''s payload or context, e.g. $.payload.owner',
                        value ->> 'path');
                END IF;
            END IF;
        ELSIF field = 'resume' THEN
            IF jsonb_typeof(value) <> 'object' THEN
                problems := problems || format('resume must be an object, not %s', jsonb_typeof(value));
            ELSE
                IF EXISTS (SELECT 1 FROM jsonb_object_keys(value) AS k (key)
                           WHERE k.key NOT IN ('on_approved', 'on_rejected', 'on_request_changes')) THEN
                    problems := problems || 'resume may hold only on_approved, on_rejected and on_request_changes'::text;
                END IF;
                IF value ? 'on_approved' AND value -> 'on_approved' <> '"continue_workflow"' THEN
                    problems := problems || format('resume.on_approved must be continue_workflow, not %s',
                                                   value -> 'on_approved');
                END IF;
                IF value ? 'on_rejected'
                   AND NOT value -> 'on_rejected' IN ('"fail"', '"fail_or_replan"', '"cancel"') THEN
                    problems := problems || format('resume.on_rejected must be fail, fail_or_replan or cancel, not %s',
                                                   value -> 'on_rejected');
                END IF;
                IF value ? 'on_request_changes' AND value -> 'on_request_changes' <> '"request_input"' THEN
                    problems := problems || format('resume.on_request_changes must be request_input, not %s',
                                                   value -> 'on_request_changes');
                END IF;
            END IF;
        ELSIF field = 'approvers' THEN
            -- (a list without approver was turned into approver.principals)
            problems := problems || CASE
                WHEN spec ? 'approver' THEN 'give approver or approvers (short for approver.principals), not both'
                ELSE format('approvers is short for approver.principals and must be an array of principal names, '
                            'not %s', jsonb_typeof(value))
            END;
        ELSIF field IN ('ui', 'audit') THEN
            IF jsonb_typeof(value) <> 'object' THEN
                problems := problems || format('%s must be an object, not %s', field, jsonb_typeof(value));
            END IF;
        END IF;
    END LOOP;
    RETURN problems;
END
$$;

-- True when value is a JSON array of distinct non-blank strings.
CREATE OR REPLACE FUNCTION concord._is_string_list(value jsonb)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_typeof(value) = 'array'
        AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(value) AS x (item)
                        WHERE jsonb_typeof(x.item) <> 'string' OR btrim(x.item #>> '{}') = '')
        AND (SELECT count(*) = count(DISTINCT x.item) FROM jsonb_array_elements(value) AS x (item));
END
$$;

-- NULL when path is a valid SQL/JSON path, else what is wrong with it.
CREATE OR REPLACE FUNCTION concord._jsonpath_problem(path text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM path::jsonpath;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN format('%s is not a valid SQL/JSON path: %s', path, SQLERRM);
END
$$;

CREATE OR REPLACE FUNCTION concord.register_approval_type(spec jsonb)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
DECLARE
    problems text[];
    wanted concord.approval_types%ROWTYPE;
    existing concord.approval_types%ROWTYPE;
    approver jsonb;
BEGIN
    -- "approvers": [...] is short for "approver": {"principals": [...]}
    IF jsonb_typeof(spec) = 'object' AND jsonb_typeof(spec -> 'approvers') = 'array' AND NOT spec ? 'approver' THEN
        spec := (spec - 'approvers') || jsonb_build_object('approver', jsonb_build_object('principals', spec -> 'approvers'));
    END IF;
    problems := concord._approval_type_spec_problems(spec);
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            MESSAGE = format('invalid approval type spec: %s problem(s)', cardinality(problems)),
            DETAIL = '- ' || array_to_string(problems, E'\n- '),
            HINT = 'Fix every listed problem and register again.';
    END IF;
    approver := spec -> 'approver';
    wanted.name := spec ->> 'name';
    wanted.version := coalesce(spec ->> 'version', '1.0.0');
    wanted.description := coalesce(spec ->> 'description', '');
    wanted.risk_level := coalesce(spec ->> 'risk_level', 'medium');
    wanted.required_fields := concord._text_array(spec -> 'required_fields');
    wanted.decision_values := coalesce(
        concord._text_array(spec -> 'decision_values'), '{approved,rejected,request_changes}');
    IF NOT spec ? 'decision_values' THEN
        wanted.decision_values := '{approved,rejected,request_changes}';
    END IF;
    wanted.default_expiry_minutes := coalesce((spec #>> '{expiration,default_minutes}')::integer, 1440);
    wanted.approver_principals := CASE WHEN approver ? 'principals'
                                       THEN concord._text_array(approver -> 'principals') END;
    wanted.approver_team := coalesce(approver ->> 'team', approver ->> 'role');
    wanted.approver_path := (approver ->> 'path')::jsonpath;
    wanted.on_approved := coalesce(spec #>> '{resume,on_approved}', 'continue_workflow');
    wanted.on_rejected := coalesce(spec #>> '{resume,on_rejected}', 'fail');
    wanted.on_request_changes := coalesce(spec #>> '{resume,on_request_changes}', 'request_input');
    wanted.ui := coalesce(spec -> 'ui', '{}');

    SELECT * INTO existing FROM concord.approval_types AS t WHERE t.name = wanted.name FOR UPDATE;
    IF FOUND AND existing.spec = spec THEN
        RETURN existing.name;
    END IF;
    INSERT INTO concord.approval_types AS t (
        name, version, description, risk_level, required_fields, decision_values,
        default_expiry_minutes, approver_principals, approver_team, approver_path,
        on_approved, on_rejected, on_request_changes, ui, spec
    ) VALUES (
        wanted.name, wanted.version, wanted.description, wanted.risk_level, wanted.required_fields,
        wanted.decision_values, wanted.default_expiry_minutes, wanted.approver_principals,
        wanted.approver_team, wanted.approver_path, wanted.on_approved, wanted.on_rejected,
        wanted.on_request_changes, wanted.ui, spec
    )
    ON CONFLICT (name) DO UPDATE SET
        version = excluded.version,
        description = excluded.description,
        risk_level = excluded.risk_level,
        required_fields = excluded.required_fields,
        decision_values = excluded.decision_values,
        default_expiry_minutes = excluded.default_expiry_minutes,
        approver_principals = excluded.approver_principals,
        approver_team = excluded.approver_team,
        approver_path = excluded.approver_path,
        on_approved = excluded.on_approved,
        on_rejected = excluded.on_rejected,
        on_request_changes = excluded.on_request_changes,
        ui = excluded.ui,
        spec = excluded.spec;
    RETURN wanted.name;
END
$$;

COMMENT ON FUNCTION concord.register_approval_type(jsonb) IS
'Insert or replace an approval type from a spec 107.3 document (name, required_fields, '
'decision_values, expiration.default_minutes, approver, resume, risk_level); returns its name. '
'Pending approvals keep the approvers they were given.';

-- Whoever writes approval_types: a revision per change, an audit row, and
-- no deletion (approvals and policies refer to types by name).
CREATE OR REPLACE FUNCTION concord._approval_types_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._audit('approval_type_registered', null, null, 'approval_type', NEW.name, null, null,
                           jsonb_build_object('revision', NEW.revision, 'definition', to_jsonb(NEW)));
    RETURN null;
END
$$;

CREATE OR REPLACE TRIGGER approval_types_versioned
BEFORE INSERT OR UPDATE ON concord.approval_types
FOR EACH ROW EXECUTE FUNCTION concord._catalog_stamp('name', 'revision');

CREATE OR REPLACE TRIGGER approval_types_after_write
AFTER INSERT OR UPDATE ON concord.approval_types
FOR EACH ROW EXECUTE FUNCTION concord._approval_types_after_write();

CREATE OR REPLACE TRIGGER approval_types_are_not_deleted
BEFORE DELETE ON concord.approval_types
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'are referred to by approvals and policies', 'Register a new definition instead.'
);

CREATE OR REPLACE TRIGGER approval_types_are_not_truncated
BEFORE TRUNCATE ON concord.approval_types
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'are referred to by approvals and policies'
);

-- ---------------------------------------------------------------------------
-- The policy catalog
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION concord._policy_spec_problems(spec jsonb)
RETURNS text[]
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    problems text[] := '{}'::text[];
    field text;
    value jsonb;
    builtin boolean;
    kind text;
    fn regprocedure;
    allowed text[];
    sample jsonb;
    unbound text[];
BEGIN
    IF spec IS NULL OR jsonb_typeof(spec) <> 'object' THEN
        RETURN ARRAY[format('the spec must be a JSON object, not %s', coalesce(jsonb_typeof(spec), 'NULL'))];
    END IF;
    IF jsonb_typeof(spec -> 'name') IS DISTINCT FROM 'string'
       OR NOT (spec ->> 'name' ~ '^[a-z][a-z0-9_.:-]*$' AND length(spec ->> 'name') <= 128) THEN
        problems := problems || format('name is required: a string starting with a lowercase letter and holding '
                                       'only a-z, 0-9, _ . : - (at most 128 characters), not %s',
                                       coalesce((spec -> 'name')::text, 'nothing'));
    END IF;
    builtin := EXISTS (SELECT 1 FROM concord.policies AS p WHERE p.name = spec ->> 'name' AND p.kind = 'builtin');
    IF builtin THEN
        allowed := ARRAY['name', 'description', 'config', 'kind'];
        kind := 'builtin';
    ELSIF spec ? 'function' THEN
        allowed := ARRAY['name', 'description', 'function', 'kind'];
        kind := 'executable';
    ELSE
        allowed := ARRAY['name', 'description', 'predicate', 'vars', 'decision', 'reasons',
                         'approval_type', 'missing_fields', 'on_unknown', 'kind'];
        kind := 'declarative';
        IF NOT spec ? 'predicate' THEN
            problems := problems || 'predicate is required (a SQL/JSON path predicate such as '
                                    '$.payload.total_price > $limit), or function for an executable policy'::text;
        END IF;
        IF NOT spec ? 'decision' THEN
            problems := problems || 'decision is required: deny, require_input or require_approval'::text;
        END IF;
    END IF;
    FOR field, value IN SELECT e.key, e.value FROM jsonb_each(spec) AS e ORDER BY e.key LOOP
        IF NOT field = ANY (allowed) THEN
            problems := problems || format('unknown field %s for %s %s policy (known fields: %s)',
                                           field, CASE WHEN kind = 'executable' THEN 'an' ELSE 'a' END, kind,
                                           array_to_string(allowed, ', '));
        ELSIF field = 'description' AND jsonb_typeof(value) <> 'string' THEN
            problems := problems || format('description must be a string, not %s', jsonb_typeof(value));
        ELSIF field = 'kind' AND value IS DISTINCT FROM to_jsonb(kind) THEN
            problems := problems || format('kind %s does not match the spec, which describes %s %s policy', value,
                                           CASE WHEN kind = 'executable' THEN 'an' ELSE 'a' END, kind);
        ELSIF field = 'config' THEN
            problems := problems || concord._builtin_config_problems(spec ->> 'name', value);
        ELSIF field = 'function' THEN
            IF jsonb_typeof(value) <> 'string' OR btrim(value #>> '{}') = '' THEN
                problems := problems || 'function must name a SQL function, such as myschema.my_policy'::text;
            ELSE
                BEGIN
                    fn := to_regprocedure((value #>> '{}') || '(jsonb, jsonb)');
                EXCEPTION WHEN OTHERS THEN
                    fn := NULL;
                END;
                IF fn IS NULL THEN
                    problems := problems || format(
                        'function %s(command jsonb, context jsonb) does not exist: an executable policy is a '
                        'function of exactly two jsonb arguments', value #>> '{}');
                ELSIF (SELECT p.prorettype <> 'jsonb'::regtype OR p.proretset
                       FROM pg_catalog.pg_proc AS p WHERE p.oid = fn) THEN
                    problems := problems || format('function %s must return a single jsonb value', fn);
                ELSIF (SELECT p.prokind <> 'f' FROM pg_catalog.pg_proc AS p WHERE p.oid = fn) THEN
                    problems := problems || format('%s is not a plain function', fn);
                ELSIF NOT concord._policy_function_is_trusted(fn) THEN
                    problems := problems || format(
                        '%s would run with Concord''s rights: it must be owned by the owner of schema concord '
                        '(or a superuser), or be SECURITY DEFINER so it runs with its own owner''s rights', fn);
                END IF;
            END IF;
        ELSIF field = 'predicate' THEN
            IF jsonb_typeof(value) <> 'string' THEN
                problems := problems || format('predicate must be a string, not %s', jsonb_typeof(value));
            ELSIF concord._jsonpath_problem(value #>> '{}') IS NOT NULL THEN
                problems := problems || format('predicate: %s', concord._jsonpath_problem(value #>> '{}'));
            ELSIF jsonb_typeof(coalesce(spec -> 'vars', '{}')) = 'object' THEN
                -- Every variable must be bound, in every branch: the
                -- canonical text names each as $"name".
                unbound := ARRAY(
                    SELECT DISTINCT v.m[1]
                    FROM regexp_matches((value #>> '{}')::jsonpath::text, '\$"((?:[^"\\]|\\.)*)"', 'g') AS v (m)
                    WHERE NOT coalesce(spec -> 'vars', '{}') ? v.m[1]
                    ORDER BY 1);
                IF cardinality(unbound) > 0 THEN
                    problems := problems || format('predicate %s uses variables that vars does not bind: %s',
                                                   value #>> '{}', array_to_string(unbound, ', '));
                ELSE
                    -- A predicate answers true, false or unknown: one boolean (or
                    -- null) item, whatever the command. Try it on an empty one.
                    sample := jsonb_build_object(
                        'command_id', gen_random_uuid(), 'command_type', '', 'payload', '{}'::jsonb,
                        'requested_by', '', 'ingress', '', 'risk_level', 'low', 'context', '{}'::jsonb);
                    BEGIN
                        IF (SELECT count(*) <> 1 OR bool_or(jsonb_typeof(r.item) NOT IN ('boolean', 'null'))
                            FROM jsonb_path_query(sample, (value #>> '{}')::jsonpath,
                                                  coalesce(spec -> 'vars', '{}'), true) AS r (item)) THEN
                            problems := problems || format(
                                'predicate %s is a path, not a predicate: compare it (e.g. %s > 500) or test it '
                                '(exists(%s))', value #>> '{}', value #>> '{}', value #>> '{}');
                        END IF;
                    EXCEPTION WHEN OTHERS THEN
                        problems := problems || format('predicate %s cannot be evaluated: %s', value #>> '{}', SQLERRM);
                    END;
                END IF;
            END IF;
        ELSIF field = 'vars' AND jsonb_typeof(value) <> 'object' THEN
            problems := problems || format('vars must be an object of named variables, not %s', jsonb_typeof(value));
        ELSIF field = 'decision' AND (jsonb_typeof(value) <> 'string'
                                      OR NOT value #>> '{}' IN ('deny', 'require_input', 'require_approval')) THEN
            problems := problems || format(
                'decision must be deny, require_input or require_approval (what the policy yields when its '
                'predicate holds), not %s', value);
        ELSIF field = 'on_unknown' AND (jsonb_typeof(value) <> 'string'
                                        OR NOT value #>> '{}' IN ('allow', 'deny', 'require_input', 'require_approval')) THEN
            problems := problems || format('on_unknown must be allow, deny, require_input or require_approval, not %s',
                                           value);
        ELSIF field IN ('reasons', 'missing_fields') AND NOT concord._is_string_list(value) THEN
            problems := problems || format('%s must be an array of distinct non-blank strings', field);
        ELSIF field = 'approval_type' THEN
            IF jsonb_typeof(value) <> 'string'
               OR NOT EXISTS (SELECT 1 FROM concord.approval_types AS t WHERE t.name = value #>> '{}') THEN
                problems := problems || format(
                    'approval_type %s is not a registered approval type (register_approval_type first)', value);
            END IF;
        END IF;
    END LOOP;
    IF kind = 'declarative' THEN
        IF (spec ->> 'decision' = 'require_input' OR spec ->> 'on_unknown' = 'require_input')
           AND coalesce(jsonb_array_length(CASE jsonb_typeof(spec -> 'missing_fields')
                                           WHEN 'array' THEN spec -> 'missing_fields' END), 0) = 0 THEN
            problems := problems || 'a policy that can require input must name the fields in missing_fields'::text;
        END IF;
        IF spec ->> 'decision' = 'require_approval' AND NOT spec ? 'approval_type' THEN
            problems := problems || 'a require_approval policy must name its approval_type'::text;
        ELSIF spec ? 'approval_type' AND spec ->> 'decision' IS DISTINCT FROM 'require_approval' THEN
            problems := problems || 'approval_type is only for a policy whose decision is require_approval'::text;
        END IF;
    END IF;
    RETURN problems;
END
$$;

-- An executable policy may be registered by the function's own name
-- ({"name": "myschema.my_policy"}, with "kind": "executable" or nothing
-- else): the spec then names its function. "kind" is optional everywhere and
-- dropped once checked against the spec's shape.
CREATE OR REPLACE FUNCTION concord._policy_spec_normalized(spec jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    parts text[];
    by_name boolean;
BEGIN
    IF jsonb_typeof(spec) IS DISTINCT FROM 'object' OR jsonb_typeof(spec -> 'name') IS DISTINCT FROM 'string'
       OR spec ? 'function' OR spec ? 'predicate'
       OR EXISTS (SELECT 1 FROM concord.policies AS p WHERE p.name = spec ->> 'name' AND p.kind = 'builtin') THEN
        RETURN spec;
    END IF;
    BEGIN
        parts := parse_ident(spec ->> 'name');
    EXCEPTION WHEN OTHERS THEN
        parts := NULL;
    END;
    by_name := cardinality(parts) = 2 AND EXISTS (
        SELECT 1 FROM pg_catalog.pg_proc AS p
        INNER JOIN pg_catalog.pg_namespace AS n ON n.oid = p.pronamespace
        WHERE n.nspname = parts[1] AND p.proname = parts[2]);
    IF spec ->> 'kind' = 'executable' OR (by_name AND NOT spec ? 'decision' AND NOT spec ? 'kind') THEN
        RETURN spec || jsonb_build_object('function', spec ->> 'name');
    END IF;
    RETURN spec;
END
$$;

-- Problems with the config of built-in policy name.
CREATE OR REPLACE FUNCTION concord._builtin_config_problems(name text, config jsonb)
RETURNS text[]
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems text[] := '{}'::text[];
    known text[];
BEGIN
    IF jsonb_typeof(config) <> 'object' THEN
        RETURN ARRAY[format('config must be an object, not %s', jsonb_typeof(config))];
    END IF;
    known := CASE name
        WHEN 'external_sharing' THEN ARRAY['fields', 'approval_type']
        WHEN 'risk' THEN ARRAY['levels', 'approval_type']
        WHEN 'agent_tool' THEN ARRAY['approval_type']
        WHEN 'memory_write' THEN ARRAY['min_confidence', 'broad_subject_types', 'broad_memory_types', 'approval_type']
        ELSE '{}'::text[]
    END;
    IF EXISTS (SELECT 1 FROM jsonb_object_keys(config) AS k (key) WHERE NOT k.key = ANY (known)) THEN
        problems := problems || format('config of built-in policy %s may hold only: %s', name,
                                       coalesce(nullif(array_to_string(known, ', '), ''), 'nothing'));
    END IF;
    IF config ? 'fields' AND (NOT concord._is_string_list(config -> 'fields')
                              OR jsonb_array_length(config -> 'fields') = 0) THEN
        problems := problems || 'config.fields must be a non-empty array of payload field names'::text;
    END IF;
    IF config ? 'levels' AND (NOT concord._is_string_list(config -> 'levels')
                              OR NOT concord._text_array(config -> 'levels') <@ ARRAY['low', 'medium', 'high', 'critical']) THEN
        problems := problems || 'config.levels must be an array of risk levels (low, medium, high, critical)'::text;
    END IF;
    IF config ? 'min_confidence' AND (jsonb_typeof(config -> 'min_confidence') <> 'number'
                                      OR (config ->> 'min_confidence')::numeric NOT BETWEEN 0 AND 1) THEN
        problems := problems || 'config.min_confidence must be a number from 0 to 1'::text;
    END IF;
    IF (config ? 'broad_subject_types' AND NOT concord._is_string_list(config -> 'broad_subject_types'))
       OR (config ? 'broad_memory_types' AND NOT concord._is_string_list(config -> 'broad_memory_types')) THEN
        problems := problems || 'config.broad_subject_types and broad_memory_types must be arrays of names'::text;
    END IF;
    IF config ? 'approval_type' AND (
           jsonb_typeof(config -> 'approval_type') <> 'string'
           OR NOT EXISTS (SELECT 1 FROM concord.approval_types AS t WHERE t.name = config ->> 'approval_type')) THEN
        problems := problems || format('config.approval_type %s is not a registered approval type',
                                       config -> 'approval_type');
    END IF;
    RETURN problems;
END
$$;

-- Policies run inside Concord's SECURITY DEFINER API, with its owner's
-- rights. A function owned by someone else may run there only if it is
-- SECURITY DEFINER itself (it then runs with its own owner's rights), so a
-- catalog administrator cannot borrow Concord's.
CREATE OR REPLACE FUNCTION concord._policy_function_is_trusted(fn regprocedure)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN EXISTS (
        SELECT 1 FROM pg_catalog.pg_proc AS p
        INNER JOIN pg_catalog.pg_roles AS r ON r.oid = p.proowner
        WHERE p.oid = fn
          AND (p.prosecdef
               OR r.rolsuper
               OR p.proowner = (SELECT n.nspowner FROM pg_catalog.pg_namespace AS n WHERE n.nspname = 'concord')));
END
$$;

CREATE OR REPLACE FUNCTION concord.register_policy(spec jsonb)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
DECLARE
    problems text[];
    existing concord.policies%ROWTYPE;
    policy_name text;
    sum text;
BEGIN
    spec := concord._policy_spec_normalized(spec);
    problems := concord._policy_spec_problems(spec);
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            MESSAGE = format('invalid policy spec: %s problem(s)', cardinality(problems)),
            DETAIL = '- ' || array_to_string(problems, E'\n- '),
            HINT = 'Fix every listed problem and register again.';
    END IF;
    -- kind was checked against the spec's shape: it adds nothing to keep
    spec := spec - 'kind';
    policy_name := spec ->> 'name';
    sum := md5(spec::text);
    SELECT * INTO existing FROM concord.policies AS p WHERE p.name = policy_name FOR UPDATE;
    IF FOUND AND existing.checksum = sum THEN
        RETURN policy_name;
    END IF;
    IF FOUND AND existing.kind = 'builtin' THEN
        UPDATE concord.policies AS p SET
            description = coalesce(spec ->> 'description', p.description),
            config = coalesce(spec -> 'config', p.config),
            spec = spec,
            checksum = sum
        WHERE p.name = policy_name;
    ELSE
        INSERT INTO concord.policies AS p (
            name, kind, description, predicate, vars, decision, on_unknown, reasons, approval_type,
            missing_fields, function_name, spec, checksum
        ) VALUES (
            policy_name,
            CASE WHEN spec ? 'function' THEN 'executable' ELSE 'declarative' END,
            coalesce(spec ->> 'description', ''),
            (spec ->> 'predicate')::jsonpath,
            coalesce(spec -> 'vars', '{}'),
            spec ->> 'decision',
            spec ->> 'on_unknown',
            concord._text_array(spec -> 'reasons'),
            spec ->> 'approval_type',
            concord._text_array(spec -> 'missing_fields'),
            to_regprocedure((spec ->> 'function') || '(jsonb, jsonb)')::text,
            spec,
            sum
        )
        ON CONFLICT (name) DO UPDATE SET
            kind = excluded.kind,
            description = excluded.description,
            predicate = excluded.predicate,
            vars = excluded.vars,
            decision = excluded.decision,
            on_unknown = excluded.on_unknown,
            reasons = excluded.reasons,
            approval_type = excluded.approval_type,
            missing_fields = excluded.missing_fields,
            function_name = excluded.function_name,
            spec = excluded.spec,
            checksum = excluded.checksum;
    END IF;
    RETURN policy_name;
END
$$;

COMMENT ON FUNCTION concord.register_policy(jsonb) IS
'Insert or replace a policy: declarative ({name, predicate, vars, decision, reasons, '
'approval_type, missing_fields, on_unknown}) or executable ({name, function}); for a built-in '
'policy only description and config. Returns the name; CN005 lists every problem of a bad spec.';

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
            MESSAGE = format('policy %s cannot be deleted: decisions refer to policies by name', OLD.name),
            HINT = 'Remove it from the policy_checks of its command types; it then no longer applies.';
    END IF;
    IF TG_OP = 'UPDATE' AND (OLD.kind = 'builtin') IS DISTINCT FROM (NEW.kind = 'builtin') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('policy %s: whether it is built in cannot change', OLD.name);
    END IF;
    IF TG_OP = 'INSERT' AND NEW.kind = 'builtin' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('built-in policies come with Concord; %s cannot be added', NEW.name);
    END IF;
    IF NEW.checksum = '' OR (TG_OP = 'UPDATE' AND NEW.checksum = OLD.checksum AND NEW.spec <> OLD.spec) THEN
        NEW.checksum := md5(NEW.spec::text);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._policies_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._audit(
        'policy_registered', null, null, 'policy', NEW.name, null, null,
        jsonb_build_object('version', NEW.version, 'checksum', NEW.checksum, 'spec', NEW.spec));
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

-- ---------------------------------------------------------------------------
-- Evaluation
-- ---------------------------------------------------------------------------

-- text in Unicode NFKC form where the database is UTF-8 (normalize() needs
-- it), else as it is.
CREATE OR REPLACE FUNCTION concord._nfkc(value text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF current_setting('server_encoding') = 'UTF8' THEN
        RETURN normalize(value, NFKC);
    END IF;
    RETURN value;
END
$$;

-- text without the characters that do not show: Unicode white space beyond
-- ASCII and format characters (zero-width spaces and joiners, soft hyphen,
-- byte order mark, bidirectional marks), wherever they stand.
CREATE OR REPLACE FUNCTION concord._visible(value text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF current_setting('server_encoding') <> 'UTF8' THEN
        RETURN value;
    END IF;
    RETURN regexp_replace(value, '[' || U&'\0085\00A0\00AD\061C\1680\180E\2000-\200F\2028-\202F\205F-\206F\3000\FEFF'
                          || ']', '', 'g');
END
$$;

-- The fields of payload that are absent, null or blank strings.
CREATE OR REPLACE FUNCTION concord._missing_fields(payload jsonb, fields text[])
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    missing text[] := '{}'::text[];
    field text;
BEGIN
    FOREACH field IN ARRAY coalesce(fields, '{}'::text[]) LOOP
        IF payload -> field IS NULL
           OR jsonb_typeof(payload -> field) = 'null'
           OR (jsonb_typeof(payload -> field) = 'string' AND btrim(payload ->> field) = '') THEN
            missing := missing || field;
        END IF;
    END LOOP;
    RETURN missing;
END
$$;

-- The policies a command type is governed by, in order: its policy_checks,
-- then approval_required when the type is flagged so and does not name it.
CREATE OR REPLACE FUNCTION concord._effective_policies(ct concord.command_types)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF ct.approval_required AND NOT 'approval_required' = ANY (ct.policy_checks) THEN
        RETURN ct.policy_checks || 'approval_required'::text;
    END IF;
    RETURN ct.policy_checks;
END
$$;

-- One policy's result: {decision, reasons, approval_type, missing_fields}.
CREATE OR REPLACE FUNCTION concord._builtin_policy(
    policy concord.policies, doc jsonb, ct concord.command_types
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    missing text[];
    field text;
    value jsonb;
    estimate jsonb;
BEGIN
    CASE policy.name
    WHEN 'required_inputs' THEN
        missing := concord._missing_fields(doc -> 'payload', ct.required_inputs);
        IF cardinality(missing) > 0 THEN
            RETURN jsonb_build_object(
                'decision', 'require_input',
                'reasons', jsonb_build_array(format('required input missing: %s', array_to_string(missing, ', '))),
                'missing_fields', to_jsonb(missing));
        END IF;
        RETURN '{"decision": "allow"}'::jsonb;
    WHEN 'permission' THEN
        IF EXISTS (SELECT 1 FROM concord.command_type_grants AS g
                   WHERE g.command_type = ct.command_type
                     AND (g.principal = doc ->> 'requested_by'
                          OR g.principal IN (SELECT m.team FROM concord.team_members AS m
                                             WHERE m.principal = doc ->> 'requested_by'))) THEN
            RETURN '{"decision": "allow"}'::jsonb;
        END IF;
        RETURN jsonb_build_object(
            'decision', 'deny',
            'reasons', jsonb_build_array(format('%s holds no grant for command type %s',
                                                doc ->> 'requested_by', ct.command_type)));
    WHEN 'external_sharing' THEN
        -- Every string in the field, however deep (a list, an object of
        -- addresses): a shape the policy cannot see through must not hide one.
        FOREACH field IN ARRAY concord._text_array(coalesce(policy.config -> 'fields', '["destination"]')) LOOP
            FOR value IN
                -- every string and every object key, compared in NFKC form (a
                -- fullwidth @ is an @), lower case, without leading white space
                SELECT to_jsonb(regexp_replace(concord._visible(lower(concord._nfkc(x.item #>> '{}'))),
                                               '^[[:space:]]+', ''))
                FROM (
                    SELECT v.item FROM jsonb_path_query(coalesce(doc #> ARRAY['payload', field], 'null'),
                                                        'strict $.** ? (@.type() == "string")') AS v (item)
                    UNION ALL
                    SELECT k.item FROM jsonb_path_query(coalesce(doc #> ARRAY['payload', field], 'null'),
                                                        'strict $.** ? (@.type() == "object").keyvalue().key')
                                       AS k (item)
                ) AS x
            LOOP
                IF strpos(value #>> '{}', '@') > 0 OR starts_with(value #>> '{}', 'external:') THEN
                    RETURN jsonb_build_object(
                        'decision', 'require_approval',
                        'reasons', jsonb_build_array(format('External sharing requires approval: %s is %s.',
                                                            field, value #>> '{}')),
                        'approval_type', coalesce(policy.config ->> 'approval_type', 'data_owner'));
                END IF;
            END LOOP;
        END LOOP;
        RETURN '{"decision": "allow"}'::jsonb;
    WHEN 'risk' THEN
        IF ct.risk_level = ANY (concord._text_array(coalesce(policy.config -> 'levels', '["high", "critical"]'))) THEN
            RETURN jsonb_build_object(
                'decision', 'require_approval',
                'reasons', jsonb_build_array(format('command type %s is %s risk', ct.command_type, ct.risk_level)),
                'approval_type', coalesce(ct.approval_type, policy.config ->> 'approval_type', 'standard'));
        END IF;
        RETURN '{"decision": "allow"}'::jsonb;
    WHEN 'cost' THEN
        IF ct.cost_budget IS NULL THEN
            RETURN '{"decision": "allow", "reasons": ["the command type has no cost budget"]}'::jsonb;
        END IF;
        estimate := coalesce(nullif(doc #> '{payload,estimated_cost}', 'null'::jsonb),
                             doc #> '{context,estimated_cost}');
        IF estimate IS NULL OR jsonb_typeof(estimate) = 'null' THEN
            RETURN jsonb_build_object(
                'decision', 'require_input',
                'reasons', jsonb_build_array(format('command type %s has a budget of %s: an estimated_cost is needed',
                                                    ct.command_type, ct.cost_budget)),
                'missing_fields', '["estimated_cost"]'::jsonb);
        END IF;
        IF jsonb_typeof(estimate) <> 'number' THEN
            RETURN jsonb_build_object(
                'decision', 'deny',
                'reasons', jsonb_build_array(format('estimated_cost must be a number, not %s', estimate)));
        END IF;
        IF (estimate #>> '{}')::numeric > ct.cost_budget THEN
            RETURN jsonb_build_object(
                'decision', ct.over_budget,
                'reasons', jsonb_build_array(format('estimated cost %s is above the budget of %s for %s',
                                                    estimate #>> '{}', ct.cost_budget, ct.command_type)),
                'approval_type', CASE WHEN ct.over_budget = 'require_approval'
                                      THEN coalesce(ct.approval_type, 'standard') END);
        END IF;
        RETURN '{"decision": "allow"}'::jsonb;
    WHEN 'approval_required' THEN
        IF ct.approval_required THEN
            RETURN jsonb_build_object(
                'decision', 'require_approval',
                'reasons', jsonb_build_array(format('command type %s requires approval', ct.command_type)),
                'approval_type', coalesce(ct.approval_type, 'standard'));
        END IF;
        RETURN '{"decision": "allow"}'::jsonb;
    WHEN 'spawn_scope' THEN
        -- spec 59.3: the parent's scopes, the swarm's limits and roles
        estimate := concord._spawn_problems(doc -> 'payload');
        IF jsonb_array_length(estimate) > 0 THEN
            RETURN jsonb_build_object(
                'decision', 'deny',
                'reasons', (SELECT jsonb_agg(p.item ->> 'reason') FROM jsonb_array_elements(estimate) AS p (item)));
        END IF;
        RETURN '{"decision": "allow"}'::jsonb;
    WHEN 'agent_tool' THEN
        RETURN concord._agent_tool_policy(doc, policy.config);
    WHEN 'memory_write' THEN
        estimate := concord._memory_decision(doc -> 'payload', policy.config);
        IF estimate ->> 'decision' = 'require_approval' THEN
            RETURN jsonb_build_object(
                'decision', 'require_approval', 'reasons', estimate -> 'reasons',
                'approval_type', coalesce(policy.config ->> 'approval_type', 'standard'));
        END IF;
        RETURN '{"decision": "allow"}'::jsonb;
    ELSE
        RETURN jsonb_build_object(
            'decision', 'deny', 'reasons', jsonb_build_array(format('unknown built-in policy %s', policy.name)));
    END CASE;
END
$$;

-- Runs one policy over the document; never raises for the policy's sake: a
-- policy that fails or answers nonsense denies (fail closed).
CREATE OR REPLACE FUNCTION concord._run_policy(
    policy concord.policies, doc jsonb, ct concord.command_types
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    holds boolean;
    answer jsonb;
    decision text;
BEGIN
    IF policy.kind = 'builtin' THEN
        RETURN concord._builtin_policy(policy, doc, ct);
    ELSIF policy.kind = 'declarative' THEN
        -- silent: missing fields and type mismatches give NULL, not errors;
        -- registration proved every variable is bound.
        holds := jsonb_path_match(doc, policy.predicate, policy.vars, true);
        IF holds IS NULL THEN
            decision := coalesce(policy.on_unknown, policy.decision);
            RETURN jsonb_build_object(
                'decision', decision,
                'reasons', jsonb_build_array(format('predicate %s could not be decided for this command', policy.predicate)),
                'approval_type', CASE WHEN decision = 'require_approval'
                                      THEN coalesce(policy.approval_type, 'standard') END,
                'missing_fields', CASE WHEN decision = 'require_input' THEN to_jsonb(policy.missing_fields)
                                       ELSE '[]'::jsonb END);
        ELSIF holds THEN
            RETURN jsonb_build_object(
                'decision', policy.decision,
                'reasons', CASE WHEN cardinality(policy.reasons) > 0 THEN to_jsonb(policy.reasons)
                                ELSE jsonb_build_array(format('%s holds', policy.predicate)) END,
                'approval_type', policy.approval_type,
                'missing_fields', to_jsonb(policy.missing_fields));
        END IF;
        RETURN '{"decision": "allow"}'::jsonb;
    END IF;
    -- executable (checked again: the function may have changed owner since)
    IF to_regprocedure(policy.function_name) IS NULL
       OR NOT concord._policy_function_is_trusted(to_regprocedure(policy.function_name)) THEN
        RETURN jsonb_build_object(
            'decision', 'deny',
            'reasons', jsonb_build_array(format('policy function %s is missing or no longer trusted to run '
                                                'with Concord''s rights', policy.function_name)));
    END IF;
    BEGIN
        EXECUTE format('SELECT %s($1, $2)', policy.function_name::regprocedure::regproc)
        INTO answer USING doc, doc -> 'context';
    EXCEPTION WHEN OTHERS THEN
        RETURN jsonb_build_object(
            'decision', 'deny',
            'reasons', jsonb_build_array(format('policy function %s failed: %s', policy.function_name, SQLERRM)));
    END;
    IF jsonb_typeof(answer) IS DISTINCT FROM 'object'
       OR NOT answer ->> 'decision' IN ('allow', 'deny', 'require_input', 'require_approval')
       OR (answer ? 'reasons' AND NOT concord._is_string_list(answer -> 'reasons') AND answer -> 'reasons' <> '[]')
       OR (answer ? 'missing_fields' AND NOT concord._is_string_list(answer -> 'missing_fields')
           AND answer -> 'missing_fields' <> '[]')
       OR (answer ->> 'decision' = 'require_input'
           AND coalesce(jsonb_array_length(CASE jsonb_typeof(answer -> 'missing_fields')
                                           WHEN 'array' THEN answer -> 'missing_fields' END), 0) = 0)
       OR (answer ->> 'decision' = 'require_approval'
           AND NOT EXISTS (SELECT 1 FROM concord.approval_types AS t
                           WHERE t.name = coalesce(answer ->> 'approval_type', 'standard'))) THEN
        RETURN jsonb_build_object(
            'decision', 'deny',
            'reasons', jsonb_build_array(format(
                'policy function %s answered %s; expected {"decision": allow|deny|require_input|require_approval, '
                '"reasons": [...], "approval_type": a registered type, "missing_fields": [...]}',
                policy.function_name, left(coalesce(answer::text, 'NULL'), 200))));
    END IF;
    RETURN jsonb_build_object(
        -- the decision names the code that made it, not only the spec
        'checksum', (SELECT md5(policy.checksum || ':' || p.proowner::regrole::text || ':' || p.prosecdef::text
                                || ':' || p.prosrc)
                     FROM pg_catalog.pg_proc AS p WHERE p.oid = to_regprocedure(policy.function_name)),
        'decision', answer ->> 'decision',
        'reasons', CASE WHEN answer ->> 'decision' <> 'allow'
                             AND coalesce(jsonb_array_length(answer -> 'reasons'), 0) = 0
                        THEN jsonb_build_array(format('policy %s: %s', policy.name, answer ->> 'decision'))
                        ELSE coalesce(answer -> 'reasons', '[]') END,
        'approval_type', CASE WHEN answer ->> 'decision' = 'require_approval'
                              THEN coalesce(answer ->> 'approval_type', 'standard') END,
        'missing_fields', coalesce(answer -> 'missing_fields', '[]'));
END
$$;

-- The document every policy sees (spec 21): the command and its context.
CREATE OR REPLACE FUNCTION concord._policy_document(c concord.commands, ct concord.command_types)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'command_id', c.command_id,
        'command_type', c.command_type,
        'payload', c.payload,
        'requested_by', c.requested_by,
        'ingress', c.ingress,
        'risk_level', ct.risk_level,
        'context', c.context);
END
$$;

-- The payload field an approval type reads its approver from (its path
-- inside the payload, array steps and filters left out), or NULL when it
-- does not read the payload.
CREATE OR REPLACE FUNCTION concord._approver_field(t concord.approval_types)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF t.approver_path IS NULL OR NOT t.approver_path::text ~ '^(strict |lax )?\$\."payload"\.' THEN
        RETURN NULL;
    END IF;
    RETURN regexp_replace(regexp_replace(regexp_replace(
        t.approver_path::text, '^(strict |lax )?\$\."payload"\.', ''), '\[[^]]*\]|[[:space:]]*\?.*$', '', 'g'),
        '"', '', 'g');
END
$$;

-- Who may decide an approval of type t for the command described by doc:
-- {approvers: [...], team: ...}, or NULL when a path finds nobody.
CREATE OR REPLACE FUNCTION concord._resolve_approvers(t concord.approval_types, doc jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    people text[];
BEGIN
    IF t.approver_principals IS NOT NULL THEN
        RETURN jsonb_build_object('approvers', to_jsonb(t.approver_principals), 'team', null);
    ELSIF t.approver_team IS NOT NULL THEN
        RETURN jsonb_build_object('approvers', '[]'::jsonb, 'team', t.approver_team);
    END IF;
    -- every item the path finds ($.payload.approvers[*] finds several), and
    -- the strings of an array it finds
    people := ARRAY(
        SELECT DISTINCT btrim(v.item #>> '{}')
        FROM jsonb_path_query(doc, t.approver_path, '{}', true) AS f (found)
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE jsonb_typeof(f.found) WHEN 'array' THEN f.found ELSE jsonb_build_array(f.found) END) AS v (item)
        WHERE jsonb_typeof(v.item) = 'string' AND btrim(v.item #>> '{}') <> ''
        ORDER BY 1);
    IF cardinality(people) = 0 THEN
        RETURN NULL;
    END IF;
    RETURN jsonb_build_object('approvers', to_jsonb(people), 'team', null);
END
$$;

-- Evaluates every policy of command c (spec 21) and combines the decisions:
-- deny > require_input > require_approval > allow. Reads, never writes.
-- Returns NULL when the type has no policies, else
-- {evaluation_id, decision, reasons, missing_fields, approval_types,
--  approvers: {type: {approvers, team}}, policies: [...], inputs_digest}.
-- One pass over the policies: this runs inside every governed submit.
CREATE OR REPLACE FUNCTION concord._evaluate(c concord.commands, ct concord.command_types)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    names text[] := concord._effective_policies(ct);
    doc jsonb;
    outcome jsonb;
    results jsonb[] := '{}'::jsonb[];
    best integer := 0;
    decision text;
    reasons jsonb := '[]'::jsonb;
    missing jsonb := '[]'::jsonb;
    approval_names text[] := '{}'::text[];
    approvers jsonb := '{}'::jsonb;
    t concord.approval_types%ROWTYPE;
    who jsonb;
    lacking text[];
    unapprovable text[] := '{}'::text[];
BEGIN
    IF cardinality(names) = 0 THEN
        RETURN NULL;
    END IF;
    doc := concord._policy_document(c, ct);
    -- Every policy in one statement (the answers laid over defaults), the
    -- strongest decision with them.
    SELECT coalesce(array_agg(o.result ORDER BY o.position), '{}'::jsonb[]), coalesce(max(o.rank), 0)
    INTO results, best
    FROM (
        SELECT
            n.position,
            jsonb_build_object('policy', p.name, 'version', p.version, 'checksum', p.checksum)
            || x.outcome AS result,
            CASE x.outcome ->> 'decision' WHEN 'deny' THEN 3 WHEN 'require_input' THEN 2
                                         WHEN 'require_approval' THEN 1 ELSE 0 END AS rank
        FROM unnest(names) WITH ORDINALITY AS n (name, position)
        INNER JOIN concord.policies AS p ON p.name = n.name
        CROSS JOIN LATERAL (
            SELECT '{"reasons": [], "approval_type": null, "missing_fields": []}'::jsonb
                   || concord._run_policy(p, doc, ct) AS outcome
        ) AS x
    ) AS o;
    decision := (ARRAY['allow', 'require_approval', 'require_input', 'deny'])[best + 1];
    -- What the policies with the strongest decision said (nothing to gather
    -- when every policy allows).
    IF best > 0 THEN
        FOREACH outcome IN ARRAY results LOOP
            IF outcome ->> 'decision' = decision THEN
                reasons := reasons || (outcome -> 'reasons');
                missing := missing || (outcome -> 'missing_fields');
                IF outcome ->> 'approval_type' IS NOT NULL
                   AND NOT outcome ->> 'approval_type' = ANY (approval_names) THEN
                    approval_names := approval_names || (outcome ->> 'approval_type');
                END IF;
            END IF;
        END LOOP;
    END IF;
    IF cardinality(results) < cardinality(names) THEN
        -- A name with no policy row (a type written with triggers off, or
        -- named before 0002 in a way no placeholder could take): deny.
        IF best < 3 THEN
            reasons := '[]'::jsonb;
            missing := '[]'::jsonb;
            approval_names := '{}'::text[];
        END IF;
        decision := 'deny';
        reasons := reasons || to_jsonb(format('command type %s names policies that are not registered: %s',
            ct.command_type, (SELECT string_agg(n.name, ', ') FROM unnest(names) AS n (name)
                              WHERE NOT EXISTS (SELECT 1 FROM concord.policies AS p WHERE p.name = n.name))));
    END IF;

    -- Spec 81.2: an approval is asked only with everything its type needs.
    IF decision = 'require_approval' THEN
        lacking := '{}'::text[];
        FOR t IN SELECT x.* FROM concord.approval_types AS x WHERE x.name = ANY (approval_names) ORDER BY x.name LOOP
            lacking := lacking || concord._missing_fields(c.payload, t.required_fields);
            who := concord._resolve_approvers(t, doc);
            IF who IS NULL AND concord._approver_field(t) IS NOT NULL THEN
                -- the requester can name the approver: ask for that field
                lacking := lacking || concord._approver_field(t);
                reasons := reasons || to_jsonb(format('approval type %s finds its approver at %s, which is empty',
                                                      t.name, t.approver_path));
            ELSIF who IS NULL THEN
                -- the context cannot change after submission: nobody ever could
                unapprovable := unapprovable || format(
                    'approval type %s finds its approver at %s, which is empty', t.name, t.approver_path);
            ELSIF who ->> 'team' IS NULL AND NOT EXISTS (
                      SELECT 1 FROM jsonb_array_elements_text(who -> 'approvers') AS a (p)
                      WHERE a.p <> c.requested_by) THEN
                -- Only the requester could decide, and nobody approves their
                -- own command.
                unapprovable := unapprovable || format(
                    'nobody but the requester %s may approve it (approval type %s), and nobody approves their '
                    'own command', c.requested_by, t.name);
            ELSE
                approvers := approvers || jsonb_build_object(t.name, who);
            END IF;
        END LOOP;
        IF cardinality(unapprovable) > 0 THEN
            -- it could never be approved: say so now rather than wait forever
            decision := 'deny';
            reasons := to_jsonb(unapprovable);
            lacking := '{}'::text[];
            approvers := '{}'::jsonb;
            approval_names := '{}'::text[];
        END IF;
        IF cardinality(lacking) > 0 THEN
            decision := 'require_input';
            reasons := reasons || to_jsonb(format('the approval needs: %s', array_to_string(
                ARRAY(SELECT DISTINCT l.f FROM unnest(lacking) AS l (f) ORDER BY 1), ', ')));
            missing := to_jsonb(lacking);
            approvers := '{}'::jsonb;
            approval_names := '{}'::text[];
        END IF;
    END IF;
    IF decision = 'require_input' AND best = 2 THEN
        -- Ask once for everything: the fields the approvals still to come
        -- will need too (spec 81.2), not in a second round.
        missing := missing || coalesce((
            SELECT jsonb_agg(f.field)
            FROM concord.approval_types AS x
            CROSS JOIN LATERAL unnest(
                concord._missing_fields(c.payload, x.required_fields)
                || CASE WHEN concord._approver_field(x) IS NOT NULL AND concord._resolve_approvers(x, doc) IS NULL
                        THEN ARRAY[concord._approver_field(x)] ELSE '{}'::text[] END) AS f (field)
            WHERE x.name IN (SELECT r.result ->> 'approval_type' FROM unnest(results) AS r (result)
                             WHERE r.result ->> 'decision' = 'require_approval')), '[]'::jsonb);
    END IF;
    IF decision = 'require_input' THEN
        missing := to_jsonb(ARRAY(SELECT DISTINCT m.f FROM jsonb_array_elements_text(missing) AS m (f) ORDER BY 1));
    END IF;

    RETURN jsonb_build_object(
        'evaluation_id', gen_random_uuid(),
        'decision', decision,
        'reasons', reasons,
        'missing_fields', missing,
        'approval_types', to_jsonb(approval_names),
        'approvers', approvers,
        'policies', to_jsonb(results),
        'inputs_digest', md5(doc::text));
END
$$;
