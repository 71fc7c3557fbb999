"""The vocabulary of a holistic evaluation: instances, scenarios, adaptations, predictions, models.

HELM (Liang et al. 2022) measures every *model* on every *scenario* (a task, a domain, a
language, turned into instances with references) under one *adaptation* (how a model is prompted:
HELM's ``AdapterSpec``), and computes every *metric* it can on the per-instance predictions. This
module holds the types the book's miniature shares between its scenarios, models, metrics and the
evaluation tool; the names follow HELM's code (``Instance``, ``Reference``, ``AdapterSpec``,
``RequestState``) where they mean the same thing. The book's reconstruction at laptop scale.

- :class:`Instance`: one input with its candidate references and the indices of the correct ones
  (several may be correct), a split, demographic metadata (for fairness and disparities) and the
  name of the perturbation that produced it (``"identity"`` for the original).
- :class:`Scenario`: train and test instances of one task, the main accuracy metric, and which
  robustness and fairness perturbations apply to it.
- :class:`Adaptation`: the adaptation method and its settings (in-context examples, outputs per
  request, temperature, generated tokens).
- :class:`Prediction`: what a model returned for one (instance, perturbation): its output text,
  the reference it chose, the probability of its output (HELM's ``max_prob``; ``None`` for a
  model without log-probabilities), tokens and runtime. It is one JSON line of the store.
- :class:`Model`: the interface every model implements (``supports``, ``fit``, ``predict``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Mapping, Sequence

__all__ = ["ADAPTATION_METHODS", "Adaptation", "Instance", "Model", "Prediction", "Scenario",
           "TASKS", "content_key"]

#: What a scenario asks of a model.
#: - ``classification``: pick one label among the references (accuracy: exact match);
#: - ``multiple_choice``: pick one option among the references (joint or separate adaptation);
#: - ``generation``: produce a short answer, scored against the gold references (exact match, F1);
#: - ``language_modeling``: assign a log-probability to the input text (bits per byte);
#: - ``open_generation``: continue a prompt, several samples (bias and toxicity of the outputs).
TASKS = ("classification", "multiple_choice", "generation", "language_modeling", "open_generation")

#: HELM's adaptation methods (``adaptation/adapter_spec.py``): generation; multiple choice with
#: all options in one prompt and the answer's letter generated (``multiple_choice_joint``); each
#: option scored separately by its length-normalised log-probability
#: (``multiple_choice_separate_original``) or by its log-probability minus that under a
#: content-free prompt (``multiple_choice_separate_calibrated``); language modelling.
ADAPTATION_METHODS = ("generation", "multiple_choice_joint", "multiple_choice_separate_original",
                      "multiple_choice_separate_calibrated", "language_modeling")


def content_key(*parts: Any) -> str:
    """A stable hex digest of ``parts`` (JSON-serialised, sorted keys): the store's request key."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=_jsonable)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _jsonable(obj):
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} into a content key")


def _check_text(value, name: str, *, empty_ok: bool = False) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not empty_ok and not value.strip():
        raise ValueError(f"{name} must be a non-empty string")
    return value


