#!/usr/bin/env python3
"""What a re-check costs in advantage, from the formulas alone (no hbpo code):
the expected values of study_recheck_advantage_gap in tests/test_study.c.

One level-1 query of the miniature, 8 rollouts, all right, 12 tokens each but
one rollout per budget subgroup 20 (a re-check). L_max 48, beta 4,
alpha 1/L_max, budgets 6, 12, 24, 30 (hbpo_synth_train_config).
HBPO (paper): R = f2(b) = beta*cos(pi*b/(2 L_max)) when n <= b, else
f1 = beta*cos(pi*n/(2 L_max)) - alpha*|n - b|; A = A_intra + A_inter, where
A_intra is the same for a subgroup's rollouts, so a pair's gap is the A_inter
gap, (R_short - R_long) / std (unbiased). Cosine: R = beta*cos(pi*n/(2 L_max)),
GRPO's advantage.

Then, from the same formulas, what answering at sight earns against writing
the steps (docs/demo.md, "The same at 5 seeds"), at L_max 48 and 64: a correct answer of
AT_SIGHT tokens against one of STEPS, and the accuracy above which the one at
sight earns more in expectation (the steps taken as always right).

Last, the same threshold per level and budget, for L_max 48 (the miniature
since stop 27) and 64 (until stop 26, budgets 8, 16, 32, 40), with each
level's steps as long as GRPO writes them at L_max 48, where it keeps no
re-checks (STEP_TOKENS): where the threshold is below the accuracy at sight,
the policy that maximises the reward answers at sight.
Usage: python3 tools/recheck_gap.py
"""
import math
import statistics

L_MAX, BETA = 48, 4.0  # alpha = 1/L_max (hbpo below)


def budgets(l_max):
    """1/8, 1/4, 1/2 and 5/8 of L_max, as hbpo_synth_train_config's."""
    return [l_max // 8, l_max // 4, l_max // 2, l_max * 5 // 8]


BUDGETS = budgets(L_MAX)  # 6, 12, 24, 30
SHORT, LONG = 12, 20
AT_SIGHT, STEPS = 7, 21  # at sight: 6 tokens and the end of the turn, which n_gen counts
STEP_TOKENS = [12, 19, 26, 33]  # levels 1-4


def cosine(n, l_max=L_MAX):
    return BETA * math.cos(math.pi * n / (2 * l_max))


def hbpo(n, b, l_max=L_MAX):
    if n <= b:
        return cosine(b, l_max)
    return cosine(n, l_max) - abs(n - b) / l_max  # alpha = 1/L_max


def main():
    r = [hbpo(n, b) for b in BUDGETS for n in (SHORT, LONG)]
    sd = statistics.stdev(r)
    print("hbpo rewards", [round(x, 3) for x in r], "std %.3f" % sd)
    for i, b in enumerate(BUDGETS):
        print("  b = %d: a re-check costs %.3f" % (b, (r[2 * i] - r[2 * i + 1]) / sd))
    c = [cosine(n) for _ in BUDGETS for n in (SHORT, LONG)]
    sdc = statistics.stdev(c)
    print("cosine: std %.3f, a re-check costs %.3f" % (sdc, (c[0] - c[1]) / sdc))
    print("at sight (%d tokens) against the steps (%d), correct: reward, and the accuracy"
          " above which answering at sight pays" % (AT_SIGHT, STEPS))
    for l_max in (48, 64):
        a, w = cosine(AT_SIGHT, l_max), cosine(STEPS, l_max)
        print("  L_max %d, cosine: %.2f against %.2f, pays above %.1f%%" % (l_max, a, w, 100 * w / a))
        for b in budgets(l_max):
            a, w = hbpo(AT_SIGHT, b, l_max), hbpo(STEPS, b, l_max)
            print("  L_max %d, hbpo b = %d: %.2f against %.2f, pays above %.1f%%"
                  % (l_max, b, a, w, 100 * w / a))
    print("the same per level (steps of %s tokens): the accuracy at sight above which it pays"
          % ", ".join(map(str, STEP_TOKENS)))
    for l_max in (48, 64):
        rows = [("cosine", lambda n: cosine(n, l_max))]
        rows += [("hbpo b = %d" % b, lambda n, b=b: hbpo(n, b, l_max)) for b in budgets(l_max)]
        for name, f in rows:
            t = [100 * f(k) / f(AT_SIGHT) for k in STEP_TOKENS]
            print("  L_max %d, %-13s levels 1-4: %s" % (l_max, name + ":", "  ".join("%5.1f%%" % x for x in t)))


if __name__ == "__main__":
    main()
