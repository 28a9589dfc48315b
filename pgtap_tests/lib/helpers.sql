-- Helpers shared by the pgTAP files (pgtap_tests/*.sql), in schema concord_test.
-- tests/harness/pgtap.sh loads this file once into the test database, after
-- CREATE EXTENSION pgtap and before pg_prove runs; it can be loaded again.
--
-- Every test file runs in one transaction that it rolls back, so what a file
-- writes here, like everything else it writes, is gone when it ends.
SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS concord_test;
-- Concord's functions run as concord_owner: the policies and helpers tests put
-- here must be usable by it, as a user's would be.
GRANT USAGE ON SCHEMA concord_test TO concord_owner;

-- Labelled fixtures: the ids a test file made, under the names it gave them.
-- A label is unique per session (backend), so files run side by side do not
-- wait on each other's labels.
CREATE TABLE IF NOT EXISTS concord_test.fixture (
    label text NOT NULL,
    id uuid,
    backend integer NOT NULL DEFAULT pg_backend_pid(),
    PRIMARY KEY (backend, label)
);

-- The id remembered as label.
CREATE OR REPLACE FUNCTION concord_test.id(label text)
RETURNS uuid
LANGUAGE sql
STABLE
AS $$
    SELECT f.id FROM concord_test.fixture AS f
    WHERE f.label = id.label AND f.backend = pg_backend_pid()
$$;

-- The status of the command remembered as label.
CREATE OR REPLACE FUNCTION concord_test.status(label text)
RETURNS text
LANGUAGE sql
STABLE
AS $$
    SELECT c.status FROM concord.commands AS c WHERE c.command_id = concord_test.id(status.label)
$$;

-- The command remembered as label, whole.
CREATE OR REPLACE FUNCTION concord_test.command(label text)
RETURNS concord.commands
LANGUAGE sql
-- volatile: sees what the calling statement has just written
AS $$
    SELECT c.* FROM concord.commands AS c WHERE c.command_id = concord_test.id(command.label)
$$;

-- Submit a command of command_type through concord.submit_command, remember
-- it as label, return its status.
CREATE OR REPLACE FUNCTION concord_test.submit(
    label text, command_type text, payload jsonb DEFAULT '{}', requested_by text DEFAULT 'req',
    context jsonb DEFAULT '{}'
)
RETURNS text
LANGUAGE sql
AS $$
    INSERT INTO concord_test.fixture (label, id)
    SELECT submit.label, s.command_id
    FROM concord.submit_command(submit.command_type, submit.payload, submit.requested_by, 'api', submit.context) AS s;
    SELECT concord_test.status(submit.label);
$$;

-- The DETAIL of the error sql raises (NULL when it raises none).
CREATE OR REPLACE FUNCTION concord_test.error_detail(sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    detail text;
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
    RETURN detail;
END
$$;

-- The (only, or latest; a pending one first) approval of the command
-- remembered as label, of approval_type when given, and its id.
CREATE OR REPLACE FUNCTION concord_test.approval(label text, approval_type text DEFAULT NULL)
RETURNS concord.approvals
LANGUAGE sql
-- volatile: sees what the calling statement has just written
AS $$
    SELECT a.* FROM concord.approvals AS a
    WHERE a.command_id = concord_test.id(approval.label)
      AND (approval.approval_type IS NULL OR a.approval_type = approval.approval_type)
    ORDER BY a.created_at DESC, (a.status = 'pending') DESC
    LIMIT 1
$$;

CREATE OR REPLACE FUNCTION concord_test.approval_id(label text, approval_type text DEFAULT NULL)
RETURNS uuid
LANGUAGE sql
-- volatile: sees what the calling statement has just written
AS $$ SELECT (concord_test.approval(approval_id.label, approval_id.approval_type)).approval_id $$;

-- A command of command_type, inserted directly as created and walked to status
-- target with transition_command (actor 'fixture'); remembered as label when
-- one is given. cancellation_mode defaults to the type's default. compensating
-- and compensated are reached through a cancellation when the command's mode
-- is compensate_then_stop, else through a failure. It runs as a worker runs
-- it: queued, then claimed by its workflow (executor 'fixture'); the moves
-- only its run makes are made as that run (concord_test.move_as_run).
CREATE OR REPLACE FUNCTION concord_test.command_at(
    command_type text,
    target text,
    label text DEFAULT NULL,
    cancellation_mode text DEFAULT NULL
)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    id uuid;
    mode text;
    step text;
    path text[];
BEGIN
    INSERT INTO concord.commands (command_type, requested_by, ingress, cancellation_mode)
    SELECT t.command_type, 'fixture', 'test',
           coalesce(command_at.cancellation_mode, t.default_cancellation_mode)
    FROM concord.command_types AS t WHERE t.command_type = command_at.command_type
    RETURNING commands.command_id, commands.cancellation_mode INTO id, mode;
    IF id IS NULL THEN
        RAISE EXCEPTION 'fixture: unknown command type %', command_at.command_type;
    END IF;
    path := CASE target
        WHEN 'created' THEN '{}'
        WHEN 'validated' THEN '{validated}'
        WHEN 'waiting_for_input' THEN '{validated,waiting_for_input}'
        WHEN 'waiting_for_approval' THEN '{validated,waiting_for_approval}'
        WHEN 'approved' THEN '{validated,waiting_for_approval,approved}'
        WHEN 'queued' THEN '{validated,queued}'
        WHEN 'running' THEN '{validated,queued,running}'
        WHEN 'blocked' THEN '{validated,queued,running,blocked}'
        WHEN 'succeeded' THEN '{validated,queued,running,succeeded}'
        WHEN 'failed' THEN '{validated,queued,running,failed}'
        WHEN 'cancelling' THEN '{validated,queued,running,cancelling}'
        WHEN 'cancelled' THEN '{cancelled}'
        WHEN 'expired' THEN '{validated,waiting_for_input,expired}'
        WHEN 'compensating' THEN CASE WHEN mode = 'compensate_then_stop'
            THEN '{validated,queued,running,cancelling,compensating}'
            ELSE '{validated,queued,running,failed,compensating}' END
        WHEN 'compensated' THEN CASE WHEN mode = 'compensate_then_stop'
            THEN '{validated,queued,running,cancelling,compensating,compensated}'
            ELSE '{validated,queued,running,failed,compensating,compensated}' END
    END;
    IF path IS NULL THEN
        RAISE EXCEPTION 'fixture: no path to %', target;
    END IF;
    FOREACH step IN ARRAY path LOOP
        IF step = 'running' THEN
            PERFORM concord.runtime_claim(id, (SELECT c.dbos_workflow_id FROM concord.commands AS c
                                               WHERE c.command_id = id), 'fixture');
        ELSIF step IN ('succeeded', 'compensated') OR (step = 'failed' AND 'running' = ANY (path))
              OR (step = 'compensating') OR (step = 'cancelled' AND 'cancelling' = ANY (path)) THEN
            PERFORM concord_test.move_as_run(id, step);
        ELSE
            PERFORM concord.transition_command(id, step, 'fixture');
        END IF;
    END LOOP;
    IF label IS NOT NULL THEN
        INSERT INTO concord_test.fixture (label, id) VALUES (command_at.label, id);
    END IF;
    RETURN id;
END
$$;

-- transition_command, made as the command's current run (its workflow, or the
-- kernel's inline run when it has none): the moves only a run makes (into
-- running, an outcome, the cancellation and compensation path) as a worker
-- step makes them. Naming the acting run (concord.worker_run) and calling the
-- private _set_status is the table owner's: the fixture stands in for the
-- worker. A command already at to_status is left to transition_command.
CREATE OR REPLACE FUNCTION concord_test.move_as_run(
    command_id uuid, to_status text, actor text DEFAULT 'fixture', reason text DEFAULT NULL,
    result jsonb DEFAULT NULL, error text DEFAULT NULL, error_class text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    c concord.commands%ROWTYPE;
    new_status text;
BEGIN
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = move_as_run.command_id;
    IF c.status IS NULL OR c.status = to_status THEN
        RETURN concord.transition_command(command_id, to_status, actor, reason, result, error, error_class);
    END IF;
    PERFORM concord._known_status('to_status', to_status);
    PERFORM concord._known_error_class(error_class);
    PERFORM set_config('concord.worker_run', coalesce(c.dbos_workflow_id, 'kernel:' || c.command_id), true);
    new_status := concord._set_status(command_id, to_status, actor, reason, result, error, error_class);
    PERFORM set_config('concord.worker_run', '', true);
    RETURN new_status;
END
$$;

-- Runs the command remembered as label as a worker does: queued (by an
-- operator, 'op') unless it is, then claimed by its current workflow
-- (executor 'fixture'). Returns its workflow id, for start_effect.
CREATE OR REPLACE FUNCTION concord_test.run(label text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    c concord.commands%ROWTYPE := concord_test.command(label);
BEGIN
    IF c.status <> 'queued' THEN
        PERFORM concord.transition_command(c.command_id, 'queued', 'op');
        c := concord_test.command(label);
    END IF;
    PERFORM concord.runtime_claim(c.command_id, c.dbos_workflow_id, 'fixture');
    RETURN c.dbos_workflow_id;
END
$$;

-- One test: statement is refused with SQLSTATE errcode by the rule named rule
-- (the CONSTRAINT of its RAISE, or the CHECK constraint's name). The refusal
-- is caught in a subtransaction, so the file goes on.
CREATE OR REPLACE FUNCTION concord_test.throws_rule(
    statement text, errcode text, rule text, description text DEFAULT null
)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    got_state text;
    got_rule text;
    got_message text;
    what text := coalesce(description, format('refused by rule %s (%s)', rule, errcode));
BEGIN
    BEGIN
        EXECUTE statement;
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS got_state = RETURNED_SQLSTATE, got_rule = CONSTRAINT_NAME,
                                got_message = MESSAGE_TEXT;
        IF got_state = errcode AND got_rule = rule THEN
            RETURN ok(true, what);
        END IF;
        RETURN ok(false, what) || E'\n' || diag(format(
            '    raised: %s, rule %s: %s%s    wanted: %s, rule %s',
            got_state, coalesce(nullif(got_rule, ''), '(none)'), got_message, E'\n', errcode, rule));
    END;
    RETURN ok(false, what) || E'\n' || diag('    no error was raised');
END
$$;

-- The approval types, policies, command types and team the approval files
-- share: t_people asks at_people (ann, ben and req) above an amount of 100,
-- t_team asks team:travel (tom and req), t_cancel cancels on rejection, t_two
-- allows approved and rejected only, t_fields needs hotel_name and
-- total_price, t_path finds its approver in the context, t_short expires in
-- 30 minutes, t_multi asks at_people and at_team, t_schema needs the input name.
CREATE OR REPLACE FUNCTION concord_test.approval_fixtures()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM concord.register_approval_type(
        '{"name": "at_people", "version": "1.0.0", "description": "named approvers",
          "approver": {"principals": ["ann", "ben", "req"]}, "expiration": {"default_minutes": 120},
          "decision_values": ["approved", "rejected", "request_changes"],
          "resume": {"on_approved": "continue_workflow", "on_rejected": "fail", "on_request_changes": "request_input"}}');
    PERFORM concord.register_approval_type('{"name": "at_team", "approver": {"team": "team:travel"}}');
    PERFORM concord.register_approval_type(
        '{"name": "at_cancel", "approver": {"principals": ["ann"]}, "resume": {"on_rejected": "cancel"}}');
    PERFORM concord.register_approval_type(
        '{"name": "at_two", "approver": {"principals": ["ann"]}, "decision_values": ["approved", "rejected"]}');
    PERFORM concord.register_approval_type(
        '{"name": "at_fields", "approver": {"principals": ["ann"]}, "required_fields": ["hotel_name", "total_price"]}');
    PERFORM concord.register_approval_type('{"name": "at_path", "approver": {"path": "$.context.manager"}}');
    PERFORM concord.register_approval_type(
        '{"name": "at_short", "approver": {"principals": ["ann"]}, "expiration": {"default_minutes": 30}}');

    PERFORM concord.register_policy(
        '{"name": "pa_people", "predicate": "$.payload.amount > 100", "decision": "require_approval",
          "approval_type": "at_people", "reasons": ["amount above 100"]}');
    PERFORM concord.register_policy(
        '{"name": "pa_team", "predicate": "true", "decision": "require_approval", "approval_type": "at_team"}');
    PERFORM concord.register_policy(
        '{"name": "pa_cancel", "predicate": "true", "decision": "require_approval", "approval_type": "at_cancel"}');
    PERFORM concord.register_policy(
        '{"name": "pa_two", "predicate": "true", "decision": "require_approval", "approval_type": "at_two"}');
    PERFORM concord.register_policy(
        '{"name": "pa_fields", "predicate": "true", "decision": "require_approval", "approval_type": "at_fields"}');
    PERFORM concord.register_policy(
        '{"name": "pa_path", "predicate": "true", "decision": "require_approval", "approval_type": "at_path"}');
    PERFORM concord.register_policy(
        '{"name": "pa_short", "predicate": "true", "decision": "require_approval", "approval_type": "at_short"}');

    PERFORM concord.register_command_type('{"command_type": "t_people", "policy_checks": ["pa_people"]}');
    PERFORM concord.register_command_type('{"command_type": "t_team", "policy_checks": ["pa_team"]}');
    PERFORM concord.register_command_type('{"command_type": "t_cancel", "policy_checks": ["pa_cancel"]}');
    PERFORM concord.register_command_type('{"command_type": "t_two", "policy_checks": ["pa_two"]}');
    PERFORM concord.register_command_type('{"command_type": "t_fields", "policy_checks": ["pa_fields"]}');
    PERFORM concord.register_command_type('{"command_type": "t_path", "policy_checks": ["pa_path"]}');
    PERFORM concord.register_command_type('{"command_type": "t_short", "policy_checks": ["pa_short"]}');
    PERFORM concord.register_command_type('{"command_type": "t_multi", "policy_checks": ["pa_people", "pa_team"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "t_schema", "required_inputs": ["name"], "policy_checks": ["required_inputs"],
          "payload_schema": {"type": "object", "properties": {"count": {"type": "integer"}}}}');
    PERFORM concord.add_team_member('team:travel', 'tom');
    PERFORM concord.add_team_member('team:travel', 'req');
END
$$;

-- The command types, approval type and policies the runtime files share:
-- rt_async (asynchronous), rt_ops and rt_ops2 (for operations), rt_sync
-- (synchronous), rt_comp (compensate_then_stop), and rt_gov, governed by
-- rt_gate (approval by ann), rt_deny and rt_ask.
CREATE OR REPLACE FUNCTION concord_test.runtime_fixtures()
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM concord.register_command_type('{"command_type": "rt_async"}');
    PERFORM concord.register_command_type('{"command_type": "rt_ops"}');
    PERFORM concord.register_command_type('{"command_type": "rt_ops2"}');
    PERFORM concord.register_command_type('{"command_type": "rt_sync", "sync_allowed": true}');
    PERFORM concord.register_command_type(
        '{"command_type": "rt_comp", "default_cancellation_mode": "compensate_then_stop"}');
    PERFORM concord.register_approval_type('{"name": "rt_at", "approver": {"principals": ["ann"]}}');
    PERFORM concord.register_policy(
        '{"name": "rt_gate", "predicate": "$.payload.gate == true", "decision": "require_approval",
          "approval_type": "rt_at"}');
    PERFORM concord.register_policy(
        '{"name": "rt_deny", "predicate": "$.payload.deny == true", "decision": "deny", "reasons": ["no"]}');
    PERFORM concord.register_policy(
        '{"name": "rt_ask", "predicate": "$.payload.ask == true", "decision": "require_input",
          "missing_fields": ["more"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "rt_gov", "policy_checks": ["rt_gate", "rt_deny", "rt_ask"],
          "payload_schema": {"type": "object", "properties": {"n": {"type": "integer"}}}}');
END
$$;

-- The workflow id of run n of the command remembered as label (written out
-- here, not taken from the code under test).
CREATE OR REPLACE FUNCTION concord_test.workflow_of(label text, run integer DEFAULT 1)
RETURNS text
LANGUAGE sql
AS $$
    SELECT CASE WHEN run = 1 THEN concord_test.id(label)::text ELSE concord_test.id(label)::text || '/' || run END
$$;

-- DBOS's status of a workflow (NULL when DBOS has no such workflow).
CREATE OR REPLACE FUNCTION concord_test.dbos_status(workflow_id text)
RETURNS text
LANGUAGE sql
AS $$ SELECT w.status FROM dbos.workflow_status AS w WHERE w.workflow_uuid = workflow_id $$;

-- How many DBOS workflows exist for the command remembered as label (every run).
CREATE OR REPLACE FUNCTION concord_test.dbos_rows(label text)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT count(*) FROM dbos.workflow_status AS w
    WHERE w.workflow_uuid = concord_test.id(label)::text
       OR w.workflow_uuid LIKE concord_test.id(label)::text || '/%'
$$;

-- How many audit events of event_type the command remembered as label has.
CREATE OR REPLACE FUNCTION concord_test.event_count(label text, event_type text)
RETURNS bigint
LANGUAGE sql
AS $$
    SELECT count(*) FROM concord.domain_events AS e
    WHERE e.command_id = concord_test.id(label) AND e.event_type = event_count.event_type
$$;

-- The binding of the command remembered as label.
CREATE OR REPLACE FUNCTION concord_test.binding(label text)
RETURNS TABLE (dbos_workflow_id text, run_seq integer, queue_name text)
LANGUAGE sql
AS $$
    SELECT c.dbos_workflow_id, c.run_seq, c.queue_name FROM concord.commands AS c
    WHERE c.command_id = concord_test.id(label)
$$;

-- runtime_claim by run n of the command remembered as label.
CREATE OR REPLACE FUNCTION concord_test.claim(
    label text, run integer DEFAULT 1, executor text DEFAULT 'ex1'
)
RETURNS jsonb
LANGUAGE sql
AS $$
    SELECT concord.runtime_claim(concord_test.id(label), concord_test.workflow_of(label, run), executor)
$$;

-- Remember an id under a label (for commands not made by concord_test.submit).
CREATE OR REPLACE FUNCTION concord_test.remember(label text, id uuid)
RETURNS uuid
LANGUAGE sql
AS $$ INSERT INTO concord_test.fixture (label, id) VALUES (label, id) RETURNING id $$;

-- Run sql as role; 'ok' or the SQLSTATE it raised.
CREATE OR REPLACE FUNCTION concord_test.outcome_as(role name, sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    outcome text;
BEGIN
    EXECUTE format('SET LOCAL ROLE %I', role);
    BEGIN
        EXECUTE sql;
        outcome := 'ok';
    EXCEPTION WHEN OTHERS THEN
        outcome := SQLSTATE;
    END;
    RESET ROLE;
    RETURN outcome;
END
$$;

-- Run sql while the dbos schema is hidden; 'ok' or the SQLSTATE it raised.
CREATE OR REPLACE FUNCTION concord_test.without_dbos(sql text)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    outcome text;
BEGIN
    ALTER SCHEMA dbos RENAME TO dbos_hidden_by_a_test;
    BEGIN
        EXECUTE sql;
        outcome := 'ok';
    EXCEPTION WHEN OTHERS THEN
        outcome := SQLSTATE;
    END;
    ALTER SCHEMA dbos_hidden_by_a_test RENAME TO dbos;
    RETURN outcome;
END
$$;

-- A catalog row (command_types, policies, approval_types, tools, connectors)
-- changes only as the projection of a new registry version bound globally:
-- the version bound now with changes applied (a null removes a field), made,
-- published and bound as register_* does it. Returns the new version's id.
-- With a scope other than global, the version is bound there instead (the
-- catalog row stays the global version's).
CREATE OR REPLACE FUNCTION concord_test.new_catalog_version(
    entity_type text, name text, changes jsonb, scope text DEFAULT 'global', target text DEFAULT '*'
)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    e concord.registry_entities%ROWTYPE;
    latest concord.registry_versions%ROWTYPE;
    doc jsonb;
    number text;
    made uuid;
BEGIN
    SELECT * INTO STRICT e FROM concord.registry_entities AS x
    WHERE x.entity_type = new_catalog_version.entity_type AND x.name = new_catalog_version.name;
    doc := concord._registry_without_nulls(
        ((concord._registry_global_version(e.entity_id)).manifest - 'version') || changes);
    IF scope = 'global' THEN
        RETURN concord._registry_shorthand(entity_type, name, doc, e.org_id, session_user::text);
    END IF;
    latest := concord._registry_latest_published(e.entity_id);
    number := concord._registry_next_version(e.entity_id, latest.version::text, concord.registry_classify_change(
        entity_type, latest.manifest, doc || jsonb_build_object('version', latest.version::text)) ->> 'change_class');
    made := concord._registry_create_version(e, number, doc || jsonb_build_object('version', number), '[]',
                                             session_user::text);
    PERFORM concord._registry_legacy_edges_are_optional(made);
    PERFORM concord._registry_publish(made);
    PERFORM concord._registry_bind(made, scope, target, NULL, 'pinned', '{}', session_user::text);
    RETURN made;
END
$$;
