"""Random transformers at initialisation, batched over configurations and seeds (torch).

The model is exactly the one whose mean-field map is :mod:`theory.transformer_signal.exact`
(book's reconstruction of Cowsik et al. 2024, Sec. 2):

    LN(x) = √d x/‖x‖,
    Y  = √(1−α_A²) X + α_A softmax(H W_Qᵀ W_K Hᵀ/√d) H W_Vᵀ,   H = LN(X),
    X' = √(1−α_M²) Y + α_M φ(LN(Y) W_1ᵀ) W_2ᵀ,

W_Q, W_K ~ N(0, σ_A/d), W_V ~ N(0, 1/d), W_1 ~ N(0, σ_w²/d), W_2 ~ N(0, 1/d_ff), d_ff = d,
fresh independent weights in every block. Every configuration (α_A, α_M, σ_w, σ_A) and seed is
one slice of a batch and each block is a handful of ``torch.bmm`` calls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from theory.core import as_array, default_device, positive, positive_int
from theory.transformer_signal.exact import _activation, _alpha, _n_tokens

__all__ = [
    "BatchedTransformer",
    "GeometryTrajectory",
    "TrainingResult",
    "configs_grid",
    "histogram_task",
    "measure_angle_exponent",
    "measure_gradient_exponent",
    "propagate",
    "sample_tokens",
    "token_geometry",
    "train_transformers",
]

_ACT = {"tanh": torch.tanh, "relu": torch.relu,
        "erf": lambda u: torch.erf(u * (math.sqrt(math.pi) / 2))}


def _configs(alpha_A, alpha_M, sigma_w, sigma_A):
    aA = np.atleast_1d(_alpha(alpha_A, "alpha_A"))
    aM = np.atleast_1d(_alpha(alpha_M, "alpha_M"))
    sw = np.atleast_1d(positive(sigma_w, "sigma_w"))
    sA = np.atleast_1d(as_array(sigma_A, "sigma_A"))
    if np.any(sA < 0):
        raise ValueError("sigma_A must be >= 0")
    try:
        return np.broadcast_arrays(aA, aM, sw, sA)
    except ValueError:
        raise ValueError("alpha_A, alpha_M, sigma_w and sigma_A must broadcast to one shape "
                         f"(got sizes {aA.size}, {aM.size}, {sw.size}, {sA.size})") from None


def _with_start(alpha_A, alpha_M, sigma_w, sigma_A, rho0, q0):
    """Configurations and starting (ρ₀, q₀) broadcast together to 1-D arrays of one length."""
    aA, aM, sw, sA = _configs(alpha_A, alpha_M, sigma_w, sigma_A)
    r0 = np.atleast_1d(as_array(rho0, "rho0"))
    qq0 = np.atleast_1d(positive(q0, "q0"))
    try:
        return [np.ascontiguousarray(v) for v in np.broadcast_arrays(aA, aM, sw, sA, r0, qq0)]
    except ValueError:
        raise ValueError("rho0 and q0 must broadcast with the configurations") from None


def configs_grid(alphas, sigma_ws):
    """(α, σ_w) meshgrid flattened: α_A = α_M = α on a row, σ_w on a column (shapes (Na·Ns,))."""
    a, s = np.meshgrid(as_array(alphas, "alphas", ndim=1), as_array(sigma_ws, "sigma_ws", ndim=1),
                       indexing="ij")
    return a.ravel(), s.ravel()


def sample_tokens(batch: int, n: int, d: int, rho, q=1.0, *, generator=None, device=None,
                  dtype=torch.float64) -> torch.Tensor:
    """(batch, n, d) permutation-symmetric cloud x_i = √q(√ρ g + √(1−ρ) z_i), E x_i·x_j/d = qρ."""
    batch, n, d = positive_int(batch, "batch"), _n_tokens(n), positive_int(d, "d")
    rho = as_array(rho, "rho")
    if np.any((rho < 0) | (rho > 1)):
        raise ValueError(f"rho must lie in [0, 1] for this construction, got {rho}")
    q = positive(q, "q")
    device = device or default_device()
    r = torch.as_tensor(np.broadcast_to(rho, (batch,)).copy(), dtype=dtype, device=device)
    qq = torch.as_tensor(np.broadcast_to(q, (batch,)).copy(), dtype=dtype, device=device)
    g = torch.randn(batch, 1, d, generator=generator, dtype=dtype, device=device)
    z = torch.randn(batch, n, d, generator=generator, dtype=dtype, device=device)
    x = r.sqrt()[:, None, None] * g + (1 - r).sqrt()[:, None, None] * z
    return qq.sqrt()[:, None, None] * x


def token_geometry(X: torch.Tensor):
    """(q, p, spread) per batch element: mean ‖x_i‖²/d, mean x_i·x_j/d (i≠j), and the standard
    deviation over pairs of the cosines (0 for an equiangular cloud, a regular simplex)."""
    if not isinstance(X, torch.Tensor) or X.ndim != 3:
        raise TypeError("X must be a torch tensor of shape (batch, n, d)")
    B, n, d = X.shape
    C = X @ X.transpose(-1, -2) / d
    diag = torch.diagonal(C, dim1=-2, dim2=-1)
    off = ~torch.eye(n, dtype=torch.bool, device=X.device)
    q = diag.mean(-1)
    p = C[:, off].mean(-1)
    cos = C / torch.sqrt(diag[:, :, None] * diag[:, None, :])
    return q, p, cos[:, off].std(-1)


class BatchedTransformer:
    """``depth`` random blocks for a batch of configurations (one slice per (config, seed)).

    Weights are drawn at construction (float64 by default) from ``generator``; set
    ``requires_grad=True`` to differentiate or train through them.
    """

    def __init__(self, alpha_A, alpha_M, sigma_w, sigma_A, *, d: int, depth: int,
                 activation: str = "erf", generator=None, device=None, dtype=torch.float64,
                 requires_grad: bool = False):
        aA, aM, sw, sA = _configs(alpha_A, alpha_M, sigma_w, sigma_A)
        self.d, self.depth = positive_int(d, "d"), positive_int(depth, "depth")
        self.activation = _activation(activation)
        device = device or default_device()
        B = aA.size
        t = lambda v: torch.as_tensor(v, dtype=dtype, device=device)[:, None, None]  # noqa: E731
        self.skip_A, self.gain_A = t(np.sqrt(1 - aA**2)), t(aA)
        self.skip_M, self.gain_M = t(np.sqrt(1 - aM**2)), t(aM)
        std = {"W_Q": t(np.sqrt(sA / d)), "W_K": t(np.sqrt(sA / d)),
               "W_V": t(np.full(B, 1 / np.sqrt(d))), "W_1": t(sw / np.sqrt(d)),
               "W_2": t(np.full(B, 1 / np.sqrt(d)))}
        self.layers = []
        for _ in range(self.depth):
            layer = {}
            for name, s in std.items():
                w = torch.randn(B, d, d, generator=generator, dtype=dtype, device=device) * s
                layer[name] = w.requires_grad_(requires_grad)
            self.layers.append(layer)
        self.batch = B

    def parameters(self):
        return [w for layer in self.layers for w in layer.values()]

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

    def forward(self, X: torch.Tensor, *, keep: bool = False):
        """X_L, or the list [X_0, …, X_L] with ``keep=True``."""
        if X.shape[0] != self.batch or X.shape[-1] != self.d:
            raise ValueError(f"X must have shape ({self.batch}, n, {self.d}), got {tuple(X.shape)}")
        xs = [X]
        for layer in self.layers:
            xs.append(self.block(xs[-1], layer))
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

    With T (B, n, d) and the reduced QR Tᵀ = U R (U: d × n, orthonormal columns), T Wᵀ =
    Rᵀ (W U)ᵀ and W U has i.i.d. N(0, std²) entries by rotation invariance: the same law as
    the full product, from n·d normals instead of d².
    """
    U, R = torch.linalg.qr(T.transpose(-1, -2))
    G = torch.randn(T.shape[0], T.shape[-1], T.shape[-2], generator=generator, dtype=T.dtype,
                    device=T.device)
    return R.transpose(-1, -2) @ (std * G).transpose(-1, -2)


