"""Default tolerances per dtype used by the assertions in :mod:`geomrep.testing`."""

from __future__ import annotations

from typing import NamedTuple

import torch

__all__ = ["Tolerance", "TOLERANCE", "ROUNDED_CONSTANTS", "tolerance"]


class Tolerance(NamedTuple):
    """Absolute and relative tolerance: a check passes when ``err <= atol + rtol * scale``."""

    atol: float
    rtol: float


#: Default tolerances by dtype. float32 allows ~100 ulps of relative drift, float64 ~1e8 ulps of
#: headroom below the 1e-8 level most float64 properties reach.
TOLERANCE: dict[torch.dtype, Tolerance] = {
    torch.float16: Tolerance(atol=1e-2, rtol=1e-2),
    torch.bfloat16: Tolerance(atol=5e-2, rtol=5e-2),
    torch.float32: Tolerance(atol=1e-5, rtol=1e-4),
    torch.float64: Tolerance(atol=1e-10, rtol=1e-8),
    torch.complex64: Tolerance(atol=1e-5, rtol=1e-4),
    torch.complex128: Tolerance(atol=1e-10, rtol=1e-8),
}

#: Tolerances for a float64 evaluation of a function whose *constants* (buffers, captured tensors) were
#: stored in a coarser dtype: the constants' rounding (relative ~eps of that dtype, times a modest
#: accumulation factor) is the floor, float64 arithmetic adds nothing. Tight enough to catch a 1e-4
#: relative equivariance leak, which the plain float32 tolerance (rtol 1e-4) cannot.
ROUNDED_CONSTANTS: dict[torch.dtype, Tolerance] = {
    torch.float32: Tolerance(atol=1e-7, rtol=1e-5),
    torch.float16: Tolerance(atol=1e-3, rtol=5e-3),
    torch.bfloat16: Tolerance(atol=1e-2, rtol=2e-2),
}


def tolerance(dtype: torch.dtype) -> Tolerance:
    """Return the default :class:`Tolerance` for ``dtype``.

    Raises:
        TypeError: if ``dtype`` is not a floating or complex dtype.

    Example:
        >>> tolerance(torch.float64).atol
        1e-10
    """
    if dtype not in TOLERANCE:
        raise TypeError(f"dtype must be a floating or complex torch dtype, got {dtype}")
    return TOLERANCE[dtype]
