"""Bad input to the embodied-behaviour chapter (issue 20): every public function, a table of invalid arguments.

The battery is :mod:`badinput`; ``python tests/badinput.py tests/test_bad_inputs_embodied.py``
prints the counts.
"""

import functools

import matplotlib

matplotlib.use("Agg")

import numpy as np

import badinput
from badinput import Fn

B = "theory.embodied.behaviour"
C = "theory.embodied.candidates"
D = "theory.embodied.data"
J = "theory.embodied.judges"
P = "theory.embodied.plots"
SW = "theory.embodied.sweeps"

BOX = (0.0, 1.0, 0.0, 1.0)


def _mod(name):
    import importlib

    return importlib.import_module(name)


@functools.lru_cache(maxsize=None)
def _walk(seed, T=60.0):
    return _mod(C).brownian(T, BOX, 0.1, seed)


@functools.lru_cache(maxsize=None)
def _trajs():
    return {"brownian": _walk(1), "forager": _mod(C).forager(60.0, BOX, 0, speed=0.1)}


def _win(seed, n=20, L=10):
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.3, 0.7, (n, 1, 2)) + np.cumsum(0.01 * rng.standard_normal((n, L, 2)), axis=1)
    return np.clip(w, 0.01, 0.99)


@functools.lru_cache(maxsize=None)
def _grid():
    return _mod(J).power_grid({"brownian": _walk(1, 600.0)}, _walk(0, 600.0), [30.0, 60.0, 120.0, 240.0],
                              judges=("features",),
                              n_repeats=1, n_permutations=9)


@functools.lru_cache(maxsize=None)
def _transfer():
    return _mod(B).transfer((20.0,), n_repeats=1, n_permutations=9, judges=("mmd",), sim_T_s=30.0, fit_s=200.0)


_SMALL = dict(source="sargolini", traj_seed=0, duration_s=60.0, seed=0, window_s=4.0, sampling="scattered",
              network_steps=5, alpha=0.05, reps_features=1, reps_mmd=1, reps_network=1, perms_features=9,
              perms_mmd=9, perms_network=9)


@functools.lru_cache(maxsize=None)
def _sweep_ds():
    from theory.core import run_sweep

    sw = _mod(SW)
    return run_sweep(sw.power_experiment("laptop", n_repeats=1, n_permutations=9, duration_s=60.0),
                     sw.power_sweep("laptop", judge="mmd", n_candidate=1, n_budget=1), progress=False)


