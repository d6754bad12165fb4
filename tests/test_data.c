/* Data: hbpo_dataset over every real file in ../shared/data (layout, count,
   gold answers, MATH500 levels; skipped when the data is absent), bad lines
   in strict and non-strict loading (files written at run time into a mkdtemp
   folder), and the synthetic arithmetic task: determinism, the shape of each
   question, answers and intermediate results checked by an independent
   evaluator here, solutions of every style judged correct, bad inputs. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include "hbpo_test.h"
#include "hbpo.h"

#include <stdint.h>
#include <unistd.h>

/* One dataset shared by the tests, freed before each use, so that a failing
   assertion (which returns early) leaks nothing. */
static hbpo_dataset dt_d;

static void dt_reset(void) { hbpo_dataset_free(&dt_d); }

/* ---- real data (hbpo_test_data_path) ---- */

/* Every file loads strictly (no bad line) with the layout AUTO detects and the
   row count of shared/data/README.md, and every gold answer, boxed, is judged
   correct against itself (so no gold answer is unmatchable). */
TEST real_files_load(void) {
    static const struct { const char *file; int layout, n; } files[] = {
        {"gsm8k/test.jsonl", HBPO_DATA_GSM8K, 1319},
        {"gsm8k/train.jsonl", HBPO_DATA_GSM8K, 7473},
        {"math500/test.jsonl", HBPO_DATA_MATH, 500},
        {"olympiadbench/test.jsonl", HBPO_DATA_MATH, 675},
        {"aime24/test.jsonl", HBPO_DATA_MATH, 30},
        {"amc23/test.jsonl", HBPO_DATA_MATH, 40},
    };
    static char path[1024], resp[8192];
    size_t f;
    int i, judged;
    if (!hbpo_test_data_path(path, sizeof path, files[0].file)) SKIPm(HBPO_TEST_DATA_SKIP);
    hbpo_test__newline();
    for (f = 0; f < sizeof files / sizeof files[0]; f++) {
        dt_reset();
        if (!hbpo_test_data_path(path, sizeof path, files[f].file))
            HBPO_TEST__FAILF("%s is missing", files[f].file);
        if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_AUTO, 1) != 0) FAILm(hbpo_last_error());
        judged = 0;
        for (i = 0; i < dt_d.n; i++) {
            ASSERT(dt_d.items[i].question[0] && dt_d.items[i].answer[0]);
            snprintf(resp, sizeof resp, "</think>\n\\boxed{%s}", dt_d.items[i].answer);
            if (hbpo_judge(resp, dt_d.items[i].answer) == HBPO_CORRECT) judged++;
            else printf("  %s item %d: boxed gold \"%s\" is not judged correct\n",
                        files[f].file, i, dt_d.items[i].answer);
        }
        printf("  %-26s %5d problems, layout %s, %d/%d gold answers judge themselves correct\n",
               files[f].file, dt_d.n, dt_d.layout == HBPO_DATA_GSM8K ? "GSM8K" : "MATH", judged,
               dt_d.n);
        ASSERT_EQ(files[f].n, dt_d.n);
        ASSERT_EQ(files[f].layout, dt_d.layout);
        ASSERT_EQ(0, dt_d.n_skipped);
        ASSERT_STR_EQ("", hbpo_dataset_first_skip(&dt_d));
        ASSERT_EQ(dt_d.n, judged);
    }
    dt_reset();
    PASS();
}

/* GSM8K gold answers are the numbers after "####", commas removed. */
TEST real_gsm8k_answers(void) {
    static char path[1024];
    char *end;
    int i;
    if (!hbpo_test_data_path(path, sizeof path, "gsm8k/test.jsonl")) SKIPm(HBPO_TEST_DATA_SKIP);
    dt_reset();
    if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_GSM8K, 1) != 0) FAILm(hbpo_last_error());
    ASSERT_STR_EQ("18", dt_d.items[0].answer);
    ASSERT_STR_EQ("3", dt_d.items[1].answer);
    ASSERT(strncmp(dt_d.items[0].question, "Janet\xE2\x80\x99s ducks lay 16 eggs", 25) == 0);
    for (i = 0; i < dt_d.n; i++) {
        /* every one is a plain number: strtod reads all of it */
        strtod(dt_d.items[i].answer, &end);
        if (*end != 0 || strchr(dt_d.items[i].answer, ','))
            HBPO_TEST__FAILF("item %d: answer \"%s\" is not a plain number", i,
                             dt_d.items[i].answer);
        ASSERT_EQ(0, dt_d.items[i].level);
    }
    /* "#### 2,125" in the file */
    for (i = 0; i < dt_d.n; i++)
        if (!strcmp(dt_d.items[i].answer, "2125")) break;
    ASSERT(i < dt_d.n);
    /* Read as MATH, the whole worked solution is the answer. */
    dt_reset();
    if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_MATH, 1) != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(1319, dt_d.n);
    ASSERT(strstr(dt_d.items[0].answer, "#### 18") != NULL);
    dt_reset();
    if (!hbpo_test_data_path(path, sizeof path, "gsm8k/train.jsonl")) SKIPm(HBPO_TEST_DATA_SKIP);
    if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_AUTO, 1) != 0) FAILm(hbpo_last_error());
    ASSERT_STR_EQ("72", dt_d.items[0].answer);
    dt_reset();
    PASS();
}

