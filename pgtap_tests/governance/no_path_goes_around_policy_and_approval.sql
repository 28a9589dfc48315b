-- Governance holds on every path (spec 21, 22): no path around policy and
-- approval (a retry included); predicates and approver paths that
-- cannot work are refused at registration; external sharing sees through
-- case, spaces and nesting; a team is not a person; approvals are opened only
-- for the evaluation that asked for them; plans follow the latest evaluation;
-- an executable policy's decisions name the code that made them.
BEGIN;
SELECT plan(85);

DO $$ BEGIN
    PERFORM concord.add_team_member('team:fin', 'ann');
    PERFORM concord.add_team_member('team:fin', 'req');
    PERFORM concord.register_approval_type('{"name": "h_team", "approver": {"team": "team:fin"}}');
    PERFORM concord.register_policy(
        '{"name": "h_big", "predicate": "$.payload.price > $limit", "vars": {"limit": 500},
          "decision": "require_approval", "approval_type": "h_team"}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_book", "async_required": true, "policy_checks": ["h_big"],
          "required_inputs": ["price"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_input", "async_required": true, "policy_checks": ["required_inputs"],
          "required_inputs": ["price"]}');
END $$;

-- ===========================================================================
-- No way around policy or approval through a failure and a retry
-- ===========================================================================
SELECT is(concord_test.submit('gated', 'h_book', '{"price": 900}'), 'waiting_for_approval', 'fixture: gated');
SELECT lives_ok(
    format($$SELECT concord.transition_command(%L, 'failed', 'mallory', null, null, 'x', 'timeout')$$,
           concord_test.id('gated')),
    'a command waiting for approval can fail (retryable class)'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', 'mallory')$$, concord_test.id('gated')),
    'CN001', 'a_governed_command_moves_on_only_when_its_policies_allow',
    'but its retry is refused: its approval was never granted'
);
SELECT is(concord_test.submit('waits', 'h_input', '{}'), 'waiting_for_input', 'fixture: waiting for input');
SELECT lives_ok(
    format($$SELECT concord.transition_command(%L, 'validated', 'mallory');
             SELECT concord.transition_command(%L, 'failed', 'mallory', null, null, 'x')$$,
           concord_test.id('waits'), concord_test.id('waits')),
    'a command waiting for input can be moved to validated and fail without a class'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'queued', 'mallory')$$, concord_test.id('waits')),
    'CN001', 'a_governed_command_moves_on_only_when_its_policies_allow',
    'and its retry is refused: its policies asked for input'
);
SELECT is(concord_test.submit('allowed', 'h_book', '{"price": 10}'), 'queued', 'fixture: allowed');
SELECT lives_ok(
    format($$SELECT concord.transition_command(%L, 'running', 'w');
             SELECT concord.transition_command(%L, 'failed', 'w', null, null, 'x', 'timeout');
             SELECT concord.transition_command(%L, 'queued', 'w')$$,
           concord_test.id('allowed'), concord_test.id('allowed'), concord_test.id('allowed')),
    'an allowed command that failed with a retryable class is retried'
);
SELECT is(concord_test.submit('approved', 'h_book', '{"price": 900}'), 'waiting_for_approval', 'fixture: to approve');
SELECT is(
    concord.resolve_approval(concord_test.approval_id('approved'), 'approved', 'ann') ->> 'command_status', 'queued',
    'an approved command is queued'
);
SELECT lives_ok(
    format($$SELECT concord.transition_command(%L, 'running', 'w');
             SELECT concord.transition_command(%L, 'failed', 'w', null, null, 'x', 'rate_limited');
             SELECT concord.transition_command(%L, 'queued', 'w')$$,
           concord_test.id('approved'), concord_test.id('approved'), concord_test.id('approved')),
    'and retried after a retryable failure: its approvals stand'
);
SELECT is(concord_test.submit('manual', 'h_input', '{"price": 3}', 'req'), 'queued', 'fixture: allowed, input type');
SELECT is(concord_test.submit('manual2', 'h_book', '{"price": 10}'), 'queued', 'fixture');
UPDATE concord.command_types SET async_required = false, sync_allowed = true WHERE command_type = 'h_input';
SELECT is(concord_test.submit('sync', 'h_input', '{"price": 3}'), 'validated', 'fixture: a validated governed command');
SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'waiting_for_approval', 'mallory')$$, concord_test.id('sync')),
    'CN001', 'a_command_waits_for_approval_only_while_one_is_pending',
    'a governed command waits for approval only when its policies asked for one'
);

