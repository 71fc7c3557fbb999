"""Quasi-homogeneous networks, neural collapse: the batched (norm × seed) trainer against a loop.

Rows (THEORY_THREADS torch threads, float64 so that the two can be compared closely, CPU):
- 2 norms × 4 seeds of the digits MLP 64→128→128→N→10 (theory.quasi_homogeneous.collapse,
  full batch of 500, loss-normalised GD), trained as one program on theory.core.train_batched,
  against the same 8 configurations one at a time (a Python loop of single-configuration runs,
  same code, same steps: the same total work): both wall times and the ratio, in one run;
- that the two give the same networks: the largest relative difference of the last-layer weights
  between the batched and the looped runs after 10 steps (asserted below 1e-10) and after 300
  (reported: last-bit differences between a batched and a single matrix product grow along the
  trajectory);
- the notebook's two training calls (book/quasi_homogeneous/neural_collapse.ipynb) at the active
  scale, their wall time.
"""

from __future__ import annotations

import time

import numpy as np

from theory.core import get_scale, set_threads
from theory.quasi_homogeneous import collapse as nc
from _timing import timed

STEPS = 300
SHORT = 10  # rounding differences (1e-16) are amplified by the dynamics over longer runs


def run(notebook: bool = True) -> list[tuple[str, str]]:
    """The rows; ``notebook=False`` leaves out the notebook's own training calls (minutes)."""
    set_threads(None)
    data = nc.load_data("digits")
    setup = nc.CollapseSetup(seeds=(0, 1, 2, 3), steps=STEPS, n_records=2, dtype="float64")
    nc.train_collapse(data, nc.CollapseSetup(seeds=(0,), steps=5, n_records=2), progress=False)  # warm-up
    t_b, batched = timed(lambda: nc.train_collapse(data, setup, progress=False))
    loop = [(n, s) for n in setup.norms for s in setup.seeds]

    def looped():
        return [nc.train_collapse(data, nc.CollapseSetup(seeds=(s,), norms=(n,), steps=STEPS,
                                                         n_records=2, dtype="float64"),
                                  progress=False)
                for n, s in loop]

    t_l, singles = timed(looped)
    G = len(loop)

    def gap(b, ls):
        w_b, w_l = b.params["W3"], np.concatenate([r.params["W3"] for r in ls])
        return float(np.abs(w_b - w_l).max() / np.abs(w_b).max())

    short = dict(steps=SHORT, n_records=2, dtype="float64")
    b10 = nc.train_collapse(data, nc.CollapseSetup(seeds=setup.seeds, **short), progress=False)
    l10 = [nc.train_collapse(data, nc.CollapseSetup(seeds=(s,), norms=(n,), **short), progress=False)
           for n, s in loop]
    d_short, d_long = gap(b10, l10), gap(batched, singles)
    rows = [(f"digits, {G} networks (2 norms × 4 seeds) × {STEPS} steps, batched | looped",
             f"{t_b:.2f} s | {t_l:.2f} s: batching {t_l / t_b:.1f}× faster"),
            (f"batched vs looped, max relative difference of the final W3 after {SHORT} | {STEPS} steps",
             f"{d_short:.1e} | {d_long:.1e}")]
    if not d_short < 1e-10:
        raise AssertionError(f"batched and looped runs disagree after {SHORT} steps: {d_short:.2e}")
    if not notebook:
        return rows
    setup = nc.CollapseSetup.at_scale()
    t0 = time.perf_counter()
    for name in nc.DATASETS:
        nc.train_collapse(nc.load_data(name, per_class=setup.per_class), setup, progress=False)
    rows.append((f"neural_collapse.ipynb training calls ({get_scale()} scale, "
                 f"{2 * len(setup.norms) * len(setup.seeds)} networks)", f"{time.perf_counter() - t0:.1f} s"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
