"""What every chapter's paper-scale sweeps share: a plan, a command line, stored results, a report.

A chapter's ``theory/<chapter>/sweeps.py`` defines, per experiment, a *builder*
``build(scale, **overrides) -> SweepPlan`` (the :class:`~theory.core.Experiment`, the
:class:`~theory.core.Sweep`, whether it is reduced from the scale's full size, and the grid in
words) and hands its builders to :func:`sweep_cli`::

    def main(argv=None):
        return sweep_cli("python -m theory.lottery.sweeps", {"levels": levels_plan}, argv)

    python -m theory.lottery.sweeps levels --scale paper --executor dask --set n_seed=2

runs the sweep through :func:`~theory.core.run_sweep` into ``results/store`` (resumable) and
writes the assembled result to ``results/<experiment>-<label>.zarr`` (label: the scale, with
``-reduced`` when the plan is smaller than the scale's full size). A page reads it back with
:func:`stored_results` and prints :func:`provenance_report`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from dataclasses import dataclass

from theory.core._device import set_threads
from theory.core._runner import Experiment, open_result, result_path, results_dir, run_sweep, save_result
from theory.core._sweep import Sweep

__all__ = ["STORED_LABELS", "SweepPlan", "check_configs", "check_result", "check_stored", "provenance_report",
           "run_plan", "stored_results", "sweep_cli"]

STORED_LABELS = ("paper", "paper-reduced")
"""The labels of stored results a page looks for, the full paper grid first."""


@dataclass(frozen=True)
class SweepPlan:
    """One runnable sweep: ``experiment`` over ``sweep``; ``reduced`` when smaller than its
    scale's full size (fewer points, steps or samples); ``grid``: the grid in words."""

    experiment: Experiment
    sweep: Sweep
    reduced: bool = False
    grid: str = ""

    def __post_init__(self):
        if not isinstance(self.experiment, Experiment):
            raise TypeError(f"experiment must be a theory.core.Experiment, got {type(self.experiment).__name__}")
        if not isinstance(self.sweep, Sweep):
            raise TypeError(f"sweep must be a theory.core.Sweep, got {type(self.sweep).__name__}")
        if not isinstance(self.reduced, bool):
            raise TypeError(f"reduced must be a bool, got {type(self.reduced).__name__}")
        if not isinstance(self.grid, str):
            raise TypeError(f"grid must be a str, got {type(self.grid).__name__}")


def check_configs(configs, required=()) -> None:
    """Check what an :class:`~theory.core.Experiment`'s batch form receives: a non-empty list of
    dicts (one per point), each holding every key in ``required``; raises naming the entry."""
    if not isinstance(configs, (list, tuple)) or not configs:
        raise TypeError("configs must be a non-empty list of dicts (one per point)")
    if isinstance(required, str) or not all(isinstance(k, str) for k in required):
        raise TypeError(f"required must be a sequence of str keys, got {required!r}")
    required = set(required)
    for i, c in enumerate(configs):
        if not isinstance(c, dict):
            raise TypeError(f"configs[{i}] must be a dict, got {type(c).__name__}")
        missing = required - set(c)
        if missing:
            raise ValueError(f"configs[{i}] lacks {sorted(missing)}")


def run_plan(plan: SweepPlan, scale: str, *, label: str | None = None, executor: str = "batched",
             client=None, batch_size: int | None = None, progress=True, results=None):
    """Run ``plan`` through :func:`run_sweep` (points kept in ``<results>/store``) and save the
    assembled result at ``<results>/<name>-<label>.zarr``; ``results`` defaults to
    :func:`~theory.core.results_dir`. Returns ``(dataset, path)``; ``label`` defaults to
    ``scale`` (+ ``-reduced``)."""
    if not isinstance(plan, SweepPlan):
        raise TypeError(f"plan must be a SweepPlan, got {type(plan).__name__}")
    if not isinstance(scale, str) or not scale:
        raise ValueError(f"scale must be a non-empty str, got {scale!r}")
    if label is not None and (not isinstance(label, str) or not label or "/" in label):
        raise ValueError(f"label must be a non-empty str without '/', got {label!r}")
    label = label or (scale + ("-reduced" if plan.reduced else ""))
    if results is not None and not isinstance(results, (str, os.PathLike)):
        raise TypeError(f"results must be a directory path or None, got {type(results).__name__}")
    root = results_dir() if results is None else Path(results)
    ds = run_sweep(plan.experiment, plan.sweep, store=root / "store", executor=executor, client=client,
                   batch_size=batch_size, scale=label, progress=progress)
    ds.attrs["grid"] = plan.grid or ", ".join(f"{len(v)} {k}" for k, v in plan.sweep.axes.items())
    ds.attrs["label"] = label
    return ds, save_result(ds, root / result_path(plan.experiment.name, label).name)


