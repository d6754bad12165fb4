/* study - the paper's findings in miniature (make base, make study).

     build/study base  [--out models/tiny-base] [--steps 2000] [--seed 1] [--threads N]
         the over-thinking base model: SFT from scratch (hbpo_synth_sft), saved as a
         whole checkpoint with its manifest (hbpo_synth_save_base), then evaluated
         (natural setting, per level) so its quality is printed next to its checksum.
     build/study run   [--base models/tiny-base] [--out build/study-runs] [--seeds 3]
                       [--steps 360] [--eval-n 100] [--jobs 2] [--doc docs/study.md] [--fresh]
                       [--lr 1e-5] [--queries 4] [--rollouts 8] [--temperature 0.6]
                       [--methods hbpo,cosine,...]
         from the committed base, the same data and the same steps for every
         method and seed: HBPO (paper and released-code modes), GRPO, cosine, L1,
         HBPO with 1 and 2 budgets, HBPO with its intra term centred; every model
         evaluated per level in the natural setting, with the efficiency prompt
         and under each budget prompt; then the report (below). --lr, --queries,
         --rollouts and --temperature change the RL for every method (queries
         and rollouts per step, the rollouts' temperature; the evaluation stays
         at T 0.6); --methods runs a subset. Runs go to
         OUT/runs/NAME-sSEED/{metrics,eval}.jsonl; a finished run is not run
         again unless --fresh, or unless the base or the options it was made
         with changed (the stamp in its `done` file).
     build/study report [--out build/study-runs] [--doc docs/study.md] ...
         the report alone, from the saved files: tables recomputed from the
         per-problem records, SVG figures next to the document, the goals.

   Runs are independent processes of one thread each (--jobs of them at once),
   so each is deterministic whatever --jobs is. */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SEEDS 16
/* make study's scale: 3 seeds of 360 steps at lr 1e-5, 100 held-out problems
   per level (about 30 minutes on 2 cores of a Zen 4). Until stop 25 it was 5
   seeds of 120 steps at 3e-5 (then hbpo_synth_train_config's lr, which make
   run kept until stop 26): the same lr x steps in larger steps, 17.5
   minutes, but there the cosine penalty's entropy is spent before it finds
   the shortcut of answering at sight, so the exploration collapse that the
   paper describes, and goals 1 and 3, do not show (docs/study-lr3e5.md,
   docs/demo.md). */
#define STUDY_SEEDS 3
#define STUDY_STEPS 360
#define STUDY_EVAL  100
#define STUDY_LR    1e-5f
#define N_METHODS HBPO_SYNTH_N_METHODS
#define LV HBPO_SYNTH_LEVELS

typedef struct {
    const char *cmd, *out, *base, *doc;
    int steps, seeds, eval_n, jobs, threads, fresh, base_steps;
    uint64_t seed;
    float lr, temperature; /* the RL scale: lr STUDY_LR unless --lr; temperature 0: the miniature's */
    int queries, rollouts;
    int use[N_METHODS];    /* --methods: which methods run (all by default) */
    const char *methods;   /* the --methods text, or NULL */
} options;

static int parse_int(const char *flag, const char *s, int lo, int hi, int *out) {
    if (hbpo_parse_int(flag, s, lo, hi, out) == 0) return 0;
    fprintf(stderr, "study: %s\n", hbpo_last_error());
    return -1;
}

/* A number x with 0 < x < hi, or x <= hi when closed. */
static int parse_positive(const char *flag, const char *s, double hi, int closed, float *out) {
    char *end;
    double x = strtod(s, &end);
    if (end == s || *end || !(x > 0 && (x < hi || (closed && x == hi)))) {
        fprintf(stderr, "study: %s '%s' is not a number in (0, %g%c\n", flag, s, hi, closed ? ']' : ')');
        return -1;
    }
    *out = (float)x;
    return 0;
}

/* --methods hbpo,cosine: o->use[m] for the named methods only */
static int parse_methods(const char *list, options *o) {
    char name[64];
    const char *p = list;
    int m, any = 0;
    for (m = 0; m < N_METHODS; m++) o->use[m] = 0;
    while (*p) {
        size_t n = strcspn(p, ",");
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), p);
        if ((m = hbpo_synth_method_parse(name)) < 0) {
            fprintf(stderr, "study: --methods: '%s' is not a method (hbpo, hbpo-official, grpo, cosine, l1, "
                            "hbpo-k1, hbpo-k2, hbpo-centered)\n", name);
            return -1;
        }
        o->use[m] = 1;
        any = 1;
        p += n + (p[n] == ',');
    }
    if (!any) { fprintf(stderr, "study: --methods is empty\n"); return -1; }
    o->methods = list;
    return 0;
}

static void usage(FILE *to) {
    fprintf(to, "usage: study base   [--out DIR (models/tiny-base)] [--steps N (2000)] [--seed S (1)] [--threads N]\n"
           "       study run    [--base DIR (models/tiny-base)] [--out DIR (build/study-runs)] [--seeds N (3)]\n"
           "                    [--steps N (360)] [--eval-n N per level (100)] [--jobs N (2)] [--doc PATH] [--fresh]\n"
           "                    [--lr X (1e-5)] [--queries N per step (4)] [--rollouts N per query (8, a multiple of 4)]\n"
           "                    [--temperature T of the training rollouts (0.6)]\n"
           "                    [--methods NAME,NAME,... (all: hbpo,hbpo-official,grpo,cosine,l1,hbpo-k1,hbpo-k2,hbpo-centered)]\n"
           "       study report [--out DIR] [the run's options] [--doc PATH]\n");
}

static int parse_options(int argc, char **argv, options *o) {
    int i, v;
    memset(o, 0, sizeof *o);
    o->cmd = argc > 1 ? argv[1] : "";
    o->out = NULL;
    o->base = "models/tiny-base";
    o->doc = "docs/study.md";
    o->steps = STUDY_STEPS;
    o->base_steps = 2000;
    o->seeds = STUDY_SEEDS;
    o->eval_n = STUDY_EVAL;
    o->lr = STUDY_LR;
    o->jobs = 2;
    o->threads = 0;
    o->seed = 1;
    for (i = 0; i < N_METHODS; i++) o->use[i] = 1;
    if (!strcmp(o->cmd, "--help") || !strcmp(o->cmd, "-h")) { usage(stdout); exit(0); }
    if (strcmp(o->cmd, "base") && strcmp(o->cmd, "run") && strcmp(o->cmd, "report")) {
        usage(stderr);
        return -1;
    }
    for (i = 2; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--fresh")) { o->fresh = 1; continue; }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); exit(0); }
        if (!val) { fprintf(stderr, "study: %s needs a value (or unknown option)\n", a); return -1; }
        if (!strcmp(a, "--out")) o->out = val;
        else if (!strcmp(a, "--base")) o->base = val;
        else if (!strcmp(a, "--doc")) o->doc = val;
        else if (!strcmp(a, "--steps")) {
            if (parse_int(a, val, 0, 1000000, &v)) return -1;
            o->steps = o->base_steps = v;
        } else if (!strcmp(a, "--seeds")) { if (parse_int(a, val, 1, MAX_SEEDS, &o->seeds)) return -1; }
        else if (!strcmp(a, "--eval-n")) { if (parse_int(a, val, 1, 100000, &o->eval_n)) return -1; }
        else if (!strcmp(a, "--jobs")) { if (parse_int(a, val, 1, 64, &o->jobs)) return -1; }
        else if (!strcmp(a, "--threads")) { if (parse_int(a, val, 0, 256, &o->threads)) return -1; }
        else if (!strcmp(a, "--seed")) { if (parse_int(a, val, 0, 2147483647, &v)) return -1; o->seed = (uint64_t)v; }
        else if (!strcmp(a, "--queries")) { if (parse_int(a, val, 1, 4096, &o->queries)) return -1; }
        else if (!strcmp(a, "--rollouts")) {
            if (parse_int(a, val, 4, 4096, &o->rollouts)) return -1;
            if (o->rollouts % 4) { /* every method's subgroups: 4 budgets, 2, 1 */
                fprintf(stderr, "study: --rollouts %d is not a multiple of 4 (the budgets' subgroups)\n", o->rollouts);
                return -1;
            }
        } else if (!strcmp(a, "--lr")) { if (parse_positive(a, val, 1, 0, &o->lr)) return -1; }
        else if (!strcmp(a, "--temperature")) { if (parse_positive(a, val, 10, 1, &o->temperature)) return -1; }
        else if (!strcmp(a, "--methods")) { if (parse_methods(val, o)) return -1; }
        else { fprintf(stderr, "study: unknown option '%s' (see --help)\n", a); return -1; }
        i++;
    }
    if (!o->out) o->out = strcmp(o->cmd, "base") ? "build/study-runs" : "models/tiny-base";
    return 0;
}

