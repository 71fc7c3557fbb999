"""Wall-clock timing shared by the chapter benchmarks (imported from benchmarks/ on sys.path)."""

from __future__ import annotations

import time


def timed(fn, repeat: int = 1):
    """Call ``fn()`` ``repeat`` times; return (best wall time in seconds, the last call's output)."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def seconds(fn, repeat: int = 1) -> float:
    """The best wall time in seconds of ``repeat`` calls of ``fn()``."""
    return timed(fn, repeat)[0]
