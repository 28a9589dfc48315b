-- register_operations refuses every operation catalog the worker's validator
-- (Catalog.validate, spec 31.2) refuses, every problem listed in one CN005
-- (operation_catalog_is_valid): a raw call with each bad catalog, as the
-- worker's role, records nothing.
BEGIN;
SELECT plan(16);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

-- The problems (DETAIL lines) register_operations refuses catalog with, as
-- the worker's role; NULL when it records it.
CREATE FUNCTION pg_temp.problems(catalog text)
RETURNS text[]
LANGUAGE plpgsql
AS $$
DECLARE
    state text;
    rule text;
    detail text;
BEGIN
    SET LOCAL ROLE concord_worker;
    BEGIN
        PERFORM concord.register_operations(catalog::jsonb, 'ex-cat', 'v1');
        RESET ROLE;
        RETURN NULL;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, rule = CONSTRAINT_NAME, detail = PG_EXCEPTION_DETAIL;
    END;
    RESET ROLE;
    IF state <> 'CN005' OR rule <> 'operation_catalog_is_valid' THEN
        RETURN ARRAY[format('raised %s %s', state, rule)];
    END IF;
    RETURN string_to_array(detail, E'\n');
END
$$;

-- An operation of rt_ops producing book (and the compensation entries given).
CREATE FUNCTION pg_temp.op(extra text DEFAULT '', requires_compensation boolean DEFAULT true,
                           compensation text DEFAULT 'cancel')
RETURNS text
LANGUAGE sql
AS $$
    SELECT format('[{"command_type": "rt_ops", "queue": "connector_calls", "function_name": "app.book",
                     "produces": ["h.book"], "requires_compensation": %s, "compensation": %s}%s]',
                  to_json(requires_compensation), coalesce(to_json(compensation)::text, 'null'), extra)
$$;

