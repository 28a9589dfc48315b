-- Isolation (spec 45, 46): a principal sees and changes only the rows of the
-- projects it belongs to, through every function and view. Row-level security
-- is FORCEd, so it holds for the NOLOGIN owner too, and the SECURITY DEFINER
-- API (which runs as that owner) sees only the caller's projects: a command of
-- another organisation is "not found", whatever the path. A superuser bypasses
-- row-level security when it queries tables itself; a superuser's or worker's
-- session sees every project through the API (concord._sees_all()).
--
-- Each EXISTS on the row's command ends in OFFSET 0: without it the planner
-- may answer the EXISTS with a hash of every visible command (a scan of all
-- of them) when it expects many rows, which a page of twenty then pays in
-- full; with it, each row is one index lookup (make bench-scale). An
-- EXISTS has no order to give it, hence the lint exception.
-- noqa: disable=AM09
--
-- Rows that belong to a command (approvals, effects, steps, ...) are visible
-- when their command is; the roots carry project_id.

ALTER TABLE concord.commands ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.commands FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS commands_are_seen_in_their_project ON concord.commands;
CREATE POLICY commands_are_seen_in_their_project ON concord.commands
USING (
    (SELECT concord._sees_all()) OR project_id = ANY((SELECT concord._visible_projects())::uuid[])
)
WITH CHECK (
    (SELECT concord._sees_all()) OR project_id = ANY((SELECT concord._visible_projects())::uuid[])
);

ALTER TABLE concord.notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.notifications FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS notifications_are_seen_in_their_project ON concord.notifications;
CREATE POLICY notifications_are_seen_in_their_project ON concord.notifications
USING (
    (SELECT concord._sees_all()) OR project_id = ANY((SELECT concord._visible_projects())::uuid[])
)
WITH CHECK (
    (SELECT concord._sees_all()) OR project_id = ANY((SELECT concord._visible_projects())::uuid[])
);

ALTER TABLE concord.schedules ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.schedules FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS schedules_are_seen_in_their_project ON concord.schedules;
CREATE POLICY schedules_are_seen_in_their_project ON concord.schedules
USING (
    (SELECT concord._sees_all()) OR project_id = ANY((SELECT concord._visible_projects())::uuid[])
)
WITH CHECK (
    (SELECT concord._sees_all()) OR project_id = ANY((SELECT concord._visible_projects())::uuid[])
);

ALTER TABLE concord.memories ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.memories FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS memories_are_seen_in_their_project ON concord.memories;
CREATE POLICY memories_are_seen_in_their_project ON concord.memories
USING (
    (SELECT concord._sees_all()) OR project_id = ANY((SELECT concord._visible_projects())::uuid[])
)
WITH CHECK (
    (SELECT concord._sees_all()) OR project_id = ANY((SELECT concord._visible_projects())::uuid[])
);

ALTER TABLE concord.approvals ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.approvals FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS approvals_are_seen_with_their_command ON concord.approvals;
CREATE POLICY approvals_are_seen_with_their_command ON concord.approvals
USING (EXISTS (
    SELECT 1 FROM concord.commands AS c
    WHERE c.command_id = approvals.command_id OFFSET 0
))
WITH CHECK (EXISTS (
    SELECT 1 FROM concord.commands AS c
    WHERE c.command_id = approvals.command_id OFFSET 0
));

ALTER TABLE concord.policy_decisions ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.policy_decisions FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS policy_decisions_are_seen_with_their_command ON concord.policy_decisions;
CREATE POLICY policy_decisions_are_seen_with_their_command ON concord.policy_decisions
USING (
    EXISTS (
        SELECT 1 FROM concord.commands AS c
        WHERE c.command_id = policy_decisions.command_id OFFSET 0
    )
)
WITH CHECK (
    EXISTS (
        SELECT 1 FROM concord.commands AS c
        WHERE c.command_id = policy_decisions.command_id OFFSET 0
    )
);

