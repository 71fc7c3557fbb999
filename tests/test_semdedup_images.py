"""The digits corpus of chapter 5 (theory.semdedup.images): disjoint splits, the injected
ground truth, the copies' transforms, unit-norm deterministic embeddings, and bad input."""

import numpy as np
import pytest

from theory.semdedup.images import (DUPLICATE_KINDS, DigitCorpus, digit_corpus, digit_splits,
                                    embed_digits, load_digit_images, train_encoder)


@pytest.fixture(scope="module")
def corpus():
    return digit_corpus(n_copies={"exact": 40, "shift": 30, "noise": 20, "contrast": 10}, seed=3)


def test_splits_are_disjoint_and_cover_the_digits():
    s = digit_splits(n_encoder=500, n_test=400, seed=0)
    parts = [set(s.encoder.tolist()), set(s.corpus.tolist()), set(s.test.tolist())]
    assert [len(p) for p in parts] == [500, 1797 - 900, 400]
    assert not (parts[0] & parts[1]) and not (parts[0] & parts[2]) and not (parts[1] & parts[2])
    assert set().union(*parts) == set(range(1797))
    again = digit_splits(n_encoder=500, n_test=400, seed=0)
    assert np.array_equal(s.corpus, again.corpus)
    assert not np.array_equal(s.corpus, digit_splits(seed=1).corpus)


def test_ground_truth(corpus):
    c = corpus
    n0 = c.splits.corpus.size
    assert c.n == n0 + 100 and c.n_originals == n0
    assert {k: int(np.sum(c.kind == k)) for k in DUPLICATE_KINDS} == {
        "exact": 40, "shift": 30, "noise": 20, "contrast": 10}
    # every group holds exactly one original; its copies point at it and share its label
    orig = c.kind == "original"
    assert np.unique(c.group[orig]).size == n0 and set(np.unique(c.group)) == set(c.group[orig])
    assert np.array_equal(c.parent[orig], np.flatnonzero(orig))
    assert np.all(c.kind[c.parent] == "original") and np.all(c.group[c.parent] == c.group)
    assert np.array_equal(c.labels, c.labels[c.parent])
    assert c.n_redundant == 100
    # the originals are the corpus split's images, each once
    images, labels = load_digit_images()
    src = np.sort(c.images[orig].reshape(n0, 64), axis=0)
    assert np.array_equal(src, np.sort(images[c.splits.corpus].reshape(n0, 64), axis=0))
    assert np.array_equal(c.test_labels, labels[c.splits.test])


def test_copies_are_what_their_kind_says(corpus):
    c = corpus
    par = c.images[c.parent]
    ex, sh, no, co = (c.kind == k for k in DUPLICATE_KINDS)
    assert np.array_equal(c.images[ex], par[ex])
    for img, p in zip(c.images[sh], par[sh]):          # a one-pixel shift, zero filled
        ok = False
        for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            pad = np.zeros((10, 10), dtype=np.float32)
            pad[1:9, 1:9] = p
            ok |= np.array_equal(img, pad[1 - dr:9 - dr, 1 - dc:9 - dc])
        assert ok
    diff = c.images[no] - par[no]
    assert 0.5 < diff[(par[no] > 0) & (par[no] < 16)].std() < 2.5   # noise_sd 1.5, clipped
    assert c.images.min() >= 0 and c.images.max() <= 16
    ratio = c.images[co].sum((1, 2)) / par[co].sum((1, 2))
    assert np.all((ratio >= 0.5 - 1e-6) & (ratio <= 0.8 + 1e-6))


def test_embeddings_unit_norm_deterministic(corpus):
    E = corpus.embeddings
    assert E.dtype == np.float32 and E.shape == (corpus.n, corpus.encoder.dim)
    assert np.allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-6)
    again = digit_corpus(n_copies={"exact": 40, "shift": 30, "noise": 20, "contrast": 10}, seed=3)
    assert np.array_equal(again.embeddings, E) and np.array_equal(again.group, corpus.group)
    ex = corpus.kind == "exact"
    assert np.array_equal(E[ex], E[corpus.parent[ex]])
    assert np.array_equal(embed_digits(corpus.images[:5], encoder=corpus.encoder), E[:5])
    other = digit_corpus(n_copies={"exact": 40, "shift": 30, "noise": 20, "contrast": 10}, seed=4)
    assert not np.array_equal(other.group, corpus.group)     # another seed, other copies


def test_encoder_learns_and_generalises(corpus):
    enc = corpus.encoder
    assert enc.n_train == 500 and enc.train_accuracy > 0.95
    assert np.mean(enc.predict(corpus.test_images) == corpus.test_labels) > 0.85


def test_kinds_subset_and_zero_counts():
    c = digit_corpus(n_copies={"noise": 7}, kinds=("noise", "exact"), seed=0)
    assert c.n_copies == {"noise": 7, "exact": 0} and set(np.unique(c.kind)) == {"original", "noise"}
    assert isinstance(c, DigitCorpus) and "noise 7" in c.summary() and "exact 0" in c.summary()


