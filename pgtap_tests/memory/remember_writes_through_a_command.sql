-- concord.remember (spec 23): every write is a concord.write_memory command,
-- idempotent by key, carrying a digest of the content, never the content; an
-- allowed write is active at once and supersedes the active memory of its key
-- in the same transaction; any other write is a candidate whose command waits
-- for approval (memory_is_valid lists every problem of an invalid memory). The
-- worker's operation activates a candidate only once its write is approved
-- (a_candidate_memory_becomes_active_once_its_write_is_approved), and only for
-- a concord.write_memory command that wrote a memory; a rejected write leaves
-- its candidate deleted. The audit records each write and move, never the
-- content.
BEGIN;
SELECT plan(33);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "fixture.work", "name": "x", "sync_allowed": true}');
    PERFORM concord.add_team_member('team:approvers', 'ann');
END $$;

CREATE FUNCTION pg_temp.keep(label text, id uuid)
RETURNS uuid
LANGUAGE sql
AS $$ INSERT INTO concord_test.fixture (label, id) VALUES (label, id) RETURNING id $$;

-- ===========================================================================
-- remember: direct writes, supersession, candidates
-- ===========================================================================
SELECT pg_temp.keep('m1', (concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "preference", "memory_key": "tone",
      "content": "User prefers concise executive summaries", "confidence": 0.9, "consent": true}',
    'alice') ->> 'memory_id')::uuid) IS NOT NULL AS fixture \gset
SELECT is((SELECT status FROM concord.memories WHERE memory_id = concord_test.id('m1')), 'active',
          'remember: an allowed write is active at once');
SELECT is((SELECT c.status FROM concord.commands AS c INNER JOIN concord.memories AS m USING (command_id)
           WHERE m.memory_id = concord_test.id('m1')), 'succeeded',
          'remember: its concord.write_memory command succeeded');
SELECT is((SELECT c.result ->> 'memory_id' FROM concord.commands AS c INNER JOIN concord.memories AS m
           USING (command_id) WHERE m.memory_id = concord_test.id('m1')), concord_test.id('m1')::text,
          'remember: the command''s result names the memory');
SELECT ok((SELECT NOT (c.payload ? 'content') AND c.payload ? 'content_sha256'
           FROM concord.commands AS c INNER JOIN concord.memories AS m USING (command_id)
           WHERE m.memory_id = concord_test.id('m1')),
          'remember: the command carries a digest of the content, not the content');

SELECT pg_temp.keep('m2', (concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "preference", "memory_key": "tone",
      "content": "User prefers detailed reports with tables", "confidence": 0.95, "consent": true}',
    'alice') ->> 'memory_id')::uuid) IS NOT NULL AS fixture \gset
SELECT is((SELECT status || '/' || superseded_by_memory_id FROM concord.memories
           WHERE memory_id = concord_test.id('m1')), 'superseded/' || concord_test.id('m2'),
          'remember: a write of the same key supersedes the active memory, naming its successor');
SELECT is((SELECT status || '/' || supersedes_memory_id FROM concord.memories
           WHERE memory_id = concord_test.id('m2')), 'active/' || concord_test.id('m1'),
          'remember: the new memory is active and names the one it superseded');
SELECT is((SELECT count(*)::integer FROM concord.memories
           WHERE subject_id = 'u1' AND memory_key = 'tone' AND status = 'active'), 1,
          'remember: one active memory per key');

CREATE TEMP TABLE answers (label text PRIMARY KEY, answer jsonb);
INSERT INTO answers VALUES ('m3', concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "preference", "memory_key": "tone",
      "content": "User likes bullet lists", "confidence": 0.5, "consent": true}', 'alice'));
SELECT pg_temp.keep('m3', (SELECT (answer ->> 'memory_id')::uuid FROM answers WHERE label = 'm3'))
       IS NOT NULL AS fixture \gset
SELECT is((SELECT answer ->> 'status' || '/' || (answer ->> 'command_status') || '/' || (answer ->> 'decision')
           FROM answers WHERE label = 'm3'), 'candidate/waiting_for_approval/require_approval',
          'remember: an unconfident write is a candidate whose command waits for approval');
