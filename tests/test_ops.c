/* Random numbers and the matrix product.

   RNG: the stream is pinned by SplitMix64's published test vectors (seed
   1234567 from the reference splitmix64.c / Java's SplittableRandom, and
   seed 0) and by values for seed 42 computed with an independent Python
   implementation (integers mod 2^64, math.log/math.cos in double, rounded to
   float). Moments are checked on 200k samples: fixed by the seed, so the
   loose bounds are a guard against a broken transform, not a coin toss.

   sgemm: every case is compared with a double-precision naive product. An
   element passes when |got - exp| <= 1e-5 * (|alpha| sum_k |a_ik b_kj| +
   |beta c_ij|), the forward-error bound of a float dot product of length
   <= 131 (K * 2^-24 ~ 8e-6) with margin: it scales with the terms summed, so
   cancellation cannot make a correct result fail. Padding in A and B (columns
   between the width and the leading dimension) holds NaN, so reading it
   fails the test; padding in C and a guard tail hold a sentinel that must
   survive untouched (the ggml backend-test habit). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hbpo.h"
#include "hbpo_test.h"

/* --- RNG: pinned values ------------------------------------------------------- */

TEST rng_splitmix64_published_vectors(void) {
    /* splitmix64.c, seed 1234567: 6457827717110365317, 3203168211198807973,
       9817491932198370423; u32 is the high half of each. */
    static const uint32_t want[3] = {1503580183u, 745795716u, 2285812965u};
    hbpo_rng r;
    uint32_t u;
    int i;
    hbpo_rng_seed(&r, 1234567);
    for (i = 0; i < 3; i++) {
        u = hbpo_rng_u32(&r); /* ASSERT_EQ_FMT evaluates `got` again to print it */
        ASSERT_EQ_FMT(want[i], u, "%u");
    }
    /* seed 0: first output 0xe220a8397b1dcdaf. */
    hbpo_rng_seed(&r, 0);
    u = hbpo_rng_u32(&r);
    ASSERT_EQ_FMT(0xe220a839u, u, "%u");
    PASS();
}

TEST rng_seed42_u32_pinned(void) {
    static const uint32_t want[5] = {3184996902u, 686809907u, 1196582743u, 1478287871u,
                                     163338330u};
    hbpo_rng r;
    int i;
    hbpo_rng_seed(&r, 42);
    for (i = 0; i < 5; i++) {
        uint32_t u = hbpo_rng_u32(&r);
        ASSERT_EQ_FMT(want[i], u, "%u");
    }
    PASS();
}

TEST rng_seed42_uniform_and_normal_pinned(void) {
    /* Uniforms are exact (24-bit fractions); normals go through libm in double
       and are rounded to float, so 1e-6 absorbs a last-bit difference. */
    static const float u_want[4] = {0.7415648698806763f, 0.1599103808403015f,
                                    0.27860110998153687f, 0.34419065713882446f};
    static const float n_want[4] = {0.8822489976882935f, -0.45084959268569946f,
                                    0.18835251033306122f, 0.21958614885807037f};
    hbpo_rng r;
    int i;
    hbpo_rng_seed(&r, 42);
    for (i = 0; i < 4; i++) {
        float u = hbpo_rng_uniform(&r);
        ASSERT_EQ_FMT(u_want[i], u, "%.9g");
    }
    hbpo_rng_seed(&r, 42);
    for (i = 0; i < 4; i++) {
        float z = hbpo_rng_normal(&r);
        ASSERT_NEAR(n_want[i], z, 1e-6);
    }
    PASS();
}

/* --- RNG: streams -------------------------------------------------------------- */

TEST rng_same_seed_same_stream(void) {
    hbpo_rng a, b, c;
    int i;
    hbpo_rng_seed(&a, 7);
    hbpo_rng_seed(&b, 7);
    for (i = 0; i < 1000; i++) {
        uint32_t x = hbpo_rng_u32(&a), y = hbpo_rng_u32(&b);
        ASSERT_EQ_FMT(x, y, "%u");
    }
    c = a; /* the struct is the whole state: a copy continues identically */
    for (i = 0; i < 100; i++) {
        float x = hbpo_rng_normal(&a), y = hbpo_rng_normal(&c);
        ASSERT_EQ_FMT(x, y, "%.9g");
    }
    PASS();
}

