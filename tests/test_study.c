/* The miniature of the paper (make base, make run, make study): the
   over-thinking base solutions, the base's SFT reproducibility, the committed
   base checkpoint (checksums verified, a damaged copy refused), each method's
   rollout -> reward -> advantage path on the committed base (a model that
   answers some questions correctly), the per-problem evaluation records
   (the study's tables are recomputed from them), and the SVG chart.
   The committed base is read from models/tiny-base (tests run from the
   repository root). */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifndef _WIN32
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "hbpo.h"
#define HBPO_TEST_BYTE_TOKENIZER /* hbpo_test_byte_tokenizer */
#include "hbpo_test.h"

#define ST_BASE "models/tiny-base"

/* The re-check lines of a base solution: the lines before </think> without
   a '=' (a step line has one). */
static int st_checks(const char *s) {
    const char *p;
    int c = 0;
    for (p = s; *p && strncmp(p, "</think>", 8) != 0; p = strchr(p, '\n') + 1)
        c += memchr(p, '=', (size_t)(strchr(p, '\n') - p)) == NULL;
    return c;
}

/* The "fnv1a64" of model.safetensors in a manifest. */
static int st_model_checksum(const char *dir, char *out, size_t cap) {
    char path[512];
    char *text, *p;
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    text = hbpo_read_file(path, 0, NULL);
    if (!text) return -1;
    p = strstr(text, "\"model.safetensors\"");
    p = p ? strstr(p, "\"fnv1a64\": \"") : NULL;
    if (!p) { hbpo_free(text); return -1; }
    snprintf(out, cap, "%.16s", p + 12);
    hbpo_free(text);
    return 0;
}

/* Every base solution is judged correct, keeps the core (steps or at sight),
   re-checks its answer 0..4 times, and the re-checks do not depend on the
   level: mean re-checks per level within 0.25 of 2, at sight about 1/4. */
TEST study_overthink_solutions(void) {
    hbpo_rng r;
    char q[32], a[8], s[HBPO_SYNTH_MAX_SOLUTION];
    int level, i, direct[HBPO_SYNTH_LEVELS + 1] = {0}, checks[HBPO_SYNTH_LEVELS + 1] = {0};
    int seen[HBPO_SYNTH_RECHECKS + 1] = {0};
    const int N = 400;
    hbpo_rng_seed(&r, 5);
    for (level = 1; level <= HBPO_SYNTH_LEVELS; level++)
        for (i = 0; i < N; i++) {
            const char *p;
            int n, lines = 0, c, others;
            ASSERT_EQ(0, hbpo_synth_problem(&r, level, q, sizeof q, a, sizeof a));
            n = hbpo_synth_overthink(q, 0, &r, s, sizeof s);
            ASSERT_EQ(strlen(s), n);
            ASSERT_EQ(HBPO_CORRECT, hbpo_judge(s, a));
            for (p = s; strncmp(p, "</think>", 8) != 0; p++) lines += *p == '\n';
            c = st_checks(s); /* a line with '=' is a step; a check line names the answer */
            ASSERT(lines == c || lines == c + level); /* at sight, or every step written */
            ASSERT_EQ(lines == c ? 0 : level, hbpo_synth_steps_written(s, &others));
            ASSERT_EQ(c, others); /* every re-check line, and nothing else */
            direct[level] += lines == c;
            ASSERT_IN_RANGE(0, c, HBPO_SYNTH_RECHECKS);
            checks[level] += c;
            seen[c]++;
        }
    for (level = 1; level <= HBPO_SYNTH_LEVELS; level++) {
        ASSERT_IN_RANGE(1.75, (double)checks[level] / N, 2.25);
        ASSERT_IN_RANGE(0.19, (double)direct[level] / N, 0.31);
    }
    for (i = 0; i <= HBPO_SYNTH_RECHECKS; i++) ASSERT(seen[i] > 0);
    ASSERT_EQ(-1, hbpo_synth_overthink("7+5=?", 0, NULL, s, sizeof s));
    ASSERT_EQ(-1, hbpo_synth_overthink("not a question", 0, &r, s, sizeof s));
    ASSERT_EQ(-1, hbpo_synth_overthink("7+5=?", 0, &r, s, 4));
    ASSERT_EQ(-1, hbpo_synth_overthink("7+5=?", -1, &r, s, sizeof s));
    ASSERT_EQ(-1, hbpo_synth_overthink("7+5=?", HBPO_SYNTH_SETTINGS, &r, s, sizeof s));
    PASS();
}

