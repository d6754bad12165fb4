/* test_cuda - the CUDA backend against the CPU backend, on a GPU (make test-cuda).
   A C program (gcc, like the library's users), linked with hbpo_cuda.o.

   Every operation of hbpo_backend_cuda(0) is run on the same random inputs as
   hbpo_backend_cpu() and compared (the ggml backend-test habit): at small odd
   shapes and at the layer shapes of DeepSeek-R1-Distill-Qwen-1.5B (C 1536,
   12 heads / 2 KV heads of 128, F 8960, V 151936). Products are compared in
   the three precisions with the CPU emulating the same input rounding:
   max |gpu - cpu| <= tol * max |cpu|, tol 1e-5 (fp32), 2e-3 (tf32),
   2e-2 (bf16). The embedding backward, being the CPU's order, must be
   bitwise equal; sampling must pick the CPU's tokens from the same logits
   and coins. Then the transformers fixtures (tests/fixtures/qwen2: logits
   and loss against transformers' float64 reference, gradients against the
   CPU), greedy generation token-equal to the CPU in fp32, a training step
   repeated from the same state giving the same bits, and one HBPO trainer
   step giving the CPU's rollouts, rewards and advantages.
   Without a GPU it prints "no CUDA device: 0 tests run" and exits 0: then
   nothing was checked. Flags as build/test_hbpo (-v -l -x -s -t). */
#define HBPO_IMPLEMENTATION /* first: it sets the POSIX feature macros */
#include "hbpo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hbpo_test.h"

HBPO_TEST_MAIN_DEFS();

static const hbpo_backend *gpu, *cpu;
static hbpo_rng rng;

/* ---- helpers ---------------------------------------------------------------------------------- */

