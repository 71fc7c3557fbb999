"""The embodied Turing test's judges: permutation tests batched over permutations against a loop.

Rows (THEORY_THREADS torch threads, CPU, float64), on the real rat's two halves (Sargolini, 4-s
windows, 74 per side) against the speed-matched Brownian walker:
- the classifier on features (logistic regression, 25 Newton steps): the observed fit and P = 200
  refits on permuted labels as one batched Newton solve, against a loop of 201 one-fit calls
  (``perm_batch=1``), measured side by side in one run;
- the network on raw windows (the 1-D conv judge, 100 Adam steps): 1 + 40 networks trained as one
  batch against a loop of 41;
- kernel MMD² (RBF, median bandwidth): 1 + 2000 relabellings as one matrix product against a loop;
- for each: whether batched and looped agree (the same AUCs and p-values; for MMD the largest
  difference of the statistics).

    python benchmarks/bench_embodied.py
"""

from __future__ import annotations

import numpy as np

from theory.core import set_threads
from theory.embodied import candidates as C
from theory.embodied import data as D
from theory.embodied import judges as J
from _timing import timed


def run() -> list[tuple[str, str]]:
    set_threads(None)
    rat = D.load_real("sargolini")
    _, living = D.split_halves(rat)
    walker = C.brownian(300.0, rat.arena, float(living.speeds().mean()), 0)
    wa, wb = D.windows(walker, 4.0), D.windows(living, 4.0)
    rows = []
    cases = [("classifier on features (logistic regression, 25 Newton steps)", "features", 200, 3),
             ("network on raw velocity windows (1-D conv, 100 Adam steps)", "network", 40, 1),
             ("kernel MMD² (RBF, median bandwidth)", "mmd", 2000, 3)]
    for label, judge, P, rep in cases:
        kw = dict(judge=judge, arena=rat.arena, n_permutations=P, seed=0)
        J.judge_test(wa[:10], wb[:10], **{**kw, "n_permutations": 3})   # warm-up
        t_b, batched = timed(lambda: J.judge_test(wa, wb, **kw), repeat=rep)
        t_l, looped = timed(lambda: J.judge_test(wa, wb, perm_batch=1, **kw), repeat=rep)
        if judge == "mmd":
            agree = (f"largest |Δ MMD²| {np.abs(np.r_[batched.statistic, batched.null] - np.r_[looped.statistic, looped.null]).max():.1e}, "
                     f"p equal: {batched.p_value == looped.p_value}")
        else:
            same = batched.statistic == looped.statistic and np.array_equal(batched.null, looped.null)
            agree = f"AUCs and p identical: {same} (AUC {batched.statistic:.3f}, p {batched.p_value:.3g})"
        rows.append((f"{label}: 1 + {P} permutation refits, {len(wa)} + {len(wb)} windows, batched | loop",
                     f"{t_b:.3f} s | {t_l:.3f} s: batching {t_l / t_b:.1f}× faster; {agree}"))
    return rows


if __name__ == "__main__":
    for name, value in run():
        print(f"{name}: {value}")
