-- The rules of the governance domain: each rule its code raises (CONSTRAINT = ...)
-- with its table, SQLSTATE and one sentence of meaning. concord.rules lists
-- them (sql/support/rules.sql).
CREATE OR REPLACE FUNCTION concord._rule_book_governance()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        ('a_team_is_not_its_own_member', null::text, 'CN008',
         'concord.add_team_member does not make a team a member of itself.'),
        ('approval_type_spec_is_valid', null, 'CN005',
         'An approval type spec given to concord.register_approval_type has no problem; the '
         'refusal lists every one.'),
        ('policy_spec_is_valid', null, 'CN005',
         'A policy spec given to concord.register_policy has no problem; the refusal lists every '
         'one.'),
        ('a_decision_is_approved_rejected_or_request_changes', null, 'CN008',
         'The decision given to concord.resolve_approval is approved, rejected or request_changes.'),
        ('the_approval_exists', null, 'CN006',
         'An approval named by its id exists.'),
        ('the_expiry_time_is_given', null, 'CN008',
         'concord.expire_approvals is given the time (not NULL) past which pending approvals '
         'expire.'),
        ('only_the_owner_expires_approvals_ahead_of_time', null, 'CN012',
         'Only the owner of the concord schema (or a superuser) expires approvals at a time still '
         'to come.'),
        ('policies_are_evaluated_for_a_validated_command', null, 'CN011',
         'Policies are evaluated for a command that is validated; one waiting for input is '
         'evaluated again by concord.provide_input.'),
        ('payload_patch_is_a_json_object', null, 'CN008',
         'The input given to concord.provide_input is a JSON object of the fields to add or '
         'change.'),
        ('payload_patch_is_not_nested_too_deeply', null, 'CN008',
         'The input given to concord.provide_input is not nested too deeply to merge.'),
        ('input_is_provided_only_while_waiting_for_input', null, 'CN011',
         'Input is provided only for a command waiting_for_input.'),
        ('only_the_requester_provides_input', null, 'CN012',
         'Only the principal who requested a command provides the input it waits for.'),
        ('provided_input_leaves_a_valid_payload', null, 'CN005',
         'The payload with the provided input merged in is valid for its command type; otherwise '
         'nothing changes.'),
        ('a_command_waits_for_approval_only_while_one_is_pending', 'commands', 'CN001',
         'A governed command is waiting_for_approval only while an approval its latest policy '
         'evaluation asked for is pending (spec 22).'),
        ('a_command_is_approved_only_when_its_approvals_are', 'commands', 'CN001',
         'A command becomes approved only when every approval its latest policy evaluation asked '
         'for is approved.'),
        ('a_governed_command_moves_on_only_when_its_policies_allow', 'commands', 'CN001',
         'A command whose type has policies is queued or runs only when its latest evaluation '
         'allowed it or every approval it asked for is approved (spec 21).'),
        ('a_command_runs_only_the_payload_its_policies_allowed', 'commands', 'CN001',
         'A command whose type has policies is queued or runs only with the payload its latest '
         'evaluation judged (each evaluation records its digest): a payload changed since, by any '
         'path, is judged again by concord.evaluate_policies first.'),
        ('an_approval_opens_only_for_a_command_waiting_for_approval', 'approvals', 'CN011',
         'An approval is opened only for a command waiting_for_approval.'),
        ('an_approval_starts_pending_and_undecided', 'approvals', 'CN011',
         'An approval is inserted pending, with no decision.'),
        ('an_approval_answers_the_latest_evaluation', 'approvals', 'CN011',
         'An approval answers its command''s latest policy evaluation, which asked for its type.'),
        ('an_approval_is_not_opened_already_expired', 'approvals', 'CN011',
         'An approval is opened with an expiry still to come.'),
        ('an_approval_changes_only_its_status_and_decision', 'approvals', 'CN007',
         'Of an approval only its status, decision, decider and reason change; what was asked, of '
         'whom and until when never does.'),
        ('an_approval_is_decided_once', 'approvals', 'CN013',
         'An approval that is no longer pending is not decided, expired or cancelled again.'),
        ('a_decision_changes_the_approval_status', 'approvals', 'CN011',
         'A decision, its decider and reason are written together with the status they lead to, '
         'never onto a pending approval.'),
        ('an_expired_or_cancelled_approval_carries_no_decision', 'approvals', 'CN011',
         'An approval that expired or was cancelled has no decision and no decider.'),
        ('an_approval_its_command_waits_for_is_not_cancelled', 'approvals', 'CN011',
         'An approval whose command still waits for it is decided or expires; it is cancelled only '
         'with its command.'),
        ('the_approval_status_matches_its_decision', 'approvals', 'CN008',
         'A decided approval''s status matches its decision (approved, rejected, or '
         'changes_requested for request_changes).'),
        ('the_decision_is_one_its_approval_type_allows', 'approvals', 'CN008',
         'A decision is one of the decision_values of the approval''s type.'),
        ('a_decision_names_who_decided', 'approvals', 'CN008',
         'A decision names the principal who made it.'),
        ('approver_is_not_the_requester', 'approvals', 'CN012',
         'Nobody decides an approval of a command they requested.'),
        ('the_approver_is_eligible', 'approvals', 'CN012',
         'An approval is decided only by one of its eligible approvers or a member of its approver '
         'team; a team itself never decides.'),
        ('an_expired_approval_is_not_decided', 'approvals', 'CN014',
         'An approval is decided before it expires, by the clock at the time of the decision.'),
        ('approvals_are_not_deleted', 'approvals', 'CN007',
         'Approvals are durable decisions: none is deleted.'),
        ('approvals_are_not_truncated', 'approvals', 'CN007',
         'The approvals table is never truncated.'),
        ('policy_decisions_are_not_updated', 'policy_decisions', 'CN007',
         'Policy decisions are append-only: none is updated or deleted.'),
        ('policy_decisions_are_not_truncated', 'policy_decisions', 'CN007',
         'The policy decisions table is never truncated.'),
        ('policies_are_not_deleted', 'policies', 'CN007',
         'A policy is never deleted, since decisions refer to it by name; take it out of the '
         'policy_checks of its command types instead.'),
        ('whether_a_policy_is_built_in_never_changes', 'policies', 'CN007',
         'A built-in policy stays built in, and a policy that is not built in never becomes one.'),
        ('built_in_policies_come_with_concord', 'policies', 'CN007',
         'Built-in policies come with Concord: none is added.'),
        ('policies_are_not_truncated', 'policies', 'CN007',
         'The policies table is never truncated: decisions refer to policies by name.'),
        ('team_members_are_not_updated', 'team_members', 'CN007',
         'A team membership is added or removed, never rewritten.'),
        ('command_type_grants_are_not_updated', 'command_type_grants', 'CN007',
         'A command type grant is granted or revoked, never rewritten.'),
        ('approval_types_are_not_deleted', 'approval_types', 'CN007',
         'An approval type is never deleted, since approvals and policies refer to it by name; '
         'register a new definition instead.'),
        ('approval_types_are_not_truncated', 'approval_types', 'CN007',
         'The approval types table is never truncated.'),
        ('a_policy_is_changed_by_its_organisation', 'policies', 'CN012',
         'An organisation''s admins register and change their organisation''s policies only: not a '
         'shared one, not another organisation''s; and a shared registration does not take over an '
         'organisation''s policy.'),
        ('a_policy_project_is_in_its_organisation', 'policies', 'CN008',
         'A policy of one project names that project''s own organisation.'),
        ('a_built_in_policy_is_shared', 'policies', 'CN008',
         'A built-in policy belongs to every organisation and attaches itself to no command type.')
$$;
