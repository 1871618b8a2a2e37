"""``RotationHead``: a linear layer followed by a map from a rotation representation to SO(3)."""

from __future__ import annotations

import torch
from torch import nn

from .axis_angle import axis_angle_to_matrix
from .euler import _parse, euler_to_matrix
from .procrustes import special_procrustes
from .quaternion import quaternion_to_matrix
from .sixd import rotation_6d_to_matrix

__all__ = ["RotationHead", "REPRESENTATION_SIZES"]

#: number of outputs of the linear layer per representation
REPRESENTATION_SIZES = {"6d": 6, "9d": 9, "quat": 4, "euler": 3, "axis_angle": 3}


class RotationHead(nn.Module):
    """Predict rotation matrices from features: ``Linear(in_features, k)`` then the representation's map.

    Representations (Zhou et al., CVPR 2019, compare them): ``"6d"`` (:func:`rotation_6d_to_matrix`,
    continuous, the default), ``"9d"`` (:func:`special_procrustes` of a 3×3 matrix, continuous),
    ``"quat"`` (:func:`quaternion_to_matrix`, wxyz), ``"euler"`` (:func:`euler_to_matrix` with
    ``euler_seq``) and ``"axis_angle"`` (:func:`axis_angle_to_matrix`); the last three are discontinuous
    as maps SO(3) → R^k, which shows as large worst-case errors in regression.

    Args:
        in_features: size of the input features (≥ 1).
        representation: one of ``"6d"``, ``"9d"``, ``"quat"``, ``"euler"``, ``"axis_angle"``.
        euler_seq: axis sequence for ``"euler"`` (default ``"XYZ"``).
        bias, dtype, device: as for ``nn.Linear``.

    Shapes:
        input ``(..., in_features)`` → output ``(..., 3, 3)`` rotation matrices.

    Example:
        >>> head = RotationHead(16, "6d")
        >>> head(torch.randn(8, 16)).shape
        torch.Size([8, 3, 3])
    """

    def __init__(
        self,
        in_features: int,
        representation: str = "6d",
        *,
        euler_seq: str = "XYZ",
        bias: bool = True,
        dtype: torch.dtype | None = None,
        device=None,
    ) -> None:
        super().__init__()
        if not isinstance(in_features, int) or isinstance(in_features, bool) or in_features < 1:
            raise ValueError(f"in_features must be a positive int, got {in_features!r}")
        if representation not in REPRESENTATION_SIZES:
            raise ValueError(
                f"representation must be one of {tuple(REPRESENTATION_SIZES)}, got {representation!r}"
            )
        _parse(euler_seq)  # validates
        self.in_features = in_features
        self.representation = representation
        self.euler_seq = euler_seq
        self.linear = nn.Linear(
            in_features, REPRESENTATION_SIZES[representation], bias=bias, dtype=dtype, device=device
        )

    def to_matrix(self, y: torch.Tensor) -> torch.Tensor:
        """Map raw outputs ``(..., k)`` of the linear layer to ``(..., 3, 3)`` rotations."""
        rep = self.representation
        if rep == "6d":
            return rotation_6d_to_matrix(y)
        if rep == "9d":
            return special_procrustes(y.unflatten(-1, (3, 3)))
        if rep == "quat":
            return quaternion_to_matrix(y)
        if rep == "euler":
            return euler_to_matrix(y, self.euler_seq)
        return axis_angle_to_matrix(y)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"x must have a floating dtype, got {x.dtype}")
        if x.dim() < 1 or x.shape[-1] != self.in_features:
            raise ValueError(f"x must have shape (..., {self.in_features}), got {tuple(x.shape)}")
        return self.to_matrix(self.linear(x))

    def extra_repr(self) -> str:
        extra = f", euler_seq={self.euler_seq!r}" if self.representation == "euler" else ""
        return f"in_features={self.in_features}, representation={self.representation!r}{extra}"
