-- The Domain Registry (spec 103-121): the hotel-booking contracts of spec 107.1-107.3 (the
-- skill, the command type, the approval type) and what they rely on, registered by an
-- organisation, published (high-risk ones after a second owner's approval), bound and
-- resolved; then a breaking change refused, a canary, a rollback, an emergency retirement
-- and an impact query.
--
--   make demo                                  (a fresh database, the worker, then demo/01..06)
--   psql -X -v ON_ERROR_STOP=1 -d DB -f demo/06_domain_registry.sql
--                                              (by hand, once, on a database where
--                                               `concord migrate` has run and a worker runs:
--                                               see tests/harness/demo.sh)
--
-- Publication, binding, rollback and retirement are governed commands that the worker's
-- registry workflows run (spec 113): the script waits for each, 30 s at most.
--
-- Entity names are unique per type across the whole platform, and demo/04 registered
-- book_hotel and hotel_booking_approval the old way (the registry keeps them as platform
-- entities, kept by operators). The organisation's own contracts are therefore named
-- wayfarer.<name>; the same manifests live as YAML in demo/registry/.
--
-- Everyone speaks as themselves: the superuser sets up who is who, then plays olivia and
-- oscar (the two owners of the organisation wayfarer) and tom (a traveller, a member) with
-- SET SESSION AUTHORIZATION. Waiting for the worker is done as the superuser.

\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
\pset null '(null)'
\pset columns 110
\x off
SET client_min_messages = notice;
\set VERBOSITY terse
\ir wait_helpers.sql

\set as_olivia 'SET SESSION AUTHORIZATION demo_olivia;'
\set as_oscar 'SET SESSION AUTHORIZATION demo_oscar;'
\set as_tom 'SET SESSION AUTHORIZATION demo_tom;'
\set as_admin 'RESET SESSION AUTHORIZATION;'

\echo
\echo '================================================================================'
\echo ' 0. Who keeps the contracts: the organisation wayfarer and its two owners'
\echo '================================================================================'
\echo 'An organisation''s registry entities are changed by its owners and admins; a high-risk'
\echo 'version waits for the approval of an owner other than its creator (spec 111.3).'
\echo 'olivia and oscar own wayfarer; tom, a member, books travel in wayfarer/travel.'
\echo

SELECT 'wayfarer' AS organisation, concord.create_organisation('wayfarer') AS org_id
WHERE NOT EXISTS (SELECT 1 FROM concord.organisations WHERE name = 'wayfarer');
SELECT 'wayfarer/travel' AS project, concord.create_project('wayfarer', 'travel') AS project_id
WHERE NOT EXISTS (SELECT 1 FROM concord.projects AS p
                  INNER JOIN concord.organisations AS o ON p.org_id = o.org_id
                  WHERE o.name = 'wayfarer' AND p.name = 'travel');
SELECT p.name AS principal, concord.create_principal(p.name, 'user') AS principal_id
FROM (VALUES ('olivia'), ('oscar'), ('tom')) AS p (name)
WHERE NOT EXISTS (SELECT 1 FROM concord.principals AS x WHERE x.name = p.name);
SELECT m.principal, m.role, concord.add_member('wayfarer', m.principal, m.role) AS added
FROM (VALUES ('olivia', 'owner'), ('oscar', 'owner'), ('tom', 'member')) AS m (principal, role);

DO $$
DECLARE
    login record;
BEGIN
    FOR login IN
        SELECT * FROM (VALUES ('demo_olivia', 'concord_app, concord_approver'),
                              ('demo_oscar', 'concord_app, concord_approver'),
                              ('demo_tom', 'concord_app')) AS l (name, roles)
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = login.name) THEN
            EXECUTE format('CREATE ROLE %I LOGIN IN ROLE %s', login.name, login.roles);
        END IF;
    END LOOP;
END
$$;
SELECT l.login, l.principal, concord.map_login(l.login, l.principal) AS mapped_now
FROM (VALUES ('demo_olivia', 'olivia'), ('demo_oscar', 'oscar'), ('demo_tom', 'tom'))
    AS l (login, principal);

-- What the script remembers between steps (each step is its own transaction): the versions
-- it drafted and the registry commands it waits for. Every login of the demo may write it.
CREATE TEMP TABLE drafted (entity_type text, name text, version text, version_id uuid, wave integer);
CREATE TEMP TABLE submitted (what text, version_id uuid, command_id uuid, command_status text, approval_id uuid);
GRANT ALL ON drafted, submitted TO PUBLIC;