/* Step lines are counted before </think> only, each on a line of its own,
   whatever a response's re-checks, answer and damage. */
TEST study_steps_written(void) {
    static const struct { const char *response; int steps, others; } c[] = {
        {"</think>\n\\boxed{12}", 0, 0},
        {"7+5=12\n</think>\n\\boxed{12}", 1, 0},
        {"7+5=12\n12-3=9\nwait, is it 9? yes\nlet me verify: 9\n</think>\n\\boxed{9}", 2, 2},
        {"7+5=12\n12-3=9</think>\\boxed{9}", 2, 0},          /* </think> right after a step */
        {"7+5=12\n12-3=9\n", 2, 0},                            /* cut off: no </think> */
        {"7+5=12, 12-3=9\n</think>", 0, 1},                     /* a re-check, not steps */
        {"let me verify: 7+5=12\n\n</think>", 0, 1},           /* an empty line is no line */
        {"7+5=\n+5=12\n7+=12\n7*5=35\n=12\n7+5=12x\n</think>", 0, 6}, /* damaged lines */
        {"</think>\n7+5=12\n", 0, 0},                          /* after </think> */
        {"", 0, 0},
        {"19-9=10\n10+9=19\n19-1=18\n18-9=9\n</think>\n\\boxed{9}", 4, 0},
    };
    size_t i;
    int others = -1;
    for (i = 0; i < sizeof c / sizeof c[0]; i++) {
        ASSERT_EQ_FMT(c[i].steps, hbpo_synth_steps_written(c[i].response, &others), "%d");
        ASSERT_EQ_FMT(c[i].others, others, "%d");
        ASSERT_EQ_FMT(c[i].steps, hbpo_synth_steps_written(c[i].response, NULL), "%d");
    }
    ASSERT_EQ(0, hbpo_synth_steps_written(NULL, &others));
    ASSERT_EQ(0, others);
    PASS();
}

/* The base's prompt prior: after the efficiency prompt about half answer at
   sight and re-check at most once; after budget b at most round(4 b / 30)
   re-checks (30 the largest budget), every count up to it drawn; the level
   never matters. */
TEST study_overthink_follows_the_prompt(void) {
    hbpo_rng r;
    char q[32], a[8], s[HBPO_SYNTH_MAX_SOLUTION];
    int setting, i;
    hbpo_rng_seed(&r, 6);
    for (setting = 1; setting < HBPO_SYNTH_SETTINGS; setting++) {
        int b = hbpo_synth_setting_budget(setting), max = setting == 1 ? 1 : (8 * b + 30) / 60;
        int seen[HBPO_SYNTH_RECHECKS + 1] = {0}, direct = 0, c;
        const int N = 800;
        for (i = 0; i < N; i++) {
            ASSERT_EQ(0, hbpo_synth_problem(&r, 1 + i % HBPO_SYNTH_LEVELS, q, sizeof q, a, sizeof a));
            ASSERT(hbpo_synth_overthink(q, setting, &r, s, sizeof s) > 0);
            ASSERT_EQ(HBPO_CORRECT, hbpo_judge(s, a));
            c = st_checks(s);
            direct += strchr(s, '=') == NULL;
            ASSERT_IN_RANGE(0, c, max);
            seen[c]++;
        }
        for (c = 0; c <= max; c++) ASSERT(seen[c] > N / (max + 1) / 2);
        if (setting == 1) ASSERT_IN_RANGE(0.42, (double)direct / N, 0.58);
        else ASSERT_IN_RANGE(0.19, (double)direct / N, 0.31);
    }
    PASS();
}

