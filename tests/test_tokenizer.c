/* Tokenizer and chat format (hbpo.h section 5) against Hugging Face tokenizers.
   - tests/fixtures/tokenizer_cases.jsonl: hand-written hard cases (CJK, emoji
     ZWJ sequences, NFC compositions, CRLF and lone CR, runs of white space,
     digits, contractions, full-width forms, special tokens in text, the empty
     string, NUL bytes, long words) and ids whose bytes are partial UTF-8,
     with the ids and decoded text of tokenizers 0.23;
   - tests/fixtures/tokenizer_corpus.jsonl: the ids of every GSM8K test
     question and answer, MATH500 problem and solution and OlympiadBench
     question (texts read from ../shared/data);
   both written by tools/gen_tokenizer_fixture.py. The Qwen3 tokenizer.json
   comes from ../shared/data (or $HBPO_DATA_DIR): those tests skip without it.
   Also: the byte-level tokenizer of hbpo_tokenizer_write_bytes, the chat
   formats, the buffer contracts, and malformed tokenizer.json files, invalid
   UTF-8 and bad ids, which must fail with a message (run under `make sanitize`). */
#include "hbpo_test.h"
#define HBPO_COUNT_OPS /* hbpo_op_count() */
#include "hbpo.h"

#include <stdint.h>
#include <time.h>

#define TOK_CASES "tests/fixtures/tokenizer_cases.jsonl"
#define TOK_CORPUS "tests/fixtures/tokenizer_corpus.jsonl"
#define TOK_SKIP_MSG "Qwen3 tokenizer not found (set HBPO_DATA_DIR or provide ../shared/data)"

/* ---- helpers ---- */

static void tok_data_path(char *path, size_t len, const char *file) {
    const char *dir = getenv("HBPO_DATA_DIR");
    snprintf(path, len, "%s/%s", dir && dir[0] ? dir : "../shared/data", file);
}

/* The Qwen3 tokenizer, loaded once for the whole suite (NULL when absent). */
static hbpo_tokenizer *tok_qwen3;
static int tok_qwen3_tried;

static hbpo_tokenizer *tok_qwen(void) {
    char path[1024];
    FILE *f;
    if (!tok_qwen3_tried) {
        tok_qwen3_tried = 1;
        tok_data_path(path, sizeof path, "qwen3-tokenizer/tokenizer.json");
        f = fopen(path, "rb");
        if (!f) return NULL;
        fclose(f);
        if (hbpo_tokenizer_load(&tok_qwen3, path) != 0) {
            printf("\nloading %s failed: %s\n", path, hbpo_last_error());
            tok_qwen3 = NULL;
        }
    }
    return tok_qwen3;
}

/* A fresh file name in $TMPDIR or /tmp, created empty with "wx". */
static int tok_tmp_path(char *path, size_t cap) {
    static unsigned counter;
    const char *dir = getenv("TMPDIR");
    int i, local;
    FILE *f;
    if (!dir || !*dir) dir = "/tmp";
    for (i = 0; i < 100; i++) {
        snprintf(path, cap, "%s/hbpo_test_tok_%lx_%lx_%u.json", dir, (unsigned long)time(NULL),
                 (unsigned long)(uintptr_t)&local ^ (unsigned long)clock(), counter++);
        f = fopen(path, "wx");
        if (f) { fclose(f); return 0; }
    }
    return -1;
}

/* The byte-level tokenizer, written to a temporary file and loaded back. */
static hbpo_tokenizer *tok_bytes(void) {
    char path[1024];
    hbpo_tokenizer *t = NULL;
    if (tok_tmp_path(path, sizeof path) != 0) return NULL;
    if (hbpo_tokenizer_write_bytes(path) != 0 || hbpo_tokenizer_load(&t, path) != 0) t = NULL;
    remove(path);
    return t;
}

/* Compares two id arrays; prints the first difference. 1 when equal. */
static int tok_same_ids(const char *what, const int *exp, int ne, const int *got, int ng) {
    int i;
    for (i = 0; i < ne && i < ng; i++)
        if (exp[i] != got[i]) break;
    if (i == ne && ne == ng) return 1;
    printf("\n%s: ids differ at %d (expected %d ids, got %d; expected %d, got %d)\n", what, i,
           ne, ng, i < ne ? exp[i] : -1, i < ng ? got[i] : -1);
    return 0;
}

/* Ids of a fixture array; -1 when it is not an array of integers. */
static int tok_json_ids(const hbpo_json *a, int *ids, int cap) {
    const hbpo_json *e;
    int n = 0;
    if (!a || a->type != HBPO_JSON_ARRAY) return -1;
    for (e = a->child; e; e = e->next) {
        if (e->type != HBPO_JSON_NUMBER || n >= cap) return -1;
        ids[n++] = (int)e->num;
    }
    return n;
}

static uint32_t tok_fnv32(const char *s, size_t n) {
    uint32_t h = 0x811C9DC5u;
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x01000193u;
    return h;
}

/* 3 base-64 characters per id (the corpus fixture's packing). */
static int tok_unpack(const char *s, size_t len, int *ids, int cap) {
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i;
    int n = 0, k, v, id;
    const char *c;
    if (len % 3) return -1;
    for (i = 0; i < len; i += 3) {
        for (id = 0, k = 0; k < 3; k++) {
            c = strchr(b64, s[i + k]);
            if (!c || !s[i + k]) return -1;
            v = (int)(c - b64);
            id = id * 64 + v;
        }
        if (n >= cap) return -1;
        ids[n++] = id;
    }
    return n;
}

/* ---- chat format ---- */

