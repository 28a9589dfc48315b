-- The database's own check that a governed command may move where it asks to.

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
    SELECT cardinality(concord._policies_for(c, ct)) > 0 INTO governed
    FROM concord._command_contract_of(c) AS ct;
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
                CONSTRAINT = 'a_command_waits_for_approval_only_while_one_is_pending',
                TABLE = 'commands',
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
                CONSTRAINT = 'a_command_is_approved_only_when_its_approvals_are',
                TABLE = 'commands',
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
            CONSTRAINT = 'a_governed_command_moves_on_only_when_its_policies_allow',
            TABLE = 'commands',
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

-- The digest of a payload as an evaluation records it (jsonb's text form is
-- canonical: the same document always hashes alike).
CREATE OR REPLACE FUNCTION concord._payload_digest(payload jsonb)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN encode(sha256(convert_to(coalesce(payload, 'null'::jsonb)::text, 'UTF8')), 'hex');
END
$$;

-- A governed command is queued or run only with the payload its latest
-- policy evaluation judged (issue 12): a payload changed since, by any path
-- (the table owner's bare UPDATE included), is judged again by
-- concord.evaluate_policies before the command can move on. An evaluation
-- recorded before evaluations carried payload_digest is taken as it was.
CREATE OR REPLACE FUNCTION concord._require_judged_payload(c concord.commands)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    judged text := concord._latest_evaluation(c.command_id) ->> 'payload_digest';
BEGIN
    IF judged IS NULL OR judged = concord._payload_digest(c.payload)
       OR NOT (SELECT cardinality(concord._policies_for(c, ct)) > 0
               FROM concord._command_contract_of(c) AS ct) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'CN001',
        CONSTRAINT = 'a_command_runs_only_the_payload_its_policies_allowed',
        TABLE = 'commands',
        MESSAGE = format('illegal transition: command %s cannot become %s: its payload changed after its policies '
                         'judged it', c.command_id, c.status),
        DETAIL = format('Judged payload digest %s; the payload now hashes to %s.', judged,
                        concord._payload_digest(c.payload)),
        HINT = 'Run concord.evaluate_policies(command_id) on it while validated: its policies judge what it now holds.';
END
$$;
