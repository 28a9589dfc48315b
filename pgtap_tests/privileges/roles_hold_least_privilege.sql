-- Privileges: concord_approver may only resolve approvals and read what it
-- decides; concord_admin has the catalog functions concord_app lacks; no role
-- writes a table or view directly, and each role can do in practice what it
-- is granted.
BEGIN;
SELECT plan(32);

-- The steps of plan as "step_id<dep,dep" strings, in order.
CREATE FUNCTION pg_temp.step_graph(plan jsonb)
RETURNS text[]
LANGUAGE sql
AS $$
    SELECT array_agg((s.step ->> 'step_id') || '<'
                     || coalesce((SELECT string_agg(d, ',') FROM jsonb_array_elements_text(s.step -> 'depends_on') AS d), '')
                     ORDER BY s.n)
    FROM jsonb_array_elements(plan -> 'steps') WITH ORDINALITY AS s (step, n)
$$;

-- The step step_id of plan.
CREATE FUNCTION pg_temp.step(plan jsonb, step_id text)
RETURNS jsonb
LANGUAGE sql
AS $$ SELECT s FROM jsonb_array_elements(plan -> 'steps') AS s WHERE s ->> 'step_id' = step.step_id $$;

-- Run sql as role; 'ok', or the SQLSTATE it raised.
CREATE FUNCTION concord_test.as_role(role name, sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    outcome text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    BEGIN
        EXECUTE sql;
        outcome := 'ok';
    EXCEPTION WHEN OTHERS THEN
        outcome := SQLSTATE;
    END;
    RESET ROLE;
    RETURN outcome;
END
$$;

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_sync", "sync_allowed": true}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_async", "async_required": true, "connector_requirements": ["gmail", "slack"],
          "artifact_output_possible": true, "memory_write_possible": true, "notification_required": true,
          "function_name": "app.do_async"}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_gated", "sync_allowed": true, "approval_required": true, "approval_type": "data_owner"}');
END $$;

-- ===========================================================================
-- Privileges: functions
-- ===========================================================================
-- Every role may ask who it is, authenticate, choose a project and manage its
-- own tokens, and check a registry manifest or version constraint; the row-security helpers run in the name of whoever queries
-- (pgtap_tests/privileges/tables_are_written_only_through_the_api.sql pins
-- both lists). The checks below are about the rest.
CREATE TEMP VIEW concord_functions AS
SELECT p.oid, p.oid::regprocedure::text AS signature
FROM pg_catalog.pg_proc AS p
WHERE p.pronamespace = 'concord'::regnamespace
  AND p.oid::regprocedure::text NOT IN (
      'concord.authenticate(text)', 'concord.current_principal()', 'concord.canonical_name(text)',
      'concord.use_project(text)', 'concord.create_api_token(text,interval,text[],text)',
      'concord.revoke_api_token(uuid)', 'concord._sees_all()', 'concord._visible_projects()',
      'concord._principal()', 'concord._session_is_superuser()',
      'concord.registry_manifest_problems(text,jsonb)', 'concord.registry_version_range(text)',
      'concord.registry_manifest_relationships(text,jsonb)',
      'concord.registry_version_satisfies(text,text)', 'concord.registry_canonical_json(jsonb)',
      'concord.registry_checksum(jsonb)', 'concord.registry_classify_change(text,jsonb,jsonb)',
      'concord.registry_json_schema_change(jsonb,jsonb,text)', 'concord.registry_subject_bucket(uuid,text)',
      'concord._registry_binding_visible(text,text)',
      -- reading commands under row-level security (list, explain, the approvals
      -- inbox) is every command-seeing role's; tables_are_written_only_through_the_api
      -- pins who
      'concord.explain(uuid)', 'concord.approval_inbox()',
      'concord.list_commands(text,text,text,text,timestamp with time zone,timestamp with time zone,integer,text)',
      -- a registry version is read by whoever reads the registry's views
      'concord.registry_version(uuid)');

CREATE TEMP VIEW concord_relations AS
SELECT c.oid, c.relname, c.relkind
FROM pg_catalog.pg_class AS c
WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND c.relname NOT IN ('my_api_tokens', 'my_projects');

SELECT set_eq(
    $$SELECT signature FROM concord_functions WHERE has_function_privilege('concord_approver', oid, 'EXECUTE')$$,
    ARRAY['concord.resolve_approval(uuid,text,text,text)'],
    'concord_approver may execute resolve_approval and no other concord function'
);

