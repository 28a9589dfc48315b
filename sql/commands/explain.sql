-- One answer to "why is this command where it is?" (spec 4.10, 25): who
-- asked and as whom, the contract it is judged under, what the policies
-- decided, the approvals, inputs, dependencies, workers, attempts, effects and
-- connector calls that hold it or moved it, and what would move it forward.
-- It reads only: the tables' row-level security decides what a caller sees,
-- so a command of another organisation does not exist for it (CN006).

-- Who may decide approval a: its eligible approvers and its team's members,
-- never a team itself nor the requester (the rules of rules_approvals.sql).
CREATE OR REPLACE FUNCTION concord._approval_deciders(a concord.approvals)
RETURNS text[]
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN coalesce((
        SELECT array_agg(DISTINCT p.principal ORDER BY p.principal)
        FROM (
            SELECT unnest(a.eligible_approvers) AS principal
            UNION
            SELECT m.principal FROM concord.team_members AS m
            WHERE a.approver_team IS NOT NULL AND m.team = a.approver_team
              AND m.org_id = concord._org_of_command(a.command_id)
        ) AS p
        WHERE p.principal <> a.requested_by AND concord._may_decide(a, p.principal)
    ), '{}');
END
$$;

-- What holds command c now, each {reason, detail, next_step}: empty for a
-- command that is moving or finished. The reason codes are the stable part.
-- evaluation is its latest policy evaluation (concord._latest_evaluation).
DROP FUNCTION IF EXISTS concord._explain_holds(
    concord.commands, concord.command_types, integer, text
);

CREATE OR REPLACE FUNCTION concord._explain_holds(
    c concord.commands, ct concord.command_types, evaluation jsonb, serving integer, queue text
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    holds jsonb := '[]'::jsonb;
    retryable boolean;
BEGIN
    IF c.status = 'waiting_for_approval' THEN
        holds := holds || coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'reason', 'approval_pending',
                'detail', format('approval %s (%s) is pending until %s', a.approval_id, a.approval_type,
                                 a.expires_at),
                'next_step', CASE WHEN cardinality(d.deciders) > 0
                    THEN format('one of %s decides it: concord.resolve_approval(%L, ''approved'', <actor>)',
                                array_to_string(d.deciders, ', '), a.approval_id)
                    ELSE format('nobody may decide it yet: add an eligible approver to team %s or the '
                                'approval type %s', coalesce(a.approver_team, '(none)'), a.approval_type)
                END) ORDER BY a.created_at, a.approval_id)
            FROM concord.approvals AS a
            CROSS JOIN LATERAL (SELECT concord._approval_deciders(a) AS deciders) AS d
            WHERE a.command_id = c.command_id AND a.status = 'pending'), '[]');
    END IF;
    IF c.status = 'waiting_for_input' THEN
        holds := holds || jsonb_build_array(jsonb_build_object(
            'reason', 'input_missing',
            'detail', format('missing input: %s',
                             coalesce((SELECT string_agg(f.value, ', ' ORDER BY f.value)
                                       FROM jsonb_array_elements_text(evaluation -> 'missing_fields') AS f),
                                      '(see the policy reasons)')),
            'next_step', format('%s provides it: concord.provide_input(%L, <fields>, %L)',
                                c.requested_by, c.command_id, c.requested_by)));
    END IF;
    IF c.status IN ('created', 'validated', 'approved', 'queued', 'blocked') THEN
        holds := holds || coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'reason', 'dependency_unmet',
                'detail', format('command %s (%s) is %s; this one needs it %s', p.command_id, p.command_type,
                                 p.status, d.required_status),
                'next_step', format('command %s reaches %s', p.command_id, d.required_status))
                ORDER BY d.created_at, d.parent_command_id)
            FROM concord.command_dependencies AS d
            INNER JOIN concord.commands AS p ON d.parent_command_id = p.command_id
            WHERE d.child_command_id = c.command_id AND p.status <> d.required_status), '[]');
    END IF;
    IF c.status IN ('queued', 'approved') AND serving = 0 THEN
        holds := holds || jsonb_build_array(jsonb_build_object(
            'reason', 'no_live_worker',
            'detail', format('no live worker runs command type %s (queue %s)', c.command_type, queue),
            'next_step', format('start a worker that registers an operation for %s (concord worker)',
                                c.command_type)));
    END IF;
    IF c.status = 'cancelling' THEN
        holds := holds || jsonb_build_array(jsonb_build_object(
            'reason', 'cancellation_in_progress',
            'detail', format('%s asked to cancel it at %s (%s); its run stops at its next step',
                             c.cancellation_requested_by, c.cancellation_requested_at, c.cancellation_mode),
            'next_step', 'its worker finishes the cancellation; nothing to do unless no live worker serves it'));
    END IF;
    IF c.status = 'blocked' THEN
        holds := holds || jsonb_build_array(jsonb_build_object(
            'reason', 'run_blocked',
            'detail', 'its run paused and waits (for its children, an effect or a dependency)',
            'next_step', 'what it waits for finishes; see effects, dependencies and its agent runs'));
    END IF;
    IF c.status = 'failed' THEN
        SELECT e.retryable INTO retryable FROM concord.error_classes AS e WHERE e.error_class = c.error_class;
        holds := holds || jsonb_build_array(jsonb_build_object(
            'reason', 'failed',
            'detail', format('failed after %s of %s attempt(s): %s (error class %s, %s)', c.attempts,
                             coalesce(ct.max_attempts, 0), coalesce(c.error, 'no error recorded'),
                             coalesce(c.error_class, 'none'),
                             CASE WHEN retryable THEN 'retryable' ELSE 'not retryable' END),
            'next_step', CASE
                WHEN NOT coalesce(retryable, false)
                    THEN format('%s is not retried: fix the cause and submit a new command',
                                coalesce(c.error_class, 'an unclassified failure'))
                WHEN c.attempts < coalesce(ct.max_attempts, 0)
                    THEN format('an owner or admin of its project queues it again: '
                                'concord.retry_command(%L)', c.command_id)
                ELSE format('it had its %s attempt(s): fix the cause and submit a new command',
                            coalesce(ct.max_attempts, 0))
            END));
    END IF;
    RETURN holds;