def _block_projected(X, cfg, activation: str, generator):
    """One block with fresh weights, every weight sampled through :func:`_random_linear`."""
    aA, aM, sw, sA = cfg
    d = X.shape[-1]
    H = math.sqrt(d) * X / X.norm(dim=-1, keepdim=True)
    qk = (sA / d).sqrt()
    Q, K = _random_linear(H, qk, generator), _random_linear(H, qk, generator)
    A = torch.softmax(Q @ K.transpose(-1, -2) / math.sqrt(d), dim=-1)
    Vv = _random_linear(H, torch.full_like(qk, 1 / math.sqrt(d)), generator)
    Y = (1 - aA**2).sqrt() * X + aA * (A @ Vv)
    H2 = math.sqrt(d) * Y / Y.norm(dim=-1, keepdim=True)
    U = _ACT[activation](_random_linear(H2, sw / math.sqrt(d), generator))
    M = _random_linear(U, torch.full_like(qk, 1 / math.sqrt(d)), generator)
    return (1 - aM**2).sqrt() * Y + aM * M


@torch.no_grad()
def propagate(alpha_A, alpha_M, sigma_w, sigma_A, *, n: int, d: int, depth: int, rho0, q0=1.0,
              seeds: int = 1, seed: int = 0, activation: str = "erf", chunk: int = 64,
              method: str = "projected", device=None, dtype=torch.float64,
              progress: bool = False) -> GeometryTrajectory:
    """Token geometry through ``depth`` random blocks, for each config × ``seeds`` replicates.

    Configurations broadcast to C entries; rho0 and q0 are scalars or (C,). Slices are run in
    batches of ``chunk`` (config, seed) pairs to bound memory.
    ``method="full"`` draws every d × d weight matrix (:class:`BatchedTransformer`);
    ``"projected"`` draws each weight only along the n directions it acts on
    (:func:`_random_linear`): the same law of the forward pass, d/n times fewer random numbers.
    """
    if method not in ("full", "projected"):
        raise ValueError(f"method must be 'full' or 'projected', got {method!r}")
    activation = _activation(activation)
    aA, aM, sw, sA, r0, qq0 = _with_start(alpha_A, alpha_M, sigma_w, sigma_A, rho0, q0)
    C, seeds = aA.size, positive_int(seeds, "seeds")
    depth, chunk = positive_int(depth, "depth"), positive_int(chunk, "chunk")
    r0, qq0 = np.repeat(r0, seeds), np.repeat(qq0, seeds)
    cfg = [np.repeat(v, seeds) for v in (aA, aM, sw, sA)]
    gen = torch.Generator(device=device or default_device()).manual_seed(int(seed))
    out = np.zeros((3, depth + 1, C * seeds))
    slices = list(_chunks(C * seeds, chunk))
    if progress:
        from tqdm.auto import tqdm
        slices = tqdm(slices, desc="random transformers")
    for sl in slices:
        X = sample_tokens(sl.stop - sl.start, n, d, r0[sl], qq0[sl], generator=gen,
                          device=device, dtype=dtype)
        if method == "full":
            model = BatchedTransformer(*(v[sl] for v in cfg), d=d, depth=depth,
                                       activation=activation, generator=gen, device=device,
                                       dtype=dtype)
            xs = model.forward(X, keep=True)
        else:
            c = [torch.as_tensor(v[sl], dtype=dtype, device=X.device)[:, None, None] for v in cfg]
            xs = [X]
            for _ in range(depth):
                xs.append(_block_projected(xs[-1], c, activation, gen))
        for ell, Xl in enumerate(xs):
            out[:, ell, sl] = torch.stack(token_geometry(Xl)).cpu().numpy()
    out = out.reshape(3, depth + 1, C, seeds)
    return GeometryTrajectory(q=out[0], p=out[1], spread=out[2])


