"""The analyses and figures of the pages *The living counterpart and its imitators*
(``book/embodied/candidates.ipynb``) and *Out of the box* (``book/embodied/generalisation.ipynb``):
the candidates simulated side by side, their step statistics and window features against the real
rat's, the judges' verdicts over seeds, and the transfer of a policy fitted in the 1 m box to the
3.5 m × 2.5 m arena. All of it is the book's reconstruction of the embodied Turing test
(Zador et al. 2023 give no protocol). Nothing is computed at import.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from theory.core import COLORS, check_bool, check_choice, check_scalar, check_seed, check_seeds, figure
from theory.embodied import candidates as C
from theory.embodied import data as D

__all__ = ["CANDIDATES", "Transfer", "distance_table", "effects", "effects_figure", "feature_table",
           "judge_table", "likelihood_table", "power_table", "simulate_candidates", "statistics_figure",
           "step_statistics", "trajectories_figure", "transfer", "transfer_figure"]

#: The candidates in order of sophistication, with their colours.
CANDIDATES = ("brownian", "ratinabox", "fitted", "forager")
_COLOR = {"real": COLORS["theory"], "brownian": COLORS["grey"], "ratinabox": COLORS["orange"],
          "fitted": COLORS["blue"], "forager": COLORS["red"], "real (first half)": COLORS["green"]}
_LABEL = {"brownian": "Brownian", "ratinabox": "RatInABox default", "fitted": "fitted policy",
          "forager": "forager", "real": "real rat"}


def _check_traj(x, name):
    if not isinstance(x, D.Trajectory):
        raise TypeError(f"{name} must be a Trajectory, got {type(x).__name__}")
    return x


def _check_dict(trajs, name="trajs"):
    if not isinstance(trajs, dict) or not trajs:
        raise TypeError(f"{name} must be a non-empty dict name → Trajectory")
    for k, v in trajs.items():
        _check_traj(v, f"{name}[{k!r}]")
    return trajs


def simulate_candidates(train: D.Trajectory, T_s: float, seed: int = 0, *, ratinabox_T_s: float | None = None):
    """The four candidates in ``train``'s arena: Brownian and the forager matched to ``train``'s
    mean step speed, RatInABox's default motion, and the policy fitted to ``train``
    (:func:`~theory.embodied.candidates.fit_policy`), each ``T_s`` seconds long (RatInABox
    ``ratinabox_T_s``, default ``T_s``: it is the slow one) from seed ``seed``. Returns
    ``(trajectories, policy)``."""
    train = _check_traj(train, "train")
    T_s = check_scalar(T_s, "T_s", min=0.0, include_min=False)
    seed = check_seed(seed)
    if ratinabox_T_s is not None:
        ratinabox_T_s = check_scalar(ratinabox_T_s, "ratinabox_T_s", min=0.0, include_min=False)
    speed = float(train.speeds().mean())
    policy = C.fit_policy(train)
    trajs = {
        "brownian": C.brownian(T_s, train.arena, speed, seed, dt=train.dt),
        "ratinabox": C.ratinabox_default(T_s if ratinabox_T_s is None else ratinabox_T_s, train.arena, seed,
                                         dt=train.dt),
        "fitted": policy.simulate(T_s, seed),
        "forager": C.forager(T_s, train.arena, seed, speed=speed, dt=train.dt),
    }
    return trajs, policy


def step_statistics(traj: D.Trajectory) -> dict:
    """Per-step speed ``|x_{k+1} − x_k|/dt`` (m/s), absolute turn ``|Δφ_k|`` (rad per step) and
    per-point distance to the nearest wall (m)."""
    traj = _check_traj(traj, "traj")
    d = np.diff(traj.xy, axis=0)
    phi = np.arctan2(d[:, 1], d[:, 0])
    turn = np.abs(np.angle(np.exp(1j * np.diff(phi))))
    return dict(speed=np.linalg.norm(d, axis=1) / traj.dt, turn=turn,
                wall=D._wall_distance(traj.xy, traj.arena))


def _occupancy(traj: D.Trajectory, bins: int) -> np.ndarray:
    xmin, xmax, ymin, ymax = traj.arena
    h, *_ = np.histogram2d(traj.xy[:, 0], traj.xy[:, 1], bins=bins, range=[[xmin, xmax], [ymin, ymax]])
    return h / h.sum()


def distance_table(real: D.Trajectory, trajs: dict, *, bins: int = 10):
    """For each trajectory: the Wasserstein-1 distances between its per-step speed, turn and
    wall-distance distributions and ``real``'s, and the total-variation distance
    ``½ Σ |p − q|`` between the two occupancy maps (``bins × bins`` cells). A pandas DataFrame."""
    import pandas as pd
    from scipy.stats import wasserstein_distance

    real = _check_traj(real, "real")
    _check_dict(trajs)
    bins = check_scalar(bins, "bins", kind="int", min=1)
    r = step_statistics(real)
    occ = _occupancy(real, bins)
    rows = {}
    for name, tr in trajs.items():
        if tr.arena != real.arena:
            raise ValueError(f"trajs[{name!r}] is in arena {tr.arena}, real in {real.arena}")
        s = step_statistics(tr)
        rows[name] = {"W1 speed (m/s)": wasserstein_distance(s["speed"], r["speed"]),
                      "W1 turn (rad)": wasserstein_distance(s["turn"], r["turn"]),
                      "W1 wall distance (m)": wasserstein_distance(s["wall"], r["wall"]),
                      "TV occupancy": 0.5 * np.abs(_occupancy(tr, bins) - occ).sum()}
    return pd.DataFrame(rows).T


def feature_table(trajs: dict, window_s: float):
    """The mean of each :data:`~theory.embodied.data.FEATURE_NAMES` column over the windows of
    ``window_s`` seconds of each trajectory (rows), with the number of windows. A DataFrame."""
    import pandas as pd

    _check_dict(trajs)
    window_s = check_scalar(window_s, "window_s", min=0.0, include_min=False)
    rows = {}
    for name, tr in trajs.items():
        F = D.features(D.windows(tr, window_s), tr.arena, dt=tr.dt)
        rows[name] = dict(zip(D.FEATURE_NAMES, F.mean(0)), windows=len(F))
    out = pd.DataFrame(rows).T
    out["windows"] = out["windows"].astype(int)
    return out


def effects(real: D.Trajectory, trajs: dict, window_s: float):
    """Standardised differences of the window features, ``(mean_c − mean_r) / sd_r`` per
    candidate and feature, with ``sd_r`` the real windows' standard deviation (a DataFrame,
    candidates × features): which statistic gives each candidate away."""
    import pandas as pd

    real = _check_traj(real, "real")
    _check_dict(trajs)
    window_s = check_scalar(window_s, "window_s", min=0.0, include_min=False)
    Fr = D.features(D.windows(real, window_s), real.arena, dt=real.dt)
    mu, sd = Fr.mean(0), Fr.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    rows = {name: (D.features(D.windows(tr, window_s), tr.arena, dt=tr.dt).mean(0) - mu) / sd
            for name, tr in trajs.items()}
    return pd.DataFrame(rows, index=D.FEATURE_NAMES).T


def judge_table(trajs: dict, real: D.Trajectory, window_s: float, *, judges=("features", "mmd"),
                seeds=(0, 1, 2, 3, 4), n_permutations: int = 200):
    """Each trajectory judged against ``real`` by each judge of
    :func:`theory.embodied.judges.judge_test` on non-overlapping ``window_s`` windows, once per
    judge seed (the classifier's random train/test split; MMD has none), with ``n_permutations``
    relabellings. A DataFrame indexed by (candidate, judge): the statistic's median, min and max
    over seeds, the median and max p-value, the fraction of seeds with p ≤ 0.05, the windows per
    side."""
    import pandas as pd

    from theory.embodied import judges as J

    real = _check_traj(real, "real")
    _check_dict(trajs)
    window_s = check_scalar(window_s, "window_s", min=0.0, include_min=False)
    if isinstance(seeds, (tuple, list)) and len(seeds) == 0:  # check_seeds calls () a float array
        raise ValueError("seeds must be a non-empty sequence of ints")
    seeds = tuple(check_seeds(seeds, "seeds").tolist())
    judges = tuple(judges) if isinstance(judges, (tuple, list)) else judges
    if not isinstance(judges, tuple) or not judges or any(j not in J.JUDGES for j in judges):
        raise ValueError(f"judges must be a non-empty sequence of names from {J.JUDGES}, got {judges!r}")
    Wr = D.windows(real, window_s)
    rows = []
    for name, tr in trajs.items():
        Wc = D.windows(tr, window_s)
        for judge in judges:
            res = [J.judge_test(Wc, Wr, judge=judge, arena=real.arena, dt=real.dt,
                                n_permutations=n_permutations, seed=s) for s in seeds]
            st, pv = np.array([r.statistic for r in res]), np.array([r.p_value for r in res])
            rows.append(dict(candidate=name, judge=judge, statistic=float(np.median(st)), stat_min=float(st.min()),
                             stat_max=float(st.max()), p_median=float(np.median(pv)), p_max=float(pv.max()),
                             rejected=float((pv <= 0.05).mean()), windows=min(len(Wc), len(Wr))))
    return pd.DataFrame(rows).set_index(["candidate", "judge"])


def likelihood_table(models: dict, held_out: dict):
    """Mean log-likelihood per step (nats) of each model (rows: objects with
    ``log_likelihood(traj, ...)``) on each held-out trajectory (columns), all scored on the same
    positions (from the largest ``first`` of the policies). A DataFrame."""
    import pandas as pd

    if not isinstance(models, dict) or not models:
        raise TypeError("models must be a non-empty dict name → model")
    _check_dict(held_out, "held_out")
    first = max([m.first for m in models.values() if isinstance(m, C.ARPolicy)] or [1])
    rows = {}
    for name, m in models.items():
        row = {}
        for tname, tr in held_out.items():
            if isinstance(m, C.ARPolicy):
                v = m.log_likelihood(tr, reduce="none")[first - m.first:].mean()
            else:
                v = m.log_likelihood(tr, first=first)
            row[tname] = float(v)
        rows[name] = row
    return pd.DataFrame(rows).T


# ------------------------------------------------------------------------------------ figures
def _draw_path(ax, tr, seconds, color, title):
    n = min(len(tr), int(round(seconds / tr.dt)) + 1)
    xmin, xmax, ymin, ymax = tr.arena
    ax.plot([xmin, xmax, xmax, xmin, xmin], [ymin, ymin, ymax, ymax, ymin], color="k", lw=1.2)
    ax.plot(tr.xy[:n, 0], tr.xy[:n, 1], color=color, lw=0.7)
    ax.set_aspect("equal")
    ax.set_xlim(xmin - 0.03 * (xmax - xmin), xmax + 0.03 * (xmax - xmin))
    ax.set_ylim(ymin - 0.03 * (ymax - ymin), ymax + 0.03 * (ymax - ymin))
    ax.set_title(title)
    ax.set_xlabel("x (m)")


def trajectories_figure(trajs: dict, seconds: float = 120.0):
    """One panel per trajectory: its first ``seconds`` seconds drawn in its arena."""
    _check_dict(trajs)
    seconds = check_scalar(seconds, "seconds", min=0.0, include_min=False)
    fig, axes = figure(1, len(trajs), width="wide", height=2.6)
    axes = np.atleast_1d(axes)
    for ax, (name, tr) in zip(axes, trajs.items()):
        _draw_path(ax, tr, seconds, _COLOR.get(name, COLORS["purple"]), _LABEL.get(name, name))
    axes[0].set_ylabel("y (m)")
    return fig


def statistics_figure(real: D.Trajectory, trajs: dict):
    """Three panels: the densities of per-step speed, absolute turn and distance to the wall,
    the real rat (black line) against each candidate (coloured lines)."""
    real = _check_traj(real, "real")
    _check_dict(trajs)
    fig, axes = figure(1, 3, width="wide", height=2.8)
    r = step_statistics(real)
    keys = (("speed", "speed s (m/s)", (0, np.quantile(r["speed"], 0.995) * 1.5)),
            ("turn", "|Δφ| per step (rad)", (0, np.pi)),
            ("wall", "distance to wall (m)", (0, 0.5 * min(real.arena[1] - real.arena[0], real.arena[3] - real.arena[2]))))
    for ax, (key, label, rng) in zip(axes, keys):
        edges = np.linspace(*rng, 41)
        for name, st in [("real", r)] + [(k, step_statistics(v)) for k, v in trajs.items()]:
            h, _ = np.histogram(np.clip(st[key], rng[0], rng[1]), bins=edges, density=True)
            ax.plot(0.5 * (edges[1:] + edges[:-1]), h, color=_COLOR.get(name, COLORS["purple"]),
                    lw=2.2 if name == "real" else 1.2, label=_LABEL.get(name, name))
        ax.set_xlabel(label)
        ax.set_yscale("log")
    axes[0].set_ylabel("density")
    axes[2].legend(fontsize=7)
    return fig


def effects_figure(table):
    """A heat map of :func:`effects`: candidates × features, the standardised difference from
    the real rat (clipped at ±5), the values written in the cells."""
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be the DataFrame of effects, got {type(table).__name__}")
    vals = np.asarray(table.values, dtype=float)
    fig, ax = figure(1, 1, width="wide", height=2.9)
    im = ax.imshow(np.clip(vals, -5, 5), cmap="RdBu_r", vmin=-5, vmax=5, aspect="auto")
    ax.set_xticks(range(vals.shape[1]), list(table.columns), rotation=35, ha="right", fontsize=8)
    ax.set_yticks(range(vals.shape[0]), [_LABEL.get(n, n) for n in table.index])
    ax.grid(False)
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            ax.text(j, i, f"{vals[i, j]:.1f}", ha="center", va="center", fontsize=7,
                    color="white" if abs(vals[i, j]) > 3 else "black")
    fig.colorbar(im, ax=ax, label="(mean − real mean) / real sd")
    return fig


# ------------------------------------------------------------------------------ generalisation
@dataclass
class Transfer:
    """The box-to-arena study: the real halves, the fitted policies, the simulations, the
    judges' power results per (setting, judge), the likelihood and feature tables."""

    box: tuple
    arena: tuple
    policy_box: C.ARPolicy
    policy_arena: C.ARPolicy
    sims: dict
    power: dict = field(default_factory=dict)
    likelihood: object = None
    features: object = None

    #: (setting, candidate source, reference) of each comparison
    SETTINGS = (("box: rat vs itself", "box rat, first half", "box rat, second half"),
                ("box: box policy", "box policy in the box", "box rat, second half"),
                ("arena: rat vs itself", "arena rat, first half", "arena rat, second half"),
                ("arena: box policy", "box policy in the arena", "arena rat, second half"),
                ("arena: arena policy", "arena policy in the arena", "arena rat, second half"))


def transfer(budgets_s=(60.0, 240.0), *, window_s: float = 4.0, n_repeats: int = 5, n_permutations: int = 200,
             judges=("features", "mmd"), sim_T_s: float = 1200.0, fit_s: float | None = None,
             sampling: str = "scattered", seed: int = 0, show_progress: bool = False):
    """Fit the policy to the first half of the box recording (Sargolini, 1 m) and to the first
    half of the arena recording (Tanni, 3.5 m × 2.5 m); simulate the box policy in both arenas
    and the arena policy in its own (``sim_T_s`` seconds each, seed ``seed``); judge each setting
    of :attr:`Transfer.SETTINGS` with :func:`theory.embodied.judges.power` at ``budgets_s``
    seconds per side (``n_repeats`` repeats, ``window_s`` windows drawn by ``sampling``:
    "scattered" over the whole source or one "contiguous" stretch); score every policy
    and a Brownian walker (fitted to each first half) on both held-out halves. ``fit_s`` fits on
    only the first ``fit_s`` seconds of each first half (None: all of it). The book's
    reconstruction."""
    from theory.embodied import judges as J

    sim_T_s = check_scalar(sim_T_s, "sim_T_s", min=0.0, include_min=False)
    seed = check_seed(seed)
    show_progress = check_bool(show_progress, "show_progress")
    box, arena = D.split_halves(D.load_real("sargolini")), D.split_halves(D.load_real("tanni"))
    def head(tr):
        if fit_s is None:
            return tr
        n = int(round(check_scalar(fit_s, "fit_s", min=0.0, include_min=False) / tr.dt)) + 1
        return D.Trajectory(t=tr.t[:n], xy=tr.xy[:n], dt=tr.dt, arena=tr.arena, source=tr.source, meta=tr.meta)

    pb, pa = C.fit_policy(head(box[0])), C.fit_policy(head(arena[0]))
    sims = {"box policy in the box": pb.simulate(sim_T_s, seed),
            "box policy in the arena": pb.simulate(sim_T_s, seed, arena=arena[0].arena),
            "arena policy in the arena": pa.simulate(sim_T_s, seed)}
    sources = {"box rat, first half": box[0], "box rat, second half": box[1],
               "arena rat, first half": arena[0], "arena rat, second half": arena[1], **sims}
    out = Transfer(box=box, arena=arena, policy_box=pb, policy_arena=pa, sims=sims)
    for setting, cand, ref in Transfer.SETTINGS:
        for judge in judges:
            out.power[setting, judge] = J.power(sources[cand], sources[ref], list(budgets_s), judge=judge,
                                                n_repeats=n_repeats, seed=seed, window_s=window_s,
                                                n_permutations=n_permutations, sampling=sampling,
                                                show_progress=show_progress)
    models = {"box policy": pb, "arena policy": pa, "Brownian (box fit)": C.Brownian.fit(head(box[0])),
              "Brownian (arena fit)": C.Brownian.fit(head(arena[0]))}
    out.likelihood = likelihood_table(models, {"box rat, second half": box[1], "arena rat, second half": arena[1]})
    out.features = feature_table({k: sources[k] for k in ("box rat, second half", "box policy in the box",
                                                         "arena rat, second half", "box policy in the arena",
                                                         "arena policy in the arena")}, window_s)
    return out


def power_table(study: Transfer):
    """The judges' verdicts of :func:`transfer` as a DataFrame indexed by (setting, judge,
    budget): the median statistic over repeats, its range, the median p-value and the rejection
    rate."""
    import pandas as pd

    if not isinstance(study, Transfer):
        raise TypeError(f"study must be a Transfer (transfer), got {type(study).__name__}")
    rows = []
    for (setting, judge), pr in study.power.items():
        for i, b in enumerate(pr.budgets_s):
            rows.append(dict(setting=setting, judge=judge, budget_s=float(b), statistic=float(np.median(pr.statistic[i])),
                             stat_min=float(pr.statistic[i].min()), stat_max=float(pr.statistic[i].max()),
                             p_median=float(np.median(pr.p_value[i])), rejection_rate=float(pr.rejection_rate[i]),
                             windows=int(pr.n_windows[i])))
    return pd.DataFrame(rows).set_index(["setting", "judge", "budget_s"])


def transfer_figure(study: Transfer, judge: str = "features"):
    """Left: the box policy's path in the box and in the arena beside the rats' (the first 60 s
    of each).
    Right: the judge's statistic (median over repeats, bars the range) per setting and budget."""
    if not isinstance(study, Transfer):
        raise TypeError(f"study must be a Transfer, got {type(study).__name__}")
    judge = check_choice(judge, "judge", tuple(sorted({j for _, j in study.power})))
    fig = figure(1, 1, width="wide", height=3.4)[0]
    fig.clf()
    gs = fig.add_gridspec(1, 3, width_ratios=[1, 1.4, 2.2])
    ax0, ax1, ax2 = (fig.add_subplot(g) for g in gs)
    _draw_path(ax0, study.sims["box policy in the box"], 60, _COLOR["fitted"], "box (1 m)")
    _draw_path(ax0, study.box[1], 60, _COLOR["real"], "box (1 m)")
    _draw_path(ax1, study.sims["box policy in the arena"], 60, _COLOR["fitted"], "arena (3.5 m × 2.5 m)")
    _draw_path(ax1, study.arena[1], 60, _COLOR["real"], "arena (3.5 m × 2.5 m)")
    ax0.set_ylabel("y (m)")
    ax1.plot([], [], color=_COLOR["fitted"], label="box policy")
    ax1.plot([], [], color=_COLOR["real"], label="rat")
    ax1.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    settings = [s for s, *_ in Transfer.SETTINGS]
    budgets = study.power[settings[0], judge].budgets_s
    width = 0.8 / len(budgets)
    for j, b in enumerate(budgets):
        med = [np.median(study.power[s, judge].statistic[j]) for s in settings]
        lo = [study.power[s, judge].statistic[j].min() for s in settings]
        hi = [study.power[s, judge].statistic[j].max() for s in settings]
        x = np.arange(len(settings)) + (j - (len(budgets) - 1) / 2) * width
        ax2.bar(x, med, width=width * 0.9, color=[COLORS["sky"], COLORS["blue"]][j % 2] if len(budgets) <= 2 else None,
                label=f"{b / 60:g} min per side")
        ax2.errorbar(x, med, yerr=[np.subtract(med, lo), np.subtract(hi, med)], fmt="none", ecolor="k", lw=0.8)
    if judge != "mmd":
        ax2.axhline(0.5, color="k", ls=":", lw=1)
        ax2.set_ylim(0.3, 1.02)
    ax2.set_xticks(range(len(settings)), [s.replace(": ", ":\n") for s in settings], fontsize=7)
    ax2.set_ylabel("held-out AUC" if judge != "mmd" else "MMD²")
    ax2.legend(fontsize=7, loc="upper left")
    return fig
