"""Bad input to the class-manifolds chapter (issue 20): every public function, a table of invalid arguments.

The battery is :mod:`badinput`; ``python tests/badinput.py tests/test_bad_inputs_class_manifolds.py``
prints the counts.
"""

import functools
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
import xarray as xr
from hypothesis import given, strategies as st

import badinput
from badinput import Fn
from theory.class_manifolds import fit, ground_truth as gt

CP = "theory.class_manifolds.cutting_plane"
CL = "theory.class_manifolds.classifiers"
DEP = "theory.class_manifolds.dependences"
DER = "theory.class_manifolds.derivation"
FIT = "theory.class_manifolds.fit"
GT = "theory.class_manifolds.ground_truth"
MOD = "theory.class_manifolds.models"
PL = "theory.class_manifolds.plots"

D, C = 6, 3


def _linear(seed=0):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn((D, C), generator=g, dtype=torch.float64)
    b = torch.randn(C, generator=g, dtype=torch.float64)
    return lambda x: x @ W + b


def _toy():
    g = torch.Generator().manual_seed(0)
    return torch.randn((30, D), generator=g, dtype=torch.float64), np.arange(30) % C


@functools.lru_cache(maxsize=None)
def _data():
    from theory.class_manifolds.models import load_data

    return load_data("digits")


@functools.lru_cache(maxsize=None)
def _clf():
    from theory.class_manifolds.models import train_classifiers

    return train_classifiers(_data(), hidden=(4,), seeds=(0,), steps=2, progress=False)


@functools.lru_cache(maxsize=None)
def _study():
    from theory.class_manifolds import classifiers as cl

    return cl.cut_study(_clf(), 0, target_sets=[0, 1], d_cuts=[1, 4, 16, 64], n_repeats=2, steps=3)


def _curves_ds():
    d = np.array([1, 2, 4, 8, 16, 64], dtype=float)
    curves = {"A": [fit.sigmoid(d, 0, 1, 4, 0.3)] * 2, "B": [fit.sigmoid(d, 0, 1, 8, 0.3)] * 2}
    labels = list(curves)
    arr = np.stack([np.stack(curves[m], -1) for m in labels], -2)
    return xr.Dataset({"best_score": (("d_cut", "repeat", "model", "cls"), np.repeat(arr[:, None], 2, 1))},
                      coords={"d_cut": d, "repeat": [0, 1], "model": labels, "cls": [0, 1]}, attrs={"D": 64})


@functools.lru_cache(maxsize=None)
def _cmp():
    from theory.class_manifolds import dependences as dep

    return dep.compare("width", dep.per_class_dstar(_curves_ds()), ["A", "B"], D=64, n_boot=50)


@functools.lru_cache(maxsize=None)
def _gt_table():
    return gt.run_ground_truth([gt.ball(4, 0.5, 1.0)], [1, 2, 3, 4], 2, steps=5, n_planes=50)[0]


def _ball_obj():
    return gt.quadratic_objective([gt.ball(4, 0.5, 1.0)])


_ELEMENTWISE = {("d", "empty"): "elementwise in d: an empty d gives an empty result",
                ("d", "one more dimension"): "elementwise in d: any shape is legal"}
_D_SIG = np.array([1.0, 2, 4, 8, 16, 32])

SW = "theory.class_manifolds.sweeps"
_SW_TINY = dict(dataset="digits", hidden=(8,), train_steps=5, n_repeats=1, steps=3)


@functools.lru_cache(maxsize=1)
def _sw_ds():
    from theory.core import run_sweep
    from theory.class_manifolds import sweeps
    exp = sweeps.class_dim_experiment("laptop", n_repeats=1, train_steps=5, steps=3)
    exp = __import__("dataclasses").replace(exp, fixed=dict(exp.fixed, hidden=(8,)))
    return run_sweep(exp, sweeps.class_dim_sweep("laptop", n_class=1, n_seed=1), progress=False)


