/* hbpo.h - v0.2.5 - Hierarchical Budget Policy Optimization in one C header.
   MIT licence (see the end of this file).

   What it is
     A readable, verifiable reference of HBPO (Lyu et al., "Hierarchical Budget
     Policy Optimization for Adaptive Reasoning", arXiv 2507.15844): the
     budget-aware reward, the hierarchical advantage, the clipped policy
     objective and the answer checking that feeds them, written as plain C
     functions that cite the equation they implement; and the policy itself:
     the Qwen2/Qwen3 transformer as transformers' Qwen2ForCausalLM computes
     it (training forward and backward, AdamW, batched KV-cache generation,
     Hugging Face safetensors checkpoints) and the Qwen byte-level BPE
     tokenizer read from tokenizer.json.

   The model in brief
         hbpo_model m;                       // or hbpo_model_load(&m, "dir", NULL)
         hbpo_model_config c = hbpo_model_config_default();
         hbpo_model_create(&m, &c, NULL);    // NULL: the CPU backend
         hbpo_model_init_random(&m, seed);
         hbpo_model_forward(&m, in, tgt, mask, B, T, temp, logp, entropy);
         hbpo_model_backward(&m, dlogp);     // grads += d obj / d params
         hbpo_model_step(&m, &adamw, &grad_norm);
         hbpo_model_free(&m);
     The control flow (section 8) calls its tensor operations through a
     table, hbpo_backend (section 7); the CPU table is in this header, the
     CUDA one in hbpo_cuda.cu.

   How to use it (stb style)
     In every file that needs it:
         #include "hbpo.h"
     In exactly one C or C++ file, before the include:
         #define HBPO_IMPLEMENTATION
         #include "hbpo.h"
     The declarations compile as C11 or C++11; the implementation as C11 or
     C++20 (its backend tables use designated initializers).

   Compile-time options (define before including the implementation)
     HBPO_STATIC          make every function static (private to one file).
     HBPO_USE_OPENBLAS    use cblas_sgemm from OpenBLAS (link -lopenblas,
                          flags from `pkg-config openblas`). Without it a
                          portable loop computes the same products (slower;
                          equal within float rounding).
     HBPO_USE_DNNL        bf16 products through oneDNN's matmul on CPUs with
                          AVX512-BF16 or AMX (link -ldnnl; Debian:
                          libdnnl-dev); without it, or on other CPUs, the
                          bf16 precision is emulated (inputs rounded, fp32
                          sgemm). hbpo_bf16_describe says which.
     HBPO_USE_MPI         compile hbpo_comm_init_mpi, the MPI communicator of
                          data-parallel training (build with mpicc; without
                          it mpi.h is never included and the function says so).
     HBPO_WITH_CUDA       hbpo_backend_named("cuda", ...) returns
                          hbpo_backend_cuda() (link hbpo_cuda.cu: make cuda);
                          without it, "cuda" is an error naming the build.
     HBPO_MALLOC(sz), HBPO_REALLOC(p,sz), HBPO_FREE(p)
                          allocator override: define all three or none.
     HBPO_COUNT_OPS       count the steps of the text parsers whose cost
                          grows with their input (NFC ordering, \boxed
                          search, JSON, the tokenizer's loops) in a
                          per-thread counter, hbpo_op_count(); the tests use
                          it to check that twice the input is about twice
                          the work. Off by default (no cost).
     OpenMP is used when the compiler enables it (_OPENMP): rows and heads
     are split across threads, every reduction has a fixed order, and with
     OpenBLAS the products run single-threaded per block of rows (one thread
     pool; the blocks follow from the shapes, see hbpo__sgemm_split). Results
     are deterministic for a given build and the same bits for any thread
     count (tests/test_model.c checks 1, 2 and 3); without OpenMP, OpenBLAS
     uses its own threads and only a fixed count is deterministic.
     hbpo_set_threads(n) sets the count.

   Errors
     The library never calls exit() or abort() on bad input. Functions return
     a status (0 = success, negative = error) and leave a message that
     hbpo_last_error() returns (per thread). Functions whose fixed signature
     returns a value (hbpo_reward) return 0 on bad input and set the message.
     A backend in another file reports through the same message with
     hbpo_set_error(); its asynchronous failures surface at its sync(), which
     the model's entry points call before they return.

   Contents (sections appear in this order, declarations then implementation)
     1. Configuration: version, errors, budgets           hbpo_budget_config
     2. HBPO math: reward, advantages, prompts            hbpo_reward, hbpo_advantages
     3. Policy objective: clipped surrogate, KL           hbpo_policy_loss
     4. Answer checking: \boxed, MATH normalisation, GSM8K hbpo_math_equal
     5. Tokenizer and chat format: byte-level BPE         hbpo_tokenizer
     6. Random numbers                                    hbpo_rng
     7. Model operations: the backend interface, CPU ops  hbpo_backend, hbpo_sgemm
     8. Model: Qwen2 forward, backward, AdamW             hbpo_model
     9. Generation: sampling, KV-cache decoding;          hbpo_generate,
        the kernels' arithmetic, the memory plan          hbpo_k_*, hbpo_memory_plan
    10. Checkpoints: config.json, safetensors             hbpo_model_load
    11. Data: JSONL datasets, the synthetic task          hbpo_dataset, hbpo_synth
    12. Trainer and evaluation: Algorithm 1, data         hbpo_comm, hbpo_trainer,
        parallelism over ranks                            hbpo_evaluate
    13. I/O: files, JSON, JSON Lines                      hbpo_json_parse, hbpo_jsonl

   Dimension legend (used in every shape comment)
     B batch (sequences), T time (tokens), C channels (hidden size),
     NH attention heads, KVH key/value heads, HS head size, V vocabulary,
     F feed-forward size, n rollouts per query, k budget subgroups.
*/
/* The implementation uses POSIX.1-2008 where it exists (mkdir, fsync for
   atomic checkpoints). It asks for it here, before any system header; a file
   that includes system headers before the implementation should define
   _POSIX_C_SOURCE (or _GNU_SOURCE) itself. */
#if defined(HBPO_IMPLEMENTATION) && !defined(_WIN32) && !defined(_POSIX_C_SOURCE) && \
    !defined(_XOPEN_SOURCE) && !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif
#ifndef HBPO_H
#define HBPO_H

/* The patch version goes up whenever results change by rounding (0.2.1:
   the vectorised element-wise kernels; 0.2.2: attention on tiles; 0.2.3:
   bf16 products through oneDNN on CPUs with bf16 instructions; 0.2.4: the
   byte tokenizer's `\boxed{` token and the miniature's new base; 0.2.5: the
   miniature's L_max 48 and its base), so that
   saved runs stamped with the version (examples/study.c) are not taken for
   the new code's. */
#define HBPO_VERSION_MAJOR 0
#define HBPO_VERSION_MINOR 2
#define HBPO_VERSION_PATCH 5

#include <float.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
/* Sets the calling thread's message (printf-style) and returns -1, so that
   code outside this header (a backend in another file: hbpo_cuda.cu) reports
   through the same channel: `return hbpo_set_error("...", ...);`. */
#if defined(__GNUC__) || defined(__clang__)
HBPODEF int hbpo_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#else
HBPODEF int hbpo_set_error(const char *fmt, ...);
#endif

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
    int   intra_centered;            /* 0: the paper's A_intra (default); 1: A_intra minus
                                        its mean over the query's rollouts. Not the paper's:
                                        the miniature's ablation (hbpo_advantages) */
} hbpo_budget_config;

/* The paper's setting: b = {512, 1024, 2048, 2560}, L_max 4096, alpha 1/4096, beta 4. */
HBPODEF hbpo_budget_config hbpo_budget_config_default(void);
/* Every *_check has this one signature: 0 when c is usable, else -1 and a
   message naming the field in hbpo_last_error(). */
HBPODEF int hbpo_budget_config_check(const hbpo_budget_config *c);

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
HBPODEF int hbpo_policy_config_check(const hbpo_policy_config *c);

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

#ifdef HBPO_COUNT_OPS
/* Steps counted so far on this thread by the text parsers (see the option
   HBPO_COUNT_OPS): a clock that ticks per unit of work, not per second. */
HBPODEF unsigned long long hbpo_op_count(void);
#endif

/* ------------------------------------------------------------------------- */
/* 5. Tokenizer and chat format                                              */
/* ------------------------------------------------------------------------- */

/* Byte-level BPE exactly as Hugging Face `tokenizers` runs it from a
   tokenizer.json (Qwen2, Qwen2.5, Qwen3 and DeepSeek-R1-Distill-Qwen ship one):
   added tokens split off first (leftmost-longest), then the NFC normalizer,
   the Qwen2 pre-tokenizer regex, the ByteLevel byte <-> character mapping and
   merges by rank. Decoding joins the tokens' bytes and replaces each invalid
   UTF-8 sequence by U+FFFD, as tokenizers' ByteLevel decoder does. A
   tokenizer is read-only after loading, so one may serve many threads.

   Supported tokenizer.json: model BPE (merges as "a b" strings or pairs,
   ignore_merges, no dropout, no word prefix/suffix), normalizer null or NFC,
   pre_tokenizer Split(Qwen2 regex, Isolated) followed by ByteLevel without its
   own regex (or that ByteLevel alone), decoder ByteLevel, added tokens without
   lstrip/rstrip/single_word. Anything else is refused with a message. */
typedef struct hbpo_tokenizer hbpo_tokenizer;

/* Loads path: a tokenizer.json or a folder holding one. 0, or -1 with a message. */
HBPODEF int  hbpo_tokenizer_load(hbpo_tokenizer **tok, const char *path);
/* The same from len bytes of tokenizer.json text. */
HBPODEF int  hbpo_tokenizer_load_json(hbpo_tokenizer **tok, const char *json, size_t len);
HBPODEF void hbpo_tokenizer_free(hbpo_tokenizer *tok);

/* Encodes len bytes of UTF-8 text (NUL bytes included) into ids. Returns the
   number of ids; only the first cap are written when it is larger, so a call
   with cap = 0 measures. Invalid UTF-8 is an error (-1; tokenizers takes only
   valid strings), as is an id count above INT_MAX. Added tokens in the text
   (`<|im_end|>`, `<think>`) become their ids. This is tokenizers'
   encode(text, add_special_tokens=False): no post-processor runs (the chat
   prompt already holds DeepSeek's begin-of-sentence token). */
HBPODEF int hbpo_tokenizer_encode(const hbpo_tokenizer *tok, const char *text, size_t len,
                                  int *ids, int cap);
/* Decodes n ids into UTF-8 text, NUL-terminated in out (cap bytes). Returns
   the length of the whole text like snprintf (out holds its first cap-1
   bytes when it does not fit; the cut may fall inside a character).
   skip_special drops the tokens marked "special" (`<|im_end|>`, but not
   Qwen3's `<think>`). An id that names no token is an error (-1) where
   tokenizers drops it silently: a sampler must stay below vocab_size. */
HBPODEF int hbpo_tokenizer_decode(const hbpo_tokenizer *tok, const int *ids, int n,
                                  int skip_special, char *out, size_t cap);
/* One more than the largest id (added tokens included): 151669 for Qwen3. */
HBPODEF int hbpo_tokenizer_vocab_size(const hbpo_tokenizer *tok);
/* The id of a token written as in tokenizer.json ("<|im_end|>", "Ġthe"), or -1. */
HBPODEF int hbpo_tokenizer_token_id(const hbpo_tokenizer *tok, const char *token);
/* The token of an id as written in tokenizer.json, or NULL. */
HBPODEF const char *hbpo_tokenizer_token(const hbpo_tokenizer *tok, int id);
/* 1 when id is an added token marked special, else 0. */
HBPODEF int hbpo_tokenizer_is_special(const hbpo_tokenizer *tok, int id);

/* Writes the tokenizer.json of a byte-level tokenizer for tiny models trained
   from scratch: ids 0-255 are the bytes (no merges, no normalizer), then the
   tokens HBPO_TOKENIZER_BYTES_ADDED lists, ids 256-265: the chat tokens and
   `\boxed{`, the answer's opening (7 bytes; Qwen's tokenizer spends 3 tokens
   on it), so that an answer at sight, `</think>\n\boxed{14}`, is 6 tokens
   and fits the miniature's smallest budget (docs/demo.md). Special (dropped
   by skip_special, as in Qwen and DeepSeek-R1-Distill): the end-of-text,
   im_start/im_end and begin/end-of-sentence tokens; not special: the think
   tags, DeepSeek's User/Assistant and `\boxed{`. path is a file or an
   existing folder (which gets tokenizer.json). hbpo_tokenizer_load reads it
   back. */
HBPODEF int hbpo_tokenizer_write_bytes(const char *path);
#define HBPO_TOKENIZER_BYTES_ADDED                                                      \
    "<|endoftext|> <|im_start|> <|im_end|> <think> </think> "                           \
    "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C> "             \
    "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C> "               \
    "<\xEF\xBD\x9CUser\xEF\xBD\x9C> <\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C> \\boxed{"

/* Chat formats of the models HBPO trains. The prompt ends with the assistant
   turn opened and the reasoning tag `<think>\n`, followed by suffix: the
   budget prompt of a rollout (hbpo_budget_prompt; "right after the reasoning
   tag"), HBPO_EFFICIENCY_PROMPT for efficient evaluation, or "" (or NULL) for
   natural evaluation. The suffix is part of the prompt: n_gen (hbpo_reward)
   counts only the tokens generated after the encoded prompt.
     HBPO_CHAT_CHATML (Qwen2.5/Qwen3, no system turn):
       <|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n<think>\n{suffix}
     HBPO_CHAT_DEEPSEEK_R1 (DeepSeek-R1-Distill, as its template with the
     generation prompt):
       <｜begin▁of▁sentence｜><｜User｜>{question}<｜Assistant｜><think>\n{suffix}
   Qwen2.5's own template has no think block; it is opened here all the same
   so that a budget has its place. */
enum { HBPO_CHAT_CHATML = 0, HBPO_CHAT_DEEPSEEK_R1 = 1 };
/* Writes the prompt into out (cap bytes, NUL-terminated) and returns its
   length; out = NULL with cap = 0 only measures. -1 for a bad style, a NULL
   question or a buffer that is too small (the message gives the size). */
HBPODEF int hbpo_chat_prompt(int style, const char *question, const char *suffix, char *out,
                             size_t cap);

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
HBPODEF int hbpo_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta,
                       float *C, int ldc);
/* hbpo_sgemm returns 0, or -1 after bad arguments (C unchanged). */
/* Threads for OpenMP regions and for OpenBLAS. n > 0 fixes the count; n <= 0
   goes back to the default: the count in effect before the first call (all
   cores), lowered before each forward pass to the cores other processes
   leave free, when OpenMP workers sleep between regions (OMP_WAIT_POLICY=
   passive, which hbpo_program_start sets). Results are the same bits for
   any count (OpenMP builds), so this changes only the speed. Call it from
   one thread, outside parallel work. */
HBPODEF void hbpo_set_threads(int n);
/* The threads the default count uses when `others` tasks of other processes
   are runnable: one core is left to each, at least one thread remains. */
HBPODEF int hbpo_threads_free(int max_threads, int others);

/* The matrix-product path in use and whether it fits the CPU. OpenBLAS picks
   its kernel from the CPU model when the library loads; a CPU model newer
   than the OpenBLAS build (Debian 12's 0.3.21 on a 2023 Xeon) gets the
   generic Prescott (SSE3) kernel, 7x slower than the Haswell/SkylakeX ones
   the CPU could run. */
typedef struct hbpo_blas_kernel {
    const char *path;    /* "OpenBLAS cblas_sgemm" or "portable loops" */
    const char *kernel;  /* OpenBLAS's core name ("Zen", "Haswell", "Prescott"), or "" */
    const char *cpu;     /* widest vector unit: "avx512f", "avx2", "" (other/unknown) */
    const char *fits;    /* OPENBLAS_CORETYPE for this CPU: "SkylakeX", "Haswell", "Zen", or "" */
    int generic;         /* 1: the kernel leaves the CPU's avx2/avx512 unused */
} hbpo_blas_kernel;
/* Fills *out; returns out->generic. */
HBPODEF int hbpo_blas_info(hbpo_blas_kernel *out);
/* One line for --version and the benchmarks, snprintf-style:
   "sgemm: OpenBLAS cblas_sgemm, kernel Zen, CPU avx2, 2 threads". */
HBPODEF int hbpo_blas_describe(char *out, size_t cap);
/* One line on how the bf16 matmul precision computes its products here,
   snprintf-style: "bf16 products: oneDNN 2.6.3 matmul, AVX512-BF16" on a
   CPU with bf16 instructions in a build with HBPO_USE_DNNL, else "bf16
   products: emulated (inputs rounded, fp32 sgemm): " and why. */
HBPODEF int hbpo_bf16_describe(char *out, size_t cap);
/* For programs, first thing in main: when OpenBLAS runs a generic kernel on a
   CPU with AVX2/AVX-512, prints one line on stderr and restarts the program
   (execv of /proc/self/exe, same arguments) with OPENBLAS_CORETYPE set to the
   kernel that fits; OpenBLAS reads that variable only when it loads, so a
   restart is the one way to apply it. HBPO_BLAS_FIX=0 in the environment
   turns this off. The same restart sets OMP_WAIT_POLICY=passive when neither
   it nor GOMP_SPINCOUNT is set (threads sleep at barriers instead of
   spinning: a busy machine otherwise makes 2 threads far slower than 1).
   Also makes stdout line-buffered, so progress lines reach a pipe or a file
   as they are printed. Under an MPI launcher (Open MPI, PMIx or MPICH
   variables in the environment) it never restarts: a rank that replaces
   itself loses its launcher's connection (Open MPI's MPI_Init then fails);
   give the variables to the launcher instead (mpirun -x OMP_WAIT_POLICY=passive,
   and -x OPENBLAS_CORETYPE=... when the warning asks for it).
   Returns 0, or 1 when the kernel stays generic (restart failed, refused or
   already tried: a warning was printed). */
HBPODEF int hbpo_program_start(char **argv);

/* Seconds on a monotonic clock (differences only). */
HBPODEF double hbpo_wall_time(void);
/* A whole decimal number in [lo, hi] (a program's option value): the whole
   string, an optional sign and digits. 0 and *out, or -1 with a message
   naming flag ("--steps 'x' must be an integer in [0, 1000000]"). */
HBPODEF int hbpo_parse_int(const char *flag, const char *s, int lo, int hi, int *out);
/* One progress line for a long stage on stdout, flushed at once (so it
   reaches a pipe or a file line by line):
     "  <what> <done>/<total>  <extra>  <elapsed>s  (eta <s>s)"
   t0 is hbpo_wall_time() at the start of the stage; extra may be NULL. */
HBPODEF void hbpo_progress(const char *what, long done, long total, double t0,
                           const char *extra);

/* Precision of the matrix products (hbpo_model_config.matmul_precision, CLI
   --matmul): the inputs of every product (x, w, dout) are rounded to this
   format, round-to-nearest-even, then multiplied and accumulated in fp32 and
   the bias added in fp32. Parameters, gradients and AdamW moments stay fp32.
     FP32  no rounding: the reference, bit-identical to earlier versions
     TF32  10-bit mantissa (NVIDIA's TensorFloat-32)
     BF16  8-bit mantissa (bfloat16, hbpo_f32_to_bf16) */
enum { HBPO_MATMUL_FP32 = 0, HBPO_MATMUL_TF32 = 1, HBPO_MATMUL_BF16 = 2 };

/* Defined in section 9 (the sampling operation takes one). */
typedef struct hbpo_sampler_config hbpo_sampler_config;

/* The backend: every tensor operation the model performs. The model's control
   flow (section 8: forward, backward, optimizer step, decoding) is written once
   and calls these through a table; hbpo_backend_cpu() returns the reference
   CPU operations in this header, and hbpo_cuda.cu fills the same table with
   kernels on device memory. So a new backend adds operations, never a second
   copy of the model. Tables are written with designated initializers
   (.matmul_forward = ...), so reordering this struct cannot misassign an op.
   Pointers are backend memory (host memory for the CPU backend) unless marked
   "host". N is a number of rows (tokens); every row is contiguous. Operations
   named *_backward accumulate parameter gradients with += (never overwrite):
   that is what makes gradient accumulation over micro-batches a plain loop.
   Activation gradients (dx) are overwritten unless the comment says +=.
   Errors: the compute operations return void and may run asynchronously; a
   backend whose operations can fail records the FIRST failure and sync()
   reports it (once): the orchestration calls sync() at the end of every
   forward, backward, optimizer step and generation step, and after each
   download whose values it reads. alloc returns NULL with a message;
   attention_* and sample return -1 with a message. */
typedef struct hbpo_backend {
    const char *name;
    void *(*alloc)(size_t bytes);   /* zero-filled; NULL (message set) when out of memory */
    void  (*free)(void *p);         /* NULL is fine */
    void  (*upload)(void *dst, const void *host_src, size_t bytes);
    void  (*download)(void *host_dst, const void *src, size_t bytes);
    void  (*copy)(void *dst, const void *src, size_t bytes);
    void  (*zero)(void *p, size_t bytes);
    /* Waits for the queued operations. 0, or -1 after setting (hbpo_set_error,
       on the calling thread) the first failure recorded since the last sync,
       as "file:line: call: message". The CPU's operations cannot fail: 0. */
    int   (*sync)(void);
    /* Free bytes of backend memory into *free_bytes: 0, or -1 with a
       message. NULL when the backend cannot say (the CPU): memory plans
       (hbpo_memory_plan_check) are then not checked. */
    int   (*mem_free)(size_t *free_bytes);
    /* nn.Linear: out (N,OC) = x (N,IC) @ w.T + bias; w (OC,IC), bias (OC) or NULL.
       precision: HBPO_MATMUL_* (x and w rounded to it; fp32 accumulation). */
    void (*matmul_forward)(float *out, const float *x, const float *w, const float *bias,
                           int N, int IC, int OC, int precision);
    /* dx (N,IC) = dout @ w (or += when accumulate_dx); dw (OC,IC) += dout.T @ x;
       dbias (OC) += dout.sum(0). dx and dbias may be NULL (not wanted).
       precision: dout, w and x rounded to it; dbias sums dout in fp32. */
    void (*matmul_backward)(float *dx, float *dw, float *dbias, const float *dout,
                            const float *x, const float *w, int N, int IC, int OC,
                            int accumulate_dx, int precision);
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
       q, out (B,T,NH,HS); k, v (n_slots,S,KVH,HS), S the cache length per slot.
       Query sequence b reads cache slot slot[b] (slot (B) or NULL: slot b).
       Query (b,t) sits at position p = pos0[b] + t and attends to keys
       0..p of its slot (p < S); query head h reads kv head h / (NH/KVH).
       out = softmax(q k^T / sqrt(HS)) v; lse (B,NH,T) = logsumexp of the
       scaled scores, saved for the backward (NULL: not saved).
       Training calls it with pos0 = 0, slot = NULL and S = T (k, v are the
       layer's own); decoding with T = 1 and the cache. Returns 0, or -1 when
       out of memory. */
    int (*attention_forward)(float *out, float *lse, const float *q, const float *k,
                             const float *v, const int *pos0, const int *slot, int B, int T,
                             int S, int NH, int KVH, int HS);
    /* Backward of the above for pos0 = 0, slot = NULL, S = T: dq (overwritten),
       dk, dv (overwritten). */
    int (*attention_backward)(float *dq, float *dk, float *dv, const float *dout,
                              const float *q, const float *k, const float *v,
                              const float *out, const float *lse, int B, int T, int NH,
                              int KVH, int HS);
    /* The key/value cache write of one layer: row i of k, v (n,KVD) goes to
       row (slot[i], pos[i]) of kc, vc (n_slots,S,KVD); slot, pos (n). */
    void (*kv_write)(float *kc, float *vc, const float *k, const float *v, const int *slot,
                     const int *pos, int n, int KVD, int S);
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
    /* One token per row of logits (n,V): row i gets exactly
       hbpo_sample(logits_i, V, s, coins[i], work_i, &logp[i]) (greedy when
       s->temperature <= 0). logits and work (n,V) are backend memory; tokens
       (n), logp (n, may be NULL), coins (n) and s are HOST memory: the coins
       come from each sequence's RNG on the host, so every backend picks the
       same token from the same logits. Returns 0, or -1 with a message naming
       the row. */
    int (*sample)(int *tokens, float *logp, const float *logits, int n, int V,
                  const hbpo_sampler_config *s, const float *coins, float *work);
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

/* The backend called name on device (0-based; used by "cuda" only, and must
   be 0 for "cpu"): "cpu" is hbpo_backend_cpu(); "cuda" is
   hbpo_backend_cuda(device) when the file that defines HBPO_IMPLEMENTATION is
   compiled with -DHBPO_WITH_CUDA (and linked with hbpo_cuda.cu: make cuda),
   else an error. Returns 0 and sets *out, or -1 with a message. */
HBPODEF int hbpo_backend_named(const char *name, int device, const hbpo_backend **out);
/* The same from a device string as programs take it (--device): "cpu",
   "cuda" (device 0) or "cuda:N". 0 and *out, or -1 with a message. */
HBPODEF int hbpo_backend_parse(const char *spec, const hbpo_backend **out);

/* CUDA backend (hbpo_cuda.cu) ---------------------------------------------- */
/* Compiled only by `make cuda` (nvcc); not part of this header's
   implementation (always extern, even under HBPO_STATIC), so link
   hbpo_cuda.cu to use them. Their messages go to hbpo_last_error() through
   hbpo_set_error (one error channel). */
/* The CUDA table on device (0-based); NULL with a message when there is no
   such device (or no driver). */
extern const hbpo_backend *hbpo_backend_cuda(int device);
/* Number of CUDA devices; 0 (with a message) when there is none or no driver. */
extern int hbpo_cuda_device_count(void);
/* Selects device (0-based). Returns 0 when ready, -1 with a message. */
extern int hbpo_cuda_init(int device);
/* "NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB free of 79.6" for the backend's
   device into buf (benchmarks and reports name the GPU). */
extern void hbpo_cuda_describe(char *buf, size_t cap);

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
    /* A run setting, not part of the checkpoint (never read from or written
       to config.json; 0 after hbpo_model_config_parse): */
    int   matmul_precision;        /* HBPO_MATMUL_FP32 (0, default), _TF32 or _BF16 */
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
/* Forgets the AdamW state (moments zeroed, step 0), as a new optimizer: a
   new training stage (RL after SFT) starts from here. */
HBPODEF void hbpo_model_reset_optimizer(hbpo_model *m);


/* ------------------------------------------------------------------------- */
/* 9. Generation: sampling, KV-cache decoding                                */
/* ------------------------------------------------------------------------- */

#define HBPO_MAX_EOS 8

/* How tokens are drawn and when a sequence stops. Filters apply in the order
   of transformers' and vLLM's samplers: temperature, then top-k, then top-p.
   Ties in a ranking are broken by the lower token id, so every choice is a
   deterministic function of the logits and the coin. */
struct hbpo_sampler_config {
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
    int      max_active;        /* hbpo_generate: sequences decoding at once (cache slots);
                                   0: all B. A run setting: results do not depend on it */
};

/* The paper's evaluation setting: temperature 0.6, top_p 0.95, top_k off,
   max_new_tokens 4096 (L_max), no EOS ids (set them for the tokenizer), seed 0. */
HBPODEF hbpo_sampler_config hbpo_sampler_config_default(void);
/* 0 when s is usable; else -1 and a message naming the field (hbpo_generate
   also checks that every eos id is below the model's vocabulary). */
HBPODEF int hbpo_sampler_config_check(const hbpo_sampler_config *s);

/* Draws one token from logits (V, host), which are never modified.
   coin in [0, 1) is the caller's uniform draw (hbpo_rng_uniform), unused when
   greedy. The kept tokens (after top-k and top-p) are visited in id order and
   the first whose cumulative probability exceeds coin * (kept mass) is chosen.
   work: V floats of scratch, needed only with top_k or top_p on (else may be
   NULL). *logp (may be NULL) = log_softmax(logits / temperature)[token] over
   the whole vocabulary, before top-k/top-p truncation (greedy: temperature 1):
   that is the policy's log-probability which hbpo_model_forward(temperature)
   recomputes for the PPO ratio, so old and new log-probs describe the same
   distribution. Cost: a few O(V) passes (selection, not sorting, finds the
   top-k and top-p cuts).
   Returns the token id, or -1 (non-finite logit, bad config, coin outside
   [0, 1), NULL arguments) with a message. */
HBPODEF int hbpo_sample(const float *logits, int V, const hbpo_sampler_config *s, float coin,
                        float *work, float *logp);

/* Batched generation for rollouts: B sequences with prompts of different
   lengths, prefilled then decoded together with a key/value cache.
   prompt holds the prompts back to back, sequence b being
   prompt[prompt_off[b] .. prompt_off[b+1]) (prompt_off: B+1 increasing
   offsets, usually from 0); every prompt is non-empty, every id in [0, V).
   A budget prefix is simply part of the prompt.
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
   Continuous batching: each decoding sequence owns one of n_slots =
   s->max_active (0 or >= B: B) cache slots; every step advances all of them
   by one token in one forward (T = 1), then a finished sequence frees its
   slot and the next waiting prompt is prefilled into it (prompts start in
   order). No cache is copied. Tokens and lengths do not depend on
   max_active (each sequence has its own stream and slot); log-probs may
   differ in the last bits, since a token's products then run in batches of
   another composition. The backend's sample op draws the tokens, so only
   tokens and log-probs leave the device. Memory: a cache of
   2 * L * n_slots * S * KVH*HS floats, S = the longest prompt +
   max_new_tokens (capped at max_position_embeddings), plus one layer's
   activations for n_slots tokens and for prefill groups of up to 2048
   prompt tokens (prompts padded to the group's longest). The model's saved
   training activations are not touched. Returns 0 or -1 with a message. */
HBPODEF int hbpo_generate(hbpo_model *m, const hbpo_sampler_config *s, int B, const int *prompt,
                          const int *prompt_off, int *out_tokens, float *out_logp, int *out_len);

/* ---- The kernels' arithmetic: one copy for the CPU backend and hbpo_cuda.cu ----
   The per-element and per-row arithmetic of the backend operations, written
   once as static inline HBPO_HD functions (__host__ __device__ under nvcc,
   plain static inline elsewhere): the CPU backend (section 7) calls them, the
   CUDA kernels call the same functions on the device, and
   tests/test_cuda_host.c emulates each kernel's thread loop with them on the
   host and compares it with the CPU backend. Also, pure host parts the tests
   replay: the cuBLAS argument mapping of every product (hbpo_k_gemm_*); then
   the memory plan (hbpo_memory_plan_*, implemented in section 8 on the
   model's own sizing). The hbpo_k_ prefix marks this
   kernel arithmetic (internal: no stability promised). Nothing here
   allocates, reports errors or keeps state.
     rounding of matmul inputs (tf32, bf16)        hbpo_k_round
     element-wise ops (SwiGLU, AdamW)              hbpo_k_swiglu_*, hbpo_k_adamw
     RMSNorm, RoPE                                 hbpo_k_rmsnorm_*, hbpo_k_rope_*
     attention rows (online softmax, backward)     hbpo_k_attn_*
     log-prob rows                                 hbpo_k_logprob_*
     sampling (hbpo_sample's algorithm, one row)   hbpo_k_sample_row
     cuBLAS argument mapping                       hbpo_k_gemm_*
     memory plan                                   hbpo_memory_plan_* */
#ifdef __CUDACC__
#define HBPO_HD __host__ __device__
#else
#define HBPO_HD
#endif

/* Threads of a block in every row-reduction kernel (a power of two): thread
   t takes elements t, t + HBPO_K_THREADS, ... and the block adds the shares
   with hbpo_k_tree_sum, so the order of every sum is fixed. */
#define HBPO_K_THREADS 256
/* Column sums over rows (dbias, RMSNorm's dw) run in two fixed stages: each
   chunk of HBPO_K_COLSUM_ROWS rows is summed in row order, then the chunk
   sums in chunk order; parallel and deterministic, no atomics. */
#define HBPO_K_COLSUM_ROWS 256

/* ---- Rounding of matmul inputs ---- */
/* Round-to-nearest-even of a float to `keep` mantissa bits (bf16: 7, tf32:
   10), returned as a float; every NaN becomes the quiet NaN 0x7FC00000 (as
   torch's bf16 conversion gives), infinities stay infinite, overflow goes to
   infinity as in hardware. hbpo_f32_to_bf16 is its bf16 case. */
static inline HBPO_HD float hbpo_k_round_mantissa(float x, int keep) {
    uint32_t u, drop = 23u - (uint32_t)keep, half, mask;
    float r;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7F800000u) == 0x7F800000u) {
        if (u & 0x007FFFFFu) u = 0x7FC00000u; /* NaN -> the quiet NaN */
        memcpy(&r, &u, sizeof r);
        return r;
    }
    half = (1u << (drop - 1)) - 1u + ((u >> drop) & 1u); /* ties to even */
    mask = ~((1u << drop) - 1u);
    u = (u + half) & mask;
    memcpy(&r, &u, sizeof r);
    return r;
}
/* The matmul precisions of hbpo.h (HBPO_MATMUL_FP32 0, TF32 1, BF16 2): the
   input value the product sees. */
static inline HBPO_HD float hbpo_k_round(float x, int precision) {
    return precision == 2 ? hbpo_k_round_mantissa(x, 7)
         : precision == 1 ? hbpo_k_round_mantissa(x, 10) : x;
}
/* The 16 bits of bf16(x) (round to nearest even), as cuBLAS and oneDNN read
   bf16: the upper half of hbpo_k_round_mantissa(x, 7), without a branch so
   that a loop of it vectorizes (carrying into the exponent rounds up to the
   next power of two, or to infinity; an infinity stays one; every NaN
   becomes the quiet NaN). */
static inline HBPO_HD uint16_t hbpo_k_bf16_bits(float x) {
    uint32_t u, r;
    memcpy(&u, &x, sizeof u);
    r = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
    return (u & 0x7FFFFFFFu) > 0x7F800000u ? (uint16_t)0x7FC0u : (uint16_t)r;
}

/* ---- 2. Element-wise ops ------------------------------------------------------ */
/* exp(x) for the hot element-wise loops (SwiGLU, the attention softmax), within
   1 ulp of glibc's expf on 2^21 points spread over [-90, 90] (the test allows
   2), right on infinities and NaN. Written by hand because
   libm's expf is a call the compiler cannot vectorise: this one has no calls
   and no branches, so `omp simd` loops run it 4 or 8 lanes wide (the special
   cases are bit masks: a float select would let the compiler move the
   arithmetic under a branch), and it gives the same bits with every libm.
   Cephes' method: x = k ln2 + r with |r| <= ln2 / 2 (ln2 in two parts, so r
   is exact), exp(r) by its degree-7 polynomial, times 2^k built in the
   exponent bits as two factors, so k = -126..128 stay normal. Results below
   FLT_MIN flush to 0, above FLT_MAX give infinity, NaN stays NaN.
   tests/test_cuda_host.c (expf_kernel_within_two_ulp) checks it against expf. */
static inline HBPO_HD float hbpo_k_expf(float x) {
    float kf, r, p, s1, s2;
    uint32_t ux, b1, b2, small, big, nan;
    int32_t k, k1;
    memcpy(&ux, &x, sizeof ux);
    kf = x * 1.44269504088896341f + 12582912.0f; /* round(x / ln2) by the 1.5 * 2^23 shift */
    memcpy(&b1, &kf, sizeof b1);
    k = (int32_t)(b1 - 0x4B400000u);
    kf -= 12582912.0f;
    r = x - kf * 0.693359375f;
    r = r - kf * -2.12194440e-4f;
    p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    k1 = k / 2;
    b1 = ((uint32_t)k1 + 127u) << 23;
    b2 = ((uint32_t)k - (uint32_t)k1 + 127u) << 23;
    memcpy(&s1, &b1, sizeof s1);
    memcpy(&s2, &b2, sizeof s2);
    p = p * s1 * s2;
    memcpy(&b1, &p, sizeof b1);
    small = 0u - (uint32_t)(ux > 0xC2AEAC50u);                  /* x < ln FLT_MIN, -inf */
    big = 0u - (uint32_t)((int32_t)ux > (int32_t)0x42B17218u);  /* x > ln FLT_MAX, +inf */
    nan = 0u - (uint32_t)((ux & 0x7FFFFFFFu) > 0x7F800000u);
    b1 = (b1 & ~(small | big)) | (big & 0x7F800000u);
    b1 = (b1 & ~nan) | (ux & nan);
    memcpy(&p, &b1, sizeof p);
    return p;
}
/* F.silu(gate) * up (the CPU backend's formula, operation for operation). */
static inline HBPO_HD float hbpo_k_swiglu_forward(float g, float u) { return g / (1.0f + hbpo_k_expf(-g)) * u; }
/* d silu(g)/dg = s (1 + g (1 - s)), s = sigmoid(g). */
static inline HBPO_HD void hbpo_k_swiglu_backward(float *dg, float *du, float d, float g, float u) {
    float s = 1.0f / (1.0f + hbpo_k_expf(-g));
    *dg = d * u * s * (1.0f + g * (1.0f - s));
    *du = d * g * s;
}
/* One element of torch.optim.AdamW (step = lr / bc1, bc2_sqrt = sqrt(bc2)). */
static inline HBPO_HD void hbpo_k_adamw(float *p, float *m, float *v, float g, float grad_scale, float lr,
                          float b1, float b2, float eps, float wd, float step, float bc2_sqrt) {
    float gi = g * grad_scale;
    *p *= 1.0f - lr * wd;
    *m = b1 * *m + (1.0f - b1) * gi;
    *v = b2 * *v + (1.0f - b2) * gi * gi;
    *p -= step * *m / (sqrtf(*v) / bc2_sqrt + eps);
}

/* ---- RMSNorm, RoPE ---- */
/* rstd = 1 / sqrt(mean(x^2) + eps) from ss = sum x^2 (double). */
static inline HBPO_HD float hbpo_k_rmsnorm_rstd(double ss, int C, float eps) {
    return (float)(1.0 / sqrt(ss / C + (double)eps));
}
/* One thread's shares of a row's sums (double): sum x^2, and sum dy w x. */
static inline HBPO_HD double hbpo_k_sumsq_partial(const float *x, int lo, int step, int n) {
    double s = 0.0;
    int c;
    for (c = lo; c < n; c += step) s += (double)x[c] * x[c];
    return s;
}
static inline HBPO_HD double hbpo_k_dot3_partial(const float *dy, const float *w, const float *x, int lo,
                                   int step, int n) {
    double s = 0.0;
    int c;
    for (c = lo; c < n; c += step) s += (double)dy[c] * w[c] * x[c];
    return s;
}
/* The backward's row constant k = mean(dy * w * x) * r^3 from dot = sum dy w x. */
static inline HBPO_HD float hbpo_k_rmsnorm_k(double dot, int C, float r) { return (float)(dot / C) * r * r * r; }
/* dx = r * dy * w - k * x. */
static inline HBPO_HD float hbpo_k_rmsnorm_dx(float dy, float w, float x, float r, float k) {
    return r * dy * w - k * x;
}
/* The rotary angle of pair i at position pos, as transformers computes it in
   float32: inv_freq = 1 / theta^(2i / HS), angle = pos * inv_freq. */
static inline HBPO_HD void hbpo_k_rope_cs(float *c, float *s, int pos, int i, int HS, float theta) {
    float inv = 1.0f / powf(theta, (float)(2 * i) / (float)HS);
    float ang = (float)pos * inv;
    *c = (float)cos((double)ang);
    *s = (float)sin((double)ang);
}
/* x*cos + rotate_half(x)*sin on the pair (a, b) = (x[i], x[i + HS/2]);
   sign -1 rotates back (the backward). */
static inline HBPO_HD void hbpo_k_rope_pair(float *a, float *b, float c, float s, float sign) {
    float x0 = *a, x1 = *b;
    s *= sign;
    *a = x0 * c - x1 * s;
    *b = x1 * c + x0 * s;
}

/* ---- Attention rows ---- */
/* One thread computes one query row (flash-style: the scores are never stored;
   an online softmax keeps the running max m, the running sum l and the
   weighted sum of values in acc[HS]). Layout as hbpo.h's attention_forward:
   q, out (B,T,NH,HS), k, v: (n_slots,S,KVH,HS); the query (b,t,h) sits at
   position p = pos0[b] + t, reads cache slot sl and attends keys 0..p.
   Returns the logsumexp of the scaled scores. acc: HS floats of scratch. */
/* One key of the row: the online softmax's step with key kj and value vj
   (HS each), the tiled CUDA kernel's too (it reads them from shared memory). */
static inline HBPO_HD void hbpo_k_attn_forward_key(float *acc, float *m, float *l, const float *qt,
                                                  const float *kj, const float *vj, int HS, float scale) {
    float s = 0.0f, mn, corr, p;
    int d;
    for (d = 0; d < HS; d++) s += qt[d] * kj[d];
    s *= scale;
    mn = s > *m ? s : *m;
    corr = expf(*m - mn); /* 0 on the first key (m = -inf) */
    p = expf(s - mn);
    *l = *l * corr + p;
    for (d = 0; d < HS; d++) acc[d] = acc[d] * corr + p * vj[d];
    *m = mn;
}
/* out = acc / l; returns the logsumexp m + log l */
static inline HBPO_HD float hbpo_k_attn_forward_finish(float *out, const float *acc, float m, float l,
                                                     int HS) {
    int d;
    for (d = 0; d < HS; d++) out[d] = acc[d] / l;
    return m + logf(l);
}
static inline HBPO_HD float hbpo_k_attn_forward_row(float *out, float *acc, const float *qt, const float *kb,
                                      const float *vb, int keys, int KVD, int HS, float scale) {
    float m = -INFINITY, l = 0.0f;
    int j, d;
    for (d = 0; d < HS; d++) acc[d] = 0.0f;
    for (j = 0; j < keys; j++)
        hbpo_k_attn_forward_key(acc, &m, &l, qt, kb + (size_t)j * KVD, vb + (size_t)j * KVD, HS, scale);
    return hbpo_k_attn_forward_finish(out, acc, m, l, HS);
}
/* D = rowsum(dO * O) of one query row (the softmax backward's constant). */
static inline HBPO_HD float hbpo_k_attn_D(const float *dout, const float *out, int HS) {
    float D = 0.0f;
    int d;
    for (d = 0; d < HS; d++) D += dout[d] * out[d];
    return D;
}
/* dq of one query row: dq = scale * sum_j P_j (dO.v_j - D) k_j with
   P_j = exp(scale q.k_j - lse), over keys 0..t (pos0 = 0, S = T). */
/* One key of a dq row: dq += scale P (dO.v_j - D) k_j (the tiled CUDA
   kernel's step too, with k_j and v_j from shared memory). */
static inline HBPO_HD void hbpo_k_attn_dq_key(float *dq, const float *qt, const float *dot_, const float *kj,
                                             const float *vj, int HS, float scale, float lse, float D) {
    float s = 0.0f, dp = 0.0f, p, ds;
    int d;
    for (d = 0; d < HS; d++) { s += qt[d] * kj[d]; dp += dot_[d] * vj[d]; }
    p = expf(s * scale - lse);
    ds = p * (dp - D) * scale;
    for (d = 0; d < HS; d++) dq[d] += ds * kj[d];
}
static inline HBPO_HD void hbpo_k_attn_dq_row(float *dq, const float *qt, const float *dot_, const float *kb,
                                const float *vb, int keys, int KVD, int HS, float scale,
                                float lse, float D) {
    int j, d;
    for (d = 0; d < HS; d++) dq[d] = 0.0f;
    for (j = 0; j < keys; j++)
        hbpo_k_attn_dq_key(dq, qt, dot_, kb + (size_t)j * KVD, vb + (size_t)j * KVD, HS, scale, lse, D);
}
/* One query of a key row's dk, dv: dk += ds q_t, dv += P dO_t (the tiled
   CUDA kernel's step too, with q_t and dO_t from shared memory). */
static inline HBPO_HD void hbpo_k_attn_dkdv_query(float *dk, float *dv, const float *kj, const float *vj,
                                                 const float *qt, const float *dot_, float lse, float D,
                                                 int HS, float scale) {
    float s = 0.0f, dp = 0.0f, p, ds;
    int d;
    for (d = 0; d < HS; d++) { s += qt[d] * kj[d]; dp += dot_[d] * vj[d]; }
    p = expf(s * scale - lse);
    ds = p * (dp - D) * scale;
    for (d = 0; d < HS; d++) {
        dk[d] += ds * qt[d];
        dv[d] += p * dot_[d];
    }
}
/* dk, dv of one key row j of kv head g: the sum over the query heads of the
   group (in order) and the queries t = j..T-1 (in order), so the result is
   deterministic with no atomics. q, dout (T,QD) of sequence b, offset to head
   h0 = g * group; lse, D (NH,T) of sequence b, offset likewise. */
static inline HBPO_HD void hbpo_k_attn_dkdv_row(float *dk, float *dv, const float *kj, const float *vj,
                                  const float *qb, const float *doutb, const float *lseb,
                                  const float *Db, int j, int T, int QD, int group, int HS,
                                  float scale) {
    int e, t, d;
    for (d = 0; d < HS; d++) dk[d] = dv[d] = 0.0f;
    for (e = 0; e < group; e++)
        for (t = j; t < T; t++)
            hbpo_k_attn_dkdv_query(dk, dv, kj, vj, qb + (size_t)t * QD + (size_t)e * HS,
                                   doutb + (size_t)t * QD + (size_t)e * HS, lseb[(size_t)e * T + t],
                                   Db[(size_t)e * T + t], HS, scale);
}

/* ---- 5. Log-prob rows ----------------------------------------------------------- */
/* One row of logits z (V) at inverse temperature inv, given its max mx (of
   z*inv): sum e^(z inv - mx) and sum e^(..) (z inv - mx) over j = lo, lo+step,
   .. < V (one thread's share; the kernel adds the shares in a fixed tree). */
static inline HBPO_HD void hbpo_k_logprob_partial(double *sum, double *pz, const float *z, int lo, int step,
                                    int V, float inv, float mx) {
    double s = 0.0, p = 0.0;
    int j;
    for (j = lo; j < V; j += step) {
        double e = exp((double)(z[j] * inv - mx));
        s += e;
        p += e * (z[j] * inv - mx);
    }
    *sum = s;
    *pz = p;
}
/* logp = (z[target] inv - mx) - lse; entropy = lse - pz / sum. */
static inline HBPO_HD void hbpo_k_logprob_finish(float *logp, float *entropy, float zt, float inv, float mx,
                                   double sum, double pz) {
    double lse = log(sum);
    if (logp) *logp = (float)((double)(zt * inv - mx) - lse);
    if (entropy) *entropy = (float)(lse - pz / sum);
}
/* dlogits_j = g (onehot_j - softmax_j), g = dlogp inv, from e = exp(z_j inv
   - mx) and inv_sum = 1 / sum_j e (the CPU keeps e in the logits row; a
   kernel recomputes it: hbpo_k_logprob_grad). */
static inline HBPO_HD float hbpo_k_logprob_grad_e(float e, float inv_sum, float g, int is_target) {
    float r = -g * (e * inv_sum);
    return is_target ? r + g : r;
}
static inline HBPO_HD float hbpo_k_logprob_grad(float z, float inv, float mx, float inv_sum, float g,
                                  int is_target) {
    return hbpo_k_logprob_grad_e(expf(z * inv - mx), inv_sum, g, is_target);
}
/* Largest-first tree sum of n (a power of two) partial sums in place; the
   kernels' shared-memory reductions follow exactly this order. */
static inline HBPO_HD double hbpo_k_tree_sum(double *x, int n) {
    int w, i;
    for (w = n / 2; w > 0; w /= 2)
        for (i = 0; i < w; i++) x[i] += x[i + w];
    return x[0];
}

/* ---- Sampling ---- */
/* hbpo_sample's algorithm (see hbpo_sample for the meaning), used by the
   CPU's hbpo_sample and by the CUDA sampling kernel alike. */
/* The pivot of x[lo..hi): the median of the first, middle and last values. */
static inline HBPO_HD float hbpo_k_median3(const float *x, int lo, int hi) {
    float a = x[lo], b = x[lo + (hi - lo) / 2], c = x[hi - 1];
    return a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
}
/* Three-way partition of x[lo..hi) around pivot: on return x[lo..*gt) > pivot,
   x[*gt..*lt) == pivot, x[*lt..hi) < pivot. */
static inline HBPO_HD void hbpo_k_partition3(float *x, int lo, int hi, float pivot, int *gt, int *lt) {
    int i = lo, g = lo, l = hi;
    float t;
    while (i < l) {
        if (x[i] > pivot) { t = x[i]; x[i++] = x[g]; x[g++] = t; }
        else if (x[i] < pivot) { t = x[i]; x[i] = x[--l]; x[l] = t; }
        else i++;
    }
    *gt = g;
    *lt = l;
}
/* The k-th largest (k >= 1) of x[0..n), reordering x (quickselect). */
static inline HBPO_HD float hbpo_k_kth_largest(float *x, int n, int k) {
    int lo = 0, hi = n, want = k - 1; /* the answer is x[want] of x sorted descending */
    for (;;) {
        float pivot = hbpo_k_median3(x, lo, hi);
        int gt, lt;
        hbpo_k_partition3(x, lo, hi, pivot, &gt, &lt);
        if (want < gt) hi = gt;
        else if (want < lt) return pivot;
        else lo = lt;
    }
}
/* The nucleus of the candidate values x[0..n) (reordered): the fewest
   top-ranked of them whose mass, sum of exp(z - mx), reaches target. The same
   quickselect, steered by mass instead of rank, so O(n) rather than a sort:
   everything in x[0..lo) ranks above x[lo..hi) and holds mass `above`.
   Sets *thr to the last kept value and *n_ties to how many candidates equal
   to it are kept; returns the kept mass. */
static inline HBPO_HD double hbpo_k_nucleus(float *x, int n, float mx, double target, float *thr, int *n_ties) {
    int lo = 0, hi = n, i;
    double above = 0.0;
    for (;;) {
        float pivot = hbpo_k_median3(x, lo, hi);
        double m_gt = 0.0, e, need;
        int gt, lt;
        hbpo_k_partition3(x, lo, hi, pivot, &gt, &lt);
        for (i = lo; i < gt; i++) m_gt += exp((double)(x[i] - mx));
        if (gt > lo && above + m_gt >= target) { hi = gt; continue; } /* the cut lies above pivot */
        e = exp((double)(pivot - mx));
        if (above + m_gt + (lt - gt) * e >= target || lt == hi) {
            /* the cut is at pivot: as many of its ties as reach target (at least one;
               all of them when rounding left target unreached) */
            need = ceil((target - above - m_gt) / e);
            *n_ties = !(need <= (double)(lt - gt)) ? lt - gt : need < 1.0 ? 1 : (int)need;
            *thr = pivot;
            return above + m_gt + *n_ties * e;
        }
        above += m_gt + (lt - gt) * e;
        lo = lt;
    }
}
/* The kept set of a sampler is always a prefix of the tokens ranked by
   (logit descending, id ascending), so it is described by a threshold value
   and how many tokens equal to it are kept, taken in id order:
   token j is kept iff z_j > thr, or z_j == thr and fewer than n_ties tokens
   equal to thr precede it. */
typedef struct { float thr; int n_ties, seen; } hbpo_k_kept;
static inline HBPO_HD int hbpo_k_is_kept(hbpo_k_kept *k, float z) {
    if (z > k->thr) return 1;
    if (z == k->thr && k->seen < k->n_ties) { k->seen++; return 1; }
    return 0;
}
/* Greedy rows run block-parallel (the decoding benchmark's case): each of
   HBPO_K_THREADS threads keeps the largest value of its share and its lowest
   id, and the block merges the pairs in hbpo_k_tree_sum's order by (value
   descending, id ascending): exactly the first maximum a left-to-right scan
   finds, so the token is hbpo_sample's. Its log-prob adds e^(z - mx) in the
   fixed tree (hbpo_sample: in id order), so it may differ in the last bits. */
static inline HBPO_HD void hbpo_k_argmax_share(float *best, int *arg, int *finite, const float *z, int lo,
                                 int step, int V) {
    float b = -INFINITY;
    int a = -1, ok = 1, j;
    for (j = lo; j < V; j += step) {
        if (!(z[j] - z[j] == 0.0f)) ok = 0;
        if (z[j] > b || a < 0) { b = z[j]; a = j; } /* strict: the lower id keeps a tie */
    }
    *best = b;
    *arg = a;
    *finite = ok;
}
static inline HBPO_HD void hbpo_k_argmax_merge(float *best, int *arg, float b2, int a2) {
    if (a2 < 0) return;
    if (*arg < 0 || b2 > *best || (b2 == *best && a2 < *arg)) { *best = b2; *arg = a2; }
}

/* Top-p's lower bound on a candidate's z - mx (lse: the row's logsumexp of
   z - mx). Without top-k, a token of probability q < (1 - top_p) / V can
   never be in the nucleus: the tokens ranked at or after it hold < V q <
   1 - top_p, so the ones before it already reach top_p. Halving that bound
   leaves room for rounding; only the candidates enter the selection. */
static inline HBPO_HD double hbpo_k_nucleus_cut(double lse, float top_p, int V) {
    return lse + log(0.5 * (1.0 - (double)top_p) / (double)V);
}
/* One row: logits (V) are read only; work (V) is scratch (needed with top_k
   or top_p on); coin in [0,1) (unused when greedy, temperature <= 0).
   Returns the token, or -1 when a scaled logit is not finite (hbpo_sample
   and the CUDA backend turn that into their message). */
static inline HBPO_HD int hbpo_k_sample_row(const float *logits, int V, float temperature, float top_p,
                              int top_k, float coin, float *work, float *logp) {
    int j, tok = 0, greedy = temperature <= 0.0f, last = -1;
    float inv = greedy ? 1.0f : 1.0f / temperature, mx = -INFINITY;
    double sum = 0.0, lse, kept_mass, acc, target;
    hbpo_k_kept kept;
    for (j = 0; j < V; j++) {
        float z = logits[j] * inv;
        if (!(z - z == 0.0f)) return -1; /* inf or NaN (isfinite without <math.h> macros) */
        if (z > mx) { mx = z; tok = j; } /* strict: the lowest id wins a tie */
    }
    /* z = logits / temperature, as the training forward forms it (float
       product by 1/T), so the log-probs agree with hbpo_model_forward;
       logsumexp with max-subtraction, in double, in id order. */
    for (j = 0; j < V; j++) sum += exp((double)(logits[j] * inv - mx));
    lse = log(sum);
    if (!greedy && !(top_k == 1 || V == 1)) {
        int k = top_k > 0 && top_k < V ? top_k : 0, n = 0, g;
        kept.thr = -INFINITY; kept.n_ties = 0; kept.seen = 0; /* all kept */
        kept_mass = sum;
        if (k) {
            /* top-k: the k-th largest value, then how many equal to it fit. */
            for (j = 0; j < V; j++) work[j] = logits[j] * inv;
            kept.thr = hbpo_k_kth_largest(work, V, k);
            for (j = 0, g = 0; j < V; j++) g += logits[j] * inv > kept.thr;
            kept.n_ties = k - g;
            kept_mass = 0.0;
            for (j = 0; j < V; j++) {
                float z = logits[j] * inv;
                if (hbpo_k_is_kept(&kept, z)) kept_mass += exp((double)(z - mx));
            }
            kept.seen = 0;
        }
        if (top_p < 1.0f) {
            /* top-p over the tokens still kept; without top-k only the
               candidates above hbpo_k_nucleus_cut enter the selection */
            double cut = k ? -INFINITY : hbpo_k_nucleus_cut(lse, top_p, V);
            for (j = 0; j < V; j++) {
                float z = logits[j] * inv;
                if (hbpo_k_is_kept(&kept, z) && (double)(z - mx) >= cut) work[n++] = z;
            }
            kept.seen = 0;
            kept_mass = hbpo_k_nucleus(work, n, mx, (double)top_p * kept_mass, &kept.thr,
                                       &kept.n_ties);
        }
        /* Inverse CDF over the kept tokens in id order. */
        target = (double)coin * kept_mass;
        acc = 0.0;
        tok = -1;
        for (j = 0; j < V; j++) {
            float z = logits[j] * inv;
            double e;
            if (!hbpo_k_is_kept(&kept, z)) continue;
            e = exp((double)(z - mx));
            if (e > 0.0) last = j;
            acc += e;
            if (acc > target) { tok = j; break; }
        }
        if (tok < 0) tok = last; /* rounding left target unreached: the last kept token */
    }
    if (logp) *logp = (float)((double)(logits[tok] * inv - mx) - lse);
    return tok;
}

/* Sampling without top-k runs block-parallel on the GPU: plain (temperature
   > 0, top-p 1: the training rollouts' default) and top-p (the paper's
   evaluation: T 0.6, top-p 0.95). Thread t of n owns the contiguous ids
   [lo, hi) (hbpo_k_chunk). Each thread sums e^(z - mx) over its kept ids in
   id order (hbpo_k_exp_share); one thread then walks the n shares in order
   to the share where the running mass passes coin * kept mass, and the kept
   ids of that share in order (hbpo_k_pick_chunked). Top-p first gathers the
   candidates hbpo_k_sample_row gathers, in the same id order (each thread
   counts its own, hbpo_k_candidates, and writes them after the counts of
   the threads before it), and one thread selects the nucleus from them with
   hbpo_k_nucleus, as hbpo_k_sample_row does. The row's mass is the shares
   added in order instead of one sum in id order, so the token differs from
   hbpo_sample's only when the coin, or the nucleus's target, falls within
   rounding (about 1e-16 of the mass) of a boundary, and the log-prob in its
   last bits. */
static inline HBPO_HD void hbpo_k_chunk(int V, int t, int n, int *lo, int *hi) {
    int c = (V + n - 1) / n;
    *lo = t * c < V ? t * c : V;
    *hi = *lo + c < V ? *lo + c : V;
}
/* The kept set that keeps every finite value (plain sampling). */
static inline HBPO_HD hbpo_k_kept hbpo_k_keep_all(void) {
    hbpo_k_kept k;
    k.thr = -INFINITY; k.n_ties = 0; k.seen = 0;
    return k;
}
/* the sum of e^(z_j inv - mx) over the kept ids j of [lo, hi), in id order;
   k.seen on entry: how many ids before lo equal k.thr (ties are kept in id
   order); *last: the last kept j with a positive term (-1 none) */
static inline HBPO_HD double hbpo_k_exp_share(const float *z, int lo, int hi, float inv, float mx,
                                              hbpo_k_kept k, int *last) {
    double s = 0.0, e;
    int j;
    *last = -1;
    for (j = lo; j < hi; j++) {
        if (!hbpo_k_is_kept(&k, z[j] * inv)) continue;
        e = exp((double)(z[j] * inv - mx));
        if (e > 0.0) *last = j;
        s += e;
    }
    return s;
}
/* how many ids of [lo, hi) have the scaled value thr */
static inline HBPO_HD int hbpo_k_count_equal(const float *z, int lo, int hi, float inv, float thr) {
    int j, c = 0;
    for (j = lo; j < hi; j++) c += z[j] * inv == thr;
    return c;
}
/* the candidates of [lo, hi): the ids with (double)(z inv - mx) >= cut, in id
   order; their scaled values go to out unless it is NULL; returns how many */
static inline HBPO_HD int hbpo_k_candidates(const float *z, int lo, int hi, float inv, float mx, double cut,
                                            float *out) {
    int j, c = 0;
    for (j = lo; j < hi; j++) {
        float x = z[j] * inv;
        if ((double)(x - mx) < cut) continue;
        if (out) out[c] = x;
        c++;
    }
    return c;
}
/* The token whose running kept mass passes target, from the n shares of a
   row: part and last are hbpo_k_exp_share's for kept set k, ties[t] how many
   ids before share t equal k.thr (NULL: none do). */
static inline HBPO_HD int hbpo_k_pick_chunked(const float *z, int V, float inv, float mx, hbpo_k_kept k,
                                              const int *ties, const double *part, const int *last,
                                              int n, double target) {
    double acc = 0.0;
    int t, j, lo, hi, tail = -1;
    for (t = 0; t < n; t++)
        if (last[t] >= 0) tail = last[t];
    for (t = 0; t < n; t++) {
        double a = acc;
        if (!(acc + part[t] > target)) { acc += part[t]; continue; }
        hbpo_k_chunk(V, t, n, &lo, &hi);
        k.seen = ties ? ties[t] : 0;
        for (j = lo; j < hi; j++) {
            if (!hbpo_k_is_kept(&k, z[j] * inv)) continue;
            a += exp((double)(z[j] * inv - mx));
            if (a > target) return j;
        }
        acc += part[t]; /* rounding: the ids did not pass it; on to the next share */
    }
    return tail; /* rounding left target unreached: the last kept token with mass */
}
/* n shares added in order */
static inline HBPO_HD double hbpo_k_sum_in_order(const double *part, int n) {
    double s = 0.0;
    int t;
    for (t = 0; t < n; t++) s += part[t];
    return s;
}

/* ---- cuBLAS argument mapping ---- */
/* hbpo's products are row-major; cuBLAS is column-major. A row-major (r,c)
   array with row stride ld is, read column-major, the (c,r) matrix with
   leading dimension ld: its transpose. So row-major C = A B is column-major
   C^T = B^T A^T: swap the operands, keep the strides. Every product the model
   issues goes through one of these functions; hbpo_cuda.cu passes the struct
   to cublasGemmEx field by field, and tests/test_cuda_host.c replays it
   through a column-major reference (hbpo_sgemm on the transposed problem). */
enum { HBPO_K_OP_X = 0, HBPO_K_OP_W = 1, HBPO_K_OP_DOUT = 2 }; /* which buffer */
typedef struct {
    int   transa, transb;   /* 0: CUBLAS_OP_N, 1: CUBLAS_OP_T */
    int   m, n, k;          /* column-major C is (m,n), op(A) (m,k), op(B) (k,n) */
    int   a, b;             /* HBPO_K_OP_* held by A and by B; C is the output */
    int   lda, ldb, ldc;    /* leading dimensions, column-major */
    float alpha, beta;
} hbpo_k_gemm;

/* out (N,OC) = x (N,IC) @ w.T (+ out when beta 1: the bias copied in first):
   column-major out^T (OC,N) = w_cm^T (OC,IC) x_cm (IC,N). */
static inline hbpo_k_gemm hbpo_k_gemm_forward(int N, int IC, int OC, int has_bias) {
    hbpo_k_gemm g;
    g.transa = 1; g.transb = 0; g.m = OC; g.n = N; g.k = IC;
    g.a = HBPO_K_OP_W; g.b = HBPO_K_OP_X; g.lda = IC; g.ldb = IC; g.ldc = OC;
    g.alpha = 1.0f; g.beta = has_bias ? 1.0f : 0.0f;
    return g;
}
/* dx (N,IC) (=|+=) dout (N,OC) @ w (OC,IC): dx^T (IC,N) = w_cm (IC,OC) dout_cm (OC,N). */
static inline hbpo_k_gemm hbpo_k_gemm_dx(int N, int IC, int OC, int accumulate) {
    hbpo_k_gemm g;
    g.transa = 0; g.transb = 0; g.m = IC; g.n = N; g.k = OC;
    g.a = HBPO_K_OP_W; g.b = HBPO_K_OP_DOUT; g.lda = IC; g.ldb = OC; g.ldc = IC;
    g.alpha = 1.0f; g.beta = accumulate ? 1.0f : 0.0f;
    return g;
}
/* dw (OC,IC) += dout.T (OC,N) @ x (N,IC): dw^T (IC,OC) = x_cm (IC,N) dout_cm^T (N,OC). */
static inline hbpo_k_gemm hbpo_k_gemm_dw(int N, int IC, int OC) {
    hbpo_k_gemm g;
    g.transa = 0; g.transb = 1; g.m = IC; g.n = OC; g.k = N;
    g.a = HBPO_K_OP_X; g.b = HBPO_K_OP_DOUT; g.lda = IC; g.ldb = OC; g.ldc = IC;
    g.alpha = 1.0f; g.beta = 1.0f;
    return g;
}

/* ---- Memory plan ---- */
/* Bytes a backend needs for a config, from the same sizing the model uses
   (hbpo__acts_layout sizes the activations for the plan and for the
   allocation alike): the parameter buffer and its mirrors (fp32 weights,
   gradients, AdamW m and v; training only), the training activations of one
   micro-batch (saved and scratch, the LM-head chunk apart), the key/value
   cache of a rollout batch and the decoding activations (one step of
   rollout_batch tokens, one prefill group of up to 2048 tokens, the
   sampler's scratch row per sequence), and a workspace for bf16 copies of
   the largest product's inputs (CUDA). Useful on the CPU as well (RAM). */
typedef struct {
    double params;      /* parameters (count) */
    double weights;     /* bytes, and so on */
    double grads, adam; /* adam: m and v (0 without training) */
    double activations; /* training, micro_batch x seq tokens */
    double logits;      /* LM-head chunk (training) */
    double kv_cache;    /* rollout_batch x max_len, every layer, k and v */
    double decode;      /* decoding activations and sampler scratch */
    double workspace;   /* bf16 inputs of the largest product */
    double total;
} hbpo_memory_plan;
/* micro_batch x seq training tokens (micro_batch 0: no training: no
   gradients, moments or training activations); rollout_batch sequences of
   max_len in the cache (0: no generation). */
HBPODEF hbpo_memory_plan hbpo_memory_plan_compute(const hbpo_model_config *c, int micro_batch,
                                                  int seq, int rollout_batch, int max_len);
/* Whether the plan fits free_bytes: 0, or -1 with msg naming what does not
   fit and what would, e.g. "micro_batch 8 x 4096 needs 61.0 GiB, the GPU has
   39.0 free; micro_batch 4 x 4096 fits". The search keeps the rollout batch
   when it can and halves the micro-batch, then the sequence; when even one
   short sequence does not fit beside the KV cache, it halves the rollout
   batch; when the model's fp32 state alone does not fit, it says so. */
HBPODEF int hbpo_memory_plan_fit(const hbpo_model_config *c, int micro_batch, int seq,
                                 int rollout_batch, int max_len, double free_bytes, char *msg,
                                 size_t cap);
/* The plan against the free memory backend be reports (be->mem_free): 0
   when it fits or be cannot say (the CPU), else -1 with the plan's message
   in hbpo_last_error(). Programs call it before loading a model. */
HBPODEF int hbpo_memory_plan_check(const hbpo_backend *be, const hbpo_model_config *c,
                                   int micro_batch, int seq, int rollout_batch, int max_len);
/* (hbpo_cuda.cu, make cuda; always extern) hbpo_memory_plan_check on the
   CUDA backend's device. */
extern int hbpo_cuda_plan_check(const hbpo_model_config *c, int micro_batch, int seq,
                                int rollout_batch, int max_len);

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
   every NaN becomes 0x7FC0, as in torch. */
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
/* 11. Data: datasets and the synthetic arithmetic task                      */
/* ------------------------------------------------------------------------- */

/* Problems with gold answers, from JSON Lines files or made up (the
   synthetic task below). The trainer samples from `items`; hbpo_judge
   compares a response with `answer`.
       hbpo_dataset d;
       if (hbpo_dataset_load(&d, "gsm8k/train.jsonl", HBPO_DATA_AUTO, 0) != 0)
           fprintf(stderr, "%s\n", hbpo_last_error());
       else if (d.n_skipped)
           fprintf(stderr, "skipped %d bad lines, first: %s\n", d.n_skipped,
                   hbpo_dataset_first_skip(&d));
       ...
       hbpo_dataset_free(&d);
   Each item owns one allocation holding both of its strings, so the items
   may be permuted in place (shuffled); they must not be copied into a
   second dataset other than through hbpo_dataset_add. */
typedef struct {
    const char *question;  /* the problem text (UTF-8) */
    const char *answer;    /* gold answer as hbpo_judge compares it (GSM8K: the number after ####) */
    int         level;     /* difficulty: MATH500 level 1-5, the synthetic task's level, 0 unknown */
} hbpo_problem;

typedef struct {
    hbpo_problem *items;      /* (n) */
    int           n;
    int           n_skipped;  /* bad lines skipped (non-strict loading) */
    int           layout;     /* the layout the last load used (AUTO resolved), else 0 */
    int           cap;        /* items allocated */
    char          first_skip[512]; /* message of the first skipped line, "" when none */
} hbpo_dataset;

enum { HBPO_DATA_AUTO = 0, HBPO_DATA_MATH = 1, HBPO_DATA_GSM8K = 2 };

/* Loads a JSON Lines file of problems, one object per line, into d (which
   is overwritten: free a previous dataset first; on error d is left empty).
     HBPO_DATA_MATH   the MATH / DeepScaleR layout: `problem` (or `question`)
                      and `answer`, a string or a number (AMC23's 27.0 gives
                      "27"); without `answer`, OlympiadBench's `final_answer`,
                      a list of strings joined with ", ", unescaped '$' removed.
                      An optional `level`, 3 or "Level 3", gives the level.
     HBPO_DATA_GSM8K  `question` (or `problem`) and `answer`, a worked solution
                      ending "#### N": the gold answer is hbpo_gsm8k_extract's N.
     HBPO_DATA_AUTO   decided by the file's first valid line: `problem` -> MATH;
                      `question` with "####" in a string `answer` -> GSM8K;
                      other `question` lines -> MATH (AIME, AMC, OlympiadBench).
   A bad line (not JSON, not an object, a missing or mistyped field, a NUL
   byte in a string, a question of 1 MiB or more, an answer of 4096 bytes or
   more): strict -> returns -1 with "PATH line N: reason"; non-strict -> the
   line is skipped and counted in n_skipped, the first message kept for
   hbpo_dataset_first_skip. No valid line at all is an error, as are a
   missing file, a read error and a bad layout. Returns 0 or -1. */
HBPODEF int  hbpo_dataset_load(hbpo_dataset *d, const char *path, int layout, int strict);
/* An empty dataset (what a zeroed one is): the create of the create/free
   pair; hbpo_dataset_add and hbpo_synth_dataset fill it. 0, or -1 when d is NULL. */
HBPODEF int  hbpo_dataset_create(hbpo_dataset *d);
/* Appends a copy of one problem to d (created, zeroed or loaded). level >= 0;
   the limits are those of hbpo_dataset_load. Returns 0 or -1. */
HBPODEF int  hbpo_dataset_add(hbpo_dataset *d, const char *question, const char *answer, int level);
/* Frees everything and zeroes d; safe on a zeroed dataset and twice. */
HBPODEF void hbpo_dataset_free(hbpo_dataset *d);
/* The message of the first line skipped by a non-strict load, or "". */
HBPODEF const char *hbpo_dataset_first_skip(const hbpo_dataset *d);

/* The synthetic arithmetic task: chains of + and - whose length is the
   level, so the reasoning needed grows with it. Level 1 ("7+5=?") can be
   answered at sight; level 8 needs written intermediate steps. Texts are
   short and regular so that a tiny byte-level model can learn them.
     question  "7+5-3=?"     the first number and every operand in 1..9,
                             every intermediate result in 0..HBPO_SYNTH_MAX_VALUE
     answer    "9"
   Solutions are what the assistant writes after the "<think>\n" prefix (and
   any budget prompt line, built elsewhere), in one of three styles:
     DIRECT   "</think>\n\\boxed{9}"
     STEPS    "7+5=12\n12-3=9\n</think>\n\\boxed{9}"
     VERBOSE  the steps, then one or two redundant re-checks in the
              over-thinking style of R1 models:
              "7+5=12\n12-3=9\nwait, let me check: 7+5=12, 12-3=9\n</think>\n\\boxed{9}" */
#define HBPO_SYNTH_MAX_LEVEL 8
/* Largest intermediate result: 19 keeps the facts a model must learn to a few
   hundred (v +- b for v <= 19, b <= 9), so a tiny model learns them in minutes. */
#define HBPO_SYNTH_MAX_VALUE 19
#define HBPO_SYNTH_MAX_SOLUTION 512 /* bytes that always hold a solution, NUL included */
enum { HBPO_SYNTH_DIRECT = 0, HBPO_SYNTH_STEPS = 1, HBPO_SYNTH_VERBOSE = 2 };

/* A problem of `level` operations (1..HBPO_SYNTH_MAX_LEVEL). Operations that
   would leave 0..HBPO_SYNTH_MAX_VALUE are drawn again. question needs 2 * level + 4 bytes (20
   at most), answer 3. Returns 0, or -1 (bad level, buffer too small). */
HBPODEF int hbpo_synth_problem(hbpo_rng *r, int level, char *question, size_t qcap,
                               char *answer, size_t acap);
/* The worked solution of a synthetic `question` in `style`, written to out
   (NUL-terminated). r picks VERBOSE's number of re-checks (1 or 2) and their
   phrasings; it is not used by the other styles and may be NULL (VERBOSE
   with NULL: one re-check, the first phrasing). Returns the length, or -1
   (not a synthetic question, bad style, out too small). */
HBPODEF int hbpo_synth_solution(const char *question, int style, hbpo_rng *r, char *out, size_t cap);
/* The level (number of operations) of a synthetic question, or -1. */
HBPODEF int hbpo_synth_level(const char *question);
/* How many step lines ("7+5=12", a line of its own) a response to a
   synthetic question writes before </think> (all of it when there is none):
   0 is an answer at sight; a response that writes every step of a level-L
   chain has at least L. *others (when not NULL) gets the other non-empty
   lines before </think>: the re-checks ("wait, is it 12? yes"). */
HBPODEF int hbpo_synth_steps_written(const char *response, int *others);
/* Appends n_per_level problems of each level lo..hi to d (zeroed or loaded),
   interleaved (level lo, lo+1, .., hi, lo, ..) so that any prefix is
   balanced; the same seed gives the same problems. Returns 0 or -1. */
HBPODEF int hbpo_synth_dataset(hbpo_dataset *d, uint64_t seed, int n_per_level, int lo, int hi);
/* The model the demo (examples/tiny_hbpo.c) trains on the synthetic task and
   bench/bench_small.c times: Qwen2-shaped, 4 layers, hidden 128, FFN 352, 4
   heads (2 KV heads) of 32, tied embeddings, the byte tokenizer's 266 ids
   padded to 272, 256 positions (0.77M parameters). */
HBPODEF hbpo_model_config hbpo_synth_model_config(void);

/* ------------------------------------------------------------------------- */
/* 12. Trainer and evaluation                                                */
/* ------------------------------------------------------------------------- */

/* Data parallelism: the communicator. One run may be spread over processes
   (ranks), on one machine or many; the trainer and hbpo_evaluate talk to the
   other ranks only through this small table, at fixed points, and nothing
   else in the control flow changes. Implementations:
     hbpo_comm_init_single  one process, the default: every call is a no-op
     hbpo_comm_init_mpi     MPI_COMM_WORLD, host buffers; compiled when
                            HBPO_USE_MPI is defined (build with mpicc), so
                            plain builds never see mpi.h
     hbpo_comm_init_nccl    (hbpo_cuda.cu) NCCL for the float all-reduce on
                            device buffers, one rank per GPU; its unique id is
                            broadcast through an MPI communicator, which also
                            carries the small host operations
   Every operation is collective: all ranks call it, in the same order, with
   the same sizes; each returns 0, or -1 with a message. MPI and NCCL are the
   transports (Open MPI and NCCL do the work); this header adds only the
   table, the split of the work and the failure agreement below. */
enum { HBPO_COMM_SUM = 0, HBPO_COMM_MAX = 1, HBPO_COMM_MIN = 2 };
typedef struct hbpo_comm hbpo_comm;
struct hbpo_comm {
    const char *name; /* "single", "mpi", "nccl" */
    int   rank, size; /* this process's rank in [0, size) */
    void *impl;       /* the implementation's state (private) */
    /* In-place sum over ranks of n floats in the model's backend memory
       (host for single and mpi; device, or host staged through the device,
       for nccl). Every rank receives the same bits. */
    int (*allreduce_sum)(hbpo_comm *c, float *buf, size_t n);
    /* In-place sum, max or min (HBPO_COMM_*) of n host doubles. */
    int (*allreduce_f64)(hbpo_comm *c, double *x, int n, int op);
    /* bytes of host memory from rank root to every rank. */
    int (*broadcast)(hbpo_comm *c, void *buf, size_t bytes, int root);
    /* In place, host: rank r holds bytes [off[r], off[r+1]) of buf (off has
       size + 1 entries, equal on every rank); afterwards every rank holds all. */
    int (*allgather)(hbpo_comm *c, void *buf, const size_t *off);
    int (*barrier)(hbpo_comm *c);
    /* Ends the processes of every rank with exit status code (MPI_Abort), for
       a program whose rank failed where the others cannot learn of it; the
       single-process comm does nothing (the caller returns). Not collective. */
    void (*abort)(hbpo_comm *c, int code);
    /* Releases the implementation (hbpo_comm_free calls it). */
    void (*finish)(hbpo_comm *c);
};
/* The one-process communicator (rank 0 of 1). */
HBPODEF void hbpo_comm_init_single(hbpo_comm *c);
/* MPI_COMM_WORLD (MPI_Init_thread first, unless the program did it; argc and
   argv may be NULL). Errors return instead of aborting (MPI_ERRORS_RETURN).
   Without HBPO_USE_MPI it returns -1 and says so. */
HBPODEF int  hbpo_comm_init_mpi(hbpo_comm *c, int *argc, char ***argv);
/* Releases c (MPI_Finalize when hbpo_comm_init_mpi started MPI); c becomes
   the single-process comm. */
HBPODEF void hbpo_comm_free(hbpo_comm *c);
/* (hbpo_cuda.cu, make cuda) The NCCL communicator of rank host->rank, on
   CUDA device `device` (one rank per GPU): NCCL sums the floats (device
   buffers in place; host buffers staged through the device), the host
   communicator (MPI, borrowed, outlives c) carries NCCL's unique id and the
   small host operations. Collective. 0, or -1 with a message (hbpo_last_error()).
   Always extern, like the CUDA functions of section 7. */
extern int hbpo_comm_init_nccl(hbpo_comm *c, hbpo_comm *host, int device);
/* Collective failure agreement: every rank passes its status (0: fine).
   Returns 0 when every status is 0; otherwise -1 on every rank, with the
   message "rank R: <R's hbpo_last_error()>" (R the lowest failing rank). The
   trainer calls it before each exchange, so a rank that failed (a bad file,
   out of memory) ends the step on every rank instead of leaving the others
   waiting. */
HBPODEF int  hbpo_comm_agree(hbpo_comm *c, int status);
/* Rank's share [*lo, *hi) of n items split into size contiguous parts
   (sizes differ by at most one). */
HBPODEF void hbpo_comm_share(int n, int rank, int size, int *lo, int *hi);

/* The HBPO training loop (Algorithm 1) and the baselines the paper compares,
   on one control flow: rollouts -> rewards -> advantages -> clipped update.
     hbpo    k budget subgroups, piecewise reward (paper or released-code mode)
     grpo    0/1 reward, no budget prompt, A = (R - mean) / (std + 1e-6)
     cosine  one global length reward beta*cos(pi*n/(2*L_max)) for correct
             answers (the "uniform efficiency constraint"), no budget prompt
     l1      a target budget per rollout in the prompt (the same b_i as hbpo),
             R = 1[correct] - l1_alpha*|n_gen - b| (L1's LCPO-Exact), GRPO advantage */
enum { HBPO_ALGO_HBPO = 0, HBPO_ALGO_GRPO = 1, HBPO_ALGO_COSINE = 2, HBPO_ALGO_L1 = 3 };

typedef struct {
    int   algo;                   /* HBPO_ALGO_* */
    hbpo_budget_config budget;    /* b_1..b_k, L_max (max new tokens), alpha, beta, mode */
    int   n_rollouts;             /* per query, a multiple of k for hbpo/l1 (16) */
    int   batch_queries;          /* queries per step (64) */
    int   ppo_epochs;             /* passes over the rollouts per step (1) */
    int   mini_batches;           /* optimizer steps per epoch (1) */
    int   micro_batch;            /* sequences per forward/backward: memory, not maths (8) */
    int   rollout_batch;          /* sequences generated together (0: the whole step) */
    int   rollout_max_active;     /* of those, sequences decoding at once (cache slots:
                                     hbpo_sampler_config.max_active); 0: all. Bounds the
                                     KV cache; tokens do not depend on it */
    hbpo_policy_config policy;    /* clip 0.2 / 0.28, token-mean, KL off */
    hbpo_adamw_config  adamw;     /* lr 1e-6, clip 1.0 */
    float temperature;            /* rollout sampling temperature (1.0) */
    float top_p;                  /* rollout nucleus (1.0: off) */
    int   chat_style;             /* HBPO_CHAT_* */
    float l1_alpha;               /* l1's penalty per token (default 1/L_max) */
    uint64_t seed;                /* data order, rollout sampling, mini-batch shuffles */
    int   max_nonfinite_steps;    /* skipped non-finite steps in a row before a step fails (3) */
    int   keep_checkpoints;       /* step folders hbpo_trainer_checkpoint keeps, 0: all (3) */
    const char *tokenizer_path;   /* tokenizer.json, or a folder holding one, copied into every
                                     checkpoint so that it is a whole model (NULL: none; borrowed) */
} hbpo_train_config;

/* The paper's setting: hbpo, paper mode, b = {512, 1024, 2048, 2560}, L_max
   4096, n = 16, 64 queries, one epoch and one mini-batch, lr 1e-6, clip 0.2 /
   0.28, temperature 1.0, ChatML. */
HBPODEF hbpo_train_config hbpo_train_config_default(void);
/* 0 when usable; else -1 and a message naming the field. */
HBPODEF int hbpo_train_config_check(const hbpo_train_config *c);

/* The reward of one rollout under the configured algorithm (budget: the
   rollout's b, <= 0 when it has none). */
HBPODEF float hbpo_rollout_reward(const hbpo_train_config *c, int outcome, int n_gen, int budget);
/* The budget of rollout j (0-based) of a query: subgroup j / (n/k) gets b_(j/(n/k)),
   equal contiguous subgroups; 0 for grpo and cosine. */
HBPODEF int hbpo_rollout_budget(const hbpo_train_config *c, int j);
/* The text after the reasoning tag for a rollout with budget b: the budget
   prompt and a newline, or "" when b <= 0. Returns the length or -1. */
HBPODEF int hbpo_rollout_suffix(const hbpo_train_config *c, int budget, char *out, size_t cap);

/* What one step did, averaged over its rollouts (per step, as verl logs it). */
typedef struct {
    long   step;                       /* 1-based number of this step */
    int    n_rollouts;                 /* rollouts in the step */
    double reward_mean, accuracy;      /* mean R; share judged correct */
    double no_answer;                  /* share without a \boxed answer */
    double ngen_mean;                  /* mean n_gen */
    double ngen_sub[HBPO_MAX_BUDGETS]; /* mean n_gen per budget subgroup */
    double acc_sub[HBPO_MAX_BUDGETS];  /* accuracy per budget subgroup */
    double truncated;                  /* share stopped by L_max */
    double adv_mean, adv_abs;          /* mean and mean |A| */
    double pg_loss, clipfrac, approx_kl, entropy; /* token means over the update */
    double grad_norm;                  /* before clipping (last optimizer step) */
    double lr;
    double t_rollout, t_score, t_update; /* seconds */
    int    nonfinite;                  /* 1: a non-finite loss or gradient norm; the update
                                          was skipped (grads zeroed) */
    long   skipped_steps;              /* steps skipped so far in the run, this one included */
} hbpo_step_metrics;

/* The rollouts of the last step, kept for logging and tests. Rollout r is
   rollout j = r % n of query r / n. */
typedef struct {
    int    count, cap;        /* rollouts, allocated */
    int   *query;             /* (count) index into the dataset */
    int   *budget;            /* (count) b of the rollout (0: none) */
    int   *prompt_len;        /* (count) tokens of the prompt prefix */
    int   *n_gen;             /* (count) generated tokens (the final EOS included) */
    int   *outcome;           /* (count) HBPO_CORRECT / HBPO_WRONG / HBPO_NO_ANSWER */
    float *reward, *adv;      /* (count) */
    int   *tokens;            /* (count, max_len) prompt then response, the rest -1 */
    int    max_len;           /* prompt cap + L_max */
} hbpo_rollouts;

typedef struct hbpo_trainer hbpo_trainer;
/* A test and fault-injection hook, called with the name of the stage just
   done: during a save "model" (model.safetensors and config.json written),
   "trainer_state.bin", "tokenizer.json", "manifest.json", "published" (the
   folder renamed into place); during a step "rollouts" (generated and
   scored, before the update) and "update", before each optimizer step with
   the mini-batch's gradients in t->model->grads (a test may poison them).
   A hook that ends the process simulates a crash at that point. */
typedef void (*hbpo_trainer_hook)(void *user, const char *stage, const hbpo_trainer *t);

struct hbpo_trainer {
    hbpo_train_config     cfg;
    hbpo_model           *model;   /* not owned */
    const hbpo_tokenizer *tok;     /* not owned */
    const hbpo_dataset   *data;    /* not owned */
    hbpo_rng              rng;     /* data order, mini-batch shuffles; saved in checkpoints
                                      (rollouts draw from (seed, step): hbpo_trainer_step) */
    long                  step;    /* steps completed */
    long                  epoch;   /* passes over the data started */
    long                  data_pos; /* next position in order[] */
    int                  *order;   /* (data->n) this epoch's shuffled order */
    int                   eos[HBPO_MAX_EOS], n_eos; /* stop tokens found in the tokenizer */
    int                   think_end;  /* id of "</think>" or -1 */
    hbpo_rollouts         last;    /* the last step's rollouts (all ranks') */
    hbpo_comm            *comm;    /* not owned; NULL: one process (hbpo_trainer_set_comm) */
    long                  skipped_steps;  /* steps whose update was skipped (non-finite) */
    long                  nonfinite_run;  /* of them, the last ones in a row */
    hbpo_trainer_hook     hook;    /* NULL, or set after hbpo_trainer_init (tests) */
    void                 *hook_user;
};

/* The end-of-turn tokens of the chat formats that tok has (<|im_end|>,
   <|endoftext|>, DeepSeek's end of sentence), written to eos (room for 3);
   returns how many. The trainer and hbpo_evaluate stop generation on them. */
HBPODEF int hbpo_chat_stop_tokens(const hbpo_tokenizer *tok, int *eos);
/* The ids of a prompt in a fresh array (*ids, freed with hbpo_free): the
   chat format of style around question with suffix after the reasoning tag
   (hbpo_chat_prompt), or with HBPO_CHAT_NONE the question as it is.
   Returns how many, or -1 (also when it encodes to no tokens). */
#define HBPO_CHAT_NONE 2
HBPODEF int hbpo_chat_encode(const hbpo_tokenizer *tok, int style, const char *question,
                             const char *suffix, int **ids);
/* Why a response of n_gen tokens (resp) ended: HBPO_STOP_EOS when its last
   token is one of eos[0..n_eos), else HBPO_STOP_LENGTH when n_gen reached
   max_new_tokens, else HBPO_STOP_CONTEXT (the model's positions ran out). */
enum { HBPO_STOP_EOS = 0, HBPO_STOP_LENGTH = 1, HBPO_STOP_CONTEXT = 2 };
HBPODEF int hbpo_stop_reason(const int *resp, int n_gen, const int *eos, int n_eos,
                             int max_new_tokens);

/* Binds a trainer to a model, tokenizer and dataset (all borrowed). */
HBPODEF int  hbpo_trainer_init(hbpo_trainer *t, const hbpo_train_config *c, hbpo_model *m,
                               const hbpo_tokenizer *tok, const hbpo_dataset *d);
HBPODEF void hbpo_trainer_free(hbpo_trainer *t);
/* Spreads the trainer's steps over the ranks of comm (borrowed; NULL: one
   process). Every rank runs the same trainer on the same config, model,
   tokenizer and dataset; see hbpo_trainer_step. */
HBPODEF void hbpo_trainer_set_comm(hbpo_trainer *t, hbpo_comm *comm);
/* One step of Algorithm 1: batch_queries queries from the data (in a seeded
   order, epoch by epoch), n rollouts each generated together, rewards and
   advantages per query, the clipped update. metrics may be NULL.
   A mini-batch whose loss or gradient norm is not finite (on any rank)
   makes no update (its gradients are zeroed, the step's later updates are
   skipped too); the step still counts, with metrics->nonfinite = 1. After
   max_nonfinite_steps such steps in a row the step returns -1 (metrics
   filled) and the run should stop: the last checkpoint saved holds the last
   good weights.
   Randomness: rollout j of query q (0-based in the step) samples from stream
   q*n + j of a seed made of (seed, step), so a rollout does not depend on
   which rollouts are generated with it, nor on rollout_batch or
   rollout_max_active (log-probs may differ in the last bits, as hbpo_generate
   says).
   With a comm of N ranks, whole queries are split across the ranks (a
   query's n rollouts stay on one rank, so the hierarchical advantage is
   local); each rank generates its share, the rollouts are gathered so that
   every rank holds all of them (t->last, the metrics), each rank back-
   propagates its share, the gradients are summed across ranks with the
   token-mean weights of the whole batch, the clip uses the global norm and
   every rank takes the same AdamW step. So 1 and N ranks draw the same
   rollouts and rewards and reach the same parameters up to the float
   rounding of the sums. A failure on any rank fails the step on every rank
   (hbpo_comm_agree), with the failed rank named. */
HBPODEF int  hbpo_trainer_step(hbpo_trainer *t, hbpo_step_metrics *metrics);
/* Checkpoints are whole or absent. hbpo_trainer_save writes the folder dir
   as DIR.tmp: the model (config.json + model.safetensors, F32),
   trainer_state.bin (step, epoch, data position and order, RNG state, AdamW
   step and moments, skipped-step counts, a fingerprint of the config), a copy
   of cfg.tokenizer_path as tokenizer.json, and last manifest.json (the step,
   and the size and FNV-1a 64 checksum of every file); each file fsync'ed,
   then DIR.tmp is renamed to DIR in one step (an older DIR is replaced).
   Resuming restores all of it into a trainer initialised with the same
   config, model shape and dataset, so the run continues exactly
   (bit-identical metrics in a deterministic build). */
HBPODEF int  hbpo_trainer_save(const hbpo_trainer *t, const char *dir);
/* Saves OUT/checkpoint-NNNNNN (NNNNNN = t->step, 6 digits or more) with
   hbpo_trainer_save, then keeps only the newest cfg.keep_checkpoints of them
   (hbpo_checkpoint_prune). path (may be NULL) receives the folder's path. */
HBPODEF int  hbpo_trainer_checkpoint(const hbpo_trainer *t, const char *out_dir, char *path,
                                     size_t cap);
/* dir is a checkpoint folder, or a run folder (OUT): then the newest whole
   checkpoint-NNNNNN in it. Every file is checked against the manifest and the
   state against this trainer (config fingerprint, dataset size, model shape)
   before anything changes: on error the trainer and model are as they were.
   A folder without manifest.json (hbpo 0.2's OUT/checkpoint) is refused. */
HBPODEF int  hbpo_trainer_resume(hbpo_trainer *t, const char *dir);
/* 0 when dir is a whole checkpoint: manifest.json names the step and every
   file it lists has the recorded size and checksum. *step (may be NULL) gets
   the step. Otherwise -1 and what is wrong. */
HBPODEF int  hbpo_checkpoint_verify(const char *dir, long *step);
/* The newest whole checkpoint-NNNNNN folder of out_dir (incomplete and
   corrupt ones are passed over) into path: 1 found, 0 none (the message says
   why, e.g. the newest one's defect), -1 an error. */
HBPODEF int  hbpo_checkpoint_latest(const char *out_dir, char *path, size_t cap);
/* Removes all but the newest keep checkpoint-NNNNNN folders of out_dir and
   any leftover checkpoint-NNNNNN.tmp / .old folder of a crashed save
   (keep 0: all of them). Nothing else in out_dir is touched. */
HBPODEF int  hbpo_checkpoint_prune(const char *out_dir, int keep);
/* One JSON object (one line, no newline) of the metrics; returns its length like snprintf. */
HBPODEF int  hbpo_metrics_json(const hbpo_step_metrics *m, int k, char *out, size_t cap);

/* Supervised fine-tuning on (question, completion) pairs: the chat prompt
   (with suffixes[i] after the reasoning tag; suffixes may be NULL: none) then
   the completion and the tokenizer's end-of-turn token; loss on the
   completion tokens only. One AdamW step over the n pairs (micro-batched);
   *loss (may be NULL) = mean cross-entropy per token. */
HBPODEF int hbpo_sft_step(hbpo_model *m, const hbpo_tokenizer *tok, int chat_style, int n,
                          const char *const *questions, const char *const *suffixes,
                          const char *const *completions, int micro_batch,
                          const hbpo_adamw_config *o, float *loss);

/* Evaluation: pass@1 and tokens over a dataset, overall and per level
   (levels above HBPO_EVAL_MAX_LEVEL count in the last bucket). */
#define HBPO_EVAL_MAX_LEVEL 8
typedef struct {
    int    n, correct, no_answer, truncated;
    double tokens;       /* sum of n_gen */
    double think_tokens; /* sum of tokens before the </think> tag (all, when it never closes) */
    double reflections;  /* sum of reflection words (hbpo_count_reflections) */
} hbpo_eval_bucket;
typedef struct {
    hbpo_eval_bucket all;
    hbpo_eval_bucket level[HBPO_EVAL_MAX_LEVEL + 1]; /* [0]: unknown level */
} hbpo_eval_result;
/* Generates one response per problem (batch at a time) with sampler s
   (eos ids from the tokenizer are added), after the chat prompt with suffix
   ("" natural, HBPO_EFFICIENCY_PROMPT efficient), and judges it. Problem i
   samples from stream i of s->seed, so batch changes no response.
   each (may be NULL) is called per problem with its response text. */
typedef void (*hbpo_eval_callback)(void *user, int index, const char *response, int outcome,
                                   int n_gen);
HBPODEF int hbpo_evaluate(hbpo_model *m, const hbpo_tokenizer *tok, const hbpo_dataset *d,
                          int chat_style, const char *suffix, const hbpo_sampler_config *s,
                          int batch, hbpo_eval_result *r, hbpo_eval_callback each, void *user);
/* hbpo_evaluate spread over the ranks of comm (NULL: one process): each round
   of batch * N problems is split across the ranks, generated, gathered and
   judged in order on every rank, so every rank gets the whole result and
   `each` is called on every rank for every problem. Problem i samples from
   stream i of s->seed, so the result does not depend on N or batch (up to
   the float rounding of batched products). */
HBPODEF int hbpo_evaluate_comm(hbpo_comm *comm, hbpo_model *m, const hbpo_tokenizer *tok,
                               const hbpo_dataset *d, int chat_style, const char *suffix,
                               const hbpo_sampler_config *s, int batch, hbpo_eval_result *r,
                               hbpo_eval_callback each, void *user);
/* Reflection words in a response, as the paper's analysis counts them:
   "wait", "alternatively", "hmm", "but", "however", "verify", "check"
   (whole words, any case). */
HBPODEF int hbpo_count_reflections(const char *text);
/* The result as one JSON object; returns its length like snprintf. */
HBPODEF int hbpo_eval_json(const hbpo_eval_result *r, char *out, size_t cap);

/* ---- the miniature of the paper (make base, make run, make study) ----
   The synthetic task scaled like the paper's setting. The paper's base
   model (R1-Distill) over-thinks on every problem, its L_max (4096) is
   about half the base's natural length (7921), and its budgets are 1/8,
   1/4, 1/2 and 5/8 of L_max. Here:
     base solutions  hbpo_synth_overthink: a quarter answer at sight, three
                     quarters write the steps; then 0..4 redundant answer
                     re-checks (~17 tokens each) whose number does not depend
                     on the level, fewer after the efficiency prompt or a small
                     budget (the base's prompt prior). Mean natural length
                     about 53 tokens, above L_max.
     L_max 48, b = {6, 12, 24, 30}, alpha 1/L_max, beta 4 (hbpo_synth_train_config)
   Levels 1-4; with the byte tokenizer's `\boxed{` token the minimal reliable
   solution is 7 tokens at level 1 (at sight, the end of the turn included)
   and 35 at level 4 (four steps). Below L_max the budgets bind, as the
   paper's do: the small ones pay for answers at sight on the hard levels
   (tools/recheck_gap.py), so the best policy depends on the budget. Until
   stop 26 L_max was 64 (b = {8, 16, 32, 40}), above the base's length, and
   the length did not follow the budget (docs/demo.md). */
#define HBPO_SYNTH_LEVELS 4      /* levels 1..4 */
#define HBPO_SYNTH_L_MAX 48      /* L_max, the rollouts' max new tokens */
#define HBPO_SYNTH_EVAL_MAX 128  /* max new tokens in evaluation (the base's longest solution fits) */
#define HBPO_SYNTH_RECHECKS 4    /* a base solution re-checks its answer 0..4 times */
#ifndef HBPO_SYNTH_PROMPT_PRIOR
#define HBPO_SYNTH_PROMPT_PRIOR 1 /* 0: the base's solutions ignore the prompt line */
#endif

/* The base model's solution of a synthetic question after the prompt line of
   `setting` (0..HBPO_SYNTH_SETTINGS-1, below): with probability 1/4 the
   answer at sight (DIRECT), else the steps (STEPS); then 0..4 re-checks of
   the final answer ("wait, is it 9? yes\n"), their number and phrasings drawn
   from r independently of the level. The prompt moves the base a little, as
   R1-Distill's instruction tuning moves it (HBPO_SYNTH_PROMPT_PRIOR):
   after the efficiency prompt, at sight with probability 1/2 and 0..1
   re-checks; after a budget prompt b, 0..round(4 b / 30) re-checks (30 the
   largest budget).
   r is required. Returns the length, or -1. */
HBPODEF int hbpo_synth_overthink(const char *question, int setting, hbpo_rng *r, char *out,
                                 size_t cap);

/* The methods the study compares, on one base, data and number of steps. */
enum {
    HBPO_SYNTH_HBPO = 0,      /* HBPO, paper mode, 4 budgets */
    HBPO_SYNTH_HBPO_OFFICIAL, /* HBPO, released-code mode, 4 budgets */
    HBPO_SYNTH_GRPO,          /* 0/1 reward, no length term */
    HBPO_SYNTH_COSINE,        /* the uniform cosine length reward */
    HBPO_SYNTH_L1,            /* L1 (LCPO-Exact) on the 4 budgets */
    HBPO_SYNTH_HBPO_K1,       /* HBPO with 1 budget {24} (L_max / 2) */
    HBPO_SYNTH_HBPO_K2,       /* HBPO with 2 budgets {12, 30} */
    HBPO_SYNTH_HBPO_CENTERED, /* HBPO, paper mode, A_intra centred (intra_centered; not the paper's) */
    HBPO_SYNTH_N_METHODS
};
/* A short name ("hbpo", "hbpo-official", "grpo", "cosine", "l1", "hbpo-k1",
   "hbpo-k2", "hbpo-centered"), or NULL; hbpo_synth_method_parse is its inverse (-1: unknown). */
HBPODEF const char *hbpo_synth_method_name(int method);
HBPODEF int hbpo_synth_method_parse(const char *name);
/* The training configuration of a method on the miniature: L_max 48, the
   budgets above, 4 queries x 8 rollouts per step, two mini-batches (two
   AdamW steps per step), lr 1e-5, no weight decay, rollouts at temperature
   0.6 (the paper: lr 1e-6, T 1.0; see the implementation).
   Returns 0, or -1 (unknown method). */
HBPODEF int hbpo_synth_train_config(int method, uint64_t seed, hbpo_train_config *c);

/* The base model's SFT (make base): steps of 32 hbpo_synth_overthink
   solutions of levels 1..4; after <think> each prompt has nothing (1/3), the
   efficiency prompt (1/6) or a budget prompt (paper or released-code text,
   b of the 4 budgets), and the solution follows hbpo_synth_overthink's
   prompt prior. lr warmed up over 200 steps to 1e-3, then a cosine to 1e-4;
   no weight decay. A progress line every 100 steps when progress is set.
   Deterministic for a seed, on any thread count (OpenMP builds). 0 or -1. */
HBPODEF int hbpo_synth_sft(hbpo_model *m, const hbpo_tokenizer *tok, uint64_t seed, int steps,
                           int progress);
/* Saves a model as a whole checkpoint folder: the model (F32), tokenizer.json
   copied from tokenizer_path, a trainer state without optimizer moments, and
   the manifest of sizes and FNV-1a checksums that hbpo_checkpoint_verify
   checks. The model's AdamW moments are dropped. 0 or -1. */
HBPODEF int hbpo_synth_save_base(hbpo_model *m, const hbpo_tokenizer *tok,
                                 const char *tokenizer_path, const char *dir);
/* Verifies dir (hbpo_checkpoint_verify), then loads its model and tokenizer
   (*tok, freed with hbpo_tokenizer_free); a damaged folder is refused before
   anything is loaded. 0 or -1. */
HBPODEF int hbpo_synth_load_base(const char *dir, const hbpo_backend *be, hbpo_model *m,
                                  hbpo_tokenizer **tok);

/* The evaluation settings: natural (nothing after <think>), the efficiency
   prompt, and each of the 4 budgets' prompts (the method's own budget text:
   released-code mode for hbpo-official, else the paper's). */
#define HBPO_SYNTH_SETTINGS 6
/* "natural", "efficient", "b8", "b16", "b32", "b40"; NULL when out of range. */
HBPODEF const char *hbpo_synth_setting_name(int setting);
/* The budget of a setting (0 for natural and efficient). */
HBPODEF int hbpo_synth_setting_budget(int setting);
/* The prompt line of a setting for a method. Returns its length or -1. */
HBPODEF int hbpo_synth_setting_suffix(int setting, int method, char *out, size_t cap);

/* Per-problem evaluation records as JSON Lines: pass hbpo_eval_log_record
   and a hbpo_eval_log as hbpo_evaluate's callback and user; each problem
   becomes one line {"run":..,"setting":..,"i":..,"level":..,"outcome":..,
   "n_gen":..,"response":..}. hbpo_eval_log_sum adds the records of a file
   whose run and setting match into r (n, correct, no_answer, tokens, and
   truncated as n_gen >= max_new_tokens), so that every table can be
   recomputed from the records alone. It returns the number of records
   added, or -1. */
typedef struct {
    void               *file;    /* FILE* open for writing */
    const hbpo_dataset *data;    /* the problems evaluated (their levels) */
    const char         *run;     /* e.g. "hbpo/s1" (no quote or backslash) */
    const char         *setting; /* e.g. "natural" (no quote or backslash) */
    int                 failed;  /* set when a write failed */
} hbpo_eval_log;
HBPODEF void hbpo_eval_log_record(void *user, int index, const char *response, int outcome, int n_gen);
HBPODEF int  hbpo_eval_log_sum(const char *path, const char *run, const char *setting,
                               int max_new_tokens, hbpo_eval_result *r);

/* An SVG chart of series drawn as lines (or markers only), with optional
   error bars: the demo's and the study's figures. With xticks, x = 1..n_xticks
   are labelled with them; otherwise the x axis is numeric. 0 or -1. */
typedef struct {
    const char   *label;
    const char   *color;   /* e.g. "#c0392b" */
    int           dashed;  /* 1: a dashed line */
    int           points;  /* 1: markers only, no line */
    int           n;
    const double *x, *y;   /* (n) */
    const double *err;     /* (n) +- error bars, or NULL */
} hbpo_svg_series;
HBPODEF int hbpo_svg_chart(const char *path, const char *title, const char *xlabel,
                           const char *ylabel, const hbpo_svg_series *s, int n_series,
                           const char *const *xticks, int n_xticks);
/* One run of the miniature: loads the base (hbpo_synth_load_base), trains
   `method` for `steps` steps on the fixed training set (2,000 problems per
   level), writing one hbpo_metrics_json line per step to OUT/metrics.jsonl,
   then evaluates the model on the fixed held-out set (eval_n problems per
   level, T 0.6, top-p 0.95, HBPO_SYNTH_EVAL_MAX new tokens) in settings
   0..n_settings-1, with per-problem records in OUT/eval.jsonl (run "NAME/sSEED",
   or "base" when method is -1: no training). res (may be NULL) receives the
   n_settings results. Deterministic for a seed, on any thread count. 0 or -1. */
typedef struct {
    const char *base_dir;   /* the committed base model folder */
    const char *out_dir;    /* created (one level) */
    int         method;     /* HBPO_SYNTH_*, or -1: the base model itself */
    uint64_t    seed;
    int         steps;
    int         eval_n;     /* held-out problems per level */
    int         n_settings; /* 1..HBPO_SYNTH_SETTINGS */
    int         progress;   /* progress lines with an ETA */
    const hbpo_backend *be; /* where the model runs; NULL: the CPU */
    /* The RL scale; 0 keeps hbpo_synth_train_config's (lr 1e-5, 4 queries x
       8 rollouts a step, rollouts at T 0.6), so a zeroed config is the
       miniature's. */
    float       lr;
    int         batch_queries;
    int         n_rollouts;
    float       temperature; /* of the training rollouts (evaluation stays at 0.6) */
} hbpo_synth_run_config;
HBPODEF int hbpo_synth_run(const hbpo_synth_run_config *rc, hbpo_eval_result *res);
/* What hbpo_synth_run trains rc->method with: hbpo_synth_train_config, then
   rc's scale; checked (hbpo_train_config_check). 0 or -1. */
HBPODEF int hbpo_synth_run_train_config(const hbpo_synth_run_config *rc, hbpo_train_config *c);
/* The run's name in records and folders: "base", or "NAME/sSEED" (with '-'
   for '/' when folder is set). */
HBPODEF int hbpo_synth_run_name(int method, uint64_t seed, int folder, char *out, size_t cap);



/* ------------------------------------------------------------------------- */
/* 13. I/O: files, JSON, JSON Lines                                          */
/* ------------------------------------------------------------------------- */

/* Reads a whole file (at most max_bytes; 0 = 1 GiB) into a NUL-terminated
   buffer that the caller frees with hbpo_free. Returns NULL on error. */
HBPODEF char *hbpo_read_file(const char *path, size_t max_bytes, size_t *len);
HBPODEF void  hbpo_free(void *p);
/* Creates the folder dir (one level) unless it exists. 0, or -1 with a message. */
HBPODEF int   hbpo_make_dir(const char *dir);
/* Writes len bytes to path through path.tmp, fsync and a rename, so that a
   reader sees the old file or the new one, never half of one. 0 or -1. */
HBPODEF int   hbpo_write_file(const char *path, const void *data, size_t len);

typedef enum {
    HBPO_JSON_NULL = 0, HBPO_JSON_FALSE, HBPO_JSON_TRUE, HBPO_JSON_NUMBER,
    HBPO_JSON_STRING, HBPO_JSON_ARRAY, HBPO_JSON_OBJECT
} hbpo_json_type;

typedef struct hbpo_json hbpo_json;
struct hbpo_json {
    hbpo_json_type type;
    const char *key;     /* member name when the parent is an object, else NULL */
    size_t      key_len; /* its length in bytes (a name may hold an escaped NUL) */
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

HBPODEF int  hbpo_jsonl_open(hbpo_jsonl *r, const char *path); /* path "-": standard input */
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

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef HBPO_USE_OPENBLAS
#include <cblas.h>
#endif
#ifdef HBPO_USE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif
#ifdef HBPO_USE_MPI
#define OMPI_SKIP_MPICXX 1 /* the C API only, also from C++ */
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
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

/* x rounded up to a multiple of m (x >= 0, m > 0). */
#define HBPO__ROUND_UP(x, m) (((x) + (m) - 1) / (m) * (m))

/* HBPO__SPAN marks the CPU backend's element-wise inner loops (spans of a
   row or a block, never an OpenMP region: clang does not clone those). On
   x86-64 Linux with GCC >= 11 or clang >= 14, each is compiled twice, for
   x86-64-v3 (AVX2, FMA: 8 lanes, fused multiply-adds) and for the baseline,
   and the loader picks the one this CPU runs (target_clones, an ifunc).
   The baseline build the compiler makes by default is SSE2 only, and there
   the element-wise work of a small model cost as much as its products.
   Results are deterministic for a given CPU, as OpenBLAS's kernels are.
   Define HBPO_NO_TARGET_CLONES to build one version. */
#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__) && !defined(__CUDACC__) && \
    !defined(HBPO_NO_TARGET_CLONES) &&                                                       \
    ((defined(__clang__) && __clang_major__ >= 14) || (!defined(__clang__) && __GNUC__ >= 11))
#define HBPO__SPAN __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define HBPO__SPAN
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

/* Formatted into a local buffer first: the arguments may quote the current
   message itself (hbpo_set_error("...: %s", hbpo_last_error())). */
HBPODEF int hbpo_set_error(const char *fmt, ...) {
    char buf[sizeof hbpo__err];
    va_list ap;
    if (!fmt) return hbpo__fail("hbpo_set_error: NULL format");
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    memcpy(hbpo__err, buf, sizeof buf);
    return -1;
}

/* The current message copied into buf (to be quoted in a new one). */
static const char *hbpo__error_copy(char *buf, size_t cap) {
    size_t n = strlen(hbpo__err);
    if (n >= cap) n = cap - 1;
    memcpy(buf, hbpo__err, n);
    buf[n] = 0;
    return buf;
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

HBPODEF int hbpo_budget_config_check(const hbpo_budget_config *c) {
    int i;
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
    else if (c->intra_centered != 0 && c->intra_centered != 1)
        snprintf(msg, sizeof msg, "intra_centered = %d: must be 0 or 1", c->intra_centered);
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
    return msg[0] ? hbpo__fail("%s", msg) : 0;
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
    if (hbpo_budget_config_check(c) != 0) return 0.0f;
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
   and treats a group of one as mean 0, std 1 (A = R / (1 + 1e-6)).
   A_intra is never positive (every reward is at most f2 of its budget), so
   unlike A_inter it does not average to zero over a query: it lowers the
   likelihood of the sampled responses on the whole. With intra_centered (not
   the paper's) its mean over the query's rollouts is subtracted, which keeps
   every difference between rollouts and the mean advantage at zero. */
HBPODEF void hbpo_advantages(const hbpo_budget_config *c, int n, const float *reward,
                             const int *budget, float *adv) {
    int j, official;
    double w, center = 0.0;
    if (hbpo__adv_args("hbpo_advantages", n, reward, adv) != 0) return;
    if (!budget || hbpo_budget_config_check(c) != 0) {
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
    if (c->intra_centered)
        for (j = 0; j < n; j++) center += hbpo_intra_advantage(c, n, reward, budget, budget[j]) / n;
    for (j = 0; j < n; j++)
        adv[j] = (float)(adv[j] + w * (hbpo_intra_advantage(c, n, reward, budget, budget[j]) - center));
}

HBPODEF double hbpo_budget_crossing(const hbpo_budget_config *c, int b_lo, int b_hi) {
    double lo = b_lo, hi = b_hi, d_lo, d_hi;
    int it;
    if (hbpo_budget_config_check(c) != 0) return -1.0;
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

HBPODEF int hbpo_policy_config_check(const hbpo_policy_config *c) {
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
    if (hbpo_policy_config_check(c) != 0) return -1;
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

/* HBPO__OPS(n) adds n steps to the counter of HBPO_COUNT_OPS. Every loop over
   outside input whose length is unbounded ticks it, so a test can measure the
   work of an input and of one twice its size without a clock. */
#ifdef HBPO_COUNT_OPS
static HBPO__THREAD_LOCAL unsigned long long hbpo__ops;
#define HBPO__OPS(n) (hbpo__ops += (unsigned long long)(n))
HBPODEF unsigned long long hbpo_op_count(void) { return hbpo__ops; }
#else
#define HBPO__OPS(n) ((void)sizeof(n)) /* not evaluated */
#endif

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

/* The start of the last occurrence of pat (patlen bytes) in text[0..len)
   that begins before `before`. It searches backwards from `before`, so the
   caller's walk from the last candidate to the first reads the text once
   (a forward strstr from the start for every rejected candidate made 252 KB
   of "\boxedx" take seconds). */
static int hbpo__ans_rfind(const char *text, size_t len, size_t before, const char *pat,
                           size_t patlen, size_t *at) {
    size_t i;
    if (len < patlen) return 0;
    if (before > len - patlen + 1) before = len - patlen + 1;
    for (i = before; i-- > 0;) {
        HBPO__OPS(1);
        if (text[i] == pat[0] && memcmp(text + i, pat, patlen) == 0) {
            *at = i;
            return 1;
        }
    }
    return 0;
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
    HBPO__OPS(i - at);
    if (text[i] == '{') {
        for (j = i; text[j]; j++) {
            if (text[j] == '{') depth++;
            else if (text[j] == '}' && --depth == 0) {
                *b = i + 1;
                *e = j;
                HBPO__OPS(j - i);
                return 1;
            }
        }
        return -1;
    }
    if (!spaced || i == at + cmdlen) return 0;
    for (j = i; text[j] && text[j] != '$'; j++) {}
    HBPO__OPS(j - i);
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
    size_t at, b = 0, e = 0, before, len, tlen;
    int c, r = 0;
    if (!text) return hbpo__fail("hbpo_extract_boxed: text is NULL");
    tlen = strlen(text);
    for (c = 0; c < 2 && r != 1; c++) {
        before = tlen;
        while (hbpo__ans_rfind(text, tlen, before, cmd[c], strlen(cmd[c]), &at)) {
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

/* What the code below reproduces, piece by piece (tokenizers 0.23, checked
   against it on the corpus of tools/gen_tokenizer_fixture.py):
     AddedVocabulary: added tokens are found with leftmost-longest matching,
       tokens with "normalized": false in the raw text, the others in each
       normalized piece between them;
     normalizers::NFC on each piece between added tokens;
     pre_tokenizers::Split with the Qwen2 regex (behavior Isolated): written
       out by hand below (hbpo__tok_pretoken), alternative by alternative;
     pre_tokenizers::ByteLevel (use_regex false): bytes -> characters;
     models::BPE: merges applied lowest rank first, leftmost first on ties;
     decoders::ByteLevel: characters -> bytes, then String::from_utf8_lossy.
   The Unicode tables are written by hand (the single-header design requires
   it: no ICU, no PCRE) and generated by tools/gen_unicode_tables.py. */

/* ---- Unicode: classes for the regex, NFC ---- */

#include <limits.h> /* INT_MAX */

/* BEGIN tables generated by tools/gen_unicode_tables.py; do not edit by hand. */
/* \p{L} (1) and \p{N} (2) as ranges lo, hi, class: Unicode 16.0 (what
   Oniguruma in tokenizers 0.23 uses), from unicodedataplus 16.0.0. */
static const uint32_t hbpo__uni_class[821][3] = {
    {0x30,0x39,2}, {0x41,0x5A,1}, {0x61,0x7A,1}, {0xAA,0xAA,1},
    {0xB2,0xB3,2}, {0xB5,0xB5,1}, {0xB9,0xB9,2}, {0xBA,0xBA,1},
    {0xBC,0xBE,2}, {0xC0,0xD6,1}, {0xD8,0xF6,1}, {0xF8,0x2C1,1},
    {0x2C6,0x2D1,1}, {0x2E0,0x2E4,1}, {0x2EC,0x2EC,1}, {0x2EE,0x2EE,1},
    {0x370,0x374,1}, {0x376,0x377,1}, {0x37A,0x37D,1}, {0x37F,0x37F,1},
    {0x386,0x386,1}, {0x388,0x38A,1}, {0x38C,0x38C,1}, {0x38E,0x3A1,1},
    {0x3A3,0x3F5,1}, {0x3F7,0x481,1}, {0x48A,0x52F,1}, {0x531,0x556,1},
    {0x559,0x559,1}, {0x560,0x588,1}, {0x5D0,0x5EA,1}, {0x5EF,0x5F2,1},
    {0x620,0x64A,1}, {0x660,0x669,2}, {0x66E,0x66F,1}, {0x671,0x6D3,1},
    {0x6D5,0x6D5,1}, {0x6E5,0x6E6,1}, {0x6EE,0x6EF,1}, {0x6F0,0x6F9,2},
    {0x6FA,0x6FC,1}, {0x6FF,0x6FF,1}, {0x710,0x710,1}, {0x712,0x72F,1},
    {0x74D,0x7A5,1}, {0x7B1,0x7B1,1}, {0x7C0,0x7C9,2}, {0x7CA,0x7EA,1},
    {0x7F4,0x7F5,1}, {0x7FA,0x7FA,1}, {0x800,0x815,1}, {0x81A,0x81A,1},
    {0x824,0x824,1}, {0x828,0x828,1}, {0x840,0x858,1}, {0x860,0x86A,1},
    {0x870,0x887,1}, {0x889,0x88E,1}, {0x8A0,0x8C9,1}, {0x904,0x939,1},
    {0x93D,0x93D,1}, {0x950,0x950,1}, {0x958,0x961,1}, {0x966,0x96F,2},
    {0x971,0x980,1}, {0x985,0x98C,1}, {0x98F,0x990,1}, {0x993,0x9A8,1},
    {0x9AA,0x9B0,1}, {0x9B2,0x9B2,1}, {0x9B6,0x9B9,1}, {0x9BD,0x9BD,1},
    {0x9CE,0x9CE,1}, {0x9DC,0x9DD,1}, {0x9DF,0x9E1,1}, {0x9E6,0x9EF,2},
    {0x9F0,0x9F1,1}, {0x9F4,0x9F9,2}, {0x9FC,0x9FC,1}, {0xA05,0xA0A,1},
    {0xA0F,0xA10,1}, {0xA13,0xA28,1}, {0xA2A,0xA30,1}, {0xA32,0xA33,1},
    {0xA35,0xA36,1}, {0xA38,0xA39,1}, {0xA59,0xA5C,1}, {0xA5E,0xA5E,1},
    {0xA66,0xA6F,2}, {0xA72,0xA74,1}, {0xA85,0xA8D,1}, {0xA8F,0xA91,1},
    {0xA93,0xAA8,1}, {0xAAA,0xAB0,1}, {0xAB2,0xAB3,1}, {0xAB5,0xAB9,1},
    {0xABD,0xABD,1}, {0xAD0,0xAD0,1}, {0xAE0,0xAE1,1}, {0xAE6,0xAEF,2},
    {0xAF9,0xAF9,1}, {0xB05,0xB0C,1}, {0xB0F,0xB10,1}, {0xB13,0xB28,1},
    {0xB2A,0xB30,1}, {0xB32,0xB33,1}, {0xB35,0xB39,1}, {0xB3D,0xB3D,1},
    {0xB5C,0xB5D,1}, {0xB5F,0xB61,1}, {0xB66,0xB6F,2}, {0xB71,0xB71,1},
    {0xB72,0xB77,2}, {0xB83,0xB83,1}, {0xB85,0xB8A,1}, {0xB8E,0xB90,1},
    {0xB92,0xB95,1}, {0xB99,0xB9A,1}, {0xB9C,0xB9C,1}, {0xB9E,0xB9F,1},
    {0xBA3,0xBA4,1}, {0xBA8,0xBAA,1}, {0xBAE,0xBB9,1}, {0xBD0,0xBD0,1},
    {0xBE6,0xBF2,2}, {0xC05,0xC0C,1}, {0xC0E,0xC10,1}, {0xC12,0xC28,1},
    {0xC2A,0xC39,1}, {0xC3D,0xC3D,1}, {0xC58,0xC5A,1}, {0xC5D,0xC5D,1},
    {0xC60,0xC61,1}, {0xC66,0xC6F,2}, {0xC78,0xC7E,2}, {0xC80,0xC80,1},
    {0xC85,0xC8C,1}, {0xC8E,0xC90,1}, {0xC92,0xCA8,1}, {0xCAA,0xCB3,1},
    {0xCB5,0xCB9,1}, {0xCBD,0xCBD,1}, {0xCDD,0xCDE,1}, {0xCE0,0xCE1,1},
    {0xCE6,0xCEF,2}, {0xCF1,0xCF2,1}, {0xD04,0xD0C,1}, {0xD0E,0xD10,1},
    {0xD12,0xD3A,1}, {0xD3D,0xD3D,1}, {0xD4E,0xD4E,1}, {0xD54,0xD56,1},
    {0xD58,0xD5E,2}, {0xD5F,0xD61,1}, {0xD66,0xD78,2}, {0xD7A,0xD7F,1},
    {0xD85,0xD96,1}, {0xD9A,0xDB1,1}, {0xDB3,0xDBB,1}, {0xDBD,0xDBD,1},
    {0xDC0,0xDC6,1}, {0xDE6,0xDEF,2}, {0xE01,0xE30,1}, {0xE32,0xE33,1},
    {0xE40,0xE46,1}, {0xE50,0xE59,2}, {0xE81,0xE82,1}, {0xE84,0xE84,1},
    {0xE86,0xE8A,1}, {0xE8C,0xEA3,1}, {0xEA5,0xEA5,1}, {0xEA7,0xEB0,1},
    {0xEB2,0xEB3,1}, {0xEBD,0xEBD,1}, {0xEC0,0xEC4,1}, {0xEC6,0xEC6,1},
    {0xED0,0xED9,2}, {0xEDC,0xEDF,1}, {0xF00,0xF00,1}, {0xF20,0xF33,2},
    {0xF40,0xF47,1}, {0xF49,0xF6C,1}, {0xF88,0xF8C,1}, {0x1000,0x102A,1},
    {0x103F,0x103F,1}, {0x1040,0x1049,2}, {0x1050,0x1055,1}, {0x105A,0x105D,1},
    {0x1061,0x1061,1}, {0x1065,0x1066,1}, {0x106E,0x1070,1}, {0x1075,0x1081,1},
    {0x108E,0x108E,1}, {0x1090,0x1099,2}, {0x10A0,0x10C5,1}, {0x10C7,0x10C7,1},
    {0x10CD,0x10CD,1}, {0x10D0,0x10FA,1}, {0x10FC,0x1248,1}, {0x124A,0x124D,1},
    {0x1250,0x1256,1}, {0x1258,0x1258,1}, {0x125A,0x125D,1}, {0x1260,0x1288,1},
    {0x128A,0x128D,1}, {0x1290,0x12B0,1}, {0x12B2,0x12B5,1}, {0x12B8,0x12BE,1},
    {0x12C0,0x12C0,1}, {0x12C2,0x12C5,1}, {0x12C8,0x12D6,1}, {0x12D8,0x1310,1},
    {0x1312,0x1315,1}, {0x1318,0x135A,1}, {0x1369,0x137C,2}, {0x1380,0x138F,1},
    {0x13A0,0x13F5,1}, {0x13F8,0x13FD,1}, {0x1401,0x166C,1}, {0x166F,0x167F,1},
    {0x1681,0x169A,1}, {0x16A0,0x16EA,1}, {0x16EE,0x16F0,2}, {0x16F1,0x16F8,1},
    {0x1700,0x1711,1}, {0x171F,0x1731,1}, {0x1740,0x1751,1}, {0x1760,0x176C,1},
    {0x176E,0x1770,1}, {0x1780,0x17B3,1}, {0x17D7,0x17D7,1}, {0x17DC,0x17DC,1},
    {0x17E0,0x17E9,2}, {0x17F0,0x17F9,2}, {0x1810,0x1819,2}, {0x1820,0x1878,1},
    {0x1880,0x1884,1}, {0x1887,0x18A8,1}, {0x18AA,0x18AA,1}, {0x18B0,0x18F5,1},
    {0x1900,0x191E,1}, {0x1946,0x194F,2}, {0x1950,0x196D,1}, {0x1970,0x1974,1},
    {0x1980,0x19AB,1}, {0x19B0,0x19C9,1}, {0x19D0,0x19DA,2}, {0x1A00,0x1A16,1},
    {0x1A20,0x1A54,1}, {0x1A80,0x1A89,2}, {0x1A90,0x1A99,2}, {0x1AA7,0x1AA7,1},
    {0x1B05,0x1B33,1}, {0x1B45,0x1B4C,1}, {0x1B50,0x1B59,2}, {0x1B83,0x1BA0,1},
    {0x1BAE,0x1BAF,1}, {0x1BB0,0x1BB9,2}, {0x1BBA,0x1BE5,1}, {0x1C00,0x1C23,1},
    {0x1C40,0x1C49,2}, {0x1C4D,0x1C4F,1}, {0x1C50,0x1C59,2}, {0x1C5A,0x1C7D,1},
    {0x1C80,0x1C8A,1}, {0x1C90,0x1CBA,1}, {0x1CBD,0x1CBF,1}, {0x1CE9,0x1CEC,1},
    {0x1CEE,0x1CF3,1}, {0x1CF5,0x1CF6,1}, {0x1CFA,0x1CFA,1}, {0x1D00,0x1DBF,1},
    {0x1E00,0x1F15,1}, {0x1F18,0x1F1D,1}, {0x1F20,0x1F45,1}, {0x1F48,0x1F4D,1},
    {0x1F50,0x1F57,1}, {0x1F59,0x1F59,1}, {0x1F5B,0x1F5B,1}, {0x1F5D,0x1F5D,1},
    {0x1F5F,0x1F7D,1}, {0x1F80,0x1FB4,1}, {0x1FB6,0x1FBC,1}, {0x1FBE,0x1FBE,1},
    {0x1FC2,0x1FC4,1}, {0x1FC6,0x1FCC,1}, {0x1FD0,0x1FD3,1}, {0x1FD6,0x1FDB,1},
    {0x1FE0,0x1FEC,1}, {0x1FF2,0x1FF4,1}, {0x1FF6,0x1FFC,1}, {0x2070,0x2070,2},
    {0x2071,0x2071,1}, {0x2074,0x2079,2}, {0x207F,0x207F,1}, {0x2080,0x2089,2},
    {0x2090,0x209C,1}, {0x2102,0x2102,1}, {0x2107,0x2107,1}, {0x210A,0x2113,1},
    {0x2115,0x2115,1}, {0x2119,0x211D,1}, {0x2124,0x2124,1}, {0x2126,0x2126,1},
    {0x2128,0x2128,1}, {0x212A,0x212D,1}, {0x212F,0x2139,1}, {0x213C,0x213F,1},
    {0x2145,0x2149,1}, {0x214E,0x214E,1}, {0x2150,0x2182,2}, {0x2183,0x2184,1},
    {0x2185,0x2189,2}, {0x2460,0x249B,2}, {0x24EA,0x24FF,2}, {0x2776,0x2793,2},
    {0x2C00,0x2CE4,1}, {0x2CEB,0x2CEE,1}, {0x2CF2,0x2CF3,1}, {0x2CFD,0x2CFD,2},
    {0x2D00,0x2D25,1}, {0x2D27,0x2D27,1}, {0x2D2D,0x2D2D,1}, {0x2D30,0x2D67,1},
    {0x2D6F,0x2D6F,1}, {0x2D80,0x2D96,1}, {0x2DA0,0x2DA6,1}, {0x2DA8,0x2DAE,1},
    {0x2DB0,0x2DB6,1}, {0x2DB8,0x2DBE,1}, {0x2DC0,0x2DC6,1}, {0x2DC8,0x2DCE,1},
    {0x2DD0,0x2DD6,1}, {0x2DD8,0x2DDE,1}, {0x2E2F,0x2E2F,1}, {0x3005,0x3006,1},
    {0x3007,0x3007,2}, {0x3021,0x3029,2}, {0x3031,0x3035,1}, {0x3038,0x303A,2},
    {0x303B,0x303C,1}, {0x3041,0x3096,1}, {0x309D,0x309F,1}, {0x30A1,0x30FA,1},
    {0x30FC,0x30FF,1}, {0x3105,0x312F,1}, {0x3131,0x318E,1}, {0x3192,0x3195,2},
    {0x31A0,0x31BF,1}, {0x31F0,0x31FF,1}, {0x3220,0x3229,2}, {0x3248,0x324F,2},
    {0x3251,0x325F,2}, {0x3280,0x3289,2}, {0x32B1,0x32BF,2}, {0x3400,0x4DBF,1},
    {0x4E00,0xA48C,1}, {0xA4D0,0xA4FD,1}, {0xA500,0xA60C,1}, {0xA610,0xA61F,1},
    {0xA620,0xA629,2}, {0xA62A,0xA62B,1}, {0xA640,0xA66E,1}, {0xA67F,0xA69D,1},
    {0xA6A0,0xA6E5,1}, {0xA6E6,0xA6EF,2}, {0xA717,0xA71F,1}, {0xA722,0xA788,1},
    {0xA78B,0xA7CD,1}, {0xA7D0,0xA7D1,1}, {0xA7D3,0xA7D3,1}, {0xA7D5,0xA7DC,1},
    {0xA7F2,0xA801,1}, {0xA803,0xA805,1}, {0xA807,0xA80A,1}, {0xA80C,0xA822,1},
    {0xA830,0xA835,2}, {0xA840,0xA873,1}, {0xA882,0xA8B3,1}, {0xA8D0,0xA8D9,2},
    {0xA8F2,0xA8F7,1}, {0xA8FB,0xA8FB,1}, {0xA8FD,0xA8FE,1}, {0xA900,0xA909,2},
    {0xA90A,0xA925,1}, {0xA930,0xA946,1}, {0xA960,0xA97C,1}, {0xA984,0xA9B2,1},
    {0xA9CF,0xA9CF,1}, {0xA9D0,0xA9D9,2}, {0xA9E0,0xA9E4,1}, {0xA9E6,0xA9EF,1},
    {0xA9F0,0xA9F9,2}, {0xA9FA,0xA9FE,1}, {0xAA00,0xAA28,1}, {0xAA40,0xAA42,1},
    {0xAA44,0xAA4B,1}, {0xAA50,0xAA59,2}, {0xAA60,0xAA76,1}, {0xAA7A,0xAA7A,1},
    {0xAA7E,0xAAAF,1}, {0xAAB1,0xAAB1,1}, {0xAAB5,0xAAB6,1}, {0xAAB9,0xAABD,1},
    {0xAAC0,0xAAC0,1}, {0xAAC2,0xAAC2,1}, {0xAADB,0xAADD,1}, {0xAAE0,0xAAEA,1},
    {0xAAF2,0xAAF4,1}, {0xAB01,0xAB06,1}, {0xAB09,0xAB0E,1}, {0xAB11,0xAB16,1},
    {0xAB20,0xAB26,1}, {0xAB28,0xAB2E,1}, {0xAB30,0xAB5A,1}, {0xAB5C,0xAB69,1},
    {0xAB70,0xABE2,1}, {0xABF0,0xABF9,2}, {0xAC00,0xD7A3,1}, {0xD7B0,0xD7C6,1},
    {0xD7CB,0xD7FB,1}, {0xF900,0xFA6D,1}, {0xFA70,0xFAD9,1}, {0xFB00,0xFB06,1},
    {0xFB13,0xFB17,1}, {0xFB1D,0xFB1D,1}, {0xFB1F,0xFB28,1}, {0xFB2A,0xFB36,1},
    {0xFB38,0xFB3C,1}, {0xFB3E,0xFB3E,1}, {0xFB40,0xFB41,1}, {0xFB43,0xFB44,1},
    {0xFB46,0xFBB1,1}, {0xFBD3,0xFD3D,1}, {0xFD50,0xFD8F,1}, {0xFD92,0xFDC7,1},
    {0xFDF0,0xFDFB,1}, {0xFE70,0xFE74,1}, {0xFE76,0xFEFC,1}, {0xFF10,0xFF19,2},
    {0xFF21,0xFF3A,1}, {0xFF41,0xFF5A,1}, {0xFF66,0xFFBE,1}, {0xFFC2,0xFFC7,1},
    {0xFFCA,0xFFCF,1}, {0xFFD2,0xFFD7,1}, {0xFFDA,0xFFDC,1}, {0x10000,0x1000B,1},
    {0x1000D,0x10026,1}, {0x10028,0x1003A,1}, {0x1003C,0x1003D,1}, {0x1003F,0x1004D,1},
    {0x10050,0x1005D,1}, {0x10080,0x100FA,1}, {0x10107,0x10133,2}, {0x10140,0x10178,2},
    {0x1018A,0x1018B,2}, {0x10280,0x1029C,1}, {0x102A0,0x102D0,1}, {0x102E1,0x102FB,2},
    {0x10300,0x1031F,1}, {0x10320,0x10323,2}, {0x1032D,0x10340,1}, {0x10341,0x10341,2},
    {0x10342,0x10349,1}, {0x1034A,0x1034A,2}, {0x10350,0x10375,1}, {0x10380,0x1039D,1},
    {0x103A0,0x103C3,1}, {0x103C8,0x103CF,1}, {0x103D1,0x103D5,2}, {0x10400,0x1049D,1},
    {0x104A0,0x104A9,2}, {0x104B0,0x104D3,1}, {0x104D8,0x104FB,1}, {0x10500,0x10527,1},
    {0x10530,0x10563,1}, {0x10570,0x1057A,1}, {0x1057C,0x1058A,1}, {0x1058C,0x10592,1},
    {0x10594,0x10595,1}, {0x10597,0x105A1,1}, {0x105A3,0x105B1,1}, {0x105B3,0x105B9,1},
    {0x105BB,0x105BC,1}, {0x105C0,0x105F3,1}, {0x10600,0x10736,1}, {0x10740,0x10755,1},
    {0x10760,0x10767,1}, {0x10780,0x10785,1}, {0x10787,0x107B0,1}, {0x107B2,0x107BA,1},
    {0x10800,0x10805,1}, {0x10808,0x10808,1}, {0x1080A,0x10835,1}, {0x10837,0x10838,1},
    {0x1083C,0x1083C,1}, {0x1083F,0x10855,1}, {0x10858,0x1085F,2}, {0x10860,0x10876,1},
    {0x10879,0x1087F,2}, {0x10880,0x1089E,1}, {0x108A7,0x108AF,2}, {0x108E0,0x108F2,1},
    {0x108F4,0x108F5,1}, {0x108FB,0x108FF,2}, {0x10900,0x10915,1}, {0x10916,0x1091B,2},
    {0x10920,0x10939,1}, {0x10980,0x109B7,1}, {0x109BC,0x109BD,2}, {0x109BE,0x109BF,1},
    {0x109C0,0x109CF,2}, {0x109D2,0x109FF,2}, {0x10A00,0x10A00,1}, {0x10A10,0x10A13,1},
    {0x10A15,0x10A17,1}, {0x10A19,0x10A35,1}, {0x10A40,0x10A48,2}, {0x10A60,0x10A7C,1},
    {0x10A7D,0x10A7E,2}, {0x10A80,0x10A9C,1}, {0x10A9D,0x10A9F,2}, {0x10AC0,0x10AC7,1},
    {0x10AC9,0x10AE4,1}, {0x10AEB,0x10AEF,2}, {0x10B00,0x10B35,1}, {0x10B40,0x10B55,1},
    {0x10B58,0x10B5F,2}, {0x10B60,0x10B72,1}, {0x10B78,0x10B7F,2}, {0x10B80,0x10B91,1},
    {0x10BA9,0x10BAF,2}, {0x10C00,0x10C48,1}, {0x10C80,0x10CB2,1}, {0x10CC0,0x10CF2,1},
    {0x10CFA,0x10CFF,2}, {0x10D00,0x10D23,1}, {0x10D30,0x10D39,2}, {0x10D40,0x10D49,2},
    {0x10D4A,0x10D65,1}, {0x10D6F,0x10D85,1}, {0x10E60,0x10E7E,2}, {0x10E80,0x10EA9,1},
    {0x10EB0,0x10EB1,1}, {0x10EC2,0x10EC4,1}, {0x10F00,0x10F1C,1}, {0x10F1D,0x10F26,2},
    {0x10F27,0x10F27,1}, {0x10F30,0x10F45,1}, {0x10F51,0x10F54,2}, {0x10F70,0x10F81,1},
    {0x10FB0,0x10FC4,1}, {0x10FC5,0x10FCB,2}, {0x10FE0,0x10FF6,1}, {0x11003,0x11037,1},
    {0x11052,0x1106F,2}, {0x11071,0x11072,1}, {0x11075,0x11075,1}, {0x11083,0x110AF,1},
    {0x110D0,0x110E8,1}, {0x110F0,0x110F9,2}, {0x11103,0x11126,1}, {0x11136,0x1113F,2},
    {0x11144,0x11144,1}, {0x11147,0x11147,1}, {0x11150,0x11172,1}, {0x11176,0x11176,1},
    {0x11183,0x111B2,1}, {0x111C1,0x111C4,1}, {0x111D0,0x111D9,2}, {0x111DA,0x111DA,1},
    {0x111DC,0x111DC,1}, {0x111E1,0x111F4,2}, {0x11200,0x11211,1}, {0x11213,0x1122B,1},
    {0x1123F,0x11240,1}, {0x11280,0x11286,1}, {0x11288,0x11288,1}, {0x1128A,0x1128D,1},
    {0x1128F,0x1129D,1}, {0x1129F,0x112A8,1}, {0x112B0,0x112DE,1}, {0x112F0,0x112F9,2},
    {0x11305,0x1130C,1}, {0x1130F,0x11310,1}, {0x11313,0x11328,1}, {0x1132A,0x11330,1},
    {0x11332,0x11333,1}, {0x11335,0x11339,1}, {0x1133D,0x1133D,1}, {0x11350,0x11350,1},
    {0x1135D,0x11361,1}, {0x11380,0x11389,1}, {0x1138B,0x1138B,1}, {0x1138E,0x1138E,1},
    {0x11390,0x113B5,1}, {0x113B7,0x113B7,1}, {0x113D1,0x113D1,1}, {0x113D3,0x113D3,1},
    {0x11400,0x11434,1}, {0x11447,0x1144A,1}, {0x11450,0x11459,2}, {0x1145F,0x11461,1},
    {0x11480,0x114AF,1}, {0x114C4,0x114C5,1}, {0x114C7,0x114C7,1}, {0x114D0,0x114D9,2},
    {0x11580,0x115AE,1}, {0x115D8,0x115DB,1}, {0x11600,0x1162F,1}, {0x11644,0x11644,1},
    {0x11650,0x11659,2}, {0x11680,0x116AA,1}, {0x116B8,0x116B8,1}, {0x116C0,0x116C9,2},
    {0x116D0,0x116E3,2}, {0x11700,0x1171A,1}, {0x11730,0x1173B,2}, {0x11740,0x11746,1},
    {0x11800,0x1182B,1}, {0x118A0,0x118DF,1}, {0x118E0,0x118F2,2}, {0x118FF,0x11906,1},
    {0x11909,0x11909,1}, {0x1190C,0x11913,1}, {0x11915,0x11916,1}, {0x11918,0x1192F,1},
    {0x1193F,0x1193F,1}, {0x11941,0x11941,1}, {0x11950,0x11959,2}, {0x119A0,0x119A7,1},
    {0x119AA,0x119D0,1}, {0x119E1,0x119E1,1}, {0x119E3,0x119E3,1}, {0x11A00,0x11A00,1},
    {0x11A0B,0x11A32,1}, {0x11A3A,0x11A3A,1}, {0x11A50,0x11A50,1}, {0x11A5C,0x11A89,1},
    {0x11A9D,0x11A9D,1}, {0x11AB0,0x11AF8,1}, {0x11BC0,0x11BE0,1}, {0x11BF0,0x11BF9,2},
    {0x11C00,0x11C08,1}, {0x11C0A,0x11C2E,1}, {0x11C40,0x11C40,1}, {0x11C50,0x11C6C,2},
    {0x11C72,0x11C8F,1}, {0x11D00,0x11D06,1}, {0x11D08,0x11D09,1}, {0x11D0B,0x11D30,1},
    {0x11D46,0x11D46,1}, {0x11D50,0x11D59,2}, {0x11D60,0x11D65,1}, {0x11D67,0x11D68,1},
    {0x11D6A,0x11D89,1}, {0x11D98,0x11D98,1}, {0x11DA0,0x11DA9,2}, {0x11EE0,0x11EF2,1},
    {0x11F02,0x11F02,1}, {0x11F04,0x11F10,1}, {0x11F12,0x11F33,1}, {0x11F50,0x11F59,2},
    {0x11FB0,0x11FB0,1}, {0x11FC0,0x11FD4,2}, {0x12000,0x12399,1}, {0x12400,0x1246E,2},
    {0x12480,0x12543,1}, {0x12F90,0x12FF0,1}, {0x13000,0x1342F,1}, {0x13441,0x13446,1},
    {0x13460,0x143FA,1}, {0x14400,0x14646,1}, {0x16100,0x1611D,1}, {0x16130,0x16139,2},
    {0x16800,0x16A38,1}, {0x16A40,0x16A5E,1}, {0x16A60,0x16A69,2}, {0x16A70,0x16ABE,1},
    {0x16AC0,0x16AC9,2}, {0x16AD0,0x16AED,1}, {0x16B00,0x16B2F,1}, {0x16B40,0x16B43,1},
    {0x16B50,0x16B59,2}, {0x16B5B,0x16B61,2}, {0x16B63,0x16B77,1}, {0x16B7D,0x16B8F,1},
    {0x16D40,0x16D6C,1}, {0x16D70,0x16D79,2}, {0x16E40,0x16E7F,1}, {0x16E80,0x16E96,2},
    {0x16F00,0x16F4A,1}, {0x16F50,0x16F50,1}, {0x16F93,0x16F9F,1}, {0x16FE0,0x16FE1,1},
    {0x16FE3,0x16FE3,1}, {0x17000,0x187F7,1}, {0x18800,0x18CD5,1}, {0x18CFF,0x18D08,1},
    {0x1AFF0,0x1AFF3,1}, {0x1AFF5,0x1AFFB,1}, {0x1AFFD,0x1AFFE,1}, {0x1B000,0x1B122,1},
    {0x1B132,0x1B132,1}, {0x1B150,0x1B152,1}, {0x1B155,0x1B155,1}, {0x1B164,0x1B167,1},
    {0x1B170,0x1B2FB,1}, {0x1BC00,0x1BC6A,1}, {0x1BC70,0x1BC7C,1}, {0x1BC80,0x1BC88,1},
    {0x1BC90,0x1BC99,1}, {0x1CCF0,0x1CCF9,2}, {0x1D2C0,0x1D2D3,2}, {0x1D2E0,0x1D2F3,2},
    {0x1D360,0x1D378,2}, {0x1D400,0x1D454,1}, {0x1D456,0x1D49C,1}, {0x1D49E,0x1D49F,1},
    {0x1D4A2,0x1D4A2,1}, {0x1D4A5,0x1D4A6,1}, {0x1D4A9,0x1D4AC,1}, {0x1D4AE,0x1D4B9,1},
    {0x1D4BB,0x1D4BB,1}, {0x1D4BD,0x1D4C3,1}, {0x1D4C5,0x1D505,1}, {0x1D507,0x1D50A,1},
    {0x1D50D,0x1D514,1}, {0x1D516,0x1D51C,1}, {0x1D51E,0x1D539,1}, {0x1D53B,0x1D53E,1},
    {0x1D540,0x1D544,1}, {0x1D546,0x1D546,1}, {0x1D54A,0x1D550,1}, {0x1D552,0x1D6A5,1},
    {0x1D6A8,0x1D6C0,1}, {0x1D6C2,0x1D6DA,1}, {0x1D6DC,0x1D6FA,1}, {0x1D6FC,0x1D714,1},
    {0x1D716,0x1D734,1}, {0x1D736,0x1D74E,1}, {0x1D750,0x1D76E,1}, {0x1D770,0x1D788,1},
    {0x1D78A,0x1D7A8,1}, {0x1D7AA,0x1D7C2,1}, {0x1D7C4,0x1D7CB,1}, {0x1D7CE,0x1D7FF,2},
    {0x1DF00,0x1DF1E,1}, {0x1DF25,0x1DF2A,1}, {0x1E030,0x1E06D,1}, {0x1E100,0x1E12C,1},
    {0x1E137,0x1E13D,1}, {0x1E140,0x1E149,2}, {0x1E14E,0x1E14E,1}, {0x1E290,0x1E2AD,1},
    {0x1E2C0,0x1E2EB,1}, {0x1E2F0,0x1E2F9,2}, {0x1E4D0,0x1E4EB,1}, {0x1E4F0,0x1E4F9,2},
    {0x1E5D0,0x1E5ED,1}, {0x1E5F0,0x1E5F0,1}, {0x1E5F1,0x1E5FA,2}, {0x1E7E0,0x1E7E6,1},
    {0x1E7E8,0x1E7EB,1}, {0x1E7ED,0x1E7EE,1}, {0x1E7F0,0x1E7FE,1}, {0x1E800,0x1E8C4,1},
    {0x1E8C7,0x1E8CF,2}, {0x1E900,0x1E943,1}, {0x1E94B,0x1E94B,1}, {0x1E950,0x1E959,2},
    {0x1EC71,0x1ECAB,2}, {0x1ECAD,0x1ECAF,2}, {0x1ECB1,0x1ECB4,2}, {0x1ED01,0x1ED2D,2},
    {0x1ED2F,0x1ED3D,2}, {0x1EE00,0x1EE03,1}, {0x1EE05,0x1EE1F,1}, {0x1EE21,0x1EE22,1},
    {0x1EE24,0x1EE24,1}, {0x1EE27,0x1EE27,1}, {0x1EE29,0x1EE32,1}, {0x1EE34,0x1EE37,1},
    {0x1EE39,0x1EE39,1}, {0x1EE3B,0x1EE3B,1}, {0x1EE42,0x1EE42,1}, {0x1EE47,0x1EE47,1},
    {0x1EE49,0x1EE49,1}, {0x1EE4B,0x1EE4B,1}, {0x1EE4D,0x1EE4F,1}, {0x1EE51,0x1EE52,1},
    {0x1EE54,0x1EE54,1}, {0x1EE57,0x1EE57,1}, {0x1EE59,0x1EE59,1}, {0x1EE5B,0x1EE5B,1},
    {0x1EE5D,0x1EE5D,1}, {0x1EE5F,0x1EE5F,1}, {0x1EE61,0x1EE62,1}, {0x1EE64,0x1EE64,1},
    {0x1EE67,0x1EE6A,1}, {0x1EE6C,0x1EE72,1}, {0x1EE74,0x1EE77,1}, {0x1EE79,0x1EE7C,1},
    {0x1EE7E,0x1EE7E,1}, {0x1EE80,0x1EE89,1}, {0x1EE8B,0x1EE9B,1}, {0x1EEA1,0x1EEA3,1},
    {0x1EEA5,0x1EEA9,1}, {0x1EEAB,0x1EEBB,1}, {0x1F100,0x1F10C,2}, {0x1FBF0,0x1FBF9,2},
    {0x20000,0x2A6DF,1}, {0x2A700,0x2B739,1}, {0x2B740,0x2B81D,1}, {0x2B820,0x2CEA1,1},
    {0x2CEB0,0x2EBE0,1}, {0x2EBF0,0x2EE5D,1}, {0x2F800,0x2FA1D,1}, {0x30000,0x3134A,1},
    {0x31350,0x323AF,1},
};
/* Nonzero canonical combining classes, ranges lo, hi, class: Unicode 9.0
   (the NFC normalizer of tokenizers), from unicodedataplus 16.0.0 by age. */
static const uint32_t hbpo__uni_ccc[333][3] = {
    {0x300,0x314,230}, {0x315,0x315,232}, {0x316,0x319,220}, {0x31A,0x31A,232},
    {0x31B,0x31B,216}, {0x31C,0x320,220}, {0x321,0x322,202}, {0x323,0x326,220},
    {0x327,0x328,202}, {0x329,0x333,220}, {0x334,0x338,1}, {0x339,0x33C,220},
    {0x33D,0x344,230}, {0x345,0x345,240}, {0x346,0x346,230}, {0x347,0x349,220},
    {0x34A,0x34C,230}, {0x34D,0x34E,220}, {0x350,0x352,230}, {0x353,0x356,220},
    {0x357,0x357,230}, {0x358,0x358,232}, {0x359,0x35A,220}, {0x35B,0x35B,230},
    {0x35C,0x35C,233}, {0x35D,0x35E,234}, {0x35F,0x35F,233}, {0x360,0x361,234},
    {0x362,0x362,233}, {0x363,0x36F,230}, {0x483,0x487,230}, {0x591,0x591,220},
    {0x592,0x595,230}, {0x596,0x596,220}, {0x597,0x599,230}, {0x59A,0x59A,222},
    {0x59B,0x59B,220}, {0x59C,0x5A1,230}, {0x5A2,0x5A7,220}, {0x5A8,0x5A9,230},
    {0x5AA,0x5AA,220}, {0x5AB,0x5AC,230}, {0x5AD,0x5AD,222}, {0x5AE,0x5AE,228},
    {0x5AF,0x5AF,230}, {0x5B0,0x5B0,10}, {0x5B1,0x5B1,11}, {0x5B2,0x5B2,12},
    {0x5B3,0x5B3,13}, {0x5B4,0x5B4,14}, {0x5B5,0x5B5,15}, {0x5B6,0x5B6,16},
    {0x5B7,0x5B7,17}, {0x5B8,0x5B8,18}, {0x5B9,0x5BA,19}, {0x5BB,0x5BB,20},
    {0x5BC,0x5BC,21}, {0x5BD,0x5BD,22}, {0x5BF,0x5BF,23}, {0x5C1,0x5C1,24},
    {0x5C2,0x5C2,25}, {0x5C4,0x5C4,230}, {0x5C5,0x5C5,220}, {0x5C7,0x5C7,18},
    {0x610,0x617,230}, {0x618,0x618,30}, {0x619,0x619,31}, {0x61A,0x61A,32},
    {0x64B,0x64B,27}, {0x64C,0x64C,28}, {0x64D,0x64D,29}, {0x64E,0x64E,30},
    {0x64F,0x64F,31}, {0x650,0x650,32}, {0x651,0x651,33}, {0x652,0x652,34},
    {0x653,0x654,230}, {0x655,0x656,220}, {0x657,0x65B,230}, {0x65C,0x65C,220},
    {0x65D,0x65E,230}, {0x65F,0x65F,220}, {0x670,0x670,35}, {0x6D6,0x6DC,230},
    {0x6DF,0x6E2,230}, {0x6E3,0x6E3,220}, {0x6E4,0x6E4,230}, {0x6E7,0x6E8,230},
    {0x6EA,0x6EA,220}, {0x6EB,0x6EC,230}, {0x6ED,0x6ED,220}, {0x711,0x711,36},
    {0x730,0x730,230}, {0x731,0x731,220}, {0x732,0x733,230}, {0x734,0x734,220},
    {0x735,0x736,230}, {0x737,0x739,220}, {0x73A,0x73A,230}, {0x73B,0x73C,220},
    {0x73D,0x73D,230}, {0x73E,0x73E,220}, {0x73F,0x741,230}, {0x742,0x742,220},
    {0x743,0x743,230}, {0x744,0x744,220}, {0x745,0x745,230}, {0x746,0x746,220},
    {0x747,0x747,230}, {0x748,0x748,220}, {0x749,0x74A,230}, {0x7EB,0x7F1,230},
    {0x7F2,0x7F2,220}, {0x7F3,0x7F3,230}, {0x816,0x819,230}, {0x81B,0x823,230},
    {0x825,0x827,230}, {0x829,0x82D,230}, {0x859,0x85B,220}, {0x8D4,0x8E1,230},
    {0x8E3,0x8E3,220}, {0x8E4,0x8E5,230}, {0x8E6,0x8E6,220}, {0x8E7,0x8E8,230},
    {0x8E9,0x8E9,220}, {0x8EA,0x8EC,230}, {0x8ED,0x8EF,220}, {0x8F0,0x8F0,27},
    {0x8F1,0x8F1,28}, {0x8F2,0x8F2,29}, {0x8F3,0x8F5,230}, {0x8F6,0x8F6,220},
    {0x8F7,0x8F8,230}, {0x8F9,0x8FA,220}, {0x8FB,0x8FF,230}, {0x93C,0x93C,7},
    {0x94D,0x94D,9}, {0x951,0x951,230}, {0x952,0x952,220}, {0x953,0x954,230},
    {0x9BC,0x9BC,7}, {0x9CD,0x9CD,9}, {0xA3C,0xA3C,7}, {0xA4D,0xA4D,9},
    {0xABC,0xABC,7}, {0xACD,0xACD,9}, {0xB3C,0xB3C,7}, {0xB4D,0xB4D,9},
    {0xBCD,0xBCD,9}, {0xC4D,0xC4D,9}, {0xC55,0xC55,84}, {0xC56,0xC56,91},
    {0xCBC,0xCBC,7}, {0xCCD,0xCCD,9}, {0xD4D,0xD4D,9}, {0xDCA,0xDCA,9},
    {0xE38,0xE39,103}, {0xE3A,0xE3A,9}, {0xE48,0xE4B,107}, {0xEB8,0xEB9,118},
    {0xEC8,0xECB,122}, {0xF18,0xF19,220}, {0xF35,0xF35,220}, {0xF37,0xF37,220},
    {0xF39,0xF39,216}, {0xF71,0xF71,129}, {0xF72,0xF72,130}, {0xF74,0xF74,132},
    {0xF7A,0xF7D,130}, {0xF80,0xF80,130}, {0xF82,0xF83,230}, {0xF84,0xF84,9},
    {0xF86,0xF87,230}, {0xFC6,0xFC6,220}, {0x1037,0x1037,7}, {0x1039,0x103A,9},
    {0x108D,0x108D,220}, {0x135D,0x135F,230}, {0x1714,0x1714,9}, {0x1734,0x1734,9},
    {0x17D2,0x17D2,9}, {0x17DD,0x17DD,230}, {0x18A9,0x18A9,228}, {0x1939,0x1939,222},
    {0x193A,0x193A,230}, {0x193B,0x193B,220}, {0x1A17,0x1A17,230}, {0x1A18,0x1A18,220},
    {0x1A60,0x1A60,9}, {0x1A75,0x1A7C,230}, {0x1A7F,0x1A7F,220}, {0x1AB0,0x1AB4,230},
    {0x1AB5,0x1ABA,220}, {0x1ABB,0x1ABC,230}, {0x1ABD,0x1ABD,220}, {0x1B34,0x1B34,7},
    {0x1B44,0x1B44,9}, {0x1B6B,0x1B6B,230}, {0x1B6C,0x1B6C,220}, {0x1B6D,0x1B73,230},
    {0x1BAA,0x1BAB,9}, {0x1BE6,0x1BE6,7}, {0x1BF2,0x1BF3,9}, {0x1C37,0x1C37,7},
    {0x1CD0,0x1CD2,230}, {0x1CD4,0x1CD4,1}, {0x1CD5,0x1CD9,220}, {0x1CDA,0x1CDB,230},
    {0x1CDC,0x1CDF,220}, {0x1CE0,0x1CE0,230}, {0x1CE2,0x1CE8,1}, {0x1CED,0x1CED,220},
    {0x1CF4,0x1CF4,230}, {0x1CF8,0x1CF9,230}, {0x1DC0,0x1DC1,230}, {0x1DC2,0x1DC2,220},
    {0x1DC3,0x1DC9,230}, {0x1DCA,0x1DCA,220}, {0x1DCB,0x1DCC,230}, {0x1DCD,0x1DCD,234},
    {0x1DCE,0x1DCE,214}, {0x1DCF,0x1DCF,220}, {0x1DD0,0x1DD0,202}, {0x1DD1,0x1DF5,230},
    {0x1DFB,0x1DFB,230}, {0x1DFC,0x1DFC,233}, {0x1DFD,0x1DFD,220}, {0x1DFE,0x1DFE,230},
    {0x1DFF,0x1DFF,220}, {0x20D0,0x20D1,230}, {0x20D2,0x20D3,1}, {0x20D4,0x20D7,230},
    {0x20D8,0x20DA,1}, {0x20DB,0x20DC,230}, {0x20E1,0x20E1,230}, {0x20E5,0x20E6,1},
    {0x20E7,0x20E7,230}, {0x20E8,0x20E8,220}, {0x20E9,0x20E9,230}, {0x20EA,0x20EB,1},
    {0x20EC,0x20EF,220}, {0x20F0,0x20F0,230}, {0x2CEF,0x2CF1,230}, {0x2D7F,0x2D7F,9},
    {0x2DE0,0x2DFF,230}, {0x302A,0x302A,218}, {0x302B,0x302B,228}, {0x302C,0x302C,232},
    {0x302D,0x302D,222}, {0x302E,0x302F,224}, {0x3099,0x309A,8}, {0xA66F,0xA66F,230},
    {0xA674,0xA67D,230}, {0xA69E,0xA69F,230}, {0xA6F0,0xA6F1,230}, {0xA806,0xA806,9},
    {0xA8C4,0xA8C4,9}, {0xA8E0,0xA8F1,230}, {0xA92B,0xA92D,220}, {0xA953,0xA953,9},
    {0xA9B3,0xA9B3,7}, {0xA9C0,0xA9C0,9}, {0xAAB0,0xAAB0,230}, {0xAAB2,0xAAB3,230},
    {0xAAB4,0xAAB4,220}, {0xAAB7,0xAAB8,230}, {0xAABE,0xAABF,230}, {0xAAC1,0xAAC1,230},
    {0xAAF6,0xAAF6,9}, {0xABED,0xABED,9}, {0xFB1E,0xFB1E,26}, {0xFE20,0xFE26,230},
    {0xFE27,0xFE2D,220}, {0xFE2E,0xFE2F,230}, {0x101FD,0x101FD,220}, {0x102E0,0x102E0,220},
    {0x10376,0x1037A,230}, {0x10A0D,0x10A0D,220}, {0x10A0F,0x10A0F,230}, {0x10A38,0x10A38,230},
    {0x10A39,0x10A39,1}, {0x10A3A,0x10A3A,220}, {0x10A3F,0x10A3F,9}, {0x10AE5,0x10AE5,230},
    {0x10AE6,0x10AE6,220}, {0x11046,0x11046,9}, {0x1107F,0x1107F,9}, {0x110B9,0x110B9,9},
    {0x110BA,0x110BA,7}, {0x11100,0x11102,230}, {0x11133,0x11134,9}, {0x11173,0x11173,7},
    {0x111C0,0x111C0,9}, {0x111CA,0x111CA,7}, {0x11235,0x11235,9}, {0x11236,0x11236,7},
    {0x112E9,0x112E9,7}, {0x112EA,0x112EA,9}, {0x1133C,0x1133C,7}, {0x1134D,0x1134D,9},
    {0x11366,0x1136C,230}, {0x11370,0x11374,230}, {0x11442,0x11442,9}, {0x11446,0x11446,7},
    {0x114C2,0x114C2,9}, {0x114C3,0x114C3,7}, {0x115BF,0x115BF,9}, {0x115C0,0x115C0,7},
    {0x1163F,0x1163F,9}, {0x116B6,0x116B6,9}, {0x116B7,0x116B7,7}, {0x1172B,0x1172B,9},
    {0x11C3F,0x11C3F,9}, {0x16AF0,0x16AF4,1}, {0x16B30,0x16B36,230}, {0x1BC9E,0x1BC9E,1},
    {0x1D165,0x1D166,216}, {0x1D167,0x1D169,1}, {0x1D16D,0x1D16D,226}, {0x1D16E,0x1D172,216},
    {0x1D17B,0x1D182,220}, {0x1D185,0x1D189,230}, {0x1D18A,0x1D18B,220}, {0x1D1AA,0x1D1AD,230},
    {0x1D242,0x1D244,230}, {0x1E000,0x1E006,230}, {0x1E008,0x1E018,230}, {0x1E01B,0x1E021,230},
    {0x1E023,0x1E024,230}, {0x1E026,0x1E02A,230}, {0x1E8D0,0x1E8D6,220}, {0x1E944,0x1E949,230},
    {0x1E94A,0x1E94A,7},
};
/* Canonical decompositions cp -> first, second (0: a singleton), sorted by
   cp, Hangul syllables excluded (they are algorithmic): Unicode 9.0. */
static const uint32_t hbpo__uni_decomp[2060][3] = {
    {0xC0,0x41,0x300}, {0xC1,0x41,0x301}, {0xC2,0x41,0x302},
    {0xC3,0x41,0x303}, {0xC4,0x41,0x308}, {0xC5,0x41,0x30A},
    {0xC7,0x43,0x327}, {0xC8,0x45,0x300}, {0xC9,0x45,0x301},
    {0xCA,0x45,0x302}, {0xCB,0x45,0x308}, {0xCC,0x49,0x300},
    {0xCD,0x49,0x301}, {0xCE,0x49,0x302}, {0xCF,0x49,0x308},
    {0xD1,0x4E,0x303}, {0xD2,0x4F,0x300}, {0xD3,0x4F,0x301},
    {0xD4,0x4F,0x302}, {0xD5,0x4F,0x303}, {0xD6,0x4F,0x308},
    {0xD9,0x55,0x300}, {0xDA,0x55,0x301}, {0xDB,0x55,0x302},
    {0xDC,0x55,0x308}, {0xDD,0x59,0x301}, {0xE0,0x61,0x300},
    {0xE1,0x61,0x301}, {0xE2,0x61,0x302}, {0xE3,0x61,0x303},
    {0xE4,0x61,0x308}, {0xE5,0x61,0x30A}, {0xE7,0x63,0x327},
    {0xE8,0x65,0x300}, {0xE9,0x65,0x301}, {0xEA,0x65,0x302},
    {0xEB,0x65,0x308}, {0xEC,0x69,0x300}, {0xED,0x69,0x301},
    {0xEE,0x69,0x302}, {0xEF,0x69,0x308}, {0xF1,0x6E,0x303},
    {0xF2,0x6F,0x300}, {0xF3,0x6F,0x301}, {0xF4,0x6F,0x302},
    {0xF5,0x6F,0x303}, {0xF6,0x6F,0x308}, {0xF9,0x75,0x300},
    {0xFA,0x75,0x301}, {0xFB,0x75,0x302}, {0xFC,0x75,0x308},
    {0xFD,0x79,0x301}, {0xFF,0x79,0x308}, {0x100,0x41,0x304},
    {0x101,0x61,0x304}, {0x102,0x41,0x306}, {0x103,0x61,0x306},
    {0x104,0x41,0x328}, {0x105,0x61,0x328}, {0x106,0x43,0x301},
    {0x107,0x63,0x301}, {0x108,0x43,0x302}, {0x109,0x63,0x302},
    {0x10A,0x43,0x307}, {0x10B,0x63,0x307}, {0x10C,0x43,0x30C},
    {0x10D,0x63,0x30C}, {0x10E,0x44,0x30C}, {0x10F,0x64,0x30C},
    {0x112,0x45,0x304}, {0x113,0x65,0x304}, {0x114,0x45,0x306},
    {0x115,0x65,0x306}, {0x116,0x45,0x307}, {0x117,0x65,0x307},
    {0x118,0x45,0x328}, {0x119,0x65,0x328}, {0x11A,0x45,0x30C},
    {0x11B,0x65,0x30C}, {0x11C,0x47,0x302}, {0x11D,0x67,0x302},
    {0x11E,0x47,0x306}, {0x11F,0x67,0x306}, {0x120,0x47,0x307},
    {0x121,0x67,0x307}, {0x122,0x47,0x327}, {0x123,0x67,0x327},
    {0x124,0x48,0x302}, {0x125,0x68,0x302}, {0x128,0x49,0x303},
    {0x129,0x69,0x303}, {0x12A,0x49,0x304}, {0x12B,0x69,0x304},
    {0x12C,0x49,0x306}, {0x12D,0x69,0x306}, {0x12E,0x49,0x328},
    {0x12F,0x69,0x328}, {0x130,0x49,0x307}, {0x134,0x4A,0x302},
    {0x135,0x6A,0x302}, {0x136,0x4B,0x327}, {0x137,0x6B,0x327},
    {0x139,0x4C,0x301}, {0x13A,0x6C,0x301}, {0x13B,0x4C,0x327},
    {0x13C,0x6C,0x327}, {0x13D,0x4C,0x30C}, {0x13E,0x6C,0x30C},
    {0x143,0x4E,0x301}, {0x144,0x6E,0x301}, {0x145,0x4E,0x327},
    {0x146,0x6E,0x327}, {0x147,0x4E,0x30C}, {0x148,0x6E,0x30C},
    {0x14C,0x4F,0x304}, {0x14D,0x6F,0x304}, {0x14E,0x4F,0x306},
    {0x14F,0x6F,0x306}, {0x150,0x4F,0x30B}, {0x151,0x6F,0x30B},
    {0x154,0x52,0x301}, {0x155,0x72,0x301}, {0x156,0x52,0x327},
    {0x157,0x72,0x327}, {0x158,0x52,0x30C}, {0x159,0x72,0x30C},
    {0x15A,0x53,0x301}, {0x15B,0x73,0x301}, {0x15C,0x53,0x302},
    {0x15D,0x73,0x302}, {0x15E,0x53,0x327}, {0x15F,0x73,0x327},
    {0x160,0x53,0x30C}, {0x161,0x73,0x30C}, {0x162,0x54,0x327},
    {0x163,0x74,0x327}, {0x164,0x54,0x30C}, {0x165,0x74,0x30C},
    {0x168,0x55,0x303}, {0x169,0x75,0x303}, {0x16A,0x55,0x304},
    {0x16B,0x75,0x304}, {0x16C,0x55,0x306}, {0x16D,0x75,0x306},
    {0x16E,0x55,0x30A}, {0x16F,0x75,0x30A}, {0x170,0x55,0x30B},
    {0x171,0x75,0x30B}, {0x172,0x55,0x328}, {0x173,0x75,0x328},
    {0x174,0x57,0x302}, {0x175,0x77,0x302}, {0x176,0x59,0x302},
    {0x177,0x79,0x302}, {0x178,0x59,0x308}, {0x179,0x5A,0x301},
    {0x17A,0x7A,0x301}, {0x17B,0x5A,0x307}, {0x17C,0x7A,0x307},
    {0x17D,0x5A,0x30C}, {0x17E,0x7A,0x30C}, {0x1A0,0x4F,0x31B},
    {0x1A1,0x6F,0x31B}, {0x1AF,0x55,0x31B}, {0x1B0,0x75,0x31B},
    {0x1CD,0x41,0x30C}, {0x1CE,0x61,0x30C}, {0x1CF,0x49,0x30C},
    {0x1D0,0x69,0x30C}, {0x1D1,0x4F,0x30C}, {0x1D2,0x6F,0x30C},
    {0x1D3,0x55,0x30C}, {0x1D4,0x75,0x30C}, {0x1D5,0xDC,0x304},
    {0x1D6,0xFC,0x304}, {0x1D7,0xDC,0x301}, {0x1D8,0xFC,0x301},
    {0x1D9,0xDC,0x30C}, {0x1DA,0xFC,0x30C}, {0x1DB,0xDC,0x300},
    {0x1DC,0xFC,0x300}, {0x1DE,0xC4,0x304}, {0x1DF,0xE4,0x304},
    {0x1E0,0x226,0x304}, {0x1E1,0x227,0x304}, {0x1E2,0xC6,0x304},
    {0x1E3,0xE6,0x304}, {0x1E6,0x47,0x30C}, {0x1E7,0x67,0x30C},
    {0x1E8,0x4B,0x30C}, {0x1E9,0x6B,0x30C}, {0x1EA,0x4F,0x328},
    {0x1EB,0x6F,0x328}, {0x1EC,0x1EA,0x304}, {0x1ED,0x1EB,0x304},
    {0x1EE,0x1B7,0x30C}, {0x1EF,0x292,0x30C}, {0x1F0,0x6A,0x30C},
    {0x1F4,0x47,0x301}, {0x1F5,0x67,0x301}, {0x1F8,0x4E,0x300},
    {0x1F9,0x6E,0x300}, {0x1FA,0xC5,0x301}, {0x1FB,0xE5,0x301},
    {0x1FC,0xC6,0x301}, {0x1FD,0xE6,0x301}, {0x1FE,0xD8,0x301},
    {0x1FF,0xF8,0x301}, {0x200,0x41,0x30F}, {0x201,0x61,0x30F},
    {0x202,0x41,0x311}, {0x203,0x61,0x311}, {0x204,0x45,0x30F},
    {0x205,0x65,0x30F}, {0x206,0x45,0x311}, {0x207,0x65,0x311},
    {0x208,0x49,0x30F}, {0x209,0x69,0x30F}, {0x20A,0x49,0x311},
    {0x20B,0x69,0x311}, {0x20C,0x4F,0x30F}, {0x20D,0x6F,0x30F},
    {0x20E,0x4F,0x311}, {0x20F,0x6F,0x311}, {0x210,0x52,0x30F},
    {0x211,0x72,0x30F}, {0x212,0x52,0x311}, {0x213,0x72,0x311},
    {0x214,0x55,0x30F}, {0x215,0x75,0x30F}, {0x216,0x55,0x311},
    {0x217,0x75,0x311}, {0x218,0x53,0x326}, {0x219,0x73,0x326},
    {0x21A,0x54,0x326}, {0x21B,0x74,0x326}, {0x21E,0x48,0x30C},
    {0x21F,0x68,0x30C}, {0x226,0x41,0x307}, {0x227,0x61,0x307},
    {0x228,0x45,0x327}, {0x229,0x65,0x327}, {0x22A,0xD6,0x304},
    {0x22B,0xF6,0x304}, {0x22C,0xD5,0x304}, {0x22D,0xF5,0x304},
    {0x22E,0x4F,0x307}, {0x22F,0x6F,0x307}, {0x230,0x22E,0x304},
    {0x231,0x22F,0x304}, {0x232,0x59,0x304}, {0x233,0x79,0x304},
    {0x340,0x300,0x0}, {0x341,0x301,0x0}, {0x343,0x313,0x0},
    {0x344,0x308,0x301}, {0x374,0x2B9,0x0}, {0x37E,0x3B,0x0},
    {0x385,0xA8,0x301}, {0x386,0x391,0x301}, {0x387,0xB7,0x0},
    {0x388,0x395,0x301}, {0x389,0x397,0x301}, {0x38A,0x399,0x301},
    {0x38C,0x39F,0x301}, {0x38E,0x3A5,0x301}, {0x38F,0x3A9,0x301},
    {0x390,0x3CA,0x301}, {0x3AA,0x399,0x308}, {0x3AB,0x3A5,0x308},
    {0x3AC,0x3B1,0x301}, {0x3AD,0x3B5,0x301}, {0x3AE,0x3B7,0x301},
    {0x3AF,0x3B9,0x301}, {0x3B0,0x3CB,0x301}, {0x3CA,0x3B9,0x308},
    {0x3CB,0x3C5,0x308}, {0x3CC,0x3BF,0x301}, {0x3CD,0x3C5,0x301},
    {0x3CE,0x3C9,0x301}, {0x3D3,0x3D2,0x301}, {0x3D4,0x3D2,0x308},
    {0x400,0x415,0x300}, {0x401,0x415,0x308}, {0x403,0x413,0x301},
    {0x407,0x406,0x308}, {0x40C,0x41A,0x301}, {0x40D,0x418,0x300},
    {0x40E,0x423,0x306}, {0x419,0x418,0x306}, {0x439,0x438,0x306},
    {0x450,0x435,0x300}, {0x451,0x435,0x308}, {0x453,0x433,0x301},
    {0x457,0x456,0x308}, {0x45C,0x43A,0x301}, {0x45D,0x438,0x300},
    {0x45E,0x443,0x306}, {0x476,0x474,0x30F}, {0x477,0x475,0x30F},
    {0x4C1,0x416,0x306}, {0x4C2,0x436,0x306}, {0x4D0,0x410,0x306},
    {0x4D1,0x430,0x306}, {0x4D2,0x410,0x308}, {0x4D3,0x430,0x308},
    {0x4D6,0x415,0x306}, {0x4D7,0x435,0x306}, {0x4DA,0x4D8,0x308},
    {0x4DB,0x4D9,0x308}, {0x4DC,0x416,0x308}, {0x4DD,0x436,0x308},
    {0x4DE,0x417,0x308}, {0x4DF,0x437,0x308}, {0x4E2,0x418,0x304},
    {0x4E3,0x438,0x304}, {0x4E4,0x418,0x308}, {0x4E5,0x438,0x308},
    {0x4E6,0x41E,0x308}, {0x4E7,0x43E,0x308}, {0x4EA,0x4E8,0x308},
    {0x4EB,0x4E9,0x308}, {0x4EC,0x42D,0x308}, {0x4ED,0x44D,0x308},
    {0x4EE,0x423,0x304}, {0x4EF,0x443,0x304}, {0x4F0,0x423,0x308},
    {0x4F1,0x443,0x308}, {0x4F2,0x423,0x30B}, {0x4F3,0x443,0x30B},
    {0x4F4,0x427,0x308}, {0x4F5,0x447,0x308}, {0x4F8,0x42B,0x308},
    {0x4F9,0x44B,0x308}, {0x622,0x627,0x653}, {0x623,0x627,0x654},
    {0x624,0x648,0x654}, {0x625,0x627,0x655}, {0x626,0x64A,0x654},
    {0x6C0,0x6D5,0x654}, {0x6C2,0x6C1,0x654}, {0x6D3,0x6D2,0x654},
    {0x929,0x928,0x93C}, {0x931,0x930,0x93C}, {0x934,0x933,0x93C},
    {0x958,0x915,0x93C}, {0x959,0x916,0x93C}, {0x95A,0x917,0x93C},
    {0x95B,0x91C,0x93C}, {0x95C,0x921,0x93C}, {0x95D,0x922,0x93C},
    {0x95E,0x92B,0x93C}, {0x95F,0x92F,0x93C}, {0x9CB,0x9C7,0x9BE},
    {0x9CC,0x9C7,0x9D7}, {0x9DC,0x9A1,0x9BC}, {0x9DD,0x9A2,0x9BC},
    {0x9DF,0x9AF,0x9BC}, {0xA33,0xA32,0xA3C}, {0xA36,0xA38,0xA3C},
    {0xA59,0xA16,0xA3C}, {0xA5A,0xA17,0xA3C}, {0xA5B,0xA1C,0xA3C},
    {0xA5E,0xA2B,0xA3C}, {0xB48,0xB47,0xB56}, {0xB4B,0xB47,0xB3E},
    {0xB4C,0xB47,0xB57}, {0xB5C,0xB21,0xB3C}, {0xB5D,0xB22,0xB3C},
    {0xB94,0xB92,0xBD7}, {0xBCA,0xBC6,0xBBE}, {0xBCB,0xBC7,0xBBE},
    {0xBCC,0xBC6,0xBD7}, {0xC48,0xC46,0xC56}, {0xCC0,0xCBF,0xCD5},
    {0xCC7,0xCC6,0xCD5}, {0xCC8,0xCC6,0xCD6}, {0xCCA,0xCC6,0xCC2},
    {0xCCB,0xCCA,0xCD5}, {0xD4A,0xD46,0xD3E}, {0xD4B,0xD47,0xD3E},
    {0xD4C,0xD46,0xD57}, {0xDDA,0xDD9,0xDCA}, {0xDDC,0xDD9,0xDCF},
    {0xDDD,0xDDC,0xDCA}, {0xDDE,0xDD9,0xDDF}, {0xF43,0xF42,0xFB7},
    {0xF4D,0xF4C,0xFB7}, {0xF52,0xF51,0xFB7}, {0xF57,0xF56,0xFB7},
    {0xF5C,0xF5B,0xFB7}, {0xF69,0xF40,0xFB5}, {0xF73,0xF71,0xF72},
    {0xF75,0xF71,0xF74}, {0xF76,0xFB2,0xF80}, {0xF78,0xFB3,0xF80},
    {0xF81,0xF71,0xF80}, {0xF93,0xF92,0xFB7}, {0xF9D,0xF9C,0xFB7},
    {0xFA2,0xFA1,0xFB7}, {0xFA7,0xFA6,0xFB7}, {0xFAC,0xFAB,0xFB7},
    {0xFB9,0xF90,0xFB5}, {0x1026,0x1025,0x102E}, {0x1B06,0x1B05,0x1B35},
    {0x1B08,0x1B07,0x1B35}, {0x1B0A,0x1B09,0x1B35}, {0x1B0C,0x1B0B,0x1B35},
    {0x1B0E,0x1B0D,0x1B35}, {0x1B12,0x1B11,0x1B35}, {0x1B3B,0x1B3A,0x1B35},
    {0x1B3D,0x1B3C,0x1B35}, {0x1B40,0x1B3E,0x1B35}, {0x1B41,0x1B3F,0x1B35},
    {0x1B43,0x1B42,0x1B35}, {0x1E00,0x41,0x325}, {0x1E01,0x61,0x325},
    {0x1E02,0x42,0x307}, {0x1E03,0x62,0x307}, {0x1E04,0x42,0x323},
    {0x1E05,0x62,0x323}, {0x1E06,0x42,0x331}, {0x1E07,0x62,0x331},
    {0x1E08,0xC7,0x301}, {0x1E09,0xE7,0x301}, {0x1E0A,0x44,0x307},
    {0x1E0B,0x64,0x307}, {0x1E0C,0x44,0x323}, {0x1E0D,0x64,0x323},
    {0x1E0E,0x44,0x331}, {0x1E0F,0x64,0x331}, {0x1E10,0x44,0x327},
    {0x1E11,0x64,0x327}, {0x1E12,0x44,0x32D}, {0x1E13,0x64,0x32D},
    {0x1E14,0x112,0x300}, {0x1E15,0x113,0x300}, {0x1E16,0x112,0x301},
    {0x1E17,0x113,0x301}, {0x1E18,0x45,0x32D}, {0x1E19,0x65,0x32D},
    {0x1E1A,0x45,0x330}, {0x1E1B,0x65,0x330}, {0x1E1C,0x228,0x306},
    {0x1E1D,0x229,0x306}, {0x1E1E,0x46,0x307}, {0x1E1F,0x66,0x307},
    {0x1E20,0x47,0x304}, {0x1E21,0x67,0x304}, {0x1E22,0x48,0x307},
    {0x1E23,0x68,0x307}, {0x1E24,0x48,0x323}, {0x1E25,0x68,0x323},
    {0x1E26,0x48,0x308}, {0x1E27,0x68,0x308}, {0x1E28,0x48,0x327},
    {0x1E29,0x68,0x327}, {0x1E2A,0x48,0x32E}, {0x1E2B,0x68,0x32E},
    {0x1E2C,0x49,0x330}, {0x1E2D,0x69,0x330}, {0x1E2E,0xCF,0x301},
    {0x1E2F,0xEF,0x301}, {0x1E30,0x4B,0x301}, {0x1E31,0x6B,0x301},
    {0x1E32,0x4B,0x323}, {0x1E33,0x6B,0x323}, {0x1E34,0x4B,0x331},
    {0x1E35,0x6B,0x331}, {0x1E36,0x4C,0x323}, {0x1E37,0x6C,0x323},
    {0x1E38,0x1E36,0x304}, {0x1E39,0x1E37,0x304}, {0x1E3A,0x4C,0x331},
    {0x1E3B,0x6C,0x331}, {0x1E3C,0x4C,0x32D}, {0x1E3D,0x6C,0x32D},
    {0x1E3E,0x4D,0x301}, {0x1E3F,0x6D,0x301}, {0x1E40,0x4D,0x307},
    {0x1E41,0x6D,0x307}, {0x1E42,0x4D,0x323}, {0x1E43,0x6D,0x323},
    {0x1E44,0x4E,0x307}, {0x1E45,0x6E,0x307}, {0x1E46,0x4E,0x323},
    {0x1E47,0x6E,0x323}, {0x1E48,0x4E,0x331}, {0x1E49,0x6E,0x331},
    {0x1E4A,0x4E,0x32D}, {0x1E4B,0x6E,0x32D}, {0x1E4C,0xD5,0x301},
    {0x1E4D,0xF5,0x301}, {0x1E4E,0xD5,0x308}, {0x1E4F,0xF5,0x308},
    {0x1E50,0x14C,0x300}, {0x1E51,0x14D,0x300}, {0x1E52,0x14C,0x301},
    {0x1E53,0x14D,0x301}, {0x1E54,0x50,0x301}, {0x1E55,0x70,0x301},
    {0x1E56,0x50,0x307}, {0x1E57,0x70,0x307}, {0x1E58,0x52,0x307},
    {0x1E59,0x72,0x307}, {0x1E5A,0x52,0x323}, {0x1E5B,0x72,0x323},
    {0x1E5C,0x1E5A,0x304}, {0x1E5D,0x1E5B,0x304}, {0x1E5E,0x52,0x331},
    {0x1E5F,0x72,0x331}, {0x1E60,0x53,0x307}, {0x1E61,0x73,0x307},
    {0x1E62,0x53,0x323}, {0x1E63,0x73,0x323}, {0x1E64,0x15A,0x307},
    {0x1E65,0x15B,0x307}, {0x1E66,0x160,0x307}, {0x1E67,0x161,0x307},
    {0x1E68,0x1E62,0x307}, {0x1E69,0x1E63,0x307}, {0x1E6A,0x54,0x307},
    {0x1E6B,0x74,0x307}, {0x1E6C,0x54,0x323}, {0x1E6D,0x74,0x323},
    {0x1E6E,0x54,0x331}, {0x1E6F,0x74,0x331}, {0x1E70,0x54,0x32D},
    {0x1E71,0x74,0x32D}, {0x1E72,0x55,0x324}, {0x1E73,0x75,0x324},
    {0x1E74,0x55,0x330}, {0x1E75,0x75,0x330}, {0x1E76,0x55,0x32D},
    {0x1E77,0x75,0x32D}, {0x1E78,0x168,0x301}, {0x1E79,0x169,0x301},
    {0x1E7A,0x16A,0x308}, {0x1E7B,0x16B,0x308}, {0x1E7C,0x56,0x303},
    {0x1E7D,0x76,0x303}, {0x1E7E,0x56,0x323}, {0x1E7F,0x76,0x323},
    {0x1E80,0x57,0x300}, {0x1E81,0x77,0x300}, {0x1E82,0x57,0x301},
    {0x1E83,0x77,0x301}, {0x1E84,0x57,0x308}, {0x1E85,0x77,0x308},
    {0x1E86,0x57,0x307}, {0x1E87,0x77,0x307}, {0x1E88,0x57,0x323},
    {0x1E89,0x77,0x323}, {0x1E8A,0x58,0x307}, {0x1E8B,0x78,0x307},
    {0x1E8C,0x58,0x308}, {0x1E8D,0x78,0x308}, {0x1E8E,0x59,0x307},
    {0x1E8F,0x79,0x307}, {0x1E90,0x5A,0x302}, {0x1E91,0x7A,0x302},
    {0x1E92,0x5A,0x323}, {0x1E93,0x7A,0x323}, {0x1E94,0x5A,0x331},
    {0x1E95,0x7A,0x331}, {0x1E96,0x68,0x331}, {0x1E97,0x74,0x308},
    {0x1E98,0x77,0x30A}, {0x1E99,0x79,0x30A}, {0x1E9B,0x17F,0x307},
    {0x1EA0,0x41,0x323}, {0x1EA1,0x61,0x323}, {0x1EA2,0x41,0x309},
    {0x1EA3,0x61,0x309}, {0x1EA4,0xC2,0x301}, {0x1EA5,0xE2,0x301},
    {0x1EA6,0xC2,0x300}, {0x1EA7,0xE2,0x300}, {0x1EA8,0xC2,0x309},
    {0x1EA9,0xE2,0x309}, {0x1EAA,0xC2,0x303}, {0x1EAB,0xE2,0x303},
    {0x1EAC,0x1EA0,0x302}, {0x1EAD,0x1EA1,0x302}, {0x1EAE,0x102,0x301},
    {0x1EAF,0x103,0x301}, {0x1EB0,0x102,0x300}, {0x1EB1,0x103,0x300},
    {0x1EB2,0x102,0x309}, {0x1EB3,0x103,0x309}, {0x1EB4,0x102,0x303},
    {0x1EB5,0x103,0x303}, {0x1EB6,0x1EA0,0x306}, {0x1EB7,0x1EA1,0x306},
    {0x1EB8,0x45,0x323}, {0x1EB9,0x65,0x323}, {0x1EBA,0x45,0x309},
    {0x1EBB,0x65,0x309}, {0x1EBC,0x45,0x303}, {0x1EBD,0x65,0x303},
    {0x1EBE,0xCA,0x301}, {0x1EBF,0xEA,0x301}, {0x1EC0,0xCA,0x300},
    {0x1EC1,0xEA,0x300}, {0x1EC2,0xCA,0x309}, {0x1EC3,0xEA,0x309},
    {0x1EC4,0xCA,0x303}, {0x1EC5,0xEA,0x303}, {0x1EC6,0x1EB8,0x302},
    {0x1EC7,0x1EB9,0x302}, {0x1EC8,0x49,0x309}, {0x1EC9,0x69,0x309},
    {0x1ECA,0x49,0x323}, {0x1ECB,0x69,0x323}, {0x1ECC,0x4F,0x323},
    {0x1ECD,0x6F,0x323}, {0x1ECE,0x4F,0x309}, {0x1ECF,0x6F,0x309},
    {0x1ED0,0xD4,0x301}, {0x1ED1,0xF4,0x301}, {0x1ED2,0xD4,0x300},
    {0x1ED3,0xF4,0x300}, {0x1ED4,0xD4,0x309}, {0x1ED5,0xF4,0x309},
    {0x1ED6,0xD4,0x303}, {0x1ED7,0xF4,0x303}, {0x1ED8,0x1ECC,0x302},
    {0x1ED9,0x1ECD,0x302}, {0x1EDA,0x1A0,0x301}, {0x1EDB,0x1A1,0x301},
    {0x1EDC,0x1A0,0x300}, {0x1EDD,0x1A1,0x300}, {0x1EDE,0x1A0,0x309},
    {0x1EDF,0x1A1,0x309}, {0x1EE0,0x1A0,0x303}, {0x1EE1,0x1A1,0x303},
    {0x1EE2,0x1A0,0x323}, {0x1EE3,0x1A1,0x323}, {0x1EE4,0x55,0x323},
    {0x1EE5,0x75,0x323}, {0x1EE6,0x55,0x309}, {0x1EE7,0x75,0x309},
    {0x1EE8,0x1AF,0x301}, {0x1EE9,0x1B0,0x301}, {0x1EEA,0x1AF,0x300},
    {0x1EEB,0x1B0,0x300}, {0x1EEC,0x1AF,0x309}, {0x1EED,0x1B0,0x309},
    {0x1EEE,0x1AF,0x303}, {0x1EEF,0x1B0,0x303}, {0x1EF0,0x1AF,0x323},
    {0x1EF1,0x1B0,0x323}, {0x1EF2,0x59,0x300}, {0x1EF3,0x79,0x300},
    {0x1EF4,0x59,0x323}, {0x1EF5,0x79,0x323}, {0x1EF6,0x59,0x309},
    {0x1EF7,0x79,0x309}, {0x1EF8,0x59,0x303}, {0x1EF9,0x79,0x303},
    {0x1F00,0x3B1,0x313}, {0x1F01,0x3B1,0x314}, {0x1F02,0x1F00,0x300},
    {0x1F03,0x1F01,0x300}, {0x1F04,0x1F00,0x301}, {0x1F05,0x1F01,0x301},
    {0x1F06,0x1F00,0x342}, {0x1F07,0x1F01,0x342}, {0x1F08,0x391,0x313},
    {0x1F09,0x391,0x314}, {0x1F0A,0x1F08,0x300}, {0x1F0B,0x1F09,0x300},
    {0x1F0C,0x1F08,0x301}, {0x1F0D,0x1F09,0x301}, {0x1F0E,0x1F08,0x342},
    {0x1F0F,0x1F09,0x342}, {0x1F10,0x3B5,0x313}, {0x1F11,0x3B5,0x314},
    {0x1F12,0x1F10,0x300}, {0x1F13,0x1F11,0x300}, {0x1F14,0x1F10,0x301},
    {0x1F15,0x1F11,0x301}, {0x1F18,0x395,0x313}, {0x1F19,0x395,0x314},
    {0x1F1A,0x1F18,0x300}, {0x1F1B,0x1F19,0x300}, {0x1F1C,0x1F18,0x301},
    {0x1F1D,0x1F19,0x301}, {0x1F20,0x3B7,0x313}, {0x1F21,0x3B7,0x314},
    {0x1F22,0x1F20,0x300}, {0x1F23,0x1F21,0x300}, {0x1F24,0x1F20,0x301},
    {0x1F25,0x1F21,0x301}, {0x1F26,0x1F20,0x342}, {0x1F27,0x1F21,0x342},
    {0x1F28,0x397,0x313}, {0x1F29,0x397,0x314}, {0x1F2A,0x1F28,0x300},
    {0x1F2B,0x1F29,0x300}, {0x1F2C,0x1F28,0x301}, {0x1F2D,0x1F29,0x301},
    {0x1F2E,0x1F28,0x342}, {0x1F2F,0x1F29,0x342}, {0x1F30,0x3B9,0x313},
    {0x1F31,0x3B9,0x314}, {0x1F32,0x1F30,0x300}, {0x1F33,0x1F31,0x300},
    {0x1F34,0x1F30,0x301}, {0x1F35,0x1F31,0x301}, {0x1F36,0x1F30,0x342},
    {0x1F37,0x1F31,0x342}, {0x1F38,0x399,0x313}, {0x1F39,0x399,0x314},
    {0x1F3A,0x1F38,0x300}, {0x1F3B,0x1F39,0x300}, {0x1F3C,0x1F38,0x301},
    {0x1F3D,0x1F39,0x301}, {0x1F3E,0x1F38,0x342}, {0x1F3F,0x1F39,0x342},
    {0x1F40,0x3BF,0x313}, {0x1F41,0x3BF,0x314}, {0x1F42,0x1F40,0x300},
    {0x1F43,0x1F41,0x300}, {0x1F44,0x1F40,0x301}, {0x1F45,0x1F41,0x301},
    {0x1F48,0x39F,0x313}, {0x1F49,0x39F,0x314}, {0x1F4A,0x1F48,0x300},
    {0x1F4B,0x1F49,0x300}, {0x1F4C,0x1F48,0x301}, {0x1F4D,0x1F49,0x301},
    {0x1F50,0x3C5,0x313}, {0x1F51,0x3C5,0x314}, {0x1F52,0x1F50,0x300},
    {0x1F53,0x1F51,0x300}, {0x1F54,0x1F50,0x301}, {0x1F55,0x1F51,0x301},
    {0x1F56,0x1F50,0x342}, {0x1F57,0x1F51,0x342}, {0x1F59,0x3A5,0x314},
    {0x1F5B,0x1F59,0x300}, {0x1F5D,0x1F59,0x301}, {0x1F5F,0x1F59,0x342},
    {0x1F60,0x3C9,0x313}, {0x1F61,0x3C9,0x314}, {0x1F62,0x1F60,0x300},
    {0x1F63,0x1F61,0x300}, {0x1F64,0x1F60,0x301}, {0x1F65,0x1F61,0x301},
    {0x1F66,0x1F60,0x342}, {0x1F67,0x1F61,0x342}, {0x1F68,0x3A9,0x313},
    {0x1F69,0x3A9,0x314}, {0x1F6A,0x1F68,0x300}, {0x1F6B,0x1F69,0x300},
    {0x1F6C,0x1F68,0x301}, {0x1F6D,0x1F69,0x301}, {0x1F6E,0x1F68,0x342},
    {0x1F6F,0x1F69,0x342}, {0x1F70,0x3B1,0x300}, {0x1F71,0x3AC,0x0},
    {0x1F72,0x3B5,0x300}, {0x1F73,0x3AD,0x0}, {0x1F74,0x3B7,0x300},
    {0x1F75,0x3AE,0x0}, {0x1F76,0x3B9,0x300}, {0x1F77,0x3AF,0x0},
    {0x1F78,0x3BF,0x300}, {0x1F79,0x3CC,0x0}, {0x1F7A,0x3C5,0x300},
    {0x1F7B,0x3CD,0x0}, {0x1F7C,0x3C9,0x300}, {0x1F7D,0x3CE,0x0},
    {0x1F80,0x1F00,0x345}, {0x1F81,0x1F01,0x345}, {0x1F82,0x1F02,0x345},
    {0x1F83,0x1F03,0x345}, {0x1F84,0x1F04,0x345}, {0x1F85,0x1F05,0x345},
    {0x1F86,0x1F06,0x345}, {0x1F87,0x1F07,0x345}, {0x1F88,0x1F08,0x345},
    {0x1F89,0x1F09,0x345}, {0x1F8A,0x1F0A,0x345}, {0x1F8B,0x1F0B,0x345},
    {0x1F8C,0x1F0C,0x345}, {0x1F8D,0x1F0D,0x345}, {0x1F8E,0x1F0E,0x345},
    {0x1F8F,0x1F0F,0x345}, {0x1F90,0x1F20,0x345}, {0x1F91,0x1F21,0x345},
    {0x1F92,0x1F22,0x345}, {0x1F93,0x1F23,0x345}, {0x1F94,0x1F24,0x345},
    {0x1F95,0x1F25,0x345}, {0x1F96,0x1F26,0x345}, {0x1F97,0x1F27,0x345},
    {0x1F98,0x1F28,0x345}, {0x1F99,0x1F29,0x345}, {0x1F9A,0x1F2A,0x345},
    {0x1F9B,0x1F2B,0x345}, {0x1F9C,0x1F2C,0x345}, {0x1F9D,0x1F2D,0x345},
    {0x1F9E,0x1F2E,0x345}, {0x1F9F,0x1F2F,0x345}, {0x1FA0,0x1F60,0x345},
    {0x1FA1,0x1F61,0x345}, {0x1FA2,0x1F62,0x345}, {0x1FA3,0x1F63,0x345},
    {0x1FA4,0x1F64,0x345}, {0x1FA5,0x1F65,0x345}, {0x1FA6,0x1F66,0x345},
    {0x1FA7,0x1F67,0x345}, {0x1FA8,0x1F68,0x345}, {0x1FA9,0x1F69,0x345},
    {0x1FAA,0x1F6A,0x345}, {0x1FAB,0x1F6B,0x345}, {0x1FAC,0x1F6C,0x345},
    {0x1FAD,0x1F6D,0x345}, {0x1FAE,0x1F6E,0x345}, {0x1FAF,0x1F6F,0x345},
    {0x1FB0,0x3B1,0x306}, {0x1FB1,0x3B1,0x304}, {0x1FB2,0x1F70,0x345},
    {0x1FB3,0x3B1,0x345}, {0x1FB4,0x3AC,0x345}, {0x1FB6,0x3B1,0x342},
    {0x1FB7,0x1FB6,0x345}, {0x1FB8,0x391,0x306}, {0x1FB9,0x391,0x304},
    {0x1FBA,0x391,0x300}, {0x1FBB,0x386,0x0}, {0x1FBC,0x391,0x345},
    {0x1FBE,0x3B9,0x0}, {0x1FC1,0xA8,0x342}, {0x1FC2,0x1F74,0x345},
    {0x1FC3,0x3B7,0x345}, {0x1FC4,0x3AE,0x345}, {0x1FC6,0x3B7,0x342},
    {0x1FC7,0x1FC6,0x345}, {0x1FC8,0x395,0x300}, {0x1FC9,0x388,0x0},
    {0x1FCA,0x397,0x300}, {0x1FCB,0x389,0x0}, {0x1FCC,0x397,0x345},
    {0x1FCD,0x1FBF,0x300}, {0x1FCE,0x1FBF,0x301}, {0x1FCF,0x1FBF,0x342},
    {0x1FD0,0x3B9,0x306}, {0x1FD1,0x3B9,0x304}, {0x1FD2,0x3CA,0x300},
    {0x1FD3,0x390,0x0}, {0x1FD6,0x3B9,0x342}, {0x1FD7,0x3CA,0x342},
    {0x1FD8,0x399,0x306}, {0x1FD9,0x399,0x304}, {0x1FDA,0x399,0x300},
    {0x1FDB,0x38A,0x0}, {0x1FDD,0x1FFE,0x300}, {0x1FDE,0x1FFE,0x301},
    {0x1FDF,0x1FFE,0x342}, {0x1FE0,0x3C5,0x306}, {0x1FE1,0x3C5,0x304},
    {0x1FE2,0x3CB,0x300}, {0x1FE3,0x3B0,0x0}, {0x1FE4,0x3C1,0x313},
    {0x1FE5,0x3C1,0x314}, {0x1FE6,0x3C5,0x342}, {0x1FE7,0x3CB,0x342},
    {0x1FE8,0x3A5,0x306}, {0x1FE9,0x3A5,0x304}, {0x1FEA,0x3A5,0x300},
    {0x1FEB,0x38E,0x0}, {0x1FEC,0x3A1,0x314}, {0x1FED,0xA8,0x300},
    {0x1FEE,0x385,0x0}, {0x1FEF,0x60,0x0}, {0x1FF2,0x1F7C,0x345},
    {0x1FF3,0x3C9,0x345}, {0x1FF4,0x3CE,0x345}, {0x1FF6,0x3C9,0x342},
    {0x1FF7,0x1FF6,0x345}, {0x1FF8,0x39F,0x300}, {0x1FF9,0x38C,0x0},
    {0x1FFA,0x3A9,0x300}, {0x1FFB,0x38F,0x0}, {0x1FFC,0x3A9,0x345},
    {0x1FFD,0xB4,0x0}, {0x2000,0x2002,0x0}, {0x2001,0x2003,0x0},
    {0x2126,0x3A9,0x0}, {0x212A,0x4B,0x0}, {0x212B,0xC5,0x0},
    {0x219A,0x2190,0x338}, {0x219B,0x2192,0x338}, {0x21AE,0x2194,0x338},
    {0x21CD,0x21D0,0x338}, {0x21CE,0x21D4,0x338}, {0x21CF,0x21D2,0x338},
    {0x2204,0x2203,0x338}, {0x2209,0x2208,0x338}, {0x220C,0x220B,0x338},
    {0x2224,0x2223,0x338}, {0x2226,0x2225,0x338}, {0x2241,0x223C,0x338},
    {0x2244,0x2243,0x338}, {0x2247,0x2245,0x338}, {0x2249,0x2248,0x338},
    {0x2260,0x3D,0x338}, {0x2262,0x2261,0x338}, {0x226D,0x224D,0x338},
    {0x226E,0x3C,0x338}, {0x226F,0x3E,0x338}, {0x2270,0x2264,0x338},
    {0x2271,0x2265,0x338}, {0x2274,0x2272,0x338}, {0x2275,0x2273,0x338},
    {0x2278,0x2276,0x338}, {0x2279,0x2277,0x338}, {0x2280,0x227A,0x338},
    {0x2281,0x227B,0x338}, {0x2284,0x2282,0x338}, {0x2285,0x2283,0x338},
    {0x2288,0x2286,0x338}, {0x2289,0x2287,0x338}, {0x22AC,0x22A2,0x338},
    {0x22AD,0x22A8,0x338}, {0x22AE,0x22A9,0x338}, {0x22AF,0x22AB,0x338},
    {0x22E0,0x227C,0x338}, {0x22E1,0x227D,0x338}, {0x22E2,0x2291,0x338},
    {0x22E3,0x2292,0x338}, {0x22EA,0x22B2,0x338}, {0x22EB,0x22B3,0x338},
    {0x22EC,0x22B4,0x338}, {0x22ED,0x22B5,0x338}, {0x2329,0x3008,0x0},
    {0x232A,0x3009,0x0}, {0x2ADC,0x2ADD,0x338}, {0x304C,0x304B,0x3099},
    {0x304E,0x304D,0x3099}, {0x3050,0x304F,0x3099}, {0x3052,0x3051,0x3099},
    {0x3054,0x3053,0x3099}, {0x3056,0x3055,0x3099}, {0x3058,0x3057,0x3099},
    {0x305A,0x3059,0x3099}, {0x305C,0x305B,0x3099}, {0x305E,0x305D,0x3099},
    {0x3060,0x305F,0x3099}, {0x3062,0x3061,0x3099}, {0x3065,0x3064,0x3099},
    {0x3067,0x3066,0x3099}, {0x3069,0x3068,0x3099}, {0x3070,0x306F,0x3099},
    {0x3071,0x306F,0x309A}, {0x3073,0x3072,0x3099}, {0x3074,0x3072,0x309A},
    {0x3076,0x3075,0x3099}, {0x3077,0x3075,0x309A}, {0x3079,0x3078,0x3099},
    {0x307A,0x3078,0x309A}, {0x307C,0x307B,0x3099}, {0x307D,0x307B,0x309A},
    {0x3094,0x3046,0x3099}, {0x309E,0x309D,0x3099}, {0x30AC,0x30AB,0x3099},
    {0x30AE,0x30AD,0x3099}, {0x30B0,0x30AF,0x3099}, {0x30B2,0x30B1,0x3099},
    {0x30B4,0x30B3,0x3099}, {0x30B6,0x30B5,0x3099}, {0x30B8,0x30B7,0x3099},
    {0x30BA,0x30B9,0x3099}, {0x30BC,0x30BB,0x3099}, {0x30BE,0x30BD,0x3099},
    {0x30C0,0x30BF,0x3099}, {0x30C2,0x30C1,0x3099}, {0x30C5,0x30C4,0x3099},
    {0x30C7,0x30C6,0x3099}, {0x30C9,0x30C8,0x3099}, {0x30D0,0x30CF,0x3099},
    {0x30D1,0x30CF,0x309A}, {0x30D3,0x30D2,0x3099}, {0x30D4,0x30D2,0x309A},
    {0x30D6,0x30D5,0x3099}, {0x30D7,0x30D5,0x309A}, {0x30D9,0x30D8,0x3099},
    {0x30DA,0x30D8,0x309A}, {0x30DC,0x30DB,0x3099}, {0x30DD,0x30DB,0x309A},
    {0x30F4,0x30A6,0x3099}, {0x30F7,0x30EF,0x3099}, {0x30F8,0x30F0,0x3099},
    {0x30F9,0x30F1,0x3099}, {0x30FA,0x30F2,0x3099}, {0x30FE,0x30FD,0x3099},
    {0xF900,0x8C48,0x0}, {0xF901,0x66F4,0x0}, {0xF902,0x8ECA,0x0},
    {0xF903,0x8CC8,0x0}, {0xF904,0x6ED1,0x0}, {0xF905,0x4E32,0x0},
    {0xF906,0x53E5,0x0}, {0xF907,0x9F9C,0x0}, {0xF908,0x9F9C,0x0},
    {0xF909,0x5951,0x0}, {0xF90A,0x91D1,0x0}, {0xF90B,0x5587,0x0},
    {0xF90C,0x5948,0x0}, {0xF90D,0x61F6,0x0}, {0xF90E,0x7669,0x0},
    {0xF90F,0x7F85,0x0}, {0xF910,0x863F,0x0}, {0xF911,0x87BA,0x0},
    {0xF912,0x88F8,0x0}, {0xF913,0x908F,0x0}, {0xF914,0x6A02,0x0},
    {0xF915,0x6D1B,0x0}, {0xF916,0x70D9,0x0}, {0xF917,0x73DE,0x0},
    {0xF918,0x843D,0x0}, {0xF919,0x916A,0x0}, {0xF91A,0x99F1,0x0},
    {0xF91B,0x4E82,0x0}, {0xF91C,0x5375,0x0}, {0xF91D,0x6B04,0x0},
    {0xF91E,0x721B,0x0}, {0xF91F,0x862D,0x0}, {0xF920,0x9E1E,0x0},
    {0xF921,0x5D50,0x0}, {0xF922,0x6FEB,0x0}, {0xF923,0x85CD,0x0},
    {0xF924,0x8964,0x0}, {0xF925,0x62C9,0x0}, {0xF926,0x81D8,0x0},
    {0xF927,0x881F,0x0}, {0xF928,0x5ECA,0x0}, {0xF929,0x6717,0x0},
    {0xF92A,0x6D6A,0x0}, {0xF92B,0x72FC,0x0}, {0xF92C,0x90CE,0x0},
    {0xF92D,0x4F86,0x0}, {0xF92E,0x51B7,0x0}, {0xF92F,0x52DE,0x0},
    {0xF930,0x64C4,0x0}, {0xF931,0x6AD3,0x0}, {0xF932,0x7210,0x0},
    {0xF933,0x76E7,0x0}, {0xF934,0x8001,0x0}, {0xF935,0x8606,0x0},
    {0xF936,0x865C,0x0}, {0xF937,0x8DEF,0x0}, {0xF938,0x9732,0x0},
    {0xF939,0x9B6F,0x0}, {0xF93A,0x9DFA,0x0}, {0xF93B,0x788C,0x0},
    {0xF93C,0x797F,0x0}, {0xF93D,0x7DA0,0x0}, {0xF93E,0x83C9,0x0},
    {0xF93F,0x9304,0x0}, {0xF940,0x9E7F,0x0}, {0xF941,0x8AD6,0x0},
    {0xF942,0x58DF,0x0}, {0xF943,0x5F04,0x0}, {0xF944,0x7C60,0x0},
    {0xF945,0x807E,0x0}, {0xF946,0x7262,0x0}, {0xF947,0x78CA,0x0},
    {0xF948,0x8CC2,0x0}, {0xF949,0x96F7,0x0}, {0xF94A,0x58D8,0x0},
    {0xF94B,0x5C62,0x0}, {0xF94C,0x6A13,0x0}, {0xF94D,0x6DDA,0x0},
    {0xF94E,0x6F0F,0x0}, {0xF94F,0x7D2F,0x0}, {0xF950,0x7E37,0x0},
    {0xF951,0x964B,0x0}, {0xF952,0x52D2,0x0}, {0xF953,0x808B,0x0},
    {0xF954,0x51DC,0x0}, {0xF955,0x51CC,0x0}, {0xF956,0x7A1C,0x0},
    {0xF957,0x7DBE,0x0}, {0xF958,0x83F1,0x0}, {0xF959,0x9675,0x0},
    {0xF95A,0x8B80,0x0}, {0xF95B,0x62CF,0x0}, {0xF95C,0x6A02,0x0},
    {0xF95D,0x8AFE,0x0}, {0xF95E,0x4E39,0x0}, {0xF95F,0x5BE7,0x0},
    {0xF960,0x6012,0x0}, {0xF961,0x7387,0x0}, {0xF962,0x7570,0x0},
    {0xF963,0x5317,0x0}, {0xF964,0x78FB,0x0}, {0xF965,0x4FBF,0x0},
    {0xF966,0x5FA9,0x0}, {0xF967,0x4E0D,0x0}, {0xF968,0x6CCC,0x0},
    {0xF969,0x6578,0x0}, {0xF96A,0x7D22,0x0}, {0xF96B,0x53C3,0x0},
    {0xF96C,0x585E,0x0}, {0xF96D,0x7701,0x0}, {0xF96E,0x8449,0x0},
    {0xF96F,0x8AAA,0x0}, {0xF970,0x6BBA,0x0}, {0xF971,0x8FB0,0x0},
    {0xF972,0x6C88,0x0}, {0xF973,0x62FE,0x0}, {0xF974,0x82E5,0x0},
    {0xF975,0x63A0,0x0}, {0xF976,0x7565,0x0}, {0xF977,0x4EAE,0x0},
    {0xF978,0x5169,0x0}, {0xF979,0x51C9,0x0}, {0xF97A,0x6881,0x0},
    {0xF97B,0x7CE7,0x0}, {0xF97C,0x826F,0x0}, {0xF97D,0x8AD2,0x0},
    {0xF97E,0x91CF,0x0}, {0xF97F,0x52F5,0x0}, {0xF980,0x5442,0x0},
    {0xF981,0x5973,0x0}, {0xF982,0x5EEC,0x0}, {0xF983,0x65C5,0x0},
    {0xF984,0x6FFE,0x0}, {0xF985,0x792A,0x0}, {0xF986,0x95AD,0x0},
    {0xF987,0x9A6A,0x0}, {0xF988,0x9E97,0x0}, {0xF989,0x9ECE,0x0},
    {0xF98A,0x529B,0x0}, {0xF98B,0x66C6,0x0}, {0xF98C,0x6B77,0x0},
    {0xF98D,0x8F62,0x0}, {0xF98E,0x5E74,0x0}, {0xF98F,0x6190,0x0},
    {0xF990,0x6200,0x0}, {0xF991,0x649A,0x0}, {0xF992,0x6F23,0x0},
    {0xF993,0x7149,0x0}, {0xF994,0x7489,0x0}, {0xF995,0x79CA,0x0},
    {0xF996,0x7DF4,0x0}, {0xF997,0x806F,0x0}, {0xF998,0x8F26,0x0},
    {0xF999,0x84EE,0x0}, {0xF99A,0x9023,0x0}, {0xF99B,0x934A,0x0},
    {0xF99C,0x5217,0x0}, {0xF99D,0x52A3,0x0}, {0xF99E,0x54BD,0x0},
    {0xF99F,0x70C8,0x0}, {0xF9A0,0x88C2,0x0}, {0xF9A1,0x8AAA,0x0},
    {0xF9A2,0x5EC9,0x0}, {0xF9A3,0x5FF5,0x0}, {0xF9A4,0x637B,0x0},
    {0xF9A5,0x6BAE,0x0}, {0xF9A6,0x7C3E,0x0}, {0xF9A7,0x7375,0x0},
    {0xF9A8,0x4EE4,0x0}, {0xF9A9,0x56F9,0x0}, {0xF9AA,0x5BE7,0x0},
    {0xF9AB,0x5DBA,0x0}, {0xF9AC,0x601C,0x0}, {0xF9AD,0x73B2,0x0},
    {0xF9AE,0x7469,0x0}, {0xF9AF,0x7F9A,0x0}, {0xF9B0,0x8046,0x0},
    {0xF9B1,0x9234,0x0}, {0xF9B2,0x96F6,0x0}, {0xF9B3,0x9748,0x0},
    {0xF9B4,0x9818,0x0}, {0xF9B5,0x4F8B,0x0}, {0xF9B6,0x79AE,0x0},
    {0xF9B7,0x91B4,0x0}, {0xF9B8,0x96B8,0x0}, {0xF9B9,0x60E1,0x0},
    {0xF9BA,0x4E86,0x0}, {0xF9BB,0x50DA,0x0}, {0xF9BC,0x5BEE,0x0},
    {0xF9BD,0x5C3F,0x0}, {0xF9BE,0x6599,0x0}, {0xF9BF,0x6A02,0x0},
    {0xF9C0,0x71CE,0x0}, {0xF9C1,0x7642,0x0}, {0xF9C2,0x84FC,0x0},
    {0xF9C3,0x907C,0x0}, {0xF9C4,0x9F8D,0x0}, {0xF9C5,0x6688,0x0},
    {0xF9C6,0x962E,0x0}, {0xF9C7,0x5289,0x0}, {0xF9C8,0x677B,0x0},
    {0xF9C9,0x67F3,0x0}, {0xF9CA,0x6D41,0x0}, {0xF9CB,0x6E9C,0x0},
    {0xF9CC,0x7409,0x0}, {0xF9CD,0x7559,0x0}, {0xF9CE,0x786B,0x0},
    {0xF9CF,0x7D10,0x0}, {0xF9D0,0x985E,0x0}, {0xF9D1,0x516D,0x0},
    {0xF9D2,0x622E,0x0}, {0xF9D3,0x9678,0x0}, {0xF9D4,0x502B,0x0},
    {0xF9D5,0x5D19,0x0}, {0xF9D6,0x6DEA,0x0}, {0xF9D7,0x8F2A,0x0},
    {0xF9D8,0x5F8B,0x0}, {0xF9D9,0x6144,0x0}, {0xF9DA,0x6817,0x0},
    {0xF9DB,0x7387,0x0}, {0xF9DC,0x9686,0x0}, {0xF9DD,0x5229,0x0},
    {0xF9DE,0x540F,0x0}, {0xF9DF,0x5C65,0x0}, {0xF9E0,0x6613,0x0},
    {0xF9E1,0x674E,0x0}, {0xF9E2,0x68A8,0x0}, {0xF9E3,0x6CE5,0x0},
    {0xF9E4,0x7406,0x0}, {0xF9E5,0x75E2,0x0}, {0xF9E6,0x7F79,0x0},
    {0xF9E7,0x88CF,0x0}, {0xF9E8,0x88E1,0x0}, {0xF9E9,0x91CC,0x0},
    {0xF9EA,0x96E2,0x0}, {0xF9EB,0x533F,0x0}, {0xF9EC,0x6EBA,0x0},
    {0xF9ED,0x541D,0x0}, {0xF9EE,0x71D0,0x0}, {0xF9EF,0x7498,0x0},
    {0xF9F0,0x85FA,0x0}, {0xF9F1,0x96A3,0x0}, {0xF9F2,0x9C57,0x0},
    {0xF9F3,0x9E9F,0x0}, {0xF9F4,0x6797,0x0}, {0xF9F5,0x6DCB,0x0},
    {0xF9F6,0x81E8,0x0}, {0xF9F7,0x7ACB,0x0}, {0xF9F8,0x7B20,0x0},
    {0xF9F9,0x7C92,0x0}, {0xF9FA,0x72C0,0x0}, {0xF9FB,0x7099,0x0},
    {0xF9FC,0x8B58,0x0}, {0xF9FD,0x4EC0,0x0}, {0xF9FE,0x8336,0x0},
    {0xF9FF,0x523A,0x0}, {0xFA00,0x5207,0x0}, {0xFA01,0x5EA6,0x0},
    {0xFA02,0x62D3,0x0}, {0xFA03,0x7CD6,0x0}, {0xFA04,0x5B85,0x0},
    {0xFA05,0x6D1E,0x0}, {0xFA06,0x66B4,0x0}, {0xFA07,0x8F3B,0x0},
    {0xFA08,0x884C,0x0}, {0xFA09,0x964D,0x0}, {0xFA0A,0x898B,0x0},
    {0xFA0B,0x5ED3,0x0}, {0xFA0C,0x5140,0x0}, {0xFA0D,0x55C0,0x0},
    {0xFA10,0x585A,0x0}, {0xFA12,0x6674,0x0}, {0xFA15,0x51DE,0x0},
    {0xFA16,0x732A,0x0}, {0xFA17,0x76CA,0x0}, {0xFA18,0x793C,0x0},
    {0xFA19,0x795E,0x0}, {0xFA1A,0x7965,0x0}, {0xFA1B,0x798F,0x0},
    {0xFA1C,0x9756,0x0}, {0xFA1D,0x7CBE,0x0}, {0xFA1E,0x7FBD,0x0},
    {0xFA20,0x8612,0x0}, {0xFA22,0x8AF8,0x0}, {0xFA25,0x9038,0x0},
    {0xFA26,0x90FD,0x0}, {0xFA2A,0x98EF,0x0}, {0xFA2B,0x98FC,0x0},
    {0xFA2C,0x9928,0x0}, {0xFA2D,0x9DB4,0x0}, {0xFA2E,0x90DE,0x0},
    {0xFA2F,0x96B7,0x0}, {0xFA30,0x4FAE,0x0}, {0xFA31,0x50E7,0x0},
    {0xFA32,0x514D,0x0}, {0xFA33,0x52C9,0x0}, {0xFA34,0x52E4,0x0},
    {0xFA35,0x5351,0x0}, {0xFA36,0x559D,0x0}, {0xFA37,0x5606,0x0},
    {0xFA38,0x5668,0x0}, {0xFA39,0x5840,0x0}, {0xFA3A,0x58A8,0x0},
    {0xFA3B,0x5C64,0x0}, {0xFA3C,0x5C6E,0x0}, {0xFA3D,0x6094,0x0},
    {0xFA3E,0x6168,0x0}, {0xFA3F,0x618E,0x0}, {0xFA40,0x61F2,0x0},
    {0xFA41,0x654F,0x0}, {0xFA42,0x65E2,0x0}, {0xFA43,0x6691,0x0},
    {0xFA44,0x6885,0x0}, {0xFA45,0x6D77,0x0}, {0xFA46,0x6E1A,0x0},
    {0xFA47,0x6F22,0x0}, {0xFA48,0x716E,0x0}, {0xFA49,0x722B,0x0},
    {0xFA4A,0x7422,0x0}, {0xFA4B,0x7891,0x0}, {0xFA4C,0x793E,0x0},
    {0xFA4D,0x7949,0x0}, {0xFA4E,0x7948,0x0}, {0xFA4F,0x7950,0x0},
    {0xFA50,0x7956,0x0}, {0xFA51,0x795D,0x0}, {0xFA52,0x798D,0x0},
    {0xFA53,0x798E,0x0}, {0xFA54,0x7A40,0x0}, {0xFA55,0x7A81,0x0},
    {0xFA56,0x7BC0,0x0}, {0xFA57,0x7DF4,0x0}, {0xFA58,0x7E09,0x0},
    {0xFA59,0x7E41,0x0}, {0xFA5A,0x7F72,0x0}, {0xFA5B,0x8005,0x0},
    {0xFA5C,0x81ED,0x0}, {0xFA5D,0x8279,0x0}, {0xFA5E,0x8279,0x0},
    {0xFA5F,0x8457,0x0}, {0xFA60,0x8910,0x0}, {0xFA61,0x8996,0x0},
    {0xFA62,0x8B01,0x0}, {0xFA63,0x8B39,0x0}, {0xFA64,0x8CD3,0x0},
    {0xFA65,0x8D08,0x0}, {0xFA66,0x8FB6,0x0}, {0xFA67,0x9038,0x0},
    {0xFA68,0x96E3,0x0}, {0xFA69,0x97FF,0x0}, {0xFA6A,0x983B,0x0},
    {0xFA6B,0x6075,0x0}, {0xFA6C,0x242EE,0x0}, {0xFA6D,0x8218,0x0},
    {0xFA70,0x4E26,0x0}, {0xFA71,0x51B5,0x0}, {0xFA72,0x5168,0x0},
    {0xFA73,0x4F80,0x0}, {0xFA74,0x5145,0x0}, {0xFA75,0x5180,0x0},
    {0xFA76,0x52C7,0x0}, {0xFA77,0x52FA,0x0}, {0xFA78,0x559D,0x0},
    {0xFA79,0x5555,0x0}, {0xFA7A,0x5599,0x0}, {0xFA7B,0x55E2,0x0},
    {0xFA7C,0x585A,0x0}, {0xFA7D,0x58B3,0x0}, {0xFA7E,0x5944,0x0},
    {0xFA7F,0x5954,0x0}, {0xFA80,0x5A62,0x0}, {0xFA81,0x5B28,0x0},
    {0xFA82,0x5ED2,0x0}, {0xFA83,0x5ED9,0x0}, {0xFA84,0x5F69,0x0},
    {0xFA85,0x5FAD,0x0}, {0xFA86,0x60D8,0x0}, {0xFA87,0x614E,0x0},
    {0xFA88,0x6108,0x0}, {0xFA89,0x618E,0x0}, {0xFA8A,0x6160,0x0},
    {0xFA8B,0x61F2,0x0}, {0xFA8C,0x6234,0x0}, {0xFA8D,0x63C4,0x0},
    {0xFA8E,0x641C,0x0}, {0xFA8F,0x6452,0x0}, {0xFA90,0x6556,0x0},
    {0xFA91,0x6674,0x0}, {0xFA92,0x6717,0x0}, {0xFA93,0x671B,0x0},
    {0xFA94,0x6756,0x0}, {0xFA95,0x6B79,0x0}, {0xFA96,0x6BBA,0x0},
    {0xFA97,0x6D41,0x0}, {0xFA98,0x6EDB,0x0}, {0xFA99,0x6ECB,0x0},
    {0xFA9A,0x6F22,0x0}, {0xFA9B,0x701E,0x0}, {0xFA9C,0x716E,0x0},
    {0xFA9D,0x77A7,0x0}, {0xFA9E,0x7235,0x0}, {0xFA9F,0x72AF,0x0},
    {0xFAA0,0x732A,0x0}, {0xFAA1,0x7471,0x0}, {0xFAA2,0x7506,0x0},
    {0xFAA3,0x753B,0x0}, {0xFAA4,0x761D,0x0}, {0xFAA5,0x761F,0x0},
    {0xFAA6,0x76CA,0x0}, {0xFAA7,0x76DB,0x0}, {0xFAA8,0x76F4,0x0},
    {0xFAA9,0x774A,0x0}, {0xFAAA,0x7740,0x0}, {0xFAAB,0x78CC,0x0},
    {0xFAAC,0x7AB1,0x0}, {0xFAAD,0x7BC0,0x0}, {0xFAAE,0x7C7B,0x0},
    {0xFAAF,0x7D5B,0x0}, {0xFAB0,0x7DF4,0x0}, {0xFAB1,0x7F3E,0x0},
    {0xFAB2,0x8005,0x0}, {0xFAB3,0x8352,0x0}, {0xFAB4,0x83EF,0x0},
    {0xFAB5,0x8779,0x0}, {0xFAB6,0x8941,0x0}, {0xFAB7,0x8986,0x0},
    {0xFAB8,0x8996,0x0}, {0xFAB9,0x8ABF,0x0}, {0xFABA,0x8AF8,0x0},
    {0xFABB,0x8ACB,0x0}, {0xFABC,0x8B01,0x0}, {0xFABD,0x8AFE,0x0},
    {0xFABE,0x8AED,0x0}, {0xFABF,0x8B39,0x0}, {0xFAC0,0x8B8A,0x0},
    {0xFAC1,0x8D08,0x0}, {0xFAC2,0x8F38,0x0}, {0xFAC3,0x9072,0x0},
    {0xFAC4,0x9199,0x0}, {0xFAC5,0x9276,0x0}, {0xFAC6,0x967C,0x0},
    {0xFAC7,0x96E3,0x0}, {0xFAC8,0x9756,0x0}, {0xFAC9,0x97DB,0x0},
    {0xFACA,0x97FF,0x0}, {0xFACB,0x980B,0x0}, {0xFACC,0x983B,0x0},
    {0xFACD,0x9B12,0x0}, {0xFACE,0x9F9C,0x0}, {0xFACF,0x2284A,0x0},
    {0xFAD0,0x22844,0x0}, {0xFAD1,0x233D5,0x0}, {0xFAD2,0x3B9D,0x0},
    {0xFAD3,0x4018,0x0}, {0xFAD4,0x4039,0x0}, {0xFAD5,0x25249,0x0},
    {0xFAD6,0x25CD0,0x0}, {0xFAD7,0x27ED3,0x0}, {0xFAD8,0x9F43,0x0},
    {0xFAD9,0x9F8E,0x0}, {0xFB1D,0x5D9,0x5B4}, {0xFB1F,0x5F2,0x5B7},
    {0xFB2A,0x5E9,0x5C1}, {0xFB2B,0x5E9,0x5C2}, {0xFB2C,0xFB49,0x5C1},
    {0xFB2D,0xFB49,0x5C2}, {0xFB2E,0x5D0,0x5B7}, {0xFB2F,0x5D0,0x5B8},
    {0xFB30,0x5D0,0x5BC}, {0xFB31,0x5D1,0x5BC}, {0xFB32,0x5D2,0x5BC},
    {0xFB33,0x5D3,0x5BC}, {0xFB34,0x5D4,0x5BC}, {0xFB35,0x5D5,0x5BC},
    {0xFB36,0x5D6,0x5BC}, {0xFB38,0x5D8,0x5BC}, {0xFB39,0x5D9,0x5BC},
    {0xFB3A,0x5DA,0x5BC}, {0xFB3B,0x5DB,0x5BC}, {0xFB3C,0x5DC,0x5BC},
    {0xFB3E,0x5DE,0x5BC}, {0xFB40,0x5E0,0x5BC}, {0xFB41,0x5E1,0x5BC},
    {0xFB43,0x5E3,0x5BC}, {0xFB44,0x5E4,0x5BC}, {0xFB46,0x5E6,0x5BC},
    {0xFB47,0x5E7,0x5BC}, {0xFB48,0x5E8,0x5BC}, {0xFB49,0x5E9,0x5BC},
    {0xFB4A,0x5EA,0x5BC}, {0xFB4B,0x5D5,0x5B9}, {0xFB4C,0x5D1,0x5BF},
    {0xFB4D,0x5DB,0x5BF}, {0xFB4E,0x5E4,0x5BF}, {0x1109A,0x11099,0x110BA},
    {0x1109C,0x1109B,0x110BA}, {0x110AB,0x110A5,0x110BA}, {0x1112E,0x11131,0x11127},
    {0x1112F,0x11132,0x11127}, {0x1134B,0x11347,0x1133E}, {0x1134C,0x11347,0x11357},
    {0x114BB,0x114B9,0x114BA}, {0x114BC,0x114B9,0x114B0}, {0x114BE,0x114B9,0x114BD},
    {0x115BA,0x115B8,0x115AF}, {0x115BB,0x115B9,0x115AF}, {0x1D15E,0x1D157,0x1D165},
    {0x1D15F,0x1D158,0x1D165}, {0x1D160,0x1D15F,0x1D16E}, {0x1D161,0x1D15F,0x1D16F},
    {0x1D162,0x1D15F,0x1D170}, {0x1D163,0x1D15F,0x1D171}, {0x1D164,0x1D15F,0x1D172},
    {0x1D1BB,0x1D1B9,0x1D165}, {0x1D1BC,0x1D1BA,0x1D165}, {0x1D1BD,0x1D1BB,0x1D16E},
    {0x1D1BE,0x1D1BC,0x1D16E}, {0x1D1BF,0x1D1BB,0x1D16F}, {0x1D1C0,0x1D1BC,0x1D16F},
    {0x2F800,0x4E3D,0x0}, {0x2F801,0x4E38,0x0}, {0x2F802,0x4E41,0x0},
    {0x2F803,0x20122,0x0}, {0x2F804,0x4F60,0x0}, {0x2F805,0x4FAE,0x0},
    {0x2F806,0x4FBB,0x0}, {0x2F807,0x5002,0x0}, {0x2F808,0x507A,0x0},
    {0x2F809,0x5099,0x0}, {0x2F80A,0x50E7,0x0}, {0x2F80B,0x50CF,0x0},
    {0x2F80C,0x349E,0x0}, {0x2F80D,0x2063A,0x0}, {0x2F80E,0x514D,0x0},
    {0x2F80F,0x5154,0x0}, {0x2F810,0x5164,0x0}, {0x2F811,0x5177,0x0},
    {0x2F812,0x2051C,0x0}, {0x2F813,0x34B9,0x0}, {0x2F814,0x5167,0x0},
    {0x2F815,0x518D,0x0}, {0x2F816,0x2054B,0x0}, {0x2F817,0x5197,0x0},
    {0x2F818,0x51A4,0x0}, {0x2F819,0x4ECC,0x0}, {0x2F81A,0x51AC,0x0},
    {0x2F81B,0x51B5,0x0}, {0x2F81C,0x291DF,0x0}, {0x2F81D,0x51F5,0x0},
    {0x2F81E,0x5203,0x0}, {0x2F81F,0x34DF,0x0}, {0x2F820,0x523B,0x0},
    {0x2F821,0x5246,0x0}, {0x2F822,0x5272,0x0}, {0x2F823,0x5277,0x0},
    {0x2F824,0x3515,0x0}, {0x2F825,0x52C7,0x0}, {0x2F826,0x52C9,0x0},
    {0x2F827,0x52E4,0x0}, {0x2F828,0x52FA,0x0}, {0x2F829,0x5305,0x0},
    {0x2F82A,0x5306,0x0}, {0x2F82B,0x5317,0x0}, {0x2F82C,0x5349,0x0},
    {0x2F82D,0x5351,0x0}, {0x2F82E,0x535A,0x0}, {0x2F82F,0x5373,0x0},
    {0x2F830,0x537D,0x0}, {0x2F831,0x537F,0x0}, {0x2F832,0x537F,0x0},
    {0x2F833,0x537F,0x0}, {0x2F834,0x20A2C,0x0}, {0x2F835,0x7070,0x0},
    {0x2F836,0x53CA,0x0}, {0x2F837,0x53DF,0x0}, {0x2F838,0x20B63,0x0},
    {0x2F839,0x53EB,0x0}, {0x2F83A,0x53F1,0x0}, {0x2F83B,0x5406,0x0},
    {0x2F83C,0x549E,0x0}, {0x2F83D,0x5438,0x0}, {0x2F83E,0x5448,0x0},
    {0x2F83F,0x5468,0x0}, {0x2F840,0x54A2,0x0}, {0x2F841,0x54F6,0x0},
    {0x2F842,0x5510,0x0}, {0x2F843,0x5553,0x0}, {0x2F844,0x5563,0x0},
    {0x2F845,0x5584,0x0}, {0x2F846,0x5584,0x0}, {0x2F847,0x5599,0x0},
    {0x2F848,0x55AB,0x0}, {0x2F849,0x55B3,0x0}, {0x2F84A,0x55C2,0x0},
    {0x2F84B,0x5716,0x0}, {0x2F84C,0x5606,0x0}, {0x2F84D,0x5717,0x0},
    {0x2F84E,0x5651,0x0}, {0x2F84F,0x5674,0x0}, {0x2F850,0x5207,0x0},
    {0x2F851,0x58EE,0x0}, {0x2F852,0x57CE,0x0}, {0x2F853,0x57F4,0x0},
    {0x2F854,0x580D,0x0}, {0x2F855,0x578B,0x0}, {0x2F856,0x5832,0x0},
    {0x2F857,0x5831,0x0}, {0x2F858,0x58AC,0x0}, {0x2F859,0x214E4,0x0},
    {0x2F85A,0x58F2,0x0}, {0x2F85B,0x58F7,0x0}, {0x2F85C,0x5906,0x0},
    {0x2F85D,0x591A,0x0}, {0x2F85E,0x5922,0x0}, {0x2F85F,0x5962,0x0},
    {0x2F860,0x216A8,0x0}, {0x2F861,0x216EA,0x0}, {0x2F862,0x59EC,0x0},
    {0x2F863,0x5A1B,0x0}, {0x2F864,0x5A27,0x0}, {0x2F865,0x59D8,0x0},
    {0x2F866,0x5A66,0x0}, {0x2F867,0x36EE,0x0}, {0x2F868,0x36FC,0x0},
    {0x2F869,0x5B08,0x0}, {0x2F86A,0x5B3E,0x0}, {0x2F86B,0x5B3E,0x0},
    {0x2F86C,0x219C8,0x0}, {0x2F86D,0x5BC3,0x0}, {0x2F86E,0x5BD8,0x0},
    {0x2F86F,0x5BE7,0x0}, {0x2F870,0x5BF3,0x0}, {0x2F871,0x21B18,0x0},
    {0x2F872,0x5BFF,0x0}, {0x2F873,0x5C06,0x0}, {0x2F874,0x5F53,0x0},
    {0x2F875,0x5C22,0x0}, {0x2F876,0x3781,0x0}, {0x2F877,0x5C60,0x0},
    {0x2F878,0x5C6E,0x0}, {0x2F879,0x5CC0,0x0}, {0x2F87A,0x5C8D,0x0},
    {0x2F87B,0x21DE4,0x0}, {0x2F87C,0x5D43,0x0}, {0x2F87D,0x21DE6,0x0},
    {0x2F87E,0x5D6E,0x0}, {0x2F87F,0x5D6B,0x0}, {0x2F880,0x5D7C,0x0},
    {0x2F881,0x5DE1,0x0}, {0x2F882,0x5DE2,0x0}, {0x2F883,0x382F,0x0},
    {0x2F884,0x5DFD,0x0}, {0x2F885,0x5E28,0x0}, {0x2F886,0x5E3D,0x0},
    {0x2F887,0x5E69,0x0}, {0x2F888,0x3862,0x0}, {0x2F889,0x22183,0x0},
    {0x2F88A,0x387C,0x0}, {0x2F88B,0x5EB0,0x0}, {0x2F88C,0x5EB3,0x0},
    {0x2F88D,0x5EB6,0x0}, {0x2F88E,0x5ECA,0x0}, {0x2F88F,0x2A392,0x0},
    {0x2F890,0x5EFE,0x0}, {0x2F891,0x22331,0x0}, {0x2F892,0x22331,0x0},
    {0x2F893,0x8201,0x0}, {0x2F894,0x5F22,0x0}, {0x2F895,0x5F22,0x0},
    {0x2F896,0x38C7,0x0}, {0x2F897,0x232B8,0x0}, {0x2F898,0x261DA,0x0},
    {0x2F899,0x5F62,0x0}, {0x2F89A,0x5F6B,0x0}, {0x2F89B,0x38E3,0x0},
    {0x2F89C,0x5F9A,0x0}, {0x2F89D,0x5FCD,0x0}, {0x2F89E,0x5FD7,0x0},
    {0x2F89F,0x5FF9,0x0}, {0x2F8A0,0x6081,0x0}, {0x2F8A1,0x393A,0x0},
    {0x2F8A2,0x391C,0x0}, {0x2F8A3,0x6094,0x0}, {0x2F8A4,0x226D4,0x0},
    {0x2F8A5,0x60C7,0x0}, {0x2F8A6,0x6148,0x0}, {0x2F8A7,0x614C,0x0},
    {0x2F8A8,0x614E,0x0}, {0x2F8A9,0x614C,0x0}, {0x2F8AA,0x617A,0x0},
    {0x2F8AB,0x618E,0x0}, {0x2F8AC,0x61B2,0x0}, {0x2F8AD,0x61A4,0x0},
    {0x2F8AE,0x61AF,0x0}, {0x2F8AF,0x61DE,0x0}, {0x2F8B0,0x61F2,0x0},
    {0x2F8B1,0x61F6,0x0}, {0x2F8B2,0x6210,0x0}, {0x2F8B3,0x621B,0x0},
    {0x2F8B4,0x625D,0x0}, {0x2F8B5,0x62B1,0x0}, {0x2F8B6,0x62D4,0x0},
    {0x2F8B7,0x6350,0x0}, {0x2F8B8,0x22B0C,0x0}, {0x2F8B9,0x633D,0x0},
    {0x2F8BA,0x62FC,0x0}, {0x2F8BB,0x6368,0x0}, {0x2F8BC,0x6383,0x0},
    {0x2F8BD,0x63E4,0x0}, {0x2F8BE,0x22BF1,0x0}, {0x2F8BF,0x6422,0x0},
    {0x2F8C0,0x63C5,0x0}, {0x2F8C1,0x63A9,0x0}, {0x2F8C2,0x3A2E,0x0},
    {0x2F8C3,0x6469,0x0}, {0x2F8C4,0x647E,0x0}, {0x2F8C5,0x649D,0x0},
    {0x2F8C6,0x6477,0x0}, {0x2F8C7,0x3A6C,0x0}, {0x2F8C8,0x654F,0x0},
    {0x2F8C9,0x656C,0x0}, {0x2F8CA,0x2300A,0x0}, {0x2F8CB,0x65E3,0x0},
    {0x2F8CC,0x66F8,0x0}, {0x2F8CD,0x6649,0x0}, {0x2F8CE,0x3B19,0x0},
    {0x2F8CF,0x6691,0x0}, {0x2F8D0,0x3B08,0x0}, {0x2F8D1,0x3AE4,0x0},
    {0x2F8D2,0x5192,0x0}, {0x2F8D3,0x5195,0x0}, {0x2F8D4,0x6700,0x0},
    {0x2F8D5,0x669C,0x0}, {0x2F8D6,0x80AD,0x0}, {0x2F8D7,0x43D9,0x0},
    {0x2F8D8,0x6717,0x0}, {0x2F8D9,0x671B,0x0}, {0x2F8DA,0x6721,0x0},
    {0x2F8DB,0x675E,0x0}, {0x2F8DC,0x6753,0x0}, {0x2F8DD,0x233C3,0x0},
    {0x2F8DE,0x3B49,0x0}, {0x2F8DF,0x67FA,0x0}, {0x2F8E0,0x6785,0x0},
    {0x2F8E1,0x6852,0x0}, {0x2F8E2,0x6885,0x0}, {0x2F8E3,0x2346D,0x0},
    {0x2F8E4,0x688E,0x0}, {0x2F8E5,0x681F,0x0}, {0x2F8E6,0x6914,0x0},
    {0x2F8E7,0x3B9D,0x0}, {0x2F8E8,0x6942,0x0}, {0x2F8E9,0x69A3,0x0},
    {0x2F8EA,0x69EA,0x0}, {0x2F8EB,0x6AA8,0x0}, {0x2F8EC,0x236A3,0x0},
    {0x2F8ED,0x6ADB,0x0}, {0x2F8EE,0x3C18,0x0}, {0x2F8EF,0x6B21,0x0},
    {0x2F8F0,0x238A7,0x0}, {0x2F8F1,0x6B54,0x0}, {0x2F8F2,0x3C4E,0x0},
    {0x2F8F3,0x6B72,0x0}, {0x2F8F4,0x6B9F,0x0}, {0x2F8F5,0x6BBA,0x0},
    {0x2F8F6,0x6BBB,0x0}, {0x2F8F7,0x23A8D,0x0}, {0x2F8F8,0x21D0B,0x0},
    {0x2F8F9,0x23AFA,0x0}, {0x2F8FA,0x6C4E,0x0}, {0x2F8FB,0x23CBC,0x0},
    {0x2F8FC,0x6CBF,0x0}, {0x2F8FD,0x6CCD,0x0}, {0x2F8FE,0x6C67,0x0},
    {0x2F8FF,0x6D16,0x0}, {0x2F900,0x6D3E,0x0}, {0x2F901,0x6D77,0x0},
    {0x2F902,0x6D41,0x0}, {0x2F903,0x6D69,0x0}, {0x2F904,0x6D78,0x0},
    {0x2F905,0x6D85,0x0}, {0x2F906,0x23D1E,0x0}, {0x2F907,0x6D34,0x0},
    {0x2F908,0x6E2F,0x0}, {0x2F909,0x6E6E,0x0}, {0x2F90A,0x3D33,0x0},
    {0x2F90B,0x6ECB,0x0}, {0x2F90C,0x6EC7,0x0}, {0x2F90D,0x23ED1,0x0},
    {0x2F90E,0x6DF9,0x0}, {0x2F90F,0x6F6E,0x0}, {0x2F910,0x23F5E,0x0},
    {0x2F911,0x23F8E,0x0}, {0x2F912,0x6FC6,0x0}, {0x2F913,0x7039,0x0},
    {0x2F914,0x701E,0x0}, {0x2F915,0x701B,0x0}, {0x2F916,0x3D96,0x0},
    {0x2F917,0x704A,0x0}, {0x2F918,0x707D,0x0}, {0x2F919,0x7077,0x0},
    {0x2F91A,0x70AD,0x0}, {0x2F91B,0x20525,0x0}, {0x2F91C,0x7145,0x0},
    {0x2F91D,0x24263,0x0}, {0x2F91E,0x719C,0x0}, {0x2F91F,0x243AB,0x0},
    {0x2F920,0x7228,0x0}, {0x2F921,0x7235,0x0}, {0x2F922,0x7250,0x0},
    {0x2F923,0x24608,0x0}, {0x2F924,0x7280,0x0}, {0x2F925,0x7295,0x0},
    {0x2F926,0x24735,0x0}, {0x2F927,0x24814,0x0}, {0x2F928,0x737A,0x0},
    {0x2F929,0x738B,0x0}, {0x2F92A,0x3EAC,0x0}, {0x2F92B,0x73A5,0x0},
    {0x2F92C,0x3EB8,0x0}, {0x2F92D,0x3EB8,0x0}, {0x2F92E,0x7447,0x0},
    {0x2F92F,0x745C,0x0}, {0x2F930,0x7471,0x0}, {0x2F931,0x7485,0x0},
    {0x2F932,0x74CA,0x0}, {0x2F933,0x3F1B,0x0}, {0x2F934,0x7524,0x0},
    {0x2F935,0x24C36,0x0}, {0x2F936,0x753E,0x0}, {0x2F937,0x24C92,0x0},
    {0x2F938,0x7570,0x0}, {0x2F939,0x2219F,0x0}, {0x2F93A,0x7610,0x0},
    {0x2F93B,0x24FA1,0x0}, {0x2F93C,0x24FB8,0x0}, {0x2F93D,0x25044,0x0},
    {0x2F93E,0x3FFC,0x0}, {0x2F93F,0x4008,0x0}, {0x2F940,0x76F4,0x0},
    {0x2F941,0x250F3,0x0}, {0x2F942,0x250F2,0x0}, {0x2F943,0x25119,0x0},
    {0x2F944,0x25133,0x0}, {0x2F945,0x771E,0x0}, {0x2F946,0x771F,0x0},
    {0x2F947,0x771F,0x0}, {0x2F948,0x774A,0x0}, {0x2F949,0x4039,0x0},
    {0x2F94A,0x778B,0x0}, {0x2F94B,0x4046,0x0}, {0x2F94C,0x4096,0x0},
    {0x2F94D,0x2541D,0x0}, {0x2F94E,0x784E,0x0}, {0x2F94F,0x788C,0x0},
    {0x2F950,0x78CC,0x0}, {0x2F951,0x40E3,0x0}, {0x2F952,0x25626,0x0},
    {0x2F953,0x7956,0x0}, {0x2F954,0x2569A,0x0}, {0x2F955,0x256C5,0x0},
    {0x2F956,0x798F,0x0}, {0x2F957,0x79EB,0x0}, {0x2F958,0x412F,0x0},
    {0x2F959,0x7A40,0x0}, {0x2F95A,0x7A4A,0x0}, {0x2F95B,0x7A4F,0x0},
    {0x2F95C,0x2597C,0x0}, {0x2F95D,0x25AA7,0x0}, {0x2F95E,0x25AA7,0x0},
    {0x2F95F,0x7AEE,0x0}, {0x2F960,0x4202,0x0}, {0x2F961,0x25BAB,0x0},
    {0x2F962,0x7BC6,0x0}, {0x2F963,0x7BC9,0x0}, {0x2F964,0x4227,0x0},
    {0x2F965,0x25C80,0x0}, {0x2F966,0x7CD2,0x0}, {0x2F967,0x42A0,0x0},
    {0x2F968,0x7CE8,0x0}, {0x2F969,0x7CE3,0x0}, {0x2F96A,0x7D00,0x0},
    {0x2F96B,0x25F86,0x0}, {0x2F96C,0x7D63,0x0}, {0x2F96D,0x4301,0x0},
    {0x2F96E,0x7DC7,0x0}, {0x2F96F,0x7E02,0x0}, {0x2F970,0x7E45,0x0},
    {0x2F971,0x4334,0x0}, {0x2F972,0x26228,0x0}, {0x2F973,0x26247,0x0},
    {0x2F974,0x4359,0x0}, {0x2F975,0x262D9,0x0}, {0x2F976,0x7F7A,0x0},
    {0x2F977,0x2633E,0x0}, {0x2F978,0x7F95,0x0}, {0x2F979,0x7FFA,0x0},
    {0x2F97A,0x8005,0x0}, {0x2F97B,0x264DA,0x0}, {0x2F97C,0x26523,0x0},
    {0x2F97D,0x8060,0x0}, {0x2F97E,0x265A8,0x0}, {0x2F97F,0x8070,0x0},
    {0x2F980,0x2335F,0x0}, {0x2F981,0x43D5,0x0}, {0x2F982,0x80B2,0x0},
    {0x2F983,0x8103,0x0}, {0x2F984,0x440B,0x0}, {0x2F985,0x813E,0x0},
    {0x2F986,0x5AB5,0x0}, {0x2F987,0x267A7,0x0}, {0x2F988,0x267B5,0x0},
    {0x2F989,0x23393,0x0}, {0x2F98A,0x2339C,0x0}, {0x2F98B,0x8201,0x0},
    {0x2F98C,0x8204,0x0}, {0x2F98D,0x8F9E,0x0}, {0x2F98E,0x446B,0x0},
    {0x2F98F,0x8291,0x0}, {0x2F990,0x828B,0x0}, {0x2F991,0x829D,0x0},
    {0x2F992,0x52B3,0x0}, {0x2F993,0x82B1,0x0}, {0x2F994,0x82B3,0x0},
    {0x2F995,0x82BD,0x0}, {0x2F996,0x82E6,0x0}, {0x2F997,0x26B3C,0x0},
    {0x2F998,0x82E5,0x0}, {0x2F999,0x831D,0x0}, {0x2F99A,0x8363,0x0},
    {0x2F99B,0x83AD,0x0}, {0x2F99C,0x8323,0x0}, {0x2F99D,0x83BD,0x0},
    {0x2F99E,0x83E7,0x0}, {0x2F99F,0x8457,0x0}, {0x2F9A0,0x8353,0x0},
    {0x2F9A1,0x83CA,0x0}, {0x2F9A2,0x83CC,0x0}, {0x2F9A3,0x83DC,0x0},
    {0x2F9A4,0x26C36,0x0}, {0x2F9A5,0x26D6B,0x0}, {0x2F9A6,0x26CD5,0x0},
    {0x2F9A7,0x452B,0x0}, {0x2F9A8,0x84F1,0x0}, {0x2F9A9,0x84F3,0x0},
    {0x2F9AA,0x8516,0x0}, {0x2F9AB,0x273CA,0x0}, {0x2F9AC,0x8564,0x0},
    {0x2F9AD,0x26F2C,0x0}, {0x2F9AE,0x455D,0x0}, {0x2F9AF,0x4561,0x0},
    {0x2F9B0,0x26FB1,0x0}, {0x2F9B1,0x270D2,0x0}, {0x2F9B2,0x456B,0x0},
    {0x2F9B3,0x8650,0x0}, {0x2F9B4,0x865C,0x0}, {0x2F9B5,0x8667,0x0},
    {0x2F9B6,0x8669,0x0}, {0x2F9B7,0x86A9,0x0}, {0x2F9B8,0x8688,0x0},
    {0x2F9B9,0x870E,0x0}, {0x2F9BA,0x86E2,0x0}, {0x2F9BB,0x8779,0x0},
    {0x2F9BC,0x8728,0x0}, {0x2F9BD,0x876B,0x0}, {0x2F9BE,0x8786,0x0},
    {0x2F9BF,0x45D7,0x0}, {0x2F9C0,0x87E1,0x0}, {0x2F9C1,0x8801,0x0},
    {0x2F9C2,0x45F9,0x0}, {0x2F9C3,0x8860,0x0}, {0x2F9C4,0x8863,0x0},
    {0x2F9C5,0x27667,0x0}, {0x2F9C6,0x88D7,0x0}, {0x2F9C7,0x88DE,0x0},
    {0x2F9C8,0x4635,0x0}, {0x2F9C9,0x88FA,0x0}, {0x2F9CA,0x34BB,0x0},
    {0x2F9CB,0x278AE,0x0}, {0x2F9CC,0x27966,0x0}, {0x2F9CD,0x46BE,0x0},
    {0x2F9CE,0x46C7,0x0}, {0x2F9CF,0x8AA0,0x0}, {0x2F9D0,0x8AED,0x0},
    {0x2F9D1,0x8B8A,0x0}, {0x2F9D2,0x8C55,0x0}, {0x2F9D3,0x27CA8,0x0},
    {0x2F9D4,0x8CAB,0x0}, {0x2F9D5,0x8CC1,0x0}, {0x2F9D6,0x8D1B,0x0},
    {0x2F9D7,0x8D77,0x0}, {0x2F9D8,0x27F2F,0x0}, {0x2F9D9,0x20804,0x0},
    {0x2F9DA,0x8DCB,0x0}, {0x2F9DB,0x8DBC,0x0}, {0x2F9DC,0x8DF0,0x0},
    {0x2F9DD,0x208DE,0x0}, {0x2F9DE,0x8ED4,0x0}, {0x2F9DF,0x8F38,0x0},
    {0x2F9E0,0x285D2,0x0}, {0x2F9E1,0x285ED,0x0}, {0x2F9E2,0x9094,0x0},
    {0x2F9E3,0x90F1,0x0}, {0x2F9E4,0x9111,0x0}, {0x2F9E5,0x2872E,0x0},
    {0x2F9E6,0x911B,0x0}, {0x2F9E7,0x9238,0x0}, {0x2F9E8,0x92D7,0x0},
    {0x2F9E9,0x92D8,0x0}, {0x2F9EA,0x927C,0x0}, {0x2F9EB,0x93F9,0x0},
    {0x2F9EC,0x9415,0x0}, {0x2F9ED,0x28BFA,0x0}, {0x2F9EE,0x958B,0x0},
    {0x2F9EF,0x4995,0x0}, {0x2F9F0,0x95B7,0x0}, {0x2F9F1,0x28D77,0x0},
    {0x2F9F2,0x49E6,0x0}, {0x2F9F3,0x96C3,0x0}, {0x2F9F4,0x5DB2,0x0},
    {0x2F9F5,0x9723,0x0}, {0x2F9F6,0x29145,0x0}, {0x2F9F7,0x2921A,0x0},
    {0x2F9F8,0x4A6E,0x0}, {0x2F9F9,0x4A76,0x0}, {0x2F9FA,0x97E0,0x0},
    {0x2F9FB,0x2940A,0x0}, {0x2F9FC,0x4AB2,0x0}, {0x2F9FD,0x29496,0x0},
    {0x2F9FE,0x980B,0x0}, {0x2F9FF,0x980B,0x0}, {0x2FA00,0x9829,0x0},
    {0x2FA01,0x295B6,0x0}, {0x2FA02,0x98E2,0x0}, {0x2FA03,0x4B33,0x0},
    {0x2FA04,0x9929,0x0}, {0x2FA05,0x99A7,0x0}, {0x2FA06,0x99C2,0x0},
    {0x2FA07,0x99FE,0x0}, {0x2FA08,0x4BCE,0x0}, {0x2FA09,0x29B30,0x0},
    {0x2FA0A,0x9B12,0x0}, {0x2FA0B,0x9C40,0x0}, {0x2FA0C,0x9CFD,0x0},
    {0x2FA0D,0x4CCE,0x0}, {0x2FA0E,0x4CED,0x0}, {0x2FA0F,0x9D67,0x0},
    {0x2FA10,0x2A0CE,0x0}, {0x2FA11,0x4CF8,0x0}, {0x2FA12,0x2A105,0x0},
    {0x2FA13,0x2A20E,0x0}, {0x2FA14,0x2A291,0x0}, {0x2FA15,0x9EBB,0x0},
    {0x2FA16,0x4D56,0x0}, {0x2FA17,0x9EF9,0x0}, {0x2FA18,0x9EFE,0x0},
    {0x2FA19,0x9F05,0x0}, {0x2FA1A,0x9F0F,0x0}, {0x2FA1B,0x9F16,0x0},
    {0x2FA1C,0x9F3B,0x0}, {0x2FA1D,0x2A600,0x0},
};
/* The decompositions that NFC composes back (composition exclusions left
   out), as indices into hbpo__uni_decomp sorted by (first << 21 | second). */
static const uint16_t hbpo__uni_comp[940] = {
    912, 909, 913, 0, 1, 2, 3, 53, 55, 238, 4, 572, 5, 165, 208, 210,
    570, 415, 57, 417, 419, 421, 59, 61, 63, 65, 6, 425, 67, 427, 431, 433,
    429, 7, 8, 9, 598, 69, 71, 73, 10, 596, 77, 212, 214, 594, 240, 75,
    439, 441, 445, 198, 79, 447, 81, 83, 187, 85, 87, 449, 453, 236, 451, 455,
    457, 11, 12, 13, 89, 91, 93, 97, 14, 610, 167, 216, 218, 612, 95, 459,
    98, 463, 189, 465, 100, 467, 102, 106, 469, 104, 475, 473, 477, 479, 481, 200,
    108, 15, 483, 112, 485, 110, 489, 487, 16, 17, 18, 19, 114, 116, 246, 20,
    616, 118, 169, 220, 222, 161, 614, 191, 499, 501, 120, 503, 124, 224, 226, 505,
    122, 509, 126, 128, 511, 132, 513, 232, 130, 521, 136, 523, 234, 134, 527, 525,
    21, 22, 23, 138, 140, 142, 24, 640, 144, 146, 171, 228, 230, 163, 638, 529,
    148, 533, 531, 539, 541, 543, 545, 150, 549, 547, 551, 553, 555, 652, 25, 152,
    658, 250, 557, 154, 656, 654, 155, 559, 157, 159, 561, 563, 26, 27, 28, 29,
    54, 56, 239, 30, 573, 31, 166, 209, 211, 571, 416, 58, 418, 420, 422, 60,
    62, 64, 66, 32, 426, 68, 428, 432, 434, 430, 33, 34, 35, 599, 70, 72,
    74, 36, 597, 78, 213, 215, 595, 241, 76, 440, 442, 446, 199, 80, 448, 82,
    84, 188, 86, 88, 450, 454, 237, 452, 456, 458, 565, 37, 38, 39, 90, 92,
    94, 40, 611, 168, 217, 219, 613, 96, 460, 99, 197, 464, 190, 466, 101, 468,
    103, 107, 470, 105, 476, 474, 478, 480, 482, 201, 109, 41, 484, 113, 486, 111,
    490, 488, 42, 43, 44, 45, 115, 117, 247, 46, 617, 119, 170, 221, 223, 162,
    615, 192, 500, 502, 121, 504, 125, 225, 227, 506, 123, 510, 127, 129, 512, 133,
    514, 233, 131, 522, 566, 137, 524, 235, 135, 528, 526, 47, 48, 49, 139, 141,
    143, 50, 641, 145, 147, 172, 229, 231, 164, 639, 530, 149, 534, 532, 540, 542,
    544, 546, 151, 550, 548, 567, 552, 554, 556, 653, 51, 153, 659, 251, 558, 52,
    657, 568, 655, 156, 560, 158, 160, 562, 564, 875, 258, 835, 576, 574, 580, 578,
    181, 202, 204, 185, 423, 602, 600, 606, 604, 461, 620, 618, 624, 622, 491, 244,
    493, 242, 206, 179, 175, 173, 177, 577, 575, 581, 579, 182, 203, 205, 186, 424,
    603, 601, 607, 605, 462, 621, 619, 625, 623, 492, 245, 494, 243, 207, 180, 176,
    174, 178, 586, 584, 590, 588, 587, 585, 591, 589, 435, 437, 436, 438, 495, 497,
    496, 498, 515, 516, 517, 518, 535, 536, 537, 538, 569, 630, 628, 634, 632, 636,
    631, 629, 635, 633, 637, 644, 642, 648, 646, 650, 645, 643, 649, 647, 651, 195,
    193, 194, 183, 184, 443, 444, 248, 249, 196, 831, 259, 830, 829, 668, 669, 833,
    841, 261, 682, 683, 843, 262, 696, 697, 845, 857, 263, 856, 855, 268, 712, 713,
    883, 264, 726, 727, 874, 872, 265, 871, 870, 269, 740, 885, 266, 752, 753, 887,
    826, 838, 760, 270, 823, 822, 660, 661, 827, 825, 762, 271, 676, 677, 764, 272,
    688, 689, 839, 837, 766, 273, 850, 849, 275, 704, 705, 853, 768, 277, 720, 721,
    866, 867, 770, 278, 863, 862, 276, 732, 733, 868, 772, 279, 744, 745, 881, 879,
    851, 267, 854, 864, 274, 869, 880, 280, 281, 285, 302, 304, 284, 282, 306, 283,
    300, 310, 312, 287, 314, 289, 316, 286, 318, 324, 288, 326, 328, 330, 332, 322,
    303, 305, 293, 291, 307, 292, 301, 311, 313, 296, 315, 290, 317, 295, 319, 325,
    297, 327, 329, 331, 333, 323, 294, 298, 299, 308, 309, 320, 321, 334, 335, 337,
    336, 338, 340, 341, 339, 342, 343, 344, 353, 354, 365, 364, 366, 369, 370, 372,
    371, 373, 374, 377, 375, 376, 378, 379, 381, 380, 382, 383, 385, 384, 403, 404,
    405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 471, 472, 507, 508, 519, 520,
    582, 592, 583, 593, 608, 609, 626, 627, 662, 664, 666, 774, 663, 665, 667, 775,
    776, 777, 778, 779, 780, 781, 670, 672, 674, 782, 671, 673, 675, 783, 784, 785,
    786, 787, 788, 789, 678, 680, 679, 681, 684, 686, 685, 687, 690, 692, 694, 790,
    691, 693, 695, 791, 792, 793, 794, 795, 796, 797, 698, 700, 702, 798, 699, 701,
    703, 799, 800, 801, 802, 803, 804, 805, 706, 708, 710, 707, 709, 711, 714, 716,
    718, 715, 717, 719, 722, 724, 723, 725, 728, 730, 729, 731, 734, 736, 738, 735,
    737, 739, 741, 742, 743, 746, 748, 750, 806, 747, 749, 751, 807, 808, 809, 810,
    811, 812, 813, 754, 756, 758, 814, 755, 757, 759, 815, 816, 817, 818, 819, 820,
    821, 824, 836, 878, 828, 846, 847, 848, 840, 882, 859, 860, 861, 894, 895, 896,
    897, 899, 898, 900, 901, 902, 903, 904, 905, 906, 907, 908, 911, 910, 914, 915,
    916, 917, 918, 919, 920, 921, 930, 931, 922, 923, 924, 925, 932, 933, 926, 927,
    928, 929, 934, 935, 936, 937, 966, 941, 942, 943, 944, 945, 946, 947, 948, 949,
    950, 951, 952, 953, 954, 955, 956, 957, 958, 959, 960, 961, 962, 963, 964, 965,
    967, 993, 968, 969, 970, 971, 972, 973, 974, 975, 976, 977, 978, 979, 980, 981,
    982, 983, 984, 985, 986, 987, 988, 989, 990, 991, 992, 994, 995, 996, 997, 998,
    1493, 1494, 1495, 1496, 1497, 1498, 1499, 1501, 1500, 1502, 1503, 1504,
};
/* Code points at which a run may stop being NFC (nonzero class, quick
   check No or Maybe, Hangul V/T jamo), ranges lo, hi: Unicode 9.0. */
static const uint32_t hbpo__uni_nfc_unsafe[247][2] = {
    {0x300,0x34E}, {0x350,0x36F}, {0x374,0x374}, {0x37E,0x37E}, {0x387,0x387},
    {0x483,0x487}, {0x591,0x5BD}, {0x5BF,0x5BF}, {0x5C1,0x5C2}, {0x5C4,0x5C5},
    {0x5C7,0x5C7}, {0x610,0x61A}, {0x64B,0x65F}, {0x670,0x670}, {0x6D6,0x6DC},
    {0x6DF,0x6E4}, {0x6E7,0x6E8}, {0x6EA,0x6ED}, {0x711,0x711}, {0x730,0x74A},
    {0x7EB,0x7F3}, {0x816,0x819}, {0x81B,0x823}, {0x825,0x827}, {0x829,0x82D},
    {0x859,0x85B}, {0x8D4,0x8E1}, {0x8E3,0x8FF}, {0x93C,0x93C}, {0x94D,0x94D},
    {0x951,0x954}, {0x958,0x95F}, {0x9BC,0x9BC}, {0x9BE,0x9BE}, {0x9CD,0x9CD},
    {0x9D7,0x9D7}, {0x9DC,0x9DD}, {0x9DF,0x9DF}, {0xA33,0xA33}, {0xA36,0xA36},
    {0xA3C,0xA3C}, {0xA4D,0xA4D}, {0xA59,0xA5B}, {0xA5E,0xA5E}, {0xABC,0xABC},
    {0xACD,0xACD}, {0xB3C,0xB3C}, {0xB3E,0xB3E}, {0xB4D,0xB4D}, {0xB56,0xB57},
    {0xB5C,0xB5D}, {0xBBE,0xBBE}, {0xBCD,0xBCD}, {0xBD7,0xBD7}, {0xC4D,0xC4D},
    {0xC55,0xC56}, {0xCBC,0xCBC}, {0xCC2,0xCC2}, {0xCCD,0xCCD}, {0xCD5,0xCD6},
    {0xD3E,0xD3E}, {0xD4D,0xD4D}, {0xD57,0xD57}, {0xDCA,0xDCA}, {0xDCF,0xDCF},
    {0xDDF,0xDDF}, {0xE38,0xE3A}, {0xE48,0xE4B}, {0xEB8,0xEB9}, {0xEC8,0xECB},
    {0xF18,0xF19}, {0xF35,0xF35}, {0xF37,0xF37}, {0xF39,0xF39}, {0xF43,0xF43},
    {0xF4D,0xF4D}, {0xF52,0xF52}, {0xF57,0xF57}, {0xF5C,0xF5C}, {0xF69,0xF69},
    {0xF71,0xF76}, {0xF78,0xF78}, {0xF7A,0xF7D}, {0xF80,0xF84}, {0xF86,0xF87},
    {0xF93,0xF93}, {0xF9D,0xF9D}, {0xFA2,0xFA2}, {0xFA7,0xFA7}, {0xFAC,0xFAC},
    {0xFB9,0xFB9}, {0xFC6,0xFC6}, {0x102E,0x102E}, {0x1037,0x1037}, {0x1039,0x103A},
    {0x108D,0x108D}, {0x1161,0x1175}, {0x11A8,0x11C2}, {0x135D,0x135F}, {0x1714,0x1714},
    {0x1734,0x1734}, {0x17D2,0x17D2}, {0x17DD,0x17DD}, {0x18A9,0x18A9}, {0x1939,0x193B},
    {0x1A17,0x1A18}, {0x1A60,0x1A60}, {0x1A75,0x1A7C}, {0x1A7F,0x1A7F}, {0x1AB0,0x1ABD},
    {0x1B34,0x1B35}, {0x1B44,0x1B44}, {0x1B6B,0x1B73}, {0x1BAA,0x1BAB}, {0x1BE6,0x1BE6},
    {0x1BF2,0x1BF3}, {0x1C37,0x1C37}, {0x1CD0,0x1CD2}, {0x1CD4,0x1CE0}, {0x1CE2,0x1CE8},
    {0x1CED,0x1CED}, {0x1CF4,0x1CF4}, {0x1CF8,0x1CF9}, {0x1DC0,0x1DF5}, {0x1DFB,0x1DFF},
    {0x1F71,0x1F71}, {0x1F73,0x1F73}, {0x1F75,0x1F75}, {0x1F77,0x1F77}, {0x1F79,0x1F79},
    {0x1F7B,0x1F7B}, {0x1F7D,0x1F7D}, {0x1FBB,0x1FBB}, {0x1FBE,0x1FBE}, {0x1FC9,0x1FC9},
    {0x1FCB,0x1FCB}, {0x1FD3,0x1FD3}, {0x1FDB,0x1FDB}, {0x1FE3,0x1FE3}, {0x1FEB,0x1FEB},
    {0x1FEE,0x1FEF}, {0x1FF9,0x1FF9}, {0x1FFB,0x1FFB}, {0x1FFD,0x1FFD}, {0x2000,0x2001},
    {0x20D0,0x20DC}, {0x20E1,0x20E1}, {0x20E5,0x20F0}, {0x2126,0x2126}, {0x212A,0x212B},
    {0x2329,0x232A}, {0x2ADC,0x2ADC}, {0x2CEF,0x2CF1}, {0x2D7F,0x2D7F}, {0x2DE0,0x2DFF},
    {0x302A,0x302F}, {0x3099,0x309A}, {0xA66F,0xA66F}, {0xA674,0xA67D}, {0xA69E,0xA69F},
    {0xA6F0,0xA6F1}, {0xA806,0xA806}, {0xA8C4,0xA8C4}, {0xA8E0,0xA8F1}, {0xA92B,0xA92D},
    {0xA953,0xA953}, {0xA9B3,0xA9B3}, {0xA9C0,0xA9C0}, {0xAAB0,0xAAB0}, {0xAAB2,0xAAB4},
    {0xAAB7,0xAAB8}, {0xAABE,0xAABF}, {0xAAC1,0xAAC1}, {0xAAF6,0xAAF6}, {0xABED,0xABED},
    {0xF900,0xFA0D}, {0xFA10,0xFA10}, {0xFA12,0xFA12}, {0xFA15,0xFA1E}, {0xFA20,0xFA20},
    {0xFA22,0xFA22}, {0xFA25,0xFA26}, {0xFA2A,0xFA6D}, {0xFA70,0xFAD9}, {0xFB1D,0xFB1F},
    {0xFB2A,0xFB36}, {0xFB38,0xFB3C}, {0xFB3E,0xFB3E}, {0xFB40,0xFB41}, {0xFB43,0xFB44},
    {0xFB46,0xFB4E}, {0xFE20,0xFE2F}, {0x101FD,0x101FD}, {0x102E0,0x102E0}, {0x10376,0x1037A},
    {0x10A0D,0x10A0D}, {0x10A0F,0x10A0F}, {0x10A38,0x10A3A}, {0x10A3F,0x10A3F}, {0x10AE5,0x10AE6},
    {0x11046,0x11046}, {0x1107F,0x1107F}, {0x110B9,0x110BA}, {0x11100,0x11102}, {0x11127,0x11127},
    {0x11133,0x11134}, {0x11173,0x11173}, {0x111C0,0x111C0}, {0x111CA,0x111CA}, {0x11235,0x11236},
    {0x112E9,0x112EA}, {0x1133C,0x1133C}, {0x1133E,0x1133E}, {0x1134D,0x1134D}, {0x11357,0x11357},
    {0x11366,0x1136C}, {0x11370,0x11374}, {0x11442,0x11442}, {0x11446,0x11446}, {0x114B0,0x114B0},
    {0x114BA,0x114BA}, {0x114BD,0x114BD}, {0x114C2,0x114C3}, {0x115AF,0x115AF}, {0x115BF,0x115C0},
    {0x1163F,0x1163F}, {0x116B6,0x116B7}, {0x1172B,0x1172B}, {0x11C3F,0x11C3F}, {0x16AF0,0x16AF4},
    {0x16B30,0x16B36}, {0x1BC9E,0x1BC9E}, {0x1D15E,0x1D169}, {0x1D16D,0x1D172}, {0x1D17B,0x1D182},
    {0x1D185,0x1D18B}, {0x1D1AA,0x1D1AD}, {0x1D1BB,0x1D1C0}, {0x1D242,0x1D244}, {0x1E000,0x1E006},
    {0x1E008,0x1E018}, {0x1E01B,0x1E021}, {0x1E023,0x1E024}, {0x1E026,0x1E02A}, {0x1E8D0,0x1E8D6},
    {0x1E944,0x1E94A}, {0x2F800,0x2FA1D},
};
/* END generated tables */

/* The value of the range holding cp in a sorted table of {lo, hi, value}, or 0. */
static uint32_t hbpo__uni_find3(const uint32_t (*t)[3], size_t n, uint32_t cp) {
    size_t lo = 0, hi = n, mid;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (cp < t[mid][0]) hi = mid;
        else if (cp > t[mid][1]) lo = mid + 1;
        else return t[mid][2];
    }
    return 0;
}

enum { HBPO__CH_OTHER = 0, HBPO__CH_LETTER = 1, HBPO__CH_NUMBER = 2, HBPO__CH_SPACE = 3 };

/* The regex class of cp: \p{L}, \p{N}, \s (the White_Space property, which is
   what Oniguruma's \s means for Unicode text) or anything else. */
static int hbpo__uni_class_of(uint32_t cp) {
    if (cp < 0x80) {
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z') return HBPO__CH_LETTER;
        if (cp >= '0' && cp <= '9') return HBPO__CH_NUMBER;
        if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return HBPO__CH_SPACE;
        return HBPO__CH_OTHER;
    }
    if (cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
        cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000)
        return HBPO__CH_SPACE;
    return (int)hbpo__uni_find3(hbpo__uni_class, sizeof hbpo__uni_class / sizeof hbpo__uni_class[0],
                                cp);
}

static int hbpo__nfc_ccc(uint32_t cp) {
    if (cp < 0x300) return 0;
    return (int)hbpo__uni_find3(hbpo__uni_ccc, sizeof hbpo__uni_ccc / sizeof hbpo__uni_ccc[0], cp);
}

/* 1 when a run holding cp may change under NFC (below U+0300 nothing does). */
static int hbpo__nfc_unsafe(uint32_t cp) {
    size_t lo = 0, hi = sizeof hbpo__uni_nfc_unsafe / sizeof hbpo__uni_nfc_unsafe[0], mid;
    if (cp < 0x300) return 0;
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        if (cp < hbpo__uni_nfc_unsafe[mid][0]) hi = mid;
        else if (cp > hbpo__uni_nfc_unsafe[mid][1]) lo = mid + 1;
        else return 1;
    }
    return 0;
}

/* Hangul syllables decompose and compose by arithmetic (Unicode 3.12). */
#define HBPO__HANGUL_S 0xAC00u
#define HBPO__HANGUL_L 0x1100u
#define HBPO__HANGUL_V 0x1161u
#define HBPO__HANGUL_T 0x11A7u
#define HBPO__HANGUL_NV 21u
#define HBPO__HANGUL_NT 28u
#define HBPO__HANGUL_NS (19u * 21u * 28u)

/* Appends the full canonical decomposition of cp to out (at most 4 code
   points per input code point; the caller reserves them). */
static size_t hbpo__nfc_decompose(uint32_t cp, uint32_t *out, size_t n) {
    size_t lo = 0, hi = sizeof hbpo__uni_decomp / sizeof hbpo__uni_decomp[0], mid;
    if (cp - HBPO__HANGUL_S < HBPO__HANGUL_NS) {
        uint32_t s = cp - HBPO__HANGUL_S;
        out[n++] = HBPO__HANGUL_L + s / (HBPO__HANGUL_NV * HBPO__HANGUL_NT);
        out[n++] = HBPO__HANGUL_V + (s % (HBPO__HANGUL_NV * HBPO__HANGUL_NT)) / HBPO__HANGUL_NT;
        if (s % HBPO__HANGUL_NT) out[n++] = HBPO__HANGUL_T + s % HBPO__HANGUL_NT;
        return n;
    }
    if (cp >= 0xC0) {
        while (lo < hi) {
            mid = lo + (hi - lo) / 2;
            if (cp < hbpo__uni_decomp[mid][0]) hi = mid;
            else if (cp > hbpo__uni_decomp[mid][0]) lo = mid + 1;
            else {
                n = hbpo__nfc_decompose(hbpo__uni_decomp[mid][1], out, n);
                if (hbpo__uni_decomp[mid][2])
                    n = hbpo__nfc_decompose(hbpo__uni_decomp[mid][2], out, n);
                return n;
            }
        }
    }
    out[n++] = cp;
    return n;
}

/* The primary composite of a + b, or 0. */
static uint32_t hbpo__nfc_compose(uint32_t a, uint32_t b) {
    size_t lo = 0, hi = sizeof hbpo__uni_comp / sizeof hbpo__uni_comp[0], mid;
    uint64_t key = ((uint64_t)a << 21) | b, k;
    const uint32_t *d;
    if (a - HBPO__HANGUL_L < 19u && b - HBPO__HANGUL_V < HBPO__HANGUL_NV)
        return HBPO__HANGUL_S + ((a - HBPO__HANGUL_L) * HBPO__HANGUL_NV + (b - HBPO__HANGUL_V)) *
                                    HBPO__HANGUL_NT;
    if (a - HBPO__HANGUL_S < HBPO__HANGUL_NS && (a - HBPO__HANGUL_S) % HBPO__HANGUL_NT == 0 &&
        b - HBPO__HANGUL_T - 1 < HBPO__HANGUL_NT - 1)
        return a + (b - HBPO__HANGUL_T);
    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        d = hbpo__uni_decomp[hbpo__uni_comp[mid]];
        k = ((uint64_t)d[1] << 21) | d[2];
        if (key < k) hi = mid;
        else if (key > k) lo = mid + 1;
        else return d[0];
    }
    return 0;
}

/* The canonical ordering (UAX #15): each run of marks (nonzero class)
   sorted stably by class. A run is tagged first, class << 21 | code point
   (code points fit in 21 bits), so comparing tags >> 21 compares classes
   without a table look-up per comparison. Short runs (nearly all text) take
   an insertion sort; longer ones a bottom-up merge sort through tmp, so a
   run of n marks costs O(n log n) where an insertion sort is quadratic
   ("a" + 32k U+0301 + 32k U+0316 took seconds). Each pass of the merge
   sort is stable (ties take the left element), so the result is the
   insertion sort's. */
#define HBPO__NFC_SHORT_RUN 16
static void hbpo__nfc_order_run(uint32_t *a, size_t n, uint32_t *tmp) {
    size_t i, j, w, lo, mid, hi, l, r;
    uint32_t t, *src = a, *dst = tmp, *sw;
    for (i = 0; i < n; i++) a[i] |= (uint32_t)hbpo__nfc_ccc(a[i]) << 21;
    for (lo = 0; lo < n; lo += HBPO__NFC_SHORT_RUN) { /* sorted blocks of 16 */
        hi = lo + HBPO__NFC_SHORT_RUN < n ? lo + HBPO__NFC_SHORT_RUN : n;
        for (i = lo + 1; i < hi; i++)
            for (j = i; j > lo && (a[j - 1] >> 21) > (a[j] >> 21); j--) {
                t = a[j]; a[j] = a[j - 1]; a[j - 1] = t;
                HBPO__OPS(1);
            }
    }
    for (w = HBPO__NFC_SHORT_RUN; w < n; w *= 2) { /* merge pairs of blocks of w */
        for (lo = 0; lo < n; lo += 2 * w) {
            mid = lo + w < n ? lo + w : n;
            hi = lo + 2 * w < n ? lo + 2 * w : n;
            for (l = lo, r = mid, i = lo; i < hi; i++)
                dst[i] = r >= hi || (l < mid && (src[l] >> 21) <= (src[r] >> 21)) ? src[l++] : src[r++];
            HBPO__OPS(hi - lo);
        }
        sw = src; src = dst; dst = sw;
    }
    for (i = 0; i < n; i++) a[i] = src[i] & 0x1FFFFFu;
}

/* NFC of in[0..n) into out (room for 4n code points), with tmp (room for 4n
   code points) as scratch; returns the count. Decompose, order marks by
   class (stable), compose (UAX #15). */
static size_t hbpo__nfc(const uint32_t *in, size_t n, uint32_t *out, uint32_t *tmp) {
    size_t i, j, m = 0, w, starter;
    int last, k;
    uint32_t c;
    for (i = 0; i < n; i++) m = hbpo__nfc_decompose(in[i], out, m);
    for (i = 0; i < m; i = j + 1) { /* each maximal run of marks out[i..j) */
        while (i < m && hbpo__nfc_ccc(out[i]) == 0) i++;
        for (j = i; j < m && hbpo__nfc_ccc(out[j]) != 0; j++) {}
        if (j - i > 1) hbpo__nfc_order_run(out + i, j - i, tmp);
        HBPO__OPS(j - i + 1);
    }
    if (m == 0) return 0;
    /* starter: index of the last starter in the output; last: class of the
       last character kept (256 when the text opens with a mark). */
    starter = 0;
    last = hbpo__nfc_ccc(out[0]) ? 256 : 0;
    for (i = 1, w = 1; i < m; i++) {
        k = hbpo__nfc_ccc(out[i]);
        if (last != 256 && (last < k || last == 0) &&
            (c = hbpo__nfc_compose(out[starter], out[i])) != 0) {
            out[starter] = c;
            continue;
        }
        if (k == 0) { starter = w; last = 0; } else last = last == 256 && k ? 256 : k;
        out[w++] = out[i];
    }
    return w;
}

/* ---- UTF-8 ---- */

/* Decodes the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms,
   no surrogates, nothing above U+10FFFF) into *cp; returns its length, or 0
   when the bytes at p are not one. */
static int hbpo__utf8_next(const unsigned char *p, const unsigned char *end, uint32_t *cp) {
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    int n, i;
    uint32_t v;
    if (c < 0x80) { *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) { n = 2; v = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3; v = c & 0x0F;
        if (c == 0xE0) lo = 0xA0;
        else if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4; v = c & 0x07;
        if (c == 0xF0) lo = 0x90;
        else if (c == 0xF4) hi = 0x8F;
    } else return 0;
    if (end - p < n || p[1] < lo || p[1] > hi) return 0;
    v = (v << 6) | (p[1] & 0x3F);
    for (i = 2; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    *cp = v;
    return n;
}

/* Length of the longest prefix of a well-formed sequence at p (1 for a byte
   that starts none): what String::from_utf8_lossy replaces by one U+FFFD. */
static size_t hbpo__utf8_bad_len(const unsigned char *p, const unsigned char *end) {
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    size_t n, i;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        else if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        else if (c == 0xF4) hi = 0x8F;
    } else return 1;
    if (end - p < 2 || p[1] < lo || p[1] > hi) return 1;
    for (i = 2; i < n && (size_t)(end - p) > i && (p[i] & 0xC0) == 0x80; i++) {}
    return i;
}

static size_t hbpo__utf8_put(uint32_t cp, unsigned char *o) {
    if (cp < 0x80) { o[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* GPT-2's byte <-> character table (ByteLevel): printable Latin-1 bytes stand
   for themselves, the other 68 bytes for U+0100.. in byte order. */
static uint32_t hbpo__byte_char(int b) {
    int i, n = 0;
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF))
        return (uint32_t)b;
    for (i = 0; i < b; i++)
        if (!((i >= '!' && i <= '~') || (i >= 0xA1 && i <= 0xAC) || (i >= 0xAE && i <= 0xFF))) n++;
    return 256u + (uint32_t)n;
}

/* ---- the tokenizer ---- */

/* Limits on what a tokenizer.json may hold (stb habit: bounded before use). */
#define HBPO__TOK_FILE_MAX   ((size_t)512 << 20)
#define HBPO__TOK_MAX_IDS    (1 << 24)
#define HBPO__TOK_MAX_BYTES  4096          /* one token's text */
#define HBPO__TOK_MAX_ADDED  65536

enum { HBPO__TOK_EXISTS = 1, HBPO__TOK_SPECIAL = 2, HBPO__TOK_ADDED = 4 };

typedef struct {
    const char *text;    /* content as matched: raw, or NFC when normalized */
    size_t      len;
    int         id;
    int         normalized; /* matched in the normalized text (group 1) or the raw text (0) */
} hbpo__tok_added;

struct hbpo_tokenizer {
    int            n_ids;       /* one more than the largest id */
    unsigned char *flags;       /* (n_ids) HBPO__TOK_* */
    uint32_t      *str_off;     /* (n_ids) token as in tokenizer.json, in strs */
    char          *strs;        /* NUL-terminated token strings */
    uint32_t      *dec_off;     /* (n_ids + 1) id i decodes to dec[dec_off[i]..dec_off[i+1]) */
    unsigned char *dec;
    int           *str_hash;    /* (str_cap) ids by token string, -1 empty */
    size_t         str_cap;     /* power of two */
    uint64_t      *merge_key;   /* (merge_cap) a << 32 | b, UINT64_MAX empty */
    int           *merge_val;   /* (2 merge_cap) rank, merged id */
    size_t         merge_cap;   /* power of two */
    int            byte_id[256];/* id of each byte's one-character token, -1 none */
    int            unk_id;      /* BPE unk_token, -1 none: unknown bytes are dropped */
    int            nfc;         /* normalizer NFC */
    int            split;       /* Qwen2 regex pre-tokenizer (else one word per piece) */
    int            ignore_merges; /* a word found in the vocabulary is one token */
    hbpo__tok_added *added;     /* (n_added) raw ones first, each group longest first */
    int            n_added, n_added_raw;
    unsigned char  added_first[2][256]; /* bytes that start an added token, per group */
};

static uint64_t hbpo__tok_hash(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;  /* FNV-1a */
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static const char *hbpo__tok_str(const hbpo_tokenizer *t, int id) {
    return t->strs + t->str_off[id];
}

/* The id of the token string s[0..n), or -1. */
static int hbpo__tok_find(const hbpo_tokenizer *t, const char *s, size_t n) {
    size_t m = t->str_cap - 1, i = (size_t)hbpo__tok_hash(s, n) & m, k;
    const char *u;
    int id;
    for (; (id = t->str_hash[i]) >= 0; i = (i + 1) & m) {
        /* Token strings hold no NUL (the loader refuses them), so u is read
           only up to its terminator: s matches when its n bytes equal u's
           and u ends there. A NUL inside s stops the loop at a mismatch
           (u[k] != 0 there), never past the end of u. */
        u = hbpo__tok_str(t, id);
        for (k = 0; k < n && u[k] && u[k] == s[k]; k++) {}
        if (k == n && u[n] == 0) return id;
    }
    return -1;
}

/* Inserts id under its string (replacing an id of the same string). */
static void hbpo__tok_index(hbpo_tokenizer *t, int id) {
    const char *s = hbpo__tok_str(t, id);
    size_t n = strlen(s), m = t->str_cap - 1, i = (size_t)hbpo__tok_hash(s, n) & m;
    for (; t->str_hash[i] >= 0; i = (i + 1) & m)
        if (strcmp(hbpo__tok_str(t, t->str_hash[i]), s) == 0) break;
    t->str_hash[i] = id;
}

static size_t hbpo__tok_merge_slot(const hbpo_tokenizer *t, uint64_t key) {
    size_t m = t->merge_cap - 1, i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & m;
    while (t->merge_key[i] != UINT64_MAX && t->merge_key[i] != key) i = (i + 1) & m;
    return i;
}

/* The rank of merging ids a, b (and the merged id), or -1. */
static int hbpo__tok_merge(const hbpo_tokenizer *t, int a, int b, int *merged) {
    size_t i;
    if (!t->merge_cap) return -1;
    i = hbpo__tok_merge_slot(t, ((uint64_t)(uint32_t)a << 32) | (uint32_t)b);
    if (t->merge_key[i] == UINT64_MAX) return -1;
    *merged = t->merge_val[2 * i + 1];
    return t->merge_val[2 * i];
}

HBPODEF void hbpo_tokenizer_free(hbpo_tokenizer *t) {
    int i;
    if (!t) return;
    for (i = 0; i < t->n_added; i++) HBPO_FREE((void *)t->added[i].text);
    HBPO_FREE(t->added);
    HBPO_FREE(t->flags);
    HBPO_FREE(t->str_off);
    HBPO_FREE(t->strs);
    HBPO_FREE(t->dec_off);
    HBPO_FREE(t->dec);
    HBPO_FREE(t->str_hash);
    HBPO_FREE(t->merge_key);
    HBPO_FREE(t->merge_val);
    HBPO_FREE(t);
}

static size_t hbpo__pow2_above(size_t n) {
    size_t c = 16;
    while (c < 2 * n) c *= 2;
    return c;
}

/* The id of a JSON number: an integer in [0, HBPO__TOK_MAX_IDS). */
static int hbpo__tok_json_id(const hbpo_json *v, int *id) {
    if (!v || v->type != HBPO_JSON_NUMBER || !(v->num >= 0) || v->num >= HBPO__TOK_MAX_IDS ||
        v->num != (double)(int)v->num)
        return -1;
    *id = (int)v->num;
    return 0;
}

/* 1 when v is a string holding a NUL byte: no token may (they are kept as C
   strings, and ByteLevel writes byte 0 as U+0100, so real vocabularies never do). */
static int hbpo__tok_has_nul(const hbpo_json *v) {
    return v && v->type == HBPO_JSON_STRING && memchr(v->str, 0, v->len) != NULL;
}

/* NFC of the UTF-8 string s into a new NUL-terminated string. */
static char *hbpo__tok_nfc_string(const char *s, size_t n, size_t *outlen) {
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    uint32_t *cps = (uint32_t *)HBPO_MALLOC((n + 1) * sizeof(uint32_t));
    uint32_t *nf = (uint32_t *)HBPO_MALLOC((8 * n + 1) * sizeof(uint32_t)); /* out, then tmp */
    unsigned char *o = (unsigned char *)HBPO_MALLOC(16 * n + 1);
    size_t m = 0, k, i, w = 0;
    int len;
    if (!cps || !nf || !o) goto fail;
    while (p < end) {
        if (!(len = hbpo__utf8_next(p, end, &cps[m]))) goto fail;
        p += len;
        m++;
    }
    k = hbpo__nfc(cps, m, nf, nf + 4 * n);
    for (i = 0; i < k; i++) w += hbpo__utf8_put(nf[i], o + w);
    o[w] = 0;
    *outlen = w;
    HBPO_FREE(cps);
    HBPO_FREE(nf);
    return (char *)o;
fail:
    HBPO_FREE(cps);
    HBPO_FREE(nf);
    HBPO_FREE(o);
    return NULL;
}

/* Raw group first; in each group longest first, so the first match found at
   a position is the longest (leftmost-longest, as tokenizers' Aho-Corasick). */
static int hbpo__tok_cmp_added(const void *x, const void *y) {
    const hbpo__tok_added *a = (const hbpo__tok_added *)x, *b = (const hbpo__tok_added *)y;
    if (a->normalized != b->normalized) return a->normalized - b->normalized;
    return a->len < b->len ? 1 : a->len > b->len ? -1 : a->id - b->id;
}

static const char hbpo__qwen2_regex[] =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/* A ByteLevel step (pre-tokenizer or decoder) this code reproduces: its own
   regex off (as a pre-tokenizer) and no prefix space. */
static int hbpo__tok_bytelevel(const hbpo_json *v, int pre) {
    const hbpo_json *r = hbpo_json_get(v, "use_regex"), *a = hbpo_json_get(v, "add_prefix_space");
    const char *type = hbpo_json_get_string(v, "type");
    if (!type || strcmp(type, "ByteLevel") != 0) return 0;
    if (a && a->type == HBPO_JSON_TRUE && pre) return 0;
    if (pre && (!r || r->type != HBPO_JSON_FALSE)) return 0;
    return 1;
}

/* Checks the normalizer, pre-tokenizer and decoder; sets t->nfc and t->split. */
static int hbpo__tok_pipeline(hbpo_tokenizer *t, const hbpo_json *root) {
    const hbpo_json *nz = hbpo_json_get(root, "normalizer");
    const hbpo_json *pt = hbpo_json_get(root, "pre_tokenizer");
    const hbpo_json *dc = hbpo_json_get(root, "decoder"), *e, *pat;
    const char *type;
    if (nz && nz->type != HBPO_JSON_NULL) {
        type = hbpo_json_get_string(nz, "type");
        if (type && strcmp(type, "NFC") == 0) t->nfc = 1;
        else if (type && strcmp(type, "Sequence") == 0) {
            e = hbpo_json_get(nz, "normalizers");
            for (e = e ? e->child : NULL; e; e = e->next) {
                type = hbpo_json_get_string(e, "type");
                if (!type || strcmp(type, "NFC") != 0)
                    return hbpo__fail("hbpo_tokenizer: normalizer %s is not supported (only NFC)",
                                      type ? type : "(no type)");
                t->nfc = 1;
            }
        } else
            return hbpo__fail("hbpo_tokenizer: normalizer %s is not supported (only NFC)",
                              type ? type : "(no type)");
    }
    if (!pt || pt->type != HBPO_JSON_OBJECT)
        return hbpo__fail("hbpo_tokenizer: no pre_tokenizer (a byte-level BPE needs ByteLevel)");
    type = hbpo_json_get_string(pt, "type");
    if (type && strcmp(type, "Sequence") == 0) {
        const hbpo_json *list = hbpo_json_get(pt, "pretokenizers");
        const hbpo_json *split = hbpo_json_at(list, 0), *bl = hbpo_json_at(list, 1);
        const hbpo_json *inv;
        const char *behavior;
        type = hbpo_json_get_string(split, "type");
        pat = hbpo_json_get(split, "pattern");
        behavior = hbpo_json_get_string(split, "behavior");
        inv = hbpo_json_get(split, "invert");
        if (!list || list->len != 2 || !type || strcmp(type, "Split") != 0 ||
            !hbpo_json_get_string(pat, "Regex") || !behavior || strcmp(behavior, "Isolated") != 0 ||
            (inv && inv->type != HBPO_JSON_FALSE) || !hbpo__tok_bytelevel(bl, 1))
            return hbpo__fail("hbpo_tokenizer: pre_tokenizer must be Split (Regex, Isolated) then "
                              "ByteLevel (use_regex false, add_prefix_space false)");
        if (strcmp(hbpo_json_get_string(pat, "Regex"), hbpo__qwen2_regex) != 0)
            return hbpo__fail("hbpo_tokenizer: the Split regex is not Qwen2's (only Qwen2's is "
                              "implemented)");
        t->split = 1;
    } else if (!hbpo__tok_bytelevel(pt, 1))
        return hbpo__fail("hbpo_tokenizer: pre_tokenizer %s is not supported",
                          type ? type : "(no type)");
    if (!dc || !hbpo__tok_bytelevel(dc, 0))
        return hbpo__fail("hbpo_tokenizer: the decoder must be ByteLevel");
    return 0;
}

/* Fills t from the parsed tokenizer.json. Order matters: merges and the byte
   tokens resolve against the model's vocabulary before added tokens (which
   win in hbpo_tokenizer_token_id, as in tokenizers) join the string index. */
static int hbpo__tok_build(hbpo_tokenizer *t, const hbpo_json *root) {
    const hbpo_json *model, *vocab, *merges, *added, *m, *v, *pa, *pb;
    const char *type, *s, *sp, *a, *b;
    size_t bytes = 0, pos = 0, la, lb, i, n;
    int id, max_id = -1, r, inv[324], ok, len, ia, ib, im, k;
    char pair[2 * HBPO__TOK_MAX_BYTES + 1];
    uint32_t cp;

    if (!root || root->type != HBPO_JSON_OBJECT)
        return hbpo__fail("hbpo_tokenizer: tokenizer.json is not a JSON object");
    model = hbpo_json_get(root, "model");
    if (!model || model->type != HBPO_JSON_OBJECT)
        return hbpo__fail("hbpo_tokenizer: no \"model\" object");
    type = hbpo_json_get_string(model, "type");
    if (type && strcmp(type, "BPE") != 0)
        return hbpo__fail("hbpo_tokenizer: model type %s is not supported (only BPE)", type);
    vocab = hbpo_json_get(model, "vocab");
    merges = hbpo_json_get(model, "merges");
    if (!vocab || vocab->type != HBPO_JSON_OBJECT)
        return hbpo__fail("hbpo_tokenizer: model.vocab is not an object");
    if (!merges || merges->type != HBPO_JSON_ARRAY)
        return hbpo__fail("hbpo_tokenizer: model.merges is not an array");
    v = hbpo_json_get(model, "dropout");
    if (v && v->type != HBPO_JSON_NULL && !(v->type == HBPO_JSON_NUMBER && v->num == 0.0))
        return hbpo__fail("hbpo_tokenizer: BPE dropout is not supported");
    if (((s = hbpo_json_get_string(model, "continuing_subword_prefix")) && s[0]) ||
        ((s = hbpo_json_get_string(model, "end_of_word_suffix")) && s[0]))
        return hbpo__fail("hbpo_tokenizer: subword prefixes and suffixes are not supported");
    v = hbpo_json_get(model, "byte_fallback");
    if (v && v->type == HBPO_JSON_TRUE)
        return hbpo__fail("hbpo_tokenizer: byte_fallback is not supported");
    v = hbpo_json_get(model, "ignore_merges");
    t->ignore_merges = v && v->type == HBPO_JSON_TRUE;
    if (hbpo__tok_pipeline(t, root)) return -1;
    added = hbpo_json_get(root, "added_tokens");
    if (added && added->type != HBPO_JSON_NULL && added->type != HBPO_JSON_ARRAY)
        return hbpo__fail("hbpo_tokenizer: added_tokens is not an array");
    if (added && added->type == HBPO_JSON_NULL) added = NULL;
    if (added && added->len > HBPO__TOK_MAX_ADDED)
        return hbpo__fail("hbpo_tokenizer: more than %d added tokens", HBPO__TOK_MAX_ADDED);

    /* Sizes first, with every id and length checked. */
    for (m = vocab->child; m; m = m->next) {
        if (hbpo__tok_json_id(m, &id))
            return hbpo__fail("hbpo_tokenizer: vocab entry \"%.80s\": id is not an integer "
                              "in [0, %d)", m->key, HBPO__TOK_MAX_IDS);
        n = strlen(m->key);
        if (n != m->key_len)
            return hbpo__fail("hbpo_tokenizer: vocab entry %d \"%.80s...\" holds a NUL byte", id,
                              m->key);
        if (n == 0 || n > HBPO__TOK_MAX_BYTES)
            return hbpo__fail("hbpo_tokenizer: vocab entry %d has %lu bytes (1 to %d allowed)", id,
                              (unsigned long)n, HBPO__TOK_MAX_BYTES);
        if (id > max_id) max_id = id;
        bytes += n + 1;
    }
    for (i = 0, m = added ? added->child : NULL; m; m = m->next, i++) {
        s = hbpo_json_get_string(m, "content");
        if (!s || !s[0] || strlen(s) > HBPO__TOK_MAX_BYTES ||
            hbpo__tok_has_nul(hbpo_json_get(m, "content")) ||
            hbpo__tok_json_id(hbpo_json_get(m, "id"), &id))
            return hbpo__fail("hbpo_tokenizer: added_tokens[%lu] needs a non-empty \"content\" "
                              "(at most %d bytes, no NUL) and an integer \"id\" in [0, %d)",
                              (unsigned long)i, HBPO__TOK_MAX_BYTES, HBPO__TOK_MAX_IDS);
        for (k = 0; k < 3; k++) {
            static const char *const opt[3] = {"lstrip", "rstrip", "single_word"};
            v = hbpo_json_get(m, opt[k]);
            if (v && v->type == HBPO_JSON_TRUE)
                return hbpo__fail("hbpo_tokenizer: added token \"%.80s\": %s is not supported", s,
                                  opt[k]);
        }
        if (id > max_id) max_id = id;
        bytes += strlen(s) + 1;
    }
    if (max_id < 0) return hbpo__fail("hbpo_tokenizer: the vocabulary is empty");
    t->n_ids = max_id + 1;
    t->flags = (unsigned char *)HBPO_MALLOC((size_t)t->n_ids);
    t->str_off = (uint32_t *)HBPO_MALLOC((size_t)t->n_ids * sizeof(uint32_t));
    t->strs = (char *)HBPO_MALLOC(bytes);
    t->str_cap = hbpo__pow2_above(vocab->len + (added ? added->len : 0));
    t->str_hash = (int *)HBPO_MALLOC(t->str_cap * sizeof(int));
    if (merges->len) {
        t->merge_cap = hbpo__pow2_above(merges->len);
        t->merge_key = (uint64_t *)HBPO_MALLOC(t->merge_cap * sizeof(uint64_t));
        t->merge_val = (int *)HBPO_MALLOC(t->merge_cap * 2 * sizeof(int));
    }
    t->dec_off = (uint32_t *)HBPO_MALLOC(((size_t)t->n_ids + 1) * sizeof(uint32_t));
    t->dec = (unsigned char *)HBPO_MALLOC(bytes);
    t->added = (hbpo__tok_added *)HBPO_MALLOC((added ? added->len : 0) * sizeof(hbpo__tok_added) +
                                              1);
    if (!t->flags || !t->str_off || !t->strs || !t->str_hash || !t->dec_off || !t->dec ||
        !t->added || (merges->len && (!t->merge_key || !t->merge_val)))
        return hbpo__fail("hbpo_tokenizer: out of memory for %d tokens", t->n_ids);
    memset(t->flags, 0, (size_t)t->n_ids);
    memset(t->str_hash, 0xFF, t->str_cap * sizeof(int));
    if (t->merge_cap) memset(t->merge_key, 0xFF, t->merge_cap * sizeof(uint64_t));

    /* The model's vocabulary. */
    for (m = vocab->child; m; m = m->next) {
        hbpo__tok_json_id(m, &id);
        if (t->flags[id])
            return hbpo__fail("hbpo_tokenizer: id %d is given to both \"%.80s\" and \"%.80s\"", id,
                              hbpo__tok_str(t, id), m->key);
        n = strlen(m->key);
        memcpy(t->strs + pos, m->key, n + 1);
        t->str_off[id] = (uint32_t)pos;
        pos += n + 1;
        t->flags[id] = HBPO__TOK_EXISTS;
        hbpo__tok_index(t, id);
    }

    /* Merges: "a b" strings (one space) or [a, b] pairs; rank = position. A
       pair listed twice keeps its last rank, as tokenizers' map does. No
       token holds a NUL byte, so a merge naming one is refused (read as a C
       string, "ab\u0000Z" would otherwise name "ab"). */
    for (r = 0, m = merges->child; m; m = m->next, r++) {
        if (hbpo__tok_has_nul(m) ||
            (m->type == HBPO_JSON_ARRAY && (hbpo__tok_has_nul(m->child) ||
                                            (m->child && hbpo__tok_has_nul(m->child->next)))))
            return hbpo__fail("hbpo_tokenizer: merges[%d] holds a NUL byte", r);
        if (m->type == HBPO_JSON_STRING) {
            sp = strchr(m->str, ' ');
            if (!sp || strchr(sp + 1, ' ') || sp == m->str || !sp[1])
                return hbpo__fail("hbpo_tokenizer: merges[%d] \"%.80s\" is not two tokens and "
                                  "one space", r, m->str);
            a = m->str; la = (size_t)(sp - m->str);
            b = sp + 1; lb = strlen(b);
        } else if (m->type == HBPO_JSON_ARRAY && m->len == 2 &&
                   (pa = m->child)->type == HBPO_JSON_STRING &&
                   (pb = pa->next)->type == HBPO_JSON_STRING) {
            a = pa->str; la = pa->len;
            b = pb->str; lb = pb->len;
        } else
            return hbpo__fail("hbpo_tokenizer: merges[%d] is neither \"a b\" nor a pair of "
                              "strings", r);
        ia = hbpo__tok_find(t, a, la);
        ib = hbpo__tok_find(t, b, lb);
        if (ia < 0 || ib < 0) {
            n = ia < 0 ? la : lb;
            return hbpo__fail("hbpo_tokenizer: merges[%d] names the unknown token \"%.*s\"", r,
                              (int)(n < 80 ? n : 80), ia < 0 ? a : b);
        }
        if (la + lb > HBPO__TOK_MAX_BYTES)
            return hbpo__fail("hbpo_tokenizer: merges[%d] makes a token longer than %d bytes", r,
                              HBPO__TOK_MAX_BYTES);
        memcpy(pair, a, la);
        memcpy(pair + la, b, lb);
        pair[la + lb] = 0;
        im = hbpo__tok_find(t, pair, la + lb);
        if (im < 0)
            return hbpo__fail("hbpo_tokenizer: merges[%d]: the merged token \"%.80s\" is not in "
                              "the vocabulary", r, pair);
        i = hbpo__tok_merge_slot(t, ((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib);
        t->merge_key[i] = ((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib;
        t->merge_val[2 * i] = r;
        t->merge_val[2 * i + 1] = im;
    }

    /* Each byte's one-character token; unk_token, when there is one. */
    for (k = 0; k < 256; k++) {
        unsigned char u[4];
        n = hbpo__utf8_put(hbpo__byte_char(k), u);
        t->byte_id[k] = hbpo__tok_find(t, (const char *)u, n);
    }
    s = hbpo_json_get_string(model, "unk_token");
    if (hbpo__tok_has_nul(hbpo_json_get(model, "unk_token")))
        return hbpo__fail("hbpo_tokenizer: unk_token holds a NUL byte");
    t->unk_id = s ? hbpo__tok_find(t, s, strlen(s)) : -1;

    /* Added tokens: matched in the raw text when "normalized" is false (the
       default for special tokens), else in the normalized text. */
    for (m = added ? added->child : NULL; m; m = m->next) {
        int special, normalized;
        hbpo__tok_added *at;
        s = hbpo_json_get_string(m, "content");
        hbpo__tok_json_id(hbpo_json_get(m, "id"), &id);
        v = hbpo_json_get(m, "special");
        special = v && v->type == HBPO_JSON_TRUE;
        v = hbpo_json_get(m, "normalized");
        normalized = v ? v->type == HBPO_JSON_TRUE : !special;
        n = strlen(s);
        if (t->flags[id] && strcmp(hbpo__tok_str(t, id), s) != 0)
            return hbpo__fail("hbpo_tokenizer: added token \"%.80s\" has the id %d of \"%.80s\"",
                              s, id, hbpo__tok_str(t, id));
        if (!t->flags[id]) {
            memcpy(t->strs + pos, s, n + 1);
            t->str_off[id] = (uint32_t)pos;
            pos += n + 1;
        }
        t->flags[id] |= HBPO__TOK_EXISTS | HBPO__TOK_ADDED | (special ? HBPO__TOK_SPECIAL : 0);
        hbpo__tok_index(t, id);
        at = &t->added[t->n_added];
        at->id = id;
        at->normalized = normalized;
        at->text = normalized && t->nfc ? hbpo__tok_nfc_string(s, n, &at->len) : NULL;
        if (!at->text) {
            char *c = (char *)HBPO_MALLOC(n + 1);
            if (!c) return hbpo__fail("hbpo_tokenizer: out of memory");
            memcpy(c, s, n + 1);
            at->text = c;
            at->len = n;
        }
        t->n_added++;
        if (!normalized) t->n_added_raw++;
    }
    qsort(t->added, (size_t)t->n_added, sizeof(hbpo__tok_added), hbpo__tok_cmp_added);
    for (k = 0; k < t->n_added; k++)
        t->added_first[k >= t->n_added_raw][(unsigned char)t->added[k].text[0]] = 1;

    /* Decoded bytes (decoders::ByteLevel): each character back to its byte;
       a token with a character outside the table gives its UTF-8 as is. */
    for (k = 0; k < 324; k++) inv[k] = -1;
    for (k = 0; k < 256; k++) inv[hbpo__byte_char(k)] = k;
    for (id = 0, pos = 0; id < t->n_ids; id++) {
        const unsigned char *p, *e;
        t->dec_off[id] = (uint32_t)pos;
        if (!t->flags[id]) continue;
        s = hbpo__tok_str(t, id);
        p = (const unsigned char *)s;
        e = p + strlen(s);
        for (ok = 1, n = pos; p < e; p += len) {
            len = hbpo__utf8_next(p, e, &cp);
            if (!len || cp >= 324 || inv[cp] < 0) { ok = 0; break; }
            t->dec[n++] = (unsigned char)inv[cp];
        }
        if (!ok) {
            n = strlen(s);
            memcpy(t->dec + pos, s, n);
            n += pos;
        }
        pos = n;
    }
    t->dec_off[t->n_ids] = (uint32_t)pos;
    return 0;
}

/* Puts prefix before the current error message and a suffix after it. */
static int hbpo__tok_wrap_error(const char *prefix, const char *suffix) {
    char msg[sizeof hbpo__err];
    memcpy(msg, hbpo__err, sizeof msg);
    msg[sizeof msg - 1] = 0;
    return hbpo__fail("%s%s%s", prefix, msg, suffix);
}

HBPODEF int hbpo_tokenizer_load_json(hbpo_tokenizer **tok, const char *json, size_t len) {
    hbpo_json_doc doc;
    hbpo_tokenizer *t;
    if (!tok) return hbpo__fail("hbpo_tokenizer_load_json: tok is NULL");
    *tok = NULL;
    if (!json) return hbpo__fail("hbpo_tokenizer_load_json: json is NULL");
    if (hbpo_json_parse(&doc, json, len) != 0)
        return hbpo__tok_wrap_error("hbpo_tokenizer: tokenizer.json is not valid JSON: ", "");
    t = (hbpo_tokenizer *)HBPO_MALLOC(sizeof *t);
    if (!t) {
        hbpo_json_free(&doc);
        return hbpo__fail("hbpo_tokenizer: out of memory");
    }
    memset(t, 0, sizeof *t);
    if (hbpo__tok_build(t, doc.root) != 0) {
        hbpo_json_free(&doc);
        hbpo_tokenizer_free(t);
        return -1;
    }
    hbpo_json_free(&doc);
    *tok = t;
    return 0;
}

HBPODEF int hbpo_tokenizer_load(hbpo_tokenizer **tok, const char *path) {
    char *text, *full = NULL;
    size_t len, n;
    int rc;
    FILE *f;
    if (!tok) return hbpo__fail("hbpo_tokenizer_load: tok is NULL");
    *tok = NULL;
    if (!path) return hbpo__fail("hbpo_tokenizer_load: path is NULL");
    /* A folder: its tokenizer.json. (fopen succeeds on a folder on Linux, so
       the file name is tried first.) */
    n = strlen(path);
    full = (char *)HBPO_MALLOC(n + 16);
    if (!full) return hbpo__fail("hbpo_tokenizer_load: out of memory");
    snprintf(full, n + 16, "%s/tokenizer.json", path);
    f = fopen(full, "rb");
    if (f) fclose(f);
    text = hbpo_read_file(f ? full : path, HBPO__TOK_FILE_MAX, &len);
    if (!text) {
        HBPO_FREE(full);
        return hbpo__tok_wrap_error("hbpo_tokenizer_load: ", "");
    }
    rc = hbpo_tokenizer_load_json(tok, text, len);
    if (rc) { /* name the file after the reason */
        const char *name = f ? full : path;
        char *sfx = (char *)HBPO_MALLOC(strlen(name) + 4);
        if (sfx) {
            snprintf(sfx, strlen(name) + 4, " (%s)", name);
            hbpo__tok_wrap_error("", sfx);
            HBPO_FREE(sfx);
        }
    }
    HBPO_FREE(full);
    HBPO_FREE(text);
    return rc;
}

HBPODEF int hbpo_tokenizer_vocab_size(const hbpo_tokenizer *t) { return t ? t->n_ids : 0; }

HBPODEF int hbpo_tokenizer_token_id(const hbpo_tokenizer *t, const char *token) {
    return t && token && token[0] ? hbpo__tok_find(t, token, strlen(token)) : -1;
}

HBPODEF const char *hbpo_tokenizer_token(const hbpo_tokenizer *t, int id) {
    return t && id >= 0 && id < t->n_ids && t->flags[id] ? hbpo__tok_str(t, id) : NULL;
}

HBPODEF int hbpo_tokenizer_is_special(const hbpo_tokenizer *t, int id) {
    return t && id >= 0 && id < t->n_ids && (t->flags[id] & HBPO__TOK_SPECIAL) ? 1 : 0;
}

/* ---- encoding ---- */

/* Scratch of one encode call: buffers grow to the largest piece seen. */
typedef struct {
    const hbpo_tokenizer *t;
    int      *ids;             /* caller's output */
    int       cap, n;          /* its capacity; ids produced so far */
    int       overflow;        /* n passed INT_MAX */
    uint32_t *cp, *nf;         /* code points of a piece, their NFC */
    unsigned char *cls, *norm; /* regex class per code point; NFC text */
    size_t   *off;             /* byte offset of each code point (+ the end) */
    unsigned char *word;       /* a word in ByteLevel characters (ignore_merges) */
    size_t    cp_cap, nf_cap, norm_cap, cls_cap, off_cap, word_cap;
    int      *sym;             /* BPE symbols of a word: ids, then prev and next links */
    int      *heap;            /* BPE candidates, 4 ints each: rank, left, id_left, id_right */
    size_t    sym_cap, heap_cap;
    int       nomem;
} hbpo__tok_enc;

static void hbpo__tok_emit(hbpo__tok_enc *e, int id) {
    if (e->n == INT_MAX) { e->overflow = 1; return; }
    if (e->n < e->cap) e->ids[e->n] = id;
    e->n++;
}

/* Grows the buffer that the pointer at bufp points to (any element type) to
   hold n elements of size sz; 0, or -1 when out of memory. */
static int hbpo__tok_grow(hbpo__tok_enc *e, void *bufp, size_t *cap, size_t n, size_t sz) {
    void *old, *nb;
    size_t c = *cap ? *cap : 64, bytes;
    if (n <= *cap) return 0;
    while (c < n) c *= 2;
    memcpy(&old, bufp, sizeof old);
    bytes = hbpo__mul_size(c, sz);
    nb = bytes ? HBPO_REALLOC(old, bytes) : NULL;
    if (!nb) { e->nomem = 1; return -1; }
    memcpy(bufp, &nb, sizeof nb);
    *cap = c;
    return 0;
}

/* Heap of candidate merges ordered by (rank, left position). */
static int hbpo__tok_heap_less(const int *h, size_t a, size_t b) {
    return h[4 * a] < h[4 * b] || (h[4 * a] == h[4 * b] && h[4 * a + 1] < h[4 * b + 1]);
}

static void hbpo__tok_heap_swap(int *h, size_t a, size_t b) {
    int k, x;
    for (k = 0; k < 4; k++) { x = h[4 * a + k]; h[4 * a + k] = h[4 * b + k]; h[4 * b + k] = x; }
}

static void hbpo__tok_heap_push(hbpo__tok_enc *e, const int *next, size_t *n, int left) {
    int *h = e->heap, right = next[left], merged, rank;
    size_t i, p;
    if (right < 0 || (rank = hbpo__tok_merge(e->t, e->sym[left], e->sym[right], &merged)) < 0)
        return;
    i = (*n)++;
    h[4 * i] = rank; h[4 * i + 1] = left; h[4 * i + 2] = e->sym[left]; h[4 * i + 3] = e->sym[right];
    while (i > 0 && hbpo__tok_heap_less(h, i, p = (i - 1) / 2)) {
        hbpo__tok_heap_swap(h, i, p);
        i = p;
        HBPO__OPS(1);
    }
    HBPO__OPS(1);
}

static void hbpo__tok_heap_pop(int *h, size_t *n) {
    size_t i = 0, l, s;
    hbpo__tok_heap_swap(h, 0, --*n);
    for (;;) {
        l = 2 * i + 1;
        s = i;
        if (l < *n && hbpo__tok_heap_less(h, l, s)) s = l;
        if (l + 1 < *n && hbpo__tok_heap_less(h, l + 1, s)) s = l + 1;
        HBPO__OPS(1);
        if (s == i) break;
        hbpo__tok_heap_swap(h, i, s);
        i = s;
    }
}

/* models::BPE on one pre-token w[0..n) (bytes): start from one symbol per
   byte and apply the lowest-ranked merge present, leftmost first, until none
   applies. A heap of candidates keeps long words O(n log n); a popped
   candidate is stale when its pair has changed since it was pushed. */
static void hbpo__tok_bpe(hbpo__tok_enc *e, const unsigned char *w, size_t n) {
    const hbpo_tokenizer *t = e->t;
    size_t i, m = 0, hn = 0;
    int id, left, right, merged, *sym, *prev, *next;
    if (n == 0) return;
    if (t->ignore_merges) {
        /* the word in ByteLevel characters, looked up whole */
        if (hbpo__tok_grow(e, &e->word, &e->word_cap, 2 * n + 1, 1)) return;
        for (i = 0; i < n; i++) m += hbpo__utf8_put(hbpo__byte_char(w[i]), e->word + m);
        if ((id = hbpo__tok_find(t, (const char *)e->word, m)) >= 0) {
            hbpo__tok_emit(e, id);
            return;
        }
        m = 0;
    }
    if (hbpo__tok_grow(e, &e->sym, &e->sym_cap, 3 * n, sizeof(int)) ||
        hbpo__tok_grow(e, &e->heap, &e->heap_cap, 4 * 3 * n, sizeof(int)))
        return;
    sym = e->sym;
    prev = sym + n;
    next = sym + 2 * n;
    for (i = 0; i < n; i++) {
        id = t->byte_id[w[i]];
        if (id < 0) id = t->unk_id;
        if (id < 0) continue; /* tokenizers drops a character it has no token for */
        sym[m] = id;
        prev[m] = (int)m - 1;
        next[m] = (int)m + 1;
        m++;
    }
    if (m == 0) return;
    next[m - 1] = -1;
    for (i = 0; i + 1 < m; i++) hbpo__tok_heap_push(e, next, &hn, (int)i);
    while (hn > 0) {
        int *h = e->heap;
        left = h[1];
        right = next[left];
        /* stale: the left symbol was absorbed (prev == -2) or either side changed */
        if (prev[left] == -2 || right < 0 || sym[left] != h[2] || sym[right] != h[3]) {
            hbpo__tok_heap_pop(h, &hn);
            continue;
        }
        hbpo__tok_merge(t, sym[left], sym[right], &merged);
        hbpo__tok_heap_pop(h, &hn);
        sym[left] = merged;
        next[left] = next[right];
        if (next[right] >= 0) prev[next[right]] = left;
        prev[right] = -2;
        if (prev[left] >= 0) hbpo__tok_heap_push(e, next, &hn, prev[left]);
        hbpo__tok_heap_push(e, next, &hn, left);
    }
    for (left = 0; left >= 0; left = next[left]) hbpo__tok_emit(e, sym[left]);
}

/* The end of the Qwen2 regex match that starts at code point i (of n), each
   alternative in the regex's order (Oniguruma takes the first that matches):
     (?i:'s|'t|'re|'ve|'m|'ll|'d)   contractions; U+017F (long s) folds to s
     [^\r\n\p{L}\p{N}]?\p{L}+        a word, with one leading non-letter
     \p{N}                           one digit
      ?[^\s\p{L}\p{N}]+[\r\n]*       punctuation, with one leading space
     \s*[\r\n]+                      white space through its last line break
     \s+(?!\S)                       white space but the last before a non-space
     \s+                             the rest of the white space
   Every character is a letter, number, space or other, so some alternative
   matches and matches are never empty. */
static size_t hbpo__tok_pretoken(const uint32_t *cp, const unsigned char *cls, size_t i, size_t n) {
    size_t j, e, k;
    uint32_t a, b;
#define HBPO__NL(c) ((c) == '\r' || (c) == '\n')
    if (cp[i] == '\'' && i + 1 < n) {
        a = cp[i + 1] | 0x20;
        if (a == 's' || a == 't' || a == 'm' || a == 'd' || cp[i + 1] == 0x17F) return i + 2;
        if (i + 2 < n && cp[i + 1] < 0x80 && cp[i + 2] < 0x80) {
            b = cp[i + 2] | 0x20;
            if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
                return i + 3;
        }
    }
    j = i;
    if (cls[i] != HBPO__CH_LETTER && cls[i] != HBPO__CH_NUMBER && !HBPO__NL(cp[i]) && i + 1 < n &&
        cls[i + 1] == HBPO__CH_LETTER)
        j = i + 1;
    if (cls[j] == HBPO__CH_LETTER) {
        while (j < n && cls[j] == HBPO__CH_LETTER) j++;
        return j;
    }
    if (cls[i] == HBPO__CH_NUMBER) return i + 1;
    j = i;
    if (cp[i] == ' ' && i + 1 < n && cls[i + 1] == HBPO__CH_OTHER) j = i + 1;
    if (cls[j] == HBPO__CH_OTHER) {
        while (j < n && cls[j] == HBPO__CH_OTHER) j++;
        while (j < n && HBPO__NL(cp[j])) j++;
        return j;
    }
    /* white space from i to e */
    for (e = i; e < n && cls[e] == HBPO__CH_SPACE; e++) {}
    for (k = e; k > i; k--)
        if (HBPO__NL(cp[k - 1])) return k;
    if (e == n || e - i == 1) return e;
    return e - 1;
#undef HBPO__NL
}

/* Pre-tokenizes and encodes s[0..n), normalized text with no added tokens. */
static void hbpo__tok_words(hbpo__tok_enc *e, const unsigned char *s, size_t n) {
    size_t m = 0, i, j;
    const unsigned char *p = s, *end = s + n;
    int len;
    if (!e->t->split) { hbpo__tok_bpe(e, s, n); return; }
    if (hbpo__tok_grow(e, &e->cp, &e->cp_cap, n + 1, sizeof(uint32_t)) ||
        hbpo__tok_grow(e, &e->cls, &e->cls_cap, n + 1, 1) ||
        hbpo__tok_grow(e, &e->off, &e->off_cap, n + 1, sizeof(size_t)))
        return;
    while (p < end) {
        len = hbpo__utf8_next(p, end, &e->cp[m]); /* valid: checked by the caller */
        e->off[m] = (size_t)(p - s);
        e->cls[m] = (unsigned char)hbpo__uni_class_of(e->cp[m]);
        p += len;
        m++;
    }
    e->off[m] = n;
    for (i = 0; i < m; i = j) {
        j = hbpo__tok_pretoken(e->cp, e->cls, i, m);
        HBPO__OPS(j - i);
        hbpo__tok_bpe(e, s + e->off[i], e->off[j] - e->off[i]);
    }
}

/* Leftmost-longest search for the added tokens of group g (0 raw, 1
   normalized) in s[0..n): the start of the first match and its token, or n. */
static size_t hbpo__tok_find_added(const hbpo_tokenizer *t, int g, const unsigned char *s, size_t n,
                                   const hbpo__tok_added **hit) {
    int lo = g ? t->n_added_raw : 0, hi = g ? t->n_added : t->n_added_raw, k;
    size_t i;
    const hbpo__tok_added *a;
    if (lo == hi) return n;
    for (i = 0; i < n; i++) {
        HBPO__OPS(1);
        if (!t->added_first[g][s[i]]) continue;
        for (k = lo; k < hi; k++) { /* longest first */
            a = &t->added[k];
            HBPO__OPS(1);
            if (a->len <= n - i && (unsigned char)a->text[0] == s[i] &&
                memcmp(a->text, s + i, a->len) == 0) {
                *hit = a;
                return i;
            }
        }
    }
    return n;
}

/* Normalizes one piece between raw added tokens, splits it on normalized
   added tokens and encodes the parts. */
static void hbpo__tok_piece(hbpo__tok_enc *e, const unsigned char *s, size_t n) {
    const hbpo_tokenizer *t = e->t;
    const hbpo__tok_added *hit = NULL;
    const unsigned char *p = s, *end = s + n;
    size_t m = 0, k, i, w = 0, at;
    int len, unsafe = 0;
    if (t->nfc) {
        if (hbpo__tok_grow(e, &e->cp, &e->cp_cap, n + 1, sizeof(uint32_t))) return;
        for (; p < end; p += len, m++) {
            len = hbpo__utf8_next(p, end, &e->cp[m]);
            if (!unsafe && hbpo__nfc_unsafe(e->cp[m])) unsafe = 1;
        }
        if (unsafe) {
            /* the NFC, then scratch for its ordering */
            if (hbpo__tok_grow(e, &e->nf, &e->nf_cap, 8 * m + 1, sizeof(uint32_t))) return;
            k = hbpo__nfc(e->cp, m, e->nf, e->nf + 4 * m);
            if (hbpo__tok_grow(e, &e->norm, &e->norm_cap, 4 * k + 1, 1)) return;
            for (i = 0; i < k; i++) w += hbpo__utf8_put(e->nf[i], e->norm + w);
            s = e->norm;
            n = w;
        }
    }
    for (p = s, end = s + n; p < end;) {
        at = hbpo__tok_find_added(t, 1, p, (size_t)(end - p), &hit);
        hbpo__tok_words(e, p, at);
        if (p + at == end) break;
        hbpo__tok_emit(e, hit->id);
        p += at + hit->len;
    }
}

HBPODEF int hbpo_tokenizer_encode(const hbpo_tokenizer *t, const char *text, size_t len, int *ids,
                                  int cap) {
    hbpo__tok_enc e;
    const unsigned char *s = (const unsigned char *)text, *p, *end;
    const hbpo__tok_added *hit = NULL;
    size_t at;
    uint32_t cp;
    int n;
    if (!t) return hbpo__fail("hbpo_tokenizer_encode: tokenizer is NULL");
    if (!text && len) return hbpo__fail("hbpo_tokenizer_encode: text is NULL");
    if (cap < 0 || (cap > 0 && !ids))
        return hbpo__fail("hbpo_tokenizer_encode: ids is NULL or cap < 0");
    HBPO__OPS(len);
    for (p = s, end = s + len; p < end; p += n)
        if (!(n = hbpo__utf8_next(p, end, &cp)))
            return hbpo__fail("hbpo_tokenizer_encode: invalid UTF-8 at byte %lu (0x%02X)",
                              (unsigned long)(p - s), (unsigned)*p);
    memset(&e, 0, sizeof e);
    e.t = t;
    e.ids = ids;
    e.cap = cap;
    for (p = s, end = s + len; p < end && !e.nomem;) {
        at = hbpo__tok_find_added(t, 0, p, (size_t)(end - p), &hit);
        if (at) hbpo__tok_piece(&e, p, at);
        if (p + at == end) break;
        hbpo__tok_emit(&e, hit->id);
        p += at + hit->len;
    }
    HBPO_FREE(e.cp);
    HBPO_FREE(e.nf);
    HBPO_FREE(e.cls);
    HBPO_FREE(e.norm);
    HBPO_FREE(e.word);
    HBPO_FREE(e.off);
    HBPO_FREE(e.sym);
    HBPO_FREE(e.heap);
    if (e.nomem) return hbpo__fail("hbpo_tokenizer_encode: out of memory");
    if (e.overflow) return hbpo__fail("hbpo_tokenizer_encode: more than INT_MAX ids");
    return e.n;
}

/* ---- decoding ---- */

HBPODEF int hbpo_tokenizer_decode(const hbpo_tokenizer *t, const int *ids, int n, int skip_special,
                                  char *out, size_t cap) {
    size_t total = 0, w = 0, k, len;
    unsigned char *raw, *p, *end;
    uint32_t cp;
    int i;
    if (!t) return hbpo__fail("hbpo_tokenizer_decode: tokenizer is NULL");
    if (n < 0 || (n > 0 && !ids)) return hbpo__fail("hbpo_tokenizer_decode: ids is NULL or n < 0");
    if (cap > 0 && !out) return hbpo__fail("hbpo_tokenizer_decode: out is NULL");
    for (i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_ids || !t->flags[ids[i]])
            return hbpo__fail("hbpo_tokenizer_decode: ids[%d] = %d is not a token (vocabulary "
                              "of %d)", i, ids[i], t->n_ids);
        total += t->dec_off[ids[i] + 1] - t->dec_off[ids[i]];
    }
    /* The tokens' bytes joined, then String::from_utf8_lossy: each maximal
       invalid subsequence becomes U+FFFD (which is 3 bytes, so 3x room). */
    raw = (unsigned char *)HBPO_MALLOC(total + 1);
    if (!raw)
        return hbpo__fail("hbpo_tokenizer_decode: out of memory for %lu bytes",
                          (unsigned long)total);
    for (i = 0, len = 0; i < n; i++) {
        if (skip_special && (t->flags[ids[i]] & HBPO__TOK_SPECIAL)) continue;
        k = t->dec_off[ids[i] + 1] - t->dec_off[ids[i]];
        memcpy(raw + len, t->dec + t->dec_off[ids[i]], k);
        len += k;
    }
    for (p = raw, end = raw + len; p < end;) {
        int c = hbpo__utf8_next(p, end, &cp);
        const unsigned char *src = p;
        size_t m = (size_t)c;
        if (!c) {
            src = (const unsigned char *)"\xEF\xBF\xBD";
            m = 3;
            p += hbpo__utf8_bad_len(p, end);
        } else p += c;
        for (k = 0; k < m; k++, w++)
            if (w + 1 < cap) out[w] = (char)src[k];
        if (w > INT_MAX) {
            HBPO_FREE(raw);
            if (cap) out[0] = 0;
            return hbpo__fail("hbpo_tokenizer_decode: the text is longer than INT_MAX bytes");
        }
    }
    if (cap) out[w < cap ? w : cap - 1] = 0;
    HBPO_FREE(raw);
    return (int)w;
}

/* ---- the byte-level tokenizer for tiny models ---- */

HBPODEF int hbpo_tokenizer_write_bytes(const char *path) {
    static const char *const added = HBPO_TOKENIZER_BYTES_ADDED;
    char *full = NULL, word[64];
    const char *a, *e;
    FILE *f;
    size_t n;
    int b, id = 256, special;
    if (!path) return hbpo__fail("hbpo_tokenizer_write_bytes: path is NULL");
    n = strlen(path);
    full = (char *)HBPO_MALLOC(n + 16);
    if (!full) return hbpo__fail("hbpo_tokenizer_write_bytes: out of memory");
    /* A folder gets tokenizer.json inside it; "FILE/tokenizer.json" fails. */
    snprintf(full, n + 16, "%s/tokenizer.json", path);
    f = fopen(full, "wb");
    if (!f) {
        memcpy(full, path, n + 1);
        f = fopen(full, "wb");
    }
    if (!f) {
        hbpo__fail("hbpo_tokenizer_write_bytes: cannot write %s: %s", full, strerror(errno));
        HBPO_FREE(full);
        return -1;
    }
    fprintf(f, "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n"
               "  \"added_tokens\": [\n");
    for (a = added; *a; a = *e ? e + 1 : e, id++) {
        for (e = a; *e && *e != ' '; e++) {}
        n = (size_t)(e - a);
        memcpy(word, a, n);
        word[n] = 0;
        /* special as in Qwen and DeepSeek-R1-Distill: not the think tags, User, Assistant */
        special = strncmp(word, "<|", 2) == 0 || strstr(word, "sentence") != NULL;
        fprintf(f, "    {\"id\": %d, \"content\": \"", id);
        for (b = 0; word[b]; b++) { /* JSON: \boxed{'s backslash escaped */
            if (word[b] == '\\' || word[b] == '"') fputc('\\', f);
            fputc(word[b], f);
        }
        fprintf(f, "\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, "
                   "\"normalized\": false, \"special\": %s}%s\n",
                special ? "true" : "false", *e ? "," : "");
    }
    fprintf(f, "  ],\n  \"normalizer\": null,\n  \"pre_tokenizer\": {\"type\": \"Sequence\", "
               "\"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": \"");
    for (a = hbpo__qwen2_regex; *a; a++) {
        if (*a == '\\' || *a == '"') fputc('\\', f);
        fputc(*a, f);
    }
    fprintf(f, "\"}, \"behavior\": \"Isolated\", \"invert\": false}, {\"type\": \"ByteLevel\", "
               "\"add_prefix_space\": false, \"trim_offsets\": false, \"use_regex\": false}]},\n"
               "  \"post_processor\": null,\n"
               "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, "
               "\"trim_offsets\": false, \"use_regex\": false},\n"
               "  \"model\": {\"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, "
               "\"continuing_subword_prefix\": null, \"end_of_word_suffix\": null, "
               "\"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": false,\n"
               "    \"vocab\": {");
    for (b = 0; b < 256; b++) {
        uint32_t c = hbpo__byte_char(b);
        if (c == '"' || c == '\\') fprintf(f, "%s\"\\%c\": %d", b ? ", " : "", (char)c, b);
        else if (c >= 0x21 && c <= 0x7E) fprintf(f, "%s\"%c\": %d", b ? ", " : "", (char)c, b);
        else fprintf(f, "%s\"\\u%04X\": %d", b ? ", " : "", (unsigned)c, b);
    }
    fprintf(f, "},\n    \"merges\": []}\n}\n");
    if (fclose(f) != 0) {
        hbpo__fail("hbpo_tokenizer_write_bytes: error writing %s", full);
        HBPO_FREE(full);
        return -1;
    }
    HBPO_FREE(full);
    return 0;
}

/* ---- chat format ---- */

HBPODEF int hbpo_chat_prompt(int style, const char *question, const char *suffix, char *out,
                             size_t cap) {
    /* before and after the question */
    static const char *const fmt[2][2] = {
        {"<|im_start|>user\n", "<|im_end|>\n<|im_start|>assistant\n<think>\n"},
        {"<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"
         "<\xEF\xBD\x9CUser\xEF\xBD\x9C>",
         "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C><think>\n"}};
    size_t n;
    if (style != HBPO_CHAT_CHATML && style != HBPO_CHAT_DEEPSEEK_R1)
        return hbpo__fail("hbpo_chat_prompt: style %d is neither HBPO_CHAT_CHATML nor "
                          "HBPO_CHAT_DEEPSEEK_R1", style);
    if (!question) return hbpo__fail("hbpo_chat_prompt: question is NULL");
    if (!suffix) suffix = "";
    n = strlen(fmt[style][0]) + strlen(question) + strlen(fmt[style][1]) + strlen(suffix);
    if (n > INT_MAX) return hbpo__fail("hbpo_chat_prompt: prompt longer than INT_MAX bytes");
    if (!out && cap == 0) return (int)n;
    if (!out || cap <= n)
        return hbpo__fail("hbpo_chat_prompt: the prompt needs %lu bytes, the buffer has %lu",
                          (unsigned long)n + 1, (unsigned long)cap);
    snprintf(out, cap, "%s%s%s%s", fmt[style][0], question, fmt[style][1], suffix);
    return (int)n;
}

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

#if defined(HBPO_USE_OPENBLAS)
static void hbpo__blas_check_once(void);
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
   into blocks of rows (or columns) of C that the OpenMP threads take as they
   come. The blocks follow from the shape alone, never from the thread count,
   and a block's elements are computed exactly as in a call for it alone, so
   a product gives the same bits on any number of threads; and a thread that
   the OS sets aside for another process holds up one block, not half the
   product. Calls made inside a parallel region run their blocks in turn. */
#define HBPO__SGEMM_SPLIT_MIN 262144.0 /* multiply-adds below which one call is faster */
/* Rows (or columns) of C in a block: each block packs the shared operand
   again, which costs about 10 / HBPO__SGEMM_BLOCK of the block's work. */
#define HBPO__SGEMM_BLOCK 256

static void hbpo__sgemm_split(int trans_a, int trans_b, int M, int N, int K, float alpha,
                              const float *A, int lda, const float *B, int ldb, float beta,
                              float *C, int ldc) {
    static int blas_single = 0;
    double work = (double)M * N * K;
    /* split the longer side of C in blocks that are multiples of 16 */
    int rows = M >= N, len = rows ? M : N, nblk = 1, blk, part;
    if (!blas_single) { /* once: benign if two threads race to set the same value */
        openblas_set_num_threads(1);
        blas_single = 1;
    }
    if (work >= HBPO__SGEMM_SPLIT_MIN) { /* at least two blocks, for two threads */
        nblk = len / HBPO__SGEMM_BLOCK;
        if (nblk < 2) nblk = len >= 32 ? 2 : 1;
    }
    blk = HBPO__ROUND_UP((len + nblk - 1) / nblk, 16);
    nblk = (len + blk - 1) / blk;
    HBPO__OMP(omp parallel for schedule(dynamic) if (nblk > 1 && !omp_in_parallel() && omp_get_max_threads() > 1))
    for (part = 0; part < nblk; part++) {
        int lo = part * blk, hi = lo + blk < len ? lo + blk : len;
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
HBPODEF int hbpo_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
                       const float *A, int lda, const float *B, int ldb, float beta,
                       float *C, int ldc) {
    int i;
    int a_width = trans_a ? M : K, b_width = trans_b ? K : N; /* row lengths as stored */
    if ((trans_a != 0 && trans_a != 1) || (trans_b != 0 && trans_b != 1)) {
        return hbpo__fail("hbpo_sgemm: trans_a = %d, trans_b = %d: each must be 0 or 1", trans_a, trans_b);
    }
    if (M < 0 || N < 0 || K < 0) {
        return hbpo__fail("hbpo_sgemm: negative size M = %d, N = %d, K = %d", M, N, K);
    }
    if (M == 0 || N == 0) return 0;
    if (!C || ldc < N) {
        return hbpo__fail("hbpo_sgemm: C is NULL or ldc = %d < N = %d", ldc, N);
    }
    if (K == 0 || alpha == 0.0f) { /* op(A) op(B) contributes nothing: A, B unread */
        for (i = 0; i < M; i++) hbpo__scale_row(N, beta, C + (size_t)i * ldc);
        return 0;
    }
    if (!A || !B || lda < a_width || ldb < b_width) {
        return hbpo__fail("hbpo_sgemm: A or B is NULL, or lda = %d < %d, or ldb = %d < %d", lda,
                          a_width, ldb, b_width);
    }
#if defined(HBPO_USE_OPENBLAS)
    hbpo__blas_check_once();
#endif
#if defined(HBPO_USE_OPENBLAS) && defined(_OPENMP)
    hbpo__sgemm_split(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#elif defined(HBPO_USE_OPENBLAS)
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C,
                ldc);
#else
    hbpo__sgemm_loops(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#endif
    return 0;
}

/* Threads for OpenMP regions. With OpenBLAS under OpenMP, OpenBLAS itself
   stays single-threaded (see hbpo__sgemm_split); without OpenMP, OpenBLAS
   gets the n threads. The first call records the counts in effect, so that
   n <= 0 can restore them. */
static int hbpo__threads_fixed = 0; /* hbpo_set_threads(n > 0) was called */
#ifdef _OPENMP
static int hbpo__omp_default(void) {
    static int n = 0; /* the same value whichever thread sets it first */
    if (n == 0) n = omp_get_max_threads();
    return n;
}
#endif
HBPODEF void hbpo_set_threads(int n) {
    hbpo__threads_fixed = n > 0;
#ifdef _OPENMP
    omp_set_num_threads(n > 0 ? n : hbpo__omp_default());
#elif defined(HBPO_USE_OPENBLAS)
    static int blas_default = 0;
    if (blas_default == 0) blas_default = openblas_get_num_threads();
    openblas_set_num_threads(n > 0 ? n : blas_default);
#endif
    (void)n;
}

HBPODEF int hbpo_threads_free(int max_threads, int others) {
    int n = max_threads - others;
    return n < 1 ? 1 : n > max_threads ? max_threads : n;
}

#if defined(_OPENMP) && defined(__linux__)
#include <dirent.h> /* opendir: this process's threads */
/* Tasks of this process in state R (running or runnable), from
   /proc/self/task/TID/stat: "TID (comm) STATE ...", comm may hold spaces. */
static int hbpo__own_running(void) {
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    if (!d) return 1;
    while ((e = readdir(d)) != NULL) {
        char path[64], line[256], *p;
        FILE *f;
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/self/task/%.20s/stat", e->d_name);
        if (!(f = fopen(path, "r"))) continue;
        if (fgets(line, sizeof line, f) && (p = strrchr(line, ')')) != NULL && p[1] == ' ' && p[2] == 'R') n++;
        fclose(f);
    }
    closedir(d);
    return n > 0 ? n : 1;
}
#endif

/* The default thread count fitted to the load (hbpo_set_threads), at most
   every 50 ms: beside a process that holds one of two cores, two threads
   get 4/3 of a core between them and each region waits for the slower, so
   they are no faster than one thread, which has a core of its own
   (docs/performance.md). Other processes' runnable tasks are the machine's
   (/proc/loadavg) less this process's own, which may still be on their way
   to sleep after a region. Only with sleeping workers: spinning ones would
   look like load. */
static void hbpo__threads_fit(void) {
#if defined(_OPENMP) && defined(__linux__)
    static HBPO__THREAD_LOCAL double last = -1.0;
    const char *w = getenv("OMP_WAIT_POLICY");
    double now, l1, l5, l15;
    int running, total;
    FILE *f;
    if (hbpo__threads_fixed || omp_in_parallel() || !w || (strcmp(w, "passive") && strcmp(w, "PASSIVE")))
        return;
    now = hbpo_wall_time();
    if (last >= 0.0 && now - last < 0.05) return;
    last = now;
    f = fopen("/proc/loadavg", "r");
    if (!f) return;
    if (fscanf(f, "%lf %lf %lf %d/%d", &l1, &l5, &l15, &running, &total) == 5)
        omp_set_num_threads(hbpo_threads_free(hbpo__omp_default(), running - hbpo__own_running()));
    fclose(f);
#endif
}

/* ---- The BLAS kernel check, and what programs share (timing, progress) ---- */

#if defined(HBPO_USE_OPENBLAS) && !defined(OPENBLAS_VERSION)
char *openblas_get_corename(void);
#endif
#ifndef _WIN32
#include <unistd.h> /* execv */
#endif

#if defined(HBPO_USE_OPENBLAS)
/* Case-insensitive membership of an OpenBLAS core name in a NULL-ended list. */
static int hbpo__name_in(const char *name, const char *const *list) {
    size_t i, j;
    for (i = 0; list[i]; i++) {
        for (j = 0; name[j] && list[i][j] && tolower((unsigned char)name[j]) == tolower((unsigned char)list[i][j]); j++) {}
        if (!name[j] && !list[i][j]) return 1;
    }
    return 0;
}
#endif

HBPODEF int hbpo_blas_info(hbpo_blas_kernel *out) {
#if defined(HBPO_USE_OPENBLAS)
    /* OpenBLAS core names whose kernels use AVX-512, and those using AVX2 + FMA */
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids", NULL};
    static const char *const avx2[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids", NULL};
#endif
    hbpo_blas_kernel k;
    k.path = "portable loops";
    k.kernel = "";
    k.cpu = "";
    k.fits = "";
    k.generic = 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) k.cpu = "avx512f";
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) k.cpu = "avx2";
    if (k.cpu[0] == 'a')
        k.fits = !strcmp(k.cpu, "avx512f") ? "SkylakeX" : __builtin_cpu_is("amd") ? "Zen" : "Haswell";
#endif
#ifdef HBPO_USE_OPENBLAS
    k.path = "OpenBLAS cblas_sgemm";
    k.kernel = openblas_get_corename();
    if (!k.kernel) k.kernel = "";
    if (!strcmp(k.cpu, "avx512f")) k.generic = !hbpo__name_in(k.kernel, avx512);
    else if (!strcmp(k.cpu, "avx2")) k.generic = !hbpo__name_in(k.kernel, avx2);
#endif
    if (!k.generic) k.fits = "";
    if (out) *out = k;
    return k.generic;
}

HBPODEF int hbpo_blas_describe(char *out, size_t cap) {
    hbpo_blas_kernel k;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    hbpo_blas_info(&k);
    return snprintf(out, cap, "sgemm: %s%s%s, CPU %s, %d thread%s%s%s", k.path, k.kernel[0] ? ", kernel " : "",
                    k.kernel, k.cpu[0] ? k.cpu : "without avx2", threads, threads == 1 ? "" : "s",
                    k.generic ? ", GENERIC KERNEL: set OPENBLAS_CORETYPE=" : "", k.generic ? k.fits : "");
}

/* The warning a library user sees once (from the first product) when the
   kernel does not fit and the program did not call hbpo_program_start. */
static void hbpo__blas_warn(const hbpo_blas_kernel *k) {
    fprintf(stderr, "hbpo: warning: OpenBLAS runs its generic %s kernel on this %s CPU (several times "
                    "slower); run with OPENBLAS_CORETYPE=%s or call hbpo_program_start(argv) first in main\n",
            k->kernel, k->cpu, k->fits);
}

#if defined(HBPO_USE_OPENBLAS)
static int hbpo__blas_checked = 0;
static void hbpo__blas_check_once(void) {
    hbpo_blas_kernel k;
    if (hbpo__blas_checked) return;
    hbpo__blas_checked = 1; /* benign race: at worst the line is printed twice */
    if (hbpo_blas_info(&k)) hbpo__blas_warn(&k);
}
#endif

/* Why a restart: OpenBLAS (DYNAMIC_ARCH builds, Debian's) chooses its kernel
   in a constructor when the shared library loads, reading OPENBLAS_CORETYPE
   then and never again; by the time main runs it is too late to change it in
   this process. Loading a second copy with dlmopen would give a second
   OpenBLAS with its own threads and buffers next to the first, and the
   products would have to go through function pointers: more fragile than
   running the program again. The restart happens before the program has
   done anything (no output, no files), keeps the arguments and the
   environment, and a marker variable (HBPO_RESTARTED) makes sure it
   happens at most once. */
HBPODEF int hbpo_program_start(char **argv) {
    hbpo_blas_kernel k;
    const char *off = getenv("HBPO_BLAS_FIX");
    int generic, fix_blas, fix_wait = 0;
    setvbuf(stdout, NULL, _IOLBF, 0);
#if defined(HBPO_USE_OPENBLAS)
    hbpo__blas_checked = 1; /* this function speaks for the library */
#endif
    generic = hbpo_blas_info(&k);
    fix_blas = generic && !(off && !strcmp(off, "0"));
#ifdef _OPENMP
    /* libgomp's default is to spin after every parallel region. With another
       process on the cores, a spinning thread holds a core that a worker
       still computing needs, and every barrier waits for a time slice:
       measured 17.7 s against 1.0 s for the demo's SFT step with 2 threads
       on a loaded 2-core machine (bench_small). Sleeping at once costs a
       futex wake-up per region, microseconds against the regions' work,
       which the thresholds keep large. A choice the user made is kept. */
    fix_wait = !getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT");
#endif
    if (getenv("HBPO_RESTARTED") || (!fix_blas && !fix_wait) || getenv("OMPI_COMM_WORLD_SIZE") ||
        getenv("PMIX_RANK") || getenv("PMI_RANK")) {
        if (generic) hbpo__blas_warn(&k);
        return generic;
    }
#if !defined(_WIN32) && defined(__linux__)
    if (argv && argv[0]) {
        if (fix_blas) {
            fprintf(stderr, "hbpo: OpenBLAS chose its generic %s kernel on this %s CPU: restarting with "
                            "OPENBLAS_CORETYPE=%s (HBPO_BLAS_FIX=0 turns this off)\n",
                    k.kernel, k.cpu, k.fits);
            if (setenv("OPENBLAS_CORETYPE", k.fits, 1) != 0) fix_blas = 0;
        }
        if (fix_wait && setenv("OMP_WAIT_POLICY", "passive", 1) != 0) fix_wait = 0;
        if ((fix_blas || fix_wait) && setenv("HBPO_RESTARTED", "1", 1) == 0) {
            fflush(NULL);
            execv("/proc/self/exe", argv);
        }
        if (generic)
            fprintf(stderr, "hbpo: the restart failed (%s); going on with the %s kernel\n",
                    strerror(errno), k.kernel);
        return generic;
    }
#else
    (void)argv;
#endif
    if (generic) hbpo__blas_warn(&k);
    return generic;
}

HBPODEF int hbpo_parse_int(const char *flag, const char *s, int lo, int hi, int *out) {
    const char *p = s;
    long long v = 0;
    int neg;
    if (!s || !out) return hbpo__fail("hbpo_parse_int: NULL argument");
    neg = *p == '-';
    if (*p == '-' || *p == '+') p++;
    if (!*p) v = -1, p = s; /* no digits: refused below */
    for (; *p >= '0' && *p <= '9' && v <= (long long)INT_MAX + 1; p++) v = 10 * v + (*p - '0');
    if (neg) v = -v;
    if (p == s || *p || v < lo || v > hi)
        return hbpo__fail("%s '%s' must be an integer in [%d, %d]", flag ? flag : "value", s, lo, hi);
    *out = (int)v;
    return 0;
}

HBPODEF double hbpo_wall_time(void) {
#ifdef _OPENMP
    return omp_get_wtime();
#elif defined(CLOCK_MONOTONIC) && !defined(_WIN32)
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#else
    return (double)clock() / CLOCKS_PER_SEC;
#endif
}

HBPODEF void hbpo_progress(const char *what, long done, long total, double t0, const char *extra) {
    double dt = hbpo_wall_time() - t0;
    double eta = done > 0 && total > done ? dt / (double)done * (double)(total - done) : 0.0;
    printf("  %s %ld/%ld%s%s  %.1fs  (eta %.0fs)\n", what ? what : "", done, total, extra ? "  " : "",
           extra ? extra : "", dt, eta);
    fflush(stdout);
}

/* Loops below HBPO__PAR_MIN units of work (about a few microseconds) run on
   one thread: starting a team and meeting at its barrier costs more, and far
   more when another process holds a core. */
#define HBPO__PAR_MIN 32768.0
/* The same for loops that only move memory (copies, adds, column sums):
   below about a million floats, splitting them saves less than the team
   costs, and on a machine where another process holds a core a team can
   cost a scheduler time slice. With the demo's model, in one run of
   bench/busy.sh each, 2 threads beside a busy loop took 1.32x the time of
   1 thread while these loops ran teams, 0.93x with them on one thread
   (docs/performance.md; single runs move by 10-20%). */
#define HBPO__PAR_MIN_MEM 1048576.0
/* Multiply-adds below which a group of small products runs on one thread. */
#define HBPO__SGEMM_TEAM_MIN 262144.0

/* ---- The CPU backend: the reference implementation of every operation ----
   Each comment quotes the PyTorch expression computed. Loops over rows run
   in parallel with OpenMP (each row written by one thread), every reduction
   has a fixed order, and products are split in blocks that follow from
   their shapes (hbpo__sgemm_split), so a build gives the same bits for any
   thread count. */

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

/* The CPU's first failure since the last sync (per thread, "" when none):
   only the scratch of a rounded product can fail (out of memory), and the
   product is then computed unrounded, so sync must say so. */
static HBPO__THREAD_LOCAL char hbpo__cpu_sticky[256];
static int hbpo__cpu_sync(void) {
    if (!hbpo__cpu_sticky[0]) return 0;
    hbpo_set_error("%s", hbpo__cpu_sticky);
    hbpo__cpu_sticky[0] = 0;
    return -1;
}

/* The CPU has no tf32 or bf16 products here (Debian's OpenBLAS exports no
   sbgemm), so those precisions are emulated for their numerics: the inputs
   are rounded into scratch buffers, then the same fp32 sgemm runs. The
   buffers are kept per thread and only grow (never allocated per call); they
   live until the thread ends. Returns src itself for fp32, or NULL when out
   of memory (recorded for hbpo__cpu_sync; the caller multiplies unrounded). */
static HBPO__THREAD_LOCAL float *hbpo__round_buf[3];
static HBPO__THREAD_LOCAL size_t hbpo__round_cap[3];
static const float *hbpo__cpu_rounded(int which, const float *src, size_t n, int precision) {
    float *dst;
    long i;
    if (precision == HBPO_MATMUL_FP32 || !src || n == 0) return src;
    if (n > hbpo__round_cap[which]) {
        float *p = (float *)HBPO_REALLOC(hbpo__round_buf[which], sizeof(float) * n);
        if (!p) {
            if (!hbpo__cpu_sticky[0])
                snprintf(hbpo__cpu_sticky, sizeof hbpo__cpu_sticky,
                         "matmul: out of memory for %zu floats of %s-rounded input", n,
                         precision == HBPO_MATMUL_BF16 ? "bf16" : "tf32");
            return NULL;
        }
        hbpo__round_buf[which] = p;
        hbpo__round_cap[which] = n;
    }
    dst = hbpo__round_buf[which];
    HBPO__OMP(omp parallel for schedule(static) if ((double)n >= HBPO__PAR_MIN))
    for (i = 0; i < (long)n; i++) dst[i] = hbpo_k_round(src[i], precision);
    return dst;
}
/* src rounded into scratch `which`, or src unchanged (fp32, or no memory). */
static const float *hbpo__cpu_round_or_keep(int which, const float *src, size_t n, int precision) {
    const float *r = hbpo__cpu_rounded(which, src, n, precision);
    return r ? r : src;
}

/* ---- bf16 products on CPUs that have them (HBPO_USE_DNNL) ---- */
/* On a CPU with bf16 instructions (AVX512-BF16; AMX) the bf16 precision's
   products run as bf16 products instead of the emulation above: the inputs
   are rounded to bf16 exactly as the emulation rounds them
   (hbpo_k_bf16_bits) and oneDNN's matmul multiplies them, accumulating in
   fp32. A product of two bf16 values is exact in fp32, so the two paths
   differ only in the order of the fp32 sums. oneDNN because no BLAS that
   Debian packages has a bf16 GEMM (its OpenBLAS 0.3.21 exports no
   cblas_sbgemm), and a kernel of our own would be a second brgemm.
   HBPO_BF16=emulate in the environment keeps the emulation; HBPO_BF16=onednn
   uses oneDNN also on a CPU without bf16 (the tests: oneDNN then converts).
   The oneDNN path is deterministic for a thread count, not across counts. */
#ifdef HBPO_USE_DNNL
static struct {
    int              state;  /* 0 not decided yet, 1 oneDNN, -1 the emulation */
    dnnl_engine_t    engine;
    dnnl_stream_t    stream;
    dnnl_primitive_t prim[2][2][2]; /* [ta][tb][acc], made at first use */
    char             what[192];
} hbpo__bf16;
static HBPO__THREAD_LOCAL uint16_t *hbpo__bf16_buf[3];
static HBPO__THREAD_LOCAL size_t hbpo__bf16_cap[3];

/* Decides once (the first bf16 product, or hbpo_bf16_describe) whether the
   bf16 products go through oneDNN. */
static int hbpo__bf16_native(void) {
    if (hbpo__bf16.state == 0) {
        const char *env = getenv("HBPO_BF16");
        const dnnl_version_t *v = dnnl_version();
        int isa = (int)dnnl_get_effective_cpu_isa(), forced = env && !strcmp(env, "onednn");
        int hw = (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
        int amx = (isa & dnnl_cpu_isa_avx512_core_amx) == dnnl_cpu_isa_avx512_core_amx;
        hbpo__bf16.state = -1;
        if (env && *env && strcmp(env, "emulate") && !forced) /* a typo must not pass unseen */
            fprintf(stderr, "hbpo: warning: HBPO_BF16=%.40s is neither emulate nor onednn; ignored\n", env);
        if (env && !strcmp(env, "emulate"))
            snprintf(hbpo__bf16.what, sizeof hbpo__bf16.what, "emulated (inputs rounded, fp32 sgemm): HBPO_BF16=emulate");
        else if (!hw && !forced)
            snprintf(hbpo__bf16.what, sizeof hbpo__bf16.what,
                     "emulated (inputs rounded, fp32 sgemm): oneDNN %d.%d.%d finds no AVX512-BF16 or AMX on this CPU",
                     v->major, v->minor, v->patch);
        else if (dnnl_engine_create(&hbpo__bf16.engine, dnnl_cpu, 0) != dnnl_success ||
                 dnnl_stream_create(&hbpo__bf16.stream, hbpo__bf16.engine, dnnl_stream_default_flags) != dnnl_success)
            snprintf(hbpo__bf16.what, sizeof hbpo__bf16.what, "emulated (inputs rounded, fp32 sgemm): oneDNN did not start");
        else {
            hbpo__bf16.state = 1;
            snprintf(hbpo__bf16.what, sizeof hbpo__bf16.what, "oneDNN %d.%d.%d matmul, %s", v->major, v->minor, v->patch,
                     amx ? "AMX" : hw ? "AVX512-BF16" : "no bf16 instructions (HBPO_BF16=onednn)");
        }
    }
    return hbpo__bf16.state > 0;
}

/* src as bf16 into scratch `which` (per thread, only grows; 0: x or dout,
   1: w, 2: x beside dout), or NULL when out of memory */
static const uint16_t *hbpo__cpu_bf16(int which, const float *src, size_t n) {
    uint16_t *dst;
    long i;
    if (n > hbpo__bf16_cap[which]) {
        uint16_t *p = (uint16_t *)HBPO_REALLOC(hbpo__bf16_buf[which], sizeof(uint16_t) * n);
        if (!p) return NULL;
        hbpo__bf16_buf[which] = p;
        hbpo__bf16_cap[which] = n;
    }
    dst = hbpo__bf16_buf[which];
    HBPO__OMP(omp parallel for simd schedule(static) if ((double)n >= HBPO__PAR_MIN))
    for (i = 0; i < (long)n; i++) dst[i] = hbpo_k_bf16_bits(src[i]);
    return dst;
}

/* The matmul of one (ta, tb, acc) for every shape: dimensions and strides
   are given at run time, so a new number of tokens needs no new primitive
   (oneDNN compiles a primitive's kernels when it makes it, and the token
   count of a training batch changes at every step; docs/performance.md has
   the demo's step both ways). Made once. 0 or a status. */
static int hbpo__dnnl_prim(int ta, int tb, int acc, dnnl_primitive_t *out) {
    const dnnl_dim_t R = DNNL_RUNTIME_DIM_VAL;
    dnnl_dims_t d = {R, R}, sa = {ta ? 1 : R, ta ? R : 1}, sb = {tb ? 1 : R, tb ? R : 1}, sc = {R, 1};
    dnnl_memory_desc_t a, b, c;
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s;
    if ((*out = hbpo__bf16.prim[ta][tb][acc]) != NULL) return 0;
    if ((s = dnnl_memory_desc_init_by_strides(&a, 2, d, dnnl_bf16, sa)) != dnnl_success ||
        (s = dnnl_memory_desc_init_by_strides(&b, 2, d, dnnl_bf16, sb)) != dnnl_success ||
        (s = dnnl_memory_desc_init_by_strides(&c, 2, d, dnnl_f32, sc)) != dnnl_success ||
        (s = dnnl_matmul_desc_init(&md, &a, &b, NULL, &c)) != dnnl_success ||
        (s = dnnl_primitive_attr_create(&attr)) != dnnl_success)
        goto done;
    if (acc && ((s = dnnl_post_ops_create(&po)) != dnnl_success || (s = dnnl_post_ops_append_sum(po, 1.0f)) != dnnl_success ||
                (s = dnnl_primitive_attr_set_post_ops(attr, po)) != dnnl_success))
        goto done;
    if ((s = dnnl_primitive_desc_create(&pd, &md, attr, hbpo__bf16.engine, NULL)) == dnnl_success &&
        (s = dnnl_primitive_create(out, pd)) == dnnl_success)
        hbpo__bf16.prim[ta][tb][acc] = *out;
done:
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return (int)s;
}

/* C (M,N) = op(A) op(B), or C += op(A) op(B) when acc, for bf16 A and B
   (row-major with row strides lda and ldb; op transposes when ta or tb) and
   fp32 C: hbpo__dnnl_prim's matmul on this shape. 0, or the failing oneDNN
   status. */
static int hbpo__dnnl_gemm(int ta, int tb, int M, int N, int K, const uint16_t *A, int lda,
                           const uint16_t *B, int ldb, int acc, float *C, int ldc) {
    dnnl_memory_desc_t a, b, c;
    dnnl_dims_t da = {M, K}, db = {K, N}, dc = {M, N};
    dnnl_dims_t sa = {ta ? 1 : lda, ta ? lda : 1}, sb = {tb ? 1 : ldb, tb ? ldb : 1}, sc = {ldc, 1};
    dnnl_primitive_t p;
    dnnl_memory_t m[3] = {NULL, NULL, NULL};
    dnnl_exec_arg_t args[3];
    dnnl_status_t s;
    int i;
    if ((s = (dnnl_status_t)hbpo__dnnl_prim(ta, tb, acc, &p)) != dnnl_success ||
        (s = dnnl_memory_desc_init_by_strides(&a, 2, da, dnnl_bf16, sa)) != dnnl_success ||
        (s = dnnl_memory_desc_init_by_strides(&b, 2, db, dnnl_bf16, sb)) != dnnl_success ||
        (s = dnnl_memory_desc_init_by_strides(&c, 2, dc, dnnl_f32, sc)) != dnnl_success ||
        (s = dnnl_memory_create(&m[0], &a, hbpo__bf16.engine, (void *)(uintptr_t)A)) != dnnl_success ||
        (s = dnnl_memory_create(&m[1], &b, hbpo__bf16.engine, (void *)(uintptr_t)B)) != dnnl_success ||
        (s = dnnl_memory_create(&m[2], &c, hbpo__bf16.engine, C)) != dnnl_success)
        goto done;
    args[0].arg = DNNL_ARG_SRC; args[0].memory = m[0];
    args[1].arg = DNNL_ARG_WEIGHTS; args[1].memory = m[1];
    args[2].arg = DNNL_ARG_DST; args[2].memory = m[2];
    if ((s = dnnl_primitive_execute(p, hbpo__bf16.stream, 3, args)) == dnnl_success)
        s = dnnl_stream_wait(hbpo__bf16.stream);
done:
    for (i = 0; i < 3; i++)
        if (m[i]) dnnl_memory_destroy(m[i]);
    return (int)s;
}

/* Whether a oneDNN product ran (s, hbpo__dnnl_gemm's status, is 0); a
   failure turns the oneDNN path off for good, with one line on stderr, and
   the caller runs the emulation. */
static int hbpo__bf16_ran(int s, int M, int N, int K) {
    if (s == 0) return 1;
    fprintf(stderr, "hbpo: warning: oneDNN's bf16 matmul failed (status %d, %dx%dx%d); bf16 products are "
                    "emulated from now on\n", s, M, N, K);
    hbpo__bf16.state = -1;
    snprintf(hbpo__bf16.what, sizeof hbpo__bf16.what, "emulated (inputs rounded, fp32 sgemm): oneDNN failed (status %d)", s);
    return 0;
}
#endif

HBPODEF int hbpo_bf16_describe(char *out, size_t cap) {
#ifdef HBPO_USE_DNNL
    hbpo__bf16_native();
    return snprintf(out, cap, "bf16 products: %s", hbpo__bf16.what);
#else
    return snprintf(out, cap, "bf16 products: emulated (inputs rounded, fp32 sgemm): built without oneDNN "
                              "(apt-get install libdnnl-dev, then rebuild)");
#endif
}

/* out = x @ w.T + bias: the bias is copied into every row, then sgemm adds
   the product (beta = 1), or overwrites (beta = 0) without a bias. */
static void hbpo__cpu_matmul_forward(float *out, const float *x, const float *w,
                                     const float *bias, int N, int IC, int OC, int precision) {
    int i;
    if (bias) {
        HBPO__OMP(omp parallel for schedule(static) if ((double)N * OC >= HBPO__PAR_MIN_MEM))
        for (i = 0; i < N; i++) memcpy(out + (size_t)i * OC, bias, sizeof(float) * (size_t)OC);
    }
#ifdef HBPO_USE_DNNL
    if (precision == HBPO_MATMUL_BF16 && hbpo__bf16_native()) {
        const uint16_t *xb = hbpo__cpu_bf16(0, x, (size_t)N * IC), *wb = hbpo__cpu_bf16(1, w, (size_t)OC * IC);
        if (xb && wb && hbpo__bf16_ran(hbpo__dnnl_gemm(0, 1, N, OC, IC, xb, IC, wb, IC, bias != NULL, out, OC), N, OC, IC))
            return;
    }
#endif
    x = hbpo__cpu_round_or_keep(0, x, (size_t)N * IC, precision);
    w = hbpo__cpu_round_or_keep(1, w, (size_t)OC * IC, precision);
    hbpo_sgemm(0, 1, N, OC, IC, 1.0f, x, IC, w, IC, bias ? 1.0f : 0.0f, out, OC);
}

/* sum[0..n) += the n columns of N rows a C wide, rows in order. */
HBPO__SPAN static void hbpo__colsum_span(float *sum, const float *a, int N, int C, int n) {
    int i, c;
    for (i = 0; i < N; i++) {
        const float *ai = a + (size_t)i * C;
        HBPO__OMP(omp simd)
        for (c = 0; c < n; c++) sum[c] += ai[c];
    }
}

/* dx = dout @ w; dw += dout.T @ x; dbias += dout.sum(0) (columns split across
   threads, rows summed in order; from the fp32 dout at every precision). */
static void hbpo__cpu_matmul_backward(float *dx, float *dw, float *dbias, const float *dout,
                                      const float *x, const float *w, int N, int IC, int OC,
                                      int accumulate_dx, int precision) {
    const float *dr;
#ifdef HBPO_USE_DNNL
    if (precision == HBPO_MATMUL_BF16 && hbpo__bf16_native()) { /* a product that ran is done */
        const uint16_t *db = hbpo__cpu_bf16(0, dout, (size_t)N * OC);
        const uint16_t *wb = dx ? hbpo__cpu_bf16(1, w, (size_t)OC * IC) : NULL;
        if (db && wb && hbpo__bf16_ran(hbpo__dnnl_gemm(0, 0, N, IC, OC, db, OC, wb, IC, accumulate_dx, dx, IC), N, IC, OC))
            dx = NULL;
        if (dw && hbpo__bf16.state > 0) {
            const uint16_t *xb = hbpo__cpu_bf16(2, x, (size_t)N * IC);
            if (db && xb && hbpo__bf16_ran(hbpo__dnnl_gemm(1, 0, OC, IC, N, db, OC, xb, IC, 1, dw, IC), OC, IC, N))
                dw = NULL;
        }
    }
#endif
    dr = dx || dw ? hbpo__cpu_round_or_keep(0, dout, (size_t)N * OC, precision) : dout;
    if (dx) {
        const float *wr = hbpo__cpu_round_or_keep(1, w, (size_t)OC * IC, precision);
        hbpo_sgemm(0, 0, N, IC, OC, 1.0f, dr, OC, wr, IC, accumulate_dx ? 1.0f : 0.0f, dx, IC);
    }
    if (dw) {
        const float *xr = hbpo__cpu_round_or_keep(2, x, (size_t)N * IC, precision);
        hbpo_sgemm(1, 0, OC, IC, N, 1.0f, dr, OC, xr, IC, 1.0f, dw, IC);
    }
    if (dbias) {
        int o0;
        HBPO__OMP(omp parallel for schedule(static) if ((double)N * OC >= HBPO__PAR_MIN_MEM))
        for (o0 = 0; o0 < OC; o0 += 32)
            hbpo__colsum_span(dbias + o0, dout + o0, N, OC, o0 + 32 < OC ? 32 : OC - o0);
    }
}

/* out[i] = wte[tokens[i]] (nn.Embedding). */
static void hbpo__cpu_embedding_forward(float *out, const int *tokens, const float *wte, int N,
                                        int C) {
    int i;
    HBPO__OMP(omp parallel for schedule(static) if ((double)N * C >= HBPO__PAR_MIN_MEM))
    for (i = 0; i < N; i++)
        memcpy(out + (size_t)i * C, wte + (size_t)tokens[i] * C, sizeof(float) * (size_t)C);
}

/* dwte[tokens[i]] += dout[i]. Rows may repeat a token, so threads split the
   channels (never the rows): no races, and the sum order is the row order. */
static void hbpo__cpu_embedding_backward(float *dwte, const float *dout, const int *tokens,
                                         int N, int C) {
    int c0;
    HBPO__OMP(omp parallel for schedule(static) if ((double)N * C >= HBPO__PAR_MIN_MEM))
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
   (in float32, the mean accumulated in double). One row: out = w * (x * rstd);
   returns rstd. */
HBPO__SPAN static float hbpo__rmsnorm_row(float *out, const float *x, const float *w, int C,
                                          float eps) {
    double ss = 0.0;
    float r;
    int c;
    HBPO__OMP(omp simd reduction(+:ss))
    for (c = 0; c < C; c++) ss += (double)x[c] * x[c];
    r = hbpo_k_rmsnorm_rstd(ss, C, eps);
    HBPO__OMP(omp simd)
    for (c = 0; c < C; c++) out[c] = w[c] * (x[c] * r);
    return r;
}
/* y = w * x * r with r = (mean(x^2) + eps)^(-1/2). With g = dy * w:
   dx = r * g - r^3 * x * mean(g * x);  dw += sum over rows of dy * x * r.
   One row of dx (=, or += when accumulating): r dy w - k x. */
HBPO__SPAN static void hbpo__rmsnorm_backward_row(float *dx, const float *dy, const float *w,
                                                  const float *x, float r, int C, int accumulate) {
    double dot = 0.0;
    float k;
    int c;
    HBPO__OMP(omp simd reduction(+:dot))
    for (c = 0; c < C; c++) dot += (double)dy[c] * w[c] * x[c];
    k = hbpo_k_rmsnorm_k(dot, C, r);
    if (accumulate) {
        HBPO__OMP(omp simd)
        for (c = 0; c < C; c++) dx[c] += hbpo_k_rmsnorm_dx(dy[c], w[c], x[c], r, k);
    } else {
        HBPO__OMP(omp simd)
        for (c = 0; c < C; c++) dx[c] = hbpo_k_rmsnorm_dx(dy[c], w[c], x[c], r, k);
    }
}
/* dw[0..n) += sum over the N rows of dy x rstd, rows in order (n columns of
   rows C wide). */
HBPO__SPAN static void hbpo__rmsnorm_dw_span(float *dw, const float *dy, const float *x,
                                             const float *rstd, int N, int C, int n) {
    int i, c;
    for (i = 0; i < N; i++) {
        const float *xi = x + (size_t)i * C, *gi = dy + (size_t)i * C;
        float r = rstd[i];
        HBPO__OMP(omp simd)
        for (c = 0; c < n; c++) dw[c] += gi[c] * xi[c] * r;
    }
}
static void hbpo__cpu_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w,
                                      int N, int C, float eps) {
    int i;
    HBPO__OMP(omp parallel for schedule(static) if ((double)N * C >= HBPO__PAR_MIN))
    for (i = 0; i < N; i++) {
        float r = hbpo__rmsnorm_row(out + (size_t)i * C, x + (size_t)i * C, w, C, eps);
        if (rstd) rstd[i] = r;
    }
}
static void hbpo__cpu_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                                       const float *w, const float *rstd, int N, int C,
                                       int accumulate_dx) {
    int i, c0;
    HBPO__OMP(omp parallel for schedule(static) if ((double)N * C >= HBPO__PAR_MIN))
    for (i = 0; i < N; i++)
        hbpo__rmsnorm_backward_row(dx + (size_t)i * C, dout + (size_t)i * C, w, x + (size_t)i * C,
                                   rstd[i], C, accumulate_dx);
    HBPO__OMP(omp parallel for schedule(static) if ((double)N * C >= HBPO__PAR_MIN))
    for (c0 = 0; c0 < C; c0 += 64)
        hbpo__rmsnorm_dw_span(dw + c0, dout + c0, x + c0, rstd, N, C, c0 + 64 < C ? 64 : C - c0);
}

/* The rotary angle as transformers computes it in float32:
   inv_freq = 1.0 / (theta ** (arange(0, HS, 2) / HS)); freqs = pos * inv_freq;
   cs[i] = cos(freqs[i]), cs[half + i] = sin(freqs[i]). */
static void hbpo__rope_angles(float *cs, int pos, int HS, float theta) {
    int i, half = HS / 2;
    for (i = 0; i < half; i++) hbpo_k_rope_cs(&cs[i], &cs[half + i], pos, i, HS, theta);
}

/* q * cos + rotate_half(q) * sin with rotate_half(q) = cat(-q2, q1), on nh
   heads of one row; sign -1 rotates back. */
static void hbpo__rope_row(float *x, const float *cs, int nh, int HS, float sign) {
    int h, i, half = HS / 2;
    for (h = 0; h < nh; h++) {
        float *xh = x + (size_t)h * HS;
        for (i = 0; i < half; i++) hbpo_k_rope_pair(&xh[i], &xh[i + half], cs[i], cs[half + i], sign);
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
        HBPO__OMP(omp parallel for schedule(static) if ((double)(pmax - pmin + T) * HS * 8 >= HBPO__PAR_MIN))
        for (r = 0; r < pmax - pmin + T; r++)
            hbpo__rope_angles(table + (size_t)r * HS, pmin + r, HS, theta);
    }
    HBPO__OMP(omp parallel for schedule(static) if ((double)B * T * nh * HS >= HBPO__PAR_MIN))
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

/* Below this many queries per sequence (decoding), attention runs as plain
   loops in parallel over (sequence, head); at or above it, on the tiles below
   (up to HBPO__ATT_TILE_MAX queries) or as two sgemm per head. */
#define HBPO__ATT_GEMM_MIN 16

/* The end of the part of a row of n that the softmax loops run over: keys
   rounded up to whole 8-float vectors, within n. */
static int hbpo__softmax_end(int keys, int n) {
    return HBPO__ROUND_UP(keys, 8) < n ? HBPO__ROUND_UP(keys, 8) : n;
}

/* One row of scaled scores: softmax of s[0..keys) in place, zeros in
   s[keys..n); returns the logsumexp. Up to the next multiple of 8 within n
   the masked scores are set to -inf (exp gives 0), so that short rows run
   in whole vectors; the maximum is kept in 8 lanes for the same reason. */
HBPO__SPAN static float hbpo__softmax_row(float *s, int keys, int n) {
    int n8 = hbpo__softmax_end(keys, n), j, u;
    float m[8], mx, inv;
    double sum = 0.0;
    for (j = keys; j < n8; j++) s[j] = -INFINITY;
    for (u = 0; u < 8; u++) m[u] = s[0];
    for (j = 0; j + 8 <= n8; j += 8)
        for (u = 0; u < 8; u++) m[u] = s[j + u] > m[u] ? s[j + u] : m[u];
    for (; j < n8; j++) m[0] = s[j] > m[0] ? s[j] : m[0];
    mx = m[0];
    for (u = 1; u < 8; u++) mx = m[u] > mx ? m[u] : mx;
    HBPO__OMP(omp simd reduction(+:sum))
    for (j = 0; j < n8; j++) { s[j] = hbpo_k_expf(s[j] - mx); sum += s[j]; }
    inv = (float)(1.0 / sum);
    HBPO__OMP(omp simd)
    for (j = 0; j < n8; j++) s[j] *= inv;
    for (j = n8; j < n; j++) s[j] = 0.0f;
    return mx + (float)log(sum);
}

/* One query row of the backward: p = exp(s - lse), ds = p (dp - D) scale
   over the first `keys` of n columns, zeros after them (padded with -inf
   and 0 to a multiple of 8, as in the forward). */
HBPO__SPAN static void hbpo__softmax_backward_row(float *p, float *dp, int keys, int n, float lse,
                                                  float D, float scale) {
    int n8 = hbpo__softmax_end(keys, n), j;
    for (j = keys; j < n8; j++) { p[j] = -INFINITY; dp[j] = 0.0f; }
    HBPO__OMP(omp simd)
    for (j = 0; j < n8; j++) {
        p[j] = hbpo_k_expf(p[j] - lse);
        dp[j] = p[j] * (dp[j] - D) * scale;
    }
    for (j = n8; j < n; j++) p[j] = dp[j] = 0.0f;
}

/* One query against its keys (the plain-loop path: decoding): out = softmax(
   scale q k^T) v over keys rows of k and v (row stride ldkv), s a scratch
   row of keys floats; returns the logsumexp. */
HBPO__SPAN static float hbpo__att_query(float *out, float *s, const float *q, const float *k,
                                        const float *v, size_t ldkv, int keys, int HS, float scale) {
    /* accumulated on the stack (head_dim <= 1024): no aliasing with v, so
       the 8-wide blocks vectorise */
    float acc[1024], l;
    int j, d, u;
    for (j = 0; j < keys; j++) {
        const float *kj = k + (size_t)j * ldkv;
        /* eight partial sums: a fixed order the compiler can vectorise at -O2 */
        float p[8] = {0, 0, 0, 0, 0, 0, 0, 0}, dot;
        for (d = 0; d + 8 <= HS; d += 8)
            for (u = 0; u < 8; u++) p[u] += q[d + u] * kj[d + u];
        dot = ((p[0] + p[4]) + (p[1] + p[5])) + ((p[2] + p[6]) + (p[3] + p[7]));
        for (; d < HS; d++) dot += q[d] * kj[d];
        s[j] = dot * scale;
    }
    l = hbpo__softmax_row(s, keys, keys);
    for (d = 0; d < HS; d++) acc[d] = 0.0f;
    for (j = 0; j < keys; j++) {
        const float *vj = v + (size_t)j * ldkv;
        float pj = s[j];
        for (d = 0; d + 8 <= HS; d += 8)
            for (u = 0; u < 8; u++) acc[d + u] += pj * vj[d + u];
        for (; d < HS; d++) acc[d] += pj * vj[d];
    }
    for (d = 0; d < HS; d++) out[d] = acc[d];
    return l;
}

/* Score matrices held at once by the sgemm path: pairs of (sequence, head)
   are processed in chunks of at most this many floats (64 MiB), so that the
   products of a chunk run back to back and the element-wise work of the
   whole chunk is one OpenMP region. 8 MiB per buffer: larger chunks gain
   nothing, and the allocator then reuses the block instead of mapping (and
   the kernel zeroing) fresh pages on every call. */
#define HBPO__ATT_CHUNK_FLOATS ((size_t)1 << 21)

static int hbpo__att_chunk_pairs(size_t per_pair, int pairs) {
    size_t n = HBPO__ATT_CHUNK_FLOATS / (per_pair ? per_pair : 1);
    if (n < 1) n = 1;
    return n < (size_t)pairs ? (int)n : pairs;
}

/* ---- Attention at small sizes: tiles of our own instead of sgemm calls ----
   A training sequence of the demo is about 70 tokens with heads of 32, so a
   (sequence, head) product is some 100 thousand multiply-adds, and an sgemm
   call spends more on its dispatch, packing and zeroing than on them: with
   7 products per pair (2 forward, 5 backward) they were 3,600 of a step's
   4,300 sgemm calls and a fifth to a quarter of its time for 4% of its
   arithmetic (build/bench_attention times them). OpenBLAS 0.3.21 (Debian
   12) has no batched sgemm, so up to HBPO__ATT_TILE_MAX queries (and 8 times
   as many keys) the attention of a (sequence, kv head) runs here, on one
   thread, and skips the tiles the causal mask leaves empty; longer sequences
   keep the sgemm path. Written by hand because a single header can bring no
   kernel library. A tile keeps its sums in GNU vector registers (GCC,
   clang); other compilers keep the sgemm path. */
#if defined(__GNUC__) || defined(__clang__)
#define HBPO__ATT_TILE_MAX 256
typedef float hbpo__v8 __attribute__((vector_size(32)));
#else
#define HBPO__ATT_TILE_MAX 0
#endif
#define HBPO__MR 4  /* rows of a register tile */
#define HBPO__NR 16 /* columns of a register tile: two 8-lane vectors */
/* GCC contracts a * b + c into one fused multiply-add in ISO C mode only when
   asked to; clang does by default. Without it the tile runs at half speed. */
#if defined(__GNUC__) && !defined(__clang__)
#define HBPO__CONTRACT __attribute__((optimize("fp-contract=fast")))
#else
#define HBPO__CONTRACT
#endif

enum {
    HBPO__TILE_COLS_LOWER, /* row i needs the columns < off + i + 1 only (scores) */
    HBPO__TILE_K_LOWER,    /* A is zero for k >= off + i + 1 (P V, dS K) */
    HBPO__TILE_K_UPPER     /* A is zero for k < i (P^T dO, dS^T Q) */
};

#if HBPO__ATT_TILE_MAX > 0
/* C = alpha * A B (+ C when accumulate) for rows i < M of C; B and C
   row-major, N a multiple of NR, A's element (i, k) at A[i * ars + k * acs]
   (so A^T is read in place). Each MR x NR tile of C sums over k in order,
   in 8 registers; a last partial tile repeats row M-1 and stores only
   rows < M. */
HBPO__SPAN HBPO__CONTRACT static void hbpo__tile_gemm(float *C, int ldc, const float *A, size_t ars,
                                                      size_t acs, const float *B, int ldb, int M,
                                                      int N, int K, float alpha, int accumulate,
                                                      int causal, int off) {
    int i0, j0, k, r, h;
    for (i0 = 0; i0 < M; i0 += HBPO__MR) {
        int k0 = 0, k1 = K, n1 = N;
        const float *a[HBPO__MR];
        for (r = 0; r < HBPO__MR; r++) a[r] = A + (size_t)(i0 + r < M ? i0 + r : M - 1) * ars;
        if (causal == HBPO__TILE_COLS_LOWER && off + i0 + HBPO__MR < N)
            n1 = HBPO__ROUND_UP(off + i0 + HBPO__MR, HBPO__NR);
        if (causal == HBPO__TILE_K_LOWER && off + i0 + HBPO__MR < K) k1 = off + i0 + HBPO__MR;
        if (causal == HBPO__TILE_K_UPPER) k0 = i0;
        for (j0 = 0; j0 < n1; j0 += HBPO__NR) {
            hbpo__v8 z = {0}, c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, b0, b1;
            for (k = k0; k < k1; k++) {
                float a0 = a[0][k * acs], a1 = a[1][k * acs], a2 = a[2][k * acs], a3 = a[3][k * acs];
                memcpy(&b0, B + (size_t)k * ldb + j0, sizeof b0);
                memcpy(&b1, B + (size_t)k * ldb + j0 + 8, sizeof b1);
                c00 += a0 * b0; c01 += a0 * b1;
                c10 += a1 * b0; c11 += a1 * b1;
                c20 += a2 * b0; c21 += a2 * b1;
                c30 += a3 * b0; c31 += a3 * b1;
            }
            {
                hbpo__v8 c[HBPO__MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}};
                for (r = 0; r < HBPO__MR && i0 + r < M; r++)
                    for (h = 0; h < 2; h++) {
                        float *p = C + (size_t)(i0 + r) * ldc + j0 + 8 * h;
                        hbpo__v8 x = alpha * c[r][h], y;
                        if (accumulate) { memcpy(&y, p, sizeof y); x += y; }
                        memcpy(p, &x, sizeof x);
                    }
            }
        }
    }
}

/* dst (a rows_pad x cols_pad block, zeros around) = src (rows x cols, row
   stride lds), or its transpose (cols_pad x rows_pad) when trans. */
static void hbpo__att_pack(float *dst, const float *src, size_t lds, int rows, int cols,
                           int rows_pad, int cols_pad, int trans) {
    int r, c;
    memset(dst, 0, sizeof(float) * (size_t)rows_pad * (size_t)cols_pad);
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++) {
            if (trans) dst[(size_t)c * rows_pad + r] = src[(size_t)r * lds + c];
            else dst[(size_t)r * cols_pad + c] = src[(size_t)r * lds + c];
        }
}

/* A B operand (load) or C result of HS columns: in place when HS is a
   multiple of NR, else in a zero-padded block of HSp columns. */
typedef struct { float *p; int ld; } hbpo__att_mat;
static hbpo__att_mat hbpo__att_in_place(const float *x, int ld, float *pad, int rows, int HS,
                                        int HSp, int load) {
    hbpo__att_mat m;
    if (HS == HSp) { m.p = (float *)x; m.ld = ld; return m; } /* inputs are only read through m */
    if (load) hbpo__att_pack(pad, x, (size_t)ld, rows, HS, rows, HSp, 0);
    m.p = pad; m.ld = HSp;
    return m;
}
static void hbpo__att_copy_out(float *x, int ld, hbpo__att_mat m, int rows, int HS) {
    int r;
    if (m.p == x) return;
    for (r = 0; r < rows; r++) memcpy(x + (size_t)r * ld, m.p + (size_t)r * m.ld, sizeof(float) * (size_t)HS);
}

/* Floats of scratch one (sequence, kv head) needs: forward (n keys) or backward. */
static size_t hbpo__att_tile_floats(int T, int n, int HS, int backward) {
    size_t np = HBPO__ROUND_UP((size_t)n, HBPO__NR), HSp = HBPO__ROUND_UP((size_t)HS, HBPO__NR);
    if (!backward) return HS * np + np * HSp + (size_t)T * np + (size_t)T * HSp;
    return 2 * HS * np + 6 * np * HSp + 2 * (size_t)T * np;
}

/* The forward of one (sequence, kv head) on the tiles: its `group` query
   heads (q and out advance by HS a head, lse by T) against n keys and values
   (row stride ldkv), the last T of which are the queries' own positions. */
static void hbpo__att_tile_forward_unit(float *w, float *out, float *lse, const float *q, int ldq,
                                        const float *k, const float *v, int ldkv, int T, int n,
                                        int HS, int group) {
    int np = HBPO__ROUND_UP(n, HBPO__NR), HSp = HBPO__ROUND_UP(HS, HBPO__NR), pos0 = n - T, e, t;
    float *Kt = w, *Vp = Kt + (size_t)HS * np, *P = Vp + (size_t)np * HSp, *O = P + (size_t)T * np;
    hbpo__att_mat vm, om;
    hbpo__att_pack(Kt, k, (size_t)ldkv, n, HS, np, HS, 1);
    vm = hbpo__att_in_place(v, ldkv, Vp, n, HS, HSp, 1);
    for (e = 0; e < group; e++) {
        float *oe = out + (size_t)e * HS;
        /* P = softmax(scale Q K^T), then out = P V */
        hbpo__tile_gemm(P, np, q + (size_t)e * HS, (size_t)ldq, 1, Kt, np, T, np, HS,
                        1.0f / sqrtf((float)HS), 0, HBPO__TILE_COLS_LOWER, pos0);
        for (t = 0; t < T; t++) {
            float l = hbpo__softmax_row(P + (size_t)t * np, pos0 + t + 1, np);
            if (lse) lse[(size_t)e * T + t] = l;
        }
        om = hbpo__att_in_place(oe, ldq, O, T, HS, HSp, 0);
        hbpo__tile_gemm(om.p, om.ld, P, (size_t)np, 1, vm.p, vm.ld, T, HSp, n, 1.0f, 0,
                        HBPO__TILE_K_LOWER, pos0);
        hbpo__att_copy_out(oe, ldq, om, T, HS);
    }
}

/* The backward of one (sequence, kv head) on the tiles: its `group` query
   heads in order (q, dout, out, dq advance by HS a head, lse by T), their
   dk and dv summed in that order. Training shapes: n = T keys. */
static void hbpo__att_tile_backward_unit(float *w, float *dq, float *dk, float *dv, const float *dout,
                                         const float *q, const float *k, const float *v,
                                         const float *out, const float *lse, int ldq, int ldkv,
                                         int T, int HS, int group) {
    int np = HBPO__ROUND_UP(T, HBPO__NR), HSp = HBPO__ROUND_UP(HS, HBPO__NR), e, t, d;
    size_t sk = (size_t)HS * np, sp = (size_t)np * HSp, ss = (size_t)T * np;
    float *Kt = w, *Vt = Kt + sk, *Kp = Vt + sk, *Qp = Kp + sp, *dOp = Qp + sp, *dQp = dOp + sp;
    float *dKp = dQp + sp, *dVp = dKp + sp, *P = dVp + sp, *dS = P + ss;
    float scale = 1.0f / sqrtf((float)HS);
    hbpo__att_mat km, qm, dom, dqm, dkm, dvm;
    hbpo__att_pack(Kt, k, (size_t)ldkv, T, HS, np, HS, 1);
    hbpo__att_pack(Vt, v, (size_t)ldkv, T, HS, np, HS, 1);
    km = hbpo__att_in_place(k, ldkv, Kp, T, HS, HSp, 1);
    dkm = hbpo__att_in_place(dk, ldkv, dKp, T, HS, HSp, 0);
    dvm = hbpo__att_in_place(dv, ldkv, dVp, T, HS, HSp, 0);
    for (e = 0; e < group; e++) {
        const float *qe = q + (size_t)e * HS, *de = dout + (size_t)e * HS, *oe = out + (size_t)e * HS;
        float *dqe = dq + (size_t)e * HS;
        /* S = scale Q K^T (in P until its row below), dP = dO V^T (in dS) */
        hbpo__tile_gemm(P, np, qe, (size_t)ldq, 1, Kt, np, T, np, HS, scale, 0, HBPO__TILE_COLS_LOWER, 0);
        hbpo__tile_gemm(dS, np, de, (size_t)ldq, 1, Vt, np, T, np, HS, 1.0f, 0, HBPO__TILE_COLS_LOWER, 0);
        for (t = 0; t < T; t++) {
            float D = 0.0f;
            for (d = 0; d < HS; d++) D += de[(size_t)t * ldq + d] * oe[(size_t)t * ldq + d];
            hbpo__softmax_backward_row(P + (size_t)t * np, dS + (size_t)t * np, t + 1, np,
                                       lse[(size_t)e * T + t], D, scale);
        }
        /* dQ = dS K (dS holds the scale); dK += dS^T Q and dV += P^T dO over
           the group's heads, the transposes read in place */
        dqm = hbpo__att_in_place(dqe, ldq, dQp, T, HS, HSp, 0);
        hbpo__tile_gemm(dqm.p, dqm.ld, dS, (size_t)np, 1, km.p, km.ld, T, HSp, T, 1.0f, 0, HBPO__TILE_K_LOWER, 0);
        hbpo__att_copy_out(dqe, ldq, dqm, T, HS);
        qm = hbpo__att_in_place(qe, ldq, Qp, T, HS, HSp, 1);
        dom = hbpo__att_in_place(de, ldq, dOp, T, HS, HSp, 1);
        hbpo__tile_gemm(dkm.p, dkm.ld, dS, 1, (size_t)np, qm.p, qm.ld, T, HSp, T, 1.0f, e > 0, HBPO__TILE_K_UPPER, 0);
        hbpo__tile_gemm(dvm.p, dvm.ld, P, 1, (size_t)np, dom.p, dom.ld, T, HSp, T, 1.0f, e > 0, HBPO__TILE_K_UPPER, 0);
    }
    hbpo__att_copy_out(dk, ldkv, dkm, T, HS);
    hbpo__att_copy_out(dv, ldkv, dvm, T, HS);
}

static int hbpo__att_tile_forward(float *out, float *lse, const float *q, const float *k,
                                  const float *v, const int *pos0, const int *slot, int B, int T,
                                  int S, int NH, int KVH, int HS) {
    int QD = NH * HS, KVD = KVH * HS, group = NH / KVH, u, failed = 0;
    HBPO__OMP(omp parallel for schedule(dynamic) if ((double)B * NH * T * S * HS >= HBPO__SGEMM_TEAM_MIN))
    for (u = 0; u < B * KVH; u++) {
        int b = u / KVH, kh = u % KVH, n = pos0[b] + T;
        size_t qo = (size_t)b * T * QD + (size_t)kh * group * HS;
        size_t ko = (size_t)(slot ? slot[b] : b) * S * KVD + (size_t)kh * HS;
        float *w = (float *)HBPO_MALLOC(sizeof(float) * hbpo__att_tile_floats(T, n, HS, 0));
        if (!w) { failed = 1; continue; }
        hbpo__att_tile_forward_unit(w, out + qo, lse ? lse + ((size_t)b * NH + (size_t)kh * group) * T : NULL,
                                    q + qo, QD, k + ko, v + ko, KVD, T, n, HS, group);
        HBPO_FREE(w);
    }
    return failed ? hbpo__fail("attention: out of memory for the tiles of %d x %d", T, S) : 0;
}
#endif

/* scores = q @ k.T / sqrt(HS) masked causally; att = softmax(scores) @ v
   (transformers' eager_attention_forward with repeat_kv for GQA). */
static int hbpo__cpu_attention_forward(float *out, float *lse, const float *q, const float *k,
                                       const float *v, const int *pos0, const int *slot, int B,
                                       int T, int S, int NH, int KVH, int HS) {
    int QD = NH * HS, KVD = KVH * HS, group = NH / KVH;
    float scale = 1.0f / sqrtf((float)HS);
#if HBPO__ATT_TILE_MAX > 0
    if (T >= HBPO__ATT_GEMM_MIN && T <= HBPO__ATT_TILE_MAX) {
        /* a task's scores are T x n: up to 2 MiB (n <= 8 T_max) on the tiles */
        int b, n_max = 0;
        for (b = 0; b < B; b++) n_max = pos0[b] + T > n_max ? pos0[b] + T : n_max;
        if (n_max <= 8 * HBPO__ATT_TILE_MAX)
            return hbpo__att_tile_forward(out, lse, q, k, v, pos0, slot, B, T, S, NH, KVH, HS);
    }
#endif
    if (T >= HBPO__ATT_GEMM_MIN) {
        /* Per (sequence, head) pair: P = softmax(scale * Q K^T) (T, n) and
           O = P V by sgemm, n = the keys the last query sees. */
        size_t per_pair = (size_t)T * (size_t)S;
        int pairs = B * NH, chunk = hbpo__att_chunk_pairs(per_pair, pairs), p0;
        float *P = (float *)HBPO_MALLOC(sizeof(float) * per_pair * (size_t)chunk);
        if (!P) return hbpo__fail("attention: out of memory for %d score matrices of %d x %d", chunk, T, S);
        for (p0 = 0; p0 < pairs; p0 += chunk) {
            int np = pairs - p0 < chunk ? pairs - p0 : chunk, p, r;
            /* One parallel region over the pairs (each product on one thread),
               not one per product: the products are small, and a team per
               call was most of the cost on small models. */
            HBPO__OMP(omp parallel for schedule(dynamic) if ((double)np * T * S * HS >= HBPO__SGEMM_TEAM_MIN))
            for (p = 0; p < np; p++) {
                int b = (p0 + p) / NH, h = (p0 + p) % NH, n = pos0[b] + T;
                hbpo_sgemm(0, 1, T, n, HS, scale, q + (size_t)b * T * QD + (size_t)h * HS, QD,
                           k + (size_t)(slot ? slot[b] : b) * S * KVD + (size_t)(h / group) * HS, KVD, 0.0f,
                           P + (size_t)p * per_pair, n);
            }
            HBPO__OMP(omp parallel for schedule(static) if ((double)np * T * S >= HBPO__PAR_MIN))
            for (r = 0; r < np * T; r++) {
                int p = r / T, t = r % T, b = (p0 + p) / NH, h = (p0 + p) % NH;
                int n = pos0[b] + T, keys = pos0[b] + t + 1;
                float *row = P + (size_t)p * per_pair + (size_t)t * n;
                float l = hbpo__softmax_row(row, keys, n);
                if (lse) lse[((size_t)b * NH + h) * T + t] = l;
            }
            HBPO__OMP(omp parallel for schedule(dynamic) if ((double)np * T * S * HS >= HBPO__SGEMM_TEAM_MIN))
            for (p = 0; p < np; p++) {
                int b = (p0 + p) / NH, h = (p0 + p) % NH, n = pos0[b] + T;
                hbpo_sgemm(0, 0, T, HS, n, 1.0f, P + (size_t)p * per_pair, n,
                           v + (size_t)(slot ? slot[b] : b) * S * KVD + (size_t)(h / group) * HS, KVD, 0.0f,
                           out + (size_t)b * T * QD + (size_t)h * HS, QD);
            }
        }
        HBPO_FREE(P);
        return 0;
    } else {
        int bh, failed = 0;
        HBPO__OMP(omp parallel for schedule(dynamic) if ((double)B * NH * T * S * HS >= HBPO__PAR_MIN))
        for (bh = 0; bh < B * NH; bh++) {
            int b = bh / NH, h = bh % NH, t;
            size_t ko = (size_t)(slot ? slot[b] : b) * S * KVD + (size_t)(h / group) * HS;
            float *s = (float *)HBPO_MALLOC(sizeof(float) * (size_t)S);
            if (!s) { failed = 1; continue; }
            for (t = 0; t < T; t++) {
                size_t qo = ((size_t)b * T + t) * QD + (size_t)h * HS;
                float l = hbpo__att_query(out + qo, s, q + qo, k + ko, v + ko, (size_t)KVD, pos0[b] + t + 1, HS, scale);
                if (lse) lse[((size_t)b * NH + h) * T + t] = l;
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
#if HBPO__ATT_TILE_MAX > 0
    if (T <= HBPO__ATT_TILE_MAX) {
        int u, failed = 0;
        HBPO__OMP(omp parallel for schedule(dynamic) if ((double)pairs * T * T * HS >= HBPO__SGEMM_TEAM_MIN))
        for (u = 0; u < B * KVH; u++) {
            int b = u / KVH, kh = u % KVH;
            size_t qo = (size_t)b * T * QD + (size_t)kh * group * HS, ko = (size_t)b * T * KVD + (size_t)kh * HS;
            float *w = (float *)HBPO_MALLOC(sizeof(float) * hbpo__att_tile_floats(T, T, HS, 1));
            if (!w) { failed = 1; continue; }
            hbpo__att_tile_backward_unit(w, dq + qo, dk + ko, dv + ko, dout + qo, q + qo, k + ko, v + ko,
                                         out + qo, lse + ((size_t)b * NH + (size_t)kh * group) * T, QD, KVD,
                                         T, HS, group);
            HBPO_FREE(w);
        }
        return failed ? hbpo__fail("attention backward: out of memory for the tiles of %d x %d", T, T) : 0;
    }
#endif
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
        int np = pairs - p0 < chunk ? pairs - p0 : chunk, p, r, u, u0 = p0 / group;
        int nu = (p0 + np - 1) / group - u0 + 1; /* kv units (b, kv head) in the chunk */
        HBPO__OMP(omp parallel for schedule(dynamic) if ((double)np * T * T * HS >= HBPO__SGEMM_TEAM_MIN))
        for (p = 0; p < np; p++) {
            int b = (p0 + p) / NH, h = (p0 + p) % NH;
            size_t qo = (size_t)b * T * QD + (size_t)h * HS;
            size_t ko = (size_t)b * T * KVD + (size_t)(h / group) * HS;
            hbpo_sgemm(0, 1, T, T, HS, scale, q + qo, QD, k + ko, KVD, 0.0f, P + p * TT, T);
            hbpo_sgemm(0, 1, T, T, HS, 1.0f, dout + qo, QD, v + ko, KVD, 0.0f, dP + p * TT, T);
        }
        HBPO__OMP(omp parallel for schedule(static) if ((double)np * T * T >= HBPO__PAR_MIN))
        for (r = 0; r < np * T; r++) {
            int p = r / T, t = r % T, b = (p0 + p) / NH, h = (p0 + p) % NH, d;
            size_t qo = (size_t)b * T * QD + (size_t)h * HS + (size_t)t * QD;
            float *pr = P + p * TT + (size_t)t * T, *dpr = dP + p * TT + (size_t)t * T;
            float l = lse[((size_t)b * NH + h) * T + t], D = 0.0f;
            for (d = 0; d < HS; d++) D += dout[qo + d] * out[qo + d];
            hbpo__softmax_backward_row(pr, dpr, t + 1, T, l, D, scale);
        }
        /* The query heads of one kv head add into the same dk, dv rows: one
           task per (sequence, kv head), its heads in order, so the sums are
           the same for any thread count. */
        HBPO__OMP(omp parallel for schedule(dynamic) if ((double)np * T * T * HS >= HBPO__SGEMM_TEAM_MIN))
        for (u = 0; u < nu; u++) {
            int lo = (u0 + u) * group - p0, hi = lo + group, e; /* e: private pair index */
            if (lo < 0) lo = 0;
            if (hi > np) hi = np;
            for (e = lo; e < hi; e++) {
                int b = (p0 + e) / NH, h = (p0 + e) % NH;
                size_t qo = (size_t)b * T * QD + (size_t)h * HS;
                size_t ko = (size_t)b * T * KVD + (size_t)(h / group) * HS;
                hbpo_sgemm(0, 0, T, HS, T, 1.0f, dP + e * TT, T, k + ko, KVD, 0.0f, dq + qo, QD);
                hbpo_sgemm(1, 0, T, HS, T, 1.0f, dP + e * TT, T, q + qo, QD, 1.0f, dk + ko, KVD);
                hbpo_sgemm(1, 0, T, HS, T, 1.0f, P + e * TT, T, dout + qo, QD, 1.0f, dv + ko, KVD);
            }
        }
    }
    HBPO_FREE(P);
    return 0;
}

/* kc[slot[i], pos[i]] = k[i]; vc likewise (index_copy_ into the cache). */
static void hbpo__cpu_kv_write(float *kc, float *vc, const float *k, const float *v,
                               const int *slot, const int *pos, int n, int KVD, int S) {
    int i;
    HBPO__OMP(omp parallel for schedule(static) if ((double)n * KVD >= HBPO__PAR_MIN_MEM))
    for (i = 0; i < n; i++) {
        size_t dst = ((size_t)slot[i] * S + (size_t)pos[i]) * KVD, src = (size_t)i * KVD;
        memcpy(kc + dst, k + src, sizeof(float) * (size_t)KVD);
        memcpy(vc + dst, v + src, sizeof(float) * (size_t)KVD);
    }
}

/* Element-wise ops run in blocks of HBPO__BLOCK elements, each block one
   span call on one thread. */
#define HBPO__BLOCK 8192
#define HBPO__BLOCKS(n) ((long)(((n) + HBPO__BLOCK - 1) / HBPO__BLOCK))
#define HBPO__BLOCK_LEN(n, c) \
    ((n) - (size_t)(c) * HBPO__BLOCK < HBPO__BLOCK ? (n) - (size_t)(c) * HBPO__BLOCK : HBPO__BLOCK)

HBPO__SPAN static void hbpo__swiglu_forward_span(float *h, const float *gate, const float *up,
                                                 size_t n) {
    size_t i;
    HBPO__OMP(omp simd)
    for (i = 0; i < n; i++) h[i] = hbpo_k_swiglu_forward(gate[i], up[i]);
}
HBPO__SPAN static void hbpo__swiglu_backward_span(float *dgate, float *dup, const float *dh,
                                                  const float *gate, const float *up, size_t n) {
    size_t i;
    HBPO__OMP(omp simd)
    for (i = 0; i < n; i++) hbpo_k_swiglu_backward(&dgate[i], &dup[i], dh[i], gate[i], up[i]);
}
/* SwiGLU: F.silu(gate) * up, silu(g) = g * sigmoid(g). */
static void hbpo__cpu_swiglu_forward(float *h, const float *gate, const float *up, size_t n) {
    long c;
    HBPO__OMP(omp parallel for schedule(static) if ((double)n * 8 >= HBPO__PAR_MIN))
    for (c = 0; c < HBPO__BLOCKS(n); c++) {
        size_t o = (size_t)c * HBPO__BLOCK;
        hbpo__swiglu_forward_span(h + o, gate + o, up + o, HBPO__BLOCK_LEN(n, c));
    }
}
/* d silu(g) / dg = s (1 + g (1 - s)), s = sigmoid(g). */
static void hbpo__cpu_swiglu_backward(float *dgate, float *dup, const float *dh,
                                      const float *gate, const float *up, size_t n) {
    long c;
    HBPO__OMP(omp parallel for schedule(static) if ((double)n * 8 >= HBPO__PAR_MIN))
    for (c = 0; c < HBPO__BLOCKS(n); c++) {
        size_t o = (size_t)c * HBPO__BLOCK;
        hbpo__swiglu_backward_span(dgate + o, dup + o, dh + o, gate + o, up + o,
                                   HBPO__BLOCK_LEN(n, c));
    }
}

HBPO__SPAN static void hbpo__add_span(float *out, const float *a, const float *b, size_t n) {
    size_t i;
    HBPO__OMP(omp simd)
    for (i = 0; i < n; i++) out[i] = a[i] + b[i];
}
static void hbpo__cpu_add(float *out, const float *a, const float *b, size_t n) {
    long c;
    HBPO__OMP(omp parallel for schedule(static) if ((double)n >= HBPO__PAR_MIN_MEM))
    for (c = 0; c < HBPO__BLOCKS(n); c++) {
        size_t o = (size_t)c * HBPO__BLOCK;
        hbpo__add_span(out + o, a + o, b + o, HBPO__BLOCK_LEN(n, c));
    }
}

static void hbpo__cpu_gather_rows(float *dst, const float *src, const int *rows, int n, int C) {
    int i;
    HBPO__OMP(omp parallel for schedule(static) if ((double)n * C >= HBPO__PAR_MIN_MEM))
    for (i = 0; i < n; i++)
        memcpy(dst + (size_t)i * C, src + (size_t)rows[i] * C, sizeof(float) * (size_t)C);
}
/* rows are distinct (the model passes increasing indices), so rows never race. */
static void hbpo__cpu_scatter_add_rows(float *dst, const float *src, const int *rows, int n,
                                       int C) {
    int i;
    HBPO__OMP(omp parallel for schedule(static) if ((double)n * C >= HBPO__PAR_MIN_MEM))
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
    HBPO__OMP(omp parallel for schedule(static) if ((double)N * V >= HBPO__PAR_MIN))
    for (i = 0; i < N; i++) {
        const float *z = logits + (size_t)i * V;
        float mx = z[0] * inv_temp;
        double sum, pz;
        int j;
        for (j = 1; j < V; j++) mx = z[j] * inv_temp > mx ? z[j] * inv_temp : mx;
        hbpo_k_logprob_partial(&sum, &pz, z, 0, 1, V, inv_temp, mx);
        hbpo_k_logprob_finish(logp ? &logp[i] : NULL, entropy ? &entropy[i] : NULL,
                              logp ? z[targets[i]] : 0.0f, inv_temp, mx, sum, pz);
    }
}

/* d logp / d logits_j = inv_temp * (onehot_j - softmax(z)_j), times dlogp. */
static void hbpo__cpu_logprob_backward(float *logits, const int *targets, const float *dlogp,
                                       int N, int V, float inv_temp) {
    int i;
    HBPO__OMP(omp parallel for schedule(static) if ((double)N * V >= HBPO__PAR_MIN))
    for (i = 0; i < N; i++) {
        float *z = logits + (size_t)i * V;
        float mx = z[0] * inv_temp, g = dlogp[i] * inv_temp;
        double sum = 0.0;
        float inv_sum;
        int j;
        for (j = 1; j < V; j++) mx = z[j] * inv_temp > mx ? z[j] * inv_temp : mx;
        for (j = 0; j < V; j++) { z[j] = expf(z[j] * inv_temp - mx); sum += z[j]; }
        inv_sum = (float)(1.0 / sum);
        for (j = 0; j < V; j++) z[j] = hbpo_k_logprob_grad_e(z[j], inv_sum, g, j == targets[i]);
    }
}

/* One hbpo_sample per row, in parallel (each row has its own coin and
   scratch row, so the tokens do not depend on the thread count). */
static int hbpo__cpu_sample(int *tokens, float *logp, const float *logits, int n, int V,
                            const hbpo_sampler_config *s, const float *coins, float *work) {
    int i, bad = -1;
    HBPO__OMP(omp parallel for schedule(dynamic) if ((double)n * V >= HBPO__PAR_MIN))
    for (i = 0; i < n; i++)
        tokens[i] = hbpo_sample(logits + (size_t)i * V, V, s, coins[i], work + (size_t)i * V,
                                logp ? &logp[i] : NULL);
    for (i = 0; i < n && bad < 0; i++)
        if (tokens[i] < 0) bad = i;
    if (bad >= 0) {
        /* again on this thread for the message (OpenMP workers keep their own) */
        char why[sizeof hbpo__err];
        hbpo_sample(logits + (size_t)bad * V, V, s, coins[bad], work + (size_t)bad * V, NULL);
        snprintf(why, sizeof why, "%s", hbpo__err);
        return hbpo__fail("sample: row %d: %s", bad, why);
    }
    return 0;
}

/* torch.optim.AdamW's step (single tensor, no amsgrad), in float. */
HBPO__SPAN static void hbpo__adamw_span(float *p, const float *g, float *m, float *v, size_t n,
                                        float grad_scale, float lr, float b1, float b2, float eps,
                                        float wd, float step, float bc2_sqrt) {
    size_t i; /* not `omp simd`: sqrtf may set errno, so no compiler vectorises it */
    for (i = 0; i < n; i++)
        hbpo_k_adamw(&p[i], &m[i], &v[i], g[i], grad_scale, lr, b1, b2, eps, wd, step, bc2_sqrt);
}
static void hbpo__cpu_adamw(float *p, const float *g, float *m, float *v, size_t n, float lr,
                            float b1, float b2, float eps, float wd, float bc1, float bc2,
                            float grad_scale) {
    long i;
    float step = lr / bc1, bc2_sqrt = sqrtf(bc2);
    HBPO__OMP(omp parallel for schedule(static) if ((double)n * 4 >= HBPO__PAR_MIN))
    for (i = 0; i < HBPO__BLOCKS(n); i++) {
        size_t o = (size_t)i * HBPO__BLOCK;
        hbpo__adamw_span(p + o, g + o, m + o, v + o, HBPO__BLOCK_LEN(n, i), grad_scale, lr, b1,
                         b2, eps, wd, step, bc2_sqrt);
    }
}

/* Fixed blocks summed in parallel, then the block sums in order: the same
   bits for any thread count. */
#define HBPO__SS_BLOCKS 64
static double hbpo__cpu_sum_squares(const float *x, size_t n) {
    double part[HBPO__SS_BLOCKS], total = 0.0;
    int blk;
    HBPO__OMP(omp parallel for schedule(static) if ((double)n >= HBPO__PAR_MIN))
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
        .name = "cpu",
        .alloc = hbpo__cpu_alloc,
        .free = hbpo__cpu_free,
        .upload = hbpo__cpu_copy,
        .download = hbpo__cpu_copy,
        .copy = hbpo__cpu_copy,
        .zero = hbpo__cpu_zero,
        .sync = hbpo__cpu_sync,
        .mem_free = NULL, /* RAM is not planned: hbpo_memory_plan_check passes */
        .matmul_forward = hbpo__cpu_matmul_forward,
        .matmul_backward = hbpo__cpu_matmul_backward,
        .embedding_forward = hbpo__cpu_embedding_forward,
        .embedding_backward = hbpo__cpu_embedding_backward,
        .rmsnorm_forward = hbpo__cpu_rmsnorm_forward,
        .rmsnorm_backward = hbpo__cpu_rmsnorm_backward,
        .rope_forward = hbpo__cpu_rope_forward,
        .rope_backward = hbpo__cpu_rope_backward,
        .attention_forward = hbpo__cpu_attention_forward,
        .attention_backward = hbpo__cpu_attention_backward,
        .kv_write = hbpo__cpu_kv_write,
        .swiglu_forward = hbpo__cpu_swiglu_forward,
        .swiglu_backward = hbpo__cpu_swiglu_backward,
        .add = hbpo__cpu_add,
        .gather_rows = hbpo__cpu_gather_rows,
        .scatter_add_rows = hbpo__cpu_scatter_add_rows,
        .logprob_forward = hbpo__cpu_logprob_forward,
        .logprob_backward = hbpo__cpu_logprob_backward,
        .sample = hbpo__cpu_sample,
        .adamw = hbpo__cpu_adamw,
        .sum_squares = hbpo__cpu_sum_squares,
    };
    return &cpu;
}

HBPODEF int hbpo_backend_named(const char *name, int device, const hbpo_backend **out) {
    if (!name || !out) return hbpo__fail("hbpo_backend_named: name or out is NULL");
    *out = NULL;
    if (!strcmp(name, "cpu")) {
        if (device != 0)
            return hbpo__fail("backend cpu: device %d does not exist (the CPU is device 0)", device);
        *out = hbpo_backend_cpu();
        return 0;
    }
    if (!strcmp(name, "cuda")) {
        if (device < 0) return hbpo__fail("backend cuda: device %d is negative", device);
#ifdef HBPO_WITH_CUDA
        *out = hbpo_backend_cuda(device);
        return *out ? 0 : -1;
#else
        return hbpo__fail("this build has no CUDA backend: build build/hbpo-cuda with make cuda");
#endif
    }
    return hbpo__fail("unknown backend \"%s\" (expected cpu or cuda)", name);
}

HBPODEF int hbpo_backend_parse(const char *spec, const hbpo_backend **out) {
    if (!spec || !out) return hbpo__fail("hbpo_backend_parse: spec or out is NULL");
    if (!strcmp(spec, "cpu") || !strcmp(spec, "cuda")) return hbpo_backend_named(spec, 0, out);
    if (!strncmp(spec, "cuda:", 5)) {
        const char *p = spec + 5;
        int x = 0;
        for (; *p >= '0' && *p <= '9' && x <= (INT_MAX - (*p - '0')) / 10; p++) x = 10 * x + (*p - '0');
        if (p > spec + 5 && !*p) return hbpo_backend_named("cuda", x, out);
    }
    *out = NULL;
    return hbpo__fail("device \"%s\" must be cpu, cuda or cuda:N (N a device number from 0)", spec);
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
    if (c->matmul_precision < HBPO_MATMUL_FP32 || c->matmul_precision > HBPO_MATMUL_BF16)
        return hbpo__fail("model config: matmul_precision = %d is not HBPO_MATMUL_FP32 (0), "
                          "_TF32 (1) or _BF16 (2)", c->matmul_precision);
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
    int    logits_kept;           /* 1: a->logits still holds the forward's (one chunk) */
    float  inv_temp;              /* of the last forward */
    int   *tokens, *targets;      /* (N), (N): targets packed by active row */
    int   *pos0;                  /* (B) position of each sequence's first token */
    int   *pos0_host;             /* (B) host copy */
    int   *slot;                  /* (B) decoding: the cache slot each sequence reads */
    int   *kvslot, *kvpos;        /* (N) decoding: the cache row (slot, position) of each token */
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
                  (void **)&a->slot, (void **)&a->kvslot, (void **)&a->kvpos,
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

/* Sizes a for N = B*T tokens of a model of config c and allocates it on be,
   or (be NULL) only counts the bytes into a->saved_bytes and scratch_bytes:
   the memory plan's activation sizes are this very function's. Returns 0
   or -1. */
static int hbpo__acts_layout(const hbpo_model_config *c, const hbpo_backend *be, hbpo__acts *a,
                             int B, int T, int per_layer, int train) {
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
        ptr = (type *)(bytes_ && be ? be->alloc(bytes_) : NULL);                     \
        if (!ptr && be) ok = 0;                                                      \
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
    if (!train) {
        HBPO__A(a->slot, (size_t)B, int);
        HBPO__A(a->kvslot, N, int);
        HBPO__A(a->kvpos, N, int);
    }
    if (be) {
        a->rows_host = (int *)HBPO_MALLOC(sizeof(int) * N);
        a->pos0_host = (int *)HBPO_MALLOC(sizeof(int) * (size_t)B);
        if (!a->rows_host || !a->pos0_host) ok = 0;
    }
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

static int hbpo__acts_alloc(hbpo_model *m, hbpo__acts *a, int B, int T, int per_layer, int train) {
    return hbpo__acts_layout(&m->config, m->be, a, B, T, per_layer, train);
}

/* Bytes hbpo__acts_alloc would take for these arguments (nothing allocated). */
static double hbpo__acts_bytes(const hbpo_model_config *c, int B, int T, int per_layer, int train) {
    hbpo__acts a;
    if (B < 1 || T < 1) return 0.0;
    hbpo__acts_layout(c, NULL, &a, B, T, per_layer, train);
    return (double)a.saved_bytes + (double)a.scratch_bytes;
}

/* Parameters of config c (the tensor table of hbpo_model_create, counted). */
static double hbpo__plan_params(const hbpo_model_config *c) {
    double C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    double QD = (double)c->num_attention_heads * c->head_dim;
    double KVD = (double)c->num_key_value_heads * c->head_dim;
    double layer = 2 * C + QD * C + 2 * KVD * C + C * QD + 3 * F * C;
    if (c->attention_bias) layer += QD + 2 * KVD;
    if (c->qk_norm) layer += 2.0 * c->head_dim;
    return V * C * (c->tie_word_embeddings ? 1 : 2) + C + c->num_hidden_layers * layer;
}

HBPODEF hbpo_memory_plan hbpo_memory_plan_compute(const hbpo_model_config *c, int micro_batch,
                                                  int seq, int rollout_batch, int max_len) {
    hbpo_memory_plan p;
    double C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    double L = c->num_hidden_layers, KVD = (double)c->num_key_value_heads * c->head_dim;
    double N = micro_batch > 0 && seq > 0 ? (double)micro_batch * seq : 0.0;
    double R = rollout_batch > 0 && max_len > 0 ? (double)rollout_batch : 0.0, big;
    memset(&p, 0, sizeof p);
    p.params = hbpo__plan_params(c);
    p.weights = 4 * p.params;
    if (N > 0) {
        p.grads = 4 * p.params;
        p.adam = 8 * p.params;
        p.logits = 4.0 * hbpo__head_rows(c->vocab_size, (size_t)N) * (V + C);
        p.activations = hbpo__acts_bytes(c, micro_batch, seq, 1, 1) - p.logits;
    }
    if (R > 0) {
        p.kv_cache = 4 * 2 * L * R * (double)max_len * KVD;
        p.decode = hbpo__acts_bytes(c, rollout_batch, 1, 0, 0) +
                   hbpo__acts_bytes(c, 1, max_len < 2048 ? max_len : 2048, 0, 0) + 4 * R * V;
    }
    big = V * C > F * C ? V * C : F * C;
    p.workspace = 2 * (big + (N > R ? N : R) * (F > C ? F : C)); /* bf16 copies of w and x */
    p.total = p.weights + p.grads + p.adam + p.activations + p.logits + p.kv_cache + p.decode +
              p.workspace;
    return p;
}

HBPODEF int hbpo_memory_plan_fit(const hbpo_model_config *c, int micro_batch, int seq,
                                 int rollout_batch, int max_len, double free_bytes, char *msg,
                                 size_t cap) {
    const double GiB = 1024.0 * 1024.0 * 1024.0;
    hbpo_memory_plan p = hbpo_memory_plan_compute(c, micro_batch, seq, rollout_batch, max_len);
    int mb = micro_batch, sq = seq, rb = rollout_batch;
    if (p.total <= free_bytes) return 0;
    if (p.weights + p.grads + p.adam > free_bytes) {
        snprintf(msg, cap, "the model alone (%.2fB parameters: weights%s in fp32) needs %.1f "
                 "GiB, the GPU has %.1f free; nothing fits", p.params / 1e9,
                 p.grads > 0 ? ", gradients and AdamW moments" : "",
                 (p.weights + p.grads + p.adam) / GiB, free_bytes / GiB);
        return -1;
    }
    if (micro_batch > 0) {
        while (mb > 1 && hbpo_memory_plan_compute(c, mb, sq, rb, max_len).total > free_bytes) mb /= 2;
        while (sq > 1 && hbpo_memory_plan_compute(c, mb, sq, rb, max_len).total > free_bytes) sq /= 2;
        if (hbpo_memory_plan_compute(c, mb, sq, rb, max_len).total <= free_bytes && sq >= seq / 8) {
            snprintf(msg, cap, "micro_batch %d x %d needs %.1f GiB, the GPU has %.1f free; "
                     "micro_batch %d x %d fits", micro_batch, seq, p.total / GiB,
                     free_bytes / GiB, mb, sq);
            return -1;
        }
    }
    mb = micro_batch;
    while (rb > 1 && hbpo_memory_plan_compute(c, mb > 0 ? 1 : 0, seq, rb, max_len).total > free_bytes)
        rb /= 2;
    if (mb > 0) {
        mb = 1;
        while (mb * 2 <= micro_batch &&
               hbpo_memory_plan_compute(c, mb * 2, seq, rb, max_len).total <= free_bytes)
            mb *= 2;
    }
    if (rollout_batch > 0 && hbpo_memory_plan_compute(c, mb, seq, rb, max_len).total <= free_bytes) {
        if (micro_batch > 0)
            snprintf(msg, cap, "micro_batch %d x %d with rollout batch %d x %d needs %.1f GiB "
                     "(KV cache %.1f), the GPU has %.1f free; micro_batch %d x %d with rollout "
                     "batch %d fits", micro_batch, seq, rollout_batch, max_len, p.total / GiB,
                     p.kv_cache / GiB, free_bytes / GiB, mb, seq, rb);
        else
            snprintf(msg, cap, "rollout batch %d x %d needs %.1f GiB (KV cache %.1f), the GPU "
                     "has %.1f free; rollout batch %d fits", rollout_batch, max_len,
                     p.total / GiB, p.kv_cache / GiB, free_bytes / GiB, rb);
        return -1;
    }
    if (micro_batch > 0)
        snprintf(msg, cap, "micro_batch %d x %d needs %.1f GiB, the GPU has %.1f free; not even "
                 "micro_batch 1 x %d fits beside the model's %.1f GiB", micro_batch, seq,
                 p.total / GiB, free_bytes / GiB, seq / 8 > 0 ? seq / 8 : 1,
                 (p.weights + p.grads + p.adam) / GiB);
    else
        snprintf(msg, cap, "rollout batch %d x %d needs %.1f GiB, the GPU has %.1f free; not "
                 "even one sequence fits beside the model's %.1f GiB", rollout_batch, max_len,
                 p.total / GiB, free_bytes / GiB, p.weights / GiB);
    return -1;
}

HBPODEF int hbpo_memory_plan_check(const hbpo_backend *be, const hbpo_model_config *c,
                                   int micro_batch, int seq, int rollout_batch, int max_len) {
    size_t fr = 0;
    char msg[400];
    if (!be || !c) return hbpo__fail("hbpo_memory_plan_check: backend or config is NULL");
    if (!be->mem_free) return 0;
    if (be->mem_free(&fr) != 0) return -1;
    if (hbpo_memory_plan_fit(c, micro_batch, seq, rollout_batch, max_len, (double)fr, msg,
                             sizeof msg) != 0)
        return hbpo__fail("%s", msg);
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
   norm into a->lnf. Keys and values of layer l are kc/vc + l * kv_stride.
   Training (a->train): the layer's own (B, T, KVH*HS) buffers, S = T.
   Prefill and decoding: a cache (n_slots, S, KVH*HS); token i's key and value
   go to row (a->kvslot[i], a->kvpos[i]) and sequence b reads slot a->slot[b].
   One function for training, prefill and decoding: this is the forward
   control flow. The caller fills a->tokens, a->pos0 (and a->slot, a->kvslot,
   a->kvpos when decoding). */
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
        /* hidden = input_layernorm(x); q, k, v = q_proj(hidden), ... */
        be->rmsnorm_forward(ln1, rstd1, x, w->ln1, N, C, c->rms_norm_eps);
        if (c->qk_norm) {
            float *qlin = HBPO__LAYER(a, a->qlin, l, N, QD);
            be->matmul_forward(qlin, ln1, w->wq, w->bq, N, C, QD, c->matmul_precision);
            be->rmsnorm_forward(q, HBPO__LAYER(a, a->qrstd, l, N, NH), qlin, w->q_norm, N * NH,
                                HS, c->rms_norm_eps);
        } else {
            be->matmul_forward(q, ln1, w->wq, w->bq, N, C, QD, c->matmul_precision);
        }
        be->rope_forward(q, a->pos0, B, T, NH, HS, c->rope_theta);
        /* Training computes k and v in place; prefill and decoding compute
           this step's rows, then write them into the cache in one op. */
        if (a->train) {
            kt = k;
            vt = v;
        } else {
            kt = a->k;
            vt = a->v;
        }
        if (c->qk_norm) {
            float *klin = HBPO__LAYER(a, a->klin, l, N, KVD);
            be->matmul_forward(klin, ln1, w->wk, w->bk, N, C, KVD, c->matmul_precision);
            be->rmsnorm_forward(kt, HBPO__LAYER(a, a->krstd, l, N, KVH), klin, w->k_norm,
                                N * KVH, HS, c->rms_norm_eps);
        } else {
            be->matmul_forward(kt, ln1, w->wk, w->bk, N, C, KVD, c->matmul_precision);
        }
        be->rope_forward(kt, a->pos0, B, T, KVH, HS, c->rope_theta);
        be->matmul_forward(vt, ln1, w->wv, w->bv, N, C, KVD, c->matmul_precision);
        if (!a->train) be->kv_write(k, v, kt, vt, a->kvslot, a->kvpos, N, KVD, S);
        if (be->attention_forward(att, lse, q, k, v, a->pos0, a->train ? NULL : a->slot, B, T, S,
                                  NH, KVH, HS) != 0)
            return -1;
        /* x = x + o_proj(attn) */
        be->matmul_forward(mid, att, w->wo, NULL, N, QD, C, c->matmul_precision);
        be->add(mid, mid, x, (size_t)N * C);
        /* x = x + down_proj(silu(gate_proj(h)) * up_proj(h)), h = post_attention_layernorm(x) */
        be->rmsnorm_forward(ln2, rstd2, mid, w->ln2, N, C, c->rms_norm_eps);
        be->matmul_forward(gate, ln2, w->w_gate, NULL, N, C, F, c->matmul_precision);
        be->matmul_forward(up, ln2, w->w_up, NULL, N, C, F, c->matmul_precision);
        be->swiglu_forward(a->h, gate, up, (size_t)N * F);
        be->matmul_forward(xo, a->h, w->w_down, NULL, N, F, C, c->matmul_precision);
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
    int i, r0, V, C, *tg = NULL, B_alloc = B, T_alloc = T;
    size_t N;
    if (!m || !m->params) return hbpo__fail("hbpo_model_forward: model is not created");
    c = &m->config;
    be = m->be;
    hbpo__threads_fit();
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
    /* The saved activations are kept across calls and only grow: a shape of
       at most cap_tokens tokens and cap_batch sequences reuses them (the
       layer slices are laid out for the current N = B*T inside the larger
       buffers). Reallocating whenever T changed (every SFT or PPO micro-batch
       pads to its own longest sequence) cost more than the demo's products:
       fresh pages, zeroed by the kernel and by the allocator, every step.
       T is rounded up to a multiple of 32 so that a slowly growing T does
       not reallocate at every new maximum. */
    if (m->acts && ((size_t)B * T > m->acts->cap_tokens || B > m->acts->cap_batch)) {
        int cap_b = B > m->acts->cap_batch ? B : m->acts->cap_batch;
        size_t need = (size_t)B * T > m->acts->cap_tokens ? (size_t)B * T : m->acts->cap_tokens;
        T_alloc = (int)((need + (size_t)cap_b - 1) / (size_t)cap_b);
        B_alloc = cap_b;
        hbpo__acts_free(m);
    }
    if (!m->acts) {
        T_alloc = (T_alloc + 31) / 32 * 32;
        m->acts = (hbpo__acts *)HBPO_MALLOC(sizeof(hbpo__acts));
        if (!m->acts) return hbpo__fail("hbpo_model_forward: out of memory");
        if (hbpo__acts_alloc(m, m->acts, B_alloc, T_alloc, 1, 1) != 0) {
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
        be->matmul_forward(a->logits, a->hrows, m->w.lm_head, NULL, n, C, V, c->matmul_precision);
        be->logprob_forward(a->logp + r0, a->entropy + r0, a->logits, a->targets + r0, n, V, a->inv_temp);
    }
    /* When the active rows fit one chunk the backward reuses these logits. */
    a->logits_kept = a->n_rows <= a->cap_rows;
    /* Unpack to (B,T) on the host. */
    if (logp || entropy) {
        hostbuf = (float *)HBPO_MALLOC(sizeof(float) * (size_t)(a->n_rows > 0 ? a->n_rows : 1) * 2);
        if (!hostbuf) return hbpo__fail("hbpo_model_forward: out of memory");
        be->download(hostbuf, a->logp, sizeof(float) * (size_t)a->n_rows);
        be->download(hostbuf + a->n_rows, a->entropy, sizeof(float) * (size_t)a->n_rows);
        if (be->sync() != 0) {
            HBPO_FREE(hostbuf);
            return -1;
        }
        if (logp) memset(logp, 0, sizeof(float) * N);
        if (entropy) memset(entropy, 0, sizeof(float) * N);
        for (i = 0; i < a->n_rows; i++) {
            if (logp) logp[a->rows_host[i]] = hostbuf[i];
            if (entropy) entropy[a->rows_host[i]] = hostbuf[a->n_rows + i];
        }
        HBPO_FREE(hostbuf);
        return 0;
    }
    return be->sync();
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
    a->logits_kept = 0;
    V = m->config.vocab_size;
    C = m->config.hidden_size;
    for (r0 = 0; r0 < (int)N; r0 += a->cap_rows) {
        int n = (int)N - r0 < a->cap_rows ? (int)N - r0 : a->cap_rows;
        m->be->matmul_forward(a->logits, a->lnf + (size_t)r0 * C, m->w.lm_head, NULL, n, C, V,
                              m->config.matmul_precision);
        m->be->download(logits + (size_t)r0 * V, a->logits, sizeof(float) * (size_t)n * V);
    }
    return m->be->sync();
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
    /* LM head, chunk by chunk: the logits are recomputed, unless the forward's
       single chunk is still there. */
    be->zero(a->dln, sizeof(float) * (size_t)N * C);
    for (r0 = 0; r0 < a->n_rows; r0 += a->cap_rows) {
        int n = a->n_rows - r0 < a->cap_rows ? a->n_rows - r0 : a->cap_rows;
        if (!a->logits_kept) {
            be->gather_rows(a->hrows, a->lnf, a->rows + r0, n, C);
            be->matmul_forward(a->logits, a->hrows, m->w.lm_head, NULL, n, C, V, c->matmul_precision);
        }
        be->logprob_backward(a->logits, a->targets + r0, a->dlogp + r0, n, V, a->inv_temp);
        be->matmul_backward(a->dres, m->g.lm_head, NULL, a->logits, a->hrows, m->w.lm_head, n, C, V, 0,
                            c->matmul_precision);
        be->scatter_add_rows(a->dln, a->dres, a->rows + r0, n, C);
    }
    a->logits_kept = 0; /* they are dlogits now */
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
        be->matmul_backward(a->dF1, g->w_down, NULL, a->dres, a->h, w->w_down, N, F, C, 0,
                            c->matmul_precision);
        be->swiglu_backward(a->dF1, a->dF2, a->dF1, gate, up, (size_t)N * F);
        be->matmul_backward(a->dln, g->w_gate, NULL, a->dF1, ln2, w->w_gate, N, C, F, 0, c->matmul_precision);
        be->matmul_backward(a->dln, g->w_up, NULL, a->dF2, ln2, w->w_up, N, C, F, 1, c->matmul_precision);
        be->rmsnorm_backward(a->dres, g->ln2, a->dln, mid, w->ln2, rstd2, N, C, 1);
        /* Attention: mid = x + o_proj(att). */
        be->matmul_backward(a->datt, g->wo, NULL, a->dres, att, w->wo, N, QD, C, 0, c->matmul_precision);
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
        be->matmul_backward(a->dln, g->wq, g->bq, dq, ln1, w->wq, N, C, QD, 0, c->matmul_precision);
        be->matmul_backward(a->dln, g->wk, g->bk, dk, ln1, w->wk, N, C, KVD, 1, c->matmul_precision);
        be->matmul_backward(a->dln, g->wv, g->bv, a->dv, ln1, w->wv, N, C, KVD, 1, c->matmul_precision);
        be->rmsnorm_backward(a->dres, g->ln1, a->dln, x, w->ln1, rstd1, N, C, 1);
    }
    be->embedding_backward(m->g.embed, a->dres, a->tokens, N, C);
    return be->sync();
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
HBPODEF void hbpo_model_reset_optimizer(hbpo_model *m) {
    if (!m || !m->be) return;
    if (m->m) m->be->zero(m->m, m->n_params * sizeof(float));
    if (m->v) m->be->zero(m->v, m->n_params * sizeof(float));
    m->step = 0;
}

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
    if (be->sync() != 0) return -1;
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
    return be->sync();
}

/* ------------------------------------------------------------------------- */
/* 9. Generation: sampling, KV-cache decoding                                */
/* ------------------------------------------------------------------------- */

HBPODEF hbpo_sampler_config hbpo_sampler_config_default(void) {
    hbpo_sampler_config s;
    memset(&s, 0, sizeof s);
    s.temperature = 0.6f;
    s.top_p = 0.95f;
    s.top_k = 0;
    s.max_new_tokens = 4096;
    s.n_eos = 0;
    s.seed = 0;
    return s;
}

HBPODEF int hbpo_sampler_config_check(const hbpo_sampler_config *s) {
    int i;
    if (!s) return hbpo__fail("sampler config: NULL");
    if (isnan(s->temperature) || s->temperature == INFINITY)
        return hbpo__fail("sampler config: temperature = %g must be finite (<= 0 means greedy)",
                          (double)s->temperature);
    if (!(s->top_p > 0.0f && s->top_p <= 1.0f))
        return hbpo__fail("sampler config: top_p = %g must be in (0, 1] (1 = off)", (double)s->top_p);
    if (s->top_k < 0) return hbpo__fail("sampler config: top_k = %d must be >= 0 (0 = off)", s->top_k);
    if (s->max_active < 0)
        return hbpo__fail("sampler config: max_active = %d must be >= 0 (0 = every sequence)", s->max_active);
    if (s->max_new_tokens < 1)
        return hbpo__fail("sampler config: max_new_tokens = %d must be >= 1", s->max_new_tokens);
    if (s->n_eos < 0 || s->n_eos > HBPO_MAX_EOS)
        return hbpo__fail("sampler config: n_eos = %d is out of range [0, %d]", s->n_eos, HBPO_MAX_EOS);
    for (i = 0; i < s->n_eos; i++)
        if (s->eos[i] < 0) return hbpo__fail("sampler config: eos[%d] = %d is negative", i, s->eos[i]);
    return 0;
}

/* The eos ids of s against a vocabulary of V ids. */
static int hbpo__sampler_eos_fit(const hbpo_sampler_config *s, int V) {
    int i;
    for (i = 0; i < s->n_eos; i++)
        if (s->eos[i] >= V)
            return hbpo__fail("sampler config: eos[%d] = %d is not below vocab_size %d", i, s->eos[i], V);
    return 0;
}

HBPODEF int hbpo_sample(const float *logits, int V, const hbpo_sampler_config *s, float coin,
                        float *work, float *logp) {
    int j, tok, greedy;
    float inv;
    if (!logits || !s || V < 1) return hbpo__fail("hbpo_sample: logits or config is NULL, or V = %d < 1", V);
    if (hbpo_sampler_config_check(s) != 0) return -1;
    greedy = s->temperature <= 0.0f;
    if (!greedy && !(coin >= 0.0f && coin < 1.0f))
        return hbpo__fail("hbpo_sample: coin = %g is outside [0, 1)", (double)coin);
    if (!greedy && !(s->top_k == 1 || V == 1) && ((s->top_k > 0 && s->top_k < V) || s->top_p < 1.0f) &&
        !work)
        return hbpo__fail("hbpo_sample: work (V floats) is NULL with top_k or top_p on");
    /* The algorithm is hbpo_k_sample_row (section 9), which the CUDA backend
       runs as well; -1 there means a non-finite scaled logit. */
    tok = hbpo_k_sample_row(logits, V, s->temperature, s->top_p, s->top_k, coin, work, logp);
    if (tok >= 0) return tok;
    inv = greedy ? 1.0f : 1.0f / s->temperature;
    for (j = 0; j < V && isfinite(logits[j] * inv); j++) {}
    return hbpo__fail("hbpo_sample: logit %d is %g (%g after the temperature)", j,
                      (double)logits[j < V ? j : 0], (double)(logits[j < V ? j : 0] * inv));
}

/* Generation state shared by admission (prefill) and the decoding loop. */
typedef struct {
    hbpo_model *m;
    const hbpo_sampler_config *s;
    int B, S, KVD, n_slots;
    float *kc, *vc;         /* (L, n_slots, S, KVD) backend: the key/value cache */
    const int *plen;        /* (B) prompt lengths */
    int *limit;             /* (B) most tokens sequence b may generate */
    int *len;               /* (B) tokens generated so far */
    hbpo_rng *rng;          /* (B) one stream per sequence */
    int *seq_of_slot;       /* (n_slots) the sequence decoding in each slot, -1: free */
    int *slot_of;           /* (B) the slot of each admitted sequence */
    int *active, n_active;  /* (n_slots) the sequences decoding, in batch-row order */
    int next;               /* the first prompt not admitted yet (prompts start in order) */
    float *work;            /* (R, V) backend: sampler scratch */
    float *coins, *lp;      /* (R) host */
    int *tok;               /* (R) host */
    int *out_tokens;        /* (B, max_new_tokens) */
    float *out_logp;        /* same, or NULL */
} hbpo__gen;

static int hbpo__gen_done(const hbpo__gen *g, int b) {
    int i, t;
    if (g->len[b] >= g->limit[b]) return 1;
    if (g->len[b] == 0) return 0;
    t = g->out_tokens[(size_t)b * g->s->max_new_tokens + (size_t)g->len[b] - 1];
    for (i = 0; i < g->s->n_eos; i++)
        if (t == g->s->eos[i]) return 1;
    return 0;
}

/* The next token of sequences seq[0..n) (host): logits = lm_head(a->lnf[rows[i]])
   and the backend's sample op on them, with each sequence's coin drawn on the
   host from its own stream; only tokens and log-probs come back. */
static int hbpo__gen_sample(hbpo__gen *g, hbpo__acts *a, const int *rows, const int *seq, int n) {
    const hbpo_backend *be = g->m->be;
    int V = g->m->config.vocab_size, C = g->m->config.hidden_size, r0, i;
    int greedy = g->s->temperature <= 0.0f, max_new = g->s->max_new_tokens;
    be->upload(a->rows, rows, sizeof(int) * (size_t)n);
    for (r0 = 0; r0 < n; r0 += a->cap_rows) {
        int cnt = n - r0 < a->cap_rows ? n - r0 : a->cap_rows;
        be->gather_rows(a->hrows, a->lnf, a->rows + r0, cnt, C);
        be->matmul_forward(a->logits, a->hrows, g->m->w.lm_head, NULL, cnt, C, V,
                           g->m->config.matmul_precision);
        for (i = 0; i < cnt; i++) g->coins[i] = greedy ? 0.0f : hbpo_rng_uniform(&g->rng[seq[r0 + i]]);
        if (be->sample(g->tok, g->lp, a->logits, cnt, V, g->s, g->coins, g->work) != 0) {
            char why[sizeof hbpo__err];
            for (i = 0; i < cnt && g->tok[i] >= 0; i++) {}
            hbpo__error_copy(why, sizeof why);
            if (i == cnt) return hbpo__fail("hbpo_generate: %s", why);
            return hbpo__fail("hbpo_generate: sequence %d, new token %d: %s", seq[r0 + i],
                              g->len[seq[r0 + i]], why);
        }
        if (be->sync() != 0) return -1;
        for (i = 0; i < cnt; i++) {
            int b = seq[r0 + i];
            size_t at = (size_t)b * max_new + (size_t)g->len[b];
            g->out_tokens[at] = g->tok[i];
            if (g->out_logp) g->out_logp[at] = g->lp[i];
            g->len[b]++;
        }
    }
    return 0;
}

/* Prefill processes groups of consecutive prompts of at most this many
   tokens together (padded), bounding the activations; a longer prompt
   goes alone. */
#define HBPO__PREFILL_TOKENS 2048

/* Drops finished sequences from the batch rows and frees their slots: the
   last row moves into the hole (host bookkeeping only; no cache moves). The
   row order is the one earlier versions' cache compaction produced, and the
   products' bits may depend on a row's place in the batch, so it is kept. */
static void hbpo__gen_retire(hbpo__gen *g) {
    int i = 0;
    while (i < g->n_active) {
        int b = g->active[i];
        if (!hbpo__gen_done(g, b)) { i++; continue; }
        g->seq_of_slot[g->slot_of[b]] = -1;
        g->active[i] = g->active[--g->n_active];
    }
}

/* Admission: while a slot is free and a prompt waits, the next waiting
   prompts (up to g_max of them, one per free slot, lowest slot first) are
   prefilled together, right-padded to the group's longest: their keys and
   values go to their slots, and their first token is drawn. The padding's
   keys and values land at positions the sequence has not reached; causal
   attention never reads them before decoding overwrites them. The admitted
   join the batch rows (a sequence done at once leaves at the next
   hbpo__gen_retire, which frees its slot). Returns how many were admitted,
   or -1. ids, kvslot, kvpos: host scratch of g_max * P_max ints; seq, slot:
   g_max ints. */
static int hbpo__gen_admit(hbpo__gen *g, hbpo__acts *pre, const int *prompt,
                           const int *prompt_off, int g_max, int *ids, int *kvslot, int *kvpos,
                           int *seq, int *slot) {
    const hbpo_backend *be = g->m->be;
    int admitted = 0;
    while (g->next < g->B) {
        int G = 0, T = 0, i, t, sl;
        for (sl = 0; sl < g->n_slots && G < g_max && g->next + G < g->B; sl++)
            if (g->seq_of_slot[sl] < 0) {
                seq[G] = g->next + G;
                slot[G++] = sl;
            }
        if (G == 0) break;
        for (i = 0; i < G; i++) T = g->plen[seq[i]] > T ? g->plen[seq[i]] : T;
        for (i = 0; i < G; i++) {
            int b = seq[i];
            for (t = 0; t < T; t++) {
                ids[(size_t)i * T + t] = t < g->plen[b] ? prompt[prompt_off[b] + t] : 0;
                kvslot[(size_t)i * T + t] = slot[i];
                kvpos[(size_t)i * T + t] = t;
            }
            pre->pos0_host[i] = 0;
        }
        be->upload(pre->tokens, ids, sizeof(int) * (size_t)G * T);
        be->upload(pre->pos0, pre->pos0_host, sizeof(int) * (size_t)G);
        be->upload(pre->slot, slot, sizeof(int) * (size_t)G);
        be->upload(pre->kvslot, kvslot, sizeof(int) * (size_t)G * T);
        be->upload(pre->kvpos, kvpos, sizeof(int) * (size_t)G * T);
        if (hbpo__forward_body(g->m, pre, G, T, g->kc, g->vc,
                               (size_t)g->n_slots * g->S * g->KVD, g->S) != 0)
            return -1;
        /* the last prompt token predicts the first new one */
        for (i = 0; i < G; i++) kvpos[i] = i * T + g->plen[seq[i]] - 1;
        if (hbpo__gen_sample(g, pre, kvpos, seq, G) != 0) return -1;
        for (i = 0; i < G; i++) {
            g->seq_of_slot[slot[i]] = seq[i];
            g->slot_of[seq[i]] = slot[i];
            g->active[g->n_active++] = seq[i];
        }
        g->next += G;
        admitted += G;
    }
    return admitted;
}

HBPODEF int hbpo_generate(hbpo_model *m, const hbpo_sampler_config *s, int B, const int *prompt,
                          const int *prompt_off, int *out_tokens, float *out_logp, int *out_len) {
    const hbpo_model_config *c;
    const hbpo_backend *be;
    hbpo__gen g;
    hbpo__acts pre, dec;
    int *plen = NULL, *ids = NULL;
    int b, i, V, L, P_max = 0, S = 0, G_max, R, n_active, rc = -1, max_new;
    size_t cache_floats, n_ids;
    memset(&g, 0, sizeof g);
    memset(&pre, 0, sizeof pre);
    memset(&dec, 0, sizeof dec);
    if (!m || !m->params) return hbpo__fail("hbpo_generate: model is not created");
    if (!s || !prompt || !prompt_off || !out_tokens || !out_len)
        return hbpo__fail("hbpo_generate: config, prompt, prompt_off, out_tokens or out_len is NULL");
    c = &m->config;
    be = m->be;
    V = c->vocab_size;
    L = c->num_hidden_layers;
    if (B < 1 || B > (1 << 20)) return hbpo__fail("hbpo_generate: B = %d is out of range [1, 2^20]", B);
    if (hbpo_sampler_config_check(s) != 0 || hbpo__sampler_eos_fit(s, V) != 0) return -1;
    max_new = s->max_new_tokens;
    for (b = 0; b < B; b++) {
        int P = prompt_off[b + 1] - prompt_off[b], lim;
        if (prompt_off[b] < 0 || P < 1)
            return hbpo__fail("hbpo_generate: prompt %d is empty or its offsets [%d, %d) are invalid",
                              b, prompt_off[b], prompt_off[b + 1]);
        if (P >= c->max_position_embeddings)
            return hbpo__fail("hbpo_generate: prompt %d has %d tokens, leaving no room below "
                              "max_position_embeddings = %d", b, P, c->max_position_embeddings);
        for (i = prompt_off[b]; i < prompt_off[b + 1]; i++)
            if (prompt[i] < 0 || prompt[i] >= V)
                return hbpo__fail("hbpo_generate: prompt %d token %d is %d, outside [0, %d)", b,
                                  i - prompt_off[b], prompt[i], V);
        lim = c->max_position_embeddings - P < max_new ? c->max_position_embeddings - P : max_new;
        P_max = P > P_max ? P : P_max;
        S = P + lim > S ? P + lim : S;
    }
    g.m = m; g.s = s; g.B = B; g.S = S;
    g.n_slots = s->max_active > 0 && s->max_active < B ? s->max_active : B;
    g.KVD = c->num_key_value_heads * c->head_dim;
    g.out_tokens = out_tokens;
    g.out_logp = out_logp;
    G_max = HBPO__PREFILL_TOKENS / P_max;
    G_max = G_max < 1 ? 1 : G_max > g.n_slots ? g.n_slots : G_max;
    /* host scratch: ids, kvslot, kvpos (prefill tokens, or one per slot), seq, slot */
    n_ids = (size_t)G_max * P_max > (size_t)g.n_slots ? (size_t)G_max * P_max : (size_t)g.n_slots;
    cache_floats = hbpo__mul_size(hbpo__mul_size((size_t)L, (size_t)g.n_slots),
                                  hbpo__mul_size((size_t)S, (size_t)g.KVD));
    if (cache_floats == 0 || hbpo__mul_size(cache_floats, sizeof(float)) == 0)
        return hbpo__fail("hbpo_generate: the key/value cache size overflows");
    plen = (int *)HBPO_MALLOC(sizeof(int) * ((size_t)B * 4 + (size_t)g.n_slots * 2));
    ids = (int *)HBPO_MALLOC(sizeof(int) * n_ids * 5);
    g.rng = (hbpo_rng *)HBPO_MALLOC(sizeof(hbpo_rng) * (size_t)B);
    g.kc = (float *)be->alloc(sizeof(float) * cache_floats);
    g.vc = (float *)be->alloc(sizeof(float) * cache_floats);
    if (!plen || !ids || !g.rng || !g.kc || !g.vc) {
        hbpo__fail("hbpo_generate: out of memory for a %d x %d key/value cache (%zu MiB)", g.n_slots,
                   S, (2 * cache_floats * sizeof(float)) >> 20);
        goto done;
    }
    g.plen = plen;
    g.limit = plen + B;
    g.len = plen + 2 * B;
    g.slot_of = plen + 3 * B;
    g.seq_of_slot = plen + 4 * B;
    g.active = g.seq_of_slot + g.n_slots;
    for (i = 0; i < g.n_slots; i++) g.seq_of_slot[i] = -1;
    for (b = 0; b < B; b++) {
        hbpo_rng r;
        plen[b] = prompt_off[b + 1] - prompt_off[b];
        g.limit[b] = c->max_position_embeddings - plen[b] < max_new ? c->max_position_embeddings - plen[b] : max_new;
        g.len[b] = 0;
        r.s = s->seed + (uint64_t)b * 0x9E3779B97F4A7C15ull; /* stream b: SplitMix64 output b */
        hbpo_rng_seed(&g.rng[b], hbpo__rng_next(&r));
        for (i = 0; i < max_new; i++) {
            out_tokens[(size_t)b * max_new + i] = -1;
            if (out_logp) out_logp[(size_t)b * max_new + i] = 0.0f;
        }
    }
    if (hbpo__acts_alloc(m, &pre, G_max, P_max, 0, 0) != 0) goto done;
    if (hbpo__acts_alloc(m, &dec, g.n_slots, 1, 0, 0) != 0) goto done;
    R = pre.cap_rows > dec.cap_rows ? pre.cap_rows : dec.cap_rows;
    g.work = (float *)be->alloc(sizeof(float) * (size_t)R * V);
    g.coins = (float *)HBPO_MALLOC(sizeof(float) * (size_t)R * 2);
    g.tok = (int *)HBPO_MALLOC(sizeof(int) * (size_t)R);
    if (!g.work || !g.coins || !g.tok) { hbpo__fail("hbpo_generate: out of memory for the sampler"); goto done; }
    memset(g.tok, 0, sizeof(int) * (size_t)R);
    g.lp = g.coins + R;

    /* Continuous batching: at most n_slots sequences decode at once, each in
       its own cache slot. Every step first fills the free slots with the
       next waiting prompts (and again while some finish at once), then
       advances every active sequence by one token. A finished sequence
       frees its slot; no cache is ever copied. */
    for (;;) {
        int *kvslot = ids + n_ids, *kvpos = ids + 2 * n_ids, *seq = ids + 3 * n_ids;
        int *slot = ids + 4 * n_ids, admitted;
        do {
            admitted = hbpo__gen_admit(&g, &pre, prompt, prompt_off, G_max, ids, kvslot, kvpos, seq, slot);
            if (admitted < 0) goto done;
            hbpo__gen_retire(&g);
        } while (admitted > 0);
        n_active = g.n_active;
        if (n_active == 0) break;
        for (i = 0; i < n_active; i++) {
            b = g.active[i];
            ids[i] = out_tokens[(size_t)b * max_new + g.len[b] - 1];
            dec.pos0_host[i] = plen[b] + g.len[b] - 1; /* the newest token is not cached yet */
            slot[i] = g.slot_of[b];
            kvpos[i] = i; /* LM-head rows */
        }
        be->upload(dec.tokens, ids, sizeof(int) * (size_t)n_active);
        be->upload(dec.pos0, dec.pos0_host, sizeof(int) * (size_t)n_active);
        be->upload(dec.slot, slot, sizeof(int) * (size_t)n_active);
        be->upload(dec.kvslot, slot, sizeof(int) * (size_t)n_active);
        be->upload(dec.kvpos, dec.pos0_host, sizeof(int) * (size_t)n_active);
        if (hbpo__forward_body(m, &dec, n_active, 1, g.kc, g.vc,
                               (size_t)g.n_slots * S * g.KVD, S) != 0)
            goto done;
        if (hbpo__gen_sample(&g, &dec, kvpos, g.active, n_active) != 0) goto done;
        hbpo__gen_retire(&g);
    }
    for (b = 0; b < B; b++) out_len[b] = g.len[b];
    rc = 0;
done:
    hbpo__acts_release(be, &pre);
    hbpo__acts_release(be, &dec);
    be->free(g.kc);
    be->free(g.vc);
    be->free(g.work);
    HBPO_FREE(g.coins);
    HBPO_FREE(g.tok);
    HBPO_FREE(g.rng);
    HBPO_FREE(ids);
    HBPO_FREE(plen);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* 10. Checkpoints: config.json and safetensors                              */
/* ------------------------------------------------------------------------- */

/* Files are read with fseek/ftell, whose long offsets are 64-bit on LP64
   systems (Linux, macOS); where long has 32 bits (Windows, 32-bit Linux) a
   checkpoint file must stay under 2 GiB. */
#include <limits.h>   /* LONG_MAX */
#include <sys/stat.h> /* stat, mkdir */
#ifndef _WIN32
#include <unistd.h>   /* fsync */
#endif
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
HBPODEF uint16_t hbpo_f32_to_bf16(float f) { return hbpo_k_bf16_bits(f); }

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
    const char *sep = (n && (dir[n - 1] == '/' || dir[n - 1] == '\\')) ? "" : "/";
    int k = snprintf(out, cap, "%s%s%s", dir, sep, name);
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
        return hbpo__fail("config.json: \"%s\" must be a non-negative integer id, a list of ids or null",
                          key);
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
    if (use_sw)
        return hbpo__fail("config.json: sliding-window attention (use_sliding_window true) is not supported");
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
        return hbpo__fail("%s: truncated file (%lu bytes, no 8-byte header length)", path,
                          (unsigned long)fsize);
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
        if (strlen(v->key) != v->key_len)
            return hbpo__fail("%s: tensor %s...: the name holds a NUL byte", path, e->name);
        if (v->type != HBPO_JSON_OBJECT)
            return hbpo__fail("%s: tensor %s: entry is not an object", path, e->name);
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
            if (e->shape[e->ndim] && numel > UINT64_MAX / e->shape[e->ndim]) numel = UINT64_MAX;
            else numel *= e->shape[e->ndim];
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
            hbpo__fail("%s: tensor %s appears a second time (already read from another shard)", path,
                       e->name);
            goto done;
        }
        if (e->ndim != ti->ndim || e->shape[0] != (uint64_t)ti->shape[0] ||
            (ti->ndim == 2 && e->shape[1] != (uint64_t)ti->shape[1])) {
            char got[HBPO__ST_MAX_DIMS * 22 + 4], want[64];
            size_t o = 0;
            int k;
            for (k = 0; k < e->ndim; k++)
                o += (size_t)snprintf(got + o, sizeof got - o, "%s%llu", k ? ", " : "",
                                      (unsigned long long)e->shape[k]);
            if (ti->ndim == 2) snprintf(want, sizeof want, "[%d, %d]", ti->shape[0], ti->shape[1]);
            else snprintf(want, sizeof want, "[%d]", ti->shape[0]);
            hbpo__fail("%s: tensor %s has shape [%s], but config.json gives %s", path, e->name, got, want);
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

/* Orders weight_map entries by file name, then by position. */
static int hbpo__shard_cmp(const void *a, const void *b) {
    const hbpo_json *x = *(const hbpo_json *const *)a, *y = *(const hbpo_json *const *)b;
    int c = strcmp(x->str, y->str);
    HBPO__OPS(1);
    return c ? c : (x > y) - (x < y); /* nodes lie in document order */
}

static int hbpo__load_sharded(hbpo_model *m, const char *dir, const char *index_path, unsigned char *found) {
    hbpo_json_doc doc;
    const hbpo_json *wm, *e, **order = NULL;
    char *text, path[HBPO__CKPT_PATH_MAX];
    unsigned char *first = NULL;
    size_t len, n_files = 0, i, n;
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
            hbpo__fail("%s: weight_map[\"%s\"] is not a file name in the checkpoint folder", index_path,
                       e->key);
            goto done;
        }
    }
    /* Each distinct file once, in order of first mention. Sorting the entries
       by name finds each name's first mention in O(n log n); scanning the
       earlier entries for each one was quadratic (2 shards named by a million
       entries each took hours). */
    n = wm->len;
    order = (const hbpo_json **)HBPO_MALLOC((n + 1) * sizeof *order);
    first = (unsigned char *)HBPO_MALLOC(n + 1);
    if (!order || !first) {
        hbpo__fail("%s: out of memory for %lu entries", index_path, (unsigned long)n);
        goto done;
    }
    for (e = wm->child, i = 0; e; e = e->next, i++) order[i] = e;
    qsort(order, n, sizeof *order, hbpo__shard_cmp);
    for (i = 0; i < n; i++)
        first[order[i] - wm->child] = i == 0 || strcmp(order[i - 1]->str, order[i]->str) != 0;
    for (e = wm->child, i = 0; e; e = e->next, i++) {
        if (!first[i]) continue;
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
    HBPO_FREE(order);
    HBPO_FREE(first);
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
    if (r != 0 && !hbpo__is_dir(dir))
        return hbpo__fail("%s: cannot create the folder: %s", dir, strerror(errno));
    return 0;
}

HBPODEF int hbpo_make_dir(const char *dir) {
    if (!dir || !*dir) return hbpo__fail("hbpo_make_dir: no folder name");
    return hbpo__mkdir(dir);
}

/* Closes f (checking every write, fsync) and renames tmp to path; on any failure
   removes tmp. */
static int hbpo__finish_file(FILE *f, int ok, const char *tmp, const char *path) {
    if (fflush(f) != 0 || ferror(f)) ok = 0;
#ifndef _WIN32
    if (ok && fsync(fileno(f)) != 0) ok = 0; /* the data is on disk before the rename */
#endif
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

HBPODEF int hbpo_write_file(const char *path, const void *data, size_t len) {
    char tmp[HBPO__CKPT_PATH_MAX + 8];
    FILE *f;
    if (!path || (!data && len)) return hbpo__fail("hbpo_write_file: path or data is NULL");
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return hbpo__fail("%s: path too long", path);
    f = fopen(tmp, "wb");
    if (!f) return hbpo__fail("%s: cannot create: %s", tmp, strerror(errno));
    return hbpo__finish_file(f, len == 0 || fwrite(data, 1, len, f) == len, tmp, path);
}

static int hbpo__write_text(const char *path, const char *text) {
    return hbpo_write_file(path, text, strlen(text));
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
    /* -1 (absent) is written as null */
    snprintf(bos, sizeof bos, "null");
    snprintf(eos, sizeof eos, "null");
    if (c->bos_token_id >= 0) snprintf(bos, sizeof bos, "%d", c->bos_token_id);
    if (c->eos_token_id >= 0) snprintf(eos, sizeof eos, "%d", c->eos_token_id);
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
        return hbpo__fail("hbpo_model_save: dtype %d is not supported (HBPO_DTYPE_F32 or HBPO_DTYPE_BF16)",
                          dtype);
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
/* 11. Data: datasets and the synthetic arithmetic task                      */
/* ------------------------------------------------------------------------- */

/* Limits on what one line may hold (stb habit: bounded before allocating).
   An answer must be shorter than hbpo_judge's limit, or no response could
   ever match it. */
#define HBPO__DATA_MAX_QUESTION ((size_t)1 << 20)
#define HBPO__DATA_MAX_ANSWER   ((size_t)HBPO__ANS_MAX)
#define HBPO__DATA_MAX_ITEMS    (1 << 28)

static const char *hbpo__data_type_name(hbpo_json_type t) {
    switch (t) {
    case HBPO_JSON_NULL: return "null";
    case HBPO_JSON_FALSE: case HBPO_JSON_TRUE: return "a boolean";
    case HBPO_JSON_NUMBER: return "a number";
    case HBPO_JSON_STRING: return "a string";
    case HBPO_JSON_ARRAY: return "an array";
    default: return "an object";
    }
}

/* 0 when d looks like a zeroed or built dataset (catches a forgotten memset). */
static int hbpo__data_check(const hbpo_dataset *d, const char *fn) {
    if (!d) return hbpo__fail("%s: dataset is NULL", fn);
    if (d->n < 0 || d->cap < 0 || d->n > d->cap || d->n_skipped < 0 || (d->cap && !d->items))
        return hbpo__fail("%s: dataset is not initialised (zero it first)", fn);
    return 0;
}

/* Appends one problem from byte ranges: one allocation "question\0answer\0"
   owned by the item. The caller checked the lengths against the limits. */
static int hbpo__data_push(hbpo_dataset *d, const char *q, size_t qn, const char *a, size_t an,
                           int level) {
    hbpo_problem *ni;
    char *block;
    size_t bytes;
    int cap;
    if (d->n >= HBPO__DATA_MAX_ITEMS)
        return hbpo__fail("dataset: more than %d problems", HBPO__DATA_MAX_ITEMS);
    if (d->n == d->cap) {
        cap = d->cap ? (d->cap > HBPO__DATA_MAX_ITEMS / 2 ? HBPO__DATA_MAX_ITEMS : d->cap * 2) : 64;
        bytes = hbpo__mul_size((size_t)cap, sizeof(hbpo_problem));
        ni = bytes ? (hbpo_problem *)HBPO_REALLOC(d->items, bytes) : NULL;
        if (!ni) return hbpo__fail("dataset: out of memory for %d problems", cap);
        d->items = ni;
        d->cap = cap;
    }
    block = (char *)HBPO_MALLOC(qn + an + 2);
    if (!block)
        return hbpo__fail("dataset: out of memory for a problem of %lu bytes",
                          (unsigned long)(qn + an + 2));
    memcpy(block, q, qn);
    block[qn] = 0;
    memcpy(block + qn + 1, a, an);
    block[qn + 1 + an] = 0;
    d->items[d->n].question = block;
    d->items[d->n].answer = block + qn + 1;
    d->items[d->n].level = level;
    d->n++;
    return 0;
}

/* The reason a question or answer text is unusable, or NULL when it is fine. */
static const char *hbpo__data_text_bad(const char *s, size_t len, size_t limit, char *why,
                                       size_t cap, const char *name) {
    if (len == 0) snprintf(why, cap, "\"%s\" is empty", name);
    else if (strlen(s) != len) snprintf(why, cap, "\"%s\" holds a NUL byte", name);
    else if (len >= limit)
        snprintf(why, cap, "\"%s\" has %lu bytes, the limit is %lu", name, (unsigned long)len,
                 (unsigned long)limit - 1);
    else return NULL;
    return why;
}

HBPODEF int hbpo_dataset_create(hbpo_dataset *d) {
    if (!d) return hbpo__fail("hbpo_dataset_create: dataset is NULL");
    memset(d, 0, sizeof *d);
    return 0;
}

HBPODEF int hbpo_dataset_add(hbpo_dataset *d, const char *question, const char *answer,
                             int level) {
    char why[128];
    size_t qn, an;
    if (hbpo__data_check(d, "hbpo_dataset_add") != 0) return -1;
    if (!question || !answer) return hbpo__fail("hbpo_dataset_add: question or answer is NULL");
    if (level < 0) return hbpo__fail("hbpo_dataset_add: level %d is negative", level);
    qn = strlen(question);
    an = strlen(answer);
    if (hbpo__data_text_bad(question, qn, HBPO__DATA_MAX_QUESTION, why, sizeof why, "question") ||
        hbpo__data_text_bad(answer, an, HBPO__DATA_MAX_ANSWER, why, sizeof why, "answer"))
        return hbpo__fail("hbpo_dataset_add: %s", why);
    return hbpo__data_push(d, question, qn, answer, an, level);
}

HBPODEF void hbpo_dataset_free(hbpo_dataset *d) {
    int i;
    if (!d) return;
    if (d->items) {
        for (i = 0; i < d->n; i++) HBPO_FREE((void *)d->items[i].question); /* owns the block */
        HBPO_FREE(d->items);
    }
    memset(d, 0, sizeof *d);
}

HBPODEF const char *hbpo_dataset_first_skip(const hbpo_dataset *d) {
    return d ? d->first_skip : "";
}

/* A JSON number as the shortest of %.15g / %.17g that reads back exactly:
   AMC23's 27.0 -> "27", 0.1 -> "0.1". */
static void hbpo__data_number(double x, char *out, size_t cap) {
    snprintf(out, cap, "%.15g", x);
    if (strtod(out, NULL) != x) snprintf(out, cap, "%.17g", x);
}

/* OlympiadBench's final_answer element: trimmed, unescaped '$' removed
   ("$69$,$84$" -> "69,84"), appended to out at *n. 0, or -1 when it does not fit. */
static int hbpo__data_put_unmath(const char *s, char *out, size_t cap, size_t *n) {
    const char *e = s + strlen(s);
    size_t k = *n;
    while (*s == ' ' || *s == '\t' || *s == '\n') s++;
    for (; s < e; s++) {
        if (*s == '$' && !(k > *n && out[k - 1] == '\\')) continue;
        if (k + 1 >= cap) return -1;
        out[k++] = *s;
    }
    while (k > *n && (out[k - 1] == ' ' || out[k - 1] == '\t' || out[k - 1] == '\n')) k--;
    out[k] = 0;
    *n = k;
    return 0;
}

/* The level of a `level` value: 3, "3" or "Level 3"; 0 when absent or not a
   whole number in 0..1000 (MATH has "Level ?"). */
static int hbpo__data_level(const hbpo_json *v) {
    const char *s;
    long x;
    char *end;
    if (!v) return 0;
    if (v->type == HBPO_JSON_NUMBER)
        return (v->num >= 0 && v->num <= 1000 && v->num == floor(v->num)) ? (int)v->num : 0;
    if (v->type != HBPO_JSON_STRING) return 0;
    s = v->str;
    if (strncmp(s, "Level", 5) == 0 || strncmp(s, "level", 5) == 0) s += 5;
    while (*s == ' ') s++;
    if (!isdigit((unsigned char)*s)) return 0;
    x = strtol(s, &end, 10);
    while (*end == ' ') end++;
    return (*end == 0 && x >= 0 && x <= 1000) ? (int)x : 0;
}

/* One line's object under `layout` (AUTO: decided here, returned in *used).
   Appends the problem and returns 0; returns 1 with the reason in why for a
   bad line, -1 when out of memory (fatal). ans holds HBPO__DATA_MAX_ANSWER bytes. */
static int hbpo__data_line(hbpo_dataset *d, const hbpo_json *obj, int layout, int *used,
                           char *ans, char *why, size_t wcap) {
    const hbpo_json *q, *a, *e;
    const char *qname = "problem";
    size_t an = 0;
    int is_final = 0; /* the answer is OlympiadBench's final_answer */
    if (!obj || obj->type != HBPO_JSON_OBJECT) {
        snprintf(why, wcap, "%s, not a JSON object",
                 obj ? hbpo__data_type_name(obj->type) : "nothing");
        return 1;
    }
    q = hbpo_json_get(obj, "problem");
    if (!q) { q = hbpo_json_get(obj, "question"); qname = "question"; }
    if (!q) { snprintf(why, wcap, "no \"problem\" or \"question\" field"); return 1; }
    if (q->type != HBPO_JSON_STRING) {
        snprintf(why, wcap, "\"%s\" is %s, not a string", qname, hbpo__data_type_name(q->type));
        return 1;
    }
    if (hbpo__data_text_bad(q->str, q->len, HBPO__DATA_MAX_QUESTION, why, wcap, qname)) return 1;
    a = hbpo_json_get(obj, "answer");
    if (layout == HBPO_DATA_AUTO)
        layout = (!strcmp(qname, "question") && a && a->type == HBPO_JSON_STRING &&
                  strstr(a->str, "####")) ? HBPO_DATA_GSM8K : HBPO_DATA_MATH;
    *used = layout;
    if (!a && layout == HBPO_DATA_MATH) {
        a = hbpo_json_get(obj, "final_answer");
        is_final = 1;
    }
    if (!a) {
        snprintf(why, wcap, layout == HBPO_DATA_MATH ? "no \"answer\" or \"final_answer\" field"
                                                     : "no \"answer\" field");
        return 1;
    }
    if (layout == HBPO_DATA_GSM8K) {
        if (a->type != HBPO_JSON_STRING) {
            snprintf(why, wcap, "\"answer\" is %s, not a string", hbpo__data_type_name(a->type));
            return 1;
        }
        if (strlen(a->str) != a->len) {
            snprintf(why, wcap, "\"answer\" holds a NUL byte");
            return 1;
        }
        switch (hbpo_gsm8k_extract(a->str, ans, HBPO__DATA_MAX_ANSWER)) {
        case 0: break;
        case -1: snprintf(why, wcap, "\"answer\" does not end in \"#### N\""); return 1;
        default:
            snprintf(why, wcap, "the answer after \"####\" has %lu bytes or more",
                     (unsigned long)HBPO__DATA_MAX_ANSWER);
            return 1;
        }
        an = strlen(ans);
    } else if (!is_final && a->type == HBPO_JSON_NUMBER) {
        hbpo__data_number(a->num, ans, HBPO__DATA_MAX_ANSWER);
        an = strlen(ans);
    } else if (!is_final && a->type == HBPO_JSON_STRING) {
        if (hbpo__data_text_bad(a->str, a->len, HBPO__DATA_MAX_ANSWER, why, wcap, "answer"))
            return 1;
        memcpy(ans, a->str, a->len + 1);
        an = a->len;
    } else if (is_final && (a->type == HBPO_JSON_STRING || a->type == HBPO_JSON_ARRAY)) {
        /* One string or a list of them, joined with ", ". */
        ans[0] = 0;
        for (e = a->type == HBPO_JSON_ARRAY ? a->child : a; e; e = e->next) {
            if (e->type != HBPO_JSON_STRING || strlen(e->str) != e->len) {
                snprintf(why, wcap, "\"final_answer\" holds %s, not a string",
                         e->type == HBPO_JSON_STRING ? "a NUL byte"
                                                     : hbpo__data_type_name(e->type));
                return 1;
            }
            if (an) {
                if (an + 3 > HBPO__DATA_MAX_ANSWER) goto too_long;
                memcpy(ans + an, ", ", 3);
                an += 2;
            }
            if (hbpo__data_put_unmath(e->str, ans, HBPO__DATA_MAX_ANSWER, &an) != 0) goto too_long;
            if (e == a) break; /* a lone string: its `next` is its sibling member */
        }
        if (an == 0) { snprintf(why, wcap, "\"final_answer\" is empty"); return 1; }
    } else {
        snprintf(why, wcap, "\"%s\" is %s, not a %s", is_final ? "final_answer" : "answer",
                 hbpo__data_type_name(a->type),
                 is_final ? "string or a list of strings" : "string or a number");
        return 1;
    }
    return hbpo__data_push(d, q->str, q->len, ans, an,
                           hbpo__data_level(hbpo_json_get(obj, "level")));
too_long:
    snprintf(why, wcap, "\"final_answer\" has %lu bytes or more",
             (unsigned long)HBPO__DATA_MAX_ANSWER);
    return 1;
}

HBPODEF int hbpo_dataset_load(hbpo_dataset *d, const char *path, int layout, int strict) {
    hbpo_jsonl r;
    hbpo_json_doc doc;
    char why[400], msg[sizeof d->first_skip];
    char *ans = NULL;
    const char *e;
    int rc, json, used = 0, file_layout = layout;

    if (!d) return hbpo__fail("hbpo_dataset_load: dataset is NULL");
    memset(d, 0, sizeof *d);
    if (!path) return hbpo__fail("hbpo_dataset_load: path is NULL");
    if (layout < HBPO_DATA_AUTO || layout > HBPO_DATA_GSM8K)
        return hbpo__fail("hbpo_dataset_load: layout %d is not AUTO (0), MATH (1) or GSM8K (2)",
                          layout);
    memset(&r, 0, sizeof r);
    memset(&doc, 0, sizeof doc);
    if (hbpo_jsonl_open(&r, path) != 0) return -1;
    ans = (char *)HBPO_MALLOC(HBPO__DATA_MAX_ANSWER);
    if (!ans) { hbpo_jsonl_close(&r); return hbpo__fail("hbpo_dataset_load: out of memory"); }
    for (;;) {
        rc = hbpo_jsonl_next(&r, &doc);
        if (rc == 0) break;
        if (rc == -2) goto fail; /* read error: the message says it */
        if (rc == -1) {
            /* The reader's "line L, column C: reason": keep what follows "line L, ". */
            e = hbpo_last_error();
            json = 1;
            if (strncmp(e, "line ", 5) == 0) {
                for (e += 5; isdigit((unsigned char)*e); e++) {}
                json = *e == ','; /* "line L: longer than the limit" is no JSON error */
                if (*e == ',' || *e == ':') e++;
                while (*e == ' ') e++;
            }
            snprintf(why, sizeof why, "%s%.360s", json ? "not valid JSON: " : "", e);
        } else {
            rc = hbpo__data_line(d, doc.root, file_layout, &used, ans, why, sizeof why);
            if (rc < 0) goto fail;
            if (rc == 0) {
                file_layout = used; /* the first valid line decides AUTO */
                continue;
            }
        }
        snprintf(msg, sizeof msg, "%s line %ld: %s", path, r.line, why);
        if (strict) { hbpo__fail("%s", msg); goto fail; }
        if (d->n_skipped++ == 0) memcpy(d->first_skip, msg, sizeof msg);
    }
    if (d->n == 0) {
        if (d->n_skipped)
            hbpo__fail("%s: no valid problems (%d bad lines, first: %s)", path, d->n_skipped,
                       d->first_skip);
        else hbpo__fail("%s: no problems (the file is empty)", path);
        goto fail;
    }
    d->layout = file_layout;
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&r);
    HBPO_FREE(ans);
    return 0;
fail:
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&r);
    HBPO_FREE(ans);
    hbpo_dataset_free(d);
    return -1;
}

/* ---- the synthetic task ---- */

/* The parts of "a+b-c=?": n operations, the first number and each operator
   and operand, and the running values v[0..n] (v[0] = first). */
typedef struct {
    int  n;
    char op[HBPO_SYNTH_MAX_LEVEL];
    int  arg[HBPO_SYNTH_MAX_LEVEL];
    int  v[HBPO_SYNTH_MAX_LEVEL + 1];
} hbpo__synth_chain;

/* Parses a question exactly as hbpo_synth_problem writes it. 0 or -1. */
static int hbpo__synth_parse(const char *q, hbpo__synth_chain *c) {
    const char *p = q;
    if (!q) return hbpo__fail("synthetic question is NULL");
    if (*p < '1' || *p > '9') goto bad;
    c->n = 0;
    c->v[0] = *p++ - '0';
    while (*p == '+' || *p == '-') {
        if (c->n == HBPO_SYNTH_MAX_LEVEL || p[1] < '1' || p[1] > '9') goto bad;
        c->op[c->n] = *p;
        c->arg[c->n] = p[1] - '0';
        c->v[c->n + 1] = *p == '+' ? c->v[c->n] + c->arg[c->n] : c->v[c->n] - c->arg[c->n];
        if (c->v[c->n + 1] < 0 || c->v[c->n + 1] > HBPO_SYNTH_MAX_VALUE) goto bad;
        c->n++;
        p += 2;
    }
    if (c->n == 0 || strcmp(p, "=?") != 0) goto bad;
    return 0;
bad:
    return hbpo__fail("not a synthetic question (\"7+5-3=?\", 1..%d operations on 1..9, "
                      "results in 0..%d): \"%.40s\"", HBPO_SYNTH_MAX_LEVEL, HBPO_SYNTH_MAX_VALUE, q);
}

HBPODEF int hbpo_synth_problem(hbpo_rng *r, int level, char *question, size_t qcap,
                               char *answer, size_t acap) {
    int i, v, b, nv;
    uint32_t x;
    char *p;
    if (!r || !question || !answer) return hbpo__fail("hbpo_synth_problem: NULL argument");
    if (level < 1 || level > HBPO_SYNTH_MAX_LEVEL)
        return hbpo__fail("hbpo_synth_problem: level %d is not in 1..%d", level,
                          HBPO_SYNTH_MAX_LEVEL);
    if (qcap < (size_t)(2 * level + 4) || acap < 3)
        return hbpo__fail("hbpo_synth_problem: buffers of %lu and %lu bytes, need %d and 3",
                          (unsigned long)qcap, (unsigned long)acap, 2 * level + 4);
    p = question;
    v = 1 + (int)(hbpo_rng_u32(r) % 9);
    *p++ = (char)('0' + v);
    for (i = 0; i < level; i++) {
        /* One draw picks both the operator (low bit) and the operand; from any
           value in 0..99 at least one of +b / -b stays in range, so this ends. */
        do {
            x = hbpo_rng_u32(r);
            b = 1 + (int)((x >> 1) % 9);
            nv = (x & 1) ? v + b : v - b;
        } while (nv < 0 || nv > HBPO_SYNTH_MAX_VALUE);
        *p++ = (x & 1) ? '+' : '-';
        *p++ = (char)('0' + b);
        v = nv;
    }
    memcpy(p, "=?", 3);
    snprintf(answer, acap, "%d", v);
    return 0;
}

HBPODEF int hbpo_synth_level(const char *question) {
    hbpo__synth_chain c;
    return hbpo__synth_parse(question, &c) == 0 ? c.n : -1;
}

static const char *hbpo__synth_digits(const char *q, const char *end) {
    while (q < end && *q >= '0' && *q <= '9') q++;
    return q;
}

HBPODEF int hbpo_synth_steps_written(const char *response, int *others) {
    const char *p = response, *end;
    int steps = 0, lines = 0;
    if (others) *others = 0;
    if (!response) return 0;
    end = strstr(response, "</think>");
    if (!end) end = response + strlen(response);
    while (p < end) { /* a step line: digits, + or -, digits, =, digits, then a newline or </think> */
        const char *a = hbpo__synth_digits(p, end), *b, *c;
        int ok = a > p && a < end && (*a == '+' || *a == '-');
        b = ok ? hbpo__synth_digits(a + 1, end) : a;
        ok = ok && b > a + 1 && b < end && *b == '=';
        c = ok ? hbpo__synth_digits(b + 1, end) : b;
        steps += ok && c > b + 1 && (c == end || *c == '\n');
        lines += *p != '\n';
        while (p < end && *p != '\n') p++;
        if (p < end) p++;
    }
    if (others) *others = lines - steps;
    return steps;
}

/* Appends printf output to out[*n..cap); -1 when it does not fit. */
static int hbpo__synth_put(char *out, size_t cap, size_t *n, const char *fmt, ...)
    HBPO__PRINTF(4, 5);
static int hbpo__synth_put(char *out, size_t cap, size_t *n, const char *fmt, ...) {
    va_list ap;
    int k;
    va_start(ap, fmt);
    k = vsnprintf(out + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= cap - *n) return -1;
    *n += (size_t)k;
    return 0;
}

HBPODEF int hbpo_synth_solution(const char *question, int style, hbpo_rng *r, char *out,
                                size_t cap) {
    /* Re-check phrasings seen in R1-style traces; each is followed by the steps. */
    static const char *const phrase[] = {"wait, let me check:", "let me verify:", "double-check:",
                                         "hmm, checking again:"};
    hbpo__synth_chain c;
    size_t n = 0;
    int i, k, checks = 0, fail = 0;
    if (!out || cap == 0) return hbpo__fail("hbpo_synth_solution: out is NULL or empty");
    out[0] = 0;
    if (style < HBPO_SYNTH_DIRECT || style > HBPO_SYNTH_VERBOSE)
        return hbpo__fail("hbpo_synth_solution: style %d is not DIRECT, STEPS or VERBOSE", style);
    if (hbpo__synth_parse(question, &c) != 0) return -1;
    if (style != HBPO_SYNTH_DIRECT)
        for (i = 0; i < c.n && !fail; i++) /* "7+5=12\n" */
            fail = hbpo__synth_put(out, cap, &n, "%d%c%d=%d\n", c.v[i], c.op[i], c.arg[i],
                                   c.v[i + 1]);
    if (style == HBPO_SYNTH_VERBOSE) checks = r ? 1 + (int)(hbpo_rng_u32(r) & 1) : 1;
    for (k = 0; k < checks && !fail; k++) { /* "wait, let me check: 7+5=12, 12-3=9\n" */
        fail = hbpo__synth_put(out, cap, &n, "%s", phrase[r ? hbpo_rng_u32(r) % 4 : 0]);
        for (i = 0; i < c.n && !fail; i++)
            fail = hbpo__synth_put(out, cap, &n, "%s%d%c%d=%d", i ? ", " : " ", c.v[i], c.op[i],
                                   c.arg[i], c.v[i + 1]);
        if (!fail) fail = hbpo__synth_put(out, cap, &n, "\n");
    }
    if (!fail) fail = hbpo__synth_put(out, cap, &n, "</think>\n\\boxed{%d}", c.v[c.n]);
    if (fail) {
        out[0] = 0;
        return hbpo__fail("hbpo_synth_solution: out of %lu bytes is too small (%d always suffice)",
                          (unsigned long)cap, HBPO_SYNTH_MAX_SOLUTION);
    }
    return (int)n;
}

HBPODEF hbpo_model_config hbpo_synth_model_config(void) {
    hbpo_model_config c = hbpo_model_config_default();
    c.vocab_size = 272;
    c.hidden_size = 128;
    c.intermediate_size = 352;
    c.num_hidden_layers = 4;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.head_dim = 32;
    c.max_position_embeddings = 256;
    c.tie_word_embeddings = 1;
    return c;
}

HBPODEF int hbpo_synth_dataset(hbpo_dataset *d, uint64_t seed, int n_per_level, int lo, int hi) {
    hbpo_rng r;
    char q[2 * HBPO_SYNTH_MAX_LEVEL + 4], a[4];
    int i, level;
    if (hbpo__data_check(d, "hbpo_synth_dataset") != 0) return -1;
    if (lo < 1 || hi > HBPO_SYNTH_MAX_LEVEL || lo > hi)
        return hbpo__fail("hbpo_synth_dataset: levels %d..%d are not within 1..%d", lo, hi,
                          HBPO_SYNTH_MAX_LEVEL);
    if (n_per_level < 0 || n_per_level > HBPO__DATA_MAX_ITEMS / HBPO_SYNTH_MAX_LEVEL)
        return hbpo__fail("hbpo_synth_dataset: n_per_level %d is not in 0..%d", n_per_level,
                          HBPO__DATA_MAX_ITEMS / HBPO_SYNTH_MAX_LEVEL);
    hbpo_rng_seed(&r, seed);
    for (i = 0; i < n_per_level; i++)
        for (level = lo; level <= hi; level++) {
            if (hbpo_synth_problem(&r, level, q, sizeof q, a, sizeof a) != 0 ||
                hbpo__data_push(d, q, strlen(q), a, strlen(a), level) != 0)
                return -1;
        }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* 12. Trainer and evaluation                                                */
/* ------------------------------------------------------------------------- */

/* ---- the communicator ---- */

static int hbpo__single_allreduce_sum(hbpo_comm *c, float *buf, size_t n) {
    (void)c; (void)buf; (void)n;
    return 0;
}
static int hbpo__single_allreduce_f64(hbpo_comm *c, double *x, int n, int op) {
    (void)c; (void)x; (void)n; (void)op;
    return 0;
}
static int hbpo__single_broadcast(hbpo_comm *c, void *buf, size_t bytes, int root) {
    (void)c; (void)buf; (void)bytes;
    return root == 0 ? 0 : hbpo__fail("comm: broadcast from rank %d of 1", root);
}
static int hbpo__single_allgather(hbpo_comm *c, void *buf, const size_t *off) {
    (void)c; (void)buf; (void)off;
    return 0;
}
static int hbpo__single_barrier(hbpo_comm *c) {
    (void)c;
    return 0;
}
static void hbpo__single_abort(hbpo_comm *c, int code) { (void)c; (void)code; }
static void hbpo__single_finish(hbpo_comm *c) { (void)c; }

HBPODEF void hbpo_comm_init_single(hbpo_comm *c) {
    memset(c, 0, sizeof *c);
    c->name = "single";
    c->rank = 0;
    c->size = 1;
    c->allreduce_sum = hbpo__single_allreduce_sum;
    c->allreduce_f64 = hbpo__single_allreduce_f64;
    c->broadcast = hbpo__single_broadcast;
    c->allgather = hbpo__single_allgather;
    c->barrier = hbpo__single_barrier;
    c->abort = hbpo__single_abort;
    c->finish = hbpo__single_finish;
}

HBPODEF void hbpo_comm_free(hbpo_comm *c) {
    if (!c) return;
    if (c->finish) c->finish(c);
    hbpo_comm_init_single(c);
}

HBPODEF void hbpo_comm_share(int n, int rank, int size, int *lo, int *hi) {
    if (size < 1) size = 1;
    *lo = (int)((long long)n * rank / size);
    *hi = (int)((long long)n * (rank + 1) / size);
}

HBPODEF int hbpo_comm_agree(hbpo_comm *c, int status) {
    char msg[512];
    double first;
    int r;
    if (!c || c->size <= 1) return status != 0 ? -1 : 0; /* the message is already set */
    first = status != 0 ? (double)c->rank : (double)c->size;
    if (status != 0) snprintf(msg, sizeof msg, "%s", hbpo_last_error()[0] ? hbpo_last_error() : "failed");
    else msg[0] = 0;
    if (c->allreduce_f64(c, &first, 1, HBPO_COMM_MIN) != 0) return -1;
    if (first >= (double)c->size) return 0;
    r = (int)first;
    if (c->broadcast(c, msg, sizeof msg, r) != 0) return -1;
    msg[sizeof msg - 1] = 0;
    return hbpo__fail("rank %d: %s", r, msg);
}

#ifdef HBPO_USE_MPI
/* Open MPI does the transport; these wrappers only turn its error codes into
   hbpo messages and split counts beyond INT_MAX. */
typedef struct {
    MPI_Comm comm;
    int      started; /* 1: hbpo_comm_init_mpi called MPI_Init_thread */
} hbpo__mpi;

static int hbpo__mpi_check(int rc, const char *what) {
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (rc == MPI_SUCCESS) return 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS) snprintf(text, sizeof text, "error %d", rc);
    return hbpo__fail("comm (MPI): %s: %s", what, text);
}

#define HBPO__MPI_CHUNK ((size_t)1 << 30) /* elements per call: MPI counts are int */

static int hbpo__mpi_allreduce_sum(hbpo_comm *c, float *buf, size_t n) {
    hbpo__mpi *p = (hbpo__mpi *)c->impl;
    size_t done = 0;
    while (done < n) {
        int k = (int)(n - done < HBPO__MPI_CHUNK ? n - done : HBPO__MPI_CHUNK);
        if (hbpo__mpi_check(MPI_Allreduce(MPI_IN_PLACE, buf + done, k, MPI_FLOAT, MPI_SUM, p->comm),
                            "MPI_Allreduce(float)") != 0)
            return -1;
        done += (size_t)k;
    }
    return 0;
}

static int hbpo__mpi_allreduce_f64(hbpo_comm *c, double *x, int n, int op) {
    hbpo__mpi *p = (hbpo__mpi *)c->impl;
    MPI_Op o = op == HBPO_COMM_MAX ? MPI_MAX : op == HBPO_COMM_MIN ? MPI_MIN : MPI_SUM;
    return hbpo__mpi_check(MPI_Allreduce(MPI_IN_PLACE, x, n, MPI_DOUBLE, o, p->comm), "MPI_Allreduce(double)");
}

static int hbpo__mpi_broadcast(hbpo_comm *c, void *buf, size_t bytes, int root) {
    hbpo__mpi *p = (hbpo__mpi *)c->impl;
    size_t done = 0;
    while (done < bytes) {
        int k = (int)(bytes - done < HBPO__MPI_CHUNK ? bytes - done : HBPO__MPI_CHUNK);
        if (hbpo__mpi_check(MPI_Bcast((char *)buf + done, k, MPI_BYTE, root, p->comm), "MPI_Bcast") != 0)
            return -1;
        done += (size_t)k;
    }
    return 0;
}

static int hbpo__mpi_allgather(hbpo_comm *c, void *buf, const size_t *off) {
    hbpo__mpi *p = (hbpo__mpi *)c->impl;
    int *cnt = (int *)HBPO_MALLOC(sizeof(int) * 2 * (size_t)c->size), r, rc;
    if (!cnt) return hbpo__fail("comm (MPI): out of memory");
    for (r = 0; r < c->size; r++) {
        if (off[r + 1] < off[r] || off[r + 1] > (size_t)INT_MAX) {
            HBPO_FREE(cnt);
            return hbpo__fail("comm (MPI): allgather of more than 2 GiB");
        }
        cnt[r] = (int)(off[r + 1] - off[r]);
        cnt[c->size + r] = (int)off[r];
    }
    rc = hbpo__mpi_check(MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, cnt, cnt + c->size,
                                        MPI_BYTE, p->comm), "MPI_Allgatherv");
    HBPO_FREE(cnt);
    return rc;
}

static int hbpo__mpi_barrier(hbpo_comm *c) {
    return hbpo__mpi_check(MPI_Barrier(((hbpo__mpi *)c->impl)->comm), "MPI_Barrier");
}

static void hbpo__mpi_abort(hbpo_comm *c, int code) {
    MPI_Abort(((hbpo__mpi *)c->impl)->comm, code);
}

static void hbpo__mpi_finish(hbpo_comm *c) {
    hbpo__mpi *p = (hbpo__mpi *)c->impl;
    int done = 0;
    if (!p) return;
    if (p->started && MPI_Finalized(&done) == MPI_SUCCESS && !done) MPI_Finalize();
    HBPO_FREE(p);
    c->impl = NULL;
}

HBPODEF int hbpo_comm_init_mpi(hbpo_comm *c, int *argc, char ***argv) {
    hbpo__mpi *p;
    int inited = 0, provided = 0;
    if (!c) return hbpo__fail("hbpo_comm_init_mpi: comm is NULL");
    hbpo_comm_init_single(c);
    p = (hbpo__mpi *)HBPO_MALLOC(sizeof *p);
    if (!p) return hbpo__fail("hbpo_comm_init_mpi: out of memory");
    memset(p, 0, sizeof *p);
    MPI_Initialized(&inited);
    if (!inited) {
        /* OpenMP threads compute; only the main thread calls MPI */
        if (hbpo__mpi_check(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread") != 0) {
            HBPO_FREE(p);
            return -1;
        }
        p->started = 1;
    }
    p->comm = MPI_COMM_WORLD;
    MPI_Comm_set_errhandler(p->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(p->comm, &c->rank);
    MPI_Comm_size(p->comm, &c->size);
    c->name = "mpi";
    c->impl = p;
    c->allreduce_sum = hbpo__mpi_allreduce_sum;
    c->allreduce_f64 = hbpo__mpi_allreduce_f64;
    c->broadcast = hbpo__mpi_broadcast;
    c->allgather = hbpo__mpi_allgather;
    c->barrier = hbpo__mpi_barrier;
    c->abort = hbpo__mpi_abort;
    c->finish = hbpo__mpi_finish;
    return 0;
}
#else
HBPODEF int hbpo_comm_init_mpi(hbpo_comm *c, int *argc, char ***argv) {
    (void)argc; (void)argv;
    if (c) hbpo_comm_init_single(c);
    return hbpo__fail("hbpo_comm_init_mpi: this build has no MPI (define HBPO_USE_MPI and build with mpicc: make MPI=1)");
}
#endif

/* ---- the trainer ---- */

HBPODEF hbpo_train_config hbpo_train_config_default(void) {
    hbpo_train_config c;
    memset(&c, 0, sizeof c);
    c.algo = HBPO_ALGO_HBPO;
    c.budget = hbpo_budget_config_default();
    c.n_rollouts = 16;
    c.batch_queries = 64;
    c.ppo_epochs = 1;
    c.mini_batches = 1;
    c.micro_batch = 8;
    c.rollout_batch = 0;
    c.rollout_max_active = 0;
    c.policy = hbpo_policy_config_default();
    c.adamw = hbpo_adamw_config_default();
    c.temperature = 1.0f;
    c.top_p = 1.0f;
    c.chat_style = HBPO_CHAT_CHATML;
    c.l1_alpha = 1.0f / 4096.0f;
    c.seed = 0;
    c.max_nonfinite_steps = 3;
    c.keep_checkpoints = 3;
    c.tokenizer_path = NULL;
    return c;
}

HBPODEF int hbpo_train_config_check(const hbpo_train_config *c) {
    char err[256];
    if (!c) return hbpo__fail("train config: NULL");
    if (c->algo < HBPO_ALGO_HBPO || c->algo > HBPO_ALGO_L1)
        return hbpo__fail("train config: algo %d is not hbpo, grpo, cosine or l1", c->algo);
    {
        /* grpo and cosine use L_max, alpha and beta but no budgets: check the
           budget list only where rollouts get one */
        hbpo_budget_config b = c->budget;
        if (c->algo == HBPO_ALGO_GRPO || c->algo == HBPO_ALGO_COSINE) {
            memset(b.budget, 0, sizeof b.budget);
            b.k = 1;
            b.budget[0] = b.l_max;
        }
        if (hbpo_budget_config_check(&b) != 0) return hbpo__fail("train config: %s", hbpo__error_copy(err, sizeof err));
    }
    if (c->n_rollouts < 1 || c->n_rollouts > 4096)
        return hbpo__fail("train config: n_rollouts = %d is out of range [1, 4096]", c->n_rollouts);
    if ((c->algo == HBPO_ALGO_HBPO || c->algo == HBPO_ALGO_L1) && c->n_rollouts % c->budget.k != 0)
        return hbpo__fail("train config: n_rollouts = %d is not a multiple of the %d budgets",
                          c->n_rollouts, c->budget.k);
    if (c->batch_queries < 1 || c->batch_queries > 65536)
        return hbpo__fail("train config: batch_queries = %d is out of range [1, 65536]", c->batch_queries);
    if ((long)c->batch_queries * c->n_rollouts > (1L << 20))
        return hbpo__fail("train config: %d queries x %d rollouts is more than 2^20 rollouts per step",
                          c->batch_queries, c->n_rollouts);
    if (c->ppo_epochs < 1 || c->ppo_epochs > 100)
        return hbpo__fail("train config: ppo_epochs = %d is out of range [1, 100]", c->ppo_epochs);
    if (c->mini_batches < 1 || c->mini_batches > c->batch_queries * c->n_rollouts)
        return hbpo__fail("train config: mini_batches = %d must be in [1, rollouts per step = %d]",
                          c->mini_batches, c->batch_queries * c->n_rollouts);
    if (c->micro_batch < 1) return hbpo__fail("train config: micro_batch = %d must be >= 1", c->micro_batch);
    if (c->rollout_batch < 0) return hbpo__fail("train config: rollout_batch = %d must be >= 0", c->rollout_batch);
    if (c->rollout_max_active < 0)
        return hbpo__fail("train config: rollout_max_active = %d must be >= 0 (0: all)", c->rollout_max_active);
    if (!(c->temperature > 0.0f) || !isfinite(c->temperature))
        return hbpo__fail("train config: temperature = %g must be > 0", (double)c->temperature);
    if (!(c->top_p > 0.0f && c->top_p <= 1.0f))
        return hbpo__fail("train config: top_p = %g must be in (0, 1]", (double)c->top_p);
    if (c->chat_style != HBPO_CHAT_CHATML && c->chat_style != HBPO_CHAT_DEEPSEEK_R1)
        return hbpo__fail("train config: chat_style %d is unknown", c->chat_style);
    if (!(c->l1_alpha >= 0.0f) || !isfinite(c->l1_alpha))
        return hbpo__fail("train config: l1_alpha = %g must be >= 0", (double)c->l1_alpha);
    if (hbpo_policy_config_check(&c->policy) != 0) return hbpo__fail("train config: %s", hbpo__error_copy(err, sizeof err));
    if (!(c->adamw.lr >= 0.0f) || !isfinite(c->adamw.lr))
        return hbpo__fail("train config: lr = %g must be >= 0", (double)c->adamw.lr);
    if (c->max_nonfinite_steps < 1)
        return hbpo__fail("train config: max_nonfinite_steps = %d must be >= 1", c->max_nonfinite_steps);
    if (c->keep_checkpoints < 0)
        return hbpo__fail("train config: keep_checkpoints = %d must be >= 0 (0: all)", c->keep_checkpoints);
    return 0;
}

HBPODEF int hbpo_rollout_budget(const hbpo_train_config *c, int j) {
    int per;
    if (c->algo == HBPO_ALGO_GRPO || c->algo == HBPO_ALGO_COSINE) return 0;
    per = c->n_rollouts / c->budget.k;
    if (per < 1 || j < 0) return 0;
    return c->budget.budget[j / per < c->budget.k ? j / per : c->budget.k - 1];
}

HBPODEF int hbpo_rollout_suffix(const hbpo_train_config *c, int budget, char *out, size_t cap) {
    int n;
    if (!out || cap == 0) return hbpo__fail("hbpo_rollout_suffix: no output buffer");
    out[0] = 0;
    if (budget <= 0) return 0;
    n = hbpo_budget_prompt(c->budget.mode, budget, out, cap);
    if (n < 0 || (size_t)n + 2 > cap) return hbpo__fail("hbpo_rollout_suffix: buffer too small");
    out[n] = '\n';
    out[n + 1] = 0;
    return n + 1;
}

/* The reward of each algorithm, each from its one function of section 2. */
HBPODEF float hbpo_rollout_reward(const hbpo_train_config *c, int outcome, int n_gen, int budget) {
    switch (c->algo) {
    case HBPO_ALGO_HBPO: return hbpo_reward(&c->budget, outcome, n_gen, budget);
    case HBPO_ALGO_GRPO: return outcome == HBPO_CORRECT ? 1.0f : 0.0f;
    case HBPO_ALGO_COSINE: return hbpo_reward(&c->budget, outcome, n_gen, 0);
    case HBPO_ALGO_L1: /* LCPO-Exact: 1[correct] - alpha * |n_gen - n_target| */
        return (outcome == HBPO_CORRECT ? 1.0f : 0.0f) - c->l1_alpha * (float)abs(n_gen - budget);
    default: return 0.0f;
    }
}

static void hbpo__rollouts_free(hbpo_rollouts *r) {
    HBPO_FREE(r->query); HBPO_FREE(r->budget); HBPO_FREE(r->prompt_len); HBPO_FREE(r->n_gen);
    HBPO_FREE(r->outcome); HBPO_FREE(r->reward); HBPO_FREE(r->adv); HBPO_FREE(r->tokens);
    memset(r, 0, sizeof *r);
}

static int hbpo__rollouts_reserve(hbpo_rollouts *r, int count, int max_len) {
    size_t cells = hbpo__mul_size((size_t)count, (size_t)max_len);
    if (count <= r->cap && max_len <= r->max_len) { r->count = count; return 0; }
    hbpo__rollouts_free(r);
    r->query = (int *)HBPO_MALLOC(sizeof(int) * (size_t)count);
    r->budget = (int *)HBPO_MALLOC(sizeof(int) * (size_t)count);
    r->prompt_len = (int *)HBPO_MALLOC(sizeof(int) * (size_t)count);
    r->n_gen = (int *)HBPO_MALLOC(sizeof(int) * (size_t)count);
    r->outcome = (int *)HBPO_MALLOC(sizeof(int) * (size_t)count);
    r->reward = (float *)HBPO_MALLOC(sizeof(float) * (size_t)count);
    r->adv = (float *)HBPO_MALLOC(sizeof(float) * (size_t)count);
    r->tokens = cells ? (int *)HBPO_MALLOC(sizeof(int) * cells) : NULL;
    if (!r->query || !r->budget || !r->prompt_len || !r->n_gen || !r->outcome || !r->reward ||
        !r->adv || !r->tokens) {
        hbpo__rollouts_free(r);
        return hbpo__fail("trainer: out of memory for %d rollouts of %d tokens", count, max_len);
    }
    r->count = r->cap = count;
    r->max_len = max_len;
    return 0;
}

HBPODEF int hbpo_chat_stop_tokens(const hbpo_tokenizer *tok, int *eos) {
    /* DeepSeek's end of sentence in one literal (-Wstring-concatenation) */
    static const char *names[] = {"<|im_end|>", "<|endoftext|>",
                                  "<\xEF\xBD\x9C\x65nd\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"};
    int i, n = 0;
    for (i = 0; i < 3; i++) {
        int id = hbpo_tokenizer_token_id(tok, names[i]);
        if (id >= 0) eos[n++] = id;
    }
    return n;
}

static void hbpo__shuffle(hbpo_rng *r, int *a, int n) {
    int i;
    for (i = n - 1; i > 0; i--) {
        int j = (int)(hbpo_rng_u32(r) % (uint32_t)(i + 1)), x = a[i];
        a[i] = a[j];
        a[j] = x;
    }
}

HBPODEF int hbpo_trainer_init(hbpo_trainer *t, const hbpo_train_config *c, hbpo_model *m,
                              const hbpo_tokenizer *tok, const hbpo_dataset *d) {
    int i;
    if (!t) return hbpo__fail("hbpo_trainer_init: trainer is NULL");
    memset(t, 0, sizeof *t);
    if (hbpo_train_config_check(c) != 0) return -1;
    if (!m || !m->params || !tok || !d || d->n < 1 || !d->items)
        return hbpo__fail("hbpo_trainer_init: model, tokenizer and a non-empty dataset are required");
    if (hbpo_tokenizer_vocab_size(tok) > m->config.vocab_size)
        return hbpo__fail("hbpo_trainer_init: the tokenizer has %d ids but the model only %d",
                          hbpo_tokenizer_vocab_size(tok), m->config.vocab_size);
    t->cfg = *c;
    t->model = m;
    t->tok = tok;
    t->data = d;
    t->n_eos = hbpo_chat_stop_tokens(tok, t->eos);
    if (t->n_eos == 0)
        return hbpo__fail("hbpo_trainer_init: the tokenizer has no end-of-turn token (<|im_end|>, <|endoftext|>)");
    t->think_end = hbpo_tokenizer_token_id(tok, "</think>");
    t->order = (int *)HBPO_MALLOC(sizeof(int) * (size_t)d->n);
    if (!t->order) return hbpo__fail("hbpo_trainer_init: out of memory");
    for (i = 0; i < d->n; i++) t->order[i] = i;
    hbpo_rng_seed(&t->rng, c->seed);
    hbpo__shuffle(&t->rng, t->order, d->n);
    t->epoch = 1;
    return 0;
}

HBPODEF void hbpo_trainer_set_comm(hbpo_trainer *t, hbpo_comm *comm) {
    if (t) t->comm = comm;
}

/* The trainer's communicator, or the one-process one in *local. */
static hbpo_comm *hbpo__comm_or_single(hbpo_comm *c, hbpo_comm *local) {
    if (c) return c;
    hbpo_comm_init_single(local);
    return local;
}

/* Shares the blocks of an array split by hbpo_comm_share over n items of
   item_bytes each: afterwards every rank holds every rank's block. */
static int hbpo__gather_shares(hbpo_comm *c, void *buf, int n, size_t item_bytes) {
    size_t *off;
    int r, lo, hi, rc;
    if (c->size <= 1) return 0;
    off = (size_t *)HBPO_MALLOC(sizeof(size_t) * ((size_t)c->size + 1));
    if (!off) return hbpo__fail("comm: out of memory");
    for (r = 0; r < c->size; r++) {
        hbpo_comm_share(n, r, c->size, &lo, &hi);
        off[r] = (size_t)lo * item_bytes;
    }
    off[c->size] = (size_t)n * item_bytes;
    rc = c->allgather(c, buf, off);
    HBPO_FREE(off);
    return rc;
}

HBPODEF void hbpo_trainer_free(hbpo_trainer *t) {
    if (!t) return;
    HBPO_FREE(t->order);
    hbpo__rollouts_free(&t->last);
    memset(t, 0, sizeof *t);
}

HBPODEF int hbpo_stop_reason(const int *resp, int n_gen, const int *eos, int n_eos,
                             int max_new_tokens) {
    int e;
    for (e = 0; resp && n_gen > 0 && e < n_eos; e++)
        if (resp[n_gen - 1] == eos[e]) return HBPO_STOP_EOS;
    return n_gen >= max_new_tokens ? HBPO_STOP_LENGTH : HBPO_STOP_CONTEXT;
}

HBPODEF int hbpo_chat_encode(const hbpo_tokenizer *tok, int style, const char *question,
                             const char *suffix, int **ids) {
    int len, n;
    char *text;
    if (!ids) return hbpo__fail("hbpo_chat_encode: ids is NULL");
    *ids = NULL;
    if (!tok || !question) return hbpo__fail("hbpo_chat_encode: tokenizer or question is NULL");
    len = style == HBPO_CHAT_NONE ? (int)strlen(question) : hbpo_chat_prompt(style, question, suffix, NULL, 0);
    if (len < 0) return -1;
    text = (char *)HBPO_MALLOC((size_t)len + 1);
    if (!text) return hbpo__fail("prompt: out of memory");
    if (style == HBPO_CHAT_NONE) memcpy(text, question, (size_t)len + 1);
    else hbpo_chat_prompt(style, question, suffix, text, (size_t)len + 1);
    n = hbpo_tokenizer_encode(tok, text, (size_t)len, NULL, 0);
    if (n > 0) {
        *ids = (int *)HBPO_MALLOC(sizeof(int) * (size_t)n);
        if (!*ids) n = hbpo__fail("prompt: out of memory");
        else hbpo_tokenizer_encode(tok, text, (size_t)len, *ids, n);
    } else if (n == 0) {
        n = hbpo__fail("prompt: encodes to no tokens");
    }
    HBPO_FREE(text);
    return n;
}

/* The sampler seed that gives hbpo_generate's sequence b the stream first + b
   of seed: hbpo_generate seeds sequence b with SplitMix64 output b, whose
   state is seed + (b + 1) * gamma, so adding first * gamma skips ahead. */
static uint64_t hbpo__skip_seed(uint64_t seed, uint64_t first) {
    return seed + first * 0x9E3779B97F4A7C15ull;
}

/* The seed of step `step`'s rollouts (a function of the run's seed and the
   step alone, apart from the data-order stream of the same seed). */
static uint64_t hbpo__rollout_seed(uint64_t seed, long step) {
    hbpo_rng r;
    r.s = hbpo__skip_seed(seed ^ 0x726F6C6C6F757473ull /* "rollouts" */, (uint64_t)step);
    return hbpo__rng_next(&r);
}

/* Generates responses for R prompts (rollout r's prompt at tokens + r*stride,
   plen[r] tokens) in chunks of `chunk`, writing each response after its
   prompt and its length to n_gen. Prompt r samples from stream first + r of
   seed, however the prompts are chunked. */
static int hbpo__generate_into(hbpo_model *m, const hbpo_sampler_config *s, uint64_t seed,
                               int first, int R, int chunk, int *tokens, int stride,
                               const int *plen, int *n_gen) {
    int r0, rc = 0, maxn = s->max_new_tokens;
    int *prompt = NULL, *off = NULL, *out = NULL;
    size_t total = 0;
    int r;
    if (R <= 0) return 0;
    if (chunk <= 0 || chunk > R) chunk = R;
    for (r = 0; r < R; r++) total += (size_t)plen[r];
    prompt = (int *)HBPO_MALLOC(sizeof(int) * (total ? total : 1));
    off = (int *)HBPO_MALLOC(sizeof(int) * ((size_t)chunk + 1));
    out = (int *)HBPO_MALLOC(sizeof(int) * (size_t)chunk * (size_t)maxn);
    if (!prompt || !off || !out) { rc = hbpo__fail("generation: out of memory"); goto done; }
    for (r0 = 0; r0 < R && rc == 0; r0 += chunk) {
        int nb = R - r0 < chunk ? R - r0 : chunk, b;
        hbpo_sampler_config sc = *s;
        sc.seed = hbpo__skip_seed(seed, (uint64_t)first + (uint64_t)r0);
        off[0] = 0;
        for (b = 0; b < nb; b++) {
            memcpy(prompt + off[b], tokens + (size_t)(r0 + b) * stride, sizeof(int) * (size_t)plen[r0 + b]);
            off[b + 1] = off[b] + plen[r0 + b];
        }
        rc = hbpo_generate(m, &sc, nb, prompt, off, out, NULL, n_gen + r0);
        for (b = 0; rc == 0 && b < nb; b++)
            memcpy(tokens + (size_t)(r0 + b) * stride + plen[r0 + b], out + (size_t)b * maxn,
                   sizeof(int) * (size_t)n_gen[r0 + b]);
    }
done:
    HBPO_FREE(prompt); HBPO_FREE(off); HBPO_FREE(out);
    return rc;
}

/* A response as text (special tokens dropped): a fresh string. Ids the
   tokenizer does not have (a model's vocabulary is often padded past the
   tokenizer's, and a sampler may pick the padding) are dropped, as
   transformers' decode drops them. */
static char *hbpo__response_text(const hbpo_tokenizer *tok, const int *ids, int n) {
    int V = hbpo_tokenizer_vocab_size(tok), i, kept = 0, len;
    int *ok = (int *)HBPO_MALLOC(sizeof(int) * (size_t)(n > 0 ? n : 1));
    char *text = NULL;
    if (!ok) return NULL;
    for (i = 0; i < n; i++)
        if (ids[i] >= 0 && ids[i] < V && hbpo_tokenizer_token(tok, ids[i])) ok[kept++] = ids[i];
    len = hbpo_tokenizer_decode(tok, ok, kept, 1, NULL, 0);
    if (len >= 0) text = (char *)HBPO_MALLOC((size_t)len + 1);
    if (text) hbpo_tokenizer_decode(tok, ok, kept, 1, text, (size_t)len + 1);
    HBPO_FREE(ok);
    return text;
}

/* Packs sequences idx[0..nb) of rollouts into a padded training batch:
   inputs = seq[0..L-1), targets = seq[1..L), mask on positions whose target
   is a response token. Returns T (the longest L-1). */
static int hbpo__pack(const hbpo_rollouts *ro, const int *idx, int nb, int *in, int *tg,
                      float *mask, int T) {
    int b, t;
    for (b = 0; b < nb; b++) {
        int r = idx[b], P = ro->prompt_len[r], L = P + ro->n_gen[r];
        const int *seq = ro->tokens + (size_t)r * ro->max_len;
        for (t = 0; t < T; t++) {
            int live = t < L - 1;
            in[b * T + t] = live ? seq[t] : 0;
            tg[b * T + t] = live ? seq[t + 1] : 0;
            mask[b * T + t] = live && t >= P - 1 ? 1.0f : 0.0f;
        }
    }
    return T;
}

static int hbpo__batch_T(const hbpo_rollouts *ro, const int *idx, int nb) {
    int b, T = 1;
    for (b = 0; b < nb; b++) {
        int L = ro->prompt_len[idx[b]] + ro->n_gen[idx[b]] - 1;
        if (L > T) T = L;
    }
    return T;
}

/* The queries of the next step, in the seeded order, epoch by epoch. */
static void hbpo__next_queries(hbpo_trainer *t, int nq, int *items) {
    int q;
    for (q = 0; q < nq; q++) {
        if (t->data_pos >= t->data->n) { /* a new epoch, a new order */
            hbpo__shuffle(&t->rng, t->order, t->data->n);
            t->data_pos = 0;
            t->epoch++;
        }
        items[q] = t->order[t->data_pos++];
    }
}

/* Steps 1-3 of Algorithm 1: prompts, rollouts, rewards, advantages. */
static int hbpo__rollout_phase(hbpo_trainer *t, hbpo_comm *comm, hbpo_step_metrics *mt) {
    const hbpo_train_config *c = &t->cfg;
    hbpo_rollouts *ro = &t->last;
    int nq = c->batch_queries, n = c->n_rollouts, R = nq * n, q, j, r, g, rc = -1, q_lo, q_hi;
    int st = -1; /* this rank's status, agreed with the other ranks' before each exchange */
    int k = (c->algo == HBPO_ALGO_HBPO || c->algo == HBPO_ALGO_L1) ? c->budget.k : 1;
    int *items = NULL, **pids = NULL, *plens = NULL, max_prompt = 0;
    int sub_count[HBPO_MAX_BUDGETS] = {0};
    hbpo_sampler_config sc;
    double t0 = hbpo_wall_time();
    items = (int *)HBPO_MALLOC(sizeof(int) * (size_t)nq);
    pids = (int **)HBPO_MALLOC(sizeof(int *) * (size_t)nq * (size_t)k);
    plens = (int *)HBPO_MALLOC(sizeof(int) * (size_t)nq * (size_t)k);
    if (!items || !pids || !plens) {
        HBPO_FREE(items); HBPO_FREE(pids); HBPO_FREE(plens);
        items = NULL; pids = NULL; plens = NULL;
        hbpo__fail("trainer: out of memory");
        goto exchange;
    }
    memset(pids, 0, sizeof(int *) * (size_t)nq * (size_t)k);
    hbpo__next_queries(t, nq, items);
    /* One prompt per (query, subgroup): the budget prompt follows the tag. */
    for (q = 0; q < nq; q++)
        for (g = 0; g < k; g++) {
            char suffix[128];
            int b = hbpo_rollout_budget(c, g * (n / k));
            if (hbpo_rollout_suffix(c, b, suffix, sizeof suffix) < 0) goto exchange;
            plens[q * k + g] = hbpo_chat_encode(t->tok, c->chat_style,
                                                t->data->items[items[q]].question, suffix,
                                                   &pids[q * k + g]);
            if (plens[q * k + g] < 0) goto exchange;
            if (plens[q * k + g] > max_prompt) max_prompt = plens[q * k + g];
        }
    if (max_prompt + c->budget.l_max > t->model->config.max_position_embeddings) {
        hbpo__fail("trainer: a prompt of %d tokens + L_max %d exceeds max_position_embeddings %d",
                   max_prompt, c->budget.l_max, t->model->config.max_position_embeddings);
        goto exchange;
    }
    if (hbpo__rollouts_reserve(ro, R, max_prompt + c->budget.l_max) != 0) goto exchange;
    for (r = 0; r < R; r++) {
        q = r / n;
        j = r % n;
        g = j / (n / k);
        ro->query[r] = items[q];
        ro->budget[r] = hbpo_rollout_budget(c, j);
        ro->prompt_len[r] = plens[q * k + g];
        /* -1 everywhere, then the prompt; generation writes the response after it */
        for (j = 0; j < ro->max_len; j++) ro->tokens[(size_t)r * ro->max_len + j] = -1;
        memcpy(ro->tokens + (size_t)r * ro->max_len, pids[q * k + g], sizeof(int) * (size_t)plens[q * k + g]);
    }
    /* This rank's queries' rollouts generated together (rollout_batch at a
       time), then shared, so that every rank holds the whole step. */
    sc = hbpo_sampler_config_default();
    sc.temperature = c->temperature;
    sc.top_p = c->top_p;
    sc.top_k = 0;
    sc.max_new_tokens = c->budget.l_max;
    sc.max_active = c->rollout_max_active;
    sc.n_eos = t->n_eos;
    memcpy(sc.eos, t->eos, sizeof(int) * (size_t)t->n_eos);
    hbpo_comm_share(nq, comm->rank, comm->size, &q_lo, &q_hi);
    st = hbpo__generate_into(t->model, &sc, hbpo__rollout_seed(c->seed, t->step + 1), q_lo * n,
                             (q_hi - q_lo) * n, c->rollout_batch,
                             ro->tokens + (size_t)q_lo * n * ro->max_len, ro->max_len,
                             ro->prompt_len + q_lo * n, ro->n_gen + q_lo * n);
exchange:
    if (hbpo_comm_agree(comm, st) != 0 ||
        hbpo__gather_shares(comm, ro->n_gen, nq, sizeof(int) * (size_t)n) != 0 ||
        hbpo__gather_shares(comm, ro->tokens, nq, sizeof(int) * (size_t)n * (size_t)ro->max_len) != 0)
        goto done;
    mt->t_rollout = hbpo_wall_time() - t0;
    /* Judge each response, reward it by its n_gen and budget (Eq. reward_intra);
       every rank judges all of them (cheap beside generation), so every rank
       holds the same rollouts, rewards, advantages and metrics. */
    t0 = hbpo_wall_time();
    st = -1;
    for (r = 0; r < R; r++) {
        const int *resp = ro->tokens + (size_t)r * ro->max_len + ro->prompt_len[r];
        char *text = hbpo__response_text(t->tok, resp, ro->n_gen[r]);
        int stopped = hbpo_stop_reason(resp, ro->n_gen[r], t->eos, t->n_eos, c->budget.l_max) == HBPO_STOP_EOS;
        if (!text) goto judged;
        ro->outcome[r] = hbpo_judge(text, t->data->items[ro->query[r]].answer);
        HBPO_FREE(text);
        ro->reward[r] = hbpo_rollout_reward(c, ro->outcome[r], ro->n_gen[r], ro->budget[r]);
        mt->reward_mean += ro->reward[r];
        mt->accuracy += ro->outcome[r] == HBPO_CORRECT;
        mt->no_answer += ro->outcome[r] == HBPO_NO_ANSWER;
        mt->truncated += !stopped;
        mt->ngen_mean += ro->n_gen[r];
        g = (r % n) / (n / k);
        mt->ngen_sub[g] += ro->n_gen[r];
        mt->acc_sub[g] += ro->outcome[r] == HBPO_CORRECT;
        sub_count[g]++;
    }
    /* Advantages per query (Algorithm 1): hierarchical for hbpo, GRPO's else. */
    for (q = 0; q < nq; q++) {
        if (c->algo == HBPO_ALGO_HBPO)
            hbpo_advantages(&c->budget, n, ro->reward + q * n, ro->budget + q * n, ro->adv + q * n);
        else
            hbpo_grpo_advantages(n, ro->reward + q * n, ro->adv + q * n);
    }
    for (r = 0; r < R; r++) { mt->adv_mean += ro->adv[r]; mt->adv_abs += fabs(ro->adv[r]); }
    mt->reward_mean /= R; mt->accuracy /= R; mt->no_answer /= R; mt->truncated /= R;
    mt->ngen_mean /= R; mt->adv_mean /= R; mt->adv_abs /= R;
    for (g = 0; g < k; g++)
        if (sub_count[g]) { mt->ngen_sub[g] /= sub_count[g]; mt->acc_sub[g] /= sub_count[g]; }
    mt->t_score = hbpo_wall_time() - t0;
    st = 0;
judged:
    rc = hbpo_comm_agree(comm, st);
done:
    if (pids) for (q = 0; q < nq * k; q++) HBPO_FREE(pids[q]);
    HBPO_FREE(pids); HBPO_FREE(plens); HBPO_FREE(items);
    return rc;
}

/* Cost of one more forward/backward pass, in padded tokens (the per-call
   work that does not scale with the tokens: LM-head setup, optimizer-free
   per-layer calls, thread teams). */
#define HBPO__GROUP_COST 96

/* Sorts the n examples by length (order, stable) and cuts the sorted list
   into runs of at most max_batch: cut[0] = 0 < cut[1] < ... < cut[g] = n,
   chosen by dynamic programming to minimise sum(run size * longest length)
   + HBPO__GROUP_COST per run. Returns g. cut has room for n + 1. */
static int hbpo__length_groups(const int *len, int n, int max_batch, int *order, int *cut) {
    long *best = (long *)HBPO_MALLOC(sizeof(long) * (size_t)(n + 1));
    int *from = (int *)HBPO_MALLOC(sizeof(int) * (size_t)(n + 1));
    int i, j, g = 0;
    for (i = 0; i < n; i++) { /* insertion sort: n is a batch, and it is stable */
        int v = order[i] = i;
        for (j = i; j > 0 && len[order[j - 1]] > len[v]; j--) order[j] = order[j - 1];
        order[j] = v;
    }
    if (!best || !from) { /* no memory for the plan: plain runs of max_batch */
        HBPO_FREE(best);
        HBPO_FREE(from);
        for (i = 0; i < n; i += max_batch) cut[g++] = i;
        cut[g] = n;
        return g;
    }
    best[0] = 0;
    for (i = 1; i <= n; i++) { /* best[i]: the first i sorted examples */
        best[i] = -1;
        for (j = i - 1; j >= 0 && i - j <= max_batch; j--) {
            long c = best[j] + (long)(i - j) * len[order[i - 1]] + HBPO__GROUP_COST;
            if (best[i] < 0 || c < best[i]) { best[i] = c; from[i] = j; }
        }
    }
    for (i = n; i > 0; i = from[i]) g++;
    cut[g] = n;
    for (i = n, j = g; i > 0; i = from[i]) cut[--j] = from[i];
    HBPO_FREE(best);
    HBPO_FREE(from);
    return g;
}

/* Step 4: the clipped objective over the rollouts, ppo_epochs passes of
   mini_batches optimizer steps, each accumulated over micro-batches.
   Old log-probs: with one epoch and one mini-batch the policy has not moved
   when each micro-batch is scored, so the forward's own log-probs are the
   old ones (ratio 1, exactly what a separate pass would give); otherwise a
   forward pass over all rollouts records them first.
   Over N ranks: the mini-batches are the same on every rank (one shuffle of
   all the rollouts); each rank back-propagates the rollouts of its own
   queries in them, weighted by the tokens of the whole mini-batch, and the
   gradients are summed across ranks before the optimizer step. A rank that
   fails stops computing but keeps to the same sequence of agreements, so
   every rank leaves at the next one. */
static int hbpo__update_phase(hbpo_trainer *t, hbpo_comm *comm, hbpo_step_metrics *mt) {
    const hbpo_train_config *c = &t->cfg;
    const hbpo_rollouts *ro = &t->last;
    hbpo_model *m = t->model;
    int R = ro->count, mbs = c->micro_batch, Tmax = ro->max_len, rc = -1, st = 0, e, mi, r;
    int reuse_old = c->ppo_epochs == 1 && c->mini_batches == 1, q_lo, q_hi, own_lo, own_hi, loss_bad = 0;
    int *perm = NULL, *sel = NULL, *in = NULL, *tg = NULL, *mb = NULL, *lens = NULL, *ord = NULL, *cut = NULL;
    int n_groups, gi;
    float *mask = NULL, *logp = NULL, *oldlp = NULL, *ent = NULL, *dlogp = NULL, *adv = NULL;
    float *old_all = NULL;
    double sums[5] = {0, 0, 0, 0, 0}; /* entropy, pg_loss, clipfrac, approx_kl (token sums), tokens */
    double t0 = hbpo_wall_time();
    size_t cells = hbpo__mul_size((size_t)(mbs < R ? mbs : R), (size_t)Tmax);
    hbpo_comm_share(c->batch_queries, comm->rank, comm->size, &q_lo, &q_hi);
    own_lo = q_lo * c->n_rollouts;
    own_hi = q_hi * c->n_rollouts;
    perm = (int *)HBPO_MALLOC(sizeof(int) * (size_t)R);
    sel = (int *)HBPO_MALLOC(sizeof(int) * (size_t)R);
    in = (int *)HBPO_MALLOC(sizeof(int) * cells);
    tg = (int *)HBPO_MALLOC(sizeof(int) * cells);
    mask = (float *)HBPO_MALLOC(sizeof(float) * cells);
    logp = (float *)HBPO_MALLOC(sizeof(float) * cells);
    oldlp = (float *)HBPO_MALLOC(sizeof(float) * cells);
    ent = (float *)HBPO_MALLOC(sizeof(float) * cells);
    dlogp = (float *)HBPO_MALLOC(sizeof(float) * cells);
    adv = (float *)HBPO_MALLOC(sizeof(float) * (size_t)mbs);
    mb = (int *)HBPO_MALLOC(sizeof(int) * (4 * (size_t)R + 1)); /* mb, lens, ord: R each; cut: R + 1 */
    if (!reuse_old) old_all = (float *)HBPO_MALLOC(sizeof(float) * hbpo__mul_size((size_t)R, (size_t)Tmax));
    if (!perm || !sel || !in || !tg || !mask || !logp || !oldlp || !ent || !dlogp || !adv || !mb ||
        (!reuse_old && !old_all))
        st = hbpo__fail("trainer: out of memory for the update");
    if (st == 0) st = hbpo_model_zero_grad(m);
    if (hbpo_comm_agree(comm, st) != 0) goto done;
    lens = mb + R;
    ord = lens + R;
    cut = ord + R;
    for (r = 0; r < R; r++) perm[r] = r;
    if (!reuse_old) { /* old log-probs of this rank's rollouts, before any update */
        for (r = own_lo; r < own_hi && st == 0; r += mbs) {
            int nb = own_hi - r < mbs ? own_hi - r : mbs, T = hbpo__batch_T(ro, perm + r, nb), b;
            hbpo__pack(ro, perm + r, nb, in, tg, mask, T);
            if (hbpo_model_forward(m, in, tg, mask, nb, T, c->temperature, logp, NULL) != 0) { st = -1; break; }
            for (b = 0; b < nb; b++)
                memcpy(old_all + (size_t)(r + b) * Tmax, logp + (size_t)b * T, sizeof(float) * (size_t)T);
        }
    }
    for (e = 0; e < c->ppo_epochs; e++) {
        if (c->mini_batches > 1) hbpo__shuffle(&t->rng, perm, R);
        for (mi = 0; mi < c->mini_batches; mi++) {
            int lo = (int)((long)R * mi / c->mini_batches), hi = (int)((long)R * (mi + 1) / c->mini_batches);
            int ns = 0;
            double mini_tok = 0, mini_loss = 0, bad = 0;
            float gn = 0;
            if (mt->nonfinite) break;
            for (r = lo; r < hi; r++) mini_tok += ro->n_gen[perm[r]];
            if (hi <= lo || mini_tok <= 0) continue; /* the same on every rank */
            /* This rank's rollouts of the mini-batch (sel), in micro-batches
               of similar length (as in hbpo_sft_step): sorted by length into
               mb and cut by hbpo__length_groups; perm itself, and so the
               shuffles, are untouched. The same sums in another order. */
            for (r = lo; r < hi; r++)
                if (perm[r] >= own_lo && perm[r] < own_hi) sel[ns++] = perm[r];
            for (r = 0; r < ns; r++) lens[r] = ro->prompt_len[sel[r]] + ro->n_gen[sel[r]];
            n_groups = ns > 0 ? hbpo__length_groups(lens, ns, mbs, ord, cut) : 0;
            for (r = 0; r < ns; r++) mb[r] = sel[ord[r]];
            for (gi = 0; gi < n_groups && st == 0; gi++) {
                int nb = cut[gi + 1] - cut[gi], T = hbpo__batch_T(ro, mb + cut[gi], nb), b, i;
                const int *idx = mb + cut[gi];
                double micro_tok = 0, scale;
                hbpo_policy_stats ps;
                hbpo__pack(ro, idx, nb, in, tg, mask, T);
                if (hbpo_model_forward(m, in, tg, mask, nb, T, c->temperature, logp, ent) != 0) { st = -1; break; }
                for (b = 0; b < nb; b++) {
                    adv[b] = ro->adv[idx[b]];
                    micro_tok += ro->n_gen[idx[b]];
                    if (reuse_old) memcpy(oldlp + (size_t)b * T, logp + (size_t)b * T, sizeof(float) * (size_t)T);
                    else memcpy(oldlp + (size_t)b * T, old_all + (size_t)idx[b] * Tmax, sizeof(float) * (size_t)T);
                }
                for (i = 0; i < nb * T; i++)
                    if (mask[i] != 0.0f && !isfinite(logp[i])) break;
                if (i < nb * T) { /* a non-finite log-prob: the loss is not finite */
                    mini_loss = NAN;
                    break;
                }
                if (hbpo_policy_loss(&c->policy, nb, T, logp, oldlp, NULL, adv, mask, dlogp, &ps) != 0) { st = -1; break; }
                /* Each micro-batch's loss is a mean over its own tokens (or
                   sequences); weighting by its share of the whole mini-batch
                   (all ranks') makes the sum over micro-batches and ranks the
                   mini-batch's mean, as one big batch would give. */
                scale = c->policy.agg == HBPO_AGG_TOKEN_MEAN ? micro_tok / mini_tok : (double)nb / (hi - lo);
                for (i = 0; i < nb * T; i++) dlogp[i] *= (float)scale;
                if (hbpo_model_backward(m, dlogp) != 0) { st = -1; break; }
                for (i = 0; i < nb * T; i++) if (mask[i] != 0.0f) sums[0] += ent[i];
                sums[1] += ps.pg_loss * micro_tok;
                sums[2] += ps.clipfrac * micro_tok;
                sums[3] += ps.approx_kl * micro_tok;
                sums[4] += micro_tok;
                mini_loss += ps.pg_loss * micro_tok;
            }
            if (st == 0 && t->hook) t->hook(t->hook_user, "update", t);
            /* A non-finite loss or gradient norm makes no update: one NaN
               would poison the weights and every checkpoint after them. The
               loss is local to a rank, so the ranks agree on it first; the
               gradient norm is of the summed gradient, the same everywhere. */
            bad = !isfinite(mini_loss);
            if (hbpo_comm_agree(comm, st) != 0 || comm->allreduce_f64(comm, &bad, 1, HBPO_COMM_MAX) != 0)
                goto done;
            if (bad > 0) {
                if (hbpo_model_zero_grad(m) != 0) goto done;
                mt->nonfinite = 1;
                loss_bad = 1;
                mt->grad_norm = NAN;
                break;
            }
            /* the gradient of the whole mini-batch on every rank, then one
               identical step (its clip uses the norm of the summed gradient) */
            if (comm->allreduce_sum(comm, m->grads, m->n_params) != 0) goto done;
            if (hbpo_model_step(m, &c->adamw, &gn) != 0) {
                if (isfinite(gn)) goto done;
                mt->nonfinite = 1; /* hbpo_model_step zeroed the grads and made no update */
                mt->grad_norm = gn;
                hbpo_clear_error();
                break;
            }
            mt->grad_norm = gn;
        }
        if (mt->nonfinite) break;
    }
    if (hbpo_comm_agree(comm, st) != 0 || comm->allreduce_f64(comm, sums, 5, HBPO_COMM_SUM) != 0) goto done;
    if (sums[4] > 0) {
        mt->entropy = sums[0] / sums[4]; mt->pg_loss = sums[1] / sums[4];
        mt->clipfrac = sums[2] / sums[4]; mt->approx_kl = sums[3] / sums[4];
    }
    if (loss_bad) mt->pg_loss = NAN;
    mt->t_update = hbpo_wall_time() - t0;
    rc = 0;
done:
    HBPO_FREE(perm); HBPO_FREE(sel); HBPO_FREE(in); HBPO_FREE(tg); HBPO_FREE(mask); HBPO_FREE(logp);
    HBPO_FREE(oldlp); HBPO_FREE(ent); HBPO_FREE(dlogp); HBPO_FREE(adv); HBPO_FREE(old_all);
    HBPO_FREE(mb);
    return rc;
}

/* Every rank must hold the same parameters after a step (identical sums and
   steps); a cheap fingerprint compared across ranks turns a silent drift
   into an error. */
static int hbpo__check_in_step(hbpo_model *m, hbpo_comm *comm) {
    double h[2];
    if (comm->size <= 1) return 0;
    h[0] = m->be->sum_squares(m->params, m->n_params);
    h[1] = -h[0];
    if (comm->allreduce_f64(comm, h, 2, HBPO_COMM_MAX) != 0) return -1;
    if (h[0] != -h[1])
        return hbpo__fail("trainer: the ranks' parameters differ after the step (sum of squares %.17g vs %.17g)",
                          -h[1], h[0]);
    return 0;
}

HBPODEF int hbpo_trainer_step(hbpo_trainer *t, hbpo_step_metrics *metrics) {
    hbpo_step_metrics mt;
    hbpo_comm single, *comm;
    if (!t || !t->model || !t->order) return hbpo__fail("hbpo_trainer_step: trainer is not initialised");
    memset(&mt, 0, sizeof mt);
    mt.step = t->step + 1;
    mt.n_rollouts = t->cfg.batch_queries * t->cfg.n_rollouts;
    mt.lr = t->cfg.adamw.lr;
    comm = hbpo__comm_or_single(t->comm, &single);
    if (hbpo__rollout_phase(t, comm, &mt) != 0) return -1;
    if (t->hook) t->hook(t->hook_user, "rollouts", t);
    if (hbpo__update_phase(t, comm, &mt) != 0 || hbpo__check_in_step(t->model, comm) != 0) return -1;
    t->step++;
    if (mt.nonfinite) {
        t->skipped_steps++;
        t->nonfinite_run++;
    } else {
        t->nonfinite_run = 0;
    }
    mt.skipped_steps = t->skipped_steps;
    if (metrics) *metrics = mt;
    if (t->nonfinite_run >= t->cfg.max_nonfinite_steps)
        return hbpo__fail("step %ld: %ld steps in a row had a non-finite loss or gradient norm "
                          "(max_nonfinite_steps %d); stopping: the last checkpoint holds the last "
                          "good weights", t->step, t->nonfinite_run, t->cfg.max_nonfinite_steps);
    return 0;
}

/* ---- checkpoints of the trainer ----
   A checkpoint is a folder published whole: written as DIR.tmp, each file
   fsync'ed, manifest.json last, the folder fsync'ed, then renamed to DIR.
   A crash leaves DIR.tmp (never read, removed by the next prune) and the
   previous checkpoints intact. The manifest is the second guard: resume
   checks the size and checksum of every file before it changes any state,
   so a folder copied in half or damaged on disk is refused.

   trainer_state.bin, little-endian as written by this machine (the header
   records the byte order and the sizes, and a reader on another layout
   refuses it): magic "HBPOTRN1", u32 0x01020304, u32 version 2, then u64
   fields: config fingerprint, step, epoch, data_pos, rng state, AdamW step,
   data size, n_params, has_moments, skipped steps, non-finite run; then order
   (data size int32), then the moments m and v (n_params floats each) when
   present. */
#ifndef _WIN32
#include <dirent.h> /* opendir: listing and removing checkpoint folders */
#include <fcntl.h>  /* open: fsync of a folder */
#endif

#define HBPO__STATE_MAGIC "HBPOTRN1"
#define HBPO__STATE_VERSION 2u
#define HBPO__STATE_FIELDS 11
#define HBPO__STATE_HEAD (8 + 8 + 8 * HBPO__STATE_FIELDS)
#define HBPO__MANIFEST "manifest.json"
#define HBPO__MANIFEST_MAX ((size_t)1 << 20)
#define HBPO__CKPT_PREFIX "checkpoint-"

/* FNV-1a over the fields that must match for a resume to be exact. */
static uint64_t hbpo__train_fingerprint(const hbpo_trainer *t) {
    const hbpo_train_config *c = &t->cfg;
    int64_t v[16];
    const unsigned char *p = (const unsigned char *)v;
    uint64_t h = 1469598103934665603ull;
    size_t i;
    int b;
    memset(v, 0, sizeof v);
    v[0] = c->algo; v[1] = c->budget.k; v[2] = c->budget.l_max; v[3] = c->n_rollouts;
    v[4] = c->batch_queries; v[5] = c->ppo_epochs; v[6] = c->mini_batches; v[7] = (int64_t)c->seed;
    v[8] = t->data->n; v[9] = (int64_t)t->model->n_params; v[10] = c->chat_style; v[11] = c->budget.mode;
    for (b = 0; b < c->budget.k; b++) v[12] = v[12] * 131 + c->budget.budget[b];
    v[13] = c->budget.intra_centered;
    for (i = 0; i < sizeof v; i++) { h ^= p[i]; h *= 1099511628211ull; }
    return h;
}

/* FNV-1a 64 and the size of a file's bytes. Hand-written (a few lines): it
   needs no library (zlib's crc32 would be a new dependency for one call) and
   catches what it is for, a file cut short, torn or damaged; it is not meant
   to resist a deliberate forgery. Cost: one multiply per byte, about 400 MB/s
   on a busy 2-core AMD EPYC, 0.6x the time of writing and fsyncing the same
   98.6 MB model.safetensors (measured side by side). */
static int hbpo__file_checksum(const char *path, uint64_t *hash, uint64_t *size) {
    unsigned char *buf = (unsigned char *)HBPO_MALLOC((size_t)1 << 16);
    uint64_t h = 1469598103934665603ull, n = 0;
    size_t k, i;
    FILE *f;
    int ok;
    if (!buf) return hbpo__fail("checkpoint: out of memory");
    f = fopen(path, "rb");
    if (!f) { HBPO_FREE(buf); return hbpo__fail("%s: cannot open: %s", path, strerror(errno)); }
    while ((k = fread(buf, 1, (size_t)1 << 16, f)) > 0) {
        for (i = 0; i < k; i++) { h ^= buf[i]; h *= 1099511628211ull; }
        n += k;
    }
    ok = !ferror(f);
    fclose(f);
    HBPO_FREE(buf);
    if (!ok) return hbpo__fail("%s: read error", path);
    *hash = h;
    *size = n;
    return 0;
}

/* fsync of a folder, so that a rename inside it is on disk. */
static int hbpo__sync_dir(const char *dir) {
#ifndef _WIN32
    int fd = open(dir, O_RDONLY), rc;
    if (fd < 0) return hbpo__fail("%s: cannot open the folder: %s", dir, strerror(errno));
    rc = fsync(fd);
    close(fd);
    if (rc != 0 && errno != EINVAL) return hbpo__fail("%s: fsync: %s", dir, strerror(errno));
#else
    (void)dir;
#endif
    return 0;
}

/* Removes a checkpoint folder: its files, then the folder (no subfolders in
   a checkpoint). A folder that is not there is fine. */
static int hbpo__remove_folder(const char *dir) {
#ifndef _WIN32
    char path[HBPO__CKPT_PATH_MAX];
    struct dirent *e;
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? 0 : hbpo__fail("%s: cannot list: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (hbpo__path_join(path, sizeof path, dir, e->d_name) != 0) { closedir(d); return -1; }
        if (remove(path) != 0) {
            int err = errno;
            closedir(d);
            return hbpo__fail("%s: cannot remove: %s", path, strerror(err));
        }
    }
    closedir(d);
    if (rmdir(dir) != 0) return hbpo__fail("%s: cannot remove: %s", dir, strerror(errno));
    return 0;
#else
    return hbpo__is_dir(dir) ? hbpo__fail("%s: removing folders is not supported on Windows", dir) : 0;
#endif
}

/* dir's parent ("." when it has none), for the fsync after a rename. */
static void hbpo__parent_dir(const char *dir, char *out, size_t cap) {
    const char *slash = strrchr(dir, '/');
    if (!slash) snprintf(out, cap, ".");
    else if (slash == dir) snprintf(out, cap, "/");
    else snprintf(out, cap, "%.*s", (int)(slash - dir), dir);
}

static int hbpo__write_state(const hbpo_trainer *t, const char *path) {
    char tmp[HBPO__CKPT_PATH_MAX + 8];
    uint64_t u[HBPO__STATE_FIELDS];
    uint32_t head[2] = {0x01020304u, HBPO__STATE_VERSION};
    const hbpo_model *m = t->model;
    FILE *f;
    int ok, i;
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f) return hbpo__fail("%s: cannot write: %s", tmp, strerror(errno));
    u[0] = hbpo__train_fingerprint(t); u[1] = (uint64_t)t->step; u[2] = (uint64_t)t->epoch;
    u[3] = (uint64_t)t->data_pos; u[4] = t->rng.s; u[5] = (uint64_t)m->step;
    u[6] = (uint64_t)t->data->n; u[7] = m->n_params; u[8] = m->m != NULL;
    u[9] = (uint64_t)t->skipped_steps; u[10] = (uint64_t)t->nonfinite_run;
    ok = fwrite(HBPO__STATE_MAGIC, 1, 8, f) == 8 && fwrite(head, sizeof head, 1, f) == 1 &&
         fwrite(u, sizeof u, 1, f) == 1;
    for (i = 0; ok && i < t->data->n; i++) {
        int32_t o = t->order[i];
        ok = fwrite(&o, sizeof o, 1, f) == 1;
    }
    if (ok && m->m) {
        float buf[4096];
        const float *src[2];
        size_t done, k;
        int w;
        src[0] = m->m;
        src[1] = m->v;
        for (w = 0; ok && w < 2; w++)
            for (done = 0; ok && done < m->n_params; done += k) {
                k = m->n_params - done < 4096 ? m->n_params - done : 4096;
                m->be->download(buf, src[w] + done, k * sizeof(float));
                ok = fwrite(buf, sizeof(float), k, f) == k;
            }
    }
    return hbpo__finish_file(f, ok, tmp, path);
}

/* Copies the tokenizer (a tokenizer.json, or a folder holding one) to path. */
static int hbpo__copy_tokenizer(const char *src, const char *path) {
    char file[HBPO__CKPT_PATH_MAX];
    size_t len;
    char *text;
    int rc;
    if (hbpo__is_dir(src)) {
        if (hbpo__path_join(file, sizeof file, src, "tokenizer.json") != 0) return -1;
        src = file;
    }
    text = hbpo_read_file(src, 0, &len);
    if (!text) return hbpo__fail("checkpoint: tokenizer %s: %s", src, hbpo_last_error());
    rc = hbpo_write_file(path, text, len);
    HBPO_FREE(text);
    return rc;
}

HBPODEF int hbpo_trainer_save(const hbpo_trainer *t, const char *dir) {
    static const char *const files[] = {"model.safetensors", "config.json", "trainer_state.bin",
                                        "tokenizer.json"};
    char d[HBPO__CKPT_PATH_MAX], tmp[HBPO__CKPT_PATH_MAX], old[HBPO__CKPT_PATH_MAX];
    char path[HBPO__CKPT_PATH_MAX], parent[HBPO__CKPT_PATH_MAX];
    int n_files = 3, i, rc = -1;
    size_t n;
    hbpo__sbuf man;
    if (!t || !t->model || !t->data || !dir || !*dir)
        return hbpo__fail("hbpo_trainer_save: trainer or folder is NULL");
    n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--; /* "run/ck/" names the folder "run/ck" */
    if (n + 64 >= sizeof d) return hbpo__fail("%s: path too long", dir);
    memcpy(d, dir, n);
    memcpy(tmp, dir, n);
    memcpy(old, dir, n);
    d[n] = 0;
    memcpy(tmp + n, ".tmp", 5);
    memcpy(old + n, ".old", 5);
    memset(&man, 0, sizeof man);
    if (hbpo__remove_folder(tmp) != 0 || hbpo__mkdir(tmp) != 0) return -1; /* a crashed save's */
    if (hbpo_model_save(t->model, tmp, HBPO_DTYPE_F32) != 0) goto done;
    if (t->hook) t->hook(t->hook_user, "model", t);
    if (hbpo__path_join(path, sizeof path, tmp, "trainer_state.bin") != 0) goto done;
    if (hbpo__write_state(t, path) != 0) goto done;
    if (t->hook) t->hook(t->hook_user, "trainer_state.bin", t);
    if (t->cfg.tokenizer_path) {
        if (hbpo__path_join(path, sizeof path, tmp, "tokenizer.json") != 0) goto done;
        if (hbpo__copy_tokenizer(t->cfg.tokenizer_path, path) != 0) goto done;
        n_files = 4;
        if (t->hook) t->hook(t->hook_user, "tokenizer.json", t);
    }
    /* the manifest, from the files as they are on disk */
    hbpo__sb_printf(&man, "{\"format\": \"hbpo-checkpoint\", \"version\": 1, \"step\": %ld, \"files\": [",
                    t->step);
    for (i = 0; i < n_files; i++) {
        uint64_t h, size;
        if (hbpo__path_join(path, sizeof path, tmp, files[i]) != 0) goto done;
        if (hbpo__file_checksum(path, &h, &size) != 0) goto done;
        hbpo__sb_printf(&man, "%s\n  {\"name\": \"%s\", \"size\": %llu, \"fnv1a64\": \"%016llx\"}",
                        i ? "," : "", files[i], (unsigned long long)size, (unsigned long long)h);
    }
    hbpo__sb_printf(&man, "\n]}\n");
    if (man.oom) { hbpo__fail("hbpo_trainer_save: out of memory"); goto done; }
    if (hbpo__path_join(path, sizeof path, tmp, HBPO__MANIFEST) != 0) goto done;
    if (hbpo__write_text(path, man.s) != 0) goto done;
    if (t->hook) t->hook(t->hook_user, "manifest.json", t);
    if (hbpo__sync_dir(tmp) != 0) goto done;
    /* publish: an older folder of the same name steps aside first (a
       directory cannot be renamed over a non-empty one) */
    if (hbpo__remove_folder(old) != 0) goto done;
    if (hbpo__is_dir(d) && rename(d, old) != 0) {
        hbpo__fail("%s: cannot move the older checkpoint aside: %s", d, strerror(errno));
        goto done;
    }
    if (rename(tmp, d) != 0) {
        hbpo__fail("%s: cannot rename %s into place: %s", d, tmp, strerror(errno));
        goto done;
    }
    hbpo__parent_dir(d, parent, sizeof parent);
    if (hbpo__sync_dir(parent) != 0) goto done;
    if (t->hook) t->hook(t->hook_user, "published", t);
    rc = hbpo__remove_folder(old);
done:
    HBPO_FREE(man.s);
    if (rc != 0 && hbpo__is_dir(tmp)) {
        char keep[sizeof hbpo__err];
        memcpy(keep, hbpo__err, sizeof keep); /* the first error is the one to report */
        hbpo__remove_folder(tmp);
        memcpy(hbpo__err, keep, sizeof keep);
    }
    return rc;
}

/* The step of a folder name "checkpoint-NNNNNN" (digits only), else -1. */
static long hbpo__ckpt_step(const char *name, const char *suffix) {
    size_t p = strlen(HBPO__CKPT_PREFIX), i = p, ns = strlen(suffix);
    long step = 0;
    if (strncmp(name, HBPO__CKPT_PREFIX, p) != 0) return -1;
    while (name[i] >= '0' && name[i] <= '9') {
        if (step > (LONG_MAX - 9) / 10) return -1;
        step = step * 10 + (name[i++] - '0');
    }
    if (i == p || strcmp(name + i, suffix) != 0 || (ns == 0 && name[i] != 0)) return -1;
    return step;
}

static int hbpo__cmp_long_desc(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The steps of out_dir's checkpoint-NNNNNN folders, newest first, in a fresh
   array (*n of them). */
static int hbpo__ckpt_list(const char *out_dir, long **steps, int *n) {
    *steps = NULL;
    *n = 0;
#ifndef _WIN32
    {
        DIR *d = opendir(out_dir);
        struct dirent *e;
        int cap = 0;
        if (!d) return errno == ENOENT ? 0 : hbpo__fail("%s: cannot list: %s", out_dir, strerror(errno));
        while ((e = readdir(d)) != NULL) {
            long s = hbpo__ckpt_step(e->d_name, "");
            if (s < 0) continue;
            if (*n == cap) {
                long *g = (long *)HBPO_REALLOC(*steps, sizeof(long) * (size_t)(cap ? 2 * cap : 16));
                if (!g) { closedir(d); HBPO_FREE(*steps); *steps = NULL; *n = 0; return hbpo__fail("checkpoint: out of memory"); }
                *steps = g;
                cap = cap ? 2 * cap : 16;
            }
            (*steps)[(*n)++] = s;
        }
        closedir(d);
        if (*n > 1) qsort(*steps, (size_t)*n, sizeof(long), hbpo__cmp_long_desc);
    }
    return 0;
#else
    return hbpo__fail("%s: listing checkpoints is not supported on Windows", out_dir);
#endif
}

static int hbpo__ckpt_path(char *out, size_t cap, const char *out_dir, long step, const char *suffix) {
    char name[64];
    snprintf(name, sizeof name, HBPO__CKPT_PREFIX "%06ld%s", step, suffix);
    return hbpo__path_join(out, cap, out_dir, name);
}

HBPODEF int hbpo_checkpoint_prune(const char *out_dir, int keep) {
    long *steps = NULL;
    int n = 0, i, rc = 0;
    char path[HBPO__CKPT_PATH_MAX];
    if (!out_dir || keep < 0) return hbpo__fail("hbpo_checkpoint_prune: bad arguments");
    if (hbpo__ckpt_list(out_dir, &steps, &n) != 0) return -1;
    for (i = keep; rc == 0 && i < n; i++)
        if (hbpo__ckpt_path(path, sizeof path, out_dir, steps[i], "") != 0 || hbpo__remove_folder(path) != 0)
            rc = -1;
    HBPO_FREE(steps);
#ifndef _WIN32
    if (rc == 0) { /* leftovers of crashed saves */
        DIR *d = opendir(out_dir);
        struct dirent *e;
        while (d && rc == 0 && (e = readdir(d)) != NULL)
            if (hbpo__ckpt_step(e->d_name, ".tmp") >= 0 || hbpo__ckpt_step(e->d_name, ".old") >= 0)
                if (hbpo__path_join(path, sizeof path, out_dir, e->d_name) != 0 ||
                    hbpo__remove_folder(path) != 0)
                    rc = -1;
        if (d) closedir(d);
    }
#endif
    return rc;
}

HBPODEF int hbpo_trainer_checkpoint(const hbpo_trainer *t, const char *out_dir, char *path, size_t cap) {
    char dir[HBPO__CKPT_PATH_MAX];
    if (!t || !out_dir) return hbpo__fail("hbpo_trainer_checkpoint: trainer or folder is NULL");
    if (hbpo__mkdir(out_dir) != 0 || hbpo__ckpt_path(dir, sizeof dir, out_dir, t->step, "") != 0) return -1;
    if (hbpo_trainer_save(t, dir) != 0) return -1;
    if (path && cap) snprintf(path, cap, "%s", dir);
    return t->cfg.keep_checkpoints > 0 ? hbpo_checkpoint_prune(out_dir, t->cfg.keep_checkpoints) : 0;
}

HBPODEF int hbpo_checkpoint_verify(const char *dir, long *step) {
    char path[HBPO__CKPT_PATH_MAX];
    const hbpo_json *files, *e, *v;
    hbpo_json_doc doc;
    char *text;
    size_t len;
    int rc = -1, seen = 0;
    if (!dir) return hbpo__fail("hbpo_checkpoint_verify: folder is NULL");
    if (hbpo__path_join(path, sizeof path, dir, HBPO__MANIFEST) != 0) return -1;
    if (!hbpo__file_exists(path)) {
        if (hbpo__path_join(path, sizeof path, dir, "trainer_state.bin") == 0 && hbpo__file_exists(path))
            return hbpo__fail("%s: no manifest.json: a checkpoint of hbpo 0.2 or earlier, which cannot "
                              "be checked whole; resume needs one saved by this version (the folder "
                              "still loads as a model)", dir);
        return hbpo__fail("%s: no manifest.json: not a whole checkpoint", dir);
    }
    text = hbpo_read_file(path, HBPO__MANIFEST_MAX, &len);
    if (!text) return -1;
    memset(&doc, 0, sizeof doc);
    if (hbpo_json_parse(&doc, text, len) != 0) { hbpo__fail("%s: %s", path, hbpo_last_error()); goto done; }
    v = hbpo_json_get(doc.root, "step");
    files = hbpo_json_get(doc.root, "files");
    if (!hbpo_json_get_string(doc.root, "format") || strcmp(hbpo_json_get_string(doc.root, "format"), "hbpo-checkpoint") ||
        !v || v->type != HBPO_JSON_NUMBER || !(v->num >= 0 && v->num < 1e15) || v->num != floor(v->num) ||
        !files || files->type != HBPO_JSON_ARRAY) {
        hbpo__fail("%s: not an hbpo checkpoint manifest (format, step and files)", path);
        goto done;
    }
    for (e = files->child; e; e = e->next) {
        const char *name = hbpo_json_get_string(e, "name"), *sum = hbpo_json_get_string(e, "fnv1a64");
        const hbpo_json *sz = hbpo_json_get(e, "size");
        char want[32];
        uint64_t h, size;
        if (!name || !sum || !sz || sz->type != HBPO_JSON_NUMBER || !*name || strchr(name, '/') ||
            strchr(name, '\\') || name[0] == '.') {
            hbpo__fail("%s: a file entry without a plain name, size and fnv1a64", path);
            goto done;
        }
        if (hbpo__path_join(path, sizeof path, dir, name) != 0) goto done;
        if (hbpo__file_checksum(path, &h, &size) != 0) goto done;
        snprintf(want, sizeof want, "%016llx", (unsigned long long)h);
        if ((double)size != sz->num || strcmp(want, sum) != 0) {
            hbpo__fail("%s: %llu bytes, checksum %s; the manifest says %.0f bytes, %s: the checkpoint "
                       "is damaged", path, (unsigned long long)size, want, sz->num, sum);
            goto done;
        }
        seen |= !strcmp(name, "model.safetensors") ? 1 : !strcmp(name, "config.json") ? 2 :
                !strcmp(name, "trainer_state.bin") ? 4 : 0;
    }
    if (seen != 7) {
        hbpo__fail("%s: the manifest does not list model.safetensors, config.json and trainer_state.bin", dir);
        goto done;
    }
    if (step) *step = (long)v->num;
    rc = 0;
done:
    hbpo_json_free(&doc);
    HBPO_FREE(text);
    return rc;
}

HBPODEF int hbpo_checkpoint_latest(const char *out_dir, char *path, size_t cap) {
    long *steps = NULL;
    int n = 0, i, found = 0;
    char dir[HBPO__CKPT_PATH_MAX], why[sizeof hbpo__err];
    if (!out_dir || !path || !cap) return hbpo__fail("hbpo_checkpoint_latest: bad arguments");
    why[0] = 0;
    if (hbpo__ckpt_list(out_dir, &steps, &n) != 0) return -1;
    for (i = 0; i < n && !found; i++) {
        if (hbpo__ckpt_path(dir, sizeof dir, out_dir, steps[i], "") != 0) break;
        if (hbpo_checkpoint_verify(dir, NULL) == 0) found = 1;
        else if (!why[0]) memcpy(why, hbpo__err, sizeof why);
    }
    HBPO_FREE(steps);
    if (!found) {
        if (why[0]) hbpo__fail("%s: no whole checkpoint (the newest: %s)", out_dir, why);
        else hbpo__fail("%s: no checkpoint-NNNNNN folder", out_dir);
        return 0;
    }
    if ((size_t)snprintf(path, cap, "%s", dir) >= cap) return hbpo__fail("%s: path too long", dir);
    return 1;
}

HBPODEF int hbpo_trainer_resume(hbpo_trainer *t, const char *dir) {
    char ck[HBPO__CKPT_PATH_MAX], path[HBPO__CKPT_PATH_MAX];
    uint64_t u[HBPO__STATE_FIELDS];
    uint32_t head[2];
    hbpo_model saved;
    hbpo_model *m;
    char *state = NULL;
    size_t len, want, i;
    float *mm = NULL, *vv = NULL;
    int rc = -1, have_saved = 0;
    long mstep;
    if (!t || !t->model || !t->order || !dir) return hbpo__fail("hbpo_trainer_resume: trainer or folder is NULL");
    m = t->model;
    if (hbpo__path_join(path, sizeof path, dir, HBPO__MANIFEST) != 0) return -1;
    if (hbpo__file_exists(path)) {
        if ((size_t)snprintf(ck, sizeof ck, "%s", dir) >= sizeof ck) return hbpo__fail("%s: path too long", dir);
    } else { /* a run folder: its newest whole checkpoint */
        int r = hbpo_checkpoint_latest(dir, ck, sizeof ck);
        if (r < 0) return -1;
        if (r == 0) { /* an old OUT/checkpoint, or dir itself an old one, says what it is */
            char old[HBPO__CKPT_PATH_MAX];
            if (hbpo__path_join(old, sizeof old, dir, "checkpoint") == 0 && hbpo__is_dir(old))
                return hbpo_checkpoint_verify(old, NULL);
            if (hbpo__path_join(old, sizeof old, dir, "trainer_state.bin") == 0 && hbpo__file_exists(old))
                return hbpo_checkpoint_verify(dir, NULL);
            return -1;
        }
    }
    /* 1. every file as the manifest records it */
    if (hbpo_checkpoint_verify(ck, &mstep) != 0) return -1;
    /* 2. the state, read whole and checked against this trainer */
    if (hbpo__path_join(path, sizeof path, ck, "trainer_state.bin") != 0) return -1;
    want = HBPO__STATE_HEAD + 4 * (size_t)t->data->n;
    state = hbpo_read_file(path, want + 2 * hbpo__mul_size(m->n_params, sizeof(float)) + 1, &len);
    if (!state) return -1;
    if (len < HBPO__STATE_HEAD || memcmp(state, HBPO__STATE_MAGIC, 8) != 0) {
        hbpo__fail("%s: not a trainer state", path);
        goto done;
    }
    memcpy(head, state + 8, sizeof head);
    memcpy(u, state + 16, sizeof u);
    if (head[0] != 0x01020304u || head[1] != HBPO__STATE_VERSION) {
        hbpo__fail("%s: a trainer state of another version (%u) or byte order", path, (unsigned)head[1]);
        goto done;
    }
    if (u[0] != hbpo__train_fingerprint(t) || u[6] != (uint64_t)t->data->n || u[7] != m->n_params) {
        hbpo__fail("%s: saved with a different configuration, dataset (%llu items) or model", path,
                   (unsigned long long)u[6]);
        goto done;
    }
    if (u[1] != (uint64_t)mstep || u[3] > u[6] || u[8] > 1 || u[10] > u[9] || u[9] > u[1]) {
        hbpo__fail("%s: corrupt state (step %llu, manifest step %ld, position %llu)", path,
                   (unsigned long long)u[1], mstep, (unsigned long long)u[3]);
        goto done;
    }
    if (u[8]) want += 2 * m->n_params * sizeof(float);
    if (len != want) { hbpo__fail("%s: %zu bytes where %zu were expected", path, len, want); goto done; }
    for (i = 0; i < (size_t)t->data->n; i++) {
        int32_t o;
        memcpy(&o, state + HBPO__STATE_HEAD + 4 * i, 4);
        if (o < 0 || o >= t->data->n) { hbpo__fail("%s: corrupt data order", path); goto done; }
    }
    /* 3. the weights, through a model of the same shape on the CPU */
    if (hbpo_model_load(&saved, ck, NULL) != 0) goto done;
    have_saved = 1;
    if (saved.n_params != m->n_params || saved.n_tensors != m->n_tensors) {
        hbpo__fail("%s: the checkpoint's model (%zu parameters) is not this model's (%zu)", ck,
                   saved.n_params, m->n_params);
        goto done;
    }
    for (i = 0; i < (size_t)m->n_tensors; i++)
        if (strcmp(saved.tensors[i].name, m->tensors[i].name) != 0 || saved.tensors[i].numel != m->tensors[i].numel) {
            hbpo__fail("%s: tensor %s is not this model's %s", ck, saved.tensors[i].name, m->tensors[i].name);
            goto done;
        }
    if (u[8] && !m->m) { /* room for the moments before anything changes */
        mm = (float *)m->be->alloc(m->n_params * sizeof(float));
        vv = (float *)m->be->alloc(m->n_params * sizeof(float));
        if (!mm || !vv) { hbpo__fail("resume: out of memory for the AdamW moments"); goto done; }
    }
    /* 4. everything checked: restore */
    m->be->upload(m->params, saved.params, m->n_params * sizeof(float));
    for (i = 0; i < (size_t)t->data->n; i++) {
        int32_t o;
        memcpy(&o, state + HBPO__STATE_HEAD + 4 * i, 4);
        t->order[i] = o;
    }
    if (u[8]) {
        const char *p = state + HBPO__STATE_HEAD + 4 * (size_t)t->data->n;
        if (!m->m) { m->m = mm; m->v = vv; mm = vv = NULL; }
        m->be->upload(m->m, p, m->n_params * sizeof(float));
        m->be->upload(m->v, p + m->n_params * sizeof(float), m->n_params * sizeof(float));
    } else if (m->m) {
        hbpo_model_reset_optimizer(m);
    }
    t->step = (long)u[1];
    t->epoch = (long)u[2];
    t->data_pos = (long)u[3];
    t->rng.s = u[4];
    m->step = (long)u[5];
    t->skipped_steps = (long)u[9];
    t->nonfinite_run = (long)u[10];
    if (hbpo_model_zero_grad(m) != 0) goto done;
    rc = 0;
done:
    if (mm) m->be->free(mm);
    if (vv) m->be->free(vv);
    if (have_saved) hbpo_model_free(&saved);
    HBPO_FREE(state);
    return rc;
}

/* Appends printf output to a buffer, snprintf-style (the length counts what
   did not fit too). */
typedef struct { char *p; size_t cap, len; } hbpo__jbuf;
static void hbpo__jb(hbpo__jbuf *b, const char *fmt, ...) HBPO__PRINTF(2, 3);
static void hbpo__jb(hbpo__jbuf *b, const char *fmt, ...) {
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(b->p && b->len < b->cap ? b->p + b->len : NULL,
                  b->p && b->len < b->cap ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n > 0) b->len += (size_t)n;
}

HBPODEF int hbpo_metrics_json(const hbpo_step_metrics *m, int k, char *out, size_t cap) {
    hbpo__jbuf b;
    int g;
    b.p = out; b.cap = cap; b.len = 0;
    if (out && cap) out[0] = 0;
    if (k < 1) k = 1;
    if (k > HBPO_MAX_BUDGETS) k = HBPO_MAX_BUDGETS;
    hbpo__jb(&b, "{\"step\":%ld,\"rollouts\":%d,\"reward\":%.6g,\"accuracy\":%.6g,\"no_answer\":%.6g,"
                 "\"n_gen\":%.6g,\"truncated\":%.6g,\"n_gen_sub\":[",
             m->step, m->n_rollouts, m->reward_mean, m->accuracy, m->no_answer, m->ngen_mean, m->truncated);
    for (g = 0; g < k; g++) hbpo__jb(&b, "%s%.6g", g ? "," : "", m->ngen_sub[g]);
    hbpo__jb(&b, "],\"accuracy_sub\":[");
    for (g = 0; g < k; g++) hbpo__jb(&b, "%s%.6g", g ? "," : "", m->acc_sub[g]);
    hbpo__jb(&b, "],\"adv_mean\":%.6g,\"adv_abs\":%.6g", m->adv_mean, m->adv_abs);
    { /* the update's figures: null when non-finite (JSON has no NaN) */
        static const char *const names[5] = {"pg_loss", "clipfrac", "approx_kl", "entropy", "grad_norm"};
        double v[5];
        int i;
        v[0] = m->pg_loss; v[1] = m->clipfrac; v[2] = m->approx_kl; v[3] = m->entropy; v[4] = m->grad_norm;
        for (i = 0; i < 5; i++) {
            if (isfinite(v[i])) hbpo__jb(&b, ",\"%s\":%.6g", names[i], v[i]);
            else hbpo__jb(&b, ",\"%s\":null", names[i]);
        }
    }
    hbpo__jb(&b, ",\"nonfinite\":%d,\"skipped_steps\":%ld,\"lr\":%.6g,"
                 "\"t_rollout\":%.3f,\"t_score\":%.3f,\"t_update\":%.3f}",
             m->nonfinite, m->skipped_steps, m->lr, m->t_rollout, m->t_score, m->t_update);
    return (int)b.len;
}

HBPODEF int hbpo_sft_step(hbpo_model *m, const hbpo_tokenizer *tok, int chat_style, int n,
                          const char *const *questions, const char *const *suffixes,
                          const char *const *completions, int micro_batch,
                          const hbpo_adamw_config *o, float *loss) {
    int **seq = NULL, *len = NULL, *plen = NULL, eos[HBPO_MAX_EOS], i, rc = -1;
    int *in = NULL, *tg = NULL, *order = NULL, *cut, n_groups, gi;
    float *mask = NULL, *lp = NULL;
    double total = 0, nll = 0;
    if (!m || !tok || !questions || !completions || !o || n < 1 || micro_batch < 1)
        return hbpo__fail("hbpo_sft_step: bad arguments (n = %d, micro_batch = %d)", n, micro_batch);
    if (hbpo_chat_stop_tokens(tok, eos) == 0) return hbpo__fail("hbpo_sft_step: the tokenizer has no end-of-turn token");
    seq = (int **)HBPO_MALLOC(sizeof(int *) * (size_t)n);
    len = (int *)HBPO_MALLOC(sizeof(int) * (size_t)n);
    plen = (int *)HBPO_MALLOC(sizeof(int) * (size_t)n);
    if (!seq || !len || !plen) { hbpo__fail("hbpo_sft_step: out of memory"); goto done; }
    memset(seq, 0, sizeof(int *) * (size_t)n);
    /* prompt ids, then the completion's and the end-of-turn token */
    for (i = 0; i < n; i++) {
        int *p, c_len, *s;
        size_t cl;
        plen[i] = hbpo_chat_encode(tok, chat_style, questions[i],
                                      suffixes && suffixes[i] ? suffixes[i] : "", &p);
        if (plen[i] < 0) goto done;
        cl = strlen(completions[i]);
        c_len = hbpo_tokenizer_encode(tok, completions[i], cl, NULL, 0);
        if (c_len < 0) { HBPO_FREE(p); goto done; }
        s = (int *)HBPO_REALLOC(p, sizeof(int) * (size_t)(plen[i] + c_len + 1));
        if (!s) { HBPO_FREE(p); hbpo__fail("hbpo_sft_step: out of memory"); goto done; }
        hbpo_tokenizer_encode(tok, completions[i], cl, s + plen[i], c_len);
        s[plen[i] + c_len] = eos[0];
        seq[i] = s;
        len[i] = plen[i] + c_len + 1;
        if (len[i] > m->config.max_position_embeddings) {
            hbpo__fail("hbpo_sft_step: example %d has %d tokens, more than max_position_embeddings %d",
                       i, len[i], m->config.max_position_embeddings);
            goto done;
        }
        total += c_len + 1;
    }
    if (hbpo_model_zero_grad(m) != 0) goto done;
    /* Micro-batches of similar length: every row of a forward is padded to
       the longest, and the padding costs as much as real tokens (half the
       work of the demo's batches). So the examples are sorted by length and
       cut into runs of at most micro_batch that minimise the padded tokens
       plus a fixed cost per forward (hbpo__length_groups). The loss and its
       gradient are the same sums in another order. */
    order = (int *)HBPO_MALLOC(sizeof(int) * (size_t)(2 * n + 1));
    if (!order) { hbpo__fail("hbpo_sft_step: out of memory"); goto done; }
    cut = order + n;
    n_groups = hbpo__length_groups(len, n, micro_batch, order, cut);
    for (gi = 0; gi < n_groups; gi++) {
        int r = cut[gi], nb = cut[gi + 1] - cut[gi], T = 1, b, t;
        for (b = 0; b < nb; b++) if (len[order[r + b]] - 1 > T) T = len[order[r + b]] - 1;
        in = (int *)HBPO_MALLOC(sizeof(int) * (size_t)nb * T);
        tg = (int *)HBPO_MALLOC(sizeof(int) * (size_t)nb * T);
        mask = (float *)HBPO_MALLOC(sizeof(float) * (size_t)nb * T);
        lp = (float *)HBPO_MALLOC(sizeof(float) * (size_t)nb * T);
        if (!in || !tg || !mask || !lp) { hbpo__fail("hbpo_sft_step: out of memory"); goto done; }
        for (b = 0; b < nb; b++)
            for (t = 0; t < T; t++) {
                int e = order[r + b], live = t < len[e] - 1;
                in[b * T + t] = live ? seq[e][t] : 0;
                tg[b * T + t] = live ? seq[e][t + 1] : 0;
                mask[b * T + t] = live && t >= plen[e] - 1 ? 1.0f : 0.0f;
            }
        if (hbpo_model_forward(m, in, tg, mask, nb, T, 1.0f, lp, NULL) != 0) goto done;
        /* loss = -sum(logp) / total over the whole step: d/dlogp = -1/total */
        for (i = 0; i < nb * T; i++) {
            if (mask[i] != 0.0f) nll -= lp[i];
            lp[i] = mask[i] != 0.0f ? (float)(-1.0 / total) : 0.0f;
        }
        if (hbpo_model_backward(m, lp) != 0) goto done;
        HBPO_FREE(in); HBPO_FREE(tg); HBPO_FREE(mask); HBPO_FREE(lp);
        in = tg = NULL; mask = lp = NULL;
    }
    if (hbpo_model_step(m, o, NULL) != 0) goto done;
    if (loss) *loss = (float)(nll / total);
    rc = 0;
done:
    if (seq) for (i = 0; i < n; i++) HBPO_FREE(seq[i]);
    HBPO_FREE(seq); HBPO_FREE(len); HBPO_FREE(plen); HBPO_FREE(order);
    HBPO_FREE(in); HBPO_FREE(tg); HBPO_FREE(mask); HBPO_FREE(lp);
    return rc;
}

HBPODEF int hbpo_count_reflections(const char *text) {
    static const char *words[] = {"wait", "alternatively", "hmm", "but", "however", "verify", "check"};
    int count = 0;
    const char *p = text;
    if (!text) return 0;
    while (*p) {
        char w[16];
        size_t n = 0, i;
        while (*p && !isalpha((unsigned char)*p)) p++;
        while (isalpha((unsigned char)*p)) {
            if (n < sizeof w - 1) w[n] = (char)tolower((unsigned char)*p);
            n++;
            p++;
        }
        if (n == 0 || n >= sizeof w) continue;
        w[n] = 0;
        for (i = 0; i < sizeof words / sizeof words[0]; i++) count += !strcmp(w, words[i]);
    }
    return count;
}

static void hbpo__bucket_add(hbpo_eval_bucket *b, int outcome, int stopped, int n_gen, int think,
                             int refl) {
    b->n++;
    b->correct += outcome == HBPO_CORRECT;
    b->no_answer += outcome == HBPO_NO_ANSWER;
    b->truncated += !stopped;
    b->tokens += n_gen;
    b->think_tokens += think;
    b->reflections += refl;
}

#define HBPO__EVAL_BATCH_MAX 4096 /* problems generated together at most */

HBPODEF int hbpo_evaluate(hbpo_model *m, const hbpo_tokenizer *tok, const hbpo_dataset *d,
                          int chat_style, const char *suffix, const hbpo_sampler_config *s,
                          int batch, hbpo_eval_result *res, hbpo_eval_callback each, void *user) {
    return hbpo_evaluate_comm(NULL, m, tok, d, chat_style, suffix, s, batch, res, each, user);
}

/* Rounds of batch * N problems: every rank encodes the round's prompts (the
   stride must agree), generates its share, the responses are shared, and
   every rank judges the round in order. */
HBPODEF int hbpo_evaluate_comm(hbpo_comm *comm, hbpo_model *m, const hbpo_tokenizer *tok,
                               const hbpo_dataset *d, int chat_style, const char *suffix,
                               const hbpo_sampler_config *s, int batch, hbpo_eval_result *res,
                               hbpo_eval_callback each, void *user) {
    hbpo_sampler_config sc;
    hbpo_comm single;
    int *tokens = NULL, *plen = NULL, *ngen = NULL, **ids = NULL, eos[HBPO_MAX_EOS], n_eos, think_end;
    int i0, rc = -1, stride = 0, i, e, round;
    if (!m || !tok || !d || !s || !res || d->n < 1 || batch < 1)
        return hbpo__fail("hbpo_evaluate: bad arguments");
    comm = hbpo__comm_or_single(comm, &single);
    memset(res, 0, sizeof *res);
    sc = *s;
    n_eos = hbpo_chat_stop_tokens(tok, eos);
    for (e = 0; e < n_eos && sc.n_eos < HBPO_MAX_EOS; e++) sc.eos[sc.n_eos++] = eos[e];
    if (hbpo_sampler_config_check(&sc) != 0 || hbpo__sampler_eos_fit(&sc, m->config.vocab_size) != 0) return -1;
    think_end = hbpo_tokenizer_token_id(tok, "</think>");
    if (batch > d->n) batch = d->n;
    if (batch > HBPO__EVAL_BATCH_MAX) batch = HBPO__EVAL_BATCH_MAX;
    round = (int)((long long)batch * comm->size < d->n ? (long long)batch * comm->size : d->n);
    plen = (int *)HBPO_MALLOC(sizeof(int) * (size_t)round);
    ngen = (int *)HBPO_MALLOC(sizeof(int) * (size_t)round);
    ids = (int **)HBPO_MALLOC(sizeof(int *) * (size_t)round);
    if (!plen || !ngen || !ids) { hbpo__fail("hbpo_evaluate: out of memory"); goto done; }
    memset(ids, 0, sizeof(int *) * (size_t)round);
    for (i0 = 0; i0 < d->n; i0 += round) {
        int nb = d->n - i0 < round ? d->n - i0 : round, b, maxp = 0, lo, hi, st = -1;
        for (b = 0; b < nb; b++) {
            plen[b] = hbpo_chat_encode(tok, chat_style, d->items[i0 + b].question, suffix ? suffix : "", &ids[b]);
            if (plen[b] < 0) goto exchange;
            if (plen[b] > maxp) maxp = plen[b];
        }
        if (maxp + 1 > m->config.max_position_embeddings) {
            hbpo__fail("hbpo_evaluate: a prompt of %d tokens leaves no room in %d positions", maxp,
                       m->config.max_position_embeddings);
            goto exchange;
        }
        if (maxp + sc.max_new_tokens > stride) {
            HBPO_FREE(tokens);
            stride = maxp + sc.max_new_tokens;
            tokens = (int *)HBPO_MALLOC(sizeof(int) * hbpo__mul_size((size_t)round, (size_t)stride));
            if (!tokens) { stride = 0; hbpo__fail("hbpo_evaluate: out of memory"); goto exchange; }
        }
        for (b = 0; b < nb; b++) memcpy(tokens + (size_t)b * stride, ids[b], sizeof(int) * (size_t)plen[b]);
        hbpo_comm_share(nb, comm->rank, comm->size, &lo, &hi);
        st = hbpo__generate_into(m, &sc, s->seed, i0 + lo, hi - lo, hi - lo, tokens + (size_t)lo * stride,
                                 stride, plen + lo, ngen + lo);
    exchange:
        for (b = 0; b < nb; b++) { HBPO_FREE(ids[b]); ids[b] = NULL; }
        if (hbpo_comm_agree(comm, st) != 0 || hbpo__gather_shares(comm, ngen, nb, sizeof(int)) != 0 ||
            hbpo__gather_shares(comm, tokens, nb, sizeof(int) * (size_t)stride) != 0)
            goto done;
        for (b = 0, st = 0; b < nb && st == 0; b++) {
            const int *resp = tokens + (size_t)b * stride + plen[b];
            char *text = hbpo__response_text(tok, resp, ngen[b]);
            const hbpo_problem *p = &d->items[i0 + b];
            int outcome, think = ngen[b], refl, lvl, stopped;
            if (!text) { st = hbpo__fail("hbpo_evaluate: out of memory"); break; }
            outcome = hbpo_judge(text, p->answer);
            for (i = 0; i < ngen[b]; i++) if (resp[i] == think_end) { think = i; break; }
            stopped = hbpo_stop_reason(resp, ngen[b], sc.eos, sc.n_eos, sc.max_new_tokens) == HBPO_STOP_EOS;
            refl = hbpo_count_reflections(text);
            lvl = p->level < 0 ? 0 : p->level > HBPO_EVAL_MAX_LEVEL ? HBPO_EVAL_MAX_LEVEL : p->level;
            hbpo__bucket_add(&res->all, outcome, stopped, ngen[b], think, refl);
            hbpo__bucket_add(&res->level[lvl], outcome, stopped, ngen[b], think, refl);
            if (each) each(user, i0 + b, text, outcome, ngen[b]);
            HBPO_FREE(text);
        }
        if (hbpo_comm_agree(comm, st) != 0) goto done;
    }
    rc = 0;
done:
    HBPO_FREE(tokens); HBPO_FREE(plen); HBPO_FREE(ngen); HBPO_FREE(ids);
    return rc;
}

static void hbpo__bucket_json(hbpo__jbuf *sb, const hbpo_eval_bucket *b) {
    double n = b->n ? b->n : 1;
    hbpo__jb(sb, "{\"n\":%d,\"accuracy\":%.6g,\"no_answer\":%.6g,\"truncated\":%.6g,\"mean_tokens\":%.6g,"
                 "\"think_share\":%.6g,\"reflections\":%.6g}",
             b->n, b->correct / n, b->no_answer / n, b->truncated / n, b->tokens / n,
             b->tokens > 0 ? b->think_tokens / b->tokens : 0.0, b->reflections / n);
}

HBPODEF int hbpo_eval_json(const hbpo_eval_result *r, char *out, size_t cap) {
    hbpo__jbuf sb;
    int l, first = 1;
    sb.p = out; sb.cap = cap; sb.len = 0;
    if (out && cap) out[0] = 0;
    hbpo__jb(&sb, "{\"all\":");
    hbpo__bucket_json(&sb, &r->all);
    hbpo__jb(&sb, ",\"levels\":{");
    for (l = 0; l <= HBPO_EVAL_MAX_LEVEL; l++) {
        if (!r->level[l].n) continue;
        hbpo__jb(&sb, "%s\"%d\":", first ? "" : ",", l);
        hbpo__bucket_json(&sb, &r->level[l]);
        first = 0;
    }
    hbpo__jb(&sb, "}}");
    return (int)sb.len;
}



/* ---- the miniature of the paper (make base, make run, make study) ---- */

HBPODEF int hbpo_synth_overthink(const char *question, int setting, hbpo_rng *r, char *out,
                                 size_t cap) {
    /* Answer re-checks in the over-thinking style of R1 traces, of similar
       lengths, so that the redundancy costs the same on every level. */
    static const char *const phrase[] = {"wait, is it %d? yes\n", "let me verify: %d\n",
                                         "hmm, check: %d ok\n", "double-check: %d\n"};
    hbpo__synth_chain c;
    size_t n;
    int len, k, checks, style, at_sight = 4, max_checks = HBPO_SYNTH_RECHECKS, b;
    if (!r) return hbpo__fail("hbpo_synth_overthink: r is NULL");
    if (setting < 0 || setting >= HBPO_SYNTH_SETTINGS)
        return hbpo__fail("hbpo_synth_overthink: setting %d is not in 0..%d", setting, HBPO_SYNTH_SETTINGS - 1);
    if (hbpo__synth_parse(question, &c) != 0) return -1;
    if (HBPO_SYNTH_PROMPT_PRIOR && setting == 1) { /* the efficiency prompt */
        at_sight = 2;
        max_checks = 1;
    } else if (HBPO_SYNTH_PROMPT_PRIOR && (b = hbpo_synth_setting_budget(setting)) > 0) {
        const int b_max = HBPO_SYNTH_L_MAX * 5 / 8; /* the largest budget, 30 */
        max_checks = (2 * HBPO_SYNTH_RECHECKS * b + b_max) / (2 * b_max);
        if (max_checks > HBPO_SYNTH_RECHECKS) max_checks = HBPO_SYNTH_RECHECKS;
    }
    style = hbpo_rng_u32(r) % (uint32_t)at_sight == 0 ? HBPO_SYNTH_DIRECT : HBPO_SYNTH_STEPS;
    checks = (int)(hbpo_rng_u32(r) % (uint32_t)(max_checks + 1));
    /* the core's steps, without its closing "</think>...", then the checks */
    len = hbpo_synth_solution(question, style, NULL, out, cap);
    if (len < 0) return -1;
    n = (size_t)(strstr(out, "</think>") - out);
    out[n] = 0;
    for (k = 0; k < checks; k++)
        if (hbpo__synth_put(out, cap, &n, phrase[hbpo_rng_u32(r) % 4], c.v[c.n]) != 0) goto small;
    if (hbpo__synth_put(out, cap, &n, "</think>\n\\boxed{%d}", c.v[c.n]) != 0) goto small;
    return (int)n;
small:
    out[0] = 0;
    return hbpo__fail("hbpo_synth_overthink: out of %lu bytes is too small (%d always suffice)",
                      (unsigned long)cap, HBPO_SYNTH_MAX_SOLUTION);
}

static const char *const hbpo__synth_methods[HBPO_SYNTH_N_METHODS] = {
    "hbpo", "hbpo-official", "grpo", "cosine", "l1", "hbpo-k1", "hbpo-k2", "hbpo-centered"};

HBPODEF const char *hbpo_synth_method_name(int method) {
    return method >= 0 && method < HBPO_SYNTH_N_METHODS ? hbpo__synth_methods[method] : NULL;
}

HBPODEF int hbpo_synth_method_parse(const char *name) {
    int i;
    for (i = 0; name && i < HBPO_SYNTH_N_METHODS; i++)
        if (!strcmp(name, hbpo__synth_methods[i])) return i;
    return hbpo__fail("unknown method '%s' (hbpo, hbpo-official, grpo, cosine, l1, hbpo-k1, hbpo-k2, "
                      "hbpo-centered)",
                      name ? name : "(null)");
}

/* The paper's 512, 1024, 2048, 2560 of L_max 4096. */
static const int hbpo__synth_budgets[4] = {HBPO_SYNTH_L_MAX / 8, HBPO_SYNTH_L_MAX / 4,
                                           HBPO_SYNTH_L_MAX / 2, HBPO_SYNTH_L_MAX * 5 / 8};

HBPODEF int hbpo_synth_train_config(int method, uint64_t seed, hbpo_train_config *c) {
    int i;
    if (!c) return hbpo__fail("hbpo_synth_train_config: c is NULL");
    if (!hbpo_synth_method_name(method)) return hbpo__fail("hbpo_synth_train_config: method %d", method);
    *c = hbpo_train_config_default();
    c->algo = method == HBPO_SYNTH_GRPO ? HBPO_ALGO_GRPO : method == HBPO_SYNTH_COSINE ? HBPO_ALGO_COSINE
            : method == HBPO_SYNTH_L1 ? HBPO_ALGO_L1 : HBPO_ALGO_HBPO;
    c->budget.mode = method == HBPO_SYNTH_HBPO_OFFICIAL ? HBPO_MODE_OFFICIAL : HBPO_MODE_PAPER;
    c->budget.k = 4;
    for (i = 0; i < 4; i++) c->budget.budget[i] = hbpo__synth_budgets[i];
    if (method == HBPO_SYNTH_HBPO_K1) { /* the paper's middle budget, 2048 of 4096 */
        c->budget.k = 1;
        c->budget.budget[0] = hbpo__synth_budgets[2];
    } else if (method == HBPO_SYNTH_HBPO_K2) { /* 1024 and 2560 of 4096 */
        c->budget.k = 2;
        c->budget.budget[0] = hbpo__synth_budgets[1];
        c->budget.budget[1] = hbpo__synth_budgets[3];
    }
    c->budget.intra_centered = method == HBPO_SYNTH_HBPO_CENTERED;
    c->budget.l_max = HBPO_SYNTH_L_MAX;
    c->budget.alpha = 1.0f / HBPO_SYNTH_L_MAX;
    c->budget.beta = 4.0f;
    c->l1_alpha = 1.0f / HBPO_SYNTH_L_MAX;
    c->n_rollouts = 8;
    c->batch_queries = 4;
    c->mini_batches = 2;
    c->micro_batch = 16;
    /* Steps of 4 queries instead of the paper's 64, so a larger lr than
       1e-6, but not too large. At L_max 48 (make run, seed 1) lr 3e-5 for
       40 steps left HBPO at 88.0% against the base's 98.5%, its written
       steps slipping (8-1=7 for 5-1); 1e-5 for 120 steps (make run) is at
       99.5%, and 1e-5 for 360 (make study) shows the cosine penalty's
       collapse that larger steps hide (docs/demo.md, docs/study.md). On the
       base until stop 22, 7e-5 took every method's accuracy from 100% to
       84-88%. Rollouts at T 0.6 (the evaluation's). */
    c->adamw.lr = 1e-5f;
    c->adamw.weight_decay = 0.0f;
    c->temperature = 0.6f;
    c->seed = seed;
    return 0;
}

HBPODEF int hbpo_synth_sft(hbpo_model *m, const hbpo_tokenizer *tok, uint64_t seed, int steps,
                           int progress) {
    enum { BATCH = 32 };
    char q[BATCH][2 * HBPO_SYNTH_MAX_LEVEL + 4], a[BATCH][4], sol[BATCH][HBPO_SYNTH_MAX_SOLUTION];
    char suf[BATCH][96];
    const char *qs[BATCH], *ss[BATCH], *cs[BATCH];
    hbpo_adamw_config opt = hbpo_adamw_config_default();
    hbpo_rng rng;
    double t0 = hbpo_wall_time(), avg = 0;
    int s, b, warm = steps >= 1000 ? 200 : steps / 5;
    if (!m || !tok || steps < 0) return hbpo__fail("hbpo_synth_sft: bad arguments");
    hbpo_rng_seed(&rng, seed * 1000 + 17);
    opt.weight_decay = 0.0f;
    for (s = 0; s < steps; s++) {
        float loss;
        for (b = 0; b < BATCH; b++) {
            int level = 1 + (int)(hbpo_rng_u32(&rng) % HBPO_SYNTH_LEVELS);
            int pick = (int)(hbpo_rng_u32(&rng) % 12), n, setting = pick < 4 ? 0 : 1;
            if (hbpo_synth_problem(&rng, level, q[b], sizeof q[b], a[b], sizeof a[b]) != 0) return -1;
            /* 4/12 nothing, 2/12 the efficiency prompt, 3/12 each budget text */
            if (pick < 4) n = snprintf(suf[b], sizeof suf[b], "%s", "");
            else if (pick < 6) n = snprintf(suf[b], sizeof suf[b], "%s\n", HBPO_EFFICIENCY_PROMPT);
            else {
                setting = 2 + (int)(hbpo_rng_u32(&rng) % 4);
                n = hbpo_budget_prompt(pick < 9 ? HBPO_MODE_PAPER : HBPO_MODE_OFFICIAL,
                                       hbpo_synth_setting_budget(setting), suf[b], sizeof suf[b] - 1);
                if (n >= 0) { suf[b][n] = '\n'; suf[b][n + 1] = 0; }
            }
            if (n < 0 || hbpo_synth_overthink(q[b], setting, &rng, sol[b], sizeof sol[b]) < 0) return -1;
            qs[b] = q[b];
            ss[b] = suf[b];
            cs[b] = sol[b];
        }
        /* Linear warm-up over 200 steps (steps / 5 in runs under 1,000
           steps), then cosine from 1e-3 to 1e-4. Without
           the warm-up, lr 3e-3 from the first step left one seed in three
           unable to copy the second operand from the question (37% at
           3000 steps; docs/demo.md). */
        opt.lr = (float)(1e-3 * (0.1 + 0.45 * (1.0 + cos(HBPO__PI * s / steps))));
        if (s < warm) opt.lr *= (float)(s + 1) / (float)warm;
        if (hbpo_sft_step(m, tok, HBPO_CHAT_CHATML, BATCH, qs, ss, cs, BATCH, &opt, &loss) != 0) return -1;
        avg = s ? 0.95 * avg + 0.05 * loss : loss;
        if (progress && ((s + 1) % 100 == 0 || s + 1 == steps)) {
            char extra[32];
            snprintf(extra, sizeof extra, "loss %.4f", avg);
            hbpo_progress("sft step", s + 1, steps, t0, extra);
        }
    }
    return 0;
}

HBPODEF int hbpo_synth_save_base(hbpo_model *m, const hbpo_tokenizer *tok,
                                 const char *tokenizer_path, const char *dir) {
    hbpo_train_config c;
    hbpo_trainer t;
    hbpo_dataset d;
    int rc;
    if (!m || !tok || !tokenizer_path || !dir) return hbpo__fail("hbpo_synth_save_base: NULL argument");
    /* a released model carries no optimizer state */
    if (m->m) { m->be->free(m->m); m->m = NULL; }
    if (m->v) { m->be->free(m->v); m->v = NULL; }
    m->step = 0;
    memset(&d, 0, sizeof d);
    if (hbpo_synth_train_config(HBPO_SYNTH_HBPO, 0, &c) != 0 || hbpo_synth_dataset(&d, 1, 1, 1, 1) != 0)
        return -1;
    c.tokenizer_path = tokenizer_path;
    if (hbpo_trainer_init(&t, &c, m, tok, &d) != 0) { hbpo_dataset_free(&d); return -1; }
    rc = hbpo_trainer_save(&t, dir);
    hbpo_trainer_free(&t);
    hbpo_dataset_free(&d);
    return rc;
}

HBPODEF int hbpo_synth_load_base(const char *dir, const hbpo_backend *be, hbpo_model *m,
                                  hbpo_tokenizer **tok) {
    if (!dir || !m || !tok) return hbpo__fail("hbpo_synth_load_base: NULL argument");
    *tok = NULL;
    if (hbpo_checkpoint_verify(dir, NULL) != 0) {
        char why[512]; /* a copy: the message buffer is also the output */
        snprintf(why, sizeof why, "%s", hbpo_last_error());
        return hbpo__fail("base model %s: %s", dir, why);
    }
    if (hbpo_tokenizer_load(tok, dir) != 0) return -1;
    if (hbpo_model_load(m, dir, be) != 0) {
        hbpo_tokenizer_free(*tok);
        *tok = NULL;
        return -1;
    }
    return 0;
}

static const char *const hbpo__synth_settings[HBPO_SYNTH_SETTINGS] = {"natural", "efficient", "b8",
                                                                      "b16", "b32", "b40"};

HBPODEF const char *hbpo_synth_setting_name(int setting) {
    return setting >= 0 && setting < HBPO_SYNTH_SETTINGS ? hbpo__synth_settings[setting] : NULL;
}

HBPODEF int hbpo_synth_setting_budget(int setting) {
    return setting >= 2 && setting < HBPO_SYNTH_SETTINGS ? hbpo__synth_budgets[setting - 2] : 0;
}

HBPODEF int hbpo_synth_setting_suffix(int setting, int method, char *out, size_t cap) {
    hbpo_train_config c;
    if (!out || cap == 0) return hbpo__fail("hbpo_synth_setting_suffix: no output buffer");
    out[0] = 0;
    if (setting < 0 || setting >= HBPO_SYNTH_SETTINGS || hbpo_synth_train_config(method, 0, &c) != 0)
        return hbpo__fail("hbpo_synth_setting_suffix: setting %d, method %d", setting, method);
    if (setting == 0) return 0;
    if (setting == 1) {
        int n = snprintf(out, cap, "%s\n", HBPO_EFFICIENCY_PROMPT);
        return n < 0 || (size_t)n >= cap ? hbpo__fail("hbpo_synth_setting_suffix: buffer too small") : n;
    }
    return hbpo_rollout_suffix(&c, hbpo_synth_setting_budget(setting), out, cap);
}

HBPODEF void hbpo_eval_log_record(void *user, int index, const char *response, int outcome, int n_gen) {
    hbpo_eval_log *g = (hbpo_eval_log *)user;
    FILE *f;
    const unsigned char *p;
    int level;
    if (!g || !g->file || !g->data || index < 0 || index >= g->data->n) {
        if (g) g->failed = 1;
        return;
    }
    f = (FILE *)g->file;
    level = g->data->items[index].level;
    fprintf(f, "{\"run\":\"%s\",\"setting\":\"%s\",\"i\":%d,\"level\":%d,\"outcome\":%d,\"n_gen\":%d,\"response\":\"",
            g->run ? g->run : "", g->setting ? g->setting : "", index, level, outcome, n_gen);
    /* JSON string: quote, backslash and control bytes escaped; bytes >= 0x80
       (a byte-level model may emit invalid UTF-8) as \u00XX, so the line
       always parses. */
    for (p = (const unsigned char *)(response ? response : ""); *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p < 0x20 || *p >= 0x80) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    if (fputs("\"}\n", f) < 0) g->failed = 1;
}

HBPODEF int hbpo_eval_log_sum(const char *path, const char *run, const char *setting,
                              int max_new_tokens, hbpo_eval_result *r) {
    hbpo_jsonl rd;
    hbpo_json_doc doc;
    int rc, added = 0;
    if (!path || !run || !setting || !r) return hbpo__fail("hbpo_eval_log_sum: NULL argument");
    if (hbpo_jsonl_open(&rd, path) != 0) return -1;
    memset(&doc, 0, sizeof doc);
    while ((rc = hbpo_jsonl_next(&rd, &doc)) == 1) {
        const char *ru = hbpo_json_get_string(doc.root, "run"), *se = hbpo_json_get_string(doc.root, "setting");
        const hbpo_json *lv = hbpo_json_get(doc.root, "level"), *oc = hbpo_json_get(doc.root, "outcome");
        const hbpo_json *ng = hbpo_json_get(doc.root, "n_gen");
        int level, outcome, n_gen;
        if (!ru || !se || !lv || !oc || !ng || lv->type != HBPO_JSON_NUMBER || oc->type != HBPO_JSON_NUMBER ||
            ng->type != HBPO_JSON_NUMBER) {
            rc = hbpo__fail("%s line %ld: not an evaluation record", path, rd.line);
            break;
        }
        if (strcmp(ru, run) || strcmp(se, setting)) continue;
        level = lv->num < 0 ? 0 : lv->num > HBPO_EVAL_MAX_LEVEL ? HBPO_EVAL_MAX_LEVEL : (int)lv->num;
        outcome = (int)oc->num;
        n_gen = (int)ng->num;
        hbpo__bucket_add(&r->all, outcome, n_gen < max_new_tokens, n_gen, 0, 0);
        hbpo__bucket_add(&r->level[level], outcome, n_gen < max_new_tokens, n_gen, 0, 0);
        added++;
    }
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&rd);
    return rc < 0 ? -1 : added;
}

/* An axis maximum: 1, 2 or 5 times a power of ten at or above v. */
static double hbpo__svg_nice(double v) {
    double p = 1;
    if (!(v > 0)) return 1;
    while (p * 10 <= v) p *= 10;
    while (p > v) p /= 10;
    return v <= p ? p : v <= 2 * p ? 2 * p : v <= 5 * p ? 5 * p : 10 * p;
}

HBPODEF int hbpo_svg_chart(const char *path, const char *title, const char *xlabel,
                           const char *ylabel, const hbpo_svg_series *s, int n_series,
                           const char *const *xticks, int n_xticks) {
    const double W = 720, H = 420, L = 64, R = 210, T = 36, B = 52;
    double x0 = 0, x1 = 1, ymax = 0;
    int i, j, first = 1;
    FILE *f;
    if (!path || !s || n_series < 1) return hbpo__fail("hbpo_svg_chart: bad arguments");
    for (i = 0; i < n_series; i++)
        for (j = 0; j < s[i].n; j++) {
            double y = s[i].y[j] + (s[i].err ? s[i].err[j] : 0);
            if (first || s[i].x[j] < x0) x0 = s[i].x[j];
            if (first || s[i].x[j] > x1) x1 = s[i].x[j];
            if (y > ymax) ymax = y;
            first = 0;
        }
    if (xticks) { x0 = 0.5; x1 = n_xticks + 0.5; }
    else if (x1 <= x0) x1 = x0 + 1;
    ymax = hbpo__svg_nice(ymax);
    f = fopen(path, "w");
    if (!f) return hbpo__fail("%s: cannot write", path);
#define HBPO__SX(x) (L + (W - L - R) * ((x) - x0) / (x1 - x0))
#define HBPO__SY(y) (H - B - (H - B - T) * (y) / ymax)
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" font-family=\"sans-serif\" "
               "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H);
    fprintf(f, "<text x=\"%g\" y=\"20\" font-size=\"14\">%s</text>\n", L, title ? title : "");
    for (j = 0; j <= 5; j++) {
        double y = HBPO__SY(ymax * j / 5);
        fprintf(f, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#eee\"/>\n", L, y, W - R, y);
        fprintf(f, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", L - 6, y + 4, ymax * j / 5);
    }
    if (xticks)
        for (j = 0; j < n_xticks; j++)
            fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%s</text>\n", HBPO__SX(j + 1.0),
                    H - B + 18, xticks[j]);
    else
        for (j = 0; j <= 5; j++)
            fprintf(f, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%.4g</text>\n",
                    HBPO__SX(x0 + (x1 - x0) * j / 5), H - B + 18, x0 + (x1 - x0) * j / 5);
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n", L, H - B, W - R, H - B);
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n", L, T, L, H - B);
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%s</text>\n", (L + W - R) / 2, H - 14,
            xlabel ? xlabel : "");
    fprintf(f, "<text x=\"16\" y=\"%g\" transform=\"rotate(-90 16 %g)\" text-anchor=\"middle\">%s</text>\n",
            (H - B + T) / 2, (H - B + T) / 2, ylabel ? ylabel : "");
    for (i = 0; i < n_series; i++) {
        const char *col = s[i].color ? s[i].color : "black";
        const char *dash = s[i].dashed ? " stroke-dasharray=\"6 4\"" : "";
        if (!s[i].points && s[i].n > 1) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", col, dash);
            for (j = 0; j < s[i].n; j++) fprintf(f, "%.1f,%.1f ", HBPO__SX(s[i].x[j]), HBPO__SY(s[i].y[j]));
            fprintf(f, "\"/>\n");
        }
        for (j = 0; j < s[i].n; j++) {
            double x = HBPO__SX(s[i].x[j]), y = HBPO__SY(s[i].y[j]);
            if (s[i].err && s[i].err[j] > 0)
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x,
                        HBPO__SY(s[i].y[j] - s[i].err[j]), x, HBPO__SY(s[i].y[j] + s[i].err[j]), col);
            if (s[i].points || s[i].n <= 12)
                fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%d\" fill=\"%s\"/>\n", x, y, s[i].points ? 4 : 2, col);
        }
        fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                W - R + 10, T + 12 + 18.0 * i, W - R + 36, T + 12 + 18.0 * i, col, dash);
        fprintf(f, "<text x=\"%g\" y=\"%g\">%s</text>\n", W - R + 42, T + 16 + 18.0 * i,
                s[i].label ? s[i].label : "");
    }
#undef HBPO__SX
#undef HBPO__SY
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : hbpo__fail("%s: write failed", path);
}

HBPODEF int hbpo_synth_run_name(int method, uint64_t seed, int folder, char *out, size_t cap) {
    int n;
    if (!out || cap == 0) return hbpo__fail("hbpo_synth_run_name: no buffer");
    if (method == -1) n = snprintf(out, cap, "base");
    else if (!hbpo_synth_method_name(method)) return hbpo__fail("hbpo_synth_run_name: method %d", method);
    else n = snprintf(out, cap, "%s%cs%llu", hbpo_synth_method_name(method), folder ? '-' : '/',
                      (unsigned long long)seed);
    return n < 0 || (size_t)n >= cap ? hbpo__fail("hbpo_synth_run_name: buffer too small") : n;
}

HBPODEF int hbpo_synth_run_train_config(const hbpo_synth_run_config *rc, hbpo_train_config *c) {
    if (!rc || !c) return hbpo__fail("hbpo_synth_run_train_config: NULL argument");
    if (!(rc->lr >= 0.0f && rc->lr < 1.0f) || rc->batch_queries < 0 || rc->n_rollouts < 0 ||
        !(rc->temperature >= 0.0f && rc->temperature <= 10.0f))
        return hbpo__fail("hbpo_synth_run_train_config: lr %g, %d queries, %d rollouts, T %g (lr in [0, 1), "
                          "counts >= 0, T in [0, 10]; 0 keeps the miniature's)", (double)rc->lr, rc->batch_queries,
                          rc->n_rollouts, (double)rc->temperature);
    if (hbpo_synth_train_config(rc->method, rc->seed, c) != 0) return -1;
    if (rc->lr > 0) c->adamw.lr = rc->lr;
    if (rc->batch_queries > 0) c->batch_queries = rc->batch_queries;
    if (rc->n_rollouts > 0) c->n_rollouts = rc->n_rollouts;
    if (rc->temperature > 0) c->temperature = rc->temperature;
    return hbpo_train_config_check(c);
}

HBPODEF int hbpo_synth_run(const hbpo_synth_run_config *rc, hbpo_eval_result *res) {
    hbpo_model m;
    hbpo_tokenizer *tok = NULL;
    hbpo_dataset train, test;
    hbpo_trainer t;
    hbpo_train_config tc;
    hbpo_sampler_config sc = hbpo_sampler_config_default(); /* T 0.6, top-p 0.95 */
    hbpo_eval_log log;
    char path[1024], name[64], line[2048], suffix[128];
    FILE *f = NULL;
    double t0;
    int s, rc_ = -1, have_model = 0, have_trainer = 0;
    if (!rc || !rc->base_dir || !rc->out_dir || rc->steps < 0 || rc->eval_n < 1 || rc->n_settings < 1 ||
        rc->n_settings > HBPO_SYNTH_SETTINGS)
        return hbpo__fail("hbpo_synth_run: bad arguments");
    if (hbpo_synth_run_name(rc->method, rc->seed, 0, name, sizeof name) < 0) return -1;
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    if (hbpo_make_dir(rc->out_dir) != 0) return -1;
    if (hbpo_synth_load_base(rc->base_dir, rc->be, &m, &tok) != 0) return -1;
    have_model = 1;
    /* the same data for every run: training set and held-out set */
    if (hbpo_synth_dataset(&train, 7920, 2000, 1, HBPO_SYNTH_LEVELS) != 0 ||
        hbpo_synth_dataset(&test, 7921, rc->eval_n, 1, HBPO_SYNTH_LEVELS) != 0)
        goto done;
    if (rc->method >= 0 && rc->steps > 0) {
        if (hbpo_synth_run_train_config(rc, &tc) != 0) goto done;
        if (hbpo_trainer_init(&t, &tc, &m, tok, &train) != 0) goto done;
        have_trainer = 1;
        snprintf(path, sizeof path, "%s/metrics.jsonl", rc->out_dir);
        if (!(f = fopen(path, "w"))) { hbpo__fail("%s: cannot write", path); goto done; }
        t0 = hbpo_wall_time();
        for (s = 0; s < rc->steps; s++) {
            hbpo_step_metrics mt;
            if (hbpo_trainer_step(&t, &mt) != 0) goto done;
            hbpo_metrics_json(&mt, tc.budget.k, line, sizeof line);
            fprintf(f, "%s\n", line);
            if (rc->progress && ((s + 1) % 10 == 0 || s + 1 == rc->steps)) {
                char what[96];
                snprintf(what, sizeof what, "%s step", name);
                snprintf(line, sizeof line, "reward %6.3f  acc %5.1f%%  tokens %5.1f", mt.reward_mean,
                         100 * mt.accuracy, mt.ngen_mean);
                hbpo_progress(what, s + 1, rc->steps, t0, line);
            }
        }
        if (fclose(f) != 0) { f = NULL; hbpo__fail("%s: write failed", path); goto done; }
        f = NULL;
    }
    snprintf(path, sizeof path, "%s/eval.jsonl", rc->out_dir);
    if (!(f = fopen(path, "w"))) { hbpo__fail("%s: cannot write", path); goto done; }
    sc.max_new_tokens = HBPO_SYNTH_EVAL_MAX;
    sc.seed = 12345;
    for (s = 0; s < rc->n_settings; s++) {
        hbpo_eval_result r;
        if (hbpo_synth_setting_suffix(s, rc->method < 0 ? HBPO_SYNTH_HBPO : rc->method, suffix,
                                      sizeof suffix) < 0)
            goto done;
        log.file = f; log.data = &test; log.run = name; log.setting = hbpo_synth_setting_name(s); log.failed = 0;
        if (hbpo_evaluate(&m, tok, &test, HBPO_CHAT_CHATML, suffix, &sc, 256, &r, hbpo_eval_log_record, &log) != 0)
            goto done;
        if (log.failed) { hbpo__fail("%s: write failed", path); goto done; }
        if (res) res[s] = r;
    }
    if (fclose(f) != 0) { f = NULL; hbpo__fail("%s: write failed", path); goto done; }
    f = NULL;
    rc_ = 0;
done:
    if (f) fclose(f);
    if (have_trainer) hbpo_trainer_free(&t);
    if (have_model) hbpo_model_free(&m);
    hbpo_tokenizer_free(tok);
    hbpo_dataset_free(&train);
    hbpo_dataset_free(&test);
    return rc_;
}

/* ------------------------------------------------------------------------- */
/* 13. I/O: files, JSON, JSON Lines                                          */
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
    const char *p0 = p;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
    HBPO__OPS(p - p0 + 1);
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
    HBPO__OPS((const char *)p - ps->p);
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
    HBPO__OPS(n);
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
static int hbpo__json_key(hbpo__json_parser *ps, const char **key, size_t *klen) {
    char what[16];
    ps->p = hbpo__json_ws(ps->p, ps->end);
    if (ps->p >= ps->end || *ps->p != '"')
        return hbpo__json_error(ps, ps->p, "expected a string key, found %s",
                                hbpo__json_what(ps, ps->p, what));
    if (hbpo__json_string(ps, key, klen)) return -1;
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
            HBPO__OPS(1);
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
    size_t key_len = 0;
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
        HBPO__OPS(1);
        if (depth) {
            ps.nodes[stack[depth - 1]].len++;
            ps.nodes[idx].key = key;
            ps.nodes[idx].key_len = key_len;
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
                if (type == HBPO_JSON_OBJECT && hbpo__json_key(&ps, &key, &key_len)) goto fail;
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
                if (ps.nodes[top].type == HBPO_JSON_OBJECT && hbpo__json_key(&ps, &key, &key_len))
                    goto fail;
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
    if (!strcmp(path, "-")) { /* standard input: read, never closed */
        r->file = stdin;
        return 0;
    }
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
    if (r->file && r->file != (void *)stdin) fclose((FILE *)r->file);
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
