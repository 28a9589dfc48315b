-- Isolation (spec 45, 46): a member of one organisation reads and changes
-- nothing of another's, through any view or function of the API. The test
-- enumerates the API from pg_catalog — every view and every function granted
-- to an application role — so a view or function added later is attacked
-- too. As a login of iso-b's bob holding every application role but
-- concord_worker (a worker's session without a credential acts for every
-- project, by design), and again as a login holding all six authenticated
-- with bob's token:
--   * no row of any view holds anything of iso-a (its ids, names, payloads);
--   * every function is called with each of iso-a's ids in every uuid
--     argument and inside every jsonb argument, the other arguments plausible
--     or NULL, each call in its own savepoint: a call that answers holds
--     nothing of iso-a, a call that refuses says not found, not permitted or
--     permission denied (never "wrong state", which would admit the row exists);
--   * iso-a's rows are the same after all the calls as before (a checksum
--     taken by this superuser session, which row-level security does not bind).
BEGIN;
SELECT plan(18);

\ir ../lib/identity_fixtures.sql

DO $$
BEGIN
    PERFORM pg_temp.make_login('b_all', ARRAY['concord_app', 'concord_approver', 'concord_admin', 'concord_reader',
                                              'concord_agent'], 'iso-b-bob');
    PERFORM pg_temp.make_login('b_worker', ARRAY['concord_app', 'concord_approver', 'concord_admin',
                                                 'concord_reader', 'concord_worker', 'concord_agent']);
    PERFORM concord.register_command_type('{"command_type": "iso_t", "sync_allowed": true}');
    PERFORM concord.register_approval_type('{"name": "iso_at", "approver": {"path": "$.context.approver"}}');
    PERFORM concord.register_policy(
        '{"name": "iso_gate", "predicate": "true", "decision": "require_approval", "approval_type": "iso_at"}');
    PERFORM concord.register_command_type('{"command_type": "iso_gated", "policy_checks": ["iso_gate"]}');
END $$;

-- ===========================================================================
-- iso-a's data: commands, an approval, an effect, a memory, a notification, a
-- schedule, a token, an act-as grant
-- ===========================================================================
SELECT concord.use_project('iso-a/main') AS fixture \gset
SELECT command_id AS a_cmd FROM concord.submit_command('iso_t', '{"note": "iso-a-secret-payload"}', 'iso-a-alice') \gset
SELECT command_id AS a_gated FROM concord.submit_command(
    'iso_gated', '{"note": "iso-a-secret-gated"}', 'iso-a-alice', 'api', '{"approver": "iso-a-ann"}') \gset