-- A draft of manifest (an entity of the caller's chosen organisation, created if missing):
-- returns the version id and remembers it in wave.
CREATE FUNCTION pg_temp.draft(entity_type text, manifest jsonb, wave integer)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    id uuid;
BEGIN
    PERFORM concord.create_registry_entity(
        entity_type, manifest ->> 'name', coalesce(manifest ->> 'display_name', manifest ->> 'name'),
        coalesce(manifest ->> 'owner', manifest #>> '{lifecycle,owner}', 'travel-platform'),
        manifest ->> 'description', 'travel');
    id := concord.create_registry_version(entity_type, manifest ->> 'name', manifest ->> 'version', manifest);
    INSERT INTO drafted VALUES (entity_type, manifest ->> 'name', manifest ->> 'version', id, wave);
    RETURN id;
END
$$;

-- Publishes the versions of wave: each publication is a command for the worker; a
-- high-risk one waits for an owner's approval first.
CREATE FUNCTION pg_temp.publish_wave(wave integer)
RETURNS SETOF submitted
LANGUAGE sql
AS $$
    INSERT INTO submitted
    SELECT 'publish ' || d.entity_type || ' ' || d.name || ' ' || d.version, d.version_id,
           (p.answer ->> 'command_id')::uuid, p.answer ->> 'command_status', (p.answer ->> 'approval_id')::uuid
    FROM drafted AS d
    CROSS JOIN LATERAL (SELECT concord.publish_registry_version(d.version_id) AS answer) AS p
    WHERE d.wave = publish_wave.wave
    RETURNING *
$$;

-- Binds the versions of wave for the organisation's tenant.
CREATE FUNCTION pg_temp.bind_wave(wave integer)
RETURNS SETOF submitted
LANGUAGE sql
AS $$
    INSERT INTO submitted
    SELECT 'bind ' || d.entity_type || ' ' || d.name || ' ' || d.version, d.version_id,
           (b.answer ->> 'command_id')::uuid, b.answer ->> 'command_status', NULL
    FROM drafted AS d
    CROSS JOIN LATERAL (SELECT concord.bind_registry_version(d.version_id, 'tenant', 'wayfarer') AS answer) AS b
    WHERE d.wave = bind_wave.wave
    RETURNING *
$$;

-- Waits (as the superuser) for every registry command submitted so far.
CREATE FUNCTION pg_temp.wait_for_registry()
RETURNS integer
LANGUAGE sql
AS $$
    SELECT pg_temp.wait_for_commands(ARRAY(SELECT s.command_id FROM submitted AS s), 'succeeded')
$$;

-- The organisation's high-risk publications waiting for oscar: he approves each.
CREATE FUNCTION pg_temp.oscar_approves()
RETURNS TABLE (approved text, status text)
LANGUAGE sql
AS $$
    SELECT s.what, concord.resolve_approval(s.approval_id, 'approved', NULL,
                                            reason => 'reviewed the manifest and its risks') ->> 'status'
    FROM submitted AS s
    WHERE s.approval_id IN (SELECT p.approval_id FROM concord.pending_approvals AS p)
    ORDER BY s.what
$$;

\echo
\echo '================================================================================'
\echo ' 1. The contracts the booking relies on, drafted by olivia'
\echo '================================================================================'
\echo 'A manifest is checked against its type''s JSON Schema when its version is created'
\echo '(CN005 lists every problem), and the relationships it declares (policies, approval'
\echo 'type, artifacts, connector operations, tools, ...) are derived from it. A draft is'
\echo 'validated when what it relies on is published, so the contracts are published in'
\echo 'waves: first what relies on nothing.'
\echo

:as_olivia
SELECT concord.use_project('wayfarer/travel') AS project;

-- The policy checks and evaluation suites that spec 107.1-107.2 name, created by the
-- organisation unless the platform already has one of that name (demo/01..05 and the
-- built-in policies may have).
SELECT d.entity_type, d.name,
       pg_temp.draft(d.entity_type, jsonb_build_object('name', d.name, 'version', '1.0.0', 'description', d.about)
                     || d.extra, 1) AS version_id
FROM (VALUES
    ('policy', 'permission', 'The requester may run the command type', '{"on_fail": "deny"}'::jsonb),
    ('policy', 'connector_scope', 'The connector operation is within the caller''s scopes', '{"on_fail": "deny"}'),
    ('policy', 'payment_token_required', 'A payment token reference is present', '{"on_fail": "deny"}'),
    ('policy', 'cancellation_policy_disclosed', 'The cancellation policy was shown', '{"on_fail": "deny"}'),
    ('policy', 'approval_required_for_booking', 'A booking is approved before it is made',
     '{"on_fail": "require_approval"}'),
    ('evaluation_suite', 'booking_terms_present', 'The booking terms are in the draft', '{"blocking": true}'),
    ('evaluation_suite', 'cancellation_policy_present', 'The cancellation policy is in the draft',
     '{"blocking": true}'),
    ('evaluation_suite', 'approval_packet_complete', 'The approval packet has every required field',
     '{"blocking": true}')
) AS d (entity_type, name, about, extra)
WHERE NOT EXISTS (SELECT 1 FROM concord.registry_entity_versions AS x
                  WHERE x.entity_type = d.entity_type AND x.entity = d.name)
ORDER BY d.entity_type, d.name;

\echo
\echo 'The approval type of spec 107.3, the reservation artifact, the travel-preference memory'
\echo 'and the hotel vendor''s connector:'
\echo

SELECT 'approval_type' AS entity_type, pg_temp.draft('approval_type', $m$
{
  "name": "wayfarer.hotel_booking_approval",
  "version": "1.0.0",
  "display_name": "Hotel booking approval",
  "risk_level": "high",
  "required_fields": ["hotel_name", "check_in_date", "check_out_date", "guests", "total_price",
                      "currency", "cancellation_policy_summary", "payment_method_summary"],
  "decision_values": ["approved", "rejected", "request_changes"],
  "expiration": {"default_minutes": 30},
  "ui": {"template": "hotel_booking_approval_card"},
  "resume": {"on_approved": "continue_workflow", "on_rejected": "fail_or_replan"}
}
$m$, 1) AS version_id
UNION ALL
SELECT 'artifact_schema', pg_temp.draft('artifact_schema', $m$
{
  "name": "wayfarer.reservation_confirmation",
  "version": "1.0.0",
  "display_name": "Reservation confirmation",
  "schema": {"type": "object", "required": ["confirmation_number", "hotel_name"],
             "properties": {"confirmation_number": {"type": "string"}, "hotel_name": {"type": "string"}}},
  "visibility": "project",
  "lineage_required": true,
  "retention_days": 365
}
$m$, 1)
UNION ALL
SELECT 'memory_schema', pg_temp.draft('memory_schema', $m$
{
  "name": "wayfarer.travel_preferences",
  "version": "1.0.0",
  "display_name": "A traveller's preferences",
  "subject_type": "user",
  "schema": {"type": "object", "properties": {"room": {"type": "string"}, "floor": {"type": "string"}}},
  "visibility": "private",
  "consent_required": true,
  "expires_after_days": 730
}
$m$, 1)
UNION ALL
SELECT 'connector', pg_temp.draft('connector', $m$
{
  "name": "wayfarer_hotels",
  "version": "1.0.0",
  "display_name": "Hotel vendor",
  "risk_level": "medium",
  "adapter": "http",
  "operations": [
    {"name": "search_hotels", "side_effect": "read", "scopes": ["hotels:read"]},
    {"name": "book_hotel", "side_effect": "write", "scopes": ["bookings:write"], "idempotency_supported": true,
     "compensation": "cancel_booking", "requires_approval": true},
    {"name": "cancel_booking", "side_effect": "write", "scopes": ["bookings:write"], "idempotency_supported": true}
  ],
  "credential_scopes": ["hotels:read", "bookings:write"],
  "read_scopes": ["hotels:read"],
  "write_scopes": ["bookings:write"]
}
$m$, 1);

\echo
\echo '================================================================================'
\echo ' 2. A high-risk publication waits for the other owner'
\echo '================================================================================'
\echo 'olivia publishes the first wave. Each publication is a concord.registry.publish_version'
\echo 'command. The approval type is high-risk; the artifact schema and the connector carry'
\echo 'high-risk changes (an artifact contract, an external write, new connector scopes): their'
\echo 'commands wait for an approval and the versions are pending_approval. The others go'
\echo 'straight to the worker.'
\echo

SELECT what, command_status, approval_id IS NOT NULL AS waits_for_approval FROM pg_temp.publish_wave(1) ORDER BY what;

:as_admin
SELECT v.entity, v.version, v.status AS version_status, v.risk_level, v.high_risk_changes,
       a.approval_type, a.eligible_approvers, a.requested_by
FROM concord.approvals AS a
INNER JOIN submitted AS s ON a.approval_id = s.approval_id
INNER JOIN concord.registry_entity_versions AS v ON s.version_id = v.version_id;

\echo
\echo 'olivia asked for it, so she may not approve it:'
:as_olivia
DO $$
BEGIN
    PERFORM concord.resolve_approval(s.approval_id, 'approved', NULL) FROM submitted AS s
    WHERE s.approval_id IS NOT NULL;
    RAISE EXCEPTION 'demo: expected CN012 (the requester approves), but it was accepted';
EXCEPTION WHEN SQLSTATE 'CN012' THEN
    RAISE NOTICE 'refused as expected: % (%)', SQLERRM, SQLSTATE;
END
$$;

\echo 'oscar, the other owner, approves; the worker then publishes it:'
:as_oscar
SELECT * FROM pg_temp.oscar_approves();
:as_admin
SELECT pg_temp.wait_for_registry() AS registry_commands_done;

\echo
\echo 'Published, they are bound for the tenant wayfarer (the organisation): a binding says which'
\echo 'version is in force where. Then the next waves: the compensating command type, book_hotel'
\echo '(spec 107.2), its tool, the skill (spec 107.1) and an agent role, each high-risk one'
\echo 'approved by oscar.'
\echo

:as_olivia
SELECT count(*) AS binding_commands FROM pg_temp.bind_wave(1);

SELECT 'command_type' AS entity_type, pg_temp.draft('command_type', $m$
{
  "name": "wayfarer.cancel_reservation",
  "version": "1.0.0",
  "display_name": "Cancel a reservation",
  "risk_level": "medium",
  "execution": {"mode": "async", "dbos_workflow": "run_command"},
  "payload_schema": {"type": "object", "required": ["booking_draft_id"],
                     "properties": {"booking_draft_id": {"type": "string"}}},
  "connector_operations": ["wayfarer_hotels.cancel_booking"],
  "idempotency": {"required": true, "key_template": "cancel_reservation:{booking_draft_id}"}
}
$m$, 2) AS version_id;
SELECT what, command_status FROM pg_temp.publish_wave(2);
:as_oscar
SELECT * FROM pg_temp.oscar_approves();
:as_admin
SELECT pg_temp.wait_for_registry() AS registry_commands_done;

\echo
\echo 'book_hotel, spec 107.2 word for word (its names in the organisation''s namespace):'
:as_olivia
SELECT count(*) AS binding_commands FROM pg_temp.bind_wave(2);
SELECT 'command_type' AS entity_type, pg_temp.draft('command_type', $m$
{
  "name": "wayfarer.book_hotel",
  "version": "1.0.0",
  "display_name": "Book a hotel",
  "risk_level": "high",
  "execution": {"mode": "approval_gated_async", "dbos_workflow": "run_command"},
  "payload_schema": {"type": "object", "required": ["booking_draft_id", "payment_token_ref"],
                     "properties": {"booking_draft_id": {"type": "string"},
                                    "payment_token_ref": {"type": "string"}}},
  "policies": {"required": ["permission", "connector_scope", "payment_token_required",
                            "approval_required_for_booking"]},
  "approval": {"required": true, "approval_type": "wayfarer.hotel_booking_approval"},
  "artifacts": {"produces": ["wayfarer.reservation_confirmation"]},
  "connector_operations": ["wayfarer_hotels.book_hotel"],
  "idempotency": {"required": true, "key_template": "book_hotel:{booking_draft_id}"},
  "compensation": {"supported": true, "command_type": "wayfarer.cancel_reservation"}
}
$m$, 3) AS version_id;

\echo 'The relationships derived from its manifest (what it needs, at which versions):'
:as_admin
SELECT r.relationship_type, r.target_entity_type, r.target_entity_name, r.required,
       coalesce(r.target_version_constraint, 'any') AS versions
FROM concord.registry_relationships AS r
INNER JOIN drafted AS d ON r.source_version_id = d.version_id
WHERE d.name = 'wayfarer.book_hotel'
ORDER BY r.relationship_type, r.target_entity_name;

:as_olivia
SELECT what, command_status FROM pg_temp.publish_wave(3);
:as_oscar
SELECT * FROM pg_temp.oscar_approves();
:as_admin
SELECT pg_temp.wait_for_registry() AS registry_commands_done;

:as_olivia
SELECT count(*) AS binding_commands FROM pg_temp.bind_wave(3);
SELECT 'tool' AS entity_type, pg_temp.draft('tool', $m$
{
  "name": "wayfarer.book_hotel",
  "version": "1.0.0",
  "display_name": "Book a hotel (tool)",
  "risk_level": "high",
  "mode": "approval_gated_async",
  "side_effect": "external_write",
  "command_type": {"name": "wayfarer.book_hotel", "version": "^1"},
  "input_schema": {"type": "object", "required": ["booking_draft_id"]},
  "connector_operations": ["wayfarer_hotels.book_hotel"],
  "artifact_types": ["wayfarer.reservation_confirmation"]
}
$m$, 4) AS version_id;
SELECT what, command_status FROM pg_temp.publish_wave(4);
:as_oscar
SELECT * FROM pg_temp.oscar_approves();
:as_admin
SELECT pg_temp.wait_for_registry() AS registry_commands_done;

\echo
\echo 'The skill, spec 107.1 (version 1.4.2 as in the spec: a first version may have any number):'
:as_olivia
SELECT count(*) AS binding_commands FROM pg_temp.bind_wave(4);
SELECT 'skill' AS entity_type, pg_temp.draft('skill', $m$
{
  "name": "wayfarer.hotel_booking",
  "version": "1.4.2",
  "display_name": "Hotel Booking Skill",
  "runtime": {"min_concord_version": "0.3.0",
              "compatible_agent_runtimes": ["concord_agent_runtime", "langgraph_adapter"]},
  "lifecycle": {"owner": "travel-platform", "risk_level": "high"},
  "capabilities": [
    {"type": "connector_operation", "connector": "wayfarer_hotels", "operation": "book_hotel",
     "side_effect": true, "requires_approval": true},
    {"type": "artifact_write", "artifact_type": "wayfarer.reservation_confirmation"},
    {"type": "memory_write", "memory_type": "wayfarer.travel_preferences", "requires_consent": true}
  ],
  "policy": {"required_checks": ["permission", "connector_scope", "payment_token_required",
                                 "cancellation_policy_disclosed", "approval_required_for_booking"]},
  "tools": [{"name": "wayfarer.book_hotel", "command_type": "wayfarer.book_hotel", "mode": "approval_gated_async"}],
  "evals": {"required": ["booking_terms_present", "cancellation_policy_present", "approval_packet_complete"]}
}
$m$, 5) AS version_id;
SELECT what, command_status FROM pg_temp.publish_wave(5);
:as_oscar
SELECT * FROM pg_temp.oscar_approves();
:as_admin
SELECT pg_temp.wait_for_registry() AS registry_commands_done;

\echo
\echo 'And the agent role that may use the skill: its boundary (spec 107).'
:as_olivia
SELECT count(*) AS binding_commands FROM pg_temp.bind_wave(5);
SELECT 'agent_role' AS entity_type, pg_temp.draft('agent_role', $m$
{
  "name": "wayfarer.travel_agent",
  "version": "1.0.0",
  "display_name": "Travel agent",
  "skills": [{"name": "wayfarer.hotel_booking", "version": "^1.4"}],
  "tools": ["wayfarer.book_hotel"],
  "connectors": ["wayfarer_hotels"],
  "max_steps": 20,
  "max_depth": 1,
  "memory_scope": {"read": ["wayfarer.travel_preferences"], "write": ["wayfarer.travel_preferences"]},
  "artifact_scope": {"write": ["wayfarer.reservation_confirmation"]},
  "approval_behavior": "ask_owner",
  "compatible_runtimes": ["concord_agent_runtime"]
}
$m$, 6) AS version_id;
SELECT what, command_status FROM pg_temp.publish_wave(6);
:as_oscar
SELECT * FROM pg_temp.oscar_approves();
:as_admin
SELECT pg_temp.wait_for_registry() AS registry_commands_done;
:as_olivia
SELECT count(*) AS binding_commands FROM pg_temp.bind_wave(6);
:as_admin
SELECT pg_temp.wait_for_registry() AS registry_commands_done;

\echo
\echo 'What the organisation now has: each version, its state, its checksum over canonical JSON,'
\echo 'who approved it, and its active bindings:'
\echo
SELECT v.entity_type, v.entity, v.version, v.status, v.risk_level, left(v.checksum, 19) || '...' AS checksum,
       coalesce(r.approved_by, '') AS approved_by,
       (SELECT string_agg(b.binding_scope || ':' || b.binding_target, ', ') FROM concord.registry_active_bindings AS b
        WHERE b.version_id = v.version_id) AS bound
FROM concord.registry_entity_versions AS v
INNER JOIN drafted AS d ON v.version_id = d.version_id
INNER JOIN concord.registry_versions AS r ON v.version_id = r.version_id
ORDER BY d.wave, v.entity_type, v.entity;

\echo
\echo '================================================================================'
\echo ' 3. Resolution: which contract is in force for tom, and why'
\echo '================================================================================'
\echo 'Who resolves is who is authenticated: tom''s user, teams, organisation (tenant) and'
\echo 'project (app) come from his login and chosen project, never from an argument. The most'
\echo 'specific active binding wins (user, team, tenant, workflow_type, command_type,'
\echo 'agent_role, agent_name, app, environment, global); the answer explains every candidate.'
\echo

-- Each resolution below is remembered with who asked (as_principal) and what it answered.
CREATE TEMP TABLE resolutions (step text, principal text, answer jsonb);
GRANT ALL ON resolutions TO PUBLIC;
CREATE FUNCTION pg_temp.resolve_book_hotel(step text)
RETURNS text
LANGUAGE sql
AS $$
    INSERT INTO resolutions
    SELECT step, concord.current_principal(), concord.resolve_command_type_contract('wayfarer.book_hotel')
    RETURNING format('%s resolves wayfarer.book_hotel %s (%s binding at %s %s)', principal, answer ->> 'version',
                     answer #>> '{binding,rollout_strategy}', answer #>> '{binding,binding_scope}',
                     answer #>> '{binding,binding_target}')
$$;

:as_tom
SELECT concord.use_project('wayfarer/travel') AS project;
SELECT c.entity_type, c.name, r ->> 'version' AS version, r ->> 'status' AS status,
       r -> 'binding' ->> 'binding_scope' AS bound_at, r -> 'binding' ->> 'binding_target' AS target,
       left(r ->> 'checksum', 19) || '...' AS checksum
FROM (VALUES ('skill', 'wayfarer.hotel_booking'), ('command_type', 'wayfarer.book_hotel'),
             ('approval_type', 'wayfarer.hotel_booking_approval')) AS c (entity_type, name)
CROSS JOIN LATERAL concord.resolve_registry_entity(c.entity_type, c.name) AS r;

\echo
\echo 'resolve_command_type_contract(''wayfarer.book_hotel''): the explanation, candidate by candidate'
SELECT pg_temp.resolve_book_hotel('first') AS resolved;
SELECT e.scope, e.target, e.strategy, e.version, e.matched, e.why
FROM resolutions AS r
CROSS JOIN LATERAL jsonb_to_recordset(r.answer -> 'explanation')
    AS e (scope text, target text, strategy text, version text, matched boolean, why text)
WHERE r.step = 'first';
SELECT jsonb_pretty(answer -> 'manifest' -> 'idempotency') AS idempotency, answer -> 'manifest' -> 'approval' AS approval
FROM resolutions WHERE step = 'first';

\echo
\echo 'resolve_agent_runtime_manifest: what an agent of role wayfarer.travel_agent would be'
\echo 'given (spec 112.4): only bound, published capabilities within their version constraints,'
\echo 'the memory and artifact scopes both the skill declares and the role allows; no drafts, no'
\echo 'retired versions, no other tenant''s bindings, no secrets.'
SELECT jsonb_pretty(concord.resolve_agent_runtime_manifest(NULL, agent_role => 'wayfarer.travel_agent'))
    AS runtime_manifest;

\echo
\echo '================================================================================'
\echo ' 4. A breaking change without a major bump is refused (CN017)'
\echo '================================================================================'
\echo 'olivia wants book_hotel to require the number of guests, and calls it 1.1.0. Concord'
\echo 'compares the JSON Schemas structurally (spec 110): a new required input narrows what'
\echo 'callers may send, a breaking change, so the version must be 2.0.0.'
\echo

:as_admin
SELECT v.manifest AS m100, v.version_id AS v100
FROM concord.registry_versions AS v INNER JOIN drafted AS d ON v.version_id = d.version_id
WHERE d.entity_type = 'command_type' AND d.name = 'wayfarer.book_hotel' \gset
SELECT set_config('demo.m100', :'m100', false) IS NOT NULL AS remembered;

:as_olivia
CREATE FUNCTION pg_temp.breaking(m jsonb)
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT jsonb_set(jsonb_set(m, '{payload_schema,required}',
                               (m #> '{payload_schema,required}') || '["guests"]'),
                     '{payload_schema,properties,guests}', '{"type": "integer", "minimum": 1}')
        || '{"version": "1.1.0"}'
$$;
DO $$
DECLARE
    detail text;
    hint text;
BEGIN
    PERFORM concord.create_registry_version('command_type', 'wayfarer.book_hotel', '1.1.0',
                                            pg_temp.breaking(current_setting('demo.m100')::jsonb));
    RAISE EXCEPTION 'demo: expected CN017 (a breaking change as a minor version), but it was accepted';
EXCEPTION WHEN SQLSTATE 'CN017' THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
    RAISE NOTICE E'refused as expected: % (%)\n%\nhint: %', SQLERRM, SQLSTATE, detail, hint;
END
$$;

\echo
\echo 'An optional field (a loyalty number) is an additive change: 1.1.0 is accepted, and being'
\echo 'high-risk it is published after oscar''s approval.'
\echo
SELECT concord.create_registry_version(
    'command_type', 'wayfarer.book_hotel', '1.1.0',
    jsonb_set(:'m100'::jsonb, '{payload_schema,properties,loyalty_number}', '{"type": "string"}')
    || '{"version": "1.1.0"}') AS v110 \gset
SELECT answer ->> 'status' AS status, answer ->> 'change_class' AS change_class,
       jsonb_pretty(answer -> 'change_reasons') AS change_reasons
FROM concord.validate_registry_version(:'v110') AS answer;
INSERT INTO drafted VALUES ('command_type', 'wayfarer.book_hotel', '1.1.0', :'v110', 7);
SELECT what, command_status FROM pg_temp.publish_wave(7);
:as_oscar
SELECT * FROM pg_temp.oscar_approves();
:as_admin
SELECT pg_temp.wait_for_registry() AS registry_commands_done;

\echo
\echo '================================================================================'
\echo ' 5. A canary: 1.1.0 for half of the tenant''s users'
\echo '================================================================================'
\echo 'A canary binding is tried before the pinned binding of its scope. It takes a subject'
\echo 'when its bucket, sha256(binding id : subject) modulo 10000, is below percent x 100'
\echo '(concord.registry_subject_bucket): the same user always lands on the same side.'
\echo

:as_olivia
INSERT INTO submitted
SELECT 'canary book_hotel 1.1.0', :'v110', (b ->> 'command_id')::uuid, b ->> 'command_status', NULL
FROM concord.bind_registry_version(:'v110', 'tenant', 'wayfarer', rollout_strategy => 'canary',
                                   rollout_config => '{"percent": 50, "subject": "user"}') AS b
RETURNING what, command_status;
:as_admin
SELECT pg_temp.wait_for_registry() AS registry_commands_done;
SELECT c.result ->> 'binding_id' AS canary_binding
FROM concord.commands AS c INNER JOIN submitted AS s ON c.command_id = s.command_id
WHERE s.what = 'canary book_hotel 1.1.0' \gset

\echo 'Where subjects land:'
:as_olivia
SELECT s.principal, concord.registry_subject_bucket(:'canary_binding', s.principal) AS bucket,
       CASE WHEN concord.registry_subject_bucket(:'canary_binding', s.principal) < 5000
            THEN '1.1.0 (canary)' ELSE '1.0.0 (pinned)' END AS lands_on
FROM (VALUES ('olivia'), ('oscar'), ('tom'), ('ana'), ('ben'), ('chen'), ('dora'), ('emil')) AS s (principal)
ORDER BY s.principal;

\echo 'and what olivia, oscar and tom actually resolve (each asking as themselves):'
SELECT pg_temp.resolve_book_hotel('canary') AS resolved;
:as_oscar
SELECT pg_temp.resolve_book_hotel('canary') AS resolved;
:as_tom
SELECT pg_temp.resolve_book_hotel('canary') AS resolved;

\echo
\echo '================================================================================'
\echo ' 6. A rollback: the canary goes badly'
\echo '================================================================================'
\echo 'The vendor rejects loyalty numbers. olivia points the canary binding back at 1.0.0'
\echo '(concord.rollback_registry_binding, with a reason): everyone is on 1.0.0 again.'
\echo

:as_olivia
INSERT INTO submitted
SELECT 'rollback canary to 1.0.0', :'v100', (b ->> 'command_id')::uuid, b ->> 'command_status', NULL
FROM concord.rollback_registry_binding(:'canary_binding', :'v100',
                                       'the vendor rejects loyalty numbers: back to 1.0.0') AS b
RETURNING what, command_status;
:as_admin
SELECT pg_temp.wait_for_registry() AS registry_commands_done;
:as_olivia
SELECT pg_temp.resolve_book_hotel('rollback') AS resolved;
:as_oscar
SELECT pg_temp.resolve_book_hotel('rollback') AS resolved;
:as_tom
SELECT pg_temp.resolve_book_hotel('rollback') AS resolved;

\echo
\echo '================================================================================'
\echo ' 7. An emergency retirement, and the refusal that follows (CN016)'
\echo '================================================================================'
\echo '1.0.0 turns out to book without checking the payment token. olivia retires it at once'
\echo '(spec 111.4): resolution is blocked in the same transaction, its bindings are disabled,'
\echo 'the owners are notified and an incident is audited; running agents and workflows are'
\echo 'refused at their next call.'
\echo

:as_olivia
INSERT INTO submitted
SELECT 'retire book_hotel 1.0.0', :'v100', (r ->> 'command_id')::uuid, r ->> 'command_status', NULL
FROM concord.retire_registry_version(:'v100', 'books without checking the payment token',
                                     emergency => true) AS r
RETURNING what, command_status;
:as_admin
SELECT pg_temp.wait_for_registry() AS registry_commands_done;

\echo 'The lifecycle events of the retirement, the incident in the audit trail and the owners'''
\echo 'notifications:'
SELECT t.event_type, t.version, t.actor, t.payload ->> 'binding_scope' AS binding_scope,
       t.payload ->> 'rollout_strategy' AS strategy, t.payload ->> 'reason' AS reason
FROM concord.registry_lifecycle_timeline AS t
WHERE t.entity = 'wayfarer.book_hotel' AND t.event_type IN ('emergency_retired', 'binding_disabled')
ORDER BY t.created_at, t.event_type;
SELECT e.event_type, e.actor, e.payload ->> 'version' AS version, jsonb_array_length(e.payload -> 'bindings') AS bindings
FROM concord.domain_events AS e
WHERE e.event_type = 'registry_incident'
  AND e.payload ->> 'entity_id' = (SELECT v.entity_id::text FROM concord.registry_entity_versions AS v
                                   WHERE v.version_id = :'v100');
SELECT n.recipient, n.channel, n.subject
FROM concord.notifications AS n
INNER JOIN submitted AS s ON n.command_id = s.command_id
WHERE s.what = 'retire book_hotel 1.0.0'
ORDER BY n.recipient;

\echo
\echo 'tom asks for book_hotel again:'
:as_tom
DO $$
DECLARE
    detail text;
BEGIN
    PERFORM concord.resolve_command_type_contract('wayfarer.book_hotel');
    RAISE EXCEPTION 'demo: expected CN016 (nothing usable resolves), but it resolved';
EXCEPTION WHEN SQLSTATE 'CN016' THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RAISE NOTICE 'refused as expected: % (%)', SQLERRM, SQLSTATE;
END
$$;

\echo
\echo 'The owners bind 1.1.0 for the tenant (the vendor now accepts loyalty numbers):'
:as_olivia
INSERT INTO submitted
SELECT 'bind book_hotel 1.1.0', :'v110', (b ->> 'command_id')::uuid, b ->> 'command_status', NULL
FROM concord.bind_registry_version(:'v110', 'tenant', 'wayfarer') AS b
RETURNING what, command_status;
:as_admin
SELECT pg_temp.wait_for_registry() AS registry_commands_done;
:as_tom
SELECT pg_temp.resolve_book_hotel('recovered') AS resolved;

\echo
\echo '================================================================================'
\echo ' 8. Impact: what depends on the hotel vendor''s connector?'
\echo '================================================================================'
\echo 'concord.registry_impact walks the capability graph backwards (spec 116): the command'
\echo 'types and the tool that invoke its operations, the skill that uses the tool, the role'
\echo 'that uses the skill, with their active bindings: what breaks if it is retired.'
\echo

:as_olivia
SELECT depth, entity_type, name, version, status, relationship_type, active_bindings, via
FROM concord.registry_impact('connector', 'wayfarer_hotels');

:as_admin
\echo
\echo 'Every registry change of the demo was a governed command of wayfarer/travel:'
SELECT c.command_type, c.status, count(*) AS commands, string_agg(DISTINCT c.requested_by, ', ') AS requested_by
FROM concord.commands AS c
INNER JOIN concord.projects AS p ON c.project_id = p.project_id
WHERE c.command_type LIKE 'concord.registry.%' AND p.name = 'travel'
GROUP BY c.command_type, c.status
ORDER BY c.command_type, c.status;

\echo
\echo 'End of the registry demo. Explore further: concord.registry_entity_versions,'
\echo 'concord.registry_active_bindings, concord.registry_lifecycle_timeline,'
\echo 'concord.registry_version_usage, concord.registry_retired_resolution_attempts.'
