/* The Qwen2 model on the CPU backend: every operation against a double
   precision reference and finite differences, then the whole model.

   Gradient checks use central differences of a scalar L = sum(out * r) with
   a fixed random r, so d L / d out = r is what the backward receives. L is
   accumulated in double from float outputs; with a step of 1e-2 (ops) the
   truncation error is ~1e-4 relative and the rounding error ~1e-5, so
   |numeric - analytic| <= 2e-3 + 2e-2 |analytic| separates rounding from a
   wrong formula (which errs by O(1)). The whole model is checked at 8
   elements of every tensor, with Richardson extrapolation of two steps so
   that curvature does not pass for an error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hbpo.h"
#include "hbpo_test.h"

static void fill_normal(float *x, size_t n, float scale, hbpo_rng *r) {
    size_t i;
    for (i = 0; i < n; i++) x[i] = scale * hbpo_rng_normal(r);
}

static float *falloc(size_t n) { return (float *)calloc(n ? n : 1, sizeof(float)); }

static double dot_d(const float *a, const float *b, size_t n) {
    double s = 0.0;
    size_t i;
    for (i = 0; i < n; i++) s += (double)a[i] * b[i];
    return s;
}

/* Central differences of loss() with respect to x[0..n), against grad.
   Returns 1 when every element agrees; prints the first that does not. */
typedef double (*loss_fn)(void *ctx);
static int fd_check(const char *what, float *x, size_t n, const float *grad, loss_fn loss,
                    void *ctx, float eps) {
    size_t j;
    for (j = 0; j < n; j++) {
        float keep = x[j];
        double lp, lm, num;
        x[j] = keep + eps; lp = loss(ctx);
        x[j] = keep - eps; lm = loss(ctx);
        x[j] = keep;
        num = (lp - lm) / (2.0 * (double)eps);
        if (!isfinite(num) || !isfinite(grad[j]) || fabs(num - grad[j]) > 2e-3 + 2e-2 * fabs(num)) {
            printf("\n  %s[%zu]: finite difference %.6g, backward %.6g\n", what, j, num, (double)grad[j]);
            return 0;
        }
    }
    return 1;
}

/* --- matmul ------------------------------------------------------------------- */

typedef struct { const hbpo_backend *be; float *out, *x, *w, *b, *r; int N, IC, OC; } mm_ctx;
static double mm_loss(void *p) {
    mm_ctx *c = (mm_ctx *)p;
    c->be->matmul_forward(c->out, c->x, c->w, c->b, c->N, c->IC, c->OC, HBPO_MATMUL_FP32);
    return dot_d(c->out, c->r, (size_t)c->N * c->OC);
}

TEST model_matmul_forward_backward(void) {
    const hbpo_backend *be = hbpo_backend_cpu();
    int N = 5, IC = 7, OC = 6, i, o, k;
    hbpo_rng rng;
    mm_ctx c;
    float *dx = falloc(35), *dw = falloc(42), *db = falloc(6);
    c.be = be; c.N = N; c.IC = IC; c.OC = OC;
    c.out = falloc(30); c.x = falloc(35); c.w = falloc(42); c.b = falloc(6); c.r = falloc(30);
    hbpo_rng_seed(&rng, 1);
    fill_normal(c.x, 35, 1, &rng); fill_normal(c.w, 42, 1, &rng);
    fill_normal(c.b, 6, 1, &rng); fill_normal(c.r, 30, 1, &rng);
    mm_loss(&c);
    for (i = 0; i < N; i++)
        for (o = 0; o < OC; o++) {
            double s = c.b[o];
            for (k = 0; k < IC; k++) s += (double)c.x[i * IC + k] * c.w[o * IC + k];
            ASSERT_NEAR(s, c.out[i * OC + o], 1e-5);
        }
    /* Parameter gradients accumulate: start from 1 and subtract it back. */
    for (i = 0; i < 42; i++) dw[i] = 1.0f;
    for (i = 0; i < 6; i++) db[i] = 1.0f;
    be->matmul_backward(dx, dw, db, c.r, c.x, c.w, N, IC, OC, 0, HBPO_MATMUL_FP32);
    for (i = 0; i < 42; i++) dw[i] -= 1.0f;
    for (i = 0; i < 6; i++) db[i] -= 1.0f;
    ASSERT(fd_check("dx", c.x, 35, dx, mm_loss, &c, 1e-2f));
    ASSERT(fd_check("dw", c.w, 42, dw, mm_loss, &c, 1e-2f));
    ASSERT(fd_check("dbias", c.b, 6, db, mm_loss, &c, 1e-2f));
    /* accumulate_dx adds to what is there */
    {
        float dx2[35];
        for (i = 0; i < 35; i++) dx2[i] = 2.0f;
        be->matmul_backward(dx2, NULL, NULL, c.r, c.x, c.w, N, IC, OC, 1, HBPO_MATMUL_FP32);
        for (i = 0; i < 35; i++) ASSERT_NEAR(dx[i] + 2.0f, dx2[i], 1e-5);
    }
    free(dx); free(dw); free(db); free(c.out); free(c.x); free(c.w); free(c.b); free(c.r);
    PASS();
}

/* --- RMSNorm ------------------------------------------------------------------ */

typedef struct { const hbpo_backend *be; float *out, *rstd, *x, *w, *r; int N, C; } rms_ctx;
static double rms_loss(void *p) {
    rms_ctx *c = (rms_ctx *)p;
    c->be->rmsnorm_forward(c->out, c->rstd, c->x, c->w, c->N, c->C, 1e-6f);
    return dot_d(c->out, c->r, (size_t)c->N * c->C);
}

