/* The harness checks itself: an assertion that passes on NaN would let a
   diverging loss through every other suite (greatest's ASSERT_IN_RANGE does). */
#include <math.h>
#include <stdlib.h>

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

/* Teardown runs after a failing test, so what the test held is freed. */
static int td_calls;
static void *td_mem;
static void td_free(void *data) {
    (void)data;
    free(td_mem);
    td_mem = NULL;
    td_calls++;
}
static int fails_holding_memory(void) {
    td_mem = malloc(64);
    ASSERT_EQ(1, 2);
    PASS();
}

TEST teardown_runs_after_a_failure(void) {
    hbpo_test_info saved = hbpo_test__info;
    hbpo_test__info.quiet++;
    hbpo_test__info.verbose = 1; /* no progress character for the inner test */
    hbpo_test__info.stop_first = 0;
    SET_TEARDOWN(td_free, NULL);
    hbpo_test__run("fails_holding_memory", fails_holding_memory);
    hbpo_test__info = saved; /* the inner failure is not counted */
    ASSERT_EQ(1, td_calls);
    ASSERT(td_mem == NULL);
    PASS();
}

SUITE(harness_suite) {
    RUN_TEST(non_finite_values_fail);
    RUN_TEST(assertions_judge_values);
    RUN_TEST(teardown_runs_after_a_failure);
}
