-- The rules of joining a swarm's child agents (spec 53, 68.3).
-- Each rule its code raises (CONSTRAINT = ...) with its table, SQLSTATE and
-- one sentence of meaning; concord.rules lists them (sql/support/rules.sql).
-- the_swarm_run_exists, which _join_swarm also raises, is in the agents book.
CREATE OR REPLACE FUNCTION concord._rule_book_joins()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        ('join_children_takes_a_known_strategy', null::text, 'CN008',
         'A join strategy is one of spec 53''s: all_success, first_success, quorum, '
         'coordinator_synthesis, evaluator_selection, human_review, best_of_n, map_reduce, '
         'consensus, ranked_review.'),
        ('join_children_are_well_formed', null, 'CN008',
         'The children joined are a list of objects, each with an agent status and well-formed '
         'artifacts and evaluations.'),
        ('join_options_are_a_json_object', null, 'CN008',
         'A join''s options are a JSON object.'),
        ('quorum_is_a_count_or_a_fraction', null, 'CN008',
         'A quorum is a whole number at least 1 or a fraction between 0 and 1.'),
        ('min_score_is_a_number', null, 'CN008',
         'best_of_n''s min_score is a number.'),
        ('min_agreement_is_a_count_or_a_fraction', null, 'CN008',
         'consensus''s min_agreement is a whole number at least 1 or a fraction between 0 and '
         '1.'),
        ('only_a_running_swarm_is_joined', null, 'CN011',
         'Only a running (or joining) swarm run is joined.'),
        ('a_swarm_is_not_joined_while_children_are_live', null, 'CN011',
         'A swarm whose strategy needs every child''s answer is not joined while a child '
         'agent, or a spawn awaiting approval, is still live.'),
        ('a_joining_swarm_spawns_no_child', 'agent_runs', 'CN011',
         'Once a swarm''s join has begun (joining, or waiting for the review of its join) no '
         'new agent run is created in it, and a spawn still waiting for approval is cancelled; '
         'the swarm leaves joining when the join is decided or its coordinator finishes.')
$$;
