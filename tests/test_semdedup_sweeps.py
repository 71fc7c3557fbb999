"""The SemDeDup training sweep through the runner (issue 21): the page's numbers bit for bit,
serially, batched and on a 2-worker LocalCluster; stored results read back; the CLI; the sizes."""

import numpy as np
import pytest

from theory.core import open_result, run_sweep, save_result
from theory.semdedup import images, sweeps, training

TINY = dict(steps=20, record_every=10, n_copies=10)


def test_runner_matches_the_page_bit_for_bit(tmp_path):
    exp, sw = sweeps.training_experiment("laptop", **TINY), sweeps.training_sweep("laptop", n_seed=2)
    # the page's own computation (training.ipynb, "Training on the kept data against random pruning")
    corpus = images.digit_corpus(n_copies=10, seed=0)
    setup = training.TrainingSetup(seeds=(0, 1), steps=20, record_every=10)
    subsets = training.arm_subsets(corpus, setup)
    held = training.distinct_groups(corpus, subsets)
    run = training.train_arms(corpus, setup, subsets, progress=False)
    page = {k: run.sweep.unflatten(run[k]) for k in ("test_accuracy", "test_loss")}
    serial = run_sweep(exp, sw, executor="serial", progress=False)
    batched = run_sweep(exp, sw, executor="batched", batch_size=2, progress=False)
    dask = run_sweep(exp, sw, executor="dask", store=tmp_path / "store", progress=False)
    for ds in (serial, batched, dask):
        for k in page:
            np.testing.assert_array_equal(ds[k].transpose("arm", "seed", "step").values, page[k])
        np.testing.assert_array_equal(ds["step"].values, run.steps)
        np.testing.assert_array_equal(ds["n_train"].values, run.sweep.unflatten(run.meta["n_train"]))
        np.testing.assert_array_equal(ds["distinct_groups"].values, np.stack([held[a] for a in training.ARMS]))
        np.testing.assert_array_equal(ds["eps"].sel(arm="semdedup").values, [subsets["eps"][s] for s in (0, 1)])
    again = run_sweep(exp, sw, executor="serial", store=tmp_path / "store", progress=False)
    assert not again["computed"].any()
    np.testing.assert_array_equal(again["test_accuracy"].values, dask["test_accuracy"].values)
    # the claims' numbers are the page's paired statistics
    summary, gain = sweeps.training_summary(dask), training.paired_gain(run, "semdedup", "random")
    assert summary["gain"]["lower"] == pytest.approx(gain["lower"], abs=1e-15)
    assert summary["gain"]["late"] == pytest.approx(gain["curve_mean"].mean(), abs=1e-15)
    fin = training.final_accuracy(run)
    assert summary["full_minus_semdedup"] == pytest.approx(np.mean(fin["full"] - fin["semdedup"]), abs=1e-15)
    claims = sweeps.stored_claims({"one seed": dask.isel(seed=[0]), "two arms": dask.sel(arm=["full", "random"]),
                                   "grid": dask})
    assert [c["id"] for c in claims] == [f"semdedup.{c}_stored" for c in (
        "train_beats_random", "train_beats_random_over_steps", "train_matches_full", "train_more_distinct_originals")]
    assert claims[0]["measured"] == summary["gain"]["lower"] and claims[0]["at_least"] == 0.0
    assert claims[2]["at_most"] == 0.01 and claims[3]["sign"] == 1 and "stored grid run" in claims[0]["source"]
    assert sweeps.stored_claims({}) == [] and sweeps.stored_claims({"one seed": dask.isel(seed=[0])}) == []
    back = open_result(save_result(dask, tmp_path / "training.zarr"))
    np.testing.assert_array_equal(back["test_loss"].values, dask["test_loss"].values)
    text = sweeps.stored_report(back)
    assert "semdedup − random" in text and "distinct groups" in text
    one_arm = sweeps.stored_report(back.sel(arm=["random"]))
    assert "random" in one_arm and "semdedup − random" not in one_arm


