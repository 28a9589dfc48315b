-- API tokens (spec 45): a token is shown once, when it is created, and only its
-- SHA-256 is kept; listed without its secret; it authenticates its principal
-- for one transaction until it expires or is revoked; its scopes narrow its
-- principal's roles; only its principal (or a superuser) revokes it; and the
-- table owner cannot rewrite a token row, only revoke it, once.
BEGIN;
SELECT plan(37);

\ir ../lib/identity_fixtures.sql

DO $$ BEGIN
    PERFORM pg_temp.make_login('alice', ARRAY['concord_app'], 'iso-a-alice');
    PERFORM pg_temp.make_login('bob', ARRAY['concord_app'], 'iso-b-bob');
    PERFORM pg_temp.make_login('plain', ARRAY['concord_app', 'concord_admin']);
    PERFORM concord.register_command_type('{"command_type": "iso_t", "sync_allowed": true}');
END $$;

-- alice's own token, created through her login.
SELECT pg_temp.value_as_login('alice', $$SELECT row_to_json(t)::text
                                         FROM concord.create_api_token(NULL, '1 day', NULL, 'laptop') AS t$$)::jsonb
       AS created \gset
SELECT :'created'::jsonb ->> 'token' AS token, :'created'::jsonb ->> 'token_id' AS token_id \gset

SELECT matches(:'token'::text, '^cct_[0-9a-f]{64}$', 'create_api_token returns the token (cct_ and 64 hex digits)');
SELECT is((SELECT token_sha256 FROM concord.api_tokens WHERE token_id = :'token_id'),
          sha256(convert_to(:'token', 'UTF8')), 'api_tokens keeps the SHA-256 of the token');
SELECT is((SELECT length(token_sha256) FROM concord.api_tokens WHERE token_id = :'token_id'), 32,
          'the stored hash is 32 bytes');
SELECT is_empty(format($$SELECT 1 FROM concord.api_tokens AS t WHERE to_jsonb(t)::text LIKE '%%' || %L || '%%'$$,
                       right(:'token', 64)),
                'no column of api_tokens holds the token');
SELECT is_empty(format($$SELECT 1 FROM concord.domain_events AS e
                        WHERE e.payload::text LIKE '%%' || %L || '%%'
                           OR e.payload::text LIKE '%%' || %L || '%%'$$,
                       right(:'token', 64), encode(sha256(convert_to(:'token', 'UTF8')), 'hex')),
                'the audit row of the creation holds neither the token nor its hash');
SELECT is_empty(
    $$SELECT a.attname FROM pg_catalog.pg_attribute AS a
      WHERE a.attrelid = 'concord.my_api_tokens'::regclass AND a.attnum > 0 AND a.attname ~ 'token_sha256|secret|^token$'$$,
    'my_api_tokens has no column for the token or its hash');
SELECT is(pg_temp.value_as_login('alice', $$SELECT string_agg(to_jsonb(t)::text, ' ') FROM concord.my_api_tokens AS t$$)
          LIKE '%laptop%' || '', true, 'alice lists her token in my_api_tokens');
SELECT is(pg_temp.value_as_login('alice', $$SELECT string_agg(to_jsonb(t)::text, ' ') FROM concord.my_api_tokens AS t$$)
          LIKE '%' || right(:'token', 64) || '%', false, '... without its secret');
SELECT is(pg_temp.value_as_login('bob', $$SELECT count(*) FROM concord.my_api_tokens$$), '0',
          'bob does not see alice''s tokens');

-- ===========================================================================
-- Authenticating
-- ===========================================================================
SELECT is(pg_temp.as_login('plain', $$SELECT concord.submit_command('iso_t', '{}', NULL)$$),
          pg_temp.refused('CN012', 'the_caller_is_authenticated'), 'a login mapped to nobody cannot submit without a token');
SELECT is(pg_temp.value_as_login('plain', format($$SELECT concord.authenticate(%L)$$, :'token')), 'iso-a-alice',
          'authenticate(token) answers the token''s principal');
SELECT is(pg_temp.value_as_login('plain', $$SELECT concord.current_principal()$$), 'iso-a-alice',
          'and the rest of the transaction acts as alice');
