"""The App. D.3 set-ups of the deep pages: the one-layer transformer for grokking
(``theory.rich_lazy.deep_transformer``), the RHM MLP trained by SGD with momentum
(``theory.rich_lazy.deep_rhm``) and the filter-smoothness measure (Eqs. 132–133)."""

import numpy as np
import pytest
import torch

from theory.core import Result, Sweep
from theory.rich_lazy import deep, deep_rhm, deep_transformer as tr

F64 = dict(device="cpu", dtype=torch.float64)


# ---------------------------------------------------------------- smoothness (Eqs. 132–133)
def test_filter_smoothness_is_eq_132():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 2, 5, 5))
    got = deep.filter_smoothness(w)
    assert got.shape == (3, 2)
    for i in range(3):
        for j in range(2):
            u = w[i, j] / np.linalg.norm(w[i, j])
            ref = sum(deep.LAPLACIAN[a, b] * u[a:a + 3, b:b + 3] for a in range(3) for b in range(3))
            assert np.isclose(got[i, j], np.sum(ref ** 2), rtol=1e-12)
    # scale-free; Eq. 133's kernel as printed sums to −1 (not 0): a constant 4×4 filter, u = ¼,
    # gives −¼ at each of the 4 valid positions, 4 · (¼)² = ¼
    assert np.allclose(deep.filter_smoothness(7.0 * w), got, rtol=1e-12)
    assert deep.LAPLACIAN.sum() == -1.0
    assert np.isclose(deep.filter_smoothness(np.ones((4, 4))), 0.25, rtol=1e-14)
    checker = np.indices((5, 5)).sum(0) % 2 * 2.0 - 1                 # the roughest pattern
    assert deep.filter_smoothness(checker) > deep.filter_smoothness(rng.normal(size=(5, 5)))
    with pytest.raises(ValueError):
        deep.filter_smoothness(np.zeros((3, 3)))
    with pytest.raises(ValueError):
        deep.filter_smoothness(np.ones((3, 4)))


# ---------------------------------------------------------------- transformer
def test_modular_sequences_splits():
    xtr, ytr, xva, yva = tr.modular_sequences(7, 0.5, [0, 1, 0])
    assert xtr.shape == (3, 24, 3) and xva.shape == (3, 25, 3)
    assert torch.all(xtr[..., 2] == 7) and torch.all(ytr == (xtr[..., 0] + xtr[..., 1]) % 7)
    assert torch.all(yva == (xva[..., 0] + xva[..., 1]) % 7)
    pairs = {tuple(r) for r in torch.cat([xtr[0], xva[0]])[:, :2].tolist()}
    assert len(pairs) == 49                                        # train and validation partition
    assert torch.equal(xtr[0], xtr[2]) and not torch.equal(xtr[0], xtr[1])
    with pytest.raises(ValueError):
        tr.modular_sequences(7, 1.0, [0])
    with pytest.raises(ValueError):
        tr.modular_sequences(7, 0.5, [-1])


def _reference_logits(P, x, tau):
    """A direct transformer, model by model, all three positions with a causal mask."""
    out = []
    for g in range(P["E"].shape[0]):
        h = P["E"][g][x[g]] + P["P"][g]                                 # (N, 3, d)
        n = tr._ln(h)
        H, d, dh = P["Wq"].shape[1:]
        q, k, v = (torch.stack([n @ P[w][g, i] for i in range(H)], 1) for w in ("Wq", "Wk", "Wv"))
        s = q @ k.transpose(-1, -2) / np.sqrt(dh)                      # (N, H, 3, 3)
        s = s.masked_fill(torch.triu(torch.ones(3, 3, dtype=torch.bool), 1), float("-inf"))
        z = (s.softmax(-1) @ v).transpose(1, 2).flatten(-2)             # (N, 3, H·dh)
        h = h + z @ P["Wo"][g]
        h = h + torch.relu(tr._ln(h) @ P["Win"][g]) @ P["Wout"][g]
        out.append(tau[g] * (tr._ln(h) @ P["U"][g])[:, -1])
    return torch.stack(out)


