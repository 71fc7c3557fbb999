"""The chapter's analyses (theory.semdedup.analysis) on small synthetic embeddings with known
duplicates: kept fraction against ε, what goes first, the choice of k, the keep rules, figures."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from theory.semdedup import analysis as A  # noqa: E402
from theory.semdedup import semdedup  # noqa: E402

NOISE = {"exact": 0.0, "edit": 0.005, "paraphrase": 0.05}


def toy(n_groups=60, d=64, seed=0):
    """Random unit centres; a third of the groups alone, the rest with 1-3 members of one kind:
    exact copies, small noise ("edit", cos ≈ 0.998) or larger noise ("paraphrase", cos ≈ 0.8)."""
    rng = np.random.default_rng(seed)
    E, group, gk, topic = [], [], [], []
    for g in range(n_groups):
        c = rng.normal(size=d)
        c /= np.linalg.norm(c)
        kind = ("unique", "exact", "edit", "paraphrase")[g % 4]
        members = [c]
        if kind != "unique":
            for _ in range(1 + g % 3):
                v = c + NOISE[kind] * rng.normal(size=d)
                members.append(v / np.linalg.norm(v))
        for v in members:
            E.append(v)
            group.append(g)
            gk.append(kind)
            topic.append("A" if g < n_groups // 2 else "B")
    order = rng.permutation(len(E))
    return (np.array(E, np.float32)[order], np.array(group)[order], np.array(gk)[order],
            np.array(topic)[order])


@pytest.fixture(scope="module")
def data():
    return toy()


def test_linear_fit_and_first_eps():
    a, b, r2 = A.linear_fit([0, 1, 2, 3], [1, 3, 5, 7])
    assert (a, b, r2) == pytest.approx((1, 2, 1))
    assert A.linear_fit([0, 1, 2], [0, 1, 0])[2] == pytest.approx(0.0)
    eps, kept = np.array(A.LAION_EPS_KEPT).T
    assert np.all(np.diff(eps) > 0) and np.all(np.diff(kept) < 0)   # a larger ε keeps less
    assert A.first_eps([0.1, 0.2, 0.3], [0.0, 0.4, 0.8], 0.6) == pytest.approx(0.25)
    assert A.first_eps([0.1, 0.2], [0.5, 0.9], 0.3) == 0.1
    assert np.isnan(A.first_eps([0.1, 0.2], [0.0, 0.1], 0.5))
    with pytest.raises(ValueError, match="at least 3"):
        A.linear_fit([0, 1], [0, 1])


def test_eps_sweep_order_and_bookkeeping(data):
    E, group, gk, topic = data
    grid = [0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.9]
    sw = A.eps_sweep(E, grid, group, group_kind=gk, topic=topic, k=4, seed=1)
    assert np.all(np.diff(sw.kept_fraction) <= 0)
    np.testing.assert_allclose(sw.kept_fraction, sw.result.kept_fraction(grid))
    assert sw.ideal_kept == pytest.approx(60 / len(E))
    np.testing.assert_allclose(sw.kind_removed["exact"], 1.0)          # cos = 1 goes at any ε > 0
    assert sw.kind_removed["edit"][1] == 1.0 and sw.kind_removed["paraphrase"][1] == 0.0
    assert sw.kind_removed["paraphrase"][4] == 1.0 and sw.distinct_lost[4] == 0.0
    first = sw.first_eps(0.5)
    assert first["exact"] <= first["edit"] <= first["paraphrase"] < first["distinct"]
    assert set(sw.topic_kept) == {"A", "B"} and all(v.shape == (7,) for v in sw.topic_kept.values())
    for t in ("A", "B"):
        m = topic == t
        assert sw.topic_ideal[t] == pytest.approx(np.unique(group[m]).size / m.sum())
    # precision/recall at ε = 0.3 (all injected duplicates, nothing else): perfect
    assert sw.precision[4] == 1.0 and sw.recall[4] == 1.0
    assert len(sw.table()) == 7
    assert sw.index(0.29) == 4 and sw.index(0.0011) == 0
    a, b, r2 = sw.linearity(0.01, 0.5)
    assert (a, b, r2) == pytest.approx(A.linear_fit(grid[1:6], sw.kept_fraction[1:6]))
    with pytest.raises(ValueError, match="three topics"):
        sw.topic_correlation(0.1)
    three = A.eps_sweep(E, grid, group, topic=np.array(["A", "B", "C"])[group % 3], k=4, seed=1)
    assert -1 <= three.topic_correlation(0.1) <= 1 and three.kind_removed == {}
    for kw, match in [({"eps_grid": [0.2, 0.1]}, "eps_grid"), ({"eps_grid": [0.0]}, "eps_grid"),
                      ({"group": group[:-1]}, "group"), ({"k": 0}, "k")]:
        args = {"eps_grid": grid, "group": group, **kw}
        with pytest.raises(ValueError, match=match):
            A.eps_sweep(E, args.pop("eps_grid"), args.pop("group"), **args)


def test_relation_similarities(data):
    E, group, gk, topic = data
    n = len(E)
    sims = A.relation_similarities(E, group, group_kind=gk, topic=topic, max_pairs=10**6)
    assert sum(v.size for v in sims.values()) == n * (n - 1) // 2
    np.testing.assert_allclose(sims["exact"], 1.0, atol=1e-6)
    assert sims["edit"].min() > 0.99 > sims["paraphrase"].max()
    assert sims["paraphrase"].min() > 0.7 > np.abs(sims["unrelated"]).max()
    small = A.relation_similarities(E, group, group_kind=gk, max_pairs=5)
    assert all(v.size <= 5 for v in small.values()) and "same topic" not in small


def test_global_pairs_and_split_fraction(data):
    E = data[0].astype(np.float64)
    n = len(E)
    pairs = A.global_neighbour_pairs(E, 0.3, chunk=7)
    S = E @ E.T
    expect = {(i, j) for i in range(n) for j in range(i + 1, n) if S[i, j] > 0.7}
    assert {tuple(p) for p in pairs.tolist()} == expect
    assert A.split_fraction(E, np.zeros(n, int), 0.3) == 0.0
    assert A.split_fraction(E, np.arange(n), 0.3) == 1.0
    labels = np.random.default_rng(0).integers(0, 3, n)
    exact = A.split_fraction(E, labels, 0.3)
    assert exact == pytest.approx(np.mean([labels[i] != labels[j] for i, j in expect]))
    assert A.split_fraction(E, labels, 0.3, anchors=n) == pytest.approx(exact)   # all anchors
    est = A.split_fraction(E, labels, 0.3, anchors=n // 2, seed=1)
    assert 0 <= est <= 1
    with pytest.raises(ValueError, match="labels"):
        A.split_fraction(E, labels[:-1], 0.3)
    with pytest.raises(ValueError, match="anchors"):
        A.split_fraction(E, labels, 0.3, anchors=n + 1)


def test_k_sweep(data):
    E, group, gk, _ = data
    ks = A.k_sweep(E, [1, 3, 10, 40], [0.05, 0.3], group, seed=2, progress_bar=False)
    assert ks.split.shape == (2, 4) and ks.cost.shape == (4,)
    assert ks.cost[0] == 1.0 and ks.largest[0] == 1.0 and np.all(ks.split[:, 0] == 0)
    assert ks.group_split[0] == 0.0
    assert np.all(ks.cost >= 1.0 / ks.ks - 1e-12)                      # Σ n_c² ≥ n²/k
    np.testing.assert_allclose(ks.recall_drop[:, 0], 0.0)
    assert ks.recall[1, 0] == 1.0 and ks.precision[1, 0] == 1.0        # k = 1, ε = 0.3: exact
    # at k = 1 SemDeDup is the global rule: the same kept set as the brute-force reference
    res = semdedup(E, 1, 0.3, seed=2)
    from theory.semdedup import brute_force_keep
    np.testing.assert_array_equal(res.kept[0], brute_force_keep(E, res.labels, res.similarity, 0.3))
    assert ks.kept_fraction[1, 0] == pytest.approx(res.kept[0].mean())
    assert ks.neighbours[1] == pytest.approx(2 * ks.n_pairs[1] / len(E))
    assert len(ks.table()) == 8
    assert ks.cell("split", 0.3, 40) == ks.split[1, 3] and ks.cell("recall", 0.05, 1) == ks.recall[0, 0]
    assert ks.suggest(1.0) == {0.05: 40, 0.3: 40}
    with pytest.raises(ValueError, match="grid"):
        ks.cell("split", 0.2, 40)
    with pytest.raises(ValueError, match="ks"):
        A.k_sweep(E, [3, 1], 0.1, group)
    with pytest.raises(TypeError, match="ks"):
        A.k_sweep(E, [1.5], 0.1, group)


def test_suggest_k():
    ks = [1, 5, 20, 100]
    assert A.suggest_k(ks, [0.0, 0.01, 0.04, 0.2], 0.05) == 20
    assert A.suggest_k(ks, [0.0, 0.1, 0.01, 0.0], 0.05) == 1        # every smaller k must pass
    with pytest.raises(ValueError, match="tolerance"):
        A.suggest_k(ks, [0.2, 0.3, 0.4, 0.5], 0.05)


def test_keep_rules(data):
    E, group, _, _ = data
    cmp = A.keep_rule_comparison(E, 4, 0.3, group, seed=3)
    assert cmp.same_labels and cmp.rules == ("hard", "easy", "random")
    # clean cliques: every rule keeps one per group, hard the farthest from the centroid
    for r in cmp.rules:
        assert cmp.kept_fraction[r] == pytest.approx(60 / len(E))
        assert cmp.precision[r] == 1.0 and cmp.recall[r] == 1.0
    assert cmp.mean_sim_kept_contested["hard"] < cmp.mean_sim_kept_contested["random"] \
        < cmp.mean_sim_kept_contested["easy"]
    res = semdedup(E, 4, 0.3, keep="hard", seed=3)
    sim, lab = np.asarray(res.similarity), np.asarray(res.labels)
    for g in np.unique(group):
        m = np.flatnonzero(group == g)
        if m.size > 1 and len(set(lab[m])) == 1:
            assert res.kept[0][m[np.argmin(sim[m])]]
    np.testing.assert_allclose(np.diag(cmp.jaccard_kept), 1.0)
    np.testing.assert_allclose(cmp.jaccard_removed, cmp.jaccard_removed.T)
    assert cmp.jaccard_removed[0, 1] < 1.0
    assert cmp.contested.sum() == sum(np.sum(group == g) for g in np.unique(group)
                                      if np.sum(group == g) > 1)
    assert list(cmp.table().index) == list(cmp.rules)
    with pytest.raises(ValueError, match="rules"):
        A.keep_rule_comparison(E, 4, 0.3, group, rules=("hard", "soft"))


def test_figures_are_labelled(data):
    E, group, gk, topic = data
    sw = A.eps_sweep(E, [0.01, 0.1, 0.3], group, group_kind=gk, topic=topic, k=3)
    sims = A.relation_similarities(E, group, group_kind=gk, topic=topic)
    ks = A.k_sweep(E, [1, 4], [0.1, 0.3], group, progress_bar=False)
    cmp = A.keep_rule_comparison(E, 3, 0.3, group)
    for fig in (A.eps_figure(sw), A.topic_figure(sw), A.similarity_figure(sims), A.k_figure(ks),
                A.keep_rule_figure(cmp)):
        for ax in fig.axes:
            if ax.get_label() == "<colorbar>":
                continue
            assert ax.get_xlabel() and ax.get_ylabel()
        assert any(ax.get_legend() is not None for ax in fig.axes)
        plt.close(fig)
    with pytest.raises(TypeError, match="sweep"):
        A.eps_figure(ks)
    with pytest.raises(TypeError, match="ks"):
        A.k_figure(sw)
