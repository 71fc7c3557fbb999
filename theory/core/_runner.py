"""The sweep runner: an experiment and a :class:`~theory.core.Sweep` in, a labelled result out.

    exp = Experiment("rich_lazy.fig1b", point=fig1b_point, dims={"S": ("step",)})
    ds = run_sweep(exp, Sweep(tau=..., delta=..., seed=[0, 1]), store="results",
                   executor="dask")                       # a 2-worker LocalCluster

One configuration of the sweep is one *point*. The runner computes every point the store does
not already hold, serially, in batches on one device, or as Dask tasks (a ``LocalCluster`` by
default, any scheduler address, or SLURM through ``dask-jobqueue``: :func:`slurm_cluster`), and
returns an ``xarray.Dataset`` whose coordinates are the sweep's axes.

The store (``store=`` a directory, outside ``theory/``) holds one zarr group per point, named by
the point's *key*: a hash of the experiment's name and version, the source of the functions
that compute it (``point`` and ``batch``), the configuration and the scale. So

- a stored point is not recomputed unless its inputs changed (another configuration, scale,
  version, or an edit of ``point``/``batch``: the key changes and the old entry is ignored; bump
  ``version`` when a change in the code they call changes the results);
- an interrupted sweep resumes: each point is written to a temporary name and renamed when
  complete, so a killed run leaves whole points or nothing, and a rerun computes only the rest;
- a corrupted or partial entry (missing variables, wrong shapes, a checksum that no longer
  matches its bytes) is detected on reading, deleted and recomputed, never returned.

Each point carries its provenance (commit, configuration, seed, scale, device, host, wall time,
package versions) in its attributes; the assembled dataset carries the sweep's
(``ds.attrs``) and the per-point wall time and device as variables. :func:`save_result` writes
the assembled dataset as one zarr store, the form the book's notebooks read.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import platform
import shutil
import socket
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from theory.core._scale import get_scale
from theory.core._sweep import Sweep

__all__ = ["Experiment", "open_result", "result_path", "results_dir", "run_sweep", "save_result",
           "slurm_cluster", "store_entries"]

EXECUTORS = ("serial", "batched", "dask")
_FORMAT = 1  # bump when the entry layout changes: old entries then no longer match


@dataclass(frozen=True)
class Experiment:
    """What one point of a sweep computes.

    ``point(**config) -> {name: array}``: the configuration's axis values as keywords (plus
    ``fixed``), returning arrays whose shapes are the same for every point. ``batch(configs) ->
    [{name: array}, ...]`` (optional): the same for a list of configurations at once, on one
    device (executor ``"batched"``). ``dims``: name → names of its trailing dimensions;
    ``coords``: coordinates of trailing dimensions (e.g. ``{"step": steps}``). ``version``: bump
    it to invalidate stored points when the meaning changes without a code change. ``fixed``:
    keyword arguments shared by every point (part of the key).
    """

    name: str
    point: Callable
    batch: Callable | None = None
    dims: dict = field(default_factory=dict)
    coords: dict = field(default_factory=dict)
    version: str = "1"
    fixed: dict = field(default_factory=dict)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip() or "/" in self.name:
            raise ValueError(f"name must be a non-empty string without '/', got {self.name!r}")
        if not callable(self.point):
            raise TypeError(f"point must be callable, got {type(self.point).__name__}")
        if self.batch is not None and not callable(self.batch):
            raise TypeError(f"batch must be callable or None, got {type(self.batch).__name__}")
        for attr in ("dims", "coords", "fixed"):
            if not isinstance(getattr(self, attr), dict):
                raise TypeError(f"{attr} must be a dict, got {type(getattr(self, attr)).__name__}")
        if not isinstance(self.version, str):
            raise TypeError(f"version must be a str, got {type(self.version).__name__}")
        _jsonable(self.fixed, "fixed")

    def code_hash(self) -> str:
        """A hash of the source of ``point`` and ``batch``: editing either changes every key.

        Only these two functions are hashed, not the package they call (an edit elsewhere in the
        module or of a library would otherwise recompute every stored point); bump ``version``
        when a change below them changes the results."""
        h = hashlib.sha256()
        for fn in (self.point, self.batch):
            if fn is None:
                continue
            try:
                h.update(inspect.getsource(fn).encode())
            except (OSError, TypeError):  # built in or defined interactively: its name only
                h.update(repr(getattr(fn, "__qualname__", fn)).encode())
        return h.hexdigest()[:16]


def _jsonable(obj, name):
    try:
        return json.dumps(obj, sort_keys=True, default=_json_default)
    except TypeError as exc:
        raise TypeError(f"{name} must hold numbers, strings, bools, lists or dicts: {exc}") from None


def _json_default(x):
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"{type(x).__name__} is not JSON serialisable")


def point_key(exp: Experiment, config: dict, scale: str, code: str | None = None) -> str:
    """The store key of one point: a hash of what determines its result."""
    payload = {"format": _FORMAT, "experiment": exp.name, "version": exp.version,
               "code": code if code is not None else exp.code_hash(), "scale": scale,
               "config": config, "fixed": exp.fixed}
    return hashlib.sha256(_jsonable(payload, "config").encode()).hexdigest()[:24]


def _checksum(arrays: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover - not Linux
        pass
    return platform.processor() or ""


def _device_name() -> str:
    """The device a point ran on: the GPU's name, or the CPU's model, architecture and the vector
    instruction set torch's kernels use (float32 training differs between instruction sets, so a
    stored result reproduces bit for bit only where these agree)."""
    capability = ""
    try:
        import torch

        if torch.cuda.is_available():
            return f"cuda ({torch.cuda.get_device_name(0)})"
        capability = torch.backends.cpu.get_cpu_capability()
    except Exception:  # pragma: no cover
        pass
    parts = [p for p in (_cpu_model(), platform.machine(), capability) if p]
    return f"cpu ({', '.join(parts)})"


def _provenance() -> dict:
    from theory.core._ledger import current_commit

    import torch

    return {"commit": current_commit(), "host": socket.gethostname(), "device": _device_name(),
            "python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__}


def _timed_point(point, fixed, config):
    """Run one point (in this process or on a Dask worker): (arrays, wall seconds, device)."""
    t0 = time.perf_counter()
    out = point(**fixed, **config)
    wall = time.perf_counter() - t0
    return _as_arrays(out), wall, _device_name()


def _as_arrays(out) -> dict:
    if not isinstance(out, dict) or not out:
        raise TypeError(f"an experiment's point must return a non-empty dict name → array, "
                        f"got {type(out).__name__}")
    arrays = {}
    for k, v in out.items():
        if not isinstance(k, str):
            raise TypeError(f"result names must be strings, got {k!r}")
        if hasattr(v, "detach"):
            v = v.detach().cpu().numpy()
        a = np.asarray(v)
        if a.dtype == object:
            raise TypeError(f"result {k!r} must be numeric, got dtype object")
        arrays[k] = a
    return arrays


def _entry_path(store: Path, exp: Experiment, key: str) -> Path:
    return store / exp.name / f"{key}.zarr"


def _write_entry(path: Path, arrays: dict, attrs: dict) -> None:
    """Write one point atomically: a temporary group renamed to ``path`` when complete."""
    import xarray as xr

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    ds = xr.Dataset({k: (tuple(f"{k}_{i}" for i in range(a.ndim)), a) for k, a in arrays.items()},
                    attrs={"provenance": json.dumps(attrs, sort_keys=True, default=_json_default),
                           "checksum": _checksum(arrays)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.to_zarr(tmp, mode="w", consolidated=False)
    if path.exists():  # a concurrent writer finished first: keep one, the same content
        shutil.rmtree(tmp, ignore_errors=True)
        return
    os.replace(tmp, path)


def _read_entry(path: Path):
    """(arrays, provenance) of a stored point, or None when absent, partial or corrupted
    (then the entry is removed so it is recomputed)."""
    import xarray as xr

    if not path.exists():
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = xr.open_zarr(path, consolidated=False).load()
        arrays = {k: ds[k].values for k in ds.data_vars}
        ok = ds.attrs.get("checksum") == _checksum(arrays)
        prov = json.loads(ds.attrs["provenance"]) if ok else None
    except Exception:  # noqa: BLE001 - any unreadable entry is recomputed
        ok, arrays, prov = False, None, None
    if not ok:
        shutil.rmtree(path, ignore_errors=True)
        return None
    return arrays, prov


def store_entries(store, exp: Experiment) -> list[Path]:
    """The complete point entries of ``exp`` in ``store`` (temporary ones excluded)."""
    if not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"store must be a directory path (str or Path), got {type(store).__name__}")
    if not isinstance(exp, Experiment):
        raise TypeError(f"exp must be a theory.core.Experiment, got {type(exp).__name__}")
    d = Path(store) / exp.name
    return sorted(p for p in d.glob("*.zarr") if not p.name.startswith(".")) if d.exists() else []


def _validate_sweep(sweep) -> None:
    if not isinstance(sweep, Sweep):
        raise TypeError(f"sweep must be a theory.core.Sweep, got {type(sweep).__name__}")
    for name, vals in sweep.axes.items():
        if name == "seed" or name.endswith("_seed"):
            for v in vals:
                if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                    raise ValueError(f"axis {name!r} holds seeds, which must be non-negative "
                                     f"ints; got {v!r}")


def run_sweep(experiment: Experiment, sweep: Sweep, *, store=None, executor: str = "serial",
              client=None, batch_size: int | None = None, scale: str | None = None,
              progress=None):
    """Compute every point of ``sweep`` (those ``store`` lacks) and return an ``xarray.Dataset``.

    ``executor``: ``"serial"`` (one point after another, in this process), ``"batched"``
    (``experiment.batch`` on lists of ``batch_size`` configurations, default all), or
    ``"dask"`` (one task per point on ``client``: a ``distributed.Client``, a scheduler address,
    a cluster object such as :func:`slurm_cluster`'s, or None for a 2-worker ``LocalCluster``
    of one thread each, started and closed here). The results are the same bit for bit whatever
    the executor, when ``point`` is deterministic in its configuration (seeds from the
    configuration, never from the batch: :meth:`Sweep.seeds`).

    ``store``: a directory for the point entries (see the module docstring), or None to keep
    nothing. ``scale``: recorded and part of every key (default: ``THEORY_SCALE``).
    Returns the dataset with variables over ``sweep.dims + dims[name]``, the per-point
    ``wall_time`` (s) and ``computed`` (True where this call computed the point, False where it
    was read from the store), and ``attrs`` with the provenance.
    """
    import xarray as xr

    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment must be a theory.core.Experiment, got "
                        f"{type(experiment).__name__}")
    _validate_sweep(sweep)
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    if executor == "batched" and experiment.batch is None:
        raise ValueError(f"executor='batched' needs experiment.batch; {experiment.name!r} has none")
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int or None, got {batch_size!r}")
    scale = get_scale() if scale is None else scale
    if not isinstance(scale, str) or not scale:
        raise TypeError(f"scale must be a non-empty str, got {scale!r}")
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"progress must be None, True or False, got {progress!r}")
    if store is not None and not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"store must be a directory path (str or Path) or None, got {type(store).__name__}")
    store = None if store is None else Path(store)
    if store is not None and store.exists() and not store.is_dir():
        raise ValueError(f"store must be a directory, got the file {store}")

    configs = sweep.configs()
    code = experiment.code_hash()
    keys = [point_key(experiment, c, scale, code) for c in configs]
    results: list = [None] * len(configs)
    prov: list = [None] * len(configs)
    computed = np.zeros(len(configs), dtype=bool)
    if store is not None:
        for i, k in enumerate(keys):
            got = _read_entry(_entry_path(store, experiment, k))
            if got is not None:
                results[i], prov[i] = got
    todo = [i for i in range(len(configs)) if results[i] is None]
    base = _provenance()
    t_start = time.perf_counter()

    def finish(i, arrays, wall, device):
        results[i] = arrays
        computed[i] = True
        p = dict(base, device=device, config=configs[i], scale=scale, wall_time=wall,
                 experiment=experiment.name, version=experiment.version, code=code, key=keys[i])
        prov[i] = p
        if store is not None:
            _write_entry(_entry_path(store, experiment, keys[i]), arrays, p)

    bar = _bar(len(todo), experiment.name, progress)
    if executor == "serial":
        for i in todo:
            finish(i, *_timed_point(experiment.point, experiment.fixed, configs[i]))
            bar.update(1)
    elif executor == "batched":
        size = len(todo) if batch_size is None else int(batch_size)
        for lo in range(0, len(todo), max(size, 1)):
            chunk = todo[lo:lo + size]
            t0 = time.perf_counter()
            outs = experiment.batch([dict(experiment.fixed, **configs[i]) for i in chunk])
            wall = (time.perf_counter() - t0) / max(len(chunk), 1)
            if not isinstance(outs, (list, tuple)) or len(outs) != len(chunk):
                raise TypeError(f"experiment.batch must return a list of {len(chunk)} dicts, got "
                                f"{type(outs).__name__} of length {len(outs) if hasattr(outs, '__len__') else '?'}")
            for i, out in zip(chunk, outs):
                finish(i, _as_arrays(out), wall, _device_name())
            bar.update(len(chunk))
    else:
        _run_dask(experiment, configs, todo, client, finish, bar)
    bar.close()

    shapes = {k: v.shape for k, v in results[0].items()}
    for i, r in enumerate(results):
        if {k: v.shape for k, v in r.items()} != shapes:
            raise ValueError(f"point {configs[i]} returned shapes {({k: v.shape for k, v in r.items()})}, "
                             f"unlike the first point's {shapes}: every point must return the same")
    data = {k: np.stack([r[k] for r in results]) for k in shapes}
    ds = sweep.to_dataset(data, dims={k: tuple(experiment.dims.get(k, ())) or
                                      tuple(f"{k}_dim_{j}" for j in range(len(shapes[k])))
                                      for k in shapes},
                          coords=experiment.coords)
    ds["wall_time"] = (sweep.dims, sweep.unflatten(np.array([p["wall_time"] for p in prov])))
    ds["computed"] = (sweep.dims, sweep.unflatten(computed))
    ds["device"] = (sweep.dims, sweep.unflatten(np.array([p["device"] for p in prov])))
    commits = sorted({p["commit"] for p in prov})
    ds.attrs.update({"experiment": experiment.name, "version": experiment.version, "code": code,
                     "scale": scale, "executor": executor, "commits": ",".join(commits),
                     "fixed": _jsonable(experiment.fixed, "fixed"),
                     "points": len(configs), "computed_now": int(computed.sum()),
                     "wall_time_total": float(sum(p["wall_time"] for p in prov)),
                     "wall_time_this_call": time.perf_counter() - t_start,
                     "host": base["host"], "torch": base["torch"], "numpy": base["numpy"]})
    return ds


def _bar(total, name, progress):
    from theory.core._progress import progress as make_bar

    if progress is False or total == 0 or (progress is None and total < 10):
        class _Null:
            def update(self, n):
                pass

            def close(self):
                pass
        return _Null()
    return make_bar(total=total, desc=f"{name}: {total} points")


def _run_dask(experiment, configs, todo, client, finish, bar):
    from distributed import Client, LocalCluster, as_completed

    own_cluster = own_client = None
    if client is None:
        own_cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        client = own_client = Client(own_cluster)
    elif isinstance(client, str):
        client = own_client = Client(client)
    elif not isinstance(client, Client):
        if hasattr(client, "scheduler_address"):   # a cluster object (LocalCluster, SLURMCluster)
            client = own_client = Client(client)
        else:
            raise TypeError(f"client must be None, a distributed.Client, a scheduler address or "
                            f"a cluster, got {type(client).__name__}")
    try:
        futures = {client.submit(_timed_point, experiment.point, experiment.fixed, configs[i],
                                 key=f"{experiment.name}-{i}-{uuid.uuid4().hex[:6]}", retries=2,
                                 pure=False): i for i in todo}
        for fut in as_completed(futures):
            arrays, wall, device = fut.result()
            finish(futures[fut], arrays, wall, device)
            bar.update(1)
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def slurm_cluster(*, jobs: int = 1, cores: int = 1, memory: str = "4GB", walltime: str = "01:00:00",
                  gpus: int = 0, **kwargs):
    """A ``dask_jobqueue.SLURMCluster`` scaled to ``jobs`` jobs (pass it as ``client=``).

    Each job runs one Dask worker with ``cores`` threads and ``memory`` (``jobs=0`` submits
    nothing: to read the job script first, or to scale later); ``gpus > 0`` adds
    ``--gres=gpu:<gpus>`` (the workers then use their GPU: ``theory.core.default_device``).
    ``cluster.job_script()`` prints the job script it submits; other keywords go to
    ``SLURMCluster`` (``queue=``, ``account=``, ``job_extra_directives=``...).
    """
    from dask_jobqueue import SLURMCluster

    for name, v, lo in (("jobs", jobs, 0), ("cores", cores, 1)):
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise ValueError(f"{name} must be an int >= {lo}, got {v!r}")
    for name, v in (("memory", memory), ("walltime", walltime)):
        if not isinstance(v, str) or not v.strip():
            raise TypeError(f"{name} must be a non-empty str such as '4GB' / '01:00:00', got {v!r}")
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
        raise ValueError(f"gpus must be a non-negative int, got {gpus!r}")
    extra = list(kwargs.pop("job_extra_directives", []))
    if gpus:
        extra.append(f"--gres=gpu:{gpus}")
    kwargs.setdefault("scheduler_options", {"dashboard_address": None})
    cluster = SLURMCluster(cores=cores, processes=1, memory=memory, walltime=walltime,
                           job_extra_directives=extra, **kwargs)
    if jobs:
        cluster.scale(jobs=jobs)
    return cluster


def save_result(ds, path) -> Path:
    """Write an assembled sweep result as one zarr store (atomically: temporary, then renamed)."""
    import xarray as xr

    if not isinstance(ds, xr.Dataset):
        raise TypeError(f"ds must be an xarray.Dataset, got {type(ds).__name__}")
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    out = ds.copy()
    out.attrs["checksum"] = _checksum({k: out[k].values for k in out.data_vars
                                       if out[k].dtype.kind in "biuf"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out.to_zarr(tmp, mode="w", consolidated=False)
    if path.exists():
        shutil.rmtree(path)
    os.replace(tmp, path)
    return path


def results_dir() -> Path:
    """Where stored sweep results live: ``THEORY_RESULTS``, else ``results/`` in the project
    (next to the book, outside ``theory/``; the book's build key covers it)."""
    raw = os.environ.get("THEORY_RESULTS", "").strip()
    if raw:
        return Path(raw)
    from theory.core._cache import RESULTS_DIR, ROOT

    return ROOT / RESULTS_DIR


def result_path(name: str, scale: str) -> Path:
    """The assembled result of experiment ``name`` at ``scale``: ``results/<name>-<scale>.zarr``."""
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"name must be an experiment name without '/', got {name!r}")
    if not isinstance(scale, str) or not scale:
        raise ValueError(f"scale must be a non-empty str, got {scale!r}")
    return results_dir() / f"{name}-{scale}.zarr"


def open_result(path):
    """A stored sweep result, checked: None when absent; ``ValueError`` when corrupted."""
    import xarray as xr

    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or Path, got {type(path).__name__}")
    path = Path(path)
    if not path.exists():
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = xr.open_zarr(path, consolidated=False).load()
    want = ds.attrs.get("checksum")
    got = _checksum({k: ds[k].values for k in ds.data_vars if ds[k].dtype.kind in "biuf"})
    if want != got:
        raise ValueError(f"the stored result {path} is corrupted (checksum mismatch): delete it "
                         f"and rerun the sweep")
    return ds
