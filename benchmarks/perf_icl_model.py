"""Issue 19 rows 5 and 6: the in-context-regression transformer's training.

Row 5: training steps/s of ``theory.icl_regression.train_sweep`` with one model of the official
small configuration (4 layers, d 64, 2 heads, batch 128, D = 8, K = 16, float32) against the
official model and Adam step re-implemented in plain JAX (``benchmarks/reference/icl_jax_model.py``),
N steps each, data sampling included on both sides. Agreement: the forward pass of our initial
weights copied into the JAX model, on the same tokens.
Row 6: the notebook's six-model M sweep (``paper_settings()``) batched against the same six
models trained one after another; agreement: the batched models' recorded losses against the
one-by-one models' (same seeds).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from _perf import PerfRow, paired


def _flops(cfg, B):
    d, L, T, D = cfg.n_embd, cfg.n_layer, cfg.T, cfg.D
    matmul_params = L * 12 * d * d + (D + 1) * d + d
    return 6 * matmul_params * B * T + 3 * 4 * L * T * T * d * B


_KINDS = (("matmuls", ("aten::bmm", "aten::mm", "aten::addmm", "aten::baddbmm")),
          ("tanh-GELU", ("aten::gelu", "aten::gelu_backward")),
          ("attention", ("scaled_dot_product", "flash_attention")),
          ("LayerNorm", ("layer_norm",)))


def _profile_shares(fn):
    """Run ``fn()`` under torch.profiler; the shares of the self CPU time by kind of kernel
    (:data:`_KINDS`, the rest as "other") and the matmuls' seconds."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    total, by = 0.0, {name: 0.0 for name, _ in _KINDS}
    for ev in prof.key_averages():
        t = ev.self_cpu_time_total * 1e-6
        total += t
        for name, keys in _KINDS:
            if any(k in ev.key for k in keys):
                by[name] += t
                break
    by["other"] = total - sum(by.values())
    return {k: v / total for k, v in by.items()}, by["matmuls"]


