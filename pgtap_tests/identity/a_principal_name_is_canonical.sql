-- One person, one name (spec 45): a principal's name is kept in canonical form
-- (NFKC, case-folded, letters, digits and . _ @ : + - only, at most 128
-- characters), so ALICE, Alice and the full-width ａｌｉｃｅ are alice, and a
-- name hiding a zero-width space, a control character or a space is no name at
-- all. The table owner's own INSERT and UPDATE meet the same rule.
BEGIN;
SELECT plan(24);

SELECT is(concord.canonical_name('ALICE'), 'alice', 'ALICE is alice');
SELECT is(concord.canonical_name('Alice'), 'alice', 'Alice is alice');
SELECT is(concord.canonical_name(U&'\FF41\FF4C\FF49\FF43\FF45'), 'alice', 'the full-width ａｌｉｃｅ is alice');
SELECT is(concord.canonical_name(U&'\FF21LICE'), 'alice', 'a full-width capital folds too');
SELECT is(concord.canonical_name('Straße'), 'strasse', 'case folding, not lower(): Straße is strasse');
SELECT is(concord.canonical_name(U&'e\0301lodie'), U&'\00E9lodie', 'a combining accent is composed (NFKC)');
SELECT is(concord.canonical_name('svc.gateway@acme:eu+1-x_y'), 'svc.gateway@acme:eu+1-x_y',
          'the punctuation . _ @ : + - is kept after the first character');

SELECT concord_test.throws_rule($$SELECT concord.canonical_name(U&'alice\200B')$$,
    'CN008', 'a_principal_name_is_canonical', 'alice followed by a zero-width space is no name');
SELECT concord_test.throws_rule($$SELECT concord.canonical_name(U&'ali\200Dce')$$,
    'CN008', 'a_principal_name_is_canonical', 'a zero-width joiner inside a name is refused');
SELECT concord_test.throws_rule($$SELECT concord.canonical_name(U&'\202Eecila')$$,
    'CN008', 'a_principal_name_is_canonical', 'a right-to-left override is refused');
SELECT concord_test.throws_rule($$SELECT concord.canonical_name(E'alice\x07')$$,
    'CN008', 'a_principal_name_is_canonical', 'a control character is refused');
SELECT concord_test.throws_rule($$SELECT concord.canonical_name('alice smith')$$,
    'CN008', 'a_principal_name_is_canonical', 'a space is refused');
SELECT concord_test.throws_rule($$SELECT concord.canonical_name(U&'alice\00A0')$$,
    'CN008', 'a_principal_name_is_canonical', 'a no-break space is refused');
SELECT concord_test.throws_rule($$SELECT concord.canonical_name('-alice')$$,
    'CN008', 'a_principal_name_is_canonical', 'leading punctuation is refused');
SELECT concord_test.throws_rule($$SELECT concord.canonical_name(repeat('a', 129))$$,
    'CN008', 'a_principal_name_is_canonical', 'a name longer than 128 characters is refused');
SELECT is(concord.canonical_name(repeat('a', 128)), repeat('a', 128), '128 characters are enough');
SELECT concord_test.throws_rule($$SELECT concord.canonical_name('  ')$$,
    'CN008', 'a_principal_name_is_canonical', 'a blank name is refused');

-- Registration folds, so ALICE cannot be a second alice.
SELECT concord.create_principal('Idt-Alice') AS idt_alice \gset
SELECT is((SELECT p.name FROM concord.principals AS p WHERE p.principal_id = :'idt_alice'),
          'idt-alice', 'create_principal stores the canonical form');
SELECT concord_test.throws_rule($$SELECT concord.create_principal(U&'\FF29DT-ALICE')$$,
    'CN011', 'principal_name_is_unique', 'a second registration of the same person under another spelling is refused');

-- The table owner (this superuser session writes the table itself) meets the rule too.
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.principals (name, kind, created_by) VALUES ('ALICE', 'user', 'test')$$,
    'CN008', 'a_principal_name_is_canonical', 'a raw INSERT of a name not in canonical form is refused');
SELECT concord_test.throws_rule(
    $$INSERT INTO concord.principals (name, kind, created_by) VALUES (U&'mallory\200B', 'user', 'test')$$,
    'CN008', 'a_principal_name_is_canonical', 'a raw INSERT of a name with an invisible character is refused');
SELECT concord_test.throws_rule(
    $$UPDATE concord.principals SET name = 'idt-alice2' WHERE name = 'idt-alice'$$,
    'CN007', 'a_principal_keeps_its_name_and_kind', 'a raw UPDATE renaming a principal is refused');
SELECT concord_test.throws_rule(
    $$UPDATE concord.principals SET kind = 'service' WHERE name = 'idt-alice'$$,
    'CN007', 'a_principal_keeps_its_name_and_kind', 'a raw UPDATE changing a principal''s kind is refused');
SELECT concord_test.throws_rule(
    $$DELETE FROM concord.principals WHERE name = 'idt-alice'$$,
    'CN007', 'principals_are_not_deleted', 'a raw DELETE of a principal is refused');

SELECT * FROM finish();
ROLLBACK;
