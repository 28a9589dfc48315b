-- What a principal may look at of the directory: its own tokens (never their
-- secret), the projects it belongs to with its roles there.

CREATE OR REPLACE VIEW concord.my_api_tokens AS
SELECT
    t.token_id,
    p.name AS principal,
    t.label,
    t.scopes,
    t.expires_at,
    t.created_at,
    t.created_by,
    t.revoked_at,
    t.revoked_by,
    t.revoked_at IS NULL AND t.expires_at > now() AS usable
FROM concord.api_tokens AS t
INNER JOIN concord.principals AS p ON t.principal_id = p.principal_id
WHERE
    p.name = concord._principal()
    OR (concord._principal() IS NULL AND concord._session_is_superuser());

COMMENT ON VIEW concord.my_api_tokens IS
'The authenticated principal''s API tokens (a superuser session: everyone''s), without their '
'secret: label, scopes, expiry, revocation and whether the token still authenticates.';

CREATE OR REPLACE VIEW concord.my_projects AS
SELECT
    o.name AS organisation,
    p.name AS project,
    p.project_id,
    o.name || '/' || p.name AS full_name,
    coalesce(
        (
            SELECT array_agg(DISTINCT m.role ORDER BY m.role)
            FROM concord.memberships AS m
            INNER JOIN concord.principals AS pr ON m.principal_id = pr.principal_id
            WHERE
                pr.name = concord._principal() AND m.org_id = p.org_id
                AND (m.project_id IS NULL OR m.project_id = p.project_id)
        ),
        '{}'
    ) AS roles
FROM concord.projects AS p
INNER JOIN concord.organisations AS o ON p.org_id = o.org_id
WHERE concord._sees_all() OR p.project_id = any(concord._visible_projects());

COMMENT ON VIEW concord.my_projects IS
'The projects the authenticated principal may see, with its membership roles in each (a '
'service''s act-as projects appear with no role).';

COMMENT ON COLUMN concord.my_api_tokens.token_id IS
'The token''s id (revoke it with revoke_api_token).';
COMMENT ON COLUMN concord.my_api_tokens.principal IS
'The principal the token authenticates.';
COMMENT ON COLUMN concord.my_api_tokens.label IS
'The note given when it was created.';
COMMENT ON COLUMN concord.my_api_tokens.scopes IS
'The membership roles it may use; NULL: all of its principal''s.';
COMMENT ON COLUMN concord.my_api_tokens.expires_at IS
'When it stops authenticating.';
COMMENT ON COLUMN concord.my_api_tokens.created_at IS
'When it was issued.';
COMMENT ON COLUMN concord.my_api_tokens.created_by IS
'Who issued it.';
COMMENT ON COLUMN concord.my_api_tokens.revoked_at IS
'When it was revoked; NULL while it is not.';
COMMENT ON COLUMN concord.my_api_tokens.revoked_by IS
'Who revoked it.';
COMMENT ON COLUMN concord.my_api_tokens.usable IS
'True while it authenticates: not revoked and not expired.';

COMMENT ON COLUMN concord.my_projects.organisation IS
'The organisation''s name.';
COMMENT ON COLUMN concord.my_projects.project IS
'The project''s name within its organisation.';
COMMENT ON COLUMN concord.my_projects.full_name IS
'organisation/project, as use_project takes it.';
COMMENT ON COLUMN concord.my_projects.project_id IS
'The project''s id.';
COMMENT ON COLUMN concord.my_projects.roles IS
'The authenticated principal''s membership roles there, sorted; {} for none (a superuser, or a '
'service acting by grant).';
