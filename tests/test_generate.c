/* Sampling and KV-cache generation.

   hbpo_sample is checked against an independent reference of the kept set:
   a full sort of the tokens by (logit descending, id ascending), top-k then
   top-p over the renormalised probabilities (the smallest prefix reaching
   top_p). Empirical frequencies of 200k draws from a fixed stream must fit
   that distribution by a chi-square bound (df + 8 sqrt(2 df) + 10: a wrong
   filter or an off-by-one in the inverse CDF exceeds it by orders of
   magnitude, and the fixed seed makes the outcome deterministic), and tokens
   outside the kept set must never appear.

   hbpo_generate is checked against full forwards of a tiny random model
   (hbpo_model_logits over prompt + generated tokens): every generated token is
   the argmax of the logits at the position before it (greedy) and every
   sampling log-prob equals log_softmax(logits / T) there, within 1e-4
   (the cache path sums in a different order, so bits may differ). Greedy
   parity with transformers uses the fixtures of tools/gen_qwen2_fixtures.py. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hbpo.h"
#include "hbpo_test.h"

/* --- reference sampler distribution ------------------------------------------ */

typedef struct { float z; int id; } ranked;

static int cmp_ranked(const void *pa, const void *pb) {
    const ranked *a = (const ranked *)pa, *b = (const ranked *)pb;
    if (a->z != b->z) return a->z < b->z ? 1 : -1;
    return a->id - b->id;
}

/* prob (V) of the distribution the sampler draws from; temperature > 0. */
static void reference_probs(const float *logits, int V, const hbpo_sampler_config *s, double *prob) {
    ranked *r = (ranked *)malloc(sizeof(ranked) * (size_t)V);
    double mx, total = 0.0, cum = 0.0;
    int j, n = V, m;
    for (j = 0; j < V; j++) { r[j].z = logits[j] / s->temperature; r[j].id = j; }
    qsort(r, (size_t)V, sizeof *r, cmp_ranked);
    if (s->top_k > 0 && s->top_k < V) n = s->top_k;
    mx = r[0].z;
    for (j = 0; j < n; j++) total += exp(r[j].z - mx);
    for (m = 0; m < n;) {
        cum += exp(r[m++].z - mx) / total;
        if (s->top_p < 1.0f && cum >= s->top_p - 1e-12) break;
    }
    for (j = 0; j < V; j++) prob[j] = 0.0;
    total = 0.0;
    for (j = 0; j < m; j++) total += exp(r[j].z - mx);
    for (j = 0; j < m; j++) prob[r[j].id] = exp(r[j].z - mx) / total;
    free(r);
}

static double log_softmax_at(const float *logits, int V, float temperature, int tok) {
    double mx = -INFINITY, sum = 0.0;
    int j;
    for (j = 0; j < V; j++) mx = logits[j] / temperature > mx ? logits[j] / temperature : mx;
    for (j = 0; j < V; j++) sum += exp(logits[j] / temperature - mx);
    return logits[tok] / temperature - mx - log(sum);
}

static void random_logits(float *x, int V, float scale, uint64_t seed) {
    hbpo_rng r;
    int j;
    hbpo_rng_seed(&r, seed);
    for (j = 0; j < V; j++) x[j] = scale * hbpo_rng_normal(&r);
}

static hbpo_sampler_config sampler(float temperature, float top_p, int top_k) {
    hbpo_sampler_config s = hbpo_sampler_config_default();
    s.temperature = temperature;
    s.top_p = top_p;
    s.top_k = top_k;
    return s;
}

/* --- hbpo_sample ----------------------------------------------------------- */

TEST sample_greedy_is_argmax_lowest_id(void) {
    enum { V = 1000 };
    static float x[V], work[V];
    hbpo_sampler_config s = sampler(0.0f, 1.0f, 0);
    float lp = 0.0f;
    int tok;
    random_logits(x, V, 2.0f, 1);
    x[417] = 9.0f;
    x[733] = 9.0f; /* a tie: the lower id wins */
    tok = hbpo_sample(x, V, &s, 0.0f, NULL, &lp);
    ASSERT_EQ(417, tok);
    ASSERT_NEAR(log_softmax_at(x, V, 1.0f, 417), lp, 1e-5);
    s.temperature = -1.0f; /* any temperature <= 0 is greedy, with temperature-1 log-probs */
    ASSERT_EQ(417, hbpo_sample(x, V, &s, 0.5f, work, &lp));
    ASSERT_NEAR(log_softmax_at(x, V, 1.0f, 417), lp, 1e-5);
    PASS();
}

