"""The algorithm page's package code: toy data, the threshold identities, analyses and figures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import sympy as sp  # noqa: E402

from theory.semdedup import semdedup  # noqa: E402
from theory.semdedup import algorithm, derivation, plots, toy  # noqa: E402


def test_toy_cluster_is_unit_and_seeded():
    P = toy.toy_cluster(seed=3)
    np.testing.assert_allclose(np.linalg.norm(P, axis=1), 1.0)
    np.testing.assert_array_equal(P, toy.toy_cluster(seed=3))
    assert not np.array_equal(P, toy.toy_cluster(seed=4))
    with pytest.raises(ValueError, match="spread"):
        toy.toy_cluster(spread=7.0)


def test_toy_corpus_ground_truth():
    X, group = toy.toy_corpus(1000, 8, copies=0.1, near_copies=0.2, seed=2)
    assert X.shape == (1000, 8) and X.dtype == np.float32
    ids, counts = np.unique(group, return_counts=True)
    assert len(ids) == 700 and counts.sum() == 1000
    E = X / np.linalg.norm(X, axis=1, keepdims=True)
    for g in ids[counts > 1][:20]:  # members of one group are (near-)copies of each other
        members = E[group == g]
        assert (members @ members.T).min() > 0.99
    with pytest.raises(ValueError, match="copies \\+ near_copies must be < 1"):
        toy.toy_corpus(100, copies=0.5, near_copies=0.5)


def test_threshold_identities_vanish():
    for name, expr in derivation.threshold_identities(3).items():
        assert sp.simplify(expr) == 0, name
    with pytest.raises(ValueError, match="d must be an int >= 2"):
        derivation.threshold_identities(1)


def test_reference_agreement_and_sizes():
    X, _ = toy.toy_corpus(300, 8, seed=5)
    table = algorithm.reference_agreement(X, 3, [0.01, 0.2], progress=False)
    assert len(table) == 12 and table["identical"].all()
    assert (table["kept"] == table["kept_reference"]).all()
    sizes = algorithm.cluster_sizes_by_k(X, [1, 4])
    assert sizes[1].tolist() == [300] and sizes[4].sum() == 300
    with pytest.raises(ValueError, match="ks"):
        algorithm.cluster_sizes_by_k(X, [0])


def test_figures_draw():
    X, _ = toy.toy_corpus(300, 8, seed=5)
    r = semdedup(X, 3, 0.1)
    fig = plots.kept_fraction_figure(r, np.linspace(0.01, 0.3, 10), {0.1: 0.5}, title="t")
    assert fig.axes[0].get_xlabel() == "ε"
    fig = plots.cost_figure({1: [300], 3: [100, 100, 100]}, 300)
    assert fig.axes[0].get_ylabel() == "comparisons / n²"
    with pytest.raises(ValueError, match="semantics must be one of"):
        plots.rule_figure(toy.toy_cluster(), 0.01, semantics="x")
