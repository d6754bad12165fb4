/* I/O: hbpo_read_file, the strict JSON parser and the JSON Lines reader.
   Valid documents of every type, escapes compared byte for byte, numbers,
   a table of malformed inputs (each must fail with "line L, column C"), a
   bounded mutation fuzz loop (run it under `make sanitize`), JSON Lines files
   with blank lines, CRLF, a bad line and a long line, and the real Qwen3
   tokenizer.json from ../shared/data (skipped when absent). */
#include "hbpo_test.h"
#define HBPO_COUNT_OPS /* hbpo_op_count() */
#include "hbpo.h"

#include <time.h>

/* One document shared by the tests, freed before each parse, so that a
   failing assertion (which returns early) does not leak it. */
static hbpo_json_doc io_doc;

/* Parses exactly len bytes from a heap copy of that size (no NUL after it),
   so that AddressSanitizer catches any read past the end. */
static int io_parse_n(const char *text, size_t len) {
    char *copy;
    int rc;
    hbpo_json_free(&io_doc);
    copy = (char *)malloc(len ? len : 1);
    if (!copy) return -2;
    if (len) memcpy(copy, text, len);
    rc = hbpo_json_parse(&io_doc, copy, len);
    free(copy); /* the document must not point into the input */
    return rc;
}

/* The root of text, or NULL when it does not parse. */
static const hbpo_json *io_parse(const char *text) {
    return io_parse_n(text, strlen(text)) == 0 ? io_doc.root : NULL;
}

#define ASSERT_PARSES(text)                                                     \
    do {                                                                        \
        if (!io_parse(text)) FAILm(hbpo_last_error());                          \
    } while (0)

/* The input must fail cleanly: -1, no root, a message naming line and column. */
#define ASSERT_REJECTS_N(text, len)                                             \
    do {                                                                        \
        int io__rc = io_parse_n((text), (len));                                 \
        if (io__rc != -1 || io_doc.root || io_doc.nodes || io_doc.strings ||    \
            !strstr(hbpo_last_error(), "line ") || !strstr(hbpo_last_error(), "column ")) \
            HBPO_TEST__FAILF("input %s: rc %d, message \"%s\"", #text, io__rc,  \
                             hbpo_last_error());                                \
    } while (0)
#define ASSERT_REJECTS(text) ASSERT_REJECTS_N(text, strlen(text))

/* ---- valid documents ---- */

TEST json_scalars(void) {
    const hbpo_json *v;
    v = io_parse("null");
    ASSERT(v && v->type == HBPO_JSON_NULL);
    v = io_parse("true");
    ASSERT(v && v->type == HBPO_JSON_TRUE);
    v = io_parse(" false ");
    ASSERT(v && v->type == HBPO_JSON_FALSE);
    v = io_parse("42");
    ASSERT(v && v->type == HBPO_JSON_NUMBER);
    ASSERT_EQ_FMT(42.0, v->num, "%g");
    v = io_parse("\"hi\"");
    ASSERT(v && v->type == HBPO_JSON_STRING);
    ASSERT_STR_EQ("hi", v->str);
    ASSERT_EQ(2, v->len);
    ASSERT(v->key == NULL && v->child == NULL && v->next == NULL);
    ASSERT_EQ(1, io_doc.n_nodes);
    PASS();
}

TEST json_empty_containers(void) {
    const hbpo_json *v;
    v = io_parse("[]");
    ASSERT(v && v->type == HBPO_JSON_ARRAY && v->len == 0 && v->child == NULL);
    v = io_parse(" { } ");
    ASSERT(v && v->type == HBPO_JSON_OBJECT && v->len == 0 && v->child == NULL);
    v = io_parse("[[],{},[[]]]");
    ASSERT(v && v->len == 3);
    ASSERT(v->child->type == HBPO_JSON_ARRAY && v->child->len == 0);
    ASSERT(v->child->next->type == HBPO_JSON_OBJECT && v->child->next->len == 0);
    ASSERT(v->child->next->next->len == 1 && v->child->next->next->child->len == 0);
    ASSERT(v->child->next->next->next == NULL);
    PASS();
}

TEST json_object_members(void) {
    const hbpo_json *v, *m;
    const char *names[] = {"a", "b", "c", "d", "e", "f"};
    int i = 0;
    v = io_parse("{\"a\": 1, \"b\": \"two\", \"c\": [3, 4], \"d\": {\"x\": null},"
                 " \"e\": true, \"f\": false}");
    ASSERT(v && v->type == HBPO_JSON_OBJECT);
    ASSERT_EQ(6, v->len);
    for (m = v->child; m; m = m->next, i++) {
        ASSERT(i < 6);
        ASSERT_STR_EQ(names[i], m->key);
    }
    ASSERT_EQ(6, i);
    ASSERT_EQ_FMT(1.0, hbpo_json_get(v, "a")->num, "%g");
    ASSERT_STR_EQ("two", hbpo_json_get_string(v, "b"));
    ASSERT(hbpo_json_get_string(v, "a") == NULL);   /* not a string */
    ASSERT(hbpo_json_get_string(v, "zz") == NULL);  /* absent */
    ASSERT(hbpo_json_get(v, "zz") == NULL);
    ASSERT(hbpo_json_get(NULL, "a") == NULL);
    ASSERT(hbpo_json_get(hbpo_json_get(v, "c"), "a") == NULL); /* not an object */
    ASSERT_EQ_FMT(4.0, hbpo_json_at(hbpo_json_get(v, "c"), 1)->num, "%g");
    ASSERT(hbpo_json_at(hbpo_json_get(v, "c"), 2) == NULL);
    ASSERT(hbpo_json_get(hbpo_json_get(v, "d"), "x")->type == HBPO_JSON_NULL);
    ASSERT(hbpo_json_get(v, "e")->type == HBPO_JSON_TRUE);
    ASSERT(hbpo_json_get(v, "f")->type == HBPO_JSON_FALSE);
    /* array elements have no key */
    ASSERT(hbpo_json_get(v, "c")->child->key == NULL);
    ASSERT_STR_EQ("e", hbpo_json_at(v, 4)->key);
    PASS();
}

