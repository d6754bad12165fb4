#!/bin/sh
# fuzz/run.sh DIR SECONDS HARNESS...  (what `make fuzz` runs)
# Rebuilds the seed corpora (DIR/make_seeds), then runs each harness
# DIR/fuzz_HARNESS for SECONDS with the sanitizers armed: a crash, a sanitizer
# report, a leak, an input slower than 10 s or over 2 GB stops it and leaves
# the input in DIR/artifacts/. New inputs go to DIR/corpus/HARNESS (kept
# between runs). Prints one line per harness and fails when any harness did.
set -u
dir=$1
secs=$2
shift 2
rm -rf "$dir/seeds"
"$dir/make_seeds" "$dir/seeds" || exit 1
mkdir -p "$dir/corpus" "$dir/logs" "$dir/artifacts"
echo "fuzz: $# harnesses, ${secs} s each, on $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //') ($(nproc 2>/dev/null) cores)"
printf '  %-16s %12s %9s %7s  %s\n' harness executions exec/s corpus result
failed=0
for h in "$@"; do
    mkdir -p "$dir/corpus/$h"
    log="$dir/logs/$h.log"
    "$dir/fuzz_$h" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
        -artifact_prefix="$dir/artifacts/$h-" "$dir/corpus/$h" "$dir/seeds/$h" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    corpus=$(ls "$dir/corpus/$h" | wc -l)
    if [ "$rc" = 0 ]; then result=ok; else result="FAILED (rc $rc, log $log)"; failed=1; fi
    printf '  %-16s %12s %9s %7s  %s\n' "$h" "${execs:-?}" "${rate:-?}" "$corpus" "$result"
    if [ "$rc" != 0 ]; then
        grep -E 'ERROR|SUMMARY|fuzz check|Test unit written|Running:' "$log" | head -n 20 | sed 's/^/    /'
    fi
done
exit $failed
