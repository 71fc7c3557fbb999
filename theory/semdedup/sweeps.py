"""The chapter's paper-scale sweep through the shared runner (:func:`theory.core.run_sweep`).

The training comparison of the page ``training.ipynb`` (section "Training on the kept data
against random pruning"; the paper's claim: Abbas et al. 2023, abstract, SemDeDup removes 50% of
a LAION subset "with minimal performance loss", and, reported in the notes ``papers-1-5.md``
§5(c), random pruning to the same size loses more). One point of the sweep is one training run,
one (arm, seed): the MLP classifier of :mod:`theory.semdedup.training` trained on the arm's
subset of the book's digits corpus (``images.digit_corpus(n_copies=200, seed=0)``), with

- ``arm``: ``"full"`` (every point), ``"semdedup"`` (what SemDeDup keeps at the ε that keeps the
  design's fraction, by default the share of distinct groups) or ``"random"`` (a uniform subset
  of the same size);
- ``seed``: the classifier's initialisation, its minibatch stream, the k-means seed 1234 + seed
  and the random subset; the three arms of a seed are paired (the same weights and words).

A point is computed exactly as the page computes it: :func:`~theory.semdedup.training.arm_subsets`
and :func:`~theory.semdedup.training.train_arms` for the point's seed alone, the point's row
taken (``train_arms`` always trains the three arms of a seed; a row does not depend on the other
seeds or arms in the batch, measured bit for bit on this CPU, and asserted by the tests). The
batch form runs one ``train_arms`` over every seed of the batch, which for the whole grid is the
page's own call. Per point: ``test_accuracy`` and ``test_loss`` (step,) on the 400 held-out
digits every ``record_every`` steps, and the scalars ``n_train``, ``distinct_groups`` (the
ground-truth groups the training set holds), ``eps`` (the seed's SemDeDup ε) and ``target``
(the kept fraction aimed at).

Sizes: ``laptop`` is the page's run (5 seeds, 2000 steps), ``paper`` the page's
``THEORY_SCALE=paper`` run (10 seeds, 4000 steps; :meth:`TrainingSetup.at_scale`), the book's
choice of size: the paper's own experiment (CLIP ViT-B/16 on LAION-440M, zero-shot ImageNet
accuracy) is out of reach of this chapter's digits stand-in.
"""

from __future__ import annotations

import functools

import numpy as np

from theory.core import (STORED_LABELS, Experiment, Sweep, SweepPlan, check_choice, check_configs,
                         check_result, check_scalar, check_seed, check_stored, provenance_report, record_steps,
                         stored_results, sweep_cli)
from theory.semdedup import images, training

__all__ = ["STORED_LABELS", "TRAINING_SIZES", "main", "stored_claims", "stored_report", "stored_training", "training_batch",
           "training_experiment", "training_plan", "training_point", "training_summary", "training_sweep"]

_DESIGN = dict(batch_size=32, lr=0.05, momentum=0.9, hidden=128, record_every=50, k=10, keep="hard",
               kept_fraction=None, n_copies=200, corpus_seed=0)
TRAINING_SIZES = {
    "laptop": dict(_DESIGN, n_seed=5, steps=2000),
    "paper": dict(_DESIGN, n_seed=10, steps=4000),
}
"""The sizes per scale: the page's two runs (``TrainingSetup.at_scale``), the book's design."""

_SETUP_KEYS = ("steps", "batch_size", "lr", "momentum", "hidden", "record_every", "k", "keep", "kept_fraction")
_KEYS = _SETUP_KEYS + ("n_copies", "corpus_seed")
CURVES = ("test_accuracy", "test_loss")
SCALARS = ("n_train", "distinct_groups", "eps", "target")


@functools.lru_cache(maxsize=2)
def _corpus(n_copies: int, corpus_seed: int):
    """The page's corpus (``images.digit_corpus(n_copies=200, seed=0)`` at the design's sizes)."""
    return images.digit_corpus(n_copies=n_copies, seed=corpus_seed)


