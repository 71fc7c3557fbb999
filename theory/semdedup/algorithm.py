"""Analyses of the algorithm page: the pipeline against its definition, and the cost against k.

The book's checks of the official rule (``semdedup.py``) on data made in code
(:func:`theory.semdedup.toy.toy_corpus`).
"""

from __future__ import annotations

import numpy as np

from theory.core._progress import progress as _progress
from theory.core._validate import as_array, check_bool, check_scalar, check_seed
from theory.semdedup._dedup import KEEP_RULES, SEMANTICS, _check_eps, brute_force_keep, semdedup
from theory.semdedup._kmeans import assign_clusters, spherical_kmeans

__all__ = ["cluster_sizes_by_k", "reference_agreement"]


def reference_agreement(X, k: int, eps, *, keeps=KEEP_RULES, semantics=SEMANTICS,
                        seed: int = 1234, progress: bool = True):
    """The pipeline's kept sets against :func:`brute_force_keep` (float64, O(n²)), per keep rule,
    semantics and ε, on the same clustering. Returns a DataFrame with columns keep, semantics, eps,
    kept (pipeline), kept_reference, identical (bool), and margin: the smallest |e_i·e_j − (1 − ε)|
    over all pairs (a float32 pipeline can disagree with the float64 reference only for a pair
    within rounding, ~1e-6, of the threshold)."""
    import pandas as pd

    eps = _check_eps(eps)
    X = _points(X, "X")
    k = check_scalar(k, "k", kind="int", min=1, max=len(X))
    seed = check_seed(seed)
    progress = check_bool(progress, "progress")
    keeps, semantics = tuple(keeps), tuple(semantics)
    for name, vals, allowed in (("keeps", keeps, KEEP_RULES), ("semantics", semantics, SEMANTICS)):
        if not vals or any(v not in allowed for v in vals):
            raise ValueError(f"{name} must be a non-empty sequence of names from {allowed}, got {vals}")
    E = X.astype(np.float64)
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    S = E @ E.T
    margins = {e: float(np.min(np.abs(S - (1.0 - e)))) for e in eps}
    rows = []
    cases = [(kp, sm) for kp in keeps for sm in semantics]
    for keep, sem in _progress(cases, desc="pipeline against the reference", enable=progress):
        r = semdedup(X, k, eps, keep=keep, semantics=sem, seed=seed)
        for row, e in enumerate(eps):
            ref = brute_force_keep(X, r.labels, r.similarity, e, keep=keep, semantics=sem,
                                   seed=seed)
            rows.append(dict(keep=keep, semantics=sem, eps=e, kept=int(r.kept[row].sum()),
                             kept_reference=int(ref.sum()),
                             identical=bool(np.array_equal(ref, r.kept[row])),
                             margin=margins[e]))
    return pd.DataFrame(rows)


def _points(X, name):
    """An (n, d) float array of nonzero rows (kept in float32 when it is float32)."""
    if not (isinstance(X, np.ndarray) and X.dtype in (np.float32, np.float64)):
        X = as_array(X, name)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{name} must be a non-empty (n, d) array, got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if np.any(np.linalg.norm(X, axis=1) == 0):
        raise ValueError(f"{name} has a zero-norm row")
    return X


def cluster_sizes_by_k(X, ks, *, seed: int = 1234, n_iter: int = 20) -> dict[int, np.ndarray]:
    """Cluster sizes n_c from spherical k-means for each k in ``ks`` (the per-cluster step costs
    Σ n_c² d products, against n² d without clustering)."""
    X = _points(X, "X")
    seed = check_seed(seed)
    n_iter = check_scalar(n_iter, "n_iter", kind="int", min=1)
    ks = [check_scalar(k, "ks", kind="int", min=1, max=len(X)) for k in ks]
    out = {}
    for k in ks:
        fit = spherical_kmeans(X, k, seed=seed, n_iter=n_iter)
        labels, _ = assign_clusters(X, fit.centroids)
        out[k] = np.bincount(labels, minlength=k)
    return out
