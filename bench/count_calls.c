/* count_calls: an LD_PRELOAD wrapper that counts, for any program linked with
   libgomp and OpenBLAS, the OpenMP parallel regions (all, and those that
   start a team of more than one thread) and the cblas_sgemm calls with their
   flops, and prints them at exit. How docs/performance.md counts the thread
   teams and products of a training step (bench/ab_small.sh COUNT=1):

     cc -O2 -shared -fPIC -o build/count_calls.so bench/count_calls.c -ldl
     LD_PRELOAD=build/count_calls.so build/bench_small --steps 2 --threads 2
     LD_PRELOAD=build/count_calls.so build/bench_small --steps 6 --threads 2

   The difference of the two runs, divided by 4, is per step. Not part of
   the library or of make bench: a measuring aid. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>

typedef void (*gomp_parallel_fn)(void (*)(void *), void *, unsigned, unsigned);
typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *,
                         int, float, float *, int);
static long regions, teams, sgemm_calls;
static double sgemm_flops;

void GOMP_parallel(void (*fn)(void *), void *data, unsigned nthreads, unsigned flags) {
    static gomp_parallel_fn real;
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "GOMP_parallel");
    regions++;
    if (nthreads != 1) teams++; /* 1: the region's if clause was false */
    real(fn, data, nthreads, flags);
}

/* the CBLAS enums are ints; int blasint (Debian's OpenBLAS) */
void cblas_sgemm(int order, int ta, int tb, int M, int N, int K, float alpha, const float *A,
                 int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    static sgemm_fn real;
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, "cblas_sgemm");
    sgemm_calls++;
    sgemm_flops += 2.0 * M * N * K;
    real(order, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

__attribute__((destructor)) static void count_calls_report(void) {
    fprintf(stderr, "count_calls: %ld parallel regions, %ld with a team; %ld sgemm calls, %.3f GFLOP\n",
            regions, teams, sgemm_calls, sgemm_flops * 1e-9);
}