def test_cli_runs_a_reduced_grid_and_refuses_bad_options(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("THEORY_RESULTS", str(tmp_path))
    small = ["--set", "n_seed=1", "--set", "steps=10", "--set", "record_every=5", "--set", "n_copies=5"]
    assert sweeps.main(["training", *small, "--plan"]) == 0
    assert "3 points" in capsys.readouterr().out
    assert sweeps.main(["training", *small]) == 0
    assert (tmp_path / "semdedup.training-laptop-reduced.zarr").exists()
    assert "3 points" in capsys.readouterr().out
    assert sweeps.stored_training(("laptop-reduced",))["laptop-reduced"].sizes["arm"] == 3
    for bad in (["training", "--set", "steps=0"], ["training", "--set", "n_seed=0"], ["training", "--scale", "huge"],
                ["fig9"], ["training", "--set", "n_seed"], ["training", "--set", "color=red"],
                ["training", "--set", "arm=bogus"], ["training", "--set", "kept_fraction=1.5"]):
        with pytest.raises(SystemExit):
            sweeps.main(bad)


@pytest.mark.parametrize("scale", ["laptop", "paper"])
def test_sizes_are_the_pages(scale, monkeypatch):
    monkeypatch.setenv("THEORY_SCALE", scale)
    page, size = training.TrainingSetup.at_scale(), sweeps.TRAINING_SIZES[scale]
    assert size["n_seed"] == len(page.seeds) and page.seeds == tuple(range(size["n_seed"]))
    for k in ("steps", "batch_size", "lr", "momentum", "hidden", "record_every", "k", "keep", "kept_fraction"):
        assert size[k] == getattr(page, k), k
    assert (size["n_copies"], size["corpus_seed"]) == (200, 0)          # images.digit_corpus(n_copies=200, seed=0)
    assert len(sweeps.training_sweep(scale)) == 3 * size["n_seed"]
    assert not sweeps.training_plan(scale).reduced
    assert sweeps.training_plan(scale, n_seed=2).reduced and sweeps.training_plan(scale, arm="random").reduced
    assert sweeps.training_plan(scale, kept_fraction=0.5).reduced


def test_paper_sizes():
    p = sweeps.TRAINING_SIZES["paper"]
    assert (p["n_seed"], p["steps"]) == (10, 4000)
    assert sweeps.training_experiment("paper").coords["step"][-1] == 4000


@pytest.mark.parametrize("call, err, match", [
    (lambda: sweeps.training_sweep("huge"), ValueError, "scale"),
    (lambda: sweeps.training_sweep(n_seed=0), ValueError, "n_seed"),
    (lambda: sweeps.training_sweep(arm="half"), ValueError, "arm"),
    (lambda: sweeps.training_experiment(steps=0), ValueError, "steps"),
    (lambda: sweeps.training_experiment(kept_fraction=1.0), ValueError, "kept_fraction"),
    (lambda: sweeps.training_experiment(n_copies=0), ValueError, "n_copies"),
    (lambda: sweeps.training_batch([]), TypeError, "configs"),
    (lambda: sweeps.training_batch([3]), TypeError, "configs"),
    (lambda: sweeps.training_batch([dict(arm="full", seed=0)]), ValueError, "lacks"),
    (lambda: sweeps.training_point("half", 0, **sweeps.training_experiment().fixed), ValueError, "arm"),
    (lambda: sweeps.training_point("full", -1, **sweeps.training_experiment().fixed), ValueError, "seed"),
    (lambda: sweeps.training_point("full", 2**40, **sweeps.training_experiment().fixed), ValueError, "seed"),
    (lambda: sweeps.training_point("full", 0, **dict(sweeps.training_experiment().fixed, lr=0.0)), ValueError, "lr"),
    (lambda: sweeps.stored_report(None), TypeError, "ds"),
    (lambda: sweeps.training_summary(3), TypeError, "ds"),
    (lambda: sweeps.stored_claims(None), TypeError, "stored"),
    (lambda: sweeps.stored_claims({"paper": 3}), TypeError, "stored"),
])
def test_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()