def _parse_value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text in ("True", "False"):
        return text == "True"
    return text


def sweep_cli(prog: str, builders: dict, argv=None, *, scales=("laptop", "paper"),
              description: str = "") -> int:
    """A chapter's sweep command line: ``prog NAME [--scale S] [--executor E] [--scheduler ADDR]
    [--batch-size B] [--label L] [--set KEY=VALUE ...] [--plan]``. ``builders``: name →
    ``build(scale, **overrides) -> SweepPlan``; ``--set`` passes overrides (ints, floats, True/False
    or strings); ``--plan`` prints the plan (points, grid) without running. A builder's
    ``ValueError``/``TypeError`` exits through argparse with its message."""
    import argparse

    if not isinstance(prog, str) or not prog:
        raise ValueError(f"prog must be a non-empty str, got {prog!r}")
    if not isinstance(builders, dict) or not builders or not all(
            isinstance(k, str) and callable(v) for k, v in builders.items()):
        raise TypeError("builders must be a non-empty dict of name -> callable(scale, **overrides)")
    parser = argparse.ArgumentParser(prog=prog, description=description or
                                     "the chapter's sweeps through theory.core.run_sweep")
    parser.add_argument("experiment", choices=sorted(builders))
    parser.add_argument("--scale", choices=tuple(scales), default=scales[0])
    parser.add_argument("--executor", choices=("serial", "batched", "dask"), default=None,
                        help="default: batched when the experiment has a batch form, else serial")
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler address (default: a "
                        "2-worker LocalCluster with --executor dask)")
    parser.add_argument("--batch-size", type=int, default=None, help="points per batch (batched)")
    parser.add_argument("--label", default=None, help="the stored result's label (default: the "
                        "scale, with '-reduced' when the plan is smaller than the scale's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a size of the plan (repeatable)")
    parser.add_argument("--plan", action="store_true", help="print the plan and exit")
    args = parser.parse_args(argv)
    overrides = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            parser.error(f"--set takes KEY=VALUE, got {item!r}")
        overrides[key] = _parse_value(value)
    if args.batch_size is not None and args.batch_size < 1:
        parser.error(f"--batch-size must be at least 1, got {args.batch_size}")
    try:
        plan = builders[args.experiment](args.scale, **overrides)
    except (TypeError, ValueError) as err:
        parser.error(f"{args.experiment}: {err}")
    if not isinstance(plan, SweepPlan):
        raise TypeError(f"the builder of {args.experiment!r} must return a SweepPlan, got {type(plan).__name__}")
    label = args.label or (args.scale + ("-reduced" if plan.reduced else ""))
    executor = args.executor or ("batched" if plan.experiment.batch is not None else "serial")
    if args.plan:
        print(f"{plan.experiment.name} [{label}]: {len(plan.sweep)} points; {plan.grid}; "
              f"fixed {plan.experiment.fixed}")
        return 0
    # THEORY_THREADS (default 1) for torch and the BLAS pools, as in a Dask worker: the serial and
    # batched executors then round as the workers do
    set_threads(None)
    t0 = time.perf_counter()
    ds, path = run_plan(plan, args.scale, label=label, executor=executor, client=args.scheduler,
                        batch_size=args.batch_size)
    print(f"{plan.experiment.name} [{label}]: {len(plan.sweep)} points ({int(ds['computed'].sum())} "
          f"computed now) in {time.perf_counter() - t0:.1f} s on {executor}; {ds.attrs['grid']}; "
          f"per point {float(ds['wall_time'].mean()):.2f} s; stored at {path}")
    return 0


