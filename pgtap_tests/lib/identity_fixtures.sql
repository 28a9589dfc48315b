-- The fixtures of the identity pgTAP files (included with
-- \ir ../lib/identity_fixtures.sql right after plan()): two organisations,
-- iso-a and iso-b, each with one project (main), and pg_temp helpers that make
-- real LOGIN roles mapped to principals and run statements as them.
--
-- Roles are cluster-wide: a login's name carries the backend's pid, so files
-- run side by side (or by other people on the same cluster) never meet, and
-- the CREATE ROLE is rolled back with the including file's transaction.
--
--   iso-a/main  alice (member), ann (approver), svc-a (service), and one
--               principal per application role: a-app, a-approver, ...
--   iso-b/main  bob (member), svc-b (service), and b-app, b-approver, ...

DO $$
DECLARE
    org text;
    role text;
BEGIN
    FOREACH org IN ARRAY ARRAY['iso-a', 'iso-b'] LOOP
        PERFORM concord.create_organisation(org);
        PERFORM concord.create_project(org, 'main');
        FOREACH role IN ARRAY ARRAY['app', 'approver', 'admin', 'reader', 'worker', 'agent'] LOOP
            PERFORM concord.create_principal(left(org, 5) || '-' || role);
            PERFORM concord.add_member(org, left(org, 5) || '-' || role, 'member');
        END LOOP;
        PERFORM concord.create_principal(left(org, 5) || '-svc', 'service');
        PERFORM concord.add_member(org, left(org, 5) || '-svc', 'member');
    END LOOP;
    PERFORM concord.create_principal('iso-a-alice');
    PERFORM concord.add_member('iso-a', 'iso-a-alice', 'member');
    PERFORM concord.create_principal('iso-a-ann');
    PERFORM concord.add_member('iso-a', 'iso-a-ann', 'approver');
    PERFORM concord.add_member('iso-a', 'iso-a-ann', 'member');
    PERFORM concord.create_principal('iso-b-bob');
    PERFORM concord.add_member('iso-b', 'iso-b-bob', 'member');
    PERFORM concord.add_member('iso-b', 'iso-b-bob', 'approver');
END $$;

-- The cluster-wide name of the login labelled label in this session.
CREATE FUNCTION pg_temp.login(label text)
RETURNS name
LANGUAGE sql
STABLE
AS $$ SELECT ('idt_' || label || '_' || pg_backend_pid())::name $$;

-- A LOGIN role labelled label, member of each role of roles, speaking as
-- principal (mapped by concord.map_login; none when principal is NULL).
CREATE FUNCTION pg_temp.make_login(label text, roles text [], principal text DEFAULT NULL)
RETURNS name
LANGUAGE plpgsql
AS $$
DECLARE
    login name := pg_temp.login(label);
BEGIN
    EXECUTE format('CREATE ROLE %I LOGIN IN ROLE %s', login,
                   (SELECT string_agg(quote_ident(r), ', ') FROM unnest(roles) AS r));
    IF principal IS NOT NULL THEN
        PERFORM concord.map_login(login, principal);
    END IF;
    RETURN login;
END
$$;

-- Run statement as the login labelled label (SET SESSION AUTHORIZATION, as a
-- real connection of it would be); 'ok', or 'SQLSTATE rule' of the refusal
-- ('SQLSTATE' alone when the error names no rule).
CREATE FUNCTION pg_temp.as_login(label text, statement text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    outcome text;
    rule text;
BEGIN
    EXECUTE format('SET SESSION AUTHORIZATION %I', pg_temp.login(label));
    BEGIN
        EXECUTE statement;
        outcome := 'ok';
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS rule = CONSTRAINT_NAME;
        outcome := SQLSTATE || coalesce(' ' || nullif(rule, ''), '');
    END;
    RESET SESSION AUTHORIZATION;
    RETURN outcome;
END
$$;

-- What statement returns as the login labelled label (its first row's first
-- column, as text), or 'error SQLSTATE rule'.
CREATE FUNCTION pg_temp.value_as_login(label text, statement text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    answer text;
    rule text;
BEGIN
    EXECUTE format('SET SESSION AUTHORIZATION %I', pg_temp.login(label));
    BEGIN
        EXECUTE statement INTO answer;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS rule = CONSTRAINT_NAME;
        answer := 'error ' || SQLSTATE || coalesce(' ' || nullif(rule, ''), '');
    END;
    RESET SESSION AUTHORIZATION;
    RETURN answer;
END
$$;

-- What pg_temp.as_login answers for a refusal with SQLSTATE errcode by the
-- rule named rule.
CREATE FUNCTION pg_temp.refused(errcode text, rule text)
RETURNS text
LANGUAGE sql
IMMUTABLE
AS $$ SELECT errcode || ' ' || rule $$;
