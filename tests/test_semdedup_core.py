"""The SemDeDup spine: embeddings sources, spherical k-means, the per-cluster rule, the reference."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import theory.semdedup._dedup as dedup_module
from theory.semdedup import (EmbeddingSource, assign_clusters, brute_force_keep, cluster_order,
                             duplicate_precision_recall, eps_for_kept_fraction, greedy_keep,
                             group_keep, max_earlier_similarity, open_embeddings, semdedup,
                             spherical_kmeans)


def corpus(n=1200, d=12, seed=0):
    """Random points with exact copies and near copies of the first ones; ground-truth groups."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    group = np.arange(n)
    X[n - 200:n - 100] = X[:100] + 0.03 * rng.normal(size=(100, d))
    group[n - 200:n - 100] = np.arange(100)
    X[n - 100:] = X[100:200]
    group[n - 100:] = np.arange(100, 200)
    return X.astype(np.float32), group


def unit(X):
    return X / np.linalg.norm(X, axis=1, keepdims=True)


# -- sources ------------------------------------------------------------------------------------
def test_array_file_and_shards_read_the_same_rows(tmp_path):
    X, _ = corpus(500)
    np.save(tmp_path / "one.npy", X)
    shards = tmp_path / "shards"
    shards.mkdir()
    for i, (a, b) in enumerate([(0, 120), (120, 121), (121, 400), (400, 500)]):
        np.save(shards / f"part-{i:03d}.npy", X[a:b])
    sources = [open_embeddings(X), open_embeddings(tmp_path / "one.npy"), open_embeddings(shards)]
    idx = np.random.default_rng(1).permutation(500)[:77]
    for s in sources:
        assert (s.n, s.d) == (500, 12)
        np.testing.assert_allclose(s.read(0, 500), unit(X), atol=1e-6)
        np.testing.assert_array_equal(s.take(idx), sources[0].take(idx))
        np.testing.assert_array_equal(s.read(110, 130), sources[0].read(110, 130))
        assert pickle.loads(pickle.dumps(s)).take(idx).tobytes() == s.take(idx).tobytes()
    # A file source pickles as its paths, not its rows.
    assert len(pickle.dumps(sources[2])) < 2000


