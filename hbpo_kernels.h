/* hbpo_kernels.h - the arithmetic the CUDA backend shares with the host.

   What: the per-element and per-row arithmetic of every CUDA kernel in
   hbpo_cuda.cu, written once as `HBPO_HD` functions (__host__ __device__
   under nvcc, plain static inline under a C or C++ compiler), so the host
   tests (tests/test_cuda_host.c) build the very code the GPU runs, emulate
   each kernel's thread loop, and compare it with the CPU backend
   (hbpo_backend_cpu()). Also two pure host parts the tests replay:
     - the cuBLAS argument mapping of every product the model issues
       (hbpo_k_gemm_*: row-major hbpo products -> column-major cuBLAS), and
     - the device memory plan of a config (hbpo_gpu_plan_*).
   Include hbpo.h first. Nothing here allocates, reports errors or keeps
   state; hbpo_cuda.cu adds the launches, device memory and cuBLAS calls.

   Contents
     1. rounding of matmul inputs (tf32, bf16)        hbpo_k_round
     2. element-wise ops (SwiGLU, AdamW)              hbpo_k_swiglu_*, hbpo_k_adamw
     3. RMSNorm, RoPE                                 hbpo_k_rmsnorm_*, hbpo_k_rope_*
     4. attention rows (online softmax, backward)     hbpo_k_attn_*
     5. log-prob rows                                 hbpo_k_logprob_*
     6. sampling (one row, hbpo_sample's algorithm)   hbpo_k_sample_row
     7. cuBLAS argument mapping                       hbpo_k_gemm_*
     8. device memory plan                            hbpo_gpu_plan_*
   Dimension legend as in hbpo.h (B, T, S, NH, KVH, HS, V, C, F). */
#ifndef HBPO_KERNELS_H
#define HBPO_KERNELS_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __CUDACC__
#define HBPO_HD static __host__ __device__ inline
#else
#define HBPO_HD static inline
#endif

/* Threads of a block in every row-reduction kernel (a power of two): thread
   t takes elements t, t + HBPO_K_THREADS, ... and the block adds the shares
   with hbpo_k_tree_sum, so the order of every sum is fixed. */
#define HBPO_K_THREADS 256
/* Column sums over rows (dbias, RMSNorm's dw) run in two fixed stages: each
   chunk of HBPO_K_COLSUM_ROWS rows is summed in row order, then the chunk
   sums in chunk order; parallel and deterministic, no atomics. */
#define HBPO_K_COLSUM_ROWS 256

/* ---- 1. Rounding of matmul inputs ----------------------------------------- */
/* Round-to-nearest-even of a float to `keep` mantissa bits (bf16: 7, tf32:
   10), returned as a float; NaN stays NaN (bf16: the quiet NaN 0x7FC0 as
   hbpo_f32_to_bf16 and torch give), infinities stay infinite. The bf16 case
   equals hbpo_bf16_to_f32(hbpo_f32_to_bf16(x)) for every x. */
