"""The IMP levels (Paul et al. 2023) through the sweep runner (issue 21): the same numbers as the
page's run_imp, serially, batched and on a 2-worker LocalCluster; the stored result's report."""

import dataclasses

import numpy as np
import pytest

from theory.core import open_result, run_sweep, save_result
from theory.lottery import MLP, IMPSettings, load_split, run_imp
from theory.lottery import sweeps

TINY = dict(widths=[64, 8, 10], steps=20, levels=2)


def small():
    exp = sweeps.levels_experiment("laptop")
    exp = dataclasses.replace(exp, fixed=dict(exp.fixed, **TINY),
                              coords={"level": np.arange(TINY["levels"] + 1)})
    sw = sweeps.levels_sweep("laptop", n_seed=2)
    sw = type(sw)(pruning=["magnitude", "random"], rewind=[0, 5], seed=[0, 1])
    return exp, sw


def test_runner_matches_run_imp_bit_for_bit(tmp_path):
    exp, sw = small()
    f = exp.fixed
    ref = run_imp(MLP(tuple(TINY["widths"])), load_split("digits"),
                  IMPSettings(steps=20, lr=f["lr"], batch_size=f["batch_size"], alpha=f["alpha"], levels=2),
                  seeds=(0, 1), rewind_steps=(0, 5), progress=False)
    serial = run_sweep(exp, sw, executor="serial", progress=False)
    batched = run_sweep(exp, sw, executor="batched", batch_size=3, progress=False)
    dask = run_sweep(exp, sw, executor="dask", store=tmp_path / "store", progress=False)
    col = {k: ref.sweep.column(k) for k in ("pruning", "rewind", "seed")}
    for ds in (serial, batched, dask):
        for g in range(len(ref.sweep)):
            sel = dict(pruning=col["pruning"][g], rewind=int(col["rewind"][g]), seed=int(col["seed"][g]))
            np.testing.assert_array_equal(ds["test_error"].sel(sel).values, ref.test_error[g])
            np.testing.assert_array_equal(ds["train_loss"].sel(sel).values, ref.train_loss[g])
            np.testing.assert_array_equal(ds["sparsity"].sel(sel).values, ref.sparsity[g])
    path = save_result(dask, tmp_path / "levels.zarr")
    back = open_result(path)
    np.testing.assert_array_equal(back["test_error"].values, dask["test_error"].values)
    text = sweeps.stored_report(back)
    assert "stored IMP-levels result" in text and "L* per seed" in text


