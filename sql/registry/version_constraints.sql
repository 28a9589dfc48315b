-- Version constraints of the registry's relationships (issue 14, spec 108.1):
-- npm/cargo-style text ("^1.4.2", ">=1.2 <2", "1.x") parsed into a
-- semver.semverrange, so "which versions satisfy this edge" is a range
-- containment (@>) the btree/GiST machinery of the semver extension answers.
--
-- The semver operators live in schema semver, outside search_path: compare
-- with OPERATOR(semver.<) or with range operators (@>, *), which are
-- pg_catalog's.

-- The range of one comparator ("^1.4", ">=1.2", "1.x", "=1.2.3"), or NULL
-- when it is not one. An upper bound a partial version implies ("^1.4.2" ->
-- below 2.0.0, "~1.4" -> below 1.5.0, "1.x", "<2", "<=2.1") is written as
-- X.Y.Z-0, the lowest pre-release of X.Y.Z, as npm and cargo do: a
-- pre-release of the next major (2.0.0-rc.1, breaking by definition) does not
-- satisfy "^1.4.2". An explicit full bound ("<2.0.0") is taken as written.
CREATE OR REPLACE FUNCTION concord._registry_comparator_range(comparator text)
RETURNS semver.semverrange
LANGUAGE plpgsql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    parts text[] := regexp_match(
        comparator,
        '^(\^|~|>=|<=|>|<|=)?(0|[1-9][0-9]{0,8}|[xX*])'
        '(?:\.(0|[1-9][0-9]{0,8}|[xX*])(?:\.(0|[1-9][0-9]{0,8}|[xX*])'
        '(-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)?)?$');
    op text;
    nums integer[] := '{}'::integer[];
    known integer := 0;
    part text;
    pre text;
    lowest semver.semver;
    upper_text text;
BEGIN
    IF parts IS NULL THEN
        RETURN NULL;
    END IF;
    op := coalesce(parts[1], '=');
    pre := coalesce(parts[5], '');
    -- the leading numbers before the first wildcard or missing part
    FOREACH part IN ARRAY parts[2:4] LOOP
        IF part IS NULL OR part IN ('x', 'X', '*') THEN
            EXIT;
        END IF;
        nums := nums || part::integer;
        known := known + 1;
    END LOOP;
    -- nothing concrete may follow a wildcard ("1.x.3"); a pre-release needs
    -- a full version
    IF (known < 3 AND (pre <> '' OR EXISTS (
            SELECT 1 FROM unnest(parts[known + 3:4]) AS p (v) WHERE p.v ~ '^[0-9]')))
       OR (known = 3 AND NOT semver.is_semver(array_to_string(nums, '.') || pre)) THEN
        RETURN NULL;
    END IF;
    IF known = 0 THEN
        -- "*", "x", ">=*", "^*": any version; ">*" and "<*": none
        RETURN CASE WHEN op IN ('>', '<') THEN 'empty'::semver.semverrange ELSE '(,)'::semver.semverrange END;
    END IF;
    lowest := (concat_ws('.', nums[1], coalesce(nums[2], 0), coalesce(nums[3], 0)) || pre)::semver.semver;
    IF op = '>=' THEN
        RETURN semver.semverrange(lowest, NULL, '[)');
    ELSIF op = '>' THEN
        IF known = 3 THEN
            RETURN semver.semverrange(lowest, NULL, '()');
        END IF;
        -- ">1.2" is above every 1.2.x
        upper_text := CASE known WHEN 1 THEN format('%s.0.0', nums[1] + 1)
                                 ELSE format('%s.%s.0', nums[1], nums[2] + 1) END;
        RETURN semver.semverrange(upper_text::semver.semver, NULL, '[)');
    ELSIF op = '<' THEN
        RETURN semver.semverrange(NULL, (lowest::text || CASE WHEN known < 3 THEN '-0' ELSE '' END)::semver.semver,
                                  '()');
    ELSIF op = '<=' THEN
        IF known = 3 THEN
            RETURN semver.semverrange(NULL, lowest, '(]');
        END IF;
        -- "<=2.1" takes in every 2.1.x
        upper_text := CASE known WHEN 1 THEN format('%s.0.0-0', nums[1] + 1)
                                 ELSE format('%s.%s.0-0', nums[1], nums[2] + 1) END;
        RETURN semver.semverrange(NULL, upper_text::semver.semver, '()');
    ELSIF op = '=' AND known = 3 THEN
        RETURN semver.semverrange(lowest, lowest, '[]');
    ELSIF op = '^' THEN
        upper_text := CASE
            WHEN nums[1] > 0 OR known = 1 THEN format('%s.0.0-0', nums[1] + 1)
            WHEN nums[2] > 0 OR known = 2 THEN format('0.%s.0-0', nums[2] + 1)
            ELSE format('0.0.%s-0', nums[3] + 1)
        END;
    ELSE
        -- "~1.4.2", "~1.4", "~1"; and the x-ranges "1.x", "1.2.x", "=1.2"
        upper_text := CASE WHEN known = 1 THEN format('%s.0.0-0', nums[1] + 1)
                           ELSE format('%s.%s.0-0', nums[1], nums[2] + 1) END;
    END IF;
    RETURN semver.semverrange(lowest, upper_text::semver.semver, '[)');
