-- Views of governance for operators and approvers (spec 48).

-- Spec 22: what each approver has to decide — one row per approval and
-- person who may decide it (named principals and members of the approving
-- team), never the requester.
CREATE OR REPLACE VIEW concord.pending_approvals AS
SELECT
    who.approver,
    a.approval_id,
    a.command_id,
    a.approval_type,
    a.requested_by,
    a.review_packet,
    a.expires_at,
    a.created_at,
    c.command_type,
    c.trace_id
FROM concord.approvals AS a
INNER JOIN concord.commands AS c ON a.command_id = c.command_id
CROSS JOIN
    LATERAL (
        SELECT p.principal AS approver FROM unnest(a.eligible_approvers) AS p (principal)
        UNION
        SELECT m.principal FROM concord.team_members AS m
        INNER JOIN concord.projects AS p ON m.org_id = p.org_id
        WHERE m.team = a.approver_team AND p.project_id = c.project_id
    ) AS who
WHERE
    a.status = 'pending'
    AND a.expires_at > clock_timestamp()
    AND who.approver <> a.requested_by
    -- a member that is itself a team is not a person
    AND NOT EXISTS (
        SELECT 1 FROM concord.team_members AS t
        INNER JOIN concord.projects AS p ON t.org_id = p.org_id
        WHERE t.team = who.approver AND p.project_id = c.project_id
    );

COMMENT ON VIEW concord.pending_approvals IS
'Pending approvals, one row per eligible approver (never the requester), with the review packet.';

COMMENT ON COLUMN concord.pending_approvals.approver IS
'A person who may decide it: an eligible approver named on the approval or a member of its '
'approver team; never the requester, never a team.';

COMMENT ON COLUMN concord.pending_approvals.approval_id IS
'The approval''s id.';

COMMENT ON COLUMN concord.pending_approvals.command_id IS
'The command waiting for it.';

COMMENT ON COLUMN concord.pending_approvals.approval_type IS
'Its approval type.';

COMMENT ON COLUMN concord.pending_approvals.requested_by IS
'Who requested the command (never its approver).';

COMMENT ON COLUMN concord.pending_approvals.review_packet IS
'What the approver is shown: the command, the policies'' reasons, the risk.';

COMMENT ON COLUMN concord.pending_approvals.expires_at IS
'When a pending approval expires.';

COMMENT ON COLUMN concord.pending_approvals.created_at IS
'When it was asked for.';

COMMENT ON COLUMN concord.pending_approvals.command_type IS
'The type of the command waiting for it.';

COMMENT ON COLUMN concord.pending_approvals.trace_id IS
'The trace id shared by every event of the command.';

-- Every decision taken about a command: each policy's, each approver's.
CREATE OR REPLACE VIEW concord.decision_history AS
SELECT
    d.command_id,
    d.decided_at,
    'policy' AS kind,
    d.policy AS name,
    d.decision,
    d.reasons,
    d.actor,
    d.evaluation_id,
    null::uuid AS approval_id,
    d.decision_id
FROM concord.policy_decisions AS d
UNION ALL
SELECT
    a.command_id,
    coalesce(a.decided_at, e.created_at) AS decided_at,
    'approval' AS kind,
    a.approval_type AS name,
    a.status AS decision,
    CASE WHEN a.reason IS null THEN '[]'::jsonb ELSE jsonb_build_array(a.reason) END AS reasons,
    coalesce(a.decided_by, e.actor) AS actor,
    a.evaluation_id,
    a.approval_id,
    null::bigint AS decision_id
FROM concord.approvals AS a
LEFT JOIN LATERAL (
    SELECT
        x.created_at,
        x.actor
    FROM concord.domain_events AS x
    WHERE
        x.command_id = a.command_id AND x.target_id = a.approval_id::text
        AND x.event_type IN ('approval_expired', 'approval_cancelled')
    ORDER BY x.event_seq DESC LIMIT 1
) AS e ON true
WHERE a.status <> 'pending';

COMMENT ON VIEW concord.decision_history IS
'Per command, every policy decision and every approval outcome (approved, rejected, '
'changes_requested, expired, cancelled), with who decided and why.';

COMMENT ON COLUMN concord.decision_history.command_id IS
'The command decided about.';

COMMENT ON COLUMN concord.decision_history.decided_at IS
'When it was decided (for an approval that expired or was cancelled, when that was recorded).';

COMMENT ON COLUMN concord.decision_history.kind IS
'policy for a policy''s decision, approval for an approval''s outcome.';

COMMENT ON COLUMN concord.decision_history.name IS
'The policy that decided, or the approval type of the approval.';

COMMENT ON COLUMN concord.decision_history.decision IS
'A policy''s decision (allow, deny, require_input, require_approval) or an approval''s outcome '
'(approved, rejected, changes_requested, expired, cancelled).';

COMMENT ON COLUMN concord.decision_history.reasons IS
'Why, as a JSON array: the policy''s reasons, or the decider''s reason (empty when none was '
'given).';

COMMENT ON COLUMN concord.decision_history.actor IS
'Who caused the policy evaluation, or who decided, expired or cancelled the approval.';

COMMENT ON COLUMN concord.decision_history.evaluation_id IS
'The policy evaluation the decision belongs to, or the one that asked for the approval.';

COMMENT ON COLUMN concord.decision_history.approval_id IS
'The approval, for kind approval (NULL for a policy''s decision).';

COMMENT ON COLUMN concord.decision_history.decision_id IS
'The policy decision''s number, for kind policy (NULL for an approval).';
