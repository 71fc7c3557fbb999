"""theory.rich_lazy.deep: data generators, models, the kernel-distance metric, batched training on
theory.core.train_batched, and the analyses the deep-network notebooks call."""

import numpy as np
import pytest
import torch

from theory.core import Result, Sweep, config_seed, torch_generator
from theory.rich_lazy import deep

F64 = dict(device="cpu", dtype=torch.float64)


# ---------------------------------------------------------------- modular addition
def test_modular_addition_split_and_labels():
    d = deep.modular_addition(7, 0.5, seed=3)
    assert d.pairs.shape == (49, 2) and np.all(d.labels == (d.pairs[:, 0] + d.pairs[:, 1]) % 7)
    assert len(d.train) == 24 and len(d.test) == 25
    assert np.array_equal(np.sort(np.concatenate([d.train, d.test])), np.arange(49))
    assert not np.array_equal(d.train, deep.modular_addition(7, 0.5, seed=4).train)


@pytest.mark.parametrize("kw, err", [(dict(p=1), ValueError), (dict(p=2.5), TypeError),
                                     (dict(p=5, train_fraction=1.0), ValueError),
                                     (dict(p=5, train_fraction=0.0), ValueError),
                                     (dict(p=5, seed=-1), ValueError)])
def test_modular_addition_bad_input(kw, err):
    p = kw.pop("p")
    with pytest.raises(err):
        deep.modular_addition(p, **kw)


# ---------------------------------------------------------------- random hierarchy model
def _decode(rhm, x):
    """Parse a string bottom-up with the inverse rules; returns the label (the grammar is unambiguous)."""
    sym = x
    for rule in reversed(rhm.rules):
        inverse = {tuple(rule[a, k]): a for a in range(rule.shape[0]) for k in range(rhm.m)}
        sym = np.array([inverse[tuple(sym[i:i + rhm.s])] for i in range(0, len(sym), rhm.s)])
    assert sym.shape == (1,)
    return sym[0]


def test_random_hierarchy_rules_are_unambiguous():
    rhm = deep.random_hierarchy(6, 4, 3, 2, 3, seed=1)
    assert [r.shape for r in rhm.rules] == [(4, 3, 2), (6, 3, 2), (6, 3, 2)]
    for rule in rhm.rules:
        tuples = rule.reshape(-1, rhm.s)
        assert len({tuple(t) for t in tuples}) == len(tuples)          # no s-tuple serves two symbols
        assert tuples.min() >= 0 and tuples.max() < rhm.v


def test_sample_hierarchy_is_generated_by_the_grammar():
    rhm = deep.random_hierarchy(5, 3, 2, 2, 3, seed=2)
    x, y = deep.sample_hierarchy(rhm, 200, seed=0)
    assert x.shape == (200, 8) and y.shape == (200,)
    assert all(_decode(rhm, xi) == yi for xi, yi in zip(x, y))
    assert set(np.unique(y)) == {0, 1, 2}


def test_number_of_distinct_inputs():
    rhm = deep.random_hierarchy(3, 2, 2, 2, 2, seed=0)                  # 2 · 2^(1+2) = 16 strings
    x, _ = deep.sample_hierarchy(rhm, 3000, seed=1)
    assert rhm.n_inputs == 16 and len({tuple(r) for r in x}) == 16


@pytest.mark.parametrize("args, err", [((4, 4, 5, 2, 2), ValueError),   # m·v > v^s
                                       ((4, 4, 2, 1, 2), ValueError),   # s = 1
                                       ((1, 2, 1, 2, 2), ValueError),   # v = 1
                                       ((4, 4, 2, 2, 0), ValueError),
                                       ((4.0, 4, 2, 2, 2), TypeError)])
def test_random_hierarchy_bad_input(args, err):
    with pytest.raises(err):
        deep.random_hierarchy(*args)


def test_sample_hierarchy_bad_input():
    with pytest.raises(TypeError):
        deep.sample_hierarchy("grammar", 10)
    with pytest.raises(ValueError):
        deep.sample_hierarchy(deep.random_hierarchy(4, 2, 2, 2, 2), 0)


# ---------------------------------------------------------------- models
def _hcnn_reference(W, x, s, v):
    """Plain one-model hierarchical CNN on explicit one-hot vectors, for comparison."""
    h = np.eye(v)[x].reshape(len(x), -1)                                   # (N, s^L · v)
    for Wl in W[:-1]:
        k = Wl.shape[1]
        h = np.maximum(h.reshape(len(x), -1, k) @ Wl.T, 0).reshape(len(x), -1)
    return h @ W[-1].T


def test_hcnn_matches_explicit_one_hot_network():
    rhm = deep.random_hierarchy(4, 3, 2, 2, 3, seed=0)
    x, _ = deep.sample_hierarchy(rhm, 20, seed=0)
    prm = deep.init_params("hcnn", dict(v=4, s=2, L=3, width=5, d_out=3), [0.5, 2.0], [0, 1], **F64)
    out = deep.forward("hcnn", prm, torch.tensor(x)).numpy()
    for b in range(2):
        ref = _hcnn_reference([p[b].numpy() for p in prm], x, 2, 4)
        np.testing.assert_allclose(out[b], ref, rtol=1e-12, atol=1e-12)


