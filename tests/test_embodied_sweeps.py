"""The judges' power sweep through the runner (issue 21): the page's numbers bit for bit, serially and
on a 2-worker LocalCluster; stored results read back and turned into the page's claims; the CLI."""

import numpy as np
import pytest
import xarray as xr

from theory.core import open_result, run_sweep, save_result
from theory.embodied import judges as J, plots as P, sweeps

SHORT = dict(n_repeats=2, n_permutations=9, duration_s=60.0)


def test_runner_matches_the_page_bit_for_bit(tmp_path):
    exp, sw = sweeps.power_experiment("laptop", **SHORT), sweeps.power_sweep("laptop", n_candidate=2, n_budget=2)
    traj = P.candidate_set("sargolini", seed=0, duration_s=60.0)
    page = J.power_grid({k: traj[k] for k in ("real", "fitted")}, traj["living"], [30.0, 60.0], n_repeats=2,
                        n_permutations=9, seed=0, judge_kw={"network": {"network": J.NetworkSpec(steps=60)}})
    serial = run_sweep(exp, sw, executor="serial", progress=False)
    dask = run_sweep(exp, sw, executor="dask", store=tmp_path / "store", progress=False)
    for ds in (serial, dask):
        for (c, j), r in page.items():
            d = ds.sel(candidate=c, judge=j)
            np.testing.assert_array_equal(d["statistic"].transpose("budget_s", "repeat").values, r.statistic)
            np.testing.assert_array_equal(d["p_value"].transpose("budget_s", "repeat").values, r.p_value)
            np.testing.assert_array_equal(d["null"].transpose("budget_s", "repeat", "permutation").values, r.null)
            np.testing.assert_array_equal(d["rejection_rate"].values, r.rejection_rate)
            np.testing.assert_array_equal(d["n_windows"].values, r.n_windows)
    back = open_result(save_result(dask, tmp_path / "power.zarr"))
    np.testing.assert_array_equal(back["null"].values, dask["null"].values)
    assert "rejection rate" in sweeps.stored_report(back)
    assert sweeps.stored_claims({"paper-reduced": back}) == []     # not every candidate, judge and budget


def test_a_laptop_point_is_the_pages_cell():
    """At the page's own sizes (full trajectories): the MMD judge's RatInABox cell at 4 minutes,
    padded to the features judge's 10 repeats; the network's 3 repeats padded with NaN."""
    traj = P.candidate_set("sargolini", seed=0)
    page = J.power_grid({"ratinabox": traj["ratinabox"]}, traj["living"], [60 * b for b in P.EXPLORER_BUDGETS_MIN],
                        judges=("mmd",), n_repeats=10, n_permutations=99, seed=0)["ratinabox", "mmd"]
    pt = sweeps.power_point("ratinabox", "mmd", 240.0, **sweeps.POWER_SIZES["laptop"])
    np.testing.assert_array_equal(pt["statistic"], page.statistic[page.at(240.0)])
    np.testing.assert_array_equal(pt["null"], page.null[page.at(240.0)])
    assert float(pt["rejection_rate"]) == page.rejection_rate[page.at(240.0)] and pt["null"].shape == (10, 99)


def _full_ds(rate=1.0, p=0.5, auc=0.5):
    c, j, b = list(P.EXPLORER_CANDIDATES), list(J.JUDGES), [60.0 * m for m in P.EXPLORER_BUDGETS_MIN]
    shape = (len(c), len(j), len(b))
    return xr.Dataset({"statistic": (("candidate", "judge", "budget_s", "repeat"), np.full(shape + (2,), auc)),
                       "p_value": (("candidate", "judge", "budget_s", "repeat"), np.full(shape + (2,), p)),
                       "rejection_rate": (("candidate", "judge", "budget_s"), np.full(shape, rate))},
                      coords=dict(candidate=c, judge=j, budget_s=b), attrs={"grid": "synthetic"})


def test_stored_claims_use_the_pages_criteria():
    claims = sweeps.stored_claims({"paper": _full_ds()})
    ids = [k["id"] for k in claims]
    assert "embodied.judge.self_median_p_stored" in ids and "embodied.judge.judge_matters_stored" in ids
    assert len(ids) == 9 and all("stored paper run" in k["source"] for k in claims)
    by = {k["id"]: k for k in claims}
    assert by["embodied.judge.self_auc_stored"]["close_to"] == 0.5
    assert float(by["embodied.judge.budget_matters_stored"]["measured"]) == 0.0    # rate 1 everywhere
    assert sweeps.stored_claims({}) == []


def test_cli_runs_a_reduced_grid_and_refuses_bad_options(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("THEORY_RESULTS", str(tmp_path))
    assert sweeps.main(["power", "--set", "n_candidate=1", "--set", "n_budget=1", "--set", "judge=mmd",
                        "--set", "n_repeats=1", "--set", "n_permutations=9", "--set", "duration_s=60"]) == 0
    assert (tmp_path / "embodied.power-laptop-reduced.zarr").exists()
    assert "1 points" in capsys.readouterr().out
    for bad in (["power", "--set", "n_budget=9"], ["power", "--set", "judge=eye"], ["power", "--scale", "huge"],
                ["fig3"], ["power", "--set", "n_repeats"], ["power", "--set", "color=red"]):
        with pytest.raises(SystemExit):
            sweeps.main(bad)


def test_paper_sizes_are_the_pages_paper_scale():
    p = sweeps.POWER_SIZES["paper"]
    assert (p["reps_features"], p["reps_mmd"], p["reps_network"]) == (40, 40, 10)
    assert (p["perms_features"], p["perms_mmd"], p["perms_network"]) == (99, 99, 99)
    assert sweeps.POWER_SIZES["laptop"]["reps_network"] == 3 and sweeps.POWER_SIZES["laptop"]["perms_network"] == 19
    assert len(sweeps.power_sweep("paper")) == 60
    assert sweeps.power_plan("paper", n_budget=2).reduced and not sweeps.power_plan("paper").reduced


@pytest.mark.parametrize("call, err, match", [
    (lambda: sweeps.power_sweep("huge"), ValueError, "scale"),
    (lambda: sweeps.power_sweep(n_candidate=0), ValueError, "n_candidate"),
    (lambda: sweeps.power_sweep(n_budget=5), ValueError, "n_budget"),
    (lambda: sweeps.power_sweep(judge="eye"), ValueError, "judge"),
    (lambda: sweeps.power_experiment(n_repeats=0), ValueError, "n_repeats"),
    (lambda: sweeps.power_experiment(duration_s=-1.0), ValueError, "duration_s"),
    (lambda: sweeps.power_point("cat", "mmd", 30.0, **sweeps.POWER_SIZES["laptop"]), ValueError, "candidate"),
    (lambda: sweeps.power_point("real", "mmd", 0.0, **sweeps.POWER_SIZES["laptop"]), ValueError, "budget_s"),
    (lambda: sweeps.power_point("real", "mmd", 30.0), ValueError, "lacks"),
    (lambda: sweeps.stored_report(None), TypeError, "ds"),
    (lambda: sweeps.stored_claims({"paper": 3}), TypeError, "stored"),
    (lambda: sweeps.stored_power("paper"), TypeError, "labels"),
])
def test_bad_arguments(call, err, match):
    with pytest.raises(err, match=match):
        call()
