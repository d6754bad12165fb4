/* The HBPO math: budget config, rewards at every boundary, advantages on worked
   groups (degenerate ones included), crossings and prompts, in both modes.
   Expected values are derived by hand in the comments (beta = 4, L_max = 4096,
   alpha = 1/4096; 2*L_max = 8192; pi' = 3.1416 is the released code's pi). */
#include <math.h>
#include <string.h>

#include "hbpo.h"
#include "hbpo_test.h"

static hbpo_budget_config paper(void) { return hbpo_budget_config_default(); }
static hbpo_budget_config official(void) {
    hbpo_budget_config c = hbpo_budget_config_default();
    c.mode = HBPO_MODE_OFFICIAL;
    return c;
}

/* Rewards are floats: 1e-6 absolute is ~4 ulp at 4. */
#define RTOL 2e-6

/* --- configuration ---------------------------------------------------------- */

TEST config_default_is_the_papers(void) {
    hbpo_budget_config c = paper();
    ASSERT_EQ(HBPO_MODE_PAPER, c.mode);
    ASSERT_EQ(4, c.k);
    ASSERT_EQ(512, c.budget[0]);
    ASSERT_EQ(1024, c.budget[1]);
    ASSERT_EQ(2048, c.budget[2]);
    ASSERT_EQ(2560, c.budget[3]);
    ASSERT_EQ(4096, c.l_max);
    ASSERT_NEAR(1.0 / 4096.0, c.alpha, 0);
    ASSERT_NEAR(4.0, c.beta, 0);
    ASSERT_EQ(0, hbpo_budget_config_check(&c));
    PASS();
}

/* Each bad config must be refused with a message naming the problem. */
static int config_refused(hbpo_budget_config c, const char *word) {
    hbpo_clear_error();
    if (hbpo_budget_config_check(&c) != -1) return 0;
    return strstr(hbpo_last_error(), word) != NULL;
}

TEST config_check_refuses_bad_values(void) {
    hbpo_budget_config c;
    c = paper(); c.k = 0;                       ASSERT(config_refused(c, "k = 0"));
    c = paper(); c.k = HBPO_MAX_BUDGETS + 1;    ASSERT(config_refused(c, "k = 17"));
    c = paper(); c.budget[2] = 1024;            ASSERT(config_refused(c, "ascend"));
    c = paper(); c.budget[0] = 0;               ASSERT(config_refused(c, "budget[0]"));
    c = paper(); c.budget[3] = 5000;            ASSERT(config_refused(c, "budget[3]"));
    c = paper(); c.l_max = 0;                   ASSERT(config_refused(c, "l_max"));
    c = paper(); c.alpha = -1.0f;               ASSERT(config_refused(c, "alpha"));
    c = paper(); c.alpha = NAN;                 ASSERT(config_refused(c, "alpha"));
    c = paper(); c.beta = 0.0f;                 ASSERT(config_refused(c, "beta"));
    c = paper(); c.beta = INFINITY;             ASSERT(config_refused(c, "beta"));
    c = paper(); c.mode = 7;                    ASSERT(config_refused(c, "mode 7"));
    ASSERT_EQ(-1, hbpo_budget_config_check(NULL));
    ASSERT(strstr(hbpo_last_error(), "NULL") != NULL);
    PASS();
}

/* --- rewards, paper mode ------------------------------------------------------- */

TEST reward_f2_values(void) {
    hbpo_budget_config c = paper();
    /* f2(512)  = 4 cos(pi/16)  = 4 * 0.98078528 = 3.92314112
       f2(1024) = 4 cos(pi/8)   = 4 * 0.92387953 = 3.69551813
       f2(2048) = 4 cos(pi/4)   = 4 * 0.70710678 = 2.82842712
       f2(2560) = 4 cos(5pi/16) = 4 * 0.55557023 = 2.22228093 */
    ASSERT_NEAR(3.92314112, hbpo_reward_f2(&c, 512), 1e-8);
    ASSERT_NEAR(3.69551813, hbpo_reward_f2(&c, 1024), 1e-8);
    ASSERT_NEAR(2.82842712, hbpo_reward_f2(&c, 2048), 1e-8);
    ASSERT_NEAR(2.22228093, hbpo_reward_f2(&c, 2560), 1e-8);
    /* Budget 0 would be the full beta; L_max gives 0. */
    ASSERT_NEAR(4.0, hbpo_reward_f2(&c, 0), 1e-12);
    ASSERT_NEAR(0.0, hbpo_reward_f2(&c, 4096), 1e-12);
    PASS();
}