def test_mlp_is_a_network_on_one_hot_pairs():
    prm = deep.init_params("mlp", dict(d_in=10, width=6, d_out=5), 1.0, 0, **F64)
    pairs = torch.tensor([[0, 4], [3, 2]])
    x = np.zeros((2, 10))
    x[0, [0, 9]] = x[1, [3, 7]] = 1
    W, A = prm[0][0].numpy(), prm[1][0].numpy()
    np.testing.assert_allclose(deep.forward("mlp", prm, pairs)[0].numpy(), np.maximum(x @ W.T, 0) @ A.T,
                               rtol=1e-12)


@pytest.mark.parametrize("arch, dims, x", [
    ("mlp", dict(d_in=14, width=8, d_out=7), torch.tensor([[1, 2], [6, 0], [3, 3]])),
    ("cnn", dict(channels=(3, 4), d_out=10), torch.rand(5, 1, 8, 8, dtype=torch.float64)),
    ("lenet", dict(channels=(3, 4), kernel=5, hidden=6, d_out=10), torch.rand(5, 1, 8, 8, dtype=torch.float64)),
    ("hcnn", dict(v=4, s=2, L=2, width=6, d_out=3), torch.tensor([[0, 1, 2, 3], [3, 3, 1, 0]]))])
def test_initial_function_does_not_depend_on_alpha(arch, dims, x):
    alphas = np.array([0.1, 1.0, 7.0])
    prm = deep.init_params(arch, dims, alphas, 5, **F64)
    f = deep.forward(arch, prm, x)
    assert torch.allclose(f[0], f[1], rtol=1e-12, atol=1e-14)
    assert torch.allclose(f[2], f[1], rtol=1e-12, atol=1e-14)
    # the paper's α (Fig. 6, App. D.3): first layer ÷ α, readout × α
    assert torch.allclose(prm[0][0], prm[0][1] / 0.1) and torch.allclose(prm[-1][2], 7.0 * prm[-1][1])


def test_mean_imbalance_sign_follows_alpha():
    prm = deep.init_params("mlp", dict(d_in=20, width=30, d_out=10), [0.1, 10.0], 0, **F64)
    d = deep.mean_imbalance(prm)
    assert d[1] > 0 > d[0]                                    # α = 10 upstream, α = 0.1 downstream
    W, A = prm[0][0].numpy(), prm[1][0].numpy()
    assert np.isclose(d[0], np.mean((A**2).sum(0) - (W**2).sum(1)))
    with pytest.raises(ValueError):
        deep.mean_imbalance(deep.init_params("hcnn", dict(v=3, s=2, L=2, width=4, d_out=2), 1.0, 0))


@pytest.mark.parametrize("call, err", [
    (lambda: deep.init_params("rnn", dict(d_in=2, width=2, d_out=2), 1.0, 0), ValueError),
    (lambda: deep.init_params("mlp", dict(d_in=2, width=2), 1.0, 0), ValueError),
    (lambda: deep.init_params("mlp", dict(d_in=2, width=2, d_out=2), -1.0, 0), ValueError),
    (lambda: deep.init_params("mlp", dict(d_in=2, width=2, d_out=2), [1.0, 2.0], [0, 1, 2]), ValueError),
    (lambda: deep.init_params("mlp", dict(d_in=2, width=2, d_out=2), 1.0, 0.5), TypeError),
    (lambda: deep.init_params("cnn", dict(channels=3, d_out=2), 1.0, 0), ValueError),
    (lambda: deep.forward("rnn", [], torch.zeros(1)), ValueError),
    (lambda: deep.init_params("mlp", dict(d_in=2, width=2, d_out=2), 1.0, [0, -1]), ValueError),
    (lambda: deep.init_params("mlp", dict(d_in=2, width=2, d_out=2), float("nan"), 0), ValueError)])
def test_model_bad_input(call, err):
    with pytest.raises(err):
        call()



def test_init_params_streams_are_per_seed_and_independent_of_the_batch():
    dims = dict(d_in=6, width=5, d_out=3)
    big = deep.init_params("mlp", dims, [1.0, 1.0, 2.0, 1.0], [3, 0, 3, 7], **F64)
    for g, (a, s) in enumerate([(1.0, 3), (1.0, 0), (2.0, 3), (1.0, 7)]):
        one = deep.init_params("mlp", dims, a, s, **F64)
        assert all(torch.equal(pb[g], p1[0]) for pb, p1 in zip(big, one))
    # the stream is torch_generator(config_seed(salt, seed)): the He draw of the first layer
    gen = torch_generator(config_seed("rich_lazy.deep.init_params", 7))
    w = torch.randn((5, 6), generator=gen, dtype=torch.float64) * np.sqrt(2 / 6)
    assert torch.equal(big[0][3], w)
    assert not torch.equal(big[0][0], big[0][1])                        # seeds 3 and 0 differ


