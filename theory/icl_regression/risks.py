"""Losses and distances of the paper (Eqs. 1 and 4), exact Bayes risks, and sweep evaluation.

Raventós, Paul, Chen, Ganguli (2023), arXiv:2306.15063, Secs. 2–3 (estimator losses: Fig. 2, left column). Losses are reported per
dimension, L/D, as in the paper's figures:

- loss of a predictor f on a task distribution T: (1/(KD)) Σ_k E[(f(S_k) − y_k)²] (Eq. 1 / D);
- distance between two predictors f and g on T: Δ = (1/(KD)) Σ_k E[(f(S_k) − g(S_k))²] (Eq. 4).

Closed forms used as checks (σ² the noise variance, tasks w ~ N(0, I_D) for T_True):

- ridge is the posterior mean under T_True, so given the inputs its expected error at position
  k is σ² + x_kᵀΣ_k x_k with Σ_k = σ²(X_{<k}ᵀX_{<k} + σ²I)⁻¹ the posterior covariance; averaged
  over x_k, σ² + tr Σ_k (:func:`ridge_risk_given_inputs`); at k = 1 this is σ² + D;
- dMMSE's first prediction is the pool mean w̄, so at k = 1 its risk is σ² + (1/M)Σ‖w⁽ⁱ⁾ − w̄‖²
  on the pool and σ² + D + ‖w̄‖² on new tasks (:func:`dmmse_first_risk`).

The checks and baseline sweeps of ``book/icl_regression/bayes_estimators.ipynb``
(:func:`reference_errors`, :func:`posterior_concentration`, :func:`risk_checks`,
:func:`pool_size_sweep`, :func:`dimension_sweep`, :func:`noise_sweep`, :func:`dimension_study`)
and the analyses of a trained sweep in ``task_diversity.ipynb`` (:func:`evaluate_sweep`,
:func:`transition`, :func:`path_losses`, :func:`sweep_paths`) live here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from theory.core import array_bytes, as_array, check_memory, check_scalar, check_seed, first_crossing
from theory.icl_regression.data import _tensor, sample_pool, sample_sequences
from theory.icl_regression.estimators import (_check_pool, dmmse_naive, dmmse_posterior, dmmse_predict,
                                              ridge_naive, ridge_predict)

__all__ = ["BaselineRisks", "DimensionStudy", "PAPER_THRESHOLD_LOG2", "PATH_ALPHA", "PathLosses",
           "PoolSizeSweep", "PosteriorConcentration", "ReferenceErrors", "RiskChecks", "SweepEval",
           "Transition", "baseline_risks", "dimension_study", "dimension_sweep", "distance", "dmmse_first_risk",
           "evaluate_sweep", "loss", "noise_sweep", "path_losses", "path_table",
           "pool_size_sweep", "posterior_concentration", "reference_errors", "ridge_risk_given_inputs",
           "risk_checks", "sweep_paths", "transition"]


def _check_same(a, b, names):
    for x, name in zip((a, b), names):
        _tensor(x, name)
    if a.shape != b.shape:
        raise ValueError(f"{names[0]} {tuple(a.shape)} and {names[1]} {tuple(b.shape)} must "
                         f"have one shape")
    if a.ndim < 1:
        raise ValueError(f"{names[0]} and {names[1]} must have a positions axis (..., K)")


def loss(pred: torch.Tensor, ys: torch.Tensor, D: int) -> np.ndarray:
    """Per-position loss (K,) divided by D: E[(pred_k − y_k)²]/D over the leading axes (Eq. 1)."""
    _check_same(pred, ys, ("pred", "ys"))
    return _per_position(pred, ys, D)


def _per_position(a, b, D):
    D = check_scalar(D, "D", kind="int", min=1)
    err = (a.double() - b.double()) ** 2
    return err.reshape(-1, err.shape[-1]).mean(0).numpy() / D


def distance(f: torch.Tensor, g: torch.Tensor, D: int) -> float:
    """Eq. 4: (1/(KD)) Σ_k E[(f_k − g_k)²], for predictions f and g of one shape (..., K)."""
    _check_same(f, g, ("f", "g"))
    return float(_per_position(f, g, D).mean())


def _check_xs(xs):
    _tensor(xs, "xs")
    if xs.ndim != 3:
        raise ValueError(f"xs must be a tensor of shape (n, K, D), got {tuple(xs.shape)}")


def _pool2(pool):
    """A pool (M, D): a finite float tensor of two dimensions, M >= 1."""
    _tensor(pool, "pool")
    if pool.ndim != 2:
        raise ValueError(f"pool must be a tensor of shape (M, D), got {tuple(pool.shape)}")
    return pool


def ridge_risk_given_inputs(xs: torch.Tensor, sigma2: float) -> np.ndarray:
    """Per-position Bayes risk of ridge under T_True, given the inputs, per dimension (K,):
    (σ² + σ² tr (X_{<k}ᵀX_{<k} + σ²I)⁻¹)/D averaged over the sequences in xs (n, K, D)
    (the book's reconstruction from Eq. 3: ridge is the posterior mean), from the singular
    values of X_{<k} (finite and accurate at every σ² > 0)."""
    _check_xs(xs)
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    n, K, D = xs.shape
    check_memory(4 * array_bytes(n, K, D), f"the inputs of n={n} sequences of K={K} in D={D}")
    # σ² tr (X_{<k}ᵀX_{<k} + σ²I)⁻¹ = (D − r) + Σ_{i≤r} 1/(1 + s_i²/σ²) over the r = min(k−1, D)
    # singular values s_i of X_{<k}: each term in [0, 1], finite for every σ² > 0 (an inverse
    # of the near-singular XᵀX + σ²I loses everything at σ² ≲ 1e-15 and overflows at 1e-308)
    x = xs.double()
    tr = torch.full((n, K), float(D), dtype=torch.float64)
    for k in range(1, K):
        sv = torch.linalg.svdvals(x[:, :k])
        tr[:, k] = (D - sv.shape[-1]) + (1.0 / (1.0 + sv * sv / sigma2)).sum(-1)
    return ((sigma2 + tr).mean(0) / D).numpy()


def dmmse_first_risk(pool: torch.Tensor, sigma2: float) -> tuple[float, float]:
    """dMMSE's exact risk at k = 1 per dimension: (on the pool, on new tasks N(0, I_D)):
    (σ² + (1/M)Σ‖w⁽ⁱ⁾ − w̄‖²)/D and (σ² + D + ‖w̄‖²)/D (Eq. 2 at k = 1: ŵ₁ = w̄)."""
    _pool2(pool)
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    pool = pool.double()
    D = pool.shape[1]
    mean = pool.mean(0)
    on_pool = sigma2 + float(((pool - mean) ** 2).sum(1).mean())
    on_new = sigma2 + D + float((mean ** 2).sum())
    return on_pool / D, on_new / D


@dataclass(frozen=True)
class BaselineRisks:
    """Per-position losses (K,) per dimension of dMMSE and ridge on pool tasks and on new tasks,
    with their standard errors, and the distance Δ(dMMSE, ridge) on each."""

    dmmse_pool: np.ndarray
    ridge_pool: np.ndarray
    dmmse_new: np.ndarray
    ridge_new: np.ndarray
    se_pool: np.ndarray
    se_new: np.ndarray
    delta_pool: float
    delta_new: float

    @property
    def z_new(self) -> np.ndarray:
        """dMMSE's minus ridge's loss on new tasks per position, in paired standard errors (K,)."""
        return (self.dmmse_new - self.ridge_new) / self.se_new


def baseline_risks(pool: torch.Tensor, K: int, sigma2: float, *, n: int = 2048,
                   seed: int = 0) -> BaselineRisks:
    """Monte Carlo risks of dMMSE (Eq. 2, for ``pool``) and ridge (Eq. 3), on n sequences from
    the pool (seed ``seed``) and n with fresh tasks (seed ``seed + 1``), every context length at
    once; Δ is Eq. 4. Standard errors are of the paired difference dMMSE − ridge per position."""
    _pool2(pool)
    K, n = check_scalar(K, "K", kind="int", min=1), check_scalar(n, "n", kind="int", min=1)
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    seed = check_seed(seed, "seed")
    D = pool.shape[1]
    out = {}
    for where, kw in (("pool", dict(pool=pool)), ("new", dict(D=D))):
        s = sample_sequences(n, K, sigma2, seed=seed + (where == "new"), **kw)
        pd = dmmse_predict(s.xs, s.ys, pool, sigma2)
        pr = ridge_predict(s.xs, s.ys, sigma2)
        out[f"dmmse_{where}"] = loss(pd, s.ys, D)
        out[f"ridge_{where}"] = loss(pr, s.ys, D)
        diff = ((pd - s.ys) ** 2 - (pr - s.ys) ** 2) / D
        out[f"se_{where}"] = (diff.std(0) / math.sqrt(n)).numpy()
        out[f"delta_{where}"] = distance(pd, pr, D)
    return BaselineRisks(**out)


# ------------------------------------------------------------------ the estimator page's sweeps

@dataclass(frozen=True)
class ReferenceErrors:
    """Largest |batched − slow reference| of dMMSE (on pool sequences) and of ridge (on new-task
    sequences) over all sequences and positions (:func:`reference_errors`)."""

    dmmse: float
    ridge: float

    def table(self) -> str:
        return f"max |batched − reference|: dMMSE {self.dmmse:.1e}, ridge {self.ridge:.1e}"


def _check_problem(M, D, K, n, sigma2, pool_seed, seed):
    """The sizes, noise and seeds of a small estimator check, validated."""
    M, D, K, n = (check_scalar(v, name, kind="int", min=1) for v, name in
                  ((M, "M"), (D, "D"), (K, "K"), (n, "n")))
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    pool_seed = check_seed(pool_seed, "pool_seed")
    seed = check_seed(seed, "seed")
    if max(pool_seed, seed) + 1 > 2**63 - 1:
        raise ValueError("pool_seed and seed must be below 2**63 - 1 (seed + 1 is used too)")
    return M, D, K, n, sigma2, pool_seed, seed


def reference_errors(M: int = 6, D: int = 3, K: int = 7, sigma2: float = 0.3, *, n: int = 5,
                     pool_seed: int = 1, seed: int = 2) -> ReferenceErrors:
    """The batched estimators against their slow references: dMMSE (Eq. 2,
    :func:`~theory.icl_regression.dmmse_predict`) against explicit posterior weights
    (:func:`~theory.icl_regression.dmmse_naive`) on n sequences from a pool of M tasks (pool seed
    ``pool_seed``, sequences seed ``seed``), and ridge (Eq. 3) against Gaussian conditioning in
    kernel form (:func:`~theory.icl_regression.ridge_naive`) on n new-task sequences (seed
    ``seed + 1``)."""
    M, D, K, n, sigma2, pool_seed, seed = _check_problem(M, D, K, n, sigma2, pool_seed, seed)
    pool = sample_pool(M, D, seed=pool_seed)
    s = sample_sequences(n, K, sigma2, pool=pool, seed=seed)
    s_new = sample_sequences(n, K, sigma2, D=D, seed=seed + 1)
    err_dmmse = (dmmse_predict(s.xs, s.ys, pool, sigma2) - dmmse_naive(s.xs, s.ys, pool, sigma2))
    err_ridge = ridge_predict(s_new.xs, s_new.ys, sigma2) - ridge_naive(s_new.xs, s_new.ys, sigma2)
    return ReferenceErrors(dmmse=err_dmmse.abs().max().item(), ridge=err_ridge.abs().max().item())


@dataclass(frozen=True)
class PosteriorConcentration:
    """The dMMSE posterior weight of each sequence's true pool task per position, ``true_weight``
    (n, K); ``top_is_true`` (n,): whether the true task carries the largest weight after all K − 1
    examples (position K); ``finite``: whether every posterior weight is finite."""

    M: int
    true_weight: np.ndarray
    top_is_true: np.ndarray
    finite: bool

    def table(self, positions=(1, 5, 9, 13, 16)) -> str:
        """The median weight of the true task over the sequences at the given positions k."""
        positions = [check_scalar(k, "positions entry", kind="int", min=1,
                                  max=self.true_weight.shape[1]) for k in positions]
        med = np.median(self.true_weight, axis=0)[[k - 1 for k in positions]].round(4)
        return (f"median posterior weight of the true task at k = {', '.join(map(str, positions))}:"
                f" {med}")


def posterior_concentration(M: int, D: int, K: int, sigma2: float, *, n: int, pool_seed: int = 4,
                            seed: int = 5) -> PosteriorConcentration:
    """The dMMSE posterior (Eq. 2, :func:`~theory.icl_regression.dmmse_posterior`) over a pool
    of M tasks (seed ``pool_seed``) on n sequences of K pairs from the pool (seed ``seed``), read
    at each sequence's true task."""
    M, D, K, n, sigma2, pool_seed, seed = _check_problem(M, D, K, n, sigma2, pool_seed, seed)
    pool = sample_pool(M, D, seed=pool_seed)
    s = sample_sequences(n, K, sigma2, pool=pool, seed=seed)
    post = dmmse_posterior(s.xs, s.ys, pool, sigma2)                     # (n, K, M)
    return PosteriorConcentration(
        M=M, true_weight=post[torch.arange(n), :, s.task_index].numpy(),
        top_is_true=(post[:, -1].argmax(-1) == s.task_index).numpy(),
        finite=bool(torch.isfinite(post).all()))


@dataclass(frozen=True)
class RiskChecks:
    """Monte Carlo risks against their closed forms: ridge per position (K,) and dMMSE at k = 1
    on the pool and on new tasks (2,), with |Monte Carlo − exact| in standard errors."""

    ridge_exact: np.ndarray
    ridge_mc: np.ndarray
    z_ridge: np.ndarray
    first_exact: np.ndarray
    first_mc: np.ndarray
    z_first: np.ndarray

    def table(self) -> str:
        rows = [f"dMMSE at k = 1 on {where}: Monte Carlo {mc:.4f}, exact {exact:.4f}"
                for where, mc, exact in zip(("the pool", "new tasks"), self.first_mc,
                                            self.first_exact)]
        rows.append(f"ridge per-position risk, exact given inputs: {self.ridge_exact.round(3)}")
        rows.append(f"largest |Monte Carlo − exact| in standard errors: ridge "
                    f"{self.z_ridge.max():.2f}, dMMSE at k = 1 {self.z_first.round(2)}")
        return "\n".join(rows)


def risk_checks(pool: torch.Tensor, K: int, sigma2: float, *, n: int,
                seed: int = 8) -> RiskChecks:
    """Ridge's Monte Carlo risk per position on n new-task sequences (seed ``seed``) against
    σ² + tr Σ_k (:func:`ridge_risk_given_inputs` on the same inputs), and dMMSE's risk at k = 1
    on 4n sequences from the pool and 4n with new tasks (both seed ``seed + 1``) against
    :func:`dmmse_first_risk`."""
    _pool2(pool)
    K, n = check_scalar(K, "K", kind="int", min=1), check_scalar(n, "n", kind="int", min=2)
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    seed = check_seed(seed, "seed")
    D = pool.shape[1]
    new = sample_sequences(n, K, sigma2, D=D, seed=seed)
    exact = ridge_risk_given_inputs(new.xs, sigma2)
    err = (ridge_predict(new.xs, new.ys, sigma2) - new.ys) ** 2
    mc = err.mean(0).numpy() / D
    z_ridge = np.abs(mc - exact) / (err.std(0).numpy() / D / math.sqrt(n))
    first_exact = np.array(dmmse_first_risk(pool, sigma2))
    first_mc, z_first = [], []
    for kw in (dict(pool=pool), dict(D=D)):
        s1 = sample_sequences(4 * n, 1, sigma2, seed=seed + 1, **kw)
        e1 = (dmmse_predict(s1.xs, s1.ys, pool, sigma2) - s1.ys)[:, 0] ** 2 / D
        first_mc.append(e1.mean().item())
        z_first.append(abs(e1.mean().item() - first_exact[len(z_first)])
                       / (e1.std().item() / math.sqrt(4 * n)))
    return RiskChecks(ridge_exact=exact, ridge_mc=mc, z_ridge=z_ridge, first_exact=first_exact,
                      first_mc=np.array(first_mc), z_first=np.array(z_first))


@dataclass(frozen=True)
class PoolSizeSweep:
    """dMMSE and ridge against the pool size M: mean losses per dimension over the K positions
    on the pool and on new tasks, Δ(dMMSE, ridge) on each (Eq. 4), and the mean paired standard
    error of dMMSE − ridge on the pool; each (len(Ms),)."""

    Ms: np.ndarray
    D: int
    K: int
    sigma2: float
    n: int
    dmmse_pool: np.ndarray
    ridge_pool: np.ndarray
    dmmse_new: np.ndarray
    ridge_new: np.ndarray
    delta_pool: np.ndarray
    delta_new: np.ndarray
    se_pool: np.ndarray

    def table(self) -> str:
        rows = [("M:            ", self.Ms.tolist()),
                ("dMMSE pool:   ", self.dmmse_pool.round(4)), ("ridge pool:   ", self.ridge_pool.round(4)),
                ("dMMSE new:    ", self.dmmse_new.round(4)), ("ridge new:    ", self.ridge_new.round(4)),
                ("Δ(dMMSE,R) new:", self.delta_new.round(4))]
        return "\n".join(f"{name} {value}" for name, value in rows)


def pool_size_sweep(Ms, D: int, K: int, sigma2: float, *, n: int, pool_seed: int = 100,
                    seed: int = 200) -> PoolSizeSweep:
    """:func:`baseline_risks` for pools of each size in ``Ms`` (Sec. 3.1, Fig. 2 left column): the i-th
    pool is ``sample_pool(Ms[i], D, seed=pool_seed + i)``, its sequences seed ``seed + i``
    (one computation per M, so consecutive seeds never share a batch)."""
    Ms = _check_sizes(Ms, "Ms")
    D = check_scalar(D, "D", kind="int", min=1)
    K, n = check_scalar(K, "K", kind="int", min=1), check_scalar(n, "n", kind="int", min=1)
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    pool_seed, seed = _seed_range(pool_seed, "pool_seed", len(Ms)), _seed_range(seed, "seed", len(Ms))
    rs = [baseline_risks(sample_pool(M, D, seed=pool_seed + i), K, sigma2, n=n, seed=seed + i)
          for i, M in enumerate(Ms)]
    return PoolSizeSweep(
        Ms=np.array(Ms), D=D, K=K, sigma2=float(sigma2), n=n,
        **{k: np.array([getattr(r, k).mean() for r in rs])
           for k in ("dmmse_pool", "ridge_pool", "dmmse_new", "ridge_new", "se_pool")},
        delta_pool=np.array([r.delta_pool for r in rs]),
        delta_new=np.array([r.delta_new for r in rs]))


def _check_sizes(Ms, name):
    if isinstance(Ms, (str, bytes)) or not hasattr(Ms, "__iter__"):
        raise TypeError(f"{name} must be a list of positive ints, got {type(Ms).__name__}")
    Ms = [check_scalar(M, f"{name} entry", kind="int", min=1) for M in Ms]
    if not Ms:
        raise ValueError(f"{name} must hold at least one value")
    return Ms


def _seed_range(seed, name, count):
    """A base seed to which offsets below ``count`` are added: all must stay legal seeds."""
    seed = check_seed(seed, name)
    if seed + count > 2**63 - 1:
        raise ValueError(f"{name} + {count} must stay below 2**63 - 1, got {name}={seed}")
    return seed


def _check_noises(sigma2s):
    if isinstance(sigma2s, (str, bytes)) or not hasattr(sigma2s, "__iter__"):
        raise TypeError(f"sigma2s must be a list of noise variances, got {type(sigma2s).__name__}")
    sigma2s = [check_scalar(s2, "sigma2s entry", min=0.0, include_min=False) for s2 in sigma2s]
    if not sigma2s:
        raise ValueError("sigma2s must hold at least one noise variance")
    return sigma2s


def dimension_sweep(Ds, Ms, *, n: int, pool_seed: int = 300, seed: int = 400) -> np.ndarray:
    """Δ^{T_True}(dMMSE, ridge) (Eq. 4) against M for each dimension D, with K = 2D and
    σ² = D/32 (the paper's matched signal-to-noise, Sec. 3.2): (len(Ds), len(Ms)). The pool of
    size M is ``sample_pool(M, D, seed=pool_seed + M)``, its sequences seed ``seed + M``."""
    Ds, Ms = _check_sizes(Ds, "Ds"), _check_sizes(Ms, "Ms")
    n = check_scalar(n, "n", kind="int", min=1)
    pool_seed = _seed_range(pool_seed, "pool_seed", max(Ms) + 1)
    seed = _seed_range(seed, "seed", max(Ms) + 1)
    return np.array([[baseline_risks(sample_pool(M, D, seed=pool_seed + M), 2 * D, D / 32,
                                     n=n, seed=seed + M).delta_new for M in Ms] for D in Ds])


def noise_sweep(pool: torch.Tensor, K: int, sigma2s, *, n: int, seed: int = 10) -> np.ndarray:
    """dMMSE's minus ridge's mean loss per dimension on new tasks for each noise level in
    ``sigma2s`` (the same pool, sequences seed ``seed``): (len(sigma2s),)."""
    _pool2(pool)
    K, n = check_scalar(K, "K", kind="int", min=1), check_scalar(n, "n", kind="int", min=1)
    seed = _seed_range(seed, "seed", 1)
    sigma2s = _check_noises(sigma2s)
    out = []
    for s2 in sigma2s:
        r = baseline_risks(pool, K, s2, n=n, seed=seed)
        out.append(r.dmmse_new.mean() - r.ridge_new.mean())
    return np.array(out)


@dataclass(frozen=True)
class DimensionStudy:
    """The estimator page's last figure: Δ^{T_True}(dMMSE, Ridge) against M for each D
    (``deltas`` (len(Ds), len(Ms)), :func:`dimension_sweep`); dMMSE and ridge per position on
    new tasks at one pool (``positions``) with ridge's exact risk ``ridge_theory`` (K,); the gap
    dMMSE − ridge on new tasks against the noise (``gaps`` (len(sigma2s),), :func:`noise_sweep`)."""

    Ds: list
    Ms: list
    deltas: np.ndarray
    positions: BaselineRisks
    ridge_theory: np.ndarray
    sigma2s: list
    gaps: np.ndarray

    @property
    def z_new(self) -> np.ndarray:
        """dMMSE − ridge on new tasks per position at the one pool, in paired standard errors."""
        return self.positions.z_new

    def table(self) -> str:
        deltas = {D: v.round(4).tolist() for D, v in zip(self.Ds, self.deltas)}
        return (f"Δ(dMMSE, Ridge) on new tasks: {deltas}\n"
                f"dMMSE − ridge on new tasks per position, in paired standard errors: "
                f"{self.z_new.round(1)}")


def dimension_study(*, n: int, n_positions: int, Ds=(2, 4, 8), Ms=tuple(4**k for k in range(7)),
                    M=2**8, D=8, sigma2=0.25, sigma2s=(0.05, 0.1, 0.25, 0.5, 1.0)) -> DimensionStudy:
    """The three panels' data (seeds fixed: :func:`dimension_sweep` with pool seeds 300 + M and
    sequence seeds 400 + M; the per-position pool seed 7, sequences 8 (``n_positions`` each),
    the inputs of ridge's exact risk seed 11; the noise sweep's pool seed 9, sequences 10)."""
    M = check_scalar(M, "M", kind="int", min=1)
    D = check_scalar(D, "D", kind="int", min=1)
    n = check_scalar(n, "n", kind="int", min=1)
    n_positions = check_scalar(n_positions, "n_positions", kind="int", min=1)
    Ds, Ms = _check_sizes(Ds, "Ds"), _check_sizes(Ms, "Ms")
    sigma2 = check_scalar(sigma2, "sigma2", min=0.0, include_min=False)
    sigma2s = _check_noises(sigma2s)
    deltas = dimension_sweep(Ds, Ms, n=n, pool_seed=300, seed=400)
    positions = baseline_risks(sample_pool(M, D, seed=7), 2 * D, sigma2, n=n_positions, seed=8)
    theory = ridge_risk_given_inputs(sample_sequences(n, 2 * D, sigma2, D=D, seed=11).xs, sigma2)
    gaps = noise_sweep(sample_pool(M, D, seed=9), 2 * D, sigma2s, n=n, seed=10)
    return DimensionStudy(Ds=list(Ds), Ms=list(Ms), deltas=deltas, positions=positions,
                          ridge_theory=theory, sigma2s=list(sigma2s), gaps=gaps)


@dataclass(frozen=True)
class SweepEval:
    """Losses (per dimension, averaged over the K positions) and distances (Eq. 4) of a trained
    sweep, one entry per pool size M; ``*_per_k`` are per position (G, K). NaN marks dMMSE at
    M = ∞ (no pool)."""

    Ms: list
    pt_pool: np.ndarray
    dmmse_pool: np.ndarray
    ridge_pool: np.ndarray
    pt_new: np.ndarray
    dmmse_new: np.ndarray
    ridge_new: np.ndarray
    d_pt_dmmse_pool: np.ndarray
    d_pt_ridge_pool: np.ndarray
    d_pt_dmmse_new: np.ndarray
    d_pt_ridge_new: np.ndarray
    pt_new_per_k: np.ndarray          # (G, K)
    ridge_new_per_k: np.ndarray       # (K,)
    pt_pool_per_k: np.ndarray         # (G, K)
    dmmse_pool_per_k: np.ndarray      # (G, K)
    ridge_pool_per_k: np.ndarray      # (G, K)
    dmmse_new_per_k: np.ndarray       # (G, K)
    n: int

    def table(self) -> str:
        head = (f"{'M':>6} | {'PT pool':>8} {'dMMSE':>7} {'ridge':>7} | {'PT new':>7} "
                f"{'dMMSE':>7} {'ridge':>7} | {'Δ(PT,dM) pool':>13} {'Δ(PT,R) pool':>12} | "
                f"{'Δ(PT,dM) new':>12} {'Δ(PT,R) new':>11}")
        rows = [head]
        for g, M in enumerate(self.Ms):
            rows.append(f"{M:>6} | {self.pt_pool[g]:8.4f} {self.dmmse_pool[g]:7.4f} "
                        f"{self.ridge_pool[g]:7.4f} | {self.pt_new[g]:7.4f} "
                        f"{self.dmmse_new[g]:7.4f} {self.ridge_new[g]:7.4f} | "
                        f"{self.d_pt_dmmse_pool[g]:13.4f} {self.d_pt_ridge_pool[g]:12.4f} | "
                        f"{self.d_pt_dmmse_new[g]:12.4f} {self.d_pt_ridge_new[g]:11.4f}")
        return "\n".join(rows)


def _check_run(run):
    from theory.icl_regression.transformer import SweepRun
    if not isinstance(run, SweepRun):
        raise TypeError(f"run must be a SweepRun (from train_sweep), got {type(run).__name__}")


def evaluate_sweep(run, *, n: int = 2048, seed: int = 12345) -> SweepEval:
    """Evaluate every model of a trained sweep (:class:`~theory.icl_regression.transformer.SweepRun`)
    on n sequences from its own pool (seed ``seed + 1 + g``; fresh tasks for M = ∞) and on n
    shared sequences with new tasks (seed ``seed``), against dMMSE for its pool and ridge, all in
    float64 (Eqs. 1 and 4)."""
    _check_run(run)
    n = check_scalar(n, "n", kind="int", min=1)
    seed = _seed_range(seed, "seed", len(run.Ms) + 1)
    c, sigma2 = run.config, run.sigma2
    D, K, G = c.D, c.K, len(run.Ms)
    new = sample_sequences(n, K, sigma2, D=D, seed=seed)
    pt_new = run.predict(new.xs[None], new.ys[None])                       # (G, n, K)
    r_new = ridge_predict(new.xs, new.ys, sigma2)
    res = {k: np.full(G, np.nan) for k in ("pt_pool", "dmmse_pool", "ridge_pool", "pt_new",
                                           "dmmse_new", "ridge_new", "d_pt_dmmse_pool",
                                           "d_pt_ridge_pool", "d_pt_dmmse_new", "d_pt_ridge_new")}
    per_k = {k: np.full((G, K), np.nan) for k in ("pt_new_per_k", "pt_pool_per_k",
                                                   "dmmse_pool_per_k", "ridge_pool_per_k",
                                                   "dmmse_new_per_k")}
    own = [sample_sequences(n, K, sigma2, seed=seed + 1 + g,
                            **(dict(D=D) if pool is None else dict(pool=pool)))
           for g, pool in enumerate(run.pools)]
    pt_own = run.predict(torch.stack([s.xs for s in own]), torch.stack([s.ys for s in own]))
    for g, (pool, s) in enumerate(zip(run.pools, own)):
        pt = pt_own[g]
        rp = ridge_predict(s.xs, s.ys, sigma2)
        per_k["pt_pool_per_k"][g] = loss(pt, s.ys, D)
        per_k["ridge_pool_per_k"][g] = loss(rp, s.ys, D)
        per_k["pt_new_per_k"][g] = loss(pt_new[g], new.ys, D)
        res["pt_pool"][g] = per_k["pt_pool_per_k"][g].mean()
        res["ridge_pool"][g] = per_k["ridge_pool_per_k"][g].mean()
        res["d_pt_ridge_pool"][g] = distance(pt, rp, D)
        res["pt_new"][g] = per_k["pt_new_per_k"][g].mean()
        res["ridge_new"][g] = loss(r_new, new.ys, D).mean()
        res["d_pt_ridge_new"][g] = distance(pt_new[g], r_new, D)
        if pool is not None:
            dp = dmmse_predict(s.xs, s.ys, pool, sigma2)
            dn = dmmse_predict(new.xs, new.ys, pool, sigma2)
            per_k["dmmse_pool_per_k"][g] = loss(dp, s.ys, D)
            per_k["dmmse_new_per_k"][g] = loss(dn, new.ys, D)
            res["dmmse_pool"][g] = per_k["dmmse_pool_per_k"][g].mean()
            res["d_pt_dmmse_pool"][g] = distance(pt, dp, D)
            res["dmmse_new"][g] = per_k["dmmse_new_per_k"][g].mean()
            res["d_pt_dmmse_new"][g] = distance(pt_new[g], dn, D)
    return SweepEval(Ms=list(run.Ms), ridge_new_per_k=loss(r_new, new.ys, D), n=n, **per_k,
                     **res)


#: The paper's task-diversity threshold, log₂ M*, at D = 8 (Raventós et al. 2023, Sec. 3.1,
#: Figs. 2–3, the batch-256/512 crossover): between 14 and 15 for the base model (8 layers ×
#: 128); between 11 and 12 for the small one (4 × 64; App. E and Fig. 4: M* ≈ 2^11.5).
#: :meth:`Transition.table` prints it beside the crossing found at the book's scale.
PAPER_THRESHOLD_LOG2 = {"base": (14, 15), "small": 11.5}


@dataclass(frozen=True)
class Transition:
    """Where the transformer turns from dMMSE to ridge on new tasks, over the finite M of a
    sweep: ``gap`` = log Δ(PT, Ridge)/Δ(PT, dMMSE) (> 0: closer to dMMSE), Δ(dMMSE, Ridge),
    and ``log2_star``, the first zero of the gap interpolated linearly in log₂ M (the smallest
    M of the sweep if the gap is never positive; the largest, a lower bound, if never ≤ 0)."""

    Ms: list
    gap: np.ndarray
    delta_dmmse_ridge: np.ndarray
    log2_star: float
    status: str           # "crossing", "below" (already closer to ridge) or "above" (never)

    def table(self) -> str:
        rows = [f"M = {M:>3}: log Δ(PT,Ridge)/Δ(PT,dMMSE) on new tasks = {gp:+.2f}   "
                f"(Δ(dMMSE,Ridge) = {dd:.3f})"
                for M, gp, dd in zip(self.Ms, self.gap, self.delta_dmmse_ridge)]
        rows.append({"crossing": f"transition at this scale: log2 M* ≈ {self.log2_star:.1f} "
                                 f"(M* ≈ {2 ** self.log2_star:.0f})",
                     "below": "closer to ridge than to dMMSE already at the smallest M of the sweep",
                     "above": f"closer to dMMSE than to ridge up to the largest finite M "
                              f"({self.Ms[-1]}): log2 M* ≥ {self.log2_star:.0f}"}[self.status])
        lo, hi = PAPER_THRESHOLD_LOG2["base"]
        rows.append(f"paper, base model at D = 8: log2 M* between {lo} and {hi}; small model: "
                    f"about {PAPER_THRESHOLD_LOG2['small']}")
        return "\n".join(rows)


def transition(run, ev: SweepEval, *, n: int = 2048, seed: int = 5) -> Transition:
    """The crossing of Δ^{T_True}(PT, Ridge) and Δ^{T_True}(PT, dMMSE) (Eq. 4) over the finite
    pool sizes of a sweep (the book's criterion, not the paper's batch-doubling one of Sec. 3.1),
    with Δ(dMMSE, Ridge) of each pool on n new-task sequences (:func:`baseline_risks`, seed
    ``seed``). Uses :func:`theory.core.first_crossing` on the gap against log₂ M."""
    _check_run(run)
    if not isinstance(ev, SweepEval):
        raise TypeError(f"ev must be a SweepEval (evaluate_sweep(run)), got {type(ev).__name__}")
    if list(ev.Ms) != list(run.Ms):
        raise ValueError("ev must be the SweepEval of this run (evaluate_sweep(run))")
    n = check_scalar(n, "n", kind="int", min=1)
    seed = check_seed(seed, "seed")
    finite = [g for g, M in enumerate(run.Ms) if not math.isinf(M)]
    if len(finite) < 1:
        raise ValueError("run must hold at least one finite pool size")
    Ms = [int(run.Ms[g]) for g in finite]
    if any(b <= a for a, b in zip(Ms, Ms[1:])):
        raise ValueError(f"the finite pool sizes of run must increase, got {Ms}")
    logM = np.log2(Ms)
    gap = np.log(ev.d_pt_ridge_new[finite] / ev.d_pt_dmmse_new[finite])
    dd = np.array([baseline_risks(run.pools[g], run.config.K, run.sigma2, n=n,
                                  seed=seed).delta_new for g in finite])
    if np.all(gap > 0):
        status, star = "above", float(logM[-1])
    elif gap[0] <= 0:
        status, star = "below", float(logM[0])
    else:
        status = "crossing"
        star = float(first_crossing(gap, logM, 0.0, direction="below", interpolate="linear"))
    return Transition(Ms=Ms, gap=gap, delta_dmmse_ridge=dd, log2_star=star, status=status)


@dataclass(frozen=True)
class PathLosses:
    """Losses per dimension along Eq. 5 paths, averaged over pairs of tasks: (len(alpha),)."""

    alpha: np.ndarray
    pt: np.ndarray
    dmmse: np.ndarray
    ridge: np.ndarray
    se_pt: np.ndarray

    def _curve(self, name):
        if name not in ("pt", "dmmse", "ridge"):
            raise ValueError(f"name must be 'pt', 'dmmse' or 'ridge', got {name!r}")
        return getattr(self, name)

    def centre(self, name: str) -> float:
        """The loss of ``name`` ("pt", "dmmse" or "ridge") at the path centre: the middle entry
        of ``alpha`` (α = 0.5 for an odd, symmetric grid)."""
        return float(self._curve(name)[self.alpha.size // 2])

    def ends(self, name: str) -> float:
        """The mean loss of ``name`` at the two ends of the path (the pool tasks themselves)."""
        return float(self._curve(name)[[0, -1]].mean())


def _check_pool_sizes(Ms, name="Ms"):
    """Pool sizes: a list of ints >= 1 or math.inf (labels of the models)."""
    from theory.icl_regression.data import _check_M
    if isinstance(Ms, (str, bytes)) or not hasattr(Ms, "__iter__"):
        raise TypeError(f"{name} must be a list of pool sizes, got {type(Ms).__name__}")
    return [_check_M(M, f"{name} entry") for M in Ms]


def _check_paths(Ms, paths):
    if (isinstance(paths, (str, bytes)) or not hasattr(paths, "__len__") or len(Ms) != len(paths)
            or not all(isinstance(p, PathLosses) for p in paths)):
        raise ValueError("paths must be one PathLosses per entry of Ms")


#: The path positions α of the chapter's Eq. 5 paths: 11 points from 0 to 1 (centre α = 0.5).
PATH_ALPHA = np.linspace(0, 1, 11)


def path_losses(run, g: int, alpha, *, n_pairs: int = 8, n: int = 128,
                seed: int = 0) -> PathLosses:
    """Losses of model g of a sweep, of dMMSE for its pool and of ridge on tasks along the
    interpolation paths w_α of Eq. 5 between pairs of its pool tasks (pairs of N(0, I_D) tasks
    for M = ∞, where dMMSE is NaN): n sequences per α and pair, the same draws for all three."""
    from theory.icl_regression.data import interpolation_path
    from theory.icl_regression.transformer import predict

    _check_run(run)
    G = len(run.Ms)
    g = check_scalar(g, "g", kind="int", min=0, max=G - 1)
    n_pairs, n, seed, alpha = _check_path_args(n_pairs, n, seed, alpha)
    c, sigma2 = run.config, run.sigma2
    D, K = c.D, c.K
    gen = torch.Generator().manual_seed(seed)
    pool = run.pools[g]
    if pool is not None and pool.shape[0] < 2:
        raise ValueError("a path needs a pool of at least two tasks")
    ws = []
    for _ in range(n_pairs):
        if pool is None:
            wi, wj = torch.randn(2, D, generator=gen, dtype=torch.float64)
        else:
            i, j = torch.randperm(pool.shape[0], generator=gen)[:2]
            wi, wj = pool[i], pool[j]
        ws.append(torch.as_tensor(interpolation_path(wi.numpy(), wj.numpy(), alpha)))
    ws = torch.stack(ws)                                                 # (pairs, A, D)
    A = alpha.size
    xs = torch.randn(n_pairs, A, n, K, D, generator=gen, dtype=torch.float64)
    ys = torch.einsum("pankd,pad->pank", xs, ws) + math.sqrt(sigma2) * torch.randn(
        n_pairs, A, n, K, generator=gen, dtype=torch.float64)
    flat_x, flat_y = xs.reshape(-1, K, D), ys.reshape(-1, K)
    pt = predict(run.model(g), flat_x[None], flat_y[None], c.n_head)[0]
    err = ((pt - flat_y) ** 2).mean(-1).reshape(n_pairs, A, n) / D           # per sequence
    r = ((ridge_predict(flat_x, flat_y, sigma2) - flat_y) ** 2).mean(-1).reshape(n_pairs, A, n) / D
    if pool is None:
        dm = np.full(A, np.nan)
    else:
        d = dmmse_predict(flat_x, flat_y, pool, sigma2)
        dm = (((d - flat_y) ** 2).mean(-1).reshape(n_pairs, A, n) / D).mean((0, 2)).numpy()
    se = (err.transpose(0, 1).reshape(A, -1).std(1) / math.sqrt(n_pairs * n)).numpy()
    return PathLosses(alpha=alpha, pt=err.mean((0, 2)).numpy(), dmmse=dm,
                      ridge=r.mean((0, 2)).numpy(), se_pt=se)


def _check_path_args(n_pairs, n, seed, alpha):
    n_pairs = check_scalar(n_pairs, "n_pairs", kind="int", min=1)
    n = check_scalar(n, "n", kind="int", min=1)
    seed = check_seed(seed, "seed")
    alpha = as_array(alpha, "alpha", ndim=(0, 1), nonempty=True).reshape(-1)
    if np.any((alpha < 0) | (alpha > 1)):
        raise ValueError(f"alpha must lie in [0, 1] (path positions), got {alpha.tolist()}")
    return n_pairs, n, seed, alpha


def sweep_paths(run, alpha=PATH_ALPHA, *, n_pairs: int = 8, n: int = 128,
                seed: int = 0) -> list[PathLosses]:
    """:func:`path_losses` for every model g of a sweep, in order, with the same ``alpha``,
    ``n_pairs``, ``n`` and ``seed`` (Eq. 5)."""
    _check_run(run)
    _check_path_args(n_pairs, n, seed, alpha)
    return [path_losses(run, g, alpha, n_pairs=n_pairs, n=n, seed=seed) for g in range(len(run.Ms))]


def path_table(Ms, paths) -> str:
    """One line per model: the losses at the path centre (α = 0.5, the middle entry) and the
    mean at the two ends, for the transformer, dMMSE and ridge."""
    Ms = _check_pool_sizes(Ms)
    _check_paths(Ms, paths)
    rows = []
    for M, p in zip(Ms, paths):
        label = "∞" if math.isinf(M) else str(int(M))
        rows.append(f"M = {label:>3}: at α = {p.alpha[p.alpha.size // 2]:.1f}  transformer "
                    f"{p.centre('pt'):.3f}  dMMSE {p.centre('dmmse'):.3f}  ridge "
                    f"{p.centre('ridge'):.3f};  ends: transformer {p.ends('pt'):.3f} dMMSE "
                    f"{p.ends('dmmse'):.3f}")
    return "\n".join(rows)
