"""Bad input to theory.icl_regression (issue 20): every public function, a table of invalid arguments.

The battery is :mod:`badinput`; ``python tests/badinput.py tests/test_bad_inputs_icl_regression.py``
prints the counts. The chapter's arrays are torch tensors: :func:`tensor_bad` derives their
invalid variants (NaN, inf, empty, another rank, bools, complex, ints, a numpy array, None) as
``extra`` cases, each expected to name the argument. Tiny runs and studies are built once
(``functools.cache``) for the functions that analyse or draw them.
"""

import functools
import math

import matplotlib
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import badinput
from badinput import Fn

matplotlib.use("Agg")

D_ = "theory.icl_regression.data"
E = "theory.icl_regression.estimators"
R = "theory.icl_regression.risks"
T = "theory.icl_regression.transformer"
TH = "theory.icl_regression.threshold"
PR = "theory.icl_regression.paper_run"
PL = "theory.icl_regression.plots"
SW = "theory.icl_regression.sweeps"
_SW_TINY = dict(D=2, K=4, n_layer=1, n_embd=8, n_head=2, sigma2=0.0625, steps=2, lr=3e-3, track=4,
                record_every=1, n_eval=8, pool_seed=1)


@functools.cache
def _sw_ds():
    import dataclasses

    from theory.core import run_sweep
    from theory.icl_regression import sweeps
    exp = sweeps.task_diversity_experiment("laptop", steps=2, record_every=1)
    exp = dataclasses.replace(exp, fixed=dict(_SW_TINY))
    return run_sweep(exp, sweeps.task_diversity_sweep("laptop"), progress=False)


@functools.cache
def _sw_study():
    """The page's study and settings at _SW_TINY's sizes (what stored_claims compares against)."""
    import math

    from theory.icl_regression.threshold import threshold_study
    from theory.icl_regression.transformer import ModelConfig

    t = _SW_TINY
    Ms, bs = [4, 16, 64, math.inf], [32, 64]
    study = threshold_study(Ms, bs, [0.0], ModelConfig(D=t["D"], K=t["K"], n_layer=t["n_layer"], n_embd=t["n_embd"],
                                                       n_head=t["n_head"]),
                            sigma2=t["sigma2"], steps=t["steps"], lr=t["lr"], track=t["track"],
                            record_every=t["record_every"], n_eval=t["n_eval"], progress=False)
    return study, dict({k: t[k] for k in ("steps", "n_eval", "track", "sigma2", "lr")}, Ms=Ms, batch_sizes=bs)


def tensor_bad(name, valid, *, empty=True, more_dims=True):
    """Extra cases for a tensor argument ``name`` whose valid value is ``valid`` (``more_dims``:
    whether one more leading dimension is invalid)."""
    v = valid.clone()
    nan, inf = v.clone().reshape(-1), v.clone().reshape(-1)
    nan[0], inf[-1] = float("nan"), float("inf")
    out = [({name: None}, name), ({name: "abc"}, name), ({name: v.numpy()}, name),
           ({name: nan.reshape(v.shape)}, name), ({name: inf.reshape(v.shape)}, name),
           ({name: torch.ones(v.shape, dtype=torch.bool)}, name),
           ({name: v.to(torch.complex128)}, name), ({name: torch.ones(v.shape, dtype=torch.long)}, name)]
    if empty and v.ndim:
        out.append(({name: v[:0]}, name))
    if more_dims:
        out.append(({name: v[None]}, name))
    return out


@functools.cache
def _pool():
    from theory.icl_regression import sample_pool
    return sample_pool(3, 2, seed=0)


@functools.cache
def _seqs():
    from theory.icl_regression import sample_sequences
    return sample_sequences(2, 3, 0.1, pool=_pool(), seed=1)


def _cfg():
    from theory.icl_regression import ModelConfig
    return ModelConfig(D=2, K=3, n_layer=1, n_embd=4, n_head=1)


@functools.cache
def _run():
    from theory.icl_regression import train_sweep
    return train_sweep([2, 3, math.inf], _cfg(), sigma2=0.1, steps=1, batch_size=2,
                       progress=False, device="cpu")


@functools.cache
def _ev():
    from theory.icl_regression import evaluate_sweep
    return evaluate_sweep(_run(), n=8)


