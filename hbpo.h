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

/* The backend: every tensor operation the model performs. The model's control
   flow (section 8: forward, backward, optimizer step, decoding) is written once
   and calls these through a table; hbpo_backend_cpu() returns the reference
   CPU operations in this header, and hbpo_cuda.cu fills the same table with
   kernels on device memory. So a new backend adds operations, never a second
   copy of the model.
   Pointers are backend memory (host memory for the CPU backend) unless marked
   "host". N is a number of rows (tokens); every row is contiguous. Operations
   named *_backward accumulate parameter gradients with += (never overwrite):
   that is what makes gradient accumulation over micro-batches a plain loop.
   Activation gradients (dx) are overwritten unless the comment says +=. */
typedef struct hbpo_backend {
    const char *name;
    void *(*alloc)(size_t bytes);   /* zero-filled; NULL when out of memory */
    void  (*free)(void *p);         /* NULL is fine */
    void  (*upload)(void *dst, const void *host_src, size_t bytes);
    void  (*download)(void *host_dst, const void *src, size_t bytes);
    void  (*copy)(void *dst, const void *src, size_t bytes);
    void  (*zero)(void *p, size_t bytes);
    /* nn.Linear: out (N,OC) = x (N,IC) @ w.T + bias; w (OC,IC), bias (OC) or NULL. */
    void (*matmul_forward)(float *out, const float *x, const float *w, const float *bias,
                           int N, int IC, int OC);
    /* dx (N,IC) = dout @ w (or += when accumulate_dx); dw (OC,IC) += dout.T @ x;
       dbias (OC) += dout.sum(0). dx and dbias may be NULL (not wanted). */
    void (*matmul_backward)(float *dx, float *dw, float *dbias, const float *dout,
                            const float *x, const float *w, int N, int IC, int OC,
                            int accumulate_dx);
    /* out (N,C) = wte[tokens] (nn.Embedding); backward: dwte[tokens[i]] += dout[i]. */
    void (*embedding_forward)(float *out, const int *tokens, const float *wte, int N, int C);
    void (*embedding_backward)(float *dwte, const float *dout, const int *tokens, int N, int C);
    /* Qwen2RMSNorm: out = w * x * rstd, rstd (N) = 1/sqrt(mean(x^2) + eps) (saved). */
    void (*rmsnorm_forward)(float *out, float *rstd, const float *x, const float *w, int N,
                            int C, float eps);
    /* dx (N,C) = d/dx (overwrites, or += when accumulate_dx); dw (C) +=. */
    void (*rmsnorm_backward)(float *dx, float *dw, const float *dout, const float *x,
                             const float *w, const float *rstd, int N, int C,
                             int accumulate_dx);
    /* Rotary embedding in place (rotate_half form of transformers' Qwen2):
       x (B,T,nh,HS), row (b,t) at position pos0[b] + t. Backward rotates by
       the opposite angle (the rotation's transpose). */
    void (*rope_forward)(float *x, const int *pos0, int B, int T, int nh, int HS, float theta);
    void (*rope_backward)(float *dx, const int *pos0, int B, int T, int nh, int HS, float theta);
    /* Causal grouped-query attention against a key/value cache.
       q, out (B,T,NH,HS); k, v (B,S,KVH,HS), S the cache length per sequence.
       Query (b,t) sits at position p = pos0[b] + t and attends to keys
       0..p of sequence b (p < S); query head h reads kv head h / (NH/KVH).
       out = softmax(q k^T / sqrt(HS)) v; lse (B,NH,T) = logsumexp of the
       scaled scores, saved for the backward (NULL: not saved).
       Training calls it with pos0 = 0 and S = T (k, v are the layer's own);
       decoding with T = 1 and the cache. Returns 0, or -1 when out of memory. */
    int (*attention_forward)(float *out, float *lse, const float *q, const float *k,
                             const float *v, const int *pos0, int B, int T, int S, int NH,
                             int KVH, int HS);
    /* Backward of the above for pos0 = 0, S = T: dq (overwritten), dk, dv (overwritten). */
    int (*attention_backward)(float *dq, float *dk, float *dv, const float *dout,
                              const float *q, const float *k, const float *v,
                              const float *out, const float *lse, int B, int T, int NH,
                              int KVH, int HS);
    /* SwiGLU: h = silu(gate) * up, n elements; backward overwrites dgate, dup
       (dgate may be the same buffer as dh). */
    void (*swiglu_forward)(float *h, const float *gate, const float *up, size_t n);
    void (*swiglu_backward)(float *dgate, float *dup, const float *dh, const float *gate,
                            const float *up, size_t n);
    /* out = a + b (out may be a or b). */
    void (*add)(float *out, const float *a, const float *b, size_t n);
    /* dst (n,C) = src[rows]; and its backward dst[rows] += src (n,C). */
    void (*gather_rows)(float *dst, const float *src, const int *rows, int n, int C);
    void (*scatter_add_rows)(float *dst, const float *src, const int *rows, int n, int C);
    /* Per row of logits (N,V), z = logits * inv_temp:
       logp[i] = log_softmax(z)[targets[i]], entropy[i] = -sum softmax(z) log softmax(z). */
    void (*logprob_forward)(float *logp, float *entropy, const float *logits,
                            const int *targets, int N, int V, float inv_temp);
    /* In place: logits (N,V) becomes dlogits = dlogp[i] * inv_temp * (onehot(target) - softmax(z)). */
    void (*logprob_backward)(float *logits, const int *targets, const float *dlogp, int N,
                             int V, float inv_temp);
    /* torch.optim.AdamW on n values, gradient g * grad_scale (the clip factor):
       m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= lr wd p;
       p -= lr (m / bc1) / (sqrt(v / bc2) + eps), bc = 1 - beta^step. */
    void (*adamw)(float *p, const float *g, float *m, float *v, size_t n, float lr, float b1,
                  float b2, float eps, float wd, float bc1, float bc2, float grad_scale);
    /* sum of x^2 in double, returned to the host. */
    double (*sum_squares)(const float *x, size_t n);
} hbpo_backend;

/* The reference CPU backend: cblas_sgemm (or the portable loop) for every
   product, OpenMP over rows and heads for the rest. */
HBPODEF const hbpo_backend *hbpo_backend_cpu(void);

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

/* A Qwen2 (or Qwen3) decoder, as transformers' Qwen2ForCausalLM computes it:
     x = embed_tokens[tokens]
     per layer: h = x + o_proj(attn(rope(q_proj(ln1(x))), rope(k_proj(..)), v_proj(..)))
                x = h + down_proj(silu(gate_proj(ln2(h))) * up_proj(ln2(h)))
     logits = lm_head(norm(x))    (lm_head = embed_tokens when tied)
   Qwen3 differs only by an RMSNorm over each head of q and k before RoPE
   (qk_norm) and no q/k/v biases (attention_bias = 0). */
typedef struct {
    int   vocab_size;              /* V */
    int   hidden_size;             /* C */
    int   intermediate_size;       /* F */
    int   num_hidden_layers;       /* L */
    int   num_attention_heads;     /* NH */
    int   num_key_value_heads;     /* KVH, divides NH */
    int   head_dim;                /* HS (Qwen2: C / NH) */
    int   max_position_embeddings; /* longest sequence the model accepts */
    float rope_theta;
    float rms_norm_eps;
    float initializer_range;       /* std of the normal initialisation */
    int   tie_word_embeddings;     /* 1: lm_head is embed_tokens */
    int   attention_bias;          /* 1: q/k/v projections have biases (Qwen2) */
    int   qk_norm;                 /* 1: per-head RMSNorm of q and k (Qwen3) */
    int   bos_token_id;            /* -1 when absent */
    int   eos_token_id;            /* -1 when absent */
} hbpo_model_config;

/* The benchmark's reference shape (hidden 512, 8 layers, 8 heads / 2 KV heads,
   FFN 1408, vocab 4096, 1024 positions, rope_theta 10000, tied embeddings:
   24.7M parameters), Qwen2 style. */
HBPODEF hbpo_model_config hbpo_model_config_default(void);
/* 0 when the config describes a model this code can run; else -1 and a reason. */
HBPODEF int hbpo_model_config_check(const hbpo_model_config *c);

#define HBPO_MAX_TENSOR_NAME 80
/* One parameter tensor: its transformers name, shape and place in the buffer. */
typedef struct {
    char   name[HBPO_MAX_TENSOR_NAME]; /* e.g. "model.layers.0.self_attn.q_proj.weight" */
    int    ndim;                       /* 1 or 2 */
    int    shape[2];                   /* rows, cols (shape[1] = 1 when ndim == 1) */
    size_t offset;                     /* in floats, from the start of the buffer */
    size_t numel;
} hbpo_tensor_info;

/* Pointers of one layer's tensors into a flat buffer (parameters or gradients).
   Shapes: ln1, ln2 (C); wq (NH*HS,C), bq (NH*HS); wk, wv (KVH*HS,C), bk, bv
   (KVH*HS); wo (C,NH*HS); q_norm, k_norm (HS); w_gate, w_up (F,C); w_down (C,F).
   Biases are NULL without attention_bias, q_norm/k_norm NULL without qk_norm. */
typedef struct {
    float *ln1, *wq, *bq, *wk, *bk, *wv, *bv, *wo, *q_norm, *k_norm, *ln2;
    float *w_gate, *w_up, *w_down;
} hbpo_layer_weights;

/* Pointers of the whole model into one flat buffer. */
typedef struct {
    float *embed;               /* (V,C) model.embed_tokens.weight */
    hbpo_layer_weights *layer;  /* (L) */
    float *norm;                /* (C) model.norm.weight */
    float *lm_head;             /* (V,C): == embed when tied */
} hbpo_weights;

typedef struct hbpo__acts hbpo__acts; /* activations and scratch (private) */

typedef struct {
    hbpo_model_config  config;
    const hbpo_backend *be;       /* where the buffers live and who computes */
    size_t             n_params;  /* floats in each of params, grads, m, v */
    float             *params;    /* one contiguous buffer, backend memory */
    float             *grads;     /* same layout; allocated on first backward */
    float             *m, *v;     /* AdamW moments; allocated on first step */
    hbpo_weights       w, g;      /* tensors of params and grads */
    hbpo_tensor_info  *tensors;   /* (n_tensors), host, in transformers' order */
    int                n_tensors;
    long               step;      /* AdamW steps taken (bias correction) */
    hbpo__acts        *acts;      /* saved by the last forward, for backward */
} hbpo_model;

/* Builds an all-zero model of config c on backend be (NULL: the CPU).
   Returns 0 or -1 (bad config, out of memory); free with hbpo_model_free. */
HBPODEF int  hbpo_model_create(hbpo_model *m, const hbpo_model_config *c, const hbpo_backend *be);
/* transformers' _init_weights: every Linear and the embedding ~ N(0, initializer_range),
   biases 0, RMSNorm weights 1; a deterministic function of the seed. */
HBPODEF void hbpo_model_init_random(hbpo_model *m, uint64_t seed);
HBPODEF void hbpo_model_free(hbpo_model *m);
/* The tensor called name (transformers' naming), or NULL. */
HBPODEF const hbpo_tensor_info *hbpo_model_tensor(const hbpo_model *m, const char *name);

/* Training forward over B sequences of T tokens (all arrays host, row-major (B,T)).
   inputs are the token ids; for each position with mask != 0, logp receives
   log p(targets[b,t] | inputs[b, 0..t]) under softmax(logits / temperature)
   and entropy the entropy of that distribution (both may be NULL; masked
   positions get 0 and their targets are never read). Only masked-in positions
   pay for the LM head. Saves what hbpo_model_backward needs. Returns 0 or -1. */
HBPODEF int hbpo_model_forward(hbpo_model *m, const int *inputs, const int *targets,
                               const float *mask, int B, int T, float temperature,
                               float *logp, float *entropy);
/* The full logits (B,T,V) of B sequences of T tokens into host memory (an
   inference helper for tests and evaluation: (B*T*V) floats must fit the
   caller's buffer). Overwrites what the last forward saved. Returns 0 or -1. */
HBPODEF int hbpo_model_logits(hbpo_model *m, const int *inputs, int B, int T, float *logits);
/* Backward of the last forward given dlogp (B,T) = d(objective)/d(logp)
   (host; read only where mask != 0): grads += d(objective)/d(params). */
HBPODEF int hbpo_model_backward(hbpo_model *m, const float *dlogp);
/* Supervised fine-tuning: forward, loss = -mean of logp over masked-in positions
   (next-token cross-entropy, temperature 1), and backward of loss * grad_scale
   (1/micro-batches when accumulating). *loss may be NULL. Returns 0 or -1. */
HBPODEF int hbpo_model_cross_entropy(hbpo_model *m, const int *inputs, const int *targets,
                                     const float *mask, int B, int T, float grad_scale,
                                     float *loss);
HBPODEF int hbpo_model_zero_grad(hbpo_model *m);
/* Bytes the model holds in backend memory: parameters, gradients and AdamW
   moments (each allocated when first needed), and the activations of the last
   training forward, split into saved (read by the backward) and scratch. */
typedef struct { size_t params, grads, adam, saved, scratch; } hbpo_model_memory;
HBPODEF hbpo_model_memory hbpo_model_memory_usage(const hbpo_model *m);

/* torch.optim.AdamW (decoupled weight decay on every parameter, as verl's single
   parameter group) after clipping the global gradient norm. */
typedef struct {
    float lr;            /* 1e-6 (the paper) */
    float beta1, beta2;  /* 0.9, 0.999 */
    float eps;           /* 1e-8 */
    float weight_decay;  /* 0.01 (verl's default) */
    float max_grad_norm; /* clip the global L2 norm to this; <= 0: no clipping */
} hbpo_adamw_config;
HBPODEF hbpo_adamw_config hbpo_adamw_config_default(void);
/* One optimizer step from the accumulated grads, then zero them. *grad_norm
   (may be NULL) gets the norm before clipping. A non-finite norm skips the
   update (grads are still zeroed) and returns -1. */
HBPODEF int hbpo_model_step(hbpo_model *m, const hbpo_adamw_config *c, float *grad_norm);


/* ------------------------------------------------------------------------- */
/* 9. Generation: sampling, KV-cache decoding                                */
/* ------------------------------------------------------------------------- */

#define HBPO_MAX_EOS 8

/* How tokens are drawn and when a sequence stops. Filters apply in the order
   of transformers' and vLLM's samplers: temperature, then top-k, then top-p.
   Ties in a ranking are broken by the lower token id, so every choice is a
   deterministic function of the logits and the coin. */
typedef struct {
    float    temperature;       /* softmax(logits / temperature); <= 0: greedy (argmax) */
    float    top_p;             /* nucleus, in (0, 1]: keep the smallest set of most likely
                                   tokens whose probability sums to >= top_p (never empty);
                                   1: off */
    int      top_k;             /* keep the top_k most likely tokens (exactly k, lower id
                                   first among equals); 0: off */
    int      max_new_tokens;    /* tokens generated per sequence at most (>= 1) */
    int      n_eos;             /* stop ids in eos[0..n_eos); 0: stop only at the length limit */
    int      eos[HBPO_MAX_EOS]; /* e.g. Qwen2.5's <|im_end|> 151645 and <|endoftext|> 151643 */
    uint64_t seed;              /* the random streams of hbpo_generate */
} hbpo_sampler_config;

/* The paper's evaluation setting: temperature 0.6, top_p 0.95, top_k off,
   max_new_tokens 4096 (L_max), no EOS ids (set them for the tokenizer), seed 0. */
HBPODEF hbpo_sampler_config hbpo_sampler_config_default(void);
/* 0 when s is usable; else -1 and a message naming the field. vocab_size > 0
   also checks that every eos id is below it. */
HBPODEF int hbpo_sampler_config_check(const hbpo_sampler_config *s, int vocab_size);

/* Draws one token from logits (V, host), which are never modified.
   coin in [0, 1) is the caller's uniform draw (hbpo_rng_uniform), unused when
   greedy. The kept tokens (after top-k and top-p) are visited in id order and
   the first whose cumulative probability exceeds coin * (kept mass) is chosen.
   work: V floats of scratch, needed only with top_k or top_p on (else may be
   NULL). *logp (may be NULL) = log_softmax(logits / temperature)[token] over
   the whole vocabulary, before top-k/top-p truncation (greedy: temperature 1):
   that is the policy's log-probability which hbpo_model_forward(temperature)
   recomputes for the PPO ratio, so old and new log-probs describe the same
   distribution. Cost: O(V) passes plus a sort of the top-p candidates (only
   tokens that can belong to the nucleus: probability >= (1 - top_p) / (2V)).
   Returns the token id, or -1 (non-finite logit, bad config, coin outside
   [0, 1), NULL arguments) with a message. */
HBPODEF int hbpo_sample(const float *logits, int V, const hbpo_sampler_config *s, float coin,
                        float *work, float *logp);

/* Batched generation for rollouts: B sequences with prompts of different
   lengths, prefilled then decoded together with a key/value cache.
   prompt holds the prompts back to back, sequence b being
   prompt[prompt_off[b] .. prompt_off[b+1]) (prompt_off has B+1 entries,
   prompt_off[0] = 0 is not required); every prompt is non-empty and every id
   in [0, V). A budget prefix is simply part of the prompt.
   Sequence b stops after a token in s->eos (included in the output), after
   s->max_new_tokens tokens, or when prompt + output reach the model's
   max_position_embeddings (a prompt must leave room for one token).
   Outputs (host): out_tokens (B, s->max_new_tokens) the generated ids, -1 after
   the end; out_logp (same shape, may be NULL) the sampling log-probs as
   hbpo_sample defines them, 0 after the end; out_len (B) tokens generated.
   Randomness: sequence b draws its coins from its own hbpo_rng seeded with
   the b-th output (0-based) of SplitMix64 seeded with s->seed, one coin per
   non-greedy token; so its tokens depend on (seed, b, prompt) and not on what
   else is in the batch (up to float rounding of batched products).
   Decoding runs every unfinished sequence in one forward step (B rows,
   T = 1); a finished sequence's cache slot is filled by the last active one,
   so it costs nothing further. Memory: a cache of 2 * L * B * S * KVH*HS
   floats, S = the longest prompt + max_new_tokens (capped at
   max_position_embeddings), plus one layer's activations. The model's saved
   training activations are not touched. Returns 0 or -1 with a message. */
