r"""Autograd for the matmul-only square roots: any forward method, a Lyapunov backward.

For ``S = A^½`` and ``R = A^{-½} = S^{-1}`` with upstream gradients ``G_S``, ``G_R``:
``dR = −R dS R`` folds ``G_R`` into ``G = sym(G_S) − R sym(G_R) R``, and ``dS`` follows from
``S dS + dS S = dA``, so the gradient with respect to ``A`` is the solution ``X`` of

.. math::

    S X + X S = G,

computed matmul-only by :func:`geomrep.linalg.lyapunov.lyapunov_sign` (scaled Newton–Schulz sign
iteration, no ``1/(λ_i − λ_j)``), with the design condition number ``√cond`` of ``S``. The backward
uses the computed ``S`` of the forward: it is the exact gradient of the square root at ``S²``, so
its accuracy is that of the forward method plus the solver's (≈ working precision for
``κ(A) ≤ cond``). The gradient is symmetric (gradient with respect to a symmetric argument).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.autograd.function import once_differentiable

from ._checks import check_cond
from .lyapunov import lyapunov_sign
from .scaled_newton_schulz import default_cond

__all__ = ["matmul_sqrtm_invsqrtm"]


class _MatmulRoot(torch.autograd.Function):
    generate_vmap_rule = True

    @staticmethod
    def forward(A, forward_fn, cond):
        S, R = forward_fn(A)
        return S, R

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, _, cond = inputs
        ctx.cond = cond
        ctx.save_for_backward(*output)

    @staticmethod
    @once_differentiable
    def backward(ctx, gS, gR):
        S, R = ctx.saved_tensors
        G = None
        if gS is not None:
            G = 0.5 * (gS + gS.mT)
        if gR is not None:
            term = -(R @ (0.5 * (gR + gR.mT)) @ R)
            G = term if G is None else G + term
        if G is None:
            return None, None, None
        X = lyapunov_sign(S, G, cond=math.sqrt(ctx.cond), symmetric_rhs=True)
        return X, None, None


def matmul_sqrtm_invsqrtm(
    A: torch.Tensor,
    forward_fn: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    *,
    cond: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(A^½, A^{-½})`` from ``forward_fn(A)`` with the matmul-only Lyapunov backward.

    Args:
        A: symmetric positive definite matrices ``(..., n, n)`` (validated by the caller).
        forward_fn: ``A -> (S, R)`` without autograd, e.g. a ``functools.partial`` of
            :func:`geomrep.linalg.scaled_newton_schulz.sqrtm_scaled_ns`.
        cond: design condition number of ``A`` for the backward solver (default 1e6).

    Returns:
        ``(S, R)``, both ``(..., n, n)``, differentiable with respect to ``A``.
    """
    kappa = check_cond(cond)
    kappa = default_cond(A.dtype) if kappa is None else kappa
    return _MatmulRoot.apply(A, forward_fn, kappa)
