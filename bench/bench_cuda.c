/* bench_cuda - the CUDA backend's speed (figures, not pass/fail).

   Usage: build/bench_cuda [train|decode|hbpo|sample|all] [--quick]
     train   tokens/s and model FLOP utilisation of one training step
             (forward + backward + AdamW, hbpo_model_cross_entropy +
             hbpo_model_step) at the Qwen2.5-0.5B and
             DeepSeek-R1-Distill-Qwen-1.5B shapes, random weights,
             sequences of 2048, in bf16 and fp32 matmul modes
     decode  tokens/s of greedy hbpo_generate with 256 concurrent sequences
             (prompts of 64, 128 new tokens; --quick: 32 new) at the 1.5B shape, bf16
     hbpo    the time of one hbpo_trainer_step, 8 queries x 16 rollouts of up to
             4096 tokens (--quick: 1024) at the 1.5B shape, bf16
     sample  the sample op alone on 256 rows of Qwen's 151,936 logits: greedy,
             plain (T 1), top-p (T 0.6, top-p 0.95: the paper's evaluation) and
             top-k 50; milliseconds a call, GPU and CPU backend side by side
   MFU: model FLOPs per token 6 P + 6 L T NH HS (P = the parameters of every
   product, LM head included; the second term is causal attention, forward
   and backward) over HBPO_PEAK_TFLOPS (default 989: the dense bf16 peak of
   an H100/H200 SXM; set it for another GPU). bench/torch_gpu_reference.py
   prints PyTorch's figures for the same shapes, side by side in one run
   (tools/gpu_check.sh runs both).
   Exits 2 without a GPU. None of this has run yet: no GPU where it was written. */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"
#include "tests/hbpo_test.h" /* hbpo_test_r1_distill_1p5b_config */


#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const hbpo_backend *gpu;

static hbpo_model_config cfg_qwen25_05b(void) {
    hbpo_model_config c = hbpo_model_config_default();
    c.vocab_size = 151936; c.hidden_size = 896; c.intermediate_size = 4864;
    c.num_hidden_layers = 24; c.num_attention_heads = 14; c.num_key_value_heads = 2;
    c.head_dim = 64; c.max_position_embeddings = 32768; c.rope_theta = 1000000.0f;
    c.rms_norm_eps = 1e-6f; c.tie_word_embeddings = 1; c.attention_bias = 1;
    return c;
}

/* parameters of the products (embedding lookup excluded, LM head included) */
static double product_params(const hbpo_model_config *c) {
    double C = c->hidden_size, QD = (double)c->num_attention_heads * c->head_dim;
    double KVD = (double)c->num_key_value_heads * c->head_dim, F = c->intermediate_size;
    return c->num_hidden_layers * (2 * QD * C + 2 * KVD * C + 3 * F * C) + (double)c->vocab_size * C;
}

static double peak_tflops(void) {
    const char *e = getenv("HBPO_PEAK_TFLOPS");
    double v = e ? atof(e) : 0.0;
    return v > 0 ? v : 989.0;
}

static void bench_train(const char *name, hbpo_model_config c, int B, int T, int precision, int steps) {
    static const char *pn[3] = {"fp32", "tf32", "bf16"};
    hbpo_model m;
    hbpo_adamw_config oc = hbpo_adamw_config_default();
    int *in = (int *)malloc(sizeof(int) * (size_t)B * T), *tg = (int *)malloc(sizeof(int) * (size_t)B * T);
    float *mask = (float *)malloc(sizeof(float) * (size_t)B * T), loss, gn;
    double t0 = 0.0, dt, tok_s, fl;
    int i;
    hbpo_rng r;
    c.matmul_precision = precision;
    if (hbpo_cuda_plan_check(&c, B, T, 0, 0) != 0) {
        printf("train %s %s B=%d T=%d: skipped: %s\n", name, pn[precision], B, T, hbpo_last_error());
        goto out;
    }
    if (hbpo_model_create(&m, &c, gpu) != 0) {
        printf("train %s: %s\n", name, hbpo_last_error());
        goto out;
    }
    hbpo_model_init_random(&m, 1);
    hbpo_rng_seed(&r, 2);
    for (i = 0; i < B * T; i++) {
        in[i] = (int)(hbpo_rng_u32(&r) % (uint32_t)c.vocab_size);
        tg[i] = (int)(hbpo_rng_u32(&r) % (uint32_t)c.vocab_size);
        mask[i] = 1.0f;
    }
    oc.lr = 1e-5f;
    for (i = 0; i <= steps; i++) {
        if (i == 1) t0 = hbpo_wall_time(); /* the first step warms up (allocations, cuBLAS) */
        if (hbpo_model_cross_entropy(&m, in, tg, mask, B, T, 1.0f, &loss) != 0 ||
            hbpo_model_step(&m, &oc, &gn) != 0) {
            printf("train %s: %s\n", name, hbpo_last_error());
            hbpo_model_free(&m);
            goto out;
        }
        if (i == 0) t0 = hbpo_wall_time();
    }
    dt = (hbpo_wall_time() - t0) / steps;
    tok_s = (double)B * T / dt;
    fl = 6.0 * product_params(&c) + 6.0 * c.num_hidden_layers * T * (double)c.num_attention_heads * c.head_dim;
    printf("train %s %s B=%d T=%d: %.3f s/step, %.0f tokens/s, %.1f TFLOP/s, MFU %.1f%% of %.0f "
           "(loss %.4f)\n", name, pn[precision], B, T, dt, tok_s, fl * tok_s * 1e-12,
           100.0 * fl * tok_s * 1e-12 / peak_tflops(), peak_tflops(), (double)loss);
    hbpo_model_free(&m);
out:
    free(in); free(tg); free(mask);
}

