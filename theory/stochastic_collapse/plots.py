"""Figures and the explorer of the stochastic-collapse chapter (``book/stochastic_collapse``).

Every function takes what it draws as explicit arguments and returns a matplotlib Figure sized
by :func:`theory.core.figure`; theory is drawn as lines, simulation as markers. The explorer
:func:`prototype_explorer` draws the quartic well of Chen et al. (2023), Fig. 1, from its exact
formulas only (cheap frames).
"""

from __future__ import annotations

import numpy as np

from theory.core import (COLORS, Result, as_array, check_scalar, explorer, figure, non_negative,
                         positive_int)
from theory.stochastic_collapse.deep_experiments import (DeepSetup, final_table,
                                                         independent_table)
from theory.stochastic_collapse.exact import (critical_noise, em_exponent,
                                              gbm_collapse_probability, prototype_exponent,
                                              stationary_density, stationary_moments)

__all__ = ["collapse_sweeps_figure", "effective_rank_figure", "general_teacher_student_figure",
           "learning_curves_figure", "noise_controls_figure",
           "prototype_explorer", "prototype_paths_figure", "prototype_stationary_figure",
           "prototype_threshold_figure", "soft_threshold_figure", "stationary_losses_figure",
           "tanh_collapse_figure", "two_phase_figure"]


def _vec(x, name: str, n: int | None = None, *, check=as_array, ndim=1) -> np.ndarray:
    """``x`` a finite, non-empty array of ``ndim`` dimensions (first axis of length ``n``)."""
    arr = check(x, name, ndim=ndim, nonempty=True)
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have {n} entries along its first axis (one per level), "
                         f"got shape {arr.shape}")
    return arr


def _same(first: str, arrays: dict) -> dict:
    """Validate the 1-D arrays ``arrays`` (name → value), all of the length of ``first``."""
    out = {first: _vec(arrays[first], first)}
    n = out[first].size
    for k, v in arrays.items():
        if k != first:
            out[k] = _vec(v, k, n)
    return out


def _check_runs(runs, name="runs", need=("lr", "batch_size", "label_noise")) -> None:
    from theory.stochastic_collapse.deep_experiments import _check_runs as check

    check(runs, name, need=need)


def _check_setup(setup) -> None:
    if not isinstance(setup, DeepSetup):
        raise TypeError(f"setup must be a DeepSetup, got {type(setup).__name__}")


def _index(values, value) -> int:
    hits = np.flatnonzero(np.isclose(np.asarray(values, dtype=float), value))
    if hits.size == 0:
        raise ValueError(f"{value!r} is not one of the simulated values {list(values)}")
    return int(hits[0])


# ------------------------------------------------------------------ the quartic well (Fig. 1)

def prototype_paths_figure(t, x, zetas, mu, *, show=(0.1, 1.0, 2.5), n_show: int = 40):
    """Sample paths θ_t of the quartic well at three noise levels: ``x`` (Z, P, T) on ``t``."""
    x = as_array(x, "x", ndim=3, nonempty=True)
    t = _vec(t, "t")
    if x.shape[-1] != t.size:
        raise ValueError(f"t must have one time per record of x ({x.shape[-1]}), got {t.size}")
    zetas = _vec(zetas, "zetas", x.shape[0])
    mu = check_scalar(mu, "mu")
    n_show = positive_int(n_show, "n_show")
    show = [check_scalar(z, "show") for z in np.atleast_1d(show).tolist()] \
        if not isinstance(show, (str, bytes)) and show is not None else None
    if not show:
        raise TypeError("show must be a non-empty sequence of noise levels in zetas")
    for z in show:
        _index(zetas, z)
    fig, axes = figure(1, len(show), width="wide", sharey=True)
    for ax, z in zip(np.atleast_1d(axes), show):
        i = _index(zetas, z)
        ax.plot(t, x[i, :n_show].T, lw=0.6, color=COLORS["blue"], alpha=0.6)
        ax.axhline(0, color=COLORS["red"], lw=1)
        ax.set(xlabel="time t", title=f"ζ = {z:g}: λ = μ − ζ²/2 = {prototype_exponent(mu, z):+.3g}")
    np.atleast_1d(axes)[0].set_ylabel(r"$\theta_t$")
    fig.suptitle(f"Quartic well, μ = {mu:g}: {n_show} of {x.shape[1]} Euler–Maruyama paths per "
                 f"noise level")
    return fig


