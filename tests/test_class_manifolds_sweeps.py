"""The class-manifold sweep through the runner (issue 21): the page's cut_study numbers, serially
and on a 2-worker LocalCluster; the stored result's report; the CLI."""

import dataclasses

import numpy as np
import pytest

from theory.class_manifolds import sweeps
from theory.class_manifolds.classifiers import cut_study
from theory.class_manifolds.models import load_data, train_classifiers
from theory.core import open_result, run_sweep, save_result

TINY = dict(hidden=(16,), train_steps=20, n_repeats=2, steps=10)


def small():
    exp = sweeps.class_dim_experiment("laptop", n_repeats=2, train_steps=20, steps=10)
    exp = dataclasses.replace(exp, fixed=dict(exp.fixed, hidden=(16,)))
    return exp, sweeps.class_dim_sweep("laptop", n_class=2, n_seed=1)


def test_runner_matches_the_pages_cut_study_bit_for_bit(tmp_path):
    exp, sw = small()
    clf = train_classifiers(load_data("digits"), hidden=(16,), seeds=(0,), steps=20, progress=False)
    serial = run_sweep(exp, sw, executor="serial")
    dask = run_sweep(exp, sw, executor="dask", store=tmp_path / "store")
    for c in (0, 1):
        ref = cut_study(clf, 0, target_sets=[(c,)], n_repeats=2, seed=0, steps=10)
        for ds in (serial, dask):
            got = ds.sel(seed=0, target=c)
            np.testing.assert_array_equal(got["best_score"].values, ref.search["best_score"].values[:, :, 0])
            np.testing.assert_array_equal(got["d50"].values, ref.fits[0].d50)
    np.testing.assert_array_equal(serial["best_score"].values, dask["best_score"].values)
    path = save_result(dask, tmp_path / "cd.zarr")
    report = sweeps.stored_report(open_result(path))
    assert "d*50" in report and "commit" in report


def test_cli_runs_a_reduced_grid_and_refuses_bad_options(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORY_RESULTS", str(tmp_path))
    assert sweeps.main(["class_dim", "--executor", "serial", "--set", "n_class=1", "--set", "n_repeats=2", "--set", "train_steps=5",
                        "--set", "steps=5"]) == 0
    assert (tmp_path / "class_manifolds.class_dim-laptop-reduced.zarr").exists()
    with pytest.raises(SystemExit):
        sweeps.main(["class_dim", "--scale", "huge"])
    with pytest.raises(SystemExit):
        sweeps.main(["class_dim", "--set", "n_class=0"])


def test_paper_sizes_are_the_pages_paper_setup():
    p = sweeps.CLASS_DIM_SIZES["paper"]
    assert p["hidden"] == (256, 256) and p["train_steps"] == 1500 and p["n_repeats"] == 32
    assert p["n_seed"] == 3 and p["n_class"] == 10 and p["steps"] == 300  # official notebook: ≤ 300 Adam steps
    plan = sweeps.class_dim_plan("paper")
    assert not plan.reduced and len(plan.sweep) == 30
    assert sweeps.class_dim_plan("paper", n_seed=1).reduced


@pytest.mark.parametrize("call, name", [
    (lambda: sweeps.class_dim_sweep("huge"), "scale"),
    (lambda: sweeps.class_dim_sweep(n_class=11), "n_class"),
    (lambda: sweeps.class_dim_experiment(n_repeats=0), "n_repeats"),
    (lambda: sweeps.class_dim_experiment(dataset="cifar"), "dataset"),
    (lambda: sweeps.class_dim_point(0, 10, **TINY), "target"),
    (lambda: sweeps.class_dim_point(-1, 0, **TINY), "seed"),
    (lambda: sweeps.class_dim_plan(steps=0), "steps"),
])
def test_bad_arguments_name_themselves(call, name):
    with pytest.raises((ValueError, TypeError), match=name):
        call()


def test_stored_report_refuses_a_non_result():
    with pytest.raises(TypeError, match="ds"):
        sweeps.stored_report(42)
    with pytest.raises(TypeError, match="labels"):
        sweeps.stored_class_dim("paper")
