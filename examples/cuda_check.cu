/* cuda_check - reports what the CUDA backend of hbpo can see.

   Prints the number of CUDA devices and what hbpo_cuda_init(0) says. It is a
   diagnostic, so it exits 0 whenever it could report, including "no CUDA
   device" (build machines) and "kernels not implemented" (this version).

   Build and run: make cuda && ./build/hbpo_cuda_check */
#include <stdio.h>

#define HBPO_IMPLEMENTATION /* this TU holds hbpo.h's implementation */
#include "hbpo.h"

int main(void) {
    int n = hbpo_cuda_device_count(), rc;
    printf("hbpo %d.%d.%d CUDA check\n", HBPO_VERSION_MAJOR, HBPO_VERSION_MINOR,
           HBPO_VERSION_PATCH);
    printf("  CUDA devices: %d\n", n);
    if (n == 0) {
        printf("  %s\n  nothing to initialise: the CPU path is the one to use here\n",
               hbpo_last_error());
        return 0;
    }
    rc = hbpo_cuda_init(0);
    printf("  hbpo_cuda_init(0) = %d%s%s\n", rc, rc ? ": " : "", rc ? hbpo_last_error() : "");
    return 0;
}
