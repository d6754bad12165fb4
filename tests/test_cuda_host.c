/* The CUDA backend's arithmetic, checked on the host (no GPU needed).

   hbpo.h (section 9, hbpo_k_*) holds every kernel's per-element and per-row
   arithmetic as HBPO_HD functions, which the CPU backend also calls; here a host compiler builds them, each kernel's thread
   loop is emulated as hbpo_cuda.cu launches it (same partition of the work,
   same reduction order: HBPO_K_THREADS shares added by hbpo_k_tree_sum), and
   the result is compared with the CPU backend's op at small, odd shapes.
   Tolerances: element-wise ops use the CPU's formula and must agree to the
   last bit (except where noted); reductions whose order differs (tree vs
   sequential) get 1e-5 relative; attention (online softmax vs two-pass)
   2e-5. The cuBLAS argument mapping of every product is replayed through a
   column-major reference and compared with the CPU backend's matmul. The
   device memory plan is pinned at the DeepSeek-R1-Distill-Qwen-1.5B shape.
   None of this runs CUDA: it shows that the arithmetic and the argument
   mapping are right, not that the kernels run (make test-cuda on a GPU). */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hbpo.h"

#include "hbpo_test.h"

static void fill(float *x, size_t n, hbpo_rng *r, float scale) {
    size_t i;
    for (i = 0; i < n; i++) x[i] = scale * hbpo_rng_normal(r);
}
static float *fa(size_t n) { return (float *)calloc(n ? n : 1, sizeof(float)); }

/* The CPU backend's ops at full precision with identity cache slots: the
   references (one place to follow the backend table's signatures). */
static int ref_attention_forward(const hbpo_backend *be, float *out, float *lse, const float *q,
                                 const float *k, const float *v, const int *pos0, int B, int T,
                                 int S, int NH, int KVH, int HS) {
    return be->attention_forward(out, lse, q, k, v, pos0, NULL, B, T, S, NH, KVH, HS);
}
static void ref_matmul_forward(const hbpo_backend *be, float *out, const float *x, const float *w,
                               const float *bias, int N, int IC, int OC) {
    be->matmul_forward(out, x, w, bias, N, IC, OC, HBPO_MATMUL_FP32);
}
static void ref_matmul_backward(const hbpo_backend *be, float *dx, float *dw, float *dbias,
                                const float *dout, const float *x, const float *w, int N, int IC,
                                int OC, int acc) {
    be->matmul_backward(dx, dw, dbias, dout, x, w, N, IC, OC, acc, HBPO_MATMUL_FP32);
}

/* --- 1. rounding ----------------------------------------------------------------- */

TEST round_bf16_equals_hbpo_f32_to_bf16(void) {
    static const float special[] = {0.0f, -0.0f, 1.0f, -1.0f, 1.00390625f, 1.01171875f,
                                    3.3895314e38f, 1e-40f, -1e-42f, 65504.0f};
    hbpo_rng r;
    int i;
    hbpo_rng_seed(&r, 7);
    for (i = 0; i < 20000; i++) {
        float x = i < 10 ? special[i] : hbpo_rng_normal(&r) * powf(2.0f, (float)(i % 60 - 30));
        float want = hbpo_bf16_to_f32(hbpo_f32_to_bf16(x)), got = hbpo_k_round(x, 2);
        uint16_t bits = hbpo_k_bf16_bits(x);
        ASSERT_EQ_FMT(hbpo_f32_to_bf16(x), bits, "%u");
        ASSERT(memcmp(&want, &got, sizeof want) == 0);
    }
    /* infinities stay, NaN becomes torch's quiet NaN, 1 + 2^-8 (a tie) rounds to even (1) */
    ASSERT_EQ_FMT(0x7F80u, (unsigned)hbpo_k_bf16_bits(INFINITY), "%x");
    ASSERT_EQ_FMT(0x7FC0u, (unsigned)hbpo_k_bf16_bits(NAN), "%x");
    ASSERT_EQ_FMT(1.0f, hbpo_k_round(1.00390625f, 2), "%g");
    PASS();
}

TEST round_tf32_nearest_even(void) {
    float ulp = ldexpf(1.0f, -10);
    ASSERT_EQ_FMT(1.0f, hbpo_k_round(1.0f + 0.5f * ulp, 1), "%.9g");         /* tie -> even */
    ASSERT_EQ_FMT(1.0f + 2 * ulp, hbpo_k_round(1.0f + 1.5f * ulp, 1), "%.9g"); /* tie -> even */
    ASSERT_EQ_FMT(1.0f + ulp, hbpo_k_round(1.0f + 0.75f * ulp, 1), "%.9g");
    ASSERT_EQ_FMT(-1.0f - ulp, hbpo_k_round(-1.0f - 0.75f * ulp, 1), "%.9g");
    ASSERT_EQ_FMT(0.1f, hbpo_k_round(0.1f, 0), "%.9g"); /* fp32: unchanged */
    {
        float r = hbpo_k_round(0.1f, 1), err = fabsf(r - 0.1f);
        uint32_t u;
        memcpy(&u, &r, sizeof u);
        ASSERT_EQ_FMT(0u, u & 0x1FFFu, "%x"); /* 13 low bits dropped */
        ASSERT(err <= 0.1f * ldexpf(1.0f, -11));
    }
    PASS();
}

/* --- 2. element-wise ops ------------------------------------------------------------- */

/* hbpo_k_expf against libm's expf: within 2 ulp (1 measured) wherever expf
   is normal, on 2^21 points spread over [-90, 90] and on the special cases. */
TEST expf_kernel_within_two_ulp(void) {
    const float special_x[] = {0.0f, -0.0f, 1.0f, -1.0f, 1e-10f, 88.72f, 88.73f, 100.0f, -87.33f,
                               -87.4f, -1000.0f};
    int i, worst = 0;
    for (i = 0; i < (1 << 21); i++) {
        float x = -90.0f + 180.0f * (float)i / (float)(1 << 21), e = expf(x), k = hbpo_k_expf(x);
        int32_t a, b;
        if (e < FLT_MIN) { /* below FLT_MIN: 0, or the same denormal */
            ASSERT(k == 0.0f || k == e);
            continue;
        }
        memcpy(&a, &e, sizeof a);
        memcpy(&b, &k, sizeof b);
        if (abs(a - b) > worst) worst = abs(a - b);
    }
    ASSERT_EQ_FMT(1, worst <= 2, "%d");
    for (i = 0; i < (int)(sizeof special_x / sizeof *special_x); i++) {
        float x = special_x[i], e = expf(x), k = hbpo_k_expf(x);
        if (e >= FLT_MIN && !isinf(e)) ASSERT(fabsf(k - e) <= 2.5e-7f * e);
        else ASSERT(k == e || (e < FLT_MIN && k == 0.0f));
    }
    ASSERT_EQ(1.0f, hbpo_k_expf(0.0f));
    ASSERT(isinf(hbpo_k_expf(INFINITY)) && hbpo_k_expf(INFINITY) > 0);
    ASSERT_EQ(0.0f, hbpo_k_expf(-INFINITY));
    ASSERT(isnan(hbpo_k_expf(NAN)));
    PASS();
}

