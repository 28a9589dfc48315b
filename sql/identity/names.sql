-- The canonical form of a principal's name (spec 45): one person, one name.
--
--   * Unicode NFKC normalisation, then case folding: 'ALICE', 'Alice' and the
--     full-width 'ａｌｉｃｅ' are all 'alice';
--   * letters, digits, marks and the punctuation . _ @ : + - only, starting
--     with a letter or a digit, at most 128 characters;
--   * refused: control, format (zero-width, bidirectional), separator
--     (spaces), private-use, unassigned and surrogate characters — 'alice\u200b'
--     is not a second alice, it is not a name.
--
-- Look-alike letters of different scripts (Latin a, Cyrillic а) are different
-- names: telling them apart needs a confusables table that is not kept here.

CREATE OR REPLACE FUNCTION concord._canonical_name_of_unicode(raw text)
RETURNS text
LANGUAGE plpython3u
IMMUTABLE
STRICT
AS $$
import unicodedata

name = unicodedata.normalize("NFKC", raw).casefold()
name = unicodedata.normalize("NFKC", name)
if not name or len(name) > 128:
    return None
for position, char in enumerate(name):
    category = unicodedata.category(char)
    if char in "._@:+-" and position > 0:
        continue
    if category[0] in "LN" or (category[0] == "M" and position > 0):
        continue
    return None
return name
$$;

-- raw in canonical form, or CN008 naming what is wrong. ASCII names already in
-- canonical form (nearly all of them) never reach Python.
CREATE OR REPLACE FUNCTION concord.canonical_name(raw text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
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
    name text;
BEGIN
    IF raw IS NULL OR btrim(raw) = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_principal_name_is_canonical',
            MESSAGE = 'a principal name must not be NULL or blank';
    END IF;
    IF raw ~ '^[a-z0-9][a-z0-9._@:+-]{0,127}$' THEN
        RETURN raw;
    END IF;
    name := concord._canonical_name_of_unicode(raw);
    IF name IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_principal_name_is_canonical',
            MESSAGE = format('%s is not a principal name', to_json(raw)),
            DETAIL = 'A name is letters and digits (any script) and . _ @ : + -, starts with a letter '
                     'or a digit, has at most 128 characters, and holds no control, invisible or '
                     'space character.',
            HINT = 'Case and Unicode compatibility forms are folded: ALICE is alice.';
    END IF;
    RETURN name;
END
$$;

COMMENT ON FUNCTION concord.canonical_name(text) IS
'The canonical form of a principal name: NFKC-normalised and case-folded; CN008 '
'(a_principal_name_is_canonical) for a name holding control, invisible or space characters, '
'starting with punctuation, or longer than 128 characters.';