/* MATH500 levels are 1..5 with the known counts; the answers are the strings. */
TEST real_math500_levels(void) {
    static char path[1024];
    int count[6] = {0, 0, 0, 0, 0, 0}, i;
    if (!hbpo_test_data_path(path, sizeof path, "math500/test.jsonl")) SKIPm(HBPO_TEST_DATA_SKIP);
    dt_reset();
    if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_MATH, 1) != 0) FAILm(hbpo_last_error());
    for (i = 0; i < dt_d.n; i++) {
        ASSERT_IN_RANGE(1, dt_d.items[i].level, 5);
        count[dt_d.items[i].level]++;
    }
    ASSERT_EQ(43, count[1]);
    ASSERT_EQ(90, count[2]);
    ASSERT_EQ(105, count[3]);
    ASSERT_EQ(128, count[4]);
    ASSERT_EQ(134, count[5]);
    ASSERT_STR_EQ("\\left( 3, \\frac{\\pi}{2} \\right)", dt_d.items[0].answer);
    ASSERT_EQ(2, dt_d.items[0].level);
    ASSERT(strncmp(dt_d.items[0].question, "Convert the point $(0,3)$", 25) == 0);
    /* As GSM8K nothing has "####": strict stops at line 1, non-strict finds nothing. */
    dt_reset();
    ASSERT_EQ(-1, hbpo_dataset_load(&dt_d, path, HBPO_DATA_GSM8K, 1));
    ASSERT(strstr(hbpo_last_error(), "test.jsonl line 1: ") != NULL);
    ASSERT(strstr(hbpo_last_error(), "####") != NULL);
    ASSERT_EQ(-1, hbpo_dataset_load(&dt_d, path, HBPO_DATA_GSM8K, 0));
    ASSERT(strstr(hbpo_last_error(), "no valid problems (500 bad lines, first: ") != NULL);
    ASSERT(dt_d.n == 0 && dt_d.items == NULL);
    PASS();
}

/* The other benchmarks: AIME's string answers, AMC's numbers, OlympiadBench's
   final_answer lists with their '$' removed. */
TEST real_other_answers(void) {
    static char path[1024];
    int i, found = 0;
    if (!hbpo_test_data_path(path, sizeof path, "amc23/test.jsonl")) SKIPm(HBPO_TEST_DATA_SKIP);
    dt_reset();
    if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_AUTO, 1) != 0) FAILm(hbpo_last_error());
    ASSERT_STR_EQ("27", dt_d.items[0].answer); /* 27.0 in the file */
    ASSERT_STR_EQ("3159", dt_d.items[3].answer);
    dt_reset();
    if (!hbpo_test_data_path(path, sizeof path, "aime24/test.jsonl")) SKIPm(HBPO_TEST_DATA_SKIP);
    if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_AUTO, 1) != 0) FAILm(hbpo_last_error());
    ASSERT_STR_EQ("204", dt_d.items[0].answer);
    ASSERT_STR_EQ("025", dt_d.items[7].answer);
    ASSERT(strncmp(dt_d.items[0].question, "Every morning Aya", 17) == 0);
    dt_reset();
    if (!hbpo_test_data_path(path, sizeof path, "olympiadbench/test.jsonl")) SKIPm(HBPO_TEST_DATA_SKIP);
    if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_AUTO, 1) != 0) FAILm(hbpo_last_error());
    ASSERT_STR_EQ("2", dt_d.items[0].answer);
    ASSERT_STR_EQ("\\frac{1}{2 n+2}", dt_d.items[1].answer);
    ASSERT_STR_EQ("(1,8,19), (2,7,13), (4,5,7)", dt_d.items[5].answer);
    ASSERT(strncmp(dt_d.items[0].question, "Xenia and Sergey", 16) == 0);
    for (i = 0; i < dt_d.n; i++) {
        if (!strcmp(dt_d.items[i].answer, "69,84")) found++; /* "$69$,$84$" */
        if (strchr(dt_d.items[i].answer, '$') && !strstr(dt_d.items[i].answer, "\\$"))
            HBPO_TEST__FAILF("item %d: answer \"%s\" keeps a '$'", i, dt_d.items[i].answer);
    }
    ASSERT_EQ(1, found);
    dt_reset();
    PASS();
}

/* ---- files written here ---- */

static char dt_dir[512];
static char dt_names[32][64];
static int dt_n_names;

/* Writes len bytes to a file in the temporary folder (made on first use);
   its path goes to path. 0 or -1. */
