"""The general linear teacher–student (theory.stochastic_collapse.general_teacher_student): the
official schedule and data, SGD against hand-written steps, batching and pairing, the measures,
the figure, and bad input."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from theory.core import Result, Sweep, counter_words  # noqa: E402
from theory.stochastic_collapse import general_teacher_student as gts  # noqa: E402
from theory.stochastic_collapse import plots  # noqa: E402
from theory.stochastic_collapse.deep import effective_rank  # noqa: E402

SMALL = dict(N=32, n=6, m=5, rank=2)


@pytest.fixture(scope="module")
def data():
    return gts.teacher_student_data(**SMALL, seed=0)


def test_schedule_is_the_official_loop():
    # run_teacher_student_general.py: lr = 0; each step `if i < 10000: lr += 3e-4`, then
    # `if i in [50000, 53000]: lr *= 0.1`, then the update with lr.
    lr, expect = 0.0, []
    for i in range(100_000):
        if i < 10_000:
            lr += 3e-4
        if i in (50_000, 53_000):
            lr *= 0.1
        expect.append(lr)
    got = gts.general_lr(np.arange(100_000), 100_000)
    np.testing.assert_allclose(got, expect, rtol=1e-9)
    assert gts.general_lr(0, 100_000) == pytest.approx(3e-4)
    assert gts.general_lr(9, 100, peak=1.0) == pytest.approx(1.0)       # compressed: warm-up 10
    assert gts.general_lr(53, 100, peak=1.0) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="step"):
        gts.general_lr(-1, 100)
    with pytest.raises(ValueError, match="steps"):
        gts.general_lr(0, 5)


def test_data_is_the_official_set_up():
    d = gts.teacher_student_data(seed=3)
    assert d.X.shape == (1024, 64) and d.y.shape == (1024, 64) and d.W.shape == (64, 64)
    s = np.linalg.svd(d.W, compute_uv=False)
    np.testing.assert_allclose(s[:8], np.linspace(1.0, 0.5, 8), atol=1e-12)
    assert np.all(s[8:] < 1e-12)
    assert 0 <= d.X.min() and d.X.max() <= 1 / 8
    assert 0 <= d.V0.min() and d.V0.max() <= 0.5 and d.U0.shape == (64, 64)
    noise = d.y - d.X @ d.W
    assert noise.std() == pytest.approx(0.5 / 8, rel=0.02)
    again = gts.teacher_student_data(seed=3)
    np.testing.assert_array_equal(again.y, d.y)
    assert not np.array_equal(gts.teacher_student_data(seed=4).X, d.X)
    with pytest.raises(ValueError, match="rank"):
        gts.teacher_student_data(n=4, m=4, rank=5)
    with pytest.raises(ValueError, match="init_scale"):
        gts.teacher_student_data(init_scale=0.0)


def test_neuron_matrix():
    V, U = np.arange(9.0).reshape(3, 3), np.ones((3, 2))
    w = gts.neuron_matrix(V, U)
    np.testing.assert_array_equal(w[1], [1.0, 4.0, 7.0, 1.0, 1.0])      # V[:, 1], U[1, :]
    assert gts.neuron_matrix(np.stack([V, V]), np.stack([U, U])).shape == (2, 3, 5)
    with pytest.raises(ValueError, match="V must be"):
        gts.neuron_matrix(np.ones((3, 2)), U)


def _manual(data, B, seed_value, steps, peak):
    """Hand-written SGD of the official script on the draws train_teacher_student makes."""
    V, U = data.V0.copy(), data.U0.copy()
    for t in range(steps):
        if B == data.N:
            x, y = data.X, data.y
        else:
            idx = counter_words(np.array([seed_value]), t, (B,), 0).numpy()[0] % data.N
            x, y = data.X[idx], data.y[idx]
        R = x @ V @ U - y
        gV, gU = x.T @ R @ U.T, (x @ V).T @ R
        lr = gts.general_lr(t, steps, peak)
        V, U = V - lr * gV / B, U - lr * gU / B
    return V, U


def test_sgd_matches_the_hand_written_steps_and_is_paired(data):
    sweep = Sweep(batch_size=[1, 4, 32], seed=[0, 5])
    run = gts.train_teacher_student(data, sweep, steps=40, peak_lr=0.5, record_every=20,
                                    progress=False)
    assert isinstance(run, Result) and run.sweep is sweep and run.steps.tolist() == [0, 20, 40]
    seeds = sweep.seeds(gts._SALT, "minibatch", axes=("seed",))
    for g, (b, seed) in enumerate(zip(sweep.column("batch_size"), seeds)):
        V, U = _manual(data, int(b), int(seed), 40, 0.5)
        np.testing.assert_allclose(run.params["V"][g], V, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(run.params["U"][g], U, rtol=1e-10, atol=1e-12)
    # the full batch (B = N = 32) does not depend on the seed: one run, shared
    np.testing.assert_array_equal(run.params["V"][4], run.params["V"][5])
    # a configuration trains the same alone: same seed, same draws
    alone = gts.train_teacher_student(data, Sweep(batch_size=[4], seed=[5]), steps=40, peak_lr=0.5,
                                      record_every=20, progress=False)
    assert torch.equal(torch.from_numpy(alone.params["V"][0]), torch.from_numpy(run.params["V"][3]))
    np.testing.assert_array_equal(alone["test_loss"][0], run["test_loss"][3])


def test_measures_and_trends(data):
    sweep = Sweep(batch_size=[2, 32], seed=[0, 1])
    run = gts.train_teacher_student(data, sweep, steps=30, peak_lr=0.5, progress=False)
    P = run.params["V"] @ run.params["U"]
    np.testing.assert_allclose(run["test_loss"][:, -1], np.mean((P - data.W) ** 2, axis=(1, 2)))
    np.testing.assert_allclose(run["train_loss"][:, -1],
                               0.5 * np.sum((data.X @ P - data.y) ** 2, axis=(1, 2)))
    np.testing.assert_allclose(run["effective_rank_map"][:, -1], effective_rank(P))
    np.testing.assert_allclose(run["effective_rank"][:, -1],
                               effective_rank(gts.neuron_matrix(run.params["V"], run.params["U"])))
    np.testing.assert_allclose(run["modes_above_0.1"][:, -1], (run.meta["s_map"] > 0.1).sum(1))
    assert np.all(run["independent"] <= 1.0)
    tr = gts.batch_trends(run)
    assert tr["table"]["test_loss"].shape == (2, 2) and tr["rho"]["test_loss"].shape == (2,)
    assert len(gts.general_report(run).splitlines()) == 2
    fig = plots.general_teacher_student_figure(run, data.s_teacher)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    plt.close(fig)


def test_a_diverging_student_gives_nan_not_an_error(data):
    run = gts.train_teacher_student(data, Sweep(batch_size=[32], seed=[0]), steps=40,
                                    peak_lr=1e4, progress=False)
    assert np.isnan(run["test_loss"][0, -1]) and np.isnan(run.meta["s_map"][0]).all()


def test_bad_input(data):
    ok = Sweep(batch_size=[1], seed=[0])
    with pytest.raises(TypeError, match="data"):
        gts.train_teacher_student({}, ok, steps=10)
    with pytest.raises(ValueError, match="sweep"):
        gts.train_teacher_student(data, Sweep(seed=[0]), steps=10)
    with pytest.raises(ValueError, match="batch_size"):
        gts.train_teacher_student(data, Sweep(batch_size=[64], seed=[0]), steps=10)
    with pytest.raises(ValueError, match="steps"):
        gts.train_teacher_student(data, ok, steps=5)
    with pytest.raises(TypeError, match="progress"):
        gts.train_teacher_student(data, ok, steps=10, progress=1)
    with pytest.raises(TypeError, match="result"):
        gts.batch_trends(Result(steps=[0, 1]))


def test_setup_at_both_scales(monkeypatch):
    monkeypatch.setenv("THEORY_SCALE", "laptop")
    lap = gts.general_setup()
    monkeypatch.setenv("THEORY_SCALE", "paper")
    pap = gts.general_setup()
    assert lap["batch_sizes"] == pap["batch_sizes"] == [1, 2, 4, 8, 16, 1024]
    assert pap["steps"] == 100_000 and lap["steps"] == 10_000 and len(pap["seeds"]) == 16
