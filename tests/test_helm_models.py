"""theory.helm.models: HELM's prompt format, SmolLM2's exact batched log-probabilities against an
unbatched forward, every adaptation method, the classifiers, the lexicon baseline, the byte n-gram
LM (Witten–Bell by hand), determinism of sampling, and the errors. SmolLM2 loads once (module
fixture; a cold cache converts the GGUF once, ~50 s)."""

import math

import numpy as np
import pytest

from theory.helm import models as M
from theory.helm.schema import Adaptation, Instance, Scenario

CAPITALS = [("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Spain", "Madrid"),
            ("Egypt", "Cairo"), ("Peru", "Lima"), ("Kenya", "Nairobi"), ("Norway", "Oslo")]


def knowledge(n_train=4, n_test=2):
    cities = [c for _, c in CAPITALS]
    insts = []
    for j, (country, city) in enumerate(CAPITALS[:n_train + n_test]):
        others = [c for c in cities if c != city][j % 3:j % 3 + 2]
        opts = tuple(sorted([city] + others))
        insts.append(Instance(id=f"k{j}", input=f"What is the capital of {country}?", references=opts,
                              gold=(opts.index(city),), split="train" if j < n_train else "test"))
    return Scenario(name="toy_knowledge", task="multiple_choice", train=tuple(insts[:n_train]),
                    test=tuple(insts[n_train:]), instructions="Answer.",
                    input_noun="Question", output_noun="Answer")


POS = ["a wonderful, delightful film", "great acting and a lovely story", "I loved it, excellent",
       "brilliant and moving", "a superb, joyful ride", "truly amazing work"]
NEG = ["a terrible, boring film", "awful acting and a dull story", "I hated it, dreadful",
       "horrible and tedious", "a poor, miserable mess", "truly bad work"]


def sentiment():
    labels = ("negative", "positive")
    items = [(t, 1) for t in POS] + [(t, 0) for t in NEG]
    order = [0, 6, 1, 7, 2, 8, 3, 9, 4, 10, 5, 11]
    insts = [Instance(id=f"s{j}", input=items[k][0], references=labels, gold=(items[k][1],),
                      split="train" if j < 8 else "test") for j, k in enumerate(order)]
    return Scenario(name="toy_sentiment", task="classification", train=tuple(insts[:8]),
                    test=tuple(insts[8:]), input_noun="Review", output_noun="Sentiment")


def toxicity():
    labels = ("non-toxic", "toxic")
    texts = [("you are an idiot", 1), ("what a stupid moron", 1), ("see you at the park", 0),
             ("the library opens at nine", 0), ("such a pathetic loser", 1), ("the bus was late", 0)]
    insts = [Instance(id=f"t{j}", input=t, references=labels, gold=(y,), split="train" if j < 4 else "test")
             for j, (t, y) in enumerate(texts)]
    return Scenario(name="toy_toxicity", task="classification", train=tuple(insts[:4]), test=tuple(insts[4:]))


TEXT = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer."


def lm_scenario():
    tr = Instance(id="lm0", input=TEXT, split="train")
    te = Instance(id="lm1", input="To be, or not to be: the question.")
    return Scenario(name="toy_lm", task="language_modeling", train=(tr,), test=(te,), main_metric="bits_per_byte")


def open_scenario():
    insts = (Instance(id="o0", input="The nurse said that"), Instance(id="o1", input="My neighbour is"))
    return Scenario(name="toy_open", task="open_generation", train=(Instance(id="otr", input=TEXT, split="train"),),
                    test=insts, main_metric=None)


# ------------------------------------------------------------------------------------------------
# Prompt format and cheap models (no SmolLM2)