HBPODEF int hbpo_generate(hbpo_model *m, const hbpo_sampler_config *s, int B, const int *prompt,
                          const int *prompt_off, int *out_tokens, float *out_logp, int *out_len);

/* ------------------------------------------------------------------------- */
/* 10. Checkpoints: config.json and safetensors                              */
/* ------------------------------------------------------------------------- */

/* Hugging Face checkpoints, as transformers' save_pretrained writes them: a
   folder with config.json and model.safetensors, or shards model-0000i-of-0000n
   .safetensors listed by model.safetensors.index.json ("weight_map": tensor
   name -> file). safetensors is an 8-byte little-endian header length N, N
   bytes of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]},
   "__metadata__": {...}}, then the data, offsets counted from its start.

   Element types of stored tensors (memory is always fp32). */
enum { HBPO_DTYPE_F32 = 0, HBPO_DTYPE_BF16 = 1, HBPO_DTYPE_F16 = 2 };

/* Exact widening of bfloat16 and IEEE half (subnormals, inf and NaN included). */
HBPODEF float    hbpo_bf16_to_f32(uint16_t h);
HBPODEF float    hbpo_f16_to_f32(uint16_t h);
/* float -> bfloat16, round to nearest even (as torch's .to(torch.bfloat16));
   NaN becomes the quiet NaN 0x7FC0 (sign kept). */
HBPODEF uint16_t hbpo_f32_to_bf16(float f);

/* Reads a transformers config.json (len bytes of JSON) for model_type "qwen2"
   or "qwen3" into c, with transformers' defaults (Qwen2Config / Qwen3Config,
   5.x) for absent fields:
     num_key_value_heads   absent: 32 (the dataclass default); null: num_attention_heads
     head_dim              qwen2: the field when present, else hidden_size / heads
                           (which must divide); qwen3: the field, else 128
     attention_bias        qwen2: always 1 (Qwen2Attention hard-codes the biases and
                           ignores the field); qwen3: the field, default false
     qk_norm               0 for qwen2, 1 for qwen3
     rope_theta            rope_parameters.rope_theta, else the top-level rope_theta
                           (transformers 4.x files), else 10000
     bos/eos_token_id      an id, null (-1) or a list (its first id; [] gives -1)
   and the Qwen2Config defaults for sizes (vocab 151936, hidden 4096, FFN 22016,
   32 layers, 32 heads, 32768 positions, rms_norm_eps 1e-6, initializer_range
   0.02, untied). Refused with a message naming the field: wrong JSON types,
   non-integral or out-of-range numbers, hidden_act other than "silu",
   use_sliding_window true, any rope_type other than "default" (rope_scaling /
   rope_parameters: YaRN, linear, dynamic... are not implemented), and
   whatever hbpo_model_config_check rejects. Returns 0 or -1 (c untouched). */
HBPODEF int hbpo_model_config_parse(hbpo_model_config *c, const char *json, size_t len);
/* The same from a file: path is a config.json or a folder holding one. */
HBPODEF int hbpo_model_config_load(hbpo_model_config *c, const char *path);

/* Creates m (as hbpo_model_create on backend be, NULL: the CPU) from the
   checkpoint folder dir and fills every parameter, widening F32, BF16, F16 and
   F64 tensors to fp32. model.safetensors is read when present, else the index
   and its shards (file names without path separators). Every tensor of the
   model's table must appear exactly once (across all shards) with its shape;
   lm_head.weight is skipped for tied models (transformers omits it; when a
   file carries it, it is not compared with the embeddings), and so are
   "*.rotary_emb.inv_freq" buffers that old checkpoints hold. Any other tensor,
   a missing or duplicate one, a bad header (length beyond the file or over
   100 MiB, invalid JSON, unknown dtype, offsets out of range, overlapping or
   leaving holes, a size that is not numel * element size) fails with a
   message naming the file and the tensor. Memory stays bounded: headers and
   4 MiB chunks of data are read at a time, uploaded as they are converted.
   Returns 0, or -1 with m zeroed (nothing to free). */
HBPODEF int hbpo_model_load(hbpo_model *m, const char *dir, const hbpo_backend *be);

/* Writes dir/config.json (model_type "qwen3" when qk_norm, else "qwen2", with
   every field transformers reads) and dir/model.safetensors: tensors in table
   order, dtype HBPO_DTYPE_F32 (exact) or HBPO_DTYPE_BF16 (round to nearest
   even), header padded with spaces to a multiple of 8 bytes, {"format":"pt"}
   metadata; tied models store the embeddings only, as transformers does.
   dir is created when missing (one level). Each file is written under a
   temporary name and renamed into place, so a failed save never leaves a
   truncated file under the final name. A model with neither attention_bias
   nor qk_norm has no transformers Qwen equivalent and is refused.
   Returns 0 or -1. */
HBPODEF int hbpo_model_save(const hbpo_model *m, const char *dir, int dtype);
/* As hbpo_model_save, split into files of at most max_shard_bytes of tensor
   data each (a larger tensor gets a file of its own) named
   model-0000i-of-0000n.safetensors, plus model.safetensors.index.json; when
   everything fits in one file this writes model.safetensors like
   hbpo_model_save (max_shard_bytes 0: no limit). The other layout's files
   left from an earlier save (model.safetensors or the index) are removed, so
   the folder loads as what was just written. */
HBPODEF int hbpo_model_save_sharded(const hbpo_model *m, const char *dir, int dtype,
                                    size_t max_shard_bytes);


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

#if defined(HBPO_USE_OPENBLAS) && defined(_OPENMP)
/* One thread pool, not two. OpenBLAS's own threads (Debian's default build
   uses pthreads) and OpenMP's workers, which spin for a while after every
   parallel region, fight for the cores when small products alternate with
   element-wise OpenMP loops: measured 2.5x slower for a training step on 2
   cores. So OpenBLAS runs single-threaded, and hbpo splits each large product
   into one block of rows (or columns) of C per OpenMP thread. A block's
   elements are computed exactly as in the whole product (same K order), and
   calls made inside a parallel region (attention's per-head products) simply
   run on the calling thread. */
#define HBPO__SGEMM_SPLIT_MIN 262144.0 /* multiply-adds below which one thread is faster */

static void hbpo__sgemm_split(int trans_a, int trans_b, int M, int N, int K, float alpha,
                              const float *A, int lda, const float *B, int ldb, float beta,
                              float *C, int ldc) {
    static int blas_single = 0;
    int nt = omp_in_parallel() ? 1 : omp_get_max_threads(), part;
    if (!blas_single) { /* once: benign if two threads race to set the same value */
        openblas_set_num_threads(1);
        blas_single = 1;
    }
    if (nt <= 1 || (double)M * N * K < HBPO__SGEMM_SPLIT_MIN) {
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                    trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta,
                    C, ldc);
        return;
    }
    HBPO__OMP(omp parallel for num_threads(nt) schedule(static))
    for (part = 0; part < nt; part++) {
        /* split the longer side of C in blocks that are multiples of 16 */
        int rows = M >= N, len = rows ? M : N;
        int blk = ((len + nt - 1) / nt + 15) / 16 * 16, lo = part * blk;
        int hi = lo + blk < len ? lo + blk : len;
        if (lo >= hi) continue;
        if (rows)
            cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                        trans_b ? CblasTrans : CblasNoTrans, hi - lo, N, K, alpha,
                        trans_a ? A + lo : A + (size_t)lo * lda, lda, B, ldb, beta,
                        C + (size_t)lo * ldc, ldc);
        else
            cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                        trans_b ? CblasTrans : CblasNoTrans, M, hi - lo, K, alpha, A, lda,
                        trans_b ? B + (size_t)lo * ldb : B + lo, ldb, beta, C + lo, ldc);
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
#if defined(HBPO_USE_OPENBLAS) && defined(_OPENMP)
    hbpo__sgemm_split(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#elif defined(HBPO_USE_OPENBLAS)
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C,
                ldc);
#else
    hbpo__sgemm_loops(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
}

/* Threads for OpenMP regions. With OpenBLAS under OpenMP, OpenBLAS itself
   stays single-threaded (see hbpo__sgemm_split); without OpenMP, OpenBLAS
   gets the n threads. The first call records the counts in effect, so that
   n <= 0 can restore them. */
HBPODEF void hbpo_set_threads(int n) {
#ifdef _OPENMP
    static int omp_default = 0;
    if (omp_default == 0) omp_default = omp_get_max_threads();
    omp_set_num_threads(n > 0 ? n : omp_default);
#elif defined(HBPO_USE_OPENBLAS)
    static int blas_default = 0;
    if (blas_default == 0) blas_default = openblas_get_num_threads();
    openblas_set_num_threads(n > 0 ? n : blas_default);
#endif
    (void)n;
}

/* ---- The CPU backend: the reference implementation of every operation ----
   Each comment quotes the PyTorch expression computed. Loops over rows run
   in parallel with OpenMP (static schedule, each row written by one thread),
   and every reduction has a fixed order, so a build gives the same bits for
   any thread count except inside cblas_sgemm (OpenBLAS may split K). */

static void *hbpo__cpu_alloc(size_t bytes) {
    void *p = HBPO_MALLOC(bytes ? bytes : 1);
    if (p) memset(p, 0, bytes);
    return p;
}
static void hbpo__cpu_free(void *p) { HBPO_FREE(p); }
static void hbpo__cpu_copy(void *dst, const void *src, size_t bytes) {
    if (bytes) memmove(dst, src, bytes);
}
static void hbpo__cpu_zero(void *p, size_t bytes) {
    if (bytes) memset(p, 0, bytes);
}

/* out = x @ w.T + bias: the bias is copied into every row, then sgemm adds
   the product (beta = 1), or overwrites (beta = 0) without a bias. */
static void hbpo__cpu_matmul_forward(float *out, const float *x, const float *w,
                                     const float *bias, int N, int IC, int OC) {
    int i;
    if (bias) {
        HBPO__OMP(omp parallel for schedule(static))
        for (i = 0; i < N; i++) memcpy(out + (size_t)i * OC, bias, sizeof(float) * (size_t)OC);
    }
    hbpo_sgemm(0, 1, N, OC, IC, 1.0f, x, IC, w, IC, bias ? 1.0f : 0.0f, out, OC);
}

/* dx = dout @ w; dw += dout.T @ x; dbias += dout.sum(0) (columns split across
   threads, rows summed in order). */
static void hbpo__cpu_matmul_backward(float *dx, float *dw, float *dbias, const float *dout,
                                      const float *x, const float *w, int N, int IC, int OC,
                                      int accumulate_dx) {
    if (dx) hbpo_sgemm(0, 0, N, IC, OC, 1.0f, dout, OC, w, IC, accumulate_dx ? 1.0f : 0.0f, dx, IC);
    if (dw) hbpo_sgemm(1, 0, OC, IC, N, 1.0f, dout, OC, x, IC, 1.0f, dw, IC);
    if (dbias) {
        int o0;
        HBPO__OMP(omp parallel for schedule(static))
        for (o0 = 0; o0 < OC; o0 += 64) {
            int o, i, o1 = o0 + 64 < OC ? o0 + 64 : OC;
            for (i = 0; i < N; i++)
                for (o = o0; o < o1; o++) dbias[o] += dout[(size_t)i * OC + o];
        }
    }
}

/* out[i] = wte[tokens[i]] (nn.Embedding). */
static void hbpo__cpu_embedding_forward(float *out, const int *tokens, const float *wte, int N,
                                        int C) {
    int i;
    HBPO__OMP(omp parallel for schedule(static))
    for (i = 0; i < N; i++)
        memcpy(out + (size_t)i * C, wte + (size_t)tokens[i] * C, sizeof(float) * (size_t)C);
}

/* dwte[tokens[i]] += dout[i]. Rows may repeat a token, so threads split the
   channels (never the rows): no races, and the sum order is the row order. */
static void hbpo__cpu_embedding_backward(float *dwte, const float *dout, const int *tokens,
                                         int N, int C) {
    int c0;
    HBPO__OMP(omp parallel for schedule(static))
    for (c0 = 0; c0 < C; c0 += 64) {
        int i, c, c1 = c0 + 64 < C ? c0 + 64 : C;
        for (i = 0; i < N; i++) {
            float *d = dwte + (size_t)tokens[i] * C;
            const float *g = dout + (size_t)i * C;
            for (c = c0; c < c1; c++) d[c] += g[c];
        }
    }
}

/* Qwen2RMSNorm: variance = x.pow(2).mean(-1); x * torch.rsqrt(variance + eps) * w
   (in float32, the mean accumulated in double). */
static void hbpo__cpu_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w,
                                      int N, int C, float eps) {
    int i;
    HBPO__OMP(omp parallel for schedule(static))
    for (i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * C;
        float *oi = out + (size_t)i * C;
        double ss = 0.0;
        float r;
        int c;
        for (c = 0; c < C; c++) ss += (double)xi[c] * xi[c];
        r = (float)(1.0 / sqrt(ss / C + (double)eps));
        for (c = 0; c < C; c++) oi[c] = w[c] * (xi[c] * r);
        if (rstd) rstd[i] = r;
    }
}

/* y = w * x * r with r = (mean(x^2) + eps)^(-1/2). With g = dy * w:
   dx = r * g - r^3 * x * mean(g * x);  dw += sum over rows of dy * x * r. */
static void hbpo__cpu_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                                       const float *w, const float *rstd, int N, int C,
                                       int accumulate_dx) {
    int i, c0;
    HBPO__OMP(omp parallel for schedule(static))
    for (i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * C, *gi = dout + (size_t)i * C;
        float *di = dx + (size_t)i * C;
        float r = rstd[i], k;
        double dot = 0.0;
        int c;
        for (c = 0; c < C; c++) dot += (double)gi[c] * w[c] * xi[c];
        k = (float)(dot / C) * r * r * r;
        if (accumulate_dx)
            for (c = 0; c < C; c++) di[c] += r * gi[c] * w[c] - k * xi[c];
        else
            for (c = 0; c < C; c++) di[c] = r * gi[c] * w[c] - k * xi[c];
    }
    HBPO__OMP(omp parallel for schedule(static))
    for (c0 = 0; c0 < C; c0 += 64) {
        int c, c1 = c0 + 64 < C ? c0 + 64 : C;
        for (i = 0; i < N; i++) {
            const float *xi = x + (size_t)i * C, *gi = dout + (size_t)i * C;
            float r = rstd[i];
            for (c = c0; c < c1; c++) dw[c] += gi[c] * xi[c] * r;
        }
    }
}

/* The rotary angle as transformers computes it in float32:
   inv_freq = 1.0 / (theta ** (arange(0, HS, 2) / HS)); freqs = pos * inv_freq;
   cs[i] = cos(freqs[i]), cs[half + i] = sin(freqs[i]). */
static void hbpo__rope_angles(float *cs, int pos, int HS, float theta) {
    int i, half = HS / 2;
    for (i = 0; i < half; i++) {
        float inv = 1.0f / powf(theta, (float)(2 * i) / (float)HS);
        float ang = (float)pos * inv;
        cs[i] = (float)cos((double)ang);
        cs[half + i] = (float)sin((double)ang);
    }
}

/* q * cos + rotate_half(q) * sin with rotate_half(q) = cat(-q2, q1), on nh
   heads of one row; sign -1 rotates back. */
static void hbpo__rope_row(float *x, const float *cs, int nh, int HS, float sign) {
    int h, i, half = HS / 2;
    for (h = 0; h < nh; h++) {
        float *xh = x + (size_t)h * HS;
        for (i = 0; i < half; i++) {
            float c = cs[i], s = sign * cs[half + i], a = xh[i], b = xh[i + half];
            xh[i] = a * c - b * s;
            xh[i + half] = b * c + a * s;
        }
    }
}

/* The angles of positions pmin..pmax are computed once per call when that
   range is no longer than the rows (training: the T positions shared by the
   B sequences), else per row. */
static void hbpo__cpu_rope(float *x, const int *pos0, int B, int T, int nh, int HS, float theta,
                           float sign) {
    int r, b, pmin = pos0[0], pmax = pos0[0];
    float *table;
    for (b = 1; b < B; b++) {
        pmin = pos0[b] < pmin ? pos0[b] : pmin;
        pmax = pos0[b] > pmax ? pos0[b] : pmax;
    }
    table = (long)pmax - pmin + T <= (long)B * T
                ? (float *)HBPO_MALLOC(sizeof(float) * (size_t)(pmax - pmin + T) * HS)
                : NULL;
    if (table) {
        HBPO__OMP(omp parallel for schedule(static))
        for (r = 0; r < pmax - pmin + T; r++)
            hbpo__rope_angles(table + (size_t)r * HS, pmin + r, HS, theta);
    }
    HBPO__OMP(omp parallel for schedule(static))
    for (r = 0; r < B * T; r++) {
        int pos = pos0[r / T] + r % T;
        float local[2048]; /* HS <= 1024 (hbpo_model_config_check) */
        const float *cs = table ? table + (size_t)(pos - pmin) * HS : local;
        if (!table) hbpo__rope_angles(local, pos, HS, theta);
        hbpo__rope_row(x + (size_t)r * nh * HS, cs, nh, HS, sign);
    }
    HBPO_FREE(table);
}
static void hbpo__cpu_rope_forward(float *x, const int *pos0, int B, int T, int nh, int HS,
                                   float theta) {
    hbpo__cpu_rope(x, pos0, B, T, nh, HS, theta, 1.0f);
}
/* The rotation is orthogonal: its backward is the rotation by -angle. */
static void hbpo__cpu_rope_backward(float *dx, const int *pos0, int B, int T, int nh, int HS,
                                    float theta) {
    hbpo__cpu_rope(dx, pos0, B, T, nh, HS, theta, -1.0f);
}

/* Below this many queries per sequence, attention runs as plain loops in
   parallel over (sequence, head); at or above it, as two sgemm per head. */
#define HBPO__ATT_GEMM_MIN 16

