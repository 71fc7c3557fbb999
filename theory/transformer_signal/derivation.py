"""Symbolic derivations behind :mod:`theory.transformer_signal.exact` (sympy).

Each function returns sympy expressions whose simplification to zero *is* the statement; the
notebook ``book/transformer_signal/theory.ipynb`` and the tests assert them. The model is the
book's reconstruction of Cowsik et al. (2024), Sec. 2-3 (see ``exact``'s docstring).
"""

from __future__ import annotations

import sympy as sp

__all__ = [
    "alpha_symbols",
    "arcsine_kernel_slope",
    "checks",
    "collapsed_fixed_point_residual",
    "gradient_exponent_identity",
    "linearised_block",
    "linearised_block_plain",
    "relu_kernel_slope",
]


def alpha_symbols():
    """Symbols a = α_A², b = α_M² in [0, 1], q, δ, V, χ₁ > 0."""
    a, b = sp.symbols("a b", nonnegative=True)
    q, delta, V, chi = sp.symbols("q delta V chi_1", positive=True)
    return a, b, q, delta, V, chi


def arcsine_kernel_slope():
    """For φ(u) = erf(√π u/2), K(ρ) = (2/π) arcsin(πσ²ρ/(2+πσ²)): K′(1) − σ²/√(1+πσ²).

    Price's theorem says ∂K/∂ρ = σ² E φ′(u)φ′(u′), so K′(1) = χ₁ = σ² E φ′(σz)²; for this φ,
    φ′(u) = e^{−πu²/4} and E e^{−πσ²z²/2} = 1/√(1+πσ²). Returns two residuals, both zero: the Gaussian integral against
    the closed form, and K′(1)² − χ₁² (both sides positive).
    """
    s, rho = sp.symbols("sigma_w rho", positive=True)
    K = 2 / sp.pi * sp.asin(sp.pi * s**2 * rho / (2 + sp.pi * s**2))
    z = sp.symbols("z", real=True)
    chi = s**2 * sp.integrate(sp.exp(-sp.pi * s**2 * z**2 / 2) * sp.exp(-z**2 / 2), (z, -sp.oo, sp.oo)) \
        / sp.sqrt(2 * sp.pi)
    closed = s**2 / sp.sqrt(1 + sp.pi * s**2)
    return sp.simplify(chi - closed), sp.simplify(sp.diff(K, rho).subs(rho, 1) ** 2 - closed**2)


def relu_kernel_slope():
    """ReLU arc-cosine kernel K = σ²[√(1−ρ²) + (π − arccos ρ)ρ]/(2π): (K′(1) − χ₁, V − χ₁).

    Both vanish: χ₁ = σ²/2 = V, so χ_M = χ₁/V = 1 and an LN-ReLU MLP is exactly marginal at the
    collapsed point, whatever σ_w: only smooth saturating φ give a σ_w-driven transition.
    """
    s, rho = sp.symbols("sigma_w rho", positive=True)
    K = s**2 * (sp.sqrt(1 - rho**2) + (sp.pi - sp.acos(rho)) * rho) / (2 * sp.pi)
    slope = sp.limit(sp.diff(K, rho), rho, 1, "-")
    return sp.simplify(slope - s**2 / 2), sp.simplify(K.subs(rho, 1) - s**2 / 2)


def collapsed_fixed_point_residual():
    """q* = [(1−b)a + bV]/[1 − (1−a)(1−b)] solves q = (1−b)[(1−a)q + a] + bV (a=α_A², b=α_M²)."""
    a, b, q, _, V, _ = alpha_symbols()
    q_star = ((1 - b) * a + b * V) / (1 - (1 - a) * (1 - b))
    return sp.simplify((1 - b) * ((1 - a) * q_star + a) + b * V - q_star)


def linearised_block():
    """The Jacobian of one block of the map at the collapsed point, in coordinates (q, δ=q−p).

    Generic ingredients: the attention output q_A = 1 − (δ/q)E(ρ) with q_A − p_A = (δ/q)²D(ρ)
    (attention's output is collapsed to first order, because at ρ = 1 the logits are equal and
    A = 11ᵀ/n), and the MLP kernel K(ρ) with K(1) = V, K′(1) = χ₁. Returns a dict of residuals,
    each zero:

    - ``d_delta_d_q``: ∂δ′/∂q = 0 at δ = 0 (the Jacobian is triangular);
    - ``d_delta_d_delta``: ∂δ′/∂δ − (1−a)[(1−b) + bχ₁/q_Y] with q_Y = (1−a)q + a: e^{λ_a};
    - ``d_q_d_q``: ∂q′/∂q − (1−a)(1−b): the stable eigenvalue of the norm.
    """
    a, b, q, delta, V, chi = alpha_symbols()
    # generic smooth functions, written as Taylor polynomials about ρ = 1 (the linearisation
    # sees only their values and first derivatives there)
    E0, E1, D0, D1, c2 = sp.symbols("E_0 E_1 D_0 D_1 c_2", real=True)
    rho = 1 - delta / q
    qA = 1 - (delta / q) * (E0 + E1 * (rho - 1))
    pA = qA - (delta / q) ** 2 * (D0 + D1 * (rho - 1))
    qY = (1 - a) * q + a * qA
    pY = (1 - a) * (q - delta) + a * pA
    rY = pY / qY
    q_new = (1 - b) * qY + b * V
    p_new = (1 - b) * pY + b * (V + chi * (rY - 1) + c2 * (rY - 1) ** 2)
    delta_new = q_new - p_new

    def at_collapse(expr):
        return sp.simplify(expr.subs(delta, 0))

    d_dd = at_collapse(sp.diff(delta_new, delta))
    qY0 = (1 - a) * q + a
    return {
        "d_delta_d_q": at_collapse(sp.diff(delta_new, q)),
        "d_delta_d_delta": sp.simplify(d_dd - (1 - a) * ((1 - b) + b * chi / qY0)),
        "d_q_d_q": at_collapse(sp.diff(q_new, q) - (1 - a) * (1 - b)),
    }