TEST swiglu_and_adamw_match_cpu(void) {
    const hbpo_backend *cpu = hbpo_backend_cpu();
    size_t n = 1001, i;
    float *g = fa(n), *u = fa(n), *d = fa(n), *h0 = fa(n), *h1 = fa(n), *dg0 = fa(n),
          *du0 = fa(n), *dg1 = fa(n), *du1 = fa(n);
    float *p0 = fa(n), *m0 = fa(n), *v0 = fa(n), *p1 = fa(n), *m1 = fa(n), *v1 = fa(n);
    hbpo_rng r;
    int step;
    hbpo_rng_seed(&r, 3);
    fill(g, n, &r, 3.0f); fill(u, n, &r, 1.0f); fill(d, n, &r, 1.0f); fill(p0, n, &r, 0.1f);
    memcpy(p1, p0, n * sizeof(float));
    cpu->swiglu_forward(h0, g, u, n);
    cpu->swiglu_backward(dg0, du0, d, g, u, n);
    for (i = 0; i < n; i++) { /* one thread per element */
        h1[i] = hbpo_k_swiglu_forward(g[i], u[i]);
        hbpo_k_swiglu_backward(&dg1[i], &du1[i], d[i], g[i], u[i]);
    }
    /* The same operations; on an AVX2 CPU the backend's loops run the clone
       with fused multiply-adds (HBPO__SPAN), hence a few ulp, not bitwise. */
    ASSERT_TENSOR_NEAR(h0, h1, n, 1e-7, 1e-6);
    ASSERT_TENSOR_NEAR(dg0, dg1, n, 1e-7, 1e-6);
    ASSERT_TENSOR_NEAR(du0, du1, n, 1e-7, 1e-6);
    for (step = 1; step <= 3; step++) {
        float bc1 = 1.0f - powf(0.9f, (float)step), bc2 = 1.0f - powf(0.95f, (float)step);
        cpu->adamw(p0, d, m0, v0, n, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, bc1, bc2, 0.5f);
        for (i = 0; i < n; i++)
            hbpo_k_adamw(&p1[i], &m1[i], &v1[i], d[i], 0.5f, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f,
                         1e-3f / bc1, sqrtf(bc2));
    }
    ASSERT_TENSOR_NEAR(p0, p1, n, 1e-9, 1e-6);
    ASSERT_TENSOR_NEAR(m0, m1, n, 1e-9, 1e-6);
    ASSERT_TENSOR_NEAR(v0, v1, n, 1e-12, 1e-6);
    free(g); free(u); free(d); free(h0); free(h1); free(dg0); free(du0); free(dg1); free(du1);
    free(p0); free(m0); free(v0); free(p1); free(m1); free(v1);
    PASS();
}

/* --- 3. RMSNorm, RoPE ------------------------------------------------------------------- */

/* The kernel: one block per row, HBPO_K_THREADS shares, tree sum. */
static float emu_rstd(const float *x, int C, float eps) {
    double part[HBPO_K_THREADS];
    int t;
    for (t = 0; t < HBPO_K_THREADS; t++) part[t] = hbpo_k_sumsq_partial(x, t, HBPO_K_THREADS, C);
    return hbpo_k_rmsnorm_rstd(hbpo_k_tree_sum(part, HBPO_K_THREADS), C, eps);
}

TEST rmsnorm_rows_match_cpu(void) {
    const hbpo_backend *cpu = hbpo_backend_cpu();
    int N = 7, C = 300, i, c, t;
    float *x = fa((size_t)N * C), *w = fa((size_t)C), *dy = fa((size_t)N * C);
    float *o0 = fa((size_t)N * C), *o1 = fa((size_t)N * C), *r0 = fa((size_t)N), *r1 = fa((size_t)N);
    float *dx0 = fa((size_t)N * C), *dx1 = fa((size_t)N * C), *dw0 = fa((size_t)C), *dw1 = fa((size_t)C);
    hbpo_rng r;
    hbpo_rng_seed(&r, 5);
    fill(x, (size_t)N * C, &r, 2.0f); fill(w, (size_t)C, &r, 1.0f); fill(dy, (size_t)N * C, &r, 1.0f);
    cpu->rmsnorm_forward(o0, r0, x, w, N, C, 1e-6f);
    cpu->rmsnorm_backward(dx0, dw0, dy, x, w, r0, N, C, 0);
    for (i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * C, *gi = dy + (size_t)i * C;
        double part[HBPO_K_THREADS];
        float k;
        r1[i] = emu_rstd(xi, C, 1e-6f);
        for (c = 0; c < C; c++) o1[(size_t)i * C + c] = w[c] * (xi[c] * r1[i]);
        for (t = 0; t < HBPO_K_THREADS; t++) part[t] = hbpo_k_dot3_partial(gi, w, xi, t, HBPO_K_THREADS, C);
        k = hbpo_k_rmsnorm_k(hbpo_k_tree_sum(part, HBPO_K_THREADS), C, r0[i]);
        for (c = 0; c < C; c++) dx1[(size_t)i * C + c] = hbpo_k_rmsnorm_dx(gi[c], w[c], xi[c], r0[i], k);
    }
    /* dw: the two-stage column sum (chunks of HBPO_K_COLSUM_ROWS rows, then the
       chunks), deterministic without atomics; here N < one chunk, so it is the
       CPU's order: dw + (sum of the rows) */
    for (c = 0; c < C; c++) {
        float part = 0.0f;
        for (i = 0; i < N; i++) part += dy[(size_t)i * C + c] * x[(size_t)i * C + c] * r0[i];
        dw1[c] += part;
    }
    ASSERT_TENSOR_NEAR(r0, r1, N, 0.0, 1e-6);
    ASSERT_TENSOR_NEAR(o0, o1, (size_t)N * C, 1e-6, 1e-6);
    ASSERT_TENSOR_NEAR(dx0, dx1, (size_t)N * C, 1e-6, 1e-5);
    ASSERT_TENSOR_NEAR(dw0, dw1, C, 1e-6, 1e-5);
    free(x); free(w); free(dy); free(o0); free(o1); free(r0); free(r1); free(dx0); free(dx1);
    free(dw0); free(dw1);
    PASS();
}

/* The kernel: one thread per (row, head, pair). */
static void emu_rope(float *x, const int *pos0, int B, int T, int nh, int HS, float theta,
                     float sign) {
    int r, h, i;
    for (r = 0; r < B * T; r++)
        for (h = 0; h < nh; h++)
            for (i = 0; i < HS / 2; i++) {
                float c, s, *xh = x + ((size_t)r * nh + h) * HS;
                hbpo_k_rope_cs(&c, &s, pos0[r / T] + r % T, i, HS, theta);
                hbpo_k_rope_pair(&xh[i], &xh[i + HS / 2], c, s, sign);
            }
}

TEST rope_matches_cpu_with_pos0(void) {
    const hbpo_backend *cpu = hbpo_backend_cpu();
    int B = 3, T = 5, nh = 3, HS = 18, pos0[3] = {0, 7, 300};
    size_t n = (size_t)B * T * nh * HS;
    float *x0 = fa(n), *x1 = fa(n);
    hbpo_rng r;
    hbpo_rng_seed(&r, 11);
    fill(x0, n, &r, 1.0f);
    memcpy(x1, x0, n * sizeof(float));
    cpu->rope_forward(x0, pos0, B, T, nh, HS, 1e6f);
    emu_rope(x1, pos0, B, T, nh, HS, 1e6f, 1.0f);
    ASSERT_TENSOR_NEAR(x0, x1, n, 0.0, 0.0);
    cpu->rope_backward(x0, pos0, B, T, nh, HS, 1e6f);
    emu_rope(x1, pos0, B, T, nh, HS, 1e6f, -1.0f);
    ASSERT_TENSOR_NEAR(x0, x1, n, 0.0, 0.0);
    free(x0); free(x1);
    PASS();
}

