"""SemDeDup beyond one machine: a Dask mapper for the spine's chunk- and cluster-level tasks.

The spine (``spherical_kmeans``, ``assign_clusters``, ``semdedup``) takes a ``mapper``: a
callable ``mapper(func, list_of_argument_tuples) -> results, in order``. Every function it maps
is a module-level pure function of picklable arguments and the driver reduces the partial
results in a fixed order, so any order-preserving mapper gives the serial result bit for bit.
:class:`DaskMapper` is that mapper on a ``distributed.Client`` (``client.map`` + ``gather``):

- the argument tuples are cut into contiguous batches when there are many of them (one task
  runs its batch's calls one after another, so a task's memory is still that of its largest
  call), and the results are flattened back in order;
- an argument that is the same large object in every tuple (an in-memory array, the centroids)
  is scattered to the workers once instead of being pickled into each task; an
  ``EmbeddingSource`` over a file pickles as its paths, so each task reads only its own rows
  and a worker's memory is bounded by the largest cluster, not by the data set.

Where the client comes from (:func:`dask_client`): a ``LocalCluster`` of worker processes on
this machine (loopback only, no dashboard), the address of a running scheduler, or SLURM through
``dask-jobqueue`` (:func:`slurm_cluster`; :func:`slurm_job_script` returns the batch script it
submits for each job). The book's construction; the official code runs its per-cluster loop as
``submitit`` SLURM jobs instead (``semdedup.py``, ``SemDeDupJob``).
"""

from __future__ import annotations

import contextlib
import logging
import math
import pickle
import re
import uuid
import warnings

__all__ = ["DaskMapper", "dask_client", "dask_mapper", "slurm_cluster", "slurm_job_script",
           "worker_pids"]

# Mapped phases that get a progress bar (k-means has the spine's bar per iteration).
_PROGRESS = {"_assign_chunk": "assigning clusters (Dask)", "_dedup_task": "deduplicating clusters (Dask)"}
_SCATTER_BYTES = 1 << 20  # shared arguments larger than this are scattered once
_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$|^[\w.\-\[\]:]+:\d+$")


def _run_batch(func, batch):
    """Worker side: the calls of one batch, in order."""
    return [func(*args) for args in batch]


def _shared_large(args: list[tuple], known: dict) -> dict[int, object]:
    """Positions whose argument is one object in every tuple and pickles to over 1 MiB
    (``known``: objects already scattered, by id, not measured again)."""
    first = args[0]
    shared = {}
    for p, obj in enumerate(first):
        if obj is None or isinstance(obj, (int, float, str, bool)):
            continue
        if all(len(a) == len(first) and a[p] is obj for a in args):
            if id(obj) in known and known[id(obj)][0] is obj:
                shared[p] = obj
                continue
            nbytes = getattr(obj, "nbytes", None)
            if nbytes is None:
                try:
                    nbytes = len(pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))
                except Exception:  # unpicklable here: let Dask report it
                    continue
            if nbytes > _SCATTER_BYTES:
                shared[p] = obj
    return shared


class DaskMapper:
    """``mapper(func, list_of_argument_tuples) -> list of results in order``, on a Dask client.

    ``client``: a ``distributed.Client``. ``max_tasks``: at most this many tasks per call
    (default: 16 per worker thread, at least 256); more argument tuples than that are grouped
    into contiguous batches, one task each. ``progress``: a progress bar over the finished tasks
    (``theory.core.progress``). The result is ``[func(*a) for a in args]``, computed on the
    workers; ``calls`` counts the mapped calls and ``tasks`` the tasks submitted.
    """

    def __init__(self, client, *, max_tasks: int | None = None, progress: bool = False):
        from theory.core import check_scalar

        if not hasattr(client, "map") or not hasattr(client, "gather"):
            raise TypeError(f"client must be a distributed.Client, got {type(client).__name__}")
        if max_tasks is not None:
            max_tasks = check_scalar(max_tasks, "max_tasks", kind="int", min=1)
        self.client, self.max_tasks, self.progress = client, max_tasks, bool(progress)
        self.calls = 0
        self.tasks = 0
        self._scattered: dict[int, tuple] = {}  # id(obj) -> (obj, future), the last call's

    def _task_limit(self) -> int:
        if self.max_tasks is not None:
            return self.max_tasks
        threads = sum(self.client.nthreads().values()) or 1
        return max(256, 16 * threads)

    def _scatter(self, obj, keep: dict):
        held = self._scattered.get(id(obj))
        if held is None or held[0] is not obj:
            held = (obj, self.client.scatter(obj, broadcast=True, hash=False))
        keep[id(obj)] = held
        return held[1]

    def __call__(self, func, args):
        if not callable(func):
            raise TypeError(f"func must be callable, got {type(func).__name__}")
        args = [tuple(a) for a in args]
        if not args:
            return []
        shared = _shared_large(args, self._scattered)
        keep: dict[int, tuple] = {}  # what this call scattered; the previous call's is released
        if shared:
            futures = {p: self._scatter(obj, keep) for p, obj in shared.items()}
            args = [tuple(futures.get(p, x) for p, x in enumerate(a)) for a in args]
        self._scattered = keep
        size = math.ceil(len(args) / self._task_limit())
        batches = [args[i:i + size] for i in range(0, len(args), size)]
        name = getattr(func, "__name__", "task")
        token = uuid.uuid4().hex[:12]
        keys = [f"semdedup-{name}-{token}-{i}" for i in range(len(batches))]
        futures = self.client.map(_run_batch, [func] * len(batches), batches, key=keys, pure=False)
        self.calls += len(args)
        self.tasks += len(batches)
        if self.progress and name in _PROGRESS:
            from distributed import as_completed

            from theory.core import progress

            for _ in progress(as_completed(futures), desc=_PROGRESS[name], total=len(futures)):
                pass
        results = self.client.gather(futures)
        return [r for batch in results for r in batch]


