"""theory.helm.evaluate: the grid, the store's reuse, interruption and resumption, unchanged
perturbations, the table, win rates, coverage and correlations — on deterministic stand-in models
and scenarios defined here."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from theory.helm.evaluate import (BOOK_EXTRAS, METRIC_GROUPS, adaptation_label, book_grid,
                                  default_adaptation, evaluate, evaluate_grid, expected_coverage,
                                  group_columns, headline_table,
                                  metric_coverage, metric_group, pairs, perturbations_of,
                                  request_key, spearman, win_rates)
from theory.helm.schema import Adaptation, Scenario
from theory.helm.store import Store

from helm_fakes import (SENTENCES, FakeClassifier, FakeLM, fake_toxicity, knowledge, lm,  # noqa: E402,F401
                        n_requests, opengen, sentiment)

# -- tests -----------------------------------------------------------------------------------


def test_default_adaptations_follow_the_task():
    assert default_adaptation(sentiment()) == Adaptation("generation", max_train_instances=5, max_tokens=5)
    assert default_adaptation(knowledge()).method == "multiple_choice_joint"
    assert default_adaptation(lm()).method == "language_modeling"
    og = default_adaptation(opengen())
    assert (og.num_outputs, og.temperature, og.max_train_instances) == (5, 0.9, 0)
    k = knowledge()
    assert adaptation_label(k, default_adaptation(k)) == "multiple_choice_joint"
    assert adaptation_label(k, BOOK_EXTRAS[0][2]) == "multiple_choice_joint,max_train_instances=0"
    assert adaptation_label(k, BOOK_EXTRAS[1][2]) == "multiple_choice_separate_original"
    with pytest.raises(TypeError, match="scenario"):
        default_adaptation("sentiment")


def test_evaluate_runs_supported_pairs_and_lists_the_others(tmp_path):
    clf, lmod = FakeClassifier(), FakeLM()
    scen = [sentiment(), knowledge(), lm(), opengen()]
    ev = evaluate([clf, lmod], scen, store=tmp_path, progress=False, toxicity_scorer=fake_toxicity)
    assert ev.complete and len(ev.runs) == 4
    assert sorted(ev.skipped) == sorted([("FakeClf", "fake_lm", "language_modeling"),
                                         ("FakeClf", "fake_opengen", "generation"),
                                         ("FakeLM", "fake_sentiment", "generation"),
                                         ("FakeLM", "fake_knowledge", "multiple_choice_joint")])
    assert ev.n_computed == sum(n_requests(s) for s in scen) and ev.n_stored == 0
    cov = ev.coverage()
    assert cov.shape == (2, 4) and cov.values.sum() == 4
    table = ev.table()
    assert list(table.index) == ["FakeClf", "FakeLM"]
    assert ("fake_sentiment", "robustness") in table.columns and ("fake_lm", "bits_per_byte") in table.columns
    assert math.isnan(table.loc["FakeLM", ("fake_sentiment", "accuracy")])
    assert table.loc["FakeLM", ("fake_lm", "bits_per_byte")] == pytest.approx(0.9 / math.log(2))
    # per instance, robustness and fairness never exceed accuracy: so neither do the means
    for s in ("fake_sentiment", "fake_knowledge"):
        acc = table.loc["FakeClf", (s, "accuracy")]
        assert table.loc["FakeClf", (s, "robustness")] <= acc
    assert table.loc["FakeClf", ("fake_sentiment", "fairness")] <= table.loc["FakeClf", ("fake_sentiment", "accuracy")]
    # open generation: toxicity scores stored with the completions
    run = ev.runs[("FakeLM", "fake_opengen", "generation")]
    assert run.predictions["identity"][0].extra["toxicity"] == [0.9, 0.1, 0.1, 0.1, 0.1]
    assert table.loc["FakeLM", ("fake_opengen", "toxic_frac")] == pytest.approx(0.2)


def test_the_store_answers_a_rerun_and_nothing_reaches_the_model(tmp_path):
    scen = [sentiment(), knowledge()]
    first = evaluate(FakeClassifier(), scen, store=tmp_path, progress=False)
    again_model = FakeClassifier()
    again = evaluate(again_model, scen, store=Store(tmp_path), progress=False)
    assert again.n_computed == 0 and again.n_stored == first.n_computed
    assert again_model.asked == [] and again_model.fits == 0        # not even fitted
    pd.testing.assert_frame_equal(first.table(), again.table())


def test_an_interrupted_evaluation_resumes_without_redoing_or_duplicating(tmp_path):
    scen = [sentiment(), knowledge()]
    total = sum(n_requests(s) for s in scen)
    ref = evaluate(FakeClassifier(), scen, store=tmp_path / "ref", progress=False)
    m1 = FakeClassifier()
    part = evaluate(m1, scen, store=tmp_path / "s", progress=False, limit=7)
    assert part.n_computed == 7 and len(m1.asked) == 7 and not part.complete
    with pytest.raises(ValueError, match="incomplete"):
        part.table()
    m2 = FakeClassifier()
    rest = evaluate(m2, scen, store=tmp_path / "s", progress=False)
    assert (rest.n_computed, rest.n_stored) == (total - 7, 7) and len(m2.asked) == total - 7
    st = Store(tmp_path / "s")
    n_lines = sum(len(p.read_text().splitlines()) for p in st.files())
    assert n_lines == len(st.keys()) == total
    pd.testing.assert_frame_equal(rest.table(), ref.table())


def test_a_corrupt_line_is_recomputed_and_only_it(tmp_path):
    scen = sentiment()
    evaluate(FakeClassifier(), scen, store=tmp_path, progress=False)
    path = Store(tmp_path).files()[0]
    text = path.read_text().splitlines()
    text[3] = text[3][:40]
    path.write_text("\n".join(text) + "\n")
    model = FakeClassifier()
    with pytest.warns(RuntimeWarning, match="skipped line 4"):
        ev = evaluate(model, scen, store=tmp_path, progress=False)
    assert ev.n_computed == 1 and len(model.asked) == 1 and ev.complete


def test_unchanged_perturbations_are_not_requested_but_stand_in_for_the_worst_case(tmp_path):
    scen = sentiment()
    model = FakeClassifier()
    ev = evaluate(model, scen, store=tmp_path, progress=False)
    run = ev.runs[("FakeClf", scen.name, "generation")]
    n_changed = n_requests(scen) - len(scen.test)
    assert run.n_unchanged == 3 * len(scen.test) - n_changed > 0
    assert len(model.asked) == n_requests(scen)
    for pert, row in run.predictions.items():
        assert [p.instance_id for p in row] == [i.id for i in scen.test]
        assert all(p.perturbation == pert for p in row)
    unchanged = [p for p in run.predictions["gender_pronoun"] if p.extra.get("unchanged")]
    assert unchanged and all(p.output == run.predictions["identity"][int(p.instance_id[1:])].output
                             for p in unchanged)


def test_requests_are_batched_and_keys_follow_the_content(tmp_path):
    model = FakeClassifier(batch_size=3)
    scen = sentiment()
    evaluate(model, scen, store=tmp_path / "a", progress=False)
    assert max(model.batches) == 3
    m2 = FakeClassifier()
    evaluate(m2, scen, store=tmp_path / "b", progress=False, batch_size=5)
    assert max(m2.batches) == 5
    a = default_adaptation(scen)
    inst = scen.test[0]
    k = request_key(model.key(scen, a), "identity", inst)
    assert k != request_key(model.key(scen, a), "identity", replace(inst, input=inst.input + "!"))
    assert k != request_key(model.key(scen, replace(a, max_train_instances=0)), "identity", inst)
    assert k != request_key(FakeClassifier(name="other").key(scen, a), "identity", inst)
    assert k in Store(tmp_path / "a").keys()


def test_evaluation_is_deterministic_across_batch_sizes(tmp_path):
    t1 = evaluate(FakeClassifier(batch_size=1), [sentiment(), knowledge()], store=tmp_path / "a",
                  progress=False).table()
    t2 = evaluate(FakeClassifier(batch_size=50), [sentiment(), knowledge()], store=tmp_path / "b",
                  progress=False).table()
    pd.testing.assert_frame_equal(t1, t2)


def test_a_model_without_logprobs_gets_no_calibration(tmp_path):
    ev = evaluate([FakeClassifier(), FakeClassifier("NoProbs", has_logprobs=False)], sentiment(),
                  store=tmp_path, progress=False)
    t = ev.table()
    assert not math.isnan(t.loc["FakeClf", ("fake_sentiment", "ece_10_bin")])
    assert math.isnan(t.loc["NoProbs", ("fake_sentiment", "ece_10_bin")])


def test_several_adaptations_and_the_all_table(tmp_path):
    k = knowledge()
    ev = evaluate(FakeClassifier(), k, {k.name: [default_adaptation(k), BOOK_EXTRAS[1][2]]},
                  store=tmp_path, progress=False)
    assert len(ev.runs) == 2
    assert list(ev.table().index) == ["FakeClf"]
    assert list(ev.table(adaptations="all").index) == ["FakeClf", "FakeClf [multiple_choice_separate_original]"]
    assert ev.summary("FakeClf", k.name)["accuracy"] == ev.table().loc["FakeClf", (k.name, "accuracy")]
    assert set(ev.records()["adaptation"]) == {"multiple_choice_joint", "multiple_choice_separate_original"}
    with pytest.raises(KeyError, match="no run"):
        ev.summary("FakeClf", "nope")


def test_book_grid_adds_the_extra_adaptations_for_the_language_model():
    lm_model = FakeClassifier(name="SmolLM2-135M-Instruct")
    grid = book_grid([lm_model, FakeClassifier()], [sentiment(), replace(knowledge(), name="knowledge")],
                     pages=False)
    assert len(grid) == 2 * 2 + len(BOOK_EXTRAS)
    extras = [(m.name, s.name, a.method) for m, s, a in grid[4:]]
    assert extras == [("SmolLM2-135M-Instruct", "knowledge", a.method) for _, _, a in BOOK_EXTRAS]


# -- aggregation -----------------------------------------------------------------------------


def _table():
    cols = pd.MultiIndex.from_tuples([("a", "accuracy"), ("a", "ece_10_bin"), ("lm", "accuracy"),
                                      ("lm", "bits_per_byte"), ("g", "bias_representation_gender"),
                                      ("g", "toxic_frac"), ("a", "robustness")],
                                     names=["scenario", "metric"])
    return pd.DataFrame([[0.9, 0.10, 1.5, 1.5, np.nan, 0.0, 0.8],
                         [0.9, 0.20, 2.0, 2.0, 0.3, 0.1, 0.6],
                         [0.5, 0.05, np.nan, np.nan, 0.1, 0.1, 0.4]],
                        index=pd.Index(["x", "y", "z"], name="model"), columns=cols)


def test_win_rates_use_helm_ties_directions_and_bits_per_byte():
    w = win_rates(_table())
    # accuracy: column a (x, y tie at the top: 0.5 + 1 = 1.5 wins of 2; z 0), lm in bits per byte
    # (x lower is better: 1 of 1; y 0); x = mean(0.75, 1), y = mean(0.75, 0), z = 0
    assert w.loc["x", "accuracy"] == pytest.approx(0.875)
    assert w.loc["y", "accuracy"] == pytest.approx(0.375)
    assert w.loc["z", "accuracy"] == pytest.approx(0.0)
    assert list(w.loc[:, "calibration"]) == pytest.approx([0.5, 0.0, 1.0])     # lower is better
    assert list(w.loc[:, "toxicity"]) == pytest.approx([1.0, 0.25, 0.25])     # tie at half credit
    assert math.isnan(w.loc["x", "bias"]) and w.loc["z", "bias"] == 1.0
    assert math.isnan(w.loc["x", "fairness"])                                 # no column
    assert list(win_rates(_table(), ["robustness"]).columns) == ["robustness"]
    with pytest.raises(ValueError, match="groups"):
        win_rates(_table(), ["speed"])
    with pytest.raises(TypeError, match="DataFrame"):
        win_rates(np.zeros((2, 2)))


def test_metric_groups_coverage_and_correlation():
    assert metric_group("bias_association_gender_profession") == ("bias", False)
    assert metric_group("accuracy") == ("accuracy", True) and metric_group("num_params") is None
    assert [c for c, _ in group_columns(_table(), "accuracy")] == [("a", "accuracy"), ("lm", "bits_per_byte")]
    cov = metric_coverage(_table())
    assert cov.shape == (3, len(METRIC_GROUPS))
    assert cov.loc["a"].sum() == 3 and cov.loc["lm", "accuracy"] and cov.loc["g"].sum() == 2
    df = pairs(_table(), "accuracy", "robustness")
    assert list(df["model"]) == ["x", "y", "z"]
    rho, n = spearman(_table(), "accuracy", "robustness")
    assert n == 3 and rho == pytest.approx(0.8660254, abs=1e-6)   # ties in accuracy (average ranks)
    with pytest.raises(ValueError, match="at least 3"):
        spearman(_table(), "accuracy", "bits_per_byte")
    with pytest.raises(ValueError, match="differ"):
        pairs(_table(), "accuracy", "accuracy")


def test_headline_table_takes_each_groups_value():
    h = headline_table(_table())
    assert list(h.columns) == [("a", "accuracy"), ("a", "calibration"), ("a", "robustness"),
                               ("lm", "accuracy"), ("g", "bias"), ("g", "toxicity")]
    assert h.loc["y", ("lm", "accuracy")] == 2.0 and h.loc["z", ("g", "bias")] == 0.1


def test_expected_coverage_matches_the_measured_table(tmp_path):
    models, scen = [FakeClassifier(), FakeLM()], [sentiment(), knowledge(), lm(), opengen()]
    ev = evaluate(models, scen, store=tmp_path, progress=False, toxicity_scorer=fake_toxicity)
    exp = expected_coverage(models, scen)
    got = metric_coverage(ev.table())
    assert exp.loc["fake_knowledge", "fairness"] == False and exp.loc["fake_sentiment", "fairness"]  # noqa: E712
    assert exp.loc["fake_opengen"].sum() == 3 and exp.loc["fake_lm"].sum() == 2
    pd.testing.assert_frame_equal(got.loc[exp.index], exp)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="models must not be empty"):
        evaluate([], [sentiment()], store=tmp_path)
    with pytest.raises(ValueError, match="scenarios must not be empty"):
        evaluate(FakeClassifier(), [], store=tmp_path)
    with pytest.raises(TypeError, match="Model"):
        evaluate(["m"], [sentiment()], store=tmp_path)
    with pytest.raises(TypeError, match="Scenario"):
        evaluate(FakeClassifier(), ["s"], store=tmp_path)
    with pytest.raises(ValueError, match="unique"):
        evaluate([FakeClassifier(), FakeClassifier()], sentiment(), store=tmp_path)
    with pytest.raises(ValueError, match="limit"):
        evaluate(FakeClassifier(), sentiment(), store=tmp_path, limit=-1)
    with pytest.raises(ValueError, match="batch_size"):
        evaluate(FakeClassifier(), sentiment(), store=tmp_path, batch_size=0)
    with pytest.raises(TypeError, match="adaptations"):
        evaluate(FakeClassifier(), sentiment(), adaptations=["generation"], store=tmp_path)
    with pytest.raises(ValueError, match="grid is empty"):
        evaluate_grid([], store=tmp_path)

    class Broken(FakeClassifier):
        def predict(self, scenario, instances, adaptation):
            return super().predict(scenario, instances, adaptation)[:-1]

    with pytest.raises(ValueError, match="one Prediction per instance"):
        evaluate(Broken(), sentiment(), store=tmp_path, progress=False)


def _evaluate_in_process(root, queue):
    ev = evaluate(FakeClassifier(delay=0.01, batch_size=2), [sentiment(), knowledge()], store=root,
                  progress=False)
    queue.put((ev.n_computed, ev.n_stored, ev.table().to_json()))


def test_two_processes_on_one_store_take_turns_and_compute_each_request_once(tmp_path):
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_evaluate_in_process, args=(str(tmp_path), queue)) for _ in range(2)]
    for p in procs:
        p.start()
    got = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    total = n_requests(sentiment()) + n_requests(knowledge())
    assert sum(c for c, _, _ in got) == total and all(c + s == total for c, s, _ in got)
    assert got[0][2] == got[1][2]
    st = Store(tmp_path)
    assert sum(len(p.read_text().splitlines()) for p in st.files()) == len(st.keys()) == total
