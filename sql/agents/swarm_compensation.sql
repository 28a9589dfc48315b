-- compensate_then_stop on a swarm's command (spec 64.1, 65): the command's
-- run counters, besides its own effects, the succeeded effects of the
-- commands its swarms' agents asked for. Those commands have settled
-- (succeeded, failed, cancelled or expired), so no run of their own will
-- counter their effects; one still cancelling or compensating counters its
-- own and is left to it.

-- The settled commands the agents of the swarms working for command_id asked
-- for, and, through each of those, what the agents of the swarms working for
-- it asked for, however deep (spec 64.1: "then up the chain"): the ones whose
-- effects that command's compensation may counter. The walk goes down only
-- through settled commands: one still cancelling or compensating counters
-- its own tree.
CREATE OR REPLACE FUNCTION concord._swarm_commands_to_compensate(command_id uuid)
RETURNS SETOF uuid
LANGUAGE sql
STABLE
SET search_path = concord, pg_temp
AS $$
    WITH RECURSIVE asked (command_id) AS (
        SELECT c.command_id
        FROM concord.swarm_runs AS s
        INNER JOIN concord.agent_runs AS a ON a.swarm_run_id = s.swarm_run_id
        INNER JOIN concord.agent_steps AS st ON st.agent_run_id = a.agent_run_id
        INNER JOIN concord.commands AS c ON c.command_id = st.created_command_id
        WHERE s.command_id = _swarm_commands_to_compensate.command_id
          AND c.status IN ('succeeded', 'failed', 'cancelled', 'expired')
        UNION
        SELECT c.command_id
        FROM asked
        INNER JOIN concord.swarm_runs AS s ON s.command_id = asked.command_id
        INNER JOIN concord.agent_runs AS a ON a.swarm_run_id = s.swarm_run_id
        INNER JOIN concord.agent_steps AS st ON st.agent_run_id = a.agent_run_id
        INNER JOIN concord.commands AS c ON c.command_id = st.created_command_id
        WHERE c.status IN ('succeeded', 'failed', 'cancelled', 'expired')
    )
    SELECT asked.command_id FROM asked WHERE asked.command_id <> _swarm_commands_to_compensate.command_id
$$;
