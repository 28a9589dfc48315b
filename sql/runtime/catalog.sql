-- The runtime catalog: connectors, queues and the operations workers serve.

CREATE OR REPLACE FUNCTION concord.register_connector(spec jsonb)
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
    name text;
    wanted concord.connectors%ROWTYPE;
    rule text;
    detail text;
BEGIN
    PERFORM concord._require_catalog_operator('connectors');
    PERFORM concord._require_spec(
        'connector', spec, ARRAY['name', 'connector_type', 'capabilities', 'config', 'risk_level', 'description']);
    name := concord._require('name', spec ->> 'name');
    IF jsonb_typeof(coalesce(spec -> 'capabilities', '[]')) <> 'array'
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(spec -> 'capabilities', '[]')) AS v
                  WHERE jsonb_typeof(v) <> 'string') THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'connector_capabilities_are_strings',
            MESSAGE = 'capabilities must be an array of strings';
    END IF;
    wanted.connector_name := name;
    wanted.connector_type := concord._require('connector_type', spec ->> 'connector_type');
    wanted.capabilities := ARRAY(SELECT jsonb_array_elements_text(coalesce(spec -> 'capabilities', '[]')));
    wanted.config := coalesce(spec -> 'config', '{}');
    wanted.risk_level := coalesce(spec ->> 'risk_level', 'low');
    wanted.description := coalesce(spec ->> 'description', '');
    BEGIN
        -- a shorthand of the registry: a changed spec is the next version,
        -- bound globally; the row is its projection
        PERFORM concord._registry_shorthand('connector', name, concord._connector_manifest(wanted), NULL,
                                            concord._actor());
    EXCEPTION WHEN check_violation OR SQLSTATE 'CN005' THEN
        GET STACKED DIAGNOSTICS rule = CONSTRAINT_NAME, detail = PG_EXCEPTION_DETAIL;
        -- the connector's own rules keep their names (raw secrets, ...)
        IF SQLSTATE = 'CN005' AND rule <> 'a_manifest_satisfies_its_type_schema' THEN
            RAISE;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'connector_spec_is_valid',
            MESSAGE = format('connector %s is invalid: %s', name, SQLERRM), DETAIL = coalesce(detail, ''),
            HINT = 'name and connector_type are lowercase identifiers; config is an object; risk_level is '
                   'low, medium, high or critical.';
    END;
    RETURN name;
END
$$;

COMMENT ON FUNCTION concord.register_connector(jsonb) IS
'Create or replace a connector: {name, connector_type (http | notification | postgres | ...), '
'capabilities, config, risk_level, description}. A config that carries a raw secret instead of '
'env://NAME or file://PATH is refused (CN005). Returns the name. A shorthand of the registry: a '
'changed spec becomes the next version of platform entity connector, published and bound '
'globally (the catalog row is its projection); an identical spec changes nothing.';

CREATE OR REPLACE FUNCTION concord.register_queue(spec jsonb)
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
AS $$
DECLARE
    name text;
BEGIN
    PERFORM concord._require_catalog_operator('queues');
    PERFORM concord._require_spec(
        'queue', spec, ARRAY['name', 'worker_concurrency', 'global_concurrency', 'rate_limit', 'rate_period_sec',
                             'polling_interval_sec', 'description']);
    name := concord._require('name', spec ->> 'name');
    BEGIN
        INSERT INTO concord.runtime_queues AS q (
            queue_name, worker_concurrency, global_concurrency, rate_limit, rate_period_sec,
            polling_interval_sec, description, updated_at)
        VALUES (name, (spec ->> 'worker_concurrency')::integer, (spec ->> 'global_concurrency')::integer,
                (spec ->> 'rate_limit')::integer, (spec ->> 'rate_period_sec')::double precision,
                coalesce((spec ->> 'polling_interval_sec')::double precision, 0.05),
                coalesce(spec ->> 'description', ''), now())
        ON CONFLICT (queue_name) DO UPDATE
        SET worker_concurrency = excluded.worker_concurrency, global_concurrency = excluded.global_concurrency,
            rate_limit = excluded.rate_limit, rate_period_sec = excluded.rate_period_sec,
            polling_interval_sec = excluded.polling_interval_sec, description = excluded.description,
            updated_at = now();
    EXCEPTION WHEN check_violation OR invalid_text_representation OR numeric_value_out_of_range THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'queue_spec_is_valid',
            MESSAGE = format('queue %s is invalid: %s', name, SQLERRM),
            HINT = 'Concurrencies and rate_limit are positive integers; rate_limit and rate_period_sec go '
                   'together; polling_interval_sec is between 0.001 and 60.';
    END;
    RETURN name;