SELECT set_eq(
    $$SELECT relname::text FROM concord_relations WHERE has_table_privilege('concord_approver', oid, 'SELECT')$$,
    ARRAY['pending_approvals', 'decision_history'],
    'concord_approver may read pending_approvals and decision_history and nothing else'
);

SELECT is_empty(
    $$SELECT s.relname FROM pg_catalog.pg_class AS s
      WHERE s.relnamespace = 'concord'::regnamespace
        AND CASE WHEN s.relkind = 'S' THEN has_sequence_privilege('concord_approver', s.oid, 'USAGE, SELECT, UPDATE')
                 ELSE false END$$,
    'concord_approver has no privilege on any concord sequence'
);

CREATE TEMP TABLE admin_functions (signature text PRIMARY KEY);
INSERT INTO admin_functions VALUES
('concord.register_command_type(jsonb)'),
('concord.register_policy(jsonb)'),
('concord.register_approval_type(jsonb)'),
('concord.grant_command_type(text,text)'),
('concord.revoke_command_type(text,text)'),
('concord.add_team_member(text,text)'),
('concord.remove_team_member(text,text)');

SELECT is_empty(
    $$SELECT f.signature FROM admin_functions AS f
      WHERE NOT has_function_privilege('concord_admin', f.signature::regprocedure, 'EXECUTE')$$,
    'concord_admin may execute register_command_type, register_policy, register_approval_type, '
    'grant/revoke_command_type and add/remove_team_member'
);

SELECT ok(has_function_privilege('concord_admin', 'concord.resolve_approval(uuid,text,text,text)', 'EXECUTE'),
          'concord_admin may execute resolve_approval');

SELECT is_empty(
    $$SELECT signature FROM concord_functions WHERE has_function_privilege('concord_app', oid, 'EXECUTE')
      EXCEPT SELECT signature FROM concord_functions WHERE has_function_privilege('concord_admin', oid, 'EXECUTE')$$,
    'concord_admin may execute everything concord_app may'
);

SELECT is_empty(
    $$SELECT f.signature FROM admin_functions AS f
      WHERE has_function_privilege('concord_app', f.signature::regprocedure, 'EXECUTE')$$,
    'concord_app may execute none of the admin catalog functions'
);

SELECT ok(NOT has_function_privilege('concord_app', 'concord.resolve_approval(uuid,text,text,text)', 'EXECUTE'),
          'concord_app may not execute resolve_approval');

SELECT is_empty(
    $$SELECT f.signature FROM (VALUES ('concord.evaluate_policies(uuid)'), ('concord.provide_input(uuid,jsonb,text)'),
                                      ('concord.plan_command(uuid)'), ('concord.expire_approvals(timestamp with time zone)'),
                                      ('concord.choose_queue(text)')) AS f (signature)
      WHERE NOT has_function_privilege('concord_app', f.signature::regprocedure, 'EXECUTE')$$,
    'concord_app may execute evaluate_policies, provide_input, plan_command, expire_approvals and choose_queue'
);

SELECT is_empty(
    $$SELECT signature FROM concord_functions WHERE has_function_privilege('concord_reader', oid, 'EXECUTE')$$,
    'concord_reader may execute no concord function'
);

SELECT is_empty(
    $$SELECT signature FROM concord_functions
      WHERE signature LIKE 'concord.\_%'
        AND (has_function_privilege('concord_app', oid, 'EXECUTE') OR has_function_privilege('concord_admin', oid, 'EXECUTE')
             OR has_function_privilege('concord_approver', oid, 'EXECUTE'))$$,
    'no role may execute a private (_name) function'
);

SELECT ok(
    has_table_privilege('concord_app', 'concord.pending_approvals', 'SELECT')
    AND has_table_privilege('concord_app', 'concord.decision_history', 'SELECT')
    AND has_table_privilege('concord_admin', 'concord.pending_approvals', 'SELECT'),
    'concord_app and concord_admin may read pending_approvals and decision_history'
);

-- ===========================================================================
-- Privileges: no role writes a table or view directly
-- ===========================================================================
SELECT is_empty(
    $$SELECT r.role, c.relname, p.privilege
      FROM concord_relations AS c
      CROSS JOIN (VALUES ('concord_app'), ('concord_reader'), ('concord_approver'), ('concord_admin'),
                         ('concord_worker')) AS r (role)
      CROSS JOIN (VALUES ('INSERT'), ('UPDATE'), ('DELETE'), ('TRUNCATE')) AS p (privilege)
      WHERE has_table_privilege(r.role, c.oid, p.privilege)$$,
    'no role may INSERT, UPDATE, DELETE or TRUNCATE any concord table or view'
);

