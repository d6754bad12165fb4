/* Answer checking: \boxed extraction, MATH normalisation (the hendrycks
   strip_string rules), equality, GSM8K extraction and the judge; then the same
   functions over the real MATH500 and GSM8K files. */
#include "hbpo_test.h"
#define HBPO_COUNT_OPS /* hbpo_op_count() */
#include "hbpo.h"

/* Extracts the boxed answer of text into a static buffer ("<none>" when -1). */
static const char *boxed(const char *text) {
    static char out[256];
    int r = hbpo_extract_boxed(text, out, sizeof out);
    return r == 0 ? out : r == -1 ? "<none>" : "<too small>";
}

static const char *strip(const char *in) {
    static char out[256];
    return hbpo_strip_string(in, out, sizeof out) == 0 ? out : "<error>";
}

/* ---- extraction ---- */

TEST boxed_simple_and_nested(void) {
    ASSERT_STR_EQ("5", boxed("so the answer is $\\boxed{5}$."));
    ASSERT_STR_EQ("\\frac{1}{\\sqrt{2}}", boxed("$\\boxed{\\frac{1}{\\sqrt{2}}}$"));
    ASSERT_STR_EQ("\\{1,2\\}", boxed("\\boxed{\\{1,2\\}}"));
    ASSERT_STR_EQ("", boxed("\\boxed{}"));
    PASS();
}

TEST boxed_last_wins(void) {
    ASSERT_STR_EQ("3", boxed("first \\boxed{1}, then \\boxed{2}, finally \\boxed{3}"));
    /* The released HBPO code would return "4" here: any "\boxed " form beats a
       later "\boxed{". We take whichever occurs last. */
    ASSERT_STR_EQ("7", boxed("maybe $\\boxed 4$, no: \\boxed{7}"));
    ASSERT_STR_EQ("4", boxed("maybe \\boxed{7}, no: $\\boxed 4$"));
    PASS();
}

TEST boxed_spaced_forms(void) {
    ASSERT_STR_EQ("5", boxed("the answer is $\\boxed 5$ indeed"));
    ASSERT_STR_EQ("5.", boxed("the answer is \\boxed 5.  "));
    ASSERT_STR_EQ("5", boxed("\\boxed {5}"));     /* spaces before the brace: braced */
    ASSERT_STR_EQ("x+1", boxed("\\boxed  {x+1} and $y$"));
    PASS();
}

TEST boxed_fbox_and_none(void) {
    ASSERT_STR_EQ("12", boxed("\\fbox{12}"));
    ASSERT_STR_EQ("9", boxed("\\fbox{12} then \\boxed{9}"));  /* \fbox only without \boxed */
    ASSERT_STR_EQ("9", boxed("\\boxed{9} then \\fbox{12}"));
    ASSERT_STR_EQ("<none>", boxed("no box here, 42"));
    ASSERT_STR_EQ("<none>", boxed(""));
    ASSERT_STR_EQ("<none>", boxed("\\boxed"));
    ASSERT_STR_EQ("<none>", boxed("\\boxedx"));
    ASSERT_STR_EQ("<none>", boxed("$\\boxed $"));
    PASS();
}

TEST boxed_unbalanced(void) {
    char out[16];
    ASSERT_EQ(-1, hbpo_extract_boxed("\\boxed{\\frac{1}{2}", out, sizeof out));
    /* A truncated last box is no answer, even after a complete one. */
    ASSERT_EQ(-1, hbpo_extract_boxed("\\boxed{3} and then \\boxed{\\frac{1", out, sizeof out));
    ASSERT_EQ(-1, hbpo_extract_boxed("\\fbox{3", out, sizeof out));
    PASS();
}

