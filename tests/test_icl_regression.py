"""Tests for theory.icl_regression: data layout, the exact Bayes estimators against brute-force
references, closed-form risks, the batched transformer, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from theory.icl_regression import (ModelConfig, baseline_risks, dmmse_first_risk, dmmse_naive,
                                   dmmse_posterior, dmmse_predict, forward, init_params,
                                   interpolation_path, ridge_naive, ridge_predict,
                                   ridge_risk_given_inputs, sample_pool, sample_sequences,
                                   to_tokens, tokens_to_targets, train_sweep, triangle_lr)


# ------------------------------------------------------------------ data and layout

def test_tokens_layout():
    s = sample_sequences(3, 5, 0.25, D=4, seed=0)
    tok = to_tokens(s.xs, s.ys)
    assert tok.shape == (3, 10, 5)
    for k in range(5):
        assert torch.equal(tok[:, 2 * k, 1:], s.xs[:, k]) and torch.all(tok[:, 2 * k, 0] == 0)
        assert torch.equal(tok[:, 2 * k + 1, 0], s.ys[:, k])
        assert torch.all(tok[:, 2 * k + 1, 1:] == 0)
    assert torch.equal(tokens_to_targets(tok[..., 0]), tok[:, 0::2, 0])


def test_sequences_statistics():
    pool = sample_pool(3, 2, seed=1)
    s = sample_sequences(20000, 4, 0.25, pool=pool, seed=2)
    assert set(s.task_index.tolist()) == {0, 1, 2}
    assert torch.equal(s.ws, pool[s.task_index])
    resid = s.ys - torch.einsum("nkd,nd->nk", s.xs, s.ws)
    assert abs(resid.var().item() - 0.25) < 0.01
    fresh = sample_sequences(20000, 2, 0.1, D=3, seed=3)
    assert abs(fresh.ws.var().item() - 1.0) < 0.03 and fresh.task_index is None


def test_interpolation_path_eq5():
    wi, wj = np.array([1.0, 0.0, 0.0]), np.array([0.0, 3.0, 0.0])
    path = interpolation_path(wi, wj, np.linspace(0, 1, 11))
    assert np.allclose(path[0], wj) is False          # endpoints rescaled to the mean norm
    assert np.allclose(np.linalg.norm(path, axis=1), 2.0)
    assert np.allclose(path[-1] / 2.0, wi) and np.allclose(path[0] / 2.0, wj / 3.0)
    w = np.array([0.6, 0.8])
    assert np.allclose(interpolation_path(w, w, [0.3]), w)


# ------------------------------------------------------------------ estimators

def test_dmmse_matches_naive_posterior():
    pool = sample_pool(5, 3, seed=0)
    s = sample_sequences(4, 6, 0.5, pool=pool, seed=1)
    fast = dmmse_predict(s.xs, s.ys, pool, 0.5)
    slow = dmmse_naive(s.xs, s.ys, pool, 0.5)
    assert torch.allclose(fast, slow, atol=1e-12, rtol=1e-10)
    post = dmmse_posterior(s.xs, s.ys, pool, 0.5)
    assert torch.allclose(post.sum(-1), torch.ones(4, 6, dtype=torch.float64))
    assert torch.allclose(post[:, 0], torch.full((4, 5), 0.2, dtype=torch.float64))


def test_dmmse_first_prediction_is_pool_mean_and_chunking():
    pool = sample_pool(300, 4, seed=2)
    s = sample_sequences(37, 5, 0.2, pool=pool, seed=3)
    p1, w1 = dmmse_predict(s.xs, s.ys, pool, 0.2, return_w=True)
    p2 = dmmse_predict(s.xs, s.ys, pool, 0.2, max_elements=5 * 300 * 3)   # chunks of 3
    assert torch.allclose(p1, p2, atol=1e-13)
    assert torch.allclose(w1[:, 0], pool.mean(0).expand(37, 4), atol=1e-13)


def test_dmmse_stable_for_large_pool_and_long_context():
    pool = sample_pool(2**16, 8, seed=0)
    s = sample_sequences(8, 16, 0.25, pool=pool, seed=1)
    p = dmmse_predict(s.xs, s.ys, pool, 0.25)
    assert torch.isfinite(p).all()
    # with 15 observations and σ² = 0.25 the posterior concentrates on the true pool task
    post = dmmse_posterior(s.xs[:2], s.ys[:2], pool, 0.25)
    assert torch.equal(post[:, -1].argmax(-1), s.task_index[:2])


def test_dmmse_single_task_is_exact():
    pool = sample_pool(1, 3, seed=4)
    s = sample_sequences(10, 4, 0.3, pool=pool, seed=5)
    assert torch.allclose(dmmse_predict(s.xs, s.ys, pool, 0.3), s.xs @ pool[0])


@pytest.mark.parametrize("task_scale", [1.0, 0.5])
def test_ridge_matches_gaussian_conditioning(task_scale):
    s = sample_sequences(5, 7, 0.25, D=3, seed=6)
    fast = ridge_predict(s.xs, s.ys, 0.25, task_scale=task_scale)
    slow = ridge_naive(s.xs, s.ys, 0.25, task_scale=task_scale)
    assert torch.allclose(fast, slow, atol=1e-11)
    assert torch.all(fast[:, 0] == 0)


def test_ridge_is_posterior_mean_by_information_form():
    # posterior N(Σ Xᵀy/σ², Σ), Σ = (I + XᵀX/σ²)⁻¹, written out for one prefix
    s = sample_sequences(1, 6, 0.4, D=2, seed=7)
    X, y = s.xs[0, :5], s.ys[0, :5]
    Sigma = torch.linalg.inv(torch.eye(2, dtype=torch.float64) + X.T @ X / 0.4)
    w = Sigma @ X.T @ y / 0.4
    _, w_hat = ridge_predict(s.xs, s.ys, 0.4, return_w=True)
    assert torch.allclose(w_hat[0, 5], w, atol=1e-12)


def test_dmmse_tends_to_ridge_and_beats_it_on_pool():
    d = []
    for M in (4, 64, 4096):
        r = baseline_risks(sample_pool(M, 4, seed=M), 8, 0.25, n=1024, seed=1)
        assert np.all(r.dmmse_pool.mean() < r.ridge_pool.mean())
        d.append(r.delta_new)
    assert d[0] > d[1] > d[2] and d[2] < 0.05 * d[0]


def test_ridge_risk_closed_form_against_monte_carlo():
    s = sample_sequences(20000, 6, 0.25, D=3, seed=8)
    mc = ((ridge_predict(s.xs, s.ys, 0.25) - s.ys) ** 2).mean(0).numpy() / 3
    exact = ridge_risk_given_inputs(s.xs, 0.25)
    assert abs(exact[0] - (3 + 0.25) / 3) < 1e-12
    se = ((ridge_predict(s.xs, s.ys, 0.25) - s.ys) ** 2).std(0).numpy() / 3 / math.sqrt(20000)
    assert np.all(np.abs(mc - exact) < 4 * se)


def test_dmmse_first_risk_matches_monte_carlo():
    pool = sample_pool(6, 3, seed=9)
    on_pool, on_new = dmmse_first_risk(pool, 0.25)
    s = sample_sequences(40000, 1, 0.25, pool=pool, seed=10)
    mc = ((dmmse_predict(s.xs, s.ys, pool, 0.25) - s.ys) ** 2).mean().item() / 3
    assert abs(mc - on_pool) < 0.02 * on_pool
    s = sample_sequences(40000, 1, 0.25, D=3, seed=11)
    mc = ((dmmse_predict(s.xs, s.ys, pool, 0.25) - s.ys) ** 2).mean().item() / 3
    assert abs(mc - on_new) < 0.03 * on_new


# ------------------------------------------------------------------ transformer

def test_triangle_schedule():
    assert triangle_lr(0, 100, 1e-3) == 0 and triangle_lr(50, 100, 1e-3) == pytest.approx(1e-3)
    assert triangle_lr(25, 100, 1e-3) == pytest.approx(5e-4)
    assert triangle_lr(75, 100, 1e-3) == pytest.approx(5e-4) and triangle_lr(100, 100, 1e-3) == 0


def test_forward_is_causal_and_models_are_independent():
    cfg = ModelConfig(D=3, K=5, n_layer=2, n_embd=16, n_head=2)
    params = init_params(cfg, 3, seed=0, device="cpu", dtype=torch.float64)
    for k in ("w_in", "w_qkv", "w_o"):          # make the models differ visibly
        params[k] = params[k] * 20
    s = sample_sequences(4, 5, 0.1, D=3, seed=1)
    tok = to_tokens(s.xs, s.ys).expand(3, 4, 10, 4).clone()
    out = forward(params, tok, 2)
    tok2 = tok.clone()
    tok2[:, :, 6:] += 1.0                         # change everything from position 6 on
    out2 = forward(params, tok2, 2)
    assert torch.allclose(out[..., :6], out2[..., :6], atol=1e-12)
    assert not torch.allclose(out[..., 6:], out2[..., 6:])
    for g in range(3):                            # model g alone gives the same read-out
        single = {k: v[g:g + 1] for k, v in params.items()}
        assert torch.allclose(forward(single, tok[g:g + 1], 2)[0], out[g], atol=1e-12)


def test_init_does_not_depend_on_sweep_size():
    cfg = ModelConfig(D=2, K=4, n_layer=1, n_embd=8, n_head=2)
    a = init_params(cfg, 3, seed=5, device="cpu")
    b = init_params(cfg, 1, seed=7, device="cpu")
    assert all(torch.equal(a[k][2], b[k][0]) for k in a)


def test_batched_training_equals_separate_runs():
    cfg = ModelConfig(D=2, K=4, n_layer=1, n_embd=8, n_head=2)
    kw = dict(sigma2=0.1, steps=5, batch_size=4, progress=False, device="cpu",
              dtype=torch.float64)
    both = train_sweep([3, math.inf], cfg, seed=0, pool_seed=1, **kw)
    # the gradient of the summed loss w.r.t. model g's weights is model g's own gradient:
    # train model 0 alone from the same init, pool and data
    params0 = init_params(cfg, 2, seed=0, device="cpu", dtype=torch.float64)
    p = {k: v[:1].clone().requires_grad_(True) for k, v in params0.items()}
    opt = torch.optim.Adam(list(p.values()), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: triangle_lr(s, 5, 1.0))
    gen = torch.Generator().manual_seed(10_007)
    pool = sample_pool(3, 2, seed=1)
    sizes = torch.tensor([3.0, 1.0], dtype=torch.float64)
    for _ in range(5):
        idx = (torch.rand(2, 4, generator=gen, dtype=torch.float64) * sizes[:, None]).long()
        torch.randn(2, 4, 2, generator=gen, dtype=torch.float64)
        xs = torch.randn(2, 4, 4, 2, generator=gen, dtype=torch.float64)
        eps = torch.randn(2, 4, 4, generator=gen, dtype=torch.float64)
        ws = pool[idx[0]]
        ys = torch.einsum("bkd,bd->bk", xs[0], ws) + math.sqrt(0.1) * eps[0]
        out = forward(p, to_tokens(xs[0], ys)[None], 2)[..., 0::2]
        opt.zero_grad()
        ((out[0] - ys) ** 2).mean().backward()
        opt.step()
        sched.step()
    for k in p:
        assert torch.allclose(p[k].detach()[0], both.params[k][0], atol=1e-10), k


# ------------------------------------------------------------------ bad input

def test_bad_input_raises():
    pool = sample_pool(4, 2, seed=0)
    s = sample_sequences(3, 4, 0.1, pool=pool, seed=0)
    with pytest.raises(ValueError, match="M must be"):
        sample_pool(0, 2)
    with pytest.raises(ValueError, match="finite"):
        sample_pool(math.inf, 2)
    with pytest.raises(TypeError, match="M must be"):
        sample_pool(2.5, 2)
    with pytest.raises(ValueError, match="sigma2"):
        sample_sequences(3, 4, -1.0, D=2)
    with pytest.raises(ValueError, match="give D"):
        sample_sequences(3, 4, 0.1)
    with pytest.raises(ValueError, match="pool must have shape"):
        dmmse_predict(s.xs, s.ys, sample_pool(4, 3), 0.1)
    with pytest.raises(ValueError, match="sigma2"):
        dmmse_predict(s.xs, s.ys, pool, 0.0)
    with pytest.raises(ValueError, match="xs must have shape"):
        ridge_predict(s.xs[0], s.ys, 0.1)
    with pytest.raises(TypeError, match="torch tensors"):
        ridge_predict(s.xs.numpy(), s.ys, 0.1)
    with pytest.raises(ValueError, match="finite"):
        ridge_predict(s.xs * float("nan"), s.ys, 0.1)
    with pytest.raises(ValueError, match="alpha"):
        interpolation_path([1.0, 0.0], [0.0, 1.0], [1.5])
    with pytest.raises(ValueError, match="n_embd"):
        ModelConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="Ms"):
        train_sweep([], progress=False)
    with pytest.raises(ValueError, match="Ms entry must be"):
        train_sweep([0], progress=False)


# ------------------------------------------------------------------ evaluation and the paper path

def test_evaluate_sweep_and_paths_small_run():
    from theory.icl_regression import evaluate_sweep, path_losses
    cfg = ModelConfig(D=2, K=4, n_layer=1, n_embd=8, n_head=2)
    run = train_sweep([1, 3, math.inf], cfg, sigma2=0.1, steps=3, batch_size=4, progress=False,
                      device="cpu")
    ev = evaluate_sweep(run, n=64)
    assert np.isnan(ev.dmmse_pool[2]) and np.all(np.isfinite(ev.pt_new))
    # M = 1: dMMSE is the pool task itself, its loss on the pool is the noise level σ²/D,
    # apart from the first position where it is the pool mean (the same task)
    assert abs(ev.dmmse_pool[0] - 0.1 / 2) < 0.03
    assert np.allclose(ev.ridge_new, ev.ridge_new[0])          # the same new-task draws
    p = path_losses(run, 1, np.linspace(0, 1, 3), n_pairs=2, n=8)
    assert p.pt.shape == (3,) and np.all(np.isfinite(p.dmmse))
    assert np.all(np.isnan(path_losses(run, 2, [0.0, 1.0], n_pairs=1, n=4).dmmse))
    with pytest.raises(ValueError, match="at least two"):
        path_losses(run, 0, [0.5])
    with pytest.raises(ValueError, match="g must be"):
        path_losses(run, 3, [0.5])


def test_paper_run_writes_results(tmp_path):
    import json

    from theory.icl_regression.paper_run import main
    out = main(["--steps", "2", "--out", str(tmp_path / "r.json")])
    res = json.loads(out.read_text())
    assert res["scale"] == "laptop" and res["M"][-1] == "inf" and res["dmmse_new"][-1] is None
    assert len(res["pt_new"]) == len(res["M"]) and res["config"]["steps"] == 2


def test_paper_settings_are_the_papers(monkeypatch):
    from theory.icl_regression.paper_run import paper_settings
    monkeypatch.setenv("THEORY_SCALE", "paper")
    s = paper_settings()
    c = s["config"]
    assert (c.D, c.K, c.n_layer, c.n_embd, c.n_head) == (8, 16, 8, 128, 2)
    assert (s["sigma2"], s["batch_size"], s["lr"], s["steps"]) == (0.25, 256, 1e-3, 500_000)
    assert s["Ms"][:-1] == [2**k for k in range(16)] and math.isinf(s["Ms"][-1])
