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
-- make demo checks that: if a flow registers a different spec, the demo fails. The
-- revenue-investigation swarm of demo/05 is registered here only (demo/05 shows it): its
-- warehouse table, connector, command types and the tools its agents call.

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

-- ---------------------------------------------------------------------------
-- demo/05: the revenue-investigation swarm (spec 39, 70)
-- ---------------------------------------------------------------------------

-- The warehouse the agents query: two weeks of revenue by region and channel. EMEA's
-- partner channel lost most of its revenue in the second week.
CREATE SCHEMA IF NOT EXISTS demo_warehouse;
CREATE TABLE IF NOT EXISTS demo_warehouse.weekly_revenue (
    week text NOT NULL,
    region text NOT NULL,
    channel text NOT NULL,
    revenue numeric(12, 2) NOT NULL,
    PRIMARY KEY (week, region, channel)
);
INSERT INTO demo_warehouse.weekly_revenue (week, region, channel, revenue) VALUES
('2026-W46', 'amer', 'direct', 420000), ('2026-W46', 'amer', 'partner', 180000),
('2026-W46', 'amer', 'online', 150000), ('2026-W46', 'emea', 'direct', 260000),
('2026-W46', 'emea', 'partner', 210000), ('2026-W46', 'emea', 'online', 90000),
('2026-W46', 'apac', 'direct', 150000), ('2026-W46', 'apac', 'partner', 60000),
('2026-W46', 'apac', 'online', 70000),
('2026-W47', 'amer', 'direct', 415000), ('2026-W47', 'amer', 'partner', 176000),
('2026-W47', 'amer', 'online', 158000), ('2026-W47', 'emea', 'direct', 255000),
('2026-W47', 'emea', 'partner', 96000), ('2026-W47', 'emea', 'online', 92000),
('2026-W47', 'apac', 'direct', 152000), ('2026-W47', 'apac', 'partner', 61000),
('2026-W47', 'apac', 'online', 69000)
ON CONFLICT (week, region, channel) DO NOTHING;

-- The connector the agents' queries go through: the built-in postgres type, read-only
-- (a READ ONLY transaction, a statement timeout, a row limit). Its DSN is a reference,
-- read by the worker at call time: make demo sets DEMO_WAREHOUSE_DSN to this database.
SELECT concord.register_connector($spec$
{
  "name": "warehouse",
  "connector_type": "postgres",
  "capabilities": ["query"],
  "config": {"dsn": "env://DEMO_WAREHOUSE_DSN", "statement_timeout_ms": 2000, "max_rows": 100},
  "risk_level": "low",
  "description": "The demo warehouse (schema demo_warehouse), read-only"
}
$spec$);

-- The command the swarm works for (spec 39). Asynchronous: the worker runs it (the
-- operation investigate_revenue of demo/demo_agents.py), waiting for the swarm its
-- requester (demo/05) starts on it, and ends with the swarm's result.
SELECT concord.register_command_type($spec$
{
  "command_type": "investigate_revenue",
  "name": "Investigate Revenue",
  "description": "Investigate why revenue dropped and draft a summary, with a governed swarm of agents.",
  "function_name": "investigate_revenue",
  "ingress_types": ["user_request"],
  "required_inputs": ["question"],
  "async_required": true,
  "artifact_output_possible": true,
  "risk_level": "low",
  "payload_schema": {
    "type": "object",
    "required": ["question"],
    "properties": {"question": {"type": "string"}}
  }
}
$spec$);

-- An agent's query: a command the worker runs (async) through the warehouse connector.
-- agent_tool: only an agent run holding a tool of this type may ask for one.
SELECT concord.register_command_type($spec$
{
  "command_type": "run_sql",
  "name": "Run SQL",
  "description": "Run one read-only query on the demo warehouse for an agent.",
  "function_name": "run_sql",
  "ingress_types": ["agent"],
  "required_inputs": ["sql"],
  "async_required": true,
  "connector_requirements": ["warehouse"],
  "policy_checks": ["agent_tool"],
  "risk_level": "low",
  "payload_schema": {
    "type": "object",
    "required": ["sql"],
    "properties": {"sql": {"type": "string"}, "params": {"type": "object"}},
    "additionalProperties": false
  }
}
$spec$);

-- Publishing an artifact: external_sharing asks a data owner to approve a destination
-- outside the company (an e-mail address, or external:...).
SELECT concord.register_command_type($spec$
{
  "command_type": "publish_artifact",
  "name": "Publish Artifact",
  "description": "Deliver an artifact of a swarm to a destination.",
  "function_name": "publish_artifact",
  "ingress_types": ["agent"],
  "required_inputs": ["artifact_id", "destination", "title", "summary"],
  "async_required": true,
  "notification_required": true,
  "policy_checks": ["agent_tool", "external_sharing"],
  "risk_level": "medium",
  "payload_schema": {
    "type": "object",
    "required": ["artifact_id", "destination", "title", "summary"],
    "properties": {
      "artifact_id": {"type": "string"},
      "destination": {"type": "string"},
      "title": {"type": "string"},
      "summary": {"type": "string"}
    }
  }
}
$spec$);

SELECT concord.register_command_type($spec$
{
  "command_type": "send_email",
  "name": "Send E-mail",
  "description": "Send an e-mail for an agent.",
  "function_name": "send_email",
  "ingress_types": ["agent"],
  "required_inputs": ["to", "subject", "body"],
  "async_required": true,
  "notification_required": true,
  "policy_checks": ["agent_tool"],
  "risk_level": "high",
  "payload_schema": {
    "type": "object",
    "required": ["to", "subject", "body"],
    "properties": {"to": {"type": "string"}, "subject": {"type": "string"}, "body": {"type": "string"}}
  }
}
$spec$);

-- The tools (spec 20): what an agent may be given. run_sql needs the warehouse
-- connector in the agent's allowed_connectors too. No agent of demo/05 holds send_email.
SELECT concord.register_tool($spec$
{
  "name": "run_sql",
  "command_type": "run_sql",
  "description": "Run one read-only SQL query on the warehouse; the rows are the command's result.",
  "execution_mode": "async",
  "risk_level": "low",
  "connector": "warehouse",
  "capability": "query",
  "input_schema": {
    "type": "object",
    "required": ["sql"],
    "properties": {"sql": {"type": "string"}, "params": {"type": "object"}},
    "additionalProperties": false
  }
}
$spec$);

SELECT concord.register_tool($spec$
{
  "name": "publish_report",
  "command_type": "publish_artifact",
  "description": "Publish a report artifact to a destination; outside the company a data owner approves first.",
  "execution_mode": "async",
  "risk_level": "high",
  "input_schema": {
    "type": "object",
    "required": ["artifact_id", "destination", "title", "summary"],
    "properties": {
      "artifact_id": {"type": "string"},
      "destination": {"type": "string"},
      "title": {"type": "string"},
      "summary": {"type": "string"}
    }
  }
}
$spec$);

SELECT concord.register_tool($spec$
{
  "name": "send_email",
  "command_type": "send_email",
  "description": "Send an e-mail.",
  "execution_mode": "async",
  "risk_level": "high"
}
$spec$);

\o
\echo 'registered the command types of demo/02-04: generate_report, publish_report, book_hotel'
\echo 'and of demo/05: investigate_revenue, run_sql, publish_artifact, send_email (with the tools'
\echo 'run_sql, publish_report, send_email, the connector warehouse and its table)'
