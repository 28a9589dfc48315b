-- agent_messages: append-only, between live agents of one swarm.

-- The live agent run agent_run_id, share-locked so that it cannot finish
-- while what it is doing (doing: "writes no memory", ...) is written; CN006
-- when unknown, CN011 when it has finished.
CREATE OR REPLACE FUNCTION concord._live_agent(agent_run_id uuid, doing text)
RETURNS concord.agent_runs
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
BEGIN
    SELECT * INTO run FROM concord.agent_runs AS a WHERE a.agent_run_id = _live_agent.agent_run_id FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_agent_run_exists',
            MESSAGE = format('agent run %s not found', agent_run_id);
    END IF;
    IF concord._agentic_terminal('agent', run.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_finished_agent_run_acts_no_more',
            MESSAGE = format('agent run %s is %s: a finished agent %s', run.agent_run_id, run.status, doing);
    END IF;
    RETURN run;
END
$$;

CREATE OR REPLACE FUNCTION concord._agent_messages_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
BEGIN
    run := concord._live_agent(NEW.agent_run_id, 'sends no more messages');
    NEW.swarm_run_id := run.swarm_run_id;
    NEW.parent_agent_run_id := run.parent_agent_run_id;
    NEW.created_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._agent_messages_after_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._agent_audit(
        'agent_message_recorded', 'event',
        (SELECT a.command_id FROM concord.agent_runs AS a WHERE a.agent_run_id = NEW.agent_run_id),
        NEW.swarm_run_id, NEW.agent_run_id, 'agent_message', NEW.agent_message_id::text, null, null,
        jsonb_build_object('message_role', NEW.message_role, 'message_type', NEW.message_type,
                           'length', length(NEW.content)),
        (SELECT a.trace_id FROM concord.agent_runs AS a WHERE a.agent_run_id = NEW.agent_run_id));
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER agent_messages_before_insert
BEFORE INSERT ON concord.agent_messages
FOR EACH ROW EXECUTE FUNCTION concord._agent_messages_before_insert();

CREATE OR REPLACE TRIGGER agent_messages_after_insert
AFTER INSERT ON concord.agent_messages
FOR EACH ROW EXECUTE FUNCTION concord._agent_messages_after_insert();

CREATE OR REPLACE TRIGGER agent_messages_are_append_only
BEFORE UPDATE ON concord.agent_messages
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'is append-only', 'Record a new message instead.'
);

-- Durable history: no row is deleted.
CREATE OR REPLACE TRIGGER agent_messages_are_not_deleted
BEFORE DELETE ON concord.agent_messages
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are durable history');

CREATE OR REPLACE TRIGGER agent_messages_are_not_truncated
BEFORE TRUNCATE ON concord.agent_messages
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are durable history');