TEST boxed_out_too_small(void) {
    char out[4];
    ASSERT_EQ(-2, hbpo_extract_boxed("\\boxed{1234}", out, sizeof out));
    ASSERT_EQ(0, hbpo_extract_boxed("\\boxed{123}", out, sizeof out));
    ASSERT_STR_EQ("123", out);
    ASSERT_EQ(-2, hbpo_extract_boxed("\\boxed{1}", NULL, 0));
    ASSERT_EQ(-2, hbpo_extract_boxed("\\boxed{1}", out, 0));
    PASS();
}

TEST boxed_null(void) {
    char out[8];
    ASSERT_EQ(-1, hbpo_extract_boxed(NULL, out, sizeof out));
    ASSERT(hbpo_last_error()[0] != 0);
    PASS();
}

/* ---- strip_string, rule by rule ---- */

TEST strip_early_replacements(void) {
    ASSERT_STR_EQ("12", strip("1\n2"));
    ASSERT_STR_EQ("10,080", strip("10,\\!080"));
    ASSERT_STR_EQ("\\frac{1}{2}", strip("\\\\frac{1}{2}"));
    ASSERT_STR_EQ("\\frac{1}{2}", strip("\\dfrac{1}{2}"));
    ASSERT_STR_EQ("\\frac{1}{2}", strip("\\tfrac12"));
    ASSERT_STR_EQ("(3,\\frac{\\pi}{2})", strip("\\left( 3, \\frac{\\pi}{2} \\right)"));
    ASSERT_STR_EQ("90", strip("90^\\circ"));
    ASSERT_STR_EQ("90", strip("90^{\\circ}"));
    ASSERT_STR_EQ("18.90", strip("\\$18.90"));
    PASS();
}

TEST strip_units_and_percent(void) {
    ASSERT_STR_EQ("5", strip("5\\text{ cm}"));
    ASSERT_STR_EQ("5.4", strip("5.4 \\text{ cents}"));
    ASSERT_STR_EQ("\\frac{270}7", strip("\\frac{270}7\\text{ degrees}"));
    /* Twice: the reference asserts once; we keep the string at that step. */
    ASSERT_STR_EQ("5\\text{m}6\\text{s}", strip("5\\text{ m} 6\\text{ s}"));
    ASSERT_STR_EQ("50", strip("50\\%"));
    ASSERT_STR_EQ("50%", strip("50%"));   /* a bare % is not a hendrycks rule */
    PASS();
}

TEST strip_leading_dots(void) {
    ASSERT_STR_EQ("0.25", strip(".25"));
    ASSERT_STR_EQ("0.0000672", strip(".0000672"));
    ASSERT_STR_EQ("x+0.3", strip("x + .3"));
    ASSERT_STR_EQ("\\frac{0.5}{2}", strip("\\frac{.5}{2}"));
    ASSERT_STR_EQ("", strip(""));
    ASSERT_STR_EQ("", strip("\\!"));
    PASS();
}

TEST strip_equals(void) {
    ASSERT_STR_EQ("5", strip("x = 5"));
    ASSERT_STR_EQ("5", strip("k=5"));
    ASSERT_STR_EQ("xyz=5", strip("xyz = 5"));       /* left side longer than 2 */
    ASSERT_STR_EQ("x=y=5", strip("x = y = 5"));     /* two '=' */
    /* Python counts characters: a 2-byte letter is one character. */
    ASSERT_STR_EQ("5", strip("\xce\xb1 = 5"));
    PASS();
}

TEST strip_sqrt(void) {
    ASSERT_STR_EQ("\\sqrt{3}", strip("\\sqrt3"));
    ASSERT_STR_EQ("2\\sqrt{3}+\\sqrt{5}", strip("2\\sqrt3 + \\sqrt{5}"));
    ASSERT_STR_EQ("\\sqrt{x}y", strip("\\sqrtxy"));
    ASSERT_STR_EQ("2\\sqrt", strip("2\\sqrt"));   /* reference raises: kept */
    PASS();
}

