"""The paper's analyses at laptop scale, on any embeddings with ground-truth groups.

- :func:`eps_sweep`: the kept fraction against ε and its shape (a straight-line fit and its R²,
  beside the LAION table of the official ``constants.py``, :data:`LAION_EPS_KEPT`), and what is
  removed first as ε grows: the share of each duplicate kind's redundant members removed, the
  distinct contents lost, the kept fraction per topic;
- :func:`relation_similarities`: the cosine similarities of pairs by how they are related (exact
  copy, light edit, templated paraphrase, same template, same topic, unrelated), which explain the
  order of removal: a pair goes once 1 − ε falls below its similarity;
- :func:`k_sweep` and :func:`split_fraction`: the choice of k. SemDeDup compares points only
  inside a cluster, so the ε-neighbour pairs of the whole data set that k-means puts in
  different clusters are duplicates it can no longer find; the sweep measures that share, the
  recall it costs on the ground truth and the cost Σ n_c² against n²; :func:`suggest_k`;
- :func:`keep_rule_comparison`: the hard / easy / random keep rules side by side;
- figure functions for each (``*_figure``), in the book's style.

Every analysis is the book's reconstruction (the paper's text for them is not available), built on
the chapter's spine :func:`theory.semdedup.semdedup`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from theory.core import COLORS, as_array, check_bool, check_scalar, check_seed, figure, progress

__all__ = ["EpsSweep", "KSweep", "KeepRuleComparison", "LAION_EPS_KEPT", "RELATIONS", "eps_figure",
           "eps_sweep", "first_eps", "global_neighbour_pairs", "k_figure", "k_sweep",
           "keep_rule_comparison", "keep_rule_figure", "linear_fit", "relation_similarities",
           "similarity_figure", "split_fraction", "suggest_k", "topic_figure"]

# The commented-out, unlabelled ε → kept-fraction table of the official constants.py
# (facebookresearch/SemDeDup, commit 6b41945); it matches LAION-440M (notes, papers-1-5.md §5(a)).
LAION_EPS_KEPT = ((0.00095, 0.796314), (0.03, 0.720969), (0.0395, 0.701809), (0.07, 0.633638),
                  (0.083, 0.602154), (0.124, 0.499306), (0.165, 0.397715), (0.205, 0.305327),
                  (0.26, 0.197576))

RELATIONS = ("exact", "edit", "paraphrase", "same template", "same topic", "unrelated")
_DUP_KINDS = ("exact", "edit", "paraphrase")


def _embeddings(E, name: str = "embeddings") -> np.ndarray:
    from theory.core import as_array

    arr = as_array(E, name, ndim=2)
    if arr.shape[0] < 2 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have at least 2 rows and 1 column, got shape {arr.shape}")
    norms = np.linalg.norm(arr, axis=1)
    if np.any(norms == 0):
        raise ValueError(f"{name} has a zero-norm row (row {int(np.argmin(norms))})")
    return arr / norms[:, None]


def _labels(x, n: int, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {arr.shape}")
    return arr


def _eps_value(eps, name: str = "eps") -> float:
    return check_scalar(eps, name, min=0, max=1, include_min=False, include_max=False)


def _eps_grid(eps, name: str = "eps_grid") -> np.ndarray:
    grid = np.atleast_1d(as_array(eps, name))
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers in (0, 1)")
    if np.any(grid <= 0) or np.any(grid >= 1) or np.any(np.diff(grid) <= 0):
        raise ValueError(f"{name} must be strictly increasing numbers in (0, 1), got {grid}")
    return grid


def _redundant_removed(kept: np.ndarray, group: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(redundant removals, Σ (g − 1)) over the groups selected by ``mask`` (a group mask over
    points): at most g − 1 removals of a group of size g count, as in the chapter's metric."""
    _, inv, sizes = np.unique(group, return_inverse=True, return_counts=True)
    removed = np.bincount(inv, weights=~kept, minlength=sizes.size)
    sel = np.zeros(sizes.size, dtype=bool)
    sel[np.unique(inv[mask])] = True
    return float(np.minimum(removed, sizes - 1)[sel].sum()), float((sizes - 1)[sel].sum())


# ---------------------------------------------------------------------------------------------
# kept fraction against ε


