-- The permission policy allows a requester holding a grant of the command
-- type, directly or through a team (spec 21); grants, revokes and team
-- membership are idempotent, audited once, and refused for an unknown type or
-- a blank principal.
BEGIN;
SELECT plan(18);

-- ===========================================================================
-- Built-in: permission, grants and teams
-- ===========================================================================
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "t_perm", "policy_checks": ["permission"]}');
END $$;

SELECT is(concord_test.submit('perm_none', 't_perm', '{}', 'bob'), 'failed',
          'permission: no grant -> failed');

SELECT row_eq(
    $$SELECT error_class, error LIKE '%bob holds no grant%', policy_evaluation ->> 'decision'
      FROM concord_test.command('perm_none')$$,
    ROW('policy_denied'::text, true, 'deny'::text),
    'permission: the denial has error_class policy_denied and the reason as error'
);

SELECT is(concord.grant_command_type('t_perm', 'bob'), true, 'grant_command_type returns true when it grants');
SELECT is(concord.grant_command_type('t_perm', 'bob'), false, 'grant_command_type again returns false (idempotent)');

SELECT is(concord_test.submit('perm_direct', 't_perm', '{}', 'bob'), 'queued',
          'permission: a direct grant -> allow (queued)');

SELECT is(concord.add_team_member('team:perm', 'carol'), true, 'add_team_member returns true when it adds');
SELECT is(concord.add_team_member('team:perm', 'carol'), false, 'add_team_member again returns false');
SELECT is(concord.grant_command_type('t_perm', 'team:perm'), true, 'a team can be granted a command type');

SELECT is(concord_test.submit('perm_team', 't_perm', '{}', 'carol'), 'queued',
          'permission: a grant to a team the requester belongs to -> allow');

SELECT is(concord.revoke_command_type('t_perm', 'team:perm'), true, 'revoke_command_type returns true when it revokes');
SELECT is(concord.revoke_command_type('t_perm', 'team:perm'), false, 'revoke_command_type again returns false');

SELECT is(concord_test.submit('perm_revoked', 't_perm', '{}', 'carol'), 'failed',
          'permission: after the revoke the team member is denied again');

SELECT is(concord.remove_team_member('team:perm', 'carol'), true, 'remove_team_member returns true when it removes');
SELECT is(concord.remove_team_member('team:perm', 'carol'), false, 'remove_team_member again returns false');

SELECT is(
    (SELECT array_agg(event_type || ':' || (payload ->> 'principal') ORDER BY event_seq)
     FROM concord.domain_events WHERE target_type = 'command_type' AND target_id = 't_perm'
       AND event_type IN ('command_type_granted', 'command_type_revoked')),
    ARRAY['command_type_granted:bob', 'command_type_granted:team:perm', 'command_type_revoked:team:perm'],
    'grants and revokes are audited once each (not the no-op repeats)'
);

SELECT concord_test.throws_rule($$SELECT concord.grant_command_type('t_no_such_type', 'bob')$$, 'CN009', 'command_type_is_registered',
                 'CN009: grant_command_type of an unknown command type');
SELECT concord_test.throws_rule($$SELECT concord.revoke_command_type('t_no_such_type', 'bob')$$, 'CN009', 'command_type_is_registered',
                 'CN009: revoke_command_type of an unknown command type');
SELECT concord_test.throws_rule($$SELECT concord.grant_command_type('t_perm', ' ')$$, 'CN008', 'required_argument_is_not_blank',
                 'CN008: grant_command_type to a blank principal');

SELECT * FROM finish();
ROLLBACK;
