/* hbpo_test.h - a greatest-style single-header test harness for hbpo.

   Why our own: greatest is not packaged in any registry we can reach, and two
   of its habits are wrong for RL code: ASSERT_IN_RANGE passes on NaN, and its
   summary line is not the `N passed, N failed` line our CI reads. This header
   keeps greatest's small API and fixes both.

   Usage
       #include "hbpo_test.h"

       TEST reward_is_flat(void) {
           ASSERT_NEAR(3.9231411f, f, 1e-6);      // fails on NaN/Inf too
           PASS();
       }
       SUITE(math) { RUN_TEST(reward_is_flat); }

   and in exactly one file:
       HBPO_TEST_MAIN_DEFS();
       int main(int argc, char **argv) {
           HBPO_TEST_MAIN_BEGIN(argc, argv);
           RUN_SUITE(math);
           HBPO_TEST_MAIN_END();              // prints "N passed, N failed[, N skipped]"
       }
   Suites in other files are declared with SUITE_EXTERN(name).

   Setup and teardown (as greatest's SET_SETUP / SET_TEARDOWN): inside a
   suite, SET_SETUP(fn, data) and SET_TEARDOWN(fn, data) make every later
   RUN_TEST call fn(data) before and after the test, whether it passed or
   failed; a test keeps what it allocates in the fixture the teardown frees,
   so a failing assertion leaks nothing. Both are cleared when the suite ends.

   Command line: -v verbose (one line per test), -l list tests without running,
   -s SUITE run only suites whose name contains SUITE, -t TEST likewise for
   tests, -x stop at the first failure, -h help.

   A test returns PASS(), FAIL(), FAILm("msg"), SKIPm("why") or fails through
   an ASSERT_*. Every failing assertion prints `FAIL suite/test: message
   (file:line)` with the values involved. */
#ifndef HBPO_TEST_H
#define HBPO_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HBPO_TEST_PASS = 0, HBPO_TEST_FAIL = 1, HBPO_TEST_SKIP = 2 };

typedef struct {
    int verbose, list_only, stop_first;
    const char *suite_filter, *test_filter;
    int passed, failed, skipped;
    const char *suite, *test;  /* currently running */
    int stop;                  /* -x fired */
    int column;                /* progress characters on the current line */
    int quiet;                 /* > 0: failures are not printed (the harness's own self-test) */
    void (*setup)(void *);     /* called before each test of the suite (NULL: none) */
    void (*teardown)(void *);  /* called after each test, pass or fail (NULL: none) */
    void *setup_data, *teardown_data;
} hbpo_test_info;

extern hbpo_test_info hbpo_test__info;

#define TEST static int
#define SUITE(name) void name(void)
#define SUITE_EXTERN(name) void name(void)

#define HBPO_TEST_MAIN_DEFS() hbpo_test_info hbpo_test__info

/* The failure message is printed where it happens, so a test can print extra
   context (like the first bad index of a tensor) right before it fails. */
#define HBPO_TEST__FAILF(...)                                                   \
    do {                                                                        \
        if (!hbpo_test__info.quiet) {                                           \
            hbpo_test__newline();                                               \
            fprintf(stdout, "FAIL %s/%s: ", hbpo_test__info.suite, hbpo_test__info.test); \
            fprintf(stdout, __VA_ARGS__);                                       \
            fprintf(stdout, " (%s:%d)\n", __FILE__, __LINE__);                  \
        }                                                                       \
        return HBPO_TEST_FAIL;                                                  \
    } while (0)

#define PASS() return HBPO_TEST_PASS
#define FAIL() HBPO_TEST__FAILF("failed")
#define FAILm(msg) HBPO_TEST__FAILF("%s", (msg))
#define SKIPm(msg)                                                              \
    do {                                                                        \
        hbpo_test__newline();                                                   \
        printf("skip %s/%s: %s\n", hbpo_test__info.suite, hbpo_test__info.test, (msg)); \
        return HBPO_TEST_SKIP;                                                  \
    } while (0)

