#!/usr/bin/env bash
# Instructions per record (issue 14): how many CPU instructions kravflyt spends on one invoice
# and on one payment, counted by valgrind's callgrind (exact and repeatable, unlike wall time on
# a shared machine).
#
#   scripts/callgrind-per-record.sh [N]     (default N = 20000 invoices and 20000 payments)
#   KRAVFLYT_BIN=/path/to/kravflyt scripts/callgrind-per-record.sh [N]   (measure another build)
#
# 1. builds kravflyt and kravflyt-gen (release; only kravflyt-gen when KRAVFLYT_BIN is set) and
#    generates N invoices and N bank payments in the default shape (kravflyt-gen N DIR);
# 2. processes a workspace with the invoice file (`process --as-of 2026-10-01`, not measured);
# 3. under `valgrind --tool=callgrind`:
#    (a) a fresh workspace with only the invoice file, `process --as-of 2026-10-01`;
#    (b) a copy of the workspace of step 2 with the payments file added, the same command;
# 4. prints, for each, the total instructions (Ir) / N, and the inclusive Ir of
#    kravflyt::apply::apply_invoice_chunk (a) or kravflyt::apply::payments::apply_payment_chunk (b)
#    / N, read with `callgrind_annotate --inclusive=yes`: the largest entry of a symbol whose
#    name ends in `::apply_invoice_chunk` (whatever its module). The optimiser may inline a
#    chunk function into its caller; then the per-record function it calls is shown instead
#    (`apply_invoice_row`, `apply_payment`), and said so.
#
# The total per record includes what a `process` run does besides applying the records: start,
# reading and validating the file, the day's steps (letters for the new cases in (a), steps
# again in (b)), queueing and writing the outbound files, the report and the commits. The
# chunk function's share is the records' application alone. Outputs stay under
# target/callgrind-N (or CALLGRIND_DIR) for callgrind_annotate.
set -euo pipefail
N="${1:-20000}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${CALLGRIND_DIR:-$ROOT/target/callgrind-$N}"
AS_OF=2026-10-01
cd "$ROOT"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ -n "${KRAVFLYT_BIN:-}" ]; then
  cargo build --release --bin kravflyt-gen >/dev/null
  BIN="$KRAVFLYT_BIN"
else
  cargo build --release --bin kravflyt --bin kravflyt-gen >/dev/null
  BIN="$TARGET/release/kravflyt"
fi
command -v valgrind >/dev/null || { echo "callgrind-per-record.sh: valgrind is not installed" >&2; exit 1; }
rm -rf "$WORK" && mkdir -p "$WORK"
"$TARGET/release/kravflyt-gen" "$N" "$WORK/data" 2>/dev/null
INVOICES="$WORK/data/nordlys/invoices-$N.csv"
PAYMENTS="$WORK/data/bank/payments-$N.csv"

workspace() {  # workspace DIR: an empty workspace with the shipped configuration, no quiet period
  mkdir -p "$1/var/inbox/nordlys" "$1/var/inbox/bank"
  sed 's/quiet_period = "5s"/quiet_period = "0s"/' config/kravflyt.toml > "$1/kravflyt.toml"
  cp config/rules.toml "$1/rules.toml"
}
process() {  # process DIR [WRAPPER...]: `process --as-of` in the workspace DIR
  local ws="$1"; shift
  env KRAVFLYT_LOG=warn "$@" "$BIN" --config "$ws/kravflyt.toml" --data-dir "$ws" \
    process --as-of "$AS_OF" >/dev/null
}
receipt() {  # receipt FILE: the receipt's status and counts, to see what was applied
  awk -F';' 'NR == 2 { printf "%s: %s, %s records, %s accepted, %s rejected\n", $2, $6, $7, $8, $10 }' "$1"
}

# 2. The workspace after the invoices (natively).
workspace "$WORK/after-invoices"
cp "$INVOICES" "$WORK/after-invoices/var/inbox/nordlys/"
process "$WORK/after-invoices"

# 3a. Invoices only, a fresh workspace.
workspace "$WORK/a"
cp "$INVOICES" "$WORK/a/var/inbox/nordlys/"
process "$WORK/a" valgrind --tool=callgrind --callgrind-out-file="$WORK/invoices.callgrind" -q

# 3b. The payments, on a copy of the workspace after the invoices.
cp -a "$WORK/after-invoices" "$WORK/b"
cp "$PAYMENTS" "$WORK/b/var/inbox/bank/"
process "$WORK/b" valgrind --tool=callgrind --callgrind-out-file="$WORK/payments.callgrind" -q

# 4. Per record.
report() {  # report LABEL CALLGRIND_FILE RECEIPT FUNCTION [FALLBACK]
  local label="$1" out="$2" receipt_file="$3" function="$4" fallback="${5:-}"
  local annotated total inclusive="" shown="" name
  annotated="$WORK/$label.annotate.txt"
  callgrind_annotate --inclusive=yes --threshold=100 --auto=no "$out" > "$annotated"
  total=$(grep -m1 'PROGRAM TOTALS' "$annotated" | awk '{ gsub(",", "", $1); print $1 }')
  # Entries are sorted by inclusive Ir, so the first whose symbol ends in ::NAME is the
  # function's own entry (the others are parts inlined from other files).
  for name in $function $fallback; do
    inclusive=$(grep -m1 -E -- "::$name( \[|$)" "$annotated" \
      | awk '{ gsub(",", "", $1); print $1 }' || true)
    if [ -n "$inclusive" ]; then shown="$name"; break; fi
  done
  echo "($label) $(receipt "$receipt_file")"
  python3 - "$label" "$N" "$total" "$function" "$shown" "$inclusive" <<'PY'
import sys
label, n, total, function, shown, inclusive = sys.argv[1:]
n, total = int(n), int(total)
record = "invoice" if label == "invoices" else "payment"
print(f"  total                {total:>16,} Ir  {total / n:>10,.0f} Ir per {record}"
      f" (the whole process run)")
if shown:
    inclusive = int(inclusive)
    note = "" if shown == function else f"; {function} was inlined, this is what it calls"
    print(f"  {shown:<20} {inclusive:>16,} Ir  {inclusive / n:>10,.0f} Ir per {record}"
          f" (inclusive, {100 * inclusive / total:.1f} % of the run{note})")
else:
    print(f"  {function}: not found in the profile (inlined or renamed)")
PY
}
echo "N = $N, kravflyt = $BIN, process --as-of $AS_OF under callgrind"
report invoices "$WORK/invoices.callgrind" \
  "$WORK/a/var/outbox/nordlys/receipt-invoices-$N.csv.csv" apply_invoice_chunk apply_invoice_row
report payments "$WORK/payments.callgrind" \
  "$WORK/b/var/outbox/bank/receipt-payments-$N.csv.csv" apply_payment_chunk apply_payment
