/* The backend seam (issue 10): one error channel through sync(), backends by
   name, the precision of the products, the sampling op, the key/value cache
   op and slots with continuous batching.

   Failures: a fake backend is the CPU table with three ops wrapped; when
   armed, an op records a failure (as an asynchronous GPU op would) and does
   its work anyway, and sync() reports it once through hbpo_set_error. The
   model's entry points must then return -1 with that message.

   Precision: tf32/bf16 products must equal the fp32 product of inputs
   rounded by hand here (frexp/rint/ldexp, independent of the library's bit
   tricks), and differ from the fp32 product by the expected relative amount.

   Continuous batching: each sequence draws from its own stream and owns its
   cache slot, so the number of slots may not change the tokens or lengths;
   log-probs may differ in the last bits, because a token's products are
   computed in batches of another composition (OpenBLAS's and the portable
   kernels' results depend on a row's place and the batch's length, and a
   prefill group's padded length selects the attention kernel), so they are
   compared within 1e-5. With max_active = B the decoding rows keep the
   order of the earlier cache compaction, so outputs are the same bits as
   before slots (checked when the change was made, at 1 and 2 threads). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hbpo.h"
#include "hbpo_test.h"

/* --- a failing backend ---------------------------------------------------------- */

static hbpo_backend fake;
static const hbpo_backend *fake_cpu;
static const char *fake_armed; /* name of the op that fails next, or NULL */
static char fake_failure[128]; /* recorded failure, "" when none */

static void fake_record(const char *op) {
    if (fake_armed && !strcmp(fake_armed, op) && !fake_failure[0])
        snprintf(fake_failure, sizeof fake_failure, "fake.cu:%d: %s: injected failure", 42, op);
}
static int fake_sync(void) {
    if (!fake_failure[0]) return 0;
    hbpo_set_error("%s", fake_failure);
    fake_failure[0] = 0;
    fake_armed = NULL;
    return -1;
}
static void fake_add(float *out, const float *a, const float *b, size_t n) {
    fake_record("add");
    fake_cpu->add(out, a, b, n);
}
static void fake_embedding_backward(float *dwte, const float *dout, const int *tokens, int N, int C) {
    fake_record("embedding_backward");
    fake_cpu->embedding_backward(dwte, dout, tokens, N, C);
}
static void fake_adamw(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                       float b2, float eps, float wd, float bc1, float bc2, float grad_scale) {
    fake_record("adamw");
    fake_cpu->adamw(p, g, m, v, n, lr, b1, b2, eps, wd, bc1, bc2, grad_scale);
}
static const hbpo_backend *fake_backend(void) {
    fake_cpu = hbpo_backend_cpu();
    fake = *fake_cpu;
    fake.name = "fake";
    fake.sync = fake_sync;
    fake.add = fake_add;
    fake.embedding_backward = fake_embedding_backward;
    fake.adamw = fake_adamw;
    fake_armed = NULL;
    fake_failure[0] = 0;
    return &fake;
}

static hbpo_model_config small_config(void) {
    hbpo_model_config c = hbpo_test_model_config(64, 64);
    c.rope_theta = 1000.0f;
    c.initializer_range = 0.1f;
    return c;
}

#define EXPECT_INJECTED(call, op)                                               \
    do {                                                                        \
        fake_armed = (op);                                                      \
        hbpo_clear_error();                                                     \
        ASSERT_EQ(-1, (call));                                                  \
        ASSERT_STR_EQ("fake.cu:42: " op ": injected failure", hbpo_last_error()); \
        ASSERT(fake_armed == NULL); /* reported once, by sync */                \
    } while (0)

