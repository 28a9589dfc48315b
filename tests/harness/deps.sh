#!/usr/bin/env bash
# Installs the Debian packages Concord's build and tests need, only if any is missing.
#
# PostgreSQL major version V: the highest of 17/16/15 for which the server and every
# extra (pgTAP, PL/Python 3, plpgsql_check) can be installed, preferring a server that
# is already installed. PG_MAJOR=V forces a version. DEPS_DRY_RUN=1 only tells what it
# would install.
set -euo pipefail

CANDIDATES=(17 16 15)

die() { printf 'deps: %s\n' "$*" >&2; exit 1; }

command -v dpkg-query >/dev/null || die "needs a Debian-like system (dpkg/apt); install PostgreSQL (with pgTAP, plpython3u, plpgsql_check), pg_prove, python3-jsonschema and, for the server's python3, the croniter version pyproject.toml pins, by hand"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
installable() {
    local c
    c=$(apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" { print $2 }')
    [[ -n $c && $c != "(none)" ]]
}
server_pkgs() { echo "postgresql-$1 postgresql-$1-pgtap postgresql-plpython3-$1 postgresql-$1-plpgsql-check postgresql-$1-semver"; }

all_installed() {
    local p
    for p in "$@"; do installed "$p" || return 1; done
}
all_installable() {
    local p
    for p in "$@"; do installable "$p" || return 1; done
}

# Packages besides the server. pg_prove comes with `pgtap`; plpython3u imports Debian's
# python3, which must find jsonschema, and croniter's dependency dateutil; pip installs
# croniter itself (below); `python3 -m venv` needs ensurepip. The console's browser tests
# drive Debian's chromium through Playwright (which cannot download a browser here);
# the Docker tests check docker/compose.yaml with docker-compose's `config` (no engine needed).
other_pkgs=(pgtap python3-jsonschema python3-dateutil python3-pip chromium docker-compose)
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    other_pkgs+=(python3-venv)
fi

# The database checks schedules' crons with croniter (sql/runtime/schedules.sql), the parser
# DBOS's scheduler uses, at the version the worker has: pyproject.toml pins it. Debian's
# python3-croniter is another major version that accepts other crons, so pip installs the
# pin for the server's python (Debian's /usr/bin/python3, which plpython3u embeds) into
# /usr/local/lib/python3*/dist-packages, outside the files apt manages.
SERVER_PY=/usr/bin/python3
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CRONITER=$(sed -n 's/^ *"croniter==\([^"]*\)".*/\1/p' "$ROOT/pyproject.toml")
[[ -n $CRONITER ]] || die "pyproject.toml pins no croniter version (\"croniter==X\")"
croniter_ok() {
    "$SERVER_PY" -c "import sys, importlib.metadata as m, croniter
sys.exit(m.version('croniter') != '$CRONITER')" >/dev/null 2>&1
}
install_croniter() {
    croniter_ok && return 0
    echo "deps: installing croniter $CRONITER for $SERVER_PY" >&2
    [[ -z ${DEPS_DRY_RUN:-} ]] || return 0
    ((EUID == 0)) || die "croniter $CRONITER is missing for $SERVER_PY and installing it needs root: run 'sudo make deps'"
    "$SERVER_PY" -m pip install -q --no-deps --break-system-packages "croniter==$CRONITER" \
        >/tmp/concord-deps-pip.log 2>&1 \
        || { tail -n 20 /tmp/concord-deps-pip.log >&2; die "pip install croniter==$CRONITER failed"; }
    croniter_ok || die "croniter $CRONITER installed but $SERVER_PY does not import it"
}

# Fast path: everything already there (no apt-cache, no network).
versions=("${CANDIDATES[@]}")
[[ -n ${PG_MAJOR:-} ]] && versions=("$PG_MAJOR")
for v in "${versions[@]}"; do
    # shellcheck disable=SC2046
    if all_installed $(server_pkgs "$v") "${other_pkgs[@]}"; then
        install_croniter
        echo "deps: all present (PostgreSQL $v)"
        exit 0
    fi
done

[[ -n ${DEPS_DRY_RUN:-} ]] || ((EUID == 0)) || die "packages are missing and installing them needs root: run 'sudo make deps' (PostgreSQL ${versions[*]} with pgtap, plpython3, plpgsql-check; pgtap; python3-jsonschema, python3-dateutil, python3-pip; croniter $CRONITER for $SERVER_PY)"

export DEBIAN_FRONTEND=noninteractive
echo "deps: something is missing; apt-get update" >&2
if [[ -z ${DEPS_DRY_RUN:-} ]]; then
    apt-get update -q >/dev/null || die "apt-get update failed"
fi

chosen=""
# shellcheck disable=SC2046
for v in "${versions[@]}"; do # an installed server first
    if installed "postgresql-$v" && all_installable $(server_pkgs "$v"); then chosen=$v; break; fi
done
if [[ -z $chosen ]]; then
    # shellcheck disable=SC2046
    for v in "${versions[@]}"; do
        if all_installable $(server_pkgs "$v"); then chosen=$v; break; fi
    done
fi
[[ -n $chosen ]] || die "no PostgreSQL among ${versions[*]} has server, pgtap, plpython3 and plpgsql-check packages available"

missing=()
# shellcheck disable=SC2046
for p in $(server_pkgs "$chosen") "${other_pkgs[@]}"; do
    installed "$p" || missing+=("$p")
done
echo "deps: installing for PostgreSQL $chosen: ${missing[*]}" >&2
[[ -z ${DEPS_DRY_RUN:-} ]] || exit 0
apt-get install -y -q "${missing[@]}" >/tmp/concord-deps-apt.log 2>&1 \
    || { tail -n 40 /tmp/concord-deps-apt.log >&2; die "apt-get install failed (log: /tmp/concord-deps-apt.log)"; }
echo "deps: installed ${missing[*]}"
install_croniter
