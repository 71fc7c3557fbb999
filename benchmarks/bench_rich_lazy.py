"""Chapter 1 (rich/lazy single neuron): the closed form against solve_ivp, and batched descent.

Rows (all float64, one process, THEORY_THREADS torch threads):
- a 10⁴-point trajectory: closed form vs ``solve_ivp`` (Radau and DOP853, rtol 1e-10,
  atol 1e-12), best of 3 each, the time ratio and the largest relative difference;
- a batch of 1 000 closed-form trajectories of 10⁴ points each;
- gradient descent batched over 56 runs (7 δ × 8 seeds) against a loop of single runs.
"""

from __future__ import annotations

import numpy as np

from theory.core import set_threads
from theory.rich_lazy import (gradient_descent, gradient_flow_ode, init_from_beta,
                              whitened_trajectory)
from _timing import timed


def _best(fn, repeat=3):
    """Best of three by default: these calls take milliseconds."""
    return timed(fn, repeat)


def run() -> list[tuple[str, str]]:
    set_threads(None)
    rows = []
    X, y = np.eye(2), np.array([0.0, 1.0])
    t = np.linspace(0.0, 20.0, 10_000)
    a0, w0 = init_from_beta(np.array([1.0, 0.0]), -2.0)
    t_cf, cf = _best(lambda: whitened_trajectory(t, X, y, a0, w0))
    q_cf = np.concatenate([cf.a[:, None], cf.w], axis=1)
    rows.append(("closed form, 10⁴-point trajectory (δ = −2)", f"{t_cf * 1e3:.2f} ms"))
    for method in ("Radau", "DOP853"):
        t_ode, ode = _best(lambda: gradient_flow_ode(t, X, y, a0, w0, rtol=1e-10, atol=1e-12,
                                                     method=method))
        q_ode = np.concatenate([ode.a[:, None], ode.w], axis=1)
        rel = np.max(np.linalg.norm(q_cf - q_ode, axis=1) / np.linalg.norm(q_ode, axis=1))
        rows.append((f"solve_ivp {method}, rtol 1e-10, same trajectory",
                     f"{t_ode * 1e3:.1f} ms: closed form {t_ode / t_cf:.0f}× faster, "
                     f"largest relative difference {rel:.1e}"))

    rng = np.random.default_rng(0)
    B = 1000
    beta0 = rng.normal(size=(B, 2))
    deltas = rng.uniform(-4, 4, size=B)
    a0b, w0b = init_from_beta(beta0, deltas)
    t_b, _ = _best(lambda: whitened_trajectory(t, X, y, a0b, w0b), repeat=1)
    rows.append((f"closed form, {B} trajectories × 10⁴ points", f"{t_b:.2f} s "
                 f"({t_b / B * 1e3:.2f} ms per trajectory)"))

    dd = np.repeat([-4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0], 8)
    a0g, w0g = init_from_beta(rng.normal(size=(dd.size, 2)), dd)
    steps = 5000
    t_batch, _ = _best(lambda: gradient_descent(X, y, a0g, w0g, dt=1e-3, steps=steps,
                                                record_every=steps), repeat=1)
    t_loop, _ = _best(lambda: [gradient_descent(X, y, a0g[i], w0g[i], dt=1e-3, steps=steps,
                                                record_every=steps) for i in range(dd.size)],
                      repeat=1)
    rows.append((f"gradient descent, {dd.size} runs × {steps} steps, batched",
                 f"{t_batch:.2f} s ({dd.size * steps / t_batch:,.0f} run-steps/s)"))
    rows.append((f"gradient descent, the same {dd.size} runs one by one",
                 f"{t_loop:.2f} s: batching {t_loop / t_batch:.0f}× faster"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
