/* cuda_check - reports what the CUDA backend of hbpo can see.

   Prints the number of CUDA devices, whether hbpo_backend_cuda(0) starts,
   and the device memory plan of DeepSeek-R1-Distill-Qwen-1.5B training
   (micro-batch 1 x 4096) beside 128 rollouts of 4096 tokens against the
   free memory. It is a diagnostic, so it exits 0 whenever it could report,
   including "no CUDA device" (build machines); 1 when a device is present
   but the backend does not start.

   Build and run: make cuda && ./build/hbpo_cuda_check */
#define HBPO_IMPLEMENTATION /* this TU holds hbpo.h's implementation */
#include "hbpo.h"
#include "tests/hbpo_test.h" /* hbpo_test_r1_distill_1p5b_config */


#include <stdio.h>

int main(void) {
    int n = hbpo_cuda_device_count();
    const hbpo_backend *be;
    hbpo_model_config c = hbpo_model_config_default();
    printf("hbpo %d.%d.%d CUDA check\n", HBPO_VERSION_MAJOR, HBPO_VERSION_MINOR,
           HBPO_VERSION_PATCH);
    printf("  CUDA devices: %d\n", n);
    if (n == 0) {
        printf("  %s\n  nothing to initialise: the CPU path is the one to use here\n",
               hbpo_last_error());
        return 0;
    }
    be = hbpo_backend_cuda(0);
    if (!be) {
        printf("  hbpo_backend_cuda(0): %s\n", hbpo_last_error());
        return 1;
    }
    printf("  hbpo_backend_cuda(0): the \"%s\" backend is ready\n", be->name);
    c = hbpo_test_r1_distill_1p5b_config();
    if (hbpo_cuda_plan_check(&c, 1, 4096, 128, 4096) == 0)
        printf("  1.5B plan (micro_batch 1 x 4096, 128 rollouts x 4096): fits\n");
    else
        printf("  1.5B plan: %s\n", hbpo_last_error());
    return 0;
}
