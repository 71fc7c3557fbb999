"""Bad input to the lottery-ticket chapter (issue 20): every public function, a table of invalid
arguments (the battery is :mod:`badinput`; ``python tests/badinput.py
tests/test_bad_inputs_lottery.py`` prints the counts), plus property tests of the closed forms.
"""

import functools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from hypothesis import given, settings, strategies as st  # noqa: E402

import badinput  # noqa: E402
from badinput import Fn  # noqa: E402

P = "theory.lottery"
AN, BA, CN, DA, DE = (f"{P}.{m}" for m in ("analysis", "barrier", "connectivity", "data", "derivation"))
ES, GO, IM, LA, PR, TR = (f"{P}.{m}" for m in ("escape", "gordon", "imp", "landscape", "pruning", "train"))


# ------------------------------------------------------------------ tiny fixtures (cached)
@functools.lru_cache(maxsize=None)
def _tiny():
    from theory.lottery import MLP, IMPSettings, load_split, run_imp

    net = MLP((64, 4, 10))
    split = load_split("digits", n_train=60)
    st_ = IMPSettings(steps=6, lr=0.05, batch_size=8, levels=2)
    run = run_imp(net, split, st_, seeds=(0,), rewind_steps=(0, 2), progress=False)
    return net, split, st_, run


@functools.lru_cache(maxsize=None)
def _lmc():
    from theory.lottery import connectivity as cn

    net, split, _, run = _tiny()
    return cn.successive_lmc(run, split, np.linspace(0, 1, 3))


@functools.lru_cache(maxsize=None)
def _pert():
    from theory.lottery import connectivity as cn

    net, split, _, run = _tiny()
    return cn.perturbation_study(run, split, levels=[1], multiples=(1.0,),
                                 coefficients=np.linspace(0, 1, 3), progress=False)


@functools.lru_cache(maxsize=None)
def _copies():
    from theory.lottery import connectivity as cn

    net, split, _, run = _tiny()
    return cn.noise_copies(run, split, 1, np.linspace(0, 1, 3))


@functools.lru_cache(maxsize=None)
def _explorer_study():
    """An LMCStudy with rewinds 0 and 20 and 15 levels (made up: the explorer's guard only)."""
    from theory.core import Sweep
    from theory.lottery import MLP, IMPRun, IMPSettings
    from theory.lottery.connectivity import LMCStudy

    net = MLP((2, 2))
    L = 15
    sweep = Sweep(pruning=("magnitude",), rewind=(0, 20), seed=(0,))
    G = len(sweep)
    z = np.zeros((G, L + 1))
    run = IMPRun(net, IMPSettings(levels=L), sweep, torch.zeros(G, L + 1, net.n_params),
                 torch.ones(G, L + 1, net.n_weights), torch.zeros(G, net.n_params), z, z, z, z)
    c = np.linspace(0, 1, 3)
    curves = {k: np.zeros((G, L, 3)) for k in ("train", "test")}
    return LMCStudy(run, c, curves, {k: np.zeros((G, L)) for k in ("train", "test")},
                    np.ones((G, L), bool), np.zeros((G, L)), 0.01)


@functools.lru_cache(maxsize=None)
def _landscape():
    from theory.lottery import load_split
    from theory.lottery.landscape import SmoothMLP, solve_minimum, weight_hessian

    split = load_split("digits", n_train=40)
    net = SmoothMLP((64, 2, 10))
    theta, _ = solve_minimum(net, split, (0,), adam_steps=50, lbfgs_iter=30)
    H = weight_hessian(net, theta[0], split)
    return net, split, theta, H


@functools.lru_cache(maxsize=None)
def _study():
    from theory.lottery.landscape import landscape_study

    net, split, _, _ = _landscape()
    return landscape_study(net, split, seeds=(0,), fractions=(0.1, 0.5), adam_steps=20,
                           retrain_steps=5, progress=False)


def _spd(n, G=None, seed=0):
    A = np.random.default_rng(seed).normal(size=(n, n) if G is None else (G, n, n))
    return A @ np.swapaxes(A, -1, -2) / n + 0.5 * np.eye(n)


def _imp(**kw):
    net, split, settings, run = _tiny()
    return dict(dict(run=run), **kw)


def _run_split(**kw):
    net, split, settings, run = _tiny()
    return dict(dict(run=run, split=split), **kw)


def _net_split_settings(**kw):
    net, split, settings, run = _tiny()
    return dict(dict(net=net, split=split, settings=settings), **kw)


def _thetas():
    net, split, settings, run = _tiny()
    a = run.theta[:, 0].double().numpy()
    b = run.theta[:, 1].double().numpy()
    return net, split, a, b


def _interp():
    net, split, a, b = _thetas()
    return dict(net=net, theta_a=a, theta_b=b, X=split.X_test.numpy(), y=split.y_test,
                coefficients=np.linspace(0, 1, 3), chunk=8)


