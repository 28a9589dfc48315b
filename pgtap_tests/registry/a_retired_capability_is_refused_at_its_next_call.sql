-- A running workflow asks, before each connector call, whether what it uses
-- is still in force (spec 111.4): once the connector's version is retired in
-- an emergency, the next call of a command already running is refused with
-- CN016 (rule a_retired_capability_is_refused_at_its_next_call), while the
-- call before the retirement went through.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(3);

DO $$ BEGIN
    PERFORM concord.register_connector('{"name": "rt_ledger", "connector_type": "http", "capabilities": ["write"]}');
    PERFORM concord.register_command_type('{"command_type": "rt.ledger", "connector_requirements": ["rt_ledger"]}');
END $$;

-- the connector's contract in the registry: the version register_connector
-- made and bound globally
SELECT (concord._registry_global_version(e.entity_id)).version_id AS cv
FROM concord.registry_entities AS e WHERE e.entity_type = 'connector' AND e.name = 'rt_ledger' \gset

SELECT concord_test.submit('ledger', 'rt.ledger') AS fixture \gset
SELECT is(concord_test.claim('ledger') ->> 'action', 'run', 'fixture: the command runs');
SELECT concord.runtime_begin_effect(
    concord_test.id('ledger'), concord_test.workflow_of('ledger'), 'connector.rt_ledger',
    '{"connector": "rt_ledger", "capability": "write", "input": {}}', 'rt-1') ->> 'effect_id' AS effect \gset

SELECT is(concord.runtime_call_effect(:'effect', concord_test.workflow_of('ledger')) ->> 'action', 'call',
          'while the connector is in force, the workflow calls it');
SELECT concord.retire_registry_version(:'cv', 'the ledger double-books', true) IS NOT NULL AS fixture \gset
SELECT concord_test.throws_rule(
    format($$SELECT concord.runtime_call_effect(%L, %L)$$, :'effect', concord_test.workflow_of('ledger')),
    'CN016', 'a_retired_capability_is_refused_at_its_next_call',
    'after its emergency retirement, the next call of the running command is refused');

SELECT * FROM finish();
ROLLBACK;
