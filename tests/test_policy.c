/* The policy objective (section 3): hbpo_policy_loss against
     - the PyTorch reference (tests/fixtures/policy_loss.json, written by
       tools/gen_policy_fixture.py: verl's compute_policy_loss + agg_loss +
       kl_penalty in float64 with autograd), every batch x config;
     - central finite differences of its own loss, for every aggregation and
       both KL estimators;
     - hand cases for each side of the clip, the dual clip, the unclipped
       range, the KL estimators and an all-masked batch, values derived in the
       comments (eps_low 0.2, eps_high 0.28, clip_c 3 unless said otherwise);
     - every invalid argument.
   Tests run from the repository root, where the fixture path is relative. */
#include <math.h>
#include <string.h>

#include "hbpo.h"
#include "hbpo_test.h"

#define POL_FIXTURE "tests/fixtures/policy_loss.json"
/* What tools/gen_policy_fixture.py writes: 4 batches x 10 configs. A fixture
   that silently lost cases would otherwise still pass. */
#define POL_FIXTURE_CASES 40

/* Scalars: rel 1e-5 + abs 1e-6 (the reference is float64, hbpo accumulates
   in double from the same float inputs, so the real gap is ~1e-12). */
#define POL_NEAR(exp, got) ASSERT_NEAR((exp), (got), 1e-6 + 1e-5 * fabs((double)(exp)))

/* --- fixture ---------------------------------------------------------------- */

static double pol_num(const hbpo_json *obj, const char *key) {
    const hbpo_json *v = hbpo_json_get(obj, key);
    return v && v->type == HBPO_JSON_NUMBER ? v->num : NAN;
}

/* The member key of obj as n floats in out; 0 when it is an array of exactly
   n numbers. The fixture holds float32 values, so the conversion is exact. */
static int pol_floats(const hbpo_json *obj, const char *key, float *out, size_t n) {
    const hbpo_json *arr = hbpo_json_get(obj, key), *v;
    size_t i = 0;
    if (!arr || arr->type != HBPO_JSON_ARRAY || arr->len != n) return -1;
    for (v = arr->child; v; v = v->next, i++) {
        if (v->type != HBPO_JSON_NUMBER || i >= n) return -1;
        out[i] = (float)v->num;
    }
    return i == n ? 0 : -1;
}

/* Buffers of one fixture batch: inputs, expected and returned gradient. */
typedef struct {
    int B, T;
    float *logp, *old_logp, *ref_logp, *adv, *mask, *want, *got;
} pol_batch;

static void pol_batch_free(pol_batch *b) {
    free(b->logp); free(b->old_logp); free(b->ref_logp); free(b->adv);
    free(b->mask); free(b->want); free(b->got);
    memset(b, 0, sizeof *b);
}

/* Reads the inputs of one batch object; 0 on success. */
static int pol_batch_read(const hbpo_json *jb, pol_batch *b) {
    double B = pol_num(jb, "B"), T = pol_num(jb, "T");
    size_t n;
    memset(b, 0, sizeof *b);
    if (!(B >= 1 && B <= 64 && T >= 1 && T <= 256)) return -1;
    b->B = (int)B; b->T = (int)T;
    n = (size_t)b->B * (size_t)b->T;
    b->logp = (float *)malloc(n * sizeof(float));
    b->old_logp = (float *)malloc(n * sizeof(float));
    b->ref_logp = (float *)malloc(n * sizeof(float));
    b->mask = (float *)malloc(n * sizeof(float));
    b->want = (float *)malloc(n * sizeof(float));
    b->got = (float *)malloc(n * sizeof(float));
    b->adv = (float *)malloc((size_t)b->B * sizeof(float));
    if (!b->logp || !b->old_logp || !b->ref_logp || !b->mask || !b->want || !b->got || !b->adv)
        return -1;
    if (pol_floats(jb, "logp", b->logp, n) || pol_floats(jb, "old_logp", b->old_logp, n) ||
        pol_floats(jb, "ref_logp", b->ref_logp, n) || pol_floats(jb, "mask", b->mask, n) ||
        pol_floats(jb, "adv", b->adv, (size_t)b->B))
        return -1;
    return 0;
}

