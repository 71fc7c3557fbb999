"""Deterministic stand-ins for the HELM tests: models that need no language model (answers and
probabilities from a digest of the input) and small scenarios of each task."""

from __future__ import annotations

import time

from theory.helm.evaluate import perturbations_of
from theory.helm.schema import Instance, Model, Prediction, Scenario

# -- stand-ins -------------------------------------------------------------------------------


def _digest(text: str) -> int:
    return sum(ord(c) * (k + 1) for k, c in enumerate(text))


class FakeClassifier(Model):
    """Picks a reference from a digest of the input (so perturbations change some answers);
    probabilities from the same digest. Counts the instances it was asked about."""

    def __init__(self, name="FakeClf", has_logprobs=True, tasks=("classification", "multiple_choice"),
                 delay=0.0, batch_size=4):
        self.name, self.has_logprobs, self.tasks = name, has_logprobs, tasks
        self.delay, self.batch_size, self.n_params = delay, batch_size, 1000
        self.asked: list[str] = []
        self.batches: list[int] = []
        self.fits = 0

    def supports(self, scenario, adaptation):
        return scenario.task in self.tasks

    def fit(self, scenario, adaptation):
        self.fits += 1
        return self

    def predict(self, scenario, instances, adaptation):
        self.batches.append(len(instances))
        out = []
        for inst in instances:
            time.sleep(self.delay)
            self.asked.append(inst.input)
            d = _digest(inst.input)
            n = len(inst.references)
            choice = inst.gold[0] if d % 3 else (inst.gold[0] + 1) % n
            conf = 0.5 + (d % 50) / 100
            probs = tuple(conf if j == choice else (1 - conf) / (n - 1) for j in range(n))
            out.append(Prediction(model=self.name, scenario=scenario.name, instance_id=inst.id,
                                  perturbation=inst.perturbation, adaptation=adaptation.method,
                                  output=inst.references[choice], choice=choice,
                                  probs=probs if self.has_logprobs else None,
                                  confidence=conf if self.has_logprobs else None,
                                  n_prompt_tokens=len(inst.input.split()), n_output_tokens=1,
                                  runtime_s=0.001 * (1 + d % 7)))
        return out


class FakeLM(Model):
    """Language modelling (log-probability from the length) and open generation (5 samples)."""

    def __init__(self, name="FakeLM"):
        self.name, self.n_params = name, 10
        self.asked: list[str] = []

    def supports(self, scenario, adaptation):
        return scenario.task in ("language_modeling", "open_generation")

    def predict(self, scenario, instances, adaptation):
        out = []
        for inst in instances:
            self.asked.append(inst.input)
            nb = len(inst.input.encode())
            comps = tuple(f"{inst.input} and she was kind {j}" for j in range(adaptation.num_outputs))
            out.append(Prediction(model=self.name, scenario=scenario.name, instance_id=inst.id,
                                  perturbation=inst.perturbation, adaptation="x", output=comps[0],
                                  completions=comps if scenario.task == "open_generation" else (),
                                  logprob=-0.9 * nb, n_bytes=nb, n_prompt_tokens=nb // 3,
                                  runtime_s=0.002))
        return out


def fake_toxicity(texts):
    return [0.9 if "kind 0" in t else 0.1 for t in texts]


SENTENCES = ["He said the film was good and his friend agreed",
             "She thought it was a bad movie",
             "John did not like the ending at all",
             "The plot was great and he loved it",
             "It was boring, he said, and I do not disagree",
             "numbers only 123",
             "What a wonderful and moving story",
             "The acting was terrible"]


def sentiment(n=8) -> Scenario:
    test = tuple(Instance(f"t{i}", SENTENCES[i % len(SENTENCES)] + f" ({i})", ("Negative", "Positive"),
                          (i % 2,)) for i in range(n))
    train = tuple(Instance(f"r{i}", f"train text {i}", ("Negative", "Positive"), (i % 2,), "train")
                  for i in range(4))
    return Scenario("fake_sentiment", "classification", train, test, robustness=("mild_mix",),
                    fairness=("gender_pronoun", "first_name"))


def knowledge(n=6, relation=False) -> Scenario:
    """Multiple choice; ``relation=True`` tags each instance with a relation (capital/currency)."""
    test = tuple(Instance(f"q{i}", f"What is the capital of country {i}?", ("A", "B", "C", "D"),
                          (i % 4,), meta=(("relation", "capital" if i % 2 else "currency"),) if relation else ())
                 for i in range(n))
    return Scenario("fake_knowledge", "multiple_choice", (), test, robustness=("mild_mix",))


def lm(n=4) -> Scenario:
    test = tuple(Instance(f"l{i}", f"To be or not to be, line {i}.") for i in range(n))
    return Scenario("fake_lm", "language_modeling", (), test, main_metric="bits_per_byte")


def opengen(n=3) -> Scenario:
    test = tuple(Instance(f"g{i}", f"The nurse said that {i}") for i in range(n))
    return Scenario("fake_opengen", "open_generation", (), test, main_metric=None)


def n_requests(scenario, ev_run=None) -> int:
    """Requests a full run of ``scenario`` needs: identity + every perturbation that changes an input."""
    from theory.helm.perturbations import perturb

    n = len(scenario.test)
    for p in perturbations_of(scenario)[1:]:
        n += sum(perturb(i, p).input != i.input for i in scenario.test)
    return n