static void bench_decode(int n, int plen, int new_tokens) {
    hbpo_model_config c = hbpo_test_r1_distill_1p5b_config();
    hbpo_model m;
    hbpo_sampler_config s = hbpo_sampler_config_default();
    int *prompt = (int *)malloc(sizeof(int) * (size_t)n * plen), *off = (int *)malloc(sizeof(int) * (size_t)(n + 1));
    int *out = (int *)malloc(sizeof(int) * (size_t)n * new_tokens), *len = (int *)malloc(sizeof(int) * (size_t)n);
    long total = 0;
    double t0, dt;
    int i;
    hbpo_rng r;
    c.matmul_precision = HBPO_MATMUL_BF16;
    s.temperature = 0.0f;
    s.max_new_tokens = new_tokens;
    if (hbpo_model_create(&m, &c, gpu) != 0) {
        printf("decode: %s\n", hbpo_last_error());
        goto out;
    }
    hbpo_model_init_random(&m, 3);
    hbpo_rng_seed(&r, 4);
    for (i = 0; i < n * plen; i++) prompt[i] = (int)(hbpo_rng_u32(&r) % 151000u);
    for (i = 0; i <= n; i++) off[i] = i * plen;
    t0 = hbpo_wall_time();
    if (hbpo_generate(&m, &s, n, prompt, off, out, NULL, len) != 0) {
        printf("decode: %s\n", hbpo_last_error());
        hbpo_model_free(&m);
        goto out;
    }
    dt = hbpo_wall_time() - t0;
    for (i = 0; i < n; i++) total += len[i];
    printf("decode 1.5B bf16 greedy, %d sequences, prompts %d, %d new: %ld tokens in %.2f s: "
           "%.0f tokens/s (prefill included)\n", n, plen, new_tokens, total, dt, (double)total / dt);
    hbpo_model_free(&m);
out:
    free(prompt); free(off); free(out); free(len);
}

static void bench_hbpo(int l_max) {
    hbpo_model_config mc = hbpo_test_r1_distill_1p5b_config();
    hbpo_train_config tc = hbpo_train_config_default();
    hbpo_tokenizer *tok = NULL;
    hbpo_dataset d;
    hbpo_trainer t;
    hbpo_step_metrics mt;
    hbpo_model m;
    double t0;
    const char *path = "/tmp/hbpo_bench_cuda_tok.json";
    memset(&d, 0, sizeof d);
    mc.matmul_precision = HBPO_MATMUL_BF16;
    tc.budget.l_max = l_max;
    tc.n_rollouts = 16;
    tc.batch_queries = 8;
    tc.micro_batch = 4;
    if (hbpo_cuda_plan_check(&mc, tc.micro_batch, l_max + 256, 128, l_max + 256) != 0) {
        printf("hbpo step: skipped: %s\n", hbpo_last_error());
        return;
    }
    if (hbpo_tokenizer_write_bytes(path) != 0 || hbpo_tokenizer_load(&tok, path) != 0 ||
        hbpo_model_create(&m, &mc, gpu) != 0) {
        printf("hbpo step: %s\n", hbpo_last_error());
        return;
    }
    hbpo_model_init_random(&m, 5);
    if (hbpo_synth_dataset(&d, 6, 8, 1, 4) != 0 || hbpo_trainer_init(&t, &tc, &m, tok, &d) != 0) {
        printf("hbpo step: %s\n", hbpo_last_error());
        hbpo_model_free(&m);
        return;
    }
    t0 = hbpo_wall_time();
    if (hbpo_trainer_step(&t, &mt) != 0) printf("hbpo step: %s\n", hbpo_last_error());
    else
        printf("hbpo step 1.5B bf16, 8 queries x 16 rollouts, L_max %d: %.1f s (rollout %.1f, "
               "score %.1f, update %.1f), mean n_gen %.0f\n", l_max, hbpo_wall_time() - t0,
               mt.t_rollout, mt.t_score, mt.t_update, mt.ngen_mean);
    hbpo_trainer_free(&t);
    hbpo_dataset_free(&d);
    hbpo_model_free(&m);
    hbpo_tokenizer_free(tok);
}

