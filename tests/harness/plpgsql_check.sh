#!/usr/bin/env bash
# Checks every PL/pgSQL function of schema `concord` with plpgsql_check, in a fresh
# database (default concord_lint) where Concord was installed by `concord migrate`.
# Errors and warnings are all reported; any of them, or no function checked, fails.
#
#   CONCORD_DSN=... tests/harness/plpgsql_check.sh [DBNAME]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
db=${1:-concord_lint}

dsn=$("$HERE/fresh_db.sh" "$db")
psql "$dsn" -X -q -v ON_ERROR_STOP=1 -f "$HERE/plpgsql_check.sql"
