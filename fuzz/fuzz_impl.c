/* hbpo's implementation for the fuzz harnesses, compiled once and linked into each. */
#define HBPO_IMPLEMENTATION
#include "hbpo.h"
