-- Views for operators: psql and dashboards need no Python (spec 48).

-- Every status with how many commands are in it now (zero included).
CREATE OR REPLACE VIEW concord.commands_by_status AS
SELECT
    s.status,
    s.terminal,
    count(c.command_id) AS commands,
    min(c.updated_at) AS oldest_change,
    max(c.updated_at) AS newest_change
FROM concord.command_statuses AS s
LEFT JOIN concord.commands AS c ON s.status = c.status
GROUP BY s.status, s.terminal;

COMMENT ON VIEW concord.commands_by_status IS
'Each command status with the number of commands in it and their oldest and newest change.';

-- Failed commands, newest first, with their error class.
CREATE OR REPLACE VIEW concord.recent_failures AS
SELECT
    c.command_id,
    c.command_type,
    c.requested_by,
    c.error_class,
    c.error,
    c.error_detail,
    c.completed_at AS failed_at,
    c.trace_id
FROM concord.commands AS c
WHERE c.status = 'failed'
ORDER BY c.completed_at DESC, c.command_id ASC;

COMMENT ON VIEW concord.recent_failures IS
'Commands now failed, newest first, with error_class, error and its details.';

-- Effects handed to a runtime and not finished, oldest first.
CREATE OR REPLACE VIEW concord.effects_in_flight AS
SELECT
    e.domain_effect_id,
    e.command_id,
    e.effect_type,
    e.executed_by_dbos_workflow_id,
    e.started_at,
    now() - e.started_at AS running_for
FROM concord.domain_effects AS e
WHERE e.status = 'executing'
ORDER BY e.started_at, e.domain_effect_id;

COMMENT ON VIEW concord.effects_in_flight IS
'Effects in status executing, oldest first: the place to look for stuck side effects.';

-- The audit trail of every command, oldest first.
CREATE OR REPLACE VIEW concord.command_audit AS
SELECT
    e.event_seq,
    e.created_at,
    e.command_id,
    e.event_type,
    e.actor,
    e.from_status,
    e.to_status,
    e.reason,
    e.target_type,
    e.target_id,
    e.trace_id,
    e.payload
FROM concord.domain_events AS e
WHERE e.purpose = 'audit'
ORDER BY e.event_seq;

COMMENT ON VIEW concord.command_audit IS
'Every audit event (purpose = audit) in order: who changed what, from what, to what, and why.';

-- The task catalog (spec 13.2), for operators and callers deciding what to submit.
CREATE OR REPLACE VIEW concord.command_catalog AS
SELECT
    t.command_type,
    t.name,
    t.description,
    t.function_name,
    t.ingress_types,
    t.required_inputs,
    t.payload_schema,
    t.sync_allowed,
    t.async_required,
    t.approval_required,
    t.memory_write_possible,
    t.artifact_output_possible,
    t.notification_required,
    t.policy_checks,
    t.connector_requirements,
    t.risk_level,
    t.max_attempts,
    t.default_cancellation_mode,
    t.metadata,
    t.version,
    t.updated_at
FROM concord.command_types AS t
ORDER BY t.command_type;

COMMENT ON VIEW concord.command_catalog IS
'Every registered command type with its current definition and version.';

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