TABLE = [
    # ---------------------------------------------------------------- fit
    Fn(FIT, "sigmoid", dict(d=np.array([1.0, 2.0]), a=0.0, b=1.0, c=2.0, s=0.5),
       dict(d="positive_array", a="real", b="real", c="positive", s="real"), skip=_ELEMENTWISE,
       extra=[({"s": 0.0}, "s")]),
    Fn(FIT, "crossing", dict(a=0.0, b=1.0, c=2.0, s=0.5),
       dict(a="real", b="real", c="positive", s="real", level="real")),
    Fn(FIT, "interpolated_crossing", dict(d=np.array([1.0, 2.0, 3.0]), p=np.array([0.1, 0.6, 0.9])),
       dict(d="array", p="array", level="real"),
       extra=[({"p": np.array([0.1, 0.2])}, "shape")]),
    Fn(FIT, "fit_sigmoid", dict(d=_D_SIG, p=fit.sigmoid(_D_SIG, 0.0, 1.0, 5.0, 0.4), D=32, n_draws=3,
            sigma=np.full(6, 0.1)),
       dict(d="positive_array", p="array", D="positive_int", level="unit", sigma="positive_array?",
            n_draws="non_negative_int", seed="seed"),
       extra=[({"p": np.ones(3)}, "shape"), ({"level": 0.0}, "level")]),
    # ---------------------------------------------------------------- ground truth
    Fn(GT, "ball_hit_probability", dict(d=np.array([1.0, 2.0]), D=4, radius=0.5, distance=1.0),
       dict(d="positive_array", D="positive_int", radius="positive", distance="non_negative"), skip=_ELEMENTWISE,
       extra=[({"d": np.array([5.0])}, "d")]),
    Fn(GT, "ball", dict(D=4, radius=0.5, distance=1.0),
       dict(D="positive_int", radius="positive", distance="positive"),
       extra=[({"radius": 2.0}, "radius")]),
    Fn(GT, "ellipsoid", dict(radii=np.array([0.5, 0.3]), distance=1.0, width_samples=50),
       dict(radii="positive_array", distance="positive", axis="non_negative_int",
            width_samples="positive_int", seed="seed")),
    Fn(GT, "subspace_tube", dict(D=4, k=1, eps=0.1),
       dict(D="positive_int", k="positive_int", eps="positive", distance="positive", seed="seed")),
    Fn(GT, "union_of_subspaces", dict(D=5, ks=(1, 2), eps=0.1),
       dict(D="positive_int", eps="positive", distance="positive", seed="seed"),
       extra=[({"ks": (2, 3)}, "ks")]),
    Fn(GT, "quadratic_objective", lambda: dict(targets=[gt.ball(4, 0.5, 1.0)]), {},
       extra=[({"targets": []}, "targets"), ({"targets": [3]}, "targets")]),
    Fn(GT, "exact_plane_minimum", lambda: dict(target=gt.ball(4, 0.5, 1.0), M=np.ones((2, 1, 4))),
       dict(M="array"), extra=[({"M": np.ones((2, 1, 3))}, "M")]),
    Fn(GT, "exact_hit_probability",
       lambda: dict(target=gt.union_of_subspaces(5, (1, 2), 0.1), d_values=np.array([1.0, 2.0]), n_planes=20),
       dict(d_values="positive_array", n_planes="positive_int", seed="seed"),
       extra=[({"d_values": np.array([1.5])}, "d_values"), ({"d_values": np.array([6.0])}, "d_values")]),
    Fn(GT, "run_ground_truth", lambda: dict(targets=[gt.ball(4, 0.5, 1.0)], d_cuts=[1, 2, 3, 4], n_repeats=2,
                                            steps=3, n_planes=20),
       dict(n_repeats="positive_int", seed="seed", n_planes="positive_int"),
       extra=[({"targets": []}, "targets")]),
    # ---------------------------------------------------------------- cutting plane
    Fn(CP, "plane_basis", dict(seed=0, d=2, repeat=0, key="t", D=4),
       dict(seed="seed", d="positive_int", repeat="non_negative_int", D="positive_int",
            orthonormal="bool"),
       extra=[({"d": 5}, "d")]),
    Fn(CP, "cutting_plane_search", lambda: dict(objective=_ball_obj(), anchors=np.array([1.0, 0, 0, 0]),
                                                d_cuts=[1, 2], repeats=2, steps=3),
       dict(anchors="array", seed="seed", lr="positive", steps="non_negative_int", early_stop="bool",
            orthonormal="bool", adam="choice", eps="positive", dtype="dtype", device="device?",
            chunk_size="positive_int?", show_progress="bool"),
       names={"anchors": ("anchors",)},
       skip={("anchors", "one more dimension"): "(1, D) is a legal (n_targets, D) anchor"},
       extra=[({"d_cuts": [5]}, "d_cuts"), ({"anchors": np.ones(3)}, "anchors"),
              ({"lr": 1e300}, "diverged")]),
    Fn(CP, "classifier_objective", lambda: dict(logits_fn=_linear(), target_sets=[0, (1, 2)], n_classes=C, D=D),
       dict(logits_fn="callable", n_classes="positive_int", D="positive_int"),
       extra=[({"target_sets": [5]}, "target_sets")]),
    Fn(CP, "class_anchors", lambda: dict(X=_toy()[0].numpy(), y=_toy()[1], target_sets=[0, 1], n_repeats=2,
                                         n_classes=C),
       dict(X="array", n_repeats="positive_int", n_classes="positive_int", seed="seed"),
       extra=[({"y": np.arange(5) % C}, "y")]),
    # ---------------------------------------------------------------- models
    Fn(MOD, "load_data", dict(name="digits"),
       dict(name="choice", seed="seed", test_fraction="unit", upsample="positive_int?")),
    Fn(MOD, "train_classifiers", lambda: dict(data=_data(), hidden=(4,), seeds=(0,), steps=1, progress=False),
       dict(seeds="seeds", steps="positive_int", lr="positive", batch_size="positive_int",
            weight_decay="non_negative", progress="bool"),
       extra=[({"lr": 1e300, "steps": 3}, "diverged"), ({"hidden": (10**6, 10**6)}, "needs about")]),
    # ---------------------------------------------------------------- classifiers
    Fn(CL, "d_cut_grid", dict(D=8), dict(D="positive_int")),
    Fn(CL, "k_class_sets", dict(n_classes=4, ks=(1, 2), starts=(0, 2)), dict(n_classes="positive_int")),
    Fn(CL, "boundary_objective", lambda: dict(logits_fn=_linear(), target_sets=[0, (1, 2)], n_classes=C, D=D),
       dict(logits_fn="callable", n_classes="positive_int", D="positive_int"),
       extra=[({"clamp": (1.0, 0.0)}, "clamp")]),
    Fn(CL, "cut_study", lambda: dict(model=_clf(), target_sets=[0], d_cuts=[1, 4], n_repeats=2, steps=2),
       dict(n_repeats="positive_int", seed="seed", clamp="bool", steps="non_negative_int",
            early_stop="bool", show_progress="bool"),
       extra=[({"d_cuts": [65]}, "d_cuts"), ({"member": 7}, "member")]),
    Fn(CL, "monotonicity", lambda: dict(study=_study()), {}, extra=[({"study": 3}, "study")]),
    Fn(CL, "k_class_table", lambda: dict(study=_study()), {}, extra=[({"study": 3}, "study")]),
    Fn(CL, "curves_figure", lambda: dict(studies=[_study()]), {}, extra=[({"studies": [3]}, "studies")]),
    Fn(CL, "d_star_figure", lambda: dict(studies=[_study()]), {}, extra=[({"studies": [3]}, "studies")]),
    Fn(CL, "use_in_explorer", lambda: dict(studies=[]), {}, extra=[({"studies": [3]}, "studies")]),
    # ---------------------------------------------------------------- dependences
    Fn(DEP, "factor_objective", lambda: dict(models={"a": _linear()}, classes=[0, 2], n_classes=C, D=D),
       dict(n_classes="positive_int", D="positive_int"),
       extra=[({"classes": [0, 3]}, "classes"), ({"models": {"a": 3}}, "logits_fn")]),
    Fn(DEP, "factor_search", lambda: dict(models={"a": _linear()}, X=_toy()[0], y=_toy()[1], classes=[0],
                                          n_classes=C, d_cuts=[1, 2], n_repeats=2, steps=2),
       dict(n_classes="positive_int", n_repeats="positive_int", seed="seed", steps="non_negative_int",
            early_stop="bool", show_progress="bool", n_chunks="positive_int")),
    Fn(DEP, "per_class_dstar", lambda: dict(ds=_curves_ds()), dict(level="unit"),
       extra=[({"ds": 3}, "ds")]),
    Fn(DEP, "compare", lambda: dict(factor="width", ds_or_dstar=_curves_ds(), labels=["A", "B"], n_boot=20),
       dict(factor="str", D="positive_int?", n_boot="positive_int", seed="seed"),
       extra=[({"labels": ["A", "Z"]}, "labels")]),
    Fn(DEP, "summary_table", lambda: dict(comparisons=[_cmp()]), {},
       extra=[({"comparisons": [3]}, "comparisons")]),
    Fn(DEP, "direction_test", lambda: dict(cmp=_cmp(), direction="up"), dict(direction="choice"),
       extra=[({"cmp": 3}, "cmp")]),
    Fn(DEP, "noisy_accuracy", lambda: dict(logits_fn=_linear(), X=_toy()[0], y=_toy()[1], sigmas=[0.0, 0.5],
                                           n_draws=2),
       dict(logits_fn="callable", X="array", sigmas="positive_array", scale="positive",
            n_draws="positive_int", seed="seed"),
       skip={("sigmas", "one more dimension"): "covered by the 2-d check below"},
       extra=[({"y": np.arange(4)}, "y")]),
    Fn(DEP, "dependence_figure", lambda: dict(comparisons=[_cmp()], D=64), dict(D="positive_int"),
       extra=[({"comparisons": [3]}, "comparisons")]),
    Fn(DEP, "curves_figure", lambda: dict(ds=_curves_ds(), levels={"width": ["A", "B"]}), {},
       extra=[({"levels": {"width": ["A", "Z"]}}, "levels"), ({"ds": 3}, "ds")]),
    Fn(DEP, "factor_models", lambda: dict(data=_data(), hidden=(4, 4), narrow=2, wide=6, steps=2, label_steps=1,
                                          early_step=1, ensembles=(2,), progress=False),
       dict(narrow="positive_int", wide="positive_int", steps="positive_int", label_steps="positive_int",
            early_step="positive_int", input_noise="non_negative", seed="seed", progress="bool"),
       extra=[({"data": 3}, "data")]),
    # ---------------------------------------------------------------- derivation
    Fn(DER, "generic_intersection", dict(D_num=3), dict(D_num="positive_int", seed="seed")),
    # ---------------------------------------------------------------- plots
    Fn(PL, "ball_mc_table", dict(D=4, ratios=(0.5,), d_values=(1, 2), n_planes=10),
       dict(D="positive_int", ratios="positive_array", d_values="positive_array?",
            n_planes="positive_int", seed="seed"),
       skip={("ratios", "one more dimension"): "(1, 1) ratios refused as not 1-d: covered"},
       extra=[({"d_values": (1.5,)}, "d_values"), ({"D": 10**7, "d_values": None}, "needs about")]),
    Fn(PL, "transition_table", dict(Ds=(8,), ratios=(0.5,)), dict(ratios="positive_array"),
       extra=[({"Ds": ()}, "Ds"), ({"Ds": (1,)}, "Ds")]),
    Fn(PL, "ball_figure", lambda: dict(mc=__import__(PL, fromlist=["x"]).ball_mc_table(D=4, ratios=(0.5,),
                                                                                       d_values=(1, 2), n_planes=10),
                                       transitions=__import__(PL, fromlist=["x"]).transition_table(Ds=(8,),
                                                                                                  ratios=(0.5,))),
       {}, extra=[({"mc": None}, "mc")]),
    Fn(PL, "ground_truth_summary", lambda: dict(tables={"official": _gt_table()}), {},
       extra=[({"tables": {}}, "tables")]),
    Fn(PL, "ground_truth_figure", lambda: dict(tables={"official": _gt_table()}), dict(tolerance="non_negative"),
       extra=[({"tables": {}}, "tables")]),
    # ----------------------------------------------------------------- sweeps (issue 21)
    Fn(SW, "class_dim_sweep", dict(scale="laptop", n_class=2, n_seed=1),
       dict(scale="choice", n_class="positive_int?", n_seed="positive_int?"), extra=[({"n_class": 11}, "n_class")]),
    Fn(SW, "class_dim_experiment", dict(scale="laptop", dataset="digits", n_repeats=2, train_steps=5, steps=5),
       dict(scale="choice", dataset="choice", n_repeats="positive_int?", train_steps="positive_int?",
            steps="positive_int?")),
    Fn(SW, "class_dim_plan", dict(scale="laptop", n_class=1, n_seed=1, n_repeats=2, train_steps=5, steps=5,
                                  dataset="digits"),
       dict(scale="choice", n_class="positive_int?", n_seed="positive_int?", n_repeats="positive_int?",
            train_steps="positive_int?", steps="positive_int?", dataset="choice")),
    Fn(SW, "class_dim_point", dict(seed=0, target=1, **_SW_TINY),
       dict(seed="seed", target="non_negative_int", dataset="choice", train_steps="positive_int",
            lr="positive", batch_size="positive_int", n_repeats="positive_int", steps="positive_int"),
       extra=[({"target": 10}, "target")]),
    Fn(SW, "stored_class_dim", dict(labels=("paper",)),
       extra=[({"labels": "paper"}, "labels"), ({"labels": [3]}, "labels")]),
    Fn(SW, "stored_report", lambda: dict(ds=_sw_ds()), extra=[({"ds": None}, "ds"), ({"ds": 3}, "ds")]),
]