TEST backend_failures_reach_every_entry_point(void) {
    hbpo_model_config c = small_config();
    hbpo_model m;
    hbpo_adamw_config o = hbpo_adamw_config_default();
    hbpo_sampler_config s = hbpo_sampler_config_default();
    int in[2 * 6], tg[2 * 6], i, off[3] = {0, 3, 7}, tok[2 * 5], len[2];
    float mask[2 * 6], lp[2 * 6], dl[2 * 6], gn;
    ASSERT_EQ(0, hbpo_model_create(&m, &c, fake_backend()));
    hbpo_model_init_random(&m, 3);
    for (i = 0; i < 12; i++) { in[i] = (i * 7) % 64; tg[i] = (i * 5 + 1) % 64; mask[i] = 1.0f; dl[i] = 0.1f; }
    s.max_new_tokens = 5;
    /* unarmed: everything works */
    ASSERT_EQ(0, hbpo_model_forward(&m, in, tg, mask, 2, 6, 1.0f, lp, NULL));
    ASSERT_EQ(0, hbpo_model_backward(&m, dl));
    ASSERT_EQ(0, hbpo_model_step(&m, &o, &gn));
    ASSERT_EQ(0, hbpo_generate(&m, &s, 2, in, off, tok, NULL, len));
    /* each entry point returns the recorded failure */
    EXPECT_INJECTED(hbpo_model_forward(&m, in, tg, mask, 2, 6, 1.0f, lp, NULL), "add");
    EXPECT_INJECTED(hbpo_model_forward(&m, in, tg, mask, 2, 6, 1.0f, NULL, NULL), "add");
    ASSERT_EQ(0, hbpo_model_forward(&m, in, tg, mask, 2, 6, 1.0f, lp, NULL));
    EXPECT_INJECTED(hbpo_model_backward(&m, dl), "embedding_backward");
    EXPECT_INJECTED(hbpo_model_step(&m, &o, &gn), "adamw");
    EXPECT_INJECTED(hbpo_generate(&m, &s, 2, in, off, tok, NULL, len), "add");
    {
        float logits[6 * 64];
        EXPECT_INJECTED(hbpo_model_logits(&m, in, 1, 6, logits), "add");
    }
    /* and the channel is clear afterwards */
    ASSERT_EQ(0, hbpo_generate(&m, &s, 2, in, off, tok, NULL, len));
    hbpo_model_free(&m);
    PASS();
}

TEST backend_by_name(void) {
    const hbpo_backend *be = NULL;
    ASSERT_EQ(0, hbpo_backend_named("cpu", 0, &be));
    ASSERT(be == hbpo_backend_cpu());
    ASSERT_STR_EQ("cpu", be->name);
    ASSERT_EQ(-1, hbpo_backend_named("cpu", 1, &be));
    ASSERT(be == NULL);
    ASSERT_EQ(-1, hbpo_backend_named("tpu", 0, &be));
    ASSERT(strstr(hbpo_last_error(), "tpu") != NULL);
    ASSERT_EQ(-1, hbpo_backend_named(NULL, 0, &be));
#ifndef HBPO_WITH_CUDA
    ASSERT_EQ(-1, hbpo_backend_named("cuda", 0, &be));
    ASSERT_STR_EQ("this build has no CUDA backend: build build/hbpo-cuda with make cuda", hbpo_last_error());
#endif
    PASS();
}

/* hbpo_set_error sets the message and returns -1, and may quote the current one. */
TEST backend_set_error_quotes_itself(void) {
    ASSERT_EQ(-1, hbpo_set_error("first %d", 1));
    ASSERT_STR_EQ("first 1", hbpo_last_error());
    ASSERT_EQ(-1, hbpo_set_error("second, after: %s", hbpo_last_error()));
    ASSERT_STR_EQ("second, after: first 1", hbpo_last_error());
    PASS();
}

/* --- matmul precision ------------------------------------------------------------ */

/* x rounded to a mantissa of `bits` bits after the leading one, nearest-even
   (rintf in the default rounding mode), for normal finite x. */
static float round_mantissa(float x, int bits) {
    int e;
    float m = frexpf(x, &e); /* x = m 2^e, 0.5 <= |m| < 1 */
    return ldexpf(rintf(ldexpf(m, bits + 1)), e - bits - 1);
}

static float *fa(size_t n) { return (float *)calloc(n ? n : 1, sizeof(float)); }

static void fill(float *x, size_t n, uint64_t seed, float scale) {
    hbpo_rng r;
    size_t i;
    hbpo_rng_seed(&r, seed);
    for (i = 0; i < n; i++) x[i] = scale * hbpo_rng_normal(&r);
}

static double rel_diff(const float *a, const float *b, size_t n) {
    double num = 0.0, den = 0.0;
    size_t i;
    for (i = 0; i < n; i++) {
        num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        den += (double)b[i] * b[i];
    }
    return sqrt(num / den);
}

/* 1 when the bf16 products run through oneDNN (hbpo_bf16_describe) */
static int bf16_native(void) {
    char d[256];
    hbpo_bf16_describe(d, sizeof d);
    return strncmp(d, "bf16 products: oneDNN", 21) == 0;
}

