"""One batched trainer for stacked-parameter models: G configurations, one loop, one optimiser.

Every parameter tensor carries a leading configuration axis G. The configurations never
interact: the trainer backpropagates the *sum* of the per-configuration losses, so each slice
of a gradient is that configuration's own gradient, and the updates below act slice by slice
with per-configuration learning rates, momenta and weight decays. A configuration therefore
trains the same alone and inside a larger batch (``tests/test_core_batched.py`` checks it bit for
bit), provided its model and data draws come from its own stream
(:func:`theory.core.config_seed`, :func:`theory.core.counter_words`).

The updates follow PyTorch's conventions, written out so that the rate may differ per
configuration:

- ``"sgd"``: g ← ∇L + λθ; b ← g (first step), b ← μb + g; θ ← θ − η b (μ = 0: plain descent).
- ``"adam"``: g ← ∇L + λθ; m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
  θ ← θ − (η / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε) (Kingma & Ba 2015, Alg. 1, in torch's form).
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from theory.core._device import resolve_device
from theory.core._progress import progress as _progress
from theory.core._result import Result
from theory.core._schedule import record_steps
from theory.core._validate import check_scalar

__all__ = ["train_batched"]

OPTIMIZERS = ("sgd", "adam")


def _per_config(value, name: str, G: int, like: torch.Tensor, *, min_value=0.0,
                max_value=None, include_max=True) -> torch.Tensor:
    """A scalar or (G,) array as a (G,) tensor on ``like``'s device and dtype, validated."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a number or a (G,) array of numbers, got {type(value).__name__}")
    arr = np.asarray(value, dtype=np.float64) if not isinstance(value, bool) else None
    if arr is None or arr.dtype == object:
        raise TypeError(f"{name} must be a number or a (G,) array of numbers")
    if arr.ndim == 0:
        check_scalar(float(arr), name, min=min_value, max=max_value, include_max=include_max)
        arr = np.full(G, float(arr))
    elif arr.shape != (G,):
        raise ValueError(f"{name} must be a number or an array of shape (G,) = ({G},), got "
                         f"shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    if min_value is not None and np.any(arr < min_value):
        raise ValueError(f"{name} must be >= {min_value}, got min {arr.min()}")
    if max_value is not None and np.any(arr > max_value if include_max else arr >= max_value):
        raise ValueError(f"{name} must be {'<=' if include_max else '<'} {max_value}, got max {arr.max()}")
    return torch.as_tensor(arr, dtype=like.dtype, device=like.device)


def _view(v: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    return v.reshape(-1, *([1] * (p.ndim - 1)))


def train_batched(params: dict, *, steps: int, lr, loss_fn: Callable | None = None,
                  grad_fn: Callable | None = None, optimizer: str = "sgd", momentum=0.0,
                  betas=(0.9, 0.999), eps: float = 1e-8, weight_decay=0.0, record=None,
                  metrics: Callable | None = None, progress=None, device=None) -> Result:
    """Train G stacked configurations for ``steps`` updates; return a :class:`Result`.

    ``params``: name → tensor (G, ...), float. The trainer works on clones (moved to ``device``
    when given), never on the caller's tensors.
    ``loss_fn(params, step)`` → per-configuration losses (G,), differentiated by autograd; or
    ``grad_fn(params, step)`` → name → gradient (same shapes), for hand-written exact gradients.
    ``lr``: a number, a (G,) array, or a callable ``step → number or (G,)`` (a schedule).
    ``momentum`` and ``weight_decay``: numbers or (G,) arrays. ``record``: the steps at which
    ``metrics(params, step)`` (name → tensor (G, ...), evaluated under ``no_grad``) is recorded;
    step s means after s updates; default: 0 and ``steps``. ``progress``: None (a bar when
    there are at least 200 steps), True/False, or the bar's label.

    Non-finite losses are not an error here (divergence is a result in some chapters): the
    metrics record them and the caller decides.
    """
    if (loss_fn is None) == (grad_fn is None):
        raise ValueError("give exactly one of loss_fn= (autograd) or grad_fn= (explicit gradients)")
    for name, fn in (("loss_fn", loss_fn), ("grad_fn", grad_fn), ("metrics", metrics)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    if not isinstance(params, dict) or not params:
        raise TypeError("params must be a non-empty dict name → tensor (G, ...)")
    steps = check_scalar(steps, "steps", kind="int", min=1)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {optimizer!r}")
    dev = resolve_device(device) if device is not None else None
    P = {}
    for name, p in params.items():
        if not isinstance(p, torch.Tensor) or not p.dtype.is_floating_point or p.ndim < 1:
            raise TypeError(f"params[{name!r}] must be a floating-point tensor with a leading "
                            f"configuration axis")
        P[name] = p.detach().to(dev if dev is not None else p.device).clone()
    G = {p.shape[0] for p in P.values()}
    if len(G) != 1:
        raise ValueError(f"every parameter must have the same leading configuration axis, got {G}")
    G = G.pop()
    first = next(iter(P.values()))
    rec = record_steps(steps, at=[] if record is None else record)
    rec_set = set(int(s) for s in rec)
    mom = _per_config(momentum, "momentum", G, first, max_value=1.0, include_max=False)
    wd = _per_config(weight_decay, "weight_decay", G, first)
    if optimizer == "adam":
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2):
            raise TypeError("betas must be a pair (beta1, beta2)")
        b1 = check_scalar(betas[0], "betas[0]", min=0.0, max=1.0, include_max=False)
        b2 = check_scalar(betas[1], "betas[1]", min=0.0, max=1.0, include_max=False)
        eps = check_scalar(eps, "eps", min=0.0, include_min=False)
        m_state = {k: torch.zeros_like(p) for k, p in P.items()}
        v_state = {k: torch.zeros_like(p) for k, p in P.items()}
    bufs: dict = {}
    use_mom = bool(torch.any(mom != 0))
    use_wd = bool(torch.any(wd != 0))

    fixed_rate = None if callable(lr) else _per_config(lr, "lr", G, first)  # a constant: once

    def rate(step: int) -> torch.Tensor:
        if fixed_rate is not None:
            return fixed_rate
        return _per_config(lr(step), "lr", G, first)

    history: dict[str, list] = {}

    def observe(step: int):
        if metrics is None:
            return
        with torch.no_grad():
            out = metrics(P, step)
        if not isinstance(out, dict):
            raise TypeError(f"metrics must return a dict name → tensor (G, ...), got {type(out).__name__}")
        for k, v in out.items():
            v = torch.as_tensor(v)
            if v.ndim < 1 or v.shape[0] != G:
                raise ValueError(f"metric {k!r} must have the {G} configurations on its first "
                                 f"axis, got shape {tuple(v.shape)}")
            history.setdefault(k, []).append(v.detach().cpu().numpy().copy())

    show = (steps >= 200) if progress is None else bool(progress)
    desc = progress if isinstance(progress, str) else f"training {G} configurations"
    loop = _progress(range(steps), desc=desc, enable=show)
    for step in loop:
        if step in rec_set:
            observe(step)
        if loss_fn is not None:
            for p in P.values():
                p.requires_grad_(True)
            losses = loss_fn(P, step)
            if not isinstance(losses, torch.Tensor) or losses.shape != (G,):
                raise ValueError(f"loss_fn must return a tensor of shape (G,) = ({G},), got "
                                 f"{getattr(losses, 'shape', type(losses).__name__)}")
            grads = torch.autograd.grad(losses.sum(), list(P.values()), allow_unused=True)
            grads = {k: (torch.zeros_like(p) if g is None else g)
                     for (k, p), g in zip(P.items(), grads)}
            for p in P.values():
                p.requires_grad_(False)
        else:
            with torch.no_grad():
                grads = grad_fn(P, step)
            if not isinstance(grads, dict) or set(grads) != set(P):
                raise ValueError(f"grad_fn must return a dict with the keys {sorted(P)}")
        eta = rate(step)
        with torch.no_grad():
            for k, p in P.items():
                g = grads[k]
                if g.shape != p.shape:
                    raise ValueError(f"the gradient of {k!r} has shape {tuple(g.shape)}, the "
                                     f"parameter {tuple(p.shape)}")
                if use_wd:
                    g = g + _view(wd, p) * p
                if optimizer == "sgd":
                    if use_mom:
                        if k not in bufs:
                            bufs[k] = g.clone()
                        else:
                            bufs[k].mul_(_view(mom, p)).add_(g)
                        g = bufs[k]
                    p.sub_(_view(eta, p) * g)
                else:
                    t = step + 1
                    m_state[k].mul_(b1).add_(g, alpha=1 - b1)
                    v_state[k].mul_(b2).addcmul_(g, g, value=1 - b2)
                    denom = (v_state[k].sqrt() / (1 - b2 ** t) ** 0.5).add_(eps)
                    p.sub_(_view(eta / (1 - b1 ** t), p) * (m_state[k] / denom))
    if steps in rec_set:
        observe(steps)
    out = {k: np.stack(v, axis=1) for k, v in history.items()}
    return Result(steps=rec, metrics=out, params={k: p.detach().cpu().numpy() for k, p in P.items()},
                  meta={"optimizer": optimizer, "steps": steps, "configurations": G})
