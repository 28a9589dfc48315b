-- Roles and privileges (DESIGN "Shape of the SQL"): tables are written only
-- through the API. concord_app executes the API functions and reads the views
-- but writes no table; concord_reader reads the views only; concord_admin
-- has what concord_app has plus the catalog functions
-- (register_command_type, policies, approval types, grants, teams), which
-- concord_app no longer has; concord_approver resolves approvals. Every API
-- function is SECURITY DEFINER with search_path pinned; private helpers (_name)
-- are executable by nobody but the owner.
BEGIN;
SELECT plan(48);

CREATE TEMP TABLE api (signature regprocedure PRIMARY KEY);
INSERT INTO api VALUES
('concord.register_command_type(jsonb)'),
('concord.submit_command(text, jsonb, text, text, jsonb, text, text)'),
('concord.transition_command(uuid, text, text, text, jsonb, text, text)'),
('concord.cancel_command(uuid, text, text, text)'),
('concord.add_dependency(uuid, uuid, text, boolean)'),
('concord.dependencies_satisfied(uuid)'),
('concord.plan_effect(uuid, text, jsonb, text, text, uuid)'),
('concord.start_effect(uuid, text)'),
('concord.complete_effect(uuid, jsonb)'),
('concord.fail_effect(uuid, text, text)'),
('concord.get_command(uuid)'),
('concord.command_timeline(uuid)'),
('concord.can_transition(text, text)'),
('concord.map_task_to_primitives(text)'),
('concord.evaluate_policies(uuid)'),
('concord.provide_input(uuid, jsonb, text)'),
('concord.expire_approvals(timestamptz)'),
('concord.plan_command(uuid)'),
('concord.choose_queue(text)'),
('concord.register_policy(jsonb)'),
('concord.register_approval_type(jsonb)'),
('concord.grant_command_type(text, text)'),
('concord.revoke_command_type(text, text)'),
('concord.add_team_member(text, text)'),
('concord.remove_team_member(text, text)'),
('concord.resolve_approval(uuid, text, text, text)'),
('concord.register_connector(jsonb)'),
('concord.register_queue(jsonb)'),
('concord.register_schedule(jsonb)'),
('concord.hand_off_queued()'),
('concord.store_notification(text, text, text, text, uuid, text, jsonb)'),
('concord.runtime_claim(uuid, text, text)'),
('concord.runtime_check(uuid, text)'),
('concord.runtime_reconcile(text)'),
('concord.runtime_begin_effect(uuid, text, text, jsonb, text, text, uuid)'),
('concord.runtime_create_artifact(uuid, text, jsonb, text)'),
('concord.runtime_effect(uuid)'),
('concord.runtime_finish(uuid, text, text, jsonb, text, text, text)'),
('concord.runtime_compensations(uuid)'),
('concord.runtime_audit(uuid, text, text, jsonb)'),
('concord.runtime_workflow_cancelled(uuid, text, text)'),
('concord.runtime_call_effect(uuid, text)'),
('concord.record_connector_invocation(jsonb)'),
('concord.register_operations(jsonb, text, text)'),
('concord.submit_scheduled(text, timestamptz)'),
('concord.register_tool(jsonb)'),
('concord.start_swarm(uuid, jsonb)'),
('concord.spawn_subagent(jsonb)'),
('concord.submit_agent_action(uuid, jsonb)'),
('concord.record_agent_step(uuid, jsonb)'),
('concord.record_agent_message(uuid, jsonb)'),
('concord.finish_agent_run(uuid, text, jsonb, text)'),
('concord.cancel_swarm(uuid, text, text, text)'),
('concord.cancel_agent_run(uuid, text, text)'),
('concord.begin_agent_run(uuid, text)'),
('concord.agent_run_state(uuid)'),
('concord.agent_command(uuid, uuid)'),
('concord.create_artifact(uuid, jsonb)'),
('concord.read_artifact(uuid, jsonb)'),
('concord.evaluate_output(uuid, jsonb)'),
('concord.write_memory(uuid, jsonb)'),
('concord.retrieve_memory(uuid, jsonb)'),
('concord.join_swarm(uuid)'),
('concord.join_children(text, jsonb, jsonb)'),
('concord.set_artifact_status(uuid, text, text)'),
('concord.remember(jsonb, text)'),
('concord.get_memory(uuid)'),
('concord.search_memory(jsonb, text, integer)'),
('concord.supersede_memory(uuid, uuid, text)'),
('concord.forget_memory(uuid, text)'),
('concord.expire_memories(timestamptz)'),
('concord.runtime_agentic_command(uuid, text)');

