"""Deep-network collapse (theory.stochastic_collapse.deep): the paper's metric on weights with
known answers, the batched SGD trainer against single runs and autograd, and bad input."""

import numpy as np
import pytest
import torch

from theory.core import Result, Sweep, counter_words
from theory.stochastic_collapse.deep import (DigitsData, _greedy_groups, _mlp_grads,
                                             collapse_stats, count_independent, effective_rank,
                                             identical_pairs,
                                             load_digits_data, mlp_layers, neuron_vectors,
                                             train_mlp, vanishing_neurons)




@pytest.fixture(scope="module")
def data():
    return load_digits_data()


def random_layer(rng, h=8, d=12):
    return rng.normal(size=(h, d))


# ---------------------------------------------------------------- the collapse metric


def test_neuron_vectors_concatenate_in_bias_out():
    rng = np.random.default_rng(0)
    W_in, b_in = rng.normal(size=(2, 5, 3)), rng.normal(size=(2, 5))
    W_out = rng.normal(size=(2, 4, 5))
    w = neuron_vectors(W_in, b_in, W_out)
    assert w.shape == (2, 5, 3 + 1 + 4)
    np.testing.assert_array_equal(w[1, 2], np.r_[W_in[1, 2], b_in[1, 2], W_out[1, :, 2]])


def test_zero_and_small_neurons_vanish():
    rng = np.random.default_rng(1)
    w = random_layer(rng)
    w[0] /= np.linalg.norm(w[0])
    w[1:] *= 2.0 / np.linalg.norm(w[1:], axis=1, keepdims=True)   # max norm 2
    w[3] = 0.0                                                     # a zero neuron
    w[4] *= 0.04                                                   # 0.08 / 2 = 0.04 < 0.1
    w[5] *= 0.06                                                   # 0.12 / 2 = 0.06 < 0.1
    w[6] *= 0.1                                                    # 0.2 / 2 = 0.1: kept
    v = vanishing_neurons(w)
    assert v.tolist() == [False, False, False, True, True, True, False, False]
    assert vanishing_neurons(np.zeros((3, 4))).all()               # an all-zero layer vanishes


def test_identical_pairs():
    rng = np.random.default_rng(2)
    w = random_layer(rng, h=6, d=50)
    w[4] = w[1]                                                    # equal
    w[5] = w[2] * 1.05                                             # 2·0.05²/(1 + 1.05²) ≈ 0.0024
    same = identical_pairs(w)
    assert same.shape == (6, 6) and np.array_equal(same, same.T) and not same.diagonal().any()
    pairs = {tuple(p) for p in np.argwhere(np.triu(same))}
    assert pairs == {(1, 4), (2, 5)}                               # random ones are distinct
    # the threshold: w and (1 + ε)w are at relative distance 2ε²/(1 + (1 + ε)²) = 0.1 at ε ≈ 0.381
    x = np.ones((1, 4))
    for eps, expected in ((0.37, True), (0.39, False)):           # boundary ε ≈ 0.381
        assert identical_pairs(np.vstack([x, (1 + eps) * x]))[0, 1] == expected


def test_count_independent_known_answers():
    rng = np.random.default_rng(3)
    a, b, c = rng.normal(size=(3, 20))
    layer = np.stack([a, b, c, a, np.zeros(20), 1.01 * a])         # groups {a, a, 1.01a}, b, c
    assert count_independent(layer) == 3
    assert count_independent(random_layer(rng, h=10, d=40)) == 10  # random neurons: all
    assert count_independent(np.zeros((4, 3))) == 0
    batched = count_independent(np.stack([layer, random_layer(rng, h=6, d=20)]))
    assert batched.tolist() == [3, 6]


def test_greedy_grouping_reproduces_the_official_quirk():
    # Neuron 1 sits between 0, 2 and 3, each identical to it, none identical to another. The
    # official compute_ind_node visits (0,1): group headed by 0 takes 1; (1,2): 2 is new, so
    # 1 heads a second group; (1,3): joins it. Two groups, where "keep a neuron unless it
    # duplicates a kept one" would keep 0, 2 and 3.
    base = np.array([10.0, 0.0, 0.0])
    ang = np.deg2rad([0.0, 120.0, 240.0])
    off = 2.5 * np.stack([0 * ang, np.cos(ang), np.sin(ang)], 1)
    w = np.stack([base + off[0], base, base + off[1], base + off[2]])
    same = identical_pairs(w)
    assert same[1, [0, 2, 3]].all() and not same[0, 2] and not same[0, 3] and not same[2, 3]
    assert _greedy_groups(same) == 2 == count_independent(w)