def check_result(ds, what: str, variables=(), dims=(), *, name: str = "ds"):
    """Check that ``ds`` is a stored ``what`` result: an ``xarray.Dataset`` holding every data
    variable in ``variables`` and every dimension in ``dims``; returns it, raises ``TypeError``
    naming the argument ``name`` and what it must hold."""
    import xarray as xr

    if not isinstance(what, str) or not what:
        raise TypeError(f"what must be a non-empty str, got {what!r}")
    for arg, seq in (("variables", variables), ("dims", dims)):
        if isinstance(seq, str) or not all(isinstance(k, str) for k in seq):
            raise TypeError(f"{arg} must be a sequence of str, got {seq!r}")
    if not isinstance(ds, xr.Dataset) or any(v not in ds.data_vars for v in variables) or any(
            d not in ds.dims for d in dims):
        holds = ", ".join(variables) or "the experiment's variables"
        over = f" over {', '.join(dims)}" if dims else ""
        got = type(ds).__name__ if not isinstance(ds, xr.Dataset) else \
            f"a Dataset with {sorted(map(str, ds.data_vars))[:8]} over {sorted(map(str, ds.dims))}"
        raise TypeError(f"{name} must be a stored {what} result (an xarray.Dataset with {holds}{over}), got {got}")
    return ds


def check_stored(stored, what: str, variables=(), dims=(), *, source: str = "stored_results"):
    """Check a dict label → stored ``what`` result (as ``source`` returns it), each entry
    through :func:`check_result`; returns it."""
    import xarray as xr

    if not isinstance(what, str) or not what:
        raise TypeError(f"what must be a non-empty str, got {what!r}")
    if not isinstance(stored, dict) or not all(isinstance(k, str) and isinstance(v, xr.Dataset)
                                               for k, v in stored.items()):
        raise TypeError(f"stored must be a dict label -> Dataset (what {source} returns), got "
                        f"{type(stored).__name__}")
    for label, ds in stored.items():
        check_result(ds, what, variables, dims, name=f"stored[{label!r}]")
    return stored


def stored_results(name: str, labels=STORED_LABELS) -> dict:
    """The stored results of experiment ``name``, label → Dataset, in the order of ``labels``,
    each checked (:func:`~theory.core.open_result` raises on a corrupted store); absent ones
    omitted."""
    if isinstance(labels, str) or not hasattr(labels, "__iter__"):
        raise TypeError("labels must be a sequence of strings, not a single string")
    labels = list(labels)
    if not all(isinstance(x, str) and x for x in labels):
        raise TypeError("labels must be a sequence of non-empty strings")
    out = {}
    for label in labels:
        ds = open_result(result_path(name, label))
        if ds is not None:
            out[label] = ds
    return out


def foreign_device(ds) -> str | None:
    """``None`` when every point of the stored result ``ds`` ran on this machine's kind of device —
    the same GPU, or the same CPU model, architecture and vector instruction set
    (:func:`theory.core._runner._device_name`) — else a sentence naming both. Float32 training
    differs between instruction sets (and chaotic runs amplify the last bit), so a page compares
    a stored result bit for bit with its live run only where this is ``None``; elsewhere the
    comparison is not expected to hold, and the page says so instead."""
    from theory.core._runner import _device_name

    check_result(ds, "sweep", ("device",))
    here = _device_name()
    stored = sorted({str(d) for d in ds["device"].values.ravel()})
    if stored == [here]:
        return None
    return (f"stored on {', '.join(stored)}; this machine is {here}: a bit-for-bit comparison with the live "
            "run is not expected here (recompute the stored result on this machine to make it)")


def provenance_report(ds, title: str | None = None) -> str:
    """Where a stored result came from, in three lines: grid and label; commit, host, devices;
    executor and compute time (total and per point). A fourth line when the result was stored
    on another kind of device than this machine's (:func:`foreign_device`)."""
    import xarray as xr

    if not isinstance(ds, xr.Dataset) or "wall_time" not in ds or "experiment" not in ds.attrs:
        raise TypeError("ds must be a stored sweep result (an xarray.Dataset from run_sweep)")
    if title is not None and not isinstance(title, str):
        raise TypeError(f"title must be a str or None, got {type(title).__name__}")
    devices = sorted({str(d) for d in ds["device"].values.ravel()}) if "device" in ds else ["?"]
    head = title or f"stored {ds.attrs['experiment']} result"
    return "\n".join([
        f"{head} [{ds.attrs.get('label', ds.attrs.get('scale'))}]: {ds.attrs.get('grid', '')}",
        f"  commit {ds.attrs.get('commits')}, host {ds.attrs.get('host')}, device {', '.join(devices)}",
        f"  executor {ds.attrs.get('executor')}, compute {ds.attrs.get('wall_time_total', 0.0) / 3600:.2f} h "
        f"in total ({float(ds['wall_time'].mean()):.1f} s a point, {int(ds['wall_time'].size)} points)"]
        + ([f"  {foreign}"] if "device" in ds and (foreign := foreign_device(ds)) else []))
