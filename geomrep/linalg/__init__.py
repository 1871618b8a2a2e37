"""Matrix functions of symmetric (positive definite) matrices with correct gradients.

Eigen-functions with a tie-safe Daleckii–Krein backward (:func:`spectral_map`, :func:`logm`,
:func:`expm`, :func:`powm`), matrix square roots and inverse roots (:func:`sqrtm`,
:func:`invsqrtm`, :func:`sqrtm_invsqrtm`) and the Lyapunov solver :func:`solve_lyapunov`.
"""

from .lyapunov import solve_lyapunov
from .spectral import expm, invsqrtm_eig, logm, powm, spectral_map, sqrtm_eig, sqrtm_invsqrtm_eig, sym
from .sqrtm import METHODS, invsqrtm, select_method, sqrtm, sqrtm_invsqrtm

__all__ = [
    "sym",
    "spectral_map",
    "sqrtm",
    "invsqrtm",
    "sqrtm_invsqrtm",
    "logm",
    "expm",
    "powm",
    "solve_lyapunov",
    "sqrtm_eig",
    "invsqrtm_eig",
    "sqrtm_invsqrtm_eig",
    "select_method",
    "METHODS",
]