def linearised_block_plain():
    """The same linearisation for the plain residual x + αf(LN x) (the paper's Eq. 4 as
    third-party script E reads it): q_Y = q + a q_A, q′ = q_Y + bV, no fixed point in q.

    Returns residuals, each zero: ``plain_d_delta_d_delta`` = ∂δ′/∂δ − [1 + bχ₁/(q + a)] at
    δ = 0 (the spread's growth; λ_a = log of it minus log(q′/q)); ``plain_norm_growth`` =
    q′ − (q + a + bV) at δ = 0 (the norm grows by a + bV a block); ``plain_d_delta_d_q`` =
    ∂δ′/∂q at δ = 0 (triangular, as in the scaled form).
    """
    a, b, q, delta, V, chi = alpha_symbols()
    E0, E1, D0, D1, c2 = sp.symbols("E_0 E_1 D_0 D_1 c_2", real=True)
    rho = 1 - delta / q
    qA = 1 - (delta / q) * (E0 + E1 * (rho - 1))
    pA = qA - (delta / q) ** 2 * (D0 + D1 * (rho - 1))
    qY, pY = q + a * qA, (q - delta) + a * pA
    rY = pY / qY
    q_new = qY + b * V
    p_new = pY + b * (V + chi * (rY - 1) + c2 * (rY - 1) ** 2)
    delta_new = q_new - p_new
    at = lambda e: sp.simplify(e.subs(delta, 0))  # noqa: E731
    return {
        "plain_d_delta_d_delta": sp.simplify(at(sp.diff(delta_new, delta)) - (1 + b * chi / (q + a))),
        "plain_norm_growth": at(q_new - (q + a + b * V)),
        "plain_d_delta_d_q": at(sp.diff(delta_new, q)),
    }


def gradient_exponent_identity():
    """λ_g = log[(s_M² q_Y + bχ₁)/(s_M² q_Y + bV)] for any skip weights (s_A², s_M²).

    The common-mode gradient gain of a block at ρ = 1, (s_A² + a/q)(s_M² + bχ₁/q_Y), times the
    inverse norm growth q/q′ with q_Y = s_A² q + a and q′ = s_M² q_Y + bV, simplifies to
    (s_M² q_Y + bχ₁)/(s_M² q_Y + bV): attention drops out, and λ_g ≥ 0 exactly when χ₁ ≥ V,
    which the Gaussian Poincaré inequality gives for every odd φ (tanh, erf), and χ₁ = V for
    ReLU. So in this model there is no vanishing-gradient phase at depth, in either residual
    form (book's derivation). Returns (identity residual, λ_g − λ_a − log(q_Y/(s_A² q)))
    as the second residual, both zero (arguments of the logs compared).
    """
    a, b, q, _, V, chi = alpha_symbols()
    sA2, sM2 = sp.symbols("s_A2 s_M2", positive=True)
    qY = sA2 * q + a
    q_new = sM2 * qY + b * V
    common = (sA2 + a / q) * (sM2 + b * chi / qY) * q / q_new
    diff = sA2 * (sM2 + b * chi / qY) * q / q_new
    return (sp.simplify(common - (sM2 * qY + b * chi) / (sM2 * qY + b * V)),
            sp.simplify(common / diff - qY / (sA2 * q)))


def checks():
    """Every identity of this module as (claim id, source, statement, residual): the list the
    theory notebook asserts through the ledger (each residual must simplify to zero)."""
    out = []
    for key, residual in linearised_block().items():
        out.append((f"transformer_signal.linearised_{key}", "Subsec. 3.3 (book's derivation)",
                    f"linearisation of the block at the collapsed point: {key} as stated", residual))
    out.append(("transformer_signal.collapsed_q_star", "Subsec. 3.3 (book's derivation)",
                "q* solves the norm equation at ρ = 1", collapsed_fixed_point_residual()))
    for k, res in enumerate(arcsine_kernel_slope()):
        out.append((f"transformer_signal.arcsine_slope_{k}", "book's derivation (erf MLP)",
                    "erf MLP: χ₁ = σ_w²/√(1+πσ_w²) = K′(1) of the arcsine kernel", res))
    for key, residual in linearised_block_plain().items():
        out.append((f"transformer_signal.linearised_{key}", "Subsec. 3.3; Eq. 4 as script E reads it",
                    f"plain residual x + αf: {key} as stated (the norm grows, the spread's rate "
                    "is 1 + α_M²χ₁/(q + α_A²))", residual))
    for k, res in enumerate(gradient_exponent_identity()):
        out.append((f"transformer_signal.lambda_g_identity_{k}", "Subsec. 3.4 (book's derivation)",
                    "both residual forms: λ_g = log[(s_M²q_Y + α_M²χ₁)/(s_M²q_Y + α_M²V)], "
                    "attention drops out; λ_g − λ_a = log(q_Y/(s_A²q))", res))
    for k, res in enumerate(relu_kernel_slope()):
        out.append((f"transformer_signal.relu_marginal_{k}", "book's derivation (ReLU MLP)",
                    "ReLU MLP: K′(1) = V = σ_w²/2, so χ₁/V = 1: LN-ReLU is marginal for every σ_w",
                    res))
    return out
