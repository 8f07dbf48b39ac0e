#!/usr/bin/env bash
# The daemon's latency (issue 8): from a file landing in an inbox to its receipt in the outbox,
# with the shipped quiet period. Target: the quiet period + 0.5 s.
#
#   scripts/bench-latency.sh
#
# Environment (all optional):
#   ROUNDS=10         files dropped, one after the other
#   RECORDS=10        invoices per file
#   BENCH_DIR=...     work folder (default target/bench-latency)
#   CARGO_TARGET_DIR  where cargo builds, as for cargo itself
#
# 1. builds kravflyt (release) and makes a fresh workspace with the shipped configuration
#    (config/kravflyt.toml as it is: quiet_period 5 s, scan_interval 2 s) and rule tables;
# 2. starts the daemon, `kravflyt run`, and waits for its "kravflyt is running" log line;
# 3. ROUNDS times: writes RECORDS new invoices for `nordlys` as `latency-R.csv.tmp` (ignored by
#    intake), renames it to `latency-R.csv` in var/inbox/nordlys/ (the atomic drop an SFTP
#    upload ends with) and polls every millisecond for var/outbox/nordlys/receipt-latency-R.csv.csv
#    (the outbox writes a temporary file and renames it, so the receipt appears whole);
#    latency = receipt seen − rename done. Between rounds it waits 0–2 s (fixed seed) so the
#    drops fall at different points of the daemon's rescan cycle;
# 4. prints min / median / max of the latencies against the quiet period + 0.5 s, and the
#    median `ms=` of the daemon's `file processed` log lines (the file's own processing);
# 5. stops the daemon with SIGTERM, also when anything above fails (trap), and checks that it
#    stopped cleanly.
# Needs python3. The daemon's log is left in BENCH_DIR/daemon.log.
set -euo pipefail
ROUNDS="${ROUNDS:-10}"
RECORDS="${RECORDS:-10}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${BENCH_DIR:-$ROOT/target/bench-latency}"
cd "$ROOT"
cargo build --release --bin kravflyt --bin kravflyt-gen >/dev/null
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/kravflyt"

rm -rf "$WORK" && mkdir -p "$WORK/ws"
WS="$WORK/ws"
cp config/kravflyt.toml "$WS/kravflyt.toml"
cp config/rules.toml "$WS/rules.toml"
# The inbox exists before the daemon starts, so it is watched from the first moment.
mkdir -p "$WS/var/inbox/nordlys"
QUIET=$(sed -nE 's/^quiet_period = "([0-9.]+)s".*/\1/p' "$WS/kravflyt.toml" | head -1)
SCAN=$(sed -nE 's/^scan_interval = "([0-9.]+)s".*/\1/p' "$WS/kravflyt.toml" | head -1)
[ -n "$QUIET" ] || { echo "cannot read quiet_period (in seconds) from config/kravflyt.toml" >&2; exit 1; }

DAEMON=""
LOG="$WORK/daemon.log"
stop_daemon() {
  if [ -n "$DAEMON" ] && kill -0 "$DAEMON" 2>/dev/null; then
    kill -TERM "$DAEMON"
    local status=0
    wait "$DAEMON" || status=$?
    DAEMON=""
    return "$status"
  fi
}
trap 'stop_daemon || true' EXIT
trap 'exit 130' INT TERM

KRAVFLYT_LOG=info "$BIN" --config "$WS/kravflyt.toml" --data-dir "$WS" run 2>"$LOG" &
DAEMON=$!
for _ in $(seq 1 300); do
  grep -q "kravflyt is running" "$LOG" && break
  kill -0 "$DAEMON" 2>/dev/null || { echo "the daemon stopped:" >&2; cat "$LOG" >&2; exit 1; }
  sleep 0.1
done
grep -q "kravflyt is running" "$LOG" || { echo "the daemon did not start within 30 s" >&2; exit 1; }
if grep -qE "file events unavailable|cannot watch the inbox" "$LOG"; then
  echo "note: the daemon runs without file events (rescans only):" >&2
  grep -E "file events unavailable|cannot watch the inbox" "$LOG" >&2
fi

python3 - "$WS/var" "$ROUNDS" "$RECORDS" "$DAEMON" > "$WORK/latencies" <<'PY'
import os, random, sys, time
var, rounds, records, daemon = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
inbox = os.path.join(var, "inbox", "nordlys")
outbox = os.path.join(var, "outbox", "nordlys")
pause = random.Random(8)

def daemon_alive():
    # The daemon is the shell's child: once dead it stays a zombie until the shell reaps it.
    try:
        with open(f"/proc/{daemon}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

header = ("creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;"
          "issue_date;due_date;currency;amount\n")
for r in range(1, rounds + 1):
    name = f"latency-{r}.csv"
    temp = os.path.join(inbox, name + ".tmp")
    with open(temp, "w", encoding="utf-8") as f:
        f.write(header)
        for i in range(records):
            number = r * 1000 + i
            f.write(f"923609016;L{number};C{number};person;Kunde {number};Storgata {i + 1};9008;"
                    f"Tromsø;2026-11-01;2026-11-15;NOK;{100 + i},{r:02d}\n")
        f.flush()
        os.fsync(f.fileno())
    receipt = os.path.join(outbox, f"receipt-{name}.csv")
    os.rename(temp, os.path.join(inbox, name))
    dropped = time.monotonic()
    polls = 0
    while not os.path.exists(receipt):
        polls += 1
        if polls % 100 == 0:
            if time.monotonic() - dropped > 60:
                sys.exit(f"no receipt for {name} after 60 s")
            if not daemon_alive():
                sys.exit("the daemon stopped")
        time.sleep(0.001)
    latency = time.monotonic() - dropped
    print(f"{name} {latency:.4f}", flush=True)
    print(f"round {r}: {latency:.3f} s", file=sys.stderr)
    if r < rounds:
        time.sleep(pause.uniform(0, 2))
PY

if ! stop_daemon; then
  echo "the daemon did not stop cleanly after SIGTERM; its log: $LOG" >&2
  exit 1
fi
grep -q "stopping: the file in hand was finished" "$LOG" || { echo "no clean-stop line in $LOG" >&2; exit 1; }
accepted=$(grep -c "file=latency-.* status=accepted" "$LOG" || true)
[ "$accepted" -ge "$ROUNDS" ] || { echo "only $accepted of $ROUNDS files accepted; see $LOG" >&2; exit 1; }

python3 - "$WORK/latencies" "$LOG" "$QUIET" "${SCAN:-?}" "$RECORDS" <<'PY'
import re, statistics, sys
path, log, quiet, scan, records = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
lat = [float(line.split()[1]) for line in open(path)]
ms = [int(m.group(1)) for line in open(log)
      if "file processed" in line and "file=latency-" in line
      for m in [re.search(r" ms=(\d+)", line)] if m]
target = quiet + 0.5
print(f"daemon latency, {len(lat)} files of {records} invoices, quiet_period {quiet:g} s, scan_interval {scan} s:")
print(f"drop to receipt  min {min(lat):.3f} s  median {statistics.median(lat):.3f} s  max {max(lat):.3f} s"
      f"   target < {target:g} s (quiet period + 0.5 s): {'met' if max(lat) < target else 'NOT met'}")
if ms:
    print(f"file processing (log ms=) median {statistics.median(ms) / 1000:.3f} s;"
          f" latency above the quiet period, median {statistics.median(lat) - quiet:.3f} s")
PY
