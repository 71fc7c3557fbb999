"""Chapter: the effective dimension of class manifolds (Fort, Cubuk, Ganguli, Schoenholz 2022).

The cutting-plane search (:mod:`theory.class_manifolds.cutting_plane`: random affine d_cut-planes
through an anchor, Adam inside each plane, every problem batched as one tensor programme), the
sigmoid fit in ln d_cut with d*₅₀ and the effective dimension D − d* (:mod:`.fit`), and target
sets with exact answers — balls, ellipsoids, subspaces and their unions (:mod:`.ground_truth`),
the data and the batched classifiers (:mod:`.models`). The pages' modules — :mod:`.derivation`
(sympy), :mod:`.plots`, :mod:`.classifiers`, :mod:`.dependences` — are imported on first use.
The Gaussian width and Gordon's escape are in the shared core (:mod:`theory.core._gaussian_width`).
"""

from theory.class_manifolds.cutting_plane import (PlaneObjective, class_anchors, classifier_objective,
                                                  cutting_plane_search, plane_basis)
from theory.class_manifolds.fit import SigmoidFit, crossing, fit_sigmoid, interpolated_crossing, sigmoid
from theory.class_manifolds.models import Classifiers, Data, load_data, train_classifiers
from theory.class_manifolds.ground_truth import (QuadraticTarget, ball, ball_explorer, ball_hit_probability,
                                                 ellipsoid, exact_hit_probability, exact_plane_minimum,
                                                 quadratic_objective, run_ground_truth, subspace_tube,
                                                 union_of_subspaces)

__all__ = ["Classifiers", "Data", "load_data", "train_classifiers",
           "classifiers", "dependences", "derivation", "plots",
           "PlaneObjective", "QuadraticTarget", "SigmoidFit", "ball", "ball_explorer",
           "ball_hit_probability", "class_anchors", "classifier_objective", "crossing", "cutting_plane_search", "ellipsoid",
           "exact_hit_probability", "exact_plane_minimum", "fit_sigmoid", "interpolated_crossing",
           "plane_basis", "quadratic_objective", "run_ground_truth", "sigmoid", "subspace_tube",
           "union_of_subspaces"]

_SUBMODULES = ("classifiers", "dependences", "derivation", "plots")


def __getattr__(name):
    """The pages' modules (analyses, derivations, figures), imported on first use."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"theory.class_manifolds.{name}")
    raise AttributeError(f"module 'theory.class_manifolds' has no attribute {name!r}")
