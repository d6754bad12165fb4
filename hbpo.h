/* hbpo.h - v0.1.0 - Hierarchical Budget Policy Optimization in one C header.
   MIT licence (see the end of this file).

   What it is
     A readable, verifiable reference of HBPO (Lyu et al., "Hierarchical Budget
     Policy Optimization for Adaptive Reasoning", arXiv 2507.15844): the
     budget-aware reward, the hierarchical advantage, the clipped policy
     objective and the answer checking that feeds them, written as plain C
     functions that cite the equation they implement.

   How to use it (stb style)
     In every file that needs it:
         #include "hbpo.h"
     In exactly one C or C++ file, before the include:
         #define HBPO_IMPLEMENTATION
         #include "hbpo.h"

   Compile-time options (define before including the implementation)
     HBPO_STATIC          make every function static (private to one file).
     HBPO_USE_OPENBLAS    use cblas_sgemm from OpenBLAS (link -lopenblas,
                          flags from `pkg-config openblas`). Without it a
                          portable loop computes the same products (slower;
                          equal within float rounding).
     HBPO_MALLOC(sz), HBPO_REALLOC(p,sz), HBPO_FREE(p)
                          allocator override: define all three or none.
     OpenMP is used when the compiler enables it (_OPENMP); it never changes
     results of the functions in this version (reductions are serial).

   Errors
     The library never calls exit() or abort() on bad input. Functions return
     a status (0 = success, negative = error) and leave a message that
     hbpo_last_error() returns (per thread). Functions whose fixed signature
     returns a value (hbpo_reward) return 0 on bad input and set the message.

   Contents (sections appear in this order, declarations then implementation)
     1. Configuration: version, errors, budgets           hbpo_budget_config
     2. HBPO math: reward, advantages, prompts            hbpo_reward, hbpo_advantages
     3. Policy objective: clipped surrogate, KL           hbpo_policy_loss
     4. Answer checking: \boxed, MATH normalisation, GSM8K hbpo_math_equal
     5. Tokenizer and chat format: byte-level BPE         hbpo_tokenizer
     6. Random numbers                                    hbpo_rng
     7. Model operations: the backend interface, CPU ops  hbpo_backend, hbpo_sgemm
     8. Model: Qwen2 forward, backward, AdamW             hbpo_model
     9. Generation: sampling, KV-cache decoding           hbpo_generate
    10. Checkpoints: config.json, safetensors             hbpo_model_load
    11. I/O: files, JSON, JSON Lines                      hbpo_json_parse, hbpo_jsonl

   Dimension legend (used in every shape comment)
     B batch (sequences), T time (tokens), C channels (hidden size),
     NH attention heads, KVH key/value heads, HS head size, V vocabulary,
     F feed-forward size, n rollouts per query, k budget subgroups.
*/
#ifndef HBPO_H
#define HBPO_H

#define HBPO_VERSION_MAJOR 0
#define HBPO_VERSION_MINOR 1
#define HBPO_VERSION_PATCH 0

#include <stddef.h>
#include <stdint.h>

#ifdef HBPO_STATIC
/* Private to one file: unused functions must not warn under -Wall. */
#if defined(__GNUC__) || defined(__clang__)
#define HBPODEF static __attribute__((unused))
#else
#define HBPODEF static
#endif
#else
#define HBPODEF extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* 1. Configuration                                                          */
/* ------------------------------------------------------------------------- */

/* The message left by the last failing call on this thread ("" if none). */
HBPODEF const char *hbpo_last_error(void);
HBPODEF void hbpo_clear_error(void);

#define HBPO_MAX_BUDGETS 16

enum { HBPO_MODE_PAPER = 0, HBPO_MODE_OFFICIAL = 1 };
enum { HBPO_WRONG = 0, HBPO_CORRECT = 1, HBPO_NO_ANSWER = -1 };

typedef struct {
    int   mode;                      /* HBPO_MODE_PAPER (default) or HBPO_MODE_OFFICIAL */
    int   k;                         /* number of budget subgroups */
    int   budget[HBPO_MAX_BUDGETS];  /* ascending token budgets b_1 < ... < b_k */
    int   l_max;                     /* L_max */
    float alpha;                     /* deviation penalty per token */
    float beta;                      /* cosine reward scale */
} hbpo_budget_config;

/* The paper's setting: b = {512, 1024, 2048, 2560}, L_max 4096, alpha 1/4096, beta 4. */
HBPODEF hbpo_budget_config hbpo_budget_config_default(void);
/* 0 when valid; otherwise -1 and a reason in err (and hbpo_last_error()). */
HBPODEF int hbpo_budget_config_check(const hbpo_budget_config *c, char *err, size_t errlen);

/* ------------------------------------------------------------------------- */
/* 2. HBPO math                                                              */
/* ------------------------------------------------------------------------- */

/* f2(b) = beta*cos(pi*b/(2*L_max)): the reward inside the budget (Eq. reward_intra, case 1).
   pi is 3.1416 in HBPO_MODE_OFFICIAL, as in the released code. */
HBPODEF double hbpo_reward_f2(const hbpo_budget_config *c, int budget);
/* f1(n,b) = beta*cos(pi*n/(2*L_max)) - alpha*|n-b|: beyond the budget (Eq. reward_intra,
   case 2). n_gen is real so that curves can be analysed between integers. */
HBPODEF double hbpo_reward_f1(const hbpo_budget_config *c, double n_gen, int budget);
/* The reward of a correct answer of n_gen tokens (0 <= n_gen <= L_max) under budget b:
   the piecewise Eq. reward_intra (paper: f2 inside, f1 beyond; released code:
   min(f1, f2) everywhere). budget <= 0: the plain cosine beta*cos(pi*n/(2*L_max)). */
HBPODEF double hbpo_reward_correct(const hbpo_budget_config *c, double n_gen, int budget);

/* The reward of one rollout. outcome is HBPO_CORRECT, HBPO_WRONG or
   HBPO_NO_ANSWER; n_gen counts generated tokens after the prompt prefix;
   budget is the rollout's b (budget <= 0: no budget, the plain cosine reward
   beta*cos(pi*n/(2*L_max)) that the "cosine" baseline uses). */
HBPODEF float hbpo_reward(const hbpo_budget_config *c, int outcome, int n_gen, int budget);

/* Hierarchical advantages of one query's n rollouts (Algorithm 1).
   reward (n), budget (n): b of rollout j (<= 0: no budget, no intra term).
   adv (n) out: A_j = A_intra(subgroup of j) + A_inter(j) (paper), or
   A_inter + 2*A_intra (released code). Finite for every finite input. */
HBPODEF void hbpo_advantages(const hbpo_budget_config *c, int n, const float *reward,
                             const int *budget, float *adv);
/* A_intra for the subgroup of budget b among one query's n rollouts:
   mu_b - f2(b), mu_b = mean reward of the rollouts whose budget is b
   (Algorithm 1). 0 when no rollout has budget b or b <= 0. */
HBPODEF double hbpo_intra_advantage(const hbpo_budget_config *c, int n, const float *reward,
                                    const int *budget, int b);
/* A_inter alone, which is GRPO's advantage: (R_j - mean R)/(std R + 1e-6),
   std unbiased; n = 1 gives 0. */
HBPODEF void hbpo_grpo_advantages(int n, const float *reward, float *adv);
/* Dr. GRPO's advantage: R_j - mean R (no division by the std). */
HBPODEF void hbpo_drgrpo_advantages(int n, const float *reward, float *adv);

/* Where the reward curve of budget b_lo falls to that of b_hi (b_lo < b_hi):
   the real n_gen in (b_lo, b_hi] with reward_correct(n, b_lo) =
   reward_correct(n, b_hi), the "learned complexity threshold" of Figure 3b.
   Negative when the curves do not cross there (e.g. alpha = 0). */
HBPODEF double hbpo_budget_crossing(const hbpo_budget_config *c, int b_lo, int b_hi);

/* Prompts inserted right after the reasoning tag. */
#define HBPO_EFFICIENCY_PROMPT "I will answer the question with minimal tokens"
/* Writes "I will answer the question within {b} tokens" (paper) or the
   released code's "I will answer the question with {b} tokens" into out.
   Returns the length written, or -1 (out too small, b <= 0, bad mode). */
HBPODEF int hbpo_budget_prompt(int mode, int budget, char *out, size_t outlen);

/* ------------------------------------------------------------------------- */
/* 3. Policy objective                                                       */
/* ------------------------------------------------------------------------- */

enum { HBPO_AGG_TOKEN_MEAN = 0, HBPO_AGG_SEQ_MEAN_TOKEN_SUM = 1, HBPO_AGG_SEQ_MEAN_TOKEN_MEAN = 2 };
enum { HBPO_KL_K1 = 0, HBPO_KL_K3 = 1 };

typedef struct {
    float eps_low;      /* ratio clipped below at 1 - eps_low (0.2) */
    float eps_high;     /* ratio clipped above at 1 + eps_high (0.28, DAPO clip-higher) */
    float clip_c;       /* dual-clip bound for negative advantages (3.0, must be > 1) */
    int   agg;          /* HBPO_AGG_*: how token losses become one number (token-mean) */
    float kl_coef;      /* coefficient of the KL penalty to a reference policy (0 = off) */
    int   kl_estimator; /* HBPO_KL_K1 (logp - ref) or HBPO_KL_K3 (exp(ref-logp) - (ref-logp) - 1) */
} hbpo_policy_config;

typedef struct {
    double loss;           /* pg_loss + kl_coef * kl: the number being minimised */
    double pg_loss;        /* clipped surrogate, aggregated */
    double kl;             /* KL penalty term to the reference, aggregated (0 when off) */
    double clipfrac;       /* share of tokens where the clipped term is the active one */
    double clipfrac_lower; /* share of tokens with A < 0 held by the dual-clip bound */
    double approx_kl;      /* token mean of old_logp - logp (policy drift since rollout) */
    double n_tokens;       /* sum of the mask */
} hbpo_policy_stats;

HBPODEF hbpo_policy_config hbpo_policy_config_default(void);
HBPODEF int hbpo_policy_config_check(const hbpo_policy_config *c, char *err, size_t errlen);

/* The clipped policy loss over a padded batch, as DAPO/verl define it.
   logp, old_logp (B,T): log-probs of the sampled tokens under the current and
   the rollout policy; ref_logp (B,T) or NULL when kl_coef is 0; adv (B): one
   advantage per sequence; mask (B,T): 1 for response tokens, 0 for prompt and
   padding (weights in [0, inf) are allowed). Positions whose mask is 0 are
   never read, so padding may hold anything (NaN included); their dlogp is 0.
   dlogp (B,T) out (may be NULL): d loss / d logp per token. st (may be NULL)
   receives the loss and diagnostics. Returns 0, or -1 on bad input (nothing
   written then), including a non-finite value at an unmasked position. */
HBPODEF int hbpo_policy_loss(const hbpo_policy_config *c, int B, int T, const float *logp,
                             const float *old_logp, const float *ref_logp, const float *adv,
                             const float *mask, float *dlogp, hbpo_policy_stats *st);

/* ------------------------------------------------------------------------- */
/* 4. Answer checking                                                        */
/* ------------------------------------------------------------------------- */

/* The content of the last \boxed{...} (nested braces; spaces may precede the
   brace) or "\boxed 5" (up to the next '$' or the end, trimmed) in text, or
   of the last \fbox{...} when there is no \boxed; copied to out. Returns 0
   when found, -1 when there is none or the last one never closes its brace,
   -2 when out is too small. */
HBPODEF int hbpo_extract_boxed(const char *text, char *out, size_t outlen);
/* MATH-style normalisation (lm-evaluation-harness / hendrycks strip_string):
   "\dfrac12" -> "\frac{1}{2}", "x = 5" -> "5", "50\%" -> "50", ...
   Returns 0, or -1 when out is too small or in is 4096 bytes or longer. */
HBPODEF int hbpo_strip_string(const char *in, char *out, size_t outlen);
/* 1 when pred and gold are the same answer (after normalisation, or equal as
   numbers: exactly when both are whole, else within a relative 1e-6; 27.0 =
   27, 1,000 = 1000, \frac{1}{2} = 0.5), else 0 (also when either is NULL).
   Sets like "1, 2" vs "2, 1" differ. */
HBPODEF int hbpo_math_equal(const char *pred, const char *gold);
/* GSM8K gold answer: the text after the last "####", trimmed, commas removed.
   Returns 0, -1 when there is no "####" or nothing after it, -2 when out is
   too small. */
HBPODEF int hbpo_gsm8k_extract(const char *answer, char *out, size_t outlen);
/* Judges a response against a gold answer: HBPO_CORRECT, HBPO_WRONG, or
   HBPO_NO_ANSWER when the response has no \boxed answer (NULL response
   included). The last box decides; a boxed answer of 4096 bytes or more is
   wrong. */
HBPODEF int hbpo_judge(const char *response, const char *gold);

/* ------------------------------------------------------------------------- */
/* 5. Tokenizer and chat format                                              */
/* ------------------------------------------------------------------------- */

