#!/usr/bin/env python3
"""Expected token ids for hbpo's tokenizer (hbpo.h section 5), from Hugging Face
`tokenizers` run on the same tokenizer.json.

Writes two fixtures that tests/test_tokenizer.c reads:

  tests/fixtures/tokenizer_cases.jsonl    hand-written hard cases, one per line:
      {"name", "text", "ids", "decoded", "decoded_skip"} for the Qwen3 tokenizer
      ("tok": "qwen3") or the byte-level one of hbpo_tokenizer_write_bytes
      ("tok": "bytes"); decode-only cases have no "text" (partial UTF-8).
  tests/fixtures/tokenizer_corpus.jsonl   the corpus: GSM8K test questions and
      answers, MATH500 problems and solutions, OlympiadBench questions, one line
      per text: {"src", "line", "field", "fnv", "n", "ids", "rt"}. The texts stay
      in ../shared/data (src, 1-based line, field; fnv = FNV-1a 32 of the UTF-8
      text, so a changed file is reported as such). ids are packed 3 characters
      per id, base 64 (alphabet A-Z a-z 0-9 + /, most significant first);
      rt = 1 when decode(encode(text)) == text in tokenizers.

Usage (from the repository root; tokenizers 0.23):
    pip install tokenizers
    python3 tools/gen_tokenizer_fixture.py [--data ../shared/data]
    build/hbpo tokenizer-bytes --out /tmp/tiny.json &&
        python3 tools/gen_tokenizer_fixture.py --bytes-json /tmp/tiny.json
"""
import argparse
import json
import os
import sys

from tokenizers import Tokenizer

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
QWEN2_REGEX = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
               " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
# The chat tokens of hbpo_tokenizer_write_bytes, in id order from 256, and
# whether each is special (as in Qwen and DeepSeek-R1-Distill).
BYTES_ADDED = [("<|endoftext|>", True), ("<|im_start|>", True), ("<|im_end|>", True),
               ("<think>", False), ("</think>", False),
               ("<\uff5cbegin\u2581of\u2581sentence\uff5c>", True),
               ("<\uff5cend\u2581of\u2581sentence\uff5c>", True),
               ("<\uff5cUser\uff5c>", False), ("<\uff5cAssistant\uff5c>", False),
               ("\\boxed{", False)]

CORPUS = [("gsm8k/test.jsonl", ["question", "answer"]),
          ("math500/test.jsonl", ["problem", "solution"]),
          ("olympiadbench/test.jsonl", ["question"])]

