"""Argument checks of the lottery chapter on top of :mod:`theory.core`'s validation layer (issue 20).

Tensors: the chapter's functions take torch tensors or numpy arrays alike, through the core's
:func:`theory.core.as_tensor`. Masks may be bool or 0/1 numbers; labels are ints.
"""

from __future__ import annotations

import numpy as np
import torch

from theory.core import as_tensor, check_scalar

__all__ = []


def as_mask(x, name: str, *, ndim=None, min_ndim: int = 0, shape=None, nonempty: bool = True) -> torch.Tensor:
    """``x`` as a float64 0/1 tensor (bools allowed), or an error naming ``name``."""
    if isinstance(x, torch.Tensor) and x.dtype == torch.bool:
        x = x.to(torch.float64)
    elif isinstance(x, np.ndarray) and x.dtype == bool:
        x = x.astype(np.float64)
    m = as_tensor(x, name, ndim=ndim, min_ndim=min_ndim, shape=shape, nonempty=nonempty, dtype=torch.float64)
    if not bool(torch.all((m == 0) | (m == 1))):
        raise ValueError(f"{name} must hold only zeros and ones (1 = kept, 0 = pruned)")
    return m


def as_labels(y, name: str, n: int) -> torch.Tensor:
    """Class labels: ``n`` non-negative ints (a tensor or array), as an int64 tensor."""
    if y is None or isinstance(y, (str, bytes)):
        raise TypeError(f"{name} must be {n} integer class labels, got {type(y).__name__}")
    t = torch.as_tensor(y) if isinstance(y, (torch.Tensor, np.ndarray, list, tuple)) else None
    if t is None or t.dtype == torch.bool or t.dtype.is_floating_point or t.is_complex():
        raise TypeError(f"{name} must be {n} integer class labels (int tensor or array), got "
                        f"{type(y).__name__}{'' if t is None else ' of ' + str(t.dtype)}")
    if t.ndim != 1 or t.numel() != n:
        raise ValueError(f"{name} must have shape ({n},), one label per example of X, got {tuple(t.shape)}")
    if n and int(t.min()) < 0:
        raise ValueError(f"{name} must hold class labels >= 0")
    return t.to(torch.int64)


def check_tolerance_pair(tol, name: str) -> dict:
    """{"train": τ, "test": τ}: two finite error fractions >= 0."""
    if not isinstance(tol, dict) or set(tol) != {"train", "test"}:
        raise ValueError(f"{name} must be a dict with keys 'train' and 'test' (error fractions), got {tol!r}")
    return {k: check_scalar(tol[k], f"{name}[{k!r}]", min=0.0) for k in ("train", "test")}


def check_instance(x, name: str, cls, what: str):
    if not isinstance(x, cls):
        raise TypeError(f"{name} must be {what}, got {type(x).__name__}")
    return x


def check_dict(x, name: str, keys, what: str) -> dict:
    """A dict holding at least ``keys`` (a result of the named function)."""
    if not isinstance(x, dict) or not set(keys) <= set(x):
        missing = sorted(set(keys) - set(x)) if isinstance(x, dict) else sorted(keys)
        raise TypeError(f"{name} must be the dict returned by {what} (missing {missing}), got "
                        f"{type(x).__name__}")
    return x


def check_int_list(x, name: str, *, lo: int, hi: int | None = None, what: str = "") -> np.ndarray:
    """A non-empty 1-d list of ints in [lo, hi] (not bools, not floats), as an int64 array.

    An int alone counts as a list of one; ``what`` explains the values in the messages."""
    what = f" ({what})" if what else ""
    if x is None or isinstance(x, (str, bytes, bool, np.bool_, float)):
        raise TypeError(f"{name} must be a non-empty list of ints{what}, got {type(x).__name__}")
    arr = np.atleast_1d(np.asarray(x))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-d list of ints{what}, got shape {arr.shape}")
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must be a list of ints{what}, got {arr.tolist()!r} (dtype {arr.dtype})")
    if np.any(arr < lo) or (hi is not None and np.any(arr > hi)):
        raise ValueError(f"{name} must be ints in [{lo}, {'inf' if hi is None else hi}]{what}, got {arr.tolist()}")
    return arr.astype(np.int64)
