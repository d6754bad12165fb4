/* The one translation unit of the test binary that holds hbpo's implementation. */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"
