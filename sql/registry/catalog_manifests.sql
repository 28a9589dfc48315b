-- The legacy catalogs (command_types, policies, approval_types, tools,
-- connectors) and registry manifests, both ways (issue 14 section 3). A
-- catalog row is the projection of its entity's globally bound version
-- (sql/registry/catalog_projection.sql); a register_* shorthand and the
-- adoption of an old row write the manifest the row maps to, so the same row
-- always gives the same manifest and checksum. The legacy fields sit flat in
-- the manifest (each type's JSON Schema accepts them); the fields of spec
-- 107 (execution.mode, policies.required, approval.required, ...) are read
-- too, so a version written through the registry API projects as well.

-- value without its top-level nulls (jsonb_strip_nulls would also strip
-- them inside payload schemas and metadata).
CREATE OR REPLACE FUNCTION concord._registry_without_nulls(value jsonb)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
    FROM jsonb_each(value) AS e (key, value)
    WHERE jsonb_typeof(e.value) <> 'null'
$$;

-- The names a reference list holds: strings, or objects' name.
CREATE OR REPLACE FUNCTION concord._registry_ref_names(value jsonb)
RETURNS text[]
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT coalesce(array_agg(DISTINCT coalesce(r.item ->> 'name', r.item #>> '{}')), '{}')
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(value) = 'array' THEN value ELSE '[]' END) AS r (item)
    WHERE jsonb_typeof(r.item) IN ('string', 'object') AND coalesce(r.item ->> 'name', r.item #>> '{}') IS NOT NULL
$$;

-- A command_types row as a manifest (without its version).
CREATE OR REPLACE FUNCTION concord._command_type_manifest(ct concord.command_types)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT concord._registry_without_nulls(jsonb_build_object(
        'name', ct.command_type, 'display_name', ct.name, 'description', ct.description,
        'risk_level', ct.risk_level, 'metadata', ct.metadata, 'function_name', ct.function_name,
        'ingress_types', to_jsonb(ct.ingress_types), 'required_inputs', to_jsonb(ct.required_inputs),
        'payload_schema', ct.payload_schema, 'sync_allowed', ct.sync_allowed,
        'async_required', ct.async_required, 'approval_required', ct.approval_required,
        'approval_type', ct.approval_type, 'memory_write_possible', ct.memory_write_possible,
        'artifact_output_possible', ct.artifact_output_possible,
        'notification_required', ct.notification_required, 'policy_checks', to_jsonb(ct.policy_checks),
        'connector_requirements', to_jsonb(ct.connector_requirements), 'max_attempts', ct.max_attempts,
        'default_cancellation_mode', ct.default_cancellation_mode, 'cost_budget', ct.cost_budget,
        'over_budget', ct.over_budget))
$$;

-- The command_types row a command type manifest stands for: the legacy
-- fields, else their spec 107.2 equivalents, else the catalog's defaults.
-- Runs on every submission (the contract a command is judged under): plain
-- expressions, no query.
CREATE OR REPLACE FUNCTION concord._command_type_row(manifest jsonb, version text DEFAULT NULL)
RETURNS concord.command_types
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    ct concord.command_types;
    mode text := manifest #>> '{execution,mode}';
BEGIN
    ct.command_type := manifest ->> 'name';
    ct.name := coalesce(manifest ->> 'display_name', manifest ->> 'name');
    ct.description := coalesce(manifest ->> 'description', '');
    ct.function_name := coalesce(manifest ->> 'function_name', manifest #>> '{execution,dbos_workflow}');
    ct.ingress_types := concord._text_array(manifest -> 'ingress_types');
    ct.required_inputs := concord._text_array(manifest -> 'required_inputs');
    ct.payload_schema := coalesce(manifest -> 'payload_schema', '{}');
    ct.sync_allowed := coalesce((manifest ->> 'sync_allowed')::boolean, mode = 'sync', false);
    ct.async_required := coalesce((manifest ->> 'async_required')::boolean,
                                  mode IN ('async', 'approval_gated_async'), false);
    ct.approval_required := coalesce((manifest ->> 'approval_required')::boolean,
                                     (manifest #>> '{approval,required}')::boolean,
                                     mode = 'approval_gated_async', false);
    ct.approval_type := coalesce(manifest ->> 'approval_type', manifest #>> '{approval,approval_type,name}',
                                 CASE WHEN jsonb_typeof(manifest #> '{approval,approval_type}') = 'string'
                                      THEN manifest #>> '{approval,approval_type}' END);
    ct.memory_write_possible := coalesce((manifest ->> 'memory_write_possible')::boolean,
                                         jsonb_array_length(coalesce(manifest #> '{memory,writes}', '[]')) > 0);
    ct.artifact_output_possible := coalesce((manifest ->> 'artifact_output_possible')::boolean,
                                            jsonb_array_length(coalesce(manifest #> '{artifacts,produces}', '[]')) > 0);
    ct.notification_required := coalesce((manifest ->> 'notification_required')::boolean, false);
    ct.policy_checks := concord._text_array(manifest -> 'policy_checks');
    IF manifest #> '{policies,required}' IS NOT NULL THEN
        ct.policy_checks := ct.policy_checks || ARRAY(
            SELECT r.name FROM unnest(concord._registry_ref_names(manifest #> '{policies,required}')) AS r (name)
            WHERE NOT r.name = ANY (ct.policy_checks) ORDER BY r.name);
    END IF;
    ct.connector_requirements := concord._text_array(manifest -> 'connector_requirements');
    IF jsonb_typeof(manifest -> 'connector_operations') = 'array' THEN
        ct.connector_requirements := ct.connector_requirements || ARRAY(
            SELECT DISTINCT o.connector
            FROM concord._registry_connector_operations(manifest -> 'connector_operations') AS o
            WHERE NOT o.connector = ANY (ct.connector_requirements) ORDER BY o.connector);
    END IF;
    ct.risk_level := coalesce(manifest ->> 'risk_level', 'low');
    ct.max_attempts := coalesce((manifest ->> 'max_attempts')::integer, 3);
    ct.default_cancellation_mode := coalesce(manifest ->> 'default_cancellation_mode', 'graceful');
    ct.metadata := coalesce(manifest -> 'metadata', '{}');
    ct.cost_budget := (manifest ->> 'cost_budget')::numeric;
    ct.over_budget := coalesce(manifest ->> 'over_budget', 'require_approval');
    -- the contract's own number stands in for the catalog's counter
    ct.version := CASE WHEN version IS NOT NULL THEN split_part(version, '.', 1)::integer END;
    RETURN ct;
END
$$;

-- A policies row as a manifest. Its organisation is its entity's; its
-- project rides in metadata (project_id).
CREATE OR REPLACE FUNCTION concord._policy_manifest(p concord.policies)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = concord, pg_temp
AS $$
    SELECT concord._registry_without_nulls(jsonb_build_object(
        'name', p.name, 'description', p.description, 'kind', p.kind,
        -- a predicate keeps the words it was registered with while they mean it
        'predicate', CASE WHEN jsonb_typeof(p.spec -> 'predicate') = 'string'
                               AND concord._jsonpath_problem(p.spec ->> 'predicate') IS NULL
                               AND (p.spec ->> 'predicate')::jsonpath::text = p.predicate::text
                          THEN p.spec ->> 'predicate' ELSE p.predicate::text END,
        'vars', CASE WHEN p.kind = 'declarative' THEN p.vars END,
        'decision', p.decision, 'on_unknown', p.on_unknown,
        'reasons', CASE WHEN cardinality(p.reasons) > 0 THEN to_jsonb(p.reasons) END,
        'approval_type', p.approval_type,
        'missing_fields', CASE WHEN cardinality(p.missing_fields) > 0 THEN to_jsonb(p.missing_fields) END,
        'function', p.function_name,
        'config', CASE WHEN p.kind = 'builtin' OR p.config <> '{}' THEN p.config END,
        'command_types', CASE WHEN cardinality(p.command_types) > 0 THEN to_jsonb(p.command_types) END,
        'metadata', CASE WHEN p.project_id IS NOT NULL
                         THEN jsonb_build_object('project_id', p.project_id) END))
$$;

-- The policies row a policy manifest stands for (a built-in keeps what
-- comes with Concord but its description and config: the caller merges).
CREATE OR REPLACE FUNCTION concord._policy_row(manifest jsonb, org_id uuid)
RETURNS concord.policies
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    p concord.policies;
    fn text := coalesce(manifest ->> 'function', manifest #>> '{engine,function}');
BEGIN
    p.name := manifest ->> 'name';
    p.kind := coalesce(manifest ->> 'kind', CASE WHEN fn IS NOT NULL THEN 'executable' ELSE 'declarative' END);
    p.description := coalesce(manifest ->> 'description', '');
    p.predicate := coalesce(manifest ->> 'predicate', manifest #>> '{rule,predicate}')::jsonpath;
    p.vars := coalesce(manifest -> 'vars', manifest #> '{rule,vars}', '{}');
    p.decision := coalesce(manifest ->> 'decision', manifest #>> '{rule,decision}');
    p.on_unknown := manifest ->> 'on_unknown';
    p.reasons := concord._text_array(manifest -> 'reasons');
    p.approval_type := manifest ->> 'approval_type';
    p.missing_fields := concord._text_array(manifest -> 'missing_fields');
    p.function_name := CASE WHEN fn IS NULL THEN NULL
                            WHEN fn LIKE '%(%' THEN to_regprocedure(fn)::text
                            ELSE to_regprocedure(fn || '(jsonb, jsonb)')::text END;
    p.config := coalesce(manifest -> 'config', '{}');
    p.org_id := org_id;
    p.project_id := (manifest #>> '{metadata,project_id}')::uuid;
    p.command_types := concord._text_array(coalesce(manifest -> 'command_types',
                                                    manifest #> '{applies_to,command_types}'));
    -- the words of its predicate, which the row's spec keeps (_policy_spec)
    p.spec := concord._registry_without_nulls(jsonb_build_object('predicate', manifest -> 'predicate'));
    RETURN p;
END
$$;

-- An approval_types row as a manifest (its version column is the
-- registry's version number, not part of the manifest).
CREATE OR REPLACE FUNCTION concord._approval_type_manifest(t concord.approval_types)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT concord._registry_without_nulls(jsonb_build_object(
        'name', t.name, 'description', t.description, 'risk_level', t.risk_level,
        'required_fields', to_jsonb(t.required_fields), 'decision_values', to_jsonb(t.decision_values),
        'expiration', jsonb_build_object('default_minutes', t.default_expiry_minutes),
        'approver', concord._registry_without_nulls(jsonb_build_object(
            'principals', to_jsonb(t.approver_principals), 'team', t.approver_team,
            'path', t.approver_path::text)),
        'resume', jsonb_build_object('on_approved', t.on_approved, 'on_rejected', t.on_rejected,
                                     'on_request_changes', t.on_request_changes),
        'ui', CASE WHEN t.ui <> '{}' THEN t.ui END))
$$;

CREATE OR REPLACE FUNCTION concord._approval_type_row(manifest jsonb, version text)
RETURNS concord.approval_types
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    t concord.approval_types;
    approver jsonb := coalesce(manifest -> 'approver', manifest -> 'approver_resolution', '{}');
BEGIN
    IF jsonb_typeof(manifest -> 'approvers') = 'array' AND NOT manifest ? 'approver' THEN
        approver := jsonb_build_object('principals', manifest -> 'approvers');
    END IF;
    t.name := manifest ->> 'name';
    t.version := version;
    t.description := coalesce(manifest ->> 'description', '');
    t.risk_level := coalesce(manifest ->> 'risk_level', 'medium');
    t.required_fields := concord._text_array(manifest -> 'required_fields');
    t.decision_values := CASE WHEN manifest ? 'decision_values' THEN concord._text_array(manifest -> 'decision_values')
                              ELSE '{approved,rejected,request_changes}' END;
    t.default_expiry_minutes := coalesce((manifest #>> '{expiration,default_minutes}')::integer, 1440);
    t.approver_principals := CASE WHEN approver ? 'principals' THEN concord._text_array(approver -> 'principals') END;
    t.approver_team := coalesce(approver ->> 'team', approver ->> 'role');
    t.approver_path := (approver ->> 'path')::jsonpath;
    t.on_approved := coalesce(manifest #>> '{resume,on_approved}', 'continue_workflow');
    t.on_rejected := coalesce(manifest #>> '{resume,on_rejected}', 'fail');
    t.on_request_changes := coalesce(manifest #>> '{resume,on_request_changes}', 'request_input');
    t.ui := coalesce(manifest -> 'ui', '{}');
    t.spec := manifest - 'version';
    RETURN t;
END
$$;

-- A tools row as a manifest. A gateway tool (it comes with Concord and
-- creates no command) says so in its metadata, which the schema leaves free.
CREATE OR REPLACE FUNCTION concord._tool_manifest(t concord.tools)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT concord._registry_without_nulls(jsonb_build_object(
        'name', t.tool_name, 'description', t.description, 'input_schema', t.input_schema,
        'output_schema', t.output_schema,
        'execution_mode', CASE WHEN t.execution_mode <> 'gateway' THEN t.execution_mode END,
        'risk_level', t.risk_level, 'requires_approval', t.requires_approval, 'connector', t.connector,
        'capability', t.capability, 'command_type', t.command_type, 'function_name', t.function_name,
        'metadata', t.metadata || CASE WHEN t.execution_mode = 'gateway'
                                       THEN '{"concord.execution_mode": "gateway"}'::jsonb ELSE '{}' END))
$$;

CREATE OR REPLACE FUNCTION concord._tool_row(manifest jsonb)
RETURNS concord.tools
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    t concord.tools;
    gateway boolean := coalesce(manifest #>> '{metadata,concord.execution_mode}' = 'gateway', false);
BEGIN
    t.tool_name := manifest ->> 'name';
    t.description := coalesce(manifest ->> 'description', '');
    t.input_schema := coalesce(manifest -> 'input_schema', '{}');
    t.output_schema := coalesce(manifest -> 'output_schema', '{}');
    t.execution_mode := CASE WHEN gateway THEN 'gateway'
                             ELSE coalesce(manifest ->> 'execution_mode',
                                           CASE manifest ->> 'mode' WHEN 'sync' THEN 'sync' END, 'async') END;
    t.risk_level := coalesce(manifest ->> 'risk_level', 'low');
    t.requires_approval := coalesce((manifest ->> 'requires_approval')::boolean,
                                    manifest ->> 'mode' = 'approval_gated_async', false);
    t.connector := manifest ->> 'connector';
    t.capability := manifest ->> 'capability';
    t.command_type := CASE WHEN NOT gateway THEN coalesce(manifest #>> '{command_type,name}',
                                                          CASE WHEN jsonb_typeof(manifest -> 'command_type') = 'string'
                                                               THEN manifest ->> 'command_type' END) END;
    t.function_name := manifest ->> 'function_name';
    t.metadata := coalesce(manifest -> 'metadata', '{}') - 'concord.execution_mode';
    t.spec := manifest - 'version';
    RETURN t;
END
$$;

CREATE OR REPLACE FUNCTION concord._connector_manifest(c concord.connectors)
RETURNS jsonb
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT concord._registry_without_nulls(jsonb_build_object(
        'name', c.connector_name, 'description', c.description, 'risk_level', c.risk_level,
        'connector_type', c.connector_type, 'capabilities', to_jsonb(c.capabilities), 'config', c.config))
$$;

CREATE OR REPLACE FUNCTION concord._connector_row(manifest jsonb)
RETURNS concord.connectors
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
#variable_conflict use_variable
DECLARE
    c concord.connectors;
BEGIN
    c.connector_name := manifest ->> 'name';
    c.connector_type := coalesce(manifest ->> 'connector_type', manifest ->> 'adapter', 'http');
    c.capabilities := concord._text_array(manifest -> 'capabilities');
    IF jsonb_typeof(manifest -> 'operations') = 'array' THEN
        c.capabilities := c.capabilities || ARRAY(
            SELECT o.item ->> 'name' FROM jsonb_array_elements(manifest -> 'operations') AS o (item)
            WHERE NOT (o.item ->> 'name') = ANY (c.capabilities) ORDER BY o.item ->> 'name');
    END IF;
    c.config := coalesce(manifest -> 'config', '{}');
    c.risk_level := coalesce(manifest ->> 'risk_level', 'low');
    c.description := coalesce(manifest ->> 'description', '');
    RETURN c;
END
$$;
