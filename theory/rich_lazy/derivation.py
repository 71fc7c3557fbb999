"""Symbolic derivations for the single neuron f(x) = a wᵀx (Kunin et al. 2024, Section 3).

The paper's results derived here: the conservation of δ (Sec. 3, Fig. 2), Eqs. 3–4
(:func:`function_space_flow`, :func:`metric_in_delta_and_norm`), Eq. 2 in μ = a‖w‖ and
φ = cos∠(w, β*) with its balanced and downstream reductions (:func:`paper_mu_phi`,
:func:`balanced_mu_phi`, :func:`downstream_alignment`) and the potential of Theorem 3.1, Eq. 5
(:func:`theorem_3_1_gradient`). The book's reconstruction: the Riccati route in ν = wᵀβ*/a
(which the authors' notebook also takes, at unit rates), a²(t), the linear lift, the rate
rescaling and the closed-form interpolant.

Each function derives one result with sympy and returns a :class:`Derivation`: the statement
as a sympy equation, and the residual that must simplify to zero. ``Derivation.check()``
asserts it. The derivation notebook renders each statement in LaTeX and calls ``check()``.

Conventions: w ∈ ℝᵈ is kept with explicit components (d = 3 is enough: every identity is
linear-algebraic and rotation invariant), g = Xᵀr is an arbitrary vector for the results that
hold for any data, and g = aw − β* for whitened inputs (XᵀX = I, β* = Xᵀy).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from theory.core import as_array, check_scalar, identity_holds

__all__ = [
    "Derivation",
    "all_derivations",
    "display_form",
    "balanced_mu_phi",
    "bernoulli_a_squared",
    "closed_forms_agree",
    "conservation",
    "downstream_alignment",
    "eq2_agreement",
    "function_space_flow",
    "implicit_bias_quadratic",
    "linear_lift",
    "metric_in_delta_and_norm",
    "paper_mu_phi",
    "rate_rescaling",
    "riccati",
    "riccati_solution",
    "theorem_3_1_gradient",
]

D_SYM = 3  # dimension used for the explicit-component derivations

t = sp.Symbol("t", nonnegative=True)
t_sym = t  # the time symbol, under a name that numerical code does not shadow
eta_a, eta_w = sp.symbols("eta_a eta_w", positive=True)
a = sp.Function("a", real=True)(t)
delta = sp.Symbol("delta", real=True)
s = sp.Symbol("s", positive=True)  # ‖β*‖


def _vec(name: str, n: int = D_SYM, fn: bool = False):
    if fn:
        return sp.Matrix([sp.Function(f"{name}_{i + 1}", real=True)(t) for i in range(n)])
    return sp.Matrix(sp.symbols(f"{name}_1:{n + 1}", real=True))


@dataclass
class Derivation:
    """One derived identity: ``lhs = rhs`` and the residual that must simplify to zero."""

    name: str
    statement: str  # in words
    lhs: sp.Expr
    rhs: sp.Expr
    residual: sp.Expr | sp.Matrix
    extra: dict = field(default_factory=dict)
    shown: tuple = ()  # LaTeX lines the notebook displays; "<residual>" stands for the simplified residual

    def simplified_residual(self):
        r = self.residual
        if isinstance(r, sp.MatrixBase):
            return r.applyfunc(lambda e: sp.simplify(sp.expand(e)))
        return sp.simplify(sp.expand(r))

    def holds(self) -> bool:
        return identity_holds(self.residual)

    def check(self) -> "Derivation":
        if not self.holds():
            raise AssertionError(f"{self.name}: residual does not simplify to 0: "
                                 f"{self.simplified_residual()}")
        return self

    def latex(self) -> str:
        return sp.latex(sp.Eq(display_form(self.lhs), display_form(self.rhs), evaluate=False))

    def display_latex(self) -> str:
        """The lines of ``shown`` (or the statement ``lhs = rhs``) as one LaTeX block."""
        lines = list(self.shown) or [self.latex()]
        if any("<residual>" in ln for ln in lines):
            res = sp.latex(self.simplified_residual())
            lines = [ln.replace("<residual>", res) for ln in lines]
        if len(lines) == 1:
            return lines[0]
        return r"\begin{gathered}" + r" \\[0.6em] ".join(lines) + r"\end{gathered}"

    def show(self):
        """An ``IPython.display.Math`` of :meth:`display_latex`: the cell's displayed result."""
        from IPython.display import Math

        return Math(self.display_latex())


def display_form(expr):
    """``expr`` with the time-dependent functions a(t), w_i(t) shown as plain symbols a, w_i."""
    reps = {f: sp.Symbol(f.func.__name__) for f in sp.sympify(expr).atoms(sp.Function)
            if isinstance(f, sp.core.function.AppliedUndef)}
    return sp.sympify(expr).xreplace(reps)