def _train():
    net, split, settings, run = _tiny()
    G = 2
    return dict(net=net, theta0=net.init(np.arange(G)).numpy(), mask=np.ones((G, net.n_weights)),
                split=split, data_seeds=np.arange(G), start=0, n_steps=3, lr=0.05, batch_size=4,
                momentum=0.9, weight_decay=0.0, record=None, progress=False)


def _masks(G=1, D=6, keep=4):
    return np.ones((G, D))


W6 = np.array([[0.3, -1.0, 0.2, 2.0, -0.5, 0.1]])
ONES6 = np.ones((1, 6))
RES = {"train": 0.01, "test": 0.01}

SW = f"{P}.sweeps"
_SW_TINY = dict(widths=[64, 4, 10], steps=6, levels=1, lr=0.05, batch_size=32, alpha=0.8, dataset="digits")


@functools.lru_cache(maxsize=None)
def _levels_ds():
    from theory.core import Experiment, Sweep, run_sweep
    from theory.lottery import sweeps as sw

    exp = Experiment("lottery.levels", point=sw.levels_point, dims={k: ("level",) for k in sw.METRICS},
                     coords={"level": np.arange(2)}, fixed=_SW_TINY)
    return run_sweep(exp, Sweep(pruning=["magnitude"], rewind=[2], seed=[0]), progress=False)