-- ===========================================================================
-- A team is not a person
-- ===========================================================================
SELECT is(concord_test.submit('team', 'h_book', '{"price": 900}', 'req'), 'waiting_for_approval', 'fixture');
SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'team:fin')$$, concord_test.approval_id('team')),
    'CN012', 'the_approver_is_eligible',
    'the approving team''s own name may not decide: only its members'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'req')$$, concord_test.approval_id('team')),
    'CN012', 'approver_is_not_the_requester',
    'a member who requested the command may not decide either'
);

-- ===========================================================================
-- Approvals answer the latest evaluation
-- ===========================================================================
SELECT concord_test.throws_rule(
    format($$INSERT INTO concord.approvals (command_id, evaluation_id, approval_type, requested_by, approver,
                                            eligible_approvers, expires_at)
             VALUES (%L, gen_random_uuid(), 'h_team', 'req', 'ann', '{ann}', now() + interval '1 day')$$,
           concord_test.id('team')),
    'CN011', 'an_approval_answers_the_latest_evaluation',
    'an approval no evaluation asked for cannot be inserted, even by the owner'
);

-- ===========================================================================
-- Registration refuses what could never work
-- ===========================================================================
SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "h_short", "predicate": "$.payload.x > 5 && $.payload.y > $limit",
                                       "decision": "deny"}')$$,
    'CN005', 'policy_spec_is_valid',
    'a variable in a branch an empty command short-circuits must still be bound'
);
SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "h_path", "predicate": "$.payload.total_price", "decision": "deny"}')$$,
    'CN005', 'policy_spec_is_valid',
    'a path that is not a predicate is refused'
);
SELECT cmp_ok(
    cardinality(regexp_split_to_array(concord_test.error_detail(
        $$SELECT concord.register_policy('{"name": 5, "predicate": 7, "decision": "bogus", "extra": 1}')$$), E'\n')),
    '>=', 4,
    'a bad name does not hide the spec''s other problems'
);
SELECT concord_test.throws_rule(
    $$SELECT concord.register_approval_type('{"name": "h_var", "approver": {"path": "$.payload.x ? (@ > $v)"}}')$$,
    'CN005', 'approval_type_spec_is_valid',
    'an approver path may not use variables'
);
SELECT concord_test.throws_rule(
    $$SELECT concord.register_approval_type('{"name": "h_where", "approver": {"path": "$.requested_by"}}')$$,
    'CN005', 'approval_type_spec_is_valid',
    'an approver path reads the payload or the context'
);

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