TEST json_duplicate_keys_first_wins(void) {
    const hbpo_json *v = io_parse("{\"k\": 1, \"k\": 2}");
    ASSERT(v && v->len == 2);
    ASSERT_EQ_FMT(1.0, hbpo_json_get(v, "k")->num, "%g");
    ASSERT_EQ_FMT(2.0, v->child->next->num, "%g");
    PASS();
}

/* Walks a nested document by pointers only, checking every child count. */
static int io_count(const hbpo_json *v) {
    const hbpo_json *c;
    size_t k = 0;
    int total = 1, sub;
    for (c = v->child; c; c = c->next, k++) {
        sub = io_count(c);
        if (sub < 0) return -1;
        total += sub;
    }
    if ((v->type == HBPO_JSON_ARRAY || v->type == HBPO_JSON_OBJECT) && k != v->len) return -1;
    if (v->type != HBPO_JSON_ARRAY && v->type != HBPO_JSON_OBJECT && v->child) return -1;
    return total;
}

TEST json_nested_walk(void) {
    const hbpo_json *v, *rows, *r;
    double sum = 0;
    int n = 0;
    v = io_parse("{\"rows\": [{\"id\": 1, \"tags\": [\"a\", \"b\"]}, {\"id\": 2, \"tags\": []},\n"
                 "  {\"id\": 3, \"tags\": [[\"deep\", {\"er\": [4]}]]}], \"n\": 3}");
    ASSERT(v);
    ASSERT_EQ(io_doc.n_nodes, io_count(v));
    rows = hbpo_json_get(v, "rows");
    ASSERT(rows && rows->type == HBPO_JSON_ARRAY && rows->len == 3);
    for (r = rows->child; r; r = r->next, n++) sum += hbpo_json_get(r, "id")->num;
    ASSERT_EQ(3, n);
    ASSERT_EQ_FMT(6.0, sum, "%g");
    ASSERT_EQ_FMT(3.0, hbpo_json_get(v, "n")->num, "%g");
    r = hbpo_json_get(hbpo_json_at(rows, 2), "tags");
    ASSERT_STR_EQ("deep", r->child->child->str);
    ASSERT_EQ_FMT(4.0, hbpo_json_get(r->child->child->next, "er")->child->num, "%g");
    ASSERT_STR_EQ("er", r->child->child->next->child->key);
    PASS();
}

TEST json_whitespace_and_bom(void) {
    const hbpo_json *v = io_parse(" \t\r\n[ 1 ,\n\t2 ] \r\n");
    ASSERT(v && v->len == 2);
    v = io_parse("\xEF\xBB\xBF{\"a\":1}");
    ASSERT(v && v->type == HBPO_JSON_OBJECT);
    /* only the first len bytes count */
    ASSERT_EQ(0, io_parse_n("[1]xyz", 3));
    ASSERT_EQ(0, io_parse_n("123", 2));
    ASSERT_EQ_FMT(12.0, io_doc.root->num, "%g");
    PASS();
}

TEST json_free_is_safe(void) {
    hbpo_json_doc d;
    memset(&d, 0, sizeof d);
    hbpo_json_free(&d);          /* zeroed */
    hbpo_json_free(NULL);
    ASSERT_EQ(-1, hbpo_json_parse(&d, "[1,", 3));
    hbpo_json_free(&d);          /* after a failure */
    ASSERT_EQ(0, hbpo_json_parse(&d, "[1,2]", 5));
    hbpo_json_free(&d);
    hbpo_json_free(&d);          /* twice */
    ASSERT(d.root == NULL && d.nodes == NULL && d.strings == NULL && d.n_nodes == 0);
    ASSERT_EQ(-1, hbpo_json_parse(NULL, "1", 1));
    ASSERT_EQ(-1, hbpo_json_parse(&d, NULL, 5));
    hbpo_json_free(&d);
    PASS();
}

/* ---- strings ---- */

TEST json_escapes(void) {
    const hbpo_json *v = io_parse("\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t end\"");
    ASSERT(v && v->type == HBPO_JSON_STRING);
    ASSERT_STR_EQ("q\" b\\ s/ \b\f\n\r\t end", v->str);
    ASSERT_EQ(strlen("q\" b\\ s/ \b\f\n\r\t end"), v->len);
    PASS();
}

TEST json_unicode_escapes(void) {
    /* U+0041, U+00E9, U+20AC, U+FFFF, and U+1F600 as a surrogate pair */
    static const unsigned char want[] = {0x41, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xEF, 0xBF, 0xBF,
                                         0xF0, 0x9F, 0x98, 0x80};
    const hbpo_json *v = io_parse("\"\\u0041\\u00e9\\u20AC\\uFFFF\\uD83D\\uDE00\"");
    ASSERT(v && v->type == HBPO_JSON_STRING);
    ASSERT_EQ(sizeof want, v->len);
    ASSERT(memcmp(want, v->str, sizeof want) == 0);
    ASSERT_EQ(0, v->str[v->len]);
    /* U+10FFFF, the largest code point */
    v = io_parse("\"\\uDBFF\\uDFFF\"");
    ASSERT(v && v->len == 4 && memcmp(v->str, "\xF4\x8F\xBF\xBF", 4) == 0);
    PASS();
}

TEST json_raw_utf8_kept(void) {
    const char *s = "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xC4\xA0\"";
    const hbpo_json *v = io_parse(s);
    ASSERT(v && v->type == HBPO_JSON_STRING);
    ASSERT_EQ(strlen(s) - 2, v->len);
    ASSERT(memcmp(s + 1, v->str, v->len) == 0);
    PASS();
}

