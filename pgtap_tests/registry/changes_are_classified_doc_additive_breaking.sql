-- A new version's change is classified from the version before it (spec 110):
-- doc (wording only), additive (a new optional field or capability, a widened
-- input), breaking (a changed or narrowed contract, a removed capability, an
-- expanded connector scope, a changed memory scope, approval or side-effect
-- semantics, or anything Concord cannot classify), on the hotel-booking
-- contracts of spec 107.
BEGIN;
SELECT plan(18);

-- "class: kind path; ..." of a change
CREATE FUNCTION pg_temp.summary(entity_type text, old_manifest jsonb, new_manifest jsonb)
RETURNS text
LANGUAGE sql
AS $$
    SELECT (c ->> 'change_class') || ':' || coalesce(' ' || (
        SELECT string_agg((r.value ->> 'kind') || ' ' || (r.value ->> 'path'), '; ' ORDER BY r.ordinality)
        FROM jsonb_array_elements(c -> 'reasons') WITH ORDINALITY AS r (value, ordinality)), '')
    FROM concord.registry_classify_change(entity_type, old_manifest, new_manifest) AS c
$$;

CREATE TEMPORARY TABLE hotel (name text PRIMARY KEY, manifest jsonb NOT NULL);
INSERT INTO hotel VALUES
('book_hotel', '{"name": "book_hotel", "version": "1.0.0", "risk_level": "high",
  "execution": {"mode": "approval_gated_async", "dbos_workflow": "run_command"},
  "payload_schema": {"type": "object", "required": ["booking_draft_id", "payment_token_ref"],
    "properties": {"booking_draft_id": {"type": "string"}, "payment_token_ref": {"type": "string"}}},
  "policies": {"required": ["permission", "connector_scope", "payment_token_required", "approval_required_for_booking"]},
  "approval": {"required": true, "approval_type": "hotel_booking_approval"},
  "artifacts": {"produces": ["reservation_confirmation"]},
  "connector_operations": ["hotel_booking.book_hotel"],
  "idempotency": {"required": true, "key_template": "book_hotel:{booking_draft_id}"},
  "compensation": {"supported": true, "command_type": "cancel_reservation"}}'),
('hotel_booking', '{"name": "hotel_booking", "version": "1.4.2", "display_name": "Hotel Booking Skill",
  "runtime": {"min_concord_version": "0.3.0", "compatible_agent_runtimes": ["concord_agent_runtime", "langgraph_adapter"]},
  "lifecycle": {"owner": "travel-platform", "risk_level": "high"},
  "capabilities": [
    {"type": "connector_operation", "connector": "hotel_booking", "operation": "book_hotel", "side_effect": true,
     "requires_approval": true},
    {"type": "artifact_write", "artifact_type": "reservation_confirmation"},
    {"type": "memory_write", "memory_type": "user.travel_preferences", "requires_consent": true}],
  "policy": {"required_checks": ["permission", "connector_scope", "payment_token_required",
    "cancellation_policy_disclosed", "approval_required_for_booking"]},
  "tools": [{"name": "book_hotel", "command_type": "book_hotel", "mode": "approval_gated_async"}],
  "evals": {"required": ["booking_terms_present", "cancellation_policy_present", "approval_packet_complete"]}}'),
('hotel_booking_approval', '{"name": "hotel_booking_approval", "version": "1.0.0", "risk_level": "high",
  "required_fields": ["hotel_name", "check_in_date", "check_out_date", "guests", "total_price", "currency",
    "cancellation_policy_summary", "payment_method_summary"],
  "decision_values": ["approved", "rejected", "request_changes"],
  "expiration": {"default_minutes": 30}, "ui": {"template": "hotel_booking_approval_card"},
  "resume": {"on_approved": "continue_workflow", "on_rejected": "fail_or_replan"}}');

