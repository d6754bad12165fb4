/* bench_small: the demo's small model (examples/tiny_hbpo.c, 0.77M
   parameters) on the CPU backend, where overhead rather than the products
   decides the speed. Figures, not pass/fail; docs/performance.md records them.

     1. the sgemm path and kernel in use, the same-run sgemm rate for a
        2048^3 product and for the demo's largest product shape;
     2. SFT steps exactly as the demo runs them (hbpo_sft_step on 32
        synthetic problems with worked solutions, AdamW included): seconds
        per step, tokens/s and GFLOP/s counted on the real (unpadded) tokens
        as in docs/performance.md:
          flops/token = 6 * (matmul parameters incl. the LM head)
                      + 6 * L * NH * HS * (n + 1)   for a sequence of n tokens,
        and that rate as a share of the same-run sgemm rate;
     3. batched greedy decoding at the demo's rollout shape: tokens/s;
     4. with --matmul-compare: the same steps also on a second model with
        bf16 products (matmul_precision HBPO_MATMUL_BF16: oneDNN's bf16 matmul
        on a CPU with AVX512-BF16 or AMX, else emulated by rounding the inputs;
        the bf16 products line says which), each step run right after its fp32
        twin on the same batch, and the ratio of their times.

   Usage: build/bench_small [--threads N] [--steps N] [--matmul-compare] */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 32 };

