"""The task-diversity sweep through the runner (issue 21): the same numbers as the threshold
page's threshold_study, serially, batched and on a 2-worker LocalCluster; the stored result read
back through the report; the command line."""

import dataclasses
import math

import numpy as np
import pytest

from theory.core import open_result, run_sweep, save_result
from theory.icl_regression import sweeps
from theory.icl_regression.threshold import threshold_study
from theory.icl_regression.transformer import ModelConfig

TINY = dict(D=2, K=4, n_layer=1, n_embd=8, n_head=2, sigma2=0.0625, steps=10, lr=3e-3, track=8,
            record_every=5, n_eval=32, pool_seed=1)


def small():
    exp = sweeps.task_diversity_experiment("laptop", steps=10, record_every=5)
    exp = dataclasses.replace(exp, fixed=dict(TINY))
    sw = sweeps.task_diversity_sweep("laptop", n_M=2)       # M = 64, inf; batch 32, 64
    return exp, sw


def test_runner_matches_threshold_study_bit_for_bit(tmp_path):
    exp, sw = small()
    serial = run_sweep(exp, sw, executor="serial", progress=False)
    batched = run_sweep(exp, sw, executor="batched", progress=False)
    dask = run_sweep(exp, sw, executor="dask", store=tmp_path / "store", progress=False)
    c = ModelConfig(**{k: TINY[k] for k in ("D", "K", "n_layer", "n_embd", "n_head")})
    study = threshold_study([64, math.inf], [32, 64], [0.0], c, sigma2=TINY["sigma2"], steps=10,
                            lr=TINY["lr"], track=8, record_every=5, n_eval=32, progress=False)
    for ds in (serial, batched, dask):
        for k in sweeps.SCALARS + sweeps.CURVES:
            np.testing.assert_array_equal(ds[k].values, serial[k].values)
        for M in (64, math.inf):
            for b in (32, 64):
                g = study.index(M, b)
                p = ds.sel(seed=0, M=sweeps._M_label(M), batch=b)
                for k in sweeps.SCALARS:
                    np.testing.assert_array_equal(float(p[k]), getattr(study.ev, k)[g])
                for k in sweeps.CURVES:
                    np.testing.assert_array_equal(p[k].values, study.run[k][g])
    np.testing.assert_array_equal(serial["step"].values, study.run.steps)
    with pytest.raises(ValueError, match="two finite M"):     # one finite M: no crossover
        sweeps.task_diversity_crossover(serial)
    settings = dict(steps=10, n_eval=32, track=8, sigma2=TINY["sigma2"], lr=TINY["lr"], Ms=[64, math.inf],
                    batch_sizes=[32, 64])
    claims = sweeps.stored_claims({"laptop-dask": dask}, study, settings)
    assert [c["id"] for c in claims] == ["icl_regression.stored_laptop_dask_reproduces"]
    np.testing.assert_allclose(claims[0]["measured"], claims[0]["close_to"], rtol=1e-9)
    assert sweeps.stored_claims({"laptop-dask": dask}, study, dict(settings, steps=800)) == []
    for bad, match in (((None, study, settings), "stored"), (({}, None, settings), "study"),
                       (({}, study, {"steps": 1}), "settings")):
        with pytest.raises(TypeError, match=match):
            sweeps.stored_claims(*bad)
    back = open_result(save_result(dask, tmp_path / "td.zarr"))
    assert sweeps.stored_report(back) == sweeps.stored_report(dask)
    assert "stored task-diversity result" in sweeps.stored_report(back)


def test_cli_runs_a_reduced_grid_and_refuses_bad_options(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("THEORY_RESULTS", str(tmp_path))
    assert sweeps.main(["task_diversity", "--set", "n_M=1", "--set", "steps=4", "--set", "n_eval=16",
                        "--set", "track=4", "--set", "record_every=2"]) == 0
    assert (tmp_path / "icl_regression.task_diversity-laptop-reduced.zarr").exists()
    assert "2 points (2 computed now)" in capsys.readouterr().out
    for bad in (["task_diversity", "--set", "steps=0"], ["task_diversity", "--set", "n_M=9"],
                ["task_diversity", "--scale", "huge"], ["fig9"], ["task_diversity", "--set", "n_M"],
                ["task_diversity", "--set", "color=red"], ["task_diversity", "--batch-size", "0"]):
        with pytest.raises(SystemExit):
            sweeps.main(bad)


def test_paper_sizes_are_the_papers():
    p = sweeps.TASK_DIVERSITY_SIZES["paper"]
    assert (p["D"], p["K"], p["sigma2"], p["n_layer"], p["n_embd"], p["n_head"]) == (8, 16, 0.25, 8, 128, 2)
    assert p["batches"] == (256, 512) and p["steps"] == 500_000 and p["n_eval"] == 2**20
    assert list(p["Ms"]) == [2**k for k in range(16)] + [math.inf]
    assert len(sweeps.task_diversity_sweep("paper")) == 17 * 2
    assert not sweeps.task_diversity_plan("paper").reduced
    assert sweeps.task_diversity_plan("paper", steps=100).reduced


@pytest.mark.parametrize("call, err, match", [
    (lambda: sweeps.task_diversity_sweep("huge"), ValueError, "scale"),
    (lambda: sweeps.task_diversity_sweep(n_M=0), ValueError, "n_M"),
    (lambda: sweeps.task_diversity_experiment(steps=0), ValueError, "steps"),
    (lambda: sweeps.task_diversity_experiment(pool_seed=-1), ValueError, "pool_seed"),
    (lambda: sweeps.task_diversity_batch([]), TypeError, "configs"),
    (lambda: sweeps.task_diversity_batch([3]), TypeError, "configs"),
    (lambda: sweeps.task_diversity_point(seed=0, M="2.5", batch=4, **TINY), ValueError, "M"),
    (lambda: sweeps.task_diversity_point(seed=0, M=0, batch=4, **TINY), ValueError, "M"),
    (lambda: sweeps.stored_report(None), TypeError, "ds"),
    (lambda: sweeps.task_diversity_crossover(3), TypeError, "ds"),
])
def test_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()
