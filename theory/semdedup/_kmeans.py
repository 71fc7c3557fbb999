"""Spherical k-means over an :class:`EmbeddingSource`, a chunk at a time.

SemDeDup's first step (the official ``clustering/clustering.py``: faiss k-means with
``spherical=True``, 100 iterations, seed 1234): cluster the unit-norm embeddings so that the
quadratic pairwise step runs inside clusters only. This is Lloyd's algorithm on the sphere:

- assignment: each point goes to the centroid of largest cosine similarity, c(x) = argmax_j x·μ_j;
- update: each centroid becomes the normalised mean of its points, μ_j = Σ_{c(x)=j} x / ‖Σ x‖
  (a centroid left with no points keeps its place, as faiss does before splitting);

fitted, as faiss fits, on a seeded sample of at most ``max_points_per_centroid · k`` points (faiss's
default is 256) and started at k distinct sample points; then every point is assigned once.

Every pass is a list of independent chunk tasks whose partial results (float64 sums and counts)
the driver adds in chunk order. ``mapper(func, argument_tuples)`` runs the tasks: the serial
mapper here, or a Dask client (:mod:`theory.semdedup._dask`). Any mapper that returns results in
order gives bit-identical centroids and labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from theory.core._progress import progress as _progress
from theory.core._validate import as_array, check_bool, check_scalar, check_seed
from theory.semdedup._source import DEFAULT_CHUNK, EmbeddingSource, open_embeddings

__all__ = ["KMeansFit", "assign_clusters", "serial_mapper", "spherical_kmeans"]


_CONTROLLER = None


def one_blas_thread():
    """A context in which BLAS (numpy's and scipy's) runs on one thread.

    A BLAS product's last bits depend on how many threads compute it, and k-means amplifies a
    last-bit difference into other labels (a near tie at the argmax flips). Every task therefore
    runs its products on one thread, so that a task gives the same bits in this process, in a
    Dask worker (where Dask sets one thread) and on any machine with the same BLAS; parallelism
    comes from running tasks side by side.
    """
    global _CONTROLLER
    if _CONTROLLER is None:
        import scipy.linalg.blas  # noqa: F401  (load scipy's BLAS first, so that it is controlled)
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER.limit(limits=1, user_api="blas")


def serial_mapper(func: Callable, arguments: list[tuple]) -> list:
    """Run ``func(*args)`` for each tuple in ``arguments``, in order, in this process."""
    if not callable(func):
        raise TypeError(f"func must be callable, got {type(func).__name__}")
    if isinstance(arguments, (str, bytes)) or not hasattr(arguments, "__iter__"):
        raise TypeError(f"arguments must be a list of argument tuples, got {type(arguments).__name__}")
    return [func(*args) for args in arguments]


def _check_mapper(mapper):
    if mapper is None:
        return serial_mapper
    if not callable(mapper):
        raise TypeError("mapper must be None (serial) or a callable mapper(func, argument_tuples)")
    return mapper


def _progress_mapper(mapper, desc: str, enable: bool):
    """The serial mapper with a progress bar over its tasks (another mapper draws its own)."""
    if mapper is serial_mapper and enable:
        return lambda func, arguments: [func(*a) for a in _progress(arguments, desc=desc,
                                                                     total=len(arguments))]
    return mapper


def _normalise_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def _sample_stats(source: EmbeddingSource, indices: np.ndarray, centroids: np.ndarray):
    """One chunk of a Lloyd update: per-centroid float64 sums and counts, and Σ best similarity."""
    x = source.take(indices)
    with one_blas_thread():
        sims = x @ centroids.T
    labels = np.argmax(sims, axis=1)
    best = sims[np.arange(len(x)), labels]
    k, d = centroids.shape
    sums = np.zeros((k, d), dtype=np.float64)
    order = np.argsort(labels, kind="stable")
    uniq, starts = np.unique(labels[order], return_index=True)
    sums[uniq] = np.add.reduceat(x[order].astype(np.float64), starts, axis=0)
    counts = np.bincount(labels, minlength=k).astype(np.int64)
    return sums, counts, float(best.astype(np.float64).sum())


def _assign_chunk(source: EmbeddingSource, start: int, stop: int, centroids: np.ndarray):
    """Nearest centroid (largest cosine similarity) and that similarity for rows start:stop."""
    x = source.read(start, stop)
    with one_blas_thread():
        sims = x @ centroids.T
    labels = np.argmax(sims, axis=1)
    return labels.astype(np.int64), sims[np.arange(len(x)), labels].astype(np.float32)


@dataclass(frozen=True)
class KMeansFit:
    """A spherical k-means fit: unit centroids (k, d), the mean cosine similarity of the sample to
    its centroid after each iteration's assignment, and the sample's row indices."""

    centroids: np.ndarray
    objective: np.ndarray
    sample: np.ndarray
    seed: int

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])


def spherical_kmeans(embeddings, k: int, *, n_iter: int = 20, seed: int = 1234,
                     max_points_per_centroid: int = 256, chunk_size: int = DEFAULT_CHUNK,
                     mapper=None, progress: bool = False, validate: bool = True) -> KMeansFit:
    """Fit k unit centroids to ``embeddings`` by Lloyd's algorithm on the sphere (see module).

    ``embeddings``: anything :func:`open_embeddings` takes. ``k``: 1 ≤ k ≤ n. ``n_iter`` ≥ 1
    Lloyd iterations (the official config: 100). The sample is ``min(n, max_points_per_centroid·k)``
    rows drawn without replacement from ``numpy.random.default_rng(seed)``.
    """
    validate = check_bool(validate, "validate")
    progress = check_bool(progress, "progress")
    source = open_embeddings(embeddings, validate=validate, chunk_size=chunk_size)
    k = check_scalar(k, "k", kind="int", min=1)
    if k > source.n:
        raise ValueError(f"k must be at most the number of points n = {source.n}, got {k}")
    n_iter = check_scalar(n_iter, "n_iter", kind="int", min=1)
    seed = check_seed(seed)
    max_points_per_centroid = check_scalar(max_points_per_centroid, "max_points_per_centroid",
                                           kind="int", min=1)
    chunk_size = check_scalar(chunk_size, "chunk_size", kind="int", min=1)
    mapper = _check_mapper(mapper)

    rng = np.random.default_rng(seed)
    m = min(source.n, max_points_per_centroid * k)
    sample = (np.arange(source.n, dtype=np.int64) if m == source.n
              else np.sort(rng.choice(source.n, size=m, replace=False)).astype(np.int64))
    init = np.sort(rng.choice(m, size=k, replace=False))
    centroids = _normalise_rows(source.take(sample[init]).astype(np.float64))
    pieces = [sample[a:a + chunk_size] for a in range(0, m, chunk_size)]
    objective = np.empty(n_iter)
    for it in _progress(range(n_iter), desc=f"spherical k-means (k = {k})", enable=progress):
        parts = mapper(_sample_stats, [(source, piece, centroids) for piece in pieces])
        sums = np.zeros_like(parts[0][0])
        counts = np.zeros_like(parts[0][1])
        total = 0.0
        for s, c, o in parts:  # a fixed order: bit-identical under any order-keeping mapper
            sums += s
            counts += c
            total += o
        objective[it] = total / m
        filled = counts > 0
        new = centroids.astype(np.float64)
        new[filled] = sums[filled]
        centroids = _normalise_rows(new)
    return KMeansFit(centroids=centroids, objective=objective, sample=sample, seed=seed)


def assign_clusters(embeddings, centroids, *, chunk_size: int = DEFAULT_CHUNK, mapper=None,
                    progress: bool = False, validate: bool = True):
    """Each point's cluster (its nearest centroid by cosine similarity) and that similarity.

    Returns ``(labels, similarity)``: int64 (n,) in [0, k) and float32 (n,). The official
    ``sort_clusters.py`` stores the distance 1 − similarity. ``validate``: check the rows (an
    :class:`EmbeddingSource` is taken as already checked).
    """
    validate = check_bool(validate, "validate")
    progress = check_bool(progress, "progress")
    source = open_embeddings(embeddings, validate=validate, chunk_size=chunk_size)
    c = as_array(centroids, "centroids", nonempty=True)
    if c.ndim != 2 or c.shape[1] != source.d:
        raise ValueError(f"centroids must be a float (k, d = {source.d}) array, got shape "
                         f"{c.shape}")
    c = _normalise_rows(c.astype(np.float64))
    mapper = _check_mapper(mapper)
    chunks = source.chunks(chunk_size)
    run = _progress_mapper(mapper, "assigning clusters", progress)
    parts = run(_assign_chunk, [(source, a, b, c) for a, b in chunks])
    labels = np.concatenate([p[0] for p in parts])
    similarity = np.concatenate([p[1] for p in parts])
    return labels, similarity