TEST rng_different_seeds_differ(void) {
    hbpo_rng a, b;
    int i, same = 0;
    hbpo_rng_seed(&a, 1);
    hbpo_rng_seed(&b, 2);
    for (i = 0; i < 1000; i++) same += hbpo_rng_u32(&a) == hbpo_rng_u32(&b);
    ASSERT_EQ(0, same);
    PASS();
}

/* A normal consumes exactly two steps and caches nothing. */
TEST rng_normal_uses_two_steps(void) {
    hbpo_rng a, b;
    hbpo_rng_seed(&a, 99);
    b = a;
    (void)hbpo_rng_normal(&a);
    (void)hbpo_rng_u32(&b);
    (void)hbpo_rng_u32(&b);
    ASSERT(a.s == b.s);
    PASS();
}

/* The log guard at both ends. SplitMix64's output mix is a bijection with
   mix(0) = 0, so the state one Weyl step below 0 yields output 0 (uniform 0,
   u1 = 1, log 1 = 0); 0x31628af67b2131ab yields all ones (uniform 1 - 2^-24,
   u1 = 2^-24, the largest radius sqrt(48 ln 2) ~ 5.77), found by inverting the
   mix in Python. */
TEST rng_uniform_and_normal_extremes(void) {
    hbpo_rng r;
    float z;
    r.s = (uint64_t)0 - 0x9E3779B97F4A7C15ull;
    z = hbpo_rng_uniform(&r);
    ASSERT_EQ_FMT(0.0f, z, "%.9g");
    r.s = (uint64_t)0 - 0x9E3779B97F4A7C15ull;
    z = hbpo_rng_normal(&r);
    ASSERT_IN_RANGE(-0.0, z, 0.0);
    r.s = 0x31628af67b2131abull;
    z = hbpo_rng_uniform(&r);
    ASSERT_EQ_FMT(1.0f - 1.0f / 16777216.0f, z, "%.9g");
    r.s = 0x31628af67b2131abull;
    z = hbpo_rng_normal(&r);
    ASSERT_NEAR(0.0842835605f, z, 1e-6); /* 5.77 * cos(2 pi 0.75233) */
    PASS();
}

#define N_SAMPLES 200000

TEST rng_uniform_range_and_moments(void) {
    hbpo_rng r;
    int i;
    double sum = 0, sum2 = 0, lo = 1, hi = 0;
    hbpo_rng_seed(&r, 2024);
    for (i = 0; i < N_SAMPLES; i++) {
        float u = hbpo_rng_uniform(&r);
        if (!(u >= 0.0f && u < 1.0f)) HBPO_TEST__FAILF("sample %d: %.9g not in [0, 1)", i, u);
        /* a multiple of 2^-24 */
        ASSERT_EQ_FMT(0.0, fmod((double)u * 16777216.0, 1.0), "%g");
        sum += u; sum2 += (double)u * u;
        if (u < lo) lo = u;
        if (u > hi) hi = u;
    }
    sum /= N_SAMPLES;
    ASSERT_NEAR(0.5, sum, 0.005);                       /* std error 6.5e-4 */
    ASSERT_NEAR(1.0 / 12.0, sum2 / N_SAMPLES - sum * sum, 0.002);
    ASSERT_IN_RANGE(0.0, lo, 1e-4);
    ASSERT_IN_RANGE(1.0 - 1e-4, hi, 1.0);
    PASS();
}

