#!/bin/sh
# A busy machine: the demo's SFT step (build/bench_small) with 1 and 2 threads
# and with the default count (all cores, fitted to the load before each
# forward pass: hbpo_set_threads), first as the machine is, then with a busy
# loop (`while :; do :; done`) on one more core, all in one run so the ratios
# compare like with like.
# Goal: busy <= ~1.5x idle, and never slower than 1 thread.
# Usage: sh bench/busy.sh [BUILD_DIR] [STEPS]      (make bench-busy)
b=${1:-build}
steps=${2:-10}
bench=$b/bench_small
[ -x "$bench" ] || { echo "busy.sh: build $bench first (make $bench)"; exit 2; }
step() { # step THREADS|default -> seconds per step
    if [ "$1" = default ]; then set -- --steps "$steps"; else set -- --threads "$1" --steps "$steps"; fi
    "$bench" "$@" | sed -n 's/.*: \([0-9.]*\) s\/step.*/\1/p'
}
echo "CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(nproc) cores; wait policy: ${OMP_WAIT_POLICY:-passive (set by hbpo_program_start)}"
"$bench" --steps 1 | head -1
i1=$(step 1); i2=$(step 2); id=$(step default)
sh -c 'while :; do :; done' & busy=$!
trap 'kill $busy 2>/dev/null' EXIT INT TERM
b1=$(step 1); b2=$(step 2); bd=$(step default)
kill $busy 2>/dev/null
awk -v i1="$i1" -v i2="$i2" -v id="$id" -v b1="$b1" -v b2="$b2" -v bd="$bd" 'BEGIN {
    printf "s/step      1 thread  2 threads  default\n";
    printf "as is       %8.3f  %9.3f  %7.3f\n", i1, i2, id;
    printf "busy loop   %8.3f  %9.3f  %7.3f\n", b1, b2, bd;
    printf "2 threads: busy / as is = %.2fx (goal <= ~1.5x); busy 2 threads / busy 1 thread = %.2fx (goal <= 1)\n", b2 / i2, b2 / b1;
    printf "default:   busy / as is = %.2fx (goal <= ~1.5x); busy default / busy 1 thread = %.2fx (goal <= 1)\n", bd / id, bd / b1;
}'
