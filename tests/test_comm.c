/* The communicator seam (hbpo_comm) in one process: the single-process
   implementation, the failure agreement against a scripted peer, the split
   of work, and the trainer's and evaluation's independence of how rollouts
   are grouped (the property that lets 1 and N ranks draw the same ones).
   The MPI implementation itself runs under mpirun in tests/mpi.sh. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, rmdir */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <unistd.h>
#endif

#include "hbpo.h"
#define HBPO_TEST_BYTE_TOKENIZER /* hbpo_test_byte_tokenizer */
#include "hbpo_test.h"

TEST comm_single_is_a_no_op(void) {
    hbpo_comm c;
    float buf[3] = {1.5f, -2.0f, 3.25f};
    double x[2] = {4.0, -1.0};
    char bytes[4] = "abc";
    size_t off[2] = {0, 4};
    hbpo_comm_init_single(&c);
    ASSERT_EQ(0, c.rank);
    ASSERT_EQ(1, c.size);
    ASSERT_STR_EQ("single", c.name);
    ASSERT_EQ(0, c.allreduce_sum(&c, buf, 3));
    ASSERT(buf[0] == 1.5f && buf[1] == -2.0f && buf[2] == 3.25f);
    ASSERT_EQ(0, c.allreduce_f64(&c, x, 2, HBPO_COMM_SUM));
    ASSERT_EQ(0, c.allreduce_f64(&c, x, 2, HBPO_COMM_MIN));
    ASSERT(x[0] == 4.0 && x[1] == -1.0);
    ASSERT_EQ(0, c.broadcast(&c, bytes, 4, 0));
    ASSERT_EQ(-1, c.broadcast(&c, bytes, 4, 1)); /* there is no rank 1 */
    ASSERT_EQ(0, c.allgather(&c, bytes, off));
    ASSERT_STR_EQ("abc", bytes);
    ASSERT_EQ(0, c.barrier(&c));
    c.abort(&c, 3); /* returns: one process has no one else to end */
    /* agreement of one rank: its own status, its own message */
    ASSERT_EQ(0, hbpo_comm_agree(&c, 0));
    ASSERT_EQ(-1, hbpo_comm_agree(NULL, -1));
    hbpo_comm_free(&c);
    ASSERT_EQ(1, c.size);
    hbpo_comm_free(&c); /* twice is fine */
    PASS();
}

TEST comm_mpi_absent_says_so(void) {
    hbpo_comm c;
#ifdef HBPO_USE_MPI
    SKIPm("this test binary is built with MPI");
#endif
    ASSERT_EQ(-1, hbpo_comm_init_mpi(&c, NULL, NULL));
    ASSERT(strstr(hbpo_last_error(), "no MPI") != NULL);
    ASSERT_EQ(1, c.size); /* still usable: the single-process comm */
    PASS();
}

TEST comm_share_covers_everything_once(void) {
    int n, size, r, lo, hi, prev;
    for (n = 0; n <= 13; n++)
        for (size = 1; size <= 5; size++) {
            prev = 0;
            for (r = 0; r < size; r++) {
                hbpo_comm_share(n, r, size, &lo, &hi);
                ASSERT_EQ(prev, lo);                      /* contiguous, in rank order */
                ASSERT(hi - lo == n / size || hi - lo == n / size + 1); /* balanced */
                prev = hi;
            }
            ASSERT_EQ(n, prev);
        }
    PASS();
}

/* A scripted peer: this process plays rank 0 of 2, and rank 1 "failed" with
   the message the broadcast delivers. */
static int peer_fail;
static int scripted_f64(hbpo_comm *c, double *x, int n, int op) {
    (void)c; (void)n;
    if (op == HBPO_COMM_MIN && peer_fail && x[0] > 1.0) x[0] = 1.0; /* rank 1 failed */
    return 0;
}
static int scripted_bcast(hbpo_comm *c, void *buf, size_t bytes, int root) {
    (void)c;
    if (root == 1) snprintf((char *)buf, bytes, "data.jsonl: cannot open");
    return 0;
}

TEST comm_agree_names_the_failed_rank(void) {
    hbpo_comm c;
    hbpo_comm_init_single(&c);
    c.size = 2;
    c.allreduce_f64 = scripted_f64;
    c.broadcast = scripted_bcast;
    peer_fail = 0;
    ASSERT_EQ(0, hbpo_comm_agree(&c, 0));
    peer_fail = 1;
    ASSERT_EQ(-1, hbpo_comm_agree(&c, 0));
    ASSERT_STR_EQ("rank 1: data.jsonl: cannot open", hbpo_last_error());
    /* this rank failed too: the lowest failing rank (0) is named, with its message */
    peer_fail = 1;
    ASSERT_EQ(-1, hbpo_sample(NULL, 0, NULL, 0.0f, NULL, NULL)); /* leaves a message */
    ASSERT_EQ(-1, hbpo_comm_agree(&c, -1));
    ASSERT(strncmp(hbpo_last_error(), "rank 0: ", 8) == 0);
    PASS();
}

