r"""Gaussian width and Gordon's escape through a mesh (shared by the lottery and class-manifold chapters).

Definitions. For a set :math:`S \subset \mathbb{R}^D` and :math:`g \sim N(0, I_D)`,

.. math::  w(S) = \mathbb{E}\, \sup_{x \in S} \langle g, x \rangle ,

the *Gaussian width*. For :math:`S` on the unit sphere :math:`S^{D-1}` its square
:math:`w(S)^2` is the number of dimensions the set "occupies" in the escape statements below:
a random subspace of codimension :math:`m` misses :math:`S` once :math:`a_m > w(S)`, where
:math:`a_m = \mathbb{E}\lVert g_m \rVert \approx \sqrt{m}` (Gordon 1988), so the threshold
codimension is :math:`m^* \approx w(S)^2`, and a random subspace of dimension :math:`d` hits it
only once :math:`d \gtrsim D - w(S)^2` (Larsen, Fort, Becker, Ganguli 2022, who measure a loss
sublevel set by the smallest random affine subspace that reaches it; Fort et al. use the same
idea for class manifolds).

What is here (numpy, float64):

- closed forms: the unit sphere of a k-dimensional subspace, :math:`w = a_k =
  \sqrt{2}\,\Gamma(\tfrac{k+1}{2})/\Gamma(\tfrac{k}{2})` (:func:`chi_mean`,
  :func:`width_subspace_sphere`); a spherical cap (:func:`width_cap`, incomplete-beta closed form
  and a quadrature of the same one-dimensional integral); an ellipsoid (:func:`width_ellipsoid`, a
  one-dimensional integral; :func:`width_ellipsoid_mc`; the Jensen bound
  :func:`width_ellipsoid_jensen`); Larsen et al.'s quadratic-well approximation for an ellipsoid
  seen from a point (:func:`larsen_width_sq`) and an exact Monte Carlo of that projected set when
  the point lies on an axis (:func:`width_projected_ellipsoid_mc`);
- Monte Carlo width of any set given by sample points (:func:`width_from_points`);
- Gordon's escape bound and threshold (:func:`gordon_escape_bound`,
  :func:`gordon_threshold_codimension`, :func:`gordon_threshold_dimension`);
- the exact probability that a random k-dimensional subspace meets a cap (a Beta survival
  function, :func:`cap_hit_probability`), its Monte Carlo over random subspaces
  (:func:`cap_hit_probability_mc`) and the exact half-way crossing (:func:`cap_hit_crossing`).

References: Y. Gordon (1988), "On Milman's inequality and random subspaces which escape through a
mesh in R^n", GAFA Seminar, LNM 1317; B. W. Larsen, S. Fort, N. Becker, S. Ganguli (ICLR 2022),
"How many degrees of freedom do we need to train deep networks: a loss landscape perspective".
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import integrate, optimize, special, stats

from theory.core._random import config_seed
from theory.core._validate import array_bytes, as_array, check_memory, check_scalar, check_seed

__all__ = ["MCWidth", "cap_hit_crossing", "cap_hit_probability", "cap_hit_probability_mc", "chi_mean",
           "gordon_escape_bound", "gordon_threshold_codimension", "gordon_threshold_dimension",
           "larsen_width_sq", "width_cap", "width_ellipsoid", "width_ellipsoid_jensen",
           "width_ellipsoid_mc", "width_from_points", "width_projected_ellipsoid_mc",
           "width_subspace_sphere"]


class MCWidth(NamedTuple):
    """A Monte Carlo estimate of a Gaussian width: the mean of sup⟨g, x⟩ over ``n_samples`` draws of
    g, its standard error (sample std / √n), and the mean of the squared sup (E sup², which is
    within 1 of w² for a subset of the unit sphere: the sup is 1-Lipschitz in g)."""

    width: float
    stderr: float
    mean_sq: float
    n_samples: int


# ----------------------------------------------------------------------------------------- checks
def _int(x, name, lo=1, hi=None):
    return check_scalar(x, name, kind="int", min=lo, max=hi)


def _theta(theta):
    return check_scalar(theta, "theta", min=0.0, max=math.pi)


def _seed(seed):
    return check_seed(seed, "seed")


def _mc_memory(n, batch_size, *row_shape, copies=2):
    """Refuse a Monte Carlo whose n sups plus ``copies`` batches of (min(batch, n), *row_shape) draws
    exceed memory, before drawing anything."""
    b = min(batch_size, n)
    check_memory(array_bytes(n) + copies * array_bytes(b, *row_shape),
                 f"{n} Monte Carlo samples in batches of {b} × {' × '.join(map(str, row_shape))}",
                 hint="reduce n_samples or batch_size")


def _radii(radii, name="radii"):
    r = as_array(radii, name, ndim=1)
    if r.size == 0:
        raise ValueError(f"{name} must hold at least one radius")
    if np.any(r <= 0):
        raise ValueError(f"{name} must be > 0 (positive finite radii), got min {r.min()!r}")
    return r


def _rng(seed, *salt):
    return np.random.default_rng(config_seed(check_seed(seed, "seed"), "gaussian_width", *salt))


def _summarise(sups: np.ndarray) -> MCWidth:
    n = sups.size
    se = float(sups.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return MCWidth(float(sups.mean()), se, float(np.mean(sups ** 2)), int(n))


# ------------------------------------------------------------------------------ closed forms
def _gaussian_sups(rng, n: int, batch_size: int, D: int, sup) -> MCWidth:
    """Monte Carlo of E sup_{x∈S} <g, x>: ``sup`` maps a batch of draws g (b, D) to the sups (b,)."""
    out = np.empty(n)
    for i in range(0, n, batch_size):
        b = min(batch_size, n - i)
        out[i:i + b] = sup(rng.standard_normal((b, D)))
    return _summarise(out)


def _log_chi_mean(k):
    """log a_k. Below k = 1000 the log-gamma difference (exact to ~1e-13); above it the asymptotic
    series of log Γ(z + ½) − log Γ(z) − ½ log z in 1/z, z = k/2 (error < 1e-16 there): the
    difference of two log-gammas of size k log k loses every digit for large k (a_k came out
    e^2.7 times too large at k = 10^15, 1e-8 too small at k = 2.4e7, below its own lower bound)."""
    k = np.asarray(k, dtype=np.float64)
    small = np.minimum(k, 1000.0)
    exact = 0.5 * math.log(2.0) + special.gammaln((small + 1) / 2) - special.gammaln(small / 2)
    z = np.maximum(k, 1000.0) / 2
    iz = 1.0 / z
    iz2 = iz * iz
    series = 0.5 * np.log(2.0 * z) + iz * (-1 / 8 + iz2 * (1 / 192 + iz2 * (1 / 640 - iz2 * 17 / 14336)))
    return np.where(k < 1000, exact, series)


def chi_mean(k) -> float:
    r"""Gordon's :math:`a_k = \mathbb{E}\lVert g_k \rVert = \sqrt{2}\,\Gamma(\tfrac{k+1}{2})/\Gamma(\tfrac{k}{2})`
    for :math:`g_k \sim N(0, I_k)` (log-gamma, so any k), with :math:`k/\sqrt{k+1} \le a_k \le \sqrt{k}`."""
    k = _int(k, "k")
    return float(np.exp(_log_chi_mean(k)))


def width_subspace_sphere(k, D=None) -> float:
    r"""The width of the unit sphere of a k-dimensional subspace of :math:`\mathbb{R}^D`:
    :math:`\sup_x \langle g, x\rangle = \lVert P g \rVert` with :math:`Pg \sim N(0, I_k)`, so
    :math:`w = a_k` (:func:`chi_mean`) whatever D ≥ k is."""
    k = _int(k, "k")
    if D is not None:
        _int(D, "D", lo=k)
    return chi_mean(k)


def _cap_check(theta, D):
    D = _int(D, "D", lo=2)
    return _theta(theta), D


def width_cap(theta, D, *, method: str = "beta") -> float:
    r"""Gaussian width of the spherical cap :math:`C_\theta = \{x \in S^{D-1} : \langle x, e\rangle \ge \cos\theta\}`.

    Write :math:`g = \lVert g\rVert u` with u uniform on the sphere, independent of
    :math:`\lVert g\rVert`, and φ the angle between u and e. The nearest point of the cap to u
    (geodesically) is u itself when φ ≤ θ and otherwise lies at distance φ − θ on the great circle
    through u and e, so :math:`\sup_{x \in C_\theta}\langle g, x\rangle = \lVert g\rVert
    \cos(\max(\varphi-\theta, 0))` and

    .. math::  w(C_\theta) = a_D \int_0^\pi \cos(\max(\varphi - \theta, 0))\,
               \frac{\sin^{D-2}\varphi}{Z_D}\, d\varphi, \qquad
               Z_D = \frac{\sqrt{\pi}\,\Gamma(\frac{D-1}{2})}{\Gamma(\frac{D}{2})}.

    ``method="quad"`` evaluates this integral by quadrature. ``method="beta"`` (default) uses
    its closed form in t = cos φ, whose density is :math:`c_D (1-t^2)^{(D-3)/2}` with
    :math:`c_D = 1/Z_D` and :math:`(1+t)/2 \sim \mathrm{Beta}(\frac{D-1}{2}, \frac{D-1}{2})`;
    with c = cos θ and :math:`\cos(\varphi-\theta) = t\cos\theta + \sqrt{1-t^2}\sin\theta`,

    .. math::  \frac{w}{a_D} = \Pr[t \ge c] - \cos\theta\,\frac{c_D \sin^{D-1}\theta}{D-1}
               + \sin\theta\,\frac{c_D}{c_{D+1}}\,\Pr_{D+1}[t < c],

    the last probability under the density for D + 1. Limits: θ = 0 (a point) gives 0, θ = π (the
    sphere) gives :math:`a_D`, θ = π/2 (a hemisphere) gives :math:`a_D(1 + c_D/c_{D+1})/2`.
    """
    theta, D = _cap_check(theta, D)
    if method not in ("beta", "quad"):
        raise ValueError(f"method must be 'beta' or 'quad', got {method!r}")
    a_D = chi_mean(D)
    if method == "quad":
        return a_D * _cap_integral_quad(theta, D)
    c, s = math.cos(theta), math.sin(theta)
    x = min(max((1.0 + c) / 2.0, 0.0), 1.0)
    log_cD = special.gammaln(D / 2) - 0.5 * math.log(math.pi) - special.gammaln((D - 1) / 2)
    log_ratio = 2 * special.gammaln(D / 2) - special.gammaln((D - 1) / 2) - special.gammaln((D + 1) / 2)
    tail = special.betainc((D - 1) / 2, (D - 1) / 2, 1.0 - x) if x < 1.0 else 0.0  # Pr[t ≥ c]
    middle = 0.0 if s <= 0.0 else c * math.exp(log_cD + (D - 1) * math.log(s) - math.log(D - 1))
    head = s * math.exp(log_ratio) * special.betainc(D / 2, D / 2, x)
    return a_D * float(tail - middle + head)


def _cap_integral_quad(theta, D):
    log_Z = 0.5 * math.log(math.pi) + special.gammaln((D - 1) / 2) - special.gammaln(D / 2)

    def density(phi):
        s = math.sin(phi)
        return 0.0 if s <= 0.0 else math.exp((D - 2) * math.log(s) - log_Z)

    def pieces(lo, hi, f):
        if hi <= lo:
            return 0.0
        pts = [math.pi / 2] if lo < math.pi / 2 < hi else None
        return integrate.quad(f, lo, hi, points=pts, limit=400, epsabs=1e-13, epsrel=1e-11)[0]

    inside = pieces(0.0, theta, density)
    outside = pieces(theta, math.pi, lambda p: math.cos(p - theta) * density(p))
    return inside + outside


def width_ellipsoid(radii) -> float:
    r"""Gaussian width of the (centred) ellipsoid :math:`\{x : \sum_i x_i^2/r_i^2 \le 1\}`.

    Its support function is :math:`\sup_x \langle g, x\rangle = \sqrt{\sum_i r_i^2 g_i^2}`, so
    :math:`w = \mathbb{E}\sqrt{Q}`, :math:`Q = \sum_i r_i^2 g_i^2`. With
    :math:`\sqrt{q} = \frac{1}{2\sqrt{\pi}}\int_0^\infty (1 - e^{-sq})\, s^{-3/2}\, ds` and
    :math:`\mathbb{E} e^{-sQ} = \prod_i (1 + 2 s r_i^2)^{-1/2}`,

    .. math::  w = \frac{1}{2\sqrt{\pi}} \int_0^\infty \Big(1 - \prod_i (1 + 2 s r_i^2)^{-1/2}\Big)
               s^{-3/2}\, ds,

    evaluated by quadrature in log s. Equal radii r give :math:`r\, a_D`.
    """
    r = _radii(radii)
    r_max = float(r.max())
    q = (r / r_max) ** 2  # w(r) = r_max · w(r / r_max): no overflow or underflow of r² itself

    def integrand(y):  # s = e^y, ds = s dy
        s = math.exp(y)
        one_minus = -np.expm1(-0.5 * np.sum(np.log1p(2.0 * s * q)))
        return float(one_minus) * s ** -0.5

    lo, hi = -60.0, 100.0
    val = integrate.quad(integrand, lo, hi, limit=500, epsabs=1e-13, epsrel=1e-11)[0]
    tail_lo = 2.0 * math.exp(0.5 * lo) * float(q.sum())  # ∫_{-∞}^{lo} Σq e^{y/2} dy (1 − Π ≈ sΣq)
    tail_hi = 2.0 * math.exp(-0.5 * hi)                  # ∫_{hi}^{∞} e^{-y/2} dy (Π → 0)
    return r_max * ((val + tail_lo + tail_hi) / (2.0 * math.sqrt(math.pi)))


def width_ellipsoid_jensen(radii) -> float:
    r"""Jensen's upper bound :math:`w \le \sqrt{\mathbb{E} Q} = \sqrt{\sum_i r_i^2}` on the ellipsoid's width."""
    r = _radii(radii)
    r_max = float(r.max())            # scaled: r² would overflow past 1e154 and underflow below 1e-162
    return r_max * float(math.sqrt(np.sum((r / r_max) ** 2)))


def width_ellipsoid_mc(radii, n_samples=20_000, seed=0, *, batch_size=4096) -> MCWidth:
    r"""Monte Carlo of :math:`\mathbb{E}\sqrt{\sum_i r_i^2 g_i^2}` (the ellipsoid's width), batched over g."""
    r = _radii(radii)
    r_max = float(r.max())
    q = (r / r_max) ** 2
    n = _int(n_samples, "n_samples")
    batch_size = _int(batch_size, "batch_size")
    seed = _seed(seed)
    _mc_memory(n, batch_size, r.size)
    return _gaussian_sups(_rng(seed, "ellipsoid"), n, batch_size, r.size,
                          lambda g: r_max * np.sqrt((g * g) @ q))


def larsen_width_sq(radii, R) -> float:
    r"""Larsen et al.'s (2022) analytic approximation to the squared width of an ellipsoid with radii
    :math:`r_i`, projected onto the unit sphere around a point at distance R from its centre:

    .. math::  w^2 \approx \sum_i \frac{r_i^2}{R^2 + r_i^2}.

    (Each axis contributes the squared sine of the angle it subtends; R = 0 gives D, the whole
    sphere.) An approximation, not a bound: compare :func:`width_projected_ellipsoid_mc`.
    """
    r = _radii(radii)
    R = check_scalar(R, "R", min=0.0)
    # r²/(R² + r²) = 1/(1 + (R/r)²): finite for all finite radii (r² underflowed to 0/0 below 1e-162)
    with np.errstate(over="ignore"):
        return float(np.sum(1.0 / (1.0 + (R / r) ** 2)))


# ----------------------------------------------------------------------------- Monte Carlo
def width_from_points(points, n_samples=10_000, seed=0, *, batch_size=1024) -> MCWidth:
    r"""Monte Carlo Gaussian width of a finite set, :math:`w \approx \frac1n \sum_s \max_i \langle g_s, x_i\rangle`.

    ``points`` is (n_points, D). For points sampled from a larger set this is the exact width of
    the sample, hence (up to noise) a lower bound on the set's width; it converges to it only when
    the sample covers the set finely, which in high dimension takes very many points.
    """
    X = as_array(points, "points", ndim=2)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"points must be a non-empty (n_points, D) array, got shape {X.shape}")
    n = _int(n_samples, "n_samples")
    batch_size = _int(batch_size, "batch_size")
    seed = _seed(seed)
    _mc_memory(n, batch_size, max(X.shape))
    return _gaussian_sups(_rng(seed, "points"), n, batch_size, X.shape[1],
                          lambda g: (g @ X.T).max(axis=1))


