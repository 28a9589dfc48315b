-- The rule book: every named rule the database enforces, so an operator who
-- meets a refusal can look it up (SELECT * FROM concord.rules WHERE rule =
-- '...'). Like the tables, it is the owner's: the roles keep exactly the
-- privileges they had, and docs/reference/rules.md is its published copy.
-- A rule raised by a trigger or a function names itself with
-- RAISE ... USING CONSTRAINT = '<rule>'; each domain keeps the meaning of its
-- rules in one function, concord._rule_book_<domain>(), next to its code.
-- CHECK constraints carry their meaning as COMMENT ON CONSTRAINT.

-- Every domain's rule book, found by name, so a new domain only adds its
-- function.
CREATE OR REPLACE FUNCTION concord._rule_books()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE plpgsql
STABLE
SET search_path = concord, pg_temp
AS $$
DECLARE
    book regprocedure;
BEGIN
    FOR book IN
        SELECT p.oid::regprocedure
        FROM pg_catalog.pg_proc AS p
        WHERE p.pronamespace = 'concord'::regnamespace
          AND p.proname LIKE '\_rule\_book\_%'
        ORDER BY p.proname
    LOOP
        RETURN QUERY EXECUTE format('SELECT b.rule, b.table_name, b.sqlstate, b.meaning FROM %s AS b', book);
    END LOOP;
END
$$;

-- The rules of the support helpers every domain calls.
CREATE OR REPLACE FUNCTION concord._rule_book_support()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        ('required_argument_is_not_blank', null::text, 'CN008',
         'A required argument of an API function is given and is not blank.'),
        ('a_name_has_at_most_256_characters', null, 'CN008',
         'A name given to an API function (a type, a policy, a queue) is at most 256 characters long.'),
        ('a_spec_is_a_json_object', null, 'CN005',
         'A runtime spec (connector, queue, schedule) is a JSON object.'),
        ('a_spec_has_only_known_keys', null, 'CN005',
         'A runtime spec names only the keys its kind knows, so a misspelt key is not ignored.'),
        ('error_class_is_known', null, 'CN008',
         'An error class given to the API is one of concord.error_classes (spec 32).'),
        ('a_catalog_key_is_immutable', null, 'CN007',
         'A catalog row (command type, policy, approval type, tool, connector) keeps its key and '
         'creation time; a change writes a new version instead.'),
        ('events_are_append_only', 'domain_events', 'CN007',
         'The audit trail is append-only: no row of domain_events is updated or deleted.'),
        ('events_are_not_truncated', 'domain_events', 'CN007',
         'The audit trail is never truncated.')
$$;

CREATE OR REPLACE VIEW concord.rules AS
SELECT
    b.rule,
    b.table_name,
    CASE WHEN b.table_name IS NULL THEN 'argument' ELSE 'trigger' END AS kind,
    b.sqlstate,
    b.meaning
FROM concord._rule_books() AS b
UNION ALL
SELECT
    c.conname::text AS rule,
    r.relname::text AS table_name,
    'check'::text AS kind,
    '23514'::text AS sqlstate,
    obj_description(c.oid, 'pg_constraint') AS meaning
FROM pg_catalog.pg_constraint AS c
INNER JOIN pg_catalog.pg_class AS r ON c.conrelid = r.oid
WHERE c.connamespace = 'concord'::regnamespace AND c.contype = 'c';

COMMENT ON VIEW concord.rules IS
'Every named rule Concord enforces: rules raised by triggers and functions with CONSTRAINT = '
'rule (kind trigger, or argument for an API argument) and CHECK constraints (kind check), with '
'the table, the SQLSTATE and one sentence of meaning. A refusal''s constraint name (psql: '
'\errverbose; Python: ConcordError.rule) is the rule.';

COMMENT ON COLUMN concord.rules.rule IS
'The rule''s name: the constraint name a refusal by it carries.';

COMMENT ON COLUMN concord.rules.table_name IS
'The table whose rule it is; NULL for a rule of API arguments and shared helpers.';

COMMENT ON COLUMN concord.rules.kind IS
'trigger (raised by a trigger or function), argument (raised about an API argument) or check (a '
'CHECK constraint).';

COMMENT ON COLUMN concord.rules.sqlstate IS
'The SQLSTATE a refusal by the rule carries (23514 for a CHECK constraint).';

COMMENT ON COLUMN concord.rules.meaning IS
'What the rule holds, in one sentence.';
