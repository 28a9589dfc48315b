-- The operation catalog's graph validator (spec 31.2), in the database: the
-- catalog register_operations records is refused for everything the Python
-- validator (concord.runtime.catalog.Catalog.validate) refuses, so that a
-- worker whose validator was bypassed cannot record an unrunnable catalog.
--
-- A catalog is a JSON array of operations {command_type, queue,
-- function_name, produces, requires_compensation, compensation, retry_policy,
-- requires} and compensations {name, of, function_name, produces,
-- counter_effects, requires_compensation, retry_policy, requires}; produces
-- holds effect types, or {effect_type, inverse_of} for counter-effects.

-- The runtime capabilities of the DBOS adapter (spec 41; catalog.py's
-- DBOS_CAPABILITIES, which a test keeps equal) and the deepest compensation
-- chain allowed (catalog.py's DEFAULT_MAX_DEPTH).
CREATE OR REPLACE FUNCTION concord._runtime_capabilities()
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN ARRAY['durable_steps', 'durable_workflows', 'effect_interception', 'queues', 'schedules',
                 'subworkflows'];
END
$$;

CREATE OR REPLACE FUNCTION concord._max_compensation_depth()
RETURNS integer
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN 2;
END
$$;

-- The effects an entry declares, as (effect_type, inverse_of).
CREATE OR REPLACE FUNCTION concord._catalog_effects(entry jsonb)
RETURNS TABLE (effect_type text, inverse_of text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT CASE jsonb_typeof(p.value) WHEN 'string' THEN p.value #>> '{}' ELSE p.value ->> 'effect_type' END,
           CASE jsonb_typeof(p.value) WHEN 'object' THEN p.value ->> 'inverse_of' END
    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(entry -> 'produces') = 'array'
                                   THEN entry -> 'produces' ELSE '[]' END) AS p (value)
$$;

-- What is wrong with one entry's shape (entry n).
CREATE OR REPLACE FUNCTION concord._catalog_entry_problems(entry jsonb, n bigint)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems text[] := ARRAY[]::text[];
    is_op boolean := entry ? 'command_type';
    unknown text[];
BEGIN
    IF jsonb_typeof(entry) <> 'object' THEN
        RETURN ARRAY[format('entry %s is not an object', n)];
    END IF;
    IF NOT is_op AND NOT entry ? 'of' THEN
        RETURN ARRAY[format('entry %s is neither an operation (command_type) nor a compensation (of)', n)];
    END IF;
    unknown := ARRAY(SELECT k FROM jsonb_object_keys(entry) AS k
                     WHERE k <> ALL (CASE WHEN is_op
                         THEN ARRAY['command_type', 'queue', 'function_name', 'produces', 'requires_compensation',
                                    'compensation', 'retry_policy', 'requires']
                         ELSE ARRAY['name', 'of', 'function_name', 'produces', 'counter_effects',
                                    'requires_compensation', 'retry_policy', 'requires'] END)
                     ORDER BY k);
    IF cardinality(unknown) > 0 THEN
        problems := array_append(problems, format('entry %s: unknown keys %s', n, array_to_string(unknown, ', ')));
    END IF;
    IF is_op AND (jsonb_typeof(entry -> 'command_type') IS DISTINCT FROM 'string'
                  OR jsonb_typeof(entry -> 'queue') IS DISTINCT FROM 'string'
                  OR jsonb_typeof(entry -> 'function_name') IS DISTINCT FROM 'string'
                  OR btrim(coalesce(entry ->> 'function_name', '')) = '') THEN
        problems := array_append(problems, format('entry %s: command_type, queue and function_name are required strings', n));
    END IF;
    IF NOT is_op AND (jsonb_typeof(entry -> 'name') IS DISTINCT FROM 'string'
                      OR jsonb_typeof(entry -> 'of') IS DISTINCT FROM 'string'
                      OR jsonb_typeof(entry -> 'function_name') IS DISTINCT FROM 'string'
                      OR btrim(coalesce(entry ->> 'name', '')) = ''
                      OR btrim(coalesce(entry ->> 'function_name', '')) = '') THEN
        problems := array_append(problems, format('entry %s: name, of and function_name are required strings', n));
    END IF;
    IF entry ? 'produces' AND (jsonb_typeof(entry -> 'produces') <> 'array'
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(entry -> 'produces') AS v
                  WHERE NOT (jsonb_typeof(v) = 'string'
                             OR (jsonb_typeof(v) = 'object' AND jsonb_typeof(v -> 'effect_type') = 'string'
                                 AND jsonb_typeof(coalesce(v -> 'inverse_of', 'null')) IN ('string', 'null')
                                 AND NOT v ?| ARRAY(SELECT k FROM jsonb_object_keys(v) AS k
                                                   WHERE k NOT IN ('effect_type', 'inverse_of'))))))
    THEN
        problems := array_append(problems, format(
            'entry %s: produces must be an array of effect types or {effect_type, inverse_of}', n));
    END IF;
    IF entry ? 'requires' AND (jsonb_typeof(entry -> 'requires') <> 'array'
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(entry -> 'requires') AS v WHERE jsonb_typeof(v) <> 'string')) THEN
        problems := array_append(problems, format('entry %s: requires must be an array of capability names', n));
    END IF;
    IF entry ? 'requires_compensation' AND jsonb_typeof(entry -> 'requires_compensation') <> 'boolean' THEN
        problems := array_append(problems, format('entry %s: requires_compensation must be a boolean', n));
    END IF;
    IF entry ? 'counter_effects' AND jsonb_typeof(entry -> 'counter_effects') <> 'boolean' THEN
        problems := array_append(problems, format('entry %s: counter_effects must be a boolean', n));
    END IF;
    IF entry ? 'compensation' AND jsonb_typeof(entry -> 'compensation') NOT IN ('string', 'null') THEN
        problems := array_append(problems, format('entry %s: compensation must be a name or null', n));
    END IF;
    IF entry ? 'retry_policy' AND jsonb_typeof(entry -> 'retry_policy') <> 'object' THEN
        problems := array_append(problems, format('entry %s: retry_policy must be an object', n));
    END IF;
    RETURN problems;