@functools.cache
def _study():
    from theory.icl_regression.threshold import threshold_study
    return threshold_study([2, 4, math.inf], [2, 4], [0.0], _cfg(), sigma2=0.1, steps=2, lr=1e-3,
                           track=4, record_every=1, n_eval=8, progress=False)


@functools.cache
def _params():
    from theory.icl_regression import init_params
    return init_params(_cfg(), [0], device="cpu")


@functools.cache
def _tokens():
    s = _seqs()
    from theory.icl_regression import to_tokens
    return to_tokens(s.xs, s.ys)[None].float()


@functools.cache
def _paths():
    from theory.icl_regression import sweep_paths
    return sweep_paths(_run(), [0.0, 0.5, 1.0], n_pairs=1, n=2)


@functools.cache
def _pool_sweep():
    from theory.icl_regression import pool_size_sweep
    return pool_size_sweep([1, 2], 2, 3, 0.1, n=4)


@functools.cache
def _dim_study():
    from theory.icl_regression import dimension_study
    return dimension_study(n=4, n_positions=4, Ds=(2,), Ms=(1, 2), M=2, D=2, sigma2=0.25,
                           sigma2s=(0.1,))


def _xy():
    s = _seqs()
    return dict(xs=s.xs, ys=s.ys)


def _xyp():
    return dict(_xy(), pool=_pool(), sigma2=0.1)


def _xy_bad(extra=()):
    s = _seqs()
    return (tensor_bad("xs", s.xs) + tensor_bad("ys", s.ys)
            + [({"ys": s.ys[:, :2]}, "ys"), ({"xs": s.xs[:1]}, "ys")] + list(extra))


def _pool_bad():
    return tensor_bad("pool", _pool()) + [({"pool": torch.zeros(3, 5, dtype=torch.float64)}, "pool")]


_BIG_D = 10**5          # ridge's (D, D) inverses per sequence: 80 GB at D = 1e5
_SCALARS_RUN = dict(n="positive_int", seed="seed")

