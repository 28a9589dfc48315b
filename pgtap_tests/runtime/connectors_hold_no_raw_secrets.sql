-- Connectors hold no raw secrets (connector_spec_is_valid): only env:// and
-- file:// references, whoever writes.
BEGIN;
SELECT plan(12);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

-- ===========================================================================
-- 12. Connectors hold no raw secrets
-- ===========================================================================
SELECT is(
    concord.register_connector(
        '{"name": "crm", "connector_type": "http", "capabilities": ["crm.update"], "risk_level": "medium",
          "config": {"base_url": "https://crm", "headers": {"Authorization": "env://CRM_AUTH"},
                     "client_secret": "file:///run/secrets/crm", "password": "", "retries": 3}}'),
    'crm',
    'register_connector accepts env:// and file:// references'
);

SELECT row_eq(
    $$SELECT connector_type, capabilities, risk_level, config -> 'headers' FROM concord.connectors
      WHERE connector_name = 'crm'$$,
    ROW('http'::text, '{crm.update}'::text[], 'medium'::text, '{"Authorization": "env://CRM_AUTH"}'::jsonb),
    'the connector is stored as given'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_raw1", "connector_type": "http",
                                          "config": {"targets": [{"deep": {"password": "hunter2"}}]}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: a raw password deep inside an array of objects'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_raw2", "connector_type": "http",
                                          "config": {"headers": {"Authorization": "Bearer abc"}}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: a raw Authorization header'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_raw3", "connector_type": "http",
                                          "config": {"headers": {"X-Auth": "Basic dXNlcjpwYXNz"}}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: a raw Basic credential under any key'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_raw4", "connector_type": "http", "config": {"api_key": 12345}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: a raw secret that is a number'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_raw5", "connector_type": "http",
                                          "config": {"api_keys": ["sk-live-123"]}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: raw secrets in an array under a credential key'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_raw6", "connector_type": "postgres",
                                          "config": {"dsn": "postgresql://app:hunter2@db.internal/app"}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: a connection URI with an inline password'
);

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.connectors (connector_name, connector_type, config)
      VALUES ('c_raw_insert', 'http', '{"a": {"token": "raw"}}')$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: the owner cannot INSERT a raw secret either'
);

SELECT concord_test.throws_rule(
    $$UPDATE concord.connectors SET config = '{"headers": {"Cookie": "sid=1"}}' WHERE connector_name = 'crm'$$,
    'CN005', 'connector_config_holds_no_raw_secret',
    'CN005: nor UPDATE one in'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_bad", "connector_type": "http", "colour": "red"}')$$,
    'CN005', 'a_spec_has_only_known_keys',
    'CN005: an unknown connector spec key'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.register_connector('{"name": "c_bad", "connector_type": "http", "risk_level": "extreme"}')$$,
    'CN005', 'connector_spec_is_valid',
    'CN005: an unknown risk level'
);

SELECT * FROM finish();
ROLLBACK;