TEST reward_paper_boundaries_b512(void) {
    hbpo_budget_config c = paper();
    /* Inside the budget the reward is flat at f2(512) = 3.92314112. */
    ASSERT_NEAR(3.92314112, hbpo_reward(&c, HBPO_CORRECT, 0, 512), RTOL);
    ASSERT_NEAR(3.92314112, hbpo_reward(&c, HBPO_CORRECT, 511, 512), RTOL);
    ASSERT_NEAR(3.92314112, hbpo_reward(&c, HBPO_CORRECT, 512, 512), RTOL);
    /* n = 513: f1 = 4 cos(513 pi/8192) - 1/4096 = 3.92284156 - 0.00024414 = 3.92259743 */
    ASSERT_NEAR(3.92259743, hbpo_reward(&c, HBPO_CORRECT, 513, 512), RTOL);
    /* n = L_max: f1 = 4 cos(pi/2) - (4096 - 512)/4096 = 0 - 0.875 = -0.875: a correct
       answer at the context limit is worth less than a wrong one. */
    ASSERT_NEAR(-0.875, hbpo_reward(&c, HBPO_CORRECT, 4096, 512), RTOL);
    /* Past L_max, wrong, or no answer: 0. */
    ASSERT_NEAR(0.0, hbpo_reward(&c, HBPO_CORRECT, 4097, 512), 0);
    ASSERT_NEAR(0.0, hbpo_reward(&c, HBPO_WRONG, 100, 512), 0);
    ASSERT_NEAR(0.0, hbpo_reward(&c, HBPO_NO_ANSWER, 100, 512), 0);
    PASS();
}

TEST reward_paper_boundaries_b1024(void) {
    hbpo_budget_config c = paper();
    /* f2(1024) = 3.69551813 for n <= 1024; n = 1025: 4 cos(1025 pi/8192) - 1/4096
       = 3.69493083 - 0.00024414 = 3.69468669; n = 4096: 0 - 3072/4096 = -0.75 */
    ASSERT_NEAR(3.69551813, hbpo_reward(&c, HBPO_CORRECT, 1023, 1024), RTOL);
    ASSERT_NEAR(3.69551813, hbpo_reward(&c, HBPO_CORRECT, 1024, 1024), RTOL);
    ASSERT_NEAR(3.69468669, hbpo_reward(&c, HBPO_CORRECT, 1025, 1024), RTOL);
    ASSERT_NEAR(-0.75, hbpo_reward(&c, HBPO_CORRECT, 4096, 1024), RTOL);
    ASSERT_NEAR(0.0, hbpo_reward(&c, HBPO_CORRECT, 4097, 1024), 0);
    PASS();
}

TEST reward_paper_no_budget_is_cosine(void) {
    hbpo_budget_config c = paper();
    /* budget <= 0: 4 cos(1000 pi/8192) = 4 * 0.92736253 = 3.70945010 */
    ASSERT_NEAR(3.70945010, hbpo_reward(&c, HBPO_CORRECT, 1000, 0), RTOL);
    ASSERT_NEAR(4.0, hbpo_reward(&c, HBPO_CORRECT, 0, -1), RTOL);
    ASSERT_NEAR(0.0, hbpo_reward(&c, HBPO_CORRECT, 4096, 0), RTOL);
    PASS();
}

/* The shape the paper points out (Figure 3b), checked at every length: below
   the smallest budget smaller budgets pay more; beyond the largest, larger
   budgets pay more; each budget's curve is flat up to b and falls after it. */
TEST reward_paper_shape_every_length(void) {
    hbpo_budget_config c = paper();
    int n, i;
    for (n = 0; n <= c.l_max; n++) {
        for (i = 0; i + 1 < c.k; i++) {
            float lo = hbpo_reward(&c, HBPO_CORRECT, n, c.budget[i]);
            float hi = hbpo_reward(&c, HBPO_CORRECT, n, c.budget[i + 1]);
            if (n <= c.budget[0]) ASSERT(lo > hi);
            if (n > c.budget[c.k - 1]) ASSERT(lo < hi);
        }
        for (i = 0; i < c.k; i++) {
            float r = hbpo_reward(&c, HBPO_CORRECT, n, c.budget[i]);
            float r_next = hbpo_reward(&c, HBPO_CORRECT, n + 1, c.budget[i]);
            if (n + 1 <= c.budget[i]) ASSERT_EQ_FMT(r, r_next, "%.9g");
            else if (n + 1 <= c.l_max) ASSERT(r_next < r);
        }
    }
    PASS();
}

