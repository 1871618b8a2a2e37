r"""Matrix Taylor polynomial (MTP) of ``√A`` and ``A^{-½}`` (the published method, ``method="mtp"``).

With ``Â = A/‖A‖_F`` and ``Z = I − Â``, truncate the binomial series
(``geomrep.linalg._series.binomial_series``) at degree ``K``:

.. math::

    A^{1/2} \approx \|A\|_F^{1/2} \sum_{k=0}^{K} \binom{1/2}{k} (-Z)^k, \qquad
    A^{-1/2} \approx \|A\|_F^{-1/2} \sum_{k=0}^{K} \binom{-1/2}{k} (-Z)^k.

Cost: ``K − 1`` products (powers shared by both outputs).

Accuracy envelope. The series of ``√(1 − z)`` converges slowly near ``z = 1`` (coefficients decay
like ``k^{-3/2}``; those of ``(1 − z)^{-1/2}`` like ``k^{-1/2}``), and after Frobenius normalisation
the eigenvalues of ``Â`` are small, i.e. ``z`` is near 1: the truncation error is large for spread
spectra and the inverse root is much worse. Measured envelope: ``benchmarks/results/linalg.md``.
"""

from __future__ import annotations

import torch

from ._checks import check_int_option, safe_frobenius_norm
from ._series import binomial_series, cached_constant
from .pade import _matrix_powers, _poly

__all__ = ["sqrtm_taylor", "DEFAULT_DEGREE"]

#: Taylor degree used by the published method.
DEFAULT_DEGREE = 10


def sqrtm_taylor(A: torch.Tensor, *, degree: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A^½, A^{-½})`` of SPD ``A (..., n, n)`` by degree-``K`` Taylor polynomials (no autograd wrapper).

    Args:
        A: symmetric positive definite matrices ``(..., n, n)``.
        degree: ``K`` (default :data:`DEFAULT_DEGREE` = 10).

    Returns:
        ``(S, R)``, both ``(..., n, n)``.

    Example:
        >>> A = torch.tensor([[1.0, 0.0], [0.0, 0.9]], dtype=torch.float64)
        >>> S, R = sqrtm_taylor(A)
        >>> bool((S - A.sqrt()).abs().max() < 1e-6)
        True
    """
    K = check_int_option(degree, "degree")
    K = DEFAULT_DEGREE if K is None else K
    norm_raw = safe_frobenius_norm(A)
    norm = norm_raw.clamp_min(torch.finfo(A.dtype).tiny)
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    powers = _matrix_powers(eye - A / norm, K)
    S = _poly(cached_constant(binomial_series, 0.5, K), powers)
    R = _poly(cached_constant(binomial_series, -0.5, K), powers)
    sc = norm_raw.sqrt()  # exactly 0 for the zero matrix: √0 = 0
    return S * sc, R / sc
