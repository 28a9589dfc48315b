-- Join strategies (spec 53, 63.1, 68.3): how a swarm combines what its child
-- agents produced. join_children is the pure rule (children as documents in,
-- a spec 68.3 decision out); _join_swarm applies it to a swarm's record,
-- through the children's artifacts and their evaluations, and moves the
-- swarm. Views show a swarm's tree, its agents' steps and its artifacts.
--
-- Deterministic strategies: all_success, first_success, quorum,
-- evaluator_selection, best_of_n, consensus. human_review waits for a person
-- (a concord.swarm_review command); coordinator_synthesis, map_reduce and
-- ranked_review are delegated to the coordinator, which finishes the swarm.
-- Refusals: CN006 not found, CN008 invalid argument, CN011 state conflict.

-- Every candidate artifact of children (not an evaluation, not cancelled
-- nor superseded), with what the join ranks it by: its own score, the best
-- score and the best confidence its evaluations gave it, and the best
-- confidence of an evaluation that selected or passed it.
CREATE OR REPLACE FUNCTION concord._join_candidates(children jsonb)
RETURNS TABLE (
    child_ord bigint,
    artifact_ord bigint,
    agent_run_id text,
    child_status text,
    artifact_id text,
    content jsonb,
    recorded_score numeric,
    eval_confidence numeric,
    pick_confidence numeric
)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    SELECT c.ord, a.ord, c.child ->> 'agent_run_id', c.child ->> 'status', a.art ->> 'artifact_id',
           a.art -> 'content',
           CASE WHEN jsonb_typeof(a.art -> 'score') = 'number' OR e.best_score IS NOT NULL
                THEN greatest(CASE WHEN jsonb_typeof(a.art -> 'score') = 'number' THEN (a.art ->> 'score')::numeric END,
                              e.best_score) END,
           e.best_confidence, e.pick_confidence
    FROM jsonb_array_elements(children) WITH ORDINALITY AS c (child, ord)
    CROSS JOIN LATERAL jsonb_array_elements(coalesce(c.child -> 'artifacts', '[]')) WITH ORDINALITY AS a (art, ord)
    CROSS JOIN LATERAL (
        SELECT max(v.score) AS best_score, max(v.confidence) AS best_confidence,
               max(v.confidence) FILTER (WHERE v.decision IN ('select', 'pass')) AS pick_confidence
        FROM (
            SELECT ev ->> 'decision' AS decision,
                   CASE WHEN jsonb_typeof(ev -> 'confidence') = 'number' THEN (ev ->> 'confidence')::numeric END
                       AS confidence,
                   CASE WHEN jsonb_typeof(ev -> 'score') = 'number' THEN (ev ->> 'score')::numeric
                        WHEN jsonb_typeof(ev -> 'confidence') = 'number' THEN (ev ->> 'confidence')::numeric END
                       AS score
            FROM jsonb_array_elements(coalesce(a.art -> 'evaluations', '[]')) AS x (ev)
        ) AS v
    ) AS e
    WHERE coalesce(a.art ->> 'artifact_type', '') <> 'evaluation'
      AND coalesce(a.art ->> 'status', 'final') NOT IN ('cancelled', 'superseded')
$$;

-- Spec 68.3: the join of children under strategy. children = [{agent_run_id,
-- agent_name, agent_role, status, result, artifacts: [{artifact_id,
-- artifact_type, score, status, content, evaluations: [{decision, confidence,
-- score, evaluator_role}]}]}] in the order they were spawned. Pure.
CREATE OR REPLACE FUNCTION concord.join_children(
    strategy text, children jsonb, options jsonb DEFAULT '{}'
)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
DECLARE
    opts jsonb := coalesce(options, '{}');
    total integer;
    succeeded integer;
    failed integer;
    live integer;
    decision text;
    summary text;
    selected_artifact text;
    selected_agent text;
    confidence numeric;
    required numeric;
    agreed jsonb;
    agreeing integer;
    tied boolean := false;
    extra jsonb := '{}'::jsonb;
    pick record;