TEST json_nul_in_string(void) {
    const hbpo_json *v = io_parse("{\"a\\u0000b\": \"x\\u0000y\"}");
    ASSERT(v && v->len == 1);
    ASSERT_EQ(3, v->child->len);
    ASSERT(memcmp(v->child->str, "x\0y", 4) == 0);
    ASSERT_STR_EQ("a", v->child->key); /* member names are C strings */
    ASSERT_EQ(3, v->child->key_len);       /* whose length tells the NUL apart */
    ASSERT(memcmp(v->child->key, "a\0b", 4) == 0);
    PASS();
}

TEST json_strings_are_separate(void) {
    const hbpo_json *v = io_parse("[\"\", \"a\", \"\", \"bc\"]");
    ASSERT(v && v->len == 4);
    ASSERT_STR_EQ("", hbpo_json_at(v, 0)->str);
    ASSERT_EQ(0, hbpo_json_at(v, 0)->len);
    ASSERT_STR_EQ("a", hbpo_json_at(v, 1)->str);
    ASSERT_STR_EQ("", hbpo_json_at(v, 2)->str);
    ASSERT_STR_EQ("bc", hbpo_json_at(v, 3)->str);
    PASS();
}

/* ---- numbers ---- */

TEST json_numbers(void) {
    struct { const char *text; double want; } t[] = {
        {"0", 0.0},          {"-0.0", -0.0},       {"7", 7.0},
        {"-12", -12.0},      {"3.25", 3.25},       {"-0.5", -0.5},
        {"1e3", 1000.0},     {"1E+3", 1000.0},     {"25e-2", 0.25},
        {"2.5E-1", 0.25},    {"123456789012345", 123456789012345.0},
        {"9007199254740993", 9007199254740992.0}, /* rounds like strtod */
        {"1.7976931348623157e308", 1.7976931348623157e308},
        {"1e-400", 0.0},     /* underflow is fine */
        {"0.1", 0.1},        {"100000000000000000000", 1e20},
    };
    size_t i;
    const hbpo_json *v;
    for (i = 0; i < sizeof t / sizeof t[0]; i++) {
        v = io_parse(t[i].text);
        if (!v || v->type != HBPO_JSON_NUMBER || v->num != t[i].want)
            HBPO_TEST__FAILF("%s: got %.17g (%s)", t[i].text, v ? v->num : -1.0,
                             v ? "parsed" : hbpo_last_error());
    }
    v = io_parse("-0");
    ASSERT(v && v->num == 0.0 && signbit(v->num));
    v = io_parse("0");
    ASSERT(v && !signbit(v->num));
    v = io_parse("[-1,2.5e1,-3E-1]");
    ASSERT(v && v->len == 3);
    ASSERT_NEAR(-0.3, hbpo_json_at(v, 2)->num, 1e-15);
    PASS();
}

TEST json_long_number(void) {
    /* longer than any stack buffer: 300 digits after the point */
    char s[400];
    const hbpo_json *v;
    memset(s, '0', sizeof s);
    s[0] = '1'; s[1] = '.'; s[300] = '5'; s[301] = 0;
    v = io_parse(s);
    ASSERT(v && v->num == 1.0);
    PASS();
}

/* ---- malformed input ---- */

TEST json_rejects_structure(void) {
    ASSERT_REJECTS("[1, 2,]");
    ASSERT_REJECTS("{\"a\": 1,}");
    ASSERT_REJECTS("[,1]");
    ASSERT_REJECTS("[1 2]");
    ASSERT_REJECTS("{\"a\" 1}");
    ASSERT_REJECTS("{\"a\": }");
    ASSERT_REJECTS("{\"a\"}");
    ASSERT_REJECTS("{a: 1}");
    ASSERT_REJECTS("{'a': 1}");
    ASSERT_REJECTS("['a']");
    ASSERT_REJECTS("{1: 1}");
    ASSERT_REJECTS("{,}");
    ASSERT_REJECTS("[}");
    ASSERT_REJECTS("{]");
    ASSERT_REJECTS("]");
    ASSERT_REJECTS("[");
    ASSERT_REJECTS("[1");
    ASSERT_REJECTS("[1,");
    ASSERT_REJECTS("{");
    ASSERT_REJECTS("{\"a\"");
    ASSERT_REJECTS("{\"a\":");
    ASSERT_REJECTS("{\"a\":1");
    ASSERT_REJECTS("[1]]");
    ASSERT_REJECTS("{} {}");
    ASSERT_REJECTS("1 2");
    ASSERT_REJECTS("[1] x");
    ASSERT_REJECTS("\"a\" \"b\"");
    ASSERT_REJECTS("[1];");
    ASSERT_REJECTS("/* c */ 1");
    ASSERT_REJECTS("[1] // c");
    PASS();
}

TEST json_rejects_empty(void) {
    ASSERT_REJECTS("");
    ASSERT_REJECTS(" ");
    ASSERT_REJECTS("\r\n\t ");
    ASSERT_REJECTS("\xEF\xBB\xBF");
    ASSERT_REJECTS("\xEF\xBB\xBF\xEF\xBB\xBF 1"); /* one BOM only */
    ASSERT_REJECTS(" \xEF\xBB\xBF 1");            /* and only at the start */
    ASSERT_EQ(-1, hbpo_json_parse(&io_doc, NULL, 0));
    ASSERT(strstr(hbpo_last_error(), "line 1, column 1"));
    PASS();
}

TEST json_rejects_literals(void) {
    ASSERT_REJECTS("tru");
    ASSERT_REJECTS("truee");
    ASSERT_REJECTS("True");
    ASSERT_REJECTS("nul");
    ASSERT_REJECTS("NULL");
    ASSERT_REJECTS("fals");
    ASSERT_REJECTS("undefined");
    ASSERT_REJECTS("[true false]");
    ASSERT_REJECTS("\v1"); /* vertical tab is not JSON whitespace */
    ASSERT_REJECTS("\f1");
    ASSERT_REJECTS_N("[1,\0 2]", 7);
    PASS();
}