/* One row of scaled scores s[0..n) -> softmax in place; returns logsumexp. */
static float hbpo__softmax_row(float *s, int n) {
    float mx = s[0];
    double sum = 0.0;
    int j;
    for (j = 1; j < n; j++) mx = s[j] > mx ? s[j] : mx;
    for (j = 0; j < n; j++) { s[j] = expf(s[j] - mx); sum += s[j]; }
    for (j = 0; j < n; j++) s[j] = (float)(s[j] / sum);
    return mx + (float)log(sum);
}

/* Score matrices held at once by the sgemm path: pairs of (sequence, head)
   are processed in chunks of at most this many floats (64 MiB), so that the
   products of a chunk run back to back inside OpenBLAS and the element-wise
   work of the whole chunk is one OpenMP region. (Alternating a small sgemm
   and a small OpenMP region per head made the two thread pools contend for
   the cores: 20x slower on 2 cores.) */
#define HBPO__ATT_CHUNK_FLOATS ((size_t)1 << 24)

static int hbpo__att_chunk_pairs(size_t per_pair, int pairs) {
    size_t n = HBPO__ATT_CHUNK_FLOATS / (per_pair ? per_pair : 1);
    if (n < 1) n = 1;
    return n < (size_t)pairs ? (int)n : pairs;
}

/* scores = q @ k.T / sqrt(HS) masked causally; att = softmax(scores) @ v
   (transformers' eager_attention_forward with repeat_kv for GQA). */
static int hbpo__cpu_attention_forward(float *out, float *lse, const float *q, const float *k,
                                       const float *v, const int *pos0, int B, int T, int S,
                                       int NH, int KVH, int HS) {
    int QD = NH * HS, KVD = KVH * HS, group = NH / KVH;
    float scale = 1.0f / sqrtf((float)HS);
    if (T >= HBPO__ATT_GEMM_MIN) {
        /* Per (sequence, head) pair: P = softmax(scale * Q K^T) (T, n) and
           O = P V by sgemm, n = the keys the last query sees. */
        size_t per_pair = (size_t)T * (size_t)S;
        int pairs = B * NH, chunk = hbpo__att_chunk_pairs(per_pair, pairs), p0;
        float *P = (float *)HBPO_MALLOC(sizeof(float) * per_pair * (size_t)chunk);
        if (!P) return hbpo__fail("attention: out of memory for %d score matrices of %d x %d", chunk, T, S);
        for (p0 = 0; p0 < pairs; p0 += chunk) {
            int np = pairs - p0 < chunk ? pairs - p0 : chunk, p, r;
            for (p = 0; p < np; p++) {
                int b = (p0 + p) / NH, h = (p0 + p) % NH, n = pos0[b] + T;
                hbpo_sgemm(0, 1, T, n, HS, scale, q + (size_t)b * T * QD + (size_t)h * HS, QD,
                           k + (size_t)b * S * KVD + (size_t)(h / group) * HS, KVD, 0.0f,
                           P + (size_t)p * per_pair, n);
            }
            HBPO__OMP(omp parallel for schedule(static))
            for (r = 0; r < np * T; r++) {
                int p = r / T, t = r % T, b = (p0 + p) / NH, h = (p0 + p) % NH;
                int n = pos0[b] + T, keys = pos0[b] + t + 1, j;
                float *row = P + (size_t)p * per_pair + (size_t)t * n;
                float l = hbpo__softmax_row(row, keys);
                for (j = keys; j < n; j++) row[j] = 0.0f;
                if (lse) lse[((size_t)b * NH + h) * T + t] = l;
            }
            for (p = 0; p < np; p++) {
                int b = (p0 + p) / NH, h = (p0 + p) % NH, n = pos0[b] + T;
                hbpo_sgemm(0, 0, T, HS, n, 1.0f, P + (size_t)p * per_pair, n,
                           v + (size_t)b * S * KVD + (size_t)(h / group) * HS, KVD, 0.0f,
                           out + (size_t)b * T * QD + (size_t)h * HS, QD);
            }
        }
        HBPO_FREE(P);
        return 0;
    } else {
        int bh, failed = 0;
        HBPO__OMP(omp parallel for schedule(dynamic))
        for (bh = 0; bh < B * NH; bh++) {
            int b = bh / NH, h = bh % NH, t, j, d;
            float *s = (float *)HBPO_MALLOC(sizeof(float) * (size_t)S);
            if (!s) { failed = 1; continue; }
            for (t = 0; t < T; t++) {
                const float *qt = q + ((size_t)b * T + t) * QD + (size_t)h * HS;
                float *ot = out + ((size_t)b * T + t) * QD + (size_t)h * HS;
                int keys = pos0[b] + t + 1;
                float l;
                for (j = 0; j < keys; j++) {
                    const float *kj = k + ((size_t)b * S + j) * KVD + (size_t)(h / group) * HS;
                    float dot = 0.0f;
                    for (d = 0; d < HS; d++) dot += qt[d] * kj[d];
                    s[j] = dot * scale;
                }
                l = hbpo__softmax_row(s, keys);
                if (lse) lse[((size_t)b * NH + h) * T + t] = l;
                for (d = 0; d < HS; d++) ot[d] = 0.0f;
                for (j = 0; j < keys; j++) {
                    const float *vj = v + ((size_t)b * S + j) * KVD + (size_t)(h / group) * HS;
                    for (d = 0; d < HS; d++) ot[d] += s[j] * vj[d];
                }
            }
            HBPO_FREE(s);
        }
        return failed ? hbpo__fail("attention: out of memory") : 0;
    }
}

/* With P = softmax(S), S = scale * Q K^T (recomputed from lse, not stored):
   dV = P^T dO;  dP = dO V^T;  dS = P * (dP - rowsum(dO * O));
   dQ = scale * dS K;  dK = scale * dS^T Q. The kv heads of a group sum over
   their query heads (the backward of repeat_kv). Chunked like the forward. */
static int hbpo__cpu_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                                        const float *q, const float *k, const float *v,
                                        const float *out, const float *lse, int B, int T,
                                        int NH, int KVH, int HS) {
    int QD = NH * HS, KVD = KVH * HS, group = NH / KVH, pairs = B * NH, chunk, p0;
    float scale = 1.0f / sqrtf((float)HS);
    size_t TT = hbpo__mul_size((size_t)T, (size_t)T);
    float *P, *dP;
    chunk = hbpo__att_chunk_pairs(TT, pairs);
    P = (float *)HBPO_MALLOC(sizeof(float) * TT * (size_t)chunk * 2);
    if (!P || TT == 0) {
        HBPO_FREE(P);
        return hbpo__fail("attention backward: out of memory for %d pairs of %d x %d matrices", chunk, T, T);
    }
    dP = P + TT * (size_t)chunk;
    memset(dk, 0, sizeof(float) * (size_t)B * T * KVD);
    memset(dv, 0, sizeof(float) * (size_t)B * T * KVD);
    for (p0 = 0; p0 < pairs; p0 += chunk) {
        int np = pairs - p0 < chunk ? pairs - p0 : chunk, p, r;
        for (p = 0; p < np; p++) {
            int b = (p0 + p) / NH, h = (p0 + p) % NH;
            size_t qo = (size_t)b * T * QD + (size_t)h * HS;
            size_t ko = (size_t)b * T * KVD + (size_t)(h / group) * HS;
            hbpo_sgemm(0, 1, T, T, HS, scale, q + qo, QD, k + ko, KVD, 0.0f, P + p * TT, T);
            hbpo_sgemm(0, 1, T, T, HS, 1.0f, dout + qo, QD, v + ko, KVD, 0.0f, dP + p * TT, T);
        }
        HBPO__OMP(omp parallel for schedule(static))
        for (r = 0; r < np * T; r++) {
            int p = r / T, t = r % T, b = (p0 + p) / NH, h = (p0 + p) % NH, j, d;
            size_t qo = (size_t)b * T * QD + (size_t)h * HS + (size_t)t * QD;
            float *pr = P + p * TT + (size_t)t * T, *dpr = dP + p * TT + (size_t)t * T;
            float l = lse[((size_t)b * NH + h) * T + t], D = 0.0f;
            for (d = 0; d < HS; d++) D += dout[qo + d] * out[qo + d];
            for (j = 0; j <= t; j++) {
                pr[j] = expf(pr[j] - l);
                dpr[j] = pr[j] * (dpr[j] - D) * scale;
            }
            for (; j < T; j++) pr[j] = dpr[j] = 0.0f;
        }
        for (p = 0; p < np; p++) {
            int b = (p0 + p) / NH, h = (p0 + p) % NH;
            size_t qo = (size_t)b * T * QD + (size_t)h * HS;
            size_t ko = (size_t)b * T * KVD + (size_t)(h / group) * HS;
            hbpo_sgemm(0, 0, T, HS, T, 1.0f, dP + p * TT, T, k + ko, KVD, 0.0f, dq + qo, QD);
            hbpo_sgemm(1, 0, T, HS, T, 1.0f, dP + p * TT, T, q + qo, QD, 1.0f, dk + ko, KVD);
            hbpo_sgemm(1, 0, T, HS, T, 1.0f, P + p * TT, T, dout + qo, QD, 1.0f, dv + ko, KVD);
        }
    }
    HBPO_FREE(P);
    return 0;
}