def measure_angle_exponent(alpha_A, alpha_M, sigma_w, sigma_A, *, n: int, d: int, rho0=0.99,
                           q0=1.0, seeds: int = 4, seed: int = 0, activation: str = "erf",
                           chunk: int = 64, method: str = "full", device=None,
                           dtype=torch.float64) -> np.ndarray:
    """log[(1 − ρ₁)/(1 − ρ₀)] over one random block, with the realised input ρ₀: (C, seeds).

    Start from ρ₀ close to 1 and q₀ = q* (the collapsed fixed point) to measure λ_a.
    Full d × d weights by default (see :func:`propagate` for ``method``).
    """
    tr = propagate(alpha_A, alpha_M, sigma_w, sigma_A, n=n, d=d, depth=1, rho0=rho0, q0=q0,
                   seeds=seeds, seed=seed, activation=activation, chunk=chunk, method=method,
                   device=device, dtype=dtype)
    return np.log((1 - tr.rho[1]) / (1 - tr.rho[0]))


def measure_gradient_exponent(alpha_A, alpha_M, sigma_w, sigma_A, *, n: int, d: int, depth: int,
                              rho0=0.99, q0=1.0, seeds: int = 2, seed: int = 0,
                              activation: str = "erf", chunk: int = 16, device=None,
                              dtype=torch.float64):
    """λ_g by autograd: (1/L) log(‖∂(X_L·R)/∂X_0‖²_F/‖R‖²_F), R with i.i.d. N(0, 1) entries.

    Returns (lambda_g (C, seeds), log_norms (L+1, C, seeds)) where log_norms[ℓ] is
    log(‖∂(X_L·R)/∂X_ℓ‖²/‖R‖²), the backpropagated squared gradient norm at every layer.
    """
    aA, aM, sw, sA, r0, qq0 = _with_start(alpha_A, alpha_M, sigma_w, sigma_A, rho0, q0)
    C, seeds = aA.size, positive_int(seeds, "seeds")
    depth = positive_int(depth, "depth")
    r0, qq0 = np.repeat(r0, seeds), np.repeat(qq0, seeds)
    cfg = [np.repeat(v, seeds) for v in (aA, aM, sw, sA)]
    gen = torch.Generator(device=device or default_device()).manual_seed(int(seed))
    logs = np.zeros((depth + 1, C * seeds))
    for sl in _chunks(C * seeds, positive_int(chunk, "chunk")):
        X = sample_tokens(sl.stop - sl.start, n, d, r0[sl], qq0[sl], generator=gen,
                          device=device, dtype=dtype)
        model = BatchedTransformer(*(v[sl] for v in cfg), d=d, depth=depth, activation=activation,
                                   generator=gen, device=device, dtype=dtype)
        X.requires_grad_(True)
        xs = model.forward(X, keep=True)
        R = torch.randn(xs[-1].shape, generator=gen, dtype=dtype, device=X.device)
        grads = torch.autograd.grad((xs[-1] * R).sum(), xs[:-1])
        norms = torch.stack([g.pow(2).sum((-2, -1)) for g in grads] + [R.pow(2).sum((-2, -1))])
        logs[:, sl] = (norms / R.pow(2).sum((-2, -1))).log().detach().cpu().numpy()
    logs = logs.reshape(depth + 1, C, seeds)
    return logs[0] / depth, logs


