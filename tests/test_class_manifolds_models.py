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


# ------------------------------------------------------------------ theory.class_manifolds.classifiers
from theory.class_manifolds import classifiers as cl  # noqa: E402


def test_d_cut_grid_and_k_sets():
    assert cl.d_cut_grid(64) == [1, 2, 4, 6, 8, 12, 16, 24, 32, 64]
    assert cl.d_cut_grid(40) == [1, 2, 4, 6, 8, 12, 16, 24, 32, 40]
    assert cl.d_cut_grid(256)[-3:] == [64, 128, 256] and cl.d_cut_grid(3) == [1, 2, 3]
    sets = cl.k_class_sets(10, (1, 3), (0, 8))
    assert sets == [(0,), (8,), (0, 1, 2), (8, 9, 0)]
    with pytest.raises(ValueError, match="ks"):
        cl.k_class_sets(10, (10,))
    with pytest.raises(ValueError, match="starts"):
        cl.k_class_sets(10, (1,), (10,))


def test_boundary_score_is_k_times_geometric_mean():
    W = torch.randn(5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    fn = lambda x: x @ W  # noqa: E731
    obj = cl.boundary_objective(fn, [2, (0, 3)], 4, 5)
    x = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    p = torch.softmax(fn(x), -1)
    loss, score = obj.fn(x, torch.tensor([0, 0, 0, 1, 1, 1]))
    assert torch.allclose(score[:3], p[:3, 2], atol=1e-12)  # k = 1: the target probability
    assert torch.allclose(score[3:], 2 * torch.sqrt(p[3:, 0] * p[3:, 3]), atol=1e-12)
    assert torch.allclose(loss[:3], -torch.log(p[:3, 2]), atol=1e-12)
    # at the uniform distribution over the pair the score is exactly 1
    uni = cl.boundary_objective(lambda x: torch.tensor([[0.0, -50.0, -50.0, 0.0]], dtype=torch.float64).expand(len(x), 4),
                                [(0, 3)], 4, 5)
    assert float(uni.fn(x[:1], torch.tensor([0]))[1]) == pytest.approx(1.0, abs=1e-12)
    # the clamp: the network sees the clipped input
    box = cl.boundary_objective(fn, [2], 4, 5, clamp=(-0.5, 0.5))
    l_box, _ = box.fn(3 * x, torch.zeros(6, dtype=torch.int64))
    l_ref, _ = obj.fn((3 * x).clamp(-0.5, 0.5), torch.zeros(6, dtype=torch.int64))
    assert torch.allclose(l_box, l_ref, atol=1e-12)
    with pytest.raises(ValueError, match="clamp"):
        cl.boundary_objective(fn, [2], 4, 5, clamp=(1.0, 0.0))
    with pytest.raises(TypeError, match="clamp"):
        cl.boundary_objective(fn, [2], 4, 5, clamp=1.0)
    with pytest.raises(ValueError, match="out of range"):
        cl.boundary_objective(fn, [4], 4, 5)


@pytest.fixture(scope="module")
def study(small):
    return cl.cut_study(small, 0, target_sets=[0, 1, (2, 3)], d_cuts=[1, 4, 16, 64], n_repeats=3, steps=40,
                        label="digits")


def test_cut_study(study, small, digits):
    assert study.D == 64 and study.sets == [(0,), (1,), (2, 3)] and len(study.fits) == 3
    assert study.search["best_score"].shape == (4, 3, 3)
    assert study.test_accuracy == pytest.approx(small.test_accuracy[0])
    p = study.curves
    assert p.shape == (4, 3) and np.all((p >= 0) & (p <= 1 + 1e-12))
    r = [study.reach(t) for t in (0.5, 0.9, 0.99)]
    assert np.all(r[0] >= r[1]) and np.all(r[1] >= r[2])
    assert np.allclose(r[0] * 3, np.round(r[0] * 3))  # fractions of 3 planes
    t = study.table()
    assert list(t["k"]) == [1, 1, 2] and list(t["target"]) == ["0", "1", "2+3"]
    assert np.allclose(t["effective_dim"].dropna(), 64 - t["d50"].dropna())
    # the same problems alone: planes and anchors depend on the target's key, not the batch
    alone = cl.cut_study(small, 0, target_sets=[1], d_cuts=[4], n_repeats=3, steps=40)
    assert np.allclose(alone.search["best_score"].values[0, :, 0], study.search["best_score"].values[1, :, 1],
                       atol=1e-10)
    assert alone.fits[0].status == "no_fit" and math.isnan(alone.d_star()[0])  # one point: no fit
    clamped = cl.cut_study(small, 0, target_sets=[1], d_cuts=[4], n_repeats=3, steps=40, clamp=True)
    assert clamped.clamp == (0.0, 16.0) and clamped.label == "digits, clamped"
    with pytest.raises(TypeError, match="model"):
        cl.cut_study(digits)
    with pytest.raises(TypeError, match="clamp"):
        cl.cut_study(small, clamp=(0, 1))
    with pytest.raises(ValueError, match="d_cuts"):
        cl.cut_study(small, d_cuts=[65])
    with pytest.raises(ValueError, match="member"):
        cl.cut_study(small, 7)


def _synthetic(best, sets, D=8):
    import xarray as xr
    d = np.arange(1, best.shape[0] + 1)
    ds = xr.Dataset({"best_score": (("d_cut", "repeat", "target"), best)},
                    coords={"d_cut": d, "repeat": np.arange(best.shape[1]), "target": [str(s) for s in sets]})
    fits = [cl._fit(d.astype(float), best[:, :, j].mean(1), D) for j in range(len(sets))]
    return cl.CutStudy("digits", D, sets, ds, fits, 1.0, None, 0.0)


def test_monotonicity_and_k_table_on_a_known_curve():
    d = np.arange(1, 9, dtype=float)
    rng = np.random.default_rng(0)
    curve = lambda c: 1 / (1 + (c / d) ** 3)  # noqa: E731  (½ at d = c)
    sets = [(0,), (1,), (0, 1), (2, 3)]
    best = np.stack([np.clip(curve(c)[:, None] + 0.01 * rng.standard_normal((8, 40)), 0, 1)
                     for c in (2.0, 3.0, 4.0, 6.0)], axis=-1)
    st = _synthetic(best, sets)
    m = cl.monotonicity(st)
    flat = best.reshape(8, -1)
    assert np.allclose(m["mean"], flat.mean(1))
    se = flat.std(1, ddof=1) / np.sqrt(flat.shape[1])
    assert np.allclose(m["z"], np.diff(flat.mean(1)) / np.sqrt(se[1:] ** 2 + se[:-1] ** 2))
    assert m["min_z"] > 2 and m["rise"] > 0.5
    down = _synthetic(best[::-1].copy(), sets)
    assert cl.monotonicity(down)["min_z"] < -2  # a falling curve fails the check
    kt = cl.k_class_table(st)
    assert list(kt["k"]) == [1, 2] and list(kt["sets"]) == [2, 2]
    assert kt["d50_mean"].to_numpy() == pytest.approx([2.5, 5.0], abs=0.1)
    assert kt["effective_dim"].to_numpy() == pytest.approx(8 - kt["d50_mean"].to_numpy())


def test_explorer_draws_a_handed_study(study):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with pytest.raises(ValueError, match="ten single-class"):
        cl.use_in_explorer([study])
    with pytest.raises(TypeError, match="CutStudy"):
        cl.use_in_explorer([1])
    dd = np.arange(1, 9, dtype=float)
    best = np.tile((1 / (1 + (3.0 / dd) ** 2))[:, None, None], (1, 3, 10))
    st = _synthetic(best, [(c,) for c in range(10)])
    st.label = "nope"
    with pytest.raises(ValueError, match="label"):
        cl.use_in_explorer([st])
    st.label = "mnist1d"
    exp = cl.use_in_explorer([st])
    assert exp.n_frames == 30
    fig = exp(model="mnist1d", target_class=4)
    assert fig.axes[0].has_data()
    plt.close(fig)
    cl._EXPLORER.pop("mnist1d")