# ---------------------------------------------------------------- training
def _mod_data(p=7, seed=0):
    d = deep.modular_addition(p, 0.6, seed=seed)
    t = torch.tensor
    return t(d.pairs[d.train]), t(d.labels[d.train]), t(d.pairs[d.test]), t(d.labels[d.test])


@pytest.mark.parametrize("wd", [0.0, 0.5])
def test_a_configuration_trains_bit_identically_alone_and_in_a_batch(wd):
    data = _mod_data()
    dims = dict(d_in=14, width=16, d_out=7)
    sweep = Sweep(alpha=[0.3, 1.0, 3.0], seed=[0, 1])
    A, S = sweep.column("alpha"), sweep.column("seed")
    batched = deep.train("mlp", deep.init_params("mlp", dims, A, S, **F64), *data, steps=40,
                         lr=1e-2, weight_decay=wd, eval_every=10, sweep=sweep)
    assert isinstance(batched, Result) and batched.sweep is sweep
    assert batched["test_accuracy"].shape == (6, 5) and list(batched.steps) == [0, 10, 20, 30, 40]
    for g in (0, 3, 5):
        one = deep.train("mlp", deep.init_params("mlp", dims, A[g], S[g], **F64), *data,
                         steps=40, lr=1e-2, weight_decay=wd, eval_every=10)
        for k in batched.params:
            assert torch.equal(torch.as_tensor(batched.params[k][g]), torch.as_tensor(one.params[k][0]))
        for name in ("train_loss", "train_accuracy", "test_accuracy"):
            assert np.array_equal(batched[name][g], one[name][0])
    ds = batched.to_dataset()
    assert ds["test_accuracy"].dims == ("alpha", "seed", "step")


def test_adamw_is_pytorchs_adamw():
    data = _mod_data()
    prm = deep.init_params("mlp", dict(d_in=14, width=16, d_out=7), 1.0, 0, **F64)
    res = deep.train("mlp", prm, *data, steps=30, lr=1e-2, weight_decay=0.5, eval_every=30)
    ps = [p.clone().requires_grad_(True) for p in prm]
    opt = torch.optim.AdamW(ps, lr=1e-2, weight_decay=0.5)
    for _ in range(30):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(deep.forward("mlp", ps, data[0])[0], data[1]).backward()
        opt.step()
    for mine, ref in zip(deep.layers(res), ps):
        torch.testing.assert_close(mine, ref.detach(), rtol=1e-12, atol=1e-14)
    assert res.meta["optimizer"] == "adamw"


def test_train_mask_equals_training_on_the_subset():
    rhm = deep.random_hierarchy(4, 3, 2, 2, 2, seed=0)
    x, y = (torch.tensor(a) for a in deep.sample_hierarchy(rhm, 30, seed=0))
    xe, ye = (torch.tensor(a) for a in deep.sample_hierarchy(rhm, 20, seed=1))
    dims = dict(v=4, s=2, L=2, width=8, d_out=3)
    mask = np.zeros((2, 30))
    mask[0, :12], mask[1] = 1, 1
    both = deep.layers(deep.train("hcnn", deep.init_params("hcnn", dims, 1.0, [0, 0], **F64), x, y, xe,
                                  ye, steps=25, lr=1e-2, train_mask=mask, eval_every=25))
    sub = deep.layers(deep.train("hcnn", deep.init_params("hcnn", dims, 1.0, 0, **F64), x[:12], y[:12],
                                 xe, ye, steps=25, lr=1e-2, eval_every=25))
    for pb, ps in zip(both, sub):
        torch.testing.assert_close(pb[0], ps[0], rtol=1e-10, atol=1e-12)
    assert not torch.allclose(both[0][1], both[0][0])


def test_training_learns():
    data = _mod_data(5)
    prm = deep.init_params("mlp", dict(d_in=10, width=32, d_out=5), 1.0, 0, **F64)
    run = deep.train("mlp", prm, *data, steps=300, lr=3e-2, eval_every=5)
    assert run.final("train_accuracy")[0] == 1.0 and run["train_loss"][0, -1] < run["train_loss"][0, 0]
    assert run.steps[-1] == 300 and len(run.steps) == 61


@pytest.mark.parametrize("kw, err", [(dict(steps=0), ValueError), (dict(lr=0.0), ValueError),
                                     (dict(lr=float("nan")), ValueError),
                                     (dict(weight_decay=-1.0), ValueError),
                                     (dict(weight_decay=float("inf")), ValueError),
                                     (dict(train_mask=np.ones((2, 3))), ValueError),
                                     (dict(eval_every=1.5), TypeError),
                                     (dict(sweep="alpha"), TypeError)])