BEGIN
    IF strategy IS NULL OR strategy NOT IN ('all_success', 'first_success', 'quorum', 'coordinator_synthesis',
                                            'evaluator_selection', 'human_review', 'best_of_n', 'map_reduce',
                                            'consensus', 'ranked_review') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('unknown join strategy %s', coalesce(strategy, 'NULL')),
            HINT = 'all_success, first_success, quorum, coordinator_synthesis, evaluator_selection, human_review, '
                   'best_of_n, map_reduce, consensus or ranked_review (spec 53).';
    END IF;
    IF children IS NULL OR jsonb_typeof(children) <> 'array' OR EXISTS (
           SELECT 1 FROM jsonb_array_elements(children) AS c (child)
           WHERE jsonb_typeof(c.child) <> 'object'
              OR jsonb_typeof(c.child -> 'status') IS DISTINCT FROM 'string'
              OR NOT EXISTS (SELECT 1 FROM concord.agent_statuses AS st WHERE st.status = c.child ->> 'status')
              OR jsonb_typeof(coalesce(c.child -> 'artifacts', '[]')) <> 'array'
              OR EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(c.child -> 'artifacts', '[]')) AS a (art)
                         WHERE jsonb_typeof(a.art) <> 'object'
                            OR jsonb_typeof(coalesce(a.art -> 'evaluations', '[]')) <> 'array'
                            OR EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(a.art -> 'evaluations', '[]'))
                                                     AS e (ev)
                                       WHERE jsonb_typeof(e.ev) <> 'object'))) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = 'children must be a list of {agent_run_id, status (an agent status), result, artifacts: '
                      '[{artifact_id, score, content, evaluations: [{decision, confidence, '
                      'score}]}]}';
    END IF;
    IF jsonb_typeof(opts) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'join options must be a JSON object';
    END IF;
    SELECT count(*), count(*) FILTER (WHERE c.child ->> 'status' = 'succeeded'),
           count(*) FILTER (WHERE c.child ->> 'status' IN ('failed', 'cancelled', 'expired'))
    INTO total, succeeded, failed
    FROM jsonb_array_elements(children) AS c (child);
    live := total - succeeded - failed;
    -- the mean of the best evaluation confidences of the succeeded children's artifacts
    SELECT round(avg(j.eval_confidence), 4) INTO confidence
    FROM concord._join_candidates(children) AS j WHERE j.child_status = 'succeeded';

    CASE strategy
    WHEN 'all_success' THEN
        decision := CASE WHEN total > 0 AND succeeded = total THEN 'succeeded'
                         WHEN succeeded > 0 THEN 'partially_succeeded'
                         ELSE 'failed' END;
        summary := CASE WHEN total = 0 THEN 'No child agent ran: nothing succeeded.'
                        WHEN succeeded = total THEN format('All %s child agents succeeded.', total)
                        ELSE format('%s of %s child agents succeeded.', succeeded, total) END;
    WHEN 'first_success' THEN
        SELECT c.child ->> 'agent_run_id' AS agent_run_id, c.ord INTO pick
        FROM jsonb_array_elements(children) WITH ORDINALITY AS c (child, ord)
        WHERE c.child ->> 'status' = 'succeeded' ORDER BY c.ord LIMIT 1;
        IF pick.ord IS NOT NULL THEN
            decision := 'succeeded';
            selected_agent := pick.agent_run_id;
            SELECT j.artifact_id, j.eval_confidence INTO selected_artifact, confidence
            FROM concord._join_candidates(children) AS j WHERE j.child_ord = pick.ord
            ORDER BY j.recorded_score DESC NULLS LAST, j.artifact_ord LIMIT 1;
            summary := format('Child %s of %s succeeded first.', pick.ord, total);
        ELSE
            decision := 'failed';
            summary := format('No child agent succeeded (%s failed, %s still live).', failed, live);
        END IF;
    WHEN 'quorum' THEN
        IF opts -> 'quorum' IS NULL OR opts -> 'quorum' = 'null' THEN
            required := floor(total / 2.0) + 1;
        ELSIF jsonb_typeof(opts -> 'quorum') = 'number' AND (opts ->> 'quorum')::numeric > 0
              AND (opts ->> 'quorum')::numeric < 1 THEN
            required := ceil((opts ->> 'quorum')::numeric * total);
        ELSIF jsonb_typeof(opts -> 'quorum') = 'number' AND (opts ->> 'quorum')::numeric >= 1
              AND (opts ->> 'quorum')::numeric = floor((opts ->> 'quorum')::numeric) THEN
            required := (opts ->> 'quorum')::numeric;
        ELSE
            RAISE EXCEPTION USING
                ERRCODE = 'CN008',
                MESSAGE = format('quorum %s must be a count (a whole number, at least 1) or a fraction between 0 '
                                 'and 1', opts -> 'quorum');
        END IF;
        decision := CASE WHEN total > 0 AND succeeded >= required THEN 'succeeded' ELSE 'failed' END;
        summary := format('%s of %s child agents succeeded; the quorum is %s.', succeeded, total, required);
        extra := jsonb_build_object('quorum', required);
    WHEN 'evaluator_selection' THEN
        SELECT j.artifact_id, j.agent_run_id, j.pick_confidence INTO pick
        FROM concord._join_candidates(children) AS j
        WHERE j.child_status = 'succeeded' AND j.pick_confidence IS NOT NULL
        ORDER BY j.pick_confidence DESC, j.artifact_id LIMIT 1;
        IF pick.artifact_id IS NOT NULL THEN
            decision := 'succeeded';
            selected_artifact := pick.artifact_id;
            selected_agent := pick.agent_run_id;
            confidence := pick.pick_confidence;
            summary := format('An evaluator selected artifact %s (confidence %s).', pick.artifact_id,
                              pick.pick_confidence);
        ELSE
            decision := 'failed';
            summary := 'No evaluator selected or passed an artifact of a succeeded child.';
        END IF;
    WHEN 'best_of_n' THEN
        SELECT j.artifact_id, j.agent_run_id, j.recorded_score, j.eval_confidence INTO pick
        FROM concord._join_candidates(children) AS j
        WHERE j.child_status = 'succeeded' AND j.recorded_score IS NOT NULL
        ORDER BY j.recorded_score DESC, j.artifact_id LIMIT 1;
        IF opts ? 'min_score' AND jsonb_typeof(opts -> 'min_score') <> 'number' THEN
            RAISE EXCEPTION USING ERRCODE = 'CN008', MESSAGE = 'min_score must be a number';
        END IF;
        IF pick.artifact_id IS NULL THEN
            decision := 'failed';
            summary := 'No artifact of a succeeded child has a score.';
        ELSIF pick.recorded_score < (opts ->> 'min_score')::numeric THEN
            decision := 'failed';
            summary := format('The best score %s (artifact %s) is below min_score %s.', pick.recorded_score,
                              pick.artifact_id, opts ->> 'min_score');
        ELSE
            decision := 'succeeded';
            selected_artifact := pick.artifact_id;
            selected_agent := pick.agent_run_id;
            confidence := pick.eval_confidence;
            summary := format('Artifact %s has the best score, %s, of %s candidates.', pick.artifact_id,
                              pick.recorded_score,
                              (SELECT count(*) FROM concord._join_candidates(children) AS j
                               WHERE j.child_status = 'succeeded' AND j.recorded_score IS NOT NULL));
        END IF;
        extra := jsonb_build_object('best_score', pick.recorded_score);
    WHEN 'consensus' THEN
        IF opts -> 'min_agreement' IS NULL OR opts -> 'min_agreement' = 'null' THEN
            required := succeeded;
        ELSIF jsonb_typeof(opts -> 'min_agreement') = 'number' AND (opts ->> 'min_agreement')::numeric > 0
              AND (opts ->> 'min_agreement')::numeric < 1 THEN
            required := ceil((opts ->> 'min_agreement')::numeric * succeeded);
        ELSIF jsonb_typeof(opts -> 'min_agreement') = 'number' AND (opts ->> 'min_agreement')::numeric >= 1
              AND (opts ->> 'min_agreement')::numeric = floor((opts ->> 'min_agreement')::numeric) THEN
            required := (opts ->> 'min_agreement')::numeric;
        ELSE
            RAISE EXCEPTION USING
                ERRCODE = 'CN008',
                MESSAGE = format('min_agreement %s must be a count (a whole number, at least 1) or a fraction '
                                 'between 0 and 1', opts -> 'min_agreement');
        END IF;
        -- what each succeeded child answered: its result, else its first artifact's content
        SELECT v.answer, count(*) INTO agreed, agreeing
        FROM (
            SELECT c.ord, coalesce(
                       nullif(c.child -> 'result', 'null'::jsonb),
                       (SELECT j.content FROM concord._join_candidates(jsonb_build_array(c.child)) AS j
                        WHERE j.content IS NOT NULL AND j.content <> 'null'::jsonb
                        ORDER BY j.artifact_ord LIMIT 1)) AS answer
            FROM jsonb_array_elements(children) WITH ORDINALITY AS c (child, ord)
            WHERE c.child ->> 'status' = 'succeeded'
        ) AS v
        WHERE v.answer IS NOT NULL
        GROUP BY v.answer
        ORDER BY count(*) DESC, min(v.ord)
        LIMIT 1;
        -- a tie between different answers is no consensus, whichever came first
        tied := (SELECT count(*) FROM (
                     SELECT 1
                     FROM (SELECT coalesce(nullif(c.child -> 'result', 'null'::jsonb),
                                           (SELECT j.content FROM concord._join_candidates(jsonb_build_array(c.child)) AS j
                                            WHERE j.content IS NOT NULL AND j.content <> 'null'::jsonb
                                            ORDER BY j.artifact_ord LIMIT 1)) AS answer
                           FROM jsonb_array_elements(children) AS c (child)
                           WHERE c.child ->> 'status' = 'succeeded') AS w
                     WHERE w.answer IS NOT NULL
                     GROUP BY w.answer
                     HAVING count(*) = agreeing) AS t) > 1;
        IF succeeded > 0 AND agreeing >= greatest(required, 1) AND NOT tied THEN
            decision := 'succeeded';
            confidence := round(agreeing::numeric / succeeded, 4);
            SELECT j.artifact_id, j.agent_run_id INTO selected_artifact, selected_agent
            FROM concord._join_candidates(children) AS j
            WHERE j.child_status = 'succeeded' AND j.content = agreed
            ORDER BY j.child_ord, j.artifact_ord LIMIT 1;
            summary := format('%s of %s succeeded child agents agree.', agreeing, succeeded);
            extra := jsonb_build_object('content', agreed, 'agreeing', agreeing, 'min_agreement', required);
        ELSE
            decision := 'failed';
            confidence := NULL;
            summary := CASE WHEN tied
                            THEN format('No consensus: %s of %s succeeded child agents agree, and as many agree on '
                                        'another answer.', agreeing, succeeded)
                            ELSE format('No consensus: at most %s of %s succeeded child agents agree; %s must.',
                                        coalesce(agreeing, 0), succeeded, greatest(required, 1)) END;
            extra := jsonb_build_object('agreeing', coalesce(agreeing, 0), 'min_agreement', required);
        END IF;
    WHEN 'human_review' THEN
        decision := 'waiting_for_approval';
        summary := format('%s of %s child agents succeeded; a person reviews the result.', succeeded, total);
    ELSE
        decision := 'delegated';
        summary := format('The coordinator joins the %s child agents (%s).', total, strategy);
        extra := jsonb_build_object('delegated_to', 'coordinator');
    END CASE;

    RETURN jsonb_build_object(
        'strategy', strategy,
        'decision', decision,
        'summary', summary,
        'selected_artifact_id', selected_artifact,
        'selected_agent_run_id', selected_agent,
        'confidence', confidence,
        'requires_human_review', decision = 'waiting_for_approval',
        'children_succeeded', succeeded,
        'children_failed', failed,
        'children_live', live,
        'children_total', total,
        'artifact_ids', (SELECT coalesce(jsonb_agg(j.artifact_id ORDER BY j.child_ord, j.artifact_ord), '[]')
                         FROM concord._join_candidates(children) AS j WHERE j.child_status = 'succeeded')
    ) || extra;
