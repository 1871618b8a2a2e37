r"""Matrix Padé approximant (MPA) of ``√A`` and ``A^{-½}`` (the published method, ``method="mpa"``).

With ``Â = A/‖A‖_F`` and ``Z = I − Â``, the Padé ``[m/m]`` approximant ``P(z)/Q(z)`` of ``√(1 − z)``
(``geomrep.linalg._series.pade_sqrt``) gives

.. math::

    A^{1/2} \approx \|A\|_F^{1/2}\, Q(Z)^{-1} P(Z), \qquad
    A^{-1/2} \approx \|A\|_F^{-1/2}\, P(Z)^{-1} Q(Z).

Cost: ``m − 1`` products for ``Z², …, Z^m`` and one linear solve per output.

Accuracy envelope. The approximant is accurate near ``z = 0`` (eigenvalues of ``Â`` near 1) but
poor near ``z = 1``: after Frobenius normalisation every eigenvalue of a well-spread spectrum is
small, so the error does not vanish with more data precision. Known (DESIGN §4.1, n = 64, float64,
``[5/5]``): ≈ 1e-2 at κ = 10, 6e-2 at 1e2, 1.4e-1 at 1e3 for ``A^½``; the inverse root is far worse.
Our measurements are in ``benchmarks/results/linalg.md``. Use ``method="sns"`` for accuracy.
"""

from __future__ import annotations

import torch

from ._checks import check_int_option, safe_frobenius_norm
from ._series import cached_constant, pade_sqrt

__all__ = ["sqrtm_pade", "DEFAULT_DEGREE"]

#: Padé degree used by the published method (``[5/5]``).
DEFAULT_DEGREE = 5


def _matrix_powers(Z: torch.Tensor, m: int) -> list[torch.Tensor]:
    """``[I, Z, Z², …, Z^m]`` (``m − 1`` products)."""
    eye = torch.eye(Z.shape[-1], dtype=Z.dtype, device=Z.device).expand_as(Z)
    powers = [eye, Z]
    for _ in range(m - 1):
        powers.append(powers[-1] @ Z)
    return powers[: m + 1]


def _poly(coeffs, powers) -> torch.Tensor:
    out = coeffs[0] * powers[0]
    for c, P in zip(coeffs[1:], powers[1:]):
        out = out + c * P
    return out


def sqrtm_pade(A: torch.Tensor, *, degree: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A^½, A^{-½})`` of SPD ``A (..., n, n)`` by the Padé ``[m/m]`` approximant (no autograd wrapper).

    Args:
        A: symmetric positive definite matrices ``(..., n, n)``.
        degree: ``m`` (default :data:`DEFAULT_DEGREE` = 5).

    Returns:
        ``(S, R)``, both ``(..., n, n)``, symmetrised.

    Example:
        >>> A = torch.tensor([[1.0, 0.0], [0.0, 0.9]], dtype=torch.float64)
        >>> S, R = sqrtm_pade(A)
        >>> bool((S - A.sqrt()).abs().max() < 1e-8)
        True
    """
    m = check_int_option(degree, "degree")
    m = DEFAULT_DEGREE if m is None else m
    p, q = cached_constant(pade_sqrt, m)
    norm_raw = safe_frobenius_norm(A)
    norm = norm_raw.clamp_min(torch.finfo(A.dtype).tiny)
    eye = torch.eye(A.shape[-1], dtype=A.dtype, device=A.device)
    powers = _matrix_powers(eye - A / norm, m)
    P = _poly(p, powers)
    Q = _poly(q, powers)
    S = torch.linalg.solve(Q, P)
    R = torch.linalg.solve(P, Q)
    sc = norm_raw.sqrt()  # exactly 0 for the zero matrix: √0 = 0
    return 0.5 * (S + S.mT) * sc, 0.5 * (R + R.mT) / sc
