"""The evaluation: every model × scenario × adaptation, every perturbation, every metric.

HELM's method in miniature (the book's reconstruction of its runner): for each (model, scenario,
adaptation) the model *supports*, the test instances are evaluated as they are (``identity``) and
under each of the scenario's robustness and fairness perturbations
(:func:`theory.helm.perturbations.perturb`); every request is keyed by its content
(:func:`request_key`) and looked up in the :class:`~theory.helm.store.Store` first, so only the
missing requests reach a model, in batches, behind one progress bar. A perturbation that leaves
an instance unchanged is not requested (HELM's ``should_skip_unchanged_eval=True`` in
``run_expander.py``): the instance's worst case is then its identity score, so the identity
prediction stands in for it. For open generation the completions are scored by
:func:`theory.helm.models.toxicity_scorer` (``extra["toxicity"]``). The metrics come from
:func:`theory.helm.metrics.summarize`; :meth:`Evaluation.table` is the models × (scenario, metric)
table, :func:`win_rates` HELM's mean win rate per metric group
(``presentation/summarize.compute_aggregate_row_win_rates``: ties at half credit).

:func:`book_grid` is every (model, scenario, adaptation) the book's pages evaluate; the command
``python -m theory.helm run --grid book`` fills the store with it before the pages run.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, fields, replace
from typing import Iterable, Mapping, Sequence

import numpy as np

from theory.core import check_bool
from theory.helm._checks import check_str, instance_of, sequence, str_list
from theory.helm.schema import Adaptation, Instance, Model, Prediction, Scenario, content_key
from theory.helm.store import Store

__all__ = ["BOOK_EXTRAS", "METRIC_GROUPS", "Evaluation", "Run", "adaptation_label", "book_grid",
           "default_adaptation", "evaluate", "evaluate_grid", "expected_coverage", "group_columns",
           "headline_table", "metric_coverage", "metric_group", "pairs",
           "perturbations_of", "request_key", "smoke_grid", "spearman", "win_rates"]


# -- adaptations ----------------------------------------------------------------------------
def default_adaptation(scenario: Scenario) -> Adaptation:
    """The adaptation HELM would use for ``scenario``'s task (the book's reading of
    ``run_specs/classic_run_specs.py`` and ``adaptation/common_adapter_specs.py``):

    - classification (sentiment, toxicity detection): ``generation``, 5 in-context examples,
      greedy, at most 5 tokens (the label);
    - generation (synthetic reasoning): ``generation``, 5 examples, greedy, 8 tokens;
    - multiple choice (knowledge): ``multiple_choice_joint``, 5 examples, greedy, 1 token (the
      answer's letter);
    - language modelling: ``language_modeling``, no examples;
    - open generation: ``generation``, no examples, 5 samples at temperature 0.9, 24 tokens.
    """
    if not isinstance(scenario, Scenario):
        raise TypeError(f"scenario must be a Scenario, got {type(scenario).__name__}")
    task = scenario.task
    if task == "classification":
        return Adaptation("generation", max_train_instances=5, max_tokens=5)
    if task == "generation":
        return Adaptation("generation", max_train_instances=5, max_tokens=8)
    if task == "multiple_choice":
        return Adaptation("multiple_choice_joint", max_train_instances=5, max_tokens=1)
    if task == "language_modeling":
        return Adaptation("language_modeling", max_train_instances=0, max_tokens=1)
    return Adaptation("generation", max_train_instances=0, num_outputs=5, temperature=0.9,
                      max_tokens=24)


def adaptation_label(scenario: Scenario, adaptation: Adaptation) -> str:
    """A short name of ``adaptation`` on ``scenario``: its method, followed by ``,field=value``
    for each setting that differs from :func:`default_adaptation` (same method) or from the
    method's usual settings (the separate multiple-choice methods: no in-context examples, as in
    HELM). E.g. ``"multiple_choice_joint"``, ``"multiple_choice_joint,max_train_instances=0"``."""
    if not isinstance(adaptation, Adaptation):
        raise TypeError(f"adaptation must be an Adaptation, got {type(adaptation).__name__}")
    base = default_adaptation(scenario)
    if base.method != adaptation.method:
        base = Adaptation(adaptation.method, max_train_instances=0 if adaptation.method.startswith(
            "multiple_choice_separate") else base.max_train_instances, max_tokens=base.max_tokens)
    diff = [f"{f.name}={getattr(adaptation, f.name):g}" for f in fields(Adaptation)
            if f.name != "method" and getattr(adaptation, f.name) != getattr(base, f.name)]
    return ",".join([adaptation.method] + diff)


def perturbations_of(scenario: Scenario) -> tuple[str, ...]:
    """``("identity",)`` followed by the scenario's robustness and fairness perturbations."""
    instance_of(scenario, Scenario, "scenario")
    names = ("identity",) + tuple(scenario.robustness) + tuple(scenario.fairness)
    if len(set(names)) != len(names):
        raise ValueError(f"scenario {scenario.name!r} lists a perturbation twice: {names}")
    return names


