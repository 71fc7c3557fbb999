r"""Target sets with known answers for the cutting-plane method: balls, ellipsoids, subspaces.

Every target is a union of quadratic components :math:`Q_j = \{x : \lVert L_j (x - c_j)\rVert^2 \le 1\}`
(:math:`L_j` an :math:`m_j \times D` matrix), seen from an anchor :math:`X_0`. The search minimises
:math:`q(x) = \min_j \lVert L_j(x - c_j)\rVert^2` on the plane and scores 1 once q ≤ 1, so its
repeat-mean best score estimates the probability that a random affine d-plane through
:math:`X_0` meets the set. The plane's direction, span(M), is a uniformly random d-subspace
whichever basis the search uses. Exact answers (the book's derivations):

- **Ball** (radius r, anchor at distance R > r from its centre). The plane
  :math:`X_0 + V` is at distance :math:`R\sqrt{1 - \lVert P_V u\rVert^2}` from the centre (u the unit
  vector from the anchor to the centre), and :math:`\lVert P_V u\rVert^2 \sim \mathrm{Beta}(d/2, (D-d)/2)`, so

  .. math::  \Pr[\text{hit}] = \Pr\big[\mathrm{Beta}(\tfrac d2, \tfrac{D-d}2) \ge 1 - r^2/R^2\big]
             = 1 - I_{1 - r^2/R^2}\big(\tfrac d2, \tfrac{D-d}2\big)

  (:func:`ball_hit_probability`, written here for real d; at integer d it is the core's
  ``cap_hit_probability(d, D, arcsin(r/R))``: the ball seen from the anchor is the cap of angle
  arcsin(r/R) on the unit sphere around it, and the plane meets the ball iff its direction meets
  that cap). Its half-way point sits near :math:`D(1 - r^2/R^2) = D - w^2`, since the cap's squared
  width is ≈ :math:`D r^2/R^2` for large D.
- **Tube around a k-dimensional subspace** (radius ε, anchor at distance R from it). Quotienting by
  the subspace maps the plane to a d-plane of :math:`\mathbb{R}^{D-k}` whose direction is again
  uniformly random (rotations fixing the subspace act transitively), and the tube to a ball of
  radius ε, so the hit probability is the ball's in D − k dimensions for d < D − k and 1 for
  d ≥ D − k. As ε → 0 it is the step 1{d ≥ D − k}: **d* = D − k**, the generic intersection of a
  d-plane and a k-plane in R^D (d + k ≥ D).
- **Ellipsoid** and **unions**: no closed form; the *exact geometric* answer per plane is
  :math:`\min_\theta q = \min_j \lVert b_j\rVert^2 - \lVert \Pi_{B_j} b_j\rVert^2` with
  :math:`B_j = L_j M^\top`, :math:`b_j = L_j (X_0 - c_j)` (a least-squares residual; 0 when
  :math:`d \ge m_j`), averaged over many random planes (:func:`exact_hit_probability`, Monte Carlo
  over planes, exact per plane). For a union of subspaces of dimensions :math:`k_j` the ε → 0 limit
  is d* = D − max_j k_j.

The same exact minimum on the *search's own planes* (:func:`exact_plane_minimum`) says, problem by
problem, whether the optimiser found every intersection that exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
import xarray as xr
from scipy import optimize, special

from theory.core import as_array, check_scalar, check_seed, config_seed, width_cap, width_projected_ellipsoid_mc
from theory.class_manifolds.cutting_plane import PlaneObjective, cutting_plane_search, plane_basis
from theory.class_manifolds.fit import fit_sigmoid, interpolated_crossing

__all__ = ["QuadraticTarget", "ball", "ball_explorer", "ball_hit_probability", "ellipsoid", "exact_hit_probability",
           "exact_plane_minimum", "quadratic_objective", "run_ground_truth", "subspace_tube",
           "union_of_subspaces"]


@dataclass(frozen=True)
class QuadraticTarget:
    """A union of components {x : ‖L_j (x − c_j)‖² ≤ 1} with an anchor, its exact hit probability
    (a function of real d, when one is known), the ε → 0 or closed-form d*, and the squared width
    (D − w² is Gordon's threshold) when one is known."""

    name: str
    D: int
    anchor: np.ndarray
    centres: tuple
    Ls: tuple
    exact: Callable | None = None
    limit_d_star: float | None = None
    width_sq: float | None = None


def _D(D):
    return check_scalar(D, "D", kind="int", min=2)


def ball_hit_probability(d, D, radius, distance):
    r""":math:`1 - I_{1 - r^2/R^2}(d/2, (D - d)/2)`, the exact probability that a uniformly random
    affine d-plane through a point at distance R from the centre of a ball of radius r meets the
    ball; d may be real (0 < d ≤ D) or an array. 1 when r ≥ R or d = D."""
    D = _D(D)
    r = check_scalar(radius, "radius", min=0.0, include_min=False)
    R = check_scalar(distance, "distance", min=0.0)
    d_arr = as_array(d, "d")
    if np.any(d_arr <= 0) or np.any(d_arr > D):
        raise ValueError(f"d must lie in (0, D] = (0, {D}], got {d!r}")
    if r >= R:
        out = np.ones_like(d_arr)
    else:
        x = 1.0 - (r / R) ** 2
        full = d_arr >= D
        dd = np.where(full, D / 2.0, d_arr)
        out = np.where(full, 1.0, special.betaincc(dd / 2.0, (D - dd) / 2.0, x))
    return float(out) if np.ndim(out) == 0 else out


def ball(D, radius, distance) -> QuadraticTarget:
    """A ball of ``radius`` centred at 0, anchor at ``distance``·e₀; exact hit probability
    :func:`ball_hit_probability`; squared width of the cap it subtends, ``width_cap(arcsin(r/R))²``."""
    D = _D(D)
    r = check_scalar(radius, "radius", min=0.0, include_min=False)
    R = check_scalar(distance, "distance", min=0.0, include_min=False)
    if r >= R:
        raise ValueError(f"radius must be < distance (the anchor outside the ball), got {r} ≥ {R}")
    anchor = np.zeros(D)
    anchor[0] = R
    return QuadraticTarget(f"ball(D={D}, r/R={r / R:.3g})", D, anchor, (np.zeros(D),), (np.eye(D) / r,),
                           exact=lambda d: ball_hit_probability(d, D, r, R),
                           width_sq=width_cap(math.asin(r / R), D) ** 2)


def ellipsoid(radii, distance, *, axis=0, width_samples=20_000, seed=0) -> QuadraticTarget:
    """The ellipsoid Σ x_i²/r_i² ≤ 1, anchor at ``distance``·e_axis (outside it); exact answer by
    :func:`exact_hit_probability`; squared width of its projection onto the unit sphere around the
    anchor by the core's exact-per-draw Monte Carlo ``width_projected_ellipsoid_mc``."""
    r = as_array(radii, "radii", ndim=1)
    if r.size < 2 or np.any(r <= 0):
        raise ValueError("radii must hold at least two positive radii")
    D = r.size
    axis = check_scalar(axis, "axis", kind="int", min=0, max=D - 1)
    width_samples = check_scalar(width_samples, "width_samples", kind="int", min=1)
    seed = check_seed(seed)
    R = check_scalar(distance, "distance", min=0.0, include_min=False)
    if R <= r[axis]:
        raise ValueError(f"distance must exceed radii[axis] = {r[axis]} (the anchor outside), got {R}")
    anchor = np.zeros(D)
    anchor[axis] = R
    w = width_projected_ellipsoid_mc(r, R, n_samples=width_samples, seed=seed, axis=axis)
    return QuadraticTarget(f"ellipsoid(D={D})", D, anchor, (np.zeros(D),), (np.diag(1.0 / r),),
                           width_sq=w.width ** 2)


def _subspaces(D, ks, seed):
    rng = np.random.default_rng(config_seed(seed, "subspaces", D, *ks))
    if sum(ks) >= D:
        raise ValueError(f"ks must sum to less than D = {D} (room for an anchor off every subspace), got {ks}")
    basis, _ = np.linalg.qr(rng.standard_normal((D, D)))
    # the subspaces in general position: random orthonormal k-frames, orthogonal to the anchor
    # direction e = the last column of a random rotation
    e = basis[:, -1]
    frames = []
    for k in ks:
        g = rng.standard_normal((D, k))
        g -= np.outer(e, e @ g)
        q, _ = np.linalg.qr(g)
        frames.append(q)
    return e, frames


def _tube_L(U, eps):
    D, k = U.shape
    full, _ = np.linalg.qr(np.hstack([U, np.random.default_rng(0).standard_normal((D, D - k))]))
    V = full[:, k:]  # orthonormal complement of span(U)
    return V.T / eps


def subspace_tube(D, k, eps, distance=1.0, *, seed=0) -> QuadraticTarget:
    """The tube of radius ``eps`` around a random k-dimensional subspace through 0, anchor at
    ``distance`` from it; exact hit probability the ball's in D − k dimensions (radius ε) below
    d = D − k and 1 from there; ε → 0 limit d* = D − k."""
    D = _D(D)
    k = check_scalar(k, "k", kind="int", min=1, max=D - 2)
    eps = check_scalar(eps, "eps", min=0.0, include_min=False)
    R = check_scalar(distance, "distance", min=0.0, include_min=False)
    seed = check_seed(seed)
    if eps >= R:
        raise ValueError(f"eps must be < distance, got {eps} ≥ {R}")
    e, (U,) = _subspaces(D, (k,), seed)

    def exact(d):
        return ball_hit_probability(np.minimum(np.asarray(d, dtype=np.float64), D - k), D - k, eps, R)

    return QuadraticTarget(f"subspace(D={D}, k={k}, eps/R={eps / R:.3g})", D, R * e, (np.zeros(D),),
                           (_tube_L(U, eps),), exact=exact, limit_d_star=float(D - k))


def union_of_subspaces(D, ks, eps, distance=1.0, *, seed=0) -> QuadraticTarget:
    """The union of tubes of radius ``eps`` around random subspaces of dimensions ``ks`` through 0
    (sum(ks) < D), anchor at ``distance`` from each (orthogonal to all); exact answer by
    :func:`exact_hit_probability`; ε → 0 limit d* = D − max(ks)."""
    D = _D(D)
    if isinstance(ks, (int, np.integer)) or not isinstance(ks, Sequence) or len(ks) == 0:
        raise TypeError("ks must be a non-empty sequence of subspace dimensions")
    ks = tuple(check_scalar(k, "ks", kind="int", min=1, max=D - 2) for k in ks)
    eps = check_scalar(eps, "eps", min=0.0, include_min=False)
    R = check_scalar(distance, "distance", min=0.0, include_min=False)
    seed = check_seed(seed)
    if eps >= R:
        raise ValueError(f"eps must be < distance, got {eps} ≥ {R}")
    e, frames = _subspaces(D, ks, seed)
    return QuadraticTarget(f"union(D={D}, ks={ks}, eps/R={eps / R:.3g})", D, R * e,
                           tuple(np.zeros(D) for _ in ks), tuple(_tube_L(U, eps) for U in frames),
                           limit_d_star=float(D - max(ks)))


# ---------------------------------------------------------------------------------- objective
def quadratic_objective(targets: Sequence[QuadraticTarget]) -> PlaneObjective:
    r"""The search's objective for a batch of targets (one D): loss :math:`q(x) = \min_j
    \lVert L_j(x - c_j)\rVert^2`, score 1{q ≤ 1}. Components are padded to a common count and
    their L to D rows with zeros (zero rows add nothing; absent components get q = +∞)."""
    if not targets or not all(isinstance(t, QuadraticTarget) for t in targets):
        raise TypeError("targets must be a non-empty sequence of QuadraticTarget")
    D = targets[0].D
    if any(t.D != D for t in targets):
        raise ValueError("targets must share one input dimension D")
    J = max(len(t.Ls) for t in targets)
    # per target: the stacked components' L as one (J·D, D) matrix and the offsets L_j c_j
    Ls, offs = [], []
    for t in targets:
        L = np.zeros((J, D, D))
        off = np.zeros((J, D))
        for j, (c, Lj) in enumerate(zip(t.centres, t.Ls)):
            L[j, :Lj.shape[0]] = Lj
            off[j, :Lj.shape[0]] = Lj @ np.asarray(c, dtype=np.float64)
        Ls.append(torch.from_numpy(L.reshape(J * D, D)))
        offs.append(torch.from_numpy(off.reshape(J * D)))
    n_comp = [len(t.Ls) for t in targets]

    def fn(x, target):
        q = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)
        for i in range(len(targets)):
            rows = (target == i).nonzero()[:, 0]
            if rows.numel() == 0:
                continue
            z = (x[rows] @ Ls[i].to(x).T - offs[i].to(x)).reshape(-1, J, D)[:, :n_comp[i]]
            q = q.index_put((rows,), (z * z).sum(-1).min(dim=1).values)
        return q, (q <= 1.0).to(x.dtype)

    keys = tuple(t.name for t in targets)
    if len(set(keys)) != len(keys):
        raise ValueError("targets must have distinct names")
    return PlaneObjective(fn, D, keys, name="quadratic", extra={"targets": tuple(targets)})


