#!/usr/bin/env bash
# End-to-end benchmark (issue 8): kravflyt against DuckDB doing the bare job on the same files.
#
#   scripts/bench.sh [N]        (default N = 100000; the issue's target is N = 1000000)
#
# 1. builds kravflyt and kravflyt-gen (release) and generates N invoices and N bank payments
#    (canonical CSV for nordlys and the bank) with kravflyt-gen;
# 2. kravflyt: a fresh workspace, `process --as-of 2026-10-01` (both files: every record
#    validated, cases, events, matching, receipts, status files, durable commits), then
#    `process --as-of 2026-10-02` (the daily steps and the reconciliation of 2026-10-01);
#    wall time and peak RSS of each run (GNU time);
# 3. DuckDB (from PyPI, in a venv under target/): read both CSVs, join payments to invoices by
#    reference, remaining balance per invoice, a reconciliation CSV — what a user with a SQL
#    script would reach for;
# 4. prints both times, their ratio, records per second and peak RSS.
set -euo pipefail
N="${1:-100000}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${BENCH_DIR:-$ROOT/target/bench-$N}"
cd "$ROOT"
cargo build --release --bin kravflyt --bin kravflyt-gen >/dev/null
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
BIN="$TARGET/release/kravflyt"
rm -rf "$WORK" && mkdir -p "$WORK"
"$TARGET/release/kravflyt-gen" "$N" "$WORK/data" 2>/dev/null

# --- kravflyt ---------------------------------------------------------------------------
WS="$WORK/ws"
mkdir -p "$WS/var/inbox/nordlys" "$WS/var/inbox/bank"
sed 's/quiet_period = "5s"/quiet_period = "0s"/' config/kravflyt.toml > "$WS/kravflyt.toml"
cp config/rules.toml "$WS/rules.toml"
cp "$WORK/data/nordlys/invoices-$N.csv" "$WS/var/inbox/nordlys/"
cp "$WORK/data/bank/payments-$N.csv" "$WS/var/inbox/bank/"
run() {  # run LABEL ARGS... ; prints seconds and peak RSS (KiB)
  local label="$1"; shift
  /usr/bin/time -f "%e %M" -o "$WORK/$label.time" \
    env KRAVFLYT_LOG=warn "$BIN" --config "$WS/kravflyt.toml" --data-dir "$WS" "$@" >/dev/null
  read -r secs rss < "$WORK/$label.time"
  echo "$secs $rss"
}
read -r day1 rss1 <<< "$(run day1 process --as-of 2026-10-01)"
read -r day2 rss2 <<< "$(run day2 process --as-of 2026-10-02)"
kravflyt_secs=$(python3 -c "print(round($day1 + $day2, 2))")
peak_rss=$(( rss1 > rss2 ? rss1 : rss2 ))
grep -q ';accepted;' "$WS/var/outbox/nordlys/receipt-invoices-$N.csv.csv"
grep -q ';accepted;' "$WS/var/outbox/bank/receipt-payments-$N.csv.csv"
test -s "$WS/var/outbox/_agency/reconciliation-20261001.csv"

# --- DuckDB -----------------------------------------------------------------------------
VENV="$ROOT/target/bench-venv"
[ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" -q install duckdb==1.1.3; }
duck_secs=$("$VENV/bin/python" - "$WORK/data" "$N" "$WORK/duckdb" <<'PY'
import sys, time, duckdb, os
data, n, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
start = time.perf_counter()
con = duckdb.connect(os.path.join(out, "bench.duckdb"))
opts = "delim=';', header=true, all_varchar=true"
con.execute(f"""
CREATE TABLE invoices AS SELECT invoice_no, customer_no, reference,
    CAST(replace(amount, ',', '.') AS DECIMAL(18,2)) AS amount
  FROM read_csv('{data}/nordlys/invoices-{n}.csv', {opts});
CREATE TABLE payments AS SELECT payment_id, reference,
    CAST(replace(amount, ',', '.') AS DECIMAL(18,2)) AS amount
  FROM read_csv('{data}/bank/payments-{n}.csv', {opts});
CREATE TABLE balances AS
  SELECT i.invoice_no, i.reference, i.amount,
         coalesce(sum(p.amount), 0) AS paid,
         greatest(i.amount - coalesce(sum(p.amount), 0), 0) AS remaining,
         greatest(coalesce(sum(p.amount), 0) - i.amount, 0) AS overpaid
  FROM invoices i LEFT JOIN payments p ON p.reference = i.reference
  GROUP BY i.invoice_no, i.reference, i.amount;
COPY (
  SELECT 'payment' AS record_type, p.payment_id, i.invoice_no, p.reference, p.amount,
         least(p.amount, i.amount) AS to_principal,
         greatest(p.amount - i.amount, 0) AS overpaid
  FROM payments p JOIN invoices i ON i.reference = p.reference
  UNION ALL
  SELECT 'unmatched', p.payment_id, NULL, p.reference, p.amount, 0, 0
  FROM payments p ANTI JOIN invoices i ON i.reference = p.reference
) TO '{out}/reconciliation.csv' (HEADER, DELIMITER ';');
""")
con.close()
print(round(time.perf_counter() - start, 2))
PY
)
records=$(( 2 * N ))
python3 - "$N" "$kravflyt_secs" "$day1" "$day2" "$peak_rss" "$duck_secs" "$records" <<'PY'
import sys
n, k, d1, d2, rss, d, records = sys.argv[1:]
k, d1, d2, d, records = float(k), float(d1), float(d2), float(d), int(records)
print(f"N = {n}: {records} records (invoices + payments)")
print(f"kravflyt  {k:8.2f} s  (day 1 files {d1:.2f} s, day 2 steps + reconciliation {d2:.2f} s)"
      f"  {records / k:,.0f} records/s  peak RSS {int(rss) / 1024:.1f} MiB")
print(f"DuckDB    {d:8.2f} s  {records / d:,.0f} records/s")
print(f"ratio     {k / d:8.2f} x DuckDB")
PY
