/* tiny_hbpo - the embedded demo that `make run` runs: HBPO end to end on CPU.

   No real reasoning model can be downloaded here, so this makes its own:
     1. a synthetic arithmetic task whose level is the number of + and -
        operations (levels 1-4: "7+5-3=?" is level 2); easy ones can be
        answered directly, hard ones need the intermediate steps written out;
     2. a small Qwen2-shaped model trained from scratch (SFT) on worked
        solutions of deliberately mixed verbosity: for every level, a third
        direct, a third step by step, a third step by step with redundant
        re-checks ("wait, let me check: ...") - an over-thinking base model,
        like the paper's;
     3. HBPO with the paper's budgets scaled to this task: L_max 160 and
        b = {20, 40, 80, 100} (the paper's 512..2560 of 4096 are 1/8, 1/4,
        1/2 and 5/8 of L_max);
     4. an evaluation of the base and the HBPO model on held-out problems, per
        level, natural and with the efficiency prompt (T 0.6, top-p 0.95),
        printed as a table and written as JSON and an SVG plot.
   The SFT model is cached in OUT/sft, so a second run skips stage 2.

   Usage: build/tiny_hbpo [--out DIR] [--threads N] [--sft-steps N] [--rl-steps N]
                          [--eval-n N] [--seed S] [--fresh] [--device cpu|cuda|cuda:N]
   (--device cuda needs the CUDA build, build/tiny_hbpo-cuda: make cuda) */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LEVELS 4

typedef struct {
    const char *out, *device;
    int threads, sft_steps, rl_steps, eval_n, fresh;
    uint64_t seed;
} options;

static int parse_int(const char *flag, const char *s, int lo, int hi, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        fprintf(stderr, "tiny_hbpo: %s '%s' must be an integer in [%d, %d]\n", flag, s, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_options(int argc, char **argv, options *o) {
    int i, v;
    o->out = "build/demo";
    o->device = "cpu";
    o->threads = 0;
    o->sft_steps = 1500;
    o->rl_steps = 60;
    o->eval_n = 100;
    o->fresh = 0;
    o->seed = 1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: tiny_hbpo [--out DIR (build/demo)] [--threads N (all)] [--sft-steps N (1500)]\n"
                   "                 [--rl-steps N (60)] [--eval-n N per level (100)] [--seed S (1)] [--fresh]\n"
                   "                 [--device cpu|cuda|cuda:N (cpu)]\n"
                   "  --fresh  retrain the SFT model even when OUT/sft holds one\n");
            exit(0);
        } else if (!strcmp(a, "--fresh")) {
            o->fresh = 1;
            continue;
        }
        if (!val) { fprintf(stderr, "tiny_hbpo: %s needs a value (or unknown option)\n", a); return -1; }
        if (!strcmp(a, "--out")) o->out = val;
        else if (!strcmp(a, "--device")) o->device = val;
        else if (!strcmp(a, "--threads")) { if (parse_int(a, val, 0, 256, &o->threads)) return -1; }
        else if (!strcmp(a, "--sft-steps")) { if (parse_int(a, val, 0, 1000000, &o->sft_steps)) return -1; }
        else if (!strcmp(a, "--rl-steps")) { if (parse_int(a, val, 0, 1000000, &o->rl_steps)) return -1; }
        else if (!strcmp(a, "--eval-n")) { if (parse_int(a, val, 1, 100000, &o->eval_n)) return -1; }
        else if (!strcmp(a, "--seed")) { if (parse_int(a, val, 0, 2147483647, &v)) return -1; o->seed = (uint64_t)v; }
        else { fprintf(stderr, "tiny_hbpo: unknown option '%s' (see --help)\n", a); return -1; }
        i++;
    }
    return 0;
}

static hbpo_train_config demo_train_config(uint64_t seed) {
    hbpo_train_config c = hbpo_train_config_default();
    c.algo = HBPO_ALGO_HBPO;
    c.budget.k = 4;
    c.budget.budget[0] = 20;
    c.budget.budget[1] = 40;
    c.budget.budget[2] = 80;
    c.budget.budget[3] = 100;
    c.budget.l_max = 160;
    c.budget.alpha = 1.0f / 160.0f;
    c.budget.beta = 4.0f;
    c.n_rollouts = 8;
    c.batch_queries = 16;
    c.micro_batch = 32;
    c.adamw.lr = 1e-4f;
    c.adamw.weight_decay = 0.0f;
    c.temperature = 1.0f;
    c.seed = seed;
    return c;
}

