"""Stochastic collapse, deep networks: the batched digits-MLP trainer (stochastic_collapse.deep).

Rows (THEORY_THREADS torch threads, float32, on theory.core.default_device()):
- 32 configurations (4 learning rates × 8 seeds, batch 32, MLP 64→64→64→10, 1000 SGD steps)
  trained as one tensor program (theory.core.train_batched): seconds per configuration-step;
- 8 of the same configurations one at a time (a Python loop of single-configuration runs, same
  code, C = 1): seconds per configuration-step, and the speed-up of batching;
- 4 batch sizes (16–128) × 4 seeds: one program per batch size (the default) against a single
  program masked to the largest batch;
- the training calls of book/stochastic_collapse/deep_networks.ipynb at the active scale
  (theory.stochastic_collapse.deep_experiments, the notebook's own calls), their wall time.
"""

from __future__ import annotations

import time

import numpy as np

from theory.core import get_scale, set_threads
from theory.stochastic_collapse import deep_experiments as dx
from theory.stochastic_collapse.deep import load_digits_data, train_mlp
from _timing import timed


def notebook_experiments(data) -> tuple[float, int]:
    """The notebook's training calls (its sweeps and the two-phase schedule): seconds, networks."""
    setup = dx.DeepSetup.at_scale()
    t0 = time.perf_counter()
    runs = list(dx.collapse_sweeps(data, setup).values()) + [dx.two_phase(data, setup)]
    return time.perf_counter() - t0, sum(r.n_configs for r in runs)


def run() -> list[tuple[str, str]]:
    set_threads(None)
    data = load_digits_data()
    rows = []
    steps = 1000
    lrs, seeds = np.repeat([0.05, 0.1, 0.2, 0.5], 8), np.tile(np.arange(8), 4)
    kw = dict(batch_size=32, weight_decay=5e-3, steps=steps, progress=False)
    train_mlp(data, lr=0.1, seed=0, **(kw | {"steps": 10}))          # warm-up
    t_b, _ = timed(lambda: train_mlp(data, lr=lrs, seed=seeds, **kw))
    n_loop = 8
    t_l, _ = timed(lambda: [train_mlp(data, lr=lrs[i], seed=seeds[i], **kw)
                             for i in range(0, lrs.size, lrs.size // n_loop)])
    per_b = t_b / (lrs.size * steps)
    per_l = t_l / (n_loop * steps)
    rows.append((f"digits MLP, {lrs.size} configurations × {steps} steps (B = 32), batched",
                 f"{t_b:.2f} s, {per_b * 1e6:.0f} µs per configuration-step"))
    rows.append((f"the same, {n_loop} of them one at a time",
                 f"{per_l * 1e6:.0f} µs per configuration-step: batching "
                 f"{per_l / per_b:.1f}× faster"))

    bs, seeds = np.repeat([16, 32, 64, 128], 4), np.tile(np.arange(4), 4)
    kw = dict(lr=0.2, weight_decay=5e-3, steps=steps, progress=False)
    t_g, _ = timed(lambda: train_mlp(data, batch_size=bs, seed=seeds, **kw))
    t_m, _ = timed(lambda: train_mlp(data, batch_size=bs, seed=seeds, group_batches=False, **kw))
    rows.append((f"batch sizes 16–128 × 4 seeds, {steps} steps: one program per batch size",
                 f"{t_g:.2f} s; one masked program: {t_m:.2f} s ({t_m / t_g:.1f}× the time)"))

    t_nb, n_nb = notebook_experiments(data)
    rows.append((f"deep_networks.ipynb training calls ({get_scale()} scale, {n_nb} networks)",
                 f"{t_nb:.1f} s"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
