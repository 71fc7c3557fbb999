"""The book's core scenarios (theory.helm.scenarios): determinism, sizes, labels by construction,
the demographic metadata, the perturbations' hold on the references, bad input."""

import re

import pytest

from theory.helm import lexicons as L
from theory.helm import perturbations as P
from theory.helm import scenarios as S
from theory.helm.schema import Scenario


@pytest.fixture(scope="module")
def core():
    return S.core_scenarios()


def test_core_names_sizes_and_tasks(core, monkeypatch):
    assert list(core) == ["sentiment", "toxicity_detection", "knowledge", "reasoning",
                          "language_modeling", "open_generation"]
    sizes = {n: len(s.test) for n, s in core.items()}
    assert sizes == {"sentiment": 50, "toxicity_detection": 50, "knowledge": 50,
                     "reasoning": 50, "language_modeling": 10, "open_generation": 20}
    assert len(core["sentiment"].train) == len(core["toxicity_detection"].train) == 400
    assert {n: s.task for n, s in core.items()} == {
        "sentiment": "classification", "toxicity_detection": "classification",
        "knowledge": "multiple_choice", "reasoning": "generation",
        "language_modeling": "language_modeling", "open_generation": "open_generation"}
    for s in core.values():
        assert isinstance(s, Scenario)
        assert all(i.split == "test" and i.id.startswith(f"{s.name}-test-") for i in s.test)
        assert all(i.split == "train" for i in s.train)
    monkeypatch.setenv("THEORY_SCALE", "paper")
    assert len(S.sentiment().test) == 1000 and len(S.knowledge().test) == 256 - 20
    assert len(S.open_generation().test) == 140


def test_determinism(core):
    again = S.core_scenarios()
    for name in core:
        assert again[name].key == core[name].key
        assert again[name] == core[name]
    assert S.sentiment(seed=1).key != core["sentiment"].key
    assert S.sentiment(n_test=10).test == core["sentiment"].test[:10]


def test_sentiment_labels_and_meta(core):
    s = core["sentiment"]
    assert s.robustness == P.ROBUSTNESS and s.fairness == P.FAIRNESS
    assert (s.input_noun, s.output_noun) == ("Passage", "Sentiment")
    labels = [i.gold[0] for i in s.test + s.train]
    assert labels.count(0) == labels.count(1)
    for i in s.test + s.train:
        assert i.references == ("Positive", "Negative")
        words = re.findall(r"[a-z]+", i.input.lower())
        pos = sum(w in L.POSITIVE_WORDS for w in words)
        neg = sum(w in L.NEGATIVE_WORDS for w in words)
        assert pos + neg >= 2
        name, gender, race = i.get("name"), i.get("gender"), i.get("race")
        assert name in i.input and L.name_group(name) == (race, gender)
        own = {"male": {"he", "his", "him"}, "female": {"she", "her"}}[gender]
        other = {"male": {"she", "her"}, "female": {"he", "his", "him"}}[gender]
        assert own & set(words) and not other & set(words)
    groups = {(i.get("race"), i.get("gender")) for i in s.test}
    assert groups == set(L.FIRST_NAMES)


def test_toxicity_labels(core):
    s = core["toxicity_detection"]
    assert s.test[0].references == ("True", "False")
    seen = set(L.TOXIC_NOUNS[:8] + L.TOXIC_ADJECTIVES[:8])
    kinds = {"toxic": 0, "clean": 0, "mention": 0}
    for i in s.test + s.train:
        words = set(re.findall(r"[a-z]+", i.input.lower()))
        insults = words & set(L.TOXIC_WORDS)
        kind = i.get("kind")
        kinds[kind] += 1
        assert (i.gold == (0,)) == (kind == "toxic")
        assert bool(insults) == (kind in ("toxic", "mention"))
        if i.split == "train":
            assert insults <= seen
        assert i.get("name") in i.input
        assert not re.search(r"\ba [aeiou]", i.input)
    assert kinds["mention"] > 0.05 * len(s.test + s.train)
    unseen = set(L.TOXIC_WORDS) - seen
    assert any(set(re.findall(r"[a-z]+", i.input.lower())) & unseen for i in s.test)


def test_knowledge_options(core):
    s = core["knowledge"]
    assert len(S.FACTS) == 64
    train_q = {i.input for i in s.train}
    assert not train_q & {i.input for i in s.test}
    rel = {"capital": 0, "currency": 1, "language": 2, "continent": 3}
    for i in s.test + s.train:
        assert len(i.references) == 4 and len(set(i.references)) == 4 and len(i.gold) == 1
        assert i.references[i.gold[0]] == S.FACTS[i.get("country")][rel[i.get("relation")]]
    positions = [i.gold[0] for i in s.test]
    assert len(set(positions)) == 4


def test_reasoning_answers(core):
    for i in core["reasoning"].test:
        if i.get("kind") == "addition":
            a, b = map(int, re.findall(r"\d+", i.input))
            assert i.references == (str(a + b),) and 10 <= a <= 99 and 10 <= b <= 99
        else:
            seq = i.input.split(": ")[1].split()
            period = next(p for p in (2, 3) if all(seq[k] == seq[k % p] for k in range(len(seq))))
            assert i.references == (seq[len(seq) % period],)


def test_language_modeling_disjoint(core):
    s = core["language_modeling"]
    assert s.main_metric == "bits_per_byte"
    test, train = {i.input for i in s.test}, {i.input for i in s.train}
    assert not test & train and len(train) > 100
    for i in s.test + s.train:
        assert 200 <= len(i.input.encode()) <= 400 and i.references == ()


def test_open_generation_prompts(core):
    s = core["open_generation"]
    assert s.main_metric is None and s.train == ()
    kinds = {i.get("kind") for i in s.test}
    assert kinds <= {"profession", "name", "gender"} and len(kinds) >= 2
    prompts = {i.input for i in S.open_generation(n_test=140).test}
    assert "The nurse said that" in prompts and "My neighbour Jamal" in prompts


def test_references_never_perturbed(core):
    for s in core.values():
        for name in s.robustness + s.fairness:
            for i in s.test[:20]:
                j = P.perturb(i, name)
                assert j.references == i.references and j.gold == i.gold and j.meta == i.meta
    # the fairness counterfactuals do change the sentiment inputs they apply to
    s = core["sentiment"]
    male_white = [i for i in s.test if i.get("gender") == "male" and i.get("race") == "white_american"]
    for i in male_white:
        assert P.perturb(i, "gender_pronoun").input != i.input
        assert P.perturb(i, "first_name").input != i.input
        assert P.perturb(i, "dialect").input != i.input


def test_bad_input():
    with pytest.raises(ValueError, match="n_test"):
        S.sentiment(n_test=0)
    with pytest.raises(TypeError, match="n_train"):
        S.toxicity_detection(n_train=2.5)
    with pytest.raises(ValueError, match="n_test must be <= 236"):
        S.knowledge(n_test=300)
    with pytest.raises(ValueError, match="seed"):
        S.reasoning(seed=-1)
    with pytest.raises(ValueError, match="n_test must be <= 140"):
        S.open_generation(n_test=141)
    with pytest.raises(ValueError, match="n_test must be <="):
        S.language_modeling(n_test=10_000)
    with pytest.raises(ValueError, match="excerpt_bytes"):
        S.language_modeling(excerpt_bytes=10)
