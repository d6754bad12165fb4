/* What more than one benchmark needs; included after hbpo.h. */
#ifndef HBPO_BENCH_COMMON_H
#define HBPO_BENCH_COMMON_H

#include <stdlib.h>

/* Best of `reps` timings (after one warm-up) of C (M,N) = A (M,K) B^T
   through hbpo_sgemm: GFLOP/s, the same-run reference the benchmarks print
   their model's rate against. 0 when out of memory. */
static double bench_sgemm_gflops(int M, int N, int K, int reps) {
    float *A = (float *)malloc(sizeof(float) * (size_t)M * K);
    float *B = (float *)malloc(sizeof(float) * (size_t)N * K);
    float *C = (float *)malloc(sizeof(float) * (size_t)M * N);
    double best = 1e30;
    size_t i;
    int r;
    if (!A || !B || !C) {
        free(A); free(B); free(C);
        return 0.0;
    }
    for (i = 0; i < (size_t)M * K; i++) A[i] = (float)(i % 7) * 0.1f;
    for (i = 0; i < (size_t)N * K; i++) B[i] = (float)(i % 5) * 0.1f;
    for (r = 0; r < reps + 1; r++) {
        double t0 = hbpo_wall_time(), dt;
        hbpo_sgemm(0, 1, M, N, K, 1.0f, A, K, B, K, 0.0f, C, N);
        dt = hbpo_wall_time() - t0;
        if (r > 0 && dt < best) best = dt;
    }
    free(A); free(B); free(C);
    return 2.0 * M * N * K / best * 1e-9;
}

#endif