/* --- rewards, released-code mode ------------------------------------------------ */

TEST reward_official_boundaries_b512(void) {
    hbpo_budget_config c = official();
    /* min(f1, f2) everywhere, pi' = 3.1416. f2'(512) = 4 cos(3.1416*512/8192) = 3.92314076.
       n = 0: f1 = 4 - 512/4096 = 3.875 < f2', so 3.875 (paper: 3.92314112, 0.048 more). */
    ASSERT_NEAR(3.875, hbpo_reward(&c, HBPO_CORRECT, 0, 512), RTOL);
    /* n = 200: f1 = 4 cos(3.1416*200/8192) - 312/4096 = 3.98824023 - 0.07617188 = 3.91206835 */
    ASSERT_NEAR(3.91206835, hbpo_reward(&c, HBPO_CORRECT, 200, 512), RTOL);
    /* n = 511: f1 = 4 cos(3.1416*511/8192) - 1/4096 = 3.92343974 - 0.00024414 = 3.92319560 > f2', so f2' */
    ASSERT_NEAR(3.92314076, hbpo_reward(&c, HBPO_CORRECT, 511, 512), RTOL);
    ASSERT_NEAR(3.92314076, hbpo_reward(&c, HBPO_CORRECT, 512, 512), RTOL);
    /* n = 513: 4 cos(3.1416*513/8192) - 1/4096 = 3.92284121 - 0.00024414 = 3.92259707 */
    ASSERT_NEAR(3.92259707, hbpo_reward(&c, HBPO_CORRECT, 513, 512), RTOL);
    /* n = L_max: 4 cos(3.1416/2) = -1.4693e-5, minus 0.875 = -0.87501469 */
    ASSERT_NEAR(-0.87501469, hbpo_reward(&c, HBPO_CORRECT, 4096, 512), RTOL);
    ASSERT_NEAR(0.0, hbpo_reward(&c, HBPO_CORRECT, 4097, 512), 0);
    ASSERT_NEAR(0.0, hbpo_reward(&c, HBPO_WRONG, 100, 512), 0);
    /* No \boxed answer: -1 at any length. */
    ASSERT_NEAR(-1.0, hbpo_reward(&c, HBPO_NO_ANSWER, 100, 512), 0);
    ASSERT_NEAR(-1.0, hbpo_reward(&c, HBPO_NO_ANSWER, 5000, 512), 0);
    PASS();
}

TEST reward_official_b1024_and_special_cases(void) {
    hbpo_budget_config c = official();
    /* b = 1024, n = 0: f1 = 4 - 0.25 = 3.75 > f2'(1024) = 3.69551672, so f2' */
    ASSERT_NEAR(3.69551672, hbpo_reward(&c, HBPO_CORRECT, 0, 1024), RTOL);
    ASSERT_NEAR(3.69551672, hbpo_reward(&c, HBPO_CORRECT, 1024, 1024), RTOL);
    /* n = 1025: 4 cos(3.1416*1025/8192) - 1/4096 = 3.69492942 - 0.00024414 = 3.69468528 */
    ASSERT_NEAR(3.69468528, hbpo_reward(&c, HBPO_CORRECT, 1025, 1024), RTOL);
    /* b = 3072 and no budget: plain cosine rounded to 2 decimals.
       n = 1000: 4 cos(3.1416*1000/8192) = 3.70944876 -> 3.71; n = 1537: 3.32502291 -> 3.33 */
    ASSERT_NEAR(3.71, hbpo_reward(&c, HBPO_CORRECT, 1000, 3072), 1e-6);
    ASSERT_NEAR(3.33, hbpo_reward(&c, HBPO_CORRECT, 1537, 3072), 1e-6);
    ASSERT_NEAR(1.63, hbpo_reward(&c, HBPO_CORRECT, 3000, 0), 1e-6);
    ASSERT_NEAR(4.00, hbpo_reward(&c, HBPO_CORRECT, 0, 0), 1e-6);
    PASS();
}

