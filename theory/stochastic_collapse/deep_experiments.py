"""The experiments of ``book/stochastic_collapse/deep_networks.ipynb`` and their analyses.

Chen, Kunin, Yamamura, Ganguli (2023), Figs. 3–4 and 6, at laptop scale (the digits MLP of
:mod:`theory.stochastic_collapse.deep`). Each experiment is a :class:`theory.core.Sweep` over one
hyper-parameter and the seeds, trained in one call of :func:`~theory.stochastic_collapse.deep.
train_mlp`; the seed axis carries the seed itself, so every level of a sweep shares its seeds'
initialisations and data order (paired comparisons on common random numbers). The analyses turn
a result into (level, seed) tables, per-seed Spearman correlations and the two controls of the
notebook (equal gradient-flow time; label noise against its mean).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from theory.core import Result, Sweep, as_array, check_bool, check_scalar, get_scale, scaled
from theory.stochastic_collapse.deep import DigitsData, train_mlp

__all__ = ["MEASURES", "DeepSetup", "collapse_sweeps", "collapse_trends", "controls_report",
           "equal_time_gap", "final_table", "independent_table", "levels_text", "noise_beyond_mean",
           "noise_controls", "per_seed_spearman", "rank_report", "setup_report", "sweep_report",
           "training_time", "trends_report", "two_phase", "two_phase_report", "two_phase_trend"]


@dataclass(frozen=True)
class DeepSetup:
    """The notebook's settings at one scale (``laptop`` or ``paper``; :func:`theory.core.scaled`).

    seeds, hidden width, SGD steps, weight decay λ (ηλT is the same at both scales), the default
    learning rate and batch, the levels of the three sweeps, and the two-phase schedule
    (η = 0.5 for T₁ steps, then 0.05 for T₂ steps).
    """

    seeds: np.ndarray
    hidden: int
    steps: int
    weight_decay: float
    lr: float
    batch_size: int
    lrs: np.ndarray
    batches: np.ndarray
    noises: np.ndarray
    t1: np.ndarray
    t2: int
    lr_high: float = 0.5
    lr_low: float = 0.05
    scale: str = "laptop"

    @classmethod
    def at_scale(cls) -> "DeepSetup":
        """The settings at the active scale (``THEORY_SCALE``)."""
        return cls(seeds=np.arange(scaled(4, 8)), hidden=scaled(64, 128),
                   steps=scaled(8000, 80_000), weight_decay=scaled(5e-3, 5e-4), lr=0.2,
                   batch_size=32, lrs=np.array([0.05, 0.1, 0.2, 0.5]),
                   batches=np.array(scaled([16, 32, 64, 128], [32, 64, 128, 256, 512])),
                   noises=np.array([0.0, 0.2, 0.4, 0.6]),
                   t1=np.array(scaled([1000, 2000, 4000], [10_000, 20_000, 40_000])),
                   t2=scaled(2000, 10_000), scale=get_scale())

    @property
    def net_note(self) -> str:
        return (f"{self.scale} scale: MLP 64→{self.hidden}→{self.hidden}→10, GELU, "
                f"λ = {self.weight_decay:g}, {self.seeds.size} seeds (mean ± sd)")

    @property
    def scale_note(self) -> str:
        return f"{self.steps} SGD steps, {self.net_note}"


def _check_setup(setup) -> None:
    if not isinstance(setup, DeepSetup):
        raise TypeError(f"setup must be a DeepSetup, got {type(setup).__name__}")


def _check_data(data) -> None:
    if not isinstance(data, DigitsData):
        raise TypeError(f"data must be a DigitsData (load_digits_data), got {type(data).__name__}")


def _check_swept(result, name: str, axis: str | None = None, metric: str | None = None) -> Result:
    """``result`` a train_mlp Result over a Sweep (with ``axis``, and the ``metric``), or an error
    naming ``name``."""
    if not isinstance(result, Result) or result.sweep is None:
        raise TypeError(f"{name} must be a train_mlp Result over a sweep (theory.core.Sweep), got "
                        f"{type(result).__name__}")
    if axis is not None and axis not in result.sweep.axes:
        raise ValueError(f"{name} must be a sweep over {axis!r}, got the axes {result.sweep.dims}")
    if metric is not None and metric not in result:
        raise ValueError(f"{name} must hold the metric {metric!r}")
    return result


def _check_runs(runs, name: str = "runs", need=()) -> dict:
    """``runs`` a dict sweep name → Result (:func:`collapse_sweeps`), or an error naming it."""
    if not isinstance(runs, dict):
        raise TypeError(f"{name} must be a dict of sweeps (collapse_sweeps), got "
                        f"{type(runs).__name__}")
    for k in need:
        if k not in runs:
            raise ValueError(f"{name} must hold the {k!r} sweep (collapse_sweeps gives it)")
    for k, v in runs.items():
        _check_swept(v, f"{name}[{k!r}]", axis=k if k in _SWEEPS else None)
    return runs


_SWEEPS = ("lr", "batch_size", "label_noise", "label_smoothing")


def setup_report(setup: DeepSetup, data: DigitsData) -> str:
    """The data split, the scale's settings and the seeds, in one line."""
    _check_setup(setup)
    _check_data(data)
    return (f"digits: {data.n_train} train, {data.y_test.size} test.  {setup.scale_note}; "
            f"seeds {setup.seeds.tolist()}")


