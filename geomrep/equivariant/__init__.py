"""Equivariant layers: Gaunt tensor products (:mod:`geomrep.equivariant.gaunt`) and S_n / A_n
equivariant linear layers (:mod:`geomrep.equivariant.permutation`)."""

from .gaunt import GauntSelfInteraction, GauntTensorProduct, gaunt_product
from .permutation import PermutationEquivariantLinear, equivariant_basis, equivariant_basis_size

__all__ = [
    "gaunt_product",
    "GauntTensorProduct",
    "GauntSelfInteraction",
    "PermutationEquivariantLinear",
    "equivariant_basis",
    "equivariant_basis_size",
]