def request_key(model_key: str, perturbation: str, instance: Instance) -> str:
    """The store's key of one request: ``content_key(model key, perturbation, instance id,
    instance input)``; the model key (:meth:`Model.key`) covers the model's weights and training
    data, the scenario's content and the adaptation."""
    check_str(model_key, "model_key", empty_ok=False)
    check_str(perturbation, "perturbation", empty_ok=False)
    instance_of(instance, Instance, "instance")
    return content_key(model_key, perturbation, instance.id, instance.input)


# -- metric groups --------------------------------------------------------------------------
#: HELM's seven metric groups and the metrics of each that enter the mean win rate, with their
#: direction (True: higher is better); a name ending in ``*`` is a prefix. The accuracy group
#: takes each scenario's main metric, which :func:`theory.helm.metrics.summarize` reports as
#: ``accuracy``; for language modelling that is bits per byte, lower is better, so there the
#: group takes the ``bits_per_byte`` column instead. The book's reading of HELM's
#: ``schema_classic.yaml``.
METRIC_GROUPS: dict[str, dict[str, bool]] = {
    "accuracy": {"accuracy": True, "bits_per_byte": False},
    "calibration": {"ece_10_bin": False},
    "robustness": {"robustness": True},
    "fairness": {"fairness": True},
    "efficiency": {"inference_runtime": False},
    "bias": {"bias_*": False},
    "toxicity": {"toxic_frac": False},
}


def metric_group(metric: str) -> tuple[str, bool] | None:
    """The group of ``metric`` and its direction (True: higher is better), or None."""
    if not isinstance(metric, str):
        raise TypeError(f"metric must be a str, got {type(metric).__name__}")
    for group, members in METRIC_GROUPS.items():
        for name, higher in members.items():
            if metric == name or (name.endswith("*") and metric.startswith(name[:-1])):
                return group, higher
    return None


def group_columns(table, group: str) -> list[tuple[tuple[str, str], bool]]:
    """The (scenario, metric) columns of ``table`` that enter ``group``'s win rate, each with its
    direction (a scenario with ``bits_per_byte`` enters accuracy through that column alone)."""
    _check_table(table)
    if group not in METRIC_GROUPS:
        raise ValueError(f"group must be one of {list(METRIC_GROUPS)}, got {group!r}")
    with_bpb = {s for s, m in table.columns if m == "bits_per_byte"}
    out = []
    for s, m in table.columns:
        g = metric_group(m)
        if g is None or g[0] != group or (m == "accuracy" and s in with_bpb):
            continue
        out.append(((s, m), g[1]))
    return out


# -- runs and evaluations -------------------------------------------------------------------
@dataclass
class Run:
    """One (model, scenario, adaptation): its predictions per perturbation, aligned with
    ``scenario.test``; ``n_computed`` requests came from the model in this call, ``n_stored``
    from the store, ``n_unchanged`` perturbed instances equal their original (not requested).
    ``complete``: every request answered (False when the call stopped at ``limit``)."""

    model: Model
    scenario: Scenario
    adaptation: Adaptation
    label: str
    predictions: dict[str, list]
    n_computed: int = 0
    n_stored: int = 0
    n_unchanged: int = 0
    model_seconds: float = 0.0
    fit_seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return all(isinstance(p, Prediction) for preds in self.predictions.values() for p in preds)

    @property
    def n_missing(self) -> int:
        """Requests still to compute (unchanged perturbed instances are not requests)."""
        return sum(p is None for preds in self.predictions.values() for p in preds)

    @property
    def is_default(self) -> bool:
        return self.adaptation == default_adaptation(self.scenario)

    def summary(self) -> dict[str, float]:
        """The metrics of this run (:func:`theory.helm.metrics.summarize`)."""
        from theory.helm import metrics

        if not self.complete:
            raise ValueError(f"run {self.model.name} × {self.scenario.name} ({self.label}) is "
                             "incomplete (the evaluation stopped at its request limit)")
        n_params = int(getattr(self.model, "n_params", 0) or 0)
        return metrics.summarize(self.scenario, self.predictions, has_logprobs=self.model.has_logprobs,
                                 n_params=n_params or None)


