r"""``ProductMLR``: multinomial logistic regression on a product space by signed distances to gyroplanes.

Ganea, Bécigneul, Hofmann (2018) for the Poincaré ball, in the κ-stereographic form of Bachmann et al.
(2020): class ``c`` owns, in every factor, a point :math:`p_c` and a normal :math:`a_c \in T_{p_c}`. With
:math:`z = (-p_c) \oplus_\kappa x` the factor's logit is

.. math::

    \lambda_{p_c} \|a_c\| \; \mathrm{arcsin}_\kappa\!\Big(\frac{2\langle z, a_c\rangle}
    {(1 + \kappa\|z\|^2)\,\|a_c\|}\Big),

:math:`\lambda_{p_c}\|a_c\|` times the signed distance from ``x`` to the gyroplane through :math:`p_c`
orthogonal to :math:`a_c`
(:math:`\mathrm{arcsin}_\kappa(y) = \operatorname{asinh}(\sqrt{-\kappa}y)/\sqrt{-\kappa}` for κ < 0,
:math:`\arcsin(\sqrt\kappa y)/\sqrt\kappa` for κ > 0, its argument clipped to the domain, ``y``
at κ = 0, where the logit is the affine :math:`4\langle x - p_c, a_c\rangle`). The product logit is the
sum over factors (an affine classifier on a product of Euclidean factors). Parameters live in the
tangent space at the origin: :math:`p_c = \exp_0(\tilde p_c)` and :math:`a_c = P_{0\to p_c}(\tilde a_c)
= (2/\lambda_{p_c})\tilde a_c`, so plain (Euclidean) optimisers train the layer.
"""

from __future__ import annotations

import torch
from torch import nn

from . import stereographic as st
from .product import ProductSpace

__all__ = ["ProductMLR", "gyroplane_logits"]


def _arcsin_k(y: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    one = torch.ones((), dtype=y.dtype, device=y.device)
    small = (k * y * y).abs() < (1e-4 if y.dtype == torch.float64 else 1e-2)
    pos = (k > 0) & ~small
    neg = (k < 0) & ~small
    sp = torch.where(pos, k, one).sqrt()
    sn = torch.where(neg, -k, one).sqrt()
    ky2 = k * y * y
    series = y * (1 + ky2 / 6 + 3 * ky2**2 / 40)
    arg = (sp * y).clamp(-1.0, 1.0)
    return torch.where(small, series, torch.where(pos, torch.asin(arg) / sp, torch.asinh(sn * y) / sn))


def gyroplane_logits(x: torch.Tensor, p: torch.Tensor, a: torch.Tensor, k) -> torch.Tensor:
    """Factor logits ``(..., C)`` of points ``x`` ``(..., d)``, gyroplanes ``p, a`` ``(C, d)``."""
    k = torch.as_tensor(k, dtype=x.dtype, device=x.device)
    z = st.mobius_add(-p, x[..., None, :], k)  # (..., C, d)
    a_norm = a.norm(dim=-1).clamp_min(torch.finfo(x.dtype).tiny)
    y = 2 * (z * a).sum(-1) / ((1 + k * z.pow(2).sum(-1)) * a_norm)
    return st.lambda_x(p, k) * a_norm * _arcsin_k(y, k)


class ProductMLR(nn.Module):
    """Multinomial logistic regression on a :class:`ProductSpace` (module docstring).

    Args:
        space: the product space of the inputs (its curvatures are used, learnable ones included).
        num_classes: number of classes ``C``.
        dtype, device: of the parameters.

    Shapes: ``x (..., D)`` → logits ``(..., C)``.

    Example:
        >>> space = ProductSpace("H2xE2")
        >>> mlr = ProductMLR(space, 3)
        >>> mlr(space.random(5, 4)).shape
        torch.Size([5, 3])
    """

    def __init__(self, space: ProductSpace, num_classes: int, *, dtype=None, device=None) -> None:
        super().__init__()
        if not isinstance(space, ProductSpace):
            raise TypeError(f"space must be a ProductSpace, got {type(space).__name__}")
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        self.space = space
        self.num_classes = num_classes
        D = space.dim
        self.p_tangent = nn.Parameter(torch.zeros(num_classes, D, dtype=dtype, device=device))
        self.a_tangent = nn.Parameter(torch.randn(num_classes, D, dtype=dtype, device=device) * D**-0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.space._check(x, "x")
        ks = self.space._ks(x)
        p = self.space.expmap0(self.p_tangent.to(x.dtype))
        out = 0
        for i in range(self.space.n_manifolds):
            pi = self.space.take_submanifold_value(p, i)
            ai = self.space.take_submanifold_value(self.a_tangent.to(x.dtype), i)
            ai = ai * (2 / st.lambda_x(pi, ks[i], keepdim=True))  # transport from the origin
            out = out + gyroplane_logits(self.space.take_submanifold_value(x, i), pi, ai, ks[i])
        return out
