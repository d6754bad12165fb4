/* hbpo_dataset_load over a file holding the input after its first byte, which
   picks the layout (AUTO, MATH, GSM8K) and strictness. Every loaded problem
   has both strings, and the judge finds its answer equal to itself. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    hbpo_dataset d;
    int i, layout, strict;
    if (size < 1) return 0;
    layout = data[0] % 3;
    strict = (data[0] >> 2) & 1;
    fuzz_path(path, "data.jsonl");
    fuzz_write(path, data + 1, size - 1);
    if (hbpo_dataset_load(&d, path, layout, strict) != 0) {
        FUZZ_CHECK(d.n == 0 && d.items == NULL && hbpo_last_error()[0]);
        return 0;
    }
    FUZZ_CHECK(d.n > 0 && d.n <= d.cap && (strict ? d.n_skipped == 0 : 1));
    for (i = 0; i < d.n; i++) {
        FUZZ_CHECK(d.items[i].question && d.items[i].answer && d.items[i].level >= 0);
        FUZZ_CHECK(hbpo_math_equal(d.items[i].answer, d.items[i].answer) == 1);
    }
    hbpo_dataset_free(&d);
    return 0;
}