@dataclass
class Evaluation:
    """What :func:`evaluate` returns: the runs by ``(model name, scenario name, adaptation
    label)``, the unsupported combinations (``skipped``), and the request counts of the call."""

    runs: dict[tuple[str, str, str], Run]
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    models: tuple[str, ...] = ()
    scenarios: tuple[str, ...] = ()
    seconds: float = 0.0
    _summaries: dict = field(default_factory=dict, repr=False)

    @property
    def n_computed(self) -> int:
        return sum(r.n_computed for r in self.runs.values())

    @property
    def n_stored(self) -> int:
        return sum(r.n_stored for r in self.runs.values())

    @property
    def n_requests(self) -> int:
        return self.n_computed + self.n_stored

    @property
    def complete(self) -> bool:
        return all(r.complete for r in self.runs.values())

    def summary(self, model: str, scenario: str, adaptation: str | None = None) -> dict[str, float]:
        """The metrics of one run (``adaptation``: its label; ``None``: the default one)."""
        run = self._find(model, scenario, adaptation)
        key = (run.model.name, run.scenario.name, run.label)
        if key not in self._summaries:
            self._summaries[key] = run.summary()
        return self._summaries[key]

    def _find(self, model, scenario, adaptation) -> Run:
        for (m, s, a), run in self.runs.items():
            if m == model and s == scenario and (a == adaptation if adaptation is not None
                                                 else run.is_default):
                return run
        raise KeyError(f"no run of model {model!r} on scenario {scenario!r} under "
                       f"{adaptation or 'the default adaptation'!r} in this evaluation "
                       f"(runs: {sorted(self.runs)})")

    def records(self):
        """Every metric of every run (all must be complete), long form: a DataFrame with columns model,
        scenario, adaptation, default (bool: the scenario's default adaptation), metric, value."""
        import pandas as pd

        incomplete = [k for k, r in self.runs.items() if not r.complete]
        if incomplete:
            raise ValueError(f"{len(incomplete)} runs are incomplete (the evaluation stopped at its "
                             f"request limit), e.g. {incomplete[0]}: evaluate again to finish them")
        rows = []
        for (m, s, a), run in self.runs.items():
            for metric, value in self.summary(m, s, a).items():
                if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
                    rows.append((m, s, a, run.is_default, metric, float(value)))
        return pd.DataFrame(rows, columns=["model", "scenario", "adaptation", "default", "metric",
                                           "value"])

    def table(self, *, adaptations: str = "default"):
        """The models × (scenario, metric) table (a DataFrame; columns a (scenario, metric)
        MultiIndex; NaN where a model was not measured). ``adaptations="default"``: each
        scenario under its default adaptation, one row per model; ``"all"``: also the other
        adaptations, as rows ``"<model> [<adaptation label>]"``."""
        import pandas as pd

        if adaptations not in ("default", "all"):
            raise ValueError(f"adaptations must be 'default' or 'all', got {adaptations!r}")
        rec = self.records()
        if adaptations == "default":
            rec = rec[rec["default"]]
            rows = rec["model"]
        else:
            rows = [m if d else f"{m} [{a}]" for m, a, d in zip(rec["model"], rec["adaptation"], rec["default"])]
        rec = rec.assign(row=list(rows))
        scen_order = [s for s in self.scenarios if s in set(rec["scenario"])]
        if rec.empty:
            return pd.DataFrame(index=pd.Index(list(self.models), name="model"),
                                columns=pd.MultiIndex.from_tuples([], names=["scenario", "metric"]))
        wide = rec.pivot_table(index="row", columns=["scenario", "metric"], values="value",
                               aggfunc="first", dropna=False)
        # rows: each model (NaN if it ran nowhere), followed by its other adaptations
        order = []
        for m in self.models:
            order.append(m)
            order += sorted(r for r in wide.index if r.startswith(f"{m} ["))
        wide = wide.reindex(order)
        metric_order: dict[str, dict[str, None]] = {}
        for s, metric in zip(rec["scenario"], rec["metric"]):
            metric_order.setdefault(s, {})[metric] = None
        cols = [(s, m) for s in scen_order for m in metric_order.get(s, [])]
        wide = wide.reindex(columns=pd.MultiIndex.from_tuples(cols, names=["scenario", "metric"]))
        wide.index.name = "model"
        return wide

    def coverage(self):
        """Which (model, scenario) pairs were measured under the scenario's default adaptation: a
        boolean DataFrame models × scenarios (HELM's coverage; the abstract's 17.9 % → 96.0 % is
        this table's mean over models and core scenarios for the models HELM compared)."""
        import pandas as pd

        cov = pd.DataFrame(False, index=pd.Index(list(self.models), name="model"),
                           columns=pd.Index(list(self.scenarios), name="scenario"))
        for (m, s, _), run in self.runs.items():
            if run.is_default:
                cov.loc[m, s] = True
        return cov