-- ===========================================================================
-- Executable policies: answers are checked, decisions name the code
-- ===========================================================================
CREATE FUNCTION concord_test.h_exec(command jsonb, context jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{"decision": "require_input", "missing_fields": [1, {"a": 2}]}'::jsonb $$;
DO $$ BEGIN
    PERFORM concord.register_policy('{"name": "h_exec", "function": "concord_test.h_exec"}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_exec_t", "async_required": true, "policy_checks": ["h_exec"]}');
END $$;
SELECT is(concord_test.submit('e1', 'h_exec_t', '{}'), 'failed',
          'missing_fields that are not field names make a malformed answer: deny');
CREATE OR REPLACE FUNCTION concord_test.h_exec(command jsonb, context jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{"decision": "allow"}'::jsonb $$;
SELECT is(concord_test.submit('e2', 'h_exec_t', '{}'), 'queued', 'the replaced function allows');
SELECT isnt(
    (SELECT d.policy_checksum FROM concord.policy_decisions AS d WHERE d.command_id = concord_test.id('e1')),
    (SELECT d.policy_checksum FROM concord.policy_decisions AS d WHERE d.command_id = concord_test.id('e2')),
    'the decisions of two function bodies carry different checksums'
);

-- ===========================================================================
-- Plans follow the latest evaluation; pending_approvals hides expired ones
-- ===========================================================================
SELECT is(concord_test.submit('replan', 'h_book', '{"price": 900}'), 'waiting_for_approval', 'fixture');
SELECT lives_ok(
    format($$SELECT concord.resolve_approval(%L, 'request_changes', 'ann');
             SELECT concord.provide_input(%L, '{"price": 100}', 'req')$$,
           concord_test.approval_id('replan'), concord_test.id('replan')),
    'changes requested, a cheaper price provided'
);
SELECT is(
    concord.plan_command(concord_test.id('replan')) ->> 'execution_mode', 'async',
    'the plan has no approval gate once the latest evaluation needs none'
);

-- ===========================================================================
-- More hiding places, paths finding several, stale waits,
-- policies taken away, nested teams, limits
-- ===========================================================================
SELECT is(concord_test.submit('s6', 'h_share', jsonb_build_object('destination', E'\texternal:partner')),
          'waiting_for_approval', 'external: after a tab is external');
SELECT is(concord_test.submit('s7', 'h_share', jsonb_build_object('destination', E'\u00a0external:partner')),
          'waiting_for_approval', 'external: after a no-break space is external');
SELECT is(concord_test.submit('s8', 'h_share', jsonb_build_object('destination', E'bob\uff20evil.com')),
          'waiting_for_approval', 'a fullwidth @ is an @');
SELECT is(concord_test.submit('s9', 'h_share', '{"destination": {"bob@evil.com": true}}'),
          'waiting_for_approval', 'an address as an object key is found');

DO $$ BEGIN
    PERFORM concord.register_approval_type('{"name": "h_many", "approver": {"path": "$.payload.approvers[*]"}}');
    PERFORM concord.register_policy(
        '{"name": "h_many", "predicate": "true", "decision": "require_approval", "approval_type": "h_many"}');
    PERFORM concord.register_command_type('{"command_type": "h_many_t", "policy_checks": ["h_many"]}');
END $$;
SELECT is(concord_test.submit('m1', 'h_many_t', '{"approvers": ["req", "bob", "cy"]}'), 'waiting_for_approval',
          'a path with [*] finds every approver, the requester among them');
SELECT is(
    (SELECT a.eligible_approvers FROM concord.approvals AS a WHERE a.command_id = concord_test.id('m1')),
    '{bob,cy,req}'::text[], 'all of them are eligible (the requester still may not decide)'
);
SELECT is(concord_test.submit('m2', 'h_many_t', '{}'), 'waiting_for_input', 'an empty path asks for input');
SELECT is((SELECT c.policy_evaluation -> 'missing_fields' FROM concord.commands AS c
           WHERE c.command_id = concord_test.id('m2')), '["approvers"]'::jsonb,
          'the missing field is the payload field, without the array step');

SELECT is(concord_test.submit('stale', 'h_book', '{"price": 900}'), 'waiting_for_approval', 'fixture');
SELECT lives_ok(
    format($$SELECT concord.resolve_approval(%L, 'request_changes', 'ann');
             SELECT concord.transition_command(%L, 'validated', 'mallory')$$,
           concord_test.approval_id('stale'), concord_test.id('stale')),
    'changes requested; moved back to validated by hand'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.transition_command(%L, 'waiting_for_approval', 'mallory')$$, concord_test.id('stale')),
    'CN001', 'a_command_waits_for_approval_only_while_one_is_pending',
    'a command cannot wait again on an evaluation whose approvals are all closed'
);
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "h_book", "async_required": true,
                                            "required_inputs": ["price"]}');
END $$;
SELECT is(
    concord.evaluate_policies(concord_test.id('stale')) ->> 'status', 'queued',
    'once an administrator takes the type''s policies away, its validated commands go on'
);

