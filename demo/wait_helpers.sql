-- Bounded waits for the worker, included by demo/02-05 (\ir wait_helpers.sql). They live in
-- pg_temp, so they last as long as the psql session and touch nothing else. Each polls
-- every 50 ms and fails loudly: when the command ends otherwise than expected at once,
-- and when nothing happened within the time given (is a worker running?).

CREATE OR REPLACE FUNCTION pg_temp.wait_for_status(command_id uuid, wanted text, seconds numeric DEFAULT 30)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    c concord.commands%ROWTYPE;
    deadline timestamptz := clock_timestamp() + seconds * interval '1 second';
BEGIN
    LOOP
        -- READ COMMITTED: each statement sees what has been committed when it starts.
        SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = wait_for_status.command_id;
        IF NOT found THEN
            RAISE EXCEPTION 'demo: command % not found', command_id;
        END IF;
        IF c.status = wanted THEN
            RETURN c.status;
        END IF;
        IF c.status IN ('succeeded', 'failed', 'cancelled') THEN
            RAISE EXCEPTION 'demo: command % (%) ended %, not % (error_class %: %)',
                command_id, c.command_type, c.status, wanted, coalesce(c.error_class, '-'), coalesce(c.error, '-');
        END IF;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'demo: command % (%) is still % after % s instead of %: is a worker running '
                            '`concord worker --module demo_ops`? (make demo starts one)',
                command_id, c.command_type, c.status, seconds, wanted;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;

-- Wait until the command has a succeeded effect of this type; returns the effect's id.
CREATE OR REPLACE FUNCTION pg_temp.wait_for_effect(command_id uuid, effect_type text, seconds numeric DEFAULT 30)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    e concord.domain_effects%ROWTYPE;
    command_status text;
    deadline timestamptz := clock_timestamp() + seconds * interval '1 second';
BEGIN
    LOOP
        SELECT * INTO e FROM concord.domain_effects AS x
        WHERE x.command_id = wait_for_effect.command_id AND x.effect_type = wait_for_effect.effect_type
        ORDER BY x.created_at DESC
        LIMIT 1;
        IF found AND e.status = 'succeeded' THEN
            RETURN e.domain_effect_id;
        END IF;
        IF found AND e.status = 'failed' THEN
            RAISE EXCEPTION 'demo: effect % of command % failed (error_class %: %)',
                effect_type, command_id, e.error_class, e.error;
        END IF;
        SELECT c.status INTO command_status FROM concord.commands AS c WHERE c.command_id = wait_for_effect.command_id;
        IF command_status IN ('succeeded', 'failed', 'cancelled') THEN
            RAISE EXCEPTION 'demo: command % ended % without a succeeded % effect', command_id, command_status, effect_type;
        END IF;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'demo: no succeeded % effect for command % (%) after % s: is a worker running '
                            '`concord worker --module demo_ops`? (make demo starts one)',
                effect_type, command_id, command_status, seconds;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;

-- The agents of a swarm that failed, with their errors (for the messages below).
CREATE OR REPLACE FUNCTION pg_temp.swarm_failures(swarm_run_id uuid)
RETURNS text
LANGUAGE sql
STABLE
AS $$
    SELECT coalesce(string_agg(format('%s %s: %s', a.agent_name, a.status, coalesce(a.error, '-')), '; '
                               ORDER BY a.created_at), 'none')
    FROM concord.agent_runs AS a
    WHERE a.swarm_run_id = swarm_failures.swarm_run_id AND a.status IN ('failed', 'cancelled', 'expired')
$$;

-- Wait until an agent of the swarm has asked for a command of this type (through the
-- gateway) and that command is in status wanted; returns the command's id. Fails when the
-- command ends otherwise, when the swarm ends or one of its agents fails first, or when
-- nothing happened in time.
CREATE OR REPLACE FUNCTION pg_temp.wait_for_agent_command(
    swarm_run_id uuid, command_type text, wanted text, seconds numeric DEFAULT 30
)
RETURNS uuid
LANGUAGE plpgsql
AS $$
DECLARE
    c concord.commands%ROWTYPE;
    s concord.swarm_runs%ROWTYPE;
    deadline timestamptz := clock_timestamp() + seconds * interval '1 second';