# ------------------------------------------------------------------------------- exact answers
def exact_plane_minimum(target: QuadraticTarget, M) -> np.ndarray:
    r""":math:`\min_\theta q(X_0 + \theta^\top M)` exactly for a batch of plane bases M (n, d, D)
    (or one (d, D)): per component the least-squares residual
    :math:`\lVert b\rVert^2 - \lVert Q^\top b\rVert^2` with :math:`B = L M^\top = QR`, 0 when d ≥ m."""
    if not isinstance(target, QuadraticTarget):
        raise TypeError(f"target must be a QuadraticTarget, got {type(target).__name__}")
    M = as_array(M.cpu().numpy() if isinstance(M, torch.Tensor) else M, "M", ndim=(2, 3), nonempty=True)
    if M.ndim == 2:
        M = M[None]
    if M.ndim != 3 or M.shape[2] != target.D:
        raise ValueError(f"M must be (n, d, D) with D = {target.D}, got shape {M.shape}")
    n, d, _ = M.shape
    best = np.full(n, np.inf)
    for c, L in zip(target.centres, target.Ls):
        b = L @ (target.anchor - c)
        if d >= L.shape[0]:
            res = np.zeros(n)
        else:
            q, _ = np.linalg.qr(np.einsum("md,nkd->nmk", L, M))
            proj = np.einsum("nmk,m->nk", q, b)
            res = np.maximum(b @ b - np.sum(proj * proj, axis=1), 0.0)
        best = np.minimum(best, res)
    return best


