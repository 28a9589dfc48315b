-- (e) An agent's tool call: concord.submit_agent_action of a sync command tool. On top
-- of (f): the agent run locked and checked (live, step budget, tool and connector in
-- scope), the agent_tool policy, the command's context, and one agent step (with its
-- audit event and the agent's and swarm's derived counters). Each client acts as its
-- own agent (bench_agents.agents, one swarm per client).
SELECT concord.submit_agent_action(
    (SELECT a.agent_run_id FROM bench_agents.agents AS a WHERE a.client_id = :client_id),
    '{"tool_name": "bench_sync_tool", "payload": {"n": 1}, "reason": "bench"}'
);
