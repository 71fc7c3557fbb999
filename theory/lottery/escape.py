r"""Gaussian width, Gordon's escape through a mesh, and the prune-fraction condition checked in the
quadratic model — the analyses and figures of the page ``book/lottery/escape.ipynb``.

All of it the book's reconstruction (the paper's §3.3 text could not be read; its contributions
list says only that an approximate theory, built on Larsen et al. (2022), bounds how aggressively
one can prune in one iteration from the length of the pruning projection and the pruning ratio).
The widths, Gordon's bound and the exact Beta law come from :mod:`theory.core`; the condition
:math:`pD \le \sum_i r_i^2/(r_i^2 + \ell(p)^2)` and its solver from :mod:`theory.lottery.gordon`.
What is new here:

- Monte Carlo widths of a k-subspace's unit sphere (:math:`\sup = \lVert g_{1:k}\rVert`) and of a
  spherical cap (:math:`\sup = \lVert g\rVert \cos(\max(\varphi - \theta, 0))`, φ the angle of g
  to the cap's centre), and the table of closed forms against them (:func:`width_table`);
- the probability that a random k-subspace meets a cap by rotating the set instead of the subspace
  (:func:`hit_probability_rotation_mc`: by invariance, a uniform :math:`e = g/\lVert g\rVert` against
  the fixed subspace of the first k axes, all k from one draw), Gordon's threshold against the exact
  crossing (:func:`gordon_table`), and the figure (:func:`hit_figure`);
- Larsen et al.'s width against the exact on-axis projection (:func:`larsen_table`);
- the **exact** largest prunable fraction in the quadratic model (:func:`exact_prune_fraction`):
  with :math:`L(w+\delta) = L^* + \tfrac12\delta^\top H\delta`, pruning the set P and retraining the
  rest reaches loss :math:`L^* + \varepsilon` iff the Schur complement minimum
  :math:`q(P) = \tfrac12 w_P^\top (H/H_{KK}) w_P \le \varepsilon`; ordering the coordinates kept-first,
  one Cholesky factor :math:`H = LL^\top` gives every nested P at once,
  :math:`q_j = \tfrac12\sum_{k \ge D-j} (L^\top w)_k^2` (the trailing block of L is the Cholesky
  factor of the Schur complement);
- the Gaussian magnitude-pruning projection :math:`\ell^2(p)/\lVert w\rVert^2 \to p - 2t\phi(t)`,
  :math:`t = \Phi^{-1}((1+p)/2)` (:func:`magnitude_projection_gaussian`), and the prune-fraction
  sweep and figure (:func:`prune_sweep`, :func:`prune_figure`).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import stats

from theory.core import (COLORS, MCWidth, array_bytes, as_array, cap_hit_crossing, cap_hit_probability,
                         cap_hit_probability_mc, check_memory, check_scalar, check_seed,
                         config_seed, figure, gordon_escape_bound, gordon_threshold_dimension,
                         larsen_width_sq, width_cap, width_ellipsoid, width_ellipsoid_mc,
                         width_projected_ellipsoid_mc, width_subspace_sphere)
from theory.lottery._checks import check_dict
from theory.lottery.gordon import p_max_isotropic, projection_length_curve, prune_fraction_fixed_point

__all__ = ["BETA_CASES", "ExactPrune", "LARSEN_CASES", "beta_law_checks", "cap_width_mc", "format_tables",
           "isotropic_checks", "exact_prune_fraction", "gordon_table", "hit_figure",
           "hit_probability_rotation_mc", "larsen_table", "magnitude_projection_gaussian", "prune_figure",
           "projection_curves", "prune_sweep", "schur_prune_curve", "sphere_width_mc", "width_table"]

LARSEN_CASES = ((np.geomspace(0.01, 0.2, 40), 1.0), (np.geomspace(0.05, 0.5, 100), 1.0),
                (np.geomspace(0.05, 0.9, 100), 1.0), (np.geomspace(0.01, 3.0, 200), 4.0))
"""(radii, R) of the Larsen comparison: each seen from the shortest and from the longest axis."""


_CYCLE = tuple(COLORS[k] for k in ("blue", "orange", "green", "red", "purple"))


def _int(x, name, lo=1):
    """A size or count: an int >= ``lo`` (seeds go through :func:`theory.core.check_seed`)."""
    return check_scalar(x, name, kind="int", min=lo)


def _rng(seed, *salt):
    return np.random.default_rng(config_seed(check_seed(seed, "seed"), "lottery.escape", *salt))


def _mc_memory(n, D, copies=2, what=None):
    """Refuse n Monte Carlo draws in R^D whose arrays (``copies`` of (n, D) float64) exceed memory."""
    check_memory(copies * array_bytes(n, D), what or f"{n} Monte Carlo draws in R^{D}",
                 hint="reduce n_samples")


def _thetas(thetas, name="thetas", lo=0.0, hi=math.pi):
    th = as_array(thetas, name, ndim=1, nonempty=True)
    if np.any((th < lo) | (th > hi)):
        raise ValueError(f"{name} must lie in [{lo:g}, {hi:g}], got {th.tolist()}")
    return th


def _summary(sups) -> MCWidth:
    n = sups.size
    return MCWidth(float(sups.mean()), float(sups.std(ddof=1) / math.sqrt(n)), float(np.mean(sups ** 2)), int(n))


# ------------------------------------------------------------------------------------- widths
def sphere_width_mc(k, D, n_samples=20_000, seed=0) -> MCWidth:
    r"""Monte Carlo width of the unit sphere of the subspace spanned by the first k of D axes:
    :math:`\sup_x\langle g, x\rangle = \lVert g_{1:k}\rVert` (closed form :math:`a_k`)."""
    k, D, n = _int(k, "k"), _int(D, "D"), _int(n_samples, "n_samples", 2)
    if k > D:
        raise ValueError(f"k must be <= D, got k={k}, D={D}")
    seed = check_seed(seed, "seed")
    _mc_memory(n, D)
    g = _rng(seed, "sphere", k, D).standard_normal((n, D))
    return _summary(np.linalg.norm(g[:, :k], axis=1))


def cap_width_mc(theta, D, n_samples=20_000, seed=0) -> MCWidth:
    r"""Monte Carlo width of the cap :math:`\{x \in S^{D-1}: \langle x, e_1\rangle \ge \cos\theta\}`:
    the sup over the cap is :math:`\lVert g\rVert\cos(\max(\varphi - \theta, 0))`, φ = ∠(g, e₁)."""
    theta = check_scalar(theta, "theta", min=0.0, max=math.pi)
    D, n = _int(D, "D", 2), _int(n_samples, "n_samples", 2)
    seed = check_seed(seed, "seed")
    _mc_memory(n, D)
    g = _rng(seed, "cap", D, theta).standard_normal((n, D))
    r = np.linalg.norm(g, axis=1)
    phi = np.arccos(np.clip(g[:, 0] / r, -1.0, 1.0))
    return _summary(r * np.cos(np.maximum(phi - theta, 0.0)))


def width_table(n_samples=20_000, seed=0) -> dict:
    """Closed-form widths against Monte Carlo: three subspace spheres (D = 200), four caps and two
    ellipsoids. Returns ``label``, ``exact``, ``mc``, ``stderr`` and ``z = (mc − exact)/stderr``."""
    rows = [(f"sphere k={k}, D=200", width_subspace_sphere(k, 200), sphere_width_mc(k, 200, n_samples, seed))
            for k in (1, 5, 50)]
    rows += [(f"cap θ={t}, D={D}", width_cap(t, D), cap_width_mc(t, D, n_samples, seed))
             for t, D in ((0.5, 3), (1.2, 50), (0.5, 200), (2.0, 200))]
    for name, r in (("ellipsoid r=(0.1, 1, 5)", np.array([0.1, 1.0, 5.0])),
                    ("ellipsoid 60 radii 1e-3…10", np.geomspace(1e-3, 10, 60))):
        rows.append((name, width_ellipsoid(r), width_ellipsoid_mc(r, n_samples, seed)))
    out = {"label": [r[0] for r in rows], "exact": np.array([r[1] for r in rows]),
           "mc": np.array([r[2].width for r in rows]), "stderr": np.array([r[2].stderr for r in rows])}
    out["z"] = (out["mc"] - out["exact"]) / out["stderr"]
    return out


# ------------------------------------------------------------------------------- escape / hitting
def hit_probability_rotation_mc(D, theta, n_samples=4000, seed=0):
    r"""P[a random k-subspace meets the cap of angle θ] for every k = 1…D from one set of draws:
    by rotation invariance, a uniform direction e against the first k axes, hit iff
    :math:`\lVert e_{1:k}\rVert^2 \ge \cos^2\theta`. Returns ``(p, stderr)``, arrays of length D."""
    D, n = _int(D, "D", 2), _int(n_samples, "n_samples", 2)
    theta = check_scalar(theta, "theta", min=0.0, max=math.pi)
    seed = check_seed(seed, "seed")
    _mc_memory(n, D, copies=4)
    g2 = _rng(seed, "hit", D, theta).standard_normal((n, D)) ** 2
    frac = np.cumsum(g2, axis=1) / g2.sum(axis=1, keepdims=True)
    hit = frac >= math.cos(min(theta, math.pi / 2)) ** 2 - 1e-12
    p = hit.mean(axis=0)
    return p, np.sqrt(p * (1 - p) / n)


def gordon_table(D, thetas) -> dict:
    """For caps of angle θ in R^D: the width, Gordon's threshold dimension D − m*, the exact half-way
    crossing of the hitting probability, and the looseness of Gordon's bound — the largest k at which
    the bound still says "misses with probability ≥ ½" (``k_bound_half``) and the first k at which it
    says nothing (``k_bound_zero``)."""
    D = _int(D, "D", 2)
    th = as_array(thetas, "thetas", ndim=1, nonempty=True)
    if np.any((th <= 0) | (th >= math.pi / 2)):
        raise ValueError("thetas must lie in (0, π/2)")
    check_memory(2 * array_bytes(th.size, D), f"Gordon's bound for {th.size} caps at every k < D = {D}")
    w = np.array([width_cap(t, D) for t in th])
    bound = np.array([[gordon_escape_bound(wi, D - k) for k in range(1, D)] for wi in w])
    ks = np.arange(1, D)
    return {"theta": th, "width": w, "threshold": np.array([gordon_threshold_dimension(wi, D) for wi in w]),
            "crossing": np.array([cap_hit_crossing(D, t) for t in th]), "bound": bound,
            "k_bound_half": np.array([ks[b >= 0.5].max() if np.any(b >= 0.5) else 0 for b in bound]),
            "k_bound_zero": np.array([ks[b <= 0].min() if np.any(b <= 0) else D for b in bound]),
            "miss_exact": np.array([[1 - cap_hit_probability(k, D, t) for k in ks] for t in th])}


def hit_figure(D, thetas, n_samples=4000, seed=0, every=8):
    """The exact hitting probability against k (lines), rotation Monte Carlo (markers, every
    ``every``-th k), Gordon's threshold (dashed) and 1 − Gordon's bound, an upper bound on hitting
    (dotted)."""
    D, every = _int(D, "D", 2), _int(every, "every")
    n_samples, seed = _int(n_samples, "n_samples", 2), check_seed(seed, "seed")
    tab = gordon_table(D, thetas)
    _mc_memory(n_samples, D, copies=4)
    fig, ax = figure()
    ks = np.arange(1, D + 1)
    for i, t in enumerate(tab["theta"]):
        c = _CYCLE[i % len(_CYCLE)]
        ax.plot(ks, [cap_hit_probability(k, D, t) for k in ks], color=c, label=f"θ = {t:g}")
        p, se = hit_probability_rotation_mc(D, t, n_samples, seed)
        ax.errorbar(ks[::every], p[::every], yerr=se[::every], fmt="o", ms=3, color=c)
        ax.plot(ks[:-1], 1 - tab["bound"][i], ":", color=c)
        ax.axvline(tab["threshold"][i], ls="--", lw=0.8, color=c)
    ax.plot([], [], "k--", lw=0.8, label="Gordon's D − m*")
    ax.plot([], [], "k:", label="1 − Gordon's bound")
    ax.set_xlabel("subspace dimension k")
    ax.set_ylabel("P[random k-subspace meets the cap]")
    ax.legend(title="lines exact, markers MC", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


BETA_CASES = ((20, 5, 0.9), (30, 10, 0.9), (40, 12, 1.0))
"""(D, k, θ) of the Beta-law check against QR Monte Carlo."""


def beta_law_checks(n_samples=4000, seed=0, *, D=200, thetas=(0.4, 0.8, 1.2)) -> dict:
    r"""The exact Beta law against Monte Carlo: QR subspaces at :data:`BETA_CASES` (``qr``,
    ``qr_stderr``, ``beta``, ``z_qr``) and the rotated problem at every k = 1…D for each θ
    (``z_rot``, the worst over k and θ). Standard errors from the exact probability,
    :math:`\sqrt{p(1-p)/n} + 1/n` (the 1/n keeps p ≈ 0 or 1 finite)."""
    n = _int(n_samples, "n_samples", 2)
    seed, D = check_seed(seed, "seed"), _int(D, "D", 2)
    thetas = _thetas(thetas)
    _mc_memory(n, max(D, max(d * k for d, k, _ in BETA_CASES)), copies=4)
    qr = np.array([cap_hit_probability_mc(k, d, t, n, seed=seed)[:2] for d, k, t in BETA_CASES])
    beta = np.array([cap_hit_probability(k, d, t) for d, k, t in BETA_CASES])
    z_rot = 0.0
    for t in thetas:
        p = hit_probability_rotation_mc(D, t, n, seed)[0]
        e = np.array([cap_hit_probability(k, D, t) for k in range(1, D + 1)])
        z_rot = max(z_rot, float(np.max(np.abs(p - e) / (np.sqrt(e * (1 - e) / n) + 1 / n))))
    return {"qr": qr[:, 0], "qr_stderr": qr[:, 1], "beta": beta,
            "z_qr": np.abs(qr[:, 0] - beta) / (np.sqrt(beta * (1 - beta) / n) + 1 / n), "z_rot": z_rot}


def isotropic_checks(D=200, kappas=None, kappas_exact=(0.02, 0.05, 0.2), n_seeds=8, seed=0) -> dict:
    r"""H = λI (λ = 1, ε = κ/2, ‖w‖² = 1 for the condition): the numeric fixed point (``solver``)
    against the closed form (``closed``) at ``kappas`` (default 9 values log-spaced over 10⁻³…10),
    and at ``kappas_exact`` the exact quadratic p_max (mean over seeds, ``exact``, ≈ κ) against
    the condition (``condition``)."""
    D = _int(D, "D", 2)
    k = as_array(np.geomspace(1e-3, 10, 9) if kappas is None else kappas, "kappas", ndim=1, nonempty=True)
    ke = as_array(kappas_exact, "kappas_exact", ndim=1, nonempty=True)
    n_seeds, seed = _int(n_seeds, "n_seeds"), check_seed(seed, "seed")
    if np.any(k <= 0) or np.any(ke <= 0):
        raise ValueError("kappas and kappas_exact must be > 0")
    return {"kappas": k, "solver": np.array([prune_fraction_fixed_point(np.ones(D), x / 2, np.sqrt) for x in k]),
            "closed": np.array([p_max_isotropic(x) for x in k]), "kappas_exact": ke,
            "exact": np.array([exact_prune_fraction(np.ones(D), x / 2, n_seeds, seed).p.mean() for x in ke]),
            "condition": np.array([p_max_isotropic(x) for x in ke])}


def format_tables(width=None, beta=None, gordon=None, larsen=None, iso=None, sweep=None) -> str:
    """The page's printed tables, from :func:`width_table`, :func:`beta_law_checks`,
    :func:`gordon_table`, :func:`larsen_table`, :func:`isotropic_checks` and :func:`prune_sweep`
    (any subset)."""
    needs = {"width": (width, ("label", "exact", "mc", "stderr", "z"), "width_table"),
             "beta": (beta, ("beta", "qr", "qr_stderr", "z_rot"), "beta_law_checks"),
             "gordon": (gordon, ("theta", "width", "threshold", "crossing", "k_bound_half", "k_bound_zero"),
                        "gordon_table"),
             "larsen": (larsen, ("gap", "D", "R", "r_axis", "larsen", "exact", "stderr", "mean_sq"), "larsen_table"),
             "iso": (iso, ("solver", "closed", "kappas_exact", "exact", "condition"), "isotropic_checks"),
             "sweep": (sweep, ("scales", "methods", "predicted", "exact"), "prune_sweep")}
    for name, (value, keys, fn) in needs.items():
        if value is not None:
            check_dict(value, name, keys, fn)
    out = []
    if width is not None:
        out += ["{:28s} exact {:9.5f}   MC {:9.5f} ± {:.5f}   z = {:+.2f}".format(*r)
                for r in zip(width["label"], width["exact"], width["mc"], width["stderr"], width["z"])]
    if beta is not None:
        out.append(f"Beta law {np.round(beta['beta'], 4)} vs QR Monte Carlo {np.round(beta['qr'], 4)} ± "
                   f"{np.round(beta['qr_stderr'], 4)} at (D, k, θ) = {BETA_CASES}; "
                   f"rotated MC, worst |z| = {beta['z_rot']:.2f}")
    if gordon is not None:
        out += [f"θ = {t}: w = {w:6.3f}, Gordon D − m* = {m:3d}, exact crossing {c:6.2f}; "
                f"bound ≥ ½ up to k = {h:3d}, 0 from k = {z}"
                for t, w, m, c, h, z in zip(gordon["theta"], gordon["width"], gordon["threshold"],
                                            gordon["crossing"], gordon["k_bound_half"], gordon["k_bound_zero"])]
    if larsen is not None:
        for i in range(larsen["gap"].shape[0]):
            for j, name in enumerate(("stiff", "long")):
                out.append(f"D = {larsen['D'][i, j]:3.0f}, R = {larsen['R'][i, j]:g}, {name} axis r = "
                           f"{larsen['r_axis'][i, j]:.2f}: Larsen {larsen['larsen'][i, j]:7.3f}, exact (E sup)² "
                           f"{larsen['exact'][i, j]:7.3f} ± {larsen['stderr'][i, j]:.3f}, E sup² "
                           f"{larsen['mean_sq'][i, j]:7.3f}, gap {larsen['gap'][i, j]:+.1%}")
    if iso is not None:
        out.append(f"isotropic: worst |solver − closed form| = {np.max(np.abs(iso['solver'] - iso['closed'])):.1e}; "
                   f"at κ = {iso['kappas_exact'].tolist()} the exact quadratic p_max is {iso['exact'].round(3)}, "
                   f"the condition's {iso['condition'].round(3)}")
    if sweep is not None:
        out.append("scale c:            " + " ".join(f"{c:6.3g}" for c in sweep["scales"]))
        for m, method in enumerate(sweep["methods"]):
            for name, shown in (("predicted", "condition"), ("exact", "exact")):
                out.append(f"{method:9s} {shown + ':':10s}" + " ".join(f"{v:6.3f}" for v in sweep[name][m].mean(axis=1)))
    return "\n".join(out)


# ---------------------------------------------------------------------------- Larsen et al.
def larsen_table(cases=LARSEN_CASES, n_samples=20_000, seed=0) -> dict:
    r"""Larsen et al.'s :math:`w^2 \approx \sum_i r_i^2/(R^2 + r_i^2)` against the exact
    :math:`(\mathbb{E}\sup)^2` of the ellipsoid projected from a point at distance R on its
    shortest (stiff) and on its longest axis. Returns arrays over cases × (short, long):
    ``larsen``, ``exact``, ``stderr`` (of the squared width), ``mean_sq`` (E sup²) and
    ``gap = larsen/exact − 1``, plus ``r_axis``, ``R`` and ``D``."""
    if cases is None or isinstance(cases, (str, bytes)) or not hasattr(cases, "__len__") or len(cases) == 0:
        raise TypeError(f"cases must be a non-empty sequence of (radii, R) pairs, got {type(cases).__name__}")
    checked = []
    for i, case in enumerate(cases):
        if not isinstance(case, (tuple, list)) or len(case) != 2:
            raise TypeError(f"cases[{i}] must be a pair (radii, R), got {type(case).__name__}")
        r = as_array(case[0], f"cases[{i}] radii", ndim=1, nonempty=True)
        if np.any(r <= 0):
            raise ValueError(f"cases[{i}] radii must be > 0")
        checked.append((r, check_scalar(case[1], f"cases[{i}] R", min=0.0, include_min=False)))
    cases = checked
    n_samples, seed = _int(n_samples, "n_samples", 2), check_seed(seed, "seed")
    _mc_memory(n_samples, max(r.size for r, _ in cases), copies=4)
    keys = ("larsen", "exact", "stderr", "mean_sq", "r_axis", "R", "D")
    out = {k: np.zeros((len(cases), 2)) for k in keys}
    for i, (radii, R) in enumerate(cases):
        r = as_array(radii, "radii", ndim=1)
        for j, axis in enumerate((int(np.argmin(r)), int(np.argmax(r)))):
            m = width_projected_ellipsoid_mc(r, R, n_samples, seed, axis=axis)
            for k, v in zip(keys, (larsen_width_sq(r, R), m.width ** 2, 2 * m.width * m.stderr, m.mean_sq,
                                   r[axis], R, r.size)):
                out[k][i, j] = v
    out["gap"] = out["larsen"] / out["exact"] - 1
    return out


# ------------------------------------------------------------------ the quadratic model, exactly
class ExactPrune(NamedTuple):
    """The exact largest prunable fraction per seed (``p``, shape (G,)), the weights (G, D) and the
    Schur minima ``q`` (G, D+1) after pruning j = 0…D weights in the method's order."""

    p: np.ndarray
    weights: np.ndarray
    q: np.ndarray


