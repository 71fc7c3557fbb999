"""Chapter 1, two-layer ReLU phase diagram (Fig. 1b set-up): batched training against a loop.

Rows (float64, one process, THEORY_THREADS torch threads):
- the notebook's phase diagram: 7 τ × 7 δ × 2 seeds = 98 students (d = 20, n = 100, m = 50),
  4 000 steps, trained as one tensor program: wall time and student-steps per second;
- the same 98 students for 300 steps, batched and one at a time (a Python loop of separate
  trainings): both times and the speed-up.
"""

from __future__ import annotations

import time

import numpy as np

from theory.core import set_threads
from theory.rich_lazy.two_layer import relu_descent, relu_student_init, teacher_student


def _grid(n_tau=7, n_seed=2, d=20, n=100, m=50):
    taus, deltas = np.logspace(-1, 0.3, n_tau), np.linspace(-1, 1, n_tau)
    ts = teacher_student(d, n, np.arange(n_seed), n_test=1000)
    TT, DD = np.meshgrid(taus, deltas, indexing="ij")
    G = TT.size
    a0, W0 = relu_student_init(np.tile(TT.ravel(), n_seed), np.tile(DD.ravel(), n_seed), m, d,
                               np.repeat(np.arange(n_seed), G))
    lr = np.broadcast_to(0.01 / TT.ravel() ** 2, (n_seed, G))
    return ts, a0.reshape(n_seed, G, m), W0.reshape(n_seed, G, m, d), lr


def run() -> list[tuple[str, str]]:
    set_threads(None)
    ts, a0, W0, lr = _grid()
    S, G = a0.shape[:2]
    B = S * G
    rows = []
    steps = 4000
    t0 = time.perf_counter()
    out = relu_descent(ts.X, ts.y, a0, W0, lr=lr, steps=steps, record=[0, steps],
                       X_test=ts.X_test, y_test=ts.y_test, keep_weights=False)
    t_full = time.perf_counter() - t0
    assert np.all(np.isfinite(out["kernel_distance"]))
    rows.append((f"phase diagram, {B} students × {steps} steps, one batch (notebook set-up)",
                 f"{t_full:.1f} s ({B * steps / t_full:,.0f} student-steps/s)"))

    short = 300
    t0 = time.perf_counter()
    batched = relu_descent(ts.X, ts.y, a0, W0, lr=lr, steps=short, keep_weights=False)
    t_batch = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop = np.empty((S, G))
    for s in range(S):
        for g in range(G):
            one = relu_descent(ts.X[s], ts.y[s], a0[s, g][None], W0[s, g][None], lr=lr[s, g],
                               steps=short, keep_weights=False)
            loop[s, g] = one["train_loss"][0, -1]
    t_loop = time.perf_counter() - t0
    diff = np.max(np.abs(loop - batched["train_loss"][:, -1].reshape(S, G)))
    rows.append((f"the same {B} students × {short} steps, batched", f"{t_batch:.2f} s"))
    rows.append((f"the same {B} students × {short} steps, one at a time",
                 f"{t_loop:.2f} s: batching {t_loop / t_batch:.1f}× faster "
                 f"(largest loss difference {diff:.1e})"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