/* --- the trainer and evaluation through the seam --- */

static char cm_dir[256];
static hbpo_tokenizer *cm_tok;

static int cm_setup(void) {
    if (cm_tok) return 0;
    snprintf(cm_dir, sizeof cm_dir, "/tmp/hbpo_comm_XXXXXX");
    return hbpo_test_byte_tokenizer(cm_dir, 0, &cm_tok);
}

/* Two steps; the rollouts of the second (tokens, lengths) and the params. */
static int cm_run(int rollout_batch, int max_active, hbpo_comm *comm, int **tokens, int *count, float **params) {
    hbpo_model_config mc = hbpo_test_model_config(272, 256);
    hbpo_train_config tc = hbpo_train_config_default();
    hbpo_model m;
    hbpo_dataset d;
    hbpo_trainer t;
    int s, ok = 1;
    size_t cells;
    memset(&d, 0, sizeof d);
    tc.budget.k = 2;
    tc.budget.budget[0] = 16; tc.budget.budget[1] = 32;
    tc.budget.l_max = 40;
    tc.n_rollouts = 4;
    tc.batch_queries = 3;
    tc.micro_batch = 5;
    tc.rollout_batch = rollout_batch;
    tc.rollout_max_active = max_active;
    tc.adamw.lr = 1e-3f;
    tc.seed = 11;
    if (hbpo_model_create(&m, &mc, NULL) != 0) return 0;
    hbpo_model_init_random(&m, 4);
    if (hbpo_synth_dataset(&d, 5, 2, 1, 4) != 0 || hbpo_trainer_init(&t, &tc, &m, cm_tok, &d) != 0) return 0;
    if (comm) hbpo_trainer_set_comm(&t, comm);
    for (s = 0; s < 2 && ok; s++) ok = hbpo_trainer_step(&t, NULL) == 0;
    cells = (size_t)t.last.count * (size_t)t.last.max_len;
    *count = t.last.count;
    *tokens = (int *)malloc(sizeof(int) * cells);
    *params = (float *)malloc(sizeof(float) * m.n_params);
    memcpy(*tokens, t.last.tokens, sizeof(int) * cells);
    memcpy(*params, m.params, sizeof(float) * m.n_params);
    ok = ok && t.last.max_len > 0;
    hbpo_trainer_free(&t);
    hbpo_dataset_free(&d);
    hbpo_model_free(&m);
    return ok ? (int)(cells) : 0;
}

/* Rollout (q, j) samples from its own stream: generating the step's 12
   rollouts together or 5 at a time draws the same ones; and the trainer on
   an explicit single-process comm is the trainer without one, bit for bit. */
TEST comm_rollouts_do_not_depend_on_grouping(void) {
    hbpo_comm single;
    int *ta = NULL, *tb = NULL, *tc = NULL, na, nb, nc, cells;
    float *pa = NULL, *pb = NULL, *pc = NULL;
    if (cm_setup() != 0) FAILm(hbpo_last_error());
    hbpo_comm_init_single(&single);
    cells = cm_run(0, 0, NULL, &ta, &na, &pa);
    ASSERT(cells > 0);
    ASSERT_EQ(cells, cm_run(5, 0, NULL, &tb, &nb, &pb));
    ASSERT_EQ(cells, cm_run(0, 0, &single, &tc, &nc, &pc));
    ASSERT_EQ(12, na);
    ASSERT_EQ(0, memcmp(ta, tb, sizeof(int) * (size_t)cells));
    ASSERT_EQ(0, memcmp(ta, tc, sizeof(int) * (size_t)cells));
    ASSERT_EQ(0, memcmp(pa, pc, sizeof(float) * 4)); /* same path: same bits */
    free(ta); free(tb); free(tc); free(pa); free(pb); free(pc);
    PASS();
}

/* train config rollout_max_active (--rollout-max-active) bounds the
   sequences decoding at once (cache slots) without changing the rollouts:
   at 1 thread, 3 or 1 slots give the tokens of all 12 at once. */
