-- Approval types (spec 107.3): what an approval asks, of whom, for how long.

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

CREATE OR REPLACE FUNCTION concord.register_approval_type(spec jsonb)
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
    wanted concord.approval_types%ROWTYPE;
    approver jsonb;
BEGIN
    PERFORM concord._require_catalog_operator('approval types');
    -- "approvers": [...] is short for "approver": {"principals": [...]}
    IF jsonb_typeof(spec) = 'object' AND jsonb_typeof(spec -> 'approvers') = 'array' AND NOT spec ? 'approver' THEN
        spec := (spec - 'approvers') || jsonb_build_object('approver', jsonb_build_object('principals', spec -> 'approvers'));
    END IF;
    problems := concord._approval_type_spec_problems(spec);
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'approval_type_spec_is_valid',
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

    -- a shorthand of the registry: a changed spec is the next version, bound
    -- globally; the row is its projection, its version column the version's
    PERFORM concord._registry_shorthand('approval_type', wanted.name, concord._approval_type_manifest(wanted),
                                        NULL, concord._actor());
    RETURN wanted.name;
END
$$;

COMMENT ON FUNCTION concord.register_approval_type(jsonb) IS
'Register an approval type from a spec 107.3 document (name, required_fields, '
'decision_values, expiration.default_minutes, approver, resume, risk_level); returns its name. '
'Pending approvals keep the approvers they were given. A shorthand of the registry: a changed '
'spec becomes the next version of platform entity approval_type, published and bound globally '
'(the catalog row is its projection; its version column is the registry version; a version '
'field of the spec is not used). An identical spec changes nothing.';
