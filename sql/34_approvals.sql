-- What a policy evaluation leads to (spec 21, 22, 81.2, 86, 95): decision
-- records, routing, approvals and their resolution, input requests, expiry.

-- The status a command takes for an evaluation's decision.
CREATE OR REPLACE FUNCTION concord._route(decision text, ct concord.command_types)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN CASE decision
        WHEN 'deny' THEN 'failed'
        WHEN 'require_input' THEN 'waiting_for_input'
        WHEN 'require_approval' THEN 'waiting_for_approval'
        WHEN 'allow' THEN CASE WHEN ct.async_required OR NOT ct.sync_allowed THEN 'queued' ELSE 'validated' END
    END;
END
$$;

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
        'inputs_digest', evaluation -> 'inputs_digest');
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
            MESSAGE = format('command %s is %s: policies are evaluated for a validated command', command_id, c.status),
            HINT = 'A command waiting for input is re-evaluated by concord.provide_input.';
    END IF;
    SELECT * INTO ct FROM concord.command_types AS x WHERE x.command_type = c.command_type;
    evaluation := concord._evaluate(c, ct);
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
-- the caller's session cannot speak for the kernel: see 00_support.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
AS $$
BEGIN
    RETURN concord._reevaluate(command_id, session_user::text, 'policies evaluated again');
END
$$;

COMMENT ON FUNCTION concord.evaluate_policies(uuid) IS
'Evaluate the policies of a validated command again, record the decisions and route it '
'(failed, waiting_for_input, waiting_for_approval, or on). Returns the evaluation with the new '
'status.';

