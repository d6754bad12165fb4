/* Compile check: the whole implementation of hbpo.h in one translation unit.
   `make compile-matrix` builds this as C11 and as C++ with gcc and clang, with
   and without OpenBLAS, under -Wall -Wextra -Werror. */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"
#include "hbpo.h" /* a second include must be harmless */

int hbpo_compile_check(void);
int hbpo_compile_check(void) {
    hbpo_budget_config c = hbpo_budget_config_default();
    return hbpo_budget_config_check(&c);
}