TEST chat_prompt_formats(void) {
    char buf[512], budget[64];
    int n;
    n = hbpo_chat_prompt(HBPO_CHAT_CHATML, "What is 2+2?", "", buf, sizeof buf);
    ASSERT_STR_EQ("<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
                  "<|im_start|>assistant\n<think>\n", buf);
    ASSERT_EQ((int)strlen(buf), n);
    ASSERT_EQ(0, hbpo_budget_prompt(HBPO_MODE_PAPER, 512, budget, sizeof budget) < 0);
    n = hbpo_chat_prompt(HBPO_CHAT_DEEPSEEK_R1, "What is 2+2?", budget, buf, sizeof buf);
    ASSERT_STR_EQ("<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"
                  "<\xEF\xBD\x9CUser\xEF\xBD\x9C>What is 2+2?"
                  "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C><think>\n"
                  "I will answer the question within 512 tokens", buf);
    ASSERT_EQ((int)strlen(buf), n);
    n = hbpo_chat_prompt(HBPO_CHAT_CHATML, "Q", HBPO_EFFICIENCY_PROMPT, buf, sizeof buf);
    ASSERT_STR_EQ("<|im_start|>user\nQ<|im_end|>\n<|im_start|>assistant\n<think>\n"
                  "I will answer the question with minimal tokens", buf);
    /* NULL suffix = natural evaluation; NULL out with cap 0 measures */
    ASSERT_EQ(n - (int)strlen(HBPO_EFFICIENCY_PROMPT),
              hbpo_chat_prompt(HBPO_CHAT_CHATML, "Q", NULL, NULL, 0));
    ASSERT_EQ(-1, hbpo_chat_prompt(HBPO_CHAT_CHATML, "Q", NULL, buf, 10));
    ASSERT(strstr(hbpo_last_error(), "needs") != NULL);
    ASSERT_EQ(-1, hbpo_chat_prompt(7, "Q", NULL, buf, sizeof buf));
    ASSERT_EQ(-1, hbpo_chat_prompt(HBPO_CHAT_CHATML, NULL, NULL, buf, sizeof buf));
    PASS();
}

/* ---- the byte-level tokenizer for tiny models ---- */

TEST bytes_tokenizer(void) {
    hbpo_tokenizer *t = tok_bytes();
    static const char *const names[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>",
                                        "</think>"};
    char text[300], out[1024];
    int ids[1024], i, n, b, special = 0;
    hbpo_rng rng;
    if (!t) FAILm(hbpo_last_error());
    ASSERT_EQ(266, hbpo_tokenizer_vocab_size(t));
    for (i = 0; i < 5; i++) ASSERT_EQ(256 + i, hbpo_tokenizer_token_id(t, names[i]));
    ASSERT_EQ(264, hbpo_tokenizer_token_id(t, "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>"));
    ASSERT_EQ(265, hbpo_tokenizer_token_id(t, "\\boxed{"));
    ASSERT_EQ(0, hbpo_tokenizer_is_special(t, 265));
    /* an answer at sight is 6 tokens: </think> \n \boxed{ 1 4 } */
    n = hbpo_tokenizer_encode(t, "</think>\n\\boxed{14}", strlen("</think>\n\\boxed{14}"), ids, 1024);
    ASSERT_EQ(6, n);
    ASSERT_EQ(260, ids[0]);
    ASSERT_EQ(265, ids[2]);
    for (i = 256; i < 266; i++) special += hbpo_tokenizer_is_special(t, i);
    ASSERT_EQ(5, special);
    ASSERT_EQ(0, hbpo_tokenizer_is_special(t, 259)); /* <think> is not special */
    ASSERT_EQ(1, hbpo_tokenizer_is_special(t, 258));
    /* Every byte of valid UTF-8 is its own id, so decode(encode(x)) == x. */
    hbpo_rng_seed(&rng, 7);
    for (i = 0; i < 200; i++) {
        int len = (int)(hbpo_rng_u32(&rng) % 120), w = 0;
        while (w < len) {
            static const char *const pieces[] = {"a", " ", "\n", "\xC3\xA9", "e\xCC\x81",
                                                 "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "<|im_end|>",
                                                 "<think>", "\t", "'s", "7", "\\boxed{", "\\"};
            const char *p = pieces[hbpo_rng_u32(&rng) % 14];
            size_t k = strlen(p);
            if (w + (int)k >= (int)sizeof text) break;
            memcpy(text + w, p, k);
            w += (int)k;
        }
        text[w] = 0;
        n = hbpo_tokenizer_encode(t, text, (size_t)w, ids, 1024);
        ASSERT(n >= 0 && n <= w);
        ASSERT_EQ(w, hbpo_tokenizer_decode(t, ids, n, 0, out, sizeof out));
        ASSERT_STR_EQ(text, out);
    }
    for (b = 0; b < 256; b++) ASSERT(hbpo_tokenizer_token(t, b) != NULL);
    hbpo_tokenizer_free(t);
    PASS();
}

/* ---- the fixture cases ---- */