def _flow(g: sp.Matrix, w: sp.Matrix) -> tuple[sp.Expr, sp.Matrix]:
    """(ȧ, ẇ) = (−η_a wᵀg, −η_w a g), the gradient flow with g = Xᵀ(Xβ − y)."""
    return -eta_a * (w.T * g)[0], -eta_w * a * g


def _subs_flow(expr, w: sp.Matrix, adot, wdot):
    reps = {sp.Derivative(a, t): adot}
    reps.update({sp.Derivative(w[i], t): wdot[i] for i in range(w.shape[0])})
    return expr.subs(reps)


def conservation() -> Derivation:
    """dδ/dt = 0 for δ = η_w a² − η_a‖w‖², for any data (any g = Xᵀr)."""
    w, g = _vec("w", fn=True), _vec("g")
    adot, wdot = _flow(g, w)
    dl = eta_w * a**2 - eta_a * (w.T * w)[0]
    ddt = _subs_flow(sp.diff(dl, t), w, adot, wdot)
    return Derivation("conservation", "δ = η_w a² − η_a‖w‖² is constant under gradient flow",
                      sp.Derivative(sp.Symbol("delta"), t), sp.Integer(0), ddt,
                      extra={"delta": dl},
                      shown=(r"\frac{d}{dt}\Big(" + sp.latex(display_form(dl)) + r"\Big) = <residual>",))


def function_space_flow() -> Derivation:
    """β̇ = −M g with M = η_w a² I + η_a w wᵀ, for β = a w and any data."""
    w, g = _vec("w", fn=True), _vec("g")
    adot, wdot = _flow(g, w)
    beta = a * w
    beta_dot = _subs_flow(sp.diff(beta, t), w, adot, wdot)
    M = eta_w * a**2 * sp.eye(D_SYM) + eta_a * w * w.T
    Mi = sp.MatrixSymbol("M", D_SYM, D_SYM)
    gi = sp.MatrixSymbol("g", D_SYM, 1)
    return Derivation("function_space_flow", "β̇ = −M(β) Xᵀ(Xβ − y), M = η_w a² I + η_a w wᵀ",
                      sp.Symbol(r"\dot{\beta}"), -sp.MatMul(Mi, gi), beta_dot + M * g,
                      extra={"M": M}, shown=(r"M = " + sp.latex(display_form(M)),))


def metric_in_delta_and_norm() -> Derivation:
    """η_w a² and η_a‖w‖² in δ and ‖β‖ alone: the coefficients u, v of M = uI + v β̂β̂ᵀ."""
    A2, W2 = sp.symbols("A2 W2", positive=True)  # a², ‖w‖²
    dl = eta_w * A2 - eta_a * W2
    beta2 = A2 * W2
    # δ² + 4η_aη_w‖β‖² = (η_w a² + η_a‖w‖²)²: factor() exposes the square, so the root is exact
    root = sp.sqrt(sp.factor(sp.expand(dl**2 + 4 * eta_a * eta_w * beta2)))
    u = (dl + root) / 2
    v = (-dl + root) / 2
    res = sp.Matrix([sp.simplify(u - eta_w * A2), sp.simplify(v - eta_a * W2)])
    bn, dsym = sp.symbols(r"\|\beta\| delta", real=True)
    R = sp.sqrt(dsym**2 + 4 * eta_a * eta_w * bn**2)
    return Derivation(
        "metric_in_delta_and_norm",
        "M = u I + v β̂β̂ᵀ with u = η_w a² = (δ + √(δ² + 4η_aη_w‖β‖²))/2, v = η_a‖w‖² = u − δ",
        sp.Symbol("M"),
        (dsym + R) / 2 * sp.Symbol("I") + (-dsym + R) / 2 * sp.Symbol(r"\hat\beta\hat\beta^T"),
        res, extra={"u": (dsym + R) / 2, "v": (-dsym + R) / 2},
        shown=(r"u = \eta_w a^2 = " + sp.latex((dsym + R) / 2) + r",\qquad v = \eta_a\|w\|^2 = "
               + sp.latex((-dsym + R) / 2),))


def _whitened():
    """Flow for whitened inputs: g = aw − β*, with β* = s e₁ (rotation invariance)."""
    w = _vec("w", fn=True)
    beta_star = sp.Matrix([s] + [0] * (D_SYM - 1))
    g = a * w - beta_star
    adot, wdot = _flow(g, w)
    return w, beta_star, adot, wdot


