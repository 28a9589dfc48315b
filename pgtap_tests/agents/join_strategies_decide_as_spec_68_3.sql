-- concord.join_children (spec 53, 68.3), pure: each join strategy decides from
-- the children's statuses, results, artifacts and evaluations as the spec
-- says (all_success, first_success, quorum, evaluator_selection, best_of_n,
-- consensus, human_review; the others are delegated to the coordinator); an
-- unknown strategy, malformed children or malformed options are refused
-- (CN008).
BEGIN;
SELECT plan(31);

-- ===========================================================================
-- join_children, pure (spec 68.3)
-- ===========================================================================
CREATE FUNCTION pg_temp.kid(id text, status text, result jsonb DEFAULT NULL, artifacts jsonb DEFAULT '[]')
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT jsonb_build_object('agent_run_id', id, 'agent_name', 'n' || id, 'agent_role', 'worker',
                              'status', status, 'result', result, 'artifacts', artifacts)
$$;

SELECT is(concord.join_children('all_success', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                                 pg_temp.kid('b', 'succeeded'))) ->> 'decision',
          'succeeded', 'all_success: every child succeeded -> succeeded');
SELECT is(concord.join_children('all_success', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                                 pg_temp.kid('b', 'failed'))) ->> 'decision',
          'partially_succeeded', 'all_success: some succeeded -> partially_succeeded');
SELECT is(concord.join_children('all_success', jsonb_build_array(pg_temp.kid('a', 'failed'),
                                                                 pg_temp.kid('b', 'cancelled'))) ->> 'decision',
          'failed', 'all_success: none succeeded -> failed');
SELECT is(concord.join_children('all_success', '[]') ->> 'decision', 'failed',
          'all_success: no child at all -> failed');
SELECT is(concord.join_children('all_success', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                                 pg_temp.kid('b', 'failed'),
                                                                 pg_temp.kid('c', 'running')))
          - ARRAY['strategy', 'decision', 'summary', 'selected_artifact_id', 'selected_agent_run_id', 'confidence',
                  'artifact_ids'],
          '{"requires_human_review": false, "children_total": 3, "children_succeeded": 1, "children_failed": 1,
            "children_live": 1}',
          'join_children counts the children (spec 68.3 shape)');

SELECT is(concord.join_children('first_success', jsonb_build_array(
              pg_temp.kid('a', 'failed'), pg_temp.kid('b', 'succeeded', NULL,
                                                      '[{"artifact_id": "art-b", "content": 1}]'),
              pg_temp.kid('c', 'succeeded'))) - ARRAY['summary', 'artifact_ids', 'children_total',
                                                        'children_succeeded', 'children_failed', 'children_live'],
          '{"strategy": "first_success", "decision": "succeeded", "selected_agent_run_id": "b",
            "selected_artifact_id": "art-b", "confidence": null, "requires_human_review": false}',
          'first_success: the first succeeded child in order, and its artifact');
SELECT is(concord.join_children('first_success', jsonb_build_array(pg_temp.kid('a', 'failed'))) ->> 'decision',
          'failed', 'first_success: no child succeeded -> failed');

SELECT is(concord.join_children('quorum', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                            pg_temp.kid('b', 'succeeded'),
                                                            pg_temp.kid('c', 'failed'))) ->> 'decision',
          'succeeded', 'quorum: a majority (2 of 3) by default');
SELECT is(concord.join_children('quorum', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                            pg_temp.kid('b', 'failed'),
                                                            pg_temp.kid('c', 'failed'))) ->> 'decision',
          'failed', 'quorum: 1 of 3 is no majority');
SELECT is(concord.join_children('quorum', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                            pg_temp.kid('b', 'succeeded'),
                                                            pg_temp.kid('c', 'failed')), '{"quorum": 3}')
          ->> 'decision', 'failed', 'quorum: a count (3) that is not met');
SELECT is(concord.join_children('quorum', jsonb_build_array(pg_temp.kid('a', 'succeeded'),
                                                            pg_temp.kid('b', 'failed'),
                                                            pg_temp.kid('c', 'failed'),
                                                            pg_temp.kid('d', 'failed')), '{"quorum": 0.25}')
          ->> 'decision', 'succeeded', 'quorum: a fraction (0.25 of 4 = 1)');
SELECT concord_test.throws_rule($$SELECT concord.join_children('quorum', '[]', '{"quorum": -1}')$$, 'CN008', 'quorum_is_a_count_or_a_fraction',
                 'CN008: a quorum is a count or a fraction');

SELECT is(concord.join_children('evaluator_selection', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', NULL, '[{"artifact_id": "x1", "evaluations": [
                  {"decision": "pass", "confidence": 0.7}, {"decision": "fail", "confidence": 0.99}]}]'),
              pg_temp.kid('b', 'succeeded', NULL, '[{"artifact_id": "x2", "evaluations": [
                  {"decision": "select", "confidence": 0.8}]}]'))) ->> 'selected_artifact_id',
          'x2', 'evaluator_selection: the artifact a select or pass evaluation picks with the highest confidence');