static float *hrand(size_t n, float scale) {
    float *x = (float *)malloc(sizeof(float) * (n ? n : 1));
    size_t i;
    for (i = 0; i < n; i++) x[i] = scale * hbpo_rng_normal(&rng);
    return x;
}
static float *hzero(size_t n) { return (float *)calloc(n ? n : 1, sizeof(float)); }
static void *dup_dev(const void *h, size_t bytes) {
    void *d = gpu->alloc(bytes);
    if (d) gpu->upload(d, h, bytes);
    return d;
}
/* device -> new host buffer (after sync) */
static float *back(const float *d, size_t n) {
    float *h = hzero(n);
    gpu->download(h, d, sizeof(float) * n);
    return h;
}
/* max |got - want| / max |want| (NaN anywhere: infinity) */
static double rel_err(const float *want, const float *got, size_t n) {
    double m = 0.0, s = 0.0;
    size_t i;
    for (i = 0; i < n; i++) {
        double d = fabs((double)want[i] - got[i]);
        if (!(d <= m)) m = d == d ? d : INFINITY;
        if (fabs(want[i]) > s) s = fabs(want[i]);
    }
    return s > 0 ? m / s : m;
}
#define ASSERT_REL(want, got, n, tol)                                                     \
    do {                                                                                  \
        double e_ = rel_err((want), (got), (n));                                          \
        if (!(e_ <= (tol)))                                                               \
            HBPO_TEST__FAILF("%s: relative error %.3g > %.3g", #got, e_, (double)(tol)); \
        if (hbpo_test__info.verbose) printf("  %s: %.3g\n", #got, e_);                    \
    } while (0)
#define ASSERT_SYNC()                                                                     \
    do {                                                                                  \
        if (gpu->sync() != 0) HBPO_TEST__FAILF("sync: %s", hbpo_last_error());            \
    } while (0)

static const double tol_of[3] = {1e-5, 2e-3, 2e-2};
static const char *prec_name[3] = {"fp32", "tf32", "bf16"};

/* ---- products ----------------------------------------------------------------------------------- */

static int check_matmul(int N, int IC, int OC, int prec) {
    size_t nx = (size_t)N * IC, nw = (size_t)OC * IC, no = (size_t)N * OC;
    float *x = hrand(nx, 1), *w = hrand(nw, 0.05f), *b = hrand((size_t)OC, 1), *dy = hrand(no, 1);
    float *o = hzero(no), *dx = hzero(nx), *dw = hzero(nw), *db = hzero((size_t)OC);
    float *X = (float *)dup_dev(x, nx * 4), *W = (float *)dup_dev(w, nw * 4),
          *Bb = (float *)dup_dev(b, (size_t)OC * 4), *DY = (float *)dup_dev(dy, no * 4);
    float *O = (float *)gpu->alloc(no * 4), *DX = (float *)gpu->alloc(nx * 4),
          *DW = (float *)gpu->alloc(nw * 4), *DB = (float *)gpu->alloc((size_t)OC * 4);
    float *go, *gdx, *gdw, *gdb;
    double tol = tol_of[prec];
    ASSERT(X && W && Bb && DY && O && DX && DW && DB);
    cpu->matmul_forward(o, x, w, b, N, IC, OC, prec);
    cpu->matmul_backward(dx, dw, db, dy, x, w, N, IC, OC, 0, prec);
    gpu->matmul_forward(O, X, W, Bb, N, IC, OC, prec);
    gpu->matmul_backward(DX, DW, DB, DY, X, W, N, IC, OC, 0, prec);
    ASSERT_SYNC();
    go = back(O, no); gdx = back(DX, nx); gdw = back(DW, nw); gdb = back(DB, (size_t)OC);
    if (hbpo_test__info.verbose) printf("  matmul %s N %d IC %d OC %d\n", prec_name[prec], N, IC, OC);
    ASSERT_REL(o, go, no, tol);
    ASSERT_REL(dx, gdx, nx, tol);
    ASSERT_REL(dw, gdw, nw, tol);
    ASSERT_REL(db, gdb, (size_t)OC, 1e-5);
    gpu->free(X); gpu->free(W); gpu->free(Bb); gpu->free(DY); gpu->free(O); gpu->free(DX);
    gpu->free(DW); gpu->free(DB);
    free(x); free(w); free(b); free(dy); free(o); free(dx); free(dw); free(db);
    free(go); free(gdx); free(gdw); free(gdb);
    PASS();
}
TEST matmul_small_all_precisions(void) {
    int p;
    for (p = 0; p < 3; p++)
        if (check_matmul(37, 65, 33, p) != HBPO_TEST_PASS) return HBPO_TEST_FAIL;
    PASS();
}
TEST matmul_1p5b_shapes_all_precisions(void) {
    static const int s[4][2] = {{1536, 1536}, {1536, 256}, {1536, 8960}, {8960, 1536}};
    int p, i;
    for (p = 0; p < 3; p++)
        for (i = 0; i < 4; i++)
            if (check_matmul(256, s[i][0], s[i][1], p) != HBPO_TEST_PASS) return HBPO_TEST_FAIL;
    PASS();
}

/* ---- row ops ---------------------------------------------------------------------------------------- */

TEST embedding_forward_backward(void) {
    int N = 300, C = 1536, V = 1000, i;
    int *tok = (int *)malloc(sizeof(int) * N), *TOK;
    float *wte = hrand((size_t)V * C, 1), *dy = hrand((size_t)N * C, 1), *o = hzero((size_t)N * C);
    float *dw = hrand((size_t)V * C, 1), *WTE, *DY, *O, *DW, *go, *gdw;
    for (i = 0; i < N; i++) tok[i] = (int)(hbpo_rng_u32(&rng) % 50u) * (i % 3 ? 1 : 19); /* repeats */
    TOK = (int *)dup_dev(tok, sizeof(int) * N);
    WTE = (float *)dup_dev(wte, (size_t)V * C * 4); DY = (float *)dup_dev(dy, (size_t)N * C * 4);
    DW = (float *)dup_dev(dw, (size_t)V * C * 4); O = (float *)gpu->alloc((size_t)N * C * 4);
    cpu->embedding_forward(o, tok, wte, N, C);
    cpu->embedding_backward(dw, dy, tok, N, C);
    gpu->embedding_forward(O, TOK, WTE, N, C);
    gpu->embedding_backward(DW, DY, TOK, N, C);
    ASSERT_SYNC();
    go = back(O, (size_t)N * C); gdw = back(DW, (size_t)V * C);
    ASSERT(memcmp(o, go, sizeof(float) * N * C) == 0);
    ASSERT(memcmp(dw, gdw, sizeof(float) * V * C) == 0); /* same order: same bits */
    gpu->free(TOK); gpu->free(WTE); gpu->free(DY); gpu->free(DW); gpu->free(O);
    free(tok); free(wte); free(dy); free(o); free(dw); free(go); free(gdw);
    PASS();
}

TEST rmsnorm_rope_swiglu_add(void) {
    int N = 129, C = 1536, B = 3, T = 43, nh = 12, HS = 128, pos0[3] = {0, 5, 1000};
    size_t nc = (size_t)N * C, nr = (size_t)B * T * nh * HS, nf = (size_t)N * 8960;
    float *x = hrand(nc, 2), *w = hrand((size_t)C, 1), *dy = hrand(nc, 1), *o = hzero(nc),
          *r = hzero((size_t)N), *dx = hzero(nc), *dw = hzero((size_t)C);
    float *X = (float *)dup_dev(x, nc * 4), *W = (float *)dup_dev(w, (size_t)C * 4),
          *DY = (float *)dup_dev(dy, nc * 4), *O = (float *)gpu->alloc(nc * 4),
          *R = (float *)gpu->alloc((size_t)N * 4), *DX = (float *)gpu->alloc(nc * 4),
          *DW = (float *)gpu->alloc((size_t)C * 4);
    float *q = hrand(nr, 1), *Q = (float *)dup_dev(q, nr * 4);
    int *P0 = (int *)dup_dev(pos0, sizeof pos0);
    float *g = hrand(nf, 3), *u = hrand(nf, 1), *h = hzero(nf), *dg = hzero(nf), *du = hzero(nf);
    float *G = (float *)dup_dev(g, nf * 4), *U = (float *)dup_dev(u, nf * 4), *H = (float *)gpu->alloc(nf * 4),
          *DG = (float *)gpu->alloc(nf * 4), *DU = (float *)gpu->alloc(nf * 4);
    float *t1, *t2, *t3, *t4, *t5;
    cpu->rmsnorm_forward(o, r, x, w, N, C, 1e-6f);
    cpu->rmsnorm_backward(dx, dw, dy, x, w, r, N, C, 0);
    gpu->rmsnorm_forward(O, R, X, W, N, C, 1e-6f);
    gpu->rmsnorm_backward(DX, DW, DY, X, W, R, N, C, 0);
    cpu->rope_forward(q, pos0, B, T, nh, HS, 1e4f);
    gpu->rope_forward(Q, P0, B, T, nh, HS, 1e4f);
    cpu->swiglu_forward(h, g, u, nf);
    gpu->swiglu_forward(H, G, U, nf);
    ASSERT_SYNC();
    t1 = back(O, nc); t2 = back(R, (size_t)N); t3 = back(DX, nc); t4 = back(DW, (size_t)C); t5 = back(Q, nr);
    ASSERT_REL(o, t1, nc, 1e-5); ASSERT_REL(r, t2, (size_t)N, 1e-5);
    ASSERT_REL(dx, t3, nc, 1e-5); ASSERT_REL(dw, t4, (size_t)C, 1e-5);
    ASSERT_REL(q, t5, nr, 1e-5);
    free(t1); free(t2); free(t3); free(t4); free(t5);
    cpu->rope_backward(q, pos0, B, T, nh, HS, 1e4f);
    gpu->rope_backward(Q, P0, B, T, nh, HS, 1e4f);
    cpu->swiglu_backward(dg, du, h, g, u, nf);
    gpu->swiglu_backward(DG, DU, H, G, U, nf);
    cpu->add(h, h, g, nf);
    gpu->add(H, H, G, nf);
    ASSERT_SYNC();
    t1 = back(Q, nr); t2 = back(DG, nf); t3 = back(DU, nf); t4 = back(H, nf);
    ASSERT_REL(q, t1, nr, 1e-5); ASSERT_REL(dg, t2, nf, 1e-5); ASSERT_REL(du, t3, nf, 1e-5);
    ASSERT_REL(h, t4, nf, 1e-5);
    free(t1); free(t2); free(t3); free(t4);
    gpu->free(X); gpu->free(W); gpu->free(DY); gpu->free(O); gpu->free(R); gpu->free(DX); gpu->free(DW);
    gpu->free(Q); gpu->free(P0); gpu->free(G); gpu->free(U); gpu->free(H); gpu->free(DG); gpu->free(DU);
    free(x); free(w); free(dy); free(o); free(r); free(dx); free(dw); free(q); free(g); free(u);
    free(h); free(dg); free(du);
    PASS();
}

TEST gather_scatter_kv_write(void) {
    int n = 50, C = 1536, S = 64, KVD = 256, i, rows[50], slot[50], pos[50];
    float *src = hrand((size_t)200 * C, 1), *d0 = hzero((size_t)n * C), *acc = hrand((size_t)200 * C, 1);
    float *kc = hzero((size_t)4 * S * KVD), *vc = hzero((size_t)4 * S * KVD);
    float *k = hrand((size_t)n * KVD, 1), *v = hrand((size_t)n * KVD, 1);
    float *SRC, *D0, *ACC, *KC, *VC, *K, *Vv, *t1, *t2, *t3, *t4;
    int *ROWS, *SLOT, *POS;
    for (i = 0; i < n; i++) { rows[i] = 4 * i + 1; slot[i] = i % 4; pos[i] = i / 4; }
    SRC = (float *)dup_dev(src, (size_t)200 * C * 4); ACC = (float *)dup_dev(acc, (size_t)200 * C * 4);
    D0 = (float *)gpu->alloc((size_t)n * C * 4); ROWS = (int *)dup_dev(rows, sizeof rows);
    KC = (float *)gpu->alloc((size_t)4 * S * KVD * 4); VC = (float *)gpu->alloc((size_t)4 * S * KVD * 4);
    K = (float *)dup_dev(k, (size_t)n * KVD * 4); Vv = (float *)dup_dev(v, (size_t)n * KVD * 4);
    SLOT = (int *)dup_dev(slot, sizeof slot); POS = (int *)dup_dev(pos, sizeof pos);
    cpu->gather_rows(d0, src, rows, n, C);
    cpu->scatter_add_rows(acc, d0, rows, n, C);
    cpu->kv_write(kc, vc, k, v, slot, pos, n, KVD, S);
    gpu->gather_rows(D0, SRC, ROWS, n, C);
    gpu->scatter_add_rows(ACC, D0, ROWS, n, C);
    gpu->kv_write(KC, VC, K, Vv, SLOT, POS, n, KVD, S);
    ASSERT_SYNC();
    t1 = back(D0, (size_t)n * C); t2 = back(ACC, (size_t)200 * C);
    t3 = back(KC, (size_t)4 * S * KVD); t4 = back(VC, (size_t)4 * S * KVD);
    ASSERT(memcmp(d0, t1, sizeof(float) * n * C) == 0);
    ASSERT(memcmp(acc, t2, sizeof(float) * 200 * C) == 0);
    ASSERT(memcmp(kc, t3, sizeof(float) * 4 * S * KVD) == 0);
    ASSERT(memcmp(vc, t4, sizeof(float) * 4 * S * KVD) == 0);
    gpu->free(SRC); gpu->free(ACC); gpu->free(D0); gpu->free(ROWS); gpu->free(KC); gpu->free(VC);
    gpu->free(K); gpu->free(Vv); gpu->free(SLOT); gpu->free(POS);
    free(src); free(d0); free(acc); free(kc); free(vc); free(k); free(v);
    free(t1); free(t2); free(t3); free(t4);
    PASS();
}

/* training (pos0 0), prefill into a longer cache with pos0 > 0, decoding with
   permuted slots; then the backward at training shapes */
static int check_attention(int B, int T, int S, int NH, int KVH, int HS, int mode) {
    int QD = NH * HS, KVD = KVH * HS, b, pos0[8], slot[8];
    size_t nq = (size_t)B * T * QD, nk = (size_t)B * S * KVD, nl = (size_t)B * NH * T;
    float *q = hrand(nq, 1), *k = hrand(nk, 1), *v = hrand(nk, 1), *o = hzero(nq), *l = hzero(nl);
    float *Q = (float *)dup_dev(q, nq * 4), *K = (float *)dup_dev(k, nk * 4), *Vv = (float *)dup_dev(v, nk * 4);
    float *O = (float *)gpu->alloc(nq * 4), *L = (float *)gpu->alloc(nl * 4), *t1, *t2;
    int *P0, *SL;
    for (b = 0; b < B; b++) {
        pos0[b] = mode == 0 ? 0 : S - T - b;
        slot[b] = mode == 2 ? (b + 1) % B : b;
    }
    P0 = (int *)dup_dev(pos0, sizeof(int) * B);
    SL = (int *)dup_dev(slot, sizeof(int) * B);
    ASSERT_EQ(0, cpu->attention_forward(o, l, q, k, v, pos0, mode == 2 ? slot : NULL, B, T, S, NH, KVH, HS));
    ASSERT_EQ(0, gpu->attention_forward(O, L, Q, K, Vv, P0, mode == 2 ? SL : NULL, B, T, S, NH, KVH, HS));
    ASSERT_SYNC();
    t1 = back(O, nq); t2 = back(L, nl);
    ASSERT_REL(o, t1, nq, 1e-5);
    ASSERT_REL(l, t2, nl, 1e-5);
    free(t1); free(t2);
    if (mode == 0) {
        float *dy = hrand(nq, 1), *dq = hzero(nq), *dk = hzero(nk), *dv = hzero(nk);
        float *DY = (float *)dup_dev(dy, nq * 4), *DQ = (float *)gpu->alloc(nq * 4),
              *DK = (float *)gpu->alloc(nk * 4), *DV = (float *)gpu->alloc(nk * 4), *t3;
        ASSERT_EQ(0, cpu->attention_backward(dq, dk, dv, dy, q, k, v, o, l, B, T, NH, KVH, HS));
        ASSERT_EQ(0, gpu->attention_backward(DQ, DK, DV, DY, Q, K, Vv, O, L, B, T, NH, KVH, HS));
        ASSERT_SYNC();
        t1 = back(DQ, nq); t2 = back(DK, nk); t3 = back(DV, nk);
        ASSERT_REL(dq, t1, nq, 1e-4);
        ASSERT_REL(dk, t2, nk, 1e-4);
        ASSERT_REL(dv, t3, nk, 1e-4);
        free(t1); free(t2); free(t3); free(dy); free(dq); free(dk); free(dv);
        gpu->free(DY); gpu->free(DQ); gpu->free(DK); gpu->free(DV);
    }
    gpu->free(Q); gpu->free(K); gpu->free(Vv); gpu->free(O); gpu->free(L); gpu->free(P0); gpu->free(SL);
    free(q); free(k); free(v); free(o); free(l);
    PASS();
}
TEST attention_small(void) {
    if (check_attention(3, 17, 17, 6, 2, 20, 0) != HBPO_TEST_PASS) return HBPO_TEST_FAIL;
    /* a partial second tile of 64 rows, and a head size past the tiled kernel's 128 */
    if (check_attention(2, 100, 100, 4, 2, 16, 0) != HBPO_TEST_PASS) return HBPO_TEST_FAIL;
    if (check_attention(2, 70, 90, 2, 1, 160, 1) != HBPO_TEST_PASS) return HBPO_TEST_FAIL;
    if (check_attention(2, 9, 9, 2, 1, 160, 0) != HBPO_TEST_PASS) return HBPO_TEST_FAIL;
    if (check_attention(3, 5, 40, 6, 2, 20, 1) != HBPO_TEST_PASS) return HBPO_TEST_FAIL;
    return check_attention(3, 1, 40, 6, 2, 20, 2);
}
TEST attention_1p5b_shapes(void) {
    if (check_attention(2, 256, 256, 12, 2, 128, 0) != HBPO_TEST_PASS) return HBPO_TEST_FAIL;
    return check_attention(4, 1, 1024, 12, 2, 128, 2);
}

TEST logprob_adamw_sum_squares(void) {
    int N = 7, V = 151936, i, tg[7];
    size_t nz = (size_t)N * V, np = 1000003;
    float *z = hrand(nz, 3), *dl = hrand((size_t)N, 1), lp[7], en[7], glp[7], gen[7];
    float *Z = (float *)dup_dev(z, nz * 4), *LP = (float *)gpu->alloc(28), *EN = (float *)gpu->alloc(28),
          *DL = (float *)dup_dev(dl, 28), *t1;
    float *p = hrand(np, 0.1f), *g = hrand(np, 1), *m = hzero(np), *v = hzero(np);
    float *P = (float *)dup_dev(p, np * 4), *G = (float *)dup_dev(g, np * 4),
          *M = (float *)gpu->alloc(np * 4), *Vv = (float *)gpu->alloc(np * 4);
    int *TG;
    double s0, s1;
    for (i = 0; i < N; i++) tg[i] = (int)(hbpo_rng_u32(&rng) % (uint32_t)V);
    TG = (int *)dup_dev(tg, sizeof tg);
    cpu->logprob_forward(lp, en, z, tg, N, V, 1.0f / 0.6f);
    gpu->logprob_forward(LP, EN, Z, TG, N, V, 1.0f / 0.6f);
    cpu->logprob_backward(z, tg, dl, N, V, 1.0f / 0.6f);
    gpu->logprob_backward(Z, TG, DL, N, V, 1.0f / 0.6f);
    cpu->adamw(p, g, m, v, np, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 0.1f, 0.001f, 0.5f);
    gpu->adamw(P, G, M, Vv, np, 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 0.1f, 0.001f, 0.5f);
    s0 = cpu->sum_squares(g, np);
    s1 = gpu->sum_squares(G, np);
    ASSERT_SYNC();
    gpu->download(glp, LP, sizeof glp);
    gpu->download(gen, EN, sizeof gen);
    ASSERT_REL(lp, glp, (size_t)N, 1e-5);
    ASSERT_REL(en, gen, (size_t)N, 1e-5);
    t1 = back(Z, nz);
    ASSERT_REL(z, t1, nz, 1e-5);
    free(t1);
    t1 = back(P, np);
    ASSERT_REL(p, t1, np, 1e-6);
    free(t1);
    ASSERT_NEAR(s0, s1, 1e-9 * s0);
    gpu->free(Z); gpu->free(LP); gpu->free(EN); gpu->free(DL); gpu->free(TG); gpu->free(P);
    gpu->free(G); gpu->free(M); gpu->free(Vv);
    free(z); free(dl); free(p); free(g); free(m); free(v);
    PASS();
}

/* the same tokens as the CPU's sample op from the same logits and coins */
TEST sample_matches_cpu(void) {
    static const float temps[3] = {0.0f, 0.6f, 1.0f}, tops[3] = {1.0f, 0.95f, 0.5f};
    static const int ks[3] = {0, 1, 50};
    int n = 64, V = 151936, i, a, bb, c;
    size_t nz = (size_t)n * V;
    float *z = hrand(nz, 4), coins[64], lp0[64], lp1[64], *work = hzero(nz);
    float *Z, *W;
    int t0[64], t1[64];
    for (i = 0; i < 8 * V; i++) z[i] = (float)(i % 7); /* rows of ties */
    /* rows of two values, coins near 1: the nucleus ends inside the run of
       the lower value, and the walk passes that end, so which of the equal
       values are kept (the first ones, in id order) decides the token */
    for (i = 8 * V; i < 16 * V; i++) z[i] = (float)(i % 2);
    Z = (float *)dup_dev(z, nz * 4);
    W = (float *)gpu->alloc(nz * 4);
    for (i = 0; i < n; i++) coins[i] = i >= 8 && i < 16 ? 0.999f - 0.01f * (float)(i - 8) : hbpo_rng_uniform(&rng);
    for (a = 0; a < 3; a++)
        for (bb = 0; bb < 3; bb++)
            for (c = 0; c < 3; c++) {
                hbpo_sampler_config s = hbpo_sampler_config_default();
                s.temperature = temps[a]; s.top_p = tops[bb]; s.top_k = ks[c];
                ASSERT_EQ(0, cpu->sample(t0, lp0, z, n, V, &s, coins, work));
                if (gpu->sample(t1, lp1, Z, n, V, &s, coins, W) != 0) FAILm(hbpo_last_error());
                for (i = 0; i < n; i++) {
                    ASSERT_EQ_FMT(t0[i], t1[i], "%d");
                    ASSERT_NEAR(lp0[i], lp1[i], 1e-6 * fabs(lp0[i]) + 1e-7);
                }
            }
    gpu->free(Z); gpu->free(W);
    free(z); free(work);
    PASS();
}

/* ---- models ---------------------------------------------------------------------------------- */

/* transformers' reference (tests/fixtures/qwen2/<name>.ref.json) for logits
   and loss, and the CPU for every gradient, through hbpo_model_load on the GPU */
static int check_fixture(const char *name) {
    char dir[256], ref[256];
    hbpo_model mc, mg;
    hbpo_json_doc doc;
    const hbpo_json *seqs, *row, *x;
    char *text;
    size_t len, V, n, i;
    int B, T, b, t, *tok, *in, *tg, k = 0;
    float *lc, *lg, *mask, loss_c, loss_g, *gc, *gg;
    double ref_loss;
    snprintf(dir, sizeof dir, "tests/fixtures/qwen2/%s", name);
    snprintf(ref, sizeof ref, "tests/fixtures/qwen2/%s.ref.json", name);
    if (hbpo_model_load(&mc, dir, cpu) != 0) FAILm(hbpo_last_error());
    if (hbpo_model_load(&mg, dir, gpu) != 0) FAILm(hbpo_last_error());
    text = hbpo_read_file(ref, (size_t)1 << 30, &len);
    ASSERT(text != NULL);
    ASSERT_EQ(0, hbpo_json_parse(&doc, text, len));
    hbpo_free(text);
    seqs = hbpo_json_get(doc.root, "sequences");
    B = (int)seqs->len;
    T = (int)seqs->child->len;
    tok = (int *)malloc(sizeof(int) * (size_t)B * T * 3);
    for (row = seqs->child; row; row = row->next)
        for (x = row->child; x; x = x->next) tok[k++] = (int)x->num;
    V = (size_t)mc.config.vocab_size;
    n = (size_t)B * T * V;
    lc = hzero(n); lg = hzero(n);
    ASSERT_EQ(0, hbpo_model_logits(&mc, tok, B, T, lc));
    if (hbpo_model_logits(&mg, tok, B, T, lg) != 0) FAILm(hbpo_last_error());
    {
        const hbpo_json *lr = hbpo_json_get(doc.root, "logits");
        float *lref = hzero(n);
        for (i = 0, x = lr->child; x && i < n; x = x->next) lref[i++] = (float)x->num;
        ASSERT_REL(lref, lg, n, 1e-4);
        free(lref);
    }
    ASSERT_REL(lc, lg, n, 1e-5);
    in = tok + (size_t)B * T;
    tg = in + (size_t)B * T;
    mask = hzero((size_t)B * T);
    for (b = 0; b < B; b++)
        for (t = 0; t + 1 < T; t++) {
            in[b * (T - 1) + t] = tok[b * T + t];
            tg[b * (T - 1) + t] = tok[b * T + t + 1];
            mask[b * (T - 1) + t] = 1.0f;
        }
    ASSERT_EQ(0, hbpo_model_zero_grad(&mc));
    ASSERT_EQ(0, hbpo_model_zero_grad(&mg));
    ASSERT_EQ(0, hbpo_model_cross_entropy(&mc, in, tg, mask, B, T - 1, 1.0f, &loss_c));
    if (hbpo_model_cross_entropy(&mg, in, tg, mask, B, T - 1, 1.0f, &loss_g) != 0) FAILm(hbpo_last_error());
    ref_loss = hbpo_json_get(doc.root, "loss")->num;
    ASSERT_NEAR(ref_loss, loss_g, 1e-5 * fabs(ref_loss) + 1e-6);
    gc = hzero(mc.n_params);
    memcpy(gc, mc.grads, sizeof(float) * mc.n_params);
    gg = back(mg.grads, mg.n_params);
    for (k = 0; k < mc.n_tensors; k++) {
        const hbpo_tensor_info *ti = &mc.tensors[k];
        double e = rel_err(gc + ti->offset, gg + ti->offset, ti->numel);
        if (!(e <= 1e-4)) HBPO_TEST__FAILF("%s: gradient of %s: relative error %.3g", name, ti->name, e);
    }
    free(gc); free(gg); free(lc); free(lg); free(mask); free(tok);
    hbpo_json_free(&doc);
    hbpo_model_free(&mc);
    hbpo_model_free(&mg);
    PASS();
}
TEST fixture_qwen2_untied(void) { return check_fixture("qwen2_untied"); }
TEST fixture_qwen2_tied(void) { return check_fixture("qwen2_tied"); }
TEST fixture_qwen3_tied(void) { return check_fixture("qwen3_tied"); }

static hbpo_model_config small_config(void) {
    hbpo_model_config c = hbpo_model_config_default();
    c.vocab_size = 512; c.hidden_size = 128; c.intermediate_size = 352; c.num_hidden_layers = 2;
    c.num_attention_heads = 4; c.num_key_value_heads = 2; c.head_dim = 32;
    c.max_position_embeddings = 256;
    return c;
}

/* greedy decoding in fp32 gives the CPU's tokens */
TEST greedy_generation_token_equal(void) {
    hbpo_model_config c = small_config();
    hbpo_model mc, mg;
    hbpo_sampler_config s = hbpo_sampler_config_default();
    int B = 5, prompt[40], off[6], i, *tc, *tgp, lc[5], lg[5];
    s.temperature = 0.0f;
    s.max_new_tokens = 48;
    for (i = 0; i < 40; i++) prompt[i] = (int)(hbpo_rng_u32(&rng) % 512u);
    for (i = 0; i <= B; i++) off[i] = i * 8 - (i > 0 && i < B ? i : 0);
    ASSERT_EQ(0, hbpo_model_create(&mc, &c, cpu));
    if (hbpo_model_create(&mg, &c, gpu) != 0) FAILm(hbpo_last_error());
    hbpo_model_init_random(&mc, 5);
    hbpo_model_init_random(&mg, 5);
    tc = (int *)malloc(sizeof(int) * B * 48);
    tgp = (int *)malloc(sizeof(int) * B * 48);
    ASSERT_EQ(0, hbpo_generate(&mc, &s, B, prompt, off, tc, NULL, lc));
    if (hbpo_generate(&mg, &s, B, prompt, off, tgp, NULL, lg) != 0) FAILm(hbpo_last_error());
    for (i = 0; i < B; i++) ASSERT_EQ(lc[i], lg[i]);
    for (i = 0; i < B * 48; i++) ASSERT_EQ_FMT(tc[i], tgp[i], "%d");
    free(tc); free(tgp);
    hbpo_model_free(&mc);
    hbpo_model_free(&mg);
    PASS();
}

/* in each precision, two runs of forward + backward + AdamW step from the
   same state give the same loss, gradient norm and parameters, bit for bit */
TEST repeated_runs_bitwise_equal(void) {
    hbpo_model_config c = small_config();
    hbpo_adamw_config oc = hbpo_adamw_config_default();
    float *p[2], gn[2], loss[2], mask[4 * 63];
    int in[4 * 63], tg[4 * 63], r, i, bits;
    for (i = 0; i < 4 * 63; i++) {
        in[i] = (int)(hbpo_rng_u32(&rng) % 512u);
        tg[i] = (int)(hbpo_rng_u32(&rng) % 512u);
        mask[i] = 1.0f;
    }
    oc.lr = 1e-3f;
    for (bits = 0; bits < 3; bits++) {
        size_t np = 0;
        for (r = 0; r < 2; r++) {
            hbpo_model m;
            c.matmul_precision = bits;
            if (hbpo_model_create(&m, &c, gpu) != 0) FAILm(hbpo_last_error());
            hbpo_model_init_random(&m, 9);
            if (hbpo_model_cross_entropy(&m, in, tg, mask, 4, 63, 1.0f, &loss[r]) != 0 ||
                hbpo_model_step(&m, &oc, &gn[r]) != 0)
                FAILm(hbpo_last_error());
            p[r] = back(m.params, m.n_params);
            np = m.n_params;
            hbpo_model_free(&m);
        }
        if (hbpo_test__info.verbose)
            printf("  %s: loss %.9g, grad norm %.9g\n", prec_name[bits], (double)loss[0], (double)gn[0]);
        ASSERT(memcmp(&loss[0], &loss[1], sizeof(float)) == 0);
        ASSERT(memcmp(&gn[0], &gn[1], sizeof(float)) == 0);
        ASSERT(memcmp(p[0], p[1], sizeof(float) * np) == 0);
        free(p[0]); free(p[1]);
    }
    PASS();
}

/* one hbpo_trainer_step from the same state on each backend (the nccl_check
   setting: byte tokenizer, synthetic task, a tiny model): the same rollouts,
   rewards and advantages, and nearly the same update (fp32) */
static int trainer_step_on(const hbpo_backend *be, const hbpo_tokenizer *tok, hbpo_rollouts *out,
                           float **params, size_t *n) {
    hbpo_model_config mc;
    hbpo_train_config tc;
    hbpo_model m;
    hbpo_dataset d;
    hbpo_trainer t;
    hbpo_step_metrics mt;
    int rc, r;
    memset(&d, 0, sizeof d);
    hbpo_test_rl_step_config(&mc, &tc);
    if (hbpo_model_create(&m, &mc, be) != 0) return -1;
    hbpo_model_init_random(&m, 2);
    if (hbpo_synth_dataset(&d, 4, 4, 1, 4) != 0 || hbpo_trainer_init(&t, &tc, &m, tok, &d) != 0) {
        hbpo_model_free(&m);
        return -1;
    }
    rc = hbpo_trainer_step(&t, &mt);
    if (rc == 0) {
        out->count = t.last.count;
        out->max_len = t.last.max_len;
        out->n_gen = (int *)malloc(sizeof(int) * (size_t)t.last.count);
        out->reward = (float *)malloc(sizeof(float) * (size_t)t.last.count * 2);
        out->adv = out->reward + t.last.count;
        out->tokens = (int *)malloc(sizeof(int) * (size_t)t.last.count * (size_t)t.last.max_len);
        for (r = 0; r < t.last.count; r++) {
            out->n_gen[r] = t.last.n_gen[r];
            out->reward[r] = t.last.reward[r];
            out->adv[r] = t.last.adv[r];
        }
        memcpy(out->tokens, t.last.tokens, sizeof(int) * (size_t)t.last.count * (size_t)t.last.max_len);
        *n = m.n_params;
        *params = hzero(m.n_params);
        be->download(*params, m.params, sizeof(float) * m.n_params);
    }
    hbpo_trainer_free(&t);
    hbpo_dataset_free(&d);
    hbpo_model_free(&m);
    return rc;
}
TEST trainer_step_same_rollouts_as_cpu(void) {
    const char *path = "/tmp/hbpo_test_cuda_tok.json";
    hbpo_tokenizer *tok = NULL;
    hbpo_rollouts a, b;
    float *pa = NULL, *pb = NULL;
    size_t na = 0, nb = 0;
    int r;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (hbpo_tokenizer_write_bytes(path) != 0 || hbpo_tokenizer_load(&tok, path) != 0) FAILm(hbpo_last_error());
    if (trainer_step_on(cpu, tok, &a, &pa, &na) != 0) FAILm(hbpo_last_error());
    if (trainer_step_on(gpu, tok, &b, &pb, &nb) != 0) FAILm(hbpo_last_error());
    hbpo_tokenizer_free(tok);
    ASSERT_EQ(a.count, b.count);
    ASSERT_EQ(na, nb);
    for (r = 0; r < a.count; r++) {
        ASSERT_EQ_FMT(a.n_gen[r], b.n_gen[r], "%d");
        ASSERT_EQ_FMT(a.reward[r], b.reward[r], "%g");
        ASSERT_NEAR(a.adv[r], b.adv[r], 1e-6);
    }
    ASSERT(memcmp(a.tokens, b.tokens, sizeof(int) * (size_t)a.count * (size_t)a.max_len) == 0);
    ASSERT_REL(pa, pb, na, 1e-4);
    free(a.n_gen); free(a.reward); free(a.tokens); free(b.n_gen); free(b.reward); free(b.tokens);
    free(pa); free(pb);
    PASS();
}

/* the plan's check names what does not fit */
TEST memory_plan_check(void) {
    hbpo_model_config c = small_config();
    ASSERT_EQ(0, hbpo_cuda_plan_check(&c, 1, 256, 4, 256));
    c = hbpo_test_r1_distill_1p5b_config();
    ASSERT_EQ(-1, hbpo_cuda_plan_check(&c, 64, 4096, 1024, 4096));
    ASSERT(strstr(hbpo_last_error(), "the GPU has") != NULL);
    PASS();
}

SUITE(cuda_ops) {
    RUN_TEST(matmul_small_all_precisions);
    RUN_TEST(matmul_1p5b_shapes_all_precisions);
    RUN_TEST(embedding_forward_backward);
    RUN_TEST(rmsnorm_rope_swiglu_add);
    RUN_TEST(gather_scatter_kv_write);
    RUN_TEST(attention_small);
    RUN_TEST(attention_1p5b_shapes);
    RUN_TEST(logprob_adamw_sum_squares);
    RUN_TEST(sample_matches_cpu);
}
SUITE(cuda_model) {
    RUN_TEST(fixture_qwen2_untied);
    RUN_TEST(fixture_qwen2_tied);
    RUN_TEST(fixture_qwen3_tied);
    RUN_TEST(greedy_generation_token_equal);
    RUN_TEST(repeated_runs_bitwise_equal);
    RUN_TEST(trainer_step_same_rollouts_as_cpu);
    RUN_TEST(memory_plan_check);
}

int main(int argc, char **argv) {
    HBPO_TEST_MAIN_BEGIN(argc, argv);
    if (hbpo_cuda_device_count() == 0) {
        printf("no CUDA device: 0 tests run (%s)\n", hbpo_last_error());
        printf("0 passed, 0 failed\n");
        return 0;
    }
    gpu = hbpo_backend_cuda(0);
    if (!gpu) {
        printf("the CUDA backend did not start: %s\n0 passed, 1 failed\n", hbpo_last_error());
        return 1;
    }
    cpu = hbpo_backend_cpu();
    hbpo_rng_seed(&rng, 2026);
    RUN_SUITE(cuda_ops);
    RUN_SUITE(cuda_model);
    HBPO_TEST_MAIN_END();
}
