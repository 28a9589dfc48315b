#!/usr/bin/env bash
# The demo: a fresh database concord_demo with Concord installed, then demo/*.sql run
# in name order with psql.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)

shopt -s nullglob
files=("$ROOT"/demo/*.sql)
((${#files[@]})) || { echo "demo: no demo/*.sql files yet" >&2; exit 1; }

dsn=$("$HERE/fresh_db.sh" concord_demo)
for f in "${files[@]}"; do
    echo "=== ${f#"$ROOT"/}"
    psql "$dsn" -X -v ON_ERROR_STOP=1 -f "$f"
done
echo
echo "The database concord_demo is kept: explore it with 'make db' then psql (dbname=concord_demo)."
