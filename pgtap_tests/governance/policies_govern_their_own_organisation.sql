-- A policy belongs to every organisation (shared, kept by the operators) or
-- to one organisation, or one project of it, whose admins keep it (migration
-- 0006, spec 21, 46). An organisation's policy attaches itself to a shared
-- command type (command_types) and governs that organisation's commands of it,
-- never another's; named in a shared type's policy_checks it lets another
-- organisation's commands through, saying why. Nobody but its organisation's
-- admins changes it (nor a shared policy, nor a built-in), its project is one
-- of its organisation's whoever writes, a raw rewrite of its scope shows in
-- its checksum and audit, and its audit is read only by those it governs.
BEGIN;
SELECT plan(53);

\ir ../lib/identity_fixtures.sql

DO $$ BEGIN
    PERFORM concord.create_project('iso-a', 'side');
    PERFORM concord.create_principal('iso-a-owner');
    PERFORM concord.add_member('iso-a', 'iso-a-owner', 'owner');
    PERFORM concord.add_member('iso-a', 'iso-a-admin', 'admin');
    PERFORM concord.create_principal('iso-b-owner');
    PERFORM concord.add_member('iso-b', 'iso-b-owner', 'owner');
    -- an admin of both organisations
    PERFORM concord.create_principal('both-admin');
    PERFORM concord.add_member('iso-a', 'both-admin', 'admin');
    PERFORM concord.add_member('iso-b', 'both-admin', 'admin');
    PERFORM pg_temp.make_login('a_owner', ARRAY['concord_admin'], 'iso-a-owner');
    PERFORM pg_temp.make_login('a_admin', ARRAY['concord_admin'], 'iso-a-admin');
    PERFORM pg_temp.make_login('a_member', ARRAY['concord_admin'], 'iso-a-app');
    PERFORM pg_temp.make_login('b_owner', ARRAY['concord_admin'], 'iso-b-owner');
    PERFORM pg_temp.make_login('both', ARRAY['concord_admin'], 'both-admin');
    PERFORM pg_temp.make_login('alice', ARRAY['concord_app'], 'iso-a-alice');
    PERFORM pg_temp.make_login('bob', ARRAY['concord_app'], 'iso-b-bob');
    -- the shared catalog, kept by this superuser session (an operator)
    PERFORM concord.register_command_type('{"command_type": "t_shared", "async_required": true}');
    PERFORM concord.register_command_type('{"command_type": "t_plain", "async_required": true}');
    PERFORM concord.register_command_type('{"command_type": "t_sync", "sync_allowed": true}');
    PERFORM concord.register_policy(
        '{"name": "shared_rule", "predicate": "$.payload.forbidden == true", "decision": "deny",
          "reasons": ["forbidden everywhere"]}');
END $$;

-- Submit a command of command_type in project (as this superuser session, for
-- requester), remember it as label, return its status.
CREATE FUNCTION pg_temp.submit_in(
    project text, label text, command_type text, payload jsonb, requester text
)
RETURNS text
LANGUAGE plpgsql
AS $$
BEGIN
    PERFORM concord.use_project(project);
    RETURN concord_test.submit(label, command_type, payload, requester);
END
$$;

-- The policy decisions recorded for the command remembered as label, as
-- policy:decision, in order.
CREATE FUNCTION pg_temp.decisions(label text)
RETURNS text []
LANGUAGE sql
AS $$
    SELECT coalesce(array_agg(d.policy || ':' || d.decision ORDER BY d.decision_id), '{}')
    FROM concord.policy_decisions AS d WHERE d.command_id = concord_test.id(label)
$$;

