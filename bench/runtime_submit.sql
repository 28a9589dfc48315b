-- Runtime bench (a): one trivial command per transaction. submit_command validates it,
-- queues it and enqueues its DBOS workflow concord.run_command in the same transaction.
-- :tag names the batch (pgbench -D tag=...); the idempotency key starts with it.
SELECT command_id FROM concord.submit_command(
    'bench.echo', '{}', 'bench', 'api', '{}',
    format('%s:%s:%s', :tag::text, :client_id::int, gen_random_uuid())
);
