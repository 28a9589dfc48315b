-- domain_effects (spec 9, 13.5): planned -> executing -> succeeded | failed,
-- every change audited, whoever writes.

-- Effects are planned and started only while their command runs (a
-- compensation: while it compensates), whoever writes, the table owner
-- included; and only by the command's current run (concord.worker_run, see
-- sql/commands/moves.sql), which plans, starts and finishes them.
CREATE OR REPLACE FUNCTION concord._require_effect_step(
    c concord.commands, e concord.domain_effects, step text
)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    run text := current_setting('concord.worker_run', true);
BEGIN
    IF step IN ('planned', 'started')
       AND c.status IS DISTINCT FROM (CASE WHEN e.compensates_effect_id IS NULL THEN 'running'
                                           ELSE 'compensating' END) THEN
        IF step = 'planned' THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'effects_are_planned_only_for_a_running_command',
                TABLE = 'domain_effects',
                MESSAGE = format('command %s is %s: effects are planned only while it is running (a compensation: '
                                 'while it is compensating)', e.command_id, coalesce(c.status, 'missing'));
        END IF;
        RAISE EXCEPTION USING
            ERRCODE = 'CN011',
            CONSTRAINT = 'effects_start_only_for_a_running_command',
            TABLE = 'domain_effects',
            MESSAGE = format('command %s is %s: effect %s starts only while it is running (a compensation: while '
                             'it is compensating)', e.command_id, c.status, e.domain_effect_id);
    END IF;
    IF NOT concord._is_current_run(c, run) OR run LIKE 'kernel:%'
       OR (step = 'started' AND e.executed_by_dbos_workflow_id IS DISTINCT FROM run) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'only_the_current_run_drives_its_effects',
            TABLE = 'domain_effects',
            MESSAGE = format('effect %s of command %s cannot be %s here: only the worker step of the command''s '
                             'current run (workflow %s) plans, starts and finishes its effects',
                             coalesce(e.domain_effect_id::text, '(new)'), e.command_id, step,
                             coalesce(c.dbos_workflow_id, 'none')),
            DETAIL = CASE WHEN coalesce(run, '') = '' THEN 'No run is acting.'
                          WHEN step = 'started' AND e.executed_by_dbos_workflow_id IS DISTINCT FROM run
                              THEN format('Run %s starts it for workflow %s.', run,
                                          coalesce(e.executed_by_dbos_workflow_id, 'none'))
                          ELSE format('%s is not its current run.', run) END,
            HINT = 'A worker plans and starts effects with concord.runtime_begin_effect.';
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION concord._effects_before_insert()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
DECLARE
    compensated_command uuid;
    c concord.commands%ROWTYPE;
