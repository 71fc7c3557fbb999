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