def rows(rates, quick=False):
    import jax
    import jax.numpy as jnp

    from reference import icl_jax_model as ref
    from theory.icl_regression.paper_run import paper_settings
    from theory.icl_regression.transformer import (ModelConfig, forward, init_params,
                                                   model_seeds, train_sweep)
    from theory.icl_regression.data import sample_pool, sample_sequences, to_tokens

    out = []
    # ---- row 5: one model, official small configuration
    cfg = ModelConfig(D=8, K=16, n_layer=4, n_embd=64, n_head=2)
    B, N, sigma2, M = 128, (4 if quick else 20), 0.25, 2**10
    kw = dict(sigma2=sigma2, batch_size=B, lr=1e-3, progress=False, device="cpu",
              record_every=N, seed=0, pool_seed=1)
    pool = sample_pool(M, cfg.D, seed=1).numpy()
    sample, step, init_state = ref.make_trainer(cfg.D, cfg.K, cfg.n_head, B, N, 1e-3, pool,
                                                math.sqrt(sigma2))
    p0 = ref.init_params(jax.random.PRNGKey(100), cfg.D, cfg.K, cfg.n_layer, cfg.n_embd)

    def ours():
        return train_sweep([M], cfg, steps=N, **kw)

    def reference():
        state = init_state(jax.tree_util.tree_map(jnp.copy, p0))
        for i in range(1, N + 1):
            xs, ys = sample(i)
            state = step(state, xs, ys)
        jax.block_until_ready(state[0])
        return state

    t_o, t_r = paired(ours, reference, repeat=2 if quick else 3, min_time=0.0)
    # agreement: our initial weights in the JAX forward, same tokens
    P = init_params(cfg, model_seeds([M], "init", seed=0), device="cpu", dtype=torch.float32)
    s = sample_sequences(B, cfg.K, sigma2, D=cfg.D, seed=3)
    with torch.no_grad():
        f_ours = forward(P, to_tokens(s.xs, s.ys)[None].float(), cfg.n_head)[0, :, 0::2].numpy()
    f_ref = np.asarray(ref.forward(ref.from_ours({k: v.numpy() for k, v in P.items()}),
                                   jnp.asarray(s.xs.numpy(), jnp.float32),
                                   jnp.asarray(s.ys.numpy(), jnp.float32), cfg.n_head))
    rel = np.abs(f_ours - f_ref).max() / np.abs(f_ref).max()
    shares, mm_s = _profile_shares(ours)
    d, L, T = cfg.n_embd, cfg.n_layer, cfg.T
    mm_flops = N * 6 * (L * 12 * d * d + (cfg.D + 1) * d + d) * B * T
    split = ", ".join(f"{k} {100 * v:.0f} %" for k, v in shares.items())
    out.append(PerfRow(
        work=f"ICL transformer training, official small model (4 layers, d 64, 2 heads, batch {B}, "
             f"D = 8, K = 16), one model, {N} steps (s per step)",
        ours_s=t_o / N, ref_s=t_r / N, dtype="float32", flops=_flops(cfg, B), target=2.5,
        reference="official GPT-2 model + Adam step, re-implemented in plain JAX 0.10.2 "
                  "(benchmarks/reference/icl_jax_model.py)",
        agreement=f"forward of the same weights: max rel. diff {rel:.1e}",
        limit=f"the step's time (torch.profiler, this run): {split}; the matmuls run at "
              f"{mm_flops / mm_s / 1e9:.0f} GFLOP/s (this run's 512² rate: "
              f"{rates.matmul['float32'] / 1e9:.0f}), so they alone take "
              f"{mm_s / N * 1e3:.0f} ms of a step that the target wants in "
              f"{t_r / N / 2.5 * 1e3:.0f}; torch.compile (inductor, measured once on this "
              f"machine's kind) gained 8 % on forward and backward"))

    # ---- row 6: six-model sweep, batched vs one after another
    S = paper_settings()
    cfg6, Ms = S["config"], S["Ms"]
    N6 = 10 if quick else 100
    kw6 = dict(sigma2=S["sigma2"], batch_size=S["batch_size"], lr=S["lr"], progress=False,
               device="cpu", seed=0, pool_seed=1, record_every=max(1, N6 // 5))
    res = {}

    def batched():
        res["b"] = train_sweep(Ms, cfg6, steps=N6, **kw6)

    def one_by_one():
        res["s"] = [train_sweep([m], cfg6, steps=N6, **kw6) for m in Ms]

    t_b, t_s = paired(batched, one_by_one, repeat=2 if quick else 3, min_time=0.0)
    lb = res["b"]["train_loss"]
    ls = np.stack([r["train_loss"][0] for r in res["s"]])
    diff = np.abs(lb - ls).max() / np.abs(ls).max()
    G, B6 = len(Ms), S["batch_size"]
    shares6, _ = _profile_shares(lambda: train_sweep(Ms, cfg6, steps=max(2, N6 // 10), **kw6))
    split6 = ", ".join(f"{k} {100 * v:.0f} %" for k, v in shares6.items())
    out.append(PerfRow(
        work=f"the notebook's six-model M sweep ({cfg6.n_layer} layers, d {cfg6.n_embd}, D = "
             f"{cfg6.D}, K = {cfg6.K}, batch {B6}), {N6} steps, batched",
        ours_s=t_b, ref_s=t_s, dtype="float32", flops=G * N6 * _flops(cfg6, B6), target=1.0,
        reference="the same six models trained one after another (train_sweep with one model)",
        agreement=f"recorded losses: max rel. diff {diff:.1e}",
        limit=f"per model, a step costs about the same batched or alone ({t_s / G / N6 * 1e3:.1f} "
              f"ms alone, {t_b / G / N6 * 1e3:.1f} batched): the batched step's time "
              f"(torch.profiler, this run) is {split6}: the kernels' work, which batching does "
              f"not reduce, not the per-call overhead it removes"))
    return out