TEST rng_normal_moments(void) {
    hbpo_rng r;
    int i, within1 = 0;
    double sum = 0, sum2 = 0, sum4 = 0;
    hbpo_rng_seed(&r, 2025);
    for (i = 0; i < N_SAMPLES; i++) {
        double z = hbpo_rng_normal(&r);
        ASSERT_IN_RANGE(-5.8, z, 5.8); /* finite, and within Box-Muller's reach */
        sum += z; sum2 += z * z; sum4 += z * z * z * z;
        within1 += fabs(z) < 1.0;
    }
    sum /= N_SAMPLES;
    ASSERT_NEAR(0.0, sum, 0.01);                        /* std error 2.2e-3 */
    ASSERT_NEAR(1.0, sum2 / N_SAMPLES - sum * sum, 0.02);
    ASSERT_NEAR(3.0, sum4 / N_SAMPLES, 0.1);            /* kurtosis of a normal */
    ASSERT_NEAR(0.6826895, (double)within1 / N_SAMPLES, 0.005);
    PASS();
}

/* --- sgemm: a checked case -------------------------------------------------------- */

#define GUARD 16               /* sentinel floats after every buffer */
#define SENTINEL 12345.0f

typedef struct {
    int ta, tb, M, N, K;
    int lda, ldb, ldc;         /* 0: the tight width */
    float alpha, beta;
    int c_nan;                 /* fill C with NaN (for beta == 0) */
} gemm_case;

/* rows x ld floats + GUARD: [0, width) uniform in [-1, 1), the rest pad. */
static float *gemm_buf(int rows, int width, int ld, hbpo_rng *r, float pad) {
    size_t n = (size_t)rows * ld + GUARD, i;
    float *p = (float *)malloc(n * sizeof *p);
    if (!p) return NULL;
    for (i = 0; i < n; i++) {
        int col = ld ? (int)(i % (size_t)ld) : 0;
        p[i] = (i < (size_t)rows * ld && col < width) ? 2.0f * hbpo_rng_uniform(r) - 1.0f : pad;
    }
    return p;
}

/* Runs one case against the double reference. 0 on success; otherwise 1 with
   an ASSERT_TENSOR_NEAR-style message (first bad index, values, max diff). */
static int gemm_run(const gemm_case *g, hbpo_rng *r, char *msg, size_t msglen) {
    static const char *names[4] = {"NN", "NT", "TN", "TT"};
    const char *name = names[g->ta * 2 + g->tb];
    int a_rows = g->ta ? g->K : g->M, a_w = g->ta ? g->M : g->K;
    int b_rows = g->tb ? g->N : g->K, b_w = g->tb ? g->K : g->N;
    int lda = g->lda ? g->lda : (a_w ? a_w : 1), ldb = g->ldb ? g->ldb : (b_w ? b_w : 1);
    int ldc = g->ldc ? g->ldc : (g->N ? g->N : 1);
    float *A = gemm_buf(a_rows, a_w, lda, r, NAN), *B = gemm_buf(b_rows, b_w, ldb, r, NAN);
    float *C = gemm_buf(g->M, g->N, ldc, r, SENTINEL), *C0 = NULL;
    size_t nc = (size_t)g->M * ldc + GUARD, i;
    int bad = 0, ii, j, k, bi = -1, bj = -1;
    double maxd = 0, be = 0, bg = 0, btol = 0;
    msg[0] = 0;
    if (!A || !B || !C || !(C0 = (float *)malloc(nc * sizeof *C0))) {
        snprintf(msg, msglen, "out of memory");
        bad = 1;
        goto done;
    }
    if (g->c_nan)
        for (ii = 0; ii < g->M; ii++)
            for (j = 0; j < g->N; j++) C[(size_t)ii * ldc + j] = NAN;
    memcpy(C0, C, nc * sizeof *C);
    hbpo_sgemm(g->ta, g->tb, g->M, g->N, g->K, g->alpha, A, lda, B, ldb, g->beta, C, ldc);
    for (ii = 0; ii < g->M; ii++) {
        for (j = 0; j < g->N; j++) {
            double s = 0, sa = 0, e, tol, d, got = C[(size_t)ii * ldc + j];
            double c0 = g->beta == 0.0f ? 0.0 : (double)g->beta * C0[(size_t)ii * ldc + j];
            for (k = 0; k < g->K; k++) {
                double a = g->ta ? A[(size_t)k * lda + ii] : A[(size_t)ii * lda + k];
                double b = g->tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += a * b;
                sa += fabs(a * b);
            }
            e = (double)g->alpha * s + c0;
            tol = 1e-5 * (fabs((double)g->alpha) * sa + fabs(c0));
            d = fabs(got - e);
            if (!isfinite(got)) d = INFINITY;
            if (d > maxd) maxd = d;
            if (!(d <= tol) && bi < 0) { bi = ii; bj = j; be = e; bg = got; btol = tol; }
        }
    }
    if (bi >= 0) {
        snprintf(msg, msglen,
                 "%s M=%d N=%d K=%d lda=%d ldb=%d ldc=%d alpha=%g beta=%g: first bad C[%d,%d] "
                 "(expected %.9g, got %.9g, tol %.3g), max diff %.3g",
                 name, g->M, g->N, g->K, lda, ldb, ldc, (double)g->alpha, (double)g->beta, bi,
                 bj, be, bg, btol, maxd);
        bad = 1;
        goto done;
    }
    for (i = 0; i < nc; i++) {
        int in_c = i < (size_t)g->M * ldc && (int)(i % (size_t)ldc) < g->N;
        if (!in_c && memcmp(&C[i], &C0[i], sizeof *C) != 0) {
            snprintf(msg, msglen, "%s M=%d N=%d K=%d ldc=%d: wrote outside C at float %lu (%.9g)",
                     name, g->M, g->N, g->K, ldc, (unsigned long)i, (double)C[i]);
            bad = 1;
            break;
        }
    }
done:
    free(A); free(B); free(C); free(C0);
    return bad;
}

