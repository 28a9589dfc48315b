-- Fan-in dependencies (spec 13.4): no self-edges, no cycles (even under
-- concurrency), a child never runs before its parents, and a parent whose
-- end makes a requirement unreachable settles the child, transitively.

-- NULL when every parent of command_id is in its required status, else a
-- readable list of the unmet ones.
CREATE OR REPLACE FUNCTION concord._unmet_dependencies(command_id uuid)
RETURNS text
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN (
        SELECT string_agg(
            format('%s is %s, needs %s', d.parent_command_id, p.status, d.required_status),
            '; ' ORDER BY d.parent_command_id)
        FROM concord.command_dependencies AS d
        INNER JOIN concord.commands AS p ON d.parent_command_id = p.command_id
        WHERE d.child_command_id = _unmet_dependencies.command_id
          AND p.status <> d.required_status
    );
END
$$;

CREATE OR REPLACE FUNCTION concord.dependencies_satisfied(command_id uuid)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    IF NOT EXISTS (SELECT 1 FROM concord.commands AS c WHERE c.command_id = dependencies_satisfied.command_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    RETURN concord._unmet_dependencies(command_id) IS NULL;
END
$$;

COMMENT ON FUNCTION concord.dependencies_satisfied(uuid) IS
'True when every parent of the command is in the status the dependency requires '
'(true with no parents).';

-- The rules of a new edge, for any writer.
CREATE OR REPLACE FUNCTION concord._dependencies_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    child_status text;
    parent_status text;
BEGIN
    IF NEW.child_command_id = NEW.parent_command_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN003',
            MESSAGE = format('dependency cycle: command %s cannot depend on itself', NEW.child_command_id);
    END IF;

    -- Serialise every edge insertion (see dependency_graph_lock). Under READ
    -- COMMITTED the queries below then see edges committed meanwhile; under
    -- REPEATABLE READ a concurrent edge makes this UPDATE fail with 40001.
    UPDATE concord.dependency_graph_lock SET edges_added = edges_added + 1 WHERE singleton;

    -- Share locks: a concurrent status change of either command waits for
    -- this edge to commit, so the child's start guard and the parent's
    -- settling of dependents both see it.
    SELECT c.status INTO child_status FROM concord.commands AS c
    WHERE c.command_id = NEW.child_command_id FOR SHARE;
    SELECT c.status INTO parent_status FROM concord.commands AS c
    WHERE c.command_id = NEW.parent_command_id FOR SHARE;
    IF child_status IS NULL OR parent_status IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            MESSAGE = format('command %s not found',
                             CASE WHEN child_status IS NULL THEN NEW.child_command_id ELSE NEW.parent_command_id END);
    END IF;

    IF EXISTS (
        WITH RECURSIVE ancestors (command_id) AS (
            SELECT d.parent_command_id FROM concord.command_dependencies AS d
            WHERE d.child_command_id = NEW.parent_command_id
            UNION
            SELECT d.parent_command_id
            FROM concord.command_dependencies AS d
            INNER JOIN ancestors AS a ON d.child_command_id = a.command_id
        )
        SELECT 1 FROM ancestors AS a WHERE a.command_id = NEW.child_command_id
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN003',
            MESSAGE = format('dependency cycle: %s already depends, directly or through other commands, on %s',
                             NEW.parent_command_id, NEW.child_command_id),
            DETAIL = format('Adding %s -> %s would make both wait for each other forever.',
                            NEW.child_command_id, NEW.parent_command_id);
    END IF;

    IF child_status NOT IN ('created', 'validated', 'waiting_for_input', 'waiting_for_approval',
                            'approved', 'queued', 'blocked') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('command %s is %s: a dependency can only be added before a command runs',
                             NEW.child_command_id, child_status);
    END IF;
    IF parent_status <> NEW.required_status
       AND NOT concord._status_can_reach(parent_status, NEW.required_status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('command %s is %s and can no longer become %s', NEW.parent_command_id,
                             parent_status, NEW.required_status),
            HINT = 'A dependency on it could never be satisfied.';
    END IF;
    NEW.created_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._dependencies_after_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._audit(
        'dependency_added', NEW.child_command_id,
        (SELECT c.trace_id FROM concord.commands AS c WHERE c.command_id = NEW.child_command_id),
        'command', NEW.parent_command_id::text, NULL, NULL,
        jsonb_build_object('parent_command_id', NEW.parent_command_id,
                           'required_status', NEW.required_status,
                           'propagate_cancellation', NEW.propagate_cancellation));
    RETURN NULL;
END
$$;

-- The lock row must stay, and only its counter may move: without it, two
-- racing edges could close a cycle.
CREATE OR REPLACE FUNCTION concord._dependency_graph_lock_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.singleton AND NEW.edges_added > OLD.edges_added THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'CN007',
        MESSAGE = format('dependency_graph_lock serialises new dependencies: %s is refused', TG_OP);
END
$$;

CREATE OR REPLACE TRIGGER dependency_graph_lock_guard
BEFORE INSERT OR UPDATE OR DELETE ON concord.dependency_graph_lock
FOR EACH ROW EXECUTE FUNCTION concord._dependency_graph_lock_guard();

CREATE OR REPLACE TRIGGER dependency_graph_lock_is_not_truncated
BEFORE TRUNCATE ON concord.dependency_graph_lock
FOR EACH STATEMENT EXECUTE FUNCTION concord._dependency_graph_lock_guard();

CREATE OR REPLACE TRIGGER dependencies_before_insert
BEFORE INSERT ON concord.command_dependencies
FOR EACH ROW EXECUTE FUNCTION concord._dependencies_before_insert();

CREATE OR REPLACE TRIGGER dependencies_after_insert
AFTER INSERT ON concord.command_dependencies
FOR EACH ROW EXECUTE FUNCTION concord._dependencies_after_insert();

CREATE OR REPLACE TRIGGER dependencies_are_immutable
BEFORE UPDATE OR DELETE ON concord.command_dependencies
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'rows are immutable', 'Dependencies are immutable once added.'
);

CREATE OR REPLACE TRIGGER dependencies_are_not_truncated
BEFORE TRUNCATE ON concord.command_dependencies
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'rows are immutable', 'Dependencies are immutable once added.'
);

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
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    existing concord.command_dependencies%ROWTYPE;
BEGIN
    PERFORM concord._require('child', child::text);
    PERFORM concord._require('parent', parent::text);
    PERFORM concord._known_status('required_status', required_status);
    IF propagate_cancellation IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'propagate_cancellation must be true or false';
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
            MESSAGE = format('command %s already depends on %s (required_status %s, propagate_cancellation %s)',
                             child, parent, existing.required_status, existing.propagate_cancellation),
            HINT = 'Dependencies are immutable once added.';
    END IF;
END
$$;

COMMENT ON FUNCTION concord.add_dependency(uuid, uuid, text, boolean) IS
'Make child wait for parent to reach required_status; CN003 on a self-edge or cycle. '
'Adding the same edge again is a no-op.';
