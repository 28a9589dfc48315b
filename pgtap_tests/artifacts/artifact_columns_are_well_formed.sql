-- The CHECK constraints of concord.artifacts (spec 24), each attacked by a raw
-- insert or update as the table owner: a known status, a lowercase type, a
-- name and a creator that are not blank, a location or some content (small
-- when inline), metadata that is an object, a positive version, an operation's
-- key that is not blank.
BEGIN;
SELECT plan(11);

DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "fixture.work", "name": "x", "sync_allowed": true}');
    PERFORM concord.add_team_member('team:approvers', 'ann');
END $$;

CREATE FUNCTION pg_temp.keep(label text, id uuid)
RETURNS uuid
LANGUAGE sql
AS $$ INSERT INTO concord_test.fixture (label, id) VALUES (label, id) RETURNING id $$;

SELECT pg_temp.keep('cmd', s.command_id) IS NOT NULL AS fixture
FROM concord.submit_command('fixture.work', '{}', 'alice') AS s \gset
WITH x AS (
    INSERT INTO concord.artifacts (command_id, artifact_type, name, content, created_by)
    VALUES (concord_test.id('cmd'), 'report', 'target', '1', 'owner') RETURNING artifact_id
)
SELECT pg_temp.keep('art', x.artifact_id) IS NOT NULL AS fixture FROM x \gset

SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, artifact_type, name, content, created_by, location)
             VALUES (%L, 'report', 'x', NULL, 'me', NULL)$$, concord_test.id('cmd')),
    '23514', 'an_artifact_has_a_location_or_content', 'an artifact has a location or content'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, artifact_type, name, content, created_by, location)
             VALUES (%L, 'report', 'x', '1', 'me', ' ')$$, concord_test.id('cmd')),
    '23514', 'location_is_not_blank', 'a location is not blank'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, artifact_type, name, content, created_by, idempotency_key)
             VALUES (%L, 'report', 'x', '1', 'me', ' ')$$, concord_test.id('cmd')),
    '23514', 'artifact_idempotency_key_is_not_blank', 'an operation''s artifact key is not blank'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, artifact_type, name, content, created_by)
             VALUES (%L, 'Report', 'x', '1', 'me')$$, concord_test.id('cmd')),
    '23514', 'artifact_type_is_a_lowercase_word', 'an artifact type is a lowercase word'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, artifact_type, name, content, created_by)
             VALUES (%L, 'report', ' ', '1', 'me')$$, concord_test.id('cmd')),
    '23514', 'artifact_name_is_not_blank', 'an artifact name is not blank'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, artifact_type, name, content, created_by)
             VALUES (%L, 'report', repeat('n', 257), '1', 'me')$$, concord_test.id('cmd')),
    '23514', 'artifact_name_is_not_blank', 'an artifact name is at most 256 characters'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, artifact_type, name, content, created_by, metadata)
             VALUES (%L, 'report', 'x', '1', 'me', '[]')$$, concord_test.id('cmd')),
    '23514', 'artifact_metadata_is_an_object', 'metadata is a JSON object'
);
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.artifacts (command_id, artifact_type, name, content, created_by)
             VALUES (%L, 'report', 'x', (SELECT jsonb_agg(md5(i::text)) FROM generate_series(1, 3000) AS i), 'me')$$, concord_test.id('cmd')),
    '23514', 'inline_content_is_small', 'inline content is at most 64 kB'
);
-- the guards refuse or set these first: the CHECKs hold even for a writer that skips the triggers
SET LOCAL session_replication_role = replica;
SELECT concord_test.throws_rule(
    format($$UPDATE concord.artifacts SET status = 'archived' WHERE artifact_id = %L$$, concord_test.id('art')),
    '23514', 'artifact_status_is_known', 'an artifact status is a known one'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.artifacts SET created_by = ' ' WHERE artifact_id = %L$$, concord_test.id('art')),
    '23514', 'created_by_is_not_blank', 'an artifact''s creator is named'
);
SELECT concord_test.throws_rule(
    format($$UPDATE concord.artifacts SET version = 0 WHERE artifact_id = %L$$, concord_test.id('art')),
    '23514', 'version_is_positive', 'a version is at least 1'
);
SET LOCAL session_replication_role = origin;

SELECT * FROM finish();
ROLLBACK;