#define ASSERT_GEMM(g, r)                                                       \
    do {                                                                        \
        char gemm__msg[512];                                                    \
        if (gemm_run((g), (r), gemm__msg, sizeof gemm__msg)) FAILm(gemm__msg);  \
    } while (0)

static const int sizes[] = {1, 2, 3, 5, 17, 64, 131};
#define N_SIZES ((int)(sizeof sizes / sizeof sizes[0]))

/* --- sgemm: cases --------------------------------------------------------------- */

TEST sgemm_all_transposes_and_sizes(void) {
    hbpo_rng r;
    gemm_case g;
    int t, m, n, k;
    hbpo_rng_seed(&r, 1);
    memset(&g, 0, sizeof g);
    g.alpha = 1.0f;
    for (t = 0; t < 4; t++)
        for (m = 0; m < N_SIZES; m++)
            for (n = 0; n < N_SIZES; n++)
                for (k = 0; k < N_SIZES; k++) {
                    g.ta = t >> 1; g.tb = t & 1;
                    g.M = sizes[m]; g.N = sizes[n]; g.K = sizes[k];
                    ASSERT_GEMM(&g, &r);
                }
    PASS();
}

TEST sgemm_alpha_beta(void) {
    static const float ab[][2] = {{1, 0}, {0.5f, -1.25f}, {-2, 1}, {1, 1}, {3, 0.25f}};
    static const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {13, 29, 31}, {64, 1, 97}, {2, 130, 11}};
    hbpo_rng r;
    gemm_case g;
    int t, i, s;
    hbpo_rng_seed(&r, 2);
    memset(&g, 0, sizeof g);
    for (t = 0; t < 4; t++)
        for (i = 0; i < (int)(sizeof ab / sizeof ab[0]); i++)
            for (s = 0; s < (int)(sizeof shapes / sizeof shapes[0]); s++) {
                g.ta = t >> 1; g.tb = t & 1;
                g.M = shapes[s][0]; g.N = shapes[s][1]; g.K = shapes[s][2];
                g.alpha = ab[i][0]; g.beta = ab[i][1];
                ASSERT_GEMM(&g, &r);
            }
    PASS();
}

