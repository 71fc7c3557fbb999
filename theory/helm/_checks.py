"""Argument checks shared by the chapter's modules (issue 20): messages name the argument.

The chapter's own helpers on top of :mod:`theory.core._validate`, for its structured arguments
(scenarios, instances, adaptations, lists of names, data frames, folders).
"""

from __future__ import annotations

import os
from typing import Mapping

import numpy as np

from theory.core import as_array


def instance_of(x, cls, name: str):
    """``x`` if it is a ``cls`` (a class or a tuple of classes), else a TypeError naming ``name``."""
    if not isinstance(x, cls):
        want = cls.__name__ if isinstance(cls, type) else " or ".join(c.__name__ for c in cls)
        raise TypeError(f"{name} must be a {want}, got {type(x).__name__}")
    return x


def check_str(x, name: str, *, empty_ok: bool = True) -> str:
    """``x`` as a str (a non-blank one unless ``empty_ok``)."""
    if not isinstance(x, str):
        raise TypeError(f"{name} must be a str, got {type(x).__name__}")
    if not empty_ok and not x.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return x


def str_list(x, name: str, *, nonempty: bool = True) -> list[str]:
    """``x`` (a list, tuple or other iterable of str, not one str) as a list of str."""
    if isinstance(x, (str, bytes)) or x is None or isinstance(x, Mapping) or not hasattr(x, "__iter__"):
        raise TypeError(f"{name} must be a list of str, got {type(x).__name__}")
    out = list(x)
    for i, v in enumerate(out):
        if not isinstance(v, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(v).__name__}")
    if nonempty and not out:
        raise ValueError(f"{name} must not be empty")
    return out


def sequence(x, name: str, *, nonempty: bool = False) -> list:
    """``x`` (a list, tuple or other iterable, not a str or a mapping) as a list."""
    if isinstance(x, (str, bytes)) or x is None or isinstance(x, Mapping) or not hasattr(x, "__iter__"):
        raise TypeError(f"{name} must be a list, got {type(x).__name__}")
    out = list(x)
    if nonempty and not out:
        raise ValueError(f"{name} must not be empty")
    return out


def mapping(x, name: str, *, nonempty: bool = True) -> Mapping:
    """``x`` if it is a mapping (non-empty unless told)."""
    if not isinstance(x, Mapping):
        raise TypeError(f"{name} must be a mapping (a dict), got {type(x).__name__}")
    if nonempty and not x:
        raise ValueError(f"{name} must not be empty")
    return x


def frame(x, name: str, columns=(), *, hint: str = ""):
    """``x`` if it is a non-empty pandas DataFrame holding ``columns``."""
    import pandas as pd

    if not isinstance(x, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame{hint and ' (' + hint + ')'}, got "
                        f"{type(x).__name__}")
    missing = [c for c in columns if c not in x.columns]
    if missing:
        raise ValueError(f"{name} lacks the columns {missing}{hint and ' (' + hint + ')'}")
    if x.empty:
        raise ValueError(f"{name} is empty")
    return x


def path(x, name: str):
    """``x`` as a :class:`pathlib.Path` (a str or an os.PathLike)."""
    from pathlib import Path

    if not isinstance(x, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(x).__name__}")
    return Path(x)


def int_array(x, name: str, *, ndim: int = 2, nonempty: bool = True) -> np.ndarray:
    """``x`` as an int64 array: finite, integral values (floats such as 2.0 accepted)."""
    arr = as_array(x, name, ndim=ndim, nonempty=nonempty)
    if np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must hold integers (reference indices), got a fractional value")
    return arr.astype(np.int64)