def exact_hit_probability(target: QuadraticTarget, d_values, *, n_planes=4000, seed=0):
    """The probability that a random affine d-plane through the anchor meets the target, for each d:
    the closed form when the target has one (stderr 0), else the exact per-plane minimum averaged
    over ``n_planes`` uniformly random planes (stderr the binomial one). Returns (p, stderr)."""
    if not isinstance(target, QuadraticTarget):
        raise TypeError(f"target must be a QuadraticTarget, got {type(target).__name__}")
    ds = as_array(d_values, "d_values", ndim=1, nonempty=True)
    if np.any(ds != np.round(ds)) or np.any(ds < 1) or np.any(ds > target.D):
        raise ValueError(f"d_values must be plane dimensions, integers in 1..D = 1..{target.D}, got {d_values!r}")
    seed = check_seed(seed)
    if target.exact is not None:
        return np.asarray(target.exact(ds), dtype=np.float64), np.zeros(ds.size)
    n_planes = check_scalar(n_planes, "n_planes", kind="int", min=1)
    p = np.empty(ds.size)
    for i, d in enumerate(ds):
        d = int(d)
        rng = np.random.default_rng(config_seed(seed, "exact_hit", target.name, d))
        hits = 0
        for s in range(0, n_planes, 1000):
            b = min(1000, n_planes - s)
            hits += int(np.sum(exact_plane_minimum(target, rng.standard_normal((b, d, target.D))) <= 1.0))
        p[i] = hits / n_planes
    return p, np.sqrt(p * (1 - p) / n_planes)


