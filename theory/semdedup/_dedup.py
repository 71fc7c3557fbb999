"""SemDeDup's per-cluster step and the whole pipeline (Abbas et al. 2023; the official ``semdedup.py``).

Within each cluster the points are put in an order (:func:`cluster_order`) and compared pairwise.
With e_1, …, e_m the cluster's unit embeddings in that order, the official code computes

    M_j = max(0, max_{i<j} e_i·e_j)    (the column maximum of triu(E Eᵀ, 1); M_1 = 0)

and **removes point j iff M_j > 1 − ε** (``semdedup.py``: ``M > 1 - eps``). So a larger ε removes
more; the official README's "a lower ε prunes more" is backwards. The paper's sentence (quoted in
the official issue #8) calls pairs above the threshold semantic duplicates and keeps, from each
group, "the image with the lowest cosine similarity to the cluster centroid": the ``"hard"`` order
puts the point farthest from the centroid first, so it is the one kept.

Two semantics of "group":

- ``"greedy"`` (the official code): j goes if it is a near-duplicate of *any* earlier point, even
  one that was itself removed. A chain a ~ b ~ c goes whole after its first point, even when a and
  c are far apart; and a point may stay although it is a near-duplicate of a later point.
- ``"groups"`` (the book's alternative, the paper sentence read literally): the groups are the
  connected components of the graph {(i, j): e_i·e_j > 1 − ε}; exactly one point, the first in
  order, is kept per component.

They differ when a component's first point is not adjacent to every other: for a chain a ~ b ~ c
in the order a, c, b, greedy keeps a and c (c has no earlier neighbour) and removes b, while
"groups" keeps a alone. Greedy never keeps fewer points than "groups".

Since the greedy verdict depends on ε only through M_j, one pass gives the kept set for every ε:
the kept fraction is the empirical distribution function of M at 1 − ε, and the ε that keeps a
target fraction follows exactly from the sorted M (:func:`eps_for_kept_fraction`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from theory.core._validate import as_array, check_bool, check_scalar, check_seed
from theory.semdedup._kmeans import (_check_mapper, _progress_mapper, assign_clusters,
                                     one_blas_thread, spherical_kmeans)
from theory.semdedup._source import DEFAULT_CHUNK, EmbeddingSource, open_embeddings

__all__ = ["KEEP_RULES", "SEMANTICS", "SemDeDupResult", "brute_force_keep", "cluster_order",
           "eps_for_kept_fraction", "greedy_keep", "group_keep", "max_earlier_similarity",
           "semdedup"]

KEEP_RULES = ("hard", "easy", "random")
SEMANTICS = ("greedy", "groups")
# The largest similarity block held at once in the per-cluster step (entries; 4 bytes each:
# 64 MB, a 4096 x 4096 triangle).
BLOCK_ENTRIES = 1 << 24


def _check_choice(value, name: str, allowed: tuple) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def _check_eps(eps) -> tuple[float, ...]:
    values = (eps,) if np.ndim(eps) == 0 else tuple(np.asarray(eps).ravel().tolist())
    if not values:
        raise ValueError("eps must be a number in (0, 1) or a non-empty sequence of them")
    return tuple(check_scalar(e, "eps", min=0.0, max=1.0, include_min=False, include_max=False)
                 for e in values)


def _threshold(eps: float) -> np.float32:
    """1 − ε in float32: the official code compares a float32 M with the Python float 1 − ε,
    which torch casts to the tensor's dtype."""
    return np.float32(1.0 - eps)


def cluster_order(similarity, keep: str = "hard", *, seed: int = 1234, cluster: int = 0):
    """Positions that put a cluster's points in SemDeDup's order (the first is kept first).

    ``similarity``: the points' cosine similarities to their centroid, in index order.
    ``"hard"`` (the paper's and the official default): ascending similarity, i.e. descending
    distance 1 − similarity, so the point least like the centroid comes first; ``"easy"``:
    descending similarity; ``"random"``: a permutation drawn from
    ``numpy.random.default_rng([seed, cluster])``. Ties go by position (a stable sort).
    """
    sim = as_array(similarity, "similarity", ndim=1)
    keep = _check_choice(keep, "keep", KEEP_RULES)
    seed = check_seed(seed)
    cluster = check_scalar(cluster, "cluster", kind="int", min=0)
    if keep == "hard":
        return np.argsort(sim, kind="stable")
    if keep == "easy":
        return np.argsort(-sim, kind="stable")
    seed = check_seed(seed)
    cluster = check_scalar(cluster, "cluster", kind="int", min=0)
    return np.random.default_rng([seed, cluster]).permutation(len(sim))


