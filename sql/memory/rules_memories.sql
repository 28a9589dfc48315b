-- memories: the guards that hold whoever writes (table owner included).

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
            CONSTRAINT = 'an_active_memory_was_allowed_to_be_written',
            TABLE = 'memories',
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
            CONSTRAINT = 'a_new_memory_starts_candidate_or_active',
            TABLE = 'memories',
            MESSAGE = format('illegal transition: a new memory starts as candidate or active, not %s',
                             coalesce(NEW.status, 'NULL')),
            HINT = 'Write memories with concord.remember(memory, actor) or an agent''s write_memory tool.';
    END IF;
    IF NEW.superseded_by_memory_id IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_new_memory_is_superseded_by_nothing',
            TABLE = 'memories',
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
                CONSTRAINT = 'an_agent_writes_memory_within_its_scope',
                TABLE = 'memories',
                MESSAGE = format('scope violation: agent run %s (%s) may not write this memory: %s',
                                 run.agent_run_id, run.agent_name, problem),
                HINT = 'An agent writes only within its memory_scope (spec 61.2).';
        END IF;
    END IF;
    IF NEW.supersedes_memory_id IS NOT NULL THEN
        SELECT * INTO previous FROM concord.memories AS m WHERE m.memory_id = NEW.supersedes_memory_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN006',
                CONSTRAINT = 'the_superseded_memory_exists',
                TABLE = 'memories',
                MESSAGE = format('memory %s not found', NEW.supersedes_memory_id);
        END IF;
        IF (previous.subject_type, previous.subject_id, previous.memory_type)
           IS DISTINCT FROM (NEW.subject_type, NEW.subject_id, NEW.memory_type) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                CONSTRAINT = 'a_memory_supersedes_one_of_the_same_subject_and_type',
                TABLE = 'memories',
                MESSAGE = format('scope violation: memory %s is about %s:%s (%s), not this memory''s subject and type',
                                 previous.memory_id, previous.subject_type, previous.subject_id,
                                 previous.memory_type);
        END IF;
    END IF;
    IF NEW.status = 'active' THEN
        IF NEW.expires_at <= now() THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'an_expired_memory_is_not_active',
                TABLE = 'memories',
                MESSAGE = format('a memory that expired at %s cannot be active', NEW.expires_at);
        END IF;
        PERFORM concord._require_allowed_write(NEW.memory_id, NEW.command_id);

        IF NEW.memory_key IS NOT NULL AND EXISTS (
               SELECT 1 FROM concord.memories AS m
               WHERE m.status = 'active' AND (m.project_id, m.subject_type, m.subject_id, m.memory_type, m.memory_key)
                   = (NEW.project_id, NEW.subject_type, NEW.subject_id, NEW.memory_type, NEW.memory_key)) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'one_memory_per_key_is_active',
                TABLE = 'memories',
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
        NEW.consent, NEW.sensitive, NEW.written_by, NEW.command_id, NEW.agent_run_id, NEW.created_at, NEW.project_id)
       IS DISTINCT FROM
       (OLD.memory_id, OLD.subject_type, OLD.subject_id, OLD.memory_type, OLD.memory_key, OLD.confidence,
        OLD.consent, OLD.sensitive, OLD.written_by, OLD.command_id, OLD.agent_run_id, OLD.created_at, OLD.project_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'memory_identity_is_immutable',
            TABLE = 'memories',
            MESSAGE = format('memory %s: its project, subject, type, key, confidence, consent, sensitivity and '
                             'writer are immutable', OLD.memory_id),
            HINT = 'Write a new memory and supersede this one.';
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT concord._memory_transition_legal(OLD.status, NEW.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            CONSTRAINT = 'a_memory_status_change_follows_the_state_machine',
            TABLE = 'memories',
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
            CONSTRAINT = 'memory_content_is_immutable',
            TABLE = 'memories',
            MESSAGE = format('memory %s: its content is immutable (deleting it clears it)', OLD.memory_id),
            HINT = 'Write a new memory and supersede this one.';
    END IF;
    IF (NEW.expires_at, NEW.metadata) IS DISTINCT FROM (OLD.expires_at, OLD.metadata)
       AND OLD.status NOT IN ('candidate', 'active') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_settled_memory_keeps_its_expiry_and_metadata',
            TABLE = 'memories',
            MESSAGE = format('memory %s is %s: its expiry and metadata no longer change', OLD.memory_id, OLD.status);
    END IF;
    IF NEW.supersedes_memory_id IS DISTINCT FROM OLD.supersedes_memory_id THEN
        IF OLD.status <> 'candidate' OR NEW.status NOT IN ('candidate', 'active') THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN007',
                CONSTRAINT = 'what_a_memory_supersedes_is_settled_while_it_is_a_candidate',
                TABLE = 'memories',
                MESSAGE = format('memory %s is %s: what it supersedes is settled when it becomes active',
                                 OLD.memory_id, OLD.status);
        END IF;
        IF NEW.supersedes_memory_id IS NOT NULL THEN
            SELECT * INTO other FROM concord.memories AS m WHERE m.memory_id = NEW.supersedes_memory_id;
            IF NOT FOUND THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN006',
                    CONSTRAINT = 'the_superseded_memory_exists',
                    TABLE = 'memories',
                    MESSAGE = format('memory %s not found', NEW.supersedes_memory_id);
            END IF;
            IF (other.project_id, other.subject_type, other.subject_id, other.memory_type)
               IS DISTINCT FROM (NEW.project_id, NEW.subject_type, NEW.subject_id, NEW.memory_type) THEN
                RAISE EXCEPTION USING
                    ERRCODE = 'CN004',
                    CONSTRAINT = 'a_memory_supersedes_one_of_the_same_subject_and_type',
                    TABLE = 'memories',
                    MESSAGE = format('scope violation: memory %s is about another subject or type than memory %s',
                                     other.memory_id, OLD.memory_id);
            END IF;
        END IF;
    END IF;
    IF NEW.superseded_by_memory_id IS DISTINCT FROM OLD.superseded_by_memory_id
       AND NOT (OLD.status = 'active' AND NEW.status = 'superseded') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'superseded_by_is_set_once_on_supersession',
            TABLE = 'memories',
            MESSAGE = format('memory %s: superseded_by_memory_id is set once, when it is superseded', OLD.memory_id);
    END IF;
    IF NEW.status = 'superseded' AND OLD.status = 'active' THEN
        SELECT * INTO other FROM concord.memories AS m WHERE m.memory_id = NEW.superseded_by_memory_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_superseded_memory_names_an_existing_successor',
                TABLE = 'memories',
                MESSAGE = format('memory %s: a superseded memory names the memory that supersedes it', OLD.memory_id);
        END IF;
        IF (other.project_id, other.subject_type, other.subject_id, other.memory_type)
           IS DISTINCT FROM (NEW.project_id, NEW.subject_type, NEW.subject_id, NEW.memory_type) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN004',
                CONSTRAINT = 'a_memory_supersedes_one_of_the_same_subject_and_type',
                TABLE = 'memories',
                MESSAGE = format('scope violation: memory %s (%s:%s, %s) cannot supersede memory %s (%s:%s, %s)',
                                 other.memory_id, other.subject_type, other.subject_id, other.memory_type,
                                 OLD.memory_id, OLD.subject_type, OLD.subject_id, OLD.memory_type);
        END IF;
        -- a candidate successor must become active in the same transaction
        -- (memories_successor_becomes_active checks it at commit)
        IF other.status NOT IN ('active', 'candidate') THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_successor_is_active_or_candidate',
                TABLE = 'memories',
                MESSAGE = format('memory %s is %s: only an active memory supersedes another', other.memory_id,
                                 other.status);
        END IF;
    END IF;
    IF NEW.status = 'active' AND OLD.status <> 'active' THEN
        IF NEW.expires_at <= now() THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'an_expired_memory_is_not_active',
                TABLE = 'memories',
                MESSAGE = format('memory %s expired at %s: it cannot become active', OLD.memory_id, NEW.expires_at);
        END IF;
        PERFORM concord._require_allowed_write(NEW.memory_id, NEW.command_id);

        IF NEW.memory_key IS NOT NULL AND EXISTS (
               SELECT 1 FROM concord.memories AS m
               WHERE m.status = 'active' AND m.memory_id <> NEW.memory_id
                 AND (m.project_id, m.subject_type, m.subject_id, m.memory_type, m.memory_key)
                     = (NEW.project_id, NEW.subject_type, NEW.subject_id, NEW.memory_type, NEW.memory_key)) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'one_memory_per_key_is_active',
                TABLE = 'memories',
                MESSAGE = format('memory %s: another memory of %s:%s, type %s, key %s is active', OLD.memory_id,
                                 NEW.subject_type, NEW.subject_id, NEW.memory_type, NEW.memory_key),
                HINT = 'Supersede the active one first (concord.supersede_memory).';
        END IF;
    END IF;
    IF NEW.status = 'expired' AND OLD.status <> 'expired' AND NEW.expires_at IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'only_a_memory_with_an_expiry_expires',
            TABLE = 'memories',
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
            CONSTRAINT = 'a_candidate_successor_becomes_active_by_commit',
            TABLE = 'memories',
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
