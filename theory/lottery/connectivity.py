"""Linear mode connectivity of successive IMP levels and SGD's robustness to perturbations of the
rewind point (Paul et al. 2023, Sec. 3.1 and Sec. 3.2), with the chapter's explorer.

*Successive-level barriers* (Sec. 3.1; the protocol is the book's reconstruction). For every
configuration g of an :class:`~theory.lottery.IMPRun` and every level L, the level-L solution θ_L
and the level-(L+1) solution θ_{L+1} are joined by the segment θ(c) = (1 − c) θ_L + c θ_{L+1},
c on a grid in [0, 1], and the error barrier is

    B_L = max_c [ E(θ(c)) − ((1 − c) E(θ_L) + c E(θ_{L+1})) ]           (train and test error)

(:func:`theory.lottery.barrier`). Both ends vanish off m_L, so the segment lies in the level-L
subspace. The pair is *matching* when both levels are (:func:`theory.lottery.matching`) and
*linearly connected* when B_L ≤ a stated tolerance. The paper's claim (abstract, Sec. 3.1): at
higher sparsities, linearly connected ⇔ matching. :func:`iff_statistics` tests it both ways:
P(connected | matching) and P(matching | connected).

*Noise copies* (the tolerance's yardstick, the book's): the dense network retrained from its
rewind point θ_k with a different minibatch order; its barrier with the dense solution is what
SGD noise alone gives for two networks of one mode (Frankle et al. 2020's instability test).

*Perturbations* (Sec. 3.2; the protocol is the book's reconstruction). From the level-(L+1)
rewind point m_{L+1} ⊙ θ_k, a copy is moved by a random vector δ on the surviving weights of
m_{L+1} with ‖δ‖ = s · ‖(m_L − m_{L+1}) ⊙ θ_k‖ — s = 1 is the distance between the successive
pruned rewind points m_L ⊙ θ_k and m_{L+1} ⊙ θ_k — and retrained with the mask m_{L+1} on the
same minibatches as the unperturbed level-(L+1) run; the barrier between the two solutions says
whether SGD returned to the same linearly connected mode. Larger multiples s show where it breaks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch

from theory.core import (COLORS, as_array, check_bool, check_scalar, config_seed, counter_normal, explorer,
                         figure, positive, scaled)
from theory.lottery._checks import as_tensor, check_instance, check_int_list, check_tolerance_pair
from theory.lottery.barrier import _coefficients, _data, barrier, default_coefficients
from theory.lottery.data import Split, load_split
from theory.lottery.imp import IMPRun, IMPSettings, matching, run_imp
from theory.lottery.nets import MLP
from theory.lottery.train import train_masked

__all__ = ["LMCStudy", "PerturbationStudy", "barrier_figure", "example_tolerance", "iff_statistics",
           "iff_table", "lmc_explorer", "noise_copies", "noise_tolerance", "perturbation_study",
           "robustness_figure", "robustness_table", "segment_errors", "setup", "successive_lmc",
           "use_in_explorer"]


def setup():
    """The page's set-up: (net, split, settings, seeds, rewind_steps), sizes by ``scaled``.

    Digits, an MLP 64-32-32-10 (D = 3 392 prunable weights), SGD with momentum 0.9, lr 0.05,
    batch 32, T = 400 steps, α = 0.8, 14 levels (sparsity 95.6 %), rewinds k ∈ {0, 20}, seeds
    0–2 at laptop scale; at paper scale the IMP page's sizes: 64-128-128-10, 800 steps, 20
    levels (98.8 %), seeds 0–7.
    """
    net = MLP(scaled((64, 32, 32, 10), (64, 128, 128, 10)))
    split = load_split("digits")
    settings = IMPSettings(steps=scaled(400, 800), lr=0.05, batch_size=32, levels=scaled(14, 20))
    seeds = scaled((0, 1, 2), tuple(range(8)))
    return net, split, settings, seeds, (0, 20)


def example_tolerance(n_examples: int, split: Split, which: str = "test") -> float:
    """``n_examples`` examples' worth of error on a split: n / (its size)."""
    n = check_scalar(n_examples, "n_examples", min=0.0)
    if not isinstance(split, Split):
        raise TypeError(f"split must be a theory.lottery.Split, got {type(split).__name__}")
    if which not in ("train", "test"):
        raise ValueError(f"which must be 'train' or 'test', got {which!r}")
    return n / len(split.y_test if which == "test" else split.y_train)