def _checked(c: dict) -> dict:
    out = dict(c, arm=check_choice(c["arm"], "arm", training.ARMS), seed=check_seed(c["seed"], "seed"))
    check_scalar(out["seed"], "seed", kind="int", min=0, max=2**31 - 1)
    out["n_copies"] = check_scalar(c["n_copies"], "n_copies", kind="int", min=1)
    out["corpus_seed"] = check_seed(c["corpus_seed"], "corpus_seed")
    training.TrainingSetup(seeds=(0,), **{k: c[k] for k in _SETUP_KEYS})  # validates the design
    return out


def training_batch(configs) -> list[dict]:
    """Train a list of points (dicts of arm, seed and the fixed sizes) with one
    :func:`~theory.semdedup.training.train_arms` per group of equal sizes, over the group's seeds
    (all three arms, as the page does); per point, in the order given: the (T,) test accuracy and
    loss and the scalars n_train, distinct_groups, eps, target (module docstring)."""
    check_configs(configs, {"arm", "seed", *_KEYS})
    checked = [_checked(c) for c in configs]
    groups: dict = {}
    for i, c in enumerate(checked):
        groups.setdefault(repr([c[k] for k in _KEYS]), []).append(i)
    out: list = [None] * len(checked)
    for idx in groups.values():
        c0 = checked[idx[0]]
        seeds = tuple(sorted({checked[i]["seed"] for i in idx}))
        setup = training.TrainingSetup(seeds=seeds, **{k: c0[k] for k in _SETUP_KEYS})
        corpus = _corpus(c0["n_copies"], c0["corpus_seed"])
        subsets = training.arm_subsets(corpus, setup)
        held = training.distinct_groups(corpus, subsets)
        run = training.train_arms(corpus, setup, subsets, progress=False)
        rows = {(c["arm"], c["seed"]): g for g, c in enumerate(run.sweep.configs())}
        for i in idx:
            arm, seed = checked[i]["arm"], checked[i]["seed"]
            g = rows[(arm, seed)]
            out[i] = dict({k: np.asarray(run[k][g]) for k in CURVES},
                          n_train=np.int64(run.meta["n_train"][g]),
                          distinct_groups=np.int64(held[arm][seeds.index(seed)]),
                          eps=np.float64(subsets["eps"][seed]), target=np.float64(subsets["target"]))
    return out


def training_point(arm, seed, **sizes) -> dict:
    """One training run (arm, seed) of the page's comparison (Abbas et al. 2023, abstract; notes
    §5(c)): the arrays of :func:`training_batch` for it alone."""
    return training_batch([dict(sizes, arm=arm, seed=seed)])[0]


def training_sweep(scale: str = "laptop", *, n_seed: int | None = None, arm: str = "all") -> Sweep:
    """Sweep(arm, seed): the three arms (or one ``arm``) × seeds 0 … n_seed−1 (default: the scale's)."""
    scale = check_choice(scale, "scale", tuple(TRAINING_SIZES))
    n = TRAINING_SIZES[scale]["n_seed"] if n_seed is None else check_scalar(n_seed, "n_seed", kind="int", min=1)
    arm = check_choice(arm, "arm", ("all",) + training.ARMS)
    return Sweep(arm=list(training.ARMS) if arm == "all" else [arm], seed=list(range(n)))


def training_experiment(scale: str = "laptop", *, steps: int | None = None, record_every: int | None = None,
                        n_copies: int | None = None, kept_fraction: float | None = None) -> Experiment:
    """The training experiment at ``scale``'s sizes; ``steps``, ``record_every``, ``n_copies``
    (copies per kind in the corpus) and ``kept_fraction`` (SemDeDup's target, default the share
    of distinct groups) override the design."""
    scale = check_choice(scale, "scale", tuple(TRAINING_SIZES))
    fixed = {k: TRAINING_SIZES[scale][k] for k in _KEYS}
    if steps is not None:
        fixed["steps"] = check_scalar(steps, "steps", kind="int", min=1)
    if record_every is not None:
        fixed["record_every"] = check_scalar(record_every, "record_every", kind="int", min=1)
    if n_copies is not None:
        fixed["n_copies"] = check_scalar(n_copies, "n_copies", kind="int", min=1)
    if kept_fraction is not None:
        fixed["kept_fraction"] = check_scalar(kept_fraction, "kept_fraction", min=0.0, max=1.0,
                                              include_min=False, include_max=False)
    rec = record_steps(fixed["steps"], every=fixed["record_every"])
    return Experiment("semdedup.training", point=training_point, batch=training_batch,
                      dims={k: ("step",) for k in CURVES}, coords={"step": np.asarray(rec)}, fixed=fixed)


