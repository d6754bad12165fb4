/* tokenizer.json from arbitrary bytes; whatever loads must encode and decode
   (a fixed text and the input itself) and answer its lookups consistently. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char text[] = "Hello w\xC3\xB6rld <|im_end|> 12345 e\xCC\x81 \n\n  ab";
    hbpo_tokenizer *t = NULL;
    int ids[256], n, k, v;
    char out[1024];
    const char *tok;
    if (hbpo_tokenizer_load_json(&t, (const char *)data, size) != 0) {
        FUZZ_CHECK(t == NULL && hbpo_last_error()[0]);
        return 0;
    }
    v = hbpo_tokenizer_vocab_size(t);
    FUZZ_CHECK(v > 0);
    n = hbpo_tokenizer_encode(t, text, sizeof text - 1, ids, 256);
    FUZZ_CHECK(n >= 0 && n <= 256);
    for (k = 0; k < n; k++) FUZZ_CHECK(ids[k] >= 0 && ids[k] < v);
    FUZZ_CHECK(hbpo_tokenizer_decode(t, ids, n, 0, out, sizeof out) >= 0);
    FUZZ_CHECK(hbpo_tokenizer_decode(t, ids, n, 1, out, sizeof out) >= 0);
    n = hbpo_tokenizer_encode(t, (const char *)data, size > 512 ? 512 : size, ids, 256);
    if (n > 256) n = 256;
    if (n > 0) FUZZ_CHECK(hbpo_tokenizer_decode(t, ids, n, 0, out, sizeof out) >= 0);
    for (k = 0; k < v && k < 64; k++) {
        tok = hbpo_tokenizer_token(t, k);
        if (tok) FUZZ_CHECK(hbpo_tokenizer_token_id(t, tok) >= 0);
    }
    hbpo_tokenizer_free(t);
    return 0;
}