def schur_prune_curve(H, weights, order) -> np.ndarray:
    r"""The exact loss rise after pruning the first j weights of ``order`` and retraining the rest in
    the quadratic model, for j = 0…D: :math:`q_j = \tfrac12 w_P^\top (H/H_{KK})\, w_P`, P = order[:j],
    K = order[j:] (:math:`q_D = \tfrac12 w^\top H w`). Batched: H (G, D, D) positive definite,
    ``weights`` and ``order`` (G, D). With the coordinates ordered kept-first (order reversed) and
    :math:`H = LL^\top`, the Schur complement of the leading block is :math:`L_{22}L_{22}^\top`, so
    :math:`q_j = \tfrac12\sum_{k \ge D-j} (L^\top w)_k^2` — one Cholesky factor for all j."""
    H = as_array(H, "H", ndim=3)
    w = as_array(weights, "weights", ndim=2)
    G, D = w.shape
    if H.shape != (G, D, D):
        raise ValueError(f"H must have shape (G, D, D) = {(G, D, D)} to match weights, got {H.shape}")
    if order is None or isinstance(order, (str, bytes)):
        raise TypeError(f"order must be an int array (G, D), got {type(order).__name__}")
    order = np.asarray(order)
    if order.dtype == bool or not np.issubdtype(order.dtype, np.integer):
        raise TypeError(f"order must hold ints (a permutation per row), got dtype {order.dtype}")
    if order.shape != (G, D) or not np.array_equal(np.sort(order, axis=1), np.broadcast_to(np.arange(D), (G, D))):
        raise ValueError(f"order must hold a permutation of 0…{D - 1} per row, shape {(G, D)}")
    rev = order[:, ::-1]                                                      # kept first, pruned last
    H_rev = np.take_along_axis(np.take_along_axis(H, rev[:, :, None], 1), rev[:, None, :], 2)
    try:
        L = np.linalg.cholesky(H_rev)
    except np.linalg.LinAlgError:
        raise ValueError("H must be positive definite") from None
    v2 = np.einsum("gik,gi->gk", L, np.take_along_axis(w, rev, 1)) ** 2     # (Lᵀ w_rev)²
    return 0.5 * np.concatenate([np.zeros((G, 1)), np.cumsum(v2[:, ::-1], axis=1)], axis=1)


