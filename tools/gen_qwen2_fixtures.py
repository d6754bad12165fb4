#!/usr/bin/env python3
"""Golden checkpoints and references for hbpo's checkpoint loader (section 10 of hbpo.h).

    pip install torch transformers safetensors numpy     # CPU is enough
    python3 tools/gen_qwen2_fixtures.py                  # writes tests/fixtures/qwen2/
    python3 tools/gen_qwen2_fixtures.py --out DIR
    python3 tools/gen_qwen2_fixtures.py --check-saved SAVED_DIR --expect qwen2_untied

Fixture mode builds tiny random transformers models (2 layers, hidden 64, 4 heads,
2 KV heads, FFN 128, vocab 512, 256 positions), perturbs every bias and norm weight
away from transformers' init (zero biases and unit norms would hide a swapped or
missing tensor), saves each with save_pretrained(safe_serialization=True) and writes
NAME.ref.json beside the checkpoint folder with what the C tests compare against.
The references are computed by the model that from_pretrained loads from the saved
folder, in float64 (model.double(), exact from the stored weights), eager attention:

  qwen2_untied   Qwen2ForCausalLM, F32, untied, rope_theta 12345
  qwen2_tied     Qwen2ForCausalLM, F32, tied (no lm_head.weight in the file), rope_theta 500000
  qwen2_bf16     Qwen2ForCausalLM, BF16, untied, rope_theta 1e6; its reference is the
                 BF16 weights widened to float64
  qwen2_sharded  the BF16 weights of qwen2_bf16 saved with max_shard_size 100KB (3
                 shards and model.safetensors.index.json); no .ref.json: the test checks
                 that it loads to the same parameters as qwen2_bf16
  qwen3_tied     Qwen3ForCausalLM (q_norm/k_norm, no q/k/v biases), F32, tied,
                 head_dim 32 (not hidden/heads = 16), rope_theta 1e6, vocab 256, FFN 64

NAME.ref.json holds
  sequences      (B=2, T=12) token ids
  logits         (B*T*V) float64 logits of the sequences (flat, row-major; logits_shape)
  loss           model(sequences, labels=sequences).loss: the mean over B*(T-1) positions
                 of -log p(x[t+1] | x[..t]) (transformers shifts the labels)
  grads          d loss / d parameter after loss.backward(), for a few tensors: name,
                 shape, rows (the rows recorded), values (len(rows) x cols, flat), and
                 sum, sum_abs, sum_sq over the whole tensor
  generation     transformers' greedy decoding, model.generate(do_sample=False,
                 max_new_tokens=16) on the float64 model with eos_token_id=None (the
                 config has none, so decoding never stops early) and an all-ones
                 attention_mask, one prompt at a time (no padding). cases[i] has prompt,
                 tokens (the 16 new tokens only) and min_top2_margin (the smallest gap
                 between the best and second-best logit over the 16 steps: a tie
                 breaker for readers of near-ties). A plain argmax loop over full
                 forwards is checked to give the same tokens.

Check mode loads a checkpoint that hbpo saved (tools/ckpt_convert.c) with
from_pretrained, and compares it with the fixture checkpoint it came from: parameters
(after rounding the original to the saved dtype) and float64 logits of the fixture's
sequences. It prints the figures recorded in tests/fixtures/qwen2/README.md and exits
non-zero when they disagree.
"""
import argparse
import json
import math
import os
import shutil

import numpy as np
import torch
import transformers
from safetensors import safe_open
from transformers import AutoModelForCausalLM, Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "..", "tests", "fixtures", "qwen2")
B, T = 2, 12
MAX_NEW = 16
PROMPT_LENS = (5, 9)

SHAPE = dict(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
             rms_norm_eps=1e-6, bos_token_id=None, eos_token_id=None)


