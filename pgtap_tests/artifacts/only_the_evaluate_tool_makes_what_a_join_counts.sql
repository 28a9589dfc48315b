-- Only the evaluate_output tool makes what a join counts (spec 66, 68.3): an
-- artifact of type evaluation is refused (CN012,
-- an_evaluation_is_made_by_the_evaluate_output_tool) when create_artifact asks
-- for one through the gateway (the answer is denied, the step recorded), when
-- an agent without evaluate_output or no agent at all inserts one raw, and, at
-- commit, when an agent holding the tool inserts one raw (no evaluate_output
-- step of its names it). An evaluation's lineage names only the artifact it
-- evaluated (an_evaluation_derives_only_from_the_artifact_it_evaluates). The
-- swarm's children, as a join reads them, carry the tool's evaluation only.
BEGIN;
SELECT plan(12);

\ir ../lib/swarm_fixtures.sql

-- A raw evaluation by the agent labelled agent of the artifact labelled of,
-- then the commit-time checks run at once.
CREATE FUNCTION pg_temp.raw_evaluation(agent text, of text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    INSERT INTO concord.artifacts (command_id, agent_run_id, artifact_type, name, content, status, created_by)
    VALUES (concord_test.id('cmd'), concord_test.id(agent), 'evaluation', 'forged',
            jsonb_build_object('artifact_id', concord_test.id(of), 'decision', 'pass', 'confidence', 1), 'final', 'me');
    SET CONSTRAINTS concord.artifacts_evaluation_is_made_by_its_tool IMMEDIATE;
    SET CONSTRAINTS concord.artifacts_evaluation_is_made_by_its_tool DEFERRED;
END
$$;

INSERT INTO answers VALUES ('a1', concord.create_artifact(concord_test.id('w1'),
    '{"artifact_type": "report", "name": "revenue", "content": {"total": 10}, "status": "final"}'));
SELECT pg_temp.keep('a1', (SELECT (answer #>> '{output,artifact_id}')::uuid FROM answers WHERE label = 'a1'))
       IS NOT NULL AS fixture \gset
INSERT INTO answers VALUES ('a2', concord.create_artifact(concord_test.id('w1'),
    '{"artifact_type": "report", "name": "costs", "content": {"total": 3}, "status": "final"}'));
SELECT pg_temp.keep('a2', (SELECT (answer #>> '{output,artifact_id}')::uuid FROM answers WHERE label = 'a2'))
       IS NOT NULL AS fixture \gset

-- through the gateway
INSERT INTO answers VALUES ('by_create', concord.create_artifact(concord_test.id('w1'), jsonb_build_object(
    'artifact_type', 'evaluation', 'name', 'self-praise', 'status', 'final',
    'content', jsonb_build_object('artifact_id', concord_test.id('a1'), 'decision', 'select', 'confidence', 1))));
SELECT is((SELECT jsonb_build_object('d', answer -> 'decision', 'c', answer -> 'code') FROM answers
           WHERE label = 'by_create'),
          '{"d": "denied", "c": "CN012"}',
          'gateway: create_artifact of type evaluation is denied, CN012, by an agent without evaluate_output');
INSERT INTO answers VALUES ('by_root', concord.create_artifact(concord_test.id('main_root'), jsonb_build_object(
    'artifact_type', 'evaluation', 'name', 'select-it', 'status', 'final',
    'content', jsonb_build_object('artifact_id', concord_test.id('a1'), 'decision', 'select', 'confidence', 1))));
SELECT is((SELECT jsonb_build_object('d', answer -> 'decision', 'c', answer -> 'code') FROM answers
           WHERE label = 'by_root'),
          '{"d": "denied", "c": "CN012"}',
          'gateway: create_artifact of type evaluation is denied, CN012, even to an agent that also holds evaluate_output');
SELECT is((SELECT count(*) FROM concord.agent_steps
           WHERE agent_run_id IN (concord_test.id('w1'), concord_test.id('main_root'))
             AND tool_name = 'create_artifact' AND decision = 'denied'),
          2::bigint, 'gateway: both refusals are recorded as denied steps the agents observe');
SELECT is((SELECT count(*) FROM concord.artifacts WHERE swarm_run_id = concord_test.id('main')
           AND artifact_type = 'evaluation'), 0::bigint, 'gateway: no evaluation was made by create_artifact');

-- raw inserts
SELECT concord_test.throws_rule($$SELECT pg_temp.raw_evaluation('w1', 'a1')$$,
    'CN012', 'an_evaluation_is_made_by_the_evaluate_output_tool',
    'CN012: a raw evaluation by an agent without evaluate_output');
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, swarm_run_id, artifact_type, name, content, status, created_by)
             VALUES (%L, %L, 'evaluation', 'forged', '{"decision": "pass"}', 'final', 'owner')$$,
           concord_test.id('cmd'), concord_test.id('main')),
    'CN012', 'an_evaluation_is_made_by_the_evaluate_output_tool', 'CN012: a raw evaluation by no agent at all');
SELECT concord_test.throws_rule($$SELECT pg_temp.raw_evaluation('ev', 'a1')$$,
    'CN012', 'an_evaluation_is_made_by_the_evaluate_output_tool',
    'CN012 at commit: a raw evaluation by an agent holding evaluate_output that no evaluate_output call made');

-- the tool
INSERT INTO answers VALUES ('eval', concord.evaluate_output(concord_test.id('ev'), jsonb_build_object(
    'artifact_id', concord_test.id('a1'), 'evaluation_type', 'quality', 'decision', 'pass', 'confidence', 0.8)));
SELECT is((SELECT answer ->> 'decision' FROM answers WHERE label = 'eval'), 'allowed',
          'evaluate_output makes the evaluation');
SELECT pg_temp.keep('eval', (SELECT (answer #>> '{output,artifact_id}')::uuid FROM answers WHERE label = 'eval'))
       IS NOT NULL AS fixture \gset
SELECT lives_ok('SET CONSTRAINTS concord.artifacts_evaluation_is_made_by_its_tool IMMEDIATE',
                'its commit-time check passes: an allowed evaluate_output step names it');
SET CONSTRAINTS concord.artifacts_evaluation_is_made_by_its_tool DEFERRED;
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id) VALUES (%L, %L)$$,
           concord_test.id('eval'), concord_test.id('a2')),
    'CN012', 'an_evaluation_derives_only_from_the_artifact_it_evaluates',
    'CN012: a raw lineage row cannot make an evaluation count for another artifact');

-- what a join reads
SELECT is((SELECT jsonb_agg(e.ev -> 'evaluation_artifact_id')
           FROM jsonb_array_elements(concord._swarm_children(concord_test.id('main'))) AS c (child)
           CROSS JOIN LATERAL jsonb_array_elements(c.child -> 'artifacts') AS a (art)
           CROSS JOIN LATERAL jsonb_array_elements(a.art -> 'evaluations') AS e (ev)),
          jsonb_build_array(concord_test.id('eval')), 'a join counts the one evaluation evaluate_output made');
SELECT is((SELECT count(*) FROM concord.artifact_lineage WHERE artifact_id = concord_test.id('eval')),
          1::bigint, 'the evaluation derives from the artifact it evaluated only');

SELECT * FROM finish();
ROLLBACK;
