-- An agent acts only with its run's secret (issue 12 §3, DESIGN "Who is
-- speaking"): begin_agent_run issues the secret once (only its hash is kept);
-- every gateway function naming a run refuses a transaction not
-- authenticated with that run's secret — with no secret, with another run's,
-- with a forged concord.credential — as concord_agent, concord_app and
-- concord_worker logins, and acts with the right one. Whoever begins a run
-- (and so gets its secret) drives it; an agent stays within its own swarm.
BEGIN;
SELECT plan(49);

\ir ../lib/identity_fixtures.sql

DO $$ BEGIN
    PERFORM pg_temp.make_login('a_agent', ARRAY['concord_agent']);
    PERFORM pg_temp.make_login('a_app', ARRAY['concord_app'], 'iso-a-app');
    PERFORM pg_temp.make_login('a_worker', ARRAY['concord_worker']);
    PERFORM pg_temp.make_login('b_app', ARRAY['concord_app'], 'iso-b-app');
    PERFORM concord.register_command_type('{"command_type": "sec_t", "sync_allowed": true}');
END $$;

SELECT concord.use_project('iso-a/main') AS fixture \gset
SELECT command_id AS cmd FROM concord.submit_command('sec_t', '{}', 'iso-a-alice') \gset
SELECT concord.start_swarm(:'cmd', '{"name": "one", "objective": "o",
    "coordinator": {"agent_name": "c1", "allowed_tools": ["create_artifact"]}}') AS swarm_one \gset
SELECT concord.start_swarm(:'cmd', '{"name": "two", "objective": "o",
    "coordinator": {"agent_name": "c2", "allowed_tools": ["create_artifact"]}}') AS swarm_two \gset
SELECT concord.start_swarm(:'cmd', '{"name": "three", "objective": "o",
    "coordinator": {"agent_name": "c3", "allowed_tools": []}}') AS swarm_three \gset
SELECT coordinator_agent_run_id AS run_a FROM concord.swarm_runs WHERE swarm_run_id = :'swarm_one' \gset
SELECT coordinator_agent_run_id AS run_b FROM concord.swarm_runs WHERE swarm_run_id = :'swarm_two' \gset
SELECT coordinator_agent_run_id AS run_c FROM concord.swarm_runs WHERE swarm_run_id = :'swarm_three' \gset

-- As the login labelled label: forged set as concord.credential by hand, else
-- credential authenticated; then statement. 'ok' or 'SQLSTATE rule'. The
-- transaction's credential is cleared afterwards.
CREATE FUNCTION pg_temp.as_agent(label text, credential text, statement text, forged text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    outcome text;
    rule text;
BEGIN
    EXECUTE format('SET SESSION AUTHORIZATION %I', pg_temp.login(label));
    BEGIN
        IF forged IS NOT NULL THEN
            PERFORM set_config('concord.credential', forged, true);
        ELSIF credential IS NOT NULL THEN
            PERFORM concord.authenticate(credential);
        END IF;
        EXECUTE statement;
        outcome := 'ok';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS rule = CONSTRAINT_NAME;
        outcome := SQLSTATE || coalesce(' ' || nullif(rule, ''), '');
    END;
    RESET SESSION AUTHORIZATION;
    PERFORM set_config('concord.credential', '', true);
    RETURN outcome;
END
$$;

-- ===========================================================================
-- Issuing: once, shown once, kept as a hash
-- ===========================================================================
SELECT concord.begin_agent_run(:'run_a') ->> 'secret' AS secret_a \gset
SELECT concord.begin_agent_run(:'run_b') ->> 'secret' AS secret_b \gset
SELECT matches(:'secret_a'::text, '^car_[0-9a-f]{64}$', 'begin_agent_run hands out a secret car_ + 64 hex digits');
SELECT isnt(:'secret_a'::text, :'secret_b'::text, 'each run gets its own secret');
SELECT is((SELECT secret_sha256 FROM concord.agent_run_secrets WHERE agent_run_id = :'run_a'),
          concord._credential_sha256(:'secret_a'), 'only the secret''s SHA-256 is stored');
SELECT is((SELECT project_id FROM concord.agent_run_secrets WHERE agent_run_id = :'run_a'),
          (SELECT project_id FROM concord.commands WHERE command_id = :'cmd'),
          'the secret carries the project of the run''s command');
SELECT is((SELECT count(*)::integer FROM concord.domain_events WHERE payload::text LIKE '%' || :'secret_a' || '%'),
          0, 'the secret is in no audit row');
SELECT is(concord.begin_agent_run(:'run_a') -> 'secret', 'null'::jsonb,
          'a repeated begin (a DBOS step run twice) answers no secret and does not fail');
SELECT is((SELECT secret_sha256 FROM concord.agent_run_secrets WHERE agent_run_id = :'run_a'),
          concord._credential_sha256(:'secret_a'), 'a repeated begin leaves the first secret valid');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.agent_run_secrets SET secret_sha256 = concord._credential_sha256('car_x')
             WHERE agent_run_id = %L$$, :'run_a'),
    'CN007', 'agent_run_secrets_are_not_rewritten', 'a run''s secret is never replaced, even by the table''s owner');
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.agent_run_secrets WHERE agent_run_id = %L$$, :'run_a'),
    'CN007', 'agent_run_secrets_are_not_rewritten', 'nor deleted');
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.agent_run_secrets (agent_run_id, secret_sha256, project_id)
             SELECT %L, '\x00'::bytea, project_id FROM concord.commands WHERE command_id = %L$$, :'run_c', :'cmd'),
    '23514', 'agent_secret_hash_is_a_sha256', 'what is stored is a SHA-256, not the secret');