BEGIN
    LOOP
        SELECT x.* INTO c
        FROM concord.agent_steps AS st
        INNER JOIN concord.commands AS x ON st.created_command_id = x.command_id
        WHERE st.swarm_run_id = wait_for_agent_command.swarm_run_id
          AND x.command_type = wait_for_agent_command.command_type
        ORDER BY x.created_at DESC
        LIMIT 1;
        IF found AND c.status = wanted THEN
            RETURN c.command_id;
        END IF;
        IF found AND c.status IN ('succeeded', 'failed', 'cancelled') THEN
            RAISE EXCEPTION 'demo: the agents'' % command % ended %, not % (error_class %: %)',
                command_type, c.command_id, c.status, wanted, coalesce(c.error_class, '-'), coalesce(c.error, '-');
        END IF;
        SELECT * INTO s FROM concord.swarm_runs AS x WHERE x.swarm_run_id = wait_for_agent_command.swarm_run_id;
        IF NOT found THEN
            RAISE EXCEPTION 'demo: swarm run % not found', swarm_run_id;
        END IF;
        IF s.status IN ('succeeded', 'partially_succeeded', 'failed', 'cancelled', 'expired')
           OR pg_temp.swarm_failures(swarm_run_id) <> 'none' THEN
            RAISE EXCEPTION 'demo: swarm % is % without a % command in %; failed agents: %',
                s.name, s.status, command_type, wanted, pg_temp.swarm_failures(swarm_run_id);
        END IF;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'demo: no % command of swarm % is % after % s (last: %): is a worker running '
                            '`concord worker --module demo_ops --module demo_agents`? (make demo starts one)',
                command_type, s.name, wanted, seconds, coalesce(c.status, 'none yet');
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;

-- Wait until the swarm is in status wanted; fails when it ends otherwise or in time.
CREATE OR REPLACE FUNCTION pg_temp.wait_for_swarm(swarm_run_id uuid, wanted text, seconds numeric DEFAULT 30)
RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
    s concord.swarm_runs%ROWTYPE;
    deadline timestamptz := clock_timestamp() + seconds * interval '1 second';
BEGIN
    LOOP
        SELECT * INTO s FROM concord.swarm_runs AS x WHERE x.swarm_run_id = wait_for_swarm.swarm_run_id;
        IF NOT found THEN
            RAISE EXCEPTION 'demo: swarm run % not found', swarm_run_id;
        END IF;
        IF s.status = wanted THEN
            RETURN s.status;
        END IF;
        IF s.status IN ('succeeded', 'partially_succeeded', 'failed', 'cancelled', 'expired') THEN
            RAISE EXCEPTION 'demo: swarm % ended %, not % (%); failed agents: %',
                s.name, s.status, wanted, coalesce(s.error, '-'), pg_temp.swarm_failures(swarm_run_id);
        END IF;
        IF clock_timestamp() > deadline THEN
            RAISE EXCEPTION 'demo: swarm % is still % after % s instead of %: is a worker running '
                            '`concord worker --module demo_ops --module demo_agents`? (make demo starts one)',
                s.name, s.status, seconds, wanted;
        END IF;
        PERFORM pg_sleep(0.05);
    END LOOP;
END
$$;

-- Wait until every command of command_ids is in status wanted (the registry's publications,
-- bindings, rollbacks and retirements, run by the worker's registry workflows); returns how
-- many. Fails as wait_for_status does, naming the first command that did not get there.
CREATE OR REPLACE FUNCTION pg_temp.wait_for_commands(command_ids uuid[], wanted text, seconds numeric DEFAULT 30)
RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
    id uuid;
    deadline timestamptz := clock_timestamp() + seconds * interval '1 second';
BEGIN
    FOREACH id IN ARRAY command_ids LOOP
        PERFORM pg_temp.wait_for_status(id, wanted,
                                        greatest(extract(EPOCH FROM deadline - clock_timestamp()), 0.1)::numeric);
    END LOOP;
    RETURN cardinality(command_ids);
END
$$;