/* Runs every case of TOK_CASES whose "tok" is which against t. */
static int tok_run_cases(hbpo_tokenizer *t, const char *which, int *count) {
    static int exp[16384], got[16384];
    static char out[65536];
    hbpo_jsonl r;
    hbpo_json_doc doc;
    const hbpo_json *text;
    const char *name, *dec, *dec_skip;
    int rc, ne, ng, skip;
    *count = 0;
    memset(&doc, 0, sizeof doc);
    if (hbpo_jsonl_open(&r, TOK_CASES) != 0) HBPO_TEST__FAILF("%s", hbpo_last_error());
    while ((rc = hbpo_jsonl_next(&r, &doc)) == 1) {
        const char *tk = hbpo_json_get_string(doc.root, "tok");
        if (!tk || strcmp(tk, which) != 0) continue;
        name = hbpo_json_get_string(doc.root, "name");
        text = hbpo_json_get(doc.root, "text");
        dec = hbpo_json_get_string(doc.root, "decoded");
        dec_skip = hbpo_json_get_string(doc.root, "decoded_skip");
        ne = tok_json_ids(hbpo_json_get(doc.root, "ids"), exp, 16384);
        if (!name || ne < 0 || !dec || !dec_skip) {
            hbpo_jsonl_close(&r);
            hbpo_json_free(&doc);
            HBPO_TEST__FAILF("%s line %ld: bad case", TOK_CASES, r.line);
        }
        if (text && text->type == HBPO_JSON_STRING) {
            ng = hbpo_tokenizer_encode(t, text->str, text->len, got, 16384);
            if (ng < 0) printf("\n%s: %s\n", name, hbpo_last_error());
            if (!tok_same_ids(name, exp, ne, got, ng)) {
                hbpo_jsonl_close(&r);
                hbpo_json_free(&doc);
                FAILm("encode differs from tokenizers");
            }
        }
        for (skip = 0; skip < 2; skip++) {
            const char *want = skip ? dec_skip : dec;
            size_t wl = skip ? hbpo_json_get(doc.root, "decoded_skip")->len
                             : hbpo_json_get(doc.root, "decoded")->len;
            int n = hbpo_tokenizer_decode(t, exp, ne, skip, out, sizeof out);
            if (n != (int)wl || memcmp(out, want, wl) != 0) {
                printf("\n%s: decode (skip_special %d) gave %d bytes \"%.60s\", "
                       "want %d \"%.60s\"\n", name, skip, n, out, (int)wl, want);
                hbpo_jsonl_close(&r);
                hbpo_json_free(&doc);
                FAILm("decode differs from tokenizers");
            }
        }
        ++*count;
    }
    hbpo_jsonl_close(&r);
    hbpo_json_free(&doc);
    if (rc != 0) FAILm(hbpo_last_error());
    PASS();
}

TEST qwen3_hard_cases(void) {
    hbpo_tokenizer *t = tok_qwen();
    int count = 0, rc;
    if (!t) SKIPm(TOK_SKIP_MSG);
    rc = tok_run_cases(t, "qwen3", &count);
    if (rc != HBPO_TEST_PASS) return rc;
    ASSERT(count >= 60);
    PASS();
}

TEST bytes_cases(void) {
    hbpo_tokenizer *t = tok_bytes();
    int count = 0, rc;
    if (!t) FAILm(hbpo_last_error());
    rc = tok_run_cases(t, "bytes", &count);
    hbpo_tokenizer_free(t);
    if (rc != HBPO_TEST_PASS) return rc;
    ASSERT(count >= 5);
    PASS();
}

/* Every corpus text: the same ids as tokenizers, and decode(encode(x)) == x. */
TEST qwen3_corpus(void) {
    static int exp[65536], got[65536];
    static char path[1024], src[256], out[1 << 20];
    hbpo_tokenizer *t = tok_qwen();
    hbpo_jsonl r, data;
    hbpo_json_doc doc, row;
    const hbpo_json *ids, *text;
    const char *s, *field, *fnv;
    long line;
    int rc, ne, ng, texts = 0, n_ids = 0, rts = 0, n;
    char want[16];
    if (!t) SKIPm(TOK_SKIP_MSG);
    memset(&doc, 0, sizeof doc);
    memset(&row, 0, sizeof row);
    memset(&data, 0, sizeof data);
    src[0] = 0;
    if (hbpo_jsonl_open(&r, TOK_CORPUS) != 0) FAILm(hbpo_last_error());
    while ((rc = hbpo_jsonl_next(&r, &doc)) == 1) {
        s = hbpo_json_get_string(doc.root, "src");
        field = hbpo_json_get_string(doc.root, "field");
        fnv = hbpo_json_get_string(doc.root, "fnv");
        ids = hbpo_json_get(doc.root, "ids");
        line = hbpo_json_get(doc.root, "line") ? (long)hbpo_json_get(doc.root, "line")->num : 0;
        if (!s || !field || !fnv || !ids || ids->type != HBPO_JSON_STRING ||
            strlen(s) >= sizeof src) {
            rc = -3;
            break;
        }
        /* The rows of one source come in line order: read it alongside. */
        if (strcmp(s, src) != 0) {
            hbpo_jsonl_close(&data);
            snprintf(src, sizeof src, "%s", s);
            tok_data_path(path, sizeof path, src);
            if (hbpo_jsonl_open(&data, path) != 0) { rc = -4; break; }
        }
        while (data.line < line && (rc = hbpo_jsonl_next(&data, &row)) == 1) {}
        text = data.line == line ? hbpo_json_get(row.root, field) : NULL;
        if (!text || text->type != HBPO_JSON_STRING) { rc = -5; break; }
        snprintf(want, sizeof want, "%08lx", (unsigned long)tok_fnv32(text->str, text->len));
        if (strcmp(want, fnv) != 0) { rc = -6; break; }
        ne = tok_unpack(ids->str, ids->len, exp, 65536);
        ng = hbpo_tokenizer_encode(t, text->str, text->len, got, 65536);
        if (ne < 0 || !tok_same_ids(s, exp, ne, got, ng)) {
            printf("%s line %ld field %s: \"%.80s\"\n", s, line, field, text->str);
            rc = -7;
            break;
        }
        texts++;
        n_ids += ne;
        if (hbpo_json_get(doc.root, "rt") && hbpo_json_get(doc.root, "rt")->num == 1) {
            n = hbpo_tokenizer_decode(t, got, ng, 0, out, sizeof out);
            if (n != (int)text->len || memcmp(out, text->str, text->len) != 0) {
                printf("\n%s line %ld field %s: decode(encode(x)) != x\n", s, line, field);
                rc = -8;
                break;
            }
            rts++;
        }
    }
    hbpo_jsonl_close(&r);
    hbpo_jsonl_close(&data);
    hbpo_json_free(&doc);
    hbpo_json_free(&row);
    if (rc == -3) FAILm("a corpus row lacks src, field, fnv or ids");
    if (rc == -4) HBPO_TEST__FAILF("cannot open %s: %s", path, hbpo_last_error());
    if (rc == -5) HBPO_TEST__FAILF("%s has no string field at the row's line", src);
    if (rc == -6) HBPO_TEST__FAILF("%s changed since the fixture was written (hash %s)", src, want);
    if (rc == -7) FAILm("encode differs from tokenizers");
    if (rc == -8) FAILm("round trip failed");
    if (rc != 0) FAILm(hbpo_last_error());
    if (hbpo_test__info.verbose)
        printf("corpus: %d texts, %d ids matched; %d round trips\n", texts, n_ids, rts);
    ASSERT(texts >= 4313);
    ASSERT(n_ids >= 450000);
    PASS();
}

