-- A policy's checksum covers everything that decides (its predicate, vars,
-- decision, on_unknown, reasons, approval type and missing fields; an
-- executable one's function; a built-in's config), and is recomputed on every
-- write: a new registry version projected into the row cannot leave the old
-- checksum or the old spec behind, and its audit row shows what changed, old
-- and new. Only the projection writes the row
-- (a_catalog_row_is_the_projection_of_its_bound_version); even its writes
-- cannot choose a checksum or a spec.
BEGIN;
SELECT plan(17);

DO $$ BEGIN
    PERFORM concord.register_policy(
        '{"name": "big_total", "predicate": "$.payload.total > $limit", "vars": {"limit": 500},
          "decision": "deny", "reasons": ["total above the limit"], "on_unknown": "allow"}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_total", "async_required": true, "policy_checks": ["big_total"]}');
END $$;

CREATE TEMP TABLE before_change AS
SELECT version, checksum FROM concord.policies WHERE name = 'big_total';

-- The latest policy_registered audit payload of policy name.
CREATE FUNCTION pg_temp.last_audit(name text)
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT e.payload FROM concord.domain_events AS e
    WHERE e.event_type = 'policy_registered' AND e.target_id = last_audit.name
    ORDER BY e.event_seq DESC LIMIT 1
$$;

-- ===========================================================================
-- A declarative policy's vars, changed by a new version
-- ===========================================================================
SELECT concord_test.new_catalog_version('policy', 'big_total', '{"vars": {"limit": 5000}}') IS NOT NULL AS v \gset

SELECT row_eq(
    $$SELECT p.version = b.version + 1, p.checksum <> b.checksum, p.checksum = md5(p.spec::text), p.spec -> 'vars'
      FROM concord.policies AS p, before_change AS b WHERE p.name = 'big_total'$$,
    ROW(true, true, true, '{"limit": 5000}'::jsonb),
    'a new version of its vars gives a new row version, a new checksum, and a spec that shows the new vars'
);
SELECT is(
    pg_temp.last_audit('big_total') -> 'changed',
    '{"vars": {"old": {"limit": 500}, "new": {"limit": 5000}}}'::jsonb,
    'its audit row shows what changed, old and new, and nothing else'
);
SELECT row_eq(
    $$SELECT (pg_temp.last_audit('big_total') ->> 'previous_checksum') = b.checksum,
             (pg_temp.last_audit('big_total') ->> 'checksum') = p.checksum,
             pg_temp.last_audit('big_total') #> '{spec,vars}'
      FROM concord.policies AS p, before_change AS b WHERE p.name = 'big_total'$$,
    ROW(true, true, '{"limit": 5000}'::jsonb),
    'and the checksums before and after, with the rule now in force'
);

SELECT is(concord_test.submit('under_new_limit', 't_total', '{"total": 800}'), 'queued',
          'the changed rule decides');
SELECT is(
    (SELECT d.policy_checksum FROM concord.policy_decisions AS d WHERE d.command_id = concord_test.id('under_new_limit')),
    (SELECT p.checksum FROM concord.policies AS p WHERE p.name = 'big_total'),
    'and its decision records the checksum of the changed rule, not the old one'
);

SELECT concord_test.new_catalog_version(
    'policy', 'big_total', '{"predicate": "$.payload.total >= $limit", "on_unknown": null}') IS NOT NULL AS v \gset
SELECT row_eq(
    $$SELECT p.spec ->> 'predicate', p.spec ? 'on_unknown', p.checksum = md5(p.spec::text)
      FROM concord.policies AS p WHERE p.name = 'big_total'$$,
    ROW('$.payload.total >= $limit'::text, false, true),
    'a new version of the predicate and on_unknown shows in the spec (in its words) and the checksum'
);
SELECT is(
    pg_temp.last_audit('big_total') -> 'changed',
    '{"predicate": {"old": "($.\"payload\".\"total\" > $\"limit\")", "new": "($.\"payload\".\"total\" >= $\"limit\")"},
      "on_unknown": {"old": "allow", "new": null}}'::jsonb,
    'and its audit row shows both changes'
);

