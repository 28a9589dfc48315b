-- The command API besides submission: transitions, cancellation, reads.

CREATE OR REPLACE FUNCTION concord.transition_command(
    command_id uuid,
    to_status text,
    actor text,
    reason text DEFAULT NULL,
    result jsonb DEFAULT NULL,
    error text DEFAULT NULL,
    error_class text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
#variable_conflict use_variable
DECLARE
    c concord.commands%ROWTYPE;
    last_actor text;
BEGIN
    PERFORM concord._known_status('to_status', to_status);
    PERFORM concord._known_error_class(error_class);
    -- The actor is an assertion (DESIGN "Who is speaking"): a principal names
    -- itself (or whom it acts for) and administers the command's project; an
    -- operator's login that speaks for no principal is recorded as itself; a
    -- superuser names anyone.
    IF concord._principal() IS NOT NULL OR coalesce(current_setting('concord.credential', true), '') <> '' THEN
        actor := concord._acting_on_command(actor, command_id, ARRAY['owner', 'admin']);
    ELSIF NOT concord._session_is_superuser() THEN
        IF nullif(btrim(actor), '') IS NOT NULL AND actor IS DISTINCT FROM session_user::text THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN012',
                CONSTRAINT = 'acting_for_another_needs_a_grant',
                MESSAGE = format('login %s speaks for no principal and may not name %s as the actor', session_user,
                                 actor),
                HINT = 'Pass your login''s name (or NULL), or authenticate as a principal.';
        END IF;
        actor := session_user::text;
    END IF;
    PERFORM concord._require('actor', actor);
    c := concord._lock_command(command_id);
    IF c.status = to_status THEN
        -- Only the actor who made this move may repeat it (a runtime step may
        -- run twice): the same outcome again is a no-op, a different one is
        -- refused, nothing is rewritten unaudited. Anyone else is too late.
        SELECT e.actor INTO last_actor
        FROM concord.domain_events AS e
        WHERE e.command_id = c.command_id AND e.to_status = c.status
          AND e.event_type IN ('command_status_changed', 'command_created')
        ORDER BY e.event_seq DESC
        LIMIT 1;
        IF last_actor IS DISTINCT FROM actor THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                CONSTRAINT = 'a_move_is_repeated_only_by_its_actor',
                MESSAGE = format('illegal transition: command %s is already %s', command_id, c.status),
                DETAIL = format('%s moved it there; only that actor may repeat the move.',
                                coalesce(last_actor, 'an unrecorded actor'));
        END IF;
        IF (result IS NOT NULL AND result IS DISTINCT FROM c.result)
           OR (error IS NOT NULL AND error IS DISTINCT FROM c.error)
           OR (error_class IS NOT NULL AND error_class IS DISTINCT FROM c.error_class) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN002',
                CONSTRAINT = 'a_reached_status_keeps_its_outcome',
                MESSAGE = format('command %s is already %s with a different outcome', command_id, c.status),
                HINT = 'A status is reached once; its result and error are not rewritten.';
        END IF;
        RETURN c.status;
    END IF;
    RETURN concord._set_status(command_id, to_status, actor, reason, result, error, error_class);
END
$$;

COMMENT ON FUNCTION concord.transition_command(uuid, text, text, text, jsonb, text, text) IS
'An operator''s move: a command to to_status if the state machine allows it (CN001 '
'otherwise); returns the new status. The moves only a command''s run makes (into running, '
'its outcome, its cancellation and compensation path) are refused (CN012). The actor who '
'reached the current status may repeat the call as a no-op; anyone else gets CN001. actor is '
'an assertion: a principal names itself (or NULL, or whom an act-as grant lets it name) and must '
'be an owner or admin of the command''s project; a login speaking for no principal (an operator) '
'is recorded as itself; a superuser names anyone (CN012 otherwise).';

CREATE OR REPLACE FUNCTION concord.cancel_command(
    command_id uuid,
    actor text,
    reason text DEFAULT NULL,
    mode text DEFAULT NULL
)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    actor := concord._acting_on_command(actor, command_id, ARRAY['owner', 'admin', 'member']);
    RETURN concord._cancel(command_id, actor, reason, mode);
END
$$;

COMMENT ON FUNCTION concord.cancel_command(uuid, text, text, text) IS
'Cancel a command (spec 30): at once if not started, via cancelling if running; '
'returns the resulting status.';

CREATE OR REPLACE FUNCTION concord.get_command(command_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    doc jsonb;
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    SELECT to_jsonb(c) || jsonb_build_object(
        'dependencies_satisfied', concord._unmet_dependencies(c.command_id) IS NULL,
        'allowed_next_statuses', coalesce((
            SELECT jsonb_agg(t.to_status ORDER BY t.to_status)
            FROM concord.command_transitions AS t WHERE t.from_status = c.status), '[]'),
        'dependencies', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'parent_command_id', d.parent_command_id,
                'required_status', d.required_status,
                'propagate_cancellation', d.propagate_cancellation,
                'parent_status', p.status,
                'satisfied', p.status = d.required_status) ORDER BY d.created_at, d.parent_command_id)
            FROM concord.command_dependencies AS d
            INNER JOIN concord.commands AS p ON p.command_id = d.parent_command_id
            WHERE d.child_command_id = c.command_id), '[]'),
        'dependents', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'child_command_id', d.child_command_id,
                'required_status', d.required_status,
                'child_status', ch.status) ORDER BY d.created_at, d.child_command_id)
            FROM concord.command_dependencies AS d
            INNER JOIN concord.commands AS ch ON ch.command_id = d.child_command_id
            WHERE d.parent_command_id = c.command_id), '[]'),
        'effects', coalesce((
            SELECT jsonb_agg(to_jsonb(e) ORDER BY e.created_at, e.domain_effect_id)
            FROM concord.domain_effects AS e WHERE e.command_id = c.command_id), '[]'))
    INTO doc
    FROM concord.commands AS c
    WHERE c.command_id = get_command.command_id;
    IF doc IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_command_exists',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    RETURN doc;
END
$$;

COMMENT ON FUNCTION concord.get_command(uuid) IS
'The command as JSON, with its dependencies, dependents, effects and allowed next statuses.';

CREATE OR REPLACE FUNCTION concord.command_timeline(command_id uuid)
RETURNS TABLE (
    event_seq bigint,
    created_at timestamptz,
    purpose text,
    event_type text,
    actor text,
    from_status text,
    to_status text,
    reason text,
    target_type text,
    target_id text,
    payload jsonb
)
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
#variable_conflict use_variable
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    IF NOT EXISTS (SELECT 1 FROM concord.commands AS c WHERE c.command_id = command_timeline.command_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_command_exists',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    RETURN QUERY
    SELECT e.event_seq, e.created_at, e.purpose, e.event_type, e.actor, e.from_status,
           e.to_status, e.reason, e.target_type, e.target_id, e.payload
    FROM concord.domain_events AS e
    WHERE e.command_id = command_timeline.command_id
    ORDER BY e.event_seq;
END
$$;

COMMENT ON FUNCTION concord.command_timeline(uuid) IS
'Every event of a command, in the order it happened.';