/* ---- API contracts ---- */

TEST qwen3_api(void) {
    hbpo_tokenizer *t = tok_qwen();
    int ids[256], big[256], n, m, i;
    char out[64], prompt[256];
    if (!t) SKIPm(TOK_SKIP_MSG);
    ASSERT_EQ(151669, hbpo_tokenizer_vocab_size(t));
    ASSERT_EQ(151645, hbpo_tokenizer_token_id(t, "<|im_end|>"));
    ASSERT_EQ(151667, hbpo_tokenizer_token_id(t, "<think>"));
    ASSERT_EQ(-1, hbpo_tokenizer_token_id(t, "<|no such token|>"));
    ASSERT_EQ(-1, hbpo_tokenizer_token_id(t, ""));
    ASSERT_STR_EQ("<|im_start|>", hbpo_tokenizer_token(t, 151644));
    ASSERT_EQ(1, hbpo_tokenizer_is_special(t, 151645));
    ASSERT_EQ(0, hbpo_tokenizer_is_special(t, 151667));
    ASSERT(hbpo_tokenizer_token(t, 151669) == NULL && hbpo_tokenizer_token(t, -1) == NULL);
    ASSERT(hbpo_tokenizer_token_id(t, "\xC4\xA0the") >= 0); /* "Ġthe" */

    /* cap too small: the full count, only cap ids written */
    n = hbpo_tokenizer_encode(t, "Hello world, how are you?", 25, big, 256);
    ASSERT(n > 3);
    for (i = 0; i < 256; i++) ids[i] = -7;
    m = hbpo_tokenizer_encode(t, "Hello world, how are you?", 25, ids, 3);
    ASSERT_EQ(n, m);
    ASSERT_EQ(big[2], ids[2]);
    ASSERT_EQ(-7, ids[3]);
    ASSERT_EQ(n, hbpo_tokenizer_encode(t, "Hello world, how are you?", 25, NULL, 0));
    ASSERT_EQ(0, hbpo_tokenizer_encode(t, "", 0, NULL, 0));
    ASSERT_EQ(0, hbpo_tokenizer_encode(t, NULL, 0, NULL, 0));

    /* decode: snprintf-like when out is small */
    ASSERT_EQ(25, hbpo_tokenizer_decode(t, big, n, 0, out, 6));
    ASSERT_STR_EQ("Hello", out);
    ASSERT_EQ(25, hbpo_tokenizer_decode(t, big, n, 0, NULL, 0));

    /* the chat prompt: the added tokens come out as single ids */
    ASSERT(hbpo_chat_prompt(HBPO_CHAT_CHATML, "2+2?", HBPO_EFFICIENCY_PROMPT, prompt,
                            sizeof prompt) > 0);
    n = hbpo_tokenizer_encode(t, prompt, strlen(prompt), ids, 256);
    ASSERT(n > 10);
    ASSERT_EQ(151644, ids[0]);
    for (i = 0, m = 0; i < n; i++) m += ids[i] == 151667;
    ASSERT_EQ(1, m);
    ASSERT_EQ((int)strlen(prompt), hbpo_tokenizer_decode(t, ids, n, 0, NULL, 0));
    PASS();
}

/* ---- bad input: every failure is -1 with a message, never a crash ---- */

TEST bad_text_and_ids(void) {
    hbpo_tokenizer *t = tok_bytes();
    int ids[16], bad[3] = {65, 266, 66};
    char out[16];
    if (!t) FAILm(hbpo_last_error());
    ASSERT_EQ(-1, hbpo_tokenizer_encode(t, "ab\xFF", 3, ids, 16));
    ASSERT(strstr(hbpo_last_error(), "invalid UTF-8 at byte 2") != NULL);
    ASSERT_EQ(-1, hbpo_tokenizer_encode(t, "\xED\xA0\x80", 3, ids, 16)); /* a surrogate */
    ASSERT_EQ(-1, hbpo_tokenizer_encode(t, "\xE4\xB8", 2, ids, 16));     /* cut short */
    ASSERT_EQ(-1, hbpo_tokenizer_encode(t, "\xC0\xAF", 2, ids, 16));     /* overlong */
    ASSERT_EQ(-1, hbpo_tokenizer_encode(t, "a", 1, NULL, 4));
    ASSERT_EQ(-1, hbpo_tokenizer_encode(NULL, "a", 1, ids, 16));
    ASSERT_EQ(-1, hbpo_tokenizer_decode(t, bad, 3, 0, out, sizeof out));
    ASSERT(strstr(hbpo_last_error(), "ids[1] = 266") != NULL);
    bad[1] = -1;
    ASSERT_EQ(-1, hbpo_tokenizer_decode(t, bad, 3, 0, out, sizeof out));
    ASSERT_EQ(-1, hbpo_tokenizer_decode(t, NULL, 2, 0, out, sizeof out));
    ASSERT_EQ(0, hbpo_tokenizer_decode(t, NULL, 0, 0, out, sizeof out));
    ASSERT_STR_EQ("", out);
    hbpo_tokenizer_free(t);
    hbpo_tokenizer_free(NULL);
    PASS();
}