EXEMPT = {
    "theory.class_manifolds.sweeps.main": "the command line: bad options exit through argparse "
                                          "(tested in tests/test_class_manifolds_sweeps.py)",
    "setup": "no arguments (the page's plotting style)",
    "all_identities": "no arguments (sympy derivations)",
    "ball_as_cap": "no arguments (a sympy derivation)",
    "beta_concentration": "no arguments (a sympy derivation)",
    "cap_width_leading_order": "no arguments (a sympy derivation)",
}

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid(TABLE)


def test_table_covers_every_public_function():
    assert badinput.check_coverage("theory.class_manifolds", TABLE, EXEMPT) == []


# ------------------------------------------------------------------- the exact solutions stay finite
@given(d=st.floats(1e-6, 1e6), a=st.floats(-10, 10), b=st.floats(-10, 10), logc=st.floats(-50, 50),
       s=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3))
def test_sigmoid_finite_over_the_legal_range(d, a, b, logc, s):
    v = fit.sigmoid(np.array([d]), a, b, math.exp(logc), s)
    assert np.all(np.isfinite(v))
    lo, hi = sorted((a, a + b))
    assert lo - 1e-9 <= v[0] <= hi + 1e-9


@given(a=st.floats(-2, 2), b=st.floats(-4, 4).filter(lambda x: abs(x) > 1e-6), logc=st.floats(-30, 30),
       s=st.floats(1e-3, 50) | st.floats(-50, -1e-3), level=st.floats(0.01, 0.99))
