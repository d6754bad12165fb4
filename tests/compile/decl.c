/* Compile check: the declarations of hbpo.h alone (no HBPO_IMPLEMENTATION),
   as a user's file sees them. `make compile-matrix` builds this as C11 and as
   C++11 (the implementation needs C++20 for its designated initializers; the
   declarations must not). */
#include "hbpo.h"

int hbpo_decl_check(void);
int hbpo_decl_check(void) {
    hbpo_budget_config c = hbpo_budget_config_default();
    const hbpo_backend *be = NULL;
    if (hbpo_backend_named("cpu", 0, &be) != 0) return -1;
    return hbpo_budget_config_check(&c) + (be->sync ? 0 : HBPO_MATMUL_FP32);
}
