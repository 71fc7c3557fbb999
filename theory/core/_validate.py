"""Argument validation shared by every subpackage: clear errors that name the argument.

One layer for the whole package (issue 20). Every public function checks its arguments with
these before any work, and every message names the caller's argument and what is allowed:

- :func:`as_array`: a finite float array (no bool where a number is meant, optional rank,
  shape and non-emptiness), and :func:`as_tensor` its torch form; :func:`positive`,
  :func:`non_negative`, :func:`probability` on top;
- :func:`check_scalar`: one real or integer scalar in an interval; :func:`positive_int`;
- :func:`check_seed`, :func:`check_seeds`: a seed is a non-negative int (not a bool, not a
  float, not a string), below 2**63;
- :func:`check_bool`, :func:`check_choice`;
- :func:`check_memory`, :func:`array_bytes`: a request whose arrays would exceed a fraction of
  this machine's memory is refused before anything is allocated, with the estimate;
- :class:`DivergenceError`, :func:`check_finite_state`: a simulation whose state turns
  non-finite stops and says at which step, never a silent NaN trajectory.
"""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

__all__ = ["DivergenceError", "array_bytes", "as_array", "as_tensor", "check_bool", "check_choice",
           "check_finite_state", "check_memory", "check_scalar", "check_seed", "check_seeds",
           "memory_limit", "non_negative", "positive", "positive_int", "probability"]

_SEED_MAX = 2**63 - 1


def _type_name(x) -> str:
    return type(x).__name__


def as_array(x, name: str, *, ndim: int | tuple[int, ...] | None = None, min_ndim: int = 0,
             dtype=np.float64, nonempty: bool = False, shape: tuple | None = None) -> np.ndarray:
    """``x`` as a finite float array, or a ``TypeError``/``ValueError`` naming ``name``.

    Refused: None, strings, bools (a Python bool, or an array of them: a bool is not a number
    here), complex and object arrays, NaN and inf; with ``ndim`` another rank, with ``min_ndim``
    fewer dimensions, with ``nonempty=True`` an array with no elements, and with ``shape`` (a
    tuple of ints, ``None`` for any size) another shape. Finite Python floats and finite float64
    arrays take a fast path (no copy).
    """
    if type(x) is float:                       # the fast paths: the common legal inputs
        if math.isfinite(x) and ndim in (None, 0) and min_ndim == 0 and shape in (None, ()):
            return np.asarray(x, dtype=dtype)
    elif (type(x) is np.ndarray and x.dtype == dtype and (ndim is None or x.ndim == ndim)
          and x.ndim >= min_ndim and shape is None and not (nonempty and x.size == 0)
          and np.isfinite(x).all()):
        return x
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a real number or array, got {_type_name(x)}")
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number or array, got a bool ({x!r})")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and other exotic inputs
        raise TypeError(f"{name} must be array-like of real numbers: {exc}") from None
    if arr.dtype == bool:
        raise TypeError(f"{name} must hold real numbers, got an array of bools")
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number):
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
    if shape is not None and (arr.ndim != len(shape) or any(
            want is not None and got != want for got, want in zip(arr.shape, shape))):
        want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + \
               ("," if len(shape) == 1 else "") + ")"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def _shape_text(shape) -> str:
    return "(" + ", ".join("any" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _check_rank(t, name, ndim, min_ndim, shape, nonempty):
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if t.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s), got shape "
                             f"{tuple(t.shape)}")
    if t.ndim < min_ndim:
        raise ValueError(f"{name} must have at least {min_ndim} dimension(s), got shape {tuple(t.shape)}")
    if shape is not None and (t.ndim != len(shape) or any(w is not None and g != w
                                                          for g, w in zip(t.shape, shape))):
        raise ValueError(f"{name} must have shape {_shape_text(shape)}, got {tuple(t.shape)}")
    if nonempty and t.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(t.shape)}")


def as_tensor(x, name: str, *, ndim=None, min_ndim: int = 0, shape=None, nonempty: bool = False,
              dtype=None):
    """``x`` (a torch tensor or array-like) as a finite floating-point tensor, or an error naming
    ``name``: the torch form of :func:`as_array`, with the same refusals and options.

    A float tensor keeps its dtype and device (``dtype`` converts); an integer tensor and
    anything array-like become float64. One pass over the data (the finiteness check).
    """
    import torch

    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bool:
            raise TypeError(f"{name} must hold real numbers, got a tensor of bools")
        if x.is_complex():
            raise TypeError(f"{name} must be real, got a complex tensor")
        if not x.dtype.is_floating_point:
            x = x.to(torch.float64)
        if dtype is not None:
            x = x.to(dtype)
        _check_rank(x, name, ndim, min_ndim, shape, nonempty)
        if not bool(torch.isfinite(x).all()):
            raise ValueError(f"{name} must be finite (no NaN or inf)")
        return x
    arr = as_array(x, name, ndim=ndim, min_ndim=min_ndim, shape=shape, nonempty=nonempty)
    t = torch.as_tensor(arr)
    return t if dtype is None else t.to(dtype)


