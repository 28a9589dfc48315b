-- Concord 0010: indexes that keep the list pages flat as the history grows
-- (issue 16 section 4; measured by make bench-scale, bench/README.md).
--
-- * list_commands pages newest first (created_at DESC, command_id DESC),
--   optionally by status: without an index on created_at every page read
--   and sorted every command.
-- * The console's swarm page reads a swarm's steps (agent_step_log by
--   swarm_run_id) and its swarms list takes the newest swarms: both scanned
--   whole tables.
-- * Two indexes each commands and agent_steps paid on every insert serve
--   nothing another does not: commands (project_id) is the leading column of
--   idempotency_key_is_unique (project_id, idempotency_key), which holds
--   every row; 0007 created agent_steps (created_command_id) again under
--   another name; agent_steps (agent_run_id) is the leading column of
--   one_step_per_index (agent_run_id, step_index).

CREATE INDEX commands_created_at_idx ON concord.commands (created_at, command_id);
CREATE INDEX commands_status_created_at_idx ON concord.commands (status, created_at, command_id);
DROP INDEX concord.commands_project_idx;

CREATE INDEX agent_steps_swarm_run_idx ON concord.agent_steps (swarm_run_id)
WHERE swarm_run_id IS NOT null;
DROP INDEX concord.idx_agent_steps_created_command;
DROP INDEX concord.idx_agent_steps_agent_run_id;

CREATE INDEX swarm_runs_created_at_idx ON concord.swarm_runs (created_at, swarm_run_id);
