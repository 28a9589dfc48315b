-- plan_command: the ExecutionPlan of a command, stored on the command.

CREATE OR REPLACE FUNCTION concord.plan_command(command_id uuid)
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
DECLARE
    c concord.commands%ROWTYPE := concord._lock_command(command_id);
    ct concord.command_types%ROWTYPE;
    approval_types text[];
    new_plan jsonb;
BEGIN
    IF c.status NOT IN ('validated', 'waiting_for_input', 'waiting_for_approval', 'approved', 'queued',
                        'running', 'blocked') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'only_a_command_still_to_run_is_planned',
            MESSAGE = format('command %s is %s: only a command that is still to run is planned', command_id, c.status);
    END IF;
    ct := concord._command_contract_of(c);
    -- The approval types its latest evaluation asks for, now or once its
    -- input is complete (an earlier evaluation that a change of input made
    -- unnecessary no longer gates it).
    approval_types := ARRAY(
        SELECT DISTINCT x.name
        FROM jsonb_array_elements_text(coalesce(c.policy_evaluation -> 'approval_types', '[]')) AS x (name)
        UNION
        SELECT p.value ->> 'approval_type'
        FROM jsonb_array_elements(coalesce(c.policy_evaluation -> 'policies', '[]')) AS p (value)
        WHERE p.value ->> 'decision' = 'require_approval'
        ORDER BY 1);
    new_plan := concord._build_plan(ct, c.command_id, approval_types);
    IF new_plan IS DISTINCT FROM c.plan THEN
        UPDATE concord.commands AS x SET plan = new_plan WHERE x.command_id = c.command_id;
        PERFORM concord._audit('command_planned', c.command_id, c.trace_id, 'plan', new_plan ->> 'plan_id',
                               null, null, new_plan);
    END IF;
    RETURN new_plan;
END
$$;

COMMENT ON FUNCTION concord.plan_command(uuid) IS
'The spec 13.3 ExecutionPlan of a command (execution mode, primitives, steps with depends_on, the '
'approval gate where required, the spec 10 queue of each effect type), stored on the command and '
'recorded as a command_planned event. Planning again without change records nothing.';
