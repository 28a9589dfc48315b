-- Bounded waits for the worker, included by demo/02-04 (\ir wait_helpers.sql). They live in
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