TEST strip_fracs(void) {
    ASSERT_STR_EQ("\\frac{1}{2}", strip("\\frac12"));
    ASSERT_STR_EQ("\\frac{1}{72}", strip("\\frac1{72}"));
    ASSERT_STR_EQ("\\frac{72}1", strip("\\frac{72}1"));  /* as the reference: not fixed */
    ASSERT_STR_EQ("\\frac{3}{4}+\\frac{1}{x}", strip("\\frac34 + \\frac1x"));
    ASSERT_STR_EQ("2\\frac1", strip("2\\frac1"));   /* one character left: kept */
    ASSERT_STR_EQ("\\frac", strip("\\frac"));      /* reference raises: kept */
    PASS();
}

TEST strip_half_and_slash(void) {
    ASSERT_STR_EQ("\\frac{1}{2}", strip("0.5"));
    ASSERT_STR_EQ("\\frac{1}{2}", strip(".5"));   /* ".5" -> "0.5" -> "\\frac{1}{2}" */
    ASSERT_STR_EQ("\\frac{3}{4}", strip("3/4"));
    ASSERT_STR_EQ("\\frac{-3}{4}", strip("-3/4"));
    ASSERT_STR_EQ("03/4", strip("03/4"));   /* not how Python prints int("03") */
    ASSERT_STR_EQ("x/4", strip("x/4"));     /* the reference's int() raises: kept */
    ASSERT_STR_EQ("1/2/3", strip("1/2/3"));
    ASSERT_STR_EQ("1.5/2", strip("1.5/2"));
    PASS();
}

TEST strip_out_too_small(void) {
    char out[4];
    ASSERT_EQ(-1, hbpo_strip_string("\\frac{1}{2}", out, sizeof out));
    ASSERT_EQ(0, hbpo_strip_string("123", out, sizeof out));
    ASSERT_STR_EQ("123", out);
    ASSERT_EQ(-1, hbpo_strip_string(NULL, out, sizeof out));
    ASSERT_EQ(-1, hbpo_strip_string("1", NULL, 4));
    PASS();
}

/* ---- equality ---- */

static const char *const equal_pairs[][2] = {
    {"5", "5"},
    {"\\frac{1}{2}", "0.5"},
    {"\\dfrac{1}{2}", "\\frac12"},
    {"3/4", "\\frac34"},
    {"0.75", "3/4"},
    {"-\\frac{3}{4}", "-0.75"},
    {"\\frac{-3}{4}", "-3/4"},
    {"x = 5", "5"},
    {"\\sqrt3", "\\sqrt{3}"},
    {"27.0", "27"},
    {"1,000", "1000"},
    {"12,345.5", "12345.50"},
    {"10,\\!080", "10080"},
    {"11,\\! 111,\\! 111,\\! 100", "11111111100"},
    {"\\$18.90", "18.9"},
    {"50\\%", "50"},
    {"90^\\circ", "90"},
    {".5", "1/2"},
    {"5\\text{ cm}", "5"},
    {"\\text{Evelyn}", "Evelyn"},
    {"\\textbf{(C)}", "\\text{(C)}"},
    {"\\mathrm{east}", "east"},
    {"5.", "5"},
    {"\\frac{\\pi}{2}.", "\\frac{\\pi}{2}"},
    {"\\left( 3, \\frac{\\pi}{2} \\right)", "(3,\\frac{\\pi}{2})"},
    {"  42 ", "42"},
    {"+7", "7"},
    {"0", "0.0"},
    {"-0", "0"},
    {"\\frac{270}7\\text{ degrees}", "\\frac{270}{7}"},  /* MATH500 test/prealgebra/1003 */
    {"\\frac{\\pi}2", "\\frac{\\pi}{2}"},
    {"\\frac{\\frac{1}2}3", "\\frac{\\frac{1}{2}}{3}"},
    {"\\frac{1}{2}+\\frac{x}3", "\\frac12+\\frac{x}{3}"},
};