def test_transformer_logits_equal_a_direct_transformer_and_scale_with_tau():
    S = np.array([0, 1, 2])
    P = tr.init_transformer([0.3, 1.0, 3.0], S, p=5, d_model=8, n_heads=2, **F64)
    x = tr.modular_sequences(5, 0.6, S)[0]
    tau = np.array([0.5, 1.0, 1.5])
    got = tr.transformer_logits(P, x, tau)
    torch.testing.assert_close(got, _reference_logits(P, x, tau), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(tr.transformer_logits(P, x, 2 * tau), 2 * got, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError):
        tr.transformer_logits(P, x[:2], 1.0)
    with pytest.raises(TypeError):
        tr.transformer_logits({"E": P["E"]}, x, 1.0)


def test_init_transformer_divides_the_embeddings_by_alpha_only():
    P = tr.init_transformer([1.0, 4.0], [3, 3], p=5, d_model=8, n_heads=2, **F64)
    for k, v in P.items():
        torch.testing.assert_close(v[1], v[0] / 4.0 if k in ("E", "P") else v[0], rtol=0, atol=0)
    alone = tr.init_transformer(4.0, 3, p=5, d_model=8, n_heads=2, **F64)
    assert all(torch.equal(alone[k][0], P[k][1]) for k in P)
    with pytest.raises(ValueError):
        tr.init_transformer(-1.0, 0, p=5)
    with pytest.raises(ValueError):
        tr.init_transformer(1.0, 0, p=5, d_model=6, n_heads=4)


def test_train_transformer_is_adamw_with_lr_over_tau_squared():
    S, tau, lr, wd = np.array([0]), 1.5, 1e-2, 0.5
    data = tr.modular_sequences(5, 0.6, S)
    P = tr.init_transformer(2.0, S, p=5, d_model=8, n_heads=2, **F64)
    res = tr.train_transformer(P, data, tau=tau, steps=4, lr=lr, weight_decay=wd, eval_every=2)
    ref = {k: v.clone().requires_grad_(True) for k, v in P.items()}
    opt = torch.optim.AdamW(ref.values(), lr=lr / tau**2, betas=(0.9, 0.98), eps=1e-8, weight_decay=wd)
    for _ in range(4):
        opt.zero_grad()
        logits = tr.transformer_logits(ref, data[0], tau)
        torch.nn.functional.cross_entropy(logits[0], data[1][0]).backward()
        opt.step()
    for k in P:
        np.testing.assert_allclose(res.params[k], ref[k].detach().numpy(), rtol=1e-9, atol=1e-12)
    assert res.steps.tolist() == [0, 2, 4] and set(res.metrics) == {"train_loss", "train_accuracy", "val_accuracy"}


def test_train_transformer_batched_equals_alone():
    sw = Sweep(alpha=[0.5, 2.0], tau=[1.0, 1.5], seed=[0])
    A, T, S = (sw.column(k) for k in ("alpha", "tau", "seed"))
    kw = dict(steps=3, lr=1e-2, weight_decay=1.0, eval_every=3)
    data = tr.modular_sequences(5, 0.6, S)
    both = tr.train_transformer(tr.init_transformer(A, S, p=5, d_model=8, n_heads=2, **F64), data,
                                tau=T, sweep=sw, **kw)
    g = 3
    one = tr.train_transformer(tr.init_transformer(A[g], S[g:g + 1], p=5, d_model=8, n_heads=2, **F64),
                               tuple(d[g:g + 1] for d in data), tau=T[g], **kw)
    for k in both.params:
        np.testing.assert_allclose(both.params[k][g], one.params[k][0], rtol=1e-12, atol=1e-14)
    assert both.sweep is sw


def test_grok_grid_and_its_summaries():
    sw = Sweep(alpha=[0.1, 10.0], tau=[1.0], seed=[0, 1])
    steps = np.array([0, 10, 20, 30])
    train = np.array([[0, 1, 1, 1], [0, 0.5, 1, 1], [0, 1, 1, 1], [0, 1, 1, 1]], float)
    val = np.array([[0, 0.2, 0.5, 0.9], [0, 0.2, 0.5, 0.995], [0, 0.5, 0.99, 1], [0, 0.99, 1, 1]])
    res = Result(steps=steps, metrics={"train_accuracy": train, "val_accuracy": val}, sweep=sw)
    g = tr.grok_grid(res)
    np.testing.assert_array_equal(g.trained[:, 0], [[10, 20], [10, 10]])
    np.testing.assert_array_equal(g.grokked[:, 0], [[np.nan, 30], [20, 10]])
    np.testing.assert_array_equal(g.censored_mean(), [[30.0], [15.0]])
    np.testing.assert_array_equal(g.fraction_grokked(), [[0.5], [1.0]])
    table = g.table()
    assert list(table.columns) == ["trained, τ = 1", "grokked, τ = 1", "grokked runs, τ = 1"]
    assert table.iloc[0, 1] == "30 ± 0" and table.iloc[0, 2] == "1 ± 0"
    with pytest.raises(ValueError, match="axes"):
        tr.grok_grid(Result(steps=steps, metrics=res.metrics, sweep=Sweep(alpha=[0.1, 10.0], seed=[0, 1])))
    with pytest.raises(TypeError):
        tr.grok_grid({"val_accuracy": val})


# ---------------------------------------------------------------- RHM MLP
def test_one_hot_and_mlp_init_follow_the_paper():
    x = torch.tensor([[0, 2, 1], [1, 1, 0]])
    oh = deep_rhm.one_hot_inputs(x, 3)
    assert oh.shape == (2, 9) and oh[0].tolist() == [1, 0, 0, 0, 0, 1, 0, 1, 0]
    with pytest.raises(ValueError):
        deep_rhm.one_hot_inputs(x, 2)
    W = deep_rhm.mlp_init([1.0, 10.0, 0.03], 4, d_in=9, width=6, hidden=3, d_out=2, **F64)
    assert [w.shape[1:] for w in W] == [(6, 9), (6, 6), (6, 6), (2, 6)]
    torch.testing.assert_close(W[0][1], W[0][0] / 10.0) and torch.testing.assert_close(W[-1][1], 10 * W[-1][0])
    torch.testing.assert_close(W[1][2], W[1][0], rtol=0, atol=0)
    f = deep_rhm.mlp_forward(W, oh)
    torch.testing.assert_close(f[1], f[0], rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(f[2], f[0], rtol=1e-12, atol=1e-14)
    h = oh.double()
    for w in W[:-1]:
        h = torch.relu(h @ w[0].T / np.sqrt(w.shape[-1]))
    torch.testing.assert_close(f[0], h @ W[-1][0].T / 6, rtol=1e-12, atol=1e-14)


def test_cosine_rate():
    rate = deep_rhm.cosine_rate(6.4, epochs=10, batches=3)
    assert rate(0) == 6.4 and rate(2) == 6.4                      # constant within an epoch
    assert np.isclose(rate(3 * 4), 3.2)                            # e = 4 = half of 0.8·10
    assert rate(3 * 8) == 0.0 and rate(3 * 9 + 2) == 0.0
    with pytest.raises(ValueError):
        deep_rhm.cosine_rate(1.0, epochs=0, batches=3)


def test_train_mlp_sgd_is_torch_sgd_with_momentum_on_the_same_batches():
    rng = np.random.default_rng(1)
    N, d = 10, 6
    x = torch.as_tensor(rng.normal(size=(1, N, d)))
    y = torch.as_tensor(rng.integers(2, size=(1, N)))
    W0 = deep_rhm.mlp_init(2.0, 5, d_in=d, width=4, hidden=2, d_out=2, **F64)
    got = deep_rhm.train_mlp_sgd(W0, x, y, [5], epochs=2, lr0=0.4, batch=4)
    ref = [w[0].clone().requires_grad_(True) for w in W0]
    opt = torch.optim.SGD(ref, lr=0.4, momentum=0.9)
    rate = deep_rhm.cosine_rate(0.4, 2, 3)
    step = 0
    from theory.core import config_seed
    for e in range(2):
        perm = np.random.default_rng(config_seed("rich_lazy.deep_rhm.batches", 5, e)).permutation(N)
        for b in range(3):
            idx = torch.as_tensor(perm[4 * b:4 * b + 4])
            for grp in opt.param_groups:
                grp["lr"] = rate(step)
            opt.zero_grad()
            out = deep_rhm.mlp_forward([w[None] for w in ref], x[0, idx])[0]
            torch.nn.functional.cross_entropy(out, y[0, idx]).backward()
            opt.step()
            step += 1
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a[0].numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_rhm_mlp_sample_complexity_small():
    ds = deep_rhm.rhm_mlp_sample_complexity(3, 2, 2, 2, 2, sizes=[8, 32], alphas=[0.3, 3.0], seeds=[0, 1],
                                            width=8, epochs=2, batch=8, n_test=40, progress=False, **F64)
    assert ds["test_accuracy"].dims == ("alpha", "seed", "P") and ds["p_star"].dims == ("alpha", "seed")
    assert ds.attrs["lr0"] == 0.8 and ds.attrs["hidden"] == 3
    assert np.all((ds["test_accuracy"].values >= 0) & (ds["test_accuracy"].values <= 1))
    with pytest.raises(ValueError):
        deep_rhm.rhm_mlp_sample_complexity(3, 2, 2, 2, 2, sizes=[32, 8], seeds=[0], epochs=1, progress=False)


# ---------------------------------------------------------------- activation patterns (Fig. 5b, 6a)
def test_activation_change_and_parameter_movement():
    dims = dict(channels=(2, 3), kernel=3, hidden=4, d_out=2)
    W = deep.init_params("lenet", dims, [1.0, 1.0], [0, 1], **F64)
    x = torch.rand(6, 1, 8, 8, dtype=torch.float64)
    assert np.all(deep.activation_change(W, W, x) == 0) and np.all(deep.parameter_movement(W, W) == 0)
    flipped = [w.clone() for w in W]
    flipped[2][1] *= -1                                   # model 1: every dense pre-activation flips sign
    ch = deep.activation_change(W, flipped, x)
    _, z = deep._lenet(W, x)
    units = sum(t.shape[-1] for t in z)
    nonzero = float((z[2][1] != 0).double().mean())
    assert ch[0] == 0 and np.isclose(ch[1], 4 / units * nonzero, rtol=1e-12)
    total = sum(float((w[1] ** 2).sum()) for w in W)
    np.testing.assert_allclose(deep.parameter_movement(W, flipped),
                               [0, 2 * np.sqrt(float((W[2][1] ** 2).sum()) / total)], rtol=1e-12)
    with pytest.raises(ValueError):
        deep.activation_change(deep.init_params("cnn", dict(channels=(2, 2), d_out=2), 1.0, 0), W, x)