/* One config of one batch: run hbpo_policy_loss and compare everything. */
static int pol_check_case(pol_batch *b, const hbpo_json *jc) {
    hbpo_policy_config c;
    hbpo_policy_stats st;
    size_t n = (size_t)b->B * (size_t)b->T;
    c.eps_low = (float)pol_num(jc, "eps_low");
    c.eps_high = (float)pol_num(jc, "eps_high");
    c.clip_c = (float)pol_num(jc, "clip_c");
    c.agg = (int)pol_num(jc, "agg");
    c.kl_coef = (float)pol_num(jc, "kl_coef");
    c.kl_estimator = (int)pol_num(jc, "kl_estimator");
    ASSERTm("case lacks dlogp", pol_floats(jc, "dlogp", b->want, n) == 0);
    ASSERT_EQ(0, hbpo_policy_loss(&c, b->B, b->T, b->logp, b->old_logp, b->ref_logp, b->adv,
                                  b->mask, b->got, &st));
    POL_NEAR(pol_num(jc, "loss"), st.loss);
    POL_NEAR(pol_num(jc, "pg_loss"), st.pg_loss);
    POL_NEAR(pol_num(jc, "kl"), st.kl);
    POL_NEAR(pol_num(jc, "approx_kl"), st.approx_kl);
    ASSERT_NEAR(pol_num(jc, "clipfrac"), st.clipfrac, 1e-9);
    ASSERT_NEAR(pol_num(jc, "clipfrac_lower"), st.clipfrac_lower, 1e-9);
    ASSERT_NEAR(pol_num(jc, "n_tokens"), st.n_tokens, 0);
    ASSERT_TENSOR_NEAR(b->want, b->got, n, 1e-7, 1e-4);
    PASS();
}

TEST fixture_matches_pytorch(void) {
    hbpo_json_doc doc;
    const hbpo_json *batches, *jb, *jc;
    pol_batch b;
    char *text, why[256];
    size_t len;
    int bi, ci, cases = 0, bad = 0;
    memset(&doc, 0, sizeof doc);
    memset(&b, 0, sizeof b);
    why[0] = 0;
    text = hbpo_read_file(POL_FIXTURE, 0, &len);
    if (!text) FAILm("cannot read " POL_FIXTURE " (run from the repository root; "
                     "regenerate with python3 tools/gen_policy_fixture.py)");
    if (hbpo_json_parse(&doc, text, len) != 0) {
        snprintf(why, sizeof why, POL_FIXTURE ": %s", hbpo_last_error());
        hbpo_free(text);
        hbpo_json_free(&doc);
        FAILm(why);
    }
    hbpo_free(text);
    batches = hbpo_json_get(doc.root, "batches");
    bi = 0;
    for (jb = batches ? batches->child : NULL; jb && !bad; jb = jb->next, bi++) {
        if (pol_batch_read(jb, &b) != 0) {
            snprintf(why, sizeof why, "batch %d: missing or malformed inputs", bi);
            bad = 1;
        }
        jc = hbpo_json_get(jb, "cases");
        ci = 0;
        for (jc = !bad && jc ? jc->child : NULL; jc && !bad; jc = jc->next, ci++, cases++) {
            if (pol_check_case(&b, jc) != HBPO_TEST_PASS) {
                snprintf(why, sizeof why,
                         "the case above is batch %d (B=%d, T=%d), config %d: agg %d, "
                         "kl_coef %g, kl_estimator %d, eps %g/%g, clip_c %g",
                         bi, b.B, b.T, ci, (int)pol_num(jc, "agg"), pol_num(jc, "kl_coef"),
                         (int)pol_num(jc, "kl_estimator"), pol_num(jc, "eps_low"),
                         pol_num(jc, "eps_high"), pol_num(jc, "clip_c"));
                bad = 1;
            }
        }
        pol_batch_free(&b);
    }
    hbpo_json_free(&doc);
    if (bad) FAILm(why);
    ASSERT_EQ(POL_FIXTURE_CASES, cases);
    PASS();
}

/* --- finite differences -------------------------------------------------------- */

#define POL_FD_B 4
#define POL_FD_T 9
#define POL_FD_N (POL_FD_B * POL_FD_T)
/* The loss is accumulated in double from float inputs, so the step can be
   small: truncation error h^2/6 * f'''/f' ~ 6e-7 (f = exp(...) terms). */
#define POL_FD_H (1.0 / 512.0)

/* log-ratio d in [-0.9, 1.6] (ratio 0.41 .. 4.95: both clip sides and the dual
   clip occur), at least 4h away from every kink of c. */