/* Stage 2: SFT on mixed-verbosity solutions, lr decaying linearly to 10%. */
static int sft(hbpo_model *m, const hbpo_tokenizer *tok, const options *o) {
    enum { BATCH = 32 };
    hbpo_train_config tc = demo_train_config(o->seed);
    hbpo_adamw_config opt = hbpo_adamw_config_default();
    char q[BATCH][32], a[BATCH][8], sol[BATCH][HBPO_SYNTH_MAX_SOLUTION], suf[BATCH][96];
    const char *qs[BATCH], *ss[BATCH], *cs[BATCH];
    hbpo_rng rng;
    double t0 = hbpo_wall_time(), avg = 0;
    int s, b;
    hbpo_rng_seed(&rng, o->seed * 1000 + 17);
    opt.weight_decay = 0.0f;
    for (s = 0; s < o->sft_steps; s++) {
        float loss;
        for (b = 0; b < BATCH; b++) {
            int level = 1 + (int)(hbpo_rng_u32(&rng) % LEVELS), style = (int)(hbpo_rng_u32(&rng) % 3);
            int pick = (int)(hbpo_rng_u32(&rng) % 6), n;
            if (hbpo_synth_problem(&rng, level, q[b], sizeof q[b], a[b], sizeof a[b]) != 0) return -1;
            /* The prompt line after <think> is drawn independently of the
               style: the base model has seen budget and efficiency prompts
               but learned nothing from them (a big model would generalise
               to an unseen prompt; a tiny one from scratch would not). */
            n = pick < 4 ? hbpo_rollout_suffix(&tc, tc.budget.budget[pick], suf[b], sizeof suf[b])
                : snprintf(suf[b], sizeof suf[b], "%s", pick == 4 ? HBPO_EFFICIENCY_PROMPT "\n" : "");
            if (n < 0 || hbpo_synth_solution(q[b], style, &rng, sol[b], sizeof sol[b]) < 0) return -1;
            qs[b] = q[b];
            ss[b] = suf[b];
            cs[b] = sol[b];
        }
        opt.lr = 3e-3f * (1.0f - 0.9f * (float)s / (float)o->sft_steps);
        if (hbpo_sft_step(m, tok, HBPO_CHAT_CHATML, BATCH, qs, ss, cs, BATCH, &opt, &loss) != 0) return -1;
        avg = s ? 0.95 * avg + 0.05 * loss : loss;
        if ((s + 1) % 50 == 0 || s + 1 == o->sft_steps) {
            char extra[32];
            snprintf(extra, sizeof extra, "loss %.3f", avg);
            hbpo_progress("sft step", s + 1, o->sft_steps, t0, extra);
        }
    }
    return 0;
}

typedef struct { hbpo_eval_result natural, efficient; } eval_pair;

static int evaluate(hbpo_model *m, const hbpo_tokenizer *tok, const hbpo_dataset *test, eval_pair *r) {
    hbpo_sampler_config s = hbpo_sampler_config_default(); /* T 0.6, top-p 0.95 */
    s.max_new_tokens = 160;
    s.seed = 12345;
    if (hbpo_evaluate(m, tok, test, HBPO_CHAT_CHATML, "", &s, 256, &r->natural, NULL, NULL) != 0) return -1;
    return hbpo_evaluate(m, tok, test, HBPO_CHAT_CHATML, HBPO_EFFICIENCY_PROMPT "\n", &s, 256,
                         &r->efficient, NULL, NULL);
}