TEST sample_top_k_1_and_tiny_top_p_are_greedy(void) {
    enum { V = 500 };
    static float x[V], work[V];
    hbpo_sampler_config k1 = sampler(1.5f, 1.0f, 1), p0 = sampler(1.5f, 1e-6f, 0);
    hbpo_rng r;
    int i, best = 0, j;
    random_logits(x, V, 1.0f, 2);
    for (j = 1; j < V; j++) best = x[j] > x[best] ? j : best;
    hbpo_rng_seed(&r, 3);
    for (i = 0; i < 200; i++) {
        float coin = hbpo_rng_uniform(&r), lp;
        ASSERT_EQ(best, hbpo_sample(x, V, &k1, coin, work, &lp));
        /* the log-prob is the untruncated one at the temperature */
        ASSERT_NEAR(log_softmax_at(x, V, 1.5f, best), lp, 1e-5);
        ASSERT_EQ(best, hbpo_sample(x, V, &p0, coin, work, NULL));
    }
    PASS();
}

TEST sample_never_modifies_logits(void) {
    enum { V = 300 };
    static float x[V], keep[V], work[V];
    hbpo_sampler_config cfg[4];
    int c;
    cfg[0] = sampler(0.0f, 1.0f, 0);
    cfg[1] = sampler(0.7f, 1.0f, 0);
    cfg[2] = sampler(0.7f, 0.9f, 20);
    cfg[3] = sampler(1.3f, 0.5f, 0);
    random_logits(x, V, 3.0f, 4);
    memcpy(keep, x, sizeof x);
    for (c = 0; c < 4; c++) {
        ASSERT(hbpo_sample(x, V, &cfg[c], 0.25f, work, NULL) >= 0);
        ASSERT(memcmp(keep, x, sizeof x) == 0);
    }
    PASS();
}

/* Frequencies of n draws against the reference; also every log-prob. */
static int check_frequencies(const float *x, int V, const hbpo_sampler_config *s, int n,
                             uint64_t seed) {
    double *prob = (double *)calloc((size_t)V, sizeof(double));
    long *count = (long *)calloc((size_t)V, sizeof(long));
    float *work = (float *)malloc(sizeof(float) * (size_t)V);
    double chi2 = 0.0, bound;
    hbpo_rng r;
    int i, j, df = -1, ok = 1;
    reference_probs(x, V, s, prob);
    hbpo_rng_seed(&r, seed);
    for (i = 0; i < n && ok; i++) {
        float lp;
        int t = hbpo_sample(x, V, s, hbpo_rng_uniform(&r), work, &lp);
        if (t < 0 || t >= V) { printf("  token %d out of range\n", t); ok = 0; break; }
        if (fabs(lp - log_softmax_at(x, V, s->temperature, t)) > 1e-5) {
            printf("  logp %g != log_softmax %g\n", lp, log_softmax_at(x, V, s->temperature, t));
            ok = 0;
        }
        count[t]++;
    }
    for (j = 0; j < V && ok; j++) {
        if (prob[j] == 0.0) {
            if (count[j]) { printf("  token %d drawn %ld times, outside the kept set\n", j, count[j]); ok = 0; }
            continue;
        }
        df++;
        chi2 += (count[j] - n * prob[j]) * (count[j] - n * prob[j]) / (n * prob[j]);
    }
    bound = df + 8.0 * sqrt(2.0 * (df > 0 ? df : 1)) + 10.0;
    if (ok && !(chi2 <= bound)) {
        printf("  T %g top_k %d top_p %g: chi2 %.1f over %d df exceeds %.1f\n",
               (double)s->temperature, s->top_k, (double)s->top_p, chi2, df, bound);
        ok = 0;
    }
    free(prob);
    free(count);
    free(work);
    return ok;
}

TEST sample_frequencies_match_filtered_softmax(void) {
    enum { V = 24 };
    float x[V];
    hbpo_sampler_config cfg[5];
    int c;
    cfg[0] = sampler(1.0f, 1.0f, 0);
    cfg[1] = sampler(0.7f, 1.0f, 5);
    cfg[2] = sampler(1.3f, 0.8f, 0);
    cfg[3] = sampler(0.9f, 0.7f, 8);
    cfg[4] = sampler(0.6f, 0.95f, 0); /* the paper's setting */
    random_logits(x, V, 1.5f, 5);
    for (c = 0; c < 5; c++) ASSERT(check_frequencies(x, V, &cfg[c], 200000, 100 + (uint64_t)c));
    PASS();
}

