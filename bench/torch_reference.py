"""PyTorch CPU on the benchmark's shape, for the side-by-side ratio in
docs/performance.md (not used by the tests; needs `pip install torch transformers`).

The same model as bench/bench_model.c: transformers' Qwen2ForCausalLM with
hidden 512, 8 layers, 8 heads / 2 KV heads, FFN 1408, vocab 4096, tied
embeddings (24.7M parameters), fp32, one training step = forward +
cross-entropy + backward + AdamW over a batch of 8 x 256 tokens; and greedy
batched decoding of 64 sequences (64-token prompts, 128 new tokens) with the
KV cache. Prints the same figures as bench_model.

    python3 bench/torch_reference.py [--threads 2] [--steps 3] [--no-decode]
"""
import argparse
import time

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--attn", default="sdpa", help="sdpa (fastest on CPU) or eager")
    ap.add_argument("--no-decode", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=4096, hidden_size=512, intermediate_size=1408,
                      num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=2,
                      max_position_embeddings=1024, rope_theta=10000.0, rms_norm_eps=1e-6,
                      tie_word_embeddings=True)
    model = Qwen2ForCausalLM(cfg, attn_implementation=a.attn) if "attn_implementation" in \
        Qwen2ForCausalLM.__init__.__code__.co_varnames else Qwen2ForCausalLM(cfg)
    model.config._attn_implementation = a.attn
    model.train()
    n_params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-6, weight_decay=0.01, foreach=True)
    B, T = a.batch, a.seq
    x = torch.randint(0, 4096, (B, T))
    best = 1e30
    for s in range(a.steps + 1):
        t0 = time.perf_counter()
        loss = model(input_ids=x, labels=x).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=False)
        dt = time.perf_counter() - t0
        if s > 0:
            best = min(best, dt)
    print(f"torch {torch.__version__}, {a.threads} threads, attention {a.attn}")
    print(f"train step {B}x{T}, {n_params / 1e6:.1f}M params: {best:8.3f} s  {B * T / best:8.0f} tokens/s")
    if not a.no_decode:
        model.eval()
        prompts = torch.randint(0, 4096, (64, 64))
        with torch.no_grad():
            t0 = time.perf_counter()
            out = model.generate(prompts, attention_mask=torch.ones_like(prompts),
                                 max_new_tokens=128, min_new_tokens=128, do_sample=False,
                                 eos_token_id=None, pad_token_id=0)
            dt = time.perf_counter() - t0
        new = (out.shape[1] - 64) * 64
        print(f"decode 64 sequences x 128 new tokens (64-token prompts): {dt:8.3f} s  {new / dt:8.0f} tokens/s")


if __name__ == "__main__":
    main()