SELECT approval_id AS a_approval FROM concord.approvals WHERE command_id = :'a_gated' \gset
SELECT command_id AS a_running FROM concord.submit_command('iso_t', '{"note": "iso-a-secret-running"}', 'iso-a-alice') \gset
-- only a worker runs a command: queued, then claimed by its first run
SELECT concord.transition_command(:'a_running', 'queued', 'iso-a-alice') AS fixture \gset
SELECT concord.runtime_claim(:'a_running', :'a_running', 'iso-worker') AS fixture \gset
SELECT concord.plan_effect(:'a_running', 'iso.effect', '{"note": "iso-a-secret-effect"}') AS a_effect \gset
SELECT (concord.remember(
    '{"subject_type": "user", "subject_id": "iso-a-alice", "memory_type": "preference", "memory_key": "tone",
      "content": "iso-a-secret-memory", "confidence": 0.9, "consent": true}', 'iso-a-alice') ->> 'memory_id')
    AS a_memory \gset
SELECT concord.store_notification('iso-a-alice', 'iso-a-secret-note', 'iso-a-secret-body', 'app', :'a_cmd')
    AS a_note \gset
SELECT concord.register_schedule('{"name": "iso_a_sched", "cron": "0 * * * *", "command_type": "iso_t",
                                   "payload_template": {"note": "iso-a-secret-schedule"}}') AS fixture \gset
SELECT token_id AS a_token FROM concord.create_api_token('iso-a-alice', '1 day', NULL, 'iso-a-secret-label') \gset
SELECT concord.grant_act_as('iso-a-svc', 'iso-a/main') AS fixture \gset
-- a swarm with a running agent and an artifact of it
SELECT concord.start_swarm(:'a_cmd', '{"name": "iso-a-secret-swarm", "objective": "iso-a-secret-objective",
    "coordinator": {"agent_name": "iso-a-secret-agent", "allowed_tools": ["create_artifact"]}}') AS a_swarm \gset
SELECT coordinator_agent_run_id AS a_agent FROM concord.swarm_runs WHERE swarm_run_id = :'a_swarm' \gset
SELECT concord.begin_agent_run(:'a_agent') IS NOT NULL AS fixture \gset
SELECT concord._create_artifact(r, '{"artifact_type": "report", "name": "iso-a-secret-artifact", "content": 1}')
       ->> 'artifact_id' AS a_artifact
FROM concord.agent_runs AS r WHERE r.agent_run_id = :'a_agent' \gset
-- a registry tool of iso-a: a published version bound to its tenant, and a draft
SELECT concord.create_registry_entity('tool', 'iso_a_secret_tool', 'iso-a-secret-tool', 'iso-a-alice',
                                      organisation => 'iso-a') AS a_entity \gset
SELECT concord.create_registry_version('tool', 'iso_a_secret_tool', '1.0.0',
                                       '{"mode": "sync", "description": "iso-a-secret-contract"}') AS a_version \gset
SELECT concord._registry_publish(:'a_version') IS NOT NULL AS fixture \gset
SELECT concord._registry_bind(:'a_version', 'tenant', 'iso-a', NULL, 'pinned', '{}', 'iso-a-alice') ->> 'binding_id'
    AS a_binding \gset
SELECT concord.create_registry_version('tool', 'iso_a_secret_tool', '1.1.0',
                                       '{"mode": "sync", "description": "iso-a-secret-draft", "output_schema": {}}')
    AS a_draft \gset
SELECT project_id AS a_project FROM concord.projects WHERE name = 'main'
   AND org_id = (SELECT org_id FROM concord.organisations WHERE name = 'iso-a') \gset
RESET concord.project;

-- iso-b's own command, bob's token (the positive controls).
SELECT concord.use_project('iso-b/main') AS fixture \gset
SELECT command_id AS b_cmd FROM concord.submit_command('iso_t', '{"note": "iso-b-own"}', 'iso-b-bob') \gset
SELECT token AS bob_token FROM concord.create_api_token('iso-b-bob', '1 day') \gset
RESET concord.project;

SELECT ok(:'a_cmd' IS NOT NULL AND :'a_approval' IS NOT NULL AND :'a_effect' IS NOT NULL
          AND :'a_memory' IS NOT NULL AND :'a_note' IS NOT NULL AND :'a_token' IS NOT NULL
          AND :'a_swarm' IS NOT NULL AND :'a_agent' IS NOT NULL AND :'a_artifact' IS NOT NULL
          AND :'a_binding' IS NOT NULL AND :'a_draft' IS NOT NULL,
          'fixture: iso-a has a command, an approval, an effect, a memory, a notification, a token, '
          'a swarm, an agent run, an artifact and a bound registry tool with a draft');

CREATE TEMP TABLE a_ids (id uuid, what text);
INSERT INTO a_ids VALUES (:'a_cmd', 'command'), (:'a_gated', 'gated command'), (:'a_approval', 'approval'),
    (:'a_running', 'running command'), (:'a_effect', 'effect'), (:'a_memory', 'memory'),
    (:'a_note', 'notification'), (:'a_token', 'token'), (:'a_project', 'project'),
    (:'a_swarm', 'swarm'), (:'a_agent', 'agent run'), (:'a_artifact', 'artifact'),
    (:'a_entity', 'registry entity'), (:'a_version', 'registry version'), (:'a_draft', 'registry draft'),
    (:'a_binding', 'registry binding'),
    -- the control: an id that exists nowhere
    (gen_random_uuid(), 'nothing');

-- Whatever iso-a owns, as text: any of these in an answer to bob is a leak.
CREATE FUNCTION pg_temp.leaks(answer text)
RETURNS boolean
LANGUAGE sql
AS $$
    SELECT answer ~ 'iso-a|iso_a_secret'
        OR EXISTS (SELECT 1 FROM a_ids WHERE a_ids.what <> 'nothing' AND strpos(answer, a_ids.id::text) > 0)
$$;

-- A checksum of iso-a's rows in every table (read by this superuser session).
CREATE FUNCTION pg_temp.a_checksum()
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    t record;
    rows text;
    acc text := '';
BEGIN
    FOR t IN
        SELECT c.oid::regclass AS tab,
               EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attname = 'command_id') AS by_command,
               EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attname = 'project_id') AS by_project,
               EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attname = 'principal_id') AS by_principal,
               EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = c.oid AND attname = 'entity_id') AS by_entity
        FROM pg_class AS c
        WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind = 'r'
        ORDER BY 1
    LOOP
        IF NOT (t.by_command OR t.by_project OR t.by_principal OR t.by_entity) THEN
            CONTINUE;
        END IF;
        EXECUTE format(
            $q$SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM %s AS x
               WHERE false %s %s %s %s$q$, t.tab,
            CASE WHEN t.by_command THEN format('OR x.command_id IN (SELECT command_id FROM concord.commands
                                                 WHERE project_id = %L)', current_setting('test.a_project')) END,
            CASE WHEN t.by_project THEN format('OR x.project_id = %L', current_setting('test.a_project')) END,
            CASE WHEN t.by_principal THEN 'OR x.principal_id IN (SELECT principal_id FROM concord.principals
                                          WHERE name LIKE ''iso-a%'')' END,
            CASE WHEN t.by_entity THEN 'OR x.entity_id IN (SELECT e.entity_id FROM concord.registry_entities AS e
                                       INNER JOIN concord.organisations AS o ON e.org_id = o.org_id
                                       WHERE o.name = ''iso-a'')' END)
        INTO rows;
        acc := acc || t.tab || ':' || rows || ' ';
    END LOOP;
    RETURN acc;
