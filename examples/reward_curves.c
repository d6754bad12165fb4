/* reward_curves - HBPO's budget-aware reward as the paper defines it and as the
   released code (github ZJU-REAL/HBPO) computes it.

   It prints f2(b) for every budget, the lengths where adjacent budgets' reward
   curves cross (the paper's "learned complexity thresholds", Figure 3b) and the
   advantages of a worked group of 16 rollouts; it writes the curves as CSV and
   as an SVG plot.

       ./build/reward_curves --out build   summary; build/reward_curves.svg,
                                           build/reward_curves_{paper,official}.csv
       ./build/reward_curves --csv paper   the paper's curves as CSV on stdout
       ./build/reward_curves --diff        the numbers quoted in docs/paper-vs-code.md

   Every reward and advantage comes from hbpo.h; this file only tabulates and
   draws them, so what it shows is what the library computes. */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Indexed by HBPO_MODE_PAPER (0) and HBPO_MODE_OFFICIAL (1). */
static const char *const mode_key[2] = {"paper", "official"};
static const char *const mode_title[2] = {"paper", "released code"};

typedef struct {
    hbpo_budget_config cfg; /* budgets, L_max, alpha, beta (mode is set per use) */
    int show[2];            /* show[mode]: 1 when that mode is printed, written and drawn */
    const char *out_dir;    /* where the CSV and SVG files go */
    int csv_mode;           /* -1, or the mode whose CSV goes to stdout (and nothing else) */
    int diff;               /* 1: print the paper-vs-code worked numbers (and nothing else) */
} options;

static hbpo_budget_config with_mode(const hbpo_budget_config *c, int mode) {
    hbpo_budget_config m = *c;
    m.mode = mode;
    return m;
}

/* ------------------------------------------------------------------------- */
/* Command line                                                              */
/* ------------------------------------------------------------------------- */

static void usage(FILE *f) {
    fprintf(f,
            "usage: reward_curves [options]\n"
            "  HBPO's budget-aware reward in the paper's form and the released code's:\n"
            "  f2 per budget, crossings of adjacent budgets, a worked advantage table;\n"
            "  writes DIR/reward_curves.svg and DIR/reward_curves_{paper,official}.csv.\n"
            "options:\n"
            "  --mode paper|official|both  which reward to show and write (default both)\n"
            "  --budgets B1,B2,...         ascending token budgets (default 512,1024,2048,2560)\n"
            "  --lmax N                    L_max, the context length (default 4096)\n"
            "  --alpha X                   deviation penalty per token, a number or p/q\n"
            "                              (default 1/L_max, as in the paper)\n"
            "  --beta X                    cosine reward scale (default 4)\n"
            "  --out DIR                   directory for the SVG and CSV files (default .)\n"
            "  --csv paper|official        print that mode's curves as CSV on stdout, write nothing\n"
            "  --diff                      print the worked numbers of docs/paper-vs-code.md\n"
            "  --help                      this text\n"
            "exit status: 0 ok, 1 a file could not be written, 2 bad options\n");
}

static int parse_mode(const char *s, int *mode) {
    if (strcmp(s, "paper") == 0) *mode = HBPO_MODE_PAPER;
    else if (strcmp(s, "official") == 0) *mode = HBPO_MODE_OFFICIAL;
    else return -1;
    return 0;
}

/* A whole decimal int and nothing else. Range checks are the config check's job. */
static int parse_int(const char *s, int *out) {
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < INT_MIN || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

/* A real number, or p/q so that the paper's alpha = 1/4096 can be typed as such. */
static int parse_real(const char *s, float *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s) return -1;
    if (*end == '/') {
        const char *q = end + 1;
        double d = strtod(q, &end);
        if (end == q) return -1;
        v /= d;
    }
    if (*end) return -1;
    *out = (float)v;
    return 0;
}

/* "512,1024,2048,2560" into c->budget and c->k. */
static int parse_budgets(const char *s, hbpo_budget_config *c) {
    int k = 0;
    memset(c->budget, 0, sizeof c->budget);
    for (;;) {
        char *end;
        long v;
        if (k == HBPO_MAX_BUDGETS) return -1;
        errno = 0;
        v = strtol(s, &end, 10);
        if (end == s || errno || v < INT_MIN || v > INT_MAX) return -1;
        c->budget[k++] = (int)v;
        if (*end == 0) break;
        if (*end != ',') return -1;
        s = end + 1;
    }
    c->k = k;
    return 0;
}

static int bad_option(const char *flag, const char *value, const char *expected) {
    fprintf(stderr, "reward_curves: bad %s '%s': expected %s (try --help)\n", flag, value, expected);
    return -1;
}

