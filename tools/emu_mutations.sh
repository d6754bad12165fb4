#!/bin/sh
# tools/emu_mutations.sh - does the CUDA emulator (tests/gpu/emu/cuda_emu.h)
# catch real bugs? Each mutation below is a bug written into a copy of
# hbpo_cuda.cu; the copy is built as make test-cuda-emu builds the real one
# and must FAIL build/test_cuda_emu (in the thread order given). Prints one
# line per mutation and exits 1 if any mutant passed. About a minute each on
# 2 cores. Usage, from the repository root: sh tools/emu_mutations.sh
set -u
cd "$(dirname "$0")/.."
make --no-print-directory build/emu/test_cuda.o >/dev/null || exit 2
dir=$(mktemp -d /tmp/hbpo_mut.XXXXXX)
flags="-DHBPO_USE_OPENBLAS $(pkg-config --cflags openblas 2>/dev/null)"
libs=$(make --no-print-directory -s print-ldlibs)
survived=0
# mutate NAME ORDER 'perl substitution'
mutate() {
    name=$1; order=$2; sub=$3
    perl -0pe "$sub" hbpo_cuda.cu > "$dir/$name.cu"
    if cmp -s hbpo_cuda.cu "$dir/$name.cu"; then
        echo "$name: the substitution did not apply (hbpo_cuda.cu changed?)"; survived=1; return
    fi
    { echo "#line 1 \"hbpo_cuda.cu\""; perl -0pe 's/(\w+)<<<(.*?)>>>\(/HBPO_EMU_LAUNCH($1, $2)(/gs' "$dir/$name.cu"; } > "$dir/$name.cc"
    # shellcheck disable=SC2086
    if ! g++ -std=c++20 -O2 -U_FORTIFY_SOURCE $flags -Itests/gpu/emu -I. -DHBPO__CUDA_ARCH_NUM=90 \
            -c -o "$dir/$name.o" "$dir/$name.cc" 2>"$dir/$name.err" ||
       ! g++ -o "$dir/$name" build/emu/test_cuda.o "$dir/$name.o" $libs; then
        echo "$name: did not build (see $dir/$name.err)"; survived=1; return
    fi
    HBPO_EMU_ORDER=$order "$dir/$name" > "$dir/$name.log" 2>&1
    rc=$?
    first=$(grep -m1 -E '^(emu:|FAIL)' "$dir/$name.log" | cut -c1-110)
    if [ $rc = 0 ]; then echo "$name ($order order): SURVIVED ($(tail -n 1 "$dir/$name.log"))"; survived=1
    else echo "$name ($order order): caught: $(tail -n 1 "$dir/$name.log"); $first"; fi
}
mutate host_pointer natural 's/\(const float \*\)\(ws \+ ints \+ fl\), work\)/coins, work)/'
mutate gemm_lda natural 's/g->m, g->n, g->k, &g->alpha, A,\n(\s*)CUDA_R_32F, g->lda,/g->m, g->n, g->k, &g->alpha, A,\n$1CUDA_R_32F, g->ldb,/'
mutate scatter_past_row natural 's/dst\[\(size_t\)rows\[e \/ \(size_t\)C\] \* C \+ e % \(size_t\)C\] \+= src\[e\];/dst[(size_t)rows[e \/ (size_t)C] * C + e % (size_t)C + C] += src[e];/'
mutate barrier_in_branch natural 's/if \(t < w\) sh\[t\] \+= sh\[t \+ w\];\n        __syncthreads\(\);/if (t < w) { sh[t] += sh[t + w];\n        __syncthreads(); }/'
mutate barrier_removed natural 's/(__device__ double hbpo__block_sum\(double \*sh, double v\) \{\n    int t = threadIdx.x, w;\n    sh\[t\] = v;\n)    __syncthreads\(\);\n/$1/'
mutate sampler_coin natural 's/\(double\)coins\[blockIdx.x\] \* kept_mass/(double)coins[0] * kept_mass/'
mutate nucleus_ties natural 's/mine.seen = at\[t\];/mine.seen = 0;/'
mutate offsets_race natural 's/(offs\[t \+ 1\] = n;\n    if \(t == 0\) offs\[0\] = 0;\n)    __syncthreads\(\);\n/$1/'
rm -rf "$dir"
exit $survived
