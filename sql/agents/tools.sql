-- The tool catalog (spec 20): registration.

CREATE OR REPLACE FUNCTION concord.register_tool(spec jsonb)
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
DECLARE
    problems text[] := '{}'::text[];
    ct concord.command_types%ROWTYPE;
    conn concord.connectors%ROWTYPE;
    wanted concord.tools%ROWTYPE;
    mode text;
    new_name text := spec ->> 'name';
BEGIN
    PERFORM concord._require_catalog_operator('tools');
    PERFORM concord._require_spec('tool', spec, ARRAY[
        'name', 'description', 'input_schema', 'output_schema', 'execution_mode', 'risk_level',
        'requires_approval', 'connector', 'capability', 'command_type', 'function_name', 'metadata']);
    problems := ARRAY[
        CASE WHEN spec -> 'name' IS NULL THEN 'name is required' END,
        concord._string_problem(spec -> 'name', 'name', '^[A-Za-z][A-Za-z0-9_.:-]*$'),
        CASE WHEN length(new_name) > 128 THEN 'name has at most 128 characters' END,
        CASE WHEN spec -> 'command_type' IS NULL
             THEN 'command_type is required: a tool becomes a command of that type' END,
        concord._string_problem(spec -> 'command_type', 'command_type'),
        CASE WHEN spec ? 'description' AND jsonb_typeof(spec -> 'description') <> 'string'
             THEN 'description must be a string' END,
        CASE WHEN spec ? 'execution_mode' AND NOT (spec ->> 'execution_mode') IN ('sync', 'async')
             THEN format('execution_mode must be sync or async, not %s', spec -> 'execution_mode') END,
        CASE WHEN spec ? 'risk_level' AND NOT coalesce(spec ->> 'risk_level', '') IN ('low', 'medium', 'high', 'critical')
             THEN format('risk_level must be low, medium, high or critical, not %s', spec -> 'risk_level') END,
        CASE WHEN spec ? 'requires_approval' AND jsonb_typeof(spec -> 'requires_approval') <> 'boolean'
             THEN 'requires_approval must be true or false' END,
        concord._string_problem(spec -> 'connector', 'connector'),
        concord._string_problem(spec -> 'capability', 'capability'),
        CASE WHEN spec ? 'capability' AND NOT spec ? 'connector' THEN 'a capability needs its connector' END,
        concord._string_problem(spec -> 'function_name', 'function_name'),
        concord._object_problem(spec -> 'metadata', 'metadata')
    ];
    FOREACH mode IN ARRAY ARRAY['input_schema', 'output_schema'] LOOP
        IF spec ? mode THEN
            IF jsonb_typeof(spec -> mode) NOT IN ('object', 'boolean') THEN
                problems := array_append(problems, format('%s must be a JSON Schema (an object or a boolean)', mode));
            ELSE
                problems := problems || ARRAY(
                    SELECT format('%s: %s', mode, p.problem)
                    FROM jsonb_array_elements_text(concord._json_schema_problems(spec -> mode))
                         AS p (problem));
            END IF;
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM concord.tools AS t WHERE t.tool_name = new_name
                                                 AND t.execution_mode = 'gateway') THEN
        problems := array_append(problems, format('%s is a gateway tool that comes with Concord', new_name));
    END IF;
    IF jsonb_typeof(spec -> 'command_type') = 'string' THEN
        SELECT * INTO ct FROM concord.command_types AS x WHERE x.command_type = spec ->> 'command_type';
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN009',
                CONSTRAINT = 'command_type_is_registered',
                MESSAGE = format('unknown command type %L', spec ->> 'command_type'),
                HINT = 'Register the command type first with concord.register_command_type(spec).';
        END IF;
        IF ct.command_type = 'spawn_subagent' OR ct.command_type LIKE 'concord.%' THEN
            problems := array_append(problems, format('command type %s belongs to Concord''s gateway', ct.command_type));
        END IF;
        IF coalesce((spec ->> 'requires_approval')::boolean, false) AND NOT ct.approval_required
           AND NOT 'agent_tool' = ANY (ct.policy_checks) THEN
            problems := array_append(problems, format(
                'requires_approval needs command type %s to check policy agent_tool (or to be approval_required)',
                ct.command_type));
        END IF;
    END IF;
    IF jsonb_typeof(spec -> 'connector') = 'string' THEN
        SELECT * INTO conn FROM concord.connectors AS x WHERE x.connector_name = spec ->> 'connector';
        IF NOT FOUND THEN
            problems := array_append(problems, format('connector %s is not registered', spec ->> 'connector'));
        ELSIF jsonb_typeof(spec -> 'capability') = 'string'
              AND NOT (spec ->> 'capability') = ANY (conn.capabilities) THEN
            problems := array_append(problems, format('connector %s has no capability %s (it has: %s)',
                                                      conn.connector_name, spec ->> 'capability',
                                                      array_to_string(conn.capabilities, ', ')));
        END IF;
    END IF;
    PERFORM concord._refuse_spec('tool spec', problems);

    mode := coalesce(spec ->> 'execution_mode',
                     CASE WHEN ct.async_required OR NOT ct.sync_allowed THEN 'async' ELSE 'sync' END);
    wanted.tool_name := new_name;
    wanted.description := coalesce(spec ->> 'description', '');
    wanted.input_schema := coalesce(spec -> 'input_schema', '{}');
    wanted.output_schema := coalesce(spec -> 'output_schema', '{}');
    wanted.execution_mode := mode;
    wanted.risk_level := coalesce(spec ->> 'risk_level', ct.risk_level);
    wanted.requires_approval := coalesce((spec ->> 'requires_approval')::boolean, false);
    wanted.connector := spec ->> 'connector';
    wanted.capability := spec ->> 'capability';
    wanted.command_type := ct.command_type;
    wanted.function_name := spec ->> 'function_name';
    wanted.metadata := coalesce(spec -> 'metadata', '{}');
    -- a shorthand of the registry: a changed spec is the next version, bound
    -- globally; the row is its projection
    PERFORM concord._registry_shorthand('tool', new_name, concord._tool_manifest(wanted), NULL, concord._actor());
    RETURN new_name;
END
$$;

COMMENT ON FUNCTION concord.register_tool(jsonb) IS
'Insert or update a command tool (spec 20): {name, command_type, description, input_schema, '
'output_schema, '
'execution_mode, risk_level, requires_approval, connector, capability, function_name, metadata}; '
'CN005 lists '
'every problem, CN009 for an unknown command type; an identical spec is a no-op. A shorthand of '
'the registry: a changed spec becomes the next version of platform entity tool, published and '
'bound globally (the catalog row is its projection).';
