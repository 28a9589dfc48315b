-- The audit trail records every organisation: only an operator (a superuser,
-- or a concord_admin login mapped to no principal) sets its retention, lists,
-- exports or drops its partitions. A principal holding concord_admin may not;
-- the other roles are not granted the functions.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(8);

\ir ../lib/identity_fixtures.sql

DO $$ BEGIN
    PERFORM concord.create_principal('ret-owner');
    PERFORM concord.add_member('iso-a', 'ret-owner', 'owner');
    PERFORM pg_temp.make_login('owner', ARRAY['concord_admin'], 'ret-owner');
    PERFORM pg_temp.make_login('ops', ARRAY['concord_admin']);
    PERFORM pg_temp.make_login('app', ARRAY['concord_app', 'concord_worker']);
END $$;

SELECT is(pg_temp.as_login('owner', $$SELECT concord.set_audit_retention('1 day')$$),
          pg_temp.refused('CN012', 'the_audit_trail_is_retained_by_an_operator'),
          'a principal holding concord_admin may not set the retention');
SELECT is(pg_temp.as_login('owner', $$SELECT concord.audit_partitions()$$),
          pg_temp.refused('CN012', 'the_audit_trail_is_retained_by_an_operator'), '... nor list the partitions');
SELECT is(pg_temp.as_login('owner', $$SELECT count(*) FROM concord.audit_partition_rows('domain_events_initial')$$),
          pg_temp.refused('CN012', 'the_audit_trail_is_retained_by_an_operator'), '... nor export one');
SELECT is(pg_temp.as_login('owner', format($$SELECT concord.drop_audit_partition('domain_events_initial', 0, %L, 'f')$$,
                                           repeat('a', 64))),
          pg_temp.refused('CN012', 'the_audit_trail_is_retained_by_an_operator'), '... nor drop one');

SELECT is(pg_temp.as_login('app', $$SELECT concord.set_audit_retention('1 day')$$), '42501',
          'concord_app and concord_worker are not granted the retention functions');
SELECT is(pg_temp.as_login('app', $$SELECT concord.maintain_audit_partitions()$$), 'ok',
          'the worker may run the partition upkeep');

SELECT is(pg_temp.value_as_login('ops', $$SELECT concord.set_audit_retention('400 days')$$), '400 days',
          'an operator''s login sets the retention');
SELECT is((SELECT actor FROM concord.domain_events WHERE event_type = 'audit_retention_set'
           ORDER BY event_seq DESC LIMIT 1),
          pg_temp.login('ops')::text, 'the change names the operator''s login');

SELECT * FROM finish();
ROLLBACK;
