"""HELM's perturbations (theory.helm.perturbations) and the book's word lists
(theory.helm.lexicons): each component of mild_mix on hand-built sentences, the misspelling rate, the p = 1 fairness maps,
determinism, references never touched, bad input."""

import re

import numpy as np
import pytest

from theory.helm import lexicons as L
from theory.helm import perturbations as P
from theory.helm.schema import Instance

SENT = "He said that I do not like This movie, because his friend Greg is really GOOD with them."


def inst(text=SENT, id="x-test-0000", **kw):
    return Instance(id=id, input=text, references=("Positive", "Negative"), gold=(0,), **kw)


def test_names_and_families():
    assert P.ROBUSTNESS == ("mild_mix",)
    assert P.FAIRNESS == ("dialect", "gender_pronoun", "first_name")
    assert set(P.ROBUSTNESS + P.FAIRNESS) < set(P.PERTURBATIONS)
    assert {"identity", "lowercase", "contraction", "misspelling", "space"} <= set(P.PERTURBATIONS)
    for name in P.PERTURBATIONS:
        assert P.describe(name)


def test_lowercase_exact():
    assert P.perturb_text(SENT, "lowercase") == SENT.lower()


def test_contraction():
    out = P.perturb_text("I do not know. Do not go! It is late and they are not here.", "contraction")
    assert out == "I don't know. Don't go! It's late and they're not here."
    # no expansion → unchanged; a word merely containing one is untouched
    assert P.perturb_text("undo nothing", "contraction") == "undo nothing"


def test_contraction_map_round_trip():
    for short, long in L.CONTRACTIONS.items():
        assert P.perturb_text(long, "contraction") == short


def test_space_runs_become_one_to_three():
    text = " ".join(["word"] * 3000)
    out = P.perturb_text(text, "space", seed=1)
    runs = [len(r) for r in re.findall(r" +", out)]
    assert len(runs) == 2999 and out.split() == text.split()
    counts = np.bincount(runs, minlength=4)
    assert counts[0] == 0 and set(runs) == {1, 2, 3}
    assert np.all(np.abs(counts[1:] / 2999 - 1 / 3) < 0.04)
    # a long run also becomes 1..3 spaces; no other character changes
    out = P.perturb_text("a      b", "space", seed=2)
    assert re.fullmatch(r"a {1,3}b", out)


def test_misspelling_rate_and_case():
    words = sorted(L.MISSPELLINGS)
    text = " ".join(words * 40)  # about 6000 mapped words
    out = P.perturb_text(text, "misspelling", seed=3).split()
    src = text.split()
    assert len(out) == len(src)
    changed = [(a, b) for a, b in zip(src, out) if a != b]
    for a, b in changed:
        assert b in L.MISSPELLINGS[a]
    rate = len(changed) / len(src)
    se = np.sqrt(0.1 * 0.9 / len(src))
    assert abs(rate - 0.1) < 4 * se, rate
    # case matched: a capitalised and an upper-case word keep their case when misspelt
    caps = P.perturb_text(" ".join(["Because"] * 400 + ["BECAUSE"] * 400), "misspelling").split()
    for w in caps[:400]:
        assert w[0].isupper() and w[1:].islower()
    for w in caps[400:]:
        assert w.isupper()
    assert any(w != "Because" for w in caps[:400])
    # words outside the map never change
    assert P.perturb_text("zebra quartz " * 50, "misspelling") == "zebra quartz " * 50


def test_mild_mix_is_the_composition():
    text = "Do NOT watch this film. It is really bad, because the story is boring."
    out = P.perturb_text(text, "mild_mix", seed=5)
    assert out == out.lower()
    assert "don't" in out and "it's" in out
    squeezed = re.sub(r" +", " ", out).split()
    ref = P.perturb_text(text, "contraction").lower().split()
    assert len(squeezed) == len(ref)
    for a, b in zip(ref, squeezed):
        assert a == b or b.strip(".,") in L.MISSPELLINGS.get(a.strip(".,"), ())


def test_gender_pronoun_p1():
    out = P.perturb_text("He told him that his dog hurt himself. HIS! He's here.", "gender_pronoun")
    assert out == "She told her that her dog hurt herself. HER! She's here."
    assert P.perturb_text("she and her", "gender_pronoun") == "she and her"
    # words containing pronouns are untouched
    assert P.perturb_text("the theme hides history", "gender_pronoun") == "the theme hides history"


