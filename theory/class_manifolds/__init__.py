"""Chapter: the effective dimension of class manifolds (Fort, Cubuk, Ganguli, Schoenholz 2022).

The cutting-plane search (:mod:`theory.class_manifolds.cutting_plane`: random affine d_cut-planes
through an anchor, Adam inside each plane, every problem batched as one tensor programme), the
sigmoid fit in ln d_cut with d*₅₀ and the effective dimension D − d* (:mod:`.fit`), and target
sets with exact answers — balls, ellipsoids, subspaces and their unions (:mod:`.ground_truth`).
The Gaussian width and Gordon's escape are in the shared core (:mod:`theory.core._gaussian_width`).
"""

from theory.class_manifolds.cutting_plane import (PlaneObjective, class_anchors, classifier_objective,
                                                  cutting_plane_search, plane_basis)
from theory.class_manifolds.fit import SigmoidFit, crossing, fit_sigmoid, interpolated_crossing, sigmoid
from theory.class_manifolds.ground_truth import (QuadraticTarget, ball, ball_explorer, ball_hit_probability,
                                                 ellipsoid, exact_hit_probability, exact_plane_minimum,
                                                 quadratic_objective, run_ground_truth, subspace_tube,
                                                 union_of_subspaces)

__all__ = ["PlaneObjective", "QuadraticTarget", "SigmoidFit", "ball", "ball_explorer",
           "ball_hit_probability", "class_anchors", "classifier_objective", "crossing", "cutting_plane_search", "ellipsoid",
           "exact_hit_probability", "exact_plane_minimum", "fit_sigmoid", "interpolated_crossing",
           "plane_basis", "quadratic_objective", "run_ground_truth", "sigmoid", "subspace_tube",
           "union_of_subspaces"]
