/* bench_parsers: the pathological inputs of issue 12, timed side by side at
   n and 2n in one run, with the steps hbpo_op_count counts (HBPO_COUNT_OPS):
   a text path that is O(n) or O(n log n) shows a ratio near 2 in both
   columns, a quadratic one near 4. Figures, not pass/fail (the tests check
   the step ratios; docs/fuzzing.md records these figures).

     nfc     "a" + n U+0301 + n U+0316, encoded with the Qwen3 tokenizer
             (../shared/data or $HBPO_DATA_DIR; the NFC byte-level tokenizer
             when absent). The n = 32768 took 10 s.
     boxed   n bytes of "\boxedx" through hbpo_extract_boxed; the issue's
             252 KB took 7.4 s.
     json    a string of n "\u00e9" escapes; a number of n digits.

   Usage: build/bench_parsers */
#define HBPO_IMPLEMENTATION
#define HBPO_COUNT_OPS
#include "hbpo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t put(char *s, size_t n, unsigned cp) {
    if (cp < 0x80) { s[n++] = (char)cp; return n; }
    s[n++] = (char)(0xC0 | (cp >> 6));
    s[n++] = (char)(0x80 | (cp & 0x3F));
    return n;
}

typedef struct { double sec; unsigned long long ops; } cost;

static hbpo_tokenizer *tok;
static char *buf;

static size_t make_input(int kind, size_t n) {
    size_t i, m = 0;
    if (kind == 0) {
        m = put(buf, 0, 'a');
        for (i = 0; i < n; i++) m = put(buf, m, 0x0301);
        for (i = 0; i < n; i++) m = put(buf, m, 0x0316);
    } else if (kind == 1) {
        for (; m + 7 <= n; m += 7) memcpy(buf + m, "\\boxedx", 7);
    } else if (kind == 2) {
        buf[m++] = '"';
        for (i = 0; i < n; i++, m += 6) memcpy(buf + m, "\\u00e9", 6);
        buf[m++] = '"';
    } else {
        buf[m++] = '0';
        buf[m++] = '.';
        for (i = 0; i < n; i++) buf[m++] = (char)('1' + i % 9);
    }
    buf[m] = 0;
    return m;
}

static cost run(int kind, size_t n) {
    size_t len = make_input(kind, n);
    unsigned long long c0 = hbpo_op_count();
    double t0 = hbpo_wall_time();
    char out[64];
    hbpo_json_doc doc;
    cost c;
    int r = 0;
    if (kind == 0) r = hbpo_tokenizer_encode(tok, buf, len, NULL, 0) < 0;
    else if (kind == 1) r = hbpo_extract_boxed(buf, out, sizeof out) != -1;
    else {
        r = hbpo_json_parse(&doc, buf, len) != 0;
        hbpo_json_free(&doc);
    }
    c.sec = hbpo_wall_time() - t0;
    c.ops = hbpo_op_count() - c0;
    if (r) fprintf(stderr, "bench_parsers: input %d failed: %s\n", kind, hbpo_last_error());
    return c;
}

int main(void) {
    static const char *const name[4] = {"nfc marks (n per class)", "\\boxedx (n bytes)",
                                        "json \\u00e9 x n", "json n digits"};
    static const size_t n0[4] = {32768, 262144, 262144, 1048576};
    char path[600];
    const char *d = getenv("HBPO_DATA_DIR");
    int k;
    snprintf(path, sizeof path, "%s/qwen3-tokenizer/tokenizer.json",
             d && *d ? d : "../shared/data");
    if (hbpo_tokenizer_load(&tok, path) != 0) {
        fprintf(stderr, "bench_parsers: %s; NFC row skipped\n", hbpo_last_error());
        tok = NULL;
    }
    buf = (char *)malloc(16u << 20);
    if (!buf) return 1;
    printf("bench_parsers: n and 2n side by side in one run (wall time is noisy on a shared "
           "machine; the steps are exact)\n");
    printf("%-26s %9s %10s %10s %7s %13s %13s %7s\n", "input", "n", "time n", "time 2n", "ratio",
           "steps n", "steps 2n", "ratio");
    for (k = 0; k < 4; k++) {
        cost a, b;
        if (k == 0 && !tok) continue;
        a = run(k, n0[k]);
        b = run(k, 2 * n0[k]);
        printf("%-26s %9lu %9.3fs %9.3fs %7.2f %13llu %13llu %7.2f\n", name[k],
               (unsigned long)n0[k], a.sec, b.sec, a.sec > 0 ? b.sec / a.sec : 0.0, a.ops, b.ops,
               a.ops ? (double)b.ops / (double)a.ops : 0.0);
    }
    free(buf);
    hbpo_tokenizer_free(tok);
    return 0;
}