SELECT lives_ok($$SELECT concord.add_team_member('team:fin', 'team:ops');
                  SELECT concord.add_team_member('team:ops', 'olga')$$, 'a team nested in the approving team');
DO $$ BEGIN
    PERFORM concord.register_command_type('{"command_type": "h_book", "async_required": true,
                                            "policy_checks": ["h_big"], "required_inputs": ["price"]}');
END $$;
SELECT is(concord_test.submit('nested', 'h_book', '{"price": 900}'), 'waiting_for_approval', 'fixture');
SELECT concord_test.throws_rule(
    format($$SELECT concord.resolve_approval(%L, 'approved', 'team:ops')$$, concord_test.approval_id('nested')),
    'CN012', 'the_approver_is_eligible',
    'a team that is a member is still not a person'
);
SELECT is(
    (SELECT count(*)::integer FROM concord.pending_approvals AS p
     WHERE p.approval_id = concord_test.approval_id('nested') AND p.approver = 'team:ops'),
    0, 'pending_approvals does not list it'
);

SELECT concord_test.throws_rule(
    format($$SELECT concord.add_team_member('team:fin', %L)$$, repeat('x', 300)),
    'CN008', 'a_name_has_at_most_256_characters', 'a name longer than 256 characters is refused'
);
SELECT concord_test.throws_rule(
    format($$SELECT concord.submit_command('h_input', '{"price": 1}', 'req', idempotency_key => %L)$$,
           repeat('k', 6000)),
    'CN008', 'idempotency_key_has_at_most_1000_characters', 'an idempotency key longer than 1000 characters is refused'
);
SELECT is(concord_test.submit('deep', 'h_input', '{}'), 'waiting_for_input', 'fixture: waiting for input');
SELECT concord_test.throws_rule(
    format($$SELECT concord.provide_input(%L, %L::jsonb, 'req')$$, concord_test.id('deep'),
           repeat('{"a": ', 1000) || '1' || repeat('}', 1000)),
    'CN008', 'payload_patch_is_not_nested_too_deeply', 'a patch nested too deeply to merge is refused with CN008, nothing changed'
);

SET LOCAL session_replication_role = replica;
UPDATE concord.command_types SET policy_checks = '{h_big,no_such_policy}' WHERE command_type = 'h_book';
SET LOCAL session_replication_role = origin;
SELECT is(concord_test.submit('ghost', 'h_book', '{"price": 1}'), 'failed',
          'a policy name with no policy (written with triggers off) denies, recorded');
SELECT ok(
    (SELECT c.error LIKE '%no_such_policy%' FROM concord.commands AS c WHERE c.command_id = concord_test.id('ghost')),
    'and says which policy is missing'
);

