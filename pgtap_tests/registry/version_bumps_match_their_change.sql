-- A version number matches its change (spec 110, semver.org): breaking needs
-- a major bump (a minor one under 1.0.0), additive at least a minor one, doc
-- at least a patch, and every version is above the one before.
BEGIN;
SELECT plan(12);

SELECT is(concord._registry_version_bump_problems(NULL, '1.0.0', 'initial'), '{}', 'a first version: no problem');
SELECT is(concord._registry_version_bump_problems('1.4.2', '2.0.0', 'breaking'), '{}', 'breaking with a major bump');
SELECT is(concord._registry_version_bump_problems('1.4.2', '1.5.0', 'breaking'),
    '{"a breaking change needs a major version bump: 1.4.2 -> 1.5.0 is a minor bump"}', 'breaking with a minor bump is refused');
SELECT is(concord._registry_version_bump_problems('1.4.2', '1.4.3', 'breaking'),
    '{"a breaking change needs a major version bump: 1.4.2 -> 1.4.3 is a patch bump"}', 'breaking with a patch bump is refused');
SELECT is(concord._registry_version_bump_problems('0.3.1', '0.4.0', 'breaking'), '{}',
    'under 1.0.0 a minor bump counts as major');
SELECT is(concord._registry_version_bump_problems('0.3.1', '0.3.2', 'breaking'),
    '{"a breaking change needs a major version bump: 0.3.1 -> 0.3.2 is a patch bump (under 1.0.0 a minor bump counts as major)"}',
    'under 1.0.0 a patch bump is not enough for a breaking change');
SELECT is(concord._registry_version_bump_problems('1.9.0', '1.10.0', 'additive'), '{}',
    'additive with a minor bump (1.10.0 is above 1.9.0)');
SELECT is(concord._registry_version_bump_problems('1.4.2', '1.4.3', 'additive'),
    '{"an additive change needs at least a minor version bump: 1.4.2 -> 1.4.3 is a patch bump"}', 'additive with a patch bump is refused');
SELECT is(concord._registry_version_bump_problems('1.4.2', '1.4.3', 'doc'), '{}', 'doc with a patch bump');
SELECT is(concord._registry_version_bump_problems('1.4.2', '1.4.2', 'doc'),
    '{"version 1.4.2 is not above the latest version 1.4.2"}', 'the same version is refused');
SELECT is(concord._registry_version_bump_problems('1.4.2', '1.4.3-rc.1', 'doc'), '{}',
    'a pre-release above the previous is above it');
SELECT is(concord._registry_version_bump_problems('1.4.2', 'one', 'doc'),
    '{"version one is not a semantic version (MAJOR.MINOR.PATCH)"}', 'a version that is not semver is refused');

SELECT * FROM finish();
ROLLBACK;
