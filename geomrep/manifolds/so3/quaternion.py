r"""Unit quaternions ↔ rotation matrices (``wxyz`` by default, ``xyzw`` on request), sign-canonical.

A unit quaternion ``q = (w, x, y, z)`` acts as ``R(q) v = q v q*``:

.. math::

    R = \begin{pmatrix}
    1 - 2(y^2+z^2) & 2(xy - wz) & 2(xz + wy)\\
    2(xy + wz) & 1 - 2(x^2+z^2) & 2(yz - wx)\\
    2(xz - wy) & 2(yz + wx) & 1 - 2(x^2+y^2)
    \end{pmatrix}.

``q`` and ``−q`` give the same rotation; :func:`matrix_to_quaternion` returns the canonical one: ``w > 0``,
or for ``w = 0`` the first non-zero of ``x, y, z`` positive. The matrix → quaternion map uses the
numerically stable branch selection of Shepperd (1978): of the four candidates ``4w q, 4x q, 4y q, 4z q``
(each computed from sums/differences of entries of ``R``) it normalises the one with the largest
leading term (≥ 1 for a rotation), so it is accurate at every angle, π included.
"""

from __future__ import annotations

import torch

from ._checks import check_tensor

__all__ = ["quaternion_to_matrix", "matrix_to_quaternion", "canonical_quaternion"]

_CONVENTIONS = ("wxyz", "xyzw")


def _check_convention(convention) -> None:
    if convention not in _CONVENTIONS:
        raise ValueError(f"convention must be 'wxyz' or 'xyzw', got {convention!r}")


def canonical_quaternion(q: torch.Tensor, convention: str = "wxyz") -> torch.Tensor:
    """``±q`` with the sign rule of :func:`matrix_to_quaternion` (``w > 0``, else first non-zero of x, y, z).

    Args:
        q: ``(..., 4)`` quaternions in ``convention`` order.
    """
    check_tensor(q, "q", (4,))
    _check_convention(convention)
    w = q[..., :1] if convention == "wxyz" else q[..., 3:]
    v = q[..., 1:] if convention == "wxyz" else q[..., :3]
    key = torch.cat((w, v), dim=-1)
    nz = key != 0
    first = torch.argmax(nz.to(torch.uint8), dim=-1, keepdim=True)  # first non-zero (0 if none)
    s = torch.sign(torch.gather(key, -1, first))
    s = torch.where(s == 0, torch.ones_like(s), s)
    return q * s


def quaternion_to_matrix(q: torch.Tensor, convention: str = "wxyz") -> torch.Tensor:
    """Rotation matrices of quaternions (normalised internally: any non-zero ``q`` is accepted).

    Args:
        q: ``(..., 4)``, float32 or float64, in ``convention`` order (``"wxyz"``: scalar first, as in
            PyTorch3D/Eigen constructor order; ``"xyzw"``: scalar last, as in scipy and roma).
        convention: ``"wxyz"`` (default) or ``"xyzw"``.

    Returns:
        ``(..., 3, 3)`` rotation matrices. ``q`` is divided by its largest absolute entry before use, so any
        finite magnitude works. ``q = 0`` (the output of an untrained network, say) gives the identity with a
        finite gradient — a clear, documented choice; no NaN.

    Example:
        >>> quaternion_to_matrix(torch.tensor([0.0, 0.0, 0.0, 1.0]))  # π about z
        tensor([[-1.,  0.,  0.],
                [ 0., -1.,  0.],
                [ 0.,  0.,  1.]])
    """
    check_tensor(q, "q", (4,))
    _check_convention(convention)
    m = q.abs().amax(dim=-1, keepdim=True)
    q = q / torch.where(m > 0, m, torch.ones_like(m))
    if convention == "wxyz":
        w, x, y, z = q.unbind(-1)
    else:
        x, y, z, w = q.unbind(-1)
    n2 = (q * q).sum(-1)
    s = 2.0 / torch.where(n2 > 0, n2, torch.ones_like(n2))  # n2 >= 1 unless q = 0
    xx, yy, zz = s * x * x, s * y * y, s * z * z
    xy, xz, yz = s * x * y, s * x * z, s * y * z
    wx, wy, wz = s * w * x, s * w * y, s * w * z
    rows = (
        torch.stack((1 - (yy + zz), xy - wz, xz + wy), -1),
        torch.stack((xy + wz, 1 - (xx + zz), yz - wx), -1),
        torch.stack((xz - wy, yz + wx, 1 - (xx + yy)), -1),
    )
    return torch.stack(rows, dim=-2)


def matrix_to_quaternion(R: torch.Tensor, convention: str = "wxyz") -> torch.Tensor:
    """Canonical unit quaternions of rotation matrices (Shepperd's branch selection, accurate up to π).

    Args:
        R: ``(..., 3, 3)`` rotation matrices, float32 or float64. Inputs are assumed to be rotations (project
            others first with :func:`special_procrustes`); for a slightly non-orthogonal ``R`` the result is
            still a unit quaternion.
        convention: ``"wxyz"`` (default) or ``"xyzw"``.

    Returns:
        ``(..., 4)`` unit quaternions with the sign rule of :func:`canonical_quaternion`.

    Example:
        >>> matrix_to_quaternion(torch.eye(3))
        tensor([1., 0., 0., 0.])
    """
    check_tensor(R, "R", (3, 3))
    _check_convention(convention)
    r00, r01, r02 = R[..., 0, 0], R[..., 0, 1], R[..., 0, 2]
    r10, r11, r12 = R[..., 1, 0], R[..., 1, 1], R[..., 1, 2]
    r20, r21, r22 = R[..., 2, 0], R[..., 2, 1], R[..., 2, 2]
    # candidates 4·c·(w, x, y, z) for c = w, x, y, z; leading terms 4c² = 1 ± r00 ± r11 ± r22
    cand = torch.stack(
        (
            torch.stack((1 + r00 + r11 + r22, r21 - r12, r02 - r20, r10 - r01), -1),
            torch.stack((r21 - r12, 1 + r00 - r11 - r22, r01 + r10, r02 + r20), -1),
            torch.stack((r02 - r20, r01 + r10, 1 - r00 + r11 - r22, r12 + r21), -1),
            torch.stack((r10 - r01, r02 + r20, r12 + r21, 1 - r00 - r11 + r22), -1),
        ),
        dim=-2,
    )
    lead = torch.diagonal(cand, dim1=-2, dim2=-1)
    best = torch.argmax(lead, dim=-1)
    v = torch.gather(cand, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    n = torch.sqrt((v * v).sum(-1, keepdim=True))  # >= 1 for a rotation (largest 4c² >= 1)
    q = v / n.clamp_min(torch.finfo(R.dtype).tiny ** 0.5)
    q = canonical_quaternion(q)
    if convention == "xyzw":
        q = torch.cat((q[..., 1:], q[..., :1]), dim=-1)
    return q
