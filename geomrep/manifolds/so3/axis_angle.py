r"""Rotation vectors (axis-angle) ↔ rotation matrices, exact near 0 and near π.

A rotation vector ``v = θ n`` (unit axis ``n``, angle ``θ = ‖v‖``) maps by Rodrigues' formula

.. math::  R = I + A(\theta)\,[v]_\times + B(\theta)\,[v]_\times^2,\quad
           A = \frac{\sin\theta}{\theta},\
           B = \frac{1-\cos\theta}{\theta^2} = \tfrac12\Big(\frac{\sin(\theta/2)}{\theta/2}\Big)^2,

with Taylor series of ``A`` and ``B`` in ``θ²`` below ``θ² < √eps`` (no cancellation, exact gradient at
``v = 0``). The inverse goes through the canonical quaternion ``(w, u) = (cos θ/2, sin θ/2 · n)``, ``w ≥ 0``:
``θ = 2·atan2(‖u‖, w)`` and ``v = (θ / ‖u‖) u``, accurate at every angle since Shepperd's quaternion
extraction is; ``θ / ‖u‖`` uses its series ``2/w · (1 − t/3 + t²/5)``, ``t = ‖u‖²/w²``, near ``u = 0``.
Returned angles lie in ``[0, π]``; at exactly π both ``±v`` are valid and the canonical quaternion picks one.
"""

from __future__ import annotations

import torch

from ._checks import check_tensor, safe_sqrt
from .quaternion import matrix_to_quaternion

__all__ = ["axis_angle_to_matrix", "matrix_to_axis_angle", "hat", "vee"]


def hat(v: torch.Tensor) -> torch.Tensor:
    """Skew-symmetric matrix ``[v]×`` with ``[v]× w = v × w``: ``(..., 3) → (..., 3, 3)``."""
    check_tensor(v, "v", (3,), finite=False)
    x, y, z = v.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack(
        (torch.stack((o, -z, y), -1), torch.stack((z, o, -x), -1), torch.stack((-y, x, o), -1)), dim=-2
    )


def vee(S: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`hat` on the skew part: ``(..., 3, 3) → (..., 3)``, ``vee(S) = axial((S − Sᵀ)/2)``."""
    check_tensor(S, "S", (3, 3), finite=False)
    return 0.5 * axial(S)


def axial(S: torch.Tensor) -> torch.Tensor:
    """``(S₂₁ − S₁₂, S₀₂ − S₂₀, S₁₀ − S₀₁)`` (unchecked; ``2·vee(S)``)."""
    x = S[..., 2, 1] - S[..., 1, 2]
    y = S[..., 0, 2] - S[..., 2, 0]
    z = S[..., 1, 0] - S[..., 0, 1]
    return torch.stack((x, y, z), -1)


def _rodrigues_coefficients(t2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``A = sin θ/θ`` and ``B = (1 − cos θ)/θ²`` as functions of ``θ² = t2``, series near 0."""
    small = t2 < torch.finfo(t2.dtype).eps ** 0.5
    t2s = torch.where(small, torch.ones_like(t2), t2)
    th = torch.sqrt(t2s)
    a_big = torch.sin(th) / th
    half = torch.sin(0.5 * th) / (0.5 * th)
    b_big = 0.5 * half * half
    a_small = 1 - t2 / 6 + t2 * t2 / 120
    b_small = 0.5 - t2 / 24 + t2 * t2 / 720
    return torch.where(small, a_small, a_big), torch.where(small, b_small, b_big)


def axis_angle_to_matrix(v: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula for rotation vectors ``v = θ n``: ``(..., 3) → (..., 3, 3)``.

    Args:
        v: ``(..., 3)``, float32 or float64, finite; any angle (``θ`` and ``θ + 2π`` give the same matrix).

    Returns:
        ``(..., 3, 3)`` rotation matrices; value and gradient exact at ``v = 0`` (``dR = [dv]×``).

    Example:
        >>> import math
        >>> axis_angle_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2])).round(decimals=6) + 0.0  # no -0.
        tensor([[ 0., -1.,  0.],
                [ 1.,  0.,  0.],
                [ 0.,  0.,  1.]])
    """
    check_tensor(v, "v", (3,))
    a, b = _rodrigues_coefficients((v * v).sum(-1))
    K = hat(v)
    eye = torch.eye(3, dtype=v.dtype, device=v.device)
    return eye + a[..., None, None] * K + b[..., None, None] * (K @ K)


def matrix_to_axis_angle(R: torch.Tensor) -> torch.Tensor:
    """Rotation vectors ``θ n`` (``θ ∈ [0, π]``) of rotation matrices: ``(..., 3, 3) → (..., 3)``.

    Args:
        R: ``(..., 3, 3)`` rotation matrices, float32 or float64.

    Returns:
        ``(..., 3)``. Exact near 0 (relative accuracy of the small angle) and near π (no ``acos``).

    Example:
        >>> matrix_to_axis_angle(torch.eye(3))
        tensor([0., 0., 0.])
    """
    check_tensor(R, "R", (3, 3))
    q = matrix_to_quaternion(R)
    w, u = q[..., 0], q[..., 1:]
    s2 = (u * u).sum(-1)
    s = safe_sqrt(s2)
    # factor θ/s = 2·atan2(s, w)/s; series in t = s²/w² where s is small relative to w (w ≈ 1 there)
    small = s2 < torch.finfo(R.dtype).eps ** 0.5 * (w * w)
    w_safe = torch.where(small, w, torch.ones_like(w))
    t = s2 / (w_safe * w_safe)
    f_small = (2.0 / w_safe) * (1 - t / 3 + t * t / 5)
    s_safe = torch.where(small, torch.ones_like(s), s)
    f_big = 2.0 * torch.atan2(s_safe, w) / s_safe
    f = torch.where(small, f_small, f_big)
    return f[..., None] * u
