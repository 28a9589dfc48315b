#!/usr/bin/env bash
# The demo: a fresh database concord_demo with Concord installed, then
#
#   1. demo/01_kernel_tour.sql, which plays the worker by hand (no worker runs yet);
#   2. demo/worker_setup.sql: the command types the worker's operations execute (a worker
#      refuses to start while one is unknown);
#   3. in the background: the hotel vendor (demo/hotel_vendor.py, HTTP on 127.0.0.1, a free
#      port) and a Concord worker (concord worker --module demo_ops --module demo_agents:
#      the operations of demo/demo_ops.py, and the scripted agents of demo/demo_agents.py
#      with their tools' operations; their warehouse connector reads this database, named
#      by DEMO_WAREHOUSE_DSN);
#   4. demo/02..06, whose commands and agents the worker runs (each script waits for it, 30 s
#      at most per wait, and fails loudly);
#   5. the YAML manifests of demo/registry/: concord registry validate, then apply as olivia
#      (a new tool waits for oscar's approval, then a second apply binds it);
#   6. the REST API (concord api, in the background) and the operator CLI: alice submits a
#      publication over HTTP, the CLI says why it waits, dana approves it from the CLI,
#      alice watches it finish;
#   7. what the vendor saw; then the worker, the API and the vendor are stopped with SIGTERM.
#
# Whatever happens, nothing is left running (trap on EXIT). Any failure makes the demo
# exit non-zero, with the worker's and the vendor's logs.
#
# By hand, on a database DSN where `concord migrate` has run:
#   psql -X -v ON_ERROR_STOP=1 -d DSN -f demo/worker_setup.sql
#   .venv/bin/python demo/hotel_vendor.py --url-file /tmp/vendor.url &
#   DEMO_HOTEL_VENDOR_URL=$(cat /tmp/vendor.url) DEMO_WAREHOUSE_DSN=DSN PYTHONPATH=demo \
#       .venv/bin/concord worker --module demo_ops --module demo_agents --dsn DSN &
#   psql -X -v ON_ERROR_STOP=1 -d DSN -f demo/02_deterministic_report.sql   # 03..05 alike
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
PY=${CONCORD_PYTHON:-$ROOT/.venv/bin/python}
CONCORD=${CONCORD_BIN:-$ROOT/.venv/bin/concord}
EXECUTOR_ID=concord-demo
START_TIMEOUT=60 # seconds for the vendor and the worker to be ready
STOP_TIMEOUT=30  # seconds for each to exit after SIGTERM

die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

