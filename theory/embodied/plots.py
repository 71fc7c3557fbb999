r"""Figures and the explorer of the embodied Turing test chapter (the book's reconstruction).

- :func:`candidate_set` — the living sample (the second half of a real recording, held out) and
  the candidates judged against it: the recording's first half ("real", the animal against
  itself), the fitted policy, RatInABox's default motion, the speed-matched Brownian walker and
  the reward-optimal forager, each simulated for as long as the living sample lasts.
- :func:`trajectories_figure` — the paths, one panel each, in the arena.
- :func:`power_figure` — per judge, the statistic (held-out AUC or MMD²) and the rejection rate
  against minutes of behaviour given to the judge.
- :func:`judge_explorer` — THE CHAPTER'S EXPLORER: candidate × judge × data budget → the
  statistic with its permutation null, and the candidate's path drawn beside the living rat's.
  :func:`use_in_explorer` hands over a page's results; otherwise a small stand-in (30 s of each
  animal, the 0.5-minute budget only) is computed on first use and cached.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from theory.core import COLORS, check_scalar, check_seed, explorer, figure
from theory.embodied.judges import CLASSIFIER_JUDGES, JUDGES, NetworkSpec, PowerResult, power_grid

__all__ = ["CANDIDATE_LABELS", "EXPLORER_BUDGETS_MIN", "EXPLORER_CANDIDATES", "JUDGE_LABELS", "candidate_set",
           "judge_explorer", "power_figure", "trajectories_figure", "use_in_explorer"]

EXPLORER_CANDIDATES = ("real", "fitted", "ratinabox", "brownian", "forager")
EXPLORER_BUDGETS_MIN = (0.5, 1.0, 2.0, 4.0)
CANDIDATE_LABELS = {"living": "living rat (held-out half)", "real": "real rat (other half)",
                    "fitted": "fitted AR policy", "ratinabox": "RatInABox default",
                    "brownian": "Brownian walker", "forager": "reward-optimal forager"}
CANDIDATE_COLORS = {"living": COLORS["theory"], "real": COLORS["grey"], "fitted": COLORS["green"],
                    "ratinabox": COLORS["blue"], "brownian": COLORS["red"], "forager": COLORS["orange"]}
JUDGE_LABELS = {"features": "logistic regression on features", "network": "conv network on velocities",
                "mmd": "kernel MMD on features"}
STANDIN_S = 30.0


def candidate_set(name: str = "sargolini", *, seed: int = 0, duration_s: float | None = None) -> dict:
    """``{"living": second half of the recording, "real": its first half, "fitted": the policy
    fitted to the first half, "ratinabox", "brownian" (the first half's mean speed), "forager"
    (at that speed)}``, the simulated ones ``duration_s`` long (default: the living half's length)
    from ``seed``, all on the book's grid :data:`theory.embodied.data.DT`."""
    from theory.embodied.candidates import brownian, fit_policy, forager, ratinabox_default
    from theory.embodied.data import load_real, split_halves

    seed = check_seed(seed)
    rat = load_real(name)
    train, living = split_halves(rat)
    T = len(living) * living.dt if duration_s is None else check_scalar(duration_s, "duration_s", min=1.0)
    speed = float(train.speeds().mean())
    return {"living": living, "real": train,
            "fitted": fit_policy(train).simulate(T, seed, arena=rat.arena),
            "ratinabox": ratinabox_default(T, rat.arena, seed),
            "brownian": brownian(T, rat.arena, speed, seed),
            "forager": forager(T, rat.arena, seed, speed=speed)}


def _draw_path(ax, traj, seconds: float, color, title: str):
    n = max(2, min(len(traj), int(round(seconds / traj.dt)) + 1))
    xmin, xmax, ymin, ymax = traj.arena
    ax.plot([xmin, xmax, xmax, xmin, xmin], [ymin, ymin, ymax, ymax, ymin], color=COLORS["grey"], lw=0.8)
    ax.plot(traj.xy[:n, 0], traj.xy[:n, 1], color=color, lw=0.6)
    ax.plot(*traj.xy[0], "o", ms=3, color=color)
    ax.set_xlim(xmin - 0.03 * (xmax - xmin), xmax + 0.03 * (xmax - xmin))
    ax.set_ylim(ymin - 0.03 * (ymax - ymin), ymax + 0.03 * (ymax - ymin))
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title, fontsize=7)


def trajectories_figure(trajectories: dict, *, seconds: float = 60.0):
    """The first ``seconds`` of each trajectory (``name → Trajectory``), one panel each, in its
    arena (grey), the start marked."""
    if not isinstance(trajectories, dict) or not trajectories:
        raise TypeError("trajectories must be a non-empty dict name → Trajectory")
    seconds = check_scalar(seconds, "seconds", min=0.0, include_min=False)
    names = list(trajectories)
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig, axes = figure(rows, cols, width="text", height=2.2 * rows)
    axes = np.atleast_1d(axes).ravel()
    for ax, name in zip(axes, names):
        traj = trajectories[name]
        _draw_path(ax, traj, seconds, CANDIDATE_COLORS.get(name, COLORS["purple"]),
                   f"{CANDIDATE_LABELS.get(name, name)}: {seconds:g} s")
    for ax in axes[len(names):]:
        ax.set_visible(False)
    return fig


def _check_results(results: dict):
    if not isinstance(results, dict) or not results:
        raise TypeError("results must be a non-empty dict (candidate, judge) → PowerResult (power_grid)")
    for key, r in results.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise TypeError(f"results' keys must be (candidate, judge) pairs, got {key!r}")
        if not isinstance(r, PowerResult):
            raise TypeError(f"results[{key!r}] must be a PowerResult, got {type(r).__name__}")


def power_figure(results: dict, *, judges=JUDGES):
    """For each judge (columns): the statistic's mean over repeats ± one standard deviation
    (markers and bars; AUC or MMD²) and the rejection rate Pr(p ≤ α) against minutes of behaviour
    per animal, one line per candidate (``results`` from :func:`power_grid`)."""
    _check_results(results)
    judges = [j for j in judges if any(k[1] == j for k in results)]
    if not judges:
        raise ValueError("results hold none of the judges asked for")
    fig, axes = figure(2, len(judges), width="wide", height=5.2, squeeze=False)
    for col, j in enumerate(judges):
        top, bottom = axes[0, col], axes[1, col]
        for (name, jj), r in results.items():
            if jj != j:
                continue
            color = CANDIDATE_COLORS.get(name, COLORS["purple"])
            label = CANDIDATE_LABELS.get(name, name)
            m, s = r.statistic.mean(1), r.statistic.std(1)
            top.errorbar(r.minutes, m, yerr=s, fmt="o-", ms=3, lw=1, capsize=2, color=color, label=label)
            bottom.plot(r.minutes, r.rejection_rate, "o-", ms=3, lw=1, color=color, label=label)
            alpha, reps = r.alpha, r.statistic.shape[1]
        for ax in (top, bottom):
            ax.set_xscale("log")
            ax.set_xticks(r.minutes)
            ax.set_xticklabels([f"{m:g}" for m in r.minutes])
            ax.minorticks_off()
        if j in CLASSIFIER_JUDGES:
            top.axhline(0.5, color=COLORS["grey"], ls=":", lw=0.8)
            top.set_ylim(0.2, 1.03)
            top.set_ylabel("held-out AUC")
        else:
            top.axhline(0.0, color=COLORS["grey"], ls=":", lw=0.8)
            top.set_ylabel("MMD²ᵤ")
        bottom.axhline(alpha, color=COLORS["grey"], ls=":", lw=0.8)
        bottom.set_ylim(-0.03, 1.03)
        bottom.set_ylabel(f"rejection rate (p ≤ {alpha:g})")
        bottom.set_xlabel("minutes of behaviour per animal")
        top.set_title(f"{JUDGE_LABELS[j]} ({reps} repeats)", fontsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=7, frameon=False)
    return fig


# ------------------------------------------------------------------------------------- explorer
_EXPLORER: dict = {}


def use_in_explorer(results: dict, trajectories: dict):
    """Make :data:`judge_explorer` draw these results (``(candidate, judge) → PowerResult`` from
    :func:`power_grid`, holding every budget of :data:`EXPLORER_BUDGETS_MIN`) and trajectories
    (``name → Trajectory``, ``"living"`` among them), and return it."""
    _check_results(results)
    if not isinstance(trajectories, dict) or "living" not in trajectories:
        raise ValueError("trajectories must be a dict name → Trajectory holding 'living'")
    for (name, j), r in results.items():
        if name not in EXPLORER_CANDIDATES or j not in JUDGES:
            raise ValueError(f"results key ({name!r}, {j!r}): candidates must be among {EXPLORER_CANDIDATES}, "
                             f"judges among {JUDGES}")
        for b in EXPLORER_BUDGETS_MIN:
            r.at(60 * b)          # raises ValueError naming the budgets held
        if name not in trajectories:
            raise ValueError(f"trajectories must hold candidate {name!r}")
    _EXPLORER.clear()
    _EXPLORER.update(results=dict(results), trajectories=dict(trajectories), standin=False)
    return judge_explorer


@functools.lru_cache(maxsize=1)
def _standin() -> dict:
    """A small stand-in: 30 s of each animal, the 0.5-minute budget, 3 repeats of each judge
    (features and MMD 99 permutations, the network 19 and 40 training steps)."""
    traj = candidate_set(duration_s=STANDIN_S)
    n = int(round(STANDIN_S / traj["living"].dt))
    short = {k: dataclasses.replace(v, t=v.t[:n], xy=v.xy[:n]) for k, v in traj.items()}
    res = power_grid({k: short[k] for k in EXPLORER_CANDIDATES}, short["living"], [STANDIN_S], n_repeats=3,
                     n_permutations={"features": 99, "mmd": 99, "network": 19}, seed=0,
                     judge_kw={"network": {"network": NetworkSpec(steps=40)}})
    return dict(results=res, trajectories=traj, standin=True)


def _data() -> dict:
    return _EXPLORER if _EXPLORER else _standin()


@explorer(candidate=list(EXPLORER_CANDIDATES), judge=list(JUDGES), budget=list(EXPLORER_BUDGETS_MIN),
          labels={"candidate": "candidate", "judge": "judge", "budget": "minutes of data"})
def judge_explorer(candidate: str = "fitted", judge: str = "features", budget: float = 2.0):
    """Candidate, judge and data budget (minutes of behaviour per animal) → the judge's statistic
    (held-out AUC, or MMD²) on the first repeat (red line) with its permutation null (grey
    histogram) and the other repeats (ticks), the p-value and the rejection rate; beside it the
    candidate's path and the living rat's over that budget. Results not handed over by
    :func:`use_in_explorer` are a small stand-in computed on first use (30 s of each animal: the
    0.5-minute budget only)."""
    d = _data()
    fig, axes = figure(1, 3, width="text", height=2.6, gridspec_kw={"width_ratios": [1.6, 1, 1]})
    ax = axes[0]
    r = d["results"].get((candidate, judge))
    seconds = 60.0 * float(budget)
    i = None
    if r is not None:
        hit = np.flatnonzero(np.isclose(r.budgets_s, seconds))
        i = int(hit[0]) if hit.size else None
    if i is None:
        ax.text(0.5, 0.5, f"not in the stand-in\n(it holds {STANDIN_S / 60:g} min of each animal);\n"
                "the chapter's page hands over\nevery budget (use_in_explorer)", ha="center", va="center",
                fontsize=7, transform=ax.transAxes)
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        null, stat = r.null[i, 0], r.statistic[i]
        ax.hist(null, bins=20, color=COLORS["grey"], alpha=0.7, label=f"null ({r.n_permutations} perm.)")
        ax.axvline(stat[0], color=COLORS["red"], lw=1.5, label=f"{r.statistic_name} = {stat[0]:.3g}")
        ymax = ax.get_ylim()[1]
        ax.plot(stat[1:], np.full(stat.size - 1, 0.95 * ymax), "|", ms=8, color=COLORS["red"], alpha=0.6)
        if judge in CLASSIFIER_JUDGES:
            ax.axvline(0.5, color=COLORS["theory"], ls=":", lw=0.8)
            ax.set_xlim(0.0, 1.0)
        ax.set_xlabel(r.statistic_name if judge != "mmd" else "MMD²ᵤ")
        ax.set_ylabel("permutations")
        ax.legend(fontsize=6, loc="upper left")
        ax.set_title(f"p = {r.p_value[i, 0]:.3g}; rejected in {int(round(r.rejection_rate[i] * r.statistic.shape[1]))}"
                     f"/{r.statistic.shape[1]} repeats (α = {r.alpha:g}); {r.n_windows[i]} windows/side", fontsize=6)
    tr = d["trajectories"]
    if candidate in tr:
        _draw_path(axes[1], tr[candidate], seconds, CANDIDATE_COLORS[candidate], CANDIDATE_LABELS[candidate])
    else:   # use_in_explorer was handed results without this candidate's path
        axes[1].text(0.5, 0.5, f"{CANDIDATE_LABELS[candidate]}:\nno path handed over", ha="center", va="center",
                     fontsize=7, transform=axes[1].transAxes)
        axes[1].set_axis_off()
    _draw_path(axes[2], tr["living"], seconds, CANDIDATE_COLORS["living"], CANDIDATE_LABELS["living"])
    fig.suptitle(f"{JUDGE_LABELS[judge]}, {float(budget):g} min of behaviour"
                 + (" (stand-in)" if d["standin"] else ""), fontsize=8)
    return fig
