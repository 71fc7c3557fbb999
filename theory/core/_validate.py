"""Argument validation shared by every subpackage: clear errors that name the argument."""

from __future__ import annotations

import numbers

import numpy as np


def as_array(x, name: str, *, ndim: int | tuple[int, ...] | None = None, min_ndim: int = 0,
             dtype=np.float64) -> np.ndarray:
    """``x`` as a finite float array, or a ``TypeError``/``ValueError`` naming ``name``."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a real number or array, got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise TypeError(f"{name} must be array-like: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real, got a complex array")
    arr = arr.astype(dtype, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if arr.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s), "
                             f"got shape {arr.shape}")
    if arr.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def positive(x, name: str) -> np.ndarray:
    """``x`` as a float array whose entries are all > 0."""
    arr = as_array(x, name)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {x!r}")
    return arr


def non_negative(x, name: str) -> np.ndarray:
    """``x`` as a float array whose entries are all >= 0."""
    arr = as_array(x, name)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {x!r}")
    return arr


def positive_int(x, name: str) -> int:
    """``x`` as a Python int > 0."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(x).__name__}")
    if x <= 0:
        raise ValueError(f"{name} must be a positive integer, got {x}")
    return int(x)


def check_scalar(x, name: str, *, kind: str = "float", min=None, max=None,
                 include_min: bool = True, include_max: bool = True):
    """One validator for every scalar argument of the package (after scikit-learn's).

    Returns ``x`` as a Python ``float`` (``kind="float"``: any finite real number, ints
    included) or ``int`` (``kind="int"``: an integral number, not a bool, not a float), or
    raises a ``TypeError`` (wrong type) or ``ValueError`` (NaN, infinite, or outside
    ``[min, max]``; ``include_min``/``include_max`` make either end open) whose message names
    ``name`` and the allowed range.
    """
    if kind not in ("float", "int"):
        raise ValueError(f"kind must be 'float' or 'int', got {kind!r}")
    if isinstance(x, np.ndarray) and x.ndim == 0:
        x = x.item()
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be {'an int' if kind == 'int' else 'a real number'}, got a bool")
    if kind == "int":
        if not isinstance(x, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {type(x).__name__}")
        value = int(x)
    else:
        if not isinstance(x, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {type(x).__name__}")
        value = float(x)
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value}")
    lo_ok = min is None or (value >= min if include_min else value > min)
    hi_ok = max is None or (value <= max if include_max else value < max)
    if not (lo_ok and hi_ok):
        lo = "-inf" if min is None else repr(min)
        hi = "inf" if max is None else repr(max)
        interval = (("[" if include_min and min is not None else "(") + f"{lo}, {hi}"
                    + ("]" if include_max and max is not None else ")"))
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return value
