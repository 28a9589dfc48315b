-- Spec 37, the deterministic flow: "Generate the May revenue report."
--
--   created -> validated -> queued -> running -> succeeded
--
-- with the three policies of the generate_report type deciding on the way: permission
-- (built in: does the requester hold a grant?), cost (built in: is the estimate within
-- the type's budget?) and data_access (ours: a declarative SQL/JSON path rule).
--
-- The report then runs for real: a DBOS worker (concord worker --module demo_ops, the
-- operations of demo/demo_ops.py) claims it, renders it and notifies alice through the
-- built-in notification connector.
--
--   make demo                                  (a fresh database, a worker, then
--                                               demo/01..04 in order)
--   psql -X -v ON_ERROR_STOP=1 -d DB -f demo/02_deterministic_report.sql
--                                              (by hand, on any database where
--                                               `concord migrate` has run and the demo's
--                                               worker runs: see tests/harness/demo.sh;
--                                               run it twice and it submits new commands
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
\echo ' 1. A declarative policy: data_access'
\echo '================================================================================'
\echo 'A declarative policy is a SQL/JSON path predicate over a document describing the'
\echo 'command ({command_id, command_type, payload, requested_by, ingress, risk_level,'
\echo 'context}), with named variables. When the predicate holds the policy yields its'
\echo 'decision (deny here); otherwise it allows. Registering the same spec again is a'
\echo 'no-op; a changed spec becomes a new version.'
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
$policy$) AS registered;

SELECT name, kind, version, coalesce(predicate::text, '') AS predicate, decision, config
FROM concord.policies
WHERE name IN ('permission', 'cost', 'data_access')
ORDER BY name;

\echo
\echo '================================================================================'
\echo ' 2. The command type names its policies, and has a cost budget'
\echo '================================================================================'
\echo 'policy_checks lists the policies every submission is evaluated against, in order.'
\echo 'cost_budget is what the cost policy compares the estimate (payload.estimated_cost,'
\echo 'else context.estimated_cost) with; above it the type''s over_budget decides'
\echo '(require_approval, the default, or deny). (The tour in 01 registered this type'
\echo 'without a budget: this spec differs, so the type gets a new version.)'
\echo

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
  "cost_budget": 100,
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

SELECT command_type, policy_checks, cost_budget, over_budget, version
FROM concord.command_types
WHERE command_type = 'generate_report';

\echo
\echo 'The permission policy allows a requester holding a grant for the type, directly or'
\echo 'through a team it belongs to. Grant it to the team of analysts, and make alice one:'
\echo '(each call answers true when it changed something, false when it already held)'
\echo

SELECT concord.grant_command_type('generate_report', 'team:analysts') AS granted_to_team,
       concord.add_team_member('team:analysts', 'alice') AS alice_joined;

\echo
\echo '================================================================================'
\echo ' 3. alice asks for the May revenue report'
\echo '================================================================================'
\echo 'submit_command validates the payload, evaluates the three policies and, as they all'
\echo 'allow, queues the command (the type is asynchronous): one transaction. The estimate'
\echo 'travels in the context: 12 is well within the budget of 100.'
\echo

SELECT command_id AS report_id, status AS report_status
FROM concord.submit_command(
    'generate_report',
    '{"report_type": "monthly_revenue", "date_range": "2026-05"}',
    'alice',
    ingress => 'user_request',
    context => '{"estimated_cost": 12}'
) \gset

\echo 'command_id:' :report_id
\echo 'status:    ' :report_status
\echo
\echo 'Each policy''s decision is recorded (concord.policy_decisions), with the policy''s'
\echo 'version and checksum and a digest of what it saw:'
\echo

SELECT policy, policy_version, decision, reasons, left(inputs_digest, 8) AS inputs_digest
FROM concord.policy_decisions
WHERE command_id = :'report_id'
ORDER BY decision_id;

\echo
\echo 'The command keeps the combined decision (deny > require_input > require_approval > allow):'
SELECT policy_evaluation -> 'decision' AS decision, policy_evaluation -> 'reasons' AS reasons
FROM concord.commands
WHERE command_id = :'report_id';

\echo
\echo '================================================================================'
\echo ' 4. The worker runs it: queued -> running -> succeeded'
\echo '================================================================================'
\echo 'The same transaction handed the command to DBOS (dbos.enqueue_workflow, the event'
\echo 'workflow_enqueued below): no relay, no polling table. The worker claims it (queued ->'
\echo 'running), runs the generate_report operation of demo/demo_ops.py and records the'
\echo 'outcome. We wait for it, 30 s at most:'
\echo

SELECT pg_temp.wait_for_status(:'report_id', 'succeeded') AS status;

SELECT status, result
FROM concord.commands
WHERE command_id = :'report_id';

\echo
\echo 'Its side effect went through the context (ctx.effect): planned, executed as a DBOS'
\echo 'step through the built-in notification connector under an idempotency key, completed.'
\echo 'The effect, the connector call (concord.connector_invocations), and what alice finds'
\echo 'in her app inbox (concord.notifications):'
\echo

SELECT effect_type, status, idempotency_key
FROM concord.domain_effects
WHERE command_id = :'report_id'
ORDER BY created_at;

SELECT connector_name, capability, status, attempt, output_summary
FROM concord.connector_invocations
WHERE command_id = :'report_id'
ORDER BY created_at;

SELECT channel, recipient, subject, body
FROM concord.notifications
WHERE command_id = :'report_id';

\echo
\echo 'The report itself is an artifact of the command (ctx.artifact, spec 24): owned by the'
\echo 'command (created_by command:<id>, its project), created once however often the step'
\echo 'runs. Its type declares artifact_output_possible; one that does not creates none.'
\echo

SELECT artifact_type, name, status, location, metadata, created_by = 'command:' || command_id AS owned_by_the_command
FROM concord.artifacts
WHERE command_id = :'report_id';

\echo
\echo '================================================================================'
\echo ' 5. The story: the timeline and the decision history'
\echo '================================================================================'
\echo 'concord.command_timeline: every event of the command, in order (policies_evaluated'
\echo 'sits between validated and queued, in the same transaction), then the worker''s: its'
\echo 'claim, the effect''s lifecycle, the outcome:'
\echo

SELECT event_seq, event_type, from_status, to_status, actor, reason
FROM concord.command_timeline(:'report_id');

\echo
\echo 'concord.decision_history: every decision taken about it (policies here; approvers'
\echo 'too when there are approvals, see demo/03):'
\echo

SELECT kind, name, decision, reasons, actor
FROM concord.decision_history
WHERE command_id = :'report_id'
ORDER BY decided_at, kind, name;

\echo
\echo '================================================================================'
\echo ' 6. Two requests the policies deny'
\echo '================================================================================'
\echo 'mallory holds no grant (permission denies); alice asks for a payroll report'
\echo '(data_access denies). A denial is recorded like any outcome: the command is failed'
\echo 'with error_class policy_denied, which is not retryable, and every decision is kept.'
\echo

SELECT command_id AS denied_permission_id
FROM concord.submit_command(
    'generate_report', '{"report_type": "monthly_revenue", "date_range": "2026-05"}', 'mallory',
    context => '{"estimated_cost": 12}'
) \gset
SELECT command_id AS denied_data_id
FROM concord.submit_command(
    'generate_report', '{"report_type": "payroll", "date_range": "2026-05"}', 'alice',
    context => '{"estimated_cost": 12}'
) \gset

SELECT c.requested_by, c.payload ->> 'report_type' AS report_type, c.status, c.error_class, c.error
FROM concord.commands AS c
WHERE c.command_id IN (:'denied_permission_id', :'denied_data_id')
ORDER BY c.created_at;

SELECT c.requested_by, c.payload ->> 'report_type' AS report_type, d.name AS policy, d.decision, d.reasons
FROM concord.decision_history AS d
INNER JOIN concord.commands AS c ON d.command_id = c.command_id
WHERE d.command_id IN (:'denied_permission_id', :'denied_data_id')
ORDER BY c.created_at, d.name;

\echo
\echo 'A failed command with a non-retryable error class cannot be retried (failed -> queued):'
\echo

SET demo.denied_data_id = :'denied_data_id';

DO $$
BEGIN
    PERFORM concord.transition_command(current_setting('demo.denied_data_id')::uuid, 'queued', 'worker-1');
    RAISE EXCEPTION 'demo: expected CN001 (policy_denied is not retryable), but the retry was accepted';
EXCEPTION WHEN SQLSTATE 'CN001' THEN
    RAISE NOTICE 'refused as expected: % (%)', SQLERRM, SQLSTATE;
END
$$;

SELECT error_class, retryable, description
FROM concord.error_classes
ORDER BY retryable DESC, error_class;

\echo
\echo 'End of the deterministic flow. Next: demo/03, an approval-gated publication.'
