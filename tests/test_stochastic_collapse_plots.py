"""The chapter's figures, its explorer, the deep-network experiments and analyses, and the
invariant-set and teacher–student helpers behind the notebooks (small sizes, known answers)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from theory.core import Result, Sweep  # noqa: E402
from theory.stochastic_collapse import deep_experiments as dx  # noqa: E402
from theory.stochastic_collapse import plots  # noqa: E402
from theory.stochastic_collapse.deep import load_digits_data  # noqa: E402
from theory.stochastic_collapse.simulate import (Paths, invariant_set_normals,  # noqa: E402
                                                 label_noise_sgd, label_noise_summary,
                                                 mlp_on_invariant_sets, mlp_per_sample_grads,
                                                 sgd_on_invariant_sets, simulate_prototype)


SMALL = dx.DeepSetup(seeds=np.arange(2), hidden=8, steps=40, weight_decay=5e-3, lr=0.2,
                     batch_size=8, lrs=np.array([0.1, 0.2, 0.5]), batches=np.array([8, 16]),
                     noises=np.array([0.0, 0.3, 0.6]), t1=np.array([10, 20]), t2=10)


@pytest.fixture(scope="module")
def runs():
    data = load_digits_data()
    return data, dx.collapse_sweeps(data, SMALL), dx.two_phase(data, SMALL)


# ---------------------------------------------------------------- deep experiments


def test_sweeps_are_labelled_and_paired(runs):
    data, sweeps, two = runs
    assert set(sweeps) == {"lr", "batch_size", "label_noise", "label_smoothing"}
    assert sweeps["lr"].sweep.dims == ("lr", "seed") and sweeps["lr"].steps.size == 41
    assert dx.independent_table(sweeps["lr"]).shape == (3, 2)
    assert dx.independent_table(sweeps["batch_size"], layer=1).shape == (2, 2)
    assert two.sweep.dims == ("switch_step", "seed")
    np.testing.assert_array_equal(two.meta["config"]["stop_step"], [20, 20, 30, 30])
    # p = 0 of the label-noise sweep is the same network as the batch-8 run of the batch sweep
    # (same seed, η, B): common random numbers across sweeps.
    np.testing.assert_array_equal(sweeps["label_noise"]["independent"][:2],
                                  sweeps["batch_size"]["independent"][:2])
    with pytest.raises(TypeError, match="setup"):
        dx.collapse_sweeps(data, {"steps": 10})
    with pytest.raises(ValueError, match="layer"):
        dx.independent_table(sweeps["lr"], layer=2)
    with pytest.raises(TypeError, match="sweep"):
        dx.independent_table(Result(steps=[0, 1]))


def test_per_seed_spearman():
    levels = np.array([1.0, 2.0, 3.0])
    tab = np.array([[3.0, 1.0, 5.0], [2.0, 2.0, 5.0], [1.0, 3.0, 5.0]])
    np.testing.assert_allclose(dx.per_seed_spearman(levels, tab), [-1.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="table"):
        dx.per_seed_spearman(levels, tab[:2])
    with pytest.raises(ValueError, match="levels"):
        dx.per_seed_spearman([np.nan, 1.0, 2.0], tab)


def _fake(sweep, independent, steps):
    G = len(sweep)
    return Result(steps=steps, metrics={"independent": independent,
                                        "test_accuracy": np.ones((G, len(steps)))}, sweep=sweep)


def test_equal_time_gap_and_noise_share_on_constructed_results():
    # η ∈ {0.1, 0.2}, 2 seeds, records at steps 0, 5, 10: τ = 0.1·10 = 1 is step 5 for η = 0.2.
    sweep = Sweep(lr=[0.1, 0.2], seed=[0, 1])
    ind = np.ones((4, 3, 2))
    ind[0, -1], ind[1, -1] = 0.8, 0.6          # η = 0.1 at its end: 0.8, 0.6
    ind[2, 1], ind[3, 1] = 0.7, 0.6            # η = 0.2 at τ: 0.7, 0.6
    ind[2, -1], ind[3, -1] = 0.4, 0.2          # η = 0.2 at its end
    gap = dx.equal_time_gap(_fake(sweep, ind, [0, 5, 10]), steps=10)
    assert gap["tau"] == pytest.approx(1.0)
    np.testing.assert_allclose(gap["per_seed"], [-0.1, 0.0])
    assert gap["gap_fixed"] == pytest.approx(-0.4)
    assert gap["share"] == pytest.approx(0.05 / 0.4)
    with pytest.raises(ValueError, match="record"):
        dx.equal_time_gap(_fake(sweep, ind, [0, 4, 10]), steps=10)
    noisy = np.ones((4, 2, 1))
    noisy[2:, -1] = 0.5                        # p = 0.5: 0.5 for both seeds
    smooth = np.full((2, 2, 1), 0.75)
    share = dx.noise_beyond_mean(_fake(Sweep(label_noise=[0.0, 0.5], seed=[0, 1]), noisy, [0, 1]),
                                 _fake(Sweep(label_smoothing=[0.5], seed=[0, 1]), smooth, [0, 1]))
    np.testing.assert_allclose(share["diff"], [[-0.25, -0.25]])
    assert share["trend"] == pytest.approx(-0.5) and share["share"] == pytest.approx(0.5)


def test_sweep_report_lists_every_level(runs):
    _, sweeps, _ = runs
    text = dx.sweep_report(sweeps)
    assert len(text.splitlines()) == 3 + 2 + 3
    assert "smoothing s = 0.3" in text and text.startswith("η = 0.1")


def test_effective_rank_tables_trends_and_report(runs):
    _, sweeps, two = runs
    tab = dx.independent_table(sweeps["lr"], measure="effective_rank")
    assert tab.shape == (3, 2) and np.all(tab > 0) and np.all(tab <= np.log(8) + 1e-12)
    rho = dx.collapse_trends(sweeps, measure="effective_rank")
    assert set(rho) == {"lr", "batch_size", "label_noise"} and rho["lr"].shape == (2,)
    np.testing.assert_allclose(rho["lr"], dx.per_seed_spearman(SMALL.lrs, tab))
    text = dx.rank_report(sweeps)
    assert len(text.splitlines()) == 3 and "against η: 0.1:" in text
    assert dx.independent_table(two, measure="effective_rank").shape == (2, 2)
    with pytest.raises(ValueError, match="measure"):
        dx.independent_table(sweeps["lr"], measure="rank")


def test_deep_figures(runs):
    data, sweeps, two = runs
    diff = dx.noise_beyond_mean(sweeps["label_noise"], sweeps["label_smoothing"])["diff"]
    for fig in (plots.collapse_sweeps_figure(sweeps, SMALL),
                plots.noise_controls_figure(sweeps["lr"], diff, SMALL),
                plots.effective_rank_figure(sweeps, two, SMALL),
                plots.two_phase_figure(two, SMALL, data.y_test.size)):
        assert isinstance(fig, Figure) and len(fig.axes) >= 2
        plt.close(fig)


# ---------------------------------------------------------------- the other notebooks' helpers


def test_invariant_set_helpers():
    params, X, y = mlp_on_invariant_sets(n=16, d=4, h=10, seed=0)
    assert X.shape == (16, 4) and params["W2"].shape == (10, 10)
    for act in (torch.tanh, torch.nn.functional.gelu):
        assert max(invariant_set_normals(mlp_per_sample_grads(params, X, y, activation=act))) <= 1e-14
    vanish, ident = invariant_set_normals(mlp_per_sample_grads(params, X, y,
                                                               activation=torch.sigmoid))
    assert vanish > 1e-3 and ident <= 1e-14      # σ(0) ≠ 0 breaks only the vanishing set
    off, moved = sgd_on_invariant_sets(params, X, y, steps=20, batch_size=4)
    assert off <= 1e-14 and moved > 0
    with pytest.raises(ValueError, match="h"):
        mlp_on_invariant_sets(h=9)
    with pytest.raises(TypeError, match="g"):
        invariant_set_normals({"W1": 0})
    with pytest.raises(ValueError, match="lr"):
        sgd_on_invariant_sets(params, X, y, lr=0.0)


def test_label_noise_summary_at_zero_noise_and_bad_input():
    s = np.array([0.5, 1.0, 0.02])
    run = label_noise_sgd(s, 0.05, [0.0, 1.0], steps=3000, n_seeds=4, init=0.1, record_every=50,
                          seed=0)
    out = label_noise_summary(run, s, s, 0.05, [0.0, 1.0], t_start=100, t_end=150)
    assert out["mean_s"].shape == (2, 3) and out["train_end"].shape == (2, 4)
    np.testing.assert_allclose(out["mean_s"][0, :2], s[:2], atol=1e-3)     # no noise: s → s*
    np.testing.assert_allclose(out["fixed"][1], [0.475, 0.975, 0.0])
    assert out["train_exact"][0] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="window"):
        label_noise_summary(run, s, s, 0.05, [0.0, 1.0], t_start=200, t_end=300)
    with pytest.raises(ValueError, match="run.x"):
        label_noise_summary(run, s[:2], s[:2], 0.05, [0.0, 1.0], t_start=100, t_end=150)
    with pytest.raises(TypeError, match="run"):
        label_noise_summary(run.x, s, s, 0.05, [0.0, 1.0], t_start=100, t_end=150)


def test_figures_of_the_small_notebooks():
    zetas = np.array([0.1, 1.0, 2.5])
    sim = simulate_prototype(1.5, zetas, n_paths=8, T=1.0, steps=20, theta0=1.0, seed=0)
    figs = [plots.prototype_paths_figure(sim.t, sim.x, zetas, 1.5, n_show=4),
            plots.prototype_threshold_figure(zetas, [0, 0, 1], [1.5, 1.0, -1.6], [0.1] * 3, 1.5,
                                             1e-3),
            plots.prototype_stationary_figure({0.5: sim.x[0].ravel(), 1.0: sim.x[1].ravel()},
                                              1.5)]
    x = np.linspace(-1, 1, 8)
    a = np.linspace(0.25, 2, 4)
    figs.append(plots.tanh_collapse_figure(x, x, alpha_sde=a, p_sde=[0, 0, 1, 1],
                                           slope=[0.1, 0, -0.1, -0.2], stderr=[0.01] * 4,
                                           alpha_sgd=a, p_sgd=[0, 0, 1, 1],
                                           lam_sgd=[0.01, 0.005, -0.01, -0.02],
                                           eta_sgd=a / 12.5, p_sgd_paper_noise=[0] * 4,
                                           alpha_star=1.0, note="test"))
    s = np.array([0.5, -0.2, 1.0])
    run = label_noise_sgd(s, 0.05, [0.0, 1.0], steps=200, n_seeds=2, record_every=50)
    fixed = np.zeros((2, 3))
    figs.append(plots.soft_threshold_figure(s, np.zeros((2, 3)), [0.0, 1.0], 0.05))
    figs.append(plots.learning_curves_figure(run.t, run.x, s, fixed, [0.0, 1.0], [0, 2],
                                             t_drop=5.0, panels=(0, 1)))
    figs.append(plots.stationary_losses_figure([0.0, 1.0], train_exact=[0, 1], test_exact=[1, 0],
                                               train_sim=[0, 1], test_sim=[1, 0],
                                               train_end=np.ones((2, 3)), test_end=np.ones((2, 3))))
    for fig in figs:
        assert isinstance(fig, Figure)
        plt.close(fig)
    with pytest.raises(ValueError, match="simulated values"):
        plots.prototype_paths_figure(sim.t, sim.x, zetas, 1.5, show=(0.7,))


@pytest.mark.parametrize("mu, zeta", [(0.5, 0.5), (0.5, 2.5), (2.0, 0.5), (2.0, 2.5), (1.5, 1.75)])
def test_prototype_explorer_draws_both_regimes(mu, zeta):
    fig = plots.prototype_explorer(mu=mu, zeta=zeta)
    title = fig._suptitle.get_text()
    assert ("no collapse" in title) == (zeta**2 < 2 * mu)
    plt.close(fig)


def test_reports(runs):
    _, sweeps, two = runs
    gap = dx.equal_time_gap(sweeps["lr"], SMALL.steps)
    noise = dx.noise_beyond_mean(sweeps["label_noise"], sweeps["label_smoothing"])
    text = dx.controls_report(gap, noise, SMALL.lrs)
    assert text.count("\n") == 2 and "ηt = 8" in text           # τ = 0.2 · 40
    lines = dx.two_phase_report(two).splitlines()
    assert len(lines) == 2 and lines[0].startswith("T1 =     10")
    assert dx.levels_text(np.array([1000, 2000])) == "1000, 2000"
    assert dx.levels_text([0.05, 0.5]) == "0.05, 0.5"


def test_pathwise_errors_shrink_with_the_step():
    from theory.stochastic_collapse import pathwise_errors

    dts, errs = pathwise_errors(1.5, 1.0, theta0=0.7, T=2.0, steps=(200, 800, 3200), n_paths=50,
                                seed=0)
    np.testing.assert_allclose(dts, [0.01, 0.0025, 0.000625])
    assert np.all(np.diff(errs) < 0)
    assert 0.3 < np.polyfit(np.log(dts), np.log(errs), 1)[0] < 0.8       # strong order ½
    with pytest.raises(ValueError, match="steps"):
        pathwise_errors(1.5, 1.0, theta0=0.7, T=2.0, steps=(0, 10))


def test_deep_analyses_bundle_the_tables(runs):
    data, sweeps, two = runs
    rho = dx.collapse_trends(sweeps)
    assert set(rho) == {"lr", "batch_size", "label_noise"}
    for k, levels in [("lr", SMALL.lrs), ("batch_size", SMALL.batches), ("label_noise", SMALL.noises)]:
        np.testing.assert_array_equal(rho[k], dx.per_seed_spearman(levels, dx.independent_table(sweeps[k])))
    text = dx.trends_report(rho)
    assert text.startswith("per-seed Spearman ρ: η [") and ",  B [" in text and ",  p [" in text
    assert dx.trends_report({"lr": np.array([-1.0, -0.5])}) == "per-seed Spearman ρ: η [-1.  -0.5]"
    with pytest.raises(ValueError, match="rho"):
        dx.trends_report({"depth": np.zeros(2)})
    with pytest.raises(ValueError, match="runs"):
        dx.collapse_trends({"label_smoothing": sweeps["label_smoothing"]})
    gap, noise = dx.noise_controls(sweeps, SMALL.steps)
    ref = dx.equal_time_gap(sweeps["lr"], SMALL.steps)
    assert gap.keys() == ref.keys() and gap["share"] == ref["share"] and gap["tau"] == 8.0
    np.testing.assert_array_equal(gap["per_seed"], ref["per_seed"])
    np.testing.assert_array_equal(
        noise["diff"], dx.noise_beyond_mean(sweeps["label_noise"], sweeps["label_smoothing"])["diff"])
    with pytest.raises(ValueError, match="label_smoothing"):
        dx.noise_controls({k: sweeps[k] for k in ("lr", "label_noise")}, SMALL.steps)
    trend = dx.two_phase_trend(two)
    acc = dx.final_table(two, "test_accuracy")
    np.testing.assert_array_equal(trend["rho"],
                                  dx.per_seed_spearman(SMALL.t1, dx.independent_table(two)))
    assert trend["acc_gain"] == acc[-1].mean() - acc[0].mean()
    assert "T1 = 20 minus T1 = 10" in trend["report"]
    with pytest.raises(TypeError, match="two_phase"):
        dx.two_phase_trend(sweeps["lr"])


def test_deep_text_reports(runs):
    data, sweeps, two = runs
    timed = dx.sweep_report(sweeps, timing=True).splitlines()
    assert timed[0].startswith(f"{sum(r.n_configs for r in sweeps.values())} networks trained in ")
    assert timed[1:] == dx.sweep_report(sweeps).splitlines()
    with pytest.raises(TypeError, match="timing"):
        dx.sweep_report(sweeps, timing=1)
    assert dx.setup_report(SMALL, data) == (f"digits: {data.n_train} train, {data.y_test.size} test.  "
                                            f"{SMALL.scale_note}; seeds [0, 1]")
    with pytest.raises(TypeError, match="data"):
        dx.setup_report(SMALL, None)
    assert dx.training_time(sweeps, two).startswith("training time: sweeps ")
    assert dx.training_time(sweeps, two).endswith(f"two-phase {two.meta['wall_s']:.1f} s")
