#!/bin/sh
# bench/ab_small.sh: the demo's SFT step (build/bench_small) with hbpo.h as it
# is and as it was at an older commit, alternated in one run so that both see
# the same machine. Prints, per run, each binary's median and best per-step
# GFLOP/s and the same-run sgemm 2048^3 rate. How docs/performance.md
# compares a change with what came before it.
#
# Usage: sh bench/ab_small.sh OLD_COMMIT [REPS] [STEPS] [THREADS]
#   COUNT=1  also count thread teams and sgemm calls per step (bench/count_calls.c)
set -eu
old=${1:?usage: sh bench/ab_small.sh OLD_COMMIT [REPS] [STEPS] [THREADS]}
reps=${2:-3}; steps=${3:-20}; threads=${4:-2}
B=${BUILD:-build}
CC=${CC:-cc}
[ -x "$B/bench_small" ] || { echo "ab_small: build $B/bench_small first (make $B/bench_small)"; exit 2; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
git show "$old:hbpo.h" > "$tmp/hbpo.h" || { echo "ab_small: no hbpo.h at $old"; exit 2; }
blas="-DHBPO_USE_OPENBLAS $(pkg-config --cflags openblas 2>/dev/null)"
libs="$(pkg-config --libs openblas 2>/dev/null || echo -lopenblas)"
# bench/ takes its own bench_common.h; hbpo.h comes from $tmp first
$CC -std=c11 -O2 -g $blas -fopenmp -I"$tmp" -I. -o "$tmp/bench_small_old" bench/bench_small.c $libs -fopenmp -lm
echo "CPU: $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1), $(nproc) cores; $threads threads, $steps steps; old = $old"
line() { # line NAME BINARY
    "$2" --steps "$steps" --threads "$threads" > "$tmp/out"
    printf "%-4s %s, %s\n" "$1" "$(sed -n 's/.*median \([0-9.]*\).*best \([0-9.]*\).*/median \1 best \2 GFLOP\/s/p' "$tmp/out")" \
        "$(sed -n 's/^sgemm 2048x2048x2048: *\([0-9.]*\).*/sgemm 2048^3 \1 GFLOP\/s/p' "$tmp/out")"
}
r=1
while [ "$r" -le "$reps" ]; do
    echo "run $r"
    line old "$tmp/bench_small_old"
    line new "$B/bench_small"
    r=$((r + 1))
done
if [ "${COUNT:-0}" = 1 ]; then
    $CC -O2 -shared -fPIC -o "$tmp/count_calls.so" bench/count_calls.c -ldl
    for which in old new; do
        bin=$B/bench_small; [ $which = old ] && bin=$tmp/bench_small_old
        a=$(LD_PRELOAD="$tmp/count_calls.so" "$bin" --steps 2 --threads "$threads" 2>&1 >/dev/null | grep count_calls)
        b=$(LD_PRELOAD="$tmp/count_calls.so" "$bin" --steps 6 --threads "$threads" 2>&1 >/dev/null | grep count_calls)
        echo "$a|$b" | awk -F'|' -v w=$which '{ split($1, x, " "); split($2, y, " ");
            printf "%-4s per step: %.0f thread teams, %.0f sgemm calls, %.2f GFLOP in sgemm\n", w,
                   (y[5] - x[5]) / 4, (y[9] - x[9]) / 4, (y[12] - x[12]) / 4 }'
    done
fi
