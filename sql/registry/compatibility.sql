-- Classifying a new registry version against the one before it (spec 110)
-- and naming its high-risk changes (spec 111.3), field by field as
-- sql/registry/change_rules.sql says; and whether a version number matches
-- its change (semver: breaking needs a major bump).

-- A reason: {kind, path, message}, with the high-risk changes it is ("risks",
-- taken out by the classifier).
CREATE OR REPLACE FUNCTION concord._registry_reason(
    kind text, path text, message text, risks text[]
)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT jsonb_build_object('kind', kind, 'path', path, 'message', message, 'risks',
        to_jsonb(coalesce(array_remove(risks, null), '{}')))
$$;

-- The name a member of a set is known by: itself (a string), its name, or
-- its type and target (a relationship).
CREATE OR REPLACE FUNCTION concord._registry_member_key(member jsonb)
RETURNS text
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT CASE jsonb_typeof(member)
        WHEN 'string' THEN member #>> '{}'
        WHEN 'object' THEN coalesce(member ->> 'name',
            nullif(concat_ws(':', member ->> 'type', member ->> 'connector', member ->> 'operation',
                member ->> 'artifact_type', member ->> 'memory_type', member ->> 'agent_role',
                member ->> 'target_type', member ->> 'target_name'), ''), member::text)
        ELSE member::text
    END
$$;

-- A set as {key: member}.
CREATE OR REPLACE FUNCTION concord._registry_members(items jsonb)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT coalesce(jsonb_object_agg(_registry_member_key(m.value), m.value), '{}')
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(items) = 'array' THEN items ELSE '[]' END) AS m (value)
$$;

