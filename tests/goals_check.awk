# Re-derives each goal's verdict in a study report (the "Goals" section that
# examples/study.c writes) from the margins it prints, "margin M ± E" or
# "+M ± E": a margin >= 0 holds on the means, and beyond the seeds' spread when
# |M| > E. Goal 3 needs either of its margins, the others all of theirs. The
# figures are rounded, so each may be off by half its last digit.
# Usage: awk -f tests/goals_check.awk study.md; prints "goals ok 5", or each
# line whose verdict its margins do not allow and exits 1.
# verdict ranks: 0 not met, 1 not met within the spread, 2 met within it, 3 met
function rank(m, e) {
    if (e < 0) e = 0
    if (m >= 0) return m > e ? 3 : 2
    return -m > e ? 0 : 1
}
/^## / { ingoals = ($0 ~ /^## Goals/); next }
ingoals && /^- \*\*/ {
    n++
    v = $0; sub(/^- \*\*/, "", v); sub(/\*\*.*/, "", v)
    want = v == "met" ? 3 : v ~ /^met on the means/ ? 2 : v ~ /^not met on the means/ ? 1 : v == "not met" ? 0 : -1
    either = ($0 ~ /cosine's \+ 5 points/)
    lo = either ? 0 : 3; hi = either ? 0 : 3; k = 0; rest = $0
    while (match(rest, /[+-][0-9]+\.[0-9]+ ± [0-9]+\.[0-9]+/)) {
        split(substr(rest, RSTART, RLENGTH), p, " ± ")
        rest = substr(rest, RSTART + RLENGTH)
        m = p[1] + 0; e = p[2] + 0; k++
        t = p[2] ~ /\.[0-9][0-9]$/ ? 0.005 : 0.05
        least = rank(m - t, m - t >= 0 ? e + t : e - t)
        most = rank(m + t, m + t >= 0 ? e - t : e + t)
        if (either) { if (least > lo) lo = least; if (most > hi) hi = most }
        else { if (least < lo) lo = least; if (most < hi) hi = most }
    }
    if (k == 0 || want < lo || want > hi) {
        print "goal " n ": '" v "' but its " k " margin(s) allow ranks " lo ".." hi ": " $0
        bad++
    }
}
END {
    if (n != 5) { print "goals: " n " goal lines, want 5"; exit 1 }
    if (bad) exit 1
    print "goals ok " n
}
