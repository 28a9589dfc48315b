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
