#!/usr/bin/env bash
# A small file against a large database (issue 8): "from claim to receipt" of a 1 000-record
# file when the database already holds N cases. Target: under 0.3 s at N = 1 000 000.
#
#   scripts/bench-small-file.sh [N]      (default N = 10000; the issue's target is N = 1000000)
#
# Environment (all optional):
#   EXTRA=1000        records in the small file (kravflyt-gen's `--extra`)
#   RUNS=5            timed runs per small file; the best (and the median) is reported
#   BENCH_DIR=...     work folder (default target/bench-small-file-N)
#   BENCH_REUSE=1     keep the prepared workspace of an earlier run with the same N, EXTRA and
#                     kravflyt binary (preparing N = 1 000 000 takes minutes)
#   CARGO_TARGET_DIR  where cargo builds, as for cargo itself
#   BENCH_POSTGRES=URL  the ledger in PostgreSQL (SPEC §10; issue 15): URL of a maintenance
#                     database of the server (e.g. the KRAVFLYT_TEST_POSTGRES that
#                     scripts/pg-test-cluster.sh prints). The prepared ledger is the database
#                     `kravflyt_small_prepared`; each run gets a copy of it
#                     (CREATE DATABASE … TEMPLATE), as the workspace folder is copied. Needs psql.
#
# 1. builds kravflyt and kravflyt-gen (release); `kravflyt-gen N DATA --extra EXTRA` writes the
#    N invoices for `nordlys` and two small files: EXTRA new invoices (new invoice numbers,
#    about half for existing customers, so they join their cases) and EXTRA bank payments of
#    the N invoices' KIDs;
# 2. prepares a workspace (quiet period 0 s): `process --as-of 2026-10-01` of the N invoices
#    and the N bank payments (about a tenth stay unmatched, waiting for invoices), timed once.
#    N invoices make about 0.6 N cases (a third of the generated customers have two to four
#    invoices, which join one case; the script prints the count), each with its
#    collection notice: for a database of 1 000 000 cases, run with N = 1670000;
# 3. for each small file, RUNS times: `cp -a` the prepared workspace (every run sees the same
#    database), drop the file into the inbox and run `process --as-of 2026-10-01` with
#    KRAVFLYT_LOG=info. It reports
#      - wall: the whole `process` (start, open, scan, the file, the daily steps over the N
#        cases — nothing is due again on that day except the new cases — the reconciliation
#        and outbound files), measured by the script;
#      - file ms: the `ms=` of the log line `file processed` — claim to receipt written, without
#        process start and the rest of the run: the figure the target is about;
#      - peak RSS of the run (GNU time);
#    and checks that the receipt accepted every record.
# Needs /usr/bin/time (Debian package `time`) and python3.
set -euo pipefail
N="${1:-10000}"
EXTRA="${EXTRA:-1000}"
RUNS="${RUNS:-5}"
AS_OF=2026-10-01
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${BENCH_DIR:-$ROOT/target/bench-small-file-$N}"
cd "$ROOT"
cargo build --release --bin kravflyt --bin kravflyt-gen >/dev/null
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/kravflyt"
PREPARED="$WORK/prepared"
# A prepared workspace is reused only with the same build (a schema migration would be timed).
STAMP="N=$N EXTRA=$EXTRA kravflyt=$(sha256sum "$BIN" | cut -c1-16)"

# pg_url DB: BENCH_POSTGRES with its database replaced by DB.
pg_url() {
  printf '%s' "$BENCH_POSTGRES" | sed -E "s#/[^/?]+(\\?|\$)#/$1\\1#"
}
if [ -n "${BENCH_POSTGRES:-}" ]; then
  STAMP="$STAMP store=postgresql"
fi

# --- data and the prepared workspace -------------------------------------------------------
if [ "${BENCH_REUSE:-0}" = 1 ] && [ "$(cat "$WORK/prepared.done" 2>/dev/null)" = "$STAMP" ]; then
  echo "reusing the prepared workspace $PREPARED ($STAMP)"
else
  rm -rf "$WORK" && mkdir -p "$WORK"
  "$TARGET/release/kravflyt-gen" "$N" "$WORK/data" --extra "$EXTRA" 2>/dev/null
  mkdir -p "$PREPARED/var/inbox/nordlys" "$PREPARED/var/inbox/bank"
  sed 's/quiet_period = "5s"/quiet_period = "0s"/' config/kravflyt.toml > "$PREPARED/kravflyt.toml"
  grep -q 'quiet_period = "0s"' "$PREPARED/kravflyt.toml"
  cp config/rules.toml "$PREPARED/rules.toml"
  if [ -n "${BENCH_POSTGRES:-}" ]; then
    psql -q "$BENCH_POSTGRES" -c "DROP DATABASE IF EXISTS kravflyt_small_prepared" \
      -c "CREATE DATABASE kravflyt_small_prepared"
    printf '\n[store]\nurl = "%s"\n' "$(pg_url kravflyt_small_prepared)" >> "$PREPARED/kravflyt.toml"
  fi
  cp "$WORK/data/nordlys/invoices-$N.csv" "$PREPARED/var/inbox/nordlys/"
  # The N bank payments too: the database then also holds their allocations and about N/10
  # unmatched payments waiting, which every new invoice file could match.
  cp "$WORK/data/bank/payments-$N.csv" "$PREPARED/var/inbox/bank/"
  /usr/bin/time -f "%e %M" -o "$WORK/prepare.time" \
    env KRAVFLYT_LOG=warn "$BIN" --config "$PREPARED/kravflyt.toml" --data-dir "$PREPARED" \
    process --as-of "$AS_OF" >/dev/null
  grep -q ";accepted;$N;$N;" "$PREPARED/var/outbox/nordlys/receipt-invoices-$N.csv.csv"
  grep -q ";accepted;" "$PREPARED/var/outbox/bank/receipt-payments-$N.csv.csv"
  read -r secs rss < "$WORK/prepare.time"
  echo "prepared: $N invoices and their payments processed as of $AS_OF in ${secs} s, peak RSS $((rss / 1024)) MiB;" \
    "workspace $(du -sh "$PREPARED/var" | cut -f1)"
  echo "$STAMP" > "$WORK/prepared.done"
