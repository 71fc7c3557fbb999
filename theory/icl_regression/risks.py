"""Losses and distances of the paper (Eqs. 1 and 4), exact Bayes risks, and sweep evaluation.

Raventós, Paul, Chen, Ganguli (2023), arXiv:2306.15063, Secs. 2–4. Losses are reported per
dimension, L/D, as in the paper's figures:

- loss of a predictor f on a task distribution T: (1/(KD)) Σ_k E[(f(S_k) − y_k)²] (Eq. 1 / D);
- distance between two predictors f and g on T: Δ = (1/(KD)) Σ_k E[(f(S_k) − g(S_k))²] (Eq. 4).

Closed forms used as checks (σ² the noise variance, tasks w ~ N(0, I_D) for T_True):

- ridge is the posterior mean under T_True, so given the inputs its expected error at position
  k is σ² + x_kᵀΣ_k x_k with Σ_k = σ²(X_{<k}ᵀX_{<k} + σ²I)⁻¹ the posterior covariance; averaged
  over x_k, σ² + tr Σ_k (:func:`ridge_risk_given_inputs`); at k = 1 this is σ² + D;
- dMMSE's first prediction is the pool mean w̄, so at k = 1 its risk is σ² + (1/M)Σ‖w⁽ⁱ⁾ − w̄‖²
  on the pool and σ² + D + ‖w̄‖² on new tasks (:func:`dmmse_first_risk`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from theory.core import positive, positive_int
from theory.icl_regression.data import sample_sequences
from theory.icl_regression.estimators import dmmse_predict, ridge_predict

__all__ = ["BaselineRisks", "PathLosses", "SweepEval", "baseline_risks", "dmmse_first_risk",
           "distance", "evaluate_sweep", "loss", "path_losses", "ridge_risk_given_inputs"]


def loss(pred: torch.Tensor, ys: torch.Tensor, D: int) -> np.ndarray:
    """Per-position loss (K,) divided by D: E[(pred_k − y_k)²]/D over the leading axes."""
    if pred.shape != ys.shape:
        raise ValueError(f"pred {tuple(pred.shape)} and ys {tuple(ys.shape)} must have one shape")
    D = positive_int(D, "D")
    err = (pred.double() - ys.double()) ** 2
    return err.reshape(-1, err.shape[-1]).mean(0).numpy() / D


def distance(f: torch.Tensor, g: torch.Tensor, D: int) -> float:
    """Eq. 4: (1/(KD)) Σ_k E[(f_k − g_k)²]."""
    return float(loss(f, g, D).mean())


def ridge_risk_given_inputs(xs: torch.Tensor, sigma2: float) -> np.ndarray:
    """Per-position Bayes risk of ridge under T_True, given the inputs, per dimension (K,):
    (σ² + σ² tr (X_{<k}ᵀX_{<k} + σ²I)⁻¹)/D averaged over the sequences in xs (n, K, D)."""
    sigma2 = float(positive(sigma2, "sigma2"))
    D = xs.shape[2]
    outer = torch.cumsum(xs[..., :, None] * xs[..., None, :], dim=1).double()
    A = torch.zeros_like(outer)
    A[:, 1:] = outer[:, :-1]
    A = A + sigma2 * torch.eye(D, dtype=torch.float64)
    tr = torch.linalg.inv(A).diagonal(dim1=-2, dim2=-1).sum(-1)          # (n, K)
    return ((sigma2 + sigma2 * tr).mean(0) / D).numpy()


def dmmse_first_risk(pool: torch.Tensor, sigma2: float) -> tuple[float, float]:
    """dMMSE's exact risk at k = 1 per dimension: (on the pool, on new tasks N(0, I_D))."""
    sigma2 = float(positive(sigma2, "sigma2"))
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


def baseline_risks(pool: torch.Tensor, K: int, sigma2: float, *, n: int = 2048,
                   seed: int = 0) -> BaselineRisks:
    """Monte Carlo risks of dMMSE (for ``pool``) and ridge, on n sequences from the pool and n
    with fresh tasks, every context length at once. Standard errors are of the paired
    difference dMMSE − ridge per position."""
    K, n = positive_int(K, "K"), positive_int(n, "n")
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


@dataclass(frozen=True)
class SweepEval:
    """Losses (per dimension, averaged over the K positions) and distances (Eq. 4) of a trained
    sweep, one entry per pool size M. NaN marks dMMSE at M = ∞ (no pool)."""

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