static int dt_write(const char *name, const char *data, size_t len, char *path, size_t cap) {
    const char *tmp = getenv("TMPDIR");
    FILE *f;
    size_t w;
    int i;
    if (!dt_dir[0]) {
        snprintf(dt_dir, sizeof dt_dir, "%s/hbpo_data_XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if (!mkdtemp(dt_dir)) { dt_dir[0] = 0; return -1; }
    }
    snprintf(path, cap, "%s/%s", dt_dir, name);
    for (i = 0; i < dt_n_names && strcmp(dt_names[i], name) != 0; i++) {}
    if (i == dt_n_names) {
        if (dt_n_names == 32 || strlen(name) >= sizeof dt_names[0]) return -1;
        strcpy(dt_names[dt_n_names++], name);
    }
    f = fopen(path, "wb");
    if (!f) return -1;
    w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

static int dt_write_text(const char *name, const char *text, char *path, size_t cap) {
    return dt_write(name, text, strlen(text), path, cap);
}

static void dt_cleanup(void) {
    char path[1024];
    int i;
    if (!dt_dir[0]) return;
    for (i = 0; i < dt_n_names; i++) {
        snprintf(path, sizeof path, "%.500s/%.63s", dt_dir, dt_names[i]);
        remove(path);
    }
    rmdir(dt_dir);
    dt_dir[0] = 0;
    dt_n_names = 0;
}

/* The call must fail with -1, leave d empty and a message containing want. */
#define ASSERT_LOAD_FAILS(path, layout, strict, want)                           \
    do {                                                                        \
        int dt__rc = hbpo_dataset_load(&dt_d, (path), (layout), (strict));      \
        if (dt__rc != -1 || !strstr(hbpo_last_error(), (want)) || dt_d.n != 0 || \
            dt_d.items != NULL)                                                 \
            HBPO_TEST__FAILF("load: rc %d, n %d, message \"%s\" lacks \"%s\"", dt__rc, dt_d.n, \
                             hbpo_last_error(), (want));                        \
    } while (0)

/* Each kind of bad line alone after a good one: strict names the line and the
   reason; non-strict keeps the good line and counts the bad one. */
TEST bad_lines_each(void) {
    static const struct { const char *line, *why; } bad[] = {
        {"{\"problem\": \"2+2?\", ", "line 2: not valid JSON: column 21:"},
        {"not json at all", "line 2: not valid JSON: column 1:"},
        {"[1, 2]", "line 2: an array, not a JSON object"},
        {"\"2+2\"", "line 2: a string, not a JSON object"},
        {"{\"answer\": \"4\"}", "line 2: no \"problem\" or \"question\" field"},
        {"{\"problem\": 4, \"answer\": \"4\"}", "line 2: \"problem\" is a number, not a string"},
        {"{\"question\": null, \"answer\": \"4\"}", "line 2: \"question\" is null, not a string"},
        {"{\"problem\": \"2+2?\"}", "line 2: no \"answer\" or \"final_answer\" field"},
        {"{\"problem\": \"2+2?\", \"answer\": true}", "line 2: \"answer\" is a boolean, not a string or a number"},
        {"{\"problem\": \"2+2?\", \"answer\": [\"4\"]}", "line 2: \"answer\" is an array"},
        {"{\"problem\": \"2+2?\", \"final_answer\": [4]}", "line 2: \"final_answer\" holds a number"},
        {"{\"problem\": \"2+2?\", \"final_answer\": []}", "line 2: \"final_answer\" is empty"},
        {"{\"problem\": \"\", \"answer\": \"4\"}", "line 2: \"problem\" is empty"},
        {"{\"problem\": \"2+2?\", \"answer\": \"\"}", "line 2: \"answer\" is empty"},
        {"{\"problem\": \"2+\\u0000?\", \"answer\": \"4\"}", "line 2: \"problem\" holds a NUL byte"},
    };
    static char path[700];
    static char text[512];
    size_t i;
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dt_reset();
        snprintf(text, sizeof text, "{\"problem\": \"1+1?\", \"answer\": \"2\"}\n%s\n", bad[i].line);
        ASSERT_EQ(0, dt_write_text("one_bad.jsonl", text, path, sizeof path));
        hbpo_clear_error();
        if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_MATH, 1) != -1 ||
            !strstr(hbpo_last_error(), bad[i].why) || !strstr(hbpo_last_error(), path) ||
            dt_d.n != 0 || dt_d.items != NULL)
            HBPO_TEST__FAILF("line %s: message \"%s\" lacks \"%s\"", bad[i].line,
                             hbpo_last_error(), bad[i].why);
        if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_MATH, 0) != 0) FAILm(hbpo_last_error());
        ASSERT_EQ(1, dt_d.n);
        ASSERT_EQ(1, dt_d.n_skipped);
        ASSERT(strstr(hbpo_dataset_first_skip(&dt_d), bad[i].why) != NULL);
        ASSERT_STR_EQ("2", dt_d.items[0].answer);
    }
    dt_reset();
    PASS();
}

