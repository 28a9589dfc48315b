-- Spec 39 and 70, the agentic flow: "Investigate why revenue dropped last week, draft a
-- summary, check it, and prepare it for external sharing."
--
--   command: created -> validated -> queued -> running -> succeeded (the worker runs it)
--   swarm:   running -> joining -> succeeded (join strategy coordinator_synthesis)
--   publish: created -> validated -> waiting_for_approval -> approved -> queued -> running
--            -> succeeded
--
-- A coordinator and three children, scripted (demo/demo_agents.py, a ScriptedAgentRuntime
-- registered as demo_scripted: no model, no network), each run by the demo's worker as
-- the DBOS workflow concord.run_agent. alice's command is the worker's too: its operation
-- (investigate_revenue, demo/demo_agents.py) waits for the swarm started on it and ends
-- with the swarm's result. Every move an agent makes goes through the SQL
-- gateway: its SQL tool calls become commands the worker runs through the read-only
-- warehouse connector; a tool it does not hold and a child asking for a connector its
-- parent lacks are refused (CN004) and recorded; the reviewer records a spec 66
-- evaluation; publishing the draft outside the company waits for a data owner.
--
--   make demo                                  (a fresh database, a worker, then
--                                               demo/01..05 in order)
--   psql -X -v ON_ERROR_STOP=1 -d DB -f demo/05_revenue_swarm.sql
--                                              (by hand, on a database where
--                                               demo/worker_setup.sql has run and the
--                                               demo's worker runs with demo_agents: see
--                                               tests/harness/demo.sh; run it twice and it
--                                               starts a new investigation)

\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
\pset null '(null)'
\pset columns 120
\x off
SET client_min_messages = notice;
\set VERBOSITY terse
\ir wait_helpers.sql

\echo
\echo '================================================================================'
\echo ' 1. What agents may be given: the tool catalog (spec 20)'
\echo '================================================================================'
\echo 'demo/worker_setup.sql registered three command tools; the gateway tools come with'
\echo 'Concord. A command tool becomes a command of its type, requested by the agent, through'
\echo 'that type''s policies. run_sql also needs the warehouse connector in the agent''s scope'
\echo '(type postgres: a READ ONLY transaction, a 2 s statement timeout, at most 100 rows).'
\echo

SELECT t.tool_name, t.execution_mode, t.command_type, t.risk_level, coalesce(t.connector, '') AS connector,
       coalesce(array_to_string(ct.policy_checks, ', '), '') AS command_type_policies
FROM concord.tool_catalog AS t
LEFT JOIN concord.command_types AS ct ON t.command_type = ct.command_type AND t.execution_mode <> 'gateway'
ORDER BY t.execution_mode = 'gateway', t.tool_name;

\echo
\echo '================================================================================'
\echo ' 2. alice asks; the swarm starts under her command (spec 67, as JSON)'
\echo '================================================================================'
\echo 'The coordinator holds every tool it delegates (a child''s tools and connectors must be'
\echo 'subsets of its parent''s) and the warehouse connector only; the templates name the roles'
\echo 'it may spawn. With "runtime", each agent run gets its DBOS workflow concord.run_agent in'
\echo 'the transaction that creates it. alice''s command is asynchronous: the worker runs it (its'
\echo 'operation investigate_revenue waits for the swarm started on it and ends with its result);'
\echo 'submitted with its swarm in one transaction, it never reaches the worker without it.'
\echo

BEGIN;
SELECT command_id AS investigation, status AS investigation_status
FROM concord.submit_command(
    'investigate_revenue',
    '{"question": "Investigate why revenue dropped last week and draft a summary."}',
    'alice',
    ingress => 'user_request'
) \gset
\echo 'investigate_revenue command' :investigation 'is' :investigation_status

