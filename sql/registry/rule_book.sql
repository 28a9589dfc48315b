-- The rules of the registry domain (issue 14, spec 103-121).
-- Each rule its code raises (CONSTRAINT = ...) with its table, SQLSTATE and
-- one sentence of meaning; concord.rules lists them (sql/support/rules.sql).
-- Kept sorted by rule name within each group.
CREATE OR REPLACE FUNCTION concord._rule_book_registry()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        -- changes and their classification
        ('a_schema_change_direction_is_input_output_or_full', null::text, 'CN008',
         'A JSON Schema change is judged as an input (callers send it), an output (producers emit '
         'it) or full (both); no other direction.'),
        -- versions and their constraints
        ('a_checked_version_is_a_semantic_version', null, 'CN008',
         'A version checked against a constraint is MAJOR.MINOR.PATCH with an optional pre-release.'),
        ('a_version_constraint_is_well_formed', null, 'CN005',
         'A version constraint is *, an exact version, comparators (>=1.2 <2), a caret (^1.4.2), a '
         'tilde (~1.4) or an x-range (1.x), and some version satisfies it.'),
        -- the kernel's use of the registry: contracts and catalogs
        ('a_catalog_row_is_the_projection_of_its_bound_version', 'command_types', 'CN007',
         'A row of command_types, policies, approval_types, tools or connectors is written only as '
         'the projection of its registry entity''s globally bound version; any other write, the '
         'owner''s included, is refused.'),
        ('a_command_keeps_the_contract_it_was_judged_under', 'commands', 'CN007',
         'A command''s contract_version_id never changes once recorded (a command from before the '
         'registry is given, once, the version its type was adopted as).'),
        ('a_command_type_resolves_to_a_usable_contract', 'commands', 'CN016',
         'A new command''s type resolves, for its requester and project, to a published or deprecated '
         'version; a retired or unbound type takes no new command.'),
        ('command_types_are_not_truncated', 'command_types', 'CN007',
         'command_types is never truncated: commands, grants and tools refer to its rows.'),
        -- resolution and runtime manifests
        ('a_capability_resolves_to_a_usable_version', 'registry_bindings', 'CN016',
         'A capability asked for resolves, for the caller in its environment, to a published or '
         'deprecated version through an active binding; a retired, unbound or unknown one does not.'),
        ('a_resolution_context_is_an_object_of_names', null, 'CN008',
         'A resolution context is a JSON object whose workflow_type, command_type, agent_role and '
         'agent_name are non-blank names.'),
        ('a_runtime_manifest_is_read_by_its_run_or_project', 'agent_runs', 'CN012',
         'An agent run''s runtime manifest is read by the run itself (with its secret), a member of '
         'its project, the worker or an operator; never by another run''s agent.'),
        ('resolution_context_names_no_identity', null, 'CN008',
         'A resolution context names no user, team, tenant or app: who resolves is who is '
         'authenticated, in the chosen project.')
$$;
