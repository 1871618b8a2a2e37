r"""Coupled Newton–Schulz iteration for ``A^½`` and ``A^{-½}`` (the published method, ``method="ns"``).

With ``Â = A/‖A‖_F``, ``Y₀ = Â``, ``Z₀ = I``:

.. math::

    T_k = \tfrac12 (3I - Z_k Y_k), \qquad Y_{k+1} = Y_k T_k, \qquad Z_{k+1} = T_k Z_k,

and ``Y_k → Â^½``, ``Z_k → Â^{-½}``; then ``A^½ ≈ ‖A‖_F^½ Y_K`` and ``A^{-½} ≈ ‖A‖_F^{-½} Z_K``.
Three matrix products per step (the first step needs one).

Accuracy envelope. Each eigenvalue ``x = λ/‖A‖_F`` of ``Â`` evolves as ``x ← x(3 − x)²/4``; a small
``x`` grows by only 2.25 per step, and Frobenius normalisation makes every eigenvalue of a
well-spread ``n × n`` spectrum at most about ``1/√n``… so a fixed, small number of steps (5 in the
published global-covariance-pooling networks) leaves the small eigenvalues unconverged. Measured
(``benchmarks/results/linalg.md``, n = 64, float64, 5 steps) relative error of ``A^½``: about 1e-2
at κ = 10 and worse at larger κ (see the table there). Prefer ``method="sns"``
(:mod:`geomrep.linalg.scaled_newton_schulz`), which scales by a λ_max bound and every step.
"""

from __future__ import annotations

import torch

from ._checks import check_int_option, safe_frobenius_norm

__all__ = ["sqrtm_newton_schulz", "DEFAULT_ITERS"]

#: Steps used by the published method (iSQRT-COV style global covariance pooling).
DEFAULT_ITERS = 5


def sqrtm_newton_schulz(A: torch.Tensor, *, iters: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A^½, A^{-½})`` of SPD ``A (..., n, n)`` by ``iters`` coupled Newton–Schulz steps (no autograd).

    Args:
        A: symmetric positive definite matrices ``(..., n, n)``.
        iters: number of steps (default :data:`DEFAULT_ITERS` = 5); needs about
            ``log₂.₂₅(√n·κ) + 4`` steps to converge.

    Returns:
        ``(S, R)``, both ``(..., n, n)``.

    Example:
        >>> A = torch.diag(torch.tensor([1.0, 2.0], dtype=torch.float64))
        >>> S, R = sqrtm_newton_schulz(A, iters=30)
        >>> torch.allclose(S, A.sqrt())
        True
    """
    iters = check_int_option(iters, "iters")
    iters = DEFAULT_ITERS if iters is None else iters
    n = A.shape[-1]
    norm_raw = safe_frobenius_norm(A)
    norm = norm_raw.clamp_min(torch.finfo(A.dtype).tiny)
    Y = A / norm
    eye = torch.eye(n, dtype=A.dtype, device=A.device)
    T = 0.5 * (3.0 * eye - Y)
    Z = T
    Y = Y @ T
    for _ in range(iters - 1):
        T = 0.5 * (3.0 * eye - Z @ Y)
        Y, Z = Y @ T, T @ Z
    sc = norm_raw.sqrt()  # exactly 0 for the zero matrix: √0 = 0
    return Y * sc, Z / sc