END
$$;

CREATE OR REPLACE FUNCTION concord.registry_version_range(version_constraint text)
RETURNS semver.semverrange
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
    result semver.semverrange := '(,)'::semver.semverrange;
    piece semver.semverrange;
    comparator text;
    normalized text;
BEGIN
    -- ">= 1.2" is ">=1.2"; comparators separated by spaces intersect
    normalized := regexp_replace(btrim(coalesce(version_constraint, '')), '(>=|<=|>|<|=|\^|~)\s+', '\1', 'g');
    IF normalized = '' THEN
        RETURN result;
    END IF;
    FOREACH comparator IN ARRAY regexp_split_to_array(normalized, '\s+') LOOP
        piece := concord._registry_comparator_range(comparator);
        IF piece IS NULL THEN
            RAISE EXCEPTION USING
                ERRCODE = 'CN005',
                CONSTRAINT = 'a_version_constraint_is_well_formed',
                MESSAGE = format('version constraint %L is not well formed: %L is not a version comparator',
                                 version_constraint, comparator),
                HINT = 'Write *, an exact version (1.2.3 or =1.2.3), a comparison (>=1.2, >1.2.0, <2, <=2.1), '
                       'a caret (^1.4.2), a tilde (~1.4) or an x-range (1.x, 1.2.x), or several separated by '
                       'spaces (>=1.2 <2), which must all hold.';
        END IF;
        result := result * piece;
    END LOOP;
    IF isempty(result) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN005',
            CONSTRAINT = 'a_version_constraint_is_well_formed',
            MESSAGE = format('version constraint %L is not well formed: no version satisfies it',
                             version_constraint),
            HINT = 'Its comparators must overlap, e.g. >=1.2 <2.';
    END IF;
    RETURN result;
END
$$;

COMMENT ON FUNCTION concord.registry_version_range(text) IS
'The range of semantic versions a version constraint allows: NULL, '''' or * (any); 1.2.3 or '
'=1.2.3 (exactly); >=1.2, >1.2.0, <2, <=2.1 (a partial version stands for all its versions, as '
'in npm: >=1.2 is >=1.2.0, <2 is <2.0.0, <=2.1 takes in every 2.1.x and >1.2 starts at 1.3.0); '
'^1.4.2 (>=1.4.2 <2.0.0; ^0.3.1 is >=0.3.1 <0.4.0); ~1.4 (>=1.4.0 <1.5.0); 1.x, 1.2.x; several '
'separated by spaces must all hold (>=1.2 <2). An implied upper bound excludes the pre-releases '
'of that bound (^1.4.2 does not take 2.0.0-rc.1). CN005 (a_version_constraint_is_well_formed) '
'for anything else, or a constraint no version satisfies.';

CREATE OR REPLACE FUNCTION concord.registry_version_satisfies(version text, version_constraint text)
RETURNS boolean
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
BEGIN
    IF version IS NULL THEN
        RETURN NULL;
    END IF;
    IF NOT semver.is_semver(version) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'CN008',
            CONSTRAINT = 'a_checked_version_is_a_semantic_version',
            MESSAGE = format('%L is not a semantic version', version),
            HINT = 'A version is MAJOR.MINOR.PATCH with an optional -pre-release, e.g. 1.4.2 or 2.0.0-rc.1.';
    END IF;
    RETURN concord.registry_version_range(version_constraint) @> version::semver.semver;
END
$$;

COMMENT ON FUNCTION concord.registry_version_satisfies(text, text) IS
'Whether a semantic version satisfies a version constraint (see registry_version_range); '
'pre-releases order before their release (1.0.0-rc.1 < 1.0.0). CN008 '
'(a_checked_version_is_a_semantic_version) for a version that is not MAJOR.MINOR.PATCH[-pre]; '
'CN005 for a malformed constraint.';