def linear_fit(x, y) -> tuple[float, float, float]:
    """Least-squares line y ≈ a + b x: returns (a, b, R²), R² = 1 − SS_res / SS_tot."""
    x = as_array(x, "x", ndim=1)
    y = as_array(y, "y", ndim=1)
    if x.shape != y.shape or x.ndim != 1 or x.size < 3:
        raise ValueError("x and y must be 1-D of the same length, at least 3 points")
    b, a = np.polyfit(x, y, 1)
    ss_res = float(np.sum((y - (a + b * x)) ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return float(a), float(b), 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0


def first_eps(eps, values, level: float) -> float:
    """The smallest ε at which a curve that rises with ε reaches ``level`` (linear interpolation
    between grid points; ``nan`` if it never does, ``eps[0]`` if it starts there)."""
    eps = as_array(eps, "eps", ndim=1, nonempty=True)
    values = as_array(values, "values", ndim=1)
    if eps.shape != values.shape:
        raise ValueError(f"eps and values must be 1-D of the same length, got {eps.shape} and {values.shape}")
    level = check_scalar(level, "level")
    hit = np.flatnonzero(values >= level)
    if hit.size == 0:
        return float("nan")
    j = int(hit[0])
    if j == 0:
        return float(eps[0])
    x0, x1, y0, y1 = eps[j - 1], eps[j], values[j - 1], values[j]
    return float(x0 + (level - y0) * (x1 - x0) / (y1 - y0))


@dataclass(frozen=True)
class EpsSweep:
    """The kept fraction and what is removed, on a grid of ε (one SemDeDup run).

    ``kept_fraction`` (n_eps,); ``precision``, ``recall`` (n_eps,) on the ground truth;
    ``kind_removed[kind]`` (n_eps,): of the redundant members (g − 1 per group) of the groups of
    that kind, the share removed; ``distinct_lost`` (n_eps,): the share of groups (distinct
    contents) with no member kept; ``topic_kept[topic]`` (n_eps,) the kept fraction per topic and
    ``topic_ideal[topic]`` its groups / sentences (what exact deduplication of the ground truth
    would keep).
    """

    eps: np.ndarray
    kept_fraction: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    kind_removed: dict
    distinct_lost: np.ndarray
    topic_kept: dict
    topic_ideal: dict
    ideal_kept: float
    k: int
    keep: str
    seed: int
    result: object = field(repr=False, default=None)

    def index(self, eps: float) -> int:
        """The grid position nearest ``eps``."""
        return int(np.argmin(np.abs(self.eps - _eps_value(eps))))

    def linearity(self, lo: float, hi: float) -> tuple[float, float, float]:
        """:func:`linear_fit` (a, b, R²) of the kept fraction over the grid points in [lo, hi]."""
        m = (self.eps >= lo) & (self.eps <= hi)
        return linear_fit(self.eps[m], self.kept_fraction[m])

    def topic_correlation(self, eps: float) -> float:
        """Spearman ρ, over topics, between a topic's one-per-group share and its kept fraction at
        the grid point nearest ``eps`` (positive: the more duplicated topics keep less)."""
        from scipy.stats import spearmanr

        if len(self.topic_kept) < 3:
            raise ValueError("topic_correlation needs at least three topics")
        i = self.index(eps)
        topics = sorted(self.topic_kept)
        return float(spearmanr([self.topic_ideal[t] for t in topics],
                               [self.topic_kept[t][i] for t in topics]).statistic)

    def first_eps(self, level: float = 0.5) -> dict:
        """ε at which each kind's removed share (and the distinct contents lost) reaches ``level``."""
        out = {k: first_eps(self.eps, v, level) for k, v in self.kind_removed.items()}
        out["distinct"] = first_eps(self.eps, self.distinct_lost, level)
        return out

    def table(self):
        import pandas as pd

        data = {"eps": self.eps, "kept": self.kept_fraction, "precision": self.precision,
                "recall": self.recall}
        data.update({f"removed {k}": v for k, v in self.kind_removed.items()})
        data["distinct lost"] = self.distinct_lost
        return pd.DataFrame(data)


def eps_sweep(embeddings, eps_grid, group, *, group_kind=None, topic=None, k: int = 20,
              keep: str = "hard", seed: int = 1234, n_iter: int = 20, progress_bar: bool = False
              ) -> EpsSweep:
    """Run :func:`theory.semdedup.semdedup` once with every ε of ``eps_grid`` and measure, per ε,
    the kept fraction, precision / recall on ``group`` (:func:`duplicate_precision_recall`),
    the removed share of each duplicate kind (``group_kind`` (n,) labels: a group's kind, e.g.
    ``"exact"``, ``"edit"``, ``"paraphrase"``, ``"unique"``), the distinct contents lost and the
    kept fraction per ``topic`` (n,) label (the book's reconstruction)."""
    from theory.semdedup import duplicate_precision_recall, semdedup

    E = _embeddings(embeddings)
    n = E.shape[0]
    grid = _eps_grid(eps_grid)
    group = _labels(group, n, "group")
    k = check_scalar(k, "k", kind="int", min=1, max=n)
    seed = check_seed(seed)
    progress_bar = check_bool(progress_bar, "progress_bar")
    res = semdedup(E.astype(np.float32), k, tuple(grid.tolist()), keep=keep, seed=seed,
                   n_iter=n_iter, progress=progress_bar)
    kept = np.asarray(res.kept, dtype=bool)
    pr = np.array([duplicate_precision_recall(kept[i], group) for i in range(grid.size)])
    kinds = {}
    if group_kind is not None:
        gk = _labels(group_kind, n, "group_kind").astype(str)
        for kind in [x for x in _DUP_KINDS if x in set(gk)] + sorted(set(gk) - set(_DUP_KINDS) - {"unique"}):
            mask = gk == kind
            kinds[kind] = np.array([np.divide(*_redundant_removed(kept[i], group, mask))
                                    for i in range(grid.size)])
    _, inv = np.unique(group, return_inverse=True)
    n_groups = int(inv.max()) + 1
    lost = np.array([np.mean(np.bincount(inv, weights=kept[i], minlength=n_groups) == 0)
                     for i in range(grid.size)])
    topic_kept, topic_ideal = {}, {}
    if topic is not None:
        tp = _labels(topic, n, "topic").astype(str)
        for t in sorted(set(tp)):
            m = tp == t
            topic_kept[t] = kept[:, m].mean(axis=1)
            topic_ideal[t] = np.unique(group[m]).size / m.sum()
    return EpsSweep(eps=grid, kept_fraction=kept.mean(axis=1), precision=pr[:, 0], recall=pr[:, 1],
                    kind_removed=kinds, distinct_lost=lost, topic_kept=topic_kept,
                    topic_ideal=topic_ideal, ideal_kept=n_groups / n, k=k, keep=keep, seed=seed,
                    result=res)


def relation_similarities(embeddings, group, *, group_kind, template=None, topic=None,
                          max_pairs: int = 200_000, seed: int = 0) -> dict:
    """Cosine similarities of all pairs i < j, split by relation (:data:`RELATIONS`): the same
    group of kind "exact" / "edit" / "paraphrase"; different groups of the same ``template``; the
    same ``topic`` but not the same template; unrelated. Relations with more than ``max_pairs``
    pairs are subsampled (seeded), so the result stays small. Returns {relation: float64 array}."""
    E = _embeddings(embeddings)
    n = E.shape[0]
    group = _labels(group, n, "group")
    gk = _labels(group_kind, n, "group_kind").astype(str)
    max_pairs = check_scalar(max_pairs, "max_pairs", kind="int", min=1)
    seed = check_seed(seed)
    tmpl = None if template is None else _labels(template, n, "template")
    tp = None if topic is None else _labels(topic, n, "topic")
    rng = np.random.default_rng(seed)
    buckets = {r: [] for r in RELATIONS}
    for start in range(0, n, 512):
        i = np.arange(start, min(start + 512, n))
        S = E[i] @ E.T
        ii, jj = np.nonzero(np.arange(n)[None, :] > i[:, None])
        a, b, s = i[ii], jj, S[ii, jj]
        same = group[a] == group[b]
        rel = np.full(a.size, "unrelated", dtype=object)
        if tp is not None:
            rel[tp[a] == tp[b]] = "same topic"
        if tmpl is not None:
            rel[(tmpl[a] == tmpl[b]) & ~same] = "same template"
        for kind in _DUP_KINDS:
            rel[same & (gk[a] == kind)] = kind
        for r in RELATIONS:
            buckets[r].append(s[rel == r])
    out = {}
    for r in RELATIONS:
        x = np.concatenate(buckets[r]) if buckets[r] else np.zeros(0)
        if x.size > max_pairs:
            x = rng.choice(x, size=max_pairs, replace=False)
        if x.size:
            out[r] = x.astype(np.float64)
    return out


# ---------------------------------------------------------------------------------------------
# the choice of k


def global_neighbour_pairs(embeddings, eps: float, *, chunk: int = 1024) -> np.ndarray:
    """All pairs (i, j), i < j, with e_i·e_j > 1 − ε over the whole data set (brute force, in
    row chunks; float64): the ε-neighbour pairs a single cluster would compare. (m, 2) int64."""
    E = _embeddings(embeddings)
    eps = _eps_value(eps)
    chunk = check_scalar(chunk, "chunk", kind="int", min=1)
    n = E.shape[0]
    out = []
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        S = E[start:stop] @ E.T
        r, c = np.nonzero(S > 1 - eps)
        r = r + start
        keep = c > r
        out.append(np.stack([r[keep], c[keep]], axis=1))
    return np.concatenate(out).astype(np.int64) if out else np.zeros((0, 2), np.int64)


def split_fraction(embeddings, labels, eps: float, *, anchors: int | None = None,
                   seed: int = 0) -> float:
    """The share of ε-neighbour pairs (cosine > 1 − ε) whose two points lie in different
    clusters: the duplicates SemDeDup cannot see at this clustering. ``anchors=None``: exact, all
    pairs. ``anchors=m``: an estimate for large data, from the neighbours of m seeded random
    points over the whole data set (cost m·n·d instead of n²·d): Σ split / Σ neighbours over the
    anchors' pairs (the book's reconstruction; a user can run it for a few k before the full
    job). ``nan`` when there are no ε-neighbour pairs."""
    E = _embeddings(embeddings)
    n = E.shape[0]
    labels = _labels(labels, n, "labels")
    eps = _eps_value(eps)
    seed = check_seed(seed)
    if anchors is None:
        pairs = global_neighbour_pairs(E, eps)
        return float(np.mean(labels[pairs[:, 0]] != labels[pairs[:, 1]])) if len(pairs) else float("nan")
    anchors = check_scalar(anchors, "anchors", kind="int", min=1, max=n)
    idx = np.random.default_rng(seed).choice(n, size=anchors, replace=False)
    total = split = 0
    for start in range(0, anchors, 1024):
        a = idx[start:start + 1024]
        S = E[a] @ E.T
        S[np.arange(a.size), a] = -np.inf  # not its own neighbour
        r, c = np.nonzero(S > 1 - eps)
        total += r.size
        split += int(np.sum(labels[a[r]] != labels[c]))
    return split / total if total else float("nan")


@dataclass(frozen=True)
class KSweep:
    """SemDeDup for each k of a grid and each ε of a list, on one data set. Arrays (n_eps, n_k):
    ``split`` the share of global ε-neighbour pairs cut by the clustering (duplicates SemDeDup
    can no longer find), ``precision``, ``recall``, ``kept_fraction``. Arrays (n_k,):
    ``group_split`` the share of ground-truth duplicate pairs (same group) cut, ``cost``
    Σ n_c² / n² (the pairwise work relative to one cluster), ``largest`` the largest cluster's
    share of n. ``n_pairs`` (n_eps,) the number of global ε-neighbour pairs, ``neighbours``
    (n_eps,) the mean number of ε-neighbours per point (2 · pairs / n)."""

    ks: np.ndarray
    eps: tuple
    split: np.ndarray
    group_split: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    kept_fraction: np.ndarray
    cost: np.ndarray
    largest: np.ndarray
    n: int
    n_pairs: np.ndarray
    seed: int

    @property
    def neighbours(self) -> np.ndarray:
        return 2.0 * np.asarray(self.n_pairs, dtype=np.float64) / self.n

    def suggest(self, tolerance: float = 0.05) -> dict:
        """{ε: :func:`suggest_k` at that ε}: the largest k of the grid splitting at most
        ``tolerance`` of the ε-neighbour pairs."""
        return {e: suggest_k(self.ks, self.split[i], tolerance) for i, e in enumerate(self.eps)}

    def cell(self, field: str, eps: float, k: int) -> float:
        """One entry of an (n_eps, n_k) field (``"split"``, ``"recall"``, ...) at (ε, k)."""
        if eps not in self.eps or k not in self.ks:
            raise ValueError(f"(eps, k) = ({eps}, {k}) is not on the sweep's grid")
        return float(getattr(self, field)[self.eps.index(eps), list(self.ks).index(k)])

    @property
    def recall_drop(self) -> np.ndarray:
        """(n_eps, n_k) recall lost against the smallest k of the grid (k = 1: the global rule)."""
        return self.recall[:, :1] - self.recall

    def table(self):
        """One row per (ε, k)."""
        import pandas as pd

        rows = []
        for i, e in enumerate(self.eps):
            for j, k in enumerate(self.ks):
                rows.append({"eps": e, "k": int(k), "n/k": self.n / k,
                             "split ε-pairs": self.split[i, j],
                             "split duplicate pairs": self.group_split[j],
                             "recall": self.recall[i, j], "recall drop": self.recall_drop[i, j],
                             "precision": self.precision[i, j], "kept": self.kept_fraction[i, j],
                             "Σn_c²/n²": self.cost[j], "largest cluster": self.largest[j]})
        return pd.DataFrame(rows)


def k_sweep(embeddings, ks, eps, group, *, keep: str = "hard", seed: int = 1234,
            n_iter: int = 20, progress_bar: bool = True) -> KSweep:
    """For each k in ``ks`` (increasing; put k = 1 first for the global reference): cluster and
    deduplicate with :func:`theory.semdedup.semdedup` at every ε of ``eps`` (a number or a
    sequence), and measure the ε-neighbour pairs cut across clusters, the ground-truth duplicate
    pairs cut, precision / recall, the kept fraction and the cost Σ n_c² / n² (the book's
    reconstruction of the argument that the ε-neighbourhoods must fit inside clusters)."""
    from theory.semdedup import duplicate_precision_recall, semdedup

    E = _embeddings(embeddings)
    n = E.shape[0]
    group = _labels(group, n, "group")
    eps_list = tuple(float(e) for e in np.atleast_1d(_eps_grid(eps, "eps")))
    ks = np.atleast_1d(np.asarray(ks))
    if ks.ndim != 1 or ks.size == 0 or not np.issubdtype(ks.dtype, np.integer):
        raise TypeError("ks must be a non-empty 1-D sequence of ints")
    if np.any(ks < 1) or np.any(ks > n) or np.any(np.diff(ks) <= 0):
        raise ValueError(f"ks must be strictly increasing ints in [1, {n}], got {ks}")
    seed = check_seed(seed)
    progress_bar = check_bool(progress_bar, "progress_bar")
    pairs = [global_neighbour_pairs(E, e) for e in eps_list]
    order = np.argsort(group, kind="stable")
    gs = group[order]
    starts = np.flatnonzero(np.r_[True, gs[1:] != gs[:-1]])
    dup_pairs = np.array([(order[a], order[b]) for s, e in zip(starts, np.r_[starts[1:], n])
                          for a in range(s, e) for b in range(a + 1, e)],
                         dtype=np.int64).reshape(-1, 2)
    shape = (len(eps_list), ks.size)
    split, prec, rec, kept_frac = (np.full(shape, np.nan) for _ in range(4))
    group_split, cost, largest = (np.full(ks.size, np.nan) for _ in range(3))
    for j, k in enumerate(progress(ks.tolist(), desc="k sweep", enable=progress_bar)):
        res = semdedup(E.astype(np.float32), int(k), eps_list, keep=keep, seed=seed, n_iter=n_iter)
        lab = np.asarray(res.labels)
        kept = np.asarray(res.kept, dtype=bool)
        sizes = np.bincount(lab, minlength=int(k)).astype(np.float64)
        cost[j] = np.sum(sizes**2) / n**2
        largest[j] = sizes.max() / n
        if len(dup_pairs):
            group_split[j] = np.mean(lab[dup_pairs[:, 0]] != lab[dup_pairs[:, 1]])
        for i in range(len(eps_list)):
            if len(pairs[i]):
                split[i, j] = np.mean(lab[pairs[i][:, 0]] != lab[pairs[i][:, 1]])
            prec[i, j], rec[i, j] = duplicate_precision_recall(kept[i], group)
            kept_frac[i, j] = kept[i].mean()
    return KSweep(ks=ks.astype(np.int64), eps=eps_list, split=split, group_split=group_split,
                  precision=prec, recall=rec, kept_fraction=kept_frac, cost=cost, largest=largest,
                  n=n, n_pairs=np.array([len(p) for p in pairs], dtype=np.int64), seed=seed)


def suggest_k(ks, split, tolerance: float = 0.05) -> int:
    """The largest k of the grid whose split share of ε-neighbour pairs is at most ``tolerance``
    (and every smaller k's too): the cheapest clustering that still sees almost all
    duplicates (the book's guidance, not the paper's rule)."""
    ks = np.asarray(ks)
    if split is None or isinstance(split, (str, bytes)):
        raise TypeError(f"split must be a 1-D array of shares (NaN: no pairs), got {type(split).__name__}")
    split = np.asarray(split)
    if split.dtype == bool or not np.issubdtype(split.dtype, np.number) or np.iscomplexobj(split):
        raise TypeError(f"split must hold real shares, got dtype {split.dtype}")
    split = split.astype(np.float64)
    if ks.shape != split.shape or ks.ndim != 1 or ks.size == 0:
        raise ValueError(f"ks and split must be 1-D of the same, non-zero length, got {ks.shape} and {split.shape}")
    if not np.issubdtype(ks.dtype, np.integer) or np.any(ks < 1) or np.any(np.diff(ks) <= 0):
        raise ValueError(f"ks must be strictly increasing positive ints, got {ks}")
    if np.any(np.isinf(split)):
        raise ValueError("split must hold shares in [0, 1] or NaN (no pairs), not inf")
    tolerance = check_scalar(tolerance, "tolerance", min=0, max=1)
    ok = np.cumprod(np.nan_to_num(split, nan=0.0) <= tolerance).astype(bool)
    if not ok[0]:
        raise ValueError(f"no k of the grid keeps the split share within tolerance = {tolerance}; "
                         f"the smallest k ({int(ks[0])}) splits {split[0]:.3f}")
    return int(ks[np.flatnonzero(ok)[-1]])


# ---------------------------------------------------------------------------------------------
# hard / easy / random


@dataclass(frozen=True)
class KeepRuleComparison:
    """The three keep rules on one clustering (same k, seed, ε). Per rule: ``kept_fraction``,
    ``mean_sim_kept`` / ``mean_sim_removed`` (mean cosine similarity to the cluster centroid of
    the kept / removed points), ``mean_sim_kept_contested`` (the same over the *contested*
    points only: those with an ε-neighbour in their cluster, where the rule has a choice),
    ``precision``, ``recall``; ``sim_kept[rule]`` the kept contested points' similarities;
    ``contested`` (n,) bool; ``jaccard_kept`` and ``jaccard_removed`` (3, 3) overlaps |A∩B| / |A∪B|
    of the kept and of the removed sets, in the order of ``rules``."""

    rules: tuple
    eps: float
    k: int
    kept_fraction: dict
    mean_sim_kept: dict
    mean_sim_removed: dict
    mean_sim_kept_contested: dict
    precision: dict
    recall: dict
    sim_kept: dict
    sim_all: np.ndarray
    contested: np.ndarray
    jaccard_kept: np.ndarray
    jaccard_removed: np.ndarray
    same_labels: bool
    seed: int

    def table(self):
        import pandas as pd

        return pd.DataFrame({"kept": self.kept_fraction, "mean sim kept": self.mean_sim_kept,
                             "mean sim removed": self.mean_sim_removed,
                             "mean sim kept (contested)": self.mean_sim_kept_contested,
                             "precision": self.precision, "recall": self.recall})


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = np.sum(a | b)
    return float(np.sum(a & b) / union) if union else 1.0


def keep_rule_comparison(embeddings, k: int, eps: float, group, *,
                         rules=("hard", "easy", "random"), seed: int = 1234,
                         n_iter: int = 20) -> KeepRuleComparison:
    """SemDeDup with each keep rule (the official code's "hard": farthest from the centroid
    first, so kept; "easy": nearest first; "random": seeded) on the same clustering, and what
    each keeps (the book's reconstruction of the paper's which-to-keep ablation)."""
    from theory.semdedup import duplicate_precision_recall, semdedup

    E = _embeddings(embeddings)
    n = E.shape[0]
    group = _labels(group, n, "group")
    k = check_scalar(k, "k", kind="int", min=1, max=n)
    eps = _eps_value(eps)
    seed = check_seed(seed)
    rules = tuple(rules)
    if not rules or any(r not in ("hard", "easy", "random") for r in rules) or len(set(rules)) != len(rules):
        raise ValueError(f"rules must be distinct names from ('hard', 'easy', 'random'), got {rules}")
    results = {r: semdedup(E.astype(np.float32), k, eps, keep=r, seed=seed, n_iter=n_iter)
               for r in rules}
    first = results[rules[0]]
    same = all(np.array_equal(np.asarray(first.labels), np.asarray(results[r].labels)) for r in rules)
    sim = np.asarray(first.similarity, dtype=np.float64)
    kept = {r: np.asarray(results[r].kept, dtype=bool)[0] for r in rules}
    labels = np.asarray(first.labels)
    contested = np.zeros(n, dtype=bool)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        S = E[idx] @ E[idx].T
        np.fill_diagonal(S, -np.inf)
        contested[idx] = np.any(S > 1 - eps, axis=1)
    pr = {r: duplicate_precision_recall(kept[r], group) for r in rules}
    J = np.array([[_jaccard(kept[a], kept[b]) for b in rules] for a in rules])
    Jr = np.array([[_jaccard(~kept[a], ~kept[b]) for b in rules] for a in rules])
    return KeepRuleComparison(
        rules=rules, eps=eps, k=k,
        kept_fraction={r: float(kept[r].mean()) for r in rules},
        mean_sim_kept={r: float(sim[kept[r]].mean()) for r in rules},
        mean_sim_removed={r: float(sim[~kept[r]].mean()) if (~kept[r]).any() else float("nan")
                          for r in rules},
        mean_sim_kept_contested={r: float(sim[kept[r] & contested].mean())
                                 if (kept[r] & contested).any() else float("nan") for r in rules},
        precision={r: float(pr[r][0]) for r in rules}, recall={r: float(pr[r][1]) for r in rules},
        sim_kept={r: sim[kept[r] & contested] for r in rules}, sim_all=sim, contested=contested, jaccard_kept=J, jaccard_removed=Jr,
        same_labels=same, seed=seed)


# ---------------------------------------------------------------------------------------------
# figures

_KIND_COLORS = {"exact": COLORS["blue"], "edit": COLORS["orange"], "paraphrase": COLORS["green"],
                "same template": COLORS["red"], "same topic": COLORS["purple"],
                "unrelated": COLORS["grey"], "distinct": COLORS["theory"]}


def eps_figure(sweep: EpsSweep, *, laion: bool = True):
    """Left: kept fraction against ε (markers; the ground truth's ideal as a dotted line; the
    official LAION table as a second series). Right: the removed share of each duplicate kind and
    the distinct contents lost against ε."""
    if not isinstance(sweep, EpsSweep):
        raise TypeError(f"sweep must be an EpsSweep, got {type(sweep).__name__}")
    laion = check_bool(laion, "laion")
    fig, (a, b) = figure(1, 2, width="wide")
    a.plot(sweep.eps, sweep.kept_fraction, "o-", color=COLORS["blue"], ms=4,
           label=f"this corpus (k = {sweep.k}, {sweep.keep})")
    a.axhline(sweep.ideal_kept, ls=":", color=COLORS["theory"], label="one per ground-truth group")
    if laion:
        le, lk = np.array(LAION_EPS_KEPT).T
        a.plot(le, lk, "s--", color=COLORS["orange"], ms=4,
               label="LAION-440M (official constants.py)")
    a.set_xlabel("ε (removed iff cosine > 1 − ε)")
    a.set_ylabel("kept fraction")
    a.set_ylim(0, 1.02)
    a.legend(loc="lower left")
    for kind, v in sweep.kind_removed.items():
        b.plot(sweep.eps, v, "o-", ms=3, color=_KIND_COLORS.get(kind), label=f"{kind}: redundant removed")
    b.plot(sweep.eps, sweep.distinct_lost, "o-", ms=3, color=_KIND_COLORS["distinct"],
           label="distinct contents lost")
    b.set_xlabel("ε")
    b.set_ylabel("share removed")
    b.set_ylim(-0.02, 1.02)
    b.legend(loc="center right")
    return fig


def topic_figure(sweep: EpsSweep):
    """Kept fraction per topic against ε, each with its ground-truth ideal (groups / sentences)
    as a short dotted line."""
    if not isinstance(sweep, EpsSweep) or not sweep.topic_kept:
        raise ValueError("sweep must be an EpsSweep computed with topic=")
    fig, ax = figure()
    cycle = [COLORS[c] for c in ("blue", "orange", "green", "red", "purple", "sky", "grey", "yellow")]
    for c, (t, v) in zip(cycle * 4, sweep.topic_kept.items()):
        ax.plot(sweep.eps, v, "-", color=c, label=f"{t} (ideal {sweep.topic_ideal[t]:.2f})")
        ax.axhline(sweep.topic_ideal[t], xmin=0.9, xmax=1.0, ls=":", color=c)
    ax.set_xlabel("ε")
    ax.set_ylabel("kept fraction of the topic")
    ax.set_ylim(0, 1.02)
    ax.legend(ncol=2, fontsize=8, loc="lower left")
    return fig


def similarity_figure(sims: dict, eps_marks=(0.01, 0.1, 0.3)):
    """Histograms (densities) of the pair similarities by relation, with the thresholds 1 − ε of
    ``eps_marks`` as vertical lines."""
    if not isinstance(sims, dict) or not sims:
        raise ValueError("sims must be the non-empty dict of relation_similarities")
    fig, ax = figure()
    bins = np.linspace(-0.3, 1.0, 66)
    for r, x in sims.items():
        ax.hist(np.clip(x, -0.3, 1.0), bins=bins, density=True, histtype="step", lw=1.6,
                color=_KIND_COLORS.get(r), label=f"{r} ({x.size:,} pairs)")
    ax.set_yscale("log")
    lo, hi = ax.get_ylim()
    ax.set_ylim(max(lo, 1e-4), hi * 1e3)  # room for the legend above the histograms
    for e in eps_marks:
        ax.axvline(1 - e, ls="--", lw=1, color=COLORS["theory"])
        ax.text(1 - e, hi * 1e2, f"ε = {e:g} ", rotation=90, ha="right", va="top", fontsize=8)
    ax.set_xlabel("cosine similarity of a pair")
    ax.set_ylabel("density")
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    return fig


def k_figure(ks: KSweep):
    """Left: against k, the split share of global ε-neighbour pairs (one line per ε) and of
    ground-truth duplicate pairs (dashed). Middle: the recall on the ground truth per ε. Right:
    the cost Σ n_c² / n² against k, with 1/k (equal clusters)."""
    if not isinstance(ks, KSweep):
        raise TypeError(f"ks must be a KSweep, got {type(ks).__name__}")
    fig, (a, m, b) = figure(1, 3, width="wide")
    cycle = [COLORS[c] for c in ("sky", "blue", "red", "orange", "purple", "green")]
    for i, e in enumerate(ks.eps):
        a.plot(ks.ks, ks.split[i], "o-", ms=4, color=cycle[i % 6], label=f"ε = {e:g}")
        m.plot(ks.ks, ks.recall[i], "o-", ms=4, color=cycle[i % 6], label=f"ε = {e:g}")
    a.plot(ks.ks, ks.group_split, "s--", ms=4, color=COLORS["theory"], label="duplicate pairs")
    a.set_ylabel("share of pairs split across clusters")
    m.set_ylabel("recall on the ground truth")
    for ax in (a, m):
        ax.set_xscale("log")
        ax.set_xlabel("number of clusters k")
        ax.set_ylim(-0.02, 1.02)
        ax.legend(fontsize=8)
    b.plot(ks.ks, ks.cost, "o", color=COLORS["green"], label="Σ n_c² / n² (measured)")
    b.plot(ks.ks, 1.0 / ks.ks, "-", color=COLORS["theory"], label="1/k (equal clusters)")
    b.set_xscale("log")
    b.set_yscale("log")
    b.set_xlabel("number of clusters k")
    b.set_ylabel("pairwise cost relative to k = 1")
    b.legend(fontsize=8)
    return fig


def keep_rule_figure(cmp: KeepRuleComparison):
    """Left: the distribution of the similarity to the centroid of the contested points (those
    with an ε-neighbour in their cluster) that each rule keeps, all contested points as a
    reference. Right: the overlap (Jaccard) of the removed sets."""
    if not isinstance(cmp, KeepRuleComparison):
        raise TypeError(f"cmp must be a KeepRuleComparison, got {type(cmp).__name__}")
    fig, (a, b) = figure(1, 2, width="wide")
    ref = cmp.sim_all[cmp.contested]
    bins = np.linspace(min(float(cmp.sim_all.min()), 0.0), 1.0, 41)
    a.hist(ref, bins=bins, color=COLORS["grey"], alpha=0.4, label=f"all {ref.size} contested points")
    colors = {"hard": COLORS["red"], "easy": COLORS["blue"], "random": COLORS["green"]}
    for r in cmp.rules:
        a.hist(cmp.sim_kept[r], bins=bins, histtype="step", lw=1.8, color=colors[r],
               label=f"{r}: kept (mean {cmp.mean_sim_kept_contested[r]:.3f})")
    a.set_xlabel("cosine similarity to the cluster centroid")
    a.set_ylabel("contested points")
    a.legend(loc="upper left", fontsize=8)
    im = b.imshow(cmp.jaccard_removed, vmin=0, vmax=1, cmap="viridis")
    b.set_xticks(range(len(cmp.rules)), cmp.rules)
    b.set_yticks(range(len(cmp.rules)), cmp.rules)
    b.grid(False)
    for i in range(len(cmp.rules)):
        for j in range(len(cmp.rules)):
            b.text(j, i, f"{cmp.jaccard_removed[i, j]:.2f}", ha="center", va="center",
                   color="white" if cmp.jaccard_removed[i, j] < 0.6 else "black")
    b.set_xlabel("keep rule")
    b.set_ylabel("keep rule")
    b.set_title("overlap of the removed sets (Jaccard)")
    fig.colorbar(im, ax=b, label="Jaccard")
    return fig
