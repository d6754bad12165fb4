#!/bin/sh
# A busy machine: the demo's SFT step (build/bench_small) with 1 and 2 threads,
# first as the machine is, then with a busy loop (`while :; do :; done`) on
# one more core, all in one run so the ratios compare like with like.
# Goal: 2 threads busy <= ~1.5x 2 threads idle, and never slower than 1 thread.
# Usage: sh bench/busy.sh [BUILD_DIR] [STEPS]      (make bench-busy)
b=${1:-build}
steps=${2:-10}
bench=$b/bench_small
[ -x "$bench" ] || { echo "busy.sh: build $bench first (make $bench)"; exit 2; }
step() { # step THREADS -> seconds per step
    "$bench" --threads "$1" --steps "$steps" | sed -n 's/.*: \([0-9.]*\) s\/step.*/\1/p'
}
echo "CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(nproc) cores; wait policy: ${OMP_WAIT_POLICY:-passive (set by hbpo_program_start)}"
"$bench" --steps 1 | head -1
i1=$(step 1); i2=$(step 2)
sh -c 'while :; do :; done' & busy=$!
trap 'kill $busy 2>/dev/null' EXIT INT TERM
b1=$(step 1); b2=$(step 2)
kill $busy 2>/dev/null
awk -v i1="$i1" -v i2="$i2" -v b1="$b1" -v b2="$b2" 'BEGIN {
    printf "s/step      1 thread  2 threads\n";
    printf "as is       %8.3f  %9.3f\n", i1, i2;
    printf "busy loop   %8.3f  %9.3f\n", b1, b2;
    printf "2 threads: busy / as is = %.2fx (goal <= ~1.5x); busy 2 threads / busy 1 thread = %.2fx (goal <= 1)\n", b2 / i2, b2 / b1;
}'
