-- An approval needs its type's required fields (spec 81.2): without them the
-- command waits for input first and the review packet shows them after.
BEGIN;
SELECT plan(4);

DO $$ BEGIN
    PERFORM concord_test.approval_fixtures();
END $$;

-- ===========================================================================
-- Spec 81.2: an approval needs its required fields; else input first
-- ===========================================================================
SELECT is(concord_test.submit('fields', 't_fields', '{"hotel_name": "Ritz"}'), 'waiting_for_input',
          'an approval whose required fields are missing turns into waiting_for_input');

SELECT row_eq(
    $$SELECT policy_evaluation ->> 'decision', policy_evaluation -> 'missing_fields',
             (SELECT count(*) FROM concord.approvals WHERE command_id = concord_test.id('fields'))
      FROM concord_test.command('fields')$$,
    ROW('require_input'::text, '["total_price"]'::jsonb, 0::bigint),
    'the evaluation is require_input with the approval type''s missing field, and no approval is opened'
);

SELECT is(
    concord.provide_input(concord_test.id('fields'), '{"total_price": 900}', 'req') ->> 'status',
    'waiting_for_approval',
    'once the fields are provided the approval is opened'
);

SELECT is((concord_test.approval('fields')).review_packet -> 'fields', '{"hotel_name": "Ritz", "total_price": 900}'::jsonb,
          'the review packet shows the approval type''s required fields and their values');

SELECT * FROM finish();
ROLLBACK;