def riccati() -> Derivation:
    """ν = wᵀβ*/a obeys ν̇ = η_w s² − δν − η_aν² for whitened inputs."""
    w, beta_star, adot, wdot = _whitened()
    nu = (w.T * beta_star)[0] / a
    nu_dot = _subs_flow(sp.diff(nu, t), w, adot, wdot)
    dl = eta_w * a**2 - eta_a * (w.T * w)[0]
    rhs = eta_w * s**2 - dl * nu - eta_a * nu**2
    nus = sp.Symbol("nu")
    return Derivation("riccati", "ν̇ = η_w s² − δν − η_a ν², ν = wᵀβ*/a, s = ‖β*‖ (XᵀX = I)",
                      sp.Symbol(r"\dot{\nu}"), eta_w * s**2 - delta * nus - eta_a * nus**2,
                      sp.together(nu_dot - rhs),
                      shown=(r"\dot\nu = " + sp.latex(eta_w * s**2 - delta * nus - eta_a * nus**2),))


def riccati_solution() -> Derivation:
    """ν(t) = [−δ + D tanh(Dt/2 + artanh z₀)]/(2η_a), D = √(δ² + 4η_aη_w s²), solves the Riccati ODE."""
    z0 = sp.Symbol("z_0", real=True)
    D = sp.sqrt(delta**2 + 4 * eta_a * eta_w * s**2)
    Q = D * t / 2 + sp.atanh(z0)
    nu = (-delta + D * sp.tanh(Q)) / (2 * eta_a)
    ode = sp.diff(nu, t) - (eta_w * s**2 - delta * nu - eta_a * nu**2)
    residual = sp.Matrix([ode.rewrite(sp.exp), (nu.subs(t, 0) - (-delta + D * z0) / (2 * eta_a))])
    return Derivation("riccati_solution",
                      "ν(t) = [−δ + D tanh(Dt/2 + artanh((δ + 2η_aν₀)/D))]/(2η_a)",
                      sp.Symbol(r"\nu(t)"), nu, residual, extra={"D": D, "Q": Q, "nu": nu},
                      shown=(r"\nu(t) = " + sp.latex(nu),))


def bernoulli_a_squared() -> Derivation:
    """a² obeys d(a²)/dt = 2(δ + η_aν)a² − 2η_w a⁴, solved by a² = E/(1/a₀² + 2η_w F).

    E(t) = e^{δt} cosh²Q(t)/cosh²Q₀ with Q = Dt/2 + Q₀ from the Riccati solution, and
    F(t) = ∫₀ᵗE is elementary, from e^{δσ}cosh²Q = ½e^{δσ} + ¼e^{(δ+D)σ+2Q₀} + ¼e^{(δ−D)σ−2Q₀}:
    F = [½(e^{δt} − 1)/δ + ¼e^{2Q₀}(e^{(δ+D)t} − 1)/(δ+D) + ¼e^{−2Q₀}(e^{(δ−D)t} − 1)/(δ−D)]/cosh²Q₀
    (δ ≠ 0, and D > |δ| whenever s > 0). The proof is in four identities, each asserted:
    the Bernoulli equation from the flow; E′ = 2(δ + η_aν)E; F′ = E with F(0) = 0; and that
    y = E/(1/a₀² + 2η_wF) solves the Bernoulli equation for any E, F with those two properties.
    """
    # (i) the Bernoulli equation from the whitened flow
    w, beta_star, adot, wdot = _whitened()
    nu = (w.T * beta_star)[0] / a
    dl = eta_w * a**2 - eta_a * (w.T * w)[0]
    lhs_ode = _subs_flow(sp.diff(a**2, t), w, adot, wdot)
    bern = lhs_ode - (2 * (dl + eta_a * nu) * a**2 - 2 * eta_w * a**4)
    # (ii) E'/E = 2(δ + η_aν(t)), with ν(t) from the Riccati solution (D a free symbol here)
    D, Q0 = sp.symbols("D Q_0", positive=True)
    A0 = sp.Symbol("a_0", positive=True)
    Q = D * t / 2 + Q0
    nu_t = (-delta + D * sp.tanh(Q)) / (2 * eta_a)
    E = sp.exp(delta * t) * sp.cosh(Q) ** 2 / sp.cosh(Q0) ** 2
    res_E = sp.diff(E, t) - 2 * (delta + eta_a * nu_t) * E
    # (iii) the antiderivative
    F = (sp.Rational(1, 2) * (sp.exp(delta * t) - 1) / delta
         + sp.exp(2 * Q0) * (sp.exp((delta + D) * t) - 1) / (4 * (delta + D))
         + sp.exp(-2 * Q0) * (sp.exp((delta - D) * t) - 1) / (4 * (delta - D))) / sp.cosh(Q0) ** 2
    res_F = sp.Matrix([(sp.diff(F, t) - E).rewrite(sp.exp), F.subs(t, 0)])
    # (iv) y = E/(1/a₀² + 2η_w F) solves y' = 2(δ + η_aν)y − 2η_w y², y(0) = a₀², for generic
    #      E, F with E' = 2(δ + η_aν)E =: k E, F' = E, E(0) = 1, F(0) = 0.
    Ef, Ff, k = (sp.Function(n)(t) for n in ("E", "F", "k"))
    y = Ef / (1 / A0**2 + 2 * eta_w * Ff)
    dy = sp.diff(y, t).subs({sp.Derivative(Ef, t): k * Ef, sp.Derivative(Ff, t): Ef})
    res_y = dy - (k * y - 2 * eta_w * y**2)
    residual = sp.Matrix([sp.together(bern), res_E.rewrite(sp.exp), *res_F, sp.together(res_y)])
    y_closed = E / (1 / A0**2 + 2 * eta_w * F)
    return Derivation("bernoulli_a_squared",
                      "a²(t) = E(t)/(1/a₀² + 2η_w∫₀ᵗE), E = e^{δt}cosh²Q(t)/cosh²Q₀",
                      sp.Symbol("a^2(t)"), y_closed, residual,
                      extra={"E": E, "F": F, "Q": Q, "D": D, "Q0": Q0, "a0": A0},
                      shown=(r"a^2(t) = " + sp.latex(y_closed),))


