r"""Special Procrustes: the rotation nearest to a matrix (9D → SO(3), any n), with a damped gradient.

For ``M = U diag(s) Vᵀ`` (singular values ``s₁ ≥ … ≥ s_n ≥ 0``) the rotation minimising ``‖R − M‖_F``
over SO(n) is

.. math::  R = U\,D\,V^\top,\qquad D = \operatorname{diag}(1, \dots, 1, \det(UV^\top)).

Backward (derived from ``M = R P`` with ``P = V S' Vᵀ``, ``S' = D diag(s)``): for the upstream gradient
``G``, with ``H = D Uᵀ G V`` and ``K_ij = 1 / (s'_i + s'_j)``,

.. math::  \nabla_M = U\,D\,\big(K \circ (H - H^\top)\big)\,V^\top .

``s'_i + s'_j ≥ 0`` vanishes only where the rotation is not unique (two singular values zero, or
``s_{n-1} = s_n`` with a reflection correction, ``det M < 0``). There the denominators are floored at
``δ = max(√eps · s₁, √tiny)`` (dtype-dependent): exact gradient wherever ``s'_i + s'_j > δ``, finite and
damped in the directions that are undetermined. Rank-deficient ``M`` of rank ≥ n − 1 keeps an exact,
finite gradient (``s'_i + s'_j ≥ s_{n-1} > 0``).
"""

from __future__ import annotations

import torch

from ._checks import check_tensor

__all__ = ["special_procrustes"]


def _svd_parts(M: torch.Tensor):
    U, s, Vh = torch.linalg.svd(M)
    d = torch.sign(torch.linalg.det(U) * torch.linalg.det(Vh))
    d = torch.where(d == 0, torch.ones_like(d), d)  # orthogonal factors: |det| = 1; guard anyway
    D = torch.ones_like(s)
    D = torch.cat((D[..., :-1], d[..., None]), dim=-1)
    return U, s, Vh, D


class _SpecialProcrustes(torch.autograd.Function):
    @staticmethod
    def forward(M: torch.Tensor):
        U, s, Vh, D = _svd_parts(M)
        R = (U * D[..., None, :]) @ Vh
        if R.dtype != torch.float64:  # one Newton–Schulz polar step: orthogonality to rounding level
            R = 1.5 * R - 0.5 * R @ (R.mT @ R)
        return R, U, s, Vh, D

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, U, s, Vh, D = output
        ctx.save_for_backward(U, s, Vh, D)
        ctx.mark_non_differentiable(U, s, Vh, D)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, G, *_):
        U, s, Vh, D = ctx.saved_tensors
        sp = D * s
        finfo = torch.finfo(s.dtype)
        delta = torch.clamp_min(s[..., :1] * finfo.eps**0.5, finfo.tiny**0.5)[..., None]
        K = 1.0 / torch.maximum(sp[..., :, None] + sp[..., None, :], delta)
        H = D[..., :, None] * (U.mT @ G @ Vh.mT)
        inner = K * (H - H.mT)
        return (U * D[..., None, :]) @ inner @ Vh


def special_procrustes(M: torch.Tensor) -> torch.Tensor:
    r"""The rotation nearest to ``M`` in Frobenius norm: ``U diag(1, …, 1, det UVᵀ) Vᵀ``.

    This is the "9D" representation of rotations (Levinson et al., 2020): a network outputs 9 numbers,
    reshaped to ``(3, 3)``, and this map projects them onto SO(3). Works for any ``n ≥ 1``.

    Args:
        M: ``(..., n, n)``, float32 or float64, finite. Rank-deficient matrices are fine; for ``M = 0``
            the result is some rotation (``U Vᵀ`` of the SVD) with a finite gradient.

    Returns:
        ``(..., n, n)`` rotations (``RᵀR = I``, ``det R = +1``; in float32 one Newton–Schulz step
        ``R ← R(3I − RᵀR)/2`` after the SVD brings ``RᵀR − I`` to ~1e-7). Gradients: the exact derivative
        of the map, with the damping described in the module docstring where singular values tie in a way that
        makes the projection non-unique (never NaN or inf).

    Example:
        >>> M = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, -0.5]])
        >>> special_procrustes(M)
        tensor([[1., 0., 0.],
                [0., 1., 0.],
                [0., 0., 1.]])
    """
    check_tensor(M, "M", (-1, -1))
    if M.shape[-1] != M.shape[-2]:
        raise ValueError(f"M must be a batch of square matrices (..., n, n), got shape {tuple(M.shape)}")
    if M.numel() == 0:
        return M.clone()
    return _SpecialProcrustes.apply(M)[0]