TEST reward_bad_arguments(void) {
    hbpo_budget_config c = paper();
    hbpo_clear_error();
    ASSERT_NEAR(0.0, hbpo_reward(&c, 5, 10, 512), 0);
    ASSERT(strstr(hbpo_last_error(), "outcome 5") != NULL);
    hbpo_clear_error();
    ASSERT_NEAR(0.0, hbpo_reward(&c, HBPO_CORRECT, -1, 512), 0);
    ASSERT(strstr(hbpo_last_error(), "negative") != NULL);
    hbpo_clear_error();
    ASSERT_NEAR(0.0, hbpo_reward(NULL, HBPO_CORRECT, 1, 512), 0);
    ASSERT(strlen(hbpo_last_error()) > 0);
    c.l_max = 0;
    ASSERT_NEAR(0.0, hbpo_reward(&c, HBPO_CORRECT, 1, 512), 0);
    ASSERT(strstr(hbpo_last_error(), "l_max") != NULL);
    /* The analysis functions never divide by a zero L_max, nor read a NULL config. */
    hbpo_clear_error();
    ASSERT_NEAR(0.0, hbpo_reward_f2(&c, 512), 0);
    ASSERT(strstr(hbpo_last_error(), "l_max") != NULL);
    ASSERT_NEAR(0.0, hbpo_reward_f1(NULL, 10, 512), 0);
    ASSERT_NEAR(0.0, hbpo_reward_correct(NULL, 10, 512), 0);
    ASSERT(strstr(hbpo_last_error(), "NULL") != NULL);
    PASS();
}

/* --- advantages ----------------------------------------------------------------- */

static int budgets2[4] = {512, 512, 1024, 1024};

/* Worked group: rewards {4, 0, 2, 2}, budgets {512, 512, 1024, 1024}.
   mean 2; unbiased var = (4 + 4 + 0 + 0)/3 = 8/3, std = 1.63299316;
   A_inter = {2, -2, 0, 0}/(1.63299316 + 1e-6) = {1.22474412, -1.22474412, 0, 0}.
   Paper: A_intra(512) = mean{4, 0} - f2(512) = 2 - 3.92314112 = -1.92314112,
   A_intra(1024) = 2 - 3.69551813 = -1.69551813, so
   A = {-0.69839700, -3.14788524, -1.69551813, -1.69551813}. */
TEST advantages_paper_worked_group(void) {
    hbpo_budget_config c = paper();
    float R[4] = {4, 0, 2, 2}, A[4], G[4];
    hbpo_grpo_advantages(4, R, G);
    ASSERT_NEAR(1.22474412, G[0], 1e-6);
    ASSERT_NEAR(-1.22474412, G[1], 1e-6);
    ASSERT_NEAR(0.0, G[2], 0);
    ASSERT_NEAR(-1.92314112, hbpo_intra_advantage(&c, 4, R, budgets2, 512), 1e-7);
    ASSERT_NEAR(-1.69551813, hbpo_intra_advantage(&c, 4, R, budgets2, 1024), 1e-7);
    hbpo_advantages(&c, 4, R, budgets2, A);
    ASSERT_NEAR(-0.69839700, A[0], 1e-6);
    ASSERT_NEAR(-3.14788524, A[1], 1e-6);
    ASSERT_NEAR(-1.69551813, A[2], 1e-6);
    ASSERT_NEAR(-1.69551813, A[3], 1e-6);
    PASS();
}

/* Same group, released code: baseline 4 cos(3.1416 b/8192), intra term twice.
   A_intra(512) = 2 - 3.92314076 = -1.92314076, A_intra(1024) = 2 - 3.69551672 = -1.69551672;
   A = A_inter + 2 A_intra = {1.22474412 - 3.84628153, -1.22474412 - 3.84628153,
   -3.39103345, -3.39103345} = {-2.62153741, -5.07102565, -3.39103345, -3.39103345}. */
TEST advantages_official_worked_group(void) {
    hbpo_budget_config c = official();
    float R[4] = {4, 0, 2, 2}, A[4];
    hbpo_advantages(&c, 4, R, budgets2, A);
    ASSERT_NEAR(-2.62153741, A[0], 2e-6);
    ASSERT_NEAR(-5.07102565, A[1], 2e-6);
    ASSERT_NEAR(-3.39103345, A[2], 2e-6);
    ASSERT_NEAR(-3.39103345, A[3], 2e-6);
    PASS();
}

