"""IMP with rewinding (theory.lottery spine) and the IMP page's analyses (theory.lottery.analysis):
the schedule 1 − α^L to within 1/(2D), nested masks, pruning the smallest retrained weights, clear
errors on bad input, matching levels, and the new-small-weights measure on runs whose answer is
known (order kept: 0; unrelated: chance)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from theory.core import Sweep  # noqa: E402
from theory.lottery import (MLP, IMPRun, IMPSettings, is_nested, load_split, magnitude_prune,  # noqa: E402
                            matching, n_kept, run_imp, run_one_shot, sparsity, train_masked)
from theory.lottery import analysis as an  # noqa: E402


# ---------------------------------------------------------------- a tiny real run (shared)

@pytest.fixture(scope="module")
def tiny():
    net = MLP((64, 12, 10))
    split = load_split("digits", n_train=300)
    st = IMPSettings(steps=40, lr=0.05, batch_size=16, levels=4)
    imp = run_imp(net, split, st, seeds=(0, 1), rewind_steps=(0, 5), progress=False)
    one = run_one_shot(net, split, st, seeds=(0, 1), rewind_steps=(0, 5), progress=False)
    return net, split, st, imp, one


def test_schedule_is_exact_on_runs(tiny):
    net, _, st, imp, one = tiny
    D = net.n_weights
    for run in (imp, one):
        dev = an.schedule_deviation(run)
        assert dev.shape == (len(run.sweep), st.levels + 1)
        assert dev.max() <= 1 / (2 * D)
        kept = run.masks.sum(-1)
        assert torch.all(kept == torch.tensor([n_kept(D, st.alpha, L) for L in range(st.levels + 1)],
                                              dtype=kept.dtype))


def test_n_kept_rounds_alpha_power():
    for D in (7, 100, 3392, 25856):
        for alpha in (0.5, 0.8, 0.95):
            for L in range(0, 25):
                k = n_kept(D, alpha, L)
                if alpha ** L * D >= 0.5:   # equality at exact halves (0.5³·100 = 12.5): float slack
                    assert abs(k / D - alpha ** L) <= 1 / (2 * D) + 1e-15
                else:
                    assert k == 1  # never prune the last weight
    assert np.allclose(sparsity(0.8, np.arange(4)), [0, 0.2, 0.36, 0.488])


def test_masks_nested_and_solutions_masked(tiny):
    net, _, _, imp, one = tiny
    D = net.n_weights
    for run in (imp, one):
        assert is_nested(run.masks)
        assert not is_nested(run.masks.flip(1))  # the check can fail
        assert torch.all(run.theta[..., :D][run.masks == 0] == 0)


def test_imp_prunes_the_smallest_retrained_weights(tiny):
    net, _, st, imp, _ = tiny
    D = net.n_weights
    mag = np.flatnonzero(imp.sweep.column("pruning") == "magnitude")
    for g in mag:
        for L in range(st.levels):
            w = imp.theta[g, L, :D].abs().double().numpy()
            alive = imp.masks[g, L].numpy() > 0
            keep = n_kept(D, st.alpha, L + 1)
            order = np.argsort(-np.where(alive, w, -np.inf), kind="stable")
            expect = np.zeros(D)
            expect[order[:keep]] = 1
            assert np.array_equal(imp.masks[g, L + 1].numpy(), expect)


def test_one_shot_masks_are_top_k_of_the_dense_solution(tiny):
    net, _, st, imp, one = tiny
    D = net.n_weights
    for g in range(len(one.sweep)):
        w = one.theta[g, 0, :D].abs().double().numpy()
        for L in range(1, st.levels + 1):
            top = np.argsort(-w, kind="stable")[:n_kept(D, st.alpha, L)]
            assert set(np.flatnonzero(one.masks[g, L].numpy())) == set(top.tolist())


def test_random_pruning_differs_from_magnitude(tiny):
    net, _, _, imp, _ = tiny
    i = an.select(imp, "magnitude", 5)
    j = an.select(imp, "random", 5)
    overlap = (imp.masks[i, -1] * imp.masks[j, -1]).sum(-1) / imp.masks[i, -1].sum(-1)
    assert torch.all(overlap < 0.9)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("alpha", [0.0, 1.0, 1.5, -0.2])
def test_alpha_outside_open_unit_interval(alpha):
    with pytest.raises(ValueError, match="alpha"):
        IMPSettings(alpha=alpha)
    with pytest.raises(ValueError, match="alpha"):
        n_kept(100, alpha, 1)
    with pytest.raises(ValueError, match="alpha"):
        sparsity(alpha, 2)


def test_mask_of_the_wrong_shape(tiny):
    net, split, _, _, _ = tiny
    theta = net.init(np.array([1, 2]))
    bad = torch.ones(2, net.n_weights - 1)
    with pytest.raises(ValueError, match="mask must have shape"):
        train_masked(net, theta, bad, split, data_seeds=np.array([0, 1]), n_steps=2, lr=0.1)
    with pytest.raises(ValueError, match="mask must have shape"):
        train_masked(net, theta, torch.ones(3, net.n_weights), split, data_seeds=np.array([0, 1]),
                     n_steps=2, lr=0.1)
    with pytest.raises(ValueError, match="mask"):
        magnitude_prune(theta[:, :net.n_weights], bad, 5)
    with pytest.raises(ValueError, match="zeros and ones"):
        net.check_mask(torch.full((2, net.n_weights), 0.5))


@pytest.mark.parametrize("rewind", [40, 41, 1000, -1])
def test_rewind_step_beyond_training(tiny, rewind):
    net, split, st, _, _ = tiny
    with pytest.raises(ValueError, match="rewind_steps"):
        run_imp(net, split, st, seeds=(0,), rewind_steps=(0, rewind), progress=False)
    with pytest.raises(ValueError, match="rewind_steps"):
        run_one_shot(net, split, st, seeds=(0,), rewind_steps=(rewind,), progress=False)


def test_analysis_rejects_bad_arguments(tiny):
    _, _, _, imp, one = tiny
    with pytest.raises(TypeError, match="IMPRun"):
        an.highest_matching_level("run")
    with pytest.raises(ValueError, match="pruning"):
        an.select(imp, "one-shot", 0)
    with pytest.raises(ValueError, match="rewind"):
        an.select(imp, "magnitude", 7)
    with pytest.raises(ValueError, match="pruning"):
        an.new_small_weights(one, "magnitude")
    with pytest.raises(ValueError, match="level"):
        an.surviving_weights(imp, 0, 4)
    with pytest.raises(TypeError, match="runs"):
        an.matching_table([])
    with pytest.raises(TypeError, match="stats"):
        an.weights_figure(imp, {}, 0, 1)


# ---------------------------------------------------------------- analyses on made-up runs

def _fake_run(retrain, *, levels=3, widths=(40, 50, 20), seed=0, errors=None):
    """An IMPRun whose level-L solution is ``retrain(rewind_weights, mask, L)``; masks by
    magnitude from each level's solution, as IMP makes them."""
    net = MLP(widths)
    D, P = net.n_weights, net.n_params
    g = torch.Generator().manual_seed(seed)
    rewind = torch.randn(1, P, generator=g, dtype=torch.float64)
    masks, thetas = [torch.ones(1, D, dtype=torch.float64)], []
    for L in range(levels + 1):
        th = rewind.clone()
        th[:, :D] = retrain(rewind[:, :D], masks[-1], g) * masks[-1]
        thetas.append(th)
        if L < levels:
            masks.append(magnitude_prune(th[:, :D], masks[-1], n_kept(D, 0.8, L + 1)))
    err = np.zeros((1, levels + 1)) if errors is None else np.asarray(errors, dtype=float)[None]
    sweep = Sweep(pruning=("magnitude",), rewind=(0,), seed=(0,))
    return IMPRun(net, IMPSettings(levels=levels), sweep, torch.stack(thetas, 1), torch.stack(masks, 1),
                  rewind, err, err, err, err)


