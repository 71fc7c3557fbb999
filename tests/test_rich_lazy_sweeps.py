"""Fig. 1b through the sweep runner (issue 21): the same numbers as the page's phase_diagram,
serially, batched and on a 2-worker LocalCluster; the stored result read back as a PhaseDiagram."""

import dataclasses

import numpy as np
import pytest

from theory.core import open_result, run_sweep, save_result
from theory.rich_lazy import sweeps
from theory.rich_lazy import two_layer as tl


def small():
    exp = sweeps.fig1b_experiment("laptop", steps=40)
    exp = dataclasses.replace(exp, fixed=dict(exp.fixed, d=5, n=20, n_test=30))
    return exp, sweeps.fig1b_sweep("laptop", n_tau=3, n_seed=2)


def test_runner_matches_phase_diagram_bit_for_bit(tmp_path):
    exp, sw = small()
    ref = tl.phase_diagram(n_tau=3, n_seed=2, d=5, n=20, steps=40, n_test=30)
    serial = run_sweep(exp, sw, executor="serial")
    batched = run_sweep(exp, sw, executor="batched", batch_size=5)
    dask = run_sweep(exp, sw, executor="dask", store=tmp_path / "store")
    for ds in (serial, batched, dask):
        pd = sweeps.phase_diagram_from_dataset(ds, exp)
        np.testing.assert_array_equal(pd.S, ref.S)
        np.testing.assert_array_equal(pd.test, ref.test)
        np.testing.assert_array_equal(pd.steps, ref.steps)
    path = save_result(dask, tmp_path / "fig1b.zarr")
    back = sweeps.phase_diagram_from_dataset(open_result(path), exp)
    np.testing.assert_array_equal(back.S, ref.S)
    assert back.result.meta["stored"] and "commits" in back.result.meta


def test_cli_runs_a_reduced_grid_and_refuses_bad_options(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("THEORY_RESULTS", str(tmp_path))
    assert sweeps.main(["fig1b", "--set", "n_tau=2", "--set", "n_seed=1", "--set", "steps=10"]) == 0
    assert (tmp_path / "rich_lazy.fig1b-laptop-reduced.zarr").exists()
    assert "4 points (4 computed now)" in capsys.readouterr().out
    for bad in (["fig1b", "--set", "steps=3"], ["fig1b", "--set", "n_tau=1"], ["fig1b", "--scale", "huge"],
                ["fig9"], ["fig1b", "--set", "n_tau"], ["fig1b", "--set", "color=red"], ["fig1b", "--batch-size", "0"]):
        with pytest.raises(SystemExit):
            sweeps.main(bad)


@pytest.mark.parametrize("call, err, match", [
    (lambda: sweeps.fig1b_sweep("huge"), ValueError, "scale"),
    (lambda: sweeps.fig1b_sweep(n_tau=1), ValueError, "n_tau"),
    (lambda: sweeps.fig1b_experiment(steps=5), ValueError, "steps"),
    (lambda: sweeps.fig1b_experiment(lr_scale=0.0), ValueError, "lr_scale"),
    (lambda: sweeps.fig1b_records(100, n_records=1), ValueError, "n_records"),
    (lambda: sweeps.fig1b_batch([]), TypeError, "configs"),
    (lambda: sweeps.fig1b_batch([3]), TypeError, "configs"),
    (lambda: sweeps.phase_diagram_from_dataset(run_sweep(*small())[["kernel_distance"]].isel(seed=0, drop=True),
                                               small()[0]), ValueError, "seed"),
])
def test_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()


def test_paper_sizes_are_the_papers():
    p = sweeps.FIG1B_SIZES["paper"]
    assert (p["n_tau"], p["n_seed"], p["m"], p["d"], p["n"], p["steps"]) == (17, 16, 50, 100, 1000, 100_000)
    assert len(sweeps.fig1b_sweep("paper")) == 17 * 17 * 16


# ---- the bad-input battery for this module, and the whole package's coverage ----------------
import badinput  # noqa: E402
from badinput import Fn  # noqa: E402

M = "theory.rich_lazy.sweeps"
_SMALL = dict(d=5, n=20, m=4, n_test=10, steps=10, lr_scale=0.01, n_records=2)
TABLE = [
    Fn(M, "fig1b_records", dict(steps=100, n_records=3), dict(steps="positive_int", n_records="positive_int")),
    Fn(M, "fig1b_sweep", dict(scale="laptop", n_tau=2, n_seed=1),
       dict(scale="choice", n_tau="positive_int?", n_seed="positive_int?")),
    Fn(M, "fig1b_experiment", dict(scale="laptop", steps=20, lr_scale=0.01, n_records=2),
       dict(scale="choice", steps="positive_int?", lr_scale="positive", n_records="positive_int")),
    Fn(M, "fig1b_point", dict(seed=0, tau=0.5, delta=0.0, **_SMALL),
       dict(seed="seed", tau="positive", delta="real")),
    Fn(M, "fig1b_batch", dict(configs=[dict(_SMALL, seed=0, tau=0.5, delta=0.0)]),
       extra=[({"configs": []}, "configs"), ({"configs": 3}, "configs"), ({"configs": [3]}, "configs"),
              ({"configs": [dict(_SMALL, seed=-1, tau=0.5, delta=0.0)]}, "seed")]),
    Fn(M, "stored_fig1b", dict(labels=("paper",)), extra=[({"labels": "paper"}, "labels"),
                                                          ({"labels": [3]}, "labels")]),
    Fn(M, "fig1b_plan", dict(scale="laptop", n_tau=2, n_seed=1, steps=20, lr_scale=0.01),
       dict(scale="choice", n_tau="positive_int?", n_seed="positive_int?", steps="positive_int?",
            lr_scale="positive")),
    Fn(M, "stored_report", lambda: dict(ds=run_sweep(*small(), progress=False)),
       extra=[({"ds": None}, "ds"), ({"ds": 3}, "ds")]),
    Fn(M, "phase_diagram_from_dataset", lambda: dict(ds=run_sweep(*small(), progress=False),
                                                     experiment=small()[0]),
       extra=[({"experiment": "x"}, "experiment")]),
]
EXEMPT = {"main": "the command line: bad options exit through argparse (test_cli_... above)"}

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid(TABLE)


def test_rich_lazy_tables_cover_every_public_function():
    import importlib

    tables, exempt = list(TABLE), dict(EXEMPT)
    for name in ("test_bad_inputs_rich_lazy_exact", "test_bad_inputs_rich_lazy_networks"):
        mod = importlib.import_module(name)
        tables += mod.TABLE
        exempt.update(mod.EXEMPT)
    assert badinput.check_coverage("theory.rich_lazy", tables, exempt) == []
