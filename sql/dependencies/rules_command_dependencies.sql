-- command_dependencies: no self-edges, no cycles (even under concurrency),
-- immutable edges; dependency_graph_lock serialises the cycle check.

-- The rules of a new edge, for any writer.
CREATE OR REPLACE FUNCTION concord._dependencies_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    child_status text;
    parent_status text;
    child_project uuid;
    parent_project uuid;
BEGIN
    IF NEW.child_command_id = NEW.parent_command_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN003',
            CONSTRAINT = 'dependency_graph_has_no_cycle',
            TABLE = 'command_dependencies',
            MESSAGE = format('dependency cycle: command %s cannot depend on itself', NEW.child_command_id);
    END IF;

    -- Serialise every edge insertion (see dependency_graph_lock). Under READ
    -- COMMITTED the queries below then see edges committed meanwhile; under
    -- REPEATABLE READ a concurrent edge makes this UPDATE fail with 40001.
    UPDATE concord.dependency_graph_lock SET edges_added = edges_added + 1 WHERE singleton;

    -- Share locks: a concurrent status change of either command waits for
    -- this edge to commit, so the child's start guard and the parent's
    -- settling of dependents both see it.
    SELECT c.status, c.project_id INTO child_status, child_project FROM concord.commands AS c
    WHERE c.command_id = NEW.child_command_id FOR SHARE;
    SELECT c.status, c.project_id INTO parent_status, parent_project FROM concord.commands AS c
    WHERE c.command_id = NEW.parent_command_id FOR SHARE;
    IF child_status IS NULL OR parent_status IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_command_exists',
            TABLE = 'command_dependencies',
            MESSAGE = format('command %s not found',
                             CASE WHEN child_status IS NULL THEN NEW.child_command_id ELSE NEW.parent_command_id END);
    END IF;
    -- one project's commands wait on one another: a wait across projects
    -- would tell one organisation when another's work ends
    IF child_project IS DISTINCT FROM parent_project THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_dependency_stays_in_its_project',
            TABLE = 'command_dependencies',
            MESSAGE = format('command %s cannot wait on command %s of another project', NEW.child_command_id,
                             NEW.parent_command_id);
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
            CONSTRAINT = 'dependency_graph_has_no_cycle',
            TABLE = 'command_dependencies',
            MESSAGE = format('dependency cycle: %s already depends, directly or through other commands, on %s',
                             NEW.parent_command_id, NEW.child_command_id),
            DETAIL = format('Adding %s -> %s would make both wait for each other forever.',
                            NEW.child_command_id, NEW.parent_command_id);
    END IF;

    IF child_status NOT IN ('created', 'validated', 'waiting_for_input', 'waiting_for_approval',
                            'approved', 'queued', 'blocked') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'dependencies_are_added_before_the_child_runs',
            TABLE = 'command_dependencies',
            MESSAGE = format('command %s is %s: a dependency can only be added before a command runs',
                             NEW.child_command_id, child_status);
    END IF;
    IF parent_status <> NEW.required_status
       AND NOT concord._status_can_reach(parent_status, NEW.required_status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_parent_can_still_reach_the_required_status',
            TABLE = 'command_dependencies',
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
        CONSTRAINT = 'dependency_graph_lock_only_counts_edges',
        TABLE = 'dependency_graph_lock',
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
