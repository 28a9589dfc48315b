-- (f) The same command without an agent: concord.submit_command of the sync type the
-- tool becomes (validated at once), no idempotency key (as the gateway's call).
SELECT * FROM concord.submit_command('bench_sync', '{"n": 1}', 'bench', 'api', '{}', NULL);
