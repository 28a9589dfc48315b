#!/usr/bin/env bash
# Runs the pgTAP suite (pgtap_tests/<domain>/*.sql, every folder but pgtap_tests/upgrade/,
# which belongs to the upgrade harness, and pgtap_tests/lib/, which holds no tests) with
# pg_prove, in two halves side by side, each in its own fresh database
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

# Two databases, one per core: files of one database run one after another (they share
# fixture names and take table locks), the two halves run side by side. The second is a
# copy of the first, made before any file runs. Halves are balanced by file size.
twin="${db}_2"
psql "$CONCORD_DSN" -X -q -v ON_ERROR_STOP=1 \
    -c "DROP DATABASE IF EXISTS $twin WITH (FORCE)" -c "CREATE DATABASE $twin TEMPLATE $db"
halves=("" "")
sizes=(0 0)
while read -r size file; do
    side=$((sizes[0] <= sizes[1] ? 0 : 1))
    halves[side]+="$file"$'\n'
    sizes[side]=$((sizes[side] + size))
done < <(wc -c "${files[@]}" | grep -v ' total$' | sort -rn)

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
status=0
pids=()
for side in 0 1; do
    name=$([[ $side == 0 ]] && echo "$db" || echo "$twin")
    mapfile -t half < <(printf '%s' "${halves[side]}" | sort)
    # pg_prove takes no connection string: hand it the settings as PGHOST, PGPORT, ...
    "${CONCORD_PYTHON:-$ROOT/.venv/bin/python}" "$HERE/dsn_for.py" "$name" -- \
        pg_prove --ext .sql "${half[@]}" >"$logs/$side" 2>&1 &
    pids+=($!)
done
for side in 0 1; do
    wait "${pids[side]}" || status=1
    cat "$logs/$side"
done
psql "$CONCORD_DSN" -X -q -c "DROP DATABASE IF EXISTS $twin WITH (FORCE)" >/dev/null
exit $status
