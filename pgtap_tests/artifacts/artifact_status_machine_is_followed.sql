-- An artifact's lifecycle (spec 24): only its status changes, along draft ->
-- final -> published -> superseded (or cancelled); it is never deleted or
-- truncated, and each creation and status change is audited.
BEGIN;
SELECT plan(9);

\ir ../lib/swarm_fixtures.sql

INSERT INTO answers VALUES ('a1', concord._create_artifact(pg_temp.run('w1'),
    '{"artifact_type": "report", "name": "revenue", "content": {"total": 10}, "score": 0.7}'));
INSERT INTO answers VALUES ('a1v2', concord._create_artifact(pg_temp.run('w1'),
    '{"artifact_type": "report", "name": "revenue", "location": "s3://bucket/revenue-v2.pdf", "status": "final"}'));
SELECT pg_temp.keep('a1', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a1'))
       IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('a1v2', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a1v2'))
       IS NOT NULL AS fixture \gset
-- updates
SELECT concord_test.throws_rule(
    format($$UPDATE concord.artifacts SET name = 'renamed' WHERE artifact_id = %L$$, concord_test.id('a1')),
    'CN007', 'an_artifact_changes_only_its_status', 'CN007: only an artifact''s status changes'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.artifacts SET content = '{"total": 99}' WHERE artifact_id = %L$$, concord_test.id('a1')),
    'CN007', 'an_artifact_changes_only_its_status', 'CN007: its content is immutable'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.artifacts SET status = 'published' WHERE artifact_id = %L$$, concord_test.id('a1')),
    'CN001', 'an_artifact_status_change_follows_the_state_machine', 'CN001: draft -> published skips final'
);
SELECT lives_ok(
    format($$UPDATE concord.artifacts SET status = 'published' WHERE artifact_id = %L$$, concord_test.id('a1v2')),
    'final -> published'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.artifacts SET status = 'final' WHERE artifact_id = %L$$, concord_test.id('a1v2')),
    'CN001', 'an_artifact_status_change_follows_the_state_machine', 'CN001: published -> final is not an edge'
);
SELECT lives_ok(
    format($$UPDATE concord.artifacts SET status = 'superseded' WHERE artifact_id = %L$$, concord_test.id('a1v2')),
    'published -> superseded'
);
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.artifacts WHERE artifact_id = %L$$, concord_test.id('a1')),
    'CN007', 'artifacts_are_not_deleted', 'CN007: an artifact is never deleted'
);
SELECT concord_test.throws_rule('TRUNCATE concord.artifacts, concord.artifact_lineage', 'CN007', 'artifacts_are_not_truncated', 'CN007: artifacts are not truncated');
SELECT ok((SELECT count(*) FROM concord.domain_events WHERE target_type = 'artifact'
           AND target_id = concord_test.id('a1v2')::text
           AND event_type IN ('artifact_created', 'artifact_status_changed')) = 3,
          'audit: an artifact''s creation and status changes are recorded');

SELECT * FROM finish();
ROLLBACK;