TEST sample_ties_are_broken_by_lower_id(void) {
    enum { V = 10 };
    float x[V] = {0, 3, 1, 3, 3, 0, 2, 3, 0, 1};
    float work[V];
    hbpo_sampler_config k2 = sampler(1.0f, 1.0f, 2), p = sampler(1.0f, 0.3f, 0);
    hbpo_rng r;
    int i, seen[V] = {0};
    /* top-k 2 over four equal maxima keeps ids 1 and 3 */
    hbpo_rng_seed(&r, 6);
    for (i = 0; i < 2000; i++) seen[hbpo_sample(x, V, &k2, hbpo_rng_uniform(&r), work, NULL)]++;
    ASSERT(seen[1] > 800 && seen[3] > 800 && seen[1] + seen[3] == 2000);
    /* each maximum has probability ~0.23, so top_p 0.3 keeps two of them: ids 1 and 3 */
    memset(seen, 0, sizeof seen);
    for (i = 0; i < 2000; i++) seen[hbpo_sample(x, V, &p, hbpo_rng_uniform(&r), work, NULL)]++;
    ASSERT(seen[1] > 800 && seen[3] > 800 && seen[1] + seen[3] == 2000);
    ASSERT(check_frequencies(x, V, &k2, 20000, 7));
    PASS();
}

TEST sample_large_vocabulary_nucleus(void) {
    /* Qwen2.5's vocabulary: a peaked distribution (few candidates survive
       the pre-filter) and a flat one (every token is a candidate). */
    enum { V = 151936 };
    float *x = (float *)malloc(sizeof(float) * V), *work = (float *)malloc(sizeof(float) * V);
    double *prob = (double *)malloc(sizeof(double) * V);
    hbpo_sampler_config s = sampler(0.6f, 0.95f, 0);
    hbpo_rng r;
    int i, pass;
    for (pass = 0; pass < 2; pass++) {
        random_logits(x, V, pass == 0 ? 4.0f : 0.1f, 8 + (uint64_t)pass);
        reference_probs(x, V, &s, prob);
        hbpo_rng_seed(&r, 9);
        for (i = 0; i < 20; i++) {
            float lp;
            int t = hbpo_sample(x, V, &s, hbpo_rng_uniform(&r), work, &lp);
            ASSERT(t >= 0 && t < V);
            ASSERT(prob[t] > 0.0);
            ASSERT_NEAR(log_softmax_at(x, V, 0.6f, t), lp, 1e-4);
        }
    }
    free(x);
    free(work);
    free(prob);
    PASS();
}

TEST sample_rejects_bad_input(void) {
    enum { V = 8 };
    float x[V] = {0, 1, 2, 3, 4, 5, 6, 7}, work[V];
    hbpo_sampler_config s = sampler(0.8f, 0.9f, 3), b;
    hbpo_clear_error();
    x[5] = NAN;
    ASSERT_EQ(-1, hbpo_sample(x, V, &s, 0.5f, work, NULL));
    ASSERT(strstr(hbpo_last_error(), "logit 5") != NULL);
    x[5] = INFINITY;
    ASSERT_EQ(-1, hbpo_sample(x, V, &s, 0.5f, work, NULL));
    s.temperature = 0.0f;
    ASSERT_EQ(-1, hbpo_sample(x, V, &s, 0.5f, work, NULL)); /* greedy too */
    x[5] = 5.0f;
    s.temperature = 1e-38f; /* finite logits that overflow after the temperature */
    ASSERT_EQ(-1, hbpo_sample(x, V, &s, 0.5f, work, NULL));
    s.temperature = 0.8f;
    ASSERT_EQ(-1, hbpo_sample(x, V, &s, 1.0f, work, NULL));
    ASSERT_EQ(-1, hbpo_sample(x, V, &s, -0.1f, work, NULL));
    ASSERT_EQ(-1, hbpo_sample(x, V, &s, NAN, work, NULL));
    ASSERT(strstr(hbpo_last_error(), "coin") != NULL);
    ASSERT_EQ(-1, hbpo_sample(x, V, &s, 0.5f, NULL, NULL)); /* top-k needs scratch */
    ASSERT_EQ(-1, hbpo_sample(NULL, V, &s, 0.5f, work, NULL));
    ASSERT_EQ(-1, hbpo_sample(x, 0, &s, 0.5f, work, NULL));
    ASSERT_EQ(-1, hbpo_sample(x, V, NULL, 0.5f, work, NULL));
    b = s; b.top_p = 0.0f;
    ASSERT_EQ(-1, hbpo_sampler_config_check(&b));
    ASSERT(strstr(hbpo_last_error(), "top_p") != NULL);
    ASSERT_EQ(-1, hbpo_sample(x, V, &b, 0.5f, work, NULL));
    b = s; b.top_p = 1.5f;
    ASSERT_EQ(-1, hbpo_sampler_config_check(&b));
    b = s; b.top_p = NAN;
    ASSERT_EQ(-1, hbpo_sampler_config_check(&b));
    b = s; b.top_k = -1;
    ASSERT_EQ(-1, hbpo_sampler_config_check(&b));
    ASSERT(strstr(hbpo_last_error(), "top_k") != NULL);
    b = s; b.temperature = NAN;
    ASSERT_EQ(-1, hbpo_sampler_config_check(&b));
    ASSERT(strstr(hbpo_last_error(), "temperature") != NULL);
    b = s; b.max_new_tokens = 0;
    ASSERT_EQ(-1, hbpo_sampler_config_check(&b));
    b = s; b.n_eos = HBPO_MAX_EOS + 1;
    ASSERT_EQ(-1, hbpo_sampler_config_check(&b));
    b = s; b.n_eos = 2; b.eos[0] = 3; b.eos[1] = V;
    ASSERT_EQ(0, hbpo_sampler_config_check(&b)); /* the vocabulary is hbpo_generate's to check */
    b.eos[1] = -2;
    ASSERT_EQ(-1, hbpo_sampler_config_check(&b));
    ASSERT(strstr(hbpo_last_error(), "eos[1]") != NULL);
    ASSERT_EQ(-1, hbpo_sampler_config_check(NULL));
    s = hbpo_sampler_config_default();
    ASSERT_EQ(0, hbpo_sampler_config_check(&s));
    ASSERT_NEAR(0.6, s.temperature, 1e-7);
    ASSERT_NEAR(0.95, s.top_p, 1e-7);
    PASS();
}