def test_train_bad_input(kw, err):
    data = _mod_data(5)
    prm = deep.init_params("mlp", dict(d_in=10, width=4, d_out=5), 1.0, 0, **F64)
    args = dict(steps=5, lr=1e-2) | kw
    with pytest.raises(err):
        deep.train("mlp", prm, *data, **args)
    with pytest.raises(TypeError):
        deep.train("mlp", "weights", *data, steps=5, lr=1e-2)


def test_layers_round_trip():
    prm = deep.init_params("cnn", dict(channels=(2, 3), d_out=4), [0.5, 2.0], [0, 1], **F64)
    as_dict = {f"W{k + 1}": p.numpy() for k, p in enumerate(prm)}
    back = deep.layers(as_dict)
    assert all(torch.equal(a, b) for a, b in zip(prm, back))
    assert deep.layers(prm, dtype=torch.float32)[0].dtype == torch.float32
    with pytest.raises(ValueError):
        deep.layers({"W1": prm[0], "W3": prm[1]})
    with pytest.raises(ValueError):
        deep.layers([prm[0], prm[1][:1]])


# ---------------------------------------------------------------- metrics
def test_kernel_distance():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3))
    K = X @ X.T
    assert abs(deep.kernel_distance(K, 4.0 * K)) < 1e-14                 # rescaling: no movement
    assert np.isclose(deep.kernel_distance(np.diag([1.0, 0]), np.diag([0, 1.0])), 1.0)
    K2 = np.stack([K, K + np.ones((6, 6)) * 50])                          # batched; a constant block
    K1 = np.stack([K, K])
    raw, cen = deep.kernel_distance(K1, K2), deep.kernel_distance(K1, K2, center=True)
    assert raw.shape == (2,) and raw[1] > 0.1 and abs(cen[1]) < 1e-12      # centring removes it
    with pytest.raises(ValueError):
        deep.kernel_distance(np.eye(3), np.eye(4))
    with pytest.raises(ValueError, match="K0 or Kt"):
        deep.kernel_distance(np.zeros((3, 3)), np.eye(3))
    with pytest.raises(ValueError, match="constant"):
        deep.kernel_distance(np.ones((3, 3)), np.eye(3), center=True)      # a constant kernel
    with pytest.raises(TypeError):
        deep.kernel_distance(np.eye(3), np.eye(3), center="yes")


def test_ntk_gram_matches_per_output_gradients():
    prm = deep.init_params("cnn", dict(channels=(2, 3), d_out=4), [0.5, 2.0], [0, 1], **F64)
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64)
    theta = deep.ntk_gram("cnn", prm, x)
    for b in range(2):
        grads = []
        for n in range(3):
            for c in range(4):
                ps = [p[b:b + 1].clone().requires_grad_(True) for p in prm]
                g = torch.autograd.grad(deep.forward("cnn", ps, x[n:n + 1])[0, 0, c], ps)
                grads.append(torch.cat([gi.flatten() for gi in g]).numpy())
        G = np.array(grads).reshape(3, 4, -1)
        np.testing.assert_allclose(theta[b], np.einsum("ncp,mcp->nm", G, G), rtol=1e-10)
    phi = deep.feature_gram("cnn", prm, x)
    assert phi.shape == (2, 3, 3) and np.allclose(phi, phi.transpose(0, 2, 1))
    as_dict = {f"W{k + 1}": p.numpy() for k, p in enumerate(prm)}     # a Result's params work too
    np.testing.assert_array_equal(deep.ntk_gram("cnn", as_dict, x), theta)


@pytest.mark.parametrize("fn", [deep.ntk_gram, deep.feature_gram])
def test_grams_reject_an_unknown_architecture(fn):
    prm = deep.init_params("cnn", dict(channels=(2, 3), d_out=4), 1.0, 0, **F64)
    x = torch.rand(3, 1, 8, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"arch must be one of \('mlp', 'cnn', 'lenet', 'hcnn'\), got 'resnet'"):
        fn("resnet", prm, x)
    with pytest.raises(TypeError, match="x must be a tensor or array"):
        fn("cnn", prm, "images")
    np.testing.assert_array_equal(fn("cnn", prm, x.numpy()), fn("cnn", prm, x))   # arrays work too
    with pytest.raises(ValueError, match="x must be finite"):
        fn("cnn", prm, torch.full((3, 1, 8, 8), float("nan"), dtype=torch.float64))


