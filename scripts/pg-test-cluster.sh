#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster for the tests and benchmarks, and prints the URL to put
# in KRAVFLYT_TEST_POSTGRES (SPEC §10; issue 15). PostgreSQL from the Debian packages
# (/usr/lib/postgresql/<version>/bin) refuses to run as root, so the cluster belongs to the
# unprivileged `postgres` account when run as root, and to the caller otherwise. It listens on
# 127.0.0.1 only, trusts local connections (nothing else can reach it), and lives in a folder
# under /tmp that `scripts/pg-test-cluster.sh stop <folder>` removes.
#
#   eval "$(scripts/pg-test-cluster.sh)"   # sets KRAVFLYT_TEST_POSTGRES and KRAVFLYT_PG_DIR
set -euo pipefail

if [[ "${1:-}" == "stop" ]]; then
    dir="${2:?the cluster folder}"
    bin=$(cat "$dir/bin")
    run_as=$(stat -c %U "$dir/data")
    if [[ "$(id -un)" == "$run_as" ]]; then
        "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    else
        su "$run_as" -s /bin/sh -c "'$bin/pg_ctl' -D '$dir/data' -m immediate stop" >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    exit 0
fi

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
    echo "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb); scripts/ci-setup.sh installs it" >&2
    exit 1
fi
# The first free port from 54329 on (another cluster, a developer's, may hold one).
port="${KRAVFLYT_PG_PORT:-}"
if [[ -z "$port" ]]; then
    for candidate in $(seq 54329 54429); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
            port=$candidate
            break
        fi
    done
fi
dir=$(mktemp -d /tmp/kravflyt-pg.XXXXXX)
echo "$bin" > "$dir/bin"
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        chown -R postgres "$dir"
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}
chmod 755 "$dir"
as_owner "'$bin/initdb' -D '$dir/data' -U postgres --auth=trust --locale=C.UTF-8 --encoding=UTF8 >'$dir/initdb.log' 2>&1" \
    || as_owner "'$bin/initdb' -D '$dir/data' -U postgres --auth=trust --locale=C --encoding=UTF8 >'$dir/initdb.log' 2>&1"
# fsync stays on: the crash tests kill the daemon, not the server, and the figures in
# BENCHMARKS.md are for a durable store.
as_owner "'$bin/pg_ctl' -D '$dir/data' -l '$dir/server.log' -w -o \"-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir' -c max_connections=200 -c shared_buffers=256MB\" start >/dev/null"
echo "export KRAVFLYT_TEST_POSTGRES='postgresql://postgres@127.0.0.1:$port/postgres?sslmode=disable'"
echo "export KRAVFLYT_PG_DIR='$dir'"
