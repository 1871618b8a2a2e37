r"""Euler angles ↔ rotation matrices in any of the 12 axis sequences, intrinsic or extrinsic.

Conventions follow scipy's ``Rotation.from_euler``: ``seq`` is three letters from ``xyz`` with no two
consecutive letters equal — upper case (``"XYZ"``, ``"ZXZ"``, …) for **intrinsic** rotations (about the
moving axes), lower case (``"xyz"``, ``"zxz"``, …) for **extrinsic** ones (about the fixed axes):

.. math::  \text{intrinsic } IJK:\ R = R_I(\alpha)\,R_J(\beta)\,R_K(\gamma),\qquad
           \text{extrinsic } ijk:\ R = R_k(\gamma)\,R_j(\beta)\,R_i(\alpha).

So extrinsic ``ijk`` with angles ``(α, β, γ)`` equals intrinsic ``KJI`` with ``(γ, β, α)``. Six sequences are
Tait–Bryan (all axes distinct, middle angle in ``[−π/2, π/2]``), six are proper Euler (first = last, middle
angle in ``[0, π]``); first and last angles lie in ``(−π, π]``.

Extraction uses ``atan2`` of matrix entries only (no ``asin``/``acos``), so it is accurate at every angle.
At gimbal lock (middle angle ±π/2 for Tait–Bryan, 0 or π for proper Euler, detected where the middle
angle's cosine, resp. sine, is below ``10·eps``) only a sum or difference of the outer angles is
determined; the third angle is then set to 0 (as scipy does, without a warning here: the returned angles
reproduce ``R`` exactly). The gradient at gimbal lock is finite but, like the map, not meaningful.
"""

from __future__ import annotations

import torch

from ._checks import check_tensor, safe_sqrt

__all__ = ["euler_to_matrix", "matrix_to_euler", "EULER_SEQUENCES"]

#: the 12 axis sequences (intrinsic spelling); lower-case versions are the extrinsic ones
EULER_SEQUENCES = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX", "XYX", "XZX", "YXY", "YZY", "ZXZ", "ZYZ")
_AXIS = {"x": 0, "y": 1, "z": 2}


def _parse(seq) -> tuple[tuple[int, int, int], bool]:
    """Axes of the intrinsic equivalent of ``seq`` and whether the angles must be reversed."""
    if not isinstance(seq, str) or len(seq) != 3 or not (seq.isupper() or seq.islower()):
        raise ValueError(
            f"seq must be three letters from 'xyz' (extrinsic) or 'XYZ' (intrinsic), got {seq!r}"
        )
    if seq.upper() not in EULER_SEQUENCES:
        raise ValueError(f"seq must be one of {EULER_SEQUENCES} (or lower case for extrinsic), got {seq!r}")
    axes = tuple(_AXIS[c] for c in seq.lower())
    if seq.islower():
        return axes[::-1], True
    return axes, False


def _elementary(axis: int, angle: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(angle), torch.sin(angle)
    o, one = torch.zeros_like(angle), torch.ones_like(angle)
    if axis == 0:
        rows = ((one, o, o), (o, c, -s), (o, s, c))
    elif axis == 1:
        rows = ((c, o, s), (o, one, o), (-s, o, c))
    else:
        rows = ((c, -s, o), (s, c, o), (o, o, one))
    return torch.stack([torch.stack(r, -1) for r in rows], dim=-2)


def _parity(i: int, j: int, k: int) -> float:
    """+1 if ``(i, j, k)`` is a cyclic permutation of ``(0, 1, 2)``, else −1."""
    return 1.0 if (i, j, k) in ((0, 1, 2), (1, 2, 0), (2, 0, 1)) else -1.0


def euler_to_matrix(angles: torch.Tensor, seq: str = "XYZ") -> torch.Tensor:
    """Rotation matrices from Euler angles (radians).

    Args:
        angles: ``(..., 3)``, float32 or float64: the angles in the order the letters of ``seq`` name them.
        seq: axis sequence, e.g. ``"XYZ"`` (intrinsic, default) or ``"zyx"`` (extrinsic); see module docs.

    Returns:
        ``(..., 3, 3)``.

    Example:
        >>> import math
        >>> euler_to_matrix(torch.tensor([0.0, 0.0, math.pi / 2]), "XYZ").round(decimals=6) + 0.0  # no -0.
        tensor([[ 0., -1.,  0.],
                [ 1.,  0.,  0.],
                [ 0.,  0.,  1.]])
    """
    (i, j, k), reverse = _parse(seq)
    check_tensor(angles, "angles", (3,))
    a = angles.flip(-1) if reverse else angles
    return _elementary(i, a[..., 0]) @ _elementary(j, a[..., 1]) @ _elementary(k, a[..., 2])


def matrix_to_euler(R: torch.Tensor, seq: str = "XYZ") -> torch.Tensor:
    """Euler angles of rotation matrices (inverse of :func:`euler_to_matrix` on the principal ranges).

    Args:
        R: ``(..., 3, 3)`` rotation matrices, float32 or float64.
        seq: axis sequence (see module docs).

    Returns:
        ``(..., 3)`` angles in radians, in the order of ``seq``'s letters.

    Example:
        >>> R = euler_to_matrix(torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64), "ZYX")
        >>> matrix_to_euler(R, "ZYX")
        tensor([0.1000, 0.2000, 0.3000], dtype=torch.float64)
    """
    (i, j, k), reverse = _parse(seq)
    check_tensor(R, "R", (3, 3))
    lock_tol = 10 * torch.finfo(R.dtype).eps
    if i != k:  # Tait–Bryan: R = R_i(α) R_j(β) R_k(γ)
        s = _parity(i, j, k)
        cos_b = safe_sqrt(R[..., i, i] ** 2 + R[..., i, j] ** 2)
        beta = torch.atan2(s * R[..., i, k], cos_b)
        alpha = torch.atan2(-s * R[..., j, k], R[..., k, k])
        gamma = torch.atan2(-s * R[..., i, j], R[..., i, i])
        m = k  # e_i × e_j = s e_k
    else:  # proper Euler: R = R_i(α) R_j(β) R_i(γ), m the remaining axis
        m = 3 - i - j
        s = _parity(i, j, m)
        sin_b = safe_sqrt(R[..., i, j] ** 2 + R[..., i, m] ** 2)
        beta = torch.atan2(sin_b, R[..., i, i])
        alpha = torch.atan2(R[..., j, i], -s * R[..., m, i])
        gamma = torch.atan2(R[..., i, j], s * R[..., i, m])
        cos_b = sin_b  # the quantity whose vanishing means gimbal lock
    # gimbal lock: γ = 0 and α from column j, R[:, j] = R_i(α) R_j(β) e_j = R_i(α) e_j
    alpha_lock = torch.atan2(s * R[..., m, j], R[..., j, j])
    lock = cos_b <= lock_tol
    alpha = torch.where(lock, alpha_lock, alpha)
    gamma = torch.where(lock, torch.zeros_like(gamma), gamma)
    out = torch.stack((alpha, beta, gamma), dim=-1)
    return out.flip(-1) if reverse else out