@dataclass(frozen=True)
class Instance:
    """One evaluation instance (HELM's ``Instance`` with its ``Reference`` list).

    ``references``: the candidate outputs (class labels, options, or gold answers); ``gold``: the
    indices of the correct ones (empty for language modelling and open generation). ``meta``:
    sorted (key, value) pairs, e.g. ``(("gender", "female"), ("name", "Emily"))``; read them with
    :meth:`get`. ``perturbation``: ``"identity"`` for the original, else the perturbation's name;
    a perturbation changes ``input`` only, never the references (as HELM's do).
    """

    id: str
    input: str
    references: tuple[str, ...] = ()
    gold: tuple[int, ...] = ()
    split: str = "test"
    meta: tuple[tuple[str, str], ...] = ()
    perturbation: str = "identity"

    def __post_init__(self):
        _check_text(self.id, "id")
        _check_text(self.input, "input")
        if not isinstance(self.references, tuple) or not all(isinstance(r, str) for r in self.references):
            raise TypeError("references must be a tuple of str")
        if not isinstance(self.gold, tuple) or any(isinstance(g, bool) or not isinstance(g, int)
                                                   for g in self.gold):
            raise TypeError("gold must be a tuple of int indices into references")
        if any(not 0 <= g < len(self.references) for g in self.gold):
            raise ValueError(f"gold indices must lie in [0, {len(self.references)}), got {self.gold}")
        if self.split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test', got {self.split!r}")
        if not isinstance(self.meta, tuple) or any(
                not (isinstance(kv, tuple) and len(kv) == 2 and all(isinstance(x, str) for x in kv))
                for kv in self.meta):
            raise TypeError("meta must be a tuple of (str, str) pairs")
        object.__setattr__(self, "meta", tuple(sorted(self.meta)))
        _check_text(self.perturbation, "perturbation")

    def get(self, key: str, default: str | None = None) -> str | None:
        """The metadata value under ``key`` (or ``default``)."""
        return dict(self.meta).get(key, default)

    def perturbed(self, text: str, perturbation: str) -> "Instance":
        """A copy with ``input`` replaced by ``text`` and ``perturbation`` set (references kept)."""
        return replace(self, input=text, perturbation=perturbation)

    @property
    def gold_texts(self) -> tuple[str, ...]:
        return tuple(self.references[g] for g in self.gold)


@dataclass(frozen=True)
class Scenario:
    """A task as HELM defines one: train and test instances, a main metric, perturbations.

    ``train`` supplies in-context examples (language models) or a training set (classifiers);
    ``test`` is evaluated. ``main_metric``: the accuracy metric of the scenario (``"exact_match"``,
    ``"quasi_exact_match"``, ``"f1"`` or ``"bits_per_byte"``; none for open generation).
    ``robustness`` / ``fairness``: names of the perturbations (``theory.helm.perturbations``) that
    apply; each metric's worst case is taken over ``{identity} ∪ perturbations`` per instance.
    ``input_noun`` / ``output_noun``: HELM's prompt format, ``"{input_noun}: …\\n{output_noun}:"``.
    ``instructions``: the line put before the in-context examples.
    """

    name: str
    task: str
    train: tuple[Instance, ...]
    test: tuple[Instance, ...]
    main_metric: str | None = "exact_match"
    robustness: tuple[str, ...] = ()
    fairness: tuple[str, ...] = ()
    instructions: str = ""
    input_noun: str = "Input"
    output_noun: str = "Output"
    description: str = ""

    def __post_init__(self):
        _check_text(self.name, "name")
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {self.task!r}")
        for split in ("train", "test"):
            items = getattr(self, split)
            if not isinstance(items, tuple) or not all(isinstance(i, Instance) for i in items):
                raise TypeError(f"{split} must be a tuple of Instance")
        if not self.test:
            raise ValueError(f"scenario {self.name!r} has no test instances (an empty scenario)")
        ids = [i.id for i in self.train + self.test]
        if len(set(ids)) != len(ids):
            raise ValueError(f"scenario {self.name!r} has duplicate instance ids")
        if self.main_metric not in (None, "exact_match", "quasi_exact_match", "f1", "bits_per_byte"):
            raise ValueError("main_metric must be None, 'exact_match', 'quasi_exact_match', 'f1' or "
                             f"'bits_per_byte', got {self.main_metric!r}")

    @functools.cached_property
    def key(self) -> str:
        """A digest of the scenario's content (instances, settings): part of every request key
        (computed once per scenario object: the object is frozen)."""
        return content_key(self.name, self.task, self.train, self.test, self.main_metric,
                           self.instructions, self.input_noun, self.output_noun)


