"""Quasi-homogeneous models with flat float64 parameters and their rates Λ.

A model f(x; θ) is Λ-quasi-homogeneous (the book's reconstruction of the definition; the paper's
text for it could not be read) when, for a diagonal Λ = diag(λ_1, …, λ_P) of non-negative rates,

    f(x; e^{αΛ} θ) = e^{α} f(x; θ)            for every α ∈ R and every input x,

i.e. θ_j → s^{λ_j} θ_j multiplies f by s > 0. A homogeneous network of degree L is the case
Λ = I/L. That the class covers biases, residual connections, pooling and normalisation is the
paper's (introduction); the rates below are the book's derivation (``derivation.py`` proves each
symbolically, ``rates.py`` recovers them numerically from the architecture alone).

Every model here is a :class:`QHModel`: named parameter groups laid out in one flat vector θ ∈ R^P,
a forward ``f(X, theta)`` batched over the leading dimensions of θ, and the rate of every flat
parameter. Three families:

- :func:`mixed_depth` — f = a·x_{:d1} + (u ⊙ v)·x_{d1:d1+d2}: a depth-1 path (rate 1) and a
  depth-2 path (rate ½ for each factor). The book's own toy, not the paper's.
- :func:`mlp` — an L-layer MLP with a positively homogeneous activation and biases:
  W_l → s^{1/L} W_l, b_l → s^{l/L} b_l gives f → s f, so λ(W_l) = 1/L, λ(b_l) = l/L.
- :func:`mlp` with ``norm=True`` — a normalisation without affine parameters before the last
  linear layer makes every earlier parameter scale-invariant (rate 0) and the last layer affine in
  (W_L, b_L): λ(W_L) = λ(b_L) = 1.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from theory.core import array_bytes, check_memory, check_seed, check_scalar, config_seed, torch_generator

__all__ = ["ACTIVATIONS", "NORMS", "QHModel", "mixed_depth", "mlp"]

# Positively homogeneous activations σ(cz) = cσ(z) for c > 0: what keeps an MLP quasi-homogeneous.
ACTIVATIONS = {
    "relu": torch.relu,
    "linear": lambda z: z,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.1),
    "abs": torch.abs,
}
# Normalisations without affine parameters and without ε (an ε would break exact invariance).
NORMS = ("layer", "rms")


def _as_theta(theta, n_params: int, name: str = "theta") -> torch.Tensor:
    if isinstance(theta, np.ndarray):
        if theta.dtype == bool or np.iscomplexobj(theta) or not np.issubdtype(theta.dtype, np.number):
            raise TypeError(f"{name} must hold real numbers, got dtype {theta.dtype}")
        theta = torch.from_numpy(theta)
    if not isinstance(theta, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array of shape (..., {n_params}), "
                        f"got {type(theta).__name__}")
    if not theta.dtype.is_floating_point:
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {theta.dtype}")
    if theta.ndim < 1 or theta.shape[-1] != n_params:
        raise ValueError(f"{name} must have shape (..., {n_params}), got {tuple(theta.shape)}")
    if not bool(torch.isfinite(theta).all()):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return theta


def _as_inputs(X, d_in: int, like: torch.Tensor, name: str = "X") -> torch.Tensor:
    if isinstance(X, np.ndarray):
        if X.dtype == bool or np.iscomplexobj(X) or not np.issubdtype(X.dtype, np.number):
            raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
        X = torch.from_numpy(X)
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array of shape (n, {d_in}), "
                        f"got {type(X).__name__}")
    if X.dtype.is_complex or X.dtype == torch.bool:
        raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[1] != d_in or X.shape[0] == 0:
        raise ValueError(f"{name} must have shape (n, {d_in}) with n >= 1, got {tuple(X.shape)}")
    if not bool(torch.isfinite(X).all()):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return X.to(dtype=like.dtype, device=like.device)


@dataclass(frozen=True, eq=False)
class QHModel:
    """A quasi-homogeneous model with flat parameters θ ∈ R^P and rates Λ = diag(rates).

    ``groups``: ((name, shape), …) in the order they are laid out in θ. ``group_rates``: the rate
    of each group (a dict name → λ ≥ 0). ``forward(params, X)``: the network on the grouped
    parameters (each (..., *shape)) and inputs X (n, d_in), returning (..., n) or (..., n, k).
    ``init_std``: name → standard deviation of each group's entries at ``scale=1``.
    The book's reconstruction: f(x; e^{αΛ}θ) = e^{α} f(x; θ).
    """

    name: str
    groups: tuple
    group_rates: dict
    forward: Callable
    d_in: int
    d_out: int = 1
    init_std: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("name must be a non-empty string")
        groups = tuple((str(n), tuple(int(s) for s in shape)) for n, shape in self.groups)
        if not groups:
            raise ValueError("groups must name at least one parameter group")
        names = [n for n, _ in groups]
        if len(set(names)) != len(names):
            raise ValueError(f"groups must have distinct names, got {names}")
        if any(s <= 0 for _, shape in groups for s in shape):
            raise ValueError(f"groups must have positive shapes, got {groups}")
        if not isinstance(self.group_rates, dict) or set(self.group_rates) != set(names):
            raise ValueError(f"group_rates must give a rate for exactly the groups {names}")
        for n in names:
            r = self.group_rates[n]
            if isinstance(r, bool) or not isinstance(r, numbers.Real) or not np.isfinite(r):
                raise TypeError(f"rates must be finite real numbers, got {r!r} for group {n!r}")
            if r < 0:
                raise ValueError(f"rates must be >= 0 (a diagonal Λ of non-negative rates), got "
                                 f"{r} for group {n!r}")
        if all(self.group_rates[n] == 0 for n in names):
            raise ValueError("rates must not all be 0")
        object.__setattr__(self, "groups", groups)
        object.__setattr__(self, "group_rates", {n: float(self.group_rates[n]) for n in names})

    # --- layout -------------------------------------------------------------------------------
    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(int(np.prod(shape)) for _, shape in self.groups)

    @property
    def n_params(self) -> int:
        return int(sum(self.sizes))

    @property
    def offsets(self) -> dict[str, slice]:
        """name → the slice of θ that holds that group."""
        out, start = {}, 0
        for (n, _), size in zip(self.groups, self.sizes):
            out[n] = slice(start, start + size)
            start += size
        return out

    @property
    def rates(self) -> np.ndarray:
        """(P,) float64: the rate λ_j of every flat parameter, groups in order."""
        return np.concatenate([np.full(size, self.group_rates[n]) for (n, _), size
                               in zip(self.groups, self.sizes)])

    @property
    def lambda_max(self) -> float:
        return float(max(self.group_rates.values()))

    @property
    def max_rate_mask(self) -> np.ndarray:
        """(P,) bool: the parameters of the highest rate λ_max."""
        return self.rates == self.lambda_max

    def unflatten(self, theta) -> dict[str, torch.Tensor]:
        """θ (..., P) → {name: (..., *shape)} (views, no copy)."""
        theta = _as_theta(theta, self.n_params)
        lead = theta.shape[:-1]
        return {n: theta[..., sl].reshape(*lead, *shape)
                for (n, shape), sl in zip(self.groups, self.offsets.values())}

    def flatten(self, params: dict) -> torch.Tensor:
        """{name: (..., *shape)} → θ (..., P), the inverse of :meth:`unflatten`."""
        if not isinstance(params, dict) or set(params) != {n for n, _ in self.groups}:
            raise ValueError(f"params must be a dict with exactly the groups "
                             f"{[n for n, _ in self.groups]}")
        parts = []
        for n, shape in self.groups:
            p = params[n]
            if tuple(p.shape[p.ndim - len(shape):]) != shape:
                raise ValueError(f"params[{n!r}] must end in shape {shape}, got {tuple(p.shape)}")
            parts.append(p.reshape(*p.shape[:p.ndim - len(shape)], -1))
        return torch.cat(parts, dim=-1)

    # --- the network --------------------------------------------------------------------------
    def f(self, X, theta) -> torch.Tensor:
        """f(X; θ): X (n, d_in), θ (..., P) → (..., n) (or (..., n, d_out) when d_out > 1)."""
        theta = _as_theta(theta, self.n_params)
        X = _as_inputs(X, self.d_in, theta)
        out = self.forward(self.unflatten(theta), X)
        return out[..., 0] if self.d_out == 1 else out

    def scale(self, theta, alpha) -> torch.Tensor:
        """ψ_α(θ) = e^{αΛ} θ, the flow along the characteristic curves (α a float or (...,) tensor)."""
        theta = _as_theta(theta, self.n_params)
        lam = torch.as_tensor(self.rates, dtype=theta.dtype, device=theta.device)
        alpha = torch.as_tensor(alpha, dtype=theta.dtype, device=theta.device)
        return theta * torch.exp(alpha[..., None] * lam)

    def seminorm_sq(self, theta) -> torch.Tensor:
        """‖θ‖²_Λ = θᵀΛθ = Σ_j λ_j θ_j² (the book's reconstruction of the Λ-seminorm), (...,)."""
        theta = _as_theta(theta, self.n_params)
        lam = torch.as_tensor(self.rates, dtype=theta.dtype, device=theta.device)
        return (lam * theta**2).sum(-1)

    def init(self, n_seeds: int, *, seed: int, scale: float = 1.0,
             dtype=torch.float64, device=None) -> torch.Tensor:
        """(n_seeds, P) Gaussian draws, group g with std ``scale · init_std[g]``.

        Row i depends only on (seed, i, the model's name and layout), not on ``n_seeds``.
        """
        n_seeds = check_scalar(n_seeds, "n_seeds", kind="int", min=1)
        seed = check_seed(seed, "seed")
        scale = check_scalar(scale, "scale", min=0.0, include_min=False)
        if not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}")
        std = torch.as_tensor(np.concatenate(
            [np.full(size, self.init_std.get(n, 1.0)) for (n, _), size
             in zip(self.groups, self.sizes)]), dtype=dtype)
        rows = []
        for i in range(n_seeds):
            gen = torch_generator(config_seed(seed, i, "qh_init", self.name, self.n_params))
            rows.append(torch.randn(self.n_params, generator=gen, dtype=torch.float64).to(dtype))
        theta = scale * torch.stack(rows) * std
        return theta.to(device) if device is not None else theta

    def __repr__(self) -> str:
        gr = ", ".join(f"{n}{list(s)}:{self.group_rates[n]:.4g}" for n, s in self.groups)
        return f"QHModel({self.name}: {gr})"


