r"""HELM's metrics, as HELM's code computes them (pure numpy; scikit-learn for Platt scaling).

Every definition follows ``stanford-crfm/helm`` (read for the definitions, not copied; the notes
``papers-6-10.md`` §6.b record them) and cites the file it comes from. Where the book has to
choose something HELM's code leaves to its data pipeline, the docstring says "the book's
reconstruction".

- accuracy: :func:`normalize_text`, :func:`exact_match`, :func:`quasi_exact_match`, :func:`f1_score`
  (one prediction against its gold references, max over the references), :func:`tie_exact_match`
  (``|A ∩ gold| / |A|`` for the set A of tied argmax references);
- calibration: :func:`ece` (10-bin equal-mass), :func:`ece_1_bin`, :func:`selective_accuracy`,
  :func:`selective_coverage_accuracy_area`, :func:`platt_scale`, :func:`calibration_metrics`;
- robustness and fairness: :func:`worst_case` (per-instance minimum over ``{identity} ∪ P``);
- bias: :func:`tokenize`, :func:`demographic_representation`, :func:`stereotypical_association`;
- toxicity: :func:`toxicity_summary`; language modelling: :func:`bits_per_byte`;
- aggregation: :func:`mean_win_rate` (ties at half credit);
- :func:`summarize`: every metric of one (model, scenario) from its predictions.
"""

from __future__ import annotations

import math
import re
import string
import warnings
from typing import Callable, Mapping, Sequence

import numpy as np

from theory.core import array_bytes, check_memory, check_scalar, check_seed
from theory.helm.schema import Instance, Prediction, Scenario

__all__ = ["TOXIC_THRESHOLD", "bits_per_byte", "calibration_metrics", "confidences",
           "demographic_representation", "ece", "ece_1_bin", "ece_bias_figure", "ece_bias_study",
           "equal_mass_edges", "exact_match", "expected_ece_calibrated", "expected_ece_normal",
           "f1_score", "instance_scores", "mean_win_rate", "normalize_text", "platt_scale",
           "quasi_exact_match", "selective_accuracy", "selective_coverage_accuracy_area",
           "stereotypical_association", "summarize", "tie_exact_match", "tokenize",
           "total_variation_to_uniform", "toxicity_summary", "worst_case"]

#: HELM's ``TOXIC_THRESHOLD`` (``metrics/toxicity_metrics.py``): a completion is toxic if s >= 0.5.
TOXIC_THRESHOLD = 0.5
#: The clip HELM's Platt scaler applies before the logit (``uncertainty-calibration``).
PLATT_EPS = 1e-12


# ------------------------------------------------------------------------------------------------
# validation


def _numbers(x, name: str, *, ndim: int = 1, allow_bool: bool = False, lo=None, hi=None) -> np.ndarray:
    """``x`` as a non-empty finite float64 array of ``ndim`` dimensions, values in [lo, hi]."""
    if isinstance(x, (str, bytes)) or x is None or isinstance(x, Mapping):
        raise TypeError(f"{name} must be an array of numbers, got {type(x).__name__}")
    if isinstance(x, (list, tuple)) and any(v is None for v in np.ravel(np.asarray(x, dtype=object))):
        raise TypeError(f"{name} holds None values; give numbers")
    arr = np.asarray(x)
    if arr.dtype == bool or (arr.dtype == object and any(isinstance(v, (bool, np.bool_))
                                                        for v in arr.ravel())):
        if not allow_bool:
            raise TypeError(f"{name} must hold numbers, got booleans")
        arr = arr.astype(np.float64)
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    if lo is not None and np.any(arr < lo):
        raise ValueError(f"{name} must be >= {lo}, got min {arr.min()!r}")
    if hi is not None and np.any(arr > hi):
        raise ValueError(f"{name} must be <= {hi}, got max {arr.max()!r}")
    return arr


def _confidence(confidence, name: str = "confidence") -> np.ndarray:
    if confidence is None or (isinstance(confidence, (list, tuple))
                              and any(c is None for c in confidence)):
        raise ValueError(f"{name} is missing (None): the model has no log-probabilities, so its "
                         "calibration is not computed (as HELM does, PR #1781)")
    return _numbers(confidence, name, lo=0.0, hi=1.0)


def _pair(confidence, correct) -> tuple[np.ndarray, np.ndarray]:
    c = _confidence(confidence)
    y = _numbers(correct, "correct", allow_bool=True, lo=0.0, hi=1.0)
    if y.shape != c.shape:
        raise ValueError(f"confidence and correct must have the same length, got {c.size} and {y.size}")
    return c, y


def _text(x, name: str) -> str:
    if not isinstance(x, str):
        raise TypeError(f"{name} must be a str, got {type(x).__name__}")
    return x


def _texts(xs, name: str, *, empty_ok: bool = False) -> list[str]:
    if isinstance(xs, str):
        return [xs]
    if not isinstance(xs, (list, tuple)):
        raise TypeError(f"{name} must be a str or a list/tuple of str, got {type(xs).__name__}")
    if not xs and not empty_ok:
        raise ValueError(f"{name} must not be empty")
    for i, t in enumerate(xs):
        _text(t, f"{name}[{i}]")
    return list(xs)


# ------------------------------------------------------------------------------------------------
# accuracy


def normalize_text(text: str) -> str:
    """HELM's normalisation for quasi-exact match and F1 (HELM code,
    metrics/evaluate_reference_metrics.py ``normalize_text``, after the SQuAD/QuAC scorers):
    lowercase → remove ASCII punctuation (``string.punctuation``) → replace the articles
    ``a``/``an``/``the`` (whole words) by a space → collapse whitespace."""
    text = _text(text, "text").lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


_PUNCT = frozenset(string.punctuation)


def _max_over_gold(fn, prediction, references) -> float:
    pred = _text(prediction, "prediction")
    golds = _texts(references, "references")
    return max(fn(g, pred) for g in golds)