TABLE = [
    # pruning ---------------------------------------------------------------------------------
    Fn(PR, "check_alpha", dict(alpha=0.8), dict(alpha="unit"),
       extra=[({"alpha": 0.0}, "alpha"), ({"alpha": 1.0}, "alpha")]),
    Fn(PR, "n_kept", dict(D=10, alpha=0.8, level=2),
       dict(D="positive_int", alpha="unit", level="non_negative_int")),
    Fn(PR, "sparsity", dict(alpha=0.8, level=np.arange(3)), dict(alpha="unit"),
       extra=[({"level": None}, "level"), ({"level": "a"}, "level"), ({"level": 1.5}, "level"),
              ({"level": -1}, "level"), ({"level": True}, "level"), ({"level": [[True]]}, "level")]),
    Fn(PR, "prune_to", dict(scores=W6, mask=ONES6, keep=3),
       dict(scores="array", mask="array", keep="non_negative_int"),
       extra=[({"mask": np.ones((1, 5))}, "mask"), ({"mask": 0.5 * ONES6}, "mask"),
              ({"keep": 7}, "keep")],
       skip={("mask", "bools"): "a boolean mask is a mask"}),
    Fn(PR, "magnitude_prune", dict(weights=W6, mask=ONES6, keep=3),
       dict(weights="array", mask="array", keep="non_negative_int"),
       extra=[({"mask": np.ones((2, 6))}, "mask"), ({"keep": 7}, "keep")],
       skip={("mask", "bools"): "a boolean mask is a mask"}),
    Fn(PR, "random_prune", dict(mask=ONES6, keep=3, seeds=np.array([1]), level=1),
       dict(mask="array", keep="non_negative_int", seeds="seeds", level="non_negative_int"),
       extra=[({"seeds": np.array([1, 2])}, "seeds"), ({"keep": 7}, "keep")],
       skip={("mask", "bools"): "a boolean mask is a mask"}),
    Fn(PR, "is_nested", dict(masks=np.array([[1.0, 1.0], [1.0, 0.0]])), dict(masks="array"),
       extra=[({"masks": np.array([[0.5, 1.0]])}, "masks")],
       skip={("masks", "bools"): "boolean masks are masks",
             ("masks", "one more dimension"): "masks (..., levels, D): leading axes are legal"}),
    Fn(PR, "projection_length", dict(weights=W6, mask=ONES6), dict(weights="array", mask="array"),
       extra=[({"mask": np.ones((1, 5))}, "mask")],
       skip={("mask", "bools"): "a boolean mask is a mask"}),
    # data, training, IMP ---------------------------------------------------------------------
    Fn(DA, "load_split", dict(name="digits", test_fraction=0.25, seed=0, n_train=20),
       dict(name="choice", test_fraction="unit", seed="seed", n_train="positive_int?"),
       extra=[({"n_train": 10**6}, "n_train"), ({"test_fraction": 1.0}, "test_fraction")]),
    Fn(TR, "train_masked", _train,
       dict(theta0="array", mask="array?", data_seeds="seeds", start="non_negative_int",
            n_steps="positive_int", lr="positive", batch_size="positive_int", momentum="unit",
            weight_decay="non_negative", progress="bool"),
       extra=[({"net": None}, "net"), ({"split": None}, "split"), ({"lr": 1e300}, "diverged"),
              ({"data_seeds": np.arange(3)}, "data_seeds"), ({"mask": np.ones((2, 3))}, "mask"),
              ({"record": [100]}, "record"), ({"batch_size": 10**12}, "needs about"),
              ({"momentum": 1.0}, "momentum")],
       skip={("mask", "bools"): "a boolean mask is a mask",
             ("start", "list"): "per-configuration start steps (G,) = (2,) are legal",
             ("n_steps", "list"): "per-configuration step counts (G,) = (2,) are legal"}),
    Fn(IM, "dense_run", lambda: _net_split_settings(seeds=(0,), rewind_steps=(0, 2), progress=False),
       dict(seeds="seeds", rewind_steps="seeds", progress="bool"),
       extra=[({"net": None}, "net"), ({"split": None}, "split"), ({"settings": None}, "settings"),
              ({"rewind_steps": [6]}, "rewind_steps")]),
    Fn(IM, "run_imp", lambda: _net_split_settings(seeds=(0,), rewind_steps=(0,), progress=False),
       dict(seeds="seeds", rewind_steps="seeds", progress="bool"),
       extra=[({"net": None}, "net"), ({"split": None}, "split"), ({"settings": None}, "settings"),
              ({"methods": ("bogus",)}, "methods"), ({"methods": None}, "methods"),
              ({"methods": "magnitude"}, "methods")]),
    Fn(IM, "run_one_shot", lambda: _net_split_settings(seeds=(0,), rewind_steps=(0,), progress=False),
       dict(seeds="seeds", rewind_steps="seeds", progress="bool"),
       extra=[({"net": None}, "net"), ({"split": None}, "split"), ({"settings": None}, "settings")]),
    Fn(IM, "matching", lambda: _imp(tolerance=0.01, split="test"),
       dict(tolerance="non_negative", split="choice"), extra=[({"run": None}, "run")]),
    # barrier ---------------------------------------------------------------------------------
    Fn(BA, "default_coefficients", dict(n=5), dict(n="positive_int"), extra=[({"n": 1}, "n")]),
    Fn(BA, "barrier", dict(curve=np.array([[0.1, 0.3, 0.2]]), coefficients=np.linspace(0, 1, 3)),
       dict(curve="array", coefficients="array?"),
       extra=[({"coefficients": np.array([0.0, 0.7, 0.5, 1.0])}, "coefficients")],
       skip={("curve", "one more dimension"): "(1, 1, n) curves are legal (any leading axes)"}),
    Fn(BA, "interpolation_curve", _interp,
       dict(theta_a="array", theta_b="array", X="array", coefficients="array?", chunk="positive_int"),
       extra=[({"net": None}, "net"), ({"theta_b": np.zeros((1, 3))}, "theta_b"),
              ({"y": np.zeros(3, dtype=np.int64)}, "y"), ({"y": None}, "y")],
       skip={("theta_a", "one more dimension"): "(..., P) parameters: leading axes are legal",
             ("theta_a", "empty"): "zero configurations (0, P) is an empty batch, legal"}),
    # analysis --------------------------------------------------------------------------------
    Fn(AN, "schedule_deviation", _imp, {}, extra=[({"run": None}, "run"), ({"run": 3}, "run")]),
    Fn(AN, "highest_matching_level", lambda: _imp(tolerance=0.01, split="test"),
       dict(tolerance="non_negative", split="choice"), extra=[({"run": None}, "run")]),
    Fn(AN, "select", lambda: _imp(pruning="magnitude", rewind=0), dict(pruning="choice", rewind="int"),
       extra=[({"rewind": 7}, "rewind"), ({"run": None}, "run")]),
    Fn(AN, "matching_table", lambda: dict(runs=[_tiny()[3]], tolerance=0.01),
       dict(tolerance="non_negative"), extra=[({"runs": None}, "runs"), ({"runs": []}, "runs"),
                                             ({"runs": [3]}, "runs")]),
    Fn(AN, "new_small_weights", lambda: _imp(pruning="magnitude"), dict(pruning="choice"),
       extra=[({"run": None}, "run")]),
    Fn(AN, "surviving_weights", lambda: _imp(config=0, level=0),
       dict(config="non_negative_int", level="non_negative_int"),
       extra=[({"config": 99}, "config"), ({"level": 2}, "level"), ({"run": None}, "run")]),
    Fn(AN, "error_vs_sparsity_figure", lambda: dict(runs=_tiny()[3], tolerance=0.01),
       dict(tolerance="non_negative"), extra=[({"runs": None}, "runs")]),
    Fn(AN, "weights_figure", lambda: dict(_imp(config=0, level=0),
                                          stats=__import__("theory.lottery.analysis").lottery.analysis
                                          .new_small_weights(_tiny()[3])),
       dict(config="non_negative_int", level="non_negative_int"),
       extra=[({"stats": {}}, "stats"), ({"stats": None}, "stats"), ({"config": 99}, "config")]),
    # connectivity ----------------------------------------------------------------------------
    Fn(CN, "example_tolerance", lambda: dict(n_examples=2, split=_tiny()[1], which="test"),
       dict(n_examples="non_negative", which="choice"), extra=[({"split": None}, "split")]),
    Fn(CN, "successive_lmc", lambda: _run_split(coefficients=np.linspace(0, 1, 3), matching_tolerance=0.01),
       dict(coefficients="array?", matching_tolerance="non_negative"),
       extra=[({"run": None}, "run"), ({"split": None}, "split"),
              ({"coefficients": np.array([0.2, 1.0])}, "coefficients")]),
    Fn(CN, "iff_statistics", dict(barriers=np.array([0.0, 0.1]), matching_pairs=np.array([True, False]),
                                  tolerance=0.05, where=np.array([True, True])),
       dict(barriers="array", tolerance="non_negative"),
       extra=[({"matching_pairs": np.array([1.0, 0.0])}, "matching_pairs"),
              ({"matching_pairs": np.array([True])}, "matching_pairs"),
              ({"where": np.array([True])}, "where"), ({"where": np.array([1, 0])}, "where")],
       skip={("barriers", "one more dimension"): "refused as a shape mismatch with matching_pairs"}),
    Fn(CN, "segment_errors", lambda: {k: v for k, v in _interp().items()},
       dict(theta_a="array", theta_b="array", X="array", coefficients="array", chunk="positive_int"),
       extra=[({"net": None}, "net"), ({"theta_b": np.zeros((1, 3))}, "theta_b"),
              ({"y": np.zeros(3, dtype=np.int64)}, "y"),
              ({"coefficients": np.array([0.5, 0.2])}, "coefficients")],
       skip={("theta_a", "one more dimension"): "refused as a shape mismatch: covered"}),
    Fn(CN, "noise_copies", lambda: _run_split(n_copies=1, coefficients=np.linspace(0, 1, 3)),
       dict(n_copies="positive_int", coefficients="array?"),
       extra=[({"run": None}, "run"), ({"split": None}, "split")]),
    Fn(CN, "noise_tolerance", lambda: dict(copies=_copies(), split=_tiny()[1]), {},
       extra=[({"copies": None}, "copies"), ({"split": None}, "split"),
              ({"copies": {"train": np.array([np.nan]), "test": np.array([0.0])}}, "copies"),
              ({"copies": {"train": np.array([]), "test": np.array([0.0])}}, "copies")]),
    Fn(CN, "iff_table", lambda: dict(lmc=_lmc(), tolerances={"τ": RES}, sparsity_threshold=0.1),
       dict(sparsity_threshold="unit"),
       extra=[({"lmc": None}, "lmc"), ({"tolerances": None}, "tolerances"),
              ({"tolerances": {"τ": 0.1}}, "tolerances"),
              ({"tolerances": {"τ": {"train": np.nan, "test": 0.0}}}, "tolerances")]),
    Fn(CN, "perturbation_study", lambda: _run_split(levels=[1], multiples=(1.0,),
                                                    coefficients=np.linspace(0, 1, 3), progress=False),
       dict(multiples="positive_array", coefficients="array?", progress="bool"),
       extra=[({"run": None}, "run"), ({"split": None}, "split"), ({"levels": [3]}, "levels"),
              ({"levels": None}, "levels"), ({"levels": [1.5]}, "levels")]),
    Fn(CN, "robustness_table", lambda: dict(pert=_pert(), tolerance=RES), {},
       extra=[({"pert": None}, "pert"), ({"tolerance": None}, "tolerance"),
              ({"tolerance": {"test": 0.1}}, "tolerance"),
              ({"tolerance": {"train": -1.0, "test": 0.1}}, "tolerance")]),
    Fn(CN, "barrier_figure", lambda: dict(lmc=_lmc(), tolerance=RES, sparsity_threshold=0.1),
       dict(sparsity_threshold="unit"),
       extra=[({"lmc": None}, "lmc"), ({"tolerance": 0.01}, "tolerance"),
              ({"tolerance": {"train": np.inf, "test": 0.0}}, "tolerance")]),
    Fn(CN, "robustness_figure", lambda: dict(pert=_pert(), tolerance=RES), {},
       extra=[({"pert": None}, "pert"), ({"tolerance": 0.01}, "tolerance")]),
    Fn(CN, "use_in_explorer", lambda: dict(lmc=_explorer_study()), {},
       extra=[({"lmc": None}, "lmc")]),
    # derivation ------------------------------------------------------------------------------
    Fn(DE, "sublevel_ellipsoid", dict(n=1), dict(n="positive_int")),
    Fn(DE, "schur_complement_minimum", dict(n_pruned=1, n_kept=1),
       dict(n_pruned="positive_int", n_kept="positive_int"), extra=[({"n_pruned": 10**6}, "n_pruned")]),
    Fn(DE, "random_pruning_projection", dict(n=2, n_pruned=1),
       dict(n="positive_int", n_pruned="non_negative_int"),
       extra=[({"n_pruned": 3}, "n_pruned"), ({"n": 10**4}, "n")]),
    Fn(DE, "fixed_point_equation", dict(n=1), dict(n="positive_int")),
    # gordon ----------------------------------------------------------------------------------
    Fn(GO, "p_max_isotropic", dict(kappa=0.5), dict(kappa="positive")),
    Fn(GO, "prune_condition_rhs", dict(eigenvalues=np.array([1.0, 0.0]), eps=0.1, ell=np.array([0.5, 1.0])),
       dict(eigenvalues="positive_array", eps="positive", ell="positive_array"),
       skip={("ell", "empty"): "no lengths, no values: an empty result",
             ("ell", "one more dimension"): "ℓ of any shape"}),
    Fn(GO, "projection_length_curve", dict(weights=np.array([0.3, -1.0, 0.2]), fractions=np.array([0.0, 0.5]),
                                           method="magnitude"),
       dict(weights="array", fractions="positive_array", method="choice"),
       extra=[({"fractions": np.array([1.5])}, "fractions")],
       skip={("fractions", "empty"): "no fractions, no lengths: an empty result"}),
    Fn(GO, "prune_fraction_fixed_point", dict(eigenvalues=np.ones(4), eps=0.1, ell_of_p=np.sqrt,
                                              p_grid=None, n_scan=9),
       dict(eigenvalues="positive_array", eps="positive", ell_of_p="callable", n_scan="positive_int"),
       extra=[({"ell_of_p": np.array([0.0, 1.0]), "p_grid": None}, "p_grid"),
              ({"ell_of_p": np.array([0.0, 1.0]), "p_grid": np.array([0.0, 0.5, 1.0])}, "p_grid"),
              ({"ell_of_p": lambda p: float("nan")}, "ell_of_p"), ({"n_scan": 2}, "n_scan"),
              ({"p_grid": np.array([0.0, 1.0])}, "p_grid")]),
    # escape ----------------------------------------------------------------------------------
    Fn(ES, "sphere_width_mc", dict(k=2, D=4, n_samples=10, seed=0),
       dict(k="positive_int", D="positive_int", n_samples="positive_int", seed="seed"),
       extra=[({"k": 5}, "k"), ({"n_samples": 10**7, "D": 10**6, "k": 1}, "needs about")]),
    Fn(ES, "cap_width_mc", dict(theta=0.5, D=4, n_samples=10, seed=0),
       dict(theta="non_negative", D="positive_int", n_samples="positive_int", seed="seed"),
       extra=[({"theta": 4.0}, "theta"), ({"n_samples": 10**7, "D": 10**6}, "needs about")]),
    Fn(ES, "width_table", dict(n_samples=4, seed=0), dict(n_samples="positive_int", seed="seed"),
       extra=[({"n_samples": 10**9}, "needs about")]),
    Fn(ES, "hit_probability_rotation_mc", dict(D=4, theta=0.5, n_samples=10, seed=0),
       dict(D="positive_int", theta="non_negative", n_samples="positive_int", seed="seed"),
       extra=[({"theta": 4.0}, "theta"), ({"n_samples": 10**7, "D": 10**6}, "needs about")]),
    Fn(ES, "gordon_table", dict(D=4, thetas=np.array([0.5])), dict(D="positive_int", thetas="positive_array"),
       extra=[({"thetas": np.array([2.0])}, "thetas"), ({"D": 10**11}, "needs about")]),
    Fn(ES, "hit_figure", dict(D=4, thetas=np.array([0.5]), n_samples=10, seed=0, every=2),
       dict(D="positive_int", thetas="positive_array", n_samples="positive_int", seed="seed",
            every="positive_int")),
    Fn(ES, "beta_law_checks", dict(n_samples=10, seed=0, D=4, thetas=np.array([0.5])),
       dict(n_samples="positive_int", seed="seed", D="positive_int", thetas="positive_array"),
       extra=[({"n_samples": 10**7, "D": 10**6}, "needs about")]),
    Fn(ES, "isotropic_checks", dict(D=3, kappas=np.array([0.5]), kappas_exact=np.array([0.2]), n_seeds=2, seed=0),
       dict(D="positive_int", kappas="positive_array?", kappas_exact="positive_array", n_seeds="positive_int",
            seed="seed")),
    Fn(ES, "format_tables", dict(), {},
       extra=[({"width": 3}, "width"), ({"beta": "x"}, "beta"), ({"gordon": {}}, "gordon"),
              ({"larsen": 1.0}, "larsen"), ({"iso": []}, "iso"), ({"sweep": 2}, "sweep")]),
    Fn(ES, "larsen_table", dict(cases=((np.array([0.5, 1.0]), 1.0),), n_samples=10, seed=0),
       dict(n_samples="positive_int", seed="seed"),
       extra=[({"cases": None}, "cases"), ({"cases": ((np.array([0.5, np.nan]), 1.0),)}, "radii"),
              ({"cases": ((np.array([0.5, 1.0]), -1.0),)}, "R"), ({"cases": (3,)}, "cases"),
              ({"n_samples": 10**9}, "needs about")]),
    Fn(ES, "schur_prune_curve", lambda: dict(H=_spd(3, G=1), weights=np.array([[0.1, -0.3, 0.2]]),
                                             order=np.array([[2, 0, 1]])),
       dict(H="array", weights="array"),
       extra=[({"order": np.array([[0, 0, 1]])}, "order"), ({"order": None}, "order"),
              ({"order": np.array([[2.0, 0.0, 1.0]])}, "order"),
              ({"H": -np.eye(3)[None]}, "H")],
       skip={("weights", "one more dimension"): "refused as a shape mismatch with H: covered"}),
    Fn(ES, "exact_prune_fraction", dict(eigenvalues=np.array([1.0, 2.0]), eps=0.1, n_seeds=2, seed=0,
                                        method="random", weight_scale=1.0),
       dict(eigenvalues="positive_array", eps="positive", n_seeds="positive_int", seed="seed",
            method="choice", weight_scale="positive"),
       extra=[({"n_seeds": 10**12}, "needs about"), ({"eigenvalues": np.ones(1)}, "eigenvalues")]),
    Fn(ES, "magnitude_projection_gaussian", dict(p=np.array([0.0, 0.5, 1.0])), dict(p="positive_array"),
       extra=[({"p": np.array([1.5])}, "p")],
       skip={("p", "empty"): "no fractions, an empty result",
             ("p", "one more dimension"): "p of any shape"}),
    Fn(ES, "prune_sweep", dict(eigenvalues=np.array([1.0, 2.0]), scales=np.array([1.0]), eps=0.1, n_seeds=2,
                               seed=0, n_grid=5),
       dict(eigenvalues="positive_array", scales="positive_array", eps="positive", n_seeds="positive_int",
            seed="seed", n_grid="positive_int")),
    Fn(ES, "projection_curves", dict(n_weights=10, seed=0, n_points=3),
       dict(n_weights="positive_int", seed="seed", n_points="positive_int"),
       extra=[({"n_weights": 10**12}, "needs about")]),
    Fn(ES, "prune_figure", lambda: dict(
        sweep=__import__("theory.lottery.escape").lottery.escape.prune_sweep(np.array([1.0, 2.0]), np.array([1.0]),
                                                                             0.1, 2, 0, 5),
        curves=__import__("theory.lottery.escape").lottery.escape.projection_curves(10, 0, 3)), {},
       extra=[({"sweep": None}, "sweep"), ({"curves": None}, "curves"), ({"curves": {}}, "curves")]),
    # landscape -------------------------------------------------------------------------------
    Fn(LA, "objective", lambda: dict(net=_landscape()[0], theta=_landscape()[2][0].numpy(),
                                     X=_landscape()[1].X_train.numpy(), y=_landscape()[1].y_train,
                                     weight_decay=0.01),
       dict(theta="array", X="array", weight_decay="non_negative"),
       extra=[({"net": None}, "net"), ({"y": np.zeros(2, dtype=np.int64)}, "y")],
       skip={("theta", "one more dimension"): "(..., P) parameters: leading axes are legal"}),
    Fn(LA, "solve_minimum", lambda: dict(net=_landscape()[0], split=_landscape()[1], seeds=(0,),
                                         weight_decay=0.01, adam_steps=2, lbfgs_iter=2, tolerance_grad=1e-7,
                                         progress=False),
       dict(seeds="seeds", weight_decay="positive", adam_steps="positive_int", lbfgs_iter="positive_int",
            tolerance_grad="positive", progress="bool"),
       extra=[({"net": None}, "net"), ({"split": None}, "split")]),
    Fn(LA, "weight_hessian", lambda: dict(net=_landscape()[0], theta=_landscape()[2][0].numpy(),
                                          split=_landscape()[1], weight_decay=0.01, chunk=64),
       dict(theta="array", weight_decay="non_negative", chunk="positive_int"),
       extra=[({"net": None}, "net"), ({"split": None}, "split")]),
    Fn(LA, "spectrum_checks", lambda: dict(H=_spd(3)), dict(H="array"),
       extra=[({"H": np.zeros((3, 3))}, "H")]),
    Fn(LA, "prune_masks", dict(w=np.array([0.3, -1.0, 0.2, 2.0]), fractions=np.array([0.25, 0.5]),
                               method="random", seed=0),
       dict(w="array", fractions="positive_array", method="choice", seed="seed"),
       extra=[({"fractions": np.array([0.5, 0.25])}, "fractions")]),
    Fn(LA, "schur_increase", lambda: dict(H=_spd(3), w=np.array([0.1, -0.3, 0.2]),
                                          masks=np.array([[1.0, 0.0, 1.0]])),
       dict(H="array", w="array", masks="array"),
       extra=[({"masks": np.array([[1.0, 0.5, 1.0]])}, "masks"), ({"H": -np.eye(3)}, "H")],
       skip={("masks", "bools"): "a boolean mask is a mask"}),
    Fn(LA, "gordon_increase", dict(eigenvalues=np.array([1.0, 2.0]), ell=np.array([0.5]), fractions=np.array([0.5])),
       dict(eigenvalues="positive_array", ell="positive_array", fractions="positive_array"),
       extra=[({"ell": np.array([0.5, 0.6])}, "ell"), ({"eigenvalues": np.array([1.0, 0.0])}, "eigenvalues")]),
    Fn(LA, "gordon_p_max", dict(eigenvalues=np.array([1.0, 2.0]), eps=0.1, w=np.array([0.3, -1.0]),
                                method="random"),
       dict(eigenvalues="positive_array", eps="positive", w="array", method="choice"),
       extra=[({"w": np.array([0.3, -1.0, 0.5])}, "w")]),
    Fn(LA, "retrain_increase", lambda: dict(net=_landscape()[0], thetas=_landscape()[2].numpy(),
                                            masks=np.ones((1, _landscape()[0].n_weights)),
                                            split=_landscape()[1], weight_decay=0.01, steps=2, lr=0.5,
                                            momentum=0.9, progress=False),
       dict(thetas="array", masks="array", weight_decay="non_negative", steps="positive_int", lr="positive",
            momentum="unit", progress="bool"),
       extra=[({"net": None}, "net"), ({"split": None}, "split"), ({"lr": 1e300}, "diverged"),
              ({"masks": np.ones((2, 3))}, "masks")],
       skip={("masks", "bools"): "a boolean mask is a mask",
             ("thetas", "one more dimension"): "refused as a shape mismatch with masks: covered"}),
    Fn(LA, "first_crossing_p", dict(fractions=np.array([0.1, 0.5]), increase=np.array([0.01, 1.0]), eps=0.1),
       dict(fractions="positive_array", increase="array", eps="positive"),
       extra=[({"increase": np.array([1.0])}, "increase")]),
    Fn(LA, "landscape_study", lambda: dict(net=_landscape()[0], split=_landscape()[1], seeds=(0,),
                                           fractions=(0.5,), adam_steps=2, retrain_steps=2, progress=False),
       dict(seeds="seeds", fractions="positive_array", eps_fraction="positive", weight_decay="positive",
            adam_steps="positive_int", retrain_steps="positive_int", progress="bool"),
       extra=[({"net": None}, "net"), ({"split": None}, "split")]),
    Fn(LA, "p_max_vs_eps", lambda: dict(study=_study(), eps_fractions=np.array([0.05]), method="random"),
       dict(eps_fractions="positive_array", method="choice"), extra=[({"study": None}, "study")]),
    Fn(LA, "spectrum_figure", lambda: dict(study=_study()), {}, extra=[({"study": None}, "study")]),
    Fn(LA, "prune_figure", lambda: dict(study=_study()), {}, extra=[({"study": None}, "study")]),
    Fn(LA, "p_max_figure", lambda: dict(study=_study(), vs_eps=None), {},
       extra=[({"study": None}, "study"), ({"vs_eps": 3}, "vs_eps"), ({"vs_eps": {}}, "vs_eps")]),
    # theory.lottery.sweeps (issue 21): the IMP levels through the sweep runner
    Fn(SW, "levels_sweep", dict(scale="laptop", n_seed=1, pruning="both", rewind=None),
       dict(scale="choice", n_seed="positive_int?", pruning="choice", rewind="non_negative_int?")),
    Fn(SW, "levels_experiment", dict(scale="laptop", steps=10, levels=1),
       dict(scale="choice", steps="positive_int?", levels="positive_int?")),
    Fn(SW, "levels_plan", dict(scale="laptop", n_seed=1, steps=10, levels=1, pruning="magnitude", rewind=2),
       dict(scale="choice", n_seed="positive_int?", steps="positive_int?", levels="positive_int?",
            pruning="choice", rewind="non_negative_int?")),
    Fn(SW, "levels_point", dict(pruning="magnitude", rewind=2, seed=0, **_SW_TINY),
       dict(pruning="choice", rewind="non_negative_int", seed="seed")),
    Fn(SW, "levels_batch", dict(configs=[dict(_SW_TINY, pruning="magnitude", rewind=2, seed=0)]),
       extra=[({"configs": []}, "configs"), ({"configs": 3}, "configs"), ({"configs": [3]}, "configs"),
              ({"configs": [dict(_SW_TINY, pruning="magnitude", rewind=2, seed=-1)]}, "seed")]),
    Fn(SW, "stored_levels", dict(labels=("paper",)), extra=[({"labels": "paper"}, "labels"),
                                                            ({"labels": [3]}, "labels")]),
    Fn(SW, "stored_report", lambda: dict(ds=_levels_ds()), extra=[({"ds": None}, "ds"), ({"ds": 3}, "ds")]),
    Fn(SW, "highest_matching", lambda: dict(ds=_levels_ds(), tolerance=0.01), dict(tolerance="non_negative"),
       extra=[({"ds": None}, "ds")]),
    Fn(SW, "stored_claims", lambda: dict(stored={"paper": _levels_ds()}, tolerance=0.01, min_level=11),
       dict(tolerance="non_negative", min_level="non_negative_int"),
       extra=[({"stored": None}, "stored"), ({"stored": 3}, "stored"), ({"stored": {"paper": 3}}, "stored")]),
    Fn(SW, "rewind_finding", dict(d_rew=np.array([1, -1])),
       extra=[({"d_rew": np.array([])}, "d_rew"), ({"d_rew": np.zeros((2, 2))}, "d_rew"),
              ({"d_rew": np.array(["a"])}, "d_rew")]),
]


