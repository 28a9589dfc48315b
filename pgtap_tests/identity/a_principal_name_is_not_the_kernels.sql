-- The kernel names its own actors agent:<run id>, schedule:<name>,
-- worker:<executor>, workflow:<id>, kernel:<command id> and concord:<job>
-- (spec 45: every "who" is a principal or the kernel). No principal may be
-- registered under such a name, in any spelling, by an organisation's admin,
-- a superuser's create_principal or the table owner's INSERT: a user named
-- agent:<run id> would submit commands that count as that agent's children
-- and would read, in every audit row, as the agent.
BEGIN;
SELECT plan(11);

\ir ../lib/identity_fixtures.sql

DO $$ BEGIN
    PERFORM concord.add_member('iso-a', 'iso-a-admin', 'admin');
    PERFORM pg_temp.make_login('a_admin', ARRAY['concord_admin'], 'iso-a-admin');
    PERFORM concord.register_command_type('{"command_type": "kn_t", "sync_allowed": true}');
END $$;

SELECT concord.use_project('iso-a/main') AS fixture \gset
SELECT command_id AS cmd FROM concord.submit_command('kn_t', '{}', 'iso-a-alice') \gset
SELECT concord.start_swarm(:'cmd', '{"name": "kn", "objective": "o",
    "coordinator": {"agent_name": "c", "allowed_tools": []}}') AS swarm \gset
SELECT coordinator_agent_run_id AS run FROM concord.swarm_runs WHERE swarm_run_id = :'swarm' \gset
RESET concord.project;

SELECT is(pg_temp.as_login('a_admin', format($$SELECT concord.create_principal(%L)$$, 'agent:' || :'run')),
          pg_temp.refused('CN008', 'a_principal_name_is_not_the_kernels'),
          'an organisation admin cannot register a principal named after a live agent run');
SELECT is(pg_temp.as_login('a_admin', format($$SELECT concord.create_principal(%L, 'service')$$,
                                             'AGENT:' || upper(:'run'))),
          pg_temp.refused('CN008', 'a_principal_name_is_not_the_kernels'),
          '... in capitals either (the name is folded first)');
SELECT is(pg_temp.as_login('a_admin', format($$SELECT concord.create_principal(%L)$$, name)),
          pg_temp.refused('CN008', 'a_principal_name_is_not_the_kernels'),
          format('an organisation admin cannot register %s', name))
FROM unnest(ARRAY['schedule:nightly', 'worker:w1', 'workflow:abc', 'kernel:x', 'concord:expire_approvals',
                  'concord']) AS name;
SELECT concord_test.throws_rule(format($$SELECT concord.create_principal(%L)$$, 'agent:' || :'run'),
    'CN008', 'a_principal_name_is_not_the_kernels', 'nor can a superuser through create_principal');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.principals (name, kind, created_by) VALUES ('schedule:board_pack', 'user', 'test')$$,
    'CN008', 'a_principal_name_is_not_the_kernels', 'nor the table owner''s INSERT');
SELECT is(pg_temp.as_login('a_admin', $$SELECT concord.create_principal('agentsmith:1')$$), 'ok',
          'a name that only starts like one (agentsmith:1) is a name like any other');

SELECT * FROM finish();
ROLLBACK;
