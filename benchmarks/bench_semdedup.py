"""SemDeDup: points per second for clustering and deduplication, and the official per-cluster loop.

On n × 384 float32 synthetic embeddings written to a temporary ``.npy`` file
(``theory.semdedup.synthetic``, default n = 10⁵, k = 100 clusters, chunks of 16384 rows):

- clustering (spherical k-means, 20 iterations, then the assignment of every point) and
  deduplication (the per-cluster step: order, read the cluster's rows, M, the verdicts for four ε)
  in one process (THEORY_THREADS BLAS/torch threads, default 1), and on a Dask LocalCluster with
  1 and 2 single-threaded worker processes (start-up excluded); labels, similarities, M and kept
  sets asserted bit-identical to the single-process run;
- **a re-implementation of the official per-cluster loop** (``facebookresearch/SemDeDup``,
  ``semdedup.py``, ``SemDeDupJob._process_shard``), written here from its published algorithm,
  on the same file and the same clusters: per cluster, sort the members by distance to the
  centroid (``sort_clusters.py``'s rule: descending 1 − similarity, a stable sort), read their
  rows from a memory map, ``torch`` ``E @ E.T`` with the diagonal zeroed, ``torch.triu(·, 1)``,
  the column maximum, ``M > 1 − ε`` for each ε, and one pandas DataFrame pickled per cluster;
  on CPU (the official default device is CUDA), one torch thread. Its kept sets are asserted
  identical to ours, and the ratio of deduplication throughputs is reported.

    python benchmarks/bench_semdedup.py [--n 100000] [--k 100] [--d 384] [--workers 1 2]
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import timed  # noqa: E402

EPS = (0.01, 0.02, 0.05, 0.1)
CHUNK = 16384      # rows per chunk-level task (k-means, assignment)
TASK_ROWS = 8192   # rows per cluster-level task (the spine's 65536 would make 2 tasks at 10^5)


# -- the official per-cluster loop, re-implemented from its published algorithm ----------------
def official_loop(embs_path, n: int, d: int, labels, similarity, k: int, eps_list, save_loc):
    """A re-implementation (not the official code) of ``semdedup.py``'s per-cluster loop.

    Returns the seconds it took. Per cluster: members sorted as ``sort_clusters.py`` sorts them
    (by distance 1 − similarity to the centroid, descending: the "hard" order), rows read from
    a memory map of the embeddings, ``E @ E.T`` in torch with the diagonal zeroed,
    ``torch.triu(·, diagonal=1)``, ``M = max over each column``, ``M > 1 − ε`` for each ε into a
    DataFrame (``indices`` plus one ``eps=…`` column), pickled to
    ``save_loc/dataframes/cluster_<id>.pkl``. Cluster i's sorted member ids are saved beside it
    (``sorted_clusters/cluster_<id>.npy``, as the official sort step stores them).
    """
    import pandas as pd
    import torch

    t0 = time.perf_counter()
    embs = np.memmap(embs_path, dtype="float32", mode="r", shape=(n, d),
                     offset=_npy_offset(embs_path))
    os.makedirs(os.path.join(save_loc, "dataframes"), exist_ok=True)
    os.makedirs(os.path.join(save_loc, "sorted_clusters"), exist_ok=True)
    by_cluster = np.argsort(labels, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(labels, minlength=k))])
    for cluster_id in range(k):
        members = by_cluster[bounds[cluster_id]:bounds[cluster_id + 1]]
        dist = 1.0 - similarity[members].astype(np.float64)
        cluster_sorted = sorted(zip(members.tolist(), dist.tolist()), key=lambda x: x[1],
                                reverse=True)
        cluster_i = np.array([c[0] for c in cluster_sorted], dtype=np.int64)
        np.save(os.path.join(save_loc, "sorted_clusters", f"cluster_{cluster_id}.npy"), cluster_i)
        df_file_loc = os.path.join(save_loc, "dataframes", f"cluster_{cluster_id}.pkl")
        cluster_size = cluster_i.shape[0]
        if cluster_size <= 1:
            points_to_remove_df = pd.DataFrame({"indices": list(range(cluster_size))})
            for eps in eps_list:
                points_to_remove_df[f"eps={eps}"] = [False] * cluster_size
            with open(df_file_loc, "wb") as file:
                pickle.dump(points_to_remove_df, file)
            continue
        cluster_reps = torch.tensor(embs[cluster_i])
        pair_w_sim_matrix = cluster_reps @ cluster_reps.T
        pair_w_sim_matrix.fill_diagonal_(0.0)
        triu_sim_mat = torch.triu(pair_w_sim_matrix, diagonal=1)
        M = torch.max(triu_sim_mat, dim=0)[0].cpu()
        points_to_remove_df = pd.DataFrame()
        points_to_remove_df["indices"] = list(range(cluster_size))
        for eps in eps_list:
            points_to_remove_df[f"eps={eps}"] = (M > 1 - eps).numpy()
        with open(df_file_loc, "wb") as file:
            pickle.dump(points_to_remove_df, file)
    return time.perf_counter() - t0


def official_kept(save_loc, n: int, k: int, eps_list) -> np.ndarray:
    """Kept masks (n_eps, n) read back from the loop's pickles (``extract_dedup_data.py``'s rule)."""
    kept = np.ones((len(eps_list), n), dtype=bool)
    for cluster_id in range(k):
        ids = np.load(os.path.join(save_loc, "sorted_clusters", f"cluster_{cluster_id}.npy"))
        with open(os.path.join(save_loc, "dataframes", f"cluster_{cluster_id}.pkl"), "rb") as f:
            df = pickle.load(f)
        for e, eps in enumerate(eps_list):
            kept[e, ids[df[f"eps={eps}"].to_numpy(dtype=bool)]] = False
    return kept


def _npy_offset(path) -> int:
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        return f.tell()


# -- this package's pipeline, phase by phase ------------------------------------------------------
def clustering(source, k: int, seed: int, mapper):
    """Spherical k-means and the assignment (what ``semdedup`` runs first)."""
    from theory.semdedup import assign_clusters, spherical_kmeans

    fit = spherical_kmeans(source, k, seed=seed, chunk_size=CHUNK, mapper=mapper, validate=False)
    labels, similarity = assign_clusters(source, fit.centroids, chunk_size=CHUNK, mapper=mapper)
    return fit, labels, similarity


def deduplication(source, labels, similarity, k: int, eps, seed: int, mapper):
    """The per-cluster step as ``theory.semdedup.semdedup`` runs it after clustering (the same
    order, task packing and task function, ``task_rows`` = TASK_ROWS): (kept (n_eps, n), M (n,))."""
    from theory.semdedup import cluster_order, greedy_keep
    from theory.semdedup._dedup import _dedup_task, _pack

    sizes = np.bincount(labels, minlength=k)
    by_cluster = np.argsort(labels, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    members = {}
    for c in np.flatnonzero(sizes):
        idx = by_cluster[bounds[c]:bounds[c + 1]]
        members[int(c)] = idx[cluster_order(similarity[idx], "hard", seed=seed, cluster=int(c))]
    tasks = _pack(sizes, TASK_ROWS)
    results = mapper(_dedup_task, [(source, [(c, members[c]) for c in t], tuple(eps), "greedy")
                                   for t in tasks])
    max_sim = np.zeros(len(labels), dtype=np.float32)
    for task, outs in zip(tasks, results):
        for c, (M, _) in zip(task, outs):
            max_sim[members[c]] = M
    return np.stack([greedy_keep(max_sim, e) for e in eps]), max_sim


def _profile_dedup(source, labels, similarity, k: int, seed: int) -> tuple[float, float]:
    """Seconds spent reading the clusters' rows and computing M (the two parts of a task)."""
    from theory.semdedup import cluster_order, max_earlier_similarity

    t_read = t_m = 0.0
    for c in range(k):
        idx = np.flatnonzero(labels == c)
        if not idx.size:
            continue
        idx = idx[cluster_order(similarity[idx], "hard", seed=seed, cluster=c)]
        t0 = time.perf_counter()
        E = source.take(idx)
        t1 = time.perf_counter()
        max_earlier_similarity(E)
        t_read, t_m = t_read + t1 - t0, t_m + time.perf_counter() - t1
    return t_read, t_m


