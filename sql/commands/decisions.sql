-- The command state machine and the routing of a submission: pure decisions
-- over the transitions table (spec 12, 30) and a command type.

-- Is from_status -> to_status a legal transition?
CREATE OR REPLACE FUNCTION concord.can_transition(from_status text, to_status text)
RETURNS boolean
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
BEGIN
    RETURN EXISTS (
        SELECT 1
        FROM concord.command_transitions AS t
        WHERE t.from_status = can_transition.from_status
          AND t.to_status = can_transition.to_status
    );
END
$$;

COMMENT ON FUNCTION concord.can_transition(text, text) IS
'True when the command state machine allows from_status -> to_status.';

-- Can a command now in from_status still reach target, not counting retries
-- (edges that reopen a failed command)? Used to settle dependents.
CREATE OR REPLACE FUNCTION concord._status_can_reach(from_status text, target text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN EXISTS (
        WITH RECURSIVE reachable (status) AS (
            SELECT _status_can_reach.from_status
            UNION
            SELECT t.to_status
            FROM concord.command_transitions AS t
            INNER JOIN reachable AS r ON t.from_status = r.status
            WHERE NOT t.reopens
        )
        SELECT 1 FROM reachable AS r WHERE r.status = _status_can_reach.target
    );
END
$$;

-- Statuses reachable in one step from status, as a readable list.
CREATE OR REPLACE FUNCTION concord._next_statuses(status text)
RETURNS text
LANGUAGE sql
STABLE
SET search_path = concord, pg_temp
AS $$
    SELECT coalesce(string_agg(t.to_status, ', ' ORDER BY t.to_status), 'none: it is terminal')
    FROM concord.command_transitions AS t
    WHERE t.from_status = _next_statuses.status
$$;

CREATE OR REPLACE FUNCTION concord._is_terminal(status text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN coalesce(
        (SELECT s.terminal FROM concord.command_statuses AS s WHERE s.status = _is_terminal.status),
        false
    );
END
$$;

-- Refuses an unknown command status name with CN008.
CREATE OR REPLACE FUNCTION concord._known_status(argument_name text, status text)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._require(argument_name, status);
    IF NOT EXISTS (SELECT 1 FROM concord.command_statuses AS s WHERE s.status = _known_status.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'command_status_is_known',
            MESSAGE = format('%s: unknown command status %L', argument_name, status),
            HINT = 'The statuses are listed in concord.command_statuses.';
    END IF;
    RETURN status;
END
$$;

-- The status a command takes for an evaluation's decision.
CREATE OR REPLACE FUNCTION concord._route(decision text, ct concord.command_types)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN CASE decision
        WHEN 'deny' THEN 'failed'
        WHEN 'require_input' THEN 'waiting_for_input'
        WHEN 'require_approval' THEN 'waiting_for_approval'
        WHEN 'allow' THEN CASE WHEN ct.async_required OR NOT ct.sync_allowed THEN 'queued' ELSE 'validated' END
    END;
END
$$;

-- The required inputs validation checks: all of them, unless the
-- required_inputs policy governs the type and turns missing ones into an
-- input request.
CREATE OR REPLACE FUNCTION concord._validated_inputs(ct concord.command_types)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF 'required_inputs' = ANY (ct.policy_checks) THEN
        RETURN '{}'::text[];
    END IF;
    RETURN ct.required_inputs;
END
$$;
