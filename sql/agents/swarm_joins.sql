-- Joining a swarm: join_children applied to a swarm's record, through the
-- children's artifacts and their evaluations.

-- The children of a swarm as join_children reads them: every agent run but
-- the root, in spawn order, with its artifacts (evaluations nested under the
-- artifact they evaluate).
CREATE OR REPLACE FUNCTION concord._swarm_children(swarm_run_id uuid)
RETURNS jsonb
LANGUAGE sql
STABLE
SET search_path = concord, pg_temp
AS $$
    SELECT coalesce(jsonb_agg(jsonb_build_object(
        'agent_run_id', a.agent_run_id, 'agent_name', a.agent_name, 'agent_role', a.agent_role,
        'status', a.status, 'result', a.result,
        'artifacts', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                -- an agent's own score for its own work does not count: it is
                -- ranked by the evaluations others wrote
                'artifact_id', x.artifact_id, 'artifact_type', x.artifact_type, 'name', x.name,
                'version', x.version, 'score', CASE WHEN x.agent_run_id IS NULL THEN x.score END,
                'status', x.status, 'content', x.content,
                'location', x.location,
                'evaluations', coalesce((
                    SELECT jsonb_agg(jsonb_build_object(
                        'evaluation_artifact_id', e.artifact_id, 'decision', e.content -> 'decision',
                        'confidence', e.content -> 'confidence', 'score', e.score,
                        'evaluator_role', e.content -> 'evaluator_role') ORDER BY e.created_at, e.artifact_id)
                    FROM concord.artifact_lineage AS l
                    INNER JOIN concord.artifacts AS e ON l.artifact_id = e.artifact_id
                    WHERE l.parent_artifact_id = x.artifact_id AND e.artifact_type = 'evaluation'
                      AND e.status NOT IN ('cancelled', 'superseded')
                      -- nobody grades their own work
                      AND e.agent_run_id IS DISTINCT FROM x.agent_run_id), '[]'::jsonb)
            ) ORDER BY x.created_at, x.artifact_id)
            FROM concord.artifacts AS x
            WHERE x.agent_run_id = a.agent_run_id AND x.artifact_type <> 'evaluation'), '[]'::jsonb)
    ) ORDER BY a.created_at, a.agent_run_id), '[]'::jsonb)
    FROM concord.agent_runs AS a
    WHERE a.swarm_run_id = _swarm_children.swarm_run_id AND a.parent_agent_run_id IS NOT NULL
$$;

-- A concord.swarm_review command reached a decision: approved (or beyond) ->
-- the swarm succeeded; failed (rejected) or expired -> failed; cancelled ->
-- cancelled. Called from the commands trigger; idempotent.
CREATE OR REPLACE FUNCTION concord._swarm_review_settled(c concord.commands)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    s concord.swarm_runs%ROWTYPE;
    to_status text;
BEGIN
    IF c.command_type IS DISTINCT FROM 'concord.swarm_review'
       OR NOT concord._is_uuid(c.payload ->> 'swarm_run_id') THEN
        RETURN;
    END IF;
    to_status := CASE WHEN c.status IN ('approved', 'queued', 'running', 'succeeded') THEN 'succeeded'
                      WHEN c.status IN ('failed', 'expired') THEN 'failed'
                      WHEN c.status = 'cancelled' THEN 'cancelled' END;
    IF to_status IS NULL THEN
        RETURN;
    END IF;
    SELECT * INTO s FROM concord.swarm_runs AS x WHERE x.swarm_run_id = (c.payload ->> 'swarm_run_id')::uuid
    FOR NO KEY UPDATE;
    IF NOT FOUND OR s.status <> 'waiting_for_approval' THEN
        RETURN;
    END IF;
    UPDATE concord.swarm_runs AS x SET
        status = to_status,
        join_decision = coalesce(x.join_decision, '{}'::jsonb) || jsonb_build_object(
            'review', jsonb_build_object('command_id', c.command_id, 'status', c.status, 'error', c.error),
            'decision', to_status),
        result = coalesce(x.join_decision, '{}'::jsonb) || jsonb_build_object('decision', to_status),
        error = CASE WHEN to_status <> 'succeeded'
                     THEN format('the review of the join (command %s) is %s%s', c.command_id, c.status,
                                 coalesce(': ' || c.error, '')) END,
        cancel_reason = CASE WHEN to_status = 'cancelled' THEN coalesce(x.cancel_reason, 'the review was cancelled')
                             ELSE x.cancel_reason END
    WHERE x.swarm_run_id = s.swarm_run_id;