def _common(setup: DeepSetup) -> dict:
    return dict(hidden=setup.hidden, weight_decay=setup.weight_decay, steps=setup.steps,
                progress=False)


def _timed(**kwargs) -> Result:
    t0 = time.perf_counter()
    res = train_mlp(**kwargs)
    res.meta["wall_s"] = time.perf_counter() - t0
    return res


def collapse_sweeps(data: DigitsData, setup: DeepSetup) -> dict[str, Result]:
    """The Figs. 3–4 sweeps: ``"lr"``, ``"batch_size"``, ``"label_noise"`` and the control
    ``"label_smoothing"`` (the mean of the noise, s = p > 0), each a Result over
    Sweep(<level>, seed). The learning-rate sweep records 40 times (for the equal-time
    control); the others at the start and the end."""
    _check_setup(setup)
    _check_data(data)
    c, s = _common(setup), list(setup.seeds)
    return {
        "lr": _timed(data=data, sweep=Sweep(lr=setup.lrs, seed=s), batch_size=setup.batch_size,
                     record_every=setup.steps // 40, **c),
        "batch_size": _timed(data=data, sweep=Sweep(batch_size=setup.batches, seed=s),
                             lr=setup.lr, **c),
        "label_noise": _timed(data=data, sweep=Sweep(label_noise=setup.noises, seed=s),
                              lr=setup.lr, batch_size=setup.batch_size, **c),
        "label_smoothing": _timed(data=data,
                                  sweep=Sweep(label_smoothing=setup.noises[1:], seed=s),
                                  lr=setup.lr, batch_size=setup.batch_size, **c),
    }


def two_phase(data: DigitsData, setup: DeepSetup) -> Result:
    """Fig. 6: η = lr_high for T₁ steps, then lr_low for T₂, over Sweep(switch_step=T₁, seed);
    each configuration stops at its own T₁ + T₂ (one batch), recorded 24 times."""
    _check_setup(setup)
    _check_data(data)
    sweep = Sweep(switch_step=setup.t1, seed=list(setup.seeds))
    total = int(setup.t1.max() + setup.t2)
    return _timed(data=data, sweep=sweep, lr=setup.lr_high, lr_late=setup.lr_low,
                  stop_step=sweep.column("switch_step") + setup.t2,
                  batch_size=setup.batch_size, hidden=setup.hidden,
                  weight_decay=setup.weight_decay, steps=total, record_every=total // 24,
                  progress=False)


MEASURES = ("independent", "effective_rank")


def independent_table(result: Result, *, step: int = -1, layer: int | None = None,
                      measure: str = "independent") -> np.ndarray:
    """Fraction of independent neurons at record ``step`` over the sweep's axes (level, seed):
    one hidden ``layer``, or the mean of the layers (``layer=None``). ``measure="effective_rank"``
    gives the official notebooks' effective rank instead (the entropy of the normalised singular
    values of each layer's neuron matrix, :func:`theory.stochastic_collapse.deep.effective_rank`)."""
    return _table(result, "result", step=step, layer=layer, measure=measure)


def _table(result, name: str, *, step=-1, layer=None, measure="independent") -> np.ndarray:
    if not isinstance(measure, str) or measure not in MEASURES:
        raise ValueError(f"measure must be one of {MEASURES}, got {measure!r}")
    _check_swept(result, name, metric=measure)
    n_rec = result[measure].shape[1]
    step = check_scalar(step, "step", kind="int", min=-n_rec, max=n_rec - 1)
    ind = result[measure][:, step]
    if layer is None:
        ind = ind.mean(-1)
    else:
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)) or not (
                0 <= layer < ind.shape[-1]):
            raise ValueError(f"layer must be an int in [0, {ind.shape[-1]}), got {layer!r}")
        ind = ind[:, layer]
    return result.sweep.unflatten(ind)


