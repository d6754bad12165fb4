#!/bin/sh
# Command-line checks of the examples: bad flags and values must exit non-zero
# with a message naming the problem; good ones exit 0. `make test` runs this
# before the suites. Usage: sh tests/cli.sh BUILD_DIR
b=${1:-build}
fails=0
expect() { # expect CODE WORD -- command...
    code=$1; word=$2; shift 3
    out=$("$@" 2>&1 >/dev/null); rc=$?
    if [ "$rc" != "$code" ] || { [ -n "$word" ] && ! printf '%s' "$out" | grep -q -- "$word"; }; then
        echo "FAIL cli: '$*' gave exit $rc (want $code) and '$out' (want '$word')"
        fails=$((fails + 1))
    fi
}
prog=$b/reward_curves
tmp=$(mktemp -d)
expect 2 "unknown option"  -- $prog --bogus
expect 2 "ascend"          -- $prog --budgets 512,256
expect 2 "--lmax"          -- $prog --lmax abc
expect 2 "alpha"           -- $prog --alpha -1
expect 2 "--mode"          -- $prog --mode neither
expect 1 "cannot write"    -- $prog --out /nonexistent/hbpo-dir
expect 0 ""                -- $prog --out "$tmp"
expect 0 ""                -- $prog --diff
# the demo (make run) refuses bad flags before doing any work
expect 2 "unknown option"  -- $b/tiny_hbpo --bogus x
expect 2 "--steps"         -- $b/tiny_hbpo --steps abc
expect 1 "manifest"        -- $b/tiny_hbpo --base /nonexistent/base --out "$tmp/demo"
expect 2 "--eval-n"        -- $b/tiny_hbpo --eval-n 0
expect 1 "cannot create"   -- $b/tiny_hbpo --out /nonexistent/a/b
expect 0 ""                -- $b/tiny_hbpo --help
expect 2 "no CUDA backend" -- $b/tiny_hbpo --device cuda --out "$tmp/demo"
expect 2 "cuda:N"          -- $b/tiny_hbpo --device cuda:x --out "$tmp/demo"
expect 2 "cuda:N"          -- $b/tiny_hbpo --device cuda:99999999999 --out "$tmp/demo"
# tools/gpu_check.sh runs the demo on a GPU with its DEMO_FLAGS: they must parse
# (this CPU build then stops at --device cuda, having accepted every other flag)
gflags=$(sed -n 's/^DEMO_FLAGS="\([^"]*\)".*/\1/p' tools/gpu_check.sh)
[ -n "$gflags" ] || { echo "FAIL cli: no DEMO_FLAGS in tools/gpu_check.sh"; fails=$((fails + 1)); }
# shellcheck disable=SC2086
expect 2 "no CUDA backend" -- $b/tiny_hbpo --device cuda --out "$tmp/g" --svg "$tmp/g.svg" $gflags
# the study (make study, make base) likewise
expect 2 "unknown option"  -- $b/study run --bogus x
expect 2 "--seeds"         -- $b/study run --seeds 0
expect 2 "--jobs"          -- $b/study run --jobs abc
expect 1 "records"         -- $b/study report --out /nonexistent/study --doc "$tmp/study.md"
expect 0 ""                -- $b/study --help
expect 2 "usage"           -- $b/study
expect 2 "multiple of 4"   -- $b/study run --rollouts 6
expect 2 "--lr"            -- $b/study run --lr 0
expect 2 "--queries"       -- $b/study run --queries 0
expect 2 "--temperature"   -- $b/study run --temperature 0
expect 2 "not a method"    -- $b/study run --methods hbpo,nope
# a subset of the methods at another RL scale: only those runs, trained at
# that scale (8 rollouts a step at T 1, lr 2e-5), and the report says so
$b/study run --seeds 1 --steps 1 --eval-n 1 --jobs 2 --out "$tmp/sq" --doc "$tmp/sq.md" --methods hbpo,grpo \
    --queries 2 --rollouts 4 --lr 2e-5 --temperature 1 >"$tmp/sq.log" 2>&1 &&
    [ -f "$tmp/sq/runs/hbpo-s1/done" ] && [ -f "$tmp/sq/runs/grpo-s1/done" ] && [ ! -e "$tmp/sq/runs/cosine-s1" ] &&
    grep -q '"rollouts":8,.*"lr":2e-05' "$tmp/sq/runs/hbpo-s1/metrics.jsonl" && grep -q " T 1 " "$tmp/sq/runs/hbpo-s1/done" &&
    grep -q "1 steps of 2 queries x 4 rollouts at T 1 " "$tmp/sq.md" && grep -q "Not checked" "$tmp/sq.md" ||
    { echo "FAIL cli: study --methods/--queries/--rollouts/--lr (log: $(tail -3 "$tmp/sq.log"))"; fails=$((fails + 1)); }