/* --- hbpo_generate against full forwards ---------------------------------------- */

static hbpo_model_config gen_config(void) {
    hbpo_model_config c = hbpo_test_model_config(64, 48);
    c.rope_theta = 1000.0f;
    c.initializer_range = 0.25f; /* peaked logits: greedy choices far from ties */
    return c;
}

/* Four prompts of lengths 3, 9, 1, 17, back to back. */
enum { NP = 4, MAXNEW = 12 };
static const int p_len[NP] = {3, 9, 1, 17};
static void make_prompts(int *prompt, int *off, int V) {
    hbpo_rng r;
    int b, i;
    hbpo_rng_seed(&r, 77);
    off[0] = 0;
    for (b = 0; b < NP; b++) {
        off[b + 1] = off[b] + p_len[b];
        for (i = off[b]; i < off[b + 1]; i++) prompt[i] = (int)(hbpo_rng_u32(&r) % (uint32_t)V);
    }
}

/* Every generated token of sequence b against a full forward of prompt +
   output: logp = log_softmax(logits / T) at the position before it, and
   (greedy) the token is the argmax. Returns 1 when all agree. */
static int check_against_forward(hbpo_model *m, const int *prompt, int P, const int *tok,
                                 const float *lp, int n, float temperature) {
    int V = m->config.vocab_size, T = P + n, t, j, ok = 1;
    int *seq = (int *)malloc(sizeof(int) * (size_t)T);
    float *logits = (float *)malloc(sizeof(float) * (size_t)T * V);
    memcpy(seq, prompt, sizeof(int) * (size_t)P);
    memcpy(seq + P, tok, sizeof(int) * (size_t)n);
    if (hbpo_model_logits(m, seq, 1, T, logits) != 0) ok = 0;
    for (t = 0; t < n && ok; t++) {
        const float *row = logits + (size_t)(P + t - 1) * V;
        double want = log_softmax_at(row, V, temperature > 0.0f ? temperature : 1.0f, tok[t]);
        if (temperature <= 0.0f) {
            int best = 0;
            for (j = 1; j < V; j++) best = row[j] > row[best] ? j : best;
            if (best != tok[t]) {
                printf("  token %d: generated %d, full forward's argmax %d (logits %g vs %g)\n", t,
                       tok[t], best, (double)row[tok[t]], (double)row[best]);
                ok = 0;
            }
        }
        if (!(fabs(want - lp[t]) <= 1e-4)) {
            printf("  token %d: logp %.7g, full forward %.7g\n", t, (double)lp[t], want);
            ok = 0;
        }
    }
    free(seq);
    free(logits);
    return ok;
}

