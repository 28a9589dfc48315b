-- The memory_write rule (spec 23), pure: a write is allowed at once only when
-- it is confident, consented, not sensitive and not broad (an organization or
-- global subject, a policy memory); anything else requires approval, and every
-- reason is listed.
BEGIN;
SELECT plan(10);

-- ===========================================================================
-- The memory_write rule (spec 23), pure
-- ===========================================================================
CREATE FUNCTION pg_temp.decide(memory jsonb, config jsonb DEFAULT NULL)
RETURNS text
LANGUAGE sql
AS $$
    SELECT concord._memory_decision(memory, coalesce(config, (SELECT p.config FROM concord.policies AS p
                                                              WHERE p.name = 'memory_write'))) ->> 'decision'
$$;

SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "preference", "confidence": 0.8,
                           "consent": true, "sensitive": false}'), 'allow',
          'memory_write: confident, consented, not sensitive, not broad -> allow');
SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "preference", "confidence": 0.79,
                           "consent": true}'), 'require_approval',
          'memory_write: confidence below 0.8 -> require_approval');
SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "preference", "confidence": 1}'),
          'require_approval', 'memory_write: no consent -> require_approval');
SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "preference", "consent": true,
                           "sensitive": true}'), 'require_approval',
          'memory_write: sensitive -> require_approval');
SELECT is(pg_temp.decide('{"subject_type": "organization", "memory_type": "preference", "consent": true}'),
          'require_approval', 'memory_write: an organization subject is broad -> require_approval');
SELECT is(pg_temp.decide('{"subject_type": "global", "memory_type": "preference", "consent": true}'),
          'require_approval', 'memory_write: a global subject is broad -> require_approval');
SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "policy", "consent": true}'),
          'require_approval', 'memory_write: a policy memory is broad -> require_approval');
SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "preference", "confidence": "high",
                           "consent": true}'), 'require_approval',
          'memory_write: a confidence that is not a number never allows');
SELECT is(pg_temp.decide('{"subject_type": "user", "memory_type": "preference", "confidence": 0.6,
                           "consent": true}', '{"min_confidence": 0.5}'), 'allow',
          'memory_write: the threshold comes from the policy config');
SELECT is(jsonb_array_length(concord._memory_decision(
              '{"subject_type": "global", "memory_type": "policy", "confidence": 0.1, "sensitive": true}',
              '{}') -> 'reasons'), 5,
          'memory_write: every reason is listed');

SELECT * FROM finish();
ROLLBACK;