BEGIN
    IF NEW.status IS DISTINCT FROM 'planned' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            CONSTRAINT = 'a_new_effect_starts_planned',
            TABLE = 'domain_effects',
            MESSAGE = format('illegal effect transition: a new effect starts in planned, not %s', NEW.status);
    END IF;
    IF NEW.compensates_effect_id IS NOT NULL THEN
        SELECT e.command_id INTO compensated_command
        FROM concord.domain_effects AS e WHERE e.domain_effect_id = NEW.compensates_effect_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN006',
                CONSTRAINT = 'the_compensated_effect_exists',
                TABLE = 'domain_effects',
                MESSAGE = format('effect %s (to be compensated) not found', NEW.compensates_effect_id);
        END IF;
        -- a swarm's command also counters what its agents' finished commands did (spec 65)
        IF compensated_command <> NEW.command_id AND compensated_command NOT IN (
               SELECT x.c FROM concord._swarm_commands_to_compensate(NEW.command_id) AS x (c)) THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN008',
                CONSTRAINT = 'a_compensation_belongs_to_the_same_command',
                TABLE = 'domain_effects',
                MESSAGE = format('effect %s belongs to command %s: a compensation is planned on the same command, '
                                 'or on the command of the swarm one of whose agents asked for it once that '
                                 'command has finished', NEW.compensates_effect_id, compensated_command);
        END IF;
        -- Two commands may counter one effect (its own, and the swarm's
        -- command it worked for): only one of them does. The compensated
        -- effect's row is the meeting point, so two at once queue on it.
        PERFORM 1 FROM concord.domain_effects AS e WHERE e.domain_effect_id = NEW.compensates_effect_id
        FOR NO KEY UPDATE;
        IF EXISTS (SELECT 1 FROM concord.domain_effects AS k
                   WHERE k.compensates_effect_id = NEW.compensates_effect_id AND k.command_id <> NEW.command_id
                     AND k.status <> 'failed') THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN011',
                CONSTRAINT = 'an_effect_is_countered_by_one_command',
                TABLE = 'domain_effects',
                MESSAGE = format('effect %s is already countered (or being countered) by command %s: command %s '
                                 'does not counter it again', NEW.compensates_effect_id,
                                 (SELECT k.command_id FROM concord.domain_effects AS k
                                  WHERE k.compensates_effect_id = NEW.compensates_effect_id
                                    AND k.command_id <> NEW.command_id AND k.status <> 'failed' LIMIT 1),
                                 NEW.command_id),
                HINT = 'Only a failed compensation is tried again, by another command.';
        END IF;
    END IF;
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = NEW.command_id FOR SHARE;
    PERFORM concord._require_effect_step(c, NEW, 'planned');
    NEW.created_at := now();
    NEW.started_at := NULL;
    NEW.completed_at := NULL;
    NEW.executed_by_dbos_workflow_id := NULL;
    NEW.result := NULL;
    NEW.error := NULL;
    NEW.error_class := NULL;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._effects_before_update()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    IF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
        SELECT 1 FROM concord.effect_transitions AS t
        WHERE t.from_status = OLD.status AND t.to_status = NEW.status
    ) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN001',
            CONSTRAINT = 'an_effect_status_change_follows_the_state_machine',
            TABLE = 'domain_effects',
            MESSAGE = format('illegal effect transition: effect %s cannot go from %s to %s',
                             OLD.domain_effect_id, OLD.status, coalesce(NEW.status, 'NULL')),
            DETAIL = 'Effects move planned -> executing -> succeeded | failed.';
    END IF;
    IF (SELECT s.terminal FROM concord.effect_statuses AS s WHERE s.status = OLD.status) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'a_finished_effect_never_changes',
            TABLE = 'domain_effects',
            MESSAGE = format('effect %s is %s: it can no longer change', OLD.domain_effect_id, OLD.status);
    END IF;
    IF (NEW.domain_effect_id, NEW.command_id, NEW.effect_type, NEW.effect_payload, NEW.idempotency_key,
        NEW.compensates_effect_id, NEW.declared_compensation, NEW.created_at)
       IS DISTINCT FROM
       (OLD.domain_effect_id, OLD.command_id, OLD.effect_type, OLD.effect_payload, OLD.idempotency_key,
        OLD.compensates_effect_id, OLD.declared_compensation, OLD.created_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'effect_identity_is_immutable',
            TABLE = 'domain_effects',
            MESSAGE = format('effect %s: only its status, workflow, result and error change', OLD.domain_effect_id);
    END IF;
    IF OLD.executed_by_dbos_workflow_id IS NOT NULL
       AND NEW.executed_by_dbos_workflow_id IS DISTINCT FROM OLD.executed_by_dbos_workflow_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'an_effect_keeps_its_workflow',
            TABLE = 'domain_effects',
            MESSAGE = format('effect %s is already executed by workflow %s', OLD.domain_effect_id,
                             OLD.executed_by_dbos_workflow_id);
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM concord._require_effect_step(
            (SELECT c FROM concord.commands AS c WHERE c.command_id = NEW.command_id), NEW,
            CASE NEW.status WHEN 'executing' THEN 'started' ELSE 'finished' END);
        IF NEW.status = 'executing' THEN
            NEW.started_at := now();
        ELSE
            NEW.completed_at := now();
        END IF;
    ELSIF (NEW.executed_by_dbos_workflow_id, NEW.result, NEW.error, NEW.error_class, NEW.started_at,
           NEW.completed_at)
          IS DISTINCT FROM
          (OLD.executed_by_dbos_workflow_id, OLD.result, OLD.error, OLD.error_class, OLD.started_at,
           OLD.completed_at) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN007',
            CONSTRAINT = 'effect_outcome_changes_only_with_status',
            TABLE = 'domain_effects',
            MESSAGE = format('effect %s: its workflow, result, error and times change only with its status',
                             OLD.domain_effect_id);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION concord._effects_after_change()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = concord, pg_temp
AS $$
BEGIN
    PERFORM concord._audit(
        CASE TG_OP WHEN 'INSERT' THEN 'effect_planned' ELSE 'effect_status_changed' END,
        NEW.command_id,
        (SELECT c.trace_id FROM concord.commands AS c WHERE c.command_id = NEW.command_id),
        'effect', NEW.domain_effect_id::text,
        CASE TG_OP WHEN 'INSERT' THEN NULL ELSE OLD.status END, NEW.status,
        jsonb_strip_nulls(jsonb_build_object(
            'effect_type', NEW.effect_type,
            'idempotency_key', NEW.idempotency_key,
            'workflow_id', NEW.executed_by_dbos_workflow_id,
            'compensates_effect_id', NEW.compensates_effect_id,
            'declared_compensation', NEW.declared_compensation,
            'error', NEW.error,
            'error_class', NEW.error_class)),
        CASE WHEN NEW.executed_by_dbos_workflow_id IS NOT NULL
             THEN 'workflow:' || NEW.executed_by_dbos_workflow_id END);
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER effects_before_insert
BEFORE INSERT ON concord.domain_effects
FOR EACH ROW EXECUTE FUNCTION concord._effects_before_insert();

CREATE OR REPLACE TRIGGER effects_before_update
BEFORE UPDATE ON concord.domain_effects
FOR EACH ROW EXECUTE FUNCTION concord._effects_before_update();

CREATE OR REPLACE TRIGGER effects_after_insert
AFTER INSERT ON concord.domain_effects
FOR EACH ROW EXECUTE FUNCTION concord._effects_after_change();

CREATE OR REPLACE TRIGGER effects_after_update
AFTER UPDATE ON concord.domain_effects
FOR EACH ROW
WHEN (old.status IS DISTINCT FROM new.status)
EXECUTE FUNCTION concord._effects_after_change();

CREATE OR REPLACE TRIGGER effects_are_not_deleted
BEFORE DELETE ON concord.domain_effects
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('are durable history');

CREATE OR REPLACE TRIGGER effects_are_not_truncated
BEFORE TRUNCATE ON concord.domain_effects
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('are durable history');