/* --- 4. attention ------------------------------------------------------------------------ */

/* The forward kernel: one thread per query row (b, t, h); slot NULL = identity. */
static void emu_attn_forward(float *out, float *lse, const float *q, const float *k,
                             const float *v, const int *pos0, const int *slot, int B, int T,
                             int S, int NH, int KVH, int HS) {
    int QD = NH * HS, KVD = KVH * HS, b, t, h;
    float scale = 1.0f / sqrtf((float)HS), *acc = fa((size_t)HS);
    for (b = 0; b < B; b++)
        for (h = 0; h < NH; h++)
            for (t = 0; t < T; t++) {
                size_t qo = ((size_t)b * T + t) * QD + (size_t)h * HS;
                size_t ko = (size_t)(slot ? slot[b] : b) * S * KVD + (size_t)(h / (NH / KVH)) * HS;
                float l = hbpo_k_attn_forward_row(out + qo, acc, q + qo, k + ko, v + ko,
                                                  pos0[b] + t + 1, KVD, HS, scale);
                if (lse) lse[((size_t)b * NH + h) * T + t] = l;
            }
    free(acc);
}

/* Training (pos0 0, S = T), prefill against a longer cache with pos0 > 0
   (both the plain-loop and the sgemm path of the CPU, T < 16 and >= 16),
   and decoding (T = 1) reading permuted cache slots. */
TEST attention_forward_rows_match_cpu(void) {
    const hbpo_backend *cpu = hbpo_backend_cpu();
    static const int Ts[3] = {5, 17, 1};
    int cse;
    hbpo_rng r;
    hbpo_rng_seed(&r, 13);
    for (cse = 0; cse < 3; cse++) {
        int B = 3, T = Ts[cse], NH = 6, KVH = 2, HS = 20, S = cse == 0 ? T : 40;
        int pos0[3], slot[3] = {2, 0, 1}, b;
        size_t nq = (size_t)B * T * NH * HS, nk = (size_t)B * S * KVH * HS;
        size_t slot_n = (size_t)S * KVH * HS;
        float *q = fa(nq), *k = fa(nk), *v = fa(nk), *ks = fa(nk), *vs = fa(nk);
        float *o0 = fa(nq), *o1 = fa(nq), *l0 = fa((size_t)B * NH * T), *l1 = fa((size_t)B * NH * T);
        for (b = 0; b < B; b++) pos0[b] = cse == 0 ? 0 : S - T - 3 * b;
        fill(q, nq, &r, 1.0f); fill(k, nk, &r, 1.0f); fill(v, nk, &r, 1.0f);
        /* sequence b's cache moved to slot slot[b] */
        for (b = 0; b < B; b++) {
            memcpy(ks + slot[b] * slot_n, k + b * slot_n, slot_n * sizeof(float));
            memcpy(vs + slot[b] * slot_n, v + b * slot_n, slot_n * sizeof(float));
        }
        ASSERT_EQ(0, ref_attention_forward(cpu, o0, l0, q, k, v, pos0, B, T, S, NH, KVH, HS));
        if (cse == 0) emu_attn_forward(o1, l1, q, k, v, pos0, NULL, B, T, S, NH, KVH, HS);
        else emu_attn_forward(o1, l1, q, ks, vs, pos0, slot, B, T, S, NH, KVH, HS);
        ASSERT_TENSOR_NEAR(o0, o1, nq, 2e-6, 2e-5);
        ASSERT_TENSOR_NEAR(l0, l1, (size_t)B * NH * T, 2e-6, 2e-6);
        if (cse > 0) { /* the CPU reading the permuted slots itself */
            ASSERT_EQ(0, cpu->attention_forward(o0, l0, q, ks, vs, pos0, slot, B, T, S, NH, KVH, HS));
            ASSERT_TENSOR_NEAR(o0, o1, nq, 2e-6, 2e-5);
        }
        free(q); free(k); free(v); free(ks); free(vs); free(o0); free(o1); free(l0); free(l1);
    }
    PASS();
}

/* The backward kernels: D per query row; dq one thread per query row; dk, dv
   one thread per key row (b, j, kv head) summing its group's heads. */
TEST attention_backward_rows_match_cpu(void) {
    const hbpo_backend *cpu = hbpo_backend_cpu();
    int B = 2, T = 19, NH = 4, KVH = 2, HS = 12, QD = NH * HS, KVD = KVH * HS, group = NH / KVH;
    int pos0[2] = {0, 0}, b, t, h, j, g;
    size_t nq = (size_t)B * T * QD, nk = (size_t)B * T * KVD, nl = (size_t)B * NH * T;
    float *q = fa(nq), *k = fa(nk), *v = fa(nk), *o = fa(nq), *lse = fa(nl), *dout = fa(nq);
    float *dq0 = fa(nq), *dk0 = fa(nk), *dv0 = fa(nk), *dq1 = fa(nq), *dk1 = fa(nk), *dv1 = fa(nk);
    float *D = fa(nl), scale = 1.0f / sqrtf((float)HS);
    hbpo_rng r;
    hbpo_rng_seed(&r, 17);
    fill(q, nq, &r, 1.0f); fill(k, nk, &r, 1.0f); fill(v, nk, &r, 1.0f); fill(dout, nq, &r, 1.0f);
    ASSERT_EQ(0, ref_attention_forward(cpu, o, lse, q, k, v, pos0, B, T, T, NH, KVH, HS));
    ASSERT_EQ(0, cpu->attention_backward(dq0, dk0, dv0, dout, q, k, v, o, lse, B, T, NH, KVH, HS));
    for (b = 0; b < B; b++)
        for (h = 0; h < NH; h++)
            for (t = 0; t < T; t++) {
                size_t qo = ((size_t)b * T + t) * QD + (size_t)h * HS;
                D[((size_t)b * NH + h) * T + t] = hbpo_k_attn_D(dout + qo, o + qo, HS);
            }
    for (b = 0; b < B; b++)
        for (h = 0; h < NH; h++)
            for (t = 0; t < T; t++) {
                size_t qo = ((size_t)b * T + t) * QD + (size_t)h * HS;
                size_t ko = (size_t)b * T * KVD + (size_t)(h / group) * HS, li = ((size_t)b * NH + h) * T + t;
                hbpo_k_attn_dq_row(dq1 + qo, q + qo, dout + qo, k + ko, v + ko, t + 1, KVD, HS,
                                   scale, lse[li], D[li]);
            }
    /* dk, dv: one thread per (b, j, head) into its share, then the group's
       heads added in order */
    {
        float *pk = fa((size_t)B * T * NH * HS), *pv = fa((size_t)B * T * NH * HS);
        size_t e;
        for (e = 0; e < (size_t)B * T * NH; e++) {
            int hh = (int)(e % (size_t)NH);
            j = (int)((e / (size_t)NH) % (size_t)T);
            b = (int)(e / ((size_t)NH * T));
            hbpo_k_attn_dkdv_row(pk + e * HS, pv + e * HS,
                                 k + ((size_t)b * T + j) * KVD + (size_t)(hh / group) * HS,
                                 v + ((size_t)b * T + j) * KVD + (size_t)(hh / group) * HS,
                                 q + (size_t)b * T * QD + (size_t)hh * HS,
                                 dout + (size_t)b * T * QD + (size_t)hh * HS,
                                 lse + ((size_t)b * NH + hh) * T, D + ((size_t)b * NH + hh) * T, j,
                                 T, QD, 1, HS, scale);
        }
        for (e = 0; e < (size_t)B * T * KVH * HS; e++) {
            size_t d = e % (size_t)HS, row = e / (size_t)HS, gg = row % (size_t)KVH, bj = row / (size_t)KVH;
            size_t p0 = (bj * NH + gg * group) * HS + d;
            float sk = 0.0f, sv = 0.0f;
            for (g = 0; g < group; g++) { sk += pk[p0 + (size_t)g * HS]; sv += pv[p0 + (size_t)g * HS]; }
            dk1[e] = sk;
            dv1[e] = sv;
        }
        free(pk);
        free(pv);
    }
    ASSERT_TENSOR_NEAR(dq0, dq1, nq, 1e-5, 1e-4);
    ASSERT_TENSOR_NEAR(dk0, dk1, nk, 1e-5, 1e-4);
    ASSERT_TENSOR_NEAR(dv0, dv1, nk, 1e-5, 1e-4);
    free(q); free(k); free(v); free(o); free(lse); free(dout); free(dq0); free(dk0); free(dv0);
    free(dq1); free(dk1); free(dv1); free(D);
    PASS();
}