END
$$;
SELECT set_config('test.a_project', :'a_project', true) AS fixture \gset
SELECT set_config('test.b_cmd', :'b_cmd', true) AS fixture \gset
SELECT pg_temp.a_checksum() AS a_before \gset

-- The views and functions of the API: granted to some application role.
CREATE TEMP VIEW api_views AS
SELECT DISTINCT c.oid::regclass::text AS view_name
FROM pg_class AS c, aclexplode(c.relacl) AS a
WHERE c.relnamespace = 'concord'::regnamespace AND c.relkind IN ('v', 'm')
  AND pg_get_userbyid(a.grantee) IN ('concord_app', 'concord_approver', 'concord_admin', 'concord_reader',
                                     'concord_worker', 'concord_agent');
CREATE TEMP VIEW api_functions AS
SELECT DISTINCT p.oid, p.proname
FROM pg_proc AS p, aclexplode(p.proacl) AS a
-- (not call_command, a procedure: it runs as its caller, through the functions probed here)
WHERE p.pronamespace = 'concord'::regnamespace AND p.prokind <> 'p'
  AND pg_get_userbyid(a.grantee) IN ('concord_app', 'concord_approver', 'concord_admin', 'concord_reader',
                                     'concord_worker', 'concord_agent');

-- A plausible argument for a parameter named arg of type typ, aimed at id.
CREATE FUNCTION pg_temp.argument(arg text, typ regtype, id uuid)
RETURNS text
LANGUAGE sql
AS $$
    SELECT CASE
        WHEN typ = 'uuid'::regtype THEN quote_nullable(id::text) || '::uuid'
        WHEN typ = 'jsonb'::regtype THEN quote_literal(jsonb_build_object(
            'command_id', id, 'approval_id', id, 'effect_id', id, 'memory_id', id, 'agent_run_id', id,
            'artifact_id', id, 'swarm_run_id', id, 'parent_agent_run_id', id, 'notification_id', id,
            'schedule_name', 'iso_a_sched',
            'status', 'cancelled')::text) || '::jsonb'
        WHEN typ = 'timestamptz'::regtype THEN '''2100-01-01''::timestamptz'
        WHEN typ = 'integer'::regtype THEN '10'
        WHEN typ = 'boolean'::regtype THEN 'true'
        WHEN typ = 'interval'::regtype THEN '''1 day''::interval'
        WHEN typ = 'text'::regtype THEN coalesce(quote_literal(CASE arg
            WHEN 'decision' THEN 'approved'
            WHEN 'reason' THEN 'probe'
            WHEN 'status' THEN 'cancelled'
            WHEN 'to_status' THEN 'cancelled'
            WHEN 'required_status' THEN 'running'
            WHEN 'effect_type' THEN 'iso.effect'
            WHEN 'workflow_id' THEN id::text
            WHEN 'executor_id' THEN 'probe'
            WHEN 'error' THEN 'probe'
            WHEN 'error_class' THEN 'transient'
            WHEN 'command_type' THEN 'iso_t'
            WHEN 'project' THEN 'iso-a/main'
            WHEN 'organisation' THEN 'iso-a'
            WHEN 'schedule_name' THEN 'iso_a_sched'
            WHEN 'channel' THEN 'app'
            WHEN 'subject' THEN 'probe'
            WHEN 'body' THEN 'probe'
            WHEN 'event_type' THEN 'probe'
            WHEN 'mode' THEN 'graceful'
        END), 'NULL') || '::text'
        ELSE 'NULL::' || typ::text
    END