def exact_prune_fraction(eigenvalues, eps, n_seeds=8, seed=0, *, method="random", weight_scale=1.0) -> ExactPrune:
    r"""The largest fraction one step of pruning can remove in the quadratic model
    :math:`L(w + \delta) = L^* + \tfrac12\delta^\top H\delta` with a Haar-random eigenbasis,
    :math:`H = Q\,\mathrm{diag}(\lambda)\,Q^\top`, and weights :math:`w \sim N(0, s^2 I/D)`
    (so :math:`\lVert w\rVert^2 \approx s^2`), for ``n_seeds`` independent (Q, w): prune in the
    method's order (``"random"``: a random permutation; ``"magnitude"``: smallest |w| first), retrain
    the rest exactly, and keep pruning while :math:`q_j = \min_{\delta_P = -w_P} \tfrac12\delta^\top H\delta
    \le \varepsilon`. Batched over seeds: one Cholesky factor per seed (module docstring)."""
    lam = as_array(eigenvalues, "eigenvalues", ndim=1)
    if lam.size < 2 or np.any(lam <= 0):
        raise ValueError("eigenvalues must hold at least two values, all > 0 (a positive definite Hessian)")
    eps = check_scalar(eps, "eps", min=0.0, include_min=False)
    s = check_scalar(weight_scale, "weight_scale", min=0.0, include_min=False)
    G = _int(n_seeds, "n_seeds")
    if method not in ("random", "magnitude"):
        raise ValueError(f"method must be 'random' or 'magnitude', got {method!r}")
    D = lam.size
    seed = check_seed(seed, "seed")
    check_memory(4 * array_bytes(G, D, D), f"{G} seeds of a {D} × {D} Hessian", hint="reduce n_seeds")
    rng = _rng(seed, "exact_prune", D, method)
    Q, R = np.linalg.qr(rng.standard_normal((G, D, D)))
    Q = Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]          # Haar
    w = s * rng.standard_normal((G, D)) / math.sqrt(D)
    order = (np.argsort(rng.random((G, D)), axis=1) if method == "random" else np.argsort(np.abs(w), axis=1))
    H = np.einsum("gij,j,gkj->gik", Q, lam, Q)
    q = schur_prune_curve(H, w, order)
    j = np.array([np.flatnonzero(qi <= eps).max() for qi in q])               # q is non-decreasing
    return ExactPrune(j / D, w, q)