/* SwiGLU: F.silu(gate) * up, silu(g) = g * sigmoid(g). */
static void hbpo__cpu_swiglu_forward(float *h, const float *gate, const float *up, size_t n) {
    long i;
    HBPO__OMP(omp parallel for schedule(static))
    for (i = 0; i < (long)n; i++) h[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
}
/* d silu(g) / dg = s (1 + g (1 - s)), s = sigmoid(g). */
static void hbpo__cpu_swiglu_backward(float *dgate, float *dup, const float *dh,
                                      const float *gate, const float *up, size_t n) {
    long i;
    HBPO__OMP(omp parallel for schedule(static))
    for (i = 0; i < (long)n; i++) {
        float g = gate[i], d = dh[i], s = 1.0f / (1.0f + expf(-g));
        dgate[i] = d * up[i] * s * (1.0f + g * (1.0f - s));
        dup[i] = d * g * s;
    }
}

static void hbpo__cpu_add(float *out, const float *a, const float *b, size_t n) {
    long i;
    HBPO__OMP(omp parallel for schedule(static))
    for (i = 0; i < (long)n; i++) out[i] = a[i] + b[i];
}

static void hbpo__cpu_gather_rows(float *dst, const float *src, const int *rows, int n, int C) {
    int i;
    HBPO__OMP(omp parallel for schedule(static))
    for (i = 0; i < n; i++)
        memcpy(dst + (size_t)i * C, src + (size_t)rows[i] * C, sizeof(float) * (size_t)C);
}
/* rows are distinct (the model passes increasing indices), so rows never race. */
static void hbpo__cpu_scatter_add_rows(float *dst, const float *src, const int *rows, int n,
                                       int C) {
    int i;
    HBPO__OMP(omp parallel for schedule(static))
    for (i = 0; i < n; i++) {
        float *d = dst + (size_t)rows[i] * C;
        const float *s = src + (size_t)i * C;
        int c;
        for (c = 0; c < C; c++) d[c] += s[c];
    }
}

/* z = logits / T; logp = z[target] - logsumexp(z);
   entropy = logsumexp(z) - sum softmax(z) * z (verl's entropy_from_logits). */
static void hbpo__cpu_logprob_forward(float *logp, float *entropy, const float *logits,
                                      const int *targets, int N, int V, float inv_temp) {
    int i;
    HBPO__OMP(omp parallel for schedule(static))
    for (i = 0; i < N; i++) {
        const float *z = logits + (size_t)i * V;
        float mx = z[0] * inv_temp;
        double sum = 0.0, pz = 0.0, lse;
        int j;
        for (j = 1; j < V; j++) mx = z[j] * inv_temp > mx ? z[j] * inv_temp : mx;
        for (j = 0; j < V; j++) {
            double e = exp((double)(z[j] * inv_temp - mx));
            sum += e;
            pz += e * (z[j] * inv_temp - mx);
        }
        lse = log(sum);
        if (logp) logp[i] = (float)((double)(z[targets[i]] * inv_temp - mx) - lse);
        if (entropy) entropy[i] = (float)(lse - pz / sum);
    }
}

/* d logp / d logits_j = inv_temp * (onehot_j - softmax(z)_j), times dlogp. */
static void hbpo__cpu_logprob_backward(float *logits, const int *targets, const float *dlogp,
                                       int N, int V, float inv_temp) {
    int i;
    HBPO__OMP(omp parallel for schedule(static))
    for (i = 0; i < N; i++) {
        float *z = logits + (size_t)i * V;
        float mx = z[0] * inv_temp, g = dlogp[i] * inv_temp;
        double sum = 0.0;
        float inv_sum;
        int j;
        for (j = 1; j < V; j++) mx = z[j] * inv_temp > mx ? z[j] * inv_temp : mx;
        for (j = 0; j < V; j++) { z[j] = expf(z[j] * inv_temp - mx); sum += z[j]; }
        inv_sum = (float)(1.0 / sum);
        for (j = 0; j < V; j++) z[j] = -g * (z[j] * inv_sum);
        z[targets[i]] += g;
    }
}

/* torch.optim.AdamW's step (single tensor, no amsgrad), in float. */
static void hbpo__cpu_adamw(float *p, const float *g, float *m, float *v, size_t n, float lr,
                            float b1, float b2, float eps, float wd, float bc1, float bc2,
                            float grad_scale) {
    long i;
    float step = lr / bc1, bc2_sqrt = sqrtf(bc2);
    HBPO__OMP(omp parallel for schedule(static))
    for (i = 0; i < (long)n; i++) {
        float gi = g[i] * grad_scale;
        p[i] *= 1.0f - lr * wd;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        p[i] -= step * m[i] / (sqrtf(v[i]) / bc2_sqrt + eps);
    }
}

/* Fixed blocks summed in parallel, then the block sums in order: the same
   bits for any thread count. */
#define HBPO__SS_BLOCKS 64
static double hbpo__cpu_sum_squares(const float *x, size_t n) {
    double part[HBPO__SS_BLOCKS], total = 0.0;
    int blk;
    HBPO__OMP(omp parallel for schedule(static))
    for (blk = 0; blk < HBPO__SS_BLOCKS; blk++) {
        size_t i = n / HBPO__SS_BLOCKS * (size_t)blk, end = blk == HBPO__SS_BLOCKS - 1 ? n : i + n / HBPO__SS_BLOCKS;
        double s = 0.0;
        for (; i < end; i++) s += (double)x[i] * x[i];
        part[blk] = s;
    }
    for (blk = 0; blk < HBPO__SS_BLOCKS; blk++) total += part[blk];
    return total;
}

HBPODEF const hbpo_backend *hbpo_backend_cpu(void) {
    static const hbpo_backend cpu = {
        "cpu",
        hbpo__cpu_alloc, hbpo__cpu_free, hbpo__cpu_copy, hbpo__cpu_copy, hbpo__cpu_copy,
        hbpo__cpu_zero,
        hbpo__cpu_matmul_forward, hbpo__cpu_matmul_backward,
        hbpo__cpu_embedding_forward, hbpo__cpu_embedding_backward,
        hbpo__cpu_rmsnorm_forward, hbpo__cpu_rmsnorm_backward,
        hbpo__cpu_rope_forward, hbpo__cpu_rope_backward,
        hbpo__cpu_attention_forward, hbpo__cpu_attention_backward,
        hbpo__cpu_swiglu_forward, hbpo__cpu_swiglu_backward,
        hbpo__cpu_add, hbpo__cpu_gather_rows, hbpo__cpu_scatter_add_rows,
        hbpo__cpu_logprob_forward, hbpo__cpu_logprob_backward,
        hbpo__cpu_adamw, hbpo__cpu_sum_squares,
    };
    return &cpu;
}

/* ------------------------------------------------------------------------- */
/* 8. Model: configuration, parameters, forward, backward, AdamW             */
/* ------------------------------------------------------------------------- */

HBPODEF hbpo_model_config hbpo_model_config_default(void) {
    hbpo_model_config c;
    memset(&c, 0, sizeof c);
    c.vocab_size = 4096;
    c.hidden_size = 512;
    c.intermediate_size = 1408;
    c.num_hidden_layers = 8;
    c.num_attention_heads = 8;
    c.num_key_value_heads = 2;
    c.head_dim = 64;
    c.max_position_embeddings = 1024;
    c.rope_theta = 10000.0f;
    c.rms_norm_eps = 1e-6f;
    c.initializer_range = 0.02f;
    c.tie_word_embeddings = 1;
    c.attention_bias = 1;
    c.qk_norm = 0;
    c.bos_token_id = -1;
    c.eos_token_id = -1;
    return c;
}

/* Limits keep every size product far from overflow (2^24 * 2^20 < 2^63) and
   reject configs that are surely corrupt. */
#define HBPO__MAX_DIM (1 << 24)
#define HBPO__MAX_LAYERS 1024

HBPODEF int hbpo_model_config_check(const hbpo_model_config *c) {
    if (!c) return hbpo__fail("model config: NULL");
    if (c->vocab_size < 1 || c->vocab_size > HBPO__MAX_DIM)
        return hbpo__fail("model config: vocab_size = %d is out of range [1, %d]", c->vocab_size, HBPO__MAX_DIM);
    if (c->hidden_size < 1 || c->hidden_size > (1 << 16))
        return hbpo__fail("model config: hidden_size = %d is out of range [1, 65536]", c->hidden_size);
    if (c->intermediate_size < 1 || c->intermediate_size > (1 << 18))
        return hbpo__fail("model config: intermediate_size = %d is out of range [1, 262144]",
                          c->intermediate_size);
    if (c->num_hidden_layers < 1 || c->num_hidden_layers > HBPO__MAX_LAYERS)
        return hbpo__fail("model config: num_hidden_layers = %d is out of range [1, %d]",
                          c->num_hidden_layers, HBPO__MAX_LAYERS);
    if (c->num_attention_heads < 1 || c->num_attention_heads > 1024)
        return hbpo__fail("model config: num_attention_heads = %d is out of range [1, 1024]",
                          c->num_attention_heads);
    if (c->num_key_value_heads < 1 || c->num_attention_heads % c->num_key_value_heads != 0)
        return hbpo__fail("model config: num_key_value_heads = %d does not divide num_attention_heads = %d",
                          c->num_key_value_heads, c->num_attention_heads);
    if (c->head_dim < 2 || c->head_dim % 2 != 0 || c->head_dim > 1024)
        return hbpo__fail("model config: head_dim = %d must be even and in [2, 1024]", c->head_dim);
    if (c->max_position_embeddings < 1 || c->max_position_embeddings > (1 << 22))
        return hbpo__fail("model config: max_position_embeddings = %d is out of range [1, 4194304]",
                          c->max_position_embeddings);
    if (!(c->rope_theta > 1.0f) || !isfinite(c->rope_theta))
        return hbpo__fail("model config: rope_theta = %g must be a finite number > 1", (double)c->rope_theta);
    if (!(c->rms_norm_eps > 0.0f) || !(c->rms_norm_eps < 1.0f))
        return hbpo__fail("model config: rms_norm_eps = %g must be in (0, 1)", (double)c->rms_norm_eps);
    if (!(c->initializer_range >= 0.0f) || !isfinite(c->initializer_range))
        return hbpo__fail("model config: initializer_range = %g must be finite and >= 0",
                          (double)c->initializer_range);
    if (c->bos_token_id >= c->vocab_size || c->eos_token_id >= c->vocab_size)
        return hbpo__fail("model config: bos_token_id %d or eos_token_id %d is not below vocab_size %d",
                          c->bos_token_id, c->eos_token_id, c->vocab_size);
    return 0;
}

/* The parameter table in transformers' state_dict order. Each entry names a
   tensor, gives its shape and its offset in the one buffer; `slot` records
   where the pointer goes so that params and grads share one layout. */
static int hbpo__add_tensor(hbpo_model *m, int *n, size_t *off, const char *name, int rows,
                            int cols, int ndim) {
    hbpo_tensor_info *t;
    if (m->tensors) {
        t = &m->tensors[*n];
        snprintf(t->name, sizeof t->name, "%s", name);
        t->ndim = ndim;
        t->shape[0] = rows;
        t->shape[1] = cols;
        t->offset = *off;
        t->numel = (size_t)rows * (size_t)cols;
    }
    (*n)++;
    *off += (size_t)rows * (size_t)cols;
    return *n - 1;
}

/* Walks the tensors once: counts them (m->tensors NULL) or fills the table. */
static void hbpo__tensor_table(hbpo_model *m, int *n_tensors, size_t *n_params) {
    const hbpo_model_config *c = &m->config;
    int C = c->hidden_size, F = c->intermediate_size, HS = c->head_dim;
    int QD = c->num_attention_heads * HS, KVD = c->num_key_value_heads * HS, l, n = 0;
    size_t off = 0;
    char name[HBPO_MAX_TENSOR_NAME];
    hbpo__add_tensor(m, &n, &off, "model.embed_tokens.weight", c->vocab_size, C, 2);
    for (l = 0; l < c->num_hidden_layers; l++) {
#define HBPO__T(suffix, rows, cols, ndim)                                             \
    snprintf(name, sizeof name, "model.layers.%d.%s", l, suffix);                     \
    hbpo__add_tensor(m, &n, &off, name, rows, cols, ndim)
        HBPO__T("input_layernorm.weight", C, 1, 1);
        HBPO__T("self_attn.q_proj.weight", QD, C, 2);
        if (c->attention_bias) { HBPO__T("self_attn.q_proj.bias", QD, 1, 1); }
        HBPO__T("self_attn.k_proj.weight", KVD, C, 2);
        if (c->attention_bias) { HBPO__T("self_attn.k_proj.bias", KVD, 1, 1); }
        HBPO__T("self_attn.v_proj.weight", KVD, C, 2);
        if (c->attention_bias) { HBPO__T("self_attn.v_proj.bias", KVD, 1, 1); }
        HBPO__T("self_attn.o_proj.weight", C, QD, 2);
        if (c->qk_norm) {
            HBPO__T("self_attn.q_norm.weight", HS, 1, 1);
            HBPO__T("self_attn.k_norm.weight", HS, 1, 1);
        }
        HBPO__T("post_attention_layernorm.weight", C, 1, 1);
        HBPO__T("mlp.gate_proj.weight", F, C, 2);
        HBPO__T("mlp.up_proj.weight", F, C, 2);
        HBPO__T("mlp.down_proj.weight", C, F, 2);
#undef HBPO__T
    }
    hbpo__add_tensor(m, &n, &off, "model.norm.weight", C, 1, 1);
    if (!c->tie_word_embeddings) hbpo__add_tensor(m, &n, &off, "lm_head.weight", c->vocab_size, C, 2);
    *n_tensors = n;
    *n_params = off;
}

/* Points w at the tensors of buffer base, following the table (same order). */
static void hbpo__point_weights(const hbpo_model *m, float *base, hbpo_weights *w) {
    const hbpo_model_config *c = &m->config;
    int i = 0, l;
#define HBPO__NEXT() (base + m->tensors[i++].offset)
    w->embed = HBPO__NEXT();
    for (l = 0; l < c->num_hidden_layers; l++) {
        hbpo_layer_weights *L = &w->layer[l];
        memset(L, 0, sizeof *L);
        L->ln1 = HBPO__NEXT();
        L->wq = HBPO__NEXT();
        if (c->attention_bias) L->bq = HBPO__NEXT();
        L->wk = HBPO__NEXT();
        if (c->attention_bias) L->bk = HBPO__NEXT();
        L->wv = HBPO__NEXT();
        if (c->attention_bias) L->bv = HBPO__NEXT();
        L->wo = HBPO__NEXT();
        if (c->qk_norm) { L->q_norm = HBPO__NEXT(); L->k_norm = HBPO__NEXT(); }
        L->ln2 = HBPO__NEXT();
        L->w_gate = HBPO__NEXT();
        L->w_up = HBPO__NEXT();
        L->w_down = HBPO__NEXT();
    }
    w->norm = HBPO__NEXT();
    w->lm_head = c->tie_word_embeddings ? w->embed : HBPO__NEXT();
#undef HBPO__NEXT
}

static void hbpo__acts_free(hbpo_model *m);

HBPODEF int hbpo_model_create(hbpo_model *m, const hbpo_model_config *c, const hbpo_backend *be) {
    int n_tensors;
    size_t n_params, bytes;
    if (!m) return hbpo__fail("hbpo_model_create: model is NULL");
    memset(m, 0, sizeof *m);
    if (hbpo_model_config_check(c) != 0) return -1;
    m->config = *c;
    m->be = be ? be : hbpo_backend_cpu();
    hbpo__tensor_table(m, &n_tensors, &n_params);
    m->tensors = (hbpo_tensor_info *)HBPO_MALLOC(sizeof(hbpo_tensor_info) * (size_t)n_tensors);
    m->w.layer = (hbpo_layer_weights *)HBPO_MALLOC(sizeof(hbpo_layer_weights) * (size_t)c->num_hidden_layers);
    m->g.layer = (hbpo_layer_weights *)HBPO_MALLOC(sizeof(hbpo_layer_weights) * (size_t)c->num_hidden_layers);
    bytes = hbpo__mul_size(n_params, sizeof(float));
    if (!m->tensors || !m->w.layer || !m->g.layer || bytes == 0) {
        hbpo_model_free(m);
        return hbpo__fail("hbpo_model_create: out of memory for the tensor table");
    }
    hbpo__tensor_table(m, &m->n_tensors, &m->n_params);
    m->params = (float *)m->be->alloc(bytes);
    if (!m->params) {
        hbpo_model_free(m);
        return hbpo__fail("hbpo_model_create: out of memory for %zu parameters (%zu MiB)",
                          n_params, bytes >> 20);
    }
    hbpo__point_weights(m, m->params, &m->w);
    return 0;
}

HBPODEF void hbpo_model_free(hbpo_model *m) {
    if (!m) return;
    hbpo__acts_free(m);
    if (m->be) {
        m->be->free(m->params);
        m->be->free(m->grads);
        m->be->free(m->m);
        m->be->free(m->v);
    }
    HBPO_FREE(m->tensors);
    HBPO_FREE(m->w.layer);
    HBPO_FREE(m->g.layer);
    memset(m, 0, sizeof *m);
}

HBPODEF const hbpo_tensor_info *hbpo_model_tensor(const hbpo_model *m, const char *name) {
    int i;
    if (!m || !name) return NULL;
    for (i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

/* transformers' Qwen2PreTrainedModel._init_weights: Linear and Embedding
   weights ~ N(0, initializer_range), biases 0, RMSNorm weights 1. Drawn on the
   host in table order from one stream, then uploaded. */
HBPODEF void hbpo_model_init_random(hbpo_model *m, uint64_t seed) {
    hbpo_rng rng;
    float *host;
    size_t j;
    int i;
    if (!m || !m->params) return;
    host = (float *)HBPO_MALLOC(m->n_params * sizeof(float));
    if (!host) { hbpo__fail("hbpo_model_init_random: out of memory"); return; }
    hbpo_rng_seed(&rng, seed);
    for (i = 0; i < m->n_tensors; i++) {
        const hbpo_tensor_info *t = &m->tensors[i];
        float *p = host + t->offset;
        size_t len = strlen(t->name);
        int is_norm = strstr(t->name, "norm.weight") != NULL;
        int is_bias = len > 5 && !strcmp(t->name + len - 5, ".bias");
        for (j = 0; j < t->numel; j++)
            p[j] = is_norm ? 1.0f : is_bias ? 0.0f : m->config.initializer_range * hbpo_rng_normal(&rng);
    }
    m->be->upload(m->params, host, m->n_params * sizeof(float));
    HBPO_FREE(host);
}


/* ---- Activations ----
   One struct serves training and decoding. Training (per_layer = 1) keeps
   every layer's activations for the backward; decoding (per_layer = 0) reuses
   one layer's worth (the residual stream alternates between two slots) and
   keeps only the key/value cache per layer. Every buffer is backend memory
   except the *_host arrays. N = B*T tokens. */
struct hbpo__acts {
    int    per_layer, train;
    size_t cap_tokens;            /* N the buffers hold */
    int    cap_batch;             /* B the pos0/lse buffers hold */
    int    cap_rows;              /* rows of the LM-head chunk */
    size_t saved_bytes;           /* what the backward reads (kept across the forward) */
    size_t scratch_bytes;         /* reused buffers: LM-head chunk, backward scratch, ids */
    int    B, T;                  /* shape of the last forward */
    float  inv_temp;              /* of the last forward */
    int   *tokens, *targets;      /* (N), (N): targets packed by active row */
    int   *pos0;                  /* (B) position of each sequence's first token */
    int   *pos0_host;             /* (B) host copy (decoding places k/v rows by it) */
    int   *rows;                  /* (N) indices of active (masked-in) rows */
    int   *rows_host, n_rows;     /* host copy */
    float *x;                     /* (L+1 or 2, N, C) residual stream entering each layer */
    float *ln1, *ln2, *rstd1, *rstd2; /* (L, N, C), (L, N) */
    float *qlin, *klin, *qrstd, *krstd; /* qk_norm only: q/k before the norm, (L, N*NH|KVH) */
    float *q, *k, *v;             /* (L, N, NH*HS), (L, N, KVH*HS) after RoPE (training) */
    float *att, *lse;             /* (L, N, NH*HS), (L, B, NH, T) */
    float *mid;                   /* (L, N, C) residual after attention */
    float *gate, *up;             /* (L, N, F) */
    float *h;                     /* (N, F) silu(gate) * up, recomputed in backward */
    float *lnf, *rstdf;           /* (N, C), (N) final norm */
    float *hrows, *logits;        /* (R, C), (R, V) one chunk of the LM head */
    float *logp, *entropy, *dlogp; /* (N) per active row */
    /* backward scratch (train only) */
    float *dres, *dln, *dq, *dk, *dv, *datt, *dF1, *dF2, *dqlin, *dklin;
};

static void hbpo__acts_release(const hbpo_backend *be, hbpo__acts *a) {
    void **p[] = {(void **)&a->tokens, (void **)&a->targets, (void **)&a->pos0,
                  (void **)&a->rows, (void **)&a->x, (void **)&a->ln1, (void **)&a->ln2,
                  (void **)&a->rstd1, (void **)&a->rstd2, (void **)&a->qlin,
                  (void **)&a->klin, (void **)&a->qrstd, (void **)&a->krstd, (void **)&a->q,
                  (void **)&a->k, (void **)&a->v, (void **)&a->att, (void **)&a->lse,
                  (void **)&a->mid, (void **)&a->gate, (void **)&a->up, (void **)&a->h,
                  (void **)&a->lnf, (void **)&a->rstdf, (void **)&a->hrows,
                  (void **)&a->logits, (void **)&a->logp, (void **)&a->entropy,
                  (void **)&a->dlogp, (void **)&a->dres, (void **)&a->dln, (void **)&a->dq,
                  (void **)&a->dk, (void **)&a->dv, (void **)&a->datt, (void **)&a->dF1,
                  (void **)&a->dF2, (void **)&a->dqlin, (void **)&a->dklin};
    size_t i;
    for (i = 0; i < sizeof p / sizeof p[0]; i++) { be->free(*p[i]); *p[i] = NULL; }
    HBPO_FREE(a->rows_host);
    HBPO_FREE(a->pos0_host);
    a->rows_host = a->pos0_host = NULL;
}

static void hbpo__acts_free(hbpo_model *m) {
    if (!m || !m->acts) return;
    hbpo__acts_release(m->be, m->acts);
    HBPO_FREE(m->acts);
    m->acts = NULL;
}

/* Rows of the LM-head chunk: about 2^23 logits (32 MiB) at a time, so a
   151936-token vocabulary never materialises (B*T, V) at once. */
static int hbpo__head_rows(int V, size_t n) {
    size_t r = ((size_t)1 << 23) / (size_t)V;
    if (r < 1) r = 1;
    if (r > n) r = n;
    return (int)r;
}

/* Sizes a for N = B*T tokens (kv: the k/v buffers are allocated here only for
   training; decoding passes its own cache). Returns 0 or -1. */
static int hbpo__acts_alloc(hbpo_model *m, hbpo__acts *a, int B, int T, int per_layer, int train) {
    const hbpo_model_config *c = &m->config;
    const hbpo_backend *be = m->be;
    size_t N = (size_t)B * T, C = (size_t)c->hidden_size, F = (size_t)c->intermediate_size;
    size_t QD = (size_t)c->num_attention_heads * c->head_dim, KVD = (size_t)c->num_key_value_heads * c->head_dim;
    size_t L = per_layer ? (size_t)c->num_hidden_layers : 1, V = (size_t)c->vocab_size;
    size_t R = (size_t)hbpo__head_rows(c->vocab_size, N);
    size_t *count;
    int ok = 1;
    memset(a, 0, sizeof *a);
    a->per_layer = per_layer;
    a->train = train;
    /* Every byte is counted for the memory report: first what the backward
       reads (saved), then the buffers each step reuses (scratch). */
    count = &a->saved_bytes;
#define HBPO__A(ptr, n, type)                                                        \
    do {                                                                             \
        size_t bytes_ = hbpo__mul_size((n), sizeof(type));                           \
        ptr = (type *)(bytes_ ? be->alloc(bytes_) : NULL);                           \
        if (!ptr) ok = 0;                                                            \
        *count += bytes_;                                                            \
    } while (0)
    HBPO__A(a->tokens, N, int);
    HBPO__A(a->pos0, (size_t)B, int);
    HBPO__A(a->x, (per_layer ? L + 1 : 2) * N * C, float);
    HBPO__A(a->ln1, L * N * C, float);
    HBPO__A(a->ln2, L * N * C, float);
    HBPO__A(a->rstd1, L * N, float);
    HBPO__A(a->rstd2, L * N, float);
    if (c->qk_norm) {
        HBPO__A(a->qlin, L * N * QD, float);
        HBPO__A(a->klin, L * N * KVD, float);
        HBPO__A(a->qrstd, L * N * c->num_attention_heads, float);
        HBPO__A(a->krstd, L * N * c->num_key_value_heads, float);
    }
    HBPO__A(a->q, L * N * QD, float);
    HBPO__A(a->k, L * N * KVD, float); /* decoding: this step's rows before the cache */
    HBPO__A(a->v, L * N * KVD, float);
    if (train) HBPO__A(a->lse, L * N * c->num_attention_heads, float);
    HBPO__A(a->att, L * N * QD, float);
    HBPO__A(a->mid, L * N * C, float);
    HBPO__A(a->gate, L * N * F, float);
    HBPO__A(a->up, L * N * F, float);
    HBPO__A(a->lnf, N * C, float);
    HBPO__A(a->rstdf, N, float);
    count = &a->scratch_bytes;
    HBPO__A(a->targets, N, int);
    HBPO__A(a->rows, N, int);
    a->rows_host = (int *)HBPO_MALLOC(sizeof(int) * N);
    a->pos0_host = (int *)HBPO_MALLOC(sizeof(int) * (size_t)B);
    if (!a->rows_host || !a->pos0_host) ok = 0;
    a->scratch_bytes += sizeof(int) * (N + (size_t)B);
    HBPO__A(a->h, N * F, float);
    HBPO__A(a->hrows, R * C, float);
    HBPO__A(a->logits, R * V, float);
    HBPO__A(a->logp, N, float);
    HBPO__A(a->entropy, N, float);
    HBPO__A(a->dlogp, N, float);
    if (train) {
        HBPO__A(a->dres, N * C, float);
        HBPO__A(a->dln, N * C, float);
        HBPO__A(a->dq, N * QD, float);
        HBPO__A(a->dk, N * KVD, float);
        HBPO__A(a->dv, N * KVD, float);
        HBPO__A(a->datt, N * QD, float);
        HBPO__A(a->dF1, N * F, float);
        HBPO__A(a->dF2, N * F, float);
        if (c->qk_norm) {
            HBPO__A(a->dqlin, N * QD, float);
            HBPO__A(a->dklin, N * KVD, float);
        }
    }
#undef HBPO__A
    a->cap_tokens = N;
    a->cap_batch = B;
    a->cap_rows = (int)R;
    if (!ok) {
        hbpo__acts_release(be, a);
        return hbpo__fail("model: out of memory for the activations of %d x %d tokens", B, T);
    }
    return 0;
}

/* Pointer to layer l's slice of a per-layer activation of `width` floats per
   token (decoding keeps one slice for all layers). */
#define HBPO__LAYER(a, buf, l, N, width) \
    ((buf) + ((a)->per_layer ? (size_t)(l) : 0) * (size_t)(N) * (size_t)(width))
/* The residual stream entering layer l (decoding alternates two slots). */
#define HBPO__RESID(a, l, N, C) \
    ((a)->x + (size_t)((a)->per_layer ? (l) : ((l) & 1)) * (size_t)(N) * (size_t)(C))

/* The transformer body for B sequences of T tokens already in a->tokens,
   sequence b starting at position a->pos0[b]: embedding, every layer, final
   norm into a->lnf. Keys and values of layer l go to kc/vc + l * kv_stride,
   laid out (B, S, KVH*HS) with each sequence's tokens at their positions
   (training: the layer's own (B, T) buffers, S = T). One function for
   training, prefill and decoding: this is the forward control flow. The
   caller fills a->tokens, a->pos0 and a->pos0_host. */
static int hbpo__forward_body(hbpo_model *m, hbpo__acts *a, int B, int T, float *kc, float *vc,
                              size_t kv_stride, int S) {
    const hbpo_model_config *c = &m->config;
    const hbpo_backend *be = m->be;
    int N = B * T, C = c->hidden_size, F = c->intermediate_size, HS = c->head_dim;
    int NH = c->num_attention_heads, KVH = c->num_key_value_heads;
    int QD = NH * HS, KVD = KVH * HS, l;
    be->embedding_forward(HBPO__RESID(a, 0, N, C), a->tokens, m->w.embed, N, C);
    for (l = 0; l < c->num_hidden_layers; l++) {
        const hbpo_layer_weights *w = &m->w.layer[l];
        float *x = HBPO__RESID(a, l, N, C), *xo = HBPO__RESID(a, l + 1, N, C);
        float *ln1 = HBPO__LAYER(a, a->ln1, l, N, C), *ln2 = HBPO__LAYER(a, a->ln2, l, N, C);
        float *rstd1 = HBPO__LAYER(a, a->rstd1, l, N, 1), *rstd2 = HBPO__LAYER(a, a->rstd2, l, N, 1);
        float *q = HBPO__LAYER(a, a->q, l, N, QD), *att = HBPO__LAYER(a, a->att, l, N, QD);
        float *mid = HBPO__LAYER(a, a->mid, l, N, C);
        float *gate = HBPO__LAYER(a, a->gate, l, N, F), *up = HBPO__LAYER(a, a->up, l, N, F);
        float *lse = a->lse ? a->lse + (size_t)l * N * NH : NULL;
        float *k = kc + (size_t)l * kv_stride, *v = vc + (size_t)l * kv_stride, *kt, *vt;
        int b;
        /* hidden = input_layernorm(x); q, k, v = q_proj(hidden), ... */
        be->rmsnorm_forward(ln1, rstd1, x, w->ln1, N, C, c->rms_norm_eps);
        if (c->qk_norm) {
            float *qlin = HBPO__LAYER(a, a->qlin, l, N, QD);
            be->matmul_forward(qlin, ln1, w->wq, w->bq, N, C, QD);
            be->rmsnorm_forward(q, HBPO__LAYER(a, a->qrstd, l, N, NH), qlin, w->q_norm, N * NH,
                                HS, c->rms_norm_eps);
        } else {
            be->matmul_forward(q, ln1, w->wq, w->bq, N, C, QD);
        }
        be->rope_forward(q, a->pos0, B, T, NH, HS, c->rope_theta);
        /* k and v go straight to their place in the cache: with T == S
           (training) that is one block; else row by row per sequence. */
        if (S == T) {
            kt = k;
            vt = v;
        } else {
            kt = a->k; /* this step's rows, copied into the cache below */
            vt = a->v;
        }
        if (c->qk_norm) {
            float *klin = HBPO__LAYER(a, a->klin, l, N, KVD);
            be->matmul_forward(klin, ln1, w->wk, w->bk, N, C, KVD);
            be->rmsnorm_forward(kt, HBPO__LAYER(a, a->krstd, l, N, KVH), klin, w->k_norm,
                                N * KVH, HS, c->rms_norm_eps);
        } else {
            be->matmul_forward(kt, ln1, w->wk, w->bk, N, C, KVD);
        }
        be->rope_forward(kt, a->pos0, B, T, KVH, HS, c->rope_theta);
        be->matmul_forward(vt, ln1, w->wv, w->bv, N, C, KVD);
        if (S != T) {
            for (b = 0; b < B; b++) {
                size_t dst = ((size_t)b * S + (size_t)a->pos0_host[b]) * KVD;
                size_t src = (size_t)b * T * KVD;
                be->copy(k + dst, kt + src, sizeof(float) * (size_t)T * KVD);
                be->copy(v + dst, vt + src, sizeof(float) * (size_t)T * KVD);
            }
        }
        if (be->attention_forward(att, lse, q, k, v, a->pos0, B, T, S, NH, KVH, HS) != 0) return -1;
        /* x = x + o_proj(attn) */
        be->matmul_forward(mid, att, w->wo, NULL, N, QD, C);
        be->add(mid, mid, x, (size_t)N * C);
        /* x = x + down_proj(silu(gate_proj(h)) * up_proj(h)), h = post_attention_layernorm(x) */
        be->rmsnorm_forward(ln2, rstd2, mid, w->ln2, N, C, c->rms_norm_eps);
        be->matmul_forward(gate, ln2, w->w_gate, NULL, N, C, F);
        be->matmul_forward(up, ln2, w->w_up, NULL, N, C, F);
        be->swiglu_forward(a->h, gate, up, (size_t)N * F);
        be->matmul_forward(xo, a->h, w->w_down, NULL, N, F, C);
        be->add(xo, xo, mid, (size_t)N * C);
    }
    be->rmsnorm_forward(a->lnf, a->rstdf, HBPO__RESID(a, c->num_hidden_layers, N, C), m->w.norm,
                        N, C, c->rms_norm_eps);
    return 0;
}

HBPODEF int hbpo_model_forward(hbpo_model *m, const int *inputs, const int *targets,
                               const float *mask, int B, int T, float temperature,
                               float *logp, float *entropy) {
    const hbpo_model_config *c;
    const hbpo_backend *be;
    hbpo__acts *a;
    float *hostbuf = NULL;
    int i, r0, V, C, *tg = NULL;
    size_t N;
    if (!m || !m->params) return hbpo__fail("hbpo_model_forward: model is not created");
    c = &m->config;
    be = m->be;
    V = c->vocab_size;
    C = c->hidden_size;
    if (!inputs || !mask) return hbpo__fail("hbpo_model_forward: inputs or mask is NULL");
    if (B < 1 || T < 1 || (size_t)B * (size_t)T > ((size_t)1 << 30))
        return hbpo__fail("hbpo_model_forward: B = %d, T = %d out of range", B, T);
    if (T > c->max_position_embeddings)
        return hbpo__fail("hbpo_model_forward: T = %d exceeds max_position_embeddings = %d", T,
                          c->max_position_embeddings);
    if (!(temperature > 0.0f) || !isfinite(temperature))
        return hbpo__fail("hbpo_model_forward: temperature = %g must be > 0", (double)temperature);
    N = (size_t)B * T;
    for (i = 0; i < (int)N; i++) {
        if (inputs[i] < 0 || inputs[i] >= V)
            return hbpo__fail("hbpo_model_forward: input token %d at index %d is outside [0, %d)", inputs[i], i, V);
        if (mask[i] != 0.0f && (!targets || targets[i] < 0 || targets[i] >= V))
            return hbpo__fail("hbpo_model_forward: target at index %d is missing or outside [0, %d)", i, V);
    }
    /* (Re)size the saved activations for this shape. */
    if (m->acts && (m->acts->B != B || m->acts->T != T)) hbpo__acts_free(m);
    if (!m->acts) {
        m->acts = (hbpo__acts *)HBPO_MALLOC(sizeof(hbpo__acts));
        if (!m->acts) return hbpo__fail("hbpo_model_forward: out of memory");
        if (hbpo__acts_alloc(m, m->acts, B, T, 1, 1) != 0) {
            HBPO_FREE(m->acts);
            m->acts = NULL;
            return -1;
        }
    }
    a = m->acts;
    a->B = B;
    a->T = T;
    a->inv_temp = 1.0f / temperature;
    /* The active rows (mask != 0) and their targets, packed. */
    tg = (int *)HBPO_MALLOC(sizeof(int) * N);
    if (!tg) return hbpo__fail("hbpo_model_forward: out of memory");
    a->n_rows = 0;
    for (i = 0; i < (int)N; i++)
        if (mask[i] != 0.0f) { a->rows_host[a->n_rows] = i; tg[a->n_rows++] = targets[i]; }
    be->upload(a->tokens, inputs, sizeof(int) * N);
    be->upload(a->rows, a->rows_host, sizeof(int) * (size_t)a->n_rows);
    be->upload(a->targets, tg, sizeof(int) * (size_t)a->n_rows);
    HBPO_FREE(tg);
    memset(a->pos0_host, 0, sizeof(int) * (size_t)B);
    be->upload(a->pos0, a->pos0_host, sizeof(int) * (size_t)B);
    if (hbpo__forward_body(m, a, B, T, a->k, a->v, N * (size_t)c->num_key_value_heads * c->head_dim, T) != 0)
        return -1;
    /* LM head over the active rows, one chunk at a time: logits = lm_head(norm(x)). */
    for (r0 = 0; r0 < a->n_rows; r0 += a->cap_rows) {
        int n = a->n_rows - r0 < a->cap_rows ? a->n_rows - r0 : a->cap_rows;
        be->gather_rows(a->hrows, a->lnf, a->rows + r0, n, C);
        be->matmul_forward(a->logits, a->hrows, m->w.lm_head, NULL, n, C, V);
        be->logprob_forward(a->logp + r0, a->entropy + r0, a->logits, a->targets + r0, n, V, a->inv_temp);
    }
    /* Unpack to (B,T) on the host. */
    if (logp || entropy) {
        hostbuf = (float *)HBPO_MALLOC(sizeof(float) * (size_t)(a->n_rows > 0 ? a->n_rows : 1) * 2);
        if (!hostbuf) return hbpo__fail("hbpo_model_forward: out of memory");
        be->download(hostbuf, a->logp, sizeof(float) * (size_t)a->n_rows);
        be->download(hostbuf + a->n_rows, a->entropy, sizeof(float) * (size_t)a->n_rows);
        if (logp) memset(logp, 0, sizeof(float) * N);
        if (entropy) memset(entropy, 0, sizeof(float) * N);
        for (i = 0; i < a->n_rows; i++) {
            if (logp) logp[a->rows_host[i]] = hostbuf[i];
            if (entropy) entropy[a->rows_host[i]] = hostbuf[a->n_rows + i];
        }
        HBPO_FREE(hostbuf);
    }
    return 0;
}

HBPODEF int hbpo_model_logits(hbpo_model *m, const int *inputs, int B, int T, float *logits) {
    float *mask;
    size_t i, N;
    int r0, rc, V, C;
    hbpo__acts *a;
    if (!logits || B < 1 || T < 1) return hbpo__fail("hbpo_model_logits: no output or B = %d, T = %d", B, T);
    N = (size_t)B * T;
    mask = (float *)HBPO_MALLOC(sizeof(float) * N);
    if (!mask) return hbpo__fail("hbpo_model_logits: out of memory");
    for (i = 0; i < N; i++) mask[i] = 0.0f; /* no LM head in the forward: done below */
    rc = hbpo_model_forward(m, inputs, NULL, mask, B, T, 1.0f, NULL, NULL);
    HBPO_FREE(mask);
    if (rc != 0) return rc;
    a = m->acts;
    V = m->config.vocab_size;
    C = m->config.hidden_size;
    for (r0 = 0; r0 < (int)N; r0 += a->cap_rows) {
        int n = (int)N - r0 < a->cap_rows ? (int)N - r0 : a->cap_rows;
        m->be->matmul_forward(a->logits, a->lnf + (size_t)r0 * C, m->w.lm_head, NULL, n, C, V);
        m->be->download(logits + (size_t)r0 * V, a->logits, sizeof(float) * (size_t)n * V);
    }
    return 0;
}

/* Lazily allocates the gradient buffer (zeroed) and points g at it. */
static int hbpo__ensure_grads(hbpo_model *m) {
    if (m->grads) return 0;
    m->grads = (float *)m->be->alloc(m->n_params * sizeof(float));
    if (!m->grads) return hbpo__fail("model: out of memory for gradients (%zu floats)", m->n_params);
    hbpo__point_weights(m, m->grads, &m->g);
    return 0;
}

HBPODEF int hbpo_model_zero_grad(hbpo_model *m) {
    if (!m || !m->params) return hbpo__fail("hbpo_model_zero_grad: model is not created");
    if (hbpo__ensure_grads(m) != 0) return -1;
    m->be->zero(m->grads, m->n_params * sizeof(float));
    return 0;
}

/* The backward of hbpo_model_forward, layer by layer in reverse; the same
   operations' backward halves. a->dres carries d(objective)/d(residual stream). */
HBPODEF int hbpo_model_backward(hbpo_model *m, const float *dlogp) {
    const hbpo_model_config *c;
    const hbpo_backend *be;
    hbpo__acts *a;
    float *packed;
    int N, C, F, HS, NH, KVH, QD, KVD, V, l, i, r0;
    if (!m || !m->acts || !m->acts->train)
        return hbpo__fail("hbpo_model_backward: call hbpo_model_forward first");
    if (!dlogp) return hbpo__fail("hbpo_model_backward: dlogp is NULL");
    if (hbpo__ensure_grads(m) != 0) return -1;
    c = &m->config;
    be = m->be;
    a = m->acts;
    N = a->B * a->T; C = c->hidden_size; F = c->intermediate_size; HS = c->head_dim;
    NH = c->num_attention_heads; KVH = c->num_key_value_heads; QD = NH * HS; KVD = KVH * HS;
    V = c->vocab_size;
    packed = (float *)HBPO_MALLOC(sizeof(float) * (size_t)(a->n_rows > 0 ? a->n_rows : 1));
    if (!packed) return hbpo__fail("hbpo_model_backward: out of memory");
    for (i = 0; i < a->n_rows; i++) packed[i] = dlogp[a->rows_host[i]];
    be->upload(a->dlogp, packed, sizeof(float) * (size_t)a->n_rows);
    HBPO_FREE(packed);
    /* LM head, chunk by chunk: the logits are recomputed rather than kept. */
    be->zero(a->dln, sizeof(float) * (size_t)N * C);
    for (r0 = 0; r0 < a->n_rows; r0 += a->cap_rows) {
        int n = a->n_rows - r0 < a->cap_rows ? a->n_rows - r0 : a->cap_rows;
        be->gather_rows(a->hrows, a->lnf, a->rows + r0, n, C);
        be->matmul_forward(a->logits, a->hrows, m->w.lm_head, NULL, n, C, V);
        be->logprob_backward(a->logits, a->targets + r0, a->dlogp + r0, n, V, a->inv_temp);
        be->matmul_backward(a->dres, m->g.lm_head, NULL, a->logits, a->hrows, m->w.lm_head, n, C, V, 0);
        be->scatter_add_rows(a->dln, a->dres, a->rows + r0, n, C);
    }
    be->rmsnorm_backward(a->dres, m->g.norm, a->dln, HBPO__RESID(a, c->num_hidden_layers, N, C),
                         m->w.norm, a->rstdf, N, C, 0);
    for (l = c->num_hidden_layers - 1; l >= 0; l--) {
        const hbpo_layer_weights *w = &m->w.layer[l];
        hbpo_layer_weights *g = &m->g.layer[l];
        float *x = HBPO__RESID(a, l, N, C);
        float *ln1 = HBPO__LAYER(a, a->ln1, l, N, C), *ln2 = HBPO__LAYER(a, a->ln2, l, N, C);
        float *rstd1 = HBPO__LAYER(a, a->rstd1, l, N, 1), *rstd2 = HBPO__LAYER(a, a->rstd2, l, N, 1);
        float *q = HBPO__LAYER(a, a->q, l, N, QD), *att = HBPO__LAYER(a, a->att, l, N, QD);
        float *k = a->k + (size_t)l * N * KVD, *v = a->v + (size_t)l * N * KVD;
        float *mid = HBPO__LAYER(a, a->mid, l, N, C);
        float *gate = HBPO__LAYER(a, a->gate, l, N, F), *up = HBPO__LAYER(a, a->up, l, N, F);
        float *lse = a->lse + (size_t)l * N * NH;
        float *dq = a->dq, *dk = a->dk;
        /* MLP: x_out = mid + down(h); dres is d x_out and stays as d mid's residual part. */
        be->swiglu_forward(a->h, gate, up, (size_t)N * F);
        be->matmul_backward(a->dF1, g->w_down, NULL, a->dres, a->h, w->w_down, N, F, C, 0);
        be->swiglu_backward(a->dF1, a->dF2, a->dF1, gate, up, (size_t)N * F);
        be->matmul_backward(a->dln, g->w_gate, NULL, a->dF1, ln2, w->w_gate, N, C, F, 0);
        be->matmul_backward(a->dln, g->w_up, NULL, a->dF2, ln2, w->w_up, N, C, F, 1);
        be->rmsnorm_backward(a->dres, g->ln2, a->dln, mid, w->ln2, rstd2, N, C, 1);
        /* Attention: mid = x + o_proj(att). */
        be->matmul_backward(a->datt, g->wo, NULL, a->dres, att, w->wo, N, QD, C, 0);
        if (be->attention_backward(a->dq, a->dk, a->dv, a->datt, q, k, v, att, lse, a->B, a->T,
                                   NH, KVH, HS) != 0)
            return -1;
        be->rope_backward(a->dq, a->pos0, a->B, a->T, NH, HS, c->rope_theta);
        be->rope_backward(a->dk, a->pos0, a->B, a->T, KVH, HS, c->rope_theta);
        if (c->qk_norm) {
            be->rmsnorm_backward(a->dqlin, g->q_norm, a->dq, HBPO__LAYER(a, a->qlin, l, N, QD),
                                 w->q_norm, HBPO__LAYER(a, a->qrstd, l, N, NH), N * NH, HS, 0);
            be->rmsnorm_backward(a->dklin, g->k_norm, a->dk, HBPO__LAYER(a, a->klin, l, N, KVD),
                                 w->k_norm, HBPO__LAYER(a, a->krstd, l, N, KVH), N * KVH, HS, 0);
            dq = a->dqlin;
            dk = a->dklin;
        }
        be->matmul_backward(a->dln, g->wq, g->bq, dq, ln1, w->wq, N, C, QD, 0);
        be->matmul_backward(a->dln, g->wk, g->bk, dk, ln1, w->wk, N, C, KVD, 1);
        be->matmul_backward(a->dln, g->wv, g->bv, a->dv, ln1, w->wv, N, C, KVD, 1);
        be->rmsnorm_backward(a->dres, g->ln1, a->dln, x, w->ln1, rstd1, N, C, 1);
    }
    be->embedding_backward(m->g.embed, a->dres, a->tokens, N, C);
    return 0;
}

HBPODEF int hbpo_model_cross_entropy(hbpo_model *m, const int *inputs, const int *targets,
                                     const float *mask, int B, int T, float grad_scale,
                                     float *loss) {
    float *lp;
    double sum = 0.0;
    size_t i, N, count = 0;
    int rc;
    if (B < 1 || T < 1) return hbpo__fail("hbpo_model_cross_entropy: B = %d, T = %d out of range", B, T);
    N = (size_t)B * T;
    lp = (float *)HBPO_MALLOC(sizeof(float) * N);
    if (!lp) return hbpo__fail("hbpo_model_cross_entropy: out of memory");
    rc = hbpo_model_forward(m, inputs, targets, mask, B, T, 1.0f, lp, NULL);
    if (rc == 0) {
        for (i = 0; i < N; i++)
            if (mask[i] != 0.0f) { sum -= lp[i]; count++; }
        if (loss) *loss = count ? (float)(sum / (double)count) : 0.0f;
        /* d(grad_scale * mean(-logp)) / d logp = -grad_scale / count */
        for (i = 0; i < N; i++) lp[i] = mask[i] != 0.0f ? -grad_scale / (float)count : 0.0f;
        rc = count ? hbpo_model_backward(m, lp) : 0;
    }
    HBPO_FREE(lp);
    return rc;
}

HBPODEF hbpo_model_memory hbpo_model_memory_usage(const hbpo_model *m) {
    hbpo_model_memory u;
    size_t bytes = m ? m->n_params * sizeof(float) : 0;
    memset(&u, 0, sizeof u);
    if (!m) return u;
    u.params = m->params ? bytes : 0;
    u.grads = m->grads ? bytes : 0;
    u.adam = m->m ? 2 * bytes : 0;
    if (m->acts) { u.saved = m->acts->saved_bytes; u.scratch = m->acts->scratch_bytes; }
    return u;
}

HBPODEF hbpo_adamw_config hbpo_adamw_config_default(void) {
    hbpo_adamw_config o;
    o.lr = 1e-6f;
    o.beta1 = 0.9f;
    o.beta2 = 0.999f;
    o.eps = 1e-8f;
    o.weight_decay = 0.01f;
    o.max_grad_norm = 1.0f;
    return o;
}

/* torch.nn.utils.clip_grad_norm_: coef = min(1, max_norm / (norm + 1e-6)),
   folded into the AdamW update as grad_scale; then torch.optim.AdamW. */
HBPODEF int hbpo_model_step(hbpo_model *m, const hbpo_adamw_config *o, float *grad_norm) {
    const hbpo_backend *be;
    double norm;
    float scale = 1.0f, bc1, bc2;
    if (!m || !m->params || !o) return hbpo__fail("hbpo_model_step: model or config is NULL");
    if (!(o->lr >= 0.0f) || !(o->beta1 >= 0.0f && o->beta1 < 1.0f) ||
        !(o->beta2 >= 0.0f && o->beta2 < 1.0f) || !(o->eps > 0.0f) || !(o->weight_decay >= 0.0f))
        return hbpo__fail("hbpo_model_step: lr %g, betas (%g, %g), eps %g or weight_decay %g out of range",
                          (double)o->lr, (double)o->beta1, (double)o->beta2, (double)o->eps,
                          (double)o->weight_decay);
    be = m->be;
    if (hbpo__ensure_grads(m) != 0) return -1;
    if (!m->m) {
        m->m = (float *)be->alloc(m->n_params * sizeof(float));
        m->v = (float *)be->alloc(m->n_params * sizeof(float));
        if (!m->m || !m->v) {
            be->free(m->m); be->free(m->v);
            m->m = m->v = NULL;
            return hbpo__fail("hbpo_model_step: out of memory for the AdamW moments");
        }
    }
    norm = sqrt(be->sum_squares(m->grads, m->n_params));
    if (grad_norm) *grad_norm = (float)norm;
    if (!isfinite(norm)) {
        be->zero(m->grads, m->n_params * sizeof(float));
        return hbpo__fail("hbpo_model_step: gradient norm is %g; update skipped", norm);
    }
    if (o->max_grad_norm > 0.0f && o->max_grad_norm / (norm + 1e-6) < 1.0)
        scale = (float)(o->max_grad_norm / (norm + 1e-6));
    m->step++;
    bc1 = 1.0f - (float)pow(o->beta1, (double)m->step);
    bc2 = 1.0f - (float)pow(o->beta2, (double)m->step);
    be->adamw(m->params, m->grads, m->m, m->v, m->n_params, o->lr, o->beta1, o->beta2, o->eps,
              o->weight_decay, bc1, bc2, scale);
    be->zero(m->grads, m->n_params * sizeof(float));
    return 0;
}

/* ------------------------------------------------------------------------- */
/* 9. Generation: sampling, KV-cache decoding                                */
/* ------------------------------------------------------------------------- */

/* ------------------------------------------------------------------------- */
/* 10. Checkpoints: config.json and safetensors                              */
/* ------------------------------------------------------------------------- */

#include <limits.h>   /* LONG_MAX */
#include <sys/stat.h> /* stat, mkdir */
#ifdef _WIN32
#include <direct.h>   /* _mkdir */
#endif
#if !defined(S_ISDIR) && defined(S_IFMT) && defined(S_IFDIR)
#define S_ISDIR(mode) (((mode) & S_IFMT) == S_IFDIR)
#endif

/* Limits on what checkpoint files may claim (stb habit). */
#define HBPO__CKPT_PATH_MAX     4096
#define HBPO__CKPT_CONFIG_MAX   ((size_t)16 << 20)  /* config.json */
#define HBPO__CKPT_INDEX_MAX    ((size_t)64 << 20)  /* model.safetensors.index.json */
#define HBPO__ST_HEADER_MAX     ((uint64_t)100 << 20) /* a safetensors JSON header */
#define HBPO__ST_MAX_DIMS       8
#define HBPO__CKPT_MAX_SHARDS   100000
#define HBPO__CKPT_CHUNK        ((size_t)1 << 20)   /* elements converted per read/write */

/* ---- element conversions ---- */

HBPODEF float hbpo_bf16_to_f32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16; /* bfloat16 is the top half of a float */
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

HBPODEF float hbpo_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    float f;
    if (e == 0) { /* zero or subnormal: man * 2^-24, exact in float */
        f = ldexpf((float)man, -24);
        return sign ? -f : f;
    }
    if (e == 31) u = sign | 0x7f800000u | (man << 13);   /* inf, NaN (payload kept) */
    else u = sign | ((e + 112u) << 23) | (man << 13);    /* rebias 15 -> 127 */
    memcpy(&f, &u, sizeof f);
    return f;
}

/* torch's round_to_nearest_even (c10/util/BFloat16.h): add 0x7FFF plus the
   lowest kept bit, keep the top half; every NaN becomes 0x7FC0. */
HBPODEF uint16_t hbpo_f32_to_bf16(float f) {
    uint32_t u;
    if (f != f) return 0x7FC0u;
    memcpy(&u, &f, sizeof u);
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

/* double -> float rounded to nearest, with the overflow to +-inf written out
   (a C cast of an out-of-range double is undefined). */
static float hbpo__f64_to_f32(double d) {
    /* 2^128 - 2^103: halfway between FLT_MAX and 2^128; ties go to inf (even). */
    const double lim = 340282356779733661637539395458142568448.0;
    if (d != d) return NAN;
    if (d >= lim) return INFINITY;
    if (d <= -lim) return -INFINITY;
    if (d > (double)FLT_MAX) return FLT_MAX;
    if (d < -(double)FLT_MAX) return -FLT_MAX;
    return (float)d;
}

/* ---- paths ---- */

/* out = dir + "/" + name; -1 when it does not fit. */
static int hbpo__path_join(char *out, size_t cap, const char *dir, const char *name) {
    size_t n = strlen(dir);
    int k = snprintf(out, cap, "%s%s%s", dir, (n && (dir[n - 1] == '/' || dir[n - 1] == '\\')) ? "" : "/", name);
    if (k < 0 || (size_t)k >= cap) return hbpo__fail("checkpoint: path %s/%s is too long", dir, name);
    return 0;
}

static int hbpo__is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int hbpo__file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

/* ---- config.json ---- */

/* Member key of root as an int in [lo, hi]. Returns 1 when set, 0 when absent
   (out unchanged; null counts as absent when null_ok), -1 with a message. */
static int hbpo__cfg_int(const hbpo_json *root, const char *key, int *out, int lo, int hi,
                         int null_ok) {
    const hbpo_json *v = hbpo_json_get(root, key);
    if (!v || (null_ok && v->type == HBPO_JSON_NULL)) return 0;
    if (v->type != HBPO_JSON_NUMBER)
        return hbpo__fail("config.json: \"%s\" must be an integer, not %s", key,
                          v->type == HBPO_JSON_STRING ? "a string" : v->type == HBPO_JSON_NULL ? "null" :
                          v->type == HBPO_JSON_ARRAY ? "an array" : v->type == HBPO_JSON_OBJECT ? "an object" :
                          "a boolean");
    if (v->num != floor(v->num) || v->num < (double)lo || v->num > (double)hi)
        return hbpo__fail("config.json: \"%s\" = %g must be an integer in [%d, %d]", key, v->num, lo, hi);
    *out = (int)v->num;
    return 1;
}

static int hbpo__cfg_float(const hbpo_json *root, const char *key, float *out) {
    const hbpo_json *v = hbpo_json_get(root, key);
    if (!v) return 0;
    if (v->type != HBPO_JSON_NUMBER) return hbpo__fail("config.json: \"%s\" must be a number", key);
    if (!(fabs(v->num) <= (double)FLT_MAX))
        return hbpo__fail("config.json: \"%s\" = %g does not fit a float", key, v->num);
    *out = (float)v->num;
    return 1;
}

static int hbpo__cfg_bool(const hbpo_json *root, const char *key, int *out) {
    const hbpo_json *v = hbpo_json_get(root, key);
    if (!v) return 0;
    if (v->type != HBPO_JSON_TRUE && v->type != HBPO_JSON_FALSE)
        return hbpo__fail("config.json: \"%s\" must be true or false", key);
    *out = v->type == HBPO_JSON_TRUE;
    return 1;
}

/* bos/eos_token_id: an id, null, or a list of ids (the first is kept). */
static int hbpo__cfg_token(const hbpo_json *root, const char *key, int *out) {
    const hbpo_json *v = hbpo_json_get(root, key), *e;
    if (!v || v->type == HBPO_JSON_NULL) { *out = -1; return 0; }
    if (v->type == HBPO_JSON_ARRAY) {
        for (e = v->child; e; e = e->next)
            if (e->type != HBPO_JSON_NUMBER || e->num != floor(e->num) || e->num < 0 || e->num > INT_MAX)
                return hbpo__fail("config.json: \"%s\" must hold non-negative integer ids", key);
        *out = v->child ? (int)v->child->num : -1;
        return 1;
    }
    if (v->type != HBPO_JSON_NUMBER || v->num != floor(v->num) || v->num < 0 || v->num > INT_MAX)
        return hbpo__fail("config.json: \"%s\" must be a non-negative integer id, a list of ids or null", key);
    *out = (int)v->num;
    return 1;
}

/* RoPE: transformers 5 keeps rope_theta and the rope type in rope_parameters
   (a non-empty legacy rope_scaling takes its place); 4.x files have a top-level
   rope_theta. Only the default (unscaled) RoPE is implemented. */
static int hbpo__cfg_rope(const hbpo_json *root, float *theta) {
    const hbpo_json *rp = hbpo_json_get(root, "rope_scaling"), *type, *m;
    int r;
    if (rp && rp->type != HBPO_JSON_NULL && rp->type != HBPO_JSON_OBJECT)
        return hbpo__fail("config.json: \"rope_scaling\" must be an object or null");
    if (!rp || rp->type == HBPO_JSON_NULL || !rp->child) {
        rp = hbpo_json_get(root, "rope_parameters");
        if (rp && rp->type != HBPO_JSON_NULL && rp->type != HBPO_JSON_OBJECT)
            return hbpo__fail("config.json: \"rope_parameters\" must be an object or null");
    }
    r = hbpo__cfg_float(root, "rope_theta", theta);
    if (r < 0) return -1;
    if (!rp || rp->type != HBPO_JSON_OBJECT) return 0;
    for (m = rp->child; m; m = m->next)
        if (m->type == HBPO_JSON_OBJECT)
            return hbpo__fail("config.json: RoPE parameters per layer type (\"%s\") are not supported",
                              m->key);
    type = hbpo_json_get(rp, "rope_type");
    if (!type) type = hbpo_json_get(rp, "type");
    if (type && (type->type != HBPO_JSON_STRING || strcmp(type->str, "default") != 0))
        return hbpo__fail("config.json: rope_type \"%s\" is not supported (only the default RoPE "
                          "without scaling is implemented)",
                          type->type == HBPO_JSON_STRING ? type->str : "(not a string)");
    if (!type && rp->child && !hbpo_json_get(rp, "rope_theta"))
        return hbpo__fail("config.json: RoPE scaling without a rope_type is not supported");
    r = hbpo__cfg_float(rp, "rope_theta", theta);
    return r < 0 ? -1 : 0;
}

static int hbpo__config_from_json(hbpo_model_config *c, const hbpo_json *root) {
    const hbpo_json *mt, *v;
    int qwen3, kv_set, hd_set, use_sw = 0;
    if (!root || root->type != HBPO_JSON_OBJECT) return hbpo__fail("config.json: not a JSON object");
    mt = hbpo_json_get(root, "model_type");
    if (!mt) return hbpo__fail("config.json: \"model_type\" is missing (expected \"qwen2\" or \"qwen3\")");
    if (mt->type != HBPO_JSON_STRING || (strcmp(mt->str, "qwen2") != 0 && strcmp(mt->str, "qwen3") != 0))
        return hbpo__fail("config.json: model_type %s%s%s is not supported (expected \"qwen2\" or \"qwen3\")",
                          mt->type == HBPO_JSON_STRING ? "\"" : "",
                          mt->type == HBPO_JSON_STRING ? mt->str : "(not a string)",
                          mt->type == HBPO_JSON_STRING ? "\"" : "");
    qwen3 = !strcmp(mt->str, "qwen3");
    /* Qwen2Config / Qwen3Config defaults (transformers 5.x). */
    memset(c, 0, sizeof *c);
    c->vocab_size = 151936;
    c->hidden_size = 4096;
    c->intermediate_size = 22016;
    c->num_hidden_layers = 32;
    c->num_attention_heads = 32;
    c->num_key_value_heads = 32;
    c->head_dim = 128;
    c->max_position_embeddings = 32768;
    c->rope_theta = 10000.0f;
    c->rms_norm_eps = 1e-6f;
    c->initializer_range = 0.02f;
    c->tie_word_embeddings = 0;
    c->attention_bias = !qwen3;
    c->qk_norm = qwen3;
    c->bos_token_id = c->eos_token_id = -1;
    if (hbpo__cfg_int(root, "vocab_size", &c->vocab_size, 1, INT_MAX, 0) < 0 ||
        hbpo__cfg_int(root, "hidden_size", &c->hidden_size, 1, INT_MAX, 0) < 0 ||
        hbpo__cfg_int(root, "intermediate_size", &c->intermediate_size, 1, INT_MAX, 0) < 0 ||
        hbpo__cfg_int(root, "num_hidden_layers", &c->num_hidden_layers, 1, INT_MAX, 0) < 0 ||
        hbpo__cfg_int(root, "num_attention_heads", &c->num_attention_heads, 1, INT_MAX, 0) < 0 ||
        hbpo__cfg_int(root, "max_position_embeddings", &c->max_position_embeddings, 1, INT_MAX, 0) < 0)
        return -1;
    kv_set = hbpo__cfg_int(root, "num_key_value_heads", &c->num_key_value_heads, 1, INT_MAX, 1);
    if (kv_set < 0) return -1;
    v = hbpo_json_get(root, "num_key_value_heads");
    if (v && v->type == HBPO_JSON_NULL) c->num_key_value_heads = c->num_attention_heads;
    hd_set = hbpo__cfg_int(root, "head_dim", &c->head_dim, 1, INT_MAX, 1);
    if (hd_set < 0) return -1;
    v = hbpo_json_get(root, "head_dim");
    if (!hd_set && (!qwen3 || (v && v->type == HBPO_JSON_NULL))) {
        /* Qwen2Attention: getattr(config, "head_dim", hidden_size // num_attention_heads) */
        if (c->hidden_size % c->num_attention_heads != 0)
            return hbpo__fail("config.json: hidden_size %d is not divisible by num_attention_heads %d "
                              "(and there is no head_dim)", c->hidden_size, c->num_attention_heads);
        c->head_dim = c->hidden_size / c->num_attention_heads;
    }
    if (hbpo__cfg_float(root, "rms_norm_eps", &c->rms_norm_eps) < 0 ||
        hbpo__cfg_float(root, "initializer_range", &c->initializer_range) < 0 ||
        hbpo__cfg_bool(root, "tie_word_embeddings", &c->tie_word_embeddings) < 0 ||
        hbpo__cfg_bool(root, "use_sliding_window", &use_sw) < 0 ||
        hbpo__cfg_token(root, "bos_token_id", &c->bos_token_id) < 0 ||
        hbpo__cfg_token(root, "eos_token_id", &c->eos_token_id) < 0 ||
        hbpo__cfg_rope(root, &c->rope_theta) < 0)
        return -1;
    /* Qwen2 always has q/k/v biases (transformers ignores attention_bias there). */
    if (qwen3 && hbpo__cfg_bool(root, "attention_bias", &c->attention_bias) < 0) return -1;
    if (use_sw) return hbpo__fail("config.json: sliding-window attention (use_sliding_window true) is not supported");
    v = hbpo_json_get(root, "hidden_act");
    if (v && (v->type != HBPO_JSON_STRING || strcmp(v->str, "silu") != 0))
        return hbpo__fail("config.json: hidden_act %s is not supported (only \"silu\")",
                          v->type == HBPO_JSON_STRING ? v->str : "(not a string)");
    return hbpo_model_config_check(c);
}

HBPODEF int hbpo_model_config_parse(hbpo_model_config *out, const char *json, size_t len) {
    hbpo_json_doc doc;
    hbpo_model_config c;
    char msg[sizeof hbpo__err];
    int rc;
    if (!out || !json) return hbpo__fail("hbpo_model_config_parse: NULL argument");
    memset(&doc, 0, sizeof doc);
    if (hbpo_json_parse(&doc, json, len) != 0) {
        snprintf(msg, sizeof msg, "%s", hbpo_last_error());
        hbpo_json_free(&doc);
        return hbpo__fail("config.json: invalid JSON: %s", msg);
    }
    rc = hbpo__config_from_json(&c, doc.root);
    hbpo_json_free(&doc);
    if (rc == 0) *out = c;
    return rc;
}

/* Prefixes the current message with path (messages from the parser say "config.json"). */
static int hbpo__fail_in(const char *path) {
    char msg[sizeof hbpo__err];
    snprintf(msg, sizeof msg, "%s", hbpo__err);
    return hbpo__fail("%s: %s", path, msg);
}

HBPODEF int hbpo_model_config_load(hbpo_model_config *c, const char *path) {
    char buf[HBPO__CKPT_PATH_MAX];
    char *text;
    size_t len;
    int rc;
    if (!c || !path) return hbpo__fail("hbpo_model_config_load: NULL argument");
    if (hbpo__is_dir(path)) {
        if (hbpo__path_join(buf, sizeof buf, path, "config.json") != 0) return -1;
        path = buf;
    }
    text = hbpo_read_file(path, HBPO__CKPT_CONFIG_MAX, &len);
    if (!text) return -1; /* the message names the file */
    rc = hbpo_model_config_parse(c, text, len);
    hbpo_free(text);
    return rc == 0 ? 0 : hbpo__fail_in(path);
}

/* ---- safetensors reading ---- */

typedef struct {
    const char *name;      /* into the header document */
    int         dtype;     /* HBPO_DTYPE_* or HBPO__DTYPE_F64 */
    int         ndim;
    uint64_t    shape[HBPO__ST_MAX_DIMS];
    uint64_t    begin, end; /* byte offsets from the start of the data */
    int         slot;       /* index in the model's tensor table, or -1 (skipped) */
} hbpo__st_entry;

typedef struct {
    const char     *path;
    FILE           *f;
    uint64_t        data_start, data_size;
    hbpo_json_doc   doc;
    hbpo__st_entry *e;
    size_t          n;
} hbpo__st_file;

#define HBPO__DTYPE_F64 3 /* accepted when reading (rounded to fp32), never written */

static size_t hbpo__dtype_size(int dtype) {
    return dtype == HBPO_DTYPE_F32 ? 4 : dtype == HBPO__DTYPE_F64 ? 8 : 2;
}

static const char *hbpo__dtype_name(int dtype) {
    return dtype == HBPO_DTYPE_F32 ? "F32" : dtype == HBPO_DTYPE_BF16 ? "BF16" :
           dtype == HBPO_DTYPE_F16 ? "F16" : "F64";
}

static void hbpo__st_close(hbpo__st_file *sf) {
    if (sf->f) fclose(sf->f);
    hbpo_json_free(&sf->doc);
    HBPO_FREE(sf->e);
    memset(sf, 0, sizeof *sf);
}

static int hbpo__st_cmp_begin(const void *a, const void *b) {
    const hbpo__st_entry *x = *(const hbpo__st_entry *const *)a, *y = *(const hbpo__st_entry *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

static int hbpo__st_cmp_name(const void *a, const void *b) {
    return strcmp((*(const hbpo__st_entry *const *)a)->name, (*(const hbpo__st_entry *const *)b)->name);
}

/* A JSON number that is a non-negative integer below 2^53 (exact in a double). */
static int hbpo__json_u53(const hbpo_json *v, uint64_t *out) {
    if (!v || v->type != HBPO_JSON_NUMBER || v->num != floor(v->num) || v->num < 0 ||
        v->num > 9007199254740992.0)
        return 0;
    *out = (uint64_t)v->num;
    return 1;
}

/* Reads and validates one file's header: every entry's dtype, shape and
   offsets, and that the entries tile the data exactly (no overlap, no hole),
   as the safetensors reference requires. */
static int hbpo__st_open(hbpo__st_file *sf, const char *path) {
    unsigned char len8[8];
    char *hdr = NULL;
    const hbpo_json *v, *d, *s, *o;
    hbpo__st_entry **order = NULL;
    uint64_t hlen = 0, fsize, numel, bytes, expect;
    long pos;
    size_t i, n = 0;
    int k;
    memset(sf, 0, sizeof *sf);
    sf->path = path;
    sf->f = fopen(path, "rb");
    if (!sf->f) return hbpo__fail("%s: cannot open: %s", path, strerror(errno));
    if (fseek(sf->f, 0, SEEK_END) != 0 || (pos = ftell(sf->f)) < 0 || fseek(sf->f, 0, SEEK_SET) != 0)
        return hbpo__fail("%s: cannot find the file size", path);
    fsize = (uint64_t)pos;
    if (fsize < 8 || fread(len8, 1, 8, sf->f) != 8)
        return hbpo__fail("%s: truncated file (%lu bytes, no 8-byte header length)", path, (unsigned long)fsize);
    for (k = 7; k >= 0; k--) hlen = (hlen << 8) | len8[k];
    if (hlen > HBPO__ST_HEADER_MAX)
        return hbpo__fail("%s: header length %llu is absurd (limit %llu bytes)", path,
                          (unsigned long long)hlen, (unsigned long long)HBPO__ST_HEADER_MAX);
    if (hlen > fsize - 8)
        return hbpo__fail("%s: header length %llu goes beyond the end of the file (%llu bytes)", path,
                          (unsigned long long)hlen, (unsigned long long)fsize);
    sf->data_start = 8 + hlen;
    sf->data_size = fsize - sf->data_start;
    hdr = (char *)HBPO_MALLOC((size_t)hlen + 1);
    if (!hdr) return hbpo__fail("%s: out of memory for a %llu-byte header", path, (unsigned long long)hlen);
    if (fread(hdr, 1, (size_t)hlen, sf->f) != (size_t)hlen) {
        HBPO_FREE(hdr);
        return hbpo__fail("%s: cannot read the header", path);
    }
    if (hbpo_json_parse(&sf->doc, hdr, (size_t)hlen) != 0) {
        HBPO_FREE(hdr);
        return hbpo__fail("%s: header is not valid JSON: %.300s", path, hbpo__err);
    }
    HBPO_FREE(hdr);
    if (sf->doc.root->type != HBPO_JSON_OBJECT) return hbpo__fail("%s: header is not a JSON object", path);
    sf->e = (hbpo__st_entry *)HBPO_MALLOC(sizeof(hbpo__st_entry) * (sf->doc.root->len + 1));
    if (!sf->e) return hbpo__fail("%s: out of memory", path);
    for (v = sf->doc.root->child; v; v = v->next) {
        hbpo__st_entry *e = &sf->e[n];
        if (!strcmp(v->key, "__metadata__")) continue;
        memset(e, 0, sizeof *e);
        e->name = v->key;
        e->slot = -1;
        if (v->type != HBPO_JSON_OBJECT) return hbpo__fail("%s: tensor %s: entry is not an object", path, e->name);
        d = hbpo_json_get(v, "dtype");
        s = hbpo_json_get(v, "shape");
        o = hbpo_json_get(v, "data_offsets");
        if (!d || d->type != HBPO_JSON_STRING)
            return hbpo__fail("%s: tensor %s: \"dtype\" is missing or not a string", path, e->name);
        if (!strcmp(d->str, "F32")) e->dtype = HBPO_DTYPE_F32;
        else if (!strcmp(d->str, "BF16")) e->dtype = HBPO_DTYPE_BF16;
        else if (!strcmp(d->str, "F16")) e->dtype = HBPO_DTYPE_F16;
        else if (!strcmp(d->str, "F64")) e->dtype = HBPO__DTYPE_F64;
        else return hbpo__fail("%s: tensor %s: dtype \"%.20s\" is not supported (F32, BF16, F16 or F64)",
                               path, e->name, d->str);
        if (!s || s->type != HBPO_JSON_ARRAY || s->len > HBPO__ST_MAX_DIMS)
            return hbpo__fail("%s: tensor %s: \"shape\" must be an array of at most %d sizes", path, e->name,
                              HBPO__ST_MAX_DIMS);
        numel = 1;
        for (s = s->child; s; s = s->next) {
            if (!hbpo__json_u53(s, &e->shape[e->ndim]))
                return hbpo__fail("%s: tensor %s: shape holds something other than a size", path, e->name);
            numel = e->shape[e->ndim] && numel > UINT64_MAX / e->shape[e->ndim] ? UINT64_MAX
                                                                                   : numel * e->shape[e->ndim];
            e->ndim++;
        }
        if (!o || o->type != HBPO_JSON_ARRAY || o->len != 2 || !hbpo__json_u53(o->child, &e->begin) ||
            !hbpo__json_u53(o->child->next, &e->end))
            return hbpo__fail("%s: tensor %s: \"data_offsets\" must be [begin, end]", path, e->name);
        if (e->end < e->begin)
            return hbpo__fail("%s: tensor %s: data_offsets [%llu, %llu] end before they begin", path, e->name,
                              (unsigned long long)e->begin, (unsigned long long)e->end);
        if (e->end > sf->data_size)
            return hbpo__fail("%s: tensor %s: data_offsets [%llu, %llu] are out of range: the data has "
                              "%llu bytes (truncated file?)", path, e->name, (unsigned long long)e->begin,
                              (unsigned long long)e->end, (unsigned long long)sf->data_size);
        bytes = e->end - e->begin;
        expect = numel > UINT64_MAX / 8 ? UINT64_MAX : numel * hbpo__dtype_size(e->dtype);
        if (bytes != expect)
            return hbpo__fail("%s: tensor %s: data_offsets span %llu bytes, but %llu %s elements need %llu",
                              path, e->name, (unsigned long long)bytes, (unsigned long long)numel,
                              hbpo__dtype_name(e->dtype), (unsigned long long)expect);
        n++;
    }
    sf->n = n;
    /* Names are unique, and the byte ranges tile [0, data_size). */
    order = (hbpo__st_entry **)HBPO_MALLOC(sizeof(hbpo__st_entry *) * (n + 1));
    if (!order) return hbpo__fail("%s: out of memory", path);
    for (i = 0; i < n; i++) order[i] = &sf->e[i];
    qsort(order, n, sizeof *order, hbpo__st_cmp_name);
    for (i = 1; i < n; i++)
        if (!strcmp(order[i - 1]->name, order[i]->name)) {
            k = hbpo__fail("%s: tensor %s appears twice in the header", path, order[i]->name);
            HBPO_FREE(order);
            return k;
        }
    qsort(order, n, sizeof *order, hbpo__st_cmp_begin);
    expect = 0;
    for (i = 0; i < n; i++) {
        if (order[i]->begin < expect)
            k = hbpo__fail("%s: tensors %s and %s overlap (bytes [%llu, %llu) and [%llu, %llu))", path,
                           order[i - 1]->name, order[i]->name, (unsigned long long)order[i - 1]->begin,
                           (unsigned long long)order[i - 1]->end, (unsigned long long)order[i]->begin,
                           (unsigned long long)order[i]->end);
        else if (order[i]->begin > expect)
            k = hbpo__fail("%s: bytes [%llu, %llu) of the data belong to no tensor (a hole before %s)", path,
                           (unsigned long long)expect, (unsigned long long)order[i]->begin, order[i]->name);
        else k = 0;
        if (k) { HBPO_FREE(order); return k; }
        expect = order[i]->end;
    }
    HBPO_FREE(order);
    if (expect != sf->data_size)
        return hbpo__fail("%s: the last %llu bytes of the data belong to no tensor", path,
                          (unsigned long long)(sf->data_size - expect));
    return 0;
}

/* Widens n elements of dtype from little-endian bytes in to floats. */
static void hbpo__convert_in(float *out, const unsigned char *in, size_t n, int dtype) {
    size_t i;
    for (i = 0; i < n; i++) {
        const unsigned char *p = in + i * hbpo__dtype_size(dtype);
        if (dtype == HBPO_DTYPE_F32) {
            uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            memcpy(&out[i], &u, 4);
        } else if (dtype == HBPO_DTYPE_BF16) {
            out[i] = hbpo_bf16_to_f32((uint16_t)(p[0] | p[1] << 8));
        } else if (dtype == HBPO_DTYPE_F16) {
            out[i] = hbpo_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
        } else {
            uint64_t u = 0;
            double d;
            int b;
            for (b = 7; b >= 0; b--) u = (u << 8) | p[b];
            memcpy(&d, &u, 8);
            out[i] = hbpo__f64_to_f32(d);
        }
    }
}

/* Matches the file's entries to the model's table (found[] marks tensors
   already read, so a name seen in an earlier shard is a duplicate), then
   reads every matched tensor in file order, converting and uploading one
   chunk at a time. */
static int hbpo__st_load(hbpo_model *m, const char *path, unsigned char *found) {
    hbpo__st_file sf;
    unsigned char *raw = NULL;
    float *fbuf = NULL;
    size_t i, j, suffix = strlen(".rotary_emb.inv_freq");
    int rc = -1, t;
    if (hbpo__st_open(&sf, path) != 0) goto done;
    for (i = 0; i < sf.n; i++) {
        hbpo__st_entry *e = &sf.e[i];
        const hbpo_tensor_info *ti = hbpo_model_tensor(m, e->name);
        size_t len = strlen(e->name);
        if (!ti) {
            if (len >= suffix && !strcmp(e->name + len - suffix, ".rotary_emb.inv_freq")) continue;
            /* transformers omits lm_head.weight when tied; when a file holds it anyway it is skipped. */
            if (m->config.tie_word_embeddings && !strcmp(e->name, "lm_head.weight")) continue;
            hbpo__fail("%s: unexpected tensor %s (not part of this %s config)", path, e->name,
                       m->config.qk_norm ? "qwen3" : "qwen2");
            goto done;
        }
        t = (int)(ti - m->tensors);
        if (found[t]) {
            hbpo__fail("%s: tensor %s appears a second time (already read from another shard)", path, e->name);
            goto done;
        }
        if (e->ndim != ti->ndim || e->shape[0] != (uint64_t)ti->shape[0] ||
            (ti->ndim == 2 && e->shape[1] != (uint64_t)ti->shape[1])) {
            char got[96] = "[", want[64];
            int k, o = 1;
            for (k = 0; k < e->ndim && o < 80; k++)
                o += snprintf(got + o, sizeof got - (size_t)o, "%s%llu", k ? ", " : "", (unsigned long long)e->shape[k]);
            snprintf(got + (o < 90 ? o : 90), sizeof got - (size_t)(o < 90 ? o : 90), "]");
            if (ti->ndim == 2) snprintf(want, sizeof want, "[%d, %d]", ti->shape[0], ti->shape[1]);
            else snprintf(want, sizeof want, "[%d]", ti->shape[0]);
            hbpo__fail("%s: tensor %s has shape %s, but config.json gives %s", path, e->name, got, want);
            goto done;
        }
        e->slot = t;
        found[t] = 1;
    }
    raw = (unsigned char *)HBPO_MALLOC(HBPO__CKPT_CHUNK * 8);
    fbuf = (float *)HBPO_MALLOC(HBPO__CKPT_CHUNK * sizeof(float));
    if (!raw || !fbuf) { hbpo__fail("%s: out of memory", path); goto done; }
    for (i = 0; i < sf.n; i++) {
        const hbpo__st_entry *e = &sf.e[i];
        const hbpo_tensor_info *ti;
        size_t es = hbpo__dtype_size(e->dtype);
        uint64_t at = sf.data_start + e->begin;
        if (e->slot < 0) continue;
        ti = &m->tensors[e->slot];
        if (at > (uint64_t)LONG_MAX || fseek(sf.f, (long)at, SEEK_SET) != 0) {
            hbpo__fail("%s: cannot seek to tensor %s at byte %llu", path, e->name, (unsigned long long)at);
            goto done;
        }
        for (j = 0; j < ti->numel; j += HBPO__CKPT_CHUNK) {
            size_t n = ti->numel - j < HBPO__CKPT_CHUNK ? ti->numel - j : HBPO__CKPT_CHUNK;
            if (fread(raw, es, n, sf.f) != n) {
                hbpo__fail("%s: read error or end of file in tensor %s", path, e->name);
                goto done;
            }
            hbpo__convert_in(fbuf, raw, n, e->dtype);
            m->be->upload(m->params + ti->offset + j, fbuf, n * sizeof(float));
        }
    }
    rc = 0;
done:
    HBPO_FREE(raw);
    HBPO_FREE(fbuf);
    hbpo__st_close(&sf);
    return rc;
}

/* A shard name from the index: a plain file name in the same folder. */
static int hbpo__shard_name_ok(const char *s) {
    return s[0] && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/') && !strchr(s, '\\') &&
           strlen(s) < 256;
}

static int hbpo__load_sharded(hbpo_model *m, const char *dir, const char *index_path, unsigned char *found) {
    hbpo_json_doc doc;
    const hbpo_json *wm, *e, *p;
    char *text, path[HBPO__CKPT_PATH_MAX];
    size_t len, n_files = 0;
    int rc = -1;
    memset(&doc, 0, sizeof doc);
    text = hbpo_read_file(index_path, HBPO__CKPT_INDEX_MAX, &len);
    if (!text) return -1;
    if (hbpo_json_parse(&doc, text, len) != 0) {
        hbpo_free(text);
        hbpo__fail("%s: invalid JSON: %.300s", index_path, hbpo__err);
        goto done;
    }
    hbpo_free(text);
    wm = doc.root->type == HBPO_JSON_OBJECT ? hbpo_json_get(doc.root, "weight_map") : NULL;
    if (!wm || wm->type != HBPO_JSON_OBJECT) {
        hbpo__fail("%s: no \"weight_map\" object", index_path);
        goto done;
    }
    for (e = wm->child; e; e = e->next) {
        if (e->type != HBPO_JSON_STRING || !hbpo__shard_name_ok(e->str)) {
            hbpo__fail("%s: weight_map[\"%s\"] is not a file name in the checkpoint folder", index_path, e->key);
            goto done;
        }
    }
    /* Each distinct file once, in order of first mention. */
    for (e = wm->child; e; e = e->next) {
        for (p = wm->child; p != e; p = p->next)
            if (!strcmp(p->str, e->str)) break;
        if (p != e) continue;
        if (++n_files > HBPO__CKPT_MAX_SHARDS) {
            hbpo__fail("%s: more than %d shard files", index_path, HBPO__CKPT_MAX_SHARDS);
            goto done;
        }
        if (hbpo__path_join(path, sizeof path, dir, e->str) != 0) goto done;
        if (!hbpo__file_exists(path)) {
            hbpo__fail("%s: shard %s (named by %s) does not exist", dir, e->str, index_path);
            goto done;
        }
        if (hbpo__st_load(m, path, found) != 0) goto done;
    }
    rc = 0;
done:
    hbpo_json_free(&doc);
    return rc;
}

HBPODEF int hbpo_model_load(hbpo_model *m, const char *dir, const hbpo_backend *be) {
    hbpo_model_config c;
    char path[HBPO__CKPT_PATH_MAX];
    unsigned char *found = NULL;
    int i, missing = 0, first = -1, rc = -1;
    if (!m) return hbpo__fail("hbpo_model_load: model is NULL");
    memset(m, 0, sizeof *m);
    if (!dir) return hbpo__fail("hbpo_model_load: dir is NULL");
    if (!hbpo__is_dir(dir)) return hbpo__fail("%s: not a checkpoint folder (no such directory)", dir);
    if (hbpo__path_join(path, sizeof path, dir, "config.json") != 0) return -1;
    if (!hbpo__file_exists(path)) return hbpo__fail("%s: config.json is missing", dir);
    if (hbpo_model_config_load(&c, path) != 0) return -1;
    if (hbpo_model_create(m, &c, be) != 0) return -1;
    found = (unsigned char *)HBPO_MALLOC((size_t)m->n_tensors);
    if (!found) { hbpo__fail("hbpo_model_load: out of memory"); goto done; }
    memset(found, 0, (size_t)m->n_tensors);
    if (hbpo__path_join(path, sizeof path, dir, "model.safetensors") != 0) goto done;
    if (hbpo__file_exists(path)) {
        if (hbpo__st_load(m, path, found) != 0) goto done;
    } else {
        if (hbpo__path_join(path, sizeof path, dir, "model.safetensors.index.json") != 0) goto done;
        if (!hbpo__file_exists(path)) {
            hbpo__fail("%s: neither model.safetensors nor model.safetensors.index.json is there", dir);
            goto done;
        }
        if (hbpo__load_sharded(m, dir, path, found) != 0) goto done;
    }
    for (i = 0; i < m->n_tensors; i++)
        if (!found[i]) { missing++; if (first < 0) first = i; }
    if (missing) {
        hbpo__fail("%s: tensor %s is missing from the checkpoint (%d missing in all)", dir,
                   m->tensors[first].name, missing);
        goto done;
    }
    rc = 0;
done:
    HBPO_FREE(found);
    if (rc != 0) hbpo_model_free(m);
    return rc;
}

/* ---- writing ---- */

/* The shortest %g text (6..9 digits) that reads back as v, always with a
   '.' or exponent so that Python reads a float. */
static void hbpo__fmt_float(char *buf, size_t cap, float v) {
    int p;
    for (p = 6; p <= 9; p++) {
        snprintf(buf, cap, "%.*g", p, (double)v);
        if (strtof(buf, NULL) == v) break;
    }
    if (!strpbrk(buf, ".eEn")) {
        size_t n = strlen(buf);
        if (n + 2 < cap) memcpy(buf + n, ".0", 3);
    }
}

static int hbpo__mkdir(const char *dir) {
    int r;
    if (hbpo__is_dir(dir)) return 0;
#ifdef _WIN32
    r = _mkdir(dir);
#else
    r = mkdir(dir, 0777);
#endif
    if (r != 0 && !hbpo__is_dir(dir)) return hbpo__fail("%s: cannot create the folder: %s", dir, strerror(errno));
    return 0;
}

/* Closes f (checking every write) and renames tmp to path; on any failure
   removes tmp. */
static int hbpo__finish_file(FILE *f, int ok, const char *tmp, const char *path) {
    if (ferror(f)) ok = 0;
    if (fclose(f) != 0) ok = 0;
    if (!ok) {
        remove(tmp);
        return hbpo__fail("%s: write error", path);
    }
#ifdef _WIN32
    remove(path); /* Windows rename does not replace */
#endif
    if (rename(tmp, path) != 0) {
        int err = errno;
        remove(tmp);
        return hbpo__fail("%s: cannot rename %s into place: %s", path, tmp, strerror(err));
    }
    return 0;
}

static int hbpo__write_text(const char *path, const char *text) {
    char tmp[HBPO__CKPT_PATH_MAX + 8];
    FILE *f;
    size_t n = strlen(text);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f) return hbpo__fail("%s: cannot create: %s", tmp, strerror(errno));
    return hbpo__finish_file(f, fwrite(text, 1, n, f) == n, tmp, path);
}

/* Appends to a growing text buffer; returns -1 when out of memory. */
typedef struct { char *s; size_t n, cap; int oom; } hbpo__sbuf;

static void hbpo__sb_printf(hbpo__sbuf *b, const char *fmt, ...) HBPO__PRINTF(2, 3);
static void hbpo__sb_printf(hbpo__sbuf *b, const char *fmt, ...) {
    va_list ap;
    int k;
    if (b->oom) return;
    for (;;) {
        size_t room = b->cap - b->n;
        va_start(ap, fmt);
        k = b->s ? vsnprintf(b->s + b->n, room, fmt, ap) : -2;
        va_end(ap);
        if (k >= 0 && (size_t)k < room) { b->n += (size_t)k; return; }
        if (k == -1) { b->oom = 1; return; }
        {
            size_t cap = b->cap ? b->cap * 2 : 4096;
            char *s;
            while (k >= 0 && cap < b->n + (size_t)k + 1) cap *= 2;
            s = (char *)HBPO_REALLOC(b->s, cap);
            if (!s) { b->oom = 1; return; }
            b->s = s;
            b->cap = cap;
        }
    }
}

static int hbpo__write_config(const hbpo_model *m, const char *dir, int dtype) {
    const hbpo_model_config *c = &m->config;
    const char *arch = c->qk_norm ? "Qwen3ForCausalLM" : "Qwen2ForCausalLM";
    const char *dt = dtype == HBPO_DTYPE_BF16 ? "bfloat16" : "float32";
    char path[HBPO__CKPT_PATH_MAX], theta[32], eps[32], init[32], bos[16], eos[16];
    hbpo__sbuf b;
    int rc;
    memset(&b, 0, sizeof b);
    hbpo__fmt_float(theta, sizeof theta, c->rope_theta);
    hbpo__fmt_float(eps, sizeof eps, c->rms_norm_eps);
    hbpo__fmt_float(init, sizeof init, c->initializer_range);
    if (c->bos_token_id >= 0) snprintf(bos, sizeof bos, "%d", c->bos_token_id); else snprintf(bos, sizeof bos, "null");
    if (c->eos_token_id >= 0) snprintf(eos, sizeof eos, "%d", c->eos_token_id); else snprintf(eos, sizeof eos, "null");
    /* rope_theta appears twice: transformers 5 reads rope_parameters, 4.x the top level. */
    hbpo__sb_printf(&b,
        "{\n"
        "  \"architectures\": [\"%s\"],\n"
        "  \"model_type\": \"%s\",\n"
        "  \"vocab_size\": %d,\n"
        "  \"hidden_size\": %d,\n"
        "  \"intermediate_size\": %d,\n"
        "  \"num_hidden_layers\": %d,\n"
        "  \"num_attention_heads\": %d,\n"
        "  \"num_key_value_heads\": %d,\n"
        "  \"head_dim\": %d,\n"
        "  \"max_position_embeddings\": %d,\n"
        "  \"hidden_act\": \"silu\",\n"
        "  \"rms_norm_eps\": %s,\n"
        "  \"initializer_range\": %s,\n"
        "  \"rope_theta\": %s,\n"
        "  \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": %s},\n"
        "  \"tie_word_embeddings\": %s,\n",
        arch, c->qk_norm ? "qwen3" : "qwen2", c->vocab_size, c->hidden_size, c->intermediate_size,
        c->num_hidden_layers, c->num_attention_heads, c->num_key_value_heads, c->head_dim,
        c->max_position_embeddings, eps, init, theta, theta, c->tie_word_embeddings ? "true" : "false");
    if (c->qk_norm) hbpo__sb_printf(&b, "  \"attention_bias\": %s,\n", c->attention_bias ? "true" : "false");
    hbpo__sb_printf(&b,
        "  \"attention_dropout\": 0.0,\n"
        "  \"use_sliding_window\": false,\n"
        "  \"sliding_window\": null,\n"
        "  \"max_window_layers\": %d,\n"
        "  \"use_cache\": true,\n"
        "  \"bos_token_id\": %s,\n"
        "  \"eos_token_id\": %s,\n"
        "  \"dtype\": \"%s\",\n"
        "  \"torch_dtype\": \"%s\"\n"
        "}\n",
        c->num_hidden_layers, bos, eos, dt, dt);
    if (b.oom) { HBPO_FREE(b.s); return hbpo__fail("hbpo_model_save: out of memory"); }
    rc = hbpo__path_join(path, sizeof path, dir, "config.json");
    if (rc == 0) rc = hbpo__write_text(path, b.s);
    HBPO_FREE(b.s);
    return rc;
}

/* Writes tensors [t0, t1) of the table to path as one safetensors file. */
static int hbpo__st_write(const hbpo_model *m, const char *path, int dtype, int t0, int t1) {
    char tmp[HBPO__CKPT_PATH_MAX + 8];
    const char *dn = dtype == HBPO_DTYPE_BF16 ? "BF16" : "F32";
    size_t es = dtype == HBPO_DTYPE_BF16 ? 2 : 4, off = 0, j, k, hl;
    unsigned char len8[8], *raw = NULL;
    float *fbuf = NULL;
    hbpo__sbuf b;
    FILE *f = NULL;
    int t, ok = 1;
    memset(&b, 0, sizeof b);
    hbpo__sb_printf(&b, "{\"__metadata__\":{\"format\":\"pt\"}");
    for (t = t0; t < t1; t++) {
        const hbpo_tensor_info *ti = &m->tensors[t];
        hbpo__sb_printf(&b, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%d", ti->name, dn, ti->shape[0]);
        if (ti->ndim == 2) hbpo__sb_printf(&b, ",%d", ti->shape[1]);
        hbpo__sb_printf(&b, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
                        (unsigned long long)(off + ti->numel * es));
        off += ti->numel * es;
    }
    hbpo__sb_printf(&b, "}");
    while (!b.oom && b.n % 8 != 0) hbpo__sb_printf(&b, " "); /* the data starts 8-byte aligned */
    raw = (unsigned char *)HBPO_MALLOC(HBPO__CKPT_CHUNK * 4);
    fbuf = (float *)HBPO_MALLOC(HBPO__CKPT_CHUNK * sizeof(float));
    if (b.oom || !raw || !fbuf) {
        HBPO_FREE(b.s); HBPO_FREE(raw); HBPO_FREE(fbuf);
        return hbpo__fail("hbpo_model_save: out of memory");
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f) {
        HBPO_FREE(b.s); HBPO_FREE(raw); HBPO_FREE(fbuf);
        return hbpo__fail("%s: cannot create: %s", tmp, strerror(errno));
    }
    hl = b.n;
    for (k = 0; k < 8; k++) len8[k] = (unsigned char)((uint64_t)hl >> (8 * k));
    ok = fwrite(len8, 1, 8, f) == 8 && fwrite(b.s, 1, hl, f) == hl;
    for (t = t0; ok && t < t1; t++) {
        const hbpo_tensor_info *ti = &m->tensors[t];
        for (j = 0; ok && j < ti->numel; j += HBPO__CKPT_CHUNK) {
            size_t n = ti->numel - j < HBPO__CKPT_CHUNK ? ti->numel - j : HBPO__CKPT_CHUNK;
            m->be->download(fbuf, m->params + ti->offset + j, n * sizeof(float));
            for (k = 0; k < n; k++) {
                unsigned char *p = raw + k * es;
                if (dtype == HBPO_DTYPE_BF16) {
                    uint16_t h = hbpo_f32_to_bf16(fbuf[k]);
                    p[0] = (unsigned char)h; p[1] = (unsigned char)(h >> 8);
                } else {
                    uint32_t u;
                    memcpy(&u, &fbuf[k], 4);
                    p[0] = (unsigned char)u; p[1] = (unsigned char)(u >> 8);
                    p[2] = (unsigned char)(u >> 16); p[3] = (unsigned char)(u >> 24);
                }
            }
            ok = fwrite(raw, es, n, f) == n;
        }
    }
    HBPO_FREE(b.s); HBPO_FREE(raw); HBPO_FREE(fbuf);
    return hbpo__finish_file(f, ok, tmp, path);
}

HBPODEF int hbpo_model_save_sharded(const hbpo_model *m, const char *dir, int dtype, size_t max_shard_bytes) {
    char path[HBPO__CKPT_PATH_MAX], name[64];
    int *start = NULL, n_shards = 0, s, t, rc = -1;
    size_t es, cur = 0, total = 0;
    hbpo__sbuf b;
    if (!m || !m->params || !dir) return hbpo__fail("hbpo_model_save: model is not created or dir is NULL");
    if (dtype != HBPO_DTYPE_F32 && dtype != HBPO_DTYPE_BF16)
        return hbpo__fail("hbpo_model_save: dtype %d is not supported (HBPO_DTYPE_F32 or HBPO_DTYPE_BF16)", dtype);
    if (!m->config.attention_bias && !m->config.qk_norm)
        return hbpo__fail("hbpo_model_save: a model with neither attention_bias nor qk_norm is neither "
                          "Qwen2 nor Qwen3 in transformers");
    if (hbpo__mkdir(dir) != 0) return -1;
    es = dtype == HBPO_DTYPE_BF16 ? 2 : 4;
    /* Shards: consecutive tensors in table order, each at most max_shard_bytes
       (a tensor larger than that gets a shard of its own). */
    start = (int *)HBPO_MALLOC(sizeof(int) * (size_t)(m->n_tensors + 1));
    if (!start) return hbpo__fail("hbpo_model_save: out of memory");
    for (t = 0; t < m->n_tensors; t++) {
        size_t bytes = m->tensors[t].numel * es;
        if (t == 0 || (max_shard_bytes && cur > 0 && cur + bytes > max_shard_bytes)) {
            start[n_shards++] = t;
            cur = 0;
        }
        cur += bytes;
        total += bytes;
    }
    start[n_shards] = m->n_tensors;
    memset(&b, 0, sizeof b);
    if (n_shards == 1) {
        if (hbpo__path_join(path, sizeof path, dir, "model.safetensors") != 0 ||
            hbpo__st_write(m, path, dtype, 0, m->n_tensors) != 0)
            goto done;
        if (hbpo__path_join(path, sizeof path, dir, "model.safetensors.index.json") != 0) goto done;
        remove(path); /* a stale index from an earlier sharded save */
    } else {
        hbpo__sb_printf(&b, "{\n  \"metadata\": {\"total_size\": %llu},\n  \"weight_map\": {\n",
                        (unsigned long long)total);
        for (s = 0; s < n_shards; s++) {
            snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, n_shards);
            if (hbpo__path_join(path, sizeof path, dir, name) != 0 ||
                hbpo__st_write(m, path, dtype, start[s], start[s + 1]) != 0)
                goto done;
            for (t = start[s]; t < start[s + 1]; t++)
                hbpo__sb_printf(&b, "    \"%s\": \"%s\"%s\n", m->tensors[t].name, name,
                                t + 1 < m->n_tensors ? "," : "");
        }
        hbpo__sb_printf(&b, "  }\n}\n");
        if (b.oom) { hbpo__fail("hbpo_model_save: out of memory"); goto done; }
        if (hbpo__path_join(path, sizeof path, dir, "model.safetensors.index.json") != 0 ||
            hbpo__write_text(path, b.s) != 0)
            goto done;
        if (hbpo__path_join(path, sizeof path, dir, "model.safetensors") != 0) goto done;
        remove(path); /* it would be read instead of the shards */
    }
    rc = hbpo__write_config(m, dir, dtype);
done:
    HBPO_FREE(b.s);
    HBPO_FREE(start);
    return rc;
}

HBPODEF int hbpo_model_save(const hbpo_model *m, const char *dir, int dtype) {
    return hbpo_model_save_sharded(m, dir, dtype, 0);
}

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