/* Returns 0 to go on, 1 when --help was printed, -1 after printing what is wrong. */
static int parse_args(int argc, char **argv, options *o) {
    int i, alpha_set = 0, mode_both = 1, mode = 0;
    memset(o, 0, sizeof *o);
    o->cfg = hbpo_budget_config_default();
    o->out_dir = ".";
    o->csv_mode = -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(a, "--diff") == 0) {
            o->diff = 1;
            continue;
        }
        if (strcmp(a, "--mode") && strcmp(a, "--budgets") && strcmp(a, "--lmax") &&
            strcmp(a, "--alpha") && strcmp(a, "--beta") && strcmp(a, "--out") && strcmp(a, "--csv")) {
            fprintf(stderr, "reward_curves: unknown option '%s' (try --help)\n", a);
            return -1;
        }
        /* "--mode --out x" is a missing value, not the mode "--out". */
        if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0) {
            fprintf(stderr, "reward_curves: %s needs a value (try --help)\n", a);
            return -1;
        }
        v = argv[++i];
        if (strcmp(a, "--mode") == 0) {
            mode_both = strcmp(v, "both") == 0;
            if (!mode_both && parse_mode(v, &mode) != 0) return bad_option(a, v, "paper, official or both");
        } else if (strcmp(a, "--csv") == 0) {
            if (parse_mode(v, &o->csv_mode) != 0) return bad_option(a, v, "paper or official");
        } else if (strcmp(a, "--budgets") == 0) {
            if (parse_budgets(v, &o->cfg) != 0)
                return bad_option(a, v, "1 to 16 comma-separated integers like 512,1024,2048,2560");
        } else if (strcmp(a, "--lmax") == 0) {
            if (parse_int(v, &o->cfg.l_max) != 0) return bad_option(a, v, "an integer like 4096");
        } else if (strcmp(a, "--alpha") == 0) {
            if (parse_real(v, &o->cfg.alpha) != 0) return bad_option(a, v, "a number like 0.000244 or 1/4096");
            alpha_set = 1;
        } else if (strcmp(a, "--beta") == 0) {
            if (parse_real(v, &o->cfg.beta) != 0) return bad_option(a, v, "a number like 4");
        } else {
            o->out_dir = v;
        }
    }
    if (o->diff && o->csv_mode >= 0) {
        fprintf(stderr, "reward_curves: --diff and --csv each replace the summary; give one\n");
        return -1;
    }
    /* The paper defines alpha = 1/L_max, so a new L_max brings its own alpha. */
    if (!alpha_set && o->cfg.l_max > 0) o->cfg.alpha = 1.0f / (float)o->cfg.l_max;
    if (hbpo_budget_config_check(&o->cfg) != 0) {
        fprintf(stderr, "reward_curves: bad configuration: %s\n", hbpo_last_error());
        return -1;
    }
    o->show[HBPO_MODE_PAPER] = mode_both || mode == HBPO_MODE_PAPER;
    o->show[HBPO_MODE_OFFICIAL] = mode_both || mode == HBPO_MODE_OFFICIAL;
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Curves and crossings                                                      */
/* ------------------------------------------------------------------------- */

/* The reward of a correct answer of n tokens under budget b: the curve that is
   written and drawn. hbpo_reward also gives the 0 past L_max. */
static float curve(const hbpo_budget_config *c, int n, int b) {
    return hbpo_reward(c, HBPO_CORRECT, n, b);
}

/* Points written past L_max, enough to show the drop to 0 (16 at L_max 4096). */
static int tail_len(const hbpo_budget_config *c) {
    int t = c->l_max / 256;
    return t < 4 ? 4 : t;
}

/* The first integer n_gen where the smaller budget's curve drops below the
   larger's (above or level at n - 1, below at n), read off the curves
   themselves; -1 if it never does. A drop, not merely "below": with the
   released code's budget-3072 case a larger budget can start out above. */
static int first_int_below(const hbpo_budget_config *c, int b_lo, int b_hi) {
    int n, end = c->l_max + tail_len(c);
    for (n = 1; n <= end; n++)
        if (curve(c, n - 1, b_lo) >= curve(c, n - 1, b_hi) && curve(c, n, b_lo) < curve(c, n, b_hi))
            return n;
    return -1;
}

/* The real crossing x and the integer drop n agree when n is the first
   integer past x. Curves can meet exactly at an integer (two f1 branches meet
   half-way between their budgets), where bisection lands a hair either side
   of it, hence the 1e-6. */
static int crossings_agree(double x, int n) {
    if (x < 0 || n < 0) return x < 0 && n < 0;
    return n == (int)floor(x + 1e-6) + 1;
}

/* The n_gen below b where the released code's min(f1, f2) switches from f1 to
   f2 (f1 < f2 before it; b when f1 < f2 everywhere below b), or -1 when
   f1 >= f2 from n_gen = 0 on. A scan, then bisection, on the library's f1, f2. */
static double official_switch(const hbpo_budget_config *off, int b) {
    double lo, hi, f2 = hbpo_reward_f2(off, b);
    int n, it;
    for (n = 0; n < b && hbpo_reward_f1(off, n, b) < f2; n++) {}
    if (n == 0) return -1.0;
    if (n >= b) return b; /* f1 < f2 all the way up to the budget */
    lo = n - 1;
    hi = n;
    for (it = 0; it < 60; it++) {
        double mid = 0.5 * (lo + hi);
        if (hbpo_reward_f1(off, mid, b) < f2) lo = mid;
        else hi = mid;
    }
    return 0.5 * (lo + hi);
}

static void print_alpha(FILE *f, const hbpo_budget_config *c) {
    fprintf(f, "%.9g", (double)c->alpha);
    /* Show the paper's 1/L_max form when that is what it is. */
    if (fabs((double)c->alpha * c->l_max - 1.0) < 1e-6) fprintf(f, " (1/%d)", c->l_max);
}

static void print_config(const hbpo_budget_config *c) {
    int i;
    printf("config: budgets ");
    for (i = 0; i < c->k; i++) printf("%s%d", i ? "," : "", c->budget[i]);
    printf("  L_max %d  alpha ", c->l_max);
    print_alpha(stdout, c);
    printf("  beta %g\n", (double)c->beta);
}