-- ===========================================================================
-- What the checksum and spec say cannot be written over, not even by the
-- projection's own writes (the marker it sets around them)
-- ===========================================================================
-- past the projection's guard, as a migration would be
ALTER TABLE concord.policies DISABLE TRIGGER policies_written_only_by_projection;
UPDATE concord.policies SET checksum = 'forged' WHERE name = 'big_total';
SELECT is(
    (SELECT checksum = md5(spec::text) FROM concord.policies WHERE name = 'big_total'), true,
    'a checksum written by hand is replaced by the computed one'
);
UPDATE concord.policies SET spec = spec || '{"vars": {"limit": 1}}' WHERE name = 'big_total';
SELECT row_eq(
    $$SELECT vars, spec -> 'vars' FROM concord.policies WHERE name = 'big_total'$$,
    ROW('{"limit": 5000}'::jsonb, '{"limit": 5000}'::jsonb),
    'a spec written by hand cannot tell another rule than the one that runs'
);
SELECT is(
    (SELECT checksum FROM concord.policies WHERE name = 'concord_test_inserted'), NULL,
    'fixture: no policy concord_test_inserted yet'
);
INSERT INTO concord.policies (name, kind, predicate, decision, checksum)
VALUES ('concord_test_inserted', 'declarative', '$.payload.x > 1', 'deny', 'chosen by hand');
SELECT row_eq(
    $$SELECT checksum = md5(spec::text), spec ->> 'predicate', spec ->> 'decision'
      FROM concord.policies WHERE name = 'concord_test_inserted'$$,
    ROW(true, '($."payload"."x" > 1)'::text, 'deny'::text),
    'an INSERT gets the computed checksum and a spec of its columns'
);
ALTER TABLE concord.policies ENABLE TRIGGER policies_written_only_by_projection;

-- ===========================================================================
-- Registering the spec again restores the registered rule
-- ===========================================================================
SELECT is(
    concord.register_policy(
        '{"name": "big_total", "predicate": "$.payload.total > $limit", "vars": {"limit": 500},
          "decision": "deny", "reasons": ["total above the limit"], "on_unknown": "allow"}'),
    'big_total', 'the original spec registers again'
);
SELECT row_eq(
    $$SELECT vars, predicate::text, on_unknown, spec ->> 'predicate', checksum = md5(spec::text)
      FROM concord.policies WHERE name = 'big_total'$$,
    ROW('{"limit": 500}'::jsonb, '($."payload"."total" > $"limit")'::text, 'allow'::text,
        '$.payload.total > $limit'::text, true),
    'over the changes: it is a new version, not a no-op, and the spec keeps the words it was given'
);

-- ===========================================================================
-- A built-in's config, changed by a new version
-- ===========================================================================
CREATE TEMP TABLE risk_before AS SELECT version, checksum, config FROM concord.policies WHERE name = 'risk';
SELECT concord_test.new_catalog_version(
    'policy', 'risk', '{"config": {"levels": ["critical"], "approval_type": "standard"}}') IS NOT NULL AS v \gset
SELECT row_eq(
    $$SELECT p.version = b.version + 1, p.checksum <> b.checksum, p.checksum = md5(p.spec::text), p.spec -> 'config'
      FROM concord.policies AS p, risk_before AS b WHERE p.name = 'risk'$$,
    ROW(true, true, true, '{"levels": ["critical"], "approval_type": "standard"}'::jsonb),
    'a new version of a built-in''s config gives a new checksum and a spec that shows the new config'
);
SELECT is(
    pg_temp.last_audit('risk') -> 'changed',
    jsonb_build_object('config', jsonb_build_object(
        'old', (SELECT config FROM risk_before), 'new', '{"levels": ["critical"], "approval_type": "standard"}'::jsonb)),
    'its audit row shows the old and the new config'
);
SELECT concord_test.new_catalog_version('policy', 'risk', '{"description": "only critical"}') IS NOT NULL AS v \gset
SELECT row_eq(
    $$SELECT pg_temp.last_audit('risk') -> 'changed',
             (pg_temp.last_audit('risk') ->> 'checksum') <> (pg_temp.last_audit('risk') ->> 'previous_checksum')$$,
    ROW('{"description": {"old": "High-risk command types need approval.", "new": "only critical"}}'::jsonb, true),
    'a changed description is shown too'
);
SELECT is(
    concord.register_policy('{"name": "risk", "description": "only critical",
                              "config": {"levels": ["critical"], "approval_type": "standard"}}'),
    'risk', 'a built-in registered as it now stands'
);

SELECT * FROM finish();
ROLLBACK;
