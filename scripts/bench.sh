#!/usr/bin/env bash
# End-to-end benchmark (issue 8): kravflyt against DuckDB doing the bare job on the same files.
#
#   scripts/bench.sh [N]        (default N = 100000; the issue's target is N = 1000000)
#   BENCH_SHAPE=three-per-debtor scripts/bench.sh [N]
#                               (issue 14's second row: three invoices per debtor, partial and
#                               over-payments on later dates, interest settled at payment; see
#                               the header of src/bin/kravflyt-gen.rs)
#
# 1. builds kravflyt and kravflyt-gen (release) and generates N invoices and N bank payments
#    (canonical CSV for nordlys and the bank) with kravflyt-gen, in the shape BENCH_SHAPE
#    (`default` unless set; work directory target/bench-N, or target/bench-SHAPE-N);
# 2. kravflyt: a fresh workspace, `process --as-of 2026-10-01` (both files: every record
#    validated, cases, events, matching, receipts, status files, durable commits), then
#    `process --as-of 2026-10-02` (the daily steps and the reconciliation of 2026-10-01);
#    wall time and peak RSS of each run (GNU time); both receipts must say `accepted`
#    (KRAVFLYT_BIN=path measures that kravflyt binary instead of building this tree's);
# 3. DuckDB (from PyPI, in a venv under target/): read both CSVs, join payments to invoices by
#    reference, remaining balance per invoice, a reconciliation CSV — what a user with a SQL
#    script would reach for. In the three-per-debtor shape that bare job must follow the
#    payments in order per debtor (several per invoice, spill-over to the debtor's other
#    invoices, a KID whose invoice or case was paid off stays unmatched), settling interest up
#    to each payment date first (Norway 2026: 12 %, actual/actual, rounded per invoice), then
#    principal oldest invoice first: a recursive query. Its totals are checked against the
#    summary row of kravflyt's reconciliation of 2026-10-01 (a warning if they differ: then the
#    two did not do the same job);
# 4. prints both times, their ratio, records per second and peak RSS.
#
# BENCH_POSTGRES=URL (a maintenance database of a PostgreSQL server, e.g. the
# KRAVFLYT_TEST_POSTGRES that scripts/pg-test-cluster.sh prints): kravflyt keeps its ledger in
# a fresh database `kravflyt_bench` on that server (dropped and created again by each run)
# instead of the embedded SQLite (SPEC §10; issue 15). Needs psql.
set -euo pipefail
N="${1:-100000}"
SHAPE="${BENCH_SHAPE:-default}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
case "$SHAPE" in
  default) STEM="$N"; DEFAULT_WORK="$ROOT/target/bench-$N" ;;
  three-per-debtor) STEM="three-per-debtor-$N"; DEFAULT_WORK="$ROOT/target/bench-$STEM" ;;
  *) echo "bench.sh: unknown BENCH_SHAPE '$SHAPE' (default or three-per-debtor)" >&2; exit 2 ;;
esac
WORK="${BENCH_DIR:-$DEFAULT_WORK}"
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ -n "${KRAVFLYT_BIN:-}" ]; then  # measure another build of kravflyt (the generator is this one)
  cargo build --release --bin kravflyt-gen >/dev/null
  BIN="$KRAVFLYT_BIN"
else
  cargo build --release --bin kravflyt --bin kravflyt-gen >/dev/null
  BIN="$TARGET/release/kravflyt"
fi
rm -rf "$WORK" && mkdir -p "$WORK"
if [ "$SHAPE" = default ]; then
  "$TARGET/release/kravflyt-gen" "$N" "$WORK/data" 2>/dev/null
else
  "$TARGET/release/kravflyt-gen" "$N" "$WORK/data" --shape "$SHAPE" 2> "$WORK/gen.log"
fi

# --- kravflyt ---------------------------------------------------------------------------
WS="$WORK/ws"
mkdir -p "$WS/var/inbox/nordlys" "$WS/var/inbox/bank"
sed 's/quiet_period = "5s"/quiet_period = "0s"/' config/kravflyt.toml > "$WS/kravflyt.toml"
cp config/rules.toml "$WS/rules.toml"
if [ -n "${BENCH_POSTGRES:-}" ]; then
  psql -q "$BENCH_POSTGRES" -c "DROP DATABASE IF EXISTS kravflyt_bench" -c "CREATE DATABASE kravflyt_bench"
  STORE_URL=$(printf '%s' "$BENCH_POSTGRES" | sed -E 's#/[^/?]+(\?|$)#/kravflyt_bench\1#')
  printf '\n[store]\nurl = "%s"\n' "$STORE_URL" >> "$WS/kravflyt.toml"
  echo "the ledger is in PostgreSQL: $STORE_URL"
