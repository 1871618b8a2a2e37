r"""Wrapped normal distribution on a κ-stereographic factor (Nagano et al. 2019; Skopek et al. 2020).

Sampling: draw :math:`v \sim \mathcal N(0, \operatorname{diag}\sigma^2)` in *orthonormal* coordinates of
the tangent space at the origin, parallel-transport it to the mean :math:`\mu` and map it with
:math:`\exp_\mu`. In chart coordinates the transported vector is :math:`u = v / \lambda_\mu`, whose
Riemannian length is :math:`\|v\|`, so :math:`d(\mu, z) = \|v\|` exactly (a sampler that forgets the
conformal factor :math:`\lambda_0 = 2` draws a distribution twice too wide).

Log-density with respect to the Riemannian volume :math:`\lambda_z^d\,dz`:

.. math::

    \log p(z) = \log \mathcal N(v; 0, \operatorname{diag}\sigma^2) - (d - 1)\log\frac{\sin_\kappa r}{r},
    \qquad v = \lambda_\mu \log_\mu z,\ r = \|v\| = d(\mu, z),

with :math:`\sin_\kappa r = \sinh(\sqrt{-\kappa} r)/\sqrt{-\kappa}` for κ < 0,
:math:`\sin(\sqrt\kappa r)/\sqrt\kappa` for κ > 0. For κ > 0 the formula counts only the preimage
with :math:`r < \pi/\sqrt\kappa`: it is exact when σ ≪ π/√κ and misses the wrapped-around mass otherwise.
"""

from __future__ import annotations

import math

import torch

from . import stereographic as st

__all__ = ["wrapped_normal_sample", "wrapped_normal_log_prob"]


def wrapped_normal_sample(
    mean: torch.Tensor, std, k, *, sample_shape=(), generator: torch.Generator | None = None
) -> torch.Tensor:
    """Samples ``(*sample_shape, *mean.shape)`` from the wrapped normal at ``mean`` ``(..., d)``.

    Args:
        mean: points ``(..., d)``. std: σ, a number or a tensor broadcastable to ``mean``.
        k: curvature of the factor. generator: optional ``torch.Generator``.
    """
    k = torch.as_tensor(k, dtype=mean.dtype, device=mean.device)
    shape = (*tuple(sample_shape), *mean.shape)
    v = torch.randn(shape, dtype=mean.dtype, device=mean.device, generator=generator) * std
    u = v / st.lambda_x(mean, k, keepdim=True)
    return st.expmap(mean.expand(shape), u, k)


def wrapped_normal_log_prob(z: torch.Tensor, mean: torch.Tensor, std, k) -> torch.Tensor:
    """Log-density ``(...)`` of points ``z`` ``(..., d)`` w.r.t. the Riemannian volume (formula above)."""
    k = torch.as_tensor(k, dtype=z.dtype, device=z.device)
    std = torch.as_tensor(std, dtype=z.dtype, device=z.device).expand_as(z)
    v = st.lambda_x(mean, k, keepdim=True) * st.logmap(mean, z, k)
    d = z.shape[-1]
    log_n = (-0.5 * (v / std) ** 2 - std.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
    r = v.pow(2).sum(-1).clamp_min(torch.finfo(z.dtype).tiny).sqrt()
    ratio = st.sin_k(r, k) / r
    return log_n - (d - 1) * ratio.log()