@pytest.mark.parametrize("kwargs, err", [
    (dict(n_copies=-1), ValueError), (dict(n_copies=1.5), TypeError),
    (dict(n_copies={"blur": 3}), ValueError), (dict(kinds=("exact", "blur")), ValueError),
    (dict(kinds="exact"), TypeError), (dict(kinds=("exact", "exact")), ValueError),
    (dict(noise_sd=0.0), ValueError), (dict(contrast_range=(0.8, 0.5)), ValueError),
    (dict(contrast_range=(0.0, 0.5)), ValueError), (dict(contrast_range=0.5), TypeError),
    (dict(seed=-1), ValueError), (dict(splits="all"), TypeError), (dict(encoder=3), TypeError),
])
def test_bad_corpus_arguments(kwargs, err):
    with pytest.raises(err):
        digit_corpus(**kwargs)


def test_bad_split_encoder_and_image_arguments(corpus):
    with pytest.raises(ValueError, match="n_encoder"):
        digit_splits(n_encoder=1000, n_test=800)
    with pytest.raises(ValueError, match="n_encoder"):
        digit_splits(n_encoder=5)
    with pytest.raises(ValueError, match="dim"):
        train_encoder(dim=1)
    with pytest.raises(TypeError, match="splits"):
        train_encoder(splits=[1, 2])
    with pytest.raises(ValueError, match="images"):
        embed_digits(np.zeros((3, 7)), encoder=corpus.encoder)
    with pytest.raises(ValueError, match="finite"):
        embed_digits(np.full((2, 64), np.nan), encoder=corpus.encoder)
    with pytest.raises(TypeError, match="encoder"):
        embed_digits(np.zeros((2, 64)), encoder="clip")


# ---------------------------------------------------------------- duplicate detection


def test_detection_curves_structure(corpus):
    from theory.semdedup.images import DetectionCurves, detection_curves

    eps = np.geomspace(1e-4, 0.3, 6)
    d = detection_curves(corpus, eps, k=5)
    assert isinstance(d, DetectionCurves) and d.rows == ("all",) + DUPLICATE_KINDS
    assert d.precision.shape == d.recall.shape == d.kept_fraction.shape == (5, 6)
    assert np.array_equal(d.n_redundant, [100, 40, 30, 20, 10])
    assert np.array_equal(d.n_points, corpus.n_originals + np.array([100, 40, 30, 20, 10]))
    # exact copies have similarity 1 and the same cluster: removed at every ε
    assert np.all(d.recall[d.row("exact")] == 1.0)
    # greedy kept sets are nested: a larger ε removes more, so recall never falls
    assert np.all(np.diff(d.kept_fraction, axis=1) <= 0) and np.all(np.diff(d.recall, axis=1) >= 0)
    fin = np.isfinite(d.precision)
    assert np.all((d.precision[fin] >= 0) & (d.precision[fin] <= 1))
    # at the smallest ε only the exact copies (and nothing else) go from the exact row
    assert d.precision[d.row("exact"), 0] == 1.0
    assert d.kept_fraction[d.row("exact"), 0] == 1 - 40 / d.n_points[d.row("exact")]
    drop = d.precision_drop()
    assert drop.shape == (5,) and drop[d.row("exact")] > 0
    assert set(d.at(8e-3)) == set(d.rows) and "ε" in d.report([1e-3])


def test_detection_matches_a_direct_semdedup_run(corpus):
    from theory.semdedup import duplicate_precision_recall, semdedup
    from theory.semdedup.images import detection_curves

    d = detection_curves(corpus, [0.005, 0.02], k=4, seed=7)
    m = np.isin(corpus.kind, ("original", "noise"))
    res = semdedup(corpus.embeddings[m], 4, 0.02, seed=7)
    p, r = duplicate_precision_recall(res.kept_mask(), corpus.group[m])
    assert (d.precision[d.row("noise"), 1], d.recall[d.row("noise"), 1]) == (p, r)


def test_detection_bad_arguments(corpus):
    from theory.semdedup.images import detection_curves, detection_figure, examples_figure

    for eps in ([0.0, 0.1], [0.1, 1.0], [0.2, 0.1], []):
        with pytest.raises(ValueError, match="eps"):
            detection_curves(corpus, eps)
    with pytest.raises(TypeError, match="corpus"):
        detection_curves(corpus.embeddings, [0.1])
    with pytest.raises(ValueError, match="k"):
        detection_curves(corpus, [0.1], k=0)
    with pytest.raises(TypeError, match="curves"):
        detection_figure({"eps": [0.1]})
    with pytest.raises(ValueError, match="per_kind"):
        examples_figure(corpus, per_kind=0)


def test_figures(corpus):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from theory.semdedup.images import detection_curves, detection_figure, examples_figure

    fig = examples_figure(corpus, per_kind=2)
    assert len(fig.axes) == 4 * 4
    fig2 = detection_figure(detection_curves(corpus, [1e-3, 1e-2, 1e-1], k=5))
    ax = fig2.axes[1]
    assert ax.get_ylabel() == "recall" and ax.get_xscale() == "log"
    assert len(fig2.axes[0].get_legend().get_texts()) == 5
    plt.close("all")
