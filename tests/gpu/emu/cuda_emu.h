/* cuda_emu.h - the part of the CUDA runtime, cuBLAS and CUB that hbpo_cuda.cu
   uses, run on the CPU, so that the CUDA backend's own code (every kernel,
   launch, copy and product) runs in `make test` on machines without a GPU.
   For tests only: the Makefile compiles hbpo_cuda.cu as C++ against these
   headers (tests/gpu/emu/ first on the include path) after rewriting each
   launch `k<<<grid, block>>>(args)` as `HBPO_EMU_LAUNCH(k, grid, block)(args)`,
   and links it with tests/gpu/test_cuda.c: build/test_cuda_emu.

   What it checks beyond the arithmetic (tests/test_cuda_host.c has that):
   - Kernels run as CUDA runs them: every block of the grid, every thread of
     a block as a fiber (ucontext), __syncthreads a barrier of the block,
     __shared__ memory shared by the block's threads. A barrier that some
     threads reach more often than others (divergent __syncthreads) fails.
   - Launch configurations are checked as the driver does (no empty grid,
     at most 1024 threads a block, grid.y and grid.z below 65536).
   - Memory spaces: device memory is a registry of cudaMalloc'd ranges. Every
     pointer argument of a kernel must lie in one (or be NULL); cudaMemcpy's
     source and destination must be on the sides its kind says; cuBLAS
     operands must span inside one allocation for their shape and leading
     dimension; cudaFree takes only what cudaMalloc gave. A host pointer
     handed to the GPU, the bug that CPU-side tests cannot see, fails here.
   - Guard words after every allocation, checked at each synchronisation and
     at cudaFree, catch writes past the end (the ggml backend-test habit).
   - cuBLAS's column-major semantics come from OpenBLAS's CblasColMajor
     (a plain loop without OpenBLAS), not from hbpo.h's mapping, so the
     mapping is checked against an independent reading of the same call;
     bf16 and tf32 inputs are rounded first, as the GPU does.
   A failure is sticky, as a device fault is: the next cudaDeviceSynchronize
   returns it, and the message ("emu: ...") is printed to stderr.

   - HBPO_EMU_ORDER=reverse runs blocks and threads last to first: a race
     (a result that depends on the order CUDA does not promise) shows as a
     difference between the two runs of make test.

   What it cannot check: timing, coalescing, races that both orders hide
   (fibers run one at a time), the asynchrony of streams, real cuBLAS and CUB.
   Passing here is not running on a GPU; tools/gpu_check.sh is that. */
#ifndef HBPO_CUDA_EMU_H
#define HBPO_CUDA_EMU_H

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <setjmp.h>
#include <ucontext.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#ifdef HBPO_USE_OPENBLAS
#include <cblas.h>
#endif

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
/* Blocks run one after another, so one static array per kernel serves as the
   running block's shared memory. */
#define __shared__ static

/* ---- types and errors ------------------------------------------------------------------ */

struct dim3 {
    unsigned x, y, z;
    constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};
typedef dim3 uint3;
inline uint3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

enum cudaError_t {
    cudaSuccess = 0,
    cudaErrorInvalidValue = 1,
    cudaErrorMemoryAllocation = 2,
    cudaErrorInvalidConfiguration = 9,
    cudaErrorInsufficientDriver = 35,
    cudaErrorInvalidDevice = 101,
    cudaErrorIllegalAddress = 700,
    cudaErrorLaunchFailure = 719,
};
typedef cudaError_t cudaError;
enum cudaMemcpyKind {
    cudaMemcpyHostToHost = 0,
    cudaMemcpyHostToDevice = 1,
    cudaMemcpyDeviceToHost = 2,
    cudaMemcpyDeviceToDevice = 3,
    cudaMemcpyDefault = 4,
};
enum cudaMemoryType { cudaMemoryTypeUnregistered = 0, cudaMemoryTypeHost = 1, cudaMemoryTypeDevice = 2,
                      cudaMemoryTypeManaged = 3 };
struct cudaPointerAttributes {
    cudaMemoryType type;
    int device;
    void *devicePointer, *hostPointer;
};
struct cudaDeviceProp {
    char name[256];
    int major, minor, multiProcessorCount;
    size_t totalGlobalMem;
};
typedef struct hbpo_emu_stream *cudaStream_t;

