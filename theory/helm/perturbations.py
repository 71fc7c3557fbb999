"""HELM's robustness and fairness perturbations, with the book's small word lists.

A perturbation rewrites an instance's ``input`` and never its references (HELM's perturbations
change only the text a model reads; the gold answer stays). HELM evaluates a model on the
original and on each perturbed copy and takes the per-instance worst case (the metrics module).

Robustness (HELM code, ``augmentations/mild_mix_perturbation.py``): ``mild_mix`` is the
composition, in this order, of

1. ``lowercase`` (``augmentations/lowercase_perturbation.py``): the whole input lower-cased;
2. ``contraction`` (``augmentations/contraction_expansion_perturbation.py``): each expansion
   replaced by its contraction ("do not" → "don't"), the first letter's case kept;
3. ``misspelling`` (``augmentations/misspelling_perturbation.py``): each word found in the
   misspelling map is replaced, independently with probability p = 0.1, by one of its listed
   misspellings drawn uniformly, case-matched to the word;
4. ``space`` (``augmentations/space_perturbation.py``): each run of spaces becomes
   ``randint(1, 3)`` spaces (uniform on {1, 2, 3}).

Each component is also available alone under its name.

Fairness (HELM code, ``augmentations/dialect_perturbation.py``, ``gender_perturbation.py``,
``person_name_perturbation.py``; the specs of ``run_expander.py``), each with p = 1:

- ``dialect``: Standard American English → African American English by a word/phrase map;
- ``gender_pronoun``: male → female pronouns ("he" → "she", "him"/"his" → "her", ...);
- ``first_name``: each first name of the white-American list → a black-American first name of
  the same gender (drawn once per distinct name in the input, so a name is replaced consistently).

HELM downloads its dialect map and name lists at run time; the book uses its own small lists
(:mod:`theory.helm.lexicons`), so the maps are the book's, the procedures HELM's. The word
tokenisation (runs of letters with an inner apostrophe) is the book's.

Determinism: the random stream of ``perturb(instance, name, seed=s)`` is
``config_seed("helm.perturbation", instance.id, name, s)``: the same in any process, order or batch.
"""

from __future__ import annotations

import re
from typing import Callable, Iterable, Mapping

import numpy as np

from theory.core import check_seed, config_seed
from theory.helm._checks import sequence, str_list
from theory.helm import lexicons
from theory.helm.schema import Instance

__all__ = ["FAIRNESS", "PERTURBATIONS", "ROBUSTNESS", "describe", "perturb", "perturb_all",
           "perturb_text"]

#: HELM's canonical robustness perturbation (``run_expander.py``: ``mild_mix``).
ROBUSTNESS = ("mild_mix",)
#: HELM's fairness perturbations: dialect, gender pronouns, first names.
FAIRNESS = ("dialect", "gender_pronoun", "first_name")

MISSPELLING_PROB = 0.1
MAX_SPACES = 3

_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_NAME = re.compile(r"\b[A-Z][A-Za-z]+\b")
_SPACES = re.compile(r" +")


def _match_case(source: str, target: str) -> str:
    """``target`` in the case of ``source``: all upper, first letter upper, or as is."""
    if len(source) > 1 and source.isupper():
        return target.upper()
    if source[:1].isupper():
        return target[:1].upper() + target[1:]
    return target


def _phrase_regex(keys: Iterable[str]) -> re.Pattern:
    alts = sorted(keys, key=lambda k: (-len(k), k))
    return re.compile(r"(?<![A-Za-z'])(" + "|".join(re.escape(k) for k in alts) + r")(?![A-Za-z'])",
                      re.IGNORECASE)


def _map_phrases(text: str, mapping: Mapping[str, str], pattern: re.Pattern) -> str:
    return pattern.sub(lambda m: _match_case(m.group(0), mapping[m.group(0).lower()]), text)


_EXPANSION_TO_CONTRACTION = {v: k for k, v in lexicons.CONTRACTIONS.items()}
_CONTRACTION_RE = _phrase_regex(_EXPANSION_TO_CONTRACTION)
_DIALECT_RE = _phrase_regex(lexicons.SAE_TO_AAVE)
_PRONOUN_RE = _phrase_regex(lexicons.PRONOUNS_MALE_TO_FEMALE)


def _identity(text: str, rng: np.random.Generator) -> str:
    return text


def _lowercase(text: str, rng: np.random.Generator) -> str:
    return text.lower()


def _contraction(text: str, rng: np.random.Generator) -> str:
    return _map_phrases(text, _EXPANSION_TO_CONTRACTION, _CONTRACTION_RE)


def _misspelling(text: str, rng: np.random.Generator) -> str:
    def sub(m):
        word = m.group(0)
        options = lexicons.MISSPELLINGS.get(word.lower())
        if options is None:
            return word
        if rng.random() >= MISSPELLING_PROB:
            return word
        return _match_case(word, options[int(rng.integers(len(options)))])

    return _WORD.sub(sub, text)


