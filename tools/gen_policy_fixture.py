#!/usr/bin/env python3
"""Golden fixture for hbpo_policy_loss, computed with PyTorch autograd.

    pip install torch          # any recent version; CPU is enough
    python3 tools/gen_policy_fixture.py              # writes tests/fixtures/policy_loss.json
    python3 tools/gen_policy_fixture.py --out PATH

The objective is verl's compute_policy_loss (DAPO clip-higher + dual clip),
agg_loss and kl_penalty, written again here in float64 so that the C library
(which accumulates in double from float inputs) can be held to it tightly.
Two deliberate departures from verl, both matching hbpo:
  * clipfrac_lower counts tokens where clip1 > pg3 and A < 0. The verl copy in
    the released HBPO code compares clip2 > pg3, which is always false (clip2 =
    min(pg3, clip1)); upstream verl fixed it to clip1 > pg3.
  * seq-mean-token-mean gives a row without tokens 0 (verl divides 0 by 0), and
    masked means divide by sum(mask) exactly (verl adds 1e-8), 0 when empty.

Every input is rounded to float32 before use, and so is every config value
(eps_low, eps_high, clip_c, kl_coef are floats in hbpo_policy_config), so that
the C test reads bit-identical inputs. Numbers are written with repr(): the
shortest text that reads back as the same double.
"""
import argparse
import json
import math
import os

import torch

TOKEN_MEAN, SEQ_MEAN_TOKEN_SUM, SEQ_MEAN_TOKEN_MEAN = 0, 1, 2  # HBPO_AGG_*
KL_K1, KL_K3 = 0, 1                                            # HBPO_KL_*
SEED = 20250721


def f32(x):
    """x rounded to float32, kept as float64."""
    return torch.as_tensor(x, dtype=torch.float64).to(torch.float32).to(torch.float64)


def f32s(v):
    """A Python float rounded to float32."""
    return float(f32(v))


def masked_mean(x, mask):
    n = mask.sum()
    return (x * mask).sum() / n if n > 0 else x.sum() * 0.0


def agg_loss(mat, mask, mode):
    """verl core_algos.agg_loss."""
    if mode == TOKEN_MEAN:
        return masked_mean(mat, mask)
    row_sum = (mat * mask).sum(dim=-1)
    if mode == SEQ_MEAN_TOKEN_SUM:
        return row_sum.mean()
    row_n = mask.sum(dim=-1)
    # A row without tokens contributes 0 (verl: 0/0 = NaN). clamp keeps the
    # unused branch of where() finite so that autograd stays finite too.
    row_mean = torch.where(row_n > 0, row_sum / row_n.clamp(min=1.0), torch.zeros_like(row_sum))
    return row_mean.mean()


def kl_penalty(logp, ref_logp, estimator):
    """verl core_algos.kl_penalty: "kl" (k1) and "low_var_kl" (k3)."""
    if estimator == KL_K1:
        return logp - ref_logp
    kl = ref_logp - logp
    return torch.clamp(torch.exp(kl) - kl - 1, min=-10, max=10)


def policy_loss(cfg, logp_in, old_logp, ref_logp, adv, mask):
    """Returns (stats dict, dlogp) for one config. All tensors float64 (B,T); adv (B,)."""
    logp = logp_in.clone().requires_grad_(True)
    A = adv[:, None].expand_as(logp)
    eps_low, eps_high, clip_c = cfg["eps_low"], cfg["eps_high"], cfg["clip_c"]

    # verl compute_policy_loss
    ratio = torch.exp(logp - old_logp)
    pg1 = -A * ratio
    pg2 = -A * torch.clamp(ratio, 1.0 - eps_low, 1.0 + eps_high)
    clip1 = torch.maximum(pg1, pg2)
    clipfrac = masked_mean(torch.gt(pg2, pg1).double(), mask)
    pg3 = -A * clip_c
    clip2 = torch.minimum(pg3, clip1)
    clipfrac_lower = masked_mean((torch.gt(clip1, pg3) & (A < 0)).double(), mask)
    pg = torch.where(A < 0, clip2, clip1)
    pg_loss = agg_loss(pg, mask, cfg["agg"])

    if cfg["kl_coef"] > 0:
        kl = agg_loss(kl_penalty(logp, ref_logp, cfg["kl_estimator"]), mask, cfg["agg"])
    else:
        kl = pg_loss * 0.0
    loss = pg_loss + cfg["kl_coef"] * kl
    loss.backward()

    stats = {
        "loss": loss.item(),
        "pg_loss": pg_loss.item(),
        "kl": kl.item(),
        "clipfrac": clipfrac.item(),
        "clipfrac_lower": clipfrac_lower.item(),
        "approx_kl": masked_mean(old_logp - logp.detach(), mask).item(),
        "n_tokens": mask.sum().item(),
    }
    return stats, logp.grad