TEST model_rmsnorm_forward_backward(void) {
    const hbpo_backend *be = hbpo_backend_cpu();
    int N = 4, C = 9, i, j;
    hbpo_rng rng;
    rms_ctx c;
    float dx[36], dw[9] = {0};
    c.be = be; c.N = N; c.C = C;
    c.out = falloc(36); c.rstd = falloc(4); c.x = falloc(36); c.w = falloc(9); c.r = falloc(36);
    hbpo_rng_seed(&rng, 2);
    fill_normal(c.x, 36, 2, &rng); fill_normal(c.w, 9, 1, &rng); fill_normal(c.r, 36, 1, &rng);
    rms_loss(&c);
    for (i = 0; i < N; i++) {
        double ss = 0;
        for (j = 0; j < C; j++) ss += (double)c.x[i * C + j] * c.x[i * C + j];
        for (j = 0; j < C; j++)
            ASSERT_NEAR(c.w[j] * c.x[i * C + j] / sqrt(ss / C + 1e-6), c.out[i * C + j], 1e-5);
    }
    be->rmsnorm_backward(dx, dw, c.r, c.x, c.w, c.rstd, N, C, 0);
    ASSERT(fd_check("dx", c.x, 36, dx, rms_loss, &c, 1e-2f));
    ASSERT(fd_check("dw", c.w, 9, dw, rms_loss, &c, 1e-2f));
    free(c.out); free(c.rstd); free(c.x); free(c.w); free(c.r);
    PASS();
}

/* --- RoPE --------------------------------------------------------------------- */

TEST model_rope_rotates_like_transformers(void) {
    const hbpo_backend *be = hbpo_backend_cpu();
    enum { B = 2, T = 3, NH = 2, HS = 8, N = B * T * NH * HS };
    int pos0[B] = {0, 5}, b, t, h, i;
    float x[N], y[N], back[N];
    double theta = 12345.0;
    hbpo_rng rng;
    hbpo_rng_seed(&rng, 3);
    fill_normal(x, N, 1, &rng);
    memcpy(y, x, sizeof x);
    be->rope_forward(y, pos0, B, T, NH, HS, (float)theta);
    for (b = 0; b < B; b++)
        for (t = 0; t < T; t++)
            for (h = 0; h < NH; h++)
                for (i = 0; i < HS / 2; i++) {
                    size_t o = (((size_t)b * T + t) * NH + h) * HS;
                    double ang = (pos0[b] + t) / pow(theta, 2.0 * i / HS);
                    double a = x[o + i], c2 = x[o + i + HS / 2];
                    ASSERT_NEAR(a * cos(ang) - c2 * sin(ang), y[o + i], 2e-5);
                    ASSERT_NEAR(c2 * cos(ang) + a * sin(ang), y[o + i + HS / 2], 2e-5);
                }
    /* position 0 is the identity; backward undoes forward (orthogonal) */
    for (i = 0; i < NH * HS; i++) ASSERT_EQ_FMT(x[i], y[i], "%.9g");
    memcpy(back, y, sizeof y);
    be->rope_backward(back, pos0, B, T, NH, HS, (float)theta);
    ASSERT_TENSOR_NEAR(x, back, N, 1e-5, 1e-5);
    PASS();
}

/* --- attention ---------------------------------------------------------------- */

/* Double reference: causal GQA attention against a cache of S keys. */
static void attention_ref(double *out, const float *q, const float *k, const float *v,
                          const int *pos0, int B, int T, int S, int NH, int KVH, int HS) {
    int b, t, h, j, d, QD = NH * HS, KVD = KVH * HS;
    double *s = (double *)malloc(sizeof(double) * (size_t)S);
    for (b = 0; b < B; b++)
        for (t = 0; t < T; t++)
            for (h = 0; h < NH; h++) {
                const float *qt = q + ((size_t)b * T + t) * QD + h * HS;
                int keys = pos0[b] + t + 1, kh = h / (NH / KVH);
                double mx = -1e300, sum = 0;
                for (j = 0; j < keys; j++) {
                    double dd = 0;
                    for (d = 0; d < HS; d++) dd += (double)qt[d] * k[((size_t)b * S + j) * KVD + kh * HS + d];
                    s[j] = dd / sqrt((double)HS);
                    mx = s[j] > mx ? s[j] : mx;
                }
                for (j = 0; j < keys; j++) { s[j] = exp(s[j] - mx); sum += s[j]; }
                for (d = 0; d < HS; d++) {
                    double o = 0;
                    for (j = 0; j < keys; j++) o += s[j] / sum * v[((size_t)b * S + j) * KVD + kh * HS + d];
                    out[((size_t)b * T + t) * QD + h * HS + d] = o;
                }
            }
    free(s);
}

static int attention_case(int B, int T, int S, const int *pos0) {
    const hbpo_backend *be = hbpo_backend_cpu();
    int NH = 4, KVH = 2, HS = 4, QD = 16, KVD = 8;
    size_t nq = (size_t)B * T * QD, nk = (size_t)B * S * KVD, i;
    float *q = falloc(nq), *k = falloc(nk), *v = falloc(nk), *out = falloc(nq);
    float *lse = falloc((size_t)B * NH * T);
    double *ref = (double *)malloc(sizeof(double) * nq);
    hbpo_rng rng;
    int ok = 1;
    hbpo_rng_seed(&rng, 4 + (uint64_t)T);
    fill_normal(q, nq, 1.5f, &rng); fill_normal(k, nk, 1.5f, &rng); fill_normal(v, nk, 1, &rng);
    ok = be->attention_forward(out, lse, q, k, v, pos0, NULL, B, T, S, NH, KVH, HS) == 0;
    attention_ref(ref, q, k, v, pos0, B, T, S, NH, KVH, HS);
    for (i = 0; ok && i < nq; i++)
        if (!(fabs(ref[i] - out[i]) <= 1e-5 + 1e-5 * fabs(ref[i]))) {
            printf("\n  attention B=%d T=%d S=%d [%zu]: %.9g vs %.9g\n", B, T, S, i, ref[i], (double)out[i]);
            ok = 0;
        }
    free(q); free(k); free(v); free(out); free(lse); free(ref);
    return ok;
}

TEST model_attention_matches_reference(void) {
    int zero[2] = {0, 0}, cache[2] = {3, 9}, cache1[1] = {40}, cache2[2] = {2080, 7};
    ASSERT(attention_case(2, 5, 5, zero));     /* training shape, loop path */
    ASSERT(attention_case(2, 20, 20, zero));   /* training shape, tiles */
    ASSERT(attention_case(2, 1, 12, cache));   /* one decode step each, different positions */
    ASSERT(attention_case(2, 2, 12, cache));
    ASSERT(attention_case(1, 17, 64, cache1)); /* prefill of 17 after 40 cached, tiles */
    ASSERT(attention_case(2, 17, 2100, cache2)); /* 2,097 keys: too many for the tiles, sgemm */
    PASS();
}