def _exact_crossing(target, p_int):
    """The exact 0.5 crossing: in real d from the closed form when there is one, else by linear
    interpolation of the exact probabilities at d = 1..D."""
    D = target.D
    if target.exact is not None:
        f = lambda d: float(target.exact(d)) - 0.5  # noqa: E731
        lo, hi = 1e-6, float(D)
        if f(lo) >= 0:
            return lo
        return float(optimize.brentq(f, lo, hi, xtol=1e-10))
    return interpolated_crossing(np.arange(1, D + 1), p_int)


def run_ground_truth(targets: Sequence[QuadraticTarget], d_cuts=None, n_repeats=32, *, seed=0,
                     n_planes=4000, **search_kw):
    """Run the cutting-plane search on ``targets`` (one batch) and compare with the exact answers.

    Returns ``(table, search)``: ``search`` the :func:`cutting_plane_search` Dataset; ``table`` an
    ``xarray.Dataset`` over ``target`` with the exact d*₅₀ (``exact_d50``), the search's sigmoid-fit
    d*₅₀ and its delta-method error (``measured_d50``, ``measured_d50_err``), the linear-interpolation
    crossing of the search's curve (``measured_d50_interp``), the ε → 0 limit where one exists
    (``limit_d_star``), Gordon's D − w² where the width is known (``gordon_d``), and
    ``verdict_agreement``: the fraction of problems whose hit (best score 1) equals the exact
    geometric verdict (exact minimum ≤ 1) on the search's own plane; plus the exact curve
    ``exact_p`` over (target, d_cut) beside the measured ``measured_p``.
    """
    if not targets:
        raise ValueError("targets must hold at least one QuadraticTarget")
    if not all(isinstance(t, QuadraticTarget) for t in targets):
        raise TypeError("targets must be a sequence of QuadraticTarget")
    n_repeats = check_scalar(n_repeats, "n_repeats", kind="int", min=1)
    n_planes = check_scalar(n_planes, "n_planes", kind="int", min=1)
    seed = check_seed(seed)
    D = targets[0].D
    ds = list(range(1, D + 1)) if d_cuts is None else list(d_cuts)
    obj = quadratic_objective(targets)
    anchors = torch.from_numpy(np.stack([t.anchor for t in targets]))
    search = cutting_plane_search(obj, anchors, ds, n_repeats, seed=seed, **search_kw)
    ortho = bool(search.attrs["orthonormal"])
    rows = {k: [] for k in ("exact_d50", "measured_d50", "measured_d50_err", "measured_d50_interp",
                            "limit_d_star", "gordon_d", "verdict_agreement")}
    exact_p, meas_p = [], []
    for ti, t in enumerate(targets):
        p_meas = search.best_score.isel(target=ti).mean("repeat").values
        p_int, _ = exact_hit_probability(t, np.arange(1, D + 1), n_planes=n_planes, seed=seed)
        exact_p.append(p_int[np.asarray(ds) - 1])
        meas_p.append(p_meas)
        rows["exact_d50"].append(_exact_crossing(t, p_int))
        fit = fit_sigmoid(np.asarray(ds, float), p_meas, D)
        rows["measured_d50"].append(fit.d50)
        rows["measured_d50_err"].append(fit.d50_err)
        rows["measured_d50_interp"].append(interpolated_crossing(np.asarray(ds, float), p_meas))
        rows["limit_d_star"].append(math.nan if t.limit_d_star is None else t.limit_d_star)
        rows["gordon_d"].append(math.nan if t.width_sq is None else D - t.width_sq)
        agree = []
        for di, d in enumerate(ds):
            Ms = np.stack([plane_basis(seed, d, r, t.name, D, orthonormal=ortho).numpy()
                           for r in range(n_repeats)])
            truth = exact_plane_minimum(t, Ms) <= 1.0
            found = search.best_score.isel(target=ti, d_cut=di).values >= 1.0
            agree.append(truth == found)
        rows["verdict_agreement"].append(float(np.mean(agree)))
    names = [t.name for t in targets]
    table = xr.Dataset({k: ("target", np.asarray(v, dtype=float)) for k, v in rows.items()},
                       coords={"target": names})
    table["exact_p"] = (("target", "d_cut"), np.asarray(exact_p))
    table["measured_p"] = (("target", "d_cut"), np.asarray(meas_p))
    table = table.assign_coords(d_cut=np.asarray(ds))
    table.attrs.update(D=D, n_repeats=n_repeats, seed=seed)
    return table, search


# the chapter's explorer lives in plots.py; re-exported here for the package's __init__
from theory.class_manifolds.plots import ball_explorer  # noqa: E402
