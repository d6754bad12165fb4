/* tiny_hbpo - the demo that `make run` runs: HBPO end to end on CPU, in minutes.

   No real reasoning model can be downloaded here, so the project makes its
   own, scaled like the paper's setting (docs/demo.md):
     - a synthetic arithmetic task whose level is the number of + and -
       operations (levels 1-4: "7+5-3=?" is level 2); level 1 can be answered
       at sight, the harder levels need their steps written out;
     - an over-thinking base model, committed in models/tiny-base (made once by
       `make base`: SFT from scratch, its checksums verified when loaded): it
       re-checks its answer 0-4 times whatever the level, and its mean natural
       length is above L_max, as R1-Distill's is;
     - HBPO with the paper's budgets in proportion (L_max 48, b = {6, 12, 24,
       30}: the paper's 512..2560 of 4096), against the base model and
       against the uniform cosine length penalty, from the same base, on the
       same data, for the same steps;
     - an evaluation per level, natural and with the efficiency prompt (T 0.6,
       top-p 0.95): a table, a tokens-per-level chart in the terminal and as SVG.
   Every stage is a call of the library's miniature (hbpo_synth_run), the
   same one `make study` runs over all methods and seeds.

   Usage: build/tiny_hbpo [--base DIR] [--out DIR] [--svg PATH] [--steps N]
                          [--eval-n N] [--seed S] [--threads N] [--device cpu|cuda|cuda:N]
   (--device cuda needs the CUDA build, build/tiny_hbpo-cuda: make cuda) */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LV HBPO_SYNTH_LEVELS
#define N_MODELS 3

typedef struct {
    const char *base, *out, *svg, *device;
    int threads, steps, eval_n;
    uint64_t seed;
} options;

static int parse_int(const char *flag, const char *s, int lo, int hi, int *out) {
    if (hbpo_parse_int(flag, s, lo, hi, out) == 0) return 0;
    fprintf(stderr, "tiny_hbpo: %s\n", hbpo_last_error());
    return -1;
}

static int parse_options(int argc, char **argv, options *o) {
    int i, v;
    o->base = "models/tiny-base";
    o->out = "build/demo";
    o->svg = "docs/demo_tokens_by_level.svg";
    o->device = "cpu";
    o->threads = 0;
    o->steps = 120;
    o->eval_n = 50;
    o->seed = 1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: tiny_hbpo [--base DIR (models/tiny-base)] [--out DIR (build/demo)]\n"
                   "                 [--svg PATH (docs/demo_tokens_by_level.svg)] [--steps N (120)]\n"
                   "                 [--eval-n N per level (50)] [--seed S (1)] [--threads N (all)]\n"
                   "                 [--device cpu|cuda|cuda:N (cpu)]\n");
            exit(0);
        }
        if (!val) { fprintf(stderr, "tiny_hbpo: %s needs a value (or unknown option)\n", a); return -1; }
        if (!strcmp(a, "--base")) o->base = val;
        else if (!strcmp(a, "--out")) o->out = val;
        else if (!strcmp(a, "--svg")) o->svg = val;
        else if (!strcmp(a, "--device")) o->device = val;
        else if (!strcmp(a, "--threads")) { if (parse_int(a, val, 0, 256, &o->threads)) return -1; }
        else if (!strcmp(a, "--steps")) { if (parse_int(a, val, 0, 1000000, &o->steps)) return -1; }
        else if (!strcmp(a, "--eval-n")) { if (parse_int(a, val, 1, 100000, &o->eval_n)) return -1; }
        else if (!strcmp(a, "--seed")) { if (parse_int(a, val, 0, 2147483647, &v)) return -1; o->seed = (uint64_t)v; }
        else { fprintf(stderr, "tiny_hbpo: unknown option '%s' (see --help)\n", a); return -1; }
        i++;
    }
    return 0;
}

static double acc(const hbpo_eval_bucket *b) { return b->n ? 100.0 * b->correct / b->n : 0.0; }
static double tok(const hbpo_eval_bucket *b) { return b->n ? b->tokens / b->n : 0.0; }

static const char *const NAME[N_MODELS] = {"base", "HBPO", "cosine"};

static void print_table(hbpo_eval_result r[N_MODELS][2]) {
    int i, l;
    printf("\n%-8s %-6s | %-22s | %-22s\n", "model", "level", "natural: acc   tokens", "efficient: acc  tokens");
    printf("---------------------------------------------------------------\n");
    for (i = 0; i < N_MODELS; i++)
        for (l = 1; l <= LV + 1; l++) {
            const hbpo_eval_bucket *n = l <= LV ? &r[i][0].level[l] : &r[i][0].all;
            const hbpo_eval_bucket *f = l <= LV ? &r[i][1].level[l] : &r[i][1].all;
            char lv[8];
            snprintf(lv, sizeof lv, l <= LV ? "%d" : "all", l);
            printf("%-8s %-6s | %8.1f%% %10.1f  | %8.1f%% %10.1f\n", l == 1 ? NAME[i] : "", lv, acc(n), tok(n),
                   acc(f), tok(f));
        }
}

/* Mean natural tokens per level as bars in the terminal. */
static void print_bars(hbpo_eval_result r[N_MODELS][2]) {
    int i, l, k;
    printf("\nmean tokens per level, natural setting (one # = 2 tokens):\n");
    for (l = 1; l <= LV; l++)
        for (i = 0; i < N_MODELS; i++) {
            double t = tok(&r[i][0].level[l]);
            printf("  level %d %-7s %5.1f ", l, NAME[i], t);
            for (k = 0; k < (int)(t / 2 + 0.5); k++) putchar('#');
            putchar('\n');
        }
}