def prototype_threshold_figure(zetas, collapsed, slope, stderr, mu, dt):
    """Left: fraction collapsed against ζ with ζ_c = √(2μ). Right: the exponent μ − ζ²/2, the
    Euler–Maruyama scheme's exact exponent at step ``dt``, and the measured slopes (± 2 s.e.)."""
    v = _same("zetas", dict(zetas=zetas, collapsed=collapsed, slope=slope, stderr=stderr))
    zetas, collapsed, slope, stderr = v["zetas"], v["collapsed"], v["slope"], v["stderr"]
    if np.any(zetas <= 0):
        raise ValueError(f"zetas must be > 0, got {zetas}")
    mu = check_scalar(mu, "mu", min=0.0, include_min=False)
    dt = check_scalar(dt, "dt", min=0.0, include_min=False)
    fig, (ax0, ax1) = figure(1, 2, width="wide")
    ax0.plot(zetas, collapsed, "o", color=COLORS["blue"], label="simulation, |θ₂₅| < 1e-3")
    ax0.axvline(critical_noise(mu), color=COLORS["theory"], ls="--", label="ζ_c = √(2μ)")
    ax0.set(xlabel="noise ζ", ylabel="fraction collapsed", title="Collapse probability at t = 25")
    ax0.legend(fontsize=8)
    zz = np.linspace(0, 1.03 * float(np.max(zetas)), 200)
    ax1.plot(zz, prototype_exponent(mu, zz), color=COLORS["theory"], label="theory μ − ζ²/2")
    ax1.plot(zz, em_exponent(mu, np.maximum(zz, 1e-3), dt), ":", color=COLORS["grey"],
             label=f"Euler–Maruyama's exact exponent, dt = {dt:g}")
    ax1.errorbar(zetas, slope, yerr=2 * np.asarray(stderr), fmt="o", color=COLORS["orange"], ms=4,
                 label="measured slope of E log|θ| (±2 s.e.)")
    ax1.axhline(0, color=COLORS["grey"], lw=1)
    ax1.set(xlabel="noise ζ", ylabel="Lyapunov exponent λ", title="Exponent at θ = 0")
    ax1.legend(fontsize=8)
    return fig


def prototype_stationary_figure(samples: dict, mu):
    """Histograms of late-time samples (``samples``: ζ → 1-D array) over the stationary density."""
    if not isinstance(samples, dict) or not samples:
        raise TypeError(f"samples must be a non-empty dict ζ → array of samples, got "
                        f"{type(samples).__name__}")
    mu = check_scalar(mu, "mu", min=0.0, include_min=False)
    samples = {check_scalar(z, "samples (a key ζ)", min=0.0, include_min=False):
               as_array(xs, f"samples[{z!r}]", nonempty=True) for z, xs in samples.items()}
    for z in samples:
        if z**2 >= 2 * mu:
            raise ValueError(f"samples: ζ = {z:g} has no stationary density (ζ² >= 2μ = {2 * mu:g})")
    fig, ax = figure()
    grid = np.linspace(-2.5, 2.5, 400)
    for (z, xs), c in zip(samples.items(), (COLORS["blue"], COLORS["green"], COLORS["orange"])):
        ax.hist(np.ravel(xs), bins=120, range=(-2.5, 2.5), density=True, alpha=0.35, color=c,
                label=f"simulation, ζ = {z:g}")
        ax.plot(grid, stationary_density(grid, mu, z), color=c, label=f"theory, ζ = {z:g}")
    ax.set(xlabel=r"$\theta$", ylabel="density", title="Stationary law |θ|^{2μ/ζ²−2} e^{−θ²/ζ²}")
    ax.legend(fontsize=8)
    return fig


@explorer(mu=[0.5, 1.0, 1.5, 2.0], zeta=[0.5, 1.0, 1.25, 1.5, 1.75, 2.5],
          labels={"mu": "μ", "zeta": "ζ"})
