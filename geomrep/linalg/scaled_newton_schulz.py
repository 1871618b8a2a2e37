r"""Scaled Newton–Schulz sign iteration: matmul-only ``A^½`` and ``A^{-½}`` (geomrep's own method).

**Idea.** ``sign([[0, Â], [I, 0]]) = [[0, Â^½], [Â^{-½}, 0]]``, so any odd polynomial iteration
``X ← X p(X²)`` for the matrix sign gives the root and the inverse root together. With
``X = [[0, Y], [Z, 0]]`` the iteration is the coupled form ``W = Z Y``, ``T = p(W)``,
``Y ← Y T``, ``Z ← T Z`` (3 matrix products a step). Every eigenvalue ``λ`` of ``Â`` is followed by a
scalar ``s = √λ`` (a "sign value") with ``s ← s p(s²)``, and the matrix iteration converges exactly
when all sign values reach 1.

The published Newton–Schulz iteration uses ``p(x) = (3 − x)/2`` on ``Â = A/‖A‖_F``. Two things make
it slow and inaccurate for spread spectra, and this method fixes both:

1. **Scale by a tight upper bound of λ_max**, ``c = ‖A⁴‖_F^{1/4} = (Σ λ_i⁸)^{1/8}``, which satisfies
   ``λ_max ≤ c ≤ n^{1/8} λ_max`` (1.8·λ_max at n = 128, against up to ``√n`` for ``‖A‖_F``). It costs
   two products, and ``Â²`` is reused so that the first iteration needs no product at all.
2. **Scale every step** (Chen & Chow's scaled Newton–Schulz): the sign values lie in ``[ℓ, u]``;
   the step ``s ← g(α s)``, ``g(t) = t(3 − t²)/2`` with ``α² = 3/(u² + uℓ + ℓ²)`` maps both ends to
   the same value, so the new interval is ``[g(αℓ), 1]``. For small ``ℓ`` the lower end grows by
   ``(3/2)√3 ≈ 2.6`` per step instead of 1.5, then convergence is quadratic. The schedule ``α_k`` is
   computed once (float64, cached) from the design condition number ``cond``; ``u`` carries a small
   safety margin (1 % of ``1 − ℓ``) for rounding, which vanishes as ``ℓ → 1``.

``Y`` and ``Z`` are symmetrised every step (polynomials in ``Â``, symmetric in exact arithmetic);
``W = Z Y`` must *not* be: symmetrising it decouples the rounding errors of ``Y`` and ``Z`` and the
iteration becomes unstable (measured: error 1e-8 instead of 4e-15 at κ = 1e4 in float64).
Steps for a design condition number ``κ`` (n = 64, to float64 precision): 7 at ``κ = 10²``,
9 at ``10³``, 10 at ``10⁴``, 12 at ``10⁶``; total products ``2 + 3·(steps − 1)``.

Accuracy envelope (measured, ``benchmarks/results/linalg.md``): see :func:`sqrtm_scaled_ns`.
Matrices whose condition number exceeds ``cond`` still converge for their large eigenvalues; the
smallest ones stop short of convergence, which hurts ``A^{-½}`` much more than ``A^½``.
"""

from __future__ import annotations

import functools
import math

import torch

from ._checks import check_cond, safe_frobenius_norm
from ._series import cached_constant

__all__ = ["sign_schedule", "upper_scale", "sqrtm_scaled_ns", "default_cond", "MAX_STEPS"]

#: Hard cap on the number of iteration steps in a schedule.
MAX_STEPS = 60


def default_cond(dtype: torch.dtype) -> float:
    """Design condition number used when ``cond=None``: 1e6 (both dtypes, the accuracy targets' range)."""
    return 1e6


@functools.lru_cache(maxsize=256)
def sign_schedule(ell0: float, tol: float) -> tuple[float, ...]:
    """Step scalings ``α_k`` taking sign values in ``[ell0, 1]`` to within ``tol`` of 1.

    Args:
        ell0: lower bound of the sign values, ``0 < ell0 ≤ 1``.
        tol: stop when the guaranteed lower end satisfies ``1 − ℓ_k ≤ tol`` (use ≥ 1e-15).

    Returns:
        tuple of floats (float64 arithmetic), at most :data:`MAX_STEPS` long.

    Example:
        >>> len(sign_schedule(1e-3, 1e-14))
        12
    """
    if not 0.0 < ell0 <= 1.0:
        raise ValueError(f"ell0 must lie in (0, 1] (cond must be finite), got {ell0}")
    tol = max(float(tol), 1e-15)
    ell, alphas = float(ell0), []
    while 1.0 - ell > tol and len(alphas) < MAX_STEPS:
        u = 1.0 + 1e-2 * (1.0 - ell)
        alpha = math.sqrt(3.0 / (u * u + u * ell + ell * ell))
        alphas.append(alpha)
        ell = min(0.5 * alpha * ell * (3.0 - alpha * alpha * ell * ell), 1.0)
    return tuple(alphas)


