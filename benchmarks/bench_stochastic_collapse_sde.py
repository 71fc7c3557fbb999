"""Stochastic collapse, the exact part: path-steps per second of the batched simulators, and the
speed-up over simulating the same paths one at a time (a Python loop over paths).

Rows: the quartic well (Euler–Maruyama, 12 noise levels × 2000 paths, 2000 steps), label-noise
SGD on a teacher–student (5 σ × 32 seeds × 32 modes, 2000 steps), and the tanh neuron's SDE
(12 η × 100 paths × 32 samples, 1000 steps). The per-path loop runs a small subset of the same
paths through the same code with a batch of one and is scaled up to the full count.
"""

from __future__ import annotations

import numpy as np

from theory.core import set_threads
from theory.stochastic_collapse import label_noise_sgd, simulate_prototype, tanh_neuron_sde
from _timing import seconds


def run() -> list[tuple[str, str]]:
    set_threads(None)
    rows = []
    zetas, P, steps = np.linspace(0.5, 3.0, 12), 2000, 2000
    t_b = seconds(lambda: simulate_prototype(1.5, zetas, n_paths=P, T=5.0, steps=steps, theta0=1.0,
                                            record_every=steps))
    n_loop = 20
    t_l = seconds(lambda: [simulate_prototype(1.5, [z], n_paths=1, T=5.0, steps=steps, theta0=1.0,
                                             record_every=steps) for z in zetas[:n_loop]])
    total = zetas.size * P * steps
    per_path_loop = t_l / min(n_loop, zetas.size) / steps      # seconds per path-step, one path at a time
    rows.append((f"quartic well, {zetas.size}×{P} paths × {steps} steps, batched",
                 f"{t_b:.2f} s, {total / t_b / 1e6:.1f} M path-steps/s; per-path loop "
                 f"{1 / per_path_loop / 1e3:.1f} k path-steps/s: batching {total / t_b * per_path_loop:.0f}× faster"))

    s_target = np.linspace(-0.5, 1.0, 32)
    sig = np.array([0.0, 2.0, 4.0, 6.0, 8.0])
    t_b = seconds(lambda: label_noise_sgd(s_target, 0.01, sig, steps=steps, n_seeds=32, record_every=steps))
    t_l = seconds(lambda: label_noise_sgd(s_target[:1], 0.01, sig[:1], steps=steps, n_seeds=1,
                                         record_every=steps))
    total = sig.size * 32 * 32 * steps
    rows.append((f"label-noise SGD, 5 σ × 32 seeds × 32 modes × {steps} steps, batched",
                 f"{t_b:.2f} s, {total / t_b / 1e6:.1f} M mode-steps/s: batching "
                 f"{t_l * sig.size * 32 * 32 / t_b:.0f}× faster than one mode at a time"))

    rng = np.random.default_rng(0)
    x = rng.normal(size=32)
    y = x + 0.1 * rng.normal(size=32)
    etas = np.linspace(0.5, 4.0, 12)
    t_b = seconds(lambda: tanh_neuron_sde(x, y, etas, zeta=1.0, n_paths=100, T=10.0, dt=0.01,
                                         record_every=1000))
    t_l = seconds(lambda: tanh_neuron_sde(x, y, etas[:1], zeta=1.0, n_paths=1, T=10.0, dt=0.01,
                                         record_every=1000))
    total = etas.size * 100 * 1000
    rows.append(("tanh neuron SDE, 12 η × 100 paths × 1000 steps, batched",
                 f"{t_b:.2f} s, {total / t_b / 1e3:.0f} k path-steps/s: batching "
                 f"{t_l * etas.size * 100 / t_b:.0f}× faster than one path at a time"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