/* A small valid tokenizer.json ("a", "b", "ab" merged; "<s>" added) with one
   piece replaced, so each bad case below differs from a good file in one place. */
static const char *const tok_good_parts[] = {
    "{\"added_tokens\": ", "[{\"id\": 3, \"content\": \"<s>\", \"special\": true}]",
    ", \"normalizer\": ", "{\"type\": \"NFC\"}",
    ", \"pre_tokenizer\": ",
    "{\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"use_regex\": false}",
    ", \"decoder\": ", "{\"type\": \"ByteLevel\"}",
    ", \"model\": {\"type\": ", "\"BPE\"", ", \"vocab\": ", "{\"a\": 0, \"b\": 1, \"ab\": 2}",
    ", \"merges\": ", "[\"a b\"]", "}}"};

static int tok_load_variant(int part, const char *replacement, hbpo_tokenizer **t) {
    char json[1024];
    size_t i, n = 0;
    for (i = 0; i < sizeof tok_good_parts / sizeof tok_good_parts[0]; i++)
        n += (size_t)snprintf(json + n, sizeof json - n, "%s",
                              (int)i == part ? replacement : tok_good_parts[i]);
    return hbpo_tokenizer_load_json(t, json, n);
}

TEST bad_tokenizer_json(void) {
    static const struct { int part; const char *text, *word; } bad[] = {
        {13, "[\"a c\"]", "unknown token \"c\""},
        {13, "[\"b a\"]", "\"ba\" is not in the vocabulary"},
        {13, "[\"a  b\"]", "one space"},
        {13, "[\"ab\"]", "one space"},
        {13, "[[\"a\"]]", "neither"},
        {13, "[[\"a\", 1]]", "neither"},
        {13, "{}", "merges is not an array"},
        {11, "{\"a\": -1}", "not an integer"},
        {11, "{\"a\": 0.5}", "not an integer"},
        {11, "{\"a\": 1e12}", "not an integer"},
        {11, "{\"a\": \"0\"}", "not an integer"},
        {11, "{\"a\": 0, \"b\": 0}", "given to both"},
        {11, "[]", "vocab is not an object"},
        {11, "{}", "unknown token"},
        {9, "\"WordPiece\"", "not supported"},
        {3, "{\"type\": \"Lowercase\"}", "normalizer Lowercase"},
        {5, "{\"type\": \"Whitespace\"}", "pre_tokenizer Whitespace"},
        {5, "null", "no pre_tokenizer"},
        {5, "{\"type\": \"ByteLevel\", \"use_regex\": true}", "not supported"},
        {5, "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", "
            "\"pattern\": {\"Regex\": \"\\\\s+\"}, \"behavior\": \"Isolated\"}, "
            "{\"type\": \"ByteLevel\", \"use_regex\": false}]}", "not Qwen2's"},
        {7, "null", "decoder"},
        {1, "[{\"id\": 3}]", "added_tokens[0]"},
        {1, "[{\"id\": 1, \"content\": \"<s>\"}]", "has the id 1"},
        {1, "[{\"id\": 3, \"content\": \"<s>\", \"lstrip\": true}]", "lstrip"},
        {1, "[{\"id\": 3, \"content\": \"\"}]", "non-empty"},
        {1, "7", "not an array"},
        {0, "[", "not valid JSON"},
    };
    hbpo_tokenizer *t = NULL;
    size_t i;
    int ids[8];
    ASSERT_EQ(0, tok_load_variant(-1, "", &t));
    ASSERT_EQ(4, hbpo_tokenizer_vocab_size(t));
    ASSERT_EQ(3, hbpo_tokenizer_encode(t, "ab<s>a", 6, ids, 8));
    ASSERT(ids[0] == 2 && ids[1] == 3 && ids[2] == 0);
    hbpo_tokenizer_free(t);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        t = (hbpo_tokenizer *)&ids; /* must be reset to NULL */
        if (tok_load_variant(bad[i].part, bad[i].text, &t) != -1 || t != NULL ||
            !strstr(hbpo_last_error(), bad[i].word))
            HBPO_TEST__FAILF("case %d (%s): message \"%s\", want \"%s\"", (int)i, bad[i].text,
                             hbpo_last_error(), bad[i].word);
    }
    ASSERT_EQ(-1, hbpo_tokenizer_load_json(&t, "", 0));
    ASSERT_EQ(-1, hbpo_tokenizer_load_json(&t, "[]", 2));
    ASSERT_EQ(-1, hbpo_tokenizer_load_json(&t, "{}", 2));
    ASSERT(strstr(hbpo_last_error(), "model") != NULL);
    ASSERT_EQ(-1, hbpo_tokenizer_load_json(NULL, "{}", 2));
    ASSERT_EQ(-1, hbpo_tokenizer_load(&t, "/nonexistent/hbpo/tokenizer.json"));
    ASSERT(strstr(hbpo_last_error(), "cannot open") != NULL);
    ASSERT_EQ(-1, hbpo_tokenizer_load(&t, "tests/fixtures"));  /* a folder without one */
    ASSERT_EQ(-1, hbpo_tokenizer_write_bytes("/nonexistent/hbpo/dir/tokenizer.json"));
    PASS();
}

/* Added tokens with "normalized": true are found in the NFC text, the others
   in the raw text; a byte with no token is dropped before merging. Expected
   ids from tokenizers 0.23.3 on the same JSON. */