def prototype_explorer(mu: float = 1.5, zeta: float = 1.0):
    """The quartic well dθ = −(θ³ − μθ)dt + ζθ dW from its exact formulas (Chen et al. 2023,
    Fig. 1). Left: the stationary density |θ|^{2μ/ζ²−2}e^{−θ²/ζ²}/Z when ζ² < 2μ (none above:
    the law collapses onto θ = 0), with E[θ²] = μ − ζ²/2. Right, against ζ with the chosen ζ
    marked: the exponent λ = μ − ζ²/2 at θ = 0, and, since near θ = 0 the well is the geometric
    Brownian motion of that exponent, its collapse probability P(|θ₂₅| < 10⁻³) from θ₀ = 10⁻²,
    Φ((log ε − log θ₀ − λt)/(ζ√t)) at t = 25, which rises through ½ near ζ_c = √(2μ).
    """
    mu, zeta = float(mu), float(zeta)
    lam = float(prototype_exponent(mu, zeta))
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.0)
    theta = np.linspace(-2.5, 2.5, 800)                  # even count: θ = 0 is not on the grid
    if zeta**2 < 2 * mu:
        dens = stationary_density(theta, mu, zeta)
        ax0.plot(theta, np.minimum(dens, 3.0), color=COLORS["theory"])
        m2 = float(stationary_moments(mu, zeta)[0])
        ax0.set_title(f"stationary law, E[θ²] = μ − ζ²/2 = {m2:.3g}")
    else:
        ax0.axvline(0.0, color=COLORS["red"], lw=3)
        ax0.set_title("ζ² ≥ 2μ: no stationary law, θ → 0")
    ax0.set(xlabel="θ", ylabel="density (clipped at 3)", xlim=(-2.5, 2.5), ylim=(0, 3.1))
    zz = np.linspace(0.02, 3.0, 150)
    ax1.plot(zz, prototype_exponent(mu, zz), color=COLORS["theory"], label="λ = μ − ζ²/2")
    ax1.plot([zeta], [lam], "o", color=COLORS["red"], ms=7)
    ax1.axhline(0, color=COLORS["grey"], lw=1)
    ax1.axvline(critical_noise(mu), color=COLORS["grey"], ls="--", lw=1)
    ax1.set(xlabel="noise ζ", ylabel="exponent λ at θ = 0", ylim=(-4.6, 2.1),
            title=f"λ = {lam:+.3g}; ζ_c = √(2μ) = {critical_noise(mu):.3g}")
    twin = ax1.twinx()
    twin.plot(zz, gbm_collapse_probability(25.0, 1e-2, mu, zz, 1e-3), color=COLORS["blue"],
              label="P(|θ₂₅| < 10⁻³) from θ₀ = 10⁻²")
    twin.set(ylim=(-0.03, 1.03), ylabel="collapse probability (linearised)")
    twin.grid(False)
    ax1.legend(handles=ax1.get_lines()[:1] + twin.get_lines(), loc="lower left", fontsize=7)
    fig.suptitle(f"Quartic well, μ = {mu:g}, ζ = {zeta:g}: "
                 + ("collapse (λ < 0)" if lam < 0 else "no collapse (λ ≥ 0)"))
    return fig


# ------------------------------------------------------------------ one tanh neuron (Fig. 2)