SELECT concord.start_swarm(:'investigation', $swarm$
{
  "name": "revenue_investigation",
  "objective": "Find why revenue dropped last week, draft a reviewed summary and prepare it for finance.",
  "execution_mode": "parallel",
  "join_strategy": "coordinator_synthesis",
  "runtime": "demo_scripted",
  "limits": {"max_agents": 4, "max_depth": 1, "max_total_steps": 40, "max_cost_units": 50},
  "coordinator": {
    "agent_name": "revenue_coordinator",
    "agent_role": "coordinator",
    "goal": "Coordinate the investigation and publish a reviewed draft to finance.",
    "max_steps": 20,
    "allowed_tools": ["spawn_subagent", "run_sql", "create_artifact", "read_artifact", "evaluate_output",
                      "publish_report"],
    "allowed_connectors": ["warehouse"],
    "constraints": {"timeout_seconds": 120}
  },
  "agents": [
    {"agent_name": "revenue_researcher", "agent_role": "researcher",
     "delegated_goal": "Gather last week's revenue and the week before's, by region.",
     "max_steps": 8, "allowed_tools": ["run_sql", "create_artifact"], "allowed_connectors": ["warehouse"]},
    {"agent_name": "revenue_analyst", "agent_role": "analyst",
     "delegated_goal": "Find which region and channel explain the change.",
     "max_steps": 8, "allowed_tools": ["run_sql", "create_artifact"], "allowed_connectors": ["warehouse"]},
    {"agent_name": "revenue_reviewer", "agent_role": "reviewer",
     "delegated_goal": "Check the draft report before it leaves the company.",
     "max_steps": 6, "allowed_tools": ["read_artifact", "evaluate_output"], "allowed_connectors": []}
  ]
}
$swarm$) AS swarm \gset
COMMIT;

\echo 'The worker claims alice''s command and waits for the swarm (30 s at most):'
SELECT pg_temp.wait_for_status(:'investigation', 'running') AS investigation_status;

SELECT name, status, join_strategy, runtime, max_agents, max_depth, max_total_steps
FROM concord.swarm_runs WHERE swarm_run_id = :'swarm';

\echo
\echo '================================================================================'
\echo ' 3. The worker runs the agents; we wait until the coordinator asks to publish'
\echo '================================================================================'
\echo 'The coordinator spawns the researcher and the analyst (on queue swarm_children), asks'
\echo 'for a Salesforce researcher, waits for its children, drafts the report from their'
\echo 'artifacts, has the reviewer check it and asks to publish it to'
\echo 'external:finance@example.com. 30 s at most:'
\echo

SELECT pg_temp.wait_for_agent_command(:'swarm', 'publish_artifact', 'waiting_for_approval') AS publish_id \gset
\echo 'publish_artifact command' :publish_id 'is waiting_for_approval'

\echo
\echo '================================================================================'
\echo ' 4. The tree of runs (concord.swarm_tree)'
\echo '================================================================================'
\echo

SELECT repeat('  ', spawn_depth) || agent_name AS agent, agent_role, spawn_depth AS depth, status,
       step_count || '/' || max_steps AS steps, array_to_string(allowed_tools, ', ') AS tools,
       array_to_string(allowed_connectors, ', ') AS connectors
FROM concord.swarm_tree
WHERE swarm_run_id = :'swarm';

\echo
\echo '================================================================================'
\echo ' 5. Every step and its decision (concord.agent_steps, in order)'
\echo '================================================================================'
\echo 'Spawns, tool calls and recorded steps alike: the gateway decides and records. A queued'
\echo 'command is the worker''s to run; require_approval waits for a person.'
\echo

SELECT a.agent_name AS agent, st.step_index AS step, st.action_type, coalesce(st.tool_name, '') AS tool,
       st.decision, coalesce(st.output ->> 'code', '') AS code,
       coalesce(c.command_type || ' ' || c.status, '') AS command,
       coalesce(k.agent_name, '') AS child
FROM concord.agent_steps AS st
INNER JOIN concord.agent_runs AS a ON st.agent_run_id = a.agent_run_id
LEFT JOIN concord.commands AS c ON st.created_command_id = c.command_id
LEFT JOIN concord.agent_runs AS k ON st.child_agent_run_id = k.agent_run_id
WHERE st.swarm_run_id = :'swarm'
ORDER BY st.created_at, st.step_index;

