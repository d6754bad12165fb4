/* Answer checking on model output: the input up to its first NUL byte is the
   response, what follows (to the next NUL) the gold answer. Exercises
   hbpo_extract_boxed, hbpo_strip_string, hbpo_math_equal, hbpo_judge,
   hbpo_gsm8k_extract and hbpo_count_reflections, with the promises they
   make: equality is reflexive, the judge agrees with extract + equal. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *resp = (char *)malloc(size + 2), *gold, box[4096], norm[4096], small[8];
    int r, j, e;
    FUZZ_CHECK(resp != NULL);
    memcpy(resp, data, size);
    resp[size] = resp[size + 1] = 0;
    gold = resp + strlen(resp) + 1; /* "" when the input has no NUL */

    r = hbpo_extract_boxed(resp, box, sizeof box);
    FUZZ_CHECK(r == 0 || r == -1 || r == -2);
    if (r == 0) FUZZ_CHECK(strlen(box) < sizeof box);
    e = hbpo_extract_boxed(resp, small, sizeof small);
    FUZZ_CHECK(r == -1 ? e == -1 : e == 0 || e == -2);
    j = hbpo_judge(resp, gold);
    if (r == -1) FUZZ_CHECK(j == HBPO_NO_ANSWER);
    else if (r == -2) FUZZ_CHECK(j == HBPO_WRONG);
    else FUZZ_CHECK(j == (hbpo_math_equal(box, gold) ? HBPO_CORRECT : HBPO_WRONG));

    if (hbpo_strip_string(resp, norm, sizeof norm) == 0) FUZZ_CHECK(strlen(norm) < sizeof norm);
    hbpo_strip_string(gold, small, sizeof small);
    FUZZ_CHECK(hbpo_math_equal(resp, resp) == 1);
    FUZZ_CHECK(hbpo_math_equal(gold, gold) == 1);
    FUZZ_CHECK(hbpo_math_equal(resp, gold) == hbpo_math_equal(gold, resp));
    r = hbpo_gsm8k_extract(resp, norm, sizeof norm);
    FUZZ_CHECK(r == 0 || r == -1 || r == -2);
    FUZZ_CHECK(hbpo_count_reflections(resp) >= 0);
    free(resp);
    return 0;
}
