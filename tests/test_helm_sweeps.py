"""The HELM grid sweep through the runner (issue 21): one point is the page's (model, scenario)
evaluation bit for bit, serially and on a 2-worker LocalCluster; stored results read back; the
stored claims; the CLI. The smallest model (the lexicon) on two instances keeps it fast."""

import numpy as np
import pytest

from theory.core import open_result, run_sweep, save_result
from theory.helm import evaluate as E, sweeps
from theory.helm.models import default_models
from theory.helm.scenarios import core_scenarios


@pytest.fixture
def store(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORY_HELM_STORE", str(tmp_path / "helm"))
    return str(tmp_path / "helm")


def test_point_is_the_pages_row_bit_for_bit(store, monkeypatch):
    """The page evaluates every model on every scenario in one call; each of its cells must be the
    sweep point of that (model, scenario) alone. Here the page's call on the three cheap models and
    the two classification scenarios at the page's laptop sizes (the byte n-gram model runs neither)."""
    monkeypatch.setenv("THEORY_SCALE", "laptop")
    scen = core_scenarios()
    models = {m.name: m for m in default_models()}
    names, scenarios = ("TF-IDF+LR", "Lexicon", "ByteNgram-5"), ("sentiment", "toxicity_detection")
    ev = E.evaluate([models[m] for m in names], [scen[s] for s in scenarios], store=store, progress=False)
    table = ev.table()
    head = E.headline_table(table)
    for m in names:
        for s in scenarios:
            p = sweeps.grid_point(m, s)  # laptop sizes, the default store = the page's
            assert p["measured"] == (m != "ByteNgram-5") and p["n_test"] == len(scen[s].test)
            want = [head.loc[m, (s, g)] if (s, g) in head.columns else np.nan for g in sweeps.GROUPS]
            np.testing.assert_array_equal(p["headline"], np.asarray(want, float))
            for k in sweeps.METRICS:
                np.testing.assert_array_equal(p[k], table.loc[m, (s, k)] if (s, k) in table.columns else np.nan)
    assert np.isfinite(sweeps.grid_point("TF-IDF+LR", "sentiment")["ece_10_bin"])
    off = sweeps.grid_point("Lexicon", "reasoning", n_test=1)
    assert off["measured"] == 0 and np.isnan(off["headline"]).all()


def test_serial_and_dask_agree_and_round_trip(store, tmp_path):
    plan = sweeps.grid_plan("laptop", model="Lexicon", n_test=2, store=store)
    sw = sweeps.grid_sweep("laptop", model="Lexicon", scenario="sentiment")
    serial = run_sweep(plan.experiment, plan.sweep, executor="serial", progress=False)
    dask = run_sweep(plan.experiment, sw, executor="dask", store=tmp_path / "store", progress=False)
    for k in ("headline", "accuracy", "measured", "n_test"):
        np.testing.assert_array_equal(serial[k].sel(scenario=["sentiment"]).values, dask[k].values)
    assert int(serial["measured"].sum()) == 2  # the lexicon runs the two classification scenarios
    back = open_result(save_result(serial, tmp_path / "grid.zarr"))
    np.testing.assert_array_equal(back["headline"].values, serial["headline"].values)
    assert "pairs measured: 2 of 6" in sweeps.stored_report(back)
    claims = sweeps.stored_claims({"paper-reduced": back})
    assert [c["id"] for c in claims] == ["helm.board.worst_case_below_accuracy_stored"]
    assert claims[0]["measured"] <= 0.0 and sweeps.stored_claims({}) == []


def test_cli_runs_a_reduced_grid_and_refuses_bad_options(store, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("THEORY_RESULTS", str(tmp_path))
    argv = ["grid", "--set", "model=Lexicon", "--set", "scenario=sentiment", "--set", "n_test=1"]
    assert sweeps.main(argv) == 0
    assert (tmp_path / "helm.grid-laptop-reduced.zarr").exists()
    assert "1 points" in capsys.readouterr().out
    for bad in (["grid", "--set", "n_test=0"], ["grid", "--set", "model=GPT-3"], ["grid", "--scale", "huge"],
                ["leaderboard"], ["grid", "--set", "n_test"], ["grid", "--set", "color=red"]):
        with pytest.raises(SystemExit):
            sweeps.main(bad)


def test_paper_sizes_are_the_chapters_paper_scale(monkeypatch):
    monkeypatch.setenv("THEORY_SCALE", "paper")
    paper = {s.name: len(s.test) for s in core_scenarios().values()}
    assert paper == sweeps.GRID_SIZES["paper"]["n_test"]
    assert len(sweeps.grid_sweep("paper")) == 30
    assert sweeps.grid_plan("paper", n_test=2).reduced and not sweeps.grid_plan("paper").reduced


def test_laptop_sizes_are_the_pages(monkeypatch):
    monkeypatch.setenv("THEORY_SCALE", "laptop")
    assert {s.name: len(s.test) for s in core_scenarios().values()} == sweeps.GRID_SIZES["laptop"]["n_test"]


@pytest.mark.parametrize("call, err, match", [
    (lambda: sweeps.grid_sweep("huge"), ValueError, "scale"),
    (lambda: sweeps.grid_sweep(model="GPT-3"), ValueError, "model"),
    (lambda: sweeps.grid_experiment(n_test=0), ValueError, "n_test"),
    (lambda: sweeps.grid_experiment(store=3), TypeError, "store"),
    (lambda: sweeps.grid_point("Lexicon", "chess"), ValueError, "scenario"),
    (lambda: sweeps.grid_point("Lexicon", "sentiment", seed=-1), ValueError, "seed"),
    (lambda: sweeps.stored_report(None), TypeError, "ds"),
    (lambda: sweeps.stored_claims(3), TypeError, "stored"),
])
def test_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()
