-- Artifacts (spec 24, 63): an agent creates them in its own swarm and for the
-- swarm's command, only while live and only with its tool (create_artifact,
-- or evaluate_output for an evaluation); a new artifact starts draft or final;
-- the versions of one name are numbered 1, 2, ...; a raw insert cannot forge
-- the swarm, command, version, creator or creation time; a finished swarm
-- takes no new artifact; an invalid document is refused with every problem.
-- (Who may make an evaluation: only_the_evaluate_tool_makes_what_a_join_counts.sql.)
BEGIN;
SELECT plan(16);

\ir ../lib/swarm_fixtures.sql

-- ===========================================================================
-- Artifacts
-- ===========================================================================
INSERT INTO answers VALUES ('a1', concord._create_artifact(pg_temp.run('w1'),
    '{"artifact_type": "report", "name": "revenue", "content": {"total": 10}, "score": 0.7}'));
INSERT INTO answers VALUES ('a1v2', concord._create_artifact(pg_temp.run('w1'),
    '{"artifact_type": "report", "name": "revenue", "location": "s3://bucket/revenue-v2.pdf", "status": "final"}'));
SELECT pg_temp.keep('a1', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a1'))
       IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('a1v2', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a1v2'))
       IS NOT NULL AS fixture \gset
SELECT is((SELECT (answer ->> 'version') || '/' || (answer ->> 'status') FROM answers WHERE label = 'a1'),
          '1/draft', '_create_artifact: version 1, draft by default');
SELECT is((SELECT (answer ->> 'version') || '/' || (answer ->> 'status') FROM answers WHERE label = 'a1v2'),
          '2/final', '_create_artifact: the same name again is version 2');
SELECT is((SELECT (answer ->> 'swarm_run_id') || '/' || (answer ->> 'command_id') || '/' || (answer ->> 'created_by')
           FROM answers WHERE label = 'a1'),
          concord_test.id('main') || '/' || concord_test.id('cmd') || '/agent:' || concord_test.id('w1'),
          '_create_artifact: the artifact belongs to the agent''s swarm and its command');
SELECT concord_test.throws_rule(
    $$SELECT concord._create_artifact(pg_temp.run('w1'), '{"name": " ", "colour": 1, "status": "published"}')$$,
    'CN005', 'artifact_is_valid', 'CN005: _create_artifact refuses an invalid document'
);
SELECT ok(concord_test.error_detail(
    $$SELECT concord._create_artifact(pg_temp.run('w1'), '{"name": " ", "colour": 1, "status": "published"}')$$)
          ~ 'unknown keys: colour.*artifact_type is required.*name is required.*location or content.*status must',
          'CN005: DETAIL lists every artifact problem');

-- raw inserts
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, agent_run_id, artifact_type, name, content, created_by)
             VALUES (%L, %L, 'report', 'x', '{}', 'me')$$, concord_test.id('cmd'), concord_test.id('bare')),
    'CN004', 'an_agent_creates_artifacts_only_with_its_tool', 'CN004: an agent without create_artifact creates no artifact'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, agent_run_id, artifact_type, name, content, created_by)
             VALUES (%L, %L, 'report', 'x', '{}', 'me')$$, concord_test.id('cmd'), concord_test.id('ev')),
    'CN004', 'an_agent_creates_artifacts_only_with_its_tool', 'CN004: evaluate_output allows only evaluations'
);
SELECT lives_ok(
    format($$INSERT INTO concord.artifacts (command_id, agent_run_id, artifact_type, name, content, created_by)
             VALUES (%L, %L, 'evaluation', 'ev-raw', '{}', 'me')$$, concord_test.id('cmd'), concord_test.id('ev')),
    'a raw evaluation by an agent holding evaluate_output passes the insert (its evaluate_output step is checked at commit)'
);
SELECT throws_ok(
    format($$INSERT INTO concord.artifacts (command_id, agent_run_id, artifact_type, name, content, created_by)
             VALUES (%L, %L, 'report', 'x', '{}', 'me')$$, concord_test.id('cmd'), concord_test.id('gone')),
    'CN011', NULL, 'CN011: a finished agent creates no artifact'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, agent_run_id, artifact_type, name, content, status,
                                            created_by)
             VALUES (%L, %L, 'report', 'x', '{}', 'published', 'me')$$, concord_test.id('cmd'),
           concord_test.id('w1')),
    'CN001', 'a_new_artifact_starts_draft_or_final', 'CN001: a new artifact starts as draft or final'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, swarm_run_id, artifact_type, name, content, created_by)
             VALUES (%L, %L, 'report', 'x', '{}', 'me')$$, concord_test.command_at('fixture.work', 'created'),
           concord_test.id('main')),
    'CN004', 'an_artifact_belongs_to_its_swarms_command', 'CN004: a swarm''s artifact belongs to the swarm''s command'
);
WITH x AS (
    INSERT INTO concord.artifacts (command_id, swarm_run_id, agent_run_id, artifact_type, name, content, version,
                                   created_by, created_at)
    VALUES (concord_test.command_at('fixture.work', 'created'), concord_test.id('other'), concord_test.id('w1'), 'report',
            'revenue', '{"forged": true}', 42, 'mallory', '2000-01-01')
    RETURNING artifact_id
)
SELECT pg_temp.keep('raw_art', x.artifact_id) IS NOT NULL AS fixture FROM x \gset
SELECT is((SELECT swarm_run_id || '/' || command_id || '/' || version || '/' || created_by
           FROM concord.artifacts WHERE artifact_id = concord_test.id('raw_art')),
          concord_test.id('main') || '/' || concord_test.id('cmd') || '/3/agent:' || concord_test.id('w1'),
          'a raw insert by an agent: swarm, command, version and creator are forced');
SELECT ok((SELECT created_at > '2000-01-01' FROM concord.artifacts WHERE artifact_id = concord_test.id('raw_art')),
          'a raw insert: created_at is forced');

SELECT concord_test.throws_rule(
    $$SELECT concord._create_artifact(NULL::concord.agent_runs, '{"artifact_type": "report", "name": "x",
                                                                 "content": 1}')$$,
    'CN008', 'an_agent_tool_is_called_for_an_agent_run', 'CN008: an artifact is created by an agent run'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, swarm_run_id, artifact_type, name, content, created_by)
             VALUES (%L, %L, 'report', 'x', '{}', 'me')$$, concord_test.id('cmd'), gen_random_uuid()),
    'CN006', 'an_artifacts_swarm_run_exists', 'CN006: an artifact''s swarm run exists'
);
UPDATE concord.swarm_runs SET status = 'cancelled' WHERE swarm_run_id = concord_test.id('other');
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, swarm_run_id, artifact_type, name, content, created_by)
             VALUES (%L, %L, 'report', 'x', '{}', 'me')$$, concord_test.id('cmd'), concord_test.id('other')),
    'CN011', 'a_finished_swarm_takes_no_new_artifact', 'CN011: a finished swarm takes no new artifact'
);

SELECT * FROM finish();
ROLLBACK;
