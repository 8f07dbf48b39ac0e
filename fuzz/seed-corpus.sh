#!/usr/bin/env bash
# Fills fuzz/corpus/<target>/ (not committed) with starting inputs for every target: the
# committed seeds in fuzz/seeds/<target>/, the sample inbox, the scenario and hostile test data
# and the public sample files in tests/data/public/. Safe to run again:
# files are named by content, so nothing is copied twice.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
public=tests/data/public

sources() {
    case "$1" in
        csv_invoices)      printf '%s\n' samples/inbox/nordlys/*.csv tests/data/scenarios/*/*/nordlys/faktura*.csv tests/data/hostile/nordlys/*.csv ;;
        csv_native_export) printf '%s\n' samples/inbox/fjellstua/*.csv tests/data/scenarios/*/*/fjellstua/*.csv tests/data/hostile/fjellstua/*.csv ;;
        csv_payments)      printf '%s\n' samples/inbox/bank/*.csv tests/data/scenarios/*/*/bank/*.csv tests/data/hostile/bank/*.csv ;;
        csv_instructions)  printf '%s\n' samples/inbox/desk/*.csv tests/data/scenarios/*/*/*/instrukser*.csv tests/data/hostile/desk/*.csv ;;
        peppol)            printf '%s\n' samples/inbox/kvarnby/*.xml "$public"/peppol-*.xml tests/data/hostile/kvarnby/*.xml ;;
        camt)              printf '%s\n' samples/inbox/bank/*camt*.xml tests/data/hostile/bank/camt-*.xml ;;
        kravflyt_xml)      printf '%s\n' samples/inbox/revontuli/*.xml tests/data/scenarios/*/*/revontuli/*.xml ;;
        ocr_giro)          printf '%s\n' samples/inbox/bank/ocr-*.txt "$public"/ocr-*.txt tests/data/hostile/bank/ocr-*.txt ;;
        bgmax)             printf '%s\n' samples/inbox/bank/*bgmax*.txt "$public"/bgmax-*.txt tests/data/hostile/bank/bgmax-*.txt ;;
        detect_any)        printf '%s\n' samples/inbox/bank/* "$public"/*.txt "$public"/*.xml fuzz/seeds/camt/* fuzz/seeds/kravflyt_xml/* ;;
        references)        ;;
    esac
}

targets=(csv_invoices csv_native_export csv_payments csv_instructions peppol camt kravflyt_xml ocr_giro bgmax detect_any references)
for target in "${targets[@]}"; do
    out=fuzz/corpus/$target
    mkdir -p "$out"
    mapfile -t files < <(sources "$target"; printf '%s\n' fuzz/seeds/"$target"/* tests/data/fuzz-regressions/"$target"/*)
    for file in "${files[@]}"; do
        [ -f "$file" ] || continue
        sum=$(sha1sum "$file" | cut -c1-40)
        cp "$file" "$out/$sum"
    done
    echo "$target: $(ls "$out" | wc -l) inputs"
done
