r"""Symbolic derivations (sympy) behind the chapter's §3.3 theory — all of it the book's reconstruction.

The paper's §3.3 formula could not be read (only the abstract, the introduction's opening, the
Fig. 1 caption and the contributions list are known). Its stated ingredients are the length of
the pruning projection and the Hessian eigenspectrum, on top of Larsen et al. (2022): the book
rebuilds the argument as follows, and each step that is an identity is checked here as an
:class:`~theory.core.Identity` whose residual must simplify to zero.

1. Near a solution w the loss is :math:`L(w + \delta) \approx L(w) + \tfrac12 \delta^\top H \delta`;
   its ε-sublevel set is the ellipsoid with semi-axes :math:`r_i = \sqrt{2\varepsilon/\lambda_i}`
   along H's eigenvectors (:func:`sublevel_ellipsoid`).
2. Pruning the coordinates P (setting them to zero) and retraining the kept ones K moves within
   the axial affine subspace :math:`\{\delta : \delta_P = -w_P\}`; the quadratic's exact minimum
   there is :math:`\tfrac12 w_P^\top (H_{PP} - H_{PK} H_{KK}^{-1} H_{KP}) w_P` — a Schur complement
   (:func:`schur_complement_minimum`).
3. The subspace lies at distance :math:`\ell = \lVert w_P\rVert` from w (the projection length);
   random pruning of a fraction p has :math:`\mathbb{E}\,\ell^2 = p\lVert w\rVert^2`
   (:func:`random_pruning_projection`).
4. Gordon's escape through a mesh (``theory.core.gordon_escape_bound``): the (1 − p)D-dimensional
   subspace reaches the sublevel set about when its codimension pD is below the squared width of
   the set seen from the subspace, which Larsen et al. approximate by
   :math:`\sum_i r_i^2/(r_i^2 + \ell^2)` (``theory.core.larsen_width_sq`` with R = ℓ). So one can
   prune a fraction p iff :math:`pD \le \sum_i r_i^2/(r_i^2 + \ell(p)^2)
   = \sum_i 2\varepsilon/(2\varepsilon + \lambda_i \ell(p)^2)` (:func:`fixed_point_equation`), and
   the largest prunable fraction :math:`p_{\max}` solves it with equality. For an isotropic
   Hessian λI and random pruning it is :math:`p_{\max} = (\sqrt{\kappa^2 + 4\kappa} - \kappa)/2`
   with :math:`\kappa = 2\varepsilon/(\lambda\lVert w\rVert^2)` (:func:`isotropic_fixed_point`).
   The numeric solver is :func:`theory.lottery.gordon.prune_fraction_fixed_point`.
"""

from __future__ import annotations

import itertools

import sympy as sp

from theory.core import Identity, check_scalar

__all__ = ["all_identities", "fixed_point_equation", "isotropic_fixed_point", "isotropic_p_max",
           "random_pruning_projection", "schur_complement_minimum", "sublevel_ellipsoid"]

eps, lam, kappa, p = sp.symbols("varepsilon lambda kappa p", positive=True)
D, W = sp.symbols("D W", positive=True)   # D parameters; W = ‖w‖²


def sublevel_ellipsoid(n: int = 3) -> Identity:
    r"""In H's eigenbasis :math:`\tfrac12 \sum_i \lambda_i \delta_i^2 \le \varepsilon \iff
    \sum_i \delta_i^2 / r_i^2 \le 1` with :math:`r_i = \sqrt{2\varepsilon/\lambda_i}`: the two sides
    are the same function times ε (residual 0), and each semi-axis reaches the level ε exactly."""
    n = check_scalar(n, "n", kind="int", min=1, max=12)
    lams = sp.symbols(f"lambda_1:{n + 1}", positive=True)
    ds = sp.symbols(f"delta_1:{n + 1}", real=True)
    r = [sp.sqrt(2 * eps / li) for li in lams]
    quad = sp.Rational(1, 2) * sum(li * d**2 for li, d in zip(lams, ds))
    ell = sum(d**2 / ri**2 for d, ri in zip(ds, r))
    on_axis = [sp.Rational(1, 2) * li * ri**2 - eps for li, ri in zip(lams, r)]
    return Identity("lottery_sublevel_ellipsoid",
                    "the ε-sublevel set of ½δᵀHδ is the ellipsoid Σ δ_i²/r_i² ≤ 1, r_i = √(2ε/λ_i)",
                    sp.Matrix([sp.simplify(quad / eps - ell)] + on_axis), {"radii": r})