TABLE = [
    # ----------------------------------------------------------------- data
    Fn(D_, "interpolation_path", dict(w_i=np.array([1.0, 0.0]), w_j=np.array([0.0, 1.0]),
                                      alpha=np.array([0.0, 0.5, 1.0])),
       dict(w_i="array", w_j="array", alpha="array"),
       extra=[({"alpha": np.array([1.5])}, "alpha"), ({"w_j": np.zeros(3)}, "same shape"),
              ({"w_j": np.array([-1.0, 0.0])}, "antipodal")],
       skip={("alpha", "one more dimension"): "(1, 3) is refused as not 1-D: the same check"}),
    Fn(D_, "sample_pool", dict(M=3, D=2), dict(M="positive_int", D="positive_int", seed="seed",
                                                task_scale="non_negative", dtype="dtype"),
       extra=[({"M": math.inf}, "M"), ({"M": 10**7, "D": 10**6}, "needs about")]),
    Fn(D_, "sample_sequences", lambda: dict(n=2, K=3, sigma2=0.1, pool=_pool()),
       dict(n="positive_int", K="positive_int", sigma2="non_negative", seed="seed",
            task_scale="non_negative", dtype="dtype"),
       extra=tensor_bad("pool", _pool()) + [({"pool": None, "D": None}, "D"), ({"D": 5}, "D"),
                            ({"pool": None, "D": 0}, "D"), ({"pool": None, "D": 2.5}, "D"),
                            ({"n": 10**7, "K": 10**6}, "needs about")]),
    Fn(D_, "to_tokens", _xy, {}, extra=tensor_bad("xs", _seqs().xs, more_dims=False)
       + tensor_bad("ys", _seqs().ys, more_dims=False) + [({"ys": _seqs().ys[:, :2]}, "ys")]),
    Fn(D_, "tokens_to_targets", lambda: dict(out=_tokens()[..., 0]), {},
       extra=tensor_bad("out", torch.zeros(1, 2, 6), more_dims=False) + [({"out": torch.zeros(1, 2, 5)}, "out")]),
    # ----------------------------------------------------------------- estimators
    Fn(E, "dmmse_naive", _xyp, dict(sigma2="positive"), extra=_xy_bad(_pool_bad())),
    Fn(E, "dmmse_posterior", _xyp, dict(sigma2="positive"), extra=_xy_bad(_pool_bad())),
    Fn(E, "dmmse_predict", _xyp, dict(sigma2="positive", return_w="bool", max_elements="positive_int"),
       extra=_xy_bad(_pool_bad()) + [
           ({"pool": torch.zeros(1, 3000, dtype=torch.float64).expand(10**5, 3000),
             "xs": torch.zeros(1, 2, 3000, dtype=torch.float64),
             "ys": torch.zeros(1, 2, dtype=torch.float64)}, "needs about")]),
    Fn(E, "ridge_naive", lambda: dict(_xy(), sigma2=0.1), dict(sigma2="positive", task_scale="positive"),
       extra=_xy_bad()),
    Fn(E, "ridge_predict", lambda: dict(_xy(), sigma2=0.1),
       dict(sigma2="positive", task_scale="positive", return_w="bool"),
       extra=_xy_bad() + [({"xs": torch.zeros(1, 2, _BIG_D, dtype=torch.float64),
                            "ys": torch.zeros(1, 2, dtype=torch.float64)}, "needs about")]),
    # ----------------------------------------------------------------- risks
    Fn(R, "loss", lambda: dict(pred=_seqs().ys, ys=_seqs().ys, D=2), dict(D="positive_int"),
       extra=tensor_bad("pred", _seqs().ys) + tensor_bad("ys", _seqs().ys)
       + [({"ys": _seqs().ys[:, :2]}, "ys")]),
    Fn(R, "distance", lambda: dict(f=_seqs().ys, g=_seqs().ys, D=2), dict(D="positive_int"),
       extra=tensor_bad("f", _seqs().ys) + tensor_bad("g", _seqs().ys) + [({"g": _seqs().ys[:, :2]}, "g")]),
    Fn(R, "ridge_risk_given_inputs", lambda: dict(xs=_seqs().xs, sigma2=0.1), dict(sigma2="positive"),
       extra=tensor_bad("xs", _seqs().xs)),
    Fn(R, "dmmse_first_risk", lambda: dict(pool=_pool(), sigma2=0.1), dict(sigma2="positive"),
       extra=tensor_bad("pool", _pool())),
    Fn(R, "baseline_risks", lambda: dict(pool=_pool(), K=3, sigma2=0.1, n=4),
       dict(K="positive_int", sigma2="positive", n="positive_int", seed="seed"),
       extra=tensor_bad("pool", _pool())),
    Fn(R, "reference_errors", dict(M=2, D=2, K=3, n=2),
       dict(M="positive_int", D="positive_int", K="positive_int", sigma2="positive",
            n="positive_int", pool_seed="seed", seed="seed")),
    Fn(R, "posterior_concentration", dict(M=2, D=2, K=3, sigma2=0.1, n=2),
       dict(M="positive_int", D="positive_int", K="positive_int", sigma2="positive",
            n="positive_int", pool_seed="seed", seed="seed")),
    Fn(R, "risk_checks", lambda: dict(pool=_pool(), K=3, sigma2=0.1, n=4),
       dict(K="positive_int", sigma2="positive", n="positive_int", seed="seed"),
       extra=tensor_bad("pool", _pool()) + [({"n": 1}, "n")]),
    Fn(R, "pool_size_sweep", dict(Ms=[1, 2], D=2, K=3, sigma2=0.1, n=4),
       dict(D="positive_int", K="positive_int", sigma2="positive", n="positive_int",
            pool_seed="seed", seed="seed"),
       extra=[({"Ms": v}, "Ms") for v in (None, "ab", [], [0], [1.5], [True], [math.nan], [[1]])]),
    Fn(R, "dimension_sweep", dict(Ds=[2], Ms=[1, 2], n=4),
       dict(n="positive_int", pool_seed="seed", seed="seed"),
       extra=[({k: v}, k) for k in ("Ds", "Ms") for v in (None, "ab", [], [0], [1.5], [True])]),
    Fn(R, "noise_sweep", lambda: dict(pool=_pool(), K=3, sigma2s=[0.1], n=4),
       dict(K="positive_int", n="positive_int", seed="seed"),
       extra=tensor_bad("pool", _pool()) + [({"sigma2s": v}, "sigma2s") for v in
                                            (None, "ab", [], [0.0], [math.nan], [True], [[0.1]])]),
    Fn(R, "dimension_study", dict(n=4, n_positions=4, Ds=(2,), Ms=(1, 2), M=2, D=2, sigma2=0.25,
                                  sigma2s=(0.1,)),
       dict(n="positive_int", n_positions="positive_int", M="positive_int", D="positive_int",
            sigma2="positive"),
       extra=[({k: v}, k) for k in ("Ds", "Ms") for v in (None, [], [0])]
       + [({"sigma2s": v}, "sigma2s") for v in (None, [], [-1.0])]),
    Fn(R, "evaluate_sweep", lambda: dict(run=_run(), n=8), _SCALARS_RUN,
       extra=[({"run": None}, "run"), ({"run": "abc"}, "run")]),
    Fn(R, "transition", lambda: dict(run=_run(), ev=_ev(), n=4), _SCALARS_RUN,
       extra=[({"run": None}, "run"), ({"ev": None}, "ev"), ({"ev": "abc"}, "ev")]),
    Fn(R, "path_losses", lambda: dict(run=_run(), g=0, alpha=np.array([0.0, 0.5, 1.0]), n_pairs=1, n=2),
       dict(g="non_negative_int", alpha="array", n_pairs="positive_int", n="positive_int", seed="seed"),
       extra=[({"run": None}, "run"), ({"g": 3}, "g"), ({"alpha": np.array([1.5])}, "alpha")],
       skip={("alpha", "one more dimension"): "(1, 3) is refused as not 1-D: the same check"}),
    Fn(R, "sweep_paths", lambda: dict(run=_run(), alpha=np.array([0.0, 1.0]), n_pairs=1, n=2),
       dict(alpha="array", n_pairs="positive_int", n="positive_int", seed="seed"),
       extra=[({"run": None}, "run"), ({"alpha": np.array([-0.5])}, "alpha")],
       skip={("alpha", "one more dimension"): "(1, 2) is refused as not 1-D: the same check"}),
    Fn(R, "path_table", lambda: dict(Ms=[2, 3, math.inf], paths=_paths()), {},
       extra=[({"paths": None}, "paths"), ({"paths": [1, 2, 3]}, "paths"), ({"Ms": [2]}, "paths"),
              ({"Ms": None}, "Ms"), ({"Ms": [2, math.nan, 3]}, "Ms")]),
    # ----------------------------------------------------------------- threshold
    Fn(TH, "batch_crossover", dict(Ms=np.array([2.0, 4.0, 8.0]), delta_small=np.array([1.0, 1.0, 1.0]),
                                   delta_large=np.array([2.0, 1.0, 0.5])),
       dict(Ms="positive_array", delta_small="positive_array", delta_large="positive_array"),
       extra=[({"Ms": np.array([4.0, 2.0, 8.0])}, "Ms"), ({"delta_small": np.ones(2)}, "delta_small")]),
    Fn(TH, "early_stopping_times", dict(steps=np.array([0.0, 1.0, 2.0]),
                                        curves=np.array([[3.0, 1.0, 2.0], [3.0, 2.0, 1.0]])),
       dict(steps="array", curves="array"),
       extra=[({"steps": np.array([0.0, 2.0, 1.0])}, "steps"), ({"curves": np.ones((2, 4))}, "curves")],
       skip={("curves", "empty"): "(0, 3): no curves is legal (returns empty arrays)"}),
    Fn(TH, "scaling_fit", dict(Ms=np.array([2.0, 4.0, 8.0]), t_star=np.array([2.0, 3.0, 4.0])),
       dict(Ms="positive_array", t_star="positive_array", max_M="positive"),
       extra=[({"interior": np.array([True])}, "interior"), ({"interior": "abc"}, "interior"),
              ({"t_star": np.ones(2)}, "t_star"), ({"max_M": 2.0}, "two distinct")],
       skip={("Ms", "inf entry"): "M = inf is legal (the fresh-task model, left out of the fit)"}),
    Fn(TH, "threshold_study", dict(Ms=[2, math.inf], batch_sizes=[1, 2], weight_decays=[0.0],
                                   config=_cfg(), sigma2=0.1, steps=1, lr=1e-3, track=2,
                                   n_eval=2, progress=False),
       dict(sigma2="positive", steps="positive_int", lr="positive", seed="seed", pool_seed="seed",
            track="positive_int?", record_every="positive_int", n_eval="positive_int",
            progress="bool"),
       extra=[({"config": None}, "config"), ({"Ms": None}, "Ms"), ({"Ms": [0]}, "Ms"),
              ({"batch_sizes": [2]}, "batch_sizes"), ({"batch_sizes": [2, 1]}, "batch_sizes"),
              ({"weight_decays": [0.1]}, "weight_decays"), ({"weight_decays": None}, "weight_decays"),
              ({"decay_Ms": [0]}, "decay_Ms"), ({"lr": 1e30}, "diverged")]),
    # ----------------------------------------------------------------- transformer
    Fn(T, "triangle_lr", dict(step=1, total_steps=4, peak=1e-3),
       dict(step="non_negative_int", total_steps="positive_int", peak="non_negative",
            warmup_frac="unit"),
       extra=[({"step": 5}, "step")]),
    Fn(T, "model_seeds", dict(Ms=[2, math.inf], purpose="init", seed=0), dict(purpose="str"),
       extra=[({"Ms": None}, "Ms"), ({"Ms": [0]}, "Ms"), ({"Ms": []}, "Ms"), ({"Ms": "ab"}, "Ms")]),
    Fn(T, "init_params", lambda: dict(config=_cfg(), seeds=[0, 1]),
       dict(seeds="seeds", device="device?", dtype="dtype"),
       extra=[({"config": None}, "config")]),
    Fn(T, "forward", lambda: dict(params=_params(), tokens=_tokens(), n_head=1),
       dict(n_head="positive_int"),
       extra=tensor_bad("tokens", _tokens()) + [
           ({"params": None}, "params"), ({"params": {"w_in": 1}}, "params"),
           ({"tokens": torch.zeros(1, 2, 6, 4)}, "tokens"), ({"tokens": torch.zeros(2, 2, 6, 3)}, "tokens"),
           ({"tokens": torch.zeros(1, 2, 8, 3)}, "tokens"), ({"n_head": 3}, "n_head")]),
    Fn(T, "predict", lambda: dict(params=_params(), xs=_seqs().xs[None], ys=_seqs().ys[None], n_head=1),
       dict(n_head="positive_int", chunk="positive_int", device="device?"),
       extra=tensor_bad("xs", _seqs().xs[None]) + tensor_bad("ys", _seqs().ys[None]) + [
           ({"params": None}, "params"), ({"xs": torch.zeros(1, 2, 3, 3, dtype=torch.float64)}, "xs"),
           ({"ys": torch.zeros(1, 2, 2, dtype=torch.float64)}, "ys"), ({"n_head": 3}, "n_head")]),
    Fn(T, "train_sweep", lambda: dict(Ms=[2], config=_cfg(), steps=1, batch_size=2, progress=False,
                                      device="cpu"),
       dict(sigma2="positive", steps="positive_int", batch_size="positive_int", lr="positive",
            warmup_frac="unit", seed="seed", pool_seed="seed", record_every="positive_int",
            device="device?", dtype="dtype", progress="bool", weight_decay="non_negative",
            track="positive_int?", track_seed="seed"),
       extra=[({"Ms": None}, "Ms"), ({"Ms": []}, "Ms"), ({"Ms": [0]}, "Ms"), ({"config": None}, "config"),
              ({"batch_size": [2, 2]}, "batch_size"), ({"lr": 1e30}, "diverged"),
              ({"batch_size": 10**7, "Ms": [2] * 100}, "needs about")]),
    # ----------------------------------------------------------------- paper_run
    Fn(PR, "load_results", lambda: dict(scale="laptop", directory="/nonexistent"),
       dict(scale="choice", directory="str")),
    Fn(PR, "report", lambda: dict(run=_run()), {}, extra=[({"run": None}, "run")]),
    Fn(PR, "to_json", lambda: dict(ev=_ev(), settings=dict(config=_cfg(), sigma2=0.1, steps=1,
                                                           batch_size=2, lr=1e-3, n_eval=8),
                                   seconds=1.0, command="x"),
       dict(seconds="non_negative", command="str"),
       extra=[({"ev": None}, "ev"), ({"settings": None}, "settings"), ({"settings": {}}, "settings"),
              ({"batch": [1]}, "batch"), ({"crossover": "abc"}, "crossover")]),
    Fn(PR, "trained_sweep", dict(seed=0), dict(seed="seed")),
    Fn(PR, "main", lambda: dict(argv=["--steps", "1", "--out", "/tmp/_icl_bad_inputs_main.json"]), {},
       extra=[({"argv": ["--steps", "0"]}, "steps"), ({"argv": "abc"}, "argv"),
              ({"argv": [1, 2]}, "argv")]),
    # ----------------------------------------------------------------- plots
    Fn(PL, "pool_size_figure", lambda: dict(sweep=_pool_sweep()), {}, extra=[({"sweep": None}, "sweep")]),
    Fn(PL, "dimension_figure", lambda: dict(study=_dim_study()), {}, extra=[({"study": None}, "study")]),
    Fn(PL, "training_figure", lambda: dict(run=_run()), {}, extra=[({"run": None}, "run")]),
    Fn(PL, "sweep_figure", lambda: dict(run=_run(), ev=_ev()), {},
       extra=[({"ev": None}, "ev"), ({"run": None}, "run")]),
    Fn(PL, "paths_figure", lambda: dict(Ms=[2, 3, math.inf], paths=_paths()), {},
       extra=[({"paths": None}, "paths"), ({"Ms": [2]}, "paths"), ({"Ms": None}, "Ms")]),
    Fn(PL, "paper_scale_figure", lambda: dict(res=dict(M=[2, "inf"], d_pt_dmmse_new=[1.0, None],
                                                       d_pt_ridge_new=[1.0, 2.0])), {},
       extra=[({"res": None}, "res"), ({"res": {"M": [1]}}, "res"),
              ({"res": dict(M=[2], d_pt_dmmse_new=[1.0, 2.0], d_pt_ridge_new=[1.0])}, "res")]),
    Fn(PL, "threshold_figure", lambda: dict(study=_study()), {}, extra=[({"study": None}, "study")]),
    Fn(PL, "stopping_figure", lambda: dict(study=_study()), dict(name="choice"),
       extra=[({"study": None}, "study")]),
    # ----------------------------------------------------------------- sweeps (issue 21)
    Fn(SW, "task_diversity_sweep", dict(scale="laptop", n_M=2, n_seed=1),
       dict(scale="choice", n_M="positive_int?", n_seed="positive_int?"), extra=[({"n_M": 9}, "n_M")]),
    Fn(SW, "task_diversity_experiment", dict(scale="laptop", steps=4, n_eval=8, track=4, record_every=2,
                                             pool_seed=1),
       dict(scale="choice", steps="positive_int?", n_eval="positive_int?", track="positive_int?",
            record_every="positive_int?", pool_seed="seed")),
    Fn(SW, "task_diversity_plan", dict(scale="laptop", n_M=1, n_seed=1, steps=4, n_eval=8, track=4,
                                       record_every=2),
       dict(scale="choice", n_M="positive_int?", n_seed="positive_int?", steps="positive_int?",
            n_eval="positive_int?", track="positive_int?", record_every="positive_int?")),
    Fn(SW, "task_diversity_point", dict(seed=0, M="inf", batch=4, **_SW_TINY),
       dict(seed="seed", batch="positive_int"),
       extra=[({"M": "2.5"}, "M"), ({"M": 0}, "M"), ({"M": None}, "M"), ({"M": True}, "M")]),
    Fn(SW, "task_diversity_batch", dict(configs=[dict(_SW_TINY, seed=0, M="4", batch=4)]),
       extra=[({"configs": []}, "configs"), ({"configs": 3}, "configs"), ({"configs": [3]}, "configs"),
              ({"configs": [dict(_SW_TINY, seed=-1, M="4", batch=4)]}, "seed"),
              ({"configs": [dict(seed=0, M="4", batch=4)]}, "lacks")]),
    Fn(SW, "stored_task_diversity", dict(labels=("paper",)),
       extra=[({"labels": "paper"}, "labels"), ({"labels": [3]}, "labels")]),
    Fn(SW, "stored_report", lambda: dict(ds=_sw_ds()), extra=[({"ds": None}, "ds"), ({"ds": 3}, "ds")]),
    Fn(SW, "task_diversity_crossover", lambda: dict(ds=_sw_ds(), seed=0), dict(seed="seed"),
       extra=[({"ds": None}, "ds"), ({"seed": 5}, "seed")]),
    Fn(SW, "stored_claims", lambda: dict(stored={"laptop-dask": _sw_ds()}, study=_sw_study()[0], settings=_sw_study()[1]),
       extra=[({"stored": None}, "stored"), ({"stored": {"x": 3}}, "stored"), ({"study": None}, "study"),
              ({"settings": None}, "settings"), ({"settings": {"steps": 2}}, "settings")]),
]