-- ===========================================================================
-- An organisation admin registers its organisation's policies
-- ===========================================================================
SELECT is(pg_temp.value_as_login('a_owner', $$
    SELECT concord.use_project('iso-a/main') || ' ' || concord.register_policy(
        '{"name": "a_cap", "predicate": "$.payload.total > 100", "decision": "deny",
          "reasons": ["above iso-a''s cap"], "command_types": ["t_shared"]}')$$),
    'iso-a/main a_cap', 'an owner registers a policy, by default in the chosen project''s organisation');
SELECT is(pg_temp.value_as_login('a_admin', $$
    SELECT concord.register_policy(
        '{"name": "a_flag", "predicate": "$.payload.flag == true", "decision": "deny",
          "reasons": ["flagged in iso-a"], "organisation": "iso-a", "command_types": ["t_shared", "t_sync"]}')$$),
    'a_flag', 'an admin registers one for an organisation it names (no project chosen)');
SELECT is(pg_temp.value_as_login('a_owner', $$
    SELECT concord.register_policy(
        '{"name": "a_side_cap", "predicate": "$.payload.total > 10", "decision": "deny",
          "reasons": ["above side''s cap"], "project": "iso-a/side", "command_types": ["t_shared"]}')$$),
    'a_side_cap', 'and one for a project of it');
SELECT results_eq(
    $$SELECT p.name, o.name, x.name, p.command_types FROM concord.policies AS p
      LEFT JOIN concord.organisations AS o ON o.org_id = p.org_id
      LEFT JOIN concord.projects AS x ON x.project_id = p.project_id
      WHERE p.name IN ('a_cap', 'a_flag', 'a_side_cap', 'shared_rule') ORDER BY p.name$$,
    $$VALUES ('a_cap', 'iso-a', NULL, '{t_shared}'::text []), ('a_flag', 'iso-a', NULL, '{t_shared,t_sync}'),
             ('a_side_cap', 'iso-a', 'side', '{t_shared}'), ('shared_rule', NULL, NULL, '{}')$$,
    'each belongs where it was registered; the operator''s is shared');
SELECT is(pg_temp.value_as_login('a_owner', $$
    SELECT concord.register_policy(
        '{"name": "a_cap", "predicate": "$.payload.total > 100", "decision": "deny",
          "reasons": ["above iso-a''s cap"], "organisation": "iso-a", "command_types": ["t_shared"]}')$$),
    'a_cap', 'its owner registers it again, naming its organisation');
SELECT is((SELECT version FROM concord.policies WHERE name = 'a_cap'), 1,
          'registering the same policy in the same place again changes nothing');

-- ===========================================================================
-- It governs its organisation's commands, not another's
-- ===========================================================================
SELECT is(pg_temp.submit_in('iso-a/main', 'a_big', 't_shared', '{"total": 500}', 'iso-a-alice'), 'failed',
          'iso-a''s policy, attached to a shared type, denies iso-a''s command');
SELECT is(pg_temp.decisions('a_big'), ARRAY['a_cap:deny', 'a_flag:allow'],
          '... and its decisions are recorded (the project''s policy of another project is not among them)');
SELECT is(pg_temp.submit_in('iso-a/main', 'a_small', 't_shared', '{"total": 50}', 'iso-a-alice'), 'queued',
          'a command iso-a''s policies allow is queued');
SELECT is(pg_temp.decisions('a_small'), ARRAY['a_cap:allow', 'a_flag:allow'], '... with its allowing decisions');
SELECT is(pg_temp.submit_in('iso-a/side', 'side_mid', 't_shared', '{"total": 50}', 'iso-a-alice'), 'failed',
          'a project''s policy governs that project''s commands');
SELECT is(pg_temp.decisions('side_mid'), ARRAY['a_cap:allow', 'a_flag:allow', 'a_side_cap:deny'],
          '... together with its organisation''s');
SELECT is(pg_temp.submit_in('iso-a/side', 'side_small', 't_shared', '{"total": 5}', 'iso-a-alice'), 'queued',
          '... and lets through what it allows');
SELECT is(pg_temp.submit_in('iso-b/main', 'b_big', 't_shared', '{"total": 500, "flag": true}', 'iso-b-bob'),
          'queued', 'iso-a''s policies do not govern iso-b''s commands of the same type');
SELECT is(pg_temp.decisions('b_big'), '{}'::text [], '... nothing judged them');
SELECT is((concord_test.command('b_big')).policy_evaluation, NULL, '... no evaluation recorded');
SELECT is(pg_temp.submit_in('iso-a/main', 'a_plain', 't_plain', '{"total": 500}', 'iso-a-alice'), 'queued',
          'nor iso-a''s commands of a type they do not attach to');
SELECT is(pg_temp.value_as_login('alice', $$
    SELECT concord.use_project('iso-a/main') || ' ' || s.status
    FROM concord.submit_command('t_shared', '{"total": 500}', 'iso-a-alice') AS s$$),
    'iso-a/main failed', 'a member''s own submission is denied by them too');

-- A changed payload is judged again by the attached policies before it moves
-- on (the table owner swaps it through waiting_for_input).
SELECT is(pg_temp.submit_in('iso-a/main', 'a_later', 't_sync', '{"flag": false}', 'iso-a-alice'), 'validated',
          'a command the attached policy allowed');
UPDATE concord.commands SET status = 'waiting_for_input' WHERE command_id = concord_test.id('a_later');
UPDATE concord.commands SET payload = '{"flag": true}', status = 'validated'
WHERE command_id = concord_test.id('a_later');
SELECT concord_test.throws_rule(
    format($$UPDATE concord.commands SET status = 'queued' WHERE command_id = %L$$, concord_test.id('a_later')),
    'CN001', 'a_command_runs_only_the_payload_its_policies_allowed',
    '... does not run once its payload changed behind the attached policy''s back');

-- ===========================================================================
-- Named in a shared type's policy_checks, it lets other organisations through
-- ===========================================================================
SELECT lives_ok(
    $$SELECT concord.register_command_type(
        '{"command_type": "t_named", "async_required": true, "policy_checks": ["a_cap", "shared_rule"]}')$$,
    'an operator names iso-a''s policy and a shared one in a shared type');
SELECT is(pg_temp.submit_in('iso-b/main', 'b_named', 't_named', '{"total": 500}', 'iso-b-bob'), 'queued',
          'iso-b''s command passes iso-a''s policy');
SELECT is(
    (SELECT d.decision || ': ' || (d.reasons ->> 0) FROM concord.policy_decisions AS d
     WHERE d.command_id = concord_test.id('b_named') AND d.policy = 'a_cap'),
    'allow: the policy governs another organisation or project',
    '... recorded as an allow that says why');
SELECT is(pg_temp.submit_in('iso-b/main', 'b_forbidden', 't_named', '{"forbidden": true}', 'iso-b-bob'),
          'failed', '... while the shared policy still governs it');
SELECT is(pg_temp.submit_in('iso-a/main', 'a_named', 't_named', '{"total": 500}', 'iso-a-alice'), 'failed',
          'iso-a''s command of that type is denied by it');

-- ===========================================================================
-- Who may change it
-- ===========================================================================
SELECT is(pg_temp.as_login('b_owner', $$
    SELECT concord.use_project('iso-b/main'), concord.register_policy(
        '{"name": "a_cap", "predicate": "$.payload.total > 1000000", "decision": "deny"}')$$),
    pg_temp.refused('CN012', 'a_policy_is_changed_by_its_organisation'),
    'another organisation''s owner cannot change it (nor take it over into its own organisation)');
SELECT is(pg_temp.as_login('b_owner', $$
    SELECT concord.register_policy(
        '{"name": "a_cap", "predicate": "$.payload.total > 1000000", "decision": "deny", "organisation": "iso-a"}')$$),
    pg_temp.refused('CN006', 'the_organisation_exists'), '... nor name its organisation, which it cannot see');
SELECT is(pg_temp.as_login('both', $$
    SELECT concord.register_policy(
        '{"name": "a_cap", "predicate": "$.payload.total > 100", "decision": "deny", "organisation": "iso-b"}')$$),
    pg_temp.refused('CN012', 'a_policy_is_changed_by_its_organisation'),
    'an admin of both organisations cannot move it from one to the other');
SELECT is(pg_temp.as_login('b_owner', $$
    SELECT concord.use_project('iso-b/main'), concord.register_policy(
        '{"name": "shared_rule", "predicate": "$.payload.forbidden == true", "decision": "deny",
          "reasons": ["never mind"]}')$$),
    pg_temp.refused('CN012', 'a_policy_is_changed_by_its_organisation'),
    'an organisation''s owner cannot change a shared policy');
SELECT is(pg_temp.as_login('b_owner', $$
    SELECT concord.use_project('iso-b/main'), concord.register_policy(
        '{"name": "risk", "config": {"levels": ["critical"]}}')$$),
    pg_temp.refused('CN012', 'a_shared_catalog_is_changed_by_an_operator'), 'nor a built-in');
SELECT is(pg_temp.as_login('a_member', $$
    SELECT concord.use_project('iso-a/main'), concord.register_policy(
        '{"name": "a_mine", "predicate": "true", "decision": "deny"}')$$),
    pg_temp.refused('CN012', 'the_directory_is_changed_by_an_organisation_admin'),
    'a member of the organisation (holding concord_admin) does not register its policies');
SELECT is(pg_temp.as_login('bob', $$SELECT concord.register_policy('{"name": "b_x", "predicate": "true",
                                                                     "decision": "deny"}')$$),
          '42501', 'an application login may not register a policy at all');
SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "a_cap", "predicate": "true", "decision": "deny"}')$$,
    'CN012', 'a_policy_is_changed_by_its_organisation',
    'a shared registration (an operator''s, naming no organisation) does not take an organisation''s policy over');
SELECT is(concord.register_policy(
    '{"name": "a_flag", "predicate": "$.payload.flag == true", "decision": "deny", "reasons": ["flagged, says ops"],
      "organisation": "iso-a", "command_types": ["t_shared", "t_sync"]}'), 'a_flag',
    'an operator naming its organisation changes it there');

-- A project of another organisation
SELECT is(pg_temp.as_login('b_owner', $$
    SELECT concord.register_policy('{"name": "b_p", "predicate": "true", "decision": "deny",
                                     "project": "iso-a/main"}')$$),
    pg_temp.refused('CN006', 'the_project_exists'), 'a project of another organisation does not exist for it');
SELECT is(pg_temp.as_login('both', $$
    SELECT concord.register_policy('{"name": "b_p", "predicate": "true", "decision": "deny",
                                     "organisation": "iso-b", "project": "iso-a/main"}')$$),
    pg_temp.refused('CN008', 'a_policy_project_is_in_its_organisation'),
    'a project that is not the named organisation''s is refused');
SELECT concord_test.throws_rule(
    $$UPDATE concord.policies SET project_id = (
        SELECT x.project_id FROM concord.projects AS x JOIN concord.organisations AS o USING (org_id)
        WHERE o.name = 'iso-b' AND x.name = 'main') WHERE name = 'a_side_cap'$$,
    'CN008', 'a_policy_project_is_in_its_organisation',
    'the table owner cannot give a policy a project of another organisation');
SELECT concord_test.throws_rule(
    $$UPDATE concord.policies SET org_id = NULL WHERE name = 'a_side_cap'$$,
    'CN008', 'a_policy_project_is_in_its_organisation', 'nor a project without its organisation');
-- (behind the trigger, a CHECK: attacked with the triggers off)
SET LOCAL session_replication_role = replica;
SELECT concord_test.throws_rule(
    $$UPDATE concord.policies SET org_id = NULL WHERE name = 'a_side_cap'$$,
    '23514', 'a_project_policy_names_its_organisation', 'the table itself refuses a project without its organisation');
SET LOCAL session_replication_role = origin;

-- ===========================================================================
-- Its audit: a raw rewrite of its scope shows; read by those it governs
-- ===========================================================================
CREATE TEMP TABLE before_change AS SELECT version, checksum, org_id FROM concord.policies WHERE name = 'a_cap';
-- only the projection writes a catalog row
-- (a_catalog_row_is_the_projection_of_its_bound_version): a rewrite that
-- forges its marker still shows in the audit
-- past the projection's guard, as a migration would be
ALTER TABLE concord.policies DISABLE TRIGGER policies_written_only_by_projection;
UPDATE concord.policies
SET org_id = (SELECT org_id FROM concord.organisations WHERE name = 'iso-b'), command_types = '{t_shared,t_plain}'
WHERE name = 'a_cap';
ALTER TABLE concord.policies ENABLE TRIGGER policies_written_only_by_projection;
SELECT row_eq(
    $$SELECT p.version = b.version + 1, p.checksum <> b.checksum, p.checksum = md5(p.spec::text)
      FROM concord.policies AS p, before_change AS b WHERE p.name = 'a_cap'$$,
    ROW(true, true, true), 'a raw UPDATE of its organisation and command types gives a new version and checksum');
SELECT is(
    (SELECT e.payload -> 'changed' FROM concord.domain_events AS e
     WHERE e.event_type = 'policy_registered' AND e.target_id = 'a_cap' ORDER BY e.event_seq DESC LIMIT 1),
    jsonb_build_object(
        'org_id', jsonb_build_object('old', (SELECT org_id FROM before_change),
                                     'new', (SELECT org_id FROM concord.organisations WHERE name = 'iso-b')),
        'command_types', '{"old": ["t_shared"], "new": ["t_shared", "t_plain"]}'::jsonb),
    'its audit row shows the change, old and new');
SELECT is(pg_temp.submit_in('iso-b/main', 'b_now', 't_plain', '{"total": 500}', 'iso-b-bob'), 'failed',
          'the moved policy now governs its new organisation''s commands');
SELECT is(pg_temp.submit_in('iso-a/main', 'a_now', 't_shared', '{"total": 500}', 'iso-a-alice'), 'queued',
          '... and no longer its old one''s');
-- past the projection's guard, as a migration would be
ALTER TABLE concord.policies DISABLE TRIGGER policies_written_only_by_projection;
UPDATE concord.policies SET org_id = (SELECT org_id FROM before_change), command_types = '{t_shared}'
WHERE name = 'a_cap';
ALTER TABLE concord.policies ENABLE TRIGGER policies_written_only_by_projection;

-- What the login labelled label reads of the audit of policy name.
CREATE FUNCTION pg_temp.policy_audit_as(label text, name text)
RETURNS text
LANGUAGE sql
AS $$
    SELECT pg_temp.value_as_login(label, format(
        $q$SELECT count(*) FROM concord.command_audit WHERE target_type = 'policy' AND target_id = %L$q$, name))
$$;

SELECT isnt(pg_temp.policy_audit_as('alice', 'a_cap'), '0', 'a member of iso-a reads its policy''s audit');
SELECT is(pg_temp.policy_audit_as('bob', 'a_cap'), '0', 'a member of iso-b does not');
SELECT is(pg_temp.policy_audit_as('bob', 'a_side_cap'), '0', '... nor that of a project policy of iso-a');
SELECT isnt(pg_temp.policy_audit_as('bob', 'shared_rule'), '0', 'both read a shared policy''s audit');

-- ===========================================================================
-- Validation
-- ===========================================================================
SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "v1", "predicate": "true", "decision": "deny",
                                       "command_types": ["t_shared", "no_such_type"], "organisation": 42}')$$,
    'CN005', 'policy_spec_is_valid', 'a spec naming an unregistered type or a non-string organisation is invalid');
SELECT is(concord_test.error_detail(
    $$SELECT concord.register_policy('{"name": "v1", "predicate": "true", "decision": "deny",
                                       "command_types": ["t_shared", "no_such_type"], "organisation": 42}')$$),
    E'- command_types names unregistered command types: no_such_type\n- organisation must name one (a string), not 42',
    '... listing every problem');
SELECT is(concord_test.error_detail(
    $$SELECT concord.register_policy('{"name": "v2", "predicate": "true", "decision": "deny",
                                       "command_types": "t_shared", "project": ""}')$$),
    E'- command_types must be an array of distinct command type names\n- project must name one (a string), not ""',
    'command_types that is no list, and a blank project, are named');
SELECT is(concord_test.error_detail(
    $$SELECT concord.register_policy('{"name": "risk", "organisation": "iso-a", "command_types": ["t_shared"]}')$$),
    E'- unknown field command_types for a builtin policy (known fields: name, description, config, kind)\n'
    '- unknown field organisation for a builtin policy (known fields: name, description, config, kind)',
    'a built-in policy takes no organisation and no command types');
SELECT concord_test.throws_rule(
    $$UPDATE concord.policies SET org_id = (SELECT org_id FROM concord.organisations WHERE name = 'iso-a')
      WHERE name = 'risk'$$,
    'CN008', 'a_built_in_policy_is_shared', 'the table owner cannot give a built-in an organisation');
SELECT concord_test.throws_rule(
    $$UPDATE concord.policies SET command_types = '{t_shared}' WHERE name = 'risk'$$,
    'CN008', 'a_built_in_policy_is_shared', 'nor attach it to a command type');

SELECT * FROM finish();
ROLLBACK;
