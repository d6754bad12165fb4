/* ckpt_close: are the parameters of two model folders equal within a
   relative tolerance? Used by tests/mpi.sh to compare an N-rank run with a
   1-rank run (the sums of gradients differ by float rounding only).
   For every element: |a - b| <= tol * scale, scale = the tensor's largest
   magnitude: the convention of the gradient checks (tests/test_checkpoint.c).
   Element against itself would not do: Adam's first steps move every weight
   by about lr whatever its gradient, so where a gradient is a sum that
   cancels to nearly 0, the rounding of another summation order (micro-batches
   split differently across ranks) moves that weight by a fraction of lr.
   Usage: ckpt_close DIR_A DIR_B [TOL (1e-5)]; prints the worst element;
   exit 0 when close, 1 when not, 2 on a load error. */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    hbpo_model a, b;
    double tol = argc > 3 ? atof(argv[3]) : 1e-5, worst = 0.0, exact = 0;
    const char *worst_name = "";
    int i;
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: ckpt_close DIR_A DIR_B [TOL]\n");
        return 2;
    }
    if (hbpo_model_load(&a, argv[1], NULL) != 0 || hbpo_model_load(&b, argv[2], NULL) != 0) {
        fprintf(stderr, "ckpt_close: %s\n", hbpo_last_error());
        return 2;
    }
    if (a.n_params != b.n_params || a.n_tensors != b.n_tensors) {
        fprintf(stderr, "ckpt_close: the models differ in shape\n");
        return 1;
    }
    for (i = 0; i < a.n_tensors; i++) {
        const hbpo_tensor_info *t = &a.tensors[i];
        const float *x = a.params + t->offset, *y = b.params + t->offset;
        double scale = 0.0;
        size_t j;
        for (j = 0; j < t->numel; j++) scale = fabs(x[j]) > scale ? fabs(x[j]) : scale;
        for (j = 0; j < t->numel; j++) {
            double r = scale > 0 ? fabs((double)x[j] - y[j]) / scale : fabs((double)x[j] - y[j]);
            if (!(r <= worst)) { worst = r; worst_name = t->name; } /* NaN counts as worst */
            exact += x[j] == y[j];
        }
    }
    printf("ckpt_close: %zu parameters, %.0f bit-equal, worst relative difference %.3g (%s), tolerance %g\n",
           a.n_params, exact, worst, worst_name, tol);
    hbpo_model_free(&a);
    hbpo_model_free(&b);
    return worst <= tol ? 0 : 1;
}
