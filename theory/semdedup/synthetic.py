"""Seeded synthetic embeddings with known near-duplicates, written to disk block by block.

The book's reconstruction of a test bed for the tool (the paper's embeddings are not
available offline): ``n`` unit vectors in ``d`` dimensions drawn from a mixture of
``n_clusters`` clusters on the sphere, with a fraction of rows replaced by near-duplicates of
other rows, so that precision and recall of a deduplication can be measured against a ground
truth. The generative rule, for the row ``i`` of block ``b`` (blocks of :data:`BLOCK_ROWS` rows,
each drawn from its own stream ``config_seed(seed, "semdedup-synthetic-block", b)``):

- an *original* row: ``x = normalise(mu_c + s_c z)``, with ``c`` drawn from the cluster weights,
  ``mu_c`` a uniformly random unit centre, ``s_c`` the cluster's spread and ``z ~ N(0, I/d)``
  (so ``cos(x, mu_c) ~ 1/sqrt(1 + s_c^2)``);
- a *near-duplicate* row (probability ``duplicate_fraction``): a copy of a uniformly chosen
  original of the same block, exact with probability ``exact_fraction``, otherwise
  ``normalise(x_orig + sigma w)`` with ``sigma ~ U(0, max_noise)`` and ``w ~ N(0, I/d)``
  (so its cosine similarity to the original is about ``1/sqrt(1 + sigma^2)``).

The ground truth ``group`` (n,) int64 holds, for each row, the global index of its original
(an original's group is its own index): rows with the same group are duplicates of each other,
the convention of ``theory.semdedup.duplicate_precision_recall``. Duplicates stay within their
block (a block is at most :data:`BLOCK_ROWS` rows), so memory never holds more than one block;
the rows, the groups and the file content depend only on the arguments, not on ``shard_rows``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from theory.core import array_bytes, check_bool, check_memory, check_scalar, check_seed, config_seed, progress

__all__ = ["BLOCK_ROWS", "SyntheticEmbeddings", "make_synthetic", "write_synthetic"]

BLOCK_ROWS = 65536  # rows generated at a time (one random stream each)


@dataclass(frozen=True)
class SyntheticEmbeddings:
    """Where :func:`write_synthetic` put its output.

    ``embeddings``: the ``.npy`` file or the folder of ``.npy`` shards (what
    ``theory.semdedup.open_embeddings`` and the ``semdedup`` command read); ``groups``: the
    ground truth ``(n,)`` int64 ``.npy``; ``n``, ``d``, ``n_duplicates`` (Σ over groups of
    ``g - 1``), ``seed``; :meth:`group` loads the ground truth.
    """

    folder: Path
    embeddings: Path
    groups: Path
    n: int
    d: int
    n_duplicates: int
    seed: int

    def group(self) -> np.ndarray:
        """The ground truth (n,) int64: each row's original."""
        return np.load(self.groups)


def _check(n, d, n_clusters, duplicate_fraction, exact_fraction, max_noise, spread, seed):
    n = check_scalar(n, "n", kind="int", min=1)
    d = check_scalar(d, "d", kind="int", min=2)
    n_clusters = check_scalar(n_clusters, "n_clusters", kind="int", min=1)
    duplicate_fraction = check_scalar(duplicate_fraction, "duplicate_fraction", min=0.0, max=1.0,
                                      include_max=False)
    exact_fraction = check_scalar(exact_fraction, "exact_fraction", min=0.0, max=1.0)
    max_noise = check_scalar(max_noise, "max_noise", min=0.0)
    if not (isinstance(spread, tuple) and len(spread) == 2):
        raise TypeError(f"spread must be a tuple (low, high), got {spread!r}")
    lo = check_scalar(spread[0], "spread[0]", min=0.0)
    hi = check_scalar(spread[1], "spread[1]", min=lo)
    seed = check_seed(seed)
    check_memory(array_bytes(min(n, BLOCK_ROWS), d, itemsize=4) * 4 + array_bytes(n_clusters, d, itemsize=4),
                 f"synthetic blocks of {min(n, BLOCK_ROWS)} rows in d = {d}", hint="reduce d")
    return n, d, n_clusters, duplicate_fraction, exact_fraction, max_noise, (lo, hi), seed


