"""In-context regression (theory.icl_regression): the batched sweep trainer and the exact dMMSE.

Rows (THEORY_THREADS torch threads, float32 training, float64 estimators, on
theory.core.default_device()):
- the notebook's sweep (D = 2, K = 8, 2 layers × 32, batch 128, M ∈ {2, 4, 8, 16, 32, ∞}) for
  200 steps as one batched program: training steps per second and model-steps per second;
- the same six models trained one after another (the same code with one model each): the
  speed-up of batching;
- the same comparison for eight models (M = 2⁰ … 2⁶ and ∞), at the notebook's batch and at batch 8 (where
  a single model leaves the core idle between small kernels and batching gains most);
- dMMSE for a pool of 2¹⁶ tasks at the paper's D = 8, K = 16 on 256 sequences;
- the training call of book/icl_regression/task_diversity.ipynb at the active scale.
"""

from __future__ import annotations

import math

from theory.core import get_scale, set_threads
from theory.icl_regression import dmmse_predict, sample_pool, sample_sequences, train_sweep
from theory.icl_regression.paper_run import paper_settings
from _timing import timed


def _sweep_rows(Ms, cfg, kw, steps) -> list[tuple[str, str]]:
    G = len(Ms)
    t_b, _ = timed(lambda: train_sweep(Ms, cfg, steps=steps, **kw))
    t_s, _ = timed(lambda: [train_sweep([M], cfg, steps=steps, **kw) for M in Ms])
    names = ", ".join("∞" if math.isinf(M) else str(M) for M in Ms)
    return [(f"{G} models (M = {names}), {steps} steps, batched",
             f"{steps / t_b:.1f} steps/s, {G * steps / t_b:.0f} model-steps/s"),
            (f"the same {G} models one after another",
             f"{G * steps / t_s:.0f} model-steps/s: batching {t_s / t_b:.2f}× faster")]


def run() -> list[tuple[str, str]]:
    set_threads(None)
    S = paper_settings()
    cfg = S["config"]
    kw = dict(sigma2=S["sigma2"], batch_size=S["batch_size"], lr=S["lr"], progress=False)
    train_sweep([2], cfg, steps=5, **kw)                                    # warm-up
    steps = 200
    rows = _sweep_rows(S["Ms"], cfg, kw, steps)
    rows += _sweep_rows([2**k for k in range(7)] + [math.inf], cfg, kw, steps)
    small = kw | {"batch_size": 8}
    rows += [(f"batch 8: {name}", value) for name, value in
             _sweep_rows([2**k for k in range(7)] + [math.inf], cfg, small, steps)]

    pool = sample_pool(2**16, 8, seed=0)
    seqs = sample_sequences(256, 16, 0.25, pool=pool, seed=1)
    t_d, _ = timed(lambda: dmmse_predict(seqs.xs, seqs.ys, pool, 0.25))
    rows.append(("dMMSE, M = 2¹⁶, D = 8, K = 16, 256 sequences (all 16 context lengths)",
                 f"{t_d:.2f} s, {256 * 15 * 2**16 / t_d / 1e6:.0f} M log-weights/s"))

    t_nb, _ = timed(lambda: train_sweep(S["Ms"], cfg, steps=S["steps"], seed=0, pool_seed=1,
                                            **kw))
    rows.append((f"task_diversity.ipynb training call ({get_scale()} scale, {len(S['Ms'])} models "
                 f"× {S['steps']} steps)", f"{t_nb:.1f} s"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