shopt -s nullglob
tour=$ROOT/demo/01_kernel_tour.sql
setup=$ROOT/demo/worker_setup.sql
flows=("$ROOT"/demo/0[2-9]_*.sql)
if [[ ! -f $tour || ! -f $setup ]] || ((${#flows[@]} == 0)); then
    die "demo/01_kernel_tour.sql, demo/worker_setup.sql or demo/02..09 missing"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/concord-demo.XXXXXX")
vendor_pid=""
worker_pid=""
api_pid=""

# Stop one of our background processes: SIGTERM, then wait for it (SIGKILL after
# STOP_TIMEOUT). Prints nothing; returns its exit status.
stop() {
    local pid=$1 waited=0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return $?; }
    kill -TERM "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do
        if ((waited >= STOP_TIMEOUT * 10)); then
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    wait "$pid" 2>/dev/null
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [[ -n $api_pid ]] && { stop "$api_pid" || true; }
    [[ -n $worker_pid ]] && { stop "$worker_pid" || true; }
    [[ -n $vendor_pid ]] && { stop "$vendor_pid" || true; }
    if ((rc != 0)); then
        for log in worker vendor api; do
            if [[ -s $work/$log.log ]]; then
                printf '\n--- the %s'"'"'s log (last 60 lines) ---\n' "$log" >&2
                tail -n 60 "$work/$log.log" >&2
            fi
        done
        printf '\ndemo: FAILED (exit status %s)\n' "$rc" >&2
    fi
    rm -rf "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

run_sql() {
    echo "=== ${1#"$ROOT"/}"
    psql "$dsn" -X -v ON_ERROR_STOP=1 -f "$1"
}

# The number of catalog changes (command types, policies, approval types registered or
# changed): the flows must not change what worker_setup.sql registered.
catalog_changes() {
    psql "$dsn" -X -A -t -v ON_ERROR_STOP=1 -c "SELECT count(*) FROM concord.domain_events
        WHERE event_type IN ('command_type_registered', 'policy_registered', 'approval_type_registered')"
}

dsn=$("$HERE/fresh_db.sh" concord_demo)

run_sql "$tour"

echo
run_sql "$setup"
changes_before=$(catalog_changes)

echo
echo "=== starting the hotel vendor and the worker in the background"
"$PY" "$ROOT/demo/hotel_vendor.py" --url-file "$work/vendor.url" >"$work/vendor.log" 2>&1 &
vendor_pid=$!
for ((i = 0; i < START_TIMEOUT * 10; i++)); do
    [[ -s $work/vendor.url ]] && break
    kill -0 "$vendor_pid" 2>/dev/null || die "the hotel vendor exited before it listened"
    sleep 0.1
done
[[ -s $work/vendor.url ]] || die "the hotel vendor did not listen within ${START_TIMEOUT}s"
vendor_url=$(<"$work/vendor.url")
echo "hotel vendor (pid $vendor_pid): $vendor_url"

DEMO_HOTEL_VENDOR_URL=$vendor_url DEMO_WAREHOUSE_DSN=$dsn \
    PYTHONPATH="$ROOT/demo${PYTHONPATH:+:$PYTHONPATH}" \
    "$CONCORD" worker --module demo_ops --module demo_agents --dsn "$dsn" --executor-id "$EXECUTOR_ID" \
    >"$work/worker.log" 2>&1 &
worker_pid=$!
started=$SECONDS
until grep -q "concord worker $EXECUTOR_ID ready" "$work/worker.log"; do
    kill -0 "$worker_pid" 2>/dev/null || die "the worker exited before it was ready"
    ((SECONDS - started < START_TIMEOUT)) || die "the worker was not ready within ${START_TIMEOUT}s"
    sleep 0.1
done
echo "worker $EXECUTOR_ID (pid $worker_pid): ready in $((SECONDS - started))s, operations:"
psql "$dsn" -X -q -v ON_ERROR_STOP=1 -P footer=off -c "SELECT command_type, queue_name, produces,
        coalesce(compensation, '') AS compensation
    FROM concord.runtime_operations WHERE command_type NOT LIKE 'concord.%' ORDER BY command_type"

for f in "${flows[@]}"; do
    echo
    run_sql "$f"
done

changes_after=$(catalog_changes)
((changes_after == changes_before)) \
    || die "demo/02..06 changed the catalog that demo/worker_setup.sql registered: keep their specs identical"

echo
echo "=== demo/registry/: demo/06's contracts kept in git as YAML (concord registry validate, apply)"
# olivia's own login when the server lets it connect (the throwaway cluster does); else the
# superuser, who acts as an operator
olivia_dsn=$("$PY" -c 'import sys; from psycopg.conninfo import make_conninfo
print(make_conninfo(sys.argv[1], user="demo_olivia", password=None))' "$dsn")
psql "$olivia_dsn" -X -q -c 'SELECT 1' >/dev/null 2>&1 || olivia_dsn=$dsn
unchanged=': version unchanged, already published, bound already'
(
    cd "$ROOT"
    "$CONCORD" registry validate --dsn "$olivia_dsn" demo/registry
    echo "--- apply: demo/06 registered every contract but the search tool, which is new; it invokes"
    echo "    a connector operation (a high-risk change), so its publication waits for oscar:"
    "$CONCORD" registry apply --dsn "$olivia_dsn" --project wayfarer/travel demo/registry | grep -v "$unchanged"
)
echo "--- oscar approves it; the worker publishes it:"
(cd "$ROOT" && psql "$dsn" -X -q -v ON_ERROR_STOP=1 -P footer=off) <<'SQL'
\i demo/wait_helpers.sql
SELECT v.approval_command_id AS publication
FROM concord.registry_versions AS v INNER JOIN concord.registry_entities AS e ON v.entity_id = e.entity_id
WHERE e.entity_type = 'tool' AND e.name = 'wayfarer.search_hotels' \gset
SET SESSION AUTHORIZATION demo_oscar;
SELECT concord.resolve_approval(a.approval_id, 'approved', NULL, reason => 'a read-only search') ->> 'status'
    AS decision
FROM concord.pending_approvals AS a WHERE a.command_id = :'publication';
RESET SESSION AUTHORIZATION;
SELECT pg_temp.wait_for_status(:'publication', 'succeeded') AS publication;
SQL
(
    cd "$ROOT"
    echo "--- apply again: it binds the tool; a third apply changes nothing:"
    "$CONCORD" registry apply --dsn "$olivia_dsn" --project wayfarer/travel demo/registry | grep -v "$unchanged"
    "$CONCORD" registry apply --dsn "$olivia_dsn" --project wayfarer/travel demo/registry | tail -n 1
)

echo
echo "=== the REST API and the operator CLI (concord api, concord explain|approve|watch)"
# the API's own login: it speaks for nobody; each caller's API token says who acts
psql "$dsn" -X -q -v ON_ERROR_STOP=1 -c "DO \$\$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_api') THEN
        CREATE ROLE demo_api LOGIN IN ROLE concord_app, concord_approver;
    END IF; END \$\$"
api_dsn=$("$PY" -c 'import sys; from psycopg.conninfo import make_conninfo
print(make_conninfo(sys.argv[1], user="demo_api", password=None))' "$dsn")
token_of() {
    psql "$dsn" -X -A -t -v ON_ERROR_STOP=1 \
        -c "SELECT token FROM concord.create_api_token('$1', interval '1 hour', label => 'make demo')"
}
alice_token=$(token_of alice)
dana_token=$(token_of dana)
api_port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$CONCORD" api --dsn "$api_dsn" --port "$api_port" >"$work/api.log" 2>&1 &
api_pid=$!
api="http://127.0.0.1:$api_port"
started=$SECONDS
until "$PY" -c 'import sys, httpx; sys.exit(httpx.get(sys.argv[1] + "/ready").status_code != 200)' "$api" \
    2>/dev/null; do
    kill -0 "$api_pid" 2>/dev/null || die "the API exited before it was ready"
    ((SECONDS - started < START_TIMEOUT)) || die "the API was not ready within ${START_TIMEOUT}s"
    sleep 0.2
done
echo "concord api (pid $api_pid): $api"
echo "--- alice: POST /commands (publish_report to finance@example.com, as a person would)"
publish=$("$PY" - "$api" "$alice_token" <<'PY'
import json, sys, httpx
answer = httpx.post(
    sys.argv[1] + "/commands",
    headers={"Authorization": "Bearer " + sys.argv[2], "Concord-Project": "acme/finance"},
    json={"command_type": "publish_report", "ingress": "user_request",
          "payload": {"report": "reports/monthly_revenue-2026-05.pdf",
                      "destination": "finance@example.com"}},
)
print(answer.status_code, json.dumps({k: answer.json()[k] for k in ("status", "created")}),
      file=sys.stderr)
print(answer.json()["command_id"])
PY
)
export CONCORD_DSN=$api_dsn
echo "--- alice: concord explain (why does it wait?)"
CONCORD_TOKEN=$alice_token "$CONCORD" explain "$publish"
echo "--- dana: concord approvals, then concord approve"
CONCORD_TOKEN=$dana_token "$CONCORD" approvals
approval=$(CONCORD_TOKEN=$dana_token "$CONCORD" approvals --json | "$PY" -c 'import json, sys
print([a["approval_id"] for a in json.load(sys.stdin) if a["command_id"] == sys.argv[1]][0])' "$publish")
CONCORD_TOKEN=$dana_token "$CONCORD" approve "$approval" --reason "finance may see it"
echo "--- alice: concord watch (follows its timeline until it finishes; exit 0: succeeded)"
CONCORD_TOKEN=$alice_token "$CONCORD" watch "$publish" --timeout 30
unset CONCORD_DSN
stop "$api_pid" || true
api_pid=""

echo
echo "=== what the hotel vendor saw (demo/hotel_vendor.py)"
grep -v 'listening on' "$work/vendor.log" || true

echo
echo "=== stopping the worker and the vendor (SIGTERM)"
rc=0
stop "$worker_pid" || rc=$?
pid=$worker_pid
worker_pid=""
grep "concord worker $EXECUTOR_ID stopped" "$work/worker.log" || die "the worker did not say it stopped"
kill -0 "$pid" 2>/dev/null && die "the worker (pid $pid) is still running"
((rc == 0)) || die "the worker exited with status $rc"
echo "worker pid $pid: exited, status $rc"
rc=0
stop "$vendor_pid" || rc=$?
pid=$vendor_pid
vendor_pid=""
((rc == 0)) || die "the hotel vendor exited with status $rc"
echo "hotel vendor pid $pid: exited, status $rc"

echo
echo "Every command of the demo by type and status (the worker also ran the tour's queued"
echo "digest and board pack, and the expire_approvals schedule if a minute began meanwhile):"
psql "$dsn" -X -q -v ON_ERROR_STOP=1 -P footer=off -c "SELECT command_type, status, count(*) AS commands,
        string_agg(DISTINCT requested_by, ', ') AS requested_by
    FROM concord.commands GROUP BY command_type, status ORDER BY command_type, status"
echo "The database concord_demo is kept: explore it with 'make db' then psql (dbname=concord_demo)."