$$;

-- Every API call aimed at id: (function, statement, how many uuid arguments
-- it takes). The first uuid argument is id, the others are other (a command of
-- iso-b, say, to tie iso-b's rows to iso-a's).
CREATE FUNCTION pg_temp.calls(id uuid, other uuid)
RETURNS TABLE (fn text, statement text, uuids integer)
LANGUAGE plpgsql
AS $$
DECLARE
    f record;
    arg record;
    args text [];
BEGIN
    FOR f IN SELECT a.oid, a.proname, p.proallargtypes, p.proargtypes, p.proargnames, p.proargmodes
             FROM api_functions AS a JOIN pg_proc AS p ON p.oid = a.oid LOOP
        args := '{}';
        uuids := 0;
        FOR arg IN
            SELECT x.ty, x.name
            FROM unnest(coalesce(f.proallargtypes, f.proargtypes::oid []), f.proargnames, f.proargmodes)
                 WITH ORDINALITY AS x (ty, name, mode, i)
            WHERE coalesce(x.mode, 'i') IN ('i', 'b')
            ORDER BY x.i
        LOOP
            args := args || pg_temp.argument(arg.name, arg.ty::regtype,
                                             CASE WHEN arg.ty = 'uuid'::regtype AND uuids > 0 THEN other ELSE id END);
            uuids := uuids + (arg.ty = 'uuid'::regtype)::integer;
        END LOOP;
        fn := f.oid::regprocedure::text;
        statement := format('SELECT coalesce(string_agg(r::text, '' ''), '''') FROM concord.%I(%s) AS r',
                            f.proname, array_to_string(args, ', '));
        RETURN NEXT;
    END LOOP;
END
$$;

CREATE TEMP TABLE outcomes (pass text, kind text, target text, aimed_at text, shape text, sqlstate text, answer text);
GRANT ALL ON outcomes TO PUBLIC;

-- Run every view and every call as the login labelled label.
CREATE FUNCTION pg_temp.probe(label text)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    v record;
    c record;
    answer text;
    state text;
    n integer := 0;
BEGIN
    FOR v IN SELECT view_name FROM api_views ORDER BY 1 LOOP
        EXECUTE format('SET SESSION AUTHORIZATION %I', pg_temp.login(label));
        BEGIN
            EXECUTE format('SELECT coalesce(string_agg(v::text, '' ''), '''') FROM %s AS v', v.view_name) INTO answer;
            state := 'ok';
        EXCEPTION WHEN OTHERS THEN
            state := SQLSTATE;
            answer := SQLERRM;
        END;
        RESET SESSION AUTHORIZATION;
        INSERT INTO outcomes VALUES (label, 'view', v.view_name, NULL, NULL, state, answer);
        n := n + 1;
    END LOOP;
    FOR c IN
        SELECT i.what, 'alone' AS shape, k.fn, k.statement FROM a_ids AS i, pg_temp.calls(i.id, i.id) AS k
        UNION ALL
        -- iso-a's row first and iso-b's after, and the other way round
        SELECT i.what, 'before iso-b''s command', k.fn, k.statement
        FROM a_ids AS i, pg_temp.calls(i.id, current_setting('test.b_cmd')::uuid) AS k WHERE k.uuids > 1
        UNION ALL
        SELECT i.what, 'after iso-b''s command', k.fn, k.statement
        FROM a_ids AS i, pg_temp.calls(current_setting('test.b_cmd')::uuid, i.id) AS k WHERE k.uuids > 1
        ORDER BY 3, 2, 1
    LOOP
        EXECUTE format('SET SESSION AUTHORIZATION %I', pg_temp.login(label));
        BEGIN
            EXECUTE c.statement INTO answer;
            state := 'ok';
        EXCEPTION WHEN OTHERS THEN
            state := SQLSTATE;
            answer := SQLERRM;
        END;
        RESET SESSION AUTHORIZATION;
        -- a successful call may have chosen a project or authenticated: forget it
        PERFORM set_config('concord.project', '', false);
        INSERT INTO outcomes VALUES (label, 'function', c.fn, c.what, c.shape, state, answer);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- ===========================================================================
