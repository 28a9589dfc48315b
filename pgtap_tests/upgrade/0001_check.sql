-- After `concord migrate` on a database that held only the user's data (0001_fixture.sql).
BEGIN;
SELECT plan(5);

SELECT tables_are(
    'public', ARRAY['customer_notes'],
    'installing Concord adds no table to the user''s schema public'
);
SELECT columns_are(
    'public', 'customer_notes', ARRAY['id', 'customer', 'note', 'written_at'],
    'the user''s table keeps its columns'
);
SELECT results_eq(
    $$SELECT id, customer, note, written_at FROM public.customer_notes ORDER BY id$$,
    $$VALUES
        (1, 'ACME'::text, 'prefers email'::text, '2024-01-02 10:00:00+00'::timestamptz),
        (2, 'Globex', 'invoice sent twice; refund pending', '2024-02-03 11:30:00+00'),
        (3, 'Initech', 'ünïcødé survives; so do ''quotes''', '2024-03-04 12:45:00+00')$$,
    'the user''s rows are untouched'
);
SELECT has_schema('concord', 'Concord is installed beside the user''s data');
SELECT ok(
    EXISTS (SELECT FROM concord.schema_migrations WHERE version = 1),
    'concord.schema_migrations lists version 1'
);

SELECT * FROM finish();
ROLLBACK;
