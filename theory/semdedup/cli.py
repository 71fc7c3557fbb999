"""``semdedup`` / ``python -m theory.semdedup``: SemDeDup on your own embeddings.

    semdedup EMBEDDINGS --k K (--eps EPS | --kept-fraction F) --out DIR
             [--keep hard|easy|random] [--semantics greedy|groups] [--seed S] [--n-iter N]
             [--dask local|slurm|ADDRESS] [--workers W] [--memory-limit 2GiB]

``EMBEDDINGS`` is an ``(n, d)`` float ``.npy`` file or a folder of ``.npy`` shards (stacked in
file-name order); rows are L2-normalised as they are read, a chunk at a time. The run clusters
them by spherical k-means into ``K`` clusters, orders each cluster (``--keep``: "hard", the
paper's and official default, puts the point farthest from its centroid first), and removes a
point when its cosine similarity to an earlier point of its cluster exceeds 1 − ε (the official
``semdedup.py`` rule: a larger ε removes more). ``--kept-fraction F`` solves for the ε whose
kept set is nearest F of the points, exactly (from the sorted per-point maxima; "greedy" only).

``--dask`` runs the chunk- and cluster-level tasks on Dask (:mod:`theory.semdedup._dask`): a
``LocalCluster`` of ``--workers`` processes, a running scheduler's address, or SLURM through
dask-jobqueue (``--print-job-script`` prints the batch script it would submit and exits). The
kept set is identical to the single-process run.

``--out DIR`` (must not exist) receives ``kept.npy`` (sorted int64 indices of the kept rows),
``clusters.csv`` (per-cluster size, kept, removed, ...) and ``report.json`` (the settings, the
counts, the kept fraction at a few ε, timings). They are written into a temporary folder beside
DIR and renamed to DIR at the end, so an interrupted run leaves no DIR. Bad input gets a one-line
error and exit status 2; an interrupted run exits with 130.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["InputError", "main", "run", "write_outputs"]

EPS_GRID = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)  # report.json's kept fractions
# Mapped phases that get a progress bar of their own (k-means has the spine's bar per iteration).
_TASK_NAMES = {"_assign_chunk": "assigning clusters", "_dedup_task": "deduplicating clusters"}


class InputError(ValueError):
    """A bad argument or input file: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        raise InputError(f"{message} (see semdedup --help)")


