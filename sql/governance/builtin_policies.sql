-- The built-in policies and the facts they read of a command.

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
        -- grants and teams of the command's organisation only
        IF EXISTS (SELECT 1 FROM concord.command_type_grants AS g
                   WHERE g.org_id = (SELECT p.org_id FROM concord.projects AS p
                                     WHERE p.project_id = (doc ->> 'project_id')::uuid)
                     AND g.command_type = ct.command_type
                     AND (g.principal = doc ->> 'requested_by'
                          OR g.principal IN (SELECT m.team FROM concord.team_members AS m
                                             WHERE m.org_id = g.org_id
                                               AND m.principal = doc ->> 'requested_by'))) THEN
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
    WHEN 'registry_high_risk' THEN
        -- the kernel writes approval_required into a publication's payload
        -- from the version itself (sql/registry/api.sql); spec 111.3
        IF (doc #>> '{payload,approval_required}') = 'true' THEN
            RETURN jsonb_build_object(
                'decision', 'require_approval',
                'reasons', jsonb_build_array(format(
                    'registry version %s %s %s needs an owner''s approval before it is published (risk %s; '
                    'high-risk changes: %s)', doc #>> '{payload,entity_type}', doc #>> '{payload,name}',
                    doc #>> '{payload,version}', doc #>> '{payload,risk_level}',
                    coalesce(nullif(doc #>> '{payload,high_risk_changes}', '[]'), 'none'))),
                'approval_type', 'concord.registry_high_risk_change');
        END IF;
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