SELECT is(concord.authenticate(:'secret_a'), 'agent:' || :'run_a', 'the secret authenticates as agent:<run id>');
SELECT set_config('concord.credential', '', true) AS fixture \gset

-- ===========================================================================
-- The run id alone: refused as every role
-- ===========================================================================
SELECT is(pg_temp.as_agent(r, NULL, format($$SELECT concord.agent_run_state(%L)$$, :'run_a')),
          'CN012 an_agent_acts_with_its_run_secret',
          format('%s login without a secret: agent_run_state(run id) is refused', r))
FROM unnest(ARRAY['a_agent', 'a_app', 'a_worker']) AS r;
SELECT is(pg_temp.as_agent(r, NULL, format($$SELECT concord.record_agent_step(%L, '{"action_type": "think"}')$$,
                                           :'run_a')),
          'CN012 an_agent_acts_with_its_run_secret',
          format('%s login without a secret: record_agent_step is refused', r))
FROM unnest(ARRAY['a_agent', 'a_app', 'a_worker']) AS r;
SELECT is(pg_temp.as_agent('a_agent', NULL, format($$SELECT concord.create_artifact(%L, '{"artifact_type": "plan",
          "name": "p", "content": {}}')$$, :'run_a')),
          'CN012 an_agent_acts_with_its_run_secret', 'concord_agent without a secret: create_artifact is refused');
SELECT is(pg_temp.as_agent('a_agent', NULL, format($$SELECT concord.finish_agent_run(%L, 'failed')$$, :'run_a')),
          'CN012 an_agent_acts_with_its_run_secret', 'concord_agent without a secret: finish_agent_run is refused');
SELECT is(pg_temp.as_agent('a_app', NULL,
                           format($$SELECT concord.spawn_subagent('{"parent_agent_run_id": "%s", "agent_name": "k",
                                    "agent_role": "w", "delegated_goal": "g"}')$$, :'run_a')),
          'CN012 an_agent_acts_with_its_run_secret', 'concord_app without a secret: spawn_subagent is refused');

-- ===========================================================================
-- Another run's secret, and forged settings
-- ===========================================================================
SELECT is(pg_temp.as_agent(r, :'secret_b', format($$SELECT concord.submit_agent_action(%L,
          '{"tool_name": "create_artifact", "payload": {"artifact_type": "plan", "name": "p", "content": {}}}')$$,
          :'run_a')),
          'CN012 an_agent_acts_with_its_run_secret',
          format('%s login with another run''s secret: submit_agent_action is refused', r))
FROM unnest(ARRAY['a_agent', 'a_app', 'a_worker']) AS r;
SELECT is(pg_temp.as_agent('a_agent', NULL, format($$SELECT concord.agent_run_state(%L)$$, :'run_a'),
                           forged => 'car_' || repeat('0', 64)),
          'CN012 an_agent_acts_with_its_run_secret',
          'concord_agent with a forged concord.credential (a made-up secret) is refused');
SELECT is(pg_temp.as_agent('a_agent', NULL, format($$SELECT concord.agent_run_state(%L)$$, :'run_a'),
                           forged => encode(concord._credential_sha256(:'secret_a'), 'hex')),
          'CN012 an_agent_acts_with_its_run_secret',
          'concord_agent with the secret''s stored hash set as concord.credential is refused');
SELECT is(pg_temp.as_agent('a_worker', NULL, format($$SELECT concord.agent_run_state(%L)$$, :'run_a'),
                           forged => 'agent:' || :'run_a'),
          'CN012 an_agent_acts_with_its_run_secret',
          'concord_worker with the agent''s principal name set as concord.credential is refused');

-- ===========================================================================
-- The right secret
-- ===========================================================================
SELECT is(pg_temp.as_agent(r, :'secret_a', format($$SELECT concord.agent_run_state(%L)$$, :'run_a')), 'ok',
          format('%s login authenticated with the run''s secret reads its state', r))
FROM unnest(ARRAY['a_agent', 'a_app', 'a_worker']) AS r;
SELECT is(pg_temp.as_agent('a_agent', :'secret_a', format($$SELECT concord.create_artifact(%L,
          '{"artifact_type": "plan", "name": "p", "content": {}}')$$, :'run_a')), 'ok',
          'concord_agent with the run''s secret creates an artifact');
SELECT is((SELECT created_by FROM concord.artifacts WHERE agent_run_id = :'run_a'), 'agent:' || :'run_a',
          'the artifact names the agent as its author');

-- ===========================================================================
-- Who begins a run gets its secret; an agent stays within its own swarm
-- ===========================================================================
SELECT is(pg_temp.as_agent('b_app', NULL, format($$SELECT concord.begin_agent_run(%L)$$, :'run_c')),
          'CN006 the_agent_run_exists', 'a member of another organisation cannot begin the run: it does not exist for it');
SELECT is(pg_temp.as_agent('a_agent', :'secret_a', format($$SELECT concord.begin_agent_run(%L)$$, :'run_c')),
          'CN012 an_agent_run_is_begun_by_whoever_drives_it', 'an agent cannot begin another run to get its secret');
SELECT is(pg_temp.as_agent('a_app', NULL, format($$SELECT concord.begin_agent_run(%L)$$, :'run_c')), 'ok',
          'a member of the project begins a run without a runtime (and is handed its secret)');
SELECT isnt((SELECT secret_sha256 FROM concord.agent_run_secrets WHERE agent_run_id = :'run_c'), NULL,
            'that begin issued the run''s secret');
SELECT is(pg_temp.as_agent('a_app', :'secret_a', format($$SELECT concord.join_swarm(%L)$$, :'swarm_two')),
          'CN012 an_agent_acts_within_its_own_swarm', 'an agent (its secret on an app login) cannot join another swarm');
SELECT is(pg_temp.as_agent('a_app', :'secret_a', format($$SELECT concord.cancel_swarm(%L)$$, :'swarm_two')),
          'CN012 an_agent_acts_within_its_own_swarm', 'an agent (its secret on an app login) cannot cancel another swarm');
SELECT is(pg_temp.as_agent('a_app', :'secret_a', format($$SELECT concord.start_swarm(%L,
          '{"name": "four", "objective": "o", "coordinator": {"agent_name": "c4"}}')$$, :'cmd')),
          'CN012 an_agent_acts_within_its_own_swarm', 'an agent cannot start a swarm');
SELECT is(pg_temp.as_agent(r, :'secret_a', format($$SELECT concord.join_swarm(%L)$$, :'swarm_one')), 'ok',
          format('an agent (its secret on %s''s login) joins its own swarm, as its workflow does', r))
FROM unnest(ARRAY['a_worker', 'a_app']) AS r;
SELECT is(pg_temp.as_agent('a_app', :'secret_a', format($$SELECT concord.cancel_swarm(%L, 'iso-a-alice')$$,
                                                          :'swarm_one')),
          'CN012 an_agent_acts_through_its_gateway',
          'an agent cancelling its own swarm cannot name someone else as the actor');

-- The same three rules, met by the superuser once it speaks as an agent.
SELECT concord_test.throws_rule(
    format($$SELECT concord.agent_run_state(%L) FROM (SELECT concord.authenticate(%L)) AS a$$, :'run_a', :'secret_b'),
    'CN012', 'an_agent_acts_with_its_run_secret', 'a superuser holding another run''s secret is that other agent');
SELECT concord_test.throws_rule(
    format($$SELECT concord.begin_agent_run(%L) FROM (SELECT concord.authenticate(%L)) AS a$$, :'run_c', :'secret_a'),
    'CN012', 'an_agent_run_is_begun_by_whoever_drives_it', 'speaking as an agent, nobody begins another run');
SELECT concord_test.throws_rule(
    format($$SELECT concord.join_swarm(%L) FROM (SELECT concord.authenticate(%L)) AS a$$, :'swarm_two', :'secret_a'),
    'CN012', 'an_agent_acts_within_its_own_swarm', 'speaking as an agent, nobody joins another swarm');

-- ===========================================================================
-- A run begun before secrets existed (no secret row): its worker drives it
-- ===========================================================================
SELECT concord.start_swarm(:'cmd', '{"name": "old", "objective": "o", "coordinator": {"agent_name": "c0"}}')
       AS swarm_old \gset
SELECT coordinator_agent_run_id AS run_old FROM concord.swarm_runs WHERE swarm_run_id = :'swarm_old' \gset
UPDATE concord.agent_runs SET status = 'running' WHERE agent_run_id = :'run_old';
SELECT is(pg_temp.as_agent('a_worker', NULL, format($$SELECT concord.record_agent_step(%L,
          '{"action_type": "think"}')$$, :'run_old')), 'ok',
          'a worker session acts for a run begun before secrets existed (it has none)');
SELECT is(pg_temp.as_agent(r, NULL, format($$SELECT concord.agent_run_state(%L)$$, :'run_old')),
          'CN012 an_agent_acts_with_its_run_secret',
          format('%s login cannot act for such a run by its id', r))
FROM unnest(ARRAY['a_agent', 'a_app']) AS r;
SELECT is(pg_temp.as_agent('a_worker', NULL, format($$SELECT concord.begin_agent_run(%L)$$, :'run_old')), 'ok',
          'begun again, such a run is issued a secret');
SELECT is(pg_temp.as_agent('a_worker', NULL, format($$SELECT concord.agent_run_state(%L)$$, :'run_old')),
          'CN012 an_agent_acts_with_its_run_secret', 'from then on the worker too needs the secret');

SELECT * FROM finish();
ROLLBACK;