/* The methods' configurations: names round-trip, budgets in the paper's
   proportions of L_max, k = 1, 2, 4, and every config passes the check. */
TEST study_method_configs(void) {
    hbpo_train_config c;
    char buf[128];
    int m;
    for (m = 0; m < HBPO_SYNTH_N_METHODS; m++) {
        ASSERT_EQ(m, hbpo_synth_method_parse(hbpo_synth_method_name(m)));
        ASSERT_EQ(0, hbpo_synth_train_config(m, 3, &c));
        ASSERT_EQ(0, hbpo_train_config_check(&c));
        ASSERT_EQ(HBPO_SYNTH_L_MAX, c.budget.l_max);
        ASSERT_EQ(0, c.n_rollouts % c.budget.k);
    }
    ASSERT_EQ(0, hbpo_synth_train_config(HBPO_SYNTH_HBPO, 3, &c));
    ASSERT_EQ(4, c.budget.k);
    ASSERT_EQ(HBPO_SYNTH_L_MAX / 8, c.budget.budget[0]);
    ASSERT_EQ(HBPO_SYNTH_L_MAX * 5 / 8, c.budget.budget[3]);
    ASSERT_EQ(0, hbpo_synth_train_config(HBPO_SYNTH_HBPO_K1, 3, &c));
    ASSERT_EQ(1, c.budget.k);
    ASSERT_EQ(0, hbpo_synth_train_config(HBPO_SYNTH_HBPO_K2, 3, &c));
    ASSERT_EQ(2, c.budget.k);
    ASSERT_EQ(-1, hbpo_synth_train_config(HBPO_SYNTH_N_METHODS, 3, &c));
    ASSERT_EQ(-1, hbpo_synth_method_parse("ppo"));
    ASSERT_EQ(0, hbpo_synth_setting_suffix(0, HBPO_SYNTH_GRPO, buf, sizeof buf));
    ASSERT(hbpo_synth_setting_suffix(5, HBPO_SYNTH_HBPO, buf, sizeof buf) > 0);
    ASSERT_STR_EQ("I will answer the question within 30 tokens\n", buf);
    ASSERT(hbpo_synth_setting_suffix(2, HBPO_SYNTH_HBPO_OFFICIAL, buf, sizeof buf) > 0);
    ASSERT_STR_EQ("I will answer the question with 6 tokens\n", buf);
    ASSERT_EQ(-1, hbpo_synth_setting_suffix(HBPO_SYNTH_SETTINGS, HBPO_SYNTH_HBPO, buf, sizeof buf));
    PASS();
}

/* The RL scale of a run: zeros keep the miniature's configuration; set
   fields replace lr, queries, rollouts and the rollouts' temperature; a
   scale no method can train with (rollouts not a multiple of the budgets, a
   negative lr or temperature) is refused. */
