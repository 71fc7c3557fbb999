"""Bad input to theory.helm (issue 20): every public function, a table of invalid arguments.

The battery is :mod:`badinput`; ``python tests/badinput.py tests/test_bad_inputs_helm.py``
prints the counts. No valid call loads a language model or the MiniLM encoder: the models are
deterministic stand-ins defined here (as tests/test_helm_evaluate.py does), the scenarios tiny.
The command line (:func:`theory.helm.cli.main`) returns exit status 2 with a message naming the
option: tested below, not in the table. The store's corrupt and partial lines: tested below.
"""

from __future__ import annotations

import functools
import json
import math
import tempfile

import matplotlib
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

matplotlib.use("Agg")

import badinput  # noqa: E402
from badinput import Fn  # noqa: E402
from theory.helm.schema import Adaptation, Prediction, Scenario  # noqa: E402

H = "theory.helm"
AN, CLI, DER, EV, LEX, MET = (f"{H}.{m}" for m in ("analysis", "cli", "derivation", "evaluate",
                                                     "lexicons", "metrics"))
MOD, PER, PLO, ROB, SCE, STO = (f"{H}.{m}" for m in ("models", "perturbations", "plots",
                                                       "robustness", "scenarios", "store"))
SW = f"{H}.sweeps"


# -- stand-ins (no language model): tests/helm_fakes.py -----------------------------------------
from helm_fakes import FakeLM, fake_toxicity, knowledge, lm, opengen  # noqa: E402
from helm_fakes import FakeClassifier as _FakeClassifier  # noqa: E402


def FakeClassifier(name="FakeClf", tasks=("classification", "multiple_choice")):
    return _FakeClassifier(name=name, tasks=tasks, batch_size=8)


def _mc(n=4) -> Scenario:
    return knowledge(n, relation=True)


def _lm(n=3) -> Scenario:
    return lm(n)


def _og(n=2) -> Scenario:
    return opengen(n)


@functools.lru_cache(maxsize=None)
def _sentiment():
    from theory.helm.scenarios import sentiment

    return sentiment(n_test=8, n_train=4)


@functools.lru_cache(maxsize=None)
def _ev():
    """An evaluation of two stand-in classifiers on sentiment (with demographics) and a
    multiple-choice scenario, and the stand-in LM on language modelling, in a temporary store."""
    from theory.helm.evaluate import evaluate

    root = tempfile.mkdtemp(prefix="helm_bad_inputs_")
    return evaluate([FakeClassifier(), FakeClassifier("Other"), FakeLM()], [_sentiment(), _mc(), _lm()],
                    store=root, progress=False, toxicity_scorer=fake_toxicity)


def _table():
    return _ev().table()


def _preds(scenario, perturbation="identity"):
    from theory.helm.analysis import predictions

    ev = _ev()
    model = "FakeLM" if scenario.task == "language_modeling" else "FakeClf"
    for (m, s, _), run in ev.runs.items():
        if m == model and s == scenario.name:
            return list(run.predictions[perturbation])
    raise AssertionError(predictions)


def _summary(scenario):
    return _ev().summary("FakeLM" if scenario.task == "language_modeling" else "FakeClf", scenario.name)


def _frame():
    from theory.helm.robustness import instance_frame

    return instance_frame(_ev(), ["sentiment"])


def _worst():
    from theory.helm.robustness import worst_cases

    return worst_cases(_frame())


def _eff_preds():
    return [Prediction("m", "s", f"i{k}", "identity", "a", "x", n_prompt_tokens=p, n_output_tokens=o,
                       runtime_s=0.01 + 0.001 * p + 0.002 * o + 0.0001 * k)
            for k, (p, o) in enumerate([(1, 1), (5, 2), (9, 8), (3, 6), (7, 3)])]


def _tmp():
    return tempfile.mkdtemp(prefix="helm_bad_inputs_")


def _with_summary():
    from theory.helm.cli import write_summary

    out = _tmp()
    write_summary(_ev(), out)
    return out


@functools.lru_cache(maxsize=1)
def _grid_ds():
    """A tiny grid result through the runner: the lexicon on two instances of each scenario."""
    from theory.core import run_sweep
    from theory.helm import sweeps

    plan = sweeps.grid_plan("laptop", model="Lexicon", n_test=2, store=str(_tmp()))
    return run_sweep(plan.experiment, plan.sweep, executor="serial", progress=False)


