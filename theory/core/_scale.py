"""The scale switch: ``THEORY_SCALE=laptop`` (default) or ``paper``.

Notebooks ask for sizes through :func:`scaled`, so that the same code path runs the laptop
version in CI and the paper's sizes on a GPU.
"""

from __future__ import annotations

import os
from typing import TypeVar

SCALES = ("laptop", "paper")
T = TypeVar("T")


def get_scale() -> str:
    """Return the active scale, read from ``THEORY_SCALE`` (default ``laptop``)."""
    scale = os.environ.get("THEORY_SCALE", "laptop").strip().lower() or "laptop"
    if scale not in SCALES:
        raise ValueError(f"THEORY_SCALE must be one of {SCALES}, got {scale!r}")
    return scale


def scaled(laptop: T, paper: T) -> T:
    """Pick ``laptop`` or ``paper`` according to the active scale."""
    return paper if get_scale() == "paper" else laptop