-- The catalog functions only concord_admin may execute, and the function of
-- concord_approver (which concord_admin may execute too).
CREATE TEMP TABLE admin_only (signature regprocedure PRIMARY KEY);
INSERT INTO admin_only VALUES
('concord.register_command_type(jsonb)'),
('concord.register_policy(jsonb)'),
('concord.register_approval_type(jsonb)'),
('concord.grant_command_type(text, text)'),
('concord.revoke_command_type(text, text)'),
('concord.add_team_member(text, text)'),
('concord.remove_team_member(text, text)'),
('concord.register_connector(jsonb)'),
('concord.register_queue(jsonb)'),
('concord.register_schedule(jsonb)'),
('concord.hand_off_queued()'),
('concord.register_tool(jsonb)'),
('concord.create_organisation(text)'),
('concord.create_project(text, text)'),
('concord.create_principal(text, text, text)'),
('concord.map_login(name, text)'),
('concord.add_member(text, text, text, text)'),
('concord.remove_member(text, text, text, text)'),
('concord.grant_act_as(text, text, text)'),
('concord.revoke_act_as(text, text, text)'),
('concord.set_audit_retention(interval)'),
('concord.audit_partitions()'),
('concord.audit_partition_rows(text)'),
('concord.drop_audit_partition(text, bigint, text, text)');
-- Who am I, authenticate, choose a project, my tokens: every role.
CREATE TEMP TABLE every_role (signature regprocedure PRIMARY KEY);
INSERT INTO every_role VALUES
('concord.authenticate(text)'),
('concord.current_principal()'),
('concord.canonical_name(text)'),
('concord.use_project(text)'),
('concord.create_api_token(text, interval, text[], text)'),
('concord.revoke_api_token(uuid)'),
('concord.registry_manifest_problems(text, jsonb)'),
('concord.registry_manifest_relationships(text, jsonb)'),
('concord.registry_version_range(text)'),
('concord.registry_version_satisfies(text, text)'),
('concord.registry_canonical_json(jsonb)'),
('concord.registry_checksum(jsonb)'),
('concord.registry_classify_change(text, jsonb, jsonb)'),
('concord.registry_json_schema_change(jsonb, jsonb, text)'),
('concord.registry_subject_bucket(uuid, text)');
-- The helpers row-level security calls in the name of whoever queries.
CREATE TEMP TABLE row_security_helpers (signature regprocedure PRIMARY KEY);
INSERT INTO row_security_helpers VALUES
('concord._sees_all()'), ('concord._visible_projects()'), ('concord._principal()'),
('concord._session_is_superuser()'), ('concord._registry_binding_visible(text, text)');
-- What a DBOS worker calls (the runtime_* functions): concord_worker and concord_admin only.
CREATE TEMP TABLE worker_only (signature regprocedure PRIMARY KEY);
INSERT INTO worker_only VALUES
('concord.runtime_unserved(uuid, text, text)'),
('concord.runtime_heartbeat(text, text, text, integer, text [], text [])'),
('concord.runtime_orphaned_executors(text, interval)'),
('concord.runtime_claim(uuid, text, text)'),
('concord.runtime_check(uuid, text)'),
('concord.runtime_reconcile(text)'),
('concord.runtime_begin_effect(uuid, text, text, jsonb, text, text, uuid)'),
('concord.runtime_create_artifact(uuid, text, jsonb, text)'),
('concord.runtime_effect(uuid)'),
('concord.runtime_finish(uuid, text, text, jsonb, text, text, text)'),
('concord.runtime_compensations(uuid)'),
('concord.runtime_audit(uuid, text, text, jsonb)'),
('concord.runtime_workflow_cancelled(uuid, text, text)'),
('concord.record_connector_invocation(jsonb)'),
('concord.register_operations(jsonb, text, text)'),
('concord.submit_scheduled(text, timestamptz)'),
('concord.runtime_agentic_command(uuid, text)'),
('concord.runtime_registry_command(uuid, text)'),
('concord.maintain_audit_partitions(integer)');
-- What drives a command's run (claim it, let it go, its effects, its
-- outcome) or speaks as a worker (its heartbeat, adoption): the worker's alone; and transition_command, an operator's (concord_admin).
CREATE TEMP TABLE run_driving (signature regprocedure PRIMARY KEY);
INSERT INTO run_driving VALUES
('concord.runtime_unserved(uuid, text, text)'),
('concord.runtime_heartbeat(text, text, text, integer, text [], text [])'),
('concord.runtime_orphaned_executors(text, interval)'),
('concord.runtime_claim(uuid, text, text)'),
('concord.runtime_begin_effect(uuid, text, text, jsonb, text, text, uuid)'),
('concord.runtime_create_artifact(uuid, text, jsonb, text)'),
('concord.runtime_finish(uuid, text, text, jsonb, text, text, text)'),
('concord.runtime_audit(uuid, text, text, jsonb)'),
('concord.runtime_workflow_cancelled(uuid, text, text)'),
('concord.runtime_call_effect(uuid, text)'),
('concord.runtime_agentic_command(uuid, text)'),
('concord.runtime_registry_command(uuid, text)'),
('concord.plan_effect(uuid, text, jsonb, text, text, uuid)'),
('concord.start_effect(uuid, text)'),
('concord.complete_effect(uuid, jsonb)'),
('concord.fail_effect(uuid, text, text)');
-- Reading commands (list, explain, the approvals inbox) under row-level
-- security: every role that sees commands, readers and approvers included.
CREATE TEMP TABLE command_readers (signature regprocedure PRIMARY KEY);
INSERT INTO command_readers VALUES
('concord.explain(uuid)'),
('concord.list_commands(text, text, text, text, timestamptz, timestamptz, integer, text)'),
('concord.approval_inbox()');
-- a reader sees the registry's versions (the views are granted to it too)
CREATE TEMP TABLE registry_readers (signature regprocedure PRIMARY KEY);
INSERT INTO registry_readers VALUES ('concord.registry_version(uuid)');
CREATE TEMP TABLE approver_only (signature regprocedure PRIMARY KEY);
INSERT INTO approver_only VALUES ('concord.resolve_approval(uuid, text, text, text)');