def training_plan(scale: str = "laptop", *, n_seed: int | None = None, arm: str = "all", steps: int | None = None,
                  record_every: int | None = None, n_copies: int | None = None,
                  kept_fraction: float | None = None) -> SweepPlan:
    """The training sweep at ``scale`` as a :class:`~theory.core.SweepPlan`; ``reduced`` when it
    departs from the scale's design (fewer seeds, one arm, other steps, corpus or kept fraction)."""
    exp = training_experiment(scale, steps=steps, record_every=record_every, n_copies=n_copies,
                              kept_fraction=kept_fraction)
    sweep = training_sweep(scale, n_seed=n_seed, arm=arm)
    full = TRAINING_SIZES[scale]
    reduced = (len(sweep) < len(training.ARMS) * full["n_seed"]
               or any(exp.fixed[k] != full[k] for k in _KEYS))
    f = exp.fixed
    grid = (f"{len(sweep.axes['arm'])} arms ({'/'.join(sweep.axes['arm'])}) x {len(sweep.axes['seed'])} seeds, "
            f"MLP 64-{f['hidden']}-10, {f['steps']} steps, batch {f['batch_size']}, SemDeDup k = {f['k']} "
            f"({f['keep']}), kept fraction {'n_groups/n' if f['kept_fraction'] is None else f['kept_fraction']}, "
            f"digits corpus with {f['n_copies']} copies per kind")
    return SweepPlan(exp, sweep, reduced=reduced, grid=grid)


_RESULT = ("training", ("test_accuracy",), ("arm",))
"""A stored result of this module: what it is, the variables and dimensions it holds
(:func:`theory.core.check_result`)."""


def stored_training(labels=STORED_LABELS) -> dict:
    """The stored training results (``results/semdedup.training-<label>.zarr``), label → Dataset."""
    return stored_results("semdedup.training", labels)


