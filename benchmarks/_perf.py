"""The performance table against the official algorithms (issue 19): rows, the roofline, timing.

Every row times one unit of work twice in the same process, alternating: ours (the `theory`
package's public call) and the reference (the official algorithm re-implemented inside
``benchmarks/reference/`` from its published equations, and labelled so; the official
repositories cannot be installed offline). Both run on one thread.

The roofline is what this machine allows for the same unit of work, measured in the same run:

- a dense row states its floating-point work (``flops``); the floor is ``flops`` divided by the
  matrix-multiply throughput of one core at the row's dtype (:func:`machine_rates`);
- an elementwise row states its count of elementwise operations (``elementwise``); the floor is
  that count divided by the throughput of the slowest elementwise operation measured (of add,
  multiply, divide, sqrt, exp, log, tanh; torch or numpy, whichever is faster for that operation).

The fraction reached is floor / ours (1 would be at the roofline).

A row module (``benchmarks/perf_<topic>.py``) exposes ``rows(rates: Rates) -> list[PerfRow]``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np


def one_thread() -> None:
    """One core for everything in the process: torch, numpy's BLAS and XLA.

    The process is pinned to one CPU (``os.sched_setaffinity``; XLA sizes its thread pool from
    the CPUs it may run on), torch is set to one thread, and numpy's BLAS is limited through
    threadpoolctl when installed (the environment variables, which ``benchmarks/perf.py`` sets
    before any import, bind it otherwise). XLA's ``--xla_cpu_multi_thread_eigen=false`` is not
    used: with it, jaxlib 0.10.2 deadlocks in a jitted loop of batched solves (the ridge
    reference at n >= 512).
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpus[0]})
    import torch

    torch.set_num_threads(1)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # the environment variables above then hold
        pass


@dataclass(frozen=True)
class Rates:
    """One core's measured throughputs: ``matmul[dtype]`` in flop/s, ``op[dtype][name]`` and
    ``elementwise[dtype]`` (the slowest op) in elements/s; dtype is "float32" or "float64"."""

    matmul: dict
    op: dict
    elementwise: dict = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "elementwise",
                           {dt: min(ops.values()) for dt, ops in self.op.items()})

    def slowest(self, dtype: str) -> str:
        ops = self.op[dtype]
        return min(ops, key=ops.get)


def best_of(fn, repeat: int) -> float:
    """The best wall time of ``repeat`` calls of ``fn()`` (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def per_call(fn, *, repeat: int = 5, min_time: float = 0.05) -> float:
    """Seconds per call of ``fn()`` alone, timed as :func:`paired` times each of its two."""
    return paired(fn, lambda: None, repeat=repeat, min_time=min_time)[0]


def paired(ours, reference, *, repeat: int = 5, min_time: float = 0.05) -> tuple[float, float]:
    """Seconds per call of ``ours()`` and ``reference()``, alternating, best of ``repeat`` rounds.

    Each round calls each function ``k`` times back to back, ``k`` chosen once from a first call so
    that a round lasts at least ``min_time`` (microsecond calls are timed over many), each call's
    result dropped before the next. Both are called once before timing (compilation, caches).
    """
    def calls_per_round(fn):
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        return max(1, int(np.ceil(min_time / max(dt, 1e-9))))

    def loop(fn, k):
        # each result dropped before the next call, as a caller's loop would: a list of the k
        # results would hold every call's output alive and time fresh pages instead of reuse
        for _ in range(k):
            fn()

    k_ours, k_ref = calls_per_round(ours), calls_per_round(reference)
    t_ours = t_ref = float("inf")
    for _ in range(repeat):
        t_ours = min(t_ours, best_of(lambda: loop(ours, k_ours), 1) / k_ours)
        t_ref = min(t_ref, best_of(lambda: loop(reference, k_ref), 1) / k_ref)
    return t_ours, t_ref


def machine_rates(*, n_matmul: int = 512, n_elem: int = 1 << 20, repeat: int = 5) -> Rates:
    """Measure one core's matmul flop/s (torch, n×n, both dtypes) and elementwise rates."""
    import torch

    one_thread()
    matmul, op = {}, {}
    for dt_name, tdt, ndt in (("float32", torch.float32, np.float32),
                              ("float64", torch.float64, np.float64)):
        a = torch.randn(n_matmul, n_matmul, dtype=tdt)
        b = torch.randn(n_matmul, n_matmul, dtype=tdt)
        a_np, b_np = a.numpy(), b.numpy()
        t = min(best_of(lambda: a @ b, repeat), best_of(lambda: a_np @ b_np, repeat))
        matmul[dt_name] = 2.0 * n_matmul ** 3 / t
        x = torch.rand(n_elem, dtype=tdt) + 0.5
        y = torch.rand(n_elem, dtype=tdt) + 0.5
        out = torch.empty_like(x)
        xn, yn, outn = x.numpy(), y.numpy(), out.numpy()
        torch_ops = {"add": lambda: torch.add(x, y, out=out), "mul": lambda: torch.mul(x, y, out=out),
                     "div": lambda: torch.div(x, y, out=out), "sqrt": lambda: torch.sqrt(x, out=out),
                     "exp": lambda: torch.exp(x, out=out), "log": lambda: torch.log(x, out=out),
                     "tanh": lambda: torch.tanh(x, out=out)}
        numpy_ops = {"add": lambda: np.add(xn, yn, out=outn), "mul": lambda: np.multiply(xn, yn, out=outn),
                     "div": lambda: np.divide(xn, yn, out=outn), "sqrt": lambda: np.sqrt(xn, out=outn),
                     "exp": lambda: np.exp(xn, out=outn), "log": lambda: np.log(xn, out=outn),
                     "tanh": lambda: np.tanh(xn, out=outn)}
        op[dt_name] = {name: n_elem / min(best_of(torch_ops[name], repeat),
                                          best_of(numpy_ops[name], repeat))
                       for name in torch_ops}
        del ndt
    return Rates(matmul=matmul, op=op)