END
$$;

COMMENT ON FUNCTION concord.register_queue(jsonb) IS
'Create or replace a queue''s runtime configuration: {name, worker_concurrency, '
'global_concurrency, rate_limit, rate_period_sec, polling_interval_sec, description}. Workers '
'apply it when they start.';

-- Its validation, _operation_catalog_problems, is in catalog_checks.sql.
CREATE OR REPLACE FUNCTION concord.register_operations(
    catalog jsonb, executor_id text, application_version text
)
RETURNS integer
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
AS $$
DECLARE
    missing text[];
    bad_queue text[];
    problems text[];
    n integer;
    saved text[];
    changed integer;
BEGIN
    -- the operation catalog is shared: a worker's, or an operator's
    IF NOT concord._sees_all() THEN
        PERFORM concord._require_catalog_operator('operations');
    END IF;
    PERFORM concord._require('executor_id', executor_id);
    PERFORM concord._require('application_version', application_version);
    IF catalog IS null OR jsonb_typeof(catalog) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', CONSTRAINT = 'the_operation_catalog_is_a_json_array',
            MESSAGE = 'the operation catalog must be a JSON array';
    END IF;
    problems := concord._operation_catalog_problems(catalog);
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'operation_catalog_is_valid',
            MESSAGE = format('the operation catalog has %s problem(s)', cardinality(problems)),
            DETAIL = array_to_string(problems, E'\n'),
            HINT = 'An operation is {command_type, queue, function_name, produces, requires_compensation, '
                   'compensation, retry_policy, requires}; a compensation {name, of, function_name, produces, '
                   'counter_effects, requires_compensation, retry_policy, requires}.';
    END IF;
    missing := ARRAY(
        SELECT DISTINCT o ->> 'command_type' FROM jsonb_array_elements(catalog) AS o
        WHERE o ? 'command_type' AND NOT EXISTS (SELECT 1 FROM concord.command_types AS t WHERE t.command_type = o ->> 'command_type')
        ORDER BY 1);
    IF cardinality(missing) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN009',
            CONSTRAINT = 'command_type_is_registered',
            MESSAGE = format('operations are registered for unknown command types: %s',
                             array_to_string(missing, ', ')),
            HINT = 'Register the command types first with concord.register_command_type(spec).';
    END IF;
    bad_queue := ARRAY(
        SELECT DISTINCT o ->> 'queue' FROM jsonb_array_elements(catalog) AS o
        WHERE o ? 'command_type' AND NOT EXISTS (SELECT 1 FROM concord.runtime_queues AS q WHERE q.queue_name = o ->> 'queue')
        ORDER BY 1);
    IF cardinality(bad_queue) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN009',
            CONSTRAINT = 'the_queue_is_registered',
            MESSAGE = format('operations name unknown queues: %s', array_to_string(bad_queue, ', ')),
            HINT = 'Add the queue with concord.register_queue(spec).';
    END IF;
    INSERT INTO concord.runtime_operations AS r (
        command_type, queue_name, function_name, produces, requires_compensation, compensation,
        retry_policy, registered_by, application_version, registered_at)
    SELECT o ->> 'command_type', o ->> 'queue', o ->> 'function_name',
           ARRAY(SELECT e.effect_type FROM concord._catalog_effects(o) AS e),
           coalesce((o ->> 'requires_compensation')::boolean, false), o ->> 'compensation',
           coalesce(o -> 'retry_policy', '{}'), executor_id, application_version, now()
    FROM jsonb_array_elements(catalog) AS o
    WHERE o ? 'command_type'
    ON CONFLICT (command_type) DO UPDATE
    SET queue_name = excluded.queue_name, function_name = excluded.function_name, produces = excluded.produces,
        requires_compensation = excluded.requires_compensation, compensation = excluded.compensation,
        retry_policy = excluded.retry_policy, registered_by = excluded.registered_by,
        application_version = excluded.application_version, registered_at = excluded.registered_at
    WHERE (r.queue_name, r.function_name, r.produces, r.requires_compensation, r.compensation, r.retry_policy,
           r.application_version)
          IS DISTINCT FROM
          (excluded.queue_name, excluded.function_name, excluded.produces, excluded.requires_compensation,
           excluded.compensation, excluded.retry_policy, excluded.application_version);
    GET DIAGNOSTICS n = ROW_COUNT;
    changed := n;
    -- the compensations, whose manifests the drift detector compares with
    -- what they began
    INSERT INTO concord.runtime_compensations AS r (
        compensation_name, compensates, function_name, produces, counter_effects, requires_compensation,
        retry_policy, registered_by, application_version, registered_at)
    SELECT o ->> 'name', o ->> 'of', o ->> 'function_name',
           coalesce((SELECT jsonb_agg(jsonb_build_object('effect_type', e.effect_type, 'inverse_of', e.inverse_of))
                     FROM concord._catalog_effects(o) AS e), '[]'),
           coalesce((o ->> 'counter_effects')::boolean, true), coalesce((o ->> 'requires_compensation')::boolean, false),
           coalesce(o -> 'retry_policy', '{}'), executor_id, application_version, now()
    FROM jsonb_array_elements(catalog) AS o
    WHERE NOT o ? 'command_type'
    ON CONFLICT (compensation_name) DO UPDATE
    SET compensates = excluded.compensates, function_name = excluded.function_name, produces = excluded.produces,
        counter_effects = excluded.counter_effects, requires_compensation = excluded.requires_compensation,
        retry_policy = excluded.retry_policy, registered_by = excluded.registered_by,
        application_version = excluded.application_version, registered_at = excluded.registered_at
    WHERE (r.compensates, r.function_name, r.produces, r.counter_effects, r.requires_compensation, r.retry_policy,
           r.application_version)
          IS DISTINCT FROM
          (excluded.compensates, excluded.function_name, excluded.produces, excluded.counter_effects,
           excluded.requires_compensation, excluded.retry_policy, excluded.application_version);
    GET DIAGNOSTICS n = ROW_COUNT;
    -- Commands let go by a worker without these operations are handed off
    -- again, now on the queue recorded above.
    saved := concord._push_actor('worker:' || executor_id, 'handed off to a worker with the operation');
    PERFORM concord._hand_off_served(ARRAY(SELECT o ->> 'command_type' FROM jsonb_array_elements(catalog) AS o
                                           WHERE o ? 'command_type'));
    PERFORM concord._pop_actor(saved);
    -- spec 29: allowed sync commands that waited for a worker of their type go to it now
    PERFORM concord._hand_off_validated(ARRAY(
        SELECT x.command_id FROM concord.commands AS x
        WHERE x.status = 'validated'
          AND x.command_type IN (SELECT o ->> 'command_type' FROM jsonb_array_elements(catalog) AS o)));
    RETURN changed + n;
END
$$;

COMMENT ON FUNCTION concord.register_operations(jsonb, text, text) IS
'Worker start: record the operation catalog it loaded: operations {command_type, queue, '
'function_name, produces, requires_compensation, compensation, retry_policy, requires} and '
'compensations {name, of, function_name, produces ([effect_type | {effect_type, inverse_of}]), '
'counter_effects, requires_compensation, retry_policy, requires}. A catalog the worker''s '
'validator refuses is refused here too, every problem listed (CN005): a missing compensation, an '
'unknown target, two compensations of one target, counter-effects that are not inverses, a chain '
'deeper than 2, a cycle, a runtime capability DBOS lacks. Unknown command types or queues'
' are CN009. The queue recorded here is the one the hand-off uses. Queued commands of these types '
'that a worker without their operation let go are handed off again, and allowed commands of these '
'types left validated go to it (spec 29). Returns the number of rows changed.';