static float pol_fd_logratio(hbpo_rng *r, const hbpo_policy_config *c) {
    for (;;) {
        double d = -0.9 + 2.5 * hbpo_rng_uniform(r);
        double k1 = log(1.0 - c->eps_low), k2 = log(1.0 + c->eps_high), k3 = log(c->clip_c);
        double m = 4.0 * POL_FD_H;
        if (fabs(d - k1) > m && fabs(d - k2) > m && fabs(d - k3) > m) return (float)d;
    }
}

/* Random batch: rows [prompt zeros | response | padding], the last row empty,
   advantages of alternating sign with one zero; padding holds huge log-probs
   that would show if they were read. ref - logp in [-1, 1.5] keeps k3 below
   its clamp (exp(1.5) - 2.5 = 1.98 < 10). */
static void pol_fd_inputs(hbpo_rng *r, const hbpo_policy_config *c, float *logp, float *old,
                          float *ref, float *adv, float *mask) {
    int b, t;
    for (b = 0; b < POL_FD_B; b++) {
        int prompt = (int)(hbpo_rng_u32(r) % 3);
        int resp = b == POL_FD_B - 1 ? 0 : 3 + (int)(hbpo_rng_u32(r) % (POL_FD_T - prompt - 2));
        adv[b] = (b % 2 ? -1.0f : 1.0f) * (0.2f + 2.0f * hbpo_rng_uniform(r));
        if (b == 2) adv[b] = 0.0f;
        for (t = 0; t < POL_FD_T; t++) {
            int i = b * POL_FD_T + t;
            mask[i] = t >= prompt && t < prompt + resp ? 1.0f : 0.0f;
            old[i] = -(0.05f + 3.0f * hbpo_rng_uniform(r));
            logp[i] = old[i] + pol_fd_logratio(r, c);
            /* every draw clips: row 0 (A > 0) above 1 + eps_high, row 1 (A < 0)
               beyond clip_c (e^1.6 = 4.95) and, on its next token, below 1 - eps_low */
            if (t == prompt && b < 2) logp[i] = old[i] + (b == 0 ? 0.6f : 1.6f);
            if (t == prompt + 1 && b == 1) logp[i] = old[i] - 0.6f;
            ref[i] = logp[i] + (-1.0f + 2.5f * hbpo_rng_uniform(r));
            if (mask[i] == 0.0f) { logp[i] = 80.0f; old[i] = -80.0f; ref[i] = -80.0f; }
        }
    }
}

static int pol_fd_check(const hbpo_policy_config *c, uint64_t seed) {
    float logp[POL_FD_N], old[POL_FD_N], ref[POL_FD_N], adv[POL_FD_B], mask[POL_FD_N];
    float grad[POL_FD_N], fd[POL_FD_N];
    hbpo_policy_stats st, sp, sm;
    hbpo_rng r;
    double gmax = 0.0;
    int i;
    hbpo_rng_seed(&r, seed);
    pol_fd_inputs(&r, c, logp, old, ref, adv, mask);
    ASSERT_EQ(0, hbpo_policy_loss(c, POL_FD_B, POL_FD_T, logp, old, ref, adv, mask, grad, &st));
    ASSERTm("the draw must clip", st.clipfrac > 0);
    ASSERTm("the draw must hit the dual clip", st.clipfrac_lower > 0);
    for (i = 0; i < POL_FD_N; i++) {
        float x = logp[i], xp = (float)(x + POL_FD_H), xm = (float)(x - POL_FD_H);
        logp[i] = xp;
        ASSERT_EQ(0, hbpo_policy_loss(c, POL_FD_B, POL_FD_T, logp, old, ref, adv, mask, NULL, &sp));
        logp[i] = xm;
        ASSERT_EQ(0, hbpo_policy_loss(c, POL_FD_B, POL_FD_T, logp, old, ref, adv, mask, NULL, &sm));
        logp[i] = x;
        /* divide by the step actually taken (float rounding of x +- h) */
        fd[i] = (float)((sp.loss - sm.loss) / ((double)xp - (double)xm));
        if (fabs(grad[i]) > gmax) gmax = fabs(grad[i]);
    }
    ASSERTm("some gradient must be non-zero", gmax > 0);
    ASSERT_TENSOR_NEAR(fd, grad, POL_FD_N, 1e-6, 1e-4);
    PASS();
}