def _dist_to_cone_boundary(h0, h, a, iters=100):
    r"""Distance from points (h0, h) with h0 > 0 to the boundary :math:`z_0 = \lVert A z_\perp\rVert`
    of an elliptic cone, A = diag(a). Batched over rows of h.

    Lagrange: :math:`z_0 = h_0/(1+\mu)`, :math:`z_i = h_i/(1-\mu a_i^2)`; the nearest point keeps
    every sign of h, so μ ∈ (−1, 1/max a²), where :math:`G(\mu) = h_0^2/(1+\mu)^2 -
    \sum_i a_i^2 h_i^2/(1-\mu a_i^2)^2` falls strictly from +∞ to −∞: one root, found by bisection.
    """
    a2 = a * a
    lo = np.full(h0.shape, -1.0)
    hi = np.full(h0.shape, 1.0 / a2.max())
    h2a2 = h * h * a2
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        G = h0 ** 2 / (1.0 + mid) ** 2 - np.sum(h2a2 / (1.0 - mid[:, None] * a2) ** 2, axis=1)
        pos = G > 0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
    mu = 0.5 * (lo + hi)
    z0 = h0 / (1.0 + mu)
    z = h / (1.0 - mu[:, None] * a2)
    return np.sqrt((z0 - h0) ** 2 + np.sum((z - h) ** 2, axis=1))


