#!/usr/bin/env bash
# Many small files dropped at once (issue 14): FILES files of RECORDS invoices each land in one
# inbox together and one `kravflyt process` (quiet period 0 s) takes them all. Target: at
# least 600 files/s for 600 files of 5 invoices.
#
#   scripts/bench-many-files.sh [FILES]      (default FILES = 600)
#
# Environment (all optional):
#   RECORDS=5         invoices per file
#   RUNS=1            timed runs, each on a fresh workspace; every run is printed
#   STRACE=1          one more run under `strace -f -y` on another fresh workspace (not timed):
#                     syscalls per file, fsync/fdatasync per file by what they sync (the
#                     database's WAL, the database, folders, files), renames per file, and
#                     SQLite write transactions per file (each takes the WAL write lock, a
#                     byte-range lock on byte 120 of the -shm file, once)
#   KRAVFLYT_BIN=...  time this kravflyt binary instead of building one (an earlier build, for
#                     before-and-after figures on the same data; kravflyt-gen is still built)
#   BENCH_DIR=...     work folder (default: a new temporary folder, removed at the end)
#   CARGO_TARGET_DIR  where cargo builds, as for cargo itself
#
# 1. builds kravflyt and kravflyt-gen (release); `kravflyt-gen FILES*RECORDS` writes that many
#    invoices for `nordlys` (deterministic), which are cut into FILES canonical CSV files of
#    RECORDS rows, each with the header (many-00001.csv, …);
# 2. per run, a fresh workspace in a folder of its own (the shipped configuration with
#    quiet_period 0 s, and the rule tables; nothing is deleted until the end: on ext4 without a
#    journal, creating files soon after many were deleted nearby is slow, `recently_deleted`,
#    which would time the script's own clean-up); the files are copied next to the inbox and
#    renamed into var/inbox/nordlys/ (each drop atomic, all before kravflyt starts), then
#    `process --as-of 2026-09-20` with
#    KRAVFLYT_LOG=info (nothing is due on that day: the daily steps find no letter to write);
# 3. prints, per run: files/s from the start of `process` to the `file processed` log line of
#    the last file (start, recovery, the scan and every file's claim, transaction, move and
#    receipt — what "dropped at once, processed at" means), the whole `process` wall time (also
#    the daily steps, the status file and the report), and checks every receipt accepted all
#    RECORDS records and every file is in archive/.
# Needs python3 (and strace for STRACE=1).
set -euo pipefail
FILES="${1:-600}"
RECORDS="${RECORDS:-5}"
RUNS="${RUNS:-1}"
AS_OF=2026-09-20
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ -n "${KRAVFLYT_BIN:-}" ]; then
  cargo build --release --bin kravflyt-gen >/dev/null
  BIN="$KRAVFLYT_BIN"
else
  cargo build --release --bin kravflyt --bin kravflyt-gen >/dev/null
  BIN="$TARGET/release/kravflyt"
fi
echo "timing $BIN ($(sha256sum "$BIN" | cut -c1-16))"
if [ -n "${BENCH_DIR:-}" ]; then
  WORK="$BENCH_DIR"
  rm -rf "$WORK" && mkdir -p "$WORK"
else
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/bench-many-files.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
fi

# --- the files -----------------------------------------------------------------------------
N=$((FILES * RECORDS))
"$TARGET/release/kravflyt-gen" "$N" "$WORK/data" 2>/dev/null
mkdir -p "$WORK/files"
python3 - "$WORK/data/nordlys/invoices-$N.csv" "$WORK/files" "$RECORDS" <<'PY'
import sys
source, out, per_file = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(source, "rb") as f:
    header, *rows = f.read().splitlines(keepends=True)
for i in range(0, len(rows), per_file):
    with open(f"{out}/many-{i // per_file + 1:05}.csv", "wb") as f:
        f.write(header + b"".join(rows[i:i + per_file]))
PY
echo "$FILES files of $RECORDS invoices each (kravflyt-gen $N, cut into files)"

