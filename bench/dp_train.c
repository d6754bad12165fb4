/* dp_train: data-parallel HBPO training steps on the benchmark's 24.7M shape
   (hidden 512, 8 layers, vocab 4096), one rank or many (mpirun). Every step
   is a real trainer step: rollouts of the ranks' shares of the queries,
   gathered, the update with the gradients summed across ranks. The
   communicator is wrapped (the seam is a table) to time the gradient
   all-reduce. bench/bench_dp.sh runs it as 1 rank x 2 threads and 2 ranks
   x 1 thread, side by side; figures, not pass/fail.

   Usage: mpirun -np N build/dp_train [--threads T] [--steps S] [--queries Q]
   Step: Q queries (default 8) x 4 rollouts of at most 32 tokens (budgets
   8,16,24,32) with the byte tokenizer on the synthetic task, micro-batch 8. */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The MPI communicator with its float all-reduce timed. */
static hbpo_comm inner;
static double t_allreduce;
static int timed_allreduce_sum(hbpo_comm *c, float *buf, size_t n) {
    double t0 = hbpo_wall_time();
    int rc;
    (void)c;
    rc = inner.allreduce_sum(&inner, buf, n);
    t_allreduce += hbpo_wall_time() - t0;
    return rc;
}

int main(int argc, char **argv) {
    hbpo_comm comm;
    hbpo_model_config mc = hbpo_model_config_default();
    hbpo_train_config tc = hbpo_train_config_default();
    hbpo_model m;
    hbpo_tokenizer *tok = NULL;
    hbpo_dataset d;
    hbpo_trainer t;
    hbpo_step_metrics mt;
    char path[64];
    int threads = 0, steps = 3, queries = 8, i, s;
    double t0, dt, ar, rollout = 0, update = 0;
    if (hbpo_comm_init_mpi(&inner, &argc, &argv) != 0) {
        fprintf(stderr, "dp_train: %s\n", hbpo_last_error());
        return 1;
    }
    comm = inner;
    comm.allreduce_sum = timed_allreduce_sum;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--queries") && i + 1 < argc) queries = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: dp_train [--threads T] [--steps S] [--queries Q]\n");
            hbpo_comm_free(&inner);
            return 2;
        }
    }
    if (threads > 0) hbpo_set_threads(threads);
    memset(&d, 0, sizeof d);
    snprintf(path, sizeof path, "/tmp/hbpo_dp_train_tok.%d.json", comm.rank);
    tc.budget.k = 4;
    tc.budget.budget[0] = 8; tc.budget.budget[1] = 16; tc.budget.budget[2] = 24; tc.budget.budget[3] = 32;
    tc.budget.l_max = 32;
    tc.budget.alpha = 1.0f / 32;
    tc.n_rollouts = 4;
    tc.batch_queries = queries;
    tc.micro_batch = 8;
    tc.seed = 1;
    if (hbpo_tokenizer_write_bytes(path) != 0 || hbpo_tokenizer_load(&tok, path) != 0 ||
        hbpo_model_create(&m, &mc, NULL) != 0 || hbpo_synth_dataset(&d, 3, 64, 1, 4) != 0) {
        fprintf(stderr, "dp_train: rank %d: %s\n", comm.rank, hbpo_last_error());
        comm.abort(&comm, 1);
        return 1;
    }
    remove(path);
    hbpo_model_init_random(&m, 1);
    if (hbpo_trainer_init(&t, &tc, &m, tok, &d) != 0) {
        fprintf(stderr, "dp_train: %s\n", hbpo_last_error());
        comm.abort(&comm, 1);
        return 1;
    }
    hbpo_trainer_set_comm(&t, &comm);
    /* one warm-up step (first-touch of the gradients and moments), then the timed ones */
    if (hbpo_trainer_step(&t, &mt) != 0) goto fail;
    t_allreduce = 0;
    t0 = hbpo_wall_time();
    for (s = 0; s < steps; s++) {
        if (hbpo_trainer_step(&t, &mt) != 0) goto fail;
        rollout += mt.t_rollout;
        update += mt.t_update;
    }
    dt = (hbpo_wall_time() - t0) / steps;
    ar = t_allreduce / steps;
    if (comm.rank == 0)
        printf("dp_train: %d rank(s) x %d thread(s), %.2fM parameters, %d queries x %d rollouts per step: "
               "%.3f s/step = %.3f steps/s; per step: rollouts %.3f s, update %.3f s, gradient all-reduce "
               "%.4f s (%.1f%%, %.1f MB)\n",
               comm.size, threads, (double)m.n_params / 1e6, queries, tc.n_rollouts, dt, 1.0 / dt,
               rollout / steps, update / steps, ar, 100.0 * ar / dt, (double)m.n_params * 4 / 1e6);
    hbpo_trainer_free(&t);
    hbpo_model_free(&m);
    hbpo_tokenizer_free(tok);
    hbpo_dataset_free(&d);
    hbpo_comm_free(&inner);
    return 0;
fail:
    fprintf(stderr, "dp_train: step: %s\n", hbpo_last_error());
    hbpo_comm_free(&inner);
    return 1;
}