def linear_lift() -> Derivation:
    """With unit rates, q = (w, a) obeys q̇ = Gq − ½‖q‖²q, G = [[−δ/2 I, β*],[β*ᵀ, δ/2]],
    solved by q(t) = e^{Gt}q₀/√(1 + ∫₀ᵗ‖e^{Gσ}q₀‖²dσ) (the form ``whitened_solution`` evaluates)."""
    w = _vec("w", fn=True)
    bs = _vec("b")  # a general β*
    g = a * w - bs
    adot, wdot = (-(w.T * g)[0], -a * g)  # unit rates
    q = sp.Matrix(list(w) + [a])
    dl = a**2 - (w.T * w)[0]
    G = sp.zeros(D_SYM + 1, D_SYM + 1)
    for i in range(D_SYM):
        G[i, i] = -dl / 2
        G[i, D_SYM] = bs[i]
        G[D_SYM, i] = bs[i]
    G[D_SYM, D_SYM] = dl / 2
    G_display = G.copy()  # the same matrix, with δ written as a symbol
    for i in range(D_SYM):
        G_display[i, i] = -delta / 2
    G_display[D_SYM, D_SYM] = delta / 2
    qdot = sp.Matrix(list(wdot) + [adot])
    res_flow = qdot - (G * q - (q.T * q)[0] / 2 * q)
    # the scalar part: q = e^{Gt}q₀ c(t) with c = (1 + I(t))^{-1/2}, İ = ‖e^{Gt}q₀‖² =: n(t)
    n = sp.Function("n", positive=True)(t)
    Ifun = sp.Function("I", nonnegative=True)(t)
    c = (1 + Ifun) ** sp.Rational(-1, 2)
    res_scalar = (sp.diff(c, t) + c**3 * n / 2).subs(sp.Derivative(Ifun, t), n)
    return Derivation("linear_lift", "q̇ = Gq − ½‖q‖²q for q = (w, a), unit rates",
                      sp.Symbol(r"\dot q"), sp.Symbol(r"G q - \tfrac12\|q\|^2 q"),
                      sp.Matrix(list(res_flow) + [res_scalar]), extra={"G": G_display},
                      shown=(r"G = " + sp.latex(G_display) + r",\qquad (b_1, b_2, b_3) = \beta_*",))


def rate_rescaling() -> Derivation:
    """a = αã, w = w̃/α, α = (η_a/η_w)^{1/4}, τ = √(η_aη_w)t map the flow onto unit rates,
    with β unchanged and δ = √(η_aη_w)(ã² − ‖w̃‖²)."""
    w, g = _vec("w", fn=True), _vec("g")
    adot, wdot = _flow(g, w)
    alpha = (eta_a / eta_w) ** sp.Rational(1, 4)
    rate = sp.sqrt(eta_a * eta_w)
    at, wt = a / alpha, w * alpha
    # d/dτ = (1/rate) d/dt; the unit-rate flow for (ã, w̃) with the same g (β = ã w̃ = a w)
    at_tau = _subs_flow(sp.diff(at, t), w, adot, wdot) / rate
    wt_tau = _subs_flow(sp.diff(wt, t), w, adot, wdot) / rate
    res = sp.Matrix([at_tau - (-(wt.T * g)[0])] + list(wt_tau - (-at * g)))
    dl = eta_w * a**2 - eta_a * (w.T * w)[0]
    res_delta = dl - rate * (at**2 - (wt.T * wt)[0])
    res_beta = at * wt - a * w
    return Derivation("rate_rescaling", "(ã, w̃, τ) = (a/α, αw, √(η_aη_w)t) has unit rates",
                      sp.Symbol(r"\tilde\delta"), delta / rate,
                      sp.Matrix(list(res) + [res_delta] + list(res_beta)))