static int fail(const char *what) {
    fprintf(stderr, "study: %s: %s\n", what, hbpo_last_error());
    return 1;
}

static void cpu_name(char *out, size_t cap) {
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    snprintf(out, cap, "unknown CPU");
    if (!f) return;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            char *p = strchr(line, ':') + 1;
            while (*p == ' ') p++;
            p[strcspn(p, "\n")] = 0;
            snprintf(out, cap, "%s", p);
            break;
        }
    fclose(f);
}

static int n_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* ---- study base -------------------------------------------------------- */

static void print_levels(const char *label, const hbpo_eval_result *r) {
    int l;
    printf("  %-10s all %5.1f%% / %5.1f tokens |", label, 100.0 * r->all.correct / r->all.n, r->all.tokens / r->all.n);
    for (l = 1; l <= LV; l++)
        printf(" L%d %5.1f%% / %5.1f", l, 100.0 * r->level[l].correct / r->level[l].n,
               r->level[l].tokens / r->level[l].n);
    printf("\n");
}

static int cmd_base(const options *o) {
    hbpo_model_config mc = hbpo_synth_model_config();
    hbpo_model m;
    hbpo_tokenizer *tok = NULL;
    hbpo_synth_run_config rc;
    hbpo_eval_result res[2];
    char tok_path[1024], eval_dir[1024], man[1024];
    double t0 = hbpo_wall_time();
    char *text;
    if (o->threads > 0) hbpo_set_threads(o->threads);
    if (hbpo_make_dir("build") != 0) return fail("build folder");
    snprintf(tok_path, sizeof tok_path, "build/tokenizer-bytes.json");
    if (hbpo_tokenizer_write_bytes(tok_path) != 0 || hbpo_tokenizer_load(&tok, tok_path) != 0) return fail("tokenizer");
    if (hbpo_model_create(&m, &mc, NULL) != 0) return fail("model");
    hbpo_model_init_random(&m, o->seed);
    printf("study base: %.2fM parameters, SFT for %d steps of 32 over-thinking solutions (seed %llu) -> %s\n",
           m.n_params / 1e6, o->base_steps, (unsigned long long)o->seed, o->out);
    if (hbpo_synth_sft(&m, tok, o->seed, o->base_steps, 1) != 0) return fail("sft");
    if (hbpo_synth_save_base(&m, tok, tok_path, o->out) != 0) return fail("save");
    hbpo_model_free(&m);
    hbpo_tokenizer_free(tok);
    printf("  SFT done in %.0fs\n", hbpo_wall_time() - t0);
    snprintf(man, sizeof man, "%s/manifest.json", o->out);
    if ((text = hbpo_read_file(man, 0, NULL)) != NULL) { printf("%s", text); hbpo_free(text); }
    /* the base's quality, from the saved (verified) folder */
    snprintf(eval_dir, sizeof eval_dir, "build/base-eval-s%llu", (unsigned long long)o->seed);
    memset(&rc, 0, sizeof rc);
    rc.base_dir = o->out;
    rc.out_dir = eval_dir;
    rc.method = -1;
    rc.eval_n = o->eval_n;
    rc.n_settings = 2;
    if (hbpo_synth_run(&rc, res) != 0) return fail("evaluate base");
    printf("base quality (%d held-out problems per level, T 0.6, top-p 0.95):\n", o->eval_n);
    print_levels("natural", &res[0]);
    print_levels("efficient", &res[1]);
    printf("study base: total %.0fs\n", hbpo_wall_time() - t0);
    return 0;
}

/* ---- study run: the runs, as child processes --------------------------- */

typedef struct { int method; int seed; } run_id;

static int list_runs(const options *o, run_id *r) {
    int n = 0, s, m;
    r[n].method = -1; r[n++].seed = 0;
    for (s = 1; s <= o->seeds; s++) /* seed by seed, so a partial study has every method */
        for (m = 0; m < N_METHODS; m++)
            if (o->use[m]) { r[n].method = m; r[n++].seed = s; }
    return n;
}

static void run_dir(const options *o, run_id id, char *out, size_t cap) {
    char name[64];
    hbpo_synth_run_name(id.method, (uint64_t)id.seed, 1, name, sizeof name);
    snprintf(out, cap, "%s/runs/%s", o->out, name);
}

/* The library's description of run id, as the options ask. */
static hbpo_synth_run_config run_config(const options *o, run_id id) {
    hbpo_synth_run_config rc;
    memset(&rc, 0, sizeof rc);
    rc.base_dir = o->base;
    rc.method = id.method;
    rc.seed = (uint64_t)id.seed;
    rc.steps = id.method < 0 ? 0 : o->steps;
    rc.eval_n = o->eval_n;
    rc.n_settings = HBPO_SYNTH_SETTINGS;
    rc.progress = 1;
    rc.lr = o->lr;
    rc.batch_queries = o->queries;
    rc.n_rollouts = o->rollouts;
    rc.temperature = o->temperature;
    return rc;
}

/* What a finished run was made from: the version, its steps, problems per
   level, lr, temperature, queries and rollouts per step, and the base's
   manifest (the size and checksum of every file). A run whose
   `done` holds another stamp (a re-made base, other options, another
   version: hbpo.h's patch version goes up whenever its numerics change) is
   run again. NULL when the base has no manifest; free with hbpo_free. */
static char *run_stamp(const options *o, run_id id) {
    char path[1100], head[200], *man, *stamp;
    size_t n, len;
    hbpo_train_config c;
    hbpo_synth_run_config rc = run_config(o, id);
    snprintf(path, sizeof path, "%s/manifest.json", o->base);
    if (!(man = hbpo_read_file(path, 0, &len))) return NULL;
    if (id.method < 0 || hbpo_synth_run_train_config(&rc, &c) != 0) memset(&c, 0, sizeof c);
    n = (size_t)snprintf(head, sizeof head, "hbpo %d.%d.%d steps %d eval_n %d lr %g T %g queries %d rollouts %d\n",
                         HBPO_VERSION_MAJOR, HBPO_VERSION_MINOR, HBPO_VERSION_PATCH, rc.steps, o->eval_n,
                         c.adamw.lr, c.temperature, c.batch_queries, c.n_rollouts);
    stamp = (char *)malloc(n + len + 1);
    if (stamp) {
        memcpy(stamp, head, n);
        memcpy(stamp + n, man, len + 1);
    }
    hbpo_free(man);
    return stamp;
}

