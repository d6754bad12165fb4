/* Decoding arbitrary ids (4 bytes each, little endian) with the Qwen3
   tokenizer: ids outside the vocabulary are refused; the rest decode to
   valid UTF-8 whose length does not depend on the buffer (snprintf style). */
#include "fuzz_common.h"

static hbpo_tokenizer *tok;

/* 1 when s[0..n) is well-formed UTF-8 (RFC 3629). */
static int fuzz_utf8(const unsigned char *s, size_t n) {
    size_t i = 0, k, len;
    unsigned char c, lo, hi;
    while (i < n) {
        c = s[i];
        lo = 0x80;
        hi = 0xBF;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) len = 2;
        else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else return 0;
        if (n - i < len || s[i + 1] < lo || s[i + 1] > hi) return 0;
        for (k = 2; k < len; k++)
            if ((s[i + k] & 0xC0) != 0x80) return 0;
        i += len;
    }
    return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    tok = fuzz_tokenizer();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int n = (int)(size / 4), i, len, skip, v = hbpo_tokenizer_vocab_size(tok);
    int *ids = (int *)malloc(((size_t)n + 1) * sizeof(int));
    char small[7], *out;
    uint32_t u;
    FUZZ_CHECK(ids != NULL);
    for (i = 0; i < n; i++) {
        u = (uint32_t)data[4 * i] | (uint32_t)data[4 * i + 1] << 8 |
            (uint32_t)data[4 * i + 2] << 16 | (uint32_t)data[4 * i + 3] << 24;
        /* mostly ids of the vocabulary, sometimes anything at all */
        ids[i] = (u & 0x80000000u) ? (int)u : (int)(u % (uint32_t)(v + 2)) - 1;
    }
    for (skip = 0; skip < 2; skip++) {
        len = hbpo_tokenizer_decode(tok, ids, n, skip, NULL, 0);
        if (len < 0) {
            FUZZ_CHECK(hbpo_last_error()[0]);
            break;
        }
        out = (char *)malloc((size_t)len + 1);
        FUZZ_CHECK(out != NULL);
        FUZZ_CHECK(hbpo_tokenizer_decode(tok, ids, n, skip, out, (size_t)len + 1) == len);
        FUZZ_CHECK(out[len] == 0);
        FUZZ_CHECK(fuzz_utf8((const unsigned char *)out, (size_t)len)); /* U+FFFD for the rest */
        FUZZ_CHECK(hbpo_tokenizer_decode(tok, ids, n, skip, small, sizeof small) == len);
        i = len < 6 ? len : 6; /* the first cap-1 bytes, then the NUL */
        FUZZ_CHECK(memcmp(small, out, (size_t)i) == 0 && small[i] == 0);
        free(out);
    }
    free(ids);
    return 0;
}