SELECT is_empty(
    $$SELECT r.role, c.relname
      FROM concord_relations AS c
      CROSS JOIN (VALUES ('concord_app'), ('concord_reader'), ('concord_approver'), ('concord_admin'),
                         ('concord_worker')) AS r (role)
      WHERE c.relkind IN ('r', 'p') AND has_table_privilege(r.role, c.oid, 'SELECT')$$,
    'no role may read a concord base table directly (only views)'
);

SELECT ok(
    (SELECT count(*) FROM concord_relations WHERE relname IN ('policies', 'policy_decisions', 'approvals', 'approval_types',
                                                              'team_members', 'command_type_grants', 'error_classes')) = 7,
    'the governance tables are among those checked'
);

-- ===========================================================================
-- Privileges in action (SET ROLE)
-- ===========================================================================
SELECT is(concord_test.submit('gated', 't_gated'), 'waiting_for_approval', 'fixture: a command waiting for approval');

DO $$ BEGIN
    PERFORM concord.add_team_member('team:data_owners', 'olga');
END $$;

SELECT is(
    concord_test.as_role('concord_approver',
        format($$SELECT concord.resolve_approval(%L, 'approved', 'olga')$$,
               (SELECT approval_id FROM concord.approvals WHERE command_id = concord_test.id('gated')))),
    'ok',
    'concord_approver resolves an approval'
);

SELECT is(
    (SELECT status FROM concord.commands WHERE command_id = concord_test.id('gated')),
    'queued',
    'the approval made as concord_approver moved the command on'
);

SELECT is(concord_test.as_role('concord_approver', 'SELECT * FROM concord.pending_approvals'), 'ok',
          'concord_approver reads pending_approvals');
SELECT is(concord_test.as_role('concord_approver', 'SELECT * FROM concord.decision_history'), 'ok',
          'concord_approver reads decision_history');
SELECT is(concord_test.as_role('concord_approver', 'SELECT * FROM concord.commands'), '42501',
          'concord_approver cannot read the commands table');
SELECT is(concord_test.as_role('concord_approver', $$SELECT concord.submit_command('t_sync', '{}', 'x')$$), '42501',
          'concord_approver cannot submit a command');
SELECT is(
    concord_test.as_role('concord_approver',
        format($$UPDATE concord.approvals SET status = 'approved' WHERE command_id = %L$$, concord_test.id('gated'))),
    '42501',
    'concord_approver cannot update approvals directly'
);

SELECT is(concord_test.as_role('concord_app', $$SELECT concord.submit_command('t_sync', '{}', 'x')$$), 'ok',
          'concord_app submits a command');
SELECT is(concord_test.as_role('concord_app', $$SELECT concord.register_policy('{"name": "p_app", "predicate": "true", "decision": "deny"}')$$),
          '42501', 'concord_app cannot register a policy');
SELECT is(concord_test.as_role('concord_app', $$SELECT concord.register_command_type('{"command_type": "t_app"}')$$),
          '42501', 'concord_app cannot register a command type');
SELECT is(concord_test.as_role('concord_app', $$SELECT concord.grant_command_type('t_sync', 'x')$$),
          '42501', 'concord_app cannot grant a command type');
SELECT is(
    concord_test.as_role('concord_app',
        format($$SELECT concord.resolve_approval(%L, 'approved', 'olga')$$,
               (SELECT approval_id FROM concord.approvals WHERE command_id = concord_test.id('gated')))),
    '42501',
    'concord_app cannot resolve an approval'
);
SELECT is(concord_test.as_role('concord_app', $$DELETE FROM concord.policy_decisions$$), '42501',
          'concord_app cannot write policy_decisions');

SELECT is(concord_test.as_role('concord_admin', $$SELECT concord.register_policy('{"name": "p_admin", "predicate": "true", "decision": "deny"}')$$),
          'ok', 'concord_admin registers a policy');
SELECT is(concord_test.as_role('concord_admin', $$SELECT concord.register_approval_type('{"name": "at_admin", "approver": {"team": "t"}}')$$),
          'ok', 'concord_admin registers an approval type');
SELECT is(concord_test.as_role('concord_admin', $$UPDATE concord.policies SET description = 'x' WHERE name = 'p_admin'$$),
          '42501', 'concord_admin cannot update the policies table directly');

SELECT * FROM finish();
ROLLBACK;
