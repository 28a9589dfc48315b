-- domain_events is append-only (spec 25): no UPDATE, DELETE or TRUNCATE,
-- whoever asks, the table owner included.

CREATE OR REPLACE TRIGGER events_are_append_only
BEFORE UPDATE OR DELETE ON concord.domain_events
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'is append-only', 'Record a correction as a new event instead.'
);

CREATE OR REPLACE TRIGGER events_are_not_truncated
BEFORE TRUNCATE ON concord.domain_events
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'is append-only', 'Record a correction as a new event instead.'
);