def _mixture(d, n_clusters, spread, seed):
    """The cluster centres (k, d) float32 unit rows, weights (k,) and spreads (k,)."""
    rng = np.random.default_rng(config_seed(seed, "semdedup-synthetic-mixture", d, n_clusters))
    centres = rng.standard_normal((n_clusters, d), dtype=np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    weights = rng.gamma(2.0, size=n_clusters)  # uneven cluster sizes (coefficient of variation 0.7)
    weights /= weights.sum()
    spreads = rng.uniform(spread[0], spread[1], size=n_clusters).astype(np.float32)
    return centres, weights, spreads


def _block(b, start, rows, d, mixture, duplicate_fraction, exact_fraction, max_noise, seed):
    """Rows ``start … start + rows`` (block ``b``): float32 (rows, d) unit rows, groups (rows,)."""
    centres, weights, spreads = mixture
    rng = np.random.default_rng(config_seed(seed, "semdedup-synthetic-block", b))
    label = rng.choice(len(weights), size=rows, p=weights)
    x = rng.standard_normal((rows, d), dtype=np.float32)
    x *= spreads[label, None] / np.float32(np.sqrt(d))
    x += centres[label]
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    dup = rng.random(rows) < duplicate_fraction
    dup[0] = False  # every block holds at least one original
    originals = np.flatnonzero(~dup)
    dups = np.flatnonzero(dup)
    source = originals[rng.integers(0, originals.size, size=dups.size)]
    exact = rng.random(dups.size) < exact_fraction
    sigma = rng.uniform(0.0, max_noise, size=dups.size).astype(np.float32)
    w = rng.standard_normal((dups.size, d), dtype=np.float32) / np.float32(np.sqrt(d))
    w *= np.where(exact, np.float32(0), sigma)[:, None]
    y = x[source] + w
    y[~exact] /= np.linalg.norm(y[~exact], axis=1, keepdims=True)
    x[dups] = y
    group = np.arange(start, start + rows, dtype=np.int64)
    group[dups] = start + source
    return x, group


def _blocks(n, d, n_clusters, duplicate_fraction, exact_fraction, max_noise, spread, seed):
    mixture = _mixture(d, n_clusters, spread, seed)
    for b, start in enumerate(range(0, n, BLOCK_ROWS)):
        rows = min(BLOCK_ROWS, n - start)
        yield start, _block(b, start, rows, d, mixture, duplicate_fraction, exact_fraction,
                            max_noise, seed)


def make_synthetic(n: int, d: int, *, n_clusters: int = 50, duplicate_fraction: float = 0.1,
                   exact_fraction: float = 0.25, max_noise: float = 0.3,
                   spread: tuple = (0.6, 1.2), seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The synthetic embeddings in memory: ``(X float32 (n, d) unit rows, group int64 (n,))``.

    The same rows as :func:`write_synthetic` with the same arguments writes (the module
    docstring gives the rule; the book's reconstruction). For small ``n``; use
    :func:`write_synthetic` for data that should not sit in memory.
    """
    args = _check(n, d, n_clusters, duplicate_fraction, exact_fraction, max_noise, spread, seed)
    check_memory(array_bytes(args[0], args[1], itemsize=4) * 2, f"{args[0]} synthetic embeddings in d = {args[1]}",
                 hint="reduce n or d, or use write_synthetic (written block by block)")
    xs, gs = zip(*(blk for _, blk in _blocks(*args)))
    return np.concatenate(xs), np.concatenate(gs)


def _write_header(fh, rows: int, d: int) -> None:
    np.lib.format.write_array_header_1_0(
        fh, {"descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)), "fortran_order": False,
             "shape": (rows, d)})


def write_synthetic(folder, n: int, d: int, *, n_clusters: int = 50,
                    duplicate_fraction: float = 0.1, exact_fraction: float = 0.25,
                    max_noise: float = 0.3, spread: tuple = (0.6, 1.2), seed: int = 0,
                    shard_rows: int | None = None, progress_bar: bool = False
                    ) -> SyntheticEmbeddings:
    """Write the synthetic embeddings to ``folder`` without holding them in memory.

    ``folder`` (created; it must not exist or be empty) receives ``embeddings.npy`` (one
    float32 ``(n, d)`` file) or, with ``shard_rows``, a folder ``embeddings/`` of shards
    ``part-00000.npy, …`` of ``shard_rows`` rows each (the last one shorter); ``groups.npy``
    (the ground truth, see the module docstring) and ``meta.json`` (the arguments). Rows are
    generated :data:`BLOCK_ROWS` at a time and appended to the open file, so peak memory is a
    few blocks (about 100 MB at d = 384), whatever ``n``: 10⁶ × 384 (1.5 GB) takes about a
    minute on one core. Returns a :class:`SyntheticEmbeddings`.
    """
    n, d, n_clusters, duplicate_fraction, exact_fraction, max_noise, spread, seed = _check(
        n, d, n_clusters, duplicate_fraction, exact_fraction, max_noise, spread, seed)
    progress_bar = check_bool(progress_bar, "progress_bar")
    if shard_rows is not None:
        shard_rows = check_scalar(shard_rows, "shard_rows", kind="int", min=1)
    if not isinstance(folder, (str, os.PathLike)):
        raise TypeError(f"folder must be a path, got {type(folder).__name__}")
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ValueError(f"folder must not exist or be an empty folder, got {str(folder)!r}")
    folder.mkdir(parents=True, exist_ok=True)
    if shard_rows is None:
        target, bounds = folder / "embeddings.npy", [(0, n)]
    else:
        target = folder / "embeddings"
        target.mkdir()
        bounds = [(s, min(n, s + shard_rows)) for s in range(0, n, shard_rows)]

    groups = np.empty(n, dtype=np.int64)
    shard, fh = -1, None
    n_blocks = -(-n // BLOCK_ROWS)
    blocks = _blocks(n, d, n_clusters, duplicate_fraction, exact_fraction, max_noise, spread, seed)
    try:
        for start, (x, g) in progress(blocks, desc="synthetic embeddings", total=n_blocks,
                                      enable=progress_bar):
            groups[start:start + len(g)] = g
            pos = 0
            while pos < len(x):  # a block may straddle shards
                row = start + pos
                if fh is None or row >= bounds[shard][1]:
                    if fh is not None:
                        fh.close()
                    shard += 1
                    lo, hi = bounds[shard]
                    path = target if shard_rows is None else target / f"part-{shard:05d}.npy"
                    fh = open(path, "wb")
                    _write_header(fh, hi - lo, d)
                take = min(len(x) - pos, bounds[shard][1] - row)
                fh.write(np.ascontiguousarray(x[pos:pos + take]).tobytes())
                pos += take
    finally:
        if fh is not None:
            fh.close()
    np.save(folder / "groups.npy", groups)
    n_dup = int(n - np.unique(groups).size)
    meta = dict(n=n, d=d, n_clusters=n_clusters, duplicate_fraction=duplicate_fraction,
                exact_fraction=exact_fraction, max_noise=max_noise, spread=list(spread), seed=seed,
                shard_rows=shard_rows, block_rows=BLOCK_ROWS, n_duplicates=n_dup,
                embeddings=target.name)
    (folder / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")
    return SyntheticEmbeddings(folder=folder, embeddings=target, groups=folder / "groups.npy",
                               n=n, d=d, n_duplicates=n_dup, seed=seed)
