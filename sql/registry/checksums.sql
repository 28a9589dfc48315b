-- A published version's checksum is computed in SQL over its manifest's
-- canonical JSON, so any client, language or YAML spelling of the same
-- contract gets the same checksum, and a changed byte anywhere shows.

-- Canonical JSON (after RFC 8785): object members sorted by key (code point
-- order), no insignificant whitespace, numbers in their shortest form (1.0
-- and 1 are one number; 1e2 is 100), strings escaped as JSON requires.
CREATE OR REPLACE FUNCTION concord.registry_canonical_json(document jsonb)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
STRICT
PARALLEL SAFE
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
    kind text := jsonb_typeof(document);
    number numeric;
BEGIN
    IF kind = 'object' THEN
        RETURN '{' || coalesce((
            SELECT string_agg(to_jsonb(e.key)::text || ':' || concord.registry_canonical_json(e.value), ','
                              ORDER BY e.key COLLATE "C")
            FROM jsonb_each(document) AS e), '') || '}';
    ELSIF kind = 'array' THEN
        RETURN '[' || coalesce((
            SELECT string_agg(concord.registry_canonical_json(x.item), ',' ORDER BY x.n)
            FROM jsonb_array_elements(document) WITH ORDINALITY AS x (item, n)), '') || ']';
    ELSIF kind = 'number' THEN
        number := (document #>> '{}')::numeric;
        RETURN trim_scale(number)::text;
    END IF;
    RETURN document::text;
END
$$;

COMMENT ON FUNCTION concord.registry_canonical_json(jsonb) IS
'The canonical JSON text of a document: members sorted by key, no whitespace, numbers in their '
'shortest form. Two spellings of one contract have one canonical text.';

CREATE OR REPLACE FUNCTION concord.registry_checksum(manifest jsonb)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
STRICT
PARALLEL SAFE
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
BEGIN
    RETURN 'sha256:' || encode(sha256(convert_to(concord.registry_canonical_json(manifest), 'UTF8')), 'hex');
END
$$;

COMMENT ON FUNCTION concord.registry_checksum(jsonb) IS
'sha256:<hex> of a manifest''s canonical JSON (concord.registry_canonical_json): the checksum '
'every registry version carries.';
