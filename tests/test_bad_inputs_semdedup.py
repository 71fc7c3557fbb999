"""Bad input to the SemDeDup chapter (issue 20): every public function, a table of invalid arguments.

The battery is :mod:`badinput`; ``python tests/badinput.py tests/test_bad_inputs_semdedup.py``
prints the counts.
"""

import functools
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from hypothesis import given, strategies as st

import badinput
from badinput import Fn

S = "theory.semdedup"
DK = f"{S}._dask"
DD = f"{S}._dedup"
KM = f"{S}._kmeans"
ME = f"{S}._metrics"
SO = f"{S}._source"
AL = f"{S}.algorithm"
AN = f"{S}.analysis"
CLI = f"{S}.cli"
IM = f"{S}.images"
PL = f"{S}.plots"
SY = f"{S}.synthetic"
TX = f"{S}.text"
TOY = f"{S}.toy"
TR = f"{S}.training"
SW = f"{S}.sweeps"


def _unit(n=40, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    X[n // 2:] = X[: n - n // 2] + 0.01 * rng.standard_normal((n - n // 2, d))
    return X / np.linalg.norm(X, axis=1, keepdims=True)


E = _unit()
GROUP = np.r_[np.arange(20), np.arange(20)]
KIND = np.where(np.arange(40) % 2 == 0, "exact", "edit")
TOPIC = np.where(GROUP < 10, "A", "B")


@functools.lru_cache(maxsize=None)
def _result():
    from theory.semdedup import semdedup

    return semdedup(E, 3, 0.05)


@functools.lru_cache(maxsize=None)
def _sweep():
    from theory.semdedup import analysis as A

    return A.eps_sweep(E, [0.01, 0.1, 0.3], GROUP, group_kind=KIND, topic=TOPIC, k=3)


@functools.lru_cache(maxsize=None)
def _ksweep():
    from theory.semdedup import analysis as A

    return A.k_sweep(E, [1, 3], [0.05, 0.3], GROUP, progress_bar=False)


@functools.lru_cache(maxsize=None)
def _rules():
    from theory.semdedup import analysis as A

    return A.keep_rule_comparison(E, 3, 0.1, GROUP)


@functools.lru_cache(maxsize=None)
def _sims():
    from theory.semdedup import analysis as A

    return A.relation_similarities(E, GROUP, group_kind=KIND, topic=TOPIC)


@functools.lru_cache(maxsize=None)
def _splits():
    from theory.semdedup.images import digit_splits

    return digit_splits(n_encoder=100, n_test=50)


@functools.lru_cache(maxsize=None)
def _encoder():
    from theory.semdedup.images import train_encoder

    return train_encoder(splits=_splits(), dim=4, hidden=8, steps=2)


@functools.lru_cache(maxsize=None)
def _corpus():
    from theory.semdedup.images import digit_corpus

    return digit_corpus(n_copies=5, splits=_splits(), encoder=_encoder())


@functools.lru_cache(maxsize=None)
def _setup():
    from theory.semdedup.training import TrainingSetup

    return TrainingSetup(seeds=(0,), steps=2, record_every=1, hidden=4, k=2)


@functools.lru_cache(maxsize=None)
def _trained():
    from theory.semdedup.training import train_arms

    return train_arms(_corpus(), _setup(), progress=False)


def _sw_fixed(**kw):
    """The point sizes of a 2-step run (the page's design otherwise) for the sweeps rows."""
    from theory.semdedup import sweeps

    return dict(sweeps.training_experiment("laptop", steps=2, record_every=1, n_copies=1).fixed, hidden=4, k=2, **kw)


@functools.lru_cache(maxsize=None)
def _sw_ds():
    from theory.core import run_sweep
    from theory.semdedup import sweeps

    exp = sweeps.training_experiment("laptop", steps=2, record_every=1, n_copies=1)
    return run_sweep(exp, sweeps.training_sweep("laptop", n_seed=2), executor="batched", progress=False)


def _tmp():
    return Path(tempfile.mkdtemp(prefix="bad_inputs_semdedup_"))


@functools.lru_cache(maxsize=None)
def _npy():
    p = _tmp() / "e.npy"
    np.save(p, E.astype(np.float32))
    return str(p)


_SKIP_2D = {("embeddings", "one more dimension"): "covered: a 3-d array is refused as not 2-d"}

TABLE = [
    # ---------------------------------------------------------------- the spine
    Fn(DD, "max_earlier_similarity", dict(E=E[:5]), dict(E="array"),
       skip={("E", "empty"): "an empty cluster is legal (M is empty)"}),
    Fn(DD, "greedy_keep", dict(max_sim=np.array([0.1, 0.99, 0.5]), eps=0.05),
       dict(max_sim="array", eps="unit"), extra=[({"eps": 0.0}, "eps")],
       skip={("max_sim", "empty"): "elementwise: empty in, empty out",
             ("max_sim", "one more dimension"): "elementwise: any shape"}),
    Fn(DD, "group_keep", dict(E=E[:5], eps=0.05), dict(E="array", eps="unit"),
       skip={("E", "empty"): "an empty cluster is legal (nothing kept)"}),
    Fn(DD, "eps_for_kept_fraction", dict(max_sim=np.array([0.1, 0.99, 0.5]), fraction=0.5),
       dict(max_sim="array", fraction="unit"), extra=[({"fraction": 0.0}, "fraction")],
       skip={("max_sim", "one more dimension"): "M of any shape is read flat (documented)"}),
    Fn(DD, "cluster_order", dict(similarity=np.array([0.9, 0.5, 0.7])),
       dict(similarity="array", keep="choice", seed="seed", cluster="non_negative_int"),
       skip={("similarity", "empty"): "an empty cluster is legal (an empty order)"}),
    Fn(DD, "brute_force_keep", dict(E=E, labels=np.arange(40) % 3, similarity=np.ones(40), eps=0.05),
       dict(E="array", similarity="array", eps="unit", keep="choice", semantics="choice", seed="seed"),
       extra=[({"labels": np.arange(5)}, "labels"), ({"similarity": np.ones(5)}, "similarity")]),
    Fn(DD, "semdedup", dict(embeddings=E, k=3, eps=0.05),
       dict(embeddings="array", k="positive_int", eps="unit", keep="choice", semantics="choice",
            seed="seed", n_iter="positive_int", max_points_per_centroid="positive_int",
            chunk_size="positive_int", task_rows="positive_int", progress="bool", validate="bool"),
       skip=_SKIP_2D, extra=[({"k": 41}, "k"), ({"mapper": 3}, "mapper")]),
    Fn(KM, "spherical_kmeans", dict(embeddings=E, k=3),
       dict(embeddings="array", k="positive_int", n_iter="positive_int", seed="seed",
            max_points_per_centroid="positive_int", chunk_size="positive_int", progress="bool",
            validate="bool"),
       skip=_SKIP_2D, extra=[({"k": 41}, "k")]),
    Fn(KM, "assign_clusters", dict(embeddings=E, centroids=E[:3]),
       dict(embeddings="array", centroids="array", chunk_size="positive_int", progress="bool",
            validate="bool"),
       skip=_SKIP_2D, extra=[({"centroids": np.ones((3, 5))}, "centroids")]),
    Fn(KM, "serial_mapper", dict(func=abs, arguments=[(1,), (-2,)]), dict(func="callable"),
       extra=[({"arguments": 3}, "arguments")]),
    Fn(ME, "duplicate_precision_recall", dict(kept=np.array([True, False, True]), group=np.array([0, 0, 1])),
       {}, extra=[({"kept": np.array([True])}, "kept"), ({"kept": None}, "kept"), ({"group": None}, "group")]),
    Fn(SO, "open_embeddings", dict(obj=E), dict(validate="bool", chunk_size="positive_int", progress="bool"),
       names={"obj": ("obj", "embeddings")},  # obj is the embeddings; the spine's messages say so
       extra=[({"obj": None}, "embeddings"), ({"obj": np.ones(3)}, "embeddings")]),
    # ---------------------------------------------------------------- algorithm page
    Fn(AL, "cluster_sizes_by_k", dict(X=E, ks=[1, 3]), dict(X="array", seed="seed", n_iter="positive_int"),
       skip={("X", "one more dimension"): "covered: 3-d refused"}, extra=[({"ks": [0]}, "ks")]),
    Fn(AL, "reference_agreement", dict(X=E, k=3, eps=0.05, progress=False),
       dict(X="array", k="positive_int", eps="unit", seed="seed", progress="bool"),
       skip={("X", "one more dimension"): "covered: 3-d refused"},
       extra=[({"keeps": ("bogus",)}, "keeps")]),
    # ---------------------------------------------------------------- analysis
    Fn(AN, "linear_fit", dict(x=[0.0, 1, 2, 3], y=[1.0, 3, 5, 7]), dict(x="array", y="array"),
       extra=[({"y": [1.0, 2.0]}, "y")]),
    Fn(AN, "first_eps", dict(eps=[0.1, 0.2, 0.3], values=[0.0, 0.4, 0.8], level=0.6),
       dict(eps="array", values="array", level="real"), extra=[({"values": [0.0]}, "values")]),
    Fn(AN, "global_neighbour_pairs", dict(embeddings=E, eps=0.05),
       dict(embeddings="array", eps="unit", chunk="positive_int"), skip=_SKIP_2D),
    Fn(AN, "split_fraction", dict(embeddings=E, labels=np.arange(40) % 3, eps=0.05),
       dict(embeddings="array", eps="unit", anchors="positive_int?", seed="seed"), skip=_SKIP_2D,
       extra=[({"labels": np.arange(5)}, "labels")]),
    Fn(AN, "eps_sweep", dict(embeddings=E, eps_grid=[0.01, 0.1], group=GROUP, k=3),
       dict(embeddings="array", eps_grid="array", k="positive_int", keep="choice", seed="seed",
            n_iter="positive_int", progress_bar="bool"), skip=_SKIP_2D,
       extra=[({"group": GROUP[:5]}, "group")]),
    Fn(AN, "k_sweep", dict(embeddings=E, ks=[1, 3], eps=[0.05], group=GROUP, progress_bar=False),
       dict(embeddings="array", keep="choice", seed="seed", n_iter="positive_int", progress_bar="bool"),
       skip=_SKIP_2D, extra=[({"ks": [3, 1]}, "ks"), ({"group": GROUP[:5]}, "group")]),
    Fn(AN, "suggest_k", dict(ks=[1, 3], split=[0.0, 0.01]), dict(split="array", tolerance="unit"),
       skip={("split", "one more dimension"): "covered by the shape check",
             ("split", "NaN entry"): "NaN is legal: a k with no ε-neighbour pairs (k_sweep's split)"},
       extra=[({"split": [0.0]}, "split"), ({"ks": [1.5, 3]}, "ks"), ({"ks": [3, 1]}, "ks")]),
    Fn(AN, "keep_rule_comparison", dict(embeddings=E, k=3, eps=0.1, group=GROUP),
       dict(embeddings="array", k="positive_int", eps="unit", seed="seed", n_iter="positive_int"),
       skip=_SKIP_2D, extra=[({"rules": ("soft",)}, "rules")]),
    Fn(AN, "relation_similarities", dict(embeddings=E, group=GROUP, group_kind=KIND),
       dict(embeddings="array", max_pairs="positive_int", seed="seed"), skip=_SKIP_2D,
       extra=[({"group": GROUP[:5]}, "group")]),
    Fn(AN, "eps_figure", lambda: dict(sweep=_sweep()), dict(laion="bool"), extra=[({"sweep": 3}, "sweep")]),
    Fn(AN, "topic_figure", lambda: dict(sweep=_sweep()), {}, extra=[({"sweep": 3}, "sweep")]),
    Fn(AN, "k_figure", lambda: dict(ks=_ksweep()), {}, extra=[({"ks": 3}, "ks")]),
    Fn(AN, "keep_rule_figure", lambda: dict(cmp=_rules()), {}, extra=[({"cmp": 3}, "cmp")]),
    Fn(AN, "similarity_figure", lambda: dict(sims=_sims()), {}, extra=[({"sims": 3}, "sims")]),
    # ---------------------------------------------------------------- plots
    Fn(PL, "cost_figure", dict(sizes_by_k={1: np.array([40]), 3: np.array([20, 10, 10])}, n=40),
       dict(n="positive_int"), extra=[({"sizes_by_k": 3}, "sizes_by_k")]),
    Fn(PL, "kept_fraction_figure", lambda: dict(result=_result(), eps_grid=[0.01, 0.1]),
       dict(eps_grid="array"), skip={("eps_grid", "one more dimension"): "covered"},
       extra=[({"result": 3}, "result")]),
    Fn(PL, "rule_figure", dict(points=E[:8, :2] / np.linalg.norm(E[:8, :2], axis=1, keepdims=True), eps=0.05,
            eps_grid=(0.01, 0.1)),
       dict(points="array", eps="unit", semantics="choice", keep="choice", eps_grid="array", seed="seed"),
       skip={("points", "one more dimension"): "covered", ("eps_grid", "one more dimension"): "covered"}),
    # ---------------------------------------------------------------- synthetic, toy
    Fn(SY, "make_synthetic", dict(n=50, d=4, n_clusters=3),
       dict(n="positive_int", d="positive_int", n_clusters="positive_int", duplicate_fraction="unit",
            exact_fraction="unit", max_noise="non_negative", seed="seed"),
       extra=[({"n": 10**7, "d": 10**6}, "needs about")]),
    Fn(SY, "write_synthetic", lambda: dict(folder=_tmp() / "s", n=50, d=4, n_clusters=3),
       dict(n="positive_int", d="positive_int", n_clusters="positive_int", duplicate_fraction="unit",
            exact_fraction="unit", max_noise="non_negative", seed="seed", shard_rows="positive_int?",
            progress_bar="bool")),
    Fn(TOY, "toy_cluster", dict(n_groups=4), dict(n_groups="positive_int", spread="positive", seed="seed")),
    Fn(TOY, "toy_corpus", dict(n=50, d=4, topics=3),
       dict(n="positive_int", d="positive_int", topics="positive_int", spread="non_negative", copies="unit",
            near_copies="unit", noise="non_negative", seed="seed"),
       extra=[({"n": 10**7, "d": 10**6}, "needs about")]),
    Fn(f"{S}.derivation", "threshold_identities", dict(d=3), dict(d="positive_int")),
    # ---------------------------------------------------------------- cli
    Fn(CLI, "run", lambda: dict(embeddings=_npy(), k=3, eps=0.05),
       dict(k="positive_int", eps="unit?", kept_fraction="unit?", keep="choice", semantics="choice",
            seed="seed", n_iter="positive_int", chunk_size="positive_int", parallelism="positive_int",
            progress="bool"),
       extra=[({"eps": None}, "eps"), ({"kept_fraction": 0.5}, "kept_fraction"), ({"k": 41}, "k")]),
    Fn(CLI, "write_outputs", lambda: dict(out=_tmp() / "out", result=_result(), eps=0.05, report={}),
       dict(eps="unit"), extra=[({"result": 3}, "result"), ({"report": 3}, "report")]),
    # ---------------------------------------------------------------- dask
    Fn(DK, "dask_client", dict(dask="local", workers=1),
       dict(dask="choice", workers="positive_int", threads_per_worker="positive_int")),
    Fn(DK, "dask_mapper", dict(dask="local", workers=1),
       dict(dask="choice", workers="positive_int", threads_per_worker="positive_int",
            max_tasks="positive_int?", progress="bool")),
    Fn(DK, "slurm_job_script", dict(cores=1, memory="1GiB", scheduler_options={"host": "127.0.0.1"}),
       dict(cores="positive_int", processes="positive_int", memory="str", walltime="str")),
    Fn(DK, "slurm_cluster", dict(cores=1, memory="1GiB", scheduler_options={"host": "127.0.0.1"}),
       dict(cores="positive_int", processes="positive_int", memory="str", walltime="str")),
    # ---------------------------------------------------------------- images
    Fn(IM, "digit_splits", dict(n_encoder=100, n_test=50),
       dict(n_encoder="positive_int", n_test="positive_int", seed="seed"),
       extra=[({"n_encoder": 10**6}, "n_encoder")]),
    Fn(IM, "train_encoder", lambda: dict(splits=_splits(), dim=4, hidden=8, steps=2),
       dict(dim="positive_int", hidden="positive_int", steps="positive_int", lr="positive",
            weight_decay="non_negative", seed="seed"),
       extra=[({"lr": 1e300, "steps": 5}, "diverged"), ({"splits": 3}, "splits")]),
    Fn(IM, "embed_digits", lambda: dict(images=np.zeros((2, 8, 8)), encoder=_encoder()),
       dict(images="array", seed="seed"), extra=[({"encoder": 3}, "encoder")]),
    Fn(IM, "digit_corpus", lambda: dict(n_copies=5, splits=_splits(), encoder=_encoder()),
       dict(n_copies="non_negative_int", seed="seed", noise_sd="non_negative"),
       extra=[({"kinds": ("bogus",)}, "kinds"), ({"contrast_range": (0.9, 0.5)}, "contrast_range")]),
    Fn(IM, "detection_curves", lambda: dict(corpus=_corpus(), eps=[0.01, 0.1], k=2),
       dict(eps="array", k="positive_int", keep="choice", seed="seed"),
       skip={("eps", "one more dimension"): "covered"}, extra=[({"corpus": 3}, "corpus")]),
    Fn(IM, "detection_figure", lambda: dict(curves=__import__(IM, fromlist=["x"]).detection_curves(
        _corpus(), [0.01, 0.1], k=2)), {}, extra=[({"curves": 3}, "curves")]),
    Fn(IM, "examples_figure", lambda: dict(corpus=_corpus(), per_kind=1), dict(per_kind="positive_int"),
       extra=[({"corpus": 3}, "corpus")]),
    # ---------------------------------------------------------------- training
    Fn(TR, "arm_subsets", lambda: dict(corpus=_corpus(), setup=_setup()), {},
       extra=[({"corpus": 3}, "corpus"), ({"setup": 3}, "setup")]),
    Fn(TR, "distinct_groups", lambda: dict(corpus=_corpus(), subsets=__import__(TR, fromlist=["x"]).arm_subsets(
        _corpus(), _setup())), {}, extra=[({"subsets": 3}, "subsets")]),
    Fn(TR, "train_arms", lambda: dict(corpus=_corpus(), setup=_setup(), progress=False), dict(progress="bool"),
       extra=[({"setup": 3}, "setup")]),
    Fn(TR, "final_accuracy", lambda: dict(result=_trained()), {}, extra=[({"result": 3}, "result")]),
    Fn(TR, "accuracy_table", lambda: dict(result=_trained()), {}, extra=[({"result": 3}, "result")]),
    Fn(TR, "paired_gain", lambda: dict(result=_trained()), dict(from_step="non_negative_int?"),
       extra=[({"a": "bogus"}, "a"), ({"result": 3}, "result")]),
    Fn(TR, "training_report", lambda: dict(result=_trained()), {}, extra=[({"result": 3}, "result")]),
    Fn(TR, "training_figure", lambda: dict(result=_trained()), {}, extra=[({"result": 3}, "result")]),
    # ---------------------------------------------------------------- sweeps
    Fn(SW, "training_sweep", dict(scale="laptop", n_seed=2, arm="all"),
       dict(scale="choice", n_seed="positive_int?", arm="choice")),
    Fn(SW, "training_experiment", dict(scale="laptop", steps=20, record_every=10, n_copies=5, kept_fraction=0.5),
       dict(scale="choice", steps="positive_int?", record_every="positive_int?", n_copies="positive_int?",
            kept_fraction="unit?"),
       extra=[({"kept_fraction": 1.0}, "kept_fraction"), ({"kept_fraction": 0.0}, "kept_fraction")]),
    Fn(SW, "training_plan", dict(scale="laptop", n_seed=1, arm="all", steps=20, record_every=10, n_copies=5,
                                 kept_fraction=0.5),
       dict(scale="choice", n_seed="positive_int?", arm="choice", steps="positive_int?",
            record_every="positive_int?", n_copies="positive_int?", kept_fraction="unit?")),
    Fn(SW, "training_point", lambda: dict(_sw_fixed(), arm="full", seed=0), dict(arm="choice", seed="seed"),
       extra=[({"steps": 0}, "steps"), ({"lr": 0.0}, "lr"), ({"keep": "bogus"}, "keep"), ({"n_copies": 0}, "n_copies"),
              ({"corpus_seed": -1}, "corpus_seed"), ({"seed": 2**40}, "seed")]),
    Fn(SW, "training_batch", lambda: dict(configs=[dict(_sw_fixed(), arm="random", seed=1)]),
       extra=[({"configs": []}, "configs"), ({"configs": 3}, "configs"), ({"configs": [3]}, "configs"),
              ({"configs": [dict(arm="full", seed=0)]}, "lacks"),
              ({"configs": [dict(_sw_fixed(), arm="full", seed=-1)]}, "seed"),
              ({"configs": [dict(_sw_fixed(), arm="half", seed=0)]}, "arm")]),
    Fn(SW, "stored_training", dict(labels=("paper",)), extra=[({"labels": "paper"}, "labels"),
                                                              ({"labels": [3]}, "labels")]),
    Fn(SW, "stored_report", lambda: dict(ds=_sw_ds()), extra=[({"ds": None}, "ds"), ({"ds": 3}, "ds")]),
    Fn(SW, "training_summary", lambda: dict(ds=_sw_ds()),
       extra=[({"ds": None}, "ds"), ({"ds": 3}, "ds"), ({"ds": _sw_ds().sel(arm=["full", "random"])}, "ds")]),
    Fn(SW, "stored_claims", lambda: dict(stored={"paper": _sw_ds()}),
       extra=[({"stored": None}, "stored"), ({"stored": {"paper": 3}}, "stored"), ({"stored": [3]}, "stored")]),
    # ---------------------------------------------------------------- text
    Fn(TX, "make_corpus", dict(n_groups=10), dict(n_groups="positive_int", max_extra="non_negative_int",
                                                   seed="seed"),
       extra=[({"duplicate_rate": 1.5}, "duplicate_rate"), ({"kind_weights": (0, 0, 0)}, "kind_weights")]),
    Fn(TX, "light_edit", lambda: dict(text="one two three four five", rng=np.random.default_rng(0)),
       dict(text="str", n_ops="positive_int?"), extra=[({"rng": 3}, "rng")]),
    Fn(TX, "embed_texts", dict(texts=["a cat", "a dog"], show_progress=False),
       dict(batch_size="positive_int", show_progress="bool"), extra=[({"texts": "a cat"}, "texts"),
                                                                     ({"texts": [3]}, "texts")]),
    Fn(TX, "embed_timed", dict(texts=["a cat", "a dog"], show_progress=False), {},
       extra=[({"texts": "a cat"}, "texts"), ({"batch_size": 0}, "batch_size")]),
]

EXEMPT = {
    "load_digit_images": "no arguments",
    "load_encoder": "no arguments",
    "main": "the CLI entry point: bad command lines exit with status 2 and a message naming the "
            "option (test_cli_refuses_bad_arguments below)",
    f"{SW}.main": "the sweep command line: bad options exit through argparse (tested in "
                  "tests/test_semdedup_sweeps.py)",
}

test_bad_input = badinput.parametrize(TABLE)
test_valid_call = badinput.parametrize_valid(TABLE)


def test_table_covers_every_public_function():
    assert badinput.check_coverage("theory.semdedup", TABLE, EXEMPT) == []


@pytest.mark.parametrize("argv, option", [
    (["--k", "0", "--eps", "0.1"], "--k"), (["--k", "x", "--eps", "0.1"], "--k"),
    (["--k", "3", "--eps", "nan"], "eps"), (["--k", "3", "--eps", "1.5"], "eps"),
    (["--k", "3", "--eps", "0.1", "--keep", "bogus"], "--keep"),
    (["--k", "3", "--eps", "0.1", "--seed", "-1"], "seed"),
    (["--k", "3", "--eps", "0.1", "--n-iter", "0"], "n-iter"),
])
def test_cli_refuses_bad_arguments(capsys, tmp_path, argv, option):
    from theory.semdedup.cli import main

    path = tmp_path / "e.npy"
    np.save(path, E.astype(np.float32))
    status = main([str(path), "--out", str(tmp_path / "out")] + argv)
    err = capsys.readouterr().err
    assert status == 2 and option in err, err
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------- exact forms stay finite
@given(n=st.integers(2, 30), seed=st.integers(0, 2**32), frac=st.floats(1e-6, 1.0))
def test_eps_for_kept_fraction_is_a_threshold_in_range(n, seed, frac):
    from theory.semdedup._dedup import eps_for_kept_fraction, greedy_keep

    m = np.random.default_rng(seed).uniform(0.01, 0.99, n)
    eps = eps_for_kept_fraction(m, frac)
    assert np.isfinite(eps) and 0 < eps < 1
    assert abs(greedy_keep(m, eps).sum() - round(frac * n)) <= 1


@given(seed=st.integers(0, 10**6), n=st.integers(2, 12), d=st.integers(1, 5))
def test_max_earlier_similarity_finite_and_bounded(seed, n, d):
    from theory.semdedup._dedup import max_earlier_similarity

    X = np.random.default_rng(seed).standard_normal((n, d))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    out = max_earlier_similarity(X)
    assert np.all(np.isfinite(out[1:])) and np.all(out[1:] <= 1 + 1e-12)
