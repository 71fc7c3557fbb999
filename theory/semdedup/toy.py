"""Small data sets made in code for the algorithm page (the book's reconstruction).

- :func:`toy_cluster`: one cluster of unit vectors in the plane with chains of near-duplicates,
  so that the greedy and connected-group semantics differ visibly (cosine similarity is
  cos(θ_i − θ_j), a duplicate pair is one closer than arccos(1 − ε) ≈ √(2ε) in angle).
- :func:`toy_corpus`: an (n, d) mixture of topics on the sphere with injected exact copies and
  near-copies, and the ground-truth duplicate groups.
"""

from __future__ import annotations

import numpy as np

from theory.core._validate import array_bytes, check_memory, check_scalar, check_seed

__all__ = ["toy_cluster", "toy_corpus"]


def toy_cluster(n_groups: int = 8, *, spread: float = 5.5, seed: int = 7) -> np.ndarray:
    """Unit vectors in the plane (n, 2): ``n_groups`` group centres spread evenly (±0.15 rad) over an
    arc of ``spread`` radians, each with 0–3 companions at steps of 0.08–0.3 rad (chains), seeded."""
    n_groups = check_scalar(n_groups, "n_groups", kind="int", min=1)
    spread = check_scalar(spread, "spread", min=0.0, max=2 * np.pi, include_min=False)
    rng = np.random.default_rng(check_seed(seed))
    angles = []
    centres = np.linspace(-spread / 2, spread / 2, n_groups) + rng.uniform(-0.15, 0.15, n_groups)
    for centre in centres:
        angles.append(centre)
        position = centre
        for _ in range(rng.integers(0, 4)):
            position += rng.choice([-1, 1]) * rng.uniform(0.08, 0.3)
            angles.append(position)
    theta = np.asarray(angles)
    return np.stack([np.cos(theta), np.sin(theta)], axis=1)


def toy_corpus(n: int = 4000, d: int = 32, *, topics: int = 20, spread: float = 0.6,
               copies: float = 0.1, near_copies: float = 0.2, noise: float = 0.02,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A mixture of ``topics`` directions on the sphere in R^d with duplicates injected.

    Originals: a topic direction plus Gaussian noise of scale ``spread``/√d per coordinate. Then
    a fraction ``copies`` of the n points are exact copies of random originals and a fraction
    ``near_copies`` are originals plus noise of scale ``noise``/√d (cosine ≈ 1 − noise²/2 to their
    original). Returns ``(X float32 (n, d), group int64 (n,))``: a copy shares its original's
    group id; every original has its own.
    """
    n = check_scalar(n, "n", kind="int", min=2)
    d = check_scalar(d, "d", kind="int", min=2)
    topics = check_scalar(topics, "topics", kind="int", min=1)
    spread = check_scalar(spread, "spread", min=0.0)
    copies = check_scalar(copies, "copies", min=0.0, max=1.0)
    near_copies = check_scalar(near_copies, "near_copies", min=0.0, max=1.0)
    if copies + near_copies >= 1:
        raise ValueError(f"copies + near_copies must be < 1 (some originals), got "
                         f"{copies + near_copies}")
    noise = check_scalar(noise, "noise", min=0.0)
    check_memory(array_bytes(n, d) * 5, f"a toy corpus of {n} points in d = {d}", hint="reduce n or d")
    rng = np.random.default_rng(check_seed(seed))
    n_exact, n_near = int(round(copies * n)), int(round(near_copies * n))
    n_orig = n - n_exact - n_near
    centres = rng.normal(size=(topics, d))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    originals = centres[rng.integers(0, topics, n_orig)] + spread / np.sqrt(d) * rng.normal(
        size=(n_orig, d))
    src_exact = rng.integers(0, n_orig, n_exact)
    src_near = rng.integers(0, n_orig, n_near)
    X = np.concatenate([originals, originals[src_exact],
                        originals[src_near] + noise / np.sqrt(d) * rng.normal(size=(n_near, d))])
    group = np.concatenate([np.arange(n_orig), src_exact, src_near]).astype(np.int64)
    perm = rng.permutation(n)
    return X[perm].astype(np.float32), group[perm]