TEST json_rejects_numbers(void) {
    ASSERT_REJECTS("01");
    ASSERT_REJECTS("-01");
    ASSERT_REJECTS("00");
    ASSERT_REJECTS("+1");
    ASSERT_REJECTS(".5");
    ASSERT_REJECTS("1.");
    ASSERT_REJECTS("1.e5");
    ASSERT_REJECTS("-");
    ASSERT_REJECTS("-a");
    ASSERT_REJECTS("- 1");
    ASSERT_REJECTS("1e");
    ASSERT_REJECTS("1e+");
    ASSERT_REJECTS("1E-");
    ASSERT_REJECTS("1e5.5");
    ASSERT_REJECTS("1.2.3");
    ASSERT_REJECTS("0x10");
    ASSERT_REJECTS("NaN");
    ASSERT_REJECTS("-NaN");
    ASSERT_REJECTS("Infinity");
    ASSERT_REJECTS("-Infinity");
    ASSERT_REJECTS("1e400");
    ASSERT_REJECTS("-1e400");
    ASSERT_REJECTS("[1e999]");
    ASSERT_REJECTS("1,5");
    ASSERT_REJECTS("[01]");
    PASS();
}

TEST json_rejects_strings(void) {
    ASSERT_REJECTS("\"abc");
    ASSERT_REJECTS("\"abc\\\"");
    ASSERT_REJECTS("\"abc\\");
    ASSERT_REJECTS("[\"a]");
    ASSERT_REJECTS("\"\\x41\"");
    ASSERT_REJECTS("\"\\a\"");
    ASSERT_REJECTS("\"\\'\"");
    ASSERT_REJECTS("\"\\U0041\"");
    ASSERT_REJECTS("\"\\u12\"");
    ASSERT_REJECTS("\"\\u12G4\"");
    ASSERT_REJECTS("\"\\u");
    ASSERT_REJECTS("\"\\uD800\"");          /* lone high surrogate */
    ASSERT_REJECTS("\"\\uD800x\"");
    ASSERT_REJECTS("\"\\uD800\\n\"");
    ASSERT_REJECTS("\"\\uD800\\u0041\"");   /* high then not-low */
    ASSERT_REJECTS("\"\\uD800\\uD800\"");
    ASSERT_REJECTS("\"\\uDC00\"");          /* lone low surrogate */
    ASSERT_REJECTS("\"\\uDFFF\\uD800\"");   /* reversed pair */
    ASSERT_REJECTS("\"tab\there\"");        /* raw control characters */
    ASSERT_REJECTS("\"line\nbreak\"");
    ASSERT_REJECTS("\"\x1f\"");
    ASSERT_REJECTS_N("\"a\0b\"", 5);
    ASSERT_REJECTS("'single'");
    PASS();
}

TEST json_rejects_bad_utf8(void) {
    ASSERT_REJECTS("\"\x80\"");                 /* lone continuation byte */
    ASSERT_REJECTS("\"\xBF\"");
    ASSERT_REJECTS("\"\xC3\"");                 /* truncated sequences */
    ASSERT_REJECTS("\"\xE2\x82\"");
    ASSERT_REJECTS("\"\xF0\x9F\x98\"");
    ASSERT_REJECTS("\"\xC3\x28\"");             /* bad continuation */
    ASSERT_REJECTS("\"\xC0\xAF\"");             /* overlong '/' */
    ASSERT_REJECTS("\"\xC1\xBF\"");
    ASSERT_REJECTS("\"\xE0\x80\xAF\"");         /* overlong 3-byte */
    ASSERT_REJECTS("\"\xE0\x9F\xBF\"");
    ASSERT_REJECTS("\"\xF0\x80\x80\xAF\"");     /* overlong 4-byte */
    ASSERT_REJECTS("\"\xF0\x8F\xBF\xBF\"");
    ASSERT_REJECTS("\"\xED\xA0\x80\"");         /* U+D800 encoded in UTF-8 */
    ASSERT_REJECTS("\"\xED\xBF\xBF\"");         /* U+DFFF */
    ASSERT_REJECTS("\"\xF4\x90\x80\x80\"");     /* U+110000 */
    ASSERT_REJECTS("\"\xF5\x80\x80\x80\"");
    ASSERT_REJECTS("\"\xFE\"");
    ASSERT_REJECTS("\"\xFF\"");
    ASSERT_REJECTS_N("\"\xE2\x82\xAC", 4);      /* valid, but unterminated */
    ASSERT_REJECTS("\xC3\xA9");                 /* non-ASCII outside a string */
    ASSERT_REJECTS("{\"k\xFF\": 1}");           /* in a key */
    /* the edges that are valid */
    ASSERT_PARSES("\"\xED\x9F\xBF \xEE\x80\x80 \xF4\x8F\xBF\xBF \xE0\xA0\x80 \xF0\x90\x80\x80\"");
    ASSERT_PARSES("\"\xC2\x80 \xDF\xBF\"");
    PASS();
}

TEST json_error_positions(void) {
    ASSERT_REJECTS("{\n  \"a\": 1,\n  \"b\": 01\n}");
    ASSERT(strstr(hbpo_last_error(), "line 3, column 8") != NULL);
    ASSERT_REJECTS("[1,\n2,\n]");
    ASSERT(strstr(hbpo_last_error(), "line 3, column 1") != NULL);
    ASSERT_REJECTS("[\"abc");
    ASSERT(strstr(hbpo_last_error(), "line 1, column 2: unterminated string") != NULL);
    PASS();
}

/* "[[[...]]]" with depth levels, or only the opening brackets when open_only. */
static char *io_nest(int depth, int open_only, char open, char close) {
    char *s = (char *)malloc((size_t)depth * 2 + 1);
    int i;
    if (!s) return NULL;
    for (i = 0; i < depth; i++) s[i] = open;
    for (i = 0; i < depth; i++) s[depth + i] = open_only ? open : close;
    s[2 * depth] = 0;
    return s;
}