static void print_table(const eval_pair *base, const eval_pair *rl) {
    const eval_pair *e[2];
    const char *name[2] = {"base (SFT)", "HBPO"};
    int i, l;
    e[0] = base;
    e[1] = rl;
    printf("\n%-11s %-6s | %-22s | %-22s\n", "model", "level", "natural: acc   tokens", "efficient: acc  tokens");
    printf("------------------------------------------------------------------\n");
    for (i = 0; i < 2; i++) {
        for (l = 1; l <= LEVELS + 1; l++) {
            const hbpo_eval_bucket *n = l <= LEVELS ? &e[i]->natural.level[l] : &e[i]->natural.all;
            const hbpo_eval_bucket *f = l <= LEVELS ? &e[i]->efficient.level[l] : &e[i]->efficient.all;
            char lv[8];
            if (l <= LEVELS) snprintf(lv, sizeof lv, "%d", l); else snprintf(lv, sizeof lv, "all");
            printf("%-11s %-6s | %8.1f%% %10.1f  | %8.1f%% %10.1f\n", l == 1 ? name[i] : "", lv,
                   n->n ? 100.0 * n->correct / n->n : 0.0, n->n ? n->tokens / n->n : 0.0,
                   f->n ? 100.0 * f->correct / f->n : 0.0, f->n ? f->tokens / f->n : 0.0);
        }
    }
}

/* Mean tokens against level: base and HBPO, natural (solid) and efficient (dashed). */
static int write_svg(const char *path, const eval_pair *base, const eval_pair *rl) {
    FILE *f = fopen(path, "w");
    const hbpo_eval_result *series[4];
    const char *color[4] = {"#888888", "#888888", "#c0392b", "#c0392b"};
    const char *label[4] = {"base, natural", "base, efficient prompt", "HBPO, natural", "HBPO, efficient prompt"};
    double ymax = 10, W = 640, H = 400, L = 60, R = 200, T = 30, B = 50;
    int s, l;
    if (!f) return -1;
    series[0] = &base->natural; series[1] = &base->efficient;
    series[2] = &rl->natural; series[3] = &rl->efficient;
    for (s = 0; s < 4; s++)
        for (l = 1; l <= LEVELS; l++) {
            const hbpo_eval_bucket *b = &series[s]->level[l];
            if (b->n && b->tokens / b->n > ymax) ymax = b->tokens / b->n;
        }
    ymax = ((int)(ymax / 20) + 1) * 20;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" font-family=\"sans-serif\" font-size=\"12\">\n", W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%g\" y=\"18\" font-size=\"14\">Mean response tokens by difficulty (tiny HBPO demo)</text>\n", L);
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n", L, H - B, W - R, H - B);
    fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"black\"/>\n", L, T, L, H - B);
    for (l = 0; l <= 4; l++) {
        double y = H - B - (H - B - T) * l / 4.0;
        fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"end\">%.0f</text>\n", L - 6, y + 4, ymax * l / 4.0);
        fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"#eee\"/>\n", L, y, W - R, y);
    }
    for (l = 1; l <= LEVELS; l++) {
        double x = L + (W - R - L) * (l - 0.5) / LEVELS;
        fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">%d</text>\n", x, H - B + 18, l);
    }
    fprintf(f, "<text x=\"%g\" y=\"%g\" text-anchor=\"middle\">level (operations)</text>\n", (L + W - R) / 2, H - 12);
    fprintf(f, "<text x=\"16\" y=\"%g\" transform=\"rotate(-90 16 %g)\" text-anchor=\"middle\">tokens</text>\n", (H - B + T) / 2, (H - B + T) / 2);
    for (s = 0; s < 4; s++) {
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color[s],
                s % 2 ? " stroke-dasharray=\"6 4\"" : "");
        for (l = 1; l <= LEVELS; l++) {
            const hbpo_eval_bucket *b = &series[s]->level[l];
            double x = L + (W - R - L) * (l - 0.5) / LEVELS;
            double y = H - B - (H - B - T) * (b->n ? b->tokens / b->n : 0) / ymax;
            fprintf(f, "%.1f,%.1f ", x, y);
        }
        fprintf(f, "\"/>\n");
        fprintf(f, "<line x1=\"%g\" y1=\"%g\" x2=\"%g\" y2=\"%g\" stroke=\"%s\" stroke-width=\"2\"%s/>\n", W - R + 10,
                T + 20 + 20 * s, W - R + 40, T + 20 + 20 * s, color[s], s % 2 ? " stroke-dasharray=\"6 4\"" : "");
        fprintf(f, "<text x=\"%g\" y=\"%g\">%s</text>\n", W - R + 46, T + 24 + 20 * s, label[s]);
    }
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}