/* A file mixing good and bad lines, blank lines and CRLF. */
TEST bad_lines_mixed(void) {
    static const char text[] =
        "{\"problem\": \"What is 1+1?\", \"answer\": \"2\", \"level\": \"Level 1\"}\n"
        "{\"problem\": \n"                                     /* 2: not JSON */
        "\n"                                                   /* 3: blank */
        "{\"question\": 5, \"answer\": \"x\"}\r\n"             /* 4: number */
        "{\"answer\": \"3\"}\n"                                /* 5: no problem */
        "   \r\n"                                              /* 6: blank */
        "{\"problem\": \"And 2+2?\", \"answer\": 4, \"level\": 3}\r\n"
        "[1,2]\n"                                              /* 8: not an object */
        "{\"problem\": \"p\", \"answer\": false}";             /* 9: no newline at the end */
    static char path[700];
    dt_reset();
    ASSERT_EQ(0, dt_write_text("mixed.jsonl", text, path, sizeof path));
    ASSERT_LOAD_FAILS(path, HBPO_DATA_AUTO, 1, "mixed.jsonl line 2: not valid JSON");
    if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_AUTO, 0) != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(2, dt_d.n);
    ASSERT_EQ(5, dt_d.n_skipped);
    ASSERT_EQ(HBPO_DATA_MATH, dt_d.layout);
    ASSERT(strstr(hbpo_dataset_first_skip(&dt_d), "mixed.jsonl line 2: not valid JSON") != NULL);
    ASSERT_STR_EQ("What is 1+1?", dt_d.items[0].question);
    ASSERT_STR_EQ("2", dt_d.items[0].answer);
    ASSERT_EQ(1, dt_d.items[0].level);
    ASSERT_STR_EQ("And 2+2?", dt_d.items[1].question);
    ASSERT_STR_EQ("4", dt_d.items[1].answer);
    ASSERT_EQ(3, dt_d.items[1].level);
    dt_reset();
    PASS();
}

/* Empty, blank-only, all-bad and missing files, a huge line, bad arguments. */
TEST bad_files(void) {
    static char path[700], missing[700];
    char *big;
    size_t n = ((size_t)1 << 20) + 100, i;
    dt_reset();
    ASSERT_EQ(0, dt_write_text("empty.jsonl", "", path, sizeof path));
    ASSERT_LOAD_FAILS(path, HBPO_DATA_AUTO, 0, "no problems (the file is empty)");
    ASSERT_LOAD_FAILS(path, HBPO_DATA_AUTO, 1, "no problems (the file is empty)");
    ASSERT_EQ(0, dt_write_text("blank.jsonl", "\n\r\n  \n", path, sizeof path));
    ASSERT_LOAD_FAILS(path, HBPO_DATA_MATH, 0, "no problems (the file is empty)");
    ASSERT_EQ(0, dt_write_text("allbad.jsonl", "{}\n[]\nx\n", path, sizeof path));
    ASSERT_LOAD_FAILS(path, HBPO_DATA_AUTO, 0,
                      "no valid problems (3 bad lines, first: ");
    ASSERT(strstr(hbpo_last_error(), "allbad.jsonl line 1: no \"problem\" or \"question\" field"));
    ASSERT_LOAD_FAILS(path, HBPO_DATA_AUTO, 1, "allbad.jsonl line 1: no \"problem\"");
    snprintf(missing, sizeof missing, "%s/no_such_file.jsonl", dt_dir);
    ASSERT_LOAD_FAILS(missing, HBPO_DATA_AUTO, 0, "cannot open");
    ASSERT_LOAD_FAILS(dt_dir, HBPO_DATA_AUTO, 0, ""); /* a folder: a read error */
    ASSERT_LOAD_FAILS(NULL, HBPO_DATA_AUTO, 0, "path is NULL");
    ASSERT_LOAD_FAILS(path, 3, 0, "layout 3");
    ASSERT_LOAD_FAILS(path, -1, 0, "layout -1");
    ASSERT_EQ(-1, hbpo_dataset_load(NULL, path, HBPO_DATA_AUTO, 0));
    /* A question of 1 MiB + 100 bytes on line 2 (the limit is below 1 MiB). */
    big = (char *)malloc(n + 200);
    ASSERT(big != NULL);
    strcpy(big, "{\"problem\": \"ok?\", \"answer\": \"1\"}\n{\"answer\": \"2\", \"problem\": \"");
    i = strlen(big);
    memset(big + i, 'x', n);
    strcpy(big + i + n, "\"}\n{\"problem\": \"ok again?\", \"answer\": \"3\"}\n");
    if (dt_write_text("huge.jsonl", big, path, sizeof path) != 0) { free(big); FAIL(); }
    free(big);
    ASSERT_LOAD_FAILS(path, HBPO_DATA_AUTO, 1, "huge.jsonl line 2: \"problem\" has 1048676 bytes");
    if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_AUTO, 0) != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(2, dt_d.n);
    ASSERT_EQ(1, dt_d.n_skipped);
    ASSERT_STR_EQ("3", dt_d.items[1].answer);
    dt_reset();
    hbpo_dataset_free(&dt_d); /* twice is harmless */
    hbpo_dataset_free(NULL);
    ASSERT_STR_EQ("", hbpo_dataset_first_skip(NULL));
    PASS();
}

