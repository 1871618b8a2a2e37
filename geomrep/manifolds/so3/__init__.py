"""SO(3) through the continuous 6D representation: conversions, distances, heads, and the manifold.

- :mod:`.sixd`: :func:`rotation_6d_to_matrix` / :func:`matrix_to_rotation_6d` (Zhou et al., columns) and
  the PyTorch3D-style row convention :func:`rotation_6d_rows_to_matrix` / :func:`matrix_to_rotation_6d_rows`;
- :mod:`.procrustes`: :func:`special_procrustes` (9D → SO(n), damped gradient at ties);
- :mod:`.quaternion`: :func:`quaternion_to_matrix`, :func:`matrix_to_quaternion`,
  :func:`canonical_quaternion`;
- :mod:`.axis_angle`: :func:`axis_angle_to_matrix`, :func:`matrix_to_axis_angle`, :func:`hat`, :func:`vee`;
- :mod:`.euler`: :func:`euler_to_matrix`, :func:`matrix_to_euler` (12 sequences, intrinsic/extrinsic);
- :mod:`.distance`: :func:`geodesic_distance` (accurate from 0 to π), :class:`GeodesicLoss`;
- :mod:`.random`: :func:`random_rotation` (Haar);
- :mod:`.head`: :class:`RotationHead` (6d, 9d, quat, euler, axis_angle → matrices);
- :mod:`.manifold`: :class:`SpecialOrthogonal` (a ``geoopt.Manifold``).
"""

from .axis_angle import axis_angle_to_matrix, hat, matrix_to_axis_angle, vee
from .distance import GeodesicLoss, geodesic_distance
from .euler import EULER_SEQUENCES, euler_to_matrix, matrix_to_euler
from .head import REPRESENTATION_SIZES, RotationHead
from .manifold import SpecialOrthogonal
from .procrustes import special_procrustes
from .quaternion import canonical_quaternion, matrix_to_quaternion, quaternion_to_matrix
from .random import random_rotation
from .sixd import (
    matrix_to_rotation_6d,
    matrix_to_rotation_6d_rows,
    rotation_6d_rows_to_matrix,
    rotation_6d_to_matrix,
)

__all__ = [
    "rotation_6d_to_matrix",
    "matrix_to_rotation_6d",
    "rotation_6d_rows_to_matrix",
    "matrix_to_rotation_6d_rows",
    "special_procrustes",
    "quaternion_to_matrix",
    "matrix_to_quaternion",
    "canonical_quaternion",
    "axis_angle_to_matrix",
    "matrix_to_axis_angle",
    "hat",
    "vee",
    "euler_to_matrix",
    "matrix_to_euler",
    "EULER_SEQUENCES",
    "geodesic_distance",
    "GeodesicLoss",
    "random_rotation",
    "RotationHead",
    "REPRESENTATION_SIZES",
    "SpecialOrthogonal",
]
