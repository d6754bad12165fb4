/* The trainer (Algorithm 1), SFT and evaluation on a micro model: a byte
   tokenizer written at run time, a 2-layer model of hidden 32, and the
   synthetic arithmetic task. Each test checks the wiring against the
   section 2 functions it must call (rewards, advantages), not just that it
   runs: rewards are recomputed from each rollout's outcome and n_gen, the
   advantages from the rewards of its query. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp, rmdir, ftruncate */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "hbpo.h"
#define HBPO_TEST_BYTE_TOKENIZER /* hbpo_test_byte_tokenizer */
#include "hbpo_test.h"

static char tr_dir[256];
static hbpo_tokenizer *tr_tok;

/* A temporary folder holding the byte tokenizer; tr_tok loaded from it. */
static int tr_setup(void) {
    if (tr_tok) return 0;
    snprintf(tr_dir, sizeof tr_dir, "/tmp/hbpo_trainer_XXXXXX");
    return hbpo_test_byte_tokenizer(tr_dir, 1, &tr_tok);
}


static void tr_teardown(void) {
    if (!tr_tok) return;
    hbpo_tokenizer_free(tr_tok);
    tr_tok = NULL;
    hbpo_test_rm_tree(tr_dir);
}

static hbpo_model_config micro_config(void) {
    hbpo_model_config c = hbpo_test_model_config(272, 256);
    c.tie_word_embeddings = 1;
    return c;
}

static hbpo_train_config micro_train(int algo) {
    hbpo_train_config c = hbpo_train_config_default();
    c.algo = algo;
    c.budget.k = 4;
    c.budget.budget[0] = 8; c.budget.budget[1] = 16; c.budget.budget[2] = 32; c.budget.budget[3] = 40;
    c.budget.l_max = 64;
    c.budget.alpha = 1.0f / 64;
    c.n_rollouts = 8;
    c.batch_queries = 3;
    c.micro_batch = 5;
    c.adamw.lr = 1e-3f;
    c.l1_alpha = 1.0f / 64;
    c.seed = 7;
    return c;
}

TEST trainer_config_checks(void) {
    hbpo_train_config c = hbpo_train_config_default();
    ASSERT_EQ(0, hbpo_train_config_check(&c));
    ASSERT_EQ(16, c.n_rollouts);
    ASSERT_EQ(64, c.batch_queries);
    ASSERT_NEAR(1e-6, c.adamw.lr, 1e-12);
    c.n_rollouts = 10;
    ASSERT_EQ(-1, hbpo_train_config_check(&c));
    ASSERT(strstr(hbpo_last_error(), "multiple of the 4 budgets") != NULL);
    c.algo = HBPO_ALGO_GRPO; /* no budgets: any n */
    ASSERT_EQ(0, hbpo_train_config_check(&c));
    c.budget.l_max = 256; /* the unused budgets may exceed L_max */
    ASSERT_EQ(0, hbpo_train_config_check(&c));
    c.budget.l_max = 0;
    ASSERT_EQ(-1, hbpo_train_config_check(&c));
    c.budget.l_max = 4096;
    c.algo = 9;
    ASSERT_EQ(-1, hbpo_train_config_check(&c));
    c = hbpo_train_config_default();
    c.temperature = 0;
    ASSERT_EQ(-1, hbpo_train_config_check(&c));
    c = hbpo_train_config_default();
    c.budget.budget[1] = 100; /* not ascending */
    ASSERT_EQ(-1, hbpo_train_config_check(&c));
    c = hbpo_train_config_default();
    c.mini_batches = 0;
    ASSERT_EQ(-1, hbpo_train_config_check(&c));
    PASS();
}

TEST trainer_budgets_prompts_rewards(void) {
    hbpo_train_config c = hbpo_train_config_default();
    char s[128];
    int j;
    /* n = 16 in 4 equal subgroups with ascending budgets */
    for (j = 0; j < 16; j++) ASSERT_EQ(c.budget.budget[j / 4], hbpo_rollout_budget(&c, j));
    ASSERT_EQ(45, hbpo_rollout_suffix(&c, 512, s, sizeof s));
    ASSERT_STR_EQ("I will answer the question within 512 tokens\n", s);
    ASSERT_EQ(0, hbpo_rollout_suffix(&c, 0, s, sizeof s));
    ASSERT_STR_EQ("", s);
    /* each algorithm's reward is its section 2 function */
    ASSERT_NEAR(hbpo_reward(&c.budget, HBPO_CORRECT, 700, 512), hbpo_rollout_reward(&c, HBPO_CORRECT, 700, 512), 0);
    c.algo = HBPO_ALGO_GRPO;
    ASSERT_EQ(0, hbpo_rollout_budget(&c, 5));
    ASSERT_NEAR(1.0, hbpo_rollout_reward(&c, HBPO_CORRECT, 4000, 0), 0);
    ASSERT_NEAR(0.0, hbpo_rollout_reward(&c, HBPO_NO_ANSWER, 10, 0), 0);
    c.algo = HBPO_ALGO_COSINE;
    ASSERT_NEAR(4.0 * cos(3.14159265358979 * 1024 / 8192), hbpo_rollout_reward(&c, HBPO_CORRECT, 1024, 0), 1e-5);
    ASSERT_NEAR(0.0, hbpo_rollout_reward(&c, HBPO_WRONG, 1024, 0), 0);
    c.algo = HBPO_ALGO_L1;
    ASSERT_EQ(512, hbpo_rollout_budget(&c, 0));
    ASSERT_NEAR(1.0 - 100.0 / 4096, hbpo_rollout_reward(&c, HBPO_CORRECT, 612, 512), 1e-6);
    ASSERT_NEAR(-100.0 / 4096, hbpo_rollout_reward(&c, HBPO_WRONG, 412, 512), 1e-6);
    PASS();
}

