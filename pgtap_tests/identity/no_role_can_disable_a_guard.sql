-- No login but a superuser can switch a guard off (spec 46, DESIGN "Who is
-- speaking"): every Concord object belongs to concord_owner, a NOLOGIN role
-- granted to nobody, so no application role — concord_admin included — owns a
-- table. As a real login of each role: disabling a trigger, replica mode,
-- switching row-level security off, dropping a policy, writing the audit,
-- rewriting a command, truncating history, replacing a kernel function or
-- becoming the owner are all refused. (A superuser can still do anything; see
-- docs/reference/roles.md.)
BEGIN;
SELECT plan(98);

\ir ../lib/identity_fixtures.sql

DO $$
DECLARE
    role text;
BEGIN
    FOREACH role IN ARRAY ARRAY['app', 'approver', 'admin', 'reader', 'worker', 'agent'] LOOP
        PERFORM pg_temp.make_login(role, ARRAY['concord_' || role], 'iso-a-' || role);
    END LOOP;
END $$;

SELECT is_empty(
    $$SELECT c.oid::regclass::text FROM pg_catalog.pg_class AS c
      WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'S')
        AND c.relowner <> 'concord_owner'::regrole$$,
    'every table, view and sequence of schema concord belongs to concord_owner');
SELECT is_empty(
    $$SELECT p.oid::regprocedure::text FROM pg_catalog.pg_proc AS p
      WHERE p.pronamespace = 'concord'::regnamespace AND p.proowner <> 'concord_owner'::regrole$$,
    'every function of schema concord belongs to concord_owner');
SELECT is((SELECT n.nspowner FROM pg_catalog.pg_namespace AS n WHERE n.nspname = 'concord'),
          'concord_owner'::regrole::oid, 'schema concord belongs to concord_owner');
SELECT is((SELECT r.rolcanlogin OR r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles AS r
           WHERE r.rolname = 'concord_owner'),
          false, 'concord_owner cannot log in, is no superuser and does not bypass row-level security');
SELECT is_empty(
    $$SELECT pg_get_userbyid(m.member) FROM pg_catalog.pg_auth_members AS m
      WHERE m.roleid = 'concord_owner'::regrole$$,
    'no role is a member of concord_owner');
SELECT is_empty(
    $$SELECT r.rolname FROM pg_catalog.pg_roles AS r
      WHERE r.rolname IN ('concord_app', 'concord_approver', 'concord_admin', 'concord_reader', 'concord_worker',
                          'concord_agent')
        AND (r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication)$$,
    'no application role is a superuser, bypasses row-level security, creates roles or databases, or replicates');
SELECT is_empty(
    $$SELECT c.oid::regclass::text FROM pg_catalog.pg_class AS c
      WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind = 'r' AND c.relrowsecurity
        AND NOT c.relforcerowsecurity$$,
    'row-level security, where enabled, is forced (it binds the owner too)');

-- Every attack, as every role: refused for want of privilege (42501).
SELECT is(pg_temp.as_login(r, attack), '42501', format('concord_%s: %s is refused', r, what))
FROM unnest(ARRAY['app', 'approver', 'admin', 'reader', 'worker', 'agent']) AS r,
     (VALUES
        ('ALTER TABLE ... DISABLE TRIGGER ALL', $$ALTER TABLE concord.commands DISABLE TRIGGER ALL$$),
        ('disabling the audit''s append-only trigger',
         $$ALTER TABLE concord.domain_events DISABLE TRIGGER events_are_append_only$$),
        ('SET session_replication_role = replica', $$SET session_replication_role = replica$$),
        ('ALTER TABLE ... DISABLE ROW LEVEL SECURITY', $$ALTER TABLE concord.commands DISABLE ROW LEVEL SECURITY$$),
        ('ALTER TABLE ... NO FORCE ROW LEVEL SECURITY', $$ALTER TABLE concord.approvals NO FORCE ROW LEVEL SECURITY$$),
        ('DROP POLICY', $$DROP POLICY commands_are_seen_in_their_project ON concord.commands$$),
        ('INSERT into domain_events',
         $$INSERT INTO concord.domain_events (purpose, event_type, target_type, actor, trace_id)
           VALUES ('audit', 'forged', 'command', 'eve', 'trace_forged')$$),
        ('UPDATE commands', $$UPDATE concord.commands SET status = 'succeeded'$$),
        ('DELETE from approvals', $$DELETE FROM concord.approvals$$),
        ('TRUNCATE domain_events', $$TRUNCATE concord.domain_events$$),
        ('replacing a kernel function',
         $$CREATE OR REPLACE FUNCTION concord._refuse_write() RETURNS trigger LANGUAGE plpgsql
           AS 'BEGIN RETURN NEW; END'$$),
        ('creating an object in schema concord', $$CREATE TABLE concord.forged (x int)$$),
        ('SET ROLE concord_owner', $$SET ROLE concord_owner$$),
        ('granting itself concord_owner',
         $$DO 'BEGIN EXECUTE format(''GRANT concord_owner TO %I'', session_user); END'$$),
        ('writing the principals table', $$UPDATE concord.principals SET disabled_at = now()$$)
     ) AS a (what, attack);

-- The table owner's own guards still stand (this superuser session is the
-- owner's peer): what a superuser can do is said in docs/reference/roles.md.
SELECT concord_test.throws_rule(
    $$UPDATE concord.domain_events SET actor = 'eve'$$, 'CN007', 'events_are_append_only',
    'even the table owner cannot rewrite the audit without first disabling its trigger');

SELECT * FROM finish();
ROLLBACK;
