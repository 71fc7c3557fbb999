"""A fully connected ReLU network on a flat parameter vector, batched over configurations.

Every configuration's parameters are one row of ``theta`` (G, P): the weight matrices first,
layer by layer (each stored (d_in, d_out), row-major), then the biases. The first ``D`` entries
are therefore the prunable weights (all layers, first and last included, as in global magnitude
pruning of Frankle & Carbin 2019 and the lth_diet code); biases are never pruned. A mask is a
(G, D) 0/1 tensor over the weights; :meth:`MLP.full_mask` extends it by ones over the biases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from theory.core import check_scalar, counter_normal

__all__ = ["MLP"]


def _as_theta(theta, P: int, name: str = "theta") -> torch.Tensor:
    if not isinstance(theta, torch.Tensor):
        if isinstance(theta, np.ndarray):
            theta = torch.as_tensor(theta)
        else:
            raise TypeError(f"{name} must be a torch tensor or numpy array (..., {P}), got "
                            f"{type(theta).__name__}")
    if not theta.dtype.is_floating_point:
        raise TypeError(f"{name} must be floating point, got {theta.dtype}")
    if theta.ndim < 1 or theta.shape[-1] != P:
        raise ValueError(f"{name} must have last dimension P = {P} (the network's parameter "
                         f"count), got shape {tuple(theta.shape)}")
    return theta


@dataclass(frozen=True)
class MLP:
    """``widths`` = (d_in, h_1, …, d_out): ReLU between layers, logits out (no softmax)."""

    widths: tuple

    def __post_init__(self):
        w = self.widths
        if not isinstance(w, (tuple, list)) or len(w) < 2:
            raise TypeError(f"widths must be a tuple (d_in, ..., d_out) of at least 2 ints, got {w!r}")
        for i, x in enumerate(w):
            check_scalar(x, f"widths[{i}]", kind="int", min=1)
        object.__setattr__(self, "widths", tuple(int(x) for x in w))

    @property
    def shapes(self) -> list[tuple[int, int]]:
        return list(zip(self.widths[:-1], self.widths[1:]))

    @property
    def n_weights(self) -> int:
        """D: the number of prunable weights."""
        return sum(a * b for a, b in self.shapes)

    @property
    def n_params(self) -> int:
        """P = D + the number of biases."""
        return self.n_weights + sum(self.widths[1:])

    def layer_of_weight(self) -> np.ndarray:
        """(D,) the layer index of every weight."""
        return np.concatenate([np.full(a * b, i) for i, (a, b) in enumerate(self.shapes)])

    def split(self, theta):
        """``theta`` (..., P) → ([W_l (..., d_in, d_out)], [b_l (..., d_out)]), views."""
        theta = _as_theta(theta, self.n_params)
        lead = theta.shape[:-1]
        Ws, bs, i = [], [], 0
        for a, b in self.shapes:
            Ws.append(theta[..., i:i + a * b].reshape(*lead, a, b))
            i += a * b
        for _, b in self.shapes:
            bs.append(theta[..., i:i + b])
            i += b
        return Ws, bs

    def init(self, seeds, *, dtype=torch.float64) -> torch.Tensor:
        """He-normal weights N(0, 2/d_in) (the last layer N(0, 1/d_in)), zero biases, (G, P).

        Row g depends only on ``seeds[g]`` (:func:`theory.core.counter_normal`), so a
        configuration starts the same alone and inside any batch.
        """
        seeds = np.asarray(seeds)
        if seeds.ndim != 1 or not np.issubdtype(seeds.dtype, np.integer) or seeds.size == 0:
            raise TypeError("seeds must be a non-empty 1-D array of ints (one per configuration)")
        parts = []
        for l, (a, b) in enumerate(self.shapes):
            gain = 1.0 if l == len(self.shapes) - 1 else 2.0
            z = counter_normal(seeds, 0, (a * b,), stream=l)
            parts.append(z * math.sqrt(gain / a))
        parts.append(torch.zeros(len(seeds), self.n_params - self.n_weights, dtype=torch.float64))
        return torch.cat(parts, dim=1).to(dtype)

    def full_mask(self, mask) -> torch.Tensor:
        """A weight mask (G, D) extended by ones over the biases, (G, P)."""
        mask = self.check_mask(mask)
        ones = torch.ones(*mask.shape[:-1], self.n_params - self.n_weights, dtype=mask.dtype)
        return torch.cat([mask, ones], dim=-1)

    def check_mask(self, mask, G: int | None = None) -> torch.Tensor:
        """``mask`` as a float tensor (G, D) of zeros and ones, or a clear error."""
        if isinstance(mask, np.ndarray):
            mask = torch.as_tensor(mask)
        if not isinstance(mask, torch.Tensor):
            raise TypeError(f"mask must be a tensor or array (G, D = {self.n_weights}), got "
                            f"{type(mask).__name__}")
        if mask.ndim != 2 or mask.shape[1] != self.n_weights or (G is not None and mask.shape[0] != G):
            want = f"({G if G is not None else 'G'}, {self.n_weights})"
            raise ValueError(f"mask must have shape {want} (one row per configuration, one "
                             f"entry per prunable weight), got {tuple(mask.shape)}")
        mask = mask.to(torch.float64)
        if not bool(torch.all((mask == 0) | (mask == 1))):
            raise ValueError("mask must hold only zeros and ones")
        return mask

    def activation(self, h: torch.Tensor) -> torch.Tensor:
        """The nonlinearity between layers: ReLU (a subclass may change it)."""
        return torch.relu(h)

    def logits(self, theta, X) -> torch.Tensor:
        """f(X; θ): ``theta`` (..., P), ``X`` (n, d_in) or (..., n, d_in) → (..., n, d_out)."""
        Ws, bs = self.split(theta)
        if X.shape[-1] != self.widths[0]:
            raise ValueError(f"X must have {self.widths[0]} features, got shape {tuple(X.shape)}")
        h = X.to(Ws[0].dtype)
        for l, (W, b) in enumerate(zip(Ws, bs)):
            h = torch.matmul(h, W) + b.unsqueeze(-2)
            if l < len(Ws) - 1:
                h = self.activation(h)
        return h

    def loss(self, theta, X, y) -> torch.Tensor:
        """Mean cross-entropy over the n examples, (...,)."""
        z = self.logits(theta, X)
        lp = torch.log_softmax(z, dim=-1)
        yy = y.expand(*z.shape[:-1]) if y.ndim == 1 else y
        return -lp.gather(-1, yy.unsqueeze(-1)).squeeze(-1).mean(-1)

    def error(self, theta, X, y) -> torch.Tensor:
        """Fraction of the n examples misclassified, (...,)."""
        z = self.logits(theta, X)
        return (z.argmax(-1) != y).to(torch.float64).mean(-1)
