-- Spec 38, the approval-gated flow: "Publish the May revenue report to finance@example.com."
--
--   created -> validated -> waiting_for_approval -> approved -> queued -> running -> succeeded
--
-- The built-in external_sharing policy sees an e-mail address as destination and asks
-- for the approval of a data owner (approval type data_owner, approvers: the members of
-- team:data_owners). The requester cannot approve their own command; a data owner can.
--
-- Everyone speaks as themselves: the superuser sets up the project acme/finance's
-- grants and teams, then plays alice, mallory and dana with SET SESSION AUTHORIZATION
-- (their logins and principals come from demo/01_kernel_tour.sql, section 0).
--
-- Nothing runs while it waits: no DBOS workflow exists for it. The approval hands it to
-- DBOS in the approving transaction, and the demo's worker publishes it moments later.
--
--   make demo                                  (a fresh database, a worker, then
--                                               demo/01..04 in order)
--   psql -X -v ON_ERROR_STOP=1 -d DB -f demo/03_approval_gated_publish.sql
--                                              (by hand, on any database where
--                                               `concord migrate` has run and the demo's
--                                               worker runs: see tests/harness/demo.sh;
--                                               run it twice and it submits a new command
--                                               again)

\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
\pset null '(null)'
\pset columns 110
\x off
SET client_min_messages = notice;
\set VERBOSITY terse
\ir wait_helpers.sql

\echo
\echo '================================================================================'
\echo ' 1. The command type: publish_report, governed by permission and external_sharing'
\echo '================================================================================'
\echo 'The flow happens in the project acme/finance. Grants and teams belong to its'
\echo 'organisation, acme: choose the project first.'
\echo

SELECT concord.use_project('acme/finance') AS project;


SELECT concord.register_command_type($spec$
{
  "command_type": "publish_report",
  "name": "Publish Report",
  "description": "Send a finished report to a destination.",
  "function_name": "publish_report",
  "ingress_types": ["user_request"],
  "required_inputs": ["report", "destination"],
  "async_required": true,
  "notification_required": true,
  "policy_checks": ["permission", "external_sharing"],
  "risk_level": "medium",
  "payload_schema": {
    "type": "object",
    "properties": {
      "report": {"type": "string"},
      "destination": {"type": "string"}
    }
  }
}
$spec$) AS registered;

-- alice may publish reports (through her team in acme; true when granted or added now).
SELECT concord.grant_command_type('publish_report', 'team:analysts') AS granted_to_team,
       concord.add_team_member('team:analysts', 'alice') AS alice_joined;

\echo
\echo 'external_sharing is built in. Its config names the payload fields it inspects and the'
\echo 'approval type it asks for when one holds an e-mail address (an @) or starts with'
\echo 'external:. data_owner is one of the two approval types Concord ships (the other is'
\echo 'standard, approved by team:approvers):'
\echo

SELECT name, kind, config FROM concord.policies WHERE name = 'external_sharing';

SELECT name, risk_level, approver_team, decision_values, default_expiry_minutes, on_rejected
FROM concord.approval_types
WHERE name = 'data_owner';

\echo
\echo 'Approvers are data: make dana a data owner of acme. (She holds the approver role'
\echo 'there, see demo/01; mallory is a member and no data owner.)'
SELECT concord.add_team_member('team:data_owners', 'dana') AS dana_joined;

\echo
\echo '================================================================================'
\echo ' 2. alice asks to publish the May report to finance@example.com'
\echo '================================================================================'
\echo 'Every approval that is requested or decided is announced with pg_notify on the'
\echo 'channel concord_approvals (JSON: approval_id, command_id, status, command_status, ...).'
\echo 'This session listens, so psql prints each notification after the statement that sent'
\echo 'it.'
\echo
\echo 'alice signs in (here: SET SESSION AUTHORIZATION to her login, demo_alice) and submits.'
\echo 'requested_by NULL means herself; naming herself, ''alice'', would do the same.'
\echo

LISTEN concord_approvals;