def evaluate_sweep(run, *, n: int = 2048, seed: int = 12345) -> SweepEval:
    """Evaluate every model of a trained sweep (:class:`~theory.icl_regression.transformer.SweepRun`)
    on n sequences from its own pool (fresh tasks for M = ∞) and on n shared sequences with new
    tasks, against dMMSE for its pool and ridge, all in float64."""
    n = positive_int(n, "n")
    c, sigma2 = run.config, run.sigma2
    D, K, G = c.D, c.K, len(run.Ms)
    new = sample_sequences(n, K, sigma2, D=D, seed=seed)
    pt_new = run.predict(new.xs[None], new.ys[None])                       # (G, n, K)
    r_new = ridge_predict(new.xs, new.ys, sigma2)
    res = {k: np.full(G, np.nan) for k in ("pt_pool", "dmmse_pool", "ridge_pool", "pt_new",
                                           "dmmse_new", "ridge_new", "d_pt_dmmse_pool",
                                           "d_pt_ridge_pool", "d_pt_dmmse_new", "d_pt_ridge_new")}
    per_k = np.zeros((G, K))
    own = [sample_sequences(n, K, sigma2, seed=seed + 1 + g,
                            **(dict(D=D) if pool is None else dict(pool=pool)))
           for g, pool in enumerate(run.pools)]
    pt_own = run.predict(torch.stack([s.xs for s in own]), torch.stack([s.ys for s in own]))
    for g, (pool, s) in enumerate(zip(run.pools, own)):
        pt = pt_own[g]
        rp = ridge_predict(s.xs, s.ys, sigma2)
        res["pt_pool"][g] = loss(pt, s.ys, D).mean()
        res["ridge_pool"][g] = loss(rp, s.ys, D).mean()
        res["d_pt_ridge_pool"][g] = distance(pt, rp, D)
        res["pt_new"][g] = loss(pt_new[g], new.ys, D).mean()
        res["ridge_new"][g] = loss(r_new, new.ys, D).mean()
        res["d_pt_ridge_new"][g] = distance(pt_new[g], r_new, D)
        per_k[g] = loss(pt_new[g], new.ys, D)
        if pool is not None:
            dp = dmmse_predict(s.xs, s.ys, pool, sigma2)
            dn = dmmse_predict(new.xs, new.ys, pool, sigma2)
            res["dmmse_pool"][g] = loss(dp, s.ys, D).mean()
            res["d_pt_dmmse_pool"][g] = distance(pt, dp, D)
            res["dmmse_new"][g] = loss(dn, new.ys, D).mean()
            res["d_pt_dmmse_new"][g] = distance(pt_new[g], dn, D)
    return SweepEval(Ms=list(run.Ms), pt_new_per_k=per_k, ridge_new_per_k=loss(r_new, new.ys, D),
                     n=n, **res)



@dataclass(frozen=True)
class PathLosses:
    """Losses per dimension along Eq. 5 paths, averaged over pairs of tasks: (len(alpha),)."""

    alpha: np.ndarray
    pt: np.ndarray
    dmmse: np.ndarray
    ridge: np.ndarray
    se_pt: np.ndarray


def path_losses(run, g: int, alpha, *, n_pairs: int = 8, n: int = 128,
                seed: int = 0) -> PathLosses:
    """Losses of model g of a sweep, of dMMSE for its pool and of ridge on tasks along the
    interpolation paths w_α of Eq. 5 between pairs of its pool tasks (pairs of N(0, I_D) tasks
    for M = ∞, where dMMSE is NaN): n sequences per α and pair, the same draws for all three."""
    from theory.icl_regression.data import interpolation_path
    from theory.icl_regression.transformer import predict

    G = len(run.Ms)
    if isinstance(g, bool) or not isinstance(g, (int, np.integer)) or not 0 <= g < G:
        raise ValueError(f"g must be a model index in [0, {G}), got {g!r}")
    n_pairs, n = positive_int(n_pairs, "n_pairs"), positive_int(n, "n")
    alpha = np.asarray(alpha, dtype=float)
    c, sigma2 = run.config, run.sigma2
    D, K = c.D, c.K
    gen = torch.Generator().manual_seed(int(seed))
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
    single = {k: v[g:g + 1] for k, v in run.params.items()}
    pt = predict(single, flat_x[None], flat_y[None], c.n_head)[0]
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
