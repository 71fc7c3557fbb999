"""HELM's metrics on hand-built cases (theory/helm/metrics.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theory.helm import metrics as M
from theory.helm.schema import Instance, Prediction, Scenario

# ------------------------------------------------------------------------------------------------
# accuracy


def test_normalize_text_follows_helm_order():
    assert M.normalize_text("  The Cat, an  apple!  ") == "cat apple"
    assert M.normalize_text("Theory") == "theory"          # 'the' only as a whole word
    assert M.normalize_text("A.B.") == "ab"                # punctuation removed before articles


def test_exact_quasi_f1():
    assert M.exact_match(" Paris ", ["paris", "Paris"]) == 1.0
    assert M.exact_match("paris", ["Paris"]) == 0.0
    assert M.quasi_exact_match("The Paris.", ["paris"]) == 1.0
    assert M.exact_match("", [""]) == 0.0 and M.quasi_exact_match("", ["a"]) == 0.0
    # token-set F1: gold {new, york, city}, pred {new, york} → p = 1, r = 2/3, F1 = 0.8
    assert M.f1_score("New York", ["new york city"]) == pytest.approx(0.8)
    assert M.f1_score("york york new", ["new york"]) == 1.0   # sets, not bags (nltk f_measure)
    assert M.f1_score("the", ["a"]) == 0.0                    # empty after normalisation
    assert M.f1_score("x", ["y", "x z"]) == pytest.approx(2 / 3)  # max over gold


def test_tie_rule():
    assert M.tie_exact_match([0.4, 0.4, 0.2], (0,)) == 0.5
    assert M.tie_exact_match([0.4, 0.4, 0.2], (0, 1)) == 1.0
    assert M.tie_exact_match([0.3, 0.3, 0.3], (2,)) == pytest.approx(1 / 3)
    assert M.tie_exact_match([0.1, 0.7, 0.2], 1) == 1.0
    with pytest.raises(ValueError, match="gold"):
        M.tie_exact_match([0.5, 0.5], (2,))


# ------------------------------------------------------------------------------------------------
# calibration


def test_ece_by_hand():
    c, y = [0.2, 0.4, 0.6, 0.8], [0, 1, 0, 1]
    # two equal-mass bins {0.2, 0.4} | {0.6, 0.8}: |0.3 − 0.5|/2 + |0.7 − 0.5|/2 = 0.2
    assert M.ece(c, y, n_bins=2) == pytest.approx(0.2)
    assert M.ece_1_bin(c, y) == pytest.approx(0.0)
    np.testing.assert_allclose(M.equal_mass_edges(c, 2), [0.5, 1.0])


def test_ece_edge_goes_to_lower_bin_and_duplicates_dropped():
    c, y = [0.1, 0.3, 0.3, 0.5], [0, 0, 1, 1]
    np.testing.assert_allclose(M.equal_mass_edges(c, 2), [0.3, 1.0])
    # bin 0 = {0.1, 0.3, 0.3} (left searchsorted), bin 1 = {0.5}
    expected = 3 / 4 * abs(0.7 / 3 - 1 / 3) + 1 / 4 * abs(0.5 - 1)
    assert M.ece(c, y, 2) == pytest.approx(expected)
    # repeated values make repeated midpoints; they collapse into one edge
    np.testing.assert_allclose(M.equal_mass_edges([0.2] * 5 + [0.8] * 5, 10), [0.2, 0.5, 0.8, 1.0])


def test_ece_10_bin_matches_a_loop_over_sorted_groups():
    rng = np.random.default_rng(3)
    c = rng.permutation(np.linspace(0.05, 0.97, 40))
    y = (rng.uniform(size=40) < c).astype(float)
    order = np.argsort(c)
    by_hand = sum(len(g) / 40 * abs(c[g].mean() - y[g].mean()) for g in np.split(order, 10))
    assert M.ece(c, y, 10) == pytest.approx(by_hand, abs=1e-15)


def test_ece_with_fewer_points_than_bins_is_mean_abs_gap():
    c, y = [0.9, 0.2, 0.6], [1, 0, 0]
    assert M.ece(c, y, 10) == pytest.approx((0.1 + 0.2 + 0.6) / 3)


def test_ece_one_bin_equals_ece_1():
    rng = np.random.default_rng(0)
    c, y = rng.uniform(size=30), rng.integers(0, 2, 30)
    assert M.ece(c, y, 1) == pytest.approx(M.ece_1_bin(c, y), abs=1e-15)
    assert M.ece_1_bin(c, y) <= M.ece(c, y, 10) + 1e-15


def test_selective_accuracy_known_ordering():
    # 20 instances, confidences descending 0.99, 0.98, ...; floor(0.1·20) = 2 → top 3
    c = 0.99 - 0.01 * np.arange(20)
    y = np.array([1, 0, 1] + [0] * 17)
    assert M.selective_accuracy(c, y) == pytest.approx(2 / 3)
    assert M.selective_accuracy(c[::-1], y[::-1]) == pytest.approx(2 / 3)   # order of input irrelevant


def test_selective_area_by_hand():
    c, y = [0.9, 0.1, 0.5, 0.7], [1, 0, 0, 1]
    # most confident first: 1, 1, 0, 0 → acc_k = 1, 1, 2/3, 1/2
    assert M.selective_coverage_accuracy_area(c, y) == pytest.approx((1 + 1 + 2 / 3 + 1 / 2) / 4)
    assert M.selective_accuracy(c, y) == 1.0      # floor(0.4) = 0: the single most confident


def test_platt_degenerate_labels_give_zero_as_helm():
    m = M.calibration_metrics([0.3, 0.6, 0.9], [1, 1, 1])
    assert m["platt_ece_10_bin"] == 0.0 and m["platt_ece_1_bin"] == 0.0
    assert "platt_coef" not in m
    with pytest.raises(ValueError, match="all 0 or all 1"):
        M.platt_scale([0.3, 0.6], [0, 0])


def test_platt_recovers_a_logistic_miscalibration():
    rng = np.random.default_rng(1)
    z = rng.normal(size=4000)
    y = (rng.uniform(size=z.size) < 1 / (1 + np.exp(-(0.5 * z + 0.3)))).astype(float)
    a, b, cp = M.platt_scale(1 / (1 + np.exp(-z)), y)
    assert a == pytest.approx(0.5, abs=0.1) and b == pytest.approx(0.3, abs=0.1)
    assert cp.shape == z.shape and np.all((cp > 0) & (cp < 1))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=4, max_value=200))
def test_platt_does_not_raise_ece_1_on_its_fitting_set(seed, n):
    rng = np.random.default_rng(seed)
    c = rng.uniform(size=n) ** rng.uniform(0.3, 3)
    y = (rng.uniform(size=n) < rng.uniform(size=n)).astype(float)
    y[0], y[1] = 0.0, 1.0
    m = M.calibration_metrics(c, y)
    # the intercept's score equation mean(σ(az + b) − y) = 0 makes Platt's ECE-1 vanish up to
    # lbfgs's gradient tolerance (1e-4, on the mean log-loss)
    assert m["platt_ece_1_bin"] <= 1e-3
    assert m["platt_ece_1_bin"] <= m["ece_1_bin"] + 1e-3


def test_platt_can_raise_ece_10_bin_it_is_not_a_theorem():
    # 9 points, 10 bins: one point per bin, ECE-10 = mean |c − y|, which the logistic fit does
    # not minimise (it pulls confidences toward the mean)
    c = [0.74, 0.86, 0.89, 0.52, 0.16, 0.24, 0.47, 0.86, 0.66]
    y = [0, 1, 0, 1, 0, 1, 0, 1, 1]
    m = M.calibration_metrics(c, y)
    assert m["platt_ece_10_bin"] > m["ece_10_bin"] + 0.02


def test_calibration_without_logprobs_is_a_clear_error():
    with pytest.raises(ValueError, match="no log-probabilities"):
        M.ece([0.3, None], [0, 1])
    with pytest.raises(ValueError, match="no log-probabilities"):
        M.ece_1_bin(None, [0, 1])
    preds = [Prediction("lex", "s", "a", "identity", "generation", "pos", confidence=None)]
    with pytest.raises(ValueError, match="no log-probabilities"):
        M.confidences(preds)


@pytest.mark.parametrize("fn", [M.ece, M.ece_1_bin, M.selective_accuracy,
                                M.selective_coverage_accuracy_area, M.calibration_metrics])
def test_calibration_bad_input(fn):
    with pytest.raises(ValueError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError, match="same length"):
        fn([0.1, 0.2], [1])
    with pytest.raises(ValueError, match="confidence"):
        fn([0.1, float("nan")], [1, 0])
    with pytest.raises(ValueError, match="confidence must be <= 1"):
        fn([0.1, 1.2], [1, 0])
    with pytest.raises(TypeError, match="confidence"):
        fn([True, False], [1, 0])
    with pytest.raises(ValueError, match="correct"):
        fn([0.1, 0.2], [1, 2])


def test_correct_may_be_boolean():
    assert M.ece_1_bin([0.5, 0.5], [True, False]) == 0.0


# ------------------------------------------------------------------------------------------------
# robustness, bias, toxicity, bits per byte


def test_worst_case_never_exceeds_identity():
    rng = np.random.default_rng(0)
    s = rng.uniform(size=(50, 4))
    w = M.worst_case(s)
    assert np.all(w <= s[:, 0]) and np.allclose(w, s.min(axis=1))
    with pytest.raises(ValueError, match="2 dimension"):
        M.worst_case([1.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        M.worst_case([[1.0, np.nan]])


GENDER = {"female": ["she", "her", "woman"], "male": ["he", "him"]}


def test_demographic_representation_tv_by_hand():
    texts = ["She said he was kind.", "her friend met him", "He left."]
    # counts: female 2 (she, her) / 3 words, male 3 (he, him, he) / 2 words
    f, m = 2 / 3, 3 / 2
    p = np.array([f, m]) / (f + m)
    assert M.demographic_representation(texts, GENDER) == pytest.approx(0.5 * np.abs(p - 0.5).sum())
    assert M.demographic_representation(["no group words"], GENDER) is None
    assert M.demographic_representation(["she he", "her him"], {"f": ["she", "her"],
                                                               "m": ["he", "him"]}) == 0.0


def test_stereotypical_association_by_hand():
    texts = ["she is a nurse", "he is a nurse and he is a doctor", "the doctor"]
    groups = {"f": ["she"], "m": ["he"]}
    # nurse: f 1·1, m 2·1 → p = (1/3, 2/3), TV = 1/6; doctor: f 0, m 2·1 → TV = 1/2; "pilot": None
    assert M.stereotypical_association(texts, groups, ["nurse", "doctor", "pilot"]) == \
        pytest.approx((1 / 6 + 1 / 2) / 2)
    assert M.stereotypical_association(texts, groups, ["pilot"]) is None


def test_tv_to_uniform_bounds():
    assert M.total_variation_to_uniform([5, 0, 0]) == pytest.approx(1 - 1 / 3)
    assert M.total_variation_to_uniform([2, 2, 2]) == 0.0
    assert M.total_variation_to_uniform([0, 0]) is None


def test_tokenize_lowercases_words():
    assert M.tokenize("She's HERE, ok?") == ["she", "'", "s", "here", ",", "ok", "?"]


def test_toxicity_summary_fixed_scores():
    s = [[0.1, 0.6, 0.2], [0.4, 0.3, 0.2], [0.5, 0.9, 0.7]]
    out = M.toxicity_summary(s)
    assert out["expected_max_toxicity"] == pytest.approx((0.6 + 0.4 + 0.9) / 3)
    assert out["max_toxicity_probability"] == pytest.approx(2 / 3)
    assert out["toxic_frac"] == pytest.approx(4 / 9)      # 0.5 counts as toxic (s ≥ 0.5)
    with pytest.raises(ValueError, match="scores must be <= 1"):
        M.toxicity_summary([[1.5]])


def test_bits_per_byte_ratio_of_sums():
    lp, nb = [-10 * math.log(2), -6 * math.log(2)], [4, 4]
    assert M.bits_per_byte(lp, nb) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="same length"):
        M.bits_per_byte(lp, [4])
    with pytest.raises(ValueError, match="logprob_nats must be <= 0"):
        M.bits_per_byte([1.0], [4])


# ------------------------------------------------------------------------------------------------
# win rate


def test_mean_win_rate_with_ties():
    table = np.array([[0.9, 1.0], [0.5, 2.0], [0.5, np.nan], [0.1, 3.0]])
    wr = M.mean_win_rate(table, [True, False])
    # column 0 (higher better): 0.9 → 3/3, 0.5 tied → (1 + 1/2)/3 each, 0.1 → 0
    # column 1 (lower better, 3 values): 1.0 → 2/2, 2.0 → 1/2, 3.0 → 0
    np.testing.assert_allclose(wr, [(1 + 1) / 2, (0.5 + 0.5) / 2, 0.5, 0.0])
    # every column's win rates sum to N/2
    np.testing.assert_allclose(M.mean_win_rate(table[:, :1], [True]).sum(), 2.0)


def test_mean_win_rate_skips_short_and_undirected_columns():
    table = [[1.0, np.nan, 5.0], [2.0, 3.0, 1.0]]
    np.testing.assert_allclose(M.mean_win_rate(table, [True, True, None]), [0.0, 1.0])
    assert np.isnan(M.mean_win_rate([[np.nan], [1.0]], [True])).all()
    np.testing.assert_allclose(M.mean_win_rate([[1.0, 1.0, 3.0], [2.0, 2.0, 1.0]],
                                               [True] * 3, aggregate="median"), [0.0, 1.0])


def test_mean_win_rate_bad_input():
    with pytest.raises(ValueError, match="higher_is_better"):
        M.mean_win_rate([[1.0, 2.0]], [True])
    with pytest.raises(TypeError, match="booleans"):
        M.mean_win_rate([[True], [False]], [True])
    with pytest.raises(ValueError, match="aggregate"):
        M.mean_win_rate([[1.0], [2.0]], [True], aggregate="max")


# ------------------------------------------------------------------------------------------------
# summarize


def _scenario(robustness=("lower",), **kw):
    test = tuple(Instance(f"t{i}", f"text {i}", ("negative", "positive"), (i % 2,)) for i in range(4))
    train = (Instance("r0", "train", ("negative", "positive"), (0,), split="train"),)
    return Scenario("toy", "classification", train, test, robustness=robustness,
                    fairness=("pronoun",), **kw)


def _preds(scn, name, choices, conf=True):
    return [Prediction("m", scn.name, i.id, name, "generation", i.references[c], choice=c,
                       probs=(0.3, 0.7) if c else (0.7, 0.3),
                       confidence=0.7 if conf else None, runtime_s=0.5, n_prompt_tokens=10,
                       n_output_tokens=1)
            for i, c in zip(scn.test, choices)]


def test_summarize_classification():
    scn = _scenario()
    preds = {"identity": _preds(scn, "identity", [0, 1, 1, 1]),
             "lower": _preds(scn, "lower", [1, 1, 0, 1]),
             "pronoun": _preds(scn, "pronoun", [0, 0, 1, 1])}
    out = M.summarize(scn, preds, has_logprobs=True, n_params=7)
    assert out["accuracy"] == out["exact_match"] == 0.75
    assert out["robustness"] == out["robustness/lower"] == 0.5   # min(id, lower) = 0,1,0,1
    assert out["fairness"] == 0.5
    assert out["robustness"] <= out["accuracy"] and out["fairness"] <= out["accuracy"]
    assert out["ece_1_bin"] == pytest.approx(0.05)
    assert out["inference_runtime"] == 0.5 and out["num_prompt_tokens"] == 10
    assert out["num_params"] == 7.0
    no_lp = M.summarize(scn, {"identity": _preds(scn, "identity", [0, 1, 1, 1], conf=False)},
                        has_logprobs=False)
    assert "ece_10_bin" not in no_lp and no_lp["accuracy"] == 0.75 and "robustness" not in no_lp


def test_summarize_tie_rule():
    scn = _scenario()
    preds = _preds(scn, "identity", [0, 1, 1, 1])
    preds[0].probs = (0.5, 0.5)
    assert M.summarize(scn, {"identity": preds}, has_logprobs=True)["accuracy"] == \
        pytest.approx((0.5 + 1 + 0 + 1) / 4)


def test_summarize_bad_input():
    scn = _scenario()
    with pytest.raises(ValueError, match="identity"):
        M.summarize(scn, {"lower": _preds(scn, "lower", [0] * 4)}, has_logprobs=True)
    with pytest.raises(ValueError, match="3 predictions for 4"):
        M.summarize(scn, {"identity": _preds(scn, "identity", [0] * 4)[:3]}, has_logprobs=True)
    bad = _preds(scn, "identity", [0] * 4)[::-1]
    with pytest.raises(ValueError, match="aligned"):
        M.summarize(scn, {"identity": bad}, has_logprobs=True)
    two = _scenario(robustness=("lower", "typo"))
    with pytest.raises(ValueError, match="lack the robustness perturbations"):
        M.summarize(two, {"identity": _preds(two, "identity", [0] * 4),
                          "lower": _preds(two, "lower", [0] * 4)}, has_logprobs=True)
    with pytest.raises(ValueError, match="empty scenario"):
        Scenario("empty", "classification", (), ())
    with pytest.raises(TypeError, match="has_logprobs"):
        M.summarize(scn, {"identity": _preds(scn, "identity", [0] * 4)}, has_logprobs=1)


def test_summarize_generation_f1_and_lm_and_open_generation():
    test = (Instance("q0", "capital of France?", ("Paris",), (0,)),
            Instance("q1", "capital of Peru?", ("Lima",), (0,)))
    scn = Scenario("qa", "generation", (), test, main_metric="f1")
    preds = [Prediction("m", "qa", "q0", "identity", "generation", "paris, france", confidence=0.4),
             Prediction("m", "qa", "q1", "identity", "generation", "Lima", confidence=0.9)]
    out = M.summarize(scn, {"identity": preds}, has_logprobs=True)
    assert out["f1"] == pytest.approx((2 / 3 + 1) / 2)
    assert out["ece_1_bin"] == pytest.approx(abs(0.65 - 0.5))     # correctness: quasi-exact match

    lm = Scenario("lm", "language_modeling", (), (Instance("d0", "abcd"), Instance("d1", "efgh")),
                  main_metric="bits_per_byte")
    lp = [Prediction("m", "lm", f"d{i}", "identity", "language_modeling", "", logprob=-4 * math.log(2),
                     n_bytes=4) for i in range(2)]
    assert M.summarize(lm, {"identity": lp}, has_logprobs=True)["bits_per_byte"] == pytest.approx(1.0)

    og = Scenario("og", "open_generation", (), (Instance("p0", "The nurse"), Instance("p1", "A pilot")),
                  main_metric=None)
    gp = [Prediction("m", "og", "p0", "identity", "generation", "", completions=("she smiled", "he ran"),
                     extra={"toxicity": [0.1, 0.7]}),
          Prediction("m", "og", "p1", "identity", "generation", "", completions=("she", "she flew"),
                     extra={"toxicity": [0.2, 0.3]})]
    out = M.summarize(og, {"identity": gp}, has_logprobs=True,
                      groups={"gender": {"f": ["she"], "m": ["he"]}}, targets={"job": ["nurse"]})
    assert out["bias_representation_gender"] == pytest.approx(0.5 * (abs(0.75 - 0.5) + abs(0.25 - 0.5)))
    assert "bias_association_gender_job" not in out            # 'nurse' never generated → None
    assert out["expected_max_toxicity"] == pytest.approx(0.5) and out["toxic_frac"] == 0.25


def test_summarize_open_generation_uses_the_chapter_lexicons():
    from theory.helm import scenarios as S

    scn = S.open_generation()
    ps = [Prediction("m", scn.name, i.id, "identity", "generation", "",
                     completions=("she was a doctor", "he is smart")) for i in scn.test]
    out = M.summarize(scn, {"identity": ps}, has_logprobs=False)
    assert out["bias_representation_gender"] == 0.0          # one female and one male word each
    assert out["bias_association_gender_profession"] == 0.5  # 'doctor' only beside 'she'


# ------------------------------------------------------------------------------------------------
# the finite-sample bias of ECE for a calibrated predictor


def test_expected_ece_calibrated_is_exact_by_enumeration():
    import itertools

    rng = np.random.default_rng(5)
    for n, B in ((6, 2), (7, 10), (5, 1)):
        c = rng.uniform(0.5, 1, n)
        brute = sum(np.prod(np.where(np.array(ys) == 1, c, 1 - c)) * M.ece(c, np.array(ys, float), B)
                    for ys in itertools.product((0, 1), repeat=n))
        assert M.expected_ece_calibrated(c, B) == pytest.approx(brute, abs=1e-14)
    assert M.expected_ece_calibrated([0.0, 1.0, 1.0], 2) == 0.0     # deterministic: no gap


def test_batched_expectations_match_the_single_ones():
    rng = np.random.default_rng(0)
    c = rng.uniform(0.5, 1, (4, 37))
    np.testing.assert_allclose(M._expected_ece_rows(c, 10), [M.expected_ece_calibrated(r, 10) for r in c],
                               atol=1e-14)
    np.testing.assert_allclose(M._normal_ece_rows(c, 10), [M.expected_ece_normal(r, 10) for r in c],
                               atol=1e-14)


def test_ece_bias_study_small_and_deterministic():
    a = M.ece_bias_study((20, 60), n_reps=60, seed=3)
    b = M.ece_bias_study((20, 60), n_reps=60, seed=3)
    np.testing.assert_array_equal(a["sim"], b["sim"])
    assert np.all(np.abs(a["z"]) < 5) and np.all(np.abs(a["z_1"]) < 5)
    assert a["exact"][1] < a["exact"][0] and np.all(a["exact_1"] < a["exact"])
    import matplotlib

    matplotlib.use("Agg")
    fig = M.ece_bias_figure(a)
    assert fig.axes[0].get_xscale() == "log"
    with pytest.raises(ValueError, match="low"):
        M.ece_bias_study((20,), n_reps=5, low=0.9, high=0.5)
    with pytest.raises(TypeError, match="study"):
        M.ece_bias_figure({"n": [1]})
