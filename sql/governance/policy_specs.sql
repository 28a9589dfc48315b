-- The policy catalog (spec 21): built-in, declarative (SQL/JSON path
-- predicates) and executable (SQL functions) policies, and their registration.

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
        allowed := ARRAY['name', 'description', 'function', 'kind', 'organisation', 'project', 'command_types'];
        kind := 'executable';
    ELSE
        allowed := ARRAY['name', 'description', 'predicate', 'vars', 'decision', 'reasons',
                         'approval_type', 'missing_fields', 'on_unknown', 'kind', 'organisation', 'project',
                         'command_types'];
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
        ELSIF field IN ('organisation', 'project') AND (jsonb_typeof(value) <> 'string' OR btrim(value #>> '{}') = '') THEN
            problems := problems || format('%s must name one (a string), not %s', field, value);
        ELSIF field = 'command_types' AND NOT (value = '[]' OR concord._is_string_list(value)) THEN
            problems := problems || 'command_types must be an array of distinct command type names'::text;
        ELSIF field = 'command_types' AND EXISTS (
            SELECT 1 FROM jsonb_array_elements_text(value) AS t (name)
            WHERE NOT EXISTS (SELECT 1 FROM concord.command_types AS ct WHERE ct.command_type = t.name)) THEN
            problems := problems || format('command_types names unregistered command types: %s',
                (SELECT string_agg(t.name, ', ') FROM jsonb_array_elements_text(value) AS t (name)
                 WHERE NOT EXISTS (SELECT 1 FROM concord.command_types AS ct WHERE ct.command_type = t.name)));
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
                        'function %s(command jsonb, context jsonb) does not exist, or role concord_owner (who '
                        'runs policies) may not use its schema: an executable policy is a function of exactly '
                        'two jsonb arguments; GRANT USAGE ON SCHEMA and EXECUTE ON FUNCTION to concord_owner',
                        value #>> '{}');
                ELSIF NOT has_function_privilege('concord_owner', fn, 'EXECUTE') THEN
                    problems := problems || format(
                        'role concord_owner (who runs policies) may not execute %s: GRANT EXECUTE ON FUNCTION '
                        '%s TO concord_owner', fn, fn);
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
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
SET "concord.catalog_projection" = ''
AS $$
#variable_conflict use_variable
DECLARE
    problems text[];
    existing concord.policies%ROWTYPE;
    wanted concord.policies%ROWTYPE;
    known boolean;
    policy_name text;
    target_org uuid;
    target_project uuid;
BEGIN
    spec := concord._policy_spec_normalized(spec);
    problems := concord._policy_spec_problems(spec);
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'policy_spec_is_valid',
            MESSAGE = format('invalid policy spec: %s problem(s)', cardinality(problems)),
            DETAIL = '- ' || array_to_string(problems, E'\n- '),
            HINT = 'Fix every listed problem and register again.';
    END IF;
    -- kind was checked against the spec's shape: it adds nothing to keep
    spec := spec - 'kind';
    policy_name := spec ->> 'name';
    SELECT * INTO existing FROM concord.policies AS p WHERE p.name = policy_name FOR UPDATE;
    known := FOUND;
    -- Where it applies, and who may keep it there: an organisation's admins
    -- their own policies (by default in the chosen project's organisation),
    -- the operators the shared ones and the built-ins.
    -- (a project of another organisation than the one named: the trigger's
    -- a_policy_project_is_in_its_organisation)
    IF spec ? 'project' THEN
        target_project := concord._project(spec ->> 'project');
        target_org := (SELECT x.org_id FROM concord.projects AS x WHERE x.project_id = target_project);
    END IF;
    IF spec ? 'organisation' THEN
        target_org := concord._organisation(spec ->> 'organisation');
    ELSIF target_org IS NULL AND NOT concord._is_operator() AND NOT (known AND existing.kind = 'builtin') THEN
        target_org := concord._chosen_org();
    END IF;
    IF target_org IS NULL THEN
        PERFORM concord._require_catalog_operator('policies');
        -- a shared registration never takes an organisation's policy over
        IF known AND existing.org_id IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN012',
                CONSTRAINT = 'a_policy_is_changed_by_its_organisation',
                MESSAGE = format('policy %s belongs to one organisation: a shared registration cannot take it over',
                                 policy_name),
                HINT = 'Name its organisation (or project) to change it there, or register the shared policy '
                       'under another name.';
        END IF;
    ELSIF NOT concord._is_operator() THEN
        PERFORM concord._require_org_admin(target_org);
        IF known AND existing.org_id IS DISTINCT FROM target_org THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN012',
                CONSTRAINT = 'a_policy_is_changed_by_its_organisation',
                MESSAGE = format('policy %s belongs to %s: it cannot be changed or moved from here', policy_name,
                                 CASE WHEN existing.org_id IS NULL THEN 'every organisation'
                                      ELSE 'another organisation' END),
                HINT = 'Register your own policy under a new name (prefix it with your organisation).';
        END IF;
    END IF;
    IF known AND existing.kind = 'builtin' THEN
        wanted := existing;
        wanted.description := coalesce(spec ->> 'description', existing.description);
        wanted.config := coalesce(spec -> 'config', existing.config);
    ELSE
        wanted.name := policy_name;
        wanted.kind := CASE WHEN spec ? 'function' THEN 'executable' ELSE 'declarative' END;
        wanted.description := coalesce(spec ->> 'description', '');
        wanted.predicate := (spec ->> 'predicate')::jsonpath;
        wanted.vars := coalesce(spec -> 'vars', '{}');
        wanted.decision := spec ->> 'decision';
        wanted.on_unknown := spec ->> 'on_unknown';
        wanted.reasons := concord._text_array(spec -> 'reasons');
        wanted.approval_type := spec ->> 'approval_type';
        wanted.missing_fields := concord._text_array(spec -> 'missing_fields');
        wanted.function_name := to_regprocedure((spec ->> 'function') || '(jsonb, jsonb)')::text;
        wanted.org_id := target_org;
        wanted.project_id := target_project;
        wanted.command_types := concord._text_array(spec -> 'command_types');
    END IF;
    -- The same rule and description again changes nothing (the columns, not
    -- the stored spec, are compared).
    IF known AND existing.kind = wanted.kind AND existing.description = wanted.description
       AND concord._policy_rule(existing) = concord._policy_rule(wanted) THEN
        RETURN policy_name;
    END IF;
    wanted.spec := spec;
    -- checked before its registry command is recorded in the organisation
    IF wanted.project_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM concord.projects AS x WHERE x.project_id = wanted.project_id AND x.org_id = wanted.org_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_policy_project_is_in_its_organisation',
            TABLE = 'policies',
            MESSAGE = format('policy %s: its project is not one of its organisation''s', policy_name);
    END IF;
    -- A shorthand of the registry: a changed rule or description is the next
    -- version of the policy's entity (its organisation's, or a platform
    -- one), bound globally; the row is its projection, spec and checksum
    -- following from the columns (the before-write trigger).
    PERFORM concord._registry_shorthand('policy', policy_name, concord._policy_manifest(wanted), wanted.org_id,
                                        concord._actor());
    RETURN policy_name;
END
$$;

COMMENT ON FUNCTION concord.register_policy(jsonb) IS
'Insert or replace a policy: declarative ({name, predicate, vars, decision, reasons, '
'approval_type, missing_fields, on_unknown}) or executable ({name, function}), either with '
'organisation or project (where it applies; an organisation admin''s policy defaults to the '
'chosen project''s organisation) and command_types (types it governs besides those naming it); '
'for a built-in policy only description and config. Shared policies and built-ins are the '
'operators'', an organisation''s policies its admins'' (CN012). Returns the name; CN005 lists '
'every problem of a bad spec. A shorthand of the registry: a changed spec becomes the next '
'version of entity policy (its organisation''s, or a platform one), published and bound globally '
'(the catalog row is its projection); a high-risk change of an organisation''s policy is refused '
'here (CN012) and published through the registry API after an owner''s approval.';
