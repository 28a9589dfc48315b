-- Spec 81.2 and 107.3: a hotel booking that needs input, then approval, then is
-- cancelled with compensation (spec 30-31).
--
--   created -> validated -> waiting_for_input            (fields are missing)
--           -> validated -> waiting_for_approval         (provide_input; above $500)
--           -> approved -> queued -> running             (the manager approves; the
--                                                         worker books, the hotel has
--                                                         yet to confirm)
--           -> cancelling -> compensating -> compensated -> cancelled
--                                                        (sam cancels: the booking is
--                                                         cancelled at the vendor)
--
-- and a cheap booking, complete from the start, that goes straight to queued and is
-- booked. The built-in required_inputs policy asks for what is missing; a declarative
-- policy ($.payload.total_price > $limit) asks for a hotel_booking_approval, an approval
-- type registered with the fields of the spec's 107.3 manifest. The bookings go to the
-- demo's hotel vendor (demo/hotel_vendor.py) through the hotel_booking HTTP connector of
-- demo/demo_ops.py.
--
--   make demo                                  (a fresh database, the vendor and a
--                                               worker, then demo/01..04 in order)
--   psql -X -v ON_ERROR_STOP=1 -d DB -f demo/04_hotel_booking.sql
--                                              (by hand, on any database where
--                                               `concord migrate` has run and the demo's
--                                               vendor and worker run: see
--                                               tests/harness/demo.sh; each run books with
--                                               new booking_draft_ids)

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
\echo ' 1. The approval type: hotel_booking_approval (the spec''s 107.3 manifest)'
\echo '================================================================================'
\echo 'required_fields: what an approver must see; the approval is only asked for once the'
\echo 'payload has them all. approver.path: the approver is found in the command itself,'
\echo 'here the requester''s manager, carried in the context. resume: what each decision does.'
\echo

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
$spec$) AS registered;

SELECT name, version, risk_level, required_fields, default_expiry_minutes, approver_path::text,
       on_rejected
FROM concord.approval_types
WHERE name = 'hotel_booking_approval';

\echo
\echo '================================================================================'
\echo ' 2. The price limit: a declarative policy with a variable'
\echo '================================================================================'
\echo 'The predicate is evaluated with jsonb_path_match(document, predicate, vars); when it'
\echo 'holds, the policy yields require_approval of type hotel_booking_approval.'
\echo

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
$policy$) AS registered;

\echo
\echo '================================================================================'
\echo ' 3. The command type: book_hotel'
\echo '================================================================================'
\echo 'With required_inputs among its policies, a submission missing inputs is not failed:'
\echo 'the policy routes it to waiting_for_input, naming the missing fields. The JSON Schema'
\echo 'still checks the types of what is there.'
\echo

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
$spec$) AS registered;

-- Anyone in team:travellers may book; sam is one.
SELECT concord.grant_command_type('book_hotel', 'team:travellers') AS granted_to_team,
       concord.add_team_member('team:travellers', 'sam') AS sam_joined;

-- A fresh draft id per run, so that running the demo again books again.
SELECT 'draft-' || left(md5(clock_timestamp()::text), 8) AS draft \gset

\echo
\echo '================================================================================'
\echo ' 4. sam asks for the Ritz, 780 EUR: fields are missing -> waiting_for_input'
\echo '================================================================================'
\echo 'Both policies speak: required_inputs (require_input) and hotel_price_limit'
\echo '(require_approval). require_input wins: deny > require_input > require_approval > allow.'
\echo

SELECT command_id AS booking_id, status AS booking_status
FROM concord.submit_command(
    'book_hotel',
    jsonb_build_object('booking_draft_id', :'draft' || '-ritz', 'hotel_name', 'The Ritz London',
                       'total_price', 780, 'currency', 'EUR'),
    'sam',
    ingress => 'agent_tool_call',
    context => '{"manager": "maria"}'
) \gset

\echo 'command_id:' :booking_id
\echo 'status:    ' :booking_status
\echo

SELECT policy, decision, missing_fields, reasons
FROM concord.policy_decisions
WHERE command_id = :'booking_id'
ORDER BY decision_id;

SELECT policy_evaluation -> 'decision' AS decision, policy_evaluation -> 'missing_fields' AS missing_fields
FROM concord.commands
WHERE command_id = :'booking_id';

\echo
\echo '================================================================================'
\echo ' 5. sam provides the input -> waiting_for_approval'
\echo '================================================================================'
\echo 'provide_input merges the patch into the payload (a JSON merge patch: null deletes a'
\echo 'field), validates it, and evaluates the policies again. Only the requester may.'
\echo

SELECT jsonb_pretty(concord.provide_input(:'booking_id', $patch$
{
  "check_in_date": "2026-06-12",
  "check_out_date": "2026-06-14",
  "guests": 2,
  "cancellation_policy_summary": "free cancellation until 48 hours before arrival",
  "payment_method_summary": "corporate card ending 4242"
}
$patch$, 'sam') - 'evaluation_id' - 'command_id' - 'approval_ids') AS evaluation;

SELECT approval_id AS approval_id
FROM concord.approvals
WHERE command_id = :'booking_id' AND status = 'pending' \gset

\echo 'The approval goes to maria, found at $.context.manager:'
SELECT approver, approval_type, requested_by,
       review_packet -> 'fields' ->> 'hotel_name' AS hotel,
       review_packet -> 'fields' ->> 'total_price' AS total_price,
       review_packet ->> 'after_approval' AS after_approval,
       expires_at - created_at AS expires_after
FROM concord.pending_approvals
WHERE approval_id = :'approval_id';

\echo
\echo '================================================================================'
\echo ' 6. maria approves -> approved -> queued'
\echo '================================================================================'
\echo

