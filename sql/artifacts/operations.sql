-- Artifacts of deterministic commands (spec 24, 37): an operation's step
-- creates one (ctx.artifact) for the command it runs, with lineage to that
-- command, in the command's project.

CREATE OR REPLACE FUNCTION concord.runtime_create_artifact(
    command_id uuid, workflow_id text, artifact jsonb, idempotency_key text
)
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
    c concord.commands%ROWTYPE;
    a concord.artifacts%ROWTYPE;
    problems text[] := concord._artifact_problems(artifact);
    foreign_parents text[];
    saved text[];
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    PERFORM concord._require('idempotency_key', idempotency_key);
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = command_id FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', CONSTRAINT = 'the_command_exists',
            MESSAGE = format('command %s not found', command_id);
    END IF;
    PERFORM concord._require_owner(c, workflow_id);
    -- a step run again (a replay, a later run of the command) finds its artifact
    SELECT * INTO a FROM concord.artifacts AS x
    WHERE x.command_id = c.command_id AND x.idempotency_key = idempotency_key;
    IF FOUND THEN
        IF (a.artifact_type, a.name) IS DISTINCT FROM (artifact ->> 'artifact_type', artifact ->> 'name') THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN002',
                CONSTRAINT = 'an_artifact_idempotency_key_names_one_artifact',
                TABLE = 'artifacts',
                MESSAGE = format('artifact key %L of command %s already names artifact %s (%s %s)', idempotency_key,
                                 c.command_id, a.artifact_id, a.artifact_type, a.name);
        END IF;
        RETURN concord._artifact_doc(a);
    END IF;
    IF c.status <> 'running' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'only_a_running_command_creates_artifacts',
            TABLE = 'artifacts',
            MESSAGE = format('command %s is %s: only a running command creates artifacts', c.command_id, c.status);
    END IF;
    IF NOT (concord._command_contract_of(c)).artifact_output_possible THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'an_operation_creates_artifacts_only_if_its_command_type_declares_them',
            TABLE = 'artifacts',
            MESSAGE = format('command type %s does not declare artifact_output_possible: its operation creates no '
                             'artifact', c.command_type),
            HINT = 'Register the command type with "artifact_output_possible": true.';
    END IF;
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'artifact_is_valid',
            MESSAGE = format('invalid artifact: %s problem(s)', cardinality(problems)),
            DETAIL = array_to_string(problems, E'\n');
    END IF;
    -- lineage stays within the command's project
    foreign_parents := ARRAY(
        SELECT p.id FROM jsonb_array_elements_text(coalesce(artifact -> 'parent_artifact_ids', '[]')) AS p (id)
        WHERE NOT EXISTS (SELECT 1 FROM concord.artifacts AS x
                          INNER JOIN concord.commands AS y ON x.command_id = y.command_id
                          WHERE x.artifact_id = p.id::uuid AND y.project_id = c.project_id)
        ORDER BY 1);
    IF cardinality(foreign_parents) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'an_operations_artifact_derives_only_from_its_projects_artifacts',
            TABLE = 'artifact_lineage',
            MESSAGE = format('scope violation: artifacts %s are not of command %s''s project',
                             array_to_string(foreign_parents, ', '), c.command_id);
    END IF;
    saved := concord._push_actor('workflow:' || workflow_id, null);
    INSERT INTO concord.artifacts AS x (
        command_id, artifact_type, name, status, location, content, metadata, score, created_by, idempotency_key
    ) VALUES (
        c.command_id, artifact ->> 'artifact_type', artifact ->> 'name', coalesce(artifact ->> 'status', 'draft'),
        artifact ->> 'location', nullif(artifact -> 'content', 'null'), coalesce(artifact -> 'metadata', '{}'),
        (artifact ->> 'score')::numeric, 'command:' || c.command_id, idempotency_key
    )
    RETURNING * INTO a;
    INSERT INTO concord.artifact_lineage (artifact_id, parent_artifact_id)
    SELECT DISTINCT a.artifact_id, p.id::uuid
    FROM jsonb_array_elements_text(coalesce(artifact -> 'parent_artifact_ids', '[]')) AS p (id);
    PERFORM concord._pop_actor(saved);
    RETURN concord._artifact_doc(a);
END
$$;

COMMENT ON FUNCTION concord.runtime_create_artifact(uuid, text, jsonb, text) IS
'Worker step (ctx.artifact): the running command''s operation creates an artifact {artifact_type, '
'name, location | content, metadata, parent_artifact_ids, status (draft | final), score} owned by '
'the command (created_by command:<id>, the command''s project). Its type must declare '
'artifact_output_possible (CN012); an evaluation is made only by an agent''s evaluate_output '
'tool, never here (CN012 an_evaluation_is_made_by_the_evaluate_output_tool). Idempotent by '
'key: a step run again gets the artifact it created (the same key for another type or name is '
'CN002). Returns the artifact document.';