/* --- 5. log-probs, embedding, sums ----------------------------------------------------------- */

/* The kernels: one block per row; max, then shares of the sums, tree-added. */
static void emu_logprob_row(float *logp, float *ent, float *dz, const float *z, int target, int V,
                            float inv, float dlogp) {
    double s[HBPO_K_THREADS], p[HBPO_K_THREADS], sum;
    float mx = z[0] * inv;
    int t, j;
    for (j = 1; j < V; j++) mx = z[j] * inv > mx ? z[j] * inv : mx;
    for (t = 0; t < HBPO_K_THREADS; t++) hbpo_k_logprob_partial(&s[t], &p[t], z, t, HBPO_K_THREADS, V, inv, mx);
    sum = hbpo_k_tree_sum(s, HBPO_K_THREADS);
    hbpo_k_logprob_finish(logp, ent, z[target], inv, mx, sum, hbpo_k_tree_sum(p, HBPO_K_THREADS));
    if (dz) {
        /* the backward kernel sums e^(z inv - mx) in float per thread, as the CPU does in float */
        double sf[HBPO_K_THREADS];
        float inv_sum;
        for (t = 0; t < HBPO_K_THREADS; t++) {
            sf[t] = 0.0;
            for (j = t; j < V; j += HBPO_K_THREADS) sf[t] += expf(z[j] * inv - mx);
        }
        inv_sum = (float)(1.0 / hbpo_k_tree_sum(sf, HBPO_K_THREADS));
        for (j = 0; j < V; j++) dz[j] = hbpo_k_logprob_grad(z[j], inv, mx, inv_sum, dlogp * inv, j == target);
    }
}

TEST logprob_rows_match_cpu(void) {
    const hbpo_backend *cpu = hbpo_backend_cpu();
    int N = 5, V = 1003, tg[5] = {0, 1002, 17, 500, 17}, i;
    float inv = 1.0f / 0.7f, dl[5] = {1.0f, -0.5f, 0.25f, 2.0f, 0.0f};
    float *z = fa((size_t)N * V), *z0 = fa((size_t)N * V), *dz = fa((size_t)N * V);
    float lp0[5], en0[5], lp1[5], en1[5];
    hbpo_rng r;
    hbpo_rng_seed(&r, 19);
    fill(z, (size_t)N * V, &r, 4.0f);
    memcpy(z0, z, (size_t)N * V * sizeof(float));
    cpu->logprob_forward(lp0, en0, z, tg, N, V, inv);
    cpu->logprob_backward(z0, tg, dl, N, V, inv);
    for (i = 0; i < N; i++)
        emu_logprob_row(&lp1[i], &en1[i], dz + (size_t)i * V, z + (size_t)i * V, tg[i], V, inv, dl[i]);
    ASSERT_TENSOR_NEAR(lp0, lp1, N, 1e-6, 1e-6);
    ASSERT_TENSOR_NEAR(en0, en1, N, 1e-6, 1e-6);
    ASSERT_TENSOR_NEAR(z0, dz, (size_t)N * V, 1e-8, 1e-5);
    free(z); free(z0); free(dz);
    PASS();
}

/* embedding backward: the kernel stably sorts (token, row) pairs (CUB radix
   sort), then one thread per (segment, channel) adds the segment's rows in
   row order: the CPU's order, so the result is bitwise equal. */