def _sup_elliptic_cone(g0, g, t):
    r"""sup of ⟨g, u⟩ over unit u in :math:`K = \{u_0 \ge \lVert T^{-1} u_\perp \rVert\}`, T = diag(t).

    For a closed convex cone K with polar :math:`K^\circ`: the sup is ‖g‖ if g ∈ K,
    :math:`\lVert\Pi_K g\rVert = \mathrm{dist}(g, K^\circ)` if g ∉ K ∪ K°, and
    :math:`-\mathrm{dist}(g, \partial K^\circ)` if g ∈ K° (the distance from a point inside a convex
    set to its boundary is the least distance to a supporting half-space,
    :math:`\min_{u \in K, \lVert u\rVert = 1} \langle -g, u\rangle`). Here
    :math:`K^\circ = \{-v_0 \ge \lVert T v_\perp\rVert\}`, and
    :math:`\lVert \Pi_K g\rVert^2 = \lVert g\rVert^2 - \mathrm{dist}(g, K)^2`.
    """
    norm = np.sqrt(g0 ** 2 + np.sum(g * g, axis=1))
    in_K = g0 >= np.sqrt(np.sum((g / t) ** 2, axis=1))
    in_polar = -g0 >= np.sqrt(np.sum((g * t) ** 2, axis=1))
    out = np.empty_like(g0)
    out[in_K] = norm[in_K]
    m = in_polar
    if m.any():
        out[m] = -_dist_to_cone_boundary(-g0[m], g[m], t)
    m = ~in_K & ~in_polar & (g0 >= 0)
    if m.any():
        d = _dist_to_cone_boundary(g0[m], g[m], 1.0 / t)
        out[m] = np.sqrt(np.maximum(norm[m] ** 2 - d ** 2, 0.0))
    m = ~in_K & ~in_polar & (g0 < 0)
    if m.any():
        out[m] = _dist_to_cone_boundary(-g0[m], g[m], t)
    return out


