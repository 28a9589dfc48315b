-- The effect state machine is data that only migrations change.

CREATE OR REPLACE TRIGGER state_machine_is_read_only
BEFORE INSERT OR UPDATE OR DELETE ON concord.effect_statuses
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'is part of the state machine and changes only through a migration',
    'Write a migration that disables this table''s guard triggers around its change.'
);

CREATE OR REPLACE TRIGGER state_machine_is_not_truncated
BEFORE TRUNCATE ON concord.effect_statuses
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'is part of the state machine and changes only through a migration',
    'Write a migration that disables this table''s guard triggers around its change.'
);

CREATE OR REPLACE TRIGGER state_machine_is_read_only
BEFORE INSERT OR UPDATE OR DELETE ON concord.effect_transitions
FOR EACH ROW EXECUTE FUNCTION concord._refuse_write(
    'is part of the state machine and changes only through a migration',
    'Write a migration that disables this table''s guard triggers around its change.'
);

CREATE OR REPLACE TRIGGER state_machine_is_not_truncated
BEFORE TRUNCATE ON concord.effect_transitions
FOR EACH STATEMENT EXECUTE FUNCTION concord._refuse_write(
    'is part of the state machine and changes only through a migration',
    'Write a migration that disables this table''s guard triggers around its change.'
);