def test_new_small_weights_zero_when_retraining_keeps_the_order():
    run = _fake_run(lambda w, m, g: 3.0 * w)
    out = an.new_small_weights(run)
    assert out["fraction_new"].shape == (1, 3)
    assert np.all(out["fraction_new"] == 0)
    assert np.allclose(out["rank_correlation"], 1.0)
    n = np.array([n_kept(run.net.n_weights, 0.8, L) for L in range(4)])
    assert np.allclose(out["chance"], 1 - (n[:-1] - n[1:]) / n[:-1])


def test_new_small_weights_at_chance_when_retraining_is_unrelated():
    run = _fake_run(lambda w, m, g: torch.randn(w.shape, generator=g, dtype=torch.float64))
    out = an.new_small_weights(run)
    assert np.allclose(out["fraction_new"], out["chance"], atol=0.1)   # ≥ 5 σ of the hypergeometric
    assert np.all(np.abs(out["rank_correlation"]) < 0.1)


def test_new_small_weights_reversed_order_is_all_new():
    # retraining that reverses the order of |w|: the smallest after were the largest before
    run = _fake_run(lambda w, m, g: 1.0 / w)
    out = an.new_small_weights(run)
    assert np.all(out["fraction_new"] == 1.0)
    assert np.allclose(out["rank_correlation"], -1.0)