/* Each precision's products against the fp32 product of inputs rounded
   here, forward and both backward products (accumulating into values
   already there), at a small shape and at one past oneDNN's blocks: the
   same bits when the rounded inputs go through the fp32 sgemm; through
   oneDNN (bf16 on a CPU with bf16 instructions, or HBPO_BF16=onednn) the
   same products summed in another order, so within 1e-6, and the same bits
   when repeated. HBPO_BF16=onednn must give the oneDNN path. */
TEST backend_matmul_precision(void) {
    static const int prec[2] = {HBPO_MATMUL_TF32, HBPO_MATMUL_BF16};
    static const int bits[2] = {10, 7};
    static const int shapes[2][3] = {{19, 70, 33}, {301, 200, 130}}; /* N, IC, OC */
    static const double lo[2] = {1e-5, 1e-4}, hi[2] = {2e-3, 2e-2};
    const hbpo_backend *be = hbpo_backend_cpu();
    const char *env = getenv("HBPO_BF16");
    int p, sh, native = bf16_native();
    size_t i;
    if (env && !strcmp(env, "onednn")) {
        char d[256];
        hbpo_bf16_describe(d, sizeof d);
        if (!strstr(d, "built without oneDNN")) ASSERTm("HBPO_BF16=onednn did not select oneDNN", native);
    }
    for (sh = 0; sh < 2; sh++) {
        int N = shapes[sh][0], IC = shapes[sh][1], OC = shapes[sh][2];
        size_t nx = (size_t)N * IC, nw = (size_t)OC * IC, no = (size_t)N * OC;
        float *x = fa(nx), *w = fa(nw), *bias = fa(OC), *dout = fa(no), *xr = fa(nx), *wr = fa(nw), *dr = fa(no);
        float *out = fa(no), *ref = fa(no), *full = fa(no), *dx = fa(nx), *dw = fa(nw), *db = fa(OC);
        float *rdx = fa(nx), *rdw = fa(nw), *rdb = fa(OC), *fdx = fa(nx), *fdw = fa(nw), *again = fa(nx);
        fill(x, nx, 1, 1.0f);
        fill(w, nw, 2, 0.3f);
        fill(bias, OC, 3, 0.5f);
        fill(dout, no, 4, 1.0f);
        be->matmul_forward(full, x, w, bias, N, IC, OC, HBPO_MATMUL_FP32);
        memset(fdx, 0, sizeof(float) * nx); memset(fdw, 0, sizeof(float) * nw);
        be->matmul_backward(fdx, fdw, NULL, dout, x, w, N, IC, OC, 0, HBPO_MATMUL_FP32);
        for (p = 0; p < 2; p++) {
            int via_dnnl = native && prec[p] == HBPO_MATMUL_BF16;
            double tol = via_dnnl ? 1e-6 : 0.0;
            for (i = 0; i < nx; i++) xr[i] = round_mantissa(x[i], bits[p]);
            for (i = 0; i < nw; i++) wr[i] = round_mantissa(w[i], bits[p]);
            for (i = 0; i < no; i++) dr[i] = round_mantissa(dout[i], bits[p]);
            /* forward: the fp32 product of the rounded inputs, bias in fp32 */
            be->matmul_forward(out, x, w, bias, N, IC, OC, prec[p]);
            be->matmul_forward(ref, xr, wr, bias, N, IC, OC, HBPO_MATMUL_FP32);
            ASSERT(tol > 0 ? rel_diff(out, ref, no) <= tol : memcmp(out, ref, sizeof(float) * no) == 0);
            ASSERT_IN_RANGE(lo[p], rel_diff(out, full, no), hi[p]);
            /* backward: dx += dout_r @ w_r, dw += dout_r.T @ x_r, dbias += dout (fp32) */
            fill(dx, nx, 5, 0.1f); memcpy(rdx, dx, sizeof(float) * nx);
            fill(dw, nw, 6, 0.1f); memcpy(rdw, dw, sizeof(float) * nw);
            memset(db, 0, sizeof(float) * OC); memset(rdb, 0, sizeof(float) * OC);
            be->matmul_backward(dx, dw, db, dout, x, w, N, IC, OC, 1, prec[p]);
            be->matmul_backward(rdx, rdw, NULL, dr, xr, wr, N, IC, OC, 1, HBPO_MATMUL_FP32);
            be->matmul_backward(NULL, NULL, rdb, dout, x, w, N, IC, OC, 0, HBPO_MATMUL_FP32);
            ASSERT(tol > 0 ? rel_diff(dx, rdx, nx) <= tol : memcmp(dx, rdx, sizeof(float) * nx) == 0);
            ASSERT(tol > 0 ? rel_diff(dw, rdw, nw) <= tol : memcmp(dw, rdw, sizeof(float) * nw) == 0);
            ASSERT(memcmp(db, rdb, sizeof(float) * OC) == 0);
            /* dx = (no accumulation) against the fp32 product */
            be->matmul_backward(dx, NULL, NULL, dout, x, w, N, IC, OC, 0, prec[p]);
            ASSERT_IN_RANGE(lo[p], rel_diff(dx, fdx, nx), hi[p]);
            be->matmul_backward(again, NULL, NULL, dout, x, w, N, IC, OC, 0, prec[p]);
            ASSERT(memcmp(dx, again, sizeof(float) * nx) == 0); /* repeated: the same bits */
            memset(dw, 0, sizeof(float) * nw);
            be->matmul_backward(NULL, dw, NULL, dout, x, w, N, IC, OC, 0, prec[p]);
            ASSERT_IN_RANGE(lo[p], rel_diff(dw, fdw, nw), hi[p]);
        }
        free(x); free(w); free(bias); free(dout); free(xr); free(wr); free(dr); free(out); free(ref); free(full);
        free(dx); free(dw); free(db); free(rdx); free(rdw); free(rdb); free(fdx); free(fdw); free(again);
    }
    /* the rounding of specials: NaN stays NaN, infinities stay */
    {
        float sx[2] = {NAN, INFINITY}, sw[2] = {1.0f, 0.0f}, so[1];
        be->matmul_forward(so, sx, sw, NULL, 1, 2, 1, HBPO_MATMUL_BF16);
        ASSERT(isnan(so[0]));
    }
    ASSERT_EQ(0, be->sync());
    PASS();
}