#define ASSERT(cond)                                                            \
    do { if (!(cond)) HBPO_TEST__FAILF("expected %s", #cond); } while (0)
#define ASSERTm(msg, cond)                                                      \
    do { if (!(cond)) HBPO_TEST__FAILF("%s (%s)", (msg), #cond); } while (0)
#define ASSERT_FALSE(cond)                                                      \
    do { if (cond) HBPO_TEST__FAILF("expected !(%s)", #cond); } while (0)

/* ASSERT_EQ_FMT(expected, got, "%d"): prints both values on failure. */
#define ASSERT_EQ_FMT(exp, got, fmt)                                            \
    do {                                                                        \
        if (!((exp) == (got)))                                                  \
            HBPO_TEST__FAILF("%s != %s: expected " fmt ", got " fmt, #exp, #got, (exp), (got)); \
    } while (0)
#define ASSERT_EQ(exp, got)                                                     \
    do {                                                                        \
        long long hbpo_test__e = (long long)(exp), hbpo_test__g = (long long)(got); \
        if (hbpo_test__e != hbpo_test__g)                                       \
            HBPO_TEST__FAILF("%s != %s: expected %lld, got %lld", #exp, #got,   \
                             hbpo_test__e, hbpo_test__g);                       \
    } while (0)

#define ASSERT_STR_EQ(exp, got)                                                 \
    do {                                                                        \
        const char *hbpo_test__e = (exp), *hbpo_test__g = (got);                \
        if (!hbpo_test__e || !hbpo_test__g || strcmp(hbpo_test__e, hbpo_test__g) != 0) \
            HBPO_TEST__FAILF("%s: expected \"%s\", got \"%s\"", #got,           \
                             hbpo_test__e ? hbpo_test__e : "(null)",            \
                             hbpo_test__g ? hbpo_test__g : "(null)");           \
    } while (0)

/* |exp - got| <= tol. Unlike greatest, NaN or Inf in either value fails. */
#define ASSERT_NEAR(exp, got, tol)                                              \
    do {                                                                        \
        double hbpo_test__e = (double)(exp), hbpo_test__g = (double)(got);      \
        if (!isfinite(hbpo_test__e) || !isfinite(hbpo_test__g) ||               \
            !(fabs(hbpo_test__e - hbpo_test__g) <= (double)(tol)))              \
            HBPO_TEST__FAILF("%s: expected %.9g, got %.9g (diff %.3g, tol %.3g)", #got, \
                             hbpo_test__e, hbpo_test__g, fabs(hbpo_test__e - hbpo_test__g), \
                             (double)(tol));                                    \
    } while (0)

/* lo <= got <= hi, and got is finite. */
#define ASSERT_IN_RANGE(lo, got, hi)                                            \
    do {                                                                        \
        double hbpo_test__g = (double)(got);                                    \
        if (!isfinite(hbpo_test__g) || !(hbpo_test__g >= (double)(lo)) ||       \
            !(hbpo_test__g <= (double)(hi)))                                    \
            HBPO_TEST__FAILF("%s = %.9g not in [%.9g, %.9g]", #got, hbpo_test__g, \
                             (double)(lo), (double)(hi));                       \
    } while (0)

/* Tensors: every element within atol + rtol*|exp|; reports the max difference
   and the first bad index. Fails on any NaN/Inf. */
#define ASSERT_TENSOR_NEAR(exp, got, n, atol, rtol)                             \
    do {                                                                        \
        long hbpo_test__bad; double hbpo_test__maxd;                            \
        if (!hbpo_test__tensor_near((exp), (got), (long)(n), (atol), (rtol),    \
                                    &hbpo_test__bad, &hbpo_test__maxd))         \
            HBPO_TEST__FAILF("%s: first bad index %ld (expected %.9g, got %.9g), max diff %.3g", \
                             #got, hbpo_test__bad, (double)(exp)[hbpo_test__bad], \
                             (double)(got)[hbpo_test__bad], hbpo_test__maxd);   \
    } while (0)

#define RUN_TEST(fn) hbpo_test__run(#fn, fn)
#define SET_SETUP(fn, data) (hbpo_test__info.setup = (fn), hbpo_test__info.setup_data = (data))
#define SET_TEARDOWN(fn, data) (hbpo_test__info.teardown = (fn), hbpo_test__info.teardown_data = (data))
#define RUN_SUITE(fn)                                                           \
    do {                                                                        \
        if (!hbpo_test__info.stop && hbpo_test__match(#fn, hbpo_test__info.suite_filter)) { \
            hbpo_test__info.suite = #fn;                                        \
            if (hbpo_test__info.verbose || hbpo_test__info.list_only)           \
                printf("* suite %s\n", #fn);                                    \
            hbpo_test__info.setup = hbpo_test__info.teardown = NULL;            \
            fn();                                                               \
            hbpo_test__info.setup = hbpo_test__info.teardown = NULL;            \
            hbpo_test__newline();                                               \
        }                                                                       \
    } while (0)

#define HBPO_TEST_MAIN_BEGIN(argc, argv)                                        \
    do { if (hbpo_test__parse_args((argc), (argv))) return 2; } while (0)
#define HBPO_TEST_MAIN_END()                                                    \
    do {                                                                        \
        hbpo_test__newline();                                                   \
        if (hbpo_test__info.skipped)                                            \
            printf("%d passed, %d failed, %d skipped\n", hbpo_test__info.passed, \
                   hbpo_test__info.failed, hbpo_test__info.skipped);            \
        else                                                                    \
            printf("%d passed, %d failed\n", hbpo_test__info.passed, hbpo_test__info.failed); \
        return hbpo_test__info.failed ? 1 : 0;                                  \
    } while (0)

/* Helpers: static so that every test file gets its own copy (they are small). */
#if defined(__GNUC__)
#define HBPO_TEST__UNUSED __attribute__((unused))
#else
#define HBPO_TEST__UNUSED
#endif

HBPO_TEST__UNUSED static void hbpo_test__newline(void) {
    if (hbpo_test__info.column) { putchar('\n'); hbpo_test__info.column = 0; }
}

HBPO_TEST__UNUSED static int hbpo_test__match(const char *name, const char *filter) {
    return !filter || strstr(name, filter) != NULL;
}

HBPO_TEST__UNUSED static void hbpo_test__run(const char *name, int (*fn)(void)) {
    int r;
    if (hbpo_test__info.stop || !hbpo_test__match(name, hbpo_test__info.test_filter)) return;
    if (hbpo_test__info.list_only) { printf("  %s\n", name); return; }
    hbpo_test__info.test = name;
    fflush(stdout);
    if (hbpo_test__info.setup) hbpo_test__info.setup(hbpo_test__info.setup_data);
    r = fn();
    if (hbpo_test__info.teardown) hbpo_test__info.teardown(hbpo_test__info.teardown_data);
    if (r == HBPO_TEST_PASS) hbpo_test__info.passed++;
    else if (r == HBPO_TEST_SKIP) hbpo_test__info.skipped++;
    else hbpo_test__info.failed++;
    if (hbpo_test__info.verbose) {
        if (r == HBPO_TEST_PASS) printf("pass %s/%s\n", hbpo_test__info.suite, name);
    } else if (r != HBPO_TEST_SKIP) {
        putchar(r == HBPO_TEST_PASS ? '.' : 'F');
        if (++hbpo_test__info.column >= 72) hbpo_test__newline();
    }
    fflush(stdout);
    if (r == HBPO_TEST_FAIL && hbpo_test__info.stop_first) hbpo_test__info.stop = 1;
}

HBPO_TEST__UNUSED static int hbpo_test__parse_args(int argc, char **argv) {
    int i;
    memset(&hbpo_test__info, 0, sizeof hbpo_test__info);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-v")) hbpo_test__info.verbose = 1;
        else if (!strcmp(a, "-l")) hbpo_test__info.list_only = 1;
        else if (!strcmp(a, "-x")) hbpo_test__info.stop_first = 1;
        else if ((!strcmp(a, "-s") || !strcmp(a, "-t")) && i + 1 < argc) {
            if (a[1] == 's') hbpo_test__info.suite_filter = argv[++i];
            else hbpo_test__info.test_filter = argv[++i];
        } else {
            fprintf(stderr,
                    "usage: %s [-v] [-l] [-x] [-s SUITE] [-t TEST]\n"
                    "  -v verbose   -l list   -x stop at first failure\n"
                    "  -s SUITE / -t TEST: run only names containing the text\n",
                    argv[0]);
            return 1;
        }
    }
    return 0;
}

/* Real data for data-driven tests: $HBPO_DATA_DIR or ../shared/data (tests run
   in the repo root). Writes the path of file into path; 1 when it can be
   opened, else 0 (the test then SKIPs with HBPO_TEST_DATA_SKIP). */
#define HBPO_TEST_DATA_SKIP "data not found (set HBPO_DATA_DIR or provide ../shared/data)"
#ifdef HBPO_TEST_BYTE_TOKENIZER
/* The byte tokenizer (hbpo_tokenizer_write_bytes) in a new temporary folder
   made from tmpl ("/tmp/NAME_XXXXXX", rewritten in place by mkdtemp), loaded
   into *tok. keep 0: the file and the folder are removed once loaded; 1: they
   stay (tmpl names the folder). 0, or -1. A test file that wants it
   defines _POSIX_C_SOURCE 200809L before any include (mkdtemp) and
   HBPO_TEST_BYTE_TOKENIZER before this header (after hbpo.h), which also
   gives it hbpo_test_rm_tree. */
HBPO_TEST__UNUSED static int hbpo_test_byte_tokenizer(char *tmpl, int keep, hbpo_tokenizer **tok) {
    char path[512];
    int rc;
    if (!mkdtemp(tmpl)) return -1;
    snprintf(path, sizeof path, "%s/tokenizer.json", tmpl);
    if (hbpo_tokenizer_write_bytes(path) != 0) return -1;
    rc = hbpo_tokenizer_load(tok, path);
    if (!keep) {
        remove(path);
        remove(tmpl);
    }
    return rc;
}

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
/* Removes a folder and everything under it (tests' temporary folders). */
HBPO_TEST__UNUSED static void hbpo_test_rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[1024];
    struct stat st;
    while (d && (e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) hbpo_test_rm_tree(path);
        else remove(path);
    }
    if (d) closedir(d);
    rmdir(dir);
}
#endif

#ifdef HBPO_H
/* Copies the file `from` to the path `to` (whole, through the library's
   file I/O). 0 or -1. */
HBPO_TEST__UNUSED static int hbpo_test_copy_file(const char *from, const char *to) {
    size_t len;
    char *text = hbpo_read_file(from, 0, &len);
    int rc;
    if (!text) return -1;
    rc = hbpo_write_file(to, text, len);
    hbpo_free(text);
    return rc;
}

/* The tests' small Qwen2-shaped model (one definition for every test file
   and check program): vocab V (272 holds the byte tokenizer's 265 ids),
   hidden 32, FFN 64, 2 layers, 4 heads / 2 KV heads of 8, P positions; the
   rest as hbpo_model_config_default() (tied embeddings). */
HBPO_TEST__UNUSED static hbpo_model_config hbpo_test_model_config(int V, int P) {
    hbpo_model_config c = hbpo_model_config_default();
    c.vocab_size = V;
    c.hidden_size = 32;
    c.intermediate_size = 64;
    c.num_hidden_layers = 2;
    c.num_attention_heads = 4;
    c.num_key_value_heads = 2;
    c.head_dim = 8;
    c.max_position_embeddings = P;
    return c;
}
/* One HBPO step on that model (V 272, P 256) that finishes in a moment:
   budgets 16 and 32, L_max 40, 4 queries x 4 rollouts, micro-batch 4,
   lr 1e-3, seed 3 (tests/gpu/test_cuda.c and examples/nccl_check.c compare
   such a step across backends and communicators). */
HBPO_TEST__UNUSED static void hbpo_test_rl_step_config(hbpo_model_config *mc, hbpo_train_config *tc) {
    *mc = hbpo_test_model_config(272, 256);
    *tc = hbpo_train_config_default();
    tc->budget.k = 2; tc->budget.budget[0] = 16; tc->budget.budget[1] = 32; tc->budget.l_max = 40;
    tc->n_rollouts = 4; tc->batch_queries = 4; tc->micro_batch = 4; tc->adamw.lr = 1e-3f; tc->seed = 3;
}
/* DeepSeek-R1-Distill-Qwen-1.5B's shape (its config.json; 1,777,088,000
   parameters): the memory plan's tests, the GPU checks and bench_cuda. */
HBPO_TEST__UNUSED static hbpo_model_config hbpo_test_r1_distill_1p5b_config(void) {
    hbpo_model_config c = hbpo_model_config_default();
    c.vocab_size = 151936; c.hidden_size = 1536; c.intermediate_size = 8960;
    c.num_hidden_layers = 28; c.num_attention_heads = 12; c.num_key_value_heads = 2;
    c.head_dim = 128; c.max_position_embeddings = 131072; c.rope_theta = 10000.0f;
    c.rms_norm_eps = 1e-6f; c.tie_word_embeddings = 0; c.attention_bias = 1; c.qk_norm = 0;
    return c;
}
#endif

HBPO_TEST__UNUSED static int hbpo_test_data_path(char *path, size_t len, const char *file) {
    const char *dir = getenv("HBPO_DATA_DIR");
    FILE *f;
    snprintf(path, len, "%s/%s", dir && dir[0] ? dir : "../shared/data", file);
    f = fopen(path, "rb");
    if (!f) return 0;
    fclose(f);
    return 1;
}

/* Element-wise closeness over float arrays (doubles are compared through the
   same path by the caller converting). Returns 1 when all close. */
HBPO_TEST__UNUSED static int hbpo_test__tensor_near(const float *exp, const float *got, long n,
                                                    double atol, double rtol, long *bad,
                                                    double *maxd) {
    long i;
    *bad = -1; *maxd = 0.0;
    for (i = 0; i < n; i++) {
        double e = exp[i], g = got[i], d = fabs(e - g);
        if (!isfinite(e) || !isfinite(g)) { if (*bad < 0) *bad = i; *maxd = INFINITY; continue; }
        if (d > *maxd) *maxd = d;
        if (!(d <= atol + rtol * fabs(e)) && *bad < 0) *bad = i;
    }
    return *bad < 0;
}

#endif /* HBPO_TEST_H */
