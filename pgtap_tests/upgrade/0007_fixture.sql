-- A database at migration 0006 (identity), before policies had scopes: a
-- declarative policy and a command type naming it, loaded without the sql/
-- triggers.
INSERT INTO concord.policies (name, kind, predicate, vars, decision, reasons, spec, checksum)
VALUES (
    'scoped_probe', 'declarative', '$.payload.n > $limit', '{"limit": 5}', 'deny', '{"too many"}',
    '{"name": "scoped_probe", "predicate": "$.payload.n > $limit", "vars": {"limit": 5}, "decision": "deny", '
    '"reasons": ["too many"]}',
    'x'
);

INSERT INTO concord.command_types (command_type, name, sync_allowed, policy_checks)
VALUES ('scoped_probe_type', 'A type from before policy scopes', true, '{scoped_probe}');
