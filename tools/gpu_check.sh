#!/bin/sh
# tools/gpu_check.sh - everything that needs a GPU, in one run of at most 8 minutes.
#
# On a machine with an NVIDIA GPU (sm_90 by default: H100/H200), from the
# repository root:
#     sh tools/gpu_check.sh              build with make cuda (nvcc), then run
#     sh tools/gpu_check.sh --prebuilt   use build/ as it is (binaries built on
#                                        another machine: no compiler needed)
# Steps, each under its own time limit inside a total of GPU_CHECK_S seconds
# (default 470):
#   1. the device (nvidia-smi) and build/hbpo_cuda_check (backend start, 1.5B plan)
#   2. build/test_cuda: every CUDA op against the CPU backend, the transformers
#      fixtures, greedy parity, bitwise repeatability ("N passed, N failed")
#   3. compute-sanitizer memcheck on the small op tests, when it is installed
#   4. the tiny demo with --device cuda, shortened (4 RL steps from models/tiny-base,
#      20 problems per level)
#   5. build/bench_cuda --quick, and bench/torch_gpu_reference.py --quick beside
#      it when python3 has torch and transformers
# The summary goes to $OUT/gpu_check.txt when OUT is set (else
# docs/gpu_check.txt); logs of each step beside it. Exit status: 0 when
# test_cuda ran on a GPU and passed, 1 otherwise (no device included).
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TOTAL=${GPU_CHECK_S:-470}
DIR=${OUT:-docs}
mkdir -p "$DIR"
SUM="$DIR/gpu_check.txt"
T0=$(date +%s)
prebuilt=0
[ "${1:-}" = "--prebuilt" ] && prebuilt=1

left() { echo $((TOTAL - ($(date +%s) - T0))); }
say() { echo "$*" | tee -a "$SUM"; }
# run NAME CAP CMD...: under min(CAP, time left - 10) seconds; log in $DIR/gpu_check.NAME.log
run() {
    name=$1; cap=$2; shift 2
    lim=$(left); lim=$((lim - 10))
    [ "$lim" -gt "$cap" ] && lim=$cap
    if [ "$lim" -lt 5 ]; then say "  $name: not run (no time left)"; return 124; fi
    s=$(date +%s)
    timeout "$lim" "$@" > "$DIR/gpu_check.$name.log" 2>&1
    rc=$?
    say "  $name: exit $rc in $(( $(date +%s) - s )) s (limit $lim s)$([ $rc = 124 ] && echo ': TIMED OUT')"
    return $rc
}

: > "$SUM"
say "hbpo gpu_check $(date -u +%Y-%m-%dT%H:%M:%SZ), $(git rev-parse --short HEAD 2>/dev/null || echo 'no git')"
if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | sed 's/^/  gpu: /' | tee -a "$SUM"
else
    say "  nvidia-smi not found"
fi

# 1. build
if [ $prebuilt = 0 ] && command -v nvcc >/dev/null 2>&1; then
    run build 240 make -j"$(nproc 2>/dev/null || echo 4)" cuda || { say "  the build failed: see $DIR/gpu_check.build.log"; }
else
    say "  build: using the binaries in $BUILD/ ($( [ $prebuilt = 1 ] && echo --prebuilt || echo 'no nvcc'))"
fi
for b in hbpo_cuda_check test_cuda bench_cuda tiny_hbpo-cuda; do
    [ -x "$BUILD/$b" ] || say "  missing: $BUILD/$b"
done
run cuda_check 30 "$BUILD/hbpo_cuda_check" && sed 's/^/    /' "$DIR/gpu_check.cuda_check.log" | tee -a "$SUM"

# 2. the tests
run test_cuda 150 "$BUILD/test_cuda" -v
test_rc=$?
if grep -q '^no CUDA device' "$DIR/gpu_check.test_cuda.log" 2>/dev/null; then
    say "    NOTHING RAN: no CUDA device is visible"
    test_rc=1
fi
say "    $(tail -n 1 "$DIR/gpu_check.test_cuda.log" 2>/dev/null)"
grep '^FAIL' "$DIR/gpu_check.test_cuda.log" 2>/dev/null | head -20 | sed 's/^/    /' | tee -a "$SUM"

# 3. memcheck (compute-sanitizer from the toolkit, or PyPI's nvidia-cuda-sanitizer-api)
if command -v compute-sanitizer >/dev/null 2>&1; then
    run memcheck 60 compute-sanitizer --tool memcheck --error-exitcode 3 "$BUILD/test_cuda" -s cuda_ops -t small
    grep -E 'ERROR SUMMARY|passed' "$DIR/gpu_check.memcheck.log" | tail -2 | sed 's/^/    /' | tee -a "$SUM"
    run racecheck 60 compute-sanitizer --tool racecheck --error-exitcode 3 "$BUILD/test_cuda" -s cuda_ops -t attention_small
    grep -E 'RACECHECK SUMMARY|ERROR SUMMARY|passed' "$DIR/gpu_check.racecheck.log" | tail -2 | sed 's/^/    /' | tee -a "$SUM"
else
    say "  compute-sanitizer: not installed (skipped)"
fi

# 4. the demo on the GPU, shortened
demo=$(mktemp -d /tmp/hbpo_gpu_demo.XXXXXX)
DEMO_FLAGS="--steps 4 --eval-n 20" # tests/cli.sh checks that tiny_hbpo accepts them
# shellcheck disable=SC2086
run demo 90 "$BUILD/tiny_hbpo-cuda" --device cuda --out "$demo" --svg "$demo/tokens_by_level.svg" $DEMO_FLAGS
tail -n 12 "$DIR/gpu_check.demo.log" 2>/dev/null | sed 's/^/    /' | tee -a "$SUM"
rm -rf "$demo"

# 5. benchmarks, PyTorch beside them
run bench 120 "$BUILD/bench_cuda" all --quick
grep -E '^(bench_cuda|train|decode|hbpo|sample)' "$DIR/gpu_check.bench.log" | sed 's/^/    /' | tee -a "$SUM"
if python3 -c 'import torch, transformers; assert torch.cuda.is_available()' >/dev/null 2>&1; then
    run torch 90 python3 bench/torch_gpu_reference.py --quick
    grep -E '^(torch|train|decode)' "$DIR/gpu_check.torch.log" | sed 's/^/    /' | tee -a "$SUM"
else
    say "  torch reference: python3 with CUDA torch and transformers not found (skipped)"
fi

say "gpu_check: total $(( $(date +%s) - T0 )) s; summary in $SUM"
[ "$test_rc" = 0 ]