\echo
\echo '================================================================================'
\echo ' 6. The refusals: a tool the analyst does not hold, a connector the coordinator lacks'
\echo '================================================================================'
\echo 'Answers, not exceptions: each agent observed its refusal (decision denied, code CN004)'
\echo 'and went on. Neither became anything but a recorded step: no send_email command, no'
\echo 'pipeline_researcher agent.'
\echo

\x on
SELECT a.agent_name AS agent, st.tool_name AS tool, st.decision, st.output ->> 'code' AS code,
       st.output -> 'reasons' ->> 0 AS reason
FROM concord.agent_steps AS st
INNER JOIN concord.agent_runs AS a ON st.agent_run_id = a.agent_run_id
WHERE st.swarm_run_id = :'swarm' AND st.decision <> 'allowed' AND st.decision <> 'queued'
  AND st.decision <> 'recorded' AND st.decision <> 'require_approval'
ORDER BY st.created_at;
\x off

SET demo.swarm = :'swarm';

DO $$
DECLARE
    swarm uuid := current_setting('demo.swarm')::uuid;
    n integer;
BEGIN
    SELECT count(*) INTO n
    FROM concord.agent_steps AS st
    INNER JOIN concord.agent_runs AS a ON st.agent_run_id = a.agent_run_id
    WHERE st.swarm_run_id = swarm AND a.agent_name = 'revenue_analyst' AND st.tool_name = 'send_email'
      AND st.decision = 'denied' AND st.output ->> 'code' = 'CN004' AND st.created_command_id IS NULL;
    IF n <> 1 THEN
        RAISE EXCEPTION 'demo: expected the analyst''s send_email to be denied once with CN004, found % such steps', n;
    END IF;
    IF EXISTS (SELECT 1 FROM concord.commands AS c
               WHERE c.command_type = 'send_email' AND c.context ->> 'swarm_run_id' = swarm::text) THEN
        RAISE EXCEPTION 'demo: a send_email command exists for swarm %', swarm;
    END IF;

    SELECT count(*) INTO n
    FROM concord.agent_steps AS st
    INNER JOIN concord.agent_runs AS a ON st.agent_run_id = a.agent_run_id
    WHERE st.swarm_run_id = swarm AND a.agent_name = 'revenue_coordinator' AND st.tool_name = 'spawn_subagent'
      AND st.action_payload ->> 'agent_name' = 'pipeline_researcher'
      AND st.decision = 'denied' AND st.output ->> 'code' = 'CN004' AND st.child_agent_run_id IS NULL
      AND st.output ->> 'reasons' LIKE '%salesforce%';
    IF n <> 1 THEN
        RAISE EXCEPTION 'demo: expected the spawn of pipeline_researcher (salesforce) to be denied once with CN004, '
                        'found % such steps', n;
    END IF;
    IF EXISTS (SELECT 1 FROM concord.agent_runs AS a WHERE a.swarm_run_id = swarm AND a.agent_name = 'pipeline_researcher') THEN
        RAISE EXCEPTION 'demo: an agent run pipeline_researcher exists although its spawn was refused';
    END IF;
    RAISE NOTICE 'refused as expected: send_email (not in the analyst''s tools) and a child with salesforce (CN004)';
END
$$;

\echo
\echo '================================================================================'
\echo ' 7. The SQL tool calls became commands the worker ran, through the warehouse connector'
\echo '================================================================================'
\echo

SELECT a.agent_name AS agent, c.command_type, c.status, c.ingress, c.requested_by = 'agent:' || a.agent_run_id
       AS requested_by_the_agent, c.result ->> 'row_count' AS row_count, i.connector_name || '.' || i.capability
       AS connector_call, i.status AS call_status
