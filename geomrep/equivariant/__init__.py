"""Equivariant layers: Gaunt tensor products (:mod:`geomrep.equivariant.gaunt`)."""

from .gaunt import GauntSelfInteraction, GauntTensorProduct, gaunt_product

__all__ = ["gaunt_product", "GauntTensorProduct", "GauntSelfInteraction"]
