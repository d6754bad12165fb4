#!/bin/sh
# The BLAS kernel check (no timing): OpenBLAS forced onto its generic Prescott
# kernel must be noticed and fixed by hbpo_program_start, so `hbpo --version`
# reports a kernel that fits the CPU after one notice on stderr. `make test`
# runs this. Skipped, with the reason, where it cannot apply: a build without
# OpenBLAS, or a CPU without AVX2 (where Prescott may be the right kernel).
# Usage: sh tests/blas_kernel.sh BUILD_DIR
b=${1:-build}
hb=$b/hbpo
line=$("$hb" --version | sed -n 2p)
case "$line" in
*OpenBLAS*) ;;
*) echo "  - BLAS kernel check skipped: built without OpenBLAS ($line)"; exit 0 ;;
esac
if ! grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    echo "  - BLAS kernel check skipped: this CPU has no AVX2"
    exit 0
fi
fails=0
err=$(mktemp)
got=$(OPENBLAS_CORETYPE=Prescott "$hb" --version 2>"$err"); rc=$?
want=Haswell
grep -qw avx512f /proc/cpuinfo && want=SkylakeX
grep -q AuthenticAMD /proc/cpuinfo && ! grep -qw avx512f /proc/cpuinfo && want=Zen
if [ "$rc" != 0 ] || [ "$(grep -c 'generic Prescott kernel.*restarting with OPENBLAS_CORETYPE='"$want" "$err")" != 1 ]; then
    echo "FAIL blas: under OPENBLAS_CORETYPE=Prescott, exit $rc and stderr '$(cat "$err")' (want one restart notice naming $want)"
    fails=$((fails + 1))
fi
if ! printf '%s\n' "$got" | grep -q "kernel $want, " || printf '%s\n' "$got" | grep -q GENERIC; then
    echo "FAIL blas: after the fix --version says '$got' (want kernel $want)"
    fails=$((fails + 1))
fi
# HBPO_BLAS_FIX=0: no restart, and both the warning and --version say so
got=$(HBPO_BLAS_FIX=0 OPENBLAS_CORETYPE=Prescott "$hb" --version 2>"$err")
if ! printf '%s\n' "$got" | grep -q "kernel Prescott, .*GENERIC KERNEL: set OPENBLAS_CORETYPE=$want" ||
   ! grep -q "warning: OpenBLAS runs its generic Prescott kernel" "$err" || grep -q restarting "$err"; then
    echo "FAIL blas: with HBPO_BLAS_FIX=0 --version says '$got', stderr '$(cat "$err")'"
    fails=$((fails + 1))
fi
rm -f "$err"
[ "$fails" = 0 ] && echo "  ✓ BLAS kernel check: generic Prescott kernel noticed and replaced by $want"
exit $((fails != 0))
