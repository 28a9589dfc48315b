-- (d) Concord under governance: submit_command of a type with three policies
-- (permission, risk and a declarative price limit), all of which allow. On top
-- of (a): three policy evaluations, three policy_decisions rows and one
-- policies_evaluated audit event, in the same transaction.
SELECT * FROM concord.submit_command(
    'bench_governed', '{"n": 1}', 'bench', 'api', '{}',
    format('governed:%s:%s', :client_id::int, gen_random_uuid())
);
