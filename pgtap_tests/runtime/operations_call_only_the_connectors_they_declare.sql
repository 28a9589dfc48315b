-- An operation calls only the connectors (and capabilities) its command type
-- declares, and an agent's tool command only those in the agent's scope:
-- checked by runtime_begin_effect, where every effect begins, again by
-- runtime_call_effect, where its connector is called (the effect must name
-- it), and by record_connector_invocation (the call its effect named),
-- whoever calls them (the worker's own role included), so no worker module
-- can widen a contract.
BEGIN;
SELECT plan(30);
\ir ../lib/agent_fixtures.sql

-- The raw call as the worker's role: '<SQLSTATE> <rule>' or 'ok'.
CREATE FUNCTION pg_temp.as_worker(statement text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    outcome text;
    rule text;
BEGIN
    SET LOCAL ROLE concord_worker;
    BEGIN
        EXECUTE statement;
        outcome := 'ok';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS rule = CONSTRAINT_NAME;
        outcome := SQLSTATE || ' ' || rule;
    END;
    RESET ROLE;
    RETURN outcome;
END
$$;

CREATE FUNCTION pg_temp.begin_sql(label text, connector text, capability text, key text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT format($f$SELECT concord.runtime_begin_effect(%L, %L, %L, %L, %L)$f$,
                  concord_test.id(label), concord_test.workflow_of(label), 'connector.' || connector,
                  jsonb_build_object('connector', connector, 'capability', capability, 'input', '{}'::jsonb), key)
$$;

DO $$ BEGIN
    PERFORM concord.register_connector('{"name": "ledger", "connector_type": "http", "capabilities": ["read", "write"]}');
    PERFORM concord.register_command_type('{"command_type": "cc.none"}');
    PERFORM concord.register_command_type('{"command_type": "cc.ledger", "connector_requirements": ["ledger"]}');
    PERFORM concord.register_command_type('{"command_type": "cc.read", "connector_requirements": ["ledger:read"]}');
    PERFORM concord.register_command_type('{"command_type": "cc.notify", "notification_required": true}');
END $$;

SELECT concord_test.submit('none', 'cc.none') AS fixture \gset
SELECT concord_test.submit('ledger', 'cc.ledger') AS fixture \gset
SELECT concord_test.submit('read', 'cc.read') AS fixture \gset
SELECT concord_test.submit('notify', 'cc.notify') AS fixture \gset
SELECT is(concord_test.claim(x) ->> 'action', 'run', 'fixture: ' || x || ' is running')
FROM unnest(ARRAY['none', 'ledger', 'read', 'notify']) AS x;

-- ---------------------------------------------------------------------------
-- A connector the command type does not declare
-- ---------------------------------------------------------------------------
SELECT is(
    pg_temp.as_worker(pg_temp.begin_sql('none', 'ledger', 'write', 'cc-none-1')),
    'CN012 ' || 'an_operation_calls_only_the_connectors_its_command_type_declares',
    'CN012: the worker''s raw runtime_begin_effect for a connector its type does not declare'
);
SELECT concord_test.throws_rule(
    pg_temp.begin_sql('none', 'ledger', 'write', 'cc-none-1'),
    'CN012', 'an_operation_calls_only_the_connectors_its_command_type_declares',
    'CN012: nor does the table owner''s session widen it'
);
SELECT is((SELECT count(*) FROM concord.domain_effects WHERE command_id = concord_test.id('none')), 0::bigint,
          'no effect was planned for the refused call');
SELECT is(
    pg_temp.as_worker(format($f$SELECT concord.record_connector_invocation(jsonb_build_object(
        'command_id', %L, 'connector_name', 'ledger', 'capability', 'write', 'latency_ms', 1))$f$,
        concord_test.id('none'))),
    'CN012 ' || 'an_operation_calls_only_the_connectors_its_command_type_declares',
    'CN012: nor is an invocation of it recorded'
);
SELECT is(
    pg_temp.as_worker(pg_temp.begin_sql('ledger', 'mail', 'send', 'cc-ledger-mail')),
    'CN012 ' || 'an_operation_calls_only_the_connectors_its_command_type_declares',
    'CN012: a type that declares ledger does not declare mail'
);

-- ---------------------------------------------------------------------------
-- Capabilities: the type's connector:capability, the connector's registration
-- ---------------------------------------------------------------------------
SELECT is(pg_temp.as_worker(pg_temp.begin_sql('ledger', 'ledger', 'write', 'cc-ledger-1')), 'ok',
          'a type declaring ledger calls ledger.write');
SELECT is(
    pg_temp.as_worker(pg_temp.begin_sql('ledger', 'ledger', 'delete', 'cc-ledger-2')),
    'CN012 ' || 'a_connector_is_called_only_for_its_declared_capabilities',
    'CN012: not for a capability the connector is registered without'
);
SELECT is(pg_temp.as_worker(pg_temp.begin_sql('read', 'ledger', 'read', 'cc-read-1')), 'ok',
          'a type declaring ledger:read calls ledger.read');
SELECT is(
    pg_temp.as_worker(pg_temp.begin_sql('read', 'ledger', 'write', 'cc-read-2')),
    'CN012 ' || 'an_operation_calls_only_the_connectors_its_command_type_declares',
    'CN012: but not ledger.write'
);
SELECT is(pg_temp.as_worker(pg_temp.begin_sql('notify', 'notification', 'send_app_notification', 'cc-n-1')), 'ok',
          'notification_required declares the built-in notification connector');
SELECT is(
    pg_temp.as_worker(pg_temp.begin_sql('none', 'notification', 'send_app_notification', 'cc-none-n')),
    'CN012 ' || 'an_operation_calls_only_the_connectors_its_command_type_declares',
    'CN012: a type that declares no notification does not notify'
);
SELECT is(
    pg_temp.as_worker(format($f$SELECT concord.record_connector_invocation(jsonb_build_object(
        'command_id', %L, 'connector_name', 'ledger', 'capability', 'read', 'latency_ms', 1))$f$,
        concord_test.id('read'))),
    'ok',
    'an invocation the contract declares is recorded'
);

-- ---------------------------------------------------------------------------
-- An agent's tool command: only the connectors of the agent's scope, even
-- when the contract it is judged under declares more (here a version of its
-- type bound for its app, wider than the global one the gateway admitted the
-- tool by)
-- ---------------------------------------------------------------------------
SELECT concord_test.new_catalog_version(
    'command_type', 't.async', '{"connector_requirements": ["crm", "ledger"]}', 'app',
    concord._command_subject((SELECT c FROM concord.commands AS c WHERE c.command_id = concord_test.id('pc'))) ->> 'app'
) IS NOT NULL AS wide \gset
INSERT INTO concord_test.fixture (label, id)
VALUES ('bg', (pg_temp.act('coord', '{"tool_name": "bg.job", "payload": {}}') ->> 'command_id')::uuid);
SELECT is(concord_test.status('bg'), 'queued', 'fixture: the coordinator (connectors: crm) queued a bg.job command');
SELECT is(concord_test.claim('bg') ->> 'action', 'run', 'fixture: the worker runs it');
SELECT is(
    pg_temp.as_worker(pg_temp.begin_sql('bg', 'ledger', 'read', 'cc-bg-1')),
    'CN012 ' || 'an_agents_command_calls_only_connectors_in_its_scope',
    'CN012: the wider contract does not widen the agent: ledger is outside its allowed_connectors'
);
SELECT is(
    pg_temp.as_worker(format($f$SELECT concord.record_connector_invocation(jsonb_build_object(
        'command_id', %L, 'connector_name', 'ledger', 'capability', 'read', 'latency_ms', 1))$f$,
        concord_test.id('bg'))),
    'CN012 ' || 'an_agents_command_calls_only_connectors_in_its_scope',
    'CN012: nor is an invocation of it recorded'
);
SELECT is(pg_temp.as_worker(pg_temp.begin_sql('bg', 'crm', 'crm.update', 'cc-bg-2')), 'ok',
          'crm, in the agent''s scope and declared by the type, is called');


-- ---------------------------------------------------------------------------
-- The call itself: only the connector its effect names, as the contract
-- stands when it is made; only that call is recorded for the effect
-- ---------------------------------------------------------------------------
CREATE FUNCTION pg_temp.effect(label text, key text)
RETURNS uuid
LANGUAGE sql
AS $$
    SELECT e.domain_effect_id FROM concord.domain_effects AS e
    WHERE e.command_id = concord_test.id(label) AND e.idempotency_key = key
$$;

CREATE FUNCTION pg_temp.call_sql(label text, key text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT format($f$SELECT concord.runtime_call_effect(%L, %L)$f$, pg_temp.effect(label, key),
                  concord_test.workflow_of(label))
$$;

CREATE FUNCTION pg_temp.record_sql(label text, key text, connector text, capability text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT format($f$SELECT concord.record_connector_invocation(jsonb_build_object(
        'command_id', %L, 'domain_effect_id', %L, 'connector_name', %L, 'capability', %L, 'latency_ms', 1))$f$,
        concord_test.id(label), pg_temp.effect('ledger', key), connector, capability)
$$;

SELECT is(
    pg_temp.as_worker(format($f$SELECT concord.runtime_begin_effect(%L, %L, 'connector.ledger.write',
        '{"input": {}}', 'cc-none-hidden')$f$, concord_test.id('none'), concord_test.workflow_of('none'))),
    'ok', 'fixture: the worker begins an effect that names no connector');
SELECT is(
    pg_temp.as_worker(format($f$SELECT concord.runtime_begin_effect(%L, %L, 'connector.ledger.write',
        '{"connector": null, "capability": "write", "input": {}}', 'cc-ledger-null')$f$, concord_test.id('ledger'),
        concord_test.workflow_of('ledger'))),
    'CN012 ' || 'an_operation_calls_only_the_connectors_its_command_type_declares',
    'CN012: an effect whose connector is null is refused when it begins'
);
SELECT is(
    pg_temp.as_worker(pg_temp.call_sql('none', 'cc-none-hidden')),
    'CN012 ' || 'a_connector_call_is_the_one_its_effect_names',
    'CN012: no connector is called for an effect that names none (its contract could not be checked)'
);
SELECT is(pg_temp.as_worker(pg_temp.call_sql('ledger', 'cc-ledger-1')), 'ok',
          'the run that began an effect naming ledger.write, which its type declares, calls it');
SELECT is(
    pg_temp.as_worker(pg_temp.record_sql('ledger', 'cc-ledger-1', 'ledger', 'read')),
    'CN012 ' || 'a_connector_call_is_the_one_its_effect_names',
    'CN012: a call of ledger.read is not recorded for an effect that named ledger.write'
);
SELECT is(
    pg_temp.as_worker(pg_temp.record_sql('read', 'cc-ledger-1', 'ledger', 'read')),
    'CN012 ' || 'a_connector_call_is_the_one_its_effect_names',
    'CN012: nor for another command''s effect'
);
SELECT is(pg_temp.as_worker(pg_temp.record_sql('ledger', 'cc-ledger-1', 'ledger', 'write')), 'ok',
          'the call its effect named is recorded');
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "cc.ledger", "connector_requirements": ["ledger:read"]}');
END $$;
SELECT is(
    pg_temp.as_worker(pg_temp.call_sql('ledger', 'cc-ledger-1')), 'ok',
    'a command keeps the contract it was judged under: the call it declared is made though a narrower version '
    'of its type was bound since (a_command_keeps_the_contract_it_was_judged_under)'
);
SELECT is(
    pg_temp.as_worker(format($f$SELECT concord.record_connector_invocation(jsonb_build_object(
        'command_id', 'not-a-uuid', 'connector_name', 'ledger', 'capability', 'read'))$f$)),
    'CN008 ' || 'a_connector_invocation_is_a_json_object',
    'CN008: an invocation whose ids are not uuids is refused by name'
);

SELECT * FROM finish();
ROLLBACK;
