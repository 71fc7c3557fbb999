r"""The landscape limits the prune fraction (Paul et al. 2023, §3.3): the full Hessian at a trained
solution, and three answers to "can a fraction p of the weights be pruned in one step, from the
solution, keeping the loss within ε of its minimum?" — the book's reconstruction (the paper's
§3.3 formula could not be read; see :mod:`theory.lottery.derivation`).

Set-up (float64 throughout). The objective is the regularised train loss

.. math::  \mathcal L(\theta) = \frac1n\sum_i \mathrm{CE}(f(x_i;\theta), y_i) + \frac{\kappa}{2}\lVert\theta\rVert^2 ,

minimised over all parameters (weights and biases) by full-batch Adam and then L-BFGS to a
gradient norm of ~1e-9. The landscape is studied as a function of the D prunable weights w with
the biases *fixed* at the solution's values: H = ∇²_w 𝓛 (D × D), pruning zeroes weights, and
retraining moves only the kept weights. The network is the spine's MLP with a *softplus*
activation (:class:`SmoothMLP`): with ReLU, the weight-decayed minimum sits on kinks of the
activation where the gradient jumps, L-BFGS stalls at a gradient norm of ~5e-3 and the autograd
Hessian is not the local model.

For a pruned set P (kept set K, |P| = pD), with :math:`\ell = \lVert w^*_P\rVert`:

(a) **Schur** — the quadratic model's exact minimum over the axial subspace {δ_P = −w*_P}:
    :math:`\Delta_{\rm S}(p) = \tfrac12 w_P^\top (H_{PP} - H_{PK}H_{KK}^{-1}H_{KP})\, w_P`.
(b) **Gordon** — the subspace treated as random (Gordon's escape through a mesh with Larsen et
    al.'s width): prunable iff :math:`pD \le \sum_i 2\varepsilon/(2\varepsilon + \lambda_i\ell(p)^2)`
    (:func:`theory.lottery.gordon.prune_fraction_fixed_point`); its loss curve
    :math:`\Delta_{\rm G}(p)` is the ε at which that holds with equality (:func:`gordon_increase`).
(c) **Measured** — prune, retrain the kept weights from the projection by full-batch heavy-ball
    gradient descent (:func:`theory.core.train_batched`), and take 𝓛(retrained) − 𝓛*.

Each curve Δ(p) gives :math:`p_{\max}` = the first p where Δ(p) reaches ε (:func:`first_crossing_p`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import optimize

from theory.core import (COLORS, DivergenceError, as_array, check_bool, check_scalar, check_seed,
                         check_seeds, config_seed, figure, progress as _progress, train_batched)
from theory.lottery._checks import as_mask, as_tensor, check_dict, check_instance
from theory.lottery.barrier import _data
from theory.lottery.data import Split
from theory.lottery.gordon import projection_length_curve, prune_fraction_fixed_point
from theory.lottery.nets import MLP
from theory.lottery.pruning import magnitude_prune, random_prune

__all__ = ["SmoothMLP", "LandscapeStudy", "objective", "solve_minimum", "weight_hessian", "spectrum_checks",
           "prune_masks", "schur_increase", "gordon_increase", "gordon_p_max", "retrain_increase",
           "first_crossing_p", "landscape_study", "p_max_vs_eps", "spectrum_figure", "prune_figure", "p_max_figure"]

METHODS = ("random", "magnitude")
METHOD_COLORS = {"random": COLORS["orange"], "magnitude": COLORS["blue"]}


@dataclass(frozen=True)
class SmoothMLP(MLP):
    """The spine's :class:`~theory.lottery.MLP` (same parameter layout, init, masks, loss) with the
    ReLU replaced by softplus, log(1 + eᶻ), so that the loss is smooth and its minimum has a Hessian."""

    def activation(self, h: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.softplus(h)


def _check(net, split):
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a theory.lottery.MLP, got {type(net).__name__}")
    if not isinstance(split, Split):
        raise TypeError(f"split must be a theory.lottery.Split, got {type(split).__name__}")
    if split.n_features != net.widths[0]:
        raise ValueError(f"the network takes {net.widths[0]} inputs but the data have {split.n_features}")


def objective(net: MLP, theta, X, y, weight_decay: float) -> torch.Tensor:
    """𝓛(θ) = mean cross-entropy + (κ/2)‖θ‖² (all parameters), (...,)."""
    check_instance(net, "net", MLP, "a theory.lottery.MLP")
    theta = as_tensor(theta, "theta", min_ndim=1)
    X, y = _data(net, X, y)
    weight_decay = check_scalar(weight_decay, "weight_decay", min=0.0)
    return _objective(net, theta, X, y, weight_decay)


def _objective(net, theta, X, y, weight_decay):
    return net.loss(theta, X, y) + 0.5 * weight_decay * (theta * theta).sum(-1)


def solve_minimum(net: MLP, split: Split, seeds, *, weight_decay: float = 1e-2, adam_steps: int = 1000,
                  lbfgs_iter: int = 3000, tolerance_grad: float = 1e-7, progress=False):
    """Minimise 𝓛 from ``net.init`` of ``config_seed("lottery", "landscape", s)`` for each seed:
    full-batch Adam (lr 1e-2, batched over seeds) then L-BFGS (strong Wolfe) per seed, float64,
    until the largest gradient entry is below ``tolerance_grad`` (or ``lbfgs_iter`` iterations).

    Returns (θ* (S, P), gradient norms ‖∇𝓛(θ*)‖ (S,))."""
    _check(net, split)
    kappa = check_scalar(weight_decay, "weight_decay", min=0.0, include_min=False)
    adam_steps = check_scalar(adam_steps, "adam_steps", kind="int", min=1)
    lbfgs_iter = check_scalar(lbfgs_iter, "lbfgs_iter", kind="int", min=1)
    tol = check_scalar(tolerance_grad, "tolerance_grad", min=0.0, include_min=False)
    seeds = check_seeds(seeds, "seeds").tolist()
    check_bool(progress, "progress")
    X, y = split.X_train, split.y_train
    theta0 = net.init(np.array([config_seed("lottery", "landscape", s) for s in seeds]))
    res = train_batched({"theta": theta0}, steps=adam_steps, lr=1e-2, optimizer="adam",
                        loss_fn=lambda P, s: _objective(net, P["theta"], X, y, kappa), progress=progress)
    out, gnorm = [], []
    for th in torch.as_tensor(res.params["theta"]):
        th = th.clone().requires_grad_(True)
        opt = torch.optim.LBFGS([th], lr=1, max_iter=lbfgs_iter, tolerance_grad=tol,
                                tolerance_change=1e-16, history_size=50, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = _objective(net, th, X, y, kappa)
            loss.backward()
            return loss
        opt.step(closure)
        g, = torch.autograd.grad(_objective(net, th, X, y, kappa), th)
        out.append(th.detach())
        gnorm.append(float(g.norm()))
    return torch.stack(out), np.array(gnorm)


def _weights_objective(net, theta, X, y, kappa):
    D = net.n_weights
    b = theta[D:].detach()
    return lambda w: _objective(net, torch.cat([w, b]), X, y, kappa)


def weight_hessian(net: MLP, theta, split: Split, *, weight_decay: float = 1e-2, chunk: int = 256) -> torch.Tensor:
    """H = ∇²_w 𝓛 at ``theta`` (P,), biases fixed: (D, D), exact, from D forward-over-reverse
    Hessian-vector products (``torch.func``), ``chunk`` at a time. Not symmetrised."""
    from torch.func import grad, jvp, vmap

    _check(net, split)
    kappa = check_scalar(weight_decay, "weight_decay", min=0.0)
    chunk = check_scalar(chunk, "chunk", kind="int", min=1)
    theta = as_tensor(theta, "theta", dtype=torch.float64)
    if theta.shape != (net.n_params,):
        raise ValueError(f"theta must be one parameter vector ({net.n_params},), got {tuple(theta.shape)}")
    D = net.n_weights
    w = theta[:D].detach()
    g = grad(_weights_objective(net, theta, split.X_train, split.y_train, kappa))
    E = torch.eye(D, dtype=torch.float64)
    return torch.cat([vmap(lambda v: jvp(g, (w,), (v,))[1])(E[i:i + chunk]) for i in range(0, D, chunk)])


def spectrum_checks(H) -> dict:
    """The symmetry defect max|H − Hᵀ|/max|H|, the eigenvalues of (H + Hᵀ)/2 (ascending), the
    trace and the eigenvalue sum (equal for a symmetric matrix: tr H = Σλ)."""
    H = as_tensor(H, "H", dtype=torch.float64)
    if H.ndim != 2 or H.shape[0] != H.shape[1] or H.numel() == 0:
        raise ValueError(f"H must be a non-empty square matrix, got shape {tuple(H.shape)}")
    if not bool((H != 0).any()):
        raise ValueError("H must not be all zeros (its symmetry defect is relative to max|H|)")
    asym = float((H - H.T).abs().max() / H.abs().max())
    lam = torch.linalg.eigvalsh(0.5 * (H + H.T)).numpy()
    return {"asymmetry": asym, "eigenvalues": lam, "trace": float(torch.trace(H)),
            "eig_sum": float(np.sum(lam))}


def _fractions(fractions):
    f = as_array(fractions, "fractions", ndim=1)
    if f.size == 0 or np.any((f <= 0) | (f >= 1)) or np.any(np.diff(f) <= 0):
        raise ValueError("fractions must increase strictly inside (0, 1)")
    return f


def prune_masks(w, fractions, method: str, seed: int = 0) -> torch.Tensor:
    """One-step masks (n_p, D) removing round(p·D) of the weights ``w`` (D,) for each p: global
    magnitude (the smallest |w|) or random (``random_prune`` with seed ``config_seed("lottery",
    "landscape-prune", seed)``, level index = the grid position, so masks for different p are
    independent draws)."""
    w = as_tensor(w, "w", ndim=1, nonempty=True, dtype=torch.float64)
    f = _fractions(fractions)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    seed = check_seed(seed, "seed")
    D = w.numel()
    ones = torch.ones(1, D, dtype=torch.float64)
    rows = []
    for i, p in enumerate(f):
        keep = D - int(round(p * D))
        if method == "magnitude":
            rows.append(magnitude_prune(w[None], ones, keep)[0])
        else:
            rows.append(random_prune(ones, keep, np.array([config_seed("lottery", "landscape-prune", seed)]), i)[0])
    return torch.stack(rows)


def schur_increase(H, w, masks) -> np.ndarray:
    r"""(a) :math:`\tfrac12 w_P^\top (H_{PP} - H_{PK}H_{KK}^{-1}H_{KP}) w_P` for each mask row (1 kept,
    0 pruned), by a Cholesky solve with H_KK (which must be positive definite)."""
    w = as_tensor(w, "w", ndim=1, nonempty=True, dtype=torch.float64)
    D = w.numel()
    H = as_tensor(H, "H", shape=(D, D), dtype=torch.float64)
    masks = as_mask(masks, "masks", shape=(None, D))
    H = 0.5 * (H + H.T)
    out = []
    for m in masks:
        Pi, K = torch.nonzero(m == 0).squeeze(1), torch.nonzero(m == 1).squeeze(1)
        wp = w[Pi]
        b = H[K][:, Pi] @ wp
        L, info = torch.linalg.cholesky_ex(H[K][:, K])
        if int(info) != 0:
            raise ValueError("H restricted to the kept weights is not positive definite: the quadratic "
                             "model has no minimum on this subspace")
        x = torch.cholesky_solve(b[:, None], L)[:, 0]
        out.append(0.5 * float(wp @ H[Pi][:, Pi] @ wp - b @ x))
    return np.array(out)


def _check_eigs(eigenvalues):
    lam = as_array(eigenvalues, "eigenvalues", ndim=1, nonempty=True)
    if np.any(lam <= 0):
        raise ValueError(f"eigenvalues must be > 0 (a strict minimum), got min {lam.min()!r}")
    return lam


def gordon_increase(eigenvalues, ell, fractions) -> np.ndarray:
    r"""(b) as a loss curve: for each p (with projection length ℓ(p)), the ε solving
    :math:`pD = \sum_i 2\varepsilon/(2\varepsilon + \lambda_i\ell^2)` (the right side increases from 0
    to D in ε, so the root is unique). D = len(eigenvalues)."""
    lam = _check_eigs(eigenvalues)
    f = _fractions(fractions)
    ell = as_array(ell, "ell", ndim=1)
    if ell.shape != f.shape or np.any(ell <= 0):
        raise ValueError("ell must be positive lengths, one per fraction")
    D, out = lam.size, []
    for p, l2 in zip(f, ell ** 2):
        # in u = log ε; the root lies where 2ε ~ λ ℓ² (bracket generously)
        F = lambda u, l2=l2, p=p: np.sum(1.0 / (1.0 + lam * l2 / (2.0 * np.exp(u)))) - p * D  # noqa: E731
        lo, hi = np.log(lam.min() * l2) - 40, np.log(lam.max() * l2) + 40
        out.append(float(np.exp(optimize.brentq(F, lo, hi, xtol=1e-13))))
    return np.array(out)


def gordon_p_max(eigenvalues, eps: float, w, method: str) -> float:
    """(b) p_max from the fixed point, with ℓ(p) from ``projection_length_curve(w, ·, method)``."""
    lam = _check_eigs(eigenvalues)
    w = as_array(w, "w", ndim=1)
    if w.shape != lam.shape:
        raise ValueError(f"w must have one weight per eigenvalue ({lam.size}), got shape {w.shape}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return prune_fraction_fixed_point(lam, eps, lambda p: float(projection_length_curve(w, p, method)))


def retrain_increase(net: MLP, thetas, masks, split: Split, *, weight_decay: float = 1e-2,
                     steps: int = 600, lr: float = 0.5, momentum: float = 0.9, progress=False):
    """(c) Prune and retrain, batched: configuration g starts from the projection masks[g] ⊙ w of
    ``thetas[g]`` (G, P) and runs ``steps`` full-batch heavy-ball updates of the kept weights (biases
    fixed). Returns (𝓛(retrained) − 𝓛(θ_g) (G,), the kept-weight gradient norm at the end (G,),
    the retrained θ (G, P))."""
    _check(net, split)
    kappa = check_scalar(weight_decay, "weight_decay", min=0.0)
    thetas = as_tensor(thetas, "thetas", shape=(None, net.n_params), nonempty=True, dtype=torch.float64)
    D = net.n_weights
    m = as_mask(masks, "masks", shape=(thetas.shape[0], D))
    steps = check_scalar(steps, "steps", kind="int", min=1)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    momentum = check_scalar(momentum, "momentum", min=0.0, max=1.0, include_max=False)
    check_bool(progress, "progress")
    X, y = split.X_train, split.y_train
    b = thetas[:, D:]
    full = lambda w: torch.cat([w * m, b], 1)  # noqa: E731
    res = train_batched({"w": thetas[:, :D] * m}, steps=steps, lr=lr, momentum=momentum,
                        loss_fn=lambda P, s: _objective(net, full(P["w"]), X, y, kappa), progress=progress)
    w = torch.as_tensor(res.params["w"]).requires_grad_(True)
    F = _objective(net, full(w), X, y, kappa)
    if not bool(torch.isfinite(F).all()):
        bad = np.flatnonzero(~torch.isfinite(F).detach().numpy()).tolist()
        raise DivergenceError(f"heavy-ball retraining diverged: the loss of configurations {bad[:8]} is no "
                              f"longer finite (NaN or inf) after {steps} steps; reduce the learning rate "
                              f"lr={lr!r}", step=steps, what="heavy-ball retraining")
    g, = torch.autograd.grad(F.sum(), w)
    with torch.no_grad():
        F0 = _objective(net, thetas, X, y, kappa)
    return (F - F0).detach().numpy(), (g * m).norm(dim=1).numpy(), full(w.detach())


def first_crossing_p(fractions, increase, eps: float) -> tuple[float, bool]:
    """p_max from a loss curve on a grid: the first p where Δ(p) reaches ε, interpolating log Δ
    linearly in p between the bracketing grid points (linearly from Δ(0) = 0 before the first).
    Returns (p_max, bracketed); when Δ < ε on the whole grid, (the last p, False): a lower bound."""
    f = _fractions(fractions)
    d = as_array(increase, "increase", ndim=1)
    eps = check_scalar(eps, "eps", min=0.0, include_min=False)
    if d.shape != f.shape:
        raise ValueError(f"increase must have one value per fraction ({f.size}), got {d.size}")
    above = np.flatnonzero(d >= eps)
    if above.size == 0:
        return float(f[-1]), False
    i = int(above[0])
    if i == 0:
        return float(f[0] * eps / d[0]), True
    lo, hi = max(d[i - 1], 1e-300), d[i]
    t = (np.log(eps) - np.log(lo)) / (np.log(hi) - np.log(lo))
    return float(f[i - 1] + t * (f[i] - f[i - 1])), True


class _Bar:
    def __init__(self, total, enable):
        self.bar = _progress(total=total, desc="landscape: minimum, Hessians, retraining") if enable else None

    def update(self, n):
        if self.bar is not None:
            self.bar.update(n)

    def close(self):
        if self.bar is not None:
            self.bar.close()


@dataclass
class LandscapeStudy:
    """Everything the page shows, per seed s and method: ``theta`` (S, P), ``grad_norm`` (S,),
    ``checks`` [spectrum_checks per seed], ``L_star`` (S,), ``eps`` (S,), ``fractions`` (n_p,),
    and ``curves[method]`` a dict of (S, n_p) arrays: ``ell``, ``schur``, ``gordon``, ``measured``,
    ``retrain_grad``, ``test_error``; ``p_max[method]`` a dict of (S,) arrays for ``schur``,
    ``gordon``, ``measured`` and ``bracketed`` flags; ``dense_test_error`` (S,)."""

    fractions: np.ndarray
    theta: torch.Tensor
    grad_norm: np.ndarray
    checks: list
    L_star: np.ndarray
    eps: np.ndarray
    dense_test_error: np.ndarray
    curves: dict = field(default_factory=dict)
    p_max: dict = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def spectrum_summary(self) -> dict:
        """Per seed: the symmetry defect, |Σλ − tr H|/|tr H|, the smallest, median and largest
        eigenvalue, and the fraction of eigenvalues within 10 % of the weight decay κ."""
        k = self.meta["weight_decay"]
        rows = [(c["asymmetry"], abs(c["eig_sum"] - c["trace"]) / abs(c["trace"]), c["eigenvalues"][0],
                 float(np.median(c["eigenvalues"])), c["eigenvalues"][-1],
                 float(np.mean(np.abs(c["eigenvalues"] / k - 1) < 0.1))) for c in self.checks]
        names = ("asymmetry", "trace_gap", "lambda_min", "lambda_median", "lambda_max", "near_kappa")
        return {n: np.array(v) for n, v in zip(names, zip(*rows))}

    def table(self):
        """p_max per (method, seed): Schur, Gordon and measured, as a ``pandas.DataFrame``."""
        import pandas as pd

        return pd.DataFrame([{"method": m, "seed": s, "eps": self.eps[i],
                              **{k: self.p_max[m][k][i] for k in ("schur", "gordon", "measured")}}
                             for m in METHODS for i, s in enumerate(self.meta["seeds"])])

    def quadratic_regime(self, method: str = "magnitude"):
        """(measured, Schur) increases at the grid points where the measured one is in (0, ε]."""
        c = self.curves[method]
        sel = (c["measured"] > 0) & (c["measured"] <= self.eps[:, None]) & (c["ell"] > 1e-12)
        return c["measured"][sel], c["schur"][sel]

    def matching_within_eps(self) -> np.ndarray:
        """Retrained test error − dense test error at every (method, seed, p) whose measured increase
        is at most ε (the book's matching criterion, :func:`theory.lottery.matching`: ≤ 0.01)."""
        out = [(self.curves[m]["test_error"] - self.dense_test_error[:, None])[self.curves[m]["measured"]
                                                                              <= self.eps[:, None]]
               for m in METHODS]
        return np.concatenate(out)


FRACTIONS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 0.75, 0.8)


