/* nccl_check - one data-parallel training step through the NCCL
   communicator against the same step in one process (CPU backend; NCCL sums
   the gradients, staged through the GPU). NCCL refuses two ranks on one
   GPU, so on one GPU run it as one rank:
       make cuda && mpirun -np 1 build/hbpo_nccl_check
   With one GPU per rank (mpirun -np N, rank r on device r % devices) every
   rank checks that its parameters equal rank 0's after the step.
   Exit 0 when the NCCL step equals the single-process one within 1e-6
   relative (1 rank) / all ranks agree; 1 otherwise; 2 when it cannot run. */
#define HBPO_IMPLEMENTATION /* this TU holds hbpo.h's implementation; first: */
#define HBPO_USE_MPI        /* it sets the POSIX feature macros */
#include "hbpo.h"
#include "tests/hbpo_test.h" /* hbpo_test_rl_step_config: the step tests/gpu/test_cuda.c runs */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int micro_step(hbpo_comm *comm, const hbpo_tokenizer *tok, float **params, size_t *n,
                      hbpo_step_metrics *mt) {
    hbpo_model_config mc;
    hbpo_train_config tc;
    hbpo_model m;
    hbpo_dataset d;
    hbpo_trainer t;
    int rc;
    memset(&d, 0, sizeof d);
    hbpo_test_rl_step_config(&mc, &tc);
    if (hbpo_model_create(&m, &mc, NULL) != 0) return -1;
    hbpo_model_init_random(&m, 2);
    if (hbpo_synth_dataset(&d, 4, 4, 1, 4) != 0 || hbpo_trainer_init(&t, &tc, &m, tok, &d) != 0) return -1;
    hbpo_trainer_set_comm(&t, comm);
    rc = hbpo_trainer_step(&t, mt);
    *n = m.n_params;
    *params = (float *)malloc(sizeof(float) * m.n_params);
    if (*params) memcpy(*params, m.params, sizeof(float) * m.n_params);
    hbpo_trainer_free(&t);
    hbpo_dataset_free(&d);
    hbpo_model_free(&m);
    return rc;
}

int main(int argc, char **argv) {
    hbpo_comm mpi, nccl, single;
    hbpo_tokenizer *tok = NULL;
    hbpo_step_metrics ma, mb;
    float *pa = NULL, *pb = NULL;
    size_t na = 0, nb = 0, i;
    double worst = 0, h[2];
    char path[64];
    int devices, status = 1;
    if (hbpo_comm_init_mpi(&mpi, &argc, &argv) != 0) {
        fprintf(stderr, "nccl_check: %s\n", hbpo_last_error());
        return 2;
    }
    devices = hbpo_cuda_device_count();
    if (devices == 0) {
        if (mpi.rank == 0) printf("nccl_check: %s: nothing to check here\n", hbpo_last_error());
        hbpo_comm_free(&mpi);
        return 2;
    }
    if (hbpo_comm_init_nccl(&nccl, &mpi, mpi.rank % devices) != 0) {
        fprintf(stderr, "nccl_check: rank %d: %s\n", mpi.rank, hbpo_last_error());
        hbpo_comm_free(&mpi);
        return 2;
    }
    snprintf(path, sizeof path, "/tmp/hbpo_nccl_check_tok.%d.json", mpi.rank);
    if (hbpo_tokenizer_write_bytes(path) != 0 || hbpo_tokenizer_load(&tok, path) != 0) goto done;
    if (micro_step(&nccl, tok, &pa, &na, &ma) != 0) {
        fprintf(stderr, "nccl_check: rank %d: NCCL step: %s\n", mpi.rank, hbpo_last_error());
        goto done;
    }
    if (mpi.size == 1) {
        hbpo_comm_init_single(&single);
        if (micro_step(&single, tok, &pb, &nb, &mb) != 0 || na != nb) goto done;
        for (i = 0; i < na; i++) {
            double d = fabs((double)pa[i] - pb[i]) / (fabs(pb[i]) > 1e-3 ? fabs(pb[i]) : 1e-3);
            if (!(d <= worst)) worst = d;
        }
        printf("nccl_check: 1 rank, NCCL %s vs one process: %zu parameters, worst relative difference %.3g; "
               "reward %.6g vs %.6g, grad norm %.6g vs %.6g\n", nccl.name, na, worst, ma.reward_mean,
               mb.reward_mean, ma.grad_norm, mb.grad_norm);
        status = worst <= 1e-6 && ma.reward_mean == mb.reward_mean ? 0 : 1;
    } else {
        h[0] = 0;
        for (i = 0; i < na; i++) h[0] += (double)pa[i] * pa[i];
        h[1] = -h[0];
        if (mpi.allreduce_f64(&mpi, h, 2, HBPO_COMM_MAX) != 0) goto done;
        if (mpi.rank == 0)
            printf("nccl_check: %d ranks over NCCL: parameters %s on every rank\n", mpi.size,
                   h[0] == -h[1] ? "equal" : "DIFFER");
        status = h[0] == -h[1] ? 0 : 1;
    }
done:
    remove(path);
    free(pa);
    free(pb);
    hbpo_tokenizer_free(tok);
    hbpo_comm_free(&nccl);
    hbpo_comm_free(&mpi);
    return status;
}