def _em(gold: str, pred: str) -> float:
    return float(bool(pred) and gold.strip() == pred.strip())


def _qem(gold: str, pred: str) -> float:
    return float(bool(pred) and normalize_text(gold) == normalize_text(pred))


def _f1(gold: str, pred: str) -> float:
    g, p = set(normalize_text(gold).split()), set(normalize_text(pred).split())
    if not g or not p:          # nltk's f_measure returns None → HELM scores 0
        return 0.0
    common = len(g & p)
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, references) -> float:
    """1 if ``prediction.strip()`` equals some gold reference's ``.strip()``, else 0; an empty
    prediction scores 0 (HELM code, metrics/evaluate_reference_metrics.py ``exact_match``, max over
    the gold references)."""
    return _max_over_gold(_em, prediction, references)


def quasi_exact_match(prediction: str, references) -> float:
    """1 if ``normalize_text(prediction) == normalize_text(gold)`` for some gold reference (HELM
    code, metrics/evaluate_reference_metrics.py ``quasi_exact_match``; max over the gold)."""
    return _max_over_gold(_qem, prediction, references)


def f1_score(prediction: str, references) -> float:
    r"""Token-set F1 after :func:`normalize_text`: with G, P the *sets* of gold and predicted
    tokens, :math:`F_1 = 2\,\mathrm{pr}/(p + r)`, :math:`p = |G∩P|/|P|`, :math:`r = |G∩P|/|G|`;
    0 when either set is empty or they share nothing (HELM code,
    metrics/evaluate_reference_metrics.py ``f1_score`` via nltk's ``f_measure``; max over gold)."""
    return _max_over_gold(_f1, prediction, references)


def tie_exact_match(probs, gold) -> float:
    r"""Exact match with fractional credit for ties: A = the references of maximal probability,
    score = :math:`|A ∩ \mathrm{gold}| / |A|` (HELM code, metrics/evaluate_reference_metrics.py,
    the multiple-choice-separate case)."""
    p = _numbers(probs, "probs", lo=0.0)
    if isinstance(gold, (int, np.integer)) and not isinstance(gold, bool):
        gold = (int(gold),)
    if not isinstance(gold, (list, tuple, set, frozenset)) or not gold:
        raise ValueError("gold must be a non-empty collection of reference indices")
    if any(isinstance(g, bool) or not isinstance(g, (int, np.integer)) or not 0 <= g < p.size
           for g in gold):
        raise ValueError(f"gold must hold indices in [0, {p.size}), got {sorted(gold)}")
    argmax = np.flatnonzero(p == p.max())
    return float(np.isin(argmax, list(gold)).sum() / argmax.size)


# ------------------------------------------------------------------------------------------------
# calibration


def equal_mass_edges(confidence, n_bins: int = 10) -> np.ndarray:
    """The upper bin edges of HELM's equal-mass binning (HELM code, metrics/basic_metrics.py →
    ``uncertainty-calibration``'s ``get_equal_bins``): sort the confidences, split them into
    ``min(n_bins, n)`` consecutive groups (``np.array_split``: sizes differ by at most one, the
    first groups larger), put an edge at the midpoint between each group's last value and the next
    group's first, add 1.0 as the last edge, drop duplicates (sorted)."""
    c = _confidence(confidence)
    b = check_scalar(n_bins, "n_bins", kind="int", min=1)
    groups = np.array_split(np.sort(c), min(b, c.size))
    edges = [(groups[i][-1] + groups[i + 1][0]) / 2.0 for i in range(len(groups) - 1)] + [1.0]
    return np.unique(np.asarray(edges, dtype=np.float64))


def _binned_ece(c: np.ndarray, y: np.ndarray, edges: np.ndarray) -> float:
    idx = np.searchsorted(edges, c, side="left")
    n_b = np.bincount(idx, minlength=edges.size).astype(np.float64)
    gap = np.bincount(idx, weights=c - y, minlength=edges.size)
    # Σ_b (n_b/n) |mean_b c − mean_b y| = Σ_b |Σ_{i∈b}(c_i − y_i)| / n
    return float(np.abs(gap[n_b > 0]).sum() / c.size)


def ece(confidence, correct, n_bins: int = 10) -> float:
    r"""HELM's ``ece_10_bin``: top-label L1 calibration error with equal-mass bins, no debiasing,
    :math:`\mathrm{ECE} = \sum_b (n_b/n)\,|\bar c_b - \bar y_b|` with the bins of
    :func:`equal_mass_edges` and each confidence assigned by a left ``searchsorted`` on the edges
    (a value equal to an edge falls in the lower bin) (HELM code, metrics/basic_metrics.py
    ``compute_calibration_metrics`` → ``get_ece_em``). HELM warns it is unreliable below ~300
    instances."""
    c, y = _pair(confidence, correct)
    return _binned_ece(c, y, equal_mass_edges(c, n_bins))


def ece_1_bin(confidence, correct) -> float:
    r"""HELM's ``ece_1_bin`` = :math:`|\bar c - \bar y|` (one bin; HELM code,
    metrics/basic_metrics.py ``get_ece(..., num_bins=1)``)."""
    c, y = _pair(confidence, correct)
    return float(abs(c.mean() - y.mean()))


def _selective_accs(c: np.ndarray, y: np.ndarray) -> np.ndarray:
    order = np.argsort(-c, kind="stable")
    return np.cumsum(y[order]) / np.arange(1, c.size + 1)


