"""Bad input to the quasi-homogeneous chapter (issue 20): every public function, a table of invalid
arguments (``python tests/badinput.py tests/test_bad_inputs_quasi_homogeneous.py`` prints the counts).
"""

import functools

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from hypothesis import given, settings, strategies as st  # noqa: E402

import badinput  # noqa: E402
from badinput import Fn  # noqa: E402

P = "theory.quasi_homogeneous"
CO, DE, FL, MM, MO, PL, RA, RB, SP = (f"{P}.{m}" for m in ("collapse", "derivation", "flow", "maxmargin", "models",
                                                            "plots", "rates", "robustness", "sparsity"))


@functools.lru_cache(maxsize=None)
def _toy():
    from theory.quasi_homogeneous import maxmargin as mm, models

    X, y = mm.theorem_data(8, seed=0)
    m = models.mixed_depth()
    return m, X, y, m.init(2, seed=0).double()


SW = f"{P}.sweeps"


@functools.lru_cache(maxsize=None)
def _sweep_ds():
    from theory.core import run_sweep
    from theory.quasi_homogeneous import sweeps

    return run_sweep(sweeps.maxmargin_experiment("laptop", steps=10), sweeps.maxmargin_sweep("laptop", n_seed=1),
                     progress=False)


@functools.lru_cache(maxsize=None)
def _flow():
    from theory.quasi_homogeneous import flow

    m, X, y, th = _toy()
    return flow.normalised_flow(m, X, y, th, steps=20, n_record=4, progress=False)


@functools.lru_cache(maxsize=None)
def _rb():
    from theory.quasi_homogeneous import robustness as rb

    X, y = rb.two_feature_data(6, 0.1, seed=1)
    lin, qh = rb.linear_model(), rb.qh_model()
    runs = {"linear": rb.train_loss_normalised(lin, X, y, lin.init(2, seed=0), steps=10, n_record=4,
                                               progress=False),
            "quasi-homogeneous": rb.train_loss_normalised(qh, X, y, qh.init(2, seed=0), steps=10, n_record=4,
                                                          progress=False)}
    return X, y, lin, qh, runs


@functools.lru_cache(maxsize=None)
def _trap():
    from theory.quasi_homogeneous import robustness as rb, sparsity as sp

    X, y = rb.two_feature_data(6, 0.3, seed=0)
    return X, y, sp.run_trap(X, y, [1e-2, 0.0], steps=10, progress=False)


@functools.lru_cache(maxsize=None)
def _collapse():
    from theory.quasi_homogeneous import collapse as nc

    data = nc.load_data("digits", per_class=3)
    setup = nc.CollapseSetup(seeds=(0,), hidden=4, steps=4, n_records=2, dtype="float64", lr=0.1)
    return data, setup, nc.train_collapse(data, setup, progress=False)


@functools.lru_cache(maxsize=None)
def _nc_arrays():
    from theory.quasi_homogeneous import collapse as nc

    Pm = nc.init_mlp([0], 4, 3, 3, dtype=torch.float64)
    x = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    h, logits = nc.mlp_forward(Pm, x, "none")
    return Pm, x, y, h, logits


def _mm(**kw):
    m, X, y, th = _toy()
    return dict(dict(model=m, X=X, y=y), **kw)


def _ex():
    from theory.quasi_homogeneous import derivation as de

    return de.examples()["mixed_depth"]


@functools.lru_cache(maxsize=None)
def _traj():
    from theory.quasi_homogeneous import rates

    m = rates.tanh_mlp((2, 2, 1))
    X = np.random.default_rng(0).normal(size=(4, 2))
    y = np.array([1.0, -1.0, 1.0, -1.0])
    return m, X, y, rates.seminorm_trajectory(m, X, y, m.init(1, seed=0, scale=0.5), t_end=0.1, steps=4,
                                              record_every=2)


TH2 = np.array([1.0, 0.8, 0.9])
ARR = "array"

