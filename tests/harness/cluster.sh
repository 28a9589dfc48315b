#!/usr/bin/env bash
# Throwaway PostgreSQL cluster for this checkout's tests, demo and benchmarks.
#
#   cluster.sh start | stop | status | dsn | run -- CMD... | destroy
#
# Data, socket, port file and server log live in /tmp/concord-<hash of checkout path>/
# (PostgreSQL refuses to run as root, and a checkout under /root may be mode 700, so
# the server, run as OS user `postgres`, could not enter it). `.pgdata` in the
# checkout links there. The server listens on its unix socket only.
#
# Environment: PG_MAJOR picks the server major version (default: the highest
# installed one that has pgTAP, plpgsql_check and plpython3u; else the highest).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
HASH=$(printf '%s' "$ROOT" | sha1sum | cut -c1-10)
BASE=/tmp/concord-$HASH
DATA=$BASE/data
PORT_FILE=$BASE/port
LOG=$BASE/server.log
LINK=$ROOT/.pgdata
READY_TIMEOUT=30

die() { printf 'cluster.sh: %s\n' "$*" >&2; exit 1; }

# The major version whose server binaries we use.
pick_major() {
    if [[ -n "${PG_MAJOR:-}" ]]; then
        [[ -x /usr/lib/postgresql/$PG_MAJOR/bin/initdb ]] \
            || die "PG_MAJOR=$PG_MAJOR but /usr/lib/postgresql/$PG_MAJOR/bin/initdb is missing (run: make deps)"
        echo "$PG_MAJOR"
        return
    fi
    local v versions=() best=""
    for v in /usr/lib/postgresql/*/bin/initdb; do
        [[ -x $v ]] || continue
        v=${v#/usr/lib/postgresql/}
        versions+=("${v%%/*}")
    done
    ((${#versions[@]})) || die "no PostgreSQL server found under /usr/lib/postgresql (run: make deps)"
    # Highest first; prefer a version that has every extension Concord's tests use.
    for v in $(printf '%s\n' "${versions[@]}" | sort -rn); do
        local ext=/usr/share/postgresql/$v/extension
        if [[ -f $ext/pgtap.control && -f $ext/plpgsql_check.control && -f $ext/plpython3u.control ]]; then
            best=$v
            break
        fi
    done
    echo "${best:-$(printf '%s\n' "${versions[@]}" | sort -rn | head -n1)}"
}

MAJOR=""
BIN=""
use_major() {
    [[ -n $MAJOR ]] && return 0
    MAJOR=$(pick_major)
    BIN=/usr/lib/postgresql/$MAJOR/bin
}

# Run a command as the cluster's owner (root may not run PostgreSQL; anyone else runs it as
# themselves). Runs from $BASE: the caller's directory may be unreadable to `postgres`.
as_owner() {
    if ((EUID == 0)); then
        (cd "$BASE" && runuser -u postgres -- "$@")
    else
        (cd "$BASE" && "$@")
    fi
}

ensure_owner_user() {
    ((EUID == 0)) || return 0
    id -u postgres >/dev/null 2>&1 && return 0
    local group=--user-group
    getent group postgres >/dev/null && group="--gid=postgres"
    useradd --system "$group" --no-create-home --home-dir /var/lib/postgresql \
        --shell /bin/bash postgres
}

is_running() {
    [[ -f $DATA/PG_VERSION ]] || return 1
    use_major
    as_owner "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

port() {
    [[ -s $PORT_FILE ]] || die "no port recorded in $PORT_FILE"
    cat "$PORT_FILE"
}

dsn() {
    printf 'postgresql://postgres@/postgres?host=%s&port=%s\n' "$BASE" "$(port)"
}

# A free TCP port, the one recorded before if it still is (so the DSN stays the same
# across restarts). The server listens on its own socket folder only; the port just
# names the socket.
free_port() {
    python3 - "$(cat "$PORT_FILE" 2>/dev/null || echo 0)" <<'PY'
import socket
import sys

for port in (int(sys.argv[1]), 0):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        print(s.getsockname()[1])
        break
PY
}

init_cluster() {
    rm -rf "$DATA"
    as_owner "$BIN/initdb" -D "$DATA" --auth=trust -U postgres --encoding=UTF8 --locale=C \
        >"$BASE/initdb.log" 2>&1 || { cat "$BASE/initdb.log" >&2; die "initdb failed"; }
    # Settings for a fast throwaway cluster: durability off, socket only.
    cat >>"$DATA/postgresql.conf" <<EOF

# --- Concord throwaway test cluster (tests/harness/cluster.sh) ---
listen_addresses = ''
unix_socket_directories = '$BASE'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
shared_buffers = 128MB
EOF
}

start() {
    use_major
    ensure_owner_user
    mkdir -p "$BASE"
    if ((EUID == 0)); then chown postgres: "$BASE"; fi
    chmod 755 "$BASE"
    ln -sfn "$BASE" "$LINK"
    if is_running; then
        return 0
    fi
    # A data folder made by another major version is of no use: it is throwaway, remake it.
    if [[ ! -f $DATA/PG_VERSION || $(cat "$DATA/PG_VERSION") != "$MAJOR" ]]; then
        init_cluster
    fi
    local p
    p=$(free_port)
    echo "$p" >"$PORT_FILE"
    : >"$LOG"
    if ((EUID == 0)); then chown postgres: "$LOG"; fi
    as_owner "$BIN/pg_ctl" start -W -D "$DATA" -l "$LOG" -o "-p $p" >/dev/null \
        || { tail -n 30 "$LOG" >&2; die "pg_ctl start failed"; }
    local waited=0
    until "$BIN/pg_isready" -q -h "$BASE" -p "$p" -U postgres -d postgres; do
        # After a second, a server that is gone will not become ready: say so now.
        if ((waited >= READY_TIMEOUT * 5)) || { ((waited >= 5)) && ! is_running; }; then
            echo "--- tail of $LOG ---" >&2
            tail -n 40 "$LOG" >&2
            die "server not ready after $((waited / 5))s"
        fi
        sleep 0.2
        waited=$((waited + 1))
    done
    echo "cluster.sh: PostgreSQL $MAJOR started in $BASE" >&2
}

stop() {
    if is_running; then
        as_owner "$BIN/pg_ctl" stop -D "$DATA" -m fast -w >/dev/null
        echo "cluster.sh: stopped" >&2
    fi
}

# Serialise start/stop between concurrent invocations on the same checkout.
locked() {
    mkdir -p "$BASE"
    local fd
    exec {fd}>"$BASE/.lock"
    flock "$fd"
    "$@"
    flock -u "$fd"
    exec {fd}>&-
}

cmd=${1:-}
shift || true
case $cmd in
    start)
        locked start
        ;;
    stop)
        locked stop
        ;;
    status)
        if is_running; then
            echo "running (PostgreSQL $MAJOR, data in $DATA)"
            echo "CONCORD_DSN=$(dsn)"
        else
            echo "stopped"
            exit 3
        fi
        ;;
    dsn)
        locked start
        dsn
        ;;
    run)
        [[ ${1:-} == -- ]] && shift
        (($#)) || die "usage: cluster.sh run -- CMD..."
        if [[ -n ${CONCORD_DSN:-} ]]; then
            exec "$@"
        fi
        # Stop afterwards only what this invocation started.
        if ! is_running; then
            trap 'locked stop' EXIT
            locked start
        fi
        CONCORD_DSN=$(dsn)
        export CONCORD_DSN
        rc=0
        "$@" || rc=$?
        exit "$rc"
        ;;
    destroy)
        # Stop (if a server can be found to stop) and remove everything.
        (locked stop) || echo "cluster.sh: could not stop the server; removing its files anyway" >&2
        rm -rf "$BASE"
        rm -f "$LINK"
        ;;
    *)
        echo "usage: $0 start|stop|status|dsn|run -- CMD...|destroy" >&2
        exit 2
        ;;
esac