# --- mixed depth --------------------------------------------------------------------------------
def mixed_depth(d1: int = 1, d2: int = 1) -> QHModel:
    """f(x; a, u, v) = a·x_{:d1} + (u ⊙ v)·x_{d1:d1+d2}: a depth-1 path and a depth-2 path.

    Rates λ(a) = 1, λ(u) = λ(v) = ½, so f(x; e^{α}a, e^{α/2}u, e^{α/2}v) = e^{α} f. For
    d1 = d2 = 1 this is the book's toy a·x₁ + u·v·x₂ (its own, not the paper's). Inputs have
    d1 + d2 features.
    """
    d1 = check_scalar(d1, "d1", kind="int", min=1, max=10**6)
    d2 = check_scalar(d2, "d2", kind="int", min=1, max=10**6)

    def forward(p, X):
        return (torch.einsum("...d,nd->...n", p["a"], X[:, :d1])
                + torch.einsum("...d,nd->...n", p["u"] * p["v"], X[:, d1:]))[..., None]

    return QHModel(name=f"mixed_depth_{d1}_{d2}", groups=(("a", (d1,)), ("u", (d2,)), ("v", (d2,))),
                   group_rates={"a": 1.0, "u": 0.5, "v": 0.5}, forward=forward, d_in=d1 + d2,
                   init_std={"a": 1.0, "u": 1.0, "v": 1.0})


