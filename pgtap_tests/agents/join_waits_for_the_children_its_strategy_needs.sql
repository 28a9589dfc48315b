-- Joining a swarm (spec 53, 68.3): only a running swarm is joined, and not
-- while a child its strategy needs is live; the decision is stored and a
-- second join returns it; best_of_n picks by recorded score, first_success
-- cancels the children still live, human_review asks a person through a
-- concord.swarm_review command, delegated strategies stay joining for the
-- coordinator.
BEGIN;
SELECT plan(22);

\ir ../lib/swarm_fixtures.sql

-- ===========================================================================
-- Joining a swarm
-- ===========================================================================
SELECT pg_temp.swarm('j_all', 'all_success') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('ja1', 'j_all', 'j_all_root', '{create_artifact}') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('ja2', 'j_all', 'j_all_root', '{create_artifact}') IS NOT NULL AS fixture \gset
SELECT pg_temp.finish('ja1', 'succeeded', '{"ok": true}') AS fixture \gset
SELECT concord_test.throws_rule(format('SELECT concord._join_swarm(%L, %L)', concord_test.id('j_all'), 'alice'),
                 'CN011', 'a_swarm_is_not_joined_while_children_are_live', 'CN011: all_success is not joined while a child is live');
SELECT throws_like(format('SELECT concord._join_swarm(%L, %L)', concord_test.id('j_all'), 'alice'),
                   '%ja2%', 'the refusal names the live child');
SELECT pg_temp.finish('ja2', 'succeeded', '{"ok": true}') AS fixture \gset
INSERT INTO answers VALUES ('j_all', concord._join_swarm(concord_test.id('j_all'), 'alice'));
SELECT is((SELECT answer ->> 'decision' FROM answers WHERE label = 'j_all'), 'succeeded',
          '_join_swarm: all children succeeded -> succeeded');
SELECT is((SELECT status || '/' || (join_decision ->> 'decision') FROM concord.swarm_runs
           WHERE swarm_run_id = concord_test.id('j_all')), 'succeeded/succeeded',
          '_join_swarm: the swarm is succeeded and keeps its decision');
SELECT is((SELECT count(*)::integer FROM concord.domain_events WHERE swarm_run_id = concord_test.id('j_all')
           AND event_type = 'swarm_joined' AND purpose = 'event'), 1, '_join_swarm: a swarm_joined event');
SELECT is(concord._join_swarm(concord_test.id('j_all'), 'bob'), (SELECT answer FROM answers WHERE label = 'j_all'),
          '_join_swarm: joining again returns the stored decision');
SELECT is((SELECT count(*)::integer FROM concord.domain_events WHERE swarm_run_id = concord_test.id('j_all')
           AND event_type = 'swarm_joined'), 1, '_join_swarm: and writes nothing');

-- best_of_n through artifacts and evaluations
SELECT pg_temp.swarm('j_best', 'best_of_n') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jb1', 'j_best', 'j_best_root', '{create_artifact}') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jb2', 'j_best', 'j_best_root', '{create_artifact}') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jbe', 'j_best', 'j_best_root', '{evaluate_output,read_artifact}', '{}', 'reviewer')
       IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('jb1_art', (concord._create_artifact(pg_temp.run('jb1'),
    '{"artifact_type": "draft", "name": "d1", "content": "one", "score": 0.4}') ->> 'artifact_id')::uuid)
       IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('jb2_art', (concord._create_artifact(pg_temp.run('jb2'),
    '{"artifact_type": "draft", "name": "d2", "content": "two", "score": 0.5}') ->> 'artifact_id')::uuid)
       IS NOT NULL AS fixture \gset
SELECT concord._evaluate_output(pg_temp.run('jbe'), jsonb_build_object(
    'artifact_id', concord_test.id('jb1_art'), 'evaluation_type', 'judge', 'decision', 'pass',
    'confidence', 0.7, 'score', 0.95)) IS NOT NULL AS fixture \gset
SELECT pg_temp.finish('jb1', 'succeeded') || pg_temp.finish('jb2', 'succeeded') || pg_temp.finish('jbe', 'succeeded')
       AS fixture \gset
SELECT is(concord._join_swarm(concord_test.id('j_best'), 'alice') ->> 'selected_artifact_id',
          concord_test.id('jb1_art')::text, '_join_swarm: best_of_n picks by the evaluation''s score');
SELECT is((SELECT result ->> 'selected_artifact_id' FROM concord.swarm_runs
           WHERE swarm_run_id = concord_test.id('j_best')), concord_test.id('jb1_art')::text,
          '_join_swarm: the swarm''s result names the selected artifact');