FROM concord.commands AS c
INNER JOIN concord.agent_runs AS a ON c.context ->> 'agent_run_id' = a.agent_run_id::text
LEFT JOIN concord.connector_invocations AS i ON c.command_id = i.command_id
WHERE a.swarm_run_id = :'swarm' AND c.command_type = 'run_sql'
ORDER BY c.created_at;

DO $$
DECLARE
    swarm uuid := current_setting('demo.swarm')::uuid;
    n integer;
BEGIN
    SELECT count(*) INTO n
    FROM concord.commands AS c
    INNER JOIN concord.connector_invocations AS i ON c.command_id = i.command_id
    WHERE c.command_type = 'run_sql' AND c.context ->> 'swarm_run_id' = swarm::text AND c.status = 'succeeded'
      AND c.ingress = 'agent' AND i.connector_name = 'warehouse' AND i.status = 'succeeded'
      AND (c.result ->> 'row_count')::integer > 0;
    IF n <> 2 THEN
        RAISE EXCEPTION 'demo: expected two run_sql commands run through the warehouse connector, found %', n;
    END IF;
END
$$;

\echo
\echo '================================================================================'
\echo ' 8. Artifacts: the children''s results, the draft, the reviewer''s evaluation'
\echo '================================================================================'
\echo 'Children hand their results over as artifacts; the draft cites both; the evaluation'
\echo '(spec 66) is a final artifact derived from the draft.'
\echo

SELECT name, artifact_type, version, status, agent_name AS created_by, score,
       (SELECT string_agg(p.name, ', ' ORDER BY p.name) FROM concord.artifacts AS p
        WHERE p.artifact_id = ANY (x.parent_artifact_ids)) AS derived_from
FROM concord.swarm_artifacts AS x
WHERE swarm_run_id = :'swarm';

\echo
\echo 'The draft''s summary, and the reviewer''s evaluation:'
\echo
\x on
SELECT content ->> 'title' AS title, content ->> 'summary' AS summary
FROM concord.artifacts WHERE swarm_run_id = :'swarm' AND name = 'revenue_drop_draft';

SELECT content ->> 'evaluation_type' AS evaluation_type, content ->> 'decision' AS decision,
       content ->> 'confidence' AS confidence, content -> 'issues' AS issues,
       content ->> 'recommendation' AS recommendation, content ->> 'evaluator_role' AS evaluator_role
FROM concord.artifacts WHERE swarm_run_id = :'swarm' AND artifact_type = 'evaluation';
\x off

DO $$
DECLARE
    swarm uuid := current_setting('demo.swarm')::uuid;
    n integer;
BEGIN
    SELECT count(*) INTO n
    FROM concord.artifacts AS e
    INNER JOIN concord.agent_runs AS a ON e.agent_run_id = a.agent_run_id
    INNER JOIN concord.artifact_lineage AS l ON l.artifact_id = e.artifact_id
    INNER JOIN concord.artifacts AS d ON l.parent_artifact_id = d.artifact_id
    WHERE e.swarm_run_id = swarm AND e.artifact_type = 'evaluation' AND a.agent_name = 'revenue_reviewer'
      AND d.name = 'revenue_drop_draft' AND e.content ->> 'evaluation_type' = 'reviewer_agent'
      AND e.content ->> 'decision' = 'pass' AND (e.content ->> 'confidence')::numeric > 0;
    IF n <> 1 THEN
        RAISE EXCEPTION 'demo: expected one reviewer evaluation of the draft, found %', n;
    END IF;
    SELECT count(*) INTO n
    FROM concord.artifacts AS d
    INNER JOIN concord.artifact_lineage AS l ON l.artifact_id = d.artifact_id
    WHERE d.swarm_run_id = swarm AND d.name = 'revenue_drop_draft';
    IF n <> 2 THEN
        RAISE EXCEPTION 'demo: expected the draft to derive from two artifacts, found %', n;
    END IF;
END
$$;

\echo
\echo '================================================================================'
\echo ' 9. Publishing outside waits for a data owner (external_sharing)'
\echo '================================================================================'
\echo 'The coordinator''s publish_report call became a publish_artifact command requested by'
\echo 'agent:<coordinator>. Nothing runs while it waits: it has no DBOS workflow, and the'
\echo 'coordinator waits durably for its outcome.'
\echo