fi
cp "$WORK/data/nordlys/invoices-$STEM.csv" "$WS/var/inbox/nordlys/"
cp "$WORK/data/bank/payments-$STEM.csv" "$WS/var/inbox/bank/"
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
# The `file` row's status column (a bare grep for ';accepted;' also matched the header's column
# name, so it never failed).
for receipt in "nordlys/receipt-invoices-$STEM.csv.csv" "bank/receipt-payments-$STEM.csv.csv"; do
  if ! awk -F';' '$1 == "file" && $6 == "accepted" { ok = 1 } END { exit !ok }' \
      "$WS/var/outbox/$receipt"; then
    echo "bench.sh: the receipt $receipt does not say accepted:" >&2
    sed -n 2p "$WS/var/outbox/$receipt" >&2
    exit 1
  fi
done
test -s "$WS/var/outbox/_agency/reconciliation-20261001.csv"

# --- DuckDB -----------------------------------------------------------------------------
VENV="$ROOT/target/bench-venv"
[ -x "$VENV/bin/python" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" -q install duckdb==1.1.3; }
if [ "$SHAPE" = default ]; then
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
else
# Payments in order per debtor: interest up to each payment date on every invoice with principal
# open (12 % a year, the Norwegian rate of 2026 in config/rules.toml, actual/actual: 365 days in
# 2026; from the due date or the last payment; rounded to øre half up per invoice), then the
# payment pays interest, then principal oldest invoice first; the rest is overpaid. A payment
# whose KID's invoice has no principal left (or whose debtor owes nothing) is unmatched. In øre.
duck_secs=$("$VENV/bin/python" - "$WORK/data" "$STEM" "$WORK/duckdb" <<'PY'
import sys, time, duckdb, os
data, stem, out = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
start = time.perf_counter()
con = duckdb.connect(os.path.join(out, "bench.duckdb"))
opts = "delim=';', header=true, all_varchar=true"
ore = "CAST(CAST(replace(amount, ',', '.') AS DECIMAL(18,2)) * 100 AS BIGINT)"
# Interest on principal P (øre) for the days from T to D, rounded half up.
def interest(i):
    return (f"CASE WHEN matched AND p{i} > 0 AND d > t{i} "
            f"THEN (24 * p{i} * (d - t{i}) + 36500) // 73000 ELSE 0 END")
def through(i):
    return f"CASE WHEN matched AND p{i} > 0 AND d > t{i} THEN d ELSE t{i} END"
con.execute(f"""
CREATE MACRO kr(x) AS CAST(x * 0.01 AS DECIMAL(18,2));
CREATE TABLE invoices AS SELECT invoice_no, customer_no, reference,
    CAST(due_date AS DATE) AS due_date, {ore} AS amount
  FROM read_csv('{data}/nordlys/invoices-{stem}.csv', {opts});
CREATE TABLE payments AS SELECT payment_id, reference,
    CAST(payment_date AS DATE) AS payment_date, {ore} AS amount
  FROM read_csv('{data}/bank/payments-{stem}.csv', {opts});
-- a debtor's invoices, oldest first: k = 1, 2, 3
CREATE TABLE ranked AS SELECT *, row_number() OVER (
    PARTITION BY customer_no ORDER BY due_date, CAST(invoice_no AS BIGINT)) AS k
  FROM invoices;
SELECT CASE WHEN max(k) > 3 THEN error('more than three invoices for a debtor') END FROM ranked;
CREATE TABLE debtors AS SELECT customer_no,
    coalesce(max(amount) FILTER (WHERE k = 1), 0) AS p1,
    coalesce(max(amount) FILTER (WHERE k = 2), 0) AS p2,
    coalesce(max(amount) FILTER (WHERE k = 3), 0) AS p3,
    coalesce(max(due_date) FILTER (WHERE k = 1), DATE '1970-01-01') AS t1,
    coalesce(max(due_date) FILTER (WHERE k = 2), DATE '1970-01-01') AS t2,
    coalesce(max(due_date) FILTER (WHERE k = 3), DATE '1970-01-01') AS t3
  FROM ranked GROUP BY customer_no;
-- the payments by invoice reference, in the order they are applied per debtor
CREATE TABLE paying AS SELECT p.payment_id, p.reference, p.payment_date, p.amount,
    r.customer_no, r.invoice_no, r.k,
    row_number() OVER (PARTITION BY r.customer_no ORDER BY p.payment_date, p.payment_id) AS seq
  FROM payments p JOIN ranked r ON r.reference = p.reference;
CREATE TABLE steps AS WITH RECURSIVE s AS (
  SELECT customer_no, CAST(0 AS BIGINT) AS seq, CAST(NULL AS VARCHAR) AS payment_id,
      false AS matched, CAST(0 AS BIGINT) AS amount, CAST(0 AS BIGINT) AS to_interest,
      CAST(0 AS BIGINT) AS to_p1, CAST(0 AS BIGINT) AS to_p2, CAST(0 AS BIGINT) AS to_p3,
      CAST(0 AS BIGINT) AS overpaid, p1, p2, p3, t1, t2, t3,
      CAST(0 AS BIGINT) AS interest_open
    FROM debtors
  UNION ALL
  SELECT customer_no, seq, payment_id, matched, amount, to_interest, to_p1, to_p2, to_p3,
      CASE WHEN matched THEN amount - to_interest - to_p1 - to_p2 - to_p3 ELSE 0 END,
      p1 - to_p1, p2 - to_p2, p3 - to_p3, t1, t2, t3, interest_due - to_interest
  FROM (SELECT *, CASE WHEN matched THEN least(amount - to_interest - to_p1 - to_p2, p3)
                       ELSE 0 END AS to_p3
  FROM (SELECT *, CASE WHEN matched THEN least(amount - to_interest - to_p1, p2)
                       ELSE 0 END AS to_p2
  FROM (SELECT *, CASE WHEN matched THEN least(amount - to_interest, p1) ELSE 0 END AS to_p1
  FROM (SELECT customer_no, seq, payment_id, matched, amount, d, p1, p2, p3,
               {through(1)} AS t1, {through(2)} AS t2, {through(3)} AS t3, interest_due,
               CASE WHEN matched THEN least(amount, interest_due) ELSE 0 END AS to_interest
  FROM (SELECT *, interest_open + {interest(1)} + {interest(2)} + {interest(3)} AS interest_due
  FROM (SELECT s.customer_no, p.seq, p.payment_id, p.amount, p.payment_date AS d,
               s.p1, s.p2, s.p3, s.t1, s.t2, s.t3, s.interest_open,
               s.p1 + s.p2 + s.p3 > 0
                 AND CASE p.k WHEN 1 THEN s.p1 WHEN 2 THEN s.p2 ELSE s.p3 END > 0 AS matched
        FROM s JOIN paying p ON p.customer_no = s.customer_no AND p.seq = s.seq + 1))))))
)
SELECT * FROM s WHERE seq > 0;
-- what is left: per invoice, after each debtor's last payment
CREATE TABLE balances AS
  WITH last AS (
    SELECT * FROM (SELECT customer_no, p1, p2, p3, interest_open FROM steps
      QUALIFY row_number() OVER (PARTITION BY customer_no ORDER BY seq DESC) = 1)
    UNION ALL
    SELECT customer_no, p1, p2, p3, 0 FROM debtors ANTI JOIN paying USING (customer_no))
  SELECT r.invoice_no, r.customer_no, r.reference, r.amount,
         CASE r.k WHEN 1 THEN l.p1 WHEN 2 THEN l.p2 ELSE l.p3 END AS remaining,
         r.amount - CASE r.k WHEN 1 THEN l.p1 WHEN 2 THEN l.p2 ELSE l.p3 END AS paid,
         l.interest_open AS debtor_interest_open
  FROM ranked r JOIN last l USING (customer_no);
COPY (
  SELECT CASE WHEN s.matched THEN 'payment' ELSE 'unmatched' END AS record_type,
         p.payment_id, p.payment_date, p.customer_no, p.invoice_no, p.reference,
         kr(p.amount) AS amount, kr(s.to_p1 + s.to_p2 + s.to_p3) AS to_principal,
         kr(s.to_interest) AS to_interest, kr(s.overpaid) AS overpaid,
         CASE WHEN s.matched THEN NULL ELSE 'unknown_reference' END AS reason
  FROM paying p JOIN steps s ON s.customer_no = p.customer_no AND s.seq = p.seq
  UNION ALL
  SELECT 'unmatched', p.payment_id, p.payment_date, NULL, NULL, p.reference, kr(p.amount),
         kr(0), kr(0), kr(0), 'unknown_reference'
  FROM payments p ANTI JOIN invoices i ON i.reference = p.reference
  ORDER BY payment_id
) TO '{out}/reconciliation.csv' (HEADER, DELIMITER ';');
""")
elapsed = time.perf_counter() - start
# Not timed: the totals, to compare with kravflyt's reconciliation.
received, principal, interest, overpaid = con.execute(
    "SELECT sum(amount), sum(to_p1 + to_p2 + to_p3), sum(to_interest), sum(overpaid) FROM steps"
).fetchone()
received += con.execute(
    "SELECT coalesce(sum(amount), 0) FROM payments ANTI JOIN invoices USING (reference)"
).fetchone()[0]
unmatched = received - principal - interest - overpaid
with open(os.path.join(out, "totals.txt"), "w") as f:
    print(received, principal, interest, overpaid, unmatched, file=f)
con.close()
print(round(elapsed, 2))
PY
)
fi
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
if [ "$SHAPE" != default ]; then
  # What the shape came to in kravflyt, and whether DuckDB's bare job reached the same sums.
  sed 's/^/  /' "$WORK/gen.log"
  "$BIN" --config "$WS/kravflyt.toml" --data-dir "$WS" status --json > "$WORK/status.json"
  python3 - "$WS/var/outbox/_agency/reconciliation-20261001.csv" "$WORK/duckdb/totals.txt" \
    "$WORK/status.json" <<'PY'
import csv, json, re, sys
from collections import defaultdict
recon, totals, status = sys.argv[1:]
def ore(text):
    return round(float(text.replace(",", ".")) * 100)
parts = defaultdict(list)
unmatched = 0
summary = None
with open(recon, newline="") as f:
    for row in csv.DictReader(f, delimiter=";"):
        if row["record_type"] == "payment":
            parts[row["payment_id"]].append(row)
        elif row["record_type"] == "unmatched":
            unmatched += 1
        elif row["record_type"] == "summary" and not row["creditor_id"] \
                and row["reason"].startswith("NOK"):
            summary = row
overpaid = sum(1 for rows in parts.values() if any(ore(r["overpaid"]) > 0 for r in rows))
spilled = sum(1 for rows in parts.values()
              if len({r["invoice_no"] for r in rows if ore(r["to_principal"]) > 0}) > 1)
with_interest = sum(1 for rows in parts.values() if any(ore(r["to_interest"]) > 0 for r in rows))
cases = {c["state"]: c["count"] for c in json.load(open(status))["cases"]}
k = {"received": ore(summary["amount"]), "principal": ore(summary["to_principal"]),
     "interest": ore(summary["to_interest"]), "overpaid": ore(summary["overpaid"]),
     "unmatched": ore(re.search(r"unmatched ([0-9,]+)", summary["reason"]).group(1))}
d = dict(zip(["received", "principal", "interest", "overpaid", "unmatched"],
             map(int, open(totals).read().split())))
kr = lambda o: f"{o / 100:,.2f}"
print(f"  kravflyt: {len(parts)} payments matched ({with_interest} settling interest, "
      f"{spilled} paying principal of more than one invoice, {overpaid} with an overpaid rest), "
      f"{unmatched} unmatched; cases {cases}")
print("  payments of 2026-10-01 (kravflyt | DuckDB): "
      + ", ".join(f"{key} {kr(k[key])} | {kr(d[key])}" for key in k))
if k != d:
    print("  WARNING: DuckDB's totals differ from kravflyt's reconciliation: not the same job",
          file=sys.stderr)
else:
    print("  DuckDB's totals equal kravflyt's reconciliation to the øre")
PY
fi