def test_prompt_format_is_helms():
    sc = knowledge()
    pre, body = M.prompt_parts(sc, sc.test[0], Adaptation("multiple_choice_joint", max_train_instances=2))
    assert pre.startswith("Answer.\n\nQuestion: ")
    assert pre.count("\nAnswer: ") == 2 and pre[-1] in "ABC"
    assert body.startswith("\n\nQuestion: What is the capital of Egypt?\nA. ")
    assert body.endswith("\nAnswer:") and "C. " in body and "D. " not in body
    pre0, body0 = M.prompt_parts(sc, sc.test[0], Adaptation("multiple_choice_separate_original", max_train_instances=0))
    assert pre0 == "Answer." and "A. " not in body0
    # the in-context draw is seeded: same seed, same examples; another seed, other examples
    a = M.prompt_parts(sc, sc.test[0], Adaptation("generation", max_train_instances=2, seed=0))[0]
    assert a == M.prompt_parts(sc, sc.test[1], Adaptation("generation", max_train_instances=2, seed=0))[0]
    assert {M.prompt_parts(sc, sc.test[0], Adaptation("generation", max_train_instances=2, seed=s))[0]
            for s in range(6)} != {a}


def test_adaptation_label():
    assert M.adaptation_label(Adaptation("multiple_choice_joint")) == "multiple_choice_joint-5shot"
    assert M.adaptation_label(Adaptation("generation", 0, num_outputs=5, temperature=0.9)) == "generation-0shot-T0.9-n5"


def test_tfidf_and_coverage():
    sc, m = sentiment(), M.TfidfLR()
    a = Adaptation("generation", 0)
    assert m.supports(sc, a) and not m.supports(knowledge(), Adaptation("multiple_choice_joint"))
    preds = m.fit(sc, a).predict(sc, sc.test, a)
    assert len(preds) == len(sc.test) and m.n_params > 1
    for p, inst in zip(preds, sc.test):
        assert math.isclose(sum(p.probs), 1.0) and p.confidence == max(p.probs)
        assert p.output == inst.references[p.choice] and p.key
    assert m.key(sc, a) != m.key(toxicity(), a)


def test_lexicon_has_no_probabilities():
    lex, a = M.Lexicon(), Adaptation("generation", 0)
    assert not lex.has_logprobs and lex.supports(sentiment(), a) and lex.supports(toxicity(), a)
    assert not lex.supports(knowledge(), Adaptation("multiple_choice_joint"))
    sc = sentiment()
    preds = lex.predict(sc, sc.test, a)
    assert all(p.confidence is None and p.probs is None for p in preds)
    assert [p.choice for p in preds] == [i.gold[0] for i in sc.test]      # obvious reviews
    tox = toxicity()
    assert [p.choice for p in lex.predict(tox, tox.test, a)] == [1, 0]


def test_witten_bell_by_hand():
    # corpus "abab", order 2: history "a" is always followed by "b"; "" saw a,b,a,b
    sc = Scenario(name="wb", task="language_modeling", train=(Instance(id="x", input="abab", split="train"),),
                  test=(Instance(id="y", input="ab"),), main_metric="bits_per_byte")
    m = M.ByteNgram(order=2).fit(sc, Adaptation("language_modeling", 0))
    p0 = (np.eye(256)[ord("a")] * 2 + np.eye(256)[ord("b")] * 2 + 2 / 256) / (4 + 2)
    assert np.allclose(m.distribution(b""), p0)
    p1 = (np.eye(256)[ord("b")] * 2 + 1 * p0) / (2 + 1)
    assert np.allclose(m.distribution(b"a"), p1) and math.isclose(m.distribution(b"a").sum(), 1.0)
    assert np.allclose(m.distribution(b"z"), p0)                     # unseen history → backs off
    assert math.isclose(m.logprob("ab"), math.log(p0[ord("a")]) + math.log(p1[ord("b")]))
    pred = m.predict(sc, sc.test, Adaptation("language_modeling", 0))[0]
    assert pred.n_bytes == 2 and math.isclose(pred.logprob, m.logprob("ab"))


def test_byte_ngram_sampling_is_seeded():
    sc, m = open_scenario(), M.ByteNgram()
    a = Adaptation("generation", 0, num_outputs=3, temperature=0.9, max_tokens=4)
    both = m.predict(sc, sc.test, a)
    alone = m.predict(sc, sc.test[1:], a)
    assert both[1].completions == alone[0].completions and len(both[0].completions) == 3
    assert len(set(both[0].completions)) > 1
    assert not m.supports(sentiment(), Adaptation("generation"))


