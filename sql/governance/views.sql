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
        WHERE m.team = a.approver_team
    ) AS who
WHERE
    a.status = 'pending'
    AND a.expires_at > clock_timestamp()
    AND who.approver <> a.requested_by
    -- a member that is itself a team is not a person
    AND NOT EXISTS (
        SELECT 1 FROM concord.team_members AS t
        WHERE t.team = who.approver
    );

COMMENT ON VIEW concord.pending_approvals IS
'Pending approvals, one row per eligible approver (never the requester), with the review packet.';

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
