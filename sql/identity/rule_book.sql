-- The rules of the identity domain: each rule its code raises (CONSTRAINT =
-- ...) with its table, SQLSTATE and one sentence of meaning. concord.rules
-- lists them (sql/support/rules.sql).
CREATE OR REPLACE FUNCTION concord._rule_book_identity()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        ('a_principal_name_is_canonical', 'principals', 'CN008',
         'A principal name is NFKC-normalised and case-folded, letters, digits and . _ @ : + - only, '
         'with no control, invisible or space character: ALICE is alice, alice\u200b is no name.'),
        ('a_principal_name_is_not_the_kernels', 'principals', 'CN008',
         'No principal is registered under a name the kernel gives its own actors: agent:, schedule:, '
         'worker:, workflow:, kernel: or concord: followed by anything, or concord.'),
        ('a_principal_keeps_its_name_and_kind', 'principals', 'CN007',
         'A principal''s id, name and kind never change; it is disabled, not renamed.'),
        ('principals_are_not_deleted', 'principals', 'CN007',
         'Principals are kept: the history names them.'),
        ('principal_name_is_unique', 'principals', 'CN011',
         'One principal per canonical name.'),
        ('principal_kind_is_known', 'principals', 'CN008',
         'A registered principal is a user or a service; agents are principals through their runs.'),
        ('the_principal_exists', 'principals', 'CN006',
         'A principal named in a call is registered.'),
        ('the_caller_is_authenticated', null, 'CN012',
         'A call that acts needs an authenticated principal: a credential given to authenticate() or '
         'a login mapped to a principal (a superuser session excepted).'),
        ('a_credential_is_valid', 'api_tokens', 'CN012',
         'authenticate() accepts only a known, unexpired, unrevoked token or an agent run''s secret (a '
         'finished run''s secret still reads its run: the gateway refuses a finished run''s every act).'),
        ('an_agent_acts_through_its_gateway', 'agent_run_secrets', 'CN012',
         'A transaction authenticated with an agent run''s secret acts only through the agent gateway; '
         'the rest of the API refuses it.'),
        ('a_token_stays_within_the_token_that_made_it', 'api_tokens', 'CN012',
         'A token made in a transaction authenticated by a token has at most that token''s scopes (by '
         'default the same) and expires no later than it.'),
        ('acting_for_another_needs_a_grant', 'act_as_grants', 'CN012',
         'A principal argument that names someone other than the authenticated principal needs an '
         'act-as grant for that principal (or any member) in the project concerned.'),
        ('the_actor_holds_a_role_in_the_project', 'memberships', 'CN012',
         'Whoever acts holds a membership role that allows the act in the project of the row '
         '(a token''s scopes narrow its principal''s roles).'),
        ('a_project_is_chosen', 'projects', 'CN008',
         'New rows go to the project chosen with use_project(), or to the caller''s only writable one.'),
        ('the_project_exists', 'projects', 'CN006',
         'A project named in a call exists and the caller is a member of it.'),
        ('the_organisation_exists', 'organisations', 'CN006',
         'An organisation named in a call exists and the caller is a member of it.'),
        ('organisation_name_is_unique', 'organisations', 'CN011', 'One organisation per name.'),
        ('project_name_is_unique_in_its_organisation', 'projects', 'CN011',
         'One project per name within an organisation.'),
        ('organisations_are_not_rewritten', 'organisations', 'CN007', 'Organisations are kept as created.'),
        ('projects_are_not_rewritten', 'projects', 'CN007', 'Projects are kept as created.'),
        ('the_directory_is_changed_by_an_organisation_admin', 'memberships', 'CN012',
         'Projects, memberships and act-as grants are changed by an owner or admin of the organisation; '
         'owners and admins only by an owner.'),
        ('membership_role_is_known', 'memberships', 'CN008',
         'A membership role is owner, admin, approver, member or reader.'),
        ('a_service_does_not_administer', 'memberships', 'CN008',
         'A service principal is never an owner or admin.'),
        ('an_organisation_keeps_an_owner', 'memberships', 'CN011',
         'The last owner of an organisation is not removed.'),
        ('memberships_are_not_updated', 'memberships', 'CN007',
         'Memberships are added and removed, never rewritten.'),
        ('only_a_service_acts_as_another', 'act_as_grants', 'CN008',
         'Act-as grants are given to service principals only.'),
        ('act_as_grants_are_not_updated', 'act_as_grants', 'CN007',
         'Act-as grants are granted and revoked, never rewritten.'),
        ('a_login_is_mapped_by_a_superuser', 'principal_logins', 'CN012',
         'Only a superuser decides which principal a database login speaks for.'),
        ('a_login_speaks_for_one_principal', 'principal_logins', 'CN011',
         'A login is mapped to one principal.'),
        ('principal_logins_are_not_updated', 'principal_logins', 'CN007',
         'A login mapping is never rewritten.'),
        ('a_token_is_created_by_its_principal', 'api_tokens', 'CN012',
         'A principal creates its own tokens; a superuser creates them for others.'),
        ('a_token_expires_within_a_year', 'api_tokens', 'CN008',
         'A token expires after more than 0 and at most 366 days.'),
        ('token_scopes_are_roles', 'api_tokens', 'CN008',
         'A token''s scopes are membership roles.'),
        ('a_token_changes_only_by_revocation', 'api_tokens', 'CN007',
         'A token row changes once, when it is revoked.'),
        ('api_tokens_are_not_deleted', 'api_tokens', 'CN007', 'Tokens are revoked, never deleted.'),
        ('the_token_exists', 'api_tokens', 'CN006', 'A token revoked by id is one of the caller''s.'),
        ('agent_run_secrets_are_not_rewritten', 'agent_run_secrets', 'CN007',
         'An agent run''s secret is issued once and never changed.'),
        ('a_shared_catalog_is_changed_by_an_operator', null, 'CN012',
         'Command types, approval types, tools, connectors, queues, operations, shared policies and '
         'built-ins are changed by an operator: a superuser, or a concord_admin login mapped to no '
         'principal.')
$$;