EXEMPT = {
    "main": "the command line: bad options exit through argparse (tested in tests/test_lottery_sweeps.py)",
    "setup": "no arguments (the page's sizes by the scale)",
    "all_identities": "no arguments (a list of sympy identities)",
    "isotropic_p_max": "no arguments (a sympy expression)",
    "isotropic_fixed_point": "no arguments (a sympy derivation)",
}

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid(TABLE)


def test_table_covers_every_public_function():
    assert badinput.check_coverage(P, TABLE, EXEMPT) == []


@pytest.fixture(autouse=True)
def _clean():
    """Close figures and forget a study registered with the explorer by a valid call."""
    yield
    plt.close("all")
    from theory.lottery import connectivity as cn

    cn._EXPLORER_STUDY.clear()


# ------------------------------------------------------------ the closed forms at their extremes
@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=5e-324, max_value=1e308, allow_nan=False, allow_infinity=False))
def test_p_max_isotropic_is_finite_in_the_unit_interval(kappa):
    from theory.lottery.gordon import p_max_isotropic

    p = p_max_isotropic(kappa)
    assert np.isfinite(p) and 0 <= p <= 1
    if kappa < 1e-100:                                   # p_max ≈ √κ for small κ (not 0)
        assert p == pytest.approx(np.sqrt(kappa), rel=1e-6)


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=1e-12, max_value=1e12))
def test_p_max_isotropic_unchanged_in_the_normal_range(kappa):
    from theory.lottery.gordon import p_max_isotropic

    old = 2.0 / (1.0 + np.sqrt(1.0 + 4.0 / kappa))
    assert p_max_isotropic(kappa) == pytest.approx(old, rel=4e-16, abs=0)
    if kappa <= 1:                                       # 1 − p loses digits for large κ
        assert p_max_isotropic(kappa) ** 2 == pytest.approx(kappa * (1 - p_max_isotropic(kappa)), rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=5e-324, max_value=1.7e308), st.floats(min_value=0.0, max_value=1e200),
       st.floats(min_value=0.0, max_value=1e300))
