"""Tests of theory.class_manifolds.models: offline data, batched MLP classifiers, logits_fn."""

import math

import numpy as np
import pytest
import torch

from theory.class_manifolds import class_anchors, classifier_objective, cutting_plane_search
from theory.class_manifolds.models import Classifiers, Data, load_data, train_classifiers


@pytest.fixture(scope="module")
def digits():
    return load_data("digits")


@pytest.fixture(scope="module")
def small(digits):
    return train_classifiers(digits, hidden=(32,), seeds=(0, 1, 2), steps=150, lr=5e-3,
                             snapshot_steps=[0, 40, 150], progress=False)


def test_digits_data(digits):
    assert isinstance(digits, Data) and digits.D == 64 and digits.n_classes == 10
    assert digits.X_train.dtype == torch.float64 and digits.y_train.dtype == torch.int64
    n = len(digits.X_train) + len(digits.X_test)
    assert n == 1797 and len(digits.X_test) == round(0.25 * 1797)
    assert float(digits.X_train.min()) >= digits.lo == 0.0 and float(digits.X_train.max()) <= digits.hi == 16.0
    again = load_data("digits")
    assert torch.equal(again.X_train, digits.X_train) and torch.equal(again.y_test, digits.y_test)
    other = load_data("digits", seed=1)
    assert not torch.equal(other.y_train[:50], digits.y_train[:50])


def test_upsampled_digits(digits):
    up = load_data("digits", upsample=16)
    assert up.D == 256 and up.name == "digits16x16"
    assert torch.equal(up.y_train, digits.y_train)
    img, small_img = up.X_train.reshape(-1, 16, 16), digits.X_train.reshape(-1, 8, 8)
    # align_corners=True: the four corner pixels are the original corners, values stay in 0..16
    assert torch.allclose(img[:, [0, 0, -1, -1], [0, -1, 0, -1]], small_img[:, [0, 0, -1, -1], [0, -1, 0, -1]])
    assert float(up.X_train.min()) >= 0.0 and float(up.X_train.max()) <= 16.0
    assert load_data("digits", upsample=8).D == 64


def test_mnist1d_data():
    m = load_data("mnist1d")
    assert m.D == 40 and m.n_classes == 10 and len(m.X_train) + len(m.X_test) == 5000
    assert m.lo == pytest.approx(float(torch.cat([m.X_train, m.X_test]).min()))
    assert m.hi == pytest.approx(float(torch.cat([m.X_train, m.X_test]).max()))


@pytest.mark.parametrize("kwargs, exc, word", [
    (dict(name="cifar"), ValueError, "name"),
    (dict(name=3), ValueError, "name"),
    (dict(upsample=7), ValueError, "upsample"),
    (dict(upsample=12.0), TypeError, "upsample"),
    (dict(name="mnist1d", upsample=16), ValueError, "upsample"),
    (dict(test_fraction=0.0), ValueError, "test_fraction"),
    (dict(test_fraction=1.0), ValueError, "test_fraction"),
    (dict(seed=-1), ValueError, "seed"),
])
def test_load_data_validation(kwargs, exc, word):
    with pytest.raises(exc, match=word):
        load_data(**kwargs)


@pytest.mark.parametrize("kwargs, exc, word", [
    (dict(label_randomisation=1.5), ValueError, "label_randomisation"),
    (dict(label_randomisation=-0.1), ValueError, "label_randomisation"),
    (dict(train_fraction=0.0), ValueError, "train_fraction"),
    (dict(train_fraction=1.2), ValueError, "train_fraction"),
    (dict(train_fraction=[0.5, 1.0, 1.0]), ValueError, "train_fraction"),
    (dict(input_noise=-1.0), ValueError, "input_noise"),
    (dict(hidden=()), TypeError, "hidden"),
    (dict(hidden=(0,)), ValueError, "hidden"),
    (dict(seeds=()), TypeError, "seeds"),
    (dict(steps=0), ValueError, "steps"),
    (dict(snapshot_steps=[5]), ValueError, "snapshot_steps"),
])
def test_train_validation(digits, kwargs, exc, word):
    base = dict(hidden=(4,), seeds=(0, 1), steps=2, progress=False)
    base.update(kwargs)
    with pytest.raises(exc, match=word):
        train_classifiers(digits, **base)
    with pytest.raises(TypeError, match="data"):
        train_classifiers(digits.X_train)


def test_training_learns_and_records(small, digits):
    assert isinstance(small, Classifiers) and small.G == 3 and small.widths == (64, 32, 10)
    assert small.test_accuracy.shape == (3,) and np.all(small.test_accuracy > 0.85)
    assert np.all(small.train_accuracy > 0.9)
    for g in range(3):  # the recorded accuracy is the logits_fn's
        assert small.accuracy(digits.X_test, digits.y_test, g) == pytest.approx(small.test_accuracy[g])
    assert sorted(small.snapshots) == [0, 40, 150]
    for k, v in small.params.items():
        assert v.dtype == torch.float64 and torch.equal(small.snapshots[150][k], v)
    assert small.snapshots[0]["b0"].abs().max() == 0.0  # biases start at 0
    x = digits.X_test[:20]
    acc0 = small.accuracy(digits.X_test, digits.y_test, 0)
    with torch.no_grad():
        early = (small.logits_fn(0, step=0)(digits.X_test).argmax(-1) == digits.y_test).double().mean()
    assert float(early) < acc0 - 0.3  # the untrained network is much worse
    assert small.logits_fn(1, step=40)(x).shape == (20, 10)


