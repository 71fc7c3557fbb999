"""HELM in miniature: requests per second per model, and where an evaluation's time goes.

Rows (THEORY_THREADS torch threads, CPU), all measured in one run on one small grid — every
default model (theory.helm.models.default_models) on every core scenario cut to its first
``n_test`` test instances (default 10), under the default adaptations, identity plus every
robustness and fairness perturbation that changes an input:

- per model, cold (an empty temporary store, so every request reaches the model): requests,
  seconds inside ``Model.predict``, requests per second, and the seconds of ``Model.fit``
  (training a classifier; a language model's one-time load is timed apart, on one request of
  its own before the grid, and reported in its row);
- the share of the evaluation's time spent in model calls (fit + predict) against metric code
  (``theory.helm.metrics.summarize`` over every run) and the rest (perturbing, keys, the store);
- the same grid again over the filled store (warm): requests per second read back, and that
  nothing reached a model.

    python benchmarks/bench_helm.py [--n-test N]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import replace


def run(n_test: int = 10) -> list[tuple[str, str]]:
    from theory.core import set_threads
    from theory.helm.evaluate import default_adaptation, evaluate_grid
    from theory.helm.models import default_models
    from theory.helm.scenarios import core_scenarios

    threads = set_threads(None)
    models = default_models()
    scenarios = [replace(s, test=s.test[:n_test]) for s in core_scenarios().values()]
    grid = [(m, s, default_adaptation(s)) for m in models for s in scenarios]
    root = tempfile.mkdtemp(prefix="bench_helm_")
    rows = []
    try:
        # One-time loads (a language model's weights, an encoder), each on one request of its own.
        load = {}
        for m in models:
            first = next(((m, replace(s, test=s.test[:1]), a) for mm, s, a in grid
                          if mm is m and m.supports(s, a)), None)
            if first is None:
                continue
            t0 = time.perf_counter()
            evaluate_grid([first], store=f"{root}/warmup", progress=False)
            load[m.name] = time.perf_counter() - t0
        t0 = time.perf_counter()
        cold = evaluate_grid(grid, store=f"{root}/cold", progress=False)
        t_eval = time.perf_counter() - t0
        t1 = time.perf_counter()
        for key in cold.runs:
            cold.summary(*key)
        t_metrics = time.perf_counter() - t1
        per = {}
        for run in cold.runs.values():
            d = per.setdefault(run.model.name, [0, 0.0, 0.0])
            d[0] += run.n_computed
            d[1] += run.model_seconds
            d[2] += run.fit_seconds
        for name, (n, secs, fit) in per.items():
            rows.append((f"{name}: {n} requests on {sum(1 for k in cold.runs if k[0] == name)} scenarios "
                         f"(cold), predict | fit | first request incl. one-time load",
                         f"{n / secs:,.1f} requests/s ({secs:.2f} s) | {fit:.2f} s | {load.get(name, 0):.2f} s"))
        t_model = sum(r.model_seconds + r.fit_seconds for r in cold.runs.values())
        total = t_eval + t_metrics
        rows.append((f"share of the evaluation's {total:.1f} s ({cold.n_computed} requests, "
                     f"{len(cold.runs)} runs, {len(cold.skipped)} unsupported pairs): model calls | "
                     "metric code (summarize) | the rest (perturbing, keys, store)",
                     f"{100 * t_model / total:.1f} % | {100 * t_metrics / total:.1f} % | "
                     f"{100 * (t_eval - t_model) / total:.1f} %"))
        t2 = time.perf_counter()
        warm = evaluate_grid(grid, store=f"{root}/cold", progress=False)
        t_warm = time.perf_counter() - t2
        rows.append(("the same grid from the filled store (warm): requests read back per second | "
                     "requests computed", f"{warm.n_stored / t_warm:,.0f} requests/s ({t_warm:.2f} s) | "
                     f"{warm.n_computed}"))
        rows.append(("settings", f"n_test = {n_test} per scenario, THEORY_THREADS = {threads}, CPU"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return rows


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n-test", type=int, default=10, help="test instances per scenario (default 10)")
    args = p.parse_args()
    for name, value in run(args.n_test):
        print(f"{name}: {value}")