TEST backend_model_precision(void) {
    hbpo_model_config c = small_config();
    hbpo_model m;
    int in[3 * 8], tg[3 * 8], i, p;
    float mask[3 * 8], lp32[3 * 8], lp[3 * 8];
    for (i = 0; i < 24; i++) { in[i] = (i * 11) % 64; tg[i] = (i * 3 + 2) % 64; mask[i] = 1.0f; }
    ASSERT_EQ(0, hbpo_model_create(&m, &c, NULL));
    hbpo_model_init_random(&m, 9);
    ASSERT_EQ(0, hbpo_model_forward(&m, in, tg, mask, 3, 8, 1.0f, lp32, NULL));
    for (p = HBPO_MATMUL_TF32; p <= HBPO_MATMUL_BF16; p++) {
        double d = 0.0;
        m.config.matmul_precision = p;
        ASSERT_EQ(0, hbpo_model_forward(&m, in, tg, mask, 3, 8, 1.0f, lp, NULL));
        for (i = 0; i < 24; i++) d = fabs(lp[i] - lp32[i]) > d ? fabs(lp[i] - lp32[i]) : d;
        ASSERT_IN_RANGE(1e-7, d, p == HBPO_MATMUL_BF16 ? 5e-2 : 5e-3);
    }
    m.config.matmul_precision = 3;
    ASSERT_EQ(-1, hbpo_model_config_check(&m.config));
    ASSERT(strstr(hbpo_last_error(), "matmul_precision") != NULL);
    hbpo_model_free(&m);
    PASS();
}

/* --- the sampling op --------------------------------------------------------------- */

TEST backend_sample_op_is_hbpo_sample_per_row(void) {
    enum { n = 9, V = 50 };
    const hbpo_backend *be = hbpo_backend_cpu();
    float logits[n * V], work[n * V], coins[n], lp[n], want_lp, w1[V];
    int tok[n], i, k;
    hbpo_rng r;
    hbpo_sampler_config s = hbpo_sampler_config_default();
    fill(logits, n * V, 5, 2.0f);
    hbpo_rng_seed(&r, 6);
    for (i = 0; i < n; i++) coins[i] = hbpo_rng_uniform(&r);
    for (k = 0; k < 4; k++) {
        s.temperature = k == 0 ? 0.0f : 0.7f;
        s.top_k = k == 2 ? 10 : 0;
        s.top_p = k == 3 ? 0.8f : 1.0f;
        ASSERT_EQ(0, be->sample(tok, lp, logits, n, V, &s, coins, work));
        for (i = 0; i < n; i++) {
            int want = hbpo_sample(logits + i * V, V, &s, coins[i], w1, &want_lp);
            ASSERT_EQ(want, tok[i]);
            ASSERT(memcmp(&want_lp, &lp[i], sizeof want_lp) == 0);
        }
        ASSERT_EQ(0, be->sample(tok, NULL, logits, n, V, &s, coins, work)); /* logp may be NULL */
    }
    logits[3 * V + 7] = NAN;
    ASSERT_EQ(-1, be->sample(tok, lp, logits, n, V, &s, coins, work));
    ASSERT(strstr(hbpo_last_error(), "row 3") != NULL);
    PASS();
}