# `study report` alone writes the same document as the run did (wall time included)
cp "$tmp/sq.md" "$tmp/sq-run.md"
$b/study report --seeds 1 --steps 1 --eval-n 1 --jobs 2 --out "$tmp/sq" --doc "$tmp/sq.md" --methods hbpo,grpo \
    --queries 2 --rollouts 4 --lr 2e-5 --temperature 1 >/dev/null 2>&1 &&
    grep -q "wall time" "$tmp/sq.md" && cmp -s "$tmp/sq.md" "$tmp/sq-run.md" ||
    { echo "FAIL cli: study report alone wrote another document than study run"; fails=$((fails + 1)); }
# a damaged wall_seconds: the report leaves the wall time out, nothing else
printf 'not a number\n' > "$tmp/sq/wall_seconds"
$b/study report --seeds 1 --steps 1 --eval-n 1 --jobs 2 --out "$tmp/sq" --doc "$tmp/sq.md" --methods hbpo,grpo \
    --queries 2 --rollouts 4 --lr 2e-5 --temperature 1 >/dev/null 2>&1 && ! grep -q "wall time" "$tmp/sq.md" &&
    grep -q "at T 1 " "$tmp/sq.md" || { echo "FAIL cli: study report with a damaged wall_seconds"; fails=$((fails + 1)); }
# a record without its response (the answers' classes read it): refused, naming the file and line
sed -i '1s/,"response":.*}$/}/' "$tmp/sq/runs/hbpo-s1/eval.jsonl"
expect 1 "eval.jsonl line 1: not an evaluation record" -- $b/study report --seeds 1 --steps 1 --eval-n 1 \
    --jobs 2 --out "$tmp/sq" --doc "$tmp/sq.md" --methods hbpo,grpo --queries 2 --rollouts 4 --lr 2e-5 --temperature 1
# a finished run is not redone, unless what it was made from changed (its stamp)
todo() { # todo WANT: the study's "(N to do)" on a re-run
    n=$($b/study run --seeds 1 --steps 1 --eval-n 1 --jobs 2 --out "$tmp/st" --doc "$tmp/st.md" 2>&1 |
        sed -n 's/.*runs (\([0-9]*\) to do).*/\1/p')
    [ "$n" = "$1" ] || { echo "FAIL cli: study re-run had '$n' runs to do, want $1"; fails=$((fails + 1)); }
}
todo 9
# without --lr the runs train at make study's lr, 1e-5 (examples/study.c, STUDY_LR)
grep -q " lr 1e-05 " "$tmp/st/runs/hbpo-s1/done" && grep -q "lr 1e-05)" "$tmp/st.md" ||
    { echo "FAIL cli: study run without --lr did not train at lr 1e-5"; fails=$((fails + 1)); }
# the goals' verdicts agree with the margins the report prints (tests/goals_check.awk),
# the answers' classes include the responses with steps that are wrong, and the
# re-checks are counted in every setting
awk -f tests/goals_check.awk "$tmp/st.md" >"$tmp/goals.log" 2>&1 && grep -q "wrong with steps: level 1" "$tmp/st.md" &&
    grep -q "^| model | natural | efficiency prompt | b = 6 | b = 12 | b = 24 | b = 30 |" "$tmp/st.md" ||
    { echo "FAIL cli: study goals: $(cat "$tmp/goals.log")"; fails=$((fails + 1)); }
