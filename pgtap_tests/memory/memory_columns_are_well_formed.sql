-- The CHECK constraints of concord.memories (spec 23), each attacked by a raw
-- insert or update as the table owner: identifiers are lowercase words,
-- names are not blank, confidence is between 0 and 1, content is at most
-- 10,000 characters, metadata is an object, the status is known, a memory
-- does not supersede itself, and a superseded memory names its successor.
BEGIN;
SELECT plan(11);

CREATE FUNCTION pg_temp.keep(label text, id uuid)
RETURNS uuid
LANGUAGE sql
AS $$ INSERT INTO concord_test.fixture (label, id) VALUES (label, id) RETURNING id $$;

WITH x AS (
    INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, status, written_by)
    VALUES ('user', 'u1', 'fact', 'A memory to attack', 'active', 'owner') RETURNING memory_id
)
SELECT pg_temp.keep('raw1', x.memory_id) IS NOT NULL AS fixture FROM x \gset

SELECT concord_test.throws_rule(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by) VALUES ('User', 'u1', 'fact', 'x', 'owner')$$,
    '23514', 'subject_type_is_an_identifier', 'a subject type is a lowercase identifier'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by) VALUES ('user', ' ', 'fact', 'x', 'owner')$$,
    '23514', 'subject_id_is_not_blank', 'a subject id is not blank'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by) VALUES ('user', 'u1', 'Fact!', 'x', 'owner')$$,
    '23514', 'memory_type_is_an_identifier', 'a memory type is a lowercase identifier'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by, memory_key) VALUES ('user', 'u1', 'fact', 'x', 'owner', ' ')$$,
    '23514', 'memory_key_is_not_blank', 'a memory key is not blank'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by, confidence) VALUES ('user', 'u1', 'fact', 'x', 'owner', 1.5)$$,
    '23514', 'confidence_is_between_0_and_1', 'confidence is between 0 and 1'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by) VALUES ('user', 'u1', 'fact', repeat('word ', 2001), 'owner')$$,
    '23514', 'content_is_at_most_10000_characters', 'content is at most 10,000 characters'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by) VALUES ('user', 'u1', 'fact', 'x', ' ')$$,
    '23514', 'written_by_is_not_blank', 'the writer is named'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.memories (subject_type, subject_id, memory_type, content, written_by, metadata) VALUES ('user', 'u1', 'fact', 'x', 'owner', '[]')$$,
    '23514', 'memory_metadata_is_an_object', 'metadata is a JSON object'
);
-- the guards refuse these first: the CHECKs hold even for a writer that skips the triggers
SET LOCAL session_replication_role = replica;
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET status = 'forgotten' WHERE memory_id = %L$$, concord_test.id('raw1')),
    '23514', 'memory_status_is_known', 'a memory status is a known one'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET supersedes_memory_id = memory_id WHERE memory_id = %L$$,
           concord_test.id('raw1')),
    '23514', 'a_memory_does_not_supersede_itself', 'a memory does not supersede itself'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.memories SET status = 'superseded' WHERE memory_id = %L$$, concord_test.id('raw1')),
    '23514', 'superseded_memories_name_their_successor', 'a superseded memory names its successor'
);
SET LOCAL session_replication_role = origin;

SELECT * FROM finish();
ROLLBACK;