def test_gradient_descent_with_per_model_steps_equals_separate_runs():
    data = _mod_data()
    dims = dict(d_in=14, width=16, d_out=7)
    alphas, lrs = np.array([0.3, 3.0]), np.array([0.5, 0.05])
    batched = deep.layers(deep.train("mlp", deep.init_params("mlp", dims, alphas, [0, 1], **F64), *data,
                                     steps=30, lr=lrs, optimizer="gd", eval_every=10))
    for b in range(2):
        prm = deep.init_params("mlp", dims, alphas[b], b, **F64)
        one = deep.layers(deep.train("mlp", prm, *data, steps=30, lr=lrs[b], optimizer="gd", eval_every=10))
        for pb, p1 in zip(batched, one):
            assert torch.equal(pb[b], p1[0])
    # one step by hand: θ ← θ − lr ∇L
    prm = deep.init_params("mlp", dims, 1.0, 0, **F64)
    ps = [p.clone().requires_grad_(True) for p in prm]
    logits = deep.forward("mlp", ps, data[0])[0]
    grads = torch.autograd.grad(torch.nn.functional.cross_entropy(logits, data[1]), ps)
    step = deep.layers(deep.train("mlp", prm, *data, steps=1, lr=0.3, optimizer="gd", eval_every=1))
    for p0, g, p1 in zip(prm, grads, step):
        torch.testing.assert_close(p1, p0 - 0.3 * g, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kw", [dict(optimizer="sgd"), dict(optimizer="gd", weight_decay=0.1),
                                dict(optimizer="gd", lr=np.ones(3)), dict(lr=np.ones(3)),
                                dict(lr=np.ones((2, 1)))])
def test_train_optimizer_bad_input(kw):
    data = _mod_data(5)
    prm = deep.init_params("mlp", dict(d_in=10, width=4, d_out=5), [1.0, 2.0], 0, **F64)
    with pytest.raises(ValueError):
        deep.train("mlp", prm, *data, **(dict(steps=5, lr=1e-2) | kw))


# ---------------------------------------------------------------- analyses
def test_modular_batch_stacks_the_split_of_each_seed():
    xtr, ytr, xte, yte = deep.modular_batch(7, 0.5, [2, 0, 2], device="cpu")
    d2 = deep.modular_addition(7, 0.5, seed=2)
    assert xtr.shape == (3, 24, 2) and yte.shape == (3, 25)
    assert np.array_equal(xtr[0].numpy(), d2.pairs[d2.train]) and torch.equal(xtr[0], xtr[2])
    assert not torch.equal(xtr[0], xtr[1])
    with pytest.raises(ValueError):
        deep.modular_batch(7, 0.5, [0, -1])


def test_balance_and_initial_spread():
    sweep = Sweep(alpha=[0.1, 1.0, 10.0], seed=[0, 1])
    A, S = sweep.column("alpha"), sweep.column("seed")
    prm = deep.init_params("mlp", dict(d_in=20, width=200, d_out=10), A, S, **F64)
    a0 = deep.balanced_alpha(prm, A)
    std = A == 1.0
    a2 = float((prm[1][std] ** 2).sum(1).mean())
    w2 = float((prm[0][std] ** 2).sum(-1).mean())
    assert np.isclose(a0, (w2 / a2) ** 0.25, rtol=1e-12)
    d = sweep.unflatten(deep.mean_imbalance(prm)).mean(1)
    assert np.all(np.sign(d) == np.sign(np.array([0.1, 1.0, 10.0]) - a0))
    pairs = torch.tensor([[0, 3], [9, 1], [5, 5]])
    assert deep.initial_spread("mlp", prm, pairs, A, S) < 1e-13
    bad = [p.clone() for p in prm]
    bad[1][0] *= 2                                                          # α = 0.1, seed 0 changed
    assert np.isclose(deep.initial_spread("mlp", bad, pairs, A, S),
                      float((deep.forward("mlp", prm, pairs)[0]).abs().max()
                            / deep.forward("mlp", prm, pairs)[std].abs().max()), rtol=1e-12)
    with pytest.raises(ValueError, match="reference"):
        deep.initial_spread("mlp", prm, pairs, A, S, reference=3.0)
    with pytest.raises(ValueError):
        deep.balanced_alpha(deep.init_params("cnn", dict(channels=(2, 2), d_out=2), 1.0, 0), 1.0)


def test_layer_and_kernel_movement():
    prm = deep.init_params("cnn", dict(channels=(2, 3), d_out=4), [0.5, 2.0], [0, 1], **F64)
    moved = [p.clone() for p in prm]
    moved[0][0] *= 1.5                                                      # rescale one model's W1
    mv = deep.layer_movement(prm, moved)
    np.testing.assert_allclose(mv, [0.5, 0.0], atol=1e-15)
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    km = deep.kernel_movement("cnn", prm, prm, x)
    for k in ("ntk", "ntk_centred", "feature", "first_layer"):
        assert km[k].shape == (2,) and np.all(np.abs(km[k]) < 1e-12)        # no training: no movement
    K0 = deep.ntk_gram("cnn", prm, x)
    eta = deep.ntk_step_size(K0, 4.0)
    np.testing.assert_allclose(eta, 4.0 * 4 / np.linalg.eigvalsh(K0)[:, -1])
    with pytest.raises(ValueError):
        deep.ntk_step_size(np.zeros((1, 3, 3)))
    with pytest.raises(ValueError):
        deep.layer_movement(prm, moved[:2])