SELECT c.status, c.requested_by, c.ingress, c.dbos_workflow_id, c.payload ->> 'destination' AS destination,
       a.agent_name, a.status AS agent_status
FROM concord.commands AS c
INNER JOIN concord.agent_runs AS a ON c.requested_by = 'agent:' || a.agent_run_id
WHERE c.command_id = :'publish_id';

SELECT policy, decision, approval_type, reasons
FROM concord.policy_decisions
WHERE command_id = :'publish_id'
ORDER BY decision_id;

SELECT a.approval_id AS approval_id, c.requested_by AS publish_requester
FROM concord.approvals AS a
INNER JOIN concord.commands AS c USING (command_id)
WHERE a.command_id = :'publish_id' AND a.status = 'pending' \gset

-- dana is a data owner (demo/03 made her one; true when added now).
SELECT concord.add_team_member('team:data_owners', 'dana') AS dana_joined;
SET demo.approval_id = :'approval_id';
SET demo.publish_requester = :'publish_requester';
SET demo.publish_id = :'publish_id';

DO $$
DECLARE
    publish uuid := current_setting('demo.publish_id')::uuid;
BEGIN
    IF (SELECT status FROM concord.commands WHERE command_id = publish) <> 'waiting_for_approval'
       OR (SELECT dbos_workflow_id FROM concord.commands WHERE command_id = publish) IS NOT NULL THEN
        RAISE EXCEPTION 'demo: the publish command should wait for approval without a workflow';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM concord.policy_decisions AS d
                   WHERE d.command_id = publish AND d.policy = 'external_sharing'
                     AND d.decision = 'require_approval') THEN
        RAISE EXCEPTION 'demo: external_sharing did not ask for an approval of the publish command';
    END IF;
    -- the requester (an agent) cannot approve its own request
    PERFORM concord.resolve_approval(current_setting('demo.approval_id')::uuid, 'approved',
                                     current_setting('demo.publish_requester'));
    RAISE EXCEPTION 'demo: expected CN012, but the requesting agent approved its own publication';
EXCEPTION WHEN SQLSTATE 'CN012' THEN
    RAISE NOTICE 'refused as expected: % (%)', SQLERRM, SQLSTATE;
END
$$;

\echo
\echo 'dana approves: the approving transaction hands the command to DBOS; the worker'
\echo 'publishes; the coordinator observes the outcome and finishes, which settles the'
\echo 'swarm (coordinator_synthesis). 30 s at most each:'
\echo

SELECT concord.resolve_approval(:'approval_id', 'approved', 'dana',
                                reason => 'the draft was reviewed; finance is its audience') ->> 'command_status'
       AS publish_status;

SELECT pg_temp.wait_for_status(:'publish_id', 'succeeded') AS publish_status;
SELECT pg_temp.wait_for_swarm(:'swarm', 'succeeded') AS swarm_status;

SELECT event_seq, from_status, to_status, actor
FROM concord.command_timeline(:'publish_id')
WHERE event_type = 'command_status_changed';

SELECT n.recipient, n.subject, n.body
FROM concord.notifications AS n
WHERE n.command_id = :'publish_id';

DO $$
DECLARE
    publish uuid := current_setting('demo.publish_id')::uuid;
    approved_at timestamptz;
    ran_at timestamptz;
BEGIN
    SELECT a.decided_at INTO approved_at FROM concord.approvals AS a
    WHERE a.approval_id = current_setting('demo.approval_id')::uuid AND a.status = 'approved' AND a.decided_by = 'dana';
    SELECT min(e.created_at) INTO ran_at FROM concord.domain_events AS e
    WHERE e.command_id = publish AND e.event_type = 'command_status_changed' AND e.to_status = 'running';
    IF approved_at IS NULL OR ran_at IS NULL OR ran_at < approved_at THEN
        RAISE EXCEPTION 'demo: the publication should run only after dana''s approval (approved %, ran %)',
            approved_at, ran_at;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM concord.domain_events AS e
                   WHERE e.command_id = publish AND e.to_status = 'waiting_for_approval') THEN
        RAISE EXCEPTION 'demo: the publication never waited for approval';
    END IF;