/* --- cache slots ------------------------------------------------------------------- */

TEST backend_kv_write_and_slot_attention(void) {
    enum { SL = 3, S = 5, KVH = 2, HS = 4, KVD = KVH * HS, NH = 4, B = 2 };
    const hbpo_backend *be = hbpo_backend_cpu();
    float kc[SL * S * KVD], vc[SL * S * KVD], k[2 * KVD], v[2 * KVD], before[SL * S * KVD];
    float q[B * NH * HS], out[B * NH * HS], want[B * NH * HS], kd[B * S * KVD], vd[B * S * KVD];
    int slot[2] = {2, 0}, pos[2] = {4, 1}, pos0[B] = {4, 3}, i;
    fill(kc, SL * S * KVD, 7, 1.0f);
    fill(vc, SL * S * KVD, 8, 1.0f);
    fill(k, 2 * KVD, 9, 1.0f);
    fill(v, 2 * KVD, 10, 1.0f);
    memcpy(before, kc, sizeof kc);
    be->kv_write(kc, vc, k, v, slot, pos, 2, KVD, S);
    ASSERT(memcmp(kc + (2 * S + 4) * KVD, k, sizeof(float) * KVD) == 0);
    ASSERT(memcmp(vc + (2 * S + 4) * KVD, v, sizeof(float) * KVD) == 0);
    ASSERT(memcmp(kc + (0 * S + 1) * KVD, k + KVD, sizeof(float) * KVD) == 0);
    for (i = 0; i < SL * S * KVD; i++)
        if (i / KVD != 2 * S + 4 && i / KVD != 1) ASSERT(kc[i] == before[i]);
    /* sequence b reads slot[b]: the same as the slots copied into a (B, S) cache */
    fill(q, B * NH * HS, 11, 1.0f);
    memcpy(kd, kc + 2 * S * KVD, sizeof(float) * S * KVD);
    memcpy(kd + S * KVD, kc, sizeof(float) * S * KVD);
    memcpy(vd, vc + 2 * S * KVD, sizeof(float) * S * KVD);
    memcpy(vd + S * KVD, vc, sizeof(float) * S * KVD);
    ASSERT_EQ(0, be->attention_forward(out, NULL, q, kc, vc, pos0, slot, B, 1, S, NH, KVH, HS));
    ASSERT_EQ(0, be->attention_forward(want, NULL, q, kd, vd, pos0, NULL, B, 1, S, NH, KVH, HS));
    ASSERT(memcmp(out, want, sizeof out) == 0);
    PASS();
}

/* 11 prompts of 1..21 tokens; generation at several max_active against all at once. */
enum { NB = 11, MN = 9 };
static void batch_prompts(int *prompt, int *off) {
    hbpo_rng r;
    int b, t;
    hbpo_rng_seed(&r, 21);
    off[0] = 0;
    for (b = 0; b < NB; b++) {
        off[b + 1] = off[b] + 1 + (b * 5) % 21;
        for (t = off[b]; t < off[b + 1]; t++) prompt[t] = (int)(hbpo_rng_u32(&r) % 64u);
    }
}

static int same_outputs(const int *tok, const float *lp, const int *len, const int *tok2,
                        const float *lp2, const int *len2, double tol) {
    int i;
    if (memcmp(len, len2, sizeof(int) * NB) != 0) { printf("  lengths differ\n"); return 0; }
    if (memcmp(tok, tok2, sizeof(int) * NB * MN) != 0) { printf("  tokens differ\n"); return 0; }
    for (i = 0; i < NB * MN; i++)
        if (!(fabs(lp[i] - lp2[i]) <= tol)) {
            printf("  logp %d: %.9g vs %.9g\n", i, (double)lp[i], (double)lp2[i]);
            return 0;
        }
    return 1;
}