# --- JSON with controlled float text (json.dumps would write float32 values as
# 17-digit doubles, tripling the size for no information).
def dump(obj, digits=9):
    if isinstance(obj, dict):
        return "{" + ", ".join(json.dumps(k) + ": " + dump(v, digits) for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)):
        return "[" + ",".join(dump(v, digits) for v in obj) + "]"
    if isinstance(obj, bool) or obj is None or isinstance(obj, str):
        return json.dumps(obj)
    if isinstance(obj, (int, np.integer)):
        return str(int(obj))
    if isinstance(obj, Digits):
        return dump(obj.v, obj.digits)
    if isinstance(obj, Exact):
        return repr(float(obj.v))
    v = float(obj)
    if not math.isfinite(v):
        raise ValueError("non-finite value in a fixture")
    return format(v, ".%dg" % digits)


class Digits:
    """A list written with the given significant digits."""
    def __init__(self, v, digits):
        self.v, self.digits = v, digits


class Exact:
    """A float written with repr() (17 digits when needed): losses and sums."""
    def __init__(self, v):
        self.v = float(v)


def perturb(model, seed, embed_std=0.5, weight_std=0.1):
    """Non-trivial values for every tensor: weights ~ N(0, weight_std), embeddings
    N(0, embed_std), biases N(0, 0.1), norm weights 1 + N(0, 0.2)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            r = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.2 * r)
            elif name.endswith(".bias"):
                p.copy_(0.1 * r)
            elif "embed_tokens" in name:
                p.copy_(embed_std * r)
            else:
                p.copy_(weight_std * r)


def build(kind, seed, tie, rope_theta, head_dim=None, **shape):
    kw = dict(SHAPE, tie_word_embeddings=tie, rope_theta=rope_theta)
    kw.update(shape)
    if kind == "qwen3":
        kw["head_dim"] = head_dim
        cfg = Qwen3Config(**kw)
        cls = Qwen3ForCausalLM
    else:
        cfg = Qwen2Config(**kw)
        cls = Qwen2ForCausalLM
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = cls(cfg).eval()
    # Tied embeddings are also the LM head: a large std there would make every
    # logit row peak at the input token and greedy decoding repeat it.
    perturb(model, seed + 1, embed_std=0.1 if tie else 0.5)
    return model


def grad_rows(name, shape, seqs):
    """Rows of a 2-D gradient to record: token rows for the embeddings, spread rows otherwise."""
    rows = shape[0]
    if "embed_tokens" in name or name == "lm_head.weight":
        present = set(int(t) for t in seqs.flatten())
        absent = next(t for t in range(rows) if t not in present)
        return sorted(set([int(seqs[0, 0]), int(seqs[0, 5]), int(seqs[1, 3]), absent, 0, rows - 1]))
    return sorted(set(int(round(x)) for x in np.linspace(0, rows - 1, 8)))


def greedy_reference(model, prompt):
    """transformers' generate, plus a plain argmax loop that must agree with it."""
    ids = torch.tensor([prompt])
    out = model.generate(ids, attention_mask=torch.ones_like(ids), do_sample=False,
                         max_new_tokens=MAX_NEW, eos_token_id=None, pad_token_id=0,
                         min_new_tokens=MAX_NEW)
    gen = out[0, len(prompt):].tolist()
    seq, margin = list(prompt), math.inf
    with torch.no_grad():
        for _ in range(MAX_NEW):
            lg = model(torch.tensor([seq])).logits[0, -1]
            top = torch.topk(lg, 2).values
            margin = min(margin, float(top[0] - top[1]))
            seq.append(int(lg.argmax()))
    if seq[len(prompt):] != gen:
        raise SystemExit("generate() and the argmax loop disagree: %s vs %s" % (gen, seq[len(prompt):]))
    return gen, margin


