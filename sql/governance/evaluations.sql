-- What an evaluation leads to (spec 21, 22, 86, 95): decision records, review
-- packets, re-evaluation, and the public evaluate_policies.

-- What the command row keeps of an evaluation.
CREATE OR REPLACE FUNCTION concord._evaluation_summary(evaluation jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
STRICT
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'evaluation_id', evaluation -> 'evaluation_id',
        'decision', evaluation -> 'decision',
        'reasons', evaluation -> 'reasons',
        'missing_fields', evaluation -> 'missing_fields',
        'approval_types', evaluation -> 'approval_types',
        'policies', (SELECT coalesce(jsonb_agg(jsonb_build_object('policy', p.value -> 'policy',
                                                                 'decision', p.value -> 'decision')), '[]')
                     FROM jsonb_array_elements(evaluation -> 'policies') AS p (value)),
        'evaluated_at', now());
END
$$;

-- One policy_decisions row per policy of the evaluation.
CREATE OR REPLACE FUNCTION concord._record_decisions(command_id uuid, evaluation jsonb, actor text)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    INSERT INTO concord.policy_decisions (
        evaluation_id, command_id, policy, policy_version, policy_checksum, decision, reasons,
        approval_type, missing_fields, inputs_digest, actor
    )
    SELECT (evaluation ->> 'evaluation_id')::uuid, _record_decisions.command_id, p.policy, p.version,
           p.checksum, p.decision, p.reasons, p.approval_type, p.missing_fields,
           evaluation ->> 'inputs_digest', actor
    FROM jsonb_to_recordset(evaluation -> 'policies') AS p (
        policy text, version integer, checksum text, decision text, reasons jsonb,
        approval_type text, missing_fields jsonb
    );
END
$$;

-- The spec 22 review packet: enough for a person to decide.
CREATE OR REPLACE FUNCTION concord._review_packet(
    c concord.commands, ct concord.command_types, t concord.approval_types,
    evaluation jsonb, expires_at timestamptz
)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'action', format('%s (%s)', ct.name, ct.command_type),
        'description', ct.description,
        'command_type', c.command_type,
        'requested_by', c.requested_by,
        'why', coalesce((SELECT jsonb_agg(r.reason)
                         FROM jsonb_array_elements(evaluation -> 'policies') AS p (value)
                         CROSS JOIN LATERAL jsonb_array_elements(p.value -> 'reasons') AS r (reason)
                         WHERE p.value ->> 'approval_type' = t.name
                           AND p.value ->> 'decision' = 'require_approval'),
                        evaluation -> 'reasons'),
        'triggered_by', (SELECT coalesce(jsonb_agg(p.value ->> 'policy'), '[]')
                         FROM jsonb_array_elements(evaluation -> 'policies') AS p (value)
                         WHERE p.value ->> 'approval_type' = t.name
                           AND p.value ->> 'decision' = 'require_approval'),
        'data_affected', c.payload,
        'fields', (SELECT coalesce(jsonb_object_agg(f.name, c.payload -> f.name), '{}')
                   FROM unnest(t.required_fields) AS f (name)),
        'after_approval', format('the command is queued and runs %s', coalesce(ct.function_name, ct.command_type)),
        'on_rejected', t.on_rejected,
        'risk_level', concord._greatest_risk(ct.risk_level, t.risk_level),
        'expires_at', expires_at);
END
$$;