static void print_f2(const options *o) {
    int i, m;
    printf("\nf2(b) = beta*cos(pi*b/(2*L_max)): what a correct answer within budget b earns\n");
    printf("  budget");
    for (m = 0; m < 2; m++)
        if (o->show[m]) printf("  %14s", mode_title[m]);
    printf("\n");
    for (i = 0; i < o->cfg.k; i++) {
        printf("  %6d", o->cfg.budget[i]);
        for (m = 0; m < 2; m++) {
            hbpo_budget_config c = with_mode(&o->cfg, m);
            if (o->show[m]) printf("  %14.6f", hbpo_reward_f2(&c, o->cfg.budget[i]));
        }
        printf("\n");
    }
}

/* The real crossing from hbpo_budget_crossing and the first integer below it
   from the curves: they agree when that integer is floor(crossing) + 1. */
static void print_crossings(const options *o) {
    int i, m;
    printf("\ncrossings of adjacent budgets (the learned complexity thresholds, Figure 3b):\n");
    printf("where the smaller budget's reward falls to the larger budget's\n");
    if (o->cfg.k < 2) {
        printf("  none: a single budget has no neighbour\n");
        return;
    }
    printf("  %-14s %11s  %13s  %20s\n", "mode", "budgets", "real n_gen", "first integer below");
    for (m = 0; m < 2; m++) {
        hbpo_budget_config c = with_mode(&o->cfg, m);
        if (!o->show[m]) continue;
        for (i = 0; i + 1 < c.k; i++) {
            int lo = c.budget[i], hi = c.budget[i + 1], n = first_int_below(&c, lo, hi);
            double x = hbpo_budget_crossing(&c, lo, hi);
            char pair[32];
            snprintf(pair, sizeof pair, "%d|%d", lo, hi);
            printf("  %-14s %11s  ", mode_title[m], pair);
            if (x >= 0) printf("%13.4f", x);
            else printf("%13s", "none");
            if (n >= 0) printf("  %20d", n);
            else printf("  %20s", "none");
            if (crossings_agree(x, n)) printf("  agree\n");
            else printf("  DISAGREE\n");
        }
    }
}

static void write_csv(FILE *f, const hbpo_budget_config *c) {
    int i, n, end = c->l_max + tail_len(c);
    fprintf(f, "n_gen");
    for (i = 0; i < c->k; i++) fprintf(f, ",b%d", c->budget[i]);
    fprintf(f, "\n");
    for (n = 0; n <= end; n++) {
        fprintf(f, "%d", n);
        for (i = 0; i < c->k; i++) fprintf(f, ",%.6f", (double)curve(c, n, c->budget[i]));
        fprintf(f, "\n");
    }
}

/* ------------------------------------------------------------------------- */
/* The worked group                                                          */
/* ------------------------------------------------------------------------- */

/* One easy query (a GSM8K-like word problem), 4 rollouts per budget. The
   lengths are given for the paper's budgets and scaled to other budgets, so
   the story survives --budgets. */
static const int story_budget[4] = {512, 1024, 2048, 2560};
static const int story[4][4][2] = { /* {outcome, n_gen} */
    /* b = 512: the problem fits easily; one rollout slips */
    {{HBPO_CORRECT, 290}, {HBPO_CORRECT, 405}, {HBPO_WRONG, 470}, {HBPO_CORRECT, 498}},
    /* b = 1024: right, except one that rambles on and never writes a \boxed answer */
    {{HBPO_CORRECT, 612}, {HBPO_CORRECT, 847}, {HBPO_NO_ANSWER, 1190}, {HBPO_CORRECT, 979}},
    /* b = 2048: all right, one runs past its budget */
    {{HBPO_CORRECT, 1233}, {HBPO_CORRECT, 1502}, {HBPO_CORRECT, 2310}, {HBPO_CORRECT, 1876}},
    /* b = 2560: the long budget invites second-guessing, and one overthinks into a wrong answer */
    {{HBPO_CORRECT, 1388}, {HBPO_CORRECT, 2064}, {HBPO_CORRECT, 2417}, {HBPO_WRONG, 3120}},
};

#define GROUP_MAX (4 * HBPO_MAX_BUDGETS)

typedef struct {
    int n;                     /* rollouts: 4 per budget */
    int budget[GROUP_MAX];     /* b of each rollout */
    int outcome[GROUP_MAX];    /* HBPO_CORRECT, HBPO_WRONG, HBPO_NO_ANSWER */
    int n_gen[GROUP_MAX];      /* generated tokens */
    float reward[GROUP_MAX];   /* hbpo_reward */
    double a_intra[GROUP_MAX]; /* hbpo_intra_advantage of the rollout's subgroup */
    float a_inter[GROUP_MAX];  /* hbpo_grpo_advantages */
    float adv[GROUP_MAX];      /* hbpo_advantages: the advantage HBPO trains with */
} group;

/* Subgroup i of the config gets row i % 4 of the story, scaled to its budget. */
static void group_make(const hbpo_budget_config *c, group *g) {
    int i, r;
    memset(g, 0, sizeof *g);
    for (i = 0; i < c->k; i++) {
        const int (*row)[2] = story[i % 4];
        double scale = (double)c->budget[i] / story_budget[i % 4];
        for (r = 0; r < 4; r++, g->n++) {
            g->budget[g->n] = c->budget[i];
            g->outcome[g->n] = row[r][0];
            g->n_gen[g->n] = (int)floor(row[r][1] * scale + 0.5);
        }
    }
}

