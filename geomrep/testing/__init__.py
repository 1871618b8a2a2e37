"""Public testing toolkit: equivariance / invariance assertions for your own unit tests.

.. code-block:: python

    from geomrep.testing import assert_equivariant, irreps_action, random_rotation

    assert_equivariant(layer, (x,), (irreps_action(layer.irreps_in),), irreps_action(layer.irreps_out),
                       group_sampler=random_rotation)

Contents: :func:`assert_equivariant`, :func:`assert_invariant`, group actions
(``action(g, x) -> g·x``), samplers of group elements, the :data:`TOLERANCE` table (and
:data:`ROUNDED_CONSTANTS` for float64 runs of functions holding float32 constants),
:func:`assert_gradcheck`, :func:`assert_compiles` and :func:`run_distributed`.
"""

from .actions import (
    adjacency_permutation_action,
    congruence_action,
    edge_index_permutation_action,
    graph_permutation_action,
    inverse_permutation,
    irreps_action,
    left_multiplication_action,
    node_permutation_action,
    permutation_action,
    rotation_action,
)
from .compile import assert_compiles
from .distributed import run_distributed
from .equivariance import assert_equivariant, assert_invariant, equivariance_error
from .gradients import assert_gradcheck
from .samplers import permutation_parity, random_orthogonal, random_permutation, random_rotation
from .tolerance import ROUNDED_CONSTANTS, TOLERANCE, Tolerance, tolerance

__all__ = [
    "assert_equivariant",
    "assert_invariant",
    "equivariance_error",
    "assert_gradcheck",
    "assert_compiles",
    "run_distributed",
    "rotation_action",
    "irreps_action",
    "permutation_action",
    "node_permutation_action",
    "edge_index_permutation_action",
    "adjacency_permutation_action",
    "graph_permutation_action",
    "congruence_action",
    "left_multiplication_action",
    "inverse_permutation",
    "random_rotation",
    "random_orthogonal",
    "random_permutation",
    "permutation_parity",
    "TOLERANCE",
    "ROUNDED_CONSTANTS",
    "Tolerance",
    "tolerance",
]