def final_table(result: Result, name: str) -> np.ndarray:
    """The metric ``name`` at the last record over the sweep's axes (level, seed)."""
    _check_swept(result, "result")
    if not isinstance(name, str):
        raise TypeError(f"name must be a str (a metric), got {type(name).__name__}")
    if name not in result:
        raise ValueError(f"name must be a recorded metric {sorted(result.metrics)}, got {name!r}")
    return result.sweep.unflatten(result[name][:, -1])


def per_seed_spearman(levels, table) -> np.ndarray:
    """Spearman's ρ between ``levels`` (L,) and each column of ``table`` (L, S): (S,).

    A constant column (no trend) gives 0 instead of NaN."""
    from scipy.stats import spearmanr

    levels = as_array(levels, "levels", ndim=1)
    table = as_array(table, "table", ndim=2)
    if table.shape[0] != levels.size or levels.size < 2:
        raise ValueError(f"table must have shape (len(levels) ≥ 2, seeds), got {table.shape} for "
                         f"{levels.size} levels")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")               # a constant column: ρ undefined → 0
        rho = [spearmanr(levels, table[:, i]).statistic for i in range(table.shape[1])]
    return np.nan_to_num(np.array(rho, dtype=float), nan=0.0)


def collapse_trends(runs: dict[str, Result], measure: str = "independent") -> dict[str, np.ndarray]:
    """The Figs. 3–4 trends: for each of the sweeps ``"lr"``, ``"batch_size"`` and
    ``"label_noise"`` in ``runs``, the per-seed Spearman ρ (S,) between the level and the final
    independent fraction (or, with ``measure="effective_rank"``, the effective rank), mean of the
    layers (:func:`independent_table`, :func:`per_seed_spearman`)."""
    _check_runs(runs)
    keys = [k for k in ("lr", "batch_size", "label_noise") if k in runs]
    if not keys:
        raise ValueError("runs must hold at least one of the sweeps 'lr', 'batch_size', "
                         "'label_noise'")
    return {k: per_seed_spearman(runs[k].sweep.axes[k], independent_table(runs[k], measure=measure))
            for k in keys}


def rank_report(runs: dict[str, Result]) -> str:
    """One line per sweep: the effective rank (mean of the layers; mean over seeds) at each level,
    and at initialisation."""
    _check_runs(runs)
    symbols = {"lr": "η", "batch_size": "B", "label_noise": "p"}
    lines = []
    for key, sym in symbols.items():
        if key in runs:
            tab = independent_table(runs[key], measure="effective_rank").mean(-1)
            init = independent_table(runs[key], step=0, measure="effective_rank").mean()
            levels = ", ".join(f"{lv:g}: {v:.3f}" for lv, v in zip(runs[key].sweep.axes[key], tab))
            lines.append(f"effective rank H (nats; at init {init:.3f}) against {sym}: {levels}")
    return "\n".join(lines)


def trends_report(rho: dict[str, np.ndarray]) -> str:
    """The per-seed correlations of :func:`collapse_trends` in one line (η, B, p)."""
    symbols = {"lr": "η", "batch_size": "B", "label_noise": "p"}
    if not isinstance(rho, dict):
        raise TypeError(f"rho must be a dict (collapse_trends), got {type(rho).__name__}")
    if not rho or set(rho) - set(symbols):
        raise ValueError(f"rho must be a non-empty dict with keys among {list(symbols)}")
    return "per-seed Spearman ρ: " + ",  ".join(f"{symbols[k]} {np.round(rho[k], 2)}"
                                                for k in symbols if k in rho)


