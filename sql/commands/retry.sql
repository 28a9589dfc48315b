-- Retrying a failed command, for the people who administer its project (the
-- REST API's and the CLI's retry): transition_command's move back to queued,
-- offered to a service's login (concord_app) that may not make any other
-- operator's move. The state machine, max_attempts and the retryable error
-- classes decide as they do for every requeue.

CREATE OR REPLACE FUNCTION concord.retry_command(command_id uuid, reason text DEFAULT NULL)
RETURNS text
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
    c concord.commands%ROWTYPE;
BEGIN
    PERFORM concord._require('command_id', command_id::text);
    IF concord._principal() IS NULL AND NOT concord._session_is_superuser() THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'the_caller_is_authenticated',
            MESSAGE = 'retry_command acts for an authenticated principal: this session speaks for none',
            HINT = 'Authenticate with an API token (concord.authenticate), or as an operator use '
                   'concord.transition_command(command_id, ''queued'', NULL, reason).';
    END IF;
    c := concord._lock_command(command_id);
    IF c.status <> 'failed' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'only_a_failed_command_is_retried',
            MESSAGE = format('command %s is %s, not failed: there is nothing to retry', command_id, c.status),
            HINT = 'concord.explain(command_id) says what holds it.';
    END IF;
    -- a principal is its own actor (NULL names it); a superuser's session,
    -- which is no principal, is recorded as its login
    RETURN concord.transition_command(
        command_id, 'queued', CASE WHEN concord._principal() IS NULL THEN session_user::text END,
        coalesce(reason, 'retried'));
END
$$;

COMMENT ON FUNCTION concord.retry_command(uuid, text) IS
'Queue a failed command again as the authenticated principal, an owner or admin of its project '
'(CN012 otherwise; a superuser''s session is recorded as its login): transition_command''s move '
'to queued, within its type''s max_attempts (CN011). '
'CN011 only_a_failed_command_is_retried for a command that is not failed. Returns the new status.';
