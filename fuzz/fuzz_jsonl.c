/* The JSON Lines reader over a file holding the input. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[512];
    hbpo_jsonl r;
    hbpo_json_doc doc;
    int rc, n = 0;
    long last = 0;
    fuzz_path(path, "in.jsonl");
    fuzz_write(path, data, size);
    FUZZ_CHECK(hbpo_jsonl_open(&r, path) == 0);
    memset(&doc, 0, sizeof doc);
    while ((rc = hbpo_jsonl_next(&r, &doc)) != 0 && rc != -2) {
        FUZZ_CHECK(rc == 1 ? doc.root != NULL : rc == -1);
        FUZZ_CHECK(r.line > last); /* every record moves on */
        last = r.line;
        FUZZ_CHECK(++n <= (int)size + 1);
    }
    hbpo_json_free(&doc);
    hbpo_jsonl_close(&r);
    return 0;
}