def tanh_collapse_figure(x, y, *, alpha_sde, p_sde, slope, stderr, alpha_sgd, p_sgd, lam_sgd,
                         eta_sgd, p_sgd_paper_noise, alpha_star, note: str = ""):
    """Left: the collapse fraction of the SDE (ζ = 1), of real SGD at ζ = 5 and at ζ = 1
    (markers) against α = ηζ²σ′(0)/2, with the SDE threshold Σxy/Σx² and the point where the
    exact SGD exponent crosses 0 (lines). Right: the exponents against α."""
    from theory.stochastic_collapse.exact import _paired_xy

    x, y = _paired_xy(x, y)
    sde = _same("alpha_sde", dict(alpha_sde=alpha_sde, p_sde=p_sde, slope=slope, stderr=stderr,
                                  p_sgd_paper_noise=p_sgd_paper_noise))
    sgd = _same("alpha_sgd", dict(alpha_sgd=alpha_sgd, p_sgd=p_sgd, lam_sgd=lam_sgd,
                                  eta_sgd=eta_sgd))
    alpha_sde, p_sde, slope, stderr = sde["alpha_sde"], sde["p_sde"], sde["slope"], sde["stderr"]
    p_sgd_paper_noise = sde["p_sgd_paper_noise"]
    alpha_sgd, p_sgd, lam_sgd, eta_sgd = sgd["alpha_sgd"], sgd["p_sgd"], sgd["lam_sgd"], \
        sgd["eta_sgd"]
    if np.any(eta_sgd <= 0):
        raise ValueError(f"eta_sgd must be > 0, got {eta_sgd}")
    alpha_star = check_scalar(alpha_star, "alpha_star")
    if not isinstance(note, str):
        raise TypeError(f"note must be a str, got {type(note).__name__}")
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.6)
    ax0.plot(alpha_sde, p_sde, "o-", color=COLORS["blue"], label="SDE (ζ = 1), simulation")
    ax0.plot(alpha_sgd, p_sgd, "s-", color=COLORS["orange"], label="real SGD, ζ = 5")
    ax0.plot(alpha_sde, p_sgd_paper_noise, "^", color=COLORS["grey"], label="real SGD, ζ = 1")
    ax0.axvline(alpha_star, color=COLORS["theory"], ls="--", label="SDE theory Σxy/Σx²")
    a_cross = np.interp(0, -lam_sgd, np.asarray(alpha_sgd))
    ax0.axvline(a_cross, color=COLORS["orange"], ls=":", label="SGD theory: exact exponent = 0")
    ax0.set(xlabel=r"noise level $\alpha = \eta\zeta^2\sigma'(0)/2$",
            ylabel="fraction with ‖w‖ < 1e-2", title="Collapse of the neuron")
    ax0.legend(fontsize=8)
    aa = np.linspace(0.1, 2.1, 100)
    ax1.plot(aa, np.mean(x * y) - aa * np.mean(x**2), color=COLORS["theory"],
             label="SDE exponent (per unit time)")
    ax1.errorbar(alpha_sde, slope, yerr=2 * np.asarray(stderr), fmt="o", color=COLORS["blue"],
                 ms=4, label="SDE, measured")
    ax1.plot(alpha_sgd, lam_sgd / eta_sgd, ":", color=COLORS["orange"],
             label="real SGD (ζ = 5), exact, per unit time")
    ax1.axhline(0, color=COLORS["grey"], lw=1)
    ax1.set(xlabel=r"$\alpha$", ylabel="Lyapunov exponent at w = 0",
            title="Exponent: curvature against noise")
    ax1.legend(fontsize=8)
    if note:
        fig.suptitle(note)
    return fig


# ------------------------------------------------------------------ teacher–student (Fig. 5)

def soft_threshold_figure(s_data, mean_s, sigmas, eta):
    """Each mode's time- and seed-averaged |E s| against |s*| (circles), one colour per σ, over
    the soft threshold max(0, |s*| − ησ²/2) (lines). ``mean_s`` (σ, mode)."""
    import matplotlib.pyplot as plt

    s_data = _vec(s_data, "s_data")
    sigmas = _vec(sigmas, "sigmas", check=non_negative)
    mean_s = as_array(mean_s, "mean_s", ndim=2)
    if mean_s.shape != (sigmas.size, s_data.size):
        raise ValueError(f"mean_s must have shape (len(sigmas), len(s_data)) = "
                         f"{(sigmas.size, s_data.size)}, got {mean_s.shape}")
    eta = check_scalar(eta, "eta", min=0.0, include_min=False)
    fig, ax = figure(height=4.0)
    grid = np.linspace(0, 1.3, 200)
    for k, sg in enumerate(sigmas):
        c = plt.get_cmap("viridis")(k / max(sigmas.size - 1, 1))
        ax.plot(grid, np.maximum(0, grid - eta * sg**2 / 2), color=c, lw=1.2)
        ax.plot(np.abs(s_data), np.sign(s_data) * mean_s[k], "o", ms=4, mfc="none", color=c,
                label=f"σ = {sg:g} (threshold {eta * sg**2 / 2:.2f})")
    ax.set(xlabel=r"data mode $|s^*|$", ylabel=r"learned $|E\,s|$ (time and seed average)",
           title="theory max(0, |s*| − ησ²/2) (lines), simulation (circles)")
    ax.legend(fontsize=8)
    return fig


