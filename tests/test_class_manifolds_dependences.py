"""Tests of theory.class_manifolds.dependences: the multi-model objective and search, the per-class
d*₅₀ with censoring, the paired bootstrap comparison, the robustness proxy and the page's models."""

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import xarray as xr

from theory.class_manifolds import dependences as dep
from theory.class_manifolds.fit import sigmoid

D, C = 6, 3


def _linear(seed, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    W = scale * torch.randn((D, C), generator=g, dtype=torch.float64)
    b = torch.randn(C, generator=g, dtype=torch.float64)
    return lambda x: x @ W + b


def _toy():
    g = torch.Generator().manual_seed(0)
    X = torch.randn((60, D), generator=g, dtype=torch.float64)
    y = np.arange(60) % C
    return X, y


def test_objective_routes_rows_and_ensemble_mode():
    f0, f1, f2 = _linear(0), _linear(1), _linear(2)
    obj = dep.factor_objective({"a": f0, "ens": [f1, f2]}, [0, 2], C, D)
    assert obj.keys == ("a|0", "a|2", "ens|0", "ens|2")
    x = torch.randn((4, D), dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 3])
    loss, score = obj.fn(x, target)
    lp0 = torch.log_softmax(f0(x), -1)
    lp1, lp2 = torch.log_softmax(f1(x), -1), torch.log_softmax(f2(x), -1)
    for i, c in ((0, 0), (1, 2)):
        assert math.isclose(loss[i].item(), -lp0[i, c].item(), rel_tol=1e-12)
        assert math.isclose(score[i].item(), lp0[i, c].exp().item(), rel_tol=1e-12)
    for i, c in ((2, 0), (3, 2)):
        assert math.isclose(loss[i].item(), -0.5 * (lp1[i, c] + lp2[i, c]).item(), rel_tol=1e-12)
        assert math.isclose(score[i].item(), 0.5 * (lp1[i, c].exp() + lp2[i, c].exp()).item(), rel_tol=1e-12)


def test_search_is_one_batch_and_a_model_is_the_same_alone():
    X, y = _toy()
    models = {"a": _linear(0, 3.0), "b": _linear(1, 0.3)}
    ds = dep.factor_search(models, X, y, range(C), C, [1, 2, 4, 6], 3, steps=40, n_chunks=2)
    assert set(ds.dims) == {"d_cut", "repeat", "model", "cls"} and ds.sizes["model"] == 2
    alone = dep.factor_search({"b": models["b"]}, X, y, range(C), C, [1, 2, 4, 6], 3, steps=40)
    np.testing.assert_allclose(ds.best_score.sel(model="b").values, alone.best_score.sel(model="b").values,
                               rtol=0, atol=1e-10)
    # the target probability is non-decreasing in d_cut on average (best over the search)
    p = ds.best_score.mean(("repeat", "cls"))
    assert np.all(np.diff(p.sel(model="a").values) > -0.05)
    assert float(p.sel(model="a").isel(d_cut=-1)) > float(p.sel(model="b").isel(d_cut=-1))


def _curves_ds(curves, d):
    """A fake search Dataset (d_cut, repeat, model, cls) with the given repeat-mean curves."""
    labels = list(curves)
    arr = np.stack([np.stack(curves[m], -1) for m in labels], -2)      # (d, model, cls)
    return xr.Dataset({"best_score": (("d_cut", "repeat", "model", "cls"), np.repeat(arr[:, None], 2, 1))},
                      coords={"d_cut": d, "repeat": [0, 1], "model": labels, "cls": [0, 1]}, attrs={"D": 64})


def test_per_class_dstar_recovers_and_censors():
    d = np.array([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64], dtype=float)
    curves = {"m": [sigmoid(d, 0.0, 1.0, 5.0, 0.3), sigmoid(d, 0.0, 1.0, 20.0, 0.4)],
              "edge": [np.full(d.size, 0.9) + 0.01 * np.log(d), np.full(d.size, 0.2)]}
    labels, classes, dstar, cens = dep.per_class_dstar(_curves_ds(curves, d))
    m, e = labels.index("m"), labels.index("edge")
    np.testing.assert_allclose(dstar[m], [5.0, 20.0], rtol=1e-4)
    assert not cens[m].any() and cens[e].all()
    assert dstar[e, 0] == 1.0 and dstar[e, 1] == 64.0     # always above → d_min; never reaches → D


