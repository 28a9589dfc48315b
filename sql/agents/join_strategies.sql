-- Join strategies (spec 53, 63.1, 68.3): join_children is the pure rule
-- (children as documents in, a spec 68.3 decision out).
--
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
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
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
            CONSTRAINT = 'join_children_takes_a_known_strategy',
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
            CONSTRAINT = 'join_children_are_well_formed',
            MESSAGE = 'children must be a list of {agent_run_id, status (an agent status), result, artifacts: '
                      '[{artifact_id, score, content, evaluations: [{decision, confidence, '
                      'score}]}]}';
    END IF;
    IF jsonb_typeof(opts) <> 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008', CONSTRAINT = 'join_options_are_a_json_object',
            MESSAGE = 'join options must be a JSON object';
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
                CONSTRAINT = 'quorum_is_a_count_or_a_fraction',
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
            RAISE EXCEPTION USING
                ERRCODE = 'CN008', CONSTRAINT = 'min_score_is_a_number',
                MESSAGE = 'min_score must be a number';
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
                CONSTRAINT = 'min_agreement_is_a_count_or_a_fraction',
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
