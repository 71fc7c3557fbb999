"""Tests for theory.icl_regression: data layout, the exact Bayes estimators against brute-force
references, closed-form risks, the batched transformer, and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from theory.icl_regression import (ModelConfig, baseline_risks, distance, dmmse_first_risk,
                                   dmmse_naive, dmmse_posterior, dmmse_predict, forward,
                                   init_params, interpolation_path, loss, model_seeds,
                                   ridge_naive, ridge_predict, ridge_risk_given_inputs,
                                   sample_pool, sample_sequences, to_tokens, tokens_to_targets,
                                   train_sweep, triangle_lr)


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


def test_dmmse_log_weights_far_below_the_floor_change_nothing():
    # σ² small enough that most tasks' shifted log-weights lie far below the −700 floor, both in
    # float64 and rounded from float32: the normalised-after-product mean of the predictor equals
    # the softmax posterior's mean (dmmse_posterior: no floor, torch's softmax) to rounding
    pool = sample_pool(512, 4, seed=7)
    s = sample_sequences(6, 9, 0.01, pool=pool, seed=8)
    _, w = dmmse_predict(s.xs, s.ys, pool, 0.01, return_w=True)
    post = dmmse_posterior(s.xs, s.ys, pool, 0.01)
    from theory.icl_regression.estimators import _dmmse_logits
    logits = _dmmse_logits(s.xs, s.ys, pool, 0.01)                          # max 0 in each row
    assert float((logits[:, 1:] < -2000).double().mean()) > 0.2              # the floor is hit
    assert torch.allclose(w, post @ pool, atol=1e-13, rtol=1e-12)
    p32, w32 = dmmse_predict(s.xs.float(), s.ys.float(), pool.float(), 0.01, return_w=True)
    w64 = dmmse_predict(s.xs.float().double(), s.ys.float().double(), pool.float().double(), 0.01,
                        return_w=True)[1]
    assert w32.dtype == torch.float32 and torch.equal(w32, w64.float())


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
    assert triangle_lr(0, 2, 1.0) == 0 and triangle_lr(1, 2, 1.0) == 1 and triangle_lr(2, 2, 1.0) == 0
    assert triangle_lr(2, 3, 1.0, warmup_frac=0.9) == 1.0      # warm-up capped at steps − 1
    assert triangle_lr(25, 100, 1e-3) == pytest.approx(5e-4)
    assert triangle_lr(75, 100, 1e-3) == pytest.approx(5e-4) and triangle_lr(100, 100, 1e-3) == 0


def test_forward_is_causal_and_models_are_independent():
    cfg = ModelConfig(D=3, K=5, n_layer=2, n_embd=16, n_head=2)
    params = init_params(cfg, [0, 1, 2], device="cpu", dtype=torch.float64)
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


def test_init_depends_on_the_seed_only():
    cfg = ModelConfig(D=2, K=4, n_layer=1, n_embd=8, n_head=2)
    a = init_params(cfg, [11, 12, 5], device="cpu")
    b = init_params(cfg, [5], device="cpu")
    assert all(torch.equal(a[k][2], b[k][0]) for k in a)
    assert not torch.equal(a["w_in"][0], a["w_in"][1])


def test_model_seeds_name_configurations_not_positions():
    # the old scheme seeded model g with seed + g: model g at seed s was model g-1 at seed s+1
    Ms = [2, 4, 8, math.inf]
    s0, s1 = model_seeds(Ms, "init", seed=0), model_seeds(Ms, "init", seed=1)
    assert len(set(s0.tolist()) | set(s1.tolist())) == 8
    assert np.array_equal(model_seeds([8, 2], "init", seed=0), s0[[2, 0]])
    assert not np.array_equal(model_seeds(Ms, "data", seed=0), s0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_configuration_trains_bit_identically_alone_and_in_a_batch(dtype):
    cfg = ModelConfig(D=2, K=4, n_layer=2, n_embd=16, n_head=2)
    kw = dict(sigma2=0.1, steps=6, batch_size=5, progress=False, device="cpu", dtype=dtype,
              record_every=2, seed=3, pool_seed=4)
    big = train_sweep([3, math.inf, 8], cfg, **kw)
    for M, g_big in ((math.inf, 1), (8, 2)):
        alone = train_sweep([M], cfg, **kw)
        for k in big.params:
            assert torch.equal(torch.as_tensor(big.params[k][g_big]),
                               torch.as_tensor(alone.params[k][0])), k
        assert np.array_equal(big["train_loss"][g_big], alone["train_loss"][0])
    shuffled = train_sweep([8, 2, 3], cfg, **kw)                  # another order, another batch
    for k in big.params:
        assert torch.equal(torch.as_tensor(big.params[k][0]), torch.as_tensor(shuffled.params[k][2]))
        assert torch.equal(torch.as_tensor(big.params[k][2]), torch.as_tensor(shuffled.params[k][0]))
    assert torch.equal(big.pools[0], shuffled.pools[2])


def test_sweep_run_is_a_core_result():
    from theory.core import Result
    cfg = ModelConfig(D=2, K=4, n_layer=1, n_embd=8, n_head=2)
    run = train_sweep([2, math.inf], cfg, sigma2=0.1, steps=4, batch_size=3, progress=False,
                      device="cpu", record_every=3)
    assert isinstance(run, Result)
    assert run.steps.tolist() == [0, 3, 4] and run["train_loss"].shape == (2, 3)
    assert run.params["w_in"].shape == (2, 3, 8) and run.pools[1] is None


def test_training_follows_torch_adam_and_the_triangle_schedule():
    # one model trained by hand with torch.optim.Adam and LambdaLR on the same batches
    from theory.icl_regression.transformer import _sweep_data
    cfg = ModelConfig(D=2, K=4, n_layer=1, n_embd=8, n_head=2)
    kw = dict(sigma2=0.1, steps=5, batch_size=4, progress=False, device="cpu",
              dtype=torch.float64, seed=0, pool_seed=1, lr=1e-2)
    run = train_sweep([3], cfg, **kw)
    params0 = init_params(cfg, model_seeds([3], "init", seed=0), device="cpu",
                          dtype=torch.float64)
    p = {k: v.clone().requires_grad_(True) for k, v in params0.items()}
    opt = torch.optim.Adam(list(p.values()), lr=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: triangle_lr(s, 5, 1.0))
    pool = run.pools[0]
    batch = _sweep_data((pool[None], torch.tensor([3.0], dtype=torch.float64)),
                        torch.tensor([False]), model_seeds([3], "data", seed=0), 4, 4, 2, 0.1,
                        torch.float64, torch.device("cpu"))
    for step in range(5):
        xs, ys = batch(step)
        out = forward(p, to_tokens(xs, ys), 2)[..., 0::2]
        opt.zero_grad()
        ((out - ys) ** 2).mean().backward()
        opt.step()
        sched.step()
    for k in p:
        assert torch.allclose(p[k].detach()[0], torch.as_tensor(run.params[k][0]), atol=1e-10), k


def test_training_batches_come_from_the_pool():
    from theory.icl_regression.transformer import _sweep_data
    pool = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    batch = _sweep_data((pool[None], torch.tensor([2.0], dtype=torch.float64)),
                        torch.tensor([False]), np.array([7]), 4000, 3, 2, 0.0,
                        torch.float64, torch.device("cpu"))
    xs, ys = batch(0)
    assert xs.shape == (1, 4000, 3, 2) and abs(xs.var().item() - 1) < 0.05
    on_first = torch.isclose(ys[0], xs[0, ..., 0]).all(-1)
    on_second = torch.isclose(ys[0], 2 * xs[0, ..., 1]).all(-1)
    assert bool((on_first | on_second).all()) and 0.45 < on_first.double().mean() < 0.55
    assert not torch.equal(batch(1)[0], xs)                    # a fresh batch every step


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


def test_bad_input_named_in_issue_11_raises_value_errors():
    cfg = ModelConfig(D=2, K=4, n_layer=1, n_embd=8, n_head=2)
    params = init_params(cfg, [0], device="cpu")
    tok = to_tokens(*(lambda s: (s.xs, s.ys))(sample_sequences(2, 4, 0.1, D=2, seed=0)))[None]
    with pytest.raises(ValueError, match="n_head"):
        forward(params, tok.float(), 0)
    with pytest.raises(ValueError, match="n_head=3 must divide the model's width n_embd=8"):
        forward(params, tok.float(), 3)
    # issue 20: one step is a legal schedule (it was refused): its one update takes the peak
    assert train_sweep([2], cfg, steps=1, batch_size=2, progress=False).meta["steps"] == 1
    assert triangle_lr(0, 1, 1e-3) == 1e-3
    with pytest.raises(ValueError, match="total_steps"):
        triangle_lr(0, 0, 1e-3)
    a, b = torch.zeros(3, 4), torch.zeros(3, 5)
    with pytest.raises(ValueError, match="^f .* and g .* must have one shape"):
        distance(a, b, 2)
    with pytest.raises(TypeError, match="g must be a torch tensor"):
        distance(a, b.numpy(), 2)
    with pytest.raises(ValueError, match="pred .* and ys .* must have one shape"):
        loss(a, b, 2)


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


# ------------------------------------------------------------------ the notebooks' analyses and figures

def test_pool_size_sweep_is_baseline_risks_per_pool():
    from theory.icl_regression import pool_size_sweep
    sw = pool_size_sweep([1, 4], 2, 3, 0.2, n=16, pool_seed=5, seed=9)
    for i, M in enumerate([1, 4]):
        r = baseline_risks(sample_pool(M, 2, seed=5 + i), 3, 0.2, n=16, seed=9 + i)
        assert sw.dmmse_new[i] == r.dmmse_new.mean() and sw.delta_pool[i] == r.delta_pool
        assert sw.se_pool[i] == r.se_pool.mean()
    assert "Δ(dMMSE,R) new" in sw.table()


def test_dimension_study_and_noise_sweep():
    from theory.icl_regression import dimension_study, dimension_sweep, noise_sweep
    d = dimension_sweep([1, 2], [1, 4], n=8)
    assert d.shape == (2, 2) and np.all(d >= 0)
    # M = 1: dMMSE predicts with the single pool task, so its distance to ridge is large
    st = dimension_study(n=8, n_positions=8, Ds=(1, 2), Ms=(1, 4), M=4, D=2, sigma2s=(0.1, 1.0))
    assert np.array_equal(st.deltas, d) and st.gaps.shape == (2,)
    assert st.ridge_theory.shape == (4,) and st.positions.dmmse_new.shape == (4,)
    pool = sample_pool(4, 2, seed=9)
    r = baseline_risks(pool, 4, 1.0, n=8, seed=10)
    assert noise_sweep(pool, 4, [1.0], n=8)[0] == r.dmmse_new.mean() - r.ridge_new.mean()


def test_risk_checks_agree_with_the_closed_forms():
    from theory.icl_regression import risk_checks
    chk = risk_checks(sample_pool(8, 3, seed=6), 5, 0.25, n=2000, seed=8)
    assert chk.ridge_exact[0] == pytest.approx((3 + 0.25) / 3)
    assert np.all(chk.z_ridge < 5) and np.all(chk.z_first < 5)
    assert "Monte Carlo" in chk.table()


def test_transition_interpolates_the_first_crossing():
    import dataclasses

    from theory.icl_regression import evaluate_sweep, transition
    cfg = ModelConfig(D=2, K=3, n_layer=1, n_embd=8, n_head=2)
    run = train_sweep([2, 4, 8, math.inf], cfg, sigma2=0.1, steps=2, batch_size=2,
                      progress=False, device="cpu")
    ev = evaluate_sweep(run, n=8)
    e = math.e
    fake = dataclasses.replace(ev, d_pt_ridge_new=np.array([e, e, 1.0, 1.0]),
                               d_pt_dmmse_new=np.array([1.0, 1.0, e, np.nan]))
    tr = transition(run, fake, n=8)
    # gap = log(ridge/dmmse) = +1, +1, −1: the zero lies half way between M = 4 and M = 8
    assert tr.status == "crossing" and tr.log2_star == pytest.approx(2.5)
    assert np.allclose(tr.gap, [1, 1, -1]) and "log2 M*" in tr.table()
    assert tr.table().splitlines()[-1] == (
        "paper, base model at D = 8: log2 M* between 14 and 15; small model: about 11.5")
    above = dataclasses.replace(fake, d_pt_dmmse_new=np.array([1.0, 1.0, 0.5, np.nan]))
    assert transition(run, above, n=8).status == "above"
    below = dataclasses.replace(fake, d_pt_ridge_new=np.array([0.5, e, 1.0, 1.0]))
    t = transition(run, below, n=8)
    assert t.status == "below" and t.log2_star == 1.0
    with pytest.raises(ValueError, match="ev must be"):
        transition(run, dataclasses.replace(ev, Ms=[2, 4]), n=8)


def test_figures_and_explorer_frames():
    import matplotlib
    import matplotlib.pyplot as plt

    from theory.icl_regression import (dimension_study, evaluate_sweep, path_losses,
                                       path_table, plots, pool_size_sweep)
    matplotlib.use("Agg")
    cfg = ModelConfig(D=2, K=3, n_layer=1, n_embd=8, n_head=2)
    run = train_sweep([2, math.inf], cfg, sigma2=0.1, steps=2, batch_size=2, progress=False,
                      device="cpu")
    ev = evaluate_sweep(run, n=8)
    paths = [path_losses(run, g, [0.0, 0.5, 1.0], n_pairs=1, n=4) for g in range(2)]
    assert "at α = 0.5" in path_table(run.Ms, paths)
    figs = [plots.training_figure(run), plots.sweep_figure(run, ev),
            plots.paths_figure(run.Ms, paths),
            plots.pool_size_figure(pool_size_sweep([1, 4], 2, 3, 0.2, n=8)),
            plots.dimension_figure(dimension_study(n=8, n_positions=8, Ds=(1, 2), Ms=(1, 4),
                                                   M=4, D=2, sigma2s=(0.1, 1.0))),
            plots.paper_scale_figure({"M": [1, "inf"], "d_pt_dmmse_new": [0.1, None],
                                      "d_pt_ridge_new": [0.2, 0.05], "seconds": 3600.0}),
            plots.posterior_explorer(log2_M=3, k=2, sigma2=0.5)]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figs)
    for f in figs:
        plt.close(f)
    with pytest.raises(TypeError, match="sweep must be a PoolSizeSweep"):
        plots.pool_size_figure(ev)
    with pytest.raises(ValueError, match="paths must be"):
        plots.paths_figure(run.Ms, paths[:1])
    assert plots.position_explorer.controls["tasks"] == ("new tasks", "pool tasks")


def test_position_explorer_frames_at_its_corners(monkeypatch):
    # the explorer reads the cached trained sweep; a tiny stand-in with the same pool sizes keeps
    # the test cheap (tests/test_explorers.py calls it on the real, cached laptop sweep)
    import matplotlib
    import matplotlib.pyplot as plt

    from theory.icl_regression import evaluate_sweep, plots
    from theory.icl_regression.paper_run import paper_settings
    cfg = ModelConfig(D=2, K=3, n_layer=1, n_embd=8, n_head=2)
    run = train_sweep(paper_settings()["Ms"], cfg, sigma2=0.1, steps=2, batch_size=2,
                      progress=False, device="cpu")
    tiny = (run, evaluate_sweep(run, n=8))
    monkeypatch.setattr(plots, "trained_sweep", lambda seed=0: tiny)
    models = plots.position_explorer.controls["model"]
    for model in (models[0], models[-1]):
        for tasks in ("new tasks", "pool tasks"):
            fig = plots.position_explorer(model=model, tasks=tasks)
            assert isinstance(fig, matplotlib.figure.Figure)
            plt.close(fig)
    with pytest.raises(ValueError, match="model must be one of"):
        plots.position_explorer.func(model="3")


# ------------------------------------------------------------------ the thin notebooks' helpers

def test_reference_errors_are_round_off_and_reproduce_the_direct_computation():
    from theory.icl_regression import reference_errors
    ref = reference_errors(M=4, D=2, K=5, sigma2=0.3, n=3, pool_seed=1, seed=2)
    pool = sample_pool(4, 2, seed=1)
    s = sample_sequences(3, 5, 0.3, pool=pool, seed=2)
    direct = (dmmse_predict(s.xs, s.ys, pool, 0.3) - dmmse_naive(s.xs, s.ys, pool, 0.3)).abs().max()
    assert ref.dmmse == direct.item() and ref.dmmse < 1e-10 and ref.ridge < 1e-10
    new = sample_sequences(3, 5, 0.3, D=2, seed=3)
    assert ref.ridge == (ridge_predict(new.xs, new.ys, 0.3)
                         - ridge_naive(new.xs, new.ys, 0.3)).abs().max().item()
    assert ref.table().startswith("max |batched − reference|: dMMSE ")
    with pytest.raises(ValueError, match="sigma2"):
        reference_errors(sigma2=0.0)


def test_posterior_concentration_reads_the_true_task():
    from theory.icl_regression import posterior_concentration
    pc = posterior_concentration(32, 2, 12, 0.05, n=6, pool_seed=4, seed=5)
    pool = sample_pool(32, 2, seed=4)
    s = sample_sequences(6, 12, 0.05, pool=pool, seed=5)
    post = dmmse_posterior(s.xs, s.ys, pool, 0.05)
    assert pc.true_weight.shape == (6, 12) and pc.finite
    assert np.array_equal(pc.true_weight[:, 0], np.full(6, 1 / 32))      # prior: uniform
    for i in range(6):
        assert np.array_equal(pc.true_weight[i], post[i, :, s.task_index[i]].numpy())
    assert np.array_equal(pc.top_is_true, (post[:, -1].argmax(-1) == s.task_index).numpy())
    med = np.median(pc.true_weight, axis=0)[[0, 4]].round(4)
    assert pc.table(positions=(1, 5)) == (
        f"median posterior weight of the true task at k = 1, 5: {med}")
    with pytest.raises(ValueError, match="positions entry"):
        pc.table(positions=(13,))


def test_dimension_study_table_and_z():
    from theory.icl_regression import dimension_study
    st = dimension_study(n=8, n_positions=8, Ds=(1, 2), Ms=(1, 4), M=4, D=2, sigma2s=(0.1,))
    p = st.positions
    assert np.array_equal(st.z_new, (p.dmmse_new - p.ridge_new) / p.se_new)
    assert np.array_equal(p.z_new, st.z_new)
    lines = st.table().splitlines()
    deltas = {1: st.deltas[0].round(4).tolist(), 2: st.deltas[1].round(4).tolist()}
    assert lines[0] == f"Δ(dMMSE, Ridge) on new tasks: {deltas}"
    assert lines[1].endswith(str(st.z_new.round(1)))


def test_sweep_paths_centre_ends_report_and_results(tmp_path):
    import json

    from theory.icl_regression import PATH_ALPHA, PAPER_THRESHOLD_LOG2, path_losses, sweep_paths
    from theory.icl_regression.paper_run import load_results, report
    assert PATH_ALPHA.size == 11 and PATH_ALPHA[5] == 0.5 and PAPER_THRESHOLD_LOG2["base"] == (14, 15)
    cfg = ModelConfig(D=2, K=3, n_layer=1, n_embd=8, n_head=2)
    run = train_sweep([2, math.inf], cfg, sigma2=0.1, steps=2, batch_size=2, progress=False,
                      device="cpu")
    paths = sweep_paths(run, [0.0, 0.5, 1.0], n_pairs=1, n=4, seed=7)
    for g, p in enumerate(paths):
        q = path_losses(run, g, [0.0, 0.5, 1.0], n_pairs=1, n=4, seed=7)
        assert np.array_equal(p.pt, q.pt) and np.array_equal(p.ridge, q.ridge, equal_nan=True)
        assert p.centre("pt") == p.pt[1] and p.ends("ridge") == p.ridge[[0, -1]].mean()
    with pytest.raises(ValueError, match="name must be"):
        paths[0].centre("transformer")
    lines = report(run).splitlines()
    assert lines[0] == ("D=2 K=3 layers=1 width=8 heads=2 σ²=0.1 batch=2 steps=2 lr=0.001 "
                        "M=[2, inf]")
    assert lines[1].startswith("2 models × 2 steps in ")
    with pytest.raises(TypeError, match="run must be a SweepRun"):
        report(paths)
    assert load_results("paper", tmp_path) is None
    (tmp_path / "sweep_paper.json").write_text(json.dumps({"M": [1]}))
    assert load_results("paper", tmp_path) == {"M": [1]}
    with pytest.raises(ValueError, match="scale must be"):
        load_results("huge", tmp_path)


def test_laptop_settings_are_the_pages():
    # task_diversity.ipynb states these sizes in its prose and trains trained_sweep() with them
    from pathlib import Path

    import nbformat

    from theory.core import get_scale
    from theory.icl_regression.paper_run import paper_settings
    if get_scale() != "laptop":
        pytest.skip("the page's prose describes the laptop scale")
    s = paper_settings()
    c = s["config"]
    assert (c.D, c.K, c.n_layer, c.n_embd, c.n_head) == (2, 8, 2, 32, 2)
    assert (s["sigma2"], s["batch_size"], s["lr"], s["steps"], s["n_eval"]) == (
        0.0625, 128, 3e-3, 800, 2048)
    assert s["Ms"][:-1] == [2, 4, 8, 16, 32] and math.isinf(s["Ms"][-1])
    nb = nbformat.read(Path(__file__).resolve().parents[1] / "book" / "icl_regression"
                       / "task_diversity.ipynb", as_version=4)
    prose = " ".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    for text in ("800 steps", "batch 128", r"$\sigma^2 = 1/16$", r"$3\cdot10^{-3}$",
                 r"$M \in \{2, 4, 8, 16, 32, \infty\}$"):
        assert text in prose, text