HARD = [
    ("empty", ""),
    ("nul", "\x00"),
    ("nul_inside", "a\x00b \x00\x00 c\x00"),
    ("cjk_zh", "我们今天学习数学。这是一个测试，包含中文标点！答案是：\\boxed{42}"),
    ("cjk_ja", "こんにちは世界、カタカナとひらがなと漢字。"),
    ("cjk_ko", "한국어 텍스트입니다. 수학 문제를 풉니다."),
    ("emoji_zwj", "family 👨\u200d👩\u200d👧\u200d👦, coder 👩🏽\u200d💻, flag 🏳️\u200d🌈, heart ❤️\u200d🔥 done"),
    ("emoji_run", "😀😃😄😁😆😅🤣😂🙂🙃" * 3),
    ("nfc_e_acute", "Cafe\u0301 nai\u0308ve re\u0301sume\u0301"),
    ("nfc_angstrom", "\u212b and A\u030a and \u00c5"),
    ("nfc_hangul_jamo", "\u1100\u1161\u11a8 \u1112\u1161\u11ab\u1100\u1173\u11af"),
    ("nfc_order", "a\u0316\u0301 a\u0301\u0316 o\u0308\u0304 \u1e9b\u0323 q\u0307\u0323"),
    ("nfc_exclusion", "\u0958 \u0344 \u0340 \u2126 \ufb01 \u0f73"),
    ("nfc_mark_first", "\u0301abc \u0301\u0301"),
    ("crlf", "line1\r\nline2\r\nline3\r\n"),
    ("lone_cr", "a\rb\r\rc \r d\r"),
    ("cr_mix", "x\r\n\r\n  \r\ny\n\r\n\rz"),
    ("spaces", "a    b     c  d e"),
    ("spaces_edges", "    leading and trailing    "),
    ("newlines", "\n\n\na\n\n b \n\n  \n  x  \n"),
    ("only_spaces", "     "),
    ("only_newlines", "\n\n\n\n"),
    ("unicode_spaces", "\u3000\u3000x\u00a0\u00a0y\u2009z\u2028w\u0085v"),
    ("tabs", "\tindented\n\t\tmore\ta\t\tb\t \t"),
    ("digits", "1234567890 3.14159 1,000,000 007 x2y33z444"),
    ("digits_unicode", "x\u00b2+y\u00b3 \u0663\u0664\u0665 \u216b \u00bd \u0f33 \U0001d7d9"),
    ("contractions", "I'LL DON'T You'Re we'VE she'S it'd I'M they'Ll"),
    ("contractions_odd", "'s's'S 'ſa rock'n'roll ’s '' 'x 'REd"),
    ("fullwidth", "ＡＢＣ１２３！？（全角括号）：；"),
    ("special_chat", "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nHello"),
    ("special_adjacent", "<|im_end|><|im_end|>x<|endoftext|>y<think></think>"),
    ("special_partial", "<|im_end <|im_en|> <think <|endoftext|"),
    ("special_nonspecial", "<|fim_prefix|>a<|fim_middle|>b<tool_call></tool_call>"),
    ("latex", "\\frac{1}{2} + \\sqrt{x^2+1} = $\\boxed{\\dfrac{3}{4}}$"),
    ("code", "def f(x):\n    return x**2  # square\n\n\nprint(f(3))\n"),
    ("punct", "!!!???... ---\n=== a...b ..\n\n @#$%^&*() \"quoted\" 'single'"),
    ("scripts", "Ελληνικά Русский עברית العربية नमस्ते สวัสดี ქართული"),
    ("unicode16_letter", "\u1c89\u1c8a \U000105c0\U000105c1 \U00010d40"),
    ("long_word", "a" * 3000),
    ("long_pairs", "ab" * 2000),
    ("long_digits", "1" * 500),
    ("long_spaces", " " * 1000 + "x"),
    ("long_emoji", "😀" * 400),
    ("long_mixed", ("supercalifragilistic" * 50) + " " + ("ñ" * 300)),
    ("control_chars", "\x01\x02\x1b[31mred\x1b[0m\x7f\x0b\x0c"),
    ("surrogate_range", "\ud7ff\ue000\uffff\U0010ffff"),
]

BYTES_HARD = [("bytes_empty", ""), ("bytes_ascii", "Hello, world!\n"),
              ("bytes_utf8", "中文 ü 😀 e\u0301"),
              ("bytes_chat", "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\nI will answer"),
              ("bytes_r1", "<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>2+2?"
                           "<\uff5cAssistant\uff5c><think>\n</think>4<\uff5cend\u2581of\u2581sentence\uff5c>"),
              ("bytes_nul", "\x00\x00"),
              ("bytes_boxed", "7+5=12\n</think>\n\\boxed{12} \\boxed \\\\boxed{{ \\boxed{")]


def byte_char_table():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


def bytes_tokenizer_json():
    """The tokenizer.json that hbpo_tokenizer_write_bytes writes."""
    bc = byte_char_table()
    added = [{"id": 256 + i, "content": c, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": s} for i, (c, s) in enumerate(BYTES_ADDED)]
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                  "use_regex": False}
    return json.dumps({
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_REGEX}, "behavior": "Isolated",
             "invert": False}, byte_level]},
        "post_processor": None, "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": {bc[b]: b for b in range(256)}, "merges": []}})


def fnv32(data):
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return "%08x" % h


def pack(ids):
    out = []
    for i in ids:
        assert 0 <= i < 64 ** 3
        out.append(B64[i >> 12] + B64[(i >> 6) & 63] + B64[i & 63])
    return "".join(out)


