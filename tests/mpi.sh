#!/bin/sh
# Data parallelism over MPI: build/hbpo_mpi under mpirun checked against the
# one-process build/hbpo on a micro model (seconds, not minutes). `make test`
# runs it when mpirun and build/hbpo_mpi exist. Usage: sh tests/mpi.sh BUILD_DIR
#   1. 2 ranks x 3 steps = 1 rank x 3 steps with the same global batch: the
#      same rollouts, rewards and metrics, parameters within 1e-5 relative
#   2. resume with another world size (2 ranks, then 1 process, then 3 ranks)
#   3. a 2-rank eval = the 1-rank eval (results and every response)
#   4. faults: a bad file on rank 1, a failure of rank 1 inside a step, rank 1
#      killed (kill -9): every rank ends non-zero within 30 s with a message
#      naming rank 1, and the last checkpoint loads and resumes
b=${1:-build}
hb=$b/hbpo; hm=$b/hbpo_mpi; close=$b/ckpt_close
mpirun="mpirun --oversubscribe"
[ "$(id -u)" = 0 ] && mpirun="$mpirun --allow-run-as-root"
fails=0
tmp=$(mktemp -d)
fail() { echo "FAIL mpi: $*"; fails=$((fails + 1)); }
same() { [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"; }
m=$tmp/model; data=$tmp/data.jsonl
$hb init --out "$m" --arch qwen3 --hidden 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --max-pos 256 --seed 1 >/dev/null &&
    $hb synth --out "$data" --n-per-level 4 --levels 1-4 --seed 2 >/dev/null || { echo "FAIL mpi: init/synth"; exit 1; }
# 4 queries x 4 rollouts per step; lr 1e-5 so that Adam's sign-like first
# steps do not magnify the rounding of the summed gradients past 1e-5
opts="--model $m --data $data --batch 4 --n 4 --budgets 8,16,32,40 --lmax 48 --threads 1 --lr 1e-5"
strip() { sed 's/,"t_rollout.*//' "$1"; } # the timings differ
latest() { # the newest published OUT/checkpoint-NNNNNN (whole: a manifest)
    for d in "$1"/checkpoint-[0-9]*; do
        case $d in *.tmp|*.old) continue ;; esac
        [ -f "$d/manifest.json" ] && echo "$d"
    done | sort | tail -1
}
ranks() { # ranks N ARGS...: build/hbpo_mpi on N ranks, 60 s at most
    n=$1; shift
    timeout 60 $mpirun -np "$n" "$hm" "$@"
}

# 1. 2 ranks = 1 rank
$hb train $opts --out "$tmp/one" --steps 3 >/dev/null 2>&1 || fail "1-rank train"
ranks 2 train $opts --out "$tmp/two" --steps 3 >"$tmp/out" 2>&1 || fail "2-rank train: $(cat "$tmp/out")"
grep -q "ranks      2 (mpi)" "$tmp/out" || fail "2-rank train does not say it runs on 2 ranks"
same "$(strip "$tmp/two/metrics.jsonl")" "$(strip "$tmp/one/metrics.jsonl")" "2-rank vs 1-rank metrics"
same "$(wc -l < "$tmp/two/metrics.jsonl" | tr -d ' ')" 3 "2-rank metrics lines (rank 0 writes once)"
$close "$(latest "$tmp/one")" "$(latest "$tmp/two")" 1e-5 >"$tmp/close" || fail "2-rank vs 1-rank parameters: $(cat "$tmp/close")"
echo "    2 ranks vs 1: $(cat "$tmp/close")"
# ... and the comparison would see a real difference: training moved them far more
$close "$m" "$(latest "$tmp/one")" 1e-4 >"$tmp/moved" && fail "ckpt_close cannot tell the trained model from the initial one"
echo "    trained vs initial: $(cat "$tmp/moved")"

# 2. resume with another world size: 2 ranks to step 1, 1 process to step 2, 3 ranks to step 3
ranks 2 train $opts --out "$tmp/mix" --steps 1 >/dev/null 2>&1 || fail "resume: 2-rank step 1"
$hb train $opts --out "$tmp/mix" --steps 2 --resume >/dev/null 2>&1 || fail "resume: 1-rank step 2"
ranks 3 train $opts --out "$tmp/mix" --steps 3 --resume >"$tmp/out" 2>&1 || fail "resume: 3-rank step 3: $(cat "$tmp/out")"
same "$(strip "$tmp/mix/metrics.jsonl")" "$(strip "$tmp/one/metrics.jsonl")" "2 -> 1 -> 3 ranks, resumed, vs 1 rank"
$close "$(latest "$tmp/one")" "$(latest "$tmp/mix")" 1e-5 >"$tmp/close" || fail "resumed parameters: $(cat "$tmp/close")"

# 3. eval: sampled (temperature 0.6), 2 ranks in rounds of 2 x 3 problems vs 1 rank in rounds of 5
eopts="--model $(latest "$tmp/one") --data $data --max-new-tokens 24 --threads 1"
$hb eval $eopts --batch 5 --json "$tmp/e1.json" --responses "$tmp/r1.jsonl" >"$tmp/e1.txt" 2>&1 || fail "1-rank eval"
ranks 2 eval $eopts --batch 3 --json "$tmp/e2.json" --responses "$tmp/r2.jsonl" >"$tmp/e2.txt" 2>&1 ||
    fail "2-rank eval: $(cat "$tmp/e2.txt")"
same "$(cat "$tmp/e2.json")" "$(cat "$tmp/e1.json")" "2-rank vs 1-rank eval --json"
cmp -s "$tmp/r1.jsonl" "$tmp/r2.jsonl" || fail "2-rank vs 1-rank eval --responses differ"
same "$(grep -c '"response"' "$tmp/r2.jsonl")" 32 "2-rank eval --responses lines"
same "$(cat "$tmp/e2.txt")" "$(cat "$tmp/e1.txt")" "2-rank vs 1-rank eval tables"

# 4. faults. on_rank1 RANK1_VALUE OTHER_VALUE: which a rank uses (Open MPI sets OMPI_COMM_WORLD_RANK)
cat > "$tmp/wrap.sh" <<'WRAP'
#!/bin/sh
# wrap.sh DATA_RANK1 -- hbpo_mpi args: rank 1 trains on another data file; each rank's pid in $PIDS.$rank
alt=$1; shift
echo $$ > "$PIDS.$OMPI_COMM_WORLD_RANK"
if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then exec "$@" --data "$alt"; fi
exec "$@" --data "$DATA"
WRAP
fault_opts="--model $m --batch 4 --n 4 --budgets 8,16,32,40 --lmax 48 --threads 1 --lr 1e-5"
faulty() { # faulty DATA_RANK1 OUT [args]: 2 ranks, rank 1 on DATA_RANK1; sets rc, secs
    alt=$1; o=$2; shift 2
    t0=$(date +%s)
    PIDS=$tmp/pid DATA=$data timeout 60 $mpirun -np 2 -x PIDS -x DATA sh "$tmp/wrap.sh" "$alt" "$hm" train $fault_opts \
        --out "$o" "$@" >"$tmp/fout" 2>&1
    rc=$?; secs=$(($(date +%s) - t0))
}
# a data file missing on rank 1: its own message, and every rank ends
faulty /nonexistent/data.jsonl "$tmp/f1" --steps 3
[ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$secs" -le 30 ] || fail "bad file on rank 1: exit $rc after $secs s"
grep -q "cannot open" "$tmp/fout" && grep -q "rank 1 of 2 failed" "$tmp/fout" ||
    fail "bad file on rank 1: the message does not name it: $(cat "$tmp/fout")"
# rank 1 fails inside a step (its prompts too long for the model): agreed, every rank exits 1
sed 's/"problem": "/"problem": "'"$(printf '%0300d' 0)"'/' "$data" > "$tmp/long.jsonl"
faulty "$tmp/long.jsonl" "$tmp/f2" --steps 3
[ "$rc" = 1 ] && [ "$secs" -le 30 ] || fail "failure inside a step on rank 1: exit $rc after $secs s"
grep -q "step 1: rank 1: trainer: a prompt of" "$tmp/fout" ||
    fail "failure inside a step: the message does not name rank 1: $(cat "$tmp/fout")"
[ -n "$(latest "$tmp/f2")" ] && fail "failure inside step 1 left a checkpoint"
# rank 1 killed (kill -9) while training, after checkpoints: mpirun ends rank 0 within 30 s
rm -f "$tmp"/pid.*
PIDS=$tmp/pid DATA=$data timeout 60 $mpirun -np 2 -x PIDS -x DATA sh "$tmp/wrap.sh" "$data" "$hm" train $fault_opts \
    --out "$tmp/f3" --steps 100000 --save-every 1 >"$tmp/fout" 2>&1 &
bg=$!
i=0
while [ -z "$(latest "$tmp/f3")" ] || [ ! -s "$tmp/pid.1" ]; do
    sleep 0.2; i=$((i + 1)); [ $i -lt 200 ] || break
done
sleep 1
t0=$(date +%s)
kill -9 "$(cat "$tmp/pid.1")" 2>/dev/null || fail "kill -9: no rank 1 to kill"
wait $bg; rc=$?
secs=$(($(date +%s) - t0))
[ "$rc" != 0 ] && [ "$secs" -le 30 ] || fail "rank 1 killed: mpirun exit $rc after $secs s"
grep -q "rank 1" "$tmp/fout" || fail "rank 1 killed: no message names it: $(cat "$tmp/fout")"
sleep 1
case "$(ps -o stat= -p "$(cat "$tmp/pid.0")" 2>/dev/null)" in
    ""|Z*) ;; # gone (a zombie where no init reaps it is dead too)
    *) fail "rank 1 killed: rank 0 still runs" ;;
esac
# the last checkpoint is whole: it loads and the run resumes from it
$hb eval --model "$(latest "$tmp/f3")" --data "$data" --limit 2 --max-new-tokens 8 >/dev/null 2>&1 ||
    fail "rank 1 killed: the last checkpoint does not load"
st=$(sed 's/,.*//; s/.*://' "$tmp/f3/metrics.jsonl" | tail -1)
ranks 2 train $fault_opts --data "$data" --out "$tmp/f3" --steps $((st + 1)) --resume >"$tmp/out" 2>&1 ||
    fail "rank 1 killed: --resume from the last checkpoint: $(cat "$tmp/out")"

rm -rf "$tmp"
[ "$fails" = 0 ] && echo "  ✓ MPI data parallelism: 2 ranks = 1 rank (train, resume across world sizes, eval), faults end every rank"
exit $((fails != 0))
