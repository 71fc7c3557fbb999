"""Symbolic derivations for stochastic collapse (Chen, Kunin, Yamamura, Ganguli 2023).

Each function returns a :class:`theory.rich_lazy.derivation.Derivation`-like record: a statement,
and a residual that must simplify to zero (the notebooks state them as ledger claims).

- Itô's formula for log|θ| under geometric noise: the Lyapunov exponent a − b²/2;
- the quartic well dθ = −(θ³ − μθ)dt + ζθ dW: linearisation, stationary density
  p ∝ |θ|^{2μ/ζ² − 2} e^{−θ²/ζ²} (zero probability flux), and E[θ²] = μ − ζ²/2;
- its pathwise solution through y = θ⁻², which obeys a *linear* SDE;
- invariant sets of a two-neuron network with σ(0) = 0: vanishing and identical neurons;
- the diagonal linear teacher–student under label noise: u − v contracts, u + v is a GBM with
  exponent s* − ησ²/2, and the balanced mode is the quartic well with μ = s*, ζ² = ησ².
"""

from __future__ import annotations

import sympy as sp

from theory.core import Identity, positive_int

__all__ = ["Identity", "all_identities", "ito_log", "label_noise_mode", "invariant_sets",
           "prototype_linearisation", "prototype_pathwise", "prototype_stationary",
           "tanh_neuron_threshold"]

theta = sp.Symbol("theta", positive=True)  # |θ|: the well is symmetric, work on θ > 0
mu, zeta = sp.symbols("mu zeta", positive=True)
a_, b_ = sp.symbols("a b", real=True)


def _ito_drift(f, x, drift, diffusion):
    """Drift of f(x) for dx = drift dt + diffusion dW (Itô): f′·drift + ½ f″·diffusion²."""
    return sp.diff(f, x) * drift + sp.diff(f, x, 2) * diffusion**2 / 2


def ito_log() -> Identity:
    """For dθ = aθ dt + bθ dW, d log θ = (a − b²/2) dt + b dW: a GBM's Lyapunov exponent."""
    drift = _ito_drift(sp.log(theta), theta, a_ * theta, b_ * theta)
    noise = sp.diff(sp.log(theta), theta) * b_ * theta
    return Identity("ito_log", "d log θ = (a − b²/2)dt + b dW for dθ = aθdt + bθdW",
                    sp.Matrix([drift - (a_ - b_**2 / 2), noise - b_]),
                    extra={"exponent": a_ - b_**2 / 2})


def prototype_linearisation() -> Identity:
    """The quartic well's drift −(θ³ − μθ) has slope μ at θ = 0 (a maximum of the potential
    U = θ⁴/4 − μθ²/2 for μ > 0): linearised, θ is a GBM with exponent μ − ζ²/2."""
    th = sp.Symbol("theta", real=True)
    U = th**4 / 4 - mu * th**2 / 2
    drift = -sp.diff(U, th)
    slope = sp.diff(drift, th).subs(th, 0)
    return Identity("prototype_linearisation",
                    "U″(0) = −μ < 0 (a maximum), drift slope μ; linear exponent μ − ζ²/2",
                    sp.Matrix([drift - (-(th**3 - mu * th)), slope - mu,
                               sp.diff(U, th, 2).subs(th, 0) + mu]),
                    extra={"U": U, "exponent": mu - zeta**2 / 2})


def prototype_stationary() -> Identity:
    """Stationary density p ∝ θ^{2μ/ζ² − 2} e^{−θ²/ζ²} on θ > 0: zero probability flux
    J = bp − ½(g²p)′ for b = μθ − θ³, g = ζθ; normalisable iff ζ² < 2μ, with
    E[θ²] = μ − ζ²/2 (Gamma integrals)."""
    p = theta ** (2 * mu / zeta**2 - 2) * sp.exp(-theta**2 / zeta**2)
    flux = (mu * theta - theta**3) * p - sp.diff(zeta**2 * theta**2 * p, theta) / 2
    # moments with k = 2μ/ζ² − 2 > −1: ∫θ^k e^{−θ²/ζ²} = ½ ζ^{k+1} Γ((k+1)/2)
    k = sp.Symbol("k", positive=True)
    m0 = sp.integrate(theta**k * sp.exp(-theta**2 / zeta**2), (theta, 0, sp.oo), conds="none")
    m2 = sp.integrate(theta ** (k + 2) * sp.exp(-theta**2 / zeta**2), (theta, 0, sp.oo), conds="none")
    second = sp.simplify(sp.expand_func(m2 / m0)).subs(k, 2 * mu / zeta**2 - 2)  # ζ²(k+1)/2
    return Identity("prototype_stationary",
                    "p ∝ |θ|^{2μ/ζ²−2}e^{−θ²/ζ²} has zero flux, and E[θ²] = μ − ζ²/2",
                    sp.Matrix([sp.simplify(flux / p), sp.simplify(second - (mu - zeta**2 / 2))]),
                    extra={"density": p, "second_moment": mu - zeta**2 / 2})