@dataclass
class LMCStudy:
    """Successive-level interpolation of one IMP run.

    ``coefficients`` (n,); ``curves[split]`` (G, L, n): the error along the segment from level L
    to L+1 (``split`` "train"/"test"); ``barriers[split]`` (G, L); ``matching`` (G, L): both
    levels L and L+1 matching; ``sparsity`` (G, L): the sparsity of level L+1; ``pairs`` the
    pair index L = 0 … levels − 1; ``run`` the IMP run and ``tolerance`` the matching tolerance.
    """

    run: IMPRun
    coefficients: np.ndarray
    curves: dict
    barriers: dict
    matching: np.ndarray
    sparsity: np.ndarray
    tolerance: float

    @property
    def pairs(self) -> np.ndarray:
        return np.arange(self.matching.shape[1])

    def column(self, name: str) -> np.ndarray:
        """A sweep axis (``pruning``, ``rewind``, ``seed``) per configuration, (G,)."""
        return self.run.sweep.column(name)


def successive_lmc(run: IMPRun, split: Split, coefficients=None, *,
                   matching_tolerance: float = 0.01) -> LMCStudy:
    """The successive-level curves and barriers of every configuration and level, in one batch.

    ``coefficients``: the interpolation grid (default 21 points, 0, 0.05, …, 1).
    ``matching_tolerance``: passed to :func:`theory.lottery.matching` (test error).
    """
    if not isinstance(run, IMPRun):
        raise TypeError(f"run must be an IMPRun, got {type(run).__name__}")
    if not isinstance(split, Split):
        raise TypeError(f"split must be a theory.lottery.Split, got {type(split).__name__}")
    c = _coefficients(default_coefficients(21) if coefficients is None else coefficients)
    matching_tolerance = check_scalar(matching_tolerance, "matching_tolerance", min=0.0)
    net, theta = run.net, run.theta
    G, L1, P = theta.shape
    a = theta[:, :-1].reshape(-1, P)
    b = theta[:, 1:].reshape(-1, P)
    curves, barriers = {}, {}
    for name, X, y in (("train", split.X_train, split.y_train), ("test", split.X_test, split.y_test)):
        curves[name] = segment_errors(net, a, b, X, y, c).reshape(G, L1 - 1, -1)
        barriers[name] = barrier(curves[name], c)
    m = matching(run, matching_tolerance)
    return LMCStudy(run, c, curves, barriers, m[:, :-1] & m[:, 1:], run.sparsity[:, 1:],
                    float(matching_tolerance))


