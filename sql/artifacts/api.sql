-- Creating, reading, evaluating artifacts and setting their status.

-- The create_artifact tool (spec 24, 63): an agent creates an artifact in
-- its swarm, doc {artifact_type, name, location? | content?, metadata?,
-- parent_artifact_ids?, status? (draft), score?}. An evaluation is what a
-- join counts: only evaluate_output makes one (CN012). Returns the artifact
-- document.
CREATE OR REPLACE FUNCTION concord._create_artifact(run concord.agent_runs, artifact jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF artifact ->> 'artifact_type' = 'evaluation' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'an_evaluation_is_made_by_the_evaluate_output_tool',
            TABLE = 'artifacts',
            MESSAGE = format('agent run %s (%s) may not create an artifact of type evaluation with create_artifact: '
                             'an evaluation is made by the evaluate_output tool', run.agent_run_id, run.agent_name),
            HINT = 'Call evaluate_output {artifact_id, evaluation_type, decision, confidence} (spec 66).';
    END IF;
    RETURN concord._insert_artifact(run, artifact);
END
$$;

-- Inserts an agent's artifact: CN005 lists every problem; the guards check
-- the agent (live, holds the tool) and the parents (same swarm, no cycle).
-- Returns the artifact document.
CREATE OR REPLACE FUNCTION concord._insert_artifact(run concord.agent_runs, artifact jsonb)
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
        RAISE EXCEPTION USING
            ERRCODE = 'CN008', CONSTRAINT = 'an_agent_tool_is_called_for_an_agent_run',
            MESSAGE = 'an artifact is created by an agent run';
    END IF;
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'artifact_is_valid',
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
        RAISE EXCEPTION USING
            ERRCODE = 'CN008', CONSTRAINT = 'an_agent_tool_is_called_for_an_agent_run',
            MESSAGE = 'an artifact is read by an agent run';
    END IF;
    IF jsonb_typeof(payload -> 'artifact_id') IS DISTINCT FROM 'string'
       OR NOT concord._is_uuid(wanted) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008', CONSTRAINT = 'read_artifact_names_an_artifact_id',
            MESSAGE = 'read_artifact takes {artifact_id: <uuid>}';
    END IF;
    SELECT * INTO a FROM concord.artifacts AS x WHERE x.artifact_id = wanted::uuid;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006', CONSTRAINT = 'the_artifact_exists',
            MESSAGE = format('artifact %s not found', wanted);
    END IF;
    IF a.swarm_run_id IS DISTINCT FROM run.swarm_run_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'an_agent_reads_only_its_swarms_artifacts',
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
        RAISE EXCEPTION USING
            ERRCODE = 'CN008', CONSTRAINT = 'an_agent_tool_is_called_for_an_agent_run',
            MESSAGE = 'an evaluation is made by an agent run';
    END IF;
    IF evaluation IS NULL OR jsonb_typeof(evaluation) <> 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005', CONSTRAINT = 'evaluation_is_valid',
            MESSAGE = 'invalid evaluation: it must be a JSON object';
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
            CONSTRAINT = 'evaluation_is_valid',
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
    RETURN concord._insert_artifact(run, jsonb_build_object(
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
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
#variable_conflict use_variable
DECLARE
    a concord.artifacts%ROWTYPE;
    saved text[];
BEGIN
    PERFORM concord._require('artifact_id', artifact_id::text);
    PERFORM concord._require('status', status);
    SELECT * INTO a FROM concord.artifacts AS x WHERE x.artifact_id = set_artifact_status.artifact_id
    FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006', CONSTRAINT = 'the_artifact_exists',
            MESSAGE = format('artifact %s not found', artifact_id);
    END IF;
    -- actor is an assertion: the caller itself (or whom it may act for), a
    -- member of the artifact's project; an agent only within its swarm
    PERFORM concord._require_own_swarm(a.swarm_run_id);
    actor := concord._acting_on_command(actor, a.command_id, ARRAY['owner', 'admin', 'member']);
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
'move, CN006 for an unknown artifact, or one of another project) as actor; the same status again '
'is a no-op. actor is checked: the authenticated principal (NULL: itself) or one it holds an '
'act-as grant for, an owner, admin or member of the project (CN012). Returns the artifact.';
