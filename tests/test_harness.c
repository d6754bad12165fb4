/* The harness checks itself: an assertion that passes on NaN would let a
   diverging loss through every other suite (greatest's ASSERT_IN_RANGE does). */
#include <math.h>

#include "hbpo_test.h"

/* Inner tests whose outcome is the thing under test; they are called directly
   with failure printing switched off. */
static int near_nan(void) { ASSERT_NEAR(1.0, NAN, 10.0); PASS(); }
static int near_inf(void) { ASSERT_NEAR(INFINITY, INFINITY, 1.0); PASS(); }
static int near_ok(void) { ASSERT_NEAR(1.0, 1.0 + 1e-9, 1e-6); PASS(); }
static int near_far(void) { ASSERT_NEAR(1.0, 1.1, 1e-6); PASS(); }
static int range_nan(void) { ASSERT_IN_RANGE(-1e30, NAN, 1e30); PASS(); }
static int range_ok(void) { ASSERT_IN_RANGE(0, 0.5, 1); PASS(); }
static int range_out(void) { ASSERT_IN_RANGE(0, 1.5, 1); PASS(); }
static int tensor_nan(void) {
    float e[3] = {1, 2, 3}, g[3] = {1, NAN, 3};
    ASSERT_TENSOR_NEAR(e, g, 3, 1.0, 1.0);
    PASS();
}
static int tensor_ok(void) {
    float e[3] = {1, 2, 3}, g[3] = {1, 2.0000001f, 3};
    ASSERT_TENSOR_NEAR(e, g, 3, 1e-6, 0);
    PASS();
}
static int eq_fails(void) { ASSERT_EQ(3, 4); PASS(); }
static int str_null(void) { ASSERT_STR_EQ("a", (const char *)0); PASS(); }

static int outcome(int (*fn)(void)) {
    int r;
    hbpo_test__info.quiet++;
    r = fn();
    hbpo_test__info.quiet--;
    return r;
}

TEST non_finite_values_fail(void) {
    ASSERT_EQ(HBPO_TEST_FAIL, outcome(near_nan));
    ASSERT_EQ(HBPO_TEST_FAIL, outcome(near_inf));
    ASSERT_EQ(HBPO_TEST_FAIL, outcome(range_nan));
    ASSERT_EQ(HBPO_TEST_FAIL, outcome(tensor_nan));
    PASS();
}

TEST assertions_judge_values(void) {
    ASSERT_EQ(HBPO_TEST_PASS, outcome(near_ok));
    ASSERT_EQ(HBPO_TEST_FAIL, outcome(near_far));
    ASSERT_EQ(HBPO_TEST_PASS, outcome(range_ok));
    ASSERT_EQ(HBPO_TEST_FAIL, outcome(range_out));
    ASSERT_EQ(HBPO_TEST_PASS, outcome(tensor_ok));
    ASSERT_EQ(HBPO_TEST_FAIL, outcome(eq_fails));
    ASSERT_EQ(HBPO_TEST_FAIL, outcome(str_null));
    PASS();
}

SUITE(harness_suite) {
    RUN_TEST(non_finite_values_fail);
    RUN_TEST(assertions_judge_values);
}
