/* bench_model: the Qwen2 model on the CPU backend, measured side by side in
   one run (figures, not pass/fail; docs/performance.md records them).

     1. cblas_sgemm (or the portable loop) GFLOP/s on this machine: a 2048^3
        square product (the peak reference) and the model's largest product
        (tokens x hidden -> FFN).
     2. One training step (forward + backward + AdamW) on the reference shape:
        hidden 512, 8 layers, 8 heads / 2 KV heads, FFN 1408, vocab 4096,
        batch 8 x 256 tokens: tokens/s and achieved GFLOP/s, where
          flops/token = 6 * (matmul parameters incl. the LM head)
                      + 6 * L * NH * HS * (T + 1)        (causal attention,
        QK^T and PV counted over the keys each query sees, 2 flops per
        multiply-add, backward twice the forward).
     3. Memory: peak resident set vs parameters + gradients + Adam moments +
        saved activations (hbpo_model_memory_usage).
     4. Batched decoding: 64 sequences, 64-token prompts, 128 new tokens each
        (greedy, EOS disabled): generated tokens/s.

   --matmul bf16|tf32 runs every product with inputs rounded to that format
   (hbpo_model_config.matmul_precision; on a CPU an emulation of the numerics).

   Usage: build/bench_model [--threads N] [--steps N] [--batch B] [--seq T]
                            [--matmul fp32|tf32|bf16] [--no-decode] */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

static double peak_rss_mib(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0; /* kilobytes on Linux */
}