# ---------------------------------------------------------------------------------------------
# Trainability: a synthetic task that needs attention
# ---------------------------------------------------------------------------------------------

def histogram_task(batch: int, n: int, vocab: int, *, generator=None, device=None):
    """Sequences of n tokens uniform over ``vocab``; target at i: (# of j with x_j = x_i) − 1.

    Solving it needs attention (each output depends on the whole sequence) and no positions
    (the target is permutation-equivariant, like the model, which has no positional code).
    """
    batch, n, vocab = positive_int(batch, "batch"), _n_tokens(n), positive_int(vocab, "vocab")
    x = torch.randint(vocab, (batch, n), generator=generator, device=device or default_device())
    y = (x[:, :, None] == x[:, None, :]).sum(-1) - 1
    return x, y


@dataclass(frozen=True)
class TrainingResult:
    """Per configuration: train loss curve (steps, C) and final test loss (C,)."""

    train_loss: np.ndarray
    test_loss: np.ndarray
    test_accuracy: np.ndarray


def train_transformers(alpha_A, alpha_M, sigma_w, sigma_A, *, n: int, d: int, depth: int,
                       vocab: int = 4, steps: int = 300, batch: int = 32, lr: float = 1e-3,
                       test_batch: int = 1024, seed: int = 0, activation: str = "erf",
                       device=None, dtype=torch.float32, progress: bool = False) -> TrainingResult:
    """Train one deep transformer per configuration, all at once, on :func:`histogram_task`.

    Embedding E (vocab × d, N(0, 1) entries, so q = 1 at the input), the random blocks above
    (every weight trained, initialised as in the theory), a final LN and a linear readout to
    the n classes (N(0, 1/d)). Adam with learning rate ``lr`` (elementwise, hence exactly the
    per-configuration optimiser though the parameters are batched); cross-entropy; fresh
    sequences every step; test loss on ``test_batch`` held-out sequences.
    """
    steps = positive_int(steps, "steps")
    lr = float(positive(lr, "lr"))
    device = device or default_device()
    gen = torch.Generator(device=device).manual_seed(int(seed))
    model = BatchedTransformer(alpha_A, alpha_M, sigma_w, sigma_A, d=d, depth=depth,
                               activation=activation, generator=gen, device=device, dtype=dtype,
                               requires_grad=True)
    B = model.batch
    emb = torch.randn(B, vocab, d, generator=gen, dtype=dtype, device=device).requires_grad_(True)
    out = (torch.randn(B, d, n, generator=gen, dtype=dtype, device=device) / math.sqrt(d))
    out.requires_grad_(True)
    params = model.parameters() + [emb, out]
    opt = torch.optim.Adam(params, lr=lr)

    def loss_fn(x, y):
        X = emb[:, x]                                          # (B, batch, n, d)
        h = model.forward(X)
        h = math.sqrt(d) * h / h.norm(dim=-1, keepdim=True)
        logits = h.reshape(B, -1, d) @ out                     # (B, batch·n, classes)
        target = y.reshape(1, -1).expand(B, -1)
        ce = torch.nn.functional.cross_entropy(logits.reshape(-1, n), target.reshape(-1),
                                               reduction="none").reshape(B, -1).mean(-1)
        acc = (logits.argmax(-1) == target).to(dtype).mean(-1)
        return ce, acc

    curve = np.zeros((steps, B))
    it = range(steps)
    if progress:
        from tqdm.auto import tqdm
        it = tqdm(it, desc="training")
    for step in it:
        x, y = histogram_task(batch, n, vocab, generator=gen, device=device)
        ce, _ = loss_fn(x, y)
        opt.zero_grad()
        ce.sum().backward()
        opt.step()
        curve[step] = ce.detach().cpu().numpy()
    test_gen = torch.Generator(device=device).manual_seed(10_000 + int(seed))
    with torch.no_grad():
        x, y = histogram_task(test_batch, n, vocab, generator=test_gen, device=device)
        ce, acc = loss_fn(x, y)
    return TrainingResult(train_loss=curve, test_loss=ce.cpu().numpy(),
                          test_accuracy=acc.cpu().numpy())
