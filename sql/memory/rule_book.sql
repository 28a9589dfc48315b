-- The rules of the memory domain (spec 23, 61.2).
-- Each rule its code raises (CONSTRAINT = ...) with its table, SQLSTATE and
-- one sentence of meaning; concord.rules lists them (sql/support/rules.sql).
-- a_finished_agent_run_acts_no_more, which the agent's memory tools also raise,
-- is in the agents book.
CREATE OR REPLACE FUNCTION concord._rule_book_memory()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        ('a_new_memory_starts_candidate_or_active', 'memories', 'CN001',
         'A new memory starts as a candidate (awaiting approval) or active, never in a later '
         'status.'),
        ('a_new_memory_is_superseded_by_nothing', 'memories', 'CN007',
         'A new memory names no successor: superseded_by_memory_id is set only when it is '
         'superseded.'),
        ('an_agent_writes_memory_within_its_scope', 'memories', 'CN004',
         'An agent writes memory only of the subject and memory types its memory_scope allows '
         '(spec 61.2).'),
        ('the_superseded_memory_exists', 'memories', 'CN006',
         'The memory a memory supersedes exists.'),
        ('a_memory_supersedes_one_of_the_same_subject_and_type', 'memories', 'CN004',
         'A memory supersedes only a memory of the same subject and memory type.'),
        ('an_expired_memory_is_not_active', 'memories', 'CN011',
         'A memory whose expires_at has passed never becomes active.'),
        ('one_memory_per_key_is_active', 'memories', 'CN011',
         'At most one memory of a subject, type and key is active; a new one supersedes it '
         'instead.'),
        ('an_active_memory_was_allowed_to_be_written', 'memories', 'CN011',
         'A memory becomes active only once its write command was allowed: validated by '
         'policy, approved, or run.'),
        ('memory_identity_is_immutable', 'memories', 'CN007',
         'A memory keeps its subject, type, key, confidence, consent, sensitivity and writer; '
         'a change is a new memory that supersedes it.'),
        ('a_memory_status_change_follows_the_state_machine', 'memories', 'CN001',
         'A memory moves only candidate -> active, deleted or expired; active -> superseded, '
         'expired or deleted; superseded or expired -> deleted.'),
        ('memory_content_is_immutable', 'memories', 'CN007',
         'A memory''s content never changes; forgetting it (status deleted) clears it.'),
        ('a_settled_memory_keeps_its_expiry_and_metadata', 'memories', 'CN007',
         'Once a memory is superseded, expired or deleted its expires_at and metadata no '
         'longer change.'),
        ('what_a_memory_supersedes_is_settled_while_it_is_a_candidate', 'memories', 'CN007',
         'Which memory a memory supersedes is set while it is a candidate, at the latest as it '
         'becomes active.'),
        ('superseded_by_is_set_once_on_supersession', 'memories', 'CN007',
         'superseded_by_memory_id is set once, by the move from active to superseded.'),
        ('a_superseded_memory_names_an_existing_successor', 'memories', 'CN011',
         'A superseded memory names the existing memory that supersedes it.'),
        ('a_successor_is_active_or_candidate', 'memories', 'CN011',
         'Only an active memory, or a candidate becoming active, supersedes another.'),
        ('only_a_memory_with_an_expiry_expires', 'memories', 'CN011',
         'A memory without expires_at never expires: forget it instead.'),
        ('a_candidate_successor_becomes_active_by_commit', 'memories', 'CN011',
         'A memory superseded by a candidate sees that candidate become active in the same '
         'transaction (checked at commit).'),
        ('memories_are_not_deleted', 'memories', 'CN007',
         'A memory row is never deleted: forgetting clears its content and keeps the row and '
         'its audit.'),
        ('memories_are_not_truncated', 'memories', 'CN007',
         'The memories table is never truncated.'),
        ('the_memory_exists', null, 'CN006',
         'The memory an API call names exists.'),
        ('search_memory_scope_is_a_memory_scope', null, 'CN008',
         'search_memory is given a spec 61.2 memory scope {subject_type, subject_id, '
         'allowed_memory_types, allow_semantic_retrieval, max_results}.'),
        ('the_empty_memory_scope_gives_no_access', null, 'CN004',
         'The empty memory scope {} reads no memory at all.'),
        ('max_results_is_at_least_0', null, 'CN008',
         'search_memory''s max_results is a number, at least 0.'),
        ('a_text_query_needs_semantic_retrieval', null, 'CN004',
         'Searching memories by text needs allow_semantic_retrieval in the memory scope.'),
        ('supersede_memory_takes_two_memories', null, 'CN008',
         'supersede_memory is given two different memories: a memory does not supersede '
         'itself.'),
        ('only_an_active_memory_is_superseded', null, 'CN011',
         'supersede_memory supersedes only an active memory.'),
        ('a_candidate_memory_becomes_active_once_its_write_is_approved', null, 'CN011',
         'A candidate memory becomes active only once its write command is approved (or '
         'further), never around its approval.'),
        ('only_the_owner_expires_memories_ahead_of_time', null, 'CN012',
         'Only the owner of the concord schema (or a superuser) expires memories at a time '
         'still to come.'),
        ('memory_is_valid', null, 'CN005',
         'A memory to write is a valid document: known keys, identifiers, content, confidence, '
         'expiry; every problem is listed.'),
        ('the_command_is_a_memory_write', null, 'CN008',
         'A memory is activated only by a concord.write_memory command.'),
        ('the_command_wrote_a_memory', null, 'CN006',
         'The concord.write_memory command being activated wrote a memory.'),
        ('a_memory_query_is_a_json_object', null, 'CN008',
         'An agent''s memory query is a JSON object.'),
        ('a_memory_query_has_only_known_keys', null, 'CN008',
         'An agent''s memory query has only memory_type, memory_types, text and limit.'),
        ('memory_types_of_a_query_are_strings', null, 'CN008',
         'In a memory query, memory_type is a string and memory_types a list of strings.'),
        ('a_text_query_is_not_blank', null, 'CN008',
         'A memory query''s text is a non-blank string.'),
        ('a_retrieval_limit_is_a_whole_number_at_least_1', null, 'CN008',
         'A memory query''s limit is a whole number, at least 1.'),
        ('an_agent_retrieves_only_its_allowed_memory_types', null, 'CN004',
         'An agent retrieves only the memory types its memory_scope allows.'),
        ('an_agent_uses_memory_through_its_gateway', 'memories', 'CN012',
         'An agent (authenticated with its run''s secret) uses memory only through write_memory and '
         'retrieve_memory, within its memory scope; the application''s memory API refuses it.')
$$;
