-- Notifications are idempotent by key, read once, and kept
-- (store_notification; notifications are append-only but for read_at).
BEGIN;
SELECT plan(10);

DO $$ BEGIN
    PERFORM concord_test.runtime_fixtures();
END $$;

SELECT is(concord_test.submit('f', 'rt_async') || concord_test.submit('f2', 'rt_async'), 'queuedqueued',
          'fixture: f and f2 queued');

SELECT is((concord_test.claim('f') ->> 'action') || (concord_test.claim('f2') ->> 'action'), 'runrun',
          'fixture: f and f2 are running');

-- ===========================================================================
-- 14. store_notification
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord_test.remember('note', concord.store_notification('ann', 'Done', 'Your report is ready', 'app',
                                                               concord_test.id('f'), 'rt-note-1'));
END $$;

SELECT is(
    concord.store_notification('ann', 'Done', 'Your report is ready', 'app', concord_test.id('f'), 'rt-note-1')::text
    || '|' || (SELECT count(*) FROM concord.notifications WHERE idempotency_key = 'rt-note-1'),
    concord_test.id('note')::text || '|1',
    'store_notification is idempotent by key: the same id, one row'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.store_notification('ann', 'Done', 'Something else', 'app', %L, 'rt-note-1')$$,
           concord_test.id('f')),
    'CN002', 'a_notification_idempotency_key_names_one_notification',
    'CN002: the same key for a different notification'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.store_notification('ann', 'Done', 'x', 'sms')$$,
    'CN008', 'notification_channel_is_app_or_email',
    'CN008: an unknown channel'
);

SELECT concord_test.throws_rule(
    $$SELECT concord.store_notification('ann', 'Done', 'x', 'app', gen_random_uuid())$$,
    'CN006', 'the_command_exists',
    'CN006: a notification about an unknown command'
);

SELECT lives_ok(
    format($$UPDATE concord.notifications SET read_at = now() WHERE notification_id = %L$$, concord_test.id('note')),
    'a notification is marked read'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.notifications SET read_at = now() + interval '1 hour' WHERE notification_id = %L$$,
           concord_test.id('note')),
    'CN007', 'only_read_at_changes_and_only_once',
    'CN007: read_at is set once'
);

SELECT concord_test.throws_rule(
    format($$UPDATE concord.notifications SET body = 'rewritten' WHERE notification_id = %L$$, concord_test.id('note')),
    'CN007', 'only_read_at_changes_and_only_once',
    'CN007: a notification''s content never changes'
);

SELECT concord_test.throws_rule(
    format($$DELETE FROM concord.notifications WHERE notification_id = %L$$, concord_test.id('note')),
    'CN007', 'notifications_are_not_deleted',
    'CN007: notifications are kept'
);

SELECT * FROM finish();
ROLLBACK;