def learning_curves_figure(t, s, s_data, fixed, sigmas, modes, *, t_drop, panels=(0, 3)):
    """Seed-averaged learning curves s = uv (``s`` (σ, seeds, modes, T) on ``t``) of ``modes``
    at the noise levels ``panels`` (indices into ``sigmas``), dashed at their predicted
    stationary levels ``fixed`` (σ, modes); grey: the learning-rate drop at ``t_drop``."""
    s = as_array(s, "s", ndim=4, nonempty=True)
    S, _, M, T = s.shape
    t = _vec(t, "t", T)
    s_data = _vec(s_data, "s_data", M)
    sigmas = _vec(sigmas, "sigmas", S, check=non_negative)
    fixed = as_array(fixed, "fixed", ndim=2)
    if fixed.shape != (S, M):
        raise ValueError(f"fixed must have shape (len(sigmas), modes) = {(S, M)}, got {fixed.shape}")
    t_drop = check_scalar(t_drop, "t_drop")
    for name, idx, n in (("modes", modes, M), ("panels", panels, S)):
        if isinstance(idx, (str, bytes)) or idx is None:
            raise TypeError(f"{name} must be a sequence of indices, got {type(idx).__name__}")
        for i in np.atleast_1d(idx).tolist():
            check_scalar(i, name, kind="int", min=0, max=n - 1)
    colors = (COLORS["blue"], COLORS["green"], COLORS["purple"], COLORS["red"], COLORS["orange"])
    fig, axes = figure(1, len(panels), width="wide", sharey=True)
    for ax, k in zip(np.atleast_1d(axes), panels):
        for j, c in zip(modes, colors):
            ax.plot(t, s[k, :, j].mean(0), color=c, label=f"mode with s* = {s_data[j]:+.2f}")
            ax.axhline(fixed[k, j], ls="--", color=c, lw=1)
        ax.axvline(t_drop, color=COLORS["grey"], lw=1)
        ax.set(xlabel="time (Σ η over steps)",
               title=f"σ = {sigmas[k]:g}: mean over {s.shape[1]} seeds")
    np.atleast_1d(axes)[0].set_ylabel("s = uv")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    return fig


def stationary_losses_figure(sigmas, *, train_exact, test_exact, train_sim, test_sim,
                             train_end, test_end):
    """Left: first-phase stationary train and test losses, exact (lines) and simulated
    (markers). Right: the losses after the learning-rate drop, mean ± 2 s.e. over seeds
    (``train_end``, ``test_end`` (σ, seeds))."""
    v = _same("sigmas", dict(sigmas=sigmas, train_exact=train_exact, test_exact=test_exact,
                             train_sim=train_sim, test_sim=test_sim))
    sigmas, train_exact, test_exact = v["sigmas"], v["train_exact"], v["test_exact"]
    train_sim, test_sim = v["train_sim"], v["test_sim"]
    train_end = _vec(train_end, "train_end", sigmas.size, ndim=2)
    test_end = _vec(test_end, "test_end", sigmas.size, ndim=2)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.4)
    ax0.plot(sigmas, train_exact, color=COLORS["blue"], label="train, exact")
    ax0.plot(sigmas, train_sim, "o", color=COLORS["blue"], mfc="none", label="train, simulation")
    ax0.plot(sigmas, test_exact, color=COLORS["orange"], label="test, exact")
    ax0.plot(sigmas, test_sim, "s", color=COLORS["orange"], mfc="none", label="test, simulation")
    ax0.set(xlabel="label noise σ", ylabel="loss", title="Stationary losses in the first phase")
    ax0.legend(fontsize=8)
    n = np.asarray(train_end).shape[1]
    for arr, fmt, color, label in ((train_end, "o-", COLORS["blue"], "train"),
                                   (test_end, "s-", COLORS["orange"], "test (clean teacher)")):
        arr = np.asarray(arr)
        ax1.errorbar(sigmas, arr.mean(1), yerr=2 * arr.std(1) / np.sqrt(n), fmt=fmt,
                     color=color, label=label)
    ax1.set(xlabel="label noise σ", ylabel="loss after the learning-rate drop",
            title=f"End of training (mean ± 2 s.e. over {n} seeds)")
    ax1.legend(fontsize=8)
    return fig