def test_collapse_stats_of_a_constructed_mlp():
    rng = np.random.default_rng(4)
    W0, b0 = rng.normal(size=(6, 5)), rng.normal(size=6)
    W1, b1 = rng.normal(size=(4, 6)), rng.normal(size=4)
    W2, b2 = rng.normal(size=(3, 4)), rng.normal(size=3)
    W0[2], b0[2], W1[:, 2] = 0.0, 0.0, 0.0                          # hidden 1, neuron 2: zero
    W0[5], b0[5], W1[:, 5] = W0[1], b0[1], W1[:, 1]                 # neuron 5 copies neuron 1
    W1[3], b1[3], W2[:, 3] = W1[0], b1[0], W2[:, 0]                 # hidden 2: 3 copies 0
    st = collapse_stats([W0, W1, W2], [b0, b1, b2])
    np.testing.assert_array_equal(st.n_independent, [4, 3])
    np.testing.assert_allclose(st.independent, [4 / 6, 3 / 4])
    np.testing.assert_allclose(st.vanishing, [1 / 6, 0.0])
    np.testing.assert_array_equal(st.width, [6, 4])
    stacked = collapse_stats([np.stack([W, W]) for W in (W0, W1, W2)],
                             [np.stack([b, b]) for b in (b0, b1, b2)])
    assert stacked.independent.shape == (2, 2)


# ---------------------------------------------------------------- gradients: invariant sets


def _params(rng, sizes, C=2):
    out = []
    for l in range(len(sizes) - 1):
        out += [torch.tensor(rng.normal(size=(C, sizes[l + 1], sizes[l])) / np.sqrt(sizes[l])),
                torch.tensor(rng.normal(size=(C, sizes[l + 1])) * 0.1)]
    return out


@pytest.mark.parametrize("activation", ["gelu", "tanh"])
def test_manual_backprop_matches_autograd(activation):
    rng = np.random.default_rng(5)
    params = _params(rng, [7, 6, 5, 4])
    x = torch.tensor(rng.normal(size=(2, 9, 7)))
    y = torch.tensor(rng.integers(0, 4, size=(2, 9)))
    smoothing = torch.tensor([0.0, 0.3], dtype=torch.float64)
    weight = torch.tensor(rng.random(size=(2, 9)))
    grads = _mlp_grads(params, x, y, smoothing, weight, activation)
    ps = [p.clone().requires_grad_(True) for p in params]
    act = torch.nn.functional.gelu if activation == "gelu" else torch.tanh
    h = x
    for l in range(3):
        h = torch.baddbmm(ps[2 * l + 1].unsqueeze(1), h, ps[2 * l].transpose(1, 2))
        h = act(h) if l < 2 else h
    q = torch.nn.functional.one_hot(y, 4).double()
    s = smoothing[:, None, None]
    q = (1 - s) * q + s * (1 - q) / 3
    loss = (-(q * torch.log_softmax(h, -1)).sum(-1) * weight).sum()
    for g, ga in zip(grads, torch.autograd.grad(loss, ps)):
        torch.testing.assert_close(g, ga, rtol=1e-10, atol=1e-12)


def test_vanishing_and_identical_neurons_are_invariant():
    # σ(0) = 0: a neuron with zero in-weights, bias and out-weights gets zero gradient; two
    # identical neurons get identical gradients (the paper's sign and permutation invariance).
    rng = np.random.default_rng(6)
    params = _params(rng, [5, 6, 6, 3])
    W0, b0, W1 = params[0], params[1], params[2]
    W0[:, 2], b0[:, 2], W1[:, :, 2] = 0.0, 0.0, 0.0
    W0[:, 4], b0[:, 4], W1[:, :, 4] = W0[:, 1], b0[:, 1], W1[:, :, 1]
    x = torch.tensor(rng.normal(size=(2, 11, 5)))
    y = torch.tensor(rng.integers(0, 3, size=(2, 11)))
    g = _mlp_grads(params, x, y, None, torch.full((2, 11), 1 / 11, dtype=torch.float64), "gelu")
    assert torch.all(g[0][:, 2] == 0) and torch.all(g[1][:, 2] == 0)
    assert torch.all(g[2][:, :, 2] == 0)
    torch.testing.assert_close(g[0][:, 4], g[0][:, 1])
    torch.testing.assert_close(g[2][:, :, 4], g[2][:, :, 1])