def width_projected_ellipsoid_mc(radii, R, n_samples=20_000, seed=0, *, axis=0,
                                 batch_size=4096) -> MCWidth:
    r"""Monte Carlo width of an ellipsoid (radii :math:`r_i`, centre c) projected onto the unit sphere
    around a point p on its axis ``axis`` at distance R from c: :math:`S = \{(x-p)/\lVert x-p\rVert : x \in E\}`.

    Exact per draw of g (no sampling of the set). With p = c + R e_j and R > r_j, the directions
    from p into E form the elliptic cone :math:`\{v : -v_j \ge \sqrt{R^2 - r_j^2}\,
    (\sum_{i \ne j} v_i^2/r_i^2)^{1/2}\}` — a ray p + sv meets E iff the quadratic
    :math:`\sum_i (s v_i - R\delta_{ij})^2/r_i^2 \le 1` has a root s > 0 — i.e. axis −e_j and
    tangents :math:`t_i = r_i/\sqrt{R^2-r_j^2}` (a ball, all :math:`r_i = r`, gives the cap of
    angle arcsin(r/R)). The sup of ⟨g, u⟩ over the cone's unit vectors is computed exactly
    (projection on the cone or, for g in its polar, distance to the polar's boundary; one
    monotone secular equation each). R < r_j (p inside E) gives the whole sphere; R = r_j the
    hemisphere {⟨u, e_j⟩ ≤ 0}. Compare with :func:`larsen_width_sq`.
    """
    r = _radii(radii)
    R = check_scalar(R, "R", min=0.0)
    D = r.size
    axis = _int(axis, "axis", lo=0, hi=D - 1)
    n = _int(n_samples, "n_samples")
    batch_size = _int(batch_size, "batch_size")
    if D == 1:
        raise ValueError("radii must hold at least two radii (D ≥ 2) for a projected ellipsoid")
    seed = _seed(seed)
    _mc_memory(n, batch_size, D, copies=8)
    rng = _rng(seed, "projected_ellipsoid")
    others = np.delete(np.arange(D), axis)
    out = np.empty(n)
    gap2 = R * R - r[axis] ** 2
    for i in range(0, n, batch_size):
        b = min(batch_size, n - i)
        g = rng.standard_normal((b, D))
        if gap2 < 0:          # p inside E: every direction
            out[i:i + b] = np.linalg.norm(g, axis=1)
        elif gap2 == 0:       # p on E's boundary: the closed hemisphere facing the centre
            g0, gp = -g[:, axis], g[:, others]
            out[i:i + b] = np.where(g0 >= 0, np.linalg.norm(g, axis=1), np.linalg.norm(gp, axis=1))
        else:
            t = r[others] / math.sqrt(gap2)
            out[i:i + b] = _sup_elliptic_cone(-g[:, axis], g[:, others], t)
    return _summarise(out)