TEST generate_greedy_matches_full_forward(void) {
    hbpo_model_config cfg = gen_config();
    hbpo_model m;
    hbpo_sampler_config s = sampler(0.0f, 1.0f, 0);
    int prompt[64], off[NP + 1], tok[NP * MAXNEW], len[NP], b, one_tok[MAXNEW], one_len;
    float lp[NP * MAXNEW], one_lp[MAXNEW];
    ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
    hbpo_model_init_random(&m, 51);
    make_prompts(prompt, off, cfg.vocab_size);
    s.max_new_tokens = MAXNEW;
    ASSERT_EQ(0, hbpo_generate(&m, &s, NP, prompt, off, tok, lp, len));
    for (b = 0; b < NP; b++) {
        int zero = 0, one[2];
        ASSERT_EQ(MAXNEW, len[b]);
        ASSERT(check_against_forward(&m, prompt + off[b], p_len[b], tok + b * MAXNEW,
                                     lp + b * MAXNEW, MAXNEW, 0.0f));
        /* alone in a batch of one: the same tokens */
        one[0] = 0; one[1] = p_len[b];
        (void)zero;
        ASSERT_EQ(0, hbpo_generate(&m, &s, 1, prompt + off[b], one, one_tok, one_lp, &one_len));
        ASSERT_EQ(MAXNEW, one_len);
        ASSERT(memcmp(one_tok, tok + b * MAXNEW, sizeof one_tok) == 0);
        ASSERT_TENSOR_NEAR(lp + b * MAXNEW, one_lp, MAXNEW, 1e-5, 0.0);
    }
    hbpo_model_free(&m);
    PASS();
}

TEST generate_qwen3_and_tied_match_full_forward(void) {
    hbpo_model_config cfg = gen_config();
    hbpo_model m;
    hbpo_sampler_config s = sampler(0.0f, 1.0f, 0);
    int prompt[64], off[NP + 1], tok[NP * MAXNEW], len[NP], b;
    float lp[NP * MAXNEW];
    cfg.qk_norm = 1;
    cfg.attention_bias = 0;
    cfg.tie_word_embeddings = 1;
    ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
    hbpo_model_init_random(&m, 52);
    make_prompts(prompt, off, cfg.vocab_size);
    s.max_new_tokens = MAXNEW;
    ASSERT_EQ(0, hbpo_generate(&m, &s, NP, prompt, off, tok, lp, len));
    for (b = 0; b < NP; b++)
        ASSERT(check_against_forward(&m, prompt + off[b], p_len[b], tok + b * MAXNEW,
                                     lp + b * MAXNEW, len[b], 0.0f));
    hbpo_model_free(&m);
    PASS();
}

TEST generate_sampling_is_seeded_and_logp_matches(void) {
    hbpo_model_config cfg = gen_config();
    hbpo_model m;
    hbpo_sampler_config s = sampler(0.8f, 0.9f, 20);
    int prompt[64], off[NP + 1], tok[NP * MAXNEW], tok2[NP * MAXNEW], len[NP], len2[NP], b;
    float lp[NP * MAXNEW], lp2[NP * MAXNEW];
    ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
    hbpo_model_init_random(&m, 53);
    cfg.initializer_range = 0.1f; /* flatter logits, so that draws vary */
    make_prompts(prompt, off, cfg.vocab_size);
    s.max_new_tokens = MAXNEW;
    s.seed = 1234;
    ASSERT_EQ(0, hbpo_generate(&m, &s, NP, prompt, off, tok, lp, len));
    for (b = 0; b < NP; b++)
        ASSERT(check_against_forward(&m, prompt + off[b], p_len[b], tok + b * MAXNEW,
                                     lp + b * MAXNEW, len[b], 0.8f));
    /* the same seed gives the same tokens and log-probs */
    ASSERT_EQ(0, hbpo_generate(&m, &s, NP, prompt, off, tok2, lp2, len2));
    ASSERT(memcmp(tok, tok2, sizeof tok) == 0);
    ASSERT(memcmp(lp, lp2, sizeof lp) == 0);
    /* a sequence's stream does not depend on the others in the batch */
    ASSERT_EQ(0, hbpo_generate(&m, &s, 2, prompt, off, tok2, lp2, len2));
    ASSERT(memcmp(tok, tok2, sizeof(int) * 2 * MAXNEW) == 0);
    /* another seed gives other tokens */
    s.seed = 1235;
    ASSERT_EQ(0, hbpo_generate(&m, &s, NP, prompt, off, tok2, lp2, len2));
    ASSERT(memcmp(tok, tok2, sizeof tok) != 0);
    /* identical prompts in one batch draw from different streams */
    {
        int same[2 * 5], soff[3] = {0, 5, 10}, st[2 * MAXNEW], sl[2];
        memcpy(same, prompt + off[1], sizeof(int) * 5);
        memcpy(same + 5, prompt + off[1], sizeof(int) * 5);
        ASSERT_EQ(0, hbpo_generate(&m, &s, 2, same, soff, st, NULL, sl));
        ASSERT(memcmp(st, st + MAXNEW, sizeof(int) * MAXNEW) != 0);
    }
    hbpo_model_free(&m);
    PASS();
}

