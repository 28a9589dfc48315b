-- A tour of the Concord kernel in psql.
--
--   make demo                                  (a fresh database, then this file)
--   psql -X -v ON_ERROR_STOP=1 -d DB -f demo/01_kernel_tour.sql
--                                              (by hand, on any database where
--                                               `concord migrate` has run)
--
-- Every step prints what it does. Some steps are refused on purpose; each runs in a
-- DO block that catches exactly the expected error and prints it, and fails the demo
-- if the error does not come.
--
-- It runs as a superuser (psql as postgres): it sets up who is who (section 0), then
-- plays alice and mallory with SET SESSION AUTHORIZATION, the scheduler service with
-- its API token, and the worker (the superuser itself). Run twice, it creates nothing
-- twice.

\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
\pset null '(null)'
\pset columns 110
\x auto
SET client_min_messages = notice;
\set VERBOSITY terse

\echo
\echo '================================================================================'
\echo ' 0. Who is speaking: an organisation, a project, principals and their logins'
\echo '================================================================================'
\echo 'Every "who" in Concord is an authenticated principal, never a name a caller types.'
\echo 'Principals are members of organisations, which hold projects; every command belongs'
\echo 'to a project, and a principal sees and acts only where it is a member. As the'
\echo 'superuser we set up the organisation acme, its project finance, and four principals:'
\echo 'alice and mallory (members), dana (an approver) and scheduler (a service).'
\echo

-- Run twice, the demo finds them: only what is missing is created.
SELECT 'acme' AS organisation, concord.create_organisation('acme') AS org_id
WHERE NOT EXISTS (SELECT 1 FROM concord.organisations WHERE name = 'acme');
SELECT 'acme/finance' AS project, concord.create_project('acme', 'finance') AS project_id
WHERE NOT EXISTS (SELECT 1 FROM concord.projects AS p
                  INNER JOIN concord.organisations AS o ON p.org_id = o.org_id
                  WHERE o.name = 'acme' AND p.name = 'finance');
SELECT p.name AS principal, p.kind, concord.create_principal(p.name, p.kind) AS principal_id
FROM (VALUES ('alice', 'user'), ('dana', 'user'), ('mallory', 'user'), ('scheduler', 'service'))
    AS p (name, kind)
WHERE NOT EXISTS (SELECT 1 FROM concord.principals AS x WHERE x.name = p.name);

-- Roles: member (submit, cancel, read), approver (decide approvals); owner and admin
-- also manage the organisation. True when added now, false when already a member.
SELECT m.principal, m.role, concord.add_member('acme', m.principal, m.role) AS added
FROM (VALUES ('alice', 'member'), ('dana', 'approver'), ('mallory', 'member'),
             ('scheduler', 'member')) AS m (principal, role);

\echo
\echo 'Names are canonical: ALICE and alice are one principal, and a name hiding an'
\echo 'invisible character is refused.'
SELECT concord.canonical_name('ALICE') AS canonical;

DO $$
BEGIN
    PERFORM concord.canonical_name(E'alice\u200b');
    RAISE EXCEPTION 'demo: expected CN008 (a name with an invisible character), but it was accepted';
EXCEPTION WHEN SQLSTATE 'CN008' THEN
    RAISE NOTICE 'refused as expected: % (%)', SQLERRM, SQLSTATE;
END
$$;

\echo
\echo 'People sign in as database logins, each mapped to one principal. The logins are'
\echo 'ordinary PostgreSQL roles (cluster-wide, so created only if missing) holding'
\echo 'Concord''s roles: concord_app to submit, concord_approver to decide approvals.'
\echo 'mallory holds both: the database lets her call resolve_approval, Concord decides'
\echo 'whether she may approve.'
\echo

DO $$
DECLARE
    login record;
BEGIN
    FOR login IN
        SELECT * FROM (VALUES ('demo_alice', 'concord_app'), ('demo_dana', 'concord_approver'),
                              ('demo_mallory', 'concord_app, concord_approver')) AS l (name, roles)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = login.name) THEN
            EXECUTE format('CREATE ROLE %I LOGIN IN ROLE %s', login.name, login.roles);
            RAISE NOTICE 'created login % in role %', login.name, login.roles;
        END IF;
    END LOOP;
END
$$;

SELECT l.login, l.principal, concord.map_login(l.login, l.principal) AS mapped_now
FROM (VALUES ('demo_alice', 'alice'), ('demo_dana', 'dana'), ('demo_mallory', 'mallory'))
    AS l (login, principal);