def test_crossing_steps():
    res = Result(steps=np.array([0, 10, 20]),
                 metrics={"test_accuracy": np.array([[0.1, 0.5, 0.95], [0.2, 0.3, 0.4]])},
                 sweep=Sweep(alpha=[1.0, 2.0]))
    t = deep.crossing_steps(res, "test_accuracy", 0.9)
    assert t[0] == 20 and np.isnan(t[1])
    with pytest.raises(TypeError):
        deep.crossing_steps({"test_accuracy": 1}, "test_accuracy", 0.9)


def test_rhm_sample_complexity_small():
    ds = deep.rhm_sample_complexity(3, 2, 2, 2, 2, sizes=[4, 16, 64], alphas=[0.3, 3.0], seeds=[0],
                                    width=8, steps=30, lr=1e-2, n_test=50, device="cpu",
                                    dtype=torch.float64, progress=False)
    assert ds["test_accuracy"].dims == ("alpha", "seed", "P") and ds["p_star"].dims == ("alpha", "seed")
    acc = ds["test_accuracy"].values
    assert np.all((acc >= 0) & (acc <= 1))
    from theory.core import first_crossing
    np.testing.assert_array_equal(ds["p_star"].values.ravel(),
                                  first_crossing(acc.reshape(2, 3), np.array([4, 16, 64]), 0.5,
                                                 interpolate="log"))
    with pytest.raises(ValueError):
        deep.rhm_sample_complexity(3, 2, 2, 2, 2, sizes=[16, 4], alphas=[1.0], seeds=[0], width=4,
                                   steps=2, lr=1e-2, n_test=5, progress=False)


def test_time_ratio_bounds_censored_times():
    up, down = np.array([100.0, 200.0, 300.0]), np.array([400.0, np.nan, 500.0])
    assert deep.time_ratio(up, down, 1000, reduce="max") == 0.6                 # never: at the budget
    assert np.isclose(deep.time_ratio(up, down, 1000, reduce="mean"), 200 / (1900 / 3))
    assert deep.time_ratio(down, up, 1000, reduce="max") == np.inf               # never: infinite
    assert deep.time_ratio(down, up, 1000, bound="lower", reduce="min") == 5 / 3
    np.testing.assert_allclose(deep.time_ratio(up, up * 2, 1000), 0.5)          # nothing censored
    with pytest.raises(ValueError, match="t_num"):
        deep.time_ratio([2000.0], [1.0], 1000)                                  # beyond the budget
    with pytest.raises(ValueError, match="budget"):
        deep.time_ratio(up, up, float("nan"))
    with pytest.raises(ValueError, match="reduce"):
        deep.time_ratio(up, up, 1000, reduce="median")


def test_mlp_rejects_residues_out_of_range():
    prm = deep.init_params("mlp", dict(d_in=10, width=3, d_out=5), 1.0, 0, **F64)
    with pytest.raises(ValueError, match="residues"):
        deep.forward("mlp", prm, torch.tensor([[0, 5]]))


# ---------------------------------------------------------------- the pages' analyses
def test_float32_device_turns_tf32_off():
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    try:
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        assert deep.float32_device("cpu") == torch.device("cpu")
        assert not torch.backends.cuda.matmul.allow_tf32 and not torch.backends.cudnn.allow_tf32
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
    assert deep.ALPHAS == (0.1, 0.3, 1.0, 3.0, 10.0) and deep.CONTROL_ALPHAS == (0.1, 1.0, 10.0)


def _digits_small():
    xtr, ytr, xte, yte = deep.digits(40, seed=0)
    return (xtr, ytr, xte, yte), xte[:5]


