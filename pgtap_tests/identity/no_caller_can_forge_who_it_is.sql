-- No caller can forge who it is (spec 45, DESIGN "Who is speaking"): as each
-- application role, through a real LOGIN mapped to a principal of iso-a,
--   * naming another principal (requested_by, actor) is refused unless an
--     act-as grant allows it in that project;
--   * no setting (concord.actor, concord.asserted_by, concord.credential,
--     concord.project) changes who acts or where;
--   * the internal helpers that would set the actor are not callable.
-- Self-approval is judged against the authenticated principal, and a service
-- acting for someone leaves both names in the audit.
BEGIN;
SELECT plan(73);

\ir ../lib/identity_fixtures.sql

DO $$
DECLARE
    role text;
BEGIN
    FOREACH role IN ARRAY ARRAY['app', 'approver', 'admin', 'reader', 'worker', 'agent'] LOOP
        PERFORM pg_temp.make_login('a_' || role, ARRAY['concord_' || role], 'iso-a-' || role);
    END LOOP;
    PERFORM pg_temp.make_login('alice', ARRAY['concord_app', 'concord_approver'], 'iso-a-alice');
    PERFORM concord.add_member('iso-a', 'iso-a-alice', 'approver');
    PERFORM pg_temp.make_login('ann', ARRAY['concord_approver'], 'iso-a-ann');
    PERFORM pg_temp.make_login('svc', ARRAY['concord_app', 'concord_approver'], 'iso-a-svc');
    PERFORM concord.register_command_type('{"command_type": "iso_t", "sync_allowed": true}');
    PERFORM concord.register_approval_type(
        '{"name": "iso_at", "approver": {"principals": ["iso-a-alice", "iso-a-ann", "iso-a-approver"]}}');
    PERFORM concord.register_policy(
        '{"name": "iso_gate", "predicate": "true", "decision": "require_approval", "approval_type": "iso_at"}');
    PERFORM concord.register_command_type('{"command_type": "iso_gated", "policy_checks": ["iso_gate"]}');
END $$;

SELECT project_id AS project_a FROM concord.my_projects WHERE full_name = 'iso-a/main' \gset
SELECT project_id AS project_b FROM concord.my_projects WHERE full_name = 'iso-b/main' \gset

-- ===========================================================================
-- Passing another principal's name
-- ===========================================================================
SELECT is(pg_temp.as_login('a_app', $$SELECT concord.submit_command('iso_t', '{}', 'iso-a-alice')$$),
          pg_temp.refused('CN012', 'acting_for_another_needs_a_grant'),
          'concord_app: submit_command naming another member as requested_by is refused');
SELECT is(pg_temp.as_login('a_admin', $$SELECT concord.submit_command('iso_t', '{}', 'ISO-A-ALICE')$$),
          pg_temp.refused('CN012', 'acting_for_another_needs_a_grant'),
          'concord_admin: submit_command naming another member (in capitals) is refused');
SELECT is(pg_temp.as_login('a_app', $$SELECT concord.submit_command('iso_t', '{}', 'iso-b-bob')$$),
          pg_temp.refused('CN012', 'acting_for_another_needs_a_grant'),
          'concord_app: submit_command naming a principal of another organisation is refused');
SELECT pg_temp.value_as_login('a_app', $$SELECT command_id FROM concord.submit_command('iso_t', '{}', 'ISO-A-APP')$$)
       AS as_itself \gset
SELECT is((SELECT requested_by FROM concord.commands WHERE command_id::text = :'as_itself'),
          'iso-a-app', 'concord_app: naming itself in another spelling submits as itself, canonical');
SELECT pg_temp.value_as_login('a_app', $$SELECT command_id FROM concord.submit_command('iso_t', '{}', NULL)$$)
       AS as_nobody_named \gset
SELECT is((SELECT requested_by FROM concord.commands WHERE command_id::text = :'as_nobody_named'),
          'iso-a-app', 'concord_app: requested_by NULL submits as the authenticated principal');

-- A command of alice's waiting for approval, for the approvers below.
SELECT pg_temp.value_as_login('alice', $$SELECT command_id FROM concord.submit_command('iso_gated', '{}', NULL)$$)
       AS gated \gset
SELECT approval_id AS gated_approval FROM concord.approvals WHERE command_id = :'gated' \gset
SELECT is((SELECT status FROM concord.commands WHERE command_id = :'gated') = 'waiting_for_approval', true, 'fixture: alice''s command waits for approval');

