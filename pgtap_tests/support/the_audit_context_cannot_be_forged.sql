-- No caller can forge the audit context or switch a rule off through its own
-- session settings: every public function resets concord.actor,
-- concord.reason, concord.submitting, concord.settling and concord.worker_run
-- on entry, so the audit rows name the real actor, the dependency cascade
-- still runs and no caller names the run that acts (spec 25, DESIGN "Who is
-- speaking").
BEGIN;
SELECT plan(7);

\ir ../lib/kernel_fixtures.sql

-- ===========================================================================
-- 5. concord_app cannot forge the audit context or switch a rule off through
--    its own session settings
-- ===========================================================================
SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_catalog.pg_proc AS p
      WHERE p.pronamespace = 'concord'::regnamespace AND p.proname !~ '^_'
        -- a procedure runs as its caller and calls functions that reset it
        AND p.prokind <> 'p'
        AND NOT coalesce(p.proconfig @> ARRAY['concord.actor=', 'concord.reason=', 'concord.submitting=off',
                                              'concord.settling=off', 'concord.worker_run='], false)$$,
    'every public concord function resets concord.actor, concord.reason, concord.submitting, '
    'concord.settling and concord.worker_run on entry'
);

SELECT concord_test.command_at('t_hard', 'queued', 'forge_parent') IS NOT NULL
   AND concord_test.command_at('t_hard', 'queued', 'forge_child') IS NOT NULL
   AND concord_test.command_at('t_hard', 'running', 'forge_worker') IS NOT NULL
   AND concord_test.command_at('t_hard', 'queued', 'forge_dep_child') IS NOT NULL AS fixture \gset
SELECT concord.add_dependency(concord_test.id('forge_child'), concord_test.id('forge_parent')) IS NULL
       AS fixture \gset
SELECT concord_test.id('forge_parent') AS forge_parent, concord_test.id('forge_child') AS forge_child,
       concord_test.id('forge_worker') AS forge_worker, concord_test.id('forge_dep_child') AS forge_dep_child \gset

SET LOCAL ROLE concord_app;
SET concord.actor = 'eve';
SET concord.reason = 'forged';
SET concord.settling = 'on';
SET concord.submitting = 'on';
SET concord.worker_run = 'wf-forge';

SELECT command_id AS forged_submit FROM concord.submit_command('t_hard', '{}', 'alice') \gset
-- registering a type is concord_admin's, with the same forged settings
SET LOCAL ROLE concord_admin;
SELECT concord.register_command_type('{"command_type": "t_hard_forged", "sync_allowed": true}') AS fixture \gset
-- effects are the worker's, for the run it owns (forge_worker's first run)
SET LOCAL ROLE concord_worker;
SELECT concord.runtime_begin_effect(:'forge_worker', :'forge_worker', 'email.send', '{}', 'forge-key') ->> 'effect_id'
       AS forged_effect \gset
SELECT concord.complete_effect(:'forged_effect', '{}') AS fixture \gset
SET LOCAL ROLE concord_app;
SELECT concord.add_dependency(:'forge_dep_child', :'forge_worker') IS NULL AS fixture \gset

SELECT is(
    concord.cancel_command(:'forge_parent', 'alice', 'plan changed'),
    'cancelled',
    'fixture: concord_app, with every context setting forged, cancels a queued parent'
);

RESET ROLE;
RESET concord.actor;
RESET concord.reason;
RESET concord.settling;
RESET concord.submitting;
RESET concord.worker_run;

SELECT is(
    (SELECT array_agg(DISTINCT actor) FROM concord.domain_events WHERE command_id = :'forged_submit'),
    ARRAY['alice'],
    'submit_command''s audit rows name requested_by (alice), not the forged concord.actor (eve)'
);

SELECT row_eq(
    $$SELECT actor = session_user, reason FROM concord.domain_events
      WHERE event_type = 'command_type_registered' AND target_id = 't_hard_forged'$$,
    ROW(true, NULL::text),
    'register_command_type''s audit row names the session user, not eve, and carries no forged reason'
);

SELECT is(
    (SELECT array_agg(e.to_status || ' by ' || e.actor || coalesce(' for ' || e.reason, '') ORDER BY e.event_seq)
     FROM concord.domain_events AS e
     WHERE e.target_type = 'effect' AND e.target_id = :'forged_effect'),
    ARRAY['planned by workflow:' || :'forge_worker', 'executing by workflow:' || :'forge_worker',
          'succeeded by workflow:' || :'forge_worker'],
    'runtime_begin_effect and complete_effect rows name the run, not eve, and carry no forged reason'
);

SELECT row_eq(
    format($$SELECT actor = session_user, reason FROM concord.domain_events
             WHERE event_type = 'dependency_added' AND command_id = %L$$, :'forge_dep_child'),
    ROW(true, NULL::text),
    'add_dependency''s audit row carries neither eve nor the forged reason'
);

SELECT row_eq(
    format($$SELECT c.status, e.actor, e.reason LIKE 'dependency %% is cancelled; %%'
             FROM concord.commands AS c
             INNER JOIN concord.domain_events AS e ON e.command_id = c.command_id AND e.to_status = 'cancelled'
             WHERE c.command_id = %L$$, :'forge_child'),
    ROW('cancelled'::text, 'alice'::text, true),
    'a forged concord.settling = on cannot switch the cascade off: the child is cancelled, by alice'
);

SELECT * FROM finish();
ROLLBACK;
