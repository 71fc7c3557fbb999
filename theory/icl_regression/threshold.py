"""The paper's task-diversity threshold (batch doubling), the early-stopping law and weight decay.

Raventós, Paul, Chen, Ganguli (2023), arXiv:2306.15063:

- **Threshold** (Sec. 3.1, Figs. 2–3): "we consider the task diversity threshold to be the
  cross-over point in Δ^{T_True}_{PT,Ridge} between batch sizes 256 and 512 when training for
  500K steps". Below it, more sequences per task (the larger batch at fixed steps) pull the
  transformer towards dMMSE, so Δ_{PT,Ridge} *grows* with the batch; above it they pull it
  towards ridge, so Δ_{PT,Ridge} falls. :func:`batch_crossover` finds where the sign of
  log(Δ_{2B}/Δ_B) turns from + to −, interpolated in log M (:func:`theory.core.first_crossing`).
- **Early stopping** (Sec. 3.1, Fig. 4): t* is "the training step at which Δ_{PT,Ridge} is
  minimized" (the caption says on T_Pretrain, the text's learning curves are on T_True: both are
  recorded); for M ≤ 2^10 the small PT follows t* ∝ M^α with α ≈ 0.47 (:data:`PAPER_ALPHA`),
  and beyond the threshold Δ_{PT,Ridge} falls throughout training (t* = the last step).
  :func:`early_stopping_times`, :func:`scaling_fit`.
- **Weight decay** (Sec. 3.3, Fig. 7 left): weight decay increased over three orders of
  magnitude consistently lowers the threshold.

:func:`threshold_study` trains all of it, pool sizes × batch sizes × weight decays, as one
batched program (:func:`~theory.icl_regression.train_sweep`), laid out by a
:class:`theory.core.Sweep`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from theory.core import Sweep, as_array, check_bool, check_scalar, check_seed, first_crossing

__all__ = ["PAPER_ALPHA", "PAPER_ALPHA_MAX_M", "Crossover", "ScalingFit", "ThresholdStudy",
           "threshold_settings",
           "batch_crossover", "early_stopping_times", "scaling_fit", "threshold_study"]

#: The paper's early-stopping exponent, t* ∝ M^α (Sec. 3.1, Fig. 4 right: small PT, batch 512).
PAPER_ALPHA = 0.47
#: The largest M of the paper's fit (Fig. 4 right: M ≤ 2^10).
PAPER_ALPHA_MAX_M = 2**10


def _finite_increasing(Ms, name="Ms") -> np.ndarray:
    if isinstance(Ms, (str, bytes)) or not hasattr(Ms, "__iter__"):
        raise TypeError(f"{name} must be a sequence of pool sizes, got {type(Ms).__name__}")
    arr = as_array(list(Ms), name, ndim=1)
    if arr.size < 2:
        raise ValueError(f"{name} must hold at least two pool sizes")
    if not np.all(np.isfinite(arr)) or np.any(arr < 1):
        raise ValueError(f"{name} must be finite pool sizes >= 1, got {list(Ms)}")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name} must increase strictly, got {list(Ms)}")
    return arr


def _positive(values, name, n) -> np.ndarray:
    arr = as_array(values, name)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have one value per pool size ({n}), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be finite and positive (distances of Eq. 4)")
    return arr


@dataclass(frozen=True)
class Crossover:
    """The batch-doubling crossover over the pool sizes ``Ms``.

    ``gap`` = log(Δ_large / Δ_small) per M (> 0: the larger batch is further from ridge, the
    dMMSE side; < 0: closer to ridge). ``M_star``: the first M at which the gap reaches 0,
    interpolated linearly in log M between the sweep's points (NaN where there is no sign change
    from + to −); ``status``: "crossing", "below" (the gap is already ≤ 0 at the smallest M: the
    threshold lies at or below the sweep) or "above" (> 0 at every M: above the sweep)."""

    Ms: np.ndarray
    gap: np.ndarray
    M_star: float
    status: str

    @property
    def log2_star(self) -> float:
        return float(np.log2(self.M_star)) if np.isfinite(self.M_star) else math.nan

    @property
    def log2_bound(self) -> float:
        """log₂ M* where the sweep holds a crossover; otherwise the sweep's bound on it: log₂ of
        the smallest M ("below": the threshold lies at or below it) or of the largest ("above":
        at or above it)."""
        if self.status == "crossing":
            return self.log2_star
        return float(np.log2(self.Ms[0] if self.status == "below" else self.Ms[-1]))

    def table(self, labels=("B", "2B")) -> str:
        rows = [f"M = {int(M):>4}: log Δ_PT,Ridge({labels[1]})/Δ_PT,Ridge({labels[0]}) on new "
                f"tasks = {g:+.3f}  ({'towards dMMSE' if g > 0 else 'towards ridge'})"
                for M, g in zip(self.Ms, self.gap)]
        rows.append({"crossing": f"crossover: M* ≈ {self.M_star:.1f} (log2 M* ≈ {self.log2_star:.2f})",
                     "below": "no crossover in the sweep: the larger batch is closer to ridge "
                              "already at the smallest M",
                     "above": "no crossover in the sweep: the larger batch is further from ridge "
                              "at every M"}[self.status])
        return "\n".join(rows)


def batch_crossover(Ms, delta_small, delta_large) -> Crossover:
    """The paper's threshold criterion (Sec. 3.1): the crossover in M of Δ^{T_True}_{PT,Ridge}
    (Eq. 4) between a batch B (``delta_small``) and a larger batch, 2B in the paper
    (``delta_large``), at equal steps.

    ``Ms``: the finite pool sizes (strictly increasing); the deltas: one positive distance per M.
    The gap g(M) = log Δ_large − log Δ_small; M* is the first M where g falls to 0
    (:func:`theory.core.first_crossing`, direction "below", interpolated in log M).
    """
    M = _finite_increasing(Ms)
    small = _positive(delta_small, "delta_small", M.size)
    large = _positive(delta_large, "delta_large", M.size)
    gap = np.log(large) - np.log(small)
    if gap[0] <= 0:
        return Crossover(Ms=M, gap=gap, M_star=math.nan, status="below")
    if np.all(gap > 0):
        return Crossover(Ms=M, gap=gap, M_star=math.nan, status="above")
    star = float(first_crossing(gap, M, 0.0, direction="below", interpolate="log"))
    return Crossover(Ms=M, gap=gap, M_star=star, status="crossing")


def early_stopping_times(steps, curves):
    """t* per curve: the recorded step at which Δ_PT,Ridge is smallest (Sec. 3.1, Fig. 4; the
    first such record on ties), and whether it is interior (before the last record; at the last
    record the curve fell throughout training, the paper's "t* = 2M" beyond the threshold).

    ``steps`` (T,) strictly increasing; ``curves`` (G, T) finite. Returns ``(t_star (G,),
    interior (G,) bool)``."""
    s = as_array(steps, "steps", ndim=1)
    c = as_array(curves, "curves")
    if s.size < 2 or np.any(np.diff(s) <= 0):
        raise ValueError("steps must be a strictly increasing 1-D array of at least two records")
    if c.ndim != 2 or c.shape[1] != s.size:
        raise ValueError(f"curves must be (G, {s.size}), got shape {c.shape}")
    j = np.argmin(c, axis=1)
    return s[j], j < s.size - 1


@dataclass(frozen=True)
class ScalingFit:
    """A least-squares line log t* = a + α log M over the pool sizes ``Ms`` (those used)."""

    Ms: np.ndarray
    t_star: np.ndarray
    alpha: float
    intercept: float
    se: float            # standard error of α (NaN with two points)

    def predict(self, M) -> np.ndarray:
        return np.exp(self.intercept) * np.asarray(M, dtype=float) ** self.alpha

    def report(self) -> str:
        pts = ", ".join(f"{int(M)}: {t:.0f}" for M, t in zip(self.Ms, self.t_star))
        return (f"t* by M ({pts})\nfit t* ∝ M^α: α = {self.alpha:.3f} ± {self.se:.3f} "
                f"(paper, small PT, M ≤ 2^10: α ≈ {PAPER_ALPHA})")


def scaling_fit(Ms, t_star, *, max_M=PAPER_ALPHA_MAX_M, interior=None) -> ScalingFit:
    """Fit t* ∝ M^α (Fig. 4 right) by least squares of log t* on log M over the finite pool
    sizes M ≤ ``max_M`` (and, given ``interior``, only the interior minima). Needs two points."""
    if isinstance(Ms, (str, bytes)) or not hasattr(Ms, "__iter__"):
        raise TypeError(f"Ms must be a sequence of pool sizes, got {type(Ms).__name__}")
    M = np.asarray(list(Ms))
    if M.dtype == bool or not np.issubdtype(M.dtype, np.number) or np.iscomplexobj(M):
        raise TypeError(f"Ms must hold pool sizes (real numbers), got dtype {M.dtype}")
    M = M.astype(float)
    if M.ndim != 1 or M.size == 0:
        raise ValueError(f"Ms must be a non-empty 1-D sequence of pool sizes, got shape {M.shape}")
    if np.any(np.isnan(M)) or np.any(M == -np.inf) or np.any(M < 1):
        raise ValueError(f"Ms must be pool sizes >= 1 or math.inf, got {M.tolist()}")
    t = as_array(t_star, "t_star", ndim=1)
    if t.shape != M.shape:
        raise ValueError(f"Ms and t_star must be 1-D of the same length: t_star must have one "
                         f"entry per pool size ({M.size}), got {t.size}")
    max_M = check_scalar(max_M, "max_M", min=1.0)
    keep = np.isfinite(M) & (M <= max_M) & (M >= 1)
    if interior is not None:
        if isinstance(interior, (str, bytes)):
            raise TypeError("interior must be an array of bools, one per pool size")
        interior = np.asarray(interior)
        if interior.dtype != bool:
            raise TypeError(f"interior must be an array of bools, got dtype {interior.dtype}")
        if interior.shape != M.shape:
            raise ValueError("interior must have one entry per pool size")
        keep &= interior
    if np.any(t <= 0):
        raise ValueError("t_star must be positive (early-stopping steps)")
    if keep.sum() < 2 or np.unique(M[keep]).size < 2:
        raise ValueError("scaling_fit needs at least two distinct pool sizes to fit")
    x, y = np.log(M[keep]), np.log(t[keep])
    A = np.vstack([np.ones_like(x), x]).T
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    n = x.size
    if n > 2:
        resid = y - A @ coef
        s2 = resid @ resid / (n - 2)
        se = float(np.sqrt(s2 / np.sum((x - x.mean()) ** 2)))
    else:
        se = math.nan
    return ScalingFit(Ms=M[keep], t_star=t[keep], alpha=float(coef[1]),
                      intercept=float(coef[0]), se=se)


@dataclass
class ThresholdStudy:
    """One batched run with its evaluation: ``run`` (:class:`~theory.icl_regression.SweepRun`),
    ``ev`` (:class:`~theory.icl_regression.SweepEval`). Its models are the configurations of
    ``sweeps`` in order (each a :class:`theory.core.Sweep` over M × batch × weight decay, C
    order): the pool sizes ``Ms`` × ``batch_sizes`` without weight decay, then ``decay_Ms`` ×
    ``batch_sizes`` × each non-zero weight decay."""

    sweeps: list
    run: object
    ev: object
    Ms: list
    batch_sizes: list
    weight_decays: list
    decay_Ms: list

    def configs(self) -> list:
        return [c for sw in self.sweeps for c in sw.configs()]

    def index(self, M, batch, weight_decay=0.0) -> int:
        """The configuration index of (M, batch, weight decay) in the batch of models."""
        key = "inf" if (isinstance(M, float) and math.isinf(M)) else M
        for g, c in enumerate(self.configs()):
            if (c["M"], c["batch"], c["weight_decay"]) == (key, batch, weight_decay):
                return g
        raise ValueError(f"(M={M}, batch={batch}, weight_decay={weight_decay}) is not in the sweep")

    def finite_Ms(self, weight_decay=0.0) -> list:
        Ms = self.Ms if weight_decay == 0 else self.decay_Ms
        return [M for M in Ms if not math.isinf(M)]

    def delta_new(self, batch, weight_decay=0.0, Ms=None) -> np.ndarray:
        """Δ^{T_True}_{PT,Ridge} at the end of training (evaluation set) for each M."""
        Ms = self.finite_Ms(weight_decay) if Ms is None else Ms
        return np.array([self.ev.d_pt_ridge_new[self.index(M, batch, weight_decay)] for M in Ms])

    def crossover(self, weight_decay=0.0) -> Crossover:
        """The batch-doubling crossover (:func:`batch_crossover`) at one weight decay."""
        small, large = self.batch_sizes
        return batch_crossover(self.finite_Ms(weight_decay), self.delta_new(small, weight_decay),
                               self.delta_new(large, weight_decay))

    def curves(self, name="d_ridge_pool", batch=None, weight_decay=0.0) -> np.ndarray:
        """The recorded learning curves (len(Ms), T) of one batch size and weight decay."""
        batch = self.batch_sizes[-1] if batch is None else batch
        return np.stack([self.run[name][self.index(M, batch, weight_decay)] for M in self.Ms])

    def stopping(self, name="d_ridge_pool", batch=None, weight_decay=0.0):
        """``(t_star, interior)`` per M (:func:`early_stopping_times`) of one batch size."""
        return early_stopping_times(self.run.steps, self.curves(name, batch, weight_decay))

    def alpha(self, name="d_ridge_pool", batch=None, max_M=PAPER_ALPHA_MAX_M) -> ScalingFit:
        """The fit t* ∝ M^α (:func:`scaling_fit`) over the interior minima with M ≤ max_M."""
        t, interior = self.stopping(name, batch)
        return scaling_fit(self.Ms, t, max_M=max_M, interior=interior)


def threshold_study(Ms, batch_sizes, weight_decays, config, *, sigma2, steps, lr, seed=0,
                    pool_seed=1, track=256, record_every=20, n_eval=2048, decay_Ms=None,
                    progress=True) -> ThresholdStudy:
    """Train every (M, B) of ``Ms`` × ``batch_sizes`` (two: B and the larger one) without weight
    decay, and every (M, B, λ) of ``decay_Ms`` (default: ``Ms``) × ``batch_sizes`` × the
    non-zero entries of ``weight_decays``, as one batched program
    (:func:`~theory.icl_regression.train_sweep`, with Δ_PT,Ridge learning curves on ``track``
    fixed sequences), then evaluate it (:func:`~theory.icl_regression.evaluate_sweep`,
    ``n_eval`` sequences).

    Models of equal M share their seeds (initial weights, pool, data streams), so the two
    batch sizes see nested batches and the weight decays the same draws: the contrasts of the
    criterion are paired."""
    from theory.icl_regression.risks import evaluate_sweep
    from theory.icl_regression.transformer import train_sweep

    from theory.icl_regression.risks import _check_pool_sizes
    from theory.icl_regression.transformer import ModelConfig

    if (isinstance(batch_sizes, (str, bytes)) or not hasattr(batch_sizes, "__iter__")
            or len(list(batch_sizes)) != 2):
        raise ValueError("batch_sizes must be two batch sizes (B and the larger one)")
    batch_sizes = [check_scalar(b, "batch_sizes entry", kind="int", min=1) for b in batch_sizes]
    if batch_sizes[1] <= batch_sizes[0]:
        raise ValueError(f"batch_sizes must increase (B, then the larger batch), got {batch_sizes}")
    if isinstance(weight_decays, (str, bytes)) or not hasattr(weight_decays, "__iter__"):
        raise TypeError(f"weight_decays must be a list of numbers >= 0, got "
                        f"{type(weight_decays).__name__}")
    weight_decays = [check_scalar(w, "weight_decays entry", min=0.0) for w in weight_decays]
    if 0.0 not in weight_decays:
        raise ValueError("weight_decays must include 0 (the criterion without weight decay)")
    Ms = _check_pool_sizes(Ms)
    if not Ms:
        raise ValueError("Ms must name at least one pool size")
    decay_Ms = Ms if decay_Ms is None else _check_pool_sizes(decay_Ms, "decay_Ms")
    if not isinstance(config, ModelConfig):
        raise TypeError(f"config must be a ModelConfig, got {type(config).__name__}")
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    seed, pool_seed = check_seed(seed, "seed"), check_seed(pool_seed, "pool_seed")
    if track is not None:
        track = check_scalar(track, "track", kind="int", min=1)
    record_every = check_scalar(record_every, "record_every", kind="int", min=1)
    n_eval = check_scalar(n_eval, "n_eval", kind="int", min=1)
    progress = check_bool(progress, "progress")

    def key(M):
        return "inf" if (isinstance(M, float) and math.isinf(M)) else M

    sweeps = [Sweep(M=[key(M) for M in Ms], batch=batch_sizes, weight_decay=[0.0])]
    decays = [w for w in weight_decays if w != 0.0]
    if decays:
        sweeps.append(Sweep(M=[key(M) for M in decay_Ms], batch=batch_sizes, weight_decay=decays))
    configs = [c for sw in sweeps for c in sw.configs()]   # M holds ints and "inf": per configuration
    run = train_sweep([math.inf if c["M"] == "inf" else c["M"] for c in configs], config,
                      sigma2=sigma2, steps=steps, batch_size=[c["batch"] for c in configs],
                      weight_decay=[c["weight_decay"] for c in configs], lr=lr,
                      seed=seed, pool_seed=pool_seed, record_every=record_every, track=track,
                      progress=progress)
    ev = evaluate_sweep(run, n=n_eval)
    return ThresholdStudy(sweeps=sweeps, run=run, ev=ev, Ms=Ms, batch_sizes=batch_sizes,
                          weight_decays=weight_decays, decay_Ms=decay_Ms)


def threshold_settings() -> dict:
    """The threshold page's sizes at the active scale (:func:`theory.core.scaled`).

    Paper: the base model of Sec. 3 (D = 8, K = 16, σ² = 0.25, 8 layers × 128, 2 heads), batch
    256 and 512 (Sec. 3.1), 500k steps, peak learning rate 1e-3 (the official example
    configuration; the paper takes the largest stable one), M = 2⁰ … 2¹⁵ and ∞, evaluation on
    2²⁰ sequences (official ``eval.n_samples``). The weight decays (Sec. 3.3, Fig. 7 left: three
    decades; the paper's values are in its App. B, which the book has not read) and the
    recorded curves (the paper's Fig. 4 uses the small PT at batch 512) are the book's choices.
    Laptop: the book's reconstruction, described on the page (``book/icl_regression/
    threshold.ipynb``)."""
    from theory.core import scaled
    from theory.icl_regression.transformer import ModelConfig
    return dict(
        config=scaled(ModelConfig(D=2, K=8, n_layer=2, n_embd=32, n_head=2),
                      ModelConfig(D=8, K=16, n_layer=8, n_embd=128, n_head=2)),
        Ms=scaled([4, 16, 64, math.inf], [2**k for k in range(16)] + [math.inf]),
        batch_sizes=scaled([32, 64], [256, 512]),
        weight_decays=scaled([0.0, 0.01], [0.0, 1e-4, 1e-3, 1e-2]),
        decay_Ms=scaled([4, 16], None),
        sigma2=scaled(0.0625, 0.25), steps=scaled(800, 500_000), lr=scaled(3e-3, 1e-3),
        track=scaled(256, 4096), record_every=scaled(20, 5000), n_eval=scaled(2048, 2**20))