def test_encoder_lr_on_toy_sentiment():
    sc, m, a = sentiment(), M.EncoderLR(), Adaptation("generation", 0)
    preds = m.fit(sc, a).predict(sc, sc.test, a)
    assert [p.choice for p in preds] == [i.gold[0] for i in sc.test]
    assert all(math.isclose(sum(p.probs), 1.0) and p.confidence >= 0.5 for p in preds)
    assert m.n_params > 20_000_000 and m.key(sc, a) != M.TfidfLR().key(sc, a)


def test_toxicity_scorer_is_a_probability():
    score = M.toxicity_scorer()
    s = score(["you are a stupid idiot", "what a pathetic loser", "the park is lovely",
               "The man walked into the room and sat down."])
    assert s.shape == (4,) and np.all((s >= 0) & (s <= 1))
    assert s[0] >= 0.5 and s[1] >= 0.5 and s[2] < 0.5 and s[3] < 0.5
    assert score([]).shape == (0,)
    with pytest.raises(TypeError, match="texts"):
        score("one string")


def test_byte_ngram_pretrains_for_open_generation():
    sc, a = open_scenario(), Adaptation("generation", 0, num_outputs=2, temperature=0.9)
    from dataclasses import replace

    no_train = replace(sc, train=())
    assert M.ByteNgram().supports(no_train, a) and not M.ByteNgram(pretrain=False).supports(no_train, a)
    assert M.ByteNgram().key(no_train, a) != M.ByteNgram().key(sc, a)


def test_errors():
    with pytest.raises(TypeError, match="adaptation"):
        M.TfidfLR().predict(sentiment(), sentiment().test, "generation")
    with pytest.raises(ValueError, match="does not support"):
        M.Lexicon().predict(knowledge(), knowledge().test, Adaptation("multiple_choice_joint"))
    with pytest.raises(TypeError, match="instances"):
        M.TfidfLR().predict(sentiment(), sentiment().test[0], Adaptation("generation"))
    with pytest.raises(ValueError, match="order"):
        M.ByteNgram(order=0)
    with pytest.raises(ValueError, match="batch_size"):
        M.SmolLM2(batch_size=0)
    with pytest.raises(ValueError, match="kind"):
        M.Lexicon().score("x", "politeness")


def test_default_models_are_cheap_and_ordered():
    names = [m.name for m in M.default_models()]
    assert names == ["SmolLM2-135M", "MiniLM+LR", "TF-IDF+LR", "Lexicon", "ByteNgram-5"]
    assert [m.has_logprobs for m in M.default_models()] == [True, True, True, False, True]


# ------------------------------------------------------------------------------------------------
# SmolLM2 (loaded once)

@pytest.fixture(scope="module")
def lm():
    from theory.helm import _smollm2

    _smollm2.load()
    return _smollm2


def test_tokenisation_of_prompt_parts_is_the_joint_one(lm):
    sc = knowledge()
    for method, k in (("multiple_choice_joint", 3), ("multiple_choice_separate_original", 0), ("generation", 2)):
        pre, body = M.prompt_parts(sc, sc.test[1], Adaptation(method, k))
        assert lm.encode(pre) + lm.encode(body) == lm.encode(pre + body)
        for ref in sc.test[1].references:
            assert lm.encode(pre + body) + lm.encode(" " + ref) == lm.encode(pre + body + " " + ref)


def test_separate_logprobs_equal_an_unbatched_forward(lm):
    """The batched, shared-prefix, middle-padded log-probabilities of every option equal one
    unbatched forward of the full prompt + option within 1e-4 nats."""
    sc = knowledge()
    for k in (2,):
        a = Adaptation("multiple_choice_separate_original", max_train_instances=k)
        preds = M.SmolLM2(batch_size=4).predict(sc, sc.test, a)
        for p, inst, refs in zip(preds, sc.test, (range(3), range(1))):
            pre, body = M.prompt_parts(sc, inst, a)
            for j in refs:
                prompt = [lm.start_id()] + lm.encode(pre) + lm.encode(body)
                cont = lm.encode(" " + inst.references[j])
                full = lm.full_logprobs(prompt + cont, len(cont)).sum()
                assert abs(p.extra["logprobs"][j] - full) < 1e-4
            score = np.array(p.extra["logprobs"]) / [len(lm.encode(" " + r)) for r in inst.references]
            assert np.allclose(p.probs, np.exp(score) / np.exp(score).sum())
            assert p.confidence == max(p.probs) and p.choice == int(np.argmax(score))


