-- After `concord migrate` (0007 and the sql/ files) on the 0006-era data of
-- 0007_fixture.sql. Each part of 0007 adds its checks (no_plan: parts append).
BEGIN;
SELECT * FROM no_plan();

SELECT ok(EXISTS (SELECT FROM concord.schema_migrations WHERE version = 7),
          'concord.schema_migrations lists version 7');

SELECT results_eq(
    $$SELECT command_id::text, status FROM concord.commands
      WHERE command_id = '00000000-0000-0000-0000-000000000071'$$,
    $$VALUES ('00000000-0000-0000-0000-000000000071', 'succeeded')$$,
    'the command from before 0007 survived as it was'
);

-- == workers ==
SELECT results_eq(
    $$SELECT command_id::text, attempts FROM concord.commands
      WHERE command_id::text IN ('00000000-0000-0000-0000-000000000071', '00000000-0000-0000-0000-000000000072')
      ORDER BY command_id$$,
    $$VALUES ('00000000-0000-0000-0000-000000000071', 0), ('00000000-0000-0000-0000-000000000072', 2)$$,
    'attempts counts the runs that began before 0007 (a blocked command resuming is not one)'
);
SELECT is_empty($$SELECT * FROM concord.workers$$, 'no worker is registered yet');

-- == sync_execution ==
SELECT results_eq(
    $$SELECT command_id::text, status FROM concord.commands
      WHERE command_id::text BETWEEN '00000000-0000-0000-0000-000000000076'
                                 AND '00000000-0000-0000-0000-000000000079'
      ORDER BY command_id$$,
    $$VALUES ('00000000-0000-0000-0000-000000000076', 'queued'),
             ('00000000-0000-0000-0000-000000000077', 'queued'),
             ('00000000-0000-0000-0000-000000000078', 'queued'),
             ('00000000-0000-0000-0000-000000000079', 'validated')$$,
    'validated commands their policies allowed are queued; one its policies did not allow stays validated'
);

-- Whether the migration also binds and enqueues them depends on DBOS being installed
-- when it runs (a database installed from migrations alone has no dbos schema yet: the
-- worker's hand-off binds them later). Either way a bound one is enqueued at sync
-- priority and the child of an unfinished parent stays unbound.
SELECT is(
    (SELECT count(*)::integer FROM concord.commands AS c
     LEFT JOIN dbos.workflow_status AS w ON w.workflow_uuid = c.dbos_workflow_id
     WHERE c.command_id::text BETWEEN '00000000-0000-0000-0000-000000000076'
                                  AND '00000000-0000-0000-0000-000000000079'
       AND c.dbos_workflow_id IS NOT null
       AND (w.status IS DISTINCT FROM 'ENQUEUED' OR w.priority IS DISTINCT FROM 0 OR c.run_seq <> 1
            OR c.command_id::text IN ('00000000-0000-0000-0000-000000000078',
                                      '00000000-0000-0000-0000-000000000079'))),
    0,
    'a command the migration bound is enqueued at sync priority; the waiting child and the denied one are unbound'
);

SELECT results_eq(
    $$SELECT command_id::text, from_status, to_status FROM concord.domain_events
      WHERE actor = 'kernel:migration_0007' AND event_type = 'command_status_changed'
      ORDER BY command_id, event_seq$$,
    $$VALUES ('00000000-0000-0000-0000-000000000076', 'validated', 'queued'),
             ('00000000-0000-0000-0000-000000000077', 'validated', 'queued'),
             ('00000000-0000-0000-0000-000000000078', 'validated', 'queued')$$,
    'each move is audited'
);

SELECT is(
    (SELECT count(*)::integer FROM concord.domain_events
     WHERE actor = 'kernel:migration_0007' AND event_type = 'workflow_enqueued'),
    (SELECT count(*)::integer FROM concord.commands
     WHERE command_id::text BETWEEN '00000000-0000-0000-0000-000000000076'
                                AND '00000000-0000-0000-0000-000000000079'
       AND dbos_workflow_id IS NOT null),
    'each enqueue by the migration is audited'
);

SELECT is(
    (SELECT s.status FROM concord.submit_command('runtime_probe', '{"n": 10}', 'alice') AS s),
    'validated',
    'a new sync command is validated in its transaction (handed to the worker at commit)'
);

-- == run_time_contracts ==
-- the catalog's compensations start empty (a worker records
-- them at its next start); artifacts gain a key, null on those from before.
SELECT is((SELECT count(*) FROM concord.runtime_compensations), 0::bigint,
          'run_time_contracts: runtime_compensations exists, empty until a worker registers');
SELECT is((SELECT count(*) FROM concord.artifacts WHERE idempotency_key IS NOT null), 0::bigint,
          'run_time_contracts: no artifact from before 0007 has a key');

-- == memory_by_reference == the copies of a forgotten memory's content are gone
SELECT is((SELECT count(*) FROM concord.agent_steps AS s WHERE s::text LIKE '%owes us 7 euros%')
        + (SELECT count(*) FROM concord.domain_events AS e WHERE e::text LIKE '%owes us 7 euros%'),
          0::bigint, 'memory_by_reference: no step and no audit row holds a memory''s content any more');
SELECT is((SELECT action_payload #> '{payload}' FROM concord.agent_steps
           WHERE agent_step_id = '00000000-0000-0000-0000-000000000075'),
          jsonb_build_object('memory_type', 'fact', 'content_length', 15,
                             'content_sha256', encode(sha256('owes us 7 euros'), 'hex')),
          'memory_by_reference: the write''s step keeps the content''s digest and length');
SELECT is((SELECT output #> '{output,memories,0}' FROM concord.agent_steps
           WHERE agent_step_id = '00000000-0000-0000-0000-000000000076'),
          jsonb_build_object('memory_id', '00000000-0000-0000-0000-000000000074', 'status', 'active',
                             'content_length', 15, 'content_sha256', encode(sha256('owes us 7 euros'), 'hex')),
          'memory_by_reference: the retrieval''s step keeps the memory''s id and digest');
SELECT is((SELECT count(*) FROM concord.domain_events
           WHERE event_type = 'agent_step_recorded' AND trace_id = 'trace_probe_71'
             AND (payload::text LIKE '%' || encode(sha256('owes us 7 euros'), 'hex') || '%')),
          2::bigint, 'memory_by_reference: both audit rows name the digest instead');
SELECT throws_ok($$UPDATE concord.agent_steps SET decision = 'denied'
                   WHERE agent_step_id = '00000000-0000-0000-0000-000000000075'$$,
                 'CN007', NULL, 'memory_by_reference: agent steps are append-only again after the rewrite');
SELECT throws_ok($$UPDATE concord.domain_events SET reason = 'x' WHERE trace_id = 'trace_probe_71'$$,
                 'CN007', NULL, 'memory_by_reference: audit rows are append-only again after the rewrite');

SELECT * FROM finish();
ROLLBACK;
