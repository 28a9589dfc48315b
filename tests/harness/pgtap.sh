#!/usr/bin/env bash
# Runs the pgTAP suite (pgtap_tests/<domain>/*.sql, every folder but pgtap_tests/upgrade/,
# which belongs to the upgrade harness, and pgtap_tests/lib/, which holds no tests) with
# pg_prove in a fresh database
# (default concord_pgtap) where Concord was installed by `concord migrate`, and where
# pgtap_tests/lib/helpers.sql (schema concord_test, the helpers the files share) was loaded.
#
#   CONCORD_DSN=... tests/harness/pgtap.sh [DBNAME]
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
db=${1:-concord_pgtap}

cd "$ROOT"
mapfile -t files < <(find pgtap_tests -name '*.sql' -not -path 'pgtap_tests/lib/*' \
    -not -path 'pgtap_tests/upgrade/*' | sort)
((${#files[@]})) || { echo "pgtap: no .sql files under pgtap_tests/" >&2; exit 1; }

dsn=$("$HERE/fresh_db.sh" "$db")
psql "$dsn" -X -q -v ON_ERROR_STOP=1 -c 'CREATE EXTENSION IF NOT EXISTS pgtap'
psql "$dsn" -X -q -v ON_ERROR_STOP=1 -f pgtap_tests/lib/helpers.sql
# pg_prove takes no connection string: hand it the settings as PGHOST, PGPORT, ...
"${CONCORD_PYTHON:-$ROOT/.venv/bin/python}" "$HERE/dsn_for.py" "$db" -- \
    pg_prove --ext .sql "${files[@]}"