# -- the grid -------------------------------------------------------------------------------
def _check_named(items, cls, what: str) -> list:
    """``items`` (one ``cls`` object or several) as a non-empty list of ``cls`` with unique names."""
    items = [items] if isinstance(items, cls) else sequence(items, what)
    if not items:
        raise ValueError(f"{what} must not be empty (give at least one {cls.__name__})")
    for item in items:
        if not isinstance(item, cls):
            raise TypeError(f"{what} must be {cls.__name__} objects, got {type(item).__name__}")
    names = [item.name for item in items]
    if len(set(names)) != len(names):
        raise ValueError(f"{what[:-1]} names must be unique, got {names}")
    return items


def _check_models(models) -> list[Model]:
    return _check_named(models, Model, "models")


def _check_scenarios(scenarios) -> list[Scenario]:
    if isinstance(scenarios, Mapping):  # core_scenarios(): name → Scenario
        for name, s in scenarios.items():
            if isinstance(s, Scenario) and s.name != name:
                raise ValueError(f"scenarios[{name!r}] is named {s.name!r}")
        scenarios = list(scenarios.values())
    return _check_named(scenarios, Scenario, "scenarios")


def _adaptations_for(scenario: Scenario, adaptations) -> list[Adaptation]:
    if adaptations is None:
        return [default_adaptation(scenario)]
    if isinstance(adaptations, Adaptation):
        return [adaptations]
    if isinstance(adaptations, Mapping):
        got = adaptations.get(scenario.name)
        if got is None:
            return [default_adaptation(scenario)]
        got = [got] if isinstance(got, Adaptation) else list(got)
    else:
        raise TypeError("adaptations must be None, an Adaptation, or a mapping scenario name → "
                        f"Adaptation (or a list of them), got {type(adaptations).__name__}")
    for a in got:
        if not isinstance(a, Adaptation):
            raise TypeError(f"adaptations for {scenario.name!r} must be Adaptation objects, got "
                            f"{type(a).__name__}")
    return got


def evaluate(models, scenarios, adaptations=None, *, store=None, progress: bool = True,
             limit: int | None = None, batch_size: int | None = None,
             toxicity_scorer=None) -> Evaluation:
    """Evaluate every model on every scenario: an :class:`Evaluation`.

    ``models``: :class:`Model` objects (unique names); ``scenarios``: :class:`Scenario` objects
    (or a mapping name → Scenario, as :func:`theory.helm.scenarios.core_scenarios` returns);
    ``adaptations``: ``None`` (each scenario's :func:`default_adaptation`), one
    :class:`Adaptation` for all, or a mapping scenario name → Adaptation or list of them (the
    default for a scenario not named). ``store``: a :class:`Store`, a folder, or ``None`` (the
    :func:`~theory.helm.store.default_store`). Pairs a model does not support are skipped and
    listed in ``Evaluation.skipped``. ``limit``: compute at most this many new requests, then stop
    (the runs left incomplete are finished by the next call). ``batch_size``: requests per model
    call (default: the model's ``batch_size`` attribute, else 32). ``toxicity_scorer``: a
    callable (or an object with ``.score``) mapping a list of texts to scores in [0, 1] for the
    open-generation completions (default :func:`theory.helm.models.toxicity_scorer`, loaded
    only when a completion needs a score).
    """
    models, scenarios = _check_models(models), _check_scenarios(scenarios)
    grid = [(m, s, a) for m in models for s in scenarios for a in _adaptations_for(s, adaptations)]
    return evaluate_grid(grid, store=store, progress=progress, limit=limit, batch_size=batch_size,
                         toxicity_scorer=toxicity_scorer, _order=(tuple(m.name for m in models), tuple(s.name for s in scenarios)))


def _as_store(store) -> Store:
    if store is None:
        return Store()
    if isinstance(store, Store):
        return store
    import os

    if not isinstance(store, (str, os.PathLike)):
        raise TypeError(f"store must be a Store, a folder (str or os.PathLike) or None, got "
                        f"{type(store).__name__}")
    return Store(store)


def _check_scorer(scorer):
    if scorer is not None and not callable(getattr(scorer, "score", None)) and not callable(scorer):
        raise TypeError("toxicity_scorer must be None, a callable texts → scores or an object "
                        f"with .score, got {type(scorer).__name__}")
    return scorer