\echo
\echo 'A session''s principal comes from its login. The superuser maps to nobody (it acts'
\echo 'for the kernel and sees every project); SET SESSION AUTHORIZATION plays alice:'
\echo

SELECT session_user AS login, concord.current_principal() AS principal;
SET SESSION AUTHORIZATION demo_alice;
SELECT session_user AS login, concord.current_principal() AS principal;
SELECT full_name, roles FROM concord.my_projects ORDER BY full_name;
RESET SESSION AUTHORIZATION;

\echo
\echo 'Services (a gateway, a webhook receiver, the scheduler) authenticate with API tokens.'
\echo 'A token is shown once, when it is created; only its SHA-256 is kept:'
\echo

SELECT token_id AS scheduler_token_id, token AS scheduler_token, expires_at AS scheduler_token_expires
FROM concord.create_api_token('scheduler', expires_in => '1 day', label => 'kernel tour') \gset
\echo 'the token (its first characters; the demo keeps it in a psql variable):'
SELECT left(:'scheduler_token', 12) || '...' AS token;
\echo 'what is listed of it afterwards, never its secret:'
SELECT principal, label, expires_at > now() AS valid, usable
FROM concord.my_api_tokens
WHERE token_id = :'scheduler_token_id';

\echo
\echo 'concord.authenticate(token) makes the rest of the transaction act as its principal:'
BEGIN;
SELECT concord.authenticate(:'scheduler_token') AS authenticated_as;
SELECT concord.current_principal() AS principal;
COMMIT;
\echo 'and the next transaction is the superuser''s again:'
SELECT concord.current_principal() AS principal;

\echo
\echo 'New commands go to the chosen project. The tour works in acme/finance: choose it'
\echo 'for this session (grants and teams then belong to the organisation acme too).'
SELECT concord.use_project('acme/finance') AS project;

\echo
\echo '================================================================================'
\echo ' 1. Register a command type: the spec''s "Generate Report" task (spec section 14)'
\echo '================================================================================'
\echo 'A command type is a contract: which inputs a request must carry, whether it runs'
\echo 'asynchronously, what it may produce, and a JSON Schema its payload must satisfy.'
\echo 'Registering the same spec again changes nothing.'
\echo
\echo 'Its policy_checks must name registered policies: permission and cost are built in;'
\echo 'data_access is ours, a declarative rule (demo/02 looks at policies closely). The'
\echo 'permission policy lets a requester submit only a type it holds a grant for.'
\echo

SELECT concord.register_policy($policy$
{
  "name": "data_access",
  "description": "Reports on restricted data sets are denied",
  "predicate": "$.payload.report_type == $restricted[*]",
  "vars": {"restricted": ["payroll", "salaries"]},
  "decision": "deny",
  "reasons": ["payroll and salary data are restricted: no reports on them"]
}
$policy$) AS policy;

SELECT concord.register_command_type($spec$
{
  "command_type": "generate_report",
  "name": "Generate Report",
  "description": "Generate a report asynchronously.",
  "function_name": "generate_report",
  "ingress_types": ["user_request", "scheduled_trigger"],
  "required_inputs": ["report_type", "date_range"],
  "async_required": true,
  "artifact_output_possible": true,
  "notification_required": true,
  "policy_checks": ["permission", "cost", "data_access"],
  "risk_level": "medium",
  "payload_schema": {
    "type": "object",
    "required": ["report_type", "date_range"],
    "properties": {
      "report_type": {"type": "string"},
      "date_range": {
        "type": "string",
        "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$",
        "description": "one month, like 2026-05"
      }
    }
  }
}
$spec$) AS registered;

SELECT command_type, name, function_name, ingress_types, required_inputs, async_required,
       policy_checks, risk_level, version
FROM concord.command_types
WHERE command_type = 'generate_report';

-- Who may submit it, in the organisation of the chosen project, acme (true when granted
-- now, false when the grant already existed).
SELECT principal, concord.grant_command_type('generate_report', principal) AS granted
FROM unnest(ARRAY['alice', 'scheduler']) AS p (principal);

\echo
\echo '================================================================================'
\echo ' 2. Which primitives does it map to? (spec 14: map_task_to_primitives)'
\echo '================================================================================'
\echo 'A pure function of the type''s flags: async, so queue + async_task; it writes an'
\echo 'artifact and notifies someone; every command ends with a state transition and audit.'
\echo

SELECT step, primitive
FROM unnest(concord.map_task_to_primitives('generate_report')) WITH ORDINALITY AS p (primitive, step);

