"""The max-margin sweep through the runner (issue 21): the page's numbers bit for bit, serially,
batched and on a 2-worker LocalCluster; stored results read back; the CLI."""

import numpy as np
import pytest

from theory.core import open_result, run_sweep, save_result
from theory.quasi_homogeneous import flow, maxmargin as mm, models, sweeps


def small():
    return sweeps.maxmargin_experiment("laptop", steps=40), sweeps.maxmargin_sweep("laptop", n_seed=3)


def test_runner_matches_the_page_bit_for_bit(tmp_path):
    exp, sw = small()
    X, y = mm.theorem_data(16, seed=0)
    toy = models.mixed_depth(1, 1)
    qh = mm.solve_max_margin(toy, X, y, n_starts=8, seed=0)
    run = flow.normalised_flow(toy, X, y, toy.init(8, seed=1, scale=0.1), steps=40, n_record=50, progress=False)
    ang = flow.angles_to(toy, X, y, run, qh.theta)
    serial = run_sweep(exp, sw, executor="serial", progress=False)
    batched = run_sweep(exp, sw, executor="batched", batch_size=2, progress=False)
    dask = run_sweep(exp, sw, executor="dask", store=tmp_path / "store", progress=False)
    for ds in (serial, batched, dask):
        d = ds.isel(init_scale=0)
        # the flow is bit for bit the page's; the angle to the SLSQP solution agrees to ~1e-9
        # relative only (angles_to over 8 rows vs 1 row: not bit-identical, measured 2.8e-9)
        np.testing.assert_allclose(d["angle_qh"].transpose("seed", "step").values, ang[:3], rtol=1e-7)
        np.testing.assert_array_equal(d["q_min"].transpose("seed", "step").values, run.q_min[:3])
        np.testing.assert_array_equal(d["step"].values, run.steps)
    back = open_result(save_result(dask, tmp_path / "mm.zarr"))
    np.testing.assert_array_equal(back["tau"].values, dask["tau"].values)
    assert "init scale" in sweeps.stored_report(back)
    # the page's stored claims: the bounds on the first result, and stored = live where the
    # result was stored on this kind of device (here) and flowed the page's number of steps
    claims = {c["id"]: c for c in sweeps.stored_claims({"paper": back}, 40, float(ang[0, -1]))}
    assert set(claims) == {"quasi_homogeneous.theorem_any_init_scale", "quasi_homogeneous.theorem_any_init_scale_not_euclidean",
                           "quasi_homogeneous.theorem_stored_reproduces"}
    rep = claims["quasi_homogeneous.theorem_stored_reproduces"]
    assert abs(rep["measured"] - rep["close_to"]) <= rep["atol"]
    assert len(sweeps.stored_claims({"paper": back}, 41, 0.0)) == 2            # other step count
    elsewhere = back.assign(device=back["device"].copy(data=np.full(back["device"].shape, "cpu (another, AVX512)")))
    assert len(sweeps.stored_claims({"paper": elsewhere}, 40, float(ang[0, -1]))) == 2
    assert "another" in sweeps.stored_report(elsewhere) and "not expected" in sweeps.stored_report(elsewhere)
    with pytest.raises(ValueError, match="steps"):
        sweeps.stored_claims({"paper": back}, 0, 0.0)
    with pytest.raises(TypeError, match="stored"):
        sweeps.stored_claims([back], 40, 0.0)


def test_cli_runs_a_reduced_grid_and_refuses_bad_options(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("THEORY_RESULTS", str(tmp_path))
    assert sweeps.main(["maxmargin", "--set", "n_seed=2", "--set", "steps=10"]) == 0
    assert (tmp_path / "quasi_homogeneous.maxmargin-laptop-reduced.zarr").exists()
    assert "2 points" in capsys.readouterr().out
    for bad in (["maxmargin", "--set", "steps=3"], ["maxmargin", "--set", "n_seed=0"], ["maxmargin", "--scale", "huge"],
                ["fig9"], ["maxmargin", "--set", "n_seed"], ["maxmargin", "--set", "color=red"]):
        with pytest.raises(SystemExit):
            sweeps.main(bad)


def test_paper_sizes_are_the_books_choice():
    p = sweeps.MAXMARGIN_SIZES["paper"]
    assert (p["n_seed"], p["steps"], p["n"], len(p["init_scales"])) == (8, 30000, 16, 4)
    assert len(sweeps.maxmargin_sweep("paper")) == 32
    assert sweeps.maxmargin_plan("paper", n_seed=2).reduced and not sweeps.maxmargin_plan("paper").reduced


@pytest.mark.parametrize("call, err, match", [
    (lambda: sweeps.maxmargin_sweep("huge"), ValueError, "scale"),
    (lambda: sweeps.maxmargin_sweep(n_seed=0), ValueError, "n_seed"),
    (lambda: sweeps.maxmargin_sweep("paper", n_scale=9), ValueError, "n_scale"),
    (lambda: sweeps.maxmargin_experiment(steps=5), ValueError, "steps"),
    (lambda: sweeps.maxmargin_batch([]), TypeError, "configs"),
    (lambda: sweeps.maxmargin_batch([3]), TypeError, "configs"),
    (lambda: sweeps.maxmargin_point(-1, 0.1, n=16, steps=10, n_record=2), ValueError, "seed"),
    (lambda: sweeps.maxmargin_point(0, 0.0, n=16, steps=10, n_record=2), ValueError, "init_scale"),
    (lambda: sweeps.stored_report(None), TypeError, "ds"),
])
def test_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()