# ------------------------------------------------------------------ deep networks (Figs. 3–4, 6)

def _level_axis(ax, levels, label, xscale):
    if xscale == "log2":
        ax.set_xscale("log", base=2)
    elif xscale == "log":
        ax.set_xscale("log")
    ax.set(xlabel=label, xticks=levels, xticklabels=[f"{v:g}" for v in levels])
    ax.minorticks_off()


def collapse_sweeps_figure(runs: dict, setup: DeepSetup):
    """The fraction of independent neurons per hidden layer and their mean (mean ± sd over
    seeds, at the end of training) against η, B and p; dashed in the p panel: training on the
    mean of the noise (label smoothing s = p). ``runs`` from :func:`collapse_sweeps`."""
    _check_runs(runs)
    _check_setup(setup)
    fig, axes = figure(1, 3, width="wide", height=3.6, sharey=True)
    panels = (("lr", "learning rate η", "log", f"vs η (B = {setup.batch_size}, p = 0)"),
              ("batch_size", "batch size B", "log2", f"vs B (η = {setup.lr:g}, p = 0)"),
              ("label_noise", "label-noise probability p", "linear",
               f"vs p (η = {setup.lr:g}, B = {setup.batch_size})"))
    for ax, (key, label, xscale, title) in zip(axes, panels):
        res: Result = runs[key]
        levels = np.array(res.sweep.axes[key])
        for layer, color in ((0, COLORS["blue"]), (1, COLORS["orange"])):
            tab = independent_table(res, layer=layer)
            ax.errorbar(levels, tab.mean(1), yerr=tab.std(1), fmt="o-", color=color, ms=5,
                        capsize=3, lw=1.2, label=f"hidden layer {layer + 1}")
        tab = independent_table(res)
        ax.errorbar(levels, tab.mean(1), yerr=tab.std(1), fmt="s-", color="k", ms=5, capsize=3,
                    label="mean of the layers")
        if key == "label_noise" and "label_smoothing" in runs:
            sm = independent_table(runs["label_smoothing"])
            ax.errorbar(levels[1:], sm.mean(1), yerr=sm.std(1), fmt="s--", mfc="none",
                        color=COLORS["grey"], ms=5, capsize=3,
                        label="mean of the noise (smoothing)")
        _level_axis(ax, levels, label, xscale)
        ax.set_title(title, fontsize=9)
    axes[0].set(ylabel="fraction of independent neurons", ylim=(0, 1.05))
    axes[2].legend(loc="lower left", fontsize=7)
    return fig


def noise_controls_figure(lr_run: Result, noise_diff, setup: DeepSetup):
    """Left: the learning-rate sweep's mean independent fraction against gradient-flow time ηt
    (mean ± sd over seeds), with ηt = η₋·steps marked. Right: label noise minus its mean
    (``noise_diff`` (levels > 0, seeds)), each seed and mean ± sd."""
    from theory.stochastic_collapse.deep_experiments import _check_swept

    _check_swept(lr_run, "lr_run", axis="lr", metric="independent")
    _check_setup(setup)
    noise_diff = _vec(noise_diff, "noise_diff", setup.noises.size - 1, ndim=2)
    fig, (ax0, ax1) = figure(1, 2, width="wide", height=3.6)
    lrs = np.array(lr_run.sweep.axes["lr"])
    ind_t = lr_run.sweep.unflatten(lr_run["independent"].mean(-1))       # (lr, seed, T)
    for k, (eta, color) in enumerate(zip(lrs, (COLORS["sky"], COLORS["blue"], COLORS["orange"],
                                               COLORS["red"], COLORS["green"]))):
        m, sd = ind_t[k].mean(0), ind_t[k].std(0)
        ax0.plot(eta * lr_run.steps, m, "o-", ms=3, color=color, label=f"η = {eta:g}")
        ax0.fill_between(eta * lr_run.steps, m - sd, m + sd, color=color, alpha=0.2, lw=0)
    ax0.set(xscale="log", xlim=(lrs[0] * lr_run.steps[1], lrs[-1] * setup.steps), ylim=(0, 1.05),
            xlabel="gradient-flow time ηt", ylabel="independent fraction (mean of layers)",
            title=f"Learning-rate sweep against ηt (B = {setup.batch_size}, p = 0)")
    ax0.axvline(lrs[-2] * setup.steps, color=COLORS["grey"], ls=":", lw=1.2,
                label=f"ηt = {lrs[-2] * setup.steps:g}, compared below")
    ax0.legend(loc="lower left", fontsize=8)
    diff = np.asarray(noise_diff)
    levels = setup.noises[1:]
    S = diff.shape[1]
    for k, p in enumerate(levels):
        ax1.plot(np.full(S, p) + np.linspace(-0.02, 0.02, S), diff[k], "o", color=COLORS["blue"],
                 ms=5, mfc="none", label="each seed" if k == 0 else None)
    ax1.errorbar(levels, diff.mean(1), yerr=diff.std(1), fmt="s-", color="k", capsize=3,
                 label="mean ± sd")
    ax1.axhline(0.0, color=COLORS["grey"], lw=1)
    ax1.set(xlabel="label-noise probability p = smoothing s", xticks=levels,
            ylabel="independent fraction: noise − smoothing",
            title=f"Label noise minus its mean (η = {setup.lr:g}, B = {setup.batch_size})")
    ax1.legend(loc="lower right", fontsize=8)
    return fig