def magnitude_projection_gaussian(p):
    r""":math:`\ell^2(p)/\lVert w\rVert^2` for magnitude pruning of i.i.d. Gaussian weights as D → ∞:
    the mass of :math:`g^2` below the p-quantile of |g|, :math:`p - 2t\phi(t)` with
    :math:`t = \Phi^{-1}((1+p)/2)` (the book's derivation; random pruning gives p)."""
    p = as_array(p, "p")
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p must lie in [0, 1]")
    # t = Φ⁻¹((1+p)/2) = Φ̄⁻¹((1−p)/2): the upper tail keeps t finite and exact for p within an ulp
    # of 1, where (1+p)/2 would round to 1 (t = ∞, and ∞·0 = NaN); p = 1 (t = ∞) is set apart
    t = stats.norm.isf((1 - np.where(p >= 1, 0.0, p)) / 2)
    out = np.where(p >= 1, 1.0, p - 2 * t * stats.norm.pdf(t))
    return float(out) if out.ndim == 0 else out


def prune_sweep(eigenvalues, scales, eps, n_seeds=8, seed=0, n_grid=401) -> dict:
    """For each eigenvalue scale c (H's spectrum c·λ) and each method (random, magnitude): the
    predicted p_max of the book's condition (solved on each seed's own weights) and the exact p_max
    of the quadratic model (:func:`exact_prune_fraction`, the same weights). Returns ``scales``,
    ``methods``, ``predicted`` and ``exact``, each (2, n_scales, n_seeds)."""
    lam = as_array(eigenvalues, "eigenvalues", ndim=1)
    c = as_array(scales, "scales", ndim=1, nonempty=True)
    if np.any(c <= 0):
        raise ValueError("scales must be > 0")
    n_seeds, seed = _int(n_seeds, "n_seeds"), check_seed(seed, "seed")
    eps = check_scalar(eps, "eps", min=0.0, include_min=False)
    if lam.size < 2 or np.any(lam <= 0):
        raise ValueError("eigenvalues must hold at least two values, all > 0 (a positive definite Hessian)")
    grid = np.linspace(0.0, 1.0, _int(n_grid, "n_grid", 3))
    methods = ("random", "magnitude")
    pred = np.zeros((2, c.size, n_seeds))
    exact = np.zeros_like(pred)
    for m, method in enumerate(methods):
        for i, ci in enumerate(c):
            ex = exact_prune_fraction(ci * lam, eps, n_seeds, seed, method=method)
            exact[m, i] = ex.p
            for g, w in enumerate(ex.weights):
                pred[m, i, g] = prune_fraction_fixed_point(ci * lam, eps, projection_length_curve(w, grid, method),
                                                           p_grid=grid)
    return {"scales": c, "methods": methods, "predicted": pred, "exact": exact}