END
$$;

COMMENT ON FUNCTION concord.join_children(text, jsonb, jsonb) IS
'The spec 68.3 join of child agents'' results under a join strategy (spec 53), pure: '
'{strategy, decision (succeeded | partially_succeeded | failed | waiting_for_approval | '
'delegated), '
'summary, selected_artifact_id, selected_agent_run_id, confidence, requires_human_review, '
'children_succeeded, children_failed, children_live, children_total, artifact_ids, ...}; '
'CN008 for an unknown strategy or malformed children.';

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
        RAISE EXCEPTION USING ERRCODE = 'CN006', MESSAGE = format('swarm run %s not found', swarm_run_id);
    END IF;
    IF s.join_decision IS NOT NULL
       AND (s.status IN ('joining', 'waiting_for_approval') OR concord._agentic_terminal('swarm', s.status)) THEN
        RETURN s.join_decision;
    END IF;
    IF s.status NOT IN ('running', 'joining') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
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
        FROM concord.submit_command(
            'concord.swarm_review', jsonb_build_object('swarm_run_id', s.swarm_run_id, 'join_decision', decision),
            actor, 'api',
            jsonb_build_object('swarm_run_id', s.swarm_run_id, 'parent_command_id', s.command_id,
                               'trace_id', s.trace_id),
            'concord.swarm_review:' || s.swarm_run_id) AS r;
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
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
BEGIN
    RETURN concord._join_swarm(swarm_run_id, concord._actor());
