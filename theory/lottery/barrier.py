"""Linear interpolation between two solutions and its error barrier.

For solutions θ_a, θ_b and coefficients α on a grid in [0, 1], the interpolation curve is
E(α) = E((1 − α) θ_a + α θ_b), and the error barrier is the largest excess over the chord
(Frankle et al. 2020, Def. of instability; Paul et al. 2023, Sec. 3.1, on successive IMP levels):

    B(θ_a, θ_b) = max_α [ E(α) − ((1 − α) E(0) + α E(1)) ].

Two solutions are "linearly connected" when B is within noise of zero. When θ_a is the level-L
and θ_b the level-(L+1) solution, both already vanish off the level-L mask (m_{L+1} ⊂ m_L), so
the whole segment lies in the level-L subspace, as lth_diet evaluates it.
"""

from __future__ import annotations

import numpy as np
import torch

from theory.core import as_array, check_scalar
from theory.lottery._checks import as_labels, as_tensor
from theory.lottery.nets import MLP, _as_theta

__all__ = ["interpolation_curve", "barrier", "default_coefficients"]


def default_coefficients(n: int = 11) -> np.ndarray:
    """n evenly spaced coefficients from 0 to 1 (inclusive)."""
    n = check_scalar(n, "n", kind="int", min=2)
    return np.linspace(0.0, 1.0, n)


def _coefficients(coefficients) -> np.ndarray:
    c = as_array(coefficients, "coefficients", ndim=1, nonempty=True)
    if c.size < 2 or c[0] != 0.0 or c[-1] != 1.0 or np.any(np.diff(c) <= 0):
        raise ValueError("coefficients must increase strictly from 0 to 1 (both included)")
    return c


def _data(net, X, y):
    """X (n, d_in) finite floats and y (n,) class labels, as tensors."""
    X = as_tensor(X, "X", ndim=2, nonempty=True)
    if X.shape[1] != net.widths[0]:
        raise ValueError(f"X must have net's {net.widths[0]} input features, got shape {tuple(X.shape)}")
    y = as_labels(y, "y", X.shape[0])
    if y.numel() and int(y.max()) >= net.widths[-1]:
        raise ValueError(f"y must hold class labels below net's {net.widths[-1]} outputs, got {int(y.max())}")
    return X, y


def interpolation_curve(net: MLP, theta_a, theta_b, X, y, coefficients=None, *, chunk: int = 256):
    """Loss and error along the segment: two arrays (G, n_coef) (``theta_*`` (G, P) or (P,)).

    Evaluated in batches of ``chunk`` interpolated networks at a time.
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be a theory.lottery.MLP, got {type(net).__name__}")
    a = _as_theta(as_tensor(theta_a, "theta_a", min_ndim=1), net.n_params, "theta_a")
    b = _as_theta(as_tensor(theta_b, "theta_b", min_ndim=1), net.n_params, "theta_b")
    X, y = _data(net, X, y)
    chunk = check_scalar(chunk, "chunk", kind="int", min=1)
    if a.shape != b.shape:
        raise ValueError(f"theta_a and theta_b must have the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    a2, b2 = a.reshape(-1, net.n_params), b.reshape(-1, net.n_params)
    c = torch.as_tensor(_coefficients(default_coefficients() if coefficients is None else coefficients),
                        dtype=a.dtype)
    thetas = (a2[:, None] + c[None, :, None] * (b2 - a2)[:, None]).reshape(-1, net.n_params)
    losses, errors = [], []
    with torch.no_grad():
        for i in range(0, thetas.shape[0], chunk):
            t = thetas[i:i + chunk]
            losses.append(net.loss(t, X, y))
            errors.append(net.error(t, X, y))
    shape = (*a.shape[:-1], c.numel())
    return (torch.cat(losses).reshape(shape).numpy(), torch.cat(errors).reshape(shape).numpy())


def barrier(curve, coefficients=None) -> np.ndarray:
    """max_α [E(α) − ((1−α)E(0) + αE(1))] over the last axis of ``curve`` (..., n_coef)."""
    E = as_array(curve, "curve", min_ndim=1, nonempty=True)
    c = _coefficients(default_coefficients(E.shape[-1]) if coefficients is None else coefficients)
    if c.size != E.shape[-1]:
        raise ValueError(f"curve has {E.shape[-1]} points along its last axis but coefficients {c.size}")
    chord = E[..., :1] + c * (E[..., -1:] - E[..., :1])   # exactly E(0) when E(0) = E(1)
    return (E - chord).max(axis=-1)
