"""The trainability grid through the sweep runner (issue 21): the same numbers as the page's
train_transformers, serially and on a 2-worker LocalCluster; stored and read back."""

import dataclasses

import numpy as np
import pytest

from theory.core import open_result, run_sweep, save_result
from theory.transformer_signal import PAPER_MODEL, sweeps, train_transformers, trainability_summary


def small():
    exp = sweeps.trainability_experiment("laptop", steps=6, depth=2, d=8)
    exp = dataclasses.replace(exp, fixed=dict(exp.fixed, batch=4, test_batch=16))
    return exp, sweeps.trainability_sweep("laptop", n_alpha=2, n_sigma=1, n_seed=2)


def test_runner_matches_the_pages_training_bit_for_bit(tmp_path):
    exp, sw = small()
    ref = train_transformers(sw, sigma_A=1.0, n=8, d=8, depth=2, vocab=4, steps=6, batch=4, lr=3e-3,
                             test_batch=16, **PAPER_MODEL)
    want = trainability_summary(ref)
    serial = run_sweep(exp, sw, executor="serial", progress=False)
    dask = run_sweep(exp, sw, executor="dask", store=tmp_path / "store", progress=False)
    # point by point, serially and on Dask, the numbers are identical; against the page's batched
    # run (two networks in one program) they agree to float32 rounding: bit for bit on the CPU the
    # test was written on, one ulp apart in one loss on an AVX2 machine (4.9e-8 relative, measured)
    for name in ("test_loss", "train_loss", "diverged"):
        np.testing.assert_array_equal(dask[name].values, serial[name].values)
    for ds in (serial, dask):
        np.testing.assert_allclose(ds["test_loss"].transpose("alpha", "sigma_w", "seed").values.ravel(),
                                   np.asarray(ref["test_loss"])[:, -1], rtol=4 * np.finfo(np.float32).eps, atol=0)
        got = sweeps.trainability_from_dataset(ds)
        np.testing.assert_allclose(got.test_loss, want.test_loss, rtol=4 * np.finfo(np.float32).eps, atol=0)
        np.testing.assert_allclose(got.train_loss, want.train_loss, rtol=4 * np.finfo(np.float32).eps, atol=0)
        np.testing.assert_array_equal(got.diverged, want.diverged)
    claims = sweeps.stored_claims({"laptop-dask": dask, "paper": dask}, ref)
    assert [c["id"] for c in claims] == ["transformer_signal.stored_laptop_dask_reproduces",
                                         "transformer_signal.stored_paper_reproduces",
                                         "transformer_signal.full_grid_stored"]
    np.testing.assert_allclose(claims[0]["measured"], claims[0]["close_to"], rtol=4 * np.finfo(np.float32).eps)
    other = dask.isel(seed=[0])                      # another grid than the page's: no claim
    assert sweeps.stored_claims({"laptop-dask": other}, ref) == []
    with pytest.raises(TypeError, match="stored"):
        sweeps.stored_claims({"x": 3}, ref)
    with pytest.raises(TypeError, match="res"):
        sweeps.stored_claims({}, None)
    back = open_result(save_result(dask, tmp_path / "t.zarr"))
    np.testing.assert_array_equal(sweeps.trainability_from_dataset(back).test_loss,
                                  sweeps.trainability_from_dataset(dask).test_loss)
    text = sweeps.stored_report(back)
    assert "stored trainability result" in text and "diverged" in text


def test_cli_runs_a_reduced_grid_and_refuses_bad_options(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("THEORY_RESULTS", str(tmp_path))
    assert sweeps.main(["trainability", "--set", "n_alpha=1", "--set", "n_sigma=2", "--set", "n_seed=1",
                        "--set", "steps=3", "--set", "depth=1", "--set", "d=4"]) == 0
    assert (tmp_path / "transformer_signal.trainability-laptop-reduced.zarr").exists()
    assert "2 points (2 computed now)" in capsys.readouterr().out
    for bad in (["trainability", "--set", "steps=0"], ["trainability", "--set", "n_alpha=9"],
                ["trainability", "--scale", "huge"], ["fig9"], ["trainability", "--set", "n_alpha"],
                ["trainability", "--set", "color=red"]):
        with pytest.raises(SystemExit):
            sweeps.main(bad)


def test_paper_sizes_are_the_pages_paper_scale():
    p = sweeps.TRAINABILITY_SIZES["paper"]
    assert (p["depth"], p["d"], p["steps"], p["batch"], p["n_seed"]) == (32, 128, 3000, 128, 3)
    sw = sweeps.trainability_sweep("paper")
    assert len(sw) == 6 * 6 * 3
    np.testing.assert_allclose(sw.axes["alpha"], np.linspace(0.1, 1.0, 6))
    assert not sweeps.trainability_plan("paper").reduced and sweeps.trainability_plan("paper", steps=5).reduced


@pytest.mark.parametrize("call, err, match", [
    (lambda: sweeps.trainability_sweep("huge"), ValueError, "scale"),
    (lambda: sweeps.trainability_sweep(n_alpha=0), ValueError, "n_alpha"),
    (lambda: sweeps.trainability_experiment(steps=0), ValueError, "steps"),
    (lambda: sweeps.trainability_point(alpha=2.0, sigma_w=1.0, seed=0, **small()[0].fixed), ValueError, "alpha"),
    (lambda: sweeps.stored_report(3), TypeError, "ds"),
    (lambda: sweeps.trainability_from_dataset(None), TypeError, "ds"),
])
def test_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()