static int write_eval_json(const char *path, const eval_pair *base, const eval_pair *rl) {
    FILE *f = fopen(path, "w");
    char buf[8192];
    if (!f) return -1;
    fprintf(f, "{\"base\":{\"natural\":");
    hbpo_eval_json(&base->natural, buf, sizeof buf); fputs(buf, f);
    fprintf(f, ",\"efficient\":");
    hbpo_eval_json(&base->efficient, buf, sizeof buf); fputs(buf, f);
    fprintf(f, "},\"hbpo\":{\"natural\":");
    hbpo_eval_json(&rl->natural, buf, sizeof buf); fputs(buf, f);
    fprintf(f, ",\"efficient\":");
    hbpo_eval_json(&rl->efficient, buf, sizeof buf); fputs(buf, f);
    fprintf(f, "}}\n");
    return fclose(f) == 0 ? 0 : -1;
}

static int fail(const char *what) {
    fprintf(stderr, "tiny_hbpo: %s: %s\n", what, hbpo_last_error());
    return 1;
}

int main(int argc, char **argv) {
    options o;
    hbpo_model_config mc = hbpo_synth_model_config();
    hbpo_train_config tc;
    hbpo_model m;
    const hbpo_backend *be = NULL;
    hbpo_tokenizer *tok = NULL;
    hbpo_dataset train, test;
    hbpo_trainer t;
    eval_pair base, rl;
    char path[1024], sft_dir[1024];
    FILE *metrics;
    double t0 = hbpo_wall_time(), ts;
    int s, have_sft = 0;
    hbpo_program_start(argv); /* the right BLAS kernel; line-buffered progress */
    if (parse_options(argc, argv, &o) != 0) return 2;
    if (o.threads > 0) hbpo_set_threads(o.threads);
    {   /* cpu, cuda or cuda:N (hbpo_backend_named says when this build has no CUDA) */
        int cuda = !strncmp(o.device, "cuda", 4), dev = cuda && o.device[4] == ':' ? atoi(o.device + 5) : 0;
        if ((!cuda && strcmp(o.device, "cpu") != 0) || (cuda && o.device[4] && o.device[4] != ':')) {
            fprintf(stderr, "tiny_hbpo: --device '%s' must be cpu, cuda or cuda:N\n", o.device);
            return 2;
        }
        if (hbpo_backend_named(cuda ? "cuda" : "cpu", dev, &be) != 0) {
            fprintf(stderr, "tiny_hbpo: --device %s: %s\n", o.device, hbpo_last_error());
            return 2;
        }
    }
    memset(&train, 0, sizeof train);
    memset(&test, 0, sizeof test);
    if (hbpo_make_dir(o.out) != 0) return fail("output folder"); /* one level, like hbpo_model_save */
    hbpo_blas_describe(path, sizeof path);
    printf("hbpo %d.%d.%d tiny HBPO demo -> %s (backend: %s)\n%s\n", HBPO_VERSION_MAJOR,
           HBPO_VERSION_MINOR, HBPO_VERSION_PATCH, o.out, be->name, path);

    /* 1. the task and the byte tokenizer */
    snprintf(path, sizeof path, "%s/tokenizer.json", o.out);
    if (hbpo_tokenizer_write_bytes(path) != 0 || hbpo_tokenizer_load(&tok, path) != 0) return fail("tokenizer");
    if (hbpo_synth_dataset(&train, o.seed * 7919 + 1, 2000, 1, LEVELS) != 0 ||
        hbpo_synth_dataset(&test, o.seed * 7919 + 2, o.eval_n, 1, LEVELS) != 0)
        return fail("synthetic task");
    printf("[1/4] task: %d training and %d held-out problems, levels 1-%d, e.g. \"%s\" -> %s\n",
           train.n, test.n, LEVELS, test.items[LEVELS - 1].question, test.items[LEVELS - 1].answer);

    /* 2. the over-thinking base model (cached) */
    snprintf(sft_dir, sizeof sft_dir, "%s/sft", o.out);
    if (!o.fresh && hbpo_model_load(&m, sft_dir, be) == 0) {
        have_sft = 1;
        printf("[2/4] base model: loaded the cached SFT model from %s (--fresh retrains)\n", sft_dir);
    } else {
        if (hbpo_model_create(&m, &mc, be) != 0) return fail("model");
        hbpo_model_init_random(&m, o.seed);
        printf("[2/4] base model: %.2fM parameters, SFT for %d steps of 32 mixed-verbosity solutions\n",
               m.n_params / 1e6, o.sft_steps);
        ts = hbpo_wall_time();
        if (sft(&m, tok, &o) != 0) return fail("sft");
        if (hbpo_model_save(&m, sft_dir, HBPO_DTYPE_F32) != 0) return fail("save sft");
        printf("      SFT done in %.0fs, saved to %s\n", hbpo_wall_time() - ts, sft_dir);
    }
    (void)have_sft;
    ts = hbpo_wall_time();
    if (evaluate(&m, tok, &test, &base) != 0) return fail("evaluate base");
    printf("      evaluated the base model in %.0fs: accuracy %.1f%%, %.1f tokens per answer\n", hbpo_wall_time() - ts,
           100.0 * base.natural.all.correct / base.natural.all.n, base.natural.all.tokens / base.natural.all.n);

    /* 3. HBPO */
    tc = demo_train_config(o.seed);
    hbpo_model_reset_optimizer(&m); /* a fresh AdamW, whether SFT ran now or was cached */
    if (hbpo_trainer_init(&t, &tc, &m, tok, &train) != 0) return fail("trainer");
    snprintf(path, sizeof path, "%s/metrics.jsonl", o.out);
    metrics = fopen(path, "w");
    if (!metrics) { fprintf(stderr, "tiny_hbpo: cannot write %s\n", path); return 1; }
    printf("[3/4] HBPO: %d steps of %d queries x %d rollouts, budgets {20, 40, 80, 100}, L_max 160\n",
           o.rl_steps, tc.batch_queries, tc.n_rollouts);
    ts = hbpo_wall_time();
    for (s = 0; s < o.rl_steps; s++) {
        hbpo_step_metrics mt;
        char line[2048];
        if (hbpo_trainer_step(&t, &mt) != 0) return fail("hbpo step");
        hbpo_metrics_json(&mt, tc.budget.k, line, sizeof line);
        fprintf(metrics, "%s\n", line);
        fflush(metrics);
        snprintf(line, sizeof line, "reward %6.3f  acc %5.1f%%  tokens %5.1f [%4.1f %4.1f %4.1f %4.1f]",
                 mt.reward_mean, 100 * mt.accuracy, mt.ngen_mean, mt.ngen_sub[0], mt.ngen_sub[1],
                 mt.ngen_sub[2], mt.ngen_sub[3]);
        hbpo_progress("hbpo step", s + 1, o.rl_steps, ts, line);
    }
    fclose(metrics);
    snprintf(path, sizeof path, "%s/hbpo", o.out);
    if (hbpo_trainer_save(&t, path) != 0) return fail("save hbpo");

    /* 4. evaluation */
    ts = hbpo_wall_time();
    if (evaluate(&m, tok, &test, &rl) != 0) return fail("evaluate hbpo");
    printf("[4/4] evaluation (%d held-out problems per level, T 0.6, top-p 0.95), %.0fs:\n", o.eval_n, hbpo_wall_time() - ts);
    print_table(&base, &rl);
    snprintf(path, sizeof path, "%s/eval.json", o.out);
    if (write_eval_json(path, &base, &rl) != 0) fprintf(stderr, "tiny_hbpo: cannot write %s\n", path);
    snprintf(path, sizeof path, "%s/tokens_by_level.svg", o.out);
    if (write_svg(path, &base, &rl) != 0) fprintf(stderr, "tiny_hbpo: cannot write %s\n", path);
    printf("\nwrote %s/{metrics.jsonl, eval.json, tokens_by_level.svg}, models in %s/sft and %s/hbpo; total %.0fs\n",
           o.out, o.out, o.out, hbpo_wall_time() - t0);
    hbpo_trainer_free(&t);
    hbpo_model_free(&m);
    hbpo_tokenizer_free(tok);
    hbpo_dataset_free(&train);
    hbpo_dataset_free(&test);
    return 0;
}
