-- Connector invocations (spec 19): what a call meant and how it ended, with
-- secrets redacted.

-- Values under keys that name credentials, replaced wherever they appear.
CREATE OR REPLACE FUNCTION concord._redact(doc jsonb)
RETURNS jsonb
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN CASE jsonb_typeof(doc)
        WHEN 'object' THEN (
            SELECT coalesce(jsonb_object_agg(
                       k.key,
                       CASE WHEN concord._is_secret_key(k.key) THEN to_jsonb('[redacted]'::text)
                            ELSE concord._redact(k.value) END), '{}')
            FROM jsonb_each(doc) AS k)
        WHEN 'array' THEN (
            SELECT coalesce(jsonb_agg(concord._redact(a.value) ORDER BY a.n), '[]')
            FROM jsonb_array_elements(doc) WITH ORDINALITY AS a (value, n))
        WHEN 'string' THEN CASE
            WHEN doc #>> '{}' ~* '^(bearer|basic)[ \t\n\r\f\v]+[^ \t\n\r\f\v]' THEN to_jsonb('[redacted]'::text)
            WHEN doc #>> '{}' ~ '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@: \t\n\r\f\v]*:[^/@ \t\n\r\f\v]+@'
                THEN to_jsonb(regexp_replace(doc #>> '{}', '://([^/@: \t\n\r\f\v]*):[^/@ \t\n\r\f\v]+@', '://\1:[redacted]@'))
            ELSE doc
        END
        ELSE doc
    END;
END
$$;

CREATE OR REPLACE FUNCTION concord._secret_key_pattern()
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN '(secret|password|passwd|token|api[_-]?key|authorization|credential|private[_-]?key|cookie)';
END
$$;

-- Whether a configuration key names a credential (token, password, api_key,
-- ...), not a setting about one (token_url, password_file, token_ttl, ...).
CREATE OR REPLACE FUNCTION concord._is_secret_key(key text)
RETURNS boolean
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN key ~* concord._secret_key_pattern()
        AND key !~* '[_-](url|uri|endpoint|ttl|type|mode|name|header|file|path|ref|scheme|expiry|expires)$';
END
$$;

-- Every place in a connector configuration that holds a raw secret instead
-- of a reference (env://NAME, file://PATH): any string under a credential
-- key (at any depth), and anywhere a "Bearer ..." / "Basic ..." credential or
-- a URI with a password (scheme://user:password@host).
CREATE OR REPLACE FUNCTION concord._raw_secrets(
    doc jsonb, path text DEFAULT '$', secret boolean DEFAULT FALSE
)
RETURNS text[]
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
BEGIN
    RETURN CASE jsonb_typeof(doc)
        WHEN 'object' THEN coalesce((
            SELECT array_agg(p ORDER BY p)
            FROM jsonb_each(doc) AS k,
                 LATERAL unnest(concord._raw_secrets(
                     k.value, path || '.' || k.key, secret OR concord._is_secret_key(k.key))) AS p), '{}')
        WHEN 'array' THEN coalesce((
            SELECT array_agg(p ORDER BY a.n)
            FROM jsonb_array_elements(doc) WITH ORDINALITY AS a (value, n),
                 LATERAL unnest(concord._raw_secrets(a.value, path || '[' || (a.n - 1) || ']', secret)) AS p),
            '{}')
        WHEN 'number' THEN CASE WHEN secret THEN ARRAY[path] ELSE '{}' END
        WHEN 'string' THEN CASE
            WHEN doc #>> '{}' ~ '^(env|file)://' THEN '{}'
            WHEN secret AND doc #>> '{}' <> '' THEN ARRAY[path]
            WHEN doc #>> '{}' ~* '^(bearer|basic)[ \t\n\r\f\v]+[^ \t\n\r\f\v]' THEN ARRAY[path]
            WHEN doc #>> '{}' ~ '^[a-zA-Z][a-zA-Z0-9+.-]*://[^/@: \t\n\r\f\v]*:[^/@ \t\n\r\f\v]+@' THEN ARRAY[path]
            ELSE '{}'
        END
        ELSE '{}'
    END;
END
$$;

CREATE OR REPLACE FUNCTION concord.record_connector_invocation(invocation jsonb)
RETURNS uuid
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
DECLARE
    c concord.commands%ROWTYPE;
    new_id uuid;
    request jsonb := coalesce(invocation -> 'input', '{}');
BEGIN
    IF invocation IS null OR jsonb_typeof(invocation) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', CONSTRAINT = 'a_connector_invocation_is_a_json_object',
            MESSAGE = 'invocation must be a JSON object';
    END IF;
    IF NOT (concord._is_uuid(invocation ->> 'command_id')
            AND (invocation ->> 'domain_effect_id' IS null OR concord._is_uuid(invocation ->> 'domain_effect_id'))) THEN
        RAISE EXCEPTION USING ERRCODE = 'CN008', CONSTRAINT = 'a_connector_invocation_is_a_json_object',
            MESSAGE = format('invocation command_id %s and domain_effect_id %s must be uuids',
                             coalesce(invocation ->> 'command_id', 'NULL'),
                             coalesce(invocation ->> 'domain_effect_id', 'NULL'));
    END IF;
    SELECT * INTO c FROM concord.commands AS x WHERE x.command_id = (invocation ->> 'command_id')::uuid;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN006',
            CONSTRAINT = 'the_command_exists',
            MESSAGE = format('command %s not found', coalesce(invocation ->> 'command_id', 'NULL'));
    END IF;
    IF invocation ->> 'error_class' IS NOT null THEN
        PERFORM concord._known_error_class(invocation ->> 'error_class');
    END IF;
    IF invocation ->> 'domain_effect_id' IS NOT null THEN
        -- the call its effect names, under the contract that governs that effect
        PERFORM concord._require_effect_connector(
            c, (SELECT e FROM concord.domain_effects AS e
                WHERE e.domain_effect_id = (invocation ->> 'domain_effect_id')::uuid),
            concord._require('connector_name', invocation ->> 'connector_name'),
            concord._require('capability', invocation ->> 'capability'));
    ELSE
        PERFORM concord._require_connector_call(c, concord._require('connector_name', invocation ->> 'connector_name'),
                                                concord._require('capability', invocation ->> 'capability'));
    END IF;
    INSERT INTO concord.connector_invocations (
        command_id, domain_effect_id, connector_name, capability, side_effect, idempotency_key, attempt,
        status, input_hash, request_payload, output_summary, error, error_class, latency_ms,
        dbos_workflow_id, executor_id, trace_id
    ) VALUES (
        c.command_id, (invocation ->> 'domain_effect_id')::uuid,
        concord._require('connector_name', invocation ->> 'connector_name'),
        concord._require('capability', invocation ->> 'capability'),
        coalesce((invocation ->> 'side_effect')::boolean, true), invocation ->> 'idempotency_key',
        coalesce((invocation ->> 'attempt')::integer, 1),
        CASE WHEN invocation ->> 'error_class' IS null THEN 'succeeded' ELSE 'failed' END,
        coalesce(invocation ->> 'input_hash', encode(sha256(convert_to(concord._redact(request)::text, 'UTF8')), 'hex')),
        concord._redact(request), concord._redact(invocation -> 'output_summary'),
        left(invocation ->> 'error', 2000), invocation ->> 'error_class',
        coalesce((invocation ->> 'latency_ms')::double precision, 0),
        invocation ->> 'workflow_id', invocation ->> 'executor_id', c.trace_id
    )
    RETURNING connector_invocation_id INTO new_id;
    RETURN new_id;
END
$$;

COMMENT ON FUNCTION concord.record_connector_invocation(jsonb) IS
'Record one connector call (spec 34, 87.3): {command_id, domain_effect_id, connector_name, '
'capability, side_effect, idempotency_key, attempt, input, input_hash, output_summary, error, '
'error_class, latency_ms, workflow_id, executor_id}. Values under credential-like keys are '
'redacted before they are stored. A connector call the command may not make (its type does not '
'declare it, or it is outside its agent''s scope), or for an effect another call than the one it '
'names (or another command''s effect), is refused (CN012).';
