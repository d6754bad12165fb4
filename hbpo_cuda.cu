/* hbpo_cuda.cu - the CUDA backend of hbpo.h: kernels, device memory, cuBLAS,
   and the NCCL communicator.

   hbpo_backend_cuda(device) returns hbpo.h's operation table filled with
   device operations, so hbpo_model_forward/backward/step, hbpo_generate and
   the trainer run on the GPU with their control flow written once in hbpo.h
   (house style: this file adds kernels and device memory only; no second
   copy of the structs, the layer order or the trainer).
   Every kernel's arithmetic is in hbpo.h (section 9, hbpo_k_*) as
   __host__ __device__ functions, the very ones the CPU backend calls, which
   tests/test_cuda_host.c also runs in the kernels' thread order and checks
   against the CPU backend; the cuBLAS arguments of every product come from
   hbpo.h's mapping functions (hbpo_k_gemm_*), replayed there on the host.

   STATUS: this code compiles and links (make cuda, -Werror) but has NOT run
   on a GPU: nothing here is verified on a device. make test-cuda
   (tests/gpu/test_cuda.c) is the check to run on one (tools/gpu_check.sh).
   make test runs the same program with this file on a CPU emulator of the
   CUDA runtime, cuBLAS and CUB (tests/gpu/emu/cuda_emu.h): every kernel,
   launch, copy and product runs there, with host pointers, writes past an
   allocation and bad launch configurations caught; timing, races and real
   cuBLAS are not.

   Design
   - One device per process, one stream (the legacy default stream, so the
     blocking upload/download calls order themselves after the kernels), one
     cuBLAS handle. Operations are called from one host thread.
   - Errors: compute operations are void and asynchronous; the FIRST failure
     (a CUDA or cuBLAS call, a kernel launch) is kept as "file:line: call:
     message" and sync() reports it through hbpo_set_error (hbpo_last_error())
     and clears it. alloc returns NULL with a message; attention_* and sample
     return -1 with a message.
   - Determinism: no floating-point atomics anywhere. Reductions run in a
     fixed tree (HBPO_K_THREADS shares, hbpo_k_tree_sum's order); the
     embedding backward sorts (token, row) pairs stably with CUB and adds each
     token's rows in row order; dk/dv of attention are summed per query head
     by the thread that owns (key row, head), then over the group's heads in
     order; dbias and RMSNorm's dw in two fixed stages
     (chunks of rows, then the chunks). cuBLAS is bitwise reproducible on one GPU model
     (CUBLAS_GEMM_DEFAULT, atomics off).
   - Matmul precision: fp32 (CUBLAS_COMPUTE_32F), tf32
     (CUBLAS_COMPUTE_32F_FAST_TF32: cuBLAS rounds the inputs), bf16 (a kernel
     rounds x, w or dout to bf16 into a workspace, cublasGemmEx with
     CUDA_R_16BF inputs, fp32 output and accumulation). The bias is copied
     into the output first and the product added (beta = 1), as on the CPU.
   - Hand-written here because no library does them on our layout: the
     attention kernels (one thread per query row with an online softmax that
     saves the logsumexp - the flash-attention recurrence; for head sizes up
     to 128 the forward and dq stage tiles of keys and values, and dk/dv
     tiles of queries, in shared memory for a block of 64 rows; no tensor
     cores), the sampler
     (greedy, plain and top-p sampling: a block per row, the top-p nucleus
     selected by one thread from the candidates; with top-k, one thread per
     row running hbpo_sample's exact algorithm), and the small row kernels.

   Build: make cuda (nvcc -arch=sm_90, -lcublas, -lnccl). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cub/cub.cuh>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#ifdef HBPO_USE_NCCL
#include <nccl.h>
#endif

#include "hbpo.h"


/* The architecture the fat binary holds (make cuda passes it from CUDA_ARCH). */
#ifndef HBPO__CUDA_ARCH_NUM
#define HBPO__CUDA_ARCH_NUM 90
#endif

/* ---- state and errors ----------------------------------------------------------- */

static struct {
    int            device;   /* -1 until hbpo_backend_cuda succeeds */
    cublasHandle_t blas;
    char           err[512]; /* first failure since the last sync ("" none) */
    void          *ws;       /* workspace: bf16 copies, sort buffers, sampler rows */
    size_t         ws_bytes;
} hbpo__cu = {-1, NULL, {0}, NULL, 0};

/* Keeps the first failure as "file:line: call: message". */
static void hbpo__cu_record(const char *file, int line, const char *call, const char *msg) {
    if (hbpo__cu.err[0]) return;
    snprintf(hbpo__cu.err, sizeof hbpo__cu.err, "%s:%d: %s: %s", file, line, call, msg);
}
static int hbpo__cu_check(cudaError_t e, const char *file, int line, const char *call) {
    char msg[256];
    if (e == cudaSuccess) return 0;
    snprintf(msg, sizeof msg, "%s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
    hbpo__cu_record(file, line, call, msg);
    return -1;
}
static const char *hbpo__cublas_name(cublasStatus_t s) {
    switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "cuBLAS error";
    }
}
/* A CUDA runtime call in an operation: recorded, the operation goes on (or
   returns where it says so). */
#define HBPO_CU(call) hbpo__cu_check((call), __FILE__, __LINE__, #call)
#define HBPO_CUBLAS(call)                                                                \
    do {                                                                                 \
        cublasStatus_t hbpo__s = (call);                                                 \
        if (hbpo__s != CUBLAS_STATUS_SUCCESS)                                            \
            hbpo__cu_record(__FILE__, __LINE__, #call, hbpo__cublas_name(hbpo__s));      \
    } while (0)
/* After a kernel launch: a bad configuration shows here, a fault at sync. */
#define HBPO_LAUNCHED(name) hbpo__cu_check(cudaGetLastError(), __FILE__, __LINE__, name)

/* Blocks of HBPO_K_THREADS for n independent items (grid-stride loops
   cover the rest). */
static unsigned hbpo__blocks(size_t n) {
    size_t b = (n + HBPO_K_THREADS - 1) / HBPO_K_THREADS;
    if (b < 1) b = 1;
    if (b > 65535u * 16u) b = 65535u * 16u;
    return (unsigned)b;
}
#define HBPO__GRID_LOOP(i, n)                                                             \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);               \
         i += (size_t)gridDim.x * blockDim.x)

/* The workspace, grown on demand (the old one is freed: cudaFree waits for
   the kernels that use it). NULL with the failure recorded. */
static void *hbpo__cu_ws(size_t bytes) {
    if (bytes <= hbpo__cu.ws_bytes) return hbpo__cu.ws;
    if (hbpo__cu.ws) HBPO_CU(cudaFree(hbpo__cu.ws));
    hbpo__cu.ws = NULL;
    hbpo__cu.ws_bytes = 0;
    if (HBPO_CU(cudaMalloc(&hbpo__cu.ws, bytes)) != 0) return NULL;
    hbpo__cu.ws_bytes = bytes;
    return hbpo__cu.ws;
}
static size_t hbpo__align(size_t b) { return (b + 255) & ~(size_t)255; }

/* ---- memory ------------------------------------------------------------------------ */