END
$$;

-- The well-formed entries of a catalog, as the nodes of its graph.
CREATE OR REPLACE FUNCTION concord._catalog_nodes(catalog jsonb)
RETURNS TABLE (kind text, name text, compensates text, entry jsonb)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT CASE WHEN a.value ? 'command_type' THEN 'operation' ELSE 'compensation' END,
           coalesce(a.value ->> 'command_type', a.value ->> 'name'), a.value ->> 'of', a.value
    FROM jsonb_array_elements(catalog) WITH ORDINALITY AS a (value, n)
    WHERE cardinality(concord._catalog_entry_problems(a.value, a.n)) = 0
$$;

-- The nodes _operation_catalog_problems built, as rows.
CREATE OR REPLACE FUNCTION concord._catalog_graph(nodes jsonb)
RETURNS TABLE (kind text, name text, compensates text, entry jsonb)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT n.kind, n.name, n.compensates, n.entry
    FROM jsonb_to_recordset(nodes) AS n (kind text, name text, compensates text, entry jsonb)
$$;

-- Every problem of an operation catalog, shapes first, then the graph of
-- spec 31.2: missing compensations, unknown targets, capabilities the runtime
-- lacks, counter-effects that are not inverses, targets with two
-- compensations, chains deeper than the maximum, cycles.
CREATE OR REPLACE FUNCTION concord._operation_catalog_problems(catalog jsonb)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
-- catalogs are small, but the recursive graph queries are estimated large:
-- compiling them (JIT) would take seconds
SET jit = off
AS $$
DECLARE
    problems text[];
    op jsonb;
    comp jsonb;
    missing text[];
    node text;
    chain text[];
    next_name text;
    nodes jsonb;
