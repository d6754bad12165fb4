/* hbpo_json_parse on arbitrary bytes; a parsed document is walked whole and
   must be consistent: every container's len is its number of children. */
#include "fuzz_common.h"

static size_t fuzz_walk(const hbpo_json *v, int depth) {
    const hbpo_json *c;
    size_t n = 1, k = 0;
    FUZZ_CHECK(depth <= 513);
    if (v->type == HBPO_JSON_STRING) FUZZ_CHECK(v->str && v->str[v->len] == 0);
    if (v->type == HBPO_JSON_ARRAY || v->type == HBPO_JSON_OBJECT) {
        for (c = v->child; c; c = c->next, k++) {
            if (v->type == HBPO_JSON_OBJECT) {
                FUZZ_CHECK(c->key && c->key[c->key_len] == 0);
                FUZZ_CHECK(hbpo_json_get(v, c->key) != NULL);
            }
            n += fuzz_walk(c, depth + 1);
        }
        FUZZ_CHECK(k == v->len);
        if (k) FUZZ_CHECK(hbpo_json_at(v, k - 1) != NULL && hbpo_json_at(v, k) == NULL);
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hbpo_json_doc doc;
    int rc = hbpo_json_parse(&doc, (const char *)data, size);
    if (rc == 0) FUZZ_CHECK(fuzz_walk(doc.root, 0) == doc.n_nodes);
    else FUZZ_CHECK(rc == -1 && hbpo_last_error()[0] && doc.root == NULL);
    hbpo_json_free(&doc);
    return 0;
}