-- The higher of two risk levels.
CREATE OR REPLACE FUNCTION concord._greatest_risk(a text, b text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN (ARRAY['low', 'medium', 'high', 'critical'])[greatest(
        array_position(ARRAY['low', 'medium', 'high', 'critical'], a),
        array_position(ARRAY['low', 'medium', 'high', 'critical'], b))];
END
$$;

-- One approval per approval type the evaluation asks for, for a command now
-- waiting for approval; each is audited and announced.
CREATE OR REPLACE FUNCTION concord._open_approvals(
    c concord.commands, ct concord.command_types, evaluation jsonb, actor text
)
RETURNS uuid[]
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    t concord.approval_types%ROWTYPE;
    who jsonb;
    expires timestamptz;
    new_id uuid;
    ids uuid[] := '{}'::uuid[];
BEGIN
    FOR t IN
        SELECT x.* FROM concord.approval_types AS x
        WHERE x.name IN (SELECT jsonb_array_elements_text(evaluation -> 'approval_types'))
        ORDER BY x.name
    LOOP
        who := evaluation #> ARRAY['approvers', t.name];
        expires := now() + make_interval(mins => t.default_expiry_minutes);
        INSERT INTO concord.approvals (
            command_id, evaluation_id, approval_type, requested_by, approver, eligible_approvers,
            approver_team, request_payload, review_packet, expires_at
        ) VALUES (
            c.command_id, (evaluation ->> 'evaluation_id')::uuid, t.name, c.requested_by,
            coalesce(who ->> 'team', (SELECT string_agg(a.p, ', ') FROM jsonb_array_elements_text(who -> 'approvers') AS a (p))),
            concord._text_array(who -> 'approvers'), who ->> 'team', c.payload,
            concord._review_packet(c, ct, t, evaluation, expires), expires
        )
        RETURNING approval_id INTO new_id;
        ids := ids || new_id;
        PERFORM concord._audit('approval_requested', c.command_id, c.trace_id, 'approval', new_id::text,
                               null, 'pending',
                               jsonb_build_object('approval_type', t.name, 'approver', who, 'expires_at', expires),
                               actor);
        PERFORM pg_notify('concord_approvals', jsonb_build_object(
            'approval_id', new_id, 'command_id', c.command_id, 'status', 'pending',
            'approval_type', t.name, 'command_status', c.status)::text);
    END LOOP;
    RETURN ids;
END
$$;

-- What the audit row of an evaluation carries: the combined decision (the
-- per-policy details are in policy_decisions, under the same evaluation_id).
CREATE OR REPLACE FUNCTION concord._evaluation_record(evaluation jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
STRICT
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN jsonb_build_object(
        'decision', evaluation -> 'decision',
        'reasons', evaluation -> 'reasons',
        'missing_fields', evaluation -> 'missing_fields',
        'approval_types', evaluation -> 'approval_types',
        'inputs_digest', evaluation -> 'inputs_digest',
        'payload_digest', evaluation -> 'payload_digest');
END
$$;

-- The audit row of an evaluation (between the status events of the command).
CREATE OR REPLACE FUNCTION concord._evaluation_event(
    c concord.commands, evaluation jsonb, actor text
)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._audit('policies_evaluated', c.command_id, c.trace_id, 'policy_evaluation',
                           evaluation ->> 'evaluation_id', null, null,
                           concord._evaluation_record(evaluation), actor);
END
$$;

-- The latest evaluation of a command, from its audit trail (append-only):
-- {evaluation_id, decision, ...}, or NULL when it was never evaluated.
CREATE OR REPLACE FUNCTION concord._latest_evaluation(command_id uuid)
RETURNS jsonb
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN (
        SELECT e.payload || jsonb_build_object('evaluation_id', e.target_id)
        FROM concord.domain_events AS e
        WHERE e.command_id = _latest_evaluation.command_id AND e.event_type = 'policies_evaluated'
        ORDER BY e.event_seq DESC
        LIMIT 1);
END
$$;

-- Evaluates a validated command again and routes it (the re-entry of spec
-- 21 after input or a policy change). Returns the evaluation with the new
-- status and the ids of the approvals it opened.
CREATE OR REPLACE FUNCTION concord._reevaluate(command_id uuid, actor text, reason text)
RETURNS jsonb
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    c concord.commands%ROWTYPE := concord._lock_command(command_id);
    ct concord.command_types%ROWTYPE;
    evaluation jsonb;
    target text;
    saved text[];
    approval_ids uuid[] := '{}'::uuid[];
BEGIN
    IF c.status <> 'validated' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'policies_are_evaluated_for_a_validated_command',
            MESSAGE = format('command %s is %s: policies are evaluated for a validated command', command_id, c.status),
            HINT = 'A command waiting for input is re-evaluated by concord.provide_input.';
    END IF;
    -- judged under the contract it was submitted under, not today's
    ct := concord._command_contract_of(c);
    -- the payload judged, so that a changed one must be judged again (_require_judged_payload)
    evaluation := concord._evaluate(c, ct) || jsonb_build_object('payload_digest', concord._payload_digest(c.payload));
    IF evaluation IS NULL THEN
        target := concord._route('allow', ct);
    ELSE
        PERFORM concord._record_decisions(c.command_id, evaluation, actor);
        PERFORM concord._evaluation_event(c, evaluation, actor);
        target := concord._route(evaluation ->> 'decision', ct);
    END IF;
    saved := concord._push_actor(actor, coalesce(reason, 'policies evaluated'));
    UPDATE concord.commands AS x SET
        status = target,
        policy_evaluation = coalesce(evaluation, x.policy_evaluation),
        error = CASE WHEN target = 'failed' THEN concord._denial(evaluation) ELSE x.error END,
        error_class = CASE WHEN target = 'failed' THEN 'policy_denied' ELSE x.error_class END,
        error_detail = CASE WHEN target = 'failed' THEN jsonb_build_object('policy_decisions', evaluation -> 'policies')
                            ELSE x.error_detail END
    WHERE x.command_id = c.command_id
    RETURNING * INTO c;
    PERFORM concord._pop_actor(saved);
    IF target = 'waiting_for_approval' THEN
        approval_ids := concord._open_approvals(c, ct, evaluation, actor);
    END IF;
    RETURN coalesce(concord._evaluation_summary(evaluation) - 'evaluated_at',
                    jsonb_build_object('evaluation_id', null, 'decision', 'allow', 'reasons', '[]'::jsonb,
                                       'missing_fields', '[]'::jsonb, 'approval_types', '[]'::jsonb,
                                       'policies', '[]'::jsonb))
        || jsonb_build_object('status', c.status, 'command_id', c.command_id, 'approval_ids', to_jsonb(approval_ids));
END
$$;

-- The error text of a denial: its reasons.
CREATE OR REPLACE FUNCTION concord._denial(evaluation jsonb)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN 'policy denied: ' || coalesce(
        (SELECT string_agg(r.value, '; ') FROM jsonb_array_elements_text(evaluation -> 'reasons') AS r (value)),
        'no reason given');
END
$$;

CREATE OR REPLACE FUNCTION concord.evaluate_policies(command_id uuid)
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
    actor text := session_user::text;
BEGIN
    IF NOT concord._sees_all() THEN
        actor := concord._acting_on_command(null, command_id, ARRAY['owner', 'admin', 'member'], 'command_id');
    END IF;
    RETURN concord._reevaluate(command_id, actor, 'policies evaluated again');
END
$$;

COMMENT ON FUNCTION concord.evaluate_policies(uuid) IS
'Evaluate the policies of a validated command again, record the decisions and route it '
'(failed, waiting_for_input, waiting_for_approval, or on). Returns the evaluation with the new '
'status.';