def _number(name: str, kind: type, low, high=None, *, open_low=False, open_high=False):
    """An argparse type: ``kind`` (int or float) in the interval from ``low`` to ``high`` (None:
    unbounded), each end closed unless ``open_*``; a one-line message naming ``name``."""
    noun = "an integer" if kind is int else "a number"
    if high is None and not open_low:
        rule = f"must be at least {low}" if low else f"must be >= {low}"
    elif high is None:
        rule = f"must be > {low}"
    elif open_low and open_high:
        rule = f"must lie in the open interval ({low:g}, {high:g})"
    else:
        rule = f"must lie in {'(' if open_low else '['}{low:g}, {high:g}{')' if open_high else ']'}"

    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be {noun}, got {text!r}") from None
        if kind is float and value != value:
            raise argparse.ArgumentTypeError(f"{name} {rule}, got {text}")
        too_low = value <= low if open_low else value < low
        too_high = high is not None and (value >= high if open_high else value > high)
        if too_low or too_high:
            raise argparse.ArgumentTypeError(f"{name} {rule}, got {text}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser (its ``--help`` is the module docstring's usage)."""
    p = _Parser(prog="semdedup", description="SemDeDup (Abbas et al. 2023): remove semantic "
                "near-duplicates from an embeddings file, as the official code's rule defines "
                "them.", epilog="Writes DIR/kept.npy, DIR/clusters.csv and DIR/report.json.")
    p.add_argument("embeddings", nargs="?", help="an (n, d) float .npy file or a folder of .npy "
                   "shards")
    p.add_argument("--k", type=_number("--k", int, 1), help="number of k-means clusters (1 <= k <= n)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--eps", type=_number("--eps", float, 0.0, 1.0, open_low=True, open_high=True),
                   help="remove a point whose similarity to an earlier one exceeds 1 - eps "
                   "(0 < eps < 1; larger removes more)")
    g.add_argument("--kept-fraction", type=_number("--kept-fraction", float, 0.0, 1.0, open_low=True),
                   help="solve for the eps that keeps this fraction of the points (greedy only)")
    p.add_argument("--keep", choices=("hard", "easy", "random"), default="hard",
                   help="order within a cluster: hard (farthest from the centroid kept; default), "
                   "easy, random")
    p.add_argument("--semantics", choices=("greedy", "groups"), default="greedy",
                   help="greedy: the official rule (default); groups: one kept per connected group")
    p.add_argument("--seed", type=_number("--seed", int, 0), default=1234, help="seed (default 1234)")
    p.add_argument("--n-iter", type=_number("--n-iter", int, 1), default=20,
                   help="k-means iterations (default 20)")
    p.add_argument("--chunk-size", type=_number("--chunk-size", int, 1), default=65536,
                   help="rows read per chunk (default 65536)")
    p.add_argument("--dask", metavar="local|slurm|ADDRESS",
                   help="run the tasks on Dask: a LocalCluster, SLURM (dask-jobqueue) or the "
                   "address of a running scheduler")
    p.add_argument("--workers", type=_number("--workers", int, 1), default=2,
                   help="Dask workers (LocalCluster processes or SLURM jobs; default 2)")
    p.add_argument("--memory-limit", default=None,
                   help="memory cap per LocalCluster worker, e.g. 2GiB (default: Dask's share)")
    p.add_argument("--slurm-cores", type=_number("--slurm-cores", int, 1), default=1)
    p.add_argument("--slurm-memory", default="4GiB")
    p.add_argument("--slurm-walltime", default="01:00:00")
    p.add_argument("--slurm-queue", default=None)
    p.add_argument("--slurm-account", default=None)
    p.add_argument("--slurm-scheduler-host", default=None,
                   help="the address the scheduler listens on (reachable from the compute nodes)")
    p.add_argument("--print-job-script", action="store_true",
                   help="print the SLURM job script dask-jobqueue would submit, and exit")
    p.add_argument("--out", help="output folder (must not exist)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true", help="show the traceback of an unexpected error")
    return p


def _slurm_options(args) -> dict:
    opts = dict(cores=args.slurm_cores, memory=args.slurm_memory, walltime=args.slurm_walltime,
                queue=args.slurm_queue, account=args.slurm_account)
    if args.slurm_scheduler_host:
        opts["scheduler_options"] = {"host": args.slurm_scheduler_host}
    return opts


def _check_out(out) -> Path:
    if not out:
        raise InputError("--out DIR is required (a folder that does not exist yet)")
    out = Path(out)
    if out.exists() or out.is_symlink():
        raise InputError(f"--out {out} already exists; give a new folder (nothing is overwritten)")
    if not out.parent.is_dir():
        raise InputError(f"--out {out}: the parent folder {out.parent} does not exist")
    return out


def _progress_mapper(enable: bool):
    """The serial mapper, with a progress bar per mapped phase (same calls, same order)."""
    from theory.core import progress

    def mapper(func, arguments):
        desc = _TASK_NAMES.get(getattr(func, "__name__", ""))
        return [func(*a) for a in progress(list(arguments), desc=desc or "tasks",
                                           enable=enable and desc is not None)]

    return mapper


def run(embeddings, *, k: int, eps: float | None = None, kept_fraction: float | None = None,
        keep: str = "hard", semantics: str = "greedy", seed: int = 1234, n_iter: int = 20,
        chunk_size: int = 65536, mapper=None, parallelism: int = 1, progress: bool = False):
    """Validate, deduplicate, and return ``(result, eps, report dict)`` (nothing written).

    Exactly one of ``eps`` (in (0, 1)) and ``kept_fraction`` (in (0, 1]; the exact ε from
    ``SemDeDupResult.eps_for_kept_fraction``, greedy semantics only). ``parallelism``: the
    workers ``mapper`` runs tasks on; clusters are packed into tasks of at most
    ``min(65536, max(1024, n / (4 · parallelism)))`` rows (any packing gives the same result).
    Raises :class:`InputError`
    for bad input (a file that is not a 2-D float array, non-finite or zero-norm rows,
    k > n, ...).
    """
    from theory.core import check_bool, check_choice, check_scalar, check_seed
    from theory.semdedup import open_embeddings, semdedup
    from theory.semdedup._dedup import KEEP_RULES, SEMANTICS

    k = check_scalar(k, "k", kind="int", min=1)
    if eps is not None:
        eps = check_scalar(eps, "eps", min=0.0, max=1.0, include_min=False, include_max=False)
    if kept_fraction is not None:
        kept_fraction = check_scalar(kept_fraction, "kept_fraction", min=0.0, max=1.0, include_min=False)
    keep = check_choice(keep, "keep", KEEP_RULES)
    semantics = check_choice(semantics, "semantics", SEMANTICS)
    seed = check_seed(seed)
    n_iter = check_scalar(n_iter, "n_iter", kind="int", min=1)
    chunk_size = check_scalar(chunk_size, "chunk_size", kind="int", min=1)
    parallelism = check_scalar(parallelism, "parallelism", kind="int", min=1)
    progress = check_bool(progress, "progress")
    if (eps is None) == (kept_fraction is None):
        raise InputError("give exactly one of eps (--eps) and kept_fraction (--kept-fraction)")
    if kept_fraction is not None and semantics != "greedy":
        raise InputError("--kept-fraction needs --semantics greedy (the groups kept set is not a "
                         "threshold on one number per point)")
    t0 = time.perf_counter()
    try:
        source = open_embeddings(embeddings, validate=True, chunk_size=chunk_size,
                                 progress=progress)
    except (ValueError, TypeError, OSError) as err:
        raise InputError(str(err)) from None
    if k > source.n:
        raise InputError(f"--k {k} is larger than the number of points n = {source.n}")
    t_check = time.perf_counter() - t0
    if mapper is None:
        mapper = _progress_mapper(progress)
    task_rows = 65536
    if parallelism > 1:  # enough tasks for every worker (the packing does not change the result)
        task_rows = min(65536, max(1024, -(-source.n // (4 * parallelism))))
    t1 = time.perf_counter()
    result = semdedup(source, k, eps if eps is not None else 0.5, keep=keep, semantics=semantics,
                      seed=seed, n_iter=n_iter, chunk_size=chunk_size, task_rows=task_rows,
                      mapper=mapper, progress=progress, validate=False)
    t_run = time.perf_counter() - t1
    if kept_fraction is not None:
        try:
            eps = result.eps_for_kept_fraction(kept_fraction)
        except ValueError as err:
            raise InputError(f"--kept-fraction {kept_fraction}: {err}") from None
    kept = result.kept_indices(eps)
    sizes = [int(s) for s in __import__("numpy").bincount(result.labels, minlength=result.k)]
    nonempty = sorted(s for s in sizes if s)
    report = {
        "tool": "semdedup (theory.semdedup, the book's implementation of Abbas et al. 2023)",
        "input": source.description, "n": source.n, "d": source.d, "k": result.k,
        "eps": eps, "eps_from": ("given" if kept_fraction is None
                                 else f"solved for kept fraction {kept_fraction}"),
        "threshold": 1.0 - eps, "keep": keep, "semantics": semantics, "seed": seed,
        "n_iter": n_iter, "kept": int(kept.size), "removed": int(source.n - kept.size),
        "kept_fraction": kept.size / source.n,
        "nonempty_clusters": len(nonempty),
        "cluster_size": {"min": nonempty[0], "median": nonempty[len(nonempty) // 2],
                         "max": nonempty[-1]},
        "kmeans_objective": float(result.objective[-1]),
        "seconds": {"checking input": round(t_check, 3), "clustering and deduplication":
                    round(t_run, 3)},
    }
    if semantics == "greedy":
        report["kept_fraction_at_eps"] = {str(e): result.kept_fraction(e) for e in EPS_GRID}
    return result, eps, report


def write_outputs(out: Path, result, eps: float, report: dict) -> None:
    """Write kept.npy, clusters.csv and report.json into a temporary folder beside ``out``,
    then rename it to ``out``; on any failure the temporary folder is removed."""
    import numpy as np

    from theory.core import check_scalar
    from theory.semdedup._dedup import SemDeDupResult

    if not isinstance(result, SemDeDupResult):
        raise TypeError(f"result must be a SemDeDupResult (semdedup), got {type(result).__name__}")
    eps = check_scalar(eps, "eps", min=0.0, max=1.0, include_min=False, include_max=False)
    if not isinstance(report, dict):
        raise TypeError(f"report must be a dict (run's report), got {type(report).__name__}")
    out = Path(out)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        np.save(tmp / "kept.npy", result.kept_indices(eps))
        result.cluster_table(eps).to_csv(tmp / "clusters.csv", index=False)
        report = dict(report, outputs=["kept.npy", "clusters.csv", "report.json"],
                      finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        (tmp / "report.json").write_text(json.dumps(report, indent=1) + "\n")
        if out.exists():
            raise InputError(f"--out {out} appeared while the run was going; nothing overwritten")
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def summary(report: dict, out: Path) -> str:
    """The human-readable summary the command prints."""
    cs = report["cluster_size"]
    lines = [
        f"SemDeDup: {report['n']} points, d = {report['d']}, {report['nonempty_clusters']} "
        f"non-empty clusters of k = {report['k']} (sizes {cs['min']} / {cs['median']} / "
        f"{cs['max']} min / median / max)",
        f"  eps = {report['eps']:.6g} ({report['eps_from']}): removed when similarity > "
        f"{report['threshold']:.6g}; keep {report['keep']}, {report['semantics']} semantics",
        f"  kept {report['kept']} ({100 * report['kept_fraction']:.2f} %), removed "
        f"{report['removed']}",
    ]
    secs = sum(report["seconds"].values())
    lines.append(f"  wrote {out}/ kept.npy, clusters.csv, report.json ({secs:.1f} s)")
    return "\n".join(lines)


def _main(argv) -> int:
    args = build_parser().parse_args(argv)
    if args.print_job_script:
        from theory.semdedup._dask import slurm_job_script

        print(slurm_job_script(**_slurm_options(args)))
        return 0
    if args.embeddings is None:
        raise InputError("the EMBEDDINGS argument (a .npy file or a folder of shards) is required")
    if args.k is None:
        raise InputError("--k is required (the number of k-means clusters)")
    if args.eps is None and args.kept_fraction is None:
        raise InputError("give --eps (in (0, 1)) or --kept-fraction (in (0, 1])")
    out = _check_out(args.out)
    if not Path(args.embeddings).exists():
        raise InputError(f"{args.embeddings} does not exist (a .npy file or a folder of .npy "
                         "shards is required)")
    progress = not args.no_progress
    kwargs = dict(k=args.k, eps=args.eps, kept_fraction=args.kept_fraction, keep=args.keep,
                  semantics=args.semantics, seed=args.seed, n_iter=args.n_iter,
                  chunk_size=args.chunk_size, progress=progress)
    if args.dask:
        from theory.semdedup._dask import dask_mapper

        try:
            ctx = dask_mapper(args.dask, workers=args.workers, memory_limit=args.memory_limit,
                              slurm_options=_slurm_options(args), progress=progress)
            with ctx as mapper:
                result, eps, report = run(args.embeddings, mapper=mapper,
                                          parallelism=args.workers, **kwargs)
        except ValueError as err:  # a bad --dask or --memory-limit
            if isinstance(err, InputError):
                raise
            raise InputError(str(err)) from None
        report["dask"] = {"cluster": args.dask, "workers": args.workers,
                          "memory_limit": args.memory_limit}
    else:
        result, eps, report = run(args.embeddings, **kwargs)
    write_outputs(out, result, eps, report)
    print(summary(report, out))
    return 0


def main(argv=None) -> int:
    """Entry point of ``semdedup`` and ``python -m theory.semdedup``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        return _main(argv)
    except InputError as err:
        print(f"semdedup: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("semdedup: interrupted; no output was written", file=sys.stderr)
        return 130
    except Exception as err:  # an unexpected failure: one line unless --debug
        if debug:
            raise
        print(f"semdedup: error: {type(err).__name__}: {err} (run with --debug for the "
              "traceback)", file=sys.stderr)
        return 1