TABLE = [
    # ---------------------------------------------------------------- data
    Fn(D, "load_real", dict(), dict(name="choice", dt="positive")),
    Fn(D, "resample", dict(t=np.arange(5.0), xy=np.full((5, 2), 0.5), dt=0.5, arena=BOX),
       dict(t="array", xy="array", dt="positive", max_gap_s="positive"),
       skip={("t", "one more dimension"): "covered by the shape check", ("xy", "one more dimension"): "covered",
             ("xy", "NaN entry"): "a NaN position is a lost sample, dropped and counted (documented)"},
       extra=[({"xy": np.ones((4, 2))}, "xy")]),
    Fn(D, "split_halves", lambda: dict(traj=_walk(0)), {}, extra=[({"traj": 3}, "traj")]),
    Fn(D, "windows", lambda: dict(traj=_walk(0), length_s=2.0),
       dict(length_s="positive", stride_s="positive?"), extra=[({"traj": 3}, "traj"), ({"length_s": 1e6}, "length_s")]),
    Fn(D, "features", dict(windows=_win(0), arena=BOX), dict(windows="array", dt="positive", near_wall_m="non_negative"),
       skip={("windows", "one more dimension"): "covered by the (n, L, 2) check"}),
    # ---------------------------------------------------------------- candidates
    Fn(C, "brownian", dict(T_s=10.0, arena=BOX, speed=0.1, seed=0),
       dict(T_s="positive", speed="positive", seed="seed", dt="positive"),
       extra=[({"arena": (1.0, 0.0, 0.0, 1.0)}, "arena"), ({"T_s": 1e12}, "needs about")]),
    Fn(C, "forager", dict(T_s=10.0, arena=BOX, seed=0, speed=0.1),
       dict(T_s="positive", seed="seed", speed="positive", dt="positive"),
       extra=[({"T_s": 1e12}, "needs about")]),
    Fn(C, "ratinabox_default", dict(T_s=5.0, arena=BOX, seed=0),
       dict(T_s="positive", seed="seed", dt="positive", agent_dt="positive"),
       extra=[({"T_s": 1e12}, "needs about")]),
    Fn(C, "fit_policy", lambda: dict(traj_train=_walk(0, 120.0), lags=2, n_components=1, n_knots=4),
       dict(lags="positive_int", n_components="positive_int", n_knots="positive_int", wall_scale="positive",
            s0="positive"), extra=[({"traj_train": 3}, "traj_train")]),
    # ---------------------------------------------------------------- judges
    Fn(J, "classifier_test", dict(windows_a=_win(0), windows_b=_win(1), arena=BOX, dt=0.1, n_permutations=9),
       dict(windows_a="array", windows_b="array", judge="choice", dt="positive?", n_permutations="positive_int",
            seed="seed", test_fraction="unit", split="choice", l2="positive", newton_steps="positive_int",
            perm_batch="positive_int?"),
       skip={("windows_a", "one more dimension"): "covered", ("windows_b", "one more dimension"): "covered"}),
    Fn(J, "mmd_test", dict(windows_a=_win(0), windows_b=_win(1), arena=BOX, dt=0.1, n_permutations=9),
       dict(windows_a="array", windows_b="array", kernel="choice", dt="positive?", n_permutations="positive_int",
            seed="seed", perm_batch="positive_int?"),
       skip={("windows_a", "one more dimension"): "covered", ("windows_b", "one more dimension"): "covered"}),
    Fn(J, "judge_test", dict(windows_a=_win(0), windows_b=_win(1), judge="mmd", arena=BOX, dt=0.1,
                             n_permutations=9),
       dict(windows_a="array", windows_b="array", judge="choice", n_permutations="positive_int", seed="seed"),
       skip={("windows_a", "one more dimension"): "covered", ("windows_b", "one more dimension"): "covered"}),
    Fn(J, "power", lambda: dict(candidate=_walk(1, 300.0), real=_walk(0, 300.0), budgets_s=[20.0], n_repeats=1,
                                n_permutations=9),
       dict(judge="choice", n_repeats="positive_int", seed="seed", window_s="positive?", stride_s="positive?",
            n_permutations="positive_int", alpha="unit", sampling="choice", show_progress="bool"),
       extra=[({"budgets_s": [1e9]}, "budgets_s")]),
    Fn(J, "power_grid", lambda: dict(candidates={"b": _walk(1, 300.0)}, living=_walk(0, 300.0), budgets_s=[20.0],
                                     judges=("features",), n_repeats=1, n_permutations=9),
       dict(seed="seed", window_s="positive", sampling="choice", show_progress="bool"),
       extra=[({"judges": ("bogus",)}, "judges"), ({"candidates": 3}, "candidates")]),
    Fn(J, "summary", lambda: dict(results=_grid()), {}, extra=[({"results": 3}, "results")]),
    # ---------------------------------------------------------------- behaviour
    Fn(B, "step_statistics", lambda: dict(traj=_walk(0)), {}, extra=[({"traj": 3}, "traj")]),
    Fn(B, "distance_table", lambda: dict(real=_walk(0), trajs=_trajs()), dict(bins="positive_int"),
       extra=[({"trajs": [3]}, "trajs")]),
    Fn(B, "feature_table", lambda: dict(trajs=_trajs(), window_s=4.0), dict(window_s="positive"),
       extra=[({"trajs": 3}, "trajs")]),
    Fn(B, "effects", lambda: dict(real=_walk(0), trajs=_trajs(), window_s=4.0), dict(window_s="positive"),
       extra=[({"real": 3}, "real")]),
    Fn(B, "effects_figure", lambda: dict(table=_mod(B).effects(_walk(0), _trajs(), 4.0)), {},
       extra=[({"table": 3}, "table")]),
    Fn(B, "judge_table", lambda: dict(trajs=_trajs(), real=_walk(0), window_s=4.0, judges=("mmd",), seeds=(0,),
                                      n_permutations=9),
       dict(window_s="positive", seeds="seeds", n_permutations="positive_int"),
       extra=[({"judges": ("bogus",)}, "judges")]),
    Fn(B, "likelihood_table", lambda: dict(models={"brownian": _mod(C).Brownian.fit(_walk(0))},
                                           held_out={"held-out": _walk(1)}), {},
       extra=[({"models": 3}, "models"), ({"held_out": 3}, "held_out")]),
    Fn(B, "simulate_candidates", lambda: dict(train=_walk(0, 120.0), T_s=5.0, ratinabox_T_s=5.0),
       dict(T_s="positive", seed="seed", ratinabox_T_s="positive?"), extra=[({"train": 3}, "train")]),
    Fn(B, "statistics_figure", lambda: dict(real=_walk(0), trajs=_trajs()), {}, extra=[({"trajs": 3}, "trajs")]),
    Fn(B, "trajectories_figure", lambda: dict(trajs=_trajs(), seconds=10.0), dict(seconds="positive"),
       extra=[({"trajs": 3}, "trajs")]),
    Fn(B, "transfer", dict(budgets_s=(20.0,), n_repeats=1, n_permutations=9, judges=("mmd",), sim_T_s=30.0,
                           fit_s=200.0),
       dict(window_s="positive", n_repeats="positive_int", n_permutations="positive_int", sim_T_s="positive",
            fit_s="positive?", sampling="choice", seed="seed", show_progress="bool")),
    Fn(B, "power_table", lambda: dict(study=_transfer()), {}, extra=[({"study": 3}, "study")]),
    Fn(B, "transfer_figure", lambda: dict(study=_transfer(), judge="mmd"), dict(judge="choice"),
       extra=[({"study": None}, "study")]),
    # ---------------------------------------------------------------- plots
    Fn(P, "candidate_set", dict(duration_s=20.0), dict(name="choice", seed="seed", duration_s="positive?")),
    Fn(P, "power_figure", lambda: dict(results=_grid(), judges=("features",)), {},
       extra=[({"results": 3}, "results"), ({"judges": ("bogus",)}, "judges")]),
    Fn(P, "trajectories_figure", lambda: dict(trajectories=_trajs(), seconds=10.0), dict(seconds="positive"),
       extra=[({"trajectories": 3}, "trajectories")]),
    Fn(P, "use_in_explorer", lambda: dict(results=_grid(), trajectories={**_trajs(), "living": _walk(0)}), {},
       extra=[({"results": 3}, "results"), ({"trajectories": 3}, "trajectories")]),
    # ---------------------------------------------------------------- sweeps
    Fn(SW, "power_point", dict(_SMALL, candidate="real", judge="mmd", budget_s=30.0),
       dict(candidate="choice", judge="choice", budget_s="positive", seed="seed", traj_seed="seed",
            duration_s="positive?", reps_features="positive_int", reps_mmd="positive_int",
            reps_network="positive_int", perms_features="positive_int", perms_mmd="positive_int",
            perms_network="positive_int", network_steps="positive_int", source="choice", window_s="positive",
            alpha="unit", sampling="choice"),
       extra=[({"budget_s": 1e6}, "budgets_s")]),
    Fn(SW, "power_sweep", dict(scale="laptop", judge="mmd", n_candidate=1, n_budget=1),
       dict(scale="choice", judge="choice", n_candidate="positive_int?", n_budget="positive_int?"),
       skip={("judge", "None"): "None is every judge (documented)"},
       extra=[({"n_candidate": 6}, "n_candidate"), ({"n_budget": 5}, "n_budget")]),
    Fn(SW, "power_experiment", dict(scale="laptop", n_repeats=1, n_permutations=9, duration_s=60.0),
       dict(scale="choice", n_repeats="positive_int?", n_permutations="positive_int?", duration_s="positive?")),
    Fn(SW, "power_plan", dict(scale="laptop", judge="mmd", n_candidate=1, n_budget=1, n_repeats=1, n_permutations=9,
                              duration_s=60.0),
       dict(scale="choice", judge="choice", n_candidate="positive_int?", n_budget="positive_int?",
            n_repeats="positive_int?", n_permutations="positive_int?", duration_s="positive?"),
       skip={("judge", "None"): "None is every judge (documented)"}),
    Fn(SW, "stored_power", dict(labels=("paper",)), extra=[({"labels": "paper"}, "labels"), ({"labels": [3]}, "labels")]),
    Fn(SW, "stored_report", lambda: dict(ds=_sweep_ds()), extra=[({"ds": None}, "ds"), ({"ds": 3}, "ds")]),
    Fn(SW, "stored_claims", lambda: dict(stored={"paper-reduced": _sweep_ds()}),
       extra=[({"stored": None}, "stored"), ({"stored": {"paper": 3}}, "stored"), ({"stored": {3: 3}}, "stored")]),
]

EXEMPT = {"main": "the command line: bad options exit through argparse (tested in tests/test_embodied_sweeps.py)"}

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid(TABLE)


def test_table_covers_every_public_function():
    assert badinput.check_coverage("theory.embodied", TABLE, EXEMPT) == []


# ------------------------------------------------------------------- simulators stay finite and inside
from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(speed=st.floats(1e-6, 1e3), seed=st.integers(0, 2**63 - 1), T_s=st.floats(0.2, 30.0))
def test_brownian_finite_and_inside_the_arena_for_any_speed(speed, seed, T_s):
    tr = _mod(C).brownian(T_s, BOX, speed, seed)
    assert np.all(np.isfinite(tr.xy))
    assert np.all((tr.xy >= 0.0) & (tr.xy <= 1.0))