-- A manifest as the classifier reads it: a command type's legacy flat fields
-- (register_command_type's approval_required, approval_type, policy_checks)
-- folded into the nested form of spec 107.2, so the same contract written
-- either way compares equal.
CREATE OR REPLACE FUNCTION concord._registry_comparable_manifest(entity_type text, manifest jsonb)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT CASE WHEN entity_type <> 'command_type' THEN coalesce(manifest, '{}') ELSE
        jsonb_strip_nulls(
            (coalesce(manifest, '{}') - 'approval_required' - 'approval_type' - 'policy_checks')
            || jsonb_build_object(
                'approval', nullif(coalesce(manifest -> 'approval', '{}') || jsonb_strip_nulls(jsonb_build_object(
                    'required', coalesce(manifest #> '{approval,required}', manifest -> 'approval_required'),
                    'approval_type', coalesce(manifest #> '{approval,approval_type}', manifest -> 'approval_type')
                )), '{}'),
                'policies', nullif(coalesce(manifest -> 'policies', '{}') || jsonb_build_object('required', (
                    SELECT coalesce(jsonb_agg(DISTINCT p.value ORDER BY p.value), '[]')
                    FROM jsonb_array_elements_text(
                        coalesce(manifest #> '{policies,required}', '[]')
                        || coalesce(manifest -> 'policy_checks', '[]')
                    ) AS p (value)
                )), '{"required": []}')
            )
        )
    END
$$;

-- A member of a set (a tool, a capability) that changed in place; relaxing
-- its approval is the high-risk part.
CREATE OR REPLACE FUNCTION concord._registry_member_risks(old_member jsonb, new_member jsonb)
RETURNS text[]
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT array_remove(ARRAY[
        CASE WHEN (old_member ->> 'mode' = 'approval_gated_async'
                   AND new_member ->> 'mode' IS DISTINCT FROM 'approval_gated_async')
                OR (old_member -> 'requires_approval' = 'true'
                    AND new_member -> 'requires_approval' IS DISTINCT FROM 'true')
            THEN 'approval_requirement_removed' END,
        CASE WHEN old_member -> 'side_effect' IS DISTINCT FROM new_member -> 'side_effect'
                AND new_member ->> 'side_effect' IN ('true', 'write', 'external_write')
            THEN 'external_write_added' END,
        CASE WHEN coalesce(new_member -> 'scopes', '[]') - ARRAY(
                SELECT jsonb_array_elements_text(coalesce(old_member -> 'scopes', '[]'))) <> '[]'
            THEN 'connector_scope_expanded' END
    ], null)
$$;

-- What a skill gains with a new capability (spec 107.1): its kind, and its risks.
CREATE OR REPLACE FUNCTION concord._registry_capability_added(capability jsonb)
RETURNS TABLE (kind text, risks text[])
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT
        CASE WHEN capability ->> 'type' IN ('artifact_write', 'artifact_read', 'subagent_spawn')
            THEN 'additive' ELSE 'breaking' END,
        array_remove(ARRAY[
            CASE capability ->> 'type'
                WHEN 'connector_operation' THEN 'connector_scope_expanded'
                WHEN 'memory_write' THEN 'memory_write_added'
                WHEN 'payment' THEN 'payment_operation_added'
                WHEN 'database_mutation' THEN 'database_mutation_added'
                WHEN 'subagent_spawn' THEN 'subagent_spawning_added'
            END,
            CASE WHEN capability ->> 'type' = 'connector_operation' AND capability -> 'side_effect' = 'true'
                THEN 'external_write_added' END
        ], null)
$$;

-- The reasons one field (a rule of _registry_change_rules) changed for.
CREATE OR REPLACE FUNCTION concord._registry_field_change(
    treatment text, on_add text, on_remove text, risk_add text, risk_remove text,
    field text[], old_value jsonb, new_value jsonb
)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    at text := '/' || array_to_string(ARRAY(SELECT _registry_pointer_token(f) FROM unnest(field) AS f), '/');
    what text := array_to_string(field, '.');
    reasons jsonb := '[]'::jsonb;
    old_members jsonb;
    new_members jsonb;
    member text;
    added record;
    finding jsonb;
    levels CONSTANT jsonb := '{"none": 0, "read": 1, "write": 2, "external_write": 3}'::jsonb;
    strictness CONSTANT jsonb := '{"warn": 1, "require_approval": 2, "deny": 3}'::jsonb;
BEGIN
    IF old_value IS NOT DISTINCT FROM new_value OR treatment = 'ignore' THEN
        RETURN reasons;
    ELSIF treatment IN ('doc', 'value') THEN
        RETURN jsonb_build_array(_registry_reason(on_add, at, what || ' changed', NULL));
    ELSIF treatment = 'flag' THEN
        IF coalesce(new_value, 'false') = 'true' AND coalesce(old_value, 'false') <> 'true' THEN
            RETURN jsonb_build_array(_registry_reason(on_add, at, what || ' turned on', ARRAY[risk_add]));
        ELSIF coalesce(old_value, 'false') = 'true' THEN
            RETURN jsonb_build_array(_registry_reason(on_remove, at, what || ' turned off', ARRAY[risk_remove]));
        END IF;
        RETURN jsonb_build_array(_registry_reason('breaking', at, what || ' changed', NULL));
    ELSIF treatment = 'mode' THEN
        RETURN jsonb_build_array(_registry_reason(on_add, at,
            format('%s changed from %s to %s', what, coalesce(old_value, 'null'), coalesce(new_value, 'null')),
            ARRAY[CASE WHEN old_value #>> '{}' = 'approval_gated_async' THEN 'approval_requirement_removed' END]));
    ELSIF treatment = 'side_effect_level' THEN
        RETURN jsonb_build_array(_registry_reason(on_add, at,
            format('%s changed from %s to %s', what, coalesce(old_value, 'null'), coalesce(new_value, 'null')),
            ARRAY[
                CASE WHEN new_value #>> '{}' = 'external_write' THEN 'external_write_added' END,
                CASE WHEN new_value #>> '{}' = 'write'
                        AND coalesce((levels -> (old_value #>> '{}'))::int, 0) < 2
                    THEN 'database_mutation_added' END
            ]));
    ELSIF treatment = 'on_fail' THEN
        RETURN jsonb_build_array(_registry_reason(on_add, at,
            format('%s changed from %s to %s', what, coalesce(old_value, 'null'), coalesce(new_value, 'null')),
            ARRAY[CASE WHEN coalesce((strictness -> (new_value #>> '{}'))::int, 0)
                    < coalesce((strictness -> (old_value #>> '{}'))::int, 0)
                THEN risk_remove END]));
    ELSIF treatment = 'number_up' THEN
        IF jsonb_typeof(old_value) = 'number' AND jsonb_typeof(new_value) = 'number' THEN
            RETURN jsonb_build_array(_registry_reason(
                CASE WHEN (new_value::text)::numeric > (old_value::text)::numeric THEN on_add ELSE on_remove END,
                at, format('%s changed from %s to %s', what, old_value, new_value), NULL));
        END IF;
        RETURN jsonb_build_array(_registry_reason('breaking', at, what || ' changed', NULL));
    ELSIF treatment = 'schema' THEN
        FOR finding IN
            SELECT f.value FROM jsonb_array_elements(registry_json_schema_change(old_value, new_value, on_add)) AS f (value)
        LOOP
            reasons := reasons || jsonb_build_array(_registry_reason(finding ->> 'kind',
                at || CASE WHEN finding ->> 'path' = '/' THEN '' ELSE finding ->> 'path' END,
                what || ': ' || (finding ->> 'message'),
                ARRAY[CASE WHEN finding ->> 'kind' = 'breaking' THEN risk_add END]));
        END LOOP;
        RETURN reasons;
    END IF;

    -- the sets: set, capabilities, operations
    old_members := _registry_members(old_value);
    new_members := _registry_members(new_value);
    FOR member IN SELECT k.key FROM jsonb_object_keys(old_members || new_members) AS k (key) ORDER BY 1 LOOP
        IF NOT old_members ? member THEN
            IF treatment = 'capabilities' THEN
                SELECT c.kind, c.risks INTO added FROM _registry_capability_added(new_members -> member) AS c;
                reasons := reasons || jsonb_build_array(_registry_reason(added.kind, at,
                    format('%s: %s added', what, member), added.risks));
            ELSIF treatment = 'operations' THEN
                reasons := reasons || jsonb_build_array(_registry_reason('breaking', at,
                    format('%s: %s added (connector scope expanded)', what, member),
                    ARRAY['connector_scope_expanded', CASE WHEN new_members #>> ARRAY[member, 'side_effect'] = 'write'
                        THEN 'external_write_added' END]));
            ELSE
                reasons := reasons || jsonb_build_array(_registry_reason(on_add, at,
                    format('%s: %s added', what, member), ARRAY[risk_add]));
            END IF;
        ELSIF NOT new_members ? member THEN
            reasons := reasons || jsonb_build_array(_registry_reason(
                CASE WHEN treatment = 'set' THEN on_remove ELSE 'breaking' END, at,
                format('%s: %s removed', what, member), ARRAY[CASE WHEN treatment = 'set' THEN risk_remove END]));
        ELSIF old_members -> member <> new_members -> member THEN
            IF treatment = 'operations' THEN
                reasons := reasons || _registry_field_change('schema', 'input', NULL, NULL, NULL,
                    field || ARRAY[member, 'input_schema'],
                    old_members #> ARRAY[member, 'input_schema'], new_members #> ARRAY[member, 'input_schema']);
                IF (old_members -> member) - 'input_schema' = (new_members -> member) - 'input_schema' THEN
                    CONTINUE;
                END IF;
            END IF;
            reasons := reasons || jsonb_build_array(_registry_reason('breaking', at,
                format('%s: %s changed', what, member),
                _registry_member_risks(old_members -> member, new_members -> member)));
        END IF;
    END LOOP;
    RETURN reasons;
END
$$;

-- What changed that no rule names: breaking, since nothing says it is safe.
-- An empty object counts as absent (rules take fields out of their parents).
CREATE OR REPLACE FUNCTION concord._registry_unclassified_change(
    old_value jsonb, new_value jsonb, path text
)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    reasons jsonb := '[]'::jsonb;
    key text;
BEGIN
    IF nullif(old_value, '{}') IS NOT DISTINCT FROM nullif(new_value, '{}') THEN
        RETURN reasons;
    ELSIF jsonb_typeof(old_value) = 'object' AND jsonb_typeof(new_value) = 'object' THEN
        FOR key IN SELECT k.key FROM jsonb_object_keys(old_value || new_value) AS k (key) ORDER BY 1 LOOP
            reasons := reasons || _registry_unclassified_change(
                old_value -> key, new_value -> key, path || '/' || _registry_pointer_token(key));
        END LOOP;
        RETURN reasons;
    END IF;
    RETURN jsonb_build_array(_registry_reason('breaking', path,
        format('%s changed, and Concord cannot classify it, so it counts as breaking',
            ltrim(replace(path, '/', '.'), '.')), NULL));
END
$$;

CREATE OR REPLACE FUNCTION concord.registry_classify_change(
    entity_type text, old_manifest jsonb, new_manifest jsonb
)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    old_m jsonb := _registry_comparable_manifest(entity_type, coalesce(old_manifest, '{}'));
    new_m jsonb := _registry_comparable_manifest(entity_type, new_manifest);
    rest_old jsonb := old_m;
    rest_new jsonb := new_m;
    reasons jsonb := '[]'::jsonb;
    rule record;
BEGIN
    FOR rule IN SELECT r.* FROM _registry_change_rules(entity_type) AS r LOOP
        reasons := reasons || _registry_field_change(rule.treatment, rule.on_add, rule.on_remove,
            rule.risk_add, rule.risk_remove, rule.path, old_m #> rule.path, new_m #> rule.path);
        rest_old := rest_old #- rule.path;
        rest_new := rest_new #- rule.path;
    END LOOP;
    reasons := reasons || _registry_unclassified_change(rest_old, rest_new, '');
    RETURN jsonb_build_object(
        'change_class', CASE
            WHEN old_manifest IS NULL THEN 'initial'
            WHEN reasons @> '[{"kind": "breaking"}]' THEN 'breaking'
            WHEN reasons @> '[{"kind": "additive"}]' THEN 'additive'
            ELSE 'doc'
        END,
        'reasons', CASE WHEN old_manifest IS NULL THEN '[]'::jsonb ELSE coalesce((
            SELECT jsonb_agg(r.value - 'risks' ORDER BY r.value ->> 'path', r.value ->> 'message')
            FROM jsonb_array_elements(reasons) AS r (value)
        ), '[]') END,
        'high_risk_changes', coalesce((
            SELECT jsonb_agg(DISTINCT k.value ORDER BY k.value)
            FROM jsonb_array_elements(reasons) AS r (value),
                jsonb_array_elements_text(r.value -> 'risks') AS k (value)
        ), '[]')
    );
END
$$;

COMMENT ON FUNCTION concord.registry_classify_change(text, jsonb, jsonb) IS
'How a registry version changes its contract from the version before it (spec 110, 111.3): '
'{change_class: initial (no old manifest) | doc | additive | breaking, '
'reasons: [{kind, path, message}], high_risk_changes: [external_write_added, '
'memory_write_added, payment_operation_added, database_mutation_added, '
'subagent_spawning_added, connector_scope_expanded, approval_requirement_removed, '
'artifact_schema_changed_incompatibly, policy_weakened]}. Field by field per entity type: '
'schemas structurally, capabilities, scopes, approval, side effects; version is ignored; a '
'field it cannot classify that changed is breaking. For a first version, high_risk_changes '
'lists what it introduces.';

-- Why proposed_version does not fit a change of change_class after
-- previous_version (semver.org): breaking needs a major bump, additive at least
-- a minor one, doc at least a patch; and it must be above the previous. Under
-- 1.0.0 the API is not stable (semver item 4), so a minor bump of a 0.x
-- version counts as major, as Cargo and npm's caret read it.
CREATE OR REPLACE FUNCTION concord._registry_version_bump_problems(
    previous_version text, proposed_version text, change_class text
)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    previous semver.semver;
    proposed semver.semver;
    bump text;
BEGIN
    IF previous_version IS NULL THEN
        RETURN '{}'::text[];
    ELSIF NOT coalesce(semver.is_semver(proposed_version), false) THEN
        RETURN ARRAY[format('version %s is not a semantic version (MAJOR.MINOR.PATCH)', proposed_version)];
    ELSIF NOT coalesce(semver.is_semver(previous_version), false) THEN
        RETURN ARRAY[format('previous version %s is not a semantic version', previous_version)];
    END IF;
    previous := semver.to_semver(previous_version);
    proposed := semver.to_semver(proposed_version);
    IF proposed OPERATOR(semver.<=) previous THEN
        RETURN ARRAY[format('version %s is not above the latest version %s', proposed_version, previous_version)];
    END IF;
    bump := CASE
        WHEN semver.get_semver_major(proposed) > semver.get_semver_major(previous) THEN 'major'
        WHEN semver.get_semver_minor(proposed) > semver.get_semver_minor(previous)
            THEN CASE WHEN semver.get_semver_major(previous) = 0 THEN 'major' ELSE 'minor' END
        ELSE 'patch'
    END;
    IF change_class = 'breaking' AND bump <> 'major' THEN
        RETURN ARRAY[format('a breaking change needs a major version bump: %s -> %s is a %s bump%s',
            previous_version, proposed_version, bump,
            CASE WHEN semver.get_semver_major(previous) = 0
                THEN ' (under 1.0.0 a minor bump counts as major)' ELSE '' END)];
    ELSIF change_class = 'additive' AND bump = 'patch' THEN
        RETURN ARRAY[format('an additive change needs at least a minor version bump: %s -> %s is a patch bump',
            previous_version, proposed_version)];
    END IF;
    RETURN '{}'::text[];
END
$$;
