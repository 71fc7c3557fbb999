"""Simulations for stochastic collapse (Chen, Kunin, Yamamura, Ganguli 2023), batched in torch.

Every simulator here is vectorised over paths (and over noise levels or learning rates): the
only Python loop is over time steps.

- :func:`euler_maruyama`: a generic batched Euler–Maruyama integrator for dX = b(X)dt + G(X)dW;
- :func:`simulate_prototype`: the quartic well of the paper's Fig. 1 over a grid of ζ;
- :func:`label_noise_sgd`: discrete label-noise SGD on the modes of a diagonal linear network
  (the paper's Fig. 5 teacher–student), batched over modes, noise levels and seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from theory.core import (array_bytes, as_array, check_bool, check_finite_state, check_memory,
                         check_scalar, check_seed, non_negative, progress as _progress,
                         record_steps, resolve_device, resolve_dtype, torch_generator)
from theory.stochastic_collapse.exact import _paired_xy

__all__ = ["Paths", "euler_maruyama", "label_noise_sgd", "simulate_prototype", "tanh_neuron_sde",
           "tanh_neuron_sgd", "linearise", "measured_exponent", "mlp_per_sample_grads",
           "tanh_neuron_fields", "invariant_set_normals", "mlp_on_invariant_sets",
           "label_noise_summary", "pathwise_errors", "sgd_on_invariant_sets"]


@dataclass(frozen=True)
class Paths:
    """Recorded paths: t (T,), x (..., T) or (..., T, d), and the Brownian paths W if kept.

    ``diverged``: for the simulators where a blown-up path is a result rather than an error
    (:func:`tanh_neuron_sgd`), the step at which each path was first found non-finite, −1 for
    the paths that stayed finite (shape x's leading axes); None elsewhere.
    """

    t: np.ndarray
    x: np.ndarray
    W: np.ndarray | None = None
    diverged: np.ndarray | None = None


_CHECK_EVERY = 64   # divergence is looked for at every record and at least every 64 steps


def _callable(fn, name: str):
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    return fn


def _rates(x, name: str) -> np.ndarray:
    """A scalar or 1-D, non-empty array of values >= 0 (noise levels, learning rates) as (n,)."""
    return np.atleast_1d(non_negative(x, name, ndim=(0, 1), nonempty=True))


def _check_records(n_rows: int, n_rec: int, copies: int, what: str) -> None:
    """Refuse a run whose recorded paths (n_rows × n_rec float64, ``copies`` of them) do not fit."""
    check_memory(array_bytes(n_rows, n_rec) * copies, what,
                 hint="record less often (record_every) or simulate fewer paths")


def _show(progress, steps: int) -> bool:
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be None or a bool, got {type(progress).__name__}")
    return steps >= 10_000 if progress is None else progress


def euler_maruyama(drift, diffusion, x0: torch.Tensor, *, dt: float, steps: int,
                   record_every: int = 1, generator: torch.Generator | None = None,
                   keep_brownian: bool = False, progress: bool | None = None) -> Paths:
    """Integrate dX = b(X)dt + G(X)dW for a batch of paths at once.

    ``x0`` (P, d); ``drift(x)`` → (P, d); ``diffusion(x)`` → (P, d, k). One Gaussian increment
    of shape (P, k) per step. Recorded at :func:`theory.core.record_steps` (``steps``,
    every=``record_every``): step 0, every ``record_every``-th step and the last. With
    ``keep_brownian`` the recorded Brownian paths W (P, T, k) are returned too (on the recording
    grid), for pathwise comparison with exact solutions. ``progress``: a bar over the steps
    (None: when there are at least 10 000).
    """
    _callable(drift, "drift")
    _callable(diffusion, "diffusion")
    if not isinstance(x0, torch.Tensor):
        raise TypeError(f"x0 must be a 2-D torch tensor (paths, dimension), got "
                        f"{type(x0).__name__}")
    if x0.dim() != 2 or not x0.dtype.is_floating_point or x0.numel() == 0:
        raise ValueError(f"x0 must be a non-empty 2-D floating-point tensor (paths, dimension), "
                         f"got shape {tuple(x0.shape)} and dtype {x0.dtype}")
    if not bool(torch.isfinite(x0).all()):
        raise ValueError("x0 must be finite (no NaN or inf)")
    dt = check_scalar(dt, "dt", min=0.0, include_min=False)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    record_every = check_scalar(record_every, "record_every", kind="int", min=1)
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be None or a torch.Generator, got "
                        f"{type(generator).__name__}")
    keep_brownian = check_bool(keep_brownian, "keep_brownian")
    show = _show(progress, steps)
    rec_steps = record_steps(steps, every=record_every)
    rec = set(rec_steps.tolist())
    x = x0.clone()
    P, d = x.shape
    b0, g0 = drift(x), diffusion(x)
    if not isinstance(b0, torch.Tensor) or tuple(b0.shape) != (P, d):
        raise ValueError(f"drift(x) must return a tensor of the shape of x0 {(P, d)}, got "
                         f"{tuple(getattr(b0, 'shape', ())) or type(b0).__name__}")
    if not isinstance(g0, torch.Tensor) or g0.dim() != 3 or tuple(g0.shape[:2]) != (P, d):
        raise ValueError(f"diffusion(x) must return a tensor (paths, dimension, noises) = "
                         f"{(P, d)} + (k,), got "
                         f"{tuple(getattr(g0, 'shape', ())) or type(g0).__name__}")
    k = g0.shape[-1]
    _check_records(P * (d + (k if keep_brownian else 0)), rec_steps.size, 2,
                   f"Euler–Maruyama on {P} paths with {rec_steps.size} records")
    W = torch.zeros(x.shape[0], k, dtype=x.dtype, device=x.device)
    rec_x, rec_w, rec_t = [x.clone()], [W.clone()], [0.0]
    sq = dt**0.5
    for n in _progress(range(1, steps + 1), desc="Euler–Maruyama", enable=show):
        dW = torch.randn(x.shape[0], k, dtype=x.dtype, device=x.device, generator=generator) * sq
        x = x + drift(x) * dt + torch.einsum("pdk,pk->pd", diffusion(x), dW)
        W = W + dW
        if n in rec or n % _CHECK_EVERY == 0:
            check_finite_state(x, what="Euler–Maruyama", step=n,
                               hint="reduce dt (more steps) or the scale of the drift and noise")
        if n in rec:
            rec_x.append(x.clone())
            rec_w.append(W.clone())
            rec_t.append(n * dt)
    xs = torch.stack(rec_x, dim=1).cpu().numpy()
    ws = torch.stack(rec_w, dim=1).cpu().numpy() if keep_brownian else None
    return Paths(t=np.array(rec_t), x=xs, W=ws)


def simulate_prototype(mu: float, zetas, *, n_paths: int, T: float, steps: int, theta0,
                       record_every: int = 1, seed: int = 0, device=None, dtype=None,
                       keep_brownian: bool = False, progress: bool | None = None) -> Paths:
    """Euler–Maruyama for dθ = −(θ³ − μθ)dt + ζθ dW, batched over ζ (Z,) and paths (P).

    ``theta0`` is a scalar or (P,) array of starting points, shared by every ζ. The noise comes
    from one generator (:func:`theory.core.torch_generator` of ``seed``) on ``device``
    (:func:`theory.core.resolve_device`); ``dtype`` float64 unless given. Returns ``Paths`` with
    x of shape (Z, P, T_rec) (and W of the same shape when kept).
    """
    mu = check_scalar(mu, "mu")
    zetas = _rates(zetas, "zetas")
    n_paths = check_scalar(n_paths, "n_paths", kind="int", min=1)
    T = check_scalar(T, "T", min=0.0, include_min=False)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    record_every = check_scalar(record_every, "record_every", kind="int", min=1)
    theta0 = as_array(theta0, "theta0", ndim=(0, 1))
    if theta0.ndim == 1 and theta0.shape != (n_paths,):
        raise ValueError(f"theta0 must be a scalar or have shape (n_paths,) = ({n_paths},), got "
                         f"{theta0.shape}")
    theta0 = np.broadcast_to(theta0, (n_paths,))
    seed = check_seed(seed, "seed")
    keep_brownian = check_bool(keep_brownian, "keep_brownian")
    _show(progress, steps)
    n_rec = record_steps(steps, every=record_every).size
    _check_records(zetas.size * n_paths, n_rec, 4 if keep_brownian else 2,
                   f"simulate_prototype with {zetas.size} × {n_paths} paths and {n_rec} records")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    gen = torch_generator(seed, device)
    Z = zetas.size
    z = torch.tensor(np.repeat(zetas, n_paths), dtype=dtype, device=device)[:, None]
    x0 = torch.tensor(np.tile(theta0, Z), dtype=dtype, device=device)[:, None]

    def drift(x):
        return -(x**3 - mu * x)

    def diffusion(x):
        return (z * x)[:, :, None]

    paths = euler_maruyama(drift, diffusion, x0, dt=T / steps, steps=steps,
                           record_every=record_every, generator=gen, keep_brownian=keep_brownian,
                           progress=progress)
    x = paths.x[..., 0].reshape(Z, n_paths, -1)
    W = paths.W[..., 0].reshape(Z, n_paths, -1) if keep_brownian else None
    return Paths(t=paths.t, x=x, W=W)


def label_noise_sgd(s_target, eta: float, sigmas, *, steps: int, n_seeds: int, init: float = 1e-2,
                    record_every: int = 100, seed: int = 0, lr_drop: tuple[int, float] | None = None,
                    device=None, dtype=None, progress: bool | None = None) -> Paths:
    """Discrete label-noise SGD on the modes of a diagonal linear network (paper, Fig. 5).

    Mode j has s_j = u_j v_j and loss ½(u_j v_j − s_target_j + ξ)², with ξ ~ N(0, σ²) drawn
    afresh at every step: u ← u − η v r, v ← v − η u r, r = uv − s_target + ξ. Batched over
    noise levels σ (S,), seeds (n_seeds) and modes (M,); starts at u, v ~ N(0, init²)
    independently (u = v exactly would stay balanced forever and could not reach s < 0).
    ``lr_drop=(step, factor)`` multiplies the learning rate by ``factor`` from that step on
    (the official run drops it ×0.1 at 50k of 60k steps). Returns ``Paths`` with x = s of shape
    (S, n_seeds, M, T_rec) and t the elapsed time Σ η over steps, recorded at
    :func:`theory.core.record_steps` (``steps``, every=``record_every``). One generator
    (:func:`theory.core.torch_generator` of ``seed``) draws the start and the noise.
    """
    s_target = np.atleast_1d(as_array(s_target, "s_target", ndim=(0, 1), nonempty=True))
    eta = check_scalar(eta, "eta", min=0.0, include_min=False)
    sigmas = _rates(sigmas, "sigmas")
    steps = check_scalar(steps, "steps", kind="int", min=1)
    n_seeds = check_scalar(n_seeds, "n_seeds", kind="int", min=1)
    record_every = check_scalar(record_every, "record_every", kind="int", min=1)
    init = check_scalar(init, "init", min=0.0, include_min=False)
    seed = check_seed(seed, "seed")
    if lr_drop is not None:
        if not isinstance(lr_drop, tuple) or len(lr_drop) != 2:
            raise TypeError(f"lr_drop must be None or a pair (step, factor), got {lr_drop!r}")
        drop_step = check_scalar(lr_drop[0], "lr_drop[0] (the step)", kind="int", min=1)
        factor = check_scalar(lr_drop[1], "lr_drop[1] (the factor)", min=0.0, include_min=False)
    show = _show(progress, steps)
    rec_steps = record_steps(steps, every=record_every)
    rec_at = set(rec_steps.tolist())
    _check_records(sigmas.size * n_seeds * s_target.size, rec_steps.size, 2,
                   f"label_noise_sgd with {sigmas.size} × {n_seeds} × {s_target.size} modes and "
                   f"{rec_steps.size} records")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    gen = torch_generator(seed, device)
    S, M = sigmas.size, s_target.size
    target = torch.tensor(s_target, dtype=dtype, device=device)
    sig = torch.tensor(sigmas, dtype=dtype, device=device)[:, None, None]
    u = torch.randn(S, n_seeds, M, dtype=dtype, device=device, generator=gen) * init
    v = torch.randn(S, n_seeds, M, dtype=dtype, device=device, generator=gen) * init
    rec, t, elapsed, lr = [u * v], [0.0], 0.0, eta
    for n in _progress(range(1, steps + 1), desc="label-noise SGD", enable=show):
        if lr_drop is not None and n == drop_step + 1:
            lr = eta * factor
        xi = torch.randn(S, n_seeds, M, dtype=dtype, device=device, generator=gen) * sig
        r = u * v - target + xi
        u, v = u - lr * v * r, v - lr * u * r
        elapsed += lr
        if n in rec_at or n % _CHECK_EVERY == 0:
            check_finite_state(u * v, what="label-noise SGD", step=n,
                               hint="reduce the learning rate eta (or init, or the noise)")
        if n in rec_at:
            rec.append(u * v)
            t.append(elapsed)
    return Paths(t=np.array(t), x=torch.stack(rec, dim=-1).cpu().numpy())


def measured_exponent(t, log_norm) -> tuple[np.ndarray, np.ndarray]:
    """Lyapunov exponent measured from paths: the least-squares slope of log‖θ_t‖ against t for
    each path, averaged over paths. ``log_norm`` (..., P, T) → (slope, standard error), (...)."""
    t = as_array(t, "t", ndim=1)
    if np.unique(t).size < 2:
        raise ValueError(f"t must hold at least two distinct times (a slope), got {t.size} value(s)")
    log_norm = as_array(log_norm, "log_norm", min_ndim=2, nonempty=True)
    if log_norm.shape[-1] != t.size:
        raise ValueError(f"log_norm must have last dimension len(t) = {t.size}, got "
                         f"{log_norm.shape}")
    per_path = np.polyfit(t, log_norm.reshape(-1, t.size).T, 1)[0].reshape(log_norm.shape[:-1])
    n = per_path.shape[-1]
    return per_path.mean(-1), per_path.std(-1) / np.sqrt(n)


def tanh_neuron_fields(x, y, eta: float = 1.0, zeta: float = 1.0):
    """(drift, noise) of the paper's Fig. 2 SDE for one parameter vector w = (w₁, w₂), as torch
    functions for :func:`linearise`: drift −∇L with L = (1/2m)Σ(w₂tanh(w₁x_i) − y_i)², noise
    columns √(η/m) ζ ∇_w f(x_i) (2, m). :func:`tanh_neuron_sde` integrates the same fields."""
    x, y = _paired_xy(x, y)
    eta = check_scalar(eta, "eta", min=0.0)
    zeta = check_scalar(zeta, "zeta", min=0.0)
    X, Y = torch.tensor(x), torch.tensor(y)
    scale = (eta * zeta**2 / x.size) ** 0.5

    def drift(w):
        th = torch.tanh(w[0] * X)
        r = w[1] * th - Y
        return -torch.stack([(r * w[1] * (1 - th**2) * X).mean(), (r * th).mean()])

    def noise(w):
        th = torch.tanh(w[0] * X)
        return scale * torch.stack([w[1] * (1 - th**2) * X, th])

    return drift, noise


def tanh_neuron_sde(x, y, etas, *, zeta: float, n_paths: int, T: float, dt: float,
                    init_std: float = 1e-3, record_every: int = 100, seed: int = 0, device=None,
                    dtype=None, progress: bool | None = None) -> Paths:
    """The SDE of the paper's Fig. 2 for f(x) = w₂ tanh(w₁x), batched over η (E,) and paths.

    dw = −∇L dt + Σ_i (√η ζ/√m) ∇_w f(x_i) dW_i with L = (1/2m)Σ(f(x_i) − y_i)²: gradient flow
    plus label-noise-type diffusion, one Brownian motion per sample (as in the official code).
    Starts at w ~ N(0, init_std² I). Returns x of shape (E, P, T_rec, 2).
    """
    x, y = _paired_xy(x, y)
    etas = _rates(etas, "etas")
    zeta = check_scalar(zeta, "zeta", min=0.0)
    n_paths = check_scalar(n_paths, "n_paths", kind="int", min=1)
    T = check_scalar(T, "T", min=0.0, include_min=False)
    dt = check_scalar(dt, "dt", min=0.0, include_min=False)
    if dt > T:
        raise ValueError(f"dt must be <= T = {T:g} (at least one step), got dt = {dt:g}")
    init_std = check_scalar(init_std, "init_std", min=0.0)
    record_every = check_scalar(record_every, "record_every", kind="int", min=1)
    seed = check_seed(seed, "seed")
    _show(progress, 1)
    check_memory(array_bytes(etas.size * n_paths, x.size) * 6,
                 f"tanh_neuron_sde with {etas.size} × {n_paths} paths and {x.size} samples",
                 hint="simulate fewer paths")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    gen = torch_generator(seed, device)
    E, m = etas.size, x.size
    X = torch.tensor(x, dtype=dtype, device=device)
    Y = torch.tensor(y, dtype=dtype, device=device)
    scale = torch.tensor(np.repeat(np.sqrt(etas) * zeta / np.sqrt(m), n_paths), dtype=dtype,
                         device=device)[:, None]
    w0 = torch.randn(E * n_paths, 2, dtype=dtype, device=device, generator=gen) * init_std

    def drift(w):
        pre = w[:, :1] * X                     # (P, m)
        th = torch.tanh(pre)
        r = w[:, 1:] * th - Y
        g1 = (r * w[:, 1:] * (1 - th**2) * X).mean(-1)
        g2 = (r * th).mean(-1)
        return -torch.stack([g1, g2], dim=-1)

    def diffusion(w):
        th = torch.tanh(w[:, :1] * X)
        cols = torch.stack([w[:, 1:] * (1 - th**2) * X, th], dim=1)  # (P, 2, m) = ∇_w f(x_i)
        return scale[:, :, None] * cols

    paths = euler_maruyama(drift, diffusion, w0, dt=dt, steps=max(1, int(round(T / dt))),
                           record_every=record_every, generator=gen, progress=progress)
    return Paths(t=paths.t, x=paths.x.reshape(E, n_paths, -1, 2))


def tanh_neuron_sgd(x, y, etas, *, zeta: float, n_paths: int, steps: int, batch_size: int = 1,
                    init_std: float = 1e-3, record_every: int = 100, seed: int = 0, device=None,
                    dtype=None, progress: bool | None = None) -> Paths:
    """Real minibatch SGD with label noise on f(x) = w₂ tanh(w₁x), batched over η and paths.

    Each step draws ``batch_size`` samples uniformly (with replacement), adds label noise
    ξ ~ N(0, ζ²) to their targets, and steps w ← w − η ∇ ½ mean (f(x_i) − y_i − ξ_i)².
    Time is t = step × η. Returns x of shape (E, P, T_rec, 2).

    A path that blows up (inf or NaN: large η with large label noise) is a result here, not an
    error (``single_neuron.ipynb`` counts such paths as not collapsed): it stays non-finite and
    ``Paths.diverged`` (E, P) gives the step at which it was found so (checked at every record
    and every 64 steps), −1 for the paths that stayed finite.
    """
    x, y = _paired_xy(x, y)
    etas = _rates(etas, "etas")
    zeta = check_scalar(zeta, "zeta", min=0.0)
    n_paths = check_scalar(n_paths, "n_paths", kind="int", min=1)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    batch_size = check_scalar(batch_size, "batch_size", kind="int", min=1)
    record_every = check_scalar(record_every, "record_every", kind="int", min=1)
    init_std = check_scalar(init_std, "init_std", min=0.0)
    seed = check_seed(seed, "seed")
    show = _show(progress, steps)
    rec_steps = record_steps(steps, every=record_every)
    rec_at = set(rec_steps.tolist())
    check_memory(array_bytes(etas.size * n_paths, 2 * rec_steps.size + 8 * batch_size) * 2,
                 f"tanh_neuron_sgd with {etas.size} × {n_paths} paths, batch {batch_size} and "
                 f"{rec_steps.size} records", hint="simulate fewer paths or record less often")
    device, dtype = resolve_device(device), resolve_dtype(dtype)
    gen = torch_generator(seed, device)
    E, m = etas.size, x.size
    P = E * n_paths
    X = torch.tensor(x, dtype=dtype, device=device)
    Y = torch.tensor(y, dtype=dtype, device=device)
    lr = torch.tensor(np.repeat(etas, n_paths), dtype=dtype, device=device)
    w = torch.randn(P, 2, dtype=dtype, device=device, generator=gen) * init_std
    rec, t = [w.clone()], [0]
    first_bad = torch.full((P,), -1, dtype=torch.int64, device=device)
    for n in _progress(range(1, steps + 1), desc="tanh-neuron SGD", enable=show):
        idx = torch.randint(0, m, (P, batch_size), device=device, generator=gen)
        xb, yb = X[idx], Y[idx] + zeta * torch.randn(P, batch_size, dtype=dtype, device=device,
                                                         generator=gen)
        th = torch.tanh(w[:, :1] * xb)
        r = w[:, 1:] * th - yb
        g = torch.stack([(r * w[:, 1:] * (1 - th**2) * xb).mean(-1), (r * th).mean(-1)], dim=-1)
        w = w - lr[:, None] * g
        if n in rec_at or n % _CHECK_EVERY == 0:             # flag, do not raise (see above)
            bad = ~torch.isfinite(w).all(-1) & (first_bad < 0)
            first_bad = torch.where(bad, torch.full_like(first_bad, n), first_bad)
        if n in rec_at:
            rec.append(w.clone())
            t.append(n)
    return Paths(t=np.array(t, dtype=float),
                 x=torch.stack(rec, dim=1).cpu().numpy().reshape(E, n_paths, -1, 2),
                 diverged=first_bad.cpu().numpy().reshape(E, n_paths))


def linearise(drift, noise, theta_star, normal) -> tuple[np.ndarray, np.ndarray]:
    """Linearise an SDE dθ = b(θ)dt + G(θ)dW at a point θ* of an invariant set.

    ``drift(θ)`` → (d,), ``noise(θ)`` → (d, K) torch functions; ``normal`` (d, r) an orthonormal
    basis of the directions normal to the set. Returns A = Nᵀ ∂b N (r, r) — for b = −∇L this is
    minus the Hessian normal to the set — and C (K, r, r) with C_k = Nᵀ ∂G[:, k] N, the
    linearised noise columns (for SGD, the per-sample gradients' normal parts). Uses autograd.
    """
    _callable(drift, "drift")
    _callable(noise, "noise")
    theta_star = torch.as_tensor(as_array(theta_star, "theta_star", ndim=1, nonempty=True),
                                 dtype=torch.float64)
    N = torch.as_tensor(as_array(normal, "normal", ndim=2, nonempty=True), dtype=torch.float64)
    if N.shape[0] != theta_star.shape[0]:
        raise ValueError(f"normal must have shape (d, r) with d = len(theta_star) = "
                         f"{theta_star.shape[0]}, got {tuple(N.shape)}")
    Jb = torch.autograd.functional.jacobian(drift, theta_star)            # (d, d)
    JG = torch.autograd.functional.jacobian(noise, theta_star)            # (d, K, d)
    A = N.T @ Jb @ N
    C = torch.einsum("ia,ikj,jb->kab", N, JG, N)
    return A.numpy(), C.numpy()


def mlp_per_sample_grads(params: dict, X, y, activation=torch.tanh) -> dict:
    """Per-sample gradients of ½(f(x) − y)² for a 2-hidden-layer MLP, with ``torch.func``.

    ``params`` holds W1 (h, d), b1 (h,), W2 (h, h), b2 (h,), W3 (1, h), b3 (1,) as float64
    tensors; returns the same keys with a leading sample axis (n, ...).
    """
    _check_params(params)
    _callable(activation, "activation")
    X, y = _data(X, y, params)
    return _per_sample_grads(params, X, y, activation)


def _per_sample_grads(params: dict, X: torch.Tensor, y: torch.Tensor, activation=torch.tanh):
    """:func:`mlp_per_sample_grads` on validated float64 tensors (no checks: the SGD loop)."""
    from torch.func import grad, vmap

    def loss(p, xi, yi):
        h1 = activation(p["W1"] @ xi + p["b1"])
        h2 = activation(p["W2"] @ h1 + p["b2"])
        return 0.5 * ((p["W3"] @ h2 + p["b3"])[0] - yi) ** 2

    return vmap(grad(loss), in_dims=(None, 0, 0))(params, X, y)


_PARAM_KEYS = ("W1", "b1", "W2", "b2", "W3", "b3")


def _check_params(params) -> None:
    """``params`` as :func:`mlp_per_sample_grads` needs them, or an error naming ``params``."""
    if not isinstance(params, dict) or set(params) != set(_PARAM_KEYS):
        raise TypeError(f"params must be a dict with the keys {_PARAM_KEYS} (float64 tensors), "
                        f"got {type(params).__name__}"
                        + (f" with keys {sorted(params)}" if isinstance(params, dict) else ""))
    for k in _PARAM_KEYS:
        if not isinstance(params[k], torch.Tensor) or not params[k].dtype.is_floating_point:
            raise TypeError(f"params[{k!r}] must be a floating-point torch tensor")
    h1, d = params["W1"].shape if params["W1"].dim() == 2 else (None, None)
    ok = (h1 is not None and params["b1"].shape == (h1,) and params["W2"].dim() == 2
          and params["W2"].shape[1] == h1 and params["b2"].shape == params["W2"].shape[:1]
          and params["W3"].shape == (1, params["W2"].shape[0]) and params["b3"].shape == (1,))
    if not ok:
        raise ValueError("params must hold W1 (h, d), b1 (h,), W2 (h2, h), b2 (h2,), W3 (1, h2), "
                         "b3 (1,)")


def _data(X, y, params) -> tuple[torch.Tensor, torch.Tensor]:
    """X (n, d) and y (n,) as float64 tensors matching ``params`` (d = W1's input size)."""
    X = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else X
    y = y.detach().cpu().numpy() if isinstance(y, torch.Tensor) else y
    X = as_array(X, "X", ndim=2, nonempty=True)
    y = as_array(y, "y", ndim=1, nonempty=True)
    d = params["W1"].shape[1]
    if X.shape[1] != d:
        raise ValueError(f"X must have shape (n, d) with d = {d} (params['W1']), got {X.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have shape (n,) = ({X.shape[0]},) like X, got {y.shape}")
    return torch.as_tensor(X, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)


# --------------------------------------------------------------------------------------------
# Invariant sets of an MLP (book/stochastic_collapse/invariant_sets.ipynb)
# --------------------------------------------------------------------------------------------

VANISH_NEURON = 3          # neuron of hidden layer 1 put on the vanishing set
TWIN_NEURONS = (5, 9)      # neurons of hidden layer 2 put on the identical-neuron set (9 := 5)


def mlp_on_invariant_sets(*, n: int = 64, d: int = 8, h: int = 16, seed: int = 0):
    """Random data and a two-hidden-layer MLP d → h → h → 1 (float64) placed on two invariant
    sets (Chen et al. 2023, Sec. 3): neuron 3 of layer 1 vanishes (its incoming weights, bias
    and outgoing weights are 0) and neuron 9 of layer 2 is a copy of neuron 5.

    Draws, in this order from :func:`theory.core.torch_generator` (``seed``): X (n, d), y (n,),
    then W1, b1, W2, b2, W3, b3 with entries N(0, 1)/√fan. Returns (params, X, y), params in
    the layout of :func:`mlp_per_sample_grads`.
    """
    from theory.core import check_scalar, torch_generator

    n = check_scalar(n, "n", kind="int", min=1)
    d = check_scalar(d, "d", kind="int", min=1)
    h = check_scalar(h, "h", kind="int", min=max(TWIN_NEURONS) + 1)
    gen = torch_generator(check_seed(seed, "seed"))
    X = torch.randn(n, d, dtype=torch.float64, generator=gen)
    y = torch.randn(n, dtype=torch.float64, generator=gen)
    shapes = {"W1": (h, d), "b1": (h,), "W2": (h, h), "b2": (h,), "W3": (1, h), "b3": (1,)}
    p = {k: torch.randn(*s, dtype=torch.float64, generator=gen) / np.sqrt(s[-1])
         for k, s in shapes.items()}
    v, (a, b) = VANISH_NEURON, TWIN_NEURONS
    p["W1"][v], p["b1"][v], p["W2"][:, v] = 0, 0, 0
    p["W2"][b], p["b2"][b], p["W3"][:, b] = p["W2"][a], p["b2"][a], p["W3"][:, a]
    return p, X, y


def invariant_set_normals(g: dict) -> tuple[float, float]:
    """The largest components, normal to the two sets of :func:`mlp_on_invariant_sets`, of the
    gradients ``g`` (per-sample (n, ...) or one step's): (vanishing set, identical set)."""
    if not isinstance(g, dict) or not {"W1", "b1", "W2", "b2", "W3"} <= set(g):
        raise TypeError("g must be a dict with the keys W1, b1, W2, b2, W3 (mlp_per_sample_grads)")
    v, (a, b) = VANISH_NEURON, TWIN_NEURONS
    vanish = torch.cat([g["W1"][..., v, :].abs().flatten(), g["b1"][..., v].abs().flatten(),
                        g["W2"][..., :, v].abs().flatten()])
    ident = torch.cat([(g["W2"][..., b, :] - g["W2"][..., a, :]).abs().flatten(),
                       (g["b2"][..., b] - g["b2"][..., a]).abs().flatten(),
                       (g["W3"][..., :, b] - g["W3"][..., :, a]).abs().flatten()])
    return vanish.max().item(), ident.max().item()


def sgd_on_invariant_sets(params: dict, X, y, *, steps: int = 500, batch_size: int = 8,
                          lr: float = 0.1, seed: int = 1) -> tuple[float, float]:
    """Minibatch SGD (tanh, ½(f − y)², batches drawn with replacement from
    :func:`theory.core.torch_generator` (``seed``)) from ``params`` on the two sets.

    Returns (distance from the sets after ``steps`` steps: the largest |component| of the
    vanishing neuron and of the twins' difference; the largest change of W2 elsewhere, which
    shows the network did train)."""
    from theory.core import check_scalar, torch_generator

    _check_params(params)
    X, y = _data(X, y, params)
    steps = check_scalar(steps, "steps", kind="int", min=1)
    batch_size = check_scalar(batch_size, "batch_size", kind="int", min=1)
    lr = check_scalar(lr, "lr", min=0.0, include_min=False)
    gen = torch_generator(check_seed(seed, "seed"))
    p = {k: v.clone() for k, v in params.items()}
    n = X.shape[0]
    for step in range(1, steps + 1):
        idx = torch.randint(0, n, (batch_size,), generator=gen)
        g = _per_sample_grads(p, X[idx], y[idx])
        p = {k: p[k] - lr * g[k].mean(0) for k in p}
        if step % _CHECK_EVERY == 0 or step == steps:
            check_finite_state(torch.cat([v.flatten() for v in p.values()]),
                               what="SGD on the invariant-set MLP", step=step,
                               hint="reduce the learning rate lr")
    v, (a, b) = VANISH_NEURON, TWIN_NEURONS
    off = max(p["W1"][v].abs().max().item(), p["b1"][v].abs().item(),
              p["W2"][:, v].abs().max().item(), (p["W2"][b] - p["W2"][a]).abs().max().item(),
              (p["W3"][:, b] - p["W3"][:, a]).abs().max().item())
    moved = (p["W2"] - params["W2"]).abs().max().item()
    return off, moved


def label_noise_summary(run: Paths, s_data, s_true, eta: float, sigmas, *, t_start: float,
                        t_end: float) -> dict:
    """What ``book/stochastic_collapse/teacher_student.ipynb`` measures on a
    :func:`label_noise_sgd` run (x (σ, seeds, modes, T) on the elapsed time t).

    Over the stationary window t_start < t ≤ t_end: ``mean_s`` (σ, modes), each mode's time-
    and seed-averaged s, and its prediction ``fixed`` = sign(s*)·max(0, |s*| − ησ²/2)
    (:func:`~theory.stochastic_collapse.exact.label_noise_fixed_point`); ``train_sim``,
    ``test_sim`` (σ,), the mean losses ½Σ_j (s_j − s*_j)² and ½Σ_j (s_j − s^true_j)², and their
    exact expectations ``train_exact``, ``test_exact``. At the last record: ``train_end``,
    ``test_end`` (σ, seeds).
    """
    from theory.stochastic_collapse.exact import (label_noise_fixed_point,
                                                  label_noise_stationary_losses)

    if not isinstance(run, Paths):
        raise TypeError(f"run must be the Paths of label_noise_sgd, got {type(run).__name__}")
    s_data = as_array(s_data, "s_data", ndim=1, nonempty=True)
    s_true = as_array(s_true, "s_true", ndim=1, nonempty=True)
    if s_true.shape != s_data.shape:
        raise ValueError(f"s_true must have the shape of s_data {s_data.shape}, got {s_true.shape}")
    sigmas = _rates(sigmas, "sigmas")
    eta = check_scalar(eta, "eta", min=0.0, include_min=False)
    t_start = check_scalar(t_start, "t_start", min=0.0)
    t_end = check_scalar(t_end, "t_end", min=t_start, include_min=False)
    if run.x.ndim != 4 or run.x.shape[0] != sigmas.size or run.x.shape[2] != s_data.size:
        raise ValueError(f"run.x must be (σ = {sigmas.size}, seeds, modes = {s_data.size}, T), "
                         f"got {run.x.shape}")
    window = (run.t > t_start) & (run.t <= t_end)
    if not window.any():
        raise ValueError(f"no record in the window (t_start, t_end] = ({t_start:g}, {t_end:g}]")
    xs = run.x[..., window]
    train_exact, test_exact = label_noise_stationary_losses(s_data, s_true, eta, sigmas)
    final = run.x[..., -1]
    return {
        "mean_s": xs.mean(axis=(1, 3)),
        "fixed": label_noise_fixed_point(s_data, eta, sigmas[:, None]),
        "train_sim": 0.5 * ((xs - s_data[:, None]) ** 2).sum(axis=2).mean(axis=(1, 2)),
        "test_sim": 0.5 * ((xs - s_true[:, None]) ** 2).sum(axis=2).mean(axis=(1, 2)),
        "train_exact": train_exact, "test_exact": test_exact,
        "train_end": 0.5 * ((final - s_data) ** 2).sum(-1),
        "test_end": 0.5 * ((final - s_true) ** 2).sum(-1),
    }


def pathwise_errors(mu: float, zeta: float, *, theta0: float, T: float, steps=(500, 2000, 8000),
                    n_paths: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Strong error of Euler–Maruyama on the quartic well against its exact pathwise solution.

    For each number of steps, ``n_paths`` paths of :func:`simulate_prototype` from ``theta0``
    (the same ``seed``, so the Brownian paths refine one another only in law) are compared
    with :func:`~theory.stochastic_collapse.exact.prototype_pathwise` driven by the same
    Brownian increments. Returns (dt (K,), max over paths and times of |θ_EM − θ_exact| (K,)).
    """
    from theory.stochastic_collapse.exact import prototype_pathwise

    mu = check_scalar(mu, "mu")
    zeta = check_scalar(zeta, "zeta", min=0.0)
    theta0 = check_scalar(theta0, "theta0")
    if theta0 == 0:
        raise ValueError("theta0 must be non-zero (θ = 0 is a fixed point)")
    T = check_scalar(T, "T", min=0.0, include_min=False)
    if isinstance(steps, (str, bytes)) or steps is None:
        raise TypeError(f"steps must be an int or a sequence of ints, got {type(steps).__name__}")
    steps = [check_scalar(k, "steps", kind="int", min=1) for k in np.atleast_1d(steps).tolist()]
    errs = []
    for k in steps:
        p = simulate_prototype(mu, [zeta], n_paths=n_paths, T=T, steps=k, theta0=theta0, seed=seed,
                               keep_brownian=True)
        errs.append(np.max(np.abs(prototype_pathwise(p.t, p.W[0], theta0, mu, zeta) - p.x[0])))
    return T / np.array(steps, dtype=float), np.array(errs)