def two_phase_figure(two: Result, setup: DeepSetup, n_test: int):
    """Fig. 6 at laptop scale: the mean independent fraction during training for each T₁
    (dotted: the drop), and after the drop the independent fraction and the test accuracy
    against T₁ (each seed, mean ± sd)."""
    from theory.stochastic_collapse.deep_experiments import _check_two

    _check_two(two)
    _check_setup(setup)
    n_test = positive_int(n_test, "n_test")
    fig, axes = figure(1, 3, width="wide", height=3.6)
    t1 = np.array(two.sweep.axes["switch_step"])
    traj = two.sweep.unflatten(two["independent"].mean(-1)).mean(1)       # (T1, T)
    for k, (t, color) in enumerate(zip(t1, (COLORS["sky"], COLORS["blue"], COLORS["red"],
                                            COLORS["orange"]))):
        upto = two.steps <= t + setup.t2
        axes[0].plot(two.steps[upto], traj[k, upto], "o-", ms=3, color=color, label=f"T₁ = {t}")
        axes[0].axvline(t, color=color, ls=":", lw=1)
    axes[0].set(xlabel="step t", ylabel="independent fraction (mean of layers)", ylim=(0, 1.05),
                title="During training (dotted: the drop)")
    axes[0].legend(loc="lower left", fontsize=8)
    tables = ((axes[1], independent_table(two), "fraction of independent neurons",
               "Independent neurons after the drop"),
              (axes[2], 100 * final_table(two, "test_accuracy"), "final test accuracy (%)",
               f"Test accuracy after the drop ({n_test} test images)"))
    for ax, tab, label, title in tables:
        for i in range(tab.shape[1]):
            ax.plot(t1, tab[:, i], "-", color=COLORS["grey"], lw=0.8, alpha=0.6,
                    label="each seed" if i == 0 else None)
        ax.errorbar(t1, tab.mean(1), yerr=tab.std(1), fmt="s-", color="k", capsize=3,
                    label="mean ± sd")
        ax.set(xscale="log", xticks=t1, xticklabels=[str(t) for t in t1], xlabel="high-η steps T₁",
               ylabel=label)
        ax.set_title(title, fontsize=9)
        ax.minorticks_off()
        ax.legend(loc="best", fontsize=7)
    return fig


