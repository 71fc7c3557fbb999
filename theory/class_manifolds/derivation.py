r"""Symbolic derivations (sympy) behind the chapter's theory page — the book's reconstruction.

The paper's abstract names Gaussian width and Gordon's escape theorem; its 2021 version (Sec. 1,
Fig. 1) states the intersection argument: a random affine d_cut-plane meets a set of dimension
d_M in R^D generically iff d_cut + d_M ≥ D, so the smallest d_cut that reaches a class manifold
measures its dimension, d_M = D − d*. The formula tying d* to the width could not be read; the
book rebuilds it as :math:`d^* \approx D - w^2(S')`, S′ the set projected radially onto the unit
sphere around the anchor, and checks each exact step here as an :class:`~theory.core.Identity`
whose residual must simplify to zero:

1. :func:`generic_intersection` — a d-plane and a k-plane through the origin of R^D meet in
   dimension max(0, d + k − D), and an affine d-plane meets an affine k-flat iff d + k ≥ D
   (exact ranks of integer matrices in general position; every d, k at D = 6).
2. :func:`ball_as_cap` — a ball of radius r seen from distance R is the cap of half-angle
   θ = arcsin(r/R) on the unit sphere around the anchor; an affine plane :math:`X_0 + V` is at
   squared distance :math:`R^2(1 - \lVert P_V u\rVert^2)` from the centre, so it meets the ball iff
   :math:`\lVert P_V u\rVert^2 \ge 1 - r^2/R^2 = \cos^2\theta`, the argument of the incomplete beta.
3. :func:`beta_concentration` — :math:`\lVert P_V u\rVert^2 \sim \mathrm{Beta}(d/2, (D-d)/2)` has mean
   d/D and variance :math:`2d(D-d)/(D^2(D+2))`, which vanishes as D → ∞ at fixed d/D: the hitting
   probability :math:`1 - I_{1-r^2/R^2}(d/2, (D-d)/2)` becomes a step at d/D = 1 − r²/R².
4. :func:`cap_width_leading_order` — the cap's support function is
   :math:`\lVert g\rVert \cos(\max(\varphi - \theta, 0))` (φ the angle of g to the cap's axis); for large
   D, φ = π/2 − δ with E δ = 0 and E δ² = O(1/D), and to leading order
   :math:`\cos(\pi/2 - \delta - \theta) = \sin\theta + \delta\cos\theta`, so with
   :math:`\mathbb{E}\lVert g\rVert^2 = D`, :math:`w^2 \approx D\sin^2\theta = D r^2/R^2`, and
   :math:`D - w^2 \approx D(1 - r^2/R^2)`, the step of 3. A full-dimensional ball far away
   (r ≪ R) has w² ≪ D: it looks low-dimensional.
"""

from __future__ import annotations

import itertools

import numpy as np
import sympy as sp

from theory.core import check_seed, Identity, config_seed, check_scalar

__all__ = ["all_identities", "ball_as_cap", "beta_concentration", "cap_width_leading_order",
           "generic_intersection"]

r, R, theta, delta = sp.symbols("r R theta delta", positive=True)
d, D, alpha = sp.symbols("d D alpha", positive=True)


def generic_intersection(D_num: int = 6, *, seed: int = 0) -> Identity:
    r"""For every 1 ≤ d, k < D: with A (D×d), B (D×k) and b integer matrices in general position
    (seeded draws from −9..9), :math:`\dim(\mathrm{span} A \cap \mathrm{span} B) = d + k -
    \mathrm{rank}[A\,B] = \max(0, d + k - D)` and :math:`X_0 + \mathrm{span}A` meets
    :math:`c + \mathrm{span}B` (:math:`b = c - X_0 \in \mathrm{span}[A\,B]`) iff d + k ≥ D. The residual
    holds both mismatches for every pair (exact rational ranks)."""
    D_num = check_scalar(D_num, "D_num", kind="int", min=2, max=12)
    seed = check_seed(seed)
    rng = np.random.default_rng(config_seed(seed, "generic_intersection", D_num))
    res = []
    for dd, kk in itertools.product(range(1, D_num), repeat=2):
        A = sp.Matrix(rng.integers(-9, 10, size=(D_num, dd)).tolist())
        B = sp.Matrix(rng.integers(-9, 10, size=(D_num, kk)).tolist())
        b = sp.Matrix(rng.integers(-9, 10, size=(D_num, 1)).tolist())
        AB = A.row_join(B)
        rank = AB.rank()
        meets = AB.row_join(b).rank() == rank
        res.append(dd + kk - rank - max(0, dd + kk - D_num))
        res.append(int(meets) - int(dd + kk >= D_num))
    return Identity("class_manifolds_generic_intersection",
                    f"a d-plane and a k-plane in R^{D_num} meet in dimension max(0, d+k−D); "
                    "an affine d-plane meets an affine k-flat iff d + k ≥ D (all d, k < D)",
                    sp.Matrix(res), {"D": D_num})


