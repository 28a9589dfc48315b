-- Before migration 0001 the database has no Concord at all, only the user's own data:
-- installing Concord must leave it untouched.
CREATE TABLE public.customer_notes (
    id integer PRIMARY KEY,
    customer text NOT NULL,
    note text NOT NULL,
    written_at timestamptz NOT NULL
);

INSERT INTO public.customer_notes (id, customer, note, written_at) VALUES
(1, 'ACME', 'prefers email', '2024-01-02 10:00:00+00'),
(2, 'Globex', 'invoice sent twice; refund pending', '2024-02-03 11:30:00+00'),
(3, 'Initech', 'ünïcødé survives; so do ''quotes''', '2024-03-04 12:45:00+00');
