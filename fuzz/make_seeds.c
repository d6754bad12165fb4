/* Writes the seed corpora of the fuzz harnesses into OUT/<harness>/, made at
   run time from the repository's fixtures (tests/fixtures), the datasets in
   ../shared/data (or $HBPO_DATA_DIR) when present, files that hbpo itself
   writes (a tiny checkpoint, the byte-level tokenizer) and a few hand-written
   cases. `make fuzz` runs it; usage: make_seeds OUT (from the repo root). */
#define _POSIX_C_SOURCE 200809L
#define HBPO_IMPLEMENTATION
#include "hbpo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *out_root;
static int n_written;

static void seed(const char *harness, const char *name, const void *data, size_t n) {
    char path[1024];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", out_root, harness);
    if (hbpo_make_dir(path) != 0) { fprintf(stderr, "%s\n", hbpo_last_error()); exit(1); }
    snprintf(path, sizeof path, "%s/%s/%s", out_root, harness, name);
    f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        exit(1);
    }
    n_written++;
}

static void seed_str(const char *harness, const char *name, const char *s) {
    seed(harness, name, s, strlen(s));
}

/* A whole file as a seed; 0 when it cannot be read (optional inputs). */
static int seed_file(const char *harness, const char *name, const char *path) {
    size_t n;
    char *text = hbpo_read_file(path, 0, &n);
    if (!text) return 0;
    seed(harness, name, text, n);
    hbpo_free(text);
    return 1;
}

/* The JSON header of a safetensors file, as a JSON seed. */
static void seed_st_header(const char *name, const char *path) {
    size_t n;
    unsigned char *b = (unsigned char *)hbpo_read_file(path, 0, &n);
    uint64_t h = 0;
    int k;
    if (!b) return;
    for (k = 7; n >= 8 && k >= 0; k--) h = h << 8 | b[k];
    if (n >= 8 && h <= n - 8) seed("json", name, b + 8, (size_t)h);
    hbpo_free(b);
}

static void data_path(char *path, size_t cap, const char *file) {
    const char *d = getenv("HBPO_DATA_DIR");
    snprintf(path, cap, "%s/%s", d && *d ? d : "../shared/data", file);
}

/* The first lines of a JSON Lines file (at most max_bytes) as one text. */
static char *head_lines(const char *path, size_t max_bytes, size_t *len) {
    size_t n, k = 0;
    char *t = hbpo_read_file(path, 0, &n);
    if (!t) return NULL;
    while (k < n) {
        char *nl = memchr(t + k, '\n', n - k);
        size_t e = nl ? (size_t)(nl - t) + 1 : n;
        if (e > max_bytes && k > 0) break;
        k = e;
    }
    *len = k;
    return t;
}

static void write_u32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

