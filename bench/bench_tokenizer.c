/* bench_tokenizer - how fast hbpo's tokenizer loads and encodes.

   Loads the Qwen3 tokenizer.json from ../shared/data (or $HBPO_DATA_DIR), then
   encodes the GSM8K test questions and answers and the MATH500 problems and
   solutions one text at a time on one thread, repeating the corpus until at
   least 2 s have passed, and prints the load time, texts, bytes, tokens,
   tokens/s and MB/s. It checks nothing (tests/test_tokenizer.c does); the
   Hugging Face figure on the same corpus comes from bench/tokenizer_reference.py.

       make bench            (or: make build/bench_tokenizer && build/bench_tokenizer)
       build/bench_tokenizer [DATA_DIR] */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    char  **text;
    size_t *len;
    int     n, cap;
} corpus;

static int add_file(corpus *c, const char *dir, const char *file, const char *f1, const char *f2) {
    char path[1024];
    const char *fields[2];
    hbpo_jsonl r;
    hbpo_json_doc doc;
    const hbpo_json *v;
    int rc, k;
    fields[0] = f1;
    fields[1] = f2;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    memset(&doc, 0, sizeof doc);
    if (hbpo_jsonl_open(&r, path) != 0) return -1;
    while ((rc = hbpo_jsonl_next(&r, &doc)) == 1) {
        for (k = 0; k < 2; k++) {
            v = hbpo_json_get(doc.root, fields[k]);
            if (!v || v->type != HBPO_JSON_STRING) continue;
            if (c->n == c->cap) {
                c->cap = c->cap ? 2 * c->cap : 1024;
                c->text = (char **)realloc(c->text, (size_t)c->cap * sizeof(char *));
                c->len = (size_t *)realloc(c->len, (size_t)c->cap * sizeof(size_t));
                if (!c->text || !c->len) return -1;
            }
            c->text[c->n] = (char *)malloc(v->len + 1);
            if (!c->text[c->n]) return -1;
            memcpy(c->text[c->n], v->str, v->len + 1);
            c->len[c->n++] = v->len;
        }
    }
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&r);
    return rc == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : getenv("HBPO_DATA_DIR");
    char path[1024];
    corpus c;
    hbpo_tokenizer *tok = NULL;
    double t0, load_s, enc_s;
    size_t bytes = 0;
    long long tokens = 0, tokens_once = 0;
    int i, n, passes = 0, cap = 1 << 16, *ids = (int *)malloc((size_t)cap * sizeof(int));
    if (!dir || !dir[0]) dir = "../shared/data";
    memset(&c, 0, sizeof c);
    snprintf(path, sizeof path, "%s/qwen3-tokenizer/tokenizer.json", dir);
    t0 = hbpo_wall_time();
    if (hbpo_tokenizer_load(&tok, path) != 0) {
        printf("bench_tokenizer: skipped (%s)\n", hbpo_last_error());
        free(ids);
        return 0;
    }
    load_s = hbpo_wall_time() - t0;
    if (add_file(&c, dir, "gsm8k/test.jsonl", "question", "answer") != 0 ||
        add_file(&c, dir, "math500/test.jsonl", "problem", "solution") != 0 || !ids) {
        printf("bench_tokenizer: skipped (corpus: %s)\n", hbpo_last_error());
        hbpo_tokenizer_free(tok);
        return 0;
    }
    for (i = 0; i < c.n; i++) bytes += c.len[i];
    t0 = hbpo_wall_time();
    do {
        for (i = 0; i < c.n; i++) {
            n = hbpo_tokenizer_encode(tok, c.text[i], c.len[i], ids, cap);
            if (n < 0 || n > cap) {
                printf("bench_tokenizer: text %d: %s\n", i,
                       n < 0 ? hbpo_last_error() : "too many ids");
                return 1;
            }
            tokens += n;
        }
        if (passes++ == 0) tokens_once = tokens;
        enc_s = hbpo_wall_time() - t0;
    } while (enc_s < 2.0);
    printf("tokenizer: Qwen3 tokenizer.json loaded in %.3f s (%d ids)\n", load_s,
           hbpo_tokenizer_vocab_size(tok));
    printf("corpus: GSM8K test question+answer, MATH500 problem+solution: %d texts, %lu bytes, "
           "%lld tokens\n", c.n, (unsigned long)bytes, tokens_once);
    printf("encode (1 thread, %d passes, %.2f s): %.0f tokens/s, %.2f MB/s\n", passes, enc_s,
           (double)tokens / enc_s, (double)bytes * passes / enc_s / 1e6);
    for (i = 0; i < c.n; i++) free(c.text[i]);
    free(c.text);
    free(c.len);
    free(ids);
    hbpo_tokenizer_free(tok);
    return 0;
}