TEST finite_differences(void) {
    static const int aggs[3] = {HBPO_AGG_TOKEN_MEAN, HBPO_AGG_SEQ_MEAN_TOKEN_SUM,
                                HBPO_AGG_SEQ_MEAN_TOKEN_MEAN};
    int a, k, s;
    for (a = 0; a < 3; a++) {
        for (k = 0; k < 3; k++) { /* KL off, k1, k3 */
            for (s = 0; s < 3; s++) {
                hbpo_policy_config c = hbpo_policy_config_default();
                c.agg = aggs[a];
                c.kl_coef = k == 0 ? 0.0f : 0.5f;
                c.kl_estimator = k == 2 ? HBPO_KL_K3 : HBPO_KL_K1;
                if (s == 2) { c.eps_low = 0.1f; c.eps_high = 0.15f; c.clip_c = 2.0f; }
                if (pol_fd_check(&c, 1000u + 100u * (uint64_t)a + 10u * (uint64_t)k + (uint64_t)s)
                    != HBPO_TEST_PASS) {
                    printf("  (agg %d, kl %s, eps %g/%g, clip_c %g, variant %d)\n", c.agg,
                           k == 0 ? "off" : k == 1 ? "k1" : "k3", (double)c.eps_low,
                           (double)c.eps_high, (double)c.clip_c, s);
                    return HBPO_TEST_FAIL;
                }
            }
        }
    }
    PASS();
}

/* --- hand cases ---------------------------------------------------------------- */

/* A > 0, ratio e^0.5 = 1.6487 > 1 + eps_high: pg1 = -2 * 1.6487 = -3.2974,
   pg2 = -2 * 1.28 = -2.56, clip1 = max = -2.56 (the clipped term: clipfrac 1).
   Token-mean over the two response tokens: -2.56 (1.28 is 1 + 0.28f =
   1.2800000012, hence -2.5600000024). Constant in logp: gradient 0. */
TEST clip_high_with_positive_advantage(void) {
    hbpo_policy_config c = hbpo_policy_config_default();
    float logp[3] = {-2.0f, -0.5f, -0.5f}, old[3] = {-1.0f, -1.0f, -1.0f};
    float mask[3] = {0, 1, 1}, adv[1] = {2.0f}, g[3] = {9, 9, 9};
    hbpo_policy_stats st;
    ASSERT_EQ(0, hbpo_policy_loss(&c, 1, 3, logp, old, NULL, adv, mask, g, &st));
    ASSERT_NEAR(-2.5600000024, st.loss, 1e-9);
    ASSERT_NEAR(-2.5600000024, st.pg_loss, 1e-9);
    ASSERT_NEAR(0.0, st.kl, 0);
    ASSERT_NEAR(1.0, st.clipfrac, 0);
    ASSERT_NEAR(0.0, st.clipfrac_lower, 0);
    ASSERT_NEAR(-0.5, st.approx_kl, 1e-12); /* old - logp = -1 - (-0.5) */
    ASSERT_NEAR(2.0, st.n_tokens, 0);
    ASSERT_NEAR(0.0, g[0], 0);
    ASSERT_NEAR(0.0, g[1], 0);
    ASSERT_NEAR(0.0, g[2], 0);
    PASS();
}

/* A < 0, ratio e^-0.5 = 0.6065 < 1 - eps_low: pg1 = 0.6065, pg2 = 1 * 0.8 =
   0.8, clip1 = 0.8 (clipped; 0.8 is 1 - 0.2f = 0.79999999702). pg3 = 3 >
   0.8: no dual clip. Loss 0.8, gradient 0, clipfrac 1, clipfrac_lower 0. */
TEST clip_low_with_negative_advantage(void) {
    hbpo_policy_config c = hbpo_policy_config_default();
    float logp[2] = {-1.5f, -1.5f}, old[2] = {-1.0f, -1.0f}, mask[2] = {1, 0};
    float adv[1] = {-1.0f}, g[2] = {9, 9};
    hbpo_policy_stats st;
    ASSERT_EQ(0, hbpo_policy_loss(&c, 1, 2, logp, old, NULL, adv, mask, g, &st));
    ASSERT_NEAR(0.79999999702, st.loss, 1e-10);
    ASSERT_NEAR(1.0, st.clipfrac, 0);
    ASSERT_NEAR(0.0, st.clipfrac_lower, 0);
    ASSERT_NEAR(0.5, st.approx_kl, 1e-12);
    ASSERT_NEAR(0.0, g[0], 0);
    ASSERT_NEAR(0.0, g[1], 0);
    PASS();
}