SELECT pg_temp.value_as_login('plain', $$SELECT command_id FROM concord.submit_command('iso_t', '{}', NULL)$$)
       AS by_token \gset
SELECT is((SELECT requested_by FROM concord.commands WHERE command_id::text = :'by_token'), 'iso-a-alice',
          'a submission through a login mapped to nobody, authenticated by alice''s token, is alice''s');
SELECT set_config('concord.credential', '', true) AS fixture \gset

SELECT is(pg_temp.as_login('plain', format($$SELECT concord.authenticate(%L)$$, :'token' || '0')),
          pg_temp.refused('CN012', 'a_credential_is_valid'), 'an unknown token is refused');
SELECT is(pg_temp.as_login('plain', $$SELECT concord.authenticate(NULL)$$),
          pg_temp.refused('CN012', 'a_credential_is_valid'), 'a NULL credential is refused');
SELECT is(pg_temp.as_login('plain', $$SELECT concord.authenticate('car_' || gen_random_uuid())$$),
          pg_temp.refused('CN012', 'a_credential_is_valid'), 'an unknown agent secret is refused');
SELECT is(pg_temp.as_login('plain', format($$SELECT concord.authenticate(%L)$$,
                                           encode(sha256(convert_to(:'token', 'UTF8')), 'hex'))),
          pg_temp.refused('CN012', 'a_credential_is_valid'), 'the token''s hash is not a credential');
SELECT is(pg_temp.as_login('plain', format($$SELECT set_config('concord.credential', %L, true);
                                              SELECT concord.submit_command('iso_t', '{}', NULL)$$,
                                           encode(sha256(convert_to(:'token', 'UTF8')), 'hex'))),
          pg_temp.refused('CN012', 'the_caller_is_authenticated'), 'nor does setting concord.credential to the hash authenticate');
SELECT set_config('concord.credential', '', true) AS fixture \gset

-- An expired token: written by the table owner with an expiry in the past.
INSERT INTO concord.api_tokens (principal_id, token_sha256, expires_at, created_at, created_by)
SELECT principal_id, sha256(convert_to('cct_expired_for_the_test', 'UTF8')), now() - interval '1 hour',
       now() - interval '2 days', 'test'
FROM concord.principals WHERE name = 'iso-a-alice';
SELECT is(pg_temp.as_login('plain', $$SELECT concord.authenticate('cct_expired_for_the_test')$$),
          pg_temp.refused('CN012', 'a_credential_is_valid'), 'an expired token is refused');

-- ===========================================================================
-- Scopes narrow roles
-- ===========================================================================
SELECT pg_temp.value_as_login('alice', $$SELECT token FROM concord.create_api_token(NULL, '1 day', ARRAY['reader'])$$)
       AS reader_token \gset
SELECT is(pg_temp.as_login('plain', format($$SELECT concord.authenticate(%L);
                                              SELECT concord.use_project('iso-a/main');
                                              SELECT concord.submit_command('iso_t', '{}', NULL)$$, :'reader_token')),
          pg_temp.refused('CN012', 'the_actor_holds_a_role_in_the_project'), 'a token scoped to reader cannot submit');
RESET concord.project;
SELECT set_config('concord.credential', '', true) AS fixture \gset
SELECT is(pg_temp.value_as_login('plain', format($$SELECT concord.authenticate(%L);
                                                    SELECT full_name FROM concord.my_projects$$, :'reader_token')),
          'iso-a/main', 'it still reads alice''s project');
SELECT set_config('concord.credential', '', true) AS fixture \gset
SELECT is(pg_temp.as_login('alice', $$SELECT concord.create_api_token(NULL, '1 day', ARRAY['superuser'])$$),
          pg_temp.refused('CN008', 'token_scopes_are_roles'), 'a scope that is not a role is refused');
SELECT is(pg_temp.as_login('alice', $$SELECT concord.create_api_token(NULL, '367 days')$$),
          pg_temp.refused('CN008', 'a_token_expires_within_a_year'), 'a token living more than 366 days is refused');

