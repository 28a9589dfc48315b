-- (g) Concord batch: one concord.submit_commands of 100 bench_ping commands per
-- transaction, each with a fresh idempotency key: every command validated, routed and
-- audited as a single submit is, behind its own savepoint.
SELECT count(*) FROM concord.submit_commands(
    (SELECT jsonb_agg(jsonb_build_object(
        'command_type', 'bench_ping', 'payload', '{"n": 1}'::jsonb,
        'idempotency_key', format('batch:%s:%s', :client_id::int, gen_random_uuid())))
     FROM generate_series(1, 100)),
    requested_by => 'bench'
);