/* A = -0.5, ratio e^1.5 = 4.4817 > clip_c = 3: pg1 = 0.5 * 4.4817 = 2.2408,
   pg2 = 0.5 * 1.28 = 0.64, clip1 = pg1 (not the clipped term: clipfrac 0);
   pg3 = -A * c = 1.5 < clip1, so the dual clip holds the loss at 1.5 per
   token: loss 1.5, gradient 0, clipfrac_lower 1. With clip_c = 5 > 4.4817
   the same token is unclipped: loss 2.2408, gradient -A * ratio = 2.2408. */
TEST dual_clip_with_negative_advantage(void) {
    hbpo_policy_config c = hbpo_policy_config_default();
    float logp[2] = {-0.25f, -0.25f}, old[2] = {-1.75f, -1.75f}, mask[2] = {1, 1};
    float adv[1] = {-0.5f}, g[2] = {9, 9};
    hbpo_policy_stats st;
    ASSERT_EQ(0, hbpo_policy_loss(&c, 1, 2, logp, old, NULL, adv, mask, g, &st));
    ASSERT_NEAR(1.5, st.loss, 1e-12);
    ASSERT_NEAR(0.0, st.clipfrac, 0);
    ASSERT_NEAR(1.0, st.clipfrac_lower, 0);
    ASSERT_NEAR(0.0, g[0], 0);
    ASSERT_NEAR(0.0, g[1], 0);
    c.clip_c = 5.0f;
    ASSERT_EQ(0, hbpo_policy_loss(&c, 1, 2, logp, old, NULL, adv, mask, g, &st));
    ASSERT_NEAR(2.2408445351690323, st.loss, 1e-9);
    ASSERT_NEAR(0.0, st.clipfrac_lower, 0);
    ASSERT_NEAR(1.1204222675845161, g[0], 1e-6); /* 2.2408 / N, N = 2 */
    PASS();
}

/* Ratios e^0.125 = 1.1331484530668263 and e^-0.125 = 0.8824969025845955,
   both inside [0.8, 1.28], A = 1.5, after a prompt token:
     token-mean (N = 2):   loss = -1.5 * (1.13315 + 0.88250) / 2 = -1.5117340167385662
                           dlogp = -A * ratio / N = -0.8498613398, -0.6618726769
     seq-mean-token-sum:   loss = -1.5 * (1.13315 + 0.88250) = -3.0234680334771324
                           dlogp = -A * ratio = -1.6997226796, -1.3237453539
     seq-mean-token-mean:  one row, so the same as token-mean. */
TEST inside_the_trust_region(void) {
    hbpo_policy_config c = hbpo_policy_config_default();
    float logp[4] = {-3.0f, -0.875f, -1.125f, 0.0f}, old[4] = {-1.0f, -1.0f, -1.0f, -1.0f};
    float mask[4] = {0, 1, 1, 0}, adv[1] = {1.5f}, g[4];
    hbpo_policy_stats st;
    ASSERT_EQ(0, hbpo_policy_loss(&c, 1, 4, logp, old, NULL, adv, mask, g, &st));
    ASSERT_NEAR(-1.5117340167385662, st.loss, 1e-12);
    ASSERT_NEAR(0.0, st.clipfrac, 0);
    ASSERT_NEAR(0.0, st.approx_kl, 1e-12); /* (-0.125 + 0.125) / 2 */
    ASSERT_NEAR(0.0, g[0], 0);
    ASSERT_NEAR(-0.8498613398001198, g[1], 1e-7);
    ASSERT_NEAR(-0.6618726769384466, g[2], 1e-7);
    ASSERT_NEAR(0.0, g[3], 0);
    c.agg = HBPO_AGG_SEQ_MEAN_TOKEN_SUM;
    ASSERT_EQ(0, hbpo_policy_loss(&c, 1, 4, logp, old, NULL, adv, mask, g, &st));
    ASSERT_NEAR(-3.0234680334771324, st.loss, 1e-12);
    ASSERT_NEAR(-1.6997226796002396, g[1], 1e-7);
    ASSERT_NEAR(-1.3237453538768933, g[2], 1e-7);
    c.agg = HBPO_AGG_SEQ_MEAN_TOKEN_MEAN;
    ASSERT_EQ(0, hbpo_policy_loss(&c, 1, 4, logp, old, NULL, adv, mask, g, &st));
    ASSERT_NEAR(-1.5117340167385662, st.loss, 1e-12);
    ASSERT_NEAR(-0.8498613398001198, g[1], 1e-7);
    PASS();
}

