-- The rules of the plans domain: each rule its code raises (CONSTRAINT = ...)
-- with its table, SQLSTATE and one sentence of meaning. concord.rules lists
-- them (sql/support/rules.sql).
CREATE OR REPLACE FUNCTION concord._rule_book_plans()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        ('only_a_command_still_to_run_is_planned', null::text, 'CN011',
         'A plan is made only for a command that is still to run (validated up to running or '
         'blocked), not for a finished one.')
$$;