def test_first_name_keeps_gender_and_is_consistent():
    for gender in L.GENDERS:
        for name in L.FIRST_NAMES[("white_american", gender)]:
            out = P.perturb_text(f"{name} met {name}'s friend.", "first_name", seed=7)
            new = out.split()[0]
            assert new in L.FIRST_NAMES[("black_american", gender)]
            assert out == f"{new} met {new}'s friend."
    # black-American and unknown names are left alone (p = 1 applies to the source group only)
    assert P.perturb_text("Jamal met Zoe.", "first_name") == "Jamal met Zoe."


def test_dialect_p1():
    out = P.perturb_text("This is really the best thing with my brother.", "dialect")
    assert out == "Dis is real da best thing wit my brotha."
    out = P.perturb_text("They are going to leave, it isn't nothing.", "dialect")
    assert out == "Dey are gonna leave, it ain't nothin."


def test_lexicon_shapes():
    assert len(L.FEMALE_WORDS) >= 20 and len(L.MALE_WORDS) >= 20
    assert not set(L.FEMALE_WORDS) & set(L.MALE_WORDS)
    assert set(L.RACE_SURNAMES) == {"asian", "hispanic", "white"}
    assert dict(L.GENDER_GROUPS) == {"female": L.FEMALE_WORDS, "male": L.MALE_WORDS}
    assert L.RACE_GROUPS is L.RACE_SURNAMES
    assert all(len(v) == 15 for v in L.RACE_SURNAMES.values())
    assert len(L.MISSPELLINGS) >= 150
    for word, bad in L.MISSPELLINGS.items():
        assert 1 <= len(bad) <= 3 and word not in bad and word == word.lower()
    for race in L.RACES:
        for gender in L.GENDERS:
            assert len(L.FIRST_NAMES[(race, gender)]) >= 10
    assert L.name_group("Greg") == ("white_american", "male")
    assert L.name_group("Nobody") is None
    assert not set(L.POSITIVE_WORDS) & set(L.NEGATIVE_WORDS)


def test_perturb_instance_changes_input_only_and_is_deterministic():
    x = inst(meta=(("gender", "male"), ("name", "Greg")))
    for name in P.PERTURBATIONS:
        y = P.perturb(x, name, seed=0)
        assert y.references == x.references and y.gold == x.gold and y.meta == x.meta
        assert y.id == x.id and y.split == x.split
        assert y.perturbation == name
        assert P.perturb(x, name, seed=0) == y
    assert P.perturb(x, "identity") is x
    # the stream depends on the instance id and the seed
    long = inst(" ".join(["really good movie"] * 60))
    outs = {P.perturb(long, "mild_mix", seed=s).input for s in range(4)}
    assert len(outs) == 4
    other = inst(long.input, id="x-test-0001")
    assert P.perturb(other, "mild_mix").input != P.perturb(long, "mild_mix").input


def test_perturb_all():
    xs = [inst(id=f"x-test-{i:04d}") for i in range(3)]
    out = P.perturb_all(xs, P.ROBUSTNESS + P.FAIRNESS)
    assert list(out) == ["identity", "mild_mix", "dialect", "gender_pronoun", "first_name"]
    assert all(len(v) == 3 for v in out.values())
    assert out["gender_pronoun"][0].input.startswith("She said")


def test_bad_input():
    x = inst()
    with pytest.raises(ValueError, match="allowed: identity, lowercase"):
        P.perturb(x, "typos")
    with pytest.raises(TypeError, match="name"):
        P.perturb(x, 3)
    with pytest.raises(TypeError, match="instance"):
        P.perturb("text", "lowercase")
    with pytest.raises(ValueError, match="seed"):
        P.perturb(x, "lowercase", seed=-1)
    with pytest.raises(TypeError, match="seed"):
        P.perturb(x, "lowercase", seed=1.5)
    with pytest.raises(ValueError, match="already perturbed"):
        P.perturb(P.perturb(x, "lowercase"), "space")
    with pytest.raises(TypeError, match="text"):
        P.perturb_text(None, "space")
    with pytest.raises(ValueError, match="non-empty"):
        P.perturb_all([], P.ROBUSTNESS)
    with pytest.raises(ValueError, match="unknown perturbation"):
        P.describe("nope")
