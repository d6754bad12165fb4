/* Encoding arbitrary bytes with the real Qwen3 tokenizer (loaded once; see
   fuzz_tokenizer), then decoding the ids. Invalid UTF-8 must be refused; valid
   text must give ids of the vocabulary, the same ids when asked to measure
   first, and back its own bytes when NFC cannot change it (every code point
   below U+0300) and no added token occurs in it (those may be special). */
#include "fuzz_common.h"

static hbpo_tokenizer *tok;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    tok = fuzz_tokenizer();
    return 0;
}

/* 1 when s[0..n) has no byte of a code point at or above U+0300 (lead bytes
   0xCC and above) and no '<' (added tokens such as <|im_end|> start with it). */
static int fuzz_plain(const uint8_t *s, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (s[i] >= 0xCC || s[i] == '<') return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int n, k, v = hbpo_tokenizer_vocab_size(tok), *ids;
    char *out;
    n = hbpo_tokenizer_encode(tok, (const char *)data, size, NULL, 0);
    if (n < 0) {
        FUZZ_CHECK(strstr(hbpo_last_error(), "UTF-8") != NULL);
        return 0;
    }
    /* NFC may lengthen the text (U+0958 stays decomposed: 3 bytes -> 6), at
       most 3x in UTF-8, and each id holds at least one byte of it */
    FUZZ_CHECK((size_t)n <= 3 * size);
    ids = (int *)malloc(((size_t)n + 1) * sizeof(int));
    FUZZ_CHECK(ids != NULL);
    FUZZ_CHECK(hbpo_tokenizer_encode(tok, (const char *)data, size, ids, n) == n);
    for (k = 0; k < n; k++) FUZZ_CHECK(ids[k] >= 0 && ids[k] < v);
    k = hbpo_tokenizer_decode(tok, ids, n, 0, NULL, 0);
    FUZZ_CHECK(k >= 0 && (size_t)k <= 3 * size);
    out = (char *)malloc((size_t)k + 1);
    FUZZ_CHECK(out != NULL);
    FUZZ_CHECK(hbpo_tokenizer_decode(tok, ids, n, 0, out, (size_t)k + 1) == k);
    if (fuzz_plain(data, size)) FUZZ_CHECK((size_t)k == size && memcmp(out, data, size) == 0);
    FUZZ_CHECK(hbpo_tokenizer_decode(tok, ids, n, 1, out, (size_t)k + 1) >= 0);
    free(ids);
    free(out);
    return 0;
}