TEST trainer_reflection_words(void) {
    ASSERT_EQ(0, hbpo_count_reflections("7+5=12\n</think>\n\\boxed{12}"));
    ASSERT_EQ(3, hbpo_count_reflections("Wait, let me check: ... BUT waiting is not a word here"));
    ASSERT_EQ(2, hbpo_count_reflections("Alternatively, verify."));
    ASSERT_EQ(0, hbpo_count_reflections(NULL));
    PASS();
}

static int json_ok(const char *text) {
    hbpo_json_doc doc;
    int rc;
    memset(&doc, 0, sizeof doc);
    rc = hbpo_json_parse(&doc, text, strlen(text));
    hbpo_json_free(&doc);
    return rc == 0;
}

/* What a test holds, freed by the teardown whether it passes or fails. */
static struct {
    hbpo_model m;
    hbpo_dataset d;
    hbpo_trainer t;
    int have_m, have_t;
    float *buf[3];
} fx;

static void fx_teardown(void *data) {
    int i;
    (void)data;
    if (fx.have_t) hbpo_trainer_free(&fx.t);
    if (fx.have_m) hbpo_model_free(&fx.m);
    hbpo_dataset_free(&fx.d);
    for (i = 0; i < 3; i++) free(fx.buf[i]);
    memset(&fx, 0, sizeof fx);
    hbpo_set_threads(0); /* a test may have asked for one */
}

/* fx: a micro model (seed mseed), the synthetic data (n_per_level x 4
   levels) and a trainer of tc. 0 or -1. */
static int fx_start(const hbpo_train_config *tc, uint64_t mseed, uint64_t dseed, int n_per_level) {
    hbpo_model_config mc = micro_config();
    fx_teardown(NULL);
    if (tr_setup() != 0 || hbpo_model_create(&fx.m, &mc, NULL) != 0) return -1;
    fx.have_m = 1;
    hbpo_model_init_random(&fx.m, mseed);
    if (hbpo_synth_dataset(&fx.d, dseed, n_per_level, 1, 4) != 0) return -1;
    if (hbpo_trainer_init(&fx.t, tc, &fx.m, tr_tok, &fx.d) != 0) return -1;
    fx.have_t = 1;
    return 0;
}

static float *fx_copy_params(int slot) {
    free(fx.buf[slot]);
    fx.buf[slot] = (float *)malloc(sizeof(float) * fx.m.n_params);
    if (fx.buf[slot]) memcpy(fx.buf[slot], fx.m.params, sizeof(float) * fx.m.n_params);
    return fx.buf[slot];
}

/* One step of every algorithm on the micro model: grouping, budgets in the
   prompts, rewards and advantages recomputed, the policy moved, metrics. */
static int one_step(int algo) {
    hbpo_train_config tc = micro_train(algo);
    hbpo_step_metrics mt;
    const hbpo_rollouts *ro;
    float *before;
    char json[2048], text[512];
    int r, q, n = tc.n_rollouts;
    if (fx_start(&tc, 1, 3, 4) != 0) FAILm(hbpo_last_error());
    ASSERT((before = fx_copy_params(0)) != NULL);
    if (hbpo_trainer_step(&fx.t, &mt) != 0) FAILm(hbpo_last_error());
    ro = &fx.t.last;
    ASSERT_EQ(tc.batch_queries * n, ro->count);
    ASSERT_EQ(ro->count, mt.n_rollouts);
    for (q = 0; q < tc.batch_queries; q++) {
        float rew[64], adv[64];
        for (r = q * n; r < (q + 1) * n; r++) {
            int b = hbpo_rollout_budget(&tc, r % n);
            ASSERTm("one query per group", ro->query[r] == ro->query[q * n]);
            ASSERT_EQ(b, ro->budget[r]);
            ASSERT_IN_RANGE(1, ro->n_gen[r], tc.budget.l_max);
            /* the prompt holds the budget prompt (hbpo, l1) or none */
            hbpo_tokenizer_decode(tr_tok, ro->tokens + (size_t)r * ro->max_len, ro->prompt_len[r], 0, text, sizeof text);
            ASSERT_EQ(b > 0, strstr(text, "I will answer the question within") != NULL);
            ASSERTm("the prompt holds the question", strstr(text, fx.d.items[ro->query[r]].question) != NULL);
            rew[r - q * n] = hbpo_rollout_reward(&tc, ro->outcome[r], ro->n_gen[r], ro->budget[r]);
            ASSERT_EQ_FMT(rew[r - q * n], ro->reward[r], "%.9g");
        }
        if (algo == HBPO_ALGO_HBPO) hbpo_advantages(&tc.budget, n, rew, ro->budget + q * n, adv);
        else hbpo_grpo_advantages(n, rew, adv);
        for (r = 0; r < n; r++) ASSERT_EQ_FMT(adv[r], ro->adv[q * n + r], "%.9g");
    }
    /* a gradient exactly when some advantage is non-zero (a random model
       is never right, so GRPO's and cosine's groups are all-equal) */
    ASSERT(isfinite(mt.pg_loss));
    ASSERT_IN_RANGE(1e-6, mt.entropy, 1e6);
    ASSERT(isfinite(mt.grad_norm));
    ASSERT_EQ(mt.adv_abs > 0, mt.grad_norm > 0);
    ASSERT(algo == HBPO_ALGO_GRPO || algo == HBPO_ALGO_COSINE || mt.adv_abs > 0);
    ASSERT_EQ_FMT(0.0, mt.approx_kl, "%g"); /* one epoch, one mini-batch: on-policy */
    ASSERT_EQ_FMT(0.0, mt.clipfrac, "%g");
    ASSERTm("the policy moved", memcmp(before, fx.m.params, sizeof(float) * fx.m.n_params) != 0);
    ASSERT(hbpo_metrics_json(&mt, 4, json, sizeof json) > 0);
    ASSERTm(json, json_ok(json));
    ASSERT_EQ(1, fx.t.step);
    ASSERT_EQ(1, fx.m.step);
    ASSERT_EQ(0, mt.nonfinite);
    PASS();
}