def _tol(dtype: torch.dtype) -> float:
    return max(float(torch.finfo(dtype).eps), 1e-15)


def upper_scale(A: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``c = ‖A⁴‖_F^{1/4}`` (``λ_max ≤ c ≤ n^{1/8} λ_max`` for SPD ``A``), ``Â = A/c`` and ``Â²``.

    ``A`` is first divided by ``‖A‖_F`` (computed without over/underflow, see
    ``geomrep.linalg._checks.safe_frobenius_norm``) so that the powers cannot overflow or
    underflow: float32 ``1e-30·I`` and ``1e30·I`` work. Two matrix products.

    Returns:
        ``(c (..., 1, 1), Â (..., n, n), Â² (..., n, n))``.
    """
    f_raw = safe_frobenius_norm(A)
    f = f_raw.clamp_min(torch.finfo(A.dtype).tiny)
    A1 = A / f
    A2 = A1 @ A1
    r = torch.linalg.matrix_norm(A2 @ A2)[..., None, None].clamp_min(torch.finfo(A.dtype).tiny) ** 0.25
    # r ≤ 1 because every |λ/‖A‖_F| ≤ 1
    return f_raw * r, A1 / r, A2 / (r * r)


def _sym(X: torch.Tensor) -> torch.Tensor:
    return 0.5 * (X + X.mT)


def sqrtm_scaled_ns(
    A: torch.Tensor, *, cond: float | None = None, need_inverse: bool = True
) -> tuple[torch.Tensor, torch.Tensor | None]:
    r"""Matmul-only ``(A^½, A^{-½})`` of SPD ``A (..., n, n)`` by the scaled Newton–Schulz sign iteration.

    No autograd wrapper: :func:`geomrep.linalg.sqrtm` with ``method="sns"`` adds the Lyapunov
    backward. The number of steps is fixed by ``cond`` and ``n`` (no data-dependent control flow, so
    it compiles to one graph).

    Args:
        A: symmetric positive definite matrices ``(..., n, n)``, any floating dtype.
        cond: design condition number (default :func:`default_cond`). Accuracy is guaranteed (up to
            rounding) for ``κ(A) ≤ cond``; larger ``cond`` costs a few more steps.
        need_inverse: when False the last update of ``Z`` is skipped and ``None`` is returned for it.

    Returns:
        ``(S, R)`` with ``S ≈ A^½`` and ``R ≈ A^{-½}`` (or None), shapes ``(..., n, n)``.

    Accuracy (relative Frobenius error, n ≤ 128, measured in ``benchmarks/bench_linalg.py``):
    float64 about 1e-13 for ``A^½`` up to κ = 1e6; float32 ≤ 1e-5 up to κ = 1e4 for ``A^½``.

    Example:
        >>> A = torch.diag(torch.tensor([1e-3, 1.0, 4.0], dtype=torch.float64))
        >>> S, R = sqrtm_scaled_ns(A)
        >>> torch.allclose(S, torch.diag(torch.tensor([1e-3, 1.0, 4.0], dtype=torch.float64).sqrt()))
        True
    """
    n = A.shape[-1]
    kappa = check_cond(cond)
    kappa = default_cond(A.dtype) if kappa is None else kappa
    alphas = cached_constant(sign_schedule, 1.0 / math.sqrt(kappa * n**0.125), _tol(A.dtype))
    c, Ah, Ah2 = upper_scale(A)
    eye = torch.eye(n, dtype=A.dtype, device=A.device)
    # first step with Z_0 = I, W_0 = Â: T_0 = α/2 (3I − α² Â), Y_1 = Â T_0, Z_1 = T_0 (no product)
    a = alphas[0]
    Y = 0.5 * a * (3.0 * Ah - (a * a) * Ah2)
    Z = 0.5 * a * (3.0 * eye - (a * a) * Ah)
    last = len(alphas) - 1
    for k, a in enumerate(alphas[1:], start=1):
        W = Z @ Y  # not symmetrised: that would break the coupling and make the iteration unstable
        T = (1.5 * a) * eye - (0.5 * a**3) * W
        Ynew = _sym(Y @ T)
        if need_inverse or k < last:
            Z = _sym(T @ Z)
        Y = Ynew
    sc = c.sqrt()
    return Y * sc, (Z / sc if need_inverse else None)
