-- Views of memory for operators (spec 48).

CREATE OR REPLACE VIEW concord.memory_catalog AS
SELECT
    m.memory_id,
    m.subject_type,
    m.subject_id,
    m.memory_type,
    m.memory_key,
    m.status,
    m.confidence,
    m.consent,
    m.sensitive,
    m.expires_at,
    m.supersedes_memory_id,
    m.superseded_by_memory_id,
    m.written_by,
    m.command_id,
    c.status AS command_status,
    m.agent_run_id,
    m.created_at,
    m.updated_at,
    CASE WHEN m.status <> 'deleted' THEN m.content END AS content,
    m.status IN ('candidate', 'active') AND m.expires_at <= now() AS past_expiry
FROM concord.memories AS m
LEFT JOIN concord.commands AS c ON m.command_id = c.command_id;

COMMENT ON VIEW concord.memory_catalog IS
'Every memory with its status, subject, type, key, writer and the status of its write command; '
'no content for deleted ones; past_expiry flags those expire_memories will expire.';

COMMENT ON COLUMN concord.memory_catalog.memory_id IS
'The memory''s id.';

COMMENT ON COLUMN concord.memory_catalog.subject_type IS
'What kind of subject it is about (customer, project, agent, ...).';

COMMENT ON COLUMN concord.memory_catalog.subject_id IS
'Which subject it is about.';

COMMENT ON COLUMN concord.memory_catalog.memory_type IS
'What kind of memory (preference, fact, ...).';

COMMENT ON COLUMN concord.memory_catalog.memory_key IS
'Its key: one active memory per subject, type and key.';

COMMENT ON COLUMN concord.memory_catalog.status IS
'candidate, active, superseded, expired or deleted.';

COMMENT ON COLUMN concord.memory_catalog.confidence IS
'How sure the writer was (0 to 1).';

COMMENT ON COLUMN concord.memory_catalog.consent IS
'True when the subject consented to it being kept.';

COMMENT ON COLUMN concord.memory_catalog.sensitive IS
'True for sensitive content (it waits for approval).';

COMMENT ON COLUMN concord.memory_catalog.expires_at IS
'When it expires, if ever.';

COMMENT ON COLUMN concord.memory_catalog.supersedes_memory_id IS
'The memory it replaced.';

COMMENT ON COLUMN concord.memory_catalog.superseded_by_memory_id IS
'The memory that replaced it.';

COMMENT ON COLUMN concord.memory_catalog.written_by IS
'Who wrote it.';

COMMENT ON COLUMN concord.memory_catalog.command_id IS
'The concord.write_memory command that wrote it.';

COMMENT ON COLUMN concord.memory_catalog.command_status IS
'Where the command that wrote it is now (command_statuses).';

COMMENT ON COLUMN concord.memory_catalog.agent_run_id IS
'The agent that wrote it, if any.';

COMMENT ON COLUMN concord.memory_catalog.created_at IS
'When it was written.';

COMMENT ON COLUMN concord.memory_catalog.updated_at IS
'When it last changed.';

COMMENT ON COLUMN concord.memory_catalog.content IS
'What is remembered; NULL once the memory is deleted.';

COMMENT ON COLUMN concord.memory_catalog.past_expiry IS
'True when it is candidate or active and its expires_at has passed: expire_memories will expire '
'it.';
