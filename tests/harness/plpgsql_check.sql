-- Run by tests/harness/plpgsql_check.sh (psql, ON_ERROR_STOP) in a database holding
-- Concord. sqlfluff does not read $$ bodies; plpgsql_check does.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS plpgsql_check;

-- What to check: every plpgsql function of schema concord; a trigger function once per
-- table it is attached to (it can only be checked against a table's row type).
CREATE TEMP TABLE lint_target AS
SELECT
    p.oid::regprocedure AS fn,
    t.tgrelid::regclass AS rel,
    t.tgoldtable AS oldtable,
    t.tgnewtable AS newtable,
    p.prorettype = 'trigger'::regtype AS is_trigger
FROM pg_proc AS p
INNER JOIN pg_namespace AS n ON p.pronamespace = n.oid
INNER JOIN pg_language AS l ON p.prolang = l.oid
LEFT JOIN pg_trigger AS t
    ON p.oid = t.tgfoid AND p.prorettype = 'trigger'::regtype
WHERE n.nspname = 'concord' AND l.lanname = 'plpgsql' AND p.prokind IN ('f', 'p');

CREATE TEMP TABLE lint_problem AS
SELECT
    t.fn::text AS fn,
    t.rel::text AS rel,
    'error' AS level,
    NULL::int AS lineno,
    NULL::text AS statement,
    NULL::text AS sqlstate,
    'trigger function is attached to no table, so it cannot be checked' AS message,
    NULL::text AS detail,
    NULL::text AS hint,
    NULL::text AS query
FROM lint_target AS t
WHERE t.is_trigger AND t.rel IS NULL
UNION ALL
SELECT
    t.fn::text,
    t.rel::text,
    r.level,
    r.lineno,
    r.statement,
    r.sqlstate,
    r.message,
    r.detail,
    r.hint,
    r.query
FROM lint_target AS t
CROSS JOIN LATERAL plpgsql_check_function_tb(
    t.fn,
    coalesce(t.rel, 0),
    fatal_errors => false,
    other_warnings => true,
    performance_warnings => false,
    extra_warnings => false,
    oldtable => t.oldtable,
    newtable => t.newtable
) AS r
WHERE NOT (t.is_trigger AND t.rel IS NULL);

\pset footer off
\pset format unaligned
\pset tuples_only on
SELECT
    t.fn || coalesce(' on ' || t.rel, '')
    || coalesce(' line ' || t.lineno, '')
    || coalesce(' [' || t.statement || ']', '')
    || ': ' || t.level || coalesce(' ' || t.sqlstate, '') || ': ' || t.message
    || coalesce(E'\n    detail: ' || t.detail, '')
    || coalesce(E'\n    hint: ' || t.hint, '')
    || coalesce(E'\n    query: ' || t.query, '')
FROM lint_problem AS t
ORDER BY t.fn, t.rel, t.lineno;

SELECT
    count(*) AS checked,
    count(*) FILTER (WHERE is_trigger) AS triggers
FROM lint_target
\gset
SELECT count(*) AS problems FROM lint_problem
\gset
\echo plpgsql_check: :checked checks (:triggers on trigger tables), :problems problems

-- Fail (psql exits 3 under ON_ERROR_STOP) on any problem or on nothing checked.
SELECT
    :problems > 0 AS has_problems,
    :checked = 0 AS nothing_checked
\gset
\if :has_problems
DO $$ BEGIN RAISE EXCEPTION 'plpgsql_check found problems (listed above)'; END $$;
\elif :nothing_checked
DO $$ BEGIN RAISE EXCEPTION 'plpgsql_check checked no function: schema concord has no plpgsql function'; END $$;
\endif