# ------------------------------------------------------------------------------- Gordon
def gordon_escape_bound(width, m) -> float:
    r"""Gordon's (1988) escape through a mesh: for :math:`S \subset S^{D-1}` with
    :math:`w(S) < a_m`, a uniformly random subspace of codimension m misses S with probability at least

    .. math::  1 - 3.5\, \exp\!\big(-(a_m - w(S))^2 / 18\big),

    returned clipped at 0 (and 0 when w(S) ≥ a_m: no guarantee).
    """
    w = check_scalar(width, "width", min=0.0)
    a_m = chi_mean(_int(m, "m"))
    if w >= a_m:
        return 0.0
    return max(0.0, 1.0 - 3.5 * math.exp(-((a_m - w) ** 2) / 18.0))


def gordon_threshold_codimension(width, D) -> int:
    r"""The threshold codimension :math:`m^* = \min\{m \in 1..D : a_m \ge w(S)\}` (≈ w(S)², since
    :math:`m - 1/2 \le a_m^2 \le m`); D when no smaller m qualifies (the width of a subset of
    :math:`S^{D-1}` is at most :math:`a_D`)."""
    w = check_scalar(width, "width", min=0.0)
    D = _int(D, "D")
    log_w = math.log(w) if w > 0 else -math.inf
    lo, hi = 1, D  # a_m increasing in m: bisection on the first m with a_m ≥ w
    if _log_chi_mean(D) < log_w:
        return D
    while lo < hi:
        mid = (lo + hi) // 2
        if _log_chi_mean(mid) >= log_w:
            hi = mid
        else:
            lo = mid + 1
    return int(lo)


