"""The paper-scale sweep: train, evaluate, write a small JSON file for the chapter to plot.

    THEORY_SCALE=paper python -m theory.icl_regression.paper_run [--steps N] [--out FILE]

Sizes at ``THEORY_SCALE=paper`` are the paper's base model (Raventós et al. 2023, the opening
of Sec. 3; training details in App. B): D = 8, K = 16, σ² = 0.25, 8 layers, width 128, 2 heads,
Adam with the triangle schedule (50% warm-up) over 500k steps, M = 2⁰ … 2¹⁵ and ∞, each at
batch 256 *and* 512, all trained as one batched program (meant for a GPU): the paper's
threshold is the crossover in Δ^{T_True}_{PT,Ridge} between these two batch sizes (Sec. 3.1,
Fig. 2; :func:`~theory.icl_regression.threshold.batch_crossover`). The peak learning rate is
fixed at 1e-3, the official example configuration's (``icl/configs/example.py``); the paper
sweeps it and takes the largest stable one (Sec. 3), which this path does not. Evaluation on
2²⁰ sequences, the official ``eval.n_samples``. At the laptop scale the same code runs the
chapter's sizes (a smoke test of this path). The output, by default
``theory/icl_regression/results/sweep_<scale>.json``, holds the configuration, the command, the
wall time, per model (M, batch) the losses and distances of
:class:`~theory.icl_regression.SweepEval`, and the crossover;
``book/icl_regression/task_diversity.ipynb`` plots it when the paper-scale file exists.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from theory.core import (check_choice, check_scalar, check_seed, default_device, get_scale, scaled,
                         set_threads)
from theory.icl_regression.risks import evaluate_sweep
from theory.icl_regression.threshold import threshold_study
from theory.icl_regression.transformer import ModelConfig, train_sweep

RESULTS = Path(__file__).resolve().parent / "results"


def paper_settings() -> dict:
    """The sweep's sizes at the active scale (laptop: the chapter's notebook sizes).

    ``batch_size`` is the single batch of :func:`trained_sweep` (the task-diversity page);
    ``batch_sizes`` the pair whose crossover :func:`main` measures (paper: 256 and 512)."""
    return dict(
        config=scaled(ModelConfig(D=2, K=8, n_layer=2, n_embd=32, n_head=2),
                      ModelConfig(D=8, K=16, n_layer=8, n_embd=128, n_head=2)),
        Ms=scaled([2, 4, 8, 16, 32, math.inf], [2**k for k in range(16)] + [math.inf]),
        sigma2=scaled(0.0625, 0.25), steps=scaled(800, 500_000),
        batch_size=scaled(128, 256), batch_sizes=scaled((128, 256), (256, 512)),
        lr=scaled(3e-3, 1e-3), n_eval=scaled(2048, 2**20))


def trained_sweep(seed: int = 0):
    """``(run, ev)``: the chapter's sweep (:func:`paper_settings` at the active scale) trained
    with ``seed`` and pool seed 1 (:func:`~theory.icl_regression.train_sweep`) and evaluated
    (:func:`~theory.icl_regression.evaluate_sweep`, ``n_eval`` sequences). Computed once per
    scale and seed and cached, so the notebook and its explorer share one training run."""
    return _trained_sweep(get_scale(), check_seed(seed, "seed"))


@functools.lru_cache(maxsize=4)
def _trained_sweep(scale: str, seed: int):
    s = paper_settings()
    run = train_sweep(s["Ms"], s["config"], sigma2=s["sigma2"], steps=s["steps"],
                      batch_size=s["batch_size"], lr=s["lr"], seed=seed, pool_seed=1,
                      record_every=max(1, s["steps"] // 40))
    return run, evaluate_sweep(run, n=s["n_eval"])


def report(run) -> str:
    """Two lines on a trained sweep (:class:`~theory.icl_regression.SweepRun`): its settings
    (model, noise, batch, steps, peak learning rate, pool sizes) and its training throughput
    (``meta["seconds"]``, the wall time of :func:`~theory.icl_regression.train_sweep`)."""
    from theory.icl_regression.transformer import SweepRun
    if not isinstance(run, SweepRun):
        raise TypeError(f"run must be a SweepRun (from train_sweep), got {type(run).__name__}")
    c, m = run.config, run.meta
    G, steps, wall = len(run.Ms), m["steps"], m["seconds"]
    return (f"D={c.D} K={c.K} layers={c.n_layer} width={c.n_embd} heads={c.n_head} "
            f"σ²={run.sigma2} batch={m['batch_size']} steps={steps} lr={m['lr']} M={run.Ms}\n"
            f"{G} models × {steps} steps in {wall:.1f} s wall: {steps / wall:.1f} batched steps/s, "
            f"{G * steps / wall:.1f} model-steps/s")


def load_results(scale: str = "paper", directory: Path = RESULTS) -> dict | None:
    """The results file ``sweep_<scale>.json`` that :func:`main` writes, read as a dict, or None
    where no such run has been made."""
    check_choice(scale, "scale", ("laptop", "paper"))
    if not isinstance(directory, (str, Path)):
        raise TypeError(f"directory must be a path (str or pathlib.Path), got "
                        f"{type(directory).__name__}")
    path = Path(directory) / f"sweep_{scale}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def to_json(ev, settings, seconds, command, batch=None, crossover=None) -> dict:
    """The results file's content: settings, per model (``M`` and ``batch``) the losses and
    distances of ``ev``, and the batch-doubling ``crossover`` (a
    :class:`~theory.icl_regression.threshold.Crossover`) when given."""
    from theory.icl_regression.risks import SweepEval
    from theory.icl_regression.threshold import Crossover
    from theory.icl_regression.transformer import ModelConfig

    if not isinstance(ev, SweepEval):
        raise TypeError(f"ev must be a SweepEval (evaluate_sweep), got {type(ev).__name__}")
    if not isinstance(settings, dict):
        raise TypeError(f"settings must be the dict of paper_settings(), got {type(settings).__name__}")
    missing = [k for k in ("config", "sigma2", "steps", "batch_size", "lr", "n_eval") if k not in settings]
    if missing or not isinstance(settings.get("config"), ModelConfig):
        raise ValueError(f"settings must be the dict of paper_settings() (a ModelConfig under "
                         f"'config'); missing {missing}")
    seconds = check_scalar(seconds, "seconds", min=0.0)
    if not isinstance(command, str):
        raise TypeError(f"command must be a str, got {type(command).__name__}")
    if batch is not None and (isinstance(batch, (str, bytes)) or not hasattr(batch, "__len__")
                              or len(batch) != len(ev.Ms)):
        raise ValueError(f"batch must hold one batch size per model ({len(ev.Ms)})")
    if crossover is not None and not isinstance(crossover, Crossover):
        raise TypeError(f"crossover must be a Crossover (batch_crossover), got "
                        f"{type(crossover).__name__}")

    def clean(a):
        return [None if (isinstance(x, float) and math.isnan(x)) else x
                for x in np.asarray(a, dtype=float).tolist()]
    c = settings["config"]
    out = {"scale": get_scale(), "command": command, "seconds": seconds,
           "device": str(default_device()),
           "config": {"D": c.D, "K": c.K, "n_layer": c.n_layer, "n_embd": c.n_embd,
                      "n_head": c.n_head, "sigma2": settings["sigma2"],
                      "steps": settings["steps"], "batch_size": settings["batch_size"],
                      "batch_sizes": list(settings.get("batch_sizes", [settings["batch_size"]])),
                      "lr": settings["lr"], "n_eval": settings["n_eval"]},
           "M": ["inf" if math.isinf(M) else int(M) for M in ev.Ms],
           "batch": ([int(settings["batch_size"])] * len(ev.Ms) if batch is None
                     else [int(b) for b in batch]),
           **{k: clean(getattr(ev, k)) for k in (
               "pt_pool", "dmmse_pool", "ridge_pool", "pt_new", "dmmse_new", "ridge_new",
               "d_pt_dmmse_pool", "d_pt_ridge_pool", "d_pt_dmmse_new", "d_pt_ridge_new")}}
    if crossover is not None:
        out["crossover"] = {"M": [int(M) for M in crossover.Ms], "gap": clean(crossover.gap),
                            "M_star": None if math.isnan(crossover.M_star) else crossover.M_star,
                            "status": crossover.status}
    return out


def main(argv=None) -> Path:
    if argv is not None and (isinstance(argv, (str, bytes)) or not hasattr(argv, "__iter__")
                             or not all(isinstance(a, str) for a in argv)):
        raise TypeError(f"argv must be a list of str (command-line arguments), got {argv!r}")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=None, help="override the number of steps")
    ap.add_argument("--out", type=Path, default=None, help="output JSON file")
    args = ap.parse_args(argv)
    s = paper_settings()
    if args.steps is not None:
        s["steps"] = check_scalar(args.steps, "--steps", kind="int", min=1)
    set_threads(None)
    out = args.out or RESULTS / f"sweep_{get_scale()}.json"
    t0 = time.perf_counter()
    study = threshold_study(s["Ms"], s["batch_sizes"], [0.0], s["config"], sigma2=s["sigma2"],
                            steps=s["steps"], lr=s["lr"], seed=0, pool_seed=1,
                            record_every=max(1, s["steps"] // 100), n_eval=s["n_eval"])
    ev, cross = study.ev, study.crossover()
    seconds = time.perf_counter() - t0
    print(ev.table())
    print(cross.table(labels=tuple(str(b) for b in s["batch_sizes"])))
    out.parent.mkdir(parents=True, exist_ok=True)
    command = f"THEORY_SCALE={get_scale()} python -m theory.icl_regression.paper_run " + \
        " ".join(sys.argv[1:] if argv is None else argv)
    batch = [c["batch"] for c in study.configs()]
    out.write_text(json.dumps(to_json(ev, s, seconds, command.strip(), batch=batch,
                                      crossover=cross), indent=1))
    print(f"wrote {out} ({seconds:.0f} s)")
    return out


if __name__ == "__main__":
    main()
