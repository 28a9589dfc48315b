-- Memory (spec 23, 61): the pure decisions of a memory write and its scope.
--
-- Memory (spec 23, 61): durable context, scoped by subject, typed, with
-- consent, confidence, status, expiry and supersession. The guards hold
-- whoever writes concord.memories (table owner included); a write goes
-- through a command of type concord.write_memory whose memory_write policy
-- decides: active at once, or a candidate that waits for approval.
--
-- Status machine: candidate -> active | deleted | expired;
-- active -> superseded | expired | deleted; superseded -> deleted;
-- expired -> deleted. A deleted memory keeps its row (the audit names it)
-- and loses its content. The audit rows never carry content, so forgetting
-- a memory forgets it everywhere; the command of a write carries a digest.
-- Refusals: CN001 illegal transition, CN004 outside an agent's memory scope,
-- CN005 invalid memory document, CN006 not found, CN007 immutable or
-- append-only, CN008 invalid argument, CN011 state conflict.

CREATE OR REPLACE FUNCTION concord._memory_transition_legal(from_status text, to_status text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN (from_status || '>' || to_status) = ANY (ARRAY[
        'candidate>active', 'candidate>deleted', 'candidate>expired',
        'active>superseded', 'active>expired', 'active>deleted',
        'superseded>deleted', 'expired>deleted']);
END
$$;

-- Why a memory of subject_type:subject_id and memory_type is outside scope
-- (spec 61.2), or NULL when it is within.
CREATE OR REPLACE FUNCTION concord._memory_scope_problem(
    scope jsonb, subject_type text, subject_id text, memory_type text
)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF scope IS NULL OR scope = '{}'::jsonb THEN
        RETURN 'the memory scope is empty: no memory access';
    END IF;
    IF subject_type IS DISTINCT FROM scope ->> 'subject_type' OR subject_id IS DISTINCT FROM scope ->> 'subject_id' THEN
        RETURN format('subject %s:%s is not the scope''s subject %s:%s', subject_type, subject_id,
                      scope ->> 'subject_type', scope ->> 'subject_id');
    END IF;
    IF NOT coalesce(scope -> 'allowed_memory_types' ? memory_type, false) THEN
        RETURN format('memory type %s is not one of the scope''s allowed_memory_types %s', memory_type,
                      scope -> 'allowed_memory_types');
    END IF;
    RETURN NULL;
END
$$;

-- Spec 23 memory write rule, the memory_write built-in policy: a memory is
-- active at once only when confident, consented, not sensitive and not broad;
-- otherwise it requires approval. memory is the write (the command payload),
-- config the policy's {min_confidence, broad_subject_types,
-- broad_memory_types, approval_type}. Returns {decision, reasons}. A value of
-- the wrong type never allows.
CREATE OR REPLACE FUNCTION concord._memory_decision(memory jsonb, config jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    reasons text[] := '{}'::text[];
    min_confidence numeric := 0.8;
    broad_subjects jsonb := '["organization", "global"]'::jsonb;
    broad_types jsonb := '["policy"]'::jsonb;
    confidence jsonb := coalesce(memory -> 'confidence', '1'::jsonb);
    consent jsonb := coalesce(memory -> 'consent', 'false'::jsonb);
    sensitive jsonb := coalesce(memory -> 'sensitive', 'false'::jsonb);
BEGIN
    IF memory IS NULL OR jsonb_typeof(memory) <> 'object' THEN
        RETURN jsonb_build_object('decision', 'require_approval',
                                  'reasons', jsonb_build_array('the memory write is not a JSON object'));
    END IF;
    IF jsonb_typeof(config -> 'min_confidence') = 'number' THEN
        min_confidence := (config ->> 'min_confidence')::numeric;
    END IF;
    IF jsonb_typeof(config -> 'broad_subject_types') = 'array' THEN
        broad_subjects := config -> 'broad_subject_types';
    END IF;
    IF jsonb_typeof(config -> 'broad_memory_types') = 'array' THEN
        broad_types := config -> 'broad_memory_types';
    END IF;
    IF jsonb_typeof(confidence) <> 'number' THEN
        reasons := array_append(reasons, format('confidence %s is not a number', confidence));
    ELSIF (confidence #>> '{}')::numeric < min_confidence THEN
        reasons := array_append(reasons, format('confidence %s is below %s', confidence #>> '{}', min_confidence));
    END IF;
    IF consent IS DISTINCT FROM 'true'::jsonb THEN
        reasons := array_append(reasons, 'the subject has not consented to this memory');
    END IF;
    IF sensitive IS DISTINCT FROM 'false'::jsonb THEN
        reasons := array_append(reasons, 'the memory is sensitive');
    END IF;
    IF jsonb_typeof(memory -> 'subject_type') IS DISTINCT FROM 'string' THEN
        reasons := array_append(reasons, 'the memory names no subject type');
    ELSIF broad_subjects ? (memory ->> 'subject_type') THEN
        reasons := array_append(reasons, format('subject type %s is broad', memory ->> 'subject_type'));
    END IF;
    IF jsonb_typeof(memory -> 'memory_type') IS DISTINCT FROM 'string' THEN
        reasons := array_append(reasons, 'the memory names no memory type');
    ELSIF broad_types ? (memory ->> 'memory_type') THEN
        reasons := array_append(reasons, format('memory type %s is broad', memory ->> 'memory_type'));
    END IF;
    IF cardinality(reasons) > 0 THEN
        RETURN jsonb_build_object('decision', 'require_approval', 'reasons', to_jsonb(reasons));
    END IF;
    RETURN jsonb_build_object(
        'decision', 'allow',
        'reasons', jsonb_build_array(format('confidence %s >= %s, consented, not sensitive, not '
        'broad: '
                                            'written directly', confidence #>> '{}', min_confidence)));
END
$$;

-- Every problem of a memory document (spec 23 write), as text; empty when it
-- is valid. subject_required: an app write names its subject; an agent's
-- defaults to its scope's.
CREATE OR REPLACE FUNCTION concord._memory_write_problems(memory jsonb, subject_required boolean)
RETURNS text[]
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems text[] := '{}'::text[];
    unknown text[];
    expires timestamptz;
BEGIN
    IF memory IS NULL OR jsonb_typeof(memory) <> 'object' THEN
        RETURN ARRAY['the memory must be a JSON object'];
    END IF;
    unknown := ARRAY(SELECT k FROM jsonb_object_keys(memory) AS k
                     WHERE k <> ALL (ARRAY['subject_type', 'subject_id', 'memory_type', 'content', 'memory_key',
                                           'confidence', 'consent', 'sensitive', 'expires_at', 'ttl_seconds',
                                           'metadata', 'idempotency_key'])
                     ORDER BY k);
    IF cardinality(unknown) > 0 THEN
        problems := array_append(problems, format('unknown keys: %s', array_to_string(unknown, ', ')));
    END IF;
    IF memory ? 'subject_type' THEN
        IF jsonb_typeof(memory -> 'subject_type') <> 'string' OR memory ->> 'subject_type' !~ '^[a-z][a-z0-9_]*$'
           OR length(memory ->> 'subject_type') > 64 THEN
            problems := array_append(problems, 'subject_type must be a lower-case identifier of at most 64 characters');
        END IF;
    ELSIF subject_required THEN
        problems := array_append(problems, 'subject_type is required');
    END IF;
    IF memory ? 'subject_id' THEN
        IF jsonb_typeof(memory -> 'subject_id') <> 'string' OR btrim(memory ->> 'subject_id') = ''
           OR length(memory ->> 'subject_id') > 256 THEN
            problems := array_append(problems, 'subject_id must be a non-blank string of at most 256 characters');
        END IF;
    ELSIF subject_required THEN
        problems := array_append(problems, 'subject_id is required');
    END IF;
    IF NOT memory ? 'memory_type' THEN
        problems := array_append(problems, 'memory_type is required');
    ELSIF jsonb_typeof(memory -> 'memory_type') <> 'string' OR memory ->> 'memory_type' !~ '^[a-z][a-z0-9_]*$'
          OR length(memory ->> 'memory_type') > 64 THEN
        problems := array_append(problems, 'memory_type must be a lower-case identifier of at most 64 characters');
    END IF;
    IF NOT memory ? 'content' THEN
        problems := array_append(problems, 'content is required');
    ELSIF jsonb_typeof(memory -> 'content') <> 'string' OR btrim(memory ->> 'content') = ''
          OR length(memory ->> 'content') > 10000 THEN
        problems := array_append(problems, 'content must be a non-blank string of at most 10000 characters');
    END IF;
    IF jsonb_typeof(memory -> 'memory_key') NOT IN ('string', 'null')
       OR btrim(memory ->> 'memory_key') = '' OR length(memory ->> 'memory_key') > 256 THEN
        problems := array_append(problems, 'memory_key must be a non-blank string of at most 256 characters');
    END IF;
    IF memory ? 'confidence' AND (CASE WHEN jsonb_typeof(memory -> 'confidence') = 'number'
                                      THEN (memory ->> 'confidence')::numeric NOT BETWEEN 0 AND 1
                                      ELSE true END) THEN
        problems := array_append(problems, 'confidence must be a number between 0 and 1');
    END IF;
    IF memory ? 'consent' AND jsonb_typeof(memory -> 'consent') <> 'boolean' THEN
        problems := array_append(problems, 'consent must be true or false');
    END IF;
    IF memory ? 'sensitive' AND jsonb_typeof(memory -> 'sensitive') <> 'boolean' THEN
        problems := array_append(problems, 'sensitive must be true or false');
    END IF;
    IF memory ? 'expires_at' AND memory ? 'ttl_seconds' THEN
        problems := array_append(problems, 'give expires_at or ttl_seconds, not both');
    END IF;
    IF memory ? 'expires_at' THEN
        expires := CASE WHEN jsonb_typeof(memory -> 'expires_at') = 'string'
                        THEN concord._try_timestamptz(memory ->> 'expires_at') END;
        IF expires IS NULL THEN
            problems := array_append(problems, 'expires_at must be a timestamp (ISO 8601)');
        ELSIF expires <= now() THEN
            problems := array_append(problems, format('expires_at %s has already passed', expires));
        END IF;
    END IF;
    IF memory ? 'ttl_seconds' AND (CASE WHEN jsonb_typeof(memory -> 'ttl_seconds') = 'number'
                                       THEN (memory ->> 'ttl_seconds')::numeric <> floor((memory ->> 'ttl_seconds')::numeric)
                                            OR (memory ->> 'ttl_seconds')::numeric NOT BETWEEN 1 AND 3153600000
                                       ELSE true END) THEN
        problems := array_append(problems, 'ttl_seconds must be a whole number of seconds, at least 1');
    END IF;
    IF memory ? 'metadata' AND jsonb_typeof(memory -> 'metadata') <> 'object' THEN
        problems := array_append(problems, 'metadata must be a JSON object');
    END IF;
    IF memory ? 'idempotency_key' AND (jsonb_typeof(memory -> 'idempotency_key') <> 'string'
                                       OR btrim(memory ->> 'idempotency_key') = ''
                                       OR length(memory ->> 'idempotency_key') > 900) THEN
        problems := array_append(problems, 'idempotency_key must be a non-blank string of at most 900 characters');
    END IF;
    RETURN problems;
END
$$;

-- The document of a memory, as the API returns it.
CREATE OR REPLACE FUNCTION concord._memory_doc(m concord.memories)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'memory_id', m.memory_id, 'subject_type', m.subject_type, 'subject_id', m.subject_id,
        'memory_type', m.memory_type, 'memory_key', m.memory_key, 'content', m.content,
        'confidence', m.confidence, 'consent', m.consent, 'sensitive', m.sensitive, 'status', m.status,
        'expires_at', m.expires_at, 'supersedes_memory_id', m.supersedes_memory_id,
        'superseded_by_memory_id', m.superseded_by_memory_id, 'written_by', m.written_by,
        'command_id', m.command_id, 'agent_run_id', m.agent_run_id, 'metadata', m.metadata,
        'created_at', m.created_at, 'updated_at', m.updated_at);
END
$$;

-- Serialises the writers of one (subject, type, key): at most one memory of
-- it is active, and a writer must see the one it supersedes.
CREATE OR REPLACE FUNCTION concord._lock_memory_key(m concord.memories)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF m.memory_key IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(
            format('concord.memory:%s:%s:%s:%s:%s', m.project_id, m.subject_type, m.subject_id, m.memory_type,
                   m.memory_key), 0));
    END IF;
END
$$;