static const char *const unequal_pairs[][2] = {
    {"2", "3"},
    {"\\frac{1}{2}", "\\frac{1}{3}"},
    {"10", "100"},
    {"1,00", "100"},           /* malformed thousands groups are no number */
    {"1,0000", "10000"},
    {"1000,000", "1000000"},
    {"1,2", "12"},             /* a pair, not a number */
    {"0.333", "\\frac{1}{3}"},
    {"-5", "5"},
    {"\\frac{1}{0}", "\\frac{1}{0}0"},
    {"x", "y"},
    {"", "0"},
    {"\\sqrt{2}", "\\sqrt{3}"},
    {"50%", "50"},             /* a bare % is not stripped */
    {"1e3", "1000"},
    {"inf", "inf0"},
    {"(1,2)", "(2,1)"},
};

TEST equal_pairs_match(void) {
    size_t i;
    for (i = 0; i < sizeof equal_pairs / sizeof equal_pairs[0]; i++) {
        const char *a = equal_pairs[i][0], *b = equal_pairs[i][1];
        if (!hbpo_math_equal(a, b)) HBPO_TEST__FAILF("expected \"%s\" == \"%s\"", a, b);
        if (!hbpo_math_equal(b, a)) HBPO_TEST__FAILF("expected \"%s\" == \"%s\"", b, a);
    }
    PASS();
}

TEST unequal_pairs_differ(void) {
    size_t i;
    for (i = 0; i < sizeof unequal_pairs / sizeof unequal_pairs[0]; i++) {
        const char *a = unequal_pairs[i][0], *b = unequal_pairs[i][1];
        if (hbpo_math_equal(a, b)) HBPO_TEST__FAILF("expected \"%s\" != \"%s\"", a, b);
        if (hbpo_math_equal(b, a)) HBPO_TEST__FAILF("expected \"%s\" != \"%s\"", b, a);
    }
    PASS();
}

TEST equal_numeric_tolerance(void) {
    ASSERT(hbpo_math_equal("1000000", "1000000.5"));   /* relative 5e-7 */
    ASSERT(hbpo_math_equal("0.333333", "\\frac{1}{3}")); /* relative 1e-6 */
    ASSERT_FALSE(hbpo_math_equal("0.33333", "\\frac{1}{3}"));
    /* Whole numbers match exactly (GSM8K test line 612 has 1450000). */
    ASSERT_FALSE(hbpo_math_equal("1450000", "1450001"));
    ASSERT_FALSE(hbpo_math_equal("1,450,000.0", "1450001"));
    ASSERT(hbpo_math_equal("1,450,000.0", "1450000"));
    ASSERT(hbpo_math_equal("\\frac{8}{4}", "2"));
    ASSERT_FALSE(hbpo_math_equal("1000", "1000.5"));   /* relative 5e-4 */
    ASSERT(hbpo_math_equal("0", "0.0000000001"));     /* absolute 1e-10 */
    ASSERT_FALSE(hbpo_math_equal("0", "0.00001"));
    PASS();
}

TEST equal_null_and_long(void) {
    static char big[5000];
    ASSERT_EQ(0, hbpo_math_equal(NULL, "1"));
    ASSERT_EQ(0, hbpo_math_equal("1", NULL));
    ASSERT_EQ(0, hbpo_math_equal(NULL, NULL));
    /* Longer than the normalisation buffers: compared as raw strings. */
    memset(big, '1', sizeof big - 1);
    ASSERT_EQ(1, hbpo_math_equal(big, big));
    ASSERT_EQ(0, hbpo_math_equal(big, "1"));
    PASS();
}

/* ---- GSM8K and the judge ---- */