TEST generate_stops_at_eos_and_lengths(void) {
    hbpo_model_config cfg = gen_config();
    hbpo_model m;
    hbpo_sampler_config s = sampler(0.0f, 1.0f, 0);
    int prompt[64], off[NP + 1], tok[NP * MAXNEW], len[NP], tok2[NP * MAXNEW], len2[NP];
    float lp[NP * MAXNEW], lp2[NP * MAXNEW];
    int b, t, e;
    ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
    hbpo_model_init_random(&m, 54);
    make_prompts(prompt, off, cfg.vocab_size);
    s.max_new_tokens = MAXNEW;
    ASSERT_EQ(0, hbpo_generate(&m, &s, NP, prompt, off, tok, lp, len));
    /* stop ids: sequence 0's 3rd token and sequence 2's 6th */
    s.n_eos = 2;
    s.eos[0] = tok[0 * MAXNEW + 2];
    s.eos[1] = tok[2 * MAXNEW + 5];
    ASSERT_EQ(0, hbpo_generate(&m, &s, NP, prompt, off, tok2, lp2, len2));
    for (b = 0; b < NP; b++) {
        int want = MAXNEW; /* first stop id in the unstopped output, included */
        for (t = 0; t < MAXNEW && want == MAXNEW; t++)
            for (e = 0; e < s.n_eos; e++)
                if (tok[b * MAXNEW + t] == s.eos[e]) want = t + 1;
        ASSERT_EQ(want, len2[b]);
        ASSERT(memcmp(tok + b * MAXNEW, tok2 + b * MAXNEW, sizeof(int) * (size_t)want) == 0);
        for (t = want; t < MAXNEW; t++) {
            ASSERT_EQ(-1, tok2[b * MAXNEW + t]);
            ASSERT_EQ_FMT(0.0f, lp2[b * MAXNEW + t], "%g");
        }
    }
    ASSERT(len2[0] <= 3 && len2[2] <= 6);
    /* max_new_tokens */
    s.n_eos = 0;
    s.max_new_tokens = 4;
    ASSERT_EQ(0, hbpo_generate(&m, &s, NP, prompt, off, tok2, NULL, len2));
    for (b = 0; b < NP; b++) {
        ASSERT_EQ(4, len2[b]);
        ASSERT(memcmp(tok + b * MAXNEW, tok2 + b * 4, sizeof(int) * 4) == 0);
    }
    /* the model's length limit (48 positions): a 40-token prompt gets 8 */
    {
        int longp[40], loff[2] = {0, 40}, lt[MAXNEW], ll;
        for (t = 0; t < 40; t++) longp[t] = (t * 7) % cfg.vocab_size;
        s.max_new_tokens = MAXNEW;
        ASSERT_EQ(0, hbpo_generate(&m, &s, 1, longp, loff, lt, NULL, &ll));
        ASSERT_EQ(8, ll);
        ASSERT_EQ(-1, lt[8]);
    }
    hbpo_model_free(&m);
    PASS();
}

TEST generate_many_sequences_finishing_at_different_times(void) {
    /* 16 sequences stopping at different steps exercise the retirement of
       finished rows (the last batch row takes a finished one's place; each
       sequence keeps its cache slot). */
    enum { NB = 16, MN = 10 };
    hbpo_model_config cfg = gen_config();
    hbpo_model m;
    hbpo_sampler_config s = sampler(0.0f, 1.0f, 0);
    int prompt[NB * 8], off[NB + 1], tok[NB * MN], len[NB], tok2[NB * MN], len2[NB], b, t;
    float lp[NB * MN], lp2[NB * MN];
    hbpo_rng r;
    ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
    hbpo_model_init_random(&m, 55);
    hbpo_rng_seed(&r, 56);
    off[0] = 0;
    for (b = 0; b < NB; b++) {
        off[b + 1] = off[b] + 1 + b % 8;
        for (t = off[b]; t < off[b + 1]; t++) prompt[t] = (int)(hbpo_rng_u32(&r) % 64u);
    }
    s.max_new_tokens = MN;
    ASSERT_EQ(0, hbpo_generate(&m, &s, NB, prompt, off, tok, lp, len));
    s.n_eos = 4;
    s.eos[0] = tok[1 * MN + 1]; s.eos[1] = tok[5 * MN + 4];
    s.eos[2] = tok[9 * MN + 0]; s.eos[3] = tok[12 * MN + 7];
    ASSERT_EQ(0, hbpo_generate(&m, &s, NB, prompt, off, tok2, lp2, len2));
    for (b = 0; b < NB; b++) {
        ASSERT(len2[b] >= 1 && len2[b] <= MN);
        ASSERT(memcmp(tok + b * MN, tok2 + b * MN, sizeof(int) * (size_t)len2[b]) == 0);
        ASSERT(check_against_forward(&m, prompt + off[b], off[b + 1] - off[b], tok2 + b * MN,
                                     lp2 + b * MN, len2[b], 0.0f));
    }
    hbpo_model_free(&m);
    PASS();
}

