"""Issue 21 rows: the sweep runner's overhead per task against a plain loop over the same points.

The unit of work is one point of a small sweep (a 2 ms numpy computation, seeded from its
configuration): ours is ``theory.core.run_sweep`` (serial without a store; serial with a zarr
store, writing one entry per point; resumed from that store, reading every point; and a
2-worker Dask ``LocalCluster`` started once and reused), the reference a plain Python loop
calling the same function and stacking the results. Times are per point; the overhead per task
is ours − reference. In ``perf.py`` the process is pinned to one CPU, so the Dask workers share
it: the row measures overhead, not parallel speed-up.
"""

from __future__ import annotations

import tempfile
import time

import numpy as np

from _perf import PerfRow, paired
from theory.core import Experiment, Sweep, config_seed, run_sweep

REF = "plain loop over the points, results stacked"


def bench_point(tau, seed, n=40_000):
    rng = np.random.default_rng(config_seed("bench", tau, seed))
    x = rng.normal(size=n)
    return {"curve": np.cumsum(np.exp(-tau * np.abs(x)))[:: n // 50], "mean": np.float64(x.mean())}


EXP = Experiment("bench_runner", point=bench_point, dims={"curve": ("k",)})


def rows(rates, quick=False):
    del rates
    sweep = Sweep(tau=list(np.linspace(0.1, 2.0, 8 if quick else 16)), seed=[0, 1, 2, 3])
    G = len(sweep)
    configs = sweep.configs()

    def plain():
        out = [bench_point(**c) for c in configs]
        return np.stack([o["curve"] for o in out])

    ref_curve = plain()
    out = []
    o, r = paired(lambda: run_sweep(EXP, sweep, progress=False), plain, repeat=3, min_time=0.0)
    out.append(PerfRow(f"sweep runner, serial, no store, {G} points (per point)", o / G, r / G,
                       REF, "float64", "identical (0.0)",
                       limit=f"overhead {1e3 * (o - r) / G:.2f} ms per point (assembling the Dataset)"))
    with tempfile.TemporaryDirectory() as tmp:
        def write():
            with tempfile.TemporaryDirectory(dir=tmp) as d:
                return run_sweep(EXP, sweep, store=d, progress=False)
        o, r = paired(write, plain, repeat=3, min_time=0.0)
        ds = write()
        agree = float(np.abs(ds["curve"].values.reshape(G, -1) - ref_curve).max())
        out.append(PerfRow(f"sweep runner, serial, writing a zarr store, {G} points (per point)",
                           o / G, r / G, REF, "float64", f"max abs diff {agree:.1e}",
                           limit=f"overhead {1e3 * (o - r) / G:.2f} ms per point (one zarr group "
                                 f"written and renamed per point)"))
        store = f"{tmp}/kept"
        run_sweep(EXP, sweep, store=store, progress=False)
        o, r = paired(lambda: run_sweep(EXP, sweep, store=store, progress=False), plain,
                      repeat=3, min_time=0.0)
        out.append(PerfRow(f"sweep runner, resumed: every point read back from the store, {G} points "
                           f"(per point)", o / G, r / G, REF, "float64", "identical (0.0)",
                           limit=f"reading and checksumming one zarr group per point: "
                                 f"{1e3 * o / G:.2f} ms"))
    from distributed import Client, LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    start = time.perf_counter() - t0
    try:
        o, r = paired(lambda: run_sweep(EXP, sweep, executor="dask", client=client, progress=False),
                      plain, repeat=3, min_time=0.0)
        ds = run_sweep(EXP, sweep, executor="dask", client=client, progress=False)
        agree = float(np.abs(ds["curve"].values.reshape(G, -1) - ref_curve).max())
    finally:
        client.close()
        cluster.close()
    out.append(PerfRow(f"sweep runner, Dask LocalCluster (2 workers, one CPU), {G} points (per point)",
                       o / G, r / G, REF, "float64", f"max abs diff {agree:.1e}",
                       limit=f"overhead {1e3 * (o - r) / G:.2f} ms per task (scheduling, pickling); "
                             f"cluster start {start:.1f} s once"))
    return out
