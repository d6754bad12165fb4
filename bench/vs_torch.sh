#!/bin/sh
# bench/vs_torch.sh: hbpo against PyTorch CPU on the same two shapes, side by
# side in one run, so that the ratios hold for the machine it ran on (the
# absolute figures move with load; the ratios much less).
#
#   the 24.7M model of bench_model:  train tokens/s (8 x 256), decode tokens/s
#   the demo's 0.77M model of bench_small: SFT train tokens/s (32 x ~72),
#     decode tokens/s (128 sequences, 96 new tokens)
#   and, for each training shape, PyTorch under torch.autocast(bf16) and hbpo
#   with bf16 products (bench_model --matmul bf16, bench_small --matmul-compare).
#
# Usage: sh bench/vs_torch.sh            (make bench builds the binaries first)
#   PY=python3     an interpreter with torch and transformers
#   THREADS=2      threads for both
# Prints one line per figure and a summary of the ratios; exits 1 when torch
# is missing (nothing to compare with).
set -u
PY=${PY:-python3}
THREADS=${THREADS:-2}
B=${BUILD:-build}
HERE=$(dirname "$0")
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

if ! "$PY" -c "import torch, transformers" 2>/dev/null; then
    echo "vs_torch: $PY has no torch/transformers (pip install torch transformers; or PY=...)"
    exit 1
fi
for bin in bench_model bench_small; do
    [ -x "$B/$bin" ] || { echo "vs_torch: $B/$bin is missing (make bench)"; exit 1; }
done

# the figure before "tokens/s" on the line matching $2 of file $1
tps() { awk -v pat="$2" '$0 ~ pat { for (i = 2; i <= NF; i++) if ($i == "tokens/s") v = $(i - 1) } END { print v + 0 }' "$1"; }
run() { name=$1; shift; echo "== $name: $*"; "$@" > "$tmp/$name" 2>&1; grep -v -i "warn" "$tmp/$name" | tail -4; }

grep -m1 "model name" /proc/cpuinfo 2>/dev/null
"$B/bench_model" --help 2>&1 | grep -q -- "--matmul" && bf16=1 || bf16=0

run hbpo_big   "$B/bench_model" --threads "$THREADS"
run torch_big  "$PY" "$HERE/torch_reference.py" --threads "$THREADS"
run hbpo_demo  "$B/bench_small" --threads "$THREADS" --matmul-compare
run torch_demo "$PY" "$HERE/torch_reference.py" --shape demo --threads "$THREADS" --steps 5
run torch_demo_bf16 "$PY" "$HERE/torch_reference.py" --shape demo --autocast bf16 --threads "$THREADS" --steps 2 --no-decode
run torch_big_bf16  "$PY" "$HERE/torch_reference.py" --autocast bf16 --threads "$THREADS" --steps 1 --no-decode
[ $bf16 = 1 ] && run hbpo_big_bf16 "$B/bench_model" --threads "$THREADS" --matmul bf16 --no-decode

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
echo
echo "summary ($THREADS threads; tokens/s; ratio = hbpo / PyTorch, measured in this run)"
hb=$(tps "$tmp/hbpo_big" "^train step"); tb=$(tps "$tmp/torch_big" "^train step")
echo "  24.7M train fp32:  hbpo $hb  torch $tb  $(ratio "$hb" "$tb")"
hd=$(tps "$tmp/hbpo_big" "^decode"); td=$(tps "$tmp/torch_big" "^decode")
echo "  24.7M decode fp32: hbpo $hd  torch $td  $(ratio "$hd" "$td")"
hs=$(tps "$tmp/hbpo_demo" "SFT step"); ts=$(tps "$tmp/torch_demo" "^train step")
echo "  demo train fp32:   hbpo $hs  torch $ts  $(ratio "$hs" "$ts")"
hsd=$(tps "$tmp/hbpo_demo" "^decode"); tsd=$(tps "$tmp/torch_demo" "^decode")
echo "  demo decode fp32:  hbpo $hsd  torch $tsd  $(ratio "$hsd" "$tsd")"
tbb=$(tps "$tmp/torch_big_bf16" "^train step"); tsb=$(tps "$tmp/torch_demo_bf16" "^train step")
if [ $bf16 = 1 ]; then
    hbb=$(tps "$tmp/hbpo_big_bf16" "^train step")
    # bench_small --matmul-compare prints the bf16 step's time as a multiple of the fp32 step's
    hsb=$(awk -v t="$hs" '/bf16 products/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9.]+x$/) r = $i + 0 } END { if (r > 0) printf "%.0f", t / r; else print 0 }' "$tmp/hbpo_demo")
    echo "  24.7M train bf16:  hbpo $hbb  torch autocast $tbb  $(ratio "$hbb" "$tbb")"
    echo "  demo train bf16:   hbpo $hsb  torch autocast $tsb  $(ratio "$hsb" "$tsb")"
else
    echo "  24.7M train bf16:  torch autocast $tbb (this hbpo build has no --matmul)"
    echo "  demo train bf16:   torch autocast $tsb"
fi
echo "  torch fp32 vs its own autocast bf16: 24.7M $(ratio "$tb" "$tbb"), demo $(ratio "$ts" "$tsb")"
