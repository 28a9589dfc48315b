-- A token makes only tokens within itself (spec 45): in a transaction
-- authenticated by a token, create_api_token gives the new token that token's
-- scopes by default, refuses wider ones, and lets it expire no later than the
-- token that made it — a narrow or short-lived token handed to a service
-- cannot buy itself an unscoped token for a year. A session of the principal's
-- own login (no token) is not bound so, nor is a narrowing. What a token
-- authenticates is read at every statement: a token revoked, or a membership
-- withdrawn, in the middle of a transaction holds from the next statement on.
BEGIN;
SELECT plan(11);

\ir ../lib/identity_fixtures.sql

DO $$ BEGIN
    PERFORM pg_temp.make_login('alice', ARRAY['concord_app'], 'iso-a-alice');
    PERFORM pg_temp.make_login('plain', ARRAY['concord_app']);
    PERFORM concord.register_command_type('{"command_type": "iso_t", "sync_allowed": true}');
END $$;

SELECT token AS reader_token, expires_at AS reader_expires
FROM concord.create_api_token('iso-a-alice', '1 hour', ARRAY['reader']) \gset
SELECT token AS full_token, expires_at AS full_expires FROM concord.create_api_token('iso-a-alice', '1 day') \gset

-- What create_api_token made, as the login labelled label authenticated by
-- credential: 'scopes|lives at most the maker' or the refusal.
CREATE FUNCTION pg_temp.made(label text, credential text, call text, maker_expires timestamptz)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    made_id text;
BEGIN
    made_id := pg_temp.value_as_login(label, format($q$SELECT concord.authenticate(%L) || ' ' || (%s)$q$,
                                                    credential, call));
    PERFORM set_config('concord.credential', '', true);
    IF made_id LIKE 'error%' THEN
        RETURN made_id;
    END IF;
    RETURN (SELECT coalesce(t.scopes::text, 'unscoped') || '|'
                   || CASE WHEN t.expires_at <= maker_expires THEN 'within' ELSE 'outlives its maker' END
            FROM concord.api_tokens AS t WHERE t.token_id = split_part(made_id, ' ', 2)::uuid);
END
$$;

SELECT is(pg_temp.made('plain', :'reader_token',
                       $$SELECT token_id FROM concord.create_api_token(NULL, '366 days')$$, :'reader_expires'),
          '{reader}|within',
          'a reader token of an hour asking for a year, unscoped, makes a reader token that dies with it');
SELECT is(pg_temp.made('plain', :'reader_token',
                       $$SELECT token_id FROM concord.create_api_token(NULL, '1 day', ARRAY['member'])$$,
                       :'reader_expires'),
          'error ' || pg_temp.refused('CN012', 'a_token_stays_within_the_token_that_made_it'),
          'a reader token cannot make a member token');
SELECT is(pg_temp.made('plain', :'reader_token',
                       $$SELECT token_id FROM concord.create_api_token(NULL, '1 day', ARRAY['reader', 'owner'])$$,
                       :'reader_expires'),
          'error ' || pg_temp.refused('CN012', 'a_token_stays_within_the_token_that_made_it'),
          'nor one that adds a scope to its own');
SELECT is(pg_temp.made('plain', :'reader_token',
                       $$SELECT token_id FROM concord.create_api_token(NULL, '10 minutes', ARRAY['reader'])$$,
                       :'reader_expires'),
          '{reader}|within', 'the same scope for less time is made');
SELECT is(pg_temp.made('plain', :'full_token',
                       $$SELECT token_id FROM concord.create_api_token(NULL, '1 hour', ARRAY['reader'])$$,
                       :'full_expires'),
          '{reader}|within', 'an unscoped token makes a narrower one');
SELECT is(pg_temp.made('plain', :'full_token',
                       $$SELECT token_id FROM concord.create_api_token(NULL, '366 days')$$, :'full_expires'),
          'unscoped|within', 'an unscoped token of a day asking for a year makes one that dies with it');
SELECT is(pg_temp.value_as_login('alice', $$SELECT (expires_at > now() + interval '365 days')::text
                                            FROM concord.create_api_token(NULL, '366 days')$$),
          'true', 'alice''s own login (no token) makes a token for a year');

-- ===========================================================================
-- Mid-transaction: revoked, or the membership withdrawn
-- ===========================================================================
SELECT token_id AS mid_id, token AS mid_token FROM concord.create_api_token('iso-a-alice', '1 day') \gset
SELECT is(pg_temp.value_as_login('plain', format($$SELECT concord.authenticate(%L)$$, :'mid_token')), 'iso-a-alice',
          'fixture: the token authenticates alice');
-- (the credential stays set: the transaction goes on as alice)
SELECT set_config('concord.credential', '', true) AS fixture \gset
SELECT concord.revoke_api_token(:'mid_id') AS fixture \gset
SELECT set_config('concord.credential', :'mid_token', true) AS fixture \gset
SELECT is(pg_temp.value_as_login('plain', $$SELECT coalesce(concord.current_principal(), 'nobody')$$), 'nobody',
          'once the token is revoked, the same transaction speaks for nobody at its next statement');
SELECT set_config('concord.credential', '', true) AS fixture \gset

SELECT token AS member_token FROM concord.create_api_token('iso-a-alice', '1 day') \gset
SELECT is(pg_temp.as_login('plain', format($$SELECT concord.authenticate(%L);
                                              SELECT concord.use_project('iso-a/main')$$, :'member_token')), 'ok',
          'fixture: alice''s token chooses iso-a/main');
-- (this superuser session speaks as alice while her credential is set: the
-- removal is made without it, then the transaction goes on with it)
SELECT set_config('concord.credential', '', true) AS fixture \gset
SELECT concord.remove_member('iso-a', 'iso-a-alice', 'member') AS fixture \gset
SELECT set_config('concord.credential', :'member_token', true) AS fixture \gset
SELECT is(pg_temp.as_login('plain', $$SELECT concord.submit_command('iso_t', '{}', NULL)$$),
          pg_temp.refused('CN006', 'the_project_exists'),
          'once alice is no longer a member, the same transaction cannot submit there (the project is gone for it)');
SELECT set_config('concord.credential', '', true) AS fixture \gset
RESET concord.project;

SELECT * FROM finish();
ROLLBACK;