-- RFC 7396 JSON merge patch: objects merge recursively, null removes a key,
-- anything else replaces.
CREATE OR REPLACE FUNCTION concord._json_merge_patch(target jsonb, patch jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    merged jsonb;
    key text;
    value jsonb;
BEGIN
    IF jsonb_typeof(patch) IS DISTINCT FROM 'object' THEN
        RETURN patch;
    END IF;
    merged := CASE WHEN jsonb_typeof(target) = 'object' THEN target ELSE '{}'::jsonb END;
    FOR key, value IN SELECT p.key, p.value FROM jsonb_each(patch) AS p LOOP
        IF jsonb_typeof(value) = 'null' THEN
            merged := merged - key;
        ELSE
            merged := jsonb_set(merged, ARRAY[key], concord._json_merge_patch(merged -> key, value), true);
        END IF;
    END LOOP;
    RETURN merged;
END
$$;

CREATE OR REPLACE FUNCTION concord.provide_input(command_id uuid, payload_patch jsonb, actor text)
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
#variable_conflict use_variable
DECLARE
    c concord.commands%ROWTYPE;
    ct concord.command_types%ROWTYPE;
    merged jsonb;
    problems jsonb;
    saved text[];
BEGIN
    PERFORM concord._require('actor', actor);
    IF payload_patch IS NULL OR jsonb_typeof(payload_patch) <> 'object' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('payload_patch must be a JSON object, not %s', coalesce(jsonb_typeof(payload_patch), 'NULL')),
            HINT = 'Pass the fields to add or change, e.g. {"hotel_name": "Ritz"}; null removes a field.';
    END IF;
    c := concord._lock_command(command_id);
    IF c.status <> 'waiting_for_input' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            MESSAGE = format('command %s is %s, not waiting_for_input: it takes no input now', command_id, c.status);
    END IF;
    IF actor <> c.requested_by THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            MESSAGE = format('%s may not provide input for command %s: only its requester %s may',
                             actor, command_id, c.requested_by);
    END IF;
    SELECT * INTO ct FROM concord.command_types AS x WHERE x.command_type = c.command_type;
    BEGIN
        merged := concord._json_merge_patch(c.payload, payload_patch);
    EXCEPTION WHEN statement_too_complex OR program_limit_exceeded THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = 'payload_patch is nested too deeply to merge';
    END;
    problems := concord._payload_problems(concord._validated_inputs(ct), ct.payload_schema, merged);
    IF jsonb_array_length(problems) > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            MESSAGE = format('command %s: the payload with this input has %s problem(s); nothing was changed',
                             command_id, jsonb_array_length(problems)),
            DETAIL = (SELECT string_agg('- ' || (p.problem ->> 'path') || ': ' || (p.problem ->> 'message'), E'\n')
                      FROM jsonb_array_elements(problems) AS p (problem));
    END IF;
    PERFORM concord._audit('input_provided', c.command_id, c.trace_id, 'command', c.command_id::text,
                           c.status, c.status,
                           -- payload_before: an idempotent replay of the submission still matches
                           jsonb_build_object('payload_patch', payload_patch, 'payload_before', c.payload), actor);
    saved := concord._push_actor(actor, 'input provided');
    UPDATE concord.commands AS x SET payload = merged, status = 'validated'
    WHERE x.command_id = c.command_id;
    PERFORM concord._pop_actor(saved);
    RETURN concord._reevaluate(c.command_id, actor, 'policies evaluated after input');
END
$$;

COMMENT ON FUNCTION concord.provide_input(uuid, jsonb, text) IS
'The requester supplies input for a command waiting_for_input: the patch is merged (RFC 7396), '
'the payload validated (CN005, nothing changed, if invalid) and the policies evaluated again. '
'Returns the evaluation with the new status.';

-- The required inputs validation checks: all of them, unless the
-- required_inputs policy governs the type and turns missing ones into an
-- input request.
CREATE OR REPLACE FUNCTION concord._validated_inputs(ct concord.command_types)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF 'required_inputs' = ANY (ct.policy_checks) THEN
        RETURN '{}'::text[];
    END IF;
    RETURN ct.required_inputs;
END
$$;

-- ---------------------------------------------------------------------------
-- Approvals: guards that hold for any write, and what a decision does
-- ---------------------------------------------------------------------------

-- May principal decide approval a? (self-approval is refused separately)
CREATE OR REPLACE FUNCTION concord._may_decide(a concord.approvals, principal text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM concord.team_members AS m WHERE m.team = _may_decide.principal) THEN
        -- a principal with members is a team, and a team is not a person
        RETURN false;
    END IF;
    RETURN principal = ANY (a.eligible_approvers)
        OR (a.approver_team IS NOT NULL
            AND EXISTS (SELECT 1 FROM concord.team_members AS m
                        WHERE m.team = a.approver_team AND m.principal = _may_decide.principal));
END
$$;

CREATE OR REPLACE FUNCTION concord._approvals_before_write()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    c concord.commands%ROWTYPE;
    t concord.approval_types%ROWTYPE;
    latest jsonb;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = NEW.command_id;
        IF c.status IS DISTINCT FROM 'waiting_for_approval' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('an approval is opened only for a command waiting_for_approval; %s is %s',
                                 NEW.command_id, coalesce(c.status, 'missing'));
        END IF;
        IF NEW.status <> 'pending' OR NEW.decision IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = 'an approval starts pending and undecided';
        END IF;
        -- It answers the command's latest evaluation, which asked for its type.
        latest := concord._latest_evaluation(NEW.command_id);
        IF latest ->> 'evaluation_id' IS DISTINCT FROM NEW.evaluation_id::text
           OR NOT coalesce(latest -> 'approval_types', '[]') ? NEW.approval_type THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('an approval of type %s was not asked for by the latest policy evaluation of '
                                 'command %s', NEW.approval_type, NEW.command_id);
        END IF;
        IF NEW.expires_at <= now() THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('an approval cannot be opened already expired (%s)', NEW.expires_at);
        END IF;
        NEW.requested_by := c.requested_by;
        NEW.created_at := now();
        RETURN NEW;
    END IF;

    IF (NEW.approval_id, NEW.command_id, NEW.evaluation_id, NEW.approval_type, NEW.requested_by, NEW.approver,
        NEW.eligible_approvers, NEW.approver_team, NEW.request_payload, NEW.review_packet, NEW.expires_at,
        NEW.created_at)
       IS DISTINCT FROM
       (OLD.approval_id, OLD.command_id, OLD.evaluation_id, OLD.approval_type, OLD.requested_by, OLD.approver,
        OLD.eligible_approvers, OLD.approver_team, OLD.request_payload, OLD.review_packet, OLD.expires_at,
        OLD.created_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            MESSAGE = format('approval %s: only its status, decision, decider and reason change', OLD.approval_id);
    END IF;
    IF OLD.status <> 'pending' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN013',
            MESSAGE = format('approval %s is already %s%s; it cannot be resolved again', OLD.approval_id, OLD.status,
                             CASE WHEN OLD.decided_by IS NOT NULL THEN ' by ' || OLD.decided_by ELSE '' END);
    END IF;
    IF NEW.status = 'pending' THEN
        IF (NEW.decision, NEW.decided_by, NEW.reason) IS DISTINCT FROM (OLD.decision, OLD.decided_by, OLD.reason) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('approval %s: a decision changes its status', OLD.approval_id);
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.status IN ('expired', 'cancelled') THEN
        IF NEW.decision IS NOT NULL OR NEW.decided_by IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('approval %s: an %s approval carries no decision', OLD.approval_id, NEW.status);
        END IF;
        IF NEW.status = 'cancelled'
           AND (SELECT x.status FROM concord.commands AS x WHERE x.command_id = OLD.command_id) = 'waiting_for_approval' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                MESSAGE = format('approval %s: its command still waits for it; decide it, let it expire, or cancel '
                                 'the command', OLD.approval_id);
        END IF;
        RETURN NEW;
    END IF;

    -- A decision.
    IF NEW.decision IS DISTINCT FROM (CASE NEW.status WHEN 'approved' THEN 'approved' WHEN 'rejected' THEN 'rejected'
                                                     WHEN 'changes_requested' THEN 'request_changes' END) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('approval %s: status %s does not match decision %s', OLD.approval_id, NEW.status,
                             coalesce(NEW.decision, 'NULL'));
    END IF;
    SELECT * INTO t FROM concord.approval_types AS x WHERE x.name = OLD.approval_type;
    IF NOT NEW.decision = ANY (t.decision_values) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('approval type %s does not allow the decision %s', t.name, NEW.decision),
            HINT = format('Allowed: %s.', array_to_string(t.decision_values, ', '));
    END IF;
    IF NEW.decided_by IS NULL OR btrim(NEW.decided_by) = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('approval %s: a decision names who decided', OLD.approval_id);
    END IF;
    IF NEW.decided_by = OLD.requested_by THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            MESSAGE = format('%s requested command %s and may not decide its approval', NEW.decided_by, OLD.command_id);
    END IF;
    IF NOT concord._may_decide(OLD, NEW.decided_by) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            MESSAGE = format('%s is not an eligible approver of approval %s', NEW.decided_by, OLD.approval_id),
            DETAIL = format('Eligible: %s.', OLD.approver);
    END IF;
    -- the clock, not the transaction's start: a decision made late is late
    IF clock_timestamp() >= OLD.expires_at THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN014',
            MESSAGE = format('approval %s expired at %s; it can no longer be decided', OLD.approval_id, OLD.expires_at);
    END IF;
    NEW.decided_at := clock_timestamp();
    RETURN NEW;
END
$$;

-- What a resolved approval does to its command, and who hears of it.
CREATE OR REPLACE FUNCTION concord._approvals_after_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    c concord.commands%ROWTYPE;
    t concord.approval_types%ROWTYPE;
    who text := coalesce(NEW.decided_by, concord._actor());
    why text;
BEGIN
    PERFORM concord._audit(
        CASE NEW.status WHEN 'expired' THEN 'approval_expired' WHEN 'cancelled' THEN 'approval_cancelled'
                        ELSE 'approval_resolved' END,
        NEW.command_id, null, 'approval', NEW.approval_id::text, OLD.status, NEW.status,
        jsonb_strip_nulls(jsonb_build_object('approval_type', NEW.approval_type, 'decision', NEW.decision,
                                             'reason', NEW.reason)),
        who);
    c := concord._lock_command(NEW.command_id);
    IF c.status = 'waiting_for_approval' THEN
        SELECT * INTO t FROM concord.approval_types AS x WHERE x.name = NEW.approval_type;
        why := format('approval %s %s by %s%s', NEW.approval_type, NEW.status, who,
                      coalesce(': ' || NEW.reason, ''));
        IF NEW.status = 'approved' THEN
            IF NOT EXISTS (SELECT 1 FROM concord.approvals AS a
                           WHERE a.command_id = NEW.command_id AND a.evaluation_id = NEW.evaluation_id
                             AND a.status <> 'approved') THEN
                PERFORM concord._set_status(c.command_id, 'approved', who, why);
                PERFORM concord._set_status(c.command_id, 'queued', who, 'approved: queued to run');
            END IF;
        ELSIF NEW.status = 'rejected' THEN
            IF t.on_rejected = 'cancel' THEN
                PERFORM concord._cancel(c.command_id, who, why, null, 'approval_rejected');
            ELSE
                PERFORM concord._set_status(c.command_id, 'failed', who, why, null, why, 'approval_rejected');
            END IF;
        ELSIF NEW.status = 'changes_requested' THEN
            PERFORM concord._set_status(c.command_id, 'waiting_for_input', who, why);
        ELSIF NEW.status = 'expired' THEN
            PERFORM concord._set_status(c.command_id, 'expired', who, why, null,
                                        format('approval %s expired at %s', NEW.approval_type, NEW.expires_at),
                                        'approval_expired');
        END IF;
    END IF;
    IF NEW.status <> 'cancelled' THEN
        PERFORM pg_notify('concord_approvals', jsonb_build_object(
            'approval_id', NEW.approval_id, 'command_id', NEW.command_id, 'status', NEW.status,
            'approval_type', NEW.approval_type, 'decided_by', NEW.decided_by,
            'command_status', (SELECT x.status FROM concord.commands AS x WHERE x.command_id = NEW.command_id))::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER approvals_before_write
BEFORE INSERT OR UPDATE ON concord.approvals
FOR EACH ROW EXECUTE FUNCTION concord._approvals_before_write();

CREATE OR REPLACE TRIGGER approvals_after_update
AFTER UPDATE ON concord.approvals
FOR EACH ROW
WHEN (old.status IS DISTINCT FROM new.status)
EXECUTE FUNCTION concord._approvals_after_update();

CREATE OR REPLACE TRIGGER approvals_are_not_deleted
BEFORE DELETE ON concord.approvals
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are durable decisions');

CREATE OR REPLACE TRIGGER approvals_are_not_truncated
BEFORE TRUNCATE ON concord.approvals
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are durable decisions');

CREATE OR REPLACE TRIGGER policy_decisions_are_not_updated
BEFORE UPDATE OR DELETE ON concord.policy_decisions
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('is append-only');

CREATE OR REPLACE TRIGGER policy_decisions_are_not_truncated
BEFORE TRUNCATE ON concord.policy_decisions
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('is append-only');

-- Approvals still pending when their command stops waiting for them are
-- cancelled (expire_approvals expires the due ones itself).
CREATE OR REPLACE FUNCTION concord._close_approvals(command_id uuid)
RETURNS void
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
BEGIN
    UPDATE concord.approvals AS a SET status = 'cancelled'
    WHERE a.command_id = _close_approvals.command_id AND a.status = 'pending';
END
$$;

CREATE OR REPLACE FUNCTION concord.resolve_approval(
    approval_id uuid, decision text, actor text, reason text DEFAULT NULL
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
#variable_conflict use_variable
DECLARE
    a concord.approvals%ROWTYPE;
    new_status text;
BEGIN
    PERFORM concord._require('approval_id', approval_id::text);
    PERFORM concord._require('decision', decision);
    PERFORM concord._require('actor', actor);
    IF decision NOT IN ('approved', 'rejected', 'request_changes') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = format('unknown decision %L: use approved, rejected or request_changes', decision);
    END IF;
    SELECT * INTO a FROM concord.approvals AS x WHERE x.approval_id = resolve_approval.approval_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            MESSAGE = format('approval %s not found', approval_id);
    END IF;
    -- The command first, then the approval: the order every writer uses.
    PERFORM concord._lock_command(a.command_id);
    SELECT * INTO a FROM concord.approvals AS x WHERE x.approval_id = resolve_approval.approval_id FOR UPDATE;
    new_status := CASE decision WHEN 'request_changes' THEN 'changes_requested' ELSE decision END;
    -- The update's trigger checks status, decision values, eligibility,
    -- self-approval and expiry, whoever writes (CN013, CN008, CN012, CN014).
    UPDATE concord.approvals AS x SET
        status = new_status,
        decision = resolve_approval.decision,
        decided_by = actor,
        reason = resolve_approval.reason
    WHERE x.approval_id = a.approval_id;
    RETURN jsonb_build_object(
        'approval_id', a.approval_id,
        'command_id', a.command_id,
        'status', new_status,
        'command_status', (SELECT c.status FROM concord.commands AS c WHERE c.command_id = a.command_id));
END
$$;

COMMENT ON FUNCTION concord.resolve_approval(uuid, text, text, text) IS
'Decide an approval (approved, rejected or request_changes) as actor, who must be an eligible '
'approver and not the requester (CN012); a decided approval is refused (CN013), an expired one too '
'(CN014). Moves the command on and notifies channel concord_approvals. Returns '
'{approval_id, command_id, status, command_status}.';

CREATE OR REPLACE FUNCTION concord.expire_approvals(at timestamptz DEFAULT now())
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
    due record;
    expired integer := 0;
    changed integer;
    saved text[];
BEGIN
    IF at IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            MESSAGE = 'at is required: approvals pending past it expire';
    END IF;
    -- Expiring ahead of time (a test, a maintenance window) is the owner's
    -- call, not an application's.
    IF at > clock_timestamp() AND NOT EXISTS (
           SELECT 1 FROM pg_catalog.pg_roles AS r
           WHERE r.rolname = session_user
             AND (r.rolsuper OR pg_has_role(r.oid, (SELECT n.nspowner FROM pg_catalog.pg_namespace AS n
                                                    WHERE n.nspname = 'concord'), 'MEMBER'))) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            MESSAGE = format('%s may not expire approvals ahead of time (at %s is in the future)', session_user, at),
            HINT = 'Call concord.expire_approvals() without at, or with a time that has passed.';
    END IF;
    saved := concord._push_actor('concord:expire_approvals', format('pending past %s', at));
    -- Per command, every due approval in one statement: the first one to
    -- expire expires the command, whose other (not yet due) approvals are
    -- then cancelled with it.
    FOR due IN
        SELECT a.command_id FROM concord.approvals AS a
        WHERE a.status = 'pending' AND a.expires_at <= at
        GROUP BY a.command_id
        ORDER BY min(a.expires_at), a.command_id
    LOOP
        PERFORM concord._lock_command(due.command_id);
        UPDATE concord.approvals AS a SET status = 'expired'
        WHERE a.command_id = due.command_id AND a.status = 'pending' AND a.expires_at <= at;
        GET DIAGNOSTICS changed = ROW_COUNT;
        expired := expired + changed;
    END LOOP;
    PERFORM concord._pop_actor(saved);
    RETURN expired;
END
$$;

COMMENT ON FUNCTION concord.expire_approvals(timestamptz) IS
'Expire every approval still pending at the given time (default now) and expire the commands '
'waiting for them; returns how many approvals expired. Idempotent; safe to run concurrently.';

-- The database's own check that a governed command may wait for approval,
-- be approved, be queued or run (spec 21, 22), whatever path it takes there
-- (a retry of a failed command included): raises CN001 unless its latest
-- evaluation allowed it or every approval that evaluation asked for is
-- approved (for queued, running and approved), or that evaluation asked for
-- approval (for waiting_for_approval). Commands of types without policies
-- (never governed, or whose policies an administrator took away) move
-- freely, except into approved, which needs every approval asked for.
CREATE OR REPLACE FUNCTION concord._require_policy_consent(c concord.commands, to_status text)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    governed boolean;
    latest jsonb;
    granted boolean;
BEGIN
    SELECT cardinality(concord._effective_policies(ct)) > 0 INTO governed
    FROM concord.command_types AS ct WHERE ct.command_type = c.command_type;
    latest := concord._latest_evaluation(c.command_id);
    IF latest IS NULL AND (NOT governed OR concord._predates_governance(c)) THEN
        -- ungoverned, or recorded before governance existed (migration 0002):
        -- it moves as it did then
        RETURN;
    END IF;
    IF to_status = 'waiting_for_approval' THEN
        -- (an evaluation that has just asked opens its approvals right after
        -- this move; one whose approvals are all closed asks no more)
        IF latest ->> 'decision' IS DISTINCT FROM 'require_approval'
           OR (EXISTS (SELECT 1 FROM concord.approvals AS a
                       WHERE a.command_id = c.command_id AND a.evaluation_id = (latest ->> 'evaluation_id')::uuid)
               AND NOT EXISTS (SELECT 1 FROM concord.approvals AS a
                               WHERE a.command_id = c.command_id
                                 AND a.evaluation_id = (latest ->> 'evaluation_id')::uuid
                                 AND a.status = 'pending')) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                MESSAGE = format('illegal transition: command %s waits for approval only while an approval its '
                                 'policies asked for is pending', c.command_id),
                HINT = 'Run concord.evaluate_policies(command_id) on a validated command.';
        END IF;
        RETURN;
    END IF;
    granted := latest ->> 'decision' = 'require_approval'
        AND EXISTS (SELECT 1 FROM concord.approvals AS a
                    WHERE a.command_id = c.command_id AND a.evaluation_id = (latest ->> 'evaluation_id')::uuid)
        AND NOT EXISTS (SELECT 1 FROM concord.approvals AS a
                        WHERE a.command_id = c.command_id AND a.evaluation_id = (latest ->> 'evaluation_id')::uuid
                          AND a.status <> 'approved');
    IF to_status = 'approved' THEN
        IF NOT coalesce(granted, false) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN001',
                MESSAGE = format('illegal transition: command %s is approved only when every approval its policies '
                                 'asked for is approved', c.command_id),
                HINT = 'Decide the approvals with concord.resolve_approval.';
        END IF;
        RETURN;
    END IF;
    IF NOT governed THEN
        -- its type no longer has policies: an administrator's call
        RETURN;
    END IF;
    IF latest ->> 'decision' IS DISTINCT FROM 'allow' AND NOT coalesce(granted, false) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            MESSAGE = format('illegal transition: command %s cannot become %s: its policies have not allowed it',
                             c.command_id, to_status),
            DETAIL = format('Latest policy decision: %s%s.', coalesce(latest ->> 'decision', 'none (never evaluated)'),
                            CASE WHEN latest ->> 'decision' = 'require_approval'
                                 THEN ', and not every approval it asked for is approved' ELSE '' END),
            HINT = 'Run concord.evaluate_policies(command_id) on a validated command, or decide its approvals.';
    END IF;
END
$$;

-- True for a command recorded before migration 0002 brought governance: it
-- was never evaluated and is not judged afresh mid-flight. (created_at is
-- set by the insert trigger, so it cannot be backdated.)
CREATE OR REPLACE FUNCTION concord._predates_governance(c concord.commands)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN c.created_at < (SELECT m.applied_at FROM concord.schema_migrations AS m WHERE m.version = 2);
END
$$;
