"""Wall-clock timing and memory sampling shared by the benchmarks (imported from benchmarks/ on
sys.path)."""

from __future__ import annotations

import threading
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


class PeakSampler:
    """Peaks of ``measure()`` (a dict name → bytes), sampled every ``interval`` s in a thread.

    ``with PeakSampler(measure) as mem: ...`` then ``mem.peak[name]`` and ``mem.start[name]``
    (the first sample). A name missing from a sample (a process that exited) keeps its peak.
    """

    def __init__(self, measure, interval: float = 0.1):
        self.measure = measure
        self.interval = interval
        self.start = dict(measure())
        self.peak = dict(self.start)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for name, value in self.measure().items():
                self.peak[name] = max(self.peak.get(name, 0), value)
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def rss_of(pids: dict) -> dict:
    """``measure`` for :class:`PeakSampler`: the RSS of each named process (psutil)."""
    import psutil

    out = {}
    for name, pid in pids.items():
        try:
            out[name] = psutil.Process(pid).memory_info().rss
        except psutil.Error:  # exited
            pass
    return out


def rss_of_children() -> dict:
    """``measure`` for :class:`PeakSampler`: the summed RSS of this process's descendants."""
    import psutil

    total = 0
    for child in psutil.Process().children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:  # exited between listing and reading
            pass
    return {"children": total}
