"""Symbolic derivations of quasi-homogeneity (sympy); all of it the book's reconstruction.

The paper's definitions could not be read (only its abstract, the opening of its introduction and
the Fig. 2 caption); these are the book's, derived here and checked numerically in ``rates.py``.
Each function returns an :class:`Identity` whose residual must simplify to zero (the notebook
states them as ledger claims with ``identity=``).

- quasi-homogeneity f(x; e^{αΛ}θ) − e^{α} f(x; θ) ≡ 0 for the mixed-depth toy a·x₁ + u·v·x₂, an
  MLP with biases (λ(W_l) = 1/L, λ(b_l) = l/L) and a network with a normalisation layer (any
  rates c, c′, c + c′ for the layers before it: Λ is a family there; 0 is the canonical member);
- the generalised Euler identity Σ_j λ_j θ_j ∂_j f = f, from d/dα at α = 0;
- the growth of the Λ-seminorm under gradient flow θ̇ = −∇L on L = Σ_i exp(−q_i), q_i = y_i f(x_i):
  d/dt ½ θᵀΛθ = Σ_i e^{−q_i} q_i;
- a quantity conserved by the same flow for every direction ν in which Λ is not unique:
  d/dt ½ Σ_g ν_g ‖θ_g‖² = 0 when Σ_g ν_g θ_g·∂_g f ≡ 0.

The activation is an undefined function σ whose only property is positive homogeneity,
σ(cz) = c σ(z) for c > 0 (ReLU, leaky ReLU, |·|, the identity): :class:`sigma` pulls positive
factors out of its argument, and the differential form z σ′(z) = σ(z) (Euler's identity for σ)
is the only other fact used. So the MLP identities hold for every input and every parameter,
away from the kinks where σ′ is undefined (for ReLU: no pre-activation exactly 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from theory.core import Identity, check_scalar

__all__ = ["Identity", "all_identities", "conserved_quantity", "euler_chain_rule", "euler_identity",
           "examples", "quasi_homogeneity", "seminorm_growth", "sigma", "dsigma"]

alpha = sp.Symbol("alpha", real=True)


class dsigma(sp.Function):
    """σ′, left undefined (the step function for ReLU)."""


class sigma(sp.Function):
    """A positively homogeneous activation: σ(cz) = cσ(z) for every c > 0, nothing else assumed."""

    @classmethod
    def eval(cls, z):
        z = sp.factor_terms(z)
        if z.is_Mul:
            pos = [f for f in z.args if f.is_positive]
            if pos:
                rest = [f for f in z.args if not f.is_positive]
                return sp.Mul(*pos) * cls(sp.Mul(*rest))
        return None

    def fdiff(self, argindex=1):
        return dsigma(self.args[0])


def _simplified(expr):
    """``expr`` expanded, and simplified only when expanding does not already give 0 (fast path)."""
    expr = sp.expand(expr)
    return expr if expr == 0 else sp.simplify(expr)


def _euler_for_sigma(expr):
    """Use z σ′(z) = σ(z), i.e. replace σ(z) by z σ′(z), then expand."""
    return sp.expand(expr.replace(sigma, lambda z: z * dsigma(z)))


@dataclass
class Example:
    """A symbolic network: parameter groups (lists of symbols), their rates, a builder f(params, x)."""

    name: str
    groups: dict          # name → list of sympy symbols
    rates: dict           # name → sympy rate
    build: callable       # build(params: dict name → list, x: list) → expression
    x: list               # the input symbols
    description: str = ""

    def params(self):
        return {g: list(s) for g, s in self.groups.items()}

    def scaled(self, a=alpha):
        return {g: [sp.exp(self.rates[g] * a) * s for s in syms] for g, syms in self.groups.items()}

    def f(self, params=None, x=None):
        return self.build(params or self.params(), x or self.x)

    @property
    def symbols(self):
        return [s for syms in self.groups.values() for s in syms]


def _syms(prefix, n):
    return list(sp.symbols(f"{prefix}_1:{n + 1}", real=True))


def _mixed_depth() -> Example:
    a, u, v = sp.symbols("a u v", real=True)
    x = list(sp.symbols("x_1 x_2", real=True))
    return Example("mixed_depth", {"a": [a], "u": [u], "v": [v]},
                   {"a": sp.Integer(1), "u": sp.Rational(1, 2), "v": sp.Rational(1, 2)},
                   lambda p, x: p["a"][0] * x[0] + p["u"][0] * p["v"][0] * x[1], x,
                   "f = a·x₁ + u·v·x₂, λ(a) = 1, λ(u) = λ(v) = 1/2")


def _mlp(widths=(2, 2, 2, 1)) -> Example:
    """L = len(widths) − 1 layers, σ positively homogeneous, biases; λ(W_l) = 1/L, λ(b_l) = l/L."""
    L = len(widths) - 1
    groups, rates = {}, {}
    for l in range(1, L + 1):
        groups[f"W{l}"] = _syms(f"W{l}", widths[l] * widths[l - 1])
        groups[f"b{l}"] = _syms(f"b{l}", widths[l])
        rates[f"W{l}"], rates[f"b{l}"] = sp.Rational(1, L), sp.Rational(l, L)
    x = _syms("x", widths[0])

    def build(p, x):
        h = list(x)
        for l in range(1, L + 1):
            W, b = p[f"W{l}"], p[f"b{l}"]
            n_in = widths[l - 1]
            z = [sum(W[i * n_in + j] * h[j] for j in range(n_in)) + b[i] for i in range(widths[l])]
            h = z if l == L else [sigma(zi) for zi in z]
        return h[0]

    return Example(f"mlp_{'x'.join(map(str, widths))}", groups, rates, build, x,
                   f"{L}-layer MLP with biases, λ(W_l) = 1/{L}, λ(b_l) = l/{L}")


def _normalised(c1=sp.Symbol("c_1", real=True), c2=sp.Symbol("c_2", real=True)) -> Example:
    """f = w·σ(N(W₂ σ(W₁x + b₁) + b₂)) + b₃, x ∈ R, 2 hidden units, N a layer norm over 3 features
    without affine parameters or ε.

    Rates λ(W₁) = λ(b₁) = c₁, λ(W₂) = c₂, λ(b₂) = c₁ + c₂ (any real c₁, c₂: the pre-norm features
    scale by e^{(c₁+c₂)α} and N removes it), λ(w) = λ(b₃) = 1. The canonical member is c₁ = c₂ = 0.
    """
    groups = {"W1": _syms("W1", 2), "b1": _syms("b1", 2), "W2": _syms("W2", 6), "b2": _syms("b2", 3),
              "w": _syms("w", 3), "b3": [sp.Symbol("b_3", real=True)]}
    rates = {"W1": c1, "b1": c1, "W2": c2, "b2": c1 + c2, "w": sp.Integer(1), "b3": sp.Integer(1)}
    x = [sp.Symbol("x", real=True)]

    def build(p, x):
        W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]
        h = [sigma(W1[i] * x[0] + b1[i]) for i in range(2)]
        z = [sp.factor_terms(W2[2 * i] * h[0] + W2[2 * i + 1] * h[1] + b2[i]) for i in range(3)]
        m = sum(z) / 3
        centred = [sp.factor_terms(sp.expand(zi - m)) for zi in z]
        sd = sp.sqrt(sp.factor_terms(sp.expand(sum(c**2 for c in centred) / 3)))
        feats = [sigma(c / sd) for c in centred]
        return sum(wi * fi for wi, fi in zip(p["w"], feats)) + p["b3"][0]

    return Example("layer_norm_head", groups, rates, build, x,
                   "f = w·σ(LayerNorm(W₂σ(W₁x + b₁) + b₂)) + b₃; λ(W₁) = λ(b₁) = c₁, λ(W₂) = c₂, "
                   "λ(b₂) = c₁ + c₂, λ(w) = λ(b₃) = 1")


def examples() -> dict[str, Example]:
    """The three symbolic examples: mixed depth, a 3-layer MLP with biases, a layer-norm head."""
    return {"mixed_depth": _mixed_depth(), "mlp": _mlp(), "layer_norm": _normalised()}


def quasi_homogeneity(ex: Example) -> Identity:
    """e^{−α} f(x; e^{αΛ}θ) − f(x; θ), with f built afresh from the scaled parameters; it is 0.

    The scaled network is built layer by layer (σ pulls the positive factor e^{cα} out of its
    argument, the norm's square root pulls it out of the variance), so distributing e^{−α} over
    the top-level sum usually leaves the unscaled network exactly; otherwise the difference is
    expanded and simplified in full.
    """
    _check_example(ex)
    fs, f = ex.f(ex.scaled()), ex.f()
    residual = sp.expand(sp.exp(-alpha) * fs, deep=False) - f
    if residual != 0:
        residual = _simplified(sp.exp(-alpha) * fs - f)
    return Identity(f"qh_{ex.name}", f"f(x; e^(αΛ)θ) = e^α f(x; θ) for {ex.description}", residual)


def euler_chain_rule(n: int = 3) -> Identity:
    """d/dα F(e^{αλ₁}θ₁, …, e^{αλ_n}θ_n) at α = 0 equals Σ_j λ_j θ_j ∂_j F (for any smooth F).

    Differentiating f(x; e^{αΛ}θ) = e^{α} f(x; θ) in α at 0 therefore gives Σ_j λ_j θ_j ∂_j f = f.
    """
    n = check_scalar(n, "n", kind="int", min=1, max=12)
    th = _syms("theta", n)
    lam = _syms("lambda", n)
    F = sp.Function("F")
    lhs = sp.diff(F(*[sp.exp(l * alpha) * t for l, t in zip(lam, th)]), alpha).subs(alpha, 0)
    rhs = sum(l * t * sp.diff(F(*th), t) for l, t in zip(lam, th))
    rhs_exp = sp.diff(sp.exp(alpha) * F(*th), alpha).subs(alpha, 0) - F(*th)
    return Identity("euler_chain_rule", "d/dα f(e^(αΛ)θ)|₀ = Σ λ_j θ_j ∂_j f and d/dα e^α f|₀ = f",
                    sp.Matrix([sp.simplify(lhs.doit() - rhs), rhs_exp]))


def euler_identity(ex: Example) -> Identity:
    """Σ_j λ_j θ_j ∂f/∂θ_j − f, with z σ′(z) = σ(z) for the activation; simplifies to 0.

    For the layer-norm head the residual is the three facts it follows from, via the chain rule
    through the pre-norm features z ∈ R³ (which carry every earlier parameter): (i) N is
    scale-invariant, Σ_k z_k ∂N_j/∂z_k = 0; (ii) z is quasi-homogeneous of rate c₁ + c₂ in the
    earlier parameters, Σ_early λθ∂z_k = (c₁ + c₂) z_k; (iii) f is affine in (w, b₃) at fixed z,
    w·∂_w f + b₃ ∂_{b₃} f = f. Then Σ λθ∂f = (c₁ + c₂) Σ_k z_k ∂f/∂z_k + f = f.
    """
    _check_example(ex)
    if ex.name == "layer_norm_head":
        return _euler_layer_norm(ex)
    f = ex.f()
    lhs = sum(ex.rates[g] * s * sp.diff(f, s) for g, syms in ex.groups.items() for s in syms)
    residual = _euler_for_sigma(lhs - f)
    return Identity(f"euler_{ex.name}", f"Σ λ_j θ_j ∂_j f = f for {ex.description}",
                    sp.simplify(residual))


def _euler_layer_norm(ex: Example) -> Identity:
    z = _syms("z", 3)
    m = sum(z) / 3
    centred = [zi - m for zi in z]
    sd = sp.sqrt(sum(c**2 for c in centred) / 3)
    N = [c / sd for c in centred]
    scale_inv = [sp.simplify(sum(zk * sp.diff(Nj, zk) for zk in z)) for Nj in N]
    p = ex.params()
    W1, b1, W2, b2, x = p["W1"], p["b1"], p["W2"], p["b2"], ex.x
    h = [sigma(W1[i] * x[0] + b1[i]) for i in range(2)]
    zs = [W2[2 * i] * h[0] + W2[2 * i + 1] * h[1] + b2[i] for i in range(3)]
    early = [g for g in ("W1", "b1", "W2", "b2")]
    pre = [_euler_for_sigma(sum(ex.rates[g] * s * sp.diff(zk, s) for g in early for s in p[g])
                            - (ex.rates["b2"]) * zk) for zk in zs]
    w, b3 = p["w"], p["b3"][0]
    head = sum(wi * sigma(Nj) for wi, Nj in zip(w, N)) + b3
    affine = sp.expand(sum(wi * sp.diff(head, wi) for wi in w) + b3 * sp.diff(head, b3) - head)
    return Identity(f"euler_{ex.name}", f"Σ λ_j θ_j ∂_j f = f for {ex.description} (through z)",
                    sp.Matrix(scale_inv + [sp.simplify(r) for r in pre] + [affine]))


def _check_example(ex):
    if not isinstance(ex, Example):
        raise TypeError(f"ex must be an Example (from examples()), got {type(ex).__name__}")
    return ex


def _flow_terms(ex: Example, n_data: int = 2):
    _check_example(ex)
    n_data = check_scalar(n_data, "n_data", kind="int", min=1, max=4)
    xs = [[sp.Symbol(f"x_{i}{k}", real=True) for k in range(len(ex.x))] for i in range(n_data)]
    ys = [sp.Symbol(f"y_{i}", real=True) for i in range(n_data)]
    fs = [ex.f(x=x) for x in xs]
    q = [y * f for y, f in zip(ys, fs)]
    loss = sum(sp.exp(-qi) for qi in q)
    theta_dot = {s: -sp.diff(loss, s) for s in ex.symbols}     # gradient flow θ̇ = −∇L
    return q, theta_dot


def seminorm_growth(ex: Example, n_data: int = 2) -> Identity:
    """d/dt ½θᵀΛθ = Σ_j λ_j θ_j θ̇_j along θ̇ = −∇L, L = Σ_i e^{−q_i}: equals Σ_i e^{−q_i} q_i.

    −∂_j L = Σ_i e^{−q_i} y_i ∂_j f(x_i), so Σ_j λ_jθ_j(−∂_jL) = Σ_i e^{−q_i} y_i Σ_j λ_jθ_j∂_jf(x_i)
    = Σ_i e^{−q_i} y_i f(x_i) by the Euler identity. No assumption on y_i.
    """
    q, theta_dot = _flow_terms(ex, n_data)
    growth = sum(ex.rates[g] * s * theta_dot[s] for g, syms in ex.groups.items() for s in syms)
    residual = _euler_for_sigma(growth - sum(sp.exp(-qi) * qi for qi in q))
    return Identity(f"seminorm_{ex.name}",
                    f"d/dt ½‖θ‖²_Λ = Σ e^(−q_i) q_i under gradient flow on Σ exp(−q_i), {ex.description}",
                    sp.simplify(residual))


def conserved_quantity(ex: Example, nu: dict, n_data: int = 2) -> Identity:
    """For ν with Σ_g ν_g θ_g·∂_g f ≡ 0, d/dt ½ Σ_g ν_g ‖θ_g‖² = 0 along the same flow.

    Two valid rate vectors differ by such a ν, so their seminorms differ by a conserved quantity.
    """
    q, theta_dot = _flow_terms(ex, n_data)
    if not isinstance(nu, dict):
        raise TypeError(f"nu must be a dict group → rate, got {type(nu).__name__}")
    unknown = sorted(set(nu) - set(ex.groups))
    if unknown:
        raise ValueError(f"nu must name groups of the example {sorted(ex.groups)}, got also {unknown}")
    rate = sum(nu.get(g, 0) * s * theta_dot[s] for g, syms in ex.groups.items() for s in syms)
    f = ex.f()
    direction = sum(nu.get(g, 0) * s * sp.diff(f, s) for g, syms in ex.groups.items() for s in syms)
    label = " ".join(f"{'+' if v > 0 else '−'}{abs(v) if abs(v) != 1 else ''}‖{g}‖²"
                     for g, v in nu.items() if v != 0)
    return Identity(f"rates_conserved_{ex.name}",
                    f"Σ ν_g θ_g·∂_g f ≡ 0 and d/dt ({label}) = 0 for {ex.description}",
                    sp.Matrix([sp.simplify(_euler_for_sigma(direction)),
                               sp.simplify(_euler_for_sigma(rate))]))


def all_identities() -> list[Identity]:
    """Every identity of the chapter's first page (for the tests)."""
    ex = examples()
    out = [quasi_homogeneity(e) for e in ex.values()] + [euler_chain_rule()]
    out += [euler_identity(e) for e in ex.values()]
    out += [seminorm_growth(ex["mixed_depth"]), seminorm_growth(_mlp((2, 2, 1)))]
    out += [conserved_quantity(ex["mixed_depth"], {"u": 1, "v": -1}),
            conserved_quantity(_mlp((2, 2, 1)), {"W1": 1, "b1": 1, "W2": -1})]
    return out
