"""theory.helm.analysis: the page grids, adaptation sensitivity (choices, disagreement, paired
bootstrap, groups, reliability, positions), bits per byte recomputed, the runtime fit, the figures
and the errors — on hand-built predictions (no language model)."""

import math

import numpy as np
import pandas as pd
import pytest

from theory.helm import analysis as A
from theory.helm.schema import Adaptation, Instance, Prediction, Scenario


def mc_scenario(n=8):
    test = tuple(Instance(id=f"q{i}", input=f"question {i}?", references=("w", "x", "y", "z"),
                          gold=(i % 4,), meta=(("relation", "capital" if i % 2 else "currency"),))
                 for i in range(n))
    return Scenario(name="mc", task="multiple_choice", train=(), test=test)


def preds(scenario, choices, conf=None):
    out = []
    for k, (inst, c) in enumerate(zip(scenario.test, choices)):
        out.append(Prediction(model="m", scenario=scenario.name, instance_id=inst.id, perturbation="identity",
                              adaptation="a", output="" if c is None else inst.references[c], choice=c,
                              confidence=None if conf is None else conf[k]))
    return out


def test_choice_matrix_and_disagreement():
    sc = mc_scenario()
    gold = [i.gold[0] for i in sc.test]
    runs = {"right": preds(sc, gold), "always A": preds(sc, [0] * 8), "silent": preds(sc, [None] * 8)}
    c, y = A.choice_matrix(sc, runs)
    assert c.shape == y.shape == (8, 3)
    assert y[:, 0].tolist() == [1] * 8 and y[:, 1].tolist() == [float(g == 0) for g in gold]
    assert (c[:, 2] == -1).all() and y[:, 2].sum() == 0
    d = A.disagreement(c)
    assert np.allclose(np.diag(d), 0) and np.allclose(d, d.T)
    assert d[0, 1] == 6 / 8 and d[0, 2] == 1 and d[1, 2] == 1
    shares = A.position_shares(c, 4)
    assert np.allclose(shares.sum(axis=1), 1) and shares[1, 0] == 1 and shares[2, 4] == 1
    with pytest.raises(ValueError, match="expected 8"):
        A.choice_matrix(sc, {"short": preds(sc, gold)[:3]})


def test_paired_bootstrap_brackets_the_difference_and_is_seeded():
    rng = np.random.default_rng(1)
    a = (rng.random(200) < 0.7).astype(float)
    b = (rng.random(200) < 0.4).astype(float)
    d, lo, hi = A.paired_bootstrap(a, b, seed=3)
    assert math.isclose(d, a.mean() - b.mean()) and lo < d < hi and lo > 0
    assert A.paired_bootstrap(a, b, seed=3) == (d, lo, hi)
    same = A.paired_bootstrap(a, a)
    assert same == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="same length"):
        A.paired_bootstrap(a, b[:10])


def test_by_group_and_reliability():
    sc = mc_scenario()
    y = np.array([[1, 0], [0, 0], [1, 1], [1, 0], [0, 1], [1, 1], [1, 0], [0, 0]], dtype=float)
    g = A.by_group(sc, y, ["p", "q"], "relation")
    assert list(g.index) == ["capital", "currency"] and g.loc["capital", "n"] == 4
    assert g.loc["currency", "p"] == y[[0, 2, 4, 6], 0].mean()
    with pytest.raises(ValueError, match="metadata key"):
        A.by_group(sc, y, ["p", "q"], "nope")
    c = np.linspace(0.3, 0.9, 20)
    mc, acc, n = A.reliability(c, (c > 0.6).astype(float), n_bins=5)
    assert n.sum() == 20 and len(mc) == 5 and np.all(np.diff(mc) > 0)
    assert acc[0] == 0 and acc[-1] == 1


def test_adaptation_table_and_floor():
    sc = mc_scenario()
    gold = [i.gold[0] for i in sc.test]
    runs = {"a": preds(sc, gold, conf=[0.9] * 8), "b": preds(sc, [0] * 8, conf=[0.5] * 8)}
    summaries = {"a": {"accuracy": 1.0, "ece_10_bin": 0.1, "ece_1_bin": 0.1, "selective_acc@10": 1.0},
                 "b": {"accuracy": 0.25, "ece_10_bin": 0.25, "ece_1_bin": 0.25, "selective_acc@10": 0.0}}
    t = A.adaptation_table(sc, runs, summaries)
    assert list(t.index) == ["a", "b"] and t.loc["a", "mean_confidence"] == 0.9
    assert t.loc["b", "answered"] == 1.0 and 0 < t.loc["a", "ece_floor"] < 0.3
    with pytest.raises(ValueError, match="lacks"):
        A.adaptation_table(sc, runs, {"a": summaries["a"]})
    c, y = A.choice_matrix(sc, runs)
    fig = A.knowledge_figure(t, y, c, {"a": [0.9] * 8, "b": [0.5] * 8}, 4,
                             intervals={"a": (0.9, 1.0), "b": (0.1, 0.4)})
    assert len(fig.axes) == 3 and fig.axes[0].get_ylabel() == "accuracy"