TEST gsm8k_extract(void) {
    char out[32];
    ASSERT_EQ(0, hbpo_gsm8k_extract("so 9 * 2 = 18\n#### 18", out, sizeof out));
    ASSERT_STR_EQ("18", out);
    ASSERT_EQ(0, hbpo_gsm8k_extract("#### 1,000\n", out, sizeof out));
    ASSERT_STR_EQ("1000", out);
    ASSERT_EQ(0, hbpo_gsm8k_extract("#### 1 #### -3 ", out, sizeof out));
    ASSERT_STR_EQ("-3", out);
    ASSERT_EQ(-1, hbpo_gsm8k_extract("no marker 18", out, sizeof out));
    ASSERT_EQ(-1, hbpo_gsm8k_extract("#### \n", out, sizeof out));
    ASSERT_EQ(-1, hbpo_gsm8k_extract(NULL, out, sizeof out));
    ASSERT_EQ(-2, hbpo_gsm8k_extract("#### 12345", out, 5));
    ASSERT_EQ(0, hbpo_gsm8k_extract("#### 12,345", out, 6));
    ASSERT_STR_EQ("12345", out);
    ASSERT_EQ(-2, hbpo_gsm8k_extract("#### 1", NULL, 0));
    PASS();
}

TEST judge_outcomes(void) {
    ASSERT_EQ(HBPO_CORRECT,
              hbpo_judge("<think>...</think> The answer is $\\boxed{\\dfrac{1}{2}}$.", "0.5"));
    ASSERT_EQ(HBPO_CORRECT, hbpo_judge("so \\boxed{3} no wait \\boxed{4}", "4"));
    ASSERT_EQ(HBPO_WRONG, hbpo_judge("so \\boxed{4} no wait \\boxed{3}", "4"));
    ASSERT_EQ(HBPO_WRONG, hbpo_judge("\\boxed{41}", "4"));
    ASSERT_EQ(HBPO_CORRECT, hbpo_judge("$\\boxed 1,000$", "1000"));
    ASSERT_EQ(HBPO_NO_ANSWER, hbpo_judge("The answer is 4.", "4"));
    ASSERT_EQ(HBPO_NO_ANSWER, hbpo_judge("\\boxed{4", "4"));
    ASSERT_EQ(HBPO_NO_ANSWER, hbpo_judge(NULL, "4"));
    ASSERT_EQ(HBPO_WRONG, hbpo_judge("\\boxed{4}", NULL));
    PASS();
}

/* Random strings built from the pieces the rules look for, plus raw bytes
   (run under the sanitizers by `make sanitize`): nothing may crash or read out
   of bounds, extraction must stay inside the text, and equality must be
   reflexive and symmetric. A fixed LCG keeps the inputs the same every run. */
TEST garbage_is_harmless(void) {
    static const char *const piece[] = {
        "\\boxed", "\\fbox", "{", "}", " ", "$", "\\frac", "\\dfrac", "\\sqrt", "\\text{ ",
        "\\text{", "\\left", "\\!", "\\\\", "^\\circ", "\\%", "\\$", ".", ",", "=", "/", "-",
        "0", "1", "5", "7", "x", "\n", "####", "\xce\xb1", "\xff", "\xe2\x82"};
    static char text[512], other[512], out[64];
    unsigned long long state = 12345;
    int iter, k, np = (int)(sizeof piece / sizeof piece[0]);
    for (iter = 0; iter < 20000; iter++) {
        char *dst[2];
        int which;
        dst[0] = text;
        dst[1] = other;
        for (which = 0; which < 2; which++) {
            size_t n = 0, len;
            int count;
            state = state * 6364136223846793005ULL + 1442695040888963407ULL;
            count = (int)((state >> 33) % 24);
            for (k = 0; k < count; k++) {
                state = state * 6364136223846793005ULL + 1442695040888963407ULL;
                len = strlen(piece[(state >> 33) % (unsigned)np]);
                if (n + len >= sizeof text) break;
                memcpy(dst[which] + n, piece[(state >> 33) % (unsigned)np], len);
                n += len;
            }
            dst[which][n] = 0;
        }
        if (hbpo_extract_boxed(text, out, sizeof out) == 0) ASSERT(strlen(out) < strlen(text));
        (void)hbpo_strip_string(text, out, sizeof out);
        (void)hbpo_gsm8k_extract(text, out, sizeof out);
        (void)hbpo_judge(text, other);
        if (!hbpo_math_equal(text, text)) HBPO_TEST__FAILF("not reflexive: \"%s\"", text);
        if (hbpo_math_equal(text, other) != hbpo_math_equal(other, text))
            HBPO_TEST__FAILF("not symmetric: \"%s\" vs \"%s\"", text, other);
    }
    PASS();
}

