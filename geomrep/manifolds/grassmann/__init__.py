"""Grassmann manifold and Grassmann class heads (GCR, ICCV 2023).

- :mod:`.geometry`: functional core — :func:`orthonormalize`, :func:`horizontal_projection`,
  :func:`grassmann_exp`, :func:`grassmann_log`, :func:`principal_angles`, :func:`grassmann_distance`,
  :func:`random_grassmann`;
- :mod:`.manifold`: :class:`Grassmann` (a ``geoopt.Manifold``; geoopt has none);
- :mod:`.classifier`: :class:`GrassmannClassifier` (logits ``γ‖Sᵢᵀx̂‖``), :func:`subspace_logits`;
- :mod:`.optim`: :class:`GrassmannSGD` (the paper's update), :func:`manifold_param_groups`.
"""

from .classifier import GrassmannClassifier, subspace_logits
from .geometry import (
    grassmann_distance,
    grassmann_exp,
    grassmann_log,
    horizontal_projection,
    orthonormalize,
    principal_angles,
    random_grassmann,
)
from .manifold import Grassmann
from .optim import GrassmannSGD, manifold_param_groups

__all__ = [
    "orthonormalize",
    "horizontal_projection",
    "grassmann_exp",
    "grassmann_log",
    "principal_angles",
    "grassmann_distance",
    "random_grassmann",
    "Grassmann",
    "GrassmannClassifier",
    "subspace_logits",
    "GrassmannSGD",
    "manifold_param_groups",
]