def _as_unit_rows(E, name="E") -> np.ndarray:
    if not (isinstance(E, np.ndarray) and E.dtype in (np.float32, np.float64)):
        E = as_array(E, name)   # refuses None, strings, bools, complex (float64)
    if E.ndim != 2 or not np.issubdtype(E.dtype, np.floating):
        raise ValueError(f"{name} must be a float (m, d) array, got shape {E.shape}, dtype {E.dtype}")
    if not np.isfinite(E).all():  # one pass, O(m d) beside the O(m² d) products
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return E


def _upper_gram(E: np.ndarray) -> np.ndarray:
    """E Eᵀ with only the upper triangle (i ≤ j) computed, the rest zero (BLAS ?syrk: half the
    products of a full E @ E.T). Fortran-ordered, so that a column's entries are contiguous."""
    from scipy.linalg.blas import dsyrk, ssyrk

    syrk = ssyrk if E.dtype == np.float32 else dsyrk
    return syrk(1.0, E.T, trans=1)  # E.T is the Fortran view of a C-ordered E: no copy


def max_earlier_similarity(E) -> np.ndarray:
    """M_j = max(0, max_{i<j} e_i·e_j) for rows e_1, …, e_m already in cluster order.

    The quantity the official code computes as ``torch.max(torch.triu(E @ E.T, diagonal=1),
    dim=0)`` (the zeros below the diagonal make the floor at 0). Here only the upper triangle is
    formed (BLAS ``syrk``), by blocks of columns for a large cluster (the block's own triangle by
    ``syrk``, the rows before it by matrix products), holding at most ``BLOCK_ENTRIES``
    similarities at once. float32 in, float32 out (float64 for float64 rows); the last bit can
    differ from a full product's, which matters only for an M within rounding of 1 − ε.
    """
    E = _as_unit_rows(E)
    if E.dtype not in (np.float32, np.float64):
        E = E.astype(np.float32)
    E = np.ascontiguousarray(E)
    m = len(E)
    M = np.zeros(m, dtype=E.dtype)
    if m < 2:
        return M
    cols = max(1, min(m, int(np.sqrt(BLOCK_ENTRIES))))
    for j0 in range(0, m, cols):
        j1 = min(m, j0 + cols)
        block = E[j0:j1]
        rows = max(1, BLOCK_ENTRIES // (j1 - j0))
        for i0 in range(0, j0, rows):  # rows wholly before the block
            i1 = min(j0, i0 + rows)
            np.maximum(M[j0:j1], (E[i0:i1] @ block.T).max(axis=0), out=M[j0:j1])
        gram = _upper_gram(block)
        np.fill_diagonal(gram, 0.0)
        np.maximum(M[j0:j1], gram.max(axis=0), out=M[j0:j1])
    return M


def greedy_keep(max_sim, eps) -> np.ndarray:
    """The official verdict: keep j iff M_j ≤ 1 − ε (remove iff M_j > 1 − ε, in float32)."""
    eps = _check_eps(eps)
    if len(eps) != 1:
        raise ValueError("greedy_keep takes one eps; call it once per value")
    if not (isinstance(max_sim, np.ndarray) and max_sim.dtype == np.float32):
        max_sim = as_array(max_sim, "max_sim")
    return ~(np.asarray(max_sim, dtype=np.float32) > _threshold(eps[0]))


def _near_pairs(E: np.ndarray, thresholds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs i < j with e_i·e_j > min(thresholds), by blocks: (i, j, similarity)."""
    lowest = min(thresholds)
    m = len(E)
    cols = max(1, min(m, int(np.sqrt(BLOCK_ENTRIES))))
    I, J, S = [], [], []
    for j0 in range(0, m, cols):
        j1 = min(m, j0 + cols)
        rows = max(1, BLOCK_ENTRIES // (j1 - j0))
        for i0 in range(0, j1, rows):
            i1 = min(j1, i0 + rows)
            sim = E[i0:i1] @ E[j0:j1].T
            ii, jj = np.nonzero(sim > lowest)
            gi, gj = ii + i0, jj + j0
            upper = gi < gj
            I.append(gi[upper])
            J.append(gj[upper])
            S.append(sim[ii[upper], jj[upper]])
    return np.concatenate(I), np.concatenate(J), np.concatenate(S)


def _first_of_components(m: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Keep mask: the smallest position of each connected component of the graph (i, j)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(m, m))
    _, comp = connected_components(graph, directed=False)
    first = np.full(comp.max() + 1, m, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(m))
    return first[comp] == np.arange(m)


def group_keep(E, eps) -> np.ndarray:
    """The connected-groups verdict: one point kept per component of {e_i·e_j > 1 − ε}, the first.

    ``E``: the cluster's unit rows in order. The book's alternative to :func:`greedy_keep`.
    """
    E = _as_unit_rows(E)
    eps = _check_eps(eps)
    if len(eps) != 1:
        raise ValueError("group_keep takes one eps; call it once per value")
    t = _threshold(eps[0])
    if len(E) == 0:
        return np.ones(0, dtype=bool)
    i, j, s = _near_pairs(E, [t])
    return _first_of_components(len(E), i, j)


def _dedup_task(source: EmbeddingSource, clusters: list, eps: tuple, semantics: str):
    """The per-cluster step for a batch of clusters (a Dask task reads only these rows).

    ``clusters``: (cluster id, member indices in cluster order) pairs. Returns, per cluster,
    (M, kept) with kept (n_eps, m) for ``"groups"`` and ``None`` for ``"greedy"`` (kept from M).
    """
    out = []
    for _, members in clusters:
        E = source.take(members)
        with one_blas_thread():  # the same bits in any process (see one_blas_thread)
            M = max_earlier_similarity(E)
            kept = None
            if semantics == "groups":
                thresholds = [_threshold(e) for e in eps]
                i, j, s = _near_pairs(E, thresholds)
                kept = np.stack([_first_of_components(len(E), i[s > t], j[s > t])
                                 for t in thresholds])
        out.append((M, kept))
    return out


def _pack(sizes: np.ndarray, task_rows: int) -> list[list[int]]:
    """Consecutive clusters (by id) packed into tasks of at most ``task_rows`` rows (a bigger
    cluster alone). Every nonempty cluster appears once."""
    tasks, current, rows = [], [], 0
    for c in np.flatnonzero(sizes):
        if current and rows + sizes[c] > task_rows:
            tasks.append(current)
            current, rows = [], 0
        current.append(int(c))
        rows += int(sizes[c])
    if current:
        tasks.append(current)
    return tasks


@dataclass(frozen=True)
class SemDeDupResult:
    """Everything one SemDeDup run decided, per point (index order) and per ε.

    ``labels`` (n,) cluster of each point; ``similarity`` (n,) its cosine similarity to the
    centroid; ``rank`` (n,) its position in its cluster's order; ``max_sim`` (n,) M of the module
    docstring; ``kept`` (n_eps, n) the verdict for each ε in ``eps``; ``centroids`` (k, d).
    """

    n: int
    k: int
    eps: tuple
    keep: str
    semantics: str
    seed: int
    labels: np.ndarray
    similarity: np.ndarray
    rank: np.ndarray
    max_sim: np.ndarray
    kept: np.ndarray
    centroids: np.ndarray
    objective: np.ndarray

    def _eps_row(self, eps) -> int:
        if eps is None:
            if len(self.eps) != 1:
                raise ValueError(f"this result holds several eps {self.eps}; name one")
            return 0
        eps = _check_eps(eps)[0]
        if eps not in self.eps:
            raise ValueError(f"eps = {eps} is not among this result's {self.eps}")
        return self.eps.index(eps)

    def kept_mask(self, eps=None) -> np.ndarray:
        """Kept points for ``eps`` (bool, (n,)). For "greedy" any ε in (0, 1) works (from M)."""
        if self.semantics == "greedy" and eps is not None:
            return greedy_keep(self.max_sim, eps)
        return self.kept[self._eps_row(eps)]

    def kept_indices(self, eps=None) -> np.ndarray:
        """Sorted indices of the kept points."""
        return np.flatnonzero(self.kept_mask(eps)).astype(np.int64)

    def kept_fraction(self, eps=None):
        """Kept fraction at ``eps`` (a number or an array of them, "greedy" for any ε)."""
        if eps is not None and np.ndim(eps) > 0:
            return np.array([self.kept_fraction(e) for e in np.asarray(eps).ravel()])
        return float(self.kept_mask(eps).mean())

    def eps_for_kept_fraction(self, fraction: float) -> float:
        """The ε whose greedy kept set is as close as possible to ``fraction`` of the points."""
        if self.semantics != "greedy":
            raise ValueError("eps_for_kept_fraction needs semantics='greedy' (its kept set is a "
                             "threshold on M)")
        return eps_for_kept_fraction(self.max_sim, fraction)

    def cluster_table(self, eps=None):
        """Per-cluster statistics (pandas DataFrame): size, kept, removed, kept fraction, mean
        similarity to the centroid, mean M."""
        import pandas as pd

        kept = self.kept_mask(eps)
        size = np.bincount(self.labels, minlength=self.k)
        kept_n = np.bincount(self.labels, weights=kept, minlength=self.k).astype(np.int64)
        sim_sum = np.bincount(self.labels, weights=self.similarity, minlength=self.k)
        m_sum = np.bincount(self.labels, weights=self.max_sim, minlength=self.k)
        with np.errstate(invalid="ignore", divide="ignore"):
            table = pd.DataFrame({
                "cluster": np.arange(self.k), "size": size, "kept": kept_n,
                "removed": size - kept_n, "kept_fraction": kept_n / size,
                "mean_similarity_to_centroid": sim_sum / size, "mean_max_earlier_similarity":
                m_sum / size})
        return table[table["size"] > 0].reset_index(drop=True)


def eps_for_kept_fraction(max_sim, fraction: float) -> float:
    """The ε in (0, 1) whose greedy kept fraction #{M_j ≤ 1 − ε}/n is nearest ``fraction``.

    The kept count is the empirical distribution function of M at 1 − ε, a step function that
    changes only at the values of M; so the answer is exact, no interpolation: among the distinct
    values t of M in (0, 1), take the one whose count #{M ≤ t} is nearest round(fraction·n) (the
    smaller ε on a tie) and return ε = 1 − t. The achieved fraction can differ from the target
    when M has ties, when points with M ≤ 0 (never removable) outnumber the target, or when near-
    exact copies (M ≥ 1 in float32, removed at every ε) exceed what it allows. ValueError when no
    value of M lies in (0, 1).
    """
    M = np.sort(np.asarray(as_array(max_sim, "max_sim", nonempty=True), dtype=np.float32).ravel())
    if len(M) == 0:
        raise ValueError("max_sim must be non-empty")
    fraction = check_scalar(fraction, "fraction", min=0.0, max=1.0, include_min=False)
    target = fraction * len(M)
    candidates = np.unique(M[(M > 0) & (M < 1)])
    if len(candidates) == 0:
        raise ValueError("no eps in (0, 1) changes this kept set: every M is <= 0 (never removed) "
                         "or >= 1 (always removed)")
    counts = np.searchsorted(M, candidates, side="right")
    best = int(np.argmin(np.abs(counts - target)[::-1]))  # reversed: ties go to the larger t
    t = float(candidates[::-1][best])
    eps = 1.0 - t
    assert _threshold(eps) == np.float32(t)
    return eps


def semdedup(embeddings, k: int, eps, *, keep: str = "hard", semantics: str = "greedy",
             seed: int = 1234, n_iter: int = 20, max_points_per_centroid: int = 256,
             chunk_size: int = DEFAULT_CHUNK, task_rows: int = 65536, mapper=None,
             progress: bool = False, validate: bool = True) -> SemDeDupResult:
    """SemDeDup: spherical k-means, then the per-cluster step of the module docstring.

    ``embeddings``: anything :func:`open_embeddings` takes (checked a chunk at a time).
    ``k``: clusters, 1 ≤ k ≤ n. ``eps``: a number or a sequence in (0, 1); a point goes when its
    M exceeds 1 − ε. ``keep``: the order inside a cluster ("hard", "easy", "random").
    ``semantics``: "greedy" (official) or "groups". ``task_rows``: clusters are batched into
    tasks of at most this many rows (a larger cluster alone) — the memory of one task.
    ``mapper``: how tasks run (None: in this process; see :mod:`theory.semdedup._dask`).
    """
    validate = check_bool(validate, "validate")
    progress = check_bool(progress, "progress")
    source = open_embeddings(embeddings, validate=validate, chunk_size=chunk_size,
                             progress=progress)
    k = check_scalar(k, "k", kind="int", min=1)
    if k > source.n:
        raise ValueError(f"k must be at most the number of points n = {source.n}, got {k}")
    eps = _check_eps(eps)
    keep = _check_choice(keep, "keep", KEEP_RULES)
    semantics = _check_choice(semantics, "semantics", SEMANTICS)
    seed = check_seed(seed)
    task_rows = check_scalar(task_rows, "task_rows", kind="int", min=1)
    progress = check_bool(progress, "progress")
    mapper = _check_mapper(mapper)

    fit = spherical_kmeans(source, k, n_iter=n_iter, seed=seed,
                           max_points_per_centroid=max_points_per_centroid,
                           chunk_size=chunk_size, mapper=mapper, progress=progress, validate=False)
    labels, similarity = assign_clusters(source, fit.centroids, chunk_size=chunk_size,
                                         mapper=mapper, progress=progress)
    n = source.n
    by_cluster = np.argsort(labels, kind="stable")
    sizes = np.bincount(labels, minlength=k)
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    members = {}
    rank = np.empty(n, dtype=np.int64)
    for c in np.flatnonzero(sizes):
        idx = by_cluster[bounds[c]:bounds[c + 1]]
        ordered = idx[cluster_order(similarity[idx], keep, seed=seed, cluster=int(c))]
        rank[ordered] = np.arange(len(ordered))
        members[int(c)] = ordered
    tasks = _pack(sizes, task_rows)
    arguments = [(source, [(c, members[c]) for c in task], eps, semantics) for task in tasks]
    results = _progress_mapper(mapper, "deduplicating clusters", progress)(_dedup_task, arguments)
    max_sim = np.zeros(n, dtype=np.float32)
    kept = np.zeros((len(eps), n), dtype=bool)
    for task, outs in zip(tasks, results):
        for c, (M, kept_c) in zip(task, outs):
            max_sim[members[c]] = M
            if kept_c is not None:
                kept[:, members[c]] = kept_c
    if semantics == "greedy":
        kept = np.stack([greedy_keep(max_sim, e) for e in eps])
    return SemDeDupResult(n=n, k=k, eps=eps, keep=keep, semantics=semantics, seed=seed,
                          labels=labels, similarity=similarity, rank=rank, max_sim=max_sim,
                          kept=kept, centroids=fit.centroids, objective=fit.objective)


def brute_force_keep(E, labels, similarity, eps: float, *, keep: str = "hard",
                     semantics: str = "greedy", seed: int = 1234) -> np.ndarray:
    """The O(n²) reference, straight from the definitions, in float64, one point at a time.

    Given each point's cluster and similarity to its centroid: order each cluster by
    :func:`cluster_order`; "greedy": j is removed iff some earlier point i of its cluster has
    e_i·e_j > 1 − ε; "groups": union–find over all such pairs, the first point of each group kept.
    """
    E = as_array(E, "E", ndim=2, nonempty=True)
    norms = np.linalg.norm(E, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("E must have rows of nonzero norm")
    E = E / norms
    labels = np.asarray(labels)
    if labels.shape != (len(E),) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be ({len(E)},) int cluster labels, one per row of E, got "
                         f"shape {labels.shape} dtype {labels.dtype}")
    similarity = as_array(similarity, "similarity", shape=(len(E),))
    eps = _check_eps(eps)[0]
    semantics = _check_choice(semantics, "semantics", SEMANTICS)
    keep = _check_choice(keep, "keep", KEEP_RULES)
    seed = check_seed(seed)
    t = 1.0 - eps
    S = E @ E.T
    kept = np.ones(len(E), dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        order = idx[cluster_order(similarity[idx], keep, seed=seed, cluster=int(c))]
        if semantics == "greedy":
            for p, j in enumerate(order):
                kept[j] = not any(S[i, j] > t for i in order[:p])
        else:
            parent = {int(j): int(j) for j in order}

            def find(a):
                while parent[a] != a:
                    a = parent[a]
                return a

            for p, j in enumerate(order):
                for i in order[:p]:
                    if S[i, j] > t:
                        parent[find(int(j))] = find(int(i))
            seen = set()
            for j in order:  # the first member met of each group is kept
                root = find(int(j))
                kept[j] = root not in seen
                seen.add(root)
    return kept