todo 0
echo stale > "$tmp/st/runs/grpo-s1/done"
todo 1
[ -s "$tmp/reward_curves.svg" ] && [ -s "$tmp/reward_curves_paper.csv" ] || { echo "FAIL cli: no SVG/CSV in $tmp"; fails=$((fails + 1)); }
lines=$($prog --csv paper | wc -l)
[ "$lines" -gt 4097 ] || { echo "FAIL cli: --csv paper gave $lines lines"; fails=$((fails + 1)); }
# build/hbpo tokenize / detokenize / tokenizer-bytes
hb=$b/hbpo
expect_in() { # expect_in INPUT CODE WORD -- command...  (INPUT on stdin; stdout in $got)
    input=$1; code=$2; word=$3; shift 4
    got=$(printf '%b' "$input" | "$@" 2>"$tmp/err"); rc=$?
    err=$(cat "$tmp/err")
    if [ "$rc" != "$code" ] || { [ -n "$word" ] && ! printf '%s' "$err" | grep -q -- "$word"; }; then
        echo "FAIL cli: '$*' gave exit $rc (want $code) and '$err' (want '$word')"
        fails=$((fails + 1))
    fi
}
same() { # same GOT WANT WHAT
    [ "$1" = "$2" ] || { echo "FAIL cli: $3 gave '$1', want '$2'"; fails=$((fails + 1)); }
}
tiny=$tmp/tiny.json
expect 2 "--tokenizer"     -- $hb tokenize
expect 2 "unknown option"  -- $hb detokenize --tokenizer "$tiny" --bogus
expect 2 "--out"           -- $hb tokenizer-bytes
expect 0 ""                -- $hb tokenize --help
expect 1 "cannot open"     -- $hb tokenize --tokenizer /nonexistent/tokenizer.json
expect 1 "cannot write"    -- $hb tokenizer-bytes --out /nonexistent/dir/tokenizer.json
expect 0 ""                -- $hb tokenizer-bytes --out "$tiny"
expect_in '{"text": "Hi <|im_end|>\\n\\u00e9\\"x"}\n\n{"text": ""}\n' 0 "" -- $hb tokenize --tokenizer "$tiny"
same "$got" "$(printf '{"ids": [72, 105, 32, 258, 10, 195, 169, 34, 120]}\n{"ids": []}')" "tokenize"
expect_in "$got\n" 0 "" -- $hb detokenize --tokenizer "$tiny"
same "$got" "$(printf '{"text": "Hi <|im_end|>\\n\303\251\\"x"}\n{"text": ""}')" "detokenize"
expect_in '{"ids": [72, 258, 259, 1]}\n' 0 "" -- $hb detokenize --tokenizer "$tiny" --skip-special
same "$got" '{"text": "H<think>\u0001"}' "detokenize --skip-special"
expect_in '{"ids": [195]}\n' 0 "" -- $hb detokenize --tokenizer "$tiny"
same "$got" "$(printf '{"text": "\357\277\275"}')" "detokenize of a partial character"
expect_in '{"text": "a"}\n{"txt": 1}\n{"text": "b"}\n' 1 "line 2" -- $hb tokenize --tokenizer "$tiny"
same "$got" '{"ids": [97]}' "tokenize up to a bad line"
expect_in 'not json\n' 1 "line 1"           -- $hb tokenize --tokenizer "$tiny"
expect_in '{"text": "\\udc00"}\n' 1 "line 1" -- $hb tokenize --tokenizer "$tiny"
expect_in '{"ids": [72, 999]}\n' 1 "ids\\[1\\] = 999" -- $hb detokenize --tokenizer "$tiny"
expect_in '{"ids": [1.5]}\n' 1 "not an integer" -- $hb detokenize --tokenizer "$tiny"
qwen=${HBPO_DATA_DIR:-../shared/data}/qwen3-tokenizer
if [ -f "$qwen/tokenizer.json" ]; then
    expect_in '{"text": "Hello world<|im_end|>"}\n' 0 "" -- $hb tokenize --tokenizer "$qwen"
    same "$got" '{"ids": [9707, 1879, 151645]}' "tokenize with the Qwen3 tokenizer"