typedef struct {
    const hbpo_backend *be;
    float *q, *k, *v, *out, *lse, *r;
    int B, T;
} att_ctx;
static double att_loss(void *p) {
    att_ctx *c = (att_ctx *)p;
    int zero[4] = {0, 0, 0, 0};
    c->be->attention_forward(c->out, c->lse, c->q, c->k, c->v, zero, NULL, c->B, c->T, c->T, 4, 2, 4);
    return dot_d(c->out, c->r, (size_t)c->B * c->T * 16);
}

static int attention_grad_case(int T) {
    const hbpo_backend *be = hbpo_backend_cpu();
    att_ctx c;
    size_t nq = (size_t)2 * T * 16, nk = (size_t)2 * T * 8;
    float *dq = falloc(nq), *dk = falloc(nk), *dv = falloc(nk);
    hbpo_rng rng;
    int ok;
    c.be = be; c.B = 2; c.T = T;
    c.q = falloc(nq); c.k = falloc(nk); c.v = falloc(nk); c.out = falloc(nq);
    c.lse = falloc((size_t)2 * 4 * T); c.r = falloc(nq);
    hbpo_rng_seed(&rng, 5);
    fill_normal(c.q, nq, 1, &rng); fill_normal(c.k, nk, 1, &rng);
    fill_normal(c.v, nk, 1, &rng); fill_normal(c.r, nq, 1, &rng);
    att_loss(&c);
    ok = be->attention_backward(dq, dk, dv, c.r, c.q, c.k, c.v, c.out, c.lse, 2, T, 4, 2, 4) == 0;
    ok = ok && fd_check("dq", c.q, nq, dq, att_loss, &c, 1e-2f);
    ok = ok && fd_check("dk", c.k, nk, dk, att_loss, &c, 1e-2f);
    ok = ok && fd_check("dv", c.v, nk, dv, att_loss, &c, 1e-2f);
    free(dq); free(dk); free(dv); free(c.q); free(c.k); free(c.v); free(c.out); free(c.lse); free(c.r);
    return ok;
}

TEST model_attention_backward_finite_differences(void) {
    ASSERT(attention_grad_case(5));
    ASSERT(attention_grad_case(17));
    PASS();
}

/* Double reference of the backward (training shapes, n = T keys): with
   P = softmax(scale Q K^T) causal, dV = P^T dO, dS = P * (dO V^T - rowsum(dO * O)),
   dQ = scale dS K, dK = scale dS^T Q, summed over the query heads of a kv head. */
static void attention_backward_ref(double *dq, double *dk, double *dv, const float *dout,
                                   const float *q, const float *k, const float *v, int B, int T,
                                   int NH, int KVH, int HS) {
    int b, h, t, j, d, QD = NH * HS, KVD = KVH * HS;
    double scale = 1.0 / sqrt((double)HS);
    double *P = (double *)malloc(sizeof(double) * (size_t)T * T), *o = (double *)malloc(sizeof(double) * (size_t)HS);
    memset(dk, 0, sizeof(double) * (size_t)B * T * KVD);
    memset(dv, 0, sizeof(double) * (size_t)B * T * KVD);
    for (b = 0; b < B; b++)
        for (h = 0; h < NH; h++) {
            int kh = h / (NH / KVH);
#define Q_(t, d) ((double)q[((size_t)b * T + (t)) * QD + h * HS + (d)])
#define O_(t, d) ((double)dout[((size_t)b * T + (t)) * QD + h * HS + (d)])
#define K_(j, d) ((double)k[((size_t)b * T + (j)) * KVD + kh * HS + (d)])
#define V_(j, d) ((double)v[((size_t)b * T + (j)) * KVD + kh * HS + (d)])
            for (t = 0; t < T; t++) {
                double mx = -1e300, sum = 0, D = 0;
                for (j = 0; j <= t; j++) {
                    double s = 0;
                    for (d = 0; d < HS; d++) s += Q_(t, d) * K_(j, d);
                    P[t * T + j] = s * scale;
                    mx = P[t * T + j] > mx ? P[t * T + j] : mx;
                }
                for (j = 0; j <= t; j++) { P[t * T + j] = exp(P[t * T + j] - mx); sum += P[t * T + j]; }
                for (j = 0; j <= t; j++) P[t * T + j] /= sum;
                for (d = 0; d < HS; d++) {
                    o[d] = 0;
                    for (j = 0; j <= t; j++) o[d] += P[t * T + j] * V_(j, d);
                    D += O_(t, d) * o[d];
                }
                for (d = 0; d < HS; d++) dq[((size_t)b * T + t) * QD + h * HS + d] = 0;
                for (j = 0; j <= t; j++) {
                    double dp = 0, ds;
                    for (d = 0; d < HS; d++) dp += O_(t, d) * V_(j, d);
                    ds = P[t * T + j] * (dp - D) * scale;
                    for (d = 0; d < HS; d++) {
                        dq[((size_t)b * T + t) * QD + h * HS + d] += ds * K_(j, d);
                        dk[((size_t)b * T + j) * KVD + kh * HS + d] += ds * Q_(t, d);
                        dv[((size_t)b * T + j) * KVD + kh * HS + d] += P[t * T + j] * O_(t, d);
                    }
                }
            }
#undef Q_
#undef O_
#undef K_
#undef V_
        }
    free(P); free(o);
}

static int close_to(const char *what, const float *x, const double *ref, size_t n, double tol) {
    size_t i;
    double scale = 0;
    for (i = 0; i < n; i++) scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
    for (i = 0; i < n; i++)
        if (!(fabs(x[i] - ref[i]) <= tol * (scale + 1e-30))) {
            printf("\n  %s[%zu]: %.9g vs reference %.9g (largest %.3g)\n", what, i, (double)x[i], ref[i], scale);
            return 0;
        }
    return 1;
}

/* Forward and backward of each path against the double references: the
   tiles (16 <= T <= 256), sgemm (T > 256) and plain loops (forward, T < 16),
   with head sizes that the tiles use in place (16, 32) and padded (4, 24),
   and groups of 1, 2 and 4 query heads per kv head. */
