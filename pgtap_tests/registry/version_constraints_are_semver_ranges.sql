-- Versions are semantic versions ordered as semver.org orders them (1.10.0 >
-- 1.9.0, a pre-release before its release), and a relationship's version
-- constraint (issue 14: ">=1.2 <2") is a semver range: exact, comparators,
-- caret, tilde, x-ranges, intersected when separated by spaces. Anything else
-- is refused with a_version_constraint_is_well_formed (CN005), a version that
-- is not semantic with a_checked_version_is_a_semantic_version (CN008).
BEGIN;
SELECT plan(48);

-- ordering
SELECT ok('1.10.0'::semver.semver OPERATOR(semver.>) '1.9.0'::semver.semver, '1.10.0 > 1.9.0 (numeric, not text)');
SELECT ok('1.0.0-rc.1'::semver.semver OPERATOR(semver.<) '1.0.0'::semver.semver, '1.0.0-rc.1 < 1.0.0');
SELECT ok('1.0.0-alpha'::semver.semver OPERATOR(semver.<) '1.0.0-alpha.1'::semver.semver
          AND '1.0.0-alpha.1'::semver.semver OPERATOR(semver.<) '1.0.0-beta'::semver.semver
          AND '1.0.0-rc.2'::semver.semver OPERATOR(semver.<) '1.0.0-rc.10'::semver.semver,
          'pre-releases order by their identifiers: alpha < alpha.1 < beta; rc.2 < rc.10');
SELECT is(
    (SELECT array_agg(v::text ORDER BY v) FROM unnest(ARRAY['1.10.0', '1.9.0', '1.0.0', '1.0.0-rc.1', '2.0.0-0']::semver.semver[]) AS v),
    ARRAY['1.0.0-rc.1', '1.0.0', '1.9.0', '1.10.0', '2.0.0-0'],
    'ORDER BY sorts versions as semver does'
);

-- any version
SELECT is(concord.registry_version_range(NULL), '(,)'::semver.semverrange, 'NULL allows any version');
SELECT is(concord.registry_version_range(''), '(,)'::semver.semverrange, 'the empty constraint allows any version');
SELECT is(concord.registry_version_range('*'), '(,)'::semver.semverrange, '* allows any version');
SELECT ok(concord.registry_version_satisfies('0.0.1-alpha', '*'), 'even a pre-release satisfies *');

-- exact
SELECT is(concord.registry_version_range('1.2.3'), '[1.2.3,1.2.3]'::semver.semverrange, '1.2.3 is exactly 1.2.3');
SELECT is(concord.registry_version_range('=1.2.3'), '[1.2.3,1.2.3]'::semver.semverrange, '=1.2.3 is exactly 1.2.3');
SELECT ok(concord.registry_version_satisfies('1.2.3', '1.2.3') AND NOT concord.registry_version_satisfies('1.2.4', '1.2.3'),
          'only 1.2.3 satisfies 1.2.3');

-- comparators; a missing part is 0
SELECT is(concord.registry_version_range('>=1.2'), '[1.2.0,)'::semver.semverrange, '>=1.2 is >=1.2.0');
SELECT ok(NOT concord.registry_version_satisfies('1.2.5', '>1.2') AND concord.registry_version_satisfies('1.3.0', '>1.2'),
          '>1.2 is above every 1.2.x (a partial version stands for all its versions, as in npm)');
SELECT ok(concord.registry_version_satisfies('1.2.0', '>=1.2') AND concord.registry_version_satisfies('1.10.0', '>=1.9')
          AND NOT concord.registry_version_satisfies('1.1.9', '>=1.2'), '>=1.2 takes 1.2.0 and above; 1.10.0 >= 1.9');
SELECT ok(NOT concord.registry_version_satisfies('1.2.0', '>1.2.0') AND concord.registry_version_satisfies('1.2.1', '>1.2.0'),
          '>1.2.0 excludes 1.2.0');
SELECT ok(concord.registry_version_satisfies('1.9.9', '<2') AND NOT concord.registry_version_satisfies('2.0.0', '<2'),
          '<2 is below 2.0.0');
SELECT ok(concord.registry_version_satisfies('2.1.0', '<=2.1.0') AND NOT concord.registry_version_satisfies('2.1.1', '<=2.1.0'),
          '<=2.1.0 includes 2.1.0, not 2.1.1');
SELECT ok(concord.registry_version_satisfies('2.1.7', '<=2.1') AND NOT concord.registry_version_satisfies('2.2.0', '<=2.1'),
          '<=2.1 takes in every 2.1.x');
SELECT ok(concord.registry_version_satisfies('1.3.0', '>1.2') AND NOT concord.registry_version_satisfies('1.2.9', '>1.2'),
          '>1.2 is above every 1.2.x');

-- intersections
SELECT is(concord.registry_version_range('>=1.2 <2'), concord.registry_version_range('^1.2'),
          '>=1.2 <2 is the range of ^1.2');
SELECT ok(concord.registry_version_satisfies('1.2.0', '>=1.2 <2') AND concord.registry_version_satisfies('1.99.0', '>=1.2 <2')
          AND NOT concord.registry_version_satisfies('2.0.0', '>=1.2 <2')
          AND NOT concord.registry_version_satisfies('1.1.0', '>=1.2 <2'), '>=1.2 <2: both comparators hold');
SELECT ok(concord.registry_version_satisfies('1.5.0', '>= 1.2   < 2'), 'a space after the operator is allowed');