@pytest.mark.parametrize("optimizer, arch", [("adam", "cnn"), ("gd", "cnn"), ("adam", "lenet")])
def test_cnn_kernel_study_is_the_sequence_of_its_calls(optimizer, arch):
    data, probe = _digits_small()
    sweep = Sweep(alpha=[0.3, 1.0], seed=[0, 1])
    A, S = sweep.column("alpha"), sweep.column("seed")
    lr = dict(lr=1e-2) if optimizer == "adam" else dict(ntk_factor=4.0)
    dims = dict(channels=(2, 3), d_out=10) if arch == "cnn" else dict(channels=(2, 3), kernel=5, hidden=4, d_out=10)
    st = deep.cnn_kernel_study(sweep, data, probe, steps=3, optimizer=optimizer, arch=arch, dims=dims,
                               device="cpu", dtype=torch.float64, **lr)
    t = [torch.as_tensor(d, dtype=torch.float64) if k % 2 == 0 else torch.as_tensor(d)
         for k, d in enumerate(data)]
    xp = torch.as_tensor(probe, dtype=torch.float64)
    p0 = deep.init_params(arch, dims, A, S, **F64)
    step = 1e-2 if optimizer == "adam" else deep.ntk_step_size(deep.ntk_gram(arch, p0, xp), 4.0)
    res = deep.train(arch, p0, *t, steps=3, lr=step, optimizer=optimizer, eval_every=3)
    km = deep.kernel_movement(arch, p0, res, xp)
    assert st.initial_spread == deep.initial_spread(arch, p0, xp, A, S) and st.initial_spread < 1e-12
    for k in ("ntk", "ntk_centred", "feature", "first_layer"):
        np.testing.assert_array_equal(getattr(st, k), sweep.unflatten(km[k]))
    k = dims.get("kernel", 3)
    np.testing.assert_allclose(st.smoothness, sweep.unflatten(
        deep.filter_smoothness(res.params["W1"].reshape(4, 2, k, k)).mean(1)), rtol=1e-12)
    np.testing.assert_allclose(st.smoothness0, sweep.unflatten(
        deep.filter_smoothness(p0[0].numpy().reshape(4, 2, k, k)).mean(1)), rtol=1e-12)
    np.testing.assert_array_equal(st.result["train_loss"], res["train_loss"])
    assert st.result.sweep is sweep and st.result.steps.tolist() == [0, 3]
    table = st.table()
    assert list(table.index) == ["0.3", "1"]
    if arch == "lenet":
        np.testing.assert_array_equal(st.activation, sweep.unflatten(deep.activation_change(p0, res, xp)))
        np.testing.assert_array_equal(st.parameters, sweep.unflatten(deep.parameter_movement(p0, res)))
        assert list(table.columns)[-2:] == ["patterns changed", "‖Δθ‖/‖θ(0)‖"]
    elif optimizer == "adam":
        assert st.lam_hat is None and st.activation is None and st.parameters is None
        assert list(table.columns) == ["train acc.", "test acc.", "NTK S", "centred", "feature S",
                                       "‖ΔW₁‖/‖W₁(0)‖", "Eq. 132"]
    else:
        np.testing.assert_allclose(st.lam_hat, sweep.unflatten(4.0 / step), rtol=1e-15)
        assert list(table.columns) == ["λ̂", "train loss", "NTK S", "‖ΔW₁‖/‖W₁(0)‖"]
    f = st.filters(1.0, seed=1)                                       # configuration 3
    assert list(f) == ["α = 1, init", "α = 1, trained"]
    np.testing.assert_array_equal(f["α = 1, init"], p0[0][3].numpy())
    np.testing.assert_array_equal(f["α = 1, trained"], res.params["W1"][3])
    with pytest.raises(ValueError, match="alpha = 3.0"):
        st.filters(3.0)


def test_cnn_kernel_study_bad_input():
    data, probe = _digits_small()
    sweep = Sweep(alpha=[1.0], seed=[0])
    kw = dict(steps=1, device="cpu", dims=dict(channels=(2, 2), d_out=10))
    with pytest.raises(ValueError, match="exactly one"):
        deep.cnn_kernel_study(sweep, data, probe, **kw)
    with pytest.raises(ValueError, match="exactly one"):
        deep.cnn_kernel_study(sweep, data, probe, lr=1e-2, ntk_factor=4.0, optimizer="gd", **kw)
    with pytest.raises(ValueError, match="optimizer='gd'"):
        deep.cnn_kernel_study(sweep, data, probe, ntk_factor=4.0, **kw)
    with pytest.raises(TypeError, match="data"):
        deep.cnn_kernel_study(sweep, data[:2], probe, lr=1e-2, **kw)
    with pytest.raises(ValueError, match="alpha and seed"):
        deep.cnn_kernel_study(Sweep(alpha=[1.0]), data, probe, lr=1e-2, **kw)
    with pytest.raises(TypeError, match="Sweep"):
        deep.cnn_kernel_study({"alpha": [1.0]}, data, probe, lr=1e-2, **kw)
    with pytest.raises(ValueError, match="ntk_factor"):
        deep.cnn_kernel_study(sweep, data, probe, ntk_factor=-1.0, optimizer="gd", **kw)


def _grokking_result():
    sweep = Sweep(alpha=[0.1, 1.0, 10.0], seed=[0, 1])
    steps = np.array([0, 10, 20, 30, 40])
    train = np.array([[0.1, 1.0, 1, 1, 1], [0.1, 0.5, 1, 1, 1], [0.1, 1, 1, 1, 1],
                      [0.1, 1, 1, 1, 1], [0.1, 1, 1, 1, 1], [0.1, 0.2, 1, 1, 1]])
    test = np.array([[0.1, 0.6, 0.95, 1, 1], [0.1, 0.2, 0.6, 0.95, 1], [0.1, 0.2, 0.6, 0.95, 1],
                     [0.1, 0.6, 0.7, 0.95, 1], [0.1, 0.2, 0.3, 0.6, 0.95], [0.1, 0.2, 0.3, 0.6, 0.7]])
    rows = [4, 5, 2, 3, 0, 1]                         # the fast runs at α = 10, the most upstream
    train, test = train[rows], test[rows]
    return Result(steps=steps, metrics={"train_accuracy": train, "test_accuracy": test}, sweep=sweep)