BEGIN
    problems := ARRAY(
        SELECT p FROM jsonb_array_elements(catalog) WITH ORDINALITY AS a (value, n),
                      LATERAL unnest(concord._catalog_entry_problems(a.value, a.n)) AS p
        ORDER BY a.n);
    -- the graph, built once from the well-formed entries
    nodes := coalesce((SELECT jsonb_agg(to_jsonb(x)) FROM concord._catalog_nodes(catalog) AS x), '[]');
    problems := problems || ARRAY(
        SELECT format('command type %s appears %s times', name, count(*)) FROM concord._catalog_graph(nodes) AS n
        WHERE kind = 'operation' GROUP BY name HAVING count(*) > 1 ORDER BY 1);
    problems := problems || ARRAY(
        SELECT format('two compensations are named %s', name) FROM concord._catalog_graph(nodes) AS n
        WHERE kind = 'compensation' GROUP BY name HAVING count(*) > 1 ORDER BY 1);
    FOR op IN SELECT entry FROM concord._catalog_graph(nodes) AS n WHERE kind = 'operation' ORDER BY name LOOP
        next_name := (SELECT min(k.name) FROM concord._catalog_graph(nodes) AS k
                      WHERE k.kind = 'compensation' AND k.compensates = op ->> 'command_type');
        IF coalesce((op ->> 'requires_compensation')::boolean, false) AND next_name IS null THEN
            problems := problems || format('operation %s requires compensation but none is registered',
                                           op ->> 'command_type');
        END IF;
        IF op ->> 'compensation' IS DISTINCT FROM next_name THEN
            problems := problems || format('operation %s names compensation %s, but the catalog''s compensation of it is %s',
                                           op ->> 'command_type', coalesce(op ->> 'compensation', 'none'),
                                           coalesce(next_name, 'none'));
        END IF;
        missing := ARRAY(SELECT jsonb_array_elements_text(coalesce(op -> 'requires', '[]'))
                         EXCEPT SELECT unnest(concord._runtime_capabilities()) ORDER BY 1);
        IF cardinality(missing) > 0 THEN
            problems := problems || format('operation %s needs runtime capabilities the runtime lacks: %s',
                                           op ->> 'command_type', array_to_string(missing, ', '));
        END IF;
        -- the chain of compensations from the operation (spec 31.2: depth <= max)
        chain := ARRAY[op ->> 'command_type'];
        node := op ->> 'command_type';
        LOOP
            next_name := (SELECT min(k.name) FROM concord._catalog_graph(nodes) AS k WHERE k.kind = 'compensation' AND k.compensates = node);
            EXIT WHEN next_name IS null OR next_name = ANY (chain);
            chain := chain || next_name;
            node := next_name;
        END LOOP;
        IF cardinality(chain) - 1 > concord._max_compensation_depth() THEN
            problems := problems || format('compensation chain of %s is %s deep (max_depth %s): %s',
                                           op ->> 'command_type', cardinality(chain) - 1,
                                           concord._max_compensation_depth(), array_to_string(chain, ' -> '));
        END IF;
    END LOOP;
    FOR comp IN SELECT entry FROM concord._catalog_graph(nodes) AS n WHERE kind = 'compensation' ORDER BY name LOOP
        IF NOT EXISTS (SELECT 1 FROM concord._catalog_graph(nodes) AS k WHERE k.name = comp ->> 'of') THEN
            problems := problems || format('compensation %s compensates unknown %s', comp ->> 'name', comp ->> 'of');
        END IF;
        IF coalesce((comp ->> 'requires_compensation')::boolean, false)
           AND NOT EXISTS (SELECT 1 FROM concord._catalog_graph(nodes) AS k
                           WHERE k.kind = 'compensation' AND k.compensates = comp ->> 'name') THEN
            problems := problems || format('compensation %s requires compensation but none is registered',
                                           comp ->> 'name');
        END IF;
        missing := ARRAY(SELECT jsonb_array_elements_text(coalesce(comp -> 'requires', '[]'))
                         EXCEPT SELECT unnest(concord._runtime_capabilities()) ORDER BY 1);
        IF cardinality(missing) > 0 THEN
            problems := problems || format('compensation %s needs runtime capabilities the runtime lacks: %s',
                                           comp ->> 'name', array_to_string(missing, ', '));
        END IF;
        IF coalesce((comp ->> 'counter_effects')::boolean, true) THEN
            problems := problems || ARRAY(
                SELECT format('compensation %s declares counter_effects=True but %s is not the inverse of an '
                              'effect of %s (declare inverse_of naming one of %s)',
                              comp ->> 'name', e.effect_type, comp ->> 'of',
                              coalesce(nullif(array_to_string(parent.types, ', '), ''), 'nothing: it produces none'))
                FROM concord._catalog_effects(comp) AS e,
                     LATERAL (SELECT ARRAY(SELECT DISTINCT p.effect_type
                                           FROM concord._catalog_graph(nodes) AS k, concord._catalog_effects(k.entry) AS p
                                           WHERE k.name = comp ->> 'of' ORDER BY 1)) AS parent (types)
                WHERE e.inverse_of IS null OR NOT e.inverse_of = ANY (parent.types));
        END IF;
    END LOOP;
    problems := problems || ARRAY(
        SELECT format('%s has %s compensations: %s', compensates, count(*), string_agg(name, ', ' ORDER BY name))
        FROM concord._catalog_graph(nodes) AS n WHERE kind = 'compensation' GROUP BY compensates HAVING count(*) > 1 ORDER BY compensates);
    -- cycles in the effect -> compensation -> counter-effect graph, each once
    -- (from its smallest effect type)
    problems := problems || ARRAY(
        WITH RECURSIVE edge (source, target) AS (
            SELECT DISTINCT p.effect_type, e.effect_type
            FROM concord._catalog_graph(nodes) AS k
            INNER JOIN concord._catalog_graph(nodes) AS parent ON parent.name = k.compensates
            CROSS JOIN LATERAL concord._catalog_effects(parent.entry) AS p
            CROSS JOIN LATERAL concord._catalog_effects(k.entry) AS e
            WHERE k.kind = 'compensation'
        ), walk (start, node, path, closed) AS (
            SELECT source, target, ARRAY[source, target], source = target FROM edge
            UNION ALL
            SELECT w.start, x.target, w.path || x.target, x.target = w.start
            FROM walk AS w INNER JOIN edge AS x ON x.source = w.node
            WHERE NOT w.closed AND NOT x.target = ANY (w.path[2:]) AND cardinality(w.path) < 64
        )
        SELECT DISTINCT 'cycle in the effect/compensation graph: ' || array_to_string(path, ' -> ')
        FROM walk AS w
        WHERE closed AND start = (SELECT min(v) FROM unnest(w.path) AS v)
        ORDER BY 1);
    -- compensations that compensate each other (a ring of `of` links)
    problems := problems || ARRAY(
        WITH RECURSIVE ring (start, node, path, closed) AS (
            SELECT name, compensates, ARRAY[name, compensates], name = compensates FROM concord._catalog_graph(nodes) AS n WHERE kind = 'compensation'
            UNION ALL
            SELECT r.start, k.compensates, r.path || k.compensates, k.compensates = r.start
            FROM ring AS r INNER JOIN concord._catalog_graph(nodes) AS k ON k.kind = 'compensation' AND k.name = r.node
            WHERE NOT r.closed AND NOT k.compensates = ANY (r.path[2:]) AND cardinality(r.path) < 64
        )
        SELECT DISTINCT 'cycle of compensations: ' || array_to_string(path, ' -> ')
        FROM ring AS r
        WHERE closed AND start = (SELECT min(v) FROM unnest(r.path) AS v)
        ORDER BY 1);
    RETURN problems;
END
$$;
