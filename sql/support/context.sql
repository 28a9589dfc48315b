-- Who is acting and under which trace: the transaction-local context the API
-- functions hand to the triggers. Private helpers start with an underscore and
-- are not granted to any role.

-- The actor of the current change: set by the API functions for the span of
-- one change (concord.actor), else the authenticated principal, else the
-- login role — so a direct UPDATE by the table owner is still attributed.
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
        concord._principal(),
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

-- The service that asserted the actor of this call (spec 45: the audit
-- records who asserted and on whose behalf). concord.asserted_by is reset on
-- entry to every public function, like concord.actor, so only the kernel sets it.
CREATE OR REPLACE FUNCTION concord._assert_on_behalf(asserted_by text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM set_config('concord.asserted_by', coalesce(asserted_by, ''), true);
END
$$;

CREATE OR REPLACE FUNCTION concord._asserted_by()
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN nullif(current_setting('concord.asserted_by', true), '');
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