SELECT ok((SELECT answer ->> 'approval_id' IS NOT NULL AND answer -> 'reasons' @> '["confidence 0.5 is below 0.8"]'
           FROM answers WHERE label = 'm3'),
          'remember: the answer carries the approval to decide and why');
SELECT is((SELECT supersedes_memory_id FROM concord.memories WHERE memory_id = concord_test.id('m3')),
          concord_test.id('m2'), 'remember: a candidate names the active memory it would supersede');
SELECT is((SELECT status FROM concord.memories WHERE memory_id = concord_test.id('m2')), 'active',
          'remember: the active memory stays active while the candidate waits');

SELECT concord_test.throws_rule(
    $$SELECT concord.remember('{"subject_type": "Bad", "memory_type": "preference", "content": " ",
                                 "confidence": 2, "colour": "red"}', 'alice')$$,
    'CN005', 'memory_is_valid', 'CN005: remember refuses an invalid memory'
);
SELECT ok(concord_test.error_detail(
    $$SELECT concord.remember('{"subject_type": "Bad", "memory_type": "preference", "content": " ",
                                 "confidence": 2, "colour": "red"}', 'alice')$$)
          ~ 'unknown keys: colour.*subject_type must.*subject_id is required.*content must.*confidence must',
          'CN005: DETAIL lists every problem');
SELECT concord_test.throws_rule(
    $$SELECT concord.remember('{"subject_type": "user", "subject_id": "u1", "memory_type": "fact",
                                 "content": "x", "expires_at": "2001-01-01T00:00:00Z"}', 'alice')$$,
    'CN005', 'memory_is_valid', 'CN005: a memory cannot be written already expired'
);
SELECT concord_test.throws_rule(
    $$SELECT concord.remember('{"subject_type": "user", "subject_id": "u1", "memory_type": "fact",
                                 "content": "x", "expires_at": "2999-01-01", "ttl_seconds": 60}', 'alice')$$,
    'CN005', 'memory_is_valid', 'CN005: expires_at or ttl_seconds, not both'
);
SELECT concord_test.throws_rule($$SELECT concord.remember('{}', NULL)$$, 'CN008', 'required_argument_is_not_blank', 'CN008: remember needs an actor');

-- idempotent by key
INSERT INTO answers VALUES ('idem1', concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "fact", "content": "Works in finance",
      "consent": true, "idempotency_key": "memory-idem"}', 'alice'));
INSERT INTO answers VALUES ('idem2', concord.remember(
    '{"subject_type": "user", "subject_id": "u1", "memory_type": "fact", "content": "Works in finance",
      "consent": true, "idempotency_key": "memory-idem"}', 'alice'));
SELECT is((SELECT answer FROM answers WHERE label = 'idem2'), (SELECT answer FROM answers WHERE label = 'idem1'),
          'remember: a replayed idempotency key returns the same answer');
SELECT is((SELECT count(*)::integer FROM concord.memories WHERE content = 'Works in finance'), 1,
          'remember: and writes nothing more');

-- ===========================================================================
-- The approval path: the worker's operation activates the candidate
-- ===========================================================================
SELECT concord_test.throws_rule(
    format('SELECT concord._activate_memory_command(%L)', (SELECT answer ->> 'command_id' FROM answers
                                                           WHERE label = 'm3')),
    'CN011', 'a_candidate_memory_becomes_active_once_its_write_is_approved', 'CN011: a write waiting for approval is not activated'
);
SELECT is(concord.resolve_approval((SELECT (answer ->> 'approval_id')::uuid FROM answers WHERE label = 'm3'),
                                   'approved', 'ann') ->> 'command_status', 'queued',
          'fixture: the approver approves the write; its command is queued');
INSERT INTO answers VALUES ('m3_act', concord._activate_memory_command(
    (SELECT (answer ->> 'command_id')::uuid FROM answers WHERE label = 'm3')));
SELECT is((SELECT answer ->> 'status' || '/' || (answer ->> 'superseded_memory_id') FROM answers
           WHERE label = 'm3_act'), 'active/' || concord_test.id('m2'),
          '_activate_memory_command: the approved candidate is active, superseding the active memory');
SELECT is((SELECT status FROM concord.memories WHERE memory_id = concord_test.id('m2')), 'superseded',
          '_activate_memory_command: the previous memory is superseded');
SELECT is(concord._activate_memory_command((SELECT (answer ->> 'command_id')::uuid FROM answers
                                            WHERE label = 'm3')),
          (SELECT answer FROM answers WHERE label = 'm3_act'),
          '_activate_memory_command: a replay returns the same answer');
SELECT is((SELECT count(*)::integer FROM concord.memories WHERE subject_id = 'u1' AND memory_key = 'tone'
           AND status = 'active'), 1, '_activate_memory_command: still one active memory of the key');

-- a rejected write: its candidate is deleted when the commands hook settles it
INSERT INTO answers VALUES ('m4', concord.remember(
    '{"subject_type": "organization", "subject_id": "acme", "memory_type": "fact",
      "content": "Fiscal year starts in April", "consent": true}', 'alice'));
SELECT is((SELECT answer ->> 'status' FROM answers WHERE label = 'm4'), 'candidate',
          'remember: an organization memory is a candidate (broad)');
SELECT is(concord.resolve_approval((SELECT (answer ->> 'approval_id')::uuid FROM answers WHERE label = 'm4'),
                                   'rejected', 'ann') ->> 'command_status', 'failed',
          'fixture: the approver rejects it');
SELECT lives_ok(
    format('SELECT concord._memory_command_settled(c) FROM concord.commands AS c WHERE c.command_id = %L',
           (SELECT answer ->> 'command_id' FROM answers WHERE label = 'm4')),
    '_memory_command_settled runs for a rejected write'
);
SELECT is((SELECT status || '/' || content FROM concord.memories
           WHERE memory_id = (SELECT (answer ->> 'memory_id')::uuid FROM answers WHERE label = 'm4')),
          'deleted/', '_memory_command_settled: the rejected candidate is deleted, without content');

-- the operation runs only for a memory write that wrote a memory
INSERT INTO answers VALUES ('other', jsonb_build_object('command_id', (
    SELECT s.command_id FROM concord.submit_command('fixture.work', '{}', 'alice') AS s)));
SELECT concord_test.throws_rule(
    format('SELECT concord._activate_memory_command(%L)', (SELECT answer ->> 'command_id' FROM answers
                                                           WHERE label = 'other')),
    'CN008', 'the_command_is_a_memory_write', 'CN008: only a concord.write_memory command activates a memory'
);
-- a write command submitted without concord.remember has no memory behind it
INSERT INTO answers VALUES ('bare_write', jsonb_build_object('command_id', (
    SELECT s.command_id FROM concord.submit_command('concord.write_memory',
        '{"subject_type": "organization", "subject_id": "acme", "memory_type": "fact", "confidence": 1,
          "consent": true, "sensitive": false, "content_length": 1, "content_sha256": "x"}', 'alice') AS s)));
SELECT is(concord.resolve_approval(
              (SELECT a.approval_id FROM concord.approvals AS a
               WHERE a.command_id = (SELECT (answer ->> 'command_id')::uuid FROM answers WHERE label = 'bare_write')),
              'approved', 'ann') ->> 'command_status', 'queued',
          'fixture: the bare write is approved and queued');
SELECT concord_test.throws_rule(
    format('SELECT concord._activate_memory_command(%L)', (SELECT answer ->> 'command_id' FROM answers
                                                           WHERE label = 'bare_write')),
    'CN006', 'the_command_wrote_a_memory', 'CN006: an approved write that wrote no memory activates nothing'
);

-- audit: every write and move, never the content
SELECT ok((SELECT count(*) FROM concord.domain_events WHERE target_type = 'memory'
           AND target_id = concord_test.id('m2')::text
           AND event_type IN ('memory_written', 'memory_status_changed')) = 3,
          'audit: a memory''s write and each of its status changes are recorded');
SELECT is((SELECT count(*)::integer FROM concord.domain_events WHERE target_type = 'memory'
           AND payload::text LIKE '%concise executive%'), 0,
          'audit: no audit row carries a memory''s content');

SELECT * FROM finish();
ROLLBACK;
