-- (e) submit as a principal authenticated by an API token: the token is
-- verified (SHA-256, one index lookup) in the same transaction, the requester is
-- the token's principal (requested_by NULL), its membership is checked, and
-- row-level security filters by its projects.
BEGIN;
SELECT concord.authenticate(:token);
SELECT * FROM concord.submit_command(
    'bench_ping', '{"n": 1}', NULL, 'api', '{}',
    format('bench:%s:%s', :client_id::int, gen_random_uuid())
);
END;
