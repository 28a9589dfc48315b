-- Artifacts (spec 24, 63): durable outputs, kept as references (a location)
-- or small inline content, versioned by name within a command and swarm,
-- with lineage to the artifacts they were made from. A swarm joins through
-- its artifacts, not its chat (spec 63.1). The guards hold whoever writes
-- (table owner included).
--
-- Status machine: draft -> final | cancelled | superseded;
-- final -> published | superseded | cancelled; published -> superseded.
-- An agent's artifact belongs to its swarm and the swarm's command, and needs
-- the create_artifact tool (evaluate_output for an evaluation).
-- Refusals: CN001 illegal transition, CN003 lineage cycle, CN004 scope
-- violation, CN005 invalid artifact document, CN006 not found, CN007
-- immutable or append-only, CN011 state conflict.

CREATE OR REPLACE FUNCTION concord._artifact_transition_legal(from_status text, to_status text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN (from_status || '>' || to_status) = ANY (ARRAY[
        'draft>final', 'draft>cancelled', 'draft>superseded',
        'final>published', 'final>superseded', 'final>cancelled',
        'published>superseded']);
END
$$;

-- The document of an artifact, as the API returns it.
CREATE OR REPLACE FUNCTION concord._artifact_doc(a concord.artifacts)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'artifact_id', a.artifact_id, 'artifact_type', a.artifact_type, 'name', a.name, 'version', a.version,
        'status', a.status, 'location', a.location, 'content', a.content, 'metadata', a.metadata,
        'score', a.score,
        'parent_artifact_ids', coalesce((SELECT jsonb_agg(l.parent_artifact_id ORDER BY l.created_at,
                                                          l.parent_artifact_id)
                                         FROM concord.artifact_lineage AS l WHERE l.artifact_id = a.artifact_id),
                                        '[]'::jsonb),
        'agent_run_id', a.agent_run_id, 'swarm_run_id', a.swarm_run_id, 'command_id', a.command_id,
        'created_by', a.created_by, 'created_at', a.created_at, 'updated_at', a.updated_at);
END
$$;

