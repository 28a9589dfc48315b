-- A database at migration 0006: a command type and a finished command of it,
-- loaded without the sql/ triggers. Each part of 0007 adds the rows it changes.
INSERT INTO concord.command_types (command_type, name, sync_allowed)
VALUES ('runtime_probe', 'A type from before 0007', true);

INSERT INTO concord.commands (
    command_id, command_type, requested_by, ingress, payload, status, trace_id, project_id
) VALUES (
    '00000000-0000-0000-0000-000000000071', 'runtime_probe', 'alice', 'api', '{"n": 1}',
    'succeeded', 'trace_probe_71', '00000000-0000-4000-8000-00000000000b'
);

-- == workers == a command that failed once and was retried, then failed
-- again: its runs that began (two) are counted into attempts.
INSERT INTO concord.commands (
    command_id, command_type, requested_by, ingress, payload, status, trace_id, project_id, run_seq
) VALUES (
    '00000000-0000-0000-0000-000000000072', 'runtime_probe', 'alice', 'api', '{"n": 2}',
    'failed', 'trace_probe_72', '00000000-0000-4000-8000-00000000000b', 2
);
INSERT INTO concord.domain_events (command_id, purpose, event_type, target_type, from_status, to_status, actor, trace_id)
VALUES
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'queued', 'running', 'worker:w', 'trace_probe_72'),
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'running', 'failed', 'worker:w', 'trace_probe_72'),
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'failed', 'queued', 'op', 'trace_probe_72'),
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'queued', 'running', 'worker:w', 'trace_probe_72'),
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'running', 'blocked', 'op', 'trace_probe_72'),
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'blocked', 'running', 'worker:w', 'trace_probe_72'),
('00000000-0000-0000-0000-000000000072', 'audit', 'command_status_changed', 'command', 'running', 'failed', 'worker:w', 'trace_probe_72');

-- == sync_execution ==
-- Sync commands left validated before 0007: one its (absent) policies allow,
-- one a policy allowed, a child whose parent has not finished, and one whose
-- latest evaluation asked for input and that was moved back by hand.
INSERT INTO concord.command_types (command_type, name, sync_allowed, policy_checks)
VALUES ('sync_probe_governed', 'A governed sync type from before 0007', true, '{required_inputs}');

INSERT INTO concord.commands (
    command_id, command_type, requested_by, ingress, payload, status, trace_id, project_id, policy_evaluation
) VALUES
('00000000-0000-0000-0000-000000000076', 'runtime_probe', 'alice', 'api', '{"n": 6}', 'validated',
 'trace_probe_76', '00000000-0000-4000-8000-00000000000b', null),
('00000000-0000-0000-0000-000000000077', 'sync_probe_governed', 'alice', 'api', '{"n": 7}', 'validated',
 'trace_probe_77', '00000000-0000-4000-8000-00000000000b', '{"decision": "allow"}'),
('00000000-0000-0000-0000-000000000078', 'runtime_probe', 'alice', 'api', '{"n": 8}', 'validated',
 'trace_probe_78', '00000000-0000-4000-8000-00000000000b', null),
('00000000-0000-0000-0000-000000000079', 'sync_probe_governed', 'alice', 'api', '{"n": 9}', 'validated',
 'trace_probe_79', '00000000-0000-4000-8000-00000000000b', '{"decision": "require_input"}');

-- a worker registered both types' operations
INSERT INTO concord.runtime_operations (command_type, queue_name, function_name, registered_by, application_version)
VALUES ('runtime_probe', 'concord_default', 'probe.run', 'worker:w1', 'v1'),
('sync_probe_governed', 'concord_default', 'probe.governed', 'worker:w1', 'v1');

INSERT INTO concord.command_dependencies (child_command_id, parent_command_id, required_status)
VALUES ('00000000-0000-0000-0000-000000000078', '00000000-0000-0000-0000-000000000076', 'succeeded');

-- == memory_by_reference == a swarm whose agent wrote a memory and read it back,
-- from before steps and their audit referred to memories by digest: both
-- steps and both audit rows hold the content.
INSERT INTO concord.swarm_runs (
    swarm_run_id, command_id, name, status, objective, execution_mode, join_strategy, total_steps, trace_id,
    created_by
) VALUES (
    '00000000-0000-0000-0000-000000000072', '00000000-0000-0000-0000-000000000071', 'memo', 'succeeded',
    'remember', 'parallel', 'all_success', 2, 'trace_probe_71', 'alice'
);
INSERT INTO concord.agent_runs (
    agent_run_id, command_id, swarm_run_id, agent_name, agent_role, status, goal, allowed_tools, memory_scope,
    step_count, trace_id
) VALUES (
    '00000000-0000-0000-0000-000000000073', '00000000-0000-0000-0000-000000000071',
    '00000000-0000-0000-0000-000000000072', 'memo', 'coordinator', 'succeeded', 'remember',
    '{write_memory,retrieve_memory}',
    '{"subject_type": "user", "subject_id": "u7", "allowed_memory_types": ["fact"],
      "allow_semantic_retrieval": false, "max_results": 5}', 2, 'trace_probe_71'
);
INSERT INTO concord.memories (memory_id, subject_type, subject_id, memory_type, content, status, written_by)
VALUES ('00000000-0000-0000-0000-000000000074', 'user', 'u7', 'fact', '', 'deleted', 'alice');
INSERT INTO concord.agent_steps (
    agent_step_id, agent_run_id, command_id, swarm_run_id, step_index, action_type, tool_name, action_payload,
    decision, output
) VALUES
('00000000-0000-0000-0000-000000000075', '00000000-0000-0000-0000-000000000073',
 '00000000-0000-0000-0000-000000000071', '00000000-0000-0000-0000-000000000072', 1, 'tool_call', 'write_memory',
 '{"tool_name": "write_memory", "payload": {"memory_type": "fact", "content": "owes us 7 euros"}}', 'allowed',
 '{"decision": "allowed", "output": {"memory_id": "00000000-0000-0000-0000-000000000074", "status": "active"}}'),
('00000000-0000-0000-0000-000000000076', '00000000-0000-0000-0000-000000000073',
 '00000000-0000-0000-0000-000000000071', '00000000-0000-0000-0000-000000000072', 2, 'tool_call', 'retrieve_memory',
 '{"tool_name": "retrieve_memory", "payload": {}}', 'allowed',
 '{"decision": "allowed", "output": {"count": 1, "memories": [
   {"memory_id": "00000000-0000-0000-0000-000000000074", "content": "owes us 7 euros", "status": "active"}]}}');
INSERT INTO concord.domain_events (
    command_id, agent_run_id, swarm_run_id, purpose, event_type, target_type, target_id, actor, trace_id, step_index,
    tool_name, payload
)
SELECT s.command_id, s.agent_run_id, s.swarm_run_id, 'agent_step', 'agent_step_recorded', 'agent_step',
       s.agent_step_id::text, 'agent:' || s.agent_run_id, 'trace_probe_71', s.step_index, s.tool_name,
       jsonb_build_object('action_type', s.action_type, 'decision', s.decision,
                          'action_payload', s.action_payload, 'output', s.output)
FROM concord.agent_steps AS s WHERE s.swarm_run_id = '00000000-0000-0000-0000-000000000072';