static int is_done(const options *o, run_id id) {
    char path[1200], *have, *want;
    int same;
    run_dir(o, id, path, sizeof path);
    strcat(path, "/done");
    if (!(have = hbpo_read_file(path, 0, NULL))) return 0;
    want = run_stamp(o, id);
    same = want && !strcmp(have, want);
    hbpo_free(have);
    free(want);
    return same;
}

static int child_run(const options *o, run_id id) {
    hbpo_synth_run_config rc = run_config(o, id);
    char dir[1200], path[1300], *stamp;
    run_dir(o, id, dir, sizeof dir);
    rc.out_dir = dir;
    if (hbpo_synth_run(&rc, NULL) != 0) return fail(dir);
    snprintf(path, sizeof path, "%s/done", dir);
    if (!(stamp = run_stamp(o, id)) || hbpo_write_file(path, stamp, strlen(stamp)) != 0) {
        free(stamp);
        fprintf(stderr, "study: cannot write %s\n", path);
        return 1;
    }
    free(stamp);
    return 0;
}

static int cmd_runs(const options *o) {
    run_id runs[1 + MAX_SEEDS * N_METHODS];
    pid_t pid[64];
    int who[64], n = list_runs(o, runs), next = 0, active = 0, done = 0, todo = 0, failed = 0, i;
    int threads = o->threads > 0 ? o->threads : 1;
    double t0 = hbpo_wall_time();
    char runs_dir[1100];
    snprintf(runs_dir, sizeof runs_dir, "%s/runs", o->out);
    for (i = 1; i < n; i++) { /* a scale no method can train with fails here, before any run */
        hbpo_synth_run_config rc = run_config(o, runs[i]);
        hbpo_train_config c;
        if (hbpo_synth_run_train_config(&rc, &c) != 0) {
            fprintf(stderr, "study: %s: %s\n", hbpo_synth_method_name(runs[i].method), hbpo_last_error());
            return 2;
        }
    }
    if (hbpo_make_dir(o->out) != 0 || hbpo_make_dir(runs_dir) != 0) return fail("output folder");
    for (i = 0; i < n; i++) todo += o->fresh || !is_done(o, runs[i]);
    printf("study: %d runs (%d to do), %d steps each, %d jobs of %d thread(s), base %s -> %s\n", n, todo,
           o->steps, o->jobs, threads, o->base, runs_dir);
    fflush(stdout);
    while (next < n || active > 0) {
        while (active < o->jobs && next < n) {
            run_id id = runs[next++];
            pid_t p;
            if (!o->fresh && is_done(o, id)) continue;
            fflush(stdout);
            p = fork();
            if (p < 0) { perror("study: fork"); return 1; }
            if (p == 0) {
                hbpo_set_threads(threads);
                _exit(child_run(o, id));
            }
            pid[active] = p;
            who[active++] = next - 1;
        }
        if (active > 0) {
            int st, k;
            pid_t p = wait(&st);
            if (p < 0) { perror("study: wait"); return 1; }
            for (k = 0; k < active && pid[k] != p; k++) {}
            if (k == active) continue;
            {
                char name[64], extra[128];
                run_id id = runs[who[k]];
                hbpo_synth_run_name(id.method, (uint64_t)id.seed, 0, name, sizeof name);
                done++;
                if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { failed++; snprintf(extra, sizeof extra, "%s FAILED", name); }
                else snprintf(extra, sizeof extra, "%s finished", name);
                hbpo_progress("study runs", done, todo, t0, extra);
            }
            pid[k] = pid[active - 1];
            who[k] = who[active - 1];
            active--;
        }
    }
    if (failed) { fprintf(stderr, "study: %d run(s) failed\n", failed); return 1; }
    return 0;
}

/* ---- the report --------------------------------------------------------- */

typedef struct { double mean, sd; int n; } mstat;

static mstat stat_of(const double *v, int n) {
    mstat s;
    int i;
    double q = 0;
    s.mean = 0; s.sd = 0; s.n = n;
    for (i = 0; i < n; i++) s.mean += v[i];
    if (n) s.mean /= n;
    for (i = 0; i < n; i++) q += (v[i] - s.mean) * (v[i] - s.mean);
    s.sd = n > 1 ? sqrt(q / (n - 1)) : 0;
    return s;
}

/* acc[method+1][seed][setting][level 0 = all, 1..LV], tokens likewise; method -1 = base */
typedef struct {
    double acc[N_METHODS + 1][MAX_SEEDS][HBPO_SYNTH_SETTINGS][LV + 1];
    double tok[N_METHODS + 1][MAX_SEEDS][HBPO_SYNTH_SETTINGS][LV + 1];
    int    n[N_METHODS + 1][MAX_SEEDS][HBPO_SYNTH_SETTINGS];
    /* training curves: mean over seeds of rollout tokens, accuracy per step */
    double *curve_tok[N_METHODS], *curve_acc[N_METHODS];
    int    curve_n[N_METHODS];
    int    seeds_done[N_METHODS];
    /* over every step of every seed: the mean advantage; the policy's entropy
       over the first and the last 5 steps (sums, and how many) */
    double adv_sum[N_METHODS], ent_first[N_METHODS], ent_last[N_METHODS];
    int    adv_n[N_METHODS], ent_first_n[N_METHODS], ent_last_n[N_METHODS];
    /* per budget subgroup, over the first [0] and the last [1] 5 steps: the
       rollouts' mean length and accuracy (sums over steps, and how many) */
    double sub_tok[N_METHODS][2][HBPO_MAX_BUDGETS], sub_acc[N_METHODS][2][HBPO_MAX_BUDGETS];
    int    sub_n[N_METHODS][2], sub_k[N_METHODS];
    /* natural setting, every seed (hbpo_synth_steps_written), per level:
       [0] the responses and their re-check lines, [1] the answers at sight
       (no step line) and how many of them are right, [2] the responses that
       write steps and how many of them are wrong (a slip in a step) */
    int    style[N_METHODS + 1][LV + 1][3][2];
    /* every setting, every seed: the responses and their re-check lines */
    int    rechecks[N_METHODS + 1][HBPO_SYNTH_SETTINGS][2];
} results;

/* Adds the natural-setting records of run `name` to style[level]
   (results.style): how each response reached its answer; and the re-checks
   of every setting's records to rechecks[setting]. 0 or -1. */