def test_compare_directions_and_claim_tests():
    rng = np.random.default_rng(0)
    a = rng.uniform(2, 10, size=10)
    labels = ["A", "B", "C"]
    dstar = np.stack([a, a - 2.0, a + rng.normal(0, 1, 10)])
    cmp = dep.compare("width", (labels, list(range(10)), dstar, np.zeros_like(dstar, bool)), labels, D=64)
    (a1, b1, m1, lo1, hi1, dir1), _, (_, _, _, _, _, dir_last) = cmp.steps
    assert (a1, b1, dir1) == ("A", "B", "up") and math.isclose(m1, 2.0) and math.isclose(lo1, 2.0)
    assert cmp.steps[1][5] == "down" and dir_last == cmp.direction
    np.testing.assert_allclose(cmp.mean, 64 - dstar.mean(1))
    assert dep.direction_test(cmp, "up") == {"measured": cmp.steps[-1][3], "at_least": 0.0}
    assert dep.direction_test(cmp, "down") == {"measured": cmp.steps[-1][4], "at_most": 0.0}
    table = dep.summary_table([cmp])
    assert "| width |" in table and cmp.direction in table
    with pytest.raises(ValueError, match="direction"):
        dep.direction_test(cmp, "sideways")
    with pytest.raises(ValueError, match="labels"):
        dep.compare("width", (labels, [0], dstar, dstar > 0), ["A", "Z"], D=64)


def test_noisy_accuracy():
    X, y = _toy()
    f = _linear(0)
    clean = float((f(X).argmax(-1) == torch.as_tensor(y)).double().mean())
    acc = dep.noisy_accuracy(f, X, y, [0.0, 0.5, 50.0], n_draws=2)
    assert acc[0] == clean and np.array_equal(acc, dep.noisy_accuracy(f, X, y, [0.0, 0.5, 50.0], n_draws=2))
    assert acc[2] < clean
    with pytest.raises(ValueError, match="sigmas"):
        dep.noisy_accuracy(f, X, y, [-1.0])


def test_validation():
    f = _linear(0)
    with pytest.raises(ValueError, match="distinct labels"):
        dep.factor_objective([("a", f), ("a", f)], [0], C, D)
    with pytest.raises(TypeError, match="logits_fn"):
        dep.factor_objective({"a": 3}, [0], C, D)
    with pytest.raises(TypeError, match="logits_fn"):
        dep.factor_objective({"a": []}, [0], C, D)
    with pytest.raises(ValueError, match="classes"):
        dep.factor_objective({"a": f}, [0, 3], C, D)
    with pytest.raises(ValueError, match="classes"):
        dep.factor_objective({"a": f}, [1, 1], C, D)


def test_factor_models_small():
    from theory.class_manifolds.models import load_data

    data = load_data("digits", seed=0)
    fm = dep.factor_models(data, hidden=(8, 8), narrow=4, wide=16, steps=6, label_steps=6, early_step=2,
                           ensembles=(2, 3), progress=False)
    assert set(fm.levels) == set(dep.FACTORS)
    assert fm.levels["ensemble size"] == ["end", "ensemble 2", "ensemble 3"]
    assert isinstance(fm.fns["ensemble 3"], list) and len(fm.fns["ensemble 3"]) == 3
    for lab, (tr, te) in fm.accuracy.items():
        assert 0.0 <= te <= 1.0 and (math.isnan(tr) or 0.0 <= tr <= 1.0), lab
    assert fm.nets["labels"].meta["label_randomisation"] == (0.0, 1.0)
    assert fm.nets["base"].meta["train_fraction"][3:5] == (0.1, 0.5)
    with pytest.raises(ValueError, match="ensembles"):
        dep.factor_models(data, ensembles=(1,), progress=False)


def test_figures():
    d = np.array([1, 2, 4, 8, 16, 64], dtype=float)
    curves = {"A": [sigmoid(d, 0, 1, 4, 0.3)] * 2, "B": [sigmoid(d, 0, 1, 8, 0.3)] * 2}
    ds = _curves_ds(curves, d)
    cmp = dep.compare("width", dep.per_class_dstar(ds), ["A", "B"], D=64)
    fig = dep.dependence_figure([cmp], D=64)
    assert fig.axes[0].get_ylabel().startswith("D − d*")
    fig = dep.curves_figure(ds, {"width": ["A", "B"]})
    assert fig.axes[0].get_xscale() == "log"