@dataclass(frozen=True)
class Adaptation:
    """How a model is prompted (HELM's ``AdapterSpec``; its defaults: 5 in-context examples).

    ``method``: one of :data:`ADAPTATION_METHODS`. ``max_train_instances``: in-context examples
    (HELM's separate multiple-choice adapters use 0). ``num_outputs``: completions per request
    (open generation samples several). ``temperature``: 0 is greedy decoding. ``max_tokens``:
    generated tokens at most. ``seed``: the in-context examples' draw and the sampling seed.
    """

    method: str = "generation"
    max_train_instances: int = 5
    num_outputs: int = 1
    temperature: float = 0.0
    max_tokens: int = 8
    seed: int = 0

    def __post_init__(self):
        if self.method not in ADAPTATION_METHODS:
            raise ValueError(f"method must be one of {ADAPTATION_METHODS}, got {self.method!r}")
        for name in ("max_train_instances", "num_outputs", "max_tokens", "seed"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"{name} must be an int, got {type(v).__name__}")
            if v < (1 if name in ("num_outputs", "max_tokens") else 0):
                raise ValueError(f"{name} must be >= {1 if name in ('num_outputs', 'max_tokens') else 0}, got {v}")
        t = self.temperature
        if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
            raise ValueError(f"temperature must be a finite number >= 0, got {t!r}")

    @property
    def key(self) -> str:
        return content_key(asdict(self))


@dataclass
class Prediction:
    """One model's answer to one (instance, perturbation): a line of the evaluation store.

    ``output``: the completion (or the chosen reference's text); ``choice``: the index of the
    chosen reference (``None`` when the output matches none, or for generation scored by text);
    ``probs``: the model's distribution over the references when it has one; ``confidence``:
    HELM's ``max_prob`` — the probability of the model's output (``None`` for a model without
    log-probabilities, whose calibration is then not computed); ``logprob``: the total
    log-probability (nats) of the output or, for language modelling, of the input text;
    ``n_bytes``: the input's UTF-8 bytes (language modelling); ``completions``: the samples of open
    generation; ``runtime_s``: wall-clock seconds of the request (batched requests share their
    batch's time equally); ``key``: the content key of the request.
    """

    model: str
    scenario: str
    instance_id: str
    perturbation: str
    adaptation: str
    output: str
    choice: int | None = None
    probs: tuple[float, ...] | None = None
    confidence: float | None = None
    logprob: float | None = None
    n_prompt_tokens: int = 0
    n_output_tokens: int = 0
    n_bytes: int = 0
    runtime_s: float = 0.0
    completions: tuple[str, ...] = ()
    key: str = ""
    extra: dict = field(default_factory=dict)

    def to_json(self, *, checksum: bool = False) -> str:
        """One JSON line (sorted keys); with ``checksum`` a last member ``"check"``: the first 16
        hex digits of the SHA-256 of the line without it (the store writes lines so, and detects
        a line altered after it was written)."""
        text = json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)
        if not checksum:
            return text
        return text[:-1] + f', "{CHECK_FIELD}": "{_digest(text)}"}}'

    @classmethod
    def from_json(cls, line: str, *, require_checksum: bool = False) -> "Prediction":
        """The prediction of one JSON line of :meth:`to_json`, or a ``ValueError``/``TypeError``
        saying what is wrong: not JSON, not an object, a missing field (a partial entry), an
        unknown field, a field of the wrong type or a non-finite or out-of-range number, a
        checksum that does not match the line (or none, with ``require_checksum``)."""
        if not isinstance(line, str):
            raise TypeError(f"line must be a str, got {type(line).__name__}")
        data = json.loads(line)
        if not isinstance(data, dict):
            raise ValueError(f"a prediction line must be a JSON object, got {type(data).__name__}")
        check = data.pop(CHECK_FIELD, None)
        if check is not None or require_checksum:
            if check is None:
                raise ValueError(f"the line has no checksum ({CHECK_FIELD!r}): a partial entry or "
                                 "one not written by the store")
            body = json.dumps(data, ensure_ascii=False, sort_keys=True)
            if not isinstance(check, str) or check != _digest(body):
                raise ValueError("the line does not match its checksum: it was altered after it "
                                 "was written")
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"unknown prediction fields {sorted(unknown)}")
        missing = sorted(names - set(data))
        if missing:
            raise ValueError(f"the line lacks the prediction fields {missing} (a partial entry)")
        _check_fields(data)
        for name in ("probs", "completions"):
            if data.get(name) is not None:
                data[name] = tuple(data[name])
        return cls(**data)