namespace hbpo_emu {

/* ---- device memory: a registry of allocations with guard words ------------------------- */

enum { GUARD = 64 }; /* bytes of 0xA5 after every allocation */
struct state {
    std::map<uintptr_t, size_t> allocs; /* base -> bytes asked */
    size_t used = 0;
    cudaError_t sticky = cudaSuccess, last = cudaSuccess;
    int device = 0;
    unsigned long launches = 0;
};
inline state &st() {
    static state s;
    return s;
}
/* total device memory the emulator reports (HBPO_EMU_GIB, default 80) */
inline size_t capacity() {
    const char *e = getenv("HBPO_EMU_GIB");
    double g = e ? atof(e) : 80.0;
    return (size_t)((g > 0 ? g : 80.0) * 1073741824.0);
}
/* A device fault: sticky, reported by the next synchronisation. */
inline cudaError_t fault(cudaError_t e, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "emu: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    if (st().sticky == cudaSuccess) st().sticky = e;
    return e;
}
/* The allocation holding [p, p + bytes), or allocs.end(). */
inline std::map<uintptr_t, size_t>::iterator find(const void *p, size_t bytes) {
    std::map<uintptr_t, size_t> &a = st().allocs;
    uintptr_t u = (uintptr_t)p;
    std::map<uintptr_t, size_t>::iterator it = a.upper_bound(u);
    if (it == a.begin()) return a.end();
    --it;
    if (u < it->first || u - it->first > it->second || bytes > it->second - (u - it->first))
        return a.end();
    return it;
}
inline bool on_device(const void *p, size_t bytes = 0) { return find(p, bytes) != st().allocs.end(); }
inline bool guard_ok(uintptr_t base, size_t bytes) {
    const unsigned char *g = (const unsigned char *)base + bytes;
    for (int i = 0; i < GUARD; i++)
        if (g[i] != 0xA5) return false;
    return true;
}
inline cudaError_t check_guards(const char *when) {
    for (const auto &a : st().allocs)
        if (!guard_ok(a.first, a.second))
            return fault(cudaErrorIllegalAddress, "%s: a write past the end of the device "
                         "allocation of %zu bytes at %p", when, a.second, (void *)a.first);
    return cudaSuccess;
}

/* ---- kernels: blocks in turn, threads as fibers ---------------------------------------- */

enum { STACK = 256 * 1024, MAX_THREADS = 1024, DIRECT = -2, DIRECT_SYNCED = -3 };
struct fiber {
    ucontext_t ctx; /* to start it */
    jmp_buf at;     /* where it waits */
    int done, made, started;
    unsigned barriers; /* __syncthreads passed */
};
struct sched {
    jmp_buf main;
    fiber *f = nullptr;
    char *stacks = nullptr;
    int n = 0, cur = -1;
    void (*body)(void *) = nullptr;
    void *arg = nullptr;
};
inline sched &sc() {
    static sched s;
    return s;
}
/* A fiber starts here once (setcontext) and then serves thread slot t of
   every block of every launch: it runs the body, jumps back to the scheduler,
   and waits there for the next block. Switches are _setjmp/_longjmp, which
   make no system call. */
inline void fiber_entry() {
    for (;;) {
        sc().body(sc().arg);
        sc().f[sc().cur].done = 1;
        if (_setjmp(sc().f[sc().cur].at) == 0) _longjmp(sc().main, 1);
    }
}
/* Thread slot t ready for a new block (the fiber made on first use:
   getcontext returns twice, hence a function of its own). */
__attribute__((noinline)) inline void prepare(int t) {
    fiber &f = sc().f[t];
    if (!f.made) {
        getcontext(&f.ctx);
        f.ctx.uc_stack.ss_sp = sc().stacks + (size_t)t * STACK;
        f.ctx.uc_stack.ss_size = STACK;
        f.ctx.uc_link = NULL;
        makecontext(&f.ctx, fiber_entry, 0);
        f.made = 1;
    }
    f.done = 0;
    f.barriers = 0;
}
/* Runs thread t until it waits at a barrier or ends (alone in its function:
   nothing here lives across the jump). */
__attribute__((noinline)) inline void resume(int t) {
    if (_setjmp(sc().main) != 0) return;
    if (!sc().f[t].started) {
        sc().f[t].started = 1;
        setcontext(&sc().f[t].ctx); /* once per fiber */
    }
    _longjmp(sc().f[t].at, 1);
}
inline void set_thread(int t) {
    threadIdx = dim3((unsigned)t % blockDim.x, (unsigned)t / blockDim.x % blockDim.y,
                     (unsigned)t / (blockDim.x * blockDim.y));
}
/* HBPO_EMU_ORDER=reverse runs the blocks of a grid, and the threads of a
   block between two barriers, last to first. CUDA promises no order, so a
   kernel whose result depends on it (a race through shared or global
   memory) gives different results in the two orders: make test runs the GPU
   tests in both. */
inline int reverse_order() {
    static int r = -1;
    if (r < 0) r = getenv("HBPO_EMU_ORDER") && !strcmp(getenv("HBPO_EMU_ORDER"), "reverse");
    return r;
}
/* The i-th block (i-th thread) of count in the chosen order. */
inline size_t nth(size_t i, size_t count) { return reverse_order() ? count - 1 - i : i; }
inline dim3 block_of(size_t i, dim3 g) {
    return dim3((unsigned)(i % g.x), (unsigned)(i / g.x % g.y), (unsigned)(i / ((size_t)g.x * g.y)));
}
/* Runs body(arg) as every thread of every block of the grid. A kernel whose
   first launched block never waits at a barrier runs its threads as plain
   calls from then on (fibers cost two system calls a switch); should such a
   kernel reach __syncthreads later, that is a fault, never a silent error. */
inline cudaError_t run(dim3 g, dim3 b, void (*body)(void *), void *arg, const char *name,
                       const void *kernel) {
    static std::map<const void *, int> direct; /* kernel -> 1: no barrier seen */
    sched &s = sc();
    int n = (int)(b.x * b.y * b.z);
    size_t blocks = (size_t)g.x * g.y * g.z;
    std::map<const void *, int>::iterator d = direct.find(kernel);
    gridDim = g;
    blockDim = b;
    if (d != direct.end() && d->second) {
        s.cur = DIRECT;
        for (size_t i = 0; i < blocks; i++) {
            blockIdx = block_of(nth(i, blocks), g);
            for (int k = 0; k < n && s.cur == DIRECT; k++) {
                set_thread((int)nth((size_t)k, (size_t)n));
                body(arg);
            }
        }
        if (s.cur != DIRECT)
            return fault(cudaErrorLaunchFailure, "%s: __syncthreads in a kernel run without "
                         "fibers (its first block had no barrier)", name);
        s.cur = -1;
        return cudaSuccess;
    }
    if (!s.stacks) {
        s.stacks = (char *)mmap(NULL, (size_t)STACK * MAX_THREADS, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        s.f = new fiber[MAX_THREADS]();
        if (s.stacks == MAP_FAILED) return fault(cudaErrorMemoryAllocation, "no fiber stacks");
    }
    s.body = body;
    s.arg = arg;
    s.n = n;
    for (size_t i = 0; i < blocks; i++) {
        int live = n, t, k;
        blockIdx = block_of(nth(i, blocks), g);
        for (t = 0; t < n; t++) prepare(t);
        /* one round runs every live thread to its next barrier or its end */
        while (live > 0) {
            unsigned want = 0;
            int first = 1;
            for (k = 0; k < n; k++) {
                t = (int)nth((size_t)k, (size_t)n);
                if (s.f[t].done) continue;
                s.cur = t;
                set_thread(t);
                resume(t);
            }
            live = 0;
            for (t = 0; t < n; t++) {
                if (s.f[t].done) continue;
                live++;
                if (first) want = s.f[t].barriers, first = 0;
                else if (s.f[t].barriers != want) {
                    s.cur = -1;
                    return fault(cudaErrorLaunchFailure, "%s: block (%u,%u,%u): threads wait at "
                                 "different __syncthreads (divergent barrier)", name, blockIdx.x,
                                 blockIdx.y, blockIdx.z);
                }
            }
        }
        if (d == direct.end()) { /* the first block: did any thread wait? */
            unsigned waits = 0;
            for (t = 0; t < n; t++) waits += s.f[t].barriers;
            d = direct.insert(std::make_pair(kernel, waits == 0 ? 1 : 0)).first;
        }
    }
    s.cur = -1;
    return cudaSuccess;
}
inline void syncthreads() {
    sched &s = sc();
    int t = s.cur;
    if (t == DIRECT) s.cur = DIRECT_SYNCED;
    if (t < 0) return;
    s.f[t].barriers++;
    if (_setjmp(s.f[t].at) == 0) _longjmp(s.main, 1); /* resume() sets threadIdx */
}

/* A launch: the configuration and the arguments checked, then the grid run. */
template <class... P> struct launch {
    void (*k)(P...);
    dim3 g, b;
    const char *name;
    template <class T> static bool arg_ok(const T &v) {
        if constexpr (std::is_pointer_v<T>) return v == nullptr || on_device((const void *)v);
        else return true;
    }
    template <class... A> void operator()(A &&...a) {
        std::tuple<P...> args(std::forward<A>(a)...);
        unsigned nt = b.x * b.y * b.z;
        int i = 0, bad = -1;
        st().launches++;
        if (g.x == 0 || g.y == 0 || g.z == 0 || nt == 0 || nt > MAX_THREADS || g.y > 65535 ||
            g.z > 65535 || b.z > 64) {
            fprintf(stderr, "emu: %s: invalid launch configuration grid (%u,%u,%u) block (%u,%u,%u)\n",
                    name, g.x, g.y, g.z, b.x, b.y, b.z);
            st().last = cudaErrorInvalidConfiguration;
            return;
        }
        std::apply([&](const auto &...v) { ((bad = bad < 0 && !arg_ok(v) ? i : bad, i++), ...); }, args);
        if (bad >= 0) {
            fault(cudaErrorIllegalAddress, "%s: argument %d is a pointer outside device memory "
                  "(a host pointer, or freed)", name, bad + 1);
            return;
        }
        struct ctx {
            void (*k)(P...);
            std::tuple<P...> *args;
        } c = {k, &args};
        run(g, b, [](void *p) { ctx *c = (ctx *)p; std::apply(c->k, *c->args); }, &c, name,
            (const void *)k);
    }
};
template <class... P> launch<P...> make(void (*k)(P...), const char *name, dim3 g, dim3 b,
                                        size_t shared = 0, cudaStream_t stream = 0) {
    (void)stream;
    if (shared) fprintf(stderr, "emu: %s: dynamic shared memory is not emulated\n", name);
    return launch<P...>{k, g, b, name};
}

} /* namespace hbpo_emu */

#define HBPO_EMU_LAUNCH(k, ...) hbpo_emu::make(k, #k, __VA_ARGS__)
inline void __syncthreads() { hbpo_emu::syncthreads(); }

/* ---- the runtime API ------------------------------------------------------------------- */

/* name and message of each error this stand-in returns */
inline const char *error_text(cudaError_t e, int message) {
    static const struct { cudaError_t e; const char *name, *msg; } tab[] = {
        {cudaSuccess, "cudaSuccess", "no error"},
        {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
        {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
        {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration", "invalid configuration argument"},
        {cudaErrorInsufficientDriver, "cudaErrorInsufficientDriver",
         "CUDA driver version is insufficient for CUDA runtime version"},
        {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
        {cudaErrorIllegalAddress, "cudaErrorIllegalAddress", "an illegal memory access was encountered"},
        {cudaErrorLaunchFailure, "cudaErrorLaunchFailure", "unspecified launch failure"},
    };
    for (const auto &t : tab)
        if (t.e == e) return message ? t.msg : t.name;
    return message ? "unknown error" : "cudaErrorUnknown";
}
inline const char *cudaGetErrorName(cudaError_t e) { return error_text(e, 0); }
inline const char *cudaGetErrorString(cudaError_t e) { return error_text(e, 1); }
/* The launch error (not sticky) or the sticky fault. */
inline cudaError_t cudaGetLastError() {
    cudaError_t e = hbpo_emu::st().sticky != cudaSuccess ? hbpo_emu::st().sticky : hbpo_emu::st().last;
    hbpo_emu::st().last = cudaSuccess;
    return e;
}
inline cudaError_t cudaGetDeviceCount(int *n) {
    *n = 1;
    return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int d) {
    if (d != 0) return cudaErrorInvalidDevice;
    hbpo_emu::st().device = d;
    return cudaSuccess;
}
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp *p, int d) {
    if (d != 0) return cudaErrorInvalidDevice;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "hbpo CUDA emulator on the CPU");
#ifdef HBPO__CUDA_ARCH_NUM
    p->major = HBPO__CUDA_ARCH_NUM / 10;
    p->minor = HBPO__CUDA_ARCH_NUM % 10;
#endif
    p->multiProcessorCount = 1;
    p->totalGlobalMem = hbpo_emu::capacity();
    return cudaSuccess;
}
inline cudaError_t cudaMemGetInfo(size_t *fr, size_t *tot) {
    size_t cap = hbpo_emu::capacity(), used = hbpo_emu::st().used;
    *tot = cap;
    *fr = used < cap ? cap - used : 0;
    return cudaSuccess;
}
inline cudaError_t cudaMalloc(void **p, size_t bytes) {
    hbpo_emu::state &s = hbpo_emu::st();
    size_t round = (bytes + 255) & ~(size_t)255;
    unsigned char *m;
    *p = NULL;
    if (bytes > hbpo_emu::capacity() - (s.used < hbpo_emu::capacity() ? s.used : hbpo_emu::capacity()))
        return s.last = cudaErrorMemoryAllocation;
    m = (unsigned char *)aligned_alloc(256, round + 256);
    if (!m) return s.last = cudaErrorMemoryAllocation;
    memset(m, 0x7f, bytes); /* cudaMalloc does not clear: a NaN-free but unlikely pattern */
    memset(m + bytes, 0xA5, hbpo_emu::GUARD);
    s.allocs[(uintptr_t)m] = bytes;
    s.used += round;
    *p = m;
    return cudaSuccess;
}
template <class T> inline cudaError_t cudaMalloc(T **p, size_t bytes) {
    return cudaMalloc((void **)p, bytes);
}
inline cudaError_t cudaFree(void *p) {
    hbpo_emu::state &s = hbpo_emu::st();
    std::map<uintptr_t, size_t>::iterator it;
    if (!p) return cudaSuccess;
    it = s.allocs.find((uintptr_t)p);
    if (it == s.allocs.end())
        return hbpo_emu::fault(cudaErrorInvalidValue, "cudaFree(%p): not a pointer cudaMalloc "
                               "returned (a host pointer, freed twice, or inside a buffer)", p);
    if (!hbpo_emu::guard_ok(it->first, it->second))
        hbpo_emu::fault(cudaErrorIllegalAddress, "cudaFree: a write past the end of the "
                        "allocation of %zu bytes at %p", it->second, p);
    s.used -= (it->second + 255) & ~(size_t)255;
    s.allocs.erase(it);
    free(p);
    return cudaSuccess;
}
inline cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind) {
    bool dd = hbpo_emu::on_device(dst, bytes), sd = hbpo_emu::on_device(src, bytes);
    bool want_dd = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    bool want_sd = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if (bytes == 0) return cudaSuccess;
    if (kind == cudaMemcpyDefault) want_dd = dd, want_sd = sd;
    if (dd != want_dd || sd != want_sd)
        return hbpo_emu::fault(cudaErrorInvalidValue, "cudaMemcpy of %zu bytes, kind %d: the "
                               "destination is %s and the source %s", bytes, (int)kind,
                               dd ? "in device memory" : "not in a device allocation (or too long)",
                               sd ? "in device memory" : "not in a device allocation (or too long)");
    memmove(dst, src, bytes);
    return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind,
                                   cudaStream_t stream = 0) {
    (void)stream;
    return cudaMemcpy(dst, src, bytes, kind);
}
inline cudaError_t cudaMemset(void *p, int v, size_t bytes) {
    if (bytes && !hbpo_emu::on_device(p, bytes))
        return hbpo_emu::fault(cudaErrorInvalidValue, "cudaMemset of %zu bytes at %p: not inside "
                               "one device allocation", bytes, p);
    memset(p, v, bytes);
    return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void *p, int v, size_t bytes, cudaStream_t stream = 0) {
    (void)stream;
    return cudaMemset(p, v, bytes);
}
inline cudaError_t cudaDeviceSynchronize() {
    hbpo_emu::check_guards("cudaDeviceSynchronize");
    return hbpo_emu::st().sticky;
}
inline cudaError_t cudaStreamCreate(cudaStream_t *s) {
    *s = NULL;
    return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaDeviceSynchronize(); }
inline cudaError_t cudaPointerGetAttributes(cudaPointerAttributes *a, const void *p) {
    memset(a, 0, sizeof *a);
    a->type = hbpo_emu::on_device(p) ? cudaMemoryTypeDevice : cudaMemoryTypeUnregistered;
    return cudaSuccess;
}

/* ---- bf16 ------------------------------------------------------------------------------ */

struct __nv_bfloat16_raw {
    unsigned short x;
};
struct __nv_bfloat16 {
    unsigned short x;
    __nv_bfloat16() = default;
    __nv_bfloat16(__nv_bfloat16_raw r) : x(r.x) {}
};
inline float hbpo_emu_bf16_float(unsigned short h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- cuBLAS: cublasGemmEx ---------------------------------------------------------------- */

typedef struct hbpo_emu_blas *cublasHandle_t;
enum cublasStatus_t {
    CUBLAS_STATUS_SUCCESS = 0,
    CUBLAS_STATUS_NOT_INITIALIZED = 1,
    CUBLAS_STATUS_ALLOC_FAILED = 3,
    CUBLAS_STATUS_INVALID_VALUE = 7,
    CUBLAS_STATUS_ARCH_MISMATCH = 8,
    CUBLAS_STATUS_MAPPING_ERROR = 11,
    CUBLAS_STATUS_EXECUTION_FAILED = 13,
    CUBLAS_STATUS_INTERNAL_ERROR = 14,
    CUBLAS_STATUS_NOT_SUPPORTED = 15,
};
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 };
enum cublasComputeType_t { CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_FAST_TF32 = 77 };
enum cudaDataType { CUDA_R_32F = 0, CUDA_R_16BF = 14 };
enum cublasGemmAlgo_t { CUBLAS_GEMM_DEFAULT = -1 };

inline cublasStatus_t cublasCreate(cublasHandle_t *h) {
    static int one;
    *h = (cublasHandle_t)&one;
    return CUBLAS_STATUS_SUCCESS;
}
/* An operand of rows x cols (column-major, leading dimension ld) as floats,
   rounded as the compute type reads it; NULL when it is not in one device
   allocation (the fault says which). */
inline float *hbpo_emu_operand(const char *which, const void *p, cudaDataType t, int rows,
                               int cols, int ld, int tf32) {
    size_t n = (size_t)ld * (size_t)(cols > 0 ? cols - 1 : 0) + (size_t)rows, es = t == CUDA_R_16BF ? 2 : 4;
    float *f;
    if (!hbpo_emu::on_device(p, n * es)) {
        hbpo_emu::fault(cudaErrorIllegalAddress, "cublasGemmEx: %s (%d x %d, ld %d) does not lie "
                        "inside one device allocation", which, rows, cols, ld);
        return NULL;
    }
    f = (float *)malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) {
        float x = t == CUDA_R_16BF ? hbpo_emu_bf16_float(((const unsigned short *)p)[i]) : ((const float *)p)[i];
        if (tf32) { /* round to nearest even on 10 mantissa bits */
            uint32_t u;
            memcpy(&u, &x, 4);
            if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu;
            memcpy(&x, &u, 4);
        }
        f[i] = x;
    }
    return f;
}
/* C (m x n) = alpha op(A) op(B) + beta C, column-major, as cuBLAS defines it. */
inline cublasStatus_t cublasGemmEx(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m,
                                   int n, int k, const void *alpha, const void *A, cudaDataType at,
                                   int lda, const void *B, cudaDataType bt, int ldb,
                                   const void *beta, void *C, cudaDataType ct, int ldc,
                                   cublasComputeType_t compute, cublasGemmAlgo_t algo) {
    float al = *(const float *)alpha, be = *(const float *)beta, *a, *b, *c = (float *)C;
    int ar = ta == CUBLAS_OP_N ? m : k, ac = ta == CUBLAS_OP_N ? k : m;
    int br = tb == CUBLAS_OP_N ? k : n, bc = tb == CUBLAS_OP_N ? n : k;
    int tf32 = compute == CUBLAS_COMPUTE_32F_FAST_TF32;
    (void)algo;
    if (!h || m < 0 || n < 0 || k < 0 || lda < (ar > 1 ? ar : 1) || ldb < (br > 1 ? br : 1) ||
        ldc < (m > 1 ? m : 1) || ta == CUBLAS_OP_C || tb == CUBLAS_OP_C)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (ct != CUDA_R_32F || at != bt || (at == CUDA_R_16BF && compute != CUBLAS_COMPUTE_32F))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (m == 0 || n == 0) return CUBLAS_STATUS_SUCCESS;
    if (!hbpo_emu::on_device(C, sizeof(float) * ((size_t)ldc * (size_t)(n - 1) + (size_t)m))) {
        hbpo_emu::fault(cudaErrorIllegalAddress, "cublasGemmEx: C (%d x %d, ld %d) does not lie "
                        "inside one device allocation", m, n, ldc);
        return CUBLAS_STATUS_EXECUTION_FAILED;
    }
    a = hbpo_emu_operand("A", A, at, ar, ac, lda, tf32);
    b = a ? hbpo_emu_operand("B", B, bt, br, bc, ldb, tf32) : NULL;
    if (!a || !b) {
        free(a);
        return CUBLAS_STATUS_EXECUTION_FAILED;
    }
#ifdef HBPO_USE_OPENBLAS
    if (k > 0)
        cblas_sgemm(CblasColMajor, ta == CUBLAS_OP_N ? CblasNoTrans : CblasTrans,
                    tb == CUBLAS_OP_N ? CblasNoTrans : CblasTrans, m, n, k, al, a, lda, b, ldb, be, c, ldc);
    else
#endif
    { /* without OpenBLAS: row i of op(A) and column j of op(B) copied out
         contiguous, then dot products in double */
        float *ar = (float *)malloc(sizeof(float) * ((size_t)m * k + 1));
        float *bc = (float *)malloc(sizeof(float) * ((size_t)n * k + 1));
        for (int i = 0; i < m; i++)
            for (int l = 0; l < k; l++)
                ar[(size_t)i * k + l] = ta == CUBLAS_OP_N ? a[i + (size_t)l * lda] : a[l + (size_t)i * lda];
        for (int j = 0; j < n; j++)
            for (int l = 0; l < k; l++)
                bc[(size_t)j * k + l] = tb == CUBLAS_OP_N ? b[l + (size_t)j * ldb] : b[j + (size_t)l * ldb];
        for (int j = 0; j < n; j++)
            for (int i = 0; i < m; i++) {
                const float *x = ar + (size_t)i * k, *y = bc + (size_t)j * k;
                double s = 0.0;
                for (int l = 0; l < k; l++) s += (double)x[l] * y[l];
                float *cij = &c[i + (size_t)j * ldc];
                *cij = (float)(al * s + (be == 0.0f ? 0.0 : (double)be * *cij));
            }
        free(ar);
        free(bc);
    }
    free(a);
    free(b);
    return CUBLAS_STATUS_SUCCESS;
}

/* ---- CUB: DeviceRadixSort::SortPairs (stable, as LSD radix sort is) ----------------------- */

namespace cub {
struct DeviceRadixSort {
    template <class K, class V>
    static cudaError_t SortPairs(void *temp, size_t &temp_bytes, const K *kin, K *kout, const V *vin,
                                 V *vout, int n, int begin_bit = 0, int end_bit = (int)sizeof(K) * 8,
                                 cudaStream_t stream = 0) {
        (void)begin_bit, (void)end_bit, (void)stream;
        if (!temp) {
            temp_bytes = sizeof(K) * (size_t)n + 256;
            return cudaSuccess;
        }
        if (!hbpo_emu::on_device(temp, temp_bytes) || !hbpo_emu::on_device(kin, sizeof(K) * n) ||
            !hbpo_emu::on_device(kout, sizeof(K) * n) || !hbpo_emu::on_device(vin, sizeof(V) * n) ||
            !hbpo_emu::on_device(vout, sizeof(V) * n))
            return hbpo_emu::fault(cudaErrorIllegalAddress, "cub::DeviceRadixSort::SortPairs: a "
                                   "buffer is not inside device memory");
        std::vector<int> ix((size_t)n);
        for (int i = 0; i < n; i++) ix[(size_t)i] = i;
        std::stable_sort(ix.begin(), ix.end(), [&](int x, int y) { return kin[x] < kin[y]; });
        std::vector<K> k2((size_t)n);
        std::vector<V> v2((size_t)n);
        for (int i = 0; i < n; i++) k2[(size_t)i] = kin[ix[(size_t)i]], v2[(size_t)i] = vin[ix[(size_t)i]];
        std::copy(k2.begin(), k2.end(), kout);
        std::copy(v2.begin(), v2.end(), vout);
        return cudaSuccess;
    }
};
} /* namespace cub */

#endif /* HBPO_CUDA_EMU_H */