/* The paper's A_intra is never positive: every reward is at most f2 of its
   budget, so HBPO's advantages of a query sum to at most 0 (GRPO's to 0). For
   random groups: rewards from hbpo_reward at random lengths, right or wrong.
   intra_centered: the mean advantage is 0 and every difference between two
   rollouts is the paper's. In the worked group above the centre is the mean of
   {-1.92314112, -1.92314112, -1.69551813, -1.69551813} = -1.80932963. */
TEST advantages_intra_never_positive_and_centred(void) {
    hbpo_budget_config c = paper(), cc = paper();
    float R[16], A[16], C[16], W[4];
    int bud[16], g, j;
    hbpo_rng r;
    cc.intra_centered = 1;
    ASSERT_EQ(0, hbpo_budget_config_check(&cc));
    hbpo_rng_seed(&r, 11);
    for (g = 0; g < 200; g++) {
        double sum = 0.0, csum = 0.0;
        for (j = 0; j < 16; j++) {
            int n_gen = 1 + (int)(hbpo_rng_u32(&r) % 5000), right = hbpo_rng_u32(&r) % 3 != 0;
            bud[j] = c.budget[j / 4];
            R[j] = hbpo_reward(&c, right ? HBPO_CORRECT : HBPO_WRONG, n_gen, bud[j]);
        }
        /* rewards are floats, f2 a double: a subgroup all within budget is 0 to float rounding */
        for (j = 0; j < 4; j++) ASSERT(hbpo_intra_advantage(&c, 16, R, bud, c.budget[j]) <= 1e-6);
        hbpo_advantages(&c, 16, R, bud, A);
        hbpo_advantages(&cc, 16, R, bud, C);
        for (j = 0; j < 16; j++) { sum += A[j]; csum += C[j]; }
        ASSERT(sum <= 1e-4);
        ASSERT_NEAR(0.0, csum, 1e-4);
        for (j = 1; j < 16; j++) ASSERT_NEAR(A[j] - A[0], C[j] - C[0], 1e-5);
    }
    {
        float R4[4] = {4, 0, 2, 2};
        hbpo_advantages(&cc, 4, R4, budgets2, W);
        ASSERT_NEAR(-0.69839700 + 1.80932963, W[0], 1e-6);
        ASSERT_NEAR(-1.69551813 + 1.80932963, W[3], 1e-6);
    }
    cc.intra_centered = 2;
    ASSERT(config_refused(cc, "intra_centered = 2"));
    PASS();
}

/* All rewards equal (here all wrong): A_inter = 0/(0 + 1e-6) = 0 exactly, so the
   advantage is the intra term alone, -f2(b): smaller budgets are pushed down more. */
TEST advantages_all_equal(void) {
    hbpo_budget_config c = paper();
    int bud[8] = {512, 512, 1024, 1024, 2048, 2048, 2560, 2560};
    float R[8] = {0, 0, 0, 0, 0, 0, 0, 0}, A[8], G[8];
    int j;
    hbpo_grpo_advantages(8, R, G);
    for (j = 0; j < 8; j++) ASSERT_NEAR(0.0, G[j], 0);
    hbpo_advantages(&c, 8, R, bud, A);
    ASSERT_NEAR(-3.92314112, A[0], RTOL);
    ASSERT_NEAR(-3.69551813, A[2], RTOL);
    ASSERT_NEAR(-2.82842712, A[4], RTOL);
    ASSERT_NEAR(-2.22228093, A[7], RTOL);
    /* All correct inside their budgets: each rollout earns f2(b), so every subgroup
       meets its promise exactly, A_intra = 0, and the advantage is A_inter alone. */
    for (j = 0; j < 8; j++) R[j] = hbpo_reward(&c, HBPO_CORRECT, 100, bud[j]);
    hbpo_advantages(&c, 8, R, bud, A);
    hbpo_grpo_advantages(8, R, G);
    ASSERT_TENSOR_NEAR(G, A, 8, 1e-6, 0);
    ASSERT(A[0] > A[2] && A[2] > A[4] && A[4] > A[6]);
    PASS();
}

/* Subgroups of one: A_intra(i) = R_i - f2(b_i).
   R = {3.5, 0, 2, 1}, b = {512, 1024, 2048, 2560}: mean 1.625, unbiased std
   sqrt((3.515625 + 2.640625 + 0.140625 + 0.390625)/3) = 1.49303941;
   A_inter = {1.25583, -1.08838, 0.25117, -0.41861};
   A_intra = {3.5 - 3.92314, 0 - 3.69552, 2 - 2.82843, 1 - 2.22228};
   A = {0.83268557, -4.78390127, -0.57726179, -1.64088983}. */
