-- Reading and evaluating artifacts (spec 63, 66): an agent reads and
-- evaluates only artifacts of its own swarm; an evaluation is a structured
-- document (pass | fail | revise | select, with a confidence) stored as a
-- final evaluation artifact derived from what it evaluates, and recorded only
-- by an agent holding evaluate_output. The swarm views show the tree and each
-- artifact's evaluations.
BEGIN;
SELECT plan(17);

\ir ../lib/swarm_fixtures.sql

INSERT INTO answers VALUES ('a1', concord._create_artifact(pg_temp.run('w1'),
    '{"artifact_type": "report", "name": "revenue", "content": {"total": 10}, "score": 0.7}'));
INSERT INTO answers VALUES ('a1v2', concord._create_artifact(pg_temp.run('w1'),
    '{"artifact_type": "report", "name": "revenue", "location": "s3://bucket/revenue-v2.pdf", "status": "final"}'));
SELECT pg_temp.keep('a1', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a1'))
       IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('a1v2', (SELECT (answer ->> 'artifact_id')::uuid FROM answers WHERE label = 'a1v2'))
       IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('o_art', (concord._create_artifact(pg_temp.run('other_root'),
    '{"artifact_type": "report", "name": "elsewhere", "content": 1}') ->> 'artifact_id')::uuid) IS NOT NULL AS fixture \gset

-- read and evaluate
SELECT is(concord._read_artifact(pg_temp.run('ev'), jsonb_build_object('artifact_id', concord_test.id('a1')))
          -> 'content', '{"total": 10}', '_read_artifact: an artifact of the agent''s swarm');
SELECT concord_test.throws_rule(
    format($$SELECT concord._read_artifact(pg_temp.run('ev'), '{"artifact_id": "%s"}')$$, concord_test.id('o_art')),
    'CN004', 'an_agent_reads_only_its_swarms_artifacts', 'CN004: _read_artifact of another swarm'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord._read_artifact(pg_temp.run('ev'), '{"artifact_id": "%s"}')$$, gen_random_uuid()),
    'CN006', 'the_artifact_exists', 'CN006: _read_artifact of an unknown artifact'
);
SELECT concord_test.throws_rule($$SELECT concord._read_artifact(pg_temp.run('ev'), '{"artifact_id": 7}')$$, 'CN008', 'read_artifact_names_an_artifact_id',
                 'CN008: _read_artifact needs an artifact id');
INSERT INTO answers VALUES ('eval', concord._evaluate_output(pg_temp.run('ev'), jsonb_build_object(
    'artifact_id', concord_test.id('a1'), 'evaluation_type', 'reviewer_agent', 'decision', 'pass',
    'confidence', 0.91, 'issues', '[]'::jsonb, 'recommendation', 'publish')));
SELECT is((SELECT (answer ->> 'artifact_type') || '/' || (answer ->> 'status') || '/' || (answer ->> 'score')
           FROM answers WHERE label = 'eval'), 'evaluation/final/0.91',
          '_evaluate_output: a final evaluation artifact, scored by its confidence by default');
SELECT is((SELECT answer -> 'parent_artifact_ids' FROM answers WHERE label = 'eval'),
          jsonb_build_array(concord_test.id('a1')), '_evaluate_output: derived from the evaluated artifact');
SELECT is((SELECT answer #>> '{content,decision}' FROM answers WHERE label = 'eval'), 'pass',
          '_evaluate_output: its content is the structured evaluation (spec 66)');
SELECT concord_test.throws_rule(
    format($$SELECT concord._evaluate_output(pg_temp.run('ev'), '{"artifact_id": "%s", "evaluation_type": "r",
              "decision": "maybe", "confidence": 0.5}')$$, concord_test.id('a1')),
    'CN005', 'evaluation_is_valid', 'CN005: an evaluation''s decision is pass, fail, revise or select'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord._evaluate_output(pg_temp.run('ev'), '{"artifact_id": "%s", "evaluation_type": "r",
              "decision": "pass", "confidence": 0.5}')$$, concord_test.id('o_art')),
    'CN004', 'an_agent_reads_only_its_swarms_artifacts', 'CN004: an agent evaluates only artifacts of its swarm'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord._evaluate_output(pg_temp.run('bare'), '{"artifact_id": "%s", "evaluation_type": "r",
              "decision": "pass", "confidence": 0.5}')$$, concord_test.id('a1')),
    'CN012', 'an_evaluation_is_made_by_the_evaluate_output_tool', 'CN012: an agent without evaluate_output records no evaluation'
);

SELECT is((SELECT count(*)::integer FROM concord.swarm_tree WHERE swarm_run_id = concord_test.id('main')), 5,
          'swarm_tree: one row per agent run of the swarm');
SELECT is((SELECT evaluations::integer FROM concord.swarm_artifacts WHERE artifact_id = concord_test.id('a1')), 1,
          'swarm_artifacts: counts an artifact''s evaluations');
SELECT lives_ok('SELECT * FROM concord.agent_step_log', 'agent_step_log can be read');
SELECT concord_test.throws_rule(
    $$SELECT concord._read_artifact(NULL::concord.agent_runs, '{}')$$,
    'CN008', 'an_agent_tool_is_called_for_an_agent_run', 'CN008: an artifact is read by an agent run'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._evaluate_output(NULL::concord.agent_runs, '{}')$$,
    'CN008', 'an_agent_tool_is_called_for_an_agent_run', 'CN008: an evaluation is made by an agent run'
);
SELECT concord_test.throws_rule(
    $$SELECT concord._evaluate_output(pg_temp.run('ev'), '[]')$$,
    'CN005', 'evaluation_is_valid', 'CN005: an evaluation is a JSON object'
);
SELECT concord_test.throws_rule(
    format('SELECT concord.set_artifact_status(%L, %L, %L)', gen_random_uuid(), 'final', 'alice'),
    'CN006', 'the_artifact_exists', 'CN006: set_artifact_status of an unknown artifact'
);

SELECT * FROM finish();
ROLLBACK;
