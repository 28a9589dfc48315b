-- approvals and policy_decisions: the guards that hold for any write, and what
-- a decision does to its command.

-- May principal decide approval a? (self-approval is refused separately)
CREATE OR REPLACE FUNCTION concord._may_decide(a concord.approvals, principal text)
RETURNS boolean
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    org uuid := concord._org_of_command(a.command_id);
BEGIN
    IF EXISTS (SELECT 1 FROM concord.team_members AS m WHERE m.org_id = org AND m.team = _may_decide.principal) THEN
        -- a principal with members is a team, and a team is not a person
        RETURN false;
    END IF;
    RETURN principal = ANY (a.eligible_approvers)
        OR (a.approver_team IS NOT NULL
            AND EXISTS (SELECT 1 FROM concord.team_members AS m
                        WHERE m.org_id = org AND m.team = a.approver_team AND m.principal = _may_decide.principal));
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
                CONSTRAINT = 'an_approval_opens_only_for_a_command_waiting_for_approval',
                TABLE = 'approvals',
                MESSAGE = format('an approval is opened only for a command waiting_for_approval; %s is %s',
                                 NEW.command_id, coalesce(c.status, 'missing'));
        END IF;
        IF NEW.status <> 'pending' OR NEW.decision IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'an_approval_starts_pending_and_undecided',
                TABLE = 'approvals',
                MESSAGE = 'an approval starts pending and undecided';
        END IF;
        -- It answers the command's latest evaluation, which asked for its type.
        latest := concord._latest_evaluation(NEW.command_id);
        IF latest ->> 'evaluation_id' IS DISTINCT FROM NEW.evaluation_id::text
           OR NOT coalesce(latest -> 'approval_types', '[]') ? NEW.approval_type THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'an_approval_answers_the_latest_evaluation',
                TABLE = 'approvals',
                MESSAGE = format('an approval of type %s was not asked for by the latest policy evaluation of '
                                 'command %s', NEW.approval_type, NEW.command_id);
        END IF;
        IF NEW.expires_at <= now() THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'an_approval_is_not_opened_already_expired',
                TABLE = 'approvals',
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
            CONSTRAINT = 'an_approval_changes_only_its_status_and_decision',
            TABLE = 'approvals',
            MESSAGE = format('approval %s: only its status, decision, decider and reason change', OLD.approval_id);
    END IF;
    IF OLD.status <> 'pending' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN013',
            CONSTRAINT = 'an_approval_is_decided_once',
            TABLE = 'approvals',
            MESSAGE = format('approval %s is already %s%s; it cannot be resolved again', OLD.approval_id, OLD.status,
                             CASE WHEN OLD.decided_by IS NOT NULL THEN ' by ' || OLD.decided_by ELSE '' END);
    END IF;
    IF NEW.status = 'pending' THEN
        IF (NEW.decision, NEW.decided_by, NEW.reason) IS DISTINCT FROM (OLD.decision, OLD.decided_by, OLD.reason) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_decision_changes_the_approval_status',
                TABLE = 'approvals',
                MESSAGE = format('approval %s: a decision changes its status', OLD.approval_id);
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.status IN ('expired', 'cancelled') THEN
        IF NEW.decision IS NOT NULL OR NEW.decided_by IS NOT NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'an_expired_or_cancelled_approval_carries_no_decision',
                TABLE = 'approvals',
                MESSAGE = format('approval %s: an %s approval carries no decision', OLD.approval_id, NEW.status);
        END IF;
        IF NEW.status = 'cancelled'
           AND (SELECT x.status FROM concord.commands AS x WHERE x.command_id = OLD.command_id) = 'waiting_for_approval' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'an_approval_its_command_waits_for_is_not_cancelled',
                TABLE = 'approvals',
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
            CONSTRAINT = 'the_approval_status_matches_its_decision',
            TABLE = 'approvals',
            MESSAGE = format('approval %s: status %s does not match decision %s', OLD.approval_id, NEW.status,
                             coalesce(NEW.decision, 'NULL'));
    END IF;
    SELECT * INTO t FROM concord.approval_types AS x WHERE x.name = OLD.approval_type;
    IF NOT NEW.decision = ANY (t.decision_values) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'the_decision_is_one_its_approval_type_allows',
            TABLE = 'approvals',
            MESSAGE = format('approval type %s does not allow the decision %s', t.name, NEW.decision),
            HINT = format('Allowed: %s.', array_to_string(t.decision_values, ', '));
    END IF;
    IF NEW.decided_by IS NULL OR btrim(NEW.decided_by) = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_decision_names_who_decided',
            TABLE = 'approvals',
            MESSAGE = format('approval %s: a decision names who decided', OLD.approval_id);
    END IF;
    IF NEW.decided_by = OLD.requested_by THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'approver_is_not_the_requester',
            TABLE = 'approvals',
            MESSAGE = format('%s requested command %s and may not decide its approval', NEW.decided_by, OLD.command_id);
    END IF;
    IF NOT concord._may_decide(OLD, NEW.decided_by) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'the_approver_is_eligible',
            TABLE = 'approvals',
            MESSAGE = format('%s is not an eligible approver of approval %s', NEW.decided_by, OLD.approval_id),
            DETAIL = format('Eligible: %s.', OLD.approver);
    END IF;
    -- the clock, not the transaction's start: a decision made late is late
    IF clock_timestamp() >= OLD.expires_at THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN014',
            CONSTRAINT = 'an_expired_approval_is_not_decided',
            TABLE = 'approvals',
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
