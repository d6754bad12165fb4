/* model.safetensors (header, tensor table and data) loaded into the tiny model
   of fuzz_common.h: hbpo_model_load on a folder with its config.json. */
#include "fuzz_common.h"

static const char *dir;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    dir = fuzz_ckpt_dir("st");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[600];
    hbpo_model m;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    fuzz_write(path, data, size);
    if (hbpo_model_load(&m, dir, NULL) == 0) {
        FUZZ_CHECK(m.n_tensors > 0);
        hbpo_model_free(&m);
    } else {
        FUZZ_CHECK(hbpo_last_error()[0] != 0);
    }
    return 0;
}