@dataclass
class PerfRow:
    """One row of the table: a unit of work timed as ours and as the reference.

    work: what one call does (sizes included). ours_s, ref_s: seconds per call, same run.
    reference: the reference's label, e.g. "official fit_nn_gd step, re-implemented in numpy
    (benchmarks/reference/two_layer_relu.py)". dtype: "float32" or "float64".
    flops (dense rows) or elementwise (elementwise rows): the work of one call, for the roofline;
    give exactly one of them, or neither when no floor is meaningful (then say why in ``limit``).
    agreement: how ours and the reference agree on this call's output, e.g. "max rel. diff 3e-15".
    target: the issue's target ratio (ours faster by this factor), or None.
    limit: what limits ours now, in a few words.
    """

    work: str
    ours_s: float
    ref_s: float
    reference: str
    dtype: str
    agreement: str
    flops: float | None = None
    elementwise: float | None = None
    target: float | None = None
    limit: str = ""

    @property
    def ratio(self) -> float:
        return self.ref_s / self.ours_s

    def floor_s(self, rates: Rates) -> float | None:
        if self.flops is not None:
            return self.flops / rates.matmul[self.dtype]
        if self.elementwise is not None:
            return self.elementwise / rates.elementwise[self.dtype]
        return None

    def fraction(self, rates: Rates) -> float | None:
        floor = self.floor_s(rates)
        return None if floor is None else floor / self.ours_s

    def ratio_at_roofline(self, rates: Rates) -> float | None:
        """The ratio ours would reach at the roofline floor: reference time / floor."""
        floor = self.floor_s(rates)
        return None if floor is None else self.ref_s / floor

    def verdict(self, rates: Rates) -> str:
        """Met (✓), missed (✗), and for a missed target whether the roofline allows it.

        "beyond the roofline": the target asks for less time than the floor (target > reference /
        floor), so no implementation of this work count reaches it on this machine. "floor not a
        bound": ours already runs faster than the floor (fraction > 1), so the stated count
        overstates the work the machine does (cache-resident passes run faster than the
        throughputs measured on 8 MB arrays) and says nothing about the target.
        """
        if self.target is None:
            return ""
        if self.ratio >= self.target:
            return "✓"
        best = self.ratio_at_roofline(rates)
        if best is None:
            return "✗"
        if self.fraction(rates) > 1:
            return "✗ (floor not a bound)"
        if self.target > best:
            return f"✗ beyond the roofline (≤ {best:.2f} at the floor)"
        return f"✗ (≤ {best:.2f} at the floor)"


def fmt_seconds(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1.0:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def table(rows: list[PerfRow], rates: Rates) -> str:
    """The markdown table: work, ours, reference, ratio (target), roofline floor and fraction,
    agreement, what limits ours."""
    header = ["work", "ours", "reference", "ratio (target)", "roofline floor", "of roofline",
              "agreement", "limited by"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        floor = r.floor_s(rates)
        target = "" if r.target is None else f" (≥ {r.target:g})"
        met = "" if r.target is None else " " + r.verdict(rates)
        kind = "flops" if r.flops is not None else "elementwise"
        cells = [r.work, fmt_seconds(r.ours_s), f"{fmt_seconds(r.ref_s)}: {r.reference}",
                 f"{r.ratio:.2f}{target}{met}",
                 "—" if floor is None else f"{fmt_seconds(floor)} ({kind}, {r.dtype})",
                 "—" if floor is None else f"{100 * floor / r.ours_s:.1f} %",
                 r.agreement, r.limit]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def rates_table(rates: Rates) -> str:
    lines = ["| dtype | matmul (one core) | slowest elementwise op | " +
             " | ".join(rates.op["float64"]) + " |", "|" + "---|" * (3 + len(rates.op["float64"]))]
    for dt in ("float32", "float64"):
        lines.append(f"| {dt} | {rates.matmul[dt] / 1e9:.1f} GFLOP/s | {rates.slowest(dt)}, "
                     f"{rates.elementwise[dt] / 1e6:.0f} M/s | " +
                     " | ".join(f"{v / 1e6:.0f} M/s" for v in rates.op[dt].values()) + " |")
    return "\n".join(lines)