static void group_advantages(const hbpo_budget_config *c, group *g) {
    int j;
    for (j = 0; j < g->n; j++) g->reward[j] = hbpo_reward(c, g->outcome[j], g->n_gen[j], g->budget[j]);
    hbpo_grpo_advantages(g->n, g->reward, g->a_inter);
    hbpo_advantages(c, g->n, g->reward, g->budget, g->adv);
    for (j = 0; j < g->n; j++)
        g->a_intra[j] = hbpo_intra_advantage(c, g->n, g->reward, g->budget, g->budget[j]);
}

static const char *outcome_name(int outcome) {
    return outcome == HBPO_CORRECT ? "correct" : outcome == HBPO_WRONG ? "wrong" : "no \\boxed";
}

/* The intra term's weight in A: 1 in the paper, 2 in the released code. */
static double intra_weight(int mode) { return mode == HBPO_MODE_OFFICIAL ? 2.0 : 1.0; }

static void print_group(const options *o, int mode) {
    hbpo_budget_config c = with_mode(&o->cfg, mode);
    group g;
    double worst = 0.0;
    int j;
    group_make(&c, &g);
    group_advantages(&c, &g);
    printf("\nworked group, %s: one easy query, n = %d rollouts in %d subgroups of 4, A = %s\n",
           mode_title[mode], g.n, c.k,
           mode == HBPO_MODE_OFFICIAL ? "A_inter + 2*A_intra" : "A_intra + A_inter");
    printf("  %7s %6s  %-10s %6s %9s %9s %9s %9s\n", "rollout", "budget", "outcome", "n_gen",
           "reward", "A_intra", "A_inter", "A");
    for (j = 0; j < g.n; j++) {
        double d = fabs(g.adv[j] - (g.a_inter[j] + intra_weight(mode) * g.a_intra[j]));
        if (d > worst) worst = d;
        printf("  %7d %6d  %-10s %6d %9.4f %9.4f %9.4f %9.4f\n", j + 1, g.budget[j],
               outcome_name(g.outcome[j]), g.n_gen[j], (double)g.reward[j], g.a_intra[j],
               (double)g.a_inter[j], (double)g.adv[j]);
    }
    /* A comes from hbpo_advantages, the parts from hbpo_intra_advantage and
       hbpo_grpo_advantages; saying they add up checks the library's sum. */
    printf("  A from hbpo_advantages equals A_inter + %g*A_intra to %.1e\n", intra_weight(mode), worst);
}

/* ------------------------------------------------------------------------- */
/* SVG plot                                                                  */
/* ------------------------------------------------------------------------- */

/* Okabe-Ito colours: distinguishable with the common colour-vision deficiencies. */
static const char *const palette[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00",
                                      "#CC79A7", "#56B4E9", "#999933", "#000000"};
#define PALETTE_N (int)(sizeof palette / sizeof palette[0])

typedef struct {
    double x0, x1, y0, y1;             /* data range: n_gen and reward */
    double left, right, top, bottom;   /* plot area in SVG pixels */
} frame;

static double px(const frame *f, double x) { return f->left + (x - f->x0) / (f->x1 - f->x0) * (f->right - f->left); }
static double py(const frame *f, double y) { return f->bottom - (y - f->y0) / (f->y1 - f->y0) * (f->bottom - f->top); }

/* A 1, 2, 2.5 or 5 times a power of ten giving about `target` ticks over range. */
static double nice_step(double range, int target) {
    double raw = range / target, mag = pow(10.0, floor(log10(raw))), f = raw / mag;
    return mag * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10);
}

/* The last n_gen drawn: a little past L_max so the drop to 0 shows. */
static int plot_end(const hbpo_budget_config *c) { return c->l_max + c->l_max / 16 + 1; }

/* Curves are drawn through every `step`-th n_gen plus the points where they
   bend sharply (each budget, L_max and L_max + 1), which keeps the file small
   without cutting corners. Returns the next sample after n, or -1 at the end. */
static int next_sample(const hbpo_budget_config *c, int n) {
    int step = c->l_max / 512 > 0 ? c->l_max / 512 : 1, next = n - n % step + step, i;
    int end = plot_end(c);
    for (i = 0; i < c->k; i++)
        if (c->budget[i] > n && c->budget[i] < next) next = c->budget[i];
    if (c->l_max > n && c->l_max < next) next = c->l_max;
    if (c->l_max + 1 > n && c->l_max + 1 < next) next = c->l_max + 1;
    if (n >= end) return -1;
    return next > end ? end : next;
}

static void reward_range(const options *o, double *lo, double *hi) {
    int m, i, n;
    *lo = 0.0;
    *hi = 0.0;
    for (m = 0; m < 2; m++) {
        hbpo_budget_config c = with_mode(&o->cfg, m);
        if (!o->show[m]) continue;
        for (i = 0; i < c.k; i++)
            for (n = 0; n >= 0; n = next_sample(&c, n)) {
                double r = curve(&c, n, c.budget[i]);
                if (r < *lo) *lo = r;
                if (r > *hi) *hi = r;
            }
    }
}