fi
# About 0.6 cases per invoice: a third of the generated customers have two to four invoices.
if [ -n "${BENCH_POSTGRES:-}" ]; then
  CASES=$(psql -qtA "$(pg_url kravflyt_small_prepared)" -c "SELECT count(*) FROM cases")
else
  CASES=$(python3 -c "import sqlite3, sys; print(sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True).execute('SELECT count(*) FROM cases').fetchone()[0])" "$PREPARED/var/kravflyt.db")
fi
echo "the prepared database holds $CASES cases ($N invoices)"

# --- the small files -----------------------------------------------------------------------
# bench_file SENDER FILE: RUNS runs on copies of the prepared workspace; one line per run to
# $WORK/<file>.runs: wall_ms file_ms peak_rss_kib
bench_file() {
  local sender="$1" file="$2" run ws log t0 t1 file_ms rss
  : > "$WORK/$file.runs"
  for run in $(seq 1 "$RUNS"); do
    ws="$WORK/run"
    rm -rf "$ws"
    cp -a "$PREPARED" "$ws"
    if [ -n "${BENCH_POSTGRES:-}" ]; then
      psql -q "$BENCH_POSTGRES" -c "DROP DATABASE IF EXISTS kravflyt_small_run" \
        -c "CREATE DATABASE kravflyt_small_run TEMPLATE kravflyt_small_prepared"
      sed -i "s#kravflyt_small_prepared#kravflyt_small_run#" "$ws/kravflyt.toml"
    fi
    cp "$WORK/data/$sender/$file" "$ws/var/inbox/$sender/"
    log="$WORK/$file.$run.log"
    sync
    t0=$EPOCHREALTIME
    /usr/bin/time -f "%M" -o "$WORK/$file.time" \
      env KRAVFLYT_LOG=info "$BIN" --config "$ws/kravflyt.toml" --data-dir "$ws" \
      process --as-of "$AS_OF" >/dev/null 2>"$log"
    t1=$EPOCHREALTIME
    grep -q ";accepted;$EXTRA;$EXTRA;" "$ws/var/outbox/$sender/receipt-$file.csv" || {
      echo "the receipt of $sender/$file does not accept all $EXTRA records:" >&2
      head -3 "$ws/var/outbox/$sender/receipt-$file.csv" >&2
      exit 1
    }
    file_ms=$(grep 'file processed' "$log" | grep -F "file=$file" | sed -E 's/.* ms=([0-9]+).*/\1/')
    [ -n "$file_ms" ] || { echo "no 'file processed ... ms=' line in $log" >&2; exit 1; }
    rss=$(tail -1 "$WORK/$file.time")
    python3 -c "print(round(($t1 - $t0) * 1000), $file_ms, $rss)" >> "$WORK/$file.runs"
  done
  rm -rf "$WORK/run"
}

bench_file nordlys "invoices-extra-$EXTRA.csv"
bench_file bank "payments-extra-$EXTRA.csv"

python3 - "$N" "$EXTRA" "$RUNS" "$WORK" "$CASES" <<'PY'
import statistics, sys
n, extra, runs, work, cases = sys.argv[1:]
print(f"N = {n} invoices = {cases} cases in the database; a file of {extra} records, best of {runs} runs (median in brackets):")
for label, name in (("new invoices", f"invoices-extra-{extra}.csv"),
                    ("payments    ", f"payments-extra-{extra}.csv")):
    rows = [tuple(map(int, line.split())) for line in open(f"{work}/{name}.runs")]
    wall = [r[0] for r in rows]
    file_ms = [r[1] for r in rows]
    rss = max(r[2] for r in rows)
    print(f"{extra} {label}  claim to receipt (log ms=) {min(file_ms) / 1000:6.3f} s"
          f" ({statistics.median(file_ms) / 1000:.3f})   whole process {min(wall) / 1000:6.3f} s"
          f" ({statistics.median(wall) / 1000:.3f})   peak RSS {rss / 1024:.1f} MiB   target < 0.3 s:"
          f" {'met' if min(file_ms) < 300 else 'NOT met'}")
PY