-- As bob's login (every role but concord_worker)
-- ===========================================================================
SELECT cmp_ok(pg_temp.probe('b_all'), '>', 500, 'bob''s login made over 500 attempts (views and aimed calls)');
SELECT set_config('concord.credential', '', true) AS fixture \gset

-- ===========================================================================
-- As a login holding every role, concord_worker included, with bob's token
-- ===========================================================================
SELECT set_config('concord.credential', :'bob_token', true) AS fixture \gset
SELECT cmp_ok(pg_temp.probe('b_worker'), '>', 500, 'the token-authenticated worker login made over 500 attempts');
SELECT set_config('concord.credential', '', true) AS fixture \gset

-- ===========================================================================
-- What the attempts show
-- ===========================================================================
SELECT cmp_ok((SELECT count(*) FROM api_views)::integer, '>=', 20, 'the API has at least 20 views to look through');
SELECT cmp_ok((SELECT count(*) FROM api_functions)::integer, '>=', 80, 'the API has at least 80 functions to call');

SELECT is_empty($$SELECT pass || ': ' || target FROM outcomes WHERE kind = 'view' AND sqlstate = 'ok' AND pg_temp.leaks(answer)$$,
                'no view shows bob anything of iso-a');
SELECT is_empty($$SELECT pass || ': ' || target || ': ' || sqlstate FROM outcomes
                  WHERE kind = 'view' AND sqlstate <> 'ok' AND sqlstate <> '42501'$$,
                'every view bob may not read refuses with permission denied, nothing else');
