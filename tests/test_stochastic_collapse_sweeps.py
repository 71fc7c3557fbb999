"""The Fig. 3 batch-size sweep through the runner (issue 21): the same numbers serially, batched,
on a 2-worker LocalCluster and as the page's own train_mlp call; stored results read back."""

import dataclasses

import numpy as np
import pytest

from theory.core import Sweep, open_result, run_sweep, save_result
from theory.stochastic_collapse import load_digits_data, sweeps
from theory.stochastic_collapse.deep import train_mlp


def small():
    exp = sweeps.collapse_experiment("laptop", steps=20)
    exp = dataclasses.replace(exp, fixed=dict(exp.fixed, hidden=8))
    return exp, sweeps.collapse_sweep("laptop", n_batch=2, n_seed=2)


def test_runner_matches_the_page_bit_for_bit(tmp_path):
    exp, sw = small()
    data = load_digits_data(test_fraction=0.25, seed=0)
    # the page's call (deep_experiments.collapse_sweeps, "batch_size") at these sizes
    ref = train_mlp(data=data, sweep=Sweep(batch_size=[16, 32], seed=[0, 1]), lr=0.2, hidden=8,
                    weight_decay=5e-3, steps=20, progress=False)
    serial = run_sweep(exp, sw, executor="serial")
    batched = run_sweep(exp, sw, executor="batched", batch_size=3)
    dask = run_sweep(exp, sw, executor="dask", store=tmp_path / "store")
    for ds in (serial, batched, dask):
        for k in sweeps.METRICS:
            got = ds[k].transpose("batch_size", "seed", ...).values.reshape(ref[k].shape)
            np.testing.assert_array_equal(got, ref[k])
    np.testing.assert_array_equal(serial["step"].values, ref.steps)
    path = save_result(dask, tmp_path / "c.zarr")
    back = open_result(path)
    np.testing.assert_array_equal(back["independent"].values, serial["independent"].values)
    text = sweeps.stored_report(back)
    assert "B = 16" in text and "Spearman" in text and "commit" in text


def test_cli_runs_a_reduced_grid_and_refuses_bad_options(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("THEORY_RESULTS", str(tmp_path))
    assert sweeps.main(["collapse", "--set", "n_batch=2", "--set", "n_seed=1", "--set", "steps=5"]) == 0
    assert (tmp_path / "stochastic_collapse.collapse-laptop-reduced.zarr").exists()
    assert "2 points (2 computed now)" in capsys.readouterr().out
    assert "stochastic_collapse.collapse-laptop-reduced" not in str(sweeps.stored_collapse())
    assert set(sweeps.stored_collapse(("laptop-reduced",))) == {"laptop-reduced"}
    for bad in (["collapse", "--set", "steps=0"], ["collapse", "--set", "n_batch=9"],
                ["collapse", "--scale", "huge"], ["fig9"], ["collapse", "--set", "n_seed"],
                ["collapse", "--set", "color=red"], ["collapse", "--batch-size", "0"]):
        with pytest.raises(SystemExit):
            sweeps.main(bad)


def _stored_like(table):
    """A stored-like result whose final independent fraction per (batch size, seed) is ``table``."""
    import xarray as xr

    t = np.asarray(table, dtype=float)
    ind = np.broadcast_to(t[:, :, None, None], t.shape + (2, 2)).copy()
    return xr.Dataset({"independent": (("batch_size", "seed", "step", "layer"), ind)},
                      coords=dict(batch_size=[32, 64, 128][:t.shape[0]], seed=list(range(t.shape[1]))),
                      attrs=dict(grid="synthetic"))


def test_stored_claims_seed_mean_and_per_seed():
    rising = _stored_like([[0.60, 0.62], [0.63, 0.60], [0.64, 0.63]])  # seed 1 dips at B = 64
    claims = {c["id"]: c for c in sweeps.stored_claims({"paper": rising, "laptop-dask": rising})}
    assert set(claims) == {"stochastic_collapse.deep_batch_more_independent_paper",
                           "stochastic_collapse.deep_batch_more_independent_per_seed_paper"}
    assert claims["stochastic_collapse.deep_batch_more_independent_paper"]["measured"].tolist() == [1.0]
    per = claims["stochastic_collapse.deep_batch_more_independent_per_seed_paper"]
    np.testing.assert_allclose(per["measured"], [1.0, 0.5])
    assert "+1.00, +0.50" in per["known_failure"] and "(0 not positive)" in per["known_failure"]
    reduced = sweeps.stored_claims({"paper-reduced": rising})
    assert reduced[1]["known_failure"] is None          # only the paper grid's failure is known
    assert [c["id"] for c in sweeps.stored_claims({"paper": rising.isel(seed=[0])})] == [
        "stochastic_collapse.deep_batch_more_independent_paper"]
    assert sweeps.stored_claims({"paper": rising.isel(batch_size=[0])}) == []
    with pytest.raises(TypeError, match="stored"):
        sweeps.stored_claims([rising])


def test_paper_sizes_are_the_pages_paper_scale():
    from theory.stochastic_collapse.deep_experiments import DeepSetup

    p = sweeps.COLLAPSE_SIZES["paper"]
    assert p["batches"] == [32, 64, 128, 256, 512]             # the paper's Fig. 3 range
    assert (p["hidden"], p["steps"], p["weight_decay"], p["n_seed"]) == (128, 80_000, 5e-4, 8)
    lap = DeepSetup.at_scale()                                 # the tests run at laptop scale
    q = sweeps.COLLAPSE_SIZES["laptop"]
    assert (q["batches"], q["hidden"], q["steps"], q["weight_decay"], q["lr"], q["n_seed"]) == (
        lap.batches.tolist(), lap.hidden, lap.steps, lap.weight_decay, lap.lr, lap.seeds.size)
    assert len(sweeps.collapse_sweep("paper")) == 40
    assert sweeps.collapse_plan("paper", n_batch=1).reduced and not sweeps.collapse_plan("paper").reduced


@pytest.mark.parametrize("call, err, match", [
    (lambda: sweeps.collapse_sweep("huge"), ValueError, "scale"),
    (lambda: sweeps.collapse_sweep(n_batch=0), ValueError, "n_batch"),
    (lambda: sweeps.collapse_sweep(n_seed=0), ValueError, "n_seed"),
    (lambda: sweeps.collapse_experiment(steps=0), ValueError, "steps"),
    (lambda: sweeps.collapse_plan(steps=-1), ValueError, "steps"),
    (lambda: sweeps.collapse_batch([]), TypeError, "configs"),
    (lambda: sweeps.collapse_batch([3]), TypeError, "configs"),
    (lambda: sweeps.collapse_batch([dict(seed=0)]), ValueError, "configs"),
    (lambda: sweeps.collapse_point(0, 0, hidden=4, steps=2, weight_decay=0.0, lr=0.1), ValueError, "batch_size"),
    (lambda: sweeps.stored_report(3), TypeError, "ds"),
])
def test_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()
