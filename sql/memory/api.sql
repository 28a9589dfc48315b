-- The application's memory API.

-- An agent reaches memory through its gateway only (write_memory,
-- retrieve_memory: within its memory scope), never through the
-- application's API, which knows no scope.
CREATE OR REPLACE FUNCTION concord._refuse_agent_outside_gateway(what text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF (concord._authenticated()).agent_run_id IS NOT NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'an_agent_uses_memory_through_its_gateway',
            TABLE = 'memories',
            MESSAGE = format('%s may not call %s: an agent uses memory through write_memory and retrieve_memory, '
                             'within its memory scope', concord._principal(), what);
    END IF;
END
$$;

-- Who changes memory in project: actor (an assertion: the authenticated
-- principal or whom it may act for, an owner, admin or member there); the
-- asserting service is recorded for the audit.
CREATE OR REPLACE FUNCTION concord._acting_on_memory(asserted text, project_id uuid, what text)
RETURNS text
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    who record;
BEGIN
    PERFORM concord._refuse_agent_outside_gateway(what);
    SELECT * INTO who FROM concord._acting_principal(asserted, project_id, ARRAY['owner', 'admin', 'member'], 'actor');
    PERFORM concord._assert_on_behalf(who.asserted_by);
    RETURN who.actor;
END
$$;

CREATE OR REPLACE FUNCTION concord.remember(memory jsonb, actor text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
BEGIN
    RETURN concord._write_memory(concord._acting_on_memory(actor, concord._chosen_project(), 'remember'), NULL, memory);
END
$$;

COMMENT ON FUNCTION concord.remember(jsonb, text) IS
'Write a memory (spec 23) {subject_type, subject_id, memory_type, content, memory_key?, '
'confidence?, '
'consent?, sensitive?, expires_at? | ttl_seconds?, metadata?, idempotency_key?} as a '
'concord.write_memory command: active at once when the memory_write policy allows (superseding '
'the active memory of the same key), else a candidate awaiting approval. Returns {memory_id, '
'status, command_id, command_status, approval_id, superseded_memory_id, decision, reasons}; '
'CN005 lists every problem. The memory belongs to the chosen project (concord.use_project, or the '
'caller''s only one); actor is checked: the authenticated principal (NULL: itself) or one it may '
'act for, an owner, admin or member there (CN012). Agents write through write_memory.';

CREATE OR REPLACE FUNCTION concord.get_memory(memory_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    m concord.memories%ROWTYPE;
BEGIN
    PERFORM concord._require('memory_id', memory_id::text);
    PERFORM concord._refuse_agent_outside_gateway('get_memory');
    SELECT * INTO m FROM concord.memories AS x WHERE x.memory_id = get_memory.memory_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006', CONSTRAINT = 'the_memory_exists',
            MESSAGE = format('memory %s not found', memory_id);
    END IF;
    RETURN concord._memory_doc(m);
END
$$;

COMMENT ON FUNCTION concord.get_memory(uuid) IS
'One memory, whatever its status (a deleted one has no content); CN006 when there is none or it '
'belongs to a project the caller is no member of.';

CREATE OR REPLACE FUNCTION concord.search_memory(
    scope jsonb, query text DEFAULT NULL, max_results integer DEFAULT 10
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    query_text text := nullif(btrim(query), '');
BEGIN
    PERFORM concord._refuse_agent_outside_gateway('search_memory');
    IF NOT coalesce(concord._is_memory_scope(scope), false) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'search_memory_scope_is_a_memory_scope',
            MESSAGE = 'scope must be a memory scope {subject_type, subject_id, allowed_memory_types, '
                      'allow_semantic_retrieval, max_results} (spec 61.2)';
    END IF;
    IF scope = '{}'::jsonb THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'the_empty_memory_scope_gives_no_access',
            MESSAGE = 'scope violation: the empty memory scope gives no memory access';
    END IF;
    IF max_results IS NULL OR max_results < 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008', CONSTRAINT = 'max_results_is_at_least_0',
            MESSAGE = 'max_results must be a number, at least 0';
    END IF;
    IF query_text IS NOT NULL AND NOT (scope -> 'allow_semantic_retrieval')::boolean THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'a_text_query_needs_semantic_retrieval',
            MESSAGE = 'scope violation: a text query needs allow_semantic_retrieval in the scope';
    END IF;
    RETURN concord._search_memories(
        scope, ARRAY(SELECT jsonb_array_elements_text(scope -> 'allowed_memory_types')), query_text,
        least(max_results, (scope ->> 'max_results')::integer),
        -- the chosen project when there is one, else every project the caller sees
        CASE WHEN nullif(current_setting('concord.project', true), '') IS NOT NULL
             THEN concord._chosen_project() END);
END
$$;

COMMENT ON FUNCTION concord.search_memory(jsonb, text, integer) IS
'Active, unexpired memories of a scope''s subject and allowed types (spec 61.2 scope), newest '
'first, or ranked by full-text search when query is given (needs allow_semantic_retrieval, '
'CN004); at most least(max_results, the scope''s max_results). Only memories of the caller''s '
'projects (of the chosen one, after concord.use_project). Returns {memories, count}.';

CREATE OR REPLACE FUNCTION concord.supersede_memory(
    old_memory_id uuid, new_memory_id uuid, actor text
)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    old_m concord.memories%ROWTYPE;
    new_m concord.memories%ROWTYPE;
    write_status text;
    also uuid;
    saved text[];
BEGIN
    PERFORM concord._refuse_agent_outside_gateway('supersede_memory');
    PERFORM concord._require('old_memory_id', old_memory_id::text);
    PERFORM concord._require('new_memory_id', new_memory_id::text);
    IF old_memory_id = new_memory_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008', CONSTRAINT = 'supersede_memory_takes_two_memories',
            MESSAGE = 'a memory does not supersede itself';
    END IF;
    -- both rows, in one order, so two supersessions cannot deadlock
    PERFORM 1 FROM concord.memories AS x WHERE x.memory_id IN (old_memory_id, new_memory_id)
    ORDER BY x.memory_id FOR UPDATE;
    SELECT * INTO old_m FROM concord.memories AS x WHERE x.memory_id = old_memory_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006', CONSTRAINT = 'the_memory_exists',
            MESSAGE = format('memory %s not found', old_memory_id);
    END IF;
    SELECT * INTO new_m FROM concord.memories AS x WHERE x.memory_id = new_memory_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006', CONSTRAINT = 'the_memory_exists',
            MESSAGE = format('memory %s not found', new_memory_id);
    END IF;
    actor := concord._acting_on_memory(actor, old_m.project_id, 'supersede_memory');
    IF (old_m.project_id, old_m.subject_type, old_m.subject_id, old_m.memory_type)
       IS DISTINCT FROM (new_m.project_id, new_m.subject_type, new_m.subject_id, new_m.memory_type) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN004',
            CONSTRAINT = 'a_memory_supersedes_one_of_the_same_subject_and_type',
            TABLE = 'memories',
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
            CONSTRAINT = 'only_an_active_memory_is_superseded',
            MESSAGE = format('memory %s is %s: only an active memory is superseded', old_m.memory_id, old_m.status);
    END IF;
    IF new_m.status NOT IN ('active', 'candidate') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_successor_is_active_or_candidate',
            TABLE = 'memories',
            MESSAGE = format('memory %s is %s: only an active or candidate memory supersedes another',
                             new_m.memory_id, new_m.status);
    END IF;
    IF new_m.status = 'candidate' THEN
        -- a candidate awaiting (or refused) approval is not activated around its approval
        SELECT c.status INTO write_status FROM concord.commands AS c WHERE c.command_id = new_m.command_id;
        IF write_status IS NOT NULL AND write_status NOT IN ('approved', 'queued', 'running', 'succeeded') THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_candidate_memory_becomes_active_once_its_write_is_approved',
                MESSAGE = format('memory %s is a candidate whose write (command %s) is %s: it becomes active '
                                 'only once its write is approved', new_m.memory_id, new_m.command_id,
                                 write_status);
        END IF;
        IF new_m.expires_at <= now() THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'an_expired_memory_is_not_active',
                TABLE = 'memories',
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
'Mark active memory old superseded by new (same project, subject and type, CN004): new must be '
'active, or a candidate whose write is approved (CN011), and becomes active. Idempotent. Returns '
'{old_memory_id, old_status, new_memory_id, new_status, also_superseded_memory_id}. actor is '
'checked: the authenticated principal (NULL: itself) or one it may act for, an owner, admin or '
'member of the memory''s project (CN012).';

CREATE OR REPLACE FUNCTION concord.forget_memory(memory_id uuid, actor text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
DECLARE
    m concord.memories%ROWTYPE;
    previous text;
    saved text[];
BEGIN
    PERFORM concord._require('memory_id', memory_id::text);
    PERFORM concord._refuse_agent_outside_gateway('forget_memory');
    SELECT * INTO m FROM concord.memories AS x WHERE x.memory_id = forget_memory.memory_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006', CONSTRAINT = 'the_memory_exists',
            MESSAGE = format('memory %s not found', memory_id);
    END IF;
    actor := concord._acting_on_memory(actor, m.project_id, 'forget_memory');
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
'previous_status. actor is checked as supersede_memory''s.';

CREATE OR REPLACE FUNCTION concord.expire_memories(at timestamptz DEFAULT now())
RETURNS integer
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
#variable_conflict use_variable
DECLARE
    pending uuid[];
    expired integer;
    saved text[];
BEGIN
    IF at IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008', CONSTRAINT = 'required_argument_is_not_blank',
            MESSAGE = 'at is required: memories that expire by it expire';
    END IF;
    -- Expiring ahead of time is the owner's call, not an application's.
    IF at > clock_timestamp() AND NOT EXISTS (
           SELECT 1 FROM pg_catalog.pg_roles AS r
           WHERE r.rolname = session_user
             AND (r.rolsuper OR pg_has_role(r.oid, (SELECT n.nspowner FROM pg_catalog.pg_namespace AS n
                                                    WHERE n.nspname = 'concord'), 'MEMBER'))) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'only_the_owner_expires_memories_ahead_of_time',
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