# ---------------------------------------------------------------- the batched trainer


def test_data(data):
    assert isinstance(data, DigitsData)
    assert data.n_train + data.y_test.size == 1797 and data.n_features == 64
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    np.testing.assert_allclose(data.X_train.mean(0), 0.0, atol=1e-5)


KW = dict(steps=60, hidden=16, weight_decay=1e-3, momentum=0.5, progress=False)


def test_shapes_and_records(data):
    run = train_mlp(data, lr=[0.1, 0.2, 0.3], batch_size=8, seed=[0, 1, 2], record_every=20,
                    depth=3, **KW)
    assert isinstance(run, Result)
    weights, biases = mlp_layers(run)
    assert run.n_configs == 3 and len(weights) == 4 and len(biases) == 4
    assert [w.shape for w in weights] == [(3, 16, 64), (3, 16, 16), (3, 16, 16), (3, 10, 16)]
    assert weights[0].dtype == np.float32
    np.testing.assert_array_equal(run.steps, [0, 20, 40, 60])
    assert run["test_accuracy"].shape == (3, 4) and run["independent"].shape == (3, 4, 3)
    assert set(run.metrics) == {"test_accuracy", "train_accuracy", "train_loss", "independent",
                                "vanishing", "effective_rank"}
    np.testing.assert_allclose(collapse_stats(weights, biases).effective_rank,
                               run["effective_rank"][:, -1])
    np.testing.assert_array_equal(run["independent"][:, 0], 1.0)  # random init: all independent
    np.testing.assert_array_equal(run.meta["config"]["batch_size"], [8, 8, 8])
    np.testing.assert_allclose(collapse_stats(weights, biases).independent,
                               run["independent"][:, -1])
    assert np.all(run["train_loss"][:, -1] < run["train_loss"][:, 0])


def test_a_configuration_is_bit_identical_alone_and_in_a_batch(data):
    # Its initialisation (torch_generator of its seed), minibatches and label flips
    # (counter_words of its seed) do not depend on the batch, and the batched matmuls act
    # slice by slice: torch.equal, not allclose. (group_batches=False, the masked program,
    # sums over more slots and agrees to rounding only.)
    cfg = dict(lr=np.array([0.1, 0.3, 0.2, 0.25]), batch_size=np.array([8, 32, 16, 16]),
               seed=np.array([3, 1, 2, 5]), label_noise=np.array([0.0, 0.5, 0.3, 0.1]),
               label_smoothing=np.array([0.1, 0.0, 0.0, 0.2]))
    grouped = train_mlp(data, **cfg, record_every=30, **KW)
    masked = train_mlp(data, **cfg, group_batches=False, **KW)
    for c in (0, 2):
        single = train_mlp(data, **{k: v[c] for k, v in cfg.items()}, record_every=30, **KW)
        for name, p in single.params.items():
            assert torch.equal(torch.from_numpy(grouped.params[name][c]), torch.from_numpy(p[0]))
            np.testing.assert_allclose(masked.params[name][c], p[0], rtol=1e-5, atol=1e-6)
        for name, m in single.metrics.items():
            np.testing.assert_array_equal(grouped[name][c], m[0])
    np.testing.assert_array_equal(grouped.meta["config"]["seed"], cfg["seed"])  # callers' order


def test_sweep_fills_configurations_and_labels_the_result(data):
    sweep = Sweep(lr=[0.1, 0.3], seed=[0, 1, 2])
    run = train_mlp(data, sweep=sweep, batch_size=8, record_every=30, **KW)
    assert run.sweep is sweep
    np.testing.assert_array_equal(run.meta["config"]["lr"], sweep.column("lr"))
    ds = run.to_dataset(dims={"independent": ("layer",), "vanishing": ("layer",),
                              "effective_rank": ("layer",)})
    assert ds["independent"].dims == ("lr", "seed", "step", "layer")
    assert ds["test_accuracy"].shape == (2, 3, 3)
    flat = train_mlp(data, lr=sweep.column("lr"), seed=sweep.column("seed"), batch_size=8,
                     record_every=30, **KW)
    np.testing.assert_array_equal(flat["independent"], run["independent"])
    with pytest.raises(ValueError, match="lr"):
        train_mlp(data, sweep=sweep, lr=0.2, batch_size=8, **KW)
    with pytest.raises(ValueError, match="sweep axes"):
        train_mlp(data, sweep=Sweep(width=[1, 2]), lr=0.1, batch_size=8, **KW)
    with pytest.raises(ValueError, match="equal lengths"):
        train_mlp(data, sweep=sweep, batch_size=[8, 16], **KW)
    with pytest.raises(TypeError, match="sweep"):
        train_mlp(data, sweep={"lr": [0.1]}, batch_size=8, **KW)
    with pytest.raises(TypeError, match="lr"):
        train_mlp(data, batch_size=8, **KW)


