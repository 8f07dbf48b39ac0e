#!/usr/bin/env bash
# Runs every fuzz target in turn, one process at a time, at the lowest priority, and keeps
# each run's log in fuzz/logs/<target>/ (not committed).
#
#   fuzz/run-all.sh [SECONDS] [TARGET...]      default: 600 seconds, every target
#
# FUZZ_BIN_DIR=/path runs prebuilt binaries from there instead of `cargo fuzz run` (which
# rebuilds first when src/ changed, e.g. while others edit the tree). Build them with
# `cargo +nightly fuzz build -O` and copy fuzz/target/x86_64-unknown-linux-gnu/release/<target>.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(csv_invoices csv_native_export csv_payments csv_instructions peppol camt kravflyt_xml ocr_giro bgmax detect_any references)
fi
flags=(-max_total_time="$seconds" -rss_limit_mb=1024 -timeout=10 -jobs=1 -workers=1 -print_final_stats=1)
root=$(pwd)
for target in "${targets[@]}"; do
    mkdir -p "logs/$target" "corpus/$target" "artifacts/$target"
    start=$(date +%s)
    echo "$target: started $(date -u +%FT%TZ)"
    (
        cd "logs/$target"
        if [ -n "${FUZZ_BIN_DIR:-}" ]; then
            nice -n 19 "$FUZZ_BIN_DIR/$target" -artifact_prefix="$root/artifacts/$target/" \
                "${flags[@]}" "$root/corpus/$target"
        else
            nice -n 19 cargo +nightly fuzz run --fuzz-dir "$root" -O "$target" "$root/corpus/$target" -- "${flags[@]}"
        fi
    ) > "logs/$target/run.log" 2>&1 || echo "$target: exited with $?"
    end=$(date +%s)
    echo "$target: wall $((end - start)) s, $(ls "corpus/$target" | wc -l) corpus files, $(ls "artifacts/$target" | wc -l) artifacts"
done