int main(int argc, char **argv) {
    hbpo_model_config cfg = hbpo_synth_model_config();
    hbpo_adamw_config opt = hbpo_adamw_config_default();
    hbpo_model m, m2;
    hbpo_tokenizer *tok = NULL;
    char line[256], tok_path[64], q[BATCH][32], a[BATCH][8], sol[BATCH][HBPO_SYNTH_MAX_SOLUTION];
    const char *qs[BATCH], *ss[BATCH];
    int steps = 20, threads = 0, compare = 0, i, s, b;
    double matmul_params, flops = 0, tokens = 0, total = 0, total2 = 0, peak_gf, shape_gf;
    double *rates; /* each step's GFLOP/s: the median and the best resist a busy machine */
    hbpo_rng rng;
    hbpo_program_start(argv);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--matmul-compare")) compare = 1;
        else { fprintf(stderr, "usage: %s [--threads N] [--steps N] [--matmul-compare]\n", argv[0]); return 2; }
    }
    if (steps < 1) { fprintf(stderr, "bench_small: --steps must be >= 1\n"); return 2; }
    if (threads > 0) hbpo_set_threads(threads);
    hbpo_blas_describe(line, sizeof line);
    printf("%s\n", line);
    hbpo_bf16_describe(line, sizeof line);
    printf("%s\n", line);
    peak_gf = bench_sgemm_gflops(2048, 2048, 2048, 3);
    shape_gf = bench_sgemm_gflops(1024, cfg.intermediate_size, cfg.hidden_size, 20);
    printf("sgemm 2048x2048x2048:             %8.1f GFLOP/s\n", peak_gf);
    printf("sgemm 1024x%dx%d (demo FFN shape): %7.1f GFLOP/s\n", cfg.intermediate_size, cfg.hidden_size, shape_gf);

    snprintf(tok_path, sizeof tok_path, "bench_small_tokenizer_%ld.json", (long)hbpo_wall_time());
    if (hbpo_tokenizer_write_bytes(tok_path) != 0 || hbpo_tokenizer_load(&tok, tok_path) != 0 ||
        hbpo_model_create(&m, &cfg, NULL) != 0) {
        fprintf(stderr, "bench_small: %s\n", hbpo_last_error());
        remove(tok_path);
        return 1;
    }
    remove(tok_path);
    hbpo_model_init_random(&m, 1);
    if (compare) {
        hbpo_model_config c2 = cfg;
        c2.matmul_precision = HBPO_MATMUL_BF16;
        if (hbpo_model_create(&m2, &c2, NULL) != 0) {
            fprintf(stderr, "bench_small: %s\n", hbpo_last_error());
            return 1;
        }
        hbpo_model_init_random(&m2, 1);
    }
    matmul_params = (double)cfg.num_hidden_layers *
                        ((double)cfg.hidden_size * (cfg.num_attention_heads + 2 * cfg.num_key_value_heads) * cfg.head_dim +
                         (double)cfg.num_attention_heads * cfg.head_dim * cfg.hidden_size +
                         3.0 * cfg.hidden_size * cfg.intermediate_size) +
                    (double)cfg.vocab_size * cfg.hidden_size;
    rates = (double *)malloc(sizeof(double) * (size_t)steps);
    if (!rates) { fprintf(stderr, "bench_small: out of memory\n"); return 1; }
    hbpo_rng_seed(&rng, 17);
    opt.lr = 1e-3f;
    opt.weight_decay = 0.0f;
    for (s = 0; s < steps + 1; s++) {
        double step_flops = 0, step_tokens = 0, t0, dt;
        float loss;
        for (b = 0; b < BATCH; b++) {
            int level = 1 + (int)(hbpo_rng_u32(&rng) % 4), style = (int)(hbpo_rng_u32(&rng) % 3), n;
            if (hbpo_synth_problem(&rng, level, q[b], sizeof q[b], a[b], sizeof a[b]) != 0 ||
                hbpo_synth_solution(q[b], style, &rng, sol[b], sizeof sol[b]) < 0) {
                fprintf(stderr, "bench_small: %s\n", hbpo_last_error());
                return 1;
            }
            qs[b] = q[b];
            ss[b] = sol[b];
            /* prompt + completion + end of turn, less the last position */
            {
                char prompt[256];
                int pl = hbpo_chat_prompt(HBPO_CHAT_CHATML, q[b], "", prompt, sizeof prompt);
                n = hbpo_tokenizer_encode(tok, prompt, (size_t)pl, NULL, 0) +
                    hbpo_tokenizer_encode(tok, sol[b], strlen(sol[b]), NULL, 0);
            }
            step_tokens += n;
            step_flops += (double)n * (6.0 * matmul_params + 6.0 * cfg.num_hidden_layers *
                                                                  cfg.num_attention_heads * cfg.head_dim * (n + 1));
        }
        t0 = hbpo_wall_time();
        if (hbpo_sft_step(&m, tok, HBPO_CHAT_CHATML, BATCH, qs, NULL, ss, BATCH, &opt, &loss) != 0) {
            fprintf(stderr, "bench_small: %s\n", hbpo_last_error());
            return 1;
        }
        dt = hbpo_wall_time() - t0;
        if (compare) {
            double t1 = hbpo_wall_time();
            if (hbpo_sft_step(&m2, tok, HBPO_CHAT_CHATML, BATCH, qs, NULL, ss, BATCH, &opt, &loss) != 0) {
                fprintf(stderr, "bench_small: %s\n", hbpo_last_error());
                return 1;
            }
            if (s > 0) total2 += hbpo_wall_time() - t1;
        }
        if (s == 0) continue; /* warm-up: the first step allocates */
        rates[s - 1] = step_flops / dt * 1e-9;
        total += dt;
        tokens += step_tokens;
        flops += step_flops;
    }
    printf("demo SFT step (32 sequences, %.0f tokens on average, %.2fM params): %.3f s/step  %8.0f tokens/s  "
           "%6.1f GFLOP/s = %.0f%% of the 2048^3 sgemm, %.0f%% of the demo-shape sgemm\n",
           tokens / steps, m.n_params / 1e6, total / steps, tokens / total, flops / total * 1e-9,
           100.0 * flops / total * 1e-9 / peak_gf, 100.0 * flops / total * 1e-9 / shape_gf);
    qsort(rates, (size_t)steps, sizeof *rates, bench_cmp_double);
    printf("demo SFT step, each step's rate: median %.1f GFLOP/s, best %.1f GFLOP/s (of %d steps)\n",
           steps % 2 ? rates[steps / 2] : 0.5 * (rates[steps / 2 - 1] + rates[steps / 2]),
           rates[steps - 1], steps);
    free(rates);
    {
        /* decoding as the demo's rollouts do it: 128 sequences, 24-token
           prompts (a level-4 question in ChatML), 96 new tokens each */
        double dt, rate = bench_decode_tokens_per_s(&m, 128, 24, 96, &dt);
        if (rate < 0) {
            fprintf(stderr, "bench_small: %s\n", hbpo_last_error());
            return 1;
        }
        printf("decode 128 sequences x 96 new tokens (24-token prompts, prefill included): %8.3f s  %8.0f tokens/s\n",
               dt, rate);
    }
    if (compare) {
        printf("demo SFT step with bf16 products (%s): %.3f s/step, %.2fx the fp32 step, measured interleaved "
               "step by step\n", strncmp(line, "bf16 products: oneDNN", 21) ? "emulated" : "oneDNN", total2 / steps,
               total2 / total);
        hbpo_model_free(&m2);
    }
    hbpo_model_free(&m);
    hbpo_tokenizer_free(tok);
    return 0;
}