ALTER TABLE concord.domain_effects ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.domain_effects FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS domain_effects_are_seen_with_their_command ON concord.domain_effects;
CREATE POLICY domain_effects_are_seen_with_their_command ON concord.domain_effects
USING (EXISTS (
    SELECT 1 FROM concord.commands AS c
    WHERE c.command_id = domain_effects.command_id OFFSET 0
))
WITH CHECK (
    EXISTS (
        SELECT 1 FROM concord.commands AS c
        WHERE c.command_id = domain_effects.command_id OFFSET 0
    )
);

ALTER TABLE concord.connector_invocations ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.connector_invocations FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS connector_invocations_are_seen_with_their_command
ON concord.connector_invocations;
CREATE POLICY connector_invocations_are_seen_with_their_command ON concord.connector_invocations
USING (
    EXISTS (
        SELECT 1 FROM concord.commands AS c
        WHERE c.command_id = connector_invocations.command_id OFFSET 0
    )
)
WITH CHECK (
    EXISTS (
        SELECT 1 FROM concord.commands AS c
        WHERE c.command_id = connector_invocations.command_id OFFSET 0
    )
);

ALTER TABLE concord.swarm_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.swarm_runs FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS swarm_runs_are_seen_with_their_command ON concord.swarm_runs;
CREATE POLICY swarm_runs_are_seen_with_their_command ON concord.swarm_runs
USING (EXISTS (
    SELECT 1 FROM concord.commands AS c
    WHERE c.command_id = swarm_runs.command_id OFFSET 0
))
WITH CHECK (
    EXISTS (
        SELECT 1 FROM concord.commands AS c
        WHERE c.command_id = swarm_runs.command_id OFFSET 0
    )
);

ALTER TABLE concord.agent_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.agent_runs FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS agent_runs_are_seen_with_their_command ON concord.agent_runs;
CREATE POLICY agent_runs_are_seen_with_their_command ON concord.agent_runs
USING (EXISTS (
    SELECT 1 FROM concord.commands AS c
    WHERE c.command_id = agent_runs.command_id OFFSET 0
))
WITH CHECK (
    EXISTS (
        SELECT 1 FROM concord.commands AS c
        WHERE c.command_id = agent_runs.command_id OFFSET 0
    )
);

ALTER TABLE concord.agent_invocations ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.agent_invocations FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS agent_invocations_are_seen_with_their_command ON concord.agent_invocations;
CREATE POLICY agent_invocations_are_seen_with_their_command ON concord.agent_invocations
USING (
    EXISTS (
        SELECT 1 FROM concord.commands AS c
        WHERE c.command_id = agent_invocations.command_id OFFSET 0
    )
)
WITH CHECK (
    EXISTS (
        SELECT 1 FROM concord.commands AS c
        WHERE c.command_id = agent_invocations.command_id OFFSET 0
    )
);

ALTER TABLE concord.agent_steps ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.agent_steps FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS agent_steps_are_seen_with_their_command ON concord.agent_steps;
CREATE POLICY agent_steps_are_seen_with_their_command ON concord.agent_steps
USING (EXISTS (
    SELECT 1 FROM concord.commands AS c
    WHERE c.command_id = agent_steps.command_id OFFSET 0
))
WITH CHECK (
    EXISTS (
        SELECT 1 FROM concord.commands AS c
        WHERE c.command_id = agent_steps.command_id OFFSET 0
    )
);

ALTER TABLE concord.artifacts ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.artifacts FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS artifacts_are_seen_with_their_command ON concord.artifacts;
CREATE POLICY artifacts_are_seen_with_their_command ON concord.artifacts
USING (EXISTS (
    SELECT 1 FROM concord.commands AS c
    WHERE c.command_id = artifacts.command_id OFFSET 0
))
WITH CHECK (EXISTS (
    SELECT 1 FROM concord.commands AS c
    WHERE c.command_id = artifacts.command_id OFFSET 0
));