static void svg_axes(FILE *f, const frame *fr, double xstep, double ystep) {
    double v;
    fprintf(f, "<g font-size=\"12\" fill=\"#333\">\n");
    for (v = ceil(fr->x0 / xstep) * xstep; v <= fr->x1 + 1e-9; v += xstep) {
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e6e6e6\"/>\n",
                px(fr, v), fr->top, px(fr, v), fr->bottom);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", px(fr, v),
                fr->bottom + 18, v);
    }
    for (v = ceil(fr->y0 / ystep - 1e-9) * ystep; v <= fr->y1 + 1e-9; v += ystep) {
        /* The zero line is darker: rewards below it are penalties. */
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                fr->left, py(fr, v), fr->right, py(fr, v), fabs(v) < 1e-9 ? "#999" : "#e6e6e6");
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", fr->left - 8,
                py(fr, v) + 4, fabs(v) < 1e-9 ? 0.0 : v);
    }
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n",
            fr->left, fr->top, fr->right - fr->left, fr->bottom - fr->top);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" font-size=\"14\">"
               "generated tokens n_gen</text>\n", 0.5 * (fr->left + fr->right), fr->bottom + 42);
    fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\" "
               "font-size=\"14\">reward of a correct answer</text>\n",
            fr->left - 48, 0.5 * (fr->top + fr->bottom));
    fprintf(f, "</g>\n");
}

/* Paper curves are wide and pale, released-code curves thin and dashed on top,
   so both read where they coincide and the gaps show where they differ. */
static void svg_style(FILE *f, int mode, int both) {
    if (mode == HBPO_MODE_PAPER) fprintf(f, "stroke-width=\"%s\"", both ? "3.2\" stroke-opacity=\"0.45" : "2.2");
    else fprintf(f, "stroke-width=\"1.8\" stroke-dasharray=\"7 4\"");
}

static void svg_curves(FILE *f, const frame *fr, const options *o) {
    int m, i, n, both = o->show[0] && o->show[1];
    for (m = 0; m < 2; m++) {
        hbpo_budget_config c = with_mode(&o->cfg, m);
        if (!o->show[m]) continue;
        for (i = 0; i < c.k; i++) {
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-linejoin=\"round\" ", palette[i % PALETTE_N]);
            svg_style(f, m, both);
            fprintf(f, " points=\"");
            for (n = 0; n >= 0; n = next_sample(&c, n))
                fprintf(f, "%.1f,%.1f ", px(fr, n), py(fr, curve(&c, n, c.budget[i])));
            fprintf(f, "\"/>\n");
        }
    }
}

/* Dotted verticals at the crossings, labelled at the top; L_max dash-dotted.
   A crossing that the other mode already labelled (they differ by under a
   token) gets no second label; labels that would overlap go one row down. */
static void svg_markers(FILE *f, const frame *fr, const options *o) {
    double lab_x[2 * HBPO_MAX_BUDGETS];
    int lab_row[2 * HBPO_MAX_BUDGETS], lab_pair[2 * HBPO_MAX_BUDGETS], n_lab = 0, m, i, l;
    fprintf(f, "<g font-size=\"11\" fill=\"#444\" text-anchor=\"middle\">\n");
    for (m = 0; m < 2; m++) {
        hbpo_budget_config c = with_mode(&o->cfg, m);
        if (!o->show[m]) continue;
        for (i = 0; i + 1 < c.k; i++) {
            double x = hbpo_budget_crossing(&c, c.budget[i], c.budget[i + 1]), X = px(fr, x);
            int row = 0, same = -1;
            if (x < 0) continue;
            for (l = 0; l < n_lab; l++) {
                if (lab_pair[l] == i && fabs(lab_x[l] - X) < 3) same = l;
                else if (fabs(lab_x[l] - X) < 64 && lab_row[l] == row) row = 1;
            }
            if (same >= 0) {
                row = lab_row[same];
            } else {
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%d|%d</text>\n", X, fr->top + 14 + 26 * row,
                        c.budget[i], c.budget[i + 1]);
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">n&#8776;%.0f</text>\n", X, fr->top + 27 + 26 * row, x);
                lab_x[n_lab] = X;
                lab_row[n_lab] = row;
                lab_pair[n_lab++] = i;
            }
            /* Starts below its label so the text stays clean. */
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" "
                       "stroke-width=\"1.2\" stroke-dasharray=\"1.5 3.5\"/>\n",
                    X, fr->top + 33 + 26 * row, X, fr->bottom);
        }
    }
    if (o->show[HBPO_MODE_OFFICIAL]) {
        /* The one place the two rewards visibly part: name it (white halo over the grid). */
        hbpo_budget_config off = with_mode(&o->cfg, HBPO_MODE_OFFICIAL);
        double sw = official_switch(&off, off.budget[0]);
        if (sw > 0)
            fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"start\" stroke=\"white\" "
                       "stroke-width=\"4\" paint-order=\"stroke\">released code, b = %d: "
                       "min(f1, f2) = f1 &lt; f2 below n &#8776; %.0f</text>\n",
                    px(fr, 0) + 6, py(fr, curve(&off, 0, off.budget[0])) - 12, off.budget[0], sw);
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" "
               "stroke-dasharray=\"8 3 2 3\"/>\n",
            px(fr, o->cfg.l_max), fr->top, px(fr, o->cfg.l_max), fr->bottom);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">L_max</text>\n", px(fr, o->cfg.l_max) - 4,
            fr->top + 14);
    fprintf(f, "</g>\n");
}

static void svg_legend_line(FILE *f, double x, double y, const char *colour, int mode, int both,
                            const char *label) {
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" ", x, y, x + 30, y, colour);
    if (mode >= 0) svg_style(f, mode, both);
    else fprintf(f, "stroke-width=\"1.2\" stroke-dasharray=\"1.5 3.5\"");
    fprintf(f, "/>\n<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x + 38, y + 4, label);
}

