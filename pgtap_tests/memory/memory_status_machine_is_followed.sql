-- The guards on concord.memories hold against the table owner (spec 23): a new
-- memory starts candidate or active and names no successor; one memory per
-- key is active; an expired memory, or one whose write was not allowed, is not
-- active; subject, type, key, confidence, consent, sensitivity, writer and
-- content never change; the status follows candidate -> active -> superseded
-- | expired | deleted; a supersession stays within one subject and type and
-- names an existing, active successor (a candidate successor becomes active by
-- commit); only a memory with an expiry expires; a memory is never deleted or
-- truncated.
BEGIN;
SELECT plan(25);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "fixture.work", "name": "x", "sync_allowed": true}');
    PERFORM concord.add_team_member('team:approvers', 'ann');
END $$;

CREATE FUNCTION pg_temp.keep(label text, id uuid)
RETURNS uuid
LANGUAGE sql
AS $$ INSERT INTO concord_test.fixture (label, id) VALUES (label, id) RETURNING id $$;

SELECT pg_temp.keep('m1', (concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "preference", "memory_key": "tone", 
      "content": "User prefers concise executive summaries", "confidence": 0.9, "consent": true}',
    'alice') ->> 'memory_id')::uuid) IS NOT NULL AS fixture \gset
SELECT pg_temp.keep('m3', (concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "preference", "memory_key": "tone", 
      "content": "User likes bullet lists", "confidence": 0.95, "consent": true}',
    'alice') ->> 'memory_id')::uuid) IS NOT NULL AS fixture \gset

-- ===========================================================================
-- Guards on concord.memories, as the table owner
-- ===========================================================================
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by)
      VALUES ('user', 'u1', 'fact', 'x', 'superseded', 'owner')$$,
    'CN001', 'a_new_memory_starts_candidate_or_active', 'CN001: a new memory starts as candidate or active'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by)
      VALUES ('user', 'u1', 'fact', 'x', 'deleted', 'owner')$$,
    'CN001', 'a_new_memory_starts_candidate_or_active', 'CN001: not deleted either'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by,
                                           superseded_by_memory_id)
             VALUES ('user', 'u1', 'preference', 'x', 'candidate', 'owner', %L)$$, concord_test.id('m3')),
    'CN007', 'a_new_memory_is_superseded_by_nothing', 'CN007: a new memory is superseded by nothing'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, memory_key, content, status,
                                    written_by)
      VALUES ('user', 'u1', 'preference', 'tone', 'raw', 'active', 'owner')$$,
    'CN011', 'one_memory_per_key_is_active', 'CN011: a second active memory of a key is refused'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by,
                                    expires_at)
      VALUES ('user', 'u1', 'fact', 'x', 'active', 'owner', now() - interval '1 second')$$,
    'CN011', 'an_expired_memory_is_not_active', 'CN011: an expired memory is not active'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by,
                                           supersedes_memory_id)
             VALUES ('user', 'u2', 'preference', 'x', 'candidate', 'owner', %L)$$, concord_test.id('m3')),
    'CN004', 'a_memory_supersedes_one_of_the_same_subject_and_type', 'CN004: a memory supersedes only one of its own subject and type'
);
WITH x AS (
    INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by)
    VALUES ('user', 'u1', 'fact', 'Raw owner memory about budgets', 'active', 'owner') RETURNING memory_id
)
SELECT pg_temp.keep('raw1', x.memory_id) IS NOT NULL AS fixture FROM x \gset
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET content = 'rewritten' WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN007', 'memory_content_is_immutable', 'CN007: the content is immutable'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET subject_id = 'u2' WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN007', 'memory_identity_is_immutable', 'CN007: the subject is immutable'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET confidence = 0.1 WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN007', 'memory_identity_is_immutable', 'CN007: the confidence is immutable'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET consent = true WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN007', 'memory_identity_is_immutable', 'CN007: the consent is immutable'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET written_by = 'mallory' WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN007', 'memory_identity_is_immutable', 'CN007: the writer is immutable'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET status = 'candidate' WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN001', 'a_memory_status_change_follows_the_state_machine', 'CN001: active -> candidate is not an edge'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET status = 'superseded' WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN011', 'a_superseded_memory_names_an_existing_successor', 'CN011: a superseded memory names its successor'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET status = 'superseded', superseded_by_memory_id = %L
             WHERE memory_id = %L$$, concord_test.id('m3'), concord_test.id('raw1')),
    'CN004', 'a_memory_supersedes_one_of_the_same_subject_and_type', 'CN004: its successor is of the same subject and type'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET status = 'superseded', superseded_by_memory_id = %L
             WHERE memory_id = %L$$, concord_test.id('m1'), concord_test.id('m3')),
    'CN011', 'a_successor_is_active_or_candidate', 'CN011: its successor is active (or becoming active)'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET status = 'expired' WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN011', 'only_a_memory_with_an_expiry_expires', 'CN011: a memory without expires_at does not expire'
);
SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.memories WHERE memory_id = %L$$, concord_test.id('raw1')),
    'CN007', 'memories_are_not_deleted', 'CN007: a memory is never deleted'
);
-- (a TRUNCATE is refused while deferred checks are pending: run them first)
SET CONSTRAINTS concord.memories_successor_becomes_active IMMEDIATE;
SET CONSTRAINTS concord.memories_successor_becomes_active DEFERRED;
SELECT concord_test.throws_rule('TRUNCATE concord.memories', 'CN007', 'memories_are_not_truncated', 'CN007: memories are not truncated');