def landscape_study(net: MLP, split: Split, *, seeds=(0, 1), fractions=FRACTIONS,
                    eps_fraction: float = 0.05, weight_decay: float = 1e-2, adam_steps: int = 1000,
                    retrain_steps: int = 600, progress=True) -> LandscapeStudy:
    """The whole §3.3 comparison (see the module text), ε = ``eps_fraction`` · 𝓛* per seed.

    One batch of retrainings for every (seed, method, fraction)."""
    _check(net, split)
    f = _fractions(fractions)
    ef = check_scalar(eps_fraction, "eps_fraction", min=0.0, include_min=False)
    seeds = tuple(check_seeds(seeds, "seeds").tolist())
    weight_decay = check_scalar(weight_decay, "weight_decay", min=0.0, include_min=False)
    adam_steps = check_scalar(adam_steps, "adam_steps", kind="int", min=1)
    retrain_steps = check_scalar(retrain_steps, "retrain_steps", kind="int", min=1)
    check_bool(progress, "progress")
    bar = _Bar(3 + len(seeds), progress)
    times = {"start": time.perf_counter()}
    theta, gnorm = solve_minimum(net, split, seeds, weight_decay=weight_decay, adam_steps=adam_steps)
    bar.update(1)
    D, X, y = net.n_weights, split.X_train, split.y_train
    with torch.no_grad():
        L_star = _objective(net, theta, X, y, weight_decay).numpy()
        dense_err = net.error(theta, split.X_test, split.y_test).numpy()
    eps = ef * L_star
    times["minimum"] = time.perf_counter()
    checks, Hs = [], []
    for th in theta:
        H = weight_hessian(net, th, split, weight_decay=weight_decay)
        Hs.append(H)
        checks.append(spectrum_checks(H))
        bar.update(1)
    times["hessian"] = time.perf_counter()
    masks = {(s, m): prune_masks(theta[i, :D], f, m, seed=s) for i, s in enumerate(seeds) for m in METHODS}
    keys = [(i, m) for i in range(len(seeds)) for m in METHODS]
    big = torch.cat([masks[(seeds[i], m)] for i, m in keys])
    reps = torch.cat([theta[i].expand(len(f), -1) for i, m in keys])
    dF, gr, th_r = retrain_increase(net, reps, big, split, weight_decay=weight_decay, steps=retrain_steps)
    bar.update(1)
    times["retrain"] = time.perf_counter()
    with torch.no_grad():
        test_err = net.error(th_r, split.X_test, split.y_test).numpy()
    n = len(f)
    curves = {m: {k: np.zeros((len(seeds), n)) for k in ("ell", "schur", "gordon", "measured",
                                                         "retrain_grad", "test_error")} for m in METHODS}
    p_max = {m: {k: np.zeros(len(seeds)) for k in ("schur", "gordon", "measured")}
             for m in METHODS}
    for m in METHODS:
        p_max[m]["bracketed"] = np.zeros(len(seeds), bool)
    for j, (i, m) in enumerate(keys):
        w = theta[i, :D]
        mk = masks[(seeds[i], m)]
        c = curves[m]
        sl = slice(j * n, (j + 1) * n)
        c["ell"][i] = torch.linalg.vector_norm(w * (1 - mk), dim=1).numpy()
        c["schur"][i] = schur_increase(Hs[i], w, mk)
        lam = checks[i]["eigenvalues"]
        c["gordon"][i] = gordon_increase(lam, c["ell"][i], f)
        c["measured"][i], c["retrain_grad"][i], c["test_error"][i] = dF[sl], gr[sl], test_err[sl]
        p_max[m]["schur"][i] = first_crossing_p(f, c["schur"][i], eps[i])[0]
        p_max[m]["measured"][i], p_max[m]["bracketed"][i] = first_crossing_p(f, c["measured"][i], eps[i])
        p_max[m]["gordon"][i] = gordon_p_max(lam, eps[i], w.numpy(), m)
    bar.update(1)
    bar.close()
    times["predict"] = time.perf_counter()
    names = list(times)
    seconds = {b: times[b] - times[a] for a, b in zip(names[:-1], names[1:])}
    return LandscapeStudy(f, theta, gnorm, checks, L_star, eps, dense_err, curves, p_max,
                          meta={"seeds": seeds, "widths": net.widths, "n_train": len(y),
                                "weight_decay": weight_decay, "eps_fraction": ef,
                                "retrain_steps": retrain_steps, "adam_steps": adam_steps,
                                "seconds": seconds})