def _lower(x: np.ndarray) -> float:
    """mean − 2 standard errors over seeds (nan with one seed): the page's criterion."""
    return float(x.mean() - 2 * x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")


def training_summary(ds) -> dict:
    """The numbers the page's claims need, from a stored result holding the three arms:
    ``final`` arm → (seeds,) final test accuracy; ``gain`` (semdedup − random, paired): ``final``
    (seeds,), ``mean``, ``sd``, ``lower`` (mean − 2 se) at the end, ``late_lower`` the same of the
    mean difference over the second half of training; ``full_minus_semdedup`` (mean over seeds);
    ``more_groups_lower`` (mean − 2 se of semdedup − random distinct groups), as
    :func:`~theory.semdedup.training.paired_gain` computes them on the page."""
    check_result(ds, *_RESULT)
    missing = [a for a in training.ARMS if a not in ds["arm"].values]
    if missing:
        raise ValueError(f"ds must hold the three arms {training.ARMS}; it lacks {missing}")
    acc = ds["test_accuracy"].transpose("arm", "seed", "step")
    steps = ds["step"].values
    fin = {a: acc.sel(arm=a).values[:, -1] for a in training.ARMS}
    d = acc.sel(arm="semdedup").values - acc.sel(arm="random").values
    late = d[:, steps >= steps[-1] / 2].mean(1)
    more = (ds["distinct_groups"].sel(arm="semdedup") - ds["distinct_groups"].sel(arm="random")).values
    fd = d[:, -1]
    return {"final": fin, "gain": {"final": fd, "mean": float(fd.mean()),
                                   "sd": float(fd.std(ddof=1)) if fd.size > 1 else float("nan"),
                                   "lower": _lower(fd), "late": float(late.mean()), "late_lower": _lower(late)},
            "full_minus_semdedup": float(np.mean(fin["full"] - fin["semdedup"])),
            "more_groups_lower": _lower(more.astype(float))}


def stored_report(ds) -> str:
    """One stored training result in words: provenance; per arm the training-set size, distinct
    groups held and final test accuracy (mean ± sd over seeds); and, when all three arms are
    there, the paired gain of SemDeDup over random (end and second half) and full − semdedup."""
    check_result(ds, *_RESULT)
    lines = [provenance_report(ds, "stored SemDeDup training result")]
    if "eps" in ds:
        lines.append(f"  SemDeDup ε per seed {np.round(ds['eps'].isel(arm=0).values, 4).tolist()}, "
                     f"target kept fraction {float(ds['target'].values.ravel()[0]):.3f}")
    for a in ds["arm"].values:
        p = ds.sel(arm=a)
        fin = p["test_accuracy"].isel(step=-1).values
        sd = fin.std(ddof=1) if fin.size > 1 else 0.0
        lines.append(f"  {a:>9}: n = {sorted(set(p['n_train'].values.tolist()))}, distinct groups "
                     f"{p['distinct_groups'].values.tolist()}, final test accuracy {fin.mean():.4f} ± {sd:.4f}")
    if all(a in ds["arm"].values for a in training.ARMS):
        s = training_summary(ds)
        g = s["gain"]
        lines.append(f"  semdedup − random: final {g['mean']:+.4f} (sd {g['sd']:.4f}, mean − 2 se {g['lower']:+.4f}), "
                     f"second half {g['late']:+.4f} (mean − 2 se {g['late_lower']:+.4f}); full − semdedup "
                     f"{s['full_minus_semdedup']:+.4f}")
    return "\n".join(lines)


_SRC_A = ("abstract: SemDeDup removes 50% of a LAION subset with minimal performance loss (the book's digits "
          "stand-in)")
_SRC_R = ("random pruning to the same size loses more (papers-1-5.md §5(c), reported in the notes, not verified "
          "against the paper's text)")


def stored_claims(stored) -> list[dict]:
    """The page's training claims (``training.ipynb``, "Training on the kept data against random
    pruning"), with the page's criteria, on the first stored result of ``stored`` (label →
    Dataset, as :func:`stored_training` returns, in its order) that holds the three arms and at
    least two seeds: a list of keyword dicts for ``Ledger.claim`` (id, source, statement,
    measured and the bound; the caller adds origin and section), empty when there is none."""
    check_stored(stored, *_RESULT, source="stored_training")
    for label, ds in stored.items():
        if set(training.ARMS) <= set(ds["arm"].values.tolist()) and ds.sizes.get("seed", 0) > 1:
            s = training_summary(ds)
            where = f"stored {label} run of the training sweep (results/, {ds.attrs.get('grid', '')})"
            rows = [
                ("train_beats_random", _SRC_R, "SemDeDup's subset trains better than a random one of the same "
                 "size: final test accuracy, paired over seeds, mean − 2 se of (semdedup − random) ≥ 0",
                 s["gain"]["lower"], dict(at_least=0.0)),
                ("train_beats_random_over_steps", _SRC_R, "the same over the second half of training: mean "
                 "over records, paired over seeds, mean − 2 se of (semdedup − random) ≥ 0",
                 s["gain"]["late_lower"], dict(at_least=0.0)),
                ("train_matches_full", _SRC_A, "training on SemDeDup's subset loses at most 1 point of final "
                 "test accuracy against the full corpus (mean over seeds of full − semdedup)",
                 s["full_minus_semdedup"], dict(at_most=0.01)),
                ("train_more_distinct_originals", _SRC_R, "at equal size, SemDeDup's subset holds more "
                 "distinct ground-truth groups than the random one: mean − 2 se of (semdedup − random) > 0",
                 s["more_groups_lower"], dict(sign=1))]
            return [dict(bound, id=f"semdedup.{cid}_stored", source=f"{where}; {src}",
                         statement=f"{label} scale ({ds.sizes['seed']} seeds, {int(ds['step'].values[-1])} "
                                   f"steps): {text}", measured=float(value))
                    for cid, src, text, value, bound in rows]
    return []


def main(argv=None) -> int:
    """``python -m theory.semdedup.sweeps training --scale paper [--executor dask] [--set n_seed=2]``:
    the training sweep through the runner into ``results/store`` and
    ``results/semdedup.training-<label>.zarr`` (:func:`theory.core.sweep_cli`)."""
    return sweep_cli("python -m theory.semdedup.sweeps", {"training": training_plan}, argv)


if __name__ == "__main__":
    raise SystemExit(main())