/* ---- work that grows with the text (issue 12) ---- */

/* Fills s with about n bytes of the pathological response `kind`; its length. */
static size_t boxed_patho(char *s, int kind, size_t n) {
    static const char *const unit[] = {
        "\\boxedx",      /* rejected candidates: each once rescanned the text */
        "\\boxed $",     /* "\boxed " forms with nothing before the '$' */
        "\\fboxx\\boxedy", /* both commands, neither a box */
        "\\fbox $",     /* \fbox has no spaced form: every one rejected */
    };
    size_t m = 0, k = strlen(unit[kind]);
    while (m + k < n) {
        memcpy(s + m, unit[kind], k);
        m += k;
    }
    s[m] = 0;
    return m;
}

/* Twice the text costs at most about twice the work, counted in steps
   (hbpo_op_count, HBPO_COUNT_OPS), not seconds: a rescan per rejected
   candidate gave 4x (252 KB of "\boxedx" took 7.4 s). The last box is still
   found after each pathological prefix. */
TEST boxed_work_is_linear(void) {
    enum { N = 64 * 1024 };
    char *s = (char *)malloc(2 * N + 32), out[16];
    unsigned long long c0, w1, w2;
    size_t n;
    int kind, r1, r2, r3;
    ASSERT(s != NULL);
    for (kind = 0; kind < 4; kind++) {
        boxed_patho(s, kind, N);
        c0 = hbpo_op_count();
        r1 = hbpo_extract_boxed(s, out, sizeof out);
        w1 = hbpo_op_count() - c0;
        n = boxed_patho(s, kind, 2 * N);
        c0 = hbpo_op_count();
        r2 = hbpo_extract_boxed(s, out, sizeof out);
        w2 = hbpo_op_count() - c0;
        memcpy(s + n, "\\boxed{42}", 11);
        r3 = hbpo_extract_boxed(s, out, sizeof out);
        if (r1 != -1 || r2 != -1 || r3 != 0 || strcmp(out, "42") != 0 || w1 < N ||
            (double)w2 > 2.5 * (double)w1) {
            free(s);
            HBPO_TEST__FAILF("input %d: results %d %d %d, %llu steps, twice the text %llu", kind,
                             r1, r2, r3, w1, w2);
        }
    }
    /* a judge over the same text: no answer, then the box at the end */
    n = boxed_patho(s, 0, N);
    r1 = hbpo_judge(s, "42");
    memcpy(s + n, "\\boxed{42}", 11);
    r2 = hbpo_judge(s, "42");
    free(s);
    ASSERT_EQ(HBPO_NO_ANSWER, r1);
    ASSERT_EQ(HBPO_CORRECT, r2);
    PASS();
}

SUITE(answer_suite) {
    RUN_TEST(boxed_simple_and_nested);
    RUN_TEST(boxed_last_wins);
    RUN_TEST(boxed_spaced_forms);
    RUN_TEST(boxed_fbox_and_none);
    RUN_TEST(boxed_unbalanced);
    RUN_TEST(boxed_out_too_small);
    RUN_TEST(boxed_null);
    RUN_TEST(strip_early_replacements);
    RUN_TEST(strip_units_and_percent);
    RUN_TEST(strip_leading_dots);
    RUN_TEST(strip_equals);
    RUN_TEST(strip_sqrt);
    RUN_TEST(strip_fracs);
    RUN_TEST(strip_half_and_slash);
    RUN_TEST(strip_out_too_small);
    RUN_TEST(equal_pairs_match);
    RUN_TEST(unequal_pairs_differ);
    RUN_TEST(equal_numeric_tolerance);
    RUN_TEST(equal_null_and_long);
    RUN_TEST(gsm8k_extract);
    RUN_TEST(judge_outcomes);
    RUN_TEST(garbage_is_harmless);
    RUN_TEST(boxed_work_is_linear);
}

