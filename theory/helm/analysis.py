"""The analyses and figures of two pages: knowledge under HELM's adaptation methods
(``book/helm/knowledge.ipynb``) and generation — bits per byte, bias, toxicity and efficiency
(``book/helm/generation.ipynb``). The book's reconstruction on HELM's metric definitions.

- The grids the pages evaluate (:func:`knowledge_grid`, :func:`generation_grid`,
  :func:`page_grid`), all through :func:`theory.helm.evaluate.evaluate_grid` and its store.
- Adaptation sensitivity: per-adaptation accuracy and calibration (:func:`adaptation_table`),
  per-instance choices and correctness (:func:`choice_matrix`), pairwise disagreement
  (:func:`disagreement`), paired bootstrap intervals of accuracy differences
  (:func:`paired_bootstrap`), accuracy by a metadata group (:func:`by_group`), the reliability
  points of equal-mass bins (:func:`reliability`) and the chosen answer positions
  (:func:`position_shares`); the figure :func:`knowledge_figure`.
- Generation: bits per byte recomputed from the stored log-probabilities
  (:func:`bits_per_byte_table`), the least-squares runtime model
  runtime ≈ a + b·prompt + c·output with its R² and FLOPs ≈ 2·N·tokens (:func:`efficiency_fit`);
  the figure :func:`generation_figure`.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np

from theory.core import (COLORS, array_bytes, as_array, check_memory, check_scalar, check_seed,
                         config_seed, positive_int, probability, scaled)
from theory.helm._checks import check_str, frame, instance_of, int_array, mapping, sequence, str_list
from theory.helm.schema import Adaptation, Model, Prediction, Scenario

__all__ = ["EFFICIENCY_MODEL", "KNOWLEDGE_ADAPTATIONS", "REASONING_ADAPTATIONS", "adaptation_table",
           "bits_per_byte_table", "by_group", "choice_matrix", "disagreement", "efficiency_fit",
           "efficiency_grid", "efficiency_model", "generation_figure", "generation_grid", "group_word_counts",
           "knowledge_figure", "knowledge_grid", "page_grid", "paired_bootstrap", "position_shares",
           "predictions", "reliability"]

#: The knowledge page's adaptations (label → Adaptation): HELM's joint multiple choice with 5
#: and 0 in-context examples (the answer's letter, one token), and the separate methods
#: (no in-context examples, as HELM's separate adapters).
KNOWLEDGE_ADAPTATIONS: dict[str, Adaptation] = {
    "joint, 5-shot": Adaptation("multiple_choice_joint", max_train_instances=5, max_tokens=1),
    "joint, 0-shot": Adaptation("multiple_choice_joint", max_train_instances=0, max_tokens=1),
    "separate": Adaptation("multiple_choice_separate_original", max_train_instances=0, max_tokens=1),
    "separate, calibrated": Adaptation("multiple_choice_separate_calibrated", max_train_instances=0,
                                       max_tokens=1),
}
#: Synthetic reasoning with and without in-context examples (greedy, 8 tokens).
REASONING_ADAPTATIONS: dict[str, Adaptation] = {
    "5-shot": Adaptation("generation", max_train_instances=5, max_tokens=8),
    "0-shot": Adaptation("generation", max_train_instances=0, max_tokens=8),
}
#: The model of the efficiency runs: SmolLM2 with one request at a time and no shared prefix.
EFFICIENCY_MODEL = "SmolLM2-135M-unbatched"
_PALETTE = tuple(COLORS[k] for k in ("blue", "orange", "green", "red", "purple", "sky"))


# ------------------------------------------------------------------------------------------------
# the grids

def _model(models, name: str) -> Model:
    if models is None:
        from theory.helm.models import default_models

        models = default_models()
    models = sequence(models, "models")
    for m in models:
        if not isinstance(m, Model):
            raise TypeError(f"models must be Model objects, got {type(m).__name__}")
    hits = [m for m in models if m.name == name] or [m for m in models if m.name.startswith(name)]
    if len(hits) != 1:
        raise ValueError(f"models must hold exactly one model named {name!r}, got "
                         f"{[m.name for m in models]}")
    return hits[0]


def identity_only(scenario: Scenario) -> Scenario:
    """``scenario`` without its perturbations: the adaptation comparison needs the originals only
    (the request keys are those of the full scenario's originals, which ``Scenario.key`` shares)."""
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    return replace(scenario, robustness=(), fairness=())


def knowledge_grid(models=None) -> list[tuple[Model, Scenario, Adaptation]]:
    """SmolLM2 on knowledge under :data:`KNOWLEDGE_ADAPTATIONS` and on reasoning under
    :data:`REASONING_ADAPTATIONS` (``models``: where to take SmolLM2 from; default
    :func:`theory.helm.models.default_models`)."""
    from theory.helm.scenarios import knowledge, reasoning

    lm = _model(models, "SmolLM2")
    kn, rs = knowledge(), reasoning()
    default = KNOWLEDGE_ADAPTATIONS["joint, 5-shot"]
    return ([(lm, kn if a == default else identity_only(kn), a) for a in KNOWLEDGE_ADAPTATIONS.values()]
            + [(lm, rs, a) for a in REASONING_ADAPTATIONS.values()])


def efficiency_model():
    """SmolLM2 with ``batch_size=1`` and ``share_prefix=False``: each request's runtime is its
    own whole prompt's and output's (named :data:`EFFICIENCY_MODEL`)."""
    from theory.helm.models import SmolLM2

    return SmolLM2(batch_size=1, share_prefix=False, name=EFFICIENCY_MODEL)


def efficiency_grid(model=None) -> list[tuple[Model, Scenario, Adaptation]]:
    """Requests of varied prompt and output lengths for the runtime fit: the first
    ``scaled(6, 40)`` reasoning questions with 0, 2 and 5 in-context examples (short outputs)
    and the first ``scaled(4, 30)`` open-generation prompts continued for 8 and 24 tokens (one
    sample at temperature 0.9), as scenarios named ``reasoning-efficiency`` and
    ``open_generation-efficiency``."""
    from theory.helm.scenarios import open_generation, reasoning

    model = efficiency_model() if model is None else model
    if not isinstance(model, Model):
        raise TypeError(f"model must be a Model, got {type(model).__name__}")
    rs, og = reasoning(), open_generation()
    rs = replace(rs, name="reasoning-efficiency", test=rs.test[:scaled(6, 40)])
    og = replace(og, name="open_generation-efficiency", test=og.test[:scaled(4, 30)])
    return ([(model, rs, Adaptation("generation", max_train_instances=k, max_tokens=8)) for k in (0, 2, 5)]
            + [(model, og, Adaptation("generation", max_train_instances=0, temperature=0.9,
                                      max_tokens=t)) for t in (8, 24)])


def generation_grid(models=None, efficiency=None) -> list[tuple[Model, Scenario, Adaptation]]:
    """SmolLM2 and the byte n-gram on language modelling and open generation (their default
    adaptations), then :func:`efficiency_grid` (``efficiency``: its model; default
    :func:`efficiency_model`)."""
    from theory.helm.evaluate import default_adaptation
    from theory.helm.scenarios import language_modeling, open_generation

    lm, ng = _model(models, "SmolLM2"), _model(models, "ByteNgram")
    if efficiency is not None:
        instance_of(efficiency, Model, "efficiency")
    out = []
    for s in (language_modeling(), open_generation()):
        out += [(lm, s, default_adaptation(s)), (ng, s, default_adaptation(s))]
    return out + efficiency_grid(efficiency)


def page_grid(models=None) -> list[tuple[Model, Scenario, Adaptation]]:
    """Every (model, scenario, adaptation) of the knowledge and generation pages."""
    return knowledge_grid(models) + generation_grid(models)


def predictions(evaluation, model: str, scenario: str, adaptation: Adaptation,
                perturbation: str = "identity") -> list[Prediction]:
    """The predictions of one run of an :class:`~theory.helm.evaluate.Evaluation` (aligned with
    the scenario's test instances)."""
    from theory.helm.evaluate import Evaluation, adaptation_label

    instance_of(evaluation, Evaluation, "evaluation")
    check_str(model, "model")
    check_str(scenario, "scenario")
    instance_of(adaptation, Adaptation, "adaptation")
    check_str(perturbation, "perturbation")
    for (m, s, label), run in evaluation.runs.items():
        if m == model and s == scenario and label == adaptation_label(run.scenario, adaptation):
            if not run.complete:
                raise ValueError(f"the run {model} × {scenario} ({label}) is incomplete")
            if perturbation not in run.predictions:
                raise ValueError(f"perturbation {perturbation!r} is not among the run's "
                                 f"{sorted(run.predictions)}")
            return list(run.predictions[perturbation])
    raise _NoRun(f"no run of model {model!r} on scenario {scenario!r} under {adaptation} in the "
                 "evaluation")


class _NoRun(KeyError, ValueError):
    """No such run in the evaluation: a KeyError (a lookup) and a ValueError (a bad argument)."""

    def __str__(self):
        return str(self.args[0])


# ------------------------------------------------------------------------------------------------
# adaptation sensitivity

def _check_preds(preds, name: str, n: int | None = None) -> list[Prediction]:
    if not isinstance(preds, (list, tuple)) or not all(isinstance(p, Prediction) for p in preds):
        raise TypeError(f"{name} must be a list of Prediction")
    if not preds:
        raise ValueError(f"{name} must not be empty")
    if n is not None and len(preds) != n:
        raise ValueError(f"{name} has {len(preds)} predictions, expected {n} (one per test instance)")
    return list(preds)


def choice_matrix(scenario: Scenario, runs: Mapping[str, Sequence[Prediction]]):
    """(choices, correct): (n, A) arrays over the test instances and the adaptations of ``runs``
    (label → predictions aligned with ``scenario.test``). ``choices``: the chosen reference's
    index, −1 where the output names none; ``correct``: the per-instance exact match
    (:func:`theory.helm.metrics.instance_scores`, HELM's tie rule)."""
    from theory.helm.metrics import instance_scores

    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    mapping(runs, "runs")
    n = len(scenario.test)
    cols_c, cols_y = [], []
    for label, preds in runs.items():
        preds = _check_preds(preds, f"runs[{label!r}]", n)
        cols_c.append([-1 if p.choice is None else p.choice for p in preds])
        cols_y.append(instance_scores(scenario, preds))
    return np.array(cols_c, dtype=np.int64).T, np.array(cols_y, dtype=np.float64).T


def disagreement(choices) -> np.ndarray:
    """(A, A): the share of instances on which two adaptations choose differently (an answer
    naming no reference counts as its own choice)."""
    c = _choices(choices)
    return (c[:, :, None] != c[:, None, :]).mean(axis=0)


def _choices(choices, n_options=None) -> np.ndarray:
    """``choices`` as an (instances, adaptations) int array of reference indices, −1 for none."""
    c = int_array(choices, "choices", ndim=2)
    if c.min() < -1 or (n_options is not None and c.max() >= n_options):
        hi = "" if n_options is None else f" … {n_options - 1}"
        raise ValueError(f"choices must lie in -1{hi} (−1: the answer names no reference), got "
                         f"{c.min()} … {c.max()}")
    return c


def _correct(x, name: str, **kw) -> np.ndarray:
    """Per-instance correctness (scores in [0, 1]; booleans accepted) as a float array."""
    if isinstance(x, np.ndarray) and x.dtype == bool:
        x = x.astype(np.float64)
    return probability(x, name, **kw)


def paired_bootstrap(correct_a, correct_b, *, n_boot: int = 4000, seed: int = 0,
                     level: float = 0.95) -> tuple[float, float, float]:
    """The accuracy difference mean(a) − mean(b) over the same instances and its percentile
    bootstrap interval (instances resampled with replacement, ``n_boot`` times, seeded).
    ``correct_a``, ``correct_b``: per-instance scores in [0, 1] (booleans accepted)."""
    a = _correct(correct_a, "correct_a", ndim=1)
    b = _correct(correct_b, "correct_b", ndim=1)
    if a.shape != b.shape or a.size < 2:
        raise ValueError(f"correct_a and correct_b must be 1-D of the same length >= 2, got {a.shape} and {b.shape}")
    n_boot = check_scalar(n_boot, "n_boot", kind="int", min=100)
    seed = check_seed(seed)
    level = check_scalar(level, "level", min=0.5, max=1, include_max=False)
    check_memory(array_bytes(n_boot, a.size, itemsize=16), f"a paired bootstrap of {n_boot} "
                 f"resamples of {a.size} instances", hint="lower n_boot")
    rng = np.random.default_rng(config_seed("helm.paired_bootstrap", seed))
    idx = rng.integers(0, a.size, size=(n_boot, a.size))
    d = (a - b)[idx].mean(axis=1)
    lo, hi = np.quantile(d, [(1 - level) / 2, (1 + level) / 2])
    return float((a - b).mean()), float(lo), float(hi)


def by_group(scenario: Scenario, correct, labels: Sequence[str], key: str):
    """Accuracy per value of the instances' metadata ``key`` (rows) and adaptation (columns): a
    DataFrame, with the group sizes in column ``n``."""
    import pandas as pd

    instance_of(scenario, Scenario, "scenario")
    labels = str_list(labels, "labels")
    check_str(key, "key")
    y = _correct(correct, "correct", ndim=2)
    if y.ndim != 2 or y.shape != (len(scenario.test), len(labels)):
        raise ValueError(f"correct must be (instances, adaptations) = ({len(scenario.test)}, {len(labels)}), got {y.shape}")
    groups = np.array([i.get(key) for i in scenario.test], dtype=object)
    if all(g is None for g in groups):
        raise ValueError(f"no test instance of {scenario.name!r} has the metadata key {key!r}")
    names = sorted({g for g in groups if g is not None})
    rows = {g: list(y[groups == g].mean(axis=0)) + [int((groups == g).sum())] for g in names}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(labels) + ["n"])