/* AUTO takes the layout from the first valid line and keeps it. */
TEST layout_detection(void) {
    static char path[700];
    dt_reset();
    ASSERT_EQ(0, dt_write_text("gsm.jsonl",
                               "garbage\n"
                               "{\"question\": \"q1\", \"answer\": \"work\\n#### 1,234\"}\n"
                               "{\"question\": \"q2\", \"answer\": \"no hashes\"}\n"
                               "{\"question\": \"q3\", \"answer\": \"#### -5\"}\n",
                               path, sizeof path));
    if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_AUTO, 0) != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(HBPO_DATA_GSM8K, dt_d.layout);
    ASSERT_EQ(2, dt_d.n);
    ASSERT_EQ(2, dt_d.n_skipped);
    ASSERT_STR_EQ("1234", dt_d.items[0].answer);
    ASSERT_STR_EQ("-5", dt_d.items[1].answer);
    dt_reset(); /* a load overwrites d: free the previous dataset first */
    ASSERT_LOAD_FAILS(path, HBPO_DATA_GSM8K, 1, "gsm.jsonl line 1: not valid JSON");
    ASSERT_EQ(0, dt_write_text("gsm2.jsonl",
                               "{\"question\": \"q1\", \"answer\": \"#### 7\"}\n"
                               "{\"question\": \"q2\", \"answer\": \"####   \"}\n"
                               "{\"question\": \"q3\", \"answer\": 7}\n",
                               path, sizeof path));
    ASSERT_LOAD_FAILS(path, HBPO_DATA_AUTO, 1, "gsm2.jsonl line 2: \"answer\" does not end in");
    if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_AUTO, 0) != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(1, dt_d.n);
    ASSERT_EQ(2, dt_d.n_skipped);
    /* question + answer without "####" is MATH-like (AMC, AIME); numbers,
       final_answer strings and levels. */
    dt_reset();
    ASSERT_EQ(0, dt_write_text("mathlike.jsonl",
                               "{\"question\": \"q1\", \"answer\": 0.1, \"level\": \"Level ?\"}\n"
                               "{\"question\": \"q2\", \"answer\": \"####\"}\n"
                               "{\"problem\": \"q3\", \"final_answer\": \"$x$ \\\\$5\", \"level\": 2.5}\n"
                               "{\"problem\": \"q4\", \"final_answer\": [\" $1$\", \"$2$\"], \"level\": \"4\"}\n"
                               "{\"problem\": \"q5\", \"answer\": -2.5e3, \"level\": -1}\n",
                               path, sizeof path));
    if (hbpo_dataset_load(&dt_d, path, HBPO_DATA_AUTO, 1) != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(HBPO_DATA_MATH, dt_d.layout);
    ASSERT_EQ(5, dt_d.n);
    ASSERT_STR_EQ("0.1", dt_d.items[0].answer);
    ASSERT_EQ(0, dt_d.items[0].level);
    ASSERT_STR_EQ("####", dt_d.items[1].answer);
    ASSERT_STR_EQ("x \\$5", dt_d.items[2].answer);
    ASSERT_EQ(0, dt_d.items[2].level);
    ASSERT_STR_EQ("1, 2", dt_d.items[3].answer);
    ASSERT_EQ(4, dt_d.items[3].level);
    ASSERT_STR_EQ("-2500", dt_d.items[4].answer);
    ASSERT_EQ(0, dt_d.items[4].level);
    dt_reset();
    PASS();
}

/* hbpo_dataset_add copies its strings and checks its arguments. */
TEST dataset_add(void) {
    char q[16], a[16];
    static char big[5000];
    hbpo_dataset bad;
    int i;
    dt_reset();
    strcpy(q, "1+1?");
    strcpy(a, "2");
    ASSERT_EQ(0, hbpo_dataset_add(&dt_d, q, a, 3));
    strcpy(q, "changed");
    strcpy(a, "9");
    ASSERT_STR_EQ("1+1?", dt_d.items[0].question);
    ASSERT_STR_EQ("2", dt_d.items[0].answer);
    ASSERT_EQ(3, dt_d.items[0].level);
    for (i = 0; i < 1000; i++) { /* growth keeps earlier strings where they were */
        snprintf(q, sizeof q, "q%d", i);
        snprintf(a, sizeof a, "%d", i);
        ASSERT_EQ(0, hbpo_dataset_add(&dt_d, q, a, i % 6));
    }
    ASSERT_EQ(1001, dt_d.n);
    ASSERT_STR_EQ("q999", dt_d.items[1000].question);
    ASSERT_STR_EQ("1+1?", dt_d.items[0].question);
    ASSERT_EQ(-1, hbpo_dataset_add(&dt_d, NULL, "1", 0));
    ASSERT_EQ(-1, hbpo_dataset_add(&dt_d, "q", NULL, 0));
    ASSERT_EQ(-1, hbpo_dataset_add(&dt_d, "", "1", 0));
    ASSERT_EQ(-1, hbpo_dataset_add(&dt_d, "q", "", 0));
    ASSERT_EQ(-1, hbpo_dataset_add(&dt_d, "q", "1", -1));
    memset(big, '7', sizeof big - 1);
    ASSERT_EQ(-1, hbpo_dataset_add(&dt_d, "q", big, 0));
    ASSERT(strstr(hbpo_last_error(), "\"answer\" has 4999 bytes") != NULL);
    ASSERT_EQ(-1, hbpo_dataset_add(NULL, "q", "1", 0));
    ASSERT_EQ(1001, dt_d.n);
    memset(&bad, 0, sizeof bad);
    bad.n = 5; /* never zeroed properly: caught, not written through */
    ASSERT_EQ(-1, hbpo_dataset_add(&bad, "q", "1", 0));
    ASSERT(strstr(hbpo_last_error(), "not initialised") != NULL);
    ASSERT_EQ(-1, hbpo_synth_dataset(&bad, 1, 1, 1, 1));
    dt_reset();
    PASS();
}

