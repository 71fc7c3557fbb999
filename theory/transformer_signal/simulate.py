"""Random transformers at initialisation, batched over configurations and seeds (torch).

The model is exactly the one whose mean-field map is :mod:`theory.transformer_signal.exact`
(book's reconstruction of Cowsik et al. 2024, Sec. 2):

    LN(x) = √d x/‖x‖,
    Y  = s_A X + α_A softmax(H W_Qᵀ W_K Hᵀ/√d) H W_Vᵀ,   H = LN(X),
    X' = s_M Y + α_M φ(LN(Y) W_1ᵀ) W_2ᵀ,

with s = 1 (``residual="plain"``, default: the paper's Eq. 4 as script E reads it) or
s = √(1−α²) (``"scaled"``), φ = tanh by default (erf, relu available),

W_Q, W_K ~ N(0, σ_A/d), W_V ~ N(0, 1/d), W_1 ~ N(0, σ_w²/d), W_2 ~ N(0, 1/d_ff), d_ff = d,
fresh independent weights in every block. Every configuration (α_A, α_M, σ_w, σ_A) and seed is
one slice of a batch and each block is a handful of ``torch.bmm`` calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from theory.core import (Result, array_bytes, as_array, check_bool, check_choice,
                         check_finite_state, check_memory, check_scalar, check_seed, check_seeds,
                         config_seed, counter_words, positive, record_steps, resolve_device,
                         resolve_dtype, torch_generator, train_batched)
from theory.core import progress as _progress
from theory.transformer_signal.exact import (_activation, _alpha, _check_stacks, _configs_table,
                                             _n_tokens, _residual, angle_exponent, gradient_exponent,
                                             skip_gains)

__all__ = [
    "AngleExponentCheck",
    "AttentionOnlyCollapse",
    "BatchedTransformer",
    "GeometryTrajectory",
    "GradientExponentCheck",
    "LayerByLayer",
    "MeasuredPhaseDiagrams",
    "PHASE_GRID_ANGLE",
    "PAPER_GRID",
    "PHASE_GRID_GRADIENT",
    "PaperPhaseMeasurement",
    "SIMULATION_CONFIGS",
    "SIMULATION_STACKS",
    "SimplexScatter",
    "TRAINABILITY_AXES",
    "Trainability",
    "angle_exponent_check",
    "angle_exponent_table",
    "attention_only_collapse",
    "compare_phase_diagrams",
    "fit_log_gap_slope",
    "gradient_exponent_check",
    "in_gram_range",
    "layer_by_layer",
    "histogram_task",
    "measure_angle_exponent",
    "measure_gradient_exponent",
    "measured_phase_diagram",
    "measured_phase_diagrams",
    "paper_phase_measurement",
    "propagate",
    "sample_tokens",
    "simplex_scatter",
    "token_geometry",
    "token_wise_baseline",
    "train_transformers",
    "trainability_summary",
]

_ACT = {"tanh": torch.tanh, "relu": torch.relu,
        "erf": lambda u: torch.erf(u * (math.sqrt(math.pi) / 2))}
_WEIGHTS = ("W_Q", "W_K", "W_V", "W_1", "W_2")


def _int(x, name: str, minimum: int = 1) -> int:
    """A count (an int >= ``minimum``); seeds go through :func:`theory.core.check_seed`."""
    return check_scalar(x, name, kind="int", min=minimum)


def _generator(generator):
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    return generator


def _rho0(rho0, name: str = "rho0", *, below_one: bool = False):
    """A starting cosine of the sampled cloud: in [0, 1] (or [0, 1) for a rate of 1 − ρ)."""
    r = as_array(rho0, name, nonempty=True)
    if np.any(r < 0) or np.any(r >= 1 if below_one else r > 1):
        raise ValueError(f"{name} must lie in [0, 1{')' if below_one else ']'} (the cosine of the "
                         f"input cloud{'; 1 − ρ₀ > 0 to measure a rate' if below_one else ''}), "
                         f"got {rho0!r}")
    return rho0


def _scalar(x, name: str, *, min=0.0, max=None, include_min=True) -> float:
    return check_scalar(x, name, min=min, max=max, include_min=include_min)


def _configs(alpha_A, alpha_M, sigma_w, sigma_A):
    """The four hyper-parameters broadcast to 1-D arrays of one length (one per configuration)."""
    aA = np.atleast_1d(_alpha(alpha_A, "alpha_A"))
    aM = np.atleast_1d(_alpha(alpha_M, "alpha_M"))
    sw = np.atleast_1d(positive(sigma_w, "sigma_w", nonempty=True))
    sA = np.atleast_1d(as_array(sigma_A, "sigma_A", nonempty=True))
    if np.any(sA < 0):
        raise ValueError(f"sigma_A must be >= 0, got {sigma_A!r}")
    try:
        return np.broadcast_arrays(aA, aM, sw, sA)
    except ValueError:
        raise ValueError("alpha_A, alpha_M, sigma_w and sigma_A must broadcast to one shape "
                         f"(got sizes {aA.size}, {aM.size}, {sw.size}, {sA.size})") from None


def _with_start(alpha_A, alpha_M, sigma_w, sigma_A, rho0, q0):
    """Configurations and starting (ρ₀, q₀) broadcast together to 1-D arrays of one length."""
    aA, aM, sw, sA = _configs(alpha_A, alpha_M, sigma_w, sigma_A)
    r0 = np.atleast_1d(as_array(_rho0(rho0), "rho0"))
    qq0 = np.atleast_1d(positive(q0, "q0", nonempty=True))
    try:
        return [np.ascontiguousarray(v) for v in np.broadcast_arrays(aA, aM, sw, sA, r0, qq0)]
    except ValueError:
        raise ValueError("rho0 and q0 must broadcast with the configurations") from None


def sample_tokens(batch: int, n: int, d: int, rho, q=1.0, *, generator=None, device=None,
                  dtype=None) -> torch.Tensor:
    """(batch, n, d) permutation-symmetric cloud x_i = √q(√ρ g + √(1−ρ) z_i), E x_i·x_j/d = qρ
    (the paper's input cloud, App. A, as the third-party scripts read it; float64 default)."""
    batch, n, d = _int(batch, "batch"), _n_tokens(n), _int(d, "d")
    rho = as_array(rho, "rho", nonempty=True)
    if np.any((rho < 0) | (rho > 1)):
        raise ValueError(f"rho must lie in [0, 1] for this construction, got {rho}")
    q = positive(q, "q", nonempty=True)
    generator = _generator(generator)
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    check_memory(3 * array_bytes(batch, n + 1, d), f"{batch} clouds of {n} tokens of width {d}",
                 hint="use a smaller batch or width")
    r = torch.as_tensor(np.broadcast_to(rho, (batch,)).copy(), dtype=dtype, device=device)
    qq = torch.as_tensor(np.broadcast_to(q, (batch,)).copy(), dtype=dtype, device=device)
    g = torch.randn(batch, 1, d, generator=generator, dtype=dtype, device=device)
    z = torch.randn(batch, n, d, generator=generator, dtype=dtype, device=device)
    x = r.sqrt()[:, None, None] * g + (1 - r).sqrt()[:, None, None] * z
    return qq.sqrt()[:, None, None] * x


def token_geometry(X: torch.Tensor):
    """(q, p, spread) per batch element: mean ‖x_i‖²/d, mean x_i·x_j/d (i≠j), and the standard
    deviation over pairs of the cosines (0 for an equiangular cloud, a regular simplex)."""
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch tensor of shape (batch, n, d), got {type(X).__name__}")
    if X.ndim != 3:
        raise ValueError(f"X must have shape (batch, n, d), got {tuple(X.shape)}")
    if not X.dtype.is_floating_point:
        raise TypeError(f"X must be a floating-point tensor, got {X.dtype}")
    B, n, d = X.shape
    if n < 2:
        raise ValueError(f"X must hold at least 2 tokens (n >= 2) for pair statistics, got n = {n}")
    C = X @ X.transpose(-1, -2) / d
    diag = torch.diagonal(C, dim1=-2, dim2=-1)
    off = ~torch.eye(n, dtype=torch.bool, device=X.device)
    q = diag.mean(-1)
    p = C[:, off].mean(-1)
    cos = C / torch.sqrt(diag[:, :, None] * diag[:, None, :])
    return q, p, cos[:, off].std(-1)


def _weight_stds(aA, aM, sw, sA, d: int) -> dict:
    """Per-configuration standard deviations of each weight's entries (module docstring)."""
    B = aA.size
    return {"W_Q": np.sqrt(sA / d), "W_K": np.sqrt(sA / d), "W_V": np.full(B, 1 / np.sqrt(d)),
            "W_1": sw / np.sqrt(d), "W_2": np.full(B, 1 / np.sqrt(d))}


class BatchedTransformer:
    """``depth`` random blocks for a batch of configurations (one slice per (config, seed)).

    Weights live in ``self.weights``: name → (batch, depth, d, d), float64 by default. They are
    drawn at construction either from one shared ``generator`` (layer by layer, each weight for
    the whole batch at once) or, with ``seeds`` (one int per slice), slice g entirely from
    ``torch_generator(seeds[g])``, so that a slice's weights do not depend on the batch it is in.
    Set ``requires_grad=True`` to differentiate through them.
    """

    def __init__(self, alpha_A, alpha_M, sigma_w, sigma_A, *, d: int, depth: int,
                 activation: str = "tanh", residual: str = "plain", generator=None, seeds=None,
                 device=None, dtype=None, requires_grad: bool = False):
        aA, aM, sw, sA = _configs(alpha_A, alpha_M, sigma_w, sigma_A)
        self.d, self.depth = _int(d, "d"), _int(depth, "depth")
        self.activation = _activation(activation)
        self.residual = _residual(residual)
        device, dtype = resolve_device(device), resolve_dtype(dtype)
        B = aA.size
        t = lambda v: torch.as_tensor(v, dtype=dtype, device=device)[:, None, None]  # noqa: E731
        sA2, sM2 = skip_gains(aA, aM, self.residual)
        self.skip_A, self.gain_A = t(np.sqrt(sA2)), t(aA)
        self.skip_M, self.gain_M = t(np.sqrt(sM2)), t(aM)
        std = {k: t(v) for k, v in _weight_stds(aA, aM, sw, sA, self.d).items()}
        d = self.d
        if seeds is not None:
            if generator is not None:
                raise ValueError("give generator= or seeds=, not both")
            seeds = check_seeds(seeds, "seeds")
            if seeds.shape != (B,):
                raise ValueError(f"seeds must be {B} ints, one per configuration, got {seeds!r}")
            draws = []
            for g in range(B):
                gen = torch_generator(check_seed(seeds[g], "seeds"), device)
                draws.append(torch.randn(self.depth, len(_WEIGHTS), d, d, generator=gen,
                                         dtype=dtype, device=device))
            raw = torch.stack(draws)                                  # (B, L, 5, d, d)
            self.weights = {k: raw[:, :, i] * std[k][:, None] for i, k in enumerate(_WEIGHTS)}
        else:
            per_layer = {k: [] for k in _WEIGHTS}
            for _ in range(self.depth):
                for k in _WEIGHTS:
                    w = torch.randn(B, d, d, generator=generator, dtype=dtype, device=device)
                    per_layer[k].append(w * std[k])
            self.weights = {k: torch.stack(v, dim=1) for k, v in per_layer.items()}
        for w in self.weights.values():
            w.requires_grad_(requires_grad)
        self.batch = B

    @property
    def layers(self) -> list[dict]:
        """The weights block by block: a list of dicts name → (batch, d, d)."""
        return [{k: w[:, ell] for k, w in self.weights.items()} for ell in range(self.depth)]

    def parameters(self):
        return list(self.weights.values())

    def block(self, X: torch.Tensor, layer: dict) -> torch.Tensor:
        """One block on X of shape (batch, n, d) or (batch, sequences, n, d)."""
        shape, d = X.shape, self.d
        B = shape[0]
        lin = lambda T, w: (T.reshape(B, -1, d) @ w.transpose(-1, -2)).reshape(shape)  # noqa: E731
        gain = lambda s: s.reshape((B,) + (1,) * (X.ndim - 1))  # noqa: E731
        H = math.sqrt(d) * X / X.norm(dim=-1, keepdim=True)
        Q, K, Vv = lin(H, layer["W_Q"]), lin(H, layer["W_K"]), lin(H, layer["W_V"])
        A = torch.softmax(Q @ K.transpose(-1, -2) / math.sqrt(d), dim=-1)
        Y = gain(self.skip_A) * X + gain(self.gain_A) * (A @ Vv)
        H2 = math.sqrt(d) * Y / Y.norm(dim=-1, keepdim=True)
        M = lin(_ACT[self.activation](lin(H2, layer["W_1"])), layer["W_2"])
        return gain(self.skip_M) * Y + gain(self.gain_M) * M

    def forward(self, X: torch.Tensor, *, keep: bool = False, weights: dict | None = None):
        """X_L, or the list [X_0, …, X_L] with ``keep=True``; ``weights`` (same layout as
        ``self.weights``) replaces the model's own, e.g. the parameters inside a trainer."""
        if X.shape[0] != self.batch or X.shape[-1] != self.d:
            raise ValueError(f"X must have shape ({self.batch}, n, {self.d}), got {tuple(X.shape)}")
        W = self.weights if weights is None else weights
        xs = [X]
        for ell in range(self.depth):
            xs.append(self.block(xs[-1], {k: W[k][:, ell] for k in _WEIGHTS}))
        return xs if keep else xs[-1]


@dataclass(frozen=True)
class GeometryTrajectory:
    """q, p, ρ and the cosine spread per layer: arrays (L+1, configs, seeds)."""

    q: np.ndarray
    p: np.ndarray
    spread: np.ndarray

    @property
    def rho(self) -> np.ndarray:
        return self.p / self.q


def _chunks(total: int, size: int):
    for start in range(0, total, size):
        yield slice(start, min(start + size, total))


def _random_linear(T: torch.Tensor, std: torch.Tensor, generator) -> torch.Tensor:
    """T Wᵀ for a fresh W with i.i.d. N(0, std²) entries, sampled exactly through n directions.

    With T (B, n, d) and the reduced QR Tᵀ = U R (U: d × k, orthonormal columns, k =
    min(n, d)), T Wᵀ = Rᵀ (W U)ᵀ and W U has i.i.d. N(0, std²) entries by rotation
    invariance: the same law as the full product, from k·d normals instead of d² (any d >= 1:
    for d < n, k = d).
    """
    U, R = torch.linalg.qr(T.transpose(-1, -2))
    # reduced QR: U is d × k and R is k × n with k = min(n, d); W U (d × k) has i.i.d. entries,
    # so fewer tokens than coordinates (n <= d) draws n·d normals and d < n draws d·d (the full
    # matrix's worth): the law is exact in both cases
    G = torch.randn(T.shape[0], T.shape[-1], R.shape[-2], generator=generator, dtype=T.dtype,
                    device=T.device)
    return R.transpose(-1, -2) @ (std * G).transpose(-1, -2)


def _block_projected(X, cfg, activation: str, generator, residual: str = "plain"):
    """One block with fresh weights, every weight sampled through :func:`_random_linear`."""
    aA, aM, sw, sA = cfg
    skip_A = torch.ones_like(aA) if residual == "plain" else (1 - aA**2).sqrt()
    skip_M = torch.ones_like(aM) if residual == "plain" else (1 - aM**2).sqrt()
    d = X.shape[-1]
    H = math.sqrt(d) * X / X.norm(dim=-1, keepdim=True)
    qk = (sA / d).sqrt()
    Q, K = _random_linear(H, qk, generator), _random_linear(H, qk, generator)
    A = torch.softmax(Q @ K.transpose(-1, -2) / math.sqrt(d), dim=-1)
    Vv = _random_linear(H, torch.full_like(qk, 1 / math.sqrt(d)), generator)
    Y = skip_A * X + aA * (A @ Vv)
    H2 = math.sqrt(d) * Y / Y.norm(dim=-1, keepdim=True)
    U = _ACT[activation](_random_linear(H2, sw / math.sqrt(d), generator))
    M = _random_linear(U, torch.full_like(qk, 1 / math.sqrt(d)), generator)
    return skip_M * Y + aM * M


def _check_run_memory(slices: int, chunk: int, n: int, d: int, depth: int, method: str, *,
                      what: str, grad: bool = False) -> None:
    """Refuse a run whose arrays would not fit, before allocating: the (3, L+1, slices) output,
    every layer's tokens of one chunk, and (full weights) its five d × d matrices per block."""
    b = min(chunk, slices)
    nbytes = array_bytes(3, depth + 1, slices) + 4 * array_bytes(b, depth + 1, n, d)
    if method == "full":
        nbytes += (4 if grad else 2) * array_bytes(b, depth, 5, d, d)
    check_memory(nbytes, f"{what} of {slices} slices through {depth} blocks of width {d}",
                 hint="use fewer seeds, a smaller chunk, depth or width, or method='projected'")


@torch.no_grad()
def propagate(alpha_A, alpha_M, sigma_w, sigma_A, *, n: int, d: int, depth: int, rho0, q0=1.0,
              seeds: int = 1, seed: int = 0, activation: str = "tanh", residual: str = "plain",
              chunk: int = 64, method: str = "projected", device=None, dtype=None,
              progress: bool = False) -> GeometryTrajectory:
    """Token geometry through ``depth`` random blocks, for each config × ``seeds`` replicates.

    Configurations broadcast to C entries; rho0 and q0 are scalars or (C,). Slices are run in
    batches of ``chunk`` (config, seed) pairs to bound memory, all from one generator seeded
    with ``seed`` (a measurement of the whole batch: a slice's draws depend on its position).
    ``method="full"`` draws every d × d weight matrix (:class:`BatchedTransformer`);
    ``"projected"`` draws each weight only along the n directions it acts on
    (:func:`_random_linear`): the same law of the forward pass, d/n times fewer random numbers.
    Float64 by default.
    """
    method = check_choice(method, "method", ("full", "projected"))
    activation, residual = _activation(activation), _residual(residual)
    aA, aM, sw, sA, r0, qq0 = _with_start(alpha_A, alpha_M, sigma_w, sigma_A, rho0, q0)
    C, seeds = aA.size, _int(seeds, "seeds")
    n, d = _n_tokens(n), _int(d, "d")
    depth, chunk = _int(depth, "depth"), _int(chunk, "chunk")
    seed = check_seed(seed, "seed")
    progress = check_bool(progress, "progress")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    _check_run_memory(C * seeds, chunk, n, d, depth, method, what="propagate")
    r0, qq0 = np.repeat(r0, seeds), np.repeat(qq0, seeds)
    cfg = [np.repeat(v, seeds) for v in (aA, aM, sw, sA)]
    gen = torch_generator(seed, device)
    out = np.zeros((3, depth + 1, C * seeds))
    slices = _progress(list(_chunks(C * seeds, chunk)), desc="random transformers",
                       enable=bool(progress))
    for sl in slices:
        X = sample_tokens(sl.stop - sl.start, n, d, r0[sl], qq0[sl], generator=gen,
                          device=device, dtype=dtype)
        if method == "full":
            model = BatchedTransformer(*(v[sl] for v in cfg), d=d, depth=depth,
                                       activation=activation, residual=residual, generator=gen,
                                       device=device, dtype=dtype)
            xs = model.forward(X, keep=True)
        else:
            c = [torch.as_tensor(v[sl], dtype=dtype, device=X.device)[:, None, None] for v in cfg]
            xs = [X]
            for _ in range(depth):
                xs.append(_block_projected(xs[-1], c, activation, gen, residual))
        check_finite_state(xs[-1], what="the random transformer's forward pass",
                           step=depth, hint="reduce the input norm q0 or the depth")
        for ell, Xl in enumerate(xs):
            out[:, ell, sl] = torch.stack(token_geometry(Xl)).cpu().numpy()
    out = out.reshape(3, depth + 1, C, seeds)
    return GeometryTrajectory(q=out[0], p=out[1], spread=out[2])


def measure_angle_exponent(alpha_A, alpha_M, sigma_w, sigma_A, *, n: int, d: int, rho0=0.99,
                           q0=1.0, seeds: int = 4, seed: int = 0, activation: str = "tanh",
                           residual: str = "plain", chunk: int = 64, method: str = "full",
                           device=None, dtype=None) -> np.ndarray:
    """log[(1 − ρ₁)/(1 − ρ₀)] over one random block, with the realised input ρ₀: (C, seeds).

    The paper's λ_a measurement (Sec. 4.1 as cited by the third-party scripts): start from ρ₀
    close to 1 and q₀ = 1 (the scripts' input cloud; the book's scaled-form results start at
    q₀ = q*, the collapsed fixed point). Full d × d weights by default (see :func:`propagate`
    for ``method``). ``rho0`` must be < 1 (a rate of 1 − ρ).
    """
    _rho0(rho0, below_one=True)
    tr = propagate(alpha_A, alpha_M, sigma_w, sigma_A, n=n, d=d, depth=1, rho0=rho0, q0=q0,
                   seeds=seeds, seed=seed, activation=activation, residual=residual, chunk=chunk,
                   method=method, device=device, dtype=dtype)
    return np.log((1 - tr.rho[1]) / (1 - tr.rho[0]))


def measure_gradient_exponent(alpha_A, alpha_M, sigma_w, sigma_A, *, n: int, d: int, depth: int,
                              rho0=0.99, q0=1.0, seeds: int = 2, seed: int = 0,
                              activation: str = "tanh", residual: str = "plain",
                              normalise: bool = False, chunk: int = 16, device=None, dtype=None):
    """λ_g by autograd: (1/L) log(‖∂(X_L·R)/∂X_0‖²_F/‖R‖²_F), R with i.i.d. N(0, 1) entries
    (the paper's Subsec. 3.4 definition through the end-to-end Jacobian; L = 16 in its scripts).
    With ``normalise=True`` minus (1/L) log(q_L/q_0), the measured growth of the norm: the
    Jacobian of the tokens' direction (book's variant for the plain residual, whose norm grows).

    Returns (lambda_g (C, seeds), log_norms (L+1, C, seeds)) where log_norms[ℓ] is
    log(‖∂(X_L·R)/∂X_ℓ‖²/‖R‖²), the backpropagated squared gradient norm at every layer.
    """
    normalise = check_bool(normalise, "normalise")
    logs, growth = _gradient_runs(alpha_A, alpha_M, sigma_w, sigma_A, n=n, d=d, depth=depth,
                                  rho0=rho0, q0=q0, seeds=seeds, seed=seed, activation=activation,
                                  residual=residual, chunk=chunk, device=device, dtype=dtype)
    return (logs[0] - (growth if normalise else 0.0)) / depth, logs


def _gradient_runs(alpha_A, alpha_M, sigma_w, sigma_A, *, n, d, depth, rho0, q0, seeds, seed,
                   activation, residual, chunk, device, dtype):
    """The autograd runs of :func:`measure_gradient_exponent`: log_norms (L+1, C, seeds) and
    the measured log(q_L/q_0) (C, seeds)."""
    activation, residual = _activation(activation), _residual(residual)
    aA, aM, sw, sA, r0, qq0 = _with_start(alpha_A, alpha_M, sigma_w, sigma_A, rho0, q0)
    C, seeds = aA.size, _int(seeds, "seeds")
    n, d = _n_tokens(n), _int(d, "d")
    depth, chunk = _int(depth, "depth"), _int(chunk, "chunk")
    seed = check_seed(seed, "seed")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    _check_run_memory(C * seeds, chunk, n, d, depth, "full", what="the gradient runs", grad=True)
    r0, qq0 = np.repeat(r0, seeds), np.repeat(qq0, seeds)
    cfg = [np.repeat(v, seeds) for v in (aA, aM, sw, sA)]
    gen = torch_generator(seed, device)
    logs, growth = np.zeros((depth + 1, C * seeds)), np.zeros(C * seeds)
    for sl in _chunks(C * seeds, chunk):
        X = sample_tokens(sl.stop - sl.start, n, d, r0[sl], qq0[sl], generator=gen,
                          device=device, dtype=dtype)
        model = BatchedTransformer(*(v[sl] for v in cfg), d=d, depth=depth, activation=activation,
                                   residual=residual, generator=gen, device=device, dtype=dtype)
        X.requires_grad_(True)
        xs = model.forward(X, keep=True)
        check_finite_state(xs[-1].detach(), what="the random transformer's forward pass",
                           step=depth, hint="reduce the input norm q0 or the depth")
        R = torch.randn(xs[-1].shape, generator=gen, dtype=dtype, device=X.device)
        grads = torch.autograd.grad((xs[-1] * R).sum(), xs[:-1])
        norms = torch.stack([g.pow(2).sum((-2, -1)) for g in grads] + [R.pow(2).sum((-2, -1))])
        logs[:, sl] = (norms / R.pow(2).sum((-2, -1))).log().detach().cpu().numpy()
        q_in, q_out = token_geometry(X.detach())[0], token_geometry(xs[-1].detach())[0]
        growth[sl] = (q_out / q_in).log().cpu().numpy()
    return logs.reshape(depth + 1, C, seeds), growth.reshape(C, seeds)


# ---------------------------------------------------------------------------------------------
# Analyses of the simulation notebook
# ---------------------------------------------------------------------------------------------

def fit_log_gap_slope(rho, *, floor: float = 1e-9, skip: int = 3):
    """Least-squares slope of log(1 − ρ_ℓ) against ℓ over the layers where 1 − ρ > ``floor``,
    dropping the first ``skip`` of them: (slope, layers used). ``rho``: (L+1,)."""
    rho = as_array(rho, "rho", ndim=1, nonempty=True)
    floor = check_scalar(floor, "floor", min=0.0, max=1.0, include_min=False)
    skip = _int(skip, "skip", 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_gap = np.log(1 - rho)
    ok = np.flatnonzero(log_gap > np.log(floor))[skip:]
    if ok.size < 2:
        raise ValueError(f"fewer than 2 layers have 1 − rho > floor = {floor:g} after skipping {skip}")
    return float(np.polyfit(ok, log_gap[ok], 1)[0]), ok


#: The four named stacks (α_A, α_M, σ_w) of the simulation notebook's "Layer by layer"
#: section: attention only, ordered, near the edge of chaos and chaotic (λ_a = −0.29, −0.13,
#: +0.06 and +0.54 for the erf MLP).
SIMULATION_STACKS = {"attention only": (0.5, 0.0, 1.0), "ordered": (0.3, 0.5, 1.0),
                     "near the edge": (0.3, 0.6, 2.0), "chaotic": (0.3, 0.9, 3.0)}

#: The seven (α_A, α_M, σ_w) rows at which the simulation notebook measures both exponents:
#: ordered and chaotic stacks, with and without MLPs, small and large σ_w.
SIMULATION_CONFIGS = np.array([(0.5, 0.0, 1.0), (0.3, 0.5, 1.0), (0.3, 0.6, 2.0), (0.3, 0.9, 3.0),
                               (0.8, 0.8, 2.0), (0.5, 0.7, 4.0), (0.1, 0.95, 5.0)])

#: The (α_M, σ_w) grids of the measured phase diagrams: 13 × 13 for λ_a (one block, cheap),
#: 8 × 8 for λ_g (autograd through full-weight blocks).
PHASE_GRID_ANGLE = (np.linspace(0.0, 1.0, 13), np.linspace(0.25, 6.0, 13))
PHASE_GRID_GRADIENT = (np.linspace(0.0, 1.0, 8), np.linspace(0.25, 6.0, 8))


def _stacks(stacks) -> tuple[list, np.ndarray]:
    _check_stacks(stacks, "stacks")
    return list(stacks), np.array([tuple(v) for v in stacks.values()], dtype=float)


@dataclass(frozen=True)
class LayerByLayer:
    """The map against random transformers for named stacks: ``map`` (a
    :class:`~theory.transformer_signal.exact.MapTrajectory`), ``projected`` and ``full``
    (:class:`GeometryTrajectory`, projected and full weights), and per stack the largest
    |mean simulated ρ − map ρ| over layers, ``dev`` and ``dev_full``."""

    names: list
    configs: np.ndarray
    sigma_A: float
    n: int
    d: int
    model: dict
    map: object
    projected: GeometryTrajectory
    full: GeometryTrajectory
    dev: np.ndarray
    dev_full: np.ndarray

    @property
    def report(self) -> str:
        return (f"largest |ρ_sim − ρ_map| over layers, per stack: {np.round(self.dev, 3)}  "
                f"full weights: {np.round(self.dev_full, 3)}")


def layer_by_layer(stacks: dict, sigma_A: float, *, n: int, d: int, depth: int, rho0=0.2,
                   seeds: int = 8, seed: int = 1, full_depth: int = 16, full_seeds: int = 2,
                   full_seed: int = 2, activation: str = "tanh",
                   residual: str = "plain") -> LayerByLayer:
    """The map against random transformers layer by layer, from q₀ = 1 and ``rho0``, for
    ``stacks`` = {name: (α_A, α_M, σ_w)} (e.g. :data:`SIMULATION_STACKS`).

    The map's :class:`~theory.transformer_signal.exact.MapTrajectory` through ``depth``
    blocks, :func:`propagate` with projected weights (``seeds`` seeds, generator ``seed``) and
    with full weights (``full_seeds``, ``full_seed``, ``full_depth`` blocks), and per stack the
    largest |mean simulated ρ − map ρ| over layers for each (a :class:`LayerByLayer`).
    """
    from theory.transformer_signal.exact import iterate_map

    names, cfg = _stacks(stacks)
    sigma_A = _scalar(sigma_A, "sigma_A")
    aA, aM, sw, sA = _configs(*cfg.T, sigma_A)
    full_depth = _int(full_depth, "full_depth")
    if full_depth > _int(depth, "depth"):
        raise ValueError(f"full_depth must be at most depth = {depth}, got {full_depth}")
    _rho0(rho0)
    n, d = _n_tokens(n), _int(d, "d")
    seeds, full_seeds = _int(seeds, "seeds"), _int(full_seeds, "full_seeds")
    seed, full_seed = check_seed(seed, "seed"), check_seed(full_seed, "full_seed")
    model = dict(activation=_activation(activation), residual=_residual(residual))
    sim = propagate(aA, aM, sw, sA, n=n, d=d, depth=depth, rho0=rho0, seeds=seeds, seed=seed,
                    **model)
    full = propagate(aA, aM, sw, sA, n=n, d=d, depth=full_depth, rho0=rho0, seeds=full_seeds,
                     seed=full_seed, method="full", **model)
    mf = iterate_map(np.ones(aA.size), np.full(aA.size, as_array(rho0, "rho0")), depth, alpha_A=aA,
                     alpha_M=aM, sigma_w=sw, sigma_A=sA, n=n, **model)
    return LayerByLayer(names=names, configs=cfg, sigma_A=float(sA[0]), n=n, d=d, model=model, map=mf,
                        projected=sim, full=full,
                        dev=np.abs(sim.rho.mean(-1) - mf.rho).max(0),
                        dev_full=np.abs(full.rho.mean(-1) - mf.rho[:full_depth + 1]).max(0))


@dataclass(frozen=True)
class AttentionOnlyCollapse:
    """Attention-only stacks (α_M = 0) at each ``alpha_A``: the mean cosine over seeds per layer
    ``rho`` (L+1, C), and per stack the fitted rate of log(1 − ρ_ℓ) (``slopes``) with the
    layers used (``fits``: list of (slope, layers), :func:`fit_log_gap_slope`)."""

    alpha_A: np.ndarray
    d: int
    seeds: int
    rho: np.ndarray
    fits: list
    slopes: np.ndarray


def attention_only_collapse(alpha_A, sigma_A: float, *, n: int, d: int, depth: int, rho0=0.2,
                            seeds: int, seed: int, floor: float = 1e-9,
                            skip: int = 3, residual: str = "scaled") -> AttentionOnlyCollapse:
    """:func:`propagate` attention-only stacks (α_M = 0; σ_w plays no part) with projected
    weights from q₀ = 1, ``rho0``, and fit the slope of log(1 − ρ_ℓ) of the seed-mean cosine
    over the layers where 1 − ρ > ``floor``, skipping the first ``skip``. The map predicts
    log(1 − α_A²) per layer for the scaled residual (book's derivation, the attention output
    collapsed to first order); the plain one collapses as a power of depth instead."""
    alpha_A = _alpha(as_array(alpha_A, "alpha_A", ndim=1, nonempty=True), "alpha_A")
    sigma_A = _scalar(sigma_A, "sigma_A")
    floor = check_scalar(floor, "floor", min=0.0, max=1.0, include_min=False)
    skip = _int(skip, "skip", 0)
    tr = propagate(alpha_A, 0.0, 1.0, sigma_A, n=n, d=d, depth=depth, rho0=rho0, seeds=seeds,
                   seed=seed, residual=_residual(residual))
    rho = tr.rho.mean(-1)
    fits = [fit_log_gap_slope(rho[:, k], floor=floor, skip=skip) for k in range(alpha_A.size)]
    return AttentionOnlyCollapse(alpha_A=alpha_A, d=d, seeds=seeds, rho=rho, fits=fits,
                                 slopes=np.array([slope for slope, _ in fits]))


@dataclass(frozen=True)
class SimplexScatter:
    """A chaotic stack at several widths: the mean cosine (``final_rho``) and the scatter of the
    pairwise cosines (``spread``) over the last ``last`` of ``depth`` layers, the fitted
    exponent of spread ∝ d^exponent, and the map's simplex fixed point (``fixed_point``)."""

    config: tuple
    widths: np.ndarray
    depth: int
    last: int
    seeds: int
    final_rho: np.ndarray
    spread: np.ndarray
    exponent: float
    fixed_point: object

    @property
    def report(self) -> str:
        layers = f"{self.depth - self.last + 1}–{self.depth}"
        return (f"simplex fixed point ρ* = {self.fixed_point.rho:.4f}; mean cosine over layers "
                f"{layers}: {np.round(self.final_rho, 4)}; spread ∝ d^{self.exponent:.2f}")


def simplex_scatter(alpha_A: float, alpha_M: float, sigma_w: float, sigma_A: float, *, widths,
                    n: int, depth: int, seeds: int, seed: int, last: int = 16,
                    activation: str = "tanh") -> SimplexScatter:
    """Mean cosine and scatter (std over pairs) of the tokens over the last ``last`` layers of a
    scaled-residual stack (the plain one has no fixed point) from ρ₀ = 0.2 (projected
    weights), at each width, the exponent of spread ∝
    d^exponent (least squares in log–log) and the map's
    :func:`~theory.transformer_signal.exact.simplex_fixed_point` (None if it has none)."""
    from theory.transformer_signal.exact import simplex_fixed_point

    if widths is None or isinstance(widths, (str, bytes)):
        raise TypeError(f"widths must be a sequence of ints, got {type(widths).__name__}")
    widths = [_int(w, "widths") for w in np.atleast_1d(np.asarray(widths, dtype=object)).tolist()]
    if not widths:
        raise ValueError("widths must hold at least one width")
    alpha_A = _scalar(alpha_A, "alpha_A", max=1.0)
    alpha_M = _scalar(alpha_M, "alpha_M", max=1.0)
    sigma_w = _scalar(sigma_w, "sigma_w", include_min=False)
    sigma_A = _scalar(sigma_A, "sigma_A")
    seed, seeds = check_seed(seed, "seed"), _int(seeds, "seeds")
    last = _int(last, "last")
    if last > _int(depth, "depth") + 1:
        raise ValueError(f"last must be at most depth + 1 = {depth + 1}, got {last}")
    spread, final = [], []
    for w in widths:
        tr = propagate(alpha_A, alpha_M, sigma_w, sigma_A, n=n, d=w, depth=depth, rho0=0.2,
                       seeds=seeds, seed=seed, activation=activation, residual="scaled")
        spread.append(tr.spread[-last:].mean())
        final.append(tr.rho[-last:].mean())
    spread, final = np.array(spread), np.array(final)
    exponent = float(np.polyfit(np.log(widths), np.log(spread), 1)[0]) if len(widths) > 1 else np.nan
    fp = simplex_fixed_point(alpha_A=alpha_A, alpha_M=alpha_M, sigma_w=sigma_w, sigma_A=sigma_A, n=n,
                             activation=activation, residual="scaled")
    return SimplexScatter(config=(alpha_A, alpha_M, sigma_w), widths=np.array(widths), depth=depth,
                          last=last, seeds=seeds, final_rho=final, spread=spread, exponent=exponent,
                          fixed_point=fp)


def measured_phase_diagram(alpha_A: float, alpha_M, sigma_w, sigma_A: float, *, n: int, d: int,
                           seeds: int, seed: int, kind: str = "angle", depth: int = 16,
                           chunk: int = 16, progress: bool = False, activation: str = "tanh",
                           residual: str = "plain") -> np.ndarray:
    """Measured exponent over the grid alpha_M × sigma_w: (len(alpha_M), len(sigma_w)).

    ``kind="angle"``: one block from ρ₀ = 0.99, q₀ = q* (scaled residual) or 1 (plain),
    ``seeds`` seeds a point, projected
    weights, one generator (``seed``). ``kind="gradient"``: λ_g by autograd through ``depth``
    full-weight blocks, 1 replicate per seed, the grid in chunks of ``chunk`` points, chunk i
    (starting at point i) with generator seed ``seed + i``. Mean over seeds.
    """
    from theory.core import Sweep
    from theory.transformer_signal.exact import _start_norm

    M = dict(activation=_activation(activation), residual=_residual(residual))
    kind = check_choice(kind, "kind", ("angle", "gradient"))
    progress = check_bool(progress, "progress")
    seed = check_seed(seed, "seed")
    depth, chunk = _int(depth, "depth"), _int(chunk, "chunk")
    alpha_A = _scalar(alpha_A, "alpha_A", max=1.0)
    sigma_A = _scalar(sigma_A, "sigma_A")
    sweep = Sweep(alpha_M=_alpha(as_array(alpha_M, "alpha_M", ndim=1, nonempty=True), "alpha_M"),
                  sigma_w=positive(sigma_w, "sigma_w", ndim=1, nonempty=True))
    aM, sw = sweep.column("alpha_M"), sweep.column("sigma_w")
    q0 = _start_norm(None, alpha_A, aM, sw, activation, residual) * np.ones_like(aM)
    if kind == "angle":
        m = measure_angle_exponent(alpha_A, aM, sw, sigma_A, n=n, d=d, q0=q0, seeds=seeds,
                                   seed=seed, method="projected", **M)
        return sweep.unflatten(m.mean(1))
    chunk = _int(chunk, "chunk")
    parts = []
    for i in _progress(range(0, len(sweep), chunk), desc="λ_g grid", enable=bool(progress)):
        sl = slice(i, i + chunk)
        lg, _ = measure_gradient_exponent(alpha_A, aM[sl], sw[sl], sigma_A, n=n, d=d, depth=depth,
                                          q0=q0[sl], seeds=seeds, seed=seed + i, **M)
        parts.append(lg.mean(1))
    return sweep.unflatten(np.concatenate(parts))


def angle_exponent_table(configs, lam_lin, lam_step, measured_proj, measured_full) -> str:
    """One line per (α_A, α_M, σ_w): linear λ_a, the map's one-block value, and the measured
    one-block exponents (mean over seeds) with projected and full weights."""
    configs = _configs_table(configs)
    C = configs.shape[0]
    lam_lin = as_array(lam_lin, "lam_lin", shape=(C,))
    lam_step = as_array(lam_step, "lam_step", shape=(C,))
    measured_proj = as_array(measured_proj, "measured_proj", shape=(C, None), nonempty=True)
    measured_full = as_array(measured_full, "measured_full", shape=(C, None), nonempty=True)
    rows = []
    for c, l, s_, p_, f_ in zip(configs, lam_lin, lam_step,
                                measured_proj.mean(1), measured_full.mean(1)):
        rows.append(f"α_A={c[0]:.1f} α_M={c[1]:.2f} σ_w={c[2]:.0f}: λ_a {l:+.3f}  one-block map "
                    f"{s_:+.3f}  measured {p_:+.3f} (projected), {f_:+.3f} (full)")
    return "\n".join(rows)


def in_gram_range(rho, n: int, *, tol: float = 1e-12) -> np.ndarray:
    """Elementwise −1/(n−1) − tol ≤ ρ ≤ 1 + tol: the cosines n vectors can have on average
    (‖Σᵢ xᵢ‖² ≥ 0 gives the lower end; Cauchy–Schwarz the upper)."""
    n = _n_tokens(n)
    tol = check_scalar(tol, "tol", min=0.0)
    rho = as_array(rho, "rho", nonempty=True)
    return (rho >= -1 / (n - 1) - tol) & (rho <= 1 + tol)


def compare_phase_diagrams(alpha_A: float, la_measured, alpha_M, sigma_w, lg_measured, alpha_M_g,
                           sigma_w_g, *, depth: int, n: int, margin: float = 0.05,
                           tol: float = 0.1, activation: str = "tanh",
                           residual: str = "plain") -> dict:
    """Measured phase diagrams against the theory: the fraction of the λ_a grid (alpha_M ×
    sigma_w) with |λ_a| > ``margin`` where the measured sign is the theory's, the number of such
    points, the largest |measured − λ_a|; the fraction of the λ_g grid (alpha_M_g × sigma_w_g)
    within ``tol`` of the finite-depth theory and its largest deviation; and a printable report."""
    from theory.transformer_signal.exact import gradient_exponent_finite_depth

    margin = check_scalar(margin, "margin", min=0.0)
    tol = check_scalar(tol, "tol", min=0.0, include_min=False)
    alpha_A = _scalar(alpha_A, "alpha_A", max=1.0)
    am = _alpha(as_array(alpha_M, "alpha_M", ndim=1, nonempty=True), "alpha_M")
    sw = positive(sigma_w, "sigma_w", ndim=1, nonempty=True)
    amg = _alpha(as_array(alpha_M_g, "alpha_M_g", ndim=1, nonempty=True), "alpha_M_g")
    swg = positive(sigma_w_g, "sigma_w_g", ndim=1, nonempty=True)
    la_m = as_array(la_measured, "la_measured", ndim=2)
    lg_m = as_array(lg_measured, "lg_measured", ndim=2)
    if la_m.shape != (am.size, sw.size):
        raise ValueError(f"la_measured must be a (len(alpha_M), len(sigma_w)) = ({am.size}, "
                         f"{sw.size}) grid, got {la_m.shape}")
    if lg_m.shape != (amg.size, swg.size):
        raise ValueError(f"lg_measured must be a (len(alpha_M_g), len(sigma_w_g)) = ({amg.size}, "
                         f"{swg.size}) grid, got {lg_m.shape}")
    M = dict(activation=_activation(activation), residual=_residual(residual))
    la_t = angle_exponent(alpha_A, am[:, None], sw[None, :], **M)
    clear = np.abs(la_t) > margin
    lg_t = gradient_exponent_finite_depth(alpha_A, amg[:, None], swg[None, :], depth, n, **M)
    out = dict(sign_agree=float(np.mean(np.sign(la_m[clear]) == np.sign(la_t[clear]))),
               n_clear=int(clear.sum()), la_max_dev=float(np.abs(la_m - la_t).max()),
               lg_close=float(np.mean(np.abs(lg_m - lg_t) < tol)),
               lg_max_dev=float(np.abs(lg_m - lg_t).max()))
    out["report"] = (f"λ_a: sign agrees with theory at {out['sign_agree']:.1%} of the "
                     f"{out['n_clear']} points with |λ_a| > {margin:g}; largest |measured − theory| "
                     f"{out['la_max_dev']:.3f}\nλ_g: {out['lg_close']:.1%} of the grid within "
                     f"{tol:g} of the finite-depth theory; largest deviation {out['lg_max_dev']:.3f}")
    return out


@dataclass(frozen=True)
class AngleExponentCheck:
    """λ_a three ways per (α_A, α_M, σ_w) row of ``configs``, from q₀ = q* and ``rho0``: the
    closed form ``linear``, the map's one-block value ``step``, and one random block of width
    ``d`` measured with projected (``projected``: (C, seeds)) and full (``full``) weights."""

    configs: np.ndarray
    d: int
    n: int
    q_star: np.ndarray
    linear: np.ndarray
    step: np.ndarray
    projected: np.ndarray
    full: np.ndarray

    @property
    def report(self) -> str:
        return angle_exponent_table(self.configs, self.linear, self.step, self.projected, self.full)


def angle_exponent_check(configs, sigma_A: float, *, n: int, d: int, rho0: float = 0.99,
                         seeds_projected: int = 64, seed_projected: int = 5, seeds_full: int = 16,
                         seed_full: int = 6, activation: str = "tanh",
                         residual: str = "plain") -> AngleExponentCheck:
    """λ_a three ways for each (α_A, α_M, σ_w) of ``configs`` (e.g. :data:`SIMULATION_CONFIGS`):
    :func:`~theory.transformer_signal.exact.one_block_exponents` (closed form and the map's
    one-block step from (q*, ``rho0``)) and :func:`measure_angle_exponent` with projected and
    with full weights (an :class:`AngleExponentCheck`)."""
    from theory.transformer_signal.exact import one_block_exponents

    cfg = _configs_table(configs)
    cA, cM, cs = cfg.T
    M = dict(activation=_activation(activation), residual=_residual(residual))
    sigma_A = _scalar(sigma_A, "sigma_A")
    n, d = _n_tokens(n), _int(d, "d")
    _rho0(rho0, below_one=True)
    seeds_projected, seeds_full = _int(seeds_projected, "seeds_projected"), _int(seeds_full, "seeds_full")
    seed_projected = check_seed(seed_projected, "seed_projected")
    seed_full = check_seed(seed_full, "seed_full")
    theory = one_block_exponents(cfg, sigma_A=sigma_A, n=n, rho0=rho0, **M)
    q_star = theory.q_star
    proj = measure_angle_exponent(cA, cM, cs, sigma_A, n=n, d=d, rho0=rho0, q0=q_star,
                                  seeds=seeds_projected, seed=seed_projected, method="projected",
                                  **M)
    full = measure_angle_exponent(cA, cM, cs, sigma_A, n=n, d=d, rho0=rho0, q0=q_star,
                                  seeds=seeds_full, seed=seed_full, method="full", **M)
    return AngleExponentCheck(configs=cfg, d=d, n=n, q_star=q_star, linear=theory.linear,
                              step=theory.step, projected=proj, full=full)


@dataclass(frozen=True)
class GradientExponentCheck:
    """λ_g by autograd per (α_A, α_M, σ_w) row of ``configs`` through ``depth`` full-weight
    blocks of width ``d`` from (q*, ρ₀): ``measured`` (C, seeds) and its mean ``lambda_g``,
    ``log_norms`` (L+1, C, seeds); the theory at finite depth (``finite_depth``), as L → ∞
    (``asymptotic``) and per layer (``profile``, (L+1, C)); ``ordered``: λ_a < 0."""

    configs: np.ndarray
    d: int
    depth: int
    measured: np.ndarray
    log_norms: np.ndarray
    finite_depth: np.ndarray
    asymptotic: np.ndarray
    profile: np.ndarray
    ordered: np.ndarray

    @property
    def lambda_g(self) -> np.ndarray:
        return self.measured.mean(1)

    @property
    def report(self) -> str:
        return (f"measured λ_g: {np.round(self.lambda_g, 3)}\n"
                f"theory (L={self.depth}): {np.round(self.finite_depth, 3)}\n"
                f"theory (L→∞): {np.round(self.asymptotic, 3)}")


def gradient_exponent_check(configs, sigma_A: float, *, n: int, d: int, depth: int,
                            rho0: float = 0.99, seeds: int, seed: int, activation: str = "tanh",
                            residual: str = "plain") -> GradientExponentCheck:
    """:func:`measure_gradient_exponent` from q₀ = q* (the collapsed fixed point) and ``rho0``
    at each row of ``configs``, against
    :func:`~theory.transformer_signal.exact.gradient_exponent_finite_depth` and
    :func:`~theory.transformer_signal.exact.gradient_norm_profile` (book's derivation)."""
    from theory.transformer_signal.exact import (_start_norm, gradient_exponent_finite_depth,
                                                 gradient_norm_profile)

    cfg = _configs_table(configs)
    cA, cM, cs = cfg.T
    depth = _int(depth, "depth")
    M = dict(activation=_activation(activation), residual=_residual(residual))
    sigma_A = _scalar(sigma_A, "sigma_A")
    n, d = _n_tokens(n), _int(d, "d")
    _rho0(rho0, below_one=True)
    seeds, seed = _int(seeds, "seeds"), check_seed(seed, "seed")
    q_star = _start_norm(None, cA, cM, cs, activation, residual)
    measured, logs = measure_gradient_exponent(cA, cM, cs, sigma_A, n=n, d=d, depth=depth,
                                               rho0=rho0, q0=q_star, seeds=seeds, seed=seed, **M)
    return GradientExponentCheck(configs=cfg, d=d, depth=depth, measured=measured, log_norms=logs,
                                 finite_depth=gradient_exponent_finite_depth(cA, cM, cs, depth, n,
                                                                             **M),
                                 asymptotic=gradient_exponent(cA, cM, cs, **M),
                                 profile=gradient_norm_profile(cA, cM, cs, depth, n, **M),
                                 ordered=angle_exponent(cA, cM, cs, **M) < 0)


@dataclass(frozen=True)
class MeasuredPhaseDiagrams:
    """Measured λ_a (``lambda_a`` on ``grid_angle`` = (α_M, σ_w) axes) and λ_g (``lambda_g`` on
    ``grid_gradient``) at fixed α_A, with their comparison with the theory
    (:func:`compare_phase_diagrams`: ``sign_agree``, ``lg_close``, ..., ``report``) and the
    widths, depth and seeds they were measured at."""

    alpha_A: float
    sigma_A: float
    model: dict
    grid_angle: tuple
    lambda_a: np.ndarray
    grid_gradient: tuple
    lambda_g: np.ndarray
    d_angle: int
    seeds_angle: int
    d_gradient: int
    depth: int
    seeds_gradient: int
    comparison: dict

    @property
    def sign_agree(self) -> float:
        return self.comparison["sign_agree"]

    @property
    def lg_close(self) -> float:
        return self.comparison["lg_close"]

    @property
    def report(self) -> str:
        return self.comparison["report"]


def _grid(grid, name: str):
    """An (alpha_M values, sigma_w values) pair of 1-D arrays, or an error naming ``name``."""
    if not isinstance(grid, (tuple, list)) or len(grid) != 2:
        raise TypeError(f"{name} must be a pair (alpha_M values, sigma_w values), got "
                        f"{type(grid).__name__}")
    am = _alpha(as_array(grid[0], f"{name}[0]", ndim=1, nonempty=True), f"{name}[0]")
    return am, positive(grid[1], f"{name}[1]", ndim=1, nonempty=True)


def measured_phase_diagrams(alpha_A: float, sigma_A: float, *, n: int, d_angle: int,
                            seeds_angle: int, seed_angle: int, d_gradient: int, depth: int,
                            seeds_gradient: int, seed_gradient: int,
                            grid_angle=PHASE_GRID_ANGLE, grid_gradient=PHASE_GRID_GRADIENT,
                            chunk: int = 16, progress: bool = False, activation: str = "tanh",
                            residual: str = "plain") -> MeasuredPhaseDiagrams:
    """Both :func:`measured_phase_diagram` kinds at fixed α_A: λ_a (one block, projected
    weights, width ``d_angle``) on ``grid_angle`` and λ_g (autograd through ``depth`` full-weight
    blocks, width ``d_gradient``, in chunks of ``chunk`` points) on ``grid_gradient``, each an
    (α_M values, σ_w values) pair, and :func:`compare_phase_diagrams` of both with the theory."""
    (am, sw), (amg, swg) = _grid(grid_angle, "grid_angle"), _grid(grid_gradient, "grid_gradient")
    M = dict(activation=_activation(activation), residual=_residual(residual))
    alpha_A, sigma_A = _scalar(alpha_A, "alpha_A", max=1.0), _scalar(sigma_A, "sigma_A")
    n, depth, chunk = _n_tokens(n), _int(depth, "depth"), _int(chunk, "chunk")
    d_angle, d_gradient = _int(d_angle, "d_angle"), _int(d_gradient, "d_gradient")
    seeds_angle, seeds_gradient = _int(seeds_angle, "seeds_angle"), _int(seeds_gradient, "seeds_gradient")
    seed_angle, seed_gradient = check_seed(seed_angle, "seed_angle"), check_seed(seed_gradient, "seed_gradient")
    progress = check_bool(progress, "progress")
    la = measured_phase_diagram(alpha_A, am, sw, sigma_A, n=n, d=d_angle, seeds=seeds_angle,
                                seed=seed_angle, **M)
    lg = measured_phase_diagram(alpha_A, amg, swg, sigma_A, n=n, d=d_gradient, seeds=seeds_gradient,
                                seed=seed_gradient, kind="gradient", depth=depth, chunk=chunk,
                                progress=progress, **M)
    cmp = compare_phase_diagrams(alpha_A, la, am, sw, lg, amg, swg, depth=depth, n=n, **M)
    return MeasuredPhaseDiagrams(alpha_A=alpha_A, sigma_A=sigma_A, model=M, grid_angle=(am, sw), lambda_a=la,
                                 grid_gradient=(amg, swg), lambda_g=lg, d_angle=d_angle,
                                 seeds_angle=seeds_angle, d_gradient=d_gradient, depth=depth,
                                 seeds_gradient=seeds_gradient, comparison=cmp)


# ---------------------------------------------------------------------------------------------
# Trainability: a synthetic task that needs attention
# ---------------------------------------------------------------------------------------------

def _histogram_targets(x: torch.Tensor) -> torch.Tensor:
    return (x[..., :, None] == x[..., None, :]).sum(-1) - 1


def histogram_task(batch: int, n: int, vocab: int, *, generator=None, device=None):
    """Sequences of n tokens uniform over ``vocab``; target at i: (# of j with x_j = x_i) − 1.

    Solving it needs attention (each output depends on the whole sequence) and no positions
    (the target is permutation-equivariant, like the model, which has no positional code).
    The book's task choice (the paper's task could not be read).
    """
    batch, n, vocab = _int(batch, "batch"), _n_tokens(n), _int(vocab, "vocab")
    generator = _generator(generator)
    check_memory(3 * array_bytes(batch, n, n), f"{batch} sequences of {n} tokens",
                 hint="use a smaller batch")
    x = torch.randint(vocab, (batch, n), generator=generator, device=resolve_device(device))
    return x, _histogram_targets(x)


def _histogram_batch(data_seeds, step: int, batch: int, n: int, vocab: int, stream: int, device):
    """(G, batch, n) sequences, configuration g's from the counter stream of data_seeds[g]."""
    x = counter_words(data_seeds, step, (batch, n), stream, device=device) % vocab
    return x, _histogram_targets(x)


TRAINABILITY_AXES = ("alpha_A", "alpha_M", "sigma_w", "sigma_A", "seed")
#: A sweep may also have an ``alpha`` axis: α_A = α_M = α (the paper's Fig. 4 axes).


def _sweep_values(sweep, fixed: dict) -> dict:
    """Each of TRAINABILITY_AXES per configuration (G,): a sweep axis or a fixed keyword."""
    from theory.core import Sweep

    if not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be a theory.core.Sweep, got {type(sweep).__name__}")
    unknown = set(sweep.dims) - set(TRAINABILITY_AXES) - {"alpha"}
    if unknown:
        raise ValueError(f"the sweep's axes must be among {TRAINABILITY_AXES} or alpha, got "
                         f"{sorted(unknown)}")
    G, out = len(sweep), {}
    if "alpha" in sweep.dims:
        if {"alpha_A", "alpha_M"} & set(sweep.dims) or fixed.get("alpha_A") is not None \
                or fixed.get("alpha_M") is not None:
            raise ValueError("with an alpha axis (alpha_A = alpha_M = alpha) give neither alpha_A "
                             "nor alpha_M")
        out["alpha_A"] = out["alpha_M"] = sweep.column("alpha")
    for name in TRAINABILITY_AXES:
        given = fixed.get(name)
        if name in out:
            continue
        if name in sweep.dims:
            if given is not None:
                raise ValueError(f"{name} is an axis of the sweep; do not also pass {name}=")
            out[name] = sweep.column(name)
        elif given is None:
            raise ValueError(f"{name} must be an axis of the sweep or given as {name}=")
        elif name == "seed":
            out[name] = np.full(G, check_seed(given, "seed"), dtype=np.int64)
        else:
            out[name] = np.full(G, check_scalar(given, name, min=0.0,
                                                max=1.0 if name.startswith("alpha") else None,
                                                include_min=name != "sigma_w"))
    seeds = out["seed"]
    if np.asarray(seeds).dtype.kind != "i":
        raise TypeError(f"the sweep's seed axis must hold ints, got {list(sweep.axes['seed'])}")
    out["seed"] = check_seeds(np.asarray(seeds), "seed")
    return out


def train_transformers(sweep, *, alpha_A=None, alpha_M=None, sigma_w=None, sigma_A=None,
                       seed=None, n: int, d: int, depth: int, vocab: int = 4, steps: int = 300,
                       batch: int = 32, lr: float = 1e-3, test_batch: int = 1024,
                       record_every: int | None = None, activation: str = "tanh",
                       residual: str = "plain", device=None,
                       dtype="float32", progress: bool = False) -> Result:
    """Train one deep transformer per configuration of ``sweep``, all at once, on
    :func:`histogram_task`, with :func:`theory.core.train_batched` (Adam).

    The sweep's axes are among (alpha_A, alpha_M, sigma_w, sigma_A, seed); every other one is
    given as a keyword. The model: embedding E (vocab × d, N(0, 1) entries, so q = 1 at the
    input), the random blocks of :class:`BatchedTransformer` (every weight trained, initialised
    as in the theory), a final LN and a linear readout to the n classes (N(0, 1/d)).
    Cross-entropy on fresh sequences every step; learning rate ``lr``.

    Randomness is per configuration, never per batch: the initial weights of a configuration
    come from ``torch_generator(config_seed("transformer_signal.init", α_A, α_M, σ_w, σ_A,
    seed))``; its training and test sequences from the counter streams of
    ``config_seed("transformer_signal.histogram", seed)`` (so networks of one seed see the same
    sequences: a paired comparison). A configuration trains identically alone and in any batch.

    Returns a :class:`theory.core.Result` labelled by ``sweep``: ``train_loss`` (G, T), the
    cross-entropy of the step's batch at the recorded steps (every ``record_every`` steps,
    default steps // 50), and ``test_loss``, ``test_accuracy`` (G, T) on ``test_batch`` held-out
    sequences, evaluated at the last record only (NaN before it).

    Divergence is a result here, not an error: a configuration whose loss turns non-finite keeps
    its NaN record, and ``res.meta["diverged"]`` (G,) flags it, with the first recorded step at
    which it was non-finite in ``res.meta["diverged_step"]`` (−1 where it stayed finite).
    """
    cfg = _sweep_values(sweep, dict(alpha_A=alpha_A, alpha_M=alpha_M, sigma_w=sigma_w,
                                    sigma_A=sigma_A, seed=seed))
    n, d, depth = _n_tokens(n), _int(d, "d"), _int(depth, "depth")
    vocab, batch, test_batch = _int(vocab, "vocab"), _int(batch, "batch"), _int(test_batch, "test_batch")
    steps = _int(steps, "steps")
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    every = max(1, steps // 50) if record_every is None else _int(record_every, "record_every")
    activation, residual = _activation(activation), _residual(residual)
    progress = check_bool(progress, "progress")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    G = len(sweep)
    itemsize = torch.empty((), dtype=dtype).element_size()
    check_memory(4 * array_bytes(G, depth, 5, d, d, itemsize=itemsize)
                 + 12 * array_bytes(G, max(batch, test_batch), depth + 1, n, d, itemsize=itemsize),
                 f"training {G} transformers of width {d} and depth {depth} on batches of "
                 f"{max(batch, test_batch)}", hint="use a smaller batch, test_batch, width or depth")
    init_seeds = np.array([config_seed("transformer_signal.init", *(float(cfg[k][g]) for k in
                                       TRAINABILITY_AXES[:4]), int(cfg["seed"][g]))
                           for g in range(G)], dtype=np.int64)
    data_seeds = np.array([config_seed("transformer_signal.histogram", int(s)) for s in cfg["seed"]],
                          dtype=np.int64)
    model = BatchedTransformer(cfg["alpha_A"], cfg["alpha_M"], cfg["sigma_w"], cfg["sigma_A"], d=d,
                               depth=depth, activation=activation, residual=residual,
                               seeds=init_seeds, device=device,
                               dtype=dtype)
    emb, out = [], []
    for g in range(G):
        gen = torch_generator(config_seed("transformer_signal.readout", int(init_seeds[g])), device)
        emb.append(torch.randn(vocab, d, generator=gen, dtype=dtype, device=device))
        out.append(torch.randn(d, n, generator=gen, dtype=dtype, device=device) / math.sqrt(d))
    params = {**model.weights, "emb": torch.stack(emb), "out": torch.stack(out)}
    index = torch.arange(G, device=device)[:, None, None]

    def evaluate(P, x, y):
        X = P["emb"][index, x]                                   # (G, batch, n, d)
        h = model.forward(X, weights=P)
        h = math.sqrt(d) * h / h.norm(dim=-1, keepdim=True)
        logits = h.reshape(G, -1, d) @ P["out"]                  # (G, batch·n, classes)
        target = y.reshape(G, -1)
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, n), target.reshape(-1),
                                               reduction="none").reshape(G, -1).mean(-1)
        acc = (logits.argmax(-1) == target).to(dtype).mean(-1)
        return ce, acc

    def loss_fn(P, step):
        x, y = _histogram_batch(data_seeds, step, batch, n, vocab, 0, device)
        return evaluate(P, x, y)[0]

    def metrics(P, step):
        out = {"train_loss": loss_fn(P, step)}
        nan = torch.full((G,), float("nan"), dtype=dtype, device=device)
        if step == steps:
            x, y = _histogram_batch(data_seeds, 0, test_batch, n, vocab, 1, device)
            out["test_loss"], out["test_accuracy"] = evaluate(P, x, y)
        else:
            out["test_loss"], out["test_accuracy"] = nan, nan.clone()
        return out

    res = train_batched(params, steps=steps, lr=lr, loss_fn=loss_fn, optimizer="adam",
                        record=record_steps(steps, every=every), metrics=metrics,
                        progress="training transformers" if progress else False, device=device)
    res = res.with_sweep(sweep)
    diverged, step = _divergence(res)
    res.meta.update(n=n, d=d, depth=depth, vocab=vocab, batch=batch, lr=lr, test_batch=test_batch,
                    activation=activation, residual=residual, dtype=str(dtype),
                    diverged=diverged, diverged_step=step)
    return res


def _divergence(res: Result):
    """Per configuration: whether its training loss turned non-finite (NaN or inf) at a recorded
    step, and the first such step (−1 if none). Divergence is a result of this chapter's
    trainability grid (the chaotic, large-σ_w corner can blow up), so it is flagged, not raised."""
    loss = np.asarray(res["train_loss"], float)
    bad = ~np.isfinite(loss)
    if "test_loss" in res.metrics:
        bad[:, -1] |= ~np.isfinite(np.asarray(res["test_loss"], float)[:, -1])
    diverged = bad.any(1)
    first = np.where(diverged, np.asarray(res.steps)[np.argmax(bad, 1)], -1)
    return diverged, first.astype(np.int64)


@dataclass(frozen=True)
class Trainability:
    """Per (α_M, σ_w) setting, averaged over the sweep's seeds: the exponents at initialisation,
    the distance √(λ_a² + λ_g²) from where both vanish, the final test loss and accuracy, the
    mean training curve (settings, T) at ``steps``; the token-wise baseline; the Spearman
    correlation of the mean loss with distance, and of each seed's loss alone (seeds,); the
    index of the best setting; ``diverged`` (settings,): whether any seed's training turned
    non-finite there (flagged, not raised: divergence is a result of the grid; the correlations
    and the best setting are taken over the settings that did not diverge)."""

    alpha_M: np.ndarray
    sigma_w: np.ndarray
    lambda_a: np.ndarray
    lambda_g: np.ndarray
    distance: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray
    steps: np.ndarray
    train_loss: np.ndarray
    baseline: float
    spearman: float
    spearman_per_seed: np.ndarray
    best: int
    describe: str
    axis: str = "alpha_M"
    diverged: np.ndarray | None = None

    def table(self) -> str:
        name = "α" if self.axis == "alpha" else "α_M"
        rows = [f"{name}={a:.2f} σ_w={s:.1f}: λ_a={la:+.2f} λ_g={lg:+.2f}  test loss {lo:.3f}  "
                f"accuracy {ac:.2f}" for a, s, la, lg, lo, ac in
                zip(self.alpha_M, self.sigma_w, self.lambda_a, self.lambda_g, self.test_loss,
                    self.test_accuracy)]
        rows.append(f"token-wise baseline (marginal of the count): {self.baseline:.3f} nats")
        return "\n".join(rows)


def token_wise_baseline(n: int, vocab: int) -> float:
    """Cross-entropy of the best token-wise predictor: the entropy of the count's marginal law,
    1 + Binomial(n − 1, 1/vocab) (book's derivation: a token alone says nothing about the rest)."""
    from scipy.stats import binom

    n, vocab = _n_tokens(n), _int(vocab, "vocab")
    check_memory(4 * array_bytes(n), f"the count's law over {n} tokens", hint="use a smaller n")
    pk = binom.pmf(np.arange(n), n - 1, 1 / vocab)
    pk = pk[pk > 0]
    return float(-np.sum(pk * np.log(pk)))


def trainability_summary(res: Result, *, alpha_A: float | None = None) -> Trainability:
    """Average a :func:`train_transformers` result over its ``seed`` axis (if any) and set the
    final test loss against the closed-form exponents at initialisation, in the result's own
    model (``res.meta``: activation, residual).

    Axes (alpha_M, sigma_w) at fixed ``alpha_A`` (the book's axes): λ_a and λ_g of
    :func:`~theory.transformer_signal.exact.angle_exponent` and ``gradient_exponent`` at their
    default norms. Axes (alpha, sigma_w) (the paper's, α_A = α_M = α; ``alpha_A`` not given):
    λ_a from the input norm q₀ = 1 and λ_g the finite-depth exponent of the tokens' direction
    through the network's own depth and n (``gradient_exponent_finite_depth``,
    ``normalise=True``: what its final layer norm passes back).
    """
    from theory.transformer_signal.exact import gradient_exponent_finite_depth

    if not isinstance(res, Result) or res.sweep is None:
        raise TypeError("res must be a Result of train_transformers (labelled by its sweep), got "
                        f"{type(res).__name__}")
    missing = {"train_loss", "test_loss", "test_accuracy"} - set(res.metrics)
    if missing or not {"n", "vocab", "depth", "d", "steps"} <= set(res.meta):
        raise ValueError(f"res must be a Result of train_transformers (missing {sorted(missing)} or "
                         "its settings in res.meta)")
    axes = set(res.sweep.dims) - {"seed"}
    if axes not in ({"alpha_M", "sigma_w"}, {"alpha", "sigma_w"}):
        raise ValueError(f"the sweep's axes must be alpha_M or alpha, sigma_w (and seed), got "
                         f"{res.sweep.dims}")
    first = "alpha_M" if "alpha_M" in axes else "alpha"
    if (first == "alpha_M") != (alpha_A is not None):
        raise ValueError("give alpha_A for a sweep over alpha_M, and not for one over alpha")
    m = res.meta
    M = dict(activation=m.get("activation", "tanh"), residual=m.get("residual", "plain"))
    ds = res.to_dataset()
    final = ds["test_loss"].isel(step=-1)
    if "seed" in ds.dims:
        per_seed = final.transpose("seed", first, "sigma_w").values
        ds = ds.mean("seed")
    else:
        per_seed = final.transpose(first, "sigma_w").values[None]
    per_seed = per_seed.reshape(per_seed.shape[0], -1)
    ds = ds.transpose(first, "sigma_w", "step")
    AM, SW = np.meshgrid(ds[first].values, ds["sigma_w"].values, indexing="ij")
    aM, sw = AM.ravel(), SW.ravel()
    if first == "alpha_M":
        alpha_A = check_scalar(alpha_A, "alpha_A", min=0.0, max=1.0)
        la, lg = angle_exponent(alpha_A, aM, sw, **M), gradient_exponent(alpha_A, aM, sw, **M)
    else:
        one = np.ones_like(aM)
        la = angle_exponent(aM, aM, sw, q=one, **M)
        lg = gradient_exponent_finite_depth(aM, aM, sw, m["depth"], m["n"], q0=one,
                                            normalise=True, **M)
    flags, _ = _divergence(res)
    flags = res.sweep.unflatten(flags)
    if "seed" in res.sweep.dims:
        flags = np.moveaxis(flags, res.sweep.dims.index("seed"), -1).any(-1)
        rest = [k for k in res.sweep.dims if k != "seed"]
    else:
        rest = list(res.sweep.dims)
    diverged = np.transpose(flags, [rest.index(first), rest.index("sigma_w")]).ravel()
    loss = ds["test_loss"].values[..., -1].ravel()
    acc = ds["test_accuracy"].values[..., -1].ravel()
    curve = ds["train_loss"].values.reshape(aM.size, -1)
    dist = np.hypot(la, lg)
    ok = ~diverged & np.isfinite(loss)
    seeds = len(res.sweep.axes.get("seed", (None,)))
    describe = f"depth {m['depth']}, width {m['d']}, {m['steps']} steps, {seeds} seed(s)"
    return Trainability(alpha_M=aM, sigma_w=sw, lambda_a=la, lambda_g=lg, distance=dist,
                        test_loss=loss, test_accuracy=acc, steps=res.steps, train_loss=curve,
                        baseline=token_wise_baseline(m["n"], m["vocab"]),
                        spearman=_spearman(dist, loss, ok),
                        spearman_per_seed=np.array([_spearman(dist, row, np.isfinite(row))
                                                    for row in per_seed]),
                        best=int(np.flatnonzero(ok)[np.argmin(loss[ok])]) if ok.any() else -1,
                        describe=describe, axis=first, diverged=diverged)


def _spearman(x, y, keep) -> float:
    """Spearman's correlation over the entries ``keep`` (NaN with fewer than 2 of them)."""
    from scipy.stats import spearmanr

    keep = np.asarray(keep, bool)
    if keep.sum() < 2:
        return float("nan")
    return float(spearmanr(x[keep], y[keep]).statistic)


# ---------------------------------------------------------------------------------------------
# The paper's axes: α = α_A = α_M against σ_w (Fig. 4 as the third-party scripts draw it)
# ---------------------------------------------------------------------------------------------

#: The measured grid on the paper's axes (coarser than the theory's ``PAPER_ALPHA``).
PAPER_GRID = (np.linspace(0.1, 1.0, 6), np.linspace(1.0, 4.0, 6))


@dataclass(frozen=True)
class PaperPhaseMeasurement:
    """Measured exponents on the paper's axes ``alpha`` × ``sigma_w`` (α = α_A = α_M), from the
    scripts' input cloud (q₀ = 1, ρ₀ = 0.99): ``lambda_a`` (one block, projected weights, width
    ``d``, ``seeds_angle`` seeds), ``lambda_g_depth`` (the raw end-to-end Jacobian by autograd
    through ``depth`` full-weight blocks, ``seeds_gradient`` seeds) and ``lambda_g_direction``
    (the same minus (1/L) log(q_L/q_0)); means over seeds, arrays (len(alpha), len(sigma_w))."""

    alpha: np.ndarray
    sigma_w: np.ndarray
    model: dict
    sigma_A: float
    n: int
    d: int
    depth: int
    seeds_angle: int
    seeds_gradient: int
    lambda_a: np.ndarray
    lambda_g_depth: np.ndarray
    lambda_g_direction: np.ndarray


def paper_phase_measurement(alpha, sigma_w, sigma_A: float, *, n: int, d: int, depth: int = 16,
                            seeds_angle: int, seeds_gradient: int, seed: int,
                            activation: str = "tanh", residual: str = "plain", chunk: int = 16,
                            progress: bool = False) -> PaperPhaseMeasurement:
    """λ_a and λ_g measured over the paper's axes (Fig. 4 per the scripts, their Sec. 4.1 and
    Secs. 3.4 & 4.2 measurements): one random block from q₀ = 1, ρ₀ = 0.99 (generator
    ``seed``) and autograd through ``depth`` blocks, the grid in chunks of ``chunk`` points,
    chunk i with generator ``seed + 1 + i``."""
    from theory.core import Sweep

    sweep = Sweep(alpha=as_array(alpha, "alpha", ndim=1, nonempty=True),
                  sigma_w=as_array(sigma_w, "sigma_w", ndim=1, nonempty=True))
    a, sw = sweep.column("alpha"), sweep.column("sigma_w")
    M = dict(activation=_activation(activation), residual=_residual(residual))
    seed, chunk = check_seed(seed, "seed"), _int(chunk, "chunk")
    sigma_A = _scalar(sigma_A, "sigma_A")
    n, d, depth = _n_tokens(n), _int(d, "d"), _int(depth, "depth")
    seeds_angle, seeds_gradient = _int(seeds_angle, "seeds_angle"), _int(seeds_gradient, "seeds_gradient")
    progress = check_bool(progress, "progress")
    _alpha(a, "alpha"), positive(sw, "sigma_w")
    la = measure_angle_exponent(a, a, sw, sigma_A, n=n, d=d, q0=1.0, seeds=seeds_angle, seed=seed,
                                method="projected", **M)
    raw, direction = [], []
    for i in _progress(range(0, len(sweep), chunk), desc="λ_g on the paper's axes",
                       enable=bool(progress)):
        sl = slice(i, i + chunk)
        logs, growth = _gradient_runs(a[sl], a[sl], sw[sl], sigma_A, n=n, d=d, depth=depth,
                                      rho0=0.99, q0=1.0, seeds=seeds_gradient, seed=seed + 1 + i,
                                      chunk=chunk, device=None, dtype=None, **M)
        raw.append(logs[0].mean(1) / depth)
        direction.append((logs[0] - growth).mean(1) / depth)
    return PaperPhaseMeasurement(alpha=sweep.axes["alpha"], sigma_w=sweep.axes["sigma_w"], model=M,
                                 sigma_A=float(sigma_A), n=n, d=d, depth=depth,
                                 seeds_angle=seeds_angle, seeds_gradient=seeds_gradient,
                                 lambda_a=sweep.unflatten(la.mean(1)),
                                 lambda_g_depth=sweep.unflatten(np.concatenate(raw)),
                                 lambda_g_direction=sweep.unflatten(np.concatenate(direction)))