TEST advantages_subgroups_of_one(void) {
    hbpo_budget_config c = paper();
    int bud[4] = {512, 1024, 2048, 2560};
    float R[4] = {3.5f, 0.0f, 2.0f, 1.0f}, A[4];
    hbpo_advantages(&c, 4, R, bud, A);
    ASSERT_NEAR(0.83268557, A[0], 2e-6);
    ASSERT_NEAR(-4.78390127, A[1], 2e-6);
    ASSERT_NEAR(-0.57726179, A[2], 2e-6);
    ASSERT_NEAR(-1.64088983, A[3], 2e-6);
    PASS();
}

/* n = 1. Paper: A_inter = 0 (nothing to compare with), A = R - f2(b) = 3 - 3.92314112.
   Released code: a group of one is given mean 0, std 1 and no intra term: R/(1 + 1e-6). */
TEST advantages_single_rollout(void) {
    hbpo_budget_config c = paper();
    float R[1] = {3.0f}, A[1];
    int bud[1] = {512};
    hbpo_advantages(&c, 1, R, bud, A);
    ASSERT_NEAR(-0.92314112, A[0], 1e-6);
    hbpo_grpo_advantages(1, R, A);
    ASSERT_NEAR(0.0, A[0], 0);
    c = official();
    hbpo_advantages(&c, 1, R, bud, A);
    ASSERT_NEAR(2.999997, A[0], 1e-6);
    PASS();
}

/* Rollouts without a budget (b <= 0) get no intra term: HBPO reduces to GRPO. */
TEST advantages_without_budgets_are_grpo(void) {
    hbpo_budget_config c = paper();
    float R[5] = {1, 0, 0, 1, 1}, A[5], G[5];
    int bud[5] = {0, 0, 0, 0, 0};
    hbpo_advantages(&c, 5, R, bud, A);
    hbpo_grpo_advantages(5, R, G);
    ASSERT_TENSOR_NEAR(G, A, 5, 0, 0);
    /* mean 0.6, std sqrt(1.2/4) = 0.54772256: A = {0.4, -0.6, ...}/0.54772356 = {0.73029541, -1.09544312, ...} */
    ASSERT_NEAR(0.73029541, G[0], 1e-6);
    ASSERT_NEAR(-1.09544312, G[1], 1e-6);
    PASS();
}

TEST advantages_drgrpo(void) {
    float R[4] = {1, 0, 0, 3}, A[4];
    hbpo_drgrpo_advantages(4, R, A);
    /* mean 1: A = R - 1 */
    ASSERT_NEAR(0.0, A[0], 0);
    ASSERT_NEAR(-1.0, A[1], 0);
    ASSERT_NEAR(2.0, A[3], 0);
    PASS();
}

/* Garbage in never becomes NaN out: non-finite rewards zero the advantages and
   say why; a bad config or NULL budget does the same. */
TEST advantages_bad_input_is_finite(void) {
    hbpo_budget_config c = paper();
    float R[3] = {1.0f, NAN, 0.0f}, A[3] = {9, 9, 9};
    int bud[3] = {512, 512, 1024}, j;
    hbpo_clear_error();
    hbpo_advantages(&c, 3, R, bud, A);
    for (j = 0; j < 3; j++) ASSERT_NEAR(0.0, A[j], 0);
    ASSERT(strstr(hbpo_last_error(), "not finite") != NULL);
    R[1] = INFINITY;
    A[0] = 9;
    hbpo_grpo_advantages(3, R, A);
    ASSERT_NEAR(0.0, A[0], 0);
    R[1] = 1.0f;
    A[0] = 9;
    hbpo_advantages(&c, 3, R, NULL, A);
    ASSERT_NEAR(0.0, A[0], 0);
    c.k = 0;
    A[0] = 9;
    hbpo_advantages(&c, 3, R, bud, A);
    ASSERT_NEAR(0.0, A[0], 0);
    hbpo_clear_error();
    hbpo_advantages(&c, 0, R, bud, A); /* n = 0: nothing written, error set */
    ASSERT(strlen(hbpo_last_error()) > 0);
    PASS();
}