/* ---- real data (hbpo_test_data_path) ---- */

/* The boxed answer of each MATH500 solution must equal the gold `answer`, and
   a response that boxes the gold answer must be judged correct. */
TEST math500_boxed_equals_answer(void) {
    static char path[1024], ex[4096], resp[8192];
    hbpo_jsonl r;
    hbpo_json_doc doc;
    int rc, n = 0, hit = 0, judged = 0, missing = 0;
    if (!hbpo_test_data_path(path, sizeof path, "math500/test.jsonl")) SKIPm(HBPO_TEST_DATA_SKIP);
    memset(&doc, 0, sizeof doc);
    if (hbpo_jsonl_open(&r, path) != 0) HBPO_TEST__FAILF("open %s: %s", path, hbpo_last_error());
    hbpo_test__newline();
    while ((rc = hbpo_jsonl_next(&r, &doc)) == 1) {
        const char *id = hbpo_json_get_string(doc.root, "unique_id");
        const char *sol = hbpo_json_get_string(doc.root, "solution");
        const char *ans = hbpo_json_get_string(doc.root, "answer");
        int er;
        if (!sol || !ans) { missing++; continue; }
        n++;
        er = hbpo_extract_boxed(sol, ex, sizeof ex);
        if (er == 0 && hbpo_math_equal(ex, ans)) hit++;
        else
            printf("  MATH500 miss %s: extracted \"%s\", answer \"%s\"\n", id ? id : "?",
                   er == 0 ? ex : "(none)", ans);
        snprintf(resp, sizeof resp, "<think>\nwork\n</think>\nSo the answer is $\\boxed{%s}$.",
                 ans);
        if (hbpo_judge(resp, ans) == HBPO_CORRECT) judged++;
        else printf("  MATH500 judge miss %s: answer \"%s\"\n", id ? id : "?", ans);
    }
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&r);
    printf("  MATH500: %d/%d boxed solution answers equal the gold answer (%.1f%%)\n", hit, n,
           n ? 100.0 * hit / n : 0.0);
    ASSERT_EQ(0, rc);
    ASSERT_EQ(0, missing);
    ASSERT_EQ(500, n);
    ASSERTm("MATH500 match rate below 99%", hit * 100 >= 99 * n);
    ASSERT_EQ(n, judged);
    PASS();
}

/* Different MATH500 gold strings that hbpo_math_equal calls equal: printed so
   that a false positive would be seen ("90^\circ" = "90" is expected, as are
   "x=5" = "5", "\frac14" = "\frac{1}{4}", "10,\!080" = "10080"; 26 pairs in
   all). Equality must be symmetric. */
TEST math500_cross_pairs(void) {
    static char path[1024], ans[600][512];
    hbpo_jsonl r;
    hbpo_json_doc doc;
    int rc, n = 0, i, j, pairs = 0;
    if (!hbpo_test_data_path(path, sizeof path, "math500/test.jsonl")) SKIPm(HBPO_TEST_DATA_SKIP);
    memset(&doc, 0, sizeof doc);
    if (hbpo_jsonl_open(&r, path) != 0) HBPO_TEST__FAILF("open %s: %s", path, hbpo_last_error());
    while ((rc = hbpo_jsonl_next(&r, &doc)) == 1 && n < 600) {
        const char *a = hbpo_json_get_string(doc.root, "answer");
        if (a && strlen(a) < sizeof ans[0]) strcpy(ans[n++], a);
    }
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&r);
    ASSERT_EQ(500, n);
    hbpo_test__newline();
    for (i = 0; i < n; i++)
        for (j = i + 1; j < n; j++)
            if (strcmp(ans[i], ans[j]) != 0 && hbpo_math_equal(ans[i], ans[j])) {
                pairs++;
                if (hbpo_test__info.verbose) printf("  equal: \"%s\" = \"%s\"\n", ans[i], ans[j]);
                ASSERT(hbpo_math_equal(ans[j], ans[i]));
            }
    printf("  MATH500: %d pairs of different gold strings are equal answers\n", pairs);
    PASS();
}