-- first_success cancels the children still live
SELECT pg_temp.swarm('j_first', 'first_success') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jf1', 'j_first', 'j_first_root', '{}') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jf2', 'j_first', 'j_first_root', '{}') IS NOT NULL AS fixture \gset
SELECT concord_test.throws_rule(format('SELECT concord._join_swarm(%L, %L)', concord_test.id('j_first'), 'alice'),
                 'CN011', 'a_swarm_is_not_joined_while_children_are_live', 'CN011: first_success with no child succeeded and some live');
SELECT pg_temp.finish('jf2', 'succeeded') AS fixture \gset
SELECT is(concord._join_swarm(concord_test.id('j_first'), 'alice') ->> 'selected_agent_run_id',
          concord_test.id('jf2')::text, '_join_swarm: first_success joins once one child succeeded');
SELECT is((pg_temp.run('jf1')).status, 'cancelled', '_join_swarm: first_success cancels the others still live');

-- human_review asks a person through a concord.swarm_review command
SELECT pg_temp.swarm('j_human', 'human_review') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jh1', 'j_human', 'j_human_root', '{}') IS NOT NULL AS fixture \gset
SELECT pg_temp.finish('jh1', 'succeeded') AS fixture \gset
INSERT INTO answers VALUES ('j_human', concord._join_swarm(concord_test.id('j_human'), 'alice'));
SELECT is((SELECT status FROM concord.swarm_runs WHERE swarm_run_id = concord_test.id('j_human')),
          'waiting_for_approval', '_join_swarm: human_review -> waiting_for_approval');
SELECT is((SELECT c.command_type || '/' || c.status FROM concord.commands AS c
           WHERE c.command_id = (SELECT (answer ->> 'command_id')::uuid FROM answers WHERE label = 'j_human')),
          'concord.swarm_review/waiting_for_approval', '_join_swarm: a swarm review command waits for approval');
SELECT ok((SELECT answer ->> 'approval_id' IS NOT NULL FROM answers WHERE label = 'j_human'),
          '_join_swarm: the decision names the approval');
SELECT is(concord.resolve_approval((SELECT (answer ->> 'approval_id')::uuid FROM answers WHERE label = 'j_human'),
                                   'approved', 'ann') ->> 'approval_id',
          (SELECT answer ->> 'approval_id' FROM answers WHERE label = 'j_human'), 'fixture: ann approves the review');
SELECT lives_ok(
    format('SELECT concord._swarm_review_settled(c) FROM concord.commands AS c WHERE c.command_id = %L',
           (SELECT answer ->> 'command_id' FROM answers WHERE label = 'j_human')),
    '_swarm_review_settled runs (again: it is idempotent)'
);
SELECT is((SELECT status FROM concord.swarm_runs WHERE swarm_run_id = concord_test.id('j_human')), 'succeeded',
          '_swarm_review_settled: an approved review -> the swarm succeeded');

-- delegated strategies stay joining for the coordinator
SELECT pg_temp.swarm('j_deleg', 'coordinator_synthesis') IS NOT NULL AS fixture \gset
SELECT pg_temp.agent('jd1', 'j_deleg', 'j_deleg_root', '{}') IS NOT NULL AS fixture \gset
SELECT is(concord._join_swarm(concord_test.id('j_deleg'), 'alice') ->> 'decision', 'delegated',
          '_join_swarm: coordinator_synthesis is delegated (live children allowed)');
SELECT is((SELECT status FROM concord.swarm_runs WHERE swarm_run_id = concord_test.id('j_deleg')), 'joining',
          '_join_swarm: the swarm stays joining for its coordinator');

SELECT concord_test.throws_rule(format('SELECT concord._join_swarm(%L, %L)', gen_random_uuid(), 'alice'), 'CN006', 'the_swarm_run_exists',
                 'CN006: joining an unknown swarm');
WITH x AS (
    INSERT INTO concord.swarm_runs (command_id, name, objective, execution_mode, join_strategy, max_agents, trace_id,
                                    created_by)
    VALUES (concord_test.id('cmd'), 'j_created', 'not started', 'parallel', 'all_success', 2, '', 'alice')
    RETURNING swarm_run_id
)
SELECT pg_temp.keep('j_created', x.swarm_run_id) IS NOT NULL AS fixture FROM x \gset
SELECT concord_test.throws_rule(
    format('SELECT concord._join_swarm(%L, %L)', concord_test.id('j_created'), 'alice'),
    'CN011', 'only_a_running_swarm_is_joined', 'CN011: only a running swarm is joined'
);

SELECT * FROM finish();
ROLLBACK;