def prototype_pathwise() -> Identity:
    """y = θ⁻² obeys the linear SDE dy = (2 + (3ζ² − 2μ)y)dt − 2ζy dW (θ from the well, with
    noise +ζθdW), so θ_t² = e^{(2μ−ζ²)t + 2ζW_t} / (θ₀⁻² + 2∫₀ᵗ e^{(2μ−ζ²)s + 2ζW_s} ds)."""
    drift_y = _ito_drift(theta**-2, theta, mu * theta - theta**3, zeta * theta)
    noise_y = sp.diff(theta**-2, theta) * zeta * theta
    y = theta**-2
    res_drift = sp.simplify(drift_y - (2 + (3 * zeta**2 - 2 * mu) * y))
    res_noise = sp.simplify(noise_y - (-2 * zeta * y))
    # the linear SDE dy = (c + λy)dt + κy dW is solved by y = Φ(y₀ + c∫Φ⁻¹), Φ = e^{(λ−κ²/2)t + κW}
    lam, kap, c = (3 * zeta**2 - 2 * mu), -2 * zeta, 2
    phi_rate = sp.simplify(lam - kap**2 / 2)  # Φ's exponent: must be −(2μ − ζ²)
    return Identity("prototype_pathwise",
                    "y = θ⁻² obeys dy = (2 + (3ζ² − 2μ)y)dt − 2ζy dW: a linear SDE",
                    sp.Matrix([res_drift, res_noise, phi_rate + (2 * mu - zeta**2)]),
                    extra={"c": c, "rate": phi_rate})


def invariant_sets() -> Identity:
    """For f(x) = Σ_j a_j σ(w_j x + c_j) with σ(0) = 0, every per-sample gradient
    (a) vanishes in the coordinates (w_1, c_1, a_1) of neuron 1 when w_1 = c_1 = a_1 = 0, and
    (b) has equal components for neurons 1 and 2 when their parameters are equal:
    the vanishing and identical-neuron sets are invariant under any SGD step."""
    x, yv = sp.symbols("x y", real=True)
    w1, c1, a1, w2, c2, a2, w3, c3, a3 = sp.symbols("w1 c1 a1 w2 c2 a2 w3 c3 a3", real=True)
    sig = sp.Function("sigma")
    f = a1 * sig(w1 * x + c1) + a2 * sig(w2 * x + c2) + a3 * sig(w3 * x + c3)
    loss = (f - yv) ** 2 / 2
    params = [w1, c1, a1, w2, c2, a2, w3, c3, a3]
    grad = sp.Matrix([sp.diff(loss, p) for p in params])
    vanish = grad[:3, 0].subs({w1: 0, c1: 0, a1: 0}).subs(sig(0), 0)
    same = {w2: w1, c2: c1, a2: a1}
    identical = (grad[0:3, 0] - grad[3:6, 0]).subs(same)
    return Identity("invariant_sets",
                    "per-sample gradients keep vanishing neurons at 0 and identical neurons equal",
                    sp.Matrix(list(vanish) + list(identical)), extra={"grad": grad})


