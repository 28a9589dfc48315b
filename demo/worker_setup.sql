-- The command types the demo's worker executes, registered before it starts: a worker
-- refuses to start while one of its operations (demo/demo_ops.py) names a command type
-- the database does not know.
--
--   make demo runs it after demo/01 and before starting the worker; by hand, run it once
--   on a database where `concord migrate` has run, before the worker (see
--   tests/harness/demo.sh).
--
-- Every spec here is the one demo/02-04 register, word for word (with what they need:
-- their policies and approval type), so that registering it again there changes nothing.
-- make demo checks that: if a flow registers a different spec, the demo fails.

\set ON_ERROR_STOP on
\set QUIET on
SET client_min_messages = warning;
-- Each call answers the name it registered: not worth printing here.
\o /dev/null

-- The declarative policy generate_report names (demo/01, demo/02)
SELECT concord.register_policy($policy$
{
  "name": "data_access",
  "description": "Reports on restricted data sets are denied",
  "predicate": "$.payload.report_type == $restricted[*]",
  "vars": {"restricted": ["payroll", "salaries"]},
  "decision": "deny",
  "reasons": ["payroll and salary data are restricted: no reports on them"]
}
$policy$);

-- generate_report with its cost budget (demo/02; demo/01 registers it without)
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
$spec$);

-- publish_report (demo/03)
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
$spec$);

-- The approval type, the price limit and book_hotel (demo/04)
SELECT concord.register_approval_type($spec$
{
  "name": "hotel_booking_approval",
  "version": "1.0.0",
  "description": "A manager approves a hotel booking above the travel policy limit",
  "risk_level": "high",
  "required_fields": ["hotel_name", "check_in_date", "check_out_date", "guests", "total_price",
                      "currency", "cancellation_policy_summary", "payment_method_summary"],
  "decision_values": ["approved", "rejected", "request_changes"],
  "expiration": {"default_minutes": 30},
  "approver": {"path": "$.context.manager"},
  "ui": {"template": "hotel_booking_approval_card"},
  "resume": {"on_approved": "continue_workflow", "on_rejected": "fail_or_replan",
             "on_request_changes": "request_input"}
}
$spec$);

SELECT concord.register_policy($policy$
{
  "name": "hotel_price_limit",
  "description": "Bookings above the limit need approval",
  "predicate": "$.payload.total_price > $limit",
  "vars": {"limit": 500},
  "decision": "require_approval",
  "reasons": ["Bookings above $500 need approval"],
  "approval_type": "hotel_booking_approval"
}
$policy$);

SELECT concord.register_command_type($spec$
{
  "command_type": "book_hotel",
  "name": "Book Hotel",
  "description": "Book a hotel room from a booking draft.",
  "function_name": "book_hotel",
  "ingress_types": ["user_request", "agent_tool_call"],
  "required_inputs": ["booking_draft_id", "hotel_name", "check_in_date", "check_out_date", "guests",
                      "total_price", "currency", "cancellation_policy_summary",
                      "payment_method_summary"],
  "async_required": true,
  "artifact_output_possible": true,
  "notification_required": true,
  "connector_requirements": ["hotel_booking"],
  "policy_checks": ["required_inputs", "hotel_price_limit"],
  "approval_type": "hotel_booking_approval",
  "risk_level": "high",
  "payload_schema": {
    "type": "object",
    "properties": {
      "booking_draft_id": {"type": "string"},
      "hotel_name": {"type": "string"},
      "check_in_date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
      "check_out_date": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
      "guests": {"type": "integer", "minimum": 1},
      "total_price": {"type": "number", "minimum": 0},
      "currency": {"type": "string", "pattern": "^[A-Z]{3}$"}
    }
  }
}
$spec$);

\o
\echo 'registered the command types of demo/02-04: generate_report, publish_report, book_hotel'