int main(int argc, char **argv) {
    static const char *const configs[] = {"qwen2_bf16", "qwen2_sharded", "qwen2_tied",
                                          "qwen2_untied", "qwen3_tied"};
    static const char *const datasets[] = {"gsm8k/test.jsonl", "math500/test.jsonl",
                                           "aime24/test.jsonl", "amc23/test.jsonl",
                                           "olympiadbench/test.jsonl"};
    static const char tiny[] =
        "{\"model_type\": \"qwen2\", \"vocab_size\": 16, \"hidden_size\": 8, "
        "\"intermediate_size\": 12, \"num_hidden_layers\": 2, \"num_attention_heads\": 2, "
        "\"num_key_value_heads\": 1, \"max_position_embeddings\": 32, "
        "\"tie_word_embeddings\": true, \"rope_theta\": 10000.0}";
    char path[1024], name[256], tmp[600], *text;
    size_t i, n, k;
    int line;
    hbpo_model_config c;
    hbpo_model m;
    hbpo_jsonl r;
    hbpo_json_doc doc;
    const hbpo_json *v, *e;

    if (argc != 2) { fprintf(stderr, "usage: make_seeds OUT\n"); return 2; }
    out_root = argv[1];
    if (hbpo_make_dir(out_root) != 0) { fprintf(stderr, "%s\n", hbpo_last_error()); return 1; }

    /* config.json and safetensors headers of the fixtures; JSON seeds too */
    seed_str("config", "tiny.json", tiny);
    for (i = 0; i < sizeof configs / sizeof configs[0]; i++) {
        snprintf(path, sizeof path, "tests/fixtures/qwen2/%s/config.json", configs[i]);
        snprintf(name, sizeof name, "%s.json", configs[i]);
        if (!seed_file("config", name, path) || !seed_file("json", name, path)) {
            fprintf(stderr, "make_seeds: fixture %s is missing\n", path);
            return 1;
        }
        snprintf(path, sizeof path, "tests/fixtures/qwen2/%s/model.safetensors", configs[i]);
        snprintf(name, sizeof name, "%s_header.json", configs[i]);
        seed_st_header(name, path);
    }
    seed_file("index", "fixture_index.json",
              "tests/fixtures/qwen2/qwen2_sharded/model.safetensors.index.json");
    seed_file("json", "policy_loss.json", "tests/fixtures/policy_loss.json");

    /* the tiny model of the checkpoint harnesses, whole (F32, BF16) and sharded */
    snprintf(tmp, sizeof tmp, "%s/tmp_ckpt", out_root);
    if (hbpo_model_config_parse(&c, tiny, strlen(tiny)) != 0 ||
        hbpo_model_create(&m, &c, NULL) != 0) {
        fprintf(stderr, "make_seeds: %s\n", hbpo_last_error());
        return 1;
    }
    hbpo_model_init_random(&m, 1);
    for (k = 0; k < 3; k++) {
        int rc = k < 2 ? hbpo_model_save(&m, tmp, k ? HBPO_DTYPE_BF16 : HBPO_DTYPE_F32)
                       : hbpo_model_save_sharded(&m, tmp, HBPO_DTYPE_F32, m.n_params * 4 / 3);
        if (rc != 0) { fprintf(stderr, "make_seeds: %s\n", hbpo_last_error()); return 1; }
        if (k < 2) {
            snprintf(path, sizeof path, "%s/model.safetensors", tmp);
            seed_file("safetensors", k ? "tiny_bf16.safetensors" : "tiny_f32.safetensors", path);
            seed_st_header(k ? "tiny_bf16_header.json" : "tiny_f32_header.json", path);
            remove(path);
        } else {
            snprintf(path, sizeof path, "%s/model.safetensors.index.json", tmp);
            seed_file("index", "tiny_index.json", path);
            seed_file("json", "tiny_index.json", path);
            remove(path);
            for (i = 1; i <= 9; i++) { /* the shard count depends on the table */
                int of;
                for (of = (int)i; of <= 9; of++) {
                    snprintf(path, sizeof path, "%s/model-%05d-of-%05d.safetensors", tmp,
                             (int)i, of);
                    remove(path);
                }
            }
        }
    }
    snprintf(path, sizeof path, "%s/config.json", tmp);
    remove(path);
    remove(tmp);
    hbpo_model_free(&m);

    /* tokenizer.json: the byte-level one, a minimal one, the NUL merge of issue 12 */
    snprintf(path, sizeof path, "%s/bytes_tokenizer.json", out_root);
    if (hbpo_tokenizer_write_bytes(path) != 0) {
        fprintf(stderr, "%s\n", hbpo_last_error());
        return 1;
    }
    seed_file("tokenizer_load", "bytes.json", path);
    seed_file("json", "bytes_tokenizer.json", path);
    remove(path);
    seed_str("tokenizer_load", "minimal.json",
             "{\"added_tokens\": [{\"id\": 3, \"content\": \"<s>\", \"special\": true}], "
             "\"normalizer\": {\"type\": \"NFC\"}, \"pre_tokenizer\": {\"type\": \"ByteLevel\", "
             "\"use_regex\": false}, \"decoder\": {\"type\": \"ByteLevel\"}, \"model\": "
             "{\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\"]}}");
    seed_str("tokenizer_load", "nul_merge.json",
             "{\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"use_regex\":false},\"decoder\":{\"type\":"
             "\"ByteLevel\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
             "\"merges\":[[\"ab\\u0000Z5\",\"b\"]]}}");

    /* the tokenizer's hard cases: texts to encode, ids to decode, lines of JSON */
    if (hbpo_jsonl_open(&r, "tests/fixtures/tokenizer_cases.jsonl") != 0) {
        fprintf(stderr, "make_seeds: %s\n", hbpo_last_error());
        return 1;
    }
    memset(&doc, 0, sizeof doc);
    for (line = 0; hbpo_jsonl_next(&r, &doc) == 1; line++) {
        v = hbpo_json_get(doc.root, "text");
        if (v && v->type == HBPO_JSON_STRING) {
            snprintf(name, sizeof name, "case%02d.txt", line);
            seed("encode", name, v->str, v->len);
        }
        v = hbpo_json_get(doc.root, "ids");
        if (v && v->type == HBPO_JSON_ARRAY && v->len) {
            unsigned char *b = (unsigned char *)malloc(4 * v->len);
            for (e = v->child, k = 0; e && b; e = e->next, k++) write_u32(b + 4 * k, (uint32_t)e->num);
            snprintf(name, sizeof name, "case%02d.ids", line);
            if (b) seed("decode", name, b, 4 * v->len);
            free(b);
        }
    }
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&r);
    text = head_lines("tests/fixtures/tokenizer_cases.jsonl", 4096, &n);
    if (text) {
        seed("jsonl", "tokenizer_cases_head.jsonl", text, n);
        hbpo_free(text);
    }
    seed_str("encode", "marks.txt", "a\xCC\x81\xCC\x96\xCC\x81\xCC\x96 q\xCC\x81\xCD\x85\xCC\xA7 x");

    /* datasets: the first lines of each file (layout byte first) */
    for (i = 0; i < sizeof datasets / sizeof datasets[0]; i++) {
        data_path(path, sizeof path, datasets[i]);
        text = head_lines(path, 6000, &n);
        if (!text) continue;
        for (k = 0; k < 3; k++) {
            char *b = (char *)malloc(n + 1);
            if (!b) break;
            b[0] = (char)k; /* AUTO, MATH, GSM8K; non-strict */
            memcpy(b + 1, text, n);
            snprintf(name, sizeof name, "data%d_layout%d.jsonl", (int)i, (int)k);
            seed("dataset", name, b, n + 1);
            free(b);
        }
        snprintf(name, sizeof name, "data%d.jsonl", (int)i);
        seed("jsonl", name, text, n);
        hbpo_free(text);
        /* answers: MATH solutions and GSM8K worked answers with their gold */
        if (hbpo_jsonl_open(&r, path) != 0) continue;
        for (line = 0; line < 30 && hbpo_jsonl_next(&r, &doc) == 1; line++) {
            const char *sol = hbpo_json_get_string(doc.root, "solution");
            const char *ans = hbpo_json_get_string(doc.root, "answer");
            char *b;
            if (!sol) sol = ans;
            if (!sol || !ans) continue;
            b = (char *)malloc(strlen(sol) + strlen(ans) + 2);
            if (!b) break;
            memcpy(b, sol, strlen(sol) + 1);
            memcpy(b + strlen(sol) + 1, ans, strlen(ans));
            snprintf(name, sizeof name, "ans%d_%02d.txt", (int)i, line);
            seed("answer", name, b, strlen(sol) + 1 + strlen(ans));
            free(b);
        }
        hbpo_json_free(&doc);
        hbpo_jsonl_close(&r);
    }
    seed("dataset", "small.jsonl",
         "\001{\"problem\": \"1+1?\", \"answer\": 2.0, \"level\": \"Level 3\"}\n"
         "{\"question\": \"q\", \"final_answer\": [\"$1$\", \"2\"]}\n", 95);
    seed("dataset", "gsm8k.jsonl", "\002{\"question\": \"2+2?\", \"answer\": \"so 4\\n#### 4\"}\n", 50);
    {
        static const char *const answers[][2] = {
            {"so $\\boxed{\\frac{1}{2}}$", "0.5"}, {"\\boxed 5$ and \\fbox{6}", "5"},
            {"\\boxed{\\dfrac12}", "\\frac{1}{2}"}, {"\\boxed{x = 10\\%}", "10"},
            {"#### 1,000", "1000"}, {"\\boxed{\\{1,2\\}}", "\\{1,2\\}"},
            {"Wait, let me check. \\boxed{ 3 }", "3"}, {"\\boxedx\\boxed{\\sqrt2}", "\\sqrt{2}"},
        };
        for (i = 0; i < sizeof answers / sizeof answers[0]; i++) {
            char b[128];
            n = (size_t)snprintf(b, sizeof b, "%s", answers[i][0]) + 1;
            n += (size_t)snprintf(b + n, sizeof b - n, "%s", answers[i][1]);
            snprintf(name, sizeof name, "hand%d.txt", (int)i);
            seed("answer", name, b, n);
        }
    }
    printf("make_seeds: %d seed files in %s\n", n_written, out_root);
    return 0;
}