-- ===========================================================================
-- submit_command's errors: missing inputs and denial reasons, replays too;
-- an executable policy registered by its function's name; approvers shorthand
-- ===========================================================================
SELECT is(
    (SELECT s.errors FROM concord.submit_command('h_input', '{}', 'req', idempotency_key => 'h-errors') AS s),
    '[{"kind": "missing_input", "path": "$.price", "message": "input price is needed"}]'::jsonb,
    'errors lists the inputs a command waiting for input needs'
);
SELECT is(
    (SELECT s.errors FROM concord.submit_command('h_input', '{}', 'req', idempotency_key => 'h-errors') AS s),
    '[{"kind": "missing_input", "path": "$.price", "message": "input price is needed"}]'::jsonb,
    'and so does a replay'
);
DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "h_perm", "async_required": true, "policy_checks": ["permission"]}');
END $$;
SELECT is(
    (SELECT s.errors -> 0 ->> 'kind' FROM concord.submit_command('h_perm', '{}', 'nobody') AS s),
    'policy_denied', 'errors gives a denial''s reasons'
);
CREATE FUNCTION concord_test.h_named(command jsonb, context jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{"decision": "allow"}'::jsonb $$;
SELECT is(concord.register_policy('{"name": "concord_test.h_named"}'), 'concord_test.h_named',
          'an executable policy may be registered by its function''s name');
SELECT is((SELECT kind FROM concord.policies WHERE name = 'concord_test.h_named'), 'executable',
          'it is executable');
SELECT is(concord.register_approval_type('{"name": "h_short_hand", "approvers": ["ann", "bob"]}'), 'h_short_hand',
          '"approvers": [...] is short for approver principals');
SELECT is((SELECT approver_principals FROM concord.approval_types WHERE name = 'h_short_hand'), '{ann,bob}'::text[],
          'the principals are the approvers');

-- ===========================================================================
-- Kind always checked and never stored, cost's null estimate,
-- executable answers that name nothing, per-approval reasons
-- ===========================================================================
SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "concord_test.h_named", "kind": "declarative"}')$$,
    'CN005', 'policy_spec_is_valid', 'a kind that does not match is refused, by-name specs included'
);
SELECT is(
    (SELECT version FROM concord.policies WHERE name = 'concord_test.h_named'), 1, 'fixture: version 1'
);
SELECT lives_ok(
    $$SELECT concord.register_policy('{"name": "concord_test.h_named", "kind": "executable",
                                       "function": "concord_test.h_named"}')$$,
    'the same spec with a matching kind registers'
);
SELECT is(
    (SELECT version FROM concord.policies WHERE name = 'concord_test.h_named'), 1,
    'and changes nothing: kind is checked, not stored'
);
DO $$ BEGIN
    PERFORM concord.register_command_type(
        '{"command_type": "h_cost", "async_required": true, "policy_checks": ["cost"], "cost_budget": 100}');
