-- (f) submit as a principal authenticated by its database login (a concord_app
-- login mapped to the principal): no token, the same checks as (e).
SELECT * FROM concord.submit_command(
    'bench_ping', '{"n": 1}', NULL, 'api', '{}',
    format('bench:%s:%s', :client_id::int, gen_random_uuid())
);