TEST added_token_groups(void) {
    static const struct { int normalized; const char *text; int n, ids[5]; } cases[] = {
        {1, "ae\xCC\x81" "b", 3, {0, 4, 1}},
        {1, "a\xC3\xA9" "b<s>ab", 5, {0, 4, 1, 3, 2}},
        {1, "e\xCC\x81<s>", 2, {4, 3}},
        {1, "ab\xC3\xA9" "ab", 3, {2, 4, 2}},
        {0, "ae\xCC\x81" "b", 1, {2}},
        {0, "a\xC3\xA9" "b<s>ab", 5, {0, 4, 1, 3, 2}},
        {0, "e\xCC\x81<s>", 1, {3}},
        {0, "ab\xC3\xA9" "ab", 3, {2, 4, 2}},
    };
    hbpo_tokenizer *t[2] = {NULL, NULL};
    char out[32];
    int ids[8], n, i, k;
    for (k = 0; k < 2; k++) {
        char added[200];
        snprintf(added, sizeof added,
                 "[{\"id\": 3, \"content\": \"<s>\", \"special\": true}, {\"id\": 4, \"content\": "
                 "\"\\u00e9\", \"special\": false, \"normalized\": %s}]", k ? "true" : "false");
        if (tok_load_variant(1, added, &t[k]) != 0) {
            hbpo_tokenizer_free(t[0]);
            FAILm(hbpo_last_error());
        }
    }
    for (i = 0; i < (int)(sizeof cases / sizeof cases[0]); i++) {
        n = hbpo_tokenizer_encode(t[cases[i].normalized], cases[i].text, strlen(cases[i].text),
                                  ids, 8);
        if (!tok_same_ids(cases[i].text, cases[i].ids, cases[i].n, ids, n)) break;
    }
    /* "é" is the ByteLevel character of byte 0xE9 alone: decoding gives U+FFFD */
    k = hbpo_tokenizer_decode(t[1], cases[3].ids, 3, 0, out, sizeof out);
    hbpo_tokenizer_free(t[0]);
    hbpo_tokenizer_free(t[1]);
    if (i < (int)(sizeof cases / sizeof cases[0])) HBPO_TEST__FAILF("case %d differs", i);
    ASSERT_EQ(7, k);
    ASSERT_STR_EQ("ab\xEF\xBF\xBD" "ab", out);
    PASS();
}

/* Random byte mutations of a good file: load must succeed or fail cleanly, and
   whatever loads must encode and decode without a crash (ASan checks). */
TEST mutated_tokenizer_json(void) {
    char json[1024], text[64], out[256];
    size_t n = 0, i;
    int k, ids[64], loaded = 0;
    hbpo_tokenizer *t;
    hbpo_rng rng;
    for (i = 0; i < sizeof tok_good_parts / sizeof tok_good_parts[0]; i++)
        n += (size_t)snprintf(json + n, sizeof json - n, "%s", tok_good_parts[i]);
    hbpo_rng_seed(&rng, 12345);
    for (k = 0; k < 3000; k++) {
        char copy[1024];
        int edits = 1 + (int)(hbpo_rng_u32(&rng) % 3), e, len;
        memcpy(copy, json, n);
        for (e = 0; e < edits; e++)
            copy[hbpo_rng_u32(&rng) % n] = "ab\"{}[],: 0123<>\\"[hbpo_rng_u32(&rng) % 17];
        t = NULL;
        if (hbpo_tokenizer_load_json(&t, copy, n) != 0) {
            ASSERT(t == NULL && hbpo_last_error()[0]);
            continue;
        }
        loaded++;
        for (e = 0; e < 8; e++) {
            int want_len = (int)(hbpo_rng_u32(&rng) % 40);
            for (len = 0; len < want_len; len++)
                text[len] = "ab<s> \n\xC3\xA9"[hbpo_rng_u32(&rng) % 9];
            ids[0] = hbpo_tokenizer_encode(t, text, (size_t)len, ids + 1, 63);
            if (ids[0] > 0)
                hbpo_tokenizer_decode(t, ids + 1, ids[0] < 63 ? ids[0] : 63, e & 1, out,
                                      sizeof out);
        }
        hbpo_tokenizer_free(t);
    }
    ASSERT(loaded > 0);
    PASS();
}

/* Long inputs stay fast: a 200 KB word is one pre-token for BPE. */
TEST qwen3_long_word(void) {
    hbpo_tokenizer *t = tok_qwen();
    size_t n = 200000, i;
    char *text;
    int *ids, k;
    clock_t c0;
    if (!t) SKIPm(TOK_SKIP_MSG);
    text = (char *)malloc(n);
    ids = (int *)malloc(n * sizeof(int));
    ASSERT(text && ids);
    for (i = 0; i < n; i++) text[i] = "ab"[i % 2 ? (i / 7) % 2 : 0];
    c0 = clock();
    k = hbpo_tokenizer_encode(t, text, n, ids, (int)n);
    if (k <= 0 || (double)(clock() - c0) / CLOCKS_PER_SEC > 5.0) {
        free(text);
        free(ids);
        FAILm("a 200 KB word took over 5 s or failed");
    }
    ASSERT_EQ((int)n, hbpo_tokenizer_decode(t, ids, k, 0, NULL, 0));
    free(text);
    free(ids);
    PASS();
}

/* ---- hardening: NUL in token strings, NFC mark runs, linear work ---- */

/* A tokenizer naming a token with a NUL byte is refused: tokens are C strings,
   and a merge read up to its NUL ("ab\u0000Z5" as "ab") once matched the
   wrong token, reading past the end of the string table (issue 12). */
