r"""Closed-form BW parallel transport between ``P`` and ``I`` with a tie-safe backward (internal).

With :math:`P = Q \operatorname{diag}(\sigma) Q^\top` and :math:`S_{kl} = \sigma_k + \sigma_l`, both
transports are :math:`Y = Q\,[h(S) \circ Q^\top V Q]\,Q^\top` with :math:`h(s) = \sqrt{2/s}` (towards
:math:`I`) or :math:`h(s) = \sqrt{s/2}` (from :math:`I`). First-order perturbation of the eigenbasis
gives, with :math:`\tilde G = Q^\top G Q`, :math:`\tilde V = Q^\top V Q` and the divided difference
:math:`D(x, y) = (h(x) - h(y))/(x - y)`,

.. math::

    \tilde\nabla_P = \operatorname{sym}(T_1 + T_2),\quad
    (T_1)_{km} = \sum_l \tilde G_{kl} \tilde V_{ml} D(S_{kl}, S_{ml}),\quad
    (T_2)_{ab} = \sum_k \tilde G_{kb} \tilde V_{ka} D(S_{kb}, S_{ka}),

and :math:`\nabla_V = Q\,[h(S) \circ \tilde G]\,Q^\top`. ``D`` has closed forms with no
:math:`1/(x-y)`: :math:`-\sqrt2/(\sqrt x\sqrt y(\sqrt x+\sqrt y))` and :math:`1/(\sqrt2(\sqrt x+\sqrt y))`
(the limits at ``x = y`` are ``h'(x)``), so the gradient is exact at repeated eigenvalues of ``P``,
where ``torch.linalg.eigh``'s autograd returns NaN. Cost of the backward: ``O(n³)`` per matrix.
First order only: a double backward raises (``once_differentiable``) instead of returning a wrong value.
"""

from __future__ import annotations

import math

import torch
from torch.autograd.function import once_differentiable

__all__ = ["transport_identity"]

_SQRT2 = math.sqrt(2.0)


def _h(S: torch.Tensor, inverse: bool) -> torch.Tensor:
    return torch.sqrt(0.5 * S) if inverse else torch.rsqrt(0.5 * S)


def _dd(x: torch.Tensor, y: torch.Tensor, inverse: bool) -> torch.Tensor:
    rx, ry = x.sqrt(), y.sqrt()
    if inverse:
        return 1.0 / (_SQRT2 * (rx + ry))
    return -_SQRT2 / (rx * ry * (rx + ry))


class _Transport(torch.autograd.Function):
    @staticmethod
    def forward(P: torch.Tensor, V: torch.Tensor, inverse: bool):
        sigma, Q = torch.linalg.eigh(0.5 * (P + P.mT))
        sigma = sigma.clamp_min(torch.finfo(sigma.dtype).tiny)
        S = sigma[..., :, None] + sigma[..., None, :]
        Vt = Q.mT @ V @ Q
        K = _h(S, inverse)
        return Q @ (K * Vt) @ Q.mT, S, Q, Vt, K

    @staticmethod
    def setup_context(ctx, inputs, output):
        _, S, Q, Vt, K = output
        ctx.inverse = inputs[2]
        ctx.save_for_backward(S, Q, Vt, K)
        ctx.mark_non_differentiable(S, Q, Vt, K)

    @staticmethod
    @once_differentiable
    def backward(ctx, G, *_):
        S, Q, Vt, K = ctx.saved_tensors
        Gt = Q.mT @ G @ Q
        dP = dV = None
        if ctx.needs_input_grad[1]:
            dV = Q @ (K * Gt) @ Q.mT
        if ctx.needs_input_grad[0]:
            # A[k, m, l] = D(S_kl, S_ml), symmetric in (k, m)
            A = _dd(S[..., :, None, :], S[..., None, :, :], ctx.inverse)
            T = torch.einsum("...kl,...ml,...kml->...km", Gt, Vt, A)
            T = T + torch.einsum("...kb,...ka,...abk->...ab", Gt, Vt, A)
            dP = Q @ (0.5 * (T + T.mT)) @ Q.mT
        return dP, dV, None


def transport_identity(P: torch.Tensor, V: torch.Tensor, inverse: bool) -> torch.Tensor:
    """``Γ_{P→I}(V)`` (``inverse=False``) or ``Γ_{I→P}(V)`` for validated, broadcastable ``P``, ``V``."""
    batch = torch.broadcast_shapes(P.shape[:-2], V.shape[:-2])
    P = P.expand(*batch, *P.shape[-2:])
    V = V.expand(*batch, *V.shape[-2:])
    return _Transport.apply(P, V, inverse)[0]