def gordon_threshold_dimension(width, D) -> int:
    r""":math:`D - m^*`: random subspaces of this dimension or less escape S (Gordon's threshold);
    Larsen et al.'s threshold training dimension, ≈ D − w(S)²."""
    D = _int(D, "D")
    return D - gordon_threshold_codimension(width, D)


# ------------------------------------------------------------------- random subspaces vs a cap
def _cap_hit_check(k, D, theta):
    D = _int(D, "D", lo=2)
    k = _int(k, "k", hi=D)
    return k, D, _theta(theta)


def cap_hit_probability(k, D, theta) -> float:
    r"""Exact probability that a uniformly random k-dimensional subspace V of :math:`\mathbb{R}^D`
    meets the cap :math:`C_\theta` about e.

    :math:`\max_{x \in V, \lVert x\rVert=1}\langle x, e\rangle = \lVert P_V e\rVert`, so V meets the
    cap iff :math:`\lVert P_V e\rVert \ge \cos\theta` — always when θ ≥ π/2 or k = D — and
    :math:`\lVert P_V e\rVert^2 \sim \mathrm{Beta}(k/2, (D-k)/2)` (the squared length of the first k
    coordinates of a uniform unit vector), so for θ < π/2 and k < D

    .. math::  \Pr[V \cap C_\theta \ne \emptyset] = \Pr[\mathrm{Beta}(\tfrac{k}{2}, \tfrac{D-k}{2}) \ge \cos^2\theta].
    """
    k, D, theta = _cap_hit_check(k, D, theta)
    c = math.cos(theta)
    if c <= 0.0 or k == D:
        return 1.0
    return float(stats.beta.sf(c * c, k / 2, (D - k) / 2))