-- caret
SELECT is(concord.registry_version_range('^1.4.2'), '[1.4.2,2.0.0-0)'::semver.semverrange, '^1.4.2 is >=1.4.2 <2.0.0');
SELECT ok(concord.registry_version_satisfies('1.99.99', '^1.4.2') AND NOT concord.registry_version_satisfies('1.4.1', '^1.4.2')
          AND NOT concord.registry_version_satisfies('2.0.0', '^1.4.2'), '^1.4.2 takes 1.4.2 up to 2.0.0 excluded');
SELECT ok(NOT concord.registry_version_satisfies('2.0.0-rc.1', '^1.4.2'),
          'a pre-release of the next major does not satisfy a caret');
SELECT is(concord.registry_version_range('^0.3.1'), '[0.3.1,0.4.0-0)'::semver.semverrange, '^0.3.1 is >=0.3.1 <0.4.0');
SELECT ok(NOT concord.registry_version_satisfies('0.4.0', '^0.3.1') AND concord.registry_version_satisfies('0.3.9', '^0.3.1'),
          'below 1.0.0 a caret holds the minor');
SELECT ok(concord.registry_version_satisfies('0.0.3', '^0.0.3') AND NOT concord.registry_version_satisfies('0.0.4', '^0.0.3'),
          '^0.0.3 is 0.0.3 only');
SELECT ok(concord.registry_version_satisfies('1.2.3-beta.3', '^1.2.3-beta.2') AND concord.registry_version_satisfies('1.2.3', '^1.2.3-beta.2')
          AND NOT concord.registry_version_satisfies('1.2.3-beta.1', '^1.2.3-beta.2'), 'a caret may start at a pre-release');

-- tilde
SELECT is(concord.registry_version_range('~1.4'), '[1.4.0,1.5.0-0)'::semver.semverrange, '~1.4 is >=1.4.0 <1.5.0');
SELECT ok(concord.registry_version_satisfies('1.4.9', '~1.4.2') AND NOT concord.registry_version_satisfies('1.5.0', '~1.4.2')
          AND NOT concord.registry_version_satisfies('1.4.1', '~1.4.2'), '~1.4.2 is >=1.4.2 <1.5.0');
SELECT ok(concord.registry_version_satisfies('1.9.0', '~1') AND NOT concord.registry_version_satisfies('2.0.0', '~1'), '~1 is 1.x');

-- x-ranges
SELECT is(concord.registry_version_range('1.x'), '[1.0.0,2.0.0-0)'::semver.semverrange, '1.x is >=1.0.0 <2.0.0');
SELECT is(concord.registry_version_range('1.2.x'), '[1.2.0,1.3.0-0)'::semver.semverrange, '1.2.x is >=1.2.0 <1.3.0');
SELECT is(concord.registry_version_range('1.2.*'), concord.registry_version_range('1.2.x'), '1.2.* is 1.2.x');
SELECT is(concord.registry_version_range('1.2'), concord.registry_version_range('1.2.x'), 'a partial version is an x-range');

-- pre-releases against their release
SELECT ok(concord.registry_version_satisfies('1.0.0-rc.1', '<1.0.0') AND NOT concord.registry_version_satisfies('1.0.0-rc.1', '>=1.0.0'),
          '1.0.0-rc.1 is below 1.0.0');

-- malformed constraints
SELECT concord_test.throws_rule($$SELECT concord.registry_version_range('latest')$$,
    'CN005', 'a_version_constraint_is_well_formed', 'CN005: a word is no constraint');
SELECT concord_test.throws_rule($$SELECT concord.registry_version_range('1.x.3')$$,
    'CN005', 'a_version_constraint_is_well_formed', 'CN005: nothing concrete follows a wildcard');
SELECT concord_test.throws_rule($$SELECT concord.registry_version_range('01.2.3')$$,
    'CN005', 'a_version_constraint_is_well_formed', 'CN005: no leading zero');
SELECT concord_test.throws_rule($$SELECT concord.registry_version_range('1.2.3.4')$$,
    'CN005', 'a_version_constraint_is_well_formed', 'CN005: no fourth part');
SELECT concord_test.throws_rule($$SELECT concord.registry_version_range('>=1.2 || <0.5')$$,
    'CN005', 'a_version_constraint_is_well_formed', 'CN005: no || alternatives');
SELECT concord_test.throws_rule($$SELECT concord.registry_version_range('^1.2-beta')$$,
    'CN005', 'a_version_constraint_is_well_formed', 'CN005: a pre-release needs a full version');
SELECT concord_test.throws_rule($$SELECT concord.registry_version_range('>=2 <1')$$,
    'CN005', 'a_version_constraint_is_well_formed', 'CN005: a constraint no version satisfies');
SELECT throws_like($$SELECT concord.registry_version_range('~>1.2')$$,
    '%''~>1.2''%not well formed%', 'the refusal names the constraint');
SELECT concord_test.throws_rule($$SELECT concord.registry_version_satisfies('1.2', '^1')$$,
    'CN008', 'a_checked_version_is_a_semantic_version', 'CN008: 1.2 is not a semantic version');
SELECT is(concord.registry_version_satisfies(NULL, '^1'), NULL, 'no version satisfies nothing: NULL');

-- every role may use them
SET LOCAL ROLE concord_reader;
SELECT ok(concord.registry_version_satisfies('1.4.3', '^1.4.2'), 'concord_reader may check a constraint');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