-- (procedures are checked on their own below: one that commits can be
-- neither SECURITY DEFINER nor carry SET clauses)
CREATE TEMP VIEW public_functions AS
SELECT p.oid, p.oid::regprocedure AS signature, p.prosecdef, p.proconfig
FROM pg_catalog.pg_proc AS p
WHERE p.pronamespace = 'concord'::regnamespace AND p.proname !~ '^_' AND p.prokind <> 'p';

CREATE TEMP VIEW private_functions AS
SELECT p.oid, p.oid::regprocedure AS signature
FROM pg_catalog.pg_proc AS p
WHERE p.pronamespace = 'concord'::regnamespace AND p.proname ~ '^_';

CREATE TEMP VIEW concord_tables AS
SELECT c.oid, c.relname
FROM pg_catalog.pg_class AS c
WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind IN ('r', 'p');

-- ---------------------------------------------------------------------------
-- Catalog checks
-- ---------------------------------------------------------------------------
SELECT has_role('concord_app', 'the role concord_app exists');
SELECT has_role('concord_reader', 'the role concord_reader exists');
SELECT has_role('concord_admin', 'the role concord_admin exists');
SELECT has_role('concord_approver', 'the role concord_approver exists');

SELECT is_empty(
    'SELECT signature FROM api EXCEPT SELECT signature FROM public_functions',
    'every documented API function is a public function of schema concord'
);