CREATE FUNCTION pg_temp.m(name text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT h.manifest FROM hotel AS h WHERE h.name = m.name
$$;

SELECT is(concord.registry_classify_change('command_type', NULL, pg_temp.m('book_hotel')) -> 'change_class',
    '"initial"', 'no version before: initial');
SELECT is(pg_temp.summary('command_type', pg_temp.m('book_hotel'), pg_temp.m('book_hotel') || '{"version": "1.0.1"}'),
    'doc:', 'only the version changed: doc with no reason');
SELECT is(pg_temp.summary('skill', pg_temp.m('hotel_booking'), pg_temp.m('hotel_booking')
    || '{"display_name": "Hotel Booking", "description": "Books hotels", "instructions_ref": "artifact://v2",
         "metadata": {"team": "travel"}}'),
    'doc: doc /description; doc /display_name; doc /instructions_ref; doc /metadata',
    'skill: wording, instructions and metadata are doc');
SELECT is(pg_temp.summary('command_type', pg_temp.m('book_hotel'), jsonb_set(pg_temp.m('book_hotel'),
    '{payload_schema,properties,special_requests}', '{"type": "string"}')),
    'additive: additive /payload_schema/properties/special_requests', 'command type: a new optional payload field is additive');
SELECT is(pg_temp.summary('command_type', pg_temp.m('book_hotel'), jsonb_set(pg_temp.m('book_hotel'),
    '{payload_schema,required}', '["booking_draft_id", "payment_token_ref", "guests"]')),
    'breaking: breaking /payload_schema/required', 'command type: a new required payload field breaks (narrowed input)');
SELECT is(pg_temp.summary('command_type', pg_temp.m('book_hotel') || '{"output_schema": {"type": "string"}}',
    pg_temp.m('book_hotel') || '{"output_schema": {"type": ["string", "null"]}}'),
    'breaking: breaking /output_schema/type', 'command type: a widened output breaks');
SELECT is(pg_temp.summary('command_type', pg_temp.m('book_hotel'), jsonb_set(pg_temp.m('book_hotel'),
    '{connector_operations}', '["hotel_booking.book_hotel", "hotel_booking.cancel"]')),
    'breaking: breaking /connector_operations', 'command type: an expanded connector scope breaks');
SELECT is(pg_temp.summary('command_type', pg_temp.m('book_hotel'), pg_temp.m('book_hotel') || '{"memory": {"reads": ["user.travel_preferences"]}}'),
    'breaking: breaking /memory/reads', 'command type: a changed memory scope breaks');
SELECT is(pg_temp.summary('command_type', pg_temp.m('book_hotel'), jsonb_set(pg_temp.m('book_hotel'),
    '{approval,approval_type}', '"quick_approval"')),
    'breaking: breaking /approval/approval_type', 'command type: a changed approval type breaks');
SELECT is(pg_temp.summary('command_type', pg_temp.m('book_hotel'), jsonb_set(pg_temp.m('book_hotel'),
    '{idempotency,key_template}', '"book_hotel:{hotel_id}"')),
    'breaking: breaking /idempotency/key_template', 'command type: a changed idempotency key (side-effect semantics) breaks');
SELECT is(pg_temp.summary('command_type', pg_temp.m('book_hotel'), jsonb_set(pg_temp.m('book_hotel'),
    '{execution,mode}', '"async"')),
    'breaking: breaking /execution/mode', 'command type: a changed execution mode breaks');
SELECT is(pg_temp.summary('command_type', pg_temp.m('book_hotel'),
    pg_temp.m('book_hotel') - 'approval' || '{"approval_required": true, "approval_type": "hotel_booking_approval"}'),
    'doc:', 'command type: the legacy flat approval fields read as the nested ones');
SELECT is(pg_temp.summary('skill', pg_temp.m('hotel_booking'), jsonb_set(pg_temp.m('hotel_booking'),
    '{tools}', '[]')),
    'breaking: breaking /tools', 'skill: a removed tool (capability) breaks');
SELECT is(pg_temp.summary('skill', pg_temp.m('hotel_booking'), jsonb_set(pg_temp.m('hotel_booking'),
    '{evals,required}', '["booking_terms_present", "cancellation_policy_present", "approval_packet_complete", "tone"]')),
    'additive: additive /evals/required', 'skill: a new eval is additive');
SELECT is(pg_temp.summary('skill', pg_temp.m('hotel_booking'), jsonb_insert(pg_temp.m('hotel_booking'),
    '{capabilities,0}', '{"type": "artifact_read", "artifact_type": "booking_draft"}')),
    'additive: additive /capabilities', 'skill: a new optional capability is additive');
SELECT is(pg_temp.summary('approval_type', pg_temp.m('hotel_booking_approval'), jsonb_set(pg_temp.m('hotel_booking_approval'),
    '{decision_values}', '["approved", "rejected"]')),
    'breaking: breaking /decision_values', 'approval type: changed decision values break');
SELECT is(pg_temp.summary('approval_type', pg_temp.m('hotel_booking_approval'), pg_temp.m('hotel_booking_approval') #- '{required_fields,7}'),
    'breaking: breaking /required_fields', 'approval type: a removed required field breaks');
SELECT is(concord.registry_classify_change('approval_type', pg_temp.m('hotel_booking_approval'),
    pg_temp.m('hotel_booking_approval') || '{"escalation": {"after_minutes": 10}}') -> 'reasons',
    '[{"kind": "breaking", "path": "/escalation", "message": "escalation changed, and Concord cannot classify it, so it counts as breaking"}]',
    'a field Concord cannot classify breaks, saying so');

SELECT * FROM finish();
ROLLBACK;