-- the deferred check: a candidate successor must become active by commit
WITH x AS (
    INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by)
    VALUES ('user', 'u1', 'fact', 'A candidate that never activates', 'candidate', 'owner') RETURNING memory_id
)
SELECT pg_temp.keep('raw2', x.memory_id) IS NOT NULL AS fixture FROM x \gset
SAVEPOINT deferred;
UPDATE concord.memories SET status = 'superseded', superseded_by_memory_id = concord_test.id('raw2')
WHERE memory_id = concord_test.id('raw1');
SELECT concord_test.throws_rule('SET CONSTRAINTS concord.memories_successor_becomes_active IMMEDIATE', 'CN011', 'a_candidate_successor_becomes_active_by_commit',
                 'CN011: a memory superseded by a candidate that never becomes active is refused at commit');
ROLLBACK TO SAVEPOINT deferred;

-- a memory is active only once its write was allowed
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by,
                                           command_id)
             VALUES ('user', 'u1', 'fact', 'x', 'active', 'owner', %L)$$,
           concord_test.command_at('fixture.work', 'created')),
    'CN011', 'an_active_memory_was_allowed_to_be_written',
    'CN011: a memory whose write command was not allowed is not active'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by,
                                           supersedes_memory_id)
             VALUES ('user', 'u1', 'fact', 'x', 'candidate', 'owner', %L)$$, gen_random_uuid()),
    'CN006', 'the_superseded_memory_exists', 'CN006: a new memory supersedes an existing memory'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET supersedes_memory_id = %L WHERE memory_id = %L$$, gen_random_uuid(),
           concord_test.id('raw2')),
    'CN006', 'the_superseded_memory_exists', 'CN006: a candidate comes to supersede an existing memory only'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET supersedes_memory_id = NULL WHERE memory_id = %L$$, concord_test.id('m3')),
    'CN007', 'what_a_memory_supersedes_is_settled_while_it_is_a_candidate',
    'CN007: what an active memory supersedes is settled'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET metadata = '{"late": true}' WHERE memory_id = %L$$, concord_test.id('m1')),
    'CN007', 'a_settled_memory_keeps_its_expiry_and_metadata',
    'CN007: a superseded memory''s metadata no longer changes'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET superseded_by_memory_id = %L WHERE memory_id = %L$$, concord_test.id('m1'),
           concord_test.id('m3')),
    'CN007', 'superseded_by_is_set_once_on_supersession',
    'CN007: superseded_by_memory_id is set only by the move to superseded'
);

SELECT * FROM finish();
ROLLBACK;