def implicit_bias_quadratic() -> Derivation:
    """a∞² = [b + √(b² + 4η_wη_a‖β_mn‖²)]/(2η_w), b = δ + η_a‖P_null w₀‖², solves the
    conservation of δ at the interpolant a∞ P_row w∞ = β_mn."""
    A, b = sp.symbols("A b", positive=True)  # a∞², b
    m = sp.Symbol(r"\|\beta_{\rm mn}\|", positive=True)
    A_inf = (b + sp.sqrt(b**2 + 4 * eta_w * eta_a * m**2)) / (2 * eta_w)
    n0 = sp.Symbol("n_0", nonnegative=True)  # ‖P_null w₀‖²
    dl = sp.Symbol("delta", real=True)
    # δ = η_w A − η_a(‖β_mn‖²/A + ‖P_null w₀‖²) at convergence, with b = δ + η_a n0
    conserved = eta_w * A - eta_a * (m**2 / A + n0) - dl
    res = sp.simplify((conserved * A).subs(dl, b - eta_a * n0).subs(A, A_inf))
    return Derivation("implicit_bias_quadratic",
                      "a∞² = [b + √(b² + 4η_wη_a‖β_mn‖²)]/(2η_w), b = δ + η_a‖P_null w₀‖²",
                      sp.Symbol(r"a_\infty^2"), A_inf, res, shown=(r"a_\infty^2 = " + sp.latex(A_inf),))


def all_derivations() -> list[Derivation]:
    """Every derivation of the chapter, in the order of the notebook."""
    return [conservation(), function_space_flow(), metric_in_delta_and_norm(), paper_mu_phi(),
            balanced_mu_phi(), downstream_alignment(), riccati(), riccati_solution(),
            bernoulli_a_squared(), linear_lift(), rate_rescaling(), implicit_bias_quadratic(),
            theorem_3_1_gradient()]


def _starts(beta0s, beta_star):
    """Initial functions β₀ (K, d) and a target β* (d,) ≠ 0 of the same d."""
    beta0s = as_array(beta0s, "beta0s", ndim=2, nonempty=True)
    beta_star = as_array(beta_star, "beta_star", ndim=1, nonempty=True)
    if beta0s.shape[1] != beta_star.shape[0]:
        raise ValueError(f"beta0s must be (K, d) with the d = {beta_star.shape[0]} of beta_star, got "
                         f"{beta0s.shape}")
    if not np.any(beta_star):
        raise ValueError("beta_star must be non-zero")
    if np.any(np.all(beta0s == 0, axis=1)):
        raise ValueError("beta0s must be non-zero initial functions")
    return beta0s, beta_star