def reference(model, name, dtype_name, seed, grad_names):
    """The float64 reference of a (float32 or bfloat16) model."""
    m = model.double()
    m.config._attn_implementation = "eager"
    rng = np.random.default_rng(seed)
    V = m.config.vocab_size
    seqs = rng.integers(0, V, size=(B, T))
    ids = torch.tensor(seqs)
    m.zero_grad()
    out = m(ids, labels=ids)
    out.loss.backward()
    params = dict(m.named_parameters())
    grads = []
    for gname in grad_names:
        if gname == "lm_head.weight" and m.config.tie_word_embeddings:
            continue
        g = params[gname].grad.detach().numpy()
        shape = list(g.shape)
        if g.ndim == 1:
            rows, vals = [0], g
        else:
            rows = grad_rows(gname, shape, seqs)
            vals = g[rows].reshape(-1)
        grads.append({"name": gname, "shape": shape, "rows": rows, "values": vals.tolist(),
                      "sum": Exact(g.sum()), "sum_abs": Exact(np.abs(g).sum()),
                      "sum_sq": Exact((g * g).sum())})
    cases = []
    for i, L in enumerate(PROMPT_LENS):
        prompt = rng.integers(0, V, size=L).tolist()
        toks, margin = greedy_reference(m, prompt)
        cases.append({"prompt": prompt, "tokens": toks, "min_top2_margin": Exact(margin)})
    return {
        "checkpoint": name,
        "generator": "tools/gen_qwen2_fixtures.py",
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__},
        "checkpoint_dtype": dtype_name,
        "reference_precision": "float64, eager attention",
        "sequences": seqs.tolist(),
        "logits_shape": [B, T, V],
        "logits": Digits(out.logits.detach().reshape(-1).tolist(), 8),
        "loss": Exact(out.loss.item()),
        "grads": grads,
        "generation": {"max_new_tokens": MAX_NEW, "do_sample": False, "eos_token_id": None,
                       "note": "tokens are the new tokens only; prompts decoded one at a time",
                       "cases": cases},
    }


def grad_names(qwen3):
    names = ["model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
             "model.layers.0.input_layernorm.weight", "model.layers.1.mlp.down_proj.weight",
             "model.layers.1.post_attention_layernorm.weight", "model.norm.weight", "lm_head.weight"]
    if qwen3:
        names += ["model.layers.0.self_attn.q_norm.weight", "model.layers.1.self_attn.k_norm.weight"]
    else:
        names += ["model.layers.0.self_attn.q_proj.bias", "model.layers.1.self_attn.k_proj.bias",
                  "model.layers.0.self_attn.v_proj.bias"]
    return names