/* ------------------------------------------------------------------------- */
/* 6. Random numbers                                                         */
/* ------------------------------------------------------------------------- */

/* An explicit generator state (saved in checkpoints), so every random choice
   is reproducible from a seed. SplitMix64 (Steele, Lea, Flood 2014; the
   seeder of the xoshiro family): the state is one 64-bit counter advanced by
   a Weyl constant and each output is a mix of it, so the whole state is `s`,
   every seed (0 included) is good, and streams are the same on every
   platform. Not cryptographic. Copying the struct forks the stream. */
typedef struct { uint64_t s; } hbpo_rng;
HBPODEF void     hbpo_rng_seed(hbpo_rng *r, uint64_t seed);
/* The high 32 bits of one SplitMix64 output. */
HBPODEF uint32_t hbpo_rng_u32(hbpo_rng *r);
/* (u32 >> 8) * 2^-24: 24 random bits, exactly representable, in [0, 1). */
HBPODEF float    hbpo_rng_uniform(hbpo_rng *r);
/* Standard normal by Box-Muller from two uniforms, no cached second value
   (so `s` stays the whole state). Computed in double: bit-identical across
   platforms except where two libm's log/cos differ by their last double bit
   and that decides the float rounding (practically never). */
HBPODEF float    hbpo_rng_normal(hbpo_rng *r);

/* ------------------------------------------------------------------------- */
/* 7. Model operations (the backend)                                         */
/* ------------------------------------------------------------------------- */

/* Row-major C = alpha * op(A) * op(B) + beta * C, op(X) = X (trans 0) or X^T
   (trans 1), as cblas_sgemm(CblasRowMajor, ...). op(A) is (M,K), op(B) is
   (K,N), C is (M,N); lda, ldb, ldc are the row strides of the arrays as
   stored (A is (K,M) in memory when trans_a, B is (N,K) when trans_b).
   beta == 0 overwrites C (NaN in C ignored), as BLAS does; K == 0 or
   alpha == 0 gives beta * C without reading A or B. Uses cblas_sgemm when
   built with HBPO_USE_OPENBLAS, else a portable loop (OpenMP over rows of C);
   the two agree within float rounding. Bad arguments (negative sizes, a
   stride below the row width, NULL with work to do, trans not 0/1) leave C
   unchanged and set hbpo_last_error().
   nn.Linear, out = x @ W.T + b with x (B*T,C), W (OC,C), out (B*T,OC):
   hbpo_sgemm(0, 1, B*T, OC, C, 1, x, C, W, C, 1, out, OC) after copying b
   into every row of out (beta = 0 when there is no bias). */
HBPODEF void hbpo_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
                        const float *A, int lda, const float *B, int ldb, float beta,
                        float *C, int ldc);
/* Threads for OpenMP regions and for OpenBLAS (n <= 0: back to the count in
   effect before the first call). Call it from one thread, outside parallel work. */
HBPODEF void hbpo_set_threads(int n);

/* CUDA backend (hbpo_cuda.cu) ---------------------------------------------- */
/* Compiled only by `make cuda` (nvcc, sm_90); not part of this header's
   implementation (always extern, even under HBPO_STATIC), so link
   hbpo_cuda.cu to use them. The CUDA kernels are not written yet in this version: hbpo_cuda_init reports that honestly. Their
   messages go to hbpo_cuda_last_error() (per thread), not hbpo_last_error(),
   because the .cu file cannot reach the implementation's private error buffer. */
/* Number of CUDA devices; 0 (with a message) when there is none or no driver. */
extern int hbpo_cuda_device_count(void);
/* Selects device (0-based). Returns 0 when ready; -1 with a message when the
   device is missing or, in this version, because the kernels are not implemented. */
extern int hbpo_cuda_init(int device);
/* The message of the last failing hbpo_cuda_* call on this thread ("" if none). */
extern const char *hbpo_cuda_last_error(void);

/* ------------------------------------------------------------------------- */
/* 8. Model: configuration, parameters, forward, backward, AdamW             */
/* ------------------------------------------------------------------------- */

/* ------------------------------------------------------------------------- */
/* 9. Generation: sampling, KV-cache decoding                                */
/* ------------------------------------------------------------------------- */

/* ------------------------------------------------------------------------- */
/* 10. Checkpoints: config.json and safetensors                              */
/* ------------------------------------------------------------------------- */

/* ------------------------------------------------------------------------- */
/* 11. I/O: files, JSON, JSON Lines                                          */
/* ------------------------------------------------------------------------- */

/* Reads a whole file (at most max_bytes; 0 = 1 GiB) into a NUL-terminated
   buffer that the caller frees with hbpo_free. Returns NULL on error. */
HBPODEF char *hbpo_read_file(const char *path, size_t max_bytes, size_t *len);
HBPODEF void  hbpo_free(void *p);

typedef enum {
    HBPO_JSON_NULL = 0, HBPO_JSON_FALSE, HBPO_JSON_TRUE, HBPO_JSON_NUMBER,
    HBPO_JSON_STRING, HBPO_JSON_ARRAY, HBPO_JSON_OBJECT
} hbpo_json_type;

typedef struct hbpo_json hbpo_json;
struct hbpo_json {
    hbpo_json_type type;
    const char *key;     /* member name when the parent is an object, else NULL */
    const char *str;     /* decoded UTF-8, NUL-terminated (strings only) */
    size_t      len;     /* string length in bytes, or number of children */
    double      num;     /* numbers */
    hbpo_json  *child;   /* first element / member (arrays, objects) */
    hbpo_json  *next;    /* next sibling */
};

typedef struct {
    hbpo_json *root;     /* NULL until parsed */
    hbpo_json *nodes;    /* all values, one allocation */
    char      *strings;  /* all decoded strings, one allocation */
    size_t     n_nodes;
} hbpo_json_doc;

/* Parses len bytes of JSON (strict RFC 8259, nesting depth <= 512; text need
   not be NUL-terminated; a UTF-8 byte order mark at the start is skipped).
   Returns 0, or -1 with "line L, column C: reason" (C in bytes) in
   hbpo_last_error(). doc is overwritten (free a previous document first). The
   document owns every value; walk them with `for (m = v->child; m; m = m->next)`;
   free it with hbpo_json_free (also after a failed parse, on a zeroed doc, twice).
   Numbers are read with strtod in the "C" numeric locale; out of range is an error. */
HBPODEF int  hbpo_json_parse(hbpo_json_doc *doc, const char *text, size_t len);
HBPODEF void hbpo_json_free(hbpo_json_doc *doc);
/* Object member by name (first match), or NULL. Names are compared as C
   strings, so a name holding a NUL byte matches up to that byte. */
HBPODEF const hbpo_json *hbpo_json_get(const hbpo_json *obj, const char *key);
/* Array element (or object member) by index, or NULL. O(i): walk child/next in loops. */
HBPODEF const hbpo_json *hbpo_json_at(const hbpo_json *arr, size_t i);
/* The string of a member, or NULL when absent or not a string. */
HBPODEF const char *hbpo_json_get_string(const hbpo_json *obj, const char *key);

/* A JSON Lines reader: one JSON value per line, blank lines skipped, CRLF
   accepted. Lines longer than 64 MiB are an error. */
typedef struct {
    void  *file;         /* FILE* */
    char  *buf;          /* current line */
    size_t cap;
    long   line;         /* 1-based number of the line last read */
} hbpo_jsonl;

HBPODEF int  hbpo_jsonl_open(hbpo_jsonl *r, const char *path);
/* Reads the next non-blank line into doc (freed and refilled on each call, so
   zero it before the first; line numbers in messages are the file's lines).
   Returns 1 with a value, 0 at the end of the file, -1 when the line is not
   valid JSON (message names the line; the next call continues after it),
   -2 on a read error. */
HBPODEF int  hbpo_jsonl_next(hbpo_jsonl *r, hbpo_json_doc *doc);
HBPODEF void hbpo_jsonl_close(hbpo_jsonl *r);

#ifdef __cplusplus
}
#endif
#endif /* HBPO_H */

/* ========================================================================= */
/* Implementation                                                            */
/* ========================================================================= */
#ifdef HBPO_IMPLEMENTATION
#ifndef HBPO_IMPLEMENTATION_DONE
#define HBPO_IMPLEMENTATION_DONE

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef HBPO_USE_OPENBLAS
#include <cblas.h>
#endif

#if defined(HBPO_MALLOC) && defined(HBPO_REALLOC) && defined(HBPO_FREE)
/* all three given */
#elif !defined(HBPO_MALLOC) && !defined(HBPO_REALLOC) && !defined(HBPO_FREE)
#define HBPO_MALLOC(sz) malloc(sz)
#define HBPO_REALLOC(p, sz) realloc(p, sz)
#define HBPO_FREE(p) free(p)
#else
#error "hbpo.h: define all of HBPO_MALLOC, HBPO_REALLOC and HBPO_FREE, or none"
#endif

#ifdef __cplusplus
#define HBPO__THREAD_LOCAL thread_local
#elif defined(_MSC_VER)
#define HBPO__THREAD_LOCAL __declspec(thread)
#else
#define HBPO__THREAD_LOCAL _Thread_local
#endif

#if defined(__GNUC__) || defined(__clang__)
#define HBPO__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define HBPO__PRINTF(a, b)
#endif

/* HBPO__OMP(omp parallel for ...) is an OpenMP pragma under -fopenmp and
   nothing otherwise, so builds without OpenMP see no unknown pragmas. */
#ifdef _OPENMP
#define HBPO__OMP(x) _Pragma(#x)
#else
#define HBPO__OMP(x)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------- */
/* 1. Configuration                                                          */
/* ------------------------------------------------------------------------- */

static HBPO__THREAD_LOCAL char hbpo__err[512];

HBPODEF const char *hbpo_last_error(void) { return hbpo__err; }
HBPODEF void hbpo_clear_error(void) { hbpo__err[0] = 0; }

/* Sets the error message; returns -1 so that callers can `return hbpo__fail(...)`. */
static int hbpo__fail(const char *fmt, ...) HBPO__PRINTF(1, 2);
static int hbpo__fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(hbpo__err, sizeof hbpo__err, fmt, ap);
    va_end(ap);
    return -1;
}

/* Overflow-checked a*b for sizes read from files; 0 on overflow (callers treat 0 as error). */
static size_t hbpo__mul_size(size_t a, size_t b) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    return a * b;
}

HBPODEF hbpo_budget_config hbpo_budget_config_default(void) {
    hbpo_budget_config c;
    memset(&c, 0, sizeof c);
    c.mode = HBPO_MODE_PAPER;
    c.k = 4;
    c.budget[0] = 512; c.budget[1] = 1024; c.budget[2] = 2048; c.budget[3] = 2560;
    c.l_max = 4096;
    c.alpha = 1.0f / 4096.0f;
    c.beta = 4.0f;
    return c;
}

HBPODEF int hbpo_budget_config_check(const hbpo_budget_config *c, char *err, size_t errlen) {
    int i, rc = 0;
    char msg[256];
    msg[0] = 0;
    if (!c) snprintf(msg, sizeof msg, "budget config is NULL");
    else if (c->mode != HBPO_MODE_PAPER && c->mode != HBPO_MODE_OFFICIAL)
        snprintf(msg, sizeof msg, "mode %d is neither paper (0) nor official (1)", c->mode);
    else if (c->k < 1 || c->k > HBPO_MAX_BUDGETS)
        snprintf(msg, sizeof msg, "k = %d budgets: must be 1..%d", c->k, HBPO_MAX_BUDGETS);
    else if (c->l_max < 1 || c->l_max > (1 << 24))
        snprintf(msg, sizeof msg, "l_max = %d: must be 1..%d", c->l_max, 1 << 24);
    else if (!isfinite(c->alpha) || c->alpha < 0)
        snprintf(msg, sizeof msg, "alpha = %g: must be finite and >= 0", (double)c->alpha);
    else if (!isfinite(c->beta) || c->beta <= 0)
        snprintf(msg, sizeof msg, "beta = %g: must be finite and > 0", (double)c->beta);
    else {
        for (i = 0; i < c->k; i++) {
            if (c->budget[i] < 1 || c->budget[i] > c->l_max) {
                snprintf(msg, sizeof msg, "budget[%d] = %d: must be 1..l_max (%d)", i,
                         c->budget[i], c->l_max);
                break;
            }
            if (i > 0 && c->budget[i] <= c->budget[i - 1]) {
                snprintf(msg, sizeof msg, "budgets must ascend: budget[%d] = %d <= budget[%d] = %d",
                         i, c->budget[i], i - 1, c->budget[i - 1]);
                break;
            }
        }
    }
    if (msg[0]) {
        rc = hbpo__fail("%s", msg);
        if (err && errlen) snprintf(err, errlen, "%s", msg);
    } else if (err && errlen) {
        err[0] = 0;
    }
    return rc;
}

/* ------------------------------------------------------------------------- */
/* 2. HBPO math                                                              */
/* ------------------------------------------------------------------------- */