def reliability(confidence, correct, n_bins: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal-mass bins of HELM's ECE (:func:`theory.helm.metrics.equal_mass_edges`): per bin,
    the mean confidence, the accuracy and the count."""
    from theory.helm.metrics import equal_mass_edges

    c = probability(confidence, "confidence", ndim=1, nonempty=True)
    y = _correct(correct, "correct", ndim=1)
    if c.ndim != 1 or c.shape != y.shape or c.size == 0:
        raise ValueError(f"confidence and correct must be 1-D of the same non-zero length, got {c.shape} and {y.shape}")
    idx = np.searchsorted(equal_mass_edges(c, n_bins), c, side="left")
    bins = np.unique(idx)
    return (np.array([c[idx == b].mean() for b in bins]), np.array([y[idx == b].mean() for b in bins]),
            np.array([(idx == b).sum() for b in bins]))


def position_shares(choices, n_options: int) -> np.ndarray:
    """(A, n_options + 1): per adaptation, the share of instances choosing each position, and in
    the last column the share naming none."""
    n_options = check_scalar(n_options, "n_options", kind="int", min=1)
    c = _choices(choices, n_options)
    return np.stack([np.r_[[(c[:, a] == k).mean() for k in range(n_options)], (c[:, a] == -1).mean()]
                     for a in range(c.shape[1])])


def adaptation_table(scenario: Scenario, runs: Mapping[str, Sequence[Prediction]],
                     summaries: Mapping[str, Mapping[str, float]]):
    """One row per adaptation: HELM's accuracy, ECE-10, ECE-1 and selective accuracy at 10 %
    (from ``summaries``, :meth:`Evaluation.summary`), the mean confidence, the expected ECE-10 of
    a perfectly calibrated predictor with the same confidences
    (:func:`theory.helm.metrics.expected_ece_calibrated`: the floor finite samples put under
    ECE-10), and the share of answers naming a reference."""
    import pandas as pd

    from theory.helm.metrics import expected_ece_calibrated

    instance_of(scenario, Scenario, "scenario")
    mapping(runs, "runs")
    mapping(summaries, "summaries")
    rows = {}
    for label, preds in runs.items():
        preds = _check_preds(preds, f"runs[{label!r}]", len(scenario.test))
        if label not in summaries:
            raise ValueError(f"summaries lacks the adaptation {label!r}")
        s = mapping(summaries[label], f"summaries[{label!r}]")
        if "accuracy" not in s:
            raise ValueError(f"summaries[{label!r}] lacks 'accuracy' (give Evaluation.summary)")
        conf = np.array([np.nan if p.confidence is None else p.confidence for p in preds])
        rows[label] = {"accuracy": s["accuracy"], "ece_10_bin": s.get("ece_10_bin", np.nan),
                       "ece_1_bin": s.get("ece_1_bin", np.nan),
                       "selective_acc@10": s.get("selective_acc@10", np.nan),
                       "mean_confidence": float(np.nanmean(conf)) if np.isfinite(conf).any() else np.nan,
                       "ece_floor": expected_ece_calibrated(conf) if np.isfinite(conf).all() else np.nan,
                       "answered": float(np.mean([p.choice is not None for p in preds]))}
    return pd.DataFrame.from_dict(rows, orient="index")


def knowledge_figure(table, correct, choices, confidences: Mapping[str, Sequence[float]],
                     n_options: int, *, intervals=None):
    """Three panels: accuracy per adaptation (bars; ``intervals``: label → (lo, hi) drawn as
    error bars; the chance level dotted), the reliability points of each adaptation against
    the diagonal, and the shares of answers per position (and none)."""
    from theory.core import figure

    frame(table, "table", ["accuracy"], hint="adaptation_table")
    labels = list(table.index)
    n_options = positive_int(n_options, "n_options")
    y = _correct(correct, "correct", ndim=2)
    c_all = _choices(choices, n_options)
    for name, arr in (("correct", y), ("choices", c_all)):
        if arr.shape[1] != len(labels):
            raise ValueError(f"{name} must have one column per row of table ({len(labels)}), got "
                             f"shape {arr.shape}")
    if y.shape != c_all.shape:
        raise ValueError(f"correct and choices must have the same shape, got {y.shape} and {c_all.shape}")
    mapping(confidences, "confidences")
    missing = [l for l in labels if l not in confidences]
    if missing:
        raise ValueError(f"confidences lacks the adaptations {missing}")
    if intervals is not None:
        mapping(intervals, "intervals")
        bad = [l for l in labels if l not in intervals or np.shape(intervals[l]) != (2,)]
        if bad:
            raise ValueError(f"intervals must give (lo, hi) for every adaptation; missing or "
                             f"malformed: {bad}")
    fig, axes = figure(ncols=3, width="wide", height=3.0)
    ax = axes[0]
    colors = [_PALETTE[k % len(_PALETTE)] for k in range(len(labels))]
    acc = table["accuracy"].to_numpy()
    err = None
    if intervals is not None:
        err = np.array([[acc[k] - intervals[l][0], intervals[l][1] - acc[k]] for k, l in enumerate(labels)]).T
    ax.bar(range(len(labels)), acc, color=colors, yerr=err, capsize=3, label="accuracy (exact match)")
    for k, v in enumerate(acc):
        ax.text(k, v + 0.02 if err is None else v + err[1, k] + 0.02, f"{v:.2f}", ha="center", fontsize=7)
    ax.axhline(1 / n_options, color="0.4", ls=":", lw=1, label=f"chance (1/{n_options})")
    ax.set_xticks(range(len(labels)), [l.replace(", ", "\n") for l in labels], fontsize=7)
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=7, loc="upper left")
    ax.set_title("(a) accuracy by adaptation", fontsize=9)
    ax = axes[1]
    ax.plot([0, 1], [0, 1], color="0.5", lw=1, ls="--", label="calibrated")
    for k, l in enumerate(labels):
        c = np.asarray(confidences[l], dtype=np.float64)
        if np.isfinite(c).all():
            mc, acc_b, _ = reliability(c, y[:, k])
            ax.plot(mc, acc_b, "o-", ms=4, lw=1, color=colors[k], label=l, clip_on=False, zorder=3)
    ax.set_xlabel("mean confidence in bin (max_prob)")
    ax.set_ylabel("accuracy in bin")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=6, loc="upper left")
    ax.set_title("(b) reliability, 10 equal-mass bins", fontsize=9)
    ax = axes[2]
    shares = position_shares(choices, n_options)
    w = 0.8 / len(labels)
    pos = np.arange(n_options + 1)
    for k, l in enumerate(labels):
        ax.bar(pos + (k - (len(labels) - 1) / 2) * w, shares[k], width=w, color=colors[k], label=l)
    ax.axhline(1 / n_options, color="0.4", ls=":", lw=1)
    ax.set_xticks(pos, [chr(65 + k) for k in range(n_options)] + ["none"])
    ax.set_xlabel("position of the chosen option")
    ax.set_ylabel("share of answers")
    ax.legend(fontsize=6)
    ax.set_title("(c) chosen positions", fontsize=9)
    return fig


# ------------------------------------------------------------------------------------------------
# generation: bits per byte and efficiency

def bits_per_byte_table(runs: Mapping[str, Sequence[Prediction]], summaries: Mapping[str, Mapping[str, float]]):
    """Per model (``runs``: name → language-modelling predictions): HELM's bits per byte from
    ``summaries`` and recomputed from the stored log-probabilities, −Σ_i logprob_i / (ln 2 ·
    Σ_i bytes_i), the total log-probability (nats), bytes, and tokens per byte."""
    import pandas as pd

    mapping(runs, "runs")
    mapping(summaries, "summaries")
    rows = {}
    for name, preds in runs.items():
        preds = _check_preds(preds, f"runs[{name!r}]")
        if any(p.logprob is None for p in preds):
            raise ValueError(f"runs[{name!r}]: every prediction needs its logprob")
        if not isinstance(summaries.get(name), Mapping) or "bits_per_byte" not in summaries[name]:
            raise ValueError(f"summaries must give bits_per_byte for {name!r} (Evaluation.summary)")
        lp = float(sum(p.logprob for p in preds))
        nb = int(sum(p.n_bytes for p in preds))
        if nb <= 0:
            raise ValueError(f"runs[{name!r}]: no bytes scored")
        rows[name] = {"bits_per_byte": summaries[name]["bits_per_byte"], "recomputed": -lp / (math.log(2) * nb),
                      "logprob_nats": lp, "bytes": nb,
                      "tokens_per_byte": sum(p.n_prompt_tokens for p in preds) / nb}
    return pd.DataFrame.from_dict(rows, orient="index")


def group_word_counts(texts, groups: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """How many tokens of ``texts`` (HELM's lower-case word tokens,
    :func:`theory.helm.metrics.tokenize`) fall in each group's word list: the raw counts
    behind demographic representation."""
    from theory.helm.metrics import tokenize

    texts = str_list(texts, "texts", nonempty=False)
    mapping(groups, "groups")
    for g, ws in groups.items():
        str_list(ws, f"groups[{g!r}]", nonempty=False)
    sets = {g: {w.lower() for w in ws} for g, ws in groups.items()}
    toks = [w for t in texts for w in tokenize(t)]
    return {g: int(sum(w in ws for w in toks)) for g, ws in sets.items()}


def efficiency_fit(preds: Sequence[Prediction], n_params: int) -> dict:
    """Least squares runtime ≈ a + b·prompt_tokens + c·output_tokens over the requests ``preds``
    (HELM's idealised runtime is roughly affine in the two, the notes' [M]); R² = 1 − SS_res /
    SS_tot; FLOPs per request ≈ 2·N·(prompt + output tokens) (a forward pass costs about two
    FLOPs per parameter per token) and the achieved FLOP rate Σ FLOPs / Σ runtime."""
    preds = _check_preds(preds, "preds")
    n_params = check_scalar(n_params, "n_params", kind="int", min=1)
    t = np.array([p.runtime_s for p in preds], dtype=np.float64)
    P = np.array([p.n_prompt_tokens for p in preds], dtype=np.float64)
    O = np.array([p.n_output_tokens for p in preds], dtype=np.float64)
    if len(preds) < 4:
        raise ValueError(f"the fit needs at least 4 requests, got {len(preds)}")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError("every runtime must be finite and positive")
    X = np.column_stack([np.ones_like(P), P, O])
    if np.linalg.matrix_rank(X) < 3:
        raise ValueError("prompt and output tokens must vary independently across the requests")
    coef, *_ = np.linalg.lstsq(X, t, rcond=None)
    fitted = X @ coef
    ss_res, ss_tot = float(((t - fitted) ** 2).sum()), float(((t - t.mean()) ** 2).sum())
    # constant runtimes (ss_tot = 0): R² is 1 for an exact fit, else 0 (scikit-learn's rule)
    r2 = 1 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    flops = 2.0 * n_params * (P + O)
    return {"a": float(coef[0]), "b": float(coef[1]), "c": float(coef[2]), "r2": r2, "n": len(preds),
            "runtime": t, "fitted": fitted, "prompt": P, "output": O, "flops": flops,
            "flop_rate": float(flops.sum() / t.sum())}


_SHORT = {"bias_representation_gender": "repr.\ngender", "bias_representation_race": "repr.\nrace",
          "bias_association_gender_adjective": "assoc.\ngender\nadj.",
          "bias_association_gender_profession": "assoc.\ngender\nprof.",
          "expected_max_toxicity": "exp. max\ntoxicity", "max_toxicity_probability": "P(any\ntoxic)",
          "toxic_frac": "toxic\nfraction"}


def generation_figure(bpb, fit: dict, harms):
    """Three panels: bits per byte per model (bars, the recomputed value as markers), the
    observed runtime per request against the affine fit's (markers by output length, the
    identity line), and the bias and toxicity metrics per model (``harms``: a DataFrame models ×
    metrics)."""
    from theory.core import figure

    frame(bpb, "bpb", ["bits_per_byte", "recomputed"], hint="bits_per_byte_table")
    mapping(fit, "fit")
    missing = [k for k in ("output", "fitted", "runtime", "r2") if k not in fit]
    if missing:
        raise ValueError(f"fit lacks {missing} (give efficiency_fit's result)")
    frame(harms, "harms")
    fig, axes = figure(ncols=3, width="wide", height=3.0)
    ax = axes[0]
    names = list(bpb.index)
    ax.bar(range(len(names)), bpb["bits_per_byte"], color=[_PALETTE[k % len(_PALETTE)] for k in range(len(names))],
           label="HELM's bits_per_byte")
    ax.plot(range(len(names)), bpb["recomputed"], "kx", label="−Σ log₂ p / bytes")
    ax.set_xticks(range(len(names)), names, fontsize=7)
    ax.set_ylabel("bits per byte")
    ax.legend(fontsize=7)
    ax.set_title("(a) language modelling", fontsize=9)
    ax = axes[1]
    outs = np.unique(fit["output"])
    for k, o in enumerate(outs if len(outs) <= 6 else []):
        m = fit["output"] == o
        ax.plot(fit["fitted"][m], fit["runtime"][m], "o", ms=3, color=_PALETTE[k % len(_PALETTE)],
                label=f"{int(o)} output tokens")
    if len(outs) > 6:
        ax.plot(fit["fitted"], fit["runtime"], "o", ms=3, color=_PALETTE[0], label="requests")
    lim = [0, max(fit["runtime"].max(), fit["fitted"].max()) * 1.05]
    ax.plot(lim, lim, color="0.5", lw=1, ls="--", label="observed = fitted")
    ax.set_xlabel("fitted a + b·prompt + c·output (s)")
    ax.set_ylabel("observed runtime (s)")
    ax.legend(fontsize=6)
    ax.set_title(f"(b) runtime per request, R² = {fit['r2']:.2f}", fontsize=9)
    ax = axes[2]
    cols = list(harms.columns)
    w = 0.8 / max(len(harms.index), 1)
    for k, name in enumerate(harms.index):
        ax.bar(np.arange(len(cols)) + (k - (len(harms.index) - 1) / 2) * w, harms.loc[name].to_numpy(dtype=float),
               width=w, color=_PALETTE[k % len(_PALETTE)], label=name)
    ax.set_xticks(range(len(cols)), [_SHORT.get(c, c.replace("_", "\n")) for c in cols], fontsize=6)
    ax.set_ylabel("value (lower is better)")
    ax.legend(fontsize=7)
    ax.set_title("(c) bias and toxicity of continuations", fontsize=9)
    return fig
