"""Mean-field geometry of n tokens in a deep random transformer: the two-dimensional map.

Cowsik, Nebabu, Qi, Ganguli (2024), "Geometric dynamics of signal propagation predict
trainability of transformers", arXiv:2403.02579. Book chapter: ``book/transformer_signal``.

What is the paper's and what is the book's. Verified from the paper's public abstract, its
Phys. Rev. E abstract and sentences quoted with their section labels: the architecture of its
Section 2 (single-head self-attention, then a token-wise MLP, each on a residual branch, with
layer normalisation); the reduction, under a permutation-symmetric ansatz, to a map of the
diagonal and off-diagonal entries (q, p) of the token Gram matrix; the collapsed fixed point
p = q and the simplex fixed point; the angle exponent λ_a as the linearisation at the collapsed
point, with the edge-of-chaos conjecture λ_a = 0 (its Subsection 3.3); the gradient exponent λ_g
as the growth rate of the squared Frobenius norm of the end-to-end Jacobian (Subsection 3.4).
As two third-party scripts read it (unverified): the block of its Eq. 4 is the plain residual
x + α f(LN x) (script E; script L writes the scaled one under that label, script E calls it the
footnote under Eq. 12), with a tanh MLP. The paper's own equations could not be read. Every
formula below is therefore **the book's own reconstruction**, derived in
``theory.transformer_signal.derivation`` and checked against the simulated model of
``theory.transformer_signal.simulate``, which uses exactly these definitions:

    LN(x) = √d x/‖x‖                        (no gain or bias: the identity at initialisation)
    Y  = s_A X + α_A Attn(LN X),            Attn(H) = softmax(H W_Qᵀ W_K Hᵀ/√d) H W_Vᵀ
    X' = s_M Y + α_M W_2 φ(W_1 LN Y)

with s = 1 (``residual="plain"``, the default: the paper's form) or s = √(1−α²)
(``residual="scaled"``), W_Q, W_K entries N(0, σ_A/d) (attention logits of variance σ_A² on
normalised tokens), W_V entries N(0, 1/d), W_1 entries N(0, σ_w²/d), W_2 entries N(0, 1/d_ff),
d_ff = d, acausal attention and no biases, and φ = tanh by default (a trapezoid rule, accurate
at every σ_w), or φ(u) = erf(√π u/2) (slope 1 at the origin, every Gaussian integral in closed
form: the book's earlier model, ``BOOK_MODEL`` = scaled + erf), or relu.

State: q = ‖x_i‖²/d (per-coordinate norm), p = x_i·x_j/d (i ≠ j), cosine ρ = p/q. At infinite
width, for a permutation-symmetric input, one block maps

    attention branch:  q_A = ρ + (1−ρ) a₂(ρ),   p_A = ρ + (1−ρ) a₁₁(ρ),
        a₂ = E Σ_j A_ij²,  a₁₁ = E Σ_j A_ij A_kj (i ≠ k), logits Gaussian with
        Cov(S_ij, S_kl) = σ_A² C_ik C_jl, C = (1−ρ)I + ρ11ᵀ;
    q_Y = s_A² q + α_A² q_A,   p_Y = s_A² p + α_A² p_A,   ρ_Y = p_Y/q_Y;
    MLP branch:        q_M = V(σ_w) = E φ(σ_w z)²,   p_M = K(σ_w, ρ_Y) = E φ(u)φ(u′),
        (u, u′) Gaussian, variance σ_w², correlation ρ_Y;
    q′ = s_M² q_Y + α_M² q_M,   p′ = s_M² p_Y + α_M² p_M.

In the plain form the norm grows by α_A² + α_M² V a block at collapse (no fixed point in q), so
its exponents are those of one block from a given norm q (q = 1: the input cloud).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import brentq

from theory.core import (array_bytes, as_array, check_bool, check_choice, check_memory,
                         check_scalar, check_seed, non_negative, positive)

__all__ = [
    "ACTIVATIONS",
    "AttentionSummary",
    "AttentionTable",
    "MAP_CONFIGS",
    "MAP_STACKS",
    "MapPhases",
    "MapTrajectory",
    "OneBlockExponents",
    "PhaseDiagram",
    "SimplexFixedPoint",
    "angle_exponent",
    "angle_exponent_one_block",
    "attention_flatness",
    "attention_moments",
    "attention_output",
    "attention_summary",
    "attention_table",
    "block_map",
    "chi_1",
    "chi_1_finite_difference",
    "collapsed_fixed_point",
    "collapsed_norms",
    "gap_rate",
    "gradient_exponent",
    "gradient_exponent_finite_depth",
    "gradient_norm_profile",
    "iterate_map",
    "map_phases",
    "map_tracks",
    "mlp_kernel",
    "one_block_exponents",
    "simplex_fixed_point",
    "skip_gains",
    "theory_phase_diagram",
    "BOOK_MODEL",
    "PAPER_ALPHA",
    "PAPER_MODEL",
    "PAPER_SIGMA_W",
    "PaperPhaseDiagram",
    "RESIDUALS",
    "paper_phase_diagram",
]

#: The paper's form (Eq. 4 as third-party script E reads it: x + α f(LN x); tanh MLP, as in
#: both scripts) and the book's own earlier model (√(1−α²) x + α f(LN x), erf MLP): keyword
#: sets for every function of the chapter that takes ``activation`` and ``residual``.
PAPER_MODEL = {"activation": "tanh", "residual": "plain"}
BOOK_MODEL = {"activation": "erf", "residual": "scaled"}

ACTIVATIONS = ("tanh", "erf", "relu")
RESIDUALS = ("plain", "scaled")
_ERF_SCALE = np.sqrt(np.pi) / 2  # φ(u) = erf(√π u/2): slope 1 at the origin, like tanh


def _activation(activation) -> str:
    if not isinstance(activation, str):
        raise TypeError(f"activation must be a string, one of {ACTIVATIONS}, got "
                        f"{type(activation).__name__}")
    return check_choice(activation, "activation", ACTIVATIONS)


def _alpha(x, name: str) -> np.ndarray:
    arr = as_array(x, name, nonempty=True)
    if np.any((arr < 0) | (arr > 1)):
        raise ValueError(f"{name} must lie in [0, 1] (a residual strength), got {x!r}")
    return arr


def _n_tokens(n) -> int:
    return check_scalar(n, "n", kind="int", min=2)


def _broadcast(**arrays):
    """The arrays broadcast together, or a ValueError naming them and their shapes."""
    try:
        return np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{k} {np.shape(v)}" for k, v in arrays.items())
        raise ValueError(f"{' and '.join(arrays)} must broadcast to one shape, got {shapes}") from None


def _sigma_w(sigma_w) -> np.ndarray:
    return positive(sigma_w, "sigma_w", nonempty=True)


def _quadrature_nodes(sigma_max: float, resolution: float) -> int:
    """Number of trapezoid nodes :func:`_nodes` uses (for the memory check before allocating)."""
    h = min(0.25, 1.0 / (resolution * max(sigma_max, 1e-12)))
    return int(20.0 / h) + 2


def _check_tanh_memory(sigma_w, resolution: float, *, two_d: bool, count: int = 1) -> None:
    m = _quadrature_nodes(float(np.max(sigma_w)), resolution)
    nbytes = array_bytes(m, m) * 3 if two_d else array_bytes(max(count, 1), m) * 3
    check_memory(nbytes, f"the tanh kernel's trapezoid rule at sigma_w = {float(np.max(sigma_w)):g} "
                         f"({m} nodes per axis)",
                 hint="use activation='erf' (closed form) or a smaller resolution")


def _rho(rho, n: int | None = None, name: str = "rho") -> np.ndarray:
    arr = as_array(rho, name, nonempty=True)
    lo = -1.0 if n is None else -1.0 / (n - 1)
    if np.any((arr < lo - 1e-12) | (arr > 1 + 1e-12)):
        raise ValueError(f"{name} must lie in [{lo:g}, 1] (a cosine of n = {n} equiangular "
                         f"tokens), got values in [{arr.min():g}, {arr.max():g}]")
    return np.clip(arr, lo, 1.0)


# ---------------------------------------------------------------------------------------------
# MLP branch: the Gaussian kernel of the activation
# ---------------------------------------------------------------------------------------------

def _nodes(sigma_max: float, resolution: float):
    """Trapezoid nodes z and normalised Gaussian weights on [−10, 10], spacing min(1/4, 1/(r σ)).

    For an integrand f(σz) analytic in a strip (tanh: poles at u = ±iπ/2) against the Gaussian
    weight, the trapezoid rule converges geometrically in 1/spacing: with ``resolution`` r = 5
    nodes per unit of u = σz its error is far below 1e-12 (the book's choice; Gauss–Hermite
    degrades as tanh(σz) steepens)."""
    h = min(0.25, 1.0 / (resolution * max(sigma_max, 1e-12)))
    z = np.arange(-10.0, 10.0 + h / 2, h)
    w = np.exp(-z**2 / 2)
    return z, w / w.sum()


def _tanh_kernel(rho, s, resolution):
    """E tanh(u)tanh(u′) for (u, u′) of variance s², correlation ρ: a 2-D trapezoid rule over
    (z₁, z₂) with u = s z₁, u′ = s(ρ z₁ + √(1−ρ²) z₂), looped over the broadcast pairs."""
    out = np.empty(rho.shape)
    for idx in np.ndindex(rho.shape):
        r, sig = float(rho[idx]), float(s[idx])
        z, w = _nodes(sig, resolution)
        t1 = np.tanh(sig * z)
        t2 = np.tanh(sig * (r * z[:, None] + np.sqrt(max(1 - r * r, 0.0)) * z[None, :]))
        out[idx] = w @ (t1[:, None] * t2) @ w
    return out


def _tanh_moments(s, resolution):
    """(V, χ₁) = (E tanh²(s z), s² E sech⁴(s z)) by the 1-D trapezoid rule."""
    z, w = _nodes(float(np.max(s)) if np.size(s) else 1.0, resolution)
    u = np.asarray(s)[..., None] * z
    with np.errstate(over="ignore"):      # cosh(u)⁴ = inf far in the tail: w/inf = 0 exactly
        chi = np.asarray(s) ** 2 * np.sum(w / np.cosh(u) ** 4, -1)
    return np.sum(w * np.tanh(u) ** 2, -1), chi


def _phi(u, activation):
    if activation == "tanh":
        return np.tanh(u)
    if activation == "erf":
        from scipy.special import erf
        return erf(_ERF_SCALE * u)
    return np.maximum(u, 0.0)


def mlp_kernel(rho, sigma_w, activation: str = "tanh", resolution: float = 5.0):
    """(V, K): V = E φ(σ_w z)², K = E φ(u)φ(u′) with Var u = Var u′ = σ_w², corr(u, u′) = ρ.

    Closed forms: ``relu`` the arc-cosine kernel, K = σ_w²[√(1−ρ²) + (π − arccos ρ)ρ]/(2π);
    ``erf`` (φ(u) = erf(√π u/2)) the arcsine kernel, K = (2/π) arcsin(πσ_w²ρ/(2 + πσ_w²)).
    ``tanh`` (the default: the MLP of the paper's Fig. 4 as both third-party scripts build it):
    a 2-D trapezoid rule with ``resolution`` nodes per unit of the pre-activation (accurate to
    ~1e-12 at every σ_w; see :func:`_nodes`).
    The MLP branch output of the block has per-coordinate second moment V and overlap K
    (book's reconstruction of the paper's MLP update; W_2 entries N(0, 1/d_ff)).
    Broadcasts over ``rho`` and ``sigma_w``.
    """
    activation = _activation(activation)
    resolution = check_scalar(resolution, "resolution", min=1.0)
    rho = _rho(rho)
    with np.errstate(over="ignore"):            # σ_w > 1e154: σ² = inf, handled per activation
        s2 = _sigma_w(sigma_w) ** 2
    rho, s2 = _broadcast(rho=rho, sigma_w=s2)
    if activation == "relu":
        V = s2 / 2
        K = s2 * (np.sqrt(np.clip(1 - rho**2, 0, None)) + (np.pi - np.arccos(rho)) * rho) / (2 * np.pi)
        return V, K
    if activation == "erf":
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # πσ²/(2 + πσ²), in the form π/(π + 2/σ²) where σ² overflows (σ_w > 1e150)
            c = np.where(s2 < 1e300, np.pi * s2 / (2 + np.pi * s2), np.pi / (np.pi + 2 / s2))
        return (2 / np.pi) * np.arcsin(c), (2 / np.pi) * np.arcsin(c * rho)
    resolution = check_scalar(resolution, "resolution", min=1.0)
    s = np.sqrt(s2)
    _check_tanh_memory(s, resolution, two_d=bool(np.any(rho < 1.0)), count=s.size)
    V, _ = _tanh_moments(s, resolution)
    K = np.array(V, dtype=float, copy=True)
    below = rho < 1.0
    if np.any(below):
        K[below] = _tanh_kernel(rho[below], s[below], resolution)
    return V, K


def chi_1(sigma_w, activation: str = "tanh", resolution: float = 5.0):
    """χ₁ = σ_w² E φ′(σ_w z)² = ∂K/∂ρ at ρ = 1 (Price's theorem): the MLP's slope at collapse.

    ``relu``: σ_w²/2; ``erf``: σ_w²/√(1 + πσ_w²); ``tanh``: σ_w² E sech⁴(σ_w z) by the
    trapezoid rule of :func:`mlp_kernel`.
    """
    activation = _activation(activation)
    resolution = check_scalar(resolution, "resolution", min=1.0)
    s = _sigma_w(sigma_w)
    with np.errstate(over="ignore"):
        s2 = s**2
    if activation == "relu":
        return s2 / 2
    if activation == "erf":
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # σ²/√(1 + πσ²), as σ/√(π + σ⁻²) where σ² overflows (σ_w > 1e150): finite up to σ_w's max
            return np.where(s < 1e150, s2 / np.sqrt(1 + np.pi * s2), s / np.sqrt(np.pi + 1 / s2))
    resolution = check_scalar(resolution, "resolution", min=1.0)
    _check_tanh_memory(s, resolution, two_d=False, count=s.size)
    return _tanh_moments(s, resolution)[1]


# ---------------------------------------------------------------------------------------------
# Attention branch: softmax averaged over Gaussian logits (Monte Carlo, fixed seed, float64)
# ---------------------------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _logit_noise(n: int, samples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((samples, n, n))


def attention_moments(rho, sigma_A, n: int, *, samples: int = 4000, seed: int = 0):
    """(a₂, a₁₁) = (E Σ_j A_ij², E Σ_j A_ij A_kj, i ≠ k) for A = softmax of Gaussian logits.

    At infinite width the logits S_ij = h_iᵀW_QᵀW_K h_j/√d of normalised, permutation-symmetric
    tokens are jointly Gaussian with Cov(S_ij, S_kl) = σ_A² C_ik C_jl, C = (1−ρ)I + ρ11ᵀ, i.e.
    S = σ_A C^{1/2} G C^{1/2} with G an n×n standard Gaussian matrix (book's derivation). The
    expectation is a Monte Carlo average over ``samples`` matrices G drawn once with ``seed``
    (the same G for every ρ, so the result is a smooth function of ρ), averaged over all rows
    and row pairs. At ρ = 1 the logits are constant and a₂ = a₁₁ = 1/n exactly.
    Broadcasts over ``rho`` and ``sigma_A``; returns two arrays of the broadcast shape.
    """
    n = _n_tokens(n)
    rho = _rho(rho, n)
    sA = non_negative(sigma_A, "sigma_A", nonempty=True)
    samples = check_scalar(samples, "samples", kind="int", min=1)
    seed = check_seed(seed, "seed")
    rho, sA = _broadcast(rho=rho, sigma_A=sA)
    check_memory(6 * array_bytes(samples, n, n), f"{samples} logit matrices of {n} × {n}",
                 hint="use fewer samples")
    G = _logit_noise(n, samples, seed)
    a2 = np.empty(rho.shape)
    a11 = np.empty(rho.shape)
    off = ~np.eye(n, dtype=bool)
    for idx in np.ndindex(rho.shape):
        r, s = float(rho[idx]), float(sA[idx])
        if r >= 1.0 or s == 0.0:
            a2[idx] = a11[idx] = 1.0 / n
            continue
        # C^{1/2} of (1−ρ)I + ρ11ᵀ: eigenvalues 1−ρ (on 1^⊥) and 1−ρ+nρ (on 1)
        lam_perp, lam_one = np.sqrt(1 - r), np.sqrt(max(1 - r + n * r, 0.0))
        root = lam_perp * np.eye(n) + (lam_one - lam_perp) / n * np.ones((n, n))
        S = s * root @ G @ root
        S -= S.max(axis=-1, keepdims=True)
        A = np.exp(S)
        A /= A.sum(axis=-1, keepdims=True)
        AAt = A @ np.swapaxes(A, -1, -2)
        a2[idx] = np.mean(np.diagonal(AAt, axis1=-2, axis2=-1))
        a11[idx] = np.mean(AAt[:, off])
    return a2, a11


@dataclass(frozen=True)
class AttentionTable:
    """:func:`attention_moments` tabulated once on a grid of ρ for one (σ_A, n, samples) and
    interpolated linearly: a cheap stand-in for the Monte Carlo average where a map is iterated
    many times (the chapter's explorer). Exact at the nodes, and at ρ = 1 (a₂ = a₁₁ = 1/n)."""

    sigma_A: float
    n: int
    rho: np.ndarray
    a2: np.ndarray
    a11: np.ndarray

    def __call__(self, rho):
        rho = np.asarray(rho, float)
        return np.interp(rho, self.rho, self.a2), np.interp(rho, self.rho, self.a11)


def attention_table(sigma_A: float, n: int, *, points: int = 201, samples: int = 4000) -> AttentionTable:
    """An :class:`AttentionTable` on ``points`` equally spaced ρ in [−1/(n−1), 1]."""
    n = _n_tokens(n)
    sigma_A = check_scalar(sigma_A, "sigma_A", min=0.0)
    points = check_scalar(points, "points", kind="int", min=2)
    check_memory(4 * array_bytes(points), f"an attention table of {points} points",
                 hint="use fewer points")
    rho = np.linspace(-1 / (n - 1), 1.0, points)
    a2, a11 = attention_moments(rho, sigma_A, n, samples=samples)
    return AttentionTable(sigma_A=sigma_A, n=n, rho=rho, a2=a2, a11=a11)


def _moments(rho, sigma_A, n, samples, moments):
    if moments is None:
        return attention_moments(rho, sigma_A, n, samples=samples)
    if not isinstance(moments, AttentionTable):
        raise TypeError(f"moments must be an AttentionTable or None, got {type(moments).__name__}")
    if moments.n != n or moments.sigma_A != float(np.asarray(sigma_A)):
        raise ValueError(f"moments was tabulated for sigma_A={moments.sigma_A}, n={moments.n}; "
                         f"the map has sigma_A={sigma_A}, n={n}")
    return moments(rho)


# ---------------------------------------------------------------------------------------------
# The two-dimensional map, its fixed points and exponents
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BlockOutput:
    q: np.ndarray
    p: np.ndarray
    q_mid: np.ndarray
    p_mid: np.ndarray


def _residual(residual) -> str:
    if not isinstance(residual, str):
        raise TypeError(f"residual must be a string, one of {RESIDUALS}, got {type(residual).__name__}")
    return check_choice(residual, "residual", RESIDUALS)


def skip_gains(alpha_A, alpha_M, residual: str = "plain"):
    """(s_A², s_M²): the squared weights of the skip paths, (1, 1) for ``residual="plain"``
    (x + α f(LN x), the paper's Eq. 4 as third-party script E reads it) and (1 − α_A²,
    1 − α_M²) for ``"scaled"`` (√(1−α²) x + α f(LN x), the variant of the footnote under the
    paper's Eq. 12 per script E, and the block of script L)."""
    aA, aM = _alpha(alpha_A, "alpha_A"), _alpha(alpha_M, "alpha_M")
    aA, aM = _broadcast(alpha_A=aA, alpha_M=aM)
    if _residual(residual) == "plain":
        return np.ones_like(aA * aM), np.ones_like(aA * aM)
    return 1 - aA**2 + 0 * aM, 1 - aM**2 + 0 * aA


def block_map(q, p, *, alpha_A, alpha_M, sigma_w, sigma_A, n: int, activation: str = "tanh",
              residual: str = "plain", samples: int = 4000, moments=None) -> BlockOutput:
    """One transformer block of the mean-field map (q, p) → (q′, p′); see the module docstring.

    With the skip weights (s_A², s_M²) of :func:`skip_gains`:
    q_Y = s_A² q + α_A² q_A(ρ), p_Y = s_A² p + α_A² p_A(ρ); q′ = s_M² q_Y + α_M² V,
    p′ = s_M² p_Y + α_M² K(ρ_Y). ``residual="plain"`` (default, the paper's Eq. 4 per
    script E): the norm grows every block; ``"scaled"``: it has a fixed point.
    Returns the output (q, p) and the state after the attention sub-block (q_mid, p_mid) =
    (q_Y, p_Y). Book's reconstruction of the paper's update map (permutation-symmetric
    ansatz). Broadcasts over every numeric argument. ``moments``: optional
    :class:`AttentionTable` for this (σ_A, n), used instead of the Monte Carlo average.
    """
    q = positive(q, "q", nonempty=True)
    p = as_array(p, "p", nonempty=True)
    q, p = _broadcast(q=q, p=p)
    n = _n_tokens(n)
    aA, aM = _alpha(alpha_A, "alpha_A"), _alpha(alpha_M, "alpha_M")
    sA2, sM2 = skip_gains(aA, aM, residual)
    rho = p / q
    if np.any(rho > 1 + 1e-9) or np.any(rho < -1 / (n - 1) - 1e-9):
        raise ValueError("p/q must lie in [-1/(n-1), 1]: (q, p) is not a Gram matrix of n tokens")
    rho = np.clip(rho, -1 / (n - 1), 1.0)
    a2, a11 = _moments(rho, sigma_A, n, samples, moments)
    qA, pA = rho + (1 - rho) * a2, rho + (1 - rho) * a11
    qY = sA2 * q + aA**2 * qA
    pY = sA2 * p + aA**2 * pA
    if np.any(qY <= 1e-12 * q):
        raise ValueError(
            "the state after the attention sub-block vanishes (q_Y = 0): tokens at "
            "rho = -1/(n-1) averaged by uniform attention (sigma_A = 0) cancel, and with "
            "alpha_A = 1 under the scaled residual no skip path is left; the LayerNorm before "
            "the MLP is undefined there")
    V, K = mlp_kernel(np.clip(pY / qY, -1.0, 1.0), sigma_w, activation)
    return BlockOutput(q=sM2 * qY + aM**2 * V, p=sM2 * pY + aM**2 * K, q_mid=qY, p_mid=pY)


@dataclass(frozen=True)
class MapTrajectory:
    """(q, p, ρ) at layers 0..L (arrays of shape (L+1, *batch))."""

    q: np.ndarray
    p: np.ndarray

    @property
    def rho(self) -> np.ndarray:
        return self.p / self.q


def iterate_map(q0, rho0, depth: int, **params) -> MapTrajectory:
    """Iterate :func:`block_map` ``depth`` times from (q0, ρ0 q0); params as for block_map."""
    depth = check_scalar(depth, "depth", kind="int", min=1)
    q = positive(q0, "q0", nonempty=True)
    rho0 = as_array(rho0, "rho0", nonempty=True)
    if np.any((rho0 < -1) | (rho0 > 1)):
        raise ValueError(f"rho0 must lie in [-1/(n-1), 1] (a cosine), got values in "
                         f"[{rho0.min():g}, {rho0.max():g}]")
    q, rho0 = _broadcast(q0=q, rho0=rho0)
    check_memory(4 * array_bytes(depth + 1, max(q.size, 1)), f"a map trajectory of {depth} blocks",
                 hint="use a smaller depth")
    p = q * rho0
    qs, ps = [np.asarray(q, float)], [np.asarray(p, float)]
    for _ in range(depth):
        out = block_map(q, p, **params)
        q, p = out.q, out.p
        qs.append(q)
        ps.append(p)
    return MapTrajectory(q=np.stack(qs), p=np.stack(ps))


def collapsed_fixed_point(alpha_A, alpha_M, sigma_w, activation: str = "tanh",
                          residual: str = "scaled"):
    """(q*, q_Y*) of the collapsed fixed point p = q (all tokens on one line); scaled form only.

    At ρ = 1 the attention output is one vector for all tokens, q_A = 1, and q_M = V(σ_w), so
    q* solves q = (1−α_M²)[(1−α_A²)q + α_A²] + α_M² V:
    q* = [(1−α_M²)α_A² + α_M² V]/[1 − (1−α_A²)(1−α_M²)],  q_Y* = (1−α_A²)q* + α_A².
    With α_A = α_M = 0 the block is the identity and q* = 1 is returned by convention.
    ``residual="plain"`` has no such point (q grows by α_A² + α_M² V a block: see
    :func:`collapsed_norms`) and raises ValueError.
    """
    if _residual(residual) == "plain":
        raise ValueError("residual='plain' has no collapsed fixed point: the norm grows by "
                         "alpha_A² + alpha_M² V every block (use collapsed_norms)")
    aA, aM = _alpha(alpha_A, "alpha_A"), _alpha(alpha_M, "alpha_M")
    V, _ = mlp_kernel(1.0, sigma_w, activation)
    den = 1 - (1 - aA**2) * (1 - aM**2)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = np.where(den > 0, ((1 - aM**2) * aA**2 + aM**2 * V) / np.where(den > 0, den, 1), 1.0)
    return q, (1 - aA**2) * q + aA**2


def _start_norm(q, alpha_A, alpha_M, sigma_w, activation, residual, q_name=None):
    """The norm at which the exponents are evaluated: ``q`` if given, else q* (scaled) or the
    input norm 1 (plain: the cloud of the paper's App. A with E‖x_i‖² = d, per the scripts)."""
    aA, aM, sw = _alpha(alpha_A, "alpha_A"), _alpha(alpha_M, "alpha_M"), _sigma_w(sigma_w)
    shape = np.broadcast_shapes(*(np.shape(v) for v in _broadcast(alpha_A=aA, alpha_M=aM,
                                                                    sigma_w=sw)))
    if q is not None:
        q = positive(q, "q" if q_name is None else q_name, nonempty=True)
        return _broadcast(**{q_name or "q": q, "the configurations": np.empty(shape)})[0].copy()
    if residual == "plain":
        return np.ones(shape)
    return np.broadcast_to(collapsed_fixed_point(alpha_A, alpha_M, sigma_w, activation,
                                                 residual)[0], shape).copy()


def _collapsed_step(q, alpha_A, alpha_M, sigma_w, activation, residual, kernel=None):
    """At ρ = 1 from norm q: (q_Y, q′, log diff gain, log common gain), the gains being the
    mean-square growth of token-differential and token-common gradients through the block.
    ``kernel``: (V, χ₁) if already computed."""
    aA, aM = _alpha(alpha_A, "alpha_A"), _alpha(alpha_M, "alpha_M")
    sA2, sM2 = skip_gains(aA, aM, residual)
    V, chi = kernel if kernel is not None else (mlp_kernel(1.0, sigma_w, activation)[0],
                                                chi_1(sigma_w, activation))
    qY = sA2 * q + aA**2
    q_next = sM2 * qY + aM**2 * V
    with np.errstate(divide="ignore"):
        mlp = np.log(sM2 + aM**2 * chi / qY)
        return qY, q_next, np.log(sA2) + mlp, np.log(sA2 + aA**2 / q) + mlp


def angle_exponent(alpha_A, alpha_M, sigma_w, activation: str = "tanh", residual: str = "plain",
                   q=None):
    """λ_a = log s_A² + log[s_M² + α_M² χ₁/q_Y] − log(q′/q) at ρ → 1 from norm q.

    The growth per block of 1 − ρ = (q − p)/q near ρ = 1 (paper: the angle Lyapunov exponent,
    Subsec. 3.3; this closed form is the book's derivation for the model above): the spread
    q − p grows by s_A²(s_M² + α_M²χ₁/q_Y) (attention adds nothing to it to first order: its
    output is collapsed) while the norm grows by q′/q, with q_Y = s_A² q + α_A²,
    q′ = s_M² q_Y + α_M² V and (s_A², s_M²) of :func:`skip_gains`.

    ``residual="scaled"``, q = q* (default): q′ = q and λ_a = log(1−α_A²) +
    log[(1−α_M²) + α_M² χ₁/q_Y*], the exponent of the collapsed fixed point; without MLPs
    λ_a = log(1−α_A²) < 0. ``residual="plain"`` (the default), q = 1 (default): the one-block
    exponent from the paper's input cloud (Sec. 4.1 as the scripts measure it); the norm then
    grows and λ_a(q) → 0 as q → ∞ (the approach to collapse becomes a power of depth).
    """
    residual = _residual(residual)
    q = _start_norm(q, alpha_A, alpha_M, sigma_w, activation, residual)
    _, q_next, diff, _ = _collapsed_step(q, alpha_A, alpha_M, sigma_w, activation, residual)
    return diff - np.log(q_next / q)


def gradient_exponent(alpha_A, alpha_M, sigma_w, activation: str = "tanh",
                      residual: str = "plain", q=None):
    """λ_g = log[s_A² + α_A²/q] + log[s_M² + α_M² χ₁/q_Y] − log(q′/q) (book's derivation).

    Per-block growth of the squared norm of backpropagated gradients at ρ → 1 from norm q, for
    the token-common component, which dominates at depth, measured against the growth of the
    norm q′/q (the Jacobian of the tokens' direction, which a final layer norm sees; for
    ``residual="scaled"`` at q = q* the norm is fixed and this is the raw Jacobian's rate). On
    token-common gradients attention acts as one linear map W_V on normalised tokens
    (mean-square gain 1/q through the layer norm); on token-differential ones it gives zero and
    the rate is λ_a. So λ_g − λ_a = log(1 + α_A²/(s_A² q)) > 0: the boundaries λ_g = 0 and
    λ_a = 0 differ whenever α_A > 0. Defaults of q as in :func:`angle_exponent`.
    """
    residual = _residual(residual)
    q = _start_norm(q, alpha_A, alpha_M, sigma_w, activation, residual)
    _, q_next, _, common = _collapsed_step(q, alpha_A, alpha_M, sigma_w, activation, residual)
    return common - np.log(q_next / q)


def collapsed_norms(alpha_A, alpha_M, sigma_w, depth: int, *, q0=None, activation: str = "tanh",
                    residual: str = "plain"):
    """q_ℓ at ρ = 1 for ℓ = 0..L: q_{ℓ+1} = s_M²(s_A² q_ℓ + α_A²) + α_M² V, (L+1, *shape).

    Plain residual: q_ℓ = q₀ + ℓ(α_A² + α_M² V), linear growth; scaled: q_ℓ → q*."""
    depth = check_scalar(depth, "depth", kind="int", min=1)
    residual = _residual(residual)
    q = _start_norm(q0, alpha_A, alpha_M, sigma_w, activation, residual, "q0")
    check_memory(8 * array_bytes(depth + 1, max(q.size, 1)),
                 f"the collapsed norms through {depth} blocks", hint="use a smaller depth")
    kernel = (mlp_kernel(1.0, sigma_w, activation)[0], chi_1(sigma_w, activation))
    qs = [np.asarray(q, float)]
    for _ in range(depth):
        qs.append(_collapsed_step(qs[-1], alpha_A, alpha_M, sigma_w, activation, residual,
                                  kernel)[1])
    return np.stack(qs)


def _depth_rates(alpha_A, alpha_M, sigma_w, depth, q0, activation, residual):
    """Per-layer (λ_a(q_ℓ), λ_g(q_ℓ), log(q_{ℓ+1}/q_ℓ)) along the collapsed norms: (L, *shape)."""
    qs = collapsed_norms(alpha_A, alpha_M, sigma_w, depth, q0=q0, activation=activation,
                         residual=residual)
    la, lg, grow = [], [], []
    kernel = (mlp_kernel(1.0, sigma_w, activation)[0], chi_1(sigma_w, activation))
    for q in qs[:-1]:
        _, q_next, diff, common = _collapsed_step(q, alpha_A, alpha_M, sigma_w, activation,
                                                  residual, kernel)
        grow.append(np.log(q_next / q))
        la.append(diff - grow[-1])
        lg.append(common - grow[-1])
    return np.stack(la), np.stack(lg), np.stack(grow)


def gradient_exponent_finite_depth(alpha_A, alpha_M, sigma_w, depth: int, n: int,
                                   activation: str = "tanh", residual: str = "plain", q0=None,
                                   normalise: bool = False):
    """(1/L) log(E‖∂(X_L·R)/∂X_0‖²/‖R‖²) at ρ → 1 for R with i.i.d. entries, minus
    (1/L) log(q_L/q_0) when ``normalise`` (the Jacobian of the direction: what a final layer
    norm passes back; for the scaled form at q* the two agree).

    A fraction 1/n of ‖R‖² is token-common (rates λ_g(q_ℓ)) and 1 − 1/n token-differential
    (rates λ_a(q_ℓ)), summed over the layers along :func:`collapsed_norms` from q0 (default as
    in :func:`angle_exponent`): λ_g(L) = (1/L) log[e^{Σλ_g}/n + (1 − 1/n) e^{Σλ_a}] → λ_g as
    L → ∞ in the scaled form. At the paper's L = 16 the token-differential part can dominate:
    then λ_g(L) < 0 where the stack is ordered although λ_g > 0 (book's derivation).
    """
    depth, n = check_scalar(depth, "depth", kind="int", min=1), _n_tokens(n)
    normalise = check_bool(normalise, "normalise")
    la, lg, grow = _depth_rates(alpha_A, alpha_M, sigma_w, depth, q0, activation, residual)
    extra = 0.0 if normalise else grow.sum(0)
    with np.errstate(divide="ignore"):
        return (np.logaddexp(lg.sum(0) - np.log(n), la.sum(0) + np.log1p(-1 / n)) + extra) / depth


def angle_exponent_one_block(q, rho, **params):
    """log[(1 − ρ′)/(1 − ρ)] of one block of the map from (q, ρq): the finite-step exponent."""
    rho = as_array(rho, "rho", nonempty=True)
    if np.any(rho >= 1):
        raise ValueError("rho must be < 1 to measure a growth rate of 1 − ρ")
    q = positive(q, "q")
    out = block_map(q, rho * q, **params)
    return np.log((1 - out.p / out.q) / (1 - rho))


@dataclass(frozen=True)
class SimplexFixedPoint:
    """The non-collapsed fixed point: tokens equiangular with cosine ``rho`` < 1, norm ``q``."""

    q: float
    rho: float


def simplex_fixed_point(*, alpha_A, alpha_M, sigma_w, sigma_A, n: int, activation: str = "tanh",
                        residual: str = "scaled", samples: int = 4000,
                        moments=None) -> SimplexFixedPoint | None:
    """The fixed point with ρ* < 1 of the two-dimensional map, or None if there is none.

    Scaled residual only (the plain form's norm grows without bound, so its map has no fixed
    point in (q, p); ``residual="plain"`` raises ValueError).

    For a given ρ the q-equation is linear (q_M = V does not depend on ρ):
    q(ρ) = [(1−α_M²)α_A² q_A(ρ) + α_M² V]/[1 − (1−α_A²)(1−α_M²)]; then ρ* is a root of
    ρ′(q(ρ), ρ) − ρ on [−1/(n−1), 1), found by bisection (Brent) from below the collapsed root.
    """
    n = _n_tokens(n)
    if _residual(residual) == "plain":
        raise ValueError("residual='plain' has no simplex fixed point in (q, p): the norm grows")
    aA = check_scalar(alpha_A, "alpha_A", min=0.0, max=1.0)
    aM = check_scalar(alpha_M, "alpha_M", min=0.0, max=1.0)
    sigma_w = check_scalar(sigma_w, "sigma_w", min=0.0, include_min=False)
    sigma_A = check_scalar(sigma_A, "sigma_A", min=0.0)
    den = 1 - (1 - aA**2) * (1 - aM**2)
    if den <= 0:
        raise ValueError("alpha_A = alpha_M = 0 makes every state a fixed point")
    V = float(mlp_kernel(1.0, sigma_w, activation)[0])
    params = dict(alpha_A=aA, alpha_M=aM, sigma_w=sigma_w, sigma_A=sigma_A, n=n,
                  activation=activation, residual="scaled", samples=samples, moments=moments)

    def q_of(r):
        a2, _ = _moments(r, sigma_A, n, samples, moments)
        qA = r + (1 - r) * a2
        return ((1 - aM**2) * aA**2 * qA + aM**2 * V) / den

    def F(r):
        q = q_of(r)
        out = block_map(q, r * q, **params)
        return float(out.p / out.q - r)

    lo, hi = -1 / (n - 1) + 1e-9, 1 - 1e-6
    if not (F(lo) > 0 > F(hi)):
        return None
    r = brentq(F, lo, hi, xtol=1e-12)
    return SimplexFixedPoint(q=float(q_of(r)), rho=float(r))


# ---------------------------------------------------------------------------------------------
# Analyses the chapter's notebooks report (each a few lines over the functions above)
# ---------------------------------------------------------------------------------------------

def attention_output(rho, sigma_A, n: int, *, samples: int = 4000):
    """(q_A, p_A) = (ρ + (1−ρ)a₂, ρ + (1−ρ)a₁₁): the mean Gram entries of the attention
    branch's output A C Aᵀ for input cosine ρ (book's reconstruction, module docstring)."""
    rho = _rho(rho, _n_tokens(n))
    a2, a11 = attention_moments(rho, sigma_A, n, samples=samples)
    return rho + (1 - rho) * a2, rho + (1 - rho) * a11


def attention_flatness(sigma_A, n: int, gaps=(1e-2, 1e-3, 1e-4), *, samples: int = 4000):
    """(a₂ − a₁₁)/(1 − ρ) at 1 − ρ = ``gaps``: it tends to 0 as ρ → 1 when the attention
    output is collapsed to first order (q_A − p_A = (1−ρ)(a₂ − a₁₁) = O((1−ρ)²))."""
    sigma_A = check_scalar(sigma_A, "sigma_A", min=0.0)
    gaps = as_array(gaps, "gaps", ndim=1, nonempty=True)
    if np.any((gaps <= 0) | (gaps >= 1)):
        raise ValueError(f"gaps must lie in (0, 1), got {gaps}")
    a2, a11 = attention_moments(1 - gaps, sigma_A, n, samples=samples)
    return (a2 - a11) / gaps


def chi_1_finite_difference(sigma_w, activation: str = "tanh", h: float = 1e-5,
                            resolution: float = 5.0):
    """(V − K(1 − h))/h: a one-sided finite difference of the kernel at ρ = 1, which tends to
    χ₁ = ∂K/∂ρ|_{ρ=1} as h → 0 (an independent check of :func:`chi_1`'s quadrature)."""
    h = check_scalar(h, "h", min=0.0, max=0.5, include_min=False)
    resolution = check_scalar(resolution, "resolution", min=1.0)
    V, K = mlp_kernel(1 - h, sigma_w, activation, resolution)
    return (V - K) / h


def gap_rate(rho, start: int, stop: int):
    """log[(1 − ρ_stop)/(1 − ρ_start)]/(stop − start): the mean growth rate per layer of 1 − ρ
    between two layers of a trajectory ``rho`` (layers first). Equals λ_a on the collapsing
    tail of an ordered stack (linearisation of the map, Subsec. 3.3)."""
    rho = as_array(rho, "rho", min_ndim=1)
    if rho.shape[0] < 2:
        raise ValueError(f"rho must hold at least 2 layers (layers first), got shape {rho.shape}")
    start = check_scalar(start, "start", kind="int", min=0, max=rho.shape[0] - 1)
    stop = check_scalar(stop, "stop", kind="int", min=start + 1, max=rho.shape[0] - 1)
    if np.any(rho[[start, stop]] >= 1):
        raise ValueError("rho must be < 1 at both layers to measure a rate of 1 − ρ")
    return np.log((1 - rho[stop]) / (1 - rho[start])) / (stop - start)


def gradient_norm_profile(alpha_A, alpha_M, sigma_w, depth: int, n: int, activation: str = "tanh",
                          residual: str = "plain", q0=None):
    """Theory for log(‖∂(X_L·R)/∂X_ℓ‖²/‖R‖²) at ℓ = 0..L: (L+1, *broadcast shape).

    The blocks above layer ℓ multiply the token-common 1/n of ‖R‖² by their common-mode gains
    and the token-differential rest by their differential gains (the raw Jacobian, norm growth
    included), along :func:`collapsed_norms` from q0 (book's derivation; see
    :func:`gradient_exponent_finite_depth` with ``normalise=False``, its value at ℓ = 0 divided
    by L).
    """
    depth, n = check_scalar(depth, "depth", kind="int", min=1), _n_tokens(n)
    la, lg, grow = _depth_rates(alpha_A, alpha_M, sigma_w, depth, q0, activation,
                                _residual(residual))
    zero = np.zeros((1,) + la.shape[1:])
    above_d = np.concatenate([np.cumsum((la + grow)[::-1], 0)[::-1], zero])
    above_c = np.concatenate([np.cumsum((lg + grow)[::-1], 0)[::-1], zero])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.logaddexp(above_c - np.log(n), above_d + np.log1p(-1 / n))


def _check_stacks(stacks, name: str) -> None:
    """A non-empty dict name → (alpha_A, alpha_M, sigma_w), or an error naming ``name``."""
    if not isinstance(stacks, dict):
        raise TypeError(f"{name} must be a non-empty dict name → (alpha_A, alpha_M, sigma_w), "
                        f"got {type(stacks).__name__}")
    if not stacks:
        raise ValueError(f"{name} must be a non-empty dict name → (alpha_A, alpha_M, sigma_w)")
    for key, cfg in stacks.items():
        if not isinstance(cfg, (tuple, list, np.ndarray)) or len(cfg) != 3:
            raise ValueError(f"{name}[{key!r}] must be (alpha_A, alpha_M, sigma_w), got {cfg!r}")


def map_tracks(cases: dict, rho0, depth: int, *, sigma_A, n: int, activation: str = "tanh",
               residual: str = "plain", samples: int = 4000) -> dict:
    """name → :class:`MapTrajectory` of ``depth`` blocks from q₀ = 1 and each ρ₀ in ``rho0``,
    for named stacks ``cases`` = {name: (α_A, α_M, σ_w)}."""
    _check_stacks(cases, "cases")
    sigma_A = check_scalar(sigma_A, "sigma_A", min=0.0)
    rho0 = as_array(rho0, "rho0", ndim=1, nonempty=True)
    out = {}
    for name, cfg in cases.items():
        if len(cfg) != 3:
            raise ValueError(f"cases[{name!r}] must be (alpha_A, alpha_M, sigma_w), got {cfg!r}")
        aA, aM, sw = cfg
        out[name] = iterate_map(np.ones_like(rho0), rho0, depth, alpha_A=aA, alpha_M=aM,
                                sigma_w=sw, sigma_A=sigma_A, n=n, activation=activation,
                                residual=residual, samples=samples)
    return out


# ---------------------------------------------------------------------------------------------
# The theory notebook's configurations and analyses (each a small result with a printable report)
# ---------------------------------------------------------------------------------------------

#: The three named stacks (α_A, α_M, σ_w) of the theory notebook's "Collapse, order and chaos"
#: section: attention only, an ordered stack with MLPs and a chaotic one (λ_a < 0, < 0, > 0).
MAP_STACKS = {"attention only": (0.5, 0.0, 1.0), "ordered": (0.3, 0.5, 1.0),
              "chaotic": (0.3, 0.9, 3.0)}

#: The six (α_A, α_M, σ_w) rows at which the theory notebook checks λ_a against one block of
#: the map: both phases, with and without MLPs, small and large σ_w.
MAP_CONFIGS = np.array([(0.5, 0.0, 1.0), (0.3, 0.5, 1.0), (0.3, 0.6, 2.0), (0.3, 0.9, 3.0),
                        (0.8, 0.8, 2.0), (0.1, 0.95, 5.0)])


def _configs_table(configs) -> np.ndarray:
    cfg = as_array(configs, "configs", ndim=2, nonempty=True)
    if cfg.shape[1] != 3:
        raise ValueError(f"configs must be (C, 3) rows (alpha_A, alpha_M, sigma_w), got {cfg.shape}")
    return cfg


def _short_float(x: float) -> str:
    """1e-2 rather than 0.01: a power of ten (times a mantissa) as it is written in the text."""
    e = int(np.floor(np.log10(abs(x))))
    return f"{x / 10.0**e:g}e{e}"


@dataclass(frozen=True)
class AttentionSummary:
    """The attention branch at infinite width over a grid of input cosines ``rho``: the softmax
    moments ``a2``, ``a11``, the output Gram entries ``q_A``, ``p_A`` (module docstring) and
    the flatness (a₂ − a₁₁)/(1 − ρ) at 1 − ρ = ``gaps``; for (σ_A, n) = (``sigma_A``, ``n``)."""

    sigma_A: float
    n: int
    rho: np.ndarray
    a2: np.ndarray
    a11: np.ndarray
    q_A: np.ndarray
    p_A: np.ndarray
    gaps: np.ndarray
    flatness: np.ndarray

    @property
    def report(self) -> str:
        gaps = ", ".join(_short_float(g) for g in self.gaps)
        return f"(a₂ − a₁₁)/(1 − ρ) at 1 − ρ = {gaps}: {np.round(self.flatness, 5)}"


def attention_summary(sigma_A: float, n: int, *, rho, gaps=(1e-2, 1e-3, 1e-4),
                      samples: int = 4000) -> AttentionSummary:
    """:func:`attention_moments` on the grid ``rho``, the output (q_A, p_A) = (ρ + (1−ρ)a₂,
    ρ + (1−ρ)a₁₁) and :func:`attention_flatness` at ``gaps`` (book's reconstruction)."""
    n = _n_tokens(n)
    sigma_A = check_scalar(sigma_A, "sigma_A", min=0.0)
    rho = _rho(as_array(rho, "rho", ndim=1, nonempty=True), n)
    a2, a11 = attention_moments(rho, sigma_A, n, samples=samples)
    gaps = as_array(gaps, "gaps", ndim=1, nonempty=True)
    return AttentionSummary(sigma_A=sigma_A, n=n, rho=rho, a2=a2, a11=a11,
                            q_A=rho + (1 - rho) * a2, p_A=rho + (1 - rho) * a11, gaps=gaps,
                            flatness=attention_flatness(sigma_A, n, gaps, samples=samples))


@dataclass(frozen=True)
class OneBlockExponents:
    """Per (α_A, α_M, σ_w) row of ``configs``: the starting norm ``q_star`` (q* of the collapsed
    fixed point for the scaled residual, the input norm 1 for the plain one), the closed-form
    λ_a (``linear``) and the map's one-block exponent from (q_star, ``rho0``) (``step``)."""

    configs: np.ndarray
    rho0: float
    q_star: np.ndarray
    linear: np.ndarray
    step: np.ndarray

    @property
    def report(self) -> str:
        return "\n".join(f"α_A = {c[0]:.2f}, α_M = {c[1]:.2f}, σ_w = {c[2]:.1f}:  map {m:+.5f}   "
                         f"λ_a {t:+.5f}" for c, m, t in zip(self.configs, self.step, self.linear))


def one_block_exponents(configs, *, sigma_A: float, n: int, rho0: float,
                        activation: str = "tanh", residual: str = "plain",
                        samples: int = 4000) -> OneBlockExponents:
    """λ_a two ways at each row of ``configs``: :func:`angle_exponent` and
    :func:`angle_exponent_one_block` from q₀ (q* scaled, 1 plain) and ``rho0`` (book's
    derivation: they agree as ρ₀ → 1, the linearisation of Subsec. 3.3)."""
    cfg = _configs_table(configs)
    sigma_A = check_scalar(sigma_A, "sigma_A", min=0.0)
    rho0 = check_scalar(rho0, "rho0", min=-1.0, max=1.0, include_max=False)
    aA, aM, sw = cfg.T
    model = dict(activation=activation, residual=_residual(residual))
    q_star = _start_norm(None, aA, aM, sw, activation, residual)
    step = angle_exponent_one_block(q_star, rho0, alpha_A=aA, alpha_M=aM, sigma_w=sw,
                                    sigma_A=sigma_A, n=n, samples=samples, **model)
    return OneBlockExponents(configs=cfg, rho0=rho0, q_star=q_star,
                             linear=angle_exponent(aA, aM, sw, **model), step=step)


@dataclass(frozen=True)
class MapPhases:
    """The map through ``depth`` blocks for named stacks: ``tracks`` (name →
    :class:`MapTrajectory`, one column per ρ₀), ``exponents`` (name → λ_a) and ``simplex``
    (name → :class:`SimplexFixedPoint`, for the stacks with λ_a > 0)."""

    depth: int
    tracks: dict
    exponents: dict
    simplex: dict

    @property
    def report(self) -> str:
        lines = []
        for name, fp in self.simplex.items():
            head = f"{name}: " if len(self.simplex) > 1 else ""
            lines.append(f"{head}simplex fixed point: ρ* = {fp.rho:.4f}, q* = {fp.q:.4f}; map after "
                         f"{self.depth} blocks: {self.tracks[name].rho[-1]}")
        return "\n".join(lines)


def map_phases(stacks: dict, rho0, depth: int, *, sigma_A: float, n: int,
               activation: str = "tanh", residual: str = "plain",
               samples: int = 4000) -> MapPhases:
    """:func:`map_tracks` for ``stacks`` = {name: (α_A, α_M, σ_w)} from q₀ = 1 and each ρ₀,
    their λ_a, and (scaled residual) :func:`simplex_fixed_point` of every chaotic stack."""
    _check_stacks(stacks, "stacks")
    sigma_A = check_scalar(sigma_A, "sigma_A", min=0.0)
    model = dict(activation=_activation(activation), residual=_residual(residual))
    tracks = map_tracks(stacks, rho0, depth, sigma_A=sigma_A, n=n, samples=samples, **model)
    exponents = {k: angle_exponent(*v, **model) for k, v in stacks.items()}
    simplex = {}
    for k, (aA, aM, sw) in stacks.items():
        fp = None
        if exponents[k] > 0 and residual == "scaled":
            fp = simplex_fixed_point(alpha_A=aA, alpha_M=aM, sigma_w=sw, sigma_A=sigma_A, n=n,
                                     samples=samples, **model)
        if fp is not None:
            simplex[k] = fp
    return MapPhases(depth=depth, tracks=tracks, exponents=exponents, simplex=simplex)


@dataclass(frozen=True)
class PhaseDiagram:
    """Closed-form λ_a and λ_g on the grid ``alpha_M`` × ``sigma_w`` at fixed ``alpha_A``."""

    alpha_A: float
    alpha_M: np.ndarray
    sigma_w: np.ndarray
    lambda_a: np.ndarray
    lambda_g: np.ndarray


def theory_phase_diagram(alpha_A: float, *, alpha_M, sigma_w, activation: str = "tanh",
                         residual: str = "plain") -> PhaseDiagram:
    """:func:`angle_exponent` and :func:`gradient_exponent` over (α_M, σ_w) by broadcasting:
    arrays (len(alpha_M), len(sigma_w)). The book's axes (α_A fixed); the paper's axes are
    :func:`paper_phase_diagram`'s."""
    alpha_A = check_scalar(alpha_A, "alpha_A", min=0.0, max=1.0)
    am = as_array(alpha_M, "alpha_M", ndim=1, nonempty=True)
    sw = as_array(sigma_w, "sigma_w", ndim=1, nonempty=True)
    model = dict(activation=activation, residual=_residual(residual))
    return PhaseDiagram(alpha_A=alpha_A, alpha_M=am, sigma_w=sw,
                        lambda_a=angle_exponent(alpha_A, am[:, None], sw[None, :], **model),
                        lambda_g=gradient_exponent(alpha_A, am[:, None], sw[None, :], **model))


# ---------------------------------------------------------------------------------------------
# The paper's axes: α = α_A = α_M against σ_w (Fig. 4, as both third-party scripts draw it)
# ---------------------------------------------------------------------------------------------

#: The paper's Fig. 4 axes as the scripts draw them: α = α_A = α_M ∈ [0, 1], σ_w ∈ [1, 4].
PAPER_ALPHA = np.linspace(0.0, 1.0, 41)
PAPER_SIGMA_W = np.linspace(1.0, 4.0, 41)


def _zero_crossing(x, y):
    """The first x where y changes sign (linear interpolation), NaN if it does not."""
    s = np.sign(y)
    k = np.flatnonzero(s[:-1] * s[1:] < 0)
    if k.size == 0:
        return np.nan
    i = k[0]
    return float(x[i] - y[i] * (x[i + 1] - x[i]) / (y[i + 1] - y[i]))


@dataclass(frozen=True)
class PaperPhaseDiagram:
    """Closed-form exponents on the paper's axes, arrays (len(alpha), len(sigma_w)), from the
    input cloud's norm q₀ = 1: ``lambda_a`` (one block, :func:`angle_exponent`),
    ``lambda_g`` (:func:`gradient_exponent`, the token-common rate), ``lambda_g_depth`` (the
    raw end-to-end Jacobian through ``depth`` blocks, the paper's Subsec. 3.4 definition as the
    scripts measure it) and ``lambda_g_direction`` (the same for the tokens' direction, the
    norm's growth taken out); per α the σ_w of the zero crossings ``sigma_a`` (λ_a = 0) and
    ``sigma_g`` (λ_g_direction = 0), NaN where there is none."""

    alpha: np.ndarray
    sigma_w: np.ndarray
    model: dict
    depth: int
    n: int
    lambda_a: np.ndarray
    lambda_g: np.ndarray
    lambda_g_depth: np.ndarray
    lambda_g_direction: np.ndarray
    sigma_a: np.ndarray
    sigma_g: np.ndarray

    @property
    def report(self) -> str:
        m = self.model
        lines = [f"{m['residual']} residual, {m['activation']} MLP, L = {self.depth}, n = {self.n}:",
                 f"  min λ_g (token-common, any depth) = {self.lambda_g.min():+.4f}; "
                 f"raw λ_g(L) min = {self.lambda_g_depth.min():+.3f}",
                 f"  direction λ_g(L) in [{self.lambda_g_direction.min():+.3f}, "
                 f"{self.lambda_g_direction.max():+.3f}]; λ_a in [{self.lambda_a.min():+.3f}, "
                 f"{np.nanmax(self.lambda_a):+.3f}]"]
        for k in np.linspace(0, self.alpha.size - 1, 5).astype(int)[1:]:
            lines.append(f"  α = {self.alpha[k]:.2f}: λ_a = 0 at σ_w = {self.sigma_a[k]:.2f}, "
                         f"λ_g(L) = 0 at σ_w = {self.sigma_g[k]:.2f}")
        return "\n".join(lines)


def paper_phase_diagram(alpha=PAPER_ALPHA, sigma_w=PAPER_SIGMA_W, *, depth: int = 16, n: int = 8,
                        activation: str = "tanh", residual: str = "plain") -> PaperPhaseDiagram:
    """:func:`angle_exponent`, :func:`gradient_exponent` and
    :func:`gradient_exponent_finite_depth` (raw and direction) over α = α_A = α_M × σ_w, from
    q₀ = 1 (the paper's axes, Fig. 4 per the scripts; the closed forms are the book's)."""
    al = _alpha(as_array(alpha, "alpha", ndim=1, nonempty=True), "alpha")
    sw = _sigma_w(as_array(sigma_w, "sigma_w", ndim=1, nonempty=True))
    depth, n = check_scalar(depth, "depth", kind="int", min=1), _n_tokens(n)
    check_memory(16 * array_bytes(depth + 1, al.size, sw.size),
                 f"the paper's phase diagram through {depth} blocks", hint="use a smaller depth")
    M = dict(activation=_activation(activation), residual=_residual(residual))
    A, S = np.meshgrid(al, sw, indexing="ij")
    one = np.ones_like(A)
    with np.errstate(divide="ignore", invalid="ignore"):
        la = angle_exponent(A, A, S, q=one, **M)
        lg = gradient_exponent(A, A, S, q=one, **M)
        raw = gradient_exponent_finite_depth(A, A, S, depth, n, q0=one, **M)
        direction = gradient_exponent_finite_depth(A, A, S, depth, n, q0=one, normalise=True, **M)
    return PaperPhaseDiagram(alpha=al, sigma_w=sw, model=M, depth=depth, n=n, lambda_a=la,
                             lambda_g=lg, lambda_g_depth=raw, lambda_g_direction=direction,
                             sigma_a=np.array([_zero_crossing(sw, r) for r in la]),
                             sigma_g=np.array([_zero_crossing(sw, r) for r in direction]))
