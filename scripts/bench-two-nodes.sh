#!/usr/bin/env bash
# Several daemons on one PostgreSQL database (SPEC §10): how fast one node and two nodes (one
# shared var/) apply N small files, and how long after a SIGKILL of one node the other has
# finished the files the killed one held (target: lease + 5 s).
#
#   eval "$(scripts/pg-test-cluster.sh)"      # or any server: KRAVFLYT_TEST_POSTGRES=URL
#   cargo build --release && scripts/bench-two-nodes.sh
#
# N (600), LEASE (3s) and BIN (target/release/kravflyt) may be set. Each measurement gets a
# database of its own, dropped at the end.
set -euo pipefail
: "${KRAVFLYT_TEST_POSTGRES:?set KRAVFLYT_TEST_POSTGRES to a PostgreSQL URL (scripts/pg-test-cluster.sh)}"
N=${N:-600}
LEASE=${LEASE:-3s}
BIN=$(realpath "${BIN:-target/release/kravflyt}")
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
DBS=()
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    for db in "${DBS[@]}"; do psql -q "$KRAVFLYT_TEST_POSTGRES" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }

# A workspace with its own database, in $dir (no command substitution: its subshell would run
# the cleanup trap and keep the daemons' output open).
workspace() {
    local name=$1 db="kravflyt_bench_${1}_$$"
    psql -q "$KRAVFLYT_TEST_POSTGRES" -c "CREATE DATABASE $db" >/dev/null
    DBS+=("$db")
    local url=${KRAVFLYT_TEST_POSTGRES%%\?*}
    dir=$WORK/$name
    url="${url%/*}/$db?${KRAVFLYT_TEST_POSTGRES#*\?}"
    mkdir -p "$dir"
    cp "$REPO/config/rules.toml" "$dir/"
    for node in a b; do
        sed 's/quiet_period = "5s"/quiet_period = "0s"/' "$REPO/config/kravflyt.toml" >"$dir/$node.toml"
        printf '\n[store]\nurl = "%s"\n\n[node]\nname = "%s"\nlease = "%s"\n' "$url" "$node" "$LEASE" >>"$dir/$node.toml"
    done
}

# N small invoice files (two rows each, a customer each) into the inbox.
drop_files() {
    local inbox=$1/var/inbox/nordlys
    mkdir -p "$inbox"
    for ((f = 0; f < N; f++)); do
        printf 'creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount\n923609016;%d-0;b%d;person;Kunde %d;Vei 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;%d,00\n923609016;%d-1;b%d;person;Kunde %d;Vei 1;9008;Tromsø;2026-09-01;2026-09-15;NOK;%d,50\n' \
            "$f" "$f" "$f" $((100 + f)) "$f" "$f" "$f" $((100 + f)) >"$inbox/.f$f.csv"
        mv "$inbox/.f$f.csv" "$inbox/f$f.csv"
    done
}

receipts() { find "$1/var/outbox/nordlys" -name 'receipt-*.csv' 2>/dev/null | wc -l; }
in_work() { find "$1/var/work" -type f 2>/dev/null | wc -l; }

start() { # dir node; its pid in $pid
    KRAVFLYT_LOG=info "$BIN" --config "$1/$2.toml" --data-dir "$1" run >/dev/null 2>>"$1/$2.log" &
    pid=$!
    PIDS+=("$pid")
}

wait_started() { until [ -s "$1/var/kravflyt.$2.lock" ]; do sleep 0.05; done; }

wait_done() { until [ "$(receipts "$1")" -ge "$N" ] && [ "$(in_work "$1")" -eq 0 ]; do sleep 0.02; done; }

throughput() { # nodes
    local pids=() t0 t1
    workspace "tp$1"
    for node in a b; do
        [ "$node" = b ] && [ "$1" -lt 2 ] && break
        start "$dir" $node
        pids+=("$pid")
        wait_started "$dir" $node
    done
    sleep 1 # the first daily steps out of the way
    t0=$(now)
    drop_files "$dir"
    wait_done "$dir"
    t1=$(now)
    for pid in "${pids[@]}"; do kill -TERM "$pid"; wait "$pid" || true; done
    echo "$1 node(s): $N files in $(echo "$t1 - $t0" | bc -l | xargs printf '%.2f') s = $(echo "$N / ($t1 - $t0)" | bc -l | xargs printf '%.0f') files/s (including dropping them)"
}

takeover() {
    local a b t0 t1
    workspace takeover
    start "$dir" a
    a=$pid
    wait_started "$dir" a
    start "$dir" b
    b=$pid
    wait_started "$dir" b
    drop_files "$dir"
    # Kill a once it holds files in work/a.
    until [ "$(find "$dir/var/work/a" -type f 2>/dev/null | wc -l)" -gt 0 ]; do sleep 0.005; done
    kill -9 "$a"
    t0=$(now)
    mapfile -t names < <(find "$dir/var/work/a" -type f -printf '%f\n')
    # Finished: each file a held has its receipt (it was applied, or found committed, and
    # moved), and work/a is empty.
    for name in "${names[@]}"; do
        until [ -e "$dir/var/outbox/nordlys/receipt-$name.csv" ]; do sleep 0.02; done
    done
    until [ "$(find "$dir/var/work/a" -type f 2>/dev/null | wc -l)" -eq 0 ]; do sleep 0.02; done
    t1=$(now)
    held=${#names[@]}
    wait_done "$dir"
    kill -TERM "$b"
    wait "$b" || true
    echo "takeover: node a killed holding $held file(s); node b finished them (and the rest) $(echo "$t1 - $t0" | bc -l | xargs printf '%.2f') s later (lease $LEASE)"
    grep -h "took over" "$dir/b.log" | sed 's/^/  /'
}

throughput 1
throughput 2
takeover