TEST backend_continuous_batching_keeps_results(void) {
    hbpo_model_config c = small_config();
    hbpo_model m;
    hbpo_sampler_config s = hbpo_sampler_config_default();
    int prompt[NB * 22], off[NB + 1], tok[NB * MN], len[NB], tok2[NB * MN], len2[NB], k, ma;
    float lp[NB * MN], lp2[NB * MN];
    static const int actives[4] = {1, 3, NB, 50};
    ASSERT_EQ(0, hbpo_model_create(&m, &c, NULL));
    hbpo_model_init_random(&m, 31);
    batch_prompts(prompt, off);
    s.max_new_tokens = MN;
    s.seed = 5;
    for (k = 0; k < 3; k++) { /* greedy, sampling, sampling with top-k/top-p and EOS */
        s.temperature = k == 0 ? 0.0f : 0.9f;
        s.top_k = k == 2 ? 12 : 0;
        s.top_p = k == 2 ? 0.9f : 1.0f;
        s.n_eos = k == 2 ? 2 : 0;
        s.eos[0] = 3; s.eos[1] = 17;
        s.max_active = 0;
        ASSERT_EQ(0, hbpo_generate(&m, &s, NB, prompt, off, tok, lp, len));
        for (ma = 0; ma < 4; ma++) {
            s.max_active = actives[ma];
            ASSERT_EQ(0, hbpo_generate(&m, &s, NB, prompt, off, tok2, lp2, len2));
            /* max_active >= B is the same schedule as 0: the same bits */
            ASSERT(same_outputs(tok, lp, len, tok2, lp2, len2, actives[ma] >= NB ? 0.0 : 1e-5));
        }
    }
    s.max_active = -1;
    ASSERT_EQ(-1, hbpo_generate(&m, &s, NB, prompt, off, tok2, lp2, len2));
    ASSERT(strstr(hbpo_last_error(), "max_active") != NULL);
    hbpo_model_free(&m);
    PASS();
}

TEST backend_finished_sequence_frees_its_slot(void) {
    hbpo_model_config c = small_config();
    hbpo_model m;
    hbpo_sampler_config s = hbpo_sampler_config_default();
    int prompt[NB * 22], off[NB + 1], tok[NB * MN], len[NB], tok2[NB * MN], len2[NB], b;
    float lp[NB * MN], lp2[NB * MN];
    ASSERT_EQ(0, hbpo_model_create(&m, &c, NULL));
    hbpo_model_init_random(&m, 32);
    batch_prompts(prompt, off);
    s.max_new_tokens = MN;
    s.temperature = 0.0f;
    ASSERT_EQ(0, hbpo_generate(&m, &s, NB, prompt, off, tok, lp, len));
    /* sequence 0 and 4 end at their first token: with one slot, the others
       must still be admitted after them */
    s.n_eos = 2;
    s.eos[0] = tok[0];
    s.eos[1] = tok[4 * MN];
    ASSERT_EQ(0, hbpo_generate(&m, &s, NB, prompt, off, tok, lp, len));
    ASSERT_EQ(1, len[0]);
    ASSERT_EQ(1, len[4]);
    s.max_active = 1;
    ASSERT_EQ(0, hbpo_generate(&m, &s, NB, prompt, off, tok2, lp2, len2));
    ASSERT(same_outputs(tok, lp, len, tok2, lp2, len2, 1e-5));
    /* one token each: every sequence ends at admission */
    s.max_new_tokens = 1;
    s.n_eos = 0;
    ASSERT_EQ(0, hbpo_generate(&m, &s, NB, prompt, off, tok2, lp2, len2));
    for (b = 0; b < NB; b++) ASSERT_EQ(1, len2[b]);
    hbpo_model_free(&m);
    PASS();
}

SUITE(backend_suite) {
    RUN_TEST(backend_failures_reach_every_entry_point);
    RUN_TEST(backend_by_name);
    RUN_TEST(backend_set_error_quotes_itself);
    RUN_TEST(backend_matmul_precision);
    RUN_TEST(backend_model_precision);
    RUN_TEST(backend_sample_op_is_hbpo_sample_per_row);
    RUN_TEST(backend_kv_write_and_slot_attention);
    RUN_TEST(backend_continuous_batching_keeps_results);
    RUN_TEST(backend_finished_sequence_frees_its_slot);
}