TEST json_depth_limit(void) {
    char *s;
    int rc, depth;
    const hbpo_json *v;
    s = io_nest(512, 0, '[', ']');
    ASSERT(s);
    v = io_parse(s);
    free(s);
    if (!v) FAILm(hbpo_last_error());
    for (rc = 1; v->child; v = v->child) rc++;
    ASSERT_EQ(512, rc);
    s = io_nest(513, 0, '[', ']');
    ASSERT(s);
    rc = io_parse_n(s, strlen(s));
    free(s);
    ASSERT_EQ(-1, rc);
    ASSERT(strstr(hbpo_last_error(), "nesting"));
    /* a hostile input far deeper than any stack */
    s = io_nest(500000, 1, '[', ']');
    ASSERT(s);
    rc = io_parse_n(s, strlen(s));
    free(s);
    ASSERT_EQ(-1, rc);
    ASSERT(strstr(hbpo_last_error(), "line 1, column 513"));
    /* objects count too: 512 nested objects parse, 513 do not */
    for (depth = 512; depth <= 513; depth++) {
        s = (char *)malloc((size_t)depth * 6 + 2);
        ASSERT(s);
        for (rc = 0; rc < depth; rc++) memcpy(s + 5 * rc, "{\"a\":", 5);
        s[5 * depth] = '1';
        memset(s + 5 * depth + 1, '}', (size_t)depth);
        s[6 * depth + 1] = 0;
        rc = io_parse_n(s, strlen(s));
        free(s);
        ASSERT_EQ(depth == 512 ? 0 : -1, rc);
    }
    PASS();
}

/* ---- mutation fuzz ---- */

static uint64_t io_rng_state;
static uint32_t io_rand(void) { /* xorshift64*, private to this test */
    io_rng_state ^= io_rng_state >> 12;
    io_rng_state ^= io_rng_state << 25;
    io_rng_state ^= io_rng_state >> 27;
    return (uint32_t)((io_rng_state * 2685821657736338717ULL) >> 32);
}

TEST json_mutation_fuzz(void) {
    static const char base[] =
        "{\"name\": \"caf\\u00e9 \\ud83d\\ude00 \xE2\x82\xAC\", \"n\": [0, -1.5e-3, 12345678901234567,"
        " true, false, null], \"nested\": {\"a\": [[], {}, [\"x\\n\\t\\\"\"]], \"b\": -0},"
        " \"esc\": \"\\\\\\/\\b\\f\\r\", \"big\": 1E+300, \"k\": {\"\": \"\"}}";
    static const char special[] = "{}[],:\"\\-+.eE0u \n\x80\xC3\xED\xF4\xFF";
    const size_t blen = sizeof base - 1;
    char buf[sizeof base + 16];
    size_t len, pos;
    int iter, m, nm, rc, parsed = 0, failed = 0, total;
    ASSERT_EQ(0, io_parse_n(base, blen)); /* the seed document itself is valid */
    io_rng_state = 0x9E3779B97F4A7C15ULL;
    for (iter = 0; iter < 5000; iter++) {
        memcpy(buf, base, blen);
        len = blen;
        nm = 1 + (int)(io_rand() % 4);
        for (m = 0; m < nm && len > 0; m++) {
            pos = io_rand() % len;
            switch (io_rand() % 5) {
            case 0: buf[pos] = (char)(io_rand() & 0xFF); break;            /* random byte */
            case 1: buf[pos] = special[io_rand() % (sizeof special - 1)]; break;
            case 2: memmove(buf + pos, buf + pos + 1, len - pos - 1); len--; break; /* delete */
            case 3:                                                         /* insert */
                if (len < sizeof buf) {
                    memmove(buf + pos + 1, buf + pos, len - pos);
                    buf[pos] = special[io_rand() % (sizeof special - 1)];
                    len++;
                }
                break;
            default: len = pos; break;                                      /* truncate */
            }
        }
        rc = io_parse_n(buf, len);
        if (rc == 0) {
            parsed++;
            total = io_count(io_doc.root);
            if (total != (int)io_doc.n_nodes)
                HBPO_TEST__FAILF("iteration %d: tree walk found %d of %lu values", iter, total,
                                 (unsigned long)io_doc.n_nodes);
        } else if (rc == -1) {
            failed++;
            if (io_doc.root || io_doc.nodes || !strstr(hbpo_last_error(), "line "))
                HBPO_TEST__FAILF("iteration %d: unclean failure \"%s\"", iter, hbpo_last_error());
        } else {
            HBPO_TEST__FAILF("iteration %d: rc %d", iter, rc);
        }
    }
    /* both outcomes must occur, or the mutations are not exercising anything */
    ASSERT(parsed > 50 && failed > 2000);
    hbpo_json_free(&io_doc);
    PASS();
}

/* ---- files ---- */

/* A fresh file name in $TMPDIR or /tmp, created empty with "wx" (C11
   exclusive create) so that concurrent runs never share one. */
static int io_tmp_path(char *path, size_t cap) {
    static unsigned counter;
    const char *dir = getenv("TMPDIR");
    int i, local;
    FILE *f;
    if (!dir || !*dir) dir = "/tmp";
    for (i = 0; i < 100; i++) {
        snprintf(path, cap, "%s/hbpo_test_io_%lx_%lx_%u.tmp", dir,
                 (unsigned long)time(NULL), (unsigned long)(uintptr_t)&local ^ (unsigned long)clock(),
                 counter++);
        f = fopen(path, "wx");
        if (f) { fclose(f); return 0; }
    }
    return -1;
}

static int io_write_file(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    size_t w;
    if (!f) return -1;
    w = fwrite(data, 1, len, f);
    return (fclose(f) == 0 && w == len) ? 0 : -1;
}

