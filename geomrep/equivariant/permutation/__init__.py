"""S_n and A_n equivariant linear layers between tensor-power spaces ``(Rⁿ)^{⊗k} → (Rⁿ)^{⊗l}``.

Public API: :class:`PermutationEquivariantLinear` (module), :func:`permutation_equivariant_linear`
(functional), :func:`equivariant_basis` and :func:`equivariant_basis_size` (the dense basis and its
closed-form dimension), :func:`basis_diagrams` (partition / jellyfish diagrams in weight order) and
the set-partition helpers; :class:`InvariantGraphNetwork` (k-IGN) and :func:`dense_graph_tensor`
(PyG graphs as padded order-2 tensors with a node mask). Facts: DESIGN.md §4.7.
"""

from .basis import PartitionDiagram, basis_diagrams, equivariant_basis
from .functional import permutation_equivariant_linear
from .ign import InvariantGraphNetwork, dense_graph_tensor
from .linear import PermutationEquivariantLinear
from .partitions import bell_number, equivariant_basis_size, set_partitions, stirling2

__all__ = [
    "PermutationEquivariantLinear",
    "permutation_equivariant_linear",
    "equivariant_basis",
    "equivariant_basis_size",
    "basis_diagrams",
    "PartitionDiagram",
    "InvariantGraphNetwork",
    "dense_graph_tensor",
    "set_partitions",
    "stirling2",
    "bell_number",
]