SELECT is(
    pg_temp.problems(pg_temp.op(', {"name": "cancel", "of": "rt_ops", "function_name": "app.cancel",
                                   "produces": [{"effect_type": "h.cancel", "inverse_of": "h.book"}]}')),
    NULL,
    'a consistent catalog (an operation and its counter-effects compensation) is recorded'
);
SELECT is(
    (SELECT produces FROM concord.runtime_compensations WHERE compensation_name = 'cancel'),
    '[{"effect_type": "h.cancel", "inverse_of": "h.book"}]'::jsonb,
    'the compensation and its manifest are recorded'
);

SELECT is(
    pg_temp.problems(pg_temp.op(compensation => null)),
    ARRAY['operation rt_ops requires compensation but none is registered'],
    'CN005: an operation that requires compensation and has none'
);
SELECT is(
    pg_temp.problems(pg_temp.op()),
    ARRAY['operation rt_ops requires compensation but none is registered',
          'operation rt_ops names compensation cancel, but the catalog''s compensation of it is none'],
    'CN005: an operation naming a compensation the catalog does not hold'
);
SELECT is(
    pg_temp.problems(pg_temp.op(', {"name": "cancel", "of": "rt_ops", "function_name": "f", "produces": [{"effect_type": "h.cancel", "inverse_of": "h.book"}]},
                                   {"name": "ghost", "of": "rt_nothing", "function_name": "f", "counter_effects": false}')),
    ARRAY['compensation ghost compensates unknown rt_nothing'],
    'CN005: a compensation of an unknown target'
);
SELECT is(
    pg_temp.problems(pg_temp.op(', {"name": "cancel", "of": "rt_ops", "function_name": "f", "produces": [{"effect_type": "h.cancel", "inverse_of": "h.book"}]},
                                   {"name": "cancel2", "of": "rt_ops", "function_name": "f", "produces": [{"effect_type": "h.cancel", "inverse_of": "h.book"}]}')),
    ARRAY['rt_ops has 2 compensations: cancel, cancel2'],
    'CN005: two compensations of one operation'
);
SELECT is(
    pg_temp.problems(pg_temp.op(', {"name": "cancel", "of": "rt_ops", "function_name": "f", "produces": ["h.refund"]}')),
    ARRAY['compensation cancel declares counter_effects=True but h.refund is not the inverse of an effect of '
          'rt_ops (declare inverse_of naming one of h.book)'],
    'CN005: counter-effects that are not inverses'
);
SELECT is(
    pg_temp.problems(pg_temp.op(', {"name": "cancel", "of": "rt_ops", "function_name": "f", "produces": [{"effect_type": "h.cancel", "inverse_of": "h.nothing"}]}')),
    ARRAY['compensation cancel declares counter_effects=True but h.cancel is not the inverse of an effect of '
          'rt_ops (declare inverse_of naming one of h.book)'],
    'CN005: an inverse of an effect the operation does not produce'
);
SELECT is(
    pg_temp.problems(pg_temp.op(', {"name": "cancel", "of": "rt_ops", "function_name": "f", "counter_effects": false, "produces": ["h.c1"]},
                                   {"name": "c2", "of": "cancel", "function_name": "f", "counter_effects": false, "produces": ["h.c2"]},
                                   {"name": "c3", "of": "c2", "function_name": "f", "counter_effects": false, "produces": ["h.c3"]}')),
    ARRAY['compensation chain of rt_ops is 3 deep (max_depth 2): rt_ops -> cancel -> c2 -> c3'],
    'CN005: a compensation chain deeper than 2'
);
SELECT is(
    pg_temp.problems(pg_temp.op(', {"name": "cancel", "of": "rt_ops", "function_name": "f", "counter_effects": false, "produces": ["h.c1"], "requires_compensation": true},
                                   {"name": "c2", "of": "cancel", "function_name": "f", "counter_effects": false, "produces": ["h.book"]}')),
    ARRAY['cycle in the effect/compensation graph: h.book -> h.c1 -> h.book'],
    'CN005: a cycle in the effect -> compensation -> counter-effect graph'
);
SELECT ok(
    'cycle of compensations: ra -> rb -> ra' = ANY (pg_temp.problems(pg_temp.op(
        ', {"name": "cancel", "of": "rt_ops", "function_name": "f", "produces": [{"effect_type": "h.cancel", "inverse_of": "h.book"}]},
           {"name": "ra", "of": "rb", "function_name": "f", "counter_effects": false},
           {"name": "rb", "of": "ra", "function_name": "f", "counter_effects": false}'))),
    'CN005: compensations that compensate each other'
);
SELECT is(
    pg_temp.problems(pg_temp.op(', {"name": "cancel", "of": "rt_ops", "function_name": "f", "produces": [{"effect_type": "h.cancel", "inverse_of": "h.book"}],
                                    "requires": ["saga_compensation_native"]}')),
    ARRAY['compensation cancel needs runtime capabilities the runtime lacks: saga_compensation_native'],
    'CN005: a runtime capability DBOS does not declare'
);
SELECT is(
    pg_temp.problems(pg_temp.op(', {"name": "cancel", "of": "rt_ops", "function_name": "f", "produces": [{"effect_type": "h.cancel", "inverse_of": "h.book"}],
                                    "requires_compensation": true}')),
    ARRAY['compensation cancel requires compensation but none is registered'],
    'CN005: a compensation that requires compensation and has none'
);
SELECT is(
    pg_temp.problems(pg_temp.op(', {"name": "cancel", "of": "rt_ops", "function_name": "f", "produces": [{"effect_type": "h.cancel", "inverse_of": "h.book"}]},
                                   {"name": "cancel", "of": "rt_ops2", "function_name": "g", "counter_effects": false}')),
    ARRAY['two compensations are named cancel', 'compensation cancel compensates unknown rt_ops2'],
    'CN005: two compensations with one name'
);
SELECT is(
    cardinality(pg_temp.problems(
        '[{"command_type": "rt_ops", "queue": "connector_calls", "function_name": "a", "requires_compensation": true,
           "requires": ["signals"]},
          {"name": "x", "of": "nowhere", "function_name": "f", "produces": ["h.x"]},
          {"of": 1}]')),
    5,
    'CN005: one refusal lists every problem (a bad entry, a missing compensation, an unknown target, '
    'a non-inverse, a missing capability)'
);
SELECT is(
    (SELECT count(*) FROM concord.runtime_compensations WHERE compensation_name <> 'cancel'),
    0::bigint,
    'no refused catalog recorded anything'
);

SELECT * FROM finish();
ROLLBACK;
