-- (c) Idempotent replay: the same key, submitted once before the run. Each call finds
-- the original command by its key and returns it (created = false), writing nothing.
SELECT * FROM concord.submit_command(
    'bench_ping', '{"n": 1}', 'bench', 'api', '{}', 'bench-replay'
);