def test_schedule_and_stop(data):
    base = dict(batch_size=8, seed=4, hidden=16, progress=False)
    stopped = mlp_layers(train_mlp(data, lr=[0.2, 0.2], stop_step=[30, 50], steps=50, **base))[0]
    short = mlp_layers(train_mlp(data, lr=0.2, steps=30, **base))[0]
    np.testing.assert_array_equal(stopped[0][0], short[0][0])      # η = 0 from step 30 on
    assert not np.allclose(stopped[0][1], short[0][0])
    two = mlp_layers(train_mlp(data, lr=0.2, lr_late=1e-9, switch_step=30, steps=50, **base))[0]
    np.testing.assert_allclose(two[0][0], short[0][0], rtol=1e-4, atol=1e-6)


def test_label_noise_draws():
    # The minibatch and label-flip streams are theory.core.counter_words, the hash this module
    # used before the core existed: pinned values of the former _random_words(seed, step, slot, 0).
    seeds = torch.tensor([0, 7, 2**32 - 1])
    pinned = [[[2488251732, 3002921059, 4258319090], [3475429279, 4241213211, 61273690],
               [750385467, 4050140212, 2496964561]],
              [[3330041933, 2347428647, 650905394], [208202600, 1612423397, 4108635729],
               [1775295364, 3305893101, 2195530118]],
              [[412379574, 756925070, 1985601698], [2827559606, 3630825251, 864216650],
               [86434168, 2929813706, 752766367]]]
    assert counter_words(seeds, torch.tensor([0, 1, 4095]), (3,), 0).tolist() == pinned
    seeds = torch.tensor([0, 1, 2**32 - 1])
    w = counter_words(seeds, torch.arange(50), (400,), 0)
    assert w.shape == (50, 3, 400) and w.min() >= 0 and w.max() < 2**32
    counts = np.bincount((w % 10).flatten().numpy(), minlength=10)
    assert np.all(np.abs(counts / counts.sum() - 0.1) < 0.01)       # uniform classes
    assert not torch.equal(w[:, 0], w[:, 1])                         # seeds have their own streams
    other = counter_words(seeds, torch.arange(50), (400,), 1)
    assert abs(np.corrcoef(w.flatten().double(), other.flatten().double())[0, 1]) < 0.02


def test_all_labels_flipped_teaches_the_wrong_classes(data):
    run = train_mlp(data, lr=0.2, batch_size=32, label_noise=[0.0, 1.0], seed=0, steps=300,
                    hidden=32, progress=False)
    assert run["test_accuracy"][0, -1] > 0.85 and run["test_accuracy"][1, -1] < 0.05


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(lr=0.0), ValueError, "lr"),
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(lr=np.nan), ValueError, "lr"),
    (dict(lr="big"), TypeError, "lr"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=8.0), TypeError, "batch_size"),
    (dict(batch_size=True), TypeError, "batch_size"),
    (dict(label_noise=1.5), ValueError, "label_noise"),
    (dict(label_smoothing=-0.1), ValueError, "label_smoothing"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(seed=2**32), ValueError, "seed"),
    (dict(steps=0), ValueError, "steps"),
    (dict(steps=2.5), TypeError, "steps"),
    (dict(lr=[0.1, 0.2], seed=[0, 1, 2]), ValueError, "equal lengths"),
    (dict(lr=[[0.1]]), ValueError, "lr"),
    (dict(stop_step=20), ValueError, "stop_step"),
    (dict(lr_late=0.01), ValueError, "switch_step"),
    (dict(lr_late=0.0, switch_step=3), ValueError, "lr_late"),
    (dict(activation="relu"), ValueError, "activation"),
    (dict(momentum=1.0), ValueError, "momentum"),
    (dict(weight_decay=-1e-3), ValueError, "weight_decay"),
    (dict(hidden=0), ValueError, "hidden"),
    (dict(record_every=0), ValueError, "record_every"),
    (dict(group_batches=1), TypeError, "group_batches"),
    (dict(dtype=torch.int32), TypeError, "dtype"),
])
def test_train_mlp_rejects_bad_input(data, kwargs, exc, match):
    args = dict(lr=0.1, batch_size=4, steps=10, progress=False) | kwargs
    with pytest.raises(exc, match=match):
        train_mlp(data, **args)