def p_max_vs_eps(study: LandscapeStudy, eps_fractions=(0.02, 0.05, 0.1, 0.2), method: str = "random") -> dict:
    """p_max of the three answers as the tolerance varies, ε = f · 𝓛* for f in ``eps_fractions``,
    from the study's curves (Schur and measured: first grid crossing; Gordon: the fixed point).
    Returns ``{"eps_fractions": (n_e,), "schur"/"gordon"/"measured": (S, n_e), "bracketed": (S, n_e)}``."""
    if not isinstance(study, LandscapeStudy):
        raise TypeError(f"study must be a LandscapeStudy, got {type(study).__name__}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    ef = as_array(eps_fractions, "eps_fractions", ndim=1)
    if ef.size == 0 or np.any(ef <= 0):
        raise ValueError("eps_fractions must be positive")
    S, c = len(study.L_star), study.curves[method]
    out = {k: np.zeros((S, ef.size)) for k in ("schur", "gordon", "measured")}
    out["bracketed"] = np.zeros((S, ef.size), bool)
    D = len(study.checks[0]["eigenvalues"])
    for i in range(S):
        for j, e in enumerate(ef * study.L_star[i]):
            out["schur"][i, j] = first_crossing_p(study.fractions, c["schur"][i], e)[0]
            out["measured"][i, j], out["bracketed"][i, j] = first_crossing_p(study.fractions, c["measured"][i], e)
            out["gordon"][i, j] = gordon_p_max(study.checks[i]["eigenvalues"], e, study.theta[i, :D].numpy(), method)
    out["eps_fractions"] = ef
    return out


# ----------------------------------------------------------------------------- figures
def spectrum_figure(study: LandscapeStudy):
    """(a) the Hessian eigenvalues of every seed, sorted, log scale; (b) their histogram."""
    check_instance(study, "study", LandscapeStudy, "a LandscapeStudy (from landscape_study)")
    fig, axes = figure(1, 2, width="wide")
    for i, (s, c) in enumerate(zip(study.meta["seeds"], study.checks)):
        lam = c["eigenvalues"]
        axes[0].semilogy(np.arange(1, lam.size + 1), lam, lw=1.2, label=f"seed {s}")
        axes[1].hist(np.log10(lam), bins=60, histtype="step", lw=1.2, label=f"seed {s}")
    axes[0].axhline(study.meta["weight_decay"], color="k", ls=":", lw=1, label="κ (weight decay)")
    axes[0].set(xlabel="index i (ascending)", ylabel="eigenvalue λ_i of H", title="(a) spectrum")
    axes[1].set(xlabel="log₁₀ λ", ylabel="count", title="(b) histogram")
    axes[0].legend(frameon=False)
    axes[1].legend(frameon=False)
    return fig


def prune_figure(study: LandscapeStudy):
    """Loss increase after one-step pruning against p, per method: measured (markers, every seed),
    Schur (solid), Gordon (dashed), ε (dotted)."""
    check_instance(study, "study", LandscapeStudy, "a LandscapeStudy (from landscape_study)")
    import matplotlib.ticker

    fig, axes = figure(1, 2, width="wide", sharey=True)
    f = study.fractions
    for ax, m in zip(axes, METHODS):
        c = study.curves[m]
        for i in range(len(study.meta["seeds"])):
            lab = (lambda text: text if i == 0 else None)  # noqa: E731
            ax.loglog(f, c["measured"][i], "o", color=METHOD_COLORS[m], ms=5, label=lab("measured (retrained)"))
            ax.loglog(f, c["schur"][i], "-", color="k", lw=1.2, label=lab("(a) Schur, quadratic model"))
            ax.loglog(f, c["gordon"][i], "--", color=COLORS["green"], lw=1.2, label=lab("(b) Gordon, random subspace"))
        ax.axhline(float(np.mean(study.eps)), color="k", ls=":", lw=1, label="ε")
        ax.set(xlabel="fraction pruned in one step, p", title=f"{m} pruning")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks([0.02, 0.05, 0.1, 0.2, 0.5, 0.8], ["0.02", "0.05", "0.1", "0.2", "0.5", "0.8"])
    axes[0].set_ylabel("loss increase L − L*")
    axes[0].set_ylim(1e-7, 10)
    axes[0].legend(frameon=False, fontsize=8)
    return fig


def p_max_figure(study: LandscapeStudy, vs_eps: dict | None = None):
    """(a) Predicted (Schur: circles, Gordon: squares) against measured p_max, every seed and method;
    (b) with ``vs_eps`` (from :func:`p_max_vs_eps`): random pruning's p_max against ε/𝓛*."""
    check_instance(study, "study", LandscapeStudy, "a LandscapeStudy (from landscape_study)")
    if vs_eps is not None:
        check_dict(vs_eps, "vs_eps", ("eps_fractions", "schur", "gordon", "measured"), "p_max_vs_eps")
    import matplotlib.ticker

    fig, axes = figure(1, 2 if vs_eps is not None else 1, width="wide" if vs_eps is not None else "text",
                       height=3.6)
    ax = axes[0] if vs_eps is not None else axes
    for m in METHODS:
        pm = study.p_max[m]
        ax.plot(pm["measured"], pm["schur"], "o", color=METHOD_COLORS[m], ms=7, label=f"{m}: (a) Schur")
        ax.plot(pm["measured"], pm["gordon"], "s", mfc="none", color=METHOD_COLORS[m], ms=8,
                label=f"{m}: (b) Gordon")
    ax.plot([0, 1], [0, 1], "k:", lw=1, label="predicted = measured")
    ax.set(xlabel="measured p_max (retraining)", ylabel="predicted p_max", xlim=(0, 1), ylim=(0, 1),
           title=f"(a) ε = {study.meta['eps_fraction']:g} L*")
    ax.legend(frameon=False, fontsize=8)
    if vs_eps is not None:
        ax = axes[1]
        ef = vs_eps["eps_fractions"]
        for k, style, col in (("measured", "o", METHOD_COLORS["random"]), ("schur", "-", "k"),
                              ("gordon", "--", COLORS["green"])):
            for i in range(vs_eps[k].shape[0]):
                ax.semilogx(ef, vs_eps[k][i], style, color=col, lw=1.2, label=None if i else
                            {"measured": "measured", "schur": "(a) Schur", "gordon": "(b) Gordon"}[k])
        ax.set(xlabel="tolerance ε / L*", ylabel="p_max, random pruning", title="(b) random pruning against ε")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(ef, [f"{e:g}" for e in ef])
        ax.legend(frameon=False, fontsize=8)
    return fig