static int attention_path_case(int B, int T, int NH, int KVH, int HS) {
    const hbpo_backend *be = hbpo_backend_cpu();
    int QD = NH * HS, KVD = KVH * HS, b, *pos0 = (int *)calloc((size_t)B, sizeof(int)), ok;
    size_t nq = (size_t)B * T * QD, nk = (size_t)B * T * KVD;
    float *q = falloc(nq), *k = falloc(nk), *v = falloc(nk), *out = falloc(nq), *dout = falloc(nq);
    float *lse = falloc((size_t)B * NH * T), *dq = falloc(nq), *dk = falloc(nk), *dv = falloc(nk);
    double *ref = (double *)malloc(sizeof(double) * nq), *rq = (double *)malloc(sizeof(double) * nq);
    double *rk = (double *)malloc(sizeof(double) * nk), *rv = (double *)malloc(sizeof(double) * nk);
    hbpo_rng rng;
    char what[64];
    hbpo_rng_seed(&rng, 11 + (uint64_t)T * 7 + (uint64_t)HS);
    fill_normal(q, nq, 1.5f, &rng); fill_normal(k, nk, 1.5f, &rng);
    fill_normal(v, nk, 1, &rng); fill_normal(dout, nq, 1, &rng);
    for (b = 0; b < (int)nk; b++) dk[b] = dv[b] = NAN; /* every element must be written */
    ok = be->attention_forward(out, lse, q, k, v, pos0, NULL, B, T, T, NH, KVH, HS) == 0 &&
         be->attention_backward(dq, dk, dv, dout, q, k, v, out, lse, B, T, NH, KVH, HS) == 0;
    attention_ref(ref, q, k, v, pos0, B, T, T, NH, KVH, HS);
    attention_backward_ref(rq, rk, rv, dout, q, k, v, B, T, NH, KVH, HS);
    snprintf(what, sizeof what, "T=%d NH=%d KVH=%d HS=%d out", T, NH, KVH, HS);
    ok = ok && close_to(what, out, ref, nq, 1e-5);
    snprintf(what, sizeof what, "T=%d NH=%d KVH=%d HS=%d dq", T, NH, KVH, HS);
    ok = ok && close_to(what, dq, rq, nq, 1e-4);
    snprintf(what, sizeof what, "T=%d NH=%d KVH=%d HS=%d dk", T, NH, KVH, HS);
    ok = ok && close_to(what, dk, rk, nk, 1e-4);
    snprintf(what, sizeof what, "T=%d NH=%d KVH=%d HS=%d dv", T, NH, KVH, HS);
    ok = ok && close_to(what, dv, rv, nk, 1e-4);
    free(pos0); free(q); free(k); free(v); free(out); free(dout); free(lse); free(dq); free(dk); free(dv);
    free(ref); free(rq); free(rk); free(rv);
    return ok;
}

TEST model_attention_paths_match_reference(void) {
    ASSERT(attention_path_case(2, 7, 4, 2, 4));    /* loop forward, tile backward */
    ASSERT(attention_path_case(2, 16, 4, 2, 32));  /* tiles, operands in place */
    ASSERT(attention_path_case(3, 37, 4, 1, 16));  /* tiles, a group of 4 */
    ASSERT(attention_path_case(2, 70, 2, 2, 24));  /* tiles, padded heads, no grouping */
    ASSERT(attention_path_case(1, 256, 2, 1, 4));  /* the longest on the tiles */
    ASSERT(attention_path_case(1, 257, 2, 1, 32)); /* the shortest on sgemm */
    ASSERT(attention_path_case(1, 300, 4, 2, 4));
    PASS();
}

/* --- SwiGLU, log-probabilities, embedding --------------------------------------- */

typedef struct { const hbpo_backend *be; float *h, *g, *u, *r; size_t n; } swi_ctx;
static double swi_loss(void *p) {
    swi_ctx *c = (swi_ctx *)p;
    c->be->swiglu_forward(c->h, c->g, c->u, c->n);
    return dot_d(c->h, c->r, c->n);
}

TEST model_swiglu_forward_backward(void) {
    swi_ctx c;
    float h[20], g[20], u[20], r[20], dg[20], du[20];
    hbpo_rng rng;
    int i;
    c.be = hbpo_backend_cpu(); c.h = h; c.g = g; c.u = u; c.r = r; c.n = 20;
    hbpo_rng_seed(&rng, 6);
    fill_normal(g, 20, 3, &rng); fill_normal(u, 20, 1, &rng); fill_normal(r, 20, 1, &rng);
    swi_loss(&c);
    for (i = 0; i < 20; i++) ASSERT_NEAR(g[i] / (1 + exp(-(double)g[i])) * u[i], h[i], 1e-5);
    c.be->swiglu_backward(dg, du, r, g, u, 20);
    ASSERT(fd_check("dgate", g, 20, dg, swi_loss, &c, 1e-2f));
    ASSERT(fd_check("dup", u, 20, du, swi_loss, &c, 1e-2f));
    PASS();
}

typedef struct { const hbpo_backend *be; float *logits, *logp, *r; int *tg; int N, V; float it; } lp_ctx;
static double lp_loss(void *p) {
    lp_ctx *c = (lp_ctx *)p;
    c->be->logprob_forward(c->logp, NULL, c->logits, c->tg, c->N, c->V, c->it);
    return dot_d(c->logp, c->r, (size_t)c->N);
}

TEST model_logprob_entropy_and_backward(void) {
    enum { N = 3, V = 11 };
    lp_ctx c;
    float logits[N * V], logp[N], ent[N], r[N] = {1.0f, -0.5f, 2.0f}, dl[N * V];
    int tg[N] = {0, 7, 10}, i, j;
    hbpo_rng rng;
    c.be = hbpo_backend_cpu(); c.logits = logits; c.logp = logp; c.r = r; c.tg = tg;
    c.N = N; c.V = V; c.it = 1.0f / 0.7f;
    hbpo_rng_seed(&rng, 7);
    fill_normal(logits, N * V, 3, &rng);
    c.be->logprob_forward(logp, ent, logits, tg, N, V, c.it);
    for (i = 0; i < N; i++) {
        double mx = -1e300, sum = 0, h = 0;
        for (j = 0; j < V; j++) mx = logits[i * V + j] * c.it > mx ? logits[i * V + j] * c.it : mx;
        for (j = 0; j < V; j++) sum += exp(logits[i * V + j] * c.it - mx);
        for (j = 0; j < V; j++) {
            double lpj = logits[i * V + j] * c.it - mx - log(sum);
            h -= exp(lpj) * lpj;
        }
        ASSERT_NEAR(logits[i * V + tg[i]] * c.it - mx - log(sum), logp[i], 1e-5);
        ASSERT_NEAR(h, ent[i], 1e-5);
    }
    memcpy(dl, logits, sizeof logits);
    c.be->logprob_backward(dl, tg, r, N, V, c.it);
    ASSERT(fd_check("dlogits", logits, N * V, dl, lp_loss, &c, 1e-2f));
    PASS();
}