static int write_svg(const char *path, hbpo_eval_result r[N_MODELS][2]) {
    static const char *const ticks[LV] = {"1", "2", "3", "4"};
    static const char *const color[N_MODELS] = {"#888888", "#c0392b", "#2980b9"};
    hbpo_svg_series s[N_MODELS];
    double x[N_MODELS][LV], y[N_MODELS][LV];
    int i, l;
    for (i = 0; i < N_MODELS; i++) {
        for (l = 1; l <= LV; l++) { x[i][l - 1] = l; y[i][l - 1] = tok(&r[i][0].level[l]); }
        memset(&s[i], 0, sizeof s[i]);
        s[i].label = NAME[i]; s[i].color = color[i]; s[i].dashed = i == 0;
        s[i].n = LV; s[i].x = x[i]; s[i].y = y[i];
    }
    return hbpo_svg_chart(path, "make run: mean response tokens by level (natural setting)", "level",
                          "tokens", s, N_MODELS, ticks, LV);
}

static int fail(const char *what) {
    fprintf(stderr, "tiny_hbpo: %s: %s\n", what, hbpo_last_error());
    return 1;
}

int main(int argc, char **argv) {
    static const int method[N_MODELS] = {-1, HBPO_SYNTH_HBPO, HBPO_SYNTH_COSINE};
    options o;
    const hbpo_backend *be = NULL;
    hbpo_eval_result res[N_MODELS][2];
    char line[1024], dir[1200];
    double t0 = hbpo_wall_time(), ts;
    int i;
    hbpo_program_start(argv); /* the right BLAS kernel; line-buffered progress */
    if (parse_options(argc, argv, &o) != 0) return 2;
    if (o.threads > 0) hbpo_set_threads(o.threads);
    if (hbpo_backend_parse(o.device, &be) != 0) { /* says when this build has no CUDA */
        fprintf(stderr, "tiny_hbpo: --device %s: %s\n", o.device, hbpo_last_error());
        return 2;
    }
    if (hbpo_make_dir(o.out) != 0) return fail("output folder");
    hbpo_blas_describe(line, sizeof line);
    printf("hbpo %d.%d.%d tiny HBPO demo: %s -> %s (backend: %s)\n%s\n", HBPO_VERSION_MAJOR,
           HBPO_VERSION_MINOR, HBPO_VERSION_PATCH, o.base, o.out, be->name, line);
    printf("task: levels 1-%d, e.g. \"7+8-1+4=?\"; L_max %d, budgets {%d, %d, %d, %d}; %d steps of 4 queries x 8 "
           "rollouts per method; %d held-out problems per level\n", LV, HBPO_SYNTH_L_MAX,
           hbpo_synth_setting_budget(2), hbpo_synth_setting_budget(3), hbpo_synth_setting_budget(4),
           hbpo_synth_setting_budget(5), o.steps, o.eval_n);
    for (i = 0; i < N_MODELS; i++) {
        hbpo_synth_run_config rc;
        memset(&rc, 0, sizeof rc);
        snprintf(dir, sizeof dir, "%s/%s", o.out, i ? hbpo_synth_method_name(method[i]) : "base");
        rc.base_dir = o.base;
        rc.out_dir = dir;
        rc.method = method[i];
        rc.seed = o.seed;
        rc.steps = i ? o.steps : 0;
        rc.eval_n = o.eval_n;
        rc.n_settings = 2; /* natural, efficient */
        rc.progress = 1;
        rc.be = be;
        printf("[%d/%d] %s: %s\n", i + 1, N_MODELS, NAME[i],
               i ? "train from the base, then evaluate" : "verify the committed checksums, evaluate");
        ts = hbpo_wall_time();
        if (hbpo_synth_run(&rc, res[i]) != 0) return fail(NAME[i]);
        snprintf(line, sizeof line, "%s: accuracy %.1f%%, %.1f tokens (natural), %.0fs", NAME[i],
                 acc(&res[i][0].all), tok(&res[i][0].all), hbpo_wall_time() - ts);
        hbpo_progress("models done", i + 1, N_MODELS, t0, line);
    }
    print_table(res);
    print_bars(res);
    printf("\nHBPO against the base (natural): tokens %.1f -> %.1f (%+.0f%%), accuracy %.1f%% -> %.1f%%; "
           "level %d / level 1 tokens: HBPO %.2fx, cosine %.2fx\n", tok(&res[0][0].all), tok(&res[1][0].all),
           100.0 * (tok(&res[1][0].all) / tok(&res[0][0].all) - 1), acc(&res[0][0].all), acc(&res[1][0].all), LV,
           tok(&res[1][0].level[LV]) / tok(&res[1][0].level[1]), tok(&res[2][0].level[LV]) / tok(&res[2][0].level[1]));
    if (write_svg(o.svg, res) != 0) fprintf(stderr, "tiny_hbpo: %s\n", hbpo_last_error());
    else printf("wrote %s; records and training metrics in %s/{base,hbpo,cosine}\n", o.svg, o.out);
    printf("tiny_hbpo: total %.0fs\n", hbpo_wall_time() - t0);
    return 0;
}
