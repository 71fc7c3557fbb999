"""Chapter 5: SemDeDup, semantic deduplication (Abbas, Tirumala, Simig, Ganguli, Morcos 2023).

The algorithm as the paper and the official code (``facebookresearch/SemDeDup``) define it:
unit-norm embeddings, spherical k-means, each cluster ordered by similarity to its centroid, and a
point removed when its cosine similarity to an earlier point of its cluster exceeds 1 − ε
(:mod:`theory.semdedup._dedup` states the exact rule and its two semantics). It runs on an array,
a ``.npy`` file or a folder of shards a chunk at a time, in one process or on Dask
(:mod:`theory.semdedup._dask`), and as a tool: ``python -m theory.semdedup`` / ``semdedup``.
"""

from theory.semdedup._source import EmbeddingSource, open_embeddings
from theory.semdedup._kmeans import KMeansFit, assign_clusters, serial_mapper, spherical_kmeans
from theory.semdedup._dedup import (KEEP_RULES, SEMANTICS, SemDeDupResult, brute_force_keep,
                                    cluster_order, eps_for_kept_fraction, greedy_keep, group_keep,
                                    max_earlier_similarity, semdedup)
from theory.semdedup._metrics import duplicate_precision_recall
from theory.semdedup._dask import (DaskMapper, dask_client, dask_mapper, slurm_cluster,
                                   slurm_job_script)

__all__ = ["DaskMapper", "EmbeddingSource", "KEEP_RULES", "KMeansFit", "SEMANTICS", "SemDeDupResult",
           "assign_clusters", "brute_force_keep", "cluster_order", "dask_client", "dask_mapper", "duplicate_precision_recall",
           "eps_for_kept_fraction", "greedy_keep", "group_keep", "max_earlier_similarity",
           "open_embeddings", "semdedup", "serial_mapper", "slurm_cluster", "slurm_job_script",
           "spherical_kmeans"]