def save(model, out, name, **kw):
    d = os.path.join(out, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    model.save_pretrained(d, safe_serialization=True, **kw)
    gc = os.path.join(d, "generation_config.json")
    if os.path.exists(gc):
        os.remove(gc)  # not read by hbpo; the reference records how decoding was done
    return d


def write_ref(out, name, ref):
    with open(os.path.join(out, name + ".ref.json"), "w") as f:
        f.write(dump(ref) + "\n")


def make_fixtures(out):
    os.makedirs(out, exist_ok=True)
    specs = [
        # name, kind, seed, tied, rope_theta, head_dim, dtype, shape changes
        ("qwen2_untied", "qwen2", 101, False, 12345.0, None, "float32", {}),
        ("qwen2_tied", "qwen2", 202, True, 500000.0, None, "float32", {}),
        ("qwen2_bf16", "qwen2", 303, False, 1000000.0, None, "bfloat16", {}),
        ("qwen3_tied", "qwen3", 404, True, 1000000.0, 32, "float32",
         dict(vocab_size=256, intermediate_size=64)),
    ]
    for name, kind, seed, tied, theta, hd, dtype, shape in specs:
        model = build(kind, seed, tied, theta, hd, **shape)
        if dtype == "bfloat16":
            model = model.to(torch.bfloat16)
        d = save(model, out, name)
        if name == "qwen2_bf16":
            save(model, out, "qwen2_sharded", max_shard_size="100KB")
        # The reference is what transformers computes from the saved folder. (Not
        # model.double() of the in-memory model: .to(bfloat16) also rounds the
        # rotary inv_freq buffer, which from_pretrained recomputes in float32.)
        loaded = AutoModelForCausalLM.from_pretrained(d, attn_implementation="eager",
                                                      dtype=torch.float32).eval()
        for k, v in model.state_dict().items():
            if not torch.equal(loaded.state_dict()[k], v.float()):
                raise SystemExit("%s: %s differs after save_pretrained/from_pretrained" % (name, k))
        ref = reference(loaded, name, dtype, seed + 7, grad_names(kind == "qwen3"))
        write_ref(out, name, ref)
        print("wrote %s (loss %.6f, greedy %s)" % (name, ref["loss"].v,
                                                   [c["tokens"][:4] for c in ref["generation"]["cases"]]))
    shards = sorted(f for f in os.listdir(os.path.join(out, "qwen2_sharded")) if f.endswith(".safetensors"))
    if len(shards) < 2:
        raise SystemExit("qwen2_sharded has %d shard(s); lower max_shard_size" % len(shards))
    total = 0
    for root, _, files in os.walk(out):
        total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
    print("total fixture size %.2f MB" % (total / 1e6))


# --- check mode -----------------------------------------------------------------
def saved_dtype(d):
    files = [f for f in os.listdir(d) if f.endswith(".safetensors")]
    dts = set()
    for f in files:
        with safe_open(os.path.join(d, f), "pt") as s:
            for k in s.keys():
                dts.add(s.get_slice(k).get_dtype())
    return dts


def check_saved(saved, expect, out):
    orig_dir = os.path.join(out, expect)
    ref = json.load(open(os.path.join(out, expect + ".ref.json" if os.path.exists(
        os.path.join(out, expect + ".ref.json")) else "qwen2_bf16.ref.json")))
    dts = saved_dtype(saved)
    a = AutoModelForCausalLM.from_pretrained(saved, attn_implementation="eager", dtype=torch.float32).eval()
    o = AutoModelForCausalLM.from_pretrained(orig_dir, attn_implementation="eager", dtype=torch.float32).eval()
    if a.config.to_dict().get("model_type") != o.config.to_dict().get("model_type"):
        raise SystemExit("model_type differs")
    bf16 = dts == {"BF16"}
    sa, so = a.state_dict(), o.state_dict()
    bad, worst = 0, 0.0
    for k, v in so.items():
        w = v.to(torch.bfloat16).to(torch.float32) if bf16 else v
        if k not in sa or not torch.equal(sa[k], w):
            bad += 1
            if k in sa:
                worst = max(worst, float((sa[k] - w).abs().max()))
    ids = torch.tensor(ref["sequences"])
    with torch.no_grad():
        la = a.double()(ids).logits
        if bf16:  # round the parameters only (o.to(bfloat16) would round inv_freq too)
            for p in o.parameters():
                p.copy_(p.to(torch.bfloat16).to(torch.float32))
        lo = o.double()(ids).logits
    d = float((la - lo).abs().max())
    scale = float(lo.abs().max())
    print("%s: saved dtypes %s, tensors %d, differing from the original%s: %d (max diff %.3g)"
          % (saved, sorted(dts), len(sa), " rounded to bf16" if bf16 else "", bad, worst))
    print("  logits vs original%s: max abs diff %.3g, max abs logit %.3g, rel %.3g"
          % (" (bf16-rounded)" if bf16 else "", d, scale, d / scale))
    lr = float((la - torch.tensor(ref["logits"], dtype=torch.float64).reshape(la.shape)).abs().max())
    print("  logits vs the fixture's recorded logits: max abs diff %.3g" % lr)
    if bad or d > 1e-9 * max(scale, 1.0):
        raise SystemExit("MISMATCH")
    print("  OK")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--check-saved", metavar="DIR")
    ap.add_argument("--expect", metavar="NAME", help="fixture the saved checkpoint came from")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.check_saved:
        if not args.expect:
            ap.error("--check-saved needs --expect NAME")
        check_saved(args.check_saved, args.expect, args.out)
    else:
        make_fixtures(os.path.normpath(args.out))


if __name__ == "__main__":
    main()