def _quiet_options() -> dict:
    return {"dashboard_address": None}


def slurm_cluster(*, cores: int = 1, memory: str = "4GiB", processes: int = 1,
                  walltime: str = "01:00:00", queue: str | None = None,
                  account: str | None = None, job_extra_directives=(),
                  scheduler_options: dict | None = None, **kwargs):
    """A ``dask_jobqueue.SLURMCluster`` with SemDeDup's defaults (one worker process per job).

    Each SLURM job runs ``processes`` Dask workers sharing ``cores`` cores and ``memory``
    (that memory is also the workers' Dask ``memory_limit``, so no task can exceed it) for
    ``walltime``; ``queue`` and ``account`` become ``#SBATCH -p`` / ``-A``;
    ``job_extra_directives`` more ``#SBATCH`` lines. The scheduler runs in this process:
    ``scheduler_options`` are passed to it (e.g. ``{"host": "0.0.0.0"}`` or an ``interface``
    reachable from the compute nodes; no dashboard unless you ask for one). Nothing is
    submitted until ``cluster.scale(jobs=...)``; :func:`slurm_job_script` shows the script.
    """
    from theory.core import check_scalar

    cores = check_scalar(cores, "cores", kind="int", min=1)
    processes = check_scalar(processes, "processes", kind="int", min=1)
    for name, value in (("memory", memory), ("walltime", walltime)):
        if not isinstance(value, str) or not value:
            raise TypeError(f"{name} must be a non-empty string such as {'4GiB' if name == 'memory' else '01:00:00'!r}, "
                            f"got {value!r}")
    for name, value in (("queue", queue), ("account", account)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{name} must be None or a string, got {type(value).__name__}")
    if scheduler_options is not None and not isinstance(scheduler_options, dict):
        raise TypeError(f"scheduler_options must be None or a dict, got {type(scheduler_options).__name__}")
    from dask_jobqueue import SLURMCluster

    return SLURMCluster(cores=cores, memory=memory, processes=processes, walltime=walltime,
                        queue=queue, account=account,
                        job_extra_directives=list(job_extra_directives),
                        scheduler_options=_quiet_options() | dict(scheduler_options or {}),
                        **kwargs)


def slurm_job_script(**kwargs) -> str:
    """The SLURM batch script that :func:`slurm_cluster` (same arguments) submits per job.

    It is ``SLURMCluster.job_script()``: ``#SBATCH`` lines for the job name, cores, memory and
    wall time, then the command that starts ``distributed.cli.dask_worker`` pointed at this
    process's scheduler. The cluster is created (its scheduler listens where
    ``scheduler_options`` say), asked for the script and closed; nothing is submitted.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = slurm_cluster(**kwargs)
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def _check_client_args(dask, workers, threads_per_worker, slurm_options):
    from theory.core import check_scalar

    if not isinstance(dask, str) or not dask:
        raise TypeError(f"dask must be 'local', 'slurm' or a scheduler address, got {dask!r}")
    if dask not in ("local", "slurm") and not _ADDRESS.match(dask):
        raise ValueError(f"dask must be 'local', 'slurm' or a scheduler address such as "
                         f"'tcp://127.0.0.1:8786', got {dask!r}")
    check_scalar(workers, "workers", kind="int", min=1)
    check_scalar(threads_per_worker, "threads_per_worker", kind="int", min=1)
    if slurm_options is not None and not isinstance(slurm_options, dict):
        raise TypeError(f"slurm_options must be None or a dict, got {type(slurm_options).__name__}")


def dask_client(dask: str = "local", *, workers: int = 2, threads_per_worker: int = 1,
                memory_limit=None, slurm_options: dict | None = None):
    """A ``distributed.Client`` for ``dask`` (a context manager that closes what it started); the
    arguments are checked when it is called, before anything starts (see :func:`_dask_client`)."""
    _check_client_args(dask, workers, threads_per_worker, slurm_options)
    return _dask_client(dask, workers=workers, threads_per_worker=threads_per_worker,
                        memory_limit=memory_limit, slurm_options=slurm_options)


@contextlib.contextmanager
def _dask_client(dask: str = "local", *, workers: int = 2, threads_per_worker: int = 1,
                 memory_limit=None, slurm_options: dict | None = None):
    """A ``distributed.Client`` for ``dask`` (a context manager that closes what it started).

    ``"local"``: a ``LocalCluster`` of ``workers`` worker processes (``processes=True``) with
    ``threads_per_worker`` threads each on 127.0.0.1, no dashboard, each worker's memory capped
    at ``memory_limit`` (bytes or a string such as ``"2GiB"``; Dask pauses a worker at 80 % and
    restarts it at 95 %; default: Dask's share of this machine's memory). ``"slurm"``:
    :func:`slurm_cluster` (``slurm_options``) scaled to ``workers`` jobs. Any other string is the
    address of a running scheduler (``tcp://host:port``), used as it is.
    """
    from theory.core import check_scalar

    if not isinstance(dask, str) or not dask:
        raise TypeError(f"dask must be 'local', 'slurm' or a scheduler address, got {dask!r}")
    workers = check_scalar(workers, "workers", kind="int", min=1)
    threads_per_worker = check_scalar(threads_per_worker, "threads_per_worker", kind="int", min=1)
    from distributed import Client, LocalCluster

    if dask == "local":
        with warnings.catch_warnings():  # the scheduler's HTTP health routes (no dashboard) move
            warnings.filterwarnings("ignore", message="Port .* is already in use")  # off 8787
            cluster = LocalCluster(n_workers=workers, threads_per_worker=threads_per_worker,
                                   processes=True, host="127.0.0.1", dashboard_address=None,
                                   memory_limit="auto" if memory_limit is None else memory_limit,
                                   silence_logs=logging.ERROR)
    elif dask == "slurm":
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Port .* is already in use")
            cluster = slurm_cluster(**(slurm_options or {}))
        cluster.scale(jobs=workers)
    elif _ADDRESS.match(dask):
        cluster = None
    else:
        raise ValueError(f"dask must be 'local', 'slurm' or a scheduler address such as "
                         f"'tcp://127.0.0.1:8786', got {dask!r}")
    try:
        client = Client(cluster if cluster is not None else dask)
    except BaseException:
        if cluster is not None:
            cluster.close()
        raise
    try:
        if dask == "slurm":
            client.wait_for_workers(1)
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def dask_mapper(dask: str = "local", *, workers: int = 2, threads_per_worker: int = 1,
                memory_limit=None, slurm_options: dict | None = None,
                max_tasks: int | None = None, progress: bool = False):
    """A :class:`DaskMapper` on :func:`dask_client` (a context manager; the arguments are checked
    when it is called, before anything starts). See :func:`_dask_mapper`."""
    from theory.core import check_bool, check_scalar

    _check_client_args(dask, workers, threads_per_worker, slurm_options)
    if max_tasks is not None:
        check_scalar(max_tasks, "max_tasks", kind="int", min=1)
    check_bool(progress, "progress")
    return _dask_mapper(dask, workers=workers, threads_per_worker=threads_per_worker,
                        memory_limit=memory_limit, slurm_options=slurm_options,
                        max_tasks=max_tasks, progress=progress)


@contextlib.contextmanager
def _dask_mapper(dask: str = "local", *, workers: int = 2, threads_per_worker: int = 1,
                 memory_limit=None, slurm_options: dict | None = None,
                 max_tasks: int | None = None, progress: bool = False):
    """A :class:`DaskMapper` on :func:`dask_client` (same arguments); closes it on exit.

    ``with dask_mapper("local", workers=2) as mapper: semdedup(path, k, eps, mapper=mapper)``
    gives the same result as ``semdedup(path, k, eps)``, bit for bit.
    """
    with _dask_client(dask, workers=workers, threads_per_worker=threads_per_worker,
                      memory_limit=memory_limit, slurm_options=slurm_options) as client:
        yield DaskMapper(client, max_tasks=max_tasks, progress=progress)


def worker_pids(client) -> dict[str, int]:
    """The process id of each worker of ``client`` (to sample their memory)."""
    import os

    return client.run(os.getpid)
