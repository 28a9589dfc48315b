-- (a) Concord: one submit_command per transaction, a fresh idempotency key each time.
-- The full contract: required input and JSON Schema check, created -> validated ->
-- queued along checked transitions, one command row and its three audit events.
SELECT * FROM concord.submit_command(
    'bench_ping', '{"n": 1}', 'bench', 'api', '{}',
    format('bench:%s:%s', :client_id::int, gen_random_uuid())
);
