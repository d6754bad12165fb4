/* config.json: hbpo_model_config_parse; what it accepts, the check accepts. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    hbpo_model_config c;
    if (hbpo_model_config_parse(&c, (const char *)data, size) == 0)
        FUZZ_CHECK(hbpo_model_config_check(&c) == 0);
    else
        FUZZ_CHECK(hbpo_last_error()[0] != 0);
    return 0;
}