def iff_statistics(barriers, matching_pairs, tolerance: float, where=None) -> dict:
    """Both directions of "linearly connected ⇔ matching" over the pairs selected by ``where``.

    Connected: barrier ≤ ``tolerance``. Returns the counts of the four cells and
    ``p_connected_given_matching`` = P(B ≤ tol | matching), ``p_matching_given_connected`` =
    P(matching | B ≤ tol) (NaN where the condition never occurs), ``n`` the pairs counted.
    """
    B = as_array(barriers, "barriers")
    M = np.asarray(matching_pairs) if matching_pairs is not None else np.zeros(0, dtype=float)
    if M.shape != B.shape or M.dtype != bool:
        raise ValueError(f"matching_pairs must be booleans of the barriers' shape {B.shape}, got "
                         f"{M.dtype} {M.shape}")
    tol = check_scalar(tolerance, "tolerance", min=0.0)
    W = np.ones_like(M) if where is None else np.asarray(where)
    if W.dtype != bool:
        raise ValueError(f"where must be booleans of the barriers' shape {B.shape}, got {W.dtype}")
    if W.shape != B.shape or W.dtype != bool:
        raise ValueError(f"where must be booleans of the barriers' shape {B.shape}")
    conn = B <= tol
    cells = {"matching_connected": int((M & conn & W).sum()), "matching_barrier": int((M & ~conn & W).sum()),
             "failing_connected": int((~M & conn & W).sum()), "failing_barrier": int((~M & ~conn & W).sum())}
    n_m = cells["matching_connected"] + cells["matching_barrier"]
    n_c = cells["matching_connected"] + cells["failing_connected"]
    return {**cells, "n": int(W.sum()), "n_matching": n_m, "n_connected": n_c,
            "p_connected_given_matching": cells["matching_connected"] / n_m if n_m else float("nan"),
            "p_matching_given_connected": cells["matching_connected"] / n_c if n_c else float("nan")}


