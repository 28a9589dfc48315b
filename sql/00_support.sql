-- Support: who is acting, trace ids, and the one way audit rows are written.
-- Private helpers start with an underscore and are not granted to any role.

-- The actor of the current change: set by the API functions for the span of
-- one change (concord.actor), else the login role — so a direct UPDATE by
-- the table owner is still attributed.
CREATE OR REPLACE FUNCTION concord._actor(fallback text DEFAULT null)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN coalesce(
        nullif(current_setting('concord.actor', true), ''),
        nullif(fallback, ''),
        session_user::text
    );
END
$$;

-- Helpers called on every change are PL/pgSQL, not SQL: a SQL function that
-- is not inlined is planned again on every call.
CREATE OR REPLACE FUNCTION concord._new_trace_id()
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN 'trace_' || replace(gen_random_uuid()::text, '-', '');
END
$$;

-- Transaction-local settings carry context from the API to the triggers:
-- concord.actor and concord.reason (who and why, for audit rows),
-- concord.submitting (the insert trigger validates and routes a submission)
-- and concord.settling (a dependency cascade is under way). Every SECURITY
-- DEFINER API function resets all four on entry (SET clauses), so a caller
-- cannot forge an actor or switch a rule off through its own session.

-- Sets actor and reason for the changes that follow and returns the previous
-- pair, so a nested change (a dependency cascade) can restore it.
CREATE OR REPLACE FUNCTION concord._push_actor(actor text, reason text)
RETURNS text[]
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    previous text[] := ARRAY[
        coalesce(current_setting('concord.actor', true), ''),
        coalesce(current_setting('concord.reason', true), '')
    ];
BEGIN
    PERFORM set_config('concord.actor', coalesce(actor, ''), true);
    PERFORM set_config('concord.reason', coalesce(reason, ''), true);
    RETURN previous;
END
$$;

CREATE OR REPLACE FUNCTION concord._pop_actor(previous text[])
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM set_config('concord.actor', coalesce(previous[1], ''), true);
    PERFORM set_config('concord.reason', coalesce(previous[2], ''), true);
END
$$;

-- Is value the text of a uuid (any case)? For input checked before a cast.
CREATE OR REPLACE FUNCTION concord._is_uuid(value text)
RETURNS boolean
LANGUAGE sql
IMMUTABLE
PARALLEL SAFE
SET search_path = concord, pg_temp
AS $$
    SELECT value ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
$$;

-- Refuses a blank required argument with CN008.
CREATE OR REPLACE FUNCTION concord._require(argument_name text, argument_value text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF argument_value IS NULL OR btrim(argument_value) = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('%s is required and must not be blank', argument_name);
    END IF;
    RETURN argument_value;
END
$$;

-- The single writer of domain_events rows for state changes.
CREATE OR REPLACE FUNCTION concord._audit(
    event_type text,
    command_id uuid,
    trace_id text,
    target_type text,
    target_id text,
    from_status text,
    to_status text,
    payload jsonb DEFAULT '{}',
    actor text DEFAULT null
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    INSERT INTO concord.domain_events (
        command_id, purpose, event_type, target_type, target_id,
        from_status, to_status, reason, payload, actor, trace_id
    ) VALUES (
        _audit.command_id, 'audit', _audit.event_type, _audit.target_type, _audit.target_id,
        _audit.from_status, _audit.to_status, nullif(current_setting('concord.reason', true), ''),
        coalesce(_audit.payload, '{}'), concord._actor(_audit.actor),
        coalesce(_audit.trace_id, concord._new_trace_id())
    );
END
$$;

-- The one refusal for writes a table never accepts (CN007). Its trigger
-- names why: TG_ARGV[0] completes "<table> <why>", TG_ARGV[1] is the hint.
CREATE OR REPLACE FUNCTION concord._refuse_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING
        ERRCODE = 'CN007',
        MESSAGE = format('%s %s: %s is refused', TG_TABLE_NAME, TG_ARGV[0], TG_OP),
        HINT = coalesce(TG_ARGV[1], '');
END
$$;

-- Refuses an error class outside the taxonomy (spec 32) with CN008; NULL
-- passes (no class given). The foreign keys hold the same rule for direct
-- writes; this gives API callers a message they can act on.
CREATE OR REPLACE FUNCTION concord._known_error_class(error_class text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF error_class IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM concord.error_classes AS ec WHERE ec.error_class = _known_error_class.error_class) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('unknown error class %L', error_class),
            DETAIL = format('Known classes: %s.', (SELECT string_agg(ec.error_class, ', ' ORDER BY ec.error_class)
                                                   FROM concord.error_classes AS ec)),
            HINT = 'See concord.error_classes (spec 32); retryable classes may be retried, the others not.';
    END IF;
    RETURN error_class;
END
$$;

-- Catalog rows (command types, policies, approval types) keep their key
-- (TG_ARGV[0]) and creation time; every write stamps the version column
-- (TG_ARGV[1]: 1, then one more per change) and updated_at.
CREATE OR REPLACE FUNCTION concord._catalog_stamp()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    old_row jsonb;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        old_row := to_jsonb(OLD);
        IF to_jsonb(NEW) -> TG_ARGV[0] IS DISTINCT FROM old_row -> TG_ARGV[0]
           OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN007',
                MESSAGE = format('%s %s: %s and created_at are immutable',
                                 TG_TABLE_NAME, old_row ->> TG_ARGV[0], TG_ARGV[0]);
        END IF;
        RETURN jsonb_populate_record(NEW, jsonb_build_object(
            TG_ARGV[1], (old_row ->> TG_ARGV[1])::integer + 1, 'updated_at', now()));
    END IF;
    RETURN jsonb_populate_record(NEW, jsonb_build_object(
        TG_ARGV[1], 1, 'created_at', now(), 'updated_at', now()));
END
$$;

-- A principal or team name: required, not blank, at most 256 characters
-- (CN008).
CREATE OR REPLACE FUNCTION concord._require_name(argument_name text, argument_value text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._require(argument_name, argument_value);
    IF length(argument_value) > 256 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('%s is %s characters long; a name has at most 256', argument_name,
                             length(argument_value));
    END IF;
    RETURN argument_value;
END
$$;
