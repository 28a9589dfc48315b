-- Every row of the governance tables keeps its shape (spec 7.3, 21, 22,
-- 107.3): each CHECK constraint of team_members, command_type_grants,
-- approval_types, policies, policy_decisions and approvals refuses a value
-- outside it (23514), written with the triggers off as a migration may, since
-- the triggers and the API refuse most of these first. With the triggers on,
-- memberships and grants are never rewritten, approval types and policies
-- never deleted, built-in policies neither added nor unmade, and no table of
-- decisions is truncated.
BEGIN;
SET LOCAL client_min_messages = warning;
SELECT plan(45);

-- Run sql with the triggers off (session_replication_role replica); a
-- refusal rolls the setting back with the statement.
CREATE FUNCTION pg_temp.without_triggers(sql text)
RETURNS void
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM set_config('session_replication_role', 'replica', true);
    EXECUTE sql;
    PERFORM set_config('session_replication_role', 'origin', true);
END
$$;

CREATE FUNCTION pg_temp.attack(sql text, rule text)
RETURNS text
LANGUAGE sql
AS $$ SELECT concord_test.throws_rule(format('SELECT pg_temp.without_triggers(%L)', sql), '23514', rule) $$;

DO $$ BEGIN
    PERFORM concord.register_approval_type('{"name": "gs_people", "approver": {"principals": ["ann", "ben"]}}');
    PERFORM concord.register_policy(
        '{"name": "gs_ask", "predicate": "true", "decision": "require_approval", "approval_type": "gs_people"}');
    PERFORM concord.register_policy('{"name": "gs_deny", "predicate": "$.payload.no == true", "decision": "deny"}');
    PERFORM concord.register_command_type('{"command_type": "gs_t", "policy_checks": ["gs_ask", "gs_deny"]}');
    PERFORM concord.add_team_member('team:gs', 'tom');
    PERFORM concord.grant_command_type('gs_t', 'tom');
END $$;

SELECT is(concord_test.submit('w', 'gs_t'), 'waiting_for_approval', 'fixture: w waits for its approval');
-- the registrations' registry commands leave deferred hand-offs pending, and
-- PostgreSQL refuses to TRUNCATE with pending trigger events (55006) before
-- a guard could speak: settle them
SET CONSTRAINTS ALL IMMEDIATE;
SET CONSTRAINTS ALL DEFERRED;

-- team_members and command_type_grants
SELECT pg_temp.attack($$UPDATE concord.team_members SET principal = team WHERE team = 'team:gs'$$,
                      'a_team_is_not_its_own_member');
SELECT pg_temp.attack($$UPDATE concord.team_members SET principal = ' ' WHERE team = 'team:gs'$$,
                      'principal_is_a_name');
SELECT pg_temp.attack($$UPDATE concord.team_members SET team = ' ' WHERE team = 'team:gs'$$, 'team_is_a_name');
SELECT pg_temp.attack($$UPDATE concord.command_type_grants SET principal = ' ' WHERE command_type = 'gs_t'$$,
                      'principal_is_a_name');
SELECT concord_test.throws_rule(
    $$SELECT concord.add_team_member('team:gs', 'team:gs')$$, 'CN008', 'a_team_is_not_its_own_member'
);
SELECT concord_test.throws_rule(
    $$UPDATE concord.team_members SET principal = 'tim' WHERE team = 'team:gs'$$,
    'CN007', 'team_members_are_not_updated'
);
SELECT concord_test.throws_rule(
    $$UPDATE concord.command_type_grants SET principal = 'tim' WHERE command_type = 'gs_t'$$,
    'CN007', 'command_type_grants_are_not_updated'
);

-- approval_types
SELECT pg_temp.attack($$UPDATE concord.approval_types SET name = 'Not An Identifier' WHERE name = 'gs_people'$$,
                      'approval_type_is_an_identifier');
SELECT pg_temp.attack($$UPDATE concord.approval_types SET approver_principals = '{}' WHERE name = 'gs_people'$$,
                      'approver_principals_are_not_empty');
SELECT pg_temp.attack(
    $$UPDATE concord.approval_types SET decision_values = '{approved,maybe}' WHERE name = 'gs_people'$$,
    'decision_values_are_known');
SELECT pg_temp.attack($$UPDATE concord.approval_types SET default_expiry_minutes = 0 WHERE name = 'gs_people'$$,
                      'default_expiry_is_positive');
SELECT pg_temp.attack($$UPDATE concord.approval_types SET on_approved = 'skip' WHERE name = 'gs_people'$$,
                      'on_approved_is_known');
SELECT pg_temp.attack($$UPDATE concord.approval_types SET on_rejected = 'shrug' WHERE name = 'gs_people'$$,
                      'on_rejected_is_known');
SELECT pg_temp.attack($$UPDATE concord.approval_types SET on_request_changes = 'ignore' WHERE name = 'gs_people'$$,
                      'on_request_changes_is_known');
SELECT pg_temp.attack($$UPDATE concord.approval_types SET approver_team = 'team:gs' WHERE name = 'gs_people'$$,
                      'one_approver_resolution');
SELECT pg_temp.attack(
    $$UPDATE concord.approval_types SET required_fields = ARRAY[NULL]::text[] WHERE name = 'gs_people'$$,
    'required_fields_hold_no_nulls');