TEST model_embedding_backward_sums_repeated_tokens(void) {
    const hbpo_backend *be = hbpo_backend_cpu();
    float wte[4 * 3] = {0}, out[5 * 3], dout[5 * 3], dwte[4 * 3] = {0};
    int tok[5] = {2, 0, 2, 3, 2}, i, c;
    for (i = 0; i < 12; i++) wte[i] = (float)i;
    for (i = 0; i < 15; i++) dout[i] = (float)(i + 1);
    be->embedding_forward(out, tok, wte, 5, 3);
    for (i = 0; i < 5; i++)
        for (c = 0; c < 3; c++) ASSERT_EQ_FMT(wte[tok[i] * 3 + c], out[i * 3 + c], "%g");
    be->embedding_backward(dwte, dout, tok, 5, 3);
    for (c = 0; c < 3; c++) {
        ASSERT_EQ_FMT(dout[3 + c], dwte[0 + c], "%g");
        ASSERT_EQ_FMT(0.0f, dwte[3 + c], "%g");
        ASSERT_EQ_FMT(dout[0 + c] + dout[6 + c] + dout[12 + c], dwte[6 + c], "%g");
        ASSERT_EQ_FMT(dout[9 + c], dwte[9 + c], "%g");
    }
    PASS();
}

/* --- the whole model ------------------------------------------------------------ */

static hbpo_model_config tiny_config(int tied, int qwen3) {
    hbpo_model_config c = hbpo_model_config_default();
    c.vocab_size = 23;
    c.hidden_size = 16;
    c.intermediate_size = 24;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.head_dim = 4;
    c.max_position_embeddings = 64;
    c.rope_theta = 777.0f;
    c.initializer_range = 0.3f; /* large, so that every path carries signal */
    c.tie_word_embeddings = tied;
    c.attention_bias = !qwen3;
    c.qk_norm = qwen3;
    return c;
}

/* Norm weights and biases start at 1 and 0; perturb them so their gradients
   and the code paths that read them are exercised. */
static void perturb(hbpo_model *m, uint64_t seed) {
    hbpo_rng rng;
    size_t i;
    hbpo_rng_seed(&rng, seed);
    for (i = 0; i < m->n_params; i++) m->params[i] += 0.1f * hbpo_rng_normal(&rng);
}

typedef struct {
    hbpo_model *m;
    const int *in, *tg;
    const float *mask, *w;
    int B, T;
    float temp;
    float *logp;
} model_ctx;

static double model_loss(void *p) {
    model_ctx *c = (model_ctx *)p;
    hbpo_model_forward(c->m, c->in, c->tg, c->mask, c->B, c->T, c->temp, c->logp, NULL);
    return dot_d(c->logp, c->w, (size_t)c->B * c->T);
}

/* Every tensor's gradient, at 8 elements spread over it, against central
   differences of the loss (steps 1e-2 and 5e-3, Richardson-extrapolated). Elements, not a random direction:
   moving all of a tensor at once with a usable step leaves the region where
   the loss is near-quadratic (Qwen3's per-head norms over HS = 4). */
static int model_grad_case(int tied, int qwen3, float temp) {
    enum { B = 2, T = 7 };
    hbpo_model_config cfg = tiny_config(tied, qwen3);
    hbpo_model m;
    model_ctx c;
    int in[B * T], tg[B * T], ti, ok = 1;
    float mask[B * T], w[B * T], logp[B * T];
    hbpo_rng rng;
    size_t i;
    if (hbpo_model_create(&m, &cfg, NULL) != 0) return 0;
    hbpo_model_init_random(&m, 11);
    perturb(&m, 12);
    hbpo_rng_seed(&rng, 13);
    for (i = 0; i < B * T; i++) {
        in[i] = (int)(hbpo_rng_u32(&rng) % 23);
        tg[i] = (int)(hbpo_rng_u32(&rng) % 23);
        mask[i] = (i % T) >= 2 ? 1.0f : 0.0f; /* a two-token prompt, excluded */
        w[i] = mask[i] * hbpo_rng_normal(&rng);
    }
    c.m = &m; c.in = in; c.tg = tg; c.mask = mask; c.w = w; c.B = B; c.T = T; c.temp = temp; c.logp = logp;
    hbpo_model_zero_grad(&m);
    model_loss(&c);
    for (i = 0; i < B * T; i++) if (mask[i] == 0.0f && logp[i] != 0.0f) ok = 0;
    if (hbpo_model_backward(&m, w) != 0) ok = 0;
    for (ti = 0; ti < m.n_tensors; ti++) {
        const hbpo_tensor_info *t = &m.tensors[ti];
        float *p = m.params + t->offset, *g = m.grads + t->offset;
        size_t e;
        for (e = 0; e < 8; e++) {
            size_t j = e * (t->numel - 1) / 7;
            float keep = p[j], eps = 1e-2f;
            double d[2], num;
            int k;
            for (k = 0; k < 2; k++) {
                double lp, lm;
                p[j] = keep + eps; lp = model_loss(&c);
                p[j] = keep - eps; lm = model_loss(&c);
                d[k] = (lp - lm) / (2.0 * eps);
                eps /= 2;
            }
            p[j] = keep;
            num = (4.0 * d[1] - d[0]) / 3.0; /* Richardson: the eps^2 term cancels */
            if (!isfinite(g[j]) || fabs(num - g[j]) > 2e-3 + 2e-2 * fabs(num)) {
                printf("\n  %s[%zu] (tied %d, qwen3 %d, T %.2f): finite difference %.6g, backward %.6g\n",
                       t->name, j, tied, qwen3, (double)temp, num, (double)g[j]);
                ok = 0;
            }
        }
    }
    hbpo_model_free(&m);
    return ok;
}

TEST model_gradients_finite_differences(void) {
    ASSERT(model_grad_case(0, 0, 1.0f));  /* Qwen2, untied */
    ASSERT(model_grad_case(1, 0, 0.7f));  /* Qwen2, tied, temperature */
    ASSERT(model_grad_case(0, 1, 1.0f));  /* Qwen3: q/k norms, no biases */
    PASS();
}