def cap_hit_probability_mc(k, D, theta, n_samples=4000, seed=0, *, batch_size=256):
    r"""Monte Carlo of :func:`cap_hit_probability`: V = span of a D×k Gaussian matrix, orthonormalised
    by (batched) QR; hit iff :math:`\lVert Q^\top e_1\rVert \ge \cos\theta`. Returns
    ``(probability, stderr, proj_sq)`` with ``proj_sq`` the n draws of :math:`\lVert P_V e_1\rVert^2`."""
    k, D, theta = _cap_hit_check(k, D, theta)
    n = _int(n_samples, "n_samples")
    batch_size = _int(batch_size, "batch_size")
    seed = _seed(seed)
    _mc_memory(n, batch_size, D, k, copies=3)
    check_memory(2 * array_bytes(n), f"{n} Monte Carlo samples", hint="reduce n_samples")
    rng = _rng(seed, "cap_hit", k, D)
    proj = np.empty(n)
    for i in range(0, n, batch_size):
        b = min(batch_size, n - i)
        q, _ = np.linalg.qr(rng.standard_normal((b, D, k)))
        proj[i:i + b] = np.sum(q[:, 0, :] ** 2, axis=1)
    c = math.cos(theta)
    hits = (proj >= c * c) if c > 0 else np.ones(n, dtype=bool)
    p = float(hits.mean())
    return p, float(math.sqrt(max(p * (1 - p), 0.0) / n)), proj


def cap_hit_crossing(D, theta, level=0.5) -> float:
    r"""The (real) subspace dimension k ∈ (0, D) at which the exact hitting probability
    :math:`\Pr[\mathrm{Beta}(k/2, (D-k)/2) \ge \cos^2\theta]` equals ``level`` (it increases with k).
    Compare with Gordon's threshold :math:`D - m^*(w(C_\theta))` (≈ D − w², ≈ D cos²θ for large D)."""
    D = _int(D, "D", lo=2)
    theta = check_scalar(theta, "theta", min=0.0, max=math.pi / 2, include_min=False, include_max=False)
    level = check_scalar(level, "level", min=0.0, max=1.0, include_min=False, include_max=False)
    c2 = math.cos(theta) ** 2

    def f(k):
        return stats.beta.sf(c2, k / 2, (D - k) / 2) - level

    lo, hi = 1e-9 * D, D * (1 - 1e-9)
    if f(lo) >= 0:
        return lo
    if f(hi) <= 0:
        return hi
    return float(optimize.brentq(f, lo, hi, xtol=1e-10))