/* Every function here is pure: no allocation, no state, results computed in
   double and rounded once at the end. */

#define HBPO__PI 3.14159265358979323846
/* The released code writes PI_APPROX = 3.1416 in both the reward and the baseline. */
#define HBPO__PI_OFFICIAL 3.1416
/* The epsilon of A_inter's denominator (Algorithm 1; 1e-6 in the released code too). */
#define HBPO__STD_EPS 1e-6

static double hbpo__pi(const hbpo_budget_config *c) {
    return c->mode == HBPO_MODE_OFFICIAL ? HBPO__PI_OFFICIAL : HBPO__PI;
}

/* numpy's round(x, 2): scale, round half to even, unscale. */
static double hbpo__round2(double x) { return nearbyint(x * 100.0) / 100.0; }

/* The cosine length reward beta * cos(pi * n / (2 * L_max)) that both cases share:
   beta at n = 0, 0 at n = L_max. */
static double hbpo__cosine(const hbpo_budget_config *c, double n) {
    if (!c || c->l_max <= 0) { /* the one division of the reward; never divide by zero */
        hbpo__fail("hbpo reward: %s", c ? "l_max must be positive" : "budget config is NULL");
        return 0.0;
    }
    return (double)c->beta * cos(hbpo__pi(c) * n / (2.0 * c->l_max));
}

/* Eq. reward_intra, first case: f2(b) = beta * cos(pi * b / (2 * L_max)). */
HBPODEF double hbpo_reward_f2(const hbpo_budget_config *c, int budget) {
    return hbpo__cosine(c, budget);
}

/* Eq. reward_intra, second case: f1(n, b) = beta * cos(pi * n / (2 * L_max)) - alpha * |n - b|. */
HBPODEF double hbpo_reward_f1(const hbpo_budget_config *c, double n_gen, int budget) {
    double cosine = hbpo__cosine(c, n_gen);
    if (!c) return 0.0;
    return cosine - (double)c->alpha * fabs(n_gen - budget);
}

/* Eq. reward_intra, the piecewise whole, for a correct answer within L_max.
   Paper: f2(b) when n <= b (flat: no pressure below the budget), f1 beyond.
   Released code (verl/utils/reward_score/math.py): min(f1, f2) at every length,
   and the plain cosine rounded to 2 decimals when there is no budget or b = 3072. */
HBPODEF double hbpo_reward_correct(const hbpo_budget_config *c, double n_gen, int budget) {
    double cosine = hbpo__cosine(c, n_gen);
    if (!c) return 0.0;
    if (c->mode == HBPO_MODE_OFFICIAL) {
        if (budget <= 0 || budget == 3072) return hbpo__round2(cosine);
        return fmin(hbpo_reward_f1(c, n_gen, budget), hbpo_reward_f2(c, budget));
    }
    if (budget <= 0) return cosine;
    return n_gen <= budget ? hbpo_reward_f2(c, budget) : hbpo_reward_f1(c, n_gen, budget);
}

HBPODEF float hbpo_reward(const hbpo_budget_config *c, int outcome, int n_gen, int budget) {
    if (hbpo_budget_config_check(c, NULL, 0) != 0) return 0.0f;
    if (outcome != HBPO_CORRECT && outcome != HBPO_WRONG && outcome != HBPO_NO_ANSWER) {
        hbpo__fail("hbpo_reward: outcome %d is not HBPO_CORRECT, HBPO_WRONG or HBPO_NO_ANSWER", outcome);
        return 0.0f;
    }
    if (n_gen < 0) {
        hbpo__fail("hbpo_reward: n_gen = %d is negative", n_gen);
        return 0.0f;
    }
    /* The released code gives -1 when the response has no \boxed answer at all. */
    if (outcome == HBPO_NO_ANSWER && c->mode == HBPO_MODE_OFFICIAL) return -1.0f;
    /* Wrong, unanswered (paper), or longer than the context: 0. */
    if (outcome != HBPO_CORRECT || n_gen > c->l_max) return 0.0f;
    return (float)hbpo_reward_correct(c, n_gen, budget);
}

/* Checks the arguments shared by the advantage functions; zeroes adv on bad
   rewards so that no NaN leaks into training. Returns 0 when usable. */
static int hbpo__adv_args(const char *fn, int n, const float *reward, float *adv) {
    int j;
    if (n <= 0 || !reward || !adv) return hbpo__fail("%s: need n > 0 and non-NULL arrays (n = %d)", fn, n);
    for (j = 0; j < n; j++) {
        if (!isfinite(reward[j])) {
            for (j = 0; j < n; j++) adv[j] = 0.0f;
            return hbpo__fail("%s: reward is not finite; advantages set to 0", fn);
        }
    }
    return 0;
}

/* Algorithm 1, A_inter(i,j) = (R_ij - mean(R)) / (std(R) + 1e-6) over all n
   rollouts of the query; std is the unbiased (n - 1) sample deviation, taken
   as 0 for n = 1 (so a lone rollout gets 0: nothing to compare against). */
HBPODEF void hbpo_grpo_advantages(int n, const float *reward, float *adv) {
    double mean = 0.0, var = 0.0, std;
    int j;
    if (hbpo__adv_args("hbpo_grpo_advantages", n, reward, adv) != 0) return;
    for (j = 0; j < n; j++) mean += reward[j];
    mean /= n;
    for (j = 0; j < n; j++) var += (reward[j] - mean) * (reward[j] - mean);
    std = n > 1 ? sqrt(var / (n - 1)) : 0.0;
    for (j = 0; j < n; j++) adv[j] = (float)((reward[j] - mean) / (std + HBPO__STD_EPS));
}

/* Dr. GRPO (Liu et al. 2025): A_j = R_j - mean(R), without the std division. */
HBPODEF void hbpo_drgrpo_advantages(int n, const float *reward, float *adv) {
    double mean = 0.0;
    int j;
    if (hbpo__adv_args("hbpo_drgrpo_advantages", n, reward, adv) != 0) return;
    for (j = 0; j < n; j++) mean += reward[j];
    mean /= n;
    for (j = 0; j < n; j++) adv[j] = (float)(reward[j] - mean);
}

/* Algorithm 1, A_intra(i) = mu_i - f2(b_i): how the subgroup did against what
   its budget promises. O(n) per call; hbpo_advantages calls it per rollout,
   which is O(n^2) for one query — n is 16 in the paper. */
HBPODEF double hbpo_intra_advantage(const hbpo_budget_config *c, int n, const float *reward,
                                    const int *budget, int b) {
    double sum = 0.0;
    int j, count = 0;
    if (b <= 0 || n <= 0 || !reward || !budget) return 0.0;
    for (j = 0; j < n; j++)
        if (budget[j] == b) { sum += reward[j]; count++; }
    if (count == 0) return 0.0;
    return sum / count - hbpo_reward_f2(c, b);
}

/* Algorithm 1, A(i,j) = A_intra(i) + A_inter(i,j). The released code adds the
   intra term twice (core_algos.py adds `aintra` inside and after its branch),
   and treats a group of one as mean 0, std 1 (A = R / (1 + 1e-6)). */
HBPODEF void hbpo_advantages(const hbpo_budget_config *c, int n, const float *reward,
                             const int *budget, float *adv) {
    int j, official;
    double w;
    if (hbpo__adv_args("hbpo_advantages", n, reward, adv) != 0) return;
    if (!budget || hbpo_budget_config_check(c, NULL, 0) != 0) {
        for (j = 0; j < n; j++) adv[j] = 0.0f;
        if (!budget) hbpo__fail("hbpo_advantages: budget array is NULL; advantages set to 0");
        return;
    }
    official = c->mode == HBPO_MODE_OFFICIAL;
    if (official && n == 1) {
        adv[0] = (float)(reward[0] / (1.0 + HBPO__STD_EPS));
        return;
    }
    hbpo_grpo_advantages(n, reward, adv);
    w = official ? 2.0 : 1.0;
    for (j = 0; j < n; j++)
        adv[j] = (float)(adv[j] + w * hbpo_intra_advantage(c, n, reward, budget, budget[j]));
}

HBPODEF double hbpo_budget_crossing(const hbpo_budget_config *c, int b_lo, int b_hi) {
    double lo = b_lo, hi = b_hi, d_lo, d_hi;
    int it;
    if (hbpo_budget_config_check(c, NULL, 0) != 0) return -1.0;
    if (b_lo <= 0 || b_hi <= b_lo || b_hi > c->l_max)
        return hbpo__fail("hbpo_budget_crossing: need 0 < b_lo < b_hi <= l_max (got %d, %d)", b_lo, b_hi);
    /* d(n) = R(n, b_lo) - R(n, b_hi): positive at b_lo (smaller budgets pay more),
       negative once the smaller budget's curve has decayed below the larger's. */
    d_lo = hbpo_reward_correct(c, lo, b_lo) - hbpo_reward_correct(c, lo, b_hi);
    d_hi = hbpo_reward_correct(c, hi, b_lo) - hbpo_reward_correct(c, hi, b_hi);
    if (!(d_lo > 0.0) || !(d_hi < 0.0)) return -1.0;
    for (it = 0; it < 200 && hi - lo > 1e-9; it++) {
        double mid = 0.5 * (lo + hi);
        double d = hbpo_reward_correct(c, mid, b_lo) - hbpo_reward_correct(c, mid, b_hi);
        if (d > 0.0) lo = mid; else hi = mid;
    }
    return 0.5 * (lo + hi);
}

HBPODEF int hbpo_budget_prompt(int mode, int budget, char *out, size_t outlen) {
    /* The paper: "I will answer the question within b tokens"; the released
       code prefills "<think> I will answer the question with b tokens". */
    const char *fmt = mode == HBPO_MODE_OFFICIAL ? "I will answer the question with %d tokens"
                                                 : "I will answer the question within %d tokens";
    int len;
    if (mode != HBPO_MODE_PAPER && mode != HBPO_MODE_OFFICIAL)
        return hbpo__fail("hbpo_budget_prompt: mode %d is neither paper nor official", mode);
    if (budget <= 0) return hbpo__fail("hbpo_budget_prompt: budget %d must be positive", budget);
    if (!out || outlen == 0) return hbpo__fail("hbpo_budget_prompt: no output buffer");
    len = snprintf(out, outlen, fmt, budget);
    if (len < 0 || (size_t)len >= outlen) {
        out[0] = 0;
        return hbpo__fail("hbpo_budget_prompt: buffer of %zu bytes is too small", outlen);
    }
    return len;
}

/* ------------------------------------------------------------------------- */
/* 3. Policy objective                                                       */
/* ------------------------------------------------------------------------- */

HBPODEF hbpo_policy_config hbpo_policy_config_default(void) {
    hbpo_policy_config c;
    memset(&c, 0, sizeof c);
    c.eps_low = 0.2f;   /* the paper's epsilon_low */
    c.eps_high = 0.28f; /* the paper's epsilon_high (DAPO clip-higher) */
    c.clip_c = 3.0f;    /* verl's clip_ratio_c */
    c.agg = HBPO_AGG_TOKEN_MEAN;
    c.kl_coef = 0.0f;   /* KL off, as in the paper */
    c.kl_estimator = HBPO_KL_K1;
    return c;
}

HBPODEF int hbpo_policy_config_check(const hbpo_policy_config *c, char *err, size_t errlen) {
    char msg[256];
    msg[0] = 0;
    if (!c) snprintf(msg, sizeof msg, "policy config is NULL");
    else if (!isfinite(c->eps_low) || c->eps_low < 0 || c->eps_low >= 1)
        snprintf(msg, sizeof msg, "eps_low = %g: must be in [0, 1)", (double)c->eps_low);
    else if (!isfinite(c->eps_high) || c->eps_high < 0)
        snprintf(msg, sizeof msg, "eps_high = %g: must be finite and >= 0", (double)c->eps_high);
    else if (!isfinite(c->clip_c) || c->clip_c <= 1)
        snprintf(msg, sizeof msg, "clip_c = %g: the dual-clip bound must be finite and > 1",
                 (double)c->clip_c);
    else if (c->agg < HBPO_AGG_TOKEN_MEAN || c->agg > HBPO_AGG_SEQ_MEAN_TOKEN_MEAN)
        snprintf(msg, sizeof msg, "agg = %d: not a HBPO_AGG_* mode", c->agg);
    else if (!isfinite(c->kl_coef) || c->kl_coef < 0)
        snprintf(msg, sizeof msg, "kl_coef = %g: must be finite and >= 0", (double)c->kl_coef);
    else if (c->kl_estimator != HBPO_KL_K1 && c->kl_estimator != HBPO_KL_K3)
        snprintf(msg, sizeof msg, "kl_estimator = %d: not HBPO_KL_K1 or HBPO_KL_K3", c->kl_estimator);
    if (err && errlen) snprintf(err, errlen, "%s", msg);
    return msg[0] ? hbpo__fail("%s", msg) : 0;
}