/* ms a call of each backend's sample op, 256 rows of 151,936 logits drawn
   as 4 N(0,1) (a peaked row, as a trained model's); the GPU's tokens are
   checked against the CPU's */
static void bench_sample(int reps) {
    enum { N = 256, V = 151936 };
    static const struct { const char *name; float t, p; int k; } mode[4] = {
        {"greedy", 0.0f, 1.0f, 0}, {"plain T 1", 1.0f, 1.0f, 0}, {"top-p 0.95 T 0.6", 0.6f, 0.95f, 0},
        {"top-k 50 T 0.6", 0.6f, 1.0f, 50}};
    const hbpo_backend *cpu = hbpo_backend_cpu();
    size_t nz = (size_t)N * V;
    float *z = (float *)malloc(sizeof(float) * nz), *work = (float *)malloc(sizeof(float) * nz);
    float coins[N], lp[N], *Z = NULL, *W = NULL;
    int t0[N], t1[N], i, m, r, same;
    hbpo_rng g;
    double a, tg, tc;
    hbpo_rng_seed(&g, 9);
    if (!z || !work) goto out;
    for (i = 0; i < (int)nz; i++) z[i] = 4.0f * hbpo_rng_normal(&g);
    for (i = 0; i < N; i++) coins[i] = hbpo_rng_uniform(&g);
    Z = (float *)gpu->alloc(sizeof(float) * nz);
    W = (float *)gpu->alloc(sizeof(float) * nz);
    if (!Z || !W) {
        printf("sample: %s\n", hbpo_last_error());
        goto out;
    }
    gpu->upload(Z, z, sizeof(float) * nz);
    for (m = 0; m < 4; m++) {
        hbpo_sampler_config s = hbpo_sampler_config_default();
        s.temperature = mode[m].t; s.top_p = mode[m].p; s.top_k = mode[m].k;
        if (gpu->sample(t1, lp, Z, N, V, &s, coins, W) != 0) { printf("sample: %s\n", hbpo_last_error()); break; }
        a = hbpo_wall_time();
        for (r = 0; r < reps; r++) gpu->sample(t1, lp, Z, N, V, &s, coins, W);
        tg = (hbpo_wall_time() - a) / reps;
        a = hbpo_wall_time();
        cpu->sample(t0, lp, z, N, V, &s, coins, work);
        tc = hbpo_wall_time() - a;
        for (i = 0, same = 0; i < N; i++) same += t0[i] == t1[i];
        printf("sample %-17s %d rows x %d: GPU %8.3f ms, CPU backend %8.1f ms (%.1fx); tokens equal to "
               "the CPU's: %d of %d\n", mode[m].name, N, V, 1e3 * tg, 1e3 * tc, tc / tg, same, N);
    }
out:
    if (Z) gpu->free(Z);
    if (W) gpu->free(W);
    free(z); free(work);
}

int main(int argc, char **argv) {
    const char *what = argc > 1 ? argv[1] : "all";
    int quick = argc > 2 && strcmp(argv[2], "--quick") == 0, all = strcmp(what, "all") == 0;
    char dev[256];
    if (hbpo_cuda_device_count() == 0 || !(gpu = hbpo_backend_cuda(0))) {
        printf("bench_cuda: %s: nothing measured\n", hbpo_last_error());
        return 2;
    }
    hbpo_cuda_describe(dev, sizeof dev);
    printf("bench_cuda on %s%s\n", dev, quick ? " (--quick)" : "");
    if (all || !strcmp(what, "train")) {
        bench_train("Qwen2.5-0.5B", cfg_qwen25_05b(), 4, 2048, HBPO_MATMUL_BF16, quick ? 2 : 5);
        bench_train("R1-Distill-1.5B", hbpo_test_r1_distill_1p5b_config(), 2, 2048, HBPO_MATMUL_BF16, quick ? 2 : 5);
        bench_train("R1-Distill-1.5B", hbpo_test_r1_distill_1p5b_config(), 2, 2048, HBPO_MATMUL_FP32, 2);
    }
    if (all || !strcmp(what, "decode")) bench_decode(256, 64, quick ? 32 : 128);
    if (all || !strcmp(what, "hbpo")) bench_hbpo(quick ? 1024 : 4096);
    if (all || !strcmp(what, "sample")) bench_sample(quick ? 3 : 10);
    return 0;
}