def label_noise_mode() -> Identity:
    """One mode of the diagonal linear teacher–student with label noise: s = uv, SGD on
    ½(uv − s* + ξ)², ξ ~ N(0, σ²) fresh each step, as the SDE du = −v(uv − s*)dt − √η σ v dW,
    dv = −u(uv − s*)dt − √η σ u dW. Then (i) d(u² − v²) = −ησ²(u² − v²)dt (balance is
    attracting); (ii) at the origin u + v is a GBM with exponent s* − ησ²/2 and u − v one with
    −s* − ησ²/2; (iii) on the balanced set u = v = x, dx = −(x³ − s*x)dt − √ησ x dW: the quartic
    well with μ = s*, ζ² = ησ², so E[s] → max(0, s* − ησ²/2)."""
    u, v, s_star, eta, sigma = sp.symbols("u v s_star eta sigma", real=True)
    du_d, dv_d = -v * (u * v - s_star), -u * (u * v - s_star)
    du_n, dv_n = -sp.sqrt(eta) * sigma * v, -sp.sqrt(eta) * sigma * u
    # (i) Itô for g = u² − v² with correlated noise (one dW)
    g_drift = 2 * u * du_d - 2 * v * dv_d + (du_n**2 - dv_n**2)
    g_noise = 2 * u * du_n - 2 * v * dv_n
    res_i = [sp.expand(g_drift + eta * sigma**2 * (u**2 - v**2)), sp.expand(g_noise)]
    # (ii) linearise at the origin: drop the cubic terms
    lin_p = sp.Poly(sp.expand(du_d + dv_d), u, v)
    p_lin = sum(c * u**i * v**j for (i, j), c in lin_p.terms() if i + j == 1)
    res_ii = [sp.expand(p_lin - s_star * (u + v)), sp.expand(du_n + dv_n + sp.sqrt(eta) * sigma * (u + v))]
    # (iii) balanced: u = v = x
    x = sp.Symbol("x", real=True)
    res_iii = [sp.expand(du_d.subs({u: x, v: x}) + (x**3 - s_star * x)),
               sp.expand(du_n.subs({u: x, v: x}) + sp.sqrt(eta) * sigma * x)]
    return Identity("label_noise_mode",
                    "label-noise SGD on a mode: balance attracts, the origin's exponent is s* − ησ²/2, "
                    "and the balanced mode is the quartic well with μ = s*, ζ² = ησ²",
                    sp.Matrix(res_i + res_ii + res_iii))


def tanh_neuron_threshold(m: int = 3) -> Identity:
    """For f(x) = w₂ tanh(w₁x), L = (1/2m)Σ(f(x_i) − y_i)² and noise columns √(η/m) ζ ∇_w f(x_i)
    (the official Fig. 2 SDE), the linearisation at w = 0 is A = ⟨xy⟩J and C_i = √(η/m) ζ x_i J,
    J = [[0, 1], [1, 0]]. They commute, so the exponents are those of the eigenvectors of J:
    along (1, 1)/√2 it is ⟨xy⟩ − ηζ²⟨x²⟩/2 (along (1, −1) it is always negative), and the origin
    attracts iff ηζ²/2 > Σx_iy_i/Σx_i². Shown with m symbolic samples."""
    m = positive_int(m, "m")
    eta, zeta_ = sp.symbols("eta zeta", positive=True)
    xs = sp.symbols(f"x1:{m + 1}", real=True)
    ys = sp.symbols(f"y1:{m + 1}", real=True)
    w1, w2 = sp.symbols("w1 w2", real=True)
    w = sp.Matrix([w1, w2])
    f = [w2 * sp.tanh(w1 * xi) for xi in xs]
    L = sum((fi - yi) ** 2 for fi, yi in zip(f, ys)) / (2 * m)
    drift = -sp.Matrix([sp.diff(L, v) for v in w])
    at0 = {w1: 0, w2: 0}
    A = drift.jacobian(w).subs(at0)
    J = sp.Matrix([[0, 1], [1, 0]])
    mean_xy = sum(xi * yi for xi, yi in zip(xs, ys)) / m
    mean_x2 = sum(xi**2 for xi in xs) / m
    C = [(sp.sqrt(eta / m) * zeta_ * sp.Matrix([sp.diff(fi, v) for v in w])).jacobian(w).subs(at0)
         for fi in f]
    u = sp.Matrix([1, 1]) / sp.sqrt(2)
    lam = (u.T * A * u)[0] + sum((Ci * u).dot(Ci * u) for Ci in C) / 2 - sum(((u.T * Ci * u)[0]) ** 2 for Ci in C)
    res = list(A - mean_xy * J) + [e for i, Ci in enumerate(C) for e in (Ci - sp.sqrt(eta / m) * zeta_ * xs[i] * J)]
    res += [sp.simplify(lam - (mean_xy - eta * zeta_**2 * mean_x2 / 2))]
    res += [sp.simplify((A * J - J * A)[0, 0])]
    return Identity("tanh_neuron_threshold",
                    "at w = 0: A = ⟨xy⟩J, C_i = √(η/m)ζx_iJ, exponent ⟨xy⟩ − ηζ²⟨x²⟩/2: collapse iff "
                    "ηζ²/2 > Σxy/Σx²", sp.Matrix(res), extra={"exponent": mean_xy - eta * zeta_**2 * mean_x2 / 2})


def all_identities() -> list[Identity]:
    return [ito_log(), prototype_linearisation(), prototype_stationary(), prototype_pathwise(),
            invariant_sets(), label_noise_mode(), tanh_neuron_threshold()]