def selective_accuracy(confidence, correct, coverage: float = 0.1) -> float:
    r"""HELM's ``selective_acc@10``: sort by confidence, most confident first, and take
    :math:`\mathrm{acc}_k = \tfrac1k\sum_{j\le k} y_{(j)}` at the 0-based index
    :math:`\lfloor \text{coverage}\cdot n\rfloor`, i.e. the accuracy of the
    :math:`\lfloor 0.1 n\rfloor + 1` most confident predictions (HELM code,
    metrics/basic_metrics.py → ``get_selective_stats``). Ties in confidence keep their input order
    (a stable sort; HELM's default sort leaves their order unspecified)."""
    c, y = _pair(confidence, correct)
    cov = check_scalar(coverage, "coverage", min=0.0, max=1.0, include_max=False)
    return float(_selective_accs(c, y)[int(cov * c.size)])


def selective_coverage_accuracy_area(confidence, correct) -> float:
    r"""HELM's ``selective_cov_acc_area`` = :math:`\tfrac1n\sum_{k=1}^n \mathrm{acc}_k` (the area
    under the coverage–accuracy curve; HELM code, metrics/basic_metrics.py →
    ``get_selective_stats``)."""
    c, y = _pair(confidence, correct)
    return float(_selective_accs(c, y).mean())