fi
# build/hbpo init / synth / train / eval / generate, end to end on a micro model
m=$tmp/model; data=$tmp/synth.jsonl; run=$tmp/run
for c in init synth train eval generate; do expect 0 "" -- $hb $c --help; done
expect 2 "unknown option"  -- $hb train --bogus
expect 2 "unknown option"  -- $hb eval --model "$m" --bogus
expect 2 "unknown option"  -- $hb generate --bogus
expect 2 "--model"         -- $hb train --data "$data" --out "$run"
expect 2 "--lr"            -- $hb train --model "$m" --data "$data" --out "$run" --lr abc
expect 2 "--lr"            -- $hb train --model "$m" --data "$data" --out "$run" --lr 1e-6x
expect 2 "--n"             -- $hb train --model "$m" --data "$data" --out "$run" --n 0
expect 2 "n_rollouts = 6"  -- $hb train --model "$m" --data "$data" --out "$run" --n 6
expect 2 "--budgets"       -- $hb train --model "$m" --data "$data" --out "$run" --budgets 512,256
expect 2 "l_max (10)"      -- $hb train --model "$m" --data "$data" --out "$run" --budgets 8,16 --lmax 10
expect 2 "--algo"          -- $hb train --model "$m" --data "$data" --out "$run" --algo nope
expect 2 "--seed"          -- $hb train --model "$m" --data "$data" --out "$run" --seed -1
expect 2 "--steps"         -- $hb train --model "$m" --data "$data" --out "$run" --steps
expect 2 "--setting"       -- $hb eval --model "$m" --data "$data" --setting fast
expect 2 "--top-p"         -- $hb eval --model "$m" --data "$data" --top-p 0
expect 2 "--prompt"        -- $hb generate --model "$m"
expect 2 "--top-k"         -- $hb generate --model "$m" --prompt x --top-k -1
# --device and --matmul on every command that runs a model; this build has no CUDA backend
expect 2 "no CUDA backend" -- $hb train --model "$m" --data "$data" --out "$run" --device cuda
expect 2 "no CUDA backend" -- $hb eval --model "$m" --data "$data" --device cuda:1
expect 2 "no CUDA backend" -- $hb generate --model "$m" --prompt x --device cuda
expect 2 "--device"        -- $hb generate --model "$m" --prompt x --device gpu
expect 2 "--device"        -- $hb generate --model "$m" --prompt x --device cuda:x
expect 2 "--matmul"        -- $hb generate --model "$m" --prompt x --matmul fp16
expect 2 "--max-active"    -- $hb generate --model "$m" --prompt x --max-active -1
expect 2 "--hidden"        -- $hb init --out "$m" --hidden 3x
expect 2 "--levels"        -- $hb synth --out "$data" --levels 0-3
expect 1 "no such directory" -- $hb train --model /nonexistent/model --data "$data" --out "$run"
expect 1 "no such directory" -- $hb eval --model /nonexistent/model --data "$data"
expect 1 "no such directory" -- $hb generate --model /nonexistent/model --prompt x
expect 0 ""                -- $hb init --out "$m" --hidden 32 --layers 2 --heads 4 --kv-heads 2 --ffn 64 --max-pos 256 --seed 1
expect 1 "--force"         -- $hb init --out "$m"
expect 0 ""                -- $hb synth --out "$data" --n-per-level 4 --levels 1-4 --seed 2
same "$(wc -l < "$data" | tr -d ' ')" 16 "synth --n-per-level 4 --levels 1-4 (lines)"
printf '{"problem": "1+1=?", "answer": "2"}\n{"problem": 3}\n' > "$tmp/bad.jsonl"
expect 1 "bad.jsonl line 2" -- $hb train --model "$m" --data "$tmp/bad.jsonl" --out "$run" --strict --budgets 8,16,32,40 --lmax 48
train() { # train OUT [options]: 2 queries x 4 rollouts of at most 48 tokens per step
    o=$1; shift
    $hb train --model "$m" --data "$data" --out "$o" --batch 2 --n 4 --budgets 8,16,32,40 --lmax 48 --threads 1 "$@"
}
metric_steps() { sed 's/,.*//' "$1" | tr '\n' ' '; }
expect 1 "no run to continue" -- train "$run" --steps 2 --resume
expect 0 ""                -- train "$run" --steps 2 --save-every 1
expect 1 "--resume"        -- train "$run" --steps 2
expect 0 ""                -- train "$run" --steps 3 --resume
same "$(metric_steps "$run/metrics.jsonl")" '{"step":1 {"step":2 {"step":3 ' "train, then --resume (metrics.jsonl)"
same "$(grep -c '^{"step":[123],"rollouts":8,.*"t_update":[0-9.]*}$' "$run/metrics.jsonl")" 3 "metrics.jsonl lines"
# a line left after the checkpoint's step (a crash between the two) is dropped on resume
echo '{"step":4,"stale":1}' >> "$run/metrics.jsonl"
expect 0 ""                -- train "$run" --steps 4 --resume
same "$(metric_steps "$run/metrics.jsonl")" '{"step":1 {"step":2 {"step":3 {"step":4 ' "resume after a stale line"
# save -> resume -> continue gives the numbers of one straight run
expect 0 ""                -- train "$tmp/straight" --steps 4
same "$(sed 's/,"t_rollout.*//' "$run/metrics.jsonl")" "$(sed 's/,"t_rollout.*//' "$tmp/straight/metrics.jsonl")" "resumed run vs straight run"
# the same training and generation with --device cuda, through hbpo_cuda.cu on
# the CPU emulator (build/emu/hbpo, made by make test): the CPU's rollouts
# (their lengths, step by step) and the CPU's completions
he=$b/emu/hbpo
if [ -x "$he" ]; then
    lengths() { sed -n '1,2s/.*"n_gen":\([^,]*\),"truncated":[^,]*,"n_gen_sub":\(\[[^]]*\]\).*/\1 \2/p' "$1"; }
    hb_cpu=$hb; hb=$he
    expect 0 ""            -- train "$tmp/emu" --steps 2 --device cuda
    hb=$hb_cpu
    same "$(lengths "$tmp/emu/metrics.jsonl")" "$(lengths "$tmp/straight/metrics.jsonl")" "train --device cuda (emulator) vs the CPU: rollout lengths"
    for T in 0 1; do
        same "$($he generate --model "$m" --prompt "1+1=?" --temperature $T --top-p 1 --max-new-tokens 24 --device cuda 2>/dev/null)" \
             "$($hb generate --model "$m" --prompt "1+1=?" --temperature $T --top-p 1 --max-new-tokens 24 2>/dev/null)" \
             "generate --temperature $T --device cuda (emulator) vs the CPU"
    done
