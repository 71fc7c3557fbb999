"""Device, dtype and thread choice for simulations."""

from __future__ import annotations

import os

import numpy as np
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
    """Set torch's intra-op thread count, and the BLAS and OpenMP pools of the libraries loaded
    (numpy's OpenBLAS: ``threadpoolctl``), to ``n``; return it.

    ``n=None`` reads ``THEORY_THREADS`` (default 1). One thread is the safe default on a shared
    2-core machine: two spinning threads slow 5-50x when another process holds a core. The BLAS
    pools matter for reproducibility too: Dask starts its workers with one BLAS thread, and numpy's
    products with two OpenBLAS threads round differently (a rich/lazy paper-size sweep run serially
    differed from the same sweep on a 2-worker LocalCluster by 5.8e-15 in its kernel distances).
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
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)
    return n


_DTYPES = {"float64": torch.float64, "double": torch.float64, "float32": torch.float32,
           "float": torch.float32}


def resolve_device(device=None) -> torch.device:
    """``device`` as a ``torch.device``: None → :func:`default_device`; 'cpu', 'cuda', 'cuda:0', …"""
    if device is None:
        return default_device()
    if isinstance(device, torch.device):
        dev = device
    elif isinstance(device, str):
        try:
            dev = torch.device(device)
        except RuntimeError:
            raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    else:
        raise TypeError(f"device must be None, a str or a torch.device, got {type(device).__name__}")
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(f"device must be a CPU or CUDA device, got {dev}")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={dev} was asked for but no CUDA device is available")
    return dev


def resolve_dtype(dtype=None) -> torch.dtype:
    """``dtype`` as torch.float64 or torch.float32 (None → float64, the book's default)."""
    if dtype is None:
        return default_dtype()
    if isinstance(dtype, str):
        if dtype not in _DTYPES:
            raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
        return _DTYPES[dtype]
    if dtype in (torch.float64, torch.float32):
        return dtype
    if dtype in (np.float64, np.float32):
        return torch.float64 if dtype == np.float64 else torch.float32
    raise TypeError(f"dtype must be torch.float64 or torch.float32, got {dtype!r}")