# fresh_workspace DIR: the shipped configuration with quiet_period 0 s and the files dropped
# into the inbox, each by a rename.
fresh_workspace() {
  local ws="$1"
  mkdir -p "$ws/var/inbox/nordlys" "$ws/var/drop"
  sed 's/quiet_period = "5s"/quiet_period = "0s"/' config/kravflyt.toml > "$ws/kravflyt.toml"
  grep -q 'quiet_period = "0s"' "$ws/kravflyt.toml"
  cp config/rules.toml "$ws/rules.toml"
  cp "$WORK"/files/*.csv "$ws/var/drop/"
  (cd "$ws/var/drop" && for f in *.csv; do mv "$f" "../inbox/nordlys/$f"; done)
  rmdir "$ws/var/drop"
  sync
}

# check_workspace DIR: every file archived, every receipt accepting all its records.
check_workspace() {
  local ws="$1" archived receipts
  archived=$(find "$ws/var/archive/nordlys" -type f -name 'many-*.csv' | wc -l)
  receipts=$(grep -l ";accepted;$RECORDS;$RECORDS;" "$ws"/var/outbox/nordlys/receipt-many-*.csv.csv | wc -l)
  if [ "$archived" != "$FILES" ] || [ "$receipts" != "$FILES" ]; then
    echo "expected $FILES files archived and $FILES receipts accepting $RECORDS records;" \
      "found $archived and $receipts" >&2
    exit 1
  fi
}

# --- the timed runs ------------------------------------------------------------------------
for run in $(seq 1 "$RUNS"); do
  ws="$WORK/run-$run"
  fresh_workspace "$ws"
  log="$WORK/run.$run.log"
  t0=$EPOCHREALTIME
  KRAVFLYT_LOG=info "$BIN" --log-format json --config "$ws/kravflyt.toml" --data-dir "$ws" \
    process --as-of "$AS_OF" >/dev/null 2>"$log"
  t1=$EPOCHREALTIME
  check_workspace "$ws"
  python3 - "$t0" "$t1" "$log" "$FILES" "$run" <<'PY'
import json, sys
from datetime import datetime
t0, t1, log, files, run = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
last = None
count = 0
for line in open(log):
    try:
        event = json.loads(line)
    except ValueError:
        continue
    if event.get("message") == "file processed":
        count += 1
        last = event
if count != files or last is None:
    sys.exit(f"{count} 'file processed' lines in {log}, expected {files}")
done = datetime.fromisoformat(last["timestamp"].replace("Z", "+00:00")).timestamp() - t0
rate = files / done
print(f"run {run}: {files} files in {done:.3f} s = {rate:.0f} files/s (start to the last receipt;"
      f" target ≥ 600: {'met' if rate >= 600 else 'NOT met'});"
      f" whole process {t1 - t0:.3f} s (with the daily steps, status file and report)")
PY
done

# --- syscalls per file ---------------------------------------------------------------------
if [ "${STRACE:-0}" = 1 ]; then
  ws="$WORK/strace"
  fresh_workspace "$ws"
  KRAVFLYT_LOG=warn strace -f -y -qq -o "$WORK/strace.txt" \
    "$BIN" --config "$ws/kravflyt.toml" --data-dir "$ws" process --as-of "$AS_OF" >/dev/null
  check_workspace "$ws"
  python3 - "$WORK/strace.txt" "$FILES" <<'PY'
import collections, re, sys
trace, files = sys.argv[1], int(sys.argv[2])
calls = collections.Counter()
syncs = collections.Counter()
total = 0
write_transactions = 0
# strace -f -y: "PID name(args) = result"; -y shows what a descriptor is: fsync(5</path>).
line_re = re.compile(r"^\d+\s+([a-z_0-9]+)\((.*)")
for line in open(trace):
    m = line_re.match(line)
    if not m:
        continue  # resumed/unfinished halves and signals
    name, args = m.groups()
    total += 1
    calls[name] += 1
    if name == "fcntl" and "-shm>" in args and "F_WRLCK" in args and "l_start=120," in args:
        write_transactions += 1
    if name in ("fsync", "fdatasync"):
        path = re.match(r"\d+<([^>]*)>", args)
        path = path.group(1) if path else "?"
        if path.endswith("-wal"):
            what = "the WAL (a commit, or a checkpoint)"
        elif path.endswith(".db"):
            what = "the database (checkpoint)"
        elif "/.receipt-" in path or "kravflyt-tmp" in path:
            what = "a receipt's temporary file"
        elif re.search(r"/var/(inbox|work|archive|rejected|outbox)(/|$)", path) and "." not in path.rsplit("/", 1)[-1]:
            what = "a folder " + re.sub(r".*/var/([a-z]+).*", r"\1/…", path)
        else:
            what = path
        syncs[what] += 1
renames = sum(calls[n] for n in ("rename", "renameat", "renameat2"))
print(f"syscalls under strace, {files} files: {total} in all = {total / files:.1f} per file")
print(f"  fsync + fdatasync: {calls['fsync'] + calls['fdatasync']} = {(calls['fsync'] + calls['fdatasync']) / files:.2f} per file")
for what, n in sorted(syncs.items(), key=lambda kv: -kv[1]):
    print(f"    {n:6}  {n / files:5.2f} per file  {what}")
print(f"  renames: {renames} = {renames / files:.2f} per file")
print(f"  SQLite write transactions: {write_transactions} = {write_transactions / files:.2f} per file")
for name in ("openat", "pwrite64", "pread64", "write", "read", "statx", "fcntl", "getdents64"):
    if calls[name]:
        print(f"  {name}: {calls[name]} = {calls[name] / files:.1f} per file")
PY
fi