fi
# --intra-centered (the study's ablation) is named, and a run made without it
# is not resumed with it (the configuration's fingerprint)
got=$(train "$tmp/centred" --steps 1 --intra-centered 2>&1); rc=$?
same "$rc $(printf '%s' "$got" | grep -c 'A_intra centred')" "0 1" "train --intra-centered"
expect 1 "different configuration" -- train "$tmp/straight" --steps 5 --resume --intra-centered
# checkpoints: step folders with a manifest, the newest --keep (3) kept
same "$(cd "$run" && ls -d checkpoint-* | tr '\n' ' ')" "checkpoint-000002 checkpoint-000003 checkpoint-000004 " "checkpoint folders kept"
same "$(grep -c '"fnv1a64"' "$run/checkpoint-000004/manifest.json")" 4 "manifest entries (model, config, state, tokenizer)"
expect 0 ""                -- train "$tmp/kept" --steps 3 --save-every 1 --keep 1
same "$(cd "$tmp/kept" && ls -d checkpoint-* | tr '\n' ' ')" "checkpoint-000003 " "--keep 1"
# a crash after each file of a save (HBPO_FAULT_AFTER kills the process there):
# --resume continues from the newest whole checkpoint, and the run ends with
# the numbers of the straight one
for stage in model trainer_state.bin tokenizer.json manifest.json published; do
    c=$tmp/crash-$stage; want=1; [ "$stage" = published ] && want=2
    train "$c" --steps 1 >/dev/null 2>&1
    HBPO_FAULT_AFTER=$stage train "$c" --steps 2 --resume >/dev/null 2>&1; rc=$?
    same "$rc" 137 "train killed after '$stage' of a save"
    got=$(train "$c" --steps 4 --resume 2>/dev/null | grep '^hbpo train: resumed'); rc=$?
    same "$got" "hbpo train: resumed from $c/checkpoint-00000$want at step $want" "resume after a crash after '$stage'"
    same "$(sed 's/,"t_rollout.*//' "$c/metrics.jsonl")" "$(sed 's/,"t_rollout.*//' "$tmp/straight/metrics.jsonl")" "crash after '$stage', resumed vs straight"
    [ -d "$c/checkpoint-000002.tmp" ] && { echo "FAIL cli: $c/checkpoint-000002.tmp left after a resumed save"; fails=$((fails + 1)); }
