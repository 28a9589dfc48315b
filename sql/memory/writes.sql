-- A memory write is a concord.write_memory command whose memory_write policy
-- decides: active at once, or a candidate that waits for approval.

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
          AND (x.project_id, x.subject_type, x.subject_id, x.memory_type, x.memory_key)
              = (m.project_id, m.subject_type, m.subject_id, m.memory_type, m.memory_key)
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
    saved_run text;
BEGIN
    PERFORM concord._require('writer', writer);
    problems := concord._memory_write_problems(memory, run.agent_run_id IS NULL);
    IF cardinality(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'memory_is_valid',
            MESSAGE = format('invalid memory: %s problem(s)', cardinality(problems)),
            DETAIL = array_to_string(problems, E'\n');
    END IF;
    IF run.agent_run_id IS NOT NULL THEN
        IF concord._agentic_terminal('agent', run.status) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_finished_agent_run_acts_no_more',
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
                CONSTRAINT = 'an_agent_writes_memory_within_its_scope',
                TABLE = 'memories',
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
    FROM concord._submit_command(
        'concord.write_memory', payload, writer, CASE WHEN run.agent_run_id IS NULL THEN 'api' ELSE 'agent' END,
        jsonb_strip_nulls(jsonb_build_object('agent_run_id', run.agent_run_id, 'swarm_run_id', run.swarm_run_id,
                                             'parent_command_id', run.command_id, 'trace_id', run.trace_id)),
        doc ->> 'idempotency_key', null,
        coalesce((SELECT x.project_id FROM concord.commands AS x WHERE x.command_id = run.command_id),
                 concord._chosen_project()), null) AS s;
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = submitted.command_id FOR UPDATE;
    IF NOT submitted.created THEN
        SELECT * INTO m FROM concord.memories AS x WHERE x.command_id = c.command_id;
        RETURN concord._memory_write_answer(c, m);
    END IF;
    IF c.status IN ('failed', 'cancelled', 'expired') THEN
        RETURN concord._memory_write_answer(c, NULL);
    END IF;
    saved := concord._push_actor(writer, 'memory write');
    -- the memory belongs to its write's project
    INSERT INTO concord.memories AS x (
        subject_type, subject_id, memory_type, memory_key, content, confidence, consent, sensitive, status,
        expires_at, written_by, command_id, agent_run_id, metadata, project_id
    ) VALUES (
        doc ->> 'subject_type', doc ->> 'subject_id', doc ->> 'memory_type', doc ->> 'memory_key',
        doc ->> 'content', coalesce((doc ->> 'confidence')::numeric, 1),
        coalesce((doc ->> 'consent')::boolean, false), coalesce((doc ->> 'sensitive')::boolean, false),
        'candidate',
        coalesce(concord._try_timestamptz(doc ->> 'expires_at'),
                 now() + make_interval(secs => (doc ->> 'ttl_seconds')::double precision)),
        writer, c.command_id, run.agent_run_id, coalesce(doc -> 'metadata', '{}'), c.project_id
    )
    RETURNING * INTO m;
    IF c.status = 'validated' THEN
        PERFORM concord._activate_memory(m);
        SELECT * INTO m FROM concord.memories AS x WHERE x.memory_id = m.memory_id;
        -- the kernel runs the write inline, as the command's run
        saved_run := concord._push_run('kernel:' || c.command_id);
        PERFORM concord._set_status(c.command_id, 'running', writer, 'the memory_write policy allowed the write');
        PERFORM concord._set_status(
            c.command_id, 'succeeded', writer, 'memory written',
            jsonb_build_object('memory_id', m.memory_id, 'status', m.status,
                               'superseded_memory_id', m.supersedes_memory_id));
        PERFORM concord._pop_run(saved_run);
    ELSIF m.memory_key IS NOT NULL THEN
        -- a candidate names the active memory it would supersede
        UPDATE concord.memories AS x SET supersedes_memory_id = (
            SELECT y.memory_id FROM concord.memories AS y
            WHERE y.status = 'active' AND (y.project_id, y.subject_type, y.subject_id, y.memory_type, y.memory_key)
                = (m.project_id, m.subject_type, m.subject_id, m.memory_type, m.memory_key))
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
            CONSTRAINT = 'the_command_is_a_memory_write',
            MESSAGE = format('command %s is a %s, not a concord.write_memory', c.command_id, c.command_type);
    END IF;
    IF c.status NOT IN ('approved', 'queued', 'running', 'succeeded') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_candidate_memory_becomes_active_once_its_write_is_approved',
            MESSAGE = format('command %s is %s: its memory is activated only once the write is allowed',
                             c.command_id, c.status);
    END IF;
    SELECT * INTO m FROM concord.memories AS x WHERE x.command_id = c.command_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_command_wrote_a_memory',
            MESSAGE = format('command %s wrote no memory', c.command_id);
    END IF;
    IF m.status = 'candidate' THEN
        -- spec 23: the approver decided against the memory it would replace;
        -- if another has replaced that one since, a person must decide again
        SELECT x.memory_id INTO newer FROM concord.memories AS x
        WHERE x.status = 'active' AND x.memory_key IS NOT NULL AND x.memory_id <> m.memory_id
          AND (x.project_id, x.subject_type, x.subject_id, x.memory_type, x.memory_key)
              = (m.project_id, m.subject_type, m.subject_id, m.memory_type, m.memory_key)
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