/* Bottom left of the plot: short answers never earn little, so it is empty. */
static void svg_legend(FILE *f, const frame *fr, const options *o) {
    int i, m, both = o->show[0] && o->show[1];
    int rows = o->cfg.k + o->show[0] + o->show[1] + 1;
    double x = fr->left + 14, y = fr->bottom - 14 - 18.0 * rows, w = 292;
    char label[64];
    fprintf(f, "<g font-size=\"12\" fill=\"#222\">\n");
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" "
               "fill-opacity=\"0.9\" stroke=\"#bbb\"/>\n", x - 8, y - 14, w, 18.0 * rows + 10);
    for (i = 0; i < o->cfg.k; i++) {
        snprintf(label, sizeof label, "budget b = %d", o->cfg.budget[i]);
        svg_legend_line(f, x, y, palette[i % PALETTE_N], both ? HBPO_MODE_PAPER : (o->show[0] ? 0 : 1), 0, label);
        y += 18;
    }
    for (m = 0; m < 2; m++) {
        if (!o->show[m]) continue;
        svg_legend_line(f, x, y, "#333", m, both,
                        m == HBPO_MODE_PAPER ? "paper: f2 inside the budget, f1 beyond"
                                             : "released code: min(f1, f2), &#960; = 3.1416");
        y += 18;
    }
    svg_legend_line(f, x, y, "#555", -1, both, "crossing of adjacent budgets");
    fprintf(f, "</g>\n");
}

static void write_svg(FILE *f, const options *o) {
    const double W = 960, H = 600;
    frame fr;
    double lo, hi, ystep, xstep;
    char alpha[64];
    reward_range(o, &lo, &hi);
    ystep = nice_step(hi - lo, 6);
    fr.x0 = 0;
    fr.x1 = plot_end(&o->cfg);
    fr.y0 = floor(lo / ystep) * ystep;
    fr.y1 = ceil(hi / ystep) * ystep;
    /* Room above the highest curve for the crossing labels. */
    if (fr.y1 - hi < 0.12 * (fr.y1 - fr.y0)) fr.y1 += ystep;
    fr.left = 84;
    fr.right = W - 28;
    fr.top = 72;
    fr.bottom = H - 64;
    xstep = nice_step(fr.x1 - fr.x0, 9);
    if (fabs((double)o->cfg.alpha * o->cfg.l_max - 1.0) < 1e-6) snprintf(alpha, sizeof alpha, "1/%d", o->cfg.l_max);
    else snprintf(alpha, sizeof alpha, "%g", (double)o->cfg.alpha);

    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%g\" height=\"%g\" viewBox=\"0 0 %g %g\" "
               "font-family=\"Helvetica, Arial, sans-serif\">\n", W, H, W, H);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"%.1f\" y=\"30\" font-size=\"17\" font-weight=\"bold\" fill=\"#222\">"
               "HBPO budget-aware reward (Eq. reward_intra)</text>\n", fr.left);
    fprintf(f, "<text x=\"%.1f\" y=\"52\" font-size=\"13\" fill=\"#444\">L_max = %d, &#945; = %s, "
               "&#946; = %g; a wrong answer or one past L_max earns 0</text>\n",
            fr.left, o->cfg.l_max, alpha, (double)o->cfg.beta);
    svg_axes(f, &fr, xstep, ystep);
    svg_markers(f, &fr, o);
    svg_curves(f, &fr, o);
    svg_legend(f, &fr, o);
    fprintf(f, "</svg>\n");
}

/* ------------------------------------------------------------------------- */
/* Files                                                                     */
/* ------------------------------------------------------------------------- */

