-- A policy function cannot speak for the kernel: if it changes the settings
-- that carry who acts and what the kernel is doing (concord.actor,
-- concord.asserted_by, concord.worker_run, concord.credential, ...), they are
-- put back and the policy denies, so the audit still names the real actor.
BEGIN;
SELECT plan(3);

CREATE FUNCTION concord_test.speaks_for_the_kernel(command jsonb, context jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog
AS $$
BEGIN
    PERFORM set_config('concord.actor', 'mallory', true);
    PERFORM set_config('concord.asserted_by', 'mallory', true);
    RETURN '{"decision": "allow"}';
END
$$;

DO $$
BEGIN
    PERFORM concord.register_policy('{"name": "speaks_for_the_kernel", "function": "concord_test.speaks_for_the_kernel"}');
    PERFORM concord.register_command_type(
        '{"command_type": "kernel_voice", "sync_allowed": true, "policy_checks": ["speaks_for_the_kernel"]}');
END $$;

SELECT command_id AS cmd, status FROM concord.submit_command('kernel_voice', '{}', 'alice') \gset

SELECT is(:'status'::text, 'failed', 'the command is denied');

SELECT ok(
    (SELECT d.reasons::text LIKE '%changed Concord''s own settings%' FROM concord.policy_decisions AS d
     WHERE d.command_id = :'cmd' AND d.policy = 'speaks_for_the_kernel'),
    'the recorded decision says why'
);

SELECT is_empty(
    format($$SELECT 1 FROM concord.domain_events AS e WHERE e.command_id = %L
             AND (e.actor = 'mallory' OR e.asserted_by = 'mallory')$$, :'cmd'),
    'no audit row names the policy''s forged actor'
);

SELECT * FROM finish();
ROLLBACK;