/* BLAS semantics: beta == 0 stores alpha*AB whatever C held (0 * NaN would be NaN). */
TEST sgemm_beta0_overwrites_nan(void) {
    hbpo_rng r;
    gemm_case g;
    int t;
    hbpo_rng_seed(&r, 3);
    memset(&g, 0, sizeof g);
    g.alpha = 0.75f; g.beta = 0.0f; g.c_nan = 1;
    for (t = 0; t < 4; t++) {
        g.ta = t >> 1; g.tb = t & 1;
        g.M = 23; g.N = 19; g.K = 41;
        ASSERT_GEMM(&g, &r);
        g.M = 1; g.N = 1; g.K = 1;
        ASSERT_GEMM(&g, &r);
        g.K = 0; g.M = 4; g.N = 6; /* no products at all: still zeros */
        ASSERT_GEMM(&g, &r);
        g.alpha = 0.0f; g.K = 5;   /* alpha 0, beta 0: zeros */
        ASSERT_GEMM(&g, &r);
        g.alpha = 0.75f;
    }
    PASS();
}

/* Strides wider than the rows; the gap holds NaN in A and B and a sentinel in C. */
TEST sgemm_leading_dimensions(void) {
    hbpo_rng r;
    gemm_case g;
    int t, s;
    static const int shapes[][3] = {{1, 1, 1}, {5, 7, 3}, {31, 17, 130}, {128, 3, 2}};
    hbpo_rng_seed(&r, 4);
    memset(&g, 0, sizeof g);
    for (t = 0; t < 4; t++)
        for (s = 0; s < 4; s++) {
            g.ta = t >> 1; g.tb = t & 1;
            g.M = shapes[s][0]; g.N = shapes[s][1]; g.K = shapes[s][2];
            g.lda = (g.ta ? g.M : g.K) + 3;
            g.ldb = (g.tb ? g.K : g.N) + 1;
            g.ldc = g.N + 5;
            g.alpha = 1.5f; g.beta = 0.5f;
            ASSERT_GEMM(&g, &r);
            g.beta = 0.0f; g.c_nan = 1;
            ASSERT_GEMM(&g, &r);
            g.c_nan = 0;
        }
    PASS();
}

TEST sgemm_empty_sizes(void) {
    hbpo_rng r;
    gemm_case g;
    int t;
    float c[4] = {1, 2, 3, 4};
    hbpo_rng_seed(&r, 5);
    memset(&g, 0, sizeof g);
    g.alpha = 1.0f; g.beta = 2.0f;
    for (t = 0; t < 4; t++) {
        g.ta = t >> 1; g.tb = t & 1;
        g.M = 0; g.N = 5; g.K = 3; ASSERT_GEMM(&g, &r);
        g.M = 5; g.N = 0; g.K = 3; ASSERT_GEMM(&g, &r);
        g.M = 0; g.N = 0; g.K = 0; ASSERT_GEMM(&g, &r);
        g.M = 3; g.N = 4; g.K = 0; ASSERT_GEMM(&g, &r); /* C = beta * C */
    }
    /* K == 0 reads neither A nor B, so NULL is fine (C = 2 * C). */
    hbpo_sgemm(0, 0, 2, 2, 0, 1.0f, NULL, 1, NULL, 2, 2.0f, c, 2);
    ASSERT_EQ_FMT(2.0f, c[0], "%g");
    ASSERT_EQ_FMT(8.0f, c[3], "%g");
    /* M == 0 touches nothing, C NULL included. */
    hbpo_sgemm(0, 0, 0, 2, 2, 1.0f, NULL, 2, NULL, 2, 0.0f, NULL, 2);
    PASS();
}

