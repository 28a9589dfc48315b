-- Views of effects for operators (spec 48).

-- Effects handed to a runtime and not finished, oldest first.
CREATE OR REPLACE VIEW concord.effects_in_flight AS
SELECT
    e.domain_effect_id,
    e.command_id,
    e.effect_type,
    e.executed_by_dbos_workflow_id,
    e.started_at,
    now() - e.started_at AS running_for
FROM concord.domain_effects AS e
WHERE e.status = 'executing'
ORDER BY e.started_at, e.domain_effect_id;

COMMENT ON VIEW concord.effects_in_flight IS
'Effects in status executing, oldest first: the place to look for stuck side effects.';

COMMENT ON COLUMN concord.effects_in_flight.domain_effect_id IS
'The effect''s id.';

COMMENT ON COLUMN concord.effects_in_flight.command_id IS
'The command the effect belongs to.';

COMMENT ON COLUMN concord.effects_in_flight.effect_type IS
'What kind of effect it is (email.send, crm.update, ...); its prefix picks the queue.';

COMMENT ON COLUMN concord.effects_in_flight.executed_by_dbos_workflow_id IS
'The DBOS workflow that started executing it.';

COMMENT ON COLUMN concord.effects_in_flight.started_at IS
'When it started executing.';

COMMENT ON COLUMN concord.effects_in_flight.running_for IS
'How long it has been executing, as of the start of the reading transaction.';