END
$$;

CREATE OR REPLACE FUNCTION concord.explain(command_id uuid)
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
#variable_conflict use_variable
DECLARE
    c concord.commands%ROWTYPE;
    ct concord.command_types%ROWTYPE;
    created concord.domain_events%ROWTYPE;
    evaluation jsonb;
    queue text;
    workers text[];
    holds jsonb;
    decisions jsonb := '[]'::jsonb;
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = explain.command_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_command_exists',
            MESSAGE = format('command %s not found', command_id),
            HINT = 'A command of a project you are not a member of is not found either.';
    END IF;
    ct := concord._command_contract_of(c);
    evaluation := concord._latest_evaluation(c.command_id);
    SELECT * INTO created FROM concord.domain_events AS e
    WHERE e.command_id = c.command_id AND e.event_type = 'command_created'
    ORDER BY e.event_seq LIMIT 1;
    queue := coalesce(c.queue_name, concord._command_queue(c.command_type));
    SELECT coalesce(array_agg(w.executor_id ORDER BY w.executor_id), '{}') INTO workers
    FROM concord.live_workers AS w WHERE c.command_type = ANY (w.operations);
    holds := concord._explain_holds(c, ct, evaluation, cardinality(workers), queue);
    -- Its own statement, run only when there is an evaluation: inside the answer's statement
    -- a command without one made the planner cost a scan of every decision (never run), and
    -- with a million commands that estimate crossed jit_above_cost: each explain paid a JIT
    -- compilation of the whole answer (about 300 ms; bench/scale_bench.py).
    IF evaluation IS NOT NULL THEN
        SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'policy', d.policy, 'policy_version', d.policy_version, 'decision', d.decision,
                   'reasons', d.reasons, 'approval_type', d.approval_type,
                   'missing_fields', d.missing_fields, 'decided_at', d.decided_at)
                   ORDER BY d.decision_id), '[]')
        INTO decisions
        FROM concord.policy_decisions AS d
        WHERE d.command_id = c.command_id AND d.evaluation_id::text = evaluation ->> 'evaluation_id';
    END IF;
    RETURN jsonb_build_object(
        'command_id', c.command_id,
        'command_type', c.command_type,
        'status', c.status,
        'project', concord._project_name(c.project_id),
        'trace_id', c.trace_id,
        'created_at', c.created_at,
        'updated_at', c.updated_at,
        'completed_at', c.completed_at,
        'requested', jsonb_build_object(
            'requested_by', c.requested_by,
            'recorded_by', created.actor,
            'asserted_by', created.asserted_by,
            'ingress', c.ingress,
            'idempotency_key', c.idempotency_key),
        'contract', (
            SELECT jsonb_build_object(
                'version_id', v.version_id, 'command_type', e.name, 'version', v.version::text,
                'status', v.status, 'checksum', v.checksum)
            FROM concord.registry_versions AS v
            INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
            WHERE v.version_id = c.contract_version_id),
        'policies', jsonb_build_object(
            'evaluation_id', evaluation ->> 'evaluation_id',
            'decision', evaluation -> 'decision',
            'reasons', coalesce(evaluation -> 'reasons', '[]'),
            'decisions', decisions),
        'approvals', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'approval_id', a.approval_id, 'approval_type', a.approval_type, 'status', a.status,
                'may_decide', to_jsonb(concord._approval_deciders(a)), 'approver_team', a.approver_team,
                'expires_at', a.expires_at, 'decision', a.decision, 'decided_by', a.decided_by,
                'reason', a.reason, 'decided_at', a.decided_at) ORDER BY a.created_at, a.approval_id)
            FROM concord.approvals AS a WHERE a.command_id = c.command_id), '[]'),
        'missing_inputs', CASE WHEN c.status = 'waiting_for_input'
            THEN coalesce(evaluation -> 'missing_fields', '[]') ELSE '[]' END,
        'dependencies', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'parent_command_id', d.parent_command_id, 'parent_status', p.status,
                'required_status', d.required_status, 'satisfied', p.status = d.required_status)
                ORDER BY d.created_at, d.parent_command_id)
            FROM concord.command_dependencies AS d
            INNER JOIN concord.commands AS p ON d.parent_command_id = p.command_id
            WHERE d.child_command_id = c.command_id), '[]'),
        'runtime', jsonb_build_object(
            'queue', queue,
            'handed_off', c.dbos_workflow_id IS NOT NULL,
            'dbos_workflow_id', c.dbos_workflow_id,
            'live_workers', to_jsonb(workers)),
        'attempts', jsonb_build_object(
            'attempts', c.attempts,
            'max_attempts', ct.max_attempts,
            'error', c.error,
            'error_class', c.error_class,
            'retryable', (SELECT e.retryable FROM concord.error_classes AS e WHERE e.error_class = c.error_class)),
        'effects', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'domain_effect_id', e.domain_effect_id, 'effect_type', e.effect_type, 'status', e.status,
                'error', e.error, 'error_class', e.error_class, 'started_at', e.started_at,
                'completed_at', e.completed_at) ORDER BY e.created_at, e.domain_effect_id)
            FROM concord.domain_effects AS e WHERE e.command_id = c.command_id), '[]'),
        'connector_calls', coalesce((
            SELECT jsonb_agg(jsonb_build_object(
                'connector', i.connector_name, 'capability', i.capability, 'attempt', i.attempt,
                'status', i.status, 'error', i.error, 'error_class', i.error_class, 'latency_ms', i.latency_ms,
                'at', i.created_at) ORDER BY i.created_at, i.connector_invocation_id)
            FROM concord.connector_invocations AS i WHERE i.command_id = c.command_id), '[]'),
        'held_by', holds,
        'next_steps', coalesce((SELECT jsonb_agg(h.item -> 'next_step')
                                FROM jsonb_array_elements(holds) AS h (item)), '[]'));
END
$$;

COMMENT ON FUNCTION concord.explain(uuid) IS
'Why a command is where it is, in one JSON answer: who asked (requested_by, and who recorded '
'and asserted it), its contract version, the latest policy decisions with reasons, its approvals '
'and who may decide them, missing inputs, dependencies, its queue and the live workers serving it, '
'attempts and last error, effects and connector calls; held_by lists what holds it now (reasons '
'approval_pending, input_missing, dependency_unmet, no_live_worker, cancellation_in_progress, '
'run_blocked, failed) and next_steps what would move it. Only commands the caller may see (CN006).';