TEST generate_prefill_in_groups(void) {
    /* Prompts of 250..298 tokens exceed one prefill group (2048 tokens), so
       they are prefilled in groups of 6 and 3, each padded to its longest. */
    enum { NB = 9, MN = 5 };
    hbpo_model_config cfg = gen_config();
    hbpo_model m;
    hbpo_sampler_config s = sampler(0.0f, 1.0f, 0);
    int *prompt = (int *)malloc(sizeof(int) * NB * 300), off[NB + 1], tok[NB * MN], len[NB], b, t;
    float lp[NB * MN];
    hbpo_rng r;
    cfg.max_position_embeddings = 320;
    ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
    hbpo_model_init_random(&m, 58);
    hbpo_rng_seed(&r, 59);
    off[0] = 0;
    for (b = 0; b < NB; b++) {
        off[b + 1] = off[b] + 250 + (b * 37) % 49;
        for (t = off[b]; t < off[b + 1]; t++) prompt[t] = (int)(hbpo_rng_u32(&r) % 64u);
    }
    s.max_new_tokens = MN;
    ASSERT_EQ(0, hbpo_generate(&m, &s, NB, prompt, off, tok, lp, len));
    for (b = 0; b < NB; b++) {
        ASSERT_EQ(MN, len[b]);
        ASSERT(check_against_forward(&m, prompt + off[b], off[b + 1] - off[b], tok + b * MN,
                                     lp + b * MN, MN, 0.0f));
    }
    hbpo_model_free(&m);
    free(prompt);
    PASS();
}

TEST generate_rejects_bad_input(void) {
    hbpo_model_config cfg = gen_config();
    hbpo_model m;
    hbpo_sampler_config s = sampler(0.0f, 1.0f, 0);
    int prompt[50], off[3] = {0, 3, 6}, tok[2 * 4], len[2], i;
    for (i = 0; i < 50; i++) prompt[i] = i % 64;
    ASSERT_EQ(0, hbpo_model_create(&m, &cfg, NULL));
    hbpo_model_init_random(&m, 57);
    s.max_new_tokens = 4;
    ASSERT_EQ(0, hbpo_generate(&m, &s, 2, prompt, off, tok, NULL, len));
    ASSERT_EQ(-1, hbpo_generate(&m, &s, 0, prompt, off, tok, NULL, len));
    ASSERT_EQ(-1, hbpo_generate(&m, &s, 2, NULL, off, tok, NULL, len));
    ASSERT_EQ(-1, hbpo_generate(&m, &s, 2, prompt, off, NULL, NULL, len));
    off[1] = 0; /* empty prompt */
    ASSERT_EQ(-1, hbpo_generate(&m, &s, 2, prompt, off, tok, NULL, len));
    ASSERT(strstr(hbpo_last_error(), "prompt 0") != NULL);
    off[1] = 3;
    prompt[4] = 64; /* outside the vocabulary */
    ASSERT_EQ(-1, hbpo_generate(&m, &s, 2, prompt, off, tok, NULL, len));
    ASSERT(strstr(hbpo_last_error(), "prompt 1 token 1") != NULL);
    prompt[4] = -1;
    ASSERT_EQ(-1, hbpo_generate(&m, &s, 2, prompt, off, tok, NULL, len));
    prompt[4] = 4;
    off[2] = 3 + 48; /* no room below max_position_embeddings */
    ASSERT_EQ(-1, hbpo_generate(&m, &s, 2, prompt, off, tok, NULL, len));
    ASSERT(strstr(hbpo_last_error(), "max_position_embeddings") != NULL);
    off[2] = 6;
    s.eos[0] = 64; s.n_eos = 1; /* eos outside the vocabulary */
    ASSERT_EQ(-1, hbpo_generate(&m, &s, 2, prompt, off, tok, NULL, len));
    hbpo_model_free(&m);
    PASS();
}

/* --- greedy parity with transformers ------------------------------------------ */

#define QWEN_FIXTURES "tests/fixtures/qwen2"

/* Each fp32 fixture's generation cases: transformers' greedy tokens (float64
   model, one prompt at a time) against hbpo_generate with all prompts in one
   batch. A step whose best two logits are closer than float rounding could
   separate is a legitimate place to differ; the fixture records the smallest
   such gap (min_top2_margin), and every fixture case must exceed 1e-4. */