def test_prune_condition_rhs_finite_between_0_and_D(eps, ell, lam):
    from theory.lottery.gordon import prune_condition_rhs

    v = prune_condition_rhs(np.array([lam, 0.0, 1.0]), eps, ell)
    assert np.isfinite(v) and 1.0 <= v <= 3.0           # the zero eigenvalue counts 1


@settings(max_examples=50, deadline=None)
@given(st.floats(min_value=1e-6, max_value=1e6), st.floats(min_value=1e-6, max_value=1e3))
def test_prune_condition_rhs_unchanged_in_the_normal_range(eps, ell):
    from theory.lottery.gordon import prune_condition_rhs

    lam = np.geomspace(1e-3, 1e3, 7)
    old = np.sum(2 * eps / (2 * eps + lam * ell ** 2))
    assert prune_condition_rhs(lam, eps, ell) == pytest.approx(old, rel=1e-14)


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0.0, max_value=1.0))
def test_magnitude_projection_gaussian_finite_in_the_unit_interval(p):
    from theory.lottery.escape import magnitude_projection_gaussian

    v = magnitude_projection_gaussian(p)
    assert np.isfinite(v) and -1e-15 <= v <= p + 1e-15      # magnitude pruning never exceeds random


def test_magnitude_projection_gaussian_within_an_ulp_of_one():
    # the example hypothesis found: (1 + p)/2 rounds to 1 there, and the quantile was ∞ (∞·0 = NaN)
    from theory.lottery.escape import magnitude_projection_gaussian

    p = np.nextafter(1.0, 0.0)
    v = magnitude_projection_gaussian(p)
    assert np.isfinite(v) and 1 - 1e-14 < v <= p


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=1e-300, max_value=1.0, exclude_max=True), st.integers(0, 10**6),
       st.integers(1, 10**12))
def test_schedule_finite(alpha, level, D):
    from theory.lottery import n_kept, sparsity

    assert 1 <= n_kept(D, alpha, level) <= D
    s = sparsity(alpha, np.array([level]))
    assert np.all(np.isfinite(s)) and np.all((0 <= s) & (s <= 1))
