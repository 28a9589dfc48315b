-- Resolving and expiring approvals (spec 22, 86).

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
    a concord.approvals%ROWTYPE;
    new_status text;
BEGIN
    PERFORM concord._require('approval_id', approval_id::text);
    PERFORM concord._require('decision', decision);
    IF decision NOT IN ('approved', 'rejected', 'request_changes') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_decision_is_approved_rejected_or_request_changes',
            MESSAGE = format('unknown decision %L: use approved, rejected or request_changes', decision);
    END IF;
    SELECT * INTO a FROM concord.approvals AS x WHERE x.approval_id = resolve_approval.approval_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_approval_exists',
            MESSAGE = format('approval %s not found', approval_id);
    END IF;
    -- The command first, then the approval: the order every writer uses.
    actor := concord._acting_on_command(actor, a.command_id, ARRAY['owner', 'admin', 'approver']);
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
    due record;
    expired integer := 0;
    changed integer;
    saved text[];
BEGIN
    IF at IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'the_expiry_time_is_given',
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
            CONSTRAINT = 'only_the_owner_expires_approvals_ahead_of_time',
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