TEST model_forward_properties(void) {
    enum { B = 3, T = 6 };
    hbpo_model_config cfg = tiny_config(0, 0);
    hbpo_model m;
    int in[B * T], tg[B * T], i;
    float mask[B * T], logp[B * T], ent[B * T], lp1[T], ent1[T];
    hbpo_rng rng;
    ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
    hbpo_model_init_random(&m, 21);
    hbpo_rng_seed(&rng, 22);
    for (i = 0; i < B * T; i++) {
        in[i] = (int)(hbpo_rng_u32(&rng) % 23);
        tg[i] = (int)(hbpo_rng_u32(&rng) % 23);
        mask[i] = 1.0f;
    }
    ASSERT_EQ(0, hbpo_model_forward(&m, in, tg, mask, B, T, 1.0f, logp, ent));
    for (i = 0; i < B * T; i++) {
        ASSERT_IN_RANGE(-50.0, logp[i], 0.0);
        ASSERT_IN_RANGE(0.0, ent[i], log(23.0) + 1e-5);
    }
    /* A sequence's results do not depend on the rest of the batch. */
    ASSERT_EQ(0, hbpo_model_forward(&m, in + T, tg + T, mask, 1, T, 1.0f, lp1, ent1));
    ASSERT_TENSOR_NEAR(logp + T, lp1, T, 1e-5, 1e-5);
    ASSERT_TENSOR_NEAR(ent + T, ent1, T, 1e-5, 1e-5);
    /* logp from the forward equals log_softmax of hbpo_model_logits. */
    {
        float *logits = falloc((size_t)B * T * 23);
        ASSERT_EQ(0, hbpo_model_logits(&m, in, B, T, logits));
        for (i = 0; i < B * T; i++) {
            double mx = -1e300, s = 0;
            int j;
            for (j = 0; j < 23; j++) mx = logits[i * 23 + j] > mx ? logits[i * 23 + j] : mx;
            for (j = 0; j < 23; j++) s += exp(logits[i * 23 + j] - mx);
            ASSERT_NEAR(logits[i * 23 + tg[i]] - mx - log(s), logp[i], 1e-5);
        }
        free(logits);
    }
    hbpo_model_free(&m);
    PASS();
}

/* Accumulating two micro-batches gives the sum of their gradients, and
   cross-entropy is the backward of -mean(logp). */
TEST model_grad_accumulation_and_cross_entropy(void) {
    enum { B = 2, T = 5, N = B * T };
    hbpo_model_config cfg = tiny_config(1, 0);
    hbpo_model m;
    int in[N], tg[N], i;
    float mask[N], loss, logp[N], dl[N], *g1, *g2;
    hbpo_rng rng;
    double mean = 0;
    ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
    hbpo_model_init_random(&m, 31);
    hbpo_rng_seed(&rng, 32);
    for (i = 0; i < N; i++) {
        in[i] = (int)(hbpo_rng_u32(&rng) % 23);
        tg[i] = (int)(hbpo_rng_u32(&rng) % 23);
        mask[i] = i % 3 ? 1.0f : 0.0f;
    }
    g1 = falloc(m.n_params); g2 = falloc(m.n_params);
    /* separately: batch A (B = 2) then batch B (its first sequence again, B = 1) */
    ASSERT_EQ(0, hbpo_model_zero_grad(&m));
    ASSERT_EQ(0, hbpo_model_cross_entropy(&m, in, tg, mask, B, T, 0.5f, &loss));
    memcpy(g1, m.grads, sizeof(float) * m.n_params);
    ASSERT_EQ(0, hbpo_model_zero_grad(&m));
    ASSERT_EQ(0, hbpo_model_cross_entropy(&m, in, tg, mask, 1, T, 0.25f, NULL));
    for (i = 0; i < (int)m.n_params; i++) g1[i] += m.grads[i];
    ASSERT_EQ(0, hbpo_model_zero_grad(&m));
    ASSERT_EQ(0, hbpo_model_cross_entropy(&m, in, tg, mask, B, T, 0.5f, NULL));
    ASSERT_EQ(0, hbpo_model_cross_entropy(&m, in, tg, mask, 1, T, 0.25f, NULL));
    ASSERT_TENSOR_NEAR(g1, m.grads, m.n_params, 1e-6, 1e-5);
    /* the loss is -mean logp, and its gradient is backward(-1/count) */
    ASSERT_EQ(0, hbpo_model_forward(&m, in, tg, mask, B, T, 1.0f, logp, NULL));
    {
        int count = 0;
        for (i = 0; i < N; i++) if (mask[i] != 0.0f) { mean -= logp[i]; count++; }
        mean /= count;
        for (i = 0; i < N; i++) dl[i] = mask[i] != 0.0f ? -0.5f / (float)count : 0.0f;
    }
    ASSERT_NEAR(mean, loss, 1e-5);
    ASSERT_EQ(0, hbpo_model_zero_grad(&m));
    ASSERT_EQ(0, hbpo_model_backward(&m, dl));
    memcpy(g2, m.grads, sizeof(float) * m.n_params);
    ASSERT_EQ(0, hbpo_model_zero_grad(&m));
    ASSERT_EQ(0, hbpo_model_cross_entropy(&m, in, tg, mask, B, T, 0.5f, NULL));
    ASSERT_TENSOR_NEAR(g2, m.grads, m.n_params, 1e-7, 1e-6);
    free(g1); free(g2);
    hbpo_model_free(&m);
    PASS();
}