def noise_controls(runs: dict[str, Result], steps: int) -> tuple[dict, dict]:
    """The two controls of "Is it the noise?": :func:`equal_time_gap` on the learning-rate sweep
    (trained for ``steps`` steps) and :func:`noise_beyond_mean` on the label-noise sweep against
    its smoothing control."""
    _check_runs(runs, need=("lr", "label_noise", "label_smoothing"))
    return (equal_time_gap(runs["lr"], steps),
            noise_beyond_mean(runs["label_noise"], runs["label_smoothing"]))


def two_phase_trend(two: Result) -> dict:
    """Fig. 6 in numbers: ``rho`` the per-seed Spearman ρ (S,) between T₁ and the final
    independent fraction, ``acc_gain`` the mean final test accuracy at the largest T₁ minus at
    the smallest, and ``report``, both in words."""
    _check_two(two)
    t1 = np.asarray(two.sweep.axes["switch_step"])
    acc = final_table(two, "test_accuracy")
    rho = per_seed_spearman(t1, independent_table(two))
    gain = float(acc[-1].mean() - acc[0].mean())
    report = (f"per-seed Spearman ρ(T1, independent) {np.round(rho, 2)};  test accuracy at "
              f"T1 = {t1[-1]} minus T1 = {t1[0]}: {100 * gain:+.2f} points")
    return {"rho": rho, "acc_gain": gain, "report": report}


def _check_two(two) -> None:
    if not isinstance(two, Result) or two.sweep is None or "switch_step" not in two.sweep.axes:
        raise TypeError("two must be the Result of two_phase (a Sweep over switch_step, seed), "
                        f"got {type(two).__name__}")


def equal_time_gap(lr_result: Result, steps: int) -> dict:
    """The equal-time control: the two largest learning rates η₋ < η₊ compared at the
    gradient-flow time τ = η₋·steps that the smaller one reaches at its end.

    Returns ``tau``, ``per_seed`` (independent fraction of η₊ at τ minus η₋ at its end, (S,)),
    ``gap_fixed`` (the mean gap at equal steps) and ``share`` (mean equal-time gap over the
    fixed-step gap; 0 when there is no fixed-step drop)."""
    _check_swept(lr_result, "lr_result", axis="lr", metric="independent")
    steps = check_scalar(steps, "steps", kind="int", min=1)
    lrs = np.array(lr_result.sweep.axes["lr"])
    if lrs.size < 2:
        raise ValueError(f"lr_result must sweep at least two learning rates, got {lrs.tolist()}")
    tau = lrs[-2] * steps
    hits = np.flatnonzero(np.isclose(lr_result.steps * lrs[-1], tau))
    if hits.size == 0:
        raise ValueError(f"lr_result has no record at ηt = {tau:g} for η = {lrs[-1]:g} (steps = "
                         f"{steps}: is it the number of steps the run was trained for?)")
    at_tau = independent_table(lr_result, step=int(hits[0]))[-1]
    end = independent_table(lr_result)
    per_seed = at_tau - end[-2]
    gap_fixed = float((end[-1] - end[-2]).mean())
    share = float(per_seed.mean() / gap_fixed) if gap_fixed < 0 else 0.0
    return {"tau": float(tau), "per_seed": per_seed, "gap_fixed": gap_fixed, "share": share}


def noise_beyond_mean(noise_result: Result, smoothing_result: Result) -> dict:
    """Label noise against its mean: ``diff`` (levels > 0, seeds) = independent fraction with
    noise p minus with smoothing s = p; ``trend`` the mean drop from p = 0; ``share`` the part
    of that drop due to the noise, mean(diff)/trend (0 when there is no drop)."""
    noisy = _table(noise_result, "noise_result")
    smooth = _table(smoothing_result, "smoothing_result")
    if noisy.shape[0] != smooth.shape[0] + 1:
        raise ValueError("the smoothing sweep must have the noise sweep's levels above p = 0")
    diff = noisy[1:] - smooth
    trend = float((noisy[1:] - noisy[0]).mean())
    share = float(diff.mean() / trend) if trend < 0 else 0.0
    return {"diff": diff, "trend": trend, "share": share}


