"""When to record a run, and when a recorded curve first crosses a threshold."""

from __future__ import annotations

import numpy as np

from theory.core._validate import as_array, check_scalar

__all__ = ["first_crossing", "record_steps"]


def record_steps(steps: int, *, every: int | None = None, at=None, n_log: int | None = None) -> np.ndarray:
    """The steps at which a run of ``steps`` updates is recorded: sorted unique ints in [0, steps].

    Always holds 0 (the initialisation) and ``steps`` (the end). ``every=k`` adds every k-th
    step; ``at`` adds the given steps (each must lie in [0, steps]); ``n_log=n`` adds n steps
    spaced evenly in log(1 + step). With none of them, every step is recorded.
    """
    steps = check_scalar(steps, "steps", kind="int", min=1)
    chosen = [np.array([0, steps])]
    if every is None and at is None and n_log is None:
        return np.arange(steps + 1)
    if every is not None:
        every = check_scalar(every, "every", kind="int", min=1)
        chosen.append(np.arange(0, steps + 1, every))
    if at is not None:
        arr = np.atleast_1d(np.asarray(at))
        if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer)
                                 or (np.issubdtype(arr.dtype, np.floating)
                                     and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)))):
            raise ValueError(f"at must be a 1-D list of integer steps, got {at!r}")
        arr = arr.astype(np.int64)
        if arr.size and (arr.min() < 0 or arr.max() > steps):
            raise ValueError(f"at must lie in [0, steps={steps}], got {arr.min()} … {arr.max()}")
        chosen.append(arr)
    if n_log is not None:
        n_log = check_scalar(n_log, "n_log", kind="int", min=2)
        chosen.append(np.unique(np.round(np.expm1(np.linspace(0, np.log1p(steps), n_log)))).astype(np.int64))
    return np.unique(np.concatenate(chosen).astype(np.int64))


def first_crossing(values, steps, threshold, *, direction: str = "above", interpolate=None,
                   log_interpolate: bool = False) -> np.ndarray:
    """The first recorded step at which a curve crosses ``threshold``; NaN where it never does.

    ``values`` (..., T) recorded at ``steps`` (T,), strictly increasing; NaN records count as
    not crossed. ``direction="above"``: the first record with ``values >= threshold``;
    ``"below"``: ``values <= threshold``. ``interpolate=None`` returns that record's step;
    ``"linear"`` (or ``"log"``, the same as ``log_interpolate=True``) returns the point between it
    and the record before where the straight line in (step, value) (or (log step, value))
    reaches the threshold. A curve already past the threshold at its first record gives
    ``steps[0]``.
    """
    if log_interpolate:
        if interpolate not in (None, "log"):
            raise ValueError("give either interpolate= or log_interpolate=True, not both")
        interpolate = "log"
    if interpolate not in (None, "linear", "log"):
        raise ValueError(f"interpolate must be None, 'linear' or 'log', got {interpolate!r}")
    try:
        v = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"values must be an array of real numbers, got {type(values).__name__}") from None
    if v.ndim < 1:
        raise ValueError("values must have at least one dimension (records last)")
    if np.any(np.isinf(v)):
        raise ValueError("values must not be infinite")
    s = as_array(steps, "steps", ndim=1)
    if s.shape[0] != v.shape[-1]:
        raise ValueError(f"steps has {s.shape[0]} entries but values has {v.shape[-1]} records "
                         f"on its last axis")
    if np.any(np.diff(s) <= 0):
        raise ValueError("steps must be strictly increasing")
    if interpolate == "log" and np.any(s <= 0):
        raise ValueError("log interpolation needs steps > 0")
    thr = check_scalar(threshold, "threshold")
    if direction not in ("above", "below"):
        raise ValueError(f"direction must be 'above' or 'below', got {direction!r}")
    d = (v - thr) if direction == "above" else (thr - v)     # crossed where d >= 0
    hit = np.nan_to_num(d, nan=-1.0) >= 0
    j = np.argmax(hit, axis=-1)
    out = s[j].astype(np.float64)
    if interpolate is not None:
        x = np.log(s) if interpolate == "log" else s
        jm = np.maximum(j - 1, 0)
        d1 = np.take_along_axis(d, j[..., None], -1)[..., 0]
        d0 = np.take_along_axis(d, jm[..., None], -1)[..., 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.clip(-d0 / (d1 - d0), 0.0, 1.0)
        inner = (j > 0) & np.isfinite(frac)
        xi = x[jm] + np.where(inner, frac, 1.0) * (x[j] - x[jm])
        out = np.where(j > 0, np.exp(xi) if interpolate == "log" else xi, out)
    return np.where(hit.any(axis=-1), out, np.nan)