/* The sides PPO leaves open. Row 0: A = 1, ratio e^-0.5 = 0.6065 < 0.8:
   pg1 = -0.6065 > pg2 = -0.8, so the unclipped term stays (no floor on a
   good token's probability falling). Row 1: A = -1, ratio e^0.5 = 1.6487
   in (1.28, 3): pg1 = 1.6487 > pg2 = 1.28, unclipped, below pg3 = 3.
   Token-mean over 2 tokens: loss = (-0.6065 + 1.6487) / 2 = 0.5210953055,
   dlogp = -A * ratio / 2 = -0.3032653299, +0.8243606354; clipfracs 0.
   seq-mean-token-mean with 1 token per row is the same. */
TEST unclipped_sides(void) {
    hbpo_policy_config c = hbpo_policy_config_default();
    float logp[2] = {-1.5f, -0.5f}, old[2] = {-1.0f, -1.0f}, mask[2] = {1, 1};
    float adv[2] = {1.0f, -1.0f}, g[2];
    hbpo_policy_stats st;
    int agg;
    for (agg = HBPO_AGG_TOKEN_MEAN; agg <= HBPO_AGG_SEQ_MEAN_TOKEN_MEAN; agg += 2) {
        c.agg = agg;
        ASSERT_EQ(0, hbpo_policy_loss(&c, 2, 1, logp, old, NULL, adv, mask, g, &st));
        ASSERT_NEAR(0.5210953054937474, st.loss, 1e-12);
        ASSERT_NEAR(0.0, st.clipfrac, 0);
        ASSERT_NEAR(0.0, st.clipfrac_lower, 0);
        ASSERT_NEAR(-0.3032653298563167, g[0], 1e-7);
        ASSERT_NEAR(0.8243606353500641, g[1], 1e-7);
    }
    PASS();
}

/* KL penalty alone (A = 0, so the surrogate and its gradient are 0), kl_coef
   0.5, token-mean over 2 tokens with x = ref - logp = 0.5 and 3:
     k3: exp(0.5) - 0.5 - 1 = 0.1487212707, d/dlogp = 1 - exp(0.5) = -0.6487212707;
         exp(3) - 3 - 1 = 16.09 is clamped to 10 (gradient 0).
         kl = (0.1487212707 + 10) / 2 = 5.0743606354, loss = 0.5 * kl = 2.5371803177,
         dlogp = 0.5 * (-0.6487212707) / 2 = -0.1621803177, 0.
     k1: kl = ((-1 - -0.5) + (-4 - -1)) / 2 = -1.75, loss = -0.875, dlogp = 0.5 / 2 = 0.25. */
TEST kl_estimators(void) {
    hbpo_policy_config c = hbpo_policy_config_default();
    float logp[2] = {-1.0f, -4.0f}, old[2] = {-1.0f, -4.0f}, ref[2] = {-0.5f, -1.0f};
    float mask[2] = {1, 1}, adv[1] = {0.0f}, g[2];
    hbpo_policy_stats st;
    c.kl_coef = 0.5f;
    c.kl_estimator = HBPO_KL_K3;
    ASSERT_EQ(0, hbpo_policy_loss(&c, 1, 2, logp, old, ref, adv, mask, g, &st));
    ASSERT_NEAR(0.0, st.pg_loss, 0);
    ASSERT_NEAR(5.0743606353500645, st.kl, 1e-12);
    ASSERT_NEAR(2.5371803176750323, st.loss, 1e-12);
    ASSERT_NEAR(-0.16218031767503205, g[0], 1e-8);
    ASSERT_NEAR(0.0, g[1], 0);
    c.kl_estimator = HBPO_KL_K1;
    ASSERT_EQ(0, hbpo_policy_loss(&c, 1, 2, logp, old, ref, adv, mask, g, &st));
    ASSERT_NEAR(-1.75, st.kl, 1e-12);
    ASSERT_NEAR(-0.875, st.loss, 1e-12);
    ASSERT_NEAR(0.25, g[0], 0);
    ASSERT_NEAR(0.25, g[1], 0);
    PASS();
}

/* No response token anywhere: every aggregation gives 0 (not 0/0), every
   statistic is 0 and finite, and every gradient entry is written as 0. */
