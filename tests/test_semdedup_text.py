"""The templated text corpus (theory.semdedup.text): its ground truth, determinism, validation, and
one small check of the offline MiniLM encoder (loaded once, ~10 s)."""

import re
import string
from collections import Counter

import numpy as np
import pytest

from theory.semdedup import text as T

SLOT_WORDS = {w.lower() for w in T.NAMES + T.PLACES + T.DAYS}


def words(s: str) -> Counter:
    return Counter(w.strip(string.punctuation).lower() for w in s.split())


@pytest.fixture(scope="module")
def corpus():
    return T.make_corpus(300, seed=3)


def test_shapes_and_kinds(corpus):
    n = len(corpus)
    assert n == len(corpus.texts) == corpus.group.size == corpus.kind.size == corpus.topic.size
    assert corpus.n_groups == 300 and n > 300
    assert set(corpus.kind) <= set(T.KINDS) and set(corpus.topic) <= set(T.TOPICS)
    assert corpus.group.dtype == np.int64 and corpus.template.dtype == np.int64


def test_every_group_has_one_original_and_one_kind_of_duplicate(corpus):
    for g in np.unique(corpus.group):
        m = corpus.group == g
        kinds = Counter(corpus.kind[m])
        assert len(set(corpus.topic[m])) == 1 and len(set(corpus.template[m])) == 1
        if m.sum() == 1:
            assert kinds == {"unique": 1}
        else:
            assert kinds["original"] == 1 and "unique" not in kinds
            dup = set(kinds) - {"original"}
            assert len(dup) == 1 and 1 <= m.sum() - 1 <= 4          # default max_extra = 4


def test_members_are_what_their_kind_says(corpus):
    checked = Counter()
    for g in np.unique(corpus.group):
        members = corpus.members(int(g))
        kind0, original = members[0]
        assert kind0 in ("original", "unique")
        for kind, s in members[1:]:
            checked[kind] += 1
            if kind == "exact":
                assert s == original
            elif kind == "edit":
                assert s != original and words(s) == words(original)
            else:   # paraphrase: the same content; only names, places, numbers, days change
                assert s != original and s not in [t for _, t in members[:1]]
                changed = (words(s) - words(original)) + (words(original) - words(s))
                assert changed and all(w in SLOT_WORDS or w.isdigit() or w.endswith("'s")
                                       for w in changed), (original, s)
    assert all(checked[k] > 10 for k in ("exact", "edit", "paraphrase"))


def test_distinct_groups_have_distinct_texts(corpus):
    owner = {}
    for s, g in zip(corpus.texts, corpus.group):
        assert owner.setdefault(s, g) == g, f"{s!r} is in two groups"


def test_group_kind_and_examples(corpus):
    gk = corpus.group_kind()
    for g in np.unique(corpus.group):
        m = corpus.group == g
        assert len(set(gk[m])) == 1
        assert gk[m][0] == ("unique" if m.sum() == 1 else
                            (set(corpus.kind[m]) - {"original"}).pop())
    ex = corpus.example_groups(2)
    assert len(ex) == 8 and all(ex[i][1][0] == k for i, k in zip((0, 2, 4), ("exact", "edit", "paraphrase")))
    text_ = corpus.format_examples(1)
    assert text_.count("\n\n") == 3 and all(s in text_ for _, s in ex[0])
    table = corpus.summary()
    assert table["sentences"].sum() == len(corpus) and table["groups"].sum() == corpus.n_groups


def test_topics_differ_in_duplication_as_set():
    c = T.make_corpus(900, seed=0)
    dup = {t: np.mean([(c.group == g).sum() > 1 for g in np.unique(c.group[c.topic == t])])
           for t in T.TOPICS}
    assert dup["weather"] > dup["science"] + 0.3


def test_deterministic_and_seeded():
    a, b, c = T.make_corpus(100, seed=1), T.make_corpus(100, seed=1), T.make_corpus(100, seed=2)
    assert a.texts == b.texts and np.array_equal(a.group, b.group) and np.array_equal(a.kind, b.kind)
    assert a.texts != c.texts


def test_options():
    assert set(T.make_corpus(50, duplicate_rate=0.0).kind) == {"unique"}
    c = T.make_corpus(50, duplicate_rate=1.0, kind_weights=(1, 0, 0), max_extra=1)
    assert set(c.kind) == {"original", "exact"} and len(c) == 100
    for kw, match in [({"n_groups": 0}, "n_groups"), ({"n_groups": 10**6}, "n_groups"),
                      ({"kind_weights": (1, 1)}, "kind_weights"), ({"kind_weights": (0, 0, 0)}, "kind_weights"),
                      ({"duplicate_rate": 1.5}, "duplicate_rate"), ({"duplicate_rate": {"weather": 1}}, "duplicate_rate"),
                      ({"max_extra": 0}, "max_extra"), ({"seed": -1}, "seed")]:
        with pytest.raises(ValueError, match=match):
            T.make_corpus(**kw)
    with pytest.raises(ValueError, match="group_id"):
        T.make_corpus(10).members(10**6)


def test_light_edit():
    rng = np.random.default_rng(0)
    s = "The central bank of Oslo kept interest rates at 4 percent, citing weak growth."
    for _ in range(50):
        e = T.light_edit(s, rng)
        assert e != s and words(e) == words(s)
    with pytest.raises(ValueError, match="text"):
        T.light_edit("two words", rng)
    with pytest.raises(TypeError, match="rng"):
        T.light_edit(s, 0)


def test_templates_have_a_paraphrase_slot_and_known_fields():
    for templates in T.TOPICS.values():
        for template, content in templates:
            fields = set(re.findall(r"{(\w+)}", template))
            assert fields & set(T.PARAPHRASE_SLOTS) and set(content) <= fields
            assert fields - set(content) <= set(T.PARAPHRASE_SLOTS)


def test_encoder_offline_normalised_float32():
    texts = ["Anna makes soup with lentils and a pinch of cumin.",
             "Anna makes soup with lentils and a pinch of cumin.",
             "Marco makes soup with lentils and a pinch of cumin.",
             "The telescope in Oslo observed a quasar about 40 million light years away.",
             "ANNA MAKES SOUP WITH LENTILS AND A PINCH OF CUMIN."]
    E, load_s, encode_s = T.embed_timed(texts, batch_size=2, show_progress=False)
    assert load_s >= 0 and encode_s > 0
    assert E.shape == (5, 384) and E.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(E, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(E[0], E[1], atol=1e-6)
    np.testing.assert_allclose(E[0], E[4], atol=1e-6)    # the encoder lower-cases: case edits are copies
    S = E @ E.T
    assert S[0, 2] > 0.6 and S[0, 3] < 0.3   # a name changed (MiniLM: 0.75) against another topic
    assert T.load_encoder() is T.load_encoder()
    import os
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    for bad, exc in [("one string", TypeError), ([], ValueError), (["ok", ""], ValueError)]:
        with pytest.raises(exc, match="texts"):
            T.embed_texts(bad)