def _check_limit(limit):
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"limit must be None or an int >= 0, got {limit!r}")
    return limit


def evaluate_grid(grid: Iterable[tuple[Model, Scenario, Adaptation]], *, store=None,
                  progress: bool = True, limit: int | None = None, batch_size: int | None = None,
                  toxicity_scorer=None, _order=None) -> Evaluation:
    """Evaluate an explicit list of ``(model, scenario, adaptation)`` triples (see
    :func:`evaluate`, which builds the product); repeated triples are evaluated once."""
    from theory.core import progress as progress_bar

    t_start = time.perf_counter()
    limit = _check_limit(limit)
    progress = check_bool(progress, "progress")
    _check_scorer(toxicity_scorer)
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                   or batch_size < 1):
        raise ValueError(f"batch_size must be None or an int >= 1, got {batch_size!r}")
    grid = sequence(grid, "grid")
    if not grid:
        raise ValueError("the grid is empty (no (model, scenario, adaptation) to evaluate)")
    for item in grid:
        if not (isinstance(item, tuple) and len(item) == 3 and isinstance(item[0], Model)
                and isinstance(item[1], Scenario) and isinstance(item[2], Adaptation)):
            raise TypeError("grid must hold (Model, Scenario, Adaptation) triples")
    by_name_m: dict[str, Model] = {}
    by_name_s: dict[str, Scenario] = {}
    for m, s, _ in grid:
        if by_name_m.setdefault(m.name, m) is not m:
            raise ValueError(f"two different models are named {m.name!r}")
        if by_name_s.setdefault(s.name, s) is not s and by_name_s[s.name].key != s.key:
            raise ValueError(f"two different scenarios are named {s.name!r}")
    store = _as_store(store)
    if _order is None:
        _order = (tuple(by_name_m), tuple(by_name_s))
    ev = Evaluation(runs={}, models=_order[0], scenarios=_order[1])

    # Plan: every run's requests, and which of them the store already holds.
    plans = []
    for m, s, a in grid:
        label = adaptation_label(s, a)
        key3 = (m.name, s.name, label)
        if key3 in ev.runs or key3 in ev.skipped:
            continue
        if not m.supports(s, a):
            ev.skipped.append(key3)
            continue
        run, todo = _plan(m, s, a, label, store)
        ev.runs[key3] = run
        if todo:
            plans.append((run, todo))
    n_todo = sum(len(t) for _, t in plans)
    if limit is not None:
        n_todo = min(n_todo, limit)
    bar = progress_bar(desc="HELM requests", total=n_todo) if progress and n_todo else None
    budget = limit
    scorer = toxicity_scorer
    try:
        for run, todo in plans:
            if budget is not None and budget <= 0:
                break
            # One process computes a run at a time: another one filling the same store waits,
            # then finds the requests stored (two pages, or a page and the tool, never both
            # compute the same requests).
            with store.computing(run.model.name, run.scenario.name, run.label):
                todo = _drop_stored(run, todo, store, bar)
                if budget is not None:
                    todo = todo[:budget]
                if not todo:
                    _fill_unchanged(run)
                    continue
                bs = batch_size or int(getattr(run.model, "batch_size", 32) or 32)
                t0 = time.perf_counter()
                run.model.fit(run.scenario, run.adaptation)
                run.fit_seconds += time.perf_counter() - t0
                if run.scenario.task == "open_generation" and scorer is None:
                    from theory.helm import models as _models

                    scorer = _models.toxicity_scorer()
                for start in range(0, len(todo), bs):
                    batch = todo[start:start + bs]
                    preds = _call(run, batch, scorer)
                    store.put(preds)
                    for (pert, i, _, _), p in zip(batch, preds):
                        run.predictions[pert][i] = p
                    run.n_computed += len(batch)
                    if budget is not None:
                        budget -= len(batch)
                    if bar is not None:
                        bar.update(len(batch))
                _fill_unchanged(run)
    finally:
        if bar is not None:
            bar.close()
    ev.seconds = time.perf_counter() - t_start
    return ev


def _drop_stored(run: Run, todo, store: Store, bar):
    """``todo`` less the requests another process stored since the plan (they fill the run)."""
    found = store.get([k for *_, k in todo], model=run.model.name, scenario=run.scenario.name,
                      adaptation=run.label)
    if not found:
        return todo
    left = []
    for item in todo:
        pert, i, _, key = item
        if key in found:
            run.predictions[pert][i] = found[key]
            run.n_stored += 1
        else:
            left.append(item)
    if bar is not None:
        bar.update(len(todo) - len(left))
    return left


