-- max_attempts is enforced (spec 13.2, 33): commands.attempts counts the runs
-- that began, and a command is not queued again once it has had its type's
-- max_attempts. Called by the commands' before-update guard, so it holds for
-- every path and every role.

CREATE OR REPLACE FUNCTION concord._count_attempt(
    old_row concord.commands, new_row concord.commands
)
RETURNS concord.commands
LANGUAGE plpgsql
VOLATILE
SET search_path = concord, pg_temp
AS $$
DECLARE
    allowed integer;
BEGIN
    IF new_row.attempts IS DISTINCT FROM old_row.attempts THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'attempts_are_counted_only_when_a_run_begins',
            TABLE = 'commands',
            MESSAGE = format('command %s: attempts (%s) is counted by the kernel when a run begins; it cannot '
                             'be set', old_row.command_id, old_row.attempts);
    END IF;
    IF new_row.status IS NOT DISTINCT FROM old_row.status THEN
        RETURN new_row;
    END IF;
    -- a blocked command resuming continues its run; any other move into
    -- running begins one
    IF new_row.status = 'running' AND old_row.status <> 'blocked' THEN
        new_row.attempts := old_row.attempts + 1;
    ELSIF new_row.status = 'queued' AND old_row.status IN ('failed', 'blocked') THEN
        allowed := (concord._command_contract_of(old_row)).max_attempts;
        IF old_row.attempts >= allowed THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'a_command_is_not_requeued_past_its_max_attempts',
                TABLE = 'commands',
                MESSAGE = format('command %s cannot be queued again: it has been attempted %s time(s), its type '
                                 '%s allows %s', old_row.command_id, old_row.attempts, old_row.command_type,
                                 allowed),
                HINT = 'Submit a new command, or raise the type''s max_attempts with register_command_type.';
        END IF;
    END IF;
    RETURN new_row;
END
$$;
