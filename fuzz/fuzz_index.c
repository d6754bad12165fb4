/* model.safetensors.index.json: the tiny model of fuzz_common.h saved in
   three shards once, then loaded through the input as its index. */
#include "fuzz_common.h"

static const char *dir;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    hbpo_model_config c;
    hbpo_model m;
    (void)argc;
    (void)argv;
    dir = fuzz_ckpt_dir("idx");
    if (hbpo_model_config_parse(&c, fuzz_tiny_config_json, strlen(fuzz_tiny_config_json)) != 0 ||
        hbpo_model_create(&m, &c, NULL) != 0) {
        fprintf(stderr, "fuzz_index: %s\n", hbpo_last_error());
        abort();
    }
    hbpo_model_init_random(&m, 1);
    /* about a third of the parameters per shard */
    if (hbpo_model_save_sharded(&m, dir, HBPO_DTYPE_F32, m.n_params * 4 / 3) != 0) {
        fprintf(stderr, "fuzz_index: %s\n", hbpo_last_error());
        abort();
    }
    hbpo_model_free(&m);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[600];
    hbpo_model m;
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    fuzz_write(path, data, size);
    if (hbpo_model_load(&m, dir, NULL) == 0) hbpo_model_free(&m);
    else FUZZ_CHECK(hbpo_last_error()[0] != 0);
    return 0;
}