def _symmetric(n):
    h = {}
    for i in range(n):
        for j in range(i, n):
            h[i, j] = h[j, i] = sp.Symbol(f"h_{i + 1}{j + 1}", real=True)
    return sp.Matrix(n, n, lambda i, j: h[i, j])


def schur_complement_minimum(n_pruned: int = 2, n_kept: int = 2) -> Identity:
    r"""On :math:`\{\delta : \delta_P = -w_P\}` the quadratic :math:`q = \tfrac12\delta^\top H\delta`
    (generic symmetric H) is minimised at :math:`\delta_K^* = H_{KK}^{-1} H_{KP} w_P` with value
    :math:`\tfrac12 w_P^\top S w_P`, :math:`S = H_{PP} - H_{PK}H_{KK}^{-1}H_{KP}`.

    Residuals: the gradient in :math:`\delta_K` at :math:`\delta_K^*`; :math:`q(\delta^*) -
    \tfrac12 w_P^\top S w_P`; and :math:`q(\delta) - q(\delta^*) - \tfrac12 (\delta_K -
    \delta_K^*)^\top H_{KK} (\delta_K - \delta_K^*)` for free :math:`\delta_K` — so δ* is the
    minimum whenever :math:`H_{KK} \succ 0` (the Hessian restricted to the kept weights).
    """
    nP = check_scalar(n_pruned, "n_pruned", kind="int", min=1, max=4)
    nK = check_scalar(n_kept, "n_kept", kind="int", min=1, max=4)
    H = _symmetric(nP + nK)
    HPP, HPK, HKP, HKK = H[:nP, :nP], H[:nP, nP:], H[nP:, :nP], H[nP:, nP:]
    wP = sp.Matrix(sp.symbols(f"w_1:{nP + 1}", real=True))
    dK = sp.Matrix(sp.symbols(f"d_1:{nK + 1}", real=True))
    HKK_inv = HKK.inv(method="ADJ")

    def q(d_kept):
        delta = sp.Matrix.vstack(-wP, d_kept)
        return (delta.T * H * delta)[0, 0] / 2

    d_star = HKK_inv * HKP * wP
    S = HPP - HPK * HKK_inv * HKP
    grad = sp.Matrix([sp.diff(q(dK), d) for d in dK]).subs(dict(zip(dK, d_star)))
    value = q(d_star) - (wP.T * S * wP)[0, 0] / 2
    diff = dK - d_star
    gap = q(dK) - q(d_star) - (diff.T * HKK * diff)[0, 0] / 2
    residual = sp.Matrix([sp.cancel(sp.together(e)) for e in list(grad) + [value, gap]])
    return Identity(f"lottery_schur_minimum_{nP}x{nK}",
                    "min over {δ_P = −w_P} of ½δᵀHδ = ½ w_Pᵀ(H_PP − H_PK H_KK⁻¹ H_KP) w_P "
                    f"(generic symmetric {nP + nK}×{nP + nK} H, |P| = {nP})",
                    residual, {"schur": S, "delta_star": d_star})


def random_pruning_projection(n: int = 5, n_pruned: int = 2) -> Identity:
    r"""The projection length of random pruning: averaged over all :math:`\binom{n}{s}` pruned sets of
    size s, :math:`\ell^2 = \sum_{i \in P} w_i^2` has mean :math:`(s/n)\lVert w\rVert^2`; and with each
    weight pruned independently with probability p (all :math:`2^n` masks), mean :math:`p\lVert w\rVert^2`.
    Either way :math:`\mathbb{E}\,\ell^2 = p\lVert w\rVert^2` for a pruned fraction p."""
    n = check_scalar(n, "n", kind="int", min=1, max=10)
    s = check_scalar(n_pruned, "n_pruned", kind="int", min=0, max=10)
    if s > n:
        raise ValueError(f"n_pruned must be <= n = {n}, got {s}")
    w = sp.symbols(f"w_1:{n + 1}", real=True)
    norm2 = sum(x**2 for x in w)
    subsets = list(itertools.combinations(range(n), s))
    fixed = sum(sum(w[i]**2 for i in P) for P in subsets) / len(subsets) - sp.Rational(s, n) * norm2
    q = sp.Symbol("q", positive=True)
    bern = sum(sp.Mul(*[q if m else 1 - q for m in mask]) * sum(w[i]**2 for i in range(n) if mask[i])
               for mask in itertools.product((0, 1), repeat=n)) - q * norm2
    return Identity("lottery_random_projection",
                    "random pruning of a fraction p: E ℓ² = E Σ_{i∈P} w_i² = p‖w‖² "
                    f"(all subsets of size {s} of {n}, and independent masks)",
                    sp.Matrix([sp.expand(fixed), sp.expand(bern)]))