/* Writes DIR/name with `emit`; on failure prints the path and the reason. */
static int write_file(const options *o, const char *name, int mode,
                      void (*emit)(FILE *, const options *, int)) {
    char path[4096];
    FILE *f;
    int bad;
    if (snprintf(path, sizeof path, "%s/%s", o->out_dir, name) >= (int)sizeof path) {
        fprintf(stderr, "reward_curves: cannot write %s/%s: path too long\n", o->out_dir, name);
        return -1;
    }
    f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "reward_curves: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    emit(f, o, mode);
    bad = ferror(f);
    /* fclose flushes, so a full disk shows up here. */
    if (fclose(f) != 0 || bad) {
        fprintf(stderr, "reward_curves: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    printf("wrote %s\n", path);
    return 0;
}

static void emit_csv(FILE *f, const options *o, int mode) {
    hbpo_budget_config c = with_mode(&o->cfg, mode);
    write_csv(f, &c);
}

static void emit_svg(FILE *f, const options *o, int mode) {
    (void)mode;
    write_svg(f, o);
}

/* ------------------------------------------------------------------------- */
/* --diff: the worked numbers of docs/paper-vs-code.md                       */
/* ------------------------------------------------------------------------- */

/* The diff tables of correct-answer rewards use hbpo_reward_correct (double),
   so that gaps smaller than a float's last bit still show. */
static void diff_reward_row(const hbpo_budget_config *pap, const hbpo_budget_config *off, int n, int b) {
    double rp = hbpo_reward_correct(pap, n, b), ro = hbpo_reward_correct(off, n, b);
    printf("   %6d %10.6f %10.6f %10.6f\n", n, rp, ro, rp - ro);
}

static void diff_inside_budget(const hbpo_budget_config *pap, const hbpo_budget_config *off) {
    static const int at[] = {0, 200, 300, 400};
    int b = pap->budget[0], i, n;
    double sw = official_switch(off, b);
    printf("1. reward inside the budget (correct answer, b = %d)\n", b);
    printf("   %6s %10s %10s %10s\n", "n_gen", "paper", "released", "gap");
    for (i = 0; i < (int)(sizeof at / sizeof at[0]); i++)
        if (at[i] < b) diff_reward_row(pap, off, at[i], b);
    diff_reward_row(pap, off, b, b);
    if (sw >= 0) printf("   released: min(f1, f2) = f1 < f2 for n_gen < %.2f, = f2 from there to b\n", sw);
    else printf("   released: min(f1, f2) = f2 for every n_gen <= b\n");
    printf("   largest |released - paper| over n_gen = 0..b:");
    for (i = 0; i < pap->k; i++) {
        double worst = 0.0;
        b = pap->budget[i];
        for (n = 0; n <= b; n++) {
            double d = fabs(hbpo_reward_correct(pap, n, b) - hbpo_reward_correct(off, n, b));
            if (d > worst) worst = d;
        }
        printf("%s b=%d %.2e", i ? "," : "", b, worst);
    }
    printf("\n");
}

static void diff_pi(const hbpo_budget_config *pap, const hbpo_budget_config *off) {
    int i;
    printf("2. pi = 3.1416 in the released code (3.1416 - pi = %.2e)\n", 3.1416 - 3.14159265358979323846);
    printf("   %6s %12s %12s %12s\n", "b", "f2 paper", "f2 released", "difference");
    for (i = 0; i < pap->k; i++) {
        int b = pap->budget[i];
        printf("   %6d %12.7f %12.7f %12.2e\n", b, hbpo_reward_f2(pap, b), hbpo_reward_f2(off, b),
               hbpo_reward_f2(off, b) - hbpo_reward_f2(pap, b));
    }
    /* At n = L_max the cosine should be 0; 3.1416 > pi makes it slightly
       negative. f1 with b = n has no deviation term: it is the bare cosine. */
    printf("   cosine at n_gen = L_max (no budget): paper %.3e, released (before rounding) %.3e\n",
           hbpo_reward_f1(pap, pap->l_max, pap->l_max), hbpo_reward_f1(off, off->l_max, off->l_max));
    printf("   crossings (paper -> released):");
    for (i = 0; i + 1 < pap->k; i++) {
        int lo = pap->budget[i], hi = pap->budget[i + 1];
        printf("%s %d|%d %.4f -> %.4f", i ? "," : "", lo, hi, hbpo_budget_crossing(pap, lo, hi),
               hbpo_budget_crossing(off, lo, hi));
    }
    printf("\n");
}

static void diff_no_box(const hbpo_budget_config *pap, const hbpo_budget_config *off) {
    int b = pap->budget[1 % pap->k];
    printf("3. no \\boxed answer (n_gen = 900, b = %d)\n", b);
    printf("   no \\boxed: paper %g, released %g;  wrong answer: paper %g, released %g\n",
           (double)hbpo_reward(pap, HBPO_NO_ANSWER, 900, b), (double)hbpo_reward(off, HBPO_NO_ANSWER, 900, b),
           (double)hbpo_reward(pap, HBPO_WRONG, 900, b), (double)hbpo_reward(off, HBPO_WRONG, 900, b));
}

static void diff_prompt(const hbpo_budget_config *pap) {
    char p[128], r[128];
    int b = pap->budget[1 % pap->k];
    hbpo_budget_prompt(HBPO_MODE_PAPER, b, p, sizeof p);
    hbpo_budget_prompt(HBPO_MODE_OFFICIAL, b, r, sizeof r);
    printf("4. budget prompt (b = %d)\n   paper:    \"%s\"\n   released: \"%s\"\n", b, p, r);
}

/* Rollout `j` (0-based) of the worked group in both modes, plus the released
   weighting applied to the paper's own rewards, which isolates the weighting. */
static void diff_advantage(const hbpo_budget_config *pap, const hbpo_budget_config *off, int j) {
    group gp, go;
    group_make(pap, &gp);
    group_make(off, &go);
    group_advantages(pap, &gp);
    group_advantages(off, &go);
    printf("5. advantage of rollout %d of the worked group (b = %d, %s, %d tokens)\n", j + 1, gp.budget[j],
           outcome_name(gp.outcome[j]), gp.n_gen[j]);
    printf("   paper:    A_intra + A_inter   = %.4f + %.4f = %.4f\n", gp.a_intra[j], (double)gp.a_inter[j],
           (double)gp.adv[j]);
    printf("   released: A_inter + 2*A_intra = %.4f + 2*(%.4f) = %.4f\n", (double)go.a_inter[j], go.a_intra[j],
           (double)go.adv[j]);
    printf("   paper rewards, released weighting: %.4f + 2*(%.4f) = %.4f\n", (double)gp.a_inter[j],
           gp.a_intra[j], gp.a_inter[j] + 2.0 * gp.a_intra[j]);
}

/* The std convention: hbpo (both modes) uses the unbiased std plus 1e-6. The
   population std is computed here only to show what the other reading gives. */
static void diff_std(const hbpo_budget_config *pap, int j) {
    group g;
    double mean = 0.0, ss = 0.0, s_unb, s_pop;
    float flat[4] = {2.5f, 2.5f, 2.5f, 2.5f}, flat_adv[4];
    int i;
    group_make(pap, &g);
    group_advantages(pap, &g);
    for (i = 0; i < g.n; i++) mean += g.reward[i];
    mean /= g.n;
    for (i = 0; i < g.n; i++) ss += (g.reward[i] - mean) * (g.reward[i] - mean);
    s_unb = sqrt(ss / (g.n - 1));
    s_pop = sqrt(ss / g.n);
    hbpo_grpo_advantages(4, flat, flat_adv);
    printf("6. std in A_inter (worked group, paper rewards: mean %.4f)\n", mean);
    printf("   unbiased std %.4f (hbpo, both modes), population std %.4f\n", s_unb, s_pop);
    printf("   A_inter of rollout %d: %.4f with (std_unbiased + 1e-6), %.4f with std_population\n", j + 1,
           (double)g.a_inter[j], (g.reward[j] - mean) / s_pop);
    printf("   the population std scales A_inter by sqrt(n/(n-1)) = %.4f\n", sqrt((double)g.n / (g.n - 1)));
    printf("   four equal rewards: A_inter = %g (std 0: the 1e-6 keeps 0/0 away)\n", (double)flat_adv[0]);
}

static void diff_3072(const hbpo_budget_config *pap, const hbpo_budget_config *off) {
    static const int at[] = {1000, 2000, 3500};
    int i;
    printf("7. budget 3072 (correct answer; the released code has no budget penalty for it)\n");
    printf("   %6s %10s %10s\n", "n_gen", "paper", "released");
    for (i = 0; i < 3; i++)
        printf("   %6d %10.6f %10.6f\n", at[i], hbpo_reward_correct(pap, at[i], 3072), hbpo_reward_correct(off, at[i], 3072));
}

static void diff_no_budget(const hbpo_budget_config *pap, const hbpo_budget_config *off) {
    printf("8. no budget (budget <= 0, the cosine baseline), correct answer\n");
    printf("   n_gen = 1000: paper %.6f, released %.6f\n", hbpo_reward_correct(pap, 1000, 0),
           hbpo_reward_correct(off, 1000, 0));
}

static void diff_single(const hbpo_budget_config *pap, const hbpo_budget_config *off) {
    /* Over its budget, so that the paper's A_intra is not 0. */
    int b = pap->budget[0], n = b + b / 2;
    float rp = hbpo_reward(pap, HBPO_CORRECT, n, b), ro = hbpo_reward(off, HBPO_CORRECT, n, b), ap, ao;
    hbpo_advantages(pap, 1, &rp, &b, &ap);
    hbpo_advantages(off, 1, &ro, &b, &ao);
    printf("9. a group of one rollout (correct, b = %d, %d tokens)\n", b, n);
    printf("   paper:    reward %.4f, A = A_intra + 0 = %.4f\n", (double)rp, (double)ap);
    printf("   released: reward %.4f, A = R/(1 + 1e-6) = %.4f\n", (double)ro, (double)ao);
}

static void print_diff(const options *o) {
    hbpo_budget_config pap = with_mode(&o->cfg, HBPO_MODE_PAPER);
    hbpo_budget_config off = with_mode(&o->cfg, HBPO_MODE_OFFICIAL);
    /* Rollout 6: b = 1024, correct, in the subgroup holding the no-\boxed rollout. */
    int j = 5 < 4 * o->cfg.k ? 5 : 0;
    printf("hbpo paper-vs-code worked numbers (hbpo %d.%d.%d)\n", HBPO_VERSION_MAJOR, HBPO_VERSION_MINOR,
           HBPO_VERSION_PATCH);
    print_config(&o->cfg);
    diff_inside_budget(&pap, &off);
    diff_pi(&pap, &off);
    diff_no_box(&pap, &off);
    diff_prompt(&pap);
    diff_advantage(&pap, &off, j);
    diff_std(&pap, j);
    diff_3072(&pap, &off);
    diff_no_budget(&pap, &off);
    diff_single(&pap, &off);
}

/* ------------------------------------------------------------------------- */

/* 0, or 1 after a message when stdout could not be written (a full disk or a
   closed pipe would otherwise pass for success). */
static int stdout_ok(void) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "reward_curves: cannot write standard output: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    options o;
    int m, rc = parse_args(argc, argv, &o);
    if (rc != 0) return rc > 0 ? 0 : 2;
    if (o.csv_mode >= 0) {
        hbpo_budget_config c = with_mode(&o.cfg, o.csv_mode);
        write_csv(stdout, &c);
        return stdout_ok();
    }
    if (o.diff) {
        print_diff(&o);
        return stdout_ok();
    }
    printf("HBPO reward curves (hbpo %d.%d.%d): the reward of a correct answer, Eq. reward_intra\n",
           HBPO_VERSION_MAJOR, HBPO_VERSION_MINOR, HBPO_VERSION_PATCH);
    print_config(&o.cfg);
    print_f2(&o);
    print_crossings(&o);
    for (m = 0; m < 2; m++)
        if (o.show[m]) print_group(&o, m);
    printf("\n");
    for (m = 0; m < 2; m++) {
        char name[64];
        if (!o.show[m]) continue;
        snprintf(name, sizeof name, "reward_curves_%s.csv", mode_key[m]);
        if (write_file(&o, name, m, emit_csv) != 0) return 1;
    }
    if (write_file(&o, "reward_curves.svg", 0, emit_svg) != 0) return 1;
    return stdout_ok();
}
