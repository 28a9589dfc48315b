#!/usr/bin/env bash
# Recreates database DBNAME on the server of CONCORD_DSN, installs Concord into it with
# `concord migrate`, and prints its DSN on stdout.
#
#   DSN=$(tests/harness/fresh_db.sh DBNAME)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
PY=${CONCORD_PYTHON:-$ROOT/.venv/bin/python}
CONCORD=${CONCORD_BIN:-$ROOT/.venv/bin/concord}

db=${1:?usage: fresh_db.sh DBNAME}
: "${CONCORD_DSN:?CONCORD_DSN is not set (run under tests/harness/cluster.sh run --)}"
[[ $db =~ ^[a-z_][a-z0-9_]*$ ]] || { echo "fresh_db.sh: bad database name: $db" >&2; exit 2; }

PGOPTIONS="-c client_min_messages=warning" psql "$CONCORD_DSN" -X -q -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" \
    -c "CREATE DATABASE $db" >&2
dsn=$("$PY" "$ROOT/tests/harness/dsn_for.py" "$db")
(cd "$ROOT" && "$CONCORD" migrate --dsn "$dsn") >&2
printf '%s\n' "$dsn"