END
$$;

COMMENT ON FUNCTION concord.join_swarm(uuid) IS
'Join a running swarm''s child agents with its join strategy (spec 53, 68.3): stores and returns '
'the decision {strategy, decision, summary, selected_artifact_id, confidence, '
'requires_human_review, ...} and moves the swarm (succeeded, partially_succeeded, failed; '
'waiting_for_approval for human_review; joining for a strategy delegated to the coordinator). '
'CN011 while children a deterministic strategy needs are live; joining again returns the '
'stored decision.';

-- ---------------------------------------------------------------------------
-- Views
-- ---------------------------------------------------------------------------

CREATE OR REPLACE VIEW concord.swarm_tree AS
SELECT
    s.swarm_run_id,
    s.name AS swarm_name,
    s.status AS swarm_status,
    a.agent_run_id,
    a.parent_agent_run_id,
    a.agent_name,
    a.agent_role,
    a.spawn_depth,
    a.status,
    a.step_count,
    a.max_steps,
    a.cost_units,
    a.allowed_tools,
    a.allowed_connectors,
    a.created_at,
    a.completed_at
FROM concord.agent_runs AS a
INNER JOIN concord.swarm_runs AS s ON a.swarm_run_id = s.swarm_run_id
ORDER BY s.created_at, s.swarm_run_id, a.spawn_depth, a.created_at, a.agent_run_id;

