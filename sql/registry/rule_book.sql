-- The rules of the registry domain (spec 103-121).
-- Each rule its code raises (CONSTRAINT = ...) with its table, SQLSTATE and
-- one sentence of meaning; concord.rules lists them (sql/support/rules.sql).
CREATE OR REPLACE FUNCTION concord._rule_book_registry()
RETURNS TABLE (rule text, table_name text, sqlstate text, meaning text)
LANGUAGE sql
IMMUTABLE
SET search_path = concord, pg_temp
AS $$
    VALUES
        ('a_schema_change_direction_is_input_output_or_full', null::text, 'CN008',
         'A JSON Schema change is judged as an input (callers send it), an output (producers emit '
         'it) or full (both); no other direction.')
$$;