int main(int argc, char **argv) {
    hbpo_model_config cfg = hbpo_model_config_default();
    hbpo_adamw_config opt = hbpo_adamw_config_default();
    hbpo_model m;
    hbpo_model_memory mem;
    int B = 8, T = 256, steps = 3, threads = 0, decode = 1, i, s;
    int *in, *tg;
    float *mask, *dlogp;
    double t0, dt, best = 1e30, flops_tok, matmul_params, peak, ideal;
    char line[256];
    hbpo_program_start(argv); /* the right BLAS kernel, passive OpenMP waits */
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--batch") && i + 1 < argc) B = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seq") && i + 1 < argc) T = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-decode")) decode = 0;
        else if (!strcmp(argv[i], "--matmul") && i + 1 < argc) {
            const char *p = argv[++i];
            cfg.matmul_precision = !strcmp(p, "fp32") ? HBPO_MATMUL_FP32 : !strcmp(p, "tf32") ? HBPO_MATMUL_TF32
                                 : !strcmp(p, "bf16") ? HBPO_MATMUL_BF16 : -1;
            if (cfg.matmul_precision < 0) { fprintf(stderr, "bench_model: --matmul fp32|tf32|bf16\n"); return 2; }
        }
        else { fprintf(stderr, "usage: %s [--threads N] [--steps N] [--batch B] [--seq T] [--matmul fp32|tf32|bf16] [--no-decode]\n", argv[0]); return 2; }
    }
    if (B < 1 || T < 2 || steps < 1 || T > cfg.max_position_embeddings) {
        fprintf(stderr, "bench_model: bad --batch/--seq/--steps\n");
        return 2;
    }
    if (threads > 0) hbpo_set_threads(threads);
    hbpo_blas_describe(line, sizeof line);
    printf("%s\n", line);
    hbpo_bf16_describe(line, sizeof line);
    printf("%s\n", line);

    /* 1. sgemm on this machine */
    {
        double peak_gf = bench_sgemm_gflops(2048, 2048, 2048, 3);
        double model_gf = bench_sgemm_gflops(B * T, cfg.intermediate_size, cfg.hidden_size, 5);
        printf("sgemm 2048x2048x2048:          %8.1f GFLOP/s\n", peak_gf);
        printf("sgemm %dx%dx%d (FFN shape):  %8.1f GFLOP/s\n", B * T, cfg.intermediate_size,
               cfg.hidden_size, model_gf);

        /* 2. the training step */
        if (hbpo_model_create(&m, &cfg, NULL) != 0) { fprintf(stderr, "%s\n", hbpo_last_error()); return 1; }
        hbpo_model_init_random(&m, 1);
        in = (int *)malloc(sizeof(int) * (size_t)B * T);
        tg = (int *)malloc(sizeof(int) * (size_t)B * T);
        mask = (float *)malloc(sizeof(float) * (size_t)B * T);
        dlogp = (float *)malloc(sizeof(float) * (size_t)B * T);
        {
            hbpo_rng rng;
            hbpo_rng_seed(&rng, 2);
            for (i = 0; i < B * T; i++) {
                in[i] = (int)(hbpo_rng_u32(&rng) % (uint32_t)cfg.vocab_size);
                mask[i] = 1.0f;
                dlogp[i] = -1.0f / (float)(B * T);
            }
            for (i = 0; i < B * T; i++) tg[i] = (i + 1) % T ? in[i + 1] : 0;
        }
        matmul_params = (double)m.n_params - (double)cfg.vocab_size * cfg.hidden_size * (cfg.tie_word_embeddings ? 0 : 1)
                        - (double)cfg.num_hidden_layers * (2 * cfg.hidden_size) - cfg.hidden_size;
        /* the embedding lookup is not a product; the LM head is (tied or not) */
        matmul_params = matmul_params - (double)cfg.vocab_size * cfg.hidden_size + (double)cfg.vocab_size * cfg.hidden_size;
        flops_tok = 6.0 * matmul_params + 6.0 * cfg.num_hidden_layers * cfg.num_attention_heads * cfg.head_dim * (T + 1);
        for (s = 0; s < steps + 1; s++) {
            t0 = hbpo_wall_time();
            if (hbpo_model_forward(&m, in, tg, mask, B, T, 1.0f, NULL, NULL) != 0 ||
                hbpo_model_backward(&m, dlogp) != 0 || hbpo_model_step(&m, &opt, NULL) != 0) {
                fprintf(stderr, "bench_model: %s\n", hbpo_last_error());
                return 1;
            }
            dt = hbpo_wall_time() - t0;
            if (s > 0 && dt < best) best = dt; /* step 0 allocates: warm-up */
        }
        printf("train step %dx%d, %.1fM params: %8.3f s  %8.0f tokens/s  %6.1f GFLOP/s  = %.0f%% of sgemm peak, %.0f%% of the FFN-shape sgemm\n",
               B, T, m.n_params / 1e6, best, B * T / best, flops_tok * B * T / best * 1e-9,
               100.0 * flops_tok * B * T / best * 1e-9 / peak_gf,
               100.0 * flops_tok * B * T / best * 1e-9 / model_gf);
    }

    /* 3. memory */
    mem = hbpo_model_memory_usage(&m);
    peak = peak_rss_mib();
    ideal = (double)(mem.params + mem.grads + mem.adam + mem.saved) / 1048576.0;
    printf("memory: params %.0f + grads %.0f + adam %.0f + saved activations %.0f = %.0f MiB; scratch %.0f MiB\n",
           mem.params / 1048576.0, mem.grads / 1048576.0, mem.adam / 1048576.0,
           mem.saved / 1048576.0, ideal, mem.scratch / 1048576.0);
    printf("peak resident set: %.0f MiB = %.2fx the sum (goal <= 1.2x)\n", peak, peak / ideal);

    /* 4. batched decoding */
    if (decode) {
        enum { NS = 64, PL = 64, NEW = 128 };
        double rate = bench_decode_tokens_per_s(&m, NS, PL, NEW, &dt);
        if (rate < 0) {
            fprintf(stderr, "bench_model: %s\n", hbpo_last_error());
            return 1;
        }
        printf("decode %d sequences x %d new tokens (%d-token prompts, prefill included): %8.3f s  %8.0f tokens/s\n",
               NS, NEW, PL, dt, rate);
    }
    hbpo_model_free(&m);
    free(in); free(tg); free(mask); free(dlogp);
    return 0;
}