-- ===========================================================================
-- Revocation
-- ===========================================================================
SELECT is(pg_temp.as_login('bob', format($$SELECT concord.revoke_api_token(%L)$$, :'token_id')),
          pg_temp.refused('CN006', 'the_token_exists'), 'bob cannot revoke alice''s token: for him it does not exist');
SELECT is(pg_temp.value_as_login('alice', format($$SELECT concord.revoke_api_token(%L)$$, :'token_id')), 'true',
          'alice revokes her token');
SELECT is(pg_temp.value_as_login('alice', format($$SELECT concord.revoke_api_token(%L)$$, :'token_id')), 'false',
          'revoking it again changes nothing');
SELECT is((SELECT revoked_by FROM concord.api_tokens WHERE token_id = :'token_id'), 'iso-a-alice',
          'the token names who revoked it');
SELECT is(pg_temp.as_login('plain', format($$SELECT concord.authenticate(%L)$$, :'token')),
          pg_temp.refused('CN012', 'a_credential_is_valid'), 'a revoked token no longer authenticates');
SELECT is(concord.revoke_api_token((SELECT token_id FROM concord.api_tokens AS t
                                    JOIN concord.principals USING (principal_id)
                                    WHERE name = 'iso-a-alice' AND t.scopes = ARRAY['reader'])),
          true, 'a superuser revokes anyone''s token');

-- ===========================================================================
-- The table owner cannot rewrite a token
-- ===========================================================================
SELECT concord_test.throws_rule(
    format($$UPDATE concord.api_tokens SET revoked_at = NULL, revoked_by = NULL WHERE token_id = %L$$, :'token_id'),
    'CN007', 'a_token_changes_only_by_revocation', 'a revoked token is not revived by a raw UPDATE');
SELECT concord.create_api_token('iso-a-alice', '1 day') IS NOT NULL AS fixture \gset
SELECT concord_test.throws_rule(
    $$UPDATE concord.api_tokens SET expires_at = expires_at + interval '300 days' WHERE revoked_at IS NULL$$,
    'CN007', 'a_token_changes_only_by_revocation', 'a raw UPDATE cannot extend a token');
SELECT concord_test.throws_rule(
    $$UPDATE concord.api_tokens SET principal_id = (SELECT principal_id FROM concord.principals WHERE name = 'iso-b-bob')
      WHERE revoked_at IS NULL$$,
    'CN007', 'a_token_changes_only_by_revocation', 'a raw UPDATE cannot hand a token to another principal');
SELECT concord_test.throws_rule(
    $$DELETE FROM concord.api_tokens$$,
    'CN007', 'api_tokens_are_not_deleted', 'tokens are not deleted');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.api_tokens (principal_id, token_sha256, expires_at, created_by)
      SELECT principal_id, convert_to('cct_in_clear', 'UTF8'), now() + interval '1 day', 'test'
      FROM concord.principals WHERE name = 'iso-a-alice'$$,
    '23514', 'token_hash_is_a_sha256', 'a token is not stored in clear (only a 32-byte hash fits)');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.api_tokens (principal_id, token_sha256, expires_at, created_by)
      SELECT principal_id, sha256('x'), now() - interval '1 day', 'test'
      FROM concord.principals WHERE name = 'iso-a-alice'$$,
    '23514', 'a_token_expires_after_it_is_created', 'a token cannot be born expired');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.api_tokens (principal_id, token_sha256, expires_at, created_by, revoked_at)
      SELECT principal_id, sha256('y'), now() + interval '1 day', 'test', now()
      FROM concord.principals WHERE name = 'iso-a-alice'$$,
    '23514', 'a_revocation_names_who_revoked', 'a revocation names who revoked');

-- A disabled principal's tokens authenticate nobody.
SELECT token AS live_token FROM concord.create_api_token('iso-a-alice', '1 day') \gset
UPDATE concord.principals SET disabled_at = now() WHERE name = 'iso-a-alice';
SELECT is(pg_temp.as_login('plain', format($$SELECT concord.authenticate(%L)$$, :'live_token')),
          pg_temp.refused('CN012', 'a_credential_is_valid'), 'the live token of a disabled principal is refused');

SELECT * FROM finish();
ROLLBACK;