SELECT is_empty(
    'SELECT signature FROM public_functions WHERE NOT prosecdef',
    'every public concord function is SECURITY DEFINER'
);

SELECT is_empty(
    $$SELECT p.oid::regprocedure FROM pg_catalog.pg_proc AS p
      WHERE p.pronamespace = 'concord'::regnamespace AND p.prokind = 'p'
        AND (p.prosecdef OR p.proconfig IS NOT NULL OR has_function_privilege('public', p.oid, 'EXECUTE')
             OR has_function_privilege('concord_reader', p.oid, 'EXECUTE')
             OR has_function_privilege('concord_agent', p.oid, 'EXECUTE'))$$,
    'every concord procedure runs as its caller (no SECURITY DEFINER, no SET clause: it gains no right) '
    'and is not granted to PUBLIC, concord_reader or concord_agent'
);

SELECT is_empty(
    $$SELECT signature FROM public_functions
      WHERE NOT coalesce('search_path=concord, pg_temp' = ANY (proconfig), false)$$,
    'every public concord function pins search_path = concord, pg_temp'
);

SELECT is_empty(
    $$SELECT signature FROM public_functions WHERE NOT has_function_privilege('concord_app', oid, 'EXECUTE')
      EXCEPT SELECT signature FROM admin_only EXCEPT SELECT signature FROM approver_only
      EXCEPT SELECT signature FROM worker_only EXCEPT SELECT signature FROM run_driving
      EXCEPT SELECT 'concord.transition_command(uuid, text, text, text, jsonb, text, text)'::regprocedure$$,
    'concord_app may execute every public concord function but the admin, approver and worker ones, '
    'transition_command and the effect functions'
);

SELECT is_empty(
    $$SELECT signature FROM admin_only WHERE has_function_privilege('concord_app', signature, 'EXECUTE')
      UNION ALL
      SELECT signature FROM approver_only WHERE has_function_privilege('concord_app', signature, 'EXECUTE')$$,
    'concord_app may execute none of register_command_type, the other catalog functions, resolve_approval'
);

SELECT is_empty(
    $$SELECT signature FROM public_functions WHERE NOT has_function_privilege('concord_admin', oid, 'EXECUTE')
      EXCEPT SELECT signature FROM run_driving$$,
    'concord_admin may execute every public concord function but those that drive a run'
);

SELECT set_eq(
    $$SELECT signature FROM public_functions WHERE has_function_privilege('concord_approver', oid, 'EXECUTE')$$,
    $$SELECT signature FROM approver_only UNION SELECT signature FROM every_role
      UNION SELECT signature FROM command_readers$$,
    'concord_approver may execute resolve_approval, the functions of every role and the command '
    'readers, no other public one'
);

SELECT is_empty(
    $$SELECT signature FROM public_functions WHERE has_function_privilege('concord_reader', oid, 'EXECUTE')
      EXCEPT SELECT signature FROM every_role EXCEPT SELECT signature FROM command_readers
      EXCEPT SELECT signature FROM registry_readers$$,
    'concord_reader may execute no public concord function but those of every role, the '
    'command readers (list, explain, inbox) and registry_version'
);

SELECT is_empty(
    $$SELECT signature FROM public_functions WHERE has_function_privilege('public', oid, 'EXECUTE')$$,
    'PUBLIC may execute no public concord function'
);

SELECT is_empty(
    $$SELECT signature FROM private_functions
      WHERE has_function_privilege('concord_app', oid, 'EXECUTE')
         OR has_function_privilege('concord_reader', oid, 'EXECUTE')
         OR has_function_privilege('concord_admin', oid, 'EXECUTE')
         OR has_function_privilege('concord_approver', oid, 'EXECUTE')
         OR has_function_privilege('public', oid, 'EXECUTE')
      EXCEPT SELECT signature FROM row_security_helpers$$,
    'no role but the owner may execute a private (_name) helper, but the row-security helpers'
);

