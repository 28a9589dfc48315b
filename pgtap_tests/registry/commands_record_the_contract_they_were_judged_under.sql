-- Commands record the contract they were judged under (issue 14 section 3,
-- spec 106.5, 112): a command resolves its type's version for its requester
-- and project at submission and records it (commands.contract_version_id); a
-- tenant's binding of a stricter version judges that tenant's commands while
-- the others stay on the global one; a version bound later never changes how
-- an existing command is judged (its max_attempts, its policies), and the
-- recorded version never changes
-- (a_command_keeps_the_contract_it_was_judged_under).
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(17);

\ir ../lib/identity_fixtures.sql

CREATE FUNCTION pg_temp.submit_in(project text, label text, payload jsonb, requester text)
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM concord.use_project(project);
    RETURN concord_test.submit(label, 'kc_order', payload, requester);
END
$$;

-- The version the command remembered as label records.
CREATE FUNCTION pg_temp.contract(label text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT v.version::text FROM concord.commands AS c
    INNER JOIN concord.registry_versions AS v ON c.contract_version_id = v.version_id
    WHERE c.command_id = concord_test.id(label)
$$;

DO $$ BEGIN
    PERFORM concord.register_policy('{"name": "kc_never", "predicate": "true", "decision": "deny",
                                      "reasons": ["closed"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "kc_order", "sync_allowed": true, "max_attempts": 2,
          "payload_schema": {"type": "object", "properties": {"sku": {"type": "string"}}}}');
END $$;

-- iso-a is bound to a stricter version: sku is required
SELECT concord_test.new_catalog_version(
    'command_type', 'kc_order',
    '{"payload_schema": {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}}',
    'tenant', 'iso-a') AS v2 \gset

SELECT is(pg_temp.submit_in('iso-a/main', 'a_bare', '{}', 'iso-a-alice'), 'failed',
          'the tenant''s stricter version judges its command: a payload without sku fails');
SELECT is(pg_temp.contract('a_bare'), '2.0.0', '... and the command records version 2.0.0');
SELECT is(pg_temp.submit_in('iso-a/main', 'a_sku', '{"sku": "x"}', 'iso-a-alice'), 'validated',
          'a payload with sku passes it');
SELECT is(pg_temp.submit_in('iso-b/main', 'b_bare', '{}', 'iso-b-bob'), 'validated',
          'another tenant stays on the global version: its payload without sku is valid');
SELECT is(pg_temp.contract('b_bare'), '1.0.0', '... and its command records version 1.0.0');
SELECT is((SELECT payload_schema ? 'required' FROM concord.command_types WHERE command_type = 'kc_order'), false,
          'the catalog row is the global version''s');
SELECT results_eq(
    $$SELECT c.contract_version_id = v.version_id, u.uses > 0 FROM concord.commands AS c
      INNER JOIN concord.registry_versions AS v ON v.version::text = '2.0.0'
      INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id AND e.name = c.command_type
      INNER JOIN concord.registry_version_usage AS u ON u.version_id = v.version_id AND u.usage_type = 'command_proposed'
      WHERE c.command_id = concord_test.id('a_sku')$$,
    $$VALUES (true, true)$$,
    'the resolution is recorded as the command''s usage: its contract_version_id, counted as command_proposed');
SELECT is(
    (SELECT count(*) FROM concord.registry_usage WHERE command_id = concord_test.id('a_sku')),
    0::bigint,
    'a plain resolution writes no usage row: the command row says it');

-- ===========================================================================
-- A version bound later judges new commands only
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "kc_order", "sync_allowed": true, "max_attempts": 5, "policy_checks": ["kc_never"],
          "payload_schema": {"type": "object", "properties": {"sku": {"type": "string"}}}}');
END $$;
SELECT results_eq(
    $$SELECT max_attempts, policy_checks FROM concord.command_types WHERE command_type = 'kc_order'$$,
    $$VALUES (5, '{kc_never}'::text[])$$,
    'fixture: the global version now allows five attempts and checks kc_never');
SELECT results_eq(
    $$SELECT ct.max_attempts, ct.policy_checks
      FROM concord.commands AS c, concord._command_contract_of(c) AS ct WHERE c.command_id = concord_test.id('b_bare')$$,
    $$VALUES (2, '{}'::text[])$$,
    'a command recorded before keeps its contract: two attempts, no policy');
SELECT is(concord.evaluate_policies(concord_test.id('b_bare')) ->> 'status', 'validated',
          'evaluated again, it is judged under its own contract: kc_never does not deny it');
SELECT is(pg_temp.submit_in('iso-b/main', 'b_new', '{}', 'iso-b-bob'), 'failed',
          'a new command is judged under the new version: kc_never denies it');
SELECT is(pg_temp.contract('b_new'), '3.0.0', '... recorded as 3.0.0');
SELECT is(pg_temp.contract('a_sku'), '2.0.0', 'the tenant''s command still records 2.0.0');

-- ===========================================================================
-- The recorded version never changes
-- ===========================================================================
SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET contract_version_id = %L WHERE command_id = %L$$,
           :'v2', concord_test.id('b_bare')),
    'CN007', 'a_command_keeps_the_contract_it_was_judged_under',
    'CN007: the table owner cannot move a command to another contract');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET contract_version_id = NULL WHERE command_id = %L$$, concord_test.id('b_bare')),
    'CN007', 'a_command_keeps_the_contract_it_was_judged_under', 'CN007: nor take its contract away');

-- a caller's context names no identity: an agent role claimed there is
-- ignored (an agent's comes from its run), and the command is judged
SELECT lives_ok(
    $$SELECT concord.register_command_type('{"command_type": "ctx_claims_a_role", "sync_allowed": true}');
      SELECT concord.submit_command('ctx_claims_a_role', '{}', 'alice', 'api',
                                    '{"agent_role": "payments_agent", "agent_name": "x", "workflow_type": "trip"}')$$,
    'a context claiming an agent role is not taken as the subject: the command is judged for its requester');

SELECT * FROM finish();
ROLLBACK;