/* alpha == 0: C = beta * C and A, B are never read (NaN in them must not leak). */
TEST sgemm_alpha0_reads_nothing(void) {
    float A[6], B[6], C[4] = {1, -2, 3, -4};
    int i;
    for (i = 0; i < 6; i++) { A[i] = NAN; B[i] = NAN; }
    hbpo_sgemm(0, 1, 2, 2, 3, 0.0f, A, 3, B, 3, -0.5f, C, 2);
    ASSERT_EQ_FMT(-0.5f, C[0], "%g");
    ASSERT_EQ_FMT(1.0f, C[1], "%g");
    ASSERT_EQ_FMT(-1.5f, C[2], "%g");
    ASSERT_EQ_FMT(2.0f, C[3], "%g");
    PASS();
}

TEST sgemm_bad_arguments_leave_c(void) {
    float A[4] = {1, 2, 3, 4}, B[4] = {1, 0, 0, 1}, C[4] = {9, 9, 9, 9};
    int i;
    hbpo_clear_error();
    ASSERT_EQ(-1, hbpo_sgemm(0, 0, -1, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2));
    ASSERT(strstr(hbpo_last_error(), "negative") != NULL);
    hbpo_clear_error();
    ASSERT_EQ(-1, hbpo_sgemm(2, 0, 2, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2));
    ASSERT(strstr(hbpo_last_error(), "trans") != NULL);
    hbpo_clear_error();
    ASSERT_EQ(-1, hbpo_sgemm(0, 0, 2, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 1)); /* ldc < N */
    ASSERT(strstr(hbpo_last_error(), "ldc") != NULL);
    hbpo_clear_error();
    ASSERT_EQ(-1, hbpo_sgemm(0, 0, 2, 2, 2, 1.0f, A, 1, B, 2, 0.0f, C, 2)); /* lda < K */
    ASSERT(strstr(hbpo_last_error(), "lda = 1 < 2") != NULL);
    hbpo_clear_error();
    ASSERT_EQ(-1, hbpo_sgemm(0, 1, 2, 2, 2, 1.0f, A, 2, NULL, 2, 0.0f, C, 2)); /* B NULL */
    ASSERT(hbpo_last_error()[0] != 0);
    for (i = 0; i < 4; i++) ASSERT_EQ_FMT(9.0f, C[i], "%g");
    hbpo_clear_error();
    ASSERT_EQ(0, hbpo_sgemm(0, 0, 2, 2, 2, 1.0f, A, 2, B, 2, 0.0f, C, 2)); /* identity B */
    ASSERT_STR_EQ("", hbpo_last_error());
    for (i = 0; i < 4; i++) ASSERT_EQ_FMT(A[i], C[i], "%g");
    PASS();
}

/* hbpo_blas_info: the path matches the build; a kernel is flagged generic
   only on a CPU with avx2/avx512f, and then names the core type that fits;
   hbpo_blas_describe names the same path and kernel. (The restart that fixes
   a generic kernel is checked from the command line: tests/blas_kernel.sh.) */
TEST blas_info_is_consistent(void) {
    hbpo_blas_kernel k;
    char line[256];
    int generic = hbpo_blas_info(&k);
    ASSERT_EQ(k.generic, generic);
#ifdef HBPO_USE_OPENBLAS
    ASSERT_STR_EQ("OpenBLAS cblas_sgemm", k.path);
    ASSERT(k.kernel[0] != 0);
#else
    ASSERT_STR_EQ("portable loops", k.path);
    ASSERT_EQ(0, generic);
#endif
    if (generic) {
        ASSERT(k.cpu[0] != 0);
        ASSERT(!strcmp(k.fits, "SkylakeX") || !strcmp(k.fits, "Haswell") || !strcmp(k.fits, "Zen"));
    } else {
        ASSERT_STR_EQ("", k.fits);
    }
    ASSERT(hbpo_blas_describe(line, sizeof line) > 0);
    ASSERT(strstr(line, k.path) != NULL);
    ASSERT(strstr(line, k.kernel) != NULL);
    PASS();
}