/* Every GSM8K test answer ends in "#### N": N is a number, equal to itself
   written "N.0" and different from N + 1. */
TEST gsm8k_test_answers(void) {
    static char path[1024], out[64], alt[96];
    hbpo_jsonl r;
    hbpo_json_doc doc;
    int rc, n = 0, good = 0;
    if (!hbpo_test_data_path(path, sizeof path, "gsm8k/test.jsonl")) SKIPm(HBPO_TEST_DATA_SKIP);
    memset(&doc, 0, sizeof doc);
    if (hbpo_jsonl_open(&r, path) != 0) HBPO_TEST__FAILF("open %s: %s", path, hbpo_last_error());
    hbpo_test__newline();
    while ((rc = hbpo_jsonl_next(&r, &doc)) == 1) {
        const char *a = hbpo_json_get_string(doc.root, "answer");
        char *end = NULL;
        double v = 0.0;
        n++;
        if (!a || hbpo_gsm8k_extract(a, out, sizeof out) != 0) {
            printf("  GSM8K test line %ld: no answer (%s)\n", r.line, hbpo_last_error());
            continue;
        }
        v = strtod(out, &end);
        snprintf(alt, sizeof alt, "%s.0", out);
        if (end == out || *end != 0 || !hbpo_math_equal(out, alt) || !hbpo_math_equal(alt, out)) {
            printf("  GSM8K test line %ld: \"%s\" is no number equal to \"%s\"\n", r.line, out,
                   alt);
            continue;
        }
        snprintf(alt, sizeof alt, "%.0f", v + 1.0);
        if (hbpo_math_equal(out, alt)) {
            printf("  GSM8K test line %ld: \"%s\" equals \"%s\"\n", r.line, out, alt);
            continue;
        }
        good++;
    }
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&r);
    printf("  GSM8K test: %d/%d answers extracted, numeric and equal to N.0\n", good, n);
    ASSERT_EQ(0, rc);
    ASSERT_EQ(1319, n);
    ASSERT_EQ(n, good);
    PASS();
}

TEST gsm8k_train_answers(void) {
    static char path[1024], out[64];
    hbpo_jsonl r;
    hbpo_json_doc doc;
    int rc, n = 0, good = 0;
    if (!hbpo_test_data_path(path, sizeof path, "gsm8k/train.jsonl")) SKIPm(HBPO_TEST_DATA_SKIP);
    memset(&doc, 0, sizeof doc);
    if (hbpo_jsonl_open(&r, path) != 0) HBPO_TEST__FAILF("open %s: %s", path, hbpo_last_error());
    hbpo_test__newline();
    while ((rc = hbpo_jsonl_next(&r, &doc)) == 1) {
        const char *a = hbpo_json_get_string(doc.root, "answer");
        n++;
        if (a && hbpo_gsm8k_extract(a, out, sizeof out) == 0) good++;
        else printf("  GSM8K train line %ld: no answer (%s)\n", r.line, hbpo_last_error());
    }
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&r);
    printf("  GSM8K train: %d/%d answers extracted\n", good, n);
    ASSERT_EQ(0, rc);
    ASSERT_EQ(7473, n);
    ASSERT_EQ(n, good);
    PASS();
}

SUITE(data_suite) {
    RUN_TEST(math500_boxed_equals_answer);
    RUN_TEST(math500_cross_pairs);
    RUN_TEST(gsm8k_test_answers);
    RUN_TEST(gsm8k_train_answers);
}
