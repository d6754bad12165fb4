#!/usr/bin/env python3
"""The Hugging Face side of bench/bench_tokenizer.c: the same corpus (GSM8K test
questions and answers, MATH500 problems and solutions) encoded one text at a
time with `tokenizers` from the same tokenizer.json, repeated for at least 2 s.
Also times encode_batch on one thread (RAYON_NUM_THREADS=1), which skips the
per-call Python overhead.

    pip install tokenizers
    python3 bench/tokenizer_reference.py [DATA_DIR]
"""
import json
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # before tokenizers starts its pool
from tokenizers import Tokenizer  # noqa: E402


def main():
    d = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("HBPO_DATA_DIR") or "../shared/data"
    t0 = time.perf_counter()
    tok = Tokenizer.from_file(os.path.join(d, "qwen3-tokenizer", "tokenizer.json"))
    load = time.perf_counter() - t0
    texts = []
    for f, fields in (("gsm8k/test.jsonl", ("question", "answer")),
                      ("math500/test.jsonl", ("problem", "solution"))):
        with open(os.path.join(d, f), encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    r = json.loads(line)
                    texts += [r[k] for k in fields]
    nbytes = sum(len(t.encode("utf-8")) for t in texts)
    ntok = sum(len(tok.encode(t).ids) for t in texts)  # also warms the cache as C has none
    print("tokenizers %s: loaded in %.3f s; %d texts, %d bytes, %d tokens"
          % (__import__("tokenizers").__version__, load, len(texts), nbytes, ntok))
    for name, run in (("encode, one call per text", lambda: [tok.encode(t) for t in texts]),
                      ("encode_batch, RAYON_NUM_THREADS=%s" % os.environ["RAYON_NUM_THREADS"],
                       lambda: tok.encode_batch(texts))):
        passes, t0 = 0, time.perf_counter()
        while True:
            run()
            passes += 1
            el = time.perf_counter() - t0
            if el >= 2.0:
                break
        print("%s (%d passes, %.2f s): %.0f tokens/s, %.2f MB/s"
              % (name, passes, el, ntok * passes / el, nbytes * passes / el / 1e6))


if __name__ == "__main__":
    main()
