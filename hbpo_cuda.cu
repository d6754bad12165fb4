/* hbpo_cuda.cu - the CUDA backend of hbpo.h (placeholder: device discovery only).

   What is here: finding a device and saying honestly that the kernels are
   not written yet. Everything else (structs, forward/backward order, the
   trainer) lives in hbpo.h; this file will add only kernels and device memory
   (house style), so it includes hbpo.h for the declarations and nothing more.
   Link it with one translation unit that defines HBPO_IMPLEMENTATION.

   Errors: hbpo.h's error buffer and hbpo__fail are private to the
   implementation TU, so this file keeps its own per-thread message, returned
   by hbpo_cuda_last_error(). Same contract: negative return, message set.

   Build: make cuda (nvcc -arch=sm_90; compiles and links without a GPU). */
#include <stdarg.h>
#include <stdio.h>

#include <cuda_runtime.h>

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