-- ---------------------------------------------------------------------------
-- Guards
-- ---------------------------------------------------------------------------

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
            MESSAGE = format('illegal transition: a new artifact starts as draft or final, not %s',
                             coalesce(NEW.status, 'NULL'));
    END IF;
    IF NEW.agent_run_id IS NOT NULL THEN
        -- the agent cannot finish while its artifact is being written
        run := concord._live_agent(NEW.agent_run_id, 'creates no artifact');
        IF NOT ('create_artifact' = ANY (run.allowed_tools)
                OR (NEW.artifact_type = 'evaluation' AND 'evaluate_output' = ANY (run.allowed_tools))) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                MESSAGE = format('scope violation: agent run %s (%s) does not hold the %s tool', run.agent_run_id,
                                 run.agent_name,
                                 CASE WHEN NEW.artifact_type = 'evaluation' THEN 'evaluate_output'
                                      ELSE 'create_artifact' END),
                HINT = 'An agent creates artifacts only through a tool in its allowed_tools (spec 60).';
        END IF;
        -- an agent's artifact belongs to its swarm and the swarm's command
        NEW.swarm_run_id := run.swarm_run_id;
        NEW.command_id := (SELECT s.command_id FROM concord.swarm_runs AS s WHERE s.swarm_run_id = run.swarm_run_id);
        NEW.created_by := 'agent:' || run.agent_run_id;
    ELSIF NEW.swarm_run_id IS NOT NULL THEN
        SELECT * INTO swarm FROM concord.swarm_runs AS s WHERE s.swarm_run_id = NEW.swarm_run_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('swarm run %s not found', NEW.swarm_run_id);
        END IF;
        IF NEW.command_id IS DISTINCT FROM swarm.command_id THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                MESSAGE = format('scope violation: an artifact of swarm run %s belongs to its command %s, not %s',
                                 swarm.swarm_run_id, swarm.command_id, NEW.command_id);
        END IF;
        IF concord._agentic_terminal('swarm', swarm.status) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
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
        NEW.version, NEW.location, NEW.content, NEW.metadata, NEW.score, NEW.created_by, NEW.created_at)
       IS DISTINCT FROM
       (OLD.artifact_id, OLD.command_id, OLD.swarm_run_id, OLD.agent_run_id, OLD.artifact_type, OLD.name,
        OLD.version, OLD.location, OLD.content, OLD.metadata, OLD.score, OLD.created_by, OLD.created_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('artifact %s: only its status changes', OLD.artifact_id),
            HINT = 'Create a new version (the same name) instead.';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT concord._artifact_transition_legal(OLD.status, NEW.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
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

-- Lineage: insert only; a parent of a swarm's artifact is in that swarm; no
-- cycles (racing edges are serialised by one lock, as dependencies are).
CREATE OR REPLACE FUNCTION concord._artifact_lineage_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    child concord.artifacts%ROWTYPE;
    parent concord.artifacts%ROWTYPE;
BEGIN
    SELECT * INTO child FROM concord.artifacts AS a WHERE a.artifact_id = NEW.artifact_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('artifact %s not found', NEW.artifact_id);
    END IF;
    SELECT * INTO parent FROM concord.artifacts AS a WHERE a.artifact_id = NEW.parent_artifact_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('artifact %s not found', NEW.parent_artifact_id);
    END IF;
    IF child.swarm_run_id IS NOT NULL AND parent.swarm_run_id IS DISTINCT FROM child.swarm_run_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            MESSAGE = format('scope violation: artifact %s of swarm run %s cannot derive from artifact %s of %s',
                             child.artifact_id, child.swarm_run_id, parent.artifact_id,
                             coalesce(parent.swarm_run_id::text, 'no swarm'));
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('concord.artifact_lineage', 0));
    IF NEW.parent_artifact_id = NEW.artifact_id OR EXISTS (
        WITH RECURSIVE descendants (artifact_id) AS (
            SELECT l.artifact_id FROM concord.artifact_lineage AS l WHERE l.parent_artifact_id = NEW.artifact_id
            UNION
            SELECT l.artifact_id FROM concord.artifact_lineage AS l
            INNER JOIN descendants AS d ON l.parent_artifact_id = d.artifact_id
        )
        SELECT 1 FROM descendants AS d WHERE d.artifact_id = NEW.parent_artifact_id
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN003',
            MESSAGE = format('lineage cycle: artifact %s already derives, directly or not, from artifact %s',
                             NEW.parent_artifact_id, NEW.artifact_id);
    END IF;
    NEW.created_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._artifact_lineage_after_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    child concord.artifacts%ROWTYPE;
BEGIN
    SELECT * INTO child FROM concord.artifacts AS a WHERE a.artifact_id = NEW.artifact_id;
    PERFORM concord._agent_audit(
        'artifact_lineage_added', 'audit', child.command_id, child.swarm_run_id, child.agent_run_id, 'artifact',
        child.artifact_id::text, null, null,
        jsonb_build_object('parent_artifact_id', NEW.parent_artifact_id),
        coalesce((SELECT a.trace_id FROM concord.agent_runs AS a WHERE a.agent_run_id = child.agent_run_id),
                 (SELECT c.trace_id FROM concord.commands AS c WHERE c.command_id = child.command_id)));
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER artifact_lineage_before_insert
BEFORE INSERT ON concord.artifact_lineage
FOR EACH ROW EXECUTE FUNCTION concord._artifact_lineage_before_insert();

CREATE OR REPLACE TRIGGER artifact_lineage_after_insert
AFTER INSERT ON concord.artifact_lineage
FOR EACH ROW EXECUTE FUNCTION concord._artifact_lineage_after_insert();

CREATE OR REPLACE TRIGGER artifact_lineage_is_append_only
BEFORE UPDATE OR DELETE ON concord.artifact_lineage
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('is append-only', 'Lineage is recorded once.');

CREATE OR REPLACE TRIGGER artifact_lineage_is_not_truncated
BEFORE TRUNCATE ON concord.artifact_lineage
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('is append-only');

-- ---------------------------------------------------------------------------
-- Gateway helpers (the gateway checks the tool scope and records the step)
-- ---------------------------------------------------------------------------

-- Every problem of an artifact document, as text; empty when it is valid.
CREATE OR REPLACE FUNCTION concord._artifact_problems(artifact jsonb)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems text[] := '{}'::text[];
    unknown text[];
BEGIN
    IF artifact IS NULL OR jsonb_typeof(artifact) <> 'object' THEN
        RETURN ARRAY['the artifact must be a JSON object'];
    END IF;
    unknown := ARRAY(SELECT k FROM jsonb_object_keys(artifact) AS k
                     WHERE k <> ALL (ARRAY['artifact_type', 'name', 'location', 'content', 'metadata',
                                           'parent_artifact_ids', 'status', 'score'])
                     ORDER BY k);
    IF cardinality(unknown) > 0 THEN
        problems := array_append(problems, format('unknown keys: %s', array_to_string(unknown, ', ')));
    END IF;
    IF jsonb_typeof(artifact -> 'artifact_type') IS DISTINCT FROM 'string'
       OR artifact ->> 'artifact_type' !~ '^[a-z][a-z0-9_]*$' THEN
        problems := array_append(problems, 'artifact_type is required: a lower-case identifier');
    END IF;
    IF jsonb_typeof(artifact -> 'name') IS DISTINCT FROM 'string' OR btrim(artifact ->> 'name') = ''
       OR length(artifact ->> 'name') > 256 THEN
        problems := array_append(problems, 'name is required: a non-blank string of at most 256 characters');
    END IF;
    IF artifact ? 'location' AND (jsonb_typeof(artifact -> 'location') <> 'string'
                                  OR btrim(artifact ->> 'location') = '') THEN
        problems := array_append(problems, 'location must be a non-blank string (a URI or path)');
    END IF;
    IF coalesce(artifact -> 'location', 'null') = 'null' AND coalesce(artifact -> 'content', 'null') = 'null' THEN
        problems := array_append(problems, 'an artifact has a location or content');
    END IF;
    IF pg_column_size(artifact -> 'content') > 65536 THEN
        problems := array_append(problems, 'content is larger than 64 kB: store it elsewhere and give its location');
    END IF;
    IF artifact ? 'metadata' AND jsonb_typeof(artifact -> 'metadata') <> 'object' THEN
        problems := array_append(problems, 'metadata must be a JSON object');
    END IF;
    IF artifact ? 'parent_artifact_ids' AND (
           jsonb_typeof(artifact -> 'parent_artifact_ids') <> 'array'
           OR EXISTS (SELECT 1 FROM jsonb_array_elements(artifact -> 'parent_artifact_ids') AS p (item)
                      WHERE jsonb_typeof(p.item) <> 'string'
                         OR NOT concord._is_uuid(p.item #>> '{}'))) THEN
        problems := array_append(problems, 'parent_artifact_ids must be a list of artifact ids (uuids)');
    END IF;
    IF artifact ? 'status' AND (artifact ->> 'status') IS DISTINCT FROM 'draft'
       AND (artifact ->> 'status') IS DISTINCT FROM 'final' THEN
        problems := array_append(problems, 'status must be draft or final');
    END IF;
    IF artifact ? 'score' AND jsonb_typeof(artifact -> 'score') NOT IN ('number', 'null') THEN
        problems := array_append(problems, 'score must be a number');
    END IF;
    RETURN problems;
END
$$;

-- An agent creates an artifact in its swarm (spec 24, 63): doc {artifact_type,
-- name, location? | content?, metadata?, parent_artifact_ids?, status?
-- (draft), score?}. CN005 lists every problem; the guards check the agent
-- (live, holds the tool) and the parents (same swarm, no cycle). Returns the
-- artifact document.
CREATE OR REPLACE FUNCTION concord._create_artifact(run concord.agent_runs, artifact jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems text[] := concord._artifact_problems(artifact);
    a concord.artifacts%ROWTYPE;
BEGIN
    IF run.agent_run_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'an artifact is created by an agent run';
    END IF;
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            MESSAGE = format('invalid artifact: %s problem(s)', cardinality(problems)),
            DETAIL = array_to_string(problems, E'\n');
    END IF;
    INSERT INTO concord.artifacts AS x (
        command_id, swarm_run_id, agent_run_id, artifact_type, name, status, location, content, metadata,
        score, created_by
    ) VALUES (
        (SELECT s.command_id FROM concord.swarm_runs AS s WHERE s.swarm_run_id = run.swarm_run_id),
        run.swarm_run_id, run.agent_run_id, artifact ->> 'artifact_type', artifact ->> 'name',
        coalesce(artifact ->> 'status', 'draft'), artifact ->> 'location', nullif(artifact -> 'content', 'null'),
        coalesce(artifact -> 'metadata', '{}'), (artifact ->> 'score')::numeric, 'agent:' || run.agent_run_id
    )
    RETURNING * INTO a;
    INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id)
    SELECT DISTINCT a.artifact_id, p.id::uuid
    FROM jsonb_array_elements_text(coalesce(artifact -> 'parent_artifact_ids', '[]')) AS p (id);
    RETURN concord._artifact_doc(a);
END
$$;

-- An agent reads an artifact of its own swarm (CN004 otherwise, CN006 when
-- there is none): payload {artifact_id}.
CREATE OR REPLACE FUNCTION concord._read_artifact(run concord.agent_runs, payload jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    a concord.artifacts%ROWTYPE;
    wanted text := payload ->> 'artifact_id';
BEGIN
    IF run.agent_run_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'an artifact is read by an agent run';
    END IF;
    IF jsonb_typeof(payload -> 'artifact_id') IS DISTINCT FROM 'string'
       OR NOT concord._is_uuid(wanted) THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'read_artifact takes {artifact_id: <uuid>}';
    END IF;
    SELECT * INTO a FROM concord.artifacts AS x WHERE x.artifact_id = wanted::uuid;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('artifact %s not found', wanted);
    END IF;
    IF a.swarm_run_id IS DISTINCT FROM run.swarm_run_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            MESSAGE = format('scope violation: artifact %s is not of agent run %s''s swarm run %s', a.artifact_id,
                             run.agent_run_id, run.swarm_run_id);
    END IF;
    RETURN concord._artifact_doc(a);
END
$$;

-- An agent records a structured evaluation (spec 66) of an artifact of its
-- swarm: {artifact_id, evaluation_type, decision (pass | fail | revise |
-- select), confidence (0..1), score? (default confidence), issues[]?,
-- recommendation?}. Stored as a final artifact of type evaluation whose
-- content is the evaluation, derived from the evaluated artifact. Returns the
-- evaluation artifact's document.
CREATE OR REPLACE FUNCTION concord._evaluate_output(run concord.agent_runs, evaluation jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems text[] := '{}'::text[];
    unknown text[];
    evaluated jsonb;
    content jsonb;
BEGIN
    IF run.agent_run_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'an evaluation is made by an agent run';
    END IF;
    IF evaluation IS NULL OR jsonb_typeof(evaluation) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN005', MESSAGE = 'invalid evaluation: it must be a JSON object';
    END IF;
    unknown := ARRAY(SELECT k FROM jsonb_object_keys(evaluation) AS k
                     WHERE k <> ALL (ARRAY['artifact_id', 'evaluation_type', 'decision', 'confidence', 'score',
                                           'issues', 'recommendation'])
                     ORDER BY k);
    IF cardinality(unknown) > 0 THEN
        problems := array_append(problems, format('unknown keys: %s', array_to_string(unknown, ', ')));
    END IF;
    IF jsonb_typeof(evaluation -> 'artifact_id') IS DISTINCT FROM 'string'
       OR NOT concord._is_uuid(evaluation ->> 'artifact_id') THEN
        problems := array_append(problems, 'artifact_id is required: the id of the evaluated artifact');
    END IF;
    IF jsonb_typeof(evaluation -> 'evaluation_type') IS DISTINCT FROM 'string'
       OR btrim(evaluation ->> 'evaluation_type') = '' THEN
        problems := array_append(problems, 'evaluation_type is required: a non-blank string');
    END IF;
    IF (evaluation ->> 'decision') IS NULL
       OR (evaluation ->> 'decision') NOT IN ('pass', 'fail', 'revise', 'select')
       OR jsonb_typeof(evaluation -> 'decision') <> 'string' THEN
        problems := array_append(problems, 'decision is required: pass, fail, revise or select');
    END IF;
    IF (CASE WHEN jsonb_typeof(evaluation -> 'confidence') = 'number'
            THEN (evaluation ->> 'confidence')::numeric NOT BETWEEN 0 AND 1 ELSE true END) THEN
        problems := array_append(problems, 'confidence is required: a number between 0 and 1');
    END IF;
    IF evaluation ? 'score' AND jsonb_typeof(evaluation -> 'score') <> 'number' THEN
        problems := array_append(problems, 'score must be a number');
    END IF;
    IF evaluation ? 'issues' AND jsonb_typeof(evaluation -> 'issues') <> 'array' THEN
        problems := array_append(problems, 'issues must be a list');
    END IF;
    IF evaluation ? 'recommendation' AND jsonb_typeof(evaluation -> 'recommendation') NOT IN ('string', 'null') THEN
        problems := array_append(problems, 'recommendation must be a string');
    END IF;
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            MESSAGE = format('invalid evaluation: %s problem(s)', cardinality(problems)),
            DETAIL = array_to_string(problems, E'\n');
    END IF;
    -- the evaluated artifact is of the evaluator's swarm (CN004, CN006)
    evaluated := concord._read_artifact(run, jsonb_build_object('artifact_id', evaluation ->> 'artifact_id'));
    content := jsonb_build_object(
        'artifact_id', evaluated -> 'artifact_id', 'evaluation_type', evaluation -> 'evaluation_type',
        'decision', evaluation -> 'decision', 'confidence', evaluation -> 'confidence',
        'score', coalesce(evaluation -> 'score', evaluation -> 'confidence'),
        'issues', coalesce(evaluation -> 'issues', '[]'),
        'recommendation', coalesce(evaluation -> 'recommendation', 'null'),
        'evaluator_agent_run_id', run.agent_run_id, 'evaluator_role', run.agent_role);
    RETURN concord._create_artifact(run, jsonb_build_object(
        'artifact_type', 'evaluation',
        'name', left('evaluation:' || (evaluated ->> 'name'), 256),
        'content', content,
        'status', 'final',
        'score', content -> 'score',
        'metadata', jsonb_build_object('evaluated_artifact_id', evaluated -> 'artifact_id',
                                       'evaluation_type', evaluation -> 'evaluation_type',
                                       'decision', evaluation -> 'decision'),
        'parent_artifact_ids', jsonb_build_array(evaluated -> 'artifact_id')));
END
$$;

-- Move an artifact along its lifecycle (draft -> final -> published, or
-- superseded / cancelled; CN001 otherwise) as actor: what a publishing
-- command does once its artifact is out.
CREATE OR REPLACE FUNCTION concord.set_artifact_status(artifact_id uuid, status text, actor text)
RETURNS jsonb
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
#variable_conflict use_variable
DECLARE
    a concord.artifacts%ROWTYPE;
    saved text[];
BEGIN
    PERFORM concord._require('artifact_id', artifact_id::text);
    PERFORM concord._require('status', status);
    PERFORM concord._require('actor', actor);
    SELECT * INTO a FROM concord.artifacts AS x WHERE x.artifact_id = set_artifact_status.artifact_id
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('artifact %s not found', artifact_id);
    END IF;
    IF a.status = status THEN
        RETURN concord._artifact_doc(a);
    END IF;
    saved := concord._push_actor(actor, format('artifact %s', status));
    UPDATE concord.artifacts AS x SET status = set_artifact_status.status
    WHERE x.artifact_id = a.artifact_id
    RETURNING * INTO a;
    PERFORM concord._pop_actor(saved);
    RETURN concord._artifact_doc(a);
END
$$;

COMMENT ON FUNCTION concord.set_artifact_status(uuid, text, text) IS
'Move an artifact along draft -> final -> published (or superseded, cancelled; CN001 for any other '
'move, CN006 for an unknown artifact) as actor; the same status again is a no-op. '
'Returns the artifact.';
