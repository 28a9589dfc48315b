-- agent_invocations: checked and audited, never deleted.

CREATE OR REPLACE FUNCTION concord._agent_invocations_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    child concord.agent_runs%ROWTYPE;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF (NEW.invocation_id, NEW.swarm_run_id, NEW.parent_agent_run_id, NEW.child_agent_run_id, NEW.command_id,
            NEW.invocation_type, NEW.delegated_goal, NEW.constraints, NEW.allowed_tools, NEW.allowed_connectors,
            NEW.memory_scope, NEW.created_at)
           IS DISTINCT FROM
           (OLD.invocation_id, OLD.swarm_run_id, OLD.parent_agent_run_id, OLD.child_agent_run_id, OLD.command_id,
            OLD.invocation_type, OLD.delegated_goal, OLD.constraints, OLD.allowed_tools, OLD.allowed_connectors,
            OLD.memory_scope, OLD.created_at) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN007',
                CONSTRAINT = 'an_invocation_changes_only_its_status', TABLE = 'agent_invocations',
                MESSAGE = format('agent invocation %s: only its status changes (with its child''s)', OLD.invocation_id);
        END IF;
        IF NEW.status IS DISTINCT FROM OLD.status
           AND NOT EXISTS (SELECT 1 FROM concord.agent_runs AS a
                           WHERE a.agent_run_id = NEW.child_agent_run_id
                             AND NEW.status = CASE WHEN a.status IN ('succeeded', 'failed', 'cancelled', 'expired', 'created')
                                                   THEN a.status ELSE 'running' END) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN007',
                CONSTRAINT = 'an_invocation_status_follows_its_child', TABLE = 'agent_invocations',
                MESSAGE = format('agent invocation %s: its status follows its child agent run''s', OLD.invocation_id);
        END IF;
        RETURN NEW;
    END IF;
    SELECT * INTO child FROM concord.agent_runs AS a WHERE a.agent_run_id = NEW.child_agent_run_id;
    IF NOT FOUND OR child.parent_agent_run_id IS DISTINCT FROM NEW.parent_agent_run_id
       OR child.swarm_run_id IS DISTINCT FROM NEW.swarm_run_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'an_invocation_names_a_child_of_its_parent', TABLE = 'agent_invocations',
            MESSAGE = format('agent invocation: child agent run %s is not a child of %s in swarm run %s',
                             NEW.child_agent_run_id, NEW.parent_agent_run_id, NEW.swarm_run_id);
    END IF;
    -- what the invocation grants is exactly what the child holds
    NEW.allowed_tools := child.allowed_tools;
    NEW.allowed_connectors := child.allowed_connectors;
    NEW.memory_scope := child.memory_scope;
    NEW.command_id := child.command_id;
    NEW.status := CASE WHEN child.status IN ('succeeded', 'failed', 'cancelled', 'expired', 'created') THEN child.status
                       ELSE 'running' END;
    NEW.created_at := now();
    NEW.completed_at := NULL;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._agent_invocations_after_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._agent_audit(
        'agent_invoked', 'audit', NEW.command_id, NEW.swarm_run_id, NEW.parent_agent_run_id, 'agent_invocation',
        NEW.invocation_id::text, null, NEW.status,
        jsonb_build_object('child_agent_run_id', NEW.child_agent_run_id, 'invocation_type', NEW.invocation_type,
                           'delegated_goal', NEW.delegated_goal, 'allowed_tools', NEW.allowed_tools,
                           'allowed_connectors', NEW.allowed_connectors, 'memory_scope', NEW.memory_scope),
        null);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER agent_invocations_before_write
BEFORE INSERT OR UPDATE ON concord.agent_invocations
FOR EACH ROW EXECUTE FUNCTION concord._agent_invocations_before_write();

CREATE OR REPLACE TRIGGER agent_invocations_after_insert
AFTER INSERT ON concord.agent_invocations
FOR EACH ROW EXECUTE FUNCTION concord._agent_invocations_after_insert();

-- Durable history: no row is deleted.
CREATE OR REPLACE TRIGGER agent_invocations_are_not_deleted
BEFORE DELETE ON concord.agent_invocations
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are durable history');

CREATE OR REPLACE TRIGGER agent_invocations_are_not_truncated
BEFORE TRUNCATE ON concord.agent_invocations
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are durable history');
