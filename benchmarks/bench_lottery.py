"""Lottery tickets, IMP with rewinding: the sweep's wall time and the batching speed-up.

Rows (THEORY_THREADS torch threads, CPU, float32 as the chapter trains IMP):
- the IMP page's sweep (book/lottery/imp.ipynb: run_imp over 2 methods × 2 rewind steps × the
  seeds, then run_one_shot) at the active scale, its wall time;
- 8 configurations (magnitude/random × rewind 0/20 × 2 seeds) of the digits MLP 64–32–32–10,
  400 steps, 5 levels: one batched run_imp against a Python loop of 8 one-configuration run_imp
  calls, measured side by side in one run. The loop also repeats each seed's dense run once per
  configuration (8 dense runs instead of 2), as a loop of one-configuration runs does;
- the same work exactly: one level's masked retraining of the 8 configurations (train_masked),
  batched against a loop of 8 single-configuration calls;
- whether the batched and looped runs agree: the largest difference of the test errors (points),
  reported (float32 batched and single matrix products differ in the last bits, and SGD
  could amplify that over 400 steps; on this machine they agreed exactly).
"""

from __future__ import annotations

import time

import numpy as np

from theory.core import config_seed, get_scale, scaled, set_threads
from theory.lottery import MLP, IMPSettings, load_split, magnitude_prune, n_kept, run_imp, run_one_shot, train_masked
from _timing import timed


def run(notebook: bool = True) -> list[tuple[str, str]]:
    """The rows; ``notebook=False`` leaves out the notebook's own sweep."""
    set_threads(None)
    split = load_split("digits")
    net = MLP((64, 32, 32, 10))
    st = IMPSettings(steps=400, lr=0.05, batch_size=32, levels=5)
    seeds, rewinds, methods = (0, 1), (0, 20), ("magnitude", "random")
    run_imp(net, split, IMPSettings(steps=5, lr=0.05, batch_size=32, levels=1), seeds=(0,),
            rewind_steps=(0,), progress=False)  # warm-up
    t_b, batched = timed(lambda: run_imp(net, split, st, seeds=seeds, rewind_steps=rewinds,
                                         methods=methods, progress=False))
    loop = [(m, k, s) for m in methods for k in rewinds for s in seeds]   # the sweep's C order

    def looped():
        return [run_imp(net, split, st, seeds=(s,), rewind_steps=(k,), methods=(m,), progress=False)
                for m, k, s in loop]

    t_l, singles = timed(looped)
    G = len(loop)
    err_l = np.concatenate([r.test_error for r in singles])
    gap = 100 * float(np.abs(batched.test_error - err_l).max())
    dense_gap = 100 * float(np.abs(batched.test_error[:, 0] - err_l[:, 0]).max())

    # one level's retraining, same work both ways
    D, T = net.n_weights, st.steps
    r_col = batched.sweep.column("rewind").astype(np.int64)
    s_col = batched.sweep.column("seed").astype(np.int64)
    data = np.array([config_seed("lottery", "data", int(s)) for s in s_col])
    mask = magnitude_prune(batched.theta[:, 0, :D], batched.masks[:, 0], n_kept(D, st.alpha, 1))
    kw = dict(lr=st.lr, batch_size=st.batch_size, momentum=st.momentum)
    t_lb, _ = timed(lambda: train_masked(net, batched.rewind_theta, mask, split, data_seeds=data,
                                         start=r_col, n_steps=T - r_col, **kw))
    t_ll, _ = timed(lambda: [train_masked(net, batched.rewind_theta[g:g + 1], mask[g:g + 1], split,
                                          data_seeds=data[g:g + 1], start=int(r_col[g]),
                                          n_steps=int(T - r_col[g]), **kw) for g in range(G)])
    rows = [(f"IMP, digits MLP 64–32–32–10, {G} configurations (2 methods × 2 rewinds × 2 seeds) × "
             f"{st.levels} levels × {T} steps, batched | loop of one-configuration runs",
             f"{t_b:.2f} s | {t_l:.2f} s: batching {t_l / t_b:.1f}× faster"),
            (f"one level's masked retraining of the {G} configurations, batched | looped (same work)",
             f"{t_lb:.2f} s | {t_ll:.2f} s: batching {t_ll / t_lb:.1f}× faster"),
            ("batched vs looped, largest test-error difference, dense | all levels (points, float32)",
             f"{dense_gap:.2f} | {gap:.2f}")]
    if not notebook:
        return rows
    net = MLP(scaled((64, 32, 32, 10), (64, 128, 128, 10)))
    st = IMPSettings(steps=scaled(400, 800), lr=0.05, batch_size=32, levels=scaled(14, 20))
    seeds = tuple(range(scaled(4, 8)))
    t0 = time.perf_counter()
    imp = run_imp(net, split, st, seeds=seeds, rewind_steps=rewinds, progress=False)
    t1 = time.perf_counter()
    one = run_one_shot(net, split, st, seeds=seeds, rewind_steps=rewinds, progress=False)
    t2 = time.perf_counter()
    rows.append((f"imp.ipynb sweep ({get_scale()} scale): run_imp {len(imp.sweep)} configurations × "
                 f"{st.levels} levels | run_one_shot {len(one.sweep)} × {st.levels} levels in one batch",
                 f"{t1 - t0:.1f} s | {t2 - t1:.1f} s"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