SET SESSION AUTHORIZATION demo_alice;
SELECT session_user AS login, concord.current_principal() AS principal,
       concord.use_project('acme/finance') AS project;

SELECT command_id AS publish_id, status AS publish_status
FROM concord.submit_command(
    'publish_report',
    '{"report": "reports/monthly_revenue-2026-05.pdf", "destination": "finance@example.com"}',
    NULL,
    ingress => 'user_request'
) \gset

\echo 'command_id:' :publish_id
\echo 'status:    ' :publish_status
\echo
\echo 'A name is an assertion, not an identity: alice cannot submit as dana (CN012), unless'
\echo 'an act-as grant lets her speak for dana in this project (services get those).'
\echo

DO $$
DECLARE
    rule text;
BEGIN
    PERFORM concord.submit_command(
        'publish_report',
        '{"report": "reports/monthly_revenue-2026-05.pdf", "destination": "finance@example.com"}',
        requested_by => 'dana', ingress => 'user_request');
    RAISE EXCEPTION 'demo: expected CN012 (acting for another), but alice submitted as dana';
EXCEPTION WHEN SQLSTATE 'CN012' THEN
    GET STACKED DIAGNOSTICS rule = CONSTRAINT_NAME;
    RAISE NOTICE 'refused as expected: % (%, %)', SQLERRM, SQLSTATE, rule;
END
$$;

RESET SESSION AUTHORIZATION;

SELECT policy, decision, approval_type, reasons
FROM concord.policy_decisions
WHERE command_id = :'publish_id'
ORDER BY decision_id;

\echo
\echo 'Nothing runs while it waits: it has no DBOS workflow (the worker never sees it).'
SELECT status, dbos_workflow_id FROM concord.commands WHERE command_id = :'publish_id';

\echo
\echo '================================================================================'
\echo ' 3. What dana sees: concord.pending_approvals'
\echo '================================================================================'
\echo 'One row per approval and eligible approver (never the requester), with the review'
\echo 'packet: what is asked, by whom, why, which data, what happens after, until when.'
\echo 'dana signs in as demo_dana:'
\echo

SELECT approval_id AS approval_id
FROM concord.approvals
WHERE command_id = :'publish_id' AND status = 'pending' \gset

SET SESSION AUTHORIZATION demo_dana;
SELECT session_user AS login, concord.current_principal() AS principal;

SELECT approver, approval_type, requested_by, expires_at > now() AS open
FROM concord.pending_approvals
WHERE approval_id = :'approval_id';

\x on
SELECT jsonb_pretty(review_packet - 'expires_at') AS review_packet
FROM concord.pending_approvals
WHERE approval_id = :'approval_id' AND approver = 'dana';
\x off
RESET SESSION AUTHORIZATION;

\echo
\echo '================================================================================'
\echo ' 4. alice cannot approve her own request; mallory may not approve (refused)'
\echo '================================================================================'
\echo 'alice''s login holds concord_app only: the database itself refuses her the call'
\echo '(42501). Named by anyone else, she still could not: the kernel refuses a requester''s'
\echo 'approval (CN012, approver_is_not_the_requester), whoever writes the row.'
\echo 'mallory''s login may call resolve_approval (concord_approver), but in acme she is a'
\echo 'member, not an approver, and no data owner: Concord refuses her (CN012).'
\echo

-- psql does not substitute :variables inside $$ bodies: the id travels as a setting.
SET demo.approval_id = :'approval_id';

SET SESSION AUTHORIZATION demo_alice;
DO $$
BEGIN
    PERFORM concord.resolve_approval(current_setting('demo.approval_id')::uuid, 'approved', NULL);
    RAISE EXCEPTION 'demo: expected 42501 (no privilege), but alice approved her own command';
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'alice (demo_alice): refused as expected: % (%)', SQLERRM, SQLSTATE;
END
$$;
RESET SESSION AUTHORIZATION;

DO $$
DECLARE
    rule text;