def closed_forms_agree(deltas=(-2.0, -0.5, 0.5, 2.0), ratios=(0.5, 1.0, 3.0),
                       beta0s=((0.3, 0.1), (0.2, 3.0)), beta_star=(0.0, 1.5),
                       t_max: float = 6.0, n_t: int = 121) -> dict[str, float]:
    """The derived closed forms, evaluated in float64, against the linear lift of the package.

    For every δ (≠ 0: the integral F(t) of :func:`bernoulli_a_squared` divides by δ), learning-rate
    ratio η_a/η_w (with η_aη_w = 1) and initial function β₀ (realised by
    :func:`~theory.rich_lazy.exact.init_from_beta`), on t ∈ [0, ``t_max``]:

    - ν(t) from :func:`~theory.rich_lazy.exact.riccati_nu` (the tanh branch for |z₀| < 1, coth
      for z₀ > 1) against wᵀβ*/a of :func:`~theory.rich_lazy.exact.whitened_solution`;
    - a²(t), lambdified from :func:`bernoulli_a_squared` (the tanh branch), against a² of the lift.

    Returns the largest relative difference per comparison: keys "nu, tanh branch",
    "nu, coth branch", "a^2, tanh branch". Raises ``ValueError`` if the starts leave a branch
    unexercised or let a cross zero (z₀ ≤ −1), where the Riccati form has a pole.
    """
    from theory.rich_lazy.exact import init_from_beta, riccati_nu, whitened_solution

    deltas = as_array(deltas, "deltas", ndim=1, nonempty=True)
    if np.any(deltas == 0):
        raise ValueError("deltas must be non-zero: the closed form of a²(t) divides by δ")
    ratios = as_array(ratios, "ratios", ndim=1, nonempty=True)
    if np.any(ratios <= 0):
        raise ValueError("ratios must be > 0")
    beta0s, beta_star = _starts(beta0s, beta_star)
    t_num = np.linspace(0.0, check_scalar(t_max, "t_max", min=0.0, include_min=False),
                        check_scalar(n_t, "n_t", kind="int", min=2))
    bern = bernoulli_a_squared()
    a2_fn = sp.lambdify((t_sym, delta, bern.extra["D"], bern.extra["Q0"], bern.extra["a0"], eta_w),
                        bern.rhs, "numpy")
    s_norm = np.linalg.norm(beta_star)
    worst = {"nu, tanh branch": 0.0, "nu, coth branch": 0.0, "a^2, tanh branch": 0.0}
    seen = set()
    for dl in deltas:
        for ratio in ratios:
            ea, ew = np.sqrt(ratio), 1 / np.sqrt(ratio)
            for beta0 in beta0s:
                a0, w0 = init_from_beta(beta0, dl, ea, ew)
                lift = whitened_solution(t_num, a0, w0, beta_star, ea, ew)
                nu0 = w0 @ beta_star / a0
                D = np.sqrt(dl**2 + 4 * ea * ew * s_norm**2)
                z0 = (dl + 2 * ea * nu0) / D
                if not (-1 < z0 and abs(z0) != 1):
                    raise ValueError(f"the start β₀ = {beta0.tolist()} at δ = {dl:g} has z₀ = {z0:.3g}: "
                                     "a crosses zero, where the Riccati form has a pole")
                branch = "tanh" if z0 < 1 else "coth"
                seen.add(branch)
                nu = riccati_nu(t_num, nu0, s_norm, dl, ea, ew)
                rel = np.abs(nu / (lift.w @ beta_star / lift.a) - 1)
                worst[f"nu, {branch} branch"] = max(worst[f"nu, {branch} branch"], float(rel.max()))
                if branch == "tanh":
                    rel = np.abs(a2_fn(t_num, dl, D, np.arctanh(z0), a0, ew) / lift.a**2 - 1)
                    worst["a^2, tanh branch"] = max(worst["a^2, tanh branch"], float(rel.max()))
                if not np.all(np.isfinite(rel)):
                    raise ValueError(f"a closed form is not finite at δ = {dl:g}, β₀ = {beta0.tolist()}")
    if seen != {"tanh", "coth"}:
        raise ValueError(f"the starts exercise only the {sorted(seen)} branch(es): give starts on "
                         "both sides of the fixed point ν₊")
    return worst


# ----------------------------------------------------------------------------------------------
# The paper's own form of the whitened solution: μ = a‖w‖, φ = cos∠(w, β*) (Eq. 2, App. A.2)
# ----------------------------------------------------------------------------------------------


def _mu_phi_symbols():
    """μ, φ, δ and κ = √(δ² + 4η_aη_wμ²) as expressions of a(t), w(t) on the whitened flow."""
    w, beta_star, adot, wdot = _whitened()
    norm_w = sp.sqrt((w.T * w)[0])
    mu = a * norm_w
    phi = (w.T * beta_star)[0] / (norm_w * s)
    dl = eta_w * a**2 - eta_a * (w.T * w)[0]
    # δ² + 4η_aη_wμ² = (η_w a² + η_a‖w‖²)²: factor() exposes the square, so the root is exact
    kappa = sp.sqrt(sp.factor(sp.expand(dl**2 + 4 * eta_a * eta_w * mu**2)))
    return w, adot, wdot, mu, phi, dl, kappa


def paper_mu_phi() -> Derivation:
    """The paper's Eq. 2 from the whitened flow (XᵀX = I, β* = Xᵀy, s = ‖β*‖):

        μ̇ = √(δ² + 4η_aη_wμ²)(φs − μ),   φ̇ = 2η_aη_wμs(1 − φ²)/(√(δ² + 4η_aη_wμ²) − δ),

    for μ = a‖w‖ and φ = wᵀβ*/(‖w‖s), with δ = η_w a² − η_a‖w‖². The residual is the
    chain-rule derivative of μ and φ along the flow minus Eq. 2, both written in a and w.
    """
    w, adot, wdot, mu, phi, dl, kappa = _mu_phi_symbols()
    mu_dot = _subs_flow(sp.diff(mu, t), w, adot, wdot)
    phi_dot = _subs_flow(sp.diff(phi, t), w, adot, wdot)
    res = sp.Matrix([mu_dot - kappa * (phi * s - mu),
                     phi_dot - 2 * eta_a * eta_w * mu * s * (1 - phi**2) / (kappa - dl)])
    m, f = sp.symbols("mu phi", real=True)
    K = sp.sqrt(delta**2 + 4 * eta_a * eta_w * m**2)
    rhs_mu, rhs_phi = K * (f * s - m), 2 * eta_a * eta_w * m * s * (1 - f**2) / (K - delta)
    return Derivation(
        "paper_mu_phi",
        "μ̇ = √(δ² + 4η_aη_wμ²)(φ‖β*‖ − μ), φ̇ = 2η_aη_wμ‖β*‖(1 − φ²)/(√(δ² + 4η_aη_wμ²) − δ) (Eq. 2)",
        sp.Matrix([sp.Symbol(r"\dot\mu"), sp.Symbol(r"\dot\phi")]), sp.Matrix([rhs_mu, rhs_phi]),
        res, extra={"rhs_mu": rhs_mu, "rhs_phi": rhs_phi, "mu": m, "phi": f},
        shown=(r"\dot\mu = " + sp.latex(rhs_mu) + r",\qquad \dot\phi = " + sp.latex(rhs_phi),))