/* AdamW with clipping against the torch.optim.AdamW recurrence in double. */
TEST model_adamw_step_matches_torch_recurrence(void) {
    hbpo_model_config cfg = tiny_config(0, 0);
    hbpo_adamw_config o = hbpo_adamw_config_default();
    hbpo_model m;
    double *p, *mm, *vv, norm;
    float *g, gn;
    size_t i, n;
    int step;
    hbpo_rng rng;
    ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
    hbpo_model_init_random(&m, 41);
    n = m.n_params;
    p = (double *)malloc(sizeof(double) * n); mm = (double *)calloc(n, sizeof(double));
    vv = (double *)calloc(n, sizeof(double)); g = falloc(n);
    for (i = 0; i < n; i++) p[i] = m.params[i];
    o.lr = 1e-2f; o.weight_decay = 0.1f; o.max_grad_norm = 1.0f;
    hbpo_rng_seed(&rng, 42);
    for (step = 1; step <= 3; step++) {
        double ss = 0, clip;
        ASSERT_EQ(0, hbpo_model_zero_grad(&m));
        fill_normal(g, n, step == 2 ? 1e-4f : 0.05f, &rng); /* step 2: below the clip */
        memcpy(m.grads, g, sizeof(float) * n);
        for (i = 0; i < n; i++) ss += (double)g[i] * g[i];
        norm = sqrt(ss);
        clip = 1.0 / (norm + 1e-6) < 1.0 ? 1.0 / (norm + 1e-6) : 1.0;
        ASSERT_EQ(0, hbpo_model_step(&m, &o, &gn));
        ASSERT_NEAR(norm, gn, 1e-5 * norm);
        for (i = 0; i < n; i++) {
            double gi = g[i] * clip, bc1 = 1 - pow(0.9, step), bc2 = 1 - pow(0.999, step);
            p[i] *= 1 - (double)o.lr * o.weight_decay;
            mm[i] = 0.9 * mm[i] + 0.1 * gi;
            vv[i] = 0.999 * vv[i] + 0.001 * gi * gi;
            p[i] -= o.lr / bc1 * mm[i] / (sqrt(vv[i]) / sqrt(bc2) + 1e-8);
        }
        for (i = 0; i < n; i++)
            if (!(fabs(p[i] - m.params[i]) <= 1e-6 + 1e-5 * fabs(p[i]))) {
                printf("\n  step %d param %zu: %.9g vs %.9g\n", step, i, p[i], (double)m.params[i]);
                FAIL();
            }
        for (i = 0; i < n; i++) ASSERT_EQ_FMT(0.0f, m.grads[i], "%g"); /* zeroed after the step */
    }
    ASSERT_EQ(3, m.step);
    /* a non-finite gradient skips the update */
    memcpy(g, m.params, sizeof(float) * n);
    m.grads[5] = NAN;
    ASSERT_EQ(-1, hbpo_model_step(&m, &o, &gn));
    ASSERT(strstr(hbpo_last_error(), "skipped") != NULL);
    ASSERT_EQ(0, memcmp(g, m.params, sizeof(float) * n));
    /* a new stage forgets the moments and the step count */
    hbpo_model_reset_optimizer(&m);
    ASSERT_EQ(0, m.step);
    for (i = 0; i < n; i++) { ASSERT_EQ_FMT(0.0f, m.m[i], "%g"); ASSERT_EQ_FMT(0.0f, m.v[i], "%g"); }
    free(p); free(mm); free(vv); free(g);
    hbpo_model_free(&m);
    PASS();
}

/* Same seed, same model, same training: bit for bit. */
TEST model_training_is_deterministic(void) {
    hbpo_model_config cfg = tiny_config(0, 0);
    hbpo_adamw_config o = hbpo_adamw_config_default();
    hbpo_model a, b;
    int in[12], tg[12], i, run;
    float mask[12];
    hbpo_model *ms[2];
    for (i = 0; i < 12; i++) { in[i] = (i * 7) % 23; tg[i] = (i * 5 + 1) % 23; mask[i] = 1.0f; }
    ASSERT_EQ(0, hbpo_model_create(&a, &cfg, NULL));
    ASSERT_EQ(0, hbpo_model_create(&b, &cfg, NULL));
    ms[0] = &a; ms[1] = &b;
    o.lr = 1e-3f;
    for (run = 0; run < 2; run++) {
        hbpo_model_init_random(ms[run], 99);
        for (i = 0; i < 3; i++) {
            ASSERT_EQ(0, hbpo_model_cross_entropy(ms[run], in, tg, mask, 2, 6, 1.0f, NULL));
            ASSERT_EQ(0, hbpo_model_step(ms[run], &o, NULL));
        }
    }
    ASSERT_EQ(0, memcmp(a.params, b.params, sizeof(float) * a.n_params));
    hbpo_model_free(&a);
    hbpo_model_free(&b);
    PASS();
}

/* The same bits on any number of threads (OpenMP builds): products are split
   in blocks that follow from their shapes, attention runs per (sequence, kv
   head), and every reduction has a fixed order. The demo's model on 4 x 96 tokens is
   large enough that its products are split and its attention runs on the
   tiles; two steps of training on 1, 2 and 3 threads must give the same
   weights. */
TEST model_training_same_bits_on_any_thread_count(void) {
    hbpo_model_config cfg = hbpo_synth_model_config();
    hbpo_adamw_config o = hbpo_adamw_config_default();
    enum { B = 4, T = 96 };
    static int in[B * T], tg[B * T];
    static float mask[B * T];
    float *first = NULL;
    int i, threads;
#if !defined(_OPENMP) && defined(HBPO_USE_OPENBLAS)
    SKIPm("built without OpenMP: OpenBLAS splits the products with its own threads");
#endif
    for (i = 0; i < B * T; i++) {
        in[i] = (i * 37 + 11) % cfg.vocab_size;
        tg[i] = (i * 53 + 7) % cfg.vocab_size;
        mask[i] = i % T > 10 ? 1.0f : 0.0f;
    }
    o.lr = 1e-3f;
    for (threads = 1; threads <= 3; threads++) {
        hbpo_model m;
        ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
        hbpo_model_init_random(&m, 5);
        hbpo_set_threads(threads);
        for (i = 0; i < 2; i++) {
            ASSERT_EQ(0, hbpo_model_cross_entropy(&m, in, tg, mask, B, T, 1.0f, NULL));
            ASSERT_EQ(0, hbpo_model_step(&m, &o, NULL));
        }
        hbpo_set_threads(0);
        if (!first) {
            first = (float *)malloc(sizeof(float) * m.n_params);
            ASSERT(first != NULL);
            memcpy(first, m.params, sizeof(float) * m.n_params);
        } else if (memcmp(first, m.params, sizeof(float) * m.n_params) != 0) {
            printf("\n  %d threads: weights differ from 1 thread's\n", threads);
            hbpo_model_free(&m);
            free(first);
            FAIL();
        }
        hbpo_model_free(&m);
    }
    free(first);
    PASS();
}

