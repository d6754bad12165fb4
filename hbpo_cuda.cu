/* hbpo_cuda.cu - the CUDA backend of hbpo.h (device discovery and the NCCL
   communicator; no kernels yet).

   What is here: finding a device and saying honestly that the kernels are
   not written yet; and hbpo_comm_init_nccl, the data-parallel communicator
   whose gradient all-reduce runs on NCCL (one rank per GPU). Everything else (structs, forward/backward order, the
   trainer) lives in hbpo.h; this file will add only kernels and device memory
   (house style), so it includes hbpo.h for the declarations and nothing more.
   Link it with one translation unit that defines HBPO_IMPLEMENTATION.

   Errors: hbpo.h's error buffer and hbpo__fail are private to the
   implementation TU, so this file keeps its own per-thread message, returned
   by hbpo_cuda_last_error(). Same contract: negative return, message set.

   Build: make cuda (nvcc -arch=sm_90, -lnccl; compiles and links without a GPU). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda_runtime.h>
#ifdef HBPO_USE_NCCL
#include <nccl.h>
#endif

#include "hbpo.h"

static thread_local char hbpo__cuda_err[512];

/* Sets the message; returns -1 so callers can `return hbpo__cuda_fail(...)`. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static int hbpo__cuda_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(hbpo__cuda_err, sizeof hbpo__cuda_err, fmt, ap);
    va_end(ap);
    return -1;
}

/* Runs a CUDA runtime call; on failure sets "file:line: call: error string"
   and returns -1 from the enclosing function. */
#define HBPO_CUDA_CHECK(call)                                                   \
    do {                                                                        \
        cudaError_t hbpo__e = (call);                                           \
        if (hbpo__e != cudaSuccess)                                             \
            return hbpo__cuda_fail("%s:%d: %s: %s (%s)", __FILE__, __LINE__, #call, \
                                   cudaGetErrorString(hbpo__e), cudaGetErrorName(hbpo__e)); \
    } while (0)

HBPODEF const char *hbpo_cuda_last_error(void) { return hbpo__cuda_err; }

/* No device and no driver are normal on build machines, so they give 0, not
   an error code; the message says which it was. */
HBPODEF int hbpo_cuda_device_count(void) {
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess) {
        hbpo__cuda_fail("no CUDA device: cudaGetDeviceCount: %s (%s)%s", cudaGetErrorString(e),
                        cudaGetErrorName(e),
                        e == cudaErrorInsufficientDriver
                            ? "; no NVIDIA driver is loaded, or it is older than this runtime"
                            : "");
        (void)cudaGetLastError(); /* clear the sticky runtime error */
        return 0;
    }
    if (n == 0) hbpo__cuda_fail("no CUDA device: the driver reports 0 devices");
    return n;
}

static int hbpo__cuda_select(int device) {
    cudaDeviceProp p;
    int n = hbpo_cuda_device_count();
    if (n == 0) return -1; /* message already set */
    if (device < 0 || device >= n)
        return hbpo__cuda_fail("hbpo_cuda_init: device %d is missing (%d device%s: 0..%d)",
                               device, n, n == 1 ? "" : "s", n - 1);
    HBPO_CUDA_CHECK(cudaSetDevice(device));
    HBPO_CUDA_CHECK(cudaGetDeviceProperties(&p, device));
    /* The fat binary holds sm_90 code only, which runs on compute capability 9.x. */
    if (p.major != 9)
        return hbpo__cuda_fail("hbpo_cuda_init: device %d (%s) is sm_%d%d; this build targets "
                               "sm_90 (make cuda CUDA_ARCH=sm_%d%d)", device, p.name, p.major,
                               p.minor, p.major, p.minor);
    return hbpo__cuda_fail("hbpo_cuda_init: device %d (%s, sm_%d%d, %.1f GiB) found, but the "
                           "CUDA kernels are not implemented in hbpo v%d.%d.%d; use the CPU path",
                           device, p.name, p.major, p.minor,
                           (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0),
                           HBPO_VERSION_MAJOR, HBPO_VERSION_MINOR, HBPO_VERSION_PATCH);
}

HBPODEF int hbpo_cuda_init(int device) {
    hbpo__cuda_err[0] = 0;
    return hbpo__cuda_select(device);
}

#ifdef HBPO_USE_NCCL /* make cuda defines it when nvcc finds nccl.h (link -lnccl) */
/* ---- the NCCL communicator ------------------------------------------------
   NCCL does the transport; this adds the hbpo_comm table around it. The float
   all-reduce (the gradients) runs on NCCL; the small host operations (status
   agreement, metrics, gathers of rollouts) go through the host communicator
   (MPI), which also carries NCCL's unique id from rank 0 to the others. A
   host buffer (the CPU backend's gradients, until the CUDA kernels exist) is
   staged through device memory; a device buffer is reduced in place. */
typedef struct {
    ncclComm_t   nccl;
    cudaStream_t stream;
    hbpo_comm   *host;    /* borrowed: the MPI communicator */
    float       *stage;   /* device staging for host buffers */
    size_t       stage_n;
} hbpo__nccl;

#define HBPO_NCCL_CHECK(call)                                                   \
    do {                                                                        \
        ncclResult_t hbpo__r = (call);                                          \
        if (hbpo__r != ncclSuccess)                                             \
            return hbpo__cuda_fail("%s:%d: %s: %s", __FILE__, __LINE__, #call,   \
                                   ncclGetErrorString(hbpo__r));                \
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
    int rc;
    hbpo__cuda_err[0] = 0;
    if (!c || !host) return hbpo__cuda_fail("hbpo_comm_init_nccl: comm or host comm is NULL");
    memset(&id, 0, sizeof id);
    /* rank 0 makes the id; every rank learns whether that and its device worked */
    if (cudaSetDevice(device) != cudaSuccess) {
        hbpo__cuda_fail("hbpo_comm_init_nccl: rank %d: cudaSetDevice(%d): %s", host->rank, device,
                        cudaGetErrorString(cudaGetLastError()));
        ok = 0;
    }
    if (ok && host->rank == 0) {
        ncclResult_t r = ncclGetUniqueId(&id);
        if (r != ncclSuccess) {
            hbpo__cuda_fail("hbpo_comm_init_nccl: ncclGetUniqueId: %s", ncclGetErrorString(r));
            ok = 0;
        }
    }
    if (host->allreduce_f64(host, &ok, 1, HBPO_COMM_MIN) != 0)
        return hbpo__cuda_fail("hbpo_comm_init_nccl: the host communicator failed");
    if (ok == 0) return hbpo__cuda_err[0] ? -1 : hbpo__cuda_fail("hbpo_comm_init_nccl: another rank failed");
    if (host->broadcast(host, &id, sizeof id, 0) != 0)
        return hbpo__cuda_fail("hbpo_comm_init_nccl: broadcast of the unique id failed");
    p = (hbpo__nccl *)calloc(1, sizeof *p);
    if (!p) return hbpo__cuda_fail("hbpo_comm_init_nccl: out of memory");
    p->host = host;
    if (cudaStreamCreate(&p->stream) != cudaSuccess) {
        free(p);
        return hbpo__cuda_fail("hbpo_comm_init_nccl: cudaStreamCreate: %s", cudaGetErrorString(cudaGetLastError()));
    }
    rc = ncclCommInitRank(&p->nccl, host->size, id, host->rank) == ncclSuccess ? 0 : -1;
    if (rc != 0) {
        cudaStreamDestroy(p->stream);
        free(p);
        return hbpo__cuda_fail("hbpo_comm_init_nccl: ncclCommInitRank (rank %d of %d, device %d) failed "
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