def balanced_mu_phi() -> Derivation:
    """At δ = 0 (μ > 0) Eq. 2 becomes a Riccati equation for φ and a Bernoulli equation for μ
    (the paper's "Balanced" paragraph, Sec. 3): φ̇ = √(η_aη_w) s (1 − φ²),
    μ̇ = 2√(η_aη_w) μ(φs − μ)."""
    m = sp.Symbol("mu", positive=True)
    f = sp.Symbol("phi", real=True)
    eq2 = paper_mu_phi()
    sub = {eq2.extra["mu"]: m, eq2.extra["phi"]: f, delta: 0}
    ric = sp.sqrt(eta_a * eta_w) * s * (1 - f**2)
    bern = 2 * sp.sqrt(eta_a * eta_w) * m * (f * s - m)
    res = sp.Matrix([eq2.extra["rhs_phi"].subs(sub) - ric, eq2.extra["rhs_mu"].subs(sub) - bern])
    return Derivation("balanced_mu_phi", "δ = 0: φ̇ = √(η_aη_w)s(1 − φ²) (Riccati), μ̇ = 2√(η_aη_w)μ(φs − μ) (Bernoulli)",
                      sp.Matrix([sp.Symbol(r"\dot\phi"), sp.Symbol(r"\dot\mu")]), sp.Matrix([ric, bern]),
                      res, shown=(r"\delta = 0:\quad \dot\phi = " + sp.latex(ric)
                                  + r",\qquad \dot\mu = " + sp.latex(bern),))


def downstream_alignment() -> Derivation:
    """The paper's downstream alignment phase (Sec. 3, p. 5–6) and the delay it implies.

    (i) On the slow manifold μ = φs, |δ|·φ̇ of Eq. 2 tends to η_aη_w s² φ(1 − φ²) as δ → −∞,
    the paper's φ̇ = η_aη_w‖β*‖²|δ|⁻¹φ(1 − φ²); (ii) φ(t) = φ₀e^{ct}/√(1 − φ₀² + φ₀²e^{2ct}),
    c = η_aη_w s²/|δ|, solves it; (iii) it reaches φ₁ at
    T = ln[φ₁²(1 − φ₀²)/(φ₀²(1 − φ₁²))]/(2c), proportional to |δ|.
    """
    D = sp.Symbol("D", positive=True)  # |δ|, δ = −D
    f, f0, f1 = sp.symbols("phi phi_0 phi_1", positive=True)
    eq2 = paper_mu_phi()
    phi_dot = eq2.extra["rhs_phi"].subs({eq2.extra["mu"]: f * s, eq2.extra["phi"]: f, delta: -D})
    reduced = eta_a * eta_w * s**2 * f * (1 - f**2)
    res_limit = sp.limit(D * phi_dot, D, sp.oo) - reduced
    c = eta_a * eta_w * s**2 / D
    phi_t = f0 * sp.exp(c * t) / sp.sqrt(1 - f0**2 + f0**2 * sp.exp(2 * c * t))
    res_ode = sp.diff(phi_t, t) - c * phi_t * (1 - phi_t**2)
    T = sp.log(f1**2 * (1 - f0**2) / (f0**2 * (1 - f1**2))) / (2 * c)
    res_T = phi_t.subs(t, T) ** 2 - f1**2
    return Derivation(
        "downstream_alignment",
        "δ → −∞ on μ = φ‖β*‖: φ̇ = η_aη_w‖β*‖²|δ|⁻¹φ(1 − φ²); φ reaches φ₁ from φ₀ at T ∝ |δ|",
        sp.Symbol("T"), T, sp.Matrix([res_limit, sp.together(res_ode), sp.simplify(res_T)]),
        extra={"T": T, "reduced": reduced},
        shown=(r"\dot\phi \simeq \frac{" + sp.latex(reduced) + r"}{|\delta|},\qquad T = "
               + sp.latex(T.subs(D, sp.Symbol(r"|\delta|"))),))