/* The default thread count leaves a core to each runnable task of another
   process (hbpo_threads_free). */
TEST model_threads_fit_the_load(void) {
    ASSERT_EQ(2, hbpo_threads_free(2, 0));   /* idle: all cores */
    ASSERT_EQ(1, hbpo_threads_free(2, 1));   /* a busy loop beside us: one thread */
    ASSERT_EQ(1, hbpo_threads_free(2, 6));   /* never fewer than one */
    ASSERT_EQ(13, hbpo_threads_free(16, 3)); /* three other tasks */
    ASSERT_EQ(4, hbpo_threads_free(4, -1));  /* never more than asked */
    PASS();
}

TEST model_init_random_statistics(void) {
    hbpo_model_config cfg = hbpo_model_config_default();
    const hbpo_tensor_info *t;
    hbpo_model m;
    double s = 0, s2 = 0;
    size_t i;
    cfg.num_hidden_layers = 1;
    ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
    hbpo_model_init_random(&m, 5);
    t = hbpo_model_tensor(&m, "model.layers.0.mlp.up_proj.weight");
    ASSERT(t != NULL);
    ASSERT_EQ(1408, t->shape[0]);
    ASSERT_EQ(512, t->shape[1]);
    for (i = 0; i < t->numel; i++) { s += m.params[t->offset + i]; s2 += (double)m.params[t->offset + i] * m.params[t->offset + i]; }
    ASSERT_NEAR(0.0, s / t->numel, 1e-3);
    ASSERT_NEAR(0.02, sqrt(s2 / t->numel), 2e-4);
    t = hbpo_model_tensor(&m, "model.layers.0.self_attn.k_proj.bias");
    ASSERT(t != NULL && t->numel == 128);
    for (i = 0; i < t->numel; i++) ASSERT_EQ_FMT(0.0f, m.params[t->offset + i], "%g");
    t = hbpo_model_tensor(&m, "model.norm.weight");
    ASSERT(t != NULL);
    for (i = 0; i < t->numel; i++) ASSERT_EQ_FMT(1.0f, m.params[t->offset + i], "%g");
    ASSERT(hbpo_model_tensor(&m, "lm_head.weight") == NULL); /* tied */
    ASSERT(hbpo_model_tensor(&m, "model.layers.1.mlp.up_proj.weight") == NULL);
    /* the parameter count of the benchmark shape, one layer */
    ASSERT_EQ((size_t)4096 * 512 + 512 * 2 + (512 * 512 * 2 + 512 + 2 * (128 * 512 + 128)) +
                  3 * 512 * 1408 + 512,
              m.n_params);
    /* and the 8-layer reference shape of the benchmark: 24.7M */
    cfg.num_hidden_layers = 8;
    hbpo_model_free(&m);
    ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
    ASSERT_EQ(24656384, m.n_params); /* "24.7M" in the issue */
    hbpo_model_free(&m);
    PASS();
}

TEST model_bad_input(void) {
    hbpo_model_config cfg = tiny_config(0, 0), bad;
    hbpo_model m;
    int in[4] = {1, 2, 3, 4}, tg[4] = {2, 3, 4, 5};
    float mask[4] = {1, 1, 1, 1}, lp[4];
    bad = cfg; bad.num_key_value_heads = 3;
    ASSERT_EQ(-1, hbpo_model_create(&m, &bad, NULL));
    ASSERT(strstr(hbpo_last_error(), "num_key_value_heads") != NULL);
    bad = cfg; bad.head_dim = 5;
    ASSERT_EQ(-1, hbpo_model_create(&m, &bad, NULL));
    ASSERT(strstr(hbpo_last_error(), "head_dim") != NULL);
    bad = cfg; bad.vocab_size = 0;
    ASSERT_EQ(-1, hbpo_model_create(&m, &bad, NULL));
    bad = cfg; bad.rms_norm_eps = -1;
    ASSERT_EQ(-1, hbpo_model_create(&m, &bad, NULL));
    ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
    ASSERT_EQ(-1, hbpo_model_backward(&m, lp));
    ASSERT(strstr(hbpo_last_error(), "forward first") != NULL);
    in[2] = 23;
    ASSERT_EQ(-1, hbpo_model_forward(&m, in, tg, mask, 1, 4, 1.0f, lp, NULL));
    ASSERT(strstr(hbpo_last_error(), "input token 23") != NULL);
    in[2] = 3; tg[1] = -1;
    ASSERT_EQ(-1, hbpo_model_forward(&m, in, tg, mask, 1, 4, 1.0f, lp, NULL));
    mask[1] = 0.0f; /* a masked-out target is never read */
    ASSERT_EQ(0, hbpo_model_forward(&m, in, tg, mask, 1, 4, 1.0f, lp, NULL));
    ASSERT_EQ(-1, hbpo_model_forward(&m, in, tg, mask, 1, 4, 0.0f, lp, NULL));
    ASSERT(strstr(hbpo_last_error(), "temperature") != NULL);
    ASSERT_EQ(-1, hbpo_model_forward(&m, in, tg, mask, 1, 65, 1.0f, lp, NULL));
    ASSERT(strstr(hbpo_last_error(), "max_position_embeddings") != NULL);
    hbpo_model_free(&m);
    hbpo_model_free(&m); /* twice is fine */
    PASS();
}

SUITE(model_suite) {
    RUN_TEST(model_matmul_forward_backward);
    RUN_TEST(model_rmsnorm_forward_backward);
    RUN_TEST(model_rope_rotates_like_transformers);
    RUN_TEST(model_attention_matches_reference);
    RUN_TEST(model_attention_backward_finite_differences);
    RUN_TEST(model_attention_paths_match_reference);
    RUN_TEST(model_swiglu_forward_backward);
    RUN_TEST(model_logprob_entropy_and_backward);
    RUN_TEST(model_embedding_backward_sums_repeated_tokens);
    RUN_TEST(model_gradients_finite_differences);
    RUN_TEST(model_forward_properties);
    RUN_TEST(model_grad_accumulation_and_cross_entropy);
    RUN_TEST(model_adamw_step_matches_torch_recurrence);
    RUN_TEST(model_training_is_deterministic);
    RUN_TEST(model_training_same_bits_on_any_thread_count);
    RUN_TEST(model_threads_fit_the_load);
    RUN_TEST(model_init_random_statistics);
    RUN_TEST(model_bad_input);
}