/* The documented nn.Linear call: out = x @ W.T + b, W stored (OC, C). */
TEST sgemm_linear_layer(void) {
    enum { BT = 3, CH = 4, OC = 2 };
    static const float x[BT * CH] = {1, 2, 3, 4, -1, 0, 1, 0, 0.5f, 0.5f, 0.5f, 0.5f};
    static const float W[OC * CH] = {1, 0, -1, 0, 0.25f, 0.25f, 0.25f, 0.25f};
    static const float b[OC] = {10, -10};
    static const float want[BT * OC] = {8, -7.5f, 8, -10, 10, -9.5f};
    float out[BT * OC];
    int i;
    for (i = 0; i < BT; i++) memcpy(out + i * OC, b, sizeof b);
    hbpo_sgemm(0, 1, BT, OC, CH, 1.0f, x, CH, W, CH, 1.0f, out, OC);
    ASSERT_TENSOR_NEAR(want, out, BT * OC, 0.0, 0.0);
    PASS();
}

/* Large enough for the OpenMP path: results with 1 thread and the default
   count match. The portable loop gives each row of C to one thread with a
   fixed summation order, so there they are bit-identical; OpenBLAS may split
   differently, so there they need only be close. */
TEST sgemm_threads_agree(void) {
    enum { M = 97, N = 131, K = 113 };
    hbpo_rng r;
    float *A = (float *)malloc(sizeof(float) * M * K), *B = (float *)malloc(sizeof(float) * K * N);
    float *C1 = (float *)malloc(sizeof(float) * M * N), *C2 = (float *)malloc(sizeof(float) * M * N);
    int i, t, ok = 1;
    if (!A || !B || !C1 || !C2) { free(A); free(B); free(C1); free(C2); FAILm("out of memory"); }
    hbpo_rng_seed(&r, 6);
    for (i = 0; i < M * K; i++) A[i] = hbpo_rng_normal(&r);
    for (i = 0; i < K * N; i++) B[i] = hbpo_rng_normal(&r);
    for (t = 0; t < 4 && ok; t++) {
        int ta = t >> 1, tb = t & 1;
        hbpo_set_threads(1);
        hbpo_sgemm(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C1, N);
        hbpo_set_threads(0);
        hbpo_sgemm(ta, tb, M, N, K, 1.0f, A, ta ? M : K, B, tb ? K : N, 0.0f, C2, N);
#ifdef HBPO_USE_OPENBLAS
        for (i = 0; i < M * N; i++) ok &= fabsf(C1[i] - C2[i]) <= 1e-4f * (1.0f + fabsf(C1[i]));
#else
        ok = memcmp(C1, C2, sizeof(float) * M * N) == 0;
#endif
    }
    if (!ok) {
        long bad; double maxd;
        hbpo_test__tensor_near(C1, C2, M * N, 1e-4, 1e-4, &bad, &maxd);
        printf("transpose case %d: first difference near index %ld, max diff %.3g\n", t - 1,
               bad, maxd);
    }
    free(A); free(B); free(C1); free(C2);
    ASSERTm("1 thread and the default thread count disagree", ok);
    PASS();
}

SUITE(ops_suite) {
    RUN_TEST(rng_splitmix64_published_vectors);
    RUN_TEST(rng_seed42_u32_pinned);
    RUN_TEST(rng_seed42_uniform_and_normal_pinned);
    RUN_TEST(rng_same_seed_same_stream);
    RUN_TEST(rng_different_seeds_differ);
    RUN_TEST(rng_normal_uses_two_steps);
    RUN_TEST(rng_uniform_and_normal_extremes);
    RUN_TEST(rng_uniform_range_and_moments);
    RUN_TEST(rng_normal_moments);
    RUN_TEST(sgemm_all_transposes_and_sizes);
    RUN_TEST(sgemm_alpha_beta);
    RUN_TEST(sgemm_beta0_overwrites_nan);
    RUN_TEST(sgemm_leading_dimensions);
    RUN_TEST(sgemm_empty_sizes);
    RUN_TEST(sgemm_alpha0_reads_nothing);
    RUN_TEST(sgemm_bad_arguments_leave_c);
    RUN_TEST(sgemm_linear_layer);
    RUN_TEST(sgemm_threads_agree);
    RUN_TEST(blas_info_is_consistent);
}
