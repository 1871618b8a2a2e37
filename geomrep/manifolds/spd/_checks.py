"""Static input validation for :mod:`geomrep.manifolds.spd` (shapes and dtypes; never data-dependent)."""

from __future__ import annotations

import torch

__all__ = ["check_square", "check_same_n"]


def check_square(A, name: str) -> None:
    """Raise ``TypeError``/``ValueError`` unless ``A`` is a real floating tensor ``(..., n, n)``, n ≥ 1."""
    if not isinstance(A, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(A).__name__}")
    if not A.is_floating_point():
        raise TypeError(f"{name} must have a real floating dtype (float32/float64), got {A.dtype}")
    if A.dim() < 2 or A.shape[-1] != A.shape[-2] or A.shape[-1] == 0:
        raise ValueError(f"{name} must be a batch of square matrices (..., n, n), got shape {tuple(A.shape)}")


def check_same_n(A, B, name_a: str, name_b: str) -> None:
    """Both square float batches with the same ``n`` and dtype, batch shapes broadcastable."""
    check_square(A, name_a)
    check_square(B, name_b)
    if A.shape[-1] != B.shape[-1]:
        raise ValueError(
            f"{name_a} and {name_b} must have the same matrix size, got {A.shape[-1]} and {B.shape[-1]}"
        )
    if A.dtype != B.dtype:
        raise TypeError(f"{name_a} and {name_b} must have the same dtype, got {A.dtype} and {B.dtype}")
    try:
        torch.broadcast_shapes(A.shape[:-2], B.shape[:-2])
    except RuntimeError as exc:
        raise ValueError(
            f"batch shapes of {name_a} {tuple(A.shape[:-2])} and {name_b} {tuple(B.shape[:-2])} "
            "do not broadcast"
        ) from exc