TEST tokens_with_nul_are_refused(void) {
    static const char *const head = "{\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"use_regex\":false},"
                                    "\"decoder\":{\"type\":\"ByteLevel\"},";
    static const char *const bad[] = {
        /* the case of the issue: a pair whose first string holds an escaped NUL */
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
        "\"merges\":[[\"ab\\u0000Z5\",\"b\"]]}}",
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
        "\"merges\":[[\"a\",\"b\\u0000\"]]}}",
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
        "\"merges\":[\"a b\\u0000\"]}}",
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\\u0000\":2},\"merges\":[]}}",
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"unk_token\":\"a\\u0000\"}}",
        "\"added_tokens\":[{\"id\":1,\"content\":\"<s>\\u0000\"}],"
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
    };
    char json[512];
    hbpo_tokenizer *t;
    size_t i;
    int n, ids[4];
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        n = snprintf(json, sizeof json, "%s%s", head, bad[i]);
        t = (hbpo_tokenizer *)&n; /* must be reset to NULL */
        if (hbpo_tokenizer_load_json(&t, json, (size_t)n) != -1 || t != NULL ||
            !strstr(hbpo_last_error(), "NUL"))
            HBPO_TEST__FAILF("case %d: message \"%s\", want a NUL refusal", (int)i,
                             hbpo_last_error());
    }
    /* the same file with a real merge loads and merges */
    n = snprintf(json, sizeof json, "%s%s", head,
                 "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},"
                 "\"merges\":[[\"a\",\"b\"]]}}");
    ASSERT_EQ(0, hbpo_tokenizer_load_json(&t, json, (size_t)n));
    n = hbpo_tokenizer_encode(t, "abb", 3, ids, 4);
    hbpo_tokenizer_free(t);
    ASSERT_EQ(2, n);
    ASSERT_EQ(2, ids[0]);
    ASSERT_EQ(1, ids[1]);
    PASS();
}

/* The byte-level tokenizer with tokenizers' NFC normalizer (as Qwen's):
   decoding what it encodes gives the NFC of the text, byte for byte. */
static hbpo_tokenizer *tok_bytes_nfc(void) {
    static const char *const from = "\"normalizer\": null", *const to = "\"normalizer\": {\"type\": \"NFC\"}";
    char path[1024], *text, *json, *at;
    size_t len, k;
    hbpo_tokenizer *t = NULL;
    if (tok_tmp_path(path, sizeof path) != 0) return NULL;
    text = hbpo_tokenizer_write_bytes(path) == 0 ? hbpo_read_file(path, 0, &len) : NULL;
    remove(path);
    if (!text || !(at = strstr(text, from)) || !(json = (char *)malloc(len + strlen(to) + 1))) {
        hbpo_free(text);
        return NULL;
    }
    k = (size_t)(at - text);
    memcpy(json, text, k);
    memcpy(json + k, to, strlen(to));
    memcpy(json + k + strlen(to), at + strlen(from), len - k - strlen(from) + 1);
    if (hbpo_tokenizer_load_json(&t, json, strlen(json)) != 0) t = NULL;
    free(json);
    hbpo_free(text);
    return t;
}

/* NFC of t's encoding of s[0..n), as bytes into out (cap); its length or -1. */
static int tok_nfc_of(const hbpo_tokenizer *t, const char *s, size_t n, char *out, size_t cap) {
    int *ids = (int *)malloc((n + 1) * sizeof(int)), k, r = -1;
    if (ids && (k = hbpo_tokenizer_encode(t, s, n, ids, (int)n + 1)) >= 0 && k <= (int)n + 1)
        r = hbpo_tokenizer_decode(t, ids, k, 0, out, cap);
    free(ids);
    return r;
}