TEST read_file_roundtrip(void) {
    char path[512], *got;
    size_t len = 99;
    static const char data[] = "abc\0def\r\n\xFF";
    ASSERT_EQ(0, io_tmp_path(path, sizeof path));
    ASSERT_EQ(0, io_write_file(path, data, sizeof data - 1));
    got = hbpo_read_file(path, 0, &len);
    if (!got) { remove(path); FAILm(hbpo_last_error()); }
    ASSERT_EQ(sizeof data - 1, len);
    ASSERT(memcmp(got, data, len) == 0 && got[len] == 0);
    hbpo_free(got);
    /* exactly at the limit is fine, one byte over is not */
    got = hbpo_read_file(path, sizeof data - 1, &len);
    ASSERT(got != NULL);
    hbpo_free(got);
    got = hbpo_read_file(path, sizeof data - 2, &len);
    ASSERT(got == NULL && len == 0);
    ASSERT(strstr(hbpo_last_error(), path) && strstr(hbpo_last_error(), "limit"));
    /* an empty file is an empty string */
    ASSERT_EQ(0, io_write_file(path, "", 0));
    got = hbpo_read_file(path, 1, &len);
    ASSERT(got && len == 0 && got[0] == 0);
    hbpo_free(got);
    hbpo_free(NULL);
    remove(path);
    PASS();
}

TEST read_file_missing(void) {
    size_t len = 7;
    char *got = hbpo_read_file("/nonexistent-dir-hbpo/missing.json", 0, &len);
    ASSERT(got == NULL && len == 0);
    ASSERT(strstr(hbpo_last_error(), "/nonexistent-dir-hbpo/missing.json") != NULL);
    ASSERT(strstr(hbpo_last_error(), "No such file") != NULL ||
           strstr(hbpo_last_error(), "cannot open") != NULL);
    ASSERT(hbpo_read_file(NULL, 0, NULL) == NULL);
    PASS();
}

TEST read_file_bigger_than_hint(void) {
    /* larger than the first allocation without a size hint is covered by
       reading a file much larger than 64 KiB */
    char path[512], *data, *got;
    size_t n = 300000, i, len = 0;
    ASSERT_EQ(0, io_tmp_path(path, sizeof path));
    data = (char *)malloc(n);
    ASSERT(data);
    for (i = 0; i < n; i++) data[i] = (char)('a' + i % 26);
    if (io_write_file(path, data, n)) { free(data); remove(path); FAILm("cannot write"); }
    got = hbpo_read_file(path, 0, &len);
    remove(path);
    if (!got) { free(data); FAILm(hbpo_last_error()); }
    i = (len == n && memcmp(got, data, n) == 0);
    free(data);
    hbpo_free(got);
    ASSERT(i);
    PASS();
}

/* ---- JSON Lines ---- */

TEST jsonl_blank_crlf_bad_line(void) {
    static const char text[] =
        "{\"a\": 1}\n"          /* 1 */
        "\n"                    /* 2 blank */
        "{\"a\": 2\n"           /* 3 bad */
        "   \t \r\n"            /* 4 whitespace only */
        "[3]\r\n"               /* 5 CRLF */
        "\r\n"                  /* 6 blank CRLF */
        "{\"a\": \"x\"} junk\n" /* 7 bad */
        "{\"a\": 4}";           /* 8 no final newline */
    char path[512];
    hbpo_jsonl r;
    hbpo_json_doc d;
    int rc;
    memset(&d, 0, sizeof d);
    ASSERT_EQ(0, io_tmp_path(path, sizeof path));
    ASSERT_EQ(0, io_write_file(path, text, sizeof text - 1));
    rc = hbpo_jsonl_open(&r, path);
    remove(path); /* the open file stays readable on POSIX; closed below */
    if (rc) FAILm(hbpo_last_error());
    ASSERT_EQ(1, hbpo_jsonl_next(&r, &d));
    ASSERT_EQ(1, r.line);
    ASSERT_EQ_FMT(1.0, hbpo_json_get(d.root, "a")->num, "%g");
    ASSERT_EQ(-1, hbpo_jsonl_next(&r, &d));
    ASSERT_EQ(3, r.line);
    ASSERT(d.root == NULL);
    ASSERT(strstr(hbpo_last_error(), "line 3, column 8") != NULL);
    ASSERT_EQ(1, hbpo_jsonl_next(&r, &d));
    ASSERT_EQ(5, r.line);
    ASSERT(d.root->type == HBPO_JSON_ARRAY && d.root->len == 1);
    ASSERT_EQ(-1, hbpo_jsonl_next(&r, &d));
    ASSERT_EQ(7, r.line);
    ASSERT(strstr(hbpo_last_error(), "line 7, column 12") != NULL);
    ASSERT_EQ(1, hbpo_jsonl_next(&r, &d));
    ASSERT_EQ(8, r.line);
    ASSERT_EQ_FMT(4.0, hbpo_json_get(d.root, "a")->num, "%g");
    ASSERT_EQ(0, hbpo_jsonl_next(&r, &d));
    ASSERT(d.root == NULL);
    ASSERT_EQ(0, hbpo_jsonl_next(&r, &d)); /* stays at the end */
    hbpo_jsonl_close(&r);
    hbpo_jsonl_close(&r); /* twice is harmless */
    hbpo_json_free(&d);
    PASS();
}

TEST jsonl_long_line_and_nul(void) {
    const size_t n = 1 << 20; /* a 1 MiB string value */
    char path[512], *text;
    size_t i, len;
    FILE *f;
    hbpo_jsonl r;
    hbpo_json_doc d;
    const char *s;
    int ok = 1;
    memset(&d, 0, sizeof d);
    ASSERT_EQ(0, io_tmp_path(path, sizeof path));
    text = (char *)malloc(n + 64);
    ASSERT(text);
    memcpy(text, "{\"text\": \"", 10);
    for (i = 0; i < n; i++) text[10 + i] = (char)('a' + i % 26);
    memcpy(text + 10 + n, "\"}\n", 3);
    len = 13 + n;
    f = fopen(path, "wb");
    if (!f) { free(text); FAILm("cannot write the temp file"); }
    fwrite("[0]\n", 1, 4, f);
    fwrite(text, 1, len, f);
    fwrite("[1,\0 2]\n", 1, 8, f); /* a NUL byte must not cut the line short */
    fwrite("[1]\0\n", 1, 5, f);    /* nor hide what follows it */
    fwrite("\"end\"", 1, 5, f);
    fclose(f);
    if (hbpo_jsonl_open(&r, path)) { free(text); remove(path); FAILm(hbpo_last_error()); }
    remove(path);
    ok = ok && hbpo_jsonl_next(&r, &d) == 1 && r.line == 1;
    ok = ok && hbpo_jsonl_next(&r, &d) == 1 && r.line == 2;
    s = ok ? hbpo_json_get_string(d.root, "text") : NULL;
    ok = ok && s && strlen(s) == n && memcmp(s, text + 10, n) == 0;
    free(text);
    ASSERTm("the 1 MiB line", ok);
    ASSERT_EQ(-1, hbpo_jsonl_next(&r, &d));
    ASSERT_EQ(3, r.line);
    ASSERT(strstr(hbpo_last_error(), "line 3, column 4") != NULL);
    ASSERT_EQ(-1, hbpo_jsonl_next(&r, &d));
    ASSERT_EQ(4, r.line);
    ASSERT_EQ(1, hbpo_jsonl_next(&r, &d));
    ASSERT_EQ(5, r.line);
    ASSERT_STR_EQ("end", d.root->str);
    ASSERT_EQ(0, hbpo_jsonl_next(&r, &d));
    hbpo_jsonl_close(&r);
    hbpo_json_free(&d);
    PASS();
}