# --- MLPs ---------------------------------------------------------------------------------------
def _normalise(h: torch.Tensor, kind: str) -> torch.Tensor:
    if kind == "layer":
        h = h - h.mean(-1, keepdim=True)
    return h / torch.sqrt((h**2).mean(-1, keepdim=True))


def mlp(widths, *, bias: bool = True, norm=False, activation: str = "relu") -> QHModel:
    """An L-layer MLP x → W_L σ(… σ(W_1 x + b_1) …) + b_L, with ``widths = (d_in, h_1, …, d_out)``.

    L = len(widths) − 1 linear layers; σ positively homogeneous (``ACTIVATIONS``). Without
    normalisation h_l = σ(W_l h_{l−1} + b_l) scales as s^{l/L} under W_l → s^{1/L} W_l,
    b_l → s^{l/L} b_l, so the rates are λ(W_l) = 1/L, λ(b_l) = l/L (the book's reconstruction;
    ``bias=False``: the homogeneous case Λ = I/L). With ``norm`` (True ≡ ``"layer"``: centre and
    divide by the standard deviation; ``"rms"``: divide by the root mean square; no affine
    parameters, no ε) applied to the last hidden pre-activation, h_{L−1} = σ(N(W_{L−1}h_{L−2} +
    b_{L−1})) — the order of a ResNet's BN → ReLU → pool → linear head; after the activation a
    narrow ReLU layer can be all zero and 0/0 — f is invariant under any
    rescaling of the earlier parameters: their rate is 0, and λ(W_L) = λ(b_L) = 1. ``d_out > 1``
    gives f of shape (..., n, d_out). Weights start N(0, 1/fan_in), biases N(0, 1/fan_in) (times
    ``scale`` in :meth:`QHModel.init`).
    """
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__"):
        raise TypeError(f"widths must be a sequence of ints (d_in, h_1, …, d_out), got "
                        f"{type(widths).__name__}")
    widths = tuple(check_scalar(w, "widths", kind="int", min=1) for w in widths)
    if len(widths) < 2:
        raise ValueError(f"widths must hold at least (d_in, d_out), got {widths}")
    check_memory(4 * array_bytes(sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))),
                 f"an MLP of widths {widths}", hint="reduce widths")
    if not isinstance(bias, bool):
        raise TypeError(f"bias must be a bool, got {type(bias).__name__}")
    if norm is True:
        norm = "layer"
    if norm is not False and norm not in NORMS:
        raise ValueError(f"norm must be False, True or one of {NORMS}, got {norm!r}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)} (positively homogeneous), "
                         f"got {activation!r}")
    if norm == "layer" and len(widths) > 2 and widths[-2] < 2:
        raise ValueError("widths: a layer norm needs at least 2 features before the last layer")
    L = len(widths) - 1
    if norm and L == 1:
        raise ValueError("widths: a normalisation before the last layer needs at least 2 layers")
    sigma = ACTIVATIONS[activation]
    groups, rates, std = [], {}, {}
    for l in range(1, L + 1):
        fan_in = widths[l - 1]
        groups.append((f"W{l}", (widths[l], fan_in)))
        rates[f"W{l}"] = (1.0 if l == L else 0.0) if norm else 1.0 / L
        std[f"W{l}"] = fan_in**-0.5
        if bias:
            groups.append((f"b{l}", (widths[l],)))
            rates[f"b{l}"] = (1.0 if l == L else 0.0) if norm else l / L
            std[f"b{l}"] = fan_in**-0.5

    def forward(p, X):
        h = X
        for l in range(1, L + 1):
            W = p[f"W{l}"]
            h = (torch.einsum("...ij,nj->...ni", W, h) if l == 1
                 else torch.einsum("...ij,...nj->...ni", W, h))
            if bias:
                h = h + p[f"b{l}"][..., None, :]
            if norm and l == L - 1:
                h = _normalise(h, norm)
            if l < L:
                h = sigma(h)
        return h

    name = (f"mlp_{'x'.join(map(str, widths))}_{activation}" + ("_bias" if bias else "")
            + (f"_{norm}norm" if norm else ""))
    return QHModel(name=name, groups=tuple(groups), group_rates=rates, forward=forward,
                   d_in=widths[0], d_out=widths[-1], init_std=std)