END $$;
SELECT is(
    (SELECT s.status FROM concord.submit_command('h_cost', '{"estimated_cost": null}', 'req', 'api',
                                                 '{"estimated_cost": 50}') AS s),
    'queued', 'a null estimate in the payload leaves the context''s estimate in force'
);
CREATE FUNCTION concord_test.h_vague(command jsonb, context jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{"decision": "require_input"}'::jsonb $$;
CREATE FUNCTION concord_test.h_curt(command jsonb, context jsonb) RETURNS jsonb
LANGUAGE sql AS $$ SELECT '{"decision": "deny"}'::jsonb $$;
DO $$ BEGIN
    PERFORM concord.register_policy('{"name": "concord_test.h_vague"}');
    PERFORM concord.register_policy('{"name": "concord_test.h_curt"}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_vague_t", "async_required": true, "policy_checks": ["concord_test.h_vague"]}');
    PERFORM concord.register_command_type(
        '{"command_type": "h_curt_t", "async_required": true, "policy_checks": ["concord_test.h_curt"]}');
END $$;
SELECT is(
    (SELECT s.status FROM concord.submit_command('h_vague_t', '{}', 'req') AS s), 'failed',
    'an executable policy asking for input without naming it is a malformed answer: deny'
);
SELECT is(
    (SELECT s.errors -> 0 ->> 'message' FROM concord.submit_command('h_curt_t', '{}', 'req') AS s),
    'policy concord_test.h_curt: deny', 'a denial without reasons still says which policy denied'
);
DO $$ BEGIN
    PERFORM concord.register_approval_type('{"name": "h_pa", "approvers": ["ann"]}');
    PERFORM concord.register_approval_type('{"name": "h_pb", "approvers": ["bob"]}');
    PERFORM concord.register_policy('{"name": "h_pa", "predicate": "true", "decision": "require_approval",
                                      "approval_type": "h_pa", "reasons": ["reason A"]}');
    PERFORM concord.register_policy('{"name": "h_pb", "predicate": "true", "decision": "require_approval",
                                      "approval_type": "h_pb", "reasons": ["reason B"]}');
    PERFORM concord.register_command_type('{"command_type": "h_two", "policy_checks": ["h_pa", "h_pb"]}');
END $$;
SELECT is(concord_test.submit('two', 'h_two', '{}'), 'waiting_for_approval', 'fixture: two approvals');
SELECT is(
    (SELECT jsonb_object_agg(a.approval_type, a.review_packet -> 'why') FROM concord.approvals AS a
     WHERE a.command_id = concord_test.id('two')),
    '{"h_pa": ["reason A"], "h_pb": ["reason B"]}'::jsonb,
    'each review packet gives the reasons of the policies that asked for its approval'
);

DO $$ BEGIN
    PERFORM concord.register_approval_type('{"name": "h_fields", "approvers": ["ann"], "required_fields": ["b"]}');
    PERFORM concord.register_policy('{"name": "h_fields", "predicate": "true", "decision": "require_approval",
                                      "approval_type": "h_fields"}');
    PERFORM concord.register_command_type('{"command_type": "h_once", "required_inputs": ["a"],
                                            "policy_checks": ["required_inputs", "h_fields"]}');
END $$;
SELECT is(concord_test.submit('once', 'h_once', '{}'), 'waiting_for_input', 'fixture: input missing');
SELECT is(
    (SELECT c.policy_evaluation -> 'missing_fields' FROM concord.commands AS c
     WHERE c.command_id = concord_test.id('once')),
    '["a", "b"]'::jsonb,
    'the input request names the fields the coming approval needs as well: one round, not two'
);

SELECT is(
    concord.plan_command(concord_test.id('once')) ->> 'execution_mode', 'approval_gated_async',
    'the plan of a command waiting for input already shows the approval gate to come'
);

-- ===========================================================================
-- Replays after input, approver fields asked once, declarative
-- input requests name their fields, invisible characters
-- ===========================================================================
SELECT is(
    (SELECT s.status FROM concord.submit_command('h_input', '{}', 'req', idempotency_key => 'h-replay') AS s),
    'waiting_for_input', 'fixture: waiting for input, with a key'
);
SELECT lives_ok(
    $$SELECT concord.provide_input((SELECT c.command_id FROM concord.commands AS c
                                    WHERE c.idempotency_key = 'h-replay'), '{"price": 5}', 'req')$$,
    'input provided: the payload changed'
);
SELECT is(
    (SELECT s.created FROM concord.submit_command('h_input', '{}', 'req', idempotency_key => 'h-replay') AS s),
    false, 'replaying the original submission still returns the original command'
);
SELECT concord_test.throws_rule(
    $$SELECT concord.submit_command('h_input', '{"price": 9}', 'req', idempotency_key => 'h-replay')$$,
    'CN002', 'an_idempotency_key_names_one_request', 'a different request under that key is still a conflict'
);
DO $$ BEGIN
    PERFORM concord.register_approval_type('{"name": "h_named_by", "approver": {"path": "$.payload.approver"}}');
    PERFORM concord.register_policy('{"name": "h_named_by", "predicate": "true", "decision": "require_approval",
                                      "approval_type": "h_named_by"}');
    PERFORM concord.register_command_type('{"command_type": "h_once2", "required_inputs": ["a"],
                                            "policy_checks": ["required_inputs", "h_named_by"]}');
END $$;
SELECT is(concord_test.submit('once2', 'h_once2', '{}'), 'waiting_for_input', 'fixture');
SELECT is(
    (SELECT c.policy_evaluation -> 'missing_fields' FROM concord.commands AS c
     WHERE c.command_id = concord_test.id('once2')),
    '["a", "approver"]'::jsonb, 'the approver a payload path will need is asked for in the same round'
);
SELECT concord_test.throws_rule(
    $$SELECT concord.register_policy('{"name": "h_vague_decl", "predicate": "$.payload.a > 1",
                                       "decision": "require_input"}')$$,
    'CN005', 'policy_spec_is_valid', 'a declarative policy that can require input must name the fields'
);
SELECT is(concord_test.submit('zw', 'h_share', jsonb_build_object('destination', E'\u200bexternal:partner')),
          'waiting_for_approval', 'a zero-width space before external: hides nothing');
SELECT is(concord_test.submit('zw2', 'h_share', jsonb_build_object('destination', E'ext\u00adernal:partner')),
          'waiting_for_approval', 'nor a soft hyphen inside it');

SELECT * FROM finish();
ROLLBACK;