TEST trainer_step_wiring_all_algorithms(void) {
    static const int algos[4] = {HBPO_ALGO_HBPO, HBPO_ALGO_GRPO, HBPO_ALGO_COSINE, HBPO_ALGO_L1};
    int i, rc;
    for (i = 0; i < 4; i++)
        if ((rc = one_step(algos[i])) != HBPO_TEST_PASS) {
            printf("  (algo %d)\n", algos[i]);
            return rc;
        }
    PASS();
}

/* hbpo_rollouts.tokens: prompt, response, then -1 in every cell after it. */
TEST trainer_rollouts_are_minus_one_padded(void) {
    hbpo_train_config tc = micro_train(HBPO_ALGO_HBPO);
    const hbpo_rollouts *ro;
    int r, j, padded = 0;
    if (fx_start(&tc, 1, 3, 4) != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(0, hbpo_trainer_step(&fx.t, NULL));
    ASSERT_EQ(0, hbpo_trainer_step(&fx.t, NULL)); /* the buffers reused by a second step */
    ro = &fx.t.last;
    for (r = 0; r < ro->count; r++) {
        const int *row = ro->tokens + (size_t)r * ro->max_len;
        int used = ro->prompt_len[r] + ro->n_gen[r];
        ASSERT_IN_RANGE(1, used, ro->max_len);
        for (j = 0; j < used; j++) ASSERT_IN_RANGE(0, row[j], 271);
        for (j = used; j < ro->max_len; j++) ASSERT_EQ(-1, row[j]);
        padded += ro->max_len - used;
    }
    ASSERT(padded > 0); /* some response stopped short of the row */
    PASS();
}

/* Non-finite values: a poisoned gradient (hook at "update") and a poisoned
   loss (a NaN weight) make no update; the run stops after
   max_nonfinite_steps in a row. */
static int poison_steps; /* steps whose gradient the hook poisons (bit i: step i+1) */
static void poison_grad(void *user, const char *stage, const hbpo_trainer *t) {
    (void)user;
    if (!strcmp(stage, "update") && (poison_steps >> t->step & 1) && t->model->grads)
        t->model->grads[7] = NAN;
}

/* "rollouts": a NaN in the final norm's weight, so the update's loss is NaN;
   "update": the weight restored (the update is skipped, so nothing else moved). */
static float poison_saved;
static void poison_loss(void *user, const char *stage, const hbpo_trainer *t) {
    size_t off = hbpo_model_tensor(t->model, "model.norm.weight")->offset;
    (void)user;
    if (!strcmp(stage, "rollouts")) {
        poison_saved = t->model->params[off];
        t->model->params[off] = NAN;
    } else if (!strcmp(stage, "update")) {
        t->model->params[off] = poison_saved;
    }
}

TEST trainer_skips_nonfinite_steps(void) {
    hbpo_train_config tc = micro_train(HBPO_ALGO_HBPO);
    hbpo_step_metrics mt;
    char json[2048];
    float *p1;
    if (fx_start(&tc, 1, 3, 4) != 0) FAILm(hbpo_last_error());
    fx.t.hook = poison_grad;
    poison_steps = 1 << 1; /* the second step */
    ASSERT_EQ(0, hbpo_trainer_step(&fx.t, &mt));
    ASSERT_EQ(0, mt.nonfinite);
    ASSERT((p1 = fx_copy_params(0)) != NULL);
    ASSERT_EQ(0, hbpo_trainer_step(&fx.t, &mt));
    ASSERT_EQ(1, mt.nonfinite);
    ASSERT_EQ(1, mt.skipped_steps);
    ASSERT(!isfinite(mt.grad_norm));
    ASSERT_EQ(2, fx.t.step);   /* the step counts (its data is consumed) */
    ASSERT_EQ(1, fx.m.step);   /* but AdamW made no update */
    ASSERTm("no update", memcmp(p1, fx.m.params, sizeof(float) * fx.m.n_params) == 0);
    ASSERT(hbpo_metrics_json(&mt, 4, json, sizeof json) > 0);
    ASSERTm(json, json_ok(json) && strstr(json, "\"grad_norm\":null") && strstr(json, "\"nonfinite\":1"));
    ASSERT_EQ(0, hbpo_trainer_step(&fx.t, &mt)); /* the next step is clean again */
    ASSERT_EQ(0, mt.nonfinite);
    ASSERT_EQ(1, mt.skipped_steps);
    ASSERT_EQ(2, fx.m.step);
    ASSERT(isfinite(mt.grad_norm));
    fx.t.hook = NULL;
    /* a NaN weight during the update only: the loss is NaN, no update, and
       3 in a row stop the run */
    ASSERT(hbpo_model_tensor(&fx.m, "model.norm.weight") != NULL);
    fx.t.hook = poison_loss;
    ASSERT((p1 = fx_copy_params(0)) != NULL);
    if (hbpo_trainer_step(&fx.t, &mt) != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(1, mt.nonfinite);
    ASSERT_EQ(0, hbpo_trainer_step(&fx.t, &mt));
    ASSERT_EQ(-1, hbpo_trainer_step(&fx.t, &mt));
    ASSERT(strstr(hbpo_last_error(), "3 steps in a row had a non-finite") != NULL);
    ASSERT_EQ(1, mt.nonfinite);
    ASSERT_EQ(4, mt.skipped_steps);
    ASSERT_EQ(2, fx.m.step);
    ASSERTm("no update from a NaN loss", memcmp(p1, fx.m.params, sizeof(float) * fx.m.n_params) == 0);
    PASS();
}

/* Several epochs and mini-batches: old log-probs come from a separate pass,
   so the later updates see ratios != 1. */
TEST trainer_ppo_epochs_and_minibatches(void) {
    hbpo_model_config mc = micro_config();
    hbpo_train_config tc = micro_train(HBPO_ALGO_HBPO);
    hbpo_model m;
    hbpo_dataset d;
    hbpo_trainer t;
    hbpo_step_metrics mt;
    if (tr_setup() != 0) FAILm(hbpo_last_error());
    memset(&d, 0, sizeof d);
    tc.ppo_epochs = 2;
    tc.mini_batches = 2;
    tc.adamw.lr = 1e-2f;
    ASSERT_EQ(0, hbpo_model_create(&m, &mc, NULL));
    hbpo_model_init_random(&m, 2);
    ASSERT_EQ(0, hbpo_synth_dataset(&d, 4, 3, 1, 4));
    ASSERT_EQ(0, hbpo_trainer_init(&t, &tc, &m, tr_tok, &d));
    ASSERT_EQ(0, hbpo_trainer_step(&t, &mt));
    ASSERT_EQ(4, m.step);          /* 2 epochs x 2 mini-batches */
    ASSERT(mt.approx_kl != 0.0);   /* the policy moved between passes */
    ASSERT_IN_RANGE(0.0, mt.clipfrac, 1.0);
    hbpo_trainer_free(&t);
    hbpo_dataset_free(&d);
    hbpo_model_free(&m);
    PASS();
}

/* 3 steps straight vs 1 step, save, a fresh process-like restart, resume, 2
   steps: the same metrics and parameters, bit for bit. */
static int run_steps(int steps, const char *save_after, const char *resume_from, char out[][1024],
                     float **params, size_t *np) {
    hbpo_model_config mc = micro_config();
    hbpo_train_config tc = micro_train(HBPO_ALGO_HBPO);
    hbpo_model m;
    hbpo_dataset d;
    hbpo_trainer t;
    hbpo_step_metrics mt;
    int s, ok = 1;
    memset(&d, 0, sizeof d);
    if (hbpo_model_create(&m, &mc, NULL) != 0) return 0;
    hbpo_model_init_random(&m, 5);
    if (hbpo_synth_dataset(&d, 6, 2, 1, 4) != 0) return 0; /* 8 items: steps cross an epoch */
    if (hbpo_trainer_init(&t, &tc, &m, tr_tok, &d) != 0) return 0;
    if (resume_from && hbpo_trainer_resume(&t, resume_from) != 0) { printf("\n  resume: %s\n", hbpo_last_error()); ok = 0; }
    for (s = 0; ok && s < steps; s++) {
        ok = hbpo_trainer_step(&t, &mt) == 0;
        mt.t_rollout = mt.t_score = mt.t_update = 0; /* timings differ */
        hbpo_metrics_json(&mt, 4, out[s], 1024);
        if (ok && save_after && s == 0) ok = hbpo_trainer_save(&t, save_after) == 0;
    }
    *np = m.n_params;
    *params = (float *)malloc(sizeof(float) * m.n_params);
    memcpy(*params, m.params, sizeof(float) * m.n_params);
    hbpo_trainer_free(&t);
    hbpo_dataset_free(&d);
    hbpo_model_free(&m);
    return ok;
}

TEST trainer_resume_is_exact(void) {
    char a[3][1024], b[3][1024], ck[300];
    float *pa = NULL, *pb = NULL;
    size_t na, nb;
    if (tr_setup() != 0) FAILm(hbpo_last_error());
    snprintf(ck, sizeof ck, "%s/ckpt", tr_dir);
    ASSERT(run_steps(3, NULL, NULL, a, &pa, &na));
    ASSERT(run_steps(1, ck, NULL, b, &pb, &nb));
    free(pb);
    ASSERT(run_steps(2, NULL, ck, b + 1, &pb, &nb));
    ASSERT_STR_EQ(a[1], b[1]);
    ASSERT_STR_EQ(a[2], b[2]);
    ASSERT_EQ(na, nb);
    ASSERT_EQ(0, memcmp(pa, pb, sizeof(float) * na));
    free(pa);
    free(pb);
    PASS();
}

TEST trainer_resume_rejects_mismatch(void) {
    hbpo_model_config mc = micro_config();
    hbpo_train_config tc = micro_train(HBPO_ALGO_HBPO);
    hbpo_model m;
    hbpo_dataset d;
    hbpo_trainer t;
    char ck[300], path[400];
    FILE *f;
    if (tr_setup() != 0) FAILm(hbpo_last_error());
    snprintf(ck, sizeof ck, "%s/ckpt", tr_dir);
    memset(&d, 0, sizeof d);
    ASSERT_EQ(0, hbpo_model_create(&m, &mc, NULL));
    ASSERT_EQ(0, hbpo_synth_dataset(&d, 6, 2, 1, 4));
    tc.seed = 8; /* not the seed the checkpoint was saved with */
    ASSERT_EQ(0, hbpo_trainer_init(&t, &tc, &m, tr_tok, &d));
    ASSERT_EQ(0, hbpo_trainer_save(&t, ck));
    t.cfg.seed = 9;
    ASSERT_EQ(-1, hbpo_trainer_resume(&t, ck));
    ASSERT(strstr(hbpo_last_error(), "different configuration") != NULL);
    t.cfg.seed = 8;
    /* a truncated state file */
    snprintf(path, sizeof path, "%s/trainer_state.bin", ck);
    f = fopen(path, "r+b");
    ASSERT(f != NULL);
    ASSERT_EQ(0, ftruncate(fileno(f), 40));
    fclose(f);
    ASSERT_EQ(-1, hbpo_trainer_resume(&t, ck));
    hbpo_trainer_free(&t);
    hbpo_dataset_free(&d);
    hbpo_model_free(&m);
    PASS();
}

static int is_folder(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Step folders: the newest keep_checkpoints kept, each whole (manifest with
   checksums, tokenizer copy); a damaged one is refused before anything
   changes and passed over by hbpo_checkpoint_latest; leftovers of a crashed
   save are ignored and pruned; hbpo 0.2's folder is refused clearly. */
TEST trainer_checkpoints_whole_or_absent(void) {
    hbpo_train_config tc = micro_train(HBPO_ALGO_HBPO);
    char out[400], path[600], want[600], file[700];
    float *p4;
    long step = -1, s;
    uint64_t rng;
    FILE *f;
    if (tr_setup() != 0) FAILm(hbpo_last_error());
    tc.keep_checkpoints = 2;
    tc.tokenizer_path = tr_dir; /* a folder holding tokenizer.json */
    if (fx_start(&tc, 1, 3, 4) != 0) FAILm(hbpo_last_error());
    snprintf(out, sizeof out, "%s/run", tr_dir);
    for (s = 1; s <= 4; s++) {
        ASSERT_EQ(0, hbpo_trainer_step(&fx.t, NULL));
        if (hbpo_trainer_checkpoint(&fx.t, out, path, sizeof path) != 0) FAILm(hbpo_last_error());
    }
    snprintf(want, sizeof want, "%s/checkpoint-000004", out);
    ASSERT_STR_EQ(want, path);
    snprintf(file, sizeof file, "%s/checkpoint-000002", out);
    ASSERTm("checkpoint-000002 pruned (keep 2)", !is_folder(file));
    snprintf(file, sizeof file, "%s/checkpoint-000003", out);
    ASSERTm("checkpoint-000003 kept", is_folder(file));
    ASSERT_EQ(0, hbpo_checkpoint_verify(want, &step));
    ASSERT_EQ(4, step);
    snprintf(file, sizeof file, "%s/tokenizer.json", want);
    {
        struct stat st;
        ASSERTm("the tokenizer is part of the save", stat(file, &st) == 0 && st.st_size > 1000);
    }
    ASSERT_EQ(1, hbpo_checkpoint_latest(out, path, sizeof path));
    ASSERT_STR_EQ(want, path);
    /* damage one byte of step 4's weights: verify and resume refuse it, the
       trainer and model are untouched */
    ASSERT((p4 = fx_copy_params(0)) != NULL);
    rng = fx.t.rng.s;
    snprintf(file, sizeof file, "%s/model.safetensors", want);
    f = fopen(file, "r+b");
    ASSERT(f != NULL);
    fseek(f, -1, SEEK_END);
    fputc(0x55, f);
    fclose(f);
    ASSERT_EQ(-1, hbpo_checkpoint_verify(want, NULL));
    ASSERT(strstr(hbpo_last_error(), "checksum") != NULL);
    ASSERT_EQ(-1, hbpo_trainer_resume(&fx.t, want));
    ASSERT_EQ(4, fx.t.step);
    ASSERT_EQ(rng, fx.t.rng.s);
    ASSERTm("a refused resume changes no weight", memcmp(p4, fx.m.params, sizeof(float) * fx.m.n_params) == 0);
    /* the run folder: the newest whole one, step 3 */
    ASSERT_EQ(0, hbpo_trainer_resume(&fx.t, out));
    ASSERT_EQ(3, fx.t.step);
    /* a crashed save's folder is passed over, then pruned */
    snprintf(file, sizeof file, "%s/checkpoint-000009.tmp", out);
    ASSERT_EQ(0, hbpo_make_dir(file));
    ASSERT_EQ(1, hbpo_checkpoint_latest(out, path, sizeof path));
    snprintf(want, sizeof want, "%s/checkpoint-000003", out);
    ASSERT_STR_EQ(want, path);
    ASSERT_EQ(0, hbpo_checkpoint_prune(out, 2));
    ASSERTm("leftover .tmp pruned", !is_folder(file));
    ASSERTm("checkpoint-000003 kept", is_folder(want));
    /* hbpo 0.2's layout: no manifest */
    snprintf(file, sizeof file, "%s/manifest.json", want);
    ASSERT_EQ(0, remove(file));
    ASSERT_EQ(-1, hbpo_trainer_resume(&fx.t, want));
    ASSERT(strstr(hbpo_last_error(), "hbpo 0.2") != NULL);
    ASSERT_EQ(0, hbpo_checkpoint_latest(out, path, sizeof path));
    PASS();
}

#ifndef _WIN32
/* A crash after each file of a save: a child process saves step 2 and dies
   (_exit) right after one stage; the parent, a fresh trainer as a restarted
   program would build, resumes from the run folder. It must get step 2 when
   the folder was published and step 1 otherwise, and the run it continues
   must end exactly (metrics and weights, bit for bit, one thread) as the
   uninterrupted one. */
static const char *crash_stage;
static void crash_hook(void *user, const char *stage, const hbpo_trainer *t) {
    (void)user; (void)t;
    if (!strcmp(stage, crash_stage)) _exit(86);
}

/* Steps first+1..3 of the run in fx (resumed from `from` when not NULL),
   each step's metrics into json[step-1]; checkpoints into out when given. */
static int crash_run(const char *from, const char *out, int until, char json[][1024]) {
    hbpo_train_config tc = micro_train(HBPO_ALGO_HBPO);
    hbpo_step_metrics mt;
    tc.keep_checkpoints = 0;
    tc.tokenizer_path = tr_dir;
    if (fx_start(&tc, 5, 6, 2) != 0) return -1;
    hbpo_set_threads(1);
    if (from && hbpo_trainer_resume(&fx.t, from) != 0) return -1;
    while (fx.t.step < until) {
        if (hbpo_trainer_step(&fx.t, &mt) != 0) return -1;
        mt.t_rollout = mt.t_score = mt.t_update = 0; /* timings differ */
        hbpo_metrics_json(&mt, 4, json[fx.t.step - 1], 1024);
        if (out && hbpo_trainer_checkpoint(&fx.t, out, NULL, 0) != 0) return -1;
    }
    return 0;
}

TEST trainer_resume_after_a_crash_in_each_stage_of_a_save(void) {
    static const char *stages[] = {"model", "trainer_state.bin", "tokenizer.json", "manifest.json", "published"};
    char straight[3][1024], got[3][1024], out[400];
    float *p_straight;
    size_t k;
    if (tr_setup() != 0) FAILm(hbpo_last_error());
    if (crash_run(NULL, NULL, 3, straight) != 0) FAILm(hbpo_last_error());
    ASSERT((p_straight = fx_copy_params(2)) != NULL);
    fx.buf[2] = NULL; /* kept across the fx_start calls below */
    for (k = 0; k < sizeof stages / sizeof stages[0]; k++) {
        int status = 0, want = !strcmp(stages[k], "published") ? 2 : 1, i;
        pid_t pid;
        snprintf(out, sizeof out, "%s/crash-%d", tr_dir, (int)k);
        memset(got, 0, sizeof got);
        if (crash_run(NULL, out, 1, got) != 0) { free(p_straight); FAILm(hbpo_last_error()); }
        if (hbpo_trainer_step(&fx.t, NULL) != 0) { free(p_straight); FAILm(hbpo_last_error()); }
        fflush(stdout);
        pid = fork();
        if (pid == 0) { /* the child: save step 2, dying at the stage */
            fx.t.hook = crash_hook;
            crash_stage = stages[k];
            hbpo_trainer_checkpoint(&fx.t, out, NULL, 0);
            _exit(1); /* the stage never came */
        }
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 86) {
            free(p_straight);
            printf("  stage %s: the child did not crash there (status %d)\n", stages[k], status);
            FAIL();
        }
        /* a restarted program: a fresh model and trainer, resumed from the run */
        if (crash_run(out, NULL, 3, got) != 0) {
            printf("  after a crash after '%s': %s\n", stages[k], hbpo_last_error());
            free(p_straight);
            FAIL();
        }
        for (i = want; i < 3; i++)
            if (strcmp(straight[i], got[i]) != 0) {
                printf("  after '%s', step %d: %s\n  straight: %s\n", stages[k], i + 1, got[i], straight[i]);
                free(p_straight);
                FAIL();
            }
        if (memcmp(p_straight, fx.m.params, sizeof(float) * fx.m.n_params) != 0) {
            free(p_straight);
            printf("  after a crash after '%s': the weights differ\n", stages[k]);
            FAIL();
        }
    }
    free(p_straight);
    PASS();
}
#endif

/* SFT lowers the loss on what it is shown; evaluation then counts by level. */
TEST trainer_sft_and_evaluate(void) {
    hbpo_model_config mc = micro_config();
    hbpo_adamw_config o = hbpo_adamw_config_default();
    hbpo_sampler_config s = hbpo_sampler_config_default();
    hbpo_model m;
    hbpo_dataset d;
    hbpo_eval_result res;
    const char *qs[4], *cs[4];
    char sol[4][256], json[4096];
    float first = 0, loss = 0;
    hbpo_rng rng;
    int i, it, total = 0;
    if (tr_setup() != 0) FAILm(hbpo_last_error());
    memset(&d, 0, sizeof d);
    ASSERT_EQ(0, hbpo_model_create(&m, &mc, NULL));
    hbpo_model_init_random(&m, 3);
    ASSERT_EQ(0, hbpo_synth_dataset(&d, 9, 1, 1, 4));
    hbpo_rng_seed(&rng, 1);
    for (i = 0; i < 4; i++) {
        ASSERT(hbpo_synth_solution(d.items[i].question, HBPO_SYNTH_STEPS, &rng, sol[i], sizeof sol[i]) > 0);
        qs[i] = d.items[i].question;
        cs[i] = sol[i];
    }
    o.lr = 3e-3f;
    for (it = 0; it < 30; it++) {
        ASSERT_EQ(0, hbpo_sft_step(&m, tr_tok, HBPO_CHAT_CHATML, 4, qs, NULL, cs, 3, &o, &loss));
        if (it == 0) first = loss;
    }
    ASSERT(isfinite(loss) && loss < 0.7f * first);
    s.temperature = 0; /* greedy */
    s.max_new_tokens = 40;
    ASSERT_EQ(0, hbpo_evaluate(&m, tr_tok, &d, HBPO_CHAT_CHATML, HBPO_EFFICIENCY_PROMPT, &s, 3, &res, NULL, NULL));
    ASSERT_EQ(4, res.all.n);
    for (i = 1; i <= 4; i++) { ASSERT_EQ(1, res.level[i].n); total += res.level[i].n; }
    ASSERT_EQ(4, total);
    ASSERT(res.all.tokens >= 4 && res.all.tokens <= 160);
    ASSERT(res.all.think_tokens <= res.all.tokens);
    ASSERT(hbpo_eval_json(&res, json, sizeof json) > 0 && json_ok(json));
    hbpo_dataset_free(&d);
    hbpo_model_free(&m);
    PASS();
}

/* A model that answers: SFT on four level-1 problems (direct answers, one
   thread, deterministic) until greedy decoding gets some right. Then one
   HBPO step with rollouts at a low temperature has correct rollouts whose
   rewards take both branches of Eq. reward_intra (inside the budget: f2(b);
   beyond: the length-dependent f1(n, b)), and the evaluation's correct count
   equals the correct outcomes it reports one by one. */
static int eval_correct;
static void count_correct(void *user, int index, const char *response, int outcome, int n_gen) {
    (void)user; (void)index; (void)response; (void)n_gen;
    eval_correct += outcome == HBPO_CORRECT;
}

TEST trainer_with_a_model_that_answers(void) {
    hbpo_train_config tc = micro_train(HBPO_ALGO_HBPO);
    hbpo_adamw_config o = hbpo_adamw_config_default();
    hbpo_sampler_config s = hbpo_sampler_config_default();
    hbpo_eval_result res;
    hbpo_step_metrics mt;
    const hbpo_rollouts *ro;
    const char *qs[4], *cs[4];
    char sol[4][HBPO_SYNTH_MAX_SOLUTION];
    hbpo_rng rng;
    int i, r, correct = 0, inside = 0, beyond = 0, lvl_sum = 0;
    hbpo_model_config mc = micro_config();
    if (tr_setup() != 0) FAILm(hbpo_last_error());
    hbpo_set_threads(1);
    ASSERT_EQ(0, hbpo_model_create(&fx.m, &mc, NULL));
    fx.have_m = 1;
    hbpo_model_init_random(&fx.m, 3);
    ASSERT_EQ(-1, hbpo_dataset_create(NULL));
    ASSERT_EQ(0, hbpo_dataset_create(&fx.d));
    ASSERT_EQ(0, fx.d.n);
    ASSERT_EQ(0, hbpo_synth_dataset(&fx.d, 9, 4, 1, 1)); /* four level-1 problems */
    ASSERT_EQ(4, fx.d.n);
    hbpo_rng_seed(&rng, 1);
    for (i = 0; i < 4; i++) {
        ASSERT(hbpo_synth_solution(fx.d.items[i].question, HBPO_SYNTH_DIRECT, &rng, sol[i], sizeof sol[i]) > 0);
        qs[i] = fx.d.items[i].question;
        cs[i] = sol[i];
    }
    o.lr = 1e-2f;
    for (i = 0; i < 100; i++)
        ASSERT_EQ(0, hbpo_sft_step(&fx.m, tr_tok, HBPO_CHAT_CHATML, 4, qs, NULL, cs, 4, &o, NULL));
    /* evaluation: the count equals the outcomes reported one by one */
    s.temperature = 0; /* greedy */
    s.max_new_tokens = 40;
    eval_correct = 0;
    ASSERT_EQ(0, hbpo_evaluate(&fx.m, tr_tok, &fx.d, HBPO_CHAT_CHATML, "", &s, 4, &res, count_correct, NULL));
    ASSERT_EQ(4, res.all.n);
    ASSERT_IN_RANGE(1, res.all.correct, 4);
    ASSERT_EQ(eval_correct, res.all.correct);
    for (i = 0; i <= HBPO_EVAL_MAX_LEVEL; i++) lvl_sum += res.level[i].correct;
    ASSERT_EQ(res.all.correct, lvl_sum);
    ASSERT_EQ(res.all.correct, res.level[1].correct);
    /* one HBPO step: budgets 4, 6, 8, 10 around answers of 6 or 7 tokens
       (</think> \n \boxed{ digits }) */
    hbpo_model_reset_optimizer(&fx.m);
    tc.budget.budget[0] = 4; tc.budget.budget[1] = 6; tc.budget.budget[2] = 8; tc.budget.budget[3] = 10;
    tc.temperature = 0.2f;
    tc.batch_queries = 4;
    tc.adamw.lr = 1e-4f;
    ASSERT_EQ(0, hbpo_trainer_init(&fx.t, &tc, &fx.m, tr_tok, &fx.d));
    fx.have_t = 1;
    ASSERT_EQ(0, hbpo_trainer_step(&fx.t, &mt));
    ro = &fx.t.last;
    for (r = 0; r < ro->count; r++) {
        int n = ro->n_gen[r], b = ro->budget[r];
        if (ro->outcome[r] != HBPO_CORRECT) continue;
        correct++;
        if (n <= b) { /* inside the budget: f2(b), whatever the length */
            inside++;
            ASSERT_NEAR(hbpo_reward_f2(&tc.budget, b), ro->reward[r], 1e-6);
        } else {     /* beyond it: f1(n, b) = beta cos(pi n / 2 L_max) - alpha |n - b| */
            beyond++;
            ASSERT_NEAR(hbpo_reward_f1(&tc.budget, n, b), ro->reward[r], 1e-6);
            ASSERT(ro->reward[r] < hbpo_reward_f2(&tc.budget, b));
        }
    }
    ASSERT_NEAR((double)correct / ro->count, mt.accuracy, 1e-9);
    ASSERTm("some rollouts are right", correct > 0);
    ASSERTm("a right answer inside its budget", inside > 0);
    ASSERTm("a right answer beyond its budget (the length-dependent branch)", beyond > 0);
    ASSERT(mt.adv_abs > 0);
    ASSERT(isfinite(mt.grad_norm) && mt.grad_norm > 0);
    if (hbpo_test__info.verbose)
        printf("  eval %d/4 right; step: %d of %d rollouts right, %d inside, %d beyond the budget\n",
               res.all.correct, correct, ro->count, inside, beyond);
    PASS();
}

/* Bad input to the trainer, SFT and evaluation: a clear error, nothing run. */
TEST trainer_bad_input(void) {
    hbpo_model_config mc = micro_config();
    hbpo_train_config tc = micro_train(HBPO_ALGO_HBPO);
    hbpo_adamw_config o = hbpo_adamw_config_default();
    hbpo_sampler_config s = hbpo_sampler_config_default();
    hbpo_model m, small;
    hbpo_dataset d, empty;
    hbpo_trainer t;
    hbpo_eval_result res;
    const char *q[1] = {"1+2=?"}, *c[1] = {"</think>\n\\boxed{3}"};
    char longq[400];
    if (tr_setup() != 0) FAILm(hbpo_last_error());
    memset(&d, 0, sizeof d);
    memset(&empty, 0, sizeof empty);
    ASSERT_EQ(0, hbpo_model_create(&m, &mc, NULL));
    ASSERT_EQ(0, hbpo_synth_dataset(&d, 1, 1, 1, 2));
    /* a model whose vocabulary is smaller than the tokenizer's */
    mc.vocab_size = 100;
    ASSERT_EQ(0, hbpo_model_create(&small, &mc, NULL));
    ASSERT_EQ(-1, hbpo_trainer_init(&t, &tc, &small, tr_tok, &d));
    ASSERT(strstr(hbpo_last_error(), "the tokenizer has 266 ids but the model only 100") != NULL);
    hbpo_model_free(&small);
    /* no data, a bad config */
    ASSERT_EQ(-1, hbpo_trainer_init(&t, &tc, &m, tr_tok, &empty));
    ASSERT(strstr(hbpo_last_error(), "non-empty dataset") != NULL);
    tc.batch_queries = 0;
    ASSERT_EQ(-1, hbpo_trainer_init(&t, &tc, &m, tr_tok, &d));
    ASSERT(strstr(hbpo_last_error(), "batch_queries") != NULL);
    /* prompt + L_max beyond the model's positions: the step refuses, no generation */
    tc = micro_train(HBPO_ALGO_HBPO);
    tc.budget.l_max = 250;
    ASSERT_EQ(0, hbpo_trainer_init(&t, &tc, &m, tr_tok, &d));
    ASSERT_EQ(-1, hbpo_trainer_step(&t, NULL));
    ASSERT(strstr(hbpo_last_error(), "exceeds max_position_embeddings 256") != NULL);
    ASSERT_EQ(0, t.step);
    hbpo_trainer_free(&t);
    hbpo_trainer_free(&t); /* twice is fine */
    /* SFT: no examples, an example longer than the model's positions */
    ASSERT_EQ(-1, hbpo_sft_step(&m, tr_tok, HBPO_CHAT_CHATML, 0, q, NULL, c, 1, &o, NULL));
    ASSERT(strstr(hbpo_last_error(), "bad arguments") != NULL);
    memset(longq, '7', sizeof longq - 1);
    longq[sizeof longq - 1] = 0;
    q[0] = longq;
    ASSERT_EQ(-1, hbpo_sft_step(&m, tr_tok, HBPO_CHAT_CHATML, 1, q, NULL, c, 1, &o, NULL));
    ASSERT(strstr(hbpo_last_error(), "more than max_position_embeddings") != NULL);
    ASSERT_EQ(0, m.step);
    /* evaluation: batch 0, a bad sampler, no room for the prompt */
    ASSERT_EQ(-1, hbpo_evaluate(&m, tr_tok, &d, HBPO_CHAT_CHATML, "", &s, 0, &res, NULL, NULL));
    ASSERT(strstr(hbpo_last_error(), "bad arguments") != NULL);
    s.top_p = 2.0f;
    ASSERT_EQ(-1, hbpo_evaluate(&m, tr_tok, &d, HBPO_CHAT_CHATML, "", &s, 4, &res, NULL, NULL));
    ASSERT(strstr(hbpo_last_error(), "top_p") != NULL);
    s = hbpo_sampler_config_default();
    ASSERT_EQ(-1, hbpo_evaluate(&m, tr_tok, &d, HBPO_CHAT_CHATML, longq, &s, 4, &res, NULL, NULL));
    ASSERT(strstr(hbpo_last_error(), "leaves no room") != NULL);
    hbpo_dataset_free(&d);
    hbpo_model_free(&m);
    PASS();
}

SUITE(trainer_suite) {
    RUN_TEST(trainer_config_checks);
    RUN_TEST(trainer_budgets_prompts_rewards);
    RUN_TEST(trainer_reflection_words);
    SET_TEARDOWN(fx_teardown, NULL);
    RUN_TEST(trainer_step_wiring_all_algorithms);
    RUN_TEST(trainer_rollouts_are_minus_one_padded);
    RUN_TEST(trainer_skips_nonfinite_steps);
    RUN_TEST(trainer_checkpoints_whole_or_absent);
    RUN_TEST(trainer_with_a_model_that_answers);
#ifndef _WIN32
    RUN_TEST(trainer_resume_after_a_crash_in_each_stage_of_a_save);
#endif
    RUN_TEST(trainer_ppo_epochs_and_minibatches);
    RUN_TEST(trainer_resume_is_exact);
    RUN_TEST(trainer_resume_rejects_mismatch);
    RUN_TEST(trainer_sft_and_evaluate);
    RUN_TEST(trainer_bad_input);
    tr_teardown();
}