def effective_rank_figure(runs: dict, two: Result, setup: DeepSetup):
    """The official notebooks' effective rank (entropy of the normalised singular values of each
    hidden layer's neuron matrix; mean of the layers) at the end of training against η, B, p and
    T₁: each seed (grey) and mean ± sd (black), with its value at initialisation (dotted).
    ``runs`` from :func:`collapse_sweeps`, ``two`` from :func:`two_phase`."""
    from theory.stochastic_collapse.deep_experiments import _check_two

    _check_runs(runs)
    _check_two(two)
    _check_setup(setup)
    fig, axes = figure(1, 4, width="wide", height=3.2, sharey=True)
    panels = ((runs["lr"], "lr", "learning rate η", "log"),
              (runs["batch_size"], "batch_size", "batch size B", "log2"),
              (runs["label_noise"], "label_noise", "label-noise probability p", "linear"),
              (two, "switch_step", "high-η steps T₁", "log"))
    for ax, (res, key, label, xscale) in zip(axes, panels):
        levels = np.array(res.sweep.axes[key])
        tab = independent_table(res, measure="effective_rank")
        for i in range(tab.shape[1]):
            ax.plot(levels, tab[:, i], "-", color=COLORS["grey"], lw=0.8, alpha=0.6,
                    label="each seed" if i == 0 else None)
        ax.errorbar(levels, tab.mean(1), yerr=tab.std(1), fmt="s-", color="k", ms=5, capsize=3,
                    label="mean ± sd")
        ax.axhline(independent_table(res, step=0, measure="effective_rank").mean(),
                   color=COLORS["blue"], ls=":", lw=1.2, label="at initialisation")
        _level_axis(ax, levels, label, xscale)
    axes[0].set(ylabel="effective rank H (nats)")
    axes[0].legend(loc="center left", fontsize=7)
    return fig


def general_teacher_student_figure(result: Result, s_teacher):
    """The general teacher–student batch-size sweep (:func:`train_teacher_student`). Left: the
    learned map's singular values at the end, sorted (mean over seeds), one line per B, with the
    teacher's (black). Middle: the effective rank of the neuron matrix [Vᵀ|U] and of VU against
    B. Right: test loss mean((VU − W)²) and train loss against B. Mean ± sd over seeds."""
    from theory.stochastic_collapse.general_teacher_student import batch_trends

    s_teacher = as_array(s_teacher, "s_teacher", ndim=1, nonempty=True)
    if not isinstance(result, Result) or result.sweep is None or "s_map" not in result.meta:
        raise TypeError(f"result must be the Result of train_teacher_student, got "
                        f"{type(result).__name__}")
    fig, axes = figure(1, 3, width="wide", height=3.6)
    levels = np.array(result.sweep.axes["batch_size"])
    s_map = result.sweep.unflatten(result.meta["s_map"]).mean(1)           # (B, m)
    cmap = __import__("matplotlib").colormaps["autumn"]
    for k, b in enumerate(levels):
        axes[0].plot(np.arange(1, s_map.shape[1] + 1), s_map[k], "o-", ms=2.5, lw=1,
                     color=cmap(k / max(1, levels.size - 1) * 0.85), label=f"B = {b}")
    axes[0].plot(np.arange(1, s_teacher.size + 1), np.sort(s_teacher)[::-1], "k-", lw=2,
                 label="teacher W")
    axes[0].set(xlabel="index k", ylabel="singular value of VU", title="Learned spectrum")
    axes[0].legend(fontsize=7, ncol=2)
    table = batch_trends(result)["table"]
    for key, color, name in (("effective_rank", COLORS["blue"], "neuron matrix [Vᵀ|U]"),
                             ("effective_rank_map", COLORS["orange"], "learned map VU")):
        tab = table[key]
        axes[1].errorbar(levels, tab.mean(1), yerr=tab.std(1), fmt="o-", color=color, capsize=3,
                         label=name)
    axes[1].set(ylabel="effective rank H (nats)", title="Effective rank")
    axes[1].legend(fontsize=8)
    tab = table["test_loss"]
    axes[2].errorbar(levels, tab.mean(1), yerr=tab.std(1), fmt="o-", color=COLORS["red"],
                     capsize=3, label="test loss (left axis)")
    axes[2].set(ylabel="test loss mean((VU − W)²)", title="Test and train loss")
    twin = axes[2].twinx()
    tab = table["train_loss"]
    twin.errorbar(levels, tab.mean(1), yerr=tab.std(1), fmt="s--", color=COLORS["grey"],
                  mfc="none", capsize=3, label="train loss (right axis)")
    twin.set(ylabel="train loss ½Σ‖xVU − y‖²")
    lines = axes[2].get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    axes[2].legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="center right")
    for ax in axes[1:]:
        _level_axis(ax, levels, "batch size B", "log2")
    return fig