def _space(text: str, rng: np.random.Generator) -> str:
    return _SPACES.sub(lambda m: " " * int(rng.integers(1, MAX_SPACES + 1)), text)


def _mild_mix(text: str, rng: np.random.Generator) -> str:
    for step in (_lowercase, _contraction, _misspelling, _space):
        text = step(text, rng)
    return text


def _dialect(text: str, rng: np.random.Generator) -> str:
    return _map_phrases(text, lexicons.SAE_TO_AAVE, _DIALECT_RE)


def _gender_pronoun(text: str, rng: np.random.Generator) -> str:
    return _map_phrases(text, lexicons.PRONOUNS_MALE_TO_FEMALE, _PRONOUN_RE)


def _first_name(text: str, rng: np.random.Generator) -> str:
    chosen: dict[str, str] = {}

    def sub(m):
        name = m.group(0)
        group = lexicons.name_group(name)
        if group is None or group[0] != "white_american":
            return name
        if name not in chosen:
            targets = lexicons.FIRST_NAMES[("black_american", group[1])]
            chosen[name] = targets[int(rng.integers(len(targets)))]
        return chosen[name]

    return _NAME.sub(sub, text)


_FUNCTIONS: dict[str, Callable[[str, np.random.Generator], str]] = {
    "identity": _identity,
    "lowercase": _lowercase,
    "contraction": _contraction,
    "misspelling": _misspelling,
    "space": _space,
    "mild_mix": _mild_mix,
    "dialect": _dialect,
    "gender_pronoun": _gender_pronoun,
    "first_name": _first_name,
}

_DESCRIPTIONS = {
    "identity": "the original input",
    "lowercase": "the input lower-cased",
    "contraction": "expansions contracted ('do not' → 'don't')",
    "misspelling": f"each mapped word misspelt with p = {MISSPELLING_PROB}",
    "space": f"each run of spaces → randint(1, {MAX_SPACES}) spaces",
    "mild_mix": "lowercase → contraction → misspelling (p = 0.1) → space (1–3)",
    "dialect": "SAE → AAVE word map (p = 1)",
    "gender_pronoun": "male → female pronouns (p = 1)",
    "first_name": "white- → black-American first names, gender kept (p = 1)",
}

#: Every perturbation name ``perturb`` accepts (``identity`` returns the instance itself).
PERTURBATIONS = tuple(_FUNCTIONS)


def _check_name(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if name not in _FUNCTIONS:
        raise ValueError(f"unknown perturbation name {name!r}; allowed: {', '.join(PERTURBATIONS)}")
    return name


def _check_seed(seed, name: str = "seed") -> int:
    return check_seed(seed, name)


def describe(name: str) -> str:
    """A one-line description of perturbation ``name``."""
    return _DESCRIPTIONS[_check_name(name)]


def perturb_text(text: str, name: str, *, seed: int = 0, key: str = "text") -> str:
    """Perturbation ``name`` applied to ``text`` with the stream
    ``config_seed("helm.perturbation", key, name, seed)`` (``key`` plays the instance id)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    _check_name(name)
    seed = _check_seed(seed)
    if not isinstance(key, str):
        raise TypeError(f"key must be a str, got {type(key).__name__}")
    rng = np.random.default_rng(config_seed("helm.perturbation", key, name, seed))
    return _FUNCTIONS[name](text, rng)


def perturb(instance: Instance, name: str, *, seed: int = 0) -> Instance:
    """``instance`` with its ``input`` perturbed by ``name`` (references, gold, meta unchanged).

    ``meta`` keeps the original's demographics (the subgroup of an instance is that of its
    original). Deterministic per (``instance.id``, ``name``, ``seed``). ``"identity"`` returns the
    instance itself. Only an original (``perturbation == "identity"``) can be perturbed.
    """
    if not isinstance(instance, Instance):
        raise TypeError(f"instance must be an Instance, got {type(instance).__name__}")
    _check_name(name)
    seed = _check_seed(seed)
    if instance.perturbation != "identity":
        raise ValueError(f"instance {instance.id!r} is already perturbed ({instance.perturbation!r}); "
                         "perturb the original")
    if name == "identity":
        return instance
    return instance.perturbed(perturb_text(instance.input, name, seed=seed, key=instance.id), name)


def perturb_all(instances: Iterable[Instance], names: Iterable[str], *, seed: int = 0,
                ) -> dict[str, tuple[Instance, ...]]:
    """``{name: perturbed instances}`` for ``identity`` and each of ``names`` (in order)."""
    instances = tuple(sequence(instances, "instances"))
    if not instances:
        raise ValueError("instances must be non-empty")
    for k, inst in enumerate(instances):
        if not isinstance(inst, Instance):
            raise TypeError(f"instances[{k}] must be an Instance, got {type(inst).__name__}")
    names = [_check_name(n) for n in str_list(names, "names", nonempty=False)]
    seed = _check_seed(seed)
    out = {"identity": instances}
    for name in names:
        out[name] = tuple(perturb(inst, name, seed=seed) for inst in instances)
    return out