def run(n: int = 100_000, d: int = 384, k: int = 100, workers=(1, 2), seed: int = 0
        ) -> list[tuple[str, str]]:
    import torch
    from threadpoolctl import threadpool_limits

    from theory.core import set_threads
    from theory.semdedup import open_embeddings, semdedup, serial_mapper
    from theory.semdedup._dask import dask_mapper
    from theory.semdedup.synthetic import write_synthetic

    set_threads(None)
    threads = torch.get_num_threads()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_semdedup_") as tmp, \
            threadpool_limits(threads):
        t_gen, data = timed(lambda: write_synthetic(Path(tmp) / "data", n, d, n_clusters=k,
                                                    seed=seed))
        source = open_embeddings(data.embeddings, chunk_size=CHUNK)
        rows.append((f"synthetic {n} × {d} float32 written to disk ({data.n_duplicates} "
                     f"near-duplicates)", f"{t_gen:.1f} s"))
        t_cl, (fit, labels, sim) = timed(lambda: clustering(source, k, seed, serial_mapper))
        t_dd, (kept, max_sim) = timed(lambda: deduplication(source, labels, sim, k, EPS, seed,
                                                            serial_mapper))
        whole = semdedup(source, k, EPS, seed=seed, chunk_size=CHUNK, validate=False)
        assert np.array_equal(whole.kept, kept) and np.array_equal(whole.labels, labels)
        rows.append((f"clustering, one process ({threads} thread), k = {k}",
                     f"{n / t_cl:,.0f} points/s ({t_cl:.2f} s)"))
        rows.append(("deduplication, one process (4 ε in one pass)",
                     f"{n / t_dd:,.0f} points/s ({t_dd:.2f} s)"))

        for w in workers:
            with dask_mapper("local", workers=w, threads_per_worker=1) as mapper:
                mapper.client.run(__import__, "theory.semdedup")  # imports outside the timing
                mapper(np.add, [(1, 2)] * w)
                t_cl_w, (fit_w, labels_w, sim_w) = timed(lambda: clustering(source, k, seed,
                                                                            mapper))
                t_dd_w, (kept_w, max_sim_w) = timed(lambda: deduplication(
                    source, labels_w, sim_w, k, EPS, seed, mapper))
            assert np.array_equal(fit_w.centroids, fit.centroids)
            assert np.array_equal(labels_w, labels) and np.array_equal(sim_w, sim)
            assert np.array_equal(max_sim_w, max_sim) and np.array_equal(kept_w, kept)
            rows.append((f"clustering, Dask LocalCluster, {w} worker(s) × 1 thread",
                         f"{n / t_cl_w:,.0f} points/s ({t_cl_w:.2f} s; identical labels)"))
            rows.append((f"deduplication, Dask LocalCluster, {w} worker(s) × 1 thread",
                         f"{n / t_dd_w:,.0f} points/s ({t_dd_w:.2f} s; identical kept sets)"))

        t_off = official_loop(data.embeddings, n, d, labels, sim, k, EPS, Path(tmp) / "official")
        kept_off = official_kept(Path(tmp) / "official", n, k, EPS)
        assert np.array_equal(kept_off, kept), "the official loop's kept sets differ from ours"
        rows.append(("deduplication, the official per-cluster loop (re-implemented here; torch "
                     "CPU, 1 process)",
                     f"{n / t_off:,.0f} points/s ({t_off:.2f} s; identical kept sets for "
                     f"ε = {', '.join(map(str, EPS))})"))
        rows.append(("deduplication throughput, ours (one process) / the official loop",
                     f"{t_off / t_dd:.2f}× (goal: ≥ 2×)"))
        t_read, t_m = _profile_dedup(source, labels, sim, k, seed)
        rows.append(("  of our deduplication: reading rows (memory map) / computing M (syrk)",
                     f"{t_read:.2f} s / {t_m:.2f} s"))
        kept_frac = ", ".join(f"{kept[e].mean():.3f}" for e in range(len(EPS)))
        rows.append((f"kept fraction at ε = {', '.join(map(str, EPS))}", kept_frac))
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=100_000, help="points (default 10^5)")
    p.add_argument("--d", type=int, default=384, help="dimension (default 384)")
    p.add_argument("--k", type=int, default=100, help="clusters (default 100)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="Dask worker counts")
    args = p.parse_args(argv)
    rows = run(n=args.n, d=args.d, k=args.k, workers=args.workers)
    width = max(len(r[0]) for r in rows)
    print(f"| {'benchmark':<{width}} | result |\n|{'-' * (width + 2)}|---|")
    for name, value in rows:
        print(f"| {name:<{width}} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
