-- An operation of a deterministic command creates artifacts (spec 24, 37)
-- through runtime_create_artifact: owned by the command (lineage to it, its
-- project), only while it runs, only for a type that declares
-- artifact_output_possible, once per key however often its step runs, and
-- derived only from artifacts of the same project.
BEGIN;
SELECT plan(14);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "ar_t", "artifact_output_possible": true}');
    PERFORM concord.register_command_type('{"command_type": "ar_no"}');
END $$;

-- runtime_create_artifact as the worker's role: its answer, or '<SQLSTATE> <rule>'.
CREATE FUNCTION pg_temp.create_as_worker(label text, artifact jsonb, key text, workflow text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql
AS $$
DECLARE
    answer jsonb;
    rule text;
    command_id uuid := concord_test.id(label);
    workflow_id text := coalesce(workflow, concord_test.workflow_of(label));
BEGIN
    SET LOCAL ROLE concord_worker;
    BEGIN
        answer := concord.runtime_create_artifact(command_id, workflow_id, artifact, key);
    EXCEPTION WHEN OTHERS THEN
        GET STACKED DIAGNOSTICS rule = CONSTRAINT_NAME;
        answer := to_jsonb(SQLSTATE || ' ' || rule);
    END;
    RESET ROLE;
    RETURN answer;
END
$$;

SELECT concord_test.submit('a', 'ar_t') AS fixture \gset
SELECT concord_test.claim('a') AS fixture \gset
SELECT concord_test.submit('no', 'ar_no') AS fixture \gset
SELECT concord_test.claim('no') AS fixture \gset

SELECT pg_temp.create_as_worker('a', '{"artifact_type": "report", "name": "may.pdf", "location": "reports/may.pdf",
                                       "metadata": {"pages": 3}}', 'a:artifact:1') AS report \gset
SELECT is(
    jsonb_build_array(:'report'::jsonb ->> 'command_id', :'report'::jsonb ->> 'created_by',
                      :'report'::jsonb ->> 'status', :'report'::jsonb ->> 'swarm_run_id'),
    jsonb_build_array(concord_test.id('a'), 'command:' || concord_test.id('a'), 'draft', null),
    'the running command''s operation creates a report artifact owned by the command'
);
SELECT is(
    (SELECT y.project_id FROM concord.artifacts AS x INNER JOIN concord.commands AS y USING (command_id)
     WHERE x.artifact_id = (:'report'::jsonb ->> 'artifact_id')::uuid),
    (concord_test.command('a')).project_id,
    'it is in the command''s project'
);
SELECT is(
    (SELECT count(*) FROM concord.domain_events
     WHERE event_type = 'artifact_created' AND target_id = :'report'::jsonb ->> 'artifact_id'
       AND command_id = concord_test.id('a')),
    1::bigint,
    'its creation is audited on the command'
);
SELECT is(
    pg_temp.create_as_worker('a', '{"artifact_type": "report", "name": "may.pdf", "location": "reports/may.pdf"}',
                             'a:artifact:1') ->> 'artifact_id',
    :'report'::jsonb ->> 'artifact_id',
    'the step run again gets the same artifact'
);
SELECT is((SELECT count(*) FROM concord.artifacts WHERE command_id = concord_test.id('a')), 1::bigint,
          'no second artifact was created');
SELECT is(
    pg_temp.create_as_worker('a', '{"artifact_type": "report", "name": "june.pdf", "location": "x"}', 'a:artifact:1'),
    to_jsonb('CN002 ' || 'an_artifact_idempotency_key_names_one_artifact'),
    'CN002: the key of one artifact does not name another'
);
SELECT is(
    pg_temp.create_as_worker('no', '{"artifact_type": "report", "name": "r", "content": {"x": 1}}', 'no:1'),
    to_jsonb('CN012 ' || 'an_operation_creates_artifacts_only_if_its_command_type_declares_them'),
    'CN012: a type without artifact_output_possible creates no artifact'
);
SELECT is(
    pg_temp.create_as_worker('a', '{"artifact_type": "report", "name": "r", "content": {"x": 1}}', 'a:2', 'not-my-run'),
    to_jsonb('CN011 ' || 'only_the_current_workflow_acts_for_its_command'),
    'CN011: only the command''s current workflow creates its artifacts'
);
SELECT is(
    pg_temp.create_as_worker('a', '{"artifact_type": "Report!", "name": ""}', 'a:3'),
    to_jsonb('CN005 ' || 'artifact_is_valid'),
    'CN005: an invalid artifact document'
);

-- lineage stays in the project
DO $$
DECLARE
    other uuid;
BEGIN
    PERFORM concord.create_organisation('ar-other');
    PERFORM concord.create_project('ar-other', 'main');
    INSERT INTO concord.commands (command_type, requested_by, ingress, project_id)
    VALUES ('ar_t', 'x', 'test', (SELECT p.project_id FROM concord.projects AS p
                                  WHERE concord._project_name(p.project_id) = 'ar-other/main'))
    RETURNING command_id INTO other;
    PERFORM concord_test.remember('o', other);
END $$;
SELECT lives_ok(
    $$INSERT INTO concord.artifacts (command_id, artifact_type, name, content, created_by)
      VALUES (concord_test.id('o'), 'report', 'theirs', '{}', 'someone')$$,
    'fixture: an artifact of another organisation''s command'
);
SELECT is(
    pg_temp.create_as_worker('a', jsonb_build_object('artifact_type', 'report', 'name', 'derived', 'content', '{}'::jsonb,
        'parent_artifact_ids', jsonb_build_array((SELECT artifact_id FROM concord.artifacts WHERE name = 'theirs'))),
        'a:4'),
    to_jsonb('CN004 ' || 'an_operations_artifact_derives_only_from_its_projects_artifacts'),
    'CN004: an operation''s artifact derives from no other project''s artifact'
);
SELECT is(
    pg_temp.create_as_worker('a', jsonb_build_object('artifact_type', 'summary', 'name', 'may-summary', 'content', '{"n": 1}'::jsonb,
        'parent_artifact_ids', jsonb_build_array(:'report'::jsonb ->> 'artifact_id')), 'a:5') -> 'parent_artifact_ids',
    jsonb_build_array(:'report'::jsonb ->> 'artifact_id'),
    'it derives from its own command''s report'
);

SELECT is(concord.runtime_finish(concord_test.id('a'), concord_test.workflow_of('a'), 'succeeded'), 'succeeded',
          'fixture: a succeeded');
SELECT is(
    pg_temp.create_as_worker('a', '{"artifact_type": "report", "name": "late", "content": {"x": 1}}', 'a:6'),
    to_jsonb('CN011 ' || 'only_a_running_command_creates_artifacts'),
    'CN011: a finished command creates no artifact'
);

SELECT * FROM finish();
ROLLBACK;