done
# a damaged file: the checkpoint is passed over (the older one is used), an explicit one refused
c=$tmp/crash-model
printf 'x' >> "$c/checkpoint-000004/trainer_state.bin"
got=$(train "$c" --steps 5 --resume 2>/dev/null | grep '^hbpo train: resumed')
same "$got" "hbpo train: resumed from $c/checkpoint-000001 at step 1" "resume passes over a damaged checkpoint"
cp -r "$run/checkpoint-000004" "$tmp/damaged"; printf 'x' >> "$tmp/damaged/config.json"
expect 1 "checksum"        -- train "$tmp/resumed-from" --steps 5 --resume-from "$tmp/damaged"
expect 0 ""                -- train "$tmp/resumed-from" --steps 5 --resume-from "$run/checkpoint-000004"
# the new flags' bad values
expect 2 "--keep"          -- train "$tmp/flags" --steps 1 --keep -1
expect 2 "--max-nonfinite" -- train "$tmp/flags" --steps 1 --max-nonfinite 0
expect 1 "--resume"        -- train "$tmp/flags" --steps 1 --resume-from "$tmp/no-such-checkpoint"
# hbpo 0.2's OUT/checkpoint (no manifest) gets a clear refusal
mkdir -p "$tmp/old/checkpoint"; cp "$run/checkpoint-000004/"*.json "$run/checkpoint-000004/"*.safetensors "$run/checkpoint-000004/trainer_state.bin" "$tmp/old/checkpoint/"; rm "$tmp/old/checkpoint/manifest.json"
expect 1 "hbpo 0.2"        -- train "$tmp/old" --steps 5 --resume
got=$($hb eval --model "$run/checkpoint-000004" --data "$data" --limit 4 --greedy --max-new-tokens 16 --threads 1 \
      --json "$tmp/eval.json" --responses "$tmp/resp.jsonl" 2>"$tmp/err"); rc=$?
if [ "$rc" != 0 ] || ! printf '%s' "$got" | grep -q '^  all  *4 ' || ! printf '%s' "$got" | grep -q '^efficient'; then
    echo "FAIL cli: eval gave exit $rc and '$got' $(cat "$tmp/err")"; fails=$((fails + 1))
fi
grep -q '"natural": {"all":{"n":4,' "$tmp/eval.json" && grep -q '"efficient": {"all":{"n":4,' "$tmp/eval.json" ||
    { echo "FAIL cli: eval --json wrote '$(cat "$tmp/eval.json")'"; fails=$((fails + 1)); }
same "$(grep -c '^{"setting": "[a-z]*", "index": [0-3], .*"n_gen": [0-9]*, "response": ".*"}$' "$tmp/resp.jsonl")" 8 "eval --responses lines"
got=$($hb generate --model "$run/checkpoint-000004" --prompt "1+2=?" --greedy --max-new-tokens 8 2>"$tmp/err"); rc=$?
if [ "$rc" != 0 ] || ! printf '%s' "$got" | grep -q "^=== completion 1: n_gen [1-8],"; then
    echo "FAIL cli: generate gave exit $rc and '$got' $(cat "$tmp/err")"; fails=$((fails + 1))
fi
printf '{"text": "1+2=?"}\n{"text": "7-5+1=?"}\n' > "$tmp/prompts.jsonl"
got=$($hb generate --model "$run/checkpoint-000004" --prompts "$tmp/prompts.jsonl" --budget 16 --max-new-tokens 8 --jsonl 2>"$tmp/err"); rc=$?
same "$rc $(printf '%s\n' "$got" | grep -c '^{"index": [01], "text": ".*", "n_gen": [1-8], "stop": "[a-z]*"}$')" "0 2" "generate --prompts --jsonl"
# the same completions with one cache slot, on --device cpu; bf16 products run
want=$got
got=$($hb generate --model "$run/checkpoint-000004" --prompts "$tmp/prompts.jsonl" --budget 16 --max-new-tokens 8 --jsonl --device cpu --max-active 1 2>"$tmp/err"); rc=$?
same "$rc $got" "0 $want" "generate --max-active 1 --device cpu"
got=$($hb generate --model "$run/checkpoint-000004" --prompts "$tmp/prompts.jsonl" --budget 16 --max-new-tokens 8 --jsonl --matmul bf16 2>"$tmp/err"); rc=$?
same "$rc $(printf '%s\n' "$got" | grep -c '^{"index": [01], "text": ".*", "n_gen": [1-8], "stop": "[a-z]*"}$')" "0 2" "generate --matmul bf16"
rm -rf "$tmp"
[ "$fails" = 0 ] && echo "  ✓ command-line checks of the examples"
exit $((fails != 0))
