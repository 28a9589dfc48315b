-- The approvals inbox of the authenticated principal (the REST API's
-- GET /approvals, the console's inbox): what it may decide now.

CREATE OR REPLACE FUNCTION concord.approval_inbox()
RETURNS TABLE (
    approval_id uuid,
    command_id uuid,
    approval_type text,
    command_type text,
    requested_by text,
    review_packet jsonb,
    expires_at timestamptz,
    created_at timestamptz,
    trace_id text
)
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
#variable_conflict use_column
DECLARE
    me text := concord._principal();
BEGIN
    RETURN QUERY
    SELECT p.approval_id, p.command_id, p.approval_type, p.command_type, p.requested_by, p.review_packet,
           p.expires_at, p.created_at, p.trace_id
    FROM concord.pending_approvals AS p
    WHERE p.approver = me
    ORDER BY p.created_at, p.approval_id;
END
$$;

COMMENT ON FUNCTION concord.approval_inbox() IS
'The pending, unexpired approvals the authenticated principal may decide (never its own '
'requests), oldest first, each with its review packet. Empty for a session that is no principal.';