def sweep_report(runs: dict[str, Result], *, timing: bool = False) -> str:
    """One line per level: independent fraction (mean ± sd over seeds), test accuracy, and for
    label noise the smoothing control beside it; with ``timing``, first a line with the number
    of networks trained and their wall time (``meta["wall_s"]``)."""
    timing = check_bool(timing, "timing")
    _check_runs(runs)
    lines = []
    if timing:
        lines.append(f"{sum(r.n_configs for r in runs.values())} networks trained in "
                     f"{sum(r.meta['wall_s'] for r in runs.values()):.1f} s")
    symbols = {"lr": "η", "batch_size": "B", "label_noise": "p"}
    smooth = independent_table(runs["label_smoothing"]) if "label_smoothing" in runs else None
    for key, sym in symbols.items():
        if key not in runs:
            continue
        res = runs[key]
        tab, acc = independent_table(res), final_table(res, "test_accuracy").mean(1)
        for k, (lv, row, a) in enumerate(zip(res.sweep.axes[key], tab, acc)):
            line = (f"{sym} = {lv:<5g} independent {row.mean():.3f} ± {row.std():.3f}   "
                    f"test accuracy {a:.3f}")
            if key == "label_noise" and smooth is not None and k > 0:
                line += (f"   | smoothing s = {lv:g}: {smooth[k - 1].mean():.3f} ± "
                         f"{smooth[k - 1].std():.3f}")
            lines.append(line)
    return "\n".join(lines)


def controls_report(gap: dict, noise: dict, lrs) -> str:
    """The two controls in words: :func:`equal_time_gap` and :func:`noise_beyond_mean`."""
    lrs = as_array(lrs, "lrs", ndim=1)
    if lrs.size < 2:
        raise ValueError(f"lrs must hold at least two learning rates, got {lrs.tolist()}")
    for name, d, keys in (("gap", gap, ("tau", "per_seed", "share")),
                          ("noise", noise, ("diff", "share"))):
        if not isinstance(d, dict):
            raise TypeError(f"{name} must be a dict, got {type(d).__name__}")
        if not set(keys) <= set(d):
            raise ValueError(f"{name} must hold the keys {keys}, got {sorted(d)}")
    return "\n".join([
        f"at ηt = {gap['tau']:g}: independent(η = {lrs[-1]:g}) − independent(η = {lrs[-2]:g}) per "
        f"seed {np.round(gap['per_seed'], 3)}, mean {gap['per_seed'].mean():+.3f}",
        f"label noise − smoothing: per p {np.round(noise['diff'].mean(1), 3)}, mean "
        f"{noise['diff'].mean():+.3f}",
        f"share of the gap left at equal ηt: {gap['share']:.3f};  share of the label-noise trend "
        f"due to the noise: {noise['share']:.3f}"])


def two_phase_report(two: Result) -> str:
    """One line per T₁: independent fraction and final test accuracy, mean ± sd over seeds."""
    _check_two(two)
    ind, acc = independent_table(two), final_table(two, "test_accuracy")
    return "\n".join(f"T1 = {t1:>6}: independent {i.mean():.3f} ± {i.std():.3f}   final test "
                     f"accuracy {a.mean():.4f} ± {a.std():.4f}"
                     for t1, i, a in zip(two.sweep.axes["switch_step"], ind, acc))


def training_time(runs: dict[str, Result], two: Result) -> str:
    """The wall time of the sweeps and of the two-phase run (``meta["wall_s"]``), in one line."""
    _check_runs(runs)
    _check_two(two)
    for name, r in [*((f"runs[{k!r}]", v) for k, v in runs.items()), ("two", two)]:
        if "wall_s" not in r.meta:
            raise ValueError(f"{name} must carry meta['wall_s'] (collapse_sweeps, two_phase)")
    t_sweeps = sum(r.meta["wall_s"] for r in runs.values())
    return f"training time: sweeps {t_sweeps:.1f} s, two-phase {two.meta['wall_s']:.1f} s"


def levels_text(levels) -> str:
    """Levels as the claims list them: ``0.05, 0.1, 0.2, 0.5``."""
    return ", ".join(f"{v:g}" for v in as_array(levels, "levels", ndim=1, nonempty=True).tolist())