SELECT is(pg_temp.as_login('a_approver', format($$SELECT concord.resolve_approval(%L, 'approved', 'iso-a-ann')$$,
                                                :'gated_approval')),
          pg_temp.refused('CN012', 'acting_for_another_needs_a_grant'),
          'concord_approver: resolve_approval naming another approver as actor is refused');
SELECT is(pg_temp.as_login('alice', format($$SELECT concord.resolve_approval(%L, 'approved', 'iso-a-ann')$$,
                                           :'gated_approval')),
          pg_temp.refused('CN012', 'acting_for_another_needs_a_grant'),
          'the requester cannot approve by naming an eligible approver');
SELECT is(pg_temp.as_login('alice', format($$SELECT concord.resolve_approval(%L, 'approved', NULL)$$,
                                           :'gated_approval')),
          pg_temp.refused('CN012', 'approver_is_not_the_requester'),
          'the requester, an eligible approver, cannot approve its own command as itself');
SELECT is(pg_temp.as_login('a_app', format($$SELECT concord.cancel_command(%L, 'iso-a-alice', 'forged')$$, :'gated')),
          pg_temp.refused('CN012', 'acting_for_another_needs_a_grant'),
          'concord_app: cancel_command naming the requester as actor is refused');
SELECT is((SELECT status FROM concord.approvals WHERE approval_id = :'gated_approval'), 'pending',
          'after all of that the approval is still pending');

-- (concord_agent may not create tokens at all)
SELECT is(pg_temp.as_login('a_' || r, $$SELECT concord.create_api_token('iso-a-alice')$$),
          CASE r WHEN 'agent' THEN '42501' ELSE pg_temp.refused('CN012', 'a_token_is_created_by_its_principal') END,
          format('concord_%s: creating a token for another principal is refused', r))
FROM unnest(ARRAY['app', 'approver', 'admin', 'reader', 'worker', 'agent']) AS r;

-- ===========================================================================
-- Settings: concord.actor, concord.asserted_by, concord.credential, concord.project
-- ===========================================================================
SELECT is(pg_temp.value_as_login('a_' || r,
              $$SELECT set_config('concord.actor', 'iso-a-alice', false) || set_config('concord.asserted_by', 'iso-a-svc', false)
                       || concord.current_principal()$$),
          'iso-a-aliceiso-a-svc' || 'iso-a-' || r,
          format('concord_%s: setting concord.actor and concord.asserted_by leaves current_principal() its own', r))
FROM unnest(ARRAY['app', 'approver', 'admin', 'reader', 'worker', 'agent']) AS r;
RESET concord.actor;
RESET concord.asserted_by;

SELECT pg_temp.value_as_login('a_app',
    $$SELECT set_config('concord.actor', 'iso-a-alice', false) || set_config('concord.asserted_by', 'iso-a-svc', false)
             || (SELECT command_id FROM concord.submit_command('iso_t', '{}', NULL))$$) AS forged_settings \gset
RESET concord.actor;
RESET concord.asserted_by;
SELECT is((SELECT array_agg(DISTINCT coalesce(actor, '?') || '/' || coalesce(asserted_by, '-'))
           FROM concord.domain_events WHERE command_id = right(:'forged_settings', 36)::uuid),
          ARRAY['iso-a-app/-'],
          'concord_app: a submission with forged concord.actor and concord.asserted_by is audited as the caller, '
          'asserted by nobody');

SELECT is(pg_temp.value_as_login('a_' || r,
              $$SELECT set_config('concord.credential', 'cct_0123456789abcdef', true) || ':'
                       || coalesce(concord.current_principal(), 'nobody')$$),
          'cct_0123456789abcdef:nobody',
          format('concord_%s: a garbage concord.credential makes the session nobody, not someone', r))
FROM unnest(ARRAY['app', 'approver', 'admin', 'reader', 'worker', 'agent']) AS r;
SELECT set_config('concord.credential', '', true) AS fixture \gset

SELECT is(pg_temp.as_login('a_app',
              $$SELECT set_config('concord.credential', 'garbage', true);
                SELECT concord.submit_command('iso_t', '{}', NULL)$$),
          pg_temp.refused('CN012', 'the_caller_is_authenticated'),
          'concord_app: with a garbage concord.credential, submitting is refused');
