-- external_sharing sees through case, spaces, tabs, no-break and zero-width
-- spaces, soft hyphens, fullwidth @, object keys and nesting (spec 21).
BEGIN;
SELECT plan(11);

-- ===========================================================================
-- external_sharing sees through case, spaces and nesting
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "h_share", "async_required": true, "policy_checks": ["external_sharing"]}');
    PERFORM concord.add_team_member('team:data_owners', 'dora');
END $$;
SELECT is(concord_test.submit('s1', 'h_share', '{"destination": "EXTERNAL:partner"}'), 'waiting_for_approval',
          'external: in capitals is external');
SELECT is(concord_test.submit('s2', 'h_share', '{"destination": "  external:partner"}'), 'waiting_for_approval',
          'external: after spaces is external');
SELECT is(concord_test.submit('s3', 'h_share', '{"destination": {"email": "x@y.com"}}'), 'waiting_for_approval',
          'an address inside an object is found');
SELECT is(concord_test.submit('s4', 'h_share', '{"destination": [["x@y.com"]]}'), 'waiting_for_approval',
          'an address in a nested list is found');
SELECT is(concord_test.submit('s5', 'h_share', '{"destination": ["internal", {"to": "reports"}]}'), 'queued',
          'internal destinations, however nested, are allowed');

SELECT is(concord_test.submit('s6', 'h_share', jsonb_build_object('destination', E'\texternal:partner')),
          'waiting_for_approval', 'external: after a tab is external');
SELECT is(concord_test.submit('s7', 'h_share', jsonb_build_object('destination', E'\u00a0external:partner')),
          'waiting_for_approval', 'external: after a no-break space is external');
SELECT is(concord_test.submit('s8', 'h_share', jsonb_build_object('destination', E'bob\uff20evil.com')),
          'waiting_for_approval', 'a fullwidth @ is an @');
SELECT is(concord_test.submit('s9', 'h_share', '{"destination": {"bob@evil.com": true}}'),
          'waiting_for_approval', 'an address as an object key is found');

SELECT is(concord_test.submit('zw', 'h_share', jsonb_build_object('destination', E'\u200bexternal:partner')),
          'waiting_for_approval', 'a zero-width space before external: hides nothing');
SELECT is(concord_test.submit('zw2', 'h_share', jsonb_build_object('destination', E'ext\u00adernal:partner')),
          'waiting_for_approval', 'nor a soft hyphen inside it');

SELECT * FROM finish();
ROLLBACK;
