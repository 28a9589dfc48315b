-- artifacts: versioned by name within a swarm, a status machine, a size limit,
-- never deleted.

CREATE OR REPLACE FUNCTION concord._artifacts_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
    swarm concord.swarm_runs%ROWTYPE;
BEGIN
    IF NEW.status IS NULL OR NEW.status NOT IN ('draft', 'final') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            CONSTRAINT = 'a_new_artifact_starts_draft_or_final',
            TABLE = 'artifacts',
            MESSAGE = format('illegal transition: a new artifact starts as draft or final, not %s',
                             coalesce(NEW.status, 'NULL'));
    END IF;
    IF NEW.agent_run_id IS NOT NULL THEN
        -- the agent cannot finish while its artifact is being written
        run := concord._live_agent(NEW.agent_run_id, 'creates no artifact');
        IF NEW.artifact_type = 'evaluation' AND NOT 'evaluate_output' = ANY (run.allowed_tools) THEN
            -- an evaluation decides joins: create_artifact does not make one
            RAISE EXCEPTION USING
                ERRCODE = 'CN012',
                CONSTRAINT = 'an_evaluation_is_made_by_the_evaluate_output_tool',
                TABLE = 'artifacts',
                MESSAGE = format('agent run %s (%s) does not hold the evaluate_output tool: it makes no evaluation',
                                 run.agent_run_id, run.agent_name),
                HINT = 'Only the evaluate_output tool makes an artifact of type evaluation (spec 66).';
        END IF;
        IF NEW.artifact_type IS DISTINCT FROM 'evaluation' AND NOT 'create_artifact' = ANY (run.allowed_tools) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                CONSTRAINT = 'an_agent_creates_artifacts_only_with_its_tool',
                TABLE = 'artifacts',
                MESSAGE = format('scope violation: agent run %s (%s) does not hold the create_artifact tool',
                                 run.agent_run_id, run.agent_name),
                HINT = 'An agent creates artifacts only through a tool in its allowed_tools (spec 60).';
        END IF;
        -- an agent's artifact belongs to its swarm and the swarm's command
        NEW.swarm_run_id := run.swarm_run_id;
        NEW.command_id := (SELECT s.command_id FROM concord.swarm_runs AS s WHERE s.swarm_run_id = run.swarm_run_id);
        NEW.created_by := 'agent:' || run.agent_run_id;
    ELSIF NEW.artifact_type = 'evaluation' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'an_evaluation_is_made_by_the_evaluate_output_tool',
            TABLE = 'artifacts',
            MESSAGE = format('%s may not create an evaluation: only an agent''s evaluate_output tool makes one',
                             concord._actor()),
            HINT = 'Only the evaluate_output tool makes an artifact of type evaluation (spec 66).';
    ELSIF NEW.swarm_run_id IS NOT NULL THEN
        SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = NEW.swarm_run_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN006', CONSTRAINT = 'an_artifacts_swarm_run_exists', TABLE = 'artifacts',
                MESSAGE = format('swarm run %s not found', NEW.swarm_run_id);
        END IF;
        IF NEW.command_id IS DISTINCT FROM swarm.command_id THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                CONSTRAINT = 'an_artifact_belongs_to_its_swarms_command',
                TABLE = 'artifacts',
                MESSAGE = format('scope violation: an artifact of swarm run %s belongs to its command %s, not %s',
                                 swarm.swarm_run_id, swarm.command_id, NEW.command_id);
        END IF;
        IF concord._agentic_terminal('swarm', swarm.status) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_finished_swarm_takes_no_new_artifact',
                TABLE = 'artifacts',
                MESSAGE = format('swarm run %s is %s: a finished swarm takes no new artifact', swarm.swarm_run_id,
                                 swarm.status);
        END IF;
    END IF;
    NEW.created_by := coalesce(nullif(btrim(NEW.created_by), ''), concord._actor());
    -- versions of one name are numbered 1, 2, ... one writer at a time
    PERFORM pg_advisory_xact_lock(hashtextextended(
        format('concord.artifact:%s:%s:%s', NEW.command_id, NEW.swarm_run_id, NEW.name), 0));
    NEW.version := 1 + coalesce((
        SELECT max(a.version) FROM concord.artifacts AS a
        WHERE a.command_id = NEW.command_id AND a.swarm_run_id IS NOT DISTINCT FROM NEW.swarm_run_id
          AND a.name = NEW.name), 0);
    NEW.created_at := now();
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._artifacts_before_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF (NEW.artifact_id, NEW.command_id, NEW.swarm_run_id, NEW.agent_run_id, NEW.artifact_type, NEW.name,
        NEW.version, NEW.location, NEW.content, NEW.metadata, NEW.score, NEW.created_by, NEW.created_at,
        NEW.idempotency_key)
       IS DISTINCT FROM
       (OLD.artifact_id, OLD.command_id, OLD.swarm_run_id, OLD.agent_run_id, OLD.artifact_type, OLD.name,
        OLD.version, OLD.location, OLD.content, OLD.metadata, OLD.score, OLD.created_by, OLD.created_at,
        OLD.idempotency_key) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'an_artifact_changes_only_its_status',
            TABLE = 'artifacts',
            MESSAGE = format('artifact %s: only its status changes', OLD.artifact_id),
            HINT = 'Create a new version (the same name) instead.';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT concord._artifact_transition_legal(OLD.status, NEW.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            CONSTRAINT = 'an_artifact_status_change_follows_the_state_machine',
            TABLE = 'artifacts',
            MESSAGE = format('illegal transition: artifact %s cannot go from %s to %s', OLD.artifact_id,
                             OLD.status, coalesce(NEW.status, 'NULL')),
            DETAIL = 'draft -> final | cancelled | superseded; final -> published | superseded | cancelled; '
                     'published -> superseded.';
    END IF;
    NEW.updated_at := greatest(now(), OLD.created_at);
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._artifacts_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NULL;
    END IF;
    PERFORM concord._agent_audit(
        CASE WHEN TG_OP = 'INSERT' THEN 'artifact_created' ELSE 'artifact_status_changed' END, 'audit',
        NEW.command_id, NEW.swarm_run_id, NEW.agent_run_id, 'artifact', NEW.artifact_id::text,
        CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status,
        jsonb_strip_nulls(jsonb_build_object(
            'artifact_type', NEW.artifact_type, 'name', NEW.name, 'version', NEW.version,
            'location', NEW.location, 'has_content', NEW.content IS NOT NULL, 'score', NEW.score,
            'created_by', NEW.created_by)),
        coalesce((SELECT a.trace_id FROM concord.agent_runs AS a WHERE a.agent_run_id = NEW.agent_run_id),
                 (SELECT c.trace_id FROM concord.commands AS c WHERE c.command_id = NEW.command_id)));
    RETURN NULL;
END
$$;

-- At commit: an evaluation was made by its agent's evaluate_output call (an
-- allowed step of that tool names it), not written around the gateway by an
-- agent that merely holds the tool.
CREATE OR REPLACE FUNCTION concord._artifacts_evaluation_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (
           SELECT 1 FROM concord.agent_steps AS s
           WHERE s.agent_run_id = NEW.agent_run_id AND s.created_artifact_id = NEW.artifact_id
             AND s.tool_name = 'evaluate_output' AND s.decision = 'allowed') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'an_evaluation_is_made_by_the_evaluate_output_tool',
            TABLE = 'artifacts',
            MESSAGE = format('artifact %s is an evaluation that no evaluate_output call of agent run %s made',
                             NEW.artifact_id, coalesce(NEW.agent_run_id::text, '(none)')),
            HINT = 'Only the evaluate_output tool makes an artifact of type evaluation (spec 66).';
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER artifacts_before_insert
BEFORE INSERT ON concord.artifacts
FOR EACH ROW EXECUTE FUNCTION concord._artifacts_before_insert();

CREATE OR REPLACE TRIGGER artifacts_before_update
BEFORE UPDATE ON concord.artifacts
FOR EACH ROW EXECUTE FUNCTION concord._artifacts_before_update();

CREATE OR REPLACE TRIGGER artifacts_after_write
AFTER INSERT OR UPDATE ON concord.artifacts
FOR EACH ROW EXECUTE FUNCTION concord._artifacts_after_write();

CREATE OR REPLACE TRIGGER artifacts_are_not_deleted
BEFORE DELETE ON concord.artifacts
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'are durable history', 'Cancel or supersede an artifact instead.'
);

CREATE OR REPLACE TRIGGER artifacts_are_not_truncated
BEFORE TRUNCATE ON concord.artifacts
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are durable history');

-- Constraint triggers cannot be replaced: dropped and created again.
DROP TRIGGER IF EXISTS artifacts_evaluation_is_made_by_its_tool ON concord.artifacts;

CREATE CONSTRAINT TRIGGER artifacts_evaluation_is_made_by_its_tool
AFTER INSERT ON concord.artifacts
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (new.artifact_type = 'evaluation')
EXECUTE FUNCTION concord._artifacts_evaluation_check();