END
$$;

\echo
\echo '================================================================================'
\echo ' 10. The end: the swarm, its join, and alice''s command'
\echo '================================================================================'
\echo

SELECT repeat('  ', spawn_depth) || agent_name AS agent, status, step_count AS steps, completed_at IS NOT NULL AS ended
FROM concord.swarm_tree
WHERE swarm_run_id = :'swarm';

\x on
SELECT status, total_steps, live_agents, join_decision ->> 'strategy' AS join_strategy,
       join_decision ->> 'decision' AS join_decision, join_decision ->> 'summary' AS join_summary,
       result ->> 'publish_status' AS publish_status, result -> 'published' AS published
FROM concord.swarm_runs WHERE swarm_run_id = :'swarm';
\x off

\echo 'The swarm succeeded: the worker''s investigate_revenue operation sees it end and closes'
\echo 'alice''s command with its result (30 s at most). Only the run that owns a command drives'
\echo 'it: the worker claimed it (running), its workflow closed it (succeeded).'
SELECT pg_temp.wait_for_status(:'investigation', 'succeeded') AS investigation_status;

SELECT result ->> 'swarm_run_id' = :'swarm' AS of_this_swarm, result ->> 'swarm_status' AS swarm_status,
       result ->> 'draft_report_artifact_id' AS draft_report, result -> 'published' ->> 'delivered_to' AS published_to
FROM concord.commands WHERE command_id = :'investigation';

SELECT event_seq, event_type, coalesce(from_status, '') AS from_status, coalesce(to_status, '') AS to_status, actor
FROM concord.command_timeline(:'investigation');

DO $$
DECLARE
    swarm uuid := current_setting('demo.swarm')::uuid;
    investigation uuid := (SELECT s.command_id FROM concord.swarm_runs AS s WHERE s.swarm_run_id = swarm);
    n integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM concord.commands AS c INNER JOIN concord.artifacts AS x
                   ON x.swarm_run_id = swarm AND x.name = 'revenue_drop_draft'
                   WHERE c.command_id = investigation AND c.result ->> 'swarm_run_id' = swarm::text
                     AND c.result ->> 'draft_report_artifact_id' = x.artifact_id::text
                     AND c.result -> 'published' ->> 'delivered_to' = 'external:finance@example.com') THEN
        RAISE EXCEPTION 'demo: alice''s command should have succeeded with the swarm''s draft, published';
    END IF;
    SELECT count(*) INTO n FROM concord.command_timeline(investigation) AS t
    WHERE t.event_type = 'command_status_changed'
      AND ((t.to_status = 'running' AND t.actor LIKE 'worker:%')
           OR (t.to_status = 'succeeded' AND t.actor LIKE 'workflow:%'));
    IF n <> 2 THEN
        RAISE EXCEPTION 'demo: the worker should have claimed alice''s command and its workflow closed it';
    END IF;
    SELECT count(*) INTO n FROM concord.agent_runs AS a WHERE a.swarm_run_id = swarm AND a.status = 'succeeded';
    IF n <> 4 OR EXISTS (SELECT 1 FROM concord.agent_runs AS a WHERE a.swarm_run_id = swarm AND a.status <> 'succeeded') THEN
        RAISE EXCEPTION 'demo: expected four succeeded agent runs; failed: %', pg_temp.swarm_failures(swarm);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM concord.domain_events AS e
                   WHERE e.event_type = 'swarm_joined' AND e.swarm_run_id = swarm
                     AND e.payload ->> 'strategy' = 'coordinator_synthesis') THEN
        RAISE EXCEPTION 'demo: no swarm_joined event for swarm %', swarm;
    END IF;
END
$$;

\echo
\echo 'End of the agentic flow.'
