-- The rules of the artifacts domain (spec 24, 63, 66).
-- Each rule its code raises (CONSTRAINT = ...) with its table, SQLSTATE and
-- one sentence of meaning; concord.rules lists them (sql/support/rules.sql).
CREATE OR REPLACE FUNCTION concord._rule_book_artifacts()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        ('a_new_artifact_starts_draft_or_final', 'artifacts', 'CN001',
         'A new artifact starts as draft or final, never published, superseded or cancelled.'),
        ('an_agent_creates_artifacts_only_with_its_tool', 'artifacts', 'CN004',
         'An agent creates an artifact other than an evaluation only if it holds create_artifact '
         '(spec 60).'),
        ('an_evaluation_is_made_by_the_evaluate_output_tool', 'artifacts', 'CN012',
         'An artifact of type evaluation, which a join counts, is made only by an agent''s '
         'evaluate_output call: not by create_artifact, not by an agent without that tool, not by '
         'a raw insert (checked again at commit: an allowed evaluate_output step names it).'),
        ('an_evaluation_derives_only_from_the_artifact_it_evaluates', 'artifact_lineage', 'CN012',
         'An evaluation''s lineage names only the artifact it evaluated, so it counts for no other.'),
        ('an_artifacts_swarm_run_exists', 'artifacts', 'CN006',
         'The swarm run an artifact belongs to exists.'),
        ('an_artifact_belongs_to_its_swarms_command', 'artifacts', 'CN004',
         'An artifact of a swarm run belongs to that swarm''s command.'),
        ('a_finished_swarm_takes_no_new_artifact', 'artifacts', 'CN011',
         'A swarm run that has finished takes no new artifact.'),
        ('an_artifact_changes_only_its_status', 'artifacts', 'CN007',
         'Only an artifact''s status changes; a new content is a new version of the same name.'),
        ('an_artifact_status_change_follows_the_state_machine', 'artifacts', 'CN001',
         'An artifact moves only draft -> final, cancelled or superseded; final -> published, '
         'superseded or cancelled; published -> superseded.'),
        ('artifacts_are_not_deleted', 'artifacts', 'CN007',
         'An artifact is never deleted: cancel or supersede it instead.'),
        ('artifacts_are_not_truncated', 'artifacts', 'CN007',
         'The artifacts table is never truncated.'),
        ('lineage_links_existing_artifacts', 'artifact_lineage', 'CN006',
         'A lineage row links an existing artifact to an existing parent artifact.'),
        ('lineage_stays_within_one_swarm', 'artifact_lineage', 'CN004',
         'An artifact of a swarm derives only from artifacts of the same swarm.'),
        ('artifact_lineage_has_no_cycle', 'artifact_lineage', 'CN003',
         'No artifact derives, directly or not, from itself: lineage has no cycle.'),
        ('artifact_lineage_is_append_only', 'artifact_lineage', 'CN007',
         'Lineage is recorded once: no lineage row is updated or deleted.'),
        ('artifact_lineage_is_not_truncated', 'artifact_lineage', 'CN007',
         'The artifact_lineage table is never truncated.'),
        ('an_agent_tool_is_called_for_an_agent_run', null, 'CN008',
         'The tools that create, read and evaluate artifacts and retrieve memory are called '
         'for an agent run.'),
        ('artifact_is_valid', null, 'CN005',
         'An artifact to create is a valid document: type, name, location or content, status, '
         'score; every problem is listed.'),
        ('read_artifact_names_an_artifact_id', null, 'CN008',
         'read_artifact is given {artifact_id: <uuid>}.'),
        ('the_artifact_exists', null, 'CN006',
         'The artifact an API call or tool names exists.'),
        ('an_agent_reads_only_its_swarms_artifacts', null, 'CN004',
         'An agent reads and evaluates only artifacts of its own swarm run.'),
        ('evaluation_is_valid', null, 'CN005',
         'An evaluation is a JSON object {artifact_id, evaluation_type, decision, confidence, '
         'score?, issues?, recommendation?} (spec 66); every problem is listed.'),
        ('an_artifact_idempotency_key_names_one_artifact', 'artifacts', 'CN002',
         'An operation''s artifact key names one artifact of its command: replayed with another '
         'type or name, it is refused.'),
        ('only_a_running_command_creates_artifacts', 'artifacts', 'CN011',
         'An operation creates an artifact only while its command is running.'),
        ('an_operation_creates_artifacts_only_if_its_command_type_declares_them', 'artifacts', 'CN012',
         'An operation creates artifacts only for a command type with artifact_output_possible.'),
        ('an_operations_artifact_derives_only_from_its_projects_artifacts', 'artifact_lineage', 'CN004',
         'An operation''s artifact derives only from artifacts of its command''s project.')
$$;