HBPO_HD float hbpo_k_round_mantissa(float x, int keep) {
    uint32_t u, drop = 23u - (uint32_t)keep, half, mask;
    float r;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7F800000u) == 0x7F800000u) {
        if (u & 0x007FFFFFu) u = (u & 0x80000000u) | 0x7FC00000u; /* NaN -> quiet NaN */
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
HBPO_HD float hbpo_k_round(float x, int precision) {
    return precision == 2 ? hbpo_k_round_mantissa(x, 7)
         : precision == 1 ? hbpo_k_round_mantissa(x, 10) : x;
}
/* The 16 bits of bf16(x) (round to nearest even), as cuBLAS reads CUDA_R_16BF. */
HBPO_HD uint16_t hbpo_k_bf16_bits(float x) {
    float r = hbpo_k_round_mantissa(x, 7);
    uint32_t u;
    memcpy(&u, &r, sizeof u);
    return (uint16_t)(u >> 16);
}

/* ---- 2. Element-wise ops ------------------------------------------------------ */
/* F.silu(gate) * up (the CPU backend's formula, operation for operation). */
HBPO_HD float hbpo_k_swiglu_forward(float g, float u) { return g / (1.0f + expf(-g)) * u; }
/* d silu(g)/dg = s (1 + g (1 - s)), s = sigmoid(g). */
HBPO_HD void hbpo_k_swiglu_backward(float *dg, float *du, float d, float g, float u) {
    float s = 1.0f / (1.0f + expf(-g));
    *dg = d * u * s * (1.0f + g * (1.0f - s));
    *du = d * g * s;
}
/* One element of torch.optim.AdamW (step = lr / bc1, bc2_sqrt = sqrt(bc2)). */
HBPO_HD void hbpo_k_adamw(float *p, float *m, float *v, float g, float grad_scale, float lr,
                          float b1, float b2, float eps, float wd, float step, float bc2_sqrt) {
    float gi = g * grad_scale;
    *p *= 1.0f - lr * wd;
    *m = b1 * *m + (1.0f - b1) * gi;
    *v = b2 * *v + (1.0f - b2) * gi * gi;
    *p -= step * *m / (sqrtf(*v) / bc2_sqrt + eps);
}

/* ---- 3. RMSNorm, RoPE --------------------------------------------------------- */
/* rstd = 1 / sqrt(mean(x^2) + eps) from ss = sum x^2 (double). */
HBPO_HD float hbpo_k_rmsnorm_rstd(double ss, int C, float eps) {
    return (float)(1.0 / sqrt(ss / C + (double)eps));
}
/* One thread's shares of a row's sums (double): sum x^2, and sum dy w x. */
HBPO_HD double hbpo_k_sumsq_partial(const float *x, int lo, int step, int n) {
    double s = 0.0;
    int c;
    for (c = lo; c < n; c += step) s += (double)x[c] * x[c];
    return s;
}
HBPO_HD double hbpo_k_dot3_partial(const float *dy, const float *w, const float *x, int lo,
                                   int step, int n) {
    double s = 0.0;
    int c;
    for (c = lo; c < n; c += step) s += (double)dy[c] * w[c] * x[c];
    return s;
}
/* The backward's row constant k = mean(dy * w * x) * r^3 from dot = sum dy w x. */
HBPO_HD float hbpo_k_rmsnorm_k(double dot, int C, float r) { return (float)(dot / C) * r * r * r; }
/* dx = r * dy * w - k * x. */
HBPO_HD float hbpo_k_rmsnorm_dx(float dy, float w, float x, float r, float k) {
    return r * dy * w - k * x;
}
/* The rotary angle of pair i at position pos, as transformers computes it in
   float32: inv_freq = 1 / theta^(2i / HS), angle = pos * inv_freq. */
HBPO_HD void hbpo_k_rope_cs(float *c, float *s, int pos, int i, int HS, float theta) {
    float inv = 1.0f / powf(theta, (float)(2 * i) / (float)HS);
    float ang = (float)pos * inv;
    *c = (float)cos((double)ang);
    *s = (float)sin((double)ang);
}
/* x*cos + rotate_half(x)*sin on the pair (a, b) = (x[i], x[i + HS/2]);
   sign -1 rotates back (the backward). */
HBPO_HD void hbpo_k_rope_pair(float *a, float *b, float c, float s, float sign) {
    float x0 = *a, x1 = *b;
    s *= sign;
    *a = x0 * c - x1 * s;
    *b = x1 * c + x0 * s;
}

/* ---- 4. Attention rows -------------------------------------------------------- */
/* One thread computes one query row (flash-style: the scores are never stored;
   an online softmax keeps the running max m, the running sum l and the
   weighted sum of values in acc[HS]). Layout as hbpo.h's attention_forward:
   q, out (B,T,NH,HS), k, v: (n_slots,S,KVH,HS); the query (b,t,h) sits at
   position p = pos0[b] + t, reads cache slot sl and attends keys 0..p.
   Returns the logsumexp of the scaled scores. acc: HS floats of scratch. */
HBPO_HD float hbpo_k_attn_forward_row(float *out, float *acc, const float *qt, const float *kb,
                                      const float *vb, int keys, int KVD, int HS, float scale) {
    float m = -INFINITY, l = 0.0f;
    int j, d;
    for (d = 0; d < HS; d++) acc[d] = 0.0f;
    for (j = 0; j < keys; j++) {
        const float *kj = kb + (size_t)j * KVD, *vj = vb + (size_t)j * KVD;
        float s = 0.0f, mn, corr, p;
        for (d = 0; d < HS; d++) s += qt[d] * kj[d];
        s *= scale;
        mn = s > m ? s : m;
        corr = expf(m - mn); /* 0 on the first key (m = -inf) */
        p = expf(s - mn);
        l = l * corr + p;
        for (d = 0; d < HS; d++) acc[d] = acc[d] * corr + p * vj[d];
        m = mn;
    }
    for (d = 0; d < HS; d++) out[d] = acc[d] / l;
    return m + logf(l);
}
/* D = rowsum(dO * O) of one query row (the softmax backward's constant). */
HBPO_HD float hbpo_k_attn_D(const float *dout, const float *out, int HS) {
    float D = 0.0f;
    int d;
    for (d = 0; d < HS; d++) D += dout[d] * out[d];
    return D;
}
/* dq of one query row: dq = scale * sum_j P_j (dO.v_j - D) k_j with
   P_j = exp(scale q.k_j - lse), over keys 0..t (pos0 = 0, S = T). */
HBPO_HD void hbpo_k_attn_dq_row(float *dq, const float *qt, const float *dot_, const float *kb,
                                const float *vb, int keys, int KVD, int HS, float scale,
                                float lse, float D) {
    int j, d;
    for (d = 0; d < HS; d++) dq[d] = 0.0f;
    for (j = 0; j < keys; j++) {
        const float *kj = kb + (size_t)j * KVD, *vj = vb + (size_t)j * KVD;
        float s = 0.0f, dp = 0.0f, p, ds;
        for (d = 0; d < HS; d++) { s += qt[d] * kj[d]; dp += dot_[d] * vj[d]; }
        p = expf(s * scale - lse);
        ds = p * (dp - D) * scale;
        for (d = 0; d < HS; d++) dq[d] += ds * kj[d];
    }
}
/* dk, dv of one key row j of kv head g: the sum over the query heads of the
   group (in order) and the queries t = j..T-1 (in order), so the result is
   deterministic with no atomics. q, dout (T,QD) of sequence b, offset to head
   h0 = g * group; lse, D (NH,T) of sequence b, offset likewise. */
HBPO_HD void hbpo_k_attn_dkdv_row(float *dk, float *dv, const float *kj, const float *vj,
                                  const float *qb, const float *doutb, const float *lseb,
                                  const float *Db, int j, int T, int QD, int group, int HS,
                                  float scale) {
    int e, t, d;
    for (d = 0; d < HS; d++) dk[d] = dv[d] = 0.0f;
    for (e = 0; e < group; e++) {
        for (t = j; t < T; t++) {
            const float *qt = qb + (size_t)t * QD + (size_t)e * HS;
            const float *dot_ = doutb + (size_t)t * QD + (size_t)e * HS;
            float s = 0.0f, dp = 0.0f, p, ds;
            for (d = 0; d < HS; d++) { s += qt[d] * kj[d]; dp += dot_[d] * vj[d]; }
            p = expf(s * scale - lseb[(size_t)e * T + t]);
            ds = p * (dp - Db[(size_t)e * T + t]) * scale;
            for (d = 0; d < HS; d++) {
                dk[d] += ds * qt[d];
                dv[d] += p * dot_[d];
            }
        }
    }
}

/* ---- 5. Log-prob rows ----------------------------------------------------------- */
/* One row of logits z (V) at inverse temperature inv, given its max mx (of
   z*inv): sum e^(z inv - mx) and sum e^(..) (z inv - mx) over j = lo, lo+step,
   .. < V (one thread's share; the kernel adds the shares in a fixed tree). */
HBPO_HD void hbpo_k_logprob_partial(double *sum, double *pz, const float *z, int lo, int step,
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
HBPO_HD void hbpo_k_logprob_finish(float *logp, float *entropy, float zt, float inv, float mx,
                                   double sum, double pz) {
    double lse = log(sum);
    if (logp) *logp = (float)((double)(zt * inv - mx) - lse);
    if (entropy) *entropy = (float)(lse - pz / sum);
}
/* dlogits_j = g (onehot_j - softmax_j), g = dlogp inv. */
HBPO_HD float hbpo_k_logprob_grad(float z, float inv, float mx, float inv_sum, float g,
                                  int is_target) {
    return -g * (expf(z * inv - mx) * inv_sum) + (is_target ? g : 0.0f);
}
/* Largest-first tree sum of n (a power of two) partial sums in place; the
   kernels' shared-memory reductions follow exactly this order. */
HBPO_HD double hbpo_k_tree_sum(double *x, int n) {
    int w, i;
    for (w = n / 2; w > 0; w /= 2)
        for (i = 0; i < w; i++) x[i] += x[i + w];
    return x[0];
}

/* ---- 6. Sampling --------------------------------------------------------------- */
/* hbpo_sample's algorithm for one row (see hbpo.h section 9 for the meaning):
   the same filters, thresholds, tie rules (lower id first), fallbacks and
   summation orders, so on the host it returns exactly hbpo_sample's token and
   log-prob (tests/test_cuda_host.c checks this on ties, top-k, top-p and
   rounding edge cases). hbpo.h keeps its own copy because the single header
   cannot include this file; the test is what keeps the two equal.
   Returns the token, or -1 when a scaled logit is not finite (the CUDA
   backend turns that into its error with the row named). */
HBPO_HD float hbpo_k_median3(const float *x, int lo, int hi) {
    float a = x[lo], b = x[lo + (hi - lo) / 2], c = x[hi - 1];
    return a > b ? (b > c ? b : (a > c ? c : a)) : (a > c ? a : (b > c ? c : b));
}
HBPO_HD void hbpo_k_partition3(float *x, int lo, int hi, float pivot, int *gt, int *lt) {
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
HBPO_HD float hbpo_k_kth_largest(float *x, int n, int k) {
    int lo = 0, hi = n, want = k - 1;
    for (;;) {
        float pivot = hbpo_k_median3(x, lo, hi);
        int gt, lt;
        hbpo_k_partition3(x, lo, hi, pivot, &gt, &lt);
        if (want < gt) hi = gt;
        else if (want < lt) return pivot;
        else lo = lt;
    }
}
HBPO_HD double hbpo_k_nucleus(float *x, int n, float mx, double target, float *thr, int *n_ties) {
    int lo = 0, hi = n, i;
    double above = 0.0;
    for (;;) {
        float pivot = hbpo_k_median3(x, lo, hi);
        double m_gt = 0.0, e, need;
        int gt, lt;
        hbpo_k_partition3(x, lo, hi, pivot, &gt, &lt);
        for (i = lo; i < gt; i++) m_gt += exp((double)(x[i] - mx));
        if (gt > lo && above + m_gt >= target) { hi = gt; continue; }
        e = exp((double)(pivot - mx));
        if (above + m_gt + (lt - gt) * e >= target || lt == hi) {
            need = ceil((target - above - m_gt) / e);
            *n_ties = !(need <= (double)(lt - gt)) ? lt - gt : need < 1.0 ? 1 : (int)need;
            *thr = pivot;
            return above + m_gt + *n_ties * e;
        }
        above += m_gt + (lt - gt) * e;
        lo = lt;
    }
}
typedef struct { float thr; int n_ties, seen; } hbpo_k_kept;
HBPO_HD int hbpo_k_is_kept(hbpo_k_kept *k, float z) {
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
HBPO_HD void hbpo_k_argmax_share(float *best, int *arg, int *finite, const float *z, int lo,
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
HBPO_HD void hbpo_k_argmax_merge(float *best, int *arg, float b2, int a2) {
    if (a2 < 0) return;
    if (*arg < 0 || b2 > *best || (b2 == *best && a2 < *arg)) { *best = b2; *arg = a2; }
}

/* logits (V) are read only; work (V) is scratch; coin in [0,1) (unused when
   greedy, temperature <= 0). */
HBPO_HD int hbpo_k_sample_row(const float *logits, int V, float temperature, float top_p,
                              int top_k, float coin, float *work, float *logp) {
    int j, tok = 0, greedy = temperature <= 0.0f, last = -1;
    float inv = greedy ? 1.0f : 1.0f / temperature, mx = -INFINITY;
    double sum = 0.0, lse, kept_mass, acc, target;
    hbpo_k_kept kept;
    for (j = 0; j < V; j++) {
        float z = logits[j] * inv;
        if (!(z - z == 0.0f)) return -1; /* inf or NaN (isfinite without <math.h> macros) */
        if (z > mx) { mx = z; tok = j; }
    }
    for (j = 0; j < V; j++) sum += exp((double)(logits[j] * inv - mx));
    lse = log(sum);
    if (!greedy && !(top_k == 1 || V == 1)) {
        int k = top_k > 0 && top_k < V ? top_k : 0, n = 0, g;
        kept.thr = -INFINITY; kept.n_ties = 0; kept.seen = 0;
        kept_mass = sum;
        if (k) {
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
            double cut = k ? -INFINITY : lse + log(0.5 * (1.0 - (double)top_p) / (double)V);
            for (j = 0; j < V; j++) {
                float z = logits[j] * inv;
                if (hbpo_k_is_kept(&kept, z) && (double)(z - mx) >= cut) work[n++] = z;
            }
            kept.seen = 0;
            kept_mass = hbpo_k_nucleus(work, n, mx, (double)top_p * kept_mass, &kept.thr,
                                       &kept.n_ties);
        }
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
        if (tok < 0) tok = last;
    }
    if (logp) *logp = (float)((double)(logits[tok] * inv - mx) - lse);
    return tok;
}

/* ---- 7. cuBLAS argument mapping ----------------------------------------------------- */
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

/* ---- 8. Device memory plan -------------------------------------------------------- */
/* Bytes the CUDA backend needs for a config, following hbpo.h's buffers:
   the parameter buffer and its mirrors (fp32 master weights, gradients,
   AdamW m and v), the training activations of one micro-batch (hbpo.h's
   saved and scratch buffers per token, hbpo__acts_alloc), the LM-head chunk
   of ~2^23 logits, the key/value cache of a rollout batch with its decoding
   activations, and the backend's workspace (bf16 copies of the largest
   product's inputs; the sampler's scratch row per sequence). */
typedef struct {
    double params;      /* parameters (count) */
    double weights;     /* bytes, and so on */
    double grads, adam; /* adam: m and v */
    double activations; /* training, micro_batch x seq tokens */
    double logits;      /* LM-head chunk (training and decoding) */
    double kv_cache;    /* rollout_batch x max_len, every layer, k and v */
    double decode;      /* decoding activations and sampler scratch */
    double workspace;   /* bf16 inputs of the largest product */
    double total;
} hbpo_gpu_plan;

static inline double hbpo_gpu_plan_params(const hbpo_model_config *c) {
    double C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    double QD = (double)c->num_attention_heads * c->head_dim;
    double KVD = (double)c->num_key_value_heads * c->head_dim;
    double layer = 2 * C + QD * C + 2 * KVD * C + C * QD + 3 * F * C;
    if (c->attention_bias) layer += QD + 2 * KVD;
    if (c->qk_norm) layer += 2.0 * c->head_dim;
    return V * C * (c->tie_word_embeddings ? 1 : 2) + C + c->num_hidden_layers * layer;
}

/* micro_batch x seq training tokens; rollout_batch sequences of max_len in
   the cache (0: no generation). */
static inline hbpo_gpu_plan hbpo_gpu_plan_compute(const hbpo_model_config *c, int micro_batch,
                                                  int seq, int rollout_batch, int max_len) {
    hbpo_gpu_plan p;
    double C = c->hidden_size, F = c->intermediate_size, V = c->vocab_size;
    double L = c->num_hidden_layers, NH = c->num_attention_heads, KVH = c->num_key_value_heads;
    double QD = NH * c->head_dim, KVD = KVH * c->head_dim;
    double N = (double)micro_batch * seq, R = (double)rollout_batch;
    double per_tok, rows, big;
    memset(&p, 0, sizeof p);
    p.params = hbpo_gpu_plan_params(c);
    p.weights = 4 * p.params;
    p.grads = 4 * p.params;
    p.adam = 8 * p.params;
    /* saved per token and layer: x, ln1, ln2, mid (C each), rstd1/2, q, att
       (QD), k, v (KVD), gate, up (F), lse (NH); qk_norm adds q/k before it */
    per_tok = L * (4 * C + 2 + 2 * QD + 2 * KVD + 2 * F + NH);
    if (c->qk_norm) per_tok += L * (QD + KVD + NH + KVH) + QD + KVD;
    /* plus x after the last layer, lnf, rstdf, ids, h (F), backward scratch
       dres, dln (C), dq, datt (QD), dk, dv (KVD), dF1, dF2 (F), logp etc. */
    per_tok += 2 * C + 1 + 3 + F + 2 * C + 2 * QD + 2 * KVD + 2 * F + 3;
    p.activations = 4 * N * per_tok;
    rows = floor(8388608.0 / V);
    if (rows < 1) rows = 1;
    p.logits = 4 * rows * (V + C);
    p.kv_cache = max_len > 0 ? 4 * 2 * L * R * (double)max_len * KVD : 0.0;
    /* one layer's activations for R tokens (decoding) plus the sampler's
       scratch row (V) per sequence */
    p.decode = rollout_batch > 0 ? 4 * R * (3 * C + 2 * QD + 2 * KVD + 3 * F + V) : 0.0;
    big = V * C > F * C ? V * C : F * C;
    p.workspace = 2 * (big + N * (F > C ? F : C)); /* bf16 copies of w and x */
    p.total = p.weights + p.grads + p.adam + p.activations + p.logits + p.kv_cache + p.decode +
              p.workspace;
    return p;
}

/* Whether the plan fits free_bytes: 0, or -1 with msg naming what does not
   fit and what would, e.g. "micro_batch 8 x 4096 needs 61.0 GiB, the GPU has
   39.0 free; micro_batch 4 x 4096 fits". The search keeps the rollout batch
   when it can and halves the micro-batch, then the sequence; when even one
   short sequence does not fit beside the KV cache, it halves the rollout
   batch; when the model's fp32 state alone does not fit, it says so. */
static inline int hbpo_gpu_plan_fit(const hbpo_model_config *c, int micro_batch, int seq,
                                    int rollout_batch, int max_len, double free_bytes,
                                    char *msg, size_t cap) {
    const double GiB = 1024.0 * 1024.0 * 1024.0;
    hbpo_gpu_plan p = hbpo_gpu_plan_compute(c, micro_batch, seq, rollout_batch, max_len);
    int mb = micro_batch, sq = seq, rb = rollout_batch;
    if (p.total <= free_bytes) return 0;
    if (p.weights + p.grads + p.adam > free_bytes) {
        snprintf(msg, cap, "the model alone (%.2fB parameters: weights, gradients and AdamW "
                 "moments in fp32) needs %.1f GiB, the GPU has %.1f free; nothing fits",
                 p.params / 1e9, (p.weights + p.grads + p.adam) / GiB, free_bytes / GiB);
        return -1;
    }
    while (mb > 1 && hbpo_gpu_plan_compute(c, mb, sq, rb, max_len).total > free_bytes) mb /= 2;
    while (sq > 1 && hbpo_gpu_plan_compute(c, mb, sq, rb, max_len).total > free_bytes) sq /= 2;
    if (hbpo_gpu_plan_compute(c, mb, sq, rb, max_len).total <= free_bytes && sq >= seq / 8) {
        snprintf(msg, cap, "micro_batch %d x %d needs %.1f GiB, the GPU has %.1f free; "
                 "micro_batch %d x %d fits", micro_batch, seq, p.total / GiB, free_bytes / GiB,
                 mb, sq);
        return -1;
    }
    mb = micro_batch;
    while (rb > 1 && hbpo_gpu_plan_compute(c, 1, seq, rb, max_len).total > free_bytes) rb /= 2;
    while (mb * 2 <= micro_batch && hbpo_gpu_plan_compute(c, mb * 2, seq, rb, max_len).total <= free_bytes)
        mb *= 2;
    if (rollout_batch > 0 && hbpo_gpu_plan_compute(c, mb, seq, rb, max_len).total <= free_bytes) {
        snprintf(msg, cap, "micro_batch %d x %d with rollout batch %d x %d needs %.1f GiB (KV "
                 "cache %.1f), the GPU has %.1f free; micro_batch %d x %d with rollout batch %d "
                 "fits", micro_batch, seq, rollout_batch, max_len, p.total / GiB,
                 p.kv_cache / GiB, free_bytes / GiB, mb, seq, rb);
        return -1;
    }
    snprintf(msg, cap, "micro_batch %d x %d needs %.1f GiB, the GPU has %.1f free; not even "
             "micro_batch 1 x %d fits beside the model's %.1f GiB", micro_batch, seq,
             p.total / GiB, free_bytes / GiB, seq / 8 > 0 ? seq / 8 : 1,
             (p.weights + p.grads + p.adam) / GiB);
    return -1;
}

/* ---- In hbpo_cuda.cu (link it) ------------------------------------------------------------- */
/* hbpo_gpu_plan_fit against the free memory
   cudaMemGetInfo reports. 0, or -1 with the plan's message in
   hbpo_last_error(). */
#ifdef __cplusplus
extern "C" {
#endif
int hbpo_cuda_plan_check(const hbpo_model_config *c, int micro_batch, int seq, int rollout_batch,
                         int max_len);
/* "NVIDIA H100 80GB HBM3, sm_90, 79.1 GiB free of 79.6" for the backend's
   device into buf (benchmarks and reports name the GPU). */
void hbpo_cuda_describe(char *buf, size_t cap);
#ifdef __cplusplus
}
#endif

#endif /* HBPO_KERNELS_H */
