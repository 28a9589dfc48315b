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

-- ---------------------------------------------------------------------------
-- Pure decisions
-- ---------------------------------------------------------------------------

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

-- text as a timestamptz, or NULL when it is not one.
CREATE OR REPLACE FUNCTION concord._try_timestamptz(value text)
RETURNS timestamptz
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN value::timestamptz;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
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
            format('concord.memory:%s:%s:%s:%s', m.subject_type, m.subject_id, m.memory_type, m.memory_key), 0));
    END IF;
END
$$;

-- ---------------------------------------------------------------------------
-- Guards
-- ---------------------------------------------------------------------------

-- A memory becomes active only once its write (command_id) was allowed:
-- validated by policy, approved, or run (CN011 otherwise). A memory without a
-- write command (an owner's) is not held to it.
CREATE OR REPLACE FUNCTION concord._require_allowed_write(memory_id uuid, command_id uuid)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF command_id IS NOT NULL AND NOT EXISTS (
           SELECT 1 FROM concord.commands AS c
           WHERE c.command_id = _require_allowed_write.command_id
             AND c.status IN ('validated', 'approved', 'queued', 'running', 'succeeded')) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('memory %s cannot be active: its write (command %s) has not been allowed',
                             memory_id, command_id),
            HINT = 'A memory that needs approval becomes active when its approved write runs.';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION concord._memories_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    run concord.agent_runs%ROWTYPE;
    previous concord.memories%ROWTYPE;
    problem text;
BEGIN
    IF NEW.status IS NULL OR NEW.status NOT IN ('candidate', 'active') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            MESSAGE = format('illegal transition: a new memory starts as candidate or active, not %s',
                             coalesce(NEW.status, 'NULL')),
            HINT = 'Write memories with concord.remember(memory, actor) or an agent''s write_memory tool.';
    END IF;
    IF NEW.superseded_by_memory_id IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = 'a new memory is superseded by nothing yet: superseded_by_memory_id is set on supersession';
    END IF;
    IF NEW.agent_run_id IS NOT NULL THEN
        -- the agent cannot finish while its memory is being written
        run := concord._live_agent(NEW.agent_run_id, 'writes no memory');
        problem := concord._memory_scope_problem(run.memory_scope, NEW.subject_type, NEW.subject_id,
                                                 NEW.memory_type);
        IF problem IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                MESSAGE = format('scope violation: agent run %s (%s) may not write this memory: %s',
                                 run.agent_run_id, run.agent_name, problem),
                HINT = 'An agent writes only within its memory_scope (spec 61.2).';
        END IF;
    END IF;
    IF NEW.supersedes_memory_id IS NOT NULL THEN
        SELECT * INTO previous FROM concord.memories AS m WHERE m.memory_id = NEW.supersedes_memory_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN006', MESSAGE = format('memory %s not found', NEW.supersedes_memory_id);
        END IF;
        IF (previous.subject_type, previous.subject_id, previous.memory_type)
           IS DISTINCT FROM (NEW.subject_type, NEW.subject_id, NEW.memory_type) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                MESSAGE = format('scope violation: memory %s is about %s:%s (%s), not this memory''s subject and type',
                                 previous.memory_id, previous.subject_type, previous.subject_id,
                                 previous.memory_type);
        END IF;
    END IF;
    IF NEW.status = 'active' THEN
        IF NEW.expires_at <= now() THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('a memory that expired at %s cannot be active', NEW.expires_at);
        END IF;
        PERFORM concord._require_allowed_write(NEW.memory_id, NEW.command_id);

        IF NEW.memory_key IS NOT NULL AND EXISTS (
               SELECT 1 FROM concord.memories AS m
               WHERE m.status = 'active' AND (m.subject_type, m.subject_id, m.memory_type, m.memory_key)
                   = (NEW.subject_type, NEW.subject_id, NEW.memory_type, NEW.memory_key)) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('a memory of %s:%s, type %s, key %s is already active', NEW.subject_type,
                                 NEW.subject_id, NEW.memory_type, NEW.memory_key),
                HINT = 'Write it as a candidate and supersede the active one (concord.supersede_memory).';
        END IF;
    END IF;
    NEW.created_at := now();
    NEW.updated_at := now();
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._memories_before_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    other concord.memories%ROWTYPE;
BEGIN
    IF (NEW.memory_id, NEW.subject_type, NEW.subject_id, NEW.memory_type, NEW.memory_key, NEW.confidence,
        NEW.consent, NEW.sensitive, NEW.written_by, NEW.command_id, NEW.agent_run_id, NEW.created_at)
       IS DISTINCT FROM
       (OLD.memory_id, OLD.subject_type, OLD.subject_id, OLD.memory_type, OLD.memory_key, OLD.confidence,
        OLD.consent, OLD.sensitive, OLD.written_by, OLD.command_id, OLD.agent_run_id, OLD.created_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('memory %s: its subject, type, key, confidence, consent, sensitivity and writer '
                             'are immutable', OLD.memory_id),
            HINT = 'Write a new memory and supersede this one.';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT concord._memory_transition_legal(OLD.status, NEW.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            MESSAGE = format('illegal transition: memory %s cannot go from %s to %s', OLD.memory_id, OLD.status,
                             coalesce(NEW.status, 'NULL')),
            DETAIL = 'candidate -> active | deleted | expired; active -> superseded | expired | deleted; '
                     'superseded -> deleted; expired -> deleted.';
    END IF;
    -- forgetting clears the content; nothing else rewrites it
    IF NEW.status = 'deleted' AND OLD.status <> 'deleted' THEN
        NEW.content := '';
    ELSIF NEW.content IS DISTINCT FROM OLD.content THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('memory %s: its content is immutable (deleting it clears it)', OLD.memory_id),
            HINT = 'Write a new memory and supersede this one.';
    END IF;
    IF (NEW.expires_at, NEW.metadata) IS DISTINCT FROM (OLD.expires_at, OLD.metadata)
       AND OLD.status NOT IN ('candidate', 'active') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('memory %s is %s: its expiry and metadata no longer change', OLD.memory_id, OLD.status);
    END IF;
    IF NEW.supersedes_memory_id IS DISTINCT FROM OLD.supersedes_memory_id THEN
        IF OLD.status <> 'candidate' OR NEW.status NOT IN ('candidate', 'active') THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN007',
                MESSAGE = format('memory %s is %s: what it supersedes is settled when it becomes active',
                                 OLD.memory_id, OLD.status);
        END IF;
        IF NEW.supersedes_memory_id IS NOT NULL THEN
            SELECT * INTO other FROM concord.memories AS m WHERE m.memory_id = NEW.supersedes_memory_id;
            IF NOT FOUND THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN006', MESSAGE = format('memory %s not found', NEW.supersedes_memory_id);
            END IF;
            IF (other.subject_type, other.subject_id, other.memory_type)
               IS DISTINCT FROM (NEW.subject_type, NEW.subject_id, NEW.memory_type) THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN004',
                    MESSAGE = format('scope violation: memory %s is about another subject or type than memory %s',
                                     other.memory_id, OLD.memory_id);
            END IF;
        END IF;
    END IF;
    IF NEW.superseded_by_memory_id IS DISTINCT FROM OLD.superseded_by_memory_id
       AND NOT (OLD.status = 'active' AND NEW.status = 'superseded') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('memory %s: superseded_by_memory_id is set once, when it is superseded', OLD.memory_id);
    END IF;
    IF NEW.status = 'superseded' AND OLD.status = 'active' THEN
        SELECT * INTO other FROM concord.memories AS m WHERE m.memory_id = NEW.superseded_by_memory_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('memory %s: a superseded memory names the memory that supersedes it', OLD.memory_id);
        END IF;
        IF (other.subject_type, other.subject_id, other.memory_type)
           IS DISTINCT FROM (NEW.subject_type, NEW.subject_id, NEW.memory_type) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                MESSAGE = format('scope violation: memory %s (%s:%s, %s) cannot supersede memory %s (%s:%s, %s)',
                                 other.memory_id, other.subject_type, other.subject_id, other.memory_type,
                                 OLD.memory_id, OLD.subject_type, OLD.subject_id, OLD.memory_type);
        END IF;
        -- a candidate successor must become active in the same transaction
        -- (memories_successor_becomes_active checks it at commit)
        IF other.status NOT IN ('active', 'candidate') THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('memory %s is %s: only an active memory supersedes another', other.memory_id,
                                 other.status);
        END IF;
    END IF;
    IF NEW.status = 'active' AND OLD.status <> 'active' THEN
        IF NEW.expires_at <= now() THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('memory %s expired at %s: it cannot become active', OLD.memory_id, NEW.expires_at);
        END IF;
        PERFORM concord._require_allowed_write(NEW.memory_id, NEW.command_id);

        IF NEW.memory_key IS NOT NULL AND EXISTS (
               SELECT 1 FROM concord.memories AS m
               WHERE m.status = 'active' AND m.memory_id <> NEW.memory_id
                 AND (m.subject_type, m.subject_id, m.memory_type, m.memory_key)
                     = (NEW.subject_type, NEW.subject_id, NEW.memory_type, NEW.memory_key)) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('memory %s: another memory of %s:%s, type %s, key %s is active', OLD.memory_id,
                                 NEW.subject_type, NEW.subject_id, NEW.memory_type, NEW.memory_key),
                HINT = 'Supersede the active one first (concord.supersede_memory).';
        END IF;
    END IF;
    IF NEW.status = 'expired' AND OLD.status <> 'expired' AND NEW.expires_at IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('memory %s has no expires_at: it does not expire (forget it instead)', OLD.memory_id);
    END IF;
    NEW.updated_at := greatest(now(), OLD.created_at);
    RETURN NEW;
END
$$;

-- At commit: a memory superseded by a candidate saw that candidate become
-- active (the swap of two keyed memories needs two statements).
CREATE OR REPLACE FUNCTION concord._memories_successor_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF NEW.status = 'superseded' AND EXISTS (
           SELECT 1 FROM concord.memories AS m
           WHERE m.memory_id = NEW.superseded_by_memory_id AND m.status = 'candidate') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('memory %s was superseded by memory %s, which never became active', NEW.memory_id,
                             NEW.superseded_by_memory_id);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION concord._memories_after_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    swarm uuid;
    trace text;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.status IS NOT DISTINCT FROM OLD.status THEN
        RETURN NULL;
    END IF;
    SELECT a.swarm_run_id, a.trace_id INTO swarm, trace FROM concord.agent_runs AS a
    WHERE a.agent_run_id = NEW.agent_run_id;
    trace := coalesce((SELECT c.trace_id FROM concord.commands AS c WHERE c.command_id = NEW.command_id), trace);
    -- never the content: forgetting must forget it here too
    PERFORM concord._agent_audit(
        CASE WHEN TG_OP = 'INSERT' THEN 'memory_written' ELSE 'memory_status_changed' END, 'audit',
        NEW.command_id, swarm, NEW.agent_run_id, 'memory', NEW.memory_id::text,
        CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status,
        jsonb_strip_nulls(jsonb_build_object(
            'subject_type', NEW.subject_type, 'subject_id', NEW.subject_id, 'memory_type', NEW.memory_type,
            'memory_key', NEW.memory_key, 'confidence', NEW.confidence, 'consent', NEW.consent,
            'sensitive', NEW.sensitive, 'written_by', NEW.written_by, 'expires_at', NEW.expires_at,
            'supersedes_memory_id', NEW.supersedes_memory_id,
            'superseded_by_memory_id', NEW.superseded_by_memory_id)),
        trace);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER memories_before_insert
BEFORE INSERT ON concord.memories
FOR EACH ROW EXECUTE FUNCTION concord._memories_before_insert();

CREATE OR REPLACE TRIGGER memories_before_update
BEFORE UPDATE ON concord.memories
FOR EACH ROW EXECUTE FUNCTION concord._memories_before_update();

CREATE OR REPLACE TRIGGER memories_after_write
AFTER INSERT OR UPDATE ON concord.memories
FOR EACH ROW EXECUTE FUNCTION concord._memories_after_write();

-- Constraint triggers cannot be replaced: dropped and created again.
DROP TRIGGER IF EXISTS memories_successor_becomes_active ON concord.memories;
CREATE CONSTRAINT TRIGGER memories_successor_becomes_active
AFTER UPDATE ON concord.memories
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (new.status = 'superseded' AND old.status <> 'superseded')
EXECUTE FUNCTION concord._memories_successor_check();

CREATE OR REPLACE TRIGGER memories_are_not_deleted
BEFORE DELETE ON concord.memories
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'are durable history',
    'Forget a memory with concord.forget_memory: its row stays, its content goes.'
);

CREATE OR REPLACE TRIGGER memories_are_not_truncated
BEFORE TRUNCATE ON concord.memories
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are durable history');

-- ---------------------------------------------------------------------------
-- Internal moves (the gateway, the worker and the API share them)
-- ---------------------------------------------------------------------------

-- Activates candidate m (locked by the caller), superseding the active memory
-- of the same subject, type and key in the same transaction; m records
-- supersedes (a memory its caller superseded) or else that one. Returns the
-- id of the memory of its key it superseded, or NULL.
CREATE OR REPLACE FUNCTION concord._activate_memory(
    m concord.memories, supersedes uuid DEFAULT NULL
)
RETURNS uuid
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    conflicting uuid;
BEGIN
    PERFORM concord._lock_memory_key(m);
    IF m.memory_key IS NOT NULL THEN
        SELECT x.memory_id INTO conflicting FROM concord.memories AS x
        WHERE x.status = 'active' AND x.memory_id <> m.memory_id
          AND (x.subject_type, x.subject_id, x.memory_type, x.memory_key)
              = (m.subject_type, m.subject_id, m.memory_type, m.memory_key)
        FOR UPDATE;
    END IF;
    IF coalesce(supersedes, conflicting) IS DISTINCT FROM m.supersedes_memory_id THEN
        UPDATE concord.memories AS x SET supersedes_memory_id = coalesce(supersedes, conflicting)
        WHERE x.memory_id = m.memory_id;
    END IF;
    IF conflicting IS NOT NULL THEN
        UPDATE concord.memories AS x SET status = 'superseded', superseded_by_memory_id = m.memory_id
        WHERE x.memory_id = conflicting;
    END IF;
    UPDATE concord.memories AS x SET status = 'active' WHERE x.memory_id = m.memory_id;
    RETURN conflicting;
END
$$;

-- The answer to a memory write: {memory_id, status, command_id,
-- command_status, approval_id, superseded_memory_id, supersedes_memory_id,
-- decision, reasons}. m may be NULL (the write was denied).
CREATE OR REPLACE FUNCTION concord._memory_write_answer(c concord.commands, m concord.memories)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'memory_id', m.memory_id,
        'status', m.status,
        'command_id', c.command_id,
        'command_status', c.status,
        'approval_id', (SELECT a.approval_id FROM concord.approvals AS a
                        WHERE a.command_id = c.command_id AND a.status = 'pending'
                        ORDER BY a.created_at LIMIT 1),
        'superseded_memory_id', CASE WHEN m.status <> 'candidate' THEN m.supersedes_memory_id END,
        'supersedes_memory_id', m.supersedes_memory_id,
        'decision', coalesce(c.policy_evaluation ->> 'decision', 'allow'),
        'reasons', coalesce(c.policy_evaluation -> 'reasons', '[]'::jsonb),
        'error', c.error);
END
$$;

-- A memory write (spec 23) by writer; run is the writing agent run, or NULL
-- for an application. Validates the document (CN005, every problem) and, for
-- an agent, its memory scope (CN004: the subject defaults to the scope's);
-- submits a concord.write_memory command (its memory_write policy decides),
-- records the memory as a candidate of that command and, when the policy
-- allowed, activates it and completes the command at once. A write that
-- needs approval stays a candidate (activated by _activate_memory_command
-- when the approved command runs). The command's payload carries a digest
-- of the content, not the content: forgetting a memory leaves no copy.
CREATE OR REPLACE FUNCTION concord._write_memory(writer text, run concord.agent_runs, memory jsonb)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    problems text[];
    problem text;
    doc jsonb := memory;
    payload jsonb;
    submitted record;
    c concord.commands%ROWTYPE;
    m concord.memories%ROWTYPE;
    saved text[];
BEGIN
    PERFORM concord._require('writer', writer);
    problems := concord._memory_write_problems(memory, run.agent_run_id IS NULL);
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            MESSAGE = format('invalid memory: %s problem(s)', cardinality(problems)),
            DETAIL = array_to_string(problems, E'\n');
    END IF;
    IF run.agent_run_id IS NOT NULL THEN
        IF concord._agentic_terminal('agent', run.status) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('agent run %s is %s: a finished agent writes no memory', run.agent_run_id,
                                 run.status);
        END IF;
        IF run.memory_scope <> '{}'::jsonb THEN
            doc := jsonb_build_object('subject_type', run.memory_scope -> 'subject_type',
                                      'subject_id', run.memory_scope -> 'subject_id') || doc;
        END IF;
        problem := concord._memory_scope_problem(run.memory_scope, doc ->> 'subject_type', doc ->> 'subject_id',
                                                 doc ->> 'memory_type');
        IF problem IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                MESSAGE = format('scope violation: agent run %s (%s) may not write this memory: %s',
                                 run.agent_run_id, run.agent_name, problem),
                HINT = 'An agent writes only within its memory_scope (spec 61.2).';
        END IF;
    END IF;
    -- what the policy decides on, and what a replay of the same write repeats
    payload := jsonb_strip_nulls(jsonb_build_object(
        'subject_type', doc -> 'subject_type', 'subject_id', doc -> 'subject_id',
        'memory_type', doc -> 'memory_type', 'memory_key', doc -> 'memory_key',
        'confidence', coalesce(doc -> 'confidence', '1'), 'consent', coalesce(doc -> 'consent', 'false'),
        'sensitive', coalesce(doc -> 'sensitive', 'false'), 'expires_at', doc -> 'expires_at',
        'ttl_seconds', doc -> 'ttl_seconds', 'content_length', length(doc ->> 'content'),
        'content_sha256', encode(sha256(convert_to(doc ->> 'content', 'UTF8')), 'hex'),
        'agent_run_id', run.agent_run_id));
    SELECT s.command_id, s.created INTO submitted
    FROM concord.submit_command(
        'concord.write_memory', payload, writer, CASE WHEN run.agent_run_id IS NULL THEN 'api' ELSE 'agent' END,
        jsonb_strip_nulls(jsonb_build_object('agent_run_id', run.agent_run_id, 'swarm_run_id', run.swarm_run_id,
                                             'parent_command_id', run.command_id, 'trace_id', run.trace_id)),
        doc ->> 'idempotency_key') AS s;
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = submitted.command_id FOR UPDATE;
    IF NOT submitted.created THEN
        SELECT * INTO m FROM concord.memories AS x WHERE x.command_id = c.command_id;
        RETURN concord._memory_write_answer(c, m);
    END IF;
    IF c.status IN ('failed', 'cancelled', 'expired') THEN
        RETURN concord._memory_write_answer(c, NULL);
    END IF;
    saved := concord._push_actor(writer, 'memory write');
    INSERT INTO concord.memories AS x (
        subject_type, subject_id, memory_type, memory_key, content, confidence, consent, sensitive, status,
        expires_at, written_by, command_id, agent_run_id, metadata
    ) VALUES (
        doc ->> 'subject_type', doc ->> 'subject_id', doc ->> 'memory_type', doc ->> 'memory_key',
        doc ->> 'content', coalesce((doc ->> 'confidence')::numeric, 1),
        coalesce((doc ->> 'consent')::boolean, false), coalesce((doc ->> 'sensitive')::boolean, false),
        'candidate',
        coalesce(concord._try_timestamptz(doc ->> 'expires_at'),
                 now() + make_interval(secs => (doc ->> 'ttl_seconds')::double precision)),
        writer, c.command_id, run.agent_run_id, coalesce(doc -> 'metadata', '{}')
    )
    RETURNING * INTO m;
    IF c.status = 'validated' THEN
        PERFORM concord._activate_memory(m);
        SELECT * INTO m FROM concord.memories AS x WHERE x.memory_id = m.memory_id;
        PERFORM concord._set_status(c.command_id, 'running', writer, 'the memory_write policy allowed the write');
        PERFORM concord._set_status(
            c.command_id, 'succeeded', writer, 'memory written',
            jsonb_build_object('memory_id', m.memory_id, 'status', m.status,
                               'superseded_memory_id', m.supersedes_memory_id));
    ELSIF m.memory_key IS NOT NULL THEN
        -- a candidate names the active memory it would supersede
        UPDATE concord.memories AS x SET supersedes_memory_id = (
            SELECT y.memory_id FROM concord.memories AS y
            WHERE y.status = 'active' AND (y.subject_type, y.subject_id, y.memory_type, y.memory_key)
                = (m.subject_type, m.subject_id, m.memory_type, m.memory_key))
        WHERE x.memory_id = m.memory_id
        RETURNING * INTO m;
    END IF;
    PERFORM concord._pop_actor(saved);
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = c.command_id;
    RETURN concord._memory_write_answer(c, m);
END
$$;

-- The built-in operation of an approved concord.write_memory command: its
-- candidate memory becomes active (superseding the active one of its key)
-- unless it expired or was forgotten meanwhile. Idempotent on replay.
-- Returns {memory_id, status, superseded_memory_id, command_id}.
CREATE OR REPLACE FUNCTION concord._activate_memory_command(command_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    c concord.commands%ROWTYPE := concord._lock_command(command_id);
    m concord.memories%ROWTYPE;
    newer uuid;
BEGIN
    IF c.command_type <> 'concord.write_memory' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('command %s is a %s, not a concord.write_memory', c.command_id, c.command_type);
    END IF;
    IF c.status NOT IN ('approved', 'queued', 'running', 'succeeded') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('command %s is %s: its memory is activated only once the write is allowed',
                             c.command_id, c.status);
    END IF;
    SELECT * INTO m FROM concord.memories AS x WHERE x.command_id = c.command_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006', MESSAGE = format('command %s wrote no memory', c.command_id);
    END IF;
    IF m.status = 'candidate' THEN
        -- spec 23: the approver decided against the memory it would replace;
        -- if another has replaced that one since, a person must decide again
        SELECT x.memory_id INTO newer FROM concord.memories AS x
        WHERE x.status = 'active' AND x.memory_key IS NOT NULL AND x.memory_id <> m.memory_id
          AND (x.subject_type, x.subject_id, x.memory_type, x.memory_key)
              = (m.subject_type, m.subject_id, m.memory_type, m.memory_key)
          AND x.memory_id IS DISTINCT FROM m.supersedes_memory_id;
        IF newer IS NOT NULL THEN
            UPDATE concord.memories AS x SET status = 'deleted' WHERE x.memory_id = m.memory_id;
            RETURN jsonb_build_object('refused', jsonb_build_array(jsonb_build_object(
                'code', 'CN011',
                'reason', format('memory %s was approved to replace %s, but %s has replaced it '
                'since: write it again '
                                 'to replace the newer one', m.memory_id, coalesce(m.supersedes_memory_id::text, 'none'),
                                 newer))),
                'memory_id', m.memory_id, 'status', 'deleted', 'command_id', c.command_id);
        END IF;
        IF m.expires_at <= now() THEN
            UPDATE concord.memories AS x SET status = 'expired' WHERE x.memory_id = m.memory_id;
        ELSE
            PERFORM concord._activate_memory(m);
        END IF;
        SELECT * INTO m FROM concord.memories AS x WHERE x.memory_id = m.memory_id;
    ELSIF m.status = 'deleted' AND c.status <> 'succeeded' THEN
        -- a replay of the refusal above
        RETURN jsonb_build_object('refused', jsonb_build_array(jsonb_build_object(
            'code', 'CN011', 'reason', format('memory %s was deleted before it could be activated', m.memory_id))),
            'memory_id', m.memory_id, 'status', m.status, 'command_id', c.command_id);
    END IF;
    RETURN jsonb_build_object(
        'memory_id', m.memory_id, 'status', m.status, 'command_id', c.command_id,
        'superseded_memory_id', CASE WHEN m.status <> 'candidate' THEN m.supersedes_memory_id END);
END
$$;

-- A concord.write_memory command that ended without running (rejected,
-- cancelled, expired, failed): its candidate memory is deleted. For the
-- commands trigger; idempotent.
CREATE OR REPLACE FUNCTION concord._memory_command_settled(c concord.commands)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF c.command_type = 'concord.write_memory' AND c.status IN ('failed', 'cancelled', 'expired') THEN
        UPDATE concord.memories AS x SET status = 'deleted'
        WHERE x.command_id = c.command_id AND x.status IN ('candidate', 'active');
    END IF;
END
$$;

-- Active, unexpired memories of scope's subject among types, best first:
-- ranked by full-text search when query_text is given, else newest first.
CREATE OR REPLACE FUNCTION concord._search_memories(
    scope jsonb, types text[], query_text text, max_results integer
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    found jsonb;
BEGIN
    IF query_text IS NULL THEN
        SELECT coalesce(jsonb_agg(r.doc ORDER BY r.ord), '[]') INTO found
        FROM (
            SELECT concord._memory_doc(m) AS doc,
                   row_number() OVER (ORDER BY m.updated_at DESC, m.memory_id) AS ord
            FROM concord.memories AS m
            WHERE m.status = 'active' AND m.subject_type = scope ->> 'subject_type'
              AND m.subject_id = scope ->> 'subject_id' AND m.memory_type = ANY (types)
              AND (m.expires_at IS NULL OR m.expires_at > now())
            ORDER BY m.updated_at DESC, m.memory_id
            LIMIT max_results
        ) AS r;
    ELSE
        SELECT coalesce(jsonb_agg(r.doc ORDER BY r.ord), '[]') INTO found
        FROM (
            SELECT concord._memory_doc(m) || jsonb_build_object('rank', q.rank) AS doc,
                   row_number() OVER (ORDER BY q.rank DESC, m.updated_at DESC, m.memory_id) AS ord
            FROM concord.memories AS m
            CROSS JOIN LATERAL (
                SELECT ts_rank(m.search_vector, websearch_to_tsquery('english', query_text)) AS rank
            ) AS q
            WHERE m.status = 'active' AND m.subject_type = scope ->> 'subject_type'
              AND m.subject_id = scope ->> 'subject_id' AND m.memory_type = ANY (types)
              AND (m.expires_at IS NULL OR m.expires_at > now())
              AND m.search_vector @@ websearch_to_tsquery('english', query_text)
            ORDER BY q.rank DESC, m.updated_at DESC, m.memory_id
            LIMIT max_results
        ) AS r;
    END IF;
    RETURN jsonb_build_object('memories', found, 'count', jsonb_array_length(found));
END
$$;

-- An agent's retrieval (spec 23, 61.2): query {memory_type?, memory_types?,
-- text?, limit?} within the run's memory scope only (CN004 outside it; a text
-- query needs allow_semantic_retrieval); the limit defaults to, and is capped
-- by, the scope's max_results. Returns {memories, count}.
CREATE OR REPLACE FUNCTION concord._retrieve_memory(run concord.agent_runs, query jsonb)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    scope jsonb := run.memory_scope;
    q jsonb := coalesce(query, '{}');
    unknown text[];
    types text[];
    outside text[];
    lim integer;
BEGIN
    IF run.agent_run_id IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'a retrieval is made by an agent run';
    END IF;
    IF concord._agentic_terminal('agent', run.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('agent run %s is %s: a finished agent retrieves nothing', run.agent_run_id, run.status);
    END IF;
    IF scope IS NULL OR scope = '{}'::jsonb THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            MESSAGE = format('scope violation: agent run %s (%s) has no memory access (memory_scope {})',
                             run.agent_run_id, run.agent_name);
    END IF;
    IF jsonb_typeof(q) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'a memory query must be a JSON object';
    END IF;
    unknown := ARRAY(SELECT k FROM jsonb_object_keys(q) AS k
                     WHERE k <> ALL (ARRAY['memory_type', 'memory_types', 'text', 'limit']) ORDER BY k);
    IF cardinality(unknown) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('unknown memory query keys: %s', array_to_string(unknown, ', ')),
            HINT = 'A query has memory_type, memory_types, text and limit.';
    END IF;
    IF (q ? 'memory_type' AND jsonb_typeof(q -> 'memory_type') <> 'string')
       OR (q ? 'memory_types' AND (jsonb_typeof(q -> 'memory_types') <> 'array'
                                   OR NOT concord._is_string_list(q -> 'memory_types'))) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = 'memory_type must be a string and memory_types a list of strings';
    END IF;
    IF q ? 'text' AND (jsonb_typeof(q -> 'text') <> 'string' OR btrim(q ->> 'text') = '') THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'text must be a non-blank string';
    END IF;
    IF q ? 'limit' AND (CASE WHEN jsonb_typeof(q -> 'limit') = 'number'
                            THEN (q ->> 'limit')::numeric <> floor((q ->> 'limit')::numeric)
                                 OR (q ->> 'limit')::numeric NOT BETWEEN 1 AND 1000000
                            ELSE true END) THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'limit must be a whole number, at least 1';
    END IF;
    IF q ? 'memory_type' OR q ? 'memory_types' THEN
        types := ARRAY(SELECT DISTINCT t FROM (
                           SELECT q ->> 'memory_type' AS t WHERE q ? 'memory_type'
                           UNION ALL
                           SELECT e FROM jsonb_array_elements_text(coalesce(q -> 'memory_types', '[]')) AS e
                       ) AS x);
        outside := ARRAY(SELECT unnest(types)
                         EXCEPT SELECT jsonb_array_elements_text(scope -> 'allowed_memory_types'));
        IF cardinality(outside) > 0 THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                MESSAGE = format('scope violation: agent run %s (%s) may not retrieve memory types %s (allowed: %s)',
                                 run.agent_run_id, run.agent_name, array_to_string(outside, ', '),
                                 scope -> 'allowed_memory_types');
        END IF;
    ELSE
        types := ARRAY(SELECT jsonb_array_elements_text(scope -> 'allowed_memory_types'));
    END IF;
    IF q ? 'text' AND NOT (scope -> 'allow_semantic_retrieval')::boolean THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            MESSAGE = format('scope violation: agent run %s (%s) may not search memories by text '
                             '(allow_semantic_retrieval is false)', run.agent_run_id, run.agent_name);
    END IF;
    lim := least(coalesce((q ->> 'limit')::numeric, (scope ->> 'max_results')::numeric),
                 (scope ->> 'max_results')::numeric)::integer;
    RETURN concord._search_memories(scope, types, q ->> 'text', lim);
END
$$;

-- ---------------------------------------------------------------------------
-- The application API (the Python MemoryStore)
-- ---------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION concord.remember(memory jsonb, actor text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
BEGIN
    PERFORM concord._require('actor', actor);
    RETURN concord._write_memory(actor, NULL, memory);
END
$$;

COMMENT ON FUNCTION concord.remember(jsonb, text) IS
'Write a memory (spec 23) {subject_type, subject_id, memory_type, content, memory_key?, '
'confidence?, '
'consent?, sensitive?, expires_at? | ttl_seconds?, metadata?, idempotency_key?} as a '
'concord.write_memory command: active at once when the memory_write policy allows (superseding '
'the active memory of the same key), else a candidate awaiting approval. Returns {memory_id, '
'status, command_id, command_status, approval_id, superseded_memory_id, decision, reasons}; '
'CN005 lists every problem.';

CREATE OR REPLACE FUNCTION concord.get_memory(memory_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    m concord.memories%ROWTYPE;
BEGIN
    PERFORM concord._require('memory_id', memory_id::text);
    SELECT * INTO m FROM concord.memories AS x WHERE x.memory_id = get_memory.memory_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('memory %s not found', memory_id);
    END IF;
    RETURN concord._memory_doc(m);
END
$$;

COMMENT ON FUNCTION concord.get_memory(uuid) IS
'One memory, whatever its status (a deleted one has no content); CN006 when there is none.';

CREATE OR REPLACE FUNCTION concord.search_memory(
    scope jsonb, query text DEFAULT NULL, max_results integer DEFAULT 10
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    query_text text := nullif(btrim(query), '');
BEGIN
    IF NOT coalesce(concord._is_memory_scope(scope), false) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = 'scope must be a memory scope {subject_type, subject_id, allowed_memory_types, '
                      'allow_semantic_retrieval, max_results} (spec 61.2)';
    END IF;
    IF scope = '{}'::jsonb THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            MESSAGE = 'scope violation: the empty memory scope gives no memory access';
    END IF;
    IF max_results IS NULL OR max_results < 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'max_results must be a number, at least 0';
    END IF;
    IF query_text IS NOT NULL AND NOT (scope -> 'allow_semantic_retrieval')::boolean THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            MESSAGE = 'scope violation: a text query needs allow_semantic_retrieval in the scope';
    END IF;
    RETURN concord._search_memories(
        scope, ARRAY(SELECT jsonb_array_elements_text(scope -> 'allowed_memory_types')), query_text,
        least(max_results, (scope ->> 'max_results')::integer));
END
$$;

COMMENT ON FUNCTION concord.search_memory(jsonb, text, integer) IS
'Active, unexpired memories of a scope''s subject and allowed types (spec 61.2 scope), newest '
'first, or ranked by full-text search when query is given (needs allow_semantic_retrieval, '
'CN004); at most least(max_results, the scope''s max_results). Returns {memories, count}.';

CREATE OR REPLACE FUNCTION concord.supersede_memory(
    old_memory_id uuid, new_memory_id uuid, actor text
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    old_m concord.memories%ROWTYPE;
    new_m concord.memories%ROWTYPE;
    write_status text;
    also uuid;
    saved text[];
BEGIN
    PERFORM concord._require('actor', actor);
    PERFORM concord._require('old_memory_id', old_memory_id::text);
    PERFORM concord._require('new_memory_id', new_memory_id::text);
    IF old_memory_id = new_memory_id THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'a memory does not supersede itself';
    END IF;
    -- both rows, in one order, so two supersessions cannot deadlock
    PERFORM 1 FROM concord.memories AS x WHERE x.memory_id IN (old_memory_id, new_memory_id)
    ORDER BY x.memory_id FOR UPDATE;
    SELECT * INTO old_m FROM concord.memories AS x WHERE x.memory_id = old_memory_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('memory %s not found', old_memory_id);
    END IF;
    SELECT * INTO new_m FROM concord.memories AS x WHERE x.memory_id = new_memory_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('memory %s not found', new_memory_id);
    END IF;
    IF (old_m.subject_type, old_m.subject_id, old_m.memory_type)
       IS DISTINCT FROM (new_m.subject_type, new_m.subject_id, new_m.memory_type) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            MESSAGE = format('scope violation: memory %s (%s:%s, %s) cannot supersede memory %s (%s:%s, %s)',
                             new_m.memory_id, new_m.subject_type, new_m.subject_id, new_m.memory_type,
                             old_m.memory_id, old_m.subject_type, old_m.subject_id, old_m.memory_type);
    END IF;
    -- the same supersession again changes nothing
    IF old_m.status = 'superseded' AND old_m.superseded_by_memory_id = new_m.memory_id THEN
        RETURN jsonb_build_object('old_memory_id', old_m.memory_id, 'old_status', old_m.status,
                                  'new_memory_id', new_m.memory_id, 'new_status', new_m.status,
                                  'also_superseded_memory_id', NULL);
    END IF;
    IF old_m.status <> 'active' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('memory %s is %s: only an active memory is superseded', old_m.memory_id, old_m.status);
    END IF;
    IF new_m.status NOT IN ('active', 'candidate') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('memory %s is %s: only an active or candidate memory supersedes another',
                             new_m.memory_id, new_m.status);
    END IF;
    IF new_m.status = 'candidate' THEN
        -- a candidate awaiting (or refused) approval is not activated around its approval
        SELECT c.status INTO write_status FROM concord.commands AS c WHERE c.command_id = new_m.command_id;
        IF write_status IS NOT NULL AND write_status NOT IN ('approved', 'queued', 'running', 'succeeded') THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('memory %s is a candidate whose write (command %s) is %s: it becomes active '
                                 'only once its write is approved', new_m.memory_id, new_m.command_id,
                                 write_status);
        END IF;
        IF new_m.expires_at <= now() THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('memory %s expired at %s: it cannot become active', new_m.memory_id,
                                 new_m.expires_at);
        END IF;
    END IF;
    saved := concord._push_actor(actor, format('memory %s supersedes memory %s', new_m.memory_id, old_m.memory_id));
    UPDATE concord.memories AS x SET status = 'superseded', superseded_by_memory_id = new_m.memory_id
    WHERE x.memory_id = old_m.memory_id;
    IF new_m.status = 'candidate' THEN
        -- activating it supersedes the active memory of its own key, if another
        also := concord._activate_memory(new_m, old_m.memory_id);
    END IF;
    PERFORM concord._pop_actor(saved);
    SELECT * INTO old_m FROM concord.memories AS x WHERE x.memory_id = old_m.memory_id;
    SELECT * INTO new_m FROM concord.memories AS x WHERE x.memory_id = new_m.memory_id;
    RETURN jsonb_build_object('old_memory_id', old_m.memory_id, 'old_status', old_m.status,
                              'new_memory_id', new_m.memory_id, 'new_status', new_m.status,
                              'also_superseded_memory_id', also);
END
$$;

COMMENT ON FUNCTION concord.supersede_memory(uuid, uuid, text) IS
'Mark active memory old superseded by new (same subject and type, CN004): new must be active, '
'or a candidate whose write is approved (CN011), and becomes active. Idempotent. Returns '
'{old_memory_id, old_status, new_memory_id, new_status, also_superseded_memory_id}.';

CREATE OR REPLACE FUNCTION concord.forget_memory(memory_id uuid, actor text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    m concord.memories%ROWTYPE;
    previous text;
    saved text[];
BEGIN
    PERFORM concord._require('memory_id', memory_id::text);
    PERFORM concord._require('actor', actor);
    SELECT * INTO m FROM concord.memories AS x WHERE x.memory_id = forget_memory.memory_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('memory %s not found', memory_id);
    END IF;
    previous := m.status;
    IF m.status <> 'deleted' THEN
        saved := concord._push_actor(actor, 'memory forgotten');
        UPDATE concord.memories AS x SET status = 'deleted' WHERE x.memory_id = m.memory_id RETURNING * INTO m;
        -- a write still waiting for its approval has nothing left to write
        IF previous = 'candidate' AND EXISTS (
               SELECT 1 FROM concord.commands AS c
               WHERE c.command_id = m.command_id
                 AND c.status IN ('created', 'validated', 'waiting_for_input', 'waiting_for_approval')) THEN
            PERFORM concord._cancel(m.command_id, actor, format('memory %s was forgotten', m.memory_id), NULL);
        END IF;
        PERFORM concord._pop_actor(saved);
    END IF;
    RETURN concord._memory_doc(m) || jsonb_build_object('previous_status', previous);
END
$$;

COMMENT ON FUNCTION concord.forget_memory(uuid, text) IS
'Forget a memory: status deleted, content cleared (the row and its audit stay, without content); '
'a write still awaiting approval is cancelled. Idempotent. Returns the memory with '
'previous_status.';

CREATE OR REPLACE FUNCTION concord.expire_memories(at timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
#variable_conflict use_variable
DECLARE
    pending uuid[];
    expired integer;
    saved text[];
BEGIN
    IF at IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'at is required: memories that expire by it expire';
    END IF;
    -- Expiring ahead of time is the owner's call, not an application's.
    IF at > clock_timestamp() AND NOT EXISTS (
           SELECT 1 FROM pg_catalog.pg_roles AS r
           WHERE r.rolname = session_user
             AND (r.rolsuper OR pg_has_role(r.oid, (SELECT n.nspowner FROM pg_catalog.pg_namespace AS n
                                                    WHERE n.nspname = 'concord'), 'MEMBER'))) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            MESSAGE = format('%s may not expire memories ahead of time (at %s is in the future)', session_user, at),
            HINT = 'Call concord.expire_memories() without at, or with a time that has passed.';
    END IF;
    saved := concord._push_actor('concord:expire_memories', format('expired by %s', at));
    pending := ARRAY(SELECT m.command_id FROM concord.memories AS m
                     WHERE m.status = 'candidate' AND m.expires_at <= at AND m.command_id IS NOT NULL);
    UPDATE concord.memories AS m SET status = 'expired'
    WHERE m.status IN ('candidate', 'active') AND m.expires_at <= at;
    GET DIAGNOSTICS expired = ROW_COUNT;
    -- a candidate that expired takes its pending write (and approval) with it
    PERFORM concord._cancel(c.command_id, 'concord:expire_memories', 'its memory expired', NULL)
    FROM concord.commands AS c
    WHERE c.command_id = ANY (pending) AND c.status IN ('waiting_for_approval', 'waiting_for_input', 'validated');
    PERFORM concord._pop_actor(saved);
    RETURN expired;
END
$$;

COMMENT ON FUNCTION concord.expire_memories(timestamptz) IS
'Expire every candidate or active memory whose expires_at is at or before at (default now); '
'returns how many. Idempotent; run it from a scheduler.';

-- ---------------------------------------------------------------------------
-- Views
-- ---------------------------------------------------------------------------

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