def ball_as_cap() -> Identity:
    r"""θ = arcsin(r/R): sin θ = r/R (a tangent ray from the anchor, hypotenuse R, opposite side r),
    cos²θ = 1 − r²/R²; for a unit u = p + q with p = P_V u ⟂ q, the centre's squared distance to the
    plane :math:`R^2\lVert q\rVert^2 = R^2(1 - \lVert p\rVert^2)`, which is ≤ r² iff
    :math:`\lVert p\rVert^2 \ge \cos^2\theta`."""
    th = sp.asin(r / R)
    p2, q2 = sp.symbols("p2 q2", nonnegative=True)  # ‖p‖², ‖q‖² with ‖p‖² + ‖q‖² = ‖u‖² = 1
    dist2 = (R**2 * q2).subs(q2, 1 - p2)
    threshold = sp.solve(sp.Eq(dist2, r**2), p2)[0]
    resid = sp.Matrix([sp.sin(th) - r / R, sp.cos(th)**2 - (1 - r**2 / R**2),
                       threshold - sp.cos(th)**2])
    return Identity("class_manifolds_ball_as_cap",
                    "a ball of radius r seen from distance R is the cap of angle arcsin(r/R); the plane "
                    "meets it iff ‖P_V u‖² ≥ cos²θ = 1 − r²/R² (the incomplete beta's argument)",
                    resid.applyfunc(sp.simplify), {"theta": th})


def beta_concentration() -> Identity:
    r"""Beta(a, b), a = d/2, b = (D − d)/2: mean B(a+1, b)/B(a, b) = d/D, variance
    :math:`2d(D-d)/(D^2(D+2))`, and at d = αD the variance → 0 as D → ∞ (the mean stays α)."""
    a, b = d / 2, (D - d) / 2
    mean = sp.gammasimp(sp.beta(a + 1, b) / sp.beta(a, b))
    second = sp.gammasimp(sp.beta(a + 2, b) / sp.beta(a, b))
    var = sp.simplify(second - mean**2)
    var_claimed = 2 * d * (D - d) / (D**2 * (D + 2))
    lim = sp.limit(var_claimed.subs(d, alpha * D), D, sp.oo)
    resid = sp.Matrix([sp.simplify(mean - d / D), sp.simplify(var - var_claimed), lim,
                       sp.simplify(mean.subs(d, alpha * D) - alpha)])
    return Identity("class_manifolds_beta_concentration",
                    "‖P_V u‖² ~ Beta(d/2, (D−d)/2) has mean d/D and variance 2d(D−d)/(D²(D+2)) → 0 at "
                    "fixed d/D: the hitting probability becomes a step at d/D = 1 − r²/R²",
                    resid, {"variance": var_claimed})


def cap_width_leading_order() -> Identity:
    r"""To first order in δ (φ = π/2 − δ), :math:`\cos(\varphi - \theta) = \sin\theta + \delta\cos\theta`;
    with E δ = 0 and :math:`\mathbb{E}\lVert g\rVert^2 = D` (a sum of D unit second moments,
    :math:`\int x^2 \phi(x)\,dx = 1`), the leading order of w² is :math:`D \sin^2\theta`, which at
    θ = arcsin(r/R) is D r²/R², and D − w² ≈ D(1 − r²/R²), the Beta step's location."""
    x = sp.symbols("x", real=True)
    series = sp.series(sp.cos(sp.pi / 2 - delta - theta), delta, 0, 2).removeO()
    unit_moment = sp.integrate(x**2 * sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi), (x, -sp.oo, sp.oo))
    w2_lead = D * unit_moment * sp.sin(theta)**2
    w2_ball = w2_lead.subs(theta, sp.asin(r / R))
    resid = sp.Matrix([sp.simplify(series - (sp.sin(theta) + delta * sp.cos(theta))), unit_moment - 1,
                       sp.simplify(w2_ball - D * r**2 / R**2),
                       sp.simplify((D - w2_ball) - D * (1 - r**2 / R**2))])
    return Identity("class_manifolds_cap_width_leading_order",
                    "to leading order in D the cap of angle arcsin(r/R) has w² = D r²/R², so Gordon's "
                    "D − w² = D(1 − r²/R²), where the Beta step sits",
                    resid, {"w2": w2_ball})


def all_identities() -> list[Identity]:
    """Every identity of the page, in the order the page states them."""
    return [generic_intersection(), ball_as_cap(), beta_concentration(), cap_width_leading_order()]
