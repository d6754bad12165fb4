"""PyTorch CPU on the benchmarks' shapes, for the side-by-side ratios in
docs/performance.md (not used by the tests; needs `pip install torch transformers`).

--shape bench (default): the model of bench/bench_model.c, transformers'
Qwen2ForCausalLM with hidden 512, 8 layers, 8 heads / 2 KV heads, FFN 1408,
vocab 4096, tied embeddings (24.7M parameters); one training step = forward +
cross-entropy + backward + AdamW over a batch of 8 x 256 tokens; and greedy
batched decoding of 64 sequences (64-token prompts, 128 new tokens) with the
KV cache. Prints the same figures as bench_model.

--shape demo: the demo's model of bench/bench_small.c (hbpo_synth_model_config:
hidden 128, 4 layers, 4 heads / 2 KV heads of 32, FFN 352, vocab 272, 0.77M
parameters), a training step over 32 sequences of 72 tokens (bench_small's
batch has 32 sequences of about 72 tokens on average), and greedy decoding of
128 sequences (24-token prompts, 96 new tokens) as bench_small does.

--autocast bf16: the step under torch.autocast("cpu", dtype=torch.bfloat16),
the PyTorch counterpart of hbpo's --matmul bf16 (fp32 master weights and
optimizer either way). It is fast only on CPUs with AVX512-BF16 or AMX.

    python3 bench/torch_reference.py [--shape bench|demo] [--autocast none|bf16]
                                     [--threads 2] [--steps 3] [--no-decode]
"""
import argparse
import contextlib
import time

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", choices=["bench", "demo"], default="bench")
    ap.add_argument("--autocast", choices=["none", "bf16"], default="none")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=0, help="default: 8 (bench), 32 (demo)")
    ap.add_argument("--seq", type=int, default=0, help="default: 256 (bench), 72 (demo)")
    ap.add_argument("--attn", default="sdpa", help="sdpa (fastest on CPU) or eager")
    ap.add_argument("--no-decode", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.shape == "bench":
        cfg = Qwen2Config(vocab_size=4096, hidden_size=512, intermediate_size=1408,
                          num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=2,
                          max_position_embeddings=1024, rope_theta=10000.0, rms_norm_eps=1e-6,
                          tie_word_embeddings=True)
        B, T = a.batch or 8, a.seq or 256
        NS, PL, NEW = 64, 64, 128
    else:
        cfg = Qwen2Config(vocab_size=272, hidden_size=128, intermediate_size=352,
                          num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2,
                          max_position_embeddings=256, rope_theta=10000.0, rms_norm_eps=1e-6,
                          tie_word_embeddings=True)
        B, T = a.batch or 32, a.seq or 72
        NS, PL, NEW = 128, 24, 96
    model = Qwen2ForCausalLM(cfg, attn_implementation=a.attn) if "attn_implementation" in \
        Qwen2ForCausalLM.__init__.__code__.co_varnames else Qwen2ForCausalLM(cfg)
    model.config._attn_implementation = a.attn
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, weight_decay=0.01, foreach=True)
    V = cfg.vocab_size
    x = torch.randint(0, V, (B, T))
    cast = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if a.autocast == "bf16" \
        else contextlib.nullcontext
    best = 1e30
    for s in range(a.steps + 1):
        t0 = time.perf_counter()
        with cast():
            loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=False)
        dt = time.perf_counter() - t0
        if s > 0:
            best = min(best, dt)
    print(f"torch {torch.__version__}, {a.threads} threads, attention {a.attn}, shape {a.shape}, "
          f"autocast {a.autocast}")
    print(f"train step {B}x{T}, {n_params / 1e6:.2f}M params: {best:8.3f} s  {B * T / best:8.0f} tokens/s")
    if not a.no_decode:
        model.eval()
        prompts = torch.randint(0, V, (NS, PL))
        with torch.no_grad(), cast():
            t0 = time.perf_counter()
            out = model.generate(prompts, attention_mask=torch.ones_like(prompts),
                                 max_new_tokens=NEW, min_new_tokens=NEW, do_sample=False,
                                 eos_token_id=None, pad_token_id=0)
            dt = time.perf_counter() - t0
        new = (out.shape[1] - PL) * NS
        print(f"decode {NS} sequences x {NEW} new tokens ({PL}-token prompts): {dt:8.3f} s  {new / dt:8.0f} tokens/s")


if __name__ == "__main__":
    main()
