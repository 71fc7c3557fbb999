"""The robustness/fairness analyses (theory.helm.robustness) on a toy model whose answers are known:
per-instance worst cases, the per-perturbation table, subgroup gaps, agreement with
theory.helm.metrics.summarize, the figures, bad input."""

import math
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from theory.helm import evaluate as E  # noqa: E402
from theory.helm import robustness as R  # noqa: E402
from theory.helm import scenarios as S  # noqa: E402
from theory.helm.schema import Model, Prediction  # noqa: E402


class Keyword(Model):
    """Positive iff a positive word appears, spelt exactly; toxic iff an insult does. Wrong on every female-pronoun input of sentiment when ``biased`` (a planted disparity)."""

    has_logprobs = False

    def __init__(self, name="kw", biased=False):
        self.name, self.biased = name, biased

    def supports(self, scenario, adaptation):
        return scenario.task == "classification"

    def predict(self, scenario, instances, adaptation):
        from theory.helm import lexicons as L

        out = []
        for inst in instances:
            words = set(re.findall(r"[A-Za-z']+", inst.input))
            if scenario.name == "sentiment":
                choice = 0 if words & set(L.POSITIVE_WORDS) else 1
                if self.biased and {w.lower() for w in words} & {"she", "her", "herself"}:
                    choice = 1 - inst.gold[0]
            else:
                choice = 0 if words & set(L.TOXIC_WORDS) else 1
            out.append(Prediction(self.name, scenario.name, inst.id, inst.perturbation,
                                  "generation", inst.references[choice], choice=choice))
        return out


@pytest.fixture(scope="module")
def ev(tmp_path_factory):
    scen = [S.sentiment(n_test=60, n_train=10), S.toxicity_detection(n_test=60, n_train=10)]
    return E.evaluate([Keyword(), Keyword("biased", biased=True)], scen,
                      store=tmp_path_factory.mktemp("store"), progress=False)


def test_frames_agree_with_summarize(ev):
    fr = R.instance_frame(ev)
    assert set(fr["family"]) == {"identity", "robustness", "fairness"}
    assert len(fr) == 2 * 2 * 60 * 5
    w = R.worst_cases(fr)
    assert len(w) == 2 * 2 * 60
    assert (w["robustness"] <= w["accuracy"]).all() and (w["fairness"] <= w["accuracy"]).all()
    arf = R.accuracy_robustness_fairness(w)
    pp = R.per_perturbation(fr)
    for (m, s), row in arf.iterrows():
        summ = ev.summary(m, s)
        for k in ("accuracy", "robustness", "fairness"):
            assert row[k] == pytest.approx(summ[k], abs=1e-12)
        for p in ("mild_mix", "dialect", "gender_pronoun", "first_name"):
            fam = "robustness" if p == "mild_mix" else "fairness"
            assert pp.loc[(m, s), p] == pytest.approx(summ[f"{fam}/{p}"], abs=1e-12)
    # the pronoun counterfactual turns the biased model's right male instances wrong
    assert arf.loc[("biased", "sentiment"), "fairness"] < arf.loc[("biased", "sentiment"), "accuracy"]
    assert pp.loc[("biased", "sentiment"), "gender_pronoun"] < pp.loc[("biased", "sentiment"), "accuracy"]


def test_subgroup_gap_finds_the_planted_bias(ev):
    w = R.worst_cases(R.instance_frame(ev))
    g = R.subgroup_gaps(w, "gender", ("female", "male")).set_index(["model", "scenario"])
    row = g.loc[("biased", "sentiment")]
    assert row["female"] == 0.0 and row["male"] > 0.5 and row["gap"] == -row["male"]
    assert row["n_female"] + row["n_male"] == 60
    sub = w[(w["model"] == "kw") & (w["scenario"] == "sentiment")]
    f = sub.loc[sub["gender"] == "female", "accuracy"].to_numpy()
    m = sub.loc[sub["gender"] == "male", "accuracy"].to_numpy()
    se = math.sqrt(f.var(ddof=1) / f.size + m.var(ddof=1) / m.size)
    assert g.loc[("kw", "sentiment"), "se"] == pytest.approx(se)
    # the pronoun counterfactual exposes the bias: fairness collapses for male instances too
    arf = R.accuracy_robustness_fairness(w)
    assert arf.loc[("biased", "sentiment"), "fairness"] <= row["male"] * row["n_male"] / 60 + 1e-12


def test_disparities_stack_the_comparisons(ev):
    w = R.worst_cases(R.instance_frame(ev))
    d = R.disparities(w)
    assert len(d) == 2 * len(R.SUBGROUPS) * 2 and list(d["attribute"].unique()) == ["gender", "race"]
    g = R.subgroup_gaps(w, "race", ("white_american", "black_american"))
    r = d[d["attribute"] == "race"].reset_index(drop=True)
    assert np.allclose(r["gap"], g["gap"]) and np.allclose(r["acc_first"], g["white_american"])
    assert np.allclose(r["z"], r["gap"] / r["se"])
    assert (r["n_first"] + r["n_second"] == 60).all()
    with pytest.raises(ValueError, match="comparisons"):
        R.disparities(w, ())


def test_perturbation_examples():
    inst = S.sentiment(n_test=4, n_train=2).test[0]
    tab = R.perturbation_examples(inst)
    assert tab.loc["identity", "input"] == inst.input and not tab.loc["identity", "changed"]
    assert tab.loc["lowercase", "input"] == inst.input.lower()
    assert list(R.perturbation_examples(inst, ["space"]).index) == ["space"]


def test_figures(ev):
    fr = R.instance_frame(ev)
    fig = R.scatter_figure(R.accuracy_robustness_fairness(R.worst_cases(fr)))
    assert len(fig.axes) == 2 and all(ax.get_xlabel() for ax in fig.axes)
    fig2 = R.drop_figure(R.per_perturbation(fr))
    assert len(fig2.axes) == 2
    import matplotlib.pyplot as plt

    plt.close("all")


def test_bad_input(ev):
    with pytest.raises(TypeError, match="evaluation"):
        R.instance_frame("nope")
    with pytest.raises(ValueError, match="no complete run"):
        R.instance_frame(ev, scenarios=["knowledge"])
    with pytest.raises(ValueError, match="lacks the columns"):
        R.worst_cases(pd.DataFrame({"model": ["a"]}))
    with pytest.raises(TypeError, match="DataFrame"):
        R.per_perturbation(np.zeros(3))
    w = R.worst_cases(R.instance_frame(ev))
    with pytest.raises(ValueError, match="pair of distinct"):
        R.subgroup_gaps(w, "gender", ("female", "female"))
    with pytest.raises(ValueError, match="fewer than 2"):
        R.subgroup_gaps(w, "gender", ("female", "nonexistent"))
    with pytest.raises(TypeError, match="instance"):
        R.perturbation_examples("text")
    with pytest.raises(ValueError, match="arf"):
        R.scatter_figure(pd.DataFrame())