static int load_styles(const char *path, const char *name, int (*style)[3][2], int (*rechecks)[2]) {
    hbpo_jsonl rd;
    hbpo_json_doc doc;
    int rc;
    if (hbpo_jsonl_open(&rd, path) != 0) return -1;
    memset(&doc, 0, sizeof doc);
    while ((rc = hbpo_jsonl_next(&rd, &doc)) == 1) {
        const char *ru = hbpo_json_get_string(doc.root, "run"), *se = hbpo_json_get_string(doc.root, "setting");
        const char *resp = hbpo_json_get_string(doc.root, "response");
        const hbpo_json *lv = hbpo_json_get(doc.root, "level"), *oc = hbpo_json_get(doc.root, "outcome");
        int level, others = 0, steps, s;
        if (!ru || !se || !resp || !lv || !oc || lv->type != HBPO_JSON_NUMBER || oc->type != HBPO_JSON_NUMBER) {
            rc = hbpo_set_error("%s line %ld: not an evaluation record", path, rd.line);
            break;
        }
        if (strcmp(ru, name)) continue;
        for (s = 0; s < HBPO_SYNTH_SETTINGS; s++)
            if (!strcmp(se, hbpo_synth_setting_name(s))) break;
        if (s == HBPO_SYNTH_SETTINGS) continue;
        steps = hbpo_synth_steps_written(resp, &others);
        rechecks[s][0]++;
        rechecks[s][1] += others;
        if (s != 0) continue;
        level = (int)lv->num;
        if (level < 1 || level > LV) continue;
        style[level][0][0]++;
        if (steps == 0) {
            style[level][1][0]++;
            style[level][1][1] += (int)oc->num == HBPO_CORRECT;
        } else {
            style[level][2][0]++;
            style[level][2][1] += (int)oc->num != HBPO_CORRECT;
        }
        style[level][0][1] += others;
    }
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&rd);
    return rc < 0 ? -1 : 0;
}

static int load_eval(const options *o, run_id id, int si, results *R) {
    char dir[1200], path[1300], name[64];
    int s, l;
    run_dir(o, id, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/eval.jsonl", dir);
    hbpo_synth_run_name(id.method, (uint64_t)id.seed, 0, name, sizeof name);
    for (s = 0; s < HBPO_SYNTH_SETTINGS; s++) {
        hbpo_eval_result r;
        int k;
        memset(&r, 0, sizeof r);
        k = hbpo_eval_log_sum(path, name, hbpo_synth_setting_name(s), HBPO_SYNTH_EVAL_MAX, &r);
        if (k <= 0) return -1;
        R->n[id.method + 1][si][s] = k;
        R->acc[id.method + 1][si][s][0] = 100.0 * r.all.correct / r.all.n;
        R->tok[id.method + 1][si][s][0] = r.all.tokens / r.all.n;
        for (l = 1; l <= LV; l++) {
            R->acc[id.method + 1][si][s][l] = r.level[l].n ? 100.0 * r.level[l].correct / r.level[l].n : 0;
            R->tok[id.method + 1][si][s][l] = r.level[l].n ? r.level[l].tokens / r.level[l].n : 0;
        }
    }
    return load_styles(path, name, R->style[id.method + 1], R->rechecks[id.method + 1]);
}

/* Adds one step's per-subgroup lengths and accuracies (arrays of k numbers)
   to window w (0: first 5 steps, 1: last 5; -1: neither). */
static void add_subgroups(results *R, int m, int w, const hbpo_json *tok, const hbpo_json *acc) {
    const hbpo_json *t, *a;
    int i;
    if (w < 0 || !tok || !acc || tok->type != HBPO_JSON_ARRAY || acc->type != HBPO_JSON_ARRAY ||
        tok->len != acc->len || tok->len < 1 || tok->len > HBPO_MAX_BUDGETS)
        return;
    if (R->sub_k[m] && R->sub_k[m] != (int)tok->len) return;
    for (t = tok->child, a = acc->child; t && a; t = t->next, a = a->next)
        if (t->type != HBPO_JSON_NUMBER || a->type != HBPO_JSON_NUMBER) return;
    R->sub_k[m] = (int)tok->len;
    for (i = 0, t = tok->child, a = acc->child; t && a; i++, t = t->next, a = a->next) {
        R->sub_tok[m][w][i] += t->num;
        R->sub_acc[m][w][i] += 100 * a->num;
    }
    R->sub_n[m][w]++;
}

/* Adds a run's metrics.jsonl to the method's curves (summed; divided later). */
static void load_curve(const options *o, run_id id, results *R) {
    char dir[1200], path[1300];
    hbpo_jsonl rd;
    hbpo_json_doc doc;
    int m = id.method, step = 0;
    run_dir(o, id, dir, sizeof dir);
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    if (!R->curve_tok[m]) {
        R->curve_tok[m] = (double *)calloc((size_t)o->steps + 1, sizeof(double));
        R->curve_acc[m] = (double *)calloc((size_t)o->steps + 1, sizeof(double));
        if (!R->curve_tok[m] || !R->curve_acc[m]) return;
    }
    if (hbpo_jsonl_open(&rd, path) != 0) return;
    memset(&doc, 0, sizeof doc);
    while (step < o->steps && hbpo_jsonl_next(&rd, &doc) == 1) {
        const hbpo_json *t = hbpo_json_get(doc.root, "n_gen"), *a = hbpo_json_get(doc.root, "accuracy");
        const hbpo_json *adv = hbpo_json_get(doc.root, "adv_mean"), *ent = hbpo_json_get(doc.root, "entropy");
        if (t && a && t->type == HBPO_JSON_NUMBER && a->type == HBPO_JSON_NUMBER) {
            R->curve_tok[m][step] += t->num;
            R->curve_acc[m][step] += 100 * a->num;
            if (adv && adv->type == HBPO_JSON_NUMBER) { R->adv_sum[m] += adv->num; R->adv_n[m]++; }
            if (ent && ent->type == HBPO_JSON_NUMBER) {
                if (step < 5) { R->ent_first[m] += ent->num; R->ent_first_n[m]++; }
                if (step >= o->steps - 5) { R->ent_last[m] += ent->num; R->ent_last_n[m]++; }
            }
            add_subgroups(R, m, step < 5 ? 0 : step >= o->steps - 5 ? 1 : -1, hbpo_json_get(doc.root, "n_gen_sub"),
                          hbpo_json_get(doc.root, "accuracy_sub"));
            step++;
        }
    }
    if (step > R->curve_n[m]) R->curve_n[m] = step;
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&rd);
}

static const char *const COLOR[N_METHODS + 1] = {"#888888", "#c0392b", "#e67e22", "#2980b9", "#27ae60",
                                                  "#8e44ad", "#f1948a", "#7f8c8d", "#16a085"};

static const char *label_of(int m) { return m < 0 ? "base" : hbpo_synth_method_name(m); }

/* mean/sd over the seeds that ran of acc or tok[m+1][.][setting][level] */
static mstat over_seeds(const results *R, int m, int setting, int level, int tokens) {
    double v[MAX_SEEDS];
    int s, n = 0, seeds = m < 0 ? 1 : R->seeds_done[m];
    for (s = 0; s < seeds; s++)
        v[n++] = tokens ? R->tok[m + 1][s][setting][level] : R->acc[m + 1][s][setting][level];
    return stat_of(v, n);
}

static void cell(FILE *f, mstat s, int pct) {
    if (s.n > 1) fprintf(f, " %.1f%s ± %.1f |", s.mean, pct ? "%" : "", s.sd);
    else fprintf(f, " %.1f%s |", s.mean, pct ? "%" : "");
}