def theorem_3_1_gradient() -> Derivation:
    """∇Ψ_δ(β) = 2β/√(√(δ² + 4‖β‖²) + δ) for the potential of the paper's Theorem 3.1 (Eq. 5),
    Ψ_δ = ⅓(√(δ² + 4r²) − 2δ)√(√(δ² + 4r²) + δ), r = ‖β‖; and Ψ_δ″(r) > 0 (strict convexity):
    Ψ_δ″ = 2(δ² + 2r² + δκ)/(κ(κ + δ)^{3/2}), κ = √(δ² + 4r²), where δ² + 2r² + δκ > 0 because
    (δ² + 2r²)² − δ²κ² = 4r⁴. The residual holds the derivative, Ψ″ and that difference of squares.
    """
    r = sp.Symbol("r", positive=True)
    K = sp.sqrt(delta**2 + 4 * r**2)
    Psi = (K - 2 * delta) * sp.sqrt(K + delta) / 3
    d1 = 2 * r / sp.sqrt(K + delta)
    d2 = 2 * (delta**2 + 2 * r**2 + delta * K) / (K * (K + delta) ** sp.Rational(3, 2))
    res = sp.Matrix([sp.simplify(sp.diff(Psi, r) - d1), sp.simplify(sp.diff(d1, r) - d2),
                     sp.expand((delta**2 + 2 * r**2) ** 2 - delta**2 * K**2 - 4 * r**4)])
    return Derivation("theorem_3_1_gradient", "dΨ_δ/d‖β‖ = 2‖β‖/√(√(δ² + 4‖β‖²) + δ), Ψ_δ″ > 0",
                      sp.Symbol(r"\Psi_\delta'(r)"), d1, res,
                      shown=(r"\Psi_\delta(r) = " + sp.latex(Psi) + r",\qquad \Psi_\delta'(r) = "
                             + sp.latex(d1),))


def eq2_agreement(deltas=(-3.0, -0.5, 0.0, 0.5, 3.0), rates=((2.0, 0.5), (0.5, 3.0)),
                  beta0s=((0.3, 0.1), (0.8, 1.2), (1.0, -0.5)), beta_star=(0.0, 1.5),
                  t_max: float = 8.0, n_t: int = 401) -> dict[str, float]:
    """The book's closed form against the paper's Eq. 2 integrated numerically, in float64.

    For every δ, pair of rates (η_a, η_w) and initial function β₀ (realised with a₀ > 0 by
    :func:`~theory.rich_lazy.exact.init_from_beta`): μ(t) = a‖w‖ and φ(t) = cos∠(w, β*) read off
    :func:`~theory.rich_lazy.exact.whitened_solution` (the linear lift), against
    :func:`~theory.rich_lazy.exact.solve_mu_phi` (Eq. 2, DOP853 at rtol 1e-11) from the same
    (μ₀, φ₀), on t ∈ [0, ``t_max``]. Returns the largest absolute differences, keys "mu",
    "phi", and "runs" (how many); raises ``ValueError`` if no pair has η_a ≠ η_w.
    """
    from theory.rich_lazy.exact import init_from_beta, mu_phi, solve_mu_phi, whitened_solution

    deltas = as_array(deltas, "deltas", ndim=1, nonempty=True)
    rates = as_array(rates, "rates", ndim=2, nonempty=True)
    if rates.shape[1] != 2 or np.any(rates <= 0):
        raise ValueError("rates must be (K, 2) pairs (eta_a, eta_w) of positive numbers")
    if np.all(rates[:, 0] == rates[:, 1]):
        raise ValueError("rates: give at least one pair with eta_a != eta_w")
    beta0s, beta_star = _starts(beta0s, beta_star)
    s_norm = float(np.linalg.norm(beta_star))
    t_num = np.linspace(0.0, check_scalar(t_max, "t_max", min=0.0, include_min=False),
                        check_scalar(n_t, "n_t", kind="int", min=2))
    worst = {"mu": 0.0, "phi": 0.0, "runs": 0}
    for dl in deltas:
        for ea, ew in rates:
            for beta0 in beta0s:
                a0, w0 = init_from_beta(beta0, dl, ea, ew)
                mu, phi = mu_phi(whitened_solution(t_num, a0, w0, beta_star, ea, ew), beta_star)
                mu_n, phi_n = solve_mu_phi(t_num, mu[0], phi[0], s_norm, dl, ea, ew)
                worst["mu"] = max(worst["mu"], float(np.abs(mu - mu_n).max()))
                worst["phi"] = max(worst["phi"], float(np.abs(phi - phi_n).max()))
                worst["runs"] += 1
    return worst