BEGIN
    -- the superuser may name anyone as the actor; the rule holds all the same
    PERFORM concord.resolve_approval(current_setting('demo.approval_id')::uuid, 'approved', 'alice');
    RAISE EXCEPTION 'demo: expected CN012 (self-approval), but alice approved her own command';
EXCEPTION WHEN SQLSTATE 'CN012' THEN
    GET STACKED DIAGNOSTICS rule = CONSTRAINT_NAME;
    RAISE NOTICE 'alice, named by the superuser: refused as expected: % (%, %)', SQLERRM, SQLSTATE, rule;
END
$$;

SET SESSION AUTHORIZATION demo_mallory;
DO $$
DECLARE
    rule text;
BEGIN
    PERFORM concord.resolve_approval(current_setting('demo.approval_id')::uuid, 'approved', NULL);
    RAISE EXCEPTION 'demo: expected CN012 (not an approver), but mallory''s approval was accepted';
EXCEPTION WHEN SQLSTATE 'CN012' THEN
    GET STACKED DIAGNOSTICS rule = CONSTRAINT_NAME;
    RAISE NOTICE 'mallory (demo_mallory): refused as expected: % (%, %)', SQLERRM, SQLSTATE, rule;
END
$$;
RESET SESSION AUTHORIZATION;

\echo
\echo '================================================================================'
\echo ' 5. dana approves: approved -> queued'
\echo '================================================================================'
\echo 'When every approval the evaluation asked for is approved, the command moves on:'
\echo 'waiting_for_approval -> approved -> queued, in the same transaction. dana decides as'
\echo 'herself (actor NULL: the authenticated principal).'
\echo

SET SESSION AUTHORIZATION demo_dana;
SELECT jsonb_pretty(concord.resolve_approval(:'approval_id', 'approved', NULL,
                                             reason => 'finance is the report''s audience'))
       AS resolution;

\echo
\echo 'Deciding it again is refused (CN013):'

DO $$
BEGIN
    PERFORM concord.resolve_approval(current_setting('demo.approval_id')::uuid, 'rejected', NULL);
    RAISE EXCEPTION 'demo: expected CN013 (already resolved), but the second decision was accepted';
EXCEPTION WHEN SQLSTATE 'CN013' THEN
    RAISE NOTICE 'refused as expected: % (%)', SQLERRM, SQLSTATE;
END
$$;
RESET SESSION AUTHORIZATION;

UNLISTEN concord_approvals;

\echo
\echo '================================================================================'
\echo ' 6. The worker resumes it: queued -> running -> succeeded'
\echo '================================================================================'
\echo 'The approving transaction enqueued its DBOS workflow; the worker picks it up and runs'
\echo 'the publish_report operation of demo/demo_ops.py. (The demo has no mail server: the'
\echo 'notification connector delivers to the destination''s app inbox.) 30 s at most:'
\echo

SELECT pg_temp.wait_for_status(:'publish_id', 'succeeded') AS status;

SELECT a.decided_at < r.created_at AS ran_after_the_approval,
       round(extract(EPOCH FROM r.created_at - a.decided_at) * 1000) AS resumed_after_ms,
       r.actor AS claimed_by
FROM concord.approvals AS a
INNER JOIN concord.domain_events AS r
    ON a.command_id = r.command_id AND r.event_type = 'command_status_changed' AND r.to_status = 'running'
WHERE a.approval_id = :'approval_id';

SELECT c.result, n.recipient, n.subject, n.body
FROM concord.commands AS c
INNER JOIN concord.notifications AS n ON c.command_id = n.command_id
WHERE c.command_id = :'publish_id';

\echo
\echo '================================================================================'
\echo ' 7. The story: the timeline and the decision history'
\echo '================================================================================'
\echo

SELECT event_seq, event_type, from_status, to_status, actor, reason
FROM concord.command_timeline(:'publish_id');

\echo
SELECT kind, name, decision, reasons, actor
FROM concord.decision_history
WHERE command_id = :'publish_id'
ORDER BY decided_at, kind, name;

\echo
\echo 'End of the approval-gated flow. Next: demo/04, a hotel booking that needs input first.'
