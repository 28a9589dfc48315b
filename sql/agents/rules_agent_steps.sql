-- agent_steps: append-only, numbered, true to the agent's scope, within its
-- budgets.

CREATE OR REPLACE FUNCTION concord._agent_steps_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
    problem text;
BEGIN
    -- one step at a time per run: the index and the limit are decided under the lock
    SELECT * INTO run FROM concord.agent_runs AS a WHERE a.agent_run_id = NEW.agent_run_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_agent_run_exists', TABLE = 'agent_steps',
            MESSAGE = format('agent run %s not found', NEW.agent_run_id);
    END IF;
    IF concord._agentic_terminal('agent', run.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_finished_agent_run_acts_no_more', TABLE = 'agent_steps',
            MESSAGE = format('agent run %s is %s: it takes no more steps', run.agent_run_id, run.status);
    END IF;
    IF run.step_count >= run.max_steps THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN010',
            CONSTRAINT = 'agent_steps_stay_within_max_steps', TABLE = 'agent_steps',
            MESSAGE = format('limit exceeded: agent run %s (%s) has used all %s of its steps (max_steps)',
                             run.agent_run_id, run.agent_name, run.max_steps),
            HINT = 'Finish the run; a step budget is bound at spawn.';
    END IF;
    -- a step that says a tool was used (or a command made) for the agent
    -- must be true to its scope, whoever writes it
    IF NEW.decision NOT IN ('denied', 'invalid', 'recorded') AND NEW.tool_name IS NOT NULL
       AND NOT NEW.tool_name = ANY (run.allowed_tools) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'a_step_uses_only_tools_in_its_agent_scope', TABLE = 'agent_steps',
            MESSAGE = format('scope violation: a step of agent run %s cannot have used tool %s, which is not in its '
                             'allowed_tools', run.agent_run_id, NEW.tool_name);
    END IF;
    IF NEW.created_command_id IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM concord.commands AS c
           WHERE c.command_id = NEW.created_command_id AND c.requested_by = 'agent:' || run.agent_run_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'a_step_names_only_commands_its_agent_requested', TABLE = 'agent_steps',
            MESSAGE = format('scope violation: command %s was not requested by agent run %s',
                             NEW.created_command_id, run.agent_run_id);
    END IF;
    -- memory content lives in its memories row only, which forgetting clears:
    -- a step (append-only, and copied into its audit row) refers to it
    problem := concord._memory_content_in_step(NEW.tool_name, NEW.action_payload, NEW.output);
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'a_step_refers_to_memories_by_id_and_digest', TABLE = 'agent_steps',
            MESSAGE = format('a step of agent run %s cannot be recorded: %s', run.agent_run_id, problem),
            HINT = 'Record {memory_id, content_sha256, content_length} instead of content '
                   '(concord._memory_action_reference, concord._memory_answer_reference).';
    END IF;
    NEW.step_index := run.step_count + 1;
    NEW.command_id := run.command_id;
    NEW.swarm_run_id := run.swarm_run_id;
    NEW.created_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._agent_steps_after_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
BEGIN
    -- a recount (see _agent_runs_before_update)
    PERFORM set_config('concord.counting', 'on', true);
    UPDATE concord.agent_runs AS a SET step_count = -1
    WHERE a.agent_run_id = NEW.agent_run_id
    RETURNING * INTO run;
    PERFORM set_config('concord.counting', 'off', true);
    INSERT INTO concord.domain_events (
        command_id, agent_run_id, swarm_run_id, purpose, event_type, target_type, target_id,
        reason, payload, actor, trace_id, step_index, tool_name, latency_ms, token_usage, cost_units
    ) VALUES (
        NEW.command_id, NEW.agent_run_id, NEW.swarm_run_id, 'agent_step', 'agent_step_recorded', 'agent_step',
        NEW.agent_step_id::text, NEW.reason,
        jsonb_strip_nulls(jsonb_build_object(
            'action_type', NEW.action_type, 'decision', NEW.decision, 'action_payload', NEW.action_payload,
            'created_command_id', NEW.created_command_id, 'created_approval_id', NEW.created_approval_id,
            'created_artifact_id', NEW.created_artifact_id, 'created_memory_id', NEW.created_memory_id,
            'child_agent_run_id', NEW.child_agent_run_id, 'output', NEW.output)),
        concord._actor('agent:' || NEW.agent_run_id), run.trace_id, NEW.step_index, NEW.tool_name,
        NEW.latency_ms, NEW.token_usage, NEW.cost_units
    );
    RETURN NULL;
END
$$;

-- A step's audit row copies the step, memories by reference: a raw
-- agent_step_recorded row, written around the step, may not hold the memory
-- content the step may not (forgetting could not reach it: audit rows are
-- append-only).
CREATE OR REPLACE FUNCTION concord._agent_step_audit_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    problem text := concord._memory_content_in_step(NEW.tool_name, NEW.payload -> 'action_payload',
                                                    NEW.payload -> 'output');
BEGIN
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'a_step_refers_to_memories_by_id_and_digest', TABLE = 'domain_events',
            MESSAGE = format('the audit row of a step of agent run %s cannot be recorded: %s',
                             coalesce(NEW.agent_run_id::text, '(none)'), problem),
            HINT = 'An agent step''s audit row copies its step, which records {memory_id, content_sha256, '
                   'content_length} instead of content.';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER agent_steps_before_insert
BEFORE INSERT ON concord.agent_steps
FOR EACH ROW EXECUTE FUNCTION concord._agent_steps_before_insert();

CREATE OR REPLACE TRIGGER agent_steps_after_insert
AFTER INSERT ON concord.agent_steps
FOR EACH ROW EXECUTE FUNCTION concord._agent_steps_after_insert();

CREATE OR REPLACE TRIGGER agent_steps_are_append_only
BEFORE UPDATE ON concord.agent_steps
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('is append-only', 'Record a new step instead.');

-- Durable history: no row is deleted.
CREATE OR REPLACE TRIGGER agent_steps_are_not_deleted
BEFORE DELETE ON concord.agent_steps
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are durable history');

CREATE OR REPLACE TRIGGER agent_steps_are_not_truncated
BEFORE TRUNCATE ON concord.agent_steps
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are durable history');

CREATE OR REPLACE TRIGGER agent_step_audit_rows_refer_to_memories_by_reference
BEFORE INSERT ON concord.domain_events
FOR EACH ROW
WHEN (new.event_type = 'agent_step_recorded')
EXECUTE FUNCTION concord._agent_step_audit_before_insert();
