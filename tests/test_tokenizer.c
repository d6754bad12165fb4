/* tokenizer suite (placeholder until its issue lands). */
#include "hbpo_test.h"
#include "hbpo.h"

SUITE(tokenizer_suite) {
}