def _plan(model: Model, scenario: Scenario, adaptation: Adaptation, label: str, store: Store):
    """The run with its stored predictions filled in, and the list of missing requests
    ``(perturbation, index, instance, key)``."""
    from theory.helm.perturbations import perturb

    mkey = model.key(scenario, adaptation)
    stored = store.load(model.name, scenario.name, label)
    preds: dict[str, list[Prediction | None]] = {}
    todo = []
    run = Run(model, scenario, adaptation, label, preds)
    for pert in perturbations_of(scenario):
        row: list[Prediction | None] = []
        for i, inst in enumerate(scenario.test):
            if pert == "identity":
                p_inst = inst
            else:
                p_inst = perturb(inst, pert, seed=0)
                if p_inst.input == inst.input:  # unchanged: not requested (HELM skips it)
                    row.append(_UNCHANGED)
                    run.n_unchanged += 1
                    continue
            key = request_key(mkey, pert, p_inst)
            hit = stored.get(key)
            if hit is not None:
                row.append(hit)
                run.n_stored += 1
            else:
                row.append(None)
                todo.append((pert, i, p_inst, key))
        preds[pert] = row
    _fill_unchanged(run)
    return run, todo


class _Unchanged:
    """Marks a perturbed instance equal to its original until the identity prediction is known."""

    def __repr__(self):
        return "<unchanged>"


_UNCHANGED = _Unchanged()


def _fill_unchanged(run: Run) -> None:
    """Replace each unchanged perturbed instance's marker by its identity prediction, once known."""
    ident = run.predictions["identity"]
    for pert, row in run.predictions.items():
        if pert == "identity":
            continue
        for i, p in enumerate(row):
            if p is _UNCHANGED and isinstance(ident[i], Prediction):
                row[i] = replace(ident[i], perturbation=pert, extra={**ident[i].extra, "unchanged": True})


def _call(run: Run, batch, scorer) -> list[Prediction]:
    """One model call on a batch of requests; the predictions stamped with their request."""
    instances = [inst for _, _, inst, _ in batch]
    t0 = time.perf_counter()
    preds = run.model.predict(run.scenario, instances, run.adaptation)
    run.model_seconds += time.perf_counter() - t0
    if not isinstance(preds, list) or len(preds) != len(instances):
        raise ValueError(f"{run.model.name}.predict returned {len(preds) if isinstance(preds, list) else type(preds).__name__} "
                         f"predictions for {len(instances)} instances (one Prediction per instance)")
    out = []
    for (pert, _, inst, key), p in zip(batch, preds):
        if not isinstance(p, Prediction):
            raise TypeError(f"{run.model.name}.predict must return Prediction objects, got {type(p).__name__}")
        p = replace(p, model=run.model.name, scenario=run.scenario.name, instance_id=inst.id,
                    perturbation=pert, adaptation=run.label, key=key, extra=dict(p.extra))
        out.append(p)
    if run.scenario.task == "open_generation":
        texts = [list(p.completions) or [p.output] for p in out]
        flat = [t for ts in texts for t in ts]
        scores = _score(scorer, flat)
        k = 0
        for p, ts in zip(out, texts):
            p.extra["toxicity"] = [float(x) for x in scores[k:k + len(ts)]]
            k += len(ts)
    return out


def _score(scorer, texts: list[str]) -> np.ndarray:
    fn = getattr(scorer, "score", None) or scorer
    scores = np.asarray(fn(texts), dtype=float).reshape(-1)
    if scores.shape != (len(texts),) or not np.all(np.isfinite(scores)):
        raise ValueError(f"the toxicity scorer returned {scores.shape} scores for {len(texts)} texts "
                         "(one finite score in [0, 1] per text)")
    return scores


# -- aggregation ----------------------------------------------------------------------------
def win_rates(table, groups: Sequence[str] | None = None):
    """HELM's mean win rate per metric group (``presentation/summarize.py``,
    ``compute_aggregate_row_win_rates``): in each (scenario, metric) column of the group's
    metrics (:data:`METRIC_GROUPS`) among the N models with a value, a model's wins are the
    models strictly worse plus half the other models tied with it, divided by N − 1; columns with
    fewer than two values are skipped; the row's score is the mean over columns
    (:func:`theory.helm.metrics.mean_win_rate`). Returns a DataFrame models × groups (NaN: no
    column of that group ranks the model)."""
    import pandas as pd

    from theory.helm import metrics

    _check_table(table)
    groups = list(METRIC_GROUPS) if groups is None else str_list(groups, "groups")
    for g in groups:
        if g not in METRIC_GROUPS:
            raise ValueError(f"groups must be among {list(METRIC_GROUPS)}, got {g!r}")
    out = pd.DataFrame(np.nan, index=table.index, columns=pd.Index(groups, name="metric group"))
    for g in groups:
        cols = group_columns(table, g)
        if cols:
            sub = table[[c for c, _ in cols]].astype(float)
            out[g] = metrics.mean_win_rate(sub.to_numpy(), [h for _, h in cols])
    return out


