-- Artifact lineage (spec 24, 63): a lineage row links two existing artifacts
-- of the same swarm, never makes a cycle, and is recorded once (no update,
-- delete or truncate).
BEGIN;
SELECT plan(10);

\ir ../lib/swarm_fixtures.sql

INSERT INTO answers VALUES ('a1', concord._create_artifact(pg_temp.run('w1'),
    '{"artifact_type": "report", "name": "revenue", "content": {"total": 10}, "score": 0.7}'));
INSERT INTO answers VALUES ('a1v2', concord._create_artifact(pg_temp.run('w1'),
    '{"artifact_type": "report", "name": "revenue", "location": "s3://bucket/revenue-v2.pdf", "status": "final"}'));
SELECT pg_temp.keep('a1', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a1'))
       IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('a1v2', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a1v2'))
       IS NOT NULL AS fixture \gset
-- lineage
INSERT INTO answers VALUES ('a2', concord._create_artifact(pg_temp.run('w1'),
    jsonb_build_object('artifact_type', 'summary', 'name', 'summary', 'content', 'short',
                       'parent_artifact_ids', jsonb_build_array(concord_test.id('a1')))));
SELECT pg_temp.keep('a2', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a2'))
       IS NOT NULL AS fixture \gset
SELECT is((SELECT answer -> 'parent_artifact_ids' FROM answers WHERE label = 'a2'),
          jsonb_build_array(concord_test.id('a1')), '_create_artifact: records its lineage');
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id) VALUES (%L, %L)$$,
           concord_test.id('a1'), concord_test.id('a2')),
    'CN003', 'artifact_lineage_has_no_cycle', 'CN003: a parent cannot derive from its descendant (no cycle)'
);
SELECT pg_temp.keep('o_art', (concord._create_artifact(pg_temp.run('other_root'),
    '{"artifact_type": "report", "name": "elsewhere", "content": 1}') ->> 'artifact_id')::uuid)
       IS NOT NULL AS fixture \gset
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id) VALUES (%L, %L)$$,
           concord_test.id('a2'), concord_test.id('o_art')),
    'CN004', 'lineage_stays_within_one_swarm', 'CN004: a swarm''s artifact derives only from artifacts of its swarm'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._create_artifact(pg_temp.run('w1'), jsonb_build_object('artifact_type', 'x', 'name', 'x',
        'content', 1, 'parent_artifact_ids', jsonb_build_array(concord_test.id('o_art'))))$$,
    'CN004', 'lineage_stays_within_one_swarm', 'CN004: _create_artifact refuses a parent of another swarm'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.artifact_lineage SET created_at = now() WHERE artifact_id = %L$$, concord_test.id('a2')),
    'CN007', 'artifact_lineage_is_append_only', 'CN007: lineage is not rewritten'
);
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.artifact_lineage WHERE artifact_id = %L$$, concord_test.id('a2')),
    'CN007', 'artifact_lineage_is_append_only', 'CN007: lineage is not deleted'
);

SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id) VALUES (%L, %L)$$,
           concord_test.id('a2'), gen_random_uuid()),
    'CN006', 'lineage_links_existing_artifacts', 'CN006: a parent artifact exists'
);
SELECT concord_test.throws_rule(
    'TRUNCATE concord.artifact_lineage', 'CN007', 'artifact_lineage_is_not_truncated',
    'CN007: lineage is not truncated'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id) VALUES (%L, %L)$$,
           concord_test.id('a2'), concord_test.id('a2')),
    'CN003', 'artifact_lineage_has_no_cycle', 'CN003: an artifact is not its own parent'
);
-- the guard refuses it first: the CHECK holds even for a writer that skips the triggers
SET LOCAL session_replication_role = replica;
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id) VALUES (%L, %L)$$,
           concord_test.id('a2'), concord_test.id('a2')),
    '23514', 'an_artifact_is_not_its_own_parent', 'an artifact is not its own parent'
);
SET LOCAL session_replication_role = origin;

SELECT * FROM finish();
ROLLBACK;