TEST jsonl_empty_and_missing(void) {
    char path[512];
    hbpo_jsonl r;
    hbpo_json_doc d;
    memset(&d, 0, sizeof d);
    ASSERT_EQ(-1, hbpo_jsonl_open(&r, "/nonexistent-dir-hbpo/data.jsonl"));
    ASSERT(strstr(hbpo_last_error(), "/nonexistent-dir-hbpo/data.jsonl") != NULL);
    hbpo_jsonl_close(&r);                    /* zeroed by the failed open */
    ASSERT_EQ(-2, hbpo_jsonl_next(&r, &d));  /* not open */
    ASSERT_EQ(0, io_tmp_path(path, sizeof path));
    ASSERT_EQ(0, io_write_file(path, "\n\n  \n", 5));
    ASSERT_EQ(0, hbpo_jsonl_open(&r, path));
    remove(path);
    ASSERT_EQ(0, hbpo_jsonl_next(&r, &d));   /* only blank lines */
    ASSERT_EQ(3, r.line);
    hbpo_jsonl_close(&r);
    PASS();
}

TEST jsonl_real_gsm8k(void) {
    char path[1024];
    const char *dir = getenv("HBPO_DATA_DIR");
    hbpo_jsonl r;
    hbpo_json_doc d;
    int rc, rows = 0;
    FILE *probe;
    memset(&d, 0, sizeof d);
    snprintf(path, sizeof path, "%s/gsm8k/test.jsonl", dir && *dir ? dir : "../shared/data");
    probe = fopen(path, "rb");
    if (!probe) SKIPm("gsm8k/test.jsonl not found (set HBPO_DATA_DIR)");
    fclose(probe);
    ASSERT_EQ(0, hbpo_jsonl_open(&r, path));
    while ((rc = hbpo_jsonl_next(&r, &d)) == 1) {
        if (!hbpo_json_get_string(d.root, "question") || !hbpo_json_get_string(d.root, "answer")) {
            hbpo_jsonl_close(&r);
            hbpo_json_free(&d);
            HBPO_TEST__FAILF("row %d lacks question/answer", rows + 1);
        }
        rows++;
    }
    hbpo_jsonl_close(&r);
    hbpo_json_free(&d);
    if (rc != 0) FAILm(hbpo_last_error());
    ASSERT_EQ(1319, rows);
    PASS();
}

/* ---- the real Qwen3 tokenizer.json ---- */

TEST json_qwen3_tokenizer(void) {
    char path[1024];
    const char *dir = getenv("HBPO_DATA_DIR");
    char *text;
    size_t len = 0;
    FILE *probe;
    const hbpo_json *model, *vocab, *merges, *added, *m, *last = NULL;
    size_t count = 0;
    int rc;
    snprintf(path, sizeof path, "%s/qwen3-tokenizer/tokenizer.json",
             dir && *dir ? dir : "../shared/data");
    probe = fopen(path, "rb");
    if (!probe) SKIPm("qwen3-tokenizer/tokenizer.json not found (set HBPO_DATA_DIR)");
    fclose(probe);
    text = hbpo_read_file(path, 0, &len);
    if (!text) FAILm(hbpo_last_error());
    hbpo_json_free(&io_doc);
    rc = hbpo_json_parse(&io_doc, text, len);
    hbpo_free(text);
    if (rc) FAILm(hbpo_last_error());
    model = hbpo_json_get(io_doc.root, "model");
    ASSERT(model && model->type == HBPO_JSON_OBJECT);
    ASSERT_STR_EQ("BPE", hbpo_json_get_string(model, "type"));
    vocab = hbpo_json_get(model, "vocab");
    merges = hbpo_json_get(model, "merges");
    added = hbpo_json_get(io_doc.root, "added_tokens");
    ASSERT(vocab && vocab->type == HBPO_JSON_OBJECT);
    ASSERT(merges && merges->type == HBPO_JSON_ARRAY);
    ASSERT(added && added->type == HBPO_JSON_ARRAY);
    ASSERT_EQ(151643, vocab->len);
    ASSERT_EQ(151387, merges->len);
    ASSERT_EQ(26, added->len);
    for (m = vocab->child; m; m = m->next) count++;
    ASSERT_EQ(151643, count);
    ASSERT_EQ_FMT(0.0, hbpo_json_get(vocab, "!")->num, "%g");
    ASSERT_EQ_FMT(220.0, hbpo_json_get(vocab, "\xC4\xA0")->num, "%g"); /* "Ġ", byte-level space */
    for (m = merges->child; m; m = m->next) {
        if (m->type != HBPO_JSON_ARRAY || m->len != 2 || m->child->type != HBPO_JSON_STRING ||
            m->child->next->type != HBPO_JSON_STRING)
            FAILm("a merge is not a pair of strings");
        last = m;
    }
    ASSERT_STR_EQ("\xC4\xA0", merges->child->child->str);
    ASSERT_STR_EQ("\xC4\xA0", merges->child->child->next->str);
    ASSERT(last && strcmp(last->child->next->str, "\xC4\xB9") == 0); /* "Ĺ" */
    ASSERT_STR_EQ("<|endoftext|>", hbpo_json_get_string(added->child, "content"));
    ASSERT_EQ_FMT(151643.0, hbpo_json_get(added->child, "id")->num, "%g");
    ASSERT_STR_EQ("</think>", hbpo_json_get_string(hbpo_json_at(added, 25), "content"));
    hbpo_json_free(&io_doc);
    PASS();
}