TEST study_run_scale(void) {
    hbpo_synth_run_config rc;
    hbpo_train_config want, got;
    memset(&rc, 0, sizeof rc);
    rc.method = HBPO_SYNTH_HBPO;
    rc.seed = 2;
    ASSERT_EQ(0, hbpo_synth_train_config(HBPO_SYNTH_HBPO, 2, &want));
    ASSERT_EQ(0, hbpo_synth_run_train_config(&rc, &got));
    ASSERT_EQ(want.adamw.lr, got.adamw.lr);
    ASSERT_EQ(want.batch_queries, got.batch_queries);
    ASSERT_EQ(want.n_rollouts, got.n_rollouts);
    ASSERT_EQ(want.mini_batches, got.mini_batches);
    ASSERT_EQ(want.algo, got.algo);
    ASSERT_EQ(want.temperature, got.temperature);
    rc.lr = 1e-5f;
    rc.batch_queries = 16;
    rc.n_rollouts = 16;
    rc.temperature = 1.0f;
    ASSERT_EQ(0, hbpo_synth_run_train_config(&rc, &got));
    ASSERT_EQ(16, got.batch_queries);
    ASSERT_EQ(16, got.n_rollouts);
    ASSERT_EQ(1e-5f, got.adamw.lr);
    ASSERT_EQ(1.0f, got.temperature);
    ASSERT_EQ(want.budget.k, got.budget.k);
    rc.temperature = -1.0f;
    ASSERT_EQ(-1, hbpo_synth_run_train_config(&rc, &got));
    rc.temperature = 0;
    rc.n_rollouts = 6; /* 4 budgets */
    ASSERT_EQ(-1, hbpo_synth_run_train_config(&rc, &got));
    rc.method = HBPO_SYNTH_HBPO_K2; /* 2 budgets: 6 is fine */
    ASSERT_EQ(0, hbpo_synth_run_train_config(&rc, &got));
    rc.lr = -1e-5f;
    ASSERT_EQ(-1, hbpo_synth_run_train_config(&rc, &got));
    rc.lr = 0;
    rc.batch_queries = -1;
    ASSERT_EQ(-1, hbpo_synth_run_train_config(&rc, &got));
    ASSERT_EQ(-1, hbpo_synth_run_train_config(NULL, &got));
    PASS();
}

/* make base is reproducible: the same SFT (2 steps, 1 thread) twice gives
   the same model checksum in the manifest; another seed another one. */
TEST study_base_reproducible(void) {
    char dir[64], tokp[128], sums[3][32];
    hbpo_tokenizer *tok = NULL;
    hbpo_model_config mc = hbpo_synth_model_config();
    int k, ok = 1;
    snprintf(dir, sizeof dir, "/tmp/hbpo_study_XXXXXX");
    if (hbpo_test_byte_tokenizer(dir, 1, &tok) != 0) FAILm("byte tokenizer");
    snprintf(tokp, sizeof tokp, "%s/tokenizer.json", dir);
    hbpo_set_threads(1);
    for (k = 0; k < 3 && ok; k++) {
        hbpo_model m;
        char out[128];
        snprintf(out, sizeof out, "%s/base%d", dir, k);
        ok = hbpo_model_create(&m, &mc, NULL) == 0;
        if (!ok) break;
        hbpo_model_init_random(&m, k < 2 ? 1 : 2);
        ok = hbpo_synth_sft(&m, tok, k < 2 ? 1 : 2, 2, 0) == 0 && hbpo_synth_save_base(&m, tok, tokp, out) == 0 &&
             hbpo_checkpoint_verify(out, NULL) == 0 && st_model_checksum(out, sums[k], sizeof sums[k]) == 0;
        hbpo_model_free(&m);
    }
    hbpo_set_threads(0);
    hbpo_tokenizer_free(tok);
    hbpo_test_rm_tree(dir);
    if (!ok) FAILm(hbpo_last_error());
    ASSERT_STR_EQ(sums[0], sums[1]);
    ASSERT(strcmp(sums[0], sums[2]) != 0);
    PASS();
}

/* The committed base: its manifest verifies and it loads; a copy with one
   byte of model.safetensors changed is refused before anything is loaded. */