@pytest.mark.parametrize("bad, message", [
    (np.zeros(5), "2-D"),
    (np.ones((3, 2), dtype=np.int64), "floating"),
    (np.zeros((0, 3)), "n >= 1"),
    ([[1.0, 2.0]], "must be an"),
])
def test_bad_arrays_are_refused(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        open_embeddings(bad)


def test_non_finite_and_zero_rows_are_named():
    X = np.ones((10, 3))
    X[7, 1] = np.nan
    with pytest.raises(ValueError, match="row 7 holds a non-finite"):
        open_embeddings(X, chunk_size=3)
    X[7, 1] = 1.0
    X[4] = 0.0
    with pytest.raises(ValueError, match="row 4 has zero norm"):
        open_embeddings(X, chunk_size=3)


def test_bad_files_are_refused(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        open_embeddings(tmp_path / "missing.npy")
    (tmp_path / "text.npy").write_text("not an array")
    with pytest.raises(ValueError, match="not a readable .npy"):
        open_embeddings(tmp_path / "text.npy")
    np.save(tmp_path / "three.npy", np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match="2-D"):
        open_embeddings(tmp_path / "three.npy")
    np.save(tmp_path / "ints.npy", np.ones((2, 3), dtype=np.int32))
    with pytest.raises(ValueError, match="float16, float32 or float64"):
        open_embeddings(tmp_path / "ints.npy")
    np.save(tmp_path / "fortran.npy", np.asfortranarray(np.ones((4, 3))))
    with pytest.raises(ValueError, match="Fortran"):
        open_embeddings(tmp_path / "fortran.npy")
    np.save(tmp_path / "whole.npy", np.ones((100, 3)))
    data = (tmp_path / "whole.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[:-50])
    with pytest.raises(ValueError, match="truncated"):
        open_embeddings(tmp_path / "cut.npy")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no .npy shards"):
        open_embeddings(empty)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    np.save(mixed / "a.npy", np.ones((2, 3), dtype=np.float32))
    np.save(mixed / "b.npy", np.ones((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="every shard must have d = 3"):
        open_embeddings(mixed)


# -- k-means ------------------------------------------------------------------------------------
def test_spherical_kmeans_is_monotone_and_assigns_to_the_nearest_centroid():
    X, _ = corpus()
    fit = spherical_kmeans(X, 8, n_iter=12, seed=3)
    assert fit.centroids.shape == (8, 12)
    np.testing.assert_allclose(np.linalg.norm(fit.centroids, axis=1), 1.0, atol=1e-6)
    assert np.all(np.diff(fit.objective) >= -1e-6), "Lloyd's objective never decreases"
    labels, sim = assign_clusters(X, fit.centroids)
    S = unit(X.astype(np.float64)) @ fit.centroids.T.astype(np.float64)
    np.testing.assert_allclose(sim, S.max(axis=1), atol=1e-5)
    assert np.all(S[np.arange(len(X)), labels] >= S.max(axis=1) - 1e-5)
    with pytest.raises(ValueError, match="k must be at most the number of points n = 1200"):
        spherical_kmeans(X, 1201)


def test_any_order_keeping_mapper_gives_identical_results():
    X, _ = corpus()

    def backwards(func, arguments):  # runs the tasks in reverse, returns them in order
        return [func(*a) for a in arguments[::-1]][::-1]

    a = semdedup(X, 10, [0.02, 0.1], chunk_size=128, task_rows=200)
    b = semdedup(X, 10, [0.02, 0.1], chunk_size=128, task_rows=200, mapper=backwards)
    for field in ("labels", "similarity", "rank", "max_sim", "kept", "centroids"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


# -- the per-cluster rule ---------------------------------------------------------------------
def test_max_earlier_similarity_is_the_official_triu_column_max(monkeypatch):
    rng = np.random.default_rng(2)
    E = unit(rng.normal(size=(300, 5))).astype(np.float32)
    S = E.astype(np.float64) @ E.T.astype(np.float64)
    expected = np.maximum(0.0, np.max(np.triu(S, 1), axis=0))
    np.testing.assert_allclose(max_earlier_similarity(E), expected, atol=1e-6)
    monkeypatch.setattr(dedup_module, "BLOCK_ENTRIES", 40 * 40)  # blocks of 40 columns
    np.testing.assert_allclose(max_earlier_similarity(E), expected, atol=1e-6)
    assert max_earlier_similarity(E[:1])[0] == 0.0


def test_greedy_and_groups_differ_on_a_chain_met_out_of_order():
    # a ~ b and b ~ c at 0.1 rad, a and c 0.2 rad apart; threshold 1 - eps = 0.99.
    angle = np.array([0.0, 0.2, 0.1])  # the order a, c, b
    E = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    np.testing.assert_array_equal(greedy_keep(max_earlier_similarity(E), 0.01), [True, True, False])
    np.testing.assert_array_equal(group_keep(E, 0.01), [True, False, False])
    # In chain order a, b, c both rules keep a alone: the chain goes whole.
    chain = E[[0, 2, 1]]
    np.testing.assert_array_equal(greedy_keep(max_earlier_similarity(chain), 0.01), [True, False, False])
    np.testing.assert_array_equal(group_keep(chain, 0.01), [True, False, False])


def test_cluster_order_rules():
    sim = np.array([0.5, 0.9, 0.1, 0.7])
    np.testing.assert_array_equal(cluster_order(sim, "hard"), [2, 0, 3, 1])  # farthest first
    np.testing.assert_array_equal(cluster_order(sim, "easy"), [1, 3, 0, 2])
    r = cluster_order(sim, "random", seed=5, cluster=2)
    np.testing.assert_array_equal(np.sort(r), np.arange(4))
    np.testing.assert_array_equal(r, cluster_order(sim, "random", seed=5, cluster=2))
    with pytest.raises(ValueError, match="keep must be one of 'hard', 'easy', 'random'"):
        cluster_order(sim, "hardest")


@pytest.mark.parametrize("keep", ["hard", "easy", "random"])
@pytest.mark.parametrize("semantics", ["greedy", "groups"])
def test_pipeline_equals_the_brute_force_reference(keep, semantics):
    X, _ = corpus(600)
    eps = (0.001, 0.03, 0.3)
    r = semdedup(X, 6, eps, keep=keep, semantics=semantics, task_rows=150)
    E64 = unit(X.astype(np.float64))
    for row, e in enumerate(eps):
        # float32 against float64: the test is sharp only if no similarity sits at the threshold.
        S = E64 @ E64.T
        assert np.min(np.abs(S - (1 - e))) > 1e-5
        ref = brute_force_keep(X, r.labels, r.similarity, e, keep=keep, semantics=semantics)
        np.testing.assert_array_equal(r.kept[row], ref)
    if semantics == "greedy":
        assert np.all(np.diff(r.kept_fraction(np.linspace(0.001, 0.6, 30))) <= 0)


def test_groups_never_keep_more_than_greedy():
    X, _ = corpus(600)
    for e in (0.05, 0.3, 0.5):
        g = semdedup(X, 4, e, semantics="groups")
        r = semdedup(X, 4, e)
        assert g.kept[0].sum() <= r.kept[0].sum()
        assert not np.any(g.kept[0] & ~r.kept[0]), "a point greedy removes is never kept by groups"


def test_precision_recall_on_injected_duplicates():
    X, group = corpus()
    r = semdedup(X, 5, 0.01)
    precision, recall = duplicate_precision_recall(r.kept_mask(), group)
    assert precision == 1.0 and recall > 0.9
    kept = np.ones(6, dtype=bool)
    g = np.array([0, 0, 0, 1, 2, 2])
    kept[[1, 2, 3]] = False  # two redundant copies of group 0, and the unique point 3
    assert duplicate_precision_recall(kept, g) == (2 / 3, 2 / 3)
    kept[:3] = False  # the whole of group 0: one removal too many
    assert duplicate_precision_recall(kept, g) == (2 / 4, 2 / 3)
    with pytest.raises(TypeError, match="bool"):
        duplicate_precision_recall(g, g)


def test_eps_for_kept_fraction_is_exact():
    X, _ = corpus()
    r = semdedup(X, 5, 0.1)
    M = r.max_sim
    reachable = np.array([np.mean(M <= t) for t in np.unique(M[(M > 0) & (M < 1)])])
    assert reachable.max() < 0.95  # the 100 exact copies go at every eps
    for target in (0.95, 0.9, 0.8, 0.6, 0.3):
        eps = r.eps_for_kept_fraction(target)
        assert 0 < eps < 1
        achieved = r.kept_fraction(eps)
        assert abs(achieved - target) == pytest.approx(np.abs(reachable - target).min(), abs=1e-12)
        if 0.3 <= target <= 0.9:
            assert abs(achieved - target) <= 1 / r.n
    M = np.array([0.0, 0.2, 0.2, 0.5, 0.9, 1.0], dtype=np.float32)
    eps = eps_for_kept_fraction(M, 0.5)  # 3 of 6: the tie at 0.2 keeps 3
    assert greedy_keep(M, eps).sum() == 3
    with pytest.raises(ValueError, match="no eps in"):
        eps_for_kept_fraction(np.array([0.0, 1.0]), 0.5)


@pytest.mark.parametrize("kwargs, message", [
    (dict(eps=0.0), r"eps must be in \(0.0, 1.0\), got 0.0"),
    (dict(eps=1.0), r"eps must be in \(0.0, 1.0\), got 1.0"),
    (dict(eps="a"), "eps must be a real number"),
    (dict(eps=[]), "non-empty"),
    (dict(k=0), r"k must be in \[1, inf\)"),
    (dict(k=11), "k must be at most the number of points n = 10"),
    (dict(keep="far"), "keep must be one of"),
    (dict(semantics="chains"), "semantics must be one of"),
])
def test_semdedup_refuses_bad_arguments(kwargs, message):
    args = dict(k=2, eps=0.1) | kwargs
    with pytest.raises((ValueError, TypeError), match=message):
        semdedup(np.random.default_rng(0).normal(size=(10, 3)), args.pop("k"), args.pop("eps"), **args)


def test_result_queries():
    X, _ = corpus(400)
    r = semdedup(X, 4, [0.05, 0.2])
    table = r.cluster_table(0.2)
    assert table["size"].sum() == r.n and (table["kept"] + table["removed"] == table["size"]).all()
    assert table["kept"].sum() == r.kept_indices(0.2).size
    np.testing.assert_array_equal(np.sort(r.kept_indices(0.05)), r.kept_indices(0.05))
    with pytest.raises(ValueError, match="several eps"):
        r.kept_indices()
    g = semdedup(X, 4, [0.05], semantics="groups")
    with pytest.raises(ValueError, match="not among"):
        g.kept_mask(0.3)
    with pytest.raises(ValueError, match="semantics='greedy'"):
        g.eps_for_kept_fraction(0.5)
    assert isinstance(open_embeddings(r.centroids), EmbeddingSource)


def test_results_do_not_depend_on_the_number_of_blas_threads():
    """A BLAS product's bits depend on its thread count; every task runs on one (one_blas_thread),
    so a run gives the same labels and kept sets in any process (here: 1 and 2 threads)."""
    import os
    import subprocess
    import sys

    script = ("import hashlib, numpy as np\n"
              "from theory.semdedup import semdedup\n"
              "rng = np.random.default_rng(0)\n"
              "X = rng.normal(size=(6000, 96)).astype(np.float32)\n"
              "X[3000:3600] = X[:600] + 0.01 * rng.normal(size=(600, 96)).astype(np.float32)\n"
              "r = semdedup(X, 30, [0.01, 0.3], n_iter=8)\n"
              "print(hashlib.md5(r.labels.tobytes() + r.max_sim.tobytes() + r.kept.tobytes()).hexdigest())\n")
    digests = set()
    for threads in ("1", "2"):
        env = dict(os.environ, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads)
        out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                             text=True, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1, digests
