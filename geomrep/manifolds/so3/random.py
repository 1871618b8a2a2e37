"""Haar-distributed random rotations (uniform on SO(3)), batched."""

from __future__ import annotations

import torch

from .quaternion import quaternion_to_matrix

__all__ = ["random_rotation"]


def random_rotation(
    *shape: int,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Uniform (Haar) random rotations: the matrices of normalised standard-Gaussian quaternions.

    A standard Gaussian in R⁴ divided by its norm is uniform on S³, and the double cover S³ → SO(3) pushes
    the uniform measure to the Haar measure. Samples are drawn in float64 on the generator's device
    (the CPU by default) and cast, so a seed gives the same rotations in every dtype.

    Args:
        *shape: batch shape (none for a single ``(3, 3)`` matrix); a single tuple is accepted too.
        dtype: float32 or float64 (default: the global default dtype).
        device: device of the result.
        generator: optional ``torch.Generator`` for reproducibility.

    Returns:
        ``(*shape, 3, 3)`` rotation matrices.

    Example:
        >>> R = random_rotation(5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> R.shape
        torch.Size([5, 3, 3])
    """
    if len(shape) == 1 and isinstance(shape[0], (tuple, list, torch.Size)):
        shape = tuple(shape[0])
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise ValueError(f"shape must be non-negative ints, got {shape!r}")
    dtype = dtype or torch.get_default_dtype()
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    gen_device = generator.device if generator is not None else "cpu"
    q = torch.randn(*shape, 4, dtype=torch.float64, device=gen_device, generator=generator)
    # a Gaussian 4-vector is 0 with probability 0; quaternion_to_matrix normalises it
    return quaternion_to_matrix(q).to(dtype=dtype, device=device)
