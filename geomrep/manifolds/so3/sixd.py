r"""The continuous 6D representation of rotations (Zhou et al., CVPR 2019), column convention.

A 6D vector ``x = (a₁, a₂)`` (``a₁ = x[..., 0:3]``, ``a₂ = x[..., 3:6]``) maps to SO(3) by Gram–Schmidt:

.. math::

    b_1 = \frac{a_1}{\lVert a_1\rVert},\quad
    b_2 = \frac{a_2 - (b_1\cdot a_2)\,b_1}{\lVert a_2 - (b_1\cdot a_2)\,b_1\rVert},\quad
    b_3 = b_1\times b_2,\qquad R = [\,b_1\;b_2\;b_3\,]\ \text{(columns)}.

The inverse is ``R ↦ (R[:, 0], R[:, 1])``, the first two **columns**. Zhou et al. and 6DRepNet use
columns; PyTorch3D-style code (``rotation_6d_to_matrix`` there) stacks ``b₁, b₂, b₃`` as **rows**, i.e.
returns the transpose. :func:`rotation_6d_rows_to_matrix` / :func:`matrix_to_rotation_6d_rows` implement
that convention, so weights trained with it can be used here unchanged.
"""

from __future__ import annotations

import torch

from ._checks import check_tensor, safe_norm

__all__ = [
    "rotation_6d_to_matrix",
    "matrix_to_rotation_6d",
    "rotation_6d_rows_to_matrix",
    "matrix_to_rotation_6d_rows",
]