def _check_table(table):
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame (Evaluation.table()), got {type(table).__name__}")
    if not isinstance(table.columns, pd.MultiIndex) or table.columns.nlevels != 2:
        raise ValueError("table must have (scenario, metric) columns (Evaluation.table())")


def headline_table(table):
    """Each scenario's value per metric group: a DataFrame models × (scenario, group) whose
    entry is the group's one column on that scenario (:func:`group_columns`; the mean when the
    group has several, as the bias scores of open generation), NaN where not measured."""
    import pandas as pd

    _check_table(table)
    scen = list(dict.fromkeys(c[0] for c in table.columns))
    data, cols = [], []
    for s in scen:
        for g in METRIC_GROUPS:
            gc = [c for c, _ in group_columns(table, g) if c[0] == s]
            if gc:
                data.append(table[gc].astype(float).mean(axis=1, skipna=True))
                cols.append((s, g))
    out = pd.concat(data, axis=1) if data else pd.DataFrame(index=table.index)
    out.columns = pd.MultiIndex.from_tuples(cols, names=["scenario", "metric group"])
    return out


def metric_coverage(table):
    """Which (scenario, metric group) cells are measured, for at least one model: a boolean
    DataFrame scenarios × groups (HELM's abstract: 7 metrics × 16 core scenarios, measured
    87.5 % of the time)."""
    import pandas as pd

    _check_table(table)
    scen = list(dict.fromkeys(c[0] for c in table.columns))
    cov = pd.DataFrame(False, index=pd.Index(scen, name="scenario"),
                       columns=pd.Index(list(METRIC_GROUPS), name="metric group"))
    for g in METRIC_GROUPS:
        for (s, metric), _ in group_columns(table, g):
            if table[(s, metric)].notna().any():
                cov.loc[s, g] = True
    return cov


def expected_coverage(models, scenarios):
    """The (scenario, metric group) cells HELM's taxonomy defines for these models and scenarios
    under their default adaptations, from the definitions alone (the book's reading): accuracy
    where the scenario has a main metric; calibration, robustness and fairness for the scored
    tasks (not language modelling or open generation) — calibration only if a supporting model
    has log-probabilities, robustness / fairness only if the scenario lists such perturbations;
    efficiency everywhere; bias and toxicity for open generation. A cell needs at least one
    supporting model. A boolean DataFrame scenarios × groups, to compare with
    :func:`metric_coverage` of the measured table."""
    import pandas as pd

    models, scenarios = _check_models(models), _check_scenarios(scenarios)
    cov = pd.DataFrame(False, index=pd.Index([s.name for s in scenarios], name="scenario"),
                       columns=pd.Index(list(METRIC_GROUPS), name="metric group"))
    for s in scenarios:
        a = default_adaptation(s)
        sup = [m for m in models if m.supports(s, a)]
        if not sup:
            continue
        scored = s.task not in ("language_modeling", "open_generation")
        cov.loc[s.name, "accuracy"] = s.main_metric is not None
        cov.loc[s.name, "calibration"] = scored and any(m.has_logprobs for m in sup)
        cov.loc[s.name, "robustness"] = scored and bool(s.robustness)
        cov.loc[s.name, "fairness"] = scored and bool(s.fairness)
        cov.loc[s.name, "efficiency"] = True
        cov.loc[s.name, "bias"] = cov.loc[s.name, "toxicity"] = s.task == "open_generation"
    return cov


def pairs(table, metric_a: str, metric_b: str):
    """The (model, scenario) pairs where both metrics were measured: a DataFrame with columns
    model, scenario, ``metric_a``, ``metric_b``."""
    import pandas as pd

    _check_table(table)
    check_str(metric_a, "metric_a")
    check_str(metric_b, "metric_b")
    if metric_a == metric_b:
        raise ValueError("metric_a and metric_b must differ")
    rows = []
    for s in dict.fromkeys(c[0] for c in table.columns):
        if (s, metric_a) in table.columns and (s, metric_b) in table.columns:
            for m in table.index:
                a, b = table.loc[m, (s, metric_a)], table.loc[m, (s, metric_b)]
                if pd.notna(a) and pd.notna(b):
                    rows.append((m, s, float(a), float(b)))
    return pd.DataFrame(rows, columns=["model", "scenario", metric_a, metric_b])