def test_highest_matching_level_is_the_last_matching_level():
    base = [0.05, 0.07, 0.055, 0.059, 0.2]          # tolerance 0.01: levels 2, 3 match, 1 does not
    run = _fake_run(lambda w, m, g: w, levels=4, errors=base)
    assert matching(run).tolist() == [[True, False, True, True, False]]
    assert an.highest_matching_level(run).tolist() == [3]
    assert an.highest_matching_level(run, tolerance=0.0).tolist() == [0]
    assert an.highest_matching_level(run, tolerance=0.2).tolist() == [4]


def test_schedule_deviation_detects_a_wrong_count():
    run = _fake_run(lambda w, m, g: w)
    D = run.net.n_weights
    assert an.schedule_deviation(run).max() <= 1 / (2 * D)
    run.masks[0, 2, torch.nonzero(run.masks[0, 2] == 0)[0]] = 1.0   # one weight too many
    assert an.schedule_deviation(run)[0, 2] > 1 / (2 * D)


def test_select_orders_by_seed_and_pairs_runs(tiny):
    _, _, _, imp, one = tiny
    for run, method in ((imp, "random"), (one, "one-shot")):
        i = an.select(run, method, 5)
        assert run.sweep.column("seed")[i].tolist() == [0, 1]
        assert set(run.sweep.column("pruning")[i]) == {method}
        assert set(run.sweep.column("rewind")[i].tolist()) == {5}


def test_matching_table_and_figures(tiny):
    net, _, st, imp, one = tiny
    table = an.matching_table([imp, one])
    assert list(table.index) == [("magnitude", 0), ("magnitude", 5), ("random", 0), ("random", 5),
                                 ("one-shot", 0), ("one-shot", 5)]
    top = an.highest_matching_level(imp)
    i = an.select(imp, "magnitude", 0)
    assert table.loc[("magnitude", 0), "L* max"] == top[i].max()
    assert np.isclose(table.loc[("magnitude", 0), "dense error %"], 100 * imp.test_error[i, 0].mean())
    fig = an.error_vs_sparsity_figure([imp, one])
    assert len(fig.axes) == 2 and fig.axes[0].get_ylabel() and fig.axes[0].get_xlabel()
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} >= {"magnitude", "random", "one-shot"}
    stats = an.new_small_weights(imp)
    assert stats["fraction_new"].shape == (4, st.levels)
    sw = an.surviving_weights(imp, int(i[0]), 1)
    assert sw["before"].size == n_kept(net.n_weights, st.alpha, 1)
    assert sw["pruned_next"].sum() == n_kept(net.n_weights, st.alpha, 1) - n_kept(net.n_weights, st.alpha, 2)
    fig2 = an.weights_figure(imp, stats, int(i[0]), 1)
    assert len(fig2.axes) == 3 and all(ax.get_xlabel() and ax.get_ylabel() for ax in fig2.axes)
    import matplotlib.pyplot as plt
    plt.close("all")