def positive(x, name: str, **kw) -> np.ndarray:
    """``x`` as a float array whose entries are all > 0 (keywords as :func:`as_array`)."""
    arr = as_array(x, name, **kw)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {_short(x)}")
    return arr


def non_negative(x, name: str, **kw) -> np.ndarray:
    """``x`` as a float array whose entries are all >= 0 (keywords as :func:`as_array`)."""
    arr = as_array(x, name, **kw)
    if np.any(arr < 0):
        raise ValueError(f"{name} must be >= 0, got {_short(x)}")
    return arr


def probability(x, name: str, *, open_low: bool = False, open_high: bool = False,
                **kw) -> np.ndarray:
    """``x`` as a float array of probabilities in [0, 1] (either end open on request)."""
    arr = as_array(x, name, **kw)
    low_bad = arr <= 0 if open_low else arr < 0
    high_bad = arr >= 1 if open_high else arr > 1
    if np.any(low_bad | high_bad):
        interval = ("(" if open_low else "[") + "0, 1" + (")" if open_high else "]")
        raise ValueError(f"{name} must be a probability in {interval}, got {_short(x)}")
    return arr


def _short(x) -> str:
    text = repr(x)
    return text if len(text) <= 80 else text[:77] + "..."


def positive_int(x, name: str) -> int:
    """``x`` as a Python int > 0 (not a bool, not a float)."""
    if isinstance(x, np.ndarray) and x.ndim == 0 and np.issubdtype(x.dtype, np.integer):
        x = x.item()
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {_type_name(x)}")
    if x <= 0:
        raise ValueError(f"{name} must be a positive integer, got {x}")
    return int(x)