/* ---- work that grows with the text (issue 12) ---- */

/* Fills s with the pathological JSON `kind` of about n units; its length. */
static size_t io_patho(char *s, int kind, size_t n) {
    static const char *const unit[] = {"\\n", "\\u00e9", "\\ud83d\\ude00", "1", "1,", "\"k\":1,", " "};
    static const char *const open[] = {"\"", "\"", "\"", "0.", "[", "{", "["};
    static const char *const close[] = {"\"", "\"", "\"", "", "1]", "\"k\":1}", "1]"};
    size_t m = strlen(open[kind]), k = strlen(unit[kind]), i;
    memcpy(s, open[kind], m);
    for (i = 0; i < n; i++, m += k) memcpy(s + m, unit[kind], k);
    memcpy(s + m, close[kind], strlen(close[kind]) + 1);
    return m + strlen(close[kind]);
}

/* Twice the document costs at most about twice the work, in steps of
   hbpo_op_count (HBPO_COUNT_OPS), not seconds: long runs of escapes and
   surrogate pairs, a 100k-digit number, wide arrays and objects, white space.
   (Deep nesting is refused at depth 512; see json_depth_limit.) */
TEST json_work_is_linear(void) {
    enum { N = 50000 };
    char *s = (char *)malloc(2 * N * 12 + 16);
    unsigned long long c0, w1, w2;
    size_t n1, n2;
    int kind, r1, r2;
    ASSERT(s != NULL);
    for (kind = 0; kind < 7; kind++) {
        n1 = io_patho(s, kind, N);
        c0 = hbpo_op_count();
        r1 = io_parse_n(s, n1);
        w1 = hbpo_op_count() - c0;
        n2 = io_patho(s, kind, 2 * N);
        c0 = hbpo_op_count();
        r2 = io_parse_n(s, n2);
        w2 = hbpo_op_count() - c0;
        if (r1 != 0 || r2 != 0 || w1 < N || (double)w2 > 2.5 * (double)w1) {
            free(s);
            HBPO_TEST__FAILF("input %d: parse %d %d, %llu steps, twice the text %llu", kind, r1,
                             r2, w1, w2);
        }
    }
    free(s);
    PASS();
}

/* Option values: the whole string, in range, or a message naming the flag. */
TEST parse_int_whole_values_in_range(void) {
    static const char *const bad[] = {"", "-", "+", "x", "3x", " 3", "3 ", "1.5", "11", "-1",
                                      "99999999999999999999", "2147483648"};
    int v = 7, i;
    ASSERT_EQ(0, hbpo_parse_int("--n", "0", 0, 10, &v));
    ASSERT_EQ(0, v);
    ASSERT_EQ(0, hbpo_parse_int("--n", "+10", 0, 10, &v));
    ASSERT_EQ(10, v);
    ASSERT_EQ(0, hbpo_parse_int("--n", "-5", -5, 5, &v));
    ASSERT_EQ(-5, v);
    ASSERT_EQ(0, hbpo_parse_int("--n", "2147483647", 0, 2147483647, &v));
    ASSERT_EQ(2147483647, v);
    ASSERT_EQ(0, hbpo_parse_int("--n", "-2147483648", -2147483647 - 1, 0, &v));
    ASSERT_EQ(-2147483647 - 1, v);
    for (i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++) {
        v = 7;
        ASSERTm(bad[i], hbpo_parse_int("--n", bad[i], 0, 10, &v) == -1);
        ASSERT_EQ(7, v);
        ASSERT(strstr(hbpo_last_error(), "--n") != NULL);
    }
    ASSERT_EQ(-1, hbpo_parse_int("--n", "2147483648", -2147483647 - 1, 2147483647, &v));
    PASS();
}

SUITE(io_suite) {
    RUN_TEST(json_scalars);
    RUN_TEST(json_empty_containers);
    RUN_TEST(json_object_members);
    RUN_TEST(json_duplicate_keys_first_wins);
    RUN_TEST(json_nested_walk);
    RUN_TEST(json_whitespace_and_bom);
    RUN_TEST(json_free_is_safe);
    RUN_TEST(json_escapes);
    RUN_TEST(json_unicode_escapes);
    RUN_TEST(json_raw_utf8_kept);
    RUN_TEST(json_nul_in_string);
    RUN_TEST(json_strings_are_separate);
    RUN_TEST(json_numbers);
    RUN_TEST(json_long_number);
    RUN_TEST(json_rejects_structure);
    RUN_TEST(json_rejects_empty);
    RUN_TEST(json_rejects_literals);
    RUN_TEST(json_rejects_numbers);
    RUN_TEST(json_rejects_strings);
    RUN_TEST(json_rejects_bad_utf8);
    RUN_TEST(json_error_positions);
    RUN_TEST(json_depth_limit);
    RUN_TEST(json_mutation_fuzz);
    RUN_TEST(read_file_roundtrip);
    RUN_TEST(read_file_missing);
    RUN_TEST(read_file_bigger_than_hint);
    RUN_TEST(jsonl_blank_crlf_bad_line);
    RUN_TEST(jsonl_long_line_and_nul);
    RUN_TEST(jsonl_empty_and_missing);
    RUN_TEST(jsonl_real_gsm8k);
    RUN_TEST(json_qwen3_tokenizer);
    RUN_TEST(json_work_is_linear);
    RUN_TEST(parse_int_whole_values_in_range);
    hbpo_json_free(&io_doc);
}