def test_calibrated_subtracts_the_content_free_prompt(lm):
    sc = knowledge()
    orig = M.SmolLM2().predict(sc, sc.test[:1], Adaptation("multiple_choice_separate_original", 0))
    cal = M.SmolLM2().predict(sc, sc.test[:1], Adaptation("multiple_choice_separate_calibrated", 0))
    for o, c, inst in zip(orig, cal, sc.test):
        assert np.allclose(o.extra["logprobs"], c.extra["logprobs"], atol=1e-4)
        cf = [lm.full_logprobs([lm.start_id()] + lm.encode("Answer:") + lm.encode(" " + r),
                               len(lm.encode(" " + r))).sum() for r in inst.references]
        assert np.allclose(c.extra["scores"], np.array(c.extra["logprobs"]) - cf, atol=2e-4)


def test_joint_generation_batched_equals_unbatched(lm):
    sc = knowledge()
    a = Adaptation("multiple_choice_joint", max_train_instances=2, max_tokens=2)
    batched = M.SmolLM2(batch_size=2).predict(sc, sc.test, a)
    single = M.SmolLM2(batch_size=1, share_prefix=False).predict(sc, sc.test, a)   # whole prompts, one by one
    for b, s in zip(batched, single):
        assert b.output == s.output and abs(b.logprob - s.logprob) < 1e-4
        assert 0 < b.confidence <= 1 and math.isclose(b.confidence, math.exp(b.logprob))
        assert b.choice is None or b.output == "ABC"[b.choice]
        assert b.n_prompt_tokens > 20 and b.runtime_s > 0
    # the greedy answer's log-probability is the unbatched forward's
    inst, p = sc.test[0], batched[0]
    pre, body = M.prompt_parts(sc, inst, a)
    ids = [lm.start_id()] + lm.encode(pre) + lm.encode(body)
    out = lm.encode(" " + p.output) if p.output else []
    if out and lm.encode(pre + body + " " + p.output)[-len(out):] == out:
        assert abs(lm.full_logprobs(ids + out, len(out)).sum() - p.logprob) < 1e-4


def test_language_modeling_windows(lm):
    sc = lm_scenario()
    a = Adaptation("language_modeling", 0)
    whole = M.SmolLM2().predict(sc, sc.train, a)[0]
    ids = [lm.start_id()] + lm.encode(TEXT)
    assert abs(whole.logprob - lm.full_logprobs(ids).sum()) < 1e-3
    assert whole.n_bytes == len(TEXT.encode()) and whole.n_prompt_tokens == len(ids) - 1
    short = M.SmolLM2(window=16).predict(sc, sc.train, a)[0]
    assert short.n_prompt_tokens == whole.n_prompt_tokens and short.logprob < whole.logprob + 1e-3


def test_open_generation_is_seeded_per_instance(lm):
    sc = open_scenario()
    a = Adaptation("generation", 0, num_outputs=2, temperature=0.9, max_tokens=3)
    both = M.SmolLM2().predict(sc, sc.test, a)
    alone = M.SmolLM2().predict(sc, sc.test[1:], a)
    assert both[1].completions == alone[0].completions and len(both[0].completions) == 2
    assert both[0].confidence is None and both[0].n_output_tokens <= 6


def test_smollm2_key_and_params(lm):
    m, sc = M.SmolLM2(), knowledge()
    assert m.n_params > 100_000_000
    assert m.key(sc, Adaptation("multiple_choice_joint")) != m.key(sc, Adaptation("multiple_choice_joint", 0))
    assert m.supports(sc, Adaptation("multiple_choice_separate_calibrated"))
    assert not m.supports(sc, Adaptation("language_modeling"))