TEST study_committed_base_verified(void) {
    static const char *const files[] = {"model.safetensors", "config.json", "trainer_state.bin",
                                        "tokenizer.json", "manifest.json"};
    char dir[64], from[256], to[256];
    hbpo_model m;
    hbpo_tokenizer *tok = NULL;
    FILE *f;
    size_t i;
    int rc;
    if (hbpo_checkpoint_verify(ST_BASE, NULL) != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(0, hbpo_synth_load_base(ST_BASE, NULL, &m, &tok));
    ASSERT_EQ(hbpo_synth_model_config().hidden_size, m.config.hidden_size);
    hbpo_model_free(&m);
    hbpo_tokenizer_free(tok);
    snprintf(dir, sizeof dir, "/tmp/hbpo_study_XXXXXX");
    if (!mkdtemp(dir)) FAILm("mkdtemp");
    for (i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(from, sizeof from, "%s/%s", ST_BASE, files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        if (hbpo_test_copy_file(from, to) != 0) { hbpo_test_rm_tree(dir); FAILm("copy"); }
    }
    ASSERT_EQ(0, hbpo_checkpoint_verify(dir, NULL));
    snprintf(to, sizeof to, "%s/model.safetensors", dir);
    f = fopen(to, "r+b");
    if (!f) { hbpo_test_rm_tree(dir); FAILm("open"); }
    fseek(f, -5, SEEK_END); /* a byte of the last weight */
    rc = fgetc(f);
    fseek(f, -5, SEEK_END);
    fputc(rc ^ 0x40, f);
    fclose(f);
    tok = NULL;
    rc = hbpo_synth_load_base(dir, NULL, &m, &tok);
    hbpo_test_rm_tree(dir);
    ASSERT_EQ(-1, rc);
    ASSERT(tok == NULL);
    ASSERT(strstr(hbpo_last_error(), "damaged") != NULL);
    PASS();
}

/* Each method's rollout -> reward -> advantage path, one step from the
   committed base on level-3 and level-4 problems (4 queries x 8 rollouts):
   the base answers most of them correctly, some wrongly or past L_max; each rollout's budget, reward and advantage are recomputed with
   the section 2 functions from its outcome and length. */
TEST study_each_method_from_the_base(void) {
    hbpo_tokenizer *tok = NULL;
    hbpo_dataset d;
    int m, correct_any = 0;
    memset(&d, 0, sizeof d);
    ASSERT_EQ(0, hbpo_synth_dataset(&d, 11, 16, 3, 4));
    for (m = 0; m < HBPO_SYNTH_N_METHODS; m++) {
        hbpo_model model;
        hbpo_trainer t;
        hbpo_train_config c;
        hbpo_step_metrics mt;
        int q, j, r, nq, n, correct = 0, mixed = 0;
        if (hbpo_synth_load_base(ST_BASE, NULL, &model, &tok) != 0) { hbpo_dataset_free(&d); FAILm(hbpo_last_error()); }
        ASSERT_EQ(0, hbpo_synth_train_config(m, 7, &c));
        c.batch_queries = 4;
        if (hbpo_trainer_init(&t, &c, &model, tok, &d) != 0 || hbpo_trainer_step(&t, &mt) != 0) {
            hbpo_dataset_free(&d);
            FAILm(hbpo_last_error());
        }
        nq = c.batch_queries;
        n = c.n_rollouts;
        ASSERT_EQ(nq * n, t.last.count);
        for (q = 0; q < nq; q++) {
            float want[64];
            int any_ok = 0, any_bad = 0;
            for (j = 0; j < n; j++) {
                r = q * n + j;
                ASSERT_EQ(hbpo_rollout_budget(&c, j), t.last.budget[r]);
                ASSERT(t.last.n_gen[r] >= 1 && t.last.n_gen[r] <= HBPO_SYNTH_L_MAX);
                ASSERT_NEAR(hbpo_rollout_reward(&c, t.last.outcome[r], t.last.n_gen[r], t.last.budget[r]),
                            t.last.reward[r], 1e-6);
                correct += t.last.outcome[r] == HBPO_CORRECT;
                any_ok |= t.last.outcome[r] == HBPO_CORRECT;
                any_bad |= t.last.outcome[r] != HBPO_CORRECT;
            }
            mixed += any_ok && any_bad;
            if (c.algo == HBPO_ALGO_HBPO)
                hbpo_advantages(&c.budget, n, t.last.reward + q * n, t.last.budget + q * n, want);
            else
                hbpo_grpo_advantages(n, t.last.reward + q * n, want);
            for (j = 0; j < n; j++) ASSERT_NEAR(want[j], t.last.adv[q * n + j], 1e-5);
        }
        if (correct == 0) FAILm(hbpo_synth_method_name(m));
        correct_any += mixed;
        ASSERT_NEAR((double)correct / (nq * n), mt.accuracy, 1e-9);
        hbpo_trainer_free(&t);
        hbpo_model_free(&model);
        hbpo_tokenizer_free(tok);
        tok = NULL;
    }
    hbpo_dataset_free(&d);
    ASSERT(correct_any > 0); /* some group held both right and wrong answers: a learning signal */
    PASS();
}

/* The per-problem records reproduce hbpo_evaluate's numbers exactly, per
   level and overall, as the study's report reads them. */
TEST study_records_recompute_the_evaluation(void) {
    hbpo_model m;
    hbpo_tokenizer *tok = NULL;
    hbpo_dataset d;
    hbpo_sampler_config sc = hbpo_sampler_config_default();
    hbpo_eval_result want, got, none;
    hbpo_eval_log log;
    char path[64];
    FILE *f;
    int fd, l, added;
    memset(&d, 0, sizeof d);
    ASSERT_EQ(0, hbpo_synth_dataset(&d, 21, 3, 1, HBPO_SYNTH_LEVELS));
    if (hbpo_synth_load_base(ST_BASE, NULL, &m, &tok) != 0) { hbpo_dataset_free(&d); FAILm(hbpo_last_error()); }
    snprintf(path, sizeof path, "/tmp/hbpo_records_XXXXXX");
    fd = mkstemp(path);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) { hbpo_model_free(&m); hbpo_tokenizer_free(tok); hbpo_dataset_free(&d); FAILm("temp file"); }
    sc.max_new_tokens = HBPO_SYNTH_EVAL_MAX;
    sc.seed = 5;
    log.file = f; log.data = &d; log.run = "base"; log.setting = "natural"; log.failed = 0;
    ASSERT_EQ(0, hbpo_evaluate(&m, tok, &d, HBPO_CHAT_CHATML, "", &sc, 8, &want, hbpo_eval_log_record, &log));
    log.setting = "efficient"; /* a second setting in the same file must not be counted */
    ASSERT_EQ(0, hbpo_evaluate(&m, tok, &d, HBPO_CHAT_CHATML, HBPO_EFFICIENCY_PROMPT "\n", &sc, 8, &none,
                               hbpo_eval_log_record, &log));
    fclose(f);
    ASSERT_EQ(0, log.failed);
    memset(&got, 0, sizeof got);
    added = hbpo_eval_log_sum(path, "base", "natural", HBPO_SYNTH_EVAL_MAX, &got);
    ASSERT_EQ(d.n, added);
    for (l = 0; l <= HBPO_EVAL_MAX_LEVEL; l++) {
        const hbpo_eval_bucket *w = l ? &want.level[l] : &want.all, *g = l ? &got.level[l] : &got.all;
        ASSERT_EQ(w->n, g->n);
        ASSERT_EQ(w->correct, g->correct);
        ASSERT_EQ(w->no_answer, g->no_answer);
        ASSERT_EQ(w->truncated, g->truncated);
        ASSERT_NEAR(w->tokens, g->tokens, 0);
    }
    memset(&got, 0, sizeof got);
    ASSERT_EQ(0, hbpo_eval_log_sum(path, "hbpo/s1", "natural", HBPO_SYNTH_EVAL_MAX, &got));
    ASSERT_EQ(-1, hbpo_eval_log_sum("/nonexistent/records.jsonl", "base", "natural", 1, &got));
    remove(path);
    hbpo_model_free(&m);
    hbpo_tokenizer_free(tok);
    hbpo_dataset_free(&d);
    PASS();
}

/* The chart: one polyline per line series, a marker per point, error bars. */
TEST study_svg_chart(void) {
    static const char *const ticks[2] = {"a", "b"};
    double x[2] = {1, 2}, y[2] = {10, 30}, e[2] = {1, 2};
    hbpo_svg_series s[2];
    char path[64];
    char *text, *p;
    int fd, lines = 0, circles = 0;
    memset(s, 0, sizeof s);
    s[0].label = "one"; s[0].n = 2; s[0].x = x; s[0].y = y; s[0].err = e;
    s[1].label = "two"; s[1].n = 2; s[1].x = x; s[1].y = y; s[1].points = 1;
    snprintf(path, sizeof path, "/tmp/hbpo_svg_XXXXXX");
    fd = mkstemp(path);
    if (fd < 0) FAILm("temp file");
    close(fd);
    ASSERT_EQ(0, hbpo_svg_chart(path, "t", "x", "y", s, 2, ticks, 2));
    text = hbpo_read_file(path, 0, NULL);
    remove(path);
    ASSERT(text != NULL);
    for (p = text; (p = strstr(p, "<polyline")) != NULL; p++) lines++;
    for (p = text; (p = strstr(p, "<circle")) != NULL; p++) circles++;
    ASSERT(strstr(text, "</svg>") != NULL);
    hbpo_free(text);
    ASSERT_EQ(1, lines);
    ASSERT_EQ(4, circles);
    ASSERT_EQ(-1, hbpo_svg_chart(path, "t", "x", "y", s, 0, NULL, 0));
    PASS();
}

/* What a re-check costs in advantage (docs/demo.md, make study): one
   level-1 query, 8 rollouts, all right, 12 tokens each but one rollout per
   budget subgroup 20 (a re-check). Under the miniature's rewards (L_max 48)
   the re-check costs cosine 1.871 in advantage; HBPO 1.281 under b = 6 and
   12, and nothing under 24 and 30, where both are inside the budget (f2 is
   flat): the budgets' different f2 make A_inter's std large (0.538 against
   cosine's 0.279). Expected values from the formulas in Python:
   tools/recheck_gap.py. */
TEST study_recheck_advantage_gap(void) {
    hbpo_train_config hc, cc;
    float R[8], A[8], C[8], CA[8];
    int bud[8], j;
    const double want[4] = {1.281, 1.281, 0.0, 0.0};
    ASSERT_EQ(0, hbpo_synth_train_config(HBPO_SYNTH_HBPO, 1, &hc));
    ASSERT_EQ(0, hbpo_synth_train_config(HBPO_SYNTH_COSINE, 1, &cc));
    for (j = 0; j < 8; j++) {
        int n_gen = j % 2 ? 20 : 12;
        bud[j] = hbpo_rollout_budget(&hc, j);
        R[j] = hbpo_rollout_reward(&hc, HBPO_CORRECT, n_gen, bud[j]);
        C[j] = hbpo_rollout_reward(&cc, HBPO_CORRECT, n_gen, hbpo_rollout_budget(&cc, j));
    }
    ASSERT_EQ(6, bud[0]); ASSERT_EQ(30, bud[7]);
    hbpo_advantages(&hc.budget, 8, R, bud, A);
    hbpo_grpo_advantages(8, C, CA);
    for (j = 0; j < 4; j++) {
        ASSERT_NEAR(want[j], A[2 * j] - A[2 * j + 1], 1e-3);
        ASSERT_NEAR(1.871, CA[2 * j] - CA[2 * j + 1], 1e-3);
    }
    PASS();
}

SUITE(study_suite) {
    RUN_TEST(study_overthink_solutions);
    RUN_TEST(study_steps_written);
    RUN_TEST(study_overthink_follows_the_prompt);
    RUN_TEST(study_method_configs);
    RUN_TEST(study_run_scale);
    RUN_TEST(study_base_reproducible);
    RUN_TEST(study_committed_base_verified);
    RUN_TEST(study_each_method_from_the_base);
    RUN_TEST(study_records_recompute_the_evaluation);
    RUN_TEST(study_svg_chart);
    RUN_TEST(study_recheck_advantage_gap);
}