END
$$;

-- Joins swarm swarm_run_id as actor (spec 53, 68.3): builds its children,
-- applies its join strategy, stores and audits the decision, and moves the
-- swarm: running -> joining -> succeeded | partially_succeeded | failed, or
-- joining -> waiting_for_approval (human_review: a concord.swarm_review
-- command asks a person), or stays joining (a delegated strategy: the
-- coordinator finishes it). A deterministic strategy (and human_review)
-- needs every child finished (CN011 naming the live ones); first_success
-- needs one succeeded, and cancels the others still live. Joining again
-- returns the stored decision.
CREATE OR REPLACE FUNCTION concord._join_swarm(swarm_run_id uuid, actor text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    s concord.swarm_runs%ROWTYPE;
    children jsonb;
    live_ones text;
    decision jsonb;
    to_status text;
    review record;
    review_command concord.commands%ROWTYPE;
    saved text[];
BEGIN
    PERFORM concord._require('actor', actor);
    PERFORM concord._require('swarm_run_id', swarm_run_id::text);
    SELECT * INTO s FROM concord.swarm_runs AS x WHERE x.swarm_run_id = _join_swarm.swarm_run_id FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006', CONSTRAINT = 'the_swarm_run_exists',
            MESSAGE = format('swarm run %s not found', swarm_run_id);
    END IF;
    IF s.join_decision IS NOT NULL
       AND (s.status IN ('joining', 'waiting_for_approval') OR concord._agentic_terminal('swarm', s.status)) THEN
        RETURN s.join_decision;
    END IF;
    IF s.status NOT IN ('running', 'joining') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'only_a_running_swarm_is_joined',
            MESSAGE = format('swarm run %s is %s: only a running swarm is joined', s.swarm_run_id, s.status);
    END IF;
    children := concord._swarm_children(s.swarm_run_id);
    SELECT string_agg(format('%s (%s, %s)', c.child ->> 'agent_name', c.child ->> 'agent_run_id',
                             c.child ->> 'status'), ', ')
    INTO live_ones
    FROM jsonb_array_elements(children) AS c (child)
    WHERE NOT concord._agentic_terminal('agent', c.child ->> 'status');
    -- a spawn still waiting for its approval is a child to come
    SELECT concat_ws(', ', live_ones, string_agg(format('a spawn of %s waiting (command %s, %s)',
                                                         x.payload ->> 'agent_name', x.command_id, x.status), ', '))
    INTO live_ones
    FROM concord.commands AS x
    INNER JOIN concord.agent_runs AS p ON x.requested_by = 'agent:' || p.agent_run_id
    WHERE x.command_type = 'spawn_subagent' AND p.swarm_run_id = s.swarm_run_id
      AND x.status IN ('waiting_for_approval', 'waiting_for_input', 'approved', 'queued', 'running');
    live_ones := nullif(live_ones, '');
    IF live_ones IS NOT NULL
       AND (s.join_strategy IN ('all_success', 'quorum', 'evaluator_selection', 'best_of_n', 'consensus',
                                'human_review')
            OR (s.join_strategy = 'first_success'
                AND NOT children @> '[{"status": "succeeded"}]'::jsonb)) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'a_swarm_is_not_joined_while_children_are_live',
            MESSAGE = format('swarm run %s cannot be joined (%s) while child agents are live: %s', s.swarm_run_id,
                             s.join_strategy, live_ones),
            HINT = 'Join once they have finished, or cancel them.';
    END IF;
    decision := concord.join_children(s.join_strategy, children, s.join_options)
        || jsonb_build_object('swarm_run_id', s.swarm_run_id, 'joined_by', actor, 'joined_at', now());
    saved := concord._push_actor(actor, format('join (%s)', s.join_strategy));
    IF s.status = 'running' THEN
        UPDATE concord.swarm_runs AS x SET status = 'joining' WHERE x.swarm_run_id = s.swarm_run_id;
    END IF;
    CASE decision ->> 'decision'
    WHEN 'waiting_for_approval' THEN
        SELECT r.command_id, r.status INTO review
        FROM concord._submit_command(
            'concord.swarm_review', jsonb_build_object('swarm_run_id', s.swarm_run_id, 'join_decision', decision),
            actor, 'api',
            jsonb_build_object('swarm_run_id', s.swarm_run_id, 'parent_command_id', s.command_id,
                               'trace_id', s.trace_id),
            'concord.swarm_review:' || s.swarm_run_id, null,
            (SELECT x.project_id FROM concord.commands AS x WHERE x.command_id = s.command_id), null) AS r;
        decision := decision || jsonb_build_object(
            'command_id', review.command_id,
            'approval_id', (SELECT a.approval_id FROM concord.approvals AS a
                            WHERE a.command_id = review.command_id AND a.status = 'pending'
                            ORDER BY a.created_at LIMIT 1));
        UPDATE concord.swarm_runs AS x SET status = 'waiting_for_approval', join_decision = decision
        WHERE x.swarm_run_id = s.swarm_run_id;
        -- a review that was settled at once (denied by a policy, say) settles the swarm
        SELECT * INTO review_command FROM concord.commands AS c WHERE c.command_id = review.command_id;
        PERFORM concord._swarm_review_settled(review_command);
    WHEN 'delegated' THEN
        UPDATE concord.swarm_runs AS x SET join_decision = decision WHERE x.swarm_run_id = s.swarm_run_id;
    ELSE
        to_status := decision ->> 'decision';
        IF s.join_strategy = 'first_success' AND to_status = 'succeeded' THEN
            PERFORM concord._cancel_agent_runs(
                ARRAY(SELECT (c.child ->> 'agent_run_id')::uuid FROM jsonb_array_elements(children) AS c (child)
                      WHERE NOT concord._agentic_terminal('agent', c.child ->> 'status')),
                format('first_success: child agent %s of swarm run %s succeeded first',
                       decision ->> 'selected_agent_run_id', s.swarm_run_id));
        END IF;
        UPDATE concord.swarm_runs AS x SET
            status = to_status,
            join_decision = decision,
            result = jsonb_strip_nulls(jsonb_build_object(
                'decision', to_status, 'summary', decision -> 'summary',
                'selected_artifact_id', decision -> 'selected_artifact_id',
                'selected_agent_run_id', decision -> 'selected_agent_run_id',
                'confidence', decision -> 'confidence', 'content', decision -> 'content',
                'artifact_ids', decision -> 'artifact_ids')),
            error = CASE WHEN to_status = 'failed' THEN decision ->> 'summary' END
        WHERE x.swarm_run_id = s.swarm_run_id;
    END CASE;
    SELECT * INTO s FROM concord.swarm_runs AS x WHERE x.swarm_run_id = s.swarm_run_id;
    PERFORM concord._agent_audit(
        'swarm_joined', 'event', s.command_id, s.swarm_run_id, s.coordinator_agent_run_id, 'swarm_run',
        s.swarm_run_id::text, NULL, s.status, decision, s.trace_id);
    PERFORM concord._pop_actor(saved);
    RETURN coalesce(s.join_decision, decision);
END
$$;

CREATE OR REPLACE FUNCTION concord.join_swarm(swarm_run_id uuid)
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
    -- whoever joins acts on the swarm: a member of its project, the worker,
    -- or an agent of that swarm
    RETURN concord._join_swarm(swarm_run_id, concord._acting_on_swarm(NULL, swarm_run_id));
END
$$;

COMMENT ON FUNCTION concord.join_swarm(uuid) IS
'Join a running swarm''s child agents with its join strategy (spec 53, 68.3): stores and returns '
'the decision {strategy, decision, summary, selected_artifact_id, confidence, '
'requires_human_review, ...} and moves the swarm (succeeded, partially_succeeded, failed; '
'waiting_for_approval for human_review; joining for a strategy delegated to the coordinator). '
'CN011 while children a deterministic strategy needs are live; joining again returns the '
'stored decision. Once joined the swarm spawns no new agent (CN011 '
'a_joining_swarm_spawns_no_child) and a spawn still waiting is cancelled; a delegated join ends '
'when the coordinator finishes. Joined by an owner, admin or member of the project (CN012), the '
'worker, or an agent of the swarm (CN012 an_agent_acts_within_its_own_swarm for another).';