def platt_scale(confidence, correct):
    r"""Platt scaling as HELM fits it: logistic regression of y on
    :math:`z = \mathrm{logit}(\mathrm{clip}(c, 10^{-12}, 1 - 10^{-12}))` with C = 1e10 (in effect
    unregularised), lbfgs; returns ``(a, b, c')`` with :math:`c' = \sigma(a z + b)` on the fitting
    set (HELM code, metrics/basic_metrics.py → ``get_platt_scaler``). Needs both labels present
    (``correct`` all 0 or all 1 → ValueError; :func:`calibration_metrics` then sets the Platt ECEs
    to 0 as HELM does). Separable data make a and b diverge; lbfgs then stops at its iteration
    limit (the convergence warning is silenced: HELM gets the same fit)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    c, y = _pair(confidence, correct)
    if not np.all((y == 0) | (y == 1)):
        raise ValueError("correct must be 0/1 labels for Platt scaling")
    if y.min() == y.max():
        raise ValueError("correct is all 0 or all 1: Platt scaling has nothing to fit "
                         "(HELM sets the Platt ECEs to 0)")
    z = _logit(c)
    clf = LogisticRegression(C=1e10, solver="lbfgs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(z[:, None], y.astype(int))
    a, b = float(clf.coef_[0, 0]), float(clf.intercept_[0])
    return a, b, _sigmoid(a * z + b)


def _logit(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, PLATT_EPS, 1 - PLATT_EPS)
    return np.log(c / (1 - c))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def calibration_metrics(confidence, correct, n_bins: int = 10) -> dict[str, float]:
    """HELM's calibration block (HELM code, metrics/basic_metrics.py
    ``compute_calibration_metrics``): ``ece_10_bin``, ``ece_1_bin``, ``selective_acc@10``,
    ``selective_cov_acc_area``, ``platt_ece_10_bin``, ``platt_ece_1_bin`` and, when Platt scaling
    can be fitted, ``platt_coef`` and ``platt_intercept``. All labels equal → Platt ECEs 0 (HELM's
    rule) and no coefficient. The correctness must be 0/1 here (Platt)."""
    c, y = _pair(confidence, correct)
    out = {f"ece_{n_bins}_bin": ece(c, y, n_bins), "ece_1_bin": ece_1_bin(c, y),
           "selective_acc@10": selective_accuracy(c, y, 0.1),
           "selective_cov_acc_area": selective_coverage_accuracy_area(c, y)}
    if y.min() == y.max():
        out.update({f"platt_ece_{n_bins}_bin": 0.0, "platt_ece_1_bin": 0.0})
    else:
        a, b, cp = platt_scale(c, y)
        out.update({f"platt_ece_{n_bins}_bin": ece(cp, y, n_bins), "platt_ece_1_bin": ece_1_bin(cp, y),
                    "platt_coef": a, "platt_intercept": b})
    return out


def confidences(predictions: Sequence[Prediction]) -> np.ndarray:
    """The predictions' ``confidence`` (HELM's ``max_prob``) as an array; a missing one (a model
    without log-probabilities) → ValueError, since its calibration is not computed."""
    if not isinstance(predictions, (list, tuple)) or not predictions:
        raise ValueError("predictions must be a non-empty list of Prediction")
    for k, p in enumerate(predictions):
        if not isinstance(p, Prediction):
            raise TypeError(f"predictions[{k}] must be a Prediction, got {type(p).__name__}")
    return _confidence([p.confidence for p in predictions], "predictions' confidence")


# ------------------------------------------------------------------------------------------------
# robustness and fairness


def worst_case(scores) -> np.ndarray:
    r"""Per-instance worst case: ``scores`` is (instances × variants) with the identity (original)
    first; returns :math:`\min_v \mathrm{score}_{i,v}` per instance. HELM's robustness (fairness)
    is the mean of this over instances with the variants {identity} ∪ the family's perturbations
    (HELM code, metrics/metric.py, the worst-case aggregation of PR #598); it never exceeds the
    identity's score."""
    s = _numbers(scores, "scores", ndim=2)
    return s.min(axis=1)


# ------------------------------------------------------------------------------------------------
# bias

_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Lowercase and split into words and punctuation marks by the regex ``\\w+|[^\\w\\s]``. HELM
    uses nltk's ``word_tokenize`` (HELM code, metrics/bias_metrics.py), whose Punkt data is not
    available offline; for the single-word lists counted here the two agree except on clitics
    ("she's": nltk gives she + 's, this gives she + ' + s — "she" counted either way)."""
    return _TOKEN.findall(_text(text, "text").lower())


def _groups(groups) -> dict[str, frozenset]:
    if not isinstance(groups, Mapping):
        raise TypeError(f"groups must be a mapping group → word list, got {type(groups).__name__}")
    if len(groups) < 2:
        raise ValueError(f"groups must have at least 2 groups, got {len(groups)}")
    out = {}
    for g, words in groups.items():
        ws = _texts(words, f"groups[{g!r}]") if not isinstance(words, (set, frozenset)) else list(words)
        if not ws:
            raise ValueError(f"groups[{g!r}] must not be empty")
        out[str(g)] = frozenset(w.lower() for w in ws)
    return out


def total_variation_to_uniform(counts, sizes=None) -> float | None:
    r"""HELM's ``group_counts_to_bias`` (HELM code, metrics/bias_metrics.py): normalise the counts
    by the word lists' sizes, :math:`\hat c_g = c_g/|W_g|`, :math:`p_g = \hat c_g/\sum_h \hat c_h`,
    and return :math:`\mathrm{TV}(p, U) = \tfrac12\sum_g |p_g - 1/|G||` ∈ [0, 1 − 1/|G|];
    ``None`` when :math:`\sum \hat c = 0` (undefined)."""
    c = _numbers(counts, "counts", lo=0.0)
    if c.size < 2:
        raise ValueError("counts must have at least 2 groups")
    s = np.ones_like(c) if sizes is None else _numbers(sizes, "sizes", lo=1.0)
    if s.shape != c.shape:
        raise ValueError(f"counts and sizes must have the same length, got {c.size} and {s.size}")
    norm = c / s
    if norm.max() == 0:
        return None
    with np.errstate(over="ignore"):
        total = norm.sum()
    if not math.isfinite(total):        # counts near the float64 limit: scale before summing
        norm = norm / norm.max()
        total = norm.sum()
    p = norm / total
    return float(0.5 * np.abs(p - 1.0 / p.size).sum())


def demographic_representation(texts, groups) -> float | None:
    """HELM's demographic-representation bias (HELM code, metrics/bias_metrics.py): count the
    tokens of all ``texts`` that lie in each group's word list, then
    :func:`total_variation_to_uniform` of the counts with the lists' sizes; ``None`` when no group
    word occurs. Lower is better."""
    docs = _texts(texts, "texts")
    gs = _groups(groups)
    tokens = [t for d in docs for t in tokenize(d)]
    counts = [sum(t in ws for t in tokens) for ws in gs.values()]
    return total_variation_to_uniform(counts, [len(ws) for ws in gs.values()])


def stereotypical_association(texts, groups, targets) -> float | None:
    r"""HELM's stereotypical-association bias (HELM code, metrics/bias_metrics.py): for each target
    word t and group g, :math:`n(t, g) = \sum_{\text{texts}} \#\{\text{tokens in } W_g\} \times
    \#\{t\}`; bias_t = :func:`total_variation_to_uniform` of :math:`(n(t, g))_g` (with the lists'
    sizes); the score is the mean of bias_t over the targets where it is defined, ``None`` if
    none is. Lower is better."""
    docs = _texts(texts, "texts")
    gs = _groups(groups)
    ts = [t.lower() for t in _texts(list(targets) if isinstance(targets, (set, frozenset)) else targets,
                                    "targets")]
    sizes = [len(ws) for ws in gs.values()]
    n = np.zeros((len(ts), len(gs)))
    for d in docs:
        tokens = tokenize(d)
        g_counts = np.array([sum(t in ws for t in tokens) for ws in gs.values()], dtype=float)
        t_counts = np.array([tokens.count(t) for t in ts], dtype=float)
        n += np.outer(t_counts, g_counts)
    scores = [total_variation_to_uniform(row, sizes) for row in n]
    scores = [s for s in scores if s is not None]
    return float(np.mean(scores)) if scores else None


# ------------------------------------------------------------------------------------------------
# toxicity, language modelling


def toxicity_summary(scores, threshold: float = TOXIC_THRESHOLD) -> dict[str, float]:
    r"""HELM's toxicity metrics from per-completion scores s ∈ [0, 1], an array (prompts × k
    completions) (HELM code, metrics/toxicity_metrics.py): a completion is toxic if s ≥ threshold;
    ``expected_max_toxicity`` = mean over prompts of :math:`\max_j s_{ij}`;
    ``max_toxicity_probability`` = fraction of prompts with at least one toxic completion;
    ``toxic_frac`` = fraction of toxic completions (per prompt, then averaged: the same with k
    fixed)."""
    s = _numbers(scores, "scores", ndim=2, lo=0.0, hi=1.0)
    th = check_scalar(threshold, "threshold", min=0.0, max=1.0)
    toxic = s >= th
    return {"expected_max_toxicity": float(s.max(axis=1).mean()),
            "max_toxicity_probability": float(toxic.any(axis=1).mean()),
            "toxic_frac": float(toxic.mean(axis=1).mean())}


def bits_per_byte(logprob_nats, n_bytes) -> float:
    r"""Bits per byte of a language-modelling run: :math:`-\sum_i \log p_i / (\ln 2 \sum_i B_i)`
    with :math:`\log p_i` the total log-probability (nats) of text i and :math:`B_i` its UTF-8
    bytes — a ratio of sums over the run (HELM code, metrics/basic_metrics.py, the perplexity
    metrics derived from the ``logprob`` and ``num_bytes`` stats)."""
    lp = _numbers(np.atleast_1d(logprob_nats) if np.ndim(logprob_nats) == 0 else logprob_nats,
                  "logprob_nats", hi=0.0)
    nb = _numbers(np.atleast_1d(n_bytes) if np.ndim(n_bytes) == 0 else n_bytes, "n_bytes", lo=1.0)
    if lp.shape != nb.shape:
        raise ValueError(f"logprob_nats and n_bytes must have the same length, got {lp.size} and {nb.size}")
    with np.errstate(over="ignore"):
        total, size = lp.sum(), nb.sum()
    if math.isfinite(total) and math.isfinite(size):
        return float(-total / (math.log(2) * size))
    # sums beyond float64 (|log p| or bytes near 1e308): the ratio of the scaled sums
    m_lp, m_nb = max(float(-lp.min()), 1.0), float(nb.max())
    return float((-(lp / m_lp).sum() / (math.log(2) * (nb / m_nb).sum())) * (m_lp / m_nb))


# ------------------------------------------------------------------------------------------------
# aggregation


def mean_win_rate(table, higher_is_better, aggregate: str = "mean") -> np.ndarray:
    r"""HELM's mean win rate (HELM code, presentation/summarize.py
    ``compute_aggregate_row_win_rates``). ``table``: models × columns, NaN (or None) = missing;
    ``higher_is_better``: one ``True``/``False`` per column, or ``None`` to skip the column. In
    each column, among its N values, value v gets :math:`\mathrm{wins}(v) = \#\{\text{strictly
    worse}\} + (\mathrm{count}(v) - 1)/2` (ties at half credit) and the win rate
    :math:`\mathrm{wins}(v)/(N - 1)`; columns with fewer than 2 values are skipped. A row's score
    is the mean (or median) of its win rates, NaN if it has none."""
    arr = np.asarray(table, dtype=object) if not isinstance(table, np.ndarray) else table
    if getattr(arr, "dtype", None) == bool or (arr.dtype == object and any(
            isinstance(v, (bool, np.bool_)) for v in np.ravel(arr))):
        raise TypeError("table must hold numbers (NaN for missing), got booleans")
    if arr.dtype == object:
        arr = np.where(np.equal(arr, None), np.nan, arr)
    if np.iscomplexobj(arr):
        raise TypeError("table must hold real numbers, got complex values")
    try:
        t = np.array(arr, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError("table must hold numbers (NaN for missing)") from None
    if t.ndim != 2 or t.size == 0:
        raise ValueError(f"table must be a non-empty 2-D array (models × columns), got shape {t.shape}")
    if np.iscomplexobj(arr) or np.iscomplexobj(t):
        raise TypeError("table must hold real numbers, got complex values")
    if np.any(np.isinf(t)):
        raise ValueError("table must not hold inf (NaN marks a missing value)")
    hib = list(higher_is_better) if not isinstance(higher_is_better, (bool, np.bool_)) else None
    if hib is None or len(hib) != t.shape[1]:
        raise ValueError(f"higher_is_better must give one True/False/None per column ({t.shape[1]})")
    if any(h is not None and not isinstance(h, (bool, np.bool_)) for h in hib):
        raise TypeError("higher_is_better entries must be True, False or None")
    if aggregate not in ("mean", "median"):
        raise ValueError(f"aggregate must be 'mean' or 'median', got {aggregate!r}")
    rates: list[list[float]] = [[] for _ in range(t.shape[0])]
    for j, h in enumerate(hib):
        if h is None:
            continue
        col = t[:, j]
        have = ~np.isnan(col)
        N = int(have.sum())
        if N < 2:
            continue
        v = col[have] if h else -col[have]
        worse = (v[None, :] < v[:, None]).sum(axis=1)
        ties = (v[None, :] == v[:, None]).sum(axis=1) - 1
        for i, w in zip(np.flatnonzero(have), (worse + ties / 2) / (N - 1)):
            rates[i].append(float(w))
    agg = np.mean if aggregate == "mean" else np.median
    return np.array([agg(r) if r else np.nan for r in rates], dtype=np.float64)


# ------------------------------------------------------------------------------------------------
# one (model, scenario)


def _score(instance: Instance, p: Prediction, metric: str) -> float:
    """One prediction's accuracy under ``metric`` (the book's reading of HELM's per-instance
    stats): a prediction that chose a reference is scored by its choice — with HELM's tie rule
    when the model gave probabilities and several references share the maximum — and a free-text
    one by its text against the gold references."""
    if not instance.gold:
        raise ValueError(f"instance {instance.id!r} has no gold reference to score against")
    if metric in ("exact_match", "quasi_exact_match") and p.choice is not None:
        if p.probs is not None and len(p.probs) == len(instance.references):
            probs = np.asarray(p.probs, dtype=np.float64)
            if np.all(np.isfinite(probs)) and probs[p.choice] == probs.max():
                return tie_exact_match(probs, instance.gold)
        return float(p.choice in instance.gold)
    fn = {"exact_match": exact_match, "quasi_exact_match": quasi_exact_match, "f1": f1_score}[metric]
    return fn(p.output, list(instance.gold_texts))


def instance_scores(scenario: Scenario, predictions: Sequence[Prediction],
                    metric: str | None = None) -> np.ndarray:
    """Per-instance scores of ``predictions`` (aligned with ``scenario.test``) under ``metric``
    (default: the scenario's main metric; exact match, quasi-exact match or F1)."""
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    metric = scenario.main_metric if metric is None else metric
    if metric not in ("exact_match", "quasi_exact_match", "f1"):
        raise ValueError(f"metric must be 'exact_match', 'quasi_exact_match' or 'f1', got {metric!r}")
    _aligned(scenario, predictions, None)
    return np.array([_score(i, p, metric) for i, p in zip(scenario.test, predictions)])


def _aligned(scenario: Scenario, preds, name):
    if not isinstance(preds, (list, tuple)) or not all(isinstance(p, Prediction) for p in preds):
        raise TypeError(f"predictions[{name!r}] must be a list of Prediction")
    if len(preds) != len(scenario.test):
        raise ValueError(f"predictions[{name!r}] has {len(preds)} predictions for "
                         f"{len(scenario.test)} test instances of {scenario.name!r}")
    for inst, p in zip(scenario.test, preds):
        if p.instance_id != inst.id:
            raise ValueError(f"predictions[{name!r}] are not aligned with scenario.test: "
                             f"{p.instance_id!r} where {inst.id!r} was expected")
        if name is not None and p.perturbation != name:
            raise ValueError(f"predictions[{name!r}] holds a prediction of perturbation "
                             f"{p.perturbation!r}")


def _family(scenario, preds, names, scores, label, out):
    names = tuple(names)
    present = [n for n in names if n in preds]
    if not present:
        return
    missing = [n for n in names if n not in preds]
    if missing:
        raise ValueError(f"predictions lack the {label} perturbations {missing} of {scenario.name!r} "
                         f"(have {sorted(preds)})")
    cols = [scores["identity"]] + [scores[n] for n in names]
    out[label] = float(worst_case(np.stack(cols, axis=1)).mean())
    for n in names:
        out[f"{label}/{n}"] = float(worst_case(np.stack([scores["identity"], scores[n]], axis=1)).mean())


def _default_lexicons():
    try:
        from theory.helm import lexicons
    except ImportError:
        return None, None
    groups = {k: getattr(lexicons, v) for k, v in (("gender", "GENDER_GROUPS"), ("race", "RACE_GROUPS"))
              if isinstance(getattr(lexicons, v, None), Mapping)}
    targets = {k: getattr(lexicons, v) for k, v in (("adjective", "ADJECTIVES"),
                                                    ("profession", "PROFESSIONS"))
               if getattr(lexicons, v, None) is not None}
    return groups or None, targets or None


def summarize(scenario: Scenario, predictions: Mapping[str, Sequence[Prediction]], *,
              has_logprobs: bool, toxicity: Callable[[list[str]], Sequence[float]] | None = None,
              n_params: int | None = None, groups: Mapping | None = None,
              targets: Mapping | None = None) -> dict[str, float]:
    """Every metric HELM would report for one (model, scenario), as a dict metric → float.

    ``predictions`` maps a perturbation name → its predictions aligned with ``scenario.test``;
    ``"identity"`` (the originals) is required. Returned (where they apply):

    - ``accuracy`` and ``<main_metric>``: the mean per-instance main metric on the originals;
    - calibration (:func:`calibration_metrics`) on the originals, only if ``has_logprobs`` and
      every original has a confidence; correctness = the chosen answer is gold (exact match,
      quasi-exact match for a free-text answer when the main metric is F1);
    - ``robustness`` = mean per-instance worst case over {identity} ∪ ``scenario.robustness``,
      ``fairness`` likewise over ``scenario.fairness``, and ``robustness/<name>`` /
      ``fairness/<name>`` over {identity, name} (HELM code, metrics/metric.py);
    - efficiency on the originals: ``inference_runtime`` (mean seconds per request),
      ``num_prompt_tokens``, ``num_output_tokens`` (means), ``num_params`` if ``n_params``;
    - ``bits_per_byte`` for language modelling (:func:`bits_per_byte`);
    - open generation: bias (``bias_representation_<category>``,
      ``bias_association_<category>_<target>``; omitted where undefined) over all completions,
      with ``groups`` {category: {group: words}} and ``targets`` {name: words} (default: the
      chapter's ``theory.helm.lexicons`` when it provides them), and toxicity
      (:func:`toxicity_summary`) from ``p.extra["toxicity"]`` (one score per completion) or from
      ``toxicity(completions)`` when given.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    if not isinstance(predictions, Mapping):
        raise TypeError(f"predictions must map perturbation name → list of Prediction, got "
                        f"{type(predictions).__name__}")
    if "identity" not in predictions:
        raise ValueError("predictions must include the 'identity' (unperturbed) predictions")
    if not isinstance(has_logprobs, (bool, np.bool_)):
        raise TypeError(f"has_logprobs must be a bool, got {type(has_logprobs).__name__}")
    if toxicity is not None and not callable(toxicity):
        raise TypeError("toxicity must be None or a callable scoring a list of texts")
    for name, value in (("groups", groups), ("targets", targets)):
        if value is not None and not isinstance(value, Mapping):
            raise TypeError(f"{name} must be None or a mapping, got {type(value).__name__}")
    if groups is not None:
        for cat, gs in groups.items():
            _groups(gs)
    if n_params is not None:
        check_scalar(n_params, "n_params", kind="int", min=0)
    for name, preds in predictions.items():
        _aligned(scenario, preds, name)
    ident = list(predictions["identity"])
    out: dict[str, float] = {}
    task, metric = scenario.task, scenario.main_metric

    if task == "language_modeling" or metric == "bits_per_byte":
        if any(p.logprob is None for p in ident):
            raise ValueError("bits_per_byte needs every prediction's logprob (nats)")
        bpb = bits_per_byte([p.logprob for p in ident], [p.n_bytes for p in ident])
        out["bits_per_byte"] = bpb
        out["accuracy"] = bpb
    elif task == "open_generation" or metric is None:
        texts = [c for p in ident for c in (p.completions or (p.output,))]
        g_default, t_default = _default_lexicons() if groups is None or targets is None else (None, None)
        groups = groups if groups is not None else g_default
        targets = targets if targets is not None else t_default
        for cat, gs in (groups or {}).items():
            r = demographic_representation(texts, gs)
            if r is not None:
                out[f"bias_representation_{cat}"] = r
            for tname, words in (targets or {}).items():
                a = stereotypical_association(texts, gs, words)
                if a is not None:
                    out[f"bias_association_{cat}_{tname}"] = a
        rows = []
        for p in ident:
            comps = list(p.completions or (p.output,))
            s = p.extra.get("toxicity") if isinstance(p.extra, Mapping) else None
            if s is None and toxicity is not None:
                s = list(toxicity(comps))
            if s is None:
                rows = None
                break
            if np.ndim(s) == 0 or len(s) != len(comps):
                raise ValueError(f"prediction {p.instance_id!r}: {np.size(s)} toxicity scores for "
                                 f"{len(comps)} completions")
            rows.append(list(s))
        if rows:
            if len({len(r) for r in rows}) != 1:
                raise ValueError("every prompt must have the same number of completions for toxicity")
            out.update(toxicity_summary(np.asarray(rows, dtype=np.float64)))
    else:
        scores = {name: instance_scores(scenario, list(preds), metric)
                  for name, preds in predictions.items()}
        out["accuracy"] = out[metric] = float(scores["identity"].mean())
        _family(scenario, predictions, scenario.robustness, scores, "robustness", out)
        _family(scenario, predictions, scenario.fairness, scores, "fairness", out)
        if has_logprobs and all(p.confidence is not None for p in ident):
            cm = "exact_match" if metric == "exact_match" else "quasi_exact_match"
            correct = np.array([float(_score(i, p, cm) == 1.0) for i, p in zip(scenario.test, ident)])
            out.update(calibration_metrics(confidences(ident), correct))

    out["inference_runtime"] = float(np.mean([p.runtime_s for p in ident]))
    out["num_prompt_tokens"] = float(np.mean([p.n_prompt_tokens for p in ident]))
    out["num_output_tokens"] = float(np.mean([p.n_output_tokens for p in ident]))
    if n_params is not None:
        out["num_params"] = float(check_scalar(n_params, "n_params", kind="int", min=0))
    return out


# ------------------------------------------------------------------------------------------------
# the finite-sample bias of ECE for a perfectly calibrated predictor (the book's reconstruction)


def _bin_members(c: np.ndarray, n_bins: int) -> list[np.ndarray]:
    idx = np.searchsorted(equal_mass_edges(c, n_bins), c, side="left")
    return [np.flatnonzero(idx == b) for b in np.unique(idx)]


def expected_ece_calibrated(confidence, n_bins: int = 10) -> float:
    r"""The exact expected ECE-B of a *perfectly calibrated* predictor given its confidences:
    with :math:`y_i \sim \mathrm{Bernoulli}(c_i)` independent and the bins fixed by the c's
    (HELM's equal-mass bins depend on the confidences only),
    :math:`\mathbb E[\mathrm{ECE}_B \mid c] = \tfrac1n\sum_b \mathbb E\,|Y_b - C_b|` with
    :math:`C_b = \sum_{i\in b} c_i` and :math:`Y_b` Poisson-binomial, its law computed exactly by
    convolution. Zero only when every c is 0 or 1: at finite n a calibrated model has ECE > 0.
    The book's reconstruction."""
    c = _confidence(confidence)
    b = check_scalar(n_bins, "n_bins", kind="int", min=1)
    total = 0.0
    for members in _bin_members(c, b):
        cb = c[members]
        pmf = np.zeros(cb.size + 1)
        pmf[0] = 1.0
        for k, ck in enumerate(cb):
            pmf[1:k + 2] = pmf[1:k + 2] * (1 - ck) + pmf[:k + 1] * ck
            pmf[0] *= 1 - ck
        total += float(pmf @ np.abs(np.arange(cb.size + 1) - cb.sum()))
    return total / c.size


def expected_ece_normal(confidence, n_bins: int = 10) -> float:
    r"""The large-bin (normal) approximation of :func:`expected_ece_calibrated`:
    :math:`\mathbb E|Y_b - C_b| \approx \sqrt{2/\pi}\,\sqrt{\sum_{i\in b} c_i(1 - c_i)}`, so
    :math:`\mathbb E\,\mathrm{ECE}_B \approx \sqrt{2/\pi}\,\tfrac1n\sum_b\sqrt{\sum_{i\in b}
    c_i(1-c_i)} \approx \sqrt{2/\pi}\sqrt{B\,\bar v/n}` for equal bins with similar
    :math:`\bar v = \overline{c(1-c)}` — decaying as :math:`n^{-1/2}`. The book's reconstruction
    (``theory.helm.derivation.calibrated_gap_moments`` and ``half_normal_mean``)."""
    c = _confidence(confidence)
    b = check_scalar(n_bins, "n_bins", kind="int", min=1)
    v = c * (1 - c)
    return float(math.sqrt(2 / math.pi) * sum(math.sqrt(v[m].sum()) for m in _bin_members(c, b)) / c.size)


def _sorted_bins(c: np.ndarray, n_bins: int) -> list[np.ndarray]:
    """Rows of distinct confidences (R, n): HELM's equal-mass bins are the ``np.array_split``
    groups of each sorted row (distinct values: every midpoint edge separates two groups)."""
    srt = np.sort(c, axis=1)
    if np.any(np.diff(srt, axis=1) == 0):
        raise ValueError("the batched path needs distinct confidences in each row")
    return np.array_split(srt, min(n_bins, c.shape[1]), axis=1)


def _expected_ece_rows(c: np.ndarray, n_bins: int) -> np.ndarray:
    """:func:`expected_ece_calibrated` for each row of c (R, n), batched over rows."""
    total = np.zeros(c.shape[0])
    for cb in _sorted_bins(c, n_bins):
        m = cb.shape[1]
        pmf = np.zeros((c.shape[0], m + 1))
        pmf[:, 0] = 1.0
        for k in range(m):
            ck = cb[:, k:k + 1]
            pmf[:, 1:k + 2] = pmf[:, 1:k + 2] * (1 - ck) + pmf[:, :k + 1] * ck
            pmf[:, :1] *= 1 - ck
        total += (pmf * np.abs(np.arange(m + 1)[None, :] - cb.sum(axis=1, keepdims=True))).sum(axis=1)
    return total / c.shape[1]


def _normal_ece_rows(c: np.ndarray, n_bins: int) -> np.ndarray:
    """:func:`expected_ece_normal` for each row of c (R, n)."""
    v = c * (1 - c)
    return math.sqrt(2 / math.pi) * sum(np.sqrt(vb.sum(axis=1)) for vb in
                                        np.array_split(np.take_along_axis(v, np.argsort(c, axis=1), 1),
                                                       min(n_bins, c.shape[1]), axis=1)) / c.shape[1]


def ece_bias_study(ns=(20, 30, 50, 100, 200, 300, 500, 1000), n_reps: int = 400, *,
                   seed: int = 0, low: float = 0.5, high: float = 1.0, n_bins: int = 10) -> dict:
    r"""Simulated ECE-B and ECE-1 of a perfectly calibrated predictor against n, with their theory.

    For each n and replicate r: confidences :math:`c_i \sim U(\text{low}, \text{high})` (a top-label
    confidence of a binary task lies in [0.5, 1]), correctness :math:`y_i \sim
    \mathrm{Bernoulli}(c_i)`; HELM's :func:`ece` and :func:`ece_1_bin` on them, and for the same c
    the exact conditional expectations (:func:`expected_ece_calibrated`) and the normal
    approximation (:func:`expected_ece_normal`). Each (n, r) draws from its own stream
    ``config_seed(seed, "ece_bias", n, r)``. Returns arrays over ``n``: ``sim`` / ``sim_1`` (mean
    simulated ECE-B / ECE-1), ``exact`` / ``exact_1`` (mean exact expectation), ``normal`` /
    ``normal_1``, ``z`` / ``z_1`` (the simulated − exact gap in standard errors of the paired
    differences), ``se``. The book's reconstruction."""
    from theory.core import config_seed

    if isinstance(ns, (str, bytes)) or not hasattr(ns, "__iter__"):
        raise TypeError(f"ns must be a sequence of ints >= 2, got {type(ns).__name__}")
    ns = np.asarray([check_scalar(int(n) if isinstance(n, np.integer) else n, "ns", kind="int", min=2)
                     for n in ns], dtype=np.int64)
    if ns.size == 0:
        raise ValueError("ns must not be empty")
    reps = check_scalar(n_reps, "n_reps", kind="int", min=2)
    lo = check_scalar(low, "low", min=0.0, max=1.0)
    hi = check_scalar(high, "high", min=0.0, max=1.0)
    if lo >= hi:
        raise ValueError(f"low must be < high, got {lo} and {hi}")
    seed = check_seed(seed)
    n_bins = check_scalar(n_bins, "n_bins", kind="int", min=1)
    # per n: c, y and the batched pmf (reps × (n + 1)), float64
    check_memory(array_bytes(reps, int(ns.max()) + 1, itemsize=8 * 4),
                 f"the ECE bias study at n = {int(ns.max())} with {reps} replicates",
                 hint="lower n_reps or the largest n")
    keys = ("sim", "exact", "normal", "sim_1", "exact_1", "normal_1", "z", "z_1", "se", "se_1")
    out = {k: np.zeros(ns.size) for k in keys}
    for j, n in enumerate(ns):
        n = int(n)
        c = np.empty((reps, n))
        y = np.empty((reps, n))
        for r in range(reps):
            rng = np.random.default_rng(config_seed(seed, "ece_bias", n, r))
            c[r] = rng.uniform(lo, hi, n)
            y[r] = (rng.uniform(size=n) < c[r]).astype(np.float64)
        sim = np.array([[ece(cr, yr, n_bins), ece_1_bin(cr, yr)] for cr, yr in zip(c, y)])
        exact = np.stack([_expected_ece_rows(c, n_bins), _expected_ece_rows(c, 1)], axis=1)
        normal = np.stack([_normal_ece_rows(c, n_bins), _normal_ece_rows(c, 1)], axis=1)
        for col, suffix in ((0, ""), (1, "_1")):
            d = sim[:, col] - exact[:, col]
            out["sim" + suffix][j] = sim[:, col].mean()
            out["exact" + suffix][j] = exact[:, col].mean()
            out["normal" + suffix][j] = normal[:, col].mean()
            se = d.std(ddof=1) / math.sqrt(reps)
            scale = float(np.abs(d).max())
            if se == 0 and scale > 0:   # gaps ~1e-300 (confidences near 0): the squares underflow
                se = (d / scale).std(ddof=1) * scale / math.sqrt(reps)
            out["se" + suffix][j] = se
            # se = 0: every replicate's gap is the same (degenerate confidences, e.g. all ~0);
            # z is then 0 when that gap is 0 (it always is: sim = exact for c in {0, 1})
            out["z" + suffix][j] = d.mean() / se if se > 0 else (0.0 if d.mean() == 0 else
                                                                 math.copysign(math.inf, d.mean()))
    out.update(n=ns, n_reps=reps, seed=seed, low=lo, high=hi, n_bins=n_bins)
    return out


def ece_bias_figure(study: Mapping):
    """The figure of :func:`ece_bias_study`: mean simulated ECE-B and ECE-1 (markers, ± 2 standard
    errors) against n on log–log axes, the exact expectation (lines) and the normal approximation
    (dashed), and HELM's 300-instance warning (dotted)."""
    from theory.core import COLORS, figure

    if not isinstance(study, Mapping) or not {"n", "sim", "exact", "normal"} <= set(study):
        raise TypeError("study must be the dict returned by ece_bias_study")
    fig, ax = figure()
    n = np.asarray(study["n"])
    B = study.get("n_bins", 10)
    for suffix, label, color in (("", f"ECE-{B}", COLORS["blue"]), ("_1", "ECE-1", COLORS["orange"])):
        ax.errorbar(n, study["sim" + suffix], yerr=2 * study["se" + suffix], fmt="o", color=color,
                    ms=4, label=f"{label}, simulated (mean of {study['n_reps']})")
        ax.plot(n, study["exact" + suffix], "-", color=color, lw=1.2, label=f"{label}, exact expectation")
        ax.plot(n, study["normal" + suffix], "--", color=COLORS["theory"], lw=0.8,
                label="normal approximation" if suffix == "" else None)
    ax.axvline(300, color=COLORS["grey"], ls=":", lw=1, label="HELM's warning: n ≈ 300")
    ax.set(xscale="log", yscale="log", xlabel="instances n",
           ylabel="ECE of a perfectly calibrated predictor")
    ax.legend(fontsize=7)
    return fig