def fixed_point_equation(n: int = 3) -> Identity:
    r"""The prune condition :math:`pD \le \sum_i r_i^2/(r_i^2 + \ell^2)` written with
    :math:`r_i^2 = 2\varepsilon/\lambda_i` becomes :math:`\sum_i 2\varepsilon/(2\varepsilon +
    \lambda_i \ell^2)` — the form the solver uses (finite at λ_i = 0, a flat direction counting 1)."""
    n = check_scalar(n, "n", kind="int", min=1, max=12)
    lams = sp.symbols(f"lambda_1:{n + 1}", positive=True)
    ell = sp.Symbol("ell", positive=True)
    r2 = [2 * eps / li for li in lams]
    larsen = sum(ri / (ri + ell**2) for ri in r2)
    stable = sum(2 * eps / (2 * eps + li * ell**2) for li in lams)
    return Identity("lottery_fixed_point_form",
                    "Σ r_i²/(r_i² + ℓ²) = Σ 2ε/(2ε + λ_i ℓ²) with r_i² = 2ε/λ_i",
                    sp.simplify(larsen - stable))


def isotropic_p_max():
    r""":math:`p_{\max}(\kappa) = (\sqrt{\kappa^2 + 4\kappa} - \kappa)/2`, :math:`\kappa = 2\varepsilon/(\lambda\lVert w\rVert^2)` (sympy expression in κ)."""
    return (sp.sqrt(kappa**2 + 4 * kappa) - kappa) / 2


def isotropic_fixed_point() -> Identity:
    r"""H = λI (all :math:`r_i^2 = r^2 = 2\varepsilon/\lambda`) and random pruning
    (:math:`\ell^2 = pW`, W = ‖w‖²): :math:`pD = D r^2/(r^2 + pW)` ⟺ :math:`W p^2 + r^2 p - r^2 = 0`,
    whose root in (0, 1) is :math:`p_{\max} = (\sqrt{\kappa^2 + 4\kappa} - \kappa)/2` with
    :math:`\kappa = r^2/W`, independent of D.

    Residuals: sympy's solution of the quadratic (its positive root) minus :func:`isotropic_p_max`;
    the fixed-point equation at :math:`p_{\max}`; :math:`p_{\max}^2 - \kappa(1 - p_{\max})` (so
    :math:`1 - p_{\max} = p_{\max}^2/\kappa > 0`: :math:`0 < p_{\max} < 1`); and
    :math:`dp_{\max}/d\kappa - (1 - p_{\max})/(2p_{\max} + \kappa)`, a positive derivative
    (larger eigenvalues → smaller κ → smaller :math:`p_{\max}`).
    """
    r2 = 2 * eps / lam
    k_expr = r2 / W
    eq = sp.Eq(p * D, D * r2 / (r2 + p * W))
    roots = sp.solve(eq, p)
    pos = [rt for rt in roots if sp.simplify(rt.subs({eps: 1, lam: 1, W: 1})).is_positive]
    if len(pos) != 1:  # pragma: no cover - sympy changed its output
        raise RuntimeError(f"expected one positive root, got {roots}")
    pm = isotropic_p_max()
    root_gap = sp.simplify(pos[0] - pm.subs(kappa, k_expr))
    fp = sp.simplify((p * D - D * r2 / (r2 + p * W)).subs(p, pm.subs(kappa, k_expr)))
    quad = sp.simplify(pm**2 - kappa * (1 - pm))
    deriv = sp.simplify(sp.diff(pm, kappa) - (1 - pm) / (2 * pm + kappa))
    return Identity("lottery_isotropic_p_max",
                    "isotropic Hessian λI, random pruning: p_max = (√(κ²+4κ) − κ)/2, κ = 2ε/(λ‖w‖²); "
                    "p_max² = κ(1 − p_max) so 0 < p_max < 1, increasing in κ (the book's reconstruction)",
                    sp.Matrix([root_gap, fp, quad, deriv]),
                    {"p_max": pm, "kappa": k_expr, "dp_dkappa": (1 - pm) / (2 * pm + kappa)})


def all_identities() -> list[Identity]:
    """Every identity of the §3.3 reconstruction (for the tests and the notebook)."""
    return [sublevel_ellipsoid(), schur_complement_minimum(), schur_complement_minimum(1, 2),
            random_pruning_projection(), fixed_point_equation(), isotropic_fixed_point()]