def segment_errors(net: MLP, theta_a, theta_b, X, y, coefficients, *, chunk: int = 128) -> np.ndarray:
    """E((1 − c) θ_a + c θ_b) for every row pair and coefficient c: (N, n_coef).

    The error alone, one forward pass per interpolated network, in the parameters' precision
    (the runs train in float32; an error count needs no more). ``theta_*`` (N, P).
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a theory.lottery.MLP, got {type(net).__name__}")
    a = as_tensor(theta_a, "theta_a", ndim=2)
    b = as_tensor(theta_b, "theta_b", ndim=2)
    if a.shape[1] != net.n_params:
        raise ValueError(f"theta_a must be (N, P = {net.n_params}), got {tuple(a.shape)}")
    if a.shape != b.shape:
        raise ValueError(f"theta_b must have theta_a's shape {tuple(a.shape)}, got {tuple(b.shape)}")
    b = b.to(a.dtype)
    X, y = _data(net, X, y)
    c = torch.as_tensor(_coefficients(coefficients), dtype=a.dtype)
    chunk = check_scalar(chunk, "chunk", kind="int", min=1)
    thetas = (a[:, None] + c[None, :, None] * (b - a)[:, None]).reshape(-1, net.n_params)
    Xd = X.to(a.dtype)
    with torch.no_grad():
        err = [net.error(thetas[i:i + chunk], Xd, y) for i in range(0, thetas.shape[0], chunk)]
    return torch.cat(err).reshape(a.shape[0], c.numel()).numpy()


def _check_run_split(run, split):
    if not isinstance(run, IMPRun):
        raise TypeError(f"run must be an IMPRun, got {type(run).__name__}")
    if not isinstance(split, Split):
        raise TypeError(f"split must be a theory.lottery.Split, got {type(split).__name__}")


def _retrain(run: IMPRun, split, theta0, mask, rows, data_seeds, progress=False):
    s = run.settings
    k = run.sweep.column("rewind").astype(np.int64)[rows]
    return train_masked(run.net, theta0, mask, split, data_seeds=data_seeds, start=k,
                        n_steps=s.steps - k, lr=s.lr, batch_size=s.batch_size, momentum=s.momentum,
                        weight_decay=s.weight_decay, progress=progress)[0]


def _pair_barriers(net, a, b, split, c):
    out = {}
    for name, X, y in (("train", split.X_train, split.y_train), ("test", split.X_test, split.y_test)):
        out[name] = barrier(segment_errors(net, a, b, X, y, c), c)
    return out


def noise_copies(run: IMPRun, split: Split, n_copies: int = 2, coefficients=None) -> dict:
    """The dense network of each (rewind, seed) retrained ``n_copies`` times from its rewind point
    θ_k, copy j on another minibatch order (stream ``config_seed("lottery", "data-copy", seed,
    j)``); the barrier of each copy with the run's dense solution. Returns {"train": (R, n_copies),
    "test": (R, n_copies)} and "rows" (R,), the configurations (those of the first pruning method;
    the dense run is the same for every method)."""
    _check_run_split(run, split)
    n_copies = check_scalar(n_copies, "n_copies", kind="int", min=1)
    c = _coefficients(default_coefficients(21) if coefficients is None else coefficients)
    rows = np.flatnonzero(run.sweep.column("pruning") == run.sweep.column("pruning")[0])
    grid = np.repeat(rows, n_copies)
    seeds = np.array([config_seed("lottery", "data-copy", int(s), j)
                      for s in run.sweep.column("seed")[rows] for j in range(n_copies)])
    copy = _retrain(run, split, run.rewind_theta[grid], None, grid, seeds)
    out = {k: v.reshape(rows.size, n_copies) for k, v in
           _pair_barriers(run.net, run.theta[grid, 0], copy, split, c).items()}
    out["rows"] = rows
    return out


def noise_tolerance(copies: dict, split: Split) -> dict:
    """The book's zero-barrier tolerance: the largest barrier among the noise copies, rounded up
    to whole examples, per split — every barrier SGD noise alone gave counts as zero.
    Returns {"train": τ_train, "test": τ_test} (error fractions)."""
    if not isinstance(copies, dict) or not {"train", "test"} <= set(copies):
        raise TypeError("copies must be the dict that noise_copies returns")
    if not isinstance(split, Split):
        raise TypeError(f"split must be a theory.lottery.Split, got {type(split).__name__}")
    out = {}
    for name in ("train", "test"):
        B = as_array(copies[name], f"copies[{name!r}]", nonempty=True)
        n = len(split.y_test if name == "test" else split.y_train)
        out[name] = float(np.ceil(np.max(B) * n - 1e-9) / n)
    return out


def iff_table(lmc: LMCStudy, tolerances: dict, sparsity_threshold: float):
    """:func:`iff_statistics` for each pruning method, split ("train"/"test" barrier) and named
    tolerance ({name: {"train": τ, "test": τ}}), over the pairs whose level L+1 has sparsity ≥
    ``sparsity_threshold``; a ``pandas.DataFrame``. Matching is always by test error."""
    import pandas as pd

    if not isinstance(lmc, LMCStudy):
        raise TypeError(f"lmc must be an LMCStudy, got {type(lmc).__name__}")
    thr = check_scalar(sparsity_threshold, "sparsity_threshold", min=0.0, max=1.0)
    if not isinstance(tolerances, dict) or not tolerances:
        raise TypeError("tolerances must be a non-empty dict name → {'train': τ, 'test': τ}")
    tolerances = {k: check_tolerance_pair(v, f"tolerances[{k!r}]") for k, v in tolerances.items()}
    meth = lmc.column("pruning")
    rows = []
    for m in dict.fromkeys(meth.tolist()):
        where = (lmc.sparsity >= thr) & (meth == m)[:, None]
        for split_name in ("test", "train"):
            for tname, tol in tolerances.items():
                st = iff_statistics(lmc.barriers[split_name], lmc.matching, tol[split_name], where=where)
                rows.append({"pruning": m, "barrier": split_name, "tolerance": tname,
                             "τ (%)": 100 * tol[split_name], **st})
    return pd.DataFrame(rows).set_index(["pruning", "barrier", "tolerance"])


def robustness_table(pert, tolerance: dict):
    """Per level and multiple s: the median test and train barrier (%) over configurations and
    the fraction of copies within the tolerance; a ``pandas.DataFrame``."""
    import pandas as pd

    if not isinstance(pert, PerturbationStudy):
        raise TypeError(f"pert must be a PerturbationStudy, got {type(pert).__name__}")
    tolerance = check_tolerance_pair(tolerance, "tolerance")
    rows = []
    for j, L in enumerate(pert.levels):
        for i, s in enumerate(pert.multiples):
            r = {"level": int(L), "s": float(s)}
            for name in ("test", "train"):
                B = pert.barriers[name][:, j, i]
                r[f"median {name} B (%)"] = 100 * float(np.median(B))
                r[f"{name} B ≤ τ"] = float(np.mean(B <= tolerance[name]))
            rows.append(r)
    return pd.DataFrame(rows).set_index(["level", "s"])


@dataclass
class PerturbationStudy:
    """Sec. 3.2's experiment on the magnitude-pruned configurations ``rows`` of a run.

    ``levels`` (nL,): the level L+1 whose rewind point is perturbed; ``multiples`` (nS,): s;
    ``distance`` (R, nL): ‖(m_L − m_{L+1}) ⊙ θ_k‖ per configuration; ``barriers[split]``
    (R, nL, nS): the barrier between the perturbed copy's and the run's level-(L+1) solutions;
    ``error[split]`` (R, nL, nS): the perturbed copy's error; ``offset`` (R, nL, nS): the
    measured distance between the perturbed and the unperturbed masked starting points (s times
    ``distance`` when δ lies on the surviving weights); ``rows`` (R,).
    """

    rows: np.ndarray
    levels: np.ndarray
    multiples: np.ndarray
    distance: np.ndarray
    barriers: dict
    error: dict
    offset: np.ndarray


def perturbation_study(run: IMPRun, split: Split, levels, multiples=(1.0, 2.0, 4.0, 8.0), *,
                       coefficients=None, progress=True) -> PerturbationStudy:
    """Perturb the level-(L+1) rewind point of every magnitude-pruned configuration by s times the
    distance between successive pruned rewind points, retrain, and measure the barrier with the
    unperturbed level-(L+1) solution (module text). All copies are one batched training.

    The direction of δ for (seed, rewind, level) is a standard normal vector on the surviving
    weights of m_{L+1} (``counter_normal`` from ``config_seed("lottery", "perturb", seed,
    rewind, level)``), normalised; every multiple s moves along that same direction.
    """
    _check_run_split(run, split)
    n_levels = run.theta.shape[1] - 1
    lv = check_int_list(levels, "levels", lo=1, hi=n_levels,
                        what="the level L+1 whose rewind point is perturbed")
    s = positive(multiples, "multiples", ndim=(0, 1))
    s = np.atleast_1d(s)
    if s.size == 0:
        raise ValueError("multiples must be a non-empty list of positive numbers")
    c = _coefficients(default_coefficients(21) if coefficients is None else coefficients)
    check_bool(progress, "progress")
    rows = np.flatnonzero(run.sweep.column("pruning") == "magnitude")
    if rows.size == 0:
        raise ValueError("run has no magnitude-pruned configuration to perturb")
    D = run.net.n_weights
    R, nL, nS = rows.size, lv.size, s.size
    m_hi = run.masks[rows][:, lv - 1]                                   # m_L      (R, nL, D)
    m_lo = run.masks[rows][:, lv]                                       # m_{L+1}  (R, nL, D)
    theta_k = run.rewind_theta[rows].double()                           # (R, P)
    w_k = theta_k[:, None, :D]
    dist = torch.linalg.vector_norm((m_hi - m_lo) * w_k, dim=-1)        # (R, nL)
    seed_col, rew_col = run.sweep.column("seed")[rows], run.sweep.column("rewind")[rows]
    keys = np.array([[config_seed("lottery", "perturb", int(sd), int(k), int(L)) for L in lv]
                     for sd, k in zip(seed_col, rew_col)])
    z = counter_normal(keys.ravel(), 0, (D,)).reshape(R, nL, D) * m_lo
    u = z / torch.linalg.vector_norm(z, dim=-1, keepdim=True)
    delta = torch.as_tensor(s)[None, None, :, None] * (dist[..., None] * u)[:, :, None]  # (R,nL,nS,D)
    theta0 = theta_k[:, None, None, :].expand(R, nL, nS, -1).clone()
    theta0[..., :D] += delta
    offset = torch.linalg.vector_norm((theta0[..., :D] - theta_k[:, None, None, :D]) * m_lo[:, :, None], dim=-1)
    grid_rows = np.repeat(rows, nL * nS)
    mask = m_lo[:, :, None].expand(R, nL, nS, D).reshape(-1, D)
    data = np.array([config_seed("lottery", "data", int(sd)) for sd in run.sweep.column("seed")[grid_rows]])
    dtype = run.settings.torch_dtype
    copy = _retrain(run, split, theta0.reshape(-1, theta0.shape[-1]).to(dtype), mask, grid_rows, data,
                    progress=progress)
    ref = run.theta[rows][:, lv][:, :, None].expand(R, nL, nS, -1).reshape(copy.shape)
    b = _pair_barriers(run.net, ref, copy, split, c)
    with torch.no_grad():
        err = {"train": run.net.error(copy, split.X_train.to(copy.dtype), split.y_train).numpy(),
               "test": run.net.error(copy, split.X_test.to(copy.dtype), split.y_test).numpy()}
    shape = (R, nL, nS)
    return PerturbationStudy(rows, lv, s, dist.numpy(), {k: v.reshape(shape) for k, v in b.items()},
                             {k: v.reshape(shape) for k, v in err.items()}, offset.numpy())


# -- figures and the explorer ---------------------------------------------------------------

_METHOD_COLOR = {"magnitude": COLORS["blue"], "random": COLORS["orange"]}
_REWIND_MARKER = ("o", "s", "^", "D")


def _pct(x):
    return 100.0 * np.asarray(x)


def barrier_figure(lmc: LMCStudy, tolerance: dict, sparsity_threshold: float):
    """Three panels: the test and the train barrier of every successive pair against the
    sparsity of level L+1 (colour: pruning; marker: rewind step; every seed a point; the band
    [0, tolerance] shaded), and the iff scatter — barrier against the larger excess test error
    of the pair's two levels over the dense network, pairs below ``sparsity_threshold`` faded.
    ``tolerance``: {"train": τ_train, "test": τ_test} (error fractions)."""
    if not isinstance(lmc, LMCStudy):
        raise TypeError(f"lmc must be an LMCStudy, got {type(lmc).__name__}")
    tolerance = check_tolerance_pair(tolerance, "tolerance")
    thr = check_scalar(sparsity_threshold, "sparsity_threshold", min=0.0, max=1.0)
    fig, axes = figure(1, 3, width="wide", height=3.4)
    meth, rew = lmc.column("pruning"), lmc.column("rewind")
    rewinds = list(dict.fromkeys(rew.tolist()))
    err = lmc.run.test_error
    excess = np.maximum(err[:, :-1], err[:, 1:]) - err[:, :1]
    for g in range(len(meth)):
        color, mk = _METHOD_COLOR[meth[g]], _REWIND_MARKER[rewinds.index(rew[g]) % 4]
        for ax, name in zip(axes[:2], ("test", "train")):
            ax.plot(_pct(lmc.sparsity[g]), _pct(lmc.barriers[name][g]), mk, color=color, ms=3.5,
                    alpha=0.75, mfc="none")
        hi = lmc.sparsity[g] >= thr
        axes[2].plot(_pct(excess[g][hi]), _pct(lmc.barriers["test"][g][hi]), mk, color=color, ms=4,
                     alpha=0.8, mfc="none")
        axes[2].plot(_pct(excess[g][~hi]), _pct(lmc.barriers["test"][g][~hi]), mk, color=COLORS["grey"],
                     ms=3, alpha=0.35, mfc="none")
    for ax, name, title in zip(axes[:2], ("test", "train"), ("(a) test-error barrier", "(b) train-error barrier")):
        ax.axhspan(0, _pct(tolerance[name]), color=COLORS["green"], alpha=0.15, lw=0)
        ax.axvline(_pct(thr), color=COLORS["grey"], ls=":", lw=1)
        ax.set(xlabel="sparsity of level L+1 (%)", ylabel="barrier B_L (% error)", title=title)
        _symlog(ax.yaxis)
    ax = axes[2]
    ax.axhline(_pct(tolerance["test"]), color=COLORS["green"], ls="--", lw=1, label="zero-barrier tolerance")
    ax.axvline(_pct(lmc.tolerance), color=COLORS["red"], ls="--", lw=1, label="matching tolerance")
    ax.set(xlabel="excess test error of the pair over dense (pp)", ylabel="test barrier (% error)",
           title=f"(c) pairs at sparsity ≥ {_pct(thr):.0f} %")
    _symlog(ax.yaxis)
    _symlog(ax.xaxis, (-2, 0, 1, 2, 5, 10, 20, 50))
    for m in dict.fromkeys(meth.tolist()):
        ax.plot([], [], "o", color=_METHOD_COLOR[m], mfc="none", label=f"{m} pruning")
    for i, k in enumerate(rewinds):
        ax.plot([], [], _REWIND_MARKER[i % 4], color="k", mfc="none", label=f"rewind k = {k}")
    ax.legend(fontsize=7, loc="upper left")
    return fig


def robustness_figure(pert: PerturbationStudy, tolerance: dict):
    """Test and train barrier between the perturbed copy and the level-(L+1) solution against
    the multiple s of the successive-rewind-point distance: every configuration a point, the
    median over configurations a line, one colour per level; the band [0, tolerance] shaded."""
    if not isinstance(pert, PerturbationStudy):
        raise TypeError(f"pert must be a PerturbationStudy, got {type(pert).__name__}")
    tolerance = check_tolerance_pair(tolerance, "tolerance")
    fig, axes = figure(1, 2, width="wide", height=3.4)
    palette = [COLORS[c] for c in ("sky", "green", "yellow", "orange", "red", "purple", "blue")]
    sp = 1.0 - 0.8 ** pert.levels
    for ax, name in zip(axes, ("test", "train")):
        ax.axhspan(0, _pct(tolerance[name]), color=COLORS["green"], alpha=0.15, lw=0)
        for j, L in enumerate(pert.levels):
            color = palette[j % len(palette)]
            B = _pct(pert.barriers[name][:, j])
            jitter = 1.0 + 0.04 * (j - len(pert.levels) / 2)
            ax.plot(np.repeat(pert.multiples[None] * jitter, B.shape[0], 0).ravel(), B.ravel(), "o",
                    color=color, ms=3, alpha=0.6, mfc="none")
            ax.plot(pert.multiples * jitter, np.median(B, 0), "-", color=color,
                    label=f"level {L} (sparsity {_pct(sp[j]):.0f} %)")
        ax.set(xscale="log", xlabel="perturbation norm s = ‖δ‖ / ‖(m_L − m_{L+1}) ⊙ θ_k‖",
               ylabel=f"{name}-error barrier (%)", title=f"({'ab'[name == 'train']}) {name} error")
        _symlog(ax.yaxis)
        from matplotlib.ticker import NullLocator

        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xticks(pert.multiples, [f"{s:g}" for s in pert.multiples])
    axes[0].legend(fontsize=7, loc="upper left")
    return fig


def _symlog(axis, ticks=(0, 0.5, 1, 2, 5, 10, 20, 50, 100)):
    """A symmetric-log axis (linear below 1 %) with plain tick labels; a y axis starts at 0."""
    from matplotlib.ticker import FixedLocator, NullLocator

    ax = axis.axes
    if axis is ax.yaxis:
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(bottom=0)
    else:
        ax.set_xscale("symlog", linthresh=1.0)
    axis.set_major_locator(FixedLocator(list(ticks)))
    axis.set_minor_locator(NullLocator())
    axis.set_major_formatter(lambda v, _: f"{v:g}")


_EXPLORER_LEVELS = (1, 5, 9, 12, 13)
_EXPLORER_STUDY: dict = {}


@functools.lru_cache(maxsize=1)
def _default_study() -> LMCStudy:
    net, split, settings, seeds, rewinds = setup()
    run = run_imp(net, split, settings, seeds=seeds[:1], rewind_steps=rewinds, progress=False)
    return successive_lmc(run, split)


def use_in_explorer(lmc: LMCStudy):
    """Make :data:`lmc_explorer` draw ``lmc`` (a page's own study) and return the explorer.

    Without it the explorer computes the set-up's study itself (seed 0 alone), once."""
    if not isinstance(lmc, LMCStudy):
        raise TypeError(f"lmc must be an LMCStudy, got {type(lmc).__name__}")
    missing = [k for k in (0, 20) if k not in lmc.column("rewind")]
    if missing or lmc.matching.shape[1] <= max(_EXPLORER_LEVELS):
        raise ValueError(f"the explorer needs rewinds 0 and 20 and more than {max(_EXPLORER_LEVELS)} "
                         "levels in the study")
    _EXPLORER_STUDY["lmc"] = lmc
    return lmc_explorer


@explorer(level=list(_EXPLORER_LEVELS), rewind=[0, 20], coefficient=[0.0, 0.5, 1.0],
          labels={"level": "level L", "rewind": "rewind step k", "coefficient": "coefficient c"})
def lmc_explorer(level: int = 12, rewind: int = 20, coefficient: float = 0.5):
    """Left: the test error along the segment from the level-L to the level-(L+1) solution
    (every seed a line; magnitude and random pruning), the coefficient c marked. Right: the test
    error of the interpolated network (1 − c) θ_L + c θ_{L+1} of every level, averaged over the
    seeds, against the sparsity of level L (c = 0: the level-L solutions; c = 1: level L+1)."""
    lmc = _EXPLORER_STUDY.get("lmc") or _default_study()
    c = lmc.coefficients
    i = int(np.argmin(np.abs(c - coefficient)))
    meth, rew = lmc.column("pruning"), lmc.column("rewind")
    E = lmc.curves["test"]
    sp_L = np.concatenate([[0.0], lmc.sparsity[0, :-1]])
    # a fixed layout and fixed plain-text ticks: a frame draws in a fraction of the time that a
    # constrained layout with mathtext log labels takes (the static explorer draws every frame)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.4, layout=None)
    fig.subplots_adjust(left=0.07, right=0.985, bottom=0.15, top=0.9, wspace=0.22)
    for m in dict.fromkeys(meth.tolist()):
        rows = np.flatnonzero((meth == m) & (rew == rewind))
        color = _METHOD_COLOR[m]
        for j, g in enumerate(rows):
            ax0.plot(c, _pct(E[g, level]), "-", color=color, lw=1.2, alpha=0.8,
                     label=f"{m} pruning" if j == 0 else None)
            ax0.plot(c[i], _pct(E[g, level, i]), "o", color=color, ms=5)
        ax1.plot(_pct(sp_L), _pct(E[rows, :, i].mean(0)), "o-", color=color, ms=3, label=f"{m} pruning")
        ax1.plot(_pct(sp_L[level]), _pct(E[rows, level, i].mean()), "o", color=color, ms=10, mfc="none")
    ax0.axvline(c[i], color=COLORS["grey"], ls=":", lw=1)
    ax0.set(xlabel="coefficient c  (θ = (1 − c) θ_L + c θ_{L+1})", ylabel="test error (%)",
            title=f"level {level} → {level + 1}, rewind k = {rewind}")
    ax1.set(xlabel="sparsity of level L (%)", ylabel="test error at c (%)",
            title=f"every level at c = {c[i]:g}, mean over seeds")
    for ax in (ax0, ax1):
        _log_error_axis(ax, 2.0, 100.0)
        ax.legend(fontsize=8, loc="upper left")
    return fig


def _log_error_axis(ax, lo, hi):
    from matplotlib.ticker import FixedLocator, NullLocator

    ax.set_yscale("log")
    ticks = [t for t in (1, 2, 5, 10, 20, 50, 100) if lo <= t <= hi]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_ylim(lo, hi)