\echo
\echo '================================================================================'
\echo ' 3. Submit a command with an idempotency key'
\echo '================================================================================'
\echo 'submit_command records the request as a command row, checks the payload (required'
\echo 'inputs and JSON Schema, inside Postgres), evaluates its policies (all allow here),'
\echo 'and moves it created -> validated -> queued because the type is asynchronous: all in'
\echo 'one transaction. alice submits it herself: requested_by NULL means "me", the'
\echo 'authenticated principal.'
\echo

-- The spec's key (section 36). Run again on the same database, the demo adds a suffix
-- so that its first submit is a new command again.
SELECT 'generate_report:monthly_revenue:2026-05'
       || CASE WHEN count(*) > 0 THEN ':demo-run-' || (count(*) + 1) ELSE '' END AS report_key
FROM concord.commands
WHERE idempotency_key LIKE 'generate_report:monthly_revenue:2026-05%' \gset

SET SESSION AUTHORIZATION demo_alice;
SELECT command_id AS report_id, status AS report_status, created AS report_created
FROM concord.submit_command(
    'generate_report',
    '{"report_type": "monthly_revenue", "date_range": "2026-05"}',
    NULL,
    ingress => 'user_request',
    idempotency_key => :'report_key'
) \gset

\echo 'idempotency key:' :report_key
\echo 'command_id:     ' :report_id
\echo 'status:         ' :report_status
\echo 'created:        ' :report_created
\echo

\echo
\echo '================================================================================'
\echo ' 4. Replay the same request with the same key (spec 11)'
\echo '================================================================================'
\echo 'A retried request returns the original command and writes nothing: created is'
\echo 'false and the id is the same. (The same key with a different payload is refused'
\echo 'with CN002.)'
\echo

SELECT command_id = :'report_id'::uuid AS same_command_id, status, created
FROM concord.submit_command(
    'generate_report',
    '{"report_type": "monthly_revenue", "date_range": "2026-05"}',
    NULL,
    ingress => 'user_request',
    idempotency_key => :'report_key'
);
RESET SESSION AUTHORIZATION;

SELECT count(*) AS commands_with_this_key
FROM concord.commands
WHERE idempotency_key = :'report_key';

\echo
\echo '================================================================================'
\echo ' 5. An invalid payload is recorded, as failed, with every problem listed'
\echo '================================================================================'
\echo 'A rejected request still leaves a trace (spec 4.1): the command is stored with'
\echo 'status failed, error_class validation_error and one entry per problem. mallory'
\echo 'sends one (and reads it back: recent_failures shows her only her projects):'
\echo

SET SESSION AUTHORIZATION demo_mallory;
SELECT s.status, s.created, e.problem ->> 'path' AS path, e.problem ->> 'kind' AS kind,
       e.problem ->> 'message' AS message
FROM concord.submit_command(
    'generate_report', '{"report_type": " ", "date_range": "May 2026"}', NULL,
    ingress => 'user_request'
) AS s
CROSS JOIN LATERAL jsonb_array_elements(s.errors) AS e (problem);

SELECT command_type, requested_by, error_class, error
FROM concord.recent_failures
WHERE requested_by = 'mallory'
LIMIT 1;
RESET SESSION AUTHORIZATION;

\echo
\echo '================================================================================'
\echo ' 6. Dependencies: two more commands, and a cycle that is refused (CN003)'
\echo '================================================================================'
\echo 'A digest that needs the report, and a publication that needs the digest:'
\echo '    report  <-  digest  <-  publish'
\echo 'The scheduler service submits both, authenticated by its token for the transaction:'
\echo

BEGIN;
SELECT concord.authenticate(:'scheduler_token') AS authenticated_as \gset
SELECT command_id AS digest_id
FROM concord.submit_command(
    'generate_report', '{"report_type": "monthly_digest", "date_range": "2026-05"}',
    NULL, ingress => 'scheduled_trigger'
) \gset
SELECT command_id AS publish_id
FROM concord.submit_command(
    'generate_report', '{"report_type": "board_pack", "date_range": "2026-05"}',
    NULL, ingress => 'scheduled_trigger'
) \gset
COMMIT;

\echo 'report: ' :report_id
\echo 'digest: ' :digest_id
\echo 'publish:' :publish_id
\echo
SELECT x.command, c.requested_by, c.ingress, c.status
FROM (VALUES (1, 'digest', :'digest_id'::uuid), (2, 'publish', :'publish_id'::uuid)) AS x (n, command, id)
INNER JOIN concord.commands AS c ON x.id = c.command_id
ORDER BY x.n;