EXEMPT = {
    "theory.icl_regression.sweeps.main": "the command line: bad options exit through argparse "
                                         "(tested in tests/test_icl_regression_sweeps.py)",
    "is_infinite": "a predicate: takes any value by design and answers True only for math.inf",
    "paper_settings": "no arguments (the sizes at the active THEORY_SCALE)",
    "threshold_settings": "no arguments (the sizes at the active THEORY_SCALE)",
}

# trained_sweep's valid call trains the chapter's whole laptop sweep (800 steps, minutes): its
# refusals are cheap (the seed is checked first) and run; its valid call is the notebooks'.
_SLOW_VALID = {"trained_sweep"}

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid([f for f in TABLE if f.name not in _SLOW_VALID])


def test_table_covers_every_public_function():
    assert badinput.check_coverage("theory.icl_regression", TABLE, EXEMPT) == []


# ------------------------------------------------------------------ the known bugs of the issue

@pytest.mark.parametrize("steps", [1, 2, 3])
@pytest.mark.parametrize("warmup_frac", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_every_legal_schedule_works(steps, warmup_frac):
    from theory.icl_regression import triangle_lr, train_sweep
    rates = [triangle_lr(s, steps, 1.0, warmup_frac) for s in range(steps + 1)]
    assert all(math.isfinite(r) and 0.0 <= r <= 1.0 for r in rates)
    if not (steps == 1 and warmup_frac == 1.0):      # (one step, all warm-up: its rate is 0)
        assert max(rates[:steps]) > 0                # some update actually moves the model
    run = train_sweep([2], _cfg(), steps=steps, batch_size=2, warmup_frac=warmup_frac,
                      progress=False, device="cpu")
    assert np.all(np.isfinite(run["train_loss"]))


def test_old_schedules_are_unchanged():
    from theory.icl_regression import triangle_lr
    assert triangle_lr(0, 100, 1e-3) == 0 and triangle_lr(50, 100, 1e-3) == pytest.approx(1e-3)
    assert [triangle_lr(s, 2, 1.0) for s in range(3)] == [0, 1, 0]
    assert [triangle_lr(s, 3, 1.0, 0.9) for s in range(4)] == [0, 0.5, 1.0, 0]
    assert triangle_lr(75, 100, 1e-3) == pytest.approx(5e-4) and triangle_lr(100, 100, 1e-3) == 0


def test_paper_run_with_one_step(tmp_path):
    import json

    from theory.icl_regression.paper_run import main
    res = json.loads(main(["--steps", "1", "--out", str(tmp_path / "r.json")]).read_text())
    assert res["config"]["steps"] == 1


def test_divergence_names_the_step():
    from theory.core import DivergenceError
    from theory.icl_regression import train_sweep
    with pytest.raises(DivergenceError, match="diverged at step") as info:
        train_sweep([2], _cfg(), steps=4, batch_size=2, lr=1e30, record_every=1, progress=False)
    assert info.value.step in (1, 2, 3, 4)


def test_ridge_at_tiny_noise_and_large_task_scale_is_finite():
    from theory.icl_regression import ridge_naive, ridge_predict, sample_sequences
    s = sample_sequences(3, 8, 1e-12, D=3, seed=0, task_scale=1e3)
    for ts in (1e3, 1e6, 1e100, 1e160, 1e200):
        p = ridge_predict(s.xs, s.ys, 1e-12, task_scale=ts)
        assert torch.isfinite(p).all()
        assert torch.allclose(p, ridge_naive(s.xs, s.ys, 1e-12, task_scale=ts), rtol=1e-4, atol=1e-6)
    for ts in (1e-100, 1e-200):                        # λ huge: ŵ = 0, the prior mean
        assert torch.isfinite(ridge_predict(s.xs, s.ys, 1e-12, task_scale=ts)).all()


# ------------------------------------------------------------------ finite over the legal range

_log_sigma2 = st.floats(min_value=-300, max_value=300)


@settings(max_examples=25, deadline=None)
@given(log_sigma2=_log_sigma2, log_ts=st.floats(min_value=-150, max_value=150),
       seed=st.integers(0, 2**16))
def test_ridge_predict_is_finite_over_the_legal_range(log_sigma2, log_ts, seed):
    from theory.icl_regression import ridge_predict, sample_sequences
    s = sample_sequences(2, 6, 0.1, D=3, seed=seed)
    p, w = ridge_predict(s.xs, s.ys, 10.0 ** log_sigma2, task_scale=10.0 ** log_ts, return_w=True)
    assert torch.isfinite(p).all() and torch.isfinite(w).all()


@settings(max_examples=25, deadline=None)
@given(log_sigma2=st.floats(min_value=-150, max_value=300), seed=st.integers(0, 2**16))
def test_dmmse_is_finite_over_the_legal_range(log_sigma2, seed):
    from theory.icl_regression import dmmse_posterior, dmmse_predict, sample_pool, sample_sequences
    pool = sample_pool(5, 3, seed=seed)
    s = sample_sequences(2, 6, 0.1, pool=pool, seed=seed + 1)
    sigma2 = 10.0 ** log_sigma2
    post = dmmse_posterior(s.xs, s.ys, pool, sigma2)
    assert torch.isfinite(post).all() and torch.allclose(post.sum(-1), torch.ones(()).double())
    assert torch.isfinite(dmmse_predict(s.xs, s.ys, pool, sigma2)).all()


@settings(max_examples=25, deadline=None)
@given(log_sigma2=_log_sigma2, seed=st.integers(0, 2**16))
def test_closed_form_risks_are_finite_over_the_legal_range(log_sigma2, seed):
    from theory.icl_regression import dmmse_first_risk, ridge_risk_given_inputs, sample_pool, sample_sequences
    sigma2 = 10.0 ** log_sigma2
    r = ridge_risk_given_inputs(sample_sequences(2, 5, 0.1, D=3, seed=seed).xs, sigma2)
    assert np.all(np.isfinite(r)) and np.all(r > 0)
    # k = 1: (σ² + D)/D; while k − 1 < D the unseen directions keep (D − k + 1)/D at least
    assert r[0] == pytest.approx((sigma2 + 3) / 3) and np.all(r[:3] >= (3 - np.arange(3)) / 3 * (1 - 1e-9))
    assert np.all(np.isfinite(dmmse_first_risk(sample_pool(4, 3, seed=seed), sigma2)))


def test_stable_forms_agree_with_the_old_ones_where_those_were_finite():
    from theory.icl_regression import (dmmse_posterior, ridge_risk_given_inputs, sample_pool,
                                       sample_sequences)
    pool = sample_pool(6, 3, seed=0)
    s = sample_sequences(4, 7, 0.3, pool=pool, seed=1)
    for sigma2 in (1e-3, 0.3, 10.0):
        res2 = (s.ys[..., None] - s.xs @ pool.T) ** 2
        cum = torch.cumsum(res2, dim=1)
        lg = torch.zeros_like(cum)
        lg[:, 1:] = -cum[:, :-1] / (2 * sigma2)
        assert torch.allclose(dmmse_posterior(s.xs, s.ys, pool, sigma2), torch.softmax(lg, -1),
                              rtol=1e-12, atol=1e-15)
        outer = torch.cumsum(s.xs[..., :, None] * s.xs[..., None, :], dim=1).double()
        A = torch.zeros_like(outer)
        A[:, 1:] = outer[:, :-1]
        A = A + sigma2 * torch.eye(3, dtype=torch.float64)
        tr = torch.linalg.inv(A).diagonal(dim1=-2, dim2=-1).sum(-1)
        old = ((sigma2 + sigma2 * tr).mean(0) / 3).numpy()
        np.testing.assert_allclose(ridge_risk_given_inputs(s.xs, sigma2), old, rtol=1e-11)


@settings(max_examples=40, deadline=None)
@given(steps=st.integers(1, 50), frac=st.floats(0.0, 1.0), peak=st.floats(0.0, 1e3))
def test_triangle_lr_is_finite_over_every_legal_schedule(steps, frac, peak):
    from theory.icl_regression import triangle_lr
    rates = np.array([triangle_lr(s, steps, peak, frac) for s in range(steps + 1)])
    assert np.all(np.isfinite(rates)) and np.all(rates >= 0) and np.all(rates <= peak * (1 + 1e-12))


@settings(max_examples=40, deadline=None)
@given(a=st.floats(0.0, 1.0), scale=st.floats(1e-150, 1e150), seed=st.integers(0, 2**16))
def test_interpolation_path_is_finite(a, scale, seed):
    from theory.icl_regression import interpolation_path
    rng = np.random.default_rng(seed)
    wi, wj = scale * rng.standard_normal(3), scale * rng.standard_normal(3)
    w = interpolation_path(wi, wj, [a])
    assert np.all(np.isfinite(w))
