"""The shared core's batched machinery: sweeps, streams, schedules, the trainer, the result."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from theory.core import (Result, Sweep, check_scalar, config_seed, counter_normal, counter_uniform,
                         counter_words, figure, first_crossing, record_steps, resolve_device,
                         resolve_dtype, torch_generator, train_batched)


# ---- sweeps and seeds ------------------------------------------------------------------------

def test_sweep_flattens_in_c_order_and_back():
    sw = Sweep(alpha=[0.1, 1.0, 10.0], seed=[0, 1])
    assert len(sw) == 6 and sw.shape == (3, 2) and sw.dims == ("alpha", "seed")
    assert sw.configs()[1] == {"alpha": 0.1, "seed": 1}
    np.testing.assert_array_equal(sw.column("alpha"), [0.1, 0.1, 1.0, 1.0, 10.0, 10.0])
    np.testing.assert_array_equal(sw.column("seed"), [0, 1, 0, 1, 0, 1])
    grid = sw.unflatten(np.arange(6))
    assert grid[2, 1] == 5
    ds = sw.to_dataset({"loss": np.arange(12.0).reshape(6, 2)}, dims={"loss": ("step",)},
                       coords={"step": [0, 10]})
    assert ds["loss"].dims == ("alpha", "seed", "step")
    assert float(ds["loss"].sel(alpha=10.0, seed=0, step=10)) == 9.0


def test_sweep_seeds_depend_on_the_configuration_only():
    small = Sweep(M=[8], seed=[3])
    big = Sweep(M=[2, 8, 32], seed=[0, 1, 2, 3])
    s_small = small.seeds("init")[0]
    s_big = big.seeds("init").reshape(3, 4)[1, 3]
    assert s_small == s_big
    assert len(set(big.seeds("init").tolist())) == len(big)          # no two streams alike
    # the seed + g scheme's collision (model g at seed s == model g-1 at seed s+1) is gone
    assert big.seeds("init").reshape(3, 4)[1, 0] != big.seeds("init").reshape(3, 4)[0, 1]
    paired = big.seeds("init", axes=("seed",)).reshape(3, 4)
    assert (paired == paired[0]).all()


def test_sweep_rejects_bad_axes():
    with pytest.raises(ValueError, match="at least one"):
        Sweep(a=[])
    with pytest.raises(ValueError, match="finite"):
        Sweep(a=[1.0, float("nan")])
    with pytest.raises(TypeError, match="list of values"):
        Sweep(a="abc")
    with pytest.raises(ValueError, match="repeated"):
        Sweep(a=[1, 1])
    with pytest.raises(ValueError, match="reserved"):
        Sweep(step=[1])
    with pytest.raises(ValueError, match="axes"):
        Sweep(a=[1]).column("b")
    with pytest.raises(ValueError, match="first axis"):
        Sweep(a=[1, 2]).unflatten(np.zeros(3))


def test_config_seed_is_stable_and_typed():
    assert config_seed(1, "init") == config_seed(1, "init")
    assert config_seed(1) != config_seed("1") != config_seed(True)
    assert config_seed(2) == config_seed(2.0)
    assert 0 <= config_seed(-5, 0.25) < 2**63
    with pytest.raises(ValueError):
        config_seed(float("inf"))
    with pytest.raises(TypeError):
        config_seed([1, 2])
    a = torch.randn(3, generator=torch_generator(config_seed(7)))
    b = torch.randn(3, generator=torch_generator(config_seed(7)))
    assert torch.equal(a, b)


def test_counter_words_match_the_stochastic_collapse_hash_and_do_not_depend_on_batching():
    seeds = np.array([5, 17, 2**40 + 3])
    w = counter_words(seeds, 9, (4,), stream=1)
    assert w.shape == (3, 4) and int(w.min()) >= 0 and int(w.max()) < 2**32
    alone = counter_words(seeds[1:2], 9, (4,), stream=1)
    assert torch.equal(w[1:2], alone)
    many = counter_words(seeds, torch.arange(3, 11), (4,), stream=1)
    assert many.shape == (8, 3, 4) and torch.equal(many[6], w)
    # the words of the hash scheme the stochastic-collapse chapter was written with (frozen)
    ref = counter_words(np.array([5, 17, 12345]), torch.arange(4), (6,), stream=2)
    assert ref[1, 2, :3].tolist() == [877405235, 491501917, 1831021365]
    u = counter_uniform(np.arange(50), 0, (2000,))
    assert abs(float(u.mean()) - 0.5) < 0.01
    z = counter_normal(np.arange(50), 3, (2000,))
    assert abs(float(z.mean())) < 0.02 and abs(float(z.std()) - 1) < 0.02
    with pytest.raises(TypeError):
        counter_words(np.array([0.5]), 0)
    with pytest.raises(ValueError):
        counter_words(np.array([1]), -1)


# ---- schedules -------------------------------------------------------------------------------

def test_record_steps():
    np.testing.assert_array_equal(record_steps(10, every=4), [0, 4, 8, 10])
    np.testing.assert_array_equal(record_steps(10, at=[3, 3, 7]), [0, 3, 7, 10])
    assert record_steps(1000, n_log=20)[0] == 0 and record_steps(1000, n_log=20)[-1] == 1000
    np.testing.assert_array_equal(record_steps(3), [0, 1, 2, 3])
    with pytest.raises(ValueError, match="steps"):
        record_steps(0)
    with pytest.raises(ValueError, match=r"at must lie"):
        record_steps(10, at=[11])
    with pytest.raises(TypeError, match="every"):
        record_steps(10, every=2.5)


def test_first_crossing():
    steps = np.array([1, 10, 100, 1000])
    v = np.array([[0.1, 0.4, 0.8, 0.9], [0.6, 0.7, 0.8, 0.9], [0.1, 0.1, 0.1, 0.2]])
    np.testing.assert_array_equal(first_crossing(v, steps, 0.5), [100, 1, np.nan])
    log = first_crossing(v, steps, 0.5, log_interpolate=True)
    assert math.isclose(log[0], 10 ** (1 + 0.25)) and log[1] == 1 and np.isnan(log[2])
    lin = first_crossing(v, steps, 0.5, interpolate="linear")
    assert math.isclose(lin[0], 10 + 0.25 * 90)
    np.testing.assert_array_equal(first_crossing(1 - v, steps, 0.5, direction="below"), [100, 1, np.nan])
    assert np.isnan(first_crossing([np.nan, np.nan], [0, 1], 0.5))
    with pytest.raises(ValueError, match="increasing"):
        first_crossing(v, steps[::-1], 0.5)
    with pytest.raises(ValueError, match="threshold"):
        first_crossing(v, steps, float("nan"))


# ---- validation ------------------------------------------------------------------------------

@given(st.sampled_from([float("nan"), float("inf"), -float("inf")]))
@settings(max_examples=10, deadline=None)
def test_check_scalar_rejects_non_finite(x):
    with pytest.raises(ValueError, match="my_arg"):
        check_scalar(x, "my_arg")


def test_check_scalar():
    assert check_scalar(3, "n", kind="int", min=1) == 3
    assert check_scalar(np.float64(0.5), "x", min=0, max=1) == 0.5
    with pytest.raises(TypeError, match="n must be an int"):
        check_scalar(2.0, "n", kind="int")
    with pytest.raises(TypeError, match="bool"):
        check_scalar(True, "x")
    with pytest.raises(TypeError, match="x must be a real number"):
        check_scalar("1", "x")
    with pytest.raises(ValueError, match=r"x must be in \(0, 1\]"):
        check_scalar(0.0, "x", min=0, max=1, include_min=False)
    with pytest.raises(ValueError, match=r"\[1, inf\)"):
        check_scalar(0, "n", kind="int", min=1)


def test_device_and_dtype():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_dtype() == torch.float64 and resolve_dtype("float32") == torch.float32
    with pytest.raises(ValueError):
        resolve_device("tpu")
    with pytest.raises(TypeError):
        resolve_dtype(torch.int64)
    with pytest.raises(TypeError):
        resolve_device(3)


def test_figure_convention():
    fig, axes = figure(1, 2, width="wide")
    assert tuple(fig.get_size_inches()) == (9.6, 3.2) and len(axes) == 2
    with pytest.raises(ValueError, match="width"):
        figure(width="huge")


# ---- the trainer -----------------------------------------------------------------------------

def _regression(G, seeds, n=32, d=5):
    """G linear-regression problems, each from its own stream."""
    X = torch.stack([torch.randn(n, d, generator=torch_generator(int(s)), dtype=torch.float64)
                     for s in seeds])
    w_star = torch.stack([torch.randn(d, generator=torch_generator(int(s) + 1), dtype=torch.float64)
                          for s in seeds])
    y = torch.einsum("gnd,gd->gn", X, w_star)
    w0 = torch.zeros(G, d, dtype=torch.float64)
    return X, y, w0


def _run(seeds, lrs, optimizer, **kw):
    X, y, w0 = _regression(len(seeds), seeds)

    def loss_fn(P, step):
        r = torch.einsum("gnd,gd->gn", X, P["w"]) - y
        return 0.5 * (r ** 2).mean(1)

    def metrics(P, step):
        return {"train_loss": loss_fn(P, step)}

    return train_batched({"w": w0}, steps=30, lr=np.asarray(lrs), loss_fn=loss_fn,
                         optimizer=optimizer, record=record_steps(30, every=10),
                         metrics=metrics, progress=False, **kw)


@pytest.mark.parametrize("optimizer,kw", [("sgd", {}), ("sgd", {"momentum": 0.9, "weight_decay": 1e-3}),
                                          ("adam", {"weight_decay": 1e-3})])
def test_a_configuration_is_bit_identical_alone_and_in_a_batch(optimizer, kw):
    seeds = [config_seed(s, "data") for s in range(5)]
    lrs = [0.01, 0.02, 0.05, 0.1, 0.2]
    batch = _run(seeds, lrs, optimizer, **kw)
    alone = _run(seeds[3:4], lrs[3:4], optimizer, **kw)
    assert batch["train_loss"].shape == (5, 4)
    np.testing.assert_array_equal(batch.params["w"][3:4], alone.params["w"])
    np.testing.assert_array_equal(batch["train_loss"][3:4], alone["train_loss"])
    reordered = _run(seeds[::-1], lrs[::-1], optimizer, **kw)
    np.testing.assert_array_equal(reordered.params["w"][1], batch.params["w"][3])


@pytest.mark.parametrize("optimizer,kw,torch_opt", [
    ("sgd", {"momentum": 0.9, "weight_decay": 1e-2}, lambda p, lr: torch.optim.SGD(p, lr=lr, momentum=0.9, weight_decay=1e-2)),
    ("adam", {"weight_decay": 1e-2}, lambda p, lr: torch.optim.Adam(p, lr=lr, weight_decay=1e-2)),
])
def test_updates_follow_pytorch(optimizer, kw, torch_opt):
    seeds = [config_seed(s, "data") for s in range(3)]
    lrs = [0.01, 0.05, 0.1]
    batch = _run(seeds, lrs, optimizer, **kw)
    for g in range(3):
        X, y, w0 = _regression(1, seeds[g:g + 1])
        w = w0[0].clone().requires_grad_(True)
        opt = torch_opt([w], lrs[g])
        for _ in range(30):
            opt.zero_grad()
            (0.5 * ((X[0] @ w - y[0]) ** 2).mean()).backward()
            opt.step()
        np.testing.assert_allclose(batch.params["w"][g], w.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_grad_fn_and_schedule():
    a = torch.tensor([[1.0], [2.0]], dtype=torch.float64)
    res = train_batched({"x": a}, steps=4, lr=lambda s: 0.5 if s < 2 else 0.0,
                        grad_fn=lambda P, s: {"x": P["x"]},                 # d/dx ½x² = x
                        record=[1, 2, 3], metrics=lambda P, s: {"x": P["x"][:, 0]})
    np.testing.assert_allclose(res["x"], [[1, 0.5, 0.25, 0.25, 0.25], [2, 1, 0.5, 0.5, 0.5]])
    np.testing.assert_array_equal(res.steps, [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(a, [[1.0], [2.0]])                       # caller's tensor untouched


def test_trainer_rejects_bad_input():
    p = {"w": torch.zeros(2, 3, dtype=torch.float64)}
    grad = lambda P, s: {"w": torch.zeros_like(P["w"])}  # noqa: E731
    with pytest.raises(ValueError, match="exactly one"):
        train_batched(p, steps=2, lr=0.1)
    with pytest.raises(ValueError, match="steps"):
        train_batched(p, steps=0, lr=0.1, grad_fn=grad)
    with pytest.raises(ValueError, match="optimizer"):
        train_batched(p, steps=2, lr=0.1, grad_fn=grad, optimizer="lbfgs")
    with pytest.raises(ValueError, match=r"lr must be a number or an array of shape \(G,\)"):
        train_batched(p, steps=2, lr=np.ones(3), grad_fn=grad)
    with pytest.raises(ValueError, match="lr must be finite"):
        train_batched(p, steps=2, lr=float("nan"), grad_fn=grad)
    with pytest.raises(ValueError, match="momentum"):
        train_batched(p, steps=2, lr=0.1, grad_fn=grad, momentum=1.0)
    with pytest.raises(ValueError, match="leading configuration axis"):
        train_batched({"a": torch.zeros(2, 1), "b": torch.zeros(3, 1)}, steps=2, lr=0.1, grad_fn=grad)
    with pytest.raises(TypeError, match="floating-point"):
        train_batched({"w": torch.zeros(2, 3, dtype=torch.int64)}, steps=2, lr=0.1, grad_fn=grad)
    with pytest.raises(ValueError, match=r"loss_fn must return a tensor of shape \(G,\)"):
        train_batched(p, steps=2, lr=0.1, loss_fn=lambda P, s: P["w"].sum())


def test_result_labels_and_checks():
    sw = Sweep(lr=[0.1, 0.2], seed=[0, 1, 2])
    res = Result(steps=np.array([0, 5]), metrics={"test_loss": np.zeros((6, 2))}, sweep=sw)
    ds = res.to_dataset()
    assert ds["test_loss"].dims == ("lr", "seed", "step")
    assert res.final("test_loss").shape == (6,)
    with pytest.raises(ValueError, match="G, T=2"):
        Result(steps=np.array([0, 5]), metrics={"x": np.zeros((6, 3))})
    with pytest.raises(ValueError, match="configurations"):
        Result(steps=np.array([0]), metrics={"x": np.zeros((4, 1))}, sweep=sw)
    with pytest.raises(KeyError, match="recorded"):
        res["nope"]
    assert Result(steps=[0, 1], metrics={"x": np.zeros((2, 2))}).to_dataset()["x"].dims == ("config", "step")