def lm_preds(lps, nbytes):
    return [Prediction(model="m", scenario="lm", instance_id=f"t{i}", perturbation="identity", adaptation="a",
                       output="", logprob=lp, n_bytes=b, n_prompt_tokens=b // 4) for i, (lp, b) in enumerate(zip(lps, nbytes))]


def test_bits_per_byte_is_minus_log2_p_over_bytes():
    runs = {"m": lm_preds([-100.0, -50.0], [100, 50])}
    t = A.bits_per_byte_table(runs, {"m": {"bits_per_byte": 150 / (150 * math.log(2))}})
    assert math.isclose(t.loc["m", "recomputed"], 1 / math.log(2)) and t.loc["m", "bytes"] == 150
    assert math.isclose(t.loc["m", "recomputed"], t.loc["m", "bits_per_byte"])
    with pytest.raises(ValueError, match="logprob"):
        A.bits_per_byte_table({"m": [Prediction("m", "lm", "t", "identity", "a", "")]}, {"m": {}})


def test_efficiency_fit_recovers_an_affine_law():
    rng = np.random.default_rng(0)
    P, O = rng.integers(10, 200, 30), rng.integers(1, 30, 30)
    t = 0.05 + 0.002 * P + 0.03 * O
    ps = [Prediction("m", "s", f"i{k}", "identity", "a", "", n_prompt_tokens=int(p), n_output_tokens=int(o),
                     runtime_s=float(x)) for k, (p, o, x) in enumerate(zip(P, O, t))]
    fit = A.efficiency_fit(ps, 1000)
    assert np.allclose([fit["a"], fit["b"], fit["c"]], [0.05, 0.002, 0.03]) and fit["r2"] > 1 - 1e-12
    assert np.allclose(fit["flops"], 2000 * (P + O)) and fit["n"] == 30
    harms = pd.DataFrame({"toxic_frac": [0.1, 0.0], "bias_representation_gender": [0.3, 0.5]}, index=["x", "y"])
    bpb = pd.DataFrame({"bits_per_byte": [1.0, 2.0], "recomputed": [1.0, 2.0]}, index=["x", "y"])
    fig = A.generation_figure(bpb, fit, harms)
    assert len(fig.axes) == 3
    with pytest.raises(ValueError, match="vary independently"):
        A.efficiency_fit([replace_tokens(p, 5, 5) for p in ps], 1000)
    with pytest.raises(ValueError, match="n_params"):
        A.efficiency_fit(ps, 0)


def test_group_word_counts():
    got = A.group_word_counts(["She said he was kind.", "HER friend met him"], {"f": ["she", "her"], "m": ["he", "him", "his"]})
    assert got == {"f": 2, "m": 2}
    with pytest.raises(TypeError, match="texts"):
        A.group_word_counts("she", {"f": ["she"]})


def replace_tokens(p, prompt, output):
    from dataclasses import replace

    return replace(p, n_prompt_tokens=prompt, n_output_tokens=output)


def test_grids_name_their_runs():
    from theory.helm.models import default_models

    models = default_models()
    grid = A.page_grid(models)
    names = {(m.name, s.name) for m, s, _ in grid}
    assert ("SmolLM2-135M", "knowledge") in names and ("ByteNgram-5", "open_generation") in names
    assert (A.EFFICIENCY_MODEL, "reasoning-efficiency") in names
    assert all(m in models for m, s, _ in grid if m.name != A.EFFICIENCY_MODEL)
    assert {a.method for m, s, a in grid if s.name == "knowledge"} == {
        "multiple_choice_joint", "multiple_choice_separate_original", "multiple_choice_separate_calibrated"}
    assert all(m.supports(s, a) for m, s, a in grid)
    with pytest.raises(ValueError, match="exactly one model"):
        A.knowledge_grid([models[1]])


def test_identity_only_keeps_the_originals_and_their_keys():
    from theory.helm.models import default_models

    full = Scenario(name="mc", task="multiple_choice", train=(), test=mc_scenario(4).test,
                    robustness=("mild_mix",), fairness=("dialect",))
    bare = A.identity_only(full)
    assert bare.robustness == () and bare.fairness == () and bare.test == full.test
    assert bare.key == full.key  # the originals' request keys are shared with the full scenario
    grid = A.knowledge_grid(default_models())
    kn = [(s, a) for _, s, a in grid if s.name == "knowledge"]
    default = A.KNOWLEDGE_ADAPTATIONS["joint, 5-shot"]
    assert all((s.robustness != ()) == (a == default) for s, a in kn)
    with pytest.raises(TypeError, match="scenario must be a Scenario"):
        A.identity_only("knowledge")
