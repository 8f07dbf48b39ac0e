#!/usr/bin/env bash
# Peak memory of `kravflyt process` on one large canonical invoice CSV, to show that reading
# streams (memory bounded by a row, not by the file). Usage: scripts/bench-stream-memory.sh [ROWS]
# Needs /usr/bin/time (Debian package `time`) and python3.
set -euo pipefail
rows=${1:-1000000}
repo=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --manifest-path "$repo/Cargo.toml" >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sed 's/quiet_period = "5s"/quiet_period = "0s"/' "$repo/config/kravflyt.toml" > "$work/kravflyt.toml"
cp "$repo/config/rules.toml" "$work/rules.toml"
mkdir -p "$work/var/inbox/nordlys"
python3 - "$rows" "$work/var/inbox/nordlys/invoices.csv" <<'PY'
import sys
rows, path = int(sys.argv[1]), sys.argv[2]
debtors = max(1, rows * 7 // 10)  # about a third of the debtors get a second invoice
with open(path, "w") as f:
    f.write("creditor_id;invoice_no;customer_no;debtor_type;debtor_name;address;postcode;city;issue_date;due_date;currency;amount\n")
    for i in range(rows):
        c = i % debtors
        f.write(f"923609016;{i};{c};person;Kunde {c};Storgata {c % 200};9008;Tromsø;2026-09-01;2026-09-15;NOK;{100 + i % 9000},{i % 100:02d}\n")
PY
ls -l "$work/var/inbox/nordlys/invoices.csv"
/usr/bin/time -v "$repo/target/release/kravflyt" --config "$work/kravflyt.toml" --data-dir "$work" \
    process --as-of 2026-10-01 2> "$work/time.txt"
grep -E "Maximum resident set size|Elapsed" "$work/time.txt"