_ADAPT = Adaptation("multiple_choice_joint", max_train_instances=0, max_tokens=1)
_SCEN = _mc()
_INST = _SCEN.test[0]
_C = np.array([0.6, 0.9, 0.7, 0.8, 0.55, 0.95])
_Y = np.array([1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
_GROUPS = {"female": ["she", "her"], "male": ["he", "him"]}
_TEXTS = ["she is a doctor", "he is a nurse", "she and he"]
_BOOLS_OK = {("correct", "bools"): "booleans are legal correctness labels"}
_TABLE_BAD = [({"table": 3}, "table"), ({"table": pd.DataFrame({"a": [1.0]})}, "table")]


def _grid():
    from theory.helm.evaluate import default_adaptation

    return [(FakeClassifier(), _SCEN, default_adaptation(_SCEN))]


def _ece_study():
    from theory.helm.metrics import ece_bias_study

    return ece_bias_study(ns=(5, 8), n_reps=3)


def _knowledge_fig_kwargs():
    from theory.helm.analysis import adaptation_table, choice_matrix

    sc = _mc()
    runs = {"a": _preds(sc)}
    choices, correct = choice_matrix(sc, runs)
    return dict(table=adaptation_table(sc, runs, {"a": _summary(sc)}), correct=correct,
                choices=choices, confidences={"a": [p.confidence for p in runs["a"]]}, n_options=4)


def _generation_fig_kwargs():
    from theory.helm.analysis import bits_per_byte_table, efficiency_fit

    sc = _lm()
    bpb = bits_per_byte_table({"FakeLM": _preds(sc)}, {"FakeLM": _summary(sc)})
    harms = pd.DataFrame({"toxic_frac": [0.1, 0.2]}, index=["a", "b"])
    return dict(bpb=bpb, fit=efficiency_fit(_eff_preds(), 100), harms=harms)


def _pairs_df():
    from theory.helm.evaluate import pairs

    return pairs(_table(), "accuracy", "ece_10_bin")


def _arf():
    from theory.helm.robustness import accuracy_robustness_fairness

    return accuracy_robustness_fairness(_worst())


def _per_pert():
    from theory.helm.robustness import per_perturbation

    return per_perturbation(_frame())


def _rates():
    from theory.helm.evaluate import win_rates

    return win_rates(_table())


def _coverage():
    from theory.helm.evaluate import metric_coverage

    return metric_coverage(_table())


TABLE = [
    # -- analysis --------------------------------------------------------------------------
    Fn(AN, "adaptation_table", lambda: dict(scenario=_mc(), runs={"a": _preds(_mc())},
                                            summaries={"a": _summary(_mc())}),
       extra=[({"scenario": 3}, "scenario"), ({"runs": 3}, "runs"), ({"runs": {}}, "runs"),
              ({"summaries": 3}, "summaries"), ({"summaries": {}}, "summaries"),
              ({"runs": {"a": [3]}}, "runs")]),
    Fn(AN, "bits_per_byte_table", lambda: dict(runs={"FakeLM": _preds(_lm())},
                                               summaries={"FakeLM": _summary(_lm())}),
       extra=[({"runs": 3}, "runs"), ({"runs": {}}, "runs"), ({"summaries": {}}, "summaries"),
              ({"summaries": {"FakeLM": {}}}, "summaries")]),
    Fn(AN, "by_group", lambda: dict(scenario=_mc(), correct=np.ones((4, 2)), labels=["a", "b"],
                                    key="relation"),
       dict(correct="array", key="str"),
       extra=[({"scenario": 3}, "scenario"), ({"labels": 3}, "labels"), ({"labels": "ab"}, "labels"),
              ({"correct": np.ones((4, 3))}, "correct"), ({"key": "nope"}, "key")], skip=_BOOLS_OK),
    Fn(AN, "choice_matrix", lambda: dict(scenario=_mc(), runs={"a": _preds(_mc())}),
       extra=[({"scenario": 3}, "scenario"), ({"runs": 3}, "runs"), ({"runs": {"a": [3]}}, "runs")]),
    Fn(AN, "disagreement", dict(choices=np.array([[0.0, 1.0], [2.0, -1.0]])), dict(choices="array"),
       extra=[({"choices": np.array([[0.5, 1.0]])}, "choices"), ({"choices": np.array([[-2, 1]])}, "choices")]),
    Fn(AN, "efficiency_fit", lambda: dict(preds=_eff_preds(), n_params=100), dict(n_params="positive_int"),
       extra=[({"preds": 3}, "preds"), ({"preds": []}, "preds")]),
    Fn(AN, "efficiency_grid", lambda: dict(model=FakeLM()), extra=[({"model": 3}, "model")]),
    Fn(AN, "generation_figure", _generation_fig_kwargs,
       extra=[({"bpb": 3}, "bpb"), ({"fit": 3}, "fit"), ({"fit": {}}, "fit"), ({"harms": 3}, "harms")]),
    Fn(AN, "generation_grid", lambda: dict(models=[FakeLM("SmolLM2"), FakeLM("ByteNgram")],
                                           efficiency=FakeLM()),
       extra=[({"models": [3]}, "models"), ({"models": 3}, "models"), ({"efficiency": 3}, "efficiency")]),
    Fn(AN, "group_word_counts", dict(texts=_TEXTS, groups=_GROUPS),
       extra=[({"texts": "she"}, "texts"), ({"texts": 3}, "texts"), ({"texts": [3]}, "texts"),
              ({"groups": 3}, "groups"), ({"groups": {"a": 3}}, "groups")]),
    Fn(AN, "knowledge_figure", _knowledge_fig_kwargs, dict(n_options="positive_int"),
       extra=[({"table": 3}, "table"), ({"confidences": 3}, "confidences"),
              ({"confidences": {}}, "confidences"), ({"correct": np.ones((4, 3))}, "correct"),
              ({"intervals": 3}, "intervals"), ({"choices": np.zeros((4, 3))}, "choices")]),
    Fn(AN, "knowledge_grid", lambda: dict(models=[FakeClassifier("SmolLM2")]),
       extra=[({"models": [3]}, "models"), ({"models": 3}, "models"), ({"models": []}, "models")]),
    Fn(AN, "page_grid", lambda: dict(models=[FakeLM("SmolLM2"), FakeLM("ByteNgram")]),
       extra=[({"models": [3]}, "models"), ({"models": 3}, "models")]),
    Fn(AN, "paired_bootstrap", dict(correct_a=_Y, correct_b=_Y[::-1].copy(), n_boot=100),
       dict(correct_a="array", correct_b="array", n_boot="positive_int", seed="seed", level="unit"),
       extra=[({"correct_b": _Y[:3]}, "correct_b"), ({"n_boot": 10**9}, "needs about"),
              ({"correct_a": _Y * 2}, "correct_a")],
       skip={("correct_a", "bools"): "booleans are legal correctness labels",
             ("correct_b", "bools"): "booleans are legal correctness labels"}),
    Fn(AN, "position_shares", dict(choices=np.array([[0.0, 1.0], [2.0, -1.0]]), n_options=3),
       dict(choices="array", n_options="positive_int"),
       extra=[({"choices": np.array([[5.0, 1.0]])}, "choices"), ({"choices": np.array([[0.5, 1.0]])}, "choices")]),
    Fn(AN, "predictions", lambda: dict(evaluation=_ev(), model="FakeClf", scenario="fake_knowledge",
                                       adaptation=Adaptation("multiple_choice_joint", max_train_instances=5,
                                                             max_tokens=1)),
       dict(model="str", scenario="str", perturbation="str"),
       extra=[({"evaluation": 3}, "evaluation"), ({"adaptation": 3}, "adaptation"),
              ({"model": "nope"}, "nope"), ({"perturbation": "nope"}, "perturbation")]),
    Fn(AN, "reliability", dict(confidence=_C, correct=_Y),
       dict(confidence="array", correct="array", n_bins="positive_int"),
       extra=[({"correct": _Y[:3]}, "correct"), ({"confidence": _C + 1}, "confidence")],
       skip=_BOOLS_OK),
    # -- cli -------------------------------------------------------------------------------
    Fn(CLI, "final_counts", dict(output="helm: 3 runs, 5 requests computed, 2 from the store"),
       dict(output="str"), extra=[({"output": "nothing"}, "output")]),
    Fn(CLI, "read_summary", lambda: dict(folder=_with_summary()),
       extra=[({"folder": 3}, "folder"), ({"folder": None}, "folder")]),
    Fn(CLI, "select", lambda: dict(grid=_grid(), models=["FakeClf"]),
       extra=[({"grid": 3}, "grid"), ({"grid": [3]}, "grid"), ({"models": "FakeClf"}, "models"),
              ({"models": [3]}, "model"), ({"scenarios": ["nope"]}, "scenario"), ({"models": ["x"]}, "model")]),
    Fn(CLI, "summary_frame", dict(lines=[{"model": "m", "scenario": "s", "adaptation": "a",
                                          "metrics": {"accuracy": 0.5}}]),
       extra=[({"lines": 3}, "lines"), ({"lines": [3]}, "lines"), ({"lines": [{"model": "m"}]}, "lines")]),
    Fn(CLI, "write_summary", lambda: dict(evaluation=_ev(), out=_tmp()), dict(fmt="choice"),
       extra=[({"evaluation": 3}, "evaluation"), ({"out": 3}, "out"), ({"out": None}, "out")]),
    # -- derivation (sympy; the sizes bounded) ----------------------------------------------
    Fn(DER, "calibrated_gap_moments", dict(n=1), dict(n="positive_int"), extra=[({"n": 100}, "n")]),
    Fn(DER, "ece_decomposition", dict(n_bins=1), dict(n_bins="positive_int"), extra=[({"n_bins": 100}, "n_bins")]),
    Fn(DER, "platt_intercept_score", dict(n=1), dict(n="positive_int"), extra=[({"n": 100}, "n")]),
    Fn(DER, "selective_area_weights", dict(n=1), dict(n="positive_int"), extra=[({"n": 100}, "n")]),
    Fn(DER, "win_rates_sum", dict(n_levels=1), dict(n_levels="positive_int"),
       extra=[({"n_levels": 100}, "n_levels")]),
    Fn(DER, "worst_case_binary", dict(n_variants=1), dict(n_variants="positive_int"),
       extra=[({"n_variants": 100}, "n_variants")]),
    # -- evaluate --------------------------------------------------------------------------
    Fn(EV, "adaptation_label", dict(scenario=_SCEN, adaptation=_ADAPT),
       extra=[({"scenario": 3}, "scenario"), ({"adaptation": 3}, "adaptation")]),
    Fn(EV, "book_grid", lambda: dict(models=[FakeClassifier()], scenarios=[_mc()], pages=False),
       dict(pages="bool"), extra=[({"models": 3}, "models"), ({"models": []}, "models"),
                                  ({"scenarios": [3]}, "scenarios"), ({"scenarios": 3}, "scenarios")]),
    Fn(EV, "default_adaptation", dict(scenario=_SCEN), extra=[({"scenario": 3}, "scenario")]),
    Fn(EV, "evaluate", lambda: dict(models=FakeClassifier(), scenarios=[_mc()], store=_tmp(), progress=False),
       dict(progress="bool", limit="non_negative_int?", batch_size="positive_int?",
            toxicity_scorer="callable?"),
       extra=[({"models": 3}, "models"), ({"models": []}, "models"), ({"scenarios": 3}, "scenarios"),
              ({"adaptations": 3}, "adaptations"), ({"store": 3}, "store"),
              ({"models": [FakeClassifier(), FakeClassifier()]}, "names must be unique")]),
    Fn(EV, "evaluate_grid", lambda: dict(grid=_grid(), store=_tmp(), progress=False),
       dict(progress="bool", limit="non_negative_int?", batch_size="positive_int?",
            toxicity_scorer="callable?"),
       extra=[({"grid": 3}, "grid"), ({"grid": []}, "grid"), ({"grid": [3]}, "grid"),
              ({"store": 3}, "store")]),
    Fn(EV, "expected_coverage", lambda: dict(models=[FakeClassifier()], scenarios=[_mc()]),
       extra=[({"models": 3}, "models"), ({"scenarios": 3}, "scenarios"), ({"scenarios": []}, "scenarios")]),
    Fn(EV, "group_columns", lambda: dict(table=_table(), group="accuracy"), dict(group="choice"),
       extra=_TABLE_BAD),
    Fn(EV, "headline_table", lambda: dict(table=_table()), extra=_TABLE_BAD),
    Fn(EV, "metric_coverage", lambda: dict(table=_table()), extra=_TABLE_BAD),
    Fn(EV, "metric_group", dict(metric="accuracy"), dict(metric="str")),
    Fn(EV, "pairs", lambda: dict(table=_table(), metric_a="accuracy", metric_b="ece_10_bin"),
       dict(metric_a="str", metric_b="str"), extra=_TABLE_BAD),
    Fn(EV, "perturbations_of", dict(scenario=_SCEN), extra=[({"scenario": 3}, "scenario")]),
    Fn(EV, "request_key", dict(model_key="k", perturbation="identity", instance=_INST),
       dict(model_key="str", perturbation="str"), extra=[({"instance": 3}, "instance")]),
    Fn(EV, "smoke_grid", lambda: dict(n_test=2, models=[FakeClassifier()], scenarios=[_mc()]),
       dict(n_test="positive_int"), extra=[({"models": 3}, "models"), ({"scenarios": 3}, "scenarios")]),
    Fn(EV, "spearman", lambda: dict(table=_table(), metric_a="accuracy", metric_b="inference_runtime"),
       dict(metric_a="str", metric_b="str"), extra=_TABLE_BAD + [({"metric_b": "nope"}, "at least 3")]),
    Fn(EV, "win_rates", lambda: dict(table=_table()), extra=_TABLE_BAD + [({"groups": ["nope"]}, "groups"),
                                                                          ({"groups": 3}, "groups"),
                                                                          ({"groups": "accuracy"}, "groups")]),
    # -- lexicons ----------------------------------------------------------------------------
    Fn(LEX, "name_group", dict(name="Emily"), dict(name="str")),
    # -- metrics -----------------------------------------------------------------------------
    Fn(MET, "bits_per_byte", dict(logprob_nats=np.array([-3.0, -5.0]), n_bytes=np.array([4.0, 6.0])),
       dict(logprob_nats="array", n_bytes="positive_array"),
       extra=[({"n_bytes": np.array([4.0])}, "n_bytes"), ({"logprob_nats": np.array([1.0, -1.0])}, "logprob_nats")]),
    Fn(MET, "calibration_metrics", dict(confidence=_C, correct=_Y),
       dict(confidence="array", correct="array", n_bins="positive_int"),
       extra=[({"correct": _Y[:3]}, "correct"), ({"confidence": _C + 1}, "confidence"),
              ({"correct": _Y * 0.5}, "correct")], skip=_BOOLS_OK),
    Fn(MET, "confidences", lambda: dict(predictions=_preds(_mc())),
       extra=[({"predictions": 3}, "predictions"), ({"predictions": []}, "predictions"),
              ({"predictions": [3]}, "predictions")]),
    Fn(MET, "demographic_representation", dict(texts=_TEXTS, groups=_GROUPS),
       extra=[({"texts": 3}, "texts"), ({"texts": [3]}, "texts"), ({"groups": 3}, "groups"),
              ({"groups": {"a": ["x"]}}, "groups")]),
    Fn(MET, "ece", dict(confidence=_C, correct=_Y), dict(confidence="array", correct="array", n_bins="positive_int"),
       extra=[({"correct": _Y[:3]}, "correct")], skip=_BOOLS_OK),
    Fn(MET, "ece_1_bin", dict(confidence=_C, correct=_Y), dict(confidence="array", correct="array"),
       extra=[({"correct": _Y[:3]}, "correct")], skip=_BOOLS_OK),
    Fn(MET, "ece_bias_figure", lambda: dict(study=_ece_study()), extra=[({"study": 3}, "study"),
                                                                        ({"study": {}}, "study")]),
    Fn(MET, "ece_bias_study", dict(ns=(5,), n_reps=2),
       dict(n_reps="positive_int", seed="seed", low="unit", high="unit", n_bins="positive_int"),
       extra=[({"ns": 3}, "ns"), ({"ns": ()}, "ns"), ({"ns": (1,)}, "ns"), ({"ns": (2.5,)}, "ns"),
              ({"ns": "5"}, "ns"), ({"low": 0.9, "high": 0.6}, "low"),
              ({"ns": (10**6,), "n_reps": 10**6}, "needs about")]),
    Fn(MET, "equal_mass_edges", dict(confidence=_C), dict(confidence="array", n_bins="positive_int")),
    Fn(MET, "exact_match", dict(prediction="Paris", references=["Paris"]), dict(prediction="str"),
       extra=[({"references": 3}, "references"), ({"references": []}, "references"),
              ({"references": [3]}, "references")]),
    Fn(MET, "expected_ece_calibrated", dict(confidence=_C), dict(confidence="array", n_bins="positive_int"),
       extra=[({"confidence": _C + 1}, "confidence")]),
    Fn(MET, "expected_ece_normal", dict(confidence=_C), dict(confidence="array", n_bins="positive_int"),
       extra=[({"confidence": _C + 1}, "confidence")]),
    Fn(MET, "f1_score", dict(prediction="Paris", references=["Paris France"]), dict(prediction="str"),
       extra=[({"references": 3}, "references"), ({"references": [3]}, "references")]),
    Fn(MET, "instance_scores", lambda: dict(scenario=_mc(), predictions=_preds(_mc())),
       dict(metric="choice?"), extra=[({"scenario": 3}, "scenario"), ({"predictions": 3}, "predictions"),
                                      ({"predictions": []}, "predictions")]),
    Fn(MET, "mean_win_rate", dict(table=np.array([[1.0, 2.0], [3.0, 0.0]]), higher_is_better=[True, False]),
       dict(table="array", aggregate="choice"),
       extra=[({"higher_is_better": [True]}, "higher_is_better"), ({"higher_is_better": True}, "higher_is_better"),
              ({"higher_is_better": [1, 0]}, "higher_is_better")],
       skip={("table", "NaN entry"): "NaN marks a missing value (by design)"}),
    Fn(MET, "normalize_text", dict(text="The cat."), dict(text="str")),
    Fn(MET, "platt_scale", dict(confidence=_C, correct=_Y), dict(confidence="array", correct="array"),
       extra=[({"correct": np.ones(6)}, "correct"), ({"correct": _Y * 0.5}, "correct")], skip=_BOOLS_OK),
    Fn(MET, "quasi_exact_match", dict(prediction="the Paris", references=["Paris"]), dict(prediction="str"),
       extra=[({"references": 3}, "references"), ({"references": [3]}, "references")]),
    Fn(MET, "selective_accuracy", dict(confidence=_C, correct=_Y),
       dict(confidence="array", correct="array", coverage="unit"),
       extra=[({"coverage": 1.0}, "coverage")], skip=_BOOLS_OK),
    Fn(MET, "selective_coverage_accuracy_area", dict(confidence=_C, correct=_Y),
       dict(confidence="array", correct="array"), skip=_BOOLS_OK),
    Fn(MET, "stereotypical_association", dict(texts=_TEXTS, groups=_GROUPS, targets=["doctor", "nurse"]),
       extra=[({"texts": 3}, "texts"), ({"groups": 3}, "groups"), ({"targets": 3}, "targets"),
              ({"targets": [3]}, "targets"), ({"targets": []}, "targets")]),
    Fn(MET, "summarize", lambda: dict(scenario=_mc(), predictions={"identity": _preds(_mc()),
                                                                  "mild_mix": _preds(_mc(), "mild_mix")},
                                      has_logprobs=True),
       dict(has_logprobs="bool", toxicity="callable?", n_params="non_negative_int?"),
       extra=[({"scenario": 3}, "scenario"), ({"predictions": 3}, "predictions"),
              ({"predictions": {}}, "identity"), ({"groups": 3}, "groups"), ({"targets": 3}, "targets")]),
    Fn(MET, "tie_exact_match", dict(probs=np.array([0.2, 0.5, 0.3]), gold=1),
       dict(probs="positive_array", gold="non_negative_int"),
       extra=[({"gold": 3}, "gold"), ({"gold": ()}, "gold")],
       skip={("gold", "list"): "a list of gold indices is legal"}),
    Fn(MET, "tokenize", dict(text="She said."), dict(text="str")),
    Fn(MET, "total_variation_to_uniform", dict(counts=np.array([1.0, 3.0]), sizes=np.array([1.0, 2.0])),
       dict(counts="positive_array", sizes="positive_array?"),
       extra=[({"counts": np.array([1.0])}, "counts"), ({"sizes": np.array([1.0, 2.0, 3.0])}, "sizes"),
              ({"sizes": np.array([0.5, 2.0])}, "sizes")]),
    Fn(MET, "toxicity_summary", dict(scores=np.array([[0.1, 0.9], [0.2, 0.3]])),
       dict(scores="array", threshold="unit"), extra=[({"scores": np.array([[1.5, 0.0]])}, "scores")]),
    Fn(MET, "worst_case", dict(scores=np.array([[1.0, 0.0], [1.0, 1.0]])), dict(scores="array")),
    # -- models (nothing loads a network) ---------------------------------------------------
    Fn(MOD, "adaptation_label", dict(adaptation=_ADAPT), extra=[({"adaptation": 3}, "adaptation")]),
    Fn(MOD, "format_example", dict(scenario=_SCEN, inst=_INST, adaptation=_ADAPT, answer=True),
       dict(answer="bool"), extra=[({"scenario": 3}, "scenario"), ({"inst": 3}, "inst"),
                                   ({"adaptation": 3}, "adaptation")]),
    Fn(MOD, "minilm_embed", dict(texts=[]), dict(batch_size="positive_int"),
       extra=[({"texts": "abc"}, "texts"), ({"texts": 3}, "texts"), ({"texts": [3]}, "texts"),
              ({"texts": None}, "texts")]),
    Fn(MOD, "prompt_parts", dict(scenario=_SCEN, inst=_INST, adaptation=_ADAPT),
       extra=[({"scenario": 3}, "scenario"), ({"inst": 3}, "inst"), ({"adaptation": 3}, "adaptation")]),
    # -- perturbations -----------------------------------------------------------------------
    Fn(PER, "describe", dict(name="mild_mix"), dict(name="choice")),
    Fn(PER, "perturb", dict(instance=_INST, name="mild_mix"), dict(name="choice", seed="seed"),
       extra=[({"instance": 3}, "instance")]),
    Fn(PER, "perturb_all", dict(instances=[_INST], names=["mild_mix"]), dict(seed="seed"),
       extra=[({"instances": 3}, "instances"), ({"instances": []}, "instances"),
              ({"instances": [3]}, "instance"), ({"names": 3}, "names"), ({"names": "mild_mix"}, "names"),
              ({"names": ["bogus"]}, "bogus")]),
    Fn(PER, "perturb_text", dict(text="She said it was good.", name="dialect"),
       dict(text="str", name="choice", seed="seed", key="str")),
    # -- plots -------------------------------------------------------------------------------
    Fn(PLO, "accuracy_calibration_figure", lambda: dict(pairs_df=_pairs_df(), rho=0.5),
       dict(rho="real?", metric_a="str", metric_b="str"),
       extra=[({"pairs_df": 3}, "pairs_df"), ({"metric_a": "nope"}, "metric_a"), ({"rho": 2.0}, "rho")]),
    Fn(PLO, "coverage_figure", lambda: dict(coverage=_coverage()),
       extra=[({"coverage": 3}, "coverage"), ({"coverage": pd.DataFrame()}, "coverage")]),
    Fn(PLO, "heatmap_figure", lambda: dict(table=_table()), dict(metric="str", title="str?"),
       extra=_TABLE_BAD + [({"metric": "nope"}, "metric")]),
    Fn(PLO, "ranking", lambda: dict(table=_table(), metric="accuracy", scenario="sentiment"),
       dict(metric="choice", scenario="str"), extra=_TABLE_BAD),
    Fn(PLO, "use_in_explorer", lambda: dict(table=_table()), extra=_TABLE_BAD),
    Fn(PLO, "win_rate_figure", lambda: dict(rates=_rates()),
       extra=[({"rates": 3}, "rates"), ({"rates": pd.DataFrame()}, "rates")]),
    # -- robustness --------------------------------------------------------------------------
    Fn(ROB, "accuracy_robustness_fairness", lambda: dict(worst=_worst()),
       extra=[({"worst": 3}, "worst"), ({"worst": pd.DataFrame({"a": [1]})}, "worst")]),
    Fn(ROB, "disparities", lambda: dict(worst=_worst(), comparisons=(("gender", ("female", "male")),)),
       dict(metric="str"),
       extra=[({"worst": 3}, "worst"), ({"comparisons": 3}, "comparisons"), ({"comparisons": ()}, "comparisons"),
              ({"comparisons": [("gender",)]}, "comparisons")]),
    Fn(ROB, "drop_figure", lambda: dict(per_pert=_per_pert()),
       extra=[({"per_pert": 3}, "per_pert"), ({"per_pert": pd.DataFrame({"a": [1.0]})}, "per_pert")]),
    Fn(ROB, "instance_frame", lambda: dict(evaluation=_ev(), scenarios=["sentiment"]),
       extra=[({"evaluation": 3}, "evaluation"), ({"scenarios": "sentiment"}, "scenarios"),
              ({"scenarios": 3}, "scenarios"), ({"scenarios": ["nope"]}, "nope")]),
    Fn(ROB, "per_perturbation", lambda: dict(frame=_frame()),
       extra=[({"frame": 3}, "frame"), ({"frame": pd.DataFrame({"a": [1]})}, "frame")]),
    Fn(ROB, "perturbation_examples", dict(instance=_INST, names=["mild_mix"]), dict(seed="seed"),
       extra=[({"instance": 3}, "instance"), ({"names": 3}, "names"), ({"names": "mild_mix"}, "names"),
              ({"names": []}, "names")]),
    Fn(ROB, "scatter_figure", lambda: dict(arf=_arf()),
       extra=[({"arf": 3}, "arf"), ({"arf": pd.DataFrame({"a": [1.0]})}, "arf")]),
    Fn(ROB, "subgroup_gaps", lambda: dict(worst=_worst(), attribute="gender", groups=("female", "male")),
       dict(attribute="str", metric="str"),
       extra=[({"worst": 3}, "worst"), ({"groups": 3}, "groups"), ({"groups": ("male", "male")}, "groups"),
              ({"attribute": "nope"}, "nope")]),
    Fn(ROB, "worst_cases", lambda: dict(frame=_frame()),
       extra=[({"frame": 3}, "frame"), ({"frame": pd.DataFrame({"a": [1]})}, "frame")]),
    # -- scenarios ---------------------------------------------------------------------------
    Fn(SCE, "core_scenarios", dict(seed=0), dict(seed="seed")),
    Fn(SCE, "knowledge", dict(n_test=2, n_train=2), dict(n_test="positive_int?", n_train="positive_int", seed="seed"),
       extra=[({"n_test": 10**9}, "n_test")]),
    Fn(SCE, "language_modeling", dict(n_test=2, n_train=2),
       dict(n_test="positive_int?", n_train="positive_int?", excerpt_bytes="positive_int", seed="seed"),
       extra=[({"n_test": 10**9}, "n_test"), ({"excerpt_bytes": 10**9}, "excerpt_bytes")]),
    Fn(SCE, "open_generation", dict(n_test=2), dict(n_test="positive_int?", seed="seed"),
       extra=[({"n_test": 10**9}, "n_test")]),
    Fn(SCE, "reasoning", dict(n_test=2, n_train=2), dict(n_test="positive_int?", n_train="positive_int", seed="seed"),
       extra=[({"n_test": 10**9}, "needs about")]),
    Fn(SCE, "sentiment", dict(n_test=2, n_train=2), dict(n_test="positive_int?", n_train="positive_int?", seed="seed"),
       extra=[({"n_test": 10**9}, "needs about")]),
    Fn(SCE, "toxicity_detection", dict(n_test=2, n_train=2),
       dict(n_test="positive_int?", n_train="positive_int?", seed="seed"),
       extra=[({"n_train": 10**9}, "needs about")]),
    # -- store -------------------------------------------------------------------------------
    Fn(STO, "file_name", dict(model="m", scenario="s", adaptation="a"),
       dict(model="str", scenario="str", adaptation="str"), extra=[({"model": " "}, "model")]),
    # -- sweeps ------------------------------------------------------------------------------
    Fn(SW, "grid_point", lambda: dict(model="Lexicon", scenario="sentiment", n_test=1, store=str(_tmp())),
       dict(model="choice", scenario="choice", sizes="choice", n_test="positive_int?", seed="seed"),
       extra=[({"store": 3}, "store")]),
    Fn(SW, "grid_sweep", dict(scale="laptop", model="Lexicon", scenario="all"),
       dict(scale="choice", model="choice", scenario="choice")),
    Fn(SW, "grid_experiment", dict(scale="laptop", n_test=2), dict(scale="choice", n_test="positive_int?", seed="seed"),
       extra=[({"store": 3}, "store")]),
    Fn(SW, "grid_plan", dict(scale="laptop", model="Lexicon", n_test=2),
       dict(scale="choice", model="choice", scenario="choice", n_test="positive_int?", seed="seed"),
       extra=[({"store": 3}, "store")]),
    Fn(SW, "stored_grid", dict(labels=("paper",)), extra=[({"labels": "paper"}, "labels"), ({"labels": [3]}, "labels")]),
    Fn(SW, "stored_report", lambda: dict(ds=_grid_ds()), extra=[({"ds": None}, "ds"), ({"ds": 3}, "ds")]),
    Fn(SW, "stored_claims", lambda: dict(stored={"paper": _grid_ds()}),
       extra=[({"stored": None}, "stored"), ({"stored": {"paper": 3}}, "stored")]),
]

EXEMPT = {
    "efficiency_model": "no arguments (constructs SmolLM2; loads nothing)",
    "main": "the command line: bad arguments give exit status 2 and one line naming the option "
            "(tested below: test_cli_*)",
    "all_identities": "no arguments (sympy identities)", "half_normal_mean": "no arguments (sympy)",
    "tv_uniform_bounds": "no arguments (sympy)",
    "default_models": "no arguments (constructs the models; loads nothing)",
    "toxicity_scorer": "no arguments (trains the TF-IDF scorer once)",
    "content_key": "hashes any JSON-serialisable parts by design (*parts); refuses the others "
                   "with a TypeError (tested below)",
    "default_store": "no arguments (reads THEORY_HELM_STORE)",
}

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid(TABLE)


@pytest.fixture(autouse=True)
def _keep_the_explorer():
    """use_in_explorer hands a table to the chapter's explorer: restore it after each case."""
    from theory.helm import plots

    before = dict(plots._EXPLORER)
    yield
    plots._EXPLORER.clear()
    plots._EXPLORER.update(before)
    import matplotlib.pyplot as plt

    plt.close("all")


def test_table_covers_every_public_function():
    assert badinput.check_coverage("theory.helm", TABLE, EXEMPT) == []


# -- the command line: bad arguments give exit status 2 and one line naming the option -------

@pytest.fixture
def tiny_grid(monkeypatch):
    from theory.helm import cli

    monkeypatch.setitem(cli.GRIDS, "bad_inputs", _grid)
    return "bad_inputs"


@pytest.mark.parametrize("argv, message", [
    (["run", "--limit", "x"], "--limit must be an integer, got 'x'"),
    (["run", "--limit", "0"], "--limit must be at least 1"),
    (["run", "--limit", "2.5"], "--limit must be an integer"),
    (["run", "--batch-size", "-3"], "--batch-size must be at least 1"),
    (["run", "--batch-size"], "argument --batch-size: expected one argument"),
    (["run", "--format", "xml"], "argument --format: invalid choice: 'xml'"),
    (["run", "--grid", "huge"], "argument --grid: invalid choice: 'huge'"),
    (["run", "--bogus"], "unrecognized arguments: --bogus"),
    (["run", "--grid", "{grid}", "--models", "nope"], "model 'nope' is unknown"),
    (["run", "--grid", "{grid}", "--scenarios", "nope"], "scenario 'nope' is unknown"),
    (["list", "--grid", "{grid}", "--models"], "argument --models: expected at least one argument"),
    (["table", "--format", "pdf"], "argument --format: invalid choice: 'pdf'"),
    (["merge"], "the following arguments are required: source"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    ([], "give a command"),
])
def test_cli_bad_arguments_exit_2_with_one_line_naming_the_option(tiny_grid, tmp_path, capsys, argv, message):
    from theory.helm import cli

    store = tmp_path / "store"
    argv = [a.format(grid=tiny_grid) for a in argv]
    if argv and argv[0] in ("run", "table"):
        argv += ["--store", str(store)]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("theory.helm: error:") and err.count("\n") == 1
    assert not store.exists()                      # nothing was evaluated or written


def test_cli_bad_folders(tiny_grid, tmp_path, capsys):
    from theory.helm import cli

    assert cli.main(["merge", str(tmp_path / "none"), "--store", str(tmp_path / "s")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    assert cli.main(["run", "--grid", tiny_grid, "--store", str(tmp_path / "file"), "--no-progress"]) == 2
    assert "--store" in capsys.readouterr().err
    assert cli.main(["table", "--store", str(tmp_path / "none")]) == 2
    assert "summary.jsonl does not exist" in capsys.readouterr().err


def test_content_key_refuses_what_json_cannot_hold():
    from theory.helm.schema import content_key

    assert content_key("a", 1, [2.5], {"b": None}) == content_key("a", 1, [2.5], {"b": None})
    with pytest.raises(TypeError, match="content key"):
        content_key(object())


# -- the store: a corrupt or partial entry is detected, never used ----------------------------

def _pred(i=0, **kw):
    return Prediction(model="m", scenario="s", instance_id=f"i{i}", perturbation="identity",
                      adaptation="generation", output=f"out {i}", choice=0, confidence=0.75,
                      probs=(0.75, 0.25), key=f"k{i:04d}", **kw)


def _stored(tmp_path, n=3):
    from theory.helm.store import Store

    st = Store(tmp_path)
    st.put([_pred(i) for i in range(n)])
    return st.path("m", "s", "generation")


@pytest.mark.parametrize("edit, reason", [
    (lambda line: line.replace('"confidence": 0.75', '"confidence": 0.7'), "checksum"),     # a digit changed
    (lambda line: line.replace('"output": "out 1"', '"output": "out 9"'), "checksum"),
    (lambda line: line[:line.index(', "check"')] + "}", "no checksum"),                # checksum cut off
    (lambda line: line[: len(line) // 2], "JSONDecodeError"),                              # cut in half
    (lambda line: json.dumps({k: v for k, v in json.loads(line).items() if k != "choice"}), "checksum"),
    (lambda line: "[1, 2]", "JSON object"),
])
def test_store_detects_a_corrupt_or_partial_line(tmp_path, edit, reason):
    from theory.helm.store import Store

    path = _stored(tmp_path)
    lines = path.read_text().splitlines()
    lines[1] = edit(lines[1])
    path.write_text("\n".join(lines) + "\n")
    fresh = Store(tmp_path)
    with pytest.warns(RuntimeWarning, match="skipped line 2"):
        got = fresh.get(["k0000", "k0001", "k0002"])
    assert set(got) == {"k0000", "k0002"}                 # the corrupt entry is not used
    assert [(n, reason in r) for _, n, r in fresh.problems] == [(2, True)]


@pytest.mark.parametrize("field, value, text", [
    ("confidence", float("nan"), "confidence"), ("confidence", 1.5, "confidence"),
    ("probs", [0.5, float("inf")], "probs"), ("choice", -1, "choice"), ("choice", True, "choice"),
    ("n_bytes", 2.5, "n_bytes"), ("runtime_s", -1.0, "runtime_s"), ("output", 3, "output"),
    ("logprob", float("nan"), "logprob"), ("completions", "abc", "completions"),
])
def test_a_line_with_a_bad_value_is_refused_even_with_a_valid_checksum(field, value, text):
    from dataclasses import asdict

    from theory.helm import schema

    data = asdict(_pred())
    data[field] = value
    body = json.dumps(data, ensure_ascii=False, sort_keys=True)
    line = body[:-1] + f', "check": "{schema._digest(body)}"}}'
    with pytest.raises(ValueError, match=text):
        Prediction.from_json(line, require_checksum=True)
    missing = {k: v for k, v in asdict(_pred()).items() if k != "n_bytes"}
    with pytest.raises(ValueError, match="partial entry"):
        Prediction.from_json(json.dumps(missing))


def test_store_refuses_to_write_what_it_could_not_read_back(tmp_path):
    from theory.helm.store import Store

    st = Store(tmp_path)
    with pytest.raises(ValueError, match="confidence"):
        st.put([_pred(0, ).__class__(**{**_pred(0).__dict__, "confidence": float("nan")})])
    assert st.put([_pred(0)]) == 1 and not Store(tmp_path).problems
    line = st.path("m", "s", "generation").read_text().splitlines()[0]
    assert Prediction.from_json(line, require_checksum=True) == _pred(0)


# -- the closed forms stay finite over their whole legal range ---------------------------------

_prob = st.floats(0.0, 1.0, allow_nan=False)
_probs = st.lists(_prob, min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(c=_probs, n_bins=st.integers(1, 12))
def test_expected_ece_of_a_calibrated_predictor_is_finite_and_bounded(c, n_bins):
    from theory.helm.metrics import expected_ece_calibrated, expected_ece_normal

    exact, normal = expected_ece_calibrated(c, n_bins), expected_ece_normal(c, n_bins)
    assert math.isfinite(exact) and 0.0 <= exact <= 1.0 + 1e-12
    assert math.isfinite(normal) and normal >= 0.0


@settings(max_examples=60, deadline=None)
@given(data=st.data(), n=st.integers(2, 40))
def test_calibration_metrics_are_finite_at_the_extremes(data, n):
    from theory.helm.metrics import calibration_metrics

    c = np.array(data.draw(st.lists(st.sampled_from([0.0, 1e-300, 0.5, 1 - 1e-16, 1.0]) | _prob,
                                    min_size=n, max_size=n)))
    y = np.array(data.draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=n, max_size=n)))
    out = calibration_metrics(c, y)
    assert all(math.isfinite(v) for v in out.values())
    assert all(0.0 <= out[k] <= 1.0 for k in ("ece_10_bin", "ece_1_bin", "selective_acc@10",
                                               "selective_cov_acc_area", "platt_ece_10_bin"))


@settings(max_examples=80, deadline=None)
@given(counts=st.lists(st.floats(0.0, 1.7e308), min_size=2, max_size=6), data=st.data())
def test_total_variation_to_uniform_is_finite_up_to_the_float_limit(counts, data):
    from theory.helm.metrics import total_variation_to_uniform

    sizes = data.draw(st.lists(st.floats(1.0, 1e300), min_size=len(counts), max_size=len(counts)))
    tv = total_variation_to_uniform(counts, sizes)
    c = np.asarray(counts) / np.asarray(sizes)
    if c.max() == 0:
        assert tv is None
        return
    assert math.isfinite(tv) and -1e-12 <= tv <= 1 - 1 / len(counts) + 1e-12
    with np.errstate(over="ignore"):
        finite = np.isfinite(c.sum())
    if finite:                                     # the old formula, where it was finite: identical
        p = c / c.sum()
        assert tv == float(0.5 * np.abs(p - 1.0 / p.size).sum())


@settings(max_examples=80, deadline=None)
@given(lp=st.lists(st.floats(-1e308, 0.0), min_size=1, max_size=6), data=st.data())
def test_bits_per_byte_is_finite_up_to_the_float_limit(lp, data):
    from theory.helm.metrics import bits_per_byte

    nb = data.draw(st.lists(st.floats(1.0, 1e308), min_size=len(lp), max_size=len(lp)))
    bpb = bits_per_byte(lp, nb)
    assert math.isfinite(bpb) and bpb >= 0.0
    with np.errstate(over="ignore"):
        finite = np.isfinite(np.sum(lp)) and np.isfinite(np.sum(nb))
    if finite:
        assert bpb == float(-np.sum(lp) / (math.log(2) * np.sum(nb)))   # unchanged where it was finite


@settings(max_examples=40, deadline=None)
@given(scores=st.lists(st.lists(_prob, min_size=3, max_size=3), min_size=1, max_size=5), threshold=_prob)
def test_toxicity_summary_is_a_set_of_probabilities(scores, threshold):
    from theory.helm.metrics import toxicity_summary

    assert all(0.0 <= v <= 1.0 for v in toxicity_summary(np.array(scores), threshold).values())


@settings(max_examples=40, deadline=None)
@given(table=st.lists(st.lists(st.floats(-1.7e308, 1.7e308), min_size=3, max_size=3), min_size=2, max_size=5))
def test_mean_win_rates_lie_in_the_unit_interval(table):
    from theory.helm.metrics import mean_win_rate

    rates = mean_win_rate(np.array(table), [True, False, True])
    assert np.all((rates >= 0) & (rates <= 1))


@settings(max_examples=25, deadline=None)
@given(a=st.lists(_prob, min_size=2, max_size=20), data=st.data(), level=st.floats(0.5, 0.999))
def test_paired_bootstrap_is_finite(a, data, level):
    from theory.helm.analysis import paired_bootstrap

    b = data.draw(st.lists(_prob, min_size=len(a), max_size=len(a)))
    d, lo, hi = paired_bootstrap(np.array(a), np.array(b), n_boot=100, level=level)
    assert all(math.isfinite(v) and -1 <= v <= 1 for v in (d, lo, hi)) and lo <= hi


@settings(max_examples=20, deadline=None)
@given(low=_prob, width=st.floats(1e-300, 1.0), n_reps=st.integers(2, 4))
def test_ece_bias_study_is_finite_over_every_interval_of_confidences(low, width, n_reps):
    from theory.helm.metrics import ece_bias_study

    high = min(1.0, low + width)
    if not low < high:
        return
    out = ece_bias_study(ns=(2, 5), n_reps=n_reps, low=low, high=high)
    for k in ("sim", "exact", "normal", "sim_1", "exact_1", "normal_1", "se", "se_1"):
        assert np.all(np.isfinite(out[k])), k
    assert np.all(np.isfinite(out["z"]) | (out["se"] == 0))


@settings(max_examples=30, deadline=None)
@given(runtimes=st.lists(st.floats(1e-9, 1e3), min_size=5, max_size=5))
def test_efficiency_fit_r2_is_finite(runtimes):
    from theory.helm.analysis import efficiency_fit

    preds = [replace_runtime(p, t) for p, t in zip(_eff_preds(), runtimes)]
    fit = efficiency_fit(preds, 135_000_000)
    assert all(math.isfinite(fit[k]) for k in ("a", "b", "c", "r2", "flop_rate")) and fit["r2"] <= 1


def replace_runtime(p, t):
    from dataclasses import replace

    return replace(p, runtime_s=t)