SELECT cmp_ok(
    (SELECT count(*) FROM private_functions), '>', 0::bigint,
    'fixture: private helpers exist, so the check above looked at something'
);

SELECT function_privs_are('concord', 'submit_command',
    ARRAY['text', 'jsonb', 'text', 'text', 'jsonb', 'text', 'text'], 'concord_app', ARRAY['EXECUTE'],
    'concord_app has EXECUTE on submit_command');
SELECT function_privs_are('concord', 'submit_command',
    ARRAY['text', 'jsonb', 'text', 'text', 'jsonb', 'text', 'text'], 'concord_reader', '{}'::text[],
    'concord_reader has no privilege on submit_command');
SELECT function_privs_are('concord', 'transition_command',
    ARRAY['uuid', 'text', 'text', 'text', 'jsonb', 'text', 'text'], 'concord_app', '{}'::text[],
    'concord_app has no privilege on transition_command');

SELECT is_empty(
    $$SELECT relname FROM concord_tables
      WHERE has_table_privilege('concord_app', oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')$$,
    'concord_app can INSERT, UPDATE, DELETE or TRUNCATE no concord table'
);

SELECT is_empty(
    $$SELECT relname FROM concord_tables
      WHERE has_table_privilege('concord_admin', oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
         OR has_table_privilege('concord_approver', oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')$$,
    'concord_admin and concord_approver can INSERT, UPDATE, DELETE or TRUNCATE no concord table either'
);

SELECT is_empty(
    $$SELECT relname FROM concord_tables
      WHERE has_table_privilege('concord_reader', oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')$$,
    'concord_reader has no privilege on any concord table (not even SELECT)'
);

SELECT is_empty(
    $$SELECT relname FROM concord_tables
      WHERE has_table_privilege('public', oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')$$,
    'PUBLIC has no privilege on any concord table'
);

SELECT table_privs_are('concord', 'commands_by_status', 'concord_app', ARRAY['SELECT'],
                       'concord_app can only SELECT commands_by_status');
SELECT table_privs_are('concord', 'recent_failures', 'concord_app', ARRAY['SELECT'],
                       'concord_app can only SELECT recent_failures');
SELECT table_privs_are('concord', 'effects_in_flight', 'concord_app', ARRAY['SELECT'],
                       'concord_app can only SELECT effects_in_flight');
SELECT table_privs_are('concord', 'command_audit', 'concord_app', ARRAY['SELECT'],
                       'concord_app can only SELECT command_audit');
SELECT table_privs_are('concord', 'commands_by_status', 'concord_reader', ARRAY['SELECT'],
                       'concord_reader can only SELECT commands_by_status');
SELECT table_privs_are('concord', 'recent_failures', 'concord_reader', ARRAY['SELECT'],
                       'concord_reader can only SELECT recent_failures');
SELECT table_privs_are('concord', 'effects_in_flight', 'concord_reader', ARRAY['SELECT'],
                       'concord_reader can only SELECT effects_in_flight');
SELECT table_privs_are('concord', 'command_audit', 'concord_reader', ARRAY['SELECT'],
                       'concord_reader can only SELECT command_audit');

-- ---------------------------------------------------------------------------
-- concord_app in practice
-- ---------------------------------------------------------------------------
SET LOCAL ROLE concord_admin;

SELECT lives_ok(
    $$SELECT concord.register_command_type('{"command_type": "t_priv", "sync_allowed": true}')$$,
    'concord_admin can register a command type through the API'
);

SET LOCAL ROLE concord_app;

SELECT throws_ok(
    $$SELECT concord.register_command_type('{"command_type": "t_priv_app", "sync_allowed": true}')$$,
    '42501', NULL,
    '42501: concord_app cannot register a command type (issue 3: that is concord_admin''s)'
);

SELECT lives_ok(
    $$SELECT concord.cancel_command(s.command_id, 'app-user')
      FROM concord.submit_command('t_priv', '{}', 'app-user', idempotency_key => 'priv-1') AS s$$,
    'concord_app can submit and cancel a command through the API'
);

SELECT lives_ok(
    $$SELECT count(*) FROM concord.commands_by_status
      UNION ALL SELECT count(*) FROM concord.recent_failures
      UNION ALL SELECT count(*) FROM concord.effects_in_flight
      UNION ALL SELECT count(*) FROM concord.command_audit$$,
    'concord_app can SELECT the four views'
);

SELECT throws_ok(
    $$INSERT INTO concord.commands (command_type, requested_by, ingress) VALUES ('t_priv', 'app', 'sql')$$,
    '42501', NULL,
    '42501: concord_app cannot INSERT into commands'
);

SELECT throws_ok(
    $$UPDATE concord.commands SET status = 'succeeded' WHERE idempotency_key = 'priv-1'$$,
    '42501', NULL,
    '42501: concord_app cannot UPDATE commands'
);

SELECT throws_ok(
    $$DELETE FROM concord.commands WHERE idempotency_key = 'priv-1'$$,
    '42501', NULL,
    '42501: concord_app cannot DELETE from commands'
);

SELECT throws_ok(
    $$INSERT INTO concord.domain_events (purpose, event_type, actor, trace_id)
      VALUES ('audit', 'forged', 'app', 'trace_forged')$$,
    '42501', NULL,
    '42501: concord_app cannot INSERT into domain_events'
);

SELECT throws_ok(
    $$UPDATE concord.domain_effects SET status = 'succeeded'$$,
    '42501', NULL,
    '42501: concord_app cannot UPDATE domain_effects'
);

SELECT throws_ok(
    $$INSERT INTO concord.command_types (command_type, name) VALUES ('t_forged', 'forged')$$,
    '42501', NULL,
    '42501: concord_app cannot INSERT into command_types (only register_command_type)'
);

SELECT throws_ok(
    $$SELECT concord._audit('forged', NULL, NULL, NULL, NULL, NULL, NULL)$$,
    '42501', NULL,
    '42501: concord_app cannot call a private helper (_audit)'
);

RESET ROLE;

SELECT row_eq(
    $$SELECT c.status, e.actor FROM concord.commands AS c
      INNER JOIN concord.domain_events AS e ON e.command_id = c.command_id AND e.to_status = 'cancelled'
      WHERE c.idempotency_key = 'priv-1'$$,
    ROW('cancelled'::text, 'app-user'::text),
    'the change concord_app made through the API is stored and audited under the API actor'
);

-- ---------------------------------------------------------------------------
-- concord_reader in practice
-- ---------------------------------------------------------------------------
SET LOCAL ROLE concord_reader;

SELECT lives_ok(
    $$SELECT count(*) FROM concord.commands_by_status
      UNION ALL SELECT count(*) FROM concord.recent_failures
      UNION ALL SELECT count(*) FROM concord.effects_in_flight
      UNION ALL SELECT count(*) FROM concord.command_audit$$,
    'concord_reader can SELECT the four views'
);

SELECT throws_ok(
    $$SELECT * FROM concord.submit_command('t_priv', '{}', 'reader')$$,
    '42501', NULL,
    '42501: concord_reader cannot execute submit_command'
);

SELECT throws_ok(
    $$SELECT concord.can_transition('created', 'validated')$$,
    '42501', NULL,
    '42501: concord_reader cannot execute even a read-only API function (can_transition)'
);

SELECT throws_ok(
    $$SELECT count(*) FROM concord.commands$$,
    '42501', NULL,
    '42501: concord_reader cannot read the commands table'
);

SELECT throws_ok(
    $$SELECT count(*) FROM concord.domain_events$$,
    '42501', NULL,
    '42501: concord_reader cannot read the domain_events table'
);

RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