/* ---- the synthetic task ---- */

/* An independent reading of a synthetic question: the first number, then
   each operator and operand. Checks every value as hbpo_synth_problem
   promises; returns the number of operations and the result, or -1. */
static int dt_eval(const char *q, int *result) {
    int v, ops = 0, b;
    if (!(q[0] >= '1' && q[0] <= '9')) return -1;
    v = q[0] - '0';
    q++;
    while (*q == '+' || *q == '-') {
        if (!(q[1] >= '1' && q[1] <= '9')) return -1;
        b = q[1] - '0';
        v = *q == '+' ? v + b : v - b;
        if (v < 0 || v > HBPO_SYNTH_MAX_VALUE) return -1;
        ops++;
        q += 2;
    }
    if (strcmp(q, "=?") != 0) return -1;
    *result = v;
    return ops;
}

TEST synth_problems_shape(void) {
    hbpo_rng r;
    char q[32], a[8], want[8];
    int level, i, res, ops[2] = {0, 0};
    const char *p;
    hbpo_rng_seed(&r, 12345);
    for (level = 1; level <= HBPO_SYNTH_MAX_LEVEL; level++)
        for (i = 0; i < 2000; i++) {
            ASSERT_EQ(0, hbpo_synth_problem(&r, level, q, sizeof q, a, sizeof a));
            if (dt_eval(q, &res) != level)
                HBPO_TEST__FAILF("level %d: \"%s\" is not %d valid operations", level, q, level);
            ASSERT_EQ((size_t)(2 * level + 3), strlen(q));
            snprintf(want, sizeof want, "%d", res);
            ASSERT_STR_EQ(want, a);
            ASSERT_EQ(level, hbpo_synth_level(q));
            for (p = q; *p; p++) {
                if (*p == '+') ops[0]++;
                if (*p == '-') ops[1]++;
            }
        }
    /* both operators are common (resampling favours + near 0, - near the top) */
    ASSERT(ops[0] > 20000 && ops[1] > 20000);
    PASS();
}

TEST synth_determinism(void) {
    hbpo_dataset e;
    int i, same = 0;
    memset(&e, 0, sizeof e);
    dt_reset();
    ASSERT_EQ(0, hbpo_synth_dataset(&dt_d, 42, 50, 1, 8));
    if (hbpo_synth_dataset(&e, 42, 50, 1, 8) != 0) { hbpo_dataset_free(&e); FAIL(); }
    ASSERT_EQ(400, dt_d.n);
    for (i = 0; i < dt_d.n; i++)
        if (strcmp(dt_d.items[i].question, e.items[i].question) == 0 &&
            strcmp(dt_d.items[i].answer, e.items[i].answer) == 0 &&
            dt_d.items[i].level == e.items[i].level)
            same++;
    hbpo_dataset_free(&e);
    ASSERT_EQ(400, same);
    /* another seed, another set */
    ASSERT_EQ(0, hbpo_synth_dataset(&e, 43, 50, 1, 8));
    same = 0;
    for (i = 0; i < dt_d.n; i++)
        if (strcmp(dt_d.items[i].question, e.items[i].question) == 0) same++;
    hbpo_dataset_free(&e);
    ASSERT(same < 100); /* level 1 has few distinct problems, so some repeat */
    /* interleaved levels, every answer right */
    for (i = 0; i < dt_d.n; i++) {
        int res;
        ASSERT_EQ(1 + i % 8, dt_d.items[i].level);
        ASSERT_EQ(dt_d.items[i].level, dt_eval(dt_d.items[i].question, &res));
        ASSERT_EQ(res, atoi(dt_d.items[i].answer));
    }
    /* appends to what is there */
    ASSERT_EQ(0, hbpo_synth_dataset(&dt_d, 7, 3, 5, 6));
    ASSERT_EQ(406, dt_d.n);
    ASSERT_EQ(5, dt_d.items[400].level);
    ASSERT_EQ(6, dt_d.items[405].level);
    ASSERT_EQ(0, hbpo_synth_dataset(&dt_d, 7, 0, 1, 8));
    ASSERT_EQ(406, dt_d.n);
    dt_reset();
    PASS();
}

/* The three styles for one question, exactly. */
TEST synth_solution_texts(void) {
    char out[HBPO_SYNTH_MAX_SOLUTION];
    int n;
    n = hbpo_synth_solution("7+5-3=?", HBPO_SYNTH_DIRECT, NULL, out, sizeof out);
    ASSERT_STR_EQ("</think>\n\\boxed{9}", out);
    ASSERT_EQ(strlen(out), n);
    n = hbpo_synth_solution("7+5-3=?", HBPO_SYNTH_STEPS, NULL, out, sizeof out);
    ASSERT_STR_EQ("7+5=12\n12-3=9\n</think>\n\\boxed{9}", out);
    ASSERT_EQ(strlen(out), n);
    n = hbpo_synth_solution("7+5-3=?", HBPO_SYNTH_VERBOSE, NULL, out, sizeof out);
    ASSERT_STR_EQ("7+5=12\n12-3=9\nwait, let me check: 7+5=12, 12-3=9\n</think>\n\\boxed{9}", out);
    ASSERT_EQ(strlen(out), n);
    n = hbpo_synth_solution("9-9=?", HBPO_SYNTH_STEPS, NULL, out, sizeof out);
    ASSERT_STR_EQ("9-9=0\n</think>\n\\boxed{0}", out);
    ASSERT_EQ(HBPO_CORRECT, hbpo_judge(out, "0"));
    PASS();
}

