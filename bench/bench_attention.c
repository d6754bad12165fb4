/* bench_attention: the CPU backend's causal attention op (forward and
   backward, training shapes) at the demo's shape and at longer sequences,
   next to the same-run sgemm rate (figures, not pass/fail).

   Shape: B sequences of T tokens, 4 query heads and 2 kv heads of 32 (the
   demo's model, hbpo_synth_model_config), repeated over its 4 layers; so
   one line is the attention of one demo SFT micro-batch. Up to T = 256 the
   backend runs it on its own register tiles, above on sgemm per head
   (hbpo.h, HBPO__ATT_TILE_MAX). GFLOP/s counts the causal work only:
   2 * 2 * T (T + 1) / 2 * HS per head forward, twice that backward.

   Before/after a change: build this file against the older hbpo.h
   (cc ... -I DIR_WITH_OLD_HBPO_H -I. bench/bench_attention.c), as
   bench/ab_small.sh does for the SFT step.

   Usage: build/bench_attention [--threads N] [--reps N] [--batch B] */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether this hbpo.h runs T queries on its tiles (older ones have none). */
static int hbpo_bench_on_tiles(int T) {
#ifdef HBPO__ATT_TILE_MAX
    return T >= HBPO__ATT_GEMM_MIN && T <= HBPO__ATT_TILE_MAX;
#else
    (void)T;
    return 0;
#endif
}

int main(int argc, char **argv) {
    const hbpo_backend *be = hbpo_backend_cpu();
    hbpo_model_config cfg = hbpo_synth_model_config();
    int NH = cfg.num_attention_heads, KVH = cfg.num_key_value_heads, HS = cfg.head_dim;
    int L = cfg.num_hidden_layers, threads = 0, reps = 20, B = 32, i, s;
    static const int Ts[] = {24, 70, 150, 256, 320};
    char line[256];
    hbpo_program_start(argv);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) B = atoi(argv[++i]);
        else { fprintf(stderr, "usage: %s [--threads N] [--reps N] [--batch B]\n", argv[0]); return 2; }
    }
    if (reps < 1 || B < 1) { fprintf(stderr, "bench_attention: --reps and --batch must be >= 1\n"); return 2; }
    if (threads > 0) hbpo_set_threads(threads);
    hbpo_blas_describe(line, sizeof line);
    printf("%s\n", line);
    printf("sgemm 2048x2048x2048: %7.1f GFLOP/s\n", bench_sgemm_gflops(2048, 2048, 2048, 3));
    for (s = 0; s < (int)(sizeof Ts / sizeof Ts[0]); s++) {
        int T = Ts[s], r;
        size_t nq = (size_t)B * T * NH * HS, nk = (size_t)B * T * KVH * HS;
        float *q = (float *)malloc(sizeof(float) * nq), *k = (float *)malloc(sizeof(float) * nk);
        float *v = (float *)malloc(sizeof(float) * nk), *out = (float *)malloc(sizeof(float) * nq);
        float *dout = (float *)malloc(sizeof(float) * nq), *dq = (float *)malloc(sizeof(float) * nq);
        float *dk = (float *)malloc(sizeof(float) * nk), *dv = (float *)malloc(sizeof(float) * nk);
        float *lse = (float *)malloc(sizeof(float) * (size_t)B * NH * T);
        int *pos0 = (int *)calloc((size_t)B, sizeof(int));
        double tf = 0, tb = 0, flops;
        hbpo_rng rng;
        if (!q || !k || !v || !out || !dout || !dq || !dk || !dv || !lse || !pos0) {
            fprintf(stderr, "bench_attention: out of memory\n");
            return 1;
        }
        hbpo_rng_seed(&rng, 1);
        for (i = 0; i < (int)nq; i++) { q[i] = hbpo_rng_uniform(&rng) - 0.5f; dout[i] = hbpo_rng_uniform(&rng) - 0.5f; }
        for (i = 0; i < (int)nk; i++) { k[i] = hbpo_rng_uniform(&rng) - 0.5f; v[i] = hbpo_rng_uniform(&rng) - 0.5f; }
        for (r = 0; r < reps + 1; r++) { /* the first repetition warms up */
            double t0 = hbpo_wall_time(), t1;
            for (i = 0; i < L; i++)
                if (be->attention_forward(out, lse, q, k, v, pos0, NULL, B, T, T, NH, KVH, HS) != 0) {
                    fprintf(stderr, "bench_attention: %s\n", hbpo_last_error());
                    return 1;
                }
            t1 = hbpo_wall_time();
            for (i = 0; i < L; i++)
                if (be->attention_backward(dq, dk, dv, dout, q, k, v, out, lse, B, T, NH, KVH, HS) != 0) {
                    fprintf(stderr, "bench_attention: %s\n", hbpo_last_error());
                    return 1;
                }
            if (r > 0) { tf += t1 - t0; tb += hbpo_wall_time() - t1; }
        }
        tf /= reps;
        tb /= reps;
        flops = (double)L * B * NH * 2.0 * 2.0 * T * (T + 1) / 2.0 * HS;
        printf("attention %2d x %3d, %d layers (%s): forward %7.2f ms %6.1f GFLOP/s, backward %7.2f ms %6.1f GFLOP/s\n",
               B, T, L, hbpo_bench_on_tiles(T) ? "tiles" : "sgemm", tf * 1e3, flops / tf * 1e-9, tb * 1e3, 2 * flops / tb * 1e-9);
        free(q); free(k); free(v); free(out); free(dout); free(dq); free(dk); free(dv); free(lse); free(pos0);
    }
    return 0;
}
