r"""Conversion between the κ-stereographic model and the ambient (hyperboloid / sphere) models.

For κ ≠ 0 with :math:`R = 1/\sqrt{|\kappa|}` and :math:`s = 1 + \kappa\|x\|^2`:

.. math::

    x \mapsto (x_0, x_{1:}) = \Big(R\,\frac{1 - \kappa\|x\|^2}{1 + \kappa\|x\|^2},\
    \frac{2x}{1 + \kappa\|x\|^2}\Big),
    \qquad (x_0, x_{1:}) \mapsto \frac{x_{1:}}{1 + x_0/R}.

For κ < 0 the image is the upper sheet of the hyperboloid :math:`-x_0^2 + \|x_{1:}\|^2 = -R^2` with
distance :math:`R\,\operatorname{arcosh}(-\langle a, b\rangle_L / R^2)`; for κ > 0 it is the sphere
:math:`x_0^2 + \|x_{1:}\|^2 = R^2` with distance :math:`R \arccos(\langle a, b\rangle / R^2)`. Both maps are
isometries for *every* κ (the radius enters both the point and the inverse; a conversion written for
\|κ| = 1 only silently distorts distances otherwise). For κ = 0 the isometric Euclidean coordinates are
:math:`2x` (the stereographic model at κ = 0 carries the metric :math:`4I`), so the ambient
dimension is ``d`` and not ``d + 1``; as κ → 0 the spatial part :math:`2x/(1+\kappa\|x\|^2)` tends to it.
"""

from __future__ import annotations

import torch

__all__ = ["to_ambient", "from_ambient"]


def to_ambient(x: torch.Tensor, k: float) -> torch.Tensor:
    """Stereographic points ``(..., d)`` → hyperboloid/sphere points ``(..., d + 1)`` (``2x`` for κ = 0).

    Args:
        x: points ``(..., d)``. k: the factor's curvature (a Python number or 0-d tensor; the branch is
            chosen by its sign).
    """
    k = torch.as_tensor(k, dtype=x.dtype, device=x.device)
    if float(k) == 0.0:
        return 2 * x
    x2 = x.pow(2).sum(-1, keepdim=True)
    s = 1 + k * x2
    r = k.abs().rsqrt()
    return torch.cat([r * (1 - k * x2) / s, 2 * x / s], dim=-1)


def from_ambient(a: torch.Tensor, k: float) -> torch.Tensor:
    """Inverse of :func:`to_ambient`: ``(..., d + 1)`` → ``(..., d)`` (``a / 2`` for κ = 0)."""
    k = torch.as_tensor(k, dtype=a.dtype, device=a.device)
    if float(k) == 0.0:
        return a / 2
    r = k.abs().rsqrt()
    return a[..., 1:] / (1 + a[..., :1] / r)
