#!/usr/bin/env bash
# The daily step run over many open cases (issues 8 and 14). Targets at N = 1 670 000 (a million
# open cases): the steps within 10 s, the whole run with reconciliation and files within 20 s.
#
#   scripts/bench-daily.sh [N]      (default N = 10000; the issue's target is N = 1000000)
#
# Environment (all optional):
#   RUNS=1            timed runs, each on a fresh copy of the prepared workspace; best reported
#   BENCH_DIR=...     work folder (default target/bench-daily-N)
#   BENCH_REUSE=1     keep the prepared workspace of an earlier run with the same N and
#                     kravflyt binary
#   BENCH_BIN=...     time this kravflyt binary (and prepare with it) instead of this tree's
#                     release build, e.g. an older build for a before/after comparison
#   CARGO_TARGET_DIR  where cargo builds, as for cargo itself
#
# 1. builds kravflyt and kravflyt-gen (release); `kravflyt-gen N` writes N invoices for
#    `nordlys` (due 2026-09-15; about 0.6 cases per invoice, as a third of the customers have
#    two to four invoices, which join one case; the script prints the count): for 1 000 000
#    open cases, run with N = 1670000;
# 2. prepares a workspace (quiet period 0 s): `process --as-of 2026-09-20` takes the invoices
#    (every case registered, nothing due yet: Nordlys hands over at the collection notice, which
#    may go 14 days after the due date, config/rules.toml `first_letter_after_due`), then
#    `process --as-of 2026-09-21` (nothing due; closes and reconciles 2026-09-20, so the timed
#    run does not reconcile the day the N invoices arrived);
# 3. times `process --as-of 2026-10-01` with no files on a `cp -a` copy of the prepared
#    workspace, under GNU time: every open case is due for its collection notice, so each gets
#    its interest posted, the notice with its fee and deadline, a letter row and its events, in
#    one transaction; then the reconciliation of 2026-09-21 (a quiet day), the status file with
#    every new event and the letters file. Prints the wall time and peak RSS of the whole run,
#    and from the log's timestamps how much of it came before the `daily steps run` line (start,
#    open, scan, the steps) and after it (reconciliation, status and letters files, exit);
#    checks that every case got its letter.
# Needs /usr/bin/time (Debian package `time`) and python3.
set -euo pipefail
N="${1:-10000}"
RUNS="${RUNS:-1}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${BENCH_DIR:-$ROOT/target/bench-daily-$N}"
cd "$ROOT"
cargo build --release --bin kravflyt --bin kravflyt-gen >/dev/null
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="${BENCH_BIN:-$TARGET/release/kravflyt}"
PREPARED="$WORK/prepared"
# A prepared workspace is reused only with the same build (a schema migration would be timed).
STAMP="N=$N kravflyt=$(sha256sum "$BIN" | cut -c1-16)"
kravflyt() {  # kravflyt WORKSPACE ARGS...
  local ws="$1"; shift
  "$BIN" --config "$ws/kravflyt.toml" --data-dir "$ws" "$@"
}

# --- the prepared workspace: N invoices, every case registered, nothing due ----------------
if [ "${BENCH_REUSE:-0}" = 1 ] && [ "$(cat "$WORK/prepared.done" 2>/dev/null)" = "$STAMP" ]; then
  echo "reusing the prepared workspace $PREPARED ($STAMP)"
else
  rm -rf "$WORK" && mkdir -p "$WORK"
  "$TARGET/release/kravflyt-gen" "$N" "$WORK/data" 2>/dev/null
  mkdir -p "$PREPARED/var/inbox/nordlys"
  sed 's/quiet_period = "5s"/quiet_period = "0s"/' config/kravflyt.toml > "$PREPARED/kravflyt.toml"
  grep -q 'quiet_period = "0s"' "$PREPARED/kravflyt.toml"
  cp config/rules.toml "$PREPARED/rules.toml"
  cp "$WORK/data/nordlys/invoices-$N.csv" "$PREPARED/var/inbox/nordlys/"
  t0=$EPOCHREALTIME
  KRAVFLYT_LOG=warn kravflyt "$PREPARED" process --as-of 2026-09-20 >/dev/null
  grep -q ";accepted;$N;$N;" "$PREPARED/var/outbox/nordlys/receipt-invoices-$N.csv.csv"
  KRAVFLYT_LOG=warn kravflyt "$PREPARED" process --as-of 2026-09-21 >/dev/null
  t1=$EPOCHREALTIME
  echo "prepared: $N invoices as of 2026-09-20, then 2026-09-21, in $(python3 -c "print(round($t1 - $t0, 2))") s;" \
    "workspace $(du -sh "$PREPARED/var" | cut -f1)"
  echo "$STAMP" > "$WORK/prepared.done"
fi
read -r CASES REGISTERED < <(python3 -c "
import sqlite3, sys
db = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True)
print(*db.execute(\"SELECT count(*), count(*) FILTER (WHERE state = 'registered') FROM cases\").fetchone())
" "$PREPARED/var/kravflyt.db")
[ "$CASES" = "$REGISTERED" ] || { echo "expected every case registered, $REGISTERED of $CASES are" >&2; exit 1; }
echo "the prepared database holds $CASES open cases ($N invoices), none due before 2026-09-29"

# --- the timed daily run -------------------------------------------------------------------
: > "$WORK/daily.runs"
for run in $(seq 1 "$RUNS"); do
  ws="$WORK/run"
  rm -rf "$ws"
  cp -a "$PREPARED" "$ws"
  sync
  log="$WORK/daily.$run.log"
  t0=$EPOCHREALTIME
  /usr/bin/time -f "%M" -o "$WORK/daily.time" \
    env KRAVFLYT_LOG=info "$BIN" --log-format json --config "$ws/kravflyt.toml" --data-dir "$ws" \
    process --as-of 2026-10-01 >/dev/null 2>"$log"
  t1=$EPOCHREALTIME
  python3 - "$t0" "$t1" "$(tail -1 "$WORK/daily.time")" "$log" "$CASES" >> "$WORK/daily.runs" <<'PY'
import json, sys
from datetime import datetime
t0, t1, rss, log, cases = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
steps = None
for line in open(log):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("message") == "daily steps run":
        steps = event
if steps is None:
    sys.exit(f"no 'daily steps run' line in {log}")
if int(steps["letters"]) != cases:
    sys.exit(f"{steps['letters']} letters for {cases} cases: not every case was due")
at = datetime.fromisoformat(steps["timestamp"].replace("Z", "+00:00")).timestamp()
print(round(t1 - t0, 3), round(at - t0, 3), round(t1 - at, 3), rss, steps["letters"])
PY
done
rm -rf "$WORK/run"

python3 - "$N" "$CASES" "$RUNS" "$WORK/daily.runs" <<'PY'
import sys
n, cases, runs, path = sys.argv[1:]
rows = [line.split() for line in open(path)]
best = min(rows, key=lambda r: float(r[0]))
wall, steps, rest, rss, letters = float(best[0]), float(best[1]), float(best[2]), int(best[3]), best[4]
print(f"N = {n} invoices = {cases} open cases, daily run as of 2026-10-01 ({letters} collection notices),"
      f" best of {runs}:")
print(f"daily run  {wall:7.2f} s wall  (start + steps {steps:.2f} s; reconciliation + status and letters"
      f" files + exit {rest:.2f} s)   peak RSS {rss / 1024:.1f} MiB")
print(f"targets: steps <= 10 s {'met' if steps <= 10 else 'NOT met'},"
      f" whole run <= 20 s {'met' if wall <= 20 else 'NOT met'}")
PY