def test_bad_data_and_metric_input():
    with pytest.raises(TypeError, match="data"):
        train_mlp({"X": 1}, lr=0.1, batch_size=4, steps=1)
    with pytest.raises(ValueError, match="test_fraction"):
        load_digits_data(test_fraction=1.0)
    with pytest.raises(TypeError, match="seed"):
        load_digits_data(seed=1.5)
    with pytest.raises(ValueError, match="b_in"):
        neuron_vectors(np.ones((3, 2)), np.ones(4), np.ones((5, 3)))
    with pytest.raises(ValueError, match="W_out"):
        neuron_vectors(np.ones((3, 2)), np.ones(3), np.ones((5, 4)))
    with pytest.raises(ValueError, match="threshold"):
        vanishing_neurons(np.ones((3, 2)), threshold=0.0)
    with pytest.raises(ValueError, match="w_cat"):
        identical_pairs(np.ones(3))
    with pytest.raises(ValueError, match="w_cat"):
        count_independent(np.array([[1.0, np.nan]]))
    with pytest.raises(TypeError, match="w_cat"):
        count_independent("weights")
    with pytest.raises(ValueError, match="one entry per layer"):
        collapse_stats([np.ones((2, 2)), np.ones((2, 2))], [np.ones(2)])
    with pytest.raises(TypeError, match="lists"):
        collapse_stats(np.ones((2, 2, 2)), np.ones((2, 2)))


# ---------------------------------------------------------------- the effective rank


def _official_eff_rank(w_cat, epsilon=1e-8):
    # compute_eff_rnk of the official FIG3_FIG4.ipynb, written out
    s = np.linalg.svd(w_cat, compute_uv=False)
    s = s / s.sum()
    return -(s * np.log(s + epsilon)).sum()


def test_effective_rank_is_the_official_entropy():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(12, 20))
    assert effective_rank(w) == pytest.approx(_official_eff_rank(w), rel=1e-13)
    stacked = np.stack([w, 2 * w[:, ::-1], rng.normal(size=(12, 20))])
    np.testing.assert_allclose(effective_rank(stacked), [_official_eff_rank(m) for m in stacked],
                               rtol=1e-13)
    assert effective_rank(3.0 * w) == pytest.approx(effective_rank(w), rel=1e-12)  # scale-free
    q, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    # all singular values equal: H = −log(1/12 + ε), log 12 but for the official ε = 1e-8
    assert effective_rank(q[:12]) == pytest.approx(-np.log(1 / 12 + 1e-8), abs=1e-12)
    assert effective_rank(np.outer(rng.normal(size=12), rng.normal(size=20))) == pytest.approx(0, abs=1e-6)
    assert effective_rank(np.zeros((4, 5))) == 0.0
    dup = w.copy()
    dup[1] = dup[0]                                        # a copy lowers it; so does a dead neuron
    dead = w.copy()
    dead[2] = 0
    assert effective_rank(dup) < effective_rank(w) and effective_rank(dead) < effective_rank(w)


def test_effective_rank_validates():
    with pytest.raises(ValueError, match="w_cat"):
        effective_rank(np.ones(4))
    with pytest.raises(ValueError, match="eps"):
        effective_rank(np.ones((2, 2)), eps=-1.0)


def test_collapse_stats_effective_rank_is_per_layer():
    rng = np.random.default_rng(1)
    W0, W1, W2 = rng.normal(size=(5, 3)), rng.normal(size=(4, 5)), rng.normal(size=(2, 4))
    b0, b1, b2 = rng.normal(size=5), rng.normal(size=4), rng.normal(size=2)
    st = collapse_stats([W0, W1, W2], [b0, b1, b2])
    expect = [_official_eff_rank(np.concatenate([W0, b0[:, None], W1.T], 1)),
              _official_eff_rank(np.concatenate([W1, b1[:, None], W2.T], 1))]
    np.testing.assert_allclose(st.effective_rank, expect, rtol=1e-12)
