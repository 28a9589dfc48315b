-- Identity and the directory. Every role may ask who it is, authenticate,
-- choose a project and manage its own tokens; the row-security helpers are
-- callable by every role because the policies call them in its name.
GRANT EXECUTE ON FUNCTION
concord.authenticate(text),
concord.current_principal(),
concord.canonical_name(text),
concord.use_project(text),
concord.create_api_token(text, interval, text[], text),
concord.revoke_api_token(uuid)
TO concord_app, concord_reader, concord_approver, concord_admin, concord_worker;

-- An agent authenticates with its run's secret and asks who it is; no more.
GRANT EXECUTE ON FUNCTION concord.authenticate(text), concord.current_principal() TO concord_agent;

GRANT EXECUTE ON FUNCTION
concord._sees_all(),
concord._visible_projects(),
concord._principal(),
concord._session_is_superuser()
TO concord_app, concord_reader, concord_approver, concord_admin, concord_worker, concord_agent;

GRANT SELECT ON concord.my_api_tokens, concord.my_projects
TO concord_app, concord_reader, concord_approver, concord_admin, concord_worker;

-- Organisation owners and admins run their organisations through concord_admin.
GRANT EXECUTE ON FUNCTION
concord.create_organisation(text),
concord.create_project(text, text),
concord.create_principal(text, text, text),
concord.map_login(name, text),
concord.add_member(text, text, text, text),
concord.remove_member(text, text, text, text),
concord.grant_act_as(text, text, text),
concord.revoke_act_as(text, text, text)
TO concord_admin;
