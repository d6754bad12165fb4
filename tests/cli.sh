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
rm -rf "$tmp"
[ "$fails" = 0 ] && echo "  ✓ command-line checks of the examples"
exit $((fails != 0))
