-- Adding a dependency, and settling the children of a parent whose end makes a
-- requirement unreachable (transitively).

-- Called after parent_id entered parent_status. Each child whose required
-- status the parent can no longer reach (retries not counted) is cancelled
-- when the edge propagates cancellation, else failed with dependency_failed
-- (cancelled, still marked dependency_failed, where its status has no edge to
-- failed). A child already failed stays as it is. The walk is a worklist, not
-- a recursion through triggers: the child's own trigger sees
-- concord.settling and leaves its dependents to this loop, so chains of any
-- length settle in one transaction without growing the stack.
CREATE OR REPLACE FUNCTION concord._settle_dependents(parent_id uuid, parent_status text)
RETURNS void
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    parents uuid[];
    statuses text[];
    i integer := 1;
    edge record;
    child concord.commands%ROWTYPE;
    why text;
    new_status text;
BEGIN
    IF current_setting('concord.settling', true) = 'on'
       OR NOT EXISTS (SELECT 1 FROM concord.command_dependencies AS d WHERE d.parent_command_id = parent_id) THEN
        RETURN;
    END IF;
    PERFORM set_config('concord.settling', 'on', true);
    parents := ARRAY[parent_id];
    statuses := ARRAY[parent_status];
    WHILE i <= cardinality(parents) LOOP
        FOR edge IN
            SELECT d.child_command_id, d.required_status, d.propagate_cancellation
            FROM concord.command_dependencies AS d
            WHERE d.parent_command_id = parents[i]
            ORDER BY d.child_command_id
        LOOP
            CONTINUE WHEN statuses[i] = edge.required_status
                OR concord._status_can_reach(statuses[i], edge.required_status);
            -- Lock, then read: a concurrent change of the child is seen, not overwritten.
            child := concord._lock_command(edge.child_command_id);
            CONTINUE WHEN concord._is_terminal(child.status)
                OR child.status IN ('failed', 'cancelling', 'compensating', 'compensated');
            why := format('dependency %s is %s; required status %s can no longer be reached',
                          parents[i], statuses[i], edge.required_status);
            IF edge.propagate_cancellation THEN
                new_status := concord._cancel(child.command_id, concord._actor(), why, null);
            ELSIF concord.can_transition(child.status, 'failed') THEN
                new_status := concord._set_status(
                    child.command_id, 'failed', concord._actor(), why, null, why, 'dependency_failed',
                    jsonb_build_object('parent_command_id', parents[i], 'parent_status', statuses[i],
                                       'required_status', edge.required_status));
            ELSE
                new_status := concord._cancel(
                    child.command_id, concord._actor(), why, null, 'dependency_failed');
            END IF;
            IF new_status IS DISTINCT FROM child.status THEN
                parents := parents || child.command_id;
                statuses := statuses || new_status;
            END IF;
        END LOOP;
        i := i + 1;
    END LOOP;
    PERFORM set_config('concord.settling', 'off', true);
END
$$;

CREATE OR REPLACE FUNCTION concord.add_dependency(
    child uuid,
    parent uuid,
    required_status text DEFAULT 'succeeded',
    propagate_cancellation boolean DEFAULT true
)
RETURNS void
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
DECLARE
    existing concord.command_dependencies%ROWTYPE;
BEGIN
    PERFORM concord._require('child', child::text);
    PERFORM concord._require('parent', parent::text);
    PERFORM concord._known_status('required_status', required_status);
    IF NOT concord._sees_all() THEN
        -- the waiting command's project: a member may make it wait
        PERFORM concord._acting_on_command(null, child, ARRAY['owner', 'admin', 'member'], 'child');
    END IF;
    IF propagate_cancellation IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', CONSTRAINT = 'propagate_cancellation_is_true_or_false',
            MESSAGE = 'propagate_cancellation must be true or false';
    END IF;
    SELECT * INTO existing FROM concord.command_dependencies AS d
    WHERE d.child_command_id = child AND d.parent_command_id = parent;
    IF NOT FOUND THEN
        INSERT INTO concord.command_dependencies AS d (
            child_command_id, parent_command_id, required_status, propagate_cancellation
        ) VALUES (child, parent, required_status, propagate_cancellation)
        ON CONFLICT (child_command_id, parent_command_id) DO NOTHING;
        IF FOUND THEN
            RETURN;
        END IF;
        -- a concurrent caller added it first
        SELECT * INTO existing FROM concord.command_dependencies AS d
        WHERE d.child_command_id = child AND d.parent_command_id = parent;
    END IF;
    IF (existing.required_status, existing.propagate_cancellation)
       IS DISTINCT FROM (required_status, propagate_cancellation) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_repeated_dependency_matches_the_first',
            MESSAGE = format('command %s already depends on %s (required_status %s, propagate_cancellation %s)',
                             child, parent, existing.required_status, existing.propagate_cancellation),
            HINT = 'Dependencies are immutable once added.';
    END IF;
END
$$;

COMMENT ON FUNCTION concord.add_dependency(uuid, uuid, text, boolean) IS
'Make child wait for parent to reach required_status; CN003 on a self-edge or cycle. '
'Adding the same edge again is a no-op.';