def _rescale(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``a / max|a_i|`` (norm in [1, √3], no under/overflow) and a mask of the non-zero vectors.

    The scale is detached: Gram–Schmidt is invariant to positive scaling of each vector, so the derivative
    through ``max|a_i|`` is exactly zero and autograd need not trace it.
    """
    m = a.detach().abs().amax(dim=-1, keepdim=True)
    nz = m > 0
    return a / torch.where(nz, m, torch.ones_like(m)), nz


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a × b`` over the last axis, elementwise (faster than ``torch.linalg.cross`` on many 3-vectors)."""
    a0, a1, a2 = a.unbind(-1)
    b0, b1, b2 = b.unbind(-1)
    return torch.stack((a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0), dim=-1)


def _orthogonal_unit(b: torch.Tensor) -> torch.Tensor:
    """A unit vector orthogonal to the unit vector ``b``: ``b × e_x`` if ``|b_x| < 0.6``, else ``b × e_y``.

    The cross product has norm ``√(1 − b_x²) ≥ 0.8``, resp. ``√(1 − b_y²) ≥ 0.6`` (since ``b_x² ≥ 0.36``).
    """
    b0, b1, b2 = b.unbind(-1)
    zero = torch.zeros_like(b0)
    use_x = (b0.abs() < 0.6)[..., None]
    c = torch.where(use_x, torch.stack((zero, b2, -b1), -1), torch.stack((-b2, zero, b0), -1))
    return c / safe_norm(c, keepdim=True).clamp_min(0.5)


def rotation_6d_to_matrix(x: torch.Tensor) -> torch.Tensor:
    r"""Map 6D vectors to rotation matrices by Gram–Schmidt, ``b₁, b₂, b₃`` as **columns**.

    Args:
        x: ``(..., 6)``, float32 or float64, finite. ``x[..., :3]`` is ``a₁`` and ``x[..., 3:]`` is ``a₂``.

    Returns:
        ``(..., 3, 3)`` rotation matrices ``R = [b₁ b₂ b₃]`` with ``RᵀR = I`` and ``det R = 1`` to rounding
        (a second Gram–Schmidt pass keeps ``b₁·b₂`` at rounding level even for near-collinear inputs).

    Degenerate inputs (measure zero; clear, documented behaviour, never NaN):

    - ``a₁ = 0``: ``b₁ = e_x``; the gradient with respect to ``a₁`` is zero there.
    - ``a₂`` parallel to ``a₁`` (its component orthogonal to ``b₁`` below ``8·eps·max|a₂|``), or ``a₂ = 0``:
      ``b₂`` is a fixed unit vector orthogonal to ``b₁`` (``b₁ × e_x`` if ``|b₁ₓ| < 0.6``, else
      ``b₁ × e_y``, normalised); the gradient with respect to ``a₂`` is zero there. Near (not at) that set the
      map is continuous but its derivative grows like ``‖a₂‖ / ‖a₂ − (b₁·a₂)b₁‖``, the true derivative.

    The map is invariant to positive scaling of ``a₁`` and of ``a₂`` separately (computed on ``a / max|a|``,
    so inputs of any finite magnitude work, 1e-30 or 1e30 in float32), and left-equivariant:
    ``f(g a₁, g a₂) = g f(a₁, a₂)`` for ``g ∈ SO(3)``.

    Example:
        >>> R = rotation_6d_to_matrix(torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0]))
        >>> torch.allclose(R, torch.eye(3))
        True
    """
    check_tensor(x, "x", (6,))
    a1, nz1 = _rescale(x[..., :3])
    a2, nz2 = _rescale(x[..., 3:])
    ex = torch.zeros_like(a1)
    ex[..., 0] = 1.0
    b1 = torch.where(nz1, a1 / safe_norm(a1, keepdim=True).clamp_min(1.0), ex)
    u2 = a2 - (b1 * a2).sum(-1, keepdim=True) * b1
    u2 = u2 - (b1 * u2).sum(-1, keepdim=True) * b1  # re-orthogonalise (rounding of the first pass)
    n2 = safe_norm(u2, keepdim=True)
    thresh = 8 * torch.finfo(x.dtype).eps
    ok2 = nz2 & (n2 > thresh)
    b2 = torch.where(ok2, u2 / n2.clamp_min(thresh), _orthogonal_unit(b1))
    b3 = _cross(b1, b2)
    return torch.stack((b1, b2, b3), dim=-1)


def matrix_to_rotation_6d(R: torch.Tensor) -> torch.Tensor:
    """First two **columns** of ``R``, concatenated: the inverse of :func:`rotation_6d_to_matrix` on SO(3).

    Args:
        R: ``(..., 3, 3)``, float32 or float64.

    Returns:
        ``(..., 6)``: ``(R[..., :, 0], R[..., :, 1])``.

    Example:
        >>> matrix_to_rotation_6d(torch.eye(3))
        tensor([1., 0., 0., 0., 1., 0.])
    """
    check_tensor(R, "R", (3, 3))
    return torch.cat((R[..., :, 0], R[..., :, 1]), dim=-1)


def rotation_6d_rows_to_matrix(x: torch.Tensor) -> torch.Tensor:
    """The PyTorch3D-style 6D map: ``b₁, b₂, b₃`` as **rows**, i.e. ``rotation_6d_to_matrix(x)ᵀ``.

    Use it to load or compare with code in that convention (``pytorch3d.transforms.rotation_6d_to_matrix``
    and its copies). Shapes and degenerate-input behaviour as in :func:`rotation_6d_to_matrix`.

    Example:
        >>> x = torch.tensor([0.0, 1.0, 0.0, -1.0, 0.0, 0.0])
        >>> torch.equal(rotation_6d_rows_to_matrix(x), rotation_6d_to_matrix(x).mT)
        True
    """
    return rotation_6d_to_matrix(x).mT


def matrix_to_rotation_6d_rows(R: torch.Tensor) -> torch.Tensor:
    """First two **rows** of ``R``, concatenated (PyTorch3D style).

    The inverse of :func:`rotation_6d_rows_to_matrix` on SO(3).

    Example:
        >>> matrix_to_rotation_6d_rows(torch.eye(3))
        tensor([1., 0., 0., 0., 1., 0.])
    """
    check_tensor(R, "R", (3, 3))
    return torch.cat((R[..., 0, :], R[..., 1, :]), dim=-1)