SELECT is_empty($$SELECT pass || ': ' || target || ' on ' || aimed_at || ' answered ' || left(answer, 200)
                  FROM outcomes WHERE kind = 'function' AND sqlstate = 'ok' AND pg_temp.leaks(answer)
                    -- an immutable function reads no row: it can only echo its arguments back
                    AND NOT EXISTS (SELECT 1 FROM pg_proc AS p
                                    WHERE p.oid::regprocedure::text = outcomes.target AND p.provolatile = 'i')$$,
                'no function called by bob with iso-a''s ids answers anything of iso-a');
SELECT is_empty($$SELECT o.pass || ': ' || o.target || ' on ' || o.aimed_at || ' ' || o.shape || ': '
                         || o.sqlstate || ' ' || left(o.answer, 200) || ' / on nothing: ' || n.sqlstate
                  FROM outcomes AS o
                  JOIN outcomes AS n ON n.pass = o.pass AND n.kind = o.kind AND n.target = o.target
                                    AND n.shape = o.shape AND n.aimed_at = 'nothing'
                  WHERE o.kind = 'function' AND o.sqlstate <> n.sqlstate
                  ORDER BY 1$$,
                'every call on an id of iso-a is answered as the same call on an id that exists nowhere');
SELECT is_empty($$SELECT pass || ': ' || target || ' on ' || aimed_at || ': ' || sqlstate || ' ' || left(answer, 200)
                  FROM outcomes
                  WHERE kind = 'function' AND aimed_at <> 'nothing' AND sqlstate IN ('CN011', 'CN013', 'CN014', 'CN002')
                  ORDER BY 1$$,
                'no refusal of a call on iso-a''s ids speaks of its state (wrong state, decided, expired, conflict)');
SELECT is_empty($$SELECT DISTINCT pass || ': ' || target || ': ' || sqlstate || ' ' || left(answer, 200)
                  FROM outcomes
                  WHERE kind = 'function' AND sqlstate <> 'ok' AND sqlstate NOT LIKE 'CN%'
                    AND sqlstate NOT IN ('42501')
                  ORDER BY 1$$,
                'every other refusal is permission denied, never a raw error');
SELECT is_empty($$SELECT pass || ': ' || target || ' on ' || aimed_at || ': ' || left(answer, 200) FROM outcomes
                  WHERE kind = 'function' AND sqlstate <> 'ok' AND answer ~ 'iso-a-(alice|ann|secret)|iso_a_secret'$$,
                'no refusal message names iso-a''s people or repeats its data');
SELECT is(pg_temp.a_checksum(), :'a_before', 'iso-a''s rows are unchanged after every call');
SELECT is((SELECT status FROM concord.approvals WHERE approval_id = :'a_approval'), 'pending',
          'iso-a''s approval is still pending');

-- Positive controls: bob does see iso-b's own data through the same paths.
SELECT ok((SELECT bool_or(answer LIKE '%' || :'b_cmd' || '%') FROM outcomes
           WHERE pass = 'b_all' AND kind = 'view' AND target = 'concord.command_audit'),
          'bob''s login sees iso-b''s command in command_audit');
SELECT ok((SELECT bool_or(answer LIKE '%' || :'b_cmd' || '%') FROM outcomes
           WHERE pass = 'b_worker' AND kind = 'view' AND target = 'concord.command_audit'),
          'the token-authenticated worker login sees iso-b''s command too');
SELECT ok((SELECT bool_or(answer LIKE '%iso-b/main%') FROM outcomes
           WHERE pass = 'b_all' AND kind = 'view' AND target = 'concord.my_projects'),
          'bob''s login lists iso-b/main in my_projects');
SELECT ok(pg_temp.leaks((SELECT string_agg(v::text, ' ') FROM concord.command_audit AS v)),
          'the leak detector is live: this superuser session does see iso-a in command_audit');

SELECT * FROM finish();
ROLLBACK;