#: The member of a stored line that holds its checksum (:meth:`Prediction.to_json`).
CHECK_FIELD = "check"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_real(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check_fields(data: dict) -> None:
    """The field types and ranges of a prediction read back from JSON (a corrupt value is an
    error, never silently used)."""
    def bad(name, what):
        raise ValueError(f"field {name!r} must be {what}, got {data[name]!r}"[:200])

    for name in ("model", "scenario", "instance_id", "perturbation", "adaptation", "output", "key"):
        if not isinstance(data[name], str):
            bad(name, "a str")
    if data["choice"] is not None and not (_is_int(data["choice"]) and data["choice"] >= 0):
        bad("choice", "None or an int >= 0")
    probs = data["probs"]
    if probs is not None and not (isinstance(probs, list) and all(
            _is_real(p) and math.isfinite(p) and 0 <= p <= 1 for p in probs)):
        bad("probs", "None or a list of probabilities in [0, 1]")
    c = data["confidence"]
    if c is not None and not (_is_real(c) and math.isfinite(c) and 0 <= c <= 1):
        bad("confidence", "None or a probability in [0, 1]")
    lp = data["logprob"]
    if lp is not None and not (_is_real(lp) and not math.isnan(lp) and lp != math.inf):
        bad("logprob", "None or a log-probability (a number, not NaN or +inf)")
    for name in ("n_prompt_tokens", "n_output_tokens", "n_bytes"):
        if not (_is_int(data[name]) and data[name] >= 0):
            bad(name, "an int >= 0")
    r = data["runtime_s"]
    if not (_is_real(r) and math.isfinite(r) and r >= 0):
        bad("runtime_s", "a finite number of seconds >= 0")
    if not (isinstance(data["completions"], list) and all(isinstance(t, str) for t in data["completions"])):
        bad("completions", "a list of str")
    if not isinstance(data["extra"], dict):
        bad("extra", "a JSON object")


class Model(ABC):
    """The interface of every evaluated model.

    Attributes: ``name`` (the table's row label), ``has_logprobs`` (False: calibration is skipped,
    as HELM does for models without log-probabilities), ``n_params`` (the parameter count, for
    the efficiency metrics).
    """

    name: str = "model"
    has_logprobs: bool = True
    n_params: int = 0

    @abstractmethod
    def supports(self, scenario: Scenario, adaptation: Adaptation) -> bool:
        """Whether this model can be run on ``scenario`` under ``adaptation`` (HELM's coverage)."""

    def fit(self, scenario: Scenario, adaptation: Adaptation) -> "Model":
        """Learn what the model needs from ``scenario.train`` (a classifier's training set; a
        language model's in-context examples). Returns ``self``. The default does nothing."""
        return self

    @abstractmethod
    def predict(self, scenario: Scenario, instances: Sequence[Instance],
                adaptation: Adaptation) -> list[Prediction]:
        """One :class:`Prediction` per instance, in order (after :meth:`fit`)."""

    def key(self, scenario: Scenario, adaptation: Adaptation) -> str:
        """A digest of everything that shapes this model's outputs on ``scenario`` (weights,
        training data, settings): part of the request key. Subclasses add their weights' hash."""
        return content_key(type(self).__name__, self.name, scenario.key, adaptation.key)


def as_mapping(meta: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """``meta`` as the sorted (key, value) pairs an :class:`Instance` stores."""
    if meta is None:
        return ()
    if not isinstance(meta, Mapping):
        raise TypeError(f"meta must be a mapping of str to str, got {type(meta).__name__}")
    return tuple(sorted((str(k), str(v)) for k, v in meta.items()))