TABLE = [
    # models -------------------------------------------------------------------------------
    Fn(MO, "mixed_depth", dict(d1=1, d2=1), dict(d1="positive_int", d2="positive_int"),
       extra=[({"d1": 10**9}, "d1")]),
    Fn(MO, "mlp", dict(widths=(2, 3, 1), bias=True, norm=False, activation="relu"),
       dict(bias="bool", activation="choice"),
       extra=[({"widths": None}, "widths"), ({"widths": (2, 0, 1)}, "widths"), ({"widths": (2,)}, "widths"),
              ({"norm": "bogus"}, "norm"), ({"widths": (2, 10**6, 10**6, 1)}, "needs about")]),
    # maxmargin ----------------------------------------------------------------------------
    Fn(MM, "theorem_data", dict(n=8, seed=0), dict(n="positive_int", seed="seed"),
       extra=[({"n": 10**13}, "needs about")]),
    Fn(MM, "check_labels", dict(y=np.array([1.0, -1.0])), dict(y=ARR),
       extra=[({"y": np.array([0.5, 1.0])}, "y")]),
    Fn(MM, "margins", lambda: _mm(theta=TH2), dict(X=ARR, theta=ARR),
       extra=[({"model": None}, "model"), ({"theta": np.zeros(4)}, "theta")],
       skip={("theta", "one more dimension"): "stacked thetas (..., P) are legal"}),
    Fn(MM, "jacobian", lambda: _mm(theta=TH2), dict(X=ARR, theta=ARR), extra=[({"model": None}, "model")],
       skip={("theta", "one more dimension"): "stacked thetas (..., P) are legal"}),
    Fn(MM, "normalise", lambda: _mm(theta=TH2), dict(X=ARR, theta=ARR), extra=[({"model": None}, "model")],
       skip={("theta", "one more dimension"): "stacked thetas (..., P) are legal"}),
    Fn(MM, "canonical", lambda: dict(model=_toy()[0], theta=TH2), dict(theta=ARR),
       extra=[({"model": None}, "model")],
       skip={("theta", "one more dimension"): "stacked thetas (..., P) are legal"}),
    Fn(MM, "angle", lambda: _mm(theta_a=TH2, theta_b=TH2 * 1.5), dict(X=ARR, theta_a=ARR, theta_b=ARR),
       extra=[({"model": None}, "model")],
       skip={("theta_a", "one more dimension"): "stacked thetas (..., P) are legal",
             ("theta_b", "one more dimension"): "stacked thetas (..., P) are legal"}),
    Fn(MM, "norm_mask", lambda: dict(model=_toy()[0], norm="lambda_max"), dict(norm="choice"),
       extra=[({"model": None}, "model")]),
    Fn(MM, "kkt_residuals", lambda: _mm(theta=TH2, norm="lambda_max"), dict(X=ARR, theta=ARR, norm="choice"),
       extra=[({"model": None}, "model")],
       skip={("theta", "one more dimension"): "stacked thetas (..., P) are legal"}),
    Fn(MM, "solve_max_margin", lambda: _mm(norm="lambda_max", n_starts=1, seed=0, init_scale=1.0, maxiter=5,
                                           tie_break=True),
       dict(X=ARR, norm="choice", n_starts="positive_int", seed="seed", init_scale="positive",
            maxiter="positive_int", tie_break="bool"),
       extra=[({"model": None}, "model")]),
    # flow ---------------------------------------------------------------------------------
    Fn(FL, "normalised_flow", lambda: _mm(theta0=_toy()[3].numpy(), steps=3, eta=1.0, safety=0.5, n_record=2,
                                          progress=False),
       dict(X=ARR, theta0=ARR, steps="positive_int", eta="positive", safety="positive", n_record="positive_int",
            progress="bool"),
       extra=[({"model": None}, "model"), ({"safety": 3.0}, "safety")],
       skip={("theta0", "one more dimension"): "(S, P) or (..., P) starts",
             ("progress", "str"): "a string is the progress bar's label"}),
    Fn(FL, "kkt_along", lambda: _mm(result=_flow(), norm="lambda_max"), dict(X=ARR, norm="choice"),
       extra=[({"result": None}, "result"), ({"model": None}, "model")]),
    Fn(FL, "angles_to", lambda: _mm(result=_flow(), theta_ref=TH2), dict(X=ARR, theta_ref=ARR),
       extra=[({"result": None}, "result"), ({"theta_ref": np.zeros(4)}, "theta_ref")],
       skip={("theta_ref", "one more dimension"): "a stacked reference broadcasts"}),
    Fn(FL, "fall_ratio", lambda: dict(result=_flow(), values=np.ones(_flow().tau.shape), tau_from=0.0),
       dict(values=ARR, tau_from="non_negative"), extra=[({"result": None}, "result")],
       skip={("values", "one more dimension"): "refused as a shape mismatch: covered",
             ("values", "NaN entry"): "NaN marks the records before separation (legal)"}),
    Fn(FL, "theorem_figure", lambda: dict(result=_flow(), angle_qh=np.ones(_flow().q_min.shape),
                                          angle_euclid=np.ones(_flow().q_min.shape),
                                          kkt={k: np.ones(_flow().q_min.shape) for k in ("stationarity", "complementary")},
                                          solution_gap=None),
       dict(angle_qh=ARR, angle_euclid=ARR, solution_gap="non_negative?"),
       skip={("angle_qh", "NaN entry"): "NaN marks the records before separation (legal)",
             ("angle_euclid", "NaN entry"): "NaN marks the records before separation (legal)"},
       extra=[({"result": None}, "result"), ({"kkt": None}, "kkt"), ({"kkt": {}}, "kkt")]),
    # rates --------------------------------------------------------------------------------
    Fn(RA, "tanh_mlp", dict(widths=(2, 2, 1), readout=False), dict(readout="bool"),
       extra=[({"widths": None}, "widths"), ({"widths": (2, 0, 1)}, "widths")]),
    Fn(RA, "euler_design", lambda: dict(model=_toy()[0], X=_toy()[1], theta=torch.tensor(TH2)[None]), dict(X=ARR, theta=ARR),
       extra=[({"model": None}, "model")]),
    Fn(RA, "find_rates", lambda: dict(model=_toy()[0], n_inputs=2, n_draws=2, seed=0, scale=1.0, rank_tol=1e-9),
       dict(n_inputs="positive_int", n_draws="positive_int", seed="seed", scale="positive", rank_tol="positive"),
       extra=[({"model": None}, "model"), ({"n_inputs": 10**7, "n_draws": 10**7}, "needs about")]),
    Fn(RA, "euler_residual", lambda: dict(model=_toy()[0], rates=None, n_inputs=2, n_draws=2, seed=1, scale=1.0),
       dict(n_inputs="positive_int", n_draws="positive_int", seed="seed", scale="positive"),
       extra=[({"model": None}, "model"), ({"rates": np.array([1.0])}, "rates"),
              ({"rates": np.array([np.nan, 1.0, 1.0])}, "rates")]),
    Fn(RA, "homogeneity_residual", lambda: dict(model=_toy()[0], rates=None, alphas=np.array([-0.5, 0.5]),
                                                n_inputs=2, n_draws=2, seed=2, scale=1.0),
       dict(alphas=ARR, n_inputs="positive_int", n_draws="positive_int", seed="seed", scale="positive"),
       extra=[({"model": None}, "model"), ({"rates": np.array([1.0])}, "rates")]),
    Fn(RA, "rate_table", lambda: dict(models=[_toy()[0]], n_inputs=2, n_draws=2), {},
       extra=[({"models": None}, "models"), ({"models": []}, "models"), ({"models": [3]}, "models")]),
    Fn(RA, "seminorm_trajectory", lambda: dict(model=_traj()[0], X=_traj()[1], y=_traj()[2],
                                               theta0=_traj()[0].init(1, seed=0, scale=0.5),
                                               t_end=0.1, steps=4, record_every=2),
       dict(X=ARR, theta0=ARR, t_end="positive", steps="positive_int", record_every="positive_int"),
       extra=[({"model": None}, "model")],
       skip={("theta0", "one more dimension"): "(..., P) starts"}),
    Fn(RA, "seminorm_figure", lambda: dict(trajectories={"m": _traj()[3]}, title=""), dict(title="str"),
       extra=[({"trajectories": None}, "trajectories"), ({"trajectories": {"m": 3}}, "trajectories")]),
    # robustness ---------------------------------------------------------------------------
    Fn(RB, "two_feature_data", dict(n=6, margin_x2=0.1, margin_x1=1.0, spread=1.0, seed=0),
       dict(n="positive_int", margin_x2="real", margin_x1="positive", spread="non_negative", seed="seed"),
       extra=[({"n": 10**13}, "needs about")]),
    Fn(RB, "check_data", lambda: dict(X=_rb()[0], y=_rb()[1]), dict(X=ARR, y=ARR),
       extra=[({"y": np.ones(2)}, "y")]),
    Fn(RB, "svm_limit", lambda: dict(X=_rb()[0], y=_rb()[1]), dict(X=ARR, y=ARR)),
    Fn(RB, "qh_limit", lambda: dict(X=_rb()[0], y=_rb()[1]), dict(X=ARR, y=ARR)),
    Fn(RB, "path_limit", lambda: dict(X=_rb()[0], y=_rb()[1], depth_x1=1, depth_x2=2, n_grid=17),
       dict(X=ARR, y=ARR, depth_x1="positive_int", depth_x2="positive_int", n_grid="positive_int"),
       extra=[({"n_grid": 10**13}, "needs about")]),
    Fn(RB, "radius", lambda: dict(X=_rb()[0], y=_rb()[1], beta=np.array([1.0, 0.5])), dict(X=ARR, y=ARR, beta=ARR),
       extra=[({"beta": np.zeros(2)}, "beta")],
       skip={("beta", "one more dimension"): "stacked betas (..., 2) are legal"}),
    Fn(RB, "function_weights", lambda: dict(model=_rb()[3], theta=_rb()[3].init(1, seed=0).numpy()), dict(theta=ARR),
       extra=[({"model": None}, "model")],
       skip={("theta", "one more dimension"): "stacked thetas (..., P) are legal"}),
    Fn(RB, "log_loss_derivatives", lambda: dict(model=_rb()[3], X=_rb()[0], y=_rb()[1],
                                                theta=_rb()[3].init(1, seed=0).numpy()),
       dict(X=ARR, y=ARR, theta=ARR), extra=[({"model": None}, "model")],
       skip={("theta", "one more dimension"): "stacked thetas (..., P) are legal"}),
    Fn(RB, "l2_attack", lambda: dict(model=_rb()[3], X=_rb()[0], y=_rb()[1], theta=_rb()[3].init(1, seed=0).numpy(),
                                     bisections=4, pgd_steps=1, eps_max=None),
       dict(X=ARR, y=ARR, theta=ARR, bisections="positive_int", pgd_steps="positive_int", eps_max="positive?"),
       extra=[({"model": None}, "model")],
       skip={("theta", "one more dimension"): "stacked thetas (..., P) are legal"}),
    Fn(RB, "train_loss_normalised", lambda: dict(model=_rb()[2], X=_rb()[0], y=_rb()[1],
                                                 theta0=_rb()[2].init(1, seed=0).numpy(), steps=3, lr=0.5,
                                                 max_step=1.0, n_record=2, record_every=None, progress=False),
       dict(X=ARR, y=ARR, theta0=ARR, steps="positive_int", lr="positive", max_step="positive",
            n_record="positive_int", record_every="positive_int?", progress="bool?"),
       extra=[({"model": None}, "model"), ({"lr": 1e300, "max_step": 1e300}, ("diverged", "lr"))],
       skip={("theta0", "one more dimension"): "(..., P) starts",
             ("progress", "str"): "a string is the progress bar's label"}),
    Fn(RB, "attack_run", lambda: dict(model=_rb()[3], X=_rb()[0], y=_rb()[1], run=_rb()[4]["quasi-homogeneous"],
                                      every=2, eps_max=4.0),
       dict(X=ARR, y=ARR, every="positive_int", eps_max="positive?"),
       extra=[({"model": None}, "model"), ({"run": None}, "run"), ({"run": {}}, "run")]),
    Fn(RB, "angle_to", lambda: dict(run=_rb()[4]["linear"], beta=np.array([1.0, 0.5])), dict(beta=ARR),
       extra=[({"run": None}, "run"), ({"beta": np.zeros(2)}, "beta")]),
    # sparsity -----------------------------------------------------------------------------
    Fn(SP, "balanced_init", dict(sigmas=np.array([1e-2, 0.0])), dict(sigmas="positive_array"),
       skip={("sigmas", "one more dimension"): "refused? no: sigmas of any shape"}),
    Fn(SP, "escape_time", lambda: dict(X=_trap()[0], y=_trap()[1], sigma=np.array([1e-2]), tau_max=50.0),
       dict(X=ARR, y=ARR, sigma="positive_array", tau_max="positive"),
       skip={("sigma", "one more dimension"): "sigma of any shape"}),
    Fn(SP, "run_trap", lambda: dict(X=_trap()[0], y=_trap()[1], sigmas=np.array([1e-2]), steps=3, progress=False),
       dict(X=ARR, y=ARR, sigmas="positive_array", steps="positive_int", record_every="positive_int"),
       skip={("sigmas", "one more dimension"): "refused or legal: sigmas as a column"}),
    Fn(SP, "trap_prediction", lambda: dict(X=_trap()[0], y=_trap()[1]), dict(X=ARR, y=ARR)),
    Fn(SP, "crossing_tau", lambda: dict(run=_trap()[2], X=_trap()[0], y=_trap()[1], index=0),
       dict(X=ARR, y=ARR, index="non_negative_int"),
       extra=[({"run": None}, "run"), ({"index": 7}, "index")]),
    Fn(SP, "normalised_a", lambda: dict(run=_trap()[2]), {}, extra=[({"run": None}, "run"), ({"run": {}}, "run")]),
    # plots --------------------------------------------------------------------------------
    Fn(PL, "robustness_figure", lambda: dict(X=_rb()[0], y=_rb()[1], runs=_rb()[4],
                                             radii={k: {"tau": np.array([0.0, 1.0]), "radius": np.array([0.1, 0.2])}
                                                    for k in _rb()[4]},
                                             exact={k: 0.1 for k in _rb()[4]}),
       dict(X=ARR, y=ARR),
       extra=[({"runs": None}, "runs"), ({"radii": None}, "radii"), ({"exact": None}, "exact"),
              ({"exact": {"linear": np.nan, "quasi-homogeneous": 0.1}}, "exact")]),
    Fn(PL, "sparsity_figure", lambda: dict(cases={"a": (_trap()[2], 0.5)}, trap=None), {},
       extra=[({"cases": None}, "cases"), ({"cases": {"a": 3}}, "cases"), ({"trap": 3}, "trap"),
              ({"cases": {"a": (_trap()[2], np.nan)}}, "cases")]),
    # derivation ---------------------------------------------------------------------------
    Fn(DE, "euler_chain_rule", dict(n=2), dict(n="positive_int"), extra=[({"n": 10**6}, "n")]),
    Fn(DE, "euler_identity", lambda: dict(ex=_ex()), {}, extra=[({"ex": None}, "ex")]),
    Fn(DE, "quasi_homogeneity", lambda: dict(ex=_ex()), {}, extra=[({"ex": None}, "ex")]),
    Fn(DE, "seminorm_growth", lambda: dict(ex=_ex(), n_data=1), dict(n_data="positive_int"),
       extra=[({"ex": None}, "ex"), ({"n_data": 10**6}, "n_data")]),
    Fn(DE, "conserved_quantity", lambda: dict(ex=_ex(), nu={}, n_data=1), dict(n_data="positive_int"),
       extra=[({"ex": None}, "ex"), ({"nu": None}, "nu"), ({"nu": {"bogus": 1}}, "nu"),
              ({"n_data": 10**6}, "n_data")]),
    # collapse -----------------------------------------------------------------------------
    Fn(CO, "load_data", dict(name="digits", per_class=3, seed=0),
       dict(name="choice", per_class="positive_int", seed="seed")),
    Fn(CO, "init_mlp", dict(seeds=[0], d=4, hidden=3, n_classes=3),
       dict(seeds="seeds", d="positive_int", hidden="positive_int", n_classes="positive_int"),
       extra=[({"d": 10**6, "hidden": 10**6}, "needs about")]),
    Fn(CO, "mlp_forward", lambda: dict(P=_nc_arrays()[0], x=_nc_arrays()[1], norms="none"), dict(x=ARR),
       extra=[({"P": None}, "P"), ({"norms": "bogus"}, "norms"), ({"x": np.ones((6, 5))}, "x")]),
    Fn(CO, "cross_entropy", lambda: dict(logits=_nc_arrays()[4], y=_nc_arrays()[2]), dict(logits=ARR),
       extra=[({"y": None}, "y"), ({"y": torch.tensor([0, 1])}, "y"), ({"y": torch.tensor([0, 1, 2, 0, 1, 7])}, "y")],
       skip={("logits", "one more dimension"): "(..., n, K) logits are legal"}),
    Fn(CO, "log_cross_entropy", lambda: dict(logits=_nc_arrays()[4], y=_nc_arrays()[2]), dict(logits=ARR),
       extra=[({"y": None}, "y"), ({"y": torch.tensor([0, 1])}, "y")],
       skip={("logits", "one more dimension"): "(..., n, K) logits are legal"}),
    Fn(CO, "nc_metrics", lambda: dict(h=_nc_arrays()[3], logits=_nc_arrays()[4], y=_nc_arrays()[2],
                                      W=_nc_arrays()[0]["W3"], n_classes=3),
       dict(h=ARR, logits=ARR, W=ARR, n_classes="positive_int"),
       extra=[({"y": None}, "y"), ({"y": torch.tensor([0, 1])}, "y")]),
    Fn(CO, "last_layer_kkt", lambda: dict(h=_nc_arrays()[3][0], y=_nc_arrays()[2], W=_nc_arrays()[0]["W3"][0],
                                          b=_nc_arrays()[0]["b3"][0], slack=1.0, max_active=10),
       dict(h=ARR, W=ARR, b=ARR, slack="non_negative", max_active="positive_int"),
       extra=[({"y": None}, "y"), ({"y": torch.tensor([0, 1])}, "y")]),
    Fn(CO, "train_collapse", lambda: dict(data=_collapse()[0], setup=_collapse()[1], seeds=None, progress=False),
       dict(seeds="seeds?", progress="bool"),
       extra=[({"data": None}, "data"), ({"setup": None}, "setup")],
       skip={("progress", "str"): "a string is the progress bar's label"}),
    Fn(CO, "by_norm", lambda: dict(result=_collapse()[2], name="nc1"), dict(name="str"),
       extra=[({"result": None}, "result"), ({"name": "bogus"}, "name")]),
    Fn(CO, "terminal_change", lambda: dict(result=_collapse()[2], name="nc1"), dict(name="str"),
       extra=[({"result": None}, "result"), ({"name": "bogus"}, "name")]),
    Fn(CO, "onset_steps", lambda: dict(result=_collapse()[2]), {}, extra=[({"result": None}, "result")]),
    Fn(CO, "collapse_report", lambda: dict(results={"digits": _collapse()[2]}), {},
       extra=[({"results": None}, "results"), ({"results": {}}, "results"), ({"results": {"a": 3}}, "results")]),
    Fn(CO, "collapse_figure", lambda: dict(results={"digits": _collapse()[2]}), {},
       extra=[({"results": None}, "results"), ({"results": {"a": 3}}, "results")]),
    Fn(SW, "maxmargin_sweep", dict(scale="laptop", n_seed=2, n_scale=1),
       dict(scale="choice", n_seed="positive_int?", n_scale="positive_int?")),
    Fn(SW, "maxmargin_experiment", dict(scale="laptop", steps=20), dict(scale="choice", steps="positive_int?")),
    Fn(SW, "maxmargin_plan", dict(scale="laptop", n_seed=1, n_scale=1, steps=20),
       dict(scale="choice", n_seed="positive_int?", n_scale="positive_int?", steps="positive_int?")),
    Fn(SW, "maxmargin_point", dict(seed=0, init_scale=0.1, n=8, steps=10, n_record=2),
       dict(seed="seed", init_scale="positive")),
    Fn(SW, "maxmargin_batch", dict(configs=[dict(seed=0, init_scale=0.1, n=8, steps=10, n_record=2)]),
       extra=[({"configs": []}, "configs"), ({"configs": 3}, "configs"), ({"configs": [3]}, "configs"),
              ({"configs": [dict(seed=-1, init_scale=0.1, n=8, steps=10, n_record=2)]}, "seed")]),
    Fn(SW, "stored_maxmargin", dict(labels=("paper",)), extra=[({"labels": "paper"}, "labels"),
                                                              ({"labels": [3]}, "labels")]),
    Fn(SW, "stored_report", lambda: dict(ds=_sweep_ds()), extra=[({"ds": None}, "ds"), ({"ds": 3}, "ds")]),
    Fn(SW, "stored_claims", lambda: dict(stored={"paper": _sweep_ds()}, steps=10, live_angle=0.1),
       dict(steps="positive_int", live_angle="non_negative"),
       extra=[({"stored": None}, "stored"), ({"stored": 3}, "stored"), ({"stored": {"paper": 3}}, "stored")]),
]