TEST comm_rollout_max_active_keeps_tokens(void) {
    int *ta = NULL, *tb = NULL, *tc = NULL, na, nb, nc, cells;
    float *pa = NULL, *pb = NULL, *pc = NULL;
    hbpo_train_config bad = hbpo_train_config_default();
    if (cm_setup() != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(0, hbpo_train_config_default().rollout_max_active);
    bad.rollout_max_active = -1;
    ASSERT_EQ(-1, hbpo_train_config_check(&bad));
    ASSERT(strstr(hbpo_last_error(), "rollout_max_active") != NULL);
    hbpo_set_threads(1);
    cells = cm_run(0, 0, NULL, &ta, &na, &pa);
    ASSERT(cells > 0);
    ASSERT_EQ(cells, cm_run(0, 3, NULL, &tb, &nb, &pb));
    ASSERT_EQ(cells, cm_run(5, 1, NULL, &tc, &nc, &pc));
    hbpo_set_threads(0);
    ASSERT_EQ(12, nb);
    ASSERT_EQ(0, memcmp(ta, tb, sizeof(int) * (size_t)cells));
    ASSERT_EQ(0, memcmp(ta, tc, sizeof(int) * (size_t)cells));
    free(ta); free(tb); free(tc); free(pa); free(pb); free(pc);
    PASS();
}

/* A comm whose gradient exchange fails fails the step, with the model kept. */
static int failing_sum(hbpo_comm *c, float *buf, size_t n) {
    (void)c; (void)buf; (void)n;
    return -1;
}

TEST comm_failed_exchange_fails_the_step(void) {
    hbpo_comm bad;
    int *tok = NULL, n;
    float *p = NULL;
    if (cm_setup() != 0) FAILm(hbpo_last_error());
    hbpo_comm_init_single(&bad);
    bad.allreduce_sum = failing_sum;
    ASSERT_EQ(0, cm_run(0, 0, &bad, &tok, &n, &p));
    free(tok);
    free(p);
    PASS();
}

/* Evaluation: problem i samples from stream i, so --batch does not change
   a response; collected through the callback. */
typedef struct { char text[8][128]; int n_gen[8]; } cm_seen;
static void cm_each(void *user, int index, const char *response, int outcome, int n_gen) {
    cm_seen *s = (cm_seen *)user;
    (void)outcome;
    if (index < 0 || index >= 8) return;
    snprintf(s->text[index], sizeof s->text[index], "%s", response);
    s->n_gen[index] = n_gen;
}

TEST comm_eval_does_not_depend_on_batch(void) {
    hbpo_model_config mc = hbpo_test_model_config(272, 256);
    hbpo_sampler_config s = hbpo_sampler_config_default();
    hbpo_model m;
    hbpo_dataset d;
    hbpo_eval_result r1, r2;
    hbpo_comm single;
    static cm_seen a, b;
    int i;
    if (cm_setup() != 0) FAILm(hbpo_last_error());
    memset(&d, 0, sizeof d);
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    ASSERT_EQ(0, hbpo_model_create(&m, &mc, NULL));
    hbpo_model_init_random(&m, 6);
    ASSERT_EQ(0, hbpo_synth_dataset(&d, 8, 2, 1, 4)); /* 8 problems */
    s.max_new_tokens = 20;
    s.seed = 99;
    hbpo_comm_init_single(&single);
    ASSERT_EQ(0, hbpo_evaluate(&m, cm_tok, &d, HBPO_CHAT_CHATML, "", &s, 8, &r1, cm_each, &a));
    ASSERT_EQ(0, hbpo_evaluate_comm(&single, &m, cm_tok, &d, HBPO_CHAT_CHATML, "", &s, 3, &r2, cm_each, &b));
    ASSERT_EQ(8, r1.all.n);
    ASSERT_EQ(0, memcmp(&r1, &r2, sizeof r1));
    for (i = 0; i < 8; i++) {
        ASSERT_EQ(a.n_gen[i], b.n_gen[i]);
        ASSERT_STR_EQ(a.text[i], b.text[i]);
    }
    hbpo_dataset_free(&d);
    hbpo_model_free(&m);
    PASS();
}

SUITE(comm_suite) {
    RUN_TEST(comm_single_is_a_no_op);
    RUN_TEST(comm_mpi_absent_says_so);
    RUN_TEST(comm_share_covers_everything_once);
    RUN_TEST(comm_agree_names_the_failed_rank);
    RUN_TEST(comm_rollouts_do_not_depend_on_grouping);
    RUN_TEST(comm_rollout_max_active_keeps_tokens);
    RUN_TEST(comm_failed_exchange_fails_the_step);
    RUN_TEST(comm_eval_does_not_depend_on_batch);
    if (cm_tok) { hbpo_tokenizer_free(cm_tok); cm_tok = NULL; }
}