def decode_cases(tok):
    """Ids whose bytes are not valid UTF-8: decoded as String::from_utf8_lossy."""
    bc = byte_char_table()
    bid = lambda *bs: [tok.token_to_id(bc[b]) for b in bs]
    end = tok.token_to_id("<|im_end|>")
    emoji = tok.encode("😀👩🏽\u200d💻").ids
    cases = [("lone_lead", bid(0xE4)), ("truncated_3", bid(0xE4, 0xB8)),
             ("full_3", bid(0xE4, 0xB8, 0xAD)), ("lead_then_ascii", bid(0xE4) + tok.encode("A").ids),
             ("lone_continuation", bid(0x80)), ("truncated_4_then_ascii", bid(0xF0, 0x9F, 0x98, 0x41)),
             ("surrogate", bid(0xED, 0xA0, 0x80)), ("overlong", bid(0xC0, 0xAF)),
             ("f5", bid(0xF5, 0x41)), ("ff_fe", bid(0xFF, 0xFE)), ("e0_80", bid(0xE0, 0x80, 0x80)),
             ("above_max", bid(0xF4, 0x90, 0x80, 0x80)), ("f0_then_e4", bid(0xF0, 0x9F, 0xE4, 0xB8, 0xAD)),
             ("special_inside", bid(0xE4) + [end] + bid(0xB8, 0xAD))]
    for k in range(1, len(emoji)):
        cases.append(("emoji_prefix_%d" % k, emoji[:k]))
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=os.path.join("..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join("tests", "fixtures"))
    ap.add_argument("--bytes-json", metavar="PATH",
                    help="also check that PATH (from `build/hbpo tokenizer-bytes --out PATH`) "
                         "holds the same JSON as the byte-level tokenizer used here")
    a = ap.parse_args()
    if a.bytes_json:
        with open(a.bytes_json, encoding="utf-8") as f:
            same = json.load(f) == json.loads(bytes_tokenizer_json())
        print("%s: %s" % (a.bytes_json, "same JSON as hbpo_tokenizer_write_bytes" if same else "DIFFERS"))
        if not same:
            return 1
    tok = Tokenizer.from_file(os.path.join(a.data, "qwen3-tokenizer", "tokenizer.json"))
    tiny = Tokenizer.from_str(bytes_tokenizer_json())

    cases = []
    for name, text in HARD:
        ids = tok.encode(text).ids
        cases.append({"name": name, "tok": "qwen3", "text": text, "ids": ids,
                      "decoded": tok.decode(ids, skip_special_tokens=False),
                      "decoded_skip": tok.decode(ids, skip_special_tokens=True)})
    for name, ids in decode_cases(tok):
        cases.append({"name": "decode_" + name, "tok": "qwen3", "ids": ids,
                      "decoded": tok.decode(ids, skip_special_tokens=False),
                      "decoded_skip": tok.decode(ids, skip_special_tokens=True)})
    for name, text in BYTES_HARD:
        ids = tiny.encode(text).ids
        cases.append({"name": name, "tok": "bytes", "text": text, "ids": ids,
                      "decoded": tiny.decode(ids, skip_special_tokens=False),
                      "decoded_skip": tiny.decode(ids, skip_special_tokens=True)})
    path = os.path.join(a.out, "tokenizer_cases.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=True) + "\n")
    print("%s: %d cases" % (path, len(cases)))

    rows, n_ids, n_rt = [], 0, 0
    for src, fields in CORPUS:
        with open(os.path.join(a.data, src), encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                rec = json.loads(line)
                for field in fields:
                    text = rec[field]
                    ids = tok.encode(text).ids
                    rt = int(tok.decode(ids, skip_special_tokens=False) == text)
                    rows.append({"src": src, "line": lineno, "field": field,
                                 "fnv": fnv32(text.encode("utf-8")), "n": len(ids),
                                 "ids": pack(ids), "rt": rt})
                    n_ids += len(ids)
                    n_rt += rt
    path = os.path.join(a.out, "tokenizer_corpus.jsonl")
    with open(path, "w", encoding="ascii") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
    print("%s: %d texts, %d ids, %d round trips exact" % (path, len(rows), n_ids, n_rt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