EXEMPT = {
    "main": "the command line: bad options exit through argparse (tested in tests/test_quasi_homogeneous_sweeps.py)",
    "all_identities": "no arguments (a list of sympy identities)",
    "examples": "no arguments (the symbolic examples)",
    "linear_model": "no arguments (a fixed model)",
    "qh_model": "no arguments (a fixed model)",
    "necessary_data": "no arguments (a fixed data set)",
}

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid(TABLE)


def test_table_covers_every_public_function():
    assert badinput.check_coverage(P, TABLE, EXEMPT) == []


# ------------------------------------------------------------ the closed forms at their extremes
@settings(max_examples=40, deadline=None)
@given(st.floats(1e-300, 0.999), st.floats(1.0, 1e12))
def test_escape_time_finite_or_capped(sigma, tau_max):
    from theory.quasi_homogeneous import sparsity as sp

    X, y = _trap()[:2]
    t = sp.escape_time(X, y, np.array([sigma]), tau_max=tau_max)
    assert np.all(np.isfinite(t) | np.isnan(t)) and not np.any(np.isinf(t))


@settings(max_examples=40, deadline=None)
@given(st.floats(-0.5, 0.5).filter(lambda m: abs(m) > 1e-6), st.integers(0, 20))
def test_limits_finite_over_the_margin_range(margin_x2, seed):
    from theory.quasi_homogeneous import robustness as rb

    X, y = rb.two_feature_data(8, margin_x2, seed=seed)
    w, r = rb.svm_limit(X, y)
    assert np.all(np.isfinite(w)) and np.isfinite(r)
    assert np.all(np.isfinite(rb.radius(X, y, w)))