/* Worst cases stay finite: huge spreads, 1024 rollouts, rewards at float extremes. */
TEST advantages_extremes_finite(void) {
    hbpo_budget_config c = paper();
    static float R[1024], A[1024];
    static int bud[1024];
    int j;
    for (j = 0; j < 1024; j++) {
        R[j] = (j % 3 == 0) ? 1e30f : (j % 3 == 1 ? -1e30f : 0.0f);
        bud[j] = c.budget[j % 4];
    }
    hbpo_advantages(&c, 1024, R, bud, A);
    for (j = 0; j < 1024; j++) ASSERT(isfinite(A[j]));
    PASS();
}

/* --- crossings and prompts ----------------------------------------------------------- */

/* Paper, b = 512 vs 1024: solve 4 cos(pi n/8192) - (n - 512)/4096 = f2(1024) = 3.69551813:
   n = 865.30954 (checked: 4 cos(0.33184) = 3.78178, minus 0.08626 = 3.69552). */
TEST crossings(void) {
    hbpo_budget_config c = paper();
    ASSERT_NEAR(865.30954, hbpo_budget_crossing(&c, 512, 1024), 1e-4);
    ASSERT_NEAR(1853.81895, hbpo_budget_crossing(&c, 1024, 2048), 1e-4);
    ASSERT_NEAR(2476.98873, hbpo_budget_crossing(&c, 2048, 2560), 1e-4);
    c = official();
    ASSERT_NEAR(865.31007, hbpo_budget_crossing(&c, 512, 1024), 1e-4);
    /* alpha = 0: beyond b_hi both curves are the same cosine; they never cross strictly. */
    c = paper();
    c.alpha = 0.0f;
    ASSERT(hbpo_budget_crossing(&c, 512, 1024) < 0);
    c = paper();
    ASSERT(hbpo_budget_crossing(&c, 1024, 512) < 0);
    ASSERT(hbpo_budget_crossing(&c, 512, 9000) < 0);
    PASS();
}

TEST budget_prompts(void) {
    char buf[64];
    ASSERT_EQ(44, hbpo_budget_prompt(HBPO_MODE_PAPER, 512, buf, sizeof buf));
    ASSERT_STR_EQ("I will answer the question within 512 tokens", buf);
    ASSERT_EQ(43, hbpo_budget_prompt(HBPO_MODE_OFFICIAL, 2560, buf, sizeof buf));
    ASSERT_STR_EQ("I will answer the question with 2560 tokens", buf);
    ASSERT_STR_EQ("I will answer the question with minimal tokens", HBPO_EFFICIENCY_PROMPT);
    ASSERT_EQ(-1, hbpo_budget_prompt(HBPO_MODE_PAPER, 512, buf, 10));
    ASSERT_STR_EQ("", buf);
    ASSERT(strstr(hbpo_last_error(), "too small") != NULL);
    ASSERT_EQ(-1, hbpo_budget_prompt(HBPO_MODE_PAPER, 0, buf, sizeof buf));
    ASSERT_EQ(-1, hbpo_budget_prompt(3, 512, buf, sizeof buf));
    ASSERT_EQ(-1, hbpo_budget_prompt(HBPO_MODE_PAPER, 512, NULL, 0));
    PASS();
}

SUITE(math_suite) {
    RUN_TEST(config_default_is_the_papers);
    RUN_TEST(config_check_refuses_bad_values);
    RUN_TEST(reward_f2_values);
    RUN_TEST(reward_paper_boundaries_b512);
    RUN_TEST(reward_paper_boundaries_b1024);
    RUN_TEST(reward_paper_no_budget_is_cosine);
    RUN_TEST(reward_paper_shape_every_length);
    RUN_TEST(reward_official_boundaries_b512);
    RUN_TEST(reward_official_b1024_and_special_cases);
    RUN_TEST(reward_bad_arguments);
    RUN_TEST(advantages_paper_worked_group);
    RUN_TEST(advantages_official_worked_group);
    RUN_TEST(advantages_intra_never_positive_and_centred);
    RUN_TEST(advantages_all_equal);
    RUN_TEST(advantages_subgroups_of_one);
    RUN_TEST(advantages_single_rollout);
    RUN_TEST(advantages_without_budgets_are_grpo);
    RUN_TEST(advantages_drgrpo);
    RUN_TEST(advantages_bad_input_is_finite);
    RUN_TEST(advantages_extremes_finite);
    RUN_TEST(crossings);
    RUN_TEST(budget_prompts);
}
