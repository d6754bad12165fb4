#!/usr/bin/env python3
"""Training rollouts in windows of steps, from a run's metrics.jsonl (the
file hbpo's trainer writes, one JSON object a step): for each window the mean
rollout length (n_gen), accuracy and entropy. docs/demo.md ("The same at 5
seeds") quotes these for the cosine and HBPO runs of docs/study-lr1e5.md.
Usage: python3 tools/metrics_windows.py [--window N (40)] metrics.jsonl ...
"""
import json
import sys


def main(argv):
    window = 40
    if len(argv) > 1 and argv[0] == "--window":
        window = int(argv[1])
        argv = argv[2:]
    if not argv or window < 1:
        sys.exit(__doc__)
    for path in argv:
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        cells = []
        for w in range(0, len(rows), window):
            seg = rows[w:w + window]
            mean = lambda key: sum(r[key] for r in seg) / len(seg)
            cells.append("%.1f/%.2f/%.3f" % (mean("n_gen"), mean("accuracy"), mean("entropy")))
        print("%s (steps of %d: tokens/accuracy/entropy)" % (path, window))
        print("  " + " ".join(cells))


if __name__ == "__main__":
    main(sys.argv[1:])