COMMENT ON VIEW concord.swarm_tree IS
'One row per agent run, with its swarm, parent, role, depth, status, step budget, cost and '
'scopes.';

CREATE OR REPLACE VIEW concord.agent_step_log AS
SELECT
    st.swarm_run_id,
    st.agent_run_id,
    a.agent_name,
    a.agent_role,
    st.step_index,
    st.action_type,
    st.tool_name,
    st.decision,
    st.reason,
    st.created_command_id,
    c.status AS created_command_status,
    st.created_approval_id,
    st.created_artifact_id,
    st.created_memory_id,
    st.child_agent_run_id,
    st.latency_ms,
    st.cost_units,
    st.created_at,
    st.agent_step_id
FROM concord.agent_steps AS st
INNER JOIN concord.agent_runs AS a ON st.agent_run_id = a.agent_run_id
LEFT JOIN concord.commands AS c ON st.created_command_id = c.command_id
ORDER BY st.swarm_run_id, a.created_at, st.agent_run_id, st.step_index;

COMMENT ON VIEW concord.agent_step_log IS
'Every agent step in order, with its decision and what it created (command and its status, '
'approval, artifact, memory, child agent).';

CREATE OR REPLACE VIEW concord.swarm_artifacts AS
SELECT
    x.swarm_run_id,
    s.name AS swarm_name,
    x.artifact_id,
    x.agent_run_id,
    a.agent_name,
    a.agent_role,
    x.artifact_type,
    x.name,
    x.version,
    x.status,
    x.location,
    x.score,
    x.created_by,
    x.created_at,
    x.content IS NOT null AS has_content,
    coalesce((
        SELECT array_agg(l.parent_artifact_id ORDER BY l.created_at, l.parent_artifact_id)
        FROM concord.artifact_lineage AS l
        WHERE l.artifact_id = x.artifact_id
    ), '{}') AS parent_artifact_ids,
    (
        SELECT count(*) FROM concord.artifact_lineage AS l
        INNER JOIN concord.artifacts AS e ON l.artifact_id = e.artifact_id
        WHERE l.parent_artifact_id = x.artifact_id AND e.artifact_type = 'evaluation'
    ) AS evaluations
FROM concord.artifacts AS x
INNER JOIN concord.swarm_runs AS s ON x.swarm_run_id = s.swarm_run_id
LEFT JOIN concord.agent_runs AS a ON x.agent_run_id = a.agent_run_id
ORDER BY s.created_at, x.swarm_run_id, x.created_at, x.artifact_id;

COMMENT ON VIEW concord.swarm_artifacts IS
'Every artifact of a swarm, with the agent that made it, its version, status, score, parents '
'and how many evaluations it has.';