static void table_setting(FILE *f, const results *R, int setting) {
    int m, l;
    fprintf(f, "| model | seeds | accuracy | tokens |");
    for (l = 1; l <= LV; l++) fprintf(f, " L%d acc | L%d tokens |", l, l);
    fprintf(f, "\n|---|---|---|---|");
    for (l = 1; l <= LV; l++) fprintf(f, "---|---|");
    fprintf(f, "\n");
    for (m = -1; m < N_METHODS; m++) {
        if (m >= 0 && !R->seeds_done[m]) continue;
        fprintf(f, "| %s | %d |", label_of(m), m < 0 ? 1 : R->seeds_done[m]);
        cell(f, over_seeds(R, m, setting, 0, 0), 1);
        cell(f, over_seeds(R, m, setting, 0, 1), 0);
        for (l = 1; l <= LV; l++) {
            cell(f, over_seeds(R, m, setting, l, 0), 1);
            cell(f, over_seeds(R, m, setting, l, 1), 0);
        }
        fprintf(f, "\n");
    }
}

/* A goal's verdict. Each goal is a margin that is >= 0 when it holds on the
   means over seeds, with e = twice its standard error over seeds (sd / sqrt(n),
   of a difference: the two added in quadrature). A margin smaller than e could
   turn either way on another CPU or with other seeds, as the issue warns, so the
   report says so instead of counting it. Verdicts order from GOAL_NOT (not met
   beyond the spread) to GOAL_MET (met beyond it): a goal of two conditions is
   the lesser verdict, of two alternatives the greater. */
enum { GOAL_NOT, GOAL_NOT_NOISE, GOAL_MET_NOISE, GOAL_MET };
static int verdict(double margin, double e) {
    if (margin >= 0) return margin > e ? GOAL_MET : GOAL_MET_NOISE;
    return -margin > e ? GOAL_NOT : GOAL_NOT_NOISE;
}
static int v_min(int a, int b) { return a < b ? a : b; }
static int v_max(int a, int b) { return a > b ? a : b; }

/* twice the standard error of a mean over seeds; of the base's accuracy (one
   run) the binomial one over its n problems */
static double se2(mstat s, int pct, int n_problems) {
    if (s.n > 1) return 2 * s.sd / sqrt((double)s.n);
    if (pct && n_problems > 0) return 2 * sqrt(s.mean * (100 - s.mean) / n_problems);
    return 0;
}
static double se2_diff(double a, double b) { return sqrt(a * a + b * b); }

/* per seed, tokens at level LV over level 1, natural setting */
static mstat spread_over_seeds(const results *R, int m) {
    double v[MAX_SEEDS];
    int s, n = 0;
    for (s = 0; s < R->seeds_done[m]; s++)
        if (R->tok[m + 1][s][0][1] > 0) v[n++] = R->tok[m + 1][s][0][LV] / R->tok[m + 1][s][0][1];
    return stat_of(v, n);
}

/* A table's heads for the budget prompts' columns, after its first `lead`
   columns' heads, then the rule under the whole header. */
static void budget_heads(FILE *f, int lead) {
    int s;
    for (s = 2; s < HBPO_SYNTH_SETTINGS; s++) fprintf(f, " b = %d |", hbpo_synth_setting_budget(s));
    fprintf(f, "\n|");
    for (s = 0; s < lead + HBPO_SYNTH_SETTINGS - 2; s++) fprintf(f, "---|");
    fprintf(f, "\n");
}

static const char *const verdict_doc[] = {"not met", "not met on the means, within the seeds' spread",
                                          "met on the means, within the seeds' spread", "met"};
static const char *const verdict_out[] = {"NOT MET", "not met (within spread)", "met (within spread)", "met"};
static void goal(FILE *f, int v, const char *text) {
    fprintf(f, "- **%s**: %s\n", verdict_doc[v], text);
    printf("  goal %-24s %s\n", verdict_out[v], text);
}

static int figure_paths(const options *o, const char *name, char *path, size_t cap, char *rel, size_t rcap) {
    char dir[1024];
    const char *slash = strrchr(o->doc, '/');
    size_t n = slash ? (size_t)(slash - o->doc) : 0;
    char stem[256];
    const char *base = slash ? slash + 1 : o->doc;
    size_t k = strcspn(base, ".");
    snprintf(stem, sizeof stem, "%.*s", (int)k, base);
    snprintf(dir, sizeof dir, "%.*s%s%s", (int)n, o->doc, n ? "/" : "", stem);
    if (hbpo_make_dir(dir) != 0) return -1;
    snprintf(path, cap, "%s/%s", dir, name);
    snprintf(rel, rcap, "%s/%s", stem, name);
    return 0;
}