/* One token of the clipped surrogate (DAPO / verl compute_policy_loss):
     ratio = exp(logp - old_logp)
     clip1 = max(-A * ratio, -A * clamp(ratio, 1 - eps_low, 1 + eps_high))
     loss  = A < 0 ? min(clip1, -A * clip_c) : clip1          (dual clip)
   Returns the loss; *grad = d loss / d logp; *clipped and *dual say which
   bound is active (for clipfrac and clipfrac_lower). */
static double hbpo__clipped_token(const hbpo_policy_config *c, double logp, double old_logp,
                                  double A, double *grad, int *clipped, int *dual) {
    double ratio = exp(logp - old_logp);
    double lo = 1.0 - c->eps_low, hi = 1.0 + c->eps_high;
    double rc = ratio < lo ? lo : ratio > hi ? hi : ratio;
    double pg1 = -A * ratio, pg2 = -A * rc, clip1, g;
    *clipped = pg2 > pg1; /* only possible when the ratio is outside [lo, hi]: rc is then constant */
    clip1 = *clipped ? pg2 : pg1;
    g = *clipped ? 0.0 : -A * ratio; /* d(-A * ratio)/d logp = -A * ratio */
    *dual = 0;
    if (A < 0 && clip1 > -A * c->clip_c) {
        *dual = 1;
        clip1 = -A * c->clip_c;
        g = 0.0;
    }
    *grad = g;
    return clip1;
}

/* The KL penalty to the reference policy per token (Schulman's estimators, as
   verl's kl_penalty "kl" and "low_var_kl"):
     k1 = logp - ref_logp
     k3 = clamp(exp(ref - logp) - (ref - logp) - 1, -10, 10)  (>= 0, low variance) */
static double hbpo__kl_token(int estimator, double logp, double ref_logp, double *grad) {
    double x, v;
    if (estimator == HBPO_KL_K1) {
        *grad = 1.0;
        return logp - ref_logp;
    }
    x = ref_logp - logp;
    v = exp(x) - x - 1.0;
    if (v > 10.0) { *grad = 0.0; return 10.0; }
    *grad = 1.0 - exp(x); /* d/d logp of exp(ref - logp) - (ref - logp) - 1 */
    return v;
}