def projection_curves(n_weights=10_000, seed=0, n_points=21) -> dict:
    """ℓ²(p)/‖w‖² for random (its expectation, p) and magnitude pruning of ``n_weights`` i.i.d.
    Gaussian weights at ``n_points`` fractions, with the magnitude limit
    (:func:`magnitude_projection_gaussian`). Returns ``p``, ``random``, ``magnitude``, ``magnitude_limit``."""
    n_weights, n_points = _int(n_weights, "n_weights", 2), _int(n_points, "n_points", 2)
    check_memory(4 * array_bytes(n_weights), f"{n_weights} Gaussian weights", hint="reduce n_weights")
    w = _rng(seed, "projection_weights").standard_normal(n_weights)
    ps = np.linspace(0.0, 1.0, n_points)
    w2 = float(np.sum(w * w))
    return {"p": ps, "random": projection_length_curve(w, ps, "random") ** 2 / w2,
            "magnitude": projection_length_curve(w, ps, "magnitude") ** 2 / w2,
            "magnitude_limit": magnitude_projection_gaussian(ps)}


def prune_figure(sweep, curves):
    """Left: p_max against the eigenvalue scale (lines: the book's condition; markers: the exact
    quadratic model, mean ± sd over seeds; ``sweep`` from :func:`prune_sweep`). Right: ℓ²(p)/‖w‖² of
    Gaussian weights for random and magnitude pruning (markers; ``curves`` from
    :func:`projection_curves`) and the limits p and p − 2tφ(t) (lines)."""
    check_dict(sweep, "sweep", ("scales", "methods", "predicted", "exact"), "prune_sweep")
    check_dict(curves, "curves", ("p", "random", "magnitude"), "projection_curves")
    fig, (a0, a1) = figure(1, 2, width="wide")
    for m, method in enumerate(sweep["methods"]):
        c = _CYCLE[m]
        a0.plot(sweep["scales"], sweep["predicted"][m].mean(axis=1), color=c, label=f"{method}: condition")
        a0.errorbar(sweep["scales"], sweep["exact"][m].mean(axis=1), yerr=sweep["exact"][m].std(axis=1),
                    fmt="o", ms=4, color=c, label=f"{method}: exact quadratic")
    a0.set_xscale("log")
    a0.set_xlabel("eigenvalue scale c (Hessian spectrum c·λ)")
    a0.set_ylabel(r"$p_{\max}$")
    a0.legend(fontsize=8)
    fine = np.linspace(0.0, 1.0, 201)
    for m, method in enumerate(("random", "magnitude")):
        c = _CYCLE[m]
        a1.plot(curves["p"], curves[method], "o", ms=4, color=c, label=method)
        a1.plot(fine, fine if method == "random" else magnitude_projection_gaussian(fine), color=c)
    a1.set_xlabel("pruned fraction p")
    a1.set_ylabel(r"$\ell(p)^2/\|w\|^2$")
    a1.legend(fontsize=8)
    return fig