SELECT set_config('concord.credential', '', true) AS fixture \gset
SELECT is(pg_temp.value_as_login('a_worker',
              $$SELECT set_config('concord.credential', 'garbage', true);
                SELECT count(*) FROM concord.commands_by_status$$),
          'error 42501',
          'concord_worker: a garbage credential does not widen what it may read');
SELECT is(pg_temp.value_as_login('a_worker',
              $$SELECT set_config('concord.credential', 'garbage', true) || concord._sees_all()::text$$),
          'garbagefalse',
          'concord_worker: with a credential set (even a garbage one) the worker no longer sees every project');
SELECT set_config('concord.credential', '', true) AS fixture \gset

SELECT is(pg_temp.as_login('a_' || r,
              format($$SELECT set_config('concord.project', %L, false);
                       SELECT concord.submit_command('iso_t', '{}', NULL)$$, :'project_b')),
          pg_temp.refused('CN006', 'the_project_exists'),
          format('concord_%s: concord.project set to another organisation''s project: not found', r))
FROM unnest(ARRAY['app', 'admin']) AS r;
RESET concord.project;
-- (concord_agent may not choose a project: its run's secret decides; a
-- worker's session without a credential acts for every project by design)
SELECT is(pg_temp.as_login('a_' || r, $$SELECT concord.use_project('iso-b/main')$$),
          CASE r WHEN 'agent' THEN '42501' ELSE pg_temp.refused('CN006', 'the_project_exists') END,
          format('concord_%s: use_project of another organisation''s project: not found', r))
FROM unnest(ARRAY['app', 'approver', 'admin', 'reader', 'agent']) AS r;
SELECT is(pg_temp.as_login('a_worker', $$SELECT concord.authenticate(
              (SELECT token FROM concord.create_api_token(NULL, '1 day')));
                                          SELECT concord.use_project('iso-b/main')$$),
          pg_temp.refused('CN006', 'the_project_exists'),
          'concord_worker authenticated with its principal''s token: use_project of iso-b: not found');
SELECT set_config('concord.credential', '', true) AS fixture \gset
RESET concord.project;
SELECT is((SELECT count(*) FROM concord.commands WHERE project_id = :'project_b'), 0::bigint,
          'nothing was written in iso-b');

-- ===========================================================================
-- Internal helpers
-- ===========================================================================
SELECT is(pg_temp.as_login('a_' || r, format($$SELECT %s$$, call)),
          '42501', format('concord_%s: %s is not callable', r, split_part(call, '(', 1)))
FROM unnest(ARRAY['app', 'admin']) AS r,
     unnest(ARRAY[
         $$concord._push_actor('iso-a-alice', 'forged')$$,
         $$concord._assert_on_behalf('iso-a-svc')$$,
         $$concord._submit_command('iso_t', '{}', 'iso-a-alice', 'api', '{}', NULL, NULL, NULL, NULL)$$,
         $$concord._acting_principal('iso-a-alice', NULL, ARRAY['member'])$$
     ]) AS call;
SELECT is_empty(
    $$SELECT p.oid::regprocedure || ' by ' || r.rolname
      FROM pg_catalog.pg_proc AS p
      CROSS JOIN pg_catalog.pg_roles AS r
      WHERE p.pronamespace = 'concord'::regnamespace AND p.proname LIKE '\_%'
        AND p.proname NOT IN ('_sees_all', '_visible_projects', '_principal', '_session_is_superuser',
                              '_registry_binding_visible')
        AND r.rolname IN ('concord_app', 'concord_approver', 'concord_admin', 'concord_reader', 'concord_worker',
                          'concord_agent', 'public')
        AND has_function_privilege(r.oid, p.oid, 'EXECUTE')$$,
    'no application role may execute an internal helper but the four the row-security policies call and the '
    'one the registry views call (whether a binding names the caller''s organisations)'
);
SELECT is(pg_temp.value_as_login('a_app', $$SELECT concord._principal()$$), 'iso-a-app',
          'the row-security helper _principal answers only who the caller is');

-- ===========================================================================
-- Acting for another: a service with a grant
-- ===========================================================================
SELECT concord.grant_act_as('iso-a-svc', 'iso-a/main', 'iso-a-alice') AS fixture \gset
SELECT pg_temp.value_as_login('svc', $$SELECT command_id FROM concord.submit_command('iso_t', '{}', 'iso-a-alice')$$)
       AS for_alice \gset
SELECT is((SELECT requested_by FROM concord.commands WHERE command_id = :'for_alice'), 'iso-a-alice',
          'a service with an act-as grant for alice submits as alice');
SELECT is((SELECT array_agg(DISTINCT actor || '/' || coalesce(asserted_by, '-'))
           FROM concord.domain_events WHERE command_id = :'for_alice'),
          ARRAY['iso-a-alice/iso-a-svc'],
          'the audit rows name alice as actor and the service as asserted_by');
SELECT is(pg_temp.as_login('svc', $$SELECT concord.submit_command('iso_t', '{}', 'iso-a-ann')$$),
          pg_temp.refused('CN012', 'acting_for_another_needs_a_grant'),
          'the grant for alice does not let the service speak for ann');
SELECT is(pg_temp.as_login('a_app', $$SELECT concord.submit_command('iso_t', '{}', 'iso-a-alice')$$),
          pg_temp.refused('CN012', 'acting_for_another_needs_a_grant'),
          'a principal without a grant still cannot speak for alice');

-- A grant for every member of iso-a/main reaches nothing of iso-b.
SELECT concord.grant_act_as('iso-a-svc', 'iso-a/main') AS fixture \gset
SELECT concord.add_member('iso-b', 'iso-a-svc', 'member') AS fixture \gset
SELECT pg_temp.as_login('svc', $$SELECT concord.use_project('iso-a/main')$$) AS fixture \gset
SELECT pg_temp.value_as_login('svc', $$SELECT command_id FROM concord.submit_command('iso_t', '{}', 'iso-a-ann')$$)
       AS for_ann \gset
RESET concord.project;
SELECT is(coalesce((SELECT requested_by FROM concord.commands WHERE command_id::text = :'for_ann'), :'for_ann'),
          'iso-a-ann', 'a grant for every member of iso-a/main lets the service submit for ann there');
SELECT is(pg_temp.as_login('svc', $$SELECT concord.use_project('iso-b/main');
                                     SELECT concord.submit_command('iso_t', '{}', 'iso-b-bob')$$),
          pg_temp.refused('CN012', 'acting_for_another_needs_a_grant'),
          'the same service, a member of iso-b too, cannot speak for bob in iso-b/main: the grant is iso-a''s');
RESET concord.project;
SELECT is(pg_temp.as_login('svc', format($$SELECT concord.resolve_approval(%L, 'approved', 'iso-b-bob')$$,
                                         :'gated_approval')),
          pg_temp.refused('CN012', 'the_actor_holds_a_role_in_the_project'),
          'nor can it name iso-b''s bob on iso-a''s approval: a grant for every member covers members only');

-- A token's scopes hold for whom it acts too: the service's reader token
-- speaks for nobody.
SELECT token AS svc_reader_token FROM concord.create_api_token('iso-a-svc', '1 day', ARRAY['reader']) \gset
SELECT is(pg_temp.as_login('svc', format($$SELECT concord.authenticate(%L);
                                          SELECT concord.submit_command('iso_t', '{}', 'iso-a-alice')$$,
                                         :'svc_reader_token')),
          pg_temp.refused('CN012', 'the_actor_holds_a_role_in_the_project'),
          'a service''s token scoped to reader cannot submit for alice under its act-as grant');
SELECT set_config('concord.credential', '', true) AS fixture \gset
SELECT is(pg_temp.as_login('svc', format($$SELECT concord.authenticate(%L);
                                          SELECT concord.cancel_command(%L, 'iso-a-alice', 'forged')$$,
                                         :'svc_reader_token', :'for_alice')),
          pg_temp.refused('CN012', 'the_actor_holds_a_role_in_the_project'),
          '... nor cancel alice''s command as alice');
SELECT set_config('concord.credential', '', true) AS fixture \gset

-- ===========================================================================
-- An agent's secret opens its gateway, nothing else
-- ===========================================================================
SELECT concord.start_swarm(:'for_alice', '{"name": "forge", "objective": "o",
    "coordinator": {"agent_name": "c", "allowed_tools": []}}') AS forge_swarm \gset
SELECT concord.begin_agent_run(coordinator_agent_run_id) ->> 'secret' AS agent_secret
FROM concord.swarm_runs WHERE swarm_run_id = :'forge_swarm' \gset
SELECT is(pg_temp.as_login('a_app', format($$SELECT concord.authenticate(%L); %s$$, :'agent_secret', call)),
          pg_temp.refused('CN012', 'an_agent_acts_through_its_gateway'),
          format('an agent''s secret in a concord_app session: %s is refused', split_part(call, '(', 1)))
FROM unnest(ARRAY[
    $$SELECT concord.submit_command('iso_t', '{}', NULL)$$,
    format($$SELECT concord.cancel_command(%L, NULL, 'by the agent')$$, :'for_alice'),
    format($$SELECT concord.provide_input(%L, '{}', NULL)$$, :'for_alice')
]) AS call;
SELECT set_config('concord.credential', '', true) AS fixture \gset

-- ===========================================================================
-- Eligible approver: ann decides as herself
-- ===========================================================================
SELECT is(pg_temp.value_as_login('ann', format($$SELECT concord.resolve_approval(%L, 'approved', NULL) ->> 'status'$$,
                                               :'gated_approval')),
          'approved', 'ann, an eligible approver, approves as herself');
SELECT is((SELECT decided_by FROM concord.approvals WHERE approval_id = :'gated_approval'), 'iso-a-ann',
          'the approval names ann, the authenticated principal, as decided_by');

-- ===========================================================================
-- transition_command: an operator's move, its actor checked like any other
-- ===========================================================================
SELECT concord.use_project('iso-a/main') AS fixture \gset
SELECT command_id AS tc_one FROM concord.submit_command('iso_t', '{}', 'iso-a-alice') \gset
SELECT command_id AS tc_two FROM concord.submit_command('iso_t', '{}', 'iso-a-alice') \gset
RESET concord.project;
SELECT concord.add_member('iso-a', 'iso-a-approver', 'admin') AS fixture \gset
SELECT pg_temp.make_login('a_orgadmin', ARRAY['concord_admin'], 'iso-a-approver') AS fixture \gset
SELECT pg_temp.make_login('ops', ARRAY['concord_admin']) AS fixture \gset
SELECT is(pg_temp.as_login('a_admin', format($$SELECT concord.transition_command(%L, 'cancelled', 'iso-a-alice')$$,
                                             :'tc_one')),
          pg_temp.refused('CN012', 'acting_for_another_needs_a_grant'),
          'concord_admin: transition_command naming the requester as actor is refused');
SELECT is(pg_temp.as_login('a_admin', format($$SELECT concord.transition_command(%L, 'cancelled', NULL)$$, :'tc_one')),
          pg_temp.refused('CN012', 'the_actor_holds_a_role_in_the_project'),
          'concord_admin held by a mere member of the project: transition_command as itself is refused');
SELECT is(pg_temp.as_login('a_orgadmin', format($$SELECT concord.transition_command(%L, 'cancelled', 'iso-a-alice')$$,
                                                :'tc_one')),
          pg_temp.refused('CN012', 'acting_for_another_needs_a_grant'),
          'an organisation admin cannot name the requester either');
SELECT is(pg_temp.as_login('a_orgadmin', format($$SELECT concord.transition_command(%L, 'cancelled', NULL)$$,
                                                :'tc_one')),
          'ok', 'an organisation admin moves its project''s command as itself');
SELECT is(pg_temp.as_login('ops', format($$SELECT concord.transition_command(%L, 'cancelled', 'iso-a-alice')$$,
                                         :'tc_two')),
          pg_temp.refused('CN012', 'acting_for_another_needs_a_grant'),
          'an operator''s login (no principal) cannot name alice as the actor');
SELECT is(pg_temp.as_login('ops', format($$SELECT concord.transition_command(%L, 'cancelled', NULL)$$, :'tc_two')),
          pg_temp.refused('CN006', 'the_command_exists'),
          'as itself, it finds no command: an operator''s login sees no project''s commands (a superuser does)');
SELECT is((SELECT array_agg(e.actor || '/' || coalesce(e.asserted_by, '-')) FROM concord.domain_events AS e
           WHERE e.command_id IN (:'tc_one', :'tc_two') AND e.to_status = 'cancelled'),
          ARRAY['iso-a-approver/-'], 'the audit names the organisation admin, nobody it named');

SELECT * FROM finish();
ROLLBACK;