SELECT 'digest waits for report' AS added FROM concord.add_dependency(:'digest_id', :'report_id');
SELECT 'publish waits for digest' AS added FROM concord.add_dependency(:'publish_id', :'digest_id');

\echo 'Now make the report wait for the publication: report <- publish <- digest <- report'
\echo 'would make all three wait for each other forever, so the kernel refuses the edge.'
\echo

-- psql does not substitute :variables inside $$ bodies: the ids travel as settings.
SET demo.report_id = :'report_id';
SET demo.digest_id = :'digest_id';
SET demo.publish_id = :'publish_id';

DO $$
DECLARE
    detail text;
BEGIN
    PERFORM concord.add_dependency(
        current_setting('demo.report_id')::uuid, current_setting('demo.publish_id')::uuid);
    RAISE EXCEPTION 'demo: expected CN003 (dependency cycle), but the edge was added';
EXCEPTION WHEN SQLSTATE 'CN003' THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE E'refused as expected: % (%)\n        %', SQLERRM, SQLSTATE, detail;
END
$$;

\echo
\echo 'The digest''s dependencies, as get_command reports them:'
SELECT d.parent_command_id, d.required_status, d.parent_status, d.satisfied
FROM jsonb_to_recordset(concord.get_command(:'digest_id') -> 'dependencies')
    AS d (parent_command_id uuid, required_status text, parent_status text, satisfied boolean);

\echo
\echo '================================================================================'
\echo ' 7. Illegal transitions are refused (CN001)'
\echo '================================================================================'
\echo 'The state machine is data (concord.command_transitions) and a trigger enforces it,'
\echo 'whoever writes. queued -> succeeded skips running:'
\echo

DO $$
DECLARE
    detail text;
BEGIN
    PERFORM concord.transition_command(
        current_setting('demo.report_id')::uuid, 'succeeded', 'worker-1');
    RAISE EXCEPTION 'demo: expected CN001 (illegal transition), but queued -> succeeded was accepted';
EXCEPTION WHEN SQLSTATE 'CN001' THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE E'refused as expected: % (%)\n        %', SQLERRM, SQLSTATE, detail;
END
$$;

\echo
\echo 'queued -> running is an edge, but the digest may not run before the report succeeded:'
\echo

DO $$
DECLARE
    detail text;
BEGIN
    PERFORM concord.transition_command(
        current_setting('demo.digest_id')::uuid, 'running', 'worker-2');
    RAISE EXCEPTION 'demo: expected CN001 (unmet dependency), but the digest started running';
EXCEPTION WHEN SQLSTATE 'CN001' THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE E'refused as expected: % (%)\n        %', SQLERRM, SQLSTATE, detail;
END
$$;

\echo
\echo '================================================================================'
\echo ' 8. Run the report: queued -> running -> succeeded, with a result'
\echo '================================================================================'
\echo 'In production a DBOS worker makes these calls; here we play the worker. Only the'
\echo 'worker step of the command''s current run (its workflow: the command id for run 1)'
\echo 'moves it into running and records its outcome; transition_command would refuse (CN012).'
\echo

SELECT concord.runtime_claim(:'report_id', :'report_id', 'worker-1') ->> 'action' AS claim;
SELECT concord.runtime_finish(:'report_id', :'report_id', 'succeeded',
                              reason => 'report written',
                              result => '{"artifact": "reports/monthly_revenue-2026-05.pdf"}')
       AS status;

SELECT status, result, completed_at IS NOT NULL AS completed
FROM concord.commands
WHERE command_id = :'report_id';

\echo
\echo 'The digest''s dependency is now met, so it may run:'
SELECT concord.dependencies_satisfied(:'digest_id') AS digest_may_run;

\echo
\echo '================================================================================'
\echo ' 9. The report''s timeline: every change, in order, in the append-only event log'
\echo '================================================================================'
\echo

SELECT event_seq, event_type, from_status, to_status, actor, reason
FROM concord.command_timeline(:'report_id');

\echo
\echo '================================================================================'
\echo '10. Commands by status (the view concord.commands_by_status; empty statuses hidden)'
\echo '================================================================================'
\echo

SELECT status, terminal, commands
FROM concord.commands_by_status
WHERE commands > 0
ORDER BY status;

\echo
\echo 'End of the tour. Explore further: concord.get_command(id), concord.command_audit,'
\echo 'concord.recent_failures, concord.command_transitions.'