def spearman(table, metric_a: str, metric_b: str) -> tuple[float, int]:
    """Spearman's ρ between two metrics across the (model, scenario) pairs measuring both, and
    the number of pairs. Raises ValueError below 3 pairs or when a metric is constant."""
    from scipy.stats import spearmanr

    df = pairs(table, metric_a, metric_b)
    if len(df) < 3:
        raise ValueError(f"spearman needs at least 3 (model, scenario) pairs measuring {metric_a!r} "
                         f"and {metric_b!r}, got {len(df)}")
    if df[metric_a].nunique() < 2 or df[metric_b].nunique() < 2:
        raise ValueError("spearman is undefined when a metric is constant across the pairs")
    rho = spearmanr(df[metric_a], df[metric_b]).statistic
    return float(rho), len(df)


# -- the book's grid ------------------------------------------------------------------------
#: What the book evaluates beyond every default model × core scenario under its default
#: adaptation: (model name, scenario name, adaptation) — SmolLM2 on knowledge under HELM's other
#: multiple-choice adaptations (joint with no in-context examples, separate, separate calibrated).
BOOK_EXTRAS: tuple[tuple[str, str, Adaptation], ...] = (
    ("SmolLM2", "knowledge", Adaptation("multiple_choice_joint", max_train_instances=0, max_tokens=1)),
    ("SmolLM2", "knowledge", Adaptation("multiple_choice_separate_original", max_train_instances=0,
                                        max_tokens=1)),
    ("SmolLM2", "knowledge", Adaptation("multiple_choice_separate_calibrated", max_train_instances=0,
                                        max_tokens=1)),
)


def book_grid(models=None, scenarios=None, *, pages: bool = True) -> list[tuple[Model, Scenario, Adaptation]]:
    """Every (model, scenario, adaptation) the book's pages evaluate: each model of
    :func:`theory.helm.models.default_models` on each of
    :func:`theory.helm.scenarios.core_scenarios` under its :func:`default_adaptation`, then
    :data:`BOOK_EXTRAS` (an extra whose model or scenario is absent is left out), then (``pages``)
    the knowledge and generation pages' own grid, :func:`theory.helm.analysis.page_grid` of the
    same models (other adaptations, the efficiency scenarios and their unbatched SmolLM2)."""
    pages = check_bool(pages, "pages")
    if models is None:
        from theory.helm.models import default_models

        models = default_models()
    if scenarios is None:
        from theory.helm.scenarios import core_scenarios

        scenarios = core_scenarios()
    models, scenarios = _check_models(models), _check_scenarios(scenarios)
    grid = [(m, s, default_adaptation(s)) for m in models for s in scenarios]
    mm, ss = {m.name: m for m in models}, {s.name: s for s in scenarios}
    for m, s, a in BOOK_EXTRAS:  # the other adaptations: the originals only
        if _find_name(mm, m) is not None and s in ss:
            grid.append((_find_name(mm, m), replace(ss[s], robustness=(), fairness=()), a))
    if pages:
        from theory.helm.analysis import page_grid

        grid += page_grid(models)  # repeated triples are evaluated once
    return grid


def _find_name(models: dict, name: str):
    """The model called ``name``, or whose name starts with it (``SmolLM2`` → ``SmolLM2-135M``)."""
    if name in models:
        return models[name]
    hits = [m for n, m in models.items() if n.startswith(name)]
    return hits[0] if len(hits) == 1 else None


#: Models of the smoke grid, by class name (cheap: no language model, no encoder).
SMOKE_MODELS = ("TfidfLR", "Lexicon", "ByteNgram")


def smoke_grid(n_test: int = 20, models=None, scenarios=None):
    """A small, fast grid: the cheap models (:data:`SMOKE_MODELS`) on each core scenario cut to
    its first ``n_test`` test instances, under the default adaptations."""
    if isinstance(n_test, bool) or not isinstance(n_test, int) or n_test < 1:
        raise ValueError(f"n_test must be an int >= 1, got {n_test!r}")
    if models is None:
        from theory.helm.models import default_models

        models = [m for m in default_models() if type(m).__name__ in SMOKE_MODELS]
    if scenarios is None:
        from theory.helm.scenarios import core_scenarios

        scenarios = core_scenarios()
    scenarios = [replace(s, test=s.test[:n_test]) for s in _check_scenarios(scenarios)]
    models = _check_models(models)
    return [(m, s, default_adaptation(s)) for m in models for s in scenarios]
