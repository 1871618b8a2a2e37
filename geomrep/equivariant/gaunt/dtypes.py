"""dtype policy of the Gaunt products: what they accept, what they compute in, and exact constant tables.

One policy for every public entry point (:func:`gaunt_product`, :func:`gaunt_tensor`,
:func:`gaunt_block`, :class:`GauntTensorProduct`, :class:`GauntSelfInteraction`):

- features must be real floating tensors; integer, bool and complex tensors raise ``TypeError``
  naming the argument (an integer input would otherwise cast the float tables to integers and
  return zeros);
- float32 and float64 are computed in their own dtype; float16 and bfloat16 are computed in
  float32 (the FFT backend has no half-precision kernels on CPU, and rounding the tables to 8 or 11
  bits would cost more than the inputs' own precision) and returned in the input dtype;
- the constant tables (change-of-basis matrices, normalisation constants) are float64 and stay
  float64: :class:`ExactTablesModule` lets ``.to(device)`` move them but keeps ``.float()``,
  ``.half()`` or ``.to(dtype)`` from rounding them, so a module converted to float32 and back to
  float64 is as exact as a fresh float64 one. They are cast to the compute dtype on use.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["check_features", "check_table_dtype", "compute_dtype", "ExactTablesModule"]

_LOW_PRECISION = (torch.float16, torch.bfloat16)


def check_features(x, name: str) -> None:
    """Raise ``TypeError`` unless ``x`` is a real floating ``torch.Tensor`` (float16/bfloat16/32/64)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a real floating tensor (float32/float64; float16/bfloat16 are computed in "
            f"float32), got {x.dtype}"
        )


def check_table_dtype(dtype, name: str = "dtype") -> torch.dtype:
    """``dtype`` for a returned table: ``None`` → float64; a non-floating dtype raises ``TypeError``."""
    if dtype is None:
        return torch.float64
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"{name} must be a real floating torch.dtype or None, got {dtype!r}")
    return dtype


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a Gaunt product computes in for inputs of ``dtype``: float16/bfloat16 → float32."""
    return torch.float32 if dtype in _LOW_PRECISION else dtype


class ExactTablesModule(nn.Module):
    """``nn.Module`` whose floating buffers are exact float64 constants that dtype conversions leave alone.

    ``module.to(device)``, ``.cuda()`` and ``.cpu()`` move the buffers; ``.float()``, ``.double()``,
    ``.half()`` and ``.to(dtype)`` convert parameters only. Subclasses register their constant tables
    as (non-persistent) float64 buffers and cast them to the compute dtype in ``forward``.
    """

    def _apply(self, fn, recurse=True):
        tables = {
            name: buf
            for name, buf in self._buffers.items()
            if buf is not None and buf.is_floating_point() and buf.dtype == torch.float64
        }
        super()._apply(fn, recurse)
        for name, exact in tables.items():
            converted = self._buffers[name]
            if converted is not None and converted.dtype != exact.dtype:
                self._buffers[name] = exact.to(device=converted.device)
        return self