SELECT is(concord.join_children('evaluator_selection', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', NULL, '[{"artifact_id": "x1", "evaluations": [
                  {"decision": "fail", "confidence": 0.99}]}]'))) ->> 'decision',
          'failed', 'evaluator_selection: nothing selected or passed -> failed');

SELECT is(concord.join_children('best_of_n', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', NULL, '[{"artifact_id": "x1", "score": 0.6,
                  "evaluations": [{"decision": "pass", "confidence": 0.5, "score": 0.9}]}]'),
              pg_temp.kid('b', 'succeeded', NULL, '[{"artifact_id": "x2", "score": 0.8}]'))) ->> 'selected_artifact_id',
          'x1', 'best_of_n: the highest recorded score (an evaluation''s score counts)');
SELECT is(concord.join_children('best_of_n', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', NULL, '[{"artifact_id": "x9", "score": 0.8}]'),
              pg_temp.kid('b', 'succeeded', NULL, '[{"artifact_id": "x3", "score": 0.8}]'))) ->> 'selected_artifact_id',
          'x3', 'best_of_n: a tie is broken by artifact id');
SELECT is(concord.join_children('best_of_n', jsonb_build_array(
              pg_temp.kid('a', 'failed', NULL, '[{"artifact_id": "x1", "score": 1}]'),
              pg_temp.kid('b', 'succeeded', NULL, '[{"artifact_id": "x2", "score": 0.2}]'))) ->> 'selected_artifact_id',
          'x2', 'best_of_n: only succeeded children compete');
SELECT is(concord.join_children('best_of_n', jsonb_build_array(
              pg_temp.kid('b', 'succeeded', NULL, '[{"artifact_id": "x2", "score": 0.2}]')), '{"min_score": 0.5}')
          ->> 'decision', 'failed', 'best_of_n: below min_score -> failed');

SELECT is(concord.join_children('consensus', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', '{"answer": 42}'), pg_temp.kid('b', 'succeeded', '{"answer": 42}'),
              pg_temp.kid('c', 'failed'))) -> 'content', '{"answer": 42}',
          'consensus: all succeeded children agree -> succeeded with that content');
SELECT is(concord.join_children('consensus', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', '{"answer": 42}'), pg_temp.kid('b', 'succeeded', '{"answer": 41}')))
          ->> 'decision', 'failed', 'consensus: disagreement -> failed');
SELECT ok(concord.join_children('consensus', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', '{"answer": 42}'), pg_temp.kid('b', 'succeeded', '{"answer": 41}')))
          ->> 'summary' LIKE 'No consensus%', 'consensus: the summary says no consensus');
SELECT is(concord.join_children('consensus', jsonb_build_array(
              pg_temp.kid('a', 'succeeded', NULL, '[{"artifact_id": "x1", "content": "yes"}]'),
              pg_temp.kid('b', 'succeeded', NULL, '[{"artifact_id": "x2", "content": "no"}]'),
              pg_temp.kid('c', 'succeeded', NULL, '[{"artifact_id": "x3", "content": "yes"}]')),
              '{"min_agreement": 2}') - ARRAY['summary', 'artifact_ids', 'children_total', 'children_succeeded',
                                               'children_failed', 'children_live', 'strategy',
                                               'requires_human_review'],
          '{"decision": "succeeded", "content": "yes", "agreeing": 2, "min_agreement": 2, "confidence": 0.6667,
            "selected_artifact_id": "x1", "selected_agent_run_id": "a"}',
          'consensus: min_agreement 2 of 3 agreeing artifacts');

SELECT is(concord.join_children('human_review', jsonb_build_array(pg_temp.kid('a', 'succeeded')))
          - ARRAY['summary', 'artifact_ids', 'children_total', 'children_succeeded', 'children_failed',
                  'children_live', 'selected_artifact_id', 'selected_agent_run_id', 'confidence'],
          '{"strategy": "human_review", "decision": "waiting_for_approval", "requires_human_review": true}',
          'human_review: waits for a person');
SELECT is(concord.join_children('coordinator_synthesis', '[]') ->> 'delegated_to', 'coordinator',
          'coordinator_synthesis: delegated to the coordinator');
SELECT is(concord.join_children('map_reduce', '[]') ->> 'decision', 'delegated', 'map_reduce: delegated');
SELECT is(concord.join_children('ranked_review', '[]') ->> 'decision', 'delegated', 'ranked_review: delegated');
SELECT concord_test.throws_rule($$SELECT concord.join_children('vote', '[]')$$, 'CN008', 'join_children_takes_a_known_strategy', 'CN008: an unknown strategy');
SELECT concord_test.throws_rule($$SELECT concord.join_children('all_success', '[1]')$$, 'CN008', 'join_children_are_well_formed',
                 'CN008: malformed children');

SELECT concord_test.throws_rule($$SELECT concord.join_children('all_success', '[]', '[]')$$, 'CN008',
                                'join_options_are_a_json_object', 'CN008: join options are a JSON object');
SELECT concord_test.throws_rule($$SELECT concord.join_children('best_of_n', '[]', '{"min_score": "high"}')$$,
                                'CN008', 'min_score_is_a_number', 'CN008: min_score is a number');
SELECT concord_test.throws_rule($$SELECT concord.join_children('consensus', '[]', '{"min_agreement": 1.5}')$$,
                                'CN008', 'min_agreement_is_a_count_or_a_fraction',
                                'CN008: min_agreement is a count or a fraction');

SELECT * FROM finish();
ROLLBACK;
