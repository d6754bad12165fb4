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
rm -rf "$tmp"
[ "$fails" = 0 ] && echo "  ✓ command-line checks of the examples"
exit $((fails != 0))