HBPODEF int hbpo_policy_loss(const hbpo_policy_config *c, int B, int T, const float *logp,
                             const float *old_logp, const float *ref_logp, const float *adv,
                             const float *mask, float *dlogp, hbpo_policy_stats *st) {
    double n_tok = 0.0, pg = 0.0, kl = 0.0, clipped = 0.0, dual = 0.0, drift = 0.0;
    int b, t, use_kl;
    if (hbpo_policy_config_check(c, NULL, 0) != 0) return -1;
    if (B <= 0 || T <= 0) return hbpo__fail("hbpo_policy_loss: B = %d, T = %d must be positive", B, T);
    if ((size_t)B > SIZE_MAX / (size_t)T) return hbpo__fail("hbpo_policy_loss: B*T overflows");
    if (!logp || !old_logp || !adv || !mask)
        return hbpo__fail("hbpo_policy_loss: logp, old_logp, adv and mask are required");
    use_kl = c->kl_coef > 0.0f;
    if (use_kl && !ref_logp)
        return hbpo__fail("hbpo_policy_loss: kl_coef = %g needs ref_logp", (double)c->kl_coef);
    /* Validate first, so that a bad element leaves no half-written gradient. Masked-out
       positions are never read as numbers: padding may hold anything. */
    for (b = 0; b < B; b++) {
        for (t = 0; t < T; t++) {
            size_t i = (size_t)b * T + t;
            float m = mask[i];
            if (!isfinite(m) || m < 0) return hbpo__fail("hbpo_policy_loss: mask[%d][%d] = %g", b, t, (double)m);
            if (m == 0) continue;
            if (!isfinite(adv[b]) || !isfinite(logp[i]) || !isfinite(old_logp[i]) ||
                (use_kl && !isfinite(ref_logp[i])))
                return hbpo__fail("hbpo_policy_loss: non-finite input at sequence %d, token %d", b, t);
            n_tok += m;
        }
    }
    for (b = 0; b < B; b++) {
        /* Aggregation weight of one token of this row (verl agg_loss):
           token-mean 1/sum(mask); seq-mean-token-sum 1/B; seq-mean-token-mean
           1/(B * row tokens), a row without tokens contributing nothing. */
        double row = 0.0, w;
        for (t = 0; t < T; t++) row += mask[(size_t)b * T + t];
        if (c->agg == HBPO_AGG_TOKEN_MEAN) w = n_tok > 0 ? 1.0 / n_tok : 0.0;
        else if (c->agg == HBPO_AGG_SEQ_MEAN_TOKEN_SUM) w = 1.0 / B;
        else w = row > 0 ? 1.0 / (B * row) : 0.0;
        for (t = 0; t < T; t++) {
            size_t i = (size_t)b * T + t;
            double m = mask[i], g_pg, g_kl = 0.0, tok;
            int is_clipped, is_dual;
            if (m == 0) {
                if (dlogp) dlogp[i] = 0.0f;
                continue;
            }
            tok = hbpo__clipped_token(c, logp[i], old_logp[i], adv[b], &g_pg, &is_clipped, &is_dual);
            pg += w * m * tok;
            clipped += m * is_clipped;
            dual += m * is_dual;
            drift += m * ((double)old_logp[i] - logp[i]);
            if (use_kl) kl += w * m * hbpo__kl_token(c->kl_estimator, logp[i], ref_logp[i], &g_kl);
            if (dlogp) dlogp[i] = (float)(w * m * (g_pg + (double)c->kl_coef * g_kl));
        }
    }
    if (st) {
        memset(st, 0, sizeof *st);
        st->pg_loss = pg;
        st->kl = kl;
        st->loss = pg + (double)c->kl_coef * kl;
        st->n_tokens = n_tok;
        if (n_tok > 0) {
            st->clipfrac = clipped / n_tok;
            st->clipfrac_lower = dual / n_tok;
            st->approx_kl = drift / n_tok;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* 4. Answer checking                                                        */
/* ------------------------------------------------------------------------- */

/* Answer checking follows the MATH benchmark's reference checker as kept in
   lm-evaluation-harness (tasks/hendrycks_math/utils.py: last_boxed_only_string,
   remove_boxed, strip_string, is_equiv) rule for rule; hbpo_math_equal adds a
   few rules on top, each named with the answer that needs it. Where the
   reference raises an exception, the step that would raise leaves the string
   unchanged (is_equiv would instead fall back to comparing raw strings).
   Every string lives in fixed buffers of HBPO__ANS_MAX bytes: no allocation;
   longer answers are compared as raw strings. */
#define HBPO__ANS_MAX 4096

static int hbpo__ans_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Bytes of the UTF-8 character at s (1 for ASCII and for malformed bytes): the
   reference indexes Python strings, whose s[0] is one code point. */
static size_t hbpo__ans_u8len(const char *s) {
    unsigned char c = (unsigned char)s[0];
    size_t n = 1, i;
    if ((c & 0xE0) == 0xC0) n = 2;
    else if ((c & 0xF0) == 0xE0) n = 3;
    else if ((c & 0xF8) == 0xF0) n = 4;
    for (i = 1; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) return 1;
    return n;
}

/* Code points in the n bytes at s (Python's len()). */
static size_t hbpo__ans_u8count(const char *s, size_t n) {
    size_t i, count = 0;
    for (i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) count++;
    return count;
}

/* A string under construction in a buffer of cap bytes; ok drops to 0 (and
   stays there) when an append would not fit with its NUL. */
typedef struct {
    char  *p;
    size_t n, cap;
    int    ok;
} hbpo__ans_buf;

static void hbpo__ans_init(hbpo__ans_buf *b, char *p, size_t cap) {
    b->p = p;
    b->n = 0;
    b->cap = cap;
    b->ok = cap > 0;
    if (cap) p[0] = 0;
}

static void hbpo__ans_put(hbpo__ans_buf *b, const char *s, size_t n) {
    if (!b->ok) return;
    if (n >= b->cap - b->n) { b->ok = 0; return; }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void hbpo__ans_puts(hbpo__ans_buf *b, const char *s) { hbpo__ans_put(b, s, strlen(s)); }

/* ---- \boxed extraction (last_boxed_only_string + remove_boxed) ---- */

/* The start of the last occurrence of pat that begins before `before`. */
static int hbpo__ans_rfind(const char *text, size_t before, const char *pat, size_t *at) {
    const char *p = text, *hit;
    int found = 0;
    while ((hit = strstr(p, pat)) != NULL && (size_t)(hit - text) < before) {
        *at = (size_t)(hit - text);
        found = 1;
        p = hit + 1;
    }
    return found;
}

/* The answer of the box command (cmdlen bytes) at text[at]: 1 with its bytes
   [*b, *e), 0 when this occurrence is not a box ("\boxedx", or "\boxed " with
   nothing after it), -1 when its brace never closes. Spaces may separate the
   command from its brace ("\boxed {5}"). With spaced set, "\boxed 5" is a box
   whose answer runs to the next '$' or the end of the text, trimmed (as
   last_boxed_only_string's split("\\boxed ")[-1].split("$")[0]). Braces are
   counted without regard to escapes, as the reference does: "\{1,2\}" still
   balances. */
static int hbpo__ans_box_at(const char *text, size_t at, size_t cmdlen, int spaced,
                            size_t *b, size_t *e) {
    size_t i = at + cmdlen, j;
    int depth = 0;
    while (hbpo__ans_space(text[i])) i++;
    if (text[i] == '{') {
        for (j = i; text[j]; j++) {
            if (text[j] == '{') depth++;
            else if (text[j] == '}' && --depth == 0) {
                *b = i + 1;
                *e = j;
                return 1;
            }
        }
        return -1;
    }
    if (!spaced || i == at + cmdlen) return 0;
    for (j = i; text[j] && text[j] != '$'; j++) {}
    while (j > i && hbpo__ans_space(text[j - 1])) j--;
    if (j == i) return 0;
    *b = i;
    *e = j;
    return 1;
}

/* Whichever \boxed occurs last wins. The released HBPO code (like the
   reference) returns the last "\boxed " form whenever one exists, even before
   a later "\boxed{"; we do not copy that quirk: the answer a model wrote last
   is its final answer. \fbox{...} counts only when the text has no \boxed
   answer at all, as in the reference. */
HBPODEF int hbpo_extract_boxed(const char *text, char *out, size_t outlen) {
    static const char *const cmd[2] = {"\\boxed", "\\fbox"};
    size_t at, b = 0, e = 0, before, len;
    int c, r = 0;
    if (!text) return hbpo__fail("hbpo_extract_boxed: text is NULL");
    for (c = 0; c < 2 && r != 1; c++) {
        before = strlen(text) + 1;
        while (hbpo__ans_rfind(text, before, cmd[c], &at)) {
            r = hbpo__ans_box_at(text, at, strlen(cmd[c]), c == 0, &b, &e);
            if (r < 0)
                return hbpo__fail("hbpo_extract_boxed: the last %s has no closing brace", cmd[c]);
            if (r == 1) break;
            before = at;
        }
    }
    if (r != 1) return hbpo__fail("hbpo_extract_boxed: no \\boxed answer");
    len = e - b;
    if (!out || len >= outlen) {
        hbpo__fail("hbpo_extract_boxed: answer of %lu bytes does not fit in %lu",
                   (unsigned long)len, (unsigned long)outlen);
        return -2;
    }
    memcpy(out, text + b, len);
    out[len] = 0;
    return 0;
}

/* ---- strip_string and its helpers; each writes dst (HBPO__ANS_MAX bytes)
   from src and returns 0, or -1 when the result does not fit ---- */

static int hbpo__ans_done(const hbpo__ans_buf *b) { return b->ok ? 0 : -1; }

static int hbpo__ans_copy(char *dst, const char *src, size_t n) {
    hbpo__ans_buf b;
    hbpo__ans_init(&b, dst, HBPO__ANS_MAX);
    hbpo__ans_put(&b, src, n);
    return hbpo__ans_done(&b);
}

/* Python's src.replace(from, to): left to right, non-overlapping. */
static int hbpo__ans_replace(char *dst, const char *src, const char *from, const char *to) {
    hbpo__ans_buf b;
    const char *hit;
    size_t m = strlen(from);
    hbpo__ans_init(&b, dst, HBPO__ANS_MAX);
    while ((hit = strstr(src, from)) != NULL) {
        hbpo__ans_put(&b, src, (size_t)(hit - src));
        hbpo__ans_puts(&b, to);
        src = hit + m;
    }
    hbpo__ans_puts(&b, src);
    return hbpo__ans_done(&b);
}

/* remove_right_units: "\text{ " introduces a unit ("5.4 \text{ cents}"), so
   keep what precedes it. The reference asserts that it occurs once; when it
   occurs more often the string stays as it is. */
static int hbpo__ans_units(char *dst, const char *src) {
    const char *hit = strstr(src, "\\text{ ");
    if (hit && !strstr(hit + 1, "\\text{ ")) return hbpo__ans_copy(dst, src, (size_t)(hit - src));
    return hbpo__ans_copy(dst, src, strlen(src));
}

/* "k = 5" -> " 5": exactly one '=' with at most 2 characters before it. */
static int hbpo__ans_equals(char *dst, const char *src) {
    const char *eq = strchr(src, '=');
    if (eq && !strchr(eq + 1, '=') && hbpo__ans_u8count(src, (size_t)(eq - src)) <= 2)
        return hbpo__ans_copy(dst, eq + 1, strlen(eq + 1));
    return hbpo__ans_copy(dst, src, strlen(src));
}

/* fix_sqrt and fix_fracs share their shape: split src on cmd and rewrite every
   piece after the first. The reference indexes piece[0], which raises on an
   empty piece ("\sqrt" at the end, "\frac\frac12"): the string then stays as it
   is. fix_sqrt: "\sqrt3" -> "\sqrt{3}". fix_fracs: "\frac12" -> "\frac{1}{2}",
   "\frac1{72}" -> "\frac{1}{72}", a piece of one character leaves the string
   as it is (the reference's own `return string`). */
static int hbpo__ans_fix_cmd(char *dst, const char *src, const char *cmd, int is_frac) {
    hbpo__ans_buf b;
    const char *hit = strstr(src, cmd), *piece, *next;
    size_t m = strlen(cmd), len, c1, c2;
    hbpo__ans_init(&b, dst, HBPO__ANS_MAX);
    if (!hit) return hbpo__ans_copy(dst, src, strlen(src));
    hbpo__ans_put(&b, src, (size_t)(hit - src));
    while (hit) {
        piece = hit + m;
        next = strstr(piece, cmd);
        len = next ? (size_t)(next - piece) : strlen(piece);
        if (len == 0) return hbpo__ans_copy(dst, src, strlen(src));
        hbpo__ans_puts(&b, cmd);
        if (piece[0] == '{') {
            hbpo__ans_put(&b, piece, len);
        } else if (!is_frac) {
            c1 = hbpo__ans_u8len(piece);
            hbpo__ans_puts(&b, "{");
            hbpo__ans_put(&b, piece, c1);
            hbpo__ans_puts(&b, "}");
            hbpo__ans_put(&b, piece + c1, len - c1);
        } else {
            c1 = hbpo__ans_u8len(piece);
            if (c1 >= len) return hbpo__ans_copy(dst, src, strlen(src));
            c2 = hbpo__ans_u8len(piece + c1);
            hbpo__ans_puts(&b, "{");
            hbpo__ans_put(&b, piece, c1);
            hbpo__ans_puts(&b, "}");
            if (piece[c1] != '{') {
                hbpo__ans_puts(&b, "{");
                hbpo__ans_put(&b, piece + c1, c2);
                hbpo__ans_puts(&b, "}");
                hbpo__ans_put(&b, piece + c1 + c2, len - c1 - c2);
            } else {
                hbpo__ans_put(&b, piece + c1, len - c1);
            }
        }
        hit = next;
    }
    return hbpo__ans_done(&b);
}

/* An integer as Python's str(int(x)) writes it: "0" or -?[1-9][0-9]*. */
static int hbpo__ans_canonical_int(const char *s, size_t n) {
    size_t i = (n > 0 && s[0] == '-') ? 1 : 0;
    if (i >= n) return 0;
    if (s[i] == '0') return n == 1;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

/* fix_a_slash_b: "3/4" -> "\frac{3}{4}" when both sides are integers written
   canonically (the reference asserts string == "{}/{}".format(int(a), int(b))).
   Where the reference's int() would raise ("x/2"), the string stays as it is. */
static int hbpo__ans_slash(char *dst, const char *src) {
    const char *slash = strchr(src, '/');
    hbpo__ans_buf b;
    if (!slash || strchr(slash + 1, '/') || !hbpo__ans_canonical_int(src, (size_t)(slash - src)) ||
        !hbpo__ans_canonical_int(slash + 1, strlen(slash + 1)))
        return hbpo__ans_copy(dst, src, strlen(src));
    hbpo__ans_init(&b, dst, HBPO__ANS_MAX);
    hbpo__ans_puts(&b, "\\frac{");
    hbpo__ans_put(&b, src, (size_t)(slash - src));
    hbpo__ans_puts(&b, "}{");
    hbpo__ans_puts(&b, slash + 1);
    hbpo__ans_puts(&b, "}");
    return hbpo__ans_done(&b);
}

/* Makes the result of a step (rc) the current string: swaps *s and *t. */
static int hbpo__ans_next(int rc, char **s, char **t) {
    char *x = *s;
    if (rc < 0) return -1;
    *s = *t;
    *t = x;
    return 0;
}

HBPODEF int hbpo_strip_string(const char *in, char *out, size_t outlen) {
    /* The plain replacements at the start of strip_string, in its order. */
    static const char *const early[][2] = {
        {"\n", ""},      {"\\!", ""},      {"\\\\", "\\"},   {"tfrac", "frac"}, {"dfrac", "frac"},
        {"\\left", ""},  {"\\right", ""},  {"^{\\circ}", ""}, {"^\\circ", ""},  {"\\$", ""}};
    char a[HBPO__ANS_MAX], b[HBPO__ANS_MAX];
    char *s = a, *t = b;
    size_t i, n;
    if (!in || !out || outlen == 0) return hbpo__fail("hbpo_strip_string: NULL or empty argument");
    n = strlen(in);
    if (n >= HBPO__ANS_MAX) goto too_long;
    memcpy(s, in, n + 1);
    for (i = 0; i < sizeof early / sizeof early[0]; i++)
        if (hbpo__ans_next(hbpo__ans_replace(t, s, early[i][0], early[i][1]), &s, &t))
            goto too_long;
    if (hbpo__ans_next(hbpo__ans_units(t, s), &s, &t)) goto too_long;
    if (hbpo__ans_next(hbpo__ans_replace(t, s, "\\%", ""), &s, &t)) goto too_long;
    /* " ." -> " 0." and "{." -> "{0.", then a leading "." gets its "0". */
    if (hbpo__ans_next(hbpo__ans_replace(t, s, " .", " 0."), &s, &t)) goto too_long;
    if (hbpo__ans_next(hbpo__ans_replace(t, s, "{.", "{0."), &s, &t)) goto too_long;
    if (s[0] != 0) {
        if (s[0] == '.') {
            n = strlen(s);
            if (n + 1 >= HBPO__ANS_MAX) goto too_long;
            memmove(s + 1, s, n + 1);
            s[0] = '0';
        }
        if (hbpo__ans_next(hbpo__ans_equals(t, s), &s, &t)) goto too_long;
        if (hbpo__ans_next(hbpo__ans_fix_cmd(t, s, "\\sqrt", 0), &s, &t)) goto too_long;
        if (hbpo__ans_next(hbpo__ans_replace(t, s, " ", ""), &s, &t)) goto too_long;
        if (hbpo__ans_next(hbpo__ans_fix_cmd(t, s, "\\frac", 1), &s, &t)) goto too_long;
        if (strcmp(s, "0.5") == 0) {
            memcpy(t, "\\frac{1}{2}", 12);
            hbpo__ans_next(0, &s, &t);
        }
        if (hbpo__ans_next(hbpo__ans_slash(t, s), &s, &t)) goto too_long;
    }
    n = strlen(s);
    if (n >= outlen)
        return hbpo__fail("hbpo_strip_string: %lu bytes do not fit in %lu", (unsigned long)(n + 1),
                          (unsigned long)outlen);
    memcpy(out, s, n + 1);
    return 0;
too_long:
    return hbpo__fail("hbpo_strip_string: answer longer than %d bytes", HBPO__ANS_MAX - 1);
}

/* ---- hbpo_math_equal ---- */

/* The byte after the brace that closes the one at s[0] == '{', or NULL. */
static const char *hbpo__ans_close(const char *s) {
    int depth = 0;
    for (; *s; s++) {
        if (*s == '{') depth++;
        else if (*s == '}' && --depth == 0) return s + 1;
    }
    return NULL;
}

/* "\frac{270}7" -> "\frac{270}{7}": fix_fracs leaves a one-character
   denominator after a braced numerator unbraced, so MATH500's gold answer
   "\frac{270}7\text{ degrees}" (test/prealgebra/1003) would never equal a
   model's "\frac{270}{7}". TeX reads the character as the denominator. */
static int hbpo__ans_frac_denominator(char *dst, const char *src) {
    /* Denominators still to brace, nearest last: a \frac inside a numerator
       ends before the \frac that holds it, so this is a stack. */
    const char *pending[32], *end;
    int np = 0;
    size_t c;
    hbpo__ans_buf b;
    hbpo__ans_init(&b, dst, HBPO__ANS_MAX);
    while (*src) {
        if (np > 0 && src == pending[np - 1]) {
            np--;
            c = hbpo__ans_u8len(src);
            hbpo__ans_puts(&b, "{");
            hbpo__ans_put(&b, src, c);
            hbpo__ans_puts(&b, "}");
            src += c;
            continue;
        }
        if (strncmp(src, "\\frac{", 6) == 0 && np < 32) {
            end = hbpo__ans_close(src + 5);
            if (end && *end && *end != '{' && *end != '}' && *end != '\\') pending[np++] = end;
        }
        hbpo__ans_put(&b, src, 1);
        src++;
    }
    return hbpo__ans_done(&b);
}

/* hbpo_math_equal's normal form (out has HBPO__ANS_MAX bytes): the answer
   trimmed, without a trailing period ("\boxed 5." ends a sentence before its
   '$') or a \text{...}, \textbf{...}, \mathrm{...} around all of it ("Evelyn"
   for "\text{Evelyn}", "(C)" for "\textbf{(C)}"), then strip_string, then
   hbpo__ans_frac_denominator. */
static int hbpo__ans_normal(const char *in, char *out) {
    static const char *const wrap[3] = {"\\text{", "\\textbf{", "\\mathrm{"};
    char tmp[HBPO__ANS_MAX];
    size_t b = 0, e = strlen(in), w, m;
    int changed = 1;
    if (e >= HBPO__ANS_MAX) return -1;
    while (changed) {
        changed = 0;
        while (b < e && hbpo__ans_space(in[b])) b++;
        while (e > b && hbpo__ans_space(in[e - 1])) e--;
        if (e > b && in[e - 1] == '.') { e--; changed = 1; continue; }
        for (w = 0; w < 3 && !changed; w++) {
            m = strlen(wrap[w]);
            if (e - b > m && strncmp(in + b, wrap[w], m) == 0 &&
                hbpo__ans_close(in + b + m - 1) == in + e) {
                b += m;
                e--;
                changed = 1;
            }
        }
    }
    memcpy(tmp, in + b, e - b);
    tmp[e - b] = 0;
    if (hbpo_strip_string(tmp, out, HBPO__ANS_MAX) < 0) return -1;
    memcpy(tmp, out, strlen(out) + 1);
    return hbpo__ans_frac_denominator(out, tmp);
}

/* An unsigned decimal at *s: digits, optionally in well-formed thousands groups
   ("12,345"; "1,00" is no number), then an optional ".digits". Advances *s;
   1 when a number was read. The value is computed here rather than by strtod,
   which would follow the C locale's decimal point. */
static int hbpo__ans_unsigned(const char **s, double *v) {
    const char *p = *s;
    double m = 0.0, scale = 1.0;
    int lead = 0, digits = 0;
    while (*p >= '0' && *p <= '9') { m = m * 10.0 + (*p++ - '0'); lead++; }
    if (*p == ',') {
        if (lead < 1 || lead > 3) return 0;
        while (*p == ',') {
            if (!(p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9' && p[3] >= '0' &&
                  p[3] <= '9') || (p[4] >= '0' && p[4] <= '9'))
                return 0;
            m = m * 1000.0 + (p[1] - '0') * 100.0 + (p[2] - '0') * 10.0 + (p[3] - '0');
            lead += 3;
            p += 4;
        }
    }
    digits = lead;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') { m = m * 10.0 + (*p++ - '0'); scale *= 10.0; digits++; }
    }
    if (digits == 0 || digits > 300) return 0;
    *v = m / scale;
    *s = p;
    return 1;
}

static int hbpo__ans_signed(const char **s, double *v) {
    double sign = 1.0;
    if (**s == '-') { sign = -1.0; (*s)++; }
    else if (**s == '+') (*s)++;
    if (!hbpo__ans_unsigned(s, v)) return 0;
    *v *= sign;
    return 1;
}

/* A normalised answer as a number: [sign] ( \frac{a}{b} | a | a/b ), where a
   and b are decimals (\frac's may carry their own sign). 1 when the whole
   string is such a number with a finite value. */
static int hbpo__ans_number(const char *s, double *v) {
    double sign = 1.0, a, b = 1.0;
    if (*s == '-') { sign = -1.0; s++; }
    else if (*s == '+') s++;
    if (strncmp(s, "\\frac{", 6) == 0) {
        s += 6;
        if (!hbpo__ans_signed(&s, &a) || s[0] != '}' || s[1] != '{') return 0;
        s += 2;
        if (!hbpo__ans_signed(&s, &b) || s[0] != '}') return 0;
        s++;
    } else {
        if (!hbpo__ans_unsigned(&s, &a)) return 0;
        if (*s == '/') {
            s++;
            if (!hbpo__ans_unsigned(&s, &b)) return 0;
        }
    }
    if (*s != 0 || b == 0.0) return 0;
    *v = sign * a / b;
    return isfinite(*v) ? 1 : 0;
}

/* Equal strings after normalisation (is_equiv), or equal numbers: exactly
   when both are whole, else within a relative 1e-6 (absolute 1e-9 near 0),
   which lets "0.333333" = "\frac{1}{3}"; "27.0" = "27", "1,000" = "1000",
   "\frac{1}{2}" = "0.5", "\$18.90" = "18.9". Answers too long to normalise
   are compared as raw strings. */
HBPODEF int hbpo_math_equal(const char *pred, const char *gold) {
    char p[HBPO__ANS_MAX], g[HBPO__ANS_MAX];
    double x, y, d;
    if (!pred || !gold) return 0;
    if (hbpo__ans_normal(pred, p) < 0 || hbpo__ans_normal(gold, g) < 0)
        return strcmp(pred, gold) == 0;
    if (strcmp(p, g) == 0) return 1;
    if (!hbpo__ans_number(p, &x) || !hbpo__ans_number(g, &y)) return 0;
    /* Whole numbers must match exactly: with the relative 1e-6 alone, GSM8K's
       answer 1450000 (test line 612) would equal 1450001. */
    if (x == floor(x) && y == floor(y)) return x == y;
    d = fabs(x - y);
    return d <= 1e-9 || d <= 1e-6 * fmax(fabs(x), fabs(y));
}

HBPODEF int hbpo_gsm8k_extract(const char *answer, char *out, size_t outlen) {
    const char *p, *hit = NULL, *e;
    hbpo__ans_buf b;
    if (!answer) return hbpo__fail("hbpo_gsm8k_extract: answer is NULL");
    for (p = answer; (p = strstr(p, "####")) != NULL; p += 4) hit = p;
    if (!hit) return hbpo__fail("hbpo_gsm8k_extract: no \"####\" in the answer");
    hit += 4;
    e = hit + strlen(hit);
    while (hit < e && hbpo__ans_space(*hit)) hit++;
    while (e > hit && hbpo__ans_space(e[-1])) e--;
    if (hit == e) return hbpo__fail("hbpo_gsm8k_extract: nothing after \"####\"");
    hbpo__ans_init(&b, out, out ? outlen : 0);
    for (p = hit; p < e; p++)
        if (*p != ',') hbpo__ans_put(&b, p, 1);
    if (!b.ok) {
        hbpo__fail("hbpo_gsm8k_extract: out of %lu bytes is too small", (unsigned long)outlen);
        return -2;
    }
    return 0;
}

/* A boxed answer too long for the buffer (-2) is judged wrong: gold answers
   are short, and the response did give an answer. */
HBPODEF int hbpo_judge(const char *response, const char *gold) {
    char ans[HBPO__ANS_MAX];
    int r = hbpo_extract_boxed(response, ans, sizeof ans);
    if (r == -1) return HBPO_NO_ANSWER;
    if (r < 0) return HBPO_WRONG;
    return hbpo_math_equal(ans, gold) ? HBPO_CORRECT : HBPO_WRONG;
}

/* ------------------------------------------------------------------------- */
/* 5. Tokenizer and chat format                                              */
/* ------------------------------------------------------------------------- */

/* ------------------------------------------------------------------------- */
/* 6. Random numbers                                                         */
/* ------------------------------------------------------------------------- */

/* SplitMix64: s advances by the golden-ratio Weyl constant; the output is s
   passed through two xor-shift-multiply rounds (Stafford's Mix13), so
   neighbouring states give unrelated outputs. All arithmetic is uint64_t
   modulo 2^64, hence identical on every platform. */
static uint64_t hbpo__rng_next(hbpo_rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

HBPODEF void hbpo_rng_seed(hbpo_rng *r, uint64_t seed) { r->s = seed; }

HBPODEF uint32_t hbpo_rng_u32(hbpo_rng *r) { return (uint32_t)(hbpo__rng_next(r) >> 32); }

/* 24 bits fill a float's significand exactly, so the value is never rounded
   up to 1.0f (which (float)u32 * 2^-32 can be). */
HBPODEF float hbpo_rng_uniform(hbpo_rng *r) {
    return (float)(hbpo_rng_u32(r) >> 8) * (1.0f / 16777216.0f);
}

/* Box-Muller: sqrt(-2 ln u1) * cos(2 pi u2). u1 = 1 - uniform lies in
   [2^-24, 1], so the log is finite and the magnitude is at most ~5.8. The
   sine partner is dropped so that no second value hides outside `s`. */
HBPODEF float hbpo_rng_normal(hbpo_rng *r) {
    double u1 = 1.0 - (double)hbpo_rng_uniform(r);
    double u2 = (double)hbpo_rng_uniform(r);
    return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * HBPO__PI * u2));
}

/* ------------------------------------------------------------------------- */
/* 7. Model operations (the backend)                                         */
/* ------------------------------------------------------------------------- */

/* OpenBLAS's cblas.h declares its thread control; another vendor's may not. */
#if defined(HBPO_USE_OPENBLAS) && !defined(OPENBLAS_VERSION)
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
#endif

/* One row of C (N floats) times beta: beta == 0 stores zeros, so garbage or
   NaN in C never leaks into the result (the BLAS rule); beta == 1 leaves it. */
static void hbpo__scale_row(int N, float beta, float *c) {
    int j;
    if (beta == 0.0f) for (j = 0; j < N; j++) c[j] = 0.0f;
    else if (beta != 1.0f) for (j = 0; j < N; j++) c[j] *= beta;
}

#ifndef HBPO_USE_OPENBLAS
/* Below this many multiply-adds one thread is faster than starting a team. */
#define HBPO__SGEMM_PAR_MIN 65536.0
/* Columns of A gathered at a time on the stack in the TT case. */
#define HBPO__SGEMM_TT_CHUNK 256

/* The portable product, one row of C per iteration (rows are independent, so
   threads never share an output). Arguments are already checked; M, N, K >= 1.
     trans_b == 0: c_i += (alpha * op(A)_ik) * B_k,:  (i-k-j order, the inner
                   loop streams contiguous rows of B and C; op(A)_ik is one
                   load per N multiply-adds even when A is transposed).
     trans_b == 1: c_ij += alpha * dot(op(A)_i,:, B_j,:)  (B stored (N,K), so
                   row j of B is contiguous; for NT row i of A is too, for TT
                   column i of A is gathered HBPO__SGEMM_TT_CHUNK at a time
                   into a stack buffer instead of striding through it N times). */
static void hbpo__sgemm_loops(int trans_a, int trans_b, int M, int N, int K, float alpha,
                              const float *A, int lda, const float *B, int ldb, float beta,
                              float *C, int ldc) {
    int i;
    HBPO__OMP(omp parallel for schedule(static) if ((double)M * N * K >= HBPO__SGEMM_PAR_MIN))
    for (i = 0; i < M; i++) {
        float *c = C + (size_t)i * ldc;
        int j, k;
        hbpo__scale_row(N, beta, c);
        if (!trans_b) {
            for (k = 0; k < K; k++) {
                float a = alpha * (trans_a ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]);
                const float *b = B + (size_t)k * ldb;
                for (j = 0; j < N; j++) c[j] += a * b[j];
            }
        } else if (!trans_a) {
            const float *a = A + (size_t)i * lda;
            for (j = 0; j < N; j++) {
                const float *b = B + (size_t)j * ldb;
                float sum = 0.0f;
                for (k = 0; k < K; k++) sum += a[k] * b[k];
                c[j] += alpha * sum;
            }
        } else {
            float a[HBPO__SGEMM_TT_CHUNK];
            int k0, n;
            for (k0 = 0; k0 < K; k0 += n) {
                n = K - k0 < HBPO__SGEMM_TT_CHUNK ? K - k0 : HBPO__SGEMM_TT_CHUNK;
                for (k = 0; k < n; k++) a[k] = A[(size_t)(k0 + k) * lda + i];
                for (j = 0; j < N; j++) {
                    const float *b = B + (size_t)j * ldb + k0;
                    float sum = 0.0f;
                    for (k = 0; k < n; k++) sum += a[k] * b[k];
                    c[j] += alpha * sum;
                }
            }
        }
    }
}
#endif

/* Used by nn.Linear (out = x @ W.T + b: trans_b = 1, W stored (OC,C) as
   PyTorch keeps it), its backward (dx = dout @ W: NN; dW += dout.T @ x: TN,
   beta = 1) and attention (q @ k.T: NT; att @ v: NN). */
HBPODEF void hbpo_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
                        const float *A, int lda, const float *B, int ldb, float beta,
                        float *C, int ldc) {
    int i;
    int a_width = trans_a ? M : K, b_width = trans_b ? K : N; /* row lengths as stored */
    if ((trans_a != 0 && trans_a != 1) || (trans_b != 0 && trans_b != 1)) {
        hbpo__fail("hbpo_sgemm: trans_a = %d, trans_b = %d: each must be 0 or 1", trans_a, trans_b);
        return;
    }
    if (M < 0 || N < 0 || K < 0) {
        hbpo__fail("hbpo_sgemm: negative size M = %d, N = %d, K = %d", M, N, K);
        return;
    }
    if (M == 0 || N == 0) return;
    if (!C || ldc < N) {
        hbpo__fail("hbpo_sgemm: C is NULL or ldc = %d < N = %d", ldc, N);
        return;
    }
    if (K == 0 || alpha == 0.0f) { /* op(A) op(B) contributes nothing: A, B unread */
        for (i = 0; i < M; i++) hbpo__scale_row(N, beta, C + (size_t)i * ldc);
        return;
    }
    if (!A || !B || lda < a_width || ldb < b_width) {
        hbpo__fail("hbpo_sgemm: A or B is NULL, or lda = %d < %d, or ldb = %d < %d", lda,
                   a_width, ldb, b_width);
        return;
    }
#ifdef HBPO_USE_OPENBLAS
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C,
                ldc);
#else
    hbpo__sgemm_loops(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

/* The first call records the counts in effect, so that n <= 0 can restore them. */
HBPODEF void hbpo_set_threads(int n) {
#ifdef _OPENMP
    static int omp_default = 0;
    if (omp_default == 0) omp_default = omp_get_max_threads();
    omp_set_num_threads(n > 0 ? n : omp_default);
#endif
#ifdef HBPO_USE_OPENBLAS
    static int blas_default = 0;
    if (blas_default == 0) blas_default = openblas_get_num_threads();
    openblas_set_num_threads(n > 0 ? n : blas_default);
#endif
    (void)n;
}

/* ------------------------------------------------------------------------- */
/* 8. Model: configuration, parameters, forward, backward, AdamW             */
/* ------------------------------------------------------------------------- */

/* ------------------------------------------------------------------------- */
/* 9. Generation: sampling, KV-cache decoding                                */
/* ------------------------------------------------------------------------- */

/* ------------------------------------------------------------------------- */
/* 10. Checkpoints: config.json and safetensors                              */
/* ------------------------------------------------------------------------- */

/* ------------------------------------------------------------------------- */
/* 11. I/O: files, JSON, JSON Lines                                          */
/* ------------------------------------------------------------------------- */

#include <limits.h> /* LONG_MAX */

/* Hard limits on what is read from files (stb habit: sizes from untrusted
   input are bounded before anything is allocated from them). */
#define HBPO__READ_FILE_MAX   ((size_t)1 << 30)   /* hbpo_read_file's default */
#define HBPO__JSON_MAX_DEPTH  512                 /* "[[[[..." stops here, no recursion */
#define HBPO__JSONL_MAX_LINE  ((size_t)64 << 20)  /* one JSON Lines record */
#define HBPO__JSONL_CHUNK_MAX ((size_t)64 << 10)  /* largest single fgets */

HBPODEF void hbpo_free(void *p) {
    if (p) HBPO_FREE(p);
}

HBPODEF char *hbpo_read_file(const char *path, size_t max_bytes, size_t *len) {
    FILE *f;
    char *buf = NULL, *nb;
    size_t limit = max_bytes ? max_bytes : HBPO__READ_FILE_MAX;
    size_t cap, newcap, n = 0, want, got;
    long hint = -1;
    int err;

    if (len) *len = 0;
    if (!path) { hbpo__fail("hbpo_read_file: path is NULL"); return NULL; }
    if (limit > SIZE_MAX - 2) limit = SIZE_MAX - 2; /* room for one probe byte and the NUL */
    f = fopen(path, "rb");
    if (!f) {
        hbpo__fail("hbpo_read_file: cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    /* The seek size is only a hint for the first allocation (pipes and /proc
       files have none); the read loop below is what enforces the limit. */
    if (fseek(f, 0, SEEK_END) == 0) {
        hint = ftell(f);
        if (hint == LONG_MAX) hint = -1; /* a directory on Linux: let fread report it */
        if (fseek(f, 0, SEEK_SET) != 0) {
            err = errno;
            fclose(f);
            hbpo__fail("hbpo_read_file: cannot seek in %s: %s", path, strerror(err));
            return NULL;
        }
    }
    clearerr(f);
    if (hint > 0 && (unsigned long)hint > limit) {
        fclose(f);
        hbpo__fail("hbpo_read_file: %s has %ld bytes, more than the limit of %lu", path, hint,
                   (unsigned long)limit);
        return NULL;
    }
    /* cap counts the data bytes plus the NUL; reading stops at limit + 1 data
       bytes, which is how a file that grew (or had no size) is caught. */
    cap = hint >= 0 ? (size_t)hint + 2 : 65536;
    if (cap < 4096) cap = 4096;
    if (cap > limit + 2) cap = limit + 2;
    for (;;) {
        if (n + 1 >= cap || !buf) {
            newcap = buf ? hbpo__mul_size(cap, 2) : cap;
            if (newcap == 0 || newcap > limit + 2) newcap = limit + 2;
            if (buf && (newcap <= cap || n > limit)) break; /* at the limit: too large */
            nb = (char *)HBPO_REALLOC(buf, newcap);
            if (!nb) {
                HBPO_FREE(buf);
                fclose(f);
                hbpo__fail("hbpo_read_file: out of memory reading %s (%lu bytes)", path,
                           (unsigned long)newcap);
                return NULL;
            }
            buf = nb;
            cap = newcap;
        }
        want = cap - 1 - n;
        got = fread(buf + n, 1, want, f);
        n += got;
        if (got < want) {
            if (ferror(f)) {
                err = errno;
                HBPO_FREE(buf);
                fclose(f);
                hbpo__fail("hbpo_read_file: read error on %s: %s", path, strerror(err));
                return NULL;
            }
            break; /* end of file */
        }
    }
    fclose(f);
    if (n > limit) {
        HBPO_FREE(buf);
        hbpo__fail("hbpo_read_file: %s is larger than the limit of %lu bytes", path,
                   (unsigned long)limit);
        return NULL;
    }
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

/* ---- JSON ----
   One pass over the text with an explicit stack of open containers. Values
   are appended to one node array in document order (a container before its
   children, children in order), so a container's first child is the node
   right after it and a node's next sibling lies right after its subtree.
   While parsing, nodes move when the array grows, so containers keep their
   subtree size in `num` (unused for them; exact below 2^53) and pointers are
   filled in once at the end (hbpo__json_link). Strings are decoded into one
   buffer of len+1 bytes: a decoded string plus its NUL is never longer than
   its source with both quotes. */

typedef struct {
    const char *text;     /* start of the input, for line/column of errors */
    const char *p, *end;  /* cursor, end of the input */
    hbpo_json  *nodes;    /* values in document order */
    size_t      n, cap;   /* nodes used / allocated */
    char       *strings;  /* decoded strings (len + 1 bytes) */
    char       *sp;       /* next free byte in strings */
    long        line0;    /* line number of text[0]: 1, or the JSON Lines line */
} hbpo__json_parser;

static int hbpo__json_error(const hbpo__json_parser *ps, const char *at, const char *fmt, ...)
    HBPO__PRINTF(3, 4);
static int hbpo__json_error(const hbpo__json_parser *ps, const char *at, const char *fmt, ...) {
    char msg[400];
    va_list ap;
    long line = ps->line0, col = 1;
    const char *q;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Errors are rare, so the position is counted only here. Columns are in bytes. */
    for (q = ps->text; q && q < at; q++) {
        if (*q == '\n') { line++; col = 1; } else col++;
    }
    return hbpo__fail("line %ld, column %ld: %s", line, col, msg);
}

/* "'x'", "byte 0xNN" or "end of input", for messages; buf holds 16 bytes. */
static const char *hbpo__json_what(const hbpo__json_parser *ps, const char *at, char *buf) {
    unsigned char c;
    if (at >= ps->end) return "end of input";
    c = (unsigned char)*at;
    if (c > 0x20 && c < 0x7f) snprintf(buf, 16, "'%c'", (char)c);
    else snprintf(buf, 16, "byte 0x%02X", (unsigned)c);
    return buf;
}

/* JSON whitespace is exactly space, tab, LF and CR. */
static const char *hbpo__json_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    return p;
}

static int hbpo__json_new(hbpo__json_parser *ps, hbpo_json_type type, size_t *idx) {
    size_t cap, bytes;
    hbpo_json *nn;
    if (ps->n == ps->cap) {
        cap = ps->cap ? hbpo__mul_size(ps->cap, 2) : 64;
        bytes = hbpo__mul_size(cap, sizeof(hbpo_json));
        nn = bytes ? (hbpo_json *)HBPO_REALLOC(ps->nodes, bytes) : NULL;
        if (!nn)
            return hbpo__json_error(ps, ps->p, "out of memory for %lu values",
                                    (unsigned long)cap);
        ps->nodes = nn;
        ps->cap = cap;
    }
    memset(&ps->nodes[ps->n], 0, sizeof(hbpo_json));
    ps->nodes[ps->n].type = type;
    *idx = ps->n++;
    return 0;
}

/* Four hex digits at p (the caller checked they exist), or -1. */
static long hbpo__json_hex4(const unsigned char *p) {
    long v = 0;
    int i, d;
    for (i = 0; i < 4; i++) {
        if (p[i] >= '0' && p[i] <= '9') d = p[i] - '0';
        else if (p[i] >= 'a' && p[i] <= 'f') d = p[i] - 'a' + 10;
        else if (p[i] >= 'A' && p[i] <= 'F') d = p[i] - 'A' + 10;
        else return -1;
        v = v * 16 + d;
    }
    return v;
}

/* Length (2..4) of the well-formed UTF-8 sequence at p, or 0 (RFC 3629:
   no overlong forms, no UTF-16 surrogates U+D800..DFFF, nothing past U+10FFFF). */
static int hbpo__json_utf8(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    int n, i;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;      /* below U+0800: overlong */
        else if (c == 0xED) hi = 0x9F; /* U+D800..DFFF: surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;      /* below U+10000: overlong */
        else if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else return 0;                   /* 0x80..0xC1 and 0xF5..0xFF never start one */
    if (end - p < n || p[1] < lo || p[1] > hi) return 0;
    for (i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80) return 0;
    return n;
}

/* The string at ps->p (which is '"'), decoded into the string buffer. */
static int hbpo__json_string(hbpo__json_parser *ps, const char **out, size_t *outlen) {
    const unsigned char *p = (const unsigned char *)ps->p + 1;
    const unsigned char *end = (const unsigned char *)ps->end;
    const unsigned char *esc;
    char *d = ps->sp, *start = ps->sp;
    long cp, lo;
    int n;
    for (;;) {
        if (p >= end) return hbpo__json_error(ps, ps->p, "unterminated string");
        if (*p == '"') break;
        if (*p == '\\') {
            esc = p;
            if (end - p < 2) return hbpo__json_error(ps, ps->p, "unterminated string");
            switch (p[1]) {
            case '"': *d++ = '"'; p += 2; continue;
            case '\\': *d++ = '\\'; p += 2; continue;
            case '/': *d++ = '/'; p += 2; continue;
            case 'b': *d++ = '\b'; p += 2; continue;
            case 'f': *d++ = '\f'; p += 2; continue;
            case 'n': *d++ = '\n'; p += 2; continue;
            case 'r': *d++ = '\r'; p += 2; continue;
            case 't': *d++ = '\t'; p += 2; continue;
            case 'u': break;
            default: {
                char what[16];
                return hbpo__json_error(ps, (const char *)esc, "invalid escape: backslash then %s",
                                        hbpo__json_what(ps, (const char *)p + 1, what));
            }
            }
            if (end - p < 6 || (cp = hbpo__json_hex4(p + 2)) < 0)
                return hbpo__json_error(ps, (const char *)esc,
                                        "\\u must be followed by 4 hex digits");
            p += 6;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return hbpo__json_error(ps, (const char *)esc, "lone low surrogate \\u%04lX", cp);
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* A high surrogate must be followed by an escaped low one. */
                lo = -1;
                if (end - p >= 6 && p[0] == '\\' && p[1] == 'u') lo = hbpo__json_hex4(p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return hbpo__json_error(ps, (const char *)esc,
                                            "high surrogate \\u%04lX without a low surrogate", cp);
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            }
            if (cp < 0x80) {
                *d++ = (char)cp;
            } else if (cp < 0x800) {
                *d++ = (char)(0xC0 | (cp >> 6));
                *d++ = (char)(0x80 | (cp & 0x3F));
            } else if (cp < 0x10000) {
                *d++ = (char)(0xE0 | (cp >> 12));
                *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *d++ = (char)(0x80 | (cp & 0x3F));
            } else {
                *d++ = (char)(0xF0 | (cp >> 18));
                *d++ = (char)(0x80 | ((cp >> 12) & 0x3F));
                *d++ = (char)(0x80 | ((cp >> 6) & 0x3F));
                *d++ = (char)(0x80 | (cp & 0x3F));
            }
            continue;
        }
        if (*p < 0x20)
            return hbpo__json_error(ps, (const char *)p,
                                    "control character 0x%02X in a string must be escaped",
                                    (unsigned)*p);
        if (*p < 0x80) {
            *d++ = (char)*p++;
            continue;
        }
        n = hbpo__json_utf8(p, end);
        if (!n)
            return hbpo__json_error(ps, (const char *)p, "invalid UTF-8 (byte 0x%02X)",
                                    (unsigned)*p);
        memcpy(d, p, (size_t)n);
        d += n;
        p += n;
    }
    *d = 0;
    *out = start;
    *outlen = (size_t)(d - start);
    ps->sp = d + 1;
    ps->p = (const char *)p + 1;
    return 0;
}

/* '-'? ('0' | [1-9][0-9]*) ('.' [0-9]+)? ([eE] [+-]? [0-9]+)? (RFC 8259 section 6). */
static int hbpo__json_number(hbpo__json_parser *ps, double *out) {
    const char *s = ps->p, *p = ps->p, *end = ps->end, *q;
    char small[64], *buf, *stop;
    int integer = 1;
    size_t n, used;
    double v;
#define HBPO__DIGIT(c) ((c) >= '0' && (c) <= '9')
    if (*p == '-') p++;
    if (p >= end || !HBPO__DIGIT(*p)) return hbpo__json_error(ps, s, "'-' must be followed by a digit");
    if (*p == '0') {
        p++;
        if (p < end && HBPO__DIGIT(*p)) return hbpo__json_error(ps, s, "leading zeros are not allowed");
    } else {
        while (p < end && HBPO__DIGIT(*p)) p++;
    }
    if (p < end && *p == '.') {
        integer = 0;
        p++;
        if (p >= end || !HBPO__DIGIT(*p))
            return hbpo__json_error(ps, p, "a digit must follow the decimal point");
        while (p < end && HBPO__DIGIT(*p)) p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        integer = 0;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p >= end || !HBPO__DIGIT(*p)) return hbpo__json_error(ps, p, "the exponent has no digits");
        while (p < end && HBPO__DIGIT(*p)) p++;
    }
#undef HBPO__DIGIT
    n = (size_t)(p - s);
    if (integer && n - (*s == '-') <= 15) {
        /* Integers below 10^15 are exact in a double at every step, so this
           equals strtod's result (and is much faster on tokenizer vocabularies). */
        v = 0.0;
        for (q = s + (*s == '-'); q < p; q++) v = v * 10.0 + (double)(*q - '0');
        *out = *s == '-' ? -v : v;
        ps->p = p;
        return 0;
    }
    /* strtod needs a NUL-terminated copy (the input is length-bounded). It
       reads the decimal point of the current locale: hbpo assumes the "C"
       numeric locale (the default unless the program calls setlocale), and a
       number that strtod does not consume completely is reported, not guessed. */
    buf = n < sizeof small ? small : (char *)HBPO_MALLOC(n + 1);
    if (!buf) return hbpo__json_error(ps, s, "out of memory for a %lu-byte number", (unsigned long)n);
    memcpy(buf, s, n);
    buf[n] = 0;
    v = strtod(buf, &stop);
    used = (size_t)(stop - buf);
    if (buf != small) HBPO_FREE(buf);
    if (used != n)
        return hbpo__json_error(ps, s, "strtod did not read the whole number (LC_NUMERIC not \"C\"?)");
    if (isinf(v)) return hbpo__json_error(ps, s, "number out of the range of a double");
    *out = v;
    ps->p = p;
    return 0;
}

static int hbpo__json_literal(hbpo__json_parser *ps, const char *word, size_t n) {
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return hbpo__json_error(ps, ps->p, "invalid literal (expected %s)", word);
    ps->p += n;
    return 0;
}

/* A member name and its ':' (after '{' or ','). */
static int hbpo__json_key(hbpo__json_parser *ps, const char **key) {
    char what[16];
    size_t klen;
    ps->p = hbpo__json_ws(ps->p, ps->end);
    if (ps->p >= ps->end || *ps->p != '"')
        return hbpo__json_error(ps, ps->p, "expected a string key, found %s",
                                hbpo__json_what(ps, ps->p, what));
    if (hbpo__json_string(ps, key, &klen)) return -1;
    ps->p = hbpo__json_ws(ps->p, ps->end);
    if (ps->p >= ps->end || *ps->p != ':')
        return hbpo__json_error(ps, ps->p, "expected ':' after the key, found %s",
                                hbpo__json_what(ps, ps->p, what));
    ps->p++;
    return 0;
}

/* Fills child/next from the document order and the subtree sizes kept in
   the containers' num. Parents come before children, so visiting nodes in
   order reads every subtree size before it is cleared. */
static void hbpo__json_link(hbpo_json *nodes, size_t n) {
    size_t c, k, i, size;
    hbpo_json *v;
    for (c = 0; c < n; c++) {
        v = &nodes[c];
        if (v->type != HBPO_JSON_ARRAY && v->type != HBPO_JSON_OBJECT) continue;
        v->child = v->len ? &nodes[c + 1] : NULL;
        for (i = 0, k = c + 1; i < v->len; i++, k += size) {
            size = (nodes[k].type == HBPO_JSON_ARRAY || nodes[k].type == HBPO_JSON_OBJECT)
                       ? (size_t)nodes[k].num
                       : 1;
            nodes[k].next = i + 1 < v->len ? &nodes[k + size] : NULL;
        }
        v->num = 0.0;
    }
}

static int hbpo__json_parse_at(hbpo_json_doc *doc, const char *text, size_t len, long line0,
                               int allow_bom) {
    hbpo__json_parser ps;
    size_t stack[HBPO__JSON_MAX_DEPTH];
    size_t depth = 0, idx = 0, top;
    const char *key = NULL;
    char what[16], close;
    hbpo_json *shrunk;
    hbpo_json_type type;

    if (!doc) return hbpo__fail("hbpo_json_parse: doc is NULL");
    memset(doc, 0, sizeof *doc);
    memset(&ps, 0, sizeof ps);
    ps.line0 = line0;
    if (!text && len) return hbpo__fail("hbpo_json_parse: text is NULL");
    if (!text || len == 0) return hbpo__json_error(&ps, NULL, "empty input");
    if (len > SIZE_MAX - 1) return hbpo__fail("hbpo_json_parse: input too large");
    ps.text = ps.p = text;
    ps.end = text + len;
    ps.strings = ps.sp = (char *)HBPO_MALLOC(len + 1);
    if (!ps.strings) return hbpo__json_error(&ps, text, "out of memory for %lu bytes of strings",
                                             (unsigned long)len + 1);
    if (allow_bom && len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) ps.p += 3;

    for (;;) {
        /* A value starts here. */
        ps.p = hbpo__json_ws(ps.p, ps.end);
        if (ps.p >= ps.end) {
            hbpo__json_error(&ps, ps.p, depth || ps.n ? "unexpected end of input, expected a value"
                                                      : "no value (input is only whitespace)");
            goto fail;
        }
        switch (*ps.p) {
        case '{': type = HBPO_JSON_OBJECT; break;
        case '[': type = HBPO_JSON_ARRAY; break;
        case '"': type = HBPO_JSON_STRING; break;
        case 't': type = HBPO_JSON_TRUE; break;
        case 'f': type = HBPO_JSON_FALSE; break;
        case 'n': type = HBPO_JSON_NULL; break;
        case '-': case '0': case '1': case '2': case '3': case '4':
        case '5': case '6': case '7': case '8': case '9': type = HBPO_JSON_NUMBER; break;
        default:
            hbpo__json_error(&ps, ps.p, "expected a value, found %s",
                             hbpo__json_what(&ps, ps.p, what));
            goto fail;
        }
        if (hbpo__json_new(&ps, type, &idx)) goto fail;
        if (depth) {
            ps.nodes[stack[depth - 1]].len++;
            ps.nodes[idx].key = key;
        }
        key = NULL;
        if (type == HBPO_JSON_OBJECT || type == HBPO_JSON_ARRAY) {
            if (depth == HBPO__JSON_MAX_DEPTH) {
                hbpo__json_error(&ps, ps.p, "nesting deeper than %d", HBPO__JSON_MAX_DEPTH);
                goto fail;
            }
            stack[depth++] = idx;
            ps.p = hbpo__json_ws(ps.p + 1, ps.end);
            close = type == HBPO_JSON_OBJECT ? '}' : ']';
            if (ps.p >= ps.end || *ps.p != close) {
                /* not empty: its first member or element comes next */
                if (type == HBPO_JSON_OBJECT && hbpo__json_key(&ps, &key)) goto fail;
                continue;
            }
            ps.p++;
            ps.nodes[idx].num = 1.0; /* subtree size */
            depth--;
        } else if (type == HBPO_JSON_STRING) {
            if (hbpo__json_string(&ps, &ps.nodes[idx].str, &ps.nodes[idx].len)) goto fail;
        } else if (type == HBPO_JSON_NUMBER) {
            if (hbpo__json_number(&ps, &ps.nodes[idx].num)) goto fail;
        } else if (type == HBPO_JSON_TRUE) {
            if (hbpo__json_literal(&ps, "true", 4)) goto fail;
        } else if (type == HBPO_JSON_FALSE) {
            if (hbpo__json_literal(&ps, "false", 5)) goto fail;
        } else {
            if (hbpo__json_literal(&ps, "null", 4)) goto fail;
        }
        /* A value ended: close the containers it completes, or go on after ','. */
        while (depth) {
            top = stack[depth - 1];
            close = ps.nodes[top].type == HBPO_JSON_OBJECT ? '}' : ']';
            ps.p = hbpo__json_ws(ps.p, ps.end);
            if (ps.p < ps.end && *ps.p == ',') {
                ps.p++;
                if (ps.nodes[top].type == HBPO_JSON_OBJECT && hbpo__json_key(&ps, &key)) goto fail;
                break;
            }
            if (ps.p < ps.end && *ps.p == close) {
                ps.p++;
                ps.nodes[top].num = (double)(ps.n - top);
                depth--;
                continue;
            }
            hbpo__json_error(&ps, ps.p, "expected ',' or '%c', found %s", close,
                             hbpo__json_what(&ps, ps.p, what));
            goto fail;
        }
        if (!depth) break;
    }
    ps.p = hbpo__json_ws(ps.p, ps.end);
    if (ps.p < ps.end) {
        hbpo__json_error(&ps, ps.p, "unexpected %s after the value",
                         hbpo__json_what(&ps, ps.p, what));
        goto fail;
    }
    /* Give back the unused growth room before pointers into the array exist. */
    shrunk = (hbpo_json *)HBPO_REALLOC(ps.nodes, ps.n * sizeof(hbpo_json));
    if (shrunk) ps.nodes = shrunk;
    hbpo__json_link(ps.nodes, ps.n);
    doc->nodes = ps.nodes;
    doc->strings = ps.strings;
    doc->n_nodes = ps.n;
    doc->root = ps.nodes;
    return 0;
fail:
    if (ps.nodes) HBPO_FREE(ps.nodes);
    if (ps.strings) HBPO_FREE(ps.strings);
    return -1;
}

HBPODEF int hbpo_json_parse(hbpo_json_doc *doc, const char *text, size_t len) {
    return hbpo__json_parse_at(doc, text, len, 1, 1);
}

HBPODEF void hbpo_json_free(hbpo_json_doc *doc) {
    if (!doc) return;
    if (doc->nodes) HBPO_FREE(doc->nodes);
    if (doc->strings) HBPO_FREE(doc->strings);
    memset(doc, 0, sizeof *doc);
}

HBPODEF const hbpo_json *hbpo_json_get(const hbpo_json *obj, const char *key) {
    const hbpo_json *m;
    if (!obj || obj->type != HBPO_JSON_OBJECT || !key) return NULL;
    for (m = obj->child; m; m = m->next)
        if (m->key && strcmp(m->key, key) == 0) return m;
    return NULL;
}

HBPODEF const hbpo_json *hbpo_json_at(const hbpo_json *arr, size_t i) {
    const hbpo_json *e;
    if (!arr || (arr->type != HBPO_JSON_ARRAY && arr->type != HBPO_JSON_OBJECT) || i >= arr->len)
        return NULL;
    for (e = arr->child; e && i; i--) e = e->next;
    return e;
}

HBPODEF const char *hbpo_json_get_string(const hbpo_json *obj, const char *key) {
    const hbpo_json *m = hbpo_json_get(obj, key);
    return m && m->type == HBPO_JSON_STRING ? m->str : NULL;
}

/* ---- JSON Lines ---- */

HBPODEF int hbpo_jsonl_open(hbpo_jsonl *r, const char *path) {
    FILE *f;
    if (!r) return hbpo__fail("hbpo_jsonl_open: reader is NULL");
    memset(r, 0, sizeof *r);
    if (!path) return hbpo__fail("hbpo_jsonl_open: path is NULL");
    f = fopen(path, "rb");
    if (!f) return hbpo__fail("hbpo_jsonl_open: cannot open %s: %s", path, strerror(errno));
    r->file = f;
    return 0;
}

/* Reads one physical line, '\n' included when there is one, into r->buf[0..*len).
   fgets does not say how many bytes it stored, and strlen would stop at a NUL
   byte inside the line (which must make the line invalid, not cut it short),
   so each chunk is first filled with 0x01 and fgets's terminator is the last
   NUL in it. Chunks start small and double, so a short line costs little.
   Returns 1 (a line), 0 (end of file), -2 (read error), -3 (out of memory),
   -4 (longer than the limit; the rest of it has been skipped). */
static int hbpo__io_getline(hbpo_jsonl *r, size_t *len) {
    FILE *f = (FILE *)r->file;
    const size_t keep = HBPO__JSONL_MAX_LINE + 2; /* the record plus "\r\n" */
    size_t n = 0, chunk = 256, k, need, cap;
    int too_long = 0;
    char *nb;
    for (;;) {
        if (too_long) n = 0; /* discard: reuse the start of the buffer */
        need = n + chunk;
        if (need > r->cap) {
            cap = r->cap ? r->cap * 2 : 1024;
            if (cap < need) cap = need;
            if (cap > keep + HBPO__JSONL_CHUNK_MAX) cap = need; /* need never exceeds this */
            nb = (char *)HBPO_REALLOC(r->buf, cap);
            if (!nb) return -3;
            r->buf = nb;
            r->cap = cap;
        }
        memset(r->buf + n, 1, chunk);
        if (!fgets(r->buf + n, (int)chunk, f)) {
            if (ferror(f)) return -2;
            break; /* end of file */
        }
        for (k = chunk - 1; r->buf[n + k] != 0; k--) {}
        n += k;
        if (k > 0 && r->buf[n - 1] == '\n') break;
        if (feof(f)) break;
        if (n > keep) too_long = 1;
        if (chunk < HBPO__JSONL_CHUNK_MAX) chunk *= 2;
    }
    if (too_long) return -4;
    *len = n;
    return n > 0;
}

HBPODEF int hbpo_jsonl_next(hbpo_jsonl *r, hbpo_json_doc *doc) {
    size_t n = 0, i;
    int rc;
    if (doc) hbpo_json_free(doc);
    if (!r || !r->file || !doc) {
        hbpo__fail("hbpo_jsonl_next: reader not open or doc is NULL");
        return -2;
    }
    for (;;) {
        rc = hbpo__io_getline(r, &n);
        if (rc == 0) return 0;
        if (rc == -2 || rc == -3) {
            hbpo__fail("hbpo_jsonl_next: %s after line %ld",
                       rc == -2 ? "read error" : "out of memory", r->line);
            return -2;
        }
        r->line++;
        if (rc == 1) {
            if (n && r->buf[n - 1] == '\n') n--;
            if (n && r->buf[n - 1] == '\r') n--;
        }
        if (rc == -4 || n > HBPO__JSONL_MAX_LINE)
            return hbpo__fail("line %ld: longer than the limit of %lu bytes", r->line,
                              (unsigned long)HBPO__JSONL_MAX_LINE);
        for (i = 0; i < n; i++)
            if (r->buf[i] != ' ' && r->buf[i] != '\t' && r->buf[i] != '\r') break;
        if (i == n) continue; /* blank line */
        /* A byte order mark is accepted only where a file starts. */
        return hbpo__json_parse_at(doc, r->buf, n, r->line, r->line == 1) == 0 ? 1 : -1;
    }
}

HBPODEF void hbpo_jsonl_close(hbpo_jsonl *r) {
    if (!r) return;
    if (r->file) fclose((FILE *)r->file);
    if (r->buf) HBPO_FREE(r->buf);
    memset(r, 0, sizeof *r);
}

#ifdef __cplusplus
}
#endif
#endif /* HBPO_IMPLEMENTATION_DONE */
#endif /* HBPO_IMPLEMENTATION */

/*
MIT License

Copyright (c) 2026 the hbpo authors

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
*/