/* Every style at every level is judged correct; VERBOSE = STEPS + 1 or 2
   re-checks (both occur, several phrasings occur); lengths grow with style. */
TEST synth_solutions_judged(void) {
    hbpo_rng r, rv;
    char q[32], a[8], d[HBPO_SYNTH_MAX_SOLUTION], s[HBPO_SYNTH_MAX_SOLUTION],
        v[HBPO_SYNTH_MAX_SOLUTION];
    int level, i, nd, ns, nv, checks, count[3] = {0, 0, 0}, longest = 0;
    int phr[4] = {0, 0, 0, 0};
    const char *p, *const phrases[4] = {"wait, let me check:", "let me verify:", "double-check:",
                                        "hmm, checking again:"};
    hbpo_rng_seed(&r, 99);
    hbpo_rng_seed(&rv, 100);
    for (level = 1; level <= HBPO_SYNTH_MAX_LEVEL; level++)
        for (i = 0; i < 300; i++) {
            ASSERT_EQ(0, hbpo_synth_problem(&r, level, q, sizeof q, a, sizeof a));
            nd = hbpo_synth_solution(q, HBPO_SYNTH_DIRECT, &rv, d, sizeof d);
            ns = hbpo_synth_solution(q, HBPO_SYNTH_STEPS, &rv, s, sizeof s);
            nv = hbpo_synth_solution(q, HBPO_SYNTH_VERBOSE, &rv, v, sizeof v);
            ASSERT(nd > 0 && ns > nd && nv > ns);
            ASSERT_EQ(strlen(v), nv);
            if (nv > longest) longest = nv;
            ASSERT_EQ(HBPO_CORRECT, hbpo_judge(d, a));
            ASSERT_EQ(HBPO_CORRECT, hbpo_judge(s, a));
            ASSERT_EQ(HBPO_CORRECT, hbpo_judge(v, a));
            /* STEPS: `level` lines "x op y = z", then "</think>\n" */
            checks = 0;
            for (p = s; *p; p++) checks += *p == '\n';
            ASSERT_EQ(level + 1, checks);
            /* VERBOSE starts with the steps and adds whole re-check lines */
            ASSERT(strncmp(v, s, (size_t)(ns - nd)) == 0);
            checks = 0;
            for (p = v + (ns - nd); *p && strncmp(p, "</think>", 8) != 0; p++) checks += *p == '\n';
            ASSERT_IN_RANGE(1, checks, 2);
            count[checks]++;
            for (checks = 0; checks < 4; checks++)
                if (strstr(v, phrases[checks])) phr[checks]++;
            ASSERT_STR_EQ(d, v + nv - nd); /* same ending */
        }
    ASSERT(count[1] > 300 && count[2] > 300);
    ASSERT(phr[0] > 100 && phr[1] > 100 && phr[2] > 100 && phr[3] > 100);
    ASSERT(longest < HBPO_SYNTH_MAX_SOLUTION);
    hbpo_test__newline();
    printf("  synthetic task: longest VERBOSE solution %d bytes (limit %d)\n", longest,
           HBPO_SYNTH_MAX_SOLUTION);
    PASS();
}

/* The longest possible solution still fits HBPO_SYNTH_MAX_SOLUTION, and out
   one byte too small fails cleanly. */
TEST synth_solution_sizes(void) {
    static const char q[] = "9+9-1+1-1+1-1+1-1=?"; /* every step after the first has two-digit values */
    char out[HBPO_SYNTH_MAX_SOLUTION];
    hbpo_rng r;
    int n, i, longest = 0;
    hbpo_rng_seed(&r, 1);
    for (i = 0; i < 200; i++) {
        n = hbpo_synth_solution(q, HBPO_SYNTH_VERBOSE, &r, out, sizeof out);
        ASSERT(n > 0);
        if (n > longest) longest = n;
    }
    ASSERT(longest < HBPO_SYNTH_MAX_SOLUTION);
    n = hbpo_synth_solution(q, HBPO_SYNTH_STEPS, NULL, out, sizeof out);
    ASSERT(n > 0);
    ASSERT_EQ(n, hbpo_synth_solution(q, HBPO_SYNTH_STEPS, NULL, out, (size_t)n + 1));
    ASSERT_EQ(-1, hbpo_synth_solution(q, HBPO_SYNTH_STEPS, NULL, out, (size_t)n));
    ASSERT_STR_EQ("", out);
    ASSERT(strstr(hbpo_last_error(), "too small") != NULL);
    ASSERT_EQ(-1, hbpo_synth_solution(q, HBPO_SYNTH_DIRECT, NULL, out, 5));
    ASSERT_EQ(-1, hbpo_synth_solution(q, HBPO_SYNTH_DIRECT, NULL, out, 0));
    ASSERT_EQ(-1, hbpo_synth_solution(q, HBPO_SYNTH_DIRECT, NULL, NULL, 10));
    PASS();
}