ALTER TABLE concord.command_dependencies ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.command_dependencies FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS command_dependencies_are_seen_with_their_command
ON concord.command_dependencies;
CREATE POLICY command_dependencies_are_seen_with_their_command ON concord.command_dependencies
USING (
    EXISTS (
        SELECT 1 FROM concord.commands AS c
        WHERE c.command_id = command_dependencies.child_command_id OFFSET 0
    )
)
WITH CHECK (
    EXISTS (
        SELECT 1 FROM concord.commands AS c
        WHERE c.command_id = command_dependencies.child_command_id OFFSET 0
    )
);

ALTER TABLE concord.agent_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.agent_messages FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS agent_messages_are_seen_with_their_run ON concord.agent_messages;
CREATE POLICY agent_messages_are_seen_with_their_run ON concord.agent_messages
USING (
    EXISTS (
        SELECT 1 FROM concord.agent_runs AS r
        WHERE r.agent_run_id = agent_messages.agent_run_id OFFSET 0
    )
)
WITH CHECK (
    EXISTS (
        SELECT 1 FROM concord.agent_runs AS r
        WHERE r.agent_run_id = agent_messages.agent_run_id OFFSET 0
    )
);

ALTER TABLE concord.artifact_lineage ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.artifact_lineage FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS artifact_lineage_is_seen_with_its_artifact ON concord.artifact_lineage;
CREATE POLICY artifact_lineage_is_seen_with_its_artifact ON concord.artifact_lineage
USING (
    EXISTS (
        SELECT 1 FROM concord.artifacts AS a
        WHERE a.artifact_id = artifact_lineage.artifact_id OFFSET 0
    )
)
WITH CHECK (
    EXISTS (
        SELECT 1 FROM concord.artifacts AS a
        WHERE a.artifact_id = artifact_lineage.artifact_id OFFSET 0
    )
);

ALTER TABLE concord.domain_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE concord.domain_events FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS events_are_seen_with_what_they_record ON concord.domain_events;
CREATE POLICY events_are_seen_with_what_they_record ON concord.domain_events
USING (CASE
    WHEN command_id IS NOT NULL
        THEN
            EXISTS (
                SELECT 1 FROM concord.commands AS c
                WHERE c.command_id = domain_events.command_id OFFSET 0
            )
    WHEN agent_run_id IS NOT NULL
        THEN
            EXISTS (
                SELECT 1 FROM concord.agent_runs AS r
                WHERE r.agent_run_id = domain_events.agent_run_id OFFSET 0
            )
    -- the shared catalogs' changes; the directory's (names, memberships,
    -- tokens) and teams' belong to an organisation: only the kernel reads them
    ELSE
        (SELECT concord._sees_all())
        OR (
            target_type IN (
                'command_type', 'approval_type', 'tool', 'connector', 'queue', 'operation'
            )
            AND concord._principal() IS NOT NULL
        )
        -- a policy's changes: the shared ones', and those of the caller's
        -- organisations
        OR (
            target_type = 'policy'
            AND concord._principal() IS NOT NULL
            AND EXISTS (
                SELECT 1 FROM concord.policies AS p
                WHERE
                    p.name = domain_events.target_id
                    AND (
                        p.org_id IS NULL
                        OR EXISTS (
                            SELECT 1 FROM concord.projects AS x
                            WHERE
                                x.org_id = p.org_id
                                AND x.project_id = ANY(concord._visible_projects())
                        )
                    )
            )
        )
END)
WITH CHECK (CASE
    WHEN command_id IS NOT NULL
        THEN
            EXISTS (
                SELECT 1 FROM concord.commands AS c
                WHERE c.command_id = domain_events.command_id OFFSET 0
            )
    WHEN agent_run_id IS NOT NULL
        THEN
            EXISTS (
                SELECT 1 FROM concord.agent_runs AS r
                WHERE r.agent_run_id = domain_events.agent_run_id OFFSET 0
            )
    -- any authenticated principal's change is recorded, and an operator's
    ELSE (SELECT concord._sees_all()) OR concord._principal() IS NOT NULL OR concord._is_operator()
END);
