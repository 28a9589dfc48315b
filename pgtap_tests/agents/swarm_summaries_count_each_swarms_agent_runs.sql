-- concord.swarm_summaries (the console's swarms list): one row per swarm with
-- its agent runs counted, the same swarms and counts swarm_tree shows, newest
-- first by created_at.
BEGIN;
SELECT plan(3);

\ir ../lib/swarm_fixtures.sql

SELECT results_eq(
    $$SELECT swarm_run_id, swarm_name, swarm_status, agents FROM concord.swarm_summaries ORDER BY swarm_run_id$$,
    $$SELECT swarm_run_id, swarm_name, swarm_status, count(*) FROM concord.swarm_tree
      GROUP BY swarm_run_id, swarm_name, swarm_status ORDER BY swarm_run_id$$,
    'swarm_summaries has each swarm of swarm_tree once, with its number of agent runs'
);
SELECT is((SELECT agents::integer FROM concord.swarm_summaries WHERE swarm_run_id = concord_test.id('main')), 5,
          'the fixture''s main swarm counts its five agent runs');
SELECT is((SELECT command_id FROM concord.swarm_summaries WHERE swarm_run_id = concord_test.id('main')),
          (SELECT command_id FROM concord.swarm_runs WHERE swarm_run_id = concord_test.id('main')),
          'each swarm names the command that started it');

SELECT * FROM finish();
ROLLBACK;
