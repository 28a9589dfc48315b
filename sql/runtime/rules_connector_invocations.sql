-- connector_invocations are append-only.

CREATE OR REPLACE TRIGGER connector_invocations_are_append_only
BEFORE UPDATE OR DELETE ON concord.connector_invocations
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write('is append-only');

CREATE OR REPLACE TRIGGER connector_invocations_are_not_truncated
BEFORE TRUNCATE ON concord.connector_invocations
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write('is append-only');
