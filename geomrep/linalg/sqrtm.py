"""Matrix square root and inverse square root of SPD matrices: method dispatch.

``sqrtm(A, method)``, ``invsqrtm(A, method)`` and ``sqrtm_invsqrtm(A, method)`` pick an implementation:

- ``"eig"``: ``torch.linalg.eigh`` with the tie-safe Daleckii–Krein backward
  (:mod:`geomrep.linalg.spectral`);
- ``"auto"``: a method chosen for the device and dtype (see :func:`select_method`).
"""

from __future__ import annotations

import torch

from .spectral import invsqrtm_eig, sqrtm_eig, sqrtm_invsqrtm_eig

__all__ = ["METHODS", "select_method", "sqrtm", "invsqrtm", "sqrtm_invsqrtm"]

#: Methods accepted by :func:`sqrtm`, :func:`invsqrtm` and :func:`sqrtm_invsqrtm`.
METHODS = ("auto", "eig")


def select_method(A: torch.Tensor) -> str:
    """The method ``"auto"`` resolves to for ``A``'s device and dtype (currently always ``"eig"``)."""
    return "eig"


def _resolve(A: torch.Tensor, method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return select_method(A) if method == "auto" else method


def sqrtm(A: torch.Tensor, method: str = "auto") -> torch.Tensor:
    """Principal square root ``A^½`` of symmetric positive (semi)definite ``A (..., n, n)``.

    Example:
        >>> sqrtm(torch.eye(3, dtype=torch.float64) * 9)[0, 0]
        tensor(3., dtype=torch.float64)
    """
    _resolve(A, method)
    return sqrtm_eig(A)


def invsqrtm(A: torch.Tensor, method: str = "auto") -> torch.Tensor:
    """Inverse square root ``A^{-½}`` of symmetric positive definite ``A (..., n, n)``.

    Example:
        >>> invsqrtm(torch.eye(3, dtype=torch.float64) * 4)[0, 0]
        tensor(0.5000, dtype=torch.float64)
    """
    _resolve(A, method)
    return invsqrtm_eig(A)


def sqrtm_invsqrtm(A: torch.Tensor, method: str = "auto") -> tuple[torch.Tensor, torch.Tensor]:
    """``(A^½, A^{-½})`` of symmetric positive definite ``A (..., n, n)``, sharing the work.

    Example:
        >>> S, R = sqrtm_invsqrtm(torch.eye(3, dtype=torch.float64) * 4)
        >>> float(S[0, 0]), float(R[0, 0])
        (2.0, 0.5)
    """
    _resolve(A, method)
    return sqrtm_invsqrtm_eig(A)
