"""Transformer signal propagation: seconds per phase-diagram point, batched vs looped.

On one CPU thread at width 512 the work is matrix products, QR factorisations and random
numbers, so batching configurations buys little; it pays where per-call overhead dominates
(small width) and on a GPU, where one batched call fills the device.

Rows (float64, one process, THEORY_THREADS torch threads; n = 8 tokens):
- theory: closed-form λ_a and λ_g on a 200 × 200 grid; one block of the map (attention by
  Monte Carlo over 4000 logit matrices) per point;
- measured λ_a (one block from ρ₀ = 0.99, 16 seeds a point), projected weights, at d = 512
  and d = 64: 64 configurations batched together against the same 64 one at a time;
- the same with full d × d weights (8 configurations, 4 seeds a point);
- measured λ_g by autograd (d = 256, L = 16, 1 seed a point, full weights): 16 configurations
  batched against looped;
- training (float32, the trainability notebook's laptop networks: depth 16, width 32, batch 32):
  20 Adam steps of 9 configurations in one batch on ``theory.core.train_batched`` against the
  same 9 one at a time.
"""

from __future__ import annotations

import numpy as np

from theory.core import Sweep, set_threads
from theory.transformer_signal import (angle_exponent, block_map, collapsed_fixed_point,
                                       gradient_exponent, measure_angle_exponent,
                                       measure_gradient_exponent, train_transformers)
from _timing import seconds


def _grid(k):
    am, sw = np.meshgrid(np.linspace(0.0, 1.0, k), np.linspace(0.25, 6.0, k), indexing="ij")
    return am.ravel(), sw.ravel()


def run() -> list[tuple[str, str]]:
    set_threads(None)
    rows = []
    am, sw = _grid(200)
    t = seconds(lambda: (angle_exponent(0.3, am, sw), gradient_exponent(0.3, am, sw)), repeat=3)
    rows.append(("theory: closed-form λ_a and λ_g, 200 × 200 grid",
                 f"{t * 1e3:.1f} ms ({t / am.size * 1e6:.2f} µs per point)"))
    am_s, sw_s = _grid(4)
    q, _ = collapsed_fixed_point(0.3, am_s, sw_s)
    t = seconds(lambda: block_map(q, 0.99 * q, alpha_A=0.3, alpha_M=am_s, sigma_w=sw_s, sigma_A=1.0, n=8))
    rows.append(("theory: one block of the map (MC attention, 4000 samples)",
                 f"{t / am_s.size * 1e3:.1f} ms per point"))

    am8, sw8 = _grid(8)
    q8, _ = collapsed_fixed_point(0.3, am8, sw8)
    per_seed = {}
    for d, chunk in ((512, 64), (512, 1024), (64, 1024)):
        kw = dict(n=8, d=d, seeds=16, method="projected")
        t_b = seconds(lambda: measure_angle_exponent(0.3, am8, sw8, 1.0, q0=q8, chunk=chunk, **kw))
        t_l = seconds(lambda: [measure_angle_exponent(0.3, am8[i], sw8[i], 1.0, q0=q8[i], **kw)
                             for i in range(am8.size)])
        per_seed.setdefault(d, t_b / am8.size / 16)
        rows.append((f"measured λ_a, projected weights, d = {d}, {am8.size} points × 16 seeds, "
                     f"batched in chunks of {chunk} slices",
                     f"{t_b:.2f} s ({t_b / am8.size * 1e3:.1f} ms per point)"))
        rows.append(("the same, one configuration (16 seeds) at a time",
                     f"{t_l:.2f} s ({t_l / am8.size * 1e3:.1f} ms per point): batching "
                     f"{t_l / t_b:.1f}× faster"))

    sel = slice(0, 64, 8)
    kw = dict(n=8, d=512, seeds=4, method="full")
    t_b = seconds(lambda: measure_angle_exponent(0.3, am8[sel], sw8[sel], 1.0, q0=q8[sel], chunk=32, **kw))
    t_l = seconds(lambda: [measure_angle_exponent(0.3, a, s, 1.0, q0=qq, **kw)
                         for a, s, qq in zip(am8[sel], sw8[sel], q8[sel])])
    rows.append(("measured λ_a, full 512 × 512 weights, 8 points × 4 seeds, batched",
                 f"{t_b:.2f} s ({t_b / 8:.2f} s per point)"))
    rows.append(("the same, one configuration at a time",
                 f"{t_l:.2f} s: batching {t_l / t_b:.1f}× faster"))
    rows.append(("projected against full weights, per (point, seed), d = 512",
                 f"{per_seed[512] * 1e3:.2f} ms against {t_b / 32 * 1e3:.1f} ms: "
                 f"{t_b / 32 / per_seed[512]:.0f}× faster"))

    sel = slice(0, 64, 4)
    kw = dict(n=8, d=256, depth=16, seeds=1)
    t_b = seconds(lambda: measure_gradient_exponent(0.3, am8[sel], sw8[sel], 1.0, q0=q8[sel], chunk=16, **kw))
    t_l = seconds(lambda: [measure_gradient_exponent(0.3, a, s, 1.0, q0=qq, **kw)
                         for a, s, qq in zip(am8[sel], sw8[sel], q8[sel])])
    rows.append(("measured λ_g (autograd, d = 256, L = 16), 16 points, batched",
                 f"{t_b:.2f} s ({t_b / 16:.2f} s per point)"))
    rows.append(("the same, one configuration at a time",
                 f"{t_l:.2f} s: batching {t_l / t_b:.1f}× faster"))

    grid = dict(alpha_M=[0.2, 0.6, 0.95], sigma_w=[0.5, 2.0, 5.0])
    kw = dict(alpha_A=0.3, sigma_A=1.0, seed=100, n=8, d=32, depth=16, vocab=4, steps=20, batch=32,
              lr=3e-3, test_batch=256)
    t_b = seconds(lambda: train_transformers(Sweep(**grid), **kw))
    t_l = seconds(lambda: [train_transformers(Sweep(alpha_M=[a], sigma_w=[s]), **kw)
                           for a in grid["alpha_M"] for s in grid["sigma_w"]])
    rows.append(("training: 20 Adam steps, 9 transformers (depth 16, width 32) in one batch",
                 f"{t_b:.2f} s ({t_b / 20 * 1e3:.0f} ms per step)"))
    rows.append(("the same, one transformer at a time",
                 f"{t_l:.2f} s: batching {t_l / t_b:.1f}× faster"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