def test_cli_runs_a_reduced_grid_and_refuses_bad_options(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("THEORY_RESULTS", str(tmp_path))
    assert sweeps.main(["levels", "--set", "n_seed=1", "--set", "steps=10", "--set", "levels=1",
                        "--set", "rewind=2", "--set", "pruning=magnitude"]) == 0
    assert (tmp_path / "lottery.levels-laptop-reduced.zarr").exists()
    assert "1 points (1 computed now)" in capsys.readouterr().out
    for bad in (["levels", "--set", "steps=1"], ["levels", "--set", "n_seed=0"], ["levels", "--scale", "huge"],
                ["fig9"], ["levels", "--set", "n_seed"], ["levels", "--set", "color=red"],
                ["levels", "--set", "pruning=onion"], ["levels", "--set", "rewind=900", "--set", "steps=10"]):
        with pytest.raises(SystemExit):
            sweeps.main(bad)


def synthetic(top_mag, top_rand, seeds, rewinds=(0, 20)):
    """A stored-like result whose L* per (pruning, rewind, seed) is the given table: test error
    0.1 up to level L*, then 0.5 (matching is level 0 + 0.01)."""
    import xarray as xr

    levels = 21
    err = np.full((2, len(rewinds), len(seeds), levels), 0.5)
    for i, top in enumerate((top_mag, top_rand)):
        for j in range(len(rewinds)):
            for k in range(len(seeds)):
                err[i, j, k, :np.asarray(top)[j, k] + 1] = 0.1
    from theory.core._runner import _device_name

    dims = ("pruning", "rewind", "seed")
    return xr.Dataset({"test_error": (dims + ("level",), err),
                       "device": (dims, np.full(err.shape[:3], _device_name()))},
                      coords=dict(pruning=["magnitude", "random"], rewind=list(rewinds), seed=list(seeds),
                                  level=np.arange(levels)), attrs=dict(grid="synthetic", fixed='{"steps": 800}'))


def test_stored_claims_apply_the_pages_criteria():
    mag = np.array([[17, 17, 19], [14, 18, 20]])     # k = 0, k = 20
    rand = np.array([[9, 9, 11], [10, 8, 11]])
    claims = {c["id"]: c for c in sweeps.stored_claims({"paper": synthetic(mag, rand, [0, 1, 2])})}
    assert set(claims) == {"lottery.imp_levels_paper_matching", "lottery.imp_magnitude_beats_random_stored",
                           "lottery.imp_rewind_helps_stored"}
    np.testing.assert_array_equal(claims["lottery.imp_levels_paper_matching"]["measured"], [14, 18, 20])
    np.testing.assert_array_equal(claims["lottery.imp_magnitude_beats_random_stored"]["measured"],
                                  (mag - rand).ravel())
    rew = claims["lottery.imp_rewind_helps_stored"]
    assert rew["measured"] == pytest.approx(np.mean(mag[1] - mag[0])) and rew["at_least"] == 1.0
    # on the label "paper" the rewinding check carries the page's account, with the numbers
    assert "−3" not in rew["known_failure"] and "-3 to +1 levels" in rew["known_failure"]
    assert sweeps.stored_claims({"paper-reduced": synthetic(mag, rand, [0, 1, 2])})[2]["known_failure"] is None
    # one seed or one method: only the depth check
    one = synthetic(mag[:, :1], rand[:, :1], [0])
    assert [c["id"] for c in sweeps.stored_claims({"paper": one})] == ["lottery.imp_levels_paper_matching"]
    assert sweeps.stored_claims({}) == []
    # a reduced grid at the same sizes must hold the full grid's numbers at its points
    full = synthetic(mag, rand, [0, 1, 2])
    part = full.sel(seed=[1, 2])
    got = {c["id"]: c for c in sweeps.stored_claims({"paper": full, "paper-reduced": part})}
    agree = got["lottery.imp_stored_paper_reduced_agrees"]
    np.testing.assert_array_equal(agree["measured"], agree["close_to"])
    off = part.copy(deep=True)
    off["test_error"][0, 0, 0, 3] += 0.01
    agree = {c["id"]: c for c in sweeps.stored_claims({"paper": full, "paper-reduced": off})}[
        "lottery.imp_stored_paper_reduced_agrees"]
    assert np.abs(agree["measured"] - agree["close_to"]).max() == pytest.approx(0.01)
    other = part.assign(device=part["device"].copy(data=np.full(part["device"].shape, "cpu (elsewhere)")))
    assert len(sweeps.stored_claims({"paper": full, "paper-reduced": other})) == 3


def test_rewind_finding_states_the_numbers():
    text = sweeps.rewind_finding(np.array([-3, 0, 7]))
    assert "-3 to +7 levels" in text and "mean +1.33" in text and "3 seeds" in text
    for bad in (np.array([]), np.zeros((2, 2)), np.array(["a"])):
        with pytest.raises(TypeError, match="d_rew"):
            sweeps.rewind_finding(bad)


def test_paper_sizes():
    p = sweeps.LEVELS_SIZES["paper"]
    assert p["alpha"] == 0.8 and p["levels"] == 20          # the paper's 20 % per level, 20 levels
    assert (p["widths"], p["steps"], p["n_seed"], p["rewinds"]) == ([64, 128, 128, 10], 800, 8, [0, 20])
    assert len(sweeps.levels_sweep("paper")) == 2 * 2 * 8
    assert not sweeps.levels_plan("paper").reduced and sweeps.levels_plan("paper", n_seed=1).reduced


@pytest.mark.parametrize("call, err, match", [
    (lambda: sweeps.levels_sweep("huge"), ValueError, "scale"),
    (lambda: sweeps.levels_sweep(n_seed=0), ValueError, "n_seed"),
    (lambda: sweeps.levels_sweep(pruning="x"), ValueError, "pruning"),
    (lambda: sweeps.levels_experiment(steps=1), ValueError, "steps"),
    (lambda: sweeps.levels_experiment(levels=0), ValueError, "levels"),
    (lambda: sweeps.levels_plan(rewind=-1), ValueError, "rewind"),
    (lambda: sweeps.levels_batch([]), TypeError, "configs"),
    (lambda: sweeps.levels_batch([3]), TypeError, "configs"),
    (lambda: sweeps.stored_report(None), TypeError, "ds"),
    (lambda: sweeps.highest_matching(3), TypeError, "ds"),
    (lambda: sweeps.stored_claims(3), TypeError, "stored"),
    (lambda: sweeps.stored_claims({}, tolerance=-1), ValueError, "tolerance"),
    (lambda: sweeps.stored_claims({}, min_level=-1), ValueError, "min_level"),
])
def test_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()