/* Appends code point cp (below U+0800 or a 3-byte one) as UTF-8. */
static size_t tok_put(char *s, size_t n, uint32_t cp) {
    if (cp < 0x80) { s[n++] = (char)cp; return n; }
    if (cp < 0x800) {
        s[n++] = (char)(0xC0 | (cp >> 6));
        s[n++] = (char)(0x80 | (cp & 0x3F));
        return n;
    }
    s[n++] = (char)(0xE0 | (cp >> 12));
    s[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    s[n++] = (char)(0x80 | (cp & 0x3F));
    return n;
}

/* Long runs of combining marks take the merge sort of the canonical ordering;
   it must give exactly the stable order by class (UAX #15) that the insertion
   sort gave and tokenizers gives. Classes (UnicodeData.txt): U+0334 1,
   U+0327 202, U+0316 220, U+0301 230, U+0345 240; 'q' composes with none of
   them, so the NFC is 'q' and the marks stably sorted. Also the input of the
   issue, "a" + n x U+0301 + n x U+0316: NFC is U+00E1, the n U+0316, then
   n - 1 U+0301 (Python's unicodedata.normalize agrees). */
TEST nfc_long_mark_runs(void) {
    static const uint32_t mark[5] = {0x0334, 0x0327, 0x0316, 0x0301, 0x0345};
    enum { N = 3000 };
    hbpo_tokenizer *t = tok_bytes_nfc(), *q = tok_qwen();
    char *text = (char *)malloc(3 * N + 16), *want = (char *)malloc(3 * N + 16);
    char *got = (char *)malloc(3 * N + 16);
    int which[N], c, r, run;
    size_t n = 0, w = 0, i;
    hbpo_rng rng;
    ASSERT(t && text && want && got);
    hbpo_rng_seed(&rng, 7);
    for (run = 0; run < 3; run++) { /* runs of N, 17 and 2 marks after 'q' */
        int len = run == 0 ? N : run == 1 ? 17 : 2;
        for (i = 0; i < (size_t)len; i++) which[i] = (int)(hbpo_rng_u32(&rng) % 5);
        n = tok_put(text, n, 'q');
        w = tok_put(want, w, 'q');
        for (i = 0; i < (size_t)len; i++) n = tok_put(text, n, mark[which[i]]);
        for (c = 0; c < 5; c++) /* stable by class: each class in input order */
            for (i = 0; i < (size_t)len; i++)
                if (which[i] == c) w = tok_put(want, w, mark[c]);
    }
    r = tok_nfc_of(t, text, n, got, 3 * N + 16);
    if (r != (int)w || memcmp(got, want, w) != 0) {
        free(text); free(want); free(got); hbpo_tokenizer_free(t);
        FAILm("NFC of long mark runs differs from the stable order by class");
    }
    /* the input, n = 1000 */
    n = tok_put(text, 0, 'a');
    for (i = 0; i < 1000; i++) n = tok_put(text, n, 0x0301);
    for (i = 0; i < 1000; i++) n = tok_put(text, n, 0x0316);
    w = tok_put(want, 0, 0xE1);
    for (i = 0; i < 1000; i++) w = tok_put(want, w, 0x0316);
    for (i = 0; i < 999; i++) w = tok_put(want, w, 0x0301);
    r = tok_nfc_of(t, text, n, got, 3 * N + 16);
    c = r == (int)w && memcmp(got, want, w) == 0;
    if (c && q) { /* the same through Qwen3's tokenizer */
        r = tok_nfc_of(q, text, n, got, 3 * N + 16);
        c = r == (int)w && memcmp(got, want, w) == 0;
    }
    free(text); free(want); free(got);
    hbpo_tokenizer_free(t);
    ASSERTm("NFC of a + 1000 U+0301 + 1000 U+0316", c);
    PASS();
}

/* Work of encoding s[0..n) in steps of hbpo_op_count (HBPO_COUNT_OPS). */
static unsigned long long tok_ops(const hbpo_tokenizer *t, const char *s, size_t n) {
    unsigned long long c0 = hbpo_op_count();
    if (hbpo_tokenizer_encode(t, s, n, NULL, 0) < 0) return 0;
    return hbpo_op_count() - c0;
}

/* Fills s with the pathological text `kind` of about n units; its byte length. */
static size_t tok_patho(char *s, int kind, size_t n) {
    size_t i, m = 0;
    switch (kind) {
    case 0: /* the NFC input: "a" + n U+0301 + n U+0316 */
        m = tok_put(s, 0, 'a');
        for (i = 0; i < n; i++) m = tok_put(s, m, 0x0301);
        for (i = 0; i < n; i++) m = tok_put(s, m, 0x0316);
        return m;
    case 1: /* marks of alternating classes: every pair out of order */
        m = tok_put(s, 0, 'q');
        for (i = 0; i < 2 * n; i++) m = tok_put(s, m, i % 2 ? 0x0316 : 0x0301);
        return m;
    case 2: /* prefixes of added tokens that never complete */
        for (i = 0; i < n; i++) m += (size_t)sprintf(s + m, "<|im_");
        return m;
    case 3: /* white space runs with line breaks inside */
        for (i = 0; i < n; i++) m += (size_t)sprintf(s + m, i % 64 ? "  " : " \n");
        s[m++] = 'x';
        return m;
    default: /* one long word (BPE of one pre-token) */
        for (i = 0; i < 4 * n; i++) s[m++] = "ab"[i % 2 ? (i / 7) % 2 : 0];
        return m;
    }
}

/* Twice the pathological input costs at most about twice the work (2.5x with
   room for an O(n log n) factor; a quadratic step would give 4x). Counted in
   steps, not seconds, so the check cannot be flaky. */
TEST encode_work_is_linear(void) {
    enum { N = 8192 };
    hbpo_tokenizer *t[2] = {tok_bytes_nfc(), tok_qwen()};
    char *s = (char *)malloc(2 * 4 * N * 6 + 16);
    unsigned long long w1, w2;
    int kind, k, bad = -1;
    double ratio = 0;
    size_t n1, n2;
    ASSERT(t[0] && s);
    for (k = 0; k < 2 && bad < 0; k++) {
        if (!t[k]) continue;
        for (kind = 0; kind < 5; kind++) {
            n1 = tok_patho(s, kind, N);
            w1 = tok_ops(t[k], s, n1);
            n2 = tok_patho(s, kind, 2 * N);
            w2 = tok_ops(t[k], s, n2);
            ratio = w1 ? (double)w2 / (double)w1 : 0;
            if (w1 < n1 || !(ratio <= 2.5)) { bad = 5 * k + kind; break; }
        }
    }
    free(s);
    hbpo_tokenizer_free(t[0]);
    if (bad >= 0)
        HBPO_TEST__FAILF("input %d (%s tokenizer): %llu steps, twice the input %llu (x%.2f)",
                         bad % 5, bad < 5 ? "NFC bytes" : "Qwen3", w1, w2, ratio);
    PASS();
}

SUITE(tokenizer_suite) {
    RUN_TEST(chat_prompt_formats);
    RUN_TEST(bytes_tokenizer);
    RUN_TEST(bytes_cases);
    RUN_TEST(bad_text_and_ids);
    RUN_TEST(bad_tokenizer_json);
    RUN_TEST(added_token_groups);
    RUN_TEST(mutated_tokenizer_json);
    RUN_TEST(qwen3_api);
    RUN_TEST(qwen3_hard_cases);
    RUN_TEST(qwen3_corpus);
    RUN_TEST(qwen3_long_word);
    RUN_TEST(tokens_with_nul_are_refused);
    RUN_TEST(nfc_long_mark_runs);
    RUN_TEST(encode_work_is_linear);
    hbpo_tokenizer_free(tok_qwen3);
    tok_qwen3 = NULL;
    tok_qwen3_tried = 0;
}
