-- A database at migration 0003 (the runtime, before agents): commands of a
-- user's own agent loop, with audit rows that named agent and swarm runs in
-- the free-text columns 0001 reserved for them, and a user policy and command
-- type whose names the agent gateway now uses. Loaded without the sql/
-- triggers, as a 0003-era database's rows would be.
INSERT INTO concord.command_types (command_type, name, sync_allowed)
VALUES ('legacy_tool', 'A tool a home-made agent loop used', true);

INSERT INTO concord.commands (
    command_id, command_type, requested_by, ingress, payload, status, trace_id, completed_at, result
) VALUES
('00000000-0000-0000-0000-000000000041', 'legacy_tool', 'agent:loop-1', 'agent', '{"q": 1}', 'succeeded',
 'trace_legacy_41', '2025-07-01 00:00:00+00', '{"rows": 3}'),
('00000000-0000-0000-0000-000000000042', 'legacy_tool', 'agent:loop-1', 'agent', '{"q": 2}', 'validated',
 'trace_legacy_42', null, null);

INSERT INTO concord.domain_events (
    command_id, agent_run_id, swarm_run_id, purpose, event_type, payload, actor, trace_id, step_index, tool_name
) VALUES
('00000000-0000-0000-0000-000000000041', '00000000-0000-0000-0000-0000000000a1',
 '00000000-0000-0000-0000-0000000000b1', 'agent_step', 'legacy_agent_step', '{"decision": "allowed"}',
 'agent:loop-1', 'trace_legacy_41', 1, 'legacy_tool');