def _zero_dim_item(x):
    """A 0-d numpy array or torch tensor as its Python scalar (a bool stays a bool); else ``x``."""
    if isinstance(x, np.ndarray) and x.ndim == 0:
        return x.item()
    if type(x).__module__.startswith("torch") and getattr(x, "ndim", None) == 0 and hasattr(x, "item"):
        return x.item()
    return x


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
    x = _zero_dim_item(x)
    if isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name} must be {'an int' if kind == 'int' else 'a real number'}, got a bool")
    if kind == "int":
        if not isinstance(x, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {_type_name(x)}")
        value = int(x)
    else:
        if not isinstance(x, numbers.Real):
            raise TypeError(f"{name} must be a real number, got {_type_name(x)}")
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


def check_seed(x, name: str = "seed") -> int:
    """A seed: an int in [0, 2**63 − 1]; a bool, a float (3.9 or 3.0), a string or None is refused."""
    x = _zero_dim_item(x)
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{name} must be an int (a seed), got {_type_name(x)} {_short(x)}")
    value = int(x)
    if not 0 <= value <= _SEED_MAX:
        raise ValueError(f"{name} must be in [0, 2**63 - 1], got {value}")
    return value


def check_seeds(x, name: str = "seeds", *, nonempty: bool = True) -> np.ndarray:
    """Seeds: an int or a 1-d sequence of ints in [0, 2**63 − 1], as an int64 array (1-d)."""
    if isinstance(x, (numbers.Integral, np.integer)) and not isinstance(x, (bool, np.bool_)):
        return np.array([check_seed(x, name)], dtype=np.int64)
    if isinstance(x, (str, bytes)) or x is None or isinstance(x, (bool, np.bool_, float)):
        raise TypeError(f"{name} must be an int or a sequence of ints, got {_type_name(x)}")
    try:
        arr = np.asarray(x)
    except Exception as exc:
        raise TypeError(f"{name} must be a sequence of ints: {exc}") from None
    if arr.size == 0 and arr.ndim == 1:
        if nonempty:
            raise ValueError(f"{name} must not be empty")
        return np.zeros(0, dtype=np.int64)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must hold ints, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if nonempty and arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if arr.size and (arr.min() < 0 or (arr.dtype == np.uint64 and arr.max() > _SEED_MAX)):
        raise ValueError(f"{name} must be in [0, 2**63 - 1], got {_short(arr.tolist())}")
    return arr.astype(np.int64)


def check_bool(x, name: str) -> bool:
    """``x`` as a Python bool; only ``True``/``False`` (or numpy bools) are accepted."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    raise TypeError(f"{name} must be True or False, got {_type_name(x)} {_short(x)}")


def check_choice(x, name: str, choices) -> object:
    """``x`` when it is one of ``choices`` (compared with ==, types must match), else ValueError."""
    choices = tuple(choices)
    for c in choices:
        if type(x) is type(c) and x == c:
            return x
    if isinstance(x, str) or x is None or isinstance(x, numbers.Number):
        raise ValueError(f"{name} must be one of {choices}, got {x!r}")
    raise TypeError(f"{name} must be one of {choices}, got {_type_name(x)}")


def memory_limit() -> int:
    """Bytes one request may allocate: ``THEORY_MEMORY_FRACTION`` (default 0.5) of this machine's
    total memory (``THEORY_MEMORY_BYTES`` sets the limit directly)."""
    raw = os.environ.get("THEORY_MEMORY_BYTES", "").strip()
    if raw:
        try:
            return int(float(raw))
        except ValueError:
            raise ValueError(f"THEORY_MEMORY_BYTES must be a number of bytes, got {raw!r}") from None
    raw = os.environ.get("THEORY_MEMORY_FRACTION", "0.5").strip()
    try:
        frac = float(raw)
    except ValueError:
        raise ValueError(f"THEORY_MEMORY_FRACTION must be a number in (0, 1], got {raw!r}") from None
    if not 0 < frac <= 1:
        raise ValueError(f"THEORY_MEMORY_FRACTION must be in (0, 1], got {frac}")
    try:
        import psutil

        total = psutil.virtual_memory().total
    except Exception:  # pragma: no cover - psutil is a dependency
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(frac * total)


def array_bytes(*shape, itemsize: int = 8) -> int:
    """Bytes of an array of ``shape`` (ints, multiplied exactly: no overflow) with ``itemsize``."""
    n = 1
    for i, s in enumerate(shape):
        n *= check_scalar(s, f"shape[{i}]", kind="int", min=0)
    return n * check_scalar(itemsize, "itemsize", kind="int", min=1)


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1024 or unit == "PB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.3g} PB"  # pragma: no cover


def _check_str(x, name: str) -> str:
    if not isinstance(x, str):
        raise TypeError(f"{name} must be a str, got {_type_name(x)}")
    return x


def check_memory(nbytes: int, what: str, *, hint: str = "") -> int:
    """Refuse a request whose arrays need more than :func:`memory_limit` bytes, before allocating.

    ``nbytes`` is the caller's estimate (:func:`array_bytes` for each large array, summed);
    ``what`` names the request in the message ("4096 sequences of 16 tokens"). Returns nbytes.
    """
    nbytes = check_scalar(nbytes, "nbytes", kind="int", min=0)
    _check_str(what, "what")
    _check_str(hint, "hint")
    limit = memory_limit()
    if nbytes > limit:
        raise ValueError(f"{what} needs about {_fmt_bytes(nbytes)}, more than the "
                         f"{_fmt_bytes(limit)} allowed (THEORY_MEMORY_FRACTION of this "
                         f"machine's memory){': ' + hint if hint else ''}")
    return nbytes


class DivergenceError(ValueError, FloatingPointError):
    """A simulation's state turned non-finite (NaN or inf): the step size or the scale is too large.

    A ``ValueError`` (the cause is an argument, usually the learning rate) and a
    ``FloatingPointError``. ``step`` is the first step at which the state was found non-finite
    and ``what`` names the simulation.
    """

    def __init__(self, message: str, *, step=None, what: str = ""):
        super().__init__(message)
        self.step = step
        self.what = what


def check_finite_state(x, *, what: str, step=None, hint: str = "reduce the learning rate") -> None:
    """Raise :class:`DivergenceError` if the array or tensor ``x`` has a NaN or inf entry.

    ``what`` names the simulation ("gradient descent on the single neuron"), ``step`` where it
    was found, ``hint`` what to change. Works for numpy arrays and torch tensors (one reduction).
    """
    _check_str(what, "what")
    _check_str(hint, "hint")
    if hasattr(x, "isfinite") and not isinstance(x, np.ndarray):   # a torch tensor
        ok = bool(x.isfinite().all())
    else:
        ok = bool(np.isfinite(x).all())
    if not ok:
        where = f" at step {step}" if step is not None else ""
        raise DivergenceError(f"{what} diverged{where}: the state is no longer finite (NaN or "
                              f"inf){'; ' + hint if hint else ''}", step=step, what=what)
