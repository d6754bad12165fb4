/* The one translation unit of the test binary that holds hbpo's implementation. */
#define HBPO_IMPLEMENTATION
#define HBPO_COUNT_OPS /* hbpo_op_count() for the complexity tests */
#include "hbpo.h"