SELECT status, command_status
FROM jsonb_to_record(concord.resolve_approval(:'approval_id', 'approved', 'maria',
                                              reason => 'client meeting in London'))
    AS r (status text, command_status text);

\echo
\echo 'Its execution plan (spec 13.3): approval_gated_async, with the approval gate before'
\echo 'execute and each effect on its queue (spec 10). Planning is stored and audited.'
\echo

SELECT concord.plan_command(:'booking_id') ->> 'execution_mode' AS execution_mode;
SELECT s.step_id, s.primitive, s.depends_on, s.metadata ->> 'queue' AS queue
FROM jsonb_to_recordset(concord.plan_command(:'booking_id') -> 'steps')
    AS s (step_id text, primitive text, depends_on jsonb, metadata jsonb);

\echo
\echo 'The decisions taken about it:'
\echo

SELECT left(evaluation_id::text, 8) AS evaluation, kind, name, decision, reasons, actor
FROM concord.decision_history
WHERE command_id = :'booking_id'
ORDER BY decided_at, kind DESC, name DESC;

\echo
\echo '================================================================================'
\echo ' 7. The worker books it; the Ritz confirms on request'
\echo '================================================================================'
\echo 'The approval queued it, and the worker runs the book_hotel operation of'
\echo 'demo/demo_ops.py: the effect hotel_booking.book, a POST to the vendor through the'
\echo 'hotel_booking connector under the effect''s idempotency key. The Ritz answers'
\echo 'pending_confirmation, so the command stays running while the worker polls for the'
\echo 'hotel''s confirmation, one step at a time. We wait for the booking, 30 s at most:'
\echo

SELECT pg_temp.wait_for_effect(:'booking_id', 'hotel_booking.book') AS book_effect_id \gset

SELECT e.effect_type, e.status, e.result -> 'json' ->> 'booking_id' AS vendor_booking,
       e.result -> 'json' ->> 'status' AS vendor_status, e.declared_compensation, c.status AS command_status
FROM concord.domain_effects AS e
INNER JOIN concord.commands AS c ON e.command_id = c.command_id
WHERE e.domain_effect_id = :'book_effect_id';

\echo
\echo '================================================================================'
\echo ' 8. sam changes plans and cancels: compensate_then_stop'
\echo '================================================================================'
\echo 'book_hotel declares requires_compensation and its compensation, cancel_booking,'
\echo 'declares the counter-effect hotel_booking.cancel (the inverse of hotel_booking.book).'
\echo 'Cancelled with compensate_then_stop, the running command starts no new step: the'
\echo 'worker counters each succeeded effect, newest first, as governed steps of their own,'
\echo 'then stops. running -> cancelling -> compensating -> compensated -> cancelled.'
\echo

SELECT concord.cancel_command(:'booking_id', 'sam', 'the client meeting moved online',
                              mode => 'compensate_then_stop') AS status;

SELECT pg_temp.wait_for_status(:'booking_id', 'cancelled') AS status;

\echo
\echo 'The booking and its counter-effect, and the two calls the vendor received:'
\echo

SELECT e.effect_type, e.status, e.result -> 'json' ->> 'booking_id' AS vendor_booking,
       e.result -> 'json' ->> 'status' AS vendor_status,
       coalesce(k.effect_type, '') AS compensates
FROM concord.domain_effects AS e
LEFT JOIN concord.domain_effects AS k ON e.compensates_effect_id = k.domain_effect_id
WHERE e.command_id = :'booking_id'
ORDER BY e.created_at, e.started_at;

SELECT i.connector_name, i.capability, i.status, i.request_payload ->> 'path' AS path,
       i.output_summary -> 'status' AS http_status, i.idempotency_key
FROM concord.connector_invocations AS i
WHERE i.command_id = :'booking_id'
ORDER BY i.created_at;

\echo
\echo 'The booking''s whole story, from the first request to the compensation:'
\echo

SELECT event_seq, event_type, from_status, to_status, actor, reason
FROM concord.command_timeline(:'booking_id');

\echo
\echo '================================================================================'
\echo ' 9. A cheap booking with everything in it goes straight to queued, and is booked'
\echo '================================================================================'
\echo

SELECT command_id AS cheap_id, status AS cheap_status
FROM concord.submit_command(
    'book_hotel',
    jsonb_build_object(
        'booking_draft_id', :'draft' || '-ibis', 'hotel_name', 'Ibis Paris Gare du Nord',
        'check_in_date', '2026-06-20', 'check_out_date', '2026-06-21', 'guests', 1,
        'total_price', 140, 'currency', 'EUR',
        'cancellation_policy_summary', 'non-refundable',
        'payment_method_summary', 'corporate card ending 4242'),
    'sam',
    ingress => 'agent_tool_call',
    context => '{"manager": "maria"}'
) \gset

\echo 'command_id:' :cheap_id
\echo 'status:    ' :cheap_status
\echo

SELECT kind, name, decision, reasons, actor
FROM concord.decision_history
WHERE command_id = :'cheap_id'
ORDER BY decided_at, kind, name;

\echo
\echo 'The Ibis confirms at once; the worker runs it to the end (30 s at most):'
\echo

SELECT pg_temp.wait_for_status(:'cheap_id', 'succeeded') AS status;

SELECT result FROM concord.commands WHERE command_id = :'cheap_id';

SELECT event_seq, event_type, from_status, to_status, actor, reason
FROM concord.command_timeline(:'cheap_id');

\echo
\echo 'End of the demo. Explore further: concord.pending_approvals, concord.decision_history,'
\echo 'concord.command_audit, concord.get_command(id), concord.connector_invocations,'
\echo 'concord.notifications.'
