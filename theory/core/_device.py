"""Device, dtype and thread choice for simulations."""

from __future__ import annotations

import os

import torch


def default_device() -> torch.device:
    """Return ``cuda`` when a GPU is visible, else ``cpu``.

    ``THEORY_DEVICE`` (``cpu`` or ``cuda``) overrides the choice.
    """
    forced = os.environ.get("THEORY_DEVICE", "").strip().lower()
    if forced:
        if forced not in ("cpu", "cuda"):
            raise ValueError(f"THEORY_DEVICE must be 'cpu' or 'cuda', got {forced!r}")
        if forced == "cuda" and not torch.cuda.is_available():
            raise ValueError("THEORY_DEVICE='cuda' but no CUDA device is available")
        return torch.device(forced)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_dtype() -> torch.dtype:
    """float64: every comparison of theory against simulation in the book is made in double."""
    return torch.float64


def set_threads(n: int | None = None) -> int:
    """Set torch's intra-op thread count and return it.

    ``n=None`` reads ``THEORY_THREADS`` (default 1). One thread is the safe default on a shared
    2-core machine: two spinning threads slow 5-50x when another process holds a core.
    """
    if n is None:
        raw = os.environ.get("THEORY_THREADS", "1")
        try:
            n = int(raw)
        except ValueError:
            raise ValueError(f"THEORY_THREADS must be a positive integer, got {raw!r}") from None
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"n must be a positive number of threads, got {n}")
    torch.set_num_threads(n)
    return n
