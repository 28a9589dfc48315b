-- The audit trail is partitioned by month (migration 0009) and stays
-- append-only partition by partition: UPDATE and DELETE (events_are_append_only,
-- a row trigger the parent gives every partition) and TRUNCATE
-- (events_are_not_truncated, which concord.maintain_audit_partitions gives each
-- partition: statement triggers are not cloned) are refused on each partition
-- itself, for its owner too. No login may read, detach, drop or truncate a
-- partition: they belong to concord_owner, which no login holds. A row no
-- month covers waits in the default partition and moves to its month's own.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(14);

\ir ../lib/identity_fixtures.sql

-- statement run as role; 'ok' or 'SQLSTATE rule'
CREATE FUNCTION pg_temp.outcome_as(role name, statement text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    outcome text;
    rule text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    BEGIN
        EXECUTE statement;
        outcome := 'ok';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS rule = CONSTRAINT_NAME;
        outcome := SQLSTATE || coalesce(' ' || nullif(rule, ''), '');
    END;
    RESET ROLE;
    RETURN outcome;
END
$$;

CREATE TEMP VIEW audit_partition AS
SELECT p.partition_name, format('concord_audit.%I', p.partition_name) AS qualified, p.range_from, p.is_default
FROM concord._audit_partitions() AS p;

-- ---------------------------------------------------------------------------
-- The default partition catches what no month covers; the upkeep moves it out
-- ---------------------------------------------------------------------------
INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id, created_at)
VALUES ('event', 'note', 'tester', 'trace_far_ahead', '2100-01-15 12:00+00');

SELECT is(
    (SELECT tableoid::regclass::text FROM concord.domain_events WHERE trace_id = 'trace_far_ahead'),
    'concord_audit.domain_events_default',
    'a row no month partition covers is kept by the default partition: the insert does not fail'
);

SELECT cmp_ok(concord.maintain_audit_partitions(), '>=', 1, 'the upkeep creates a partition for that month');

SELECT is(
    (SELECT tableoid::regclass::text FROM concord.domain_events WHERE trace_id = 'trace_far_ahead'),
    'concord_audit.domain_events_2100_01',
    '... and the row moved there, unchanged in number'
);

SELECT is(
    (SELECT count(*) FROM concord_audit.domain_events_default), 0::bigint,
    'the default partition is empty again'
);

-- a row in every partition, so the row triggers have something to refuse
INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id, created_at)
SELECT 'event', 'note', 'tester', 'trace_every_partition', coalesce(nullif(p.range_from, '-infinity'), '2001-01-01')
FROM audit_partition AS p WHERE NOT p.is_default;
INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id, created_at)
VALUES ('event', 'note', 'tester', 'trace_every_partition', '2200-01-01');

SELECT is(
    (SELECT count(DISTINCT tableoid) FROM concord.domain_events WHERE trace_id = 'trace_every_partition'),
    (SELECT count(*) FROM audit_partition),
    'fixture: every partition holds a row'
);

-- ---------------------------------------------------------------------------
-- Each partition refuses UPDATE, DELETE and TRUNCATE, for its owner too
-- ---------------------------------------------------------------------------
SELECT is_empty(
    $$SELECT p.partition_name FROM audit_partition AS p
      WHERE pg_temp.outcome_as('concord_owner', format('UPDATE %s SET actor = ''mallory''', p.qualified))
            <> 'CN007 events_are_append_only'$$,
    'CN007 events_are_append_only: UPDATE of any partition itself is refused, for the owner too'
);

SELECT is_empty(
    $$SELECT p.partition_name FROM audit_partition AS p
      WHERE pg_temp.outcome_as('concord_owner', format('DELETE FROM %s', p.qualified))
            <> 'CN007 events_are_append_only'$$,
    'CN007 events_are_append_only: DELETE from any partition itself is refused, for the owner too'
);

SELECT is_empty(
    $$SELECT p.partition_name FROM audit_partition AS p
      WHERE pg_temp.outcome_as('concord_owner', format('TRUNCATE %s', p.qualified))
            <> 'CN007 events_are_not_truncated'$$,
    'CN007 events_are_not_truncated: TRUNCATE of any partition itself is refused, for the owner too'
);

SELECT is(
    pg_temp.outcome_as('concord_owner', 'TRUNCATE concord.domain_events'),
    'CN007 events_are_not_truncated',
    'TRUNCATE of the parent is refused, for the owner too'
);

-- ---------------------------------------------------------------------------
-- No login may touch a partition: not even an operator's
-- ---------------------------------------------------------------------------
DO $$ BEGIN
    PERFORM pg_temp.make_login('ops', ARRAY['concord_admin', 'concord_app', 'concord_worker']);
END $$;

SELECT is_empty(
    $$SELECT p.partition_name || ': ' || s.verb FROM audit_partition AS p
      CROSS JOIN LATERAL (VALUES
          ('select', format('SELECT 1 FROM %s LIMIT 1', p.qualified)),
          ('insert', format('INSERT INTO %s (purpose, event_type, actor, trace_id) VALUES (''event'', ''x'', ''x'', ''x'')', p.qualified)),
          ('truncate', format('TRUNCATE %s', p.qualified)),
          ('detach', format('ALTER TABLE concord.domain_events DETACH PARTITION %s', p.qualified)),
          ('drop', format('DROP TABLE %s', p.qualified))
      ) AS s (verb, statement)
      WHERE pg_temp.as_login('ops', s.statement) NOT LIKE '42501%'$$,
    'a login holding concord_admin, concord_app and concord_worker may not read, write, truncate, detach '
    'or drop any partition (42501)'
);

SELECT is_empty(
    $$SELECT r.rolname FROM pg_catalog.pg_roles AS r
      WHERE r.rolcanlogin AND NOT r.rolsuper AND pg_has_role(r.oid, 'concord_owner', 'MEMBER')$$,
    'no login but a superuser holds concord_owner, the partitions'' owner'
);

SELECT is_empty(
    $$SELECT c.relname FROM pg_catalog.pg_class AS c
      WHERE c.relnamespace = 'concord_audit'::regnamespace AND c.relkind IN ('r', 'p')
        AND c.relowner <> 'concord_owner'::regrole$$,
    'every partition belongs to concord_owner'
);

-- ---------------------------------------------------------------------------
-- Each month partition checks the agent and swarm runs a new row names
-- ---------------------------------------------------------------------------
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.domain_events (agent_run_id, purpose, event_type, actor, trace_id)
      VALUES (gen_random_uuid(), 'event', 'note', 'tester', 'trace_fk')$$,
    '23503', 'domain_events_agent_run_fkey',
    'a new row naming an agent run never recorded is refused (the month partition''s foreign key)'
);

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.domain_events (swarm_run_id, purpose, event_type, actor, trace_id, created_at)
      VALUES (gen_random_uuid(), 'event', 'note', 'tester', 'trace_fk', '2100-01-20')$$,
    '23503', 'domain_events_swarm_run_fkey',
    '... and one naming a swarm never recorded, in a partition the upkeep made'
);

SELECT * FROM finish();
ROLLBACK;