def make_batch(gen, B, T, empty_row, k3_clamp):
    """One padded batch: [prompt zeros | response ones | padding zeros] per row."""
    def uni(*shape):
        return torch.rand(*shape, generator=gen, dtype=torch.float64)

    def nrm(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    mask = torch.zeros(B, T, dtype=torch.float64)
    for b in range(B):
        if b == empty_row:
            continue
        prompt = int(torch.randint(0, 4, (1,), generator=gen))
        resp = int(torch.randint(1, T - prompt + 1, (1,), generator=gen))
        mask[b, prompt:prompt + resp] = 1.0

    old_logp = -(0.02 + 3.0 * uni(B, T))
    # Mostly small drift (inside the trust region), plus about one token in four
    # moved far: up to exp(1.6) ~ 5 (beyond 1 + eps_high and beyond clip_c = 3)
    # or down to exp(-1.6) ~ 0.2 (below 1 - eps_low).
    noise = 0.08 * nrm(B, T)
    far = uni(B, T) < 0.25
    noise = torch.where(far, torch.sign(nrm(B, T)) * (0.3 + 1.3 * uni(B, T)), noise)
    logp = torch.clamp(old_logp + noise, max=-1e-3)
    ref_logp = old_logp + 0.3 * nrm(B, T)

    # Advantages alternate in sign; with three rows or more the last row with
    # tokens gets an exact zero.
    signs = torch.tensor([1.0 if b % 2 == 0 else -1.0 for b in range(B)], dtype=torch.float64)
    adv = signs * (2.0 * nrm(B).abs() + 0.1)
    if B >= 3:
        adv[max(b for b in range(B) if mask[b].sum() > 0)] = 0.0

    # Make sure each batch holds every case: in each row with tokens, one token
    # far outside the trust region on the side that clips for its advantage
    # (A > 0: ratio e^0.5 = 1.65 > 1 + eps_high; A < 0: alternately ratio
    # e^1.4 = 4.06 > clip_c = 3 (the dual clip) in the first such row, and
    # e^-0.6 = 0.55 < 1 - eps_low in the others).
    first_neg = True
    for b in range(B):
        idx = torch.nonzero(mask[b]).reshape(-1)
        if len(idx) == 0 or adv[b] == 0:
            continue
        t = int(idx[int(torch.randint(0, len(idx), (1,), generator=gen))])
        if adv[b] > 0:
            d = 0.5
        else:
            d = 1.4 if first_neg else -0.6
            first_neg = False
        old_logp[b, t] = torch.clamp(old_logp[b, t], max=-1.5)
        logp[b, t] = old_logp[b, t] + d

    if k3_clamp:
        # One response token with ref - logp = 3: exp(3) - 3 - 1 = 16.09 > 10, so
        # the k3 clamp (and its zero gradient) is exercised.
        b = next(b for b in range(B) if mask[b].sum() > 0)
        t = int(torch.nonzero(mask[b])[0])
        ref_logp[b, t] = logp[b, t] + 3.0

    # Padding gets ordinary finite values as well (JSON has no NaN); the C
    # library must ignore them through the mask either way.
    return {"logp": f32(logp), "old_logp": f32(old_logp), "ref_logp": f32(ref_logp),
            "adv": f32(adv), "mask": mask}


def configs():
    out = []
    for agg in (TOKEN_MEAN, SEQ_MEAN_TOKEN_SUM, SEQ_MEAN_TOKEN_MEAN):
        for kl_coef, est in ((0.0, KL_K1), (0.1, KL_K1), (0.05, KL_K3)):
            out.append({"eps_low": 0.2, "eps_high": 0.28, "clip_c": 3.0, "agg": agg,
                        "kl_coef": kl_coef, "kl_estimator": est})
    out.append({"eps_low": 0.1, "eps_high": 0.1, "clip_c": 2.0, "agg": TOKEN_MEAN,
                "kl_coef": 0.0, "kl_estimator": KL_K1})
    for c in out:  # the C config holds floats
        for k in ("eps_low", "eps_high", "clip_c", "kl_coef"):
            c[k] = f32s(c[k])
    return out


def flat(t):
    vals = [float(v) for v in t.reshape(-1).tolist()]
    assert all(math.isfinite(v) for v in vals)
    return vals


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--out", default=os.path.join(root, "tests", "fixtures", "policy_loss.json"))
    args = ap.parse_args()

    gen = torch.Generator().manual_seed(SEED)
    shapes = [  # (B, T, fully masked row or -1, k3 clamp token)
        (2, 5, -1, False),
        (4, 9, 2, True),
        (6, 17, 5, False),
        (3, 13, -1, True),
    ]
    batches = []
    for B, T, empty_row, k3_clamp in shapes:
        x = make_batch(gen, B, T, empty_row, k3_clamp)
        cases = []
        for cfg in configs():
            stats, dlogp = policy_loss(cfg, x["logp"], x["old_logp"], x["ref_logp"], x["adv"],
                                       x["mask"])
            case = dict(cfg)
            case.update(stats)
            case["dlogp"] = flat(dlogp)
            assert all(math.isfinite(v) for v in stats.values())
            cases.append(case)
            # Every batch must exercise the clip and the dual clip, or it proves little.
            assert stats["clipfrac"] > 0 and stats["clipfrac_lower"] > 0, (B, T, cfg)
        batches.append({
            "B": B, "T": T,
            "logp": flat(x["logp"]), "old_logp": flat(x["old_logp"]),
            "ref_logp": flat(x["ref_logp"]), "adv": flat(x["adv"]), "mask": flat(x["mask"]),
            "cases": cases,
        })

    doc = {
        "what": "hbpo_policy_loss reference: verl compute_policy_loss + agg_loss + kl_penalty "
                "in float64 with torch autograd; inputs are float32 values; arrays are "
                "row-major (B,T); agg 0/1/2 = token-mean / seq-mean-token-sum / "
                "seq-mean-token-mean; kl_estimator 0/1 = k1 / k3",
        "generator": "tools/gen_policy_fixture.py",
        "torch": torch.__version__,
        "seed": SEED,
        "batches": batches,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        # json writes floats with float.__repr__ (shortest round-trip text).
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    print(f"wrote {args.out}: {len(batches)} batches x {len(configs())} configs, "
          f"{os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