def test_crossing_finite_or_nan_never_inf(a, b, logc, s, level):
    x = fit.crossing(a, b, math.exp(logc), s, level)
    assert math.isnan(x) or (math.isfinite(x) and x > 0)


@given(D=st.integers(2, 4000), frac=st.floats(1e-6, 1.0), ratio=st.floats(1e-6, 0.999999))
def test_ball_hit_probability_finite_in_unit_interval(D, frac, ratio):
    p = gt.ball_hit_probability(frac * D, D, ratio, 1.0)
    assert math.isfinite(p) and 0.0 <= p <= 1.0


def test_sigmoid_matches_the_direct_formula_where_finite():
    d = np.geomspace(0.1, 1e3, 50)
    for a, b, c, s in [(0.1, 0.8, 5.0, 0.4), (0.0, 1.0, 50.0, 2.0), (0.2, -0.5, 3.0, -1.0)]:
        direct = a + b / (1.0 + np.exp(-(np.log(d) - np.log(c)) / s))
        np.testing.assert_allclose(fit.sigmoid(d, a, b, c, s), direct, rtol=1e-15, atol=1e-15)


def test_noisy_accuracy_takes_one_scale_per_feature():
    """The page passes a net's per-feature std (a (D,) tensor) as ``scale``; a (D,) scale of ones
    gives the same accuracies as the scalar 1."""
    import torch

    from theory.class_manifolds.dependences import noisy_accuracy

    X, y = _toy()
    kw = dict(logits_fn=_linear(), X=X, y=y, sigmas=[0.0, 0.5, 2.0], n_draws=2)
    per_feature = noisy_accuracy(scale=torch.ones(X.shape[1], dtype=torch.float64), **kw)
    np.testing.assert_array_equal(per_feature, noisy_accuracy(scale=1.0, **kw))
    with pytest.raises(ValueError, match="scale"):
        noisy_accuracy(scale=np.ones(X.shape[1] + 1), **kw)