def test_standardisation_is_inside_the_network(small, digits):
    x = digits.X_test[:7]
    mu, sc = small.norm["mean"][1], small.norm["scale"][1]
    var = digits.X_train.var(0, unbiased=False)
    assert torch.allclose(mu, digits.X_train.mean(0)) and torch.allclose(sc, torch.sqrt(var + 0.01 * var.mean()))
    z = (x - mu) / sc
    h = torch.relu(z @ small.params["W0"][1] + small.params["b0"][1])
    ref = h @ small.params["W1"][1] + small.params["b1"][1]
    assert torch.allclose(small.logits_fn(1)(x), ref, atol=1e-12)


def test_ensemble_logits_are_log_mean_softmax(small, digits):
    x = digits.X_test[:9]
    ens = small.logits_fn([0, 2])(x)
    mean_p = 0.5 * (torch.softmax(small.logits_fn(0)(x), -1) + torch.softmax(small.logits_fn(2)(x), -1))
    assert torch.allclose(ens.exp(), mean_p, atol=1e-12)
    assert torch.allclose(torch.log_softmax(ens, -1), ens, atol=1e-12)


def test_logits_fn_validation(small, digits):
    with pytest.raises(ValueError, match="member"):
        small.logits_fn(3)
    with pytest.raises(ValueError, match="member"):
        small.logits_fn([0, 5])
    with pytest.raises(ValueError, match="member"):
        small.logits_fn(-1)
    with pytest.raises(TypeError, match="member"):
        small.logits_fn(1.0)
    with pytest.raises(ValueError, match="member"):
        small.logits_fn([1, 1])
    with pytest.raises(ValueError, match="step"):
        small.logits_fn(0, step=7)
    with pytest.raises(ValueError, match="x"):
        small.logits_fn(0)(digits.X_test[:3, :10])


def test_member_trains_the_same_alone_and_in_a_batch(digits):
    kw = dict(hidden=(8,), steps=12, batch_size=16, progress=False)
    batch = train_classifiers(digits, seeds=(0, 1, 2), label_randomisation=[0.0, 0.5, 0.2],
                              train_fraction=[1.0, 0.3, 0.6], input_noise=[0.0, 0.5, 0.1], **kw)
    alone = train_classifiers(digits, seeds=(1,), label_randomisation=0.5, train_fraction=0.3,
                              input_noise=0.5, **kw)
    for k in batch.params:
        assert torch.equal(batch.params[k][1], alone.params[k][0])
    assert torch.equal(batch.train_labels[1], alone.train_labels[0])
    assert batch.test_accuracy[1] == alone.test_accuracy[0]


def test_label_randomisation_and_subsets_are_nested(digits):
    c = train_classifiers(digits, hidden=(4,), seeds=(5, 5, 5, 5), steps=1, progress=False,
                          label_randomisation=[0.0, 0.3, 1.0, 0.0], train_fraction=[1.0, 1.0, 1.0, 0.25])
    y, C = digits.y_train, 10
    changed = [(c.train_labels[g] != y).double().mean().item() for g in range(3)]
    assert changed[0] == 0.0
    # a replaced label is uniform over the C classes: changed with probability ρ(1 − 1/C)
    n = len(y)
    for g, rho in ((1, 0.3), (2, 1.0)):
        expect = rho * (1 - 1 / C)
        assert abs(changed[g] - expect) < 4 * math.sqrt(expect * (1 - expect) / n)
    assert bool(((c.train_labels[1] != y) <= (c.train_labels[2] != y)).all())  # nested flips
    assert c.meta["n_train"] == (n, n, n, math.ceil(0.25 * n))
    assert len(c.train_subset[3]) == math.ceil(0.25 * n) and len(c.train_subset[0]) == n
    assert set(c.train_subset[3].tolist()) <= set(c.train_subset[0].tolist())


def test_cutting_plane_search_runs_on_logits_fn(small, digits):
    obj = classifier_objective(small.logits_fn([0, 1]), [3, (1, 7)], 10, 64)
    anchors = class_anchors(digits.X_train, digits.y_train.numpy(), [3, (1, 7)], 2, 10, seed=0)
    res = cutting_plane_search(obj, anchors, [1, 8], 2, steps=20)
    best = res["best_score"].values
    assert best.shape == (2, 2, 2) and np.all(np.isfinite(best)) and np.all((best >= 0) & (best <= 1 + 1e-12))
    assert float(res["final_loss"].min()) >= math.log(1) - 1e-12