TEST all_masked_batch(void) {
    hbpo_policy_config c = hbpo_policy_config_default();
    float logp[6] = {-1, -2, -3, -1, -2, -3}, old[6] = {-2, -2, -2, -1, -1, -1};
    float ref[6] = {-1, -1, -1, -1, -1, -1}, mask[6] = {0, 0, 0, 0, 0, 0};
    float adv[2] = {1.0f, -1.0f}, g[6];
    hbpo_policy_stats st;
    int agg, est, i;
    for (agg = HBPO_AGG_TOKEN_MEAN; agg <= HBPO_AGG_SEQ_MEAN_TOKEN_MEAN; agg++) {
        for (est = HBPO_KL_K1; est <= HBPO_KL_K3; est++) {
            c.agg = agg;
            c.kl_coef = 0.1f;
            c.kl_estimator = est;
            for (i = 0; i < 6; i++) g[i] = 9.0f;
            ASSERT_EQ(0, hbpo_policy_loss(&c, 2, 3, logp, old, ref, adv, mask, g, &st));
            ASSERT_NEAR(0.0, st.loss, 0);
            ASSERT_NEAR(0.0, st.pg_loss, 0);
            ASSERT_NEAR(0.0, st.kl, 0);
            ASSERT_NEAR(0.0, st.clipfrac, 0);
            ASSERT_NEAR(0.0, st.clipfrac_lower, 0);
            ASSERT_NEAR(0.0, st.approx_kl, 0);
            ASSERT_NEAR(0.0, st.n_tokens, 0);
            for (i = 0; i < 6; i++) ASSERT_NEAR(0.0, g[i], 0);
        }
    }
    PASS();
}

/* Padding may hold anything (log 0 = -inf, NaN from a masked softmax): the
   result must equal that of the same batch with finite padding, bit for bit. */
TEST padding_is_never_read(void) {
    hbpo_policy_config c = hbpo_policy_config_default();
    float logp[8] = {-0.1f, -0.9f, -1.2f, -0.4f, -2.0f, -0.3f, -0.6f, -1.0f};
    float old[8] = {-0.3f, -0.8f, -1.0f, -0.4f, -1.0f, -1.7f, -0.5f, -1.0f};
    float ref[8] = {-0.2f, -0.7f, -1.1f, -0.5f, -1.5f, -0.9f, -0.4f, -1.0f};
    float mask[8] = {0, 1, 1, 0, 1, 1, 1, 0}, adv[2] = {0.7f, -1.3f};
    float g1[8], g2[8];
    hbpo_policy_stats s1, s2;
    int i;
    c.kl_coef = 0.1f;
    c.kl_estimator = HBPO_KL_K3;
    ASSERT_EQ(0, hbpo_policy_loss(&c, 2, 4, logp, old, ref, adv, mask, g1, &s1));
    for (i = 0; i < 8; i++) {
        if (mask[i] != 0) continue;
        logp[i] = -INFINITY;
        old[i] = NAN;
        ref[i] = INFINITY;
    }
    ASSERT_EQ(0, hbpo_policy_loss(&c, 2, 4, logp, old, ref, adv, mask, g2, &s2));
    ASSERT(memcmp(&s1, &s2, sizeof s1) == 0);
    ASSERT(memcmp(g1, g2, sizeof g1) == 0);
    PASS();
}

/* dlogp and st are optional; leaving out dlogp changes none of the statistics. */
TEST outputs_are_optional(void) {
    hbpo_policy_config c = hbpo_policy_config_default();
    float logp[3] = {-0.5f, -1.0f, -2.0f}, old[3] = {-1.0f, -1.0f, -1.0f};
    float mask[3] = {1, 1, 1}, adv[1] = {-0.4f}, g[3];
    hbpo_policy_stats s1, s2;
    ASSERT_EQ(0, hbpo_policy_loss(&c, 1, 3, logp, old, NULL, adv, mask, NULL, NULL));
    ASSERT_EQ(0, hbpo_policy_loss(&c, 1, 3, logp, old, NULL, adv, mask, g, &s1));
    ASSERT_EQ(0, hbpo_policy_loss(&c, 1, 3, logp, old, NULL, adv, mask, NULL, &s2));
    ASSERT(memcmp(&s1, &s2, sizeof s1) == 0);
    PASS();
}

