-- The services' own logins, after `concord migrate` created Concord's NOLOGIN roles
-- (docs/how-to/deploy-on-your-own-postgresql.md, docs/reference/roles.md). Run by the
-- compose service `logins` as the superuser, with psql -v api_password=... -v
-- worker_password=...; running it again only resets the passwords.
--
--   api_service     concord api: concord_app and concord_approver (its /ready checks both);
--                   it speaks for no principal, each caller's API token says who acts
--   worker_service  concord worker: concord_worker, never a superuser
\set ON_ERROR_STOP on
SELECT format('CREATE ROLE %I LOGIN', name)
FROM (VALUES ('api_service'), ('worker_service')) AS v (name)
WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = v.name) \gexec
ALTER ROLE api_service LOGIN PASSWORD :'api_password';
ALTER ROLE worker_service LOGIN PASSWORD :'worker_password';
GRANT concord_app, concord_approver TO api_service;
GRANT concord_worker TO worker_service;