SELECT pg_temp.attack($$UPDATE concord.approval_types SET risk_level = 'extreme' WHERE name = 'gs_people'$$,
                      'risk_level_is_known');
SELECT concord_test.throws_rule(
    $$DELETE FROM concord.approval_types WHERE name = 'gs_people'$$, 'CN007', 'approval_types_are_not_deleted'
);
SELECT concord_test.throws_rule(
    $$TRUNCATE concord.approval_types CASCADE$$, 'CN007', 'approval_types_are_not_truncated'
);

-- policies
SELECT pg_temp.attack($$UPDATE concord.policies SET approval_type = NULL WHERE name = 'gs_ask'$$,
                      'approval_decisions_name_an_approval_type');
SELECT pg_temp.attack($$UPDATE concord.policies SET config = '[]' WHERE name = 'gs_deny'$$, 'config_is_an_object');
SELECT pg_temp.attack($$UPDATE concord.policies SET decision = 'allow' WHERE name = 'gs_deny'$$,
                      'decision_is_not_allow');
SELECT pg_temp.attack($$UPDATE concord.policies SET predicate = NULL WHERE name = 'gs_deny'$$,
                      'declarative_policies_have_a_predicate');
SELECT pg_temp.attack($$UPDATE concord.policies SET kind = 'executable' WHERE name = 'gs_deny'$$,
                      'executable_policies_name_a_function');
SELECT pg_temp.attack($$UPDATE concord.policies SET kind = 'magic' WHERE name = 'gs_deny'$$, 'kind_is_known');
SELECT pg_temp.attack($$UPDATE concord.policies SET on_unknown = 'shrug' WHERE name = 'gs_deny'$$,
                      'on_unknown_is_a_decision');
SELECT pg_temp.attack($$UPDATE concord.policies SET name = ' ' WHERE name = 'gs_deny'$$, 'policy_name_is_not_blank');
SELECT pg_temp.attack($$UPDATE concord.policies SET vars = '[]' WHERE name = 'gs_deny'$$, 'vars_is_an_object');
SELECT concord_test.throws_rule(
    $$DELETE FROM concord.policies WHERE name = 'gs_deny'$$, 'CN007', 'policies_are_not_deleted'
);
SELECT concord_test.throws_rule(
    $$UPDATE concord.policies SET kind = 'declarative' WHERE name = 'risk'$$,
    'CN007', 'whether_a_policy_is_built_in_never_changes'
);
SELECT concord_test.throws_rule(
    $$UPDATE concord.policies SET kind = 'builtin' WHERE name = 'gs_deny'$$,
    'CN007', 'whether_a_policy_is_built_in_never_changes',
    'a declarative policy does not become built in either'
);
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.policies (name, kind) VALUES ('gs_mine', 'builtin')$$,
    'CN007', 'built_in_policies_come_with_concord'
);
SELECT concord_test.throws_rule(
    $$TRUNCATE concord.policies CASCADE$$, 'CN007', 'policies_are_not_truncated'
);

-- policy_decisions
SELECT pg_temp.attack(
    format($$UPDATE concord.policy_decisions SET decision = 'perhaps' WHERE command_id = %L$$, concord_test.id('w')),
    'decision_is_known');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.policy_decisions SET actor = 'someone' WHERE command_id = %L$$, concord_test.id('w')),
    'CN007', 'policy_decisions_are_not_updated'
);
SELECT concord_test.throws_rule(
    $$TRUNCATE concord.policy_decisions CASCADE$$, 'CN007', 'policy_decisions_are_not_truncated'
);

-- approvals
SELECT pg_temp.attack(
    format($$UPDATE concord.approvals SET status = 'approved', decision = 'approved' WHERE approval_id = %L$$,
           concord_test.approval_id('w')),
    'a_decision_names_who_and_when');
SELECT pg_temp.attack(
    format($$UPDATE concord.approvals SET status = 'maybe' WHERE approval_id = %L$$, concord_test.approval_id('w')),
    'approval_status_is_known');
SELECT pg_temp.attack(
    format($$UPDATE concord.approvals SET status = 'approved' WHERE approval_id = %L$$, concord_test.approval_id('w')),
    'decided_approvals_carry_their_decision');
SELECT pg_temp.attack(
    format($$UPDATE concord.approvals SET status = 'approved', decision = 'perhaps', decided_by = 'ann',
                    decided_at = now() WHERE approval_id = %L$$, concord_test.approval_id('w')),
    'decision_is_known');
SELECT pg_temp.attack(
    format($$UPDATE concord.approvals SET status = 'approved', decision = 'approved', decided_by = requested_by,
                    decided_at = now() WHERE approval_id = %L$$, concord_test.approval_id('w')),
    'nobody_approves_their_own_command');
SELECT pg_temp.attack(
    format($$UPDATE concord.approvals SET eligible_approvers = '{}', approver_team = NULL WHERE approval_id = %L$$,
           concord_test.approval_id('w')),
    'someone_can_decide');

SELECT is(current_setting('session_replication_role'), 'origin', 'fixture: the triggers are on again');
SELECT is(
    (SELECT count(*) FROM concord.policies WHERE name IN ('gs_ask', 'gs_deny', 'risk')), 3::bigint,
    'fixture: every refused write left the policies as they were'
);

SELECT * FROM finish();
ROLLBACK;