TEST synth_bad_inputs(void) {
    static const char *const bad[] = {
        "", "7", "7=?", "7+5=", "7+5=?x", "7+5= ?", " 7+5=?", "0+5=?", "7+0=?", "7++5=?",
        "7+55=?", "17+5=?", "1-5=?", "9-9+9-9+9-9+9-9+9-9=?" /* 9 ops */, "7*5=?", "7+5=9",
        "9+9+9+9+9+9+9+9-9+9+9+9=?", "9+9+9+9+9+9+9+9+9+9+9+9=?" /* past 99 */,
    };
    hbpo_rng r;
    char q[32], a[8], out[64];
    size_t i;
    hbpo_rng_seed(&r, 5);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (hbpo_synth_level(bad[i]) != -1) HBPO_TEST__FAILF("level of \"%s\" is not -1", bad[i]);
        if (hbpo_synth_solution(bad[i], HBPO_SYNTH_STEPS, &r, out, sizeof out) != -1 ||
            !strstr(hbpo_last_error(), "not a synthetic question"))
            HBPO_TEST__FAILF("solution of \"%s\": message \"%s\"", bad[i], hbpo_last_error());
    }
    ASSERT_EQ(-1, hbpo_synth_level(NULL));
    ASSERT_EQ(-1, hbpo_synth_solution(NULL, HBPO_SYNTH_STEPS, &r, out, sizeof out));
    ASSERT_EQ(-1, hbpo_synth_solution("7+5=?", 3, &r, out, sizeof out));
    ASSERT_EQ(-1, hbpo_synth_solution("7+5=?", -1, &r, out, sizeof out));
    ASSERT_EQ(1, hbpo_synth_level("7+5=?"));
    ASSERT_EQ(8, hbpo_synth_level("9-9+9-9+9-9+9-9+9=?"));
    /* levels 0 and 9, buffers one byte short, NULLs */
    ASSERT_EQ(-1, hbpo_synth_problem(&r, 0, q, sizeof q, a, sizeof a));
    ASSERT_EQ(-1, hbpo_synth_problem(&r, HBPO_SYNTH_MAX_LEVEL + 1, q, sizeof q, a, sizeof a));
    ASSERT_EQ(-1, hbpo_synth_problem(&r, -3, q, sizeof q, a, sizeof a));
    ASSERT_EQ(-1, hbpo_synth_problem(&r, 3, q, 9, a, sizeof a));
    ASSERT_EQ(0, hbpo_synth_problem(&r, 3, q, 10, a, sizeof a));
    ASSERT_EQ(-1, hbpo_synth_problem(&r, 3, q, sizeof q, a, 2));
    ASSERT_EQ(0, hbpo_synth_problem(&r, 3, q, sizeof q, a, 3));
    ASSERT_EQ(-1, hbpo_synth_problem(&r, 8, q, 19, a, 3));
    ASSERT_EQ(0, hbpo_synth_problem(&r, 8, q, 20, a, 3));
    ASSERT_EQ(-1, hbpo_synth_problem(NULL, 3, q, sizeof q, a, sizeof a));
    ASSERT_EQ(-1, hbpo_synth_problem(&r, 3, NULL, sizeof q, a, sizeof a));
    ASSERT_EQ(-1, hbpo_synth_problem(&r, 3, q, sizeof q, NULL, sizeof a));
    /* datasets: bad level ranges and counts leave d as it was */
    dt_reset();
    ASSERT_EQ(-1, hbpo_synth_dataset(&dt_d, 1, 10, 0, 3));
    ASSERT_EQ(-1, hbpo_synth_dataset(&dt_d, 1, 10, 1, HBPO_SYNTH_MAX_LEVEL + 1));
    ASSERT_EQ(-1, hbpo_synth_dataset(&dt_d, 1, 10, 5, 4));
    ASSERT_EQ(-1, hbpo_synth_dataset(&dt_d, 1, -1, 1, 8));
    ASSERT_EQ(-1, hbpo_synth_dataset(&dt_d, 1, 1 << 30, 1, 8));
    ASSERT_EQ(-1, hbpo_synth_dataset(NULL, 1, 10, 1, 8));
    ASSERT_EQ(0, dt_d.n);
    ASSERT(dt_d.items == NULL);
    PASS();
}

SUITE(data_layer_suite) {
    RUN_TEST(real_files_load);
    RUN_TEST(real_gsm8k_answers);
    RUN_TEST(real_math500_levels);
    RUN_TEST(real_other_answers);
    RUN_TEST(bad_lines_each);
    RUN_TEST(bad_lines_mixed);
    RUN_TEST(bad_files);
    RUN_TEST(layout_detection);
    RUN_TEST(dataset_add);
    RUN_TEST(synth_problems_shape);
    RUN_TEST(synth_determinism);
    RUN_TEST(synth_solution_texts);
    RUN_TEST(synth_solutions_judged);
    RUN_TEST(synth_solution_sizes);
    RUN_TEST(synth_bad_inputs);
    dt_reset();
    dt_cleanup();
}
