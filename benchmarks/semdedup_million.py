"""SemDeDup on 10⁶ × 384 float32 embeddings (1.5 GB on disk) on Dask under a memory cap.

Generates the embeddings to disk (``theory.semdedup.synthetic.write_synthetic``, 8 shards,
never the whole array in memory; reused when the folder already holds the same data), then runs
SemDeDup twice on the same shards with the same settings:

1. in this process (the serial mapper);
2. on a Dask ``LocalCluster`` of ``--workers`` single-threaded worker processes, each capped at
   ``--memory-limit`` (Dask's ``memory_limit``: a worker is paused at 80 % and restarted at 95 %
   of it, so a run that finishes stayed under it). Each task reads only its own rows from the
   shards (the ``EmbeddingSource`` pickles as paths), so a worker holds one chunk or one
   cluster's rows at a time, never the data set.

The resident memory (RSS) of this process and of each worker is sampled every 0.1 s; the
script prints wall times, peak RSS per process, the largest cluster, precision and recall on the
injected duplicates, and asserts the Dask result identical to the serial one (labels, M, kept).

    python benchmarks/semdedup_million.py [--folder /tmp/semdedup_million] [--n 1000000]
        [--k 1000] [--workers 2] [--memory-limit 1GiB]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _timing import PeakSampler, rss_of  # noqa: E402

EPS = (0.01, 0.05)


def data_set(folder: Path, n: int, d: int, k: int, seed: int):
    from theory.semdedup.synthetic import SyntheticEmbeddings, write_synthetic

    data = folder / "data"
    meta = data / "meta.json"
    if meta.is_file():
        m = json.loads(meta.read_text())
        if (m["n"], m["d"], m["n_clusters"], m["seed"]) == (n, d, k, seed):
            return SyntheticEmbeddings(folder=data, embeddings=data / m["embeddings"],
                                       groups=data / "groups.npy", n=n, d=d,
                                       n_duplicates=m["n_duplicates"], seed=seed), 0.0
        raise SystemExit(f"{data} holds other data ({m}); remove it or give another --folder")
    t0 = time.perf_counter()
    syn = write_synthetic(data, n, d, n_clusters=k, seed=seed, shard_rows=-(-n // 8),
                          progress_bar=True)
    return syn, time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--folder", type=Path, default=Path("/tmp/semdedup_million"))
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--d", type=int, default=384)
    p.add_argument("--k", type=int, default=1000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory-limit", default="1GiB")
    args = p.parse_args(argv)

    from theory.core import set_threads
    from theory.semdedup import duplicate_precision_recall, semdedup
    from theory.semdedup._dask import dask_mapper, worker_pids

    set_threads(None)
    syn, t_gen = data_set(args.folder, args.n, args.d, args.k, seed=0)
    size_gb = args.n * args.d * 4 / 1e9
    print(f"embeddings: {syn.embeddings} ({args.n} × {args.d} float32, {size_gb:.2f} GB, "
          f"{syn.n_duplicates} injected near-duplicates); generated in {t_gen:.0f} s"
          if t_gen else f"embeddings: {syn.embeddings} (reused, {size_gb:.2f} GB)", flush=True)
    settings = dict(k=args.k, eps=EPS, n_iter=10, max_points_per_centroid=64, chunk_size=16384,
                    task_rows=16384, seed=0)
    print(f"settings: {settings}", flush=True)

    with PeakSampler(lambda: rss_of({"this process": os.getpid()})) as mem:
        t0 = time.perf_counter()
        serial = semdedup(syn.embeddings, progress=True, **settings)
        t_serial = time.perf_counter() - t0
    peak_serial = mem.peak["this process"]
    print(f"one process: {t_serial:.0f} s, peak RSS {peak_serial / 2**20:.0f} MiB (at the start, "
          f"with numpy, torch and theory imported: {mem.start['this process'] / 2**20:.0f} MiB)",
          flush=True)

    with dask_mapper("local", workers=args.workers, memory_limit=args.memory_limit,
                     progress=True) as mapper:
        mapper.client.run(__import__, "theory.semdedup")  # import torch etc. before sampling
        pids = {f"worker {i + 1}": pid for i, pid in enumerate(worker_pids(mapper.client).values())}
        with PeakSampler(lambda: rss_of({"driver": os.getpid(), **pids})) as mem:
            t0 = time.perf_counter()
            dask = semdedup(syn.embeddings, mapper=mapper, validate=False, **settings)
            t_dask = time.perf_counter() - t0
        restarted = set(worker_pids(mapper.client).values()) != set(pids.values())
    for field in ("labels", "similarity", "max_sim", "kept", "centroids"):
        assert np.array_equal(getattr(serial, field), getattr(dask, field)), field
    assert not restarted, "a worker was restarted (it went over its memory limit)"
    sizes = np.bincount(dask.labels, minlength=args.k)
    precision, recall = duplicate_precision_recall(dask.kept[-1], syn.group())
    print(f"Dask LocalCluster, {args.workers} workers × 1 thread, memory_limit "
          f"{args.memory_limit} each: {t_dask:.0f} s (validation skipped: done by the serial run)")
    for name, peak in mem.peak.items():
        print(f"  peak RSS {name}: {peak / 2**20:.0f} MiB (at the start, imports done: "
              f"{mem.start[name] / 2**20:.0f} MiB)")
    print(f"identical to the one-process run: labels, similarities, M and kept sets (asserted); "
          f"no worker restarted")
    print(f"largest cluster: {sizes.max()} points ({sizes.max() * args.d * 4 / 2**20:.1f} MiB of "
          f"rows); kept at eps = {EPS}: {dask.kept.mean(axis=1).round(4).tolist()}; at eps = "
          f"{EPS[-1]} precision {precision:.4f}, recall {recall:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
