/* generate suite (placeholder until its issue lands). */
#include "hbpo_test.h"
#include "hbpo.h"

SUITE(generate_suite) {
}