TEST embedding_backward_segments_match_cpu_bitwise(void) {
    const hbpo_backend *cpu = hbpo_backend_cpu();
    int N = 40, C = 9, V = 7, tok[40], order[40], i, j, s, c;
    float *dout = fa((size_t)N * C), *d0 = fa((size_t)V * C), *d1 = fa((size_t)V * C);
    hbpo_rng r;
    hbpo_rng_seed(&r, 23);
    fill(dout, (size_t)N * C, &r, 1.0f);
    fill(d0, (size_t)V * C, &r, 1.0f);
    memcpy(d1, d0, (size_t)V * C * sizeof(float));
    for (i = 0; i < N; i++) tok[i] = (int)(hbpo_rng_u32(&r) % (uint32_t)V);
    for (i = 0; i < N; i++) order[i] = i;
    for (i = 1; i < N; i++) /* stable insertion sort by token, as a radix sort orders */
        for (j = i; j > 0 && tok[order[j - 1]] > tok[order[j]]; j--) {
            int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    cpu->embedding_backward(d0, dout, tok, N, C);
    for (s = 0; s < N; s++) {
        int e;
        if (s > 0 && tok[order[s - 1]] == tok[order[s]]) continue; /* not a segment start */
        for (e = s; e < N && tok[order[e]] == tok[order[s]]; e++) {}
        for (c = 0; c < C; c++) {
            float acc = d1[(size_t)tok[order[s]] * C + c];
            for (j = s; j < e; j++) acc += dout[(size_t)order[j] * C + c];
            d1[(size_t)tok[order[s]] * C + c] = acc;
        }
    }
    ASSERT_TENSOR_NEAR(d0, d1, (size_t)V * C, 0.0, 0.0);
    free(dout); free(d0); free(d1);
    PASS();
}

TEST sum_squares_tree_matches_cpu(void) {
    const hbpo_backend *cpu = hbpo_backend_cpu();
    size_t n = 100003;
    float *x = fa(n);
    double part[HBPO_K_THREADS], got;
    int t;
    hbpo_rng r;
    hbpo_rng_seed(&r, 29);
    fill(x, n, &r, 1.0f);
    /* the kernel: HBPO_K_THREADS x 64 shares (64 blocks), tree per block, blocks in order */
    {
        double blocks[64];
        int blk;
        for (blk = 0; blk < 64; blk++) {
            for (t = 0; t < HBPO_K_THREADS; t++) {
                size_t i;
                part[t] = 0.0;
                for (i = (size_t)blk * HBPO_K_THREADS + (size_t)t; i < n; i += 64 * HBPO_K_THREADS)
                    part[t] += (double)x[i] * x[i];
            }
            blocks[blk] = hbpo_k_tree_sum(part, HBPO_K_THREADS);
        }
        got = hbpo_k_tree_sum(blocks, 64);
    }
    ASSERT_NEAR(cpu->sum_squares(x, n), got, 1e-9 * got);
    free(x);
    PASS();
}

/* dbias += dout.sum(0) as the kernels do it: chunks of HBPO_K_COLSUM_ROWS
   rows summed in order, then the chunk sums in order (three chunks here). */
TEST bias_colsum_chunks_match_cpu(void) {
    const hbpo_backend *cpu = hbpo_backend_cpu();
    int N = 2 * HBPO_K_COLSUM_ROWS + 37, IC = 3, OC = 19, c, k, i;
    float *dy = fa((size_t)N * OC), *x = fa((size_t)N * IC), *w = fa((size_t)OC * IC);
    float *dw = fa((size_t)OC * IC), *db0 = fa((size_t)OC), *db1 = fa((size_t)OC);
    hbpo_rng r;
    hbpo_rng_seed(&r, 47);
    fill(dy, (size_t)N * OC, &r, 1.0f); fill(db0, (size_t)OC, &r, 1.0f);
    memcpy(db1, db0, (size_t)OC * sizeof(float));
    cpu->matmul_backward(NULL, dw, db0, dy, x, w, N, IC, OC, 0, HBPO_MATMUL_FP32);
    for (c = 0; c < OC; c++) {
        float s = db1[c];
        for (k = 0; k * HBPO_K_COLSUM_ROWS < N; k++) {
            float part = 0.0f;
            for (i = k * HBPO_K_COLSUM_ROWS; i < N && i < (k + 1) * HBPO_K_COLSUM_ROWS; i++)
                part += dy[(size_t)i * OC + c];
            s += part;
        }
        db1[c] = s;
    }
    ASSERT_TENSOR_NEAR(db0, db1, OC, 1e-5, 1e-5);
    free(dy); free(x); free(w); free(dw); free(db0); free(db1);
    PASS();
}

/* --- 6. sampling --------------------------------------------------------------------------- */

/* hbpo_sample is hbpo_k_sample_row (one algorithm, hbpo.h section 9) plus
   the checks of its arguments; the kernel's -1 (a non-finite scaled logit)
   becomes hbpo_sample's message naming the logit, also when only the
   temperature makes it overflow. (hbpo_sample's choices are tested in
   test_generate.c.) */
TEST sample_row_errors_reach_hbpo_sample(void) {
    int V = 9, j;
    float z[9], w[9];
    hbpo_sampler_config s = hbpo_sampler_config_default();
    for (j = 0; j < V; j++) z[j] = (float)j;
    s.temperature = 0.5f;
    z[3] = INFINITY;
    ASSERT_EQ(-1, hbpo_k_sample_row(z, V, 0.6f, 1.0f, 0, 0.5f, w, NULL));
    ASSERT_EQ(-1, hbpo_sample(z, V, &s, 0.5f, w, NULL));
    ASSERT(strstr(hbpo_last_error(), "logit 3 is inf") != NULL);
    z[3] = 3e38f; /* finite, but not after 1 / 0.5 */
    ASSERT_EQ(-1, hbpo_k_sample_row(z, V, 0.5f, 1.0f, 0, 0.5f, w, NULL));
    ASSERT_EQ(-1, hbpo_sample(z, V, &s, 0.5f, w, NULL));
    ASSERT(strstr(hbpo_last_error(), "logit 3 is 3e+38 (inf after the temperature)") != NULL);
    z[3] = 3.0f;
    s.top_k = 4;
    ASSERT_EQ(-1, hbpo_sample(z, V, &s, 0.5f, NULL, NULL)); /* top-k needs work */
    s.top_k = 0; s.top_p = 1.0f;
    ASSERT(hbpo_sample(z, V, &s, 0.5f, NULL, NULL) >= 0);   /* plain sampling does not */
    PASS();
}

/* The greedy kernel (a block per row: shares of (max, lowest id), merged in
   a tree) picks hbpo_sample's token on rows full of ties, and its log-prob
   agrees to rounding; a non-finite logit anywhere is caught. */
TEST greedy_block_equals_hbpo_sample(void) {
    hbpo_sampler_config s = hbpo_sampler_config_default();
    int V = 1000, rep, t, j;
    float *z = fa((size_t)V);
    hbpo_rng r;
    hbpo_rng_seed(&r, 53);
    s.temperature = 0.0f;
    for (rep = 0; rep < 60; rep++) {
        float b[HBPO_K_THREADS], lp0, lp1, mx;
        int a[HBPO_K_THREADS], ok[HBPO_K_THREADS], t0;
        double part[HBPO_K_THREADS];
        for (j = 0; j < V; j++)
            z[j] = rep % 2 ? (float)(hbpo_rng_u32(&r) % 5u) : 2.0f * hbpo_rng_normal(&r);
        if (rep == 59) z[V - 1] = NAN;
        for (t = 0; t < HBPO_K_THREADS; t++) hbpo_k_argmax_share(&b[t], &a[t], &ok[t], z, t, HBPO_K_THREADS, V);
        for (j = HBPO_K_THREADS / 2; j > 0; j /= 2)
            for (t = 0; t < j; t++) {
                hbpo_k_argmax_merge(&b[t], &a[t], b[t + j], a[t + j]);
                ok[t] = ok[t] && ok[t + j];
            }
        if (rep == 59) { ASSERT_EQ(0, ok[0]); break; }
        ASSERT_EQ(1, ok[0]);
        mx = b[0];
        for (t = 0; t < HBPO_K_THREADS; t++) {
            part[t] = 0.0;
            for (j = t; j < V; j += HBPO_K_THREADS) part[t] += exp((double)(z[j] - mx));
        }
        lp1 = (float)((double)(z[a[0]] - mx) - log(hbpo_k_tree_sum(part, HBPO_K_THREADS)));
        t0 = hbpo_sample(z, V, &s, 0.0f, NULL, &lp0);
        ASSERT_EQ_FMT(t0, a[0], "%d");
        ASSERT_NEAR(lp0, lp1, 1e-6);
    }
    free(z);
    PASS();
}

/* hbpo__sample_block_kernel's steps, its threads run one after another:
   the row's max and mass by shares; with top_p < 1 the candidates gathered
   in share order, the nucleus, the tokens equal to its threshold counted
   per share and the kept mass by shares; the walk. -1: not finite. */
static int block_sample(const float *z, int V, float inv, float top_p, float coin, float *work, float *lp,
                        hbpo_k_kept *nucleus) {
    enum { N = HBPO_K_THREADS };
    double part[N], total, kept_mass, cut;
    int last[N], at[N + 1], lo, hi, t, j, k;
    float mx = -INFINITY;
    hbpo_k_kept kept = hbpo_k_keep_all();
    for (t = 0; t < N; t++) {
        hbpo_k_chunk(V, t, N, &lo, &hi);
        for (j = lo; j < hi; j++) {
            float x = z[j] * inv;
            if (!(x - x == 0.0f)) return -1;
            if (x > mx) mx = x;
        }
    }
    for (t = 0; t < N; t++) {
        hbpo_k_chunk(V, t, N, &lo, &hi);
        part[t] = hbpo_k_exp_share(z, lo, hi, inv, mx, kept, &last[t]);
    }
    total = kept_mass = hbpo_k_sum_in_order(part, N);
    if (top_p < 1.0f) {
        cut = hbpo_k_nucleus_cut(log(total), top_p, V);
        for (at[0] = 0, t = 0; t < N; t++) {
            hbpo_k_chunk(V, t, N, &lo, &hi);
            at[t + 1] = at[t] + hbpo_k_candidates(z, lo, hi, inv, mx, cut, NULL);
        }
        for (t = N - 1; t >= 0; t--) { /* the order does not matter: each writes its own range */
            hbpo_k_chunk(V, t, N, &lo, &hi);
            if (hbpo_k_candidates(z, lo, hi, inv, mx, cut, work + at[t]) != at[t + 1] - at[t]) return -2;
        }
        kept_mass = hbpo_k_nucleus(work, at[N], mx, (double)top_p * total, &kept.thr, &kept.n_ties);
        for (t = 0; t < N; t++) {
            hbpo_k_chunk(V, t, N, &lo, &hi);
            at[t + 1] = at[t] + hbpo_k_count_equal(z, lo, hi, inv, kept.thr);
        }
        for (t = 0; t < N; t++) {
            hbpo_k_kept mine = kept;
            mine.seen = at[t];
            hbpo_k_chunk(V, t, N, &lo, &hi);
            part[t] = hbpo_k_exp_share(z, lo, hi, inv, mx, mine, &last[t]);
        }
    }
    k = hbpo_k_pick_chunked(z, V, inv, mx, kept, top_p < 1.0f ? at : NULL, part, last, N,
                            (double)coin * kept_mass);
    *nucleus = kept;
    *lp = (float)((double)(z[k] * inv - mx) - log(total));
    return k;
}

/* The block sampling kernel (plain and top-p, no top-k), its threads in
   order, picks hbpo_sample's token on every row here: V below, at and far
   above the block's width, rows of ties (the nucleus ends inside a run of
   equal values), a dominant logit, two temperatures, three top-p, coins
   near 0 and 1; its log-prob agrees to rounding; a non-finite logit is -1. */
TEST block_sample_equals_hbpo_sample(void) {
    static const int Vs[5] = {1, 7, 256, 1000, 5003};
    static const float tops[3] = {1.0f, 0.95f, 0.5f};
    hbpo_sampler_config s = hbpo_sampler_config_default();
    float *z = fa(5003), *work = fa(5003), *work2 = fa(5003);
    hbpo_rng r;
    int iv, ip, rep, j, ties_cut = 0;
    hbpo_rng_seed(&r, 71);
    s.top_k = 0;
    for (ip = 0; ip < 3; ip++)
        for (iv = 0; iv < 5; iv++)
            for (rep = 0; rep < 120; rep++) {
                int V = Vs[iv], t0, t1;
                hbpo_k_kept nuc;
                float lp0 = 0.0f, lp1 = 0.0f, coin;
                s.top_p = tops[ip];
                s.temperature = rep % 2 ? 0.6f : 1.0f;
                coin = rep % 10 == 3 ? 0.0f : rep % 10 == 7 ? 0.99999994f : hbpo_rng_uniform(&r);
                for (j = 0; j < V; j++)
                    z[j] = rep % 3 == 0 ? (float)(hbpo_rng_u32(&r) % 4u) : 3.0f * hbpo_rng_normal(&r);
                if (rep % 5 == 4) z[hbpo_rng_u32(&r) % (unsigned)V] = 60.0f;
                if (rep == 119) z[V - 1] = INFINITY;
                t0 = hbpo_sample(z, V, &s, coin, work, &lp0);
                t1 = block_sample(z, V, 1.0f / s.temperature, s.top_p, coin, work2, &lp1, &nuc);
                if (rep == 119) {
                    ASSERT_EQ(-1, t0);
                    ASSERT_EQ(-1, t1);
                    continue;
                }
                ASSERT_EQ_FMT(t0, t1, "%d");
                ASSERT_NEAR(lp0, lp1, 1e-6 * fabs(lp0) + 1e-7);
                if (s.top_p < 1.0f) { /* a kept set that ends inside a run of equal values */
                    int eq = 0;
                    for (j = 0; j < V; j++) eq += z[j] * (1.0f / s.temperature) == nuc.thr;
                    ties_cut += nuc.n_ties < eq;
                }
            }
    ASSERT(ties_cut > 0);
    free(z);
    free(work);
    free(work2);
    PASS();
}

/* --- 7. cuBLAS argument mapping -------------------------------------------------------------- */

/* Column-major C (m,n) = alpha op(A) op(B) + beta C, as cublasSgemm reads
   its arguments: the row-major product C^T = op(B)^T op(A)^T, where a
   column-major array read row-major is its transpose. */
static void colmajor_gemm(const hbpo_k_gemm *g, const float *A, const float *B, float *C) {
    hbpo_sgemm(g->transb, g->transa, g->n, g->m, g->k, g->alpha, B, g->ldb, A, g->lda, g->beta,
               C, g->ldc);
}
static const float *pick(const hbpo_k_gemm *g, int which, const float *x, const float *w,
                         const float *dout) {
    (void)g;
    return which == HBPO_K_OP_X ? x : which == HBPO_K_OP_W ? w : dout;
}

/* Every product of matmul_forward / matmul_backward, through its mapping and
   the column-major reference, against the CPU backend's op. */
TEST gemm_mapping_replays_cpu_matmul(void) {
    const hbpo_backend *cpu = hbpo_backend_cpu();
    static const int shapes[3][3] = {{7, 13, 5}, {1, 33, 17}, {19, 3, 11}}; /* N, IC, OC */
    int si;
    hbpo_rng r;
    hbpo_rng_seed(&r, 37);
    for (si = 0; si < 3; si++) {
        int N = shapes[si][0], IC = shapes[si][1], OC = shapes[si][2], acc, o, i;
        size_t nx = (size_t)N * IC, nw = (size_t)OC * IC, no = (size_t)N * OC;
        float *x = fa(nx), *w = fa(nw), *bias = fa((size_t)OC), *dout = fa(no);
        float *o0 = fa(no), *o1 = fa(no), *dx0 = fa(nx), *dx1 = fa(nx), *dw0 = fa(nw), *dw1 = fa(nw);
        hbpo_k_gemm g;
        fill(x, nx, &r, 1.0f); fill(w, nw, &r, 1.0f); fill(bias, (size_t)OC, &r, 1.0f);
        fill(dout, no, &r, 1.0f); fill(dw0, nw, &r, 1.0f);
        memcpy(dw1, dw0, nw * sizeof(float));
        /* forward with bias: the bias copied into each row, then beta = 1 */
        ref_matmul_forward(cpu, o0, x, w, bias, N, IC, OC);
        for (i = 0; i < N; i++)
            for (o = 0; o < OC; o++) o1[(size_t)i * OC + o] = bias[o];
        g = hbpo_k_gemm_forward(N, IC, OC, 1);
        colmajor_gemm(&g, pick(&g, g.a, x, w, dout), pick(&g, g.b, x, w, dout), o1);
        ASSERT_TENSOR_NEAR(o0, o1, no, 1e-6, 1e-6);
        ref_matmul_forward(cpu, o0, x, w, NULL, N, IC, OC);
        g = hbpo_k_gemm_forward(N, IC, OC, 0);
        for (i = 0; i < (int)no; i++) o1[i] = NAN; /* beta 0 must not read C */
        colmajor_gemm(&g, pick(&g, g.a, x, w, dout), pick(&g, g.b, x, w, dout), o1);
        ASSERT_TENSOR_NEAR(o0, o1, no, 1e-6, 1e-6);
        for (acc = 0; acc <= 1; acc++) {
            fill(dx0, nx, &r, 1.0f);
            memcpy(dx1, dx0, nx * sizeof(float));
            ref_matmul_backward(cpu, dx0, dw0, NULL, dout, x, w, N, IC, OC, acc);
            g = hbpo_k_gemm_dx(N, IC, OC, acc);
            colmajor_gemm(&g, pick(&g, g.a, x, w, dout), pick(&g, g.b, x, w, dout), dx1);
            g = hbpo_k_gemm_dw(N, IC, OC);
            colmajor_gemm(&g, pick(&g, g.a, x, w, dout), pick(&g, g.b, x, w, dout), dw1);
            ASSERT_TENSOR_NEAR(dx0, dx1, nx, 1e-6, 1e-6);
            ASSERT_TENSOR_NEAR(dw0, dw1, nw, 1e-6, 1e-6);
        }
        free(x); free(w); free(bias); free(dout); free(o0); free(o1); free(dx0); free(dx1);
        free(dw0); free(dw1);
    }
    PASS();
}

/* The GPU's tf32/bf16 products see inputs rounded as hbpo_k_round rounds them
   (bf16: the rounding kernel; tf32: cuBLAS's conversion, checked on a GPU by
   make test-cuda): through the same mapping on rounded inputs, the CPU's
   emulated tf32 and bf16 products come out the same. */
TEST gemm_mapping_rounded_inputs_match_cpu_precisions(void) {
    const hbpo_backend *cpu = hbpo_backend_cpu();
    int N = 9, IC = 21, OC = 14, prec;
    size_t nx = (size_t)N * IC, nw = (size_t)OC * IC, no = (size_t)N * OC, i;
    hbpo_rng r;
    hbpo_rng_seed(&r, 41);
    for (prec = HBPO_MATMUL_TF32; prec <= HBPO_MATMUL_BF16; prec++) {
        float *x = fa(nx), *w = fa(nw), *dy = fa(no), *xr = fa(nx), *wr = fa(nw), *dyr = fa(no);
        float *o0 = fa(no), *o1 = fa(no), *dx0 = fa(nx), *dx1 = fa(nx), *dw0 = fa(nw), *dw1 = fa(nw);
        hbpo_k_gemm g;
        fill(x, nx, &r, 1.0f); fill(w, nw, &r, 1.0f); fill(dy, no, &r, 1.0f);
        for (i = 0; i < nx; i++) xr[i] = hbpo_k_round(x[i], prec);
        for (i = 0; i < nw; i++) wr[i] = hbpo_k_round(w[i], prec);
        for (i = 0; i < no; i++) dyr[i] = hbpo_k_round(dy[i], prec);
        cpu->matmul_forward(o0, x, w, NULL, N, IC, OC, prec);
        cpu->matmul_backward(dx0, dw0, NULL, dy, x, w, N, IC, OC, 0, prec);
        g = hbpo_k_gemm_forward(N, IC, OC, 0);
        colmajor_gemm(&g, pick(&g, g.a, xr, wr, dyr), pick(&g, g.b, xr, wr, dyr), o1);
        g = hbpo_k_gemm_dx(N, IC, OC, 0);
        colmajor_gemm(&g, pick(&g, g.a, xr, wr, dyr), pick(&g, g.b, xr, wr, dyr), dx1);
        g = hbpo_k_gemm_dw(N, IC, OC);
        colmajor_gemm(&g, pick(&g, g.a, xr, wr, dyr), pick(&g, g.b, xr, wr, dyr), dw1);
        ASSERT_TENSOR_NEAR(o0, o1, no, 1e-6, 1e-6);
        ASSERT_TENSOR_NEAR(dx0, dx1, nx, 1e-6, 1e-6);
        ASSERT_TENSOR_NEAR(dw0, dw1, nw, 1e-6, 1e-6);
        /* and the rounding mattered: the fp32 product differs */
        cpu->matmul_forward(o1, x, w, NULL, N, IC, OC, HBPO_MATMUL_FP32);
        ASSERT(memcmp(o0, o1, no * sizeof(float)) != 0);
        free(x); free(w); free(dy); free(xr); free(wr); free(dyr); free(o0); free(o1); free(dx0);
        free(dx1); free(dw0); free(dw1);
    }
    PASS();
}

/* The CPU backend's kv_write (the op the CUDA kernel replaces) places row i at
   (slot[i], pos[i]); the kernel's index arithmetic, emulated, agrees. */
TEST kv_write_index_matches_cpu(void) {
    const hbpo_backend *cpu = hbpo_backend_cpu();
    int n = 6, KVD = 10, S = 5, slot[6] = {2, 0, 1, 2, 0, 1}, pos[6] = {0, 4, 3, 1, 0, 2}, i, d;
    size_t nc = (size_t)3 * S * KVD;
    float *k = fa((size_t)n * KVD), *v = fa((size_t)n * KVD), *kc0 = fa(nc), *vc0 = fa(nc), *kc1 = fa(nc), *vc1 = fa(nc);
    hbpo_rng r;
    hbpo_rng_seed(&r, 43);
    fill(k, (size_t)n * KVD, &r, 1.0f); fill(v, (size_t)n * KVD, &r, 1.0f);
    cpu->kv_write(kc0, vc0, k, v, slot, pos, n, KVD, S);
    for (i = 0; i < n; i++)
        for (d = 0; d < KVD; d++) {
            size_t e = (size_t)i * KVD + (size_t)d, dst = ((size_t)slot[i] * S + (size_t)pos[i]) * KVD + (size_t)d;
            kc1[dst] = k[e];
            vc1[dst] = v[e];
        }
    ASSERT_TENSOR_NEAR(kc0, kc1, nc, 0.0, 0.0);
    ASSERT_TENSOR_NEAR(vc0, vc1, nc, 0.0, 0.0);
    free(k); free(v); free(kc0); free(vc0); free(kc1); free(vc1);
    PASS();
}

/* --- 8. memory plan ------------------------------------------------------------------------------ */

TEST memory_plan_r1_distill_1p5b(void) {
    const double GiB = 1024.0 * 1024.0 * 1024.0;
    hbpo_model_config c = hbpo_test_r1_distill_1p5b_config();
    hbpo_memory_plan p = hbpo_memory_plan_compute(&c, 1, 4096, 128, 4096), p2;
    char msg[256];
    /* 1,777,088,000 parameters: the published size of the model (1.78B) */
    ASSERT_EQ_FMT(1777088000.0, p.params, "%.0f");
    ASSERT_EQ_FMT(4.0 * 1777088000.0, p.weights, "%.0f");
    ASSERT_EQ_FMT(16.0 * 1777088000.0, p.weights + p.grads + p.adam, "%.0f");
    /* KV cache: 2 (k, v) x 28 layers x 128 seqs x 4096 x 256 floats = 28 GiB */
    ASSERT_EQ_FMT(28.0 * GiB, p.kv_cache, "%.0f");
    /* activations grow linearly with the micro-batch */
    p2 = hbpo_memory_plan_compute(&c, 2, 4096, 128, 4096);
    ASSERT_NEAR(2.0 * p.activations, p2.activations, 1.0);
    ASSERT(p.total > p.weights + p.grads + p.adam + p.kv_cache);
    /* fits on a 139 GiB H200 at micro_batch 1; micro_batch 8 x 4096 needs more than 80 GiB */
    ASSERT_EQ(0, hbpo_memory_plan_fit(&c, 1, 4096, 128, 4096, 139.0 * GiB, msg, sizeof msg));
    ASSERT_EQ(-1, hbpo_memory_plan_fit(&c, 8, 4096, 0, 0, 80.0 * GiB, msg, sizeof msg));
    ASSERT(strstr(msg, "micro_batch 8 x 4096 needs ") == msg);
    ASSERT(strstr(msg, "the GPU has 80.0 free; micro_batch ") != NULL);
    {
        int mb = 0, sq = 0;
        ASSERT_EQ(2, sscanf(strstr(msg, "; micro_batch ") + 2, "micro_batch %d x %d fits", &mb, &sq));
        ASSERT_EQ(4096, sq);
        ASSERT(mb >= 1 && mb < 8);
        ASSERT(hbpo_memory_plan_compute(&c, mb, 4096, 0, 0).total <= 80.0 * GiB);
        ASSERT(hbpo_memory_plan_compute(&c, mb * 2, 4096, 0, 0).total > 80.0 * GiB);
    }
    /* the KV cache of 256 x 4096 (56 GiB) does not fit 60 GiB beside the model: halve it */
    ASSERT_EQ(-1, hbpo_memory_plan_fit(&c, 1, 4096, 256, 4096, 60.0 * GiB, msg, sizeof msg));
    ASSERT(strstr(msg, "with rollout batch 256 x 4096 needs") != NULL);
    ASSERT(strstr(msg, "with rollout batch 32 fits") != NULL || strstr(msg, "with rollout batch 64 fits") != NULL);
    /* too little for the model itself: says so */
    ASSERT_EQ(-1, hbpo_memory_plan_fit(&c, 1, 4096, 0, 0, 16.0 * GiB, msg, sizeof msg));
    ASSERT(strstr(msg, "nothing fits") != NULL);
    PASS();
}

/* The plan's sizes are the model's: after a training forward of 2 x 32
   tokens, the model holds exactly the plan's parameters and activations
   (hbpo__acts_layout sizes both), with and without qk_norm and biases. */
TEST memory_plan_matches_the_model(void) {
    int v, B = 2, T = 32, i;
    for (v = 0; v < 2; v++) {
        hbpo_model_config c = hbpo_synth_model_config();
        hbpo_model m;
        hbpo_model_memory u;
        hbpo_memory_plan p;
        int in[64], tg[64];
        float mask[64], lp[64];
        c.qk_norm = v; c.attention_bias = v; c.tie_word_embeddings = !v;
        for (i = 0; i < B * T; i++) { in[i] = i % c.vocab_size; tg[i] = (i + 1) % c.vocab_size; mask[i] = 1.0f; }
        ASSERT_EQ(0, hbpo_model_create(&m, &c, NULL));
        ASSERT_EQ(0, hbpo_model_forward(&m, in, tg, mask, B, T, 1.0f, lp, NULL));
        u = hbpo_model_memory_usage(&m);
        p = hbpo_memory_plan_compute(&c, B, T, 0, 0);
        hbpo_model_free(&m);
        ASSERT_EQ_FMT((double)u.params, p.weights, "%.0f");
        ASSERT_EQ_FMT((double)(u.saved + u.scratch), p.activations + p.logits, "%.0f");
    }
    PASS();
}

/* hbpo_memory_plan_check on a backend that reports a fake free-memory
   figure (the CPU table with mem_free set): the message, naming
   what fits; the CPU itself (mem_free NULL) is never refused. */
static size_t fake_free;
static int fake_mem_free(size_t *free_bytes) {
    *free_bytes = fake_free;
    return 0;
}
static int fake_mem_fails(size_t *free_bytes) {
    (void)free_bytes;
    return hbpo_set_error("cudaMemGetInfo: no device");
}
TEST memory_plan_check_with_fake_free_memory(void) {
    const size_t GiB = (size_t)1 << 30;
    hbpo_model_config c = hbpo_test_r1_distill_1p5b_config();
    hbpo_backend fake = *hbpo_backend_cpu();
    int mb = 0, sq = 0;
    const char *e;
    fake.mem_free = fake_mem_free;
    fake_free = 60 * GiB;
    ASSERT_EQ(0, hbpo_memory_plan_check(hbpo_backend_cpu(), &c, 8, 4096, 0, 0));
    ASSERT_EQ(-1, hbpo_memory_plan_check(&fake, &c, 8, 4096, 0, 0));
    e = hbpo_last_error();
    ASSERT(strstr(e, "micro_batch 8 x 4096 needs ") == e);
    ASSERT(strstr(e, " GiB, the GPU has 60.0 free; micro_batch ") != NULL);
    ASSERT_EQ(2, sscanf(strstr(e, "; micro_batch ") + 2, "micro_batch %d x %d fits", &mb, &sq));
    ASSERT(mb >= 1 && mb < 8 && sq == 4096);
    ASSERT_EQ(0, hbpo_memory_plan_check(&fake, &c, mb, 4096, 0, 0)); /* what it names fits */
    /* generation only: no gradients or moments in the plan; a batch too big is halved */
    fake_free = 16 * GiB;
    ASSERT_EQ(0, hbpo_memory_plan_check(&fake, &c, 0, 0, 8, 4096));
    ASSERT_EQ(-1, hbpo_memory_plan_check(&fake, &c, 0, 0, 256, 4096));
    e = hbpo_last_error();
    ASSERT(strstr(e, "rollout batch 256 x 4096 needs ") == e);
    ASSERT(strstr(e, "the GPU has 16.0 free; rollout batch ") != NULL);
    fake_free = 2 * GiB;
    ASSERT_EQ(-1, hbpo_memory_plan_check(&fake, &c, 1, 4096, 0, 0));
    ASSERT(strstr(hbpo_last_error(), "nothing fits") != NULL);
    fake.mem_free = fake_mem_fails;
    ASSERT_EQ(-1, hbpo_memory_plan_check(&fake, &c, 1, 4096, 0, 0));
    ASSERT(strstr(hbpo_last_error(), "no device") != NULL);
    PASS();
}

SUITE(cuda_host_suite) {
    RUN_TEST(round_bf16_equals_hbpo_f32_to_bf16);
    RUN_TEST(round_tf32_nearest_even);
    RUN_TEST(expf_kernel_within_two_ulp);
    RUN_TEST(swiglu_and_adamw_match_cpu);
    RUN_TEST(rmsnorm_rows_match_cpu);
    RUN_TEST(rope_matches_cpu_with_pos0);
    RUN_TEST(attention_forward_rows_match_cpu);
    RUN_TEST(attention_backward_rows_match_cpu);
    RUN_TEST(logprob_rows_match_cpu);
    RUN_TEST(embedding_backward_segments_match_cpu_bitwise);
    RUN_TEST(sum_squares_tree_matches_cpu);
    RUN_TEST(bias_colsum_chunks_match_cpu);
    RUN_TEST(sample_row_errors_reach_hbpo_sample);
    RUN_TEST(greedy_block_equals_hbpo_sample);
    RUN_TEST(block_sample_equals_hbpo_sample);
    RUN_TEST(gemm_mapping_replays_cpu_matmul);
    RUN_TEST(gemm_mapping_rounded_inputs_match_cpu_precisions);
    RUN_TEST(kv_write_index_matches_cpu);
    RUN_TEST(memory_plan_r1_distill_1p5b);
    RUN_TEST(memory_plan_matches_the_model);
    RUN_TEST(memory_plan_check_with_fake_free_memory);
}