static void *hbpo__cu_alloc(size_t bytes) {
    void *p = NULL;
    cudaError_t e = cudaMalloc(&p, bytes ? bytes : 256);
    if (e != cudaSuccess) {
        size_t fr = 0, tot = 0;
        (void)cudaGetLastError(); /* out of memory is not sticky; clear it */
        cudaMemGetInfo(&fr, &tot);
        hbpo_set_error("cuda alloc: %zu bytes (%.2f GiB): cudaMalloc: %s; the GPU has %.2f GiB "
                       "free of %.2f", bytes, (double)bytes / 1073741824.0, cudaGetErrorString(e),
                       (double)fr / 1073741824.0, (double)tot / 1073741824.0);
        return NULL;
    }
    if (HBPO_CU(cudaMemset(p, 0, bytes ? bytes : 256)) != 0) {
        cudaFree(p);
        hbpo_set_error("cuda alloc: %s", hbpo__cu.err);
        hbpo__cu.err[0] = 0;
        return NULL;
    }
    return p;
}
static void hbpo__cu_free(void *p) {
    if (p) HBPO_CU(cudaFree(p));
}
static void hbpo__cu_upload(void *dst, const void *src, size_t bytes) {
    if (bytes) HBPO_CU(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
static void hbpo__cu_download(void *dst, const void *src, size_t bytes) {
    if (bytes) HBPO_CU(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
static void hbpo__cu_copy(void *dst, const void *src, size_t bytes) {
    if (bytes) HBPO_CU(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, 0));
}
static void hbpo__cu_zero(void *p, size_t bytes) {
    if (bytes) HBPO_CU(cudaMemsetAsync(p, 0, bytes, 0));
}
static int hbpo__cu_sync(void) {
    HBPO_CU(cudaDeviceSynchronize());
    if (!hbpo__cu.err[0]) return 0;
    hbpo_set_error("%s", hbpo__cu.err);
    hbpo__cu.err[0] = 0;
    return -1;
}

/* ---- matrix products (cuBLAS) ---------------------------------------------------------- */

__global__ void hbpo__round_bf16_kernel(__nv_bfloat16 *out, const float *x, size_t n) {
    HBPO__GRID_LOOP(i, n) {
        __nv_bfloat16_raw r;
        r.x = hbpo_k_bf16_bits(x[i]);
        out[i] = __nv_bfloat16(r);
    }
}
__global__ void hbpo__bias_rows_kernel(float *out, const float *bias, int N, int OC) {
    HBPO__GRID_LOOP(i, (size_t)N * OC) out[i] = bias[i % (size_t)OC];
}
/* Column sums, stage 1: part[k, c] = sum over the rows i of chunk k (in
   order) of a[i, c] (x == NULL) or a[i, c] * x[i, c] * r[i] (RMSNorm's dw). */
__global__ void hbpo__colsum_partial_kernel(float *part, const float *a, const float *x,
                                            const float *r, int N, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x, k = blockIdx.y, i;
    int i1 = (k + 1) * HBPO_K_COLSUM_ROWS < N ? (k + 1) * HBPO_K_COLSUM_ROWS : N;
    float s = 0.0f;
    if (c >= C) return;
    for (i = k * HBPO_K_COLSUM_ROWS; i < i1; i++)
        s += x ? a[(size_t)i * C + c] * x[(size_t)i * C + c] * r[i] : a[(size_t)i * C + c];
    part[(size_t)k * C + c] = s;
}
/* stage 2: out[c] += the chunk sums in chunk order */
__global__ void hbpo__colsum_finish_kernel(float *out, const float *part, int chunks, int C) {
    int c = blockIdx.x * blockDim.x + threadIdx.x, k;
    float s;
    if (c >= C) return;
    s = out[c];
    for (k = 0; k < chunks; k++) s += part[(size_t)k * C + c];
    out[c] = s;
}
/* out (C) += the column sums of a (N,C) (or of a * x * r, see above). */
static void hbpo__cu_colsum(float *out, const float *a, const float *x, const float *r, int N, int C) {
    int chunks = (N + HBPO_K_COLSUM_ROWS - 1) / HBPO_K_COLSUM_ROWS;
    unsigned cb = (unsigned)((C + HBPO_K_THREADS - 1) / HBPO_K_THREADS);
    float *part;
    if (N <= 0 || C <= 0) return;
    part = (float *)hbpo__cu_ws(sizeof(float) * (size_t)chunks * C);
    if (!part) return;
    hbpo__colsum_partial_kernel<<<dim3(cb, (unsigned)chunks), HBPO_K_THREADS>>>(part, a, x, r, N, C);
    HBPO_LAUNCHED("hbpo__colsum_partial_kernel");
    hbpo__colsum_finish_kernel<<<cb, HBPO_K_THREADS>>>(out, part, chunks, C);
    HBPO_LAUNCHED("hbpo__colsum_finish_kernel");
}

/* Column-major elements an operand of g spans: ld times its columns. */
static size_t hbpo__gemm_span(int trans, int rows, int cols, int ld) {
    return (size_t)ld * (size_t)(trans ? rows : cols);
}

/* C = alpha op(A) op(B) + beta C exactly as g says (hbpo.h's hbpo_k_gemm_*, replayed
   on the host by tests/test_cuda_host.c), in the given precision. */
static void hbpo__cu_gemm(const hbpo_k_gemm *g, const float *A, const float *B, float *C,
                          int precision) {
    cublasOperation_t ta = g->transa ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasOperation_t tb = g->transb ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (g->m == 0 || g->n == 0) return;
    if (precision == HBPO_MATMUL_BF16) {
        size_t na = hbpo__gemm_span(g->transa, g->m, g->k, g->lda);
        size_t nb = hbpo__gemm_span(g->transb, g->k, g->n, g->ldb);
        char *ws = (char *)hbpo__cu_ws(hbpo__align(na * 2) + hbpo__align(nb * 2));
        __nv_bfloat16 *a16, *b16;
        if (!ws) return;
        a16 = (__nv_bfloat16 *)ws;
        b16 = (__nv_bfloat16 *)(ws + hbpo__align(na * 2));
        hbpo__round_bf16_kernel<<<hbpo__blocks(na), HBPO_K_THREADS>>>(a16, A, na);
        hbpo__round_bf16_kernel<<<hbpo__blocks(nb), HBPO_K_THREADS>>>(b16, B, nb);
        HBPO_LAUNCHED("hbpo__round_bf16_kernel");
        HBPO_CUBLAS(cublasGemmEx(hbpo__cu.blas, ta, tb, g->m, g->n, g->k, &g->alpha, a16,
                                 CUDA_R_16BF, g->lda, b16, CUDA_R_16BF, g->ldb, &g->beta, C,
                                 CUDA_R_32F, g->ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    } else {
        cublasComputeType_t ct =
            precision == HBPO_MATMUL_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
        HBPO_CUBLAS(cublasGemmEx(hbpo__cu.blas, ta, tb, g->m, g->n, g->k, &g->alpha, A,
                                 CUDA_R_32F, g->lda, B, CUDA_R_32F, g->ldb, &g->beta, C,
                                 CUDA_R_32F, g->ldc, ct, CUBLAS_GEMM_DEFAULT));
    }
}
static const float *hbpo__operand(int which, const float *x, const float *w, const float *dout) {
    return which == HBPO_K_OP_X ? x : which == HBPO_K_OP_W ? w : dout;
}

static void hbpo__cu_matmul_forward(float *out, const float *x, const float *w,
                                    const float *bias, int N, int IC, int OC, int precision) {
    hbpo_k_gemm g = hbpo_k_gemm_forward(N, IC, OC, bias != NULL);
    if (N <= 0 || OC <= 0) return;
    if (bias) {
        hbpo__bias_rows_kernel<<<hbpo__blocks((size_t)N * OC), HBPO_K_THREADS>>>(out, bias, N, OC);
        HBPO_LAUNCHED("hbpo__bias_rows_kernel");
    }
    hbpo__cu_gemm(&g, hbpo__operand(g.a, x, w, NULL), hbpo__operand(g.b, x, w, NULL), out,
                  precision);
}
static void hbpo__cu_matmul_backward(float *dx, float *dw, float *dbias, const float *dout,
                                     const float *x, const float *w, int N, int IC, int OC,
                                     int accumulate_dx, int precision) {
    if (N <= 0 || IC <= 0 || OC <= 0) return;
    if (dx) {
        hbpo_k_gemm g = hbpo_k_gemm_dx(N, IC, OC, accumulate_dx);
        hbpo__cu_gemm(&g, hbpo__operand(g.a, x, w, dout), hbpo__operand(g.b, x, w, dout), dx,
                      precision);
    }
    if (dw) {
        hbpo_k_gemm g = hbpo_k_gemm_dw(N, IC, OC);
        hbpo__cu_gemm(&g, hbpo__operand(g.a, x, w, dout), hbpo__operand(g.b, x, w, dout), dw,
                      precision);
    }
    if (dbias) hbpo__cu_colsum(dbias, dout, NULL, NULL, N, OC); /* dbias += dout.sum(0) */
}

/* ---- embedding ------------------------------------------------------------------------------ */

/* out[i] = wte[tokens[i]] */
__global__ void hbpo__embedding_forward_kernel(float *out, const int *tokens, const float *wte,
                                               int N, int C) {
    HBPO__GRID_LOOP(e, (size_t)N * C) {
        size_t i = e / (size_t)C, c = e % (size_t)C;
        out[e] = wte[(size_t)tokens[i] * C + c];
    }
}
static void hbpo__cu_embedding_forward(float *out, const int *tokens, const float *wte, int N,
                                       int C) {
    hbpo__embedding_forward_kernel<<<hbpo__blocks((size_t)N * C), HBPO_K_THREADS>>>(out, tokens,
                                                                                   wte, N, C);
    HBPO_LAUNCHED("hbpo__embedding_forward_kernel");
}
__global__ void hbpo__iota_kernel(int *x, int n) {
    HBPO__GRID_LOOP(i, (size_t)n) x[i] = (int)i;
}
/* dwte[tok] += the rows of tok in row order: thread (segment start s, channel
   c) of the stably sorted (token, row) pairs; other threads return. */
__global__ void hbpo__embedding_backward_kernel(float *dwte, const float *dout, const int *key,
                                                const int *row, int N, int C) {
    int s = blockIdx.x, c = blockIdx.y * blockDim.x + threadIdx.x, e;
    float acc;
    if (c >= C || (s > 0 && key[s - 1] == key[s])) return;
    acc = dwte[(size_t)key[s] * C + c];
    for (e = s; e < N && key[e] == key[s]; e++) acc += dout[(size_t)row[e] * C + c];
    dwte[(size_t)key[s] * C + c] = acc;
}
static void hbpo__cu_embedding_backward(float *dwte, const float *dout, const int *tokens, int N,
                                        int C) {
    size_t tmp = 0, ints = hbpo__align(sizeof(int) * (size_t)N);
    char *ws;
    int *key, *row_in, *row;
    if (N <= 0) return;
    if (HBPO_CU(cub::DeviceRadixSort::SortPairs(NULL, tmp, tokens, (int *)NULL, (const int *)NULL,
                                                (int *)NULL, N)) != 0)
        return;
    ws = (char *)hbpo__cu_ws(3 * ints + tmp);
    if (!ws) return;
    key = (int *)ws;
    row_in = (int *)(ws + ints);
    row = (int *)(ws + 2 * ints);
    hbpo__iota_kernel<<<hbpo__blocks((size_t)N), HBPO_K_THREADS>>>(row_in, N);
    HBPO_LAUNCHED("hbpo__iota_kernel");
    /* LSD radix sort is stable: equal tokens keep their row order */
    HBPO_CU(cub::DeviceRadixSort::SortPairs(ws + 3 * ints, tmp, tokens, key, row_in, row, N));
    hbpo__embedding_backward_kernel<<<dim3((unsigned)N, (unsigned)((C + HBPO_K_THREADS - 1) / HBPO_K_THREADS)),
                                      HBPO_K_THREADS>>>(dwte, dout, key, row, N, C);
    HBPO_LAUNCHED("hbpo__embedding_backward_kernel");
}

/* ---- row reductions ---------------------------------------------------------------------------- */

/* The block's shares in hbpo_k_tree_sum's order (blockDim.x == HBPO_K_THREADS). */
__device__ double hbpo__block_sum(double *sh, double v) {
    int t = threadIdx.x, w;
    sh[t] = v;
    __syncthreads();
    for (w = HBPO_K_THREADS / 2; w > 0; w /= 2) {
        if (t < w) sh[t] += sh[t + w];
        __syncthreads();
    }
    v = sh[0];
    __syncthreads();
    return v;
}
__device__ float hbpo__block_max(float *sh, float v) {
    int t = threadIdx.x, w;
    sh[t] = v;
    __syncthreads();
    for (w = HBPO_K_THREADS / 2; w > 0; w /= 2) {
        if (t < w) sh[t] = sh[t + w] > sh[t] ? sh[t + w] : sh[t];
        __syncthreads();
    }
    v = sh[0];
    __syncthreads();
    return v;
}

/* Qwen2RMSNorm: out = w * (x * rstd), rstd = 1/sqrt(mean(x^2) + eps); one block per row. */
__global__ void hbpo__rmsnorm_forward_kernel(float *out, float *rstd, const float *x,
                                             const float *w, int C, float eps) {
    __shared__ double sh[HBPO_K_THREADS];
    const float *xi = x + (size_t)blockIdx.x * C;
    float *oi = out + (size_t)blockIdx.x * C;
    float r = hbpo_k_rmsnorm_rstd(
        hbpo__block_sum(sh, hbpo_k_sumsq_partial(xi, threadIdx.x, HBPO_K_THREADS, C)), C, eps);
    int c;
    for (c = threadIdx.x; c < C; c += HBPO_K_THREADS) oi[c] = w[c] * (xi[c] * r);
    if (rstd && threadIdx.x == 0) rstd[blockIdx.x] = r;
}
static void hbpo__cu_rmsnorm_forward(float *out, float *rstd, const float *x, const float *w,
                                     int N, int C, float eps) {
    if (N <= 0) return;
    hbpo__rmsnorm_forward_kernel<<<N, HBPO_K_THREADS>>>(out, rstd, x, w, C, eps);
    HBPO_LAUNCHED("hbpo__rmsnorm_forward_kernel");
}
/* dx = r dy w - k x, k = mean(dy w x) r^3; one block per row. */
__global__ void hbpo__rmsnorm_backward_kernel(float *dx, const float *dout, const float *x,
                                              const float *w, const float *rstd, int C,
                                              int accumulate) {
    __shared__ double sh[HBPO_K_THREADS];
    size_t o = (size_t)blockIdx.x * C;
    float r = rstd[blockIdx.x];
    float k = hbpo_k_rmsnorm_k(
        hbpo__block_sum(sh, hbpo_k_dot3_partial(dout + o, w, x + o, threadIdx.x, HBPO_K_THREADS, C)),
        C, r);
    int c;
    for (c = threadIdx.x; c < C; c += HBPO_K_THREADS) {
        float d = hbpo_k_rmsnorm_dx(dout[o + c], w[c], x[o + c], r, k);
        dx[o + c] = accumulate ? dx[o + c] + d : d;
    }
}
static void hbpo__cu_rmsnorm_backward(float *dx, float *dw, const float *dout, const float *x,
                                      const float *w, const float *rstd, int N, int C,
                                      int accumulate_dx) {
    if (N <= 0) return;
    hbpo__rmsnorm_backward_kernel<<<N, HBPO_K_THREADS>>>(dx, dout, x, w, rstd, C, accumulate_dx);
    HBPO_LAUNCHED("hbpo__rmsnorm_backward_kernel");
    hbpo__cu_colsum(dw, dout, x, rstd, N, C); /* dw += sum over rows of dy x r */
}

/* ---- RoPE -------------------------------------------------------------------------------------- */

/* x (B,T,nh,HS) in place, row (b,t) at position pos0[b] + t; one thread per pair. */
__global__ void hbpo__rope_forward_kernel(float *x, const int *pos0, int B, int T, int nh, int HS,
                                          float theta, float sign) {
    int half = HS / 2;
    HBPO__GRID_LOOP(e, (size_t)B * T * nh * half) {
        size_t rh = e / (size_t)half, r = rh / (size_t)nh;
        int i = (int)(e % (size_t)half);
        float c, s, *xh = x + rh * (size_t)HS;
        hbpo_k_rope_cs(&c, &s, pos0[r / (size_t)T] + (int)(r % (size_t)T), i, HS, theta);
        hbpo_k_rope_pair(&xh[i], &xh[i + half], c, s, sign);
    }
}
static void hbpo__cu_rope_forward(float *x, const int *pos0, int B, int T, int nh, int HS,
                                  float theta) {
    hbpo__rope_forward_kernel<<<hbpo__blocks((size_t)B * T * nh * (HS / 2)), HBPO_K_THREADS>>>(
        x, pos0, B, T, nh, HS, theta, 1.0f);
    HBPO_LAUNCHED("hbpo__rope_forward_kernel");
}
/* The rotation is orthogonal: its backward rotates by -angle. */
static void hbpo__cu_rope_backward(float *dx, const int *pos0, int B, int T, int nh, int HS,
                                   float theta) {
    hbpo__rope_forward_kernel<<<hbpo__blocks((size_t)B * T * nh * (HS / 2)), HBPO_K_THREADS>>>(
        dx, pos0, B, T, nh, HS, theta, -1.0f);
    HBPO_LAUNCHED("hbpo__rope_forward_kernel (backward)");
}

/* ---- attention ------------------------------------------------------------------------------------ */

/* Rows of HS up to this are accumulated in a local array; longer ones in the
   output row itself (same arithmetic, slower). */
#define HBPO__ATT_LOCAL_HS 256

/* out = softmax(q k^T / sqrt(HS)) v, causal, GQA, cache slots; one thread per
   query row (b, h, t), consecutive threads consecutive t, so a warp reads the
   same key row at once. lse (B,NH,T) or NULL. */
__global__ void hbpo__attention_forward_kernel(float *out, float *lse, const float *q,
                                               const float *k, const float *v, const int *pos0,
                                               const int *slot, int B, int T, int S, int NH,
                                               int KVH, int HS) {
    int QD = NH * HS, KVD = KVH * HS;
    float scale = 1.0f / sqrtf((float)HS), local[HBPO__ATT_LOCAL_HS];
    HBPO__GRID_LOOP(e, (size_t)B * NH * T) {
        int t = (int)(e % (size_t)T), h = (int)((e / (size_t)T) % (size_t)NH);
        int b = (int)(e / ((size_t)T * NH));
        size_t qo = ((size_t)b * T + t) * QD + (size_t)h * HS;
        size_t ko = (size_t)(slot ? slot[b] : b) * S * KVD + (size_t)(h / (NH / KVH)) * HS;
        float l = hbpo_k_attn_forward_row(out + qo, HS <= HBPO__ATT_LOCAL_HS ? local : out + qo,
                                          q + qo, k + ko, v + ko, pos0[b] + t + 1, KVD, HS, scale);
        if (lse) lse[e] = l; /* e == (b*NH + h)*T + t */
    }
}
/* The same rows with the keys and values staged in shared memory: a block
   holds HBPO__ATT_BR consecutive query rows of one (b, h), one a thread, and
   its threads load HBPO__ATT_BC keys at a time, which every row of the
   block then reads from there instead of from global memory. Each row
   takes its keys in the same order through the same step
   (hbpo_k_attn_forward_key) as hbpo__attention_forward_kernel. Head sizes up to HBPO__ATT_TILE_HS (the 0.5B and 1.5B models:
   64, 128); larger ones keep the kernel above. */
#define HBPO__ATT_BR 64
#define HBPO__ATT_BC 32
#define HBPO__ATT_TILE_HS 128
/* The block's threads copy rows of HS floats at x + base, y + base (row
   stride ld) into a, b (rows x HS, packed); consecutive threads take
   consecutive floats. */
__device__ void hbpo__att_stage(float *a, float *b, const float *x, const float *y, size_t base,
                                int rows, int ld, int HS) {
    int e;
    for (e = threadIdx.x; e < rows * HS; e += blockDim.x) {
        size_t src = base + (size_t)(e / HS) * ld + (size_t)(e % HS);
        a[e] = x[src];
        b[e] = y[src];
    }
}
/* The key tiles of a block of query rows: keys [0, block_keys) staged
   HBPO__ATT_BC at a time into ks, vs; then step(k_j, v_j) for each of this
   row's keys j < keys, in order. Every thread of the block calls it (the
   barriers), also those past the last row (keys 0). */
template <class Step>
__device__ void hbpo__att_key_tiles(float *ks, float *vs, const float *k, const float *v, size_t ko,
                                    int KVD, int HS, int block_keys, int keys, Step step) {
    int j0, j, n;
    for (j0 = 0; j0 < block_keys; j0 += HBPO__ATT_BC) {
        n = block_keys - j0 < HBPO__ATT_BC ? block_keys - j0 : HBPO__ATT_BC;
        hbpo__att_stage(ks, vs, k, v, ko + (size_t)j0 * KVD, n, KVD, HS);
        __syncthreads();
        for (j = 0; j < n && j0 + j < keys; j++) step(ks + (size_t)j * HS, vs + (size_t)j * HS);
        __syncthreads();
    }
}
__global__ void hbpo__attention_forward_tiled_kernel(float *out, float *lse, const float *q,
                                                     const float *k, const float *v,
                                                     const int *pos0, const int *slot, int T,
                                                     int S, int NH, int KVH, int HS) {
    __shared__ float ks[HBPO__ATT_BC * HBPO__ATT_TILE_HS], vs[HBPO__ATT_BC * HBPO__ATT_TILE_HS];
    int QD = NH * HS, KVD = KVH * HS, tiles = (T + HBPO__ATT_BR - 1) / HBPO__ATT_BR;
    int bh = blockIdx.x / tiles, t0 = (int)(blockIdx.x % tiles) * HBPO__ATT_BR;
    int b = bh / NH, h = bh % NH, t = t0 + (int)threadIdx.x, live = t < T;
    int rows = T - t0 < HBPO__ATT_BR ? T - t0 : HBPO__ATT_BR;
    int keys = live ? pos0[b] + t + 1 : 0, block_keys = pos0[b] + t0 + rows, e;
    size_t qo = ((size_t)b * T + (live ? t : 0)) * QD + (size_t)h * HS;
    size_t ko = (size_t)(slot ? slot[b] : b) * S * KVD + (size_t)(h / (NH / KVH)) * HS;
    float scale = 1.0f / sqrtf((float)HS), m = -INFINITY, l = 0.0f;
    float qr[HBPO__ATT_TILE_HS], acc[HBPO__ATT_TILE_HS];
    for (e = 0; e < HS; e++) {
        qr[e] = live ? q[qo + e] : 0.0f;
        acc[e] = 0.0f;
    }
    hbpo__att_key_tiles(ks, vs, k, v, ko, KVD, HS, block_keys, keys, [&](const float *kj, const float *vj) {
        hbpo_k_attn_forward_key(acc, &m, &l, qr, kj, vj, HS, scale);
    });
    if (live) {
        float r = hbpo_k_attn_forward_finish(out + qo, acc, m, l, HS);
        if (lse) lse[((size_t)b * NH + h) * T + t] = r;
    }
}
static int hbpo__cu_attention_forward(float *out, float *lse, const float *q, const float *k,
                                      const float *v, const int *pos0, const int *slot, int B,
                                      int T, int S, int NH, int KVH, int HS) {
    if (B <= 0 || T <= 0) return 0;
    if (HS <= HBPO__ATT_TILE_HS) {
        unsigned tiles = (unsigned)((T + HBPO__ATT_BR - 1) / HBPO__ATT_BR);
        hbpo__attention_forward_tiled_kernel<<<(unsigned)(B * NH) * tiles, HBPO__ATT_BR>>>(
            out, lse, q, k, v, pos0, slot, T, S, NH, KVH, HS);
        HBPO_LAUNCHED("hbpo__attention_forward_tiled_kernel");
        return 0;
    }
    hbpo__attention_forward_kernel<<<hbpo__blocks((size_t)B * NH * T), HBPO_K_THREADS>>>(
        out, lse, q, k, v, pos0, slot, B, T, S, NH, KVH, HS);
    HBPO_LAUNCHED("hbpo__attention_forward_kernel");
    return 0;
}
/* D (B,NH,T) = rowsum(dO * O) */
__global__ void hbpo__attention_D_kernel(float *D, const float *dout, const float *out, int B,
                                         int T, int NH, int HS) {
    HBPO__GRID_LOOP(e, (size_t)B * NH * T) {
        int t = (int)(e % (size_t)T), h = (int)((e / (size_t)T) % (size_t)NH);
        int b = (int)(e / ((size_t)T * NH));
        size_t qo = ((size_t)b * T + t) * NH * HS + (size_t)h * HS;
        D[e] = hbpo_k_attn_D(dout + qo, out + qo, HS);
    }
}
__global__ void hbpo__attention_dq_kernel(float *dq, const float *dout, const float *q,
                                          const float *k, const float *v, const float *lse,
                                          const float *D, int B, int T, int NH, int KVH, int HS) {
    int QD = NH * HS, KVD = KVH * HS;
    float scale = 1.0f / sqrtf((float)HS);
    HBPO__GRID_LOOP(e, (size_t)B * NH * T) {
        int t = (int)(e % (size_t)T), h = (int)((e / (size_t)T) % (size_t)NH);
        int b = (int)(e / ((size_t)T * NH));
        size_t qo = ((size_t)b * T + t) * QD + (size_t)h * HS;
        size_t ko = (size_t)b * T * KVD + (size_t)(h / (NH / KVH)) * HS;
        hbpo_k_attn_dq_row(dq + qo, q + qo, dout + qo, k + ko, v + ko, t + 1, KVD, HS, scale,
                           lse[e], D[e]);
    }
}
/* one thread per (b, key row j, query head h): that head's share of dk, dv
   (the queries t = j..T-1 in order) into part (B,T,NH,HS) x 2; then
   hbpo__attention_group_sum_kernel adds the group's heads in order. No
   atomics: each value has one writer, and the order is fixed. */
__global__ void hbpo__attention_dkdv_kernel(float *pk, float *pv, const float *dout,
                                            const float *q, const float *k, const float *v,
                                            const float *lse, const float *D, int B, int T,
                                            int NH, int KVH, int HS) {
    int QD = NH * HS, KVD = KVH * HS, group = NH / KVH;
    float scale = 1.0f / sqrtf((float)HS);
    HBPO__GRID_LOOP(e, (size_t)B * T * NH) {
        int h = (int)(e % (size_t)NH), j = (int)((e / (size_t)NH) % (size_t)T);
        int b = (int)(e / ((size_t)NH * T));
        size_t ko = ((size_t)b * T + j) * KVD + (size_t)(h / group) * HS;
        size_t qb = (size_t)b * T * QD + (size_t)h * HS, lb = ((size_t)b * NH + h) * T;
        hbpo_k_attn_dkdv_row(pk + e * HS, pv + e * HS, k + ko, v + ko, q + qb, dout + qb,
                             lse + lb, D + lb, j, T, QD, 1, HS, scale);
    }
}
/* dk, dv (B,T,KVH,HS) = the sum over the group's heads, in head order */
__global__ void hbpo__attention_group_sum_kernel(float *dk, float *dv, const float *pk,
                                                 const float *pv, int B, int T, int NH, int KVH,
                                                 int HS) {
    int group = NH / KVH;
    HBPO__GRID_LOOP(e, (size_t)B * T * KVH * HS) {
        size_t d = e % (size_t)HS, row = e / (size_t)HS; /* row = (b*T + j)*KVH + g */
        size_t g = row % (size_t)KVH, bj = row / (size_t)KVH;
        size_t p0 = (bj * NH + g * group) * HS + d;
        float sk = 0.0f, sv = 0.0f;
        int i;
        for (i = 0; i < group; i++) {
            sk += pk[p0 + (size_t)i * HS];
            sv += pv[p0 + (size_t)i * HS];
        }
        dk[e] = sk;
        dv[e] = sv;
    }
}
/* The backward in tiles, head sizes up to HBPO__ATT_TILE_HS, with each
   row's terms in the untiled kernels' order:
   dq: a block of HBPO__ATT_BR query rows of (b, h) stages HBPO__ATT_BC keys
   and values at a time, as the forward does;
   dk, dv: a block of HBPO__ATT_BR key rows j of (b, h) (this head's share,
   summed over the group by hbpo__attention_group_sum_kernel) stages
   HBPO__ATT_BC queries t >= the block's first j at a time: q, dO, lse, D. */
__global__ void hbpo__attention_dq_tiled_kernel(float *dq, const float *dout, const float *q,
                                                const float *k, const float *v, const float *lse,
                                                const float *D, int T, int NH, int KVH, int HS) {
    __shared__ float ks[HBPO__ATT_BC * HBPO__ATT_TILE_HS], vs[HBPO__ATT_BC * HBPO__ATT_TILE_HS];
    int QD = NH * HS, KVD = KVH * HS, tiles = (T + HBPO__ATT_BR - 1) / HBPO__ATT_BR;
    int bh = blockIdx.x / tiles, t0 = (int)(blockIdx.x % tiles) * HBPO__ATT_BR;
    int b = bh / NH, h = bh % NH, t = t0 + (int)threadIdx.x, live = t < T;
    int rows = T - t0 < HBPO__ATT_BR ? T - t0 : HBPO__ATT_BR, block_keys = t0 + rows, e;
    size_t qo = ((size_t)b * T + (live ? t : 0)) * QD + (size_t)h * HS;
    size_t ko = (size_t)b * T * KVD + (size_t)(h / (NH / KVH)) * HS, r = ((size_t)b * NH + h) * T + (live ? t : 0);
    float scale = 1.0f / sqrtf((float)HS), l = live ? lse[r] : 0.0f, Dr = live ? D[r] : 0.0f;
    float qr[HBPO__ATT_TILE_HS], dr[HBPO__ATT_TILE_HS], acc[HBPO__ATT_TILE_HS];
    for (e = 0; e < HS; e++) {
        qr[e] = live ? q[qo + e] : 0.0f;
        dr[e] = live ? dout[qo + e] : 0.0f;
        acc[e] = 0.0f;
    }
    hbpo__att_key_tiles(ks, vs, k, v, ko, KVD, HS, block_keys, live ? t + 1 : 0,
                        [&](const float *kj, const float *vj) {
                            hbpo_k_attn_dq_key(acc, qr, dr, kj, vj, HS, scale, l, Dr);
                        });
    if (live)
        for (e = 0; e < HS; e++) dq[qo + e] = acc[e];
}
__global__ void hbpo__attention_dkdv_tiled_kernel(float *pk, float *pv, const float *dout,
                                                  const float *q, const float *k, const float *v,
                                                  const float *lse, const float *D, int T, int NH,
                                                  int KVH, int HS) {
    __shared__ float qs[HBPO__ATT_BC * HBPO__ATT_TILE_HS], ds[HBPO__ATT_BC * HBPO__ATT_TILE_HS];
    __shared__ float ls[HBPO__ATT_BC], Ds[HBPO__ATT_BC];
    int QD = NH * HS, KVD = KVH * HS, tiles = (T + HBPO__ATT_BR - 1) / HBPO__ATT_BR;
    int bh = blockIdx.x / tiles, j0 = (int)(blockIdx.x % tiles) * HBPO__ATT_BR;
    int b = bh / NH, h = bh % NH, j = j0 + (int)threadIdx.x, live = j < T, t0, t, e, n;
    size_t ko = ((size_t)b * T + (live ? j : 0)) * KVD + (size_t)(h / (NH / KVH)) * HS;
    size_t qb = (size_t)b * T * QD + (size_t)h * HS, lb = ((size_t)b * NH + h) * T;
    size_t po = (((size_t)b * T + (live ? j : 0)) * NH + h) * HS;
    float scale = 1.0f / sqrtf((float)HS);
    float kr[HBPO__ATT_TILE_HS], vr[HBPO__ATT_TILE_HS], dk[HBPO__ATT_TILE_HS], dv[HBPO__ATT_TILE_HS];
    for (e = 0; e < HS; e++) {
        kr[e] = live ? k[ko + e] : 0.0f;
        vr[e] = live ? v[ko + e] : 0.0f;
        dk[e] = dv[e] = 0.0f;
    }
    for (t0 = j0; t0 < T; t0 += HBPO__ATT_BC) {
        n = T - t0 < HBPO__ATT_BC ? T - t0 : HBPO__ATT_BC;
        hbpo__att_stage(qs, ds, q, dout, qb + (size_t)t0 * QD, n, QD, HS);
        for (e = threadIdx.x; e < n; e += HBPO__ATT_BR) {
            ls[e] = lse[lb + (size_t)(t0 + e)];
            Ds[e] = D[lb + (size_t)(t0 + e)];
        }
        __syncthreads();
        if (live)
            for (t = t0 < j ? j - t0 : 0; t < n; t++)
                hbpo_k_attn_dkdv_query(dk, dv, kr, vr, qs + (size_t)t * HS, ds + (size_t)t * HS, ls[t],
                                       Ds[t], HS, scale);
        __syncthreads();
    }
    if (live)
        for (e = 0; e < HS; e++) {
            pk[po + e] = dk[e];
            pv[po + e] = dv[e];
        }
}
static int hbpo__cu_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                                       const float *q, const float *k, const float *v,
                                       const float *out, const float *lse, int B, int T, int NH,
                                       int KVH, int HS) {
    size_t rows = (size_t)B * NH * T, part = hbpo__align(sizeof(float) * rows * (size_t)HS);
    char *ws = (char *)hbpo__cu_ws(hbpo__align(sizeof(float) * (rows ? rows : 1)) + 2 * part);
    float *D, *pk, *pv;
    if (rows == 0) return 0;
    if (!ws) {
        hbpo_set_error("cuda attention backward: no workspace: %s", hbpo__cu.err);
        hbpo__cu.err[0] = 0;
        return -1;
    }
    D = (float *)ws;
    pk = (float *)(ws + hbpo__align(sizeof(float) * (rows ? rows : 1)));
    pv = (float *)((char *)pk + part);
    hbpo__attention_D_kernel<<<hbpo__blocks(rows), HBPO_K_THREADS>>>(D, dout, out, B, T, NH, HS);
    HBPO_LAUNCHED("hbpo__attention_D_kernel");
    if (HS <= HBPO__ATT_TILE_HS) {
        unsigned grid = (unsigned)(B * NH) * (unsigned)((T + HBPO__ATT_BR - 1) / HBPO__ATT_BR);
        hbpo__attention_dq_tiled_kernel<<<grid, HBPO__ATT_BR>>>(dq, dout, q, k, v, lse, D, T, NH, KVH, HS);
        HBPO_LAUNCHED("hbpo__attention_dq_tiled_kernel");
        hbpo__attention_dkdv_tiled_kernel<<<grid, HBPO__ATT_BR>>>(pk, pv, dout, q, k, v, lse, D, T, NH,
                                                                 KVH, HS);
        HBPO_LAUNCHED("hbpo__attention_dkdv_tiled_kernel");
    } else {
        hbpo__attention_dq_kernel<<<hbpo__blocks(rows), HBPO_K_THREADS>>>(dq, dout, q, k, v, lse, D,
                                                                          B, T, NH, KVH, HS);
        HBPO_LAUNCHED("hbpo__attention_dq_kernel");
        hbpo__attention_dkdv_kernel<<<hbpo__blocks(rows), HBPO_K_THREADS>>>(pk, pv, dout, q, k, v,
                                                                            lse, D, B, T, NH, KVH, HS);
        HBPO_LAUNCHED("hbpo__attention_dkdv_kernel");
    }
    hbpo__attention_group_sum_kernel<<<hbpo__blocks((size_t)B * T * KVH * HS), HBPO_K_THREADS>>>(
        dk, dv, pk, pv, B, T, NH, KVH, HS);
    HBPO_LAUNCHED("hbpo__attention_group_sum_kernel");
    return 0;
}

/* row i of k, v (n,KVD) -> row (slot[i], pos[i]) of the cache (n_slots,S,KVD) */
__global__ void hbpo__kv_write_kernel(float *kc, float *vc, const float *k, const float *v,
                                      const int *slot, const int *pos, int n, int KVD, int S) {
    HBPO__GRID_LOOP(e, (size_t)n * KVD) {
        size_t i = e / (size_t)KVD, d = e % (size_t)KVD;
        size_t dst = ((size_t)slot[i] * S + (size_t)pos[i]) * KVD + d;
        kc[dst] = k[e];
        vc[dst] = v[e];
    }
}
static void hbpo__cu_kv_write(float *kc, float *vc, const float *k, const float *v,
                              const int *slot, const int *pos, int n, int KVD, int S) {
    hbpo__kv_write_kernel<<<hbpo__blocks((size_t)n * KVD), HBPO_K_THREADS>>>(kc, vc, k, v, slot,
                                                                            pos, n, KVD, S);
    HBPO_LAUNCHED("hbpo__kv_write_kernel");
}

/* ---- element-wise ------------------------------------------------------------------------------------ */

__global__ void hbpo__swiglu_forward_kernel(float *h, const float *gate, const float *up, size_t n) {
    HBPO__GRID_LOOP(i, n) h[i] = hbpo_k_swiglu_forward(gate[i], up[i]);
}
__global__ void hbpo__swiglu_backward_kernel(float *dgate, float *dup, const float *dh,
                                             const float *gate, const float *up, size_t n) {
    HBPO__GRID_LOOP(i, n) {
        float dg, du;
        hbpo_k_swiglu_backward(&dg, &du, dh[i], gate[i], up[i]);
        dgate[i] = dg; /* dgate may alias dh: read before written */
        dup[i] = du;
    }
}
__global__ void hbpo__add_kernel(float *out, const float *a, const float *b, size_t n) {
    HBPO__GRID_LOOP(i, n) out[i] = a[i] + b[i];
}
static void hbpo__cu_swiglu_forward(float *h, const float *gate, const float *up, size_t n) {
    hbpo__swiglu_forward_kernel<<<hbpo__blocks(n), HBPO_K_THREADS>>>(h, gate, up, n);
    HBPO_LAUNCHED("hbpo__swiglu_forward_kernel");
}
static void hbpo__cu_swiglu_backward(float *dgate, float *dup, const float *dh,
                                     const float *gate, const float *up, size_t n) {
    hbpo__swiglu_backward_kernel<<<hbpo__blocks(n), HBPO_K_THREADS>>>(dgate, dup, dh, gate, up, n);
    HBPO_LAUNCHED("hbpo__swiglu_backward_kernel");
}
static void hbpo__cu_add(float *out, const float *a, const float *b, size_t n) {
    hbpo__add_kernel<<<hbpo__blocks(n), HBPO_K_THREADS>>>(out, a, b, n);
    HBPO_LAUNCHED("hbpo__add_kernel");
}
__global__ void hbpo__gather_rows_kernel(float *dst, const float *src, const int *rows, int n, int C) {
    HBPO__GRID_LOOP(e, (size_t)n * C) dst[e] = src[(size_t)rows[e / (size_t)C] * C + e % (size_t)C];
}
/* rows are distinct (hbpo.h's contract), so each destination has one writer */
__global__ void hbpo__scatter_add_rows_kernel(float *dst, const float *src, const int *rows, int n,
                                              int C) {
    HBPO__GRID_LOOP(e, (size_t)n * C) dst[(size_t)rows[e / (size_t)C] * C + e % (size_t)C] += src[e];
}
static void hbpo__cu_gather_rows(float *dst, const float *src, const int *rows, int n, int C) {
    hbpo__gather_rows_kernel<<<hbpo__blocks((size_t)n * C), HBPO_K_THREADS>>>(dst, src, rows, n, C);
    HBPO_LAUNCHED("hbpo__gather_rows_kernel");
}
static void hbpo__cu_scatter_add_rows(float *dst, const float *src, const int *rows, int n, int C) {
    hbpo__scatter_add_rows_kernel<<<hbpo__blocks((size_t)n * C), HBPO_K_THREADS>>>(dst, src, rows, n, C);
    HBPO_LAUNCHED("hbpo__scatter_add_rows_kernel");
}

/* ---- log-probabilities ------------------------------------------------------------------------------- */

/* one block per row: max, then the shares of sum e and sum e (z - mx) */
__global__ void hbpo__logprob_forward_kernel(float *logp, float *entropy, const float *logits,
                                             const int *targets, int V, float inv) {
    __shared__ double sh[HBPO_K_THREADS];
    __shared__ float shf[HBPO_K_THREADS];
    const float *z = logits + (size_t)blockIdx.x * V;
    float mx = -INFINITY;
    double s, p, sum, pz;
    int j;
    for (j = threadIdx.x; j < V; j += HBPO_K_THREADS) mx = z[j] * inv > mx ? z[j] * inv : mx;
    mx = hbpo__block_max(shf, mx);
    hbpo_k_logprob_partial(&s, &p, z, threadIdx.x, HBPO_K_THREADS, V, inv, mx);
    sum = hbpo__block_sum(sh, s);
    pz = hbpo__block_sum(sh, p);
    if (threadIdx.x == 0) /* targets are read only when logp is wanted, as on the CPU */
        hbpo_k_logprob_finish(logp ? logp + blockIdx.x : NULL, entropy ? entropy + blockIdx.x : NULL,
                              logp ? z[targets[blockIdx.x]] : 0.0f, inv, mx, sum, pz);
}
__global__ void hbpo__logprob_backward_kernel(float *logits, const int *targets, const float *dlogp,
                                              int V, float inv) {
    __shared__ double sh[HBPO_K_THREADS];
    __shared__ float shf[HBPO_K_THREADS];
    float *z = logits + (size_t)blockIdx.x * V, mx = -INFINITY, inv_sum, g = dlogp[blockIdx.x] * inv;
    double s = 0.0;
    int j, tg = targets[blockIdx.x];
    for (j = threadIdx.x; j < V; j += HBPO_K_THREADS) mx = z[j] * inv > mx ? z[j] * inv : mx;
    mx = hbpo__block_max(shf, mx);
    for (j = threadIdx.x; j < V; j += HBPO_K_THREADS) s += expf(z[j] * inv - mx);
    inv_sum = (float)(1.0 / hbpo__block_sum(sh, s));
    for (j = threadIdx.x; j < V; j += HBPO_K_THREADS)
        z[j] = hbpo_k_logprob_grad(z[j], inv, mx, inv_sum, g, j == tg);
}
static void hbpo__cu_logprob_forward(float *logp, float *entropy, const float *logits,
                                     const int *targets, int N, int V, float inv_temp) {
    if (N <= 0) return;
    hbpo__logprob_forward_kernel<<<N, HBPO_K_THREADS>>>(logp, entropy, logits, targets, V, inv_temp);
    HBPO_LAUNCHED("hbpo__logprob_forward_kernel");
}
static void hbpo__cu_logprob_backward(float *logits, const int *targets, const float *dlogp, int N,
                                      int V, float inv_temp) {
    if (N <= 0) return;
    hbpo__logprob_backward_kernel<<<N, HBPO_K_THREADS>>>(logits, targets, dlogp, V, inv_temp);
    HBPO_LAUNCHED("hbpo__logprob_backward_kernel");
}

/* ---- optimizer and gradient norm ------------------------------------------------------------------------ */

__global__ void hbpo__adamw_kernel(float *p, const float *g, float *m, float *v, size_t n, float lr,
                                   float b1, float b2, float eps, float wd, float step,
                                   float bc2_sqrt, float grad_scale) {
    HBPO__GRID_LOOP(i, n) {
        float pi = p[i], mi = m[i], vi = v[i];
        hbpo_k_adamw(&pi, &mi, &vi, g[i], grad_scale, lr, b1, b2, eps, wd, step, bc2_sqrt);
        p[i] = pi;
        m[i] = mi;
        v[i] = vi;
    }
}
static void hbpo__cu_adamw(float *p, const float *g, float *m, float *v, size_t n, float lr,
                           float b1, float b2, float eps, float wd, float bc1, float bc2,
                           float grad_scale) {
    hbpo__adamw_kernel<<<hbpo__blocks(n), HBPO_K_THREADS>>>(p, g, m, v, n, lr, b1, b2, eps, wd,
                                                          lr / bc1, sqrtf(bc2), grad_scale);
    HBPO_LAUNCHED("hbpo__adamw_kernel");
}

#define HBPO__SS_BLOCKS 64 /* tests/test_cuda_host.c emulates this split */
__global__ void hbpo__sum_squares_kernel(double *part, const float *x, size_t n) {
    __shared__ double sh[HBPO_K_THREADS];
    double s = 0.0;
    size_t i;
    for (i = (size_t)blockIdx.x * HBPO_K_THREADS + threadIdx.x; i < n;
         i += (size_t)HBPO__SS_BLOCKS * HBPO_K_THREADS)
        s += (double)x[i] * x[i];
    s = hbpo__block_sum(sh, s);
    if (threadIdx.x == 0) part[blockIdx.x] = s;
}
__global__ void hbpo__sum_blocks_kernel(double *part) {
    int w, t = threadIdx.x;
    for (w = HBPO__SS_BLOCKS / 2; w > 0; w /= 2) {
        if (t < w) part[t] += part[t + w];
        __syncthreads();
    }
}
/* sum x^2 in double, a fixed tree; NaN when a failure is pending (sync says which). */
static double hbpo__cu_sum_squares(const float *x, size_t n) {
    double *part = (double *)hbpo__cu_ws(sizeof(double) * HBPO__SS_BLOCKS), r = NAN;
    if (!part) return NAN;
    hbpo__sum_squares_kernel<<<HBPO__SS_BLOCKS, HBPO_K_THREADS>>>(part, x, n);
    HBPO_LAUNCHED("hbpo__sum_squares_kernel");
    hbpo__sum_blocks_kernel<<<1, HBPO__SS_BLOCKS>>>(part);
    HBPO_LAUNCHED("hbpo__sum_blocks_kernel");
    if (HBPO_CU(cudaMemcpy(&r, part, sizeof r, cudaMemcpyDeviceToHost)) != 0) return NAN;
    return hbpo__cu.err[0] ? NAN : r;
}

/* ---- sampling ---------------------------------------------------------------------------------------------- */

/* with top-k: one thread per row runs hbpo_sample's algorithm (hbpo_k_sample_row) */
__global__ void hbpo__sample_kernel(int *tok, float *logp, const float *logits, int n, int V,
                                    float temperature, float top_p, int top_k, const float *coins,
                                    float *work) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    tok[i] = hbpo_k_sample_row(logits + (size_t)i * V, V, temperature, top_p, top_k, coins[i],
                               work + (size_t)i * V, &logp[i]);
}
/* Every thread of the block passes its count n; on return offs[t] holds the
   counts of the threads before t and offs[HBPO_K_THREADS] all of them (one
   thread adds them in thread order). */
__device__ void hbpo__block_offsets(int *offs, int n) {
    int t = threadIdx.x, j;
    offs[t + 1] = n;
    if (t == 0) offs[0] = 0;
    __syncthreads();
    if (t == 0)
        for (j = 1; j <= HBPO_K_THREADS; j++) offs[j] += offs[j - 1];
    __syncthreads();
}
/* Sampling without top-k (temperature > 0, V > 1): one block per row, each
   thread a contiguous share of the ids (hbpo_k_chunk). With top-p < 1 the
   threads gather the candidates into the row of work in id order (each
   after the counts of the threads before it), thread 0 selects the nucleus
   from them (hbpo_k_nucleus), and the threads sum the kept mass of their
   shares again, ties kept in id order; thread 0 then walks the shares
   (hbpo_k_pick_chunked). tok -1: a scaled logit is not finite. */
__global__ void hbpo__sample_block_kernel(int *tok, float *logp, const float *logits, int V, float inv,
                                          float top_p, const float *coins, float *work) {
    __shared__ double sh[HBPO_K_THREADS], part[HBPO_K_THREADS];
    __shared__ float shf[HBPO_K_THREADS];
    __shared__ int last[HBPO_K_THREADS], at[HBPO_K_THREADS + 1];
    __shared__ hbpo_k_kept kept;
    __shared__ double total, kept_mass;
    const float *z = logits + (size_t)blockIdx.x * V;
    float *w = work + (size_t)blockIdx.x * V;
    int t = threadIdx.x, lo, hi, j, k;
    float mx = -INFINITY;
    double bad = 0.0, cut;
    hbpo_k_chunk(V, t, HBPO_K_THREADS, &lo, &hi);
    for (j = lo; j < hi; j++) {
        float x = z[j] * inv;
        if (!(x - x == 0.0f)) bad = 1.0;
        if (x > mx) mx = x;
    }
    mx = hbpo__block_max(shf, mx);
    if (hbpo__block_sum(sh, bad) > 0.0) { /* the same for every thread */
        if (t == 0) {
            tok[blockIdx.x] = -1;
            logp[blockIdx.x] = 0.0f;
        }
        return;
    }
    part[t] = hbpo_k_exp_share(z, lo, hi, inv, mx, hbpo_k_keep_all(), &last[t]);
    __syncthreads();
    if (t == 0) {
        total = hbpo_k_sum_in_order(part, HBPO_K_THREADS);
        kept = hbpo_k_keep_all();
        kept_mass = total;
    }
    __syncthreads();
    if (top_p < 1.0f) { /* the same branch for every thread */
        cut = hbpo_k_nucleus_cut(log(total), top_p, V);
        hbpo__block_offsets(at, hbpo_k_candidates(z, lo, hi, inv, mx, cut, NULL));
        hbpo_k_candidates(z, lo, hi, inv, mx, cut, w + at[t]);
        __syncthreads();
        if (t == 0)
            kept_mass = hbpo_k_nucleus(w, at[HBPO_K_THREADS], mx, (double)top_p * total, &kept.thr,
                                       &kept.n_ties);
        __syncthreads();
        hbpo__block_offsets(at, hbpo_k_count_equal(z, lo, hi, inv, kept.thr));
        {
            hbpo_k_kept mine = kept;
            mine.seen = at[t];
            part[t] = hbpo_k_exp_share(z, lo, hi, inv, mx, mine, &last[t]);
        }
        __syncthreads();
    }
    if (t != 0) return;
    k = hbpo_k_pick_chunked(z, V, inv, mx, kept, top_p < 1.0f ? at : NULL, part, last, HBPO_K_THREADS,
                            (double)coins[blockIdx.x] * kept_mass);
    tok[blockIdx.x] = k;
    logp[blockIdx.x] = (float)((double)(z[k] * inv - mx) - log(total));
}
/* greedy: one block per row, argmax by (value, lowest id), log-prob by a tree sum */
__global__ void hbpo__sample_greedy_kernel(int *tok, float *logp, const float *logits, int V) {
    __shared__ float sb[HBPO_K_THREADS];
    __shared__ int sa[HBPO_K_THREADS], sf[HBPO_K_THREADS];
    __shared__ double sh[HBPO_K_THREADS];
    const float *z = logits + (size_t)blockIdx.x * V;
    int t = threadIdx.x, w, j, a, ok;
    float b, mx;
    double s = 0.0, sum;
    hbpo_k_argmax_share(&b, &a, &ok, z, t, HBPO_K_THREADS, V);
    sb[t] = b; sa[t] = a; sf[t] = ok;
    __syncthreads();
    for (w = HBPO_K_THREADS / 2; w > 0; w /= 2) {
        if (t < w) {
            hbpo_k_argmax_merge(&sb[t], &sa[t], sb[t + w], sa[t + w]);
            sf[t] = sf[t] && sf[t + w];
        }
        __syncthreads();
    }
    mx = sb[0];
    for (j = t; j < V; j += HBPO_K_THREADS) s += exp((double)(z[j] - mx));
    sum = hbpo__block_sum(sh, s);
    if (t == 0) {
        tok[blockIdx.x] = sf[0] ? sa[0] : -1;
        logp[blockIdx.x] = (float)((double)(z[sa[0]] - mx) - log(sum));
    }
}
static int hbpo__cu_sample(int *tokens, float *logp, const float *logits, int n, int V,
                           const hbpo_sampler_config *s, const float *coins, float *work) {
    size_t ints = hbpo__align(sizeof(int) * (size_t)n), fl = hbpo__align(sizeof(float) * (size_t)n);
    char *ws;
    float *lp_host;
    int i, greedy;
    if (n <= 0) return 0;
    if (!tokens || !logits || !s || !coins || !work || V < 1)
        return hbpo_set_error("cuda sample: NULL argument or V = %d < 1", V);
    if (hbpo_sampler_config_check(s) != 0) return -1;
    greedy = s->temperature <= 0.0f;
    for (i = 0; i < n && !greedy; i++)
        if (!(coins[i] >= 0.0f && coins[i] < 1.0f))
            return hbpo_set_error("cuda sample: row %d: coin = %g is outside [0, 1)", i, (double)coins[i]);
    ws = (char *)hbpo__cu_ws(ints + 2 * fl);
    if (!ws) {
        hbpo_set_error("cuda sample: no workspace: %s", hbpo__cu.err);
        hbpo__cu.err[0] = 0;
        return -1;
    }
    HBPO_CU(cudaMemcpy(ws + ints + fl, coins, sizeof(float) * (size_t)n, cudaMemcpyHostToDevice));
    if (greedy) {
        hbpo__sample_greedy_kernel<<<n, HBPO_K_THREADS>>>((int *)ws, (float *)(ws + ints), logits, V);
        HBPO_LAUNCHED("hbpo__sample_greedy_kernel");
    } else if ((s->top_k <= 0 || s->top_k >= V) && V > 1) {
        hbpo__sample_block_kernel<<<n, HBPO_K_THREADS>>>((int *)ws, (float *)(ws + ints), logits, V,
                                                         1.0f / s->temperature, s->top_p,
                                                         (const float *)(ws + ints + fl), work);
        HBPO_LAUNCHED("hbpo__sample_block_kernel");
    } else {
        hbpo__sample_kernel<<<(n + 31) / 32, 32>>>((int *)ws, (float *)(ws + ints), logits, n, V,
                                                   s->temperature, s->top_p, s->top_k,
                                                   (const float *)(ws + ints + fl), work);
        HBPO_LAUNCHED("hbpo__sample_kernel");
    }
    HBPO_CU(cudaMemcpy(tokens, ws, sizeof(int) * (size_t)n, cudaMemcpyDeviceToHost));
    lp_host = logp;
    if (lp_host) HBPO_CU(cudaMemcpy(lp_host, ws + ints, sizeof(float) * (size_t)n, cudaMemcpyDeviceToHost));
    if (hbpo__cu_sync() != 0) return -1;
    for (i = 0; i < n; i++)
        if (tokens[i] < 0)
            return hbpo_set_error("cuda sample: row %d: a logit is not finite (after the temperature)", i);
    return 0;
}

/* ---- the table, device selection ----------------------------------------------------------------------------- */

/* Free device memory (cudaMemGetInfo), for hbpo_memory_plan_check. */
static int hbpo__cu_mem_free(size_t *free_bytes) {
    size_t tot = 0;
    cudaError_t e = cudaMemGetInfo(free_bytes, &tot);
    if (e != cudaSuccess) return hbpo_set_error("cudaMemGetInfo: %s", cudaGetErrorString(e));
    return 0;
}

static const hbpo_backend hbpo__cuda_table = {
    .name = "cuda",
    .alloc = hbpo__cu_alloc,
    .free = hbpo__cu_free,
    .upload = hbpo__cu_upload,
    .download = hbpo__cu_download,
    .copy = hbpo__cu_copy,
    .zero = hbpo__cu_zero,
    .sync = hbpo__cu_sync,
    .mem_free = hbpo__cu_mem_free,
    .matmul_forward = hbpo__cu_matmul_forward,
    .matmul_backward = hbpo__cu_matmul_backward,
    .embedding_forward = hbpo__cu_embedding_forward,
    .embedding_backward = hbpo__cu_embedding_backward,
    .rmsnorm_forward = hbpo__cu_rmsnorm_forward,
    .rmsnorm_backward = hbpo__cu_rmsnorm_backward,
    .rope_forward = hbpo__cu_rope_forward,
    .rope_backward = hbpo__cu_rope_backward,
    .attention_forward = hbpo__cu_attention_forward,
    .attention_backward = hbpo__cu_attention_backward,
    .kv_write = hbpo__cu_kv_write,
    .swiglu_forward = hbpo__cu_swiglu_forward,
    .swiglu_backward = hbpo__cu_swiglu_backward,
    .add = hbpo__cu_add,
    .gather_rows = hbpo__cu_gather_rows,
    .scatter_add_rows = hbpo__cu_scatter_add_rows,
    .logprob_forward = hbpo__cu_logprob_forward,
    .logprob_backward = hbpo__cu_logprob_backward,
    .sample = hbpo__cu_sample,
    .adamw = hbpo__cu_adamw,
    .sum_squares = hbpo__cu_sum_squares,
};

/* No device and no driver are normal on build machines, so they give 0, not
   an error code; the message says which it was. */
HBPODEF int hbpo_cuda_device_count(void) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        hbpo_set_error("no CUDA device: cudaGetDeviceCount: %s (%s)%s", cudaGetErrorString(e),
                       cudaGetErrorName(e),
                       e == cudaErrorInsufficientDriver
                           ? "; no NVIDIA driver is loaded, or it is older than this runtime"
                           : "");
        (void)cudaGetLastError(); /* clear the sticky runtime error */
        return 0;
    }
    if (n == 0) hbpo_set_error("no CUDA device: the driver reports 0 devices");
    return n;
}

HBPODEF const hbpo_backend *hbpo_backend_cuda(int device) {
    cudaDeviceProp p;
    cudaError_t e;
    cublasStatus_t bs;
    int n;
    if (hbpo__cu.device >= 0) {
        if (device == hbpo__cu.device) return &hbpo__cuda_table;
        hbpo_set_error("hbpo_backend_cuda: this process already uses device %d; one device per "
                       "process (device %d asked)", hbpo__cu.device, device);
        return NULL;
    }
    n = hbpo_cuda_device_count();
    if (n == 0) return NULL; /* message set */
    if (device < 0 || device >= n) {
        hbpo_set_error("hbpo_backend_cuda: device %d is missing (%d device%s: 0..%d)", device, n,
                       n == 1 ? "" : "s", n - 1);
        return NULL;
    }
    if ((e = cudaSetDevice(device)) != cudaSuccess ||
        (e = cudaGetDeviceProperties(&p, device)) != cudaSuccess) {
        hbpo_set_error("hbpo_backend_cuda: device %d: %s", device, cudaGetErrorString(e));
        return NULL;
    }
    /* The fat binary holds code for one architecture (CUDA_ARCH, sm_90 by default). */
    if (p.major * 10 + p.minor != HBPO__CUDA_ARCH_NUM) {
        hbpo_set_error("hbpo_backend_cuda: device %d (%s) is sm_%d%d; this build targets sm_%d "
                       "(make cuda CUDA_ARCH=sm_%d%d)", device, p.name, p.major, p.minor,
                       HBPO__CUDA_ARCH_NUM, p.major, p.minor);
        return NULL;
    }
    if ((bs = cublasCreate(&hbpo__cu.blas)) != CUBLAS_STATUS_SUCCESS) {
        hbpo_set_error("hbpo_backend_cuda: cublasCreate: %s", hbpo__cublas_name(bs));
        return NULL;
    }
    hbpo__cu.device = device;
    hbpo__cu.err[0] = 0;
    return &hbpo__cuda_table;
}

HBPODEF int hbpo_cuda_init(int device) { return hbpo_backend_cuda(device) ? 0 : -1; }

HBPODEF int hbpo_cuda_plan_check(const hbpo_model_config *c, int micro_batch, int seq,
                                 int rollout_batch, int max_len) {
    return hbpo_memory_plan_check(&hbpo__cuda_table, c, micro_batch, seq, rollout_batch, max_len);
}

HBPODEF void hbpo_cuda_describe(char *buf, size_t cap) {
    cudaDeviceProp p;
    size_t fr = 0, tot = 0;
    int d = hbpo__cu.device >= 0 ? hbpo__cu.device : 0;
    if (!buf || cap == 0) return;
    if (cudaGetDeviceProperties(&p, d) != cudaSuccess || cudaMemGetInfo(&fr, &tot) != cudaSuccess) {
        (void)cudaGetLastError();
        snprintf(buf, cap, "CUDA device %d (no properties)", d);
        return;
    }
    snprintf(buf, cap, "%s, sm_%d%d, %.1f GiB free of %.1f", p.name, p.major, p.minor,
             (double)fr / 1073741824.0, (double)tot / 1073741824.0);
}

#ifdef HBPO_USE_NCCL /* make cuda defines it when nvcc finds nccl.h (link -lnccl) */
/* ---- the NCCL communicator ------------------------------------------------
   NCCL does the transport; this adds the hbpo_comm table around it. The float
   all-reduce (the gradients) runs on NCCL; the small host operations (status
   agreement, metrics, gathers of rollouts) go through the host communicator
   (MPI), which also carries NCCL's unique id from rank 0 to the others. A
   host buffer (the CPU backend's gradients) is staged through device memory;
   a device buffer (the CUDA backend's) is reduced in place. */
typedef struct {
    ncclComm_t   nccl;
    cudaStream_t stream;
    hbpo_comm   *host;    /* borrowed: the MPI communicator */
    float       *stage;   /* device staging for host buffers */
    size_t       stage_n;
} hbpo__nccl;

/* A failing call sets "file:line: call: message" and returns -1. */
#define HBPO_CUDA_CHECK(call)                                                   \
    do {                                                                        \
        cudaError_t hbpo__e = (call);                                           \
        if (hbpo__e != cudaSuccess)                                             \
            return hbpo_set_error("%s:%d: %s: %s (%s)", __FILE__, __LINE__, #call, \
                                  cudaGetErrorString(hbpo__e), cudaGetErrorName(hbpo__e)); \
    } while (0)
#define HBPO_NCCL_CHECK(call)                                                   \
    do {                                                                        \
        ncclResult_t hbpo__r = (call);                                          \
        if (hbpo__r != ncclSuccess)                                             \
            return hbpo_set_error("%s:%d: %s: %s", __FILE__, __LINE__, #call,    \
                                  ncclGetErrorString(hbpo__r));                 \
    } while (0)

static int hbpo__nccl_is_device(const void *p) {
    cudaPointerAttributes a;
    if (cudaPointerGetAttributes(&a, p) != cudaSuccess) {
        (void)cudaGetLastError(); /* an unregistered host pointer on old runtimes */
        return 0;
    }
    return a.type == cudaMemoryTypeDevice || a.type == cudaMemoryTypeManaged;
}

static int hbpo__nccl_allreduce_sum(hbpo_comm *c, float *buf, size_t n) {
    hbpo__nccl *p = (hbpo__nccl *)c->impl;
    float *d = buf;
    int staged = !hbpo__nccl_is_device(buf);
    if (n == 0) return 0;
    if (staged) {
        if (n > p->stage_n) {
            HBPO_CUDA_CHECK(cudaFree(p->stage));
            p->stage = NULL;
            p->stage_n = 0;
            HBPO_CUDA_CHECK(cudaMalloc((void **)&p->stage, n * sizeof(float)));
            p->stage_n = n;
        }
        d = p->stage;
        HBPO_CUDA_CHECK(cudaMemcpyAsync(d, buf, n * sizeof(float), cudaMemcpyHostToDevice, p->stream));
    } else {
        /* the CUDA backend's kernels run on the legacy default stream: wait for them */
        HBPO_CUDA_CHECK(cudaStreamSynchronize(0));
    }
    HBPO_NCCL_CHECK(ncclAllReduce(d, d, n, ncclFloat, ncclSum, p->nccl, p->stream));
    if (staged)
        HBPO_CUDA_CHECK(cudaMemcpyAsync(buf, d, n * sizeof(float), cudaMemcpyDeviceToHost, p->stream));
    HBPO_CUDA_CHECK(cudaStreamSynchronize(p->stream));
    return 0;
}

static int hbpo__nccl_allreduce_f64(hbpo_comm *c, double *x, int n, int op) {
    hbpo_comm *h = ((hbpo__nccl *)c->impl)->host;
    return h->allreduce_f64(h, x, n, op);
}
static int hbpo__nccl_broadcast(hbpo_comm *c, void *buf, size_t bytes, int root) {
    hbpo_comm *h = ((hbpo__nccl *)c->impl)->host;
    return h->broadcast(h, buf, bytes, root);
}
static int hbpo__nccl_allgather(hbpo_comm *c, void *buf, const size_t *off) {
    hbpo_comm *h = ((hbpo__nccl *)c->impl)->host;
    return h->allgather(h, buf, off);
}
static int hbpo__nccl_barrier(hbpo_comm *c) {
    hbpo_comm *h = ((hbpo__nccl *)c->impl)->host;
    return h->barrier(h);
}
static void hbpo__nccl_abort(hbpo_comm *c, int code) {
    hbpo__nccl *p = (hbpo__nccl *)c->impl;
    ncclCommAbort(p->nccl);
    p->host->abort(p->host, code);
}
static void hbpo__nccl_finish(hbpo_comm *c) {
    hbpo__nccl *p = (hbpo__nccl *)c->impl;
    if (!p) return;
    ncclCommDestroy(p->nccl);
    cudaStreamDestroy(p->stream);
    cudaFree(p->stage);
    free(p);
    c->impl = NULL;
}

/* Rank r of host uses device `device`; every rank calls it (collective). */
HBPODEF int hbpo_comm_init_nccl(hbpo_comm *c, hbpo_comm *host, int device) {
    hbpo__nccl *p;
    ncclUniqueId id;
    double ok = 1;
    char first[512] = "";
    int rc;
    if (!c || !host) return hbpo_set_error("hbpo_comm_init_nccl: comm or host comm is NULL");
    memset(&id, 0, sizeof id);
    /* rank 0 makes the id; every rank learns whether that and its device worked */
    if (cudaSetDevice(device) != cudaSuccess) {
        snprintf(first, sizeof first, "hbpo_comm_init_nccl: rank %d: cudaSetDevice(%d): %s",
                 host->rank, device, cudaGetErrorString(cudaGetLastError()));
        ok = 0;
    }
    if (ok && host->rank == 0) {
        ncclResult_t r = ncclGetUniqueId(&id);
        if (r != ncclSuccess) {
            snprintf(first, sizeof first, "hbpo_comm_init_nccl: ncclGetUniqueId: %s", ncclGetErrorString(r));
            ok = 0;
        }
    }
    if (host->allreduce_f64(host, &ok, 1, HBPO_COMM_MIN) != 0)
        return hbpo_set_error("hbpo_comm_init_nccl: the host communicator failed");
    if (ok == 0)
        return hbpo_set_error("%s", first[0] ? first : "hbpo_comm_init_nccl: another rank failed");
    if (host->broadcast(host, &id, sizeof id, 0) != 0)
        return hbpo_set_error("hbpo_comm_init_nccl: broadcast of the unique id failed");
    p = (hbpo__nccl *)calloc(1, sizeof *p);
    if (!p) return hbpo_set_error("hbpo_comm_init_nccl: out of memory");
    p->host = host;
    if (cudaStreamCreate(&p->stream) != cudaSuccess) {
        free(p);
        return hbpo_set_error("hbpo_comm_init_nccl: cudaStreamCreate: %s", cudaGetErrorString(cudaGetLastError()));
    }
    rc = ncclCommInitRank(&p->nccl, host->size, id, host->rank) == ncclSuccess ? 0 : -1;
    if (rc != 0) {
        cudaStreamDestroy(p->stream);
        free(p);
        return hbpo_set_error("hbpo_comm_init_nccl: ncclCommInitRank (rank %d of %d, device %d) failed "
                              "(NCCL refuses two ranks on one GPU)", host->rank, host->size, device);
    }
    memset(c, 0, sizeof *c);
    c->name = "nccl";
    c->rank = host->rank;
    c->size = host->size;
    c->impl = p;
    c->allreduce_sum = hbpo__nccl_allreduce_sum;
    c->allreduce_f64 = hbpo__nccl_allreduce_f64;
    c->broadcast = hbpo__nccl_broadcast;
    c->allgather = hbpo__nccl_allgather;
    c->barrier = hbpo__nccl_barrier;
    c->abort = hbpo__nccl_abort;
    c->finish = hbpo__nccl_finish;
    return 0;
}
#endif /* HBPO_USE_NCCL */