static int cmd_report(const options *o, double wall) {
    static results R;
    run_id runs[1 + MAX_SEEDS * N_METHODS];
    int n = list_runs(o, runs), i, m, l, s;
    char cpu[256], path[1200], rel[400], blas[512];
    FILE *f;
    memset(&R, 0, sizeof R);
    cpu_name(cpu, sizeof cpu);
    hbpo_blas_describe(blas, sizeof blas);
    /* the last `study run`'s wall time, kept beside its runs, so that `study
       report` alone writes the same document */
    snprintf(path, sizeof path, "%s/wall_seconds", o->out);
    if (wall > 0) {
        char text[32];
        int k = snprintf(text, sizeof text, "%.3f\n", wall);
        wall = strtod(text, NULL); /* the value the file holds, to the digit */
        if (hbpo_write_file(path, text, (size_t)k) != 0) fprintf(stderr, "study: cannot write %s\n", path);
    } else { /* absent or not a number: no wall time in the document */
        char *text = hbpo_read_file(path, 64, NULL), *end;
        if (text && (wall = strtod(text, &end)) > 0 && *end != '\n' && *end) wall = 0;
        hbpo_free(text);
    }
    if (load_eval(o, runs[0], 0, &R) != 0) return fail("the base model's records (run the study first)");
    for (i = 1; i < n; i++) {
        run_id id = runs[i];
        if (!is_done(o, id) || R.seeds_done[id.method] != id.seed - 1) continue;
        if (load_eval(o, id, id.seed - 1, &R) != 0) return fail("records");
        load_curve(o, id, &R);
        R.seeds_done[id.method]++;
    }
    f = fopen(o->doc, "w");
    if (!f) { fprintf(stderr, "study: cannot write %s\n", o->doc); return 1; }
    {
        char scale[512] = ""; /* the options that differ from make study's */
        size_t k = 0;
        int made; /* make study's own scale: the document says so */
        if (o->lr != STUDY_LR) k += (size_t)snprintf(scale + k, sizeof scale - k, " --lr %g", o->lr);
        if (o->queries > 0) k += (size_t)snprintf(scale + k, sizeof scale - k, " --queries %d", o->queries);
        if (o->rollouts > 0) k += (size_t)snprintf(scale + k, sizeof scale - k, " --rollouts %d", o->rollouts);
        if (o->temperature > 0) k += (size_t)snprintf(scale + k, sizeof scale - k, " --temperature %g", o->temperature);
        if (o->methods && k < sizeof scale) k += (size_t)snprintf(scale + k, sizeof scale - k, " --methods %.400s", o->methods);
        if ((strcmp(o->out, "build/study-runs") || strcmp(o->doc, "docs/study.md")) && k < sizeof scale)
            snprintf(scale + k, sizeof scale - k, " --out %.200s --doc %.200s", o->out, o->doc);
        made = !scale[0] && o->seeds == STUDY_SEEDS && o->steps == STUDY_STEPS && o->eval_n == STUDY_EVAL;
        fprintf(f, "# The paper's findings in miniature%s\n\n", made ? " (`make study`)" : "");
        fprintf(f, "Written by `build/study report` from the per-problem records of the runs (every figure below is "
                   "recomputed from `%s/runs/*/eval.jsonl`). The design is in [demo.md](demo.md) and in "
                   "`examples/study.c`.\n\n", o->out);
        fprintf(f, "- command: %s`build/study run --seeds %d --steps %d --eval-n %d --jobs %d%s`\n",
                made ? "`make study` = " : "", o->seeds, o->steps, o->eval_n, o->jobs, scale);
    }
    fprintf(f, "- machine: %s, %d CPU(s) online; %d run(s) at once, 1 thread each; %s\n", cpu, n_cpus(), o->jobs, blas);
    if (wall > 0) fprintf(f, "- wall time: %.0f s (%.1f min) for the runs and this report\n", wall, wall / 60);
    fprintf(f, "- base model: `%s` (committed, checksum verified when loaded)\n", o->base);
    {
        run_id h = {HBPO_SYNTH_HBPO, 1};
        hbpo_synth_run_config rc = run_config(o, h);
        hbpo_train_config c;
        if (hbpo_synth_run_train_config(&rc, &c) != 0) return fail("the runs' configuration");
        fprintf(f, "- each method: %d steps of %d queries x %d rollouts at T %g (%d AdamW steps each, lr %g) from the base, "
                   "the same training problems; evaluation on the same %d held-out problems per level (T 0.6, top-p 0.95, "
                   "at most %d new tokens); mean ± sample sd over seeds\n\n", o->steps, c.batch_queries, c.n_rollouts,
                c.temperature, c.mini_batches, c.adamw.lr, o->eval_n, HBPO_SYNTH_EVAL_MAX);
    }
    /* goals: they compare HBPO with the base, cosine and HBPO with 1 budget */
    if (!R.seeds_done[HBPO_SYNTH_HBPO] || !R.seeds_done[HBPO_SYNTH_COSINE] || !R.seeds_done[HBPO_SYNTH_HBPO_K1]) {
        fprintf(f, "## Goals\n\nNot checked: they need hbpo, cosine and hbpo-k1, and this study ran without one of them.\n\n");
        printf("study goals: not checked (they need hbpo, cosine and hbpo-k1)\n");
    } else {
        mstat bt = over_seeds(&R, -1, 0, 0, 1), ba = over_seeds(&R, -1, 0, 0, 0);
        mstat ht = over_seeds(&R, HBPO_SYNTH_HBPO, 0, 0, 1), ha = over_seeds(&R, HBPO_SYNTH_HBPO, 0, 0, 0);
        mstat h1 = over_seeds(&R, HBPO_SYNTH_HBPO, 0, 1, 1), h4 = over_seeds(&R, HBPO_SYNTH_HBPO, 0, LV, 1);
        mstat ha4 = over_seeds(&R, HBPO_SYNTH_HBPO, 0, LV, 0), ca4 = over_seeds(&R, HBPO_SYNTH_COSINE, 0, LV, 0);
        mstat c1 = over_seeds(&R, HBPO_SYNTH_COSINE, 0, 1, 1), c4 = over_seeds(&R, HBPO_SYNTH_COSINE, 0, LV, 1);
        mstat k1 = over_seeds(&R, HBPO_SYNTH_HBPO_K1, 0, 0, 0), k2 = over_seeds(&R, HBPO_SYNTH_HBPO_K2, 0, 0, 0);
        mstat hs = spread_over_seeds(&R, HBPO_SYNTH_HBPO), cs = spread_over_seeds(&R, HBPO_SYNTH_COSINE);
        char text[768], k2s[32] = "not run";
        double cut = 100 * (1 - ht.mean / bt.mean), e, e2, hr = h1.mean > 0 ? h4.mean / h1.mean : 0;
        double cr = c1.mean > 0 ? c4.mean / c1.mean : 0, bl[4], bb[4], be[4];
        int v, v2;
        if (R.seeds_done[HBPO_SYNTH_HBPO_K2]) snprintf(k2s, sizeof k2s, "%.1f%%", k2.mean);
        fprintf(f, "## Goals (HBPO paper mode against the base, natural setting, means over seeds)\n\n"
                   "Each goal is a margin, >= 0 when it holds on the means; `± e` is twice its standard error over the "
                   "seeds (of the base's accuracy, one run, the binomial one over its problems). A goal whose margin is "
                   "smaller than e could turn either way with other seeds or on another CPU, and is marked so.\n\n");
        printf("study goals:\n");
        e = se2(ht, 0, 0) * 100 / bt.mean;
        e2 = se2_diff(se2(ha, 1, 0), se2(ba, 1, R.n[0][0][0]));
        v = v_min(verdict(cut - 40, e), verdict(ha.mean - ba.mean, e2));
        snprintf(text, sizeof text, "tokens down >= 40%% at accuracy >= the base's: %.1f -> %.1f tokens (%.0f%% fewer, "
                 "margin %+.1f ± %.1f points), accuracy %.1f%% -> %.1f%% (margin %+.1f ± %.1f)", bt.mean, ht.mean, cut,
                 cut - 40, e, ba.mean, ha.mean, ha.mean - ba.mean, e2);
        goal(f, v, text);
        e = se2(hs, 0, 0);
        snprintf(text, sizeof text, "hardest level >= 2x the easiest in tokens: level %d %.1f vs level 1 %.1f (%.2fx, "
                 "margin %+.2f ± %.2f)", LV, h4.mean, h1.mean, hr, hr - 2, e);
        goal(f, verdict(hr - 2, e), text);
        e = se2_diff(se2(ha4, 1, 0), se2(ca4, 1, 0));
        e2 = se2_diff(se2(hs, 0, 0), se2(cs, 0, 0));
        v = verdict(ha4.mean - ca4.mean - 5, e);
        v2 = c1.mean > 0 && h1.mean > 0 ? verdict(hr - cr - 1e-9, e2) : GOAL_NOT;
        snprintf(text, sizeof text, "at level %d, HBPO accuracy >= cosine's + 5 points (%.1f%% vs %.1f%%, margin %+.1f ± "
                 "%.1f) or cosine's tokens spread less by level (level %d / level 1: cosine %.2fx, HBPO %.2fx, margin "
                 "%+.2f ± %.2f)", LV, ha4.mean, ca4.mean, ha4.mean - ca4.mean - 5, e, LV, cr, hr, hr - cr, e2);
        goal(f, v_max(v, v2), text);
        e = se2_diff(se2(ha, 1, 0), se2(k1, 1, 0));
        snprintf(text, sizeof text, "4 budgets >= 1 budget in accuracy: %.1f%% (4) vs %.1f%% (1), margin %+.1f ± %.1f; "
                 "2 budgets %s", ha.mean, k1.mean, ha.mean - k1.mean, e, k2s);
        goal(f, verdict(ha.mean - k1.mean, e), text);
        v = GOAL_MET;
        for (s = 2; s < HBPO_SYNTH_SETTINGS; s++) {
            mstat t = over_seeds(&R, HBPO_SYNTH_HBPO, s, 0, 1);
            bl[s - 2] = t.mean;
            be[s - 2] = se2(t, 0, 0);
            bb[s - 2] = over_seeds(&R, -1, s, 0, 1).mean;
            /* grows: each step up strictly longer (a tie is not growth) */
            if (s > 2) v = v_min(v, verdict(bl[s - 2] - bl[s - 3] - 1e-9, se2_diff(be[s - 2], be[s - 3])));
        }
        /* the base's own lengths beside HBPO's: its SFT gave it a prompt prior */
        snprintf(text, sizeof text, "under explicit budget prompts the mean length grows with the budget: "
                 "b = %d, %d, %d, %d -> %.1f, %.1f, %.1f, %.1f tokens (steps up %+.2f ± %.2f, %+.2f ± %.2f, %+.2f ± %.2f; "
                 "the base: %.1f, %.1f, %.1f, %.1f)",
                 hbpo_synth_setting_budget(2), hbpo_synth_setting_budget(3), hbpo_synth_setting_budget(4),
                 hbpo_synth_setting_budget(5), bl[0], bl[1], bl[2], bl[3], bl[1] - bl[0], se2_diff(be[1], be[0]),
                 bl[2] - bl[1], se2_diff(be[2], be[1]), bl[3] - bl[2], se2_diff(be[3], be[2]), bb[0], bb[1], bb[2], bb[3]);
        goal(f, v, text);
        fprintf(f, "\n");
    }
    /* the ablation: the paper's A_intra is never positive (hbpo_advantages) */
    if (R.seeds_done[HBPO_SYNTH_HBPO] && R.seeds_done[HBPO_SYNTH_HBPO_CENTERED] && R.seeds_done[HBPO_SYNTH_GRPO]) {
        mstat pa = over_seeds(&R, HBPO_SYNTH_HBPO, 0, 0, 0), pt = over_seeds(&R, HBPO_SYNTH_HBPO, 0, 0, 1);
        mstat pe = over_seeds(&R, HBPO_SYNTH_HBPO, 1, 0, 0), ga = over_seeds(&R, HBPO_SYNTH_GRPO, 0, 0, 0);
        mstat ca = over_seeds(&R, HBPO_SYNTH_HBPO_CENTERED, 0, 0, 0), ct = over_seeds(&R, HBPO_SYNTH_HBPO_CENTERED, 0, 0, 1);
        mstat ce = over_seeds(&R, HBPO_SYNTH_HBPO_CENTERED, 1, 0, 0);
        fprintf(f, "## HBPO's intra term (an ablation, not in the paper)\n\n"
                   "The paper's A_intra = mean reward of the subgroup - f2(b) is never positive (no reward exceeds f2 of its "
                   "budget), so HBPO's advantages average below zero and lower the likelihood of the sampled responses on the "
                   "whole; GRPO's, cosine's and L1's average zero. `hbpo-centered` subtracts A_intra's mean over the query's "
                   "rollouts (`intra_centered` in `hbpo_budget_config`), keeping every difference between rollouts. Natural "
                   "setting: HBPO %.1f%% at %.1f tokens, centred %.1f%% at %.1f (GRPO %.1f%%); with the efficiency prompt: "
                   "HBPO %.1f%%, centred %.1f%%. From the training metrics (`metrics.jsonl`, every step of every seed):\n\n"
                   "| method | mean advantage | entropy, first 5 steps | entropy, last 5 steps |\n|---|---|---|---|\n",
                pa.mean, pt.mean, ca.mean, ct.mean, ga.mean, pe.mean, ce.mean);
        for (m = 0; m < N_METHODS; m++)
            if (R.adv_n[m] && R.ent_first_n[m] && R.ent_last_n[m]) {
                double a = R.adv_sum[m] / R.adv_n[m];
                fprintf(f, "| %s | %+.3f | %.4f | %.4f |\n", label_of(m), fabs(a) < 5e-4 ? 0.0 : a,
                        R.ent_first[m] / R.ent_first_n[m], R.ent_last[m] / R.ent_last_n[m]);
            }
        fprintf(f, "\n");
    }
    /* the budget subgroups in training: what each budget's rollouts did */
    {
        int any = 0, w, i;
        for (m = 0; m < N_METHODS; m++) any |= R.sub_k[m] > 1 && R.sub_n[m][0] && R.sub_n[m][1];
        if (any) {
            fprintf(f, "## The budget subgroups in training\n\n"
                       "The training rollouts of each budget subgroup (rollouts prompted with \"within b tokens\"; "
                       "L_max %d, past it a rollout scores 0): mean length and accuracy over the first and the last "
                       "5 steps, every seed (`n_gen_sub`, `accuracy_sub` in `metrics.jsonl`).\n\n"
                       "| method | budgets | first 5 steps: tokens / accuracy | last 5 steps: tokens / accuracy |\n"
                       "|---|---|---|---|\n", HBPO_SYNTH_L_MAX);
            for (m = 0; m < N_METHODS; m++) {
                hbpo_train_config c;
                run_id id = {0, 1};
                hbpo_synth_run_config rc;
                if (R.sub_k[m] < 2 || !R.sub_n[m][0] || !R.sub_n[m][1]) continue;
                id.method = m;
                rc = run_config(o, id);
                if (hbpo_synth_run_train_config(&rc, &c) != 0 || c.budget.k != R.sub_k[m] ||
                    (c.algo != HBPO_ALGO_HBPO && c.algo != HBPO_ALGO_L1)) /* GRPO and cosine: no budget prompts */
                    continue;
                fprintf(f, "| %s |", label_of(m));
                for (i = 0; i < c.budget.k; i++) fprintf(f, "%s%d", i ? ", " : " ", c.budget.budget[i]);
                fprintf(f, " |");
                for (w = 0; w < 2; w++) {
                    for (i = 0; i < c.budget.k; i++)
                        fprintf(f, "%s%.1f / %.0f%%", i ? ", " : " ", R.sub_tok[m][w][i] / R.sub_n[m][w],
                                R.sub_acc[m][w][i] / R.sub_n[m][w]);
                    fprintf(f, " |");
                }
                fprintf(f, "\n");
            }
            fprintf(f, "\n");
        }
    }
    fprintf(f, "## Natural setting (nothing after `<think>`)\n\n");
    table_setting(f, &R, 0);
    fprintf(f, "\n## How the answers are reached (natural setting)\n\n"
               "Each response classified by its lines before `</think>` (`hbpo_synth_steps_written`): step lines "
               "(`7+5=12`) and the others, which are the re-checks (`wait, is it 12? yes`). The base's SFT data "
               "re-checks 0 to 4 times (2 on average) on every level, and a re-check never changes an answer; it "
               "answers a quarter of every level at sight. First the re-checks per response (the over-thinking "
               "left), then the share of each level answered at sight (no step line; all seeds) and, in brackets, "
               "how many of those were right: a small model is reliable at sight only on the easy levels, so this "
               "shows whether a method stops writing the steps where they are needed. Last, of the responses that "
               "write steps, the share that is wrong all the same: a slip in a step or in copying its result (the "
               "base's SFT data has none).\n\n"
               "| model | re-checks: level 1 | level 2 | level 3 | level 4 | at sight: level 1 | level 2 | level 3 | "
               "level 4 | wrong with steps: level 1 | level 2 | level 3 | level 4 |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (m = -1; m < N_METHODS; m++) {
        if (m >= 0 && !R.seeds_done[m]) continue;
        fprintf(f, "| %s |", label_of(m));
        for (l = 1; l <= LV; l++) {
            const int (*st)[2] = R.style[m + 1][l];
            fprintf(f, " %.2f |", st[0][0] ? (double)st[0][1] / st[0][0] : 0.0);
        }
        for (l = 1; l <= LV; l++) {
            const int (*st)[2] = R.style[m + 1][l];
            if (st[1][0]) fprintf(f, " %.0f%% (%d of %d right) |", 100.0 * st[1][0] / st[0][0], st[1][1], st[1][0]);
            else fprintf(f, " 0%% |");
        }
        for (l = 1; l <= LV; l++) {
            const int (*st)[2] = R.style[m + 1][l];
            fprintf(f, " %.1f%% (%d of %d) |", st[2][0] ? 100.0 * st[2][1] / st[2][0] : 0.0, st[2][1], st[2][0]);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\nThe re-checks per response in every setting (all levels, all seeds). A method removes them where it "
               "trains: HBPO (all its variants) and L1 train only under the budget prompts, GRPO and cosine only in the "
               "natural setting, and no method trains with the efficiency prompt.\n\n| model | natural | efficiency prompt |");
    budget_heads(f, 3);
    for (m = -1; m < N_METHODS; m++) {
        if (m >= 0 && !R.seeds_done[m]) continue;
        fprintf(f, "| %s |", label_of(m));
        for (s = 0; s < HBPO_SYNTH_SETTINGS; s++) {
            const int *rc = R.rechecks[m + 1][s];
            fprintf(f, " %.2f |", rc[0] ? (double)rc[1] / rc[0] : 0.0);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\n## With the efficiency prompt\n\n");
    table_setting(f, &R, 1);
    fprintf(f, "\n## Under explicit budget prompts (all levels: accuracy / tokens)\n\n| model |");
    budget_heads(f, 1);
    for (m = -1; m < N_METHODS; m++) {
        if (m >= 0 && !R.seeds_done[m]) continue;
        fprintf(f, "| %s |", label_of(m));
        for (s = 2; s < HBPO_SYNTH_SETTINGS; s++) {
            mstat a = over_seeds(&R, m, s, 0, 0), t = over_seeds(&R, m, s, 0, 1);
            fprintf(f, " %.1f%% / %.1f |", a.mean, t.mean);
        }
        fprintf(f, "\n");
    }
    fprintf(f, "\n(The `hbpo-official` rows use the released code's budget text, `with b tokens`; the others the paper's, `within b tokens`.)\n");
    /* figures */
    {
        static const char *const lv_ticks[LV] = {"1", "2", "3", "4"};
        hbpo_svg_series ser[N_METHODS + 1];
        double x[N_METHODS + 1][LV], y[N_METHODS + 1][LV], e[N_METHODS + 1][LV];
        int ns = 0;
        for (m = -1; m < N_METHODS; m++) {
            if (m >= 0 && !R.seeds_done[m]) continue;
            for (l = 1; l <= LV; l++) {
                mstat t = over_seeds(&R, m, 0, l, 1);
                x[ns][l - 1] = l; y[ns][l - 1] = t.mean; e[ns][l - 1] = t.sd;
            }
            memset(&ser[ns], 0, sizeof ser[ns]);
            ser[ns].label = label_of(m); ser[ns].color = COLOR[m + 1]; ser[ns].dashed = m < 0;
            ser[ns].n = LV; ser[ns].x = x[ns]; ser[ns].y = y[ns]; ser[ns].err = e[ns];
            ns++;
        }
        if (figure_paths(o, "tokens_by_level.svg", path, sizeof path, rel, sizeof rel) != 0 ||
            hbpo_svg_chart(path, "Mean response tokens by level, natural setting (± sd over seeds)", "level",
                           "tokens", ser, ns, lv_ticks, LV) != 0)
            return fail("figure");
        fprintf(f, "\n## Figures\n\n![tokens by level](%s)\n\n", rel);
        ns = 0;
        for (m = -1; m < N_METHODS; m++) {
            if (m >= 0 && !R.seeds_done[m]) continue;
            x[ns][0] = over_seeds(&R, m, 0, 0, 1).mean;
            y[ns][0] = over_seeds(&R, m, 0, 0, 0).mean;
            x[ns][1] = over_seeds(&R, m, 1, 0, 1).mean;
            y[ns][1] = over_seeds(&R, m, 1, 0, 0).mean;
            memset(&ser[ns], 0, sizeof ser[ns]);
            ser[ns].label = label_of(m); ser[ns].color = COLOR[m + 1]; ser[ns].points = 1;
            ser[ns].n = 1; ser[ns].x = x[ns]; ser[ns].y = y[ns];
            ns++;
        }
        if (figure_paths(o, "accuracy_vs_tokens.svg", path, sizeof path, rel, sizeof rel) != 0 ||
            hbpo_svg_chart(path, "Accuracy (%) against mean tokens, natural setting", "mean tokens", "accuracy %",
                           ser, ns, NULL, 0) != 0)
            return fail("figure");
        fprintf(f, "![accuracy against tokens](%s)\n\n", rel);
        {
            hbpo_svg_series cs[N_METHODS];
            double *cx = (double *)malloc(sizeof(double) * (size_t)(o->steps + 1));
            double *cy[N_METHODS];
            int w, k, nc;
            if (!cx) return 1;
            for (k = 0; k <= o->steps; k++) cx[k] = k + 1;
            for (w = 0; w < 2; w++) {
                nc = 0;
                for (m = 0; m < N_METHODS; m++) {
                    cy[m] = NULL;
                    if (!R.seeds_done[m] || !R.curve_n[m]) continue;
                    cy[m] = (double *)malloc(sizeof(double) * (size_t)R.curve_n[m]);
                    if (!cy[m]) return 1;
                    for (k = 0; k < R.curve_n[m]; k++)
                        cy[m][k] = (w ? R.curve_acc[m][k] : R.curve_tok[m][k]) / R.seeds_done[m];
                    memset(&cs[nc], 0, sizeof cs[nc]);
                    cs[nc].label = label_of(m); cs[nc].color = COLOR[m + 1];
                    cs[nc].n = R.curve_n[m]; cs[nc].x = cx; cs[nc].y = cy[m];
                    nc++;
                }
                if (nc && (figure_paths(o, w ? "training_accuracy.svg" : "training_tokens.svg", path, sizeof path,
                                        rel, sizeof rel) != 0 ||
                           hbpo_svg_chart(path, w ? "Training: rollout accuracy (%), mean over seeds"
                                                  : "Training: mean rollout tokens, mean over seeds",
                                          "step", w ? "accuracy %" : "tokens", cs, nc, NULL, 0) != 0))
                    return fail("figure");
                if (nc) fprintf(f, "![training %s](%s)\n\n", w ? "accuracy" : "tokens", rel);
                for (m = 0; m < N_METHODS; m++) free(cy[m]);
            }
            free(cx);
        }
    }
    for (m = 0; m < N_METHODS; m++) { free(R.curve_tok[m]); free(R.curve_acc[m]); }
    if (fclose(f) != 0) { fprintf(stderr, "study: cannot write %s\n", o->doc); return 1; }
    printf("study: wrote %s and its figures\n", o->doc);
    return 0;
}

int main(int argc, char **argv) {
    options o;
    double t0 = hbpo_wall_time();
    int rc;
    hbpo_program_start(argv); /* the right BLAS kernel; line-buffered progress */
    if (parse_options(argc, argv, &o) != 0) return 2;
    if (!strcmp(o.cmd, "base")) return cmd_base(&o);
    if (!strcmp(o.cmd, "run")) {
        rc = cmd_runs(&o);
        if (rc) return rc;
        rc = cmd_report(&o, hbpo_wall_time() - t0);
        printf("make study: total wall time %.0f s\n", hbpo_wall_time() - t0);
        return rc;
    }
    return cmd_report(&o, 0);
}