TEST generate_greedy_matches_transformers(void) {
    static const char *names[] = {"qwen2_untied", "qwen2_tied", "qwen3_tied"};
    int f, checked = 0;
    for (f = 0; f < 3; f++) {
        char path[256], dir[256];
        char *text;
        size_t len;
        hbpo_json_doc doc;
        const hbpo_json *gen, *cases, *cs, *js;
        hbpo_model m;
        hbpo_sampler_config s = sampler(0.0f, 1.0f, 0);
        int n = 0, total = 0, i, b, max_new, *prompt, *off, *want, *tok, *len_out;
        snprintf(path, sizeof path, "%s/%s.ref.json", QWEN_FIXTURES, names[f]);
        snprintf(dir, sizeof dir, "%s/%s", QWEN_FIXTURES, names[f]);
        text = hbpo_read_file(path, 0, &len);
        ASSERTm("a committed fixture is missing", text != NULL);
        memset(&doc, 0, sizeof doc);
        ASSERTm(path, hbpo_json_parse(&doc, text, len) == 0);
        hbpo_free(text);
        gen = hbpo_json_get(doc.root, "generation");
        cases = gen ? hbpo_json_get(gen, "cases") : NULL;
        js = gen ? hbpo_json_get(gen, "max_new_tokens") : NULL;
        ASSERTm(path, cases && js && cases->len > 0);
        max_new = (int)js->num;
        for (cs = cases->child; cs; cs = cs->next) {
            n++;
            total += (int)hbpo_json_get(cs, "prompt")->len;
        }
        prompt = (int *)malloc(sizeof(int) * (size_t)total);
        off = (int *)malloc(sizeof(int) * (size_t)(n + 1));
        want = (int *)malloc(sizeof(int) * (size_t)n * max_new);
        tok = (int *)malloc(sizeof(int) * (size_t)n * max_new);
        len_out = (int *)malloc(sizeof(int) * (size_t)n);
        off[0] = 0;
        for (b = 0, cs = cases->child; cs; cs = cs->next, b++) {
            const hbpo_json *v;
            const hbpo_json *mg = hbpo_json_get(cs, "min_top2_margin");
            ASSERTm("a fixture case is a near-tie", mg && mg->num > 1e-4);
            off[b + 1] = off[b];
            for (v = hbpo_json_get(cs, "prompt")->child; v; v = v->next) prompt[off[b + 1]++] = (int)v->num;
            for (i = 0, v = hbpo_json_get(cs, "tokens")->child; v && i < max_new; v = v->next)
                want[b * max_new + i++] = (int)v->num;
            ASSERT_EQ(max_new, i);
        }
        hbpo_json_free(&doc);
        ASSERTm(dir, hbpo_model_load(&m, dir, NULL) == 0);
        s.max_new_tokens = max_new;
        ASSERT_EQ(0, hbpo_generate(&m, &s, n, prompt, off, tok, NULL, len_out));
        for (b = 0; b < n; b++) {
            ASSERT_EQ(max_new, len_out[b]);
            for (i = 0; i < max_new; i++) {
                if (tok[b * max_new + i] != want[b * max_new + i])
                    printf("  %s case %d: token %d is %d, transformers %d\n", names[f], b, i,
                           tok[b * max_new + i], want[b * max_new + i]);
                ASSERT_EQ(want[b * max_new + i], tok[b * max_new + i]);
            }
        }
        hbpo_model_free(&m);
        free(prompt); free(off); free(want); free(tok); free(len_out);
        checked++;
    }
    ASSERT_EQ(3, checked);
    PASS();
}

SUITE(generate_suite) {
    RUN_TEST(sample_greedy_is_argmax_lowest_id);
    RUN_TEST(sample_top_k_1_and_tiny_top_p_are_greedy);
    RUN_TEST(sample_never_modifies_logits);
    RUN_TEST(sample_frequencies_match_filtered_softmax);
    RUN_TEST(sample_ties_are_broken_by_lower_id);
    RUN_TEST(sample_large_vocabulary_nucleus);
    RUN_TEST(sample_rejects_bad_input);
    RUN_TEST(generate_greedy_matches_full_forward);
    RUN_TEST(generate_qwen3_and_tied_match_full_forward);
    RUN_TEST(generate_sampling_is_seeded_and_logp_matches);
    RUN_TEST(generate_stops_at_eos_and_lengths);
    RUN_TEST(generate_many_sequences_finishing_at_different_times);
    RUN_TEST(generate_prefill_in_groups);
    RUN_TEST(generate_rejects_bad_input);
    RUN_TEST(generate_greedy_matches_transformers);
}
