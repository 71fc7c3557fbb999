"""Tests for theory.icl_regression.threshold (the paper's batch-doubling threshold criterion,
the early-stopping law t* ∝ M^α, the weight-decay study) and the train_sweep features they use
(per-model batch sizes, weight decay, recorded Δ_PT,Ridge curves)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from theory.icl_regression import (DECAYED, ModelConfig, distance, ridge_predict,
                                   sample_sequences, train_sweep)
from theory.icl_regression.threshold import (PAPER_ALPHA, batch_crossover, early_stopping_times,
                                             scaling_fit, threshold_study)

CFG = ModelConfig(D=2, K=4, n_layer=1, n_embd=8, n_head=2)


# ------------------------------------------------------------------ the crossover criterion

def test_crossover_interpolates_in_log_M():
    # gap = log(Δ_large/Δ_small): +log 2 at M = 4, −log 2 at M = 16 → zero at M = 8 (log scale)
    c = batch_crossover([1, 4, 16, 64], [1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 0.5, 0.25])
    assert c.status == "crossing"
    assert c.M_star == pytest.approx(8.0) and c.log2_star == pytest.approx(3.0)
    assert np.allclose(c.gap, np.log([2.0, 2.0, 0.5, 0.25]))
    assert "M* ≈ 8.0" in c.table()


def test_crossover_takes_the_first_sign_change():
    c = batch_crossover([2, 4, 8, 16], [1, 1, 1, 1], [2, 0.5, 2, 0.5])
    assert c.status == "crossing" and c.M_star == pytest.approx(2 * math.sqrt(2))


def test_crossover_without_a_sign_change():
    above = batch_crossover([1, 2, 4], [1, 1, 1], [2, 3, 4])
    below = batch_crossover([1, 2, 4], [1, 1, 1], [0.5, 2, 0.5])
    assert above.status == "above" and math.isnan(above.M_star) and math.isnan(above.log2_star)
    assert below.status == "below" and math.isnan(below.M_star)
    assert "no crossover" in above.table() and "no crossover" in below.table()
    assert above.log2_bound == 2.0 and below.log2_bound == 0.0
    assert batch_crossover([1, 4, 16], [1, 1, 1], [2, 0.5, 0.5]).log2_bound == pytest.approx(1.0)


@pytest.mark.parametrize("Ms, small, large, match", [
    ([1], [1.0], [1.0], "Ms"),
    ([1, 1], [1, 1], [1, 1], "Ms"),
    ([1, math.inf], [1, 1], [1, 1], "Ms"),
    ([1, 2], [1, 1, 1], [1, 1], "delta_small"),
    ([1, 2], [1, 1], [1, 0], "delta_large"),
    ([1, 2], [1, np.nan], [1, 1], "delta_small"),
])
def test_crossover_rejects_bad_input(Ms, small, large, match):
    with pytest.raises(ValueError, match=match):
        batch_crossover(Ms, small, large)
    with pytest.raises(TypeError, match="Ms"):
        batch_crossover("12", [1, 1], [1, 1])


# ------------------------------------------------------------------ t* and its scaling law

def test_early_stopping_times_find_the_minimum():
    steps = np.array([0, 10, 20, 30])
    curves = np.array([[3.0, 1.0, 2.0, 2.5], [3.0, 2.0, 1.5, 1.0], [1.0, 1.0, 2.0, 3.0]])
    t, interior = early_stopping_times(steps, curves)
    assert t.tolist() == [10, 30, 0] and interior.tolist() == [True, False, True]
    with pytest.raises(ValueError, match="curves"):
        early_stopping_times(steps, curves[:, :3])
    with pytest.raises(ValueError, match="steps"):
        early_stopping_times([0, 0, 1, 2], curves)
    with pytest.raises(ValueError, match="finite"):
        early_stopping_times(steps, np.full((1, 4), np.nan))


def test_scaling_fit_recovers_a_power_law():
    Ms = np.array([1, 2, 4, 8, 16, 2**11, math.inf])
    t = 30.0 * Ms ** PAPER_ALPHA
    t[-1] = 1.0
    fit = scaling_fit(Ms, t, max_M=2**10)          # M > 2^10 and M = ∞ are left out
    assert fit.alpha == pytest.approx(PAPER_ALPHA) and fit.se == pytest.approx(0.0, abs=1e-12)
    assert fit.Ms.tolist() == [1, 2, 4, 8, 16]
    assert np.allclose(fit.predict([4.0]), 30.0 * 4 ** PAPER_ALPHA)
    interior = np.array([True, True, False, True, True, True, True])
    assert scaling_fit(Ms, t, interior=interior).Ms.tolist() == [1, 2, 8, 16]
    assert "α = 0.470" in fit.report()


def test_scaling_fit_standard_error_and_bad_input():
    rng = np.random.default_rng(0)
    Ms = 2.0 ** np.arange(8)
    t = 10 * Ms ** 0.5 * np.exp(0.1 * rng.standard_normal(8))
    fit = scaling_fit(Ms, t)
    x = np.log(Ms)
    slope, cov = np.polyfit(x, np.log(t), 1, cov=True)
    assert fit.alpha == pytest.approx(slope[0]) and fit.se == pytest.approx(math.sqrt(cov[0, 0]))
    assert math.isnan(scaling_fit([1, 2], [1, 2]).se)
    with pytest.raises(ValueError, match="two distinct"):
        scaling_fit([1, 2048], [1, 2])
    with pytest.raises(ValueError, match="t_star"):
        scaling_fit([1, 2], [1, -2])
    with pytest.raises(ValueError, match="same length"):
        scaling_fit([1, 2], [1, 2, 3])


# ------------------------------------------------------------------ the trainer's new features

def test_nested_batches_and_per_model_batch_sizes():
    # the B model inside a (B, 2B) program trains as the same model trained alone at batch B
    kw = dict(sigma2=0.1, steps=4, progress=False, device="cpu", dtype=torch.float64)
    mixed = train_sweep([3, 3, math.inf], CFG, batch_size=[4, 8, 4], **kw)
    for g, (M, B) in enumerate([(3, 4), (3, 8), (math.inf, 4)]):
        alone = train_sweep([M], CFG, batch_size=B, **kw)
        for k in alone.params:
            assert np.allclose(alone.params[k][0], mixed.params[k][g], rtol=0, atol=1e-13), (g, k)
    assert mixed.meta["batch_size"] == [4, 8, 4] and mixed.meta["batch_sizes"].tolist() == [4, 8, 4]
    # nested: with one step of plain data the 2B loss at step 0 averages both halves
    assert not np.allclose(mixed.params["w_in"][0], mixed.params["w_in"][1])


def test_weight_decay_shrinks_the_block_kernels_only():
    kw = dict(sigma2=0.1, steps=30, batch_size=4, lr=1e-2, progress=False, device="cpu",
              dtype=torch.float64)
    run = train_sweep([4, 4], CFG, weight_decay=[0.0, 50.0], **kw)
    for k in DECAYED:
        assert np.linalg.norm(run.params[k][1]) < 0.8 * np.linalg.norm(run.params[k][0]), k
    plain = train_sweep([4], CFG, **kw)
    for k in plain.params:
        assert np.array_equal(plain.params[k][0], run.params[k][0])
    assert run.meta["weight_decays"].tolist() == [0.0, 50.0]
    with pytest.raises(ValueError, match="weight_decay"):
        train_sweep([4], CFG, weight_decay=-1.0, **kw)
    with pytest.raises(ValueError, match="weight_decay"):
        train_sweep([4], CFG, weight_decay=[0.0, 1.0], **kw)
    with pytest.raises(ValueError, match="batch_size"):
        train_sweep([4, 8], CFG, **{**kw, "batch_size": [4]})


def test_tracked_curves_are_the_distance_to_ridge():
    run = train_sweep([2, math.inf], CFG, sigma2=0.1, steps=4, batch_size=3, track=16,
                      track_seed=5, record_every=2, progress=False, device="cpu",
                      dtype=torch.float64)
    assert run["d_ridge_new"].shape == (2, 3) and run["d_ridge_pool"].shape == (2, 3)
    new = sample_sequences(16, CFG.K, 0.1, D=CFG.D, seed=5)
    pt = run.predict(new.xs[None], new.ys[None])
    want = [distance(pt[g], ridge_predict(new.xs, new.ys, 0.1), CFG.D) for g in range(2)]
    assert np.allclose(run["d_ridge_new"][:, -1], want, rtol=1e-10)
    with pytest.raises(ValueError, match="track"):
        train_sweep([2], CFG, steps=2, track=0, progress=False)


def test_threshold_study_layout_and_pairing():
    study = threshold_study([2, 4, math.inf], [2, 4], [0.0, 0.1], CFG, sigma2=0.1, steps=3,
                            lr=1e-3, track=8, record_every=1, n_eval=16, progress=False)
    assert [len(sw) for sw in study.sweeps] == [6, 6] and len(study.run.Ms) == 12
    g = study.index(4, 2, 0.1)
    assert study.run.Ms[g] == 4 and study.run.meta["batch_sizes"][g] == 2
    assert study.run.meta["weight_decays"][g] == 0.1
    assert math.isinf(study.run.Ms[study.index(math.inf, 4, 0.0)])
    # equal M: equal seeds (the contrasts are paired)
    seeds = study.run.meta["init_seeds"]
    assert seeds[study.index(2, 2, 0.0)] == seeds[study.index(2, 4, 0.1)]
    assert study.delta_new(2).shape == (2,) and study.curves().shape == (3, 4)
    c = study.crossover()
    assert c.Ms.tolist() == [2, 4] and c.status in ("crossing", "above", "below")
    t, interior = study.stopping()
    assert t.shape == (3,) and interior.dtype == bool
    with pytest.raises(ValueError, match="not in the sweep"):
        study.index(8, 2)
    # the decayed arm on a subset of the pool sizes
    sub = threshold_study([2, 4, math.inf], [2, 4], [0.0, 0.1], CFG, sigma2=0.1, steps=2,
                          lr=1e-3, track=4, record_every=1, n_eval=8, decay_Ms=[2, 4],
                          progress=False)
    assert len(sub.run.Ms) == 10 and sub.finite_Ms(0.1) == [2, 4]
    assert sub.crossover(0.1).Ms.tolist() == [2, 4]
    with pytest.raises(ValueError, match="not in the sweep"):
        sub.index(math.inf, 2, 0.1)
    with pytest.raises(ValueError, match="include 0"):
        threshold_study([2], [2, 4], [0.1], CFG, sigma2=0.1, steps=2, lr=1e-3)
    with pytest.raises(ValueError, match="batch_sizes"):
        threshold_study([2], [4, 2], [0.0], CFG, sigma2=0.1, steps=2, lr=1e-3)
    with pytest.raises(ValueError, match="batch_sizes"):
        threshold_study([2], [4], [0.0], CFG, sigma2=0.1, steps=2, lr=1e-3)


# ------------------------------------------------------------------ the paper-scale path and the figures

def test_paper_scale_settings_double_the_batch(monkeypatch):
    from theory.icl_regression.paper_run import paper_settings
    from theory.icl_regression.threshold import threshold_settings
    monkeypatch.setenv("THEORY_SCALE", "paper")
    p, t = paper_settings(), threshold_settings()
    assert tuple(p["batch_sizes"]) == (256, 512) and p["batch_size"] == 256
    assert p["n_eval"] == 2**20 and t["n_eval"] == 2**20
    assert list(t["batch_sizes"]) == [256, 512] and t["steps"] == 500_000
    c = t["config"]
    assert (c.D, c.K, c.n_layer, c.n_embd, c.n_head) == (8, 16, 8, 128, 2)
    assert t["Ms"][:-1] == [2**k for k in range(16)] and math.isinf(t["Ms"][-1])
    assert t["weight_decays"][0] == 0.0 and len(t["weight_decays"]) == 4


def test_laptop_threshold_settings_are_the_pages():
    from pathlib import Path

    import nbformat

    from theory.core import get_scale
    from theory.icl_regression.threshold import threshold_settings
    if get_scale() != "laptop":
        pytest.skip("the page's prose describes the laptop scale")
    t = threshold_settings()
    c = t["config"]
    assert (c.D, c.K, c.n_layer, c.n_embd, c.n_head) == (2, 8, 2, 32, 2)
    assert (t["sigma2"], t["steps"], t["lr"], t["track"], t["record_every"]) == (0.0625, 800, 3e-3, 256, 20)
    assert t["Ms"][:-1] == [4, 16, 64] and math.isinf(t["Ms"][-1])
    assert list(t["batch_sizes"]) == [32, 64] and list(t["weight_decays"]) == [0.0, 0.01]
    assert t["decay_Ms"] == [4, 16]
    nb = nbformat.read(Path(__file__).resolve().parents[1] / "book" / "icl_regression"
                       / "threshold.ipynb", as_version=4)
    prose = " ".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    for text in (r"$M \in \{4, 16, 64, \infty\}$", "$B = 32$", "$2B = 64$",
                 r"$\lambda = 0.01$", r"$M \in \{4, 16\}$", "800 steps", "every 20 steps", "256 fixed sequences"):
        assert text in prose, text


def test_paper_run_writes_both_batch_sizes(tmp_path):
    import json

    from theory.icl_regression.paper_run import main, paper_settings
    out = main(["--steps", "2", "--out", str(tmp_path / "r.json")])
    res = json.loads(out.read_text())
    s = paper_settings()
    assert res["batch"] == [b for _ in s["Ms"] for b in s["batch_sizes"]]
    assert res["M"][-1] == "inf" and res["M"][-2] == "inf" and len(res["M"]) == 2 * len(s["Ms"])
    assert res["config"]["batch_sizes"] == list(s["batch_sizes"])
    cross = res["crossover"]
    assert cross["M"] == [int(M) for M in s["Ms"][:-1]] and cross["status"] in ("crossing", "above", "below")
    assert len(cross["gap"]) == len(cross["M"])


def test_threshold_figures_and_paper_figure():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from theory.icl_regression import plots
    study = threshold_study([1, 4, math.inf], [2, 4], [0.0, 0.5], CFG, sigma2=0.1, steps=6,
                            lr=1e-2, track=8, record_every=1, n_eval=16, progress=False)
    res = {"M": [1, 1, "inf", "inf"], "batch": [256, 512, 256, 512],
           "d_pt_dmmse_new": [0.1, 0.2, None, None], "d_pt_ridge_new": [0.3, 0.4, 0.05, 0.04],
           "seconds": 3600.0, "crossover": {"M_star": 2.0 ** 14.5}}
    figs = [plots.threshold_figure(study), plots.stopping_figure(study, "d_ridge_pool"),
            plots.stopping_figure(study, "d_ridge_new"), plots.paper_scale_figure(res)]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figs)
    for f in figs:
        plt.close(f)
    with pytest.raises(TypeError, match="study"):
        plots.threshold_figure(res)
    with pytest.raises(ValueError, match="name"):
        plots.stopping_figure(study, "train_loss")
    with pytest.raises(ValueError, match="batch"):
        plots.paper_scale_figure({**res, "batch": [256]})
