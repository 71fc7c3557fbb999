"""Training on SemDeDup-pruned digits against random pruning (theory.semdedup.training): the
arms' subsets, batching independence, that the classifier learns, the paired statistics, the
figure and bad input."""

import numpy as np
import pytest

from theory.core import Result, Sweep
from theory.semdedup import semdedup
from theory.semdedup.images import digit_corpus
from theory.semdedup.training import (ARMS, TrainingSetup, accuracy_table, arm_subsets, distinct_groups,
                                      final_accuracy, paired_gain, train_arms, training_figure,
                                      training_report)


@pytest.fixture(scope="module")
def corpus():
    return digit_corpus(n_copies=60, seed=1)


@pytest.fixture(scope="module")
def setup():
    return TrainingSetup(seeds=(0, 1), steps=300, record_every=100)


@pytest.fixture(scope="module")
def run(corpus, setup):
    return train_arms(corpus, setup, progress=False)


def test_subsets(corpus, setup):
    sub = arm_subsets(corpus, setup)
    target = np.unique(corpus.group).size / corpus.n
    assert sub["target"] == target
    for s in setup.seeds:
        assert np.array_equal(sub["full"][s], np.arange(corpus.n))
        kept, rand = sub["semdedup"][s], sub["random"][s]
        assert kept.size == rand.size and abs(kept.size / corpus.n - target) < 0.01
        assert np.unique(rand).size == rand.size and np.all(np.diff(rand) > 0)
        res = semdedup(corpus.embeddings, setup.k, sub["eps"][s], seed=1234 + s)
        assert np.array_equal(res.kept_indices(), kept)
    assert not np.array_equal(sub["random"][0], sub["random"][1])
    again = arm_subsets(corpus, setup)
    assert all(np.array_equal(again[a][s], sub[a][s]) for a in ARMS for s in setup.seeds)
    groups = distinct_groups(corpus, sub)
    assert np.all(groups["full"] == np.unique(corpus.group).size)
    assert np.all(groups["random"] <= groups["full"]) and np.all(groups["semdedup"] <= groups["full"])
    half = arm_subsets(corpus, TrainingSetup(seeds=(0,), kept_fraction=0.5))
    assert abs(half["semdedup"][0].size / corpus.n - 0.5) < 0.01


def test_result_shape_and_learning(run, setup, corpus):
    assert isinstance(run, Result) and run.sweep.dims == ("arm", "seed")
    assert run["test_accuracy"].shape == (6, 4) and list(run.steps) == [0, 100, 200, 300]
    fin = final_accuracy(run)
    assert set(fin) == set(ARMS) and all(v.shape == (2,) for v in fin.values())
    assert all(v.min() > 0.85 for v in fin.values())                 # every arm learns the digits
    assert np.all(run["test_accuracy"][:, 0] < 0.35)                 # from chance-level weights
    # the arms of one seed share their initial weights: same accuracy at step 0
    acc0 = accuracy_table(run)
    assert np.array_equal(acc0["full"][:, 0], acc0["random"][:, 0])
    n = run.sweep.unflatten(run.meta["n_train"])
    assert np.all(n[0] == corpus.n) and np.array_equal(n[1], n[2])


def test_a_configuration_trains_the_same_alone(corpus, setup, run):
    alone = train_arms(corpus, TrainingSetup(seeds=(1,), steps=300, record_every=100), progress=False)
    both = run.sweep.unflatten(run["test_accuracy"])[:, 1]
    np.testing.assert_allclose(alone.sweep.unflatten(alone["test_accuracy"])[:, 0], both, atol=1e-9)
    np.testing.assert_allclose(alone.params["W0"][0], run.params["W0"][1], atol=1e-5)


def test_paired_gain_arithmetic():
    sweep = Sweep(arm=list(ARMS), seed=[0, 1, 2])
    acc = np.zeros((9, 3))
    acc[3:6] = [[0.5, 0.8, 0.90], [0.5, 0.8, 0.92], [0.5, 0.8, 0.94]]    # semdedup
    acc[6:9] = [[0.5, 0.7, 0.88], [0.5, 0.7, 0.88], [0.5, 0.7, 0.88]]    # random
    res = Result([0, 50, 100], {"test_accuracy": acc}, sweep=sweep, meta={"n_train": np.ones(9), "steps": 100})
    g = paired_gain(res)
    np.testing.assert_allclose(g["final"], [0.02, 0.04, 0.06])
    np.testing.assert_allclose(g["curve_mean"], [0.06, 0.07, 0.08])    # records at steps 50, 100
    assert g["mean"] == pytest.approx(0.04) and g["sd"] == pytest.approx(0.02)
    assert g["lower"] == pytest.approx(0.04 - 2 * 0.02 / np.sqrt(3))
    assert paired_gain(res, from_step=100)["curve_mean"] == pytest.approx(g["final"])
    with pytest.raises(ValueError, match="a must be"):
        paired_gain(res, "pruned", "random")
    with pytest.raises(TypeError, match="train_arms"):
        final_accuracy(Result([0, 1], {"test_accuracy": acc[:, :2]}))


def test_report_and_figure(run):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    text = training_report(run)
    assert "semdedup − random" in text and "random" in text
    fig = training_figure(run)
    left, right = fig.axes
    assert left.get_xlabel() == "SGD step" and len(left.get_legend().get_texts()) == 3
    assert [t.get_text() for t in right.get_xticklabels()] == list(ARMS)
    plt.close("all")


@pytest.mark.parametrize("kwargs, err", [
    (dict(seeds=()), ValueError), (dict(seeds=(0, 0)), ValueError), (dict(seeds=(-1,)), ValueError),
    (dict(steps=0), ValueError), (dict(lr=0.0), ValueError), (dict(momentum=1.0), ValueError),
    (dict(batch_size=1.5), TypeError), (dict(keep="oldest"), ValueError),
    (dict(kept_fraction=1.0), ValueError), (dict(k=0), ValueError),
])
def test_bad_setup(kwargs, err):
    with pytest.raises(err):
        TrainingSetup(**kwargs)


def test_bad_training_arguments(corpus, setup):
    with pytest.raises(TypeError, match="corpus"):
        arm_subsets(corpus.embeddings, setup)
    with pytest.raises(TypeError, match="subsets"):
        distinct_groups(corpus, {})
    with pytest.raises(TypeError, match="setup"):
        train_arms(corpus, {"steps": 10})
    with pytest.raises(TypeError, match="subsets"):
        train_arms(corpus, setup, {"full": {}})
    bad = {a: {s: np.array([0, corpus.n]) for s in setup.seeds} for a in ARMS}
    with pytest.raises(ValueError, match="outside"):
        train_arms(corpus, setup, bad, progress=False)
