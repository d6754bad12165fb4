"""PyTorch's figures beside build/bench_cuda's, on the same GPU, same shapes.

Usage: python3 bench/torch_gpu_reference.py [--quick]
  train   Qwen2ForCausalLM (transformers, random weights, eager attention as
          PyTorch eager runs it; "sdpa" too) at the Qwen2.5-0.5B and
          DeepSeek-R1-Distill-Qwen-1.5B shapes, sequences of 2048: fp32
          master weights, bf16 autocast, AdamW; tokens/s and MFU with
          bench_cuda's FLOP count (6 P + 6 L T NH HS, P the product parameters)
  decode  model.generate, greedy, 256 sequences of 64 prompt tokens, 128 new
          (--quick: 32), bf16 weights
Prints lines starting with "torch" that tools/gpu_check.sh collects.
Not run where it was written (no GPU there)."""
import os
import sys
import time

import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

PEAK = float(os.environ.get("HBPO_PEAK_TFLOPS", "989"))


def cfg_05b():
    return Qwen2Config(vocab_size=151936, hidden_size=896, intermediate_size=4864,
                       num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                       max_position_embeddings=32768, rope_theta=1e6, rms_norm_eps=1e-6,
                       tie_word_embeddings=True)


def cfg_15b():
    return Qwen2Config(vocab_size=151936, hidden_size=1536, intermediate_size=8960,
                       num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2,
                       max_position_embeddings=131072, rope_theta=1e4, rms_norm_eps=1e-6,
                       tie_word_embeddings=False)


def product_params(c):
    hs = c.hidden_size // c.num_attention_heads
    qd, kvd = c.num_attention_heads * hs, c.num_key_value_heads * hs
    C, F = c.hidden_size, c.intermediate_size
    return c.num_hidden_layers * (2 * qd * C + 2 * kvd * C + 3 * F * C) + c.vocab_size * C


def bench_train(name, cfg, B, T, steps, attn):
    cfg._attn_implementation = attn
    torch.manual_seed(0)
    m = Qwen2ForCausalLM(cfg).cuda()
    opt = torch.optim.AdamW(m.parameters(), lr=1e-5)
    x = torch.randint(0, cfg.vocab_size, (B, T), device="cuda")
    for i in range(steps + 1):
        if i == 1:
            torch.cuda.synchronize()
            t0 = time.time()
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = m(input_ids=x, labels=x).loss
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    torch.cuda.synchronize()
    dt = (time.time() - t0) / steps
    tok = B * T / dt
    hs = cfg.hidden_size // cfg.num_attention_heads
    fl = 6 * product_params(cfg) + 6 * cfg.num_hidden_layers * T * cfg.num_attention_heads * hs
    print(f"torch train {name} bf16-autocast {attn} B={B} T={T}: {dt:.3f} s/step, {tok:.0f} tokens/s, "
          f"{fl * tok * 1e-12:.1f} TFLOP/s, MFU {100 * fl * tok * 1e-12 / PEAK:.1f}% of {PEAK:.0f}",
          flush=True)
    del m, opt
    torch.cuda.empty_cache()


def bench_decode(n, plen, new):
    cfg = cfg_15b()
    torch.manual_seed(0)
    m = Qwen2ForCausalLM(cfg).to("cuda", dtype=torch.bfloat16).eval()
    x = torch.randint(0, 151000, (n, plen), device="cuda")
    with torch.no_grad():
        m.generate(x[:, :8], max_new_tokens=2, do_sample=False, min_new_tokens=2)  # warm-up
        torch.cuda.synchronize()
        t0 = time.time()
        out = m.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=new, min_new_tokens=new,
                         do_sample=False, pad_token_id=0)
        torch.cuda.synchronize()
    dt = time.time() - t0
    total = (out.shape[1] - plen) * n
    print(f"torch decode 1.5B bf16 generate greedy, {n} sequences, prompts {plen}, {new} new: "
          f"{total} tokens in {dt:.2f} s: {total / dt:.0f} tokens/s (prefill included)", flush=True)


def main():
    quick = "--quick" in sys.argv
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}", flush=True)
    steps = 2 if quick else 5
    bench_train("Qwen2.5-0.5B", cfg_05b(), 4, 2048, steps, "eager")
    bench_train("R1-Distill-1.5B", cfg_15b(), 2, 2048, steps, "eager")
    if not quick:
        bench_train("R1-Distill-1.5B", cfg_15b(), 2, 2048, steps, "sdpa")
    bench_decode(256, 64, 32 if quick else 128)


if __name__ == "__main__":
    main()