TEST default_config(void) {
    hbpo_policy_config c = hbpo_policy_config_default();
    ASSERT_NEAR(0.2f, c.eps_low, 0);
    ASSERT_NEAR(0.28f, c.eps_high, 0);
    ASSERT_NEAR(3.0f, c.clip_c, 0);
    ASSERT_EQ(HBPO_AGG_TOKEN_MEAN, c.agg);
    ASSERT_NEAR(0.0f, c.kl_coef, 0);
    ASSERT_EQ(HBPO_KL_K1, c.kl_estimator);
    ASSERT_EQ(0, hbpo_policy_config_check(&c));
    PASS();
}

/* --- bad input ------------------------------------------------------------------- */

/* Each call must return -1 and leave a message. */
#define POL_REFUSED(call)                                                       \
    do {                                                                        \
        hbpo_clear_error();                                                     \
        ASSERT_EQ(-1, (call));                                                  \
        ASSERTm(#call " left no message", hbpo_last_error()[0] != 0);           \
    } while (0)

TEST bad_input_is_refused(void) {
    hbpo_policy_config d = hbpo_policy_config_default(), c;
    float logp[2] = {-1.0f, -1.1f}, old[2] = {-1.0f, -1.0f}, ref[2] = {-1.0f, -1.0f};
    float mask[2] = {1, 1}, adv[1] = {1.0f}, g[2];
    hbpo_policy_stats st;
#define POL_CALL(cfg, B, T, lp, ol, rf, ad, mk) \
    hbpo_policy_loss((cfg), (B), (T), (lp), (ol), (rf), (ad), (mk), g, &st)
    /* the valid call, so that each refusal below is down to its one change */
    ASSERT_EQ(0, POL_CALL(&d, 1, 2, logp, old, ref, adv, mask));
    ASSERT_EQ(0, POL_CALL(&d, 1, 2, logp, old, NULL, adv, mask)); /* no ref needed: KL off */

    POL_REFUSED(POL_CALL(NULL, 1, 2, logp, old, ref, adv, mask));
    POL_REFUSED(POL_CALL(&d, 0, 2, logp, old, ref, adv, mask));
    POL_REFUSED(POL_CALL(&d, 1, 0, logp, old, ref, adv, mask));
    POL_REFUSED(POL_CALL(&d, -1, 2, logp, old, ref, adv, mask));
    POL_REFUSED(POL_CALL(&d, 1, -2, logp, old, ref, adv, mask));
    POL_REFUSED(POL_CALL(&d, 1, 2, NULL, old, ref, adv, mask));
    POL_REFUSED(POL_CALL(&d, 1, 2, logp, NULL, ref, adv, mask));
    POL_REFUSED(POL_CALL(&d, 1, 2, logp, old, ref, NULL, mask));
    POL_REFUSED(POL_CALL(&d, 1, 2, logp, old, ref, adv, NULL));

    c = d; c.kl_coef = 0.1f;
    POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, NULL, adv, mask));
    c.kl_estimator = HBPO_KL_K3;
    POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, NULL, adv, mask));

    c = d; c.eps_low = -0.1f;      POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.eps_low = NAN;        POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.eps_low = INFINITY;   POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.eps_high = -0.01f;    POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.eps_high = NAN;       POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.eps_high = INFINITY;  POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.clip_c = 1.0f;        POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.clip_c = 0.5f;        POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.clip_c = NAN;         POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.clip_c = INFINITY;    POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.agg = -1;             POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.agg = 3;              POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.kl_estimator = 2;     POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.kl_estimator = -1;    POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.kl_coef = -0.1f;      POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
    c = d; c.kl_coef = NAN;        POL_REFUSED(POL_CALL(&c, 1, 2, logp, old, ref, adv, mask));
#undef POL_CALL
    /* the check on its own names the field */
    c = d; c.clip_c = 1.0f;
    ASSERT_EQ(-1, hbpo_policy_config_check(&c));
    ASSERT(strstr(hbpo_last_error(), "clip_c") != NULL);
    PASS();
}

SUITE(policy_suite) {
    RUN_TEST(default_config);
    RUN_TEST(fixture_matches_pytorch);
    RUN_TEST(finite_differences);
    RUN_TEST(clip_high_with_positive_advantage);
    RUN_TEST(clip_low_with_negative_advantage);
    RUN_TEST(dual_clip_with_negative_advantage);
    RUN_TEST(inside_the_trust_region);
    RUN_TEST(unclipped_sides);
    RUN_TEST(kl_estimators);
    RUN_TEST(all_masked_batch);
    RUN_TEST(padding_is_never_read);
    RUN_TEST(outputs_are_optional);
    RUN_TEST(bad_input_is_refused);
}