def test_grokking_times_ratios_and_report():
    res = _grokking_result()
    t = deep.grokking_times(res, 0.9)
    np.testing.assert_array_equal(t.memorise, deep.crossing_steps(res, "train_accuracy", 0.99))
    np.testing.assert_array_equal(t.generalise, [[40, np.nan], [30, 30], [20, 30]])
    np.testing.assert_array_equal(t.onset, deep.crossing_steps(res, "test_accuracy", 0.5))
    assert t.budget == 40.0 and t.alphas.tolist() == [0.1, 1.0, 10.0]
    g, B = t.generalise, 40.0
    # the most upstream α is the largest (the paper's α): α = 10 over α = 0.1 and over α = 1
    expect = {"mean": deep.time_ratio(g[2], g[0], B, reduce="mean"),
              "seed": deep.time_ratio(g[2], g[0], B, reduce="max"),
              "onset": deep.time_ratio(t.onset[2], t.onset[0], B, reduce="mean"),
              "standard": deep.time_ratio(g[2], g[1], B, reduce="mean"),
              "standard_seed": deep.time_ratio(g[2], g[1], B, reduce="max"),
              "gap": deep.time_ratio(g, t.memorise, B, bound="lower", reduce="min")}
    assert t.ratios == expect
    assert expect["seed"] == 30 / 40 and expect["mean"] == 25 / 40 and expect["gap"] == 1.5
    lines = t.report().splitlines()
    assert lines[0] == f"mean steps to 50 %, α = 10 over α = 0.1: {expect['onset']:.2f}"
    assert lines[1] == ("steps to 90%, α = 10 over the standard α = 1: mean 0.83, largest per-seed "
                        "ratio 1.00")
    assert lines[2] == ("mean steps, α = 10 over α = 0.1: 0.62;  largest per-seed ratio: 0.75;  "
                        "smallest generalise/memorise ratio: 1.5")
    table = t.table()
    assert list(table.columns) == ["memorised (train ≥ 99 %)", "generalised (test ≥ 90%)",
                                   "test ≥ 50 %"]
    assert table.iloc[0, 1] == "40 ± 0"                                   # NaN ignored


def test_grokking_times_bad_input():
    res = _grokking_result()
    with pytest.raises(TypeError):
        deep.grokking_times({"test_accuracy": 1}, 0.9)
    with pytest.raises(ValueError, match="threshold"):
        deep.grokking_times(res, 1.5)
    rev = Result(res.steps, res.metrics, sweep=Sweep(seed=[0, 1], alpha=[0.1, 1.0, 10.0]))
    with pytest.raises(ValueError, match="order"):
        deep.grokking_times(rev, 0.9)
    down = Result(res.steps, res.metrics, sweep=Sweep(alpha=[10.0, 1.0, 0.1], seed=[0, 1]))
    with pytest.raises(ValueError, match="increasing"):
        deep.grokking_times(down, 0.9)
    no_std = deep.grokking_times(Result(res.steps, res.metrics, sweep=Sweep(alpha=[0.1, 0.3, 10.0],
                                                                           seed=[0, 1])), 0.9)
    with pytest.raises(ValueError, match="alpha = 1"):
        no_std.ratios


def test_rhm_report_and_table():
    ds = deep.rhm_sample_complexity(3, 2, 2, 2, 2, sizes=[4, 16], alphas=[0.3, 1.0, 3.0], seeds=[0, 1],
                                    width=4, steps=5, lr=1e-2, n_test=20, device="cpu",
                                    dtype=torch.float64, progress=False)
    lines = deep.rhm_report(ds).split("\n", 2)                      # P* (α, seed) spans lines
    g = deep.random_hierarchy(3, 2, 2, 2, 2, seed=0)
    assert lines[0] == f"{g} input length 4, {g.n_inputs:,} distinct inputs, n_c m^L = 8"
    below = (ds["train_accuracy"].values < 0.99).sum((0, 1))
    assert lines[1] == f"networks below 99 % train accuracy at each P: {below}"
    assert lines[2] == (f"P* per seed: {np.array2string(ds['p_star'].values, precision=0)} ; test "
                        "accuracy at each P and P*, mean ± s.d.:")
    table = deep.rhm_table(ds)
    assert list(table.columns) == ["P = 4", "P = 16", "P*"] and list(table.index) == ["0.3", "1", "3"]
    acc = ds["test_accuracy"].values[1, :, 0]
    assert table.iloc[1, 0] == f"{acc.mean():.3g} ± {acc.std():.2g}"


def test_imbalance_report():
    text = deep.imbalance_report([0.1, 10.0], [2.5, -0.25])
    assert text.splitlines() == ["  α =   0.1:  mean imbalance δ̄ =   +2.500  (upstream)",
                                 "  α =  10.0:  mean imbalance δ̄ =   -0.250  (downstream)"]
    with pytest.raises(ValueError, match="delta_bar"):
        deep.imbalance_report([0.1, 10.0], [1.0])
