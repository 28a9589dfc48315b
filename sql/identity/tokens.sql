-- API tokens: shown once, stored as a SHA-256, revocable, listed without secret.
CREATE OR REPLACE FUNCTION concord.create_api_token(
    principal text DEFAULT NULL,
    expires_in interval DEFAULT '90 days',
    scopes text[] DEFAULT NULL,
    label text DEFAULT NULL
)
RETURNS TABLE (token_id uuid, token text, expires_at timestamptz)
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
#variable_conflict use_variable
DECLARE
    who text := concord._directory_caller();
    target uuid := concord._principal_id(coalesce(principal, who));
    secret text := 'cct_' || replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', '');
    maker concord.api_tokens%ROWTYPE;
BEGIN
    -- A token makes only tokens within itself (its scopes, its lifetime): a
    -- narrow or short-lived token handed out must not buy a wider, longer one.
    SELECT * INTO maker FROM concord.api_tokens AS t
    WHERE t.token_sha256 = concord._credential_sha256(current_setting('concord.credential', true))
      AND current_setting('concord.credential', true) LIKE 'cct\_%';
    IF maker.scopes IS NOT NULL THEN
        IF scopes IS NULL THEN
            scopes := maker.scopes;
        ELSIF NOT scopes <@ maker.scopes THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN012',
                CONSTRAINT = 'a_token_stays_within_the_token_that_made_it',
                MESSAGE = format('a token scoped to %s cannot make one scoped to %s', maker.scopes, scopes),
                HINT = 'Ask for scopes within the token you authenticated with, or create the token from a '
                       'session of your own login.';
        END IF;
    END IF;
    IF who IS NOT NULL AND concord.canonical_name(coalesce(principal, who)) <> who THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN012',
            CONSTRAINT = 'a_token_is_created_by_its_principal',
            MESSAGE = format('%s may not create a token for %s', who, principal),
            HINT = 'A principal creates its own tokens; a superuser creates them for services.';
    END IF;
    IF expires_in IS NULL OR expires_in <= interval '0' OR expires_in > interval '366 days' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_token_expires_within_a_year',
            MESSAGE = format('expires_in %s: a token lives more than 0 and at most 366 days', expires_in);
    END IF;
    IF scopes IS NOT NULL AND NOT scopes <@ ARRAY['owner', 'admin', 'approver', 'member', 'reader'] THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'token_scopes_are_roles',
            MESSAGE = format('unknown scopes %s: use owner, admin, approver, member, reader', scopes);
    END IF;
    RETURN QUERY
    INSERT INTO concord.api_tokens AS t (principal_id, token_sha256, label, scopes, expires_at, created_by)
    VALUES (target, concord._credential_sha256(secret), label, scopes,
            least(now() + expires_in, coalesce(maker.expires_at, 'infinity')), coalesce(who, session_user::text))
    RETURNING t.token_id, secret, t.expires_at;
END
$$;

COMMENT ON FUNCTION concord.create_api_token(text, interval, text[], text) IS
'Issue an API token for principal (default: the caller; only a superuser issues for others), '
'valid for expires_in (at most 366 days), optionally limited to the membership roles in scopes. '
'Returns the token once: only its SHA-256 is kept. Use it with concord.authenticate(token). '
'Made in a transaction authenticated by a token, it stays within that token: its scopes by '
'default, no other (CN012), and it expires no later.';

CREATE OR REPLACE FUNCTION concord.revoke_api_token(token_id uuid)
RETURNS boolean
LANGUAGE plpgsql
VOLATILE
SECURITY DEFINER
SET search_path = concord, pg_temp
-- the caller's session cannot speak for the kernel: see sql/support/context.sql
SET "concord.actor" = ''
SET "concord.reason" = ''
SET "concord.submitting" = 'off'
SET "concord.settling" = 'off'
SET "concord.asserted_by" = ''
SET "concord.worker_run" = ''
AS $$
#variable_conflict use_variable
DECLARE
    who text := concord._directory_caller();
BEGIN
    UPDATE concord.api_tokens AS t
    SET revoked_at = now(), revoked_by = coalesce(who, session_user::text)
    WHERE t.token_id = revoke_api_token.token_id AND t.revoked_at IS NULL
      AND (who IS NULL OR t.principal_id = concord._principal_id(who));
    IF NOT FOUND AND NOT EXISTS (
        SELECT 1 FROM concord.api_tokens AS t
        WHERE t.token_id = revoke_api_token.token_id
          AND (who IS NULL OR t.principal_id = concord._principal_id(who))) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_token_exists',
            MESSAGE = format('token %s not found among your tokens', token_id);
    END IF;
    RETURN FOUND;
END
$$;

COMMENT ON FUNCTION concord.revoke_api_token(uuid) IS
'Revoke one of your tokens (a superuser: anyone''s); true when revoked now, false when it was '
'already. A revoked token authenticates nothing, from the next statement on.';
