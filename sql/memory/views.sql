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
