"""Gaunt tensor products: products of spherical functions through exact 2-D Fourier / S² grid bases.

Public API: :func:`gaunt_product` (functional), :class:`GauntTensorProduct` and
:class:`GauntSelfInteraction` (modules on any e3nn irreps; channel pairing in
:mod:`~geomrep.equivariant.gaunt.channels`), :class:`GauntDropIn` (replaces an e3nn tensor product in
a model, recipe in :mod:`~geomrep.equivariant.gaunt.drop_in`), and the exact coefficient tables
(:func:`gaunt_block`, :func:`gaunt_constant`, :func:`gaunt_tensor`). A small interatomic model built
on them (used by the QM9 tutorial) lives in ``geomrep.equivariant.gaunt.interatomic``.
"""

from .coefficients import gaunt_block, gaunt_constant, gaunt_paths, gaunt_tensor, wigner_3j_complex
from .drop_in import GauntDropIn
from .product import default_backend, gaunt_product
from .self_interaction import GauntSelfInteraction
from .tensor_product import GauntTensorProduct

__all__ = [
    "gaunt_product",
    "GauntTensorProduct",
    "GauntSelfInteraction",
    "GauntDropIn",
    "default_backend",
    "gaunt_block",
    "gaunt_constant",
    "gaunt_paths",
    "gaunt_tensor",
    "wigner_3j_complex",
]
